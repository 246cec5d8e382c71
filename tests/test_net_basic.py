"""Networking basics on both virtio-mmio transports: DHCP, driver state."""

import support
from support import GUEST_IP


def test_dhcp_lease_and_lan_api(net_guest):
    g = net_guest
    g.repl("import network, _virt")
    assert g.repl("print(network.LAN().isconnected(), network.LAN().status())").split() == ["True", "3"]
    assert g.repl("print(network.LAN().ipconfig('addr4')[0])").strip() == GUEST_IP
    assert g.repl("print(network.LAN().config('mac'))").strip() == r"b'RT\x00\x124V'"
    assert g.repl("print(network.LAN().config('mtu'))").strip() == "1500"
    info = g.net_info()
    assert info["version"] == (2 if support.modern(g.transport) else 1)
    assert info["hdr_len"] == (12 if support.modern(g.transport) else 10)
    if support.modern(g.transport):
        assert info["features"] & (1 << 32), "VIRTIO_F_VERSION_1 must be accepted"
    assert info["rx_packets"] > 0 and info["tx_packets"] > 0
    assert info["rx_errors"] == 0


def test_ipv6_slaac_and_tcp_to_host(net_guest):
    """slirp advertises fec0::/64; the guest autoconfigures and reaches the host's ::1 as fec0::2."""
    import socket
    import threading

    g = net_guest
    srv = socket.socket(socket.AF_INET6)
    srv.bind(("::1", 0))
    srv.listen(1)
    srv.settimeout(15)
    port = srv.getsockname()[1]
    got = {}

    def serve():
        try:
            c, _ = srv.accept()
            got["data"] = c.recv(16)
            c.sendall(b"pong6")
            c.close()
        except OSError as e:
            got["error"] = e

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        g.enter_raw()
        out, err = g.raw_exec(
            "import socket, time, network\n"
            "t = time.ticks_ms()\n"
            "while len(network.LAN().ipconfig('addr6')) < 2 and time.ticks_diff(time.ticks_ms(), t) < 5000:\n"
            "    time.sleep_ms(10)\n"
            "print([a[0] for a in network.LAN().ipconfig('addr6')])\n"
            "s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
            "s.connect(('fec0::2', %d))\n"
            "s.send(b'ping6')\n"
            "print(s.recv(16))\n"
            "s.close()\n" % port,
            timeout=20,
        )
        assert err == ""
        lines = out.splitlines()
        assert "FE80::5054:FF:FE12:3456" in lines[0]
        assert "FEC0::5054:FF:FE12:3456" in lines[0]
        assert lines[1] == "b'pong6'"
        t.join(5)
        assert got.get("data") == b"ping6"
    finally:
        srv.close()


def test_loopback_asyncio_in_guest(net_guest):
    """127.0.0.1 inside the guest (lwIP's loopback netif): 20 asyncio connections."""
    g = net_guest
    g.enter_raw()
    out, err = g.raw_exec(
        "import asyncio\n"
        "async def handle(r, w):\n"
        "    d = await r.read(100)\n"
        "    w.write(d.upper())\n"
        "    await w.drain()\n"
        "    w.close()\n"
        "    await w.wait_closed()\n"
        "async def main():\n"
        "    srv = await asyncio.start_server(handle, '127.0.0.1', 8123)\n"
        "    got = []\n"
        "    for i in range(20):\n"
        "        r, w = await asyncio.open_connection('127.0.0.1', 8123)\n"
        "        w.write(b'hello %d' % i)\n"
        "        await w.drain()\n"
        "        got.append(await r.read(100))\n"
        "        w.close()\n"
        "        await w.wait_closed()\n"
        "    srv.close()\n"
        "    await srv.wait_closed()\n"
        "    print(got[0], got[-1], len(got))\n"
        "asyncio.run(main())\n",
        timeout=30,
    )
    assert err == ""
    assert out.split() == ["b'HELLO", "0'", "b'HELLO", "19'", "20"]


def test_idle_cpu_is_low_with_link_up(net_guest):
    """Idle at the REPL with the link up and an address: lwIP's tick and
    slirp's timers run, the CPU waits in WFI in between (target < 5 %)."""
    import time

    g = net_guest
    time.sleep(1)  # let start-up settle
    c0, t0 = g.cpu_seconds(), time.monotonic()
    time.sleep(5)
    c1, t1 = g.cpu_seconds(), time.monotonic()
    load = (c1 - c0) / (t1 - t0)
    print("QEMU used %.2f%% of a core over %.1f s idle (%s)" % (load * 100, t1 - t0, g.transport))
    assert load < 0.05, "QEMU used %.1f%% of a core while idle" % (load * 100)
    assert g.repl("import network; print(network.LAN().isconnected())").strip() == "True"
