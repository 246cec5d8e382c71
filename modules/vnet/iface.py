# vnet: the TCP/IP interface (Go's NIC and Interface) over lwIP sockets.
#
# Connections are MicroPython sockets: read/write/recv/send/readinto/
# settimeout/setblocking/close, and select.poll and asyncio's StreamReader/
# StreamWriter work on them. Addresses are "a.b.c.d:port" strings (the host
# an IPv4 literal; no name lookup) or (host, port) tuples.
import errno
import socket
import time

import _virt
import network

from . import NICID
from .device import Net


def _ipv4(host, what):
    parts = host.split(".") if isinstance(host, str) else ()
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise ValueError("%s %r is not an IPv4 address a.b.c.d" % (what, host))
    return host


def _port(port, what="port"):
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError("%s %r out of range 1..65535" % (what, port))
    return port


def _addr(address, what, any_host=False):
    """(host, port) from "host:port" or a tuple; host "" is 0.0.0.0 if any_host."""
    if isinstance(address, tuple) and len(address) == 2:
        host, port = address
    elif isinstance(address, str) and address.count(":") == 1:
        host, port = address.split(":")
        if not port.isdigit():
            raise ValueError("%s %r: port must be a number" % (what, address))
        port = int(port)
    else:
        raise ValueError("%s %r must be 'host:port'" % (what, address))
    if host == "" and any_host:
        host = "0.0.0.0"
    return _ipv4(host, what + " host"), _port(port, what + " port")


class Listener:
    """A listening TCP socket (Go's net.Listener): accept(), addr(), close().

    sock is the socket itself, for select.poll or asyncio."""

    def __init__(self, sock, laddr):
        self.sock = sock
        self._laddr = laddr

    def accept(self):
        """(conn, (host, port)): the next connection, a socket, and its remote address."""
        return self.sock.accept()

    def addr(self):
        """(host, port) the listener is reachable at."""
        host, port = self._laddr
        if host == "0.0.0.0":
            host = network.LAN().ipconfig("addr4")[0]
        return (host, port)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NIC:
    """A virtual Ethernet interface: link (the lwIP network.LAN) over device (a Net)."""

    def __init__(self, link=None, device=None):
        self.link = link if link is not None else network.LAN()
        self.device = device if device is not None else Net()

    def init(self):
        """Bind the device to the stack: frames to lwIP, link up."""
        self.device._device()
        self.device.rx_handler = None
        if not self.link.active():
            self.link.active(True)


class Interface:
    """An Ethernet interface with TCP/IP (UDP, TCP, ICMP).

    Interface() uses the NIC and address the boot set up (DHCP by default):
    dialing or listening waits at most timeout seconds for a DHCP lease
    still in progress. init() sets a static address instead."""

    def __init__(self, nic=None, timeout=10):
        self.nicid = NICID
        self.nic = nic if nic is not None else NIC()
        self.timeout = timeout

    def _ready(self):
        link = self.nic.link
        t0 = time.ticks_ms()
        while (link.active() and link.ipconfig("dhcp4") and not link.isconnected()
               and time.ticks_diff(time.ticks_ms(), t0) < self.timeout * 1000):
            time.sleep_ms(10)

    def init(self, nic=None, ip=None, netmask="255.255.255.0", gateway=None):
        """Bind to the device nic (a Net; default the first) with a static address.

        As in Go, ICMP echo requests go unanswered until enable_icmp()."""
        if ip is not None:
            addr4 = (_ipv4(ip, "ip"), _ipv4(netmask, "netmask"))
            gw4 = _ipv4(gateway, "gateway") if gateway else "0.0.0.0"
        self.nicid = NICID
        self.nic = NIC(network.LAN(), nic if nic is not None else Net())
        self.nic.init()
        if ip is not None:
            self.nic.link.ipconfig(dhcp4=False)  # first: stopping DHCP clears the address
            self.nic.link.ipconfig(addr4=addr4, gw4=gw4)
        _virt.net_icmp(False)

    def enable_icmp(self):
        """Answer ICMP echo requests (ping)."""
        _virt.net_icmp(True)

    def dial_tcp4(self, address):
        """A socket connected to the TCP server at "host:port"."""
        return self._dial(_addr(address, "address"), None, None)

    def dial_context_tcp4(self, address, timeout=None):
        """dial_tcp4 giving up after timeout seconds (ETIMEDOUT); None waits as long as lwIP does."""
        return self._dial(_addr(address, "address"), None, timeout)

    def _dial(self, raddr, laddr, timeout):
        if timeout is not None and timeout <= 0:
            raise OSError(errno.ETIMEDOUT)  # a deadline already past, as an expired Go context
        self._ready()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if laddr is not None:
                s.bind(laddr)
            s.settimeout(timeout)
            try:
                s.connect(raddr)
            except OSError as e:
                # lwIP reports the RST that answers a SYN as a reset.
                if e.errno == errno.ECONNRESET:
                    raise OSError(errno.ECONNREFUSED)
                raise
            s.settimeout(None)
        except BaseException:
            s.close()
            raise
        return s

    def dial_udp4(self, laddr, raddr):
        """A UDP socket connected to raddr "host:port", bound to laddr if given (None or "" for any)."""
        r = _addr(raddr, "raddr")
        return self._udp(_addr(laddr, "laddr", True) if laddr else None, r)

    def _udp(self, laddr, raddr):
        self._ready()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if laddr is not None:
                s.bind(laddr)
            if raddr is not None:
                s.connect(raddr)
        except BaseException:
            s.close()
            raise
        return s

    def listener_tcp4(self, port):
        """A Listener accepting TCP connections on port (EADDRINUSE if taken)."""
        return self._listen(("0.0.0.0", _port(port)))

    def _listen(self, laddr, backlog=4):
        self._ready()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(laddr)
            s.listen(backlog)
        except BaseException:
            s.close()
            raise
        return Listener(s, laddr)

    def socket(self, network, family, sotype, laddr=None, raddr=None, timeout=None):
        """A socket as Go's net package asks for one (net.SocketFunc).

        network "tcp4" or "udp4" ("tcp", "udp" too), family socket.AF_INET,
        sotype socket.SOCK_STREAM or SOCK_DGRAM to match. tcp4: raddr dials
        (from laddr if given) and returns a socket; laddr alone listens and
        returns a Listener. udp4: a socket bound to laddr and/or connected to
        raddr. timeout (seconds) bounds a TCP dial, as Go's context."""
        if network in ("tcp", "tcp4"):
            want = socket.SOCK_STREAM
        elif network in ("udp", "udp4"):
            want = socket.SOCK_DGRAM
        else:
            raise ValueError("network %r: vnet has tcp4 and udp4" % (network,))
        if family != socket.AF_INET:
            raise ValueError("family %r: vnet has AF_INET (%d) only" % (family, socket.AF_INET))
        if sotype != want:
            raise ValueError("sotype %r does not match network %r" % (sotype, network))
        la = _addr(laddr, "laddr", True) if laddr else None
        ra = _addr(raddr, "raddr") if raddr else None
        if want == socket.SOCK_DGRAM:
            return self._udp(la, ra)
        if ra is not None:
            return self._dial(ra, la, timeout)
        if la is not None:
            return self._listen(la)
        raise ValueError("tcp4 needs laddr (listen) or raddr (dial)")
