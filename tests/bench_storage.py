#!/usr/bin/env python3
"""Storage benchmark: the firmware's filesystems beside a Linux guest's, on
the same QEMU machine with the same kind of disk, in one run.

Each guest boots with a fresh 64 MiB raw image as a virtio-blk disk
(virtio-mmio, modern; QEMU's default cache=writeback) and, timed inside the
guest, repeats:

  write   16 MiB into one new file in 64 KiB writes, closed, then synced
          (os.sync(): littlefs/FAT sync and a virtio-blk FLUSH; Linux: dd
          conv=fsync)                                              MB/s
  read    that file back in 64 KiB reads (Linux drops its page cache first,
          so both read from the device)                            MB/s
  small   200 new files of 256 bytes, each closed, then one sync   files/s

Ours: littlefs2 (what the firmware formats a blank disk with, 4096-byte
reads and writes) and FAT (an image made by mkfs.fat, as `virtmp disk make
--fs fat` makes it). Linux: Debian's armhf kernel (tests/bench/linux_guest.py)
with vfat on an image made the same way, busybox's dd for write and read and
its shell's echo for the small files; times from the kernel's clock
(/proc/timer_list).
Figures are medians of the runs; the ratio is ours over Linux's (higher is
better).

    tests/bench_storage.py --firmware build/VIRT_ARM/firmware.elf --json build/bench_storage.json
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))

import virtmp  # noqa: E402

from support import BOARD  # noqa: E402
import linux_guest  # noqa: E402

MiB = 1024 * 1024
MEM = "256M"
DISK_SIZE = "64M"
FILE_SIZE = 16 * MiB
CHUNK = 64 * 1024
SMALL_FILES = 200
SMALL_SIZE = 256
TARGET = "ours >= Linux (write, read, small)"

OURS = """
import os, time
def _bench(runs):
    buf = bytearray(%(chunk)d)
    small = b'x' * %(small_size)d
    for run in range(runs):
        t0 = time.ticks_us()
        with open('/big', 'wb') as f:
            for i in range(%(count)d):
                f.write(buf)
        os.sync()
        t1 = time.ticks_us()
        with open('/big', 'rb') as f:
            while f.readinto(buf):
                pass
        t2 = time.ticks_us()
        os.mkdir('/s')
        t3 = time.ticks_us()
        for i in range(%(small_files)d):
            with open('/s/f%%d' %% i, 'wb') as f:
                f.write(small)
        os.sync()
        t4 = time.ticks_us()
        print('bench: run %%d write_us %%d read_us %%d small_us %%d' %% (
            run, time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), time.ticks_diff(t4, t3)))
        os.remove('/big')
        for i in range(%(small_files)d):
            os.remove('/s/f%%d' %% i)
        os.rmdir('/s')
        os.sync()
""" % {"chunk": CHUNK, "count": FILE_SIZE // CHUNK, "small_files": SMALL_FILES, "small_size": SMALL_SIZE}

LINUX_INIT = linux_guest.INIT_PREAMBLE + r'''for m in virtio_mmio virtio_blk fat vfat nls_cp437 nls_ascii; do
    insmod /lib/net/$m.ko || echo "bench: insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mkdir -p /mnt
mount -t vfat /dev/vda /mnt || echo "bench: mount failed"
runs=1
for w in $(cat /proc/cmdline); do
    case "$w" in bench.runs=*) runs=${w#bench.runs=} ;; esac
done
# Nanoseconds of the kernel's clock with shell builtins only (busybox's
# date has no %%N): /proc/timer_list's "now at N nsecs".
now() {
    while read a b c d; do
        if [ "$a $b" = "now at" ]; then echo $c; return; fi
    done < /proc/timer_list
}
small=$(head -c %(small_size)d /dev/zero | tr '\0' x)
run=0
while [ $run -lt $runs ]; do
    t0=$(now)
    dd if=/dev/zero of=/mnt/big bs=%(chunk)d count=%(count)d conv=fsync 2>/dev/null
    t1=$(now)
    sync; echo 3 > /proc/sys/vm/drop_caches
    t1r=$(now)
    dd if=/mnt/big of=/dev/null bs=%(chunk)d 2>/dev/null
    t2=$(now)
    mkdir /mnt/s
    t3=$(now)
    i=0
    while [ $i -lt %(small_files)d ]; do
        echo -n "$small" > /mnt/s/f$i
        i=$((i+1))
    done
    sync
    t4=$(now)
    echo "bench: run $run write_us $(((t1-t0)/1000)) read_us $(((t2-t1r)/1000)) small_us $(((t4-t3)/1000))"
    rm -r /mnt/big /mnt/s; sync
    run=$((run+1))
done
echo "bench: done"
while :; do sleep 3600; done
''' % {"chunk": CHUNK, "count": FILE_SIZE // CHUNK, "small_files": SMALL_FILES, "small_size": SMALL_SIZE}

RUN_LINE = re.compile(r"bench: run (\d+) write_us (\d+) read_us (\d+) small_us (\d+)")


def figures(lines):
    """{write, read: MB/s; small: files/s} medians, and the per-run values."""
    runs = [tuple(int(x) for x in m.groups()[1:]) for m in lines]
    write = [FILE_SIZE / us for us, _, _ in runs]  # bytes/µs = MB/s
    read = [FILE_SIZE / us for _, us, _ in runs]
    small = [SMALL_FILES * 1e6 / us for _, _, us in runs]
    return {"write_MBps": round(statistics.median(write), 2), "read_MBps": round(statistics.median(read), 2),
            "small_files_per_s": round(statistics.median(small), 1),
            "runs": [{"write_MBps": round(w, 2), "read_MBps": round(r, 2), "small_files_per_s": round(s, 1)}
                     for w, r, s in zip(write, read, small)]}


def run_ours(firmware, fs, runs, work):
    img = os.path.join(work, "ours-%s.img" % fs)
    virtmp.make_image(img, DISK_SIZE, fs="blank" if fs == "lfs2" else "fat")
    with virtmp.Guest(board=BOARD, firmware=firmware, mem=MEM, net=None, disk=img) as g:
        kind = g.eval("type(__import__('vfs').mount()[0][0]).__name__")
        expected = {"lfs2": "VfsLfs2", "fat": "VfsFat"}[fs]
        if kind != expected:
            raise RuntimeError("ours: / is %s, not %s" % (kind, expected))
        g.exec(OURS)
        out = g.exec("_bench(%d)" % runs, timeout=120 * runs)
    return figures(RUN_LINE.finditer(out))


def run_linux(linux, runs, work, timeout):
    img = os.path.join(work, "linux-fat.img")
    virtmp.make_image(img, DISK_SIZE, fs="fat")
    out = linux_guest.run_to_done(linux, "console=ttyAMA0 quiet bench.runs=%d" % runs, timeout, timeout + 120 * runs,
                                  board=BOARD, mem=MEM, net=None, disk=img)
    for line in out.splitlines():
        if "bench:" in line and not re.search(r"bench: (run|done)", line):
            raise RuntimeError("Linux guest: %s" % line.strip())
    found = list(RUN_LINE.finditer(out))
    if len(found) != runs:
        raise RuntimeError("Linux guest printed %d of %d runs:\n%s" % (len(found), runs, out[-2000:]))
    return figures(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", required=True)
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--runs", type=int, default=3, help="repetitions in each guest (>= 3)")
    ap.add_argument("--no-linux", action="store_true", help="measure only the firmware")
    ap.add_argument("--linux-timeout", type=float, default=180.0, help="seconds allowed for Linux to boot")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    if args.runs < 3:
        ap.error("need --runs >= 3")
    firmware = os.path.abspath(args.firmware)
    linux = None
    if not args.no_linux:
        try:
            lg = linux_guest.LinuxGuest(os.path.join(args.build_dir, "linux-guest")).fetch()
            linux = {"kernel": lg.kernel(),
                     "initrd": lg.build_initramfs(LINUX_INIT, modules=linux_guest.BLOCK_MODULES)}
        except linux_guest.FetchError as e:
            print("bench_storage: Linux guest unavailable: %s" % e, file=sys.stderr)
            return 2
    qemu = virtmp.find_qemu(BOARD)
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=30).stdout.splitlines()[0]
    print("storage benchmark: %s, -m %s, %s virtio-blk disk, host %d CPUs, load %.1f"
          % (version, MEM, DISK_SIZE, os.cpu_count(), os.getloadavg()[0]))
    result = {"qemu": version, "mem": MEM, "disk": DISK_SIZE + " raw, virtio-blk-device (modern), cache=writeback",
              "units": {"write/read": "MB/s (10^6 bytes/s) of a %d-byte file, %d bytes a call" % (FILE_SIZE, CHUNK),
                        "small": "files/s, %d files of %d bytes then one sync" % (SMALL_FILES, SMALL_SIZE)},
              "runs": args.runs, "target": TARGET, "guests": {}}
    work = tempfile.mkdtemp(prefix="bench-storage-", dir=args.build_dir)
    try:
        guests = [("ours_lfs2", lambda: run_ours(firmware, "lfs2", args.runs, work)),
                  ("ours_fat", lambda: run_ours(firmware, "fat", args.runs, work))]
        if linux:
            guests.append(("linux_vfat", lambda: run_linux(linux, args.runs, work, args.linux_timeout)))
        for name, fn in guests:
            fig = fn()
            result["guests"][name] = fig
            print("  %-11s write %7.2f MB/s   read %7.2f MB/s   small files %7.1f /s"
                  % (name, fig["write_MBps"], fig["read_MBps"], fig["small_files_per_s"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if linux:
        lx = result["guests"]["linux_vfat"]
        result["ratios"] = {}
        print("ours / Linux vfat (target: %s):" % TARGET)
        for name in ("ours_lfs2", "ours_fat"):
            ours = result["guests"][name]
            r = {k: round(ours[k] / lx[k], 2) for k in ("write_MBps", "read_MBps", "small_files_per_s")}
            result["ratios"][name] = r
            print("  %-11s write %.2fx   read %.2fx   small files %.2fx"
                  % (name, r["write_MBps"], r["read_MBps"], r["small_files_per_s"]))
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
