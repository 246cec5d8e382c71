"""The virtmp package itself: installing it, its clear errors, `virtmp run`
(the same as `make run`) and `virtmp test`.

Each case runs the CLI as a user would, as a subprocess of this venv's
Python, with a time limit; every guest it starts is its own to kill."""

import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

import virtmp as virtmp_pkg
from support import BOARD, FIRMWARE, ROOT

VIRTMP = [sys.executable, "-m", "virtmp"]


def virtmp(*args, timeout=120, env=None, cwd=None, input=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(VIRTMP + list(args), capture_output=True, text=True, timeout=timeout, env=e, cwd=cwd,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def write(dir_, name, text):
    path = os.path.join(str(dir_), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


# Installing.

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A plain (non-editable) pip install of the checkout into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                        "--no-build-isolation", "--target", str(target), ROOT],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return target


def test_pip_install_of_the_checkout(installed):
    """The package, its guest-side runner, the dependencies, the console
    script and the pytest11 entry point."""
    assert (installed / "virtmp" / "guest_runner.py").is_file()
    dist = [d for d in os.listdir(installed) if d.startswith("virt_micropython-") and d.endswith(".dist-info")]
    assert len(dist) == 1, os.listdir(installed)
    meta = (installed / dist[0] / "METADATA").read_text()
    assert re.search(r"^Requires-Dist: pyserial", meta, re.M) and re.search(r"^Requires-Dist: mpremote", meta, re.M)
    assert re.search(r"^Requires-Dist: pytest>=7.*extra == .pytest.", meta, re.M)
    assert re.search(r"^Requires-Dist: pytest-xdist.*extra == .pytest.", meta, re.M)
    eps = (installed / dist[0] / "entry_points.txt").read_text()
    assert "virtmp = virtmp.cli:main" in eps and "[pytest11]" in eps and "virtmp = virtmp.plugin" in eps
    # The installed copy boots the firmware it is given.
    test = write(installed.parent, "t/test_one.py", "print('from the installed package')\n")
    r = subprocess.run([sys.executable, "-m", "virtmp", "test", "-v", test], capture_output=True, text=True,
                       timeout=60, cwd="/", env=dict(os.environ, PYTHONPATH=str(installed), VIRT_FIRMWARE=FIRMWARE))
    assert r.returncode == 0 and "    from the installed package" in r.stdout, r.stdout + r.stderr


# Clear errors: one line that says what to run.

def test_missing_firmware_is_one_clear_line(tmp_path, installed):
    rc, out, err = virtmp("run", "--firmware", str(tmp_path / "none.elf"))
    assert rc == 2 and err.strip() == "virtmp: no firmware at %s (from --firmware or VIRT_FIRMWARE)" % (
        tmp_path / "none.elf")
    # No checkout around (an installed package, run from a folder outside
    # any) and no VIRT_FIRMWARE: say what to build or pass.
    r = subprocess.run([sys.executable, "-m", "virtmp", "test", write(tmp_path, "test_a.py", "pass\n")],
                       capture_output=True, text=True, timeout=60, cwd=str(tmp_path),
                       env=dict(os.environ, PYTHONPATH=str(installed), VIRT_FIRMWARE=""))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("virtmp: no firmware for %s: run `make BOARD=%s` in a virt-micropython" % (BOARD, BOARD))
    assert "--firmware FILE" in lines[0]


def test_missing_qemu_is_one_clear_line(tmp_path):
    env = {"PATH": str(tmp_path)}  # no QEMU on it
    rc, out, err = virtmp("run", "--firmware", FIRMWARE, env=env)
    info = virtmp_pkg.config.board_info(BOARD)
    assert rc == 2 and err.strip() == (
        "virtmp: %s not found: install it (apt-get install --no-install-recommends %s)" % (info["qemu"], info["package"]))


def test_unknown_board_and_bad_forward(tmp_path):
    rc, out, err = virtmp("run", "--board", "VIRT_Z80")
    assert rc == 2 and err.strip().startswith("virtmp: unknown board 'VIRT_Z80'")
    rc, out, err = virtmp("run", "--fwd", "tcp:http")
    assert rc == 2 and "bad port forward" in err


# virtmp run (make run runs it).

def test_make_run_is_virtmp_run():
    r = subprocess.run(["make", "-n", "-s", "run", "APP=examples/udp_responder", "VIRTIO_TRANSPORT=legacy"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    line = [l for l in r.stdout.splitlines() if "virtmp run" in l]
    assert line, r.stdout
    assert "--fwd udp:9000" in line[-1] and "--transport legacy" in line[-1] and "--firmware" in line[-1]
    assert "--disk %s/build/disk.img" % ROOT in line[-1]  # the persistent disk


def test_run_stdio_is_the_repl_with_networking():
    script = "print(6 * 7)\r"
    script += "import network; print('lan', network.LAN().isconnected() or network.LAN().ipconfig('addr4'))\r"
    p = subprocess.Popen(VIRTMP + ["run", "--firmware", FIRMWARE, "--fwd", "tcp:0-8080"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import time
        out = b""
        deadline = time.monotonic() + 30
        os.set_blocking(p.stdout.fileno(), False)
        sent = 0
        while time.monotonic() < deadline and b"lan " not in out.split(b"print('lan'")[-1]:
            time.sleep(0.1)
            out += p.stdout.read() or b""
            if sent == 0 and b">>> " in out:
                p.stdin.write(script.encode())
                p.stdin.flush()
                sent = 1
        time.sleep(0.3)
        p.stdin.write(b"\x01x")  # Ctrl-A X: quit QEMU
        p.stdin.flush()
        assert p.wait(timeout=10) == 0
        out += p.stdout.read() or b""
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.decode(errors="replace")
    assert "42" in text and re.search(r"lan (True|\('10\.0\.2\.15')", text), text


def test_run_pty_prints_the_mpremote_line():
    p = subprocess.Popen(VIRTMP + ["run", "--firmware", FIRMWARE, "--serial", "pty"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        for _ in range(5):
            line = p.stdout.readline()
            if line.startswith("mpremote connect"):
                break
        m = re.fullmatch(r"mpremote connect (/dev/pts/\d+)\n", line)
        assert m, line
        r = subprocess.run([sys.executable, "-m", "mpremote"] + line.split()[1:] + ["eval", "6*7"],
                           capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (0, "42\n"), r.stderr
        p.send_signal(2)  # Ctrl-C
        assert p.wait(timeout=10) == 130
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# virtmp test.

CASES = {
    "test_pass.py": """
        import mylib, pkg.sub
        assert mylib.add(2, 3) == 5 and pkg.sub.NAME == "sub"
        print("pass: ok")
    """,
    "test_raise.py": """
        print("before the error")
        raise ValueError("broken on purpose")
    """,
    "test_exit3.py": """
        import sys
        sys.exit(3)
    """,
    "test_exit0.py": """
        import sys
        print("exit 0")
        sys.exit(0)
        raise ValueError("not reached")
    """,
    "test_unittest.py": """
        import unittest

        class Arithmetic(unittest.TestCase):
            def test_ok(self):
                self.assertEqual(1 + 1, 2)

            def test_wrong(self):
                self.assertEqual(1 + 1, 3)
    """,
    "test_unittest_main.py": """
        import unittest

        class Fine(unittest.TestCase):
            def test_ok(self):
                self.assertTrue(True)

            def test_skip(self):
                self.skipTest("no reason")

        if __name__ == "__main__":
            unittest.main()
    """,
    "test_forever.py": """
        import time
        print("looping")
        while True:
            time.sleep_ms(10)
    """,
    "test_network.py": """
        import network, socket
        assert network.LAN().isconnected()
        assert network.LAN().ipconfig("addr4")[0] == "10.0.2.15"
        print("network: up")
    """,
}
EXPECT = {"test_pass.py": True, "test_raise.py": False, "test_exit3.py": False, "test_exit0.py": True,
          "test_unittest.py": False, "test_unittest_main.py": True, "test_forever.py": False,
          "test_network.py": True}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    top = tmp_path_factory.mktemp("virtmp-cases")
    for name, text in CASES.items():
        write(top / "tests", name, text)
    write(top / "src", "mylib.py", "def add(a, b):\n    return a + b\n")
    write(top / "src", "pkg/__init__.py", "")
    write(top / "src", "pkg/sub.py", "NAME = 'sub'\n")
    return top


def test_virtmp_test_pass_fail_exit_status_and_junit(cases):
    junit = cases / "report.xml"
    rc, out, err = virtmp("test", "-j", "2", "--timeout", "10", "--path", str(cases / "src"),
                          "--junit-xml", str(junit), str(cases / "tests"), timeout=300)
    assert rc == 1, out + err
    lines = out.splitlines()
    results = {}
    for line in lines:
        m = re.match(r"(PASS|FAIL) (\S+) \(\d+\.\ds\)", line)
        if m:
            results[os.path.basename(m.group(2))] = m.group(1) == "PASS"
    assert results == EXPECT, out
    assert lines[-1] == "4 passed, 4 failed"
    reason = {os.path.basename(l.split()[1]): l.split(": ", 1)[-1] for l in lines if l.startswith("FAIL")}
    assert reason["test_raise.py"] == "ValueError: broken on purpose"
    assert reason["test_exit3.py"] == "sys.exit(3)"
    assert reason["test_unittest.py"] == "unittest: 1 failures, 0 errors of 2 tests"
    assert reason["test_forever.py"] == "time limit of 10s exceeded"
    assert "[2 tests, 1 skipped]" in [l for l in lines if "test_unittest_main.py" in l][0]
    # A failure's output follows its line, indented: the guest's traceback with the file's name and line.
    assert '    File "test_raise.py", line 3, in <module>' in out
    assert "    before the error" in out

    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("8", "4")
    cases_xml = {os.path.basename(c.get("name")): c for c in suite.findall("testcase")}
    assert set(cases_xml) == set(EXPECT)
    for name, ok in EXPECT.items():
        assert (cases_xml[name].find("failure") is None) == ok, name
    assert "broken on purpose" in cases_xml["test_raise.py"].find("failure").text
    assert "pass: ok" in cases_xml["test_pass.py"].find("system-out").text


def test_virtmp_test_all_pass_is_status_0(cases):
    rc, out, err = virtmp("test", "--path", str(cases / "src"), str(cases / "tests" / "test_pass.py"),
                          str(cases / "tests" / "test_network.py"), "--legacy", timeout=120)
    assert rc == 0, out + err
    assert out.splitlines()[-1] == "2 passed, 0 failed"


def test_virtmp_test_import_error_without_path(cases):
    rc, out, err = virtmp("test", str(cases / "tests" / "test_pass.py"), timeout=120)
    assert rc == 1 and "ImportError: no module named 'mylib'" in out


def test_virtmp_test_usage_errors(tmp_path):
    rc, out, err = virtmp("test", str(tmp_path / "missing.py"))
    assert rc == 4 and "no such test file or directory" in err
    rc, out, err = virtmp("test", str(tmp_path))
    assert rc == 5 and "no test files" in err


def _qemu_children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            comm, rest = stat.split(") ", 1)
            if "qemu" in comm and int(rest.split()[1]) == pid:
                kids.append(int(entry))
    return kids


def test_virtmp_test_ctrl_c_stops_every_guest(cases):
    """Ctrl-C while two guests run endless tests: virtmp ends at once (130), no QEMU left."""
    forever = str(cases / "tests" / "test_forever.py")
    p = subprocess.Popen(VIRTMP + ["test", "-j", "2", "--timeout", "60", forever, forever],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        import time
        deadline = time.monotonic() + 30
        kids = []
        while len(kids) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            kids = _qemu_children(p.pid)
        assert len(kids) == 2, "two guests did not start"
        time.sleep(1)  # both files running
        t0 = time.monotonic()
        p.send_signal(2)
        assert p.wait(timeout=15) == 130
        assert time.monotonic() - t0 < 5
        assert "virtmp: interrupted" in p.stderr.read()
        for pid in kids:
            assert not os.path.exists("/proc/%d" % pid) or "Z" == open("/proc/%d/stat" % pid).read().split(") ")[1][0]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_boot_output_is_not_lost_when_the_pty_is_opened_late(monkeypatch):
    """QEMU drops what the guest writes to a pty nobody holds: a guest
    started before the host opened its pty lost its banner and start()
    waited for a prompt that never came. The guest now waits (-S) until
    the pty is open."""
    import time
    import virtmp
    from virtmp.console import Console

    def late_open(self, path, _open=Console.open_pty):
        time.sleep(0.3)  # a busy host
        _open(self, path)

    monkeypatch.setattr(virtmp.Guest, "open_pty", late_open)
    g = virtmp.Guest(firmware=FIRMWARE, net="user", boot_timeout=10)
    try:
        g.start()
        assert "MicroPython v" in g.log and "-S" in g.cmd
    finally:
        g.stop()
