#!/usr/bin/env python3
"""Receive flood benchmark: how much a Python loop in the guest gets done
while frames pour in, against the same loop on a quiet link.

The guest's NIC is a tap device in a network namespace this script makes
(virtmp.TapNamespace: needs root and iproute2; no other network). The guest
counts loop iterations for one second, once on a quiet link and once while
a sender in the namespace writes frames to its MAC through an AF_PACKET
socket as fast as it can (an EtherType nobody handles, so lwIP drops each
after the driver, the poll and ethernet_input have run). The tap's queue
lets QEMU hand the guest frames in bursts that fill its receive ring, which
a datagram link (one frame at a time) never does. Reported: both
counts, their ratio (progress during the flood, higher is better), frames
the guest took in that second, and how often a poll stopped at the receive
budget. With --firmware given twice, both firmwares are measured in turn,
alternating, in one run (A/B).

    tests/bench_flood.py --firmware build/VIRT_ARM/firmware.elf --json build/bench_flood.json
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import virtmp  # noqa: E402

from support import BOARD  # noqa: E402

MAC = "52:54:00:12:34:56"
SPIN_MS = 1000
FRAME_LEN = int(os.environ.get("FLOOD_FRAME", "60"))
FRAME = bytes.fromhex(MAC.replace(":", "")) + bytes.fromhex("02aabbccddee") + b"\x88\xb5" + bytes(FRAME_LEN - 14)

SPIN = """
import time, _virt as virt
def _spin(ms):
    n = 0
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms:
        n += 1
    return n
def _flood_round(ms):
    a = virt.net_info()
    n = _spin(ms)
    b = virt.net_info()
    print(n, b['rx_packets'] - a['rx_packets'], b.get('rx_budget_hits', 0) - a.get('rx_budget_hits', 0))
"""


# The sender, run inside the namespace: frames onto the tap for `seconds`.
SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = bytes.fromhex(sys.argv[2])
end = time.monotonic() + float(sys.argv[3])
n = 0
while time.monotonic() < end:
    try:
        s.send(frame)
        n += 1
    except OSError:
        pass
print(n)
"""


def _round(g, ns, flood):
    sender = None
    if flood:
        sender = subprocess.Popen(ns.exec_cmd(sys.executable, "-c", SENDER, ns.tap, FRAME.hex(),
                                              str(SPIN_MS / 1000 + 1.0)),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # the flood is under way before the loop starts
    try:
        out = g.exec("_flood_round(%d)" % SPIN_MS, timeout=30)
    finally:
        if sender is not None:
            try:
                sender.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                sender.kill()
                sender.communicate()
    n, frames, hits = (int(x) for x in out.split())
    return n, frames, hits


def measure(firmware, rounds):
    quiet, flooded, frames, hits = [], [], [], []
    with virtmp.TapNamespace(host_addr="192.168.77.1/24") as ns:
        with virtmp.Guest(board=BOARD, firmware=firmware, net=ns.nic(",mac=" + MAC)) as g:
            g.exec(SPIN, timeout=30)
            for _ in range(rounds):
                quiet.append(_round(g, ns, False)[0])
                n, f, h = _round(g, ns, True)
                flooded.append(n)
                frames.append(f)
                hits.append(h)
    q, fl = statistics.median(quiet), statistics.median(flooded)
    return {"quiet_loops_per_s": q, "flood_loops_per_s": fl, "progress_ratio": round(fl / q, 3),
            "frames_per_s": statistics.median(frames), "budget_hits_per_s": statistics.median(hits),
            "rounds": rounds}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--firmware", action="append", required=True, help="once, or twice for an A/B run")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    firmwares = [os.path.abspath(f) for f in args.firmware]
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("receive flood benchmark: skipped (needs root and iproute2 for a tap in a namespace)")
        return 0
    print("receive flood benchmark: host %d CPUs, load %.1f, %d rounds of %d ms"
          % (os.cpu_count(), os.getloadavg()[0], args.rounds, SPIN_MS))
    result = {"spin_ms": SPIN_MS, "firmwares": {}}
    runs = {f: [] for f in firmwares}
    for _ in range(2 if len(firmwares) > 1 else 1):  # alternate A, B, A, B
        for f in firmwares:
            runs[f].append(measure(f, args.rounds))
    for f in firmwares:
        fig = runs[f][-1] if len(runs[f]) == 1 else {
            k: statistics.median(r[k] for r in runs[f]) for k in runs[f][0]}
        result["firmwares"][f] = fig
        print("  %s: quiet %d loops/s, flooded %d loops/s (%.2f of quiet), %d frames/s taken, %d budget stops/s"
              % (os.path.relpath(f), fig["quiet_loops_per_s"], fig["flood_loops_per_s"], fig["progress_ratio"],
                 fig["frames_per_s"], fig["budget_hits_per_s"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
