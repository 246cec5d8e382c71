"""virtmp's throughput: guests booted and a trivial test run per minute.

`virtmp test` runs N one-line test files, each in a fresh guest (boot to the
prompt, slirp NIC with DHCP, the file sent by raw-paste, the result read,
QEMU killed), with -j 1 and -j 2 in the same run, alternating. Figures on
stdout and in --json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run(files, jobs, firmware):
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "virtmp", "test", "-j", str(jobs), "--firmware", firmware] + files,
                       capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - t0
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    if r.returncode != 0 or last != "%d passed, 0 failed" % len(files):
        raise SystemExit("virtmp test -j %d failed (%d): %s%s" % (jobs, r.returncode, r.stdout[-2000:], r.stderr))
    return wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firmware", required=True)
    ap.add_argument("--json")
    ap.add_argument("--files", type=int, default=24, help="test files per run")
    ap.add_argument("--rounds", type=int, default=3, help="runs per -j value")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-virtmp-") as d:
        files = []
        for i in range(a.files):
            path = os.path.join(d, "test_%02d.py" % i)
            with open(path, "w") as f:
                f.write("assert sum(range(10)) == 45\nprint('test %d')\n" % i)
            files.append(path)
        walls = {1: [], 2: []}
        for _ in range(a.rounds):
            for jobs in (1, 2):
                walls[jobs].append(run(files, jobs, a.firmware))
    per_min = {j: [round(a.files / w * 60, 1) for w in ws] for j, ws in walls.items()}
    best = {j: max(v) for j, v in per_min.items()}
    median = {j: sorted(v)[len(v) // 2] for j, v in per_min.items()}
    print("virtmp test: %d trivial test files, each in a fresh guest; %d rounds" % (a.files, a.rounds))
    for j in (1, 2):
        print("  -j %d: %6.1f guests+tests per minute (median; runs: %s)" % (
            j, median[j], ", ".join("%.1f" % x for x in per_min[j])))
    print("  -j 2 / -j 1: %.2f" % (median[2] / median[1]))
    result = {"metric": "guests booted and a trivial test run per minute (virtmp test)",
              "files": a.files, "rounds": a.rounds, "per_minute": per_min, "median": median,
              "ratio_j2_j1": round(median[2] / median[1], 2), "cores": os.cpu_count(),
              "loadavg_after": os.getloadavg()}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
