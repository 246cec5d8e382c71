#!/usr/bin/env python3
"""CPU benchmark: MicroPython's perf_bench, bytecode against native code.

Runs MicroPython's tests/run-perfbench.py against the firmware (its pyboard
target over QEMU's serial pty, as tests/test_conformance.py runs
run-tests.py): each benchmark compiled on the board to bytecode, and compiled
by mpy-cross with the native emitter, on boards that have one (VIRT_ARM:
Thumb-2, VIRT_RV32: RV32IMC). The viper_call benchmarks need an emitter and
run in both parts (mpy-cross compiles their @micropython.viper functions to
machine code either way). Scores are run-perfbench's (higher is faster); the
ratio is native over bytecode, target >= 2 on pystone. Boards without an
emitter (VIRT_AARCH64, VIRT_RV64) run the bytecode part alone, without the
viper benchmarks.

--baseline OTHER.elf runs the same on a second firmware in the same session,
alternating with the first, for an A/B of a change.

    tests/bench_perf.py --firmware build/VIRT_RV32/firmware.elf --json build/bench_perf.json
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import uuid

import virtmp

from support import BOARD, ROOT, write_json

MICROPY_TOP = os.environ.get("MICROPY_TOP") or os.path.join(ROOT, "deps", "micropython")
TESTS_DIR = os.path.join(MICROPY_TOP, "tests")
MPY_CROSS = os.environ.get("MICROPY_MPYCROSS") or os.path.join(MICROPY_TOP, "mpy-cross", "build", "mpy-cross")
# mpy-cross's -march for the boards with a native emitter.
MARCH = {"VIRT_ARM": "armv7m", "VIRT_RV32": "rv32imc"}
BENCHES = ["misc_pystone.py", "bm_nqueens.py", "misc_mandel.py", "bm_fannkuch.py", "viper_call1a.py", "viper_call2a.py"]
TARGET_PYSTONE_RATIO = 2.0
# run-perfbench's N (~MHz) and M (~heap KiB): parameters sized so each run
# takes 0.1 to 1 s under QEMU.
PARAM_N, PARAM_M = 1000, 1000
RESULT = re.compile(r"^perf_bench/(\S+): ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$")


def qemu_command(firmware, token):
    guest = virtmp.Guest(board=BOARD, firmware=firmware, mem="128M", net=None, semihosting=False,
                         qemu_args=["-name", token])
    cmd = guest.command(serial="pty")
    bad = [a for a in cmd if " " in a]
    if bad:
        sys.exit("bench_perf: no QEMU argument may contain a space (run-perfbench splits on them): %s" % bad)
    return " ".join(cmd)


def kill_tagged(token):
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    if token.encode() in f.read().split(b"\0"):
                        os.kill(int(name), 9)
            except OSError:
                pass


def benches():
    return BENCHES if BOARD in MARCH else [b for b in BENCHES if not b.startswith("viper")]


def emitters():
    return ("bytecode", "native") if BOARD in MARCH else ("bytecode",)


def run_perfbench(firmware, emit, average, timeout):
    """{bench: score} of one run-perfbench session (one guest boot)."""
    token = "bench-perf-%s" % uuid.uuid4().hex[:12]
    cmd = [sys.executable, "run-perfbench.py", "-p", "-d", "execpty:" + qemu_command(firmware, token), "-a", str(average)]
    if emit == "native":
        cmd += ["--via-mpy", "--emit", "native"]
    if BOARD in MARCH:
        cmd += ["--mpy-cross-flags=-march=" + MARCH[BOARD]]
    cmd += [str(PARAM_N), str(PARAM_M)]
    cmd += ["perf_bench/" + b for b in benches()]
    env = dict(os.environ, MICROPY_MPYCROSS=MPY_CROSS)
    try:
        out = subprocess.run(cmd, cwd=TESTS_DIR, env=env, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        out = ""
    finally:
        kill_tagged(token)
    scores = {}
    for line in out.splitlines():
        m = RESULT.match(line.strip())
        if m:
            scores[m.group(1)] = float(m.group(4))
        elif line.startswith("perf_bench/"):
            print("  %s %s: %s" % (os.path.basename(firmware), emit, line.strip()))
    return scores


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", required=True)
    ap.add_argument("--baseline", help="a second firmware to measure alongside (A/B)")
    ap.add_argument("--json")
    ap.add_argument("--average", type=int, default=5, help="runs of each benchmark per session")
    ap.add_argument("--rounds", type=int, default=1, help="sessions of each firmware and emitter (median taken)")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    images = {"firmware": args.firmware}
    if args.baseline:
        images["baseline"] = args.baseline
    runs = {(i, e): [] for i in images for e in ("bytecode", "native")}
    for _ in range(args.rounds):
        for image in images:
            for emit in emitters():
                runs[(image, emit)].append(run_perfbench(images[image], emit, args.average, args.timeout))

    result = {"board": BOARD, "benchmarks": benches(), "emitters": list(emitters()), "average": args.average, "rounds": args.rounds,
              "N": PARAM_N, "M": PARAM_M}
    print("perf_bench on %s (run-perfbench scores, higher is faster; median of %d session(s) of %d runs)"
          % (BOARD, args.rounds, args.average))
    for image, path in images.items():
        table = {}
        print("  %s: %s" % (image, path))
        print("    %-18s %12s %12s %8s" % ("benchmark", "bytecode", "native", "ratio"))
        for bench in benches():
            name = bench[:-3]
            med = {}
            for emit in ("bytecode", "native"):
                got = [r[bench] for r in runs[(image, emit)] if bench in r]
                med[emit] = statistics.median(got) if got else None
            ratio = med["native"] / med["bytecode"] if med["native"] and med["bytecode"] else None
            table[name] = {"bytecode": med["bytecode"], "native": med["native"], "ratio": ratio}
            fmt = lambda v: "%12.2f" % v if v is not None else "%12s" % "-"
            print("    %-18s %s %s %8s" % (name, fmt(med["bytecode"]), fmt(med["native"]),
                                         "%.2fx" % ratio if ratio else "-"))
        result[image] = {"path": path, "scores": table}
    if args.baseline:
        print("  firmware / baseline (same emitter):")
        for bench in benches():
            name = bench[:-3]
            cells = []
            for emit in emitters():
                a, b = result["firmware"]["scores"][name][emit], result["baseline"]["scores"][name][emit]
                cells.append("%s %s" % (emit, "%.2fx" % (a / b) if a and b else "-"))
            print("    %-18s %s" % (name, ", ".join(cells)))
    pystone = result["firmware"]["scores"]["misc_pystone"]["ratio"]
    result["pystone_native_ratio"] = pystone
    result["target_pystone_ratio"] = TARGET_PYSTONE_RATIO
    if BOARD not in MARCH:
        print("  pystone native/bytecode: - (MicroPython has no native emitter for %s)" % BOARD)
    else:
        print("  pystone native/bytecode %s (target >= %.1fx): %s"
              % ("%.2fx" % pystone if pystone else "-", TARGET_PYSTONE_RATIO,
                 "met" if pystone and pystone >= TARGET_PYSTONE_RATIO else "NOT met"))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
