"""virtio-blk disks in the guest: virt.Disk as a MicroPython block device,
littlefs2 and FAT on it (images made and read back on the host with
virtmp.make_image / list_image), read-only and full disks, several disks,
both transports. Every QEMU is killed when its test ends."""

import os

import pytest
import virtmp

import support
from support import TRANSPORTS

MiB = 1024 * 1024
# MicroPython names only some errnos ("[Errno 19] ENODEV"); others print bare ("OSError: 30").
EROFS = r"OSError: (\[Errno 30\] EROFS|30)"
ENOSPC = r"OSError: (\[Errno 28\] ENOSPC|28)"


def write_file(path, text):
    """Guest code that writes and closes a file (an unclosed file's data never reaches the disk)."""
    return "with open(%r, 'w') as f:\n    f.write(%r)\n" % (path, text)


def guest_with(factory, *disks, transport="modern"):
    return factory(net=None, disk=list(disks), transport=transport)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_disk_block_protocol(virt_guest_factory, tmp_path, transport):
    img = virtmp.make_image(tmp_path / "blank.img", "2M", fs="blank")
    g = guest_with(virt_guest_factory, img, transport=transport)
    g.exec("import virt, os\nd = virt.Disk(0)")
    assert g.eval("virt.disk_count()") == 1
    info = g.eval("d.info()")
    assert info["capacity"] == 2 * MiB and info["version"] == (2 if support.modern(transport) else 1)
    assert info["flush"] and not info["read_only"]
    assert g.eval("(d.ioctl(4, 0), d.ioctl(5, 0), d.ioctl(6, 3), d.ioctl(1, 0))") == (512, 4096, 0, 0)
    assert g.eval("virt.Disk(0, block_size=512).ioctl(4, 0)") == 4096
    # Whole blocks, then offsets that are not sector-aligned (read-modify-write).
    g.exec("b = bytes(range(256)) * 16\nd.writeblocks(3, b)\n"
           "d.writeblocks(5, b'hello', 1000)\nd.writeblocks(7, b'x' * 700, 4000)\nd.ioctl(3, 0)")
    assert g.eval("(lambda r: (d.readblocks(3, r), bytes(r) == b)[1])(bytearray(4096))")
    assert g.eval("(lambda r: (d.readblocks(5, r, 998), bytes(r))[1])(bytearray(9))") == b"\0\0hello\0\0"
    assert g.eval("d.info()['flushes']") >= 1
    g.stop()
    with open(img, "rb") as f:
        data = f.read()
    assert data[3 * 4096:4 * 4096] == bytes(range(256)) * 16
    assert data[5 * 4096 + 1000:5 * 4096 + 1005] == b"hello"
    assert data[7 * 4096 + 4000:7 * 4096 + 4700] == b"x" * 700
    assert data[7 * 4096 + 3999] == 0 and data[7 * 4096 + 4700] == 0


def test_disk_errors(virt_guest_factory, tmp_path):
    img = virtmp.make_image(tmp_path / "blank.img", "1M", fs="blank")
    g = guest_with(virt_guest_factory, img)
    g.exec("import virt\nd = virt.Disk(0)")
    for code, exc in [("virt.Disk(1)", "OSError: [Errno 19] ENODEV"),
                      ("virt.Disk(0, block_size=1000)", "ValueError"),
                      ("virt.Disk(0, block_size=256)", "ValueError"),
                      ("d.readblocks(256, bytearray(4096))", "OSError: [Errno 22] EINVAL"),
                      ("d.readblocks(255, bytearray(4097))", "OSError: [Errno 22] EINVAL"),
                      ("d.writeblocks(-1, b'x')", "OSError: [Errno 22] EINVAL")]:
        with pytest.raises(virtmp.GuestException) as e:
            g.exec(code)
        assert exc in e.value.traceback, (code, e.value.traceback)
    assert g.eval("d.readblocks(255, bytearray(4096))") is None  # the last block is fine
    assert g.eval("d.info()['io_errors']") == 0


def test_no_disk(guest):
    guest.exec("import virt")
    assert guest.eval("virt.disk_count()") == 0
    with pytest.raises(virtmp.GuestException, match="ENODEV"):
        guest.exec("virt.Disk()")


# The tests that mount disk 0 themselves first take it from _boot.py's mount at /.
UNMOUNT_BOOT = "import virt, vfs, os\ntry:\n    vfs.umount('/')\nexcept OSError:\n    pass\n"
LFS_MOUNT = UNMOUNT_BOOT + "vfs.mount(vfs.VfsLfs2(virt.Disk(0), readsize=4096, progsize=4096), '/d')"


def test_littlefs_image_from_the_host_and_back(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "config.json").write_text('{"name": "board"}')
    (src / "lib" / "helper.py").write_text("def triple(x):\n    return 3 * x\n")
    (src / "blob.bin").write_bytes(bytes(range(256)) * 300)
    img = virtmp.make_image(tmp_path / "lfs.img", "4M", source=src, fs="lfs2")
    g = guest_with(virt_guest_factory, img)
    g.exec(LFS_MOUNT)
    assert sorted(g.eval("os.listdir('/d')")) == ["blob.bin", "config.json", "lib"]
    assert g.eval("open('/d/config.json').read()") == '{"name": "board"}'
    assert g.eval("open('/d/blob.bin', 'rb').read() == bytes(range(256)) * 300")
    g.exec("import sys\nsys.path.append('/d/lib')\nimport helper")
    assert g.eval("helper.triple(14)") == 42
    g.exec("os.mkdir('/d/new')\nf = open('/d/new/log.txt', 'w')\nf.write('written in the guest\\n' * 100)\n"
           "f.close()\nos.remove('/d/config.json')\nvfs.umount('/d')")
    g.stop()
    listing = dict(virtmp.list_image(img))
    assert "config.json" not in " ".join(listing)
    out = tmp_path / "out"
    virtmp.extract_image(img, out)
    assert (out / "new" / "log.txt").read_text() == "written in the guest\n" * 100
    assert (out / "blob.bin").read_bytes() == bytes(range(256)) * 300


def test_blank_disk_formatted_in_the_guest(virt_guest_factory, tmp_path):
    img = virtmp.make_image(tmp_path / "blank.img", "2M", fs="blank")
    g = guest_with(virt_guest_factory, img)
    g.exec(UNMOUNT_BOOT + "d = virt.Disk(0)\nvfs.VfsLfs2.mkfs(d)\nvfs.mount(vfs.VfsLfs2(d), '/d')\n"
           + write_file("/d/a.txt", "made on a blank disk") + "vfs.umount('/d')")
    g.stop()
    assert virtmp.detect(img) == "lfs2"
    out = tmp_path / "out"
    virtmp.extract_image(img, out)
    assert (out / "a.txt").read_text() == "made on a blank disk"


# At boot (_boot.py): the first disk at /.

def test_boot_mounts_littlefs_and_files_survive_a_restart(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "lib" / "helper.py").write_text("def triple(x):\n    return 3 * x\n")
    (src / "settings.txt").write_text("from the host")
    img = virtmp.make_image(tmp_path / "lfs.img", "2M", source=src, fs="lfs2")
    g = guest_with(virt_guest_factory, img)
    g.exec("import os")
    assert sorted(g.eval("os.listdir('/')")) == ["lib", "settings.txt"]
    assert g.eval("open('settings.txt').read()") == "from the host"  # the working directory is /
    g.exec("import helper")  # /lib is on sys.path
    assert g.eval("helper.triple(5)") == 15
    g.exec(write_file("/notes.txt", "kept across boots"))
    g.stop()
    g = guest_with(virt_guest_factory, img)
    assert g.eval("open('/notes.txt').read()") == "kept across boots"
    g.stop()
    assert dict(virtmp.list_image(img))["/notes.txt"] == len("kept across boots")


def test_boot_mounts_fat(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.csv").write_text("a,b\n1,2\n")
    img = virtmp.make_image(tmp_path / "fat.img", "4M", source=src, fs="fat")
    g = guest_with(virt_guest_factory, img)
    g.exec("import os, vfs")
    assert g.eval("os.listdir('/')") == ["data.csv"]
    assert g.eval("open('/data.csv').read()") == "a,b\n1,2\n"
    assert "VfsFat" in g.eval("repr([m[0] for m in vfs.mount()])")


def test_boot_formats_a_blank_disk(virt_guest_factory, tmp_path):
    img = virtmp.make_image(tmp_path / "blank.img", "2M", fs="blank")
    g = guest_with(virt_guest_factory, img)
    g.exec(write_file("/first.txt", "on a new disk"))
    assert g.eval("__import__('os').listdir('/')") == ["first.txt"]
    g.stop()
    assert virtmp.detect(img) == "lfs2"


def test_boot_never_formats_a_disk_holding_data(virt_guest_factory, tmp_path):
    img = tmp_path / "data.img"
    data = bytes(range(256)) * (2 * MiB // 256)
    img.write_bytes(data)
    g = virt_guest_factory(net=None, disk=str(img), start=False)
    g.start(wait_prompt=False)
    boot = g.wait_prompt(timeout=20).decode(errors="replace")
    assert "_boot: disk 0 holds neither littlefs2 nor FAT: not mounted, nothing written" in boot
    g.exec("import os, virt")
    assert g.eval("os.listdir('/')") == []  # nothing mounted
    with pytest.raises(virtmp.GuestException, match="ENODEV"):
        g.exec("open('/x.txt', 'w')")
    assert g.eval("(lambda b: (virt.Disk(0).readblocks(1, b), bytes(b[:4]))[1])(bytearray(4096))") == bytes(range(4))
    g.stop()
    assert img.read_bytes() == data


def test_boot_mounts_a_read_only_disk_read_only(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.txt").write_text("read only")
    img = virtmp.make_image(tmp_path / "ro.img", "1M", source=src, fs="lfs2")
    g = guest_with(virt_guest_factory, virtmp.DiskImage(img, readonly=True))
    assert g.eval("open('/config.txt').read()") == "read only"
    with pytest.raises(virtmp.GuestException, match=EROFS):
        g.exec("open('/new.txt', 'w')")


def test_fat_image_from_the_host_and_back(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "Long File Name.txt").write_text("long names work")
    img = virtmp.make_image(tmp_path / "fat.img", "4M", source=src, fs="fat")
    g = guest_with(virt_guest_factory, img)
    g.exec(UNMOUNT_BOOT + "vfs.mount(vfs.VfsFat(virt.Disk(0, block_size=512)), '/f')")
    assert g.eval("os.listdir('/f/docs')") == ["Long File Name.txt"]
    assert g.eval("open('/f/docs/Long File Name.txt').read()") == "long names work"
    g.exec(write_file("/f/from_guest.txt", "fat from the guest") + "os.sync()\nvfs.umount('/f')")
    g.stop()
    out = tmp_path / "out"
    virtmp.extract_image(img, out)
    assert (out / "from_guest.txt").read_text() == "fat from the guest"


def test_read_only_disk(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "keep.txt").write_text("unchanged")
    img = virtmp.make_image(tmp_path / "ro.img", "1M", source=src, fs="lfs2")
    before = open(img, "rb").read()
    g = guest_with(virt_guest_factory, virtmp.DiskImage(img, readonly=True))
    g.exec(UNMOUNT_BOOT + "d = virt.Disk(0)")
    assert g.eval("d.info()['read_only']")
    with pytest.raises(virtmp.GuestException, match=EROFS):
        g.exec("d.writeblocks(0, bytes(4096))")
    g.exec("vfs.mount(vfs.VfsLfs2(d), '/d', readonly=True)")
    assert g.eval("open('/d/keep.txt').read()") == "unchanged"
    with pytest.raises(virtmp.GuestException, match=EROFS):
        g.exec("open('/d/new.txt', 'w')")
    # Mounted writable by mistake, the device still refuses.
    g.exec("vfs.umount('/d')\nvfs.mount(vfs.VfsLfs2(d), '/d')")
    with pytest.raises(virtmp.GuestException, match=EROFS):
        g.exec("f = open('/d/new.txt', 'w')\nf.write('x' * 10000)\nf.close()")
    g.stop()
    assert open(img, "rb").read() == before


def test_full_disk_is_enospc_and_still_mounts(virt_guest_factory, tmp_path):
    img = virtmp.make_image(tmp_path / "small.img", "256K", fs="lfs2")
    g = guest_with(virt_guest_factory, img)
    g.exec(LFS_MOUNT + "\n" + write_file("/d/first.txt", "kept"))
    with pytest.raises(virtmp.GuestException, match=ENOSPC):
        g.exec("f = open('/d/huge', 'wb')\nfor i in range(100):\n    f.write(bytes(4096))\nf.close()")
    g.exec("vfs.umount('/d')\nvfs.mount(vfs.VfsLfs2(virt.Disk(0)), '/d')")
    assert g.eval("open('/d/first.txt').read()") == "kept"
    g.exec("os.remove('/d/huge')\n" + write_file("/d/again.txt", "room again"))
    assert g.eval("open('/d/again.txt').read()") == "room again"


@pytest.mark.parametrize("fs", ["lfs2", "fat"])
def test_file_modes_are_enforced(virt_guest_factory, tmp_path, fs):
    """write() to a file opened for reading (and read() of one opened for
    writing) is EBADF and changes nothing: littlefs's own checks are asserts,
    which MicroPython's build leaves out (ports/virt/lfs2_assert.h)."""
    img = virtmp.make_image(tmp_path / "disk.img", "1M", fs=fs)
    g = guest_with(virt_guest_factory, img)
    g.exec(write_file("/f.txt", "original"))
    for mode, code in [("r", "f.write('x')"), ("rb", "f.write(b'x')"), ("a", "f.read()"), ("w", "f.read(1)")]:
        with pytest.raises(virtmp.GuestException, match=r"OSError"):
            g.exec("f = open('/f.txt', %r)\ntry:\n    %s\nfinally:\n    f.close()" % (mode, code))
        if mode == "w":
            g.exec(write_file("/f.txt", "original"))
    assert g.eval("open('/f.txt').read()") == "original"


def test_two_disks(virt_guest_factory, tmp_path):
    a = virtmp.make_image(tmp_path / "a.img", "1M", fs="blank")
    b = virtmp.make_image(tmp_path / "b.img", "3M", fs="blank")
    g = guest_with(virt_guest_factory, a, b)
    g.exec("import virt")
    assert g.eval("virt.disk_count()") == 2
    assert g.eval("[virt.Disk(i).info()['capacity'] for i in range(2)]") == [1 * MiB, 3 * MiB]
    g.exec("virt.Disk(1).writeblocks(0, b'second disk' + bytes(4085))\nvirt.Disk(1).ioctl(3, 0)")
    g.stop()
    # Disk 0 got littlefs2 at boot (it was blank); disk 1 only what was written.
    assert open(b, "rb").read(11) == b"second disk" and not any(open(b, "rb").read()[4096:])
    assert virtmp.detect(a) == "lfs2" and b"second disk" not in open(a, "rb").read()


def test_boot_py_and_main_py_from_the_disk(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "boot.py").write_text("print('boot.py from the disk')\nbooted = 'yes'\n")
    (src / "main.py").write_text("print('main.py from the disk, booted:', booted)\n")
    img = virtmp.make_image(tmp_path / "lfs.img", "1M", source=src, fs="lfs2")
    g = virt_guest_factory(net=None, disk=img, start=False)
    g.start(wait_prompt=False)
    out = g.wait_prompt(timeout=20).decode(errors="replace")
    assert out.index("boot.py from the disk") < out.index("main.py from the disk, booted: yes"), out
    assert g.repl("print(booted)").strip() == "yes"  # the REPL follows, in the same globals


def test_main_py_from_the_disk_ends_qemu_with_its_exit_status(virt_guest_factory, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("import sys\nwith open('/ran.txt', 'w') as f:\n    f.write('the app ran')\n"
                                 "sys.exit(3)\n")
    img = virtmp.make_image(tmp_path / "lfs.img", "1M", source=src, fs="lfs2")
    g = virt_guest_factory(net=None, disk=img, start=False)
    g.start(wait_prompt=False)
    # Its proof is on the disk: output printed just before QEMU exits can be
    # lost on the pty.
    assert g.wait_exit(timeout=20) == 3
    out = tmp_path / "out"
    virtmp.extract_image(img, out)
    assert (out / "ran.txt").read_text() == "the app ran"


def test_mpremote_fs_on_the_disk(virt_guest_factory, tmp_path):
    """mpremote's fs commands and mount against a guest whose disk is at /."""
    img = virtmp.make_image(tmp_path / "lfs.img", "2M", fs="lfs2")
    g = guest_with(virt_guest_factory, img)
    local = tmp_path / "hello.py"
    local.write_text("print('hello from a copied file')\n")

    def ok(*args):
        rc, out, err = g.mpremote(*args)
        assert rc == 0, (args, out, err)
        return out.replace("\r\n", "\n")  # the guest's console says \r\n

    ok("fs", "mkdir", ":apps")
    ok("fs", "cp", str(local), ":apps/hello.py")
    assert "hello.py" in ok("fs", "ls", ":apps")
    assert ok("fs", "cat", ":apps/hello.py") == "print('hello from a copied file')\n"
    back = tmp_path / "back.py"
    ok("fs", "cp", ":apps/hello.py", str(back))
    assert back.read_text() == local.read_text()
    assert "\t2097152\t" in ok("df")  # the 2 MiB disk's size
    assert ok("exec", "import sys; sys.path.append('/apps'); import hello") == "hello from a copied file\n"
    ok("fs", "rm", ":apps/hello.py")
    assert "hello.py" not in ok("fs", "ls", ":apps")
    # mpremote mount: the host folder as the guest's working directory.
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / "hostmod.py").write_text("VALUE = 'served from the host'\n")
    assert ok("mount", str(mounted), "exec", "import hostmod; print(hostmod.VALUE)").strip().endswith(
        "served from the host")
    g.stop()
    listing = dict(virtmp.list_image(img))
    assert "/apps" in listing and "/apps/hello.py" not in listing
