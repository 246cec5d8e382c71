"""The frozen vnet package (TamaGo's Go vnet API in Python) on both transports.

Host peers listen on 127.0.0.1 only; the guest reaches them as 10.0.2.2
through slirp, or exchanges raw Ethernet frames with the test over a QEMU
dgram netdev (UDP on 127.0.0.1). Every QEMU is killed when its test ends and
every wait is bounded.
"""

import ast
import socket
import struct
import textwrap
import threading
import time

import pytest
import virtmp
from virtmp import free_port, host_listener

import support
from support import GUEST_CSUM, GUEST_IP, TRANSPORTS, inet_csum

GUEST_PORT = 7000  # the guest's listener port, forwarded from 127.0.0.1
GUEST_MAC = bytes.fromhex("525400123456")


def run(g, code, timeout=30):
    """Run code in the guest's raw REPL; its stdout (stderr must be empty)."""
    out, err = g.raw_exec(textwrap.dedent(code), timeout=timeout)
    assert err == "", err
    return out


def value(g, expr, timeout=30):
    """A Python literal the guest prints (repr) for expr."""
    return ast.literal_eval(run(g, "print(repr(%s))" % expr, timeout).strip())


@pytest.fixture(params=TRANSPORTS)
def vg(request, virt_guest_factory):
    """A guest on slirp (DHCP done), 127.0.0.1:vg.host_port(7000) -> guest port 7000, in the raw REPL."""
    g = virt_guest_factory(transport=request.param, forwards=[GUEST_PORT])
    assert g.wait_dhcp() == GUEST_IP
    g.enter_raw()
    run(g, "import vnet, _virt, socket, network, time, struct, errno")
    return g


# Host peers on 127.0.0.1.

class TCPEcho:
    """Echoes every connection until it closes; bounded in time."""

    def __init__(self, backlog=4):
        self.srv = host_listener(backlog, timeout=0.2)
        self.port = self.srv.getsockname()[1]
        self.accepted = 0
        self.stop_at = time.monotonic() + 60
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while time.monotonic() < self.stop_at:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    def _echo(self, c):
        c.settimeout(20)
        with c:
            try:
                while True:
                    data = c.recv(4096)
                    if not data:
                        return
                    c.sendall(data)
            except OSError:
                pass

    def close(self):
        self.stop_at = 0
        self.srv.close()
        self.thread.join(5)


class UDPEcho:
    """Answers each datagram with b"echo:" + it, to its sender."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.stop_at = time.monotonic() + 60
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while time.monotonic() < self.stop_at:
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.peers.append(peer)
            self.sock.sendto(b"echo:" + data, peer)

    def close(self):
        self.stop_at = 0
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def tcp_echo():
    s = TCPEcho()
    yield s
    s.close()


@pytest.fixture
def udp_echo():
    s = UDPEcho()
    yield s
    s.close()


# 1. Constants: the Go values, and what the device reports.

GO_CONSTANTS = {
    "DEVICE_ID": 0x01, "CONFIG_SIZE": 12, "RECEIVE_QUEUE": 0, "TRANSMIT_QUEUE": 1,
    "STATUS_DOWN": 0, "STATUS_UP": 1, "SPEED_MIN": 0, "SPEED_MAX": 0x7FFFFFFF,
    "DUPLEX_HALF": 0, "DUPLEX_FULL": 1,
    "HASH_TYPE_IPV4": 1 << 0, "HASH_TYPE_TCPV4": 1 << 1, "HASH_TYPE_UDPV4": 1 << 2,
    "HASH_TYPE_IPV6": 1 << 3, "HASH_TYPE_TCPV6": 1 << 4, "HASH_TYPE_UDPV6": 1 << 5,
    "HASH_TYPE_IP_EX": 1 << 6, "HASH_TYPE_TCP_EX": 1 << 7, "HASH_TYPE_UDP_EX": 1 << 8,
    "FEATURE_CHECKSUM": 1 << 0, "FEATURE_MTU": 1 << 3, "FEATURE_MAC": 1 << 5,
    "FEATURE_STATUS": 1 << 16, "FEATURE_SPEED_DUPLEX": 1 << 63,
    "DRIVER_FEATURES": (1 << 0) | (1 << 3) | (1 << 5) | (1 << 16) | (1 << 63),
    "NEEDS_CHECKSUM": 0, "MTU": 1518, "NICID": 1,
}


def test_constants_have_the_go_values_and_match_the_device(vg):
    names = sorted(GO_CONSTANTS)
    got = value(vg, "{n: getattr(vnet, n) for n in %r}" % (names,))
    assert got == GO_CONSTANTS
    info = value(vg, "_virt.net_info()")
    if support.bus(vg.transport) == "mmio":
        # The device behind it: a virtio-mmio network card (DeviceID register, offset 8).
        regs = value(vg, "[__import__('machine').mem32[_virt.net_info()['base'] + o] for o in (0, 4, 8)]")
        assert regs == [0x74726976, info["version"], GO_CONSTANTS["DEVICE_ID"]]
    else:
        # A virtio-pci function: 0x1000 + DEVICE_ID - 1 is virtio-net's transitional PCI ID.
        funcs = value(vg, "_virt.pci()[1]")
        assert [f["device"] for f in funcs if f["vendor"] == 0x1AF4 and f["device"] == 0x1000] == [0x1000]
    # slirp's virtio-net offers MAC and STATUS (not CSUM: no vnet_hdr peer,
    # nor MTU without host_mtu); the driver takes them.
    for bit in ("FEATURE_MAC", "FEATURE_STATUS"):
        assert info["device_features"] & GO_CONSTANTS[bit], bit
        assert info["features"] & GO_CONSTANTS[bit], bit
    assert not info["device_features"] & (GO_CONSTANTS["FEATURE_CHECKSUM"] | GO_CONSTANTS["FEATURE_MTU"])
    assert info["status"] == GO_CONSTANTS["STATUS_UP"]
    assert info["max_virtqueue_pairs"] == 1
    assert value(vg, "vnet.Net().config().status") == GO_CONSTANTS["STATUS_UP"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_feature_mtu_and_config_mtu_from_the_device(transport, virt_guest_factory):
    """With host_mtu QEMU offers FEATURE_MTU and puts the MTU in the config space."""
    g = virt_guest_factory(transport=transport, net=virtmp.Slirp(device_opts=",host_mtu=1400"), append="ip=off")
    g.enter_raw()
    run(g, "import vnet, _virt")
    info = value(g, "_virt.net_info()")
    assert info["device_features"] & GO_CONSTANTS["FEATURE_MTU"]
    assert info["features"] & GO_CONSTANTS["FEATURE_MTU"]
    cfg = value(g, "vnet.Net().config().to_bytes()")
    assert cfg == struct.pack("<6sHHH", GUEST_MAC, 1, 1, 1400)


def test_config_status_follows_the_link(vg):
    vg.monitor("set_link n0 off")
    run(vg, """
        t = time.ticks_ms()
        while vnet.Net().config().status != vnet.STATUS_DOWN and time.ticks_diff(time.ticks_ms(), t) < 5000:
            time.sleep_ms(10)
    """)
    assert value(vg, "vnet.Net().config().status") == 0
    vg.monitor("set_link n0 on")
    run(vg, """
        t = time.ticks_ms()
        while vnet.Net().config().status != vnet.STATUS_UP and time.ticks_diff(time.ticks_ms(), t) < 5000:
            time.sleep_ms(10)
    """)
    assert value(vg, "vnet.Net().config().status") == 1
    assert value(vg, "vnet.Net().stats()['config_changes']") >= 2


# 2. Config and Header: the wire layouts.

def test_config_from_the_device_and_its_wire_layout(vg):
    cfg = value(vg, "(lambda c: (c.mac, c.status, c.max_virtual_queue_pairs, c.mtu, c.to_bytes()))(vnet.Net().config())")
    mac, status, pairs, mtu, wire = cfg
    assert (mac, status, pairs, mtu) == (GUEST_MAC, 1, 1, 1500)
    assert wire == struct.pack("<6sHHH", GUEST_MAC, 1, 1, 1500)
    assert len(wire) == GO_CONSTANTS["CONFIG_SIZE"]
    raw = struct.pack("<6sHHH", bytes(range(1, 7)), 0, 3, 9000)
    back = value(vg, """(lambda c: (c.mac, c.status, c.max_virtual_queue_pairs, c.mtu, c.to_bytes(),
        c == vnet.Config(bytes(range(1, 7)), 0, 3, 9000)))(vnet.Config.from_bytes(%r))""" % raw)
    assert back == (bytes(range(1, 7)), 0, 3, 9000, raw, True)
    out = run(vg, """
        for b in (bytes(11), bytes(13)):
            try:
                vnet.Config.from_bytes(b)
            except ValueError as e:
                print('ValueError', e)
    """)
    assert out.count("ValueError") == 2


def test_header_wire_layout(vg):
    fields = dict(flags=1, gso_type=3, hdr_len=0x1234, gso_size=0x5678, csum_start=34, csum_offset=16, num_buffers=2)
    modern = struct.pack("<BBHHHHH", *fields.values())
    legacy = modern[:10]
    got = value(vg, "(lambda h: (h.to_bytes(), h.to_bytes(12), h.to_bytes(10)))(vnet.Header(**%r))" % fields)
    assert got == (modern, modern, legacy)
    names = list(fields)
    back = value(vg, "[[getattr(vnet.Header.from_bytes(b), n) for n in %r] for b in (%r, %r)]" % (names, modern, legacy))
    assert back[0] == list(fields.values())
    assert back[1] == list(fields.values())[:6] + [0]  # legacy headers have no num_buffers
    assert value(vg, "vnet.Header.from_bytes(%r) == vnet.Header(**%r)" % (modern, fields)) is True
    assert value(vg, "vnet.Header().to_bytes()") == bytes(12)
    out = run(vg, """
        for f in (lambda: vnet.Header.from_bytes(bytes(11)), lambda: vnet.Header().to_bytes(8)):
            try:
                f()
            except ValueError as e:
                print('ValueError', e)
    """)
    assert out.count("ValueError") == 2


# 3. Net: the device, raw frames.

def test_net_fields_and_counters(vg):
    info = value(vg, "_virt.net_info()")
    got = value(vg, "(lambda n: (n.index, n.irq, n.mtu, n.header_length, n.transport, n.stats()))(vnet.Net())")
    index, irq, mtu, header_length, transport, stats = got
    assert (index, irq, mtu) == (0, info["irq"], 1518)
    assert header_length == (12 if support.modern(vg.transport) else 10) == info["hdr_len"]
    assert transport == {"bus": support.bus(vg.transport), "base": info["base"], "version": info["version"]}
    assert set(stats) == {"rx_packets", "rx_bytes", "rx_dropped", "rx_errors", "tx_packets", "tx_bytes",
                          "tx_dropped", "tx_errors", "irqs", "tx_kicks", "config_changes", "resets",
                          "lwip_asserts"}
    assert stats["rx_packets"] > 0 and stats["tx_packets"] > 0 and stats["rx_errors"] == 0
    assert 0 < stats["tx_kicks"] <= stats["tx_packets"]  # the device asks not to be told of every frame
    out = run(vg, """
        n = vnet.Net()
        for f in (lambda: setattr(n, 'header_length', 11), lambda: n.tx(b'short'),
                  lambda: n.tx(bytes(1515)), lambda: setattr(n, 'rx_handler', 5)):
            try:
                f()
            except (ValueError, TypeError) as e:
                print(type(e).__name__)
        n.tx(bytes(1514))  # MTU 1500 + the Ethernet header: the largest frame sent
        try:
            vnet.Net(1).init()
        except OSError as e:
            print('OSError', e.errno == errno.ENODEV)
    """)
    assert out.split() == ["ValueError", "ValueError", "ValueError", "TypeError", "OSError", "True"]


# Guest-side frame building for the raw tests (MicroPython code).
GUEST_FRAMES = GUEST_CSUM + """
ME, GW = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
def arp_request(mac):
    return (b'\\xff' * 6 + mac + b'\\x08\\x06' + struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1)
            + mac + ME + bytes(6) + GW)
def icmp_echo(mac, gw_mac, ident, seq, payload):
    icmp = struct.pack('>BBHHH', 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack('>H', csum(icmp)) + icmp[4:]
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0, ME, GW)
    ip = ip[:10] + struct.pack('>H', csum(ip)) + ip[12:]
    return gw_mac + mac + b'\\x08\\x00' + ip + icmp
def is_arp_reply(f):
    return len(f) >= 42 and f[12:14] == b'\\x08\\x06' and f[20:22] == b'\\x00\\x02' and f[28:32] == GW
def is_echo_reply(f, ident, seq):
    return (len(f) >= 42 and f[12:14] == b'\\x08\\x00' and f[23] == 1 and f[26:30] == GW
            and f[34] == 0 and struct.unpack('>HH', f[38:42]) == (ident, seq))
def wait(pred, ms=5000):
    t = time.ticks_ms()
    while not pred() and time.ticks_diff(time.ticks_ms(), t) < ms:
        time.sleep_ms(5)
    return pred()
"""


def test_raw_arp_and_ping_to_the_gateway_through_rx(vg, tcp_echo):
    run(vg, GUEST_FRAMES)
    out = run(vg, """
        n = vnet.Net()
        n.init()
        print(_virt.net_raw())
        mac = n.config().mac
        n.tx(arp_request(mac))
        frames = []
        def poll_rx(want):
            f = n.rx()
            while f is not None:
                frames.append(f)
                f = n.rx()
            return any(want(f) for f in frames)
        print(wait(lambda: poll_rx(is_arp_reply)))
        reply = [f for f in frames if is_arp_reply(f)][0]
        gw_mac = reply[22:28]
        print(reply[:6] == mac, reply[32:38] == mac, reply[38:42] == ME)
        n.tx(icmp_echo(mac, gw_mac, 0x4242, 7, b'vnet raw ping'))
        print(wait(lambda: poll_rx(lambda f: is_echo_reply(f, 0x4242, 7))))
        echo = [f for f in frames if is_echo_reply(f, 0x4242, 7)][0]
        print(echo.endswith(b'vnet raw ping'), n.rx() is None)
    """)
    assert out.split() == ["True"] * 8
    # While raw, lwIP sees nothing: a TCP dial cannot complete.
    out = run(vg, """
        try:
            vnet.Interface().dial_context_tcp4('10.0.2.2:%d', 1)
        except OSError as e:
            print(e.errno == errno.ETIMEDOUT)
        nic = vnet.NIC(device=n)
        nic.init()   # the device back to the stack, as Go's NIC.Init
        print(_virt.net_raw())
        c = vnet.Interface().dial_context_tcp4('10.0.2.2:%d', 5)
        c.write(b'back'); print(c.read(4)); c.close()
    """ % (tcp_echo.port, tcp_echo.port))
    assert out.split() == ["True", "False", "b'back'"]


def test_raw_arp_and_ping_through_rx_handler(vg, tcp_echo):
    run(vg, GUEST_FRAMES)
    out = run(vg, """
        n = vnet.Net()
        got = []
        n.rx_handler = got.append
        print(n.rx_handler == got.append, _virt.net_raw())
        mac = n.config().mac
        n.tx(arp_request(mac))
        print(wait(lambda: any(is_arp_reply(f) for f in got)))
        gw_mac = [f for f in got if is_arp_reply(f)][0][22:28]
        for seq in range(1, 4):
            n.tx(icmp_echo(mac, gw_mac, 0x77, seq, b'handler %d' % seq))
        print(wait(lambda: all(any(is_echo_reply(f, 0x77, s) for f in got) for s in range(1, 4))))
        print(n.rx() is None)   # the handler had them all
        # A handler that raises is reported and the next frames still arrive.
        bad = []
        def handler(f):
            bad.append(f)
            raise RuntimeError('handler failed on purpose')
        n.rx_handler = handler
        n.tx(icmp_echo(mac, gw_mac, 0x78, 1, b'x'))
        n.tx(icmp_echo(mac, gw_mac, 0x78, 2, b'y'))
        print(wait(lambda: len([f for f in bad if f[12:14] == b'\\x08\\x00']) >= 2))
        n.rx_handler = None
        print(n.rx_handler, _virt.net_raw())
    """)
    lines = out.splitlines()
    assert [l for l in lines if not l.startswith(("Traceback", "  ", "RuntimeError"))] == \
        ["True True", "True", "True", "True", "True", "None False"]
    assert "RuntimeError: handler failed on purpose" in out
    out = run(vg, """
        c = vnet.Interface().dial_tcp4('10.0.2.2:%d')
        c.send(b'stack again'); print(c.recv(64)); c.close()
        print(vnet.Net().stats()['rx_dropped'])
    """ % tcp_echo.port)
    assert out.split() == ["b'stack", "again'", "0"]


# 4. Interface: TCP, UDP, listener, socket(), errors.

def test_dial_tcp4_stream_methods(vg, tcp_echo):
    out = run(vg, """
        iface = vnet.Interface()
        print(iface.nicid, type(iface.nic.link).__name__, type(iface.nic.device).__name__)
        c = iface.dial_tcp4('10.0.2.2:%d' % PORT)
        print(type(c).__name__)
        c.settimeout(5)
        print(c.write(b'hello '), c.send(b'vnet'))
        buf = bytearray(10)
        n = 0
        while n < 10:
            n += c.readinto(memoryview(buf)[n:])
        print(bytes(buf))
        c.write(b'abc'); print(c.read(3))
        c.send(b'xyz'); print(c.recv(3))
        c.close()
        c = iface.dial_context_tcp4('10.0.2.2:%d' % PORT, 5)
        c.write(b'ctx'); print(c.read(3)); c.close()
        c = iface.dial_tcp4(('10.0.2.2', PORT))   # a tuple works too
        c.write(b'tup'); print(c.read(3)); c.close()
    """.replace("PORT", str(tcp_echo.port)))
    assert out.splitlines() == ["1 LAN Net", "socket", "6 4", "b'hello vnet'", "b'abc'", "b'xyz'", "b'ctx'", "b'tup'"]
    assert tcp_echo.accepted == 3


def test_dial_errors(vg, tcp_echo):
    closed = free_port()
    out = run(vg, """
        iface = vnet.Interface()
        bad = ['10.0.2.2', '10.0.2.2:0', '10.0.2.2:65536', '10.0.2.2:-1', 'host:80', '10.0.2:80',
               '10.0.2.256:80', '10.0.2.2:8o', ':80', '10.0.2.2:', '10.0.2.2:5:6', '', 80, ('10.0.2.2', 0)]
        for a in bad:
            for f in (iface.dial_tcp4, lambda a: iface.dial_context_tcp4(a, 1), lambda a: iface.dial_udp4(None, a)):
                try:
                    f(a)
                    print('no error for', repr(a))
                except ValueError as e:
                    pass
        for p in (0, 65536, -1, '80'):
            try:
                iface.listener_tcp4(p)
                print('no error for port', p)
            except ValueError as e:
                print(e)
        try:
            iface.dial_tcp4('10.0.2.2:%d')
        except OSError as e:
            print(e.errno == errno.ECONNREFUSED, e)
        try:
            iface.dial_context_tcp4('10.0.2.2:%d', 5)
        except OSError as e:
            print(e.errno == errno.ECONNREFUSED)
        try:
            iface.dial_context_tcp4('10.0.2.2:%d', 0)
        except OSError as e:
            print(e.errno == errno.ETIMEDOUT)
    """ % (closed, closed, tcp_echo.port))
    lines = out.splitlines()
    assert not [l for l in lines if l.startswith("no error")], out
    assert lines[:4] == ["port %s out of range 1..65535" % p for p in ("0", "65536", "-1", "'80'")]
    assert lines[4:] == ["True [Errno 111] ECONNREFUSED", "True", "True"]


def test_dial_timeout_on_a_host_that_never_answers(vg):
    """The host listener's accept queue is full: Linux drops further SYNs, so
    slirp's connect to it never completes and the guest's SYN gets no answer."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fill = []
    try:
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fill.append(c)
        probe = socket.socket()
        probe.settimeout(0.5)
        with pytest.raises(socket.timeout):
            probe.connect(("127.0.0.1", port))  # the premise: nobody answers
        probe.close()
        out = run(vg, """
            iface = vnet.Interface()
            t = time.ticks_ms()
            try:
                iface.dial_context_tcp4('10.0.2.2:%d', 1.5)
            except OSError as e:
                print(e.errno == errno.ETIMEDOUT, e)
            print(1400 <= time.ticks_diff(time.ticks_ms(), t) < 4000)
            try:
                iface.socket('tcp4', socket.AF_INET, socket.SOCK_STREAM, None, '10.0.2.2:%d', timeout=0.5)
            except OSError as e:
                print(e.errno == errno.ETIMEDOUT)
        """ % (port, port))
        assert out.splitlines() == ["True [Errno 110] ETIMEDOUT", "True", "True"]
    finally:
        for c in fill:
            c.close()
        srv.close()


def test_listener_tcp4_through_hostfwd(vg):
    run(vg, """
        iface = vnet.Interface()
        l = iface.listener_tcp4(%d)
        l.settimeout(10)
        print(l.addr())
    """ % GUEST_PORT)
    assert value(vg, "l.addr()") == (GUEST_IP, GUEST_PORT)
    # Accept while the host connects: start the guest code, then connect.
    vg.write(textwrap.dedent("""
        c, addr = l.accept()
        c.settimeout(5)
        data = c.recv(64)
        c.send(b'guest got ' + data)
        c.close()
        print(type(c).__name__, addr[0], isinstance(addr[1], int), data)
    """).encode() + b"\x04")
    vg.read_until(b"OK")
    with socket.create_connection(("127.0.0.1", vg.host_port(GUEST_PORT)), timeout=10) as h:
        h.sendall(b"from host")
        assert h.recv(64) == b"guest got from host"
    out = vg.read_until(b"\x04", 20)[:-1].decode()
    err = vg.read_until(b"\x04", 5)[:-1].decode()
    vg.read_until(b">", 5)
    assert err == ""
    assert out.strip() == "socket 10.0.2.2 True b'from host'"
    out = run(vg, """
        try:
            iface.listener_tcp4(%d)
        except OSError as e:
            print(e.errno == errno.EADDRINUSE, e)
        try:
            iface.socket('tcp4', socket.AF_INET, socket.SOCK_STREAM, ':%d')
        except OSError as e:
            print(e.errno == errno.EADDRINUSE)
        l.close()
        l2 = iface.listener_tcp4(%d)   # free again once closed
        print(l2.addr()[1])
        l2.close()
        with iface.listener_tcp4(%d) as l3:
            print(type(l3.sock).__name__)
    """ % ((GUEST_PORT,) * 4))
    assert out.splitlines() == ["True [Errno 98] EADDRINUSE", "True", str(GUEST_PORT), "socket"]


def test_dial_udp4(vg, udp_echo):
    out = run(vg, """
        iface = vnet.Interface()
        for laddr in (None, '', ':5001', '10.0.2.15:5002', ('', 5003)):
            u = iface.dial_udp4(laddr, '10.0.2.2:%d')
            u.settimeout(5)
            u.send(b'udp %%r' %% (laddr,))
            print(u.recv(64))
            u.close()
        for bad in ('10.0.2.15', ':0', 'x:1'):
            try:
                iface.dial_udp4(bad, '10.0.2.2:%d')
            except ValueError as e:
                print('ValueError')
    """ % (udp_echo.port, udp_echo.port))
    assert out.splitlines() == [
        "b'echo:udp None'", "b\"echo:udp ''\"", "b\"echo:udp ':5001'\"",
        "b\"echo:udp '10.0.2.15:5002'\"", "b\"echo:udp ('', 5003)\"",
        "ValueError", "ValueError", "ValueError"]


def test_socket_like_gos_socket_func(vg, tcp_echo, udp_echo):
    out = run(vg, """
        iface = vnet.Interface()
        S, D, A = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.AF_INET
        c = iface.socket('tcp4', A, S, None, '10.0.2.2:%(tcp)d')
        c.write(b't'); print(c.read(1)); c.close()
        c = iface.socket('tcp', A, S, ':5005', ('10.0.2.2', %(tcp)d), timeout=5)
        c.write(b'u'); print(c.read(1)); c.close()
        l = iface.socket('tcp4', A, S, ':%(gp)d')
        print(type(l).__name__, l.addr()); l.close()
        u = iface.socket('udp4', A, D, None, '10.0.2.2:%(udp)d')
        u.settimeout(5); u.send(b'v'); print(u.recv(16)); u.close()
        u = iface.socket('udp', A, D, ':5006')   # bound, not connected: sendto/recvfrom
        u.settimeout(5); u.sendto(b'w', ('10.0.2.2', %(udp)d)); print(u.recvfrom(16)); u.close()
        for args in (('ip4', A, S), ('tcp6', A, S), ('tcp4', 10, S), ('tcp4', A, D), ('udp4', A, S),
                     ('tcp4', A, S)):
            try:
                iface.socket(*args)
            except ValueError as e:
                print('ValueError', e)
    """ % {"tcp": tcp_echo.port, "udp": udp_echo.port, "gp": GUEST_PORT})
    lines = out.splitlines()
    assert lines[:5] == ["b't'", "b'u'", "Listener ('%s', %d)" % (GUEST_IP, GUEST_PORT), "b'echo:v'",
                         "(b'echo:w', ('10.0.2.2', %d))" % udp_echo.port]
    assert len(lines) == 11 and all(l.startswith("ValueError") for l in lines[5:]), out


def test_streams_work_with_select_and_asyncio(vg, tcp_echo):
    out = run(vg, """
        import select
        c = vnet.Interface().dial_tcp4('10.0.2.2:%d')
        p = select.poll(); p.register(c, select.POLLIN)
        c.write(b'poll')
        print(p.poll(5000)[0][1] & select.POLLIN != 0, c.read(4))
        c.close()
        try:
            import asyncio
            print('asyncio')
        except ImportError:
            print('no asyncio')
    """ % tcp_echo.port)
    lines = out.splitlines()
    assert lines[0] == "True b'poll'"
    if lines[1] == "no asyncio":
        pytest.xfail("the firmware freezes no asyncio package (only the _asyncio C module)")
    out = run(vg, """
        async def main():
            c = vnet.Interface().dial_tcp4('10.0.2.2:%d')
            c.setblocking(False)
            r, w = asyncio.StreamReader(c), asyncio.StreamWriter(c, {})
            w.write(b'async vnet'); await w.drain()
            data = await r.readexactly(10)
            w.close(); await w.wait_closed()
            return data
        print(asyncio.run(asyncio.wait_for(main(), 10)))
    """ % tcp_echo.port)
    assert out.strip() == "b'async vnet'"


# Interface.init: a static address, the device back from raw, ICMP off.

def test_init_static_address_and_icmp_switch(vg, tcp_echo):
    out = run(vg, """
        n = vnet.Net(); n.init()
        print(_virt.net_raw(), _virt.net_icmp())
        iface = vnet.Interface()
        iface.init(n, '10.0.2.15', '255.255.255.0', '10.0.2.2')
        lan = network.LAN()
        print(_virt.net_raw(), _virt.net_icmp(), lan.ipconfig('dhcp4'), lan.ipconfig('addr4'), lan.ipconfig('gw4'))
        print(iface.nic.device is n, iface.nicid)
        c = iface.dial_tcp4('10.0.2.2:%d'); c.write(b'static'); print(c.read(6)); c.close()
        iface.enable_icmp()
        print(_virt.net_icmp())
        for bad in (('10.0.2.x', '255.255.255.0', '10.0.2.2'), ('10.0.2.15', '255.255.0', '10.0.2.2'),
                    ('10.0.2.15', '255.255.255.0', 'gw')):
            try:
                iface.init(None, *bad)
            except ValueError as e:
                print('ValueError', e)
    """ % tcp_echo.port)
    lines = out.splitlines()
    assert lines[:5] == [
        "True True",
        "False False False ('10.0.2.15', '255.255.255.0') 10.0.2.2",
        "True 1",
        "b'static'",
        "True",
    ]
    assert len(lines) == 8 and all(l.startswith("ValueError") for l in lines[5:]), out


# Raw Ethernet with the test itself as the peer: QEMU's dgram netdev sends
# each guest frame as one UDP datagram to 127.0.0.1 and takes ours back.

PEER_MAC = bytes.fromhex("020000000001")
PEER_IP = bytes([10, 0, 3, 1])
WIRE_GUEST_IP = bytes([10, 0, 3, 15])


def echo_request(ident, seq, payload=b"wire ping"):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", inet_csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 9, 0, 64, 1, 0, PEER_IP, WIRE_GUEST_IP)
    ip = ip[:10] + struct.pack("!H", inet_csum(ip)) + ip[12:]
    return GUEST_MAC + PEER_MAC + b"\x08\x00" + ip + icmp


class Wire:
    """Our end of the guest's Ethernet: a thread receives every frame from
    the guest (answering its ARP requests for PEER_IP); we send frames."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            self.qemu_port = s.getsockname()[1]
        self.got = []
        self.lock = threading.Lock()
        self.stop_at = time.monotonic() + 300
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def nic(self):
        """The guest's NIC: QEMU receives on qemu_port and sends to our port."""
        return virtmp.Dgram(("127.0.0.1", self.qemu_port), ("127.0.0.1", self.port))

    def send(self, frame):
        self.sock.sendto(frame, ("127.0.0.1", self.qemu_port))

    def _receive(self):
        while time.monotonic() < self.stop_at:
            try:
                f = self.sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01" and f[38:42] == PEER_IP:
                self.send(f[6:12] + PEER_MAC + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2)
                          + PEER_MAC + PEER_IP + f[22:28] + f[28:32])
            with self.lock:
                self.got.append(f)

    def frames(self, seconds):
        """The frames from the guest since the last call, after waiting seconds more."""
        time.sleep(seconds)
        with self.lock:
            got, self.got = self.got, []
        return got

    def close(self):
        self.stop_at = 0
        self.sock.close()
        self.thread.join(5)


def echo_replies(frames, ident):
    return [f for f in frames if f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0
            and struct.unpack("!H", f[38:40])[0] == ident]


@pytest.fixture(params=TRANSPORTS)
def wire_guest(request, virt_guest_factory):
    wire = Wire()
    g = None
    try:
        g = virt_guest_factory(transport=request.param, net=wire.nic(), append="ip=off")
        g.enter_raw()
        run(g, "import vnet, _virt, socket, network, time, struct, errno")
        g.wire = wire
        yield g
    finally:
        if g is not None:
            g.stop()  # before the wire goes
        wire.close()


def test_init_answers_ping_only_after_enable_icmp(wire_guest):
    g, wire = wire_guest, wire_guest.wire
    run(g, "iface = vnet.Interface(); iface.init(None, '10.0.3.15', '255.255.255.0', '10.0.3.1')")
    wire.frames(0.5)  # whatever the guest said on its way up
    wire.send(echo_request(0x101, 1))
    assert echo_replies(wire.frames(2), 0x101) == []
    run(g, "iface.enable_icmp()")
    wire.send(echo_request(0x102, 1))
    replies = echo_replies(wire.frames(3), 0x102)
    assert len(replies) == 1 and replies[0].endswith(b"wire ping")
    assert replies[0][:6] == PEER_MAC and replies[0][6:12] == GUEST_MAC


def test_raw_frames_exactly_as_on_the_wire(wire_guest):
    g, wire = wire_guest, wire_guest.wire
    run(g, "n = vnet.Net(); n.init(); got = []")
    wire.frames(0.3)
    frame = PEER_MAC + GUEST_MAC + b"\x88\xb5" + bytes(range(100))  # local experimental ethertype
    run(g, "n.tx(%r)" % frame)
    assert frame in wire.frames(2)
    wire.send(GUEST_MAC + PEER_MAC + b"\x88\xb5" + b"to rx()")
    assert value(g, "[f for f in (n.rx() for _ in range(4)) if f]") == [
        GUEST_MAC + PEER_MAC + b"\x88\xb5" + b"to rx()"]
    run(g, "n.rx_handler = got.append")
    for i in range(20):
        wire.send(GUEST_MAC + PEER_MAC + b"\x88\xb5" + b"burst %2d" % i + bytes(50))
    run(g, """
        t = time.ticks_ms()
        while len(got) < 20 and time.ticks_diff(time.ticks_ms(), t) < 5000:
            time.sleep_ms(5)
    """)
    assert [f[14:22] for f in value(g, "got")] == [b"burst %2d" % i for i in range(20)]


def test_header_length_override_restarts_the_device(wire_guest):
    """An override that disagrees with the device shifts every frame: the
    proof that init() restarted it with that header length."""
    g, wire = wire_guest, wire_guest.wire
    native = 12 if support.modern(g.transport) else 10
    other = 10 if native == 12 else 12
    resets = value(g, "vnet.Net().stats()['resets']")
    run(g, "n = vnet.Net(); n.header_length = %d; n.init()" % other)
    assert value(g, "(n.header_length, _virt.net_info()['hdr_len'], n.stats()['resets'])") == (other, other, resets + 1)
    frame = GUEST_MAC + PEER_MAC + b"\x88\xb5" + bytes(range(46))
    wire.send(frame)
    got = value(g, "[f for f in (n.rx() for _ in range(4)) if f]")
    assert len(got) == 1
    if other == 10:
        assert got[0][2:] == frame  # the 2-byte num_buffers read as frame
    else:
        assert got[0] == frame[2:]  # the frame's first 2 bytes read as num_buffers
    run(g, "n.header_length = 0; n.init()")
    assert value(g, "(n.header_length, n.stats()['resets'])") == (native, resets + 2)
    wire.send(frame)
    assert value(g, "[f for f in (n.rx() for _ in range(4)) if f]") == [frame]
    run(g, "n.header_length = %d; n.init()" % native)  # the native length, explicitly
    wire.send(frame)
    assert value(g, "([f for f in (n.rx() for _ in range(4)) if f], n.stats()['resets'])") == ([frame], resets + 3)


def test_local_addresses_on_the_wire(wire_guest):
    """laddr of dial_udp4 and socket() is the source the peer sees (slirp would hide it)."""
    g, wire = wire_guest, wire_guest.wire
    run(g, "iface = vnet.Interface(); iface.init(None, '10.0.3.15', '255.255.255.0', '10.0.3.1')")
    wire.frames(0.5)
    out = run(g, """
        # Resolve the peer's MAC first: lwIP keeps one packet per pending ARP entry.
        p = iface.dial_udp4(None, '10.0.3.1:9'); p.send(b'arp'); p.close(); time.sleep_ms(300)
        u = iface.dial_udp4('10.0.3.15:5002', '10.0.3.1:9'); u.send(b'from 5002')
        v = iface.dial_udp4(':5003', ('10.0.3.1', 9)); v.send(b'from 5003')
        w = iface.socket('udp4', socket.AF_INET, socket.SOCK_DGRAM, ':5004'); w.sendto(b'from 5004', ('10.0.3.1', 9))
        try:
            iface.dial_udp4(':5002', '10.0.3.1:9')
        except OSError as e:
            print(e.errno == errno.EADDRINUSE)
        try:
            iface.socket('tcp4', socket.AF_INET, socket.SOCK_STREAM, ':5005', '10.0.3.1:9', timeout=0.3)
        except OSError as e:
            print(e.errno)
    """)
    assert out.split() == ["True", "110"]  # EADDRINUSE, then ETIMEDOUT: nobody answers the SYN
    frames = wire.frames(2)
    udp = [(f[26:30], struct.unpack("!HH", f[34:38]), f[42:]) for f in frames
           if f[12:14] == b"\x08\x00" and f[23] == 17 and f[30:34] == PEER_IP and f[42:] != b"arp"]
    assert udp == [(WIRE_GUEST_IP, (p, 9), b"from %d" % p) for p in (5002, 5003, 5004)]
    syns = {struct.unpack("!HH", f[34:38]) for f in frames
            if f[12:14] == b"\x08\x00" and f[23] == 6 and f[30:34] == PEER_IP}
    assert syns == {(5005, 9)}


def test_soft_reset_gives_the_device_back(vg, tcp_echo):
    run(vg, "vnet.Interface().init(None, '10.0.2.15', '255.255.255.0', '10.0.2.2'); vnet.Net().rx_handler = len")
    assert value(vg, "(_virt.net_raw(), _virt.net_icmp())") == (True, False)
    vg.exit_raw()
    vg.write(b"\x04")  # soft reset at the friendly REPL
    vg.read_until(b"soft reboot", timeout=10)
    vg.wait_prompt(timeout=20)
    vg.enter_raw()
    run(vg, "import vnet, _virt")
    assert value(vg, "(_virt.net_raw(), _virt.net_icmp())") == (False, True)
    out = run(vg, "c = vnet.Interface().dial_tcp4('10.0.2.2:%d'); c.send(b'after reset'); print(c.recv(32)); c.close()"
              % tcp_echo.port)
    assert out.strip() == "b'after reset'"


def test_without_a_nic_enodev(guest):
    guest.enter_raw()
    out = run(guest, """
        import vnet, errno
        n = vnet.Net()
        print(n.irq, n.rx())
        for f in (n.init, n.config, n.stats, lambda: n.tx(bytes(60)), lambda: setattr(n, 'rx_handler', len),
                  lambda: vnet.Interface().init(None, '10.0.2.15')):
            try:
                f()
                print('no error')
            except OSError as e:
                print(e.errno == errno.ENODEV)
    """)
    assert out.split() == ["None", "None"] + ["True"] * 6
