"""Networking basics on both virtio-mmio transports: DHCP, driver state."""

from netguest import GUEST_IP


def test_dhcp_lease_and_lan_api(net_guest):
    g = net_guest
    g.repl("import network, _virt")
    assert g.repl("print(network.LAN().isconnected(), network.LAN().status())").split() == ["True", "3"]
    assert g.repl("print(network.LAN().ipconfig('addr4')[0])").strip() == GUEST_IP
    assert g.repl("print(network.LAN().config('mac'))").strip() == r"b'RT\x00\x124V'"
    assert g.repl("print(network.LAN().config('mtu'))").strip() == "1500"
    info = g.net_info()
    assert info["version"] == (2 if g.transport == "modern" else 1)
    assert info["hdr_len"] == (12 if g.transport == "modern" else 10)
    if g.transport == "modern":
        assert info["features"] & (1 << 32), "VIRTIO_F_VERSION_1 must be accepted"
    assert info["rx_packets"] > 0 and info["tx_packets"] > 0
    assert info["rx_errors"] == 0
