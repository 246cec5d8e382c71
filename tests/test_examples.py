"""The example apps (examples/<name>/main.py, written with vnet), each frozen
into its own firmware with `make APP=examples/<name>` and booted on both
transports with the port forwarding its `# hostfwd:` line asks for.

The firmware variants are built in build/<BOARD>-examples, a copy of
build/<BOARD> at first (support.seed_build_dir), which is left alone.
Every QEMU is killed when its test ends and every wait is bounded.
"""

import os
import re
import shutil
import socket
import subprocess
import sys

import pytest

from support import BOARD, ROOT, TRANSPORTS, build_firmware

# Under pytest-xdist all of this file runs on one worker: its firmware variants build in one build/<BOARD>-examples.
pytestmark = pytest.mark.xdist_group('examples')

EXAMPLES = os.path.join(ROOT, "examples")
BUILD = os.path.join(ROOT, "build", BOARD + "-examples")


def hostfwd(name):
    """[(proto, guest_port)] from the example's `# hostfwd: tcp 8080` lines."""
    with open(os.path.join(EXAMPLES, name, "main.py")) as f:
        return [(m.group(1), int(m.group(2))) for m in re.finditer(r"^# hostfwd: (tcp|udp) (\d+)$", f.read(), re.M)]


_built = {}


def _build(name):
    build_firmware(BUILD, app_dir=os.path.join(EXAMPLES, name))


def build_example(name):
    """firmware.elf with examples/<name> frozen in (its main.py runs at boot)."""
    if name not in _built:
        _build(name)
        _built[name] = os.path.join(BUILD, name + ".elf")
        shutil.copyfile(os.path.join(BUILD, "firmware.elf"), _built[name])
    return _built[name]


def boot_example(factory, name, transport):
    """(guest, {guest_port: host_port}, banner) with the example running and
    listening; factory is the virt_guest_factory fixture (it kills the guest)."""
    elf = build_example(name)
    forwards = hostfwd(name)
    g = factory(transport=transport, forwards=forwards, firmware=elf, start=False)
    g.start(wait_prompt=False)  # the app's main.py runs before any prompt
    banner = g.read_until(b"listening on", timeout=30)
    banner += g.read_until(b"\n", timeout=5)
    ports = {guest_port: g.host_port(guest_port, proto) for proto, guest_port in forwards}
    return g, ports, banner


def stop_app(g):
    """Ctrl-C ends the app: back at the REPL."""
    g.write(b"\x03")
    out = g.read_until(b">>> ", timeout=10)
    assert b"KeyboardInterrupt" in out


def test_every_example_has_a_test_and_a_hostfwd_line():
    names = sorted(n for n in os.listdir(EXAMPLES) if n != "ci_project")
    assert names == ["http_server", "tcp_echo", "udp_responder"]
    assert {n: hostfwd(n) for n in names} == {
        "http_server": [("tcp", 8080)], "tcp_echo": [("tcp", 7000)], "udp_responder": [("udp", 9000)]}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tcp_echo(virt_guest_factory, transport):
    g, ports, _ = boot_example(virt_guest_factory, "tcp_echo", transport)
    for round_ in range(2):  # one client after another
        with socket.create_connection(("127.0.0.1", ports[7000]), timeout=10) as c:
            data = bytes(range(256)) * 400 + b"round %d" % round_
            c.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = c.recv(65536)
                assert chunk, "connection closed after %d bytes" % len(got)
                got += chunk
            assert got == data
        g.read_until(b"closed", timeout=10)
    stop_app(g)


def _http_get(port, path):
    """(status, body) the way a user would fetch it: curl, or Python's http.client without it."""
    url = "http://127.0.0.1:%d%s" % (port, path)
    if shutil.which("curl"):
        r = subprocess.run(["curl", "-sS", "--max-time", "15", "-o", "-", "-w", "\n%{http_code}", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert r.returncode == 0, r.stderr
        body, _, status = r.stdout.decode().rpartition("\n")
        return int(status), body
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_http_server(virt_guest_factory, transport):
    g, ports, banner = boot_example(virt_guest_factory, "http_server", transport)
    assert b"http://10.0.2.15:8080/" in banner
    for n in (1, 2):
        status, body = _http_get(ports[8080], "/")
        assert status == 200
        assert "<h1>Hello from MicroPython on QEMU virt</h1>" in body
        assert "request %d, MAC 52:54:00:12:34:56" % n in body
    status, body = _http_get(ports[8080], "/missing")
    assert (status, body) == (404, "no such page: /missing\n")
    g.read_until(b"GET /missing", timeout=10)
    stop_app(g)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_udp_responder(virt_guest_factory, transport):
    g, ports, banner = boot_example(virt_guest_factory, "udp_responder", transport)
    assert b"udp 10.0.2.15:9000" in banner
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        for n, msg in enumerate((b"hello", b"x" * 1400, b""), 1):
            s.sendto(msg, ("127.0.0.1", ports[9000]))
            data, peer = s.recvfrom(2048)
            assert data == b"ack %d: " % n + msg
            assert peer == ("127.0.0.1", ports[9000])
    g.read_until(b"0 bytes from 10.0.2.2", timeout=10)
    stop_app(g)


def test_switching_app_refreezes_main(virt_guest_factory):
    """`make APP=examples/udp_responder` right after `make APP=examples/tcp_echo`, in one build dir."""
    _build("tcp_echo")
    _build("udp_responder")
    _built.pop("udp_responder", None)
    g = virt_guest_factory(firmware=os.path.join(BUILD, "firmware.elf"), start=False)
    g.start(wait_prompt=False)
    banner = g.read_until(b"listening on", timeout=30)
    g.stop()
    assert banner.endswith(b"udp_responder: listening on"), banner


# examples/ci_project: README's "Test your MicroPython code in CI", run with
# the README's own commands from the project's folder (VIRT_FIRMWARE is set).

CI_PROJECT = os.path.join(EXAMPLES, "ci_project")


def test_ci_project_as_the_readme_runs_it(tmp_path):
    virtmp = os.path.join(os.path.dirname(sys.executable), "virtmp")
    junit = tmp_path / "virtmp.xml"
    r = subprocess.run([virtmp, "test", "-j", "2", "--path", "src", "--junit-xml", str(junit), "tests"],
                       cwd=CI_PROJECT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "1 passed, 0 failed"
    assert 'tests="1" failures="0"' in junit.read_text()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "host_tests"],
                       cwd=CI_PROJECT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr
