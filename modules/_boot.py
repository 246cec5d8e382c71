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
    if not _virt.net_present():
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
        addr, sep, prefix = fields[0].partition("/")
        if not sep:
            raise ValueError("ip= needs ADDR/PREFIX, e.g. ip=10.0.2.15/24,10.0.2.2")
        gw = fields[1] if len(fields) > 1 and fields[1] else "0.0.0.0"
        dns = fields[2] if len(fields) > 2 and fields[2] else network.ipconfig("dns")
        # ifconfig() with a tuple stops DHCP and sets everything at once
        # (MicroPython 1.25's ipconfig(addr4=...) misreads keyword arguments).
        lan.ifconfig((addr, _netmask(int(prefix)), gw, dns))


def _netmask(prefix):
    if not 0 <= prefix <= 32:
        raise ValueError("ip= prefix must be 0..32")
    m = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return "%d.%d.%d.%d" % (m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255)

try:
    _network(_bootargs())
except Exception as e:
    print("_boot: network set-up from boot arguments failed:", e)
del _bootargs, _mac, _network, _netmask
