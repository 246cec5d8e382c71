"""MicroPython's own network tests, from its source tree, against the firmware.

  multi_net    run-multitests.py with two guests, each a pyboard on its serial
               pty, joined by one virtual Ethernet segment (virtmp.Segment: a
               hub over unix datagram sockets, in this process). The guests have the
               static addresses 10.0.3.1/24 and 10.0.3.2/24, which exist only
               on that segment. Tests without a .exp file get their expected
               output from two host CPython instances, confined to 127.0.0.1.
  net_hosted   run-tests.py with an execpty target: QEMU with a slirp NIC
               (restrict=on: nothing leaves QEMU). Tests that need the
               internet are never run (see mp_net_skip.txt).
  net_inet     all of it needs the internet: listed as skipped, never run.

Both virtio-mmio transports. Every guest is a virtmp.Guest (net_hosted's is
virtmp's command line, started by run-tests.py). Every runner is a subprocess
in its own process group with a deadline; every QEMU is killed afterwards.

Run as a script, this file is the multitest driver the pytest starts:
  python test_mp_net.py multitest PTY0 PTY1 TEST...
"""

import difflib
import fnmatch
import glob
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS_DIR)
MICROPY_TOP = os.environ.get("MICROPY_TOP", os.path.join(ROOT, "deps", "micropython"))
MPY_TESTS = os.path.join(MICROPY_TOP, "tests")
SKIP_FILE = os.path.join(TESTS_DIR, "mp_net_skip.txt")

# The two guests on the private segment: (address/prefix, mac).
SEGMENT = (("10.0.3.1", 24, "52:54:00:00:03:01"), ("10.0.3.2", 24, "52:54:00:00:03:02"))

RUNNER_TIMEOUT = 120  # seconds for one runner (all tests of one suite, one transport)

# Ports the multi_net tests use (8000 + a few); the host CPython instances
# that compute expected output get them remapped to a free range on 127.0.0.1.
TEST_PORT_BASE, TEST_PORT_SPAN = 8000, 10

# Prepended to each host CPython instance's script: every IPv4 address it
# binds, connects or sends to becomes 127.0.0.1, and the tests' fixed ports
# move to a range that was free (no clash with anything else on the host).
TRUTH_PRELUDE = """\
import socket as _socket
def _lo(a, _b=%d, _s=%d, _n=%d):
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], int):
        p = a[1]
        if _s <= p < _s + _n:
            p = _b + p - _s
        a = ("127.0.0.1", p)
    return a
class _LoSocket(_socket.socket):
    def bind(self, a):
        return super().bind(_lo(a))
    def connect(self, a):
        return super().connect(_lo(a))
    def sendto(self, data, *rest):
        return super().sendto(data, *(rest[:-1] + (_lo(rest[-1]),)))
_socket.socket = _LoSocket
"""


# The skip list.


def load_skips():
    """{"skip": [(glob, reason)], "selfskip": [(glob, reason)]} from mp_net_skip.txt."""
    entries = {"skip": [], "selfskip": []}
    with open(SKIP_FILE) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split(None, 2)
            if len(fields) < 3 or fields[0] not in entries:
                raise ValueError("%s:%d: want `skip|selfskip GLOB REASON`" % (SKIP_FILE, n))
            entries[fields[0]].append((fields[1], fields[2]))
    return entries


def match_reason(test, entries):
    """The reason of the first entry whose glob matches test ("suite/name.py"), or None."""
    for pattern, reason in entries:
        if fnmatch.fnmatchcase(test, pattern):
            return reason
    return None


def suite_tests(suite):
    return sorted(
        os.path.relpath(p, MPY_TESTS) for p in glob.glob(os.path.join(MPY_TESTS, suite, "*.py"))
    )


def select_tests(suite):
    """(tests to run, {test not run: reason}) for one suite."""
    skips = load_skips()["skip"]
    run, skipped = [], {}
    for t in suite_tests(suite):
        reason = match_reason(t, skips)
        if reason:
            skipped[t] = reason
        else:
            run.append(t)
    return run, skipped


# Processes: each runner in its own process group, bounded.


def run_bounded(cmd, timeout, cwd=None, env=None):
    """(returncode or None on timeout, combined output) of cmd in its own process group."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        rc = None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
        except ProcessLookupError:
            pass
    return rc, out.decode(errors="replace")


def kill_pidfile_qemu(pidfile):
    """Kill the QEMU that wrote pidfile (run-tests' execpty puts it in a session of its own)."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if pidfile.encode() not in f.read():
                return  # not ours (pid reused)
        os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass
    for _ in range(100):
        if not os.path.exists("/proc/%d" % pid):
            break
        time.sleep(0.05)


def free_port_range(n, attempts=50):
    """A base port b with b..b+n-1 free for TCP and UDP on 127.0.0.1."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(20000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free range of %d ports on 127.0.0.1" % n)


# Parsing the runners' reports.


def parse_results(output, suite):
    """{test: "pass" | "skip" | "FAIL"} from run-tests.py or run-multitests.py output."""
    results = {}
    for line in output.splitlines():
        # run-tests.py: "pass  net_hosted/x.py"; run-multitests.py: "multi_net/x.py on a|b: pass"
        m = re.match(r"^(pass|skip|FAIL)\s+(\S+\.py)", line) or re.match(
            r"^(\S+\.py) on \S+: (pass|skip|FAIL)$", line
        )
        if not m:
            continue
        a, b = m.groups()
        status, path = (a, b) if a in ("pass", "skip", "FAIL") else (b, a)
        results[suite + "/" + os.path.basename(path)] = status
    return results


def report(title, results, skipped, tests):
    """Print counts and details for one runner; returns the counts and the failures."""
    selfskips = load_skips()["selfskip"]
    passed = sorted(t for t in tests if results.get(t) == "pass")
    self_skipped = sorted(t for t in tests if results.get(t) == "skip")
    failed = sorted(t for t in tests if results.get(t) not in ("pass", "skip"))
    counts = dict(passed=len(passed), failed=len(failed), skipped=len(skipped) + len(self_skipped),
                  listed=len(skipped), self=len(self_skipped))
    print("\n%s: %s" % (title, format_counts(counts)))
    for t in passed:
        print("  pass  %s" % t)
    for t in failed:
        print("  FAIL  %s%s" % (t, "" if t in results else " (no result: the runner stopped)"))
    for t in self_skipped:
        reason = match_reason(t, selfskips) or "(no reason in mp_net_skip.txt)"
        print("  skip  %s: printed SKIP: %s" % (t, reason))
    for t, reason in sorted(skipped.items()):
        print("  skip  %s: not run: %s" % (t, reason))
    return counts, failed


def format_counts(c):
    return "%d passed, %d failed, %d skipped (%d not run by the skip list, %d printed SKIP)" % (
        c["passed"], c["failed"], c["skipped"], c["listed"], c["self"])


# multi_net: two guests on a private segment.


def _set_static_address(g, addr, prefix):
    """Make sure the guest has addr; returns addr if the ip= boot argument did not set it."""
    mask = ".".join(str((0xFFFFFFFF << (32 - prefix) >> s) & 0xFF) for s in (24, 16, 8, 0))
    got = g.repl("import network; print(network.LAN().ifconfig()[0])").strip()
    if got == addr:
        return None
    # The boot argument did not take (an _boot.py that uses LAN.ipconfig(addr4=...)
    # gets "invalid address type" from MicroPython 1.25): ifconfig() sets the
    # same fields. They live in the netif, so survive the runners' soft resets.
    g.repl("network.LAN().ifconfig(('%s', '%s', '0.0.0.0', '0.0.0.0'))" % (addr, mask))
    got = g.repl("print(network.LAN().ifconfig()[0])").strip()
    assert got == addr, "could not give the guest %s: %r" % (addr, got)
    return addr


def run_multi_net(transport, make_guest, only=None):
    """make_guest(**options) -> a started virtmp.Guest (the plugin's virt_guest_factory);
    only: run just these tests (a re-run of failures)."""
    import virtmp

    tests, skipped = select_tests("multi_net")
    if only is not None:
        tests = [t for t in tests if t in only]
    if not tests:
        return tests, skipped, 0, "", 0.0, []
    segment = virtmp.Segment()
    guests = []
    fixed = []  # guests whose ip= boot argument did not take
    try:
        for addr, prefix, mac in SEGMENT:
            g = make_guest(transport=transport, net=segment.nic(),
                           append="ip=%s/%d mac=%s" % (addr, prefix, mac))
            guests.append(g)
            if _set_static_address(g, addr, prefix):
                fixed.append(addr)
        # The peers see each other before the tests start: a UDP datagram both ways.
        guests[1].repl(
            "import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "u.bind(('0.0.0.0', 7999)); u.settimeout(5)"
        )
        guests[0].repl(
            "import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5); "
            "u.sendto(b'hello', ('%s', 7999))" % SEGMENT[1][0]
        )
        out = guests[1].repl("d, a = u.recvfrom(16); _ = u.sendto(d, a); print(d, a[0]); u.close()", timeout=10)
        assert out.strip() == "b'hello' %s" % SEGMENT[0][0], out
        out = guests[0].repl("print(u.recv(16)); u.close()", timeout=10)
        assert out.strip() == "b'hello'", out
        # The TLS tests read their certificates and keys from the current
        # directory, as on a board: they go onto the guests' RAM filesystem.
        for g in guests:
            for name in sorted(glob.glob(os.path.join(MPY_TESTS, "multi_net", "*.der"))):
                with open(name, "rb") as f:
                    g.exec("with open(%r, 'wb') as f:\n    f.write(%r)" % (os.path.basename(name), f.read()))
        for g in guests:
            g.detach()  # the runner opens the pty itself
        cmd = [sys.executable, os.path.abspath(__file__), "multitest", guests[0].pty, guests[1].pty]
        cmd += [os.path.join(MPY_TESTS, t) for t in tests]
        t0 = time.monotonic()
        rc, output = run_bounded(cmd, RUNNER_TIMEOUT, cwd=MPY_TESTS)
        elapsed = time.monotonic() - t0
    finally:
        for g in guests:
            g.stop()
        segment.close()
    notes = []
    if fixed:
        notes.append(
            "firmware: the ip=ADDR/PREFIX boot argument did not set %s; set with LAN.ifconfig()"
            % ", ".join(fixed)
        )
    return tests, skipped, rc, output, elapsed, notes


def multitest_main(argv):
    """Driver: run-multitests.py on two pyboard instances (the guests' ptys)."""
    import argparse
    import importlib.util

    ptys, files = argv[:2], argv[2:]
    spec = importlib.util.spec_from_file_location("run_multitests", os.path.join(MPY_TESTS, "run-multitests.py"))
    rmt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rmt)
    # HOST_IP is a fallback the guests never use (they have network.LAN);
    # upstream finds it by routing towards a public address: stay on loopback.
    rmt.get_host_ip = lambda: "127.0.0.1"
    rmt.cmd_args = argparse.Namespace(show_output=False, trace_output=False, permutations=1)

    prelude = TRUTH_PRELUDE % (free_port_range(TEST_PORT_SPAN), TEST_PORT_BASE, TEST_PORT_SPAN)

    class LoopbackTruth(rmt.PyInstanceSubProcess):
        def prepare_script_from_file(self, filename, prepend, append):
            return super().prepare_script_from_file(filename, prelude + prepend, append)

    test_files = rmt.prepare_test_file_list(files)
    n = max(t[1] for t in test_files)
    if n > len(ptys):
        print("a test needs %d instances, only %d guests" % (n, len(ptys)))
        return 1
    truth = [LoopbackTruth([sys.executable]) for _ in range(n)]
    instances = [rmt.PyInstancePyboard(p) for p in ptys]
    try:
        ok = rmt.run_tests(test_files, truth, instances)
    finally:
        for i in truth + instances:
            i.close()
    return 0 if ok else 1


# net_hosted: run-tests.py with an execpty target.


def run_net_hosted(transport, firmware):
    import virtmp

    tests, skipped = select_tests("net_hosted")
    if not tests:  # run-tests.py given no files would run its default suites
        return tests, skipped, 0, "", 0.0
    tmp = tempfile.mkdtemp(prefix="mp-net-hosted-")
    pidfile = os.path.join(tmp, "qemu.pid")
    # virtmp's command line, started by run-tests.py (execpty: it reads the
    # pty QEMU prints); slirp with restrict=on, so nothing leaves QEMU.
    guest = virtmp.Guest(firmware=firmware, mem="128M", transport=transport, net=virtmp.Slirp(restrict=True),
                         qemu_args=["-pidfile", pidfile])
    qemu = guest.command(serial="pty")
    # run-tests splits the command on spaces, so no argument may contain one.
    assert not any(" " in a for a in qemu), "paths with spaces do not survive run-tests' execpty"
    cmd = [sys.executable, "run-tests.py", "-t", "execpty:" + " ".join(qemu), "-r", os.path.join(tmp, "results")]
    cmd += tests
    t0 = time.monotonic()
    try:
        rc, output = run_bounded(cmd, RUNNER_TIMEOUT, cwd=MPY_TESTS)
        elapsed = time.monotonic() - t0
        output += failure_diffs(os.path.join(tmp, "results"))
    finally:
        kill_pidfile_qemu(pidfile)
        shutil.rmtree(tmp, ignore_errors=True)
    return tests, skipped, rc, output, elapsed


def failure_diffs(result_dir):
    """Expected/actual diffs that run-tests.py left in its result directory."""
    text = ""
    for out in sorted(glob.glob(os.path.join(result_dir, "*.out"))):
        exp = out[: -len(".out")] + ".exp"
        with open(out, errors="replace") as f:
            got = f.read().splitlines()
        want = []
        if os.path.exists(exp):
            with open(exp, errors="replace") as f:
                want = f.read().splitlines()
        diff = difflib.unified_diff(want, got, "expected", os.path.basename(out), lineterm="")
        text += "\n" + "\n".join(diff) + "\n"
    return text


# The pytest side.

if __name__ != "__main__":
    import pytest

    from support import FIRMWARE, TRANSPORTS

    SUMMARY = []

    @pytest.fixture(scope="module", autouse=True)
    def _summary(request):
        """Counts of every runner, printed at the end even when output is captured."""
        if not os.path.isfile(os.path.join(MPY_TESTS, "run-multitests.py")):
            pytest.skip("no MicroPython test tree at %s (MICROPY_TOP)" % MPY_TESTS)
        t0 = time.monotonic()
        yield
        lines = ["MicroPython network tests (%s, %.0fs):" % (MPY_TESTS, time.monotonic() - t0)]
        lines += ["  %-20s %s%s" % (title, format_counts(c), extra) for title, c, extra in SUMMARY]
        plugins = request.config.pluginmanager
        tr, capman = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
        if tr is None or capman is None:
            print("\n".join(lines))
            return
        with capman.global_and_fixture_disabled():
            tr.write_line("")
            for line in lines:
                tr.write_line(line)

    def _check(suite, transport, tests, skipped, rc, output, elapsed, notes=()):
        title = "%s [%s]" % (suite, transport)
        results = parse_results(output, suite)
        counts, failed = report("%s, %.1fs" % (title, elapsed), results, skipped, tests)
        for note in notes:
            print("  note: %s" % note)
        extra = " in %.1fs" % elapsed + ("" if rc is not None else ", runner TIMED OUT")
        SUMMARY.append((title, counts, extra + "".join("; " + n for n in notes)))
        if failed or rc != 0:
            print("---- runner output ----\n" + output)
        assert rc is not None, "%s: runner timed out after %ss" % (title, RUNNER_TIMEOUT)
        assert not failed, "%s: unexpected failures: %s" % (title, " ".join(failed))
        assert rc == 0, "%s: runner exited with %s" % (title, rc)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    def test_multi_net(transport, virt_guest_factory):
        """run-multitests.py on two guests joined by a private virtual segment.
        Failures are run once more on fresh guests: on a loaded host a DTLS
        handshake datagram lost on the segment waits for mbedTLS's 1, 2, 4 s
        retransmissions, past the runner's limit. What passes then is named."""
        tests, skipped, rc, output, elapsed, notes = run_multi_net(transport, virt_guest_factory)
        failed = sorted(t for t, r in parse_results(output, "multi_net").items() if r == "FAIL")
        if failed and rc is not None:
            _, _, rc2, output2, elapsed2, _ = run_multi_net(transport, virt_guest_factory, only=failed)
            again = parse_results(output2, "multi_net")
            flaky = [t for t in failed if again.get(t) == "pass"]
            if flaky and len(flaky) == len(failed):
                notes = notes + ["passed only when re-run: " + " ".join(flaky)]
                output = "\n".join(line for line in output.splitlines() if not line.endswith(": FAIL")) + "\n" + output2
                rc, elapsed = rc2, elapsed + elapsed2
        _check("multi_net", transport, tests, skipped, rc, output, elapsed, notes)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    def test_net_hosted(transport):
        """run-tests.py on one guest (execpty), slirp NIC with restrict=on."""
        tests, skipped, rc, output, elapsed = run_net_hosted(transport, FIRMWARE)
        _check("net_hosted", transport, tests, skipped, rc, output, elapsed)

    def test_net_inet_is_skipped():
        """net_inet needs the internet: every test must be on the skip list (none is run)."""
        tests, skipped = select_tests("net_inet")
        counts, _ = report("net_inet", {}, skipped, tests)
        SUMMARY.append(("net_inet", counts, ""))
        assert not tests, "net_inet tests not on the skip list (they would need the internet): %s" % tests


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "multitest":
        sys.path.insert(0, TESTS_DIR)
        sys.exit(multitest_main(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
