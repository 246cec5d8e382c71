"""TCP through slirp on both virtio-mmio transports.

The guest reaches the host's 127.0.0.1 as 10.0.2.2; the host reaches the
guest through a hostfwd from 127.0.0.1. Every host socket is on 127.0.0.1
and has a timeout; every host thread is a bounded HostTask.
"""

import hashlib
import socket
import threading
import time

import pytest

from virtmp import HostTask, host_listener

from support import HOST_FROM_GUEST, TRANSPORTS

GUEST_PORT = 8000
BULK_BYTES = 16 << 20
BLOCK = 65536
HOST_TIMEOUT = 20

# The bulk data: 256 blocks of 64 KiB (bytes(range(256)) repeated), each
# starting with its number (4 bytes, little-endian), so a lost, repeated or
# reordered block changes the hash. The guest builds the same blocks.
GUEST_PATTERN = """
import struct
blk = bytearray(bytes(range(256)) * %d)
def block(i):
    struct.pack_into('<I', blk, 0, i)
    return blk
""" % (BLOCK // 256)


def pattern_blocks():
    base = bytearray(bytes(range(256)) * (BLOCK // 256))
    for i in range(BULK_BYTES // BLOCK):
        base[0:4] = i.to_bytes(4, "little")
        yield bytes(base)


def pattern_sha256():
    h = hashlib.sha256()
    for b in pattern_blocks():
        h.update(b)
    return h.hexdigest()


def listener(backlog=8):
    return host_listener(backlog, HOST_TIMEOUT)


def recv_until(sock, marker, limit=1 << 20):
    buf = b""
    while marker not in buf:
        d = sock.recv(4096)
        if not d:
            break
        buf += d
        assert len(buf) < limit
    return buf


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        d = sock.recv(n - len(buf))
        if not d:
            break
        buf += d
    return buf


@pytest.fixture(params=TRANSPORTS)
def fwd_guest(virt_guest_factory, request):
    """A guest whose TCP port 8000 is reachable at 127.0.0.1:g.host_port(8000)."""
    g = virt_guest_factory(transport=request.param, forwards=[("tcp", GUEST_PORT)])
    assert g.wait_dhcp() == "10.0.2.15"
    return g


def connect_fwd(port, deadline):
    """Connect to a hostfwd port. slirp accepts on the host side before the
    guest does, so callers only use this once the guest listens."""
    c = socket.create_connection(("127.0.0.1", port), timeout=max(1, deadline - time.monotonic()))
    c.settimeout(HOST_TIMEOUT)
    return c


def test_guest_client_to_host_server(net_guest):
    g = net_guest
    srv = listener()
    port = srv.getsockname()[1]

    def serve():
        c, addr = srv.accept()
        with c:
            c.settimeout(HOST_TIMEOUT)
            line = recv_until(c, b"\n")
            c.sendall(b"echo:" + line)
            # The guest half-closes after reading: a FIN, not a reset.
            rest = c.recv(100)
            return addr, line, rest

    task = HostTask(serve)
    try:
        out = g.exec(
            "import socket\n"
            "s = socket.socket()\n"
            "s.settimeout(10)\n"
            "s.connect(('%s', %d))\n"
            "s.write(b'hello from the guest\\n')\n"
            "buf = b''\n"
            "while not buf.endswith(b'\\n'):\n"
            "    d = s.recv(100)\n"
            "    if not d: break\n"
            "    buf += d\n"
            "print(buf)\n"
            "s.close()\n" % (HOST_FROM_GUEST, port)
        )
        addr, line, rest = task.result(HOST_TIMEOUT)
    finally:
        srv.close()
    assert out.strip() == "b'echo:hello from the guest\\n'"
    assert addr[0] == "127.0.0.1"  # slirp connects from loopback
    assert line == b"hello from the guest\n"
    assert rest == b""


def test_host_client_to_guest_server(fwd_guest):
    g = fwd_guest
    g.exec(
        "import socket\n"
        "srv = socket.socket()\n"
        "srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "srv.bind(('0.0.0.0', %d))\n"
        "srv.listen(2)\n" % GUEST_PORT
    )
    port = g.host_port(GUEST_PORT)
    deadline = time.monotonic() + HOST_TIMEOUT

    def client():
        with connect_fwd(port, deadline) as c:
            c.sendall(b"hello from the host\n")
            return recv_until(c, b"\n")

    task = HostTask(client)
    out = g.exec(
        "srv.settimeout(10)\n"
        "c, addr = srv.accept()\n"
        "c.settimeout(10)\n"
        "buf = b''\n"
        "while not buf.endswith(b'\\n'):\n"
        "    buf += c.recv(100)\n"
        "c.write(b'guest got ' + buf)\n"
        "c.close()\n"
        "srv.close()\n"
        "print(addr[0], buf)\n"
    )
    reply = task.result(HOST_TIMEOUT)
    assert reply == b"guest got hello from the host\n"
    peer, data = out.split(None, 1)
    assert peer == HOST_FROM_GUEST  # slirp presents forwarded connections as 10.0.2.2
    assert data.strip() == "b'hello from the host\\n'"


def test_16mib_guest_to_host(net_guest):
    g = net_guest
    srv = listener()
    port = srv.getsockname()[1]

    def sink():
        c, _ = srv.accept()
        with c:
            c.settimeout(HOST_TIMEOUT)
            h = hashlib.sha256()
            n = 0
            t0 = time.monotonic()
            while n <= BULK_BYTES:
                d = c.recv(1 << 20)
                if not d:
                    break
                h.update(d)
                n += len(d)
            return n, h.hexdigest(), time.monotonic() - t0

    task = HostTask(sink)
    try:
        out = g.exec(
            GUEST_PATTERN
            + "import socket, hashlib, binascii, time\n"
            "h = hashlib.sha256()\n"
            "s = socket.socket()\n"
            "s.connect(('%s', %d))\n"
            "t = time.ticks_ms()\n"
            "for i in range(%d):\n"
            "    b = block(i)\n"
            "    s.write(b)\n"
            "    h.update(b)\n"
            "s.close()\n"
            "print(time.ticks_diff(time.ticks_ms(), t), binascii.hexlify(h.digest()).decode())\n"
            % (HOST_FROM_GUEST, port, BULK_BYTES // BLOCK),
            timeout=60,
        )
        n, host_sha, host_secs = task.result(60)
    finally:
        srv.close()
    ms, guest_sha = out.split()
    expected = pattern_sha256()
    assert n == BULK_BYTES
    assert guest_sha == expected
    assert host_sha == expected
    info = g.net_info()
    assert info["rx_errors"] == 0 and info["tx_errors"] == 0
    print("16 MiB guest->host (%s): %s ms in the guest, %.2f s at the host (%.1f MB/s)"
          % (g.transport, ms, host_secs, BULK_BYTES / 1e6 / host_secs))


def test_16mib_host_to_guest(net_guest):
    g = net_guest
    srv = listener()
    port = srv.getsockname()[1]

    def source():
        c, _ = srv.accept()
        with c:
            c.settimeout(HOST_TIMEOUT)
            t0 = time.monotonic()
            for b in pattern_blocks():
                c.sendall(b)
            c.shutdown(socket.SHUT_WR)
            c.recv(16)  # the guest closes once it has read everything
            return time.monotonic() - t0

    task = HostTask(source)
    try:
        out = g.exec(
            "import socket, hashlib, binascii, time\n"
            "buf = bytearray(%d)\n"
            "mv = memoryview(buf)\n"
            "h = hashlib.sha256()\n"
            "n = 0\n"
            "s = socket.socket()\n"
            "s.settimeout(10)\n"
            "s.connect(('%s', %d))\n"
            "t = time.ticks_ms()\n"
            "while True:\n"
            "    k = s.readinto(buf)\n"
            "    if not k: break\n"
            "    h.update(mv[:k])\n"
            "    n += k\n"
            "s.close()\n"
            "print(time.ticks_diff(time.ticks_ms(), t), n, binascii.hexlify(h.digest()).decode())\n"
            % (BLOCK, HOST_FROM_GUEST, port),
            timeout=60,
        )
        host_secs = task.result(60)
    finally:
        srv.close()
    ms, n, guest_sha = out.split()
    assert int(n) == BULK_BYTES
    assert guest_sha == pattern_sha256()
    info = g.net_info()
    assert info["rx_errors"] == 0 and info["tx_errors"] == 0
    print("16 MiB host->guest (%s): %s ms in the guest (%.1f MB/s), %.2f s at the host"
          % (g.transport, ms, BULK_BYTES / 1e3 / max(1, int(ms)), host_secs))



ACCEPT_ROUNDS = 10


def test_guest_server_sees_first_request_at_once(fwd_guest):
    """A client that connects and sends at once (as HTTP clients do) gets its
    answer without waiting for lwIP's TCP timer (modlwip refuses data that
    arrives before accept(); the port offers it again right after)."""
    g = fwd_guest
    g.exec_start(
        "import socket\n"
        "srv = socket.socket()\n"
        "srv.bind(('0.0.0.0', %d))\n"
        "srv.listen(2)\n"
        "srv.settimeout(10)\n"
        "print('READY')\n"
        "for i in range(%d):\n"
        "    c, _ = srv.accept()\n"
        "    c.settimeout(10)\n"
        "    c.write(b're:' + c.recv(64))\n"
        "    c.close()\n"
        "srv.close()\n" % (GUEST_PORT, ACCEPT_ROUNDS)
    )
    g.read_until(b"READY", timeout=10)
    port = g.host_port(GUEST_PORT)
    deadline = time.monotonic() + HOST_TIMEOUT
    times = []
    for i in range(ACCEPT_ROUNDS):
        t0 = time.monotonic()
        with connect_fwd(port, deadline) as c:
            c.sendall(b"request %d" % i)
            assert recv_until(c, b"%d" % i) == b"re:request %d" % i
        times.append(time.monotonic() - t0)
    g.exec_finish(timeout=20)
    times.sort()
    median = times[len(times) // 2]
    print("request to a guest server (%s): median %.0f ms, max %.0f ms" % (g.transport, median * 1e3, times[-1] * 1e3))
    assert median < 0.1, "median %.0f ms from connect to answer" % (median * 1e3)


CONNECTIONS = 200
WARMUP = 5


def test_200_sequential_connections_do_not_leak(net_guest):
    """The guest opens, uses and closes 200 connections, closing first (so its
    side goes through TIME_WAIT, more than lwIP has PCBs for): the Python heap
    ends where it started and the driver counts no errors."""
    g = net_guest
    srv = listener(backlog=4)
    port = srv.getsockname()[1]
    total = WARMUP + CONNECTIONS

    def serve():
        served = 0
        deadline = time.monotonic() + 60
        while served < total and time.monotonic() < deadline:
            c, _ = srv.accept()
            with c:
                c.settimeout(HOST_TIMEOUT)
                req = recv_until(c, b"\n")
                c.sendall(b"re:" + req)
                c.recv(16)  # wait for the guest's FIN
            served += 1
        return served

    task = HostTask(serve)
    try:
        out = g.exec(
            "import socket, gc, _virt\n"
            "def one(i):\n"
            "    s = socket.socket()\n"
            "    s.settimeout(10)\n"
            "    s.connect(('%s', %d))\n"
            "    req = b'conn %%d\\n' %% i\n"
            "    s.write(req)\n"
            "    got = b''\n"
            "    while len(got) < len(req) + 3:\n"
            "        d = s.recv(64)\n"
            "        if not d: break\n"
            "        got += d\n"
            "    s.close()\n"
            "    return got == b're:' + req\n"
            "for i in range(%d):\n"
            "    assert one(i)\n"
            "i0 = _virt.net_info()\n"
            "ok = 0\n"
            "gc.collect()\n"
            "before = gc.mem_free()\n"
            "for i in range(%d):\n"
            "    ok += one(i)\n"
            "gc.collect()\n"
            "after = gc.mem_free()\n"
            "i1 = _virt.net_info()\n"
            "print(ok, before, after)\n"
            "print({k: i1[k] - i0[k] for k in ('rx_errors', 'tx_errors', 'rx_dropped', 'tx_dropped', 'lwip_asserts', 'resets')})\n"
            % (HOST_FROM_GUEST, port, WARMUP, CONNECTIONS),
            timeout=90,
        )
        served = task.result(90)
    finally:
        srv.close()
    first, second = out.strip().splitlines()
    ok, before, after = map(int, first.split())
    deltas = eval(second)
    assert served == total
    assert ok == CONNECTIONS
    assert abs(after - before) <= 256, "heap: %d bytes free before, %d after" % (before, after)
    assert deltas == dict.fromkeys(deltas, 0), deltas
    info = g.net_info()
    assert info["rx_errors"] == 0 and info["tx_errors"] == 0
    print("200 connections (%s): mem_free %d -> %d" % (g.transport, before, after))


CLIENTS = 8
ROUNDS = 4

ASYNCIO_ECHO_SERVER = """
import asyncio, time
active = 0
peak = 0
done = 0
echoed = 0
async def handle(r, w):
    global active, peak, done, echoed
    active += 1
    peak = max(peak, active)
    try:
        while True:
            d = await r.read(1024)
            if not d:
                break
            echoed += len(d)
            w.write(d)
            await w.drain()
    finally:
        active -= 1
        done += 1
        w.close()
        await w.wait_closed()
async def main():
    # backlog: slirp opens all 8 at once, and modlwip resets connections
    # beyond the accept queue (the default backlog is 5).
    srv = await asyncio.start_server(handle, '0.0.0.0', %d, backlog=%d)
    print('READY')
    t = time.ticks_ms()
    while done < %d and time.ticks_diff(time.ticks_ms(), t) < 20000:
        await asyncio.sleep_ms(10)
    srv.close()
    await srv.wait_closed()
    print(done, peak, echoed)
asyncio.run(main())
""" % (GUEST_PORT, CLIENTS, CLIENTS)


def test_asyncio_echo_server_with_8_concurrent_clients(fwd_guest):
    g = fwd_guest
    g.exec_start(ASYNCIO_ECHO_SERVER)
    g.read_until(b"READY", timeout=10)
    port = g.host_port(GUEST_PORT)
    deadline = time.monotonic() + HOST_TIMEOUT
    # All clients connected, then all served once (so 8 handlers run at the
    # same time in the guest), then the remaining rounds.
    connected = threading.Barrier(CLIENTS, timeout=HOST_TIMEOUT)
    first_round = threading.Barrier(CLIENTS, timeout=HOST_TIMEOUT)

    def client(cid):
        with connect_fwd(port, deadline) as c:
            connected.wait()
            sent = 0
            for rnd in range(ROUNDS):
                msg = (b"client %d round %d|" % (cid, rnd)) * (50 + 40 * cid + 7 * rnd)
                c.sendall(msg)
                back = recv_exact(c, len(msg))
                assert back == msg, "client %d round %d: %d of %d bytes back" % (cid, rnd, len(back), len(msg))
                sent += len(msg)
                if rnd == 0:
                    first_round.wait()
            c.shutdown(socket.SHUT_WR)
            assert c.recv(16) == b""  # the server closes after our FIN
            return sent

    tasks = [HostTask(client, i) for i in range(CLIENTS)]
    results = []
    for t in tasks:
        try:
            results.append(t.result(HOST_TIMEOUT + 5))
        except (AssertionError, OSError, threading.BrokenBarrierError, TimeoutError) as e:
            results.append(e)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        # Show the guest's side too: the server may have raised.
        g.write(b"\x03")
        tail = g.read_until(b">", timeout=5) if g.proc.poll() is None else b""
        causes = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)] or errors
        raise AssertionError("clients failed: %r; guest: %r" % (causes, tail[-1500:])) from causes[0]
    sent = results
    out = g.exec_finish(timeout=30)
    done, peak, echoed = map(int, out.split())
    assert done == CLIENTS
    assert peak == CLIENTS
    assert echoed == sum(sent)


def test_closing_listeners_beside_a_busy_connection(net_guest):
    """The guest sends 300 records over one connection and opens and closes
    a listening socket around each write. Closing a listener, modlwip 1.25
    clears two callbacks lwIP's smaller listening pcb does not have, and
    lwIP asserts and writes them past its end, into the segments carved
    after it. The port keeps those calls off listening pcbs (and gives them
    blocks of full size): every byte arrives, no lwIP check fails, no free
    is refused."""
    g = net_guest
    srv = listener()
    port = srv.getsockname()[1]
    records = 300

    def serve():
        c, _ = srv.accept()
        with c:
            c.settimeout(HOST_TIMEOUT)
            h = hashlib.sha256()
            n = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                d = c.recv(65536)
                if not d:
                    break
                h.update(d)
                n += len(d)
            return n, h.hexdigest()

    expected = hashlib.sha256()
    for i in range(records):
        expected.update(bytes([i % 251]) * (100 + i * 7 % 900))
    task = HostTask(serve)
    try:
        out = g.exec(
            "import socket, _virt\n"
            "a0 = _virt.net_info()['lwip_asserts']\n"
            "s = socket.socket()\n"
            "s.settimeout(10)\n"
            "s.connect(('%s', %d))\n"
            "for i in range(%d):\n"
            "    l = socket.socket()\n"
            "    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "    l.bind(('0.0.0.0', 9100 + i %% 20))\n"
            "    l.listen(2)\n"
            "    s.write(bytes([i %% 251]) * (100 + i * 7 %% 900))\n"
            "    l.close()\n"
            "s.close()\n"
            "m = _virt.lwip_mem()\n"
            "print(m['bad_frees'], m['listen_block'] >= m['tcp_block'] > 0, _virt.net_info()['lwip_asserts'] - a0)\n"
            % (HOST_FROM_GUEST, port, records), timeout=120)
        n, digest = task.result(HOST_TIMEOUT + 60)
    finally:
        srv.close()
    bad_frees, full_blocks, asserts = out.split()
    assert (n, digest) == (sum(100 + i * 7 % 900 for i in range(records)), expected.hexdigest())
    assert bad_frees == "0"
    assert asserts == "0"
    assert full_blocks == "True"


def test_tcp_nodelay_on_a_listening_socket(fwd_guest):
    """TCP_NODELAY set on a listening socket (modlwip writes a full pcb's
    flags field, in a listening pcb part of its accept callback: the next
    connection crashed the guest) is ignored; connections are accepted."""
    g = fwd_guest
    g.exec(
        "import socket\n"
        "srv = socket.socket()\n"
        "srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "srv.bind(('0.0.0.0', %d))\n"
        "srv.listen(2)\n"
        "srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
        "srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)\n"
        "srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n" % GUEST_PORT
    )
    port = g.host_port(GUEST_PORT)
    deadline = time.monotonic() + HOST_TIMEOUT
    for i in range(3):
        with connect_fwd(port, deadline) as c:
            out = g.exec(
                "srv.settimeout(10)\n"
                "c, _ = srv.accept()\n"
                "c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
                "c.write(b'accepted %d\\n')\n"
                "c.close()\n" % i)
            assert recv_until(c, b"\n") == b"accepted %d\n" % i, out
    assert g.eval("srv.close() or __import__('_virt').net_info()['lwip_asserts']") == 0
