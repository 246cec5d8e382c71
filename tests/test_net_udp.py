"""UDP through slirp on both virtio-mmio transports: guest to a host socket
on 127.0.0.1 (as 10.0.2.2) and back, and host to guest through a UDP
hostfwd. Every host socket is on 127.0.0.1 and has a timeout."""

import socket

import pytest

from virtmp import HostTask

from support import HOST_FROM_GUEST, TRANSPORTS

GUEST_PORT = 9000
HOST_TIMEOUT = 10
# Up to one Ethernet frame (1472), then IP fragments both ways (slirp
# reassembles the guest's, lwIP the host's).
SIZES = (1, 100, 1472, 1473, 4000, 8000)


def udp_socket():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(HOST_TIMEOUT)
    return u


@pytest.fixture(params=TRANSPORTS)
def udp_fwd_guest(virt_guest_factory, request):
    """A guest whose UDP port 9000 is reachable at 127.0.0.1:g.host_port(9000, "udp")."""
    g = virt_guest_factory(transport=request.param, forwards=[("udp", GUEST_PORT)])
    assert g.wait_dhcp() == "10.0.2.15"
    return g


def test_guest_to_host_and_reply(net_guest):
    g = net_guest
    h = udp_socket()
    port = h.getsockname()[1]

    def echo():
        seen = []
        for _ in SIZES:
            data, addr = h.recvfrom(65536)
            seen.append((len(data), addr))
            h.sendto(b"re:" + data, addr)
        return seen

    task = HostTask(echo)
    try:
        out = g.exec(
            "import socket\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "u.settimeout(5)\n"
            "for n in %r:\n"
            "    msg = bytes((i * 7 + n) & 0xff for i in range(n))\n"
            "    u.sendto(msg, ('%s', %d))\n"
            "    data, addr = u.recvfrom(9000)\n"
            "    print(n, len(data), data == b're:' + msg, addr[0], addr[1])\n"
            "u.close()\n" % (SIZES, HOST_FROM_GUEST, port),
            timeout=30,
        )
        seen = task.result(HOST_TIMEOUT)
    finally:
        h.close()
    assert [n for n, _ in seen] == list(SIZES)
    assert all(addr[0] == "127.0.0.1" for _, addr in seen)
    lines = [line.split() for line in out.strip().splitlines()]
    assert lines == [[str(n), str(n + 3), "True", HOST_FROM_GUEST, str(port)] for n in SIZES]
    info = g.net_info()
    assert info["rx_errors"] == 0 and info["tx_errors"] == 0


DATAGRAMS = 20


def test_host_to_guest_through_hostfwd(udp_fwd_guest):
    g = udp_fwd_guest
    g.exec_start(
        "import socket\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "u.bind(('0.0.0.0', %d))\n"
        "u.settimeout(5)\n"
        "print('READY')\n"
        "peers = set()\n"
        "for i in range(%d):\n"
        "    data, addr = u.recvfrom(4096)\n"
        "    peers.add(addr[0])\n"
        "    u.sendto(b'ack:' + data, addr)\n"
        "u.close()\n"
        "print(sorted(peers))\n" % (GUEST_PORT, DATAGRAMS)
    )
    g.read_until(b"READY", timeout=10)
    host_port = g.host_port(GUEST_PORT, proto="udp")
    h = udp_socket()
    replies = []
    try:
        for i in range(DATAGRAMS):
            msg = (b"dgram %d|" % i) * (1 + 13 * i)
            # Lock-step over loopback and a listening guest: nothing may be lost.
            h.sendto(msg, ("127.0.0.1", host_port))
            replies.append(h.recv(8192) == b"ack:" + msg)
    finally:
        h.close()
    out = g.exec_finish(timeout=20)
    assert all(replies), replies
    assert out.strip().splitlines()[-1] == "['%s']" % HOST_FROM_GUEST
