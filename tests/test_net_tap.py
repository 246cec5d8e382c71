"""The guest on a tap device in a network namespace that the test creates.

Linux's own stack is the peer here: ping, curl against an HTTP server in the
guest, and bulk TCP both ways with SHA-256 checks. With a tap backend (vnet
header on) QEMU offers VIRTIO_NET_F_CSUM and GUEST_CSUM, so the guest hands
TCP/UDP checksums to the host and receives frames marked NEEDS_CSUM: the bulk
transfers exercise both directions of the checksum offload.

Every address used is inside the namespace (192.168.77.0/24); the namespace,
its tap device and QEMU are removed at the end, also on failure.
"""

import os
import shutil
import time

import pytest
import virtmp

import support
from support import TRANSPORTS
from tap_peer import BULK_BYTES, PEER, check_bulk, guest_bulk, parse, start_peer

HOST_IP = "192.168.77.1"
GUEST_IP = "192.168.77.2"
PREFIX = 24
NETMASK = "255.255.255.0"
TAP = "vtap0"
HTTP_PORT = 8080
BULK_PORT = 9100

VIRTIO_NET_F_CSUM = 1 << 0
VIRTIO_NET_F_GUEST_CSUM = 1 << 1


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root to create a network namespace and a tap device"
    if shutil.which("ip") is None:
        return "needs the `ip` tool (Debian package iproute2)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun for a tap device"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def _need_tool(name, package):
    if shutil.which(name) is None:
        pytest.fail("`%s` is missing: install the Debian package %s (tools/setup.sh test)" % (name, package))


def set_static_address(g):
    """Check the guest took its address from -append ip=...; True if it did."""
    g.repl("import network")
    got = g.repl("print(network.LAN().ifconfig()[0])").strip()
    assert got == GUEST_IP, "the guest did not take ip= from its boot arguments: %r" % got
    return True


@pytest.fixture(params=TRANSPORTS)
def tap_guest(request, virt_guest_factory):
    # A namespace named by this process's pid (stale ones of killed runs are
    # removed), with the tap at HOST_IP/PREFIX; QEMU runs inside it.
    g = None
    with virtmp.TapNamespace(host_addr="%s/%d" % (HOST_IP, PREFIX), tap=TAP) as ns:
        try:
            g = virt_guest_factory(
                transport=request.param,
                net=ns.nic(),
                append="ip=%s/%d,%s" % (GUEST_IP, PREFIX, HOST_IP),
                start=False,
            )
            g.start(wait_prompt=False)
            g.boot_banner = g.wait_prompt(timeout=20).decode(errors="replace")
            g.bootarg_ip_ok = set_static_address(g)
            g.ns = ns
            yield g
        finally:
            if g is not None:
                g.stop()  # before the namespace and its tap go


def start_raw(g, code):
    """Start code in the raw REPL without waiting for it to finish."""
    g.enter_raw()
    g.write(code.encode() + b"\x04")
    g.read_until(b"OK", 10)


def finish_raw(g, timeout):
    """(stdout, stderr) of the code start_raw started, then back to the friendly REPL."""
    out = g.read_until(b"\x04", timeout)[:-1]
    err = g.read_until(b"\x04", timeout)[:-1]
    g.read_until(b">", timeout)
    g.exit_raw()
    return out.decode(errors="replace"), err.decode(errors="replace")


def test_features_include_checksum_offload(tap_guest):
    g = tap_guest
    info = g.net_info()
    assert info["version"] == (2 if support.modern(g.transport) else 1)
    assert info["device_features"] & VIRTIO_NET_F_CSUM and info["device_features"] & VIRTIO_NET_F_GUEST_CSUM
    assert info["features"] & VIRTIO_NET_F_CSUM, "CSUM not negotiated: %#x" % info["features"]
    assert info["features"] & VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM not negotiated: %#x" % info["features"]
    assert info["link_up"]


def test_static_address_from_bootargs(tap_guest):
    g = tap_guest
    assert "network set-up from boot arguments failed" not in g.boot_banner, g.boot_banner
    assert g.bootarg_ip_ok


def test_linux_ping(tap_guest):
    _need_tool("ping", "iputils-ping")
    g = tap_guest
    before = g.net_info()
    r = g.ns.run("ping", "-c", "3", "-i", "0.3", "-W", "2", GUEST_IP, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0% packet loss" in r.stdout, r.stdout
    after = g.net_info()
    assert after["rx_packets"] - before["rx_packets"] >= 3
    assert after["rx_errors"] == before["rx_errors"]


HTTP_SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', %(port)d))
s.listen(2)
s.settimeout(20)
print('LISTENING')
for n in range(%(requests)d):
    c, a = s.accept()
    c.settimeout(10)
    req = b''
    while b'\\r\\n\\r\\n' not in req and len(req) < 4096:
        d = c.recv(512)
        if not d:
            break
        req += d
    path = req.split(b' ')[1] if req.count(b' ') >= 2 else b'?'
    body = b'hello from the guest: ' + path + b'\\n'
    head = 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %%d\\r\\nConnection: close\\r\\n\\r\\n' %% len(body)
    c.write(head.encode() + body)
    c.close()
    print('SERVED', path.decode())
s.close()
"""


def test_curl_http_server_in_guest(tap_guest):
    _need_tool("curl", "curl")
    g = tap_guest
    start_raw(g, HTTP_SERVER % {"port": HTTP_PORT, "requests": 2})
    try:
        g.read_until(b"LISTENING", 10)
        bodies = []
        for path in ("/", "/second"):
            r = g.ns.run("curl", "-sS", "--max-time", "10", "http://%s:%d%s" % (GUEST_IP, HTTP_PORT, path), timeout=20)
            assert r.returncode == 0, r.stderr
            bodies.append(r.stdout)
    finally:
        out, err = finish_raw(g, 30)
    assert err == "", err
    assert bodies == ["hello from the guest: /\n", "hello from the guest: /second\n"]
    assert "SERVED /" in out and "SERVED /second" in out, out


# The server inside the namespace: reads BULK_BYTES from the guest, then sends
# BULK_BYTES of its own, counting the connection's segments (tap_peer.PEER).
HOST_BULK_SERVER = PEER + r"""
host, port, nbytes, ifname = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t = start_sniffer(ifname, port, 120)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(1)
srv.settimeout(30)
print("READY", flush=True)
serve_bulk(srv, nbytes, 30)
finish_sniffer(t)
print("DONE", flush=True)
"""

GUEST_BULK_CLIENT = """
import socket
s = socket.socket()
s.settimeout(60)
s.connect(('%(host)s', %(port)d))
send_bulk(s)
recv_bulk(s)
s.close()
"""


def test_bulk_tcp_both_ways_with_checksum_offload(tap_guest):
    g = tap_guest
    before = g.net_info()
    assert before["features"] & VIRTIO_NET_F_CSUM and before["features"] & VIRTIO_NET_F_GUEST_CSUM
    server = start_peer(g.ns, HOST_BULK_SERVER, HOST_IP, BULK_PORT, BULK_BYTES, TAP)
    try:
        assert server.stdout.readline().strip() == "READY", server.stderr.read()
        t0 = time.monotonic()
        g.enter_raw()
        out, err = g.raw_exec(guest_bulk(GUEST_BULK_CLIENT, host=HOST_IP, port=BULK_PORT), timeout=180)
        elapsed = time.monotonic() - t0
        g.exit_raw()
        host_out, host_err = server.communicate(timeout=40)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(5)
    assert err == "", err
    # Guest -> Linux: checksums completed by the host from the guest's partial
    # ones; Linux -> guest: frames arrive with NEEDS_CSUM and the guest
    # completes them.
    host = parse(host_out)
    seg_in, seg_in_partial, _, _ = check_bulk(g.transport, parse(out), host,
                                              "guest: %s\nLinux: %s%s" % (out, host_out, host_err), elapsed)
    # The offload is in use from the guest too: most segments carry partial checksums.
    assert seg_in_partial > seg_in // 2, "guest TX without NEEDS_CSUM: %s" % host["SEGMENTS"]
    after = g.net_info()
    assert after["rx_errors"] == before["rx_errors"]
    assert after["tx_errors"] == before["tx_errors"]
    print("%s: rx_packets +%d, tx_packets +%d, rx_dropped +%d" % (
        g.transport, after["rx_packets"] - before["rx_packets"], after["tx_packets"] - before["tx_packets"],
        after["rx_dropped"] - before["rx_dropped"]))
