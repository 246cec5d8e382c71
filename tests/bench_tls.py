#!/usr/bin/env python3
"""TLS benchmark: the firmware's handshakes and TLS throughput beside a Linux
guest running Debian's `openssl` on the same QEMU, in one run.

Both guests: `-M virt -cpu cortex-a15 -m 256M`, one virtio-net-device on
slirp; the servers are CPython's ssl on 127.0.0.1 (10.0.2.2 to the guests),
with an ECDSA P-256 or an RSA-2048 certificate (tests/tls_peer.py), TLS 1.2
(and TLS 1.3 with --tls13-firmware, a `make TLS13=1` build, against Linux's
TLS 1.3). Measured:

  handshake   ms per full handshake with certificate verification, new
              session each time (no resumption). Ours: wrap_socket() in a
              loop, the median; Linux: `openssl s_time -new`, its real
              seconds over its connections (one process, no fork).
  bulk        MB/s of --bulk bytes the server sends through TLS. Ours:
              readinto() of a 4 KiB buffer, after the handshake; Linux:
              `openssl s_client -quiet` piped into `wc -c`, timed with the
              kernel's clock from the command's start (its handshake too).
  ram         bytes of the guest's heap one open TLS connection holds
              (ours only: gc.mem_free() before and after the handshake).

With --icount both guests run under QEMU's `-icount shift=0`: their clocks
count guest instructions (1 ns each) instead of the host's time, so the
figures are the same from run to run whatever else the host does (they
measure the work the guest's CPU does, not how fast QEMU translates it).

The Linux guest is tests/bench/linux_guest.py's with Debian's armhf
openssl, libssl3 and libc6 unpacked into its initramfs.

    tests/bench_tls.py --firmware build/VIRT_ARM/firmware.elf --json build/bench_tls.json
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))

import ssl  # noqa: E402

import virtmp  # noqa: E402

import linux_guest  # noqa: E402
from bench_net import LINUX_FILES  # noqa: E402  (the udhcpc script)
from support import BOARD  # noqa: E402
from tls_peer import HostTLSServer, make_certs  # noqa: E402

MEM = "256M"
KEYS = ("ecdsa", "rsa")
VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
TARGET = "handshake no slower than the Linux guest"
ICOUNT = ["-icount", "shift=0,sleep=on"]

OURS = """
import socket, ssl, time, gc
def _ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=CA)
    return ctx
def handshakes(port, n):
    ctx = _ctx()
    times, ram = [], 0
    for i in range(n):
        s = socket.socket()
        s.connect(('10.0.2.2', port))
        gc.collect()
        free = gc.mem_free()
        t0 = time.ticks_us()
        s = ctx.wrap_socket(s, server_hostname='localhost')
        times.append(time.ticks_diff(time.ticks_us(), t0))
        gc.collect()
        ram = free - gc.mem_free()
        s.write(b'x')
        s.read(100)
        s.close()
    times.sort()
    return times[len(times) // 2], ram
def bulk(port, n):
    s = socket.socket()
    s.connect(('10.0.2.2', port))
    s = _ctx().wrap_socket(s, server_hostname='localhost')
    buf = bytearray(4096)
    got = 0
    t0 = time.ticks_us()
    while got < n:
        k = s.readinto(buf)
        if not k:
            break
        got += k
    dt = time.ticks_diff(time.ticks_us(), t0)
    s.close()
    return got, dt
"""

LINUX_INIT = linux_guest.INIT_PREAMBLE + r'''for m in failover net_failover virtio_mmio virtio_net; do
    insmod /lib/net/$m.ko || echo "bench: insmod $m failed"
done
ifconfig lo 127.0.0.1 up
ifconfig eth0 up
udhcpc -i eth0 -s /etc/udhcpc.sh -q -f -n -t 20 -T 1 >/dev/null 2>&1 || echo "bench: dhcp failed"
# No ld.so.cache here: the multiarch library folder is named.
export LD_LIBRARY_PATH=/lib/arm-linux-gnueabihf PATH=$PATH:/usr/bin
echo "bench: $(openssl version 2>&1)"
now() {
    while read a b c d; do
        if [ "$a $b" = "now at" ]; then echo $c; return; fi
    done < /proc/timer_list
}
for w in $(cat /proc/cmdline); do
    case "$w" in
        bench.hs=*) for port in $(echo ${w#bench.hs=} | tr , ' '); do
            out=$(openssl s_time -connect 10.0.2.2:$port -new -time %(seconds)d -CAfile /ca.pem -verify 1 2>&1 | grep -E 'connections in .* real|rror' | head -3)
            echo "bench: hs $port $out"
        done ;;
        bench.bulk=*) for port in $(echo ${w#bench.bulk=} | tr , ' '); do
            t0=$(now)
            n=$(openssl s_client -connect 10.0.2.2:$port -CAfile /ca.pem -verify_return_error -quiet </dev/null 2>/dev/null | wc -c)
            t1=$(now)
            echo "bench: bulk $port $n $((t1 - t0))"
        done ;;
    esac
done
echo "bench: done"
while :; do sleep 3600; done
'''
HS_LINE = re.compile(r"bench: hs (\d+) (\d+) connections in ([\d.]+)s?;?")
BULK_LINE = re.compile(r"bench: bulk (\d+) (\d+) (\d+)")


def run_ours(firmware, certs, version, rounds, bulk_bytes, qemu_args=()):
    fig = {}
    with virtmp.Guest(board=BOARD, firmware=firmware, mem=MEM, net=virtmp.Slirp(), qemu_args=list(qemu_args)) as g:
        g.wait_dhcp()
        g.exec(OURS)
        g.exec("CA = %r" % (certs / "ca.pem").read_text())
        for key in KEYS:
            with HostTLSServer(certs, key=key, versions=(VERSIONS[version],) * 2) as srv:
                us, ram = g.eval("handshakes(%d, %d)" % (srv.port, rounds), timeout=300)
            with HostTLSServer(certs, key=key, mode="bulk", reply=os.urandom(bulk_bytes),
                               versions=(VERSIONS[version],) * 2) as srv:
                got, dt = g.eval("bulk(%d, %d)" % (srv.port, bulk_bytes), timeout=300)
            if got != bulk_bytes:
                raise RuntimeError("ours: %d of %d bulk bytes" % (got, bulk_bytes))
            fig[key] = {"handshake_ms": us / 1000, "bulk_MBps": got / dt, "ram_bytes": ram}
    return fig


def run_linux(linux, certs, version, seconds, bulk_bytes, timeout, qemu_args=()):
    fig, servers = {}, []
    try:
        ports = {}
        for key in KEYS:
            hs = HostTLSServer(certs, key=key, versions=(VERSIONS[version],) * 2)
            bk = HostTLSServer(certs, key=key, mode="bulk", reply=os.urandom(bulk_bytes),
                               versions=(VERSIONS[version],) * 2)
            servers += [hs.__enter__(), bk.__enter__()]
            ports[key] = (hs.port, bk.port)
        append = "console=ttyAMA0 quiet bench.hs=%s bench.bulk=%s" % (
            ",".join(str(ports[k][0]) for k in KEYS), ",".join(str(ports[k][1]) for k in KEYS))
        out = linux_guest.run_to_done(linux, append, timeout, timeout + 60 * seconds,
                                      board=BOARD, mem=MEM, net=virtmp.Slirp(), rng=False, qemu_args=qemu_args)
    finally:
        for s in servers:
            s.__exit__(None, None, None)
    hs = {int(m.group(1)): float(m.group(3)) / int(m.group(2)) for m in HS_LINE.finditer(out) if int(m.group(2))}
    bulk = {int(m.group(1)): (int(m.group(2)), int(m.group(3))) for m in BULK_LINE.finditer(out)}
    for key in KEYS:
        hs_port, bulk_port = ports[key]
        if hs_port not in hs or bulk_port not in bulk or bulk[bulk_port][0] != bulk_bytes:
            raise RuntimeError("Linux guest: no figures for %s:\n%s" % (key, out[-2000:]))
        fig[key] = {"handshake_ms": hs[hs_port] * 1000, "bulk_MBps": bulk[bulk_port][0] / (bulk[bulk_port][1] / 1000)}
    return fig


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", required=True)
    ap.add_argument("--tls13-firmware", help="a make TLS13=1 firmware: TLS 1.3 figures too")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--rounds", type=int, default=15, help="handshakes per key in ours")
    ap.add_argument("--seconds", type=int, default=5, help="openssl s_time's -time")
    ap.add_argument("--bulk", type=int, default=2 * 1024 * 1024, help="bytes of the bulk transfer")
    ap.add_argument("--no-linux", action="store_true")
    ap.add_argument("--linux-timeout", type=float, default=180.0)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--icount", action="store_true", help="guest clocks count instructions (see above)")
    args = ap.parse_args()
    qa = ICOUNT if args.icount else []
    if shutil.which("openssl") is None:
        print("bench_tls: needs the openssl command (Debian package openssl)", file=sys.stderr)
        return 2
    linux = None
    if not args.no_linux:
        try:
            lg = linux_guest.LinuxGuest(os.path.join(args.build_dir, "linux-guest")).fetch()
            files = dict(LINUX_FILES, **lg.openssl_files())
        except linux_guest.FetchError as e:
            print("bench_tls: Linux guest unavailable: %s" % e, file=sys.stderr)
            return 2
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-tls-", dir=args.build_dir))
    try:
        certs = make_certs(work)
        if not args.no_linux:
            files["ca.pem"] = (certs / "ca.pem").read_text()
            linux = {"kernel": lg.kernel(), "initrd": lg.build_initramfs(LINUX_INIT % {"seconds": args.seconds},
                                                                          files, out_dir=str(work))}
        print("TLS benchmark: -m %s, slirp, host %d CPUs, load %.1f%s" % (
            MEM, os.cpu_count(), os.getloadavg()[0], ", -icount shift=0: 1 ms = 10^6 guest instructions" if qa else ""))
        result = {"mem": MEM, "target": TARGET, "icount": bool(qa),
                  "units": {"handshake": "ms", "bulk": "MB/s (10^6 bytes/s)",
                            "ram": "bytes of heap per open connection"},
                  "guests": {}}
        runs = [("ours_tls1.2", lambda: run_ours(os.path.abspath(args.firmware), certs, "1.2", args.rounds, args.bulk, qa))]
        if args.tls13_firmware:
            runs.append(("ours_tls1.3", lambda: run_ours(os.path.abspath(args.tls13_firmware), certs, "1.3",
                                                         args.rounds, args.bulk, qa)))
        if linux:
            runs.append(("linux_tls1.2", lambda: run_linux(linux, certs, "1.2", args.seconds, args.bulk,
                                                           args.linux_timeout, qa)))
            if args.tls13_firmware:
                runs.append(("linux_tls1.3", lambda: run_linux(linux, certs, "1.3", args.seconds, args.bulk,
                                                               args.linux_timeout, qa)))
        for name, fn in runs:
            fig = result["guests"][name] = fn()
            for key in KEYS:
                f = fig[key]
                print("  %-13s %-5s handshake %7.1f ms   bulk %6.2f MB/s%s" % (
                    name, key, f["handshake_ms"], f["bulk_MBps"],
                    "   %d bytes a connection" % f["ram_bytes"] if "ram_bytes" in f else ""))
        for version in ("1.2", "1.3"):
            ours, theirs = result["guests"].get("ours_tls" + version), result["guests"].get("linux_tls" + version)
            if ours and theirs:
                for key in KEYS:
                    ratio = ours[key]["handshake_ms"] / theirs[key]["handshake_ms"]
                    result.setdefault("ratios", {})["handshake_%s_%s" % (key, version)] = round(ratio, 3)
                    print("  TLS %s %s handshake: ours %.2f x Linux's time (target <= 1: %s)" % (
                        version, key, ratio, "met" if ratio <= 1 else "NOT met"))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
