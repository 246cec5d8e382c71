#!/usr/bin/env python3
"""Boot-time benchmark: milliseconds from starting QEMU to the first ">>> ".

Boots the firmware and a minimal "floor" image (tests/bench/floor.S: it only
writes ">>> " to the UART) alternately, with the same QEMU arguments, and
reports the median, minimum and maximum of each and the ratio of the medians.
The floor is what QEMU itself costs (process start, machine set-up, ELF load),
so the ratio shows what the firmware adds on top. QEMU's CPU time up to the
prompt is reported beside the wall time: other jobs on the host disturb it
less.

The QEMU command line is virtmp's for the board (no NIC, no semihosting),
with the serial port on QEMU's stdio on a pipe rather than a pty: nothing has
to connect to it, and no output can be lost before a reader opens it.

    tests/bench_boot.py --firmware build/VIRT_ARM/firmware.elf --json build/bench.json
"""

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import time

import virtmp

from support import BOARD, ROOT

# Per board: the floor's source, its assembler, CPU flags, and where
# boards/<BOARD>/memmap.ld links the firmware (the floor is loaded there).
FLOORS = {
    "VIRT_ARM": ("floor.S", "arm-none-eabi-gcc", ["-mcpu=cortex-a15"], "0x40200000"),
    "VIRT_AARCH64": ("floor_aarch64.S", "aarch64-linux-gnu-gcc", ["-mcpu=cortex-a53", "-Wl,--no-warn-rwx-segments"], "0x40200000"),
    "VIRT_RV64": ("floor_riscv.S", "riscv64-unknown-elf-gcc", ["-march=rv64imac", "-mabi=lp64", "-Wl,--no-warn-rwx-segments"], "0x80200000"),
    "VIRT_RV32": ("floor_riscv.S", "riscv64-unknown-elf-gcc", ["-march=rv32imac", "-mabi=ilp32", "-Wl,--no-warn-rwx-segments"], "0x80000000"),
}
FLOOR_SRC = os.path.join(ROOT, "tests", "bench", FLOORS[BOARD][0])
LOAD_ADDR = FLOORS[BOARD][3]
PROMPT = b">>> "
TARGET_RATIO = 1.3


def boot_command(image, serial="stdio", **options):
    """virtmp's QEMU argv booting image (no NIC and no semihosting unless
    options say otherwise), its serial on stdio."""
    options.setdefault("board", BOARD)
    options.setdefault("net", None)
    options.setdefault("semihosting", False)
    return virtmp.Guest(firmware=image, **options).command(serial=serial)


def qemu_args(cmd):
    """cmd without the QEMU binary and the -kernel image (for the report)."""
    i = cmd.index("-kernel")
    return cmd[1:i] + cmd[i + 2:]


def build_floor(out_dir, cc):
    """Assemble and link the floor image into out_dir; returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    elf = os.path.join(out_dir, "floor-%s.elf" % BOARD)
    if os.path.exists(elf) and os.path.getmtime(elf) >= os.path.getmtime(FLOOR_SRC):
        return elf
    # -N: no ELF headers in the loaded segment, which starts at LOAD_ADDR.
    cmd = [cc] + FLOORS[BOARD][2] + ["-nostdlib", "-no-pie", "-nostartfiles", "-static", "-Wl,-N",
           "-Wl,-Ttext=" + LOAD_ADDR, "-Wl,-e,_start", "-Wl,--build-id=none",
           "-o", elf, FLOOR_SRC]
    subprocess.run(cmd, check=True, timeout=60)
    return elf


def cpu_ms(pid):
    """CPU time all of a process's threads have had so far, in ms (schedstat:
    nanosecond resolution, unlike the clock ticks of /proc/PID/stat)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass  # the thread has just ended
    except OSError:
        return None
    return total / 1e6


def boot_once(image, timeout, cmd=None):
    """(wall, cpu): milliseconds from just before QEMU starts to PROMPT on its
    serial, and the CPU time QEMU had used by then. cmd is the QEMU argv
    (default boot_command(image)); it must put the serial on stdio."""
    cmd = cmd or boot_command(image)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        fd = proc.stdout.fileno()
        seen = b""
        deadline = t0 + timeout
        while PROMPT not in seen:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RuntimeError("%s: no prompt within %ss; got %r" % (image, timeout, seen[-200:]))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    err = proc.stderr.read1(2000) if proc.poll() is not None else b""
                    raise RuntimeError("%s: QEMU exited (%s) before the prompt: %r %r"
                                       % (image, proc.returncode, seen[-200:], err))
                seen = seen[-len(PROMPT):] + chunk
        wall = (time.perf_counter() - t0) * 1000.0
        return wall, cpu_ms(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()


def summary(samples):
    return {
        "median_ms": round(statistics.median(samples), 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
        "runs_ms": [round(s, 2) for s in samples],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", required=True, help="firmware ELF to boot")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--runs", type=int, default=31, help="measured boots of each image (>= 10)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per boot")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "bench"),
                    help="where the floor image is built")
    ap.add_argument("--cc", default=FLOORS[BOARD][1])
    ap.add_argument("--max-ratio", type=float,
                    help="exit with status 1 if the ratio of medians exceeds this")
    args = ap.parse_args()

    if args.runs < 10:
        ap.error("--runs must be at least 10")
    if not os.path.exists(args.firmware):
        ap.error("no firmware at %s" % args.firmware)
    try:
        qemu = virtmp.find_qemu(BOARD)
    except virtmp.SetupError as e:
        ap.error(str(e))

    floor = build_floor(args.build_dir, args.cc)
    images = {"firmware": os.path.abspath(args.firmware), "floor": floor}
    # The same arguments for both but the image, built once (not timed).
    cmds = {name: boot_command(image) for name, image in images.items()}

    # One unmeasured boot each warms the page cache; then alternate the two
    # so that any drift in the host's load affects both alike.
    for name, image in images.items():
        boot_once(image, args.timeout, cmds[name])
    samples = {name: [] for name in images}
    cpu = {name: [] for name in images}
    for _ in range(args.runs):
        for name, image in images.items():
            wall, used = boot_once(image, args.timeout, cmds[name])
            samples[name].append(wall)
            if used is not None:
                cpu[name].append(used)

    fw, fl = summary(samples["firmware"]), summary(samples["floor"])
    # CPU time is less disturbed than wall time by other jobs on the host.
    for s, name in ((fw, "firmware"), (fl, "floor")):
        s["cpu_median_ms"] = round(statistics.median(cpu[name]), 2) if cpu[name] else None
    ratio = fw["median_ms"] / fl["median_ms"]
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.splitlines()[0]
    result = {
        "metric": "ms from QEMU process start to the first %r on the serial" % PROMPT.decode(),
        "runs": args.runs,
        "qemu": version,
        "qemu_args": qemu_args(cmds["firmware"]),
        "firmware": dict(path=images["firmware"], **fw),
        "floor": dict(path=floor, **fl),
        "ratio": round(ratio, 3),
        "cpu_ratio": (round(fw["cpu_median_ms"] / fl["cpu_median_ms"], 3)
                      if fw["cpu_median_ms"] and fl["cpu_median_ms"] else None),
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
    }

    print("boot to first prompt, %d runs each (%s)" % (args.runs, version))
    for name, s in (("firmware", fw), ("floor", fl)):
        print("  %-8s median %7.1f ms   min %7.1f   max %7.1f   (QEMU CPU time: median %.1f ms)"
              % (name, s["median_ms"], s["min_ms"], s["max_ms"], s["cpu_median_ms"] or 0))
    print("  ratio    %.3f (target <= %.1f: %s); of CPU times %s"
          % (ratio, TARGET_RATIO, "met" if ratio <= TARGET_RATIO else "NOT met", result["cpu_ratio"]))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print("  written to %s" % args.json)
    if args.max_ratio is not None and ratio > args.max_ratio:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
