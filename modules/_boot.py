# Run at every (soft) boot before boot.py and main.py: bring the network up as
# the boot arguments say (QEMU -append, read from the device tree).
#
#   ip=dhcp (default) | ip=off | ip=ADDR/PREFIX[,GATEWAY[,DNS]]
#   mac=52:54:00:12:34:56
import network
import _virt


def _bootargs():
    opts = {}
    for word in _virt.bootargs().split():
        key, sep, value = word.partition("=")
        if sep:
            opts[key] = value
    return opts


def _mac(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError("mac= needs six hex bytes separated by ':'")
    return bytes(int(p, 16) for p in parts)


def _network(opts):
    if _virt.net_info() is None:
        return  # QEMU was started without a virtio-net device
    lan = network.LAN()
    if "mac" in opts:
        lan.config(mac=_mac(opts["mac"]))
    ip = opts.get("ip", "dhcp")
    if ip == "off":
        return
    lan.active(True)  # starts DHCP
    if ip != "dhcp":
        fields = ip.split(",")
        if "/" not in fields[0]:
            raise ValueError("ip= needs ADDR/PREFIX, e.g. ip=10.0.2.15/24,10.0.2.2")
        cfg = {"dhcp4": False, "addr4": fields[0]}
        if len(fields) > 1 and fields[1]:
            cfg["gw4"] = fields[1]
        lan.ipconfig(**cfg)
        if len(fields) > 2 and fields[2]:
            network.ipconfig(dns=fields[2])


try:
    _network(_bootargs())
except Exception as e:
    print("_boot: network set-up from boot arguments failed:", e)
del _bootargs, _mac, _network
