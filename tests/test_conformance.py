"""MicroPython's own test suite (tests/run-tests.py) against the firmware.

run-tests.py boots the firmware in QEMU (its `execpty:` target: QEMU prints
the serial pty, run-tests talks raw REPL over it) and runs every test of the
directories below, comparing output with CPython's or with the .exp files.

Each part is one pytest test:

  bytecode    the test directories, compiled on the board
  via-mpy     the same, compiled to .mpy with mpy-cross first
  native      the same, via .mpy with the native emitter (Thumb-2, RV32)
  small-heap  the tests that fill the whole heap, on a 16 MiB guest
  small-heap-native  the same, via .mpy with the native emitter

A part fails if run-tests.py reports a failure that tests/conformance_skip.txt
does not list, or if run-tests.py itself does not finish. Counts are printed
and saved in build/conformance.json; failed tests' .exp/.out files are in
build/conformance/<part>/.

By default all parts but via-mpy run; CONFORMANCE_PARTS=all runs every part,
CONFORMANCE_PARTS=bytecode,via-mpy (say) only those.
"""

import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
import virtmp

from support import BOARD, FIRMWARE, ROOT

# Under pytest-xdist each part is a group of its own, so the long parts run
# on different workers; they merge their records into build/conformance.json
# under a lock (_save), by the run they belong to.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex

MICROPY_TOP = os.environ.get("MICROPY_TOP") or os.path.join(ROOT, "deps", "micropython")
TESTS_DIR = os.path.join(MICROPY_TOP, "tests")
MPY_CROSS = os.environ.get("MICROPY_MPYCROSS") or os.path.join(
    MICROPY_TOP, "mpy-cross", "build", "mpy-cross"
)
SKIP_LIST = os.path.join(ROOT, "tests", "conformance_skip.txt")
RESULTS_DIR = os.path.join(ROOT, "build", "conformance")
RESULTS_JSON = os.path.join(ROOT, "build", "conformance.json")

# What applies to a bare-metal board with no filesystem and no threads.
# Not run: thread (no _thread), cmdline and ports/unix (unix port only),
# net_* and multi_* (need peers or the internet), extmod_hardware (needs
# wired-up peripherals), perf_bench and internal_bench (benchmarks).
TEST_DIRS = [
    "basics",
    "micropython",
    "misc",
    "extmod",
    "float",
    "stress",
    "import",
    "io",
    "unicode",
]
# The inline assembler's tests for the board's CPU, where it has one.
INLINEASM_DIR = {"VIRT_ARM": "inlineasm/thumb", "VIRT_RV32": "inlineasm/rv32"}.get(BOARD)
TEST_DIRS += [INLINEASM_DIR] if INLINEASM_DIR else []

# Tests that fill the whole heap: with 128 MiB that takes longer than
# run-tests.py's fixed 10 s per test, so they run on a smaller guest.
SMALL_HEAP_TESTS = ["basics/memoryerror.py", "micropython/extreme_exc.py"]

# name: (run-tests.py arguments, guest RAM, what to run, timeout in seconds).
# Timeouts: bytecode took 160-350 s and native 230-380 s on a busy 2-core machine.
PARTS = {
    "bytecode": ([], "128M", TEST_DIRS, 900),
    "via-mpy": (["--via-mpy"], "128M", TEST_DIRS, 900),
    "native": (["--via-mpy", "--emit", "native"], "128M", TEST_DIRS, 900),
    "small-heap": ([], "16M", SMALL_HEAP_TESTS, 120),
    "small-heap-native": (["--via-mpy", "--emit", "native"], "16M", SMALL_HEAP_TESTS, 120),
}

# Run by default: ~7 min on a 2-core machine. via-mpy (~3.5 min more) checks
# mpy-cross and the .mpy loader with bytecode, which the native parts also
# load; CONFORMANCE_PARTS=all adds it.
DEFAULT_PARTS = ["bytecode", "native", "small-heap", "small-heap-native"]
SELECTED = [p.strip() for p in os.environ.get("CONFORMANCE_PARTS", ",".join(DEFAULT_PARTS)).split(",")]
SELECTED = list(PARTS) if "all" in SELECTED else [p for p in SELECTED if p]

RESULT_LINE = re.compile(r"^(pass|FAIL|skip)  (\S+)")


def read_skip_list(path=SKIP_LIST):
    """{part or None (all parts): {test: reason}} from the skip list.

    Each entry is `[part,part] dir/test.py  # reason`; the [parts] prefix is
    optional (no prefix: every part), part@BOARD limits a part to one board,
    and the reason is required.
    """
    skips = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            entry, _, reason = line.partition("#")
            entry, reason = entry.strip(), reason.strip()
            if not entry:
                continue
            parts = [None]
            m = re.match(r"\[([\w,@-]+)\]\s*(.*)", entry)
            if m:
                parts = m.group(1).split(",")
                entry = m.group(2)
            if not reason or " " in entry or not entry.endswith(".py"):
                raise ValueError("%s:%d: want `[parts] dir/test.py  # reason`" % (path, n))
            for part in parts:
                board = None
                if part is not None:
                    part, _, board = part.partition("@")
                    if part not in PARTS:
                        raise ValueError("%s:%d: no part %r" % (path, n, part))
                    if board and board not in virtmp.BOARDS:
                        raise ValueError("%s:%d: no board %r" % (path, n, board))
                if board and board != BOARD:
                    continue
                skips.setdefault(part, {})[entry] = reason
    return skips


def skips_for(part):
    """{test: reason} of the skip-list entries that apply to part's tests."""
    skips = read_skip_list()
    out = dict(skips.get(None, {}))
    out.update(skips.get(part, {}))
    what = PARTS[part][2]
    if what is TEST_DIRS:
        return {t: r for t, r in out.items() if os.path.dirname(t) in what}
    return {t: r for t, r in out.items() if t in what}


def _pids_with(token):
    """Processes whose command line holds token (only QEMUs we started have it)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if token.encode() in argv:
            pids.append(int(name))
    return pids


def _kill_tagged(token):
    """End every QEMU started with token; bounded in time."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        pids = _pids_with(token)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _pids_with(token):
            time.sleep(0.05)


_snapshot = []


def firmware_snapshot():
    """A copy of the firmware taken once per session, so every part tests the
    same image even if the firmware is rebuilt meanwhile."""
    if not _snapshot:
        os.makedirs(RESULTS_DIR, exist_ok=True)
        path = os.path.join(RESULTS_DIR, "firmware.elf")
        tmp = "%s.%d.tmp" % (path, os.getpid())  # another worker may be copying too
        shutil.copyfile(FIRMWARE, tmp)
        os.replace(tmp, path)
        _snapshot.append(path)
    return _snapshot[0]


# The files the import, io and unicode tests import or open next to
# themselves: run-tests.py runs each test in the guest's working directory,
# /, so they go at the top of a littlefs2 disk (import/'s modules and
# packages, io/data and unicode/data as /data), as a board's filesystem
# would hold them after `mpremote cp`.
FS_TEST_FILES = [("import", ""), ("io/data", "data"), ("unicode/data", "data")]


def files_disk(result_dir):
    """A fresh disk image with FS_TEST_FILES for one part's guest."""
    stage = os.path.join(result_dir, "fs")
    shutil.rmtree(stage, ignore_errors=True)
    for src, dest in FS_TEST_FILES:
        shutil.copytree(os.path.join(TESTS_DIR, src), os.path.join(stage, dest), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.exp", "*.out"))
    return virtmp.make_image(os.path.join(result_dir, "disk.img"), "4M", source=stage, fs="lfs2")


def qemu_command(mem, token, disk=None):
    """virtmp's QEMU command line for a guest without a NIC, as one string
    for run-tests.py's execpty target (QEMU prints its serial pty)."""
    firmware = firmware_snapshot()
    guest = virtmp.Guest(board=BOARD, firmware=firmware, mem=mem, net=None, semihosting=True,
                         qemu_args=["-name", token], disk=disk)
    cmd = guest.command(serial="pty")
    if " " in guest.firmware:  # run-tests.py splits the command on spaces
        cmd[cmd.index(guest.firmware)] = os.path.relpath(guest.firmware, TESTS_DIR)
    bad = [a for a in cmd if " " in a]
    assert not bad, "no QEMU argument may contain a space (run-tests.py splits on them): %s" % bad
    return " ".join(cmd)


def run_tests(part, retry=False, timeout=None):
    """Run run-tests.py for one part; returns (results, log text, seconds, return code).

    retry=True re-runs only the tests that failed in the previous run (its
    --run-failures, from the _results.json in the part's result directory).
    """
    args, mem, what, part_timeout = PARTS[part]
    result_dir = os.path.join(RESULTS_DIR, part)
    if not retry:
        shutil.rmtree(result_dir, ignore_errors=True)
        os.makedirs(result_dir)
    token = "conformance-%s-%s" % (part, uuid.uuid4().hex[:12])
    disk = files_disk(result_dir)
    cmd = [sys.executable, "run-tests.py", "-t", "execpty:" + qemu_command(mem, token, disk), "-r", result_dir]
    cmd += args
    for test in sorted(skips_for(part)):
        cmd += ["-e", "^%s$" % re.escape(test)]
    if retry:
        cmd += ["--run-failures"]
    elif what is TEST_DIRS:
        cmd += ["-d"] + what
    else:
        cmd += what
    env = dict(os.environ, MICROPY_MPYCROSS=MPY_CROSS)
    log_path = os.path.join(result_dir, "run-tests-retry.log" if retry else "run-tests.log")
    timeout = timeout or part_timeout
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=TESTS_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            rc = None
        finally:
            # run-tests.py closes QEMU itself, but not if it crashes or is
            # killed (QEMU runs in a session of its own).
            _kill_tagged(token)
    seconds = time.monotonic() - start
    with open(log_path, "rb") as f:
        text = f.read().decode(errors="replace")
    results = {"pass": [], "FAIL": [], "skip": []}
    for line in text.splitlines():
        m = RESULT_LINE.match(line)
        if m:
            results[m.group(1)].append(m.group(2))
    return results, text, seconds, rc


def _diff(result_dir, test):
    base = os.path.join(result_dir, test.replace("/", "_"))
    try:
        with open(base + ".out", errors="replace") as f:
            out = f.readlines()
    except OSError:
        return ""
    if not os.path.exists(base + ".exp"):
        return "".join(out[-20:])
    with open(base + ".exp", errors="replace") as f:
        exp = f.readlines()
    return "".join(list(difflib.unified_diff(exp, out, "expected", "firmware", n=1))[:30])


def _save(part, record):
    """Merge part's record into build/conformance.json: this run's parts so
    far (a file from another run, or another firmware, is started afresh)."""
    import fcntl
    import hashlib

    with open(firmware_snapshot(), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    os.makedirs(os.path.dirname(RESULTS_JSON), exist_ok=True)
    with open(RESULTS_JSON + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(RESULTS_JSON) as f:
                session = json.load(f)
        except (OSError, ValueError):
            session = {}
        if session.get("run") != RUN_ID or session.get("firmware_sha256") != digest:
            session = {"run": RUN_ID, "firmware": os.path.abspath(FIRMWARE), "firmware_sha256": digest,
                       "parts": {}}
        session["parts"][part] = record
        totals = {"passed": 0, "failed": 0, "skipped": 0, "excluded": 0, "seconds": 0.0}
        for rec in session["parts"].values():
            for key in totals:
                totals[key] += rec[key]
        totals["seconds"] = round(totals["seconds"], 1)
        session["total"] = totals
        with open(RESULTS_JSON + ".tmp", "w") as f:
            json.dump(session, f, indent=1, sort_keys=True)
        os.replace(RESULTS_JSON + ".tmp", RESULTS_JSON)


def test_skip_list_names_real_tests():
    for part, entries in read_skip_list().items():
        for test in entries:
            assert os.path.isfile(os.path.join(TESTS_DIR, test)), "skip list: no test %s" % test


@pytest.mark.parametrize("part", [pytest.param(p, marks=pytest.mark.xdist_group("conformance-" + p)) for p in PARTS])
def test_conformance(part, capsys):
    if part not in SELECTED:
        pytest.skip("not selected (CONFORMANCE_PARTS=%s)" % ",".join(SELECTED))
    if not os.path.isfile(os.path.join(TESTS_DIR, "run-tests.py")):
        pytest.fail("no MicroPython tests at %s (set MICROPY_TOP)" % TESTS_DIR)
    if "--via-mpy" in PARTS[part][0] and not os.access(MPY_CROSS, os.X_OK):
        pytest.fail("no mpy-cross at %s (building the firmware builds it)" % MPY_CROSS)

    results, log, seconds, rc = run_tests(part)
    finished = rc is not None and re.search(r"^\d+ tests performed", log, re.M) is not None
    failed = results["FAIL"]
    flaky = []
    if finished and failed and len(failed) <= 30:
        # Under load a slow test can overrun run-tests.py's fixed 10 s and
        # upset the next one: run the failed ones once more, and say so.
        again, log2, seconds2, rc2 = run_tests(part, retry=True, timeout=120 + 30 * len(failed))
        seconds += seconds2
        if rc2 is not None and re.search(r"^\d+ tests performed", log2, re.M):
            flaky = [t for t in failed if t in again["pass"]]
            results["pass"] += flaky
            failed = again["FAIL"] + [t for t in failed if t not in again["pass"] + again["FAIL"]]
    excluded = len(skips_for(part))
    record = {
        "passed": len(results["pass"]),
        "failed": len(failed),
        "skipped": len(results["skip"]),
        "excluded": excluded,
        "seconds": round(seconds, 1),
        "failures": failed,
        "passed_on_retry": flaky,
        "finished": finished,
    }
    _save(part, record)
    with capsys.disabled():
        print(
            "\nconformance %-10s passed %d, failed %d, skipped %d (by the test or run-tests.py), "
            "excluded %d (skip list) in %.0f s"
            % (part, record["passed"], len(failed), record["skipped"], excluded, seconds)
        )
        if flaky:
            print("conformance %-10s passed only when re-run: %s" % (part, " ".join(flaky)))

    result_dir = os.path.join(RESULTS_DIR, part)
    if rc is None:
        pytest.fail("run-tests.py timed out after %d s; log tail:\n%s" % (PARTS[part][3], log[-3000:]))
    if failed:
        details = "\n".join("--- %s\n%s" % (t, _diff(result_dir, t)) for t in failed[:15])
        pytest.fail(
            "%d tests failed that tests/conformance_skip.txt does not list (results in %s):\n%s"
            % (len(failed), result_dir, details)
        )
    if not finished:
        pytest.fail(
            "run-tests.py did not finish (exit %s): the test after the last result "
            "line probably ended QEMU; log tail:\n%s" % (rc, log[-3000:])
        )
