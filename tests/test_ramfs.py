"""The RAM filesystem: with no disk, littlefs2 on an eighth of RAM is
mounted at /, so open() works on every boot; it survives a soft reset and
is gone at power-off. Every QEMU is killed when its test ends."""

import pytest
import virtmp

KiB = 1024
MiB = 1024 * KiB


def soft_reset(g):
    out = g.soft_reset()
    assert "soft reboot" in out, out
    return out


def test_open_works_without_a_disk(guest):
    guest.exec("import os, vfs, virt\nwith open('notes.txt', 'w') as f:\n    f.write('kept in RAM')")
    assert guest.eval("open('/notes.txt').read()") == "kept in RAM"
    assert guest.eval("[type(fs).__name__ + ' ' + p for fs, p in vfs.mount()]") == ["VfsLfs2 /"]
    assert guest.eval("virt.disk_count()") == 0
    guest.exec("os.mkdir('/lib')\nwith open('/lib/ramlib.py', 'w') as f:\n    f.write('X = 7')")
    assert guest.eval("__import__('ramlib').X") == 7  # /lib is on sys.path, as on rp2 and esp32
    guest.exec("os.remove('notes.txt')")
    assert "notes.txt" not in guest.eval("os.listdir('/')")


# 16M on VIRT_RV64 leaves less: OpenSBI holds RAM's first 2 MiB, the DTB
# (with its 2 MiB alignment) the top.
@pytest.mark.parametrize("mem, low, high", [("128M", 14 * MiB, 16 * MiB), ("16M", 3 * MiB // 4, 2 * MiB)])
def test_sized_from_ram(virt_guest_factory, mem, low, high):
    g = virt_guest_factory(net=None, mem=mem)
    bsize, _, blocks = g.eval("__import__('os').statvfs('/')[:3]")
    total = bsize * blocks
    # An eighth of the RAM the heap would have had (RAM less the firmware's 3.4-4.2 MB).
    assert low <= total <= high, (mem, total)
    # Filling it is ENOSPC, and it still works afterwards.
    with pytest.raises(virtmp.GuestException, match=r"OSError: (\[Errno 28\] ENOSPC|28)"):
        g.exec("with open('big', 'wb') as f:\n    for i in range(%d):\n        f.write(bytes(4096))" % (total // 4096 + 8),
               timeout=120)
    g.exec("import os\nos.remove('big')\nwith open('after', 'w') as f:\n    f.write('ok')")
    assert g.eval("open('after').read()") == "ok"


def test_kept_across_soft_reset_and_gone_at_power_off(virt_guest_factory):
    g = virt_guest_factory(net=None)
    g.exec("with open('boot.py', 'w') as f:\n    f.write('print(\"boot.py from RAM\")')\n"
           "with open('main.py', 'w') as f:\n    f.write('print(\"main.py from RAM\")')")
    out = soft_reset(g)
    assert out.index("boot.py from RAM") < out.index("main.py from RAM"), out
    assert g.eval("sorted(__import__('os').listdir('/'))") == ["boot.py", "main.py"]
    g.stop()
    fresh = virt_guest_factory(net=None)
    assert fresh.eval("__import__('os').listdir('/')") == []


def test_made_at_first_use(guest):
    """Nothing is formatted or mounted until a program uses the filesystem
    (the boot's look for boot.py and main.py does not count)."""
    guest.exec("import vfs, os")
    assert guest.eval("repr(vfs.mount()[0][0])") == "<RAM filesystem: VfsLfs2 on virt.RAMDisk() at first use>"
    assert guest.eval("os.listdir('/')") == []
    assert guest.eval("repr(vfs.mount()[0][0])") == "<VfsLfs2>"


def test_reformatted_after_a_program_overwrites_it(guest):
    guest.exec("import virt, os\nwith open('x', 'w') as f:\n    f.write('y')\n"
               "d = virt.RAMDisk()\nd.writeblocks(0, bytes(4096 * 4))")
    out = soft_reset(guest)
    assert "RAM filesystem no longer mounts: formatted anew" in out
    assert guest.eval("__import__('os').listdir('/')") == []
    guest.exec("with open('x', 'w') as f:\n    f.write('y')")


def test_ram_disk_block_protocol(guest):
    guest.exec("import virt\nd = virt.RAMDisk()")
    assert guest.eval("d is virt.RAMDisk()")  # one region
    assert guest.eval("(d.ioctl(5, 0), d.ioctl(6, 1), d.ioctl(3, 0), d.ioctl(1, 0))") == (4096, 0, 0, 0)
    n = guest.eval("d.ioctl(4, 0)")
    guest.exec("d.writeblocks(%d, b'end', 4093)" % (n - 1))
    assert guest.eval("(lambda b: (d.readblocks(%d, b, 4093), bytes(b))[1])(bytearray(3))" % (n - 1)) == b"end"
    for code in ["d.readblocks(%d, bytearray(1))" % n, "d.writeblocks(%d, b'toolong', 4093)" % (n - 1),
                 "d.readblocks(-1, bytearray(1))", "d.readblocks(0, bytearray(1), -1)"]:
        with pytest.raises(virtmp.GuestException, match="EINVAL"):
            guest.exec(code)


def test_no_ram_filesystem_with_a_disk(virt_guest_factory, tmp_path):
    img = virtmp.make_image(tmp_path / "blank.img", "1M", fs="blank")
    g = virt_guest_factory(net=None, disk=img)
    with pytest.raises(virtmp.GuestException, match="ENODEV"):
        g.exec("import virt\nvirt.RAMDisk()")
    assert g.eval("[p for fs, p in __import__('vfs').mount()]") == ["/"]  # the disk, not RAM
