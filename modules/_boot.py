# Run at every (soft) boot before boot.py and main.py (when QEMU gave the
# guest a NIC or a disk): mount the first disk at /, and bring the network
# up as the boot arguments say (QEMU -append, read from the device tree).
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


def _storage():
    # The first disk at /: FAT if it holds FAT, else littlefs2; an all-zero
    # start is a new disk and gets littlefs2. A disk with other data is never
    # formatted: it stays unmounted, and virt.Disk(0) can still read it.
    import virt
    import vfs

    if not virt.disk_count():
        return
    disk = virt.Disk(0)
    ro = disk.info()["read_only"]
    head = bytearray(8192)
    disk.readblocks(0, head)
    if head[510:512] == b"\x55\xaa" and (head[54:57] == b"FAT" or head[82:87] == b"FAT32"):
        fs = vfs.VfsFat(virt.Disk(0, block_size=head[11] | head[12] << 8))
    else:
        if not ro and not any(head):
            vfs.VfsLfs2.mkfs(disk)
        try:
            # 4096-byte reads, 512-byte programs (A/B with the disk cache,
            # tests/bench_storage.py, alternating): 403 small files a second
            # against 272 with 4096-byte programs (a metadata commit no
            # longer fills a block), writes the same (31 MB/s), reads 14 %
            # slower (129 against 150 MB/s).
            fs = vfs.VfsLfs2(disk, readsize=4096, progsize=512, lookahead=256)
        except OSError:
            print("_boot: disk 0 holds neither littlefs2 nor FAT: not mounted, nothing written")
            return
    vfs.mount(fs, "/", readonly=ro)


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
    _storage()
except Exception as e:
    print("_boot: mounting disk 0 failed:", e)
try:
    _network(_bootargs())
except Exception as e:
    print("_boot: network set-up from boot arguments failed:", e)
del _bootargs, _mac, _storage, _network, _netmask
