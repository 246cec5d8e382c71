#!/usr/bin/env python3
"""Networking benchmark: the firmware against a Linux guest on the same QEMU.

Both guests run on the board's QEMU machine ($VIRT_BOARD; VIRT_ARM:
`qemu-system-arm -M virt -cpu cortex-a15 -m 256M`) with one
virtio-net NIC on slirp user networking (-netdev user), every guest port
reached from 127.0.0.1 through hostfwd. Measured for the firmware on the
legacy and modern virtio-mmio transports and on virtio-pci modern and
legacy (virtio-net-pci, the NIC of a plain -nic user), and for Linux (Debian's kernel of
the board's architecture, armhf armmp-lpae or arm64, and busybox-static, see
tests/bench/linux_guest.py; none for RISC-V) on legacy (--linux-transports
adds modern):

  boot        ms from starting QEMU until a listener in the guest has
              accepted a host connection and sent a banner; both guests get
              their address by DHCP first (--static-ip adds a run without).
              Ours: a firmware built with the server below frozen in as
              main.py (make -C ports/virt APP=..., into build/bench-net/fw-BOARD);
              its banner carries ticks_ms at main.py, DHCP done and
              listening. Linux: /init loads the virtio modules, runs udhcpc
              and busybox nc. Beside them, qemu_floor: QEMU alone, the
              same machine and network booting bench_boot's floor image
              (it only writes a prompt), timed to that prompt.
  tx, rx      MB/s (10^6 bytes/s) of a --size TCP transfer guest->host and
              host->guest. Ours: socket.write() of 16 KiB bytes objects /
              socket.readinto() of a 16 KiB bytearray, in Python. Linux: dd
              bs=16k on the accepted socket (busybox nc -e puts the socket
              on dd's stdin/stdout; piping through nc itself is ~10x slower).
  rr          µs per 32-byte request and its echo on one connection, host
              as client with TCP_NODELAY (median of --rr-count, after 50).
              Ours: recv()/write() loop in Python; Linux: nc -ll -e cat.
  connect_rr  ms from connect() to the echo of a request sent at once, on a
              fresh connection each time (what a request/response client
              sees, including accept()).
  cpu_s_per_MB  QEMU's CPU seconds (all threads) per MB moved: less
              sensitive to a busy host than MB/s.

tx/rx/rr use --firmware itself, with the same server started from the raw
REPL. Bulk services greet with "go" and then read a one-line request. The
guests alternate boot by boot, and each figure is a median; on a busy host
the figures still move a lot from run to run: the load average is recorded.
--profile adds, for ours: tx/rx/rr against the Python-side parameters (write
and readinto sizes, TCP_NODELAY), the device counters per transfer, and
where the guest CPU spends its time, by sampling its PC (and likely callers
from the stack) through QEMU's gdbstub while a transfer runs.

Every guest's QEMU command line is virtmp's (virtmp.Guest with a virtmp.Slirp
NIC); every QEMU started here is killed, also on errors, and every wait is
bounded.

    tests/bench_net.py --firmware build/VIRT_ARM/firmware.elf --json build/bench_net.json
"""

import argparse
import json
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))

import virtmp  # noqa: E402
from virtmp import GuestError, free_port  # noqa: E402

from support import BOARD  # noqa: E402
import bench_boot  # noqa: E402
import linux_guest  # noqa: E402

MEM = "256M"
MACHINE = virtmp.BOARDS[BOARD]["machine"] + ["-m", MEM]  # QEMU's arguments for every guest
MiB = 1024 * 1024

# Guest ports (the host side of each hostfwd is a free port).
PORTS = {"ready": 5000, "source": 5001, "sink": 5002, "echo": 5003, "echo_nodelay": 5004, "stats": 5005}
BANNER = b"ready"  # then, from ours, guest ticks_ms at main.py, DHCP done, listening

TARGETS = {
    "boot_ms": "ours <= 100 ms",
    "tx": "ours >= 2x Linux",
    "rx": "ours >= Linux",
    "rr": "ours <= Linux",
}


# The firmware's side: one Python server for every service, polled.

GUEST_APP = r'''
import network, select, socket, time

def _listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    return s

def _header(c):
    return [int(x) for x in c.readline().split()]

def _ready(c):
    c.write(b"ready main=%%d net=%%d listen=%%d\n" %% _marks)

# Bulk services greet first: the host sends its request only once the
# connection is accepted (modlwip refuses data that arrives before accept(),
# and lwIP offers it again only from its 250 ms timer).

def _source(c):
    # "N CHUNK NODELAY": send N zero bytes, CHUNK bytes a write.
    c.write(b"go\n")
    n, chunk, nodelay = _header(c)
    if nodelay:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytes(chunk)
    while n >= chunk:
        c.write(buf)
        n -= chunk
    if n:
        c.write(memoryview(buf)[:n])

def _sink(c):
    # "N BUF": read to EOF with readinto(BUF bytes), report the count.
    c.write(b"go\n")
    n, size = _header(c)
    buf = bytearray(size)
    got = 0
    while True:
        k = c.readinto(buf)
        if not k:
            break
        got += k
    c.write(b"%%d bytes\n" %% got)

def _echo(c, nodelay=False):
    if nodelay:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # recv() returns what has arrived (readinto() would wait to fill buf).
    while True:
        data = c.recv(2048)
        if not data:
            break
        c.write(data)

def _stats(c):
    import _virt
    c.write(repr({"net": _virt.net_info(), "ticks_ms": time.ticks_ms()}).encode())

def bench_serve():
    global _marks
    t = time.ticks_ms()
    lan = network.LAN()  # brought up by _boot.py from the boot arguments
    while not lan.isconnected() and time.ticks_diff(time.ticks_ms(), t) < 30000:
        time.sleep_ms(1)
    t_net = time.ticks_ms()
    ports = %(ports)r
    handlers = {"ready": _ready, "source": _source, "sink": _sink, "echo": _echo,
                "echo_nodelay": lambda c: _echo(c, True), "stats": _stats}
    poller = select.poll()
    by_sock = {}
    for name in ("ready", "source", "sink", "echo", "echo_nodelay", "stats"):
        s = _listen(ports[name])
        by_sock[id(s)] = (s, handlers[name])
        poller.register(s, select.POLLIN)
        if name == "ready":
            _marks = (t, t_net, time.ticks_ms())
    while True:
        for s, ev in poller.poll(1000):
            c, _ = by_sock[id(s)][0].accept()
            try:
                by_sock[id(s)][1](c)
            except OSError:
                pass
            c.close()

bench_serve()
''' % {"ports": PORTS}


# Linux's side: busybox. nc -e puts the accepted socket on the program's
# stdin/stdout, so dd and cat move the data without nc copying it.

LINUX_INIT = linux_guest.INIT_PREAMBLE + r'''for m in failover net_failover virtio_mmio virtio_net; do
    insmod /lib/net/$m.ko || echo "bench: insmod $m failed"
done
ifconfig lo 127.0.0.1 up
ifconfig eth0 up
ip=dhcp
for w in $(cat /proc/cmdline); do
    case "$w" in bench.ip=*) ip=${w#bench.ip=} ;; esac
done
if [ "$ip" = dhcp ]; then
    udhcpc -i eth0 -s /etc/udhcpc.sh -q -f -n -t 20 -T 1 >/dev/null 2>&1 || echo "bench: dhcp failed"
else
    ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
    route add default gw 10.0.2.2
fi
(while :; do echo ready | nc -l -p %(ready)d; done) &
nc -ll -p %(source)d -e /svc/source &
nc -ll -p %(sink)d -e /svc/sink &
nc -ll -p %(echo)d -e cat &
nc -ll -p %(stats)d -e /svc/stats &
echo "bench: services up"
while :; do sleep 3600; done
''' % PORTS

LINUX_FILES = {
    "etc/udhcpc.sh": """#!/bin/sh
case "$1" in
    bound|renew)
        ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
        for r in $router; do route add default gw "$r" dev "$interface"; break; done ;;
    deconfig) ifconfig "$interface" 0.0.0.0 up ;;
esac
exit 0
""",
    # "N CHUNK NODELAY" as for ours (NODELAY is ignored: dd cannot set it).
    "svc/source": """#!/bin/sh
echo go
read n chunk nodelay
exec dd if=/dev/zero bs=$chunk count=$((n / chunk)) 2>/dev/null
""",
    # "N BUF": busybox dd reports records, not bytes, so the count is not checked.
    "svc/sink": """#!/bin/sh
echo go
read n size
dd of=/dev/null bs=$size 2>/dev/null
echo "$n bytes"
""",
    "svc/stats": """#!/bin/sh
cat /proc/uptime /proc/interrupts /proc/net/dev /proc/net/snmp
""",
}


# QEMU.

def ours_app_firmware(build_root, log):
    """The firmware with GUEST_APP frozen in as main.py, built in
    build_root/fw-BOARD (make is incremental: a second run rebuilds nothing;
    each board's objects apart)."""
    app = os.path.join(build_root, "app")
    os.makedirs(app, exist_ok=True)
    main_py = os.path.join(app, "main.py")
    old = open(main_py).read() if os.path.exists(main_py) else None
    if old != GUEST_APP:  # keep the mtime when unchanged
        with open(main_py, "w") as f:
            f.write(GUEST_APP)
    build = os.path.join(build_root, "fw-" + BOARD)
    # Run the port's make as a user would, not as a sub-make of `make bench`.
    env = dict(os.environ)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD"):
        env.pop(var, None)
    top = env.get("MICROPY_TOP") or os.path.join(ROOT, "deps", "micropython")
    jobs = "-j%d" % (os.cpu_count() or 1)
    # BUILD= on the port's command line would also reach the sub-make that
    # builds mpy-cross: build mpy-cross first, so that sub-make never runs.
    steps = []
    if not os.path.exists(os.path.join(top, "mpy-cross", "build", "mpy-cross")):
        steps.append(["make", jobs, "-C", os.path.join(top, "mpy-cross")])
    steps.append(["make", jobs, "-C", os.path.join(ROOT, "ports", "virt"), "BOARD=" + BOARD,
                  "MICROPY_TOP=" + top, "BUILD=" + build, "APP=" + app])
    for cmd in steps:
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
        if r.returncode != 0:
            raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), r.stdout.decode(errors="replace")[-3000:]))
    elf = os.path.join(build, "firmware.elf")
    log("  %s" % os.path.relpath(elf, ROOT))
    return elf


def guest_options(kind, transport, names, image=None, linux=None, ip="dhcp", extra=()):
    """virtmp.Guest options for one guest: the board's machine with MEM, one
    virtio-net NIC on slirp with the services in `names` forwarded from free
    127.0.0.1 ports, no semihosting."""
    options = dict(board=BOARD, mem=MEM, transport=transport, semihosting=False,
                   net=virtmp.Slirp(forwards=[("tcp", PORTS[n]) for n in names]), qemu_args=list(extra))
    if kind == "linux":
        options.update(firmware=linux["kernel"], append="console=ttyAMA0 quiet bench.ip=%s" % ip)
        options["qemu_args"] += ["-initrd", linux["initrd"]]
    else:
        options["firmware"] = image
        if ip == "static":
            options["append"] = "ip=10.0.2.15/24,10.0.2.2"
    return options


class Qemu:
    """One guest's QEMU (a virtmp.Guest), with hostfwd ports for the services
    in `names` (hostfwd: name -> host port, once started); stop() (or the
    context manager) always kills it.

    With serial="pty" virtmp.Guest runs it (for the raw REPL); otherwise it is
    virtmp's command line with the serial port to a file, started here, so
    that t0 is taken just before QEMU starts."""

    def __init__(self, kind, transport, names, image=None, linux=None, ip="dhcp", serial="file", extra=()):
        self.kind = kind
        self.names = list(names)
        self.hostfwd = {}
        self.guest = virtmp.Guest(**guest_options(kind, transport, names, image, linux, ip, extra))
        self.pty = serial == "pty"
        self.proc = None
        self.log = None
        if not self.pty:
            fd, self.log = tempfile.mkstemp(prefix="bench-net-serial-")
            os.close(fd)
            self.cmd = self.guest.command(serial="file:" + self.log)  # picks the host ports

    def start(self):
        self.t0 = time.perf_counter()
        if self.pty:
            # Not waiting for a prompt: start_raw_server() asks for one.
            self.guest.start(wait_prompt=False)
            self.proc = self.guest.proc
        else:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        self.hostfwd = {n: self.guest.host_port(PORTS[n]) for n in self.names}
        return self

    def output(self):
        """The serial output so far (for error messages)."""
        if self.pty:
            return self.guest.log
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    def stop(self):
        if self.pty:
            self.guest.stop()
        elif self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc.stderr.close()
        if self.log:
            try:
                os.unlink(self.log)
            except OSError:
                pass

    def cpu_seconds(self):
        """CPU time (user + system) of the QEMU process so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_banner(port, t0, timeout, proc=None, interval=0.002, attempt_timeout=0.025, max_pending=16):
    """(seconds from t0, banner line) once a connection to 127.0.0.1:port
    receives BANNER.

    slirp accepts the host's connection at once and only then connects to the
    guest, so a connection counts once the guest's banner arrives. A SYN that
    reaches the guest before it has an address is dropped, and slirp would
    resend it only seconds later: so attempts are short-lived and overlap (one
    every `interval`), and one made after the listener is up answers
    within about `interval`."""
    pending = {}  # socket -> (started, received)
    deadline = t0 + timeout
    next_attempt = time.perf_counter()
    try:
        while True:
            now = time.perf_counter()
            if now > deadline:
                raise TimeoutError("no banner on port %d within %ss" % (port, timeout))
            if proc is not None and proc.poll() is not None:
                err = proc.stderr.read(2000).decode(errors="replace") if proc.stderr else ""  # a pty guest: in its log
                raise RuntimeError("QEMU exited (%s): %s" % (proc.returncode, err))
            if now >= next_attempt and len(pending) < max_pending:
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    s = None
                if s is not None:
                    pending[s] = (now, b"")
                next_attempt = now + interval
            for s, (started, _) in list(pending.items()):
                if now - started > attempt_timeout:
                    s.close()
                    del pending[s]
            wait = max(0.0, min(next_attempt - time.perf_counter(), 0.002))
            readable = select.select(list(pending), [], [], wait)[0] if pending else time.sleep(wait) or []
            for s in readable:
                try:
                    data = s.recv(64)
                except OSError:
                    data = b""
                if not data:
                    s.close()
                    del pending[s]
                    continue
                got = pending[s][1] + data
                if BANNER in got and got.endswith(b"\n"):
                    return time.perf_counter() - t0, got.decode(errors="replace").strip()
                pending[s] = (pending[s][0], got)
    finally:
        for s in pending:
            s.close()


# Host-side measurements over the forwarded ports.

def _connect(port, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class ConnectionClosed(RuntimeError):
    pass


def _recv_line(s, limit=4096):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            raise ConnectionClosed("connection closed before a line; got %r" % data)
        data += chunk
        if len(data) > limit:
            raise RuntimeError("line too long")
    return data


def start_raw_server(guest, timeout=30):
    """Run GUEST_APP from the raw REPL (it does not return)."""
    # QEMU drops serial output until it notices the pty is open, so the first
    # prompt may be lost: ask again until one comes.
    deadline = time.monotonic() + timeout
    while True:
        guest.write(b"\r")
        try:
            guest.read_until(b">>> ", timeout=1)
            break
        except GuestError:
            if time.monotonic() > deadline:
                raise
    guest.exec_start(GUEST_APP)  # raw REPL; returns once the guest runs it


def _recv_exactly(s, n, what):
    got = b""
    while len(got) < n:
        data = s.recv(n - len(got))
        if not data:
            raise RuntimeError("%s: connection closed" % what)
        got += data
    return got


def _open_service(port, what, timeout, rcvbuf=None, wait=5.0):
    """A connection to a bulk service, after its "go". slirp accepts the
    host's connection before it reaches the guest, so a service that is not
    listening yet (Linux starts its nc's one after another) shows as a
    connection closed before the greeting: try again for up to `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        s = _connect(port, timeout)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        try:
            if _recv_line(s) != b"go\n":
                raise RuntimeError("%s: no go" % what)
            return s
        except ConnectionClosed:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        except BaseException:
            s.close()
            raise


def measure_tx(port, size, chunk=16384, nodelay=0, timeout=120):
    """guest->host: MB/s from sending the request until the last byte arrives."""
    with _open_service(port, "tx", timeout, rcvbuf=4 * MiB) as s:
        t0 = time.perf_counter()
        s.sendall(b"%d %d %d\n" % (size, chunk, nodelay))
        got = 0
        buf = bytearray(MiB)
        while got < size:
            n = s.recv_into(buf)
            if not n:
                raise RuntimeError("tx: connection closed after %d of %d bytes" % (got, size))
            got += n
        t1 = time.perf_counter()
    return size / (t1 - t0) / 1e6


def measure_rx(port, size, bufsize=16384, timeout=120):
    """host->guest: MB/s from the guest's "go" until it has read everything
    (its report after our end of stream)."""
    with _open_service(port, "rx", timeout) as s:
        block = bytes(MiB)
        t0 = time.perf_counter()
        s.sendall(b"%d %d\n" % (size, bufsize))
        left = size
        while left:
            n = min(left, MiB)
            s.sendall(block[:n] if n < MiB else block)
            left -= n
        s.shutdown(socket.SHUT_WR)
        report = b""
        while True:
            data = s.recv(4096)
            if not data:
                break
            report += data
        t1 = time.perf_counter()
    m = re.search(rb"(\d+) bytes", report)
    if not m or int(m.group(1)) != size:
        raise RuntimeError("rx: guest reported %r, expected %d bytes" % (report, size))
    return size / (t1 - t0) / 1e6


def measure_rr(port, count, size=32, warmup=50, timeout=30):
    """Round-trip µs of `count` size-byte exchanges (after `warmup` untimed)."""
    msg = bytes(range(size))
    times = []
    with _connect(port, timeout) as s:
        for i in range(warmup + count):
            t0 = time.perf_counter()
            s.sendall(msg)
            got = _recv_exactly(s, size, "rr")
            t1 = time.perf_counter()
            if got != msg:
                raise RuntimeError("rr: echo mismatch %r" % got)
            if i >= warmup:
                times.append((t1 - t0) * 1e6)
    times.sort()
    return {"median_us": round(statistics.median(times), 1), "p10_us": round(times[len(times) // 10], 1),
            "p90_us": round(times[len(times) * 9 // 10], 1), "min_us": round(times[0], 1),
            "count": count, "bytes": size}


def measure_connect_rr(port, count, size=32, timeout=30):
    """ms from connect() to the echo of a size-byte request sent at once, on
    a fresh connection each time (what a client of a request/response server
    sees); median of count."""
    msg = bytes(range(size))
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        with _connect(port, timeout) as s:
            s.sendall(msg)
            _recv_exactly(s, size, "connect_rr")
            times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "count": count}


def fetch_stats(port, timeout=10):
    with _connect(port, timeout) as s:
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def summary(values, unit, digits=1):
    return {"median_" + unit: round(statistics.median(values), digits),
            "min_" + unit: round(min(values), digits), "max_" + unit: round(max(values), digits),
            "runs_" + unit: [round(v, digits) for v in values]}


def guest_marks(banners, host_ms):
    """Medians of ours' ticks_ms marks (ms since the guest CPU started), and
    of host ms minus the listen mark: QEMU's start-up before the guest runs,
    plus the connection."""
    marks = {}
    for banner, ms in zip(banners, host_ms):
        found = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", banner))
        for key, value in found.items():
            marks.setdefault(key, []).append(value)
        if "listen" in found:
            marks.setdefault("host_minus_listen", []).append(ms - found["listen"])
    return {"guest_ticks_ms": {k: round(statistics.median(v), 1) for k, v in marks.items()}} if marks else {}


def _net_counters(stats):
    import ast
    return ast.literal_eval(stats)["net"]


# Where the guest's time goes: sampling its PC through QEMU's gdbstub.

class GdbSampler:
    """Stops the VM, reads the registers and the top of the stack, lets it
    go on; QEMU's -gdb server speaks the GDB remote protocol."""

    def __init__(self, port, stack_bytes=256, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.stack_bytes = stack_bytes
        time.sleep(0.1)  # QEMU stops the VM on connect and may say so: drop that
        self.s.setblocking(False)
        try:
            while self.s.recv(4096):
                pass
        except BlockingIOError:
            pass
        self.s.settimeout(timeout)
        self._cmd("?")
        self._send("c")

    def _packet(self):
        while True:
            i = self.buf.find(b"$")
            j = self.buf.find(b"#", i) if i >= 0 else -1
            if j >= 0 and len(self.buf) >= j + 3:
                pkt, self.buf = self.buf[i + 1:j], self.buf[j + 3:]
                return pkt.decode()
            data = self.s.recv(65536)
            if not data:
                raise EOFError("gdbstub closed")
            self.buf += data

    def _send(self, data):
        self.s.sendall(b"$%s#%02x" % (data.encode(), sum(data.encode()) & 0xff))

    def _cmd(self, data):
        self._send(data)
        return self._packet()

    def sample(self):
        """(pc, cpsr, stack words)."""
        self.s.sendall(b"\x03")
        self._packet()  # the stop reply
        regs = bytes.fromhex(self._cmd("g"))  # r0-r15, 8 FPA registers, fps, cpsr
        sp = int.from_bytes(regs[52:56], "little")
        stack = self._cmd("m%x,%x" % (sp, self.stack_bytes))
        self._send("c")
        try:
            raw = bytes.fromhex(stack)
        except ValueError:
            raw = b""
        words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw) - 3, 4)]
        return int.from_bytes(regs[60:64], "little"), int.from_bytes(regs[-4:], "little"), words

    def close(self):
        self.s.close()


class Symbols:
    """Function names of a firmware ELF (arm-none-eabi-nm)."""

    def __init__(self, elf, nm="arm-none-eabi-nm"):
        import bisect
        self._bisect = bisect.bisect_right
        out = subprocess.run([nm, "-n", elf], capture_output=True, text=True, timeout=60).stdout
        self.addrs, self.names = [], []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                self.addrs.append(int(parts[0], 16) & ~1)
                self.names.append(parts[2])

    def name(self, pc):
        i = self._bisect(self.addrs, pc) - 1
        return self.names[i] if i >= 0 else "?"

    def callers(self, words, n=3):
        """Likely callers: Thumb return addresses (odd, in the text) on the stack."""
        out = []
        for w in words:
            if w & 1 and self.addrs and self.addrs[0] <= w < self.addrs[-1] + 0x10000:
                name = self.name(w & ~1)
                if not out or out[-1] != name:
                    out.append(name)
                    if len(out) == n:
                        break
        return out


def sample_while(sampler, symbols, busy, interval=0.002, limit=5000):
    """Sample while busy() is true; {"samples", "functions": top, "stacks": top}."""
    import collections
    funcs, stacks, n = collections.Counter(), collections.Counter(), 0
    while busy() and n < limit:
        pc, cpsr, words = sampler.sample()
        f = symbols.name(pc)
        if cpsr & 0x1f == 0x12:
            f += " [irq]"
        funcs[f] += 1
        stacks[" < ".join([f] + symbols.callers(words))] += 1
        n += 1
        time.sleep(interval)
    pct = lambda c: round(100.0 * c / max(n, 1), 1)
    return {"samples": n, "functions": [(f, pct(c)) for f, c in funcs.most_common(15)],
            "stacks": [(f, pct(c)) for f, c in stacks.most_common(15)]}


# The runs.

class Bench:
    def __init__(self, args, log=print):
        self.args = args
        self.log = log
        self.linux = None

    def guests(self):
        """(label, kind, transport) for every guest measured."""
        out = [("ours_" + t, "ours", t) for t in self.args.transports]
        if self.linux:
            out += [("linux_" + t, "linux", t) for t in self.args.linux_transports]
        return out

    def boot_times(self, app_fw, ip="dhcp"):
        """{label: ([ms, ...], [banner, ...])}, the guests alternating run by run
        so that changes in the host's load touch all alike. "qemu_floor" is
        QEMU alone: the same machine and network starting bench_boot's floor
        image, which only writes its prompt, timed to that prompt."""
        out = {label: ([], []) for label, _, _ in self.guests()}
        out["qemu_floor"] = ([], [])
        floor = bench_boot.build_floor(os.path.join(self.args.build_dir, "floor"), bench_boot.FLOORS[BOARD][1])
        floor_cmd = virtmp.Guest(**guest_options("ours", "legacy", ["ready"], image=floor)).command(serial="stdio")
        for run in range(self.args.boot_runs + 1):  # round 0 warms caches, unrecorded
            ms, _ = bench_boot.boot_once(floor, 30, floor_cmd)
            if run:
                out["qemu_floor"][0].append(ms)
            for label, kind, transport in self.guests():
                timeout = self.args.linux_timeout if kind == "linux" else 30
                # Linux answers through a forked busybox nc: an attempt must
                # live long enough for that (its boot takes seconds anyway).
                attempt = dict(interval=0.02, attempt_timeout=0.5) if kind == "linux" else {}
                q = Qemu(kind, transport, ["ready"], image=app_fw, linux=self.linux, ip=ip)
                try:
                    q.start()
                    secs, banner = wait_banner(q.hostfwd["ready"], q.t0, timeout, proc=q.proc, **attempt)
                except Exception as e:
                    raise RuntimeError("%s boot (%s): %s\nserial: %s" % (label, ip, e, q.output()[-2000:]))
                finally:
                    q.stop()
                if run:
                    out[label][0].append(secs * 1000)
                    out[label][1].append(banner)
        return out

    def transfer(self, label, kind, transport, image):
        """tx, rx, rr and connect_rr figures of one guest, in one boot."""
        a = self.args
        extra = []
        if a.profile and kind == "ours":
            gdb_port = free_port()
            extra = ["-gdb", "tcp:127.0.0.1:%d" % gdb_port]
        q = Qemu(kind, transport, list(PORTS), image=image, linux=self.linux,
                 serial="pty" if kind == "ours" else "file", extra=extra)
        try:
            q.start()
            if kind == "ours":
                # --firmware itself, with the server started from the raw REPL.
                start_raw_server(q.guest)
                wait_banner(q.hostfwd["ready"], time.perf_counter(), 60, proc=q.proc)
            else:
                wait_banner(q.hostfwd["ready"], q.t0, a.linux_timeout, proc=q.proc, interval=0.02, attempt_timeout=0.5)
            res = {"tx": [], "rx": [], "rr": [], "cpu_tx": [], "cpu_rx": [], "exits": {"tx": [], "rx": []}}
            counters = (lambda: _net_counters(fetch_stats(q.hostfwd["stats"]))) if kind == "ours" else None
            for _ in range(a.runs):
                n0 = counters() if counters else None
                c0 = q.cpu_seconds()
                res["tx"].append(measure_tx(q.hostfwd["source"], a.size, a.chunk))
                c1 = q.cpu_seconds()
                n1 = counters() if counters else None
                res["rx"].append(measure_rx(q.hostfwd["sink"], a.size, a.chunk))
                c2 = q.cpu_seconds()
                if counters:
                    n2 = counters()
                    for what, (x, y) in (("tx", (n0, n1)), ("rx", (n1, n2))):
                        res["exits"][what].append({k: (y[k] - x[k]) / (a.size / 1e6) for k in ("tx_kicks", "irqs")})
                res["cpu_tx"].append((c1 - c0) / (a.size / 1e6))
                res["cpu_rx"].append((c2 - c1) / (a.size / 1e6))
                res["rr"].append(measure_rr(q.hostfwd["echo"], a.rr_count))
            res["connect_rr"] = measure_connect_rr(q.hostfwd["echo"], a.connect_count)
            if a.profile and kind == "ours":
                res["profile"] = self.profile(q, gdb_port, image)
            res["stats"] = fetch_stats(q.hostfwd["stats"])
            return res
        except Exception as e:
            raise RuntimeError("%s transfers: %s\nserial: %s" % (label, e, q.output()[-2000:]))
        finally:
            q.stop()

    def profile(self, q, gdb_port, image):
        """Ours only: how tx/rx/rr move with the Python-side parameters, the
        device's counters per transfer, and where the guest CPU's time goes."""
        import threading
        a = self.args
        size = a.size
        fwd = q.hostfwd
        med = lambda f: round(statistics.median(f() for _ in range(3)), 2)
        out = {"tx_chunk_MBps": {}, "rx_buf_MBps": {}, "tx_nodelay_MBps": {}, "rr_us": {},
               "counters": {}, "samples": {}}
        for chunk in (1460, 4096, 16384, 65536):
            out["tx_chunk_MBps"][chunk] = med(lambda: measure_tx(fwd["source"], size, chunk))
        for nodelay in (0, 1):
            out["tx_nodelay_MBps"][nodelay] = med(lambda: measure_tx(fwd["source"], size, 16384, nodelay))
        for buf in (1460, 4096, 16384, 65536):
            out["rx_buf_MBps"][buf] = med(lambda: measure_rx(fwd["sink"], size, buf))
        for name in ("echo", "echo_nodelay"):
            out["rr_us"][name] = measure_rr(fwd[name], a.rr_count)["median_us"]
        runs = {"tx": lambda: measure_tx(fwd["source"], size, a.chunk),
                "rx": lambda: measure_rx(fwd["sink"], size, a.chunk),
                "rr": lambda: measure_rr(fwd["echo"], a.rr_count, warmup=0)}
        for what, fn in runs.items():
            before = _net_counters(fetch_stats(fwd["stats"]))
            fn()
            after = _net_counters(fetch_stats(fwd["stats"]))
            out["counters"][what] = {k: after[k] - before[k] for k in
                                     ("rx_packets", "tx_packets", "irqs", "tx_kicks", "rx_dropped", "tx_dropped")}
        symbols = Symbols(image)
        sampler = GdbSampler(gdb_port)
        try:
            for what, fn in runs.items():
                th = threading.Thread(target=fn, daemon=True)
                th.start()
                out["samples"][what] = sample_while(sampler, symbols, th.is_alive)
                th.join(120)
        finally:
            sampler.close()
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", required=True, help="firmware ELF for tx/rx/rr")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--boot-runs", type=int, default=7, help="boots of each guest (>= 5)")
    ap.add_argument("--runs", type=int, default=5, help="tx/rx/rr repetitions in each guest (>= 3)")
    ap.add_argument("--size", type=int, default=16 * MiB, help="bytes per bulk transfer (>= 16 MiB)")
    ap.add_argument("--chunk", type=int, default=16384, help="bytes per write/read in the guests")
    ap.add_argument("--rr-count", type=int, default=1000)
    ap.add_argument("--connect-count", type=int, default=20, help="fresh connections for connect_rr")
    ap.add_argument("--transports", nargs="+", default=list(virtmp.TRANSPORTS), choices=virtmp.TRANSPORTS)
    ap.add_argument("--linux-transports", nargs="+", default=["legacy"], choices=["legacy", "modern"])
    ap.add_argument("--no-linux", action="store_true", help="measure only the firmware")
    ap.add_argument("--static-ip", action="store_true",
                    help="also boot with a static address (no DHCP) in both guests")
    ap.add_argument("--profile", action="store_true",
                    help="also vary the firmware's Python-side parameters and sample its CPU")
    ap.add_argument("--skip-boot", action="store_true")
    ap.add_argument("--linux-timeout", type=float, default=180.0, help="seconds allowed for Linux to boot")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "bench-net"))
    args = ap.parse_args()
    if args.boot_runs < 5 or args.runs < 3 or args.size < 16 * MiB:
        ap.error("need --boot-runs >= 5, --runs >= 3, --size >= 16 MiB")
    if not os.path.exists(args.firmware):
        ap.error("no firmware at %s" % args.firmware)
    try:
        qemu = virtmp.find_qemu(BOARD)
    except virtmp.SetupError as e:
        ap.error(str(e))
    firmware = os.path.abspath(args.firmware)

    bench = Bench(args)
    if not args.no_linux:
        try:
            g = linux_guest.LinuxGuest(os.path.join(os.path.dirname(args.build_dir), "linux-guest"), board=BOARD).fetch()
            bench.linux = {"kernel": g.kernel(), "initrd": g.build_initramfs(LINUX_INIT, LINUX_FILES)}
        except linux_guest.FetchError as e:
            print("bench_net: Linux guest unavailable: %s" % e, file=sys.stderr)
            return 2

    version = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.splitlines()[0]
    result = {
        "qemu": version,
        "machine": MACHINE,
        "network": "-netdev user (slirp) with hostfwd from 127.0.0.1, -device virtio-net-device (MMIO) or -pci",
        "host": {"cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "firmware": firmware,
        "linux": bench.linux and {"kernel": os.path.basename(bench.linux["kernel"]),
                                  "initrd": os.path.basename(bench.linux["initrd"])},
        "units": {"boot": "ms from QEMU start to the guest listener's banner (DHCP in both)",
                  "tx/rx": "MB/s (10^6 bytes/s) of %d bytes; guest reads/writes %d bytes a call"
                           % (args.size, args.chunk),
                  "rr": "µs per 32-byte request and echo, %d on one connection, host TCP_NODELAY"
                        % args.rr_count,
                  "connect_rr": "ms from connect() to the echo of a request sent at once, fresh connections",
                  "cpu_s_per_MB": "QEMU process CPU seconds (all threads) per MB moved"},
    }
    print("network benchmark: %s, host %d CPUs, load %.1f" % (version, os.cpu_count(), os.getloadavg()[0]))

    if not args.skip_boot:
        print("building the firmware with the listener frozen in as main.py:")
        app_fw = ours_app_firmware(args.build_dir, print)
        boots = {"dhcp": bench.boot_times(app_fw)}
        if args.static_ip:
            boots["static"] = bench.boot_times(app_fw, ip="static")
        result["boot"] = {ip: {label: dict(summary(v, "ms"), **guest_marks(marks, v))
                               for label, (v, marks) in b.items()} for ip, b in boots.items()}
        for ip, b in result["boot"].items():
            print("boot to network-ready (%s), median of %d:" % (ip, args.boot_runs))
            for label, s in b.items():
                marks = s.get("guest_ticks_ms", {})
                note = "   QEMU alone (floor image, same machine and network), to its prompt"
                if marks:
                    note = ("   guest ms: main.py %(main)g, DHCP done %(net)g, listening %(listen)g;"
                            " host - listen %(host_minus_listen)g" % marks)
                elif label != "qemu_floor":
                    note = ""
                print("  %-16s %8.1f ms  (min %.1f, max %.1f)%s" % (
                    label, s["median_ms"], s["min_ms"], s["max_ms"], note))

    result["transfer"] = {}
    print("transfers, median of %d:" % args.runs)
    for label, kind, transport in bench.guests():
        r = bench.transfer(label, kind, transport, firmware)
        entry = {
            "tx": summary(r["tx"], "MBps", 2),
            "rx": summary(r["rx"], "MBps", 2),
            "rr": summary([x["median_us"] for x in r["rr"]], "us"),
            "rr_runs": r["rr"],
            "connect_rr": r["connect_rr"],
            "cpu_s_per_MB": {"tx": round(statistics.median(r["cpu_tx"]), 4),
                             "rx": round(statistics.median(r["cpu_rx"]), 4)},
            "guest_stats": r["stats"][-3000:],
        }
        if r["exits"]["tx"]:
            # Device notifications (TX kicks) and interrupts per MB moved, each direction.
            entry["per_MB"] = {what: {k: round(statistics.median(x[k] for x in runs), 1) for k in ("tx_kicks", "irqs")}
                               for what, runs in r["exits"].items()}
        if "profile" in r:
            entry["profile"] = r["profile"]
        result["transfer"][label] = entry
        print("  %-16s tx %6.2f MB/s  rx %6.2f MB/s  rr %6.1f µs  connect+rr %6.1f ms"
              "  (QEMU CPU s/MB: tx %.3f, rx %.3f)" % (
                  label, entry["tx"]["median_MBps"], entry["rx"]["median_MBps"], entry["rr"]["median_us"],
                  entry["connect_rr"]["median_ms"], entry["cpu_s_per_MB"]["tx"], entry["cpu_s_per_MB"]["rx"]))
        if "per_MB" in entry:
            pm = entry["per_MB"]
            print("  %-16s per MB: guest->host %.1f kicks, %.1f interrupts; host->guest %.1f kicks, %.1f interrupts"
                  % ("", pm["tx"]["tx_kicks"], pm["tx"]["irqs"], pm["rx"]["tx_kicks"], pm["rx"]["irqs"]))
        if "profile" in r:
            print_profile(r["profile"])

    result["pci_vs_mmio"] = pci_vs_mmio(result)
    if result["pci_vs_mmio"]:
        print("virtio-pci against virtio-mmio (same run; boot: lower is better, tx/rx higher, rr lower):")
        for pair, r in result["pci_vs_mmio"].items():
            print("  %-20s %s" % (pair, ", ".join("%s %.2fx" % (k, v) for k, v in r.items())))
    result["host"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = targets(result)
    print("targets (ours legacy against Linux legacy; host load %.1f at the end):" % os.getloadavg()[0])
    for name, t in result["targets"].items():
        print("  %-7s %-16s %s: %s" % (name, TARGETS[name], t["detail"], "met" if t["met"] else "NOT met"))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print("written to %s" % args.json)
    return 0


def print_profile(p):
    print("    tx MB/s by write size: %s; TCP_NODELAY off/on: %s" % (p["tx_chunk_MBps"], p["tx_nodelay_MBps"]))
    print("    rx MB/s by readinto size: %s" % p["rx_buf_MBps"])
    print("    rr µs without/with TCP_NODELAY in the guest: %s" % p["rr_us"])
    for what, c in p["counters"].items():
        print("    %s counters: %s" % (what, c))
    for what, s in p["samples"].items():
        print("    %s: where the guest CPU is (%d samples):" % (what, s["samples"]))
        for stack, pct in s["stacks"][:8]:
            print("      %5.1f%%  %s" % (pct, stack))


def pci_vs_mmio(result):
    """{"pci/modern": {figure: ratio}, "pci-legacy/legacy": ...}: each PCI
    transport's figures over those of the MMIO transport of the same
    VirtIO version."""
    out = {}
    boot = result.get("boot", {}).get("dhcp", {})
    tr = result["transfer"]
    for pci, mmio in (("pci", "modern"), ("pci-legacy", "legacy")):
        a, b = "ours_" + pci, "ours_" + mmio
        r = {}
        if a in boot and b in boot:
            r["boot"] = boot[a]["median_ms"] / boot[b]["median_ms"]
        if a in tr and b in tr:
            for name, key in (("tx", "median_MBps"), ("rx", "median_MBps"), ("rr", "median_us")):
                r[name] = tr[a][name][key] / tr[b][name][key]
        if r:
            out["%s/%s" % (pci, mmio)] = {k: round(v, 3) for k, v in r.items()}
    return out


def targets(result):
    out = {}
    boot = result.get("boot", {}).get("dhcp", {})
    tr = result["transfer"]
    ours, linux = tr.get("ours_legacy"), tr.get("linux_legacy")
    if "ours_legacy" in boot:
        v = boot["ours_legacy"]["median_ms"]
        out["boot_ms"] = {"met": v <= 100, "detail": "%.1f ms" % v}
    if ours and linux:
        for name, key, ok in (("tx", "median_MBps", lambda o, l: o >= 2 * l),
                              ("rx", "median_MBps", lambda o, l: o >= l),
                              ("rr", "median_us", lambda o, l: o <= l)):
            o, l = ours[name][key], linux[name][key]
            out[name] = {"met": ok(o, l), "detail": "%s vs %s (ratio %.2f)" % (o, l, o / l)}
    return out


if __name__ == "__main__":
    sys.exit(main())
