"""virtmp's pytest plugin, run by pytester in a pytest of its own: fixtures,
options, the serial log of a failing test, QEMU killed on failure, on Ctrl-C
and when pytest itself is killed, and 8 guests at once under pytest-xdist
with no port, socket or file shared. Then the library's L2 wiring: a
Segment of three guests and the test, an L2Link to one guest."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from support import BOARD, FIRMWARE

pytest_plugins = ["pytester"]


def qemu_alive(pid):
    """Whether pid is a live (not zombie) QEMU."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return "qemu" in stat.split(")")[0] and stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while qemu_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not qemu_alive(pid)


def test_failing_test_gets_the_serial_log_and_its_guest_killed(pytester):
    pytester.makepyfile(test_inner="""
        import os

        def test_fails(virt_guest):
            with open(os.environ["PIDFILE"], "w") as f:
                f.write(str(virt_guest.proc.pid))
            assert virt_guest.exec("print('guest was here')") == "guest was here\\r\\n"
            assert virt_guest.eval("1 + 1") == 3

        def test_passes(virt_guest_factory):
            a = virt_guest_factory(net=None)
            b = virt_guest_factory(transport="legacy")
            assert a.repl("6 * 7").strip() == "42" and b.wait_dhcp() == "10.0.2.15"
    """)
    pidfile = pytester.path / "pid"
    os.environ["PIDFILE"] = str(pidfile)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--virt-firmware", FIRMWARE, timeout=120)
    finally:
        del os.environ["PIDFILE"]
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "virt guest 0 serial (%s)" % BOARD in out, out
    assert "guest was here" in out and "MicroPython v" in out
    assert wait_gone(int(pidfile.read_text()))


def test_unknown_firmware_option_is_a_clear_failure(pytester):
    pytester.makepyfile(test_inner="def test_x(virt_guest):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--virt-firmware", "/nonexistent.elf",
                                           timeout=60)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*virtmp: no firmware at /nonexistent.elf (from --firmware or VIRT_FIRMWARE)*"])


def test_marker_options(pytester):
    pytester.makepyfile(test_inner="""
        import socket
        import pytest

        @pytest.mark.virt_guest(forwards=[7000], mem="64M", transport="legacy", append="ip=dhcp")
        def test_marked(virt_guest):
            assert virt_guest.mem == "64M" and virt_guest.transport == "legacy"
            virt_guest.exec_start("import socket\\ns = socket.socket()\\ns.bind(('0.0.0.0', 7000))\\n"
                                  "s.listen(1)\\nprint('listening')\\nc, _ = s.accept()\\nc.send(c.recv(16))\\n"
                                  "c.close()\\ns.close()")
            virt_guest.read_until("listening")
            with socket.create_connection(("127.0.0.1", virt_guest.host_port(7000)), timeout=10) as c:
                c.sendall(b"echo me")
                assert c.recv(16) == b"echo me"
            virt_guest.exec_finish()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)


INNER_SLEEPER = """
    import os, time

    def test_sleeps(virt_guest):
        with open(os.environ["PIDFILE"] + ".tmp", "w") as f:
            f.write(str(virt_guest.proc.pid))
        os.rename(os.environ["PIDFILE"] + ".tmp", os.environ["PIDFILE"])
        time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupted_pytest_leaves_no_qemu(pytester, sig):
    """Ctrl-C (SIGINT), SIGTERM and SIGKILL of the pytest that runs the test:
    its QEMU goes too."""
    pytester.makepyfile(test_inner=INNER_SLEEPER)
    pidfile = pytester.path / "pid"
    env = dict(os.environ, PIDFILE=str(pidfile))
    p = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
                         cwd=str(pytester.path), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert pidfile.exists(), p.stdout.read() if p.poll() is not None else "no guest within 60 s"
        pid = int(pidfile.read_text())
        assert qemu_alive(pid)
        p.send_signal(sig)
        p.wait(timeout=30)
        assert wait_gone(pid), "QEMU %d still running after pytest got signal %d" % (pid, sig)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def test_eight_guests_at_once_under_xdist(pytester):
    """8 xdist workers on this 2-core machine, a guest each, all at the same
    time: each serves TCP on a forwarded port; no two share a host port,
    monitor socket, pty or directory."""
    pytester.makepyfile(test_inner="""
        import json, os, socket, time
        import pytest

        @pytest.mark.parametrize("n", range(8))
        @pytest.mark.virt_guest(forwards=[7000])
        def test_guest(virt_guest, n):
            g = virt_guest
            g.exec_start("import socket\\ns = socket.socket()\\ns.bind(('0.0.0.0', 7000))\\ns.listen(1)\\n"
                         "print('listening')\\nc, _ = s.accept()\\nc.send(c.recv(64))\\nc.close()\\ns.close()")
            g.read_until("listening", timeout=30)
            with socket.create_connection(("127.0.0.1", g.host_port(7000)), timeout=30) as c:
                c.sendall(b"guest %d" % n)
                assert c.recv(64) == b"guest %d" % n
            g.exec_finish(timeout=30)
            record = {"pid": g.proc.pid, "port": g.host_port(7000), "monitor": g.monitor_path, "pty": g.pty,
                      "dir": g.tmpdir, "worker": os.environ.get("PYTEST_XDIST_WORKER"), "t": time.time()}
            with open(os.path.join(os.environ["RECORDS"], "%d.json" % n), "w") as f:
                json.dump(record, f)
            time.sleep(2)  # overlap with the other workers' guests
    """)
    records = pytester.path / "records"
    records.mkdir()
    os.environ["RECORDS"] = str(records)
    try:
        t0 = time.monotonic()
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "8", timeout=300)
        elapsed = time.monotonic() - t0
    finally:
        del os.environ["RECORDS"]
    result.assert_outcomes(passed=8)
    recs = [json.loads((records / ("%d.json" % n)).read_text()) for n in range(8)]
    for key in ("pid", "port", "monitor", "pty", "dir", "worker"):
        assert len({r[key] for r in recs}) == 8, (key, recs)
    for r in recs:
        assert wait_gone(r["pid"]) and not os.path.exists(r["dir"])
    print("8 guests under xdist -n 8: %.1f s" % elapsed)


def test_segment_of_three_guests(virt_guest_factory):
    """Three guests and this process on one virtmp.Segment: UDP between guests, raw frames to the test."""
    import virtmp
    with virtmp.Segment() as seg:
        guests = [virt_guest_factory(net=seg.nic(), append="ip=10.0.3.%d/24" % (i + 1)) for i in range(3)]
        peer = seg.link()
        macs = [g.eval("__import__('network').LAN().config('mac')") for g in guests]
        assert len(set(macs)) == 3 and all(m.startswith(b"\x52\x54\x00\x5e") for m in macs)
        guests[2].exec("import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                       "u.bind(('0.0.0.0', 7999))\nu.settimeout(5)")
        for i in (0, 1):
            guests[i].exec("import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                           "u.sendto(b'from %d', ('10.0.3.3', 7999))" % i)
            data, addr = guests[2].eval("u.recvfrom(16)")
            assert (data, addr[0]) == (b"from %d" % i, "10.0.3.%d" % (i + 1))
        frames = []
        deadline = time.monotonic() + 5
        while len(frames) < 2 and time.monotonic() < deadline:
            f = peer.recv(0.5)
            if f:
                frames.append(f)
        assert frames and all(len(f) >= 42 for f in frames)  # the ARPs and datagrams reach every member
        with pytest.raises(ValueError):
            peer.send(b"")


def test_l2_link_frames_both_ways(virt_guest_factory):
    """The test as the guest's only L2 peer: it answers the guest's ARP
    request and receives the UDP datagram the guest then sends."""
    import struct
    import virtmp
    guest_mac = bytes.fromhex("525400123456")
    peer_mac = bytes.fromhex("02000000aa01")
    with virtmp.L2Link() as link:
        g = virt_guest_factory(net=link.nic(), append="ip=10.0.3.2/24 mac=52:54:00:12:34:56")
        g.exec("import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "u.sendto(b'to the peer', ('10.0.3.1', 7001))")
        deadline = time.monotonic() + 10
        datagram = None
        while datagram is None and time.monotonic() < deadline:
            f = link.recv(0.5)
            if not f or len(f) < 42:
                continue
            if f[12:14] == b"\x08\x06" and f[38:42] == bytes([10, 0, 3, 1]):  # who has 10.0.3.1?
                assert f[6:12] == guest_mac
                reply = f[6:12] + peer_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2)
                reply += peer_mac + bytes([10, 0, 3, 1]) + f[22:28] + f[28:32]
                link.send(reply)
                # The guest sends the datagram once it knows us; slirp-less, so resend it.
                g.exec("u.sendto(b'to the peer', ('10.0.3.1', 7001))")
            elif f[12:14] == b"\x08\x00" and f[23] == 17 and f[36:38] == b"\x1b\x59":  # IPv4 UDP to 7001
                assert f[0:6] == peer_mac
                datagram = f
        assert datagram is not None, "no UDP datagram from the guest"
        assert datagram.endswith(b"to the peer")


def test_segment_peer_that_never_reads_stalls_nobody(virt_guest_factory):
    """A test's seg.link() that is never read fills its socket queue (10
    datagrams here); the hub drops its copies instead of waiting, so the
    guests' traffic still flows."""
    import virtmp
    with virtmp.Segment() as seg:
        a, b = (virt_guest_factory(net=seg.nic(), append="ip=10.0.3.%d/24" % i) for i in (1, 2))
        seg.link()  # never read
        # b reads as a sends (a MicroPython UDP socket holds one datagram).
        b.exec_start("import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                     "u.bind(('0.0.0.0', 7999))\nu.settimeout(5)\nprint('ready')\n"
                     "print([u.recv(16) for i in range(40)])")
        b.read_until("ready", timeout=10)
        a.exec("import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "for i in range(40):\n    u.sendto(b'n%d' % i, ('10.0.3.2', 7999))\n    time.sleep_ms(20)",
               timeout=60)
        got = b.exec_finish(timeout=30).split("ready", 1)[-1].strip()
        assert got == repr([b"n%d" % i for i in range(40)])
        assert seg.dropped > 0


def test_pty_is_read_from_the_whole_line():
    from virtmp.guest import pty_from_qemu_output
    line = "char device redirected to /dev/pts/12 (label serial0)\n"
    for cut in range(len(line)):
        assert pty_from_qemu_output(line[:cut]) is None, line[:cut]
    assert pty_from_qemu_output("warning: x\n" + line) == "/dev/pts/12"
