#!/usr/bin/env python3
"""Serial console benchmark: what every virtmp call and mpremote command rides on.

Three figures on a guest without a NIC: host-to-guest bytes per second (the
guest reads 64 KiB from sys.stdin), a 20 KB script sent by raw-paste and run,
and the round trip of exec("1") (median of 50). --baseline OTHER.elf measures
a second firmware in the same run, alternating, for an A/B.

    tests/bench_serial.py --firmware build/VIRT_RV64/firmware.elf --json build/bench_serial.json
"""

import argparse
import os
import statistics
import sys
import time

import virtmp

from support import BOARD, write_json

RX_BYTES = 64 * 1024
PASTE_BYTES = 20000
ROUND_TRIPS = 50


def measure(firmware):
    with virtmp.Guest(board=BOARD, firmware=firmware, net=None) as g:
        g.start()
        g.exec("import sys, time")
        g.exec_start("t = time.ticks_us(); n = len(sys.stdin.buffer.read(%d)); "
                     "print(n, time.ticks_diff(time.ticks_us(), t))" % RX_BYTES)
        g.write(b"a" * RX_BYTES)
        n, us = (int(v) for v in g.exec_finish().split())
        if n != RX_BYTES:
            raise SystemExit("bench_serial: the guest read %d of %d bytes" % (n, RX_BYTES))
        script = "x = b'" + "a" * PASTE_BYTES + "'\nprint(len(x))"
        t = time.monotonic()
        if g.exec(script).strip() != str(PASTE_BYTES):
            raise SystemExit("bench_serial: the pasted script gave the wrong length")
        paste_ms = 1000 * (time.monotonic() - t)
        trips = []
        for _ in range(ROUND_TRIPS):
            t = time.monotonic()
            g.exec("1")
            trips.append(1000 * (time.monotonic() - t))
    return {"rx_kbytes_per_s": RX_BYTES / us * 1e6 / 1024, "paste_20k_ms": paste_ms,
            "exec_round_trip_ms": statistics.median(trips)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", required=True)
    ap.add_argument("--baseline")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    images = {"firmware": args.firmware}
    if args.baseline:
        images["baseline"] = args.baseline
    runs = {k: [] for k in images}
    for _ in range(args.rounds):
        for name, path in images.items():
            runs[name].append(measure(path))
    result = {"board": BOARD, "rounds": args.rounds}
    print("serial console on %s (median of %d boots)" % (BOARD, args.rounds))
    for name, path in images.items():
        med = {k: statistics.median(r[k] for r in runs[name]) for k in runs[name][0]}
        result[name] = dict(med, path=path)
        print("  %-9s host->guest %7.1f KiB/s, 20 KB raw-paste %7.1f ms, exec round trip %5.2f ms  (%s)"
              % (name, med["rx_kbytes_per_s"], med["paste_20k_ms"], med["exec_round_trip_ms"], path))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
