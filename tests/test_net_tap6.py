"""IPv6 on the tap, and the guest talking to its own addresses, with checksum offload on.

As in test_net_tap.py the guest runs on a tap in a network namespace the test
creates, Linux is the peer and QEMU's tap backend offers VIRTIO_NET_F_CSUM and
GUEST_CSUM, so lwIP leaves TCP/UDP checksums to the driver (network_lan.c).
These tests check that IPv6 TCP and UDP leave the guest with valid checksums
(Linux counts the bad ones: Tcp InCsumErrors, Udp6InCsumErrors) and that
traffic lwIP loops back to the guest's own IPv4/IPv6 addresses works.

Addresses, all inside the namespace: 192.168.77.0/24, the guest's link-local
one (fe80::5054:ff:fe12:3456, ~2 s after boot: duplicate address detection),
fe80::1 on the tap; the own-address test gives the guest fd77::2 as well.

lwIP is built with IPv6 scopes (netifs lo0 and en1): a socket that talks to a
link-local peer is bound to the guest's own link-local address first, which
gives the zone (an unbound one gets EHOSTUNREACH on connect, EINVAL on
sendto; a UDP socket bound on '::' cannot reply to a link-local sender).
"""

import collections
import subprocess
import time

import pytest
import virtmp

from support import TRANSPORTS
from tap_peer import BULK_BYTES, PEER, check_bulk, guest_bulk, parse, start_peer
from test_net_tap import (GUEST_IP, HOST_IP, PREFIX, TAP, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, _skip_reason,
                          finish_raw, start_raw)

pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")

HOST_LL = "fe80::1"  # added to the tap (nodad), so it is there before the guest starts
GUEST_ULA = "fd77::2"  # a static address for the own-address test
TCP_PORT = 9600
UDP_PORT = 9601
ACK_PORT = 9602  # IPv4: the guest's acknowledgements of Linux's IPv6 datagrams
CONNECT_TIMEOUT = 10  # any one connection attempt, guest or Linux
UDP_COUNT = 300
# 1452 is the largest payload in one 1500-byte IPv6 packet, 1453 and 3000 are fragmented.
UDP_SIZES = (8, 100, 512, 1000, 1400, 1452, 1453, 3000)
REPLY_SALT = 97  # replies carry other bytes than requests

# Datagram contents, the same on both ends: seq and size, then bytes of PAT
# from an offset that depends on seq (and salt).
PATTERN = """
import struct
PAT = bytes((i * 7 + 3) & 255 for i in range(4096))
def dgram(seq, size, salt):
    o = (seq + salt) % 251
    return struct.pack('!II', seq, size) + PAT[o:o + size - 8]
"""
GUEST_PATTERN = PATTERN.replace("%", "%%")  # for guest code that is %-formatted

# Linux's end, run inside the namespace: python3 -c HOST MODE ARGS...
HOST = PATTERN + PEER + r"""
mode, tap, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

if mode == "tcp-server":  # the guest connects, sends n bytes, then receives n
    t = start_sniffer(tap, port, 150)
    srv = socket.create_server(("::", port), family=socket.AF_INET6)
    srv.settimeout(20)
    print("READY", flush=True)
    serve_bulk(srv, n, 60)
    finish_sniffer(t)
elif mode == "tcp-client":  # Linux connects to the guest, sends n bytes, then receives n
    t = start_sniffer(tap, port, 150)
    try:
        c = socket.create_connection((sys.argv[5] + "%" + tap, port), timeout=float(sys.argv[6]))
    except OSError as e:
        print("CONNECT_FAILED", repr(e).replace(" ", ""), flush=True)
        sys.exit(1)
    print("CONNECTED", flush=True)
    c.settimeout(60)
    send_bulk(c, n)
    recv_bulk(c, n)
    c.close()
    finish_sniffer(t)
elif mode == "udp-echo":  # checks the guest's datagrams, answers each with a reply datagram
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", port)), s.settimeout(8)  # idle
    print("READY", flush=True)
    good, bad, end = set(), 0, time.monotonic() + 90
    while len(good) < n and time.monotonic() < end:
        try:
            d, a = s.recvfrom(65536)
        except socket.timeout:
            break
        seq, size = struct.unpack("!II", d[:8]) if len(d) >= 8 else (0, 0)
        if len(d) == size and d == dgram(seq, size, 0):
            good.add(seq)
            s.sendto(dgram(seq, size, int(sys.argv[5])), a)
        else:
            bad += 1
    print("ECHO", len(good), bad, flush=True)
elif mode == "udp-send":  # datagrams to the guest, each acknowledged over IPv4 UDP
    ack = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ack.bind((sys.argv[6], int(sys.argv[7])))
    ack.settimeout(0.5)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    to = socket.getaddrinfo(sys.argv[5] + "%" + tap, port, socket.AF_INET6, socket.SOCK_DGRAM)[0][4]  # scope id
    sizes = [int(x) for x in sys.argv[8].split(",")]
    acked = nacked = sent = 0
    for seq in range(n):
        msg = dgram(seq, sizes[seq % len(sizes)], 0)
        for attempt in range(4):
            s.sendto(msg, to)
            sent += 1
            try:
                while True:
                    a = ack.recv(16)
                    if struct.unpack("!I", a[:4])[0] == seq:
                        break  # acks of earlier tries skipped
            except socket.timeout:
                continue
            acked += a[4] == 1
            nacked += a[4] != 1
            break
        else:
            print("LOST", seq, flush=True)
            break
    print("ACKED", acked, nacked, sent, flush=True)
print("DONE", flush=True)
"""


def host_start(g, mode, port, n, *args):
    p = start_peer(g.ns, HOST, mode, TAP, port, n, *args)
    g.host_procs.append(p)  # killed in tap6's teardown
    return p


def host_finish(p, timeout):
    """(dict of the lines Linux's end printed, stdout, stderr); killed after timeout s."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=5)
        err += "\n[killed after %ss]" % timeout
    return parse(out), out, err


def csum_errors(ns):
    """Linux's counts of TCP (v4 and v6), UDP and UDPv6 datagrams dropped for a bad checksum."""
    lines = ns.run("cat", "/proc/net/snmp", "/proc/net/snmp6", timeout=10, check=True).stdout.splitlines()
    got = dict((line.split()[0], int(line.split()[1])) for line in lines if line.startswith("Udp6"))
    for names, values in zip(lines, lines[1:]):  # snmp: a line of names, then one of values
        if names.split()[0] == values.split()[0] in ("Tcp:", "Udp:"):
            got.update(zip((names[:3] + k for k in names.split()[1:]), map(int, values.split()[1:])))
    return {k: got[k] for k in ("TcpInCsumErrors", "UdpInCsumErrors", "Udp6InCsumErrors")}


def assert_no_new_csum_errors(g, before, context):
    after = csum_errors(g.ns)
    grown = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert not grown, "Linux dropped frames from the guest for bad checksums: %s\n%s" % (grown, context)


# What an exchange between the guest and Linux's end gave: each end's parsed
# output, both outputs for assertion messages, and how long it took.
Run = collections.namedtuple("Run", "guest host context seconds")


def guest_as_client(g, code, timeout, failed, host_args, host_timeout):
    """Linux's end (host_start(g, *host_args)) up, then code in the guest; if
    the guest prints `failed` (gave up on Linux), Linux's end is killed rather
    than waited for. Asserts as run_checked does, and that nothing failed."""
    before = csum_errors(g.ns)
    p = host_start(g, *host_args)
    assert p.stdout.readline().strip() == "READY", p.stderr.read()
    t0 = time.monotonic()
    g.enter_raw()
    out, err = g.raw_exec(code, timeout=timeout)
    g.exit_raw()
    if failed in out:
        p.kill()
    run = run_checked(g, before, t0, out, err, host_finish(p, host_timeout))
    assert failed not in out, run.context
    return run


def guest_as_server(g, code, timeout, ready, host_args, host_timeout):
    """code started in the guest, then, once it prints `ready`, Linux's end
    (host_start(g, *host_args)); asserts as run_checked does."""
    before = csum_errors(g.ns)
    start_raw(g, code)
    g.read_until(ready, 10)
    t0 = time.monotonic()
    host_result = host_finish(host_start(g, *host_args), host_timeout)
    out, err = finish_raw(g, timeout)
    return run_checked(g, before, t0, out, err, host_result)


def run_checked(g, before, t0, out, err, host_result):
    """The Run; asserts Linux counted no bad checksums (since before) and the guest raised nothing."""
    host, host_out, host_err = host_result
    context = "guest: %s%s\nLinux: %s%s" % (out, err, host_out, host_err)
    assert_no_new_csum_errors(g, before, context)
    assert err == "", context
    return Run(parse(out), host, context, time.monotonic() - t0)


@pytest.fixture(params=TRANSPORTS)
def tap6(request, virt_guest_factory):
    """A guest on the tap with checksum offload negotiated, its link-local
    address usable (g.ll, as the guest writes it), and g.ns; Linux has fe80::1."""
    g = None
    with virtmp.TapNamespace(host_addr="%s/%d" % (HOST_IP, PREFIX), tap=TAP) as ns:
        try:
            ns.ip("addr", "add", HOST_LL + "/64", "dev", TAP, "nodad")
            g = virt_guest_factory(transport=request.param, net=ns.nic(),
                                   append="ip=%s/%d,%s" % (GUEST_IP, PREFIX, HOST_IP), start=False)
            g.host_procs = []
            g.ns = ns
            g.start()
            info = g.net_info()
            assert info["features"] & VIRTIO_NET_F_CSUM and info["features"] & VIRTIO_NET_F_GUEST_CSUM, \
                "checksum offload not negotiated: %#x" % info["features"]
            ll = g.exec(
                "import network, time\n"
                "t = time.ticks_ms()\n"
                "while True:\n"
                "    a = [x[0] for x in network.LAN().ipconfig('addr6') if x[0].lower().startswith('fe80:')]\n"
                "    if a or time.ticks_diff(time.ticks_ms(), t) > 8000:\n"
                "        break\n"
                "    time.sleep_ms(50)\n"
                "print(a)\n", timeout=15).strip()
            assert ll.startswith("['"), "no link-local IPv6 address in the guest after 8 s: %s" % ll
            g.ll = ll[2:-2]
            g.repl("")
            yield g
        finally:
            for p in getattr(g, "host_procs", ()):
                if p.poll() is None:
                    p.kill(), p.wait(5)
            if g is not None:
                g.stop()  # before the namespace and its tap go


GUEST_TCP_CLIENT = """
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(('%(ll)s', 0))
s.settimeout(%(connect_timeout)d)
try:
    s.connect(('%(host)s', %(port)d))
except OSError as e:
    print('CONNECT_FAILED', e.errno)
else:
    s.settimeout(60)
    send_bulk(s)
    recv_bulk(s)
s.close()
"""

GUEST_TCP_SERVER = """
import socket
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('::', %(port)d))
srv.listen(1)
srv.settimeout(%(accept_timeout)d)
print('LISTENING')
try:
    s, peer = srv.accept()
except OSError as e:
    print('ACCEPT_FAILED', e.errno)
else:
    print('PEER', peer[0])
    s.settimeout(60)
    recv_bulk(s)
    send_bulk(s)
    s.close()
srv.close()
"""


def bulk_both_ways(g, exchange, *args):
    """The Run of exchange(g, *args) (guest_as_client or guest_as_server: a
    bulk transfer), checked at both receivers; the guest counted no receive
    errors. From the guest, partial (offloaded) or full checksums will do:
    Linux found no bad ones."""
    info = g.net_info()
    run = exchange(g, *args)
    check_bulk("%s: IPv6" % g.transport, run.guest, run.host, run.context, run.seconds)
    assert g.net_info()["rx_errors"] == info["rx_errors"]
    return run


def test_ipv6_tcp_guest_connects_to_linux_bulk_both_ways(tap6):
    g = tap6
    code = guest_bulk(GUEST_TCP_CLIENT, ll=g.ll, host=HOST_LL, port=TCP_PORT, connect_timeout=CONNECT_TIMEOUT)
    run = bulk_both_ways(g, guest_as_client, code, 180, "CONNECT_FAILED", ("tcp-server", TCP_PORT, BULK_BYTES), 40)
    assert run.host.get("PEER", [""])[0].lower() == g.ll.lower(), run.context


def test_ipv6_tcp_linux_connects_to_guest_server_on_any(tap6):
    g = tap6
    code = guest_bulk(GUEST_TCP_SERVER, port=TCP_PORT, accept_timeout=CONNECT_TIMEOUT + 5)
    client = ("tcp-client", TCP_PORT, BULK_BYTES, g.ll.lower(), CONNECT_TIMEOUT)
    run = bulk_both_ways(g, guest_as_server, code, CONNECT_TIMEOUT + 120, b"LISTENING", client, CONNECT_TIMEOUT + 120)
    assert "CONNECTED" in run.host and "PEER" in run.guest, run.context


GUEST_UDP_CLIENT = GUEST_PATTERN + """
import socket
sizes = %(sizes)r
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('%(ll)s', 0))
s.settimeout(0.5)
good = bad = retries = 0
for seq in range(%(count)d):
    size = sizes[seq %% len(sizes)]
    msg = dgram(seq, size, 0)
    d = None
    for attempt in range(3):
        s.sendto(msg, ('%(host)s', %(port)d))
        try:
            while True:
                d = s.recvfrom(4096)[0]
                if d[:4] == msg[:4]:
                    break  # replies to earlier tries skipped
            break
        except OSError:
            d = None
            retries += 1
    if d is None:
        print('LOST', seq, size)
        break
    if d == dgram(seq, size, %(salt)d):
        good += 1
    else:
        bad += 1
print('UDP', good, bad, retries)
"""


def test_ipv6_udp_both_ways(tap6):
    """The guest sends datagrams to Linux, which checks each and answers with a
    reply of the same size that the guest checks; some are fragmented."""
    g = tap6
    code = GUEST_UDP_CLIENT % {"sizes": UDP_SIZES, "ll": g.ll, "count": UDP_COUNT, "host": HOST_LL, "port": UDP_PORT,
                               "salt": REPLY_SALT}
    run = guest_as_client(g, code, 90, "LOST", ("udp-echo", UDP_PORT, UDP_COUNT, REPLY_SALT), 20)
    assert run.guest["UDP"][:2] == [str(UDP_COUNT), "0"], run.context
    assert run.host["ECHO"] == [str(UDP_COUNT), "0"], run.context


GUEST_UDP_SERVER = GUEST_PATTERN + """
import socket
r = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
r.bind(('::', %(port)d))
r.settimeout(5)
ack = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
seen = set()
bad = dup = 0
sizes = set()
print('READY')
while len(seen) < %(count)d:
    try:
        d, a = r.recvfrom(4096)
    except OSError:
        break
    seq, size = struct.unpack('!II', d[:8]) if len(d) >= 8 else (0, 0)
    ok = len(d) == size and d == dgram(seq, size, 0)
    if not ok:
        bad += 1
    elif seq in seen:
        dup += 1
    else:
        seen.add(seq)
        sizes.add(size)
    ack.sendto(struct.pack('!IB', seq, int(ok)), ('%(host4)s', %(ackport)d))
print('GOT', len(seen), bad, dup, len(sizes))
"""


def test_ipv6_udp_linux_to_guest(tap6):
    """Linux's IPv6 datagrams (partial checksums the guest completes) to a
    guest socket bound on '::'; the guest acknowledges each over IPv4, so this
    direction is checked on its own."""
    g = tap6
    code = GUEST_UDP_SERVER % {"port": UDP_PORT, "count": UDP_COUNT, "host4": HOST_IP, "ackport": ACK_PORT}
    sender = ("udp-send", UDP_PORT, UDP_COUNT, g.ll.lower(), HOST_IP, ACK_PORT, ",".join(map(str, UDP_SIZES)))
    run = guest_as_server(g, code, 20, b"READY", sender, 90)
    got, bad, dup, sizes = run.guest["GOT"]  # dup: sent again when an ack was lost
    assert (got, bad, sizes) == (str(UDP_COUNT), "0", str(len(UDP_SIZES))), run.context
    assert run.host["ACKED"][:2] == [str(UDP_COUNT), "0"], run.context


# The guest talks to itself: for each address a TCP server and client
# (data both ways) and two UDP sockets (a request and a reply each of a few
# sizes, one fragmented). Results per address: OK or FAIL lines.
GUEST_SELF = """
import socket, time
def read_exact(s, n):
    b = b''
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            break
        b += d
    return b
def tcp_self(fam, addr, port):
    srv = socket.socket(fam, socket.SOCK_STREAM)
    c = socket.socket(fam, socket.SOCK_STREAM)
    a = None
    try:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(1)
        srv.settimeout(%(timeout)d)
        c.bind((addr, 0))
        c.setblocking(False)
        try:
            c.connect((addr, port))
        except OSError as e:
            if e.errno != 115:  # EINPROGRESS
                raise
        a, peer = srv.accept()
        a.settimeout(%(timeout)d)
        c.settimeout(%(timeout)d)
        up = bytes(range(256)) * 80
        down = bytes(range(255, -1, -1)) * 120
        c.write(up)
        got_up = read_exact(a, len(up))
        a.write(down)
        got_down = read_exact(c, len(down))
        return 'OK' if (got_up, got_down) == (up, down) else 'FAIL data %%d/%%d bytes' %% (len(got_up), len(got_down))
    except OSError as e:
        return 'FAIL %%r' %% e
    finally:
        for s in (a, c, srv):
            if s:
                s.close()
def udp_self(fam, addr, port):
    r = socket.socket(fam, socket.SOCK_DGRAM)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        r.bind((addr, port))
        s.bind((addr, 0))
        r.settimeout(%(timeout)d)
        s.settimeout(%(timeout)d)
        for size in (1, 1000, 3000):
            msg = bytes((size + i) & 255 for i in range(size))
            s.sendto(msg, (addr, port))
            d, peer = r.recvfrom(4096)
            if d != msg:
                return 'FAIL request of %%d: %%d bytes' %% (size, len(d))
            r.sendto(msg[1:] + msg[:1], peer)
            if s.recvfrom(4096)[0] != msg[1:] + msg[:1]:
                return 'FAIL reply of %%d' %% size
        return 'OK'
    except OSError as e:
        return 'FAIL %%r' %% e
    finally:
        r.close()
        s.close()
%(setup)s
for i, (fam, addr) in enumerate(%(targets)s):
    print('TCP', addr, tcp_self(fam, addr, 9700 + i))
    print('UDP', addr, udp_self(fam, addr, 9710 + i))
"""


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_own_addresses_with_offload(tap6, family):
    """Traffic lwIP loops back on the NIC's netif (to the guest's own
    address) never passes the device, so it needs checksums of its own.
    127.0.0.1 and ::1 (the loopback netif) check the same code first."""
    g = tap6
    info = g.net_info()
    if family == "ipv4":
        control, own = "(socket.AF_INET, '127.0.0.1')", ["(socket.AF_INET, %r)" % GUEST_IP]
        setup = ""
    else:
        control, own = "(socket.AF_INET6, '::1')", ["(socket.AF_INET6, %r)" % a for a in (g.ll, GUEST_ULA)]
        setup = "import network\nnetwork.LAN().ipconfig(addr6=%r)" % GUEST_ULA
    targets = "[%s]" % ", ".join([control] + own)
    g.enter_raw()
    out, err = g.raw_exec(GUEST_SELF % {"timeout": 5, "setup": setup, "targets": targets}, timeout=60)
    g.exit_raw()
    assert err == "", out + err
    results = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    assert len(results) == 2 * (1 + len(own)), out
    control_results = [r for r in results if r[1] in ("127.0.0.1", "::1")]
    assert all(r[2] == "OK" for r in control_results), "the loopback netif fails as well:\n" + out
    after = g.net_info()
    assert all(r[2] == "OK" for r in results), "traffic to the guest's own address fails:\n%s%r" % (out, after)
    assert after["tx_errors"] == info["tx_errors"] and after["rx_errors"] == info["rx_errors"]
    # The looped TCP segments were checksummed by the port (offload is on).
    assert after["loop_csum_fills"] > info["loop_csum_fills"]
