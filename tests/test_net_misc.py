"""More networking through slirp on both virtio-mmio transports: ICMP echo
from a raw socket, DNS against the test's own resolver, link down and up
from the QEMU monitor, and the socket API's timeouts, non-blocking mode and
polling. Every host socket is on 127.0.0.1 and has a timeout."""

import ctypes
import os
import socket
import struct
import threading
import time

import pytest

from virtmp import HostTask, host_listener

from support import GUEST_CSUM, HOST_FROM_GUEST, TRANSPORTS

HOST_TIMEOUT = 15


def listener(backlog=4):
    return host_listener(backlog, HOST_TIMEOUT)


def echo_server(srv, connections):
    """Echo on each of `connections` accepted connections, one thread each."""

    def echo(c):
        with c:
            c.settimeout(HOST_TIMEOUT)
            while True:
                d = c.recv(4096)
                if not d:
                    return
                c.sendall(d)

    workers = []
    for _ in range(connections):
        c, _ = srv.accept()
        workers.append(HostTask(echo, c))
    for w in workers:
        w.result(HOST_TIMEOUT + 5)


# ICMP echo from the guest. slirp answers echo requests to its own address
# (10.0.2.2) itself (icmp_reflect), without a host ping socket.

PING = GUEST_CSUM + """
import socket, struct, time

def ping(sock, dst, ident, seq, payload):
    hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + payload), ident, seq) + payload
    t = time.ticks_us()
    sock.sendto(pkt, (dst, 0))
    while True:
        data, addr = sock.recvfrom(1500)  # the IPv4 header, then ICMP
        ihl = (data[0] & 15) * 4
        icmp = data[ihl:]
        if icmp[0] == 0 and struct.unpack('!HH', icmp[4:8]) == (ident, seq):
            break
    rtt = time.ticks_diff(time.ticks_us(), t)
    src = '.'.join(str(b) for b in data[12:16])
    return (addr[0], src, data[9], icmp[1], csum(icmp), icmp[8:] == payload, rtt)

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)
s.settimeout(3)
for seq in range(1, 4):
    r = ping(s, '%s', 0x5a17, seq, b'virt-ping %%d ' %% seq * (seq * 20))
    print(' '.join(str(x) for x in r))
s.close()
"""


def test_ping_host_from_raw_socket(net_guest):
    g = net_guest
    out = g.exec(PING % HOST_FROM_GUEST, timeout=20)
    lines = [line.split() for line in out.strip().splitlines()]
    assert len(lines) == 3
    for addr, src, proto, code, check, same, rtt in lines:
        assert (addr, src, proto, code) == (HOST_FROM_GUEST, HOST_FROM_GUEST, "1", "0")
        assert check == "0"  # the reply's ICMP checksum verifies
        assert same == "True"
        assert int(rtt) < 2000000


# DNS against a resolver of our own. lwIP's DNS client only talks to port
# 53, and slirp sends the guest's 10.0.2.2:53 to the host's 127.0.0.1:53. So
# that neither another test nor a local resolver can hold that port (and no
# query can leave the machine), QEMU runs in a network namespace of its own,
# with only a loopback interface, and the resolver's socket is made there.

CLONE_NEWNET = 0x40000000
NAMES = {"test.virt.example": "192.0.2.7", "other.virt.example": "192.0.2.8"}


def dns_answer(query):
    """The reply to one query: an A record for NAMES, NXDOMAIN otherwise."""
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    i = 12
    labels = []
    while query[i]:
        labels.append(query[i + 1 : i + 1 + query[i]].decode("ascii", "replace"))
        i += 1 + query[i]
    qtype, qclass = struct.unpack("!HH", query[i + 1 : i + 5])
    question = query[12 : i + 5]
    name = ".".join(labels).lower()
    rd = flags & 0x0100
    if name in NAMES:
        if qtype == 1:
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(NAMES[name])
            return name, qtype, struct.pack("!HHHHHH", ident, 0x8480 | rd, 1, 1, 0, 0) + question + answer
        return name, qtype, struct.pack("!HHHHHH", ident, 0x8480 | rd, 1, 0, 0, 0) + question  # no data
    return name, qtype, struct.pack("!HHHHHH", ident, 0x8483 | rd, 1, 0, 0, 0) + question  # NXDOMAIN


@pytest.fixture(params=TRANSPORTS)
def dns_guest(virt_guest_factory, request):
    """A guest in a private network namespace, with a DNS server on that
    namespace's 127.0.0.1:53 (the guest's 10.0.2.2:53); g.dns_queries lists
    (name, qtype, source address) as they come."""
    if os.geteuid() != 0:
        pytest.skip("a private network namespace (for a resolver on port 53) needs root")
    g = virt_guest_factory(transport=request.param, start=False,
                           prefix=["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"])
    g.dns_queries = []
    stop = threading.Event()
    bound = threading.Event()

    def resolver(pid):
        # Only this thread enters the namespace.
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 53))
            u.settimeout(0.1)
            bound.set()
            deadline = time.monotonic() + 120
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    query, addr = u.recvfrom(512)
                except socket.timeout:
                    continue
                name, qtype, reply = dns_answer(query)
                g.dns_queries.append((name, qtype, addr[0]))
                u.sendto(reply, addr)

    task = None
    try:
        # The resolver first (in QEMU's namespace, so QEMU must run), then the prompt.
        g.start(wait_prompt=False)
        task = HostTask(resolver, g.proc.pid)
        assert bound.wait(5), "the resolver did not start: %r" % (task.result(1),)
        g.wait_prompt(timeout=20)
        assert g.wait_dhcp() == "10.0.2.15"
        yield g
    finally:
        stop.set()
        g.stop()
        if task is not None:
            task.result(5)


def test_dns_from_own_resolver(dns_guest):
    g = dns_guest
    out = g.exec(
        "import socket, network\n"
        "network.ipconfig(dns='%s')\n"
        "print(network.ipconfig('dns'))\n"
        "print(socket.getaddrinfo('test.virt.example', 80))\n"
        "print(socket.getaddrinfo('other.virt.example', 443)[0][-1])\n"
        "try:\n"
        "    socket.getaddrinfo('missing.virt.example', 80)\n"
        "    print('resolved')\n"
        "except OSError as e:\n"
        "    print('OSError', e.errno)\n" % HOST_FROM_GUEST,
        timeout=30,
    )
    dns, first, second, missing = out.strip().splitlines()
    assert dns == HOST_FROM_GUEST
    assert first == "[(2, 1, 0, '', ('192.0.2.7', 80))]"
    assert second == "('192.0.2.8', 443)"
    # modlwip raises a failed lookup as OSError(-2) (not an errno; CPython has gaierror).
    assert missing == "OSError -2"
    asked = [(name, qtype) for name, qtype, _ in g.dns_queries]
    assert ("test.virt.example", 1) in asked
    assert ("other.virt.example", 1) in asked
    assert ("missing.virt.example", 1) in asked
    assert set(name for name, _ in asked) <= set(NAMES) | {"missing.virt.example"}
    assert set(src for _, _, src in g.dns_queries) == {"127.0.0.1"}


# Link down and up from the QEMU monitor.

LINK_SETUP = """
import socket, network, _virt, time
lan = network.LAN()
def wait_link(up, ms=5000):
    t = time.ticks_ms()
    while _virt.net_info()['link_up'] != up and time.ticks_diff(time.ticks_ms(), t) < ms:
        time.sleep_ms(5)
    return _virt.net_info()['link_up'] == up
def echo(s, msg):
    s.write(msg)
    got = b''
    while len(got) < len(msg):
        d = s.recv(100)
        if not d:
            break
        got += d
    return got == msg
old = socket.socket()
old.settimeout(15)
old.connect(('%s', %d))
print(echo(old, b'before'), lan.status(), _virt.net_info()['config_changes'])
"""

LINK_WHILE_DOWN = """
print(wait_link(False), lan.status(), lan.isconnected(), _virt.net_info()['config_changes'])
# lwIP has no route while the link is down: a write is queued but reports
# EHOSTUNREACH, and a new connection fails at once.
try:
    old.write(b'during')
    print('written')
except OSError as e:
    print('OSError', e.errno)
c = socket.socket()
c.settimeout(5)
try:
    c.connect(('%s', %d))
    print('connected')
except OSError as e:
    print('OSError', e.errno)
c.close()
"""

LINK_AFTER = """
print(wait_link(True), lan.status(), lan.isconnected(), _virt.net_info()['config_changes'])
# What was queued during the outage is retransmitted.
got = b''
while len(got) < 6:
    d = old.recv(100)
    if not d:
        break
    got += d
print(got)
print(echo(old, b'after'))
new = socket.socket()
new.settimeout(10)
new.connect(('%s', %d))
print(echo(new, b'new connection'))
new.close()
old.close()
"""


def test_link_down_and_up(net_guest):
    g = net_guest
    srv = listener()
    port = srv.getsockname()[1]
    task = HostTask(echo_server, srv, 2)
    try:
        before = g.exec(LINK_SETUP % (HOST_FROM_GUEST, port)).split()
        assert before[:2] == ["True", "3"]
        changes = int(before[2])

        g.set_link(False)
        down = g.exec(LINK_WHILE_DOWN % (HOST_FROM_GUEST, port)).strip().splitlines()
        assert down[0].split() == ["True", "0", "False", str(changes + 1)]
        assert down[1] in ("written", "OSError 113")  # EHOSTUNREACH
        assert down[2] == "OSError 113"
        time.sleep(0.3)

        g.set_link(True)
        after = g.exec(LINK_AFTER % (HOST_FROM_GUEST, port), timeout=30).strip().splitlines()
        task.result(HOST_TIMEOUT + 10)
    finally:
        srv.close()
    assert after[0].split() == ["True", "3", "True", str(changes + 2)]
    assert after[1] == "b'during'"
    assert after[2] == "True"  # the connection made before the outage survives it
    assert after[3] == "True"  # and new ones work
    info = g.net_info()
    assert info["link_up"] is True
    assert info["rx_errors"] == 0 and info["resets"] == 0


# The socket API: literal getaddrinfo, timeouts, non-blocking connect and
# recv, select.poll.

# On slirp's network, but not one of its addresses: nothing answers ARP.
UNANSWERED = "10.0.2.99"

SOCKET_API = """
import socket, select, errno, time
addr = socket.getaddrinfo('%s', %d)[0][-1]
print(socket.getaddrinfo('%s', 80))

def elapsed(t):
    return time.ticks_diff(time.ticks_ms(), t)

# A blocking recv with a timeout, on a connection that stays quiet.
quiet = socket.socket()
quiet.settimeout(5)
quiet.connect(addr)
quiet.settimeout(0.3)
t = time.ticks_ms()
try:
    quiet.recv(10)
    print('data')
except OSError as e:
    print(e.errno == errno.ETIMEDOUT, elapsed(t))

# The same for UDP.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 9999))
u.settimeout(0.2)
t = time.ticks_ms()
try:
    u.recv(10)
    print('data')
except OSError as e:
    print(e.errno == errno.ETIMEDOUT, elapsed(t))
u.setblocking(False)
try:
    u.recv(10)
    print('data')
except OSError as e:
    print(e.errno == errno.EAGAIN)
u.close()

# Non-blocking connect to an address slirp does not answer ARP for: the
# SYN waits for ARP, so the connect is in progress and not writable yet.
n = socket.socket()
n.setblocking(False)
try:
    n.connect(('%s', 80))
    print('connected')
except OSError as e:
    print(e.errno == errno.EINPROGRESS)
p = select.poll()
p.register(n, select.POLLOUT)
print(p.poll(100))
p.unregister(n)
n.close()

# Non-blocking connect to the host (slirp may answer before connect
# returns), then poll for writable, then non-blocking recv.
s = socket.socket()
s.setblocking(False)
try:
    s.connect(addr)
    print(True)
except OSError as e:
    print(e.errno == errno.EINPROGRESS)
p.register(s, select.POLLOUT)
ev = p.poll(5000)
print(len(ev) == 1 and ev[0][0] is s and bool(ev[0][1] & select.POLLOUT))
try:
    s.recv(10)
    print('data')
except OSError as e:
    print(e.errno == errno.EAGAIN)
# Nothing to read yet: poll times out empty.
p.modify(s, select.POLLIN)
t = time.ticks_ms()
print(p.poll(200), elapsed(t))
s.send(b'go')  # the host answers 'later', then closes
ev = p.poll(5000)
print(len(ev) == 1 and bool(ev[0][1] & select.POLLIN), s.recv(10))
got = b'x'
t = time.ticks_ms()
while got and elapsed(t) < 5000:
    if p.poll(1000):
        got = s.recv(10)
print(got)
s.close()
quiet.close()

# A port nobody listens on: slirp resets the connection.
r = socket.socket()
r.settimeout(5)
try:
    r.connect(('%s', %d))
    print('connected')
except OSError as e:
    print(e.errno in (errno.ECONNRESET, errno.ECONNREFUSED, errno.ECONNABORTED))
r.close()
"""


def test_socket_timeouts_nonblocking_and_poll(net_guest):
    g = net_guest
    srv = listener()
    port = srv.getsockname()[1]
    with socket.socket() as probe:  # a port that refuses: bound, never listening
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

        def serve():
            quiet, _ = srv.accept()
            with quiet:
                quiet.settimeout(HOST_TIMEOUT)
                c, _ = srv.accept()
                with c:
                    c.settimeout(HOST_TIMEOUT)
                    assert c.recv(10) == b"go"
                    c.sendall(b"later")
                # The quiet connection never sends; it ends when the guest closes it.
                return quiet.recv(10)

        task = HostTask(serve)
        try:
            out = g.exec(
                SOCKET_API % (HOST_FROM_GUEST, port, HOST_FROM_GUEST, UNANSWERED, HOST_FROM_GUEST, closed_port),
                timeout=40,
            )
            assert task.result(HOST_TIMEOUT) == b""
        finally:
            srv.close()
    lines = out.strip().splitlines()
    assert lines[0] == "[(2, 1, 0, '', ('%s', 80))]" % HOST_FROM_GUEST
    ok, ms = lines[1].split()
    assert ok == "True" and 280 <= int(ms) < 2000  # TCP recv timeout: ETIMEDOUT
    ok, ms = lines[2].split()
    assert ok == "True" and 180 <= int(ms) < 2000  # UDP recv timeout: ETIMEDOUT
    assert lines[3] == "True"  # non-blocking UDP recv: EAGAIN
    assert lines[4] == "True"  # non-blocking connect: EINPROGRESS
    assert lines[5] == "[]"  # not writable while connecting
    assert lines[6] == "True"  # non-blocking connect to the host: EINPROGRESS or done
    assert lines[7] == "True"  # then POLLOUT once connected
    assert lines[8] == "True"  # non-blocking recv with nothing there: EAGAIN
    empty, ms = lines[9].rsplit(None, 1)
    assert empty == "[]" and 180 <= int(ms) < 2000
    assert lines[10] == "True b'later'"
    assert lines[11] == "b''"  # POLLIN at the host's close, then EOF
    assert lines[12] == "True"  # a closed port fails the connect
    assert len(lines) == 13


# Sockets used from a scheduled callback and from a soft machine.Timer
# callback: the scheduler is locked while they run, and lwIP, which runs at
# thread level, must still get its turn in their waits.

SCHEDULED_CLIENT = """
import micropython, machine, socket, time
got = []
def talk(what):
    s = socket.socket()
    s.settimeout(5)
    s.connect((%r, %d))
    s.write(what)
    got.append(s.recv(100))
    s.close()
micropython.schedule(talk, b'scheduled')
tim = machine.Timer(-1, mode=machine.Timer.ONE_SHOT, period=10, callback=lambda t: talk(b'timer'))
"""


def test_sockets_from_scheduled_and_timer_callbacks(net_guest):
    g = net_guest
    srv = host_listener()

    def serve():
        out = []
        for _ in range(2):
            c, _ = srv.accept()
            with c:
                c.settimeout(10)
                data = c.recv(100)
                out.append(data)
                c.sendall(b"echo:" + data)
        return sorted(out)

    try:
        task = HostTask(serve)
        g.repl("exec(%r)" % (SCHEDULED_CLIENT % (HOST_FROM_GUEST, srv.getsockname()[1])))
        assert task.result(timeout=30) == [b"scheduled", b"timer"]
        out = g.repl("exec(%r)" % "for _ in range(100):\n if len(got) == 2: break\n time.sleep_ms(20)\nprint(sorted(got))")
        assert out.strip().endswith("[b'echo:scheduled', b'echo:timer']")
    finally:
        srv.close()
