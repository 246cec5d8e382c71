"""virtmp's disk images, host side: make/detect/ls/extract for littlefs2 and
FAT, their clear errors, Guest(disk=...)'s QEMU command, `virtmp disk`,
`virtmp run/test --disk`, and guests booted with disks attached.

None of it needs the firmware's disk support: the guest-side checks mount
the images with MicroPython's own vfs.VfsLfs2 / vfs.VfsFat on a RAM block
device (what virt.Disk will be to them), and the boots only check that a
disk does not disturb the firmware."""

import base64
import hashlib
import os
import re
import subprocess
import sys

import pytest
import virtmp
from virtmp import disk as vdisk
from virtmp import plugin

from support import ROOT

VIRTMP = [sys.executable, "-m", "virtmp"]
FILESYSTEMS = ("lfs2", "fat")
BLOB = bytes(range(256)) * 37 + b"\x00\xff" * 300  # 10072 bytes, every byte value


def virtmp_cli(*args, timeout=60, cwd=None):
    r = subprocess.run(VIRTMP + list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def make_tree(top):
    """A source folder: nested folders, an empty one, a binary file, a long name, a dot file."""
    files = {
        "main.py": b"print('hello from the disk')\n",
        "lib/pkg/__init__.py": b"",
        "lib/pkg/data.bin": BLOB,
        "lib/A long file name.txt": b"long names\n",
        ".config": b"x=1\n",
    }
    for rel, data in files.items():
        p = top / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (top / "empty").mkdir()
    return top


EXPECTED = [
    ("/.config", 4), ("/empty", None), ("/lib", None), ("/lib/A long file name.txt", 11), ("/lib/pkg", None),
    ("/lib/pkg/__init__.py", 0), ("/lib/pkg/data.bin", len(BLOB)), ("/main.py", 29),
]


def tree(top):
    """{relative path: bytes or None for a folder} of a host folder."""
    out = {}
    for root, dirs, files in os.walk(top):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), top)] = None
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.relpath(os.path.join(root, f), top)] = fh.read()
    return out


@pytest.fixture
def src(tmp_path):
    return make_tree(tmp_path / "src")


@pytest.fixture
def fw(tmp_path):
    """A firmware file for Guest().command(), which never boots it."""
    p = tmp_path / "fw.elf"
    p.write_bytes(b"\x7fELF")
    return str(p)


# Making, detecting, listing, extracting.

@pytest.mark.parametrize("fs", FILESYSTEMS)
def test_round_trip(tmp_path, src, fs):
    img = tmp_path / ("d-%s.img" % fs)
    assert virtmp.make_image(img, "1M", source=src, fs=fs) == str(img)
    assert os.path.getsize(img) == 1 << 20
    assert virtmp.detect(img) == fs
    assert virtmp.list_image(img) == EXPECTED
    out = tmp_path / "out"
    assert virtmp.extract_image(img, out) == EXPECTED
    assert tree(out) == tree(src)
    # Extracting again into the same folder replaces what is there.
    (out / "main.py").write_bytes(b"changed")
    virtmp.extract_image(str(img), str(out))
    assert tree(out) == tree(src)
    # No temporary files next to the image.
    assert sorted(os.listdir(tmp_path)) == sorted(["src", "out", img.name])


def test_lfs2_geometry_is_what_micropython_mounts(tmp_path):
    import littlefs
    img = tmp_path / "g.img"
    virtmp.make_image(img, "64K")
    data = img.read_bytes()
    assert data[8:16] == b"littlefs" and data[4096 + 8:4096 + 16] == b"littlefs"
    with open(img, "rb") as fh:
        fs = littlefs.LittleFS(context=vdisk._FileContext(fh, readonly=True), mount=False, block_size=4096,
                               block_count=0)
        fs.mount()
        st = fs.fs_stat()
    assert (st.block_size, st.block_count) == (4096, 16)
    assert (st.name_max, st.file_max, st.attr_max) == (255, 2147483647, 1022)
    # The on-disk version MicroPython 1.25's littlefs (v2.8) writes.
    h = open(os.path.join(ROOT, "deps/micropython/lib/littlefs/lfs2.h")).read() \
        if os.path.exists(os.path.join(ROOT, "deps/micropython/lib/littlefs/lfs2.h")) else ""
    m = re.search(r"#define LFS2_DISK_VERSION (0x[0-9a-fA-F]+)", h)
    assert st.disk_version == (int(m.group(1), 16) if m else 0x00020001) == vdisk.LFS_DISK_VERSION
    assert vdisk.LFS_READ_SIZE == vdisk.LFS_PROG_SIZE == 32


def test_fat_type_follows_the_size(tmp_path):
    for size, kind in (("1M", "FAT12"), ("16M", "FAT16"), ("1G", "FAT32")):
        img = tmp_path / ("f%s.img" % size)
        virtmp.make_image(img, size, fs="fat")
        assert virtmp.detect(img) == "fat" and vdisk.fat_type(img) == kind, size
        with open(img, "rb") as f:
            head = f.read(512)
        assert head[510:512] == b"\x55\xaa" and int.from_bytes(head[11:13], "little") == 512  # bytes per sector
        assert virtmp.list_image(img) == []
        img.unlink()


def test_blank_and_detect(tmp_path, src):
    blank = tmp_path / "b.img"
    virtmp.make_image(blank, "1M", fs="blank")
    assert blank.read_bytes() == bytes(1 << 20)
    assert virtmp.detect(blank) == "blank"
    assert virtmp.list_image(blank) == [] and virtmp.extract_image(blank, tmp_path / "o") == []
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"\x01" * 70000)
    assert virtmp.detect(junk) == "unknown"
    # Only block 1 of a littlefs2 image intact: still littlefs2, still readable.
    img = tmp_path / "l.img"
    virtmp.make_image(img, "64K", source=src)
    data = bytearray(img.read_bytes())
    data[:4096] = bytes(4096)
    img.write_bytes(data)
    assert virtmp.detect(img) == "lfs2" and virtmp.list_image(img) == EXPECTED
    # Zeros after the first 64 KiB do not matter.
    tail = tmp_path / "t.img"
    tail.write_bytes(bytes(65536) + b"\x01")
    assert virtmp.detect(tail) == "blank"


def test_sizes():
    assert vdisk.parse_size("16M") == 16 << 20 and vdisk.parse_size("512K") == 512 << 10
    assert vdisk.parse_size("1G") == 1 << 30 and vdisk.parse_size("16MiB") == 16 << 20
    assert vdisk.parse_size(8192) == 8192 and vdisk.parse_size("4096") == 4096
    assert vdisk.format_size(16 << 20) == "16M" and vdisk.format_size(1000) == "1000"
    for bad in ("16X", "", "-1", 0, "M", True):
        with pytest.raises(virtmp.DiskError):
            vdisk.parse_size(bad)


# Clear errors.

def one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text and text
    return text


def test_errors(tmp_path, src, monkeypatch):
    img = tmp_path / "e.img"
    with pytest.raises(ValueError) as e:
        virtmp.make_image(img, "1M", fs="ext4")
    assert one_line(e) == "unknown filesystem 'ext4': use lfs2, fat, blank"
    with pytest.raises(virtmp.VirtmpError) as e:
        virtmp.make_image(img, 10000)
    assert one_line(e) == "a littlefs2 image's size must be a multiple of 4096 bytes (the block size), not 10000"
    big = tmp_path / "big"
    big.mkdir()
    (big / "huge.bin").write_bytes(os.urandom(100000))
    for fs in FILESYSTEMS:
        with pytest.raises(virtmp.DiskError) as e:
            virtmp.make_image(img, "64K", source=big, fs=fs)
        assert one_line(e) == "image full: %s needs more than 64K" % (big / "huge.bin"), fs
    with pytest.raises(virtmp.DiskError) as e:
        virtmp.make_image(img, "1M", source=tmp_path / "nowhere")
    assert one_line(e) == "source folder %s does not exist" % (tmp_path / "nowhere")
    with pytest.raises(virtmp.DiskError):
        virtmp.make_image(img, "1M", source=src, fs="blank")
    with pytest.raises(virtmp.DiskError) as e:
        virtmp.make_image(img, "8K", fs="fat")
    assert one_line(e).startswith("mkfs.fat cannot make a FAT image of 8K: ")
    # A failure leaves neither a half-made image nor a temporary file, and
    # an image already there as it was.
    assert sorted(os.listdir(tmp_path)) == ["big", "src"]
    virtmp.make_image(img, "64K")
    before = img.read_bytes()
    with pytest.raises(virtmp.DiskError):
        virtmp.make_image(img, "64K", source=big)
    assert img.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["big", "e.img", "src"]
    # Images virtmp cannot read.
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"\x01" * 4096)
    for fn in (virtmp.list_image, lambda p: virtmp.extract_image(p, tmp_path / "o")):
        with pytest.raises(virtmp.DiskError) as e:
            fn(junk)
        assert one_line(e) == "%s holds no filesystem virtmp knows (littlefs2, FAT) and is not blank" % junk
        with pytest.raises(virtmp.DiskError) as e:
            fn(tmp_path / "none.img")
        assert one_line(e) == "no disk image at %s" % (tmp_path / "none.img")
    # FAT: names that differ only in case, and the tools missing.
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "a.py").write_text("1")
    (clash / "A.py").write_text("2")
    with pytest.raises(virtmp.DiskError, match="differ only in case"):
        virtmp.make_image(img, "1M", source=clash, fs="fat")
    monkeypatch.setattr(vdisk.shutil, "which", lambda *a, **k: None)
    with pytest.raises(virtmp.DiskError) as e:
        virtmp.make_image(img, "1M", fs="fat")
    assert one_line(e) == ("mkfs.fat not found: FAT images need it "
                           "(apt-get install --no-install-recommends dosfstools mtools)")
    monkeypatch.undo()
    virtmp.make_image(img, "1M", fs="fat")
    monkeypatch.setattr(vdisk.shutil, "which", lambda *a, **k: None)
    with pytest.raises(virtmp.DiskError, match="^mcopy not found: .*dosfstools mtools"):
        virtmp.list_image(img)


def test_copy_image_keeps_holes(tmp_path, src):
    img = tmp_path / "s.img"
    virtmp.make_image(img, "64M", source=src)
    copy = vdisk.copy_image(str(img), str(tmp_path / "c.img"))
    assert open(copy, "rb").read() == img.read_bytes()
    assert os.stat(copy).st_blocks * 512 < 4 << 20  # 64 MiB, nearly all of it holes


# Guest(disk=...): the QEMU command.

def opts(cmd, name):
    return [cmd[i + 1] for i, word in enumerate(cmd[:-1]) if word == name]


def test_guest_command_with_disks(tmp_path, fw):
    a, b = tmp_path / "a.img", tmp_path / "b,2.img"
    virtmp.make_image(a, "64K", fs="blank")
    virtmp.make_image(b, "64K", fs="blank")
    # The default transport is virtio-pci: PCI slots are taken in order.
    cmd = virtmp.Guest(firmware=fw, disk=[a, b]).command()
    assert opts(cmd, "-drive")[0] == "file=%s,if=none,format=raw,id=d0" % a
    assert opts(cmd, "-device") == ["virtio-blk-pci,drive=d0", "virtio-blk-pci,drive=d1", "virtio-rng-pci"]
    assert "-global" not in cmd
    cmd = virtmp.Guest(firmware=fw, disk=a, transport="pci-legacy", rng=False).command()
    assert opts(cmd, "-device") == ["virtio-blk-pci,drive=d0,disable-modern=on"]
    # virtio-mmio. The RNG (on by default) after the disks, so their slots stay where they were.
    cmd = virtmp.Guest(firmware=fw, disk=str(a), transport="modern").command()
    assert opts(cmd, "-drive") == ["file=%s,if=none,format=raw,id=d0" % a]
    assert opts(cmd, "-device") == ["virtio-blk-device,drive=d0", "virtio-rng-device"]
    cmd = virtmp.Guest(firmware=fw, disk=str(a), rng=False, transport="modern").command()
    assert opts(cmd, "-device") == ["virtio-blk-device,drive=d0"]
    assert opts(cmd, "-nic") == ["none"] and opts(cmd, "-global") == ["virtio-mmio.force-legacy=false"]
    cmd = virtmp.Guest(firmware=fw, disk=a, transport="legacy", rng=False).command()
    assert "-global" not in cmd and opts(cmd, "-device") == ["virtio-blk-device,drive=d0"]
    # A list; read-only; a comma in a path doubled (QEMU's escape); the
    # -device options in reverse, so the firmware finds d0 first (QEMU's
    # virt machine gives the first -device the highest virtio-mmio slot).
    cmd = virtmp.Guest(firmware=fw, disk=[a, virtmp.DiskImage(b, readonly=True)], rng=False,
                       transport="modern").command()
    assert opts(cmd, "-drive") == ["file=%s,if=none,format=raw,id=d0" % a,
                                   "file=%s,if=none,format=raw,id=d1,readonly=on" % str(b).replace(",", ",,")]
    assert opts(cmd, "-device") == ["virtio-blk-device,drive=d1", "virtio-blk-device,drive=d0"]
    # With a NIC: one -global for both, no -nic none.
    cmd = virtmp.Guest(firmware=fw, net="user", disk=a, transport="modern").command()
    assert opts(cmd, "-global") == ["virtio-mmio.force-legacy=false"] and "-nic" not in cmd
    assert opts(cmd, "-device")[-2:] == ["virtio-blk-device,drive=d0", "virtio-rng-device"]
    # No disk (and no RNG): as before.
    cmd = virtmp.Guest(firmware=fw, rng=False).command()
    assert "-drive" not in cmd and "-global" not in cmd and opts(cmd, "-nic") == ["none"]
    assert virtmp.Guest(firmware=fw, disk=a).disks == [virtmp.DiskImage(str(a))]


def test_guest_disk_errors(tmp_path, fw):
    with pytest.raises(virtmp.SetupError) as e:
        virtmp.Guest(firmware=fw, disk=tmp_path / "none.img")
    assert one_line(e) == ("virtmp: no disk image at {0}: make one with `virtmp disk make {0} --size 16M`"
                           .format(tmp_path / "none.img"))
    with pytest.raises(virtmp.SetupError, match="is not a file"):
        virtmp.Guest(firmware=fw, disk=virtmp.DiskImage(tmp_path))
    with pytest.raises(TypeError):
        virtmp.Guest(firmware=fw, disk=[42])
    # The pytest fixture's factory: a clear test failure.
    factory = plugin.GuestFactory(None, fw)
    with pytest.raises(pytest.fail.Exception, match="no disk image at"):
        factory(net=None, disk=str(tmp_path / "none.img"))


def test_runner_gives_each_test_its_own_copy(tmp_path, monkeypatch, src):
    """virtmp test --disk: every test file's guest gets a copy of its own,
    gone after the test; the image itself is never written."""
    from virtmp import runner
    img = tmp_path / "d.img"
    virtmp.make_image(img, "64K", source=src)
    original = img.read_bytes()
    seen = []

    class FakeGuest:
        def __init__(self, disk=None, **options):
            seen.append([(d.path, d.readonly, open(d.path, "rb").read() == original) for d in disk])
            with open(disk[0].path, "r+b") as f:
                f.write(b"written by the guest")
            raise virtmp.GuestError("no guest here")

    monkeypatch.setattr(runner, "Guest", FakeGuest)
    test = tmp_path / "test_x.py"
    test.write_text("pass\n")
    ro = virtmp.DiskImage(img, readonly=True)
    for _ in range(2):
        res = runner.run_one(str(test), guest_options={"disk": [str(img), ro]})
        assert not res.passed and res.reason == "no guest here"
    assert len(seen) == 2 and len({s[0][0] for s in seen}) == 2
    for s in seen:
        assert [(ro_, same) for p, ro_, same in s] == [(False, True), (True, True)]
        assert all(p != str(img) and not os.path.exists(p) for p, ro_, same in s)
        assert not os.path.exists(os.path.dirname(s[0][0]))
    assert img.read_bytes() == original


# The CLI.

def test_cli_disk_make_ls_extract(tmp_path, src):
    img = tmp_path / "d.img"
    for fs in FILESYSTEMS:
        rc, out, err = virtmp_cli("disk", "make", str(img), "--size", "1M", "--fs", fs, "--from", str(src))
        kind = "fat (FAT12)" if fs == "fat" else fs
        assert (rc, err) == (0, "") and out == "virtmp: made %s (%s, 1M, 8 files and folders from %s)\n" % (
            img, kind, src), out + err
        rc, out, err = virtmp_cli("disk", "ls", str(img))
        assert rc == 0 and out.splitlines() == ["%10s  %s" % ("-" if size is None else size,
                                                             path + ("/" if size is None else ""))
                                                for path, size in EXPECTED], out + err
        dest = tmp_path / ("out-" + fs)
        rc, out, err = virtmp_cli("disk", "extract", str(img), str(dest))
        assert rc == 0 and out == "virtmp: 8 files and folders from %s into %s\n" % (img, dest), out + err
        assert tree(dest) == tree(src)
    rc, out, err = virtmp_cli("disk", "make", "blank.img", "--size", "16M", "--fs", "blank", cwd=str(tmp_path))
    assert rc == 0 and out == "virtmp: made blank.img (blank, 16M, empty)\n"
    rc, out, err = virtmp_cli("disk", "ls", "blank.img", cwd=str(tmp_path))
    assert rc == 0 and out == "" and err == "virtmp: blank.img is blank (all zero): no filesystem yet\n"
    # Errors: one line, status 2.
    for args, msg in [
        (("disk", "make", str(img), "--size", "10000"),
         "virtmp: a littlefs2 image's size must be a multiple of 4096 bytes (the block size), not 10000"),
        (("disk", "ls", str(tmp_path / "none.img")), "virtmp: no disk image at %s" % (tmp_path / "none.img")),
        (("disk", "extract", str(tmp_path / "blank.img"), str(img)),
         "virtmp: cannot extract into %s: it is not a folder" % img),
    ]:
        rc, out, err = virtmp_cli(*args)
        assert (rc, out, err) == (2, "", msg + "\n"), args
    rc, out, err = virtmp_cli("disk", "make", str(img), "--size", "1M", "--fs", "ntfs")
    assert rc == 2 and "invalid choice: 'ntfs'" in err
    rc, out, err = virtmp_cli("disk")
    assert rc == 2 and "make" in err


def test_cli_run_and_test_with_a_missing_disk(tmp_path):
    missing = tmp_path / "none.img"
    msg = "virtmp: no disk image at {0}: make one with `virtmp disk make {0} --size 16M`\n".format(missing)
    test = tmp_path / "test_a.py"
    test.write_text("pass\n")
    for args in (("run", "--disk", str(missing)), ("run", "--serial", "pty", "--disk", str(missing)),
                 ("test", "--disk", str(missing), str(test))):
        rc, out, err = virtmp_cli(*args)
        assert (rc, err) == (2, msg), args


def test_cli_run_with_disks(tmp_path):
    """virtmp run --disk IMG (twice): the REPL, and QEMU's monitor (Ctrl-A C
    on stdio) shows both images attached, the second one's as d1."""
    import time
    a, b = tmp_path / "a.img", tmp_path / "b.img"
    virtmp.make_image(a, "64K")
    virtmp.make_image(b, "64K", fs="blank")
    p = subprocess.Popen(VIRTMP + ["run", "--no-net", "--disk", str(a), "--disk", str(b)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        deadline = time.monotonic() + 30
        os.set_blocking(p.stdout.fileno(), False)
        step = 0
        while time.monotonic() < deadline and step < 3:
            time.sleep(0.1)
            out += p.stdout.read() or b""
            if step == 0 and b">>> " in out:
                p.stdin.write(b"print(6 * 7)\r")
                step = 1
            elif step == 1 and b"42" in out:
                p.stdin.write(b"\x01cinfo block\r")  # Ctrl-A C: QEMU's monitor
                step = 2
            elif step == 2 and str(b).encode() in out:
                step = 3
            p.stdin.flush()
        p.stdin.write(b"quit\r")
        p.stdin.flush()
        assert p.wait(timeout=10) == 0
        out += p.stdout.read() or b""
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.decode(errors="replace")
    assert step == 3, text
    assert re.search(r"^d0[^\n]*: %s \(raw\)" % re.escape(str(a)), text, re.M), text
    assert re.search(r"^d1[^\n]*: %s \(raw\)" % re.escape(str(b)), text, re.M), text


def test_cli_test_with_a_disk(tmp_path, src):
    """Two test files in parallel guests with the same --disk: each has its
    own copy (QEMU locks a writable image: two guests could not share it)."""
    img = tmp_path / "d.img"
    virtmp.make_image(img, "1M", source=src)
    original = img.read_bytes()
    for name in ("test_a.py", "test_b.py"):
        (tmp_path / "t" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "t" / name).write_text("import time\ntime.sleep_ms(300)\nprint('ok')\n")
    copies_before = set(n for n in os.listdir("/tmp") if "-disks-" in n)
    rc, out, err = virtmp_cli("test", "-j", "2", "--no-net", "--disk", str(img), "--disk", str(img),
                              str(tmp_path / "t"), timeout=120)
    assert rc == 0 and out.splitlines()[-1] == "2 passed, 0 failed", out + err
    assert img.read_bytes() == original
    assert set(n for n in os.listdir("/tmp") if "-disks-" in n) <= copies_before


# Guests with disks.

def test_current_firmware_boots_with_a_blank_disk(virt_guest_factory, tmp_path):
    img = tmp_path / "blank.img"
    virtmp.make_image(img, "16M", fs="blank")
    g = virt_guest_factory(net=None, disk=str(img))
    assert g.exec("print(1)").strip() == "1"
    assert "-drive" in g.cmd and "virtio-blk-pci,drive=d0" in g.cmd


def test_disk_order_on_the_virtio_mmio_bus(virt_guest_factory, tmp_path):
    """d0 sits at a lower virtio-mmio address than d1: the firmware, which
    scans the device tree from the lowest, finds d0 first."""
    a, b = tmp_path / "a.img", tmp_path / "b.img"
    virtmp.make_image(a, "64K", fs="blank")
    virtmp.make_image(b, "64K")
    g = virt_guest_factory(net=None, disk=[a, virtmp.DiskImage(b, readonly=True)], transport="legacy")
    assert g.exec("print(1)").strip() == "1"
    qtree = g.monitor("info qtree")
    addr, mmio, dev = {}, None, None
    for line in qtree.splitlines():
        words = line.split()
        if words[:1] == ["mmio"]:
            mmio = int(words[1].split("/")[0], 16)
        elif words[:1] == ["dev:"]:
            dev = words[1].rstrip(",")
        elif words[:2] == ["drive", "="] and dev == "virtio-blk-device":
            addr[words[2].strip('"')] = mmio
    assert set(addr) == {"d0", "d1"} and addr["d0"] < addr["d1"], qtree


def test_one_writable_image_is_one_guests(virt_guest_factory, tmp_path):
    """QEMU locks a writable image: a second guest on it is a clear error
    (QEMU's own words); read-only, any number of guests share one."""
    img = tmp_path / "d.img"
    virtmp.make_image(img, "64K")
    virt_guest_factory(net=None, disk=img)
    with pytest.raises(virtmp.GuestError) as e:
        virt_guest_factory(net=None, disk=img)
    assert re.match(r'QEMU exited \(1\) at start: .*Failed to get "write" lock', one_line(e)), str(e.value)
    ro = tmp_path / "ro.img"
    virtmp.make_image(ro, "64K")
    guests = [virt_guest_factory(net=None, disk=virtmp.DiskImage(ro, readonly=True)) for _ in range(2)]
    assert [g.exec("print(1)").strip() for g in guests] == ["1", "1"]


GUEST_BD = """
import binascii, hashlib, os, vfs
class BD:  # what a block device gives vfs: the extended interface
    def __init__(self, data, bs):
        self.data, self.bs = data, bs
    def readblocks(self, n, buf, off=0):
        a = n * self.bs + off
        buf[:] = self.data[a:a + len(buf)]
    def writeblocks(self, n, buf, off=0):
        a = n * self.bs + off
        self.data[a:a + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4: return len(self.data) // self.bs
        if op == 5: return self.bs
        if op == 6: return 0
def walk(p):
    for name, typ, *_ in sorted(os.ilistdir(p)):
        q = p + '/' + name
        if typ == 0x4000:
            print('D', q[2:])
            walk(q)
        else:
            print('F', q[2:], binascii.hexlify(hashlib.sha256(open(q, 'rb').read()).digest()).decode())
"""


@pytest.mark.parametrize("fs", FILESYSTEMS)
def test_micropython_mounts_the_images(virt_guest_factory, tmp_path, src, fs):
    """MicroPython 1.25's own VfsLfs2 (block size 4096, its default read and
    prog sizes) and VfsFat mount a host-made image and read every file; what
    the guest writes, the host lists and extracts."""
    img = tmp_path / "m.img"
    virtmp.make_image(img, "64K", source=src, fs=fs)
    g = virt_guest_factory(net=None)
    g.exec(GUEST_BD + "img = bytearray(binascii.a2b_base64(%r))\n" % base64.b64encode(img.read_bytes()).decode(),
           timeout=60)
    out = g.exec("vfs.mount(vfs.%s(BD(img, %d)), '/d')\nwalk('/d')\n"
                 "os.mkdir('/d/new')\n"
                 "with open('/d/new/from_guest.txt', 'w') as f:\n"
                 "    f.write('written by MicroPython')\n"
                 "vfs.umount('/d')\n" % ("VfsLfs2" if fs == "lfs2" else "VfsFat", 4096 if fs == "lfs2" else 512))
    want = []
    for path, size in EXPECTED:
        if size is None:
            want.append("D " + path)
        else:
            want.append("F %s %s" % (path, hashlib.sha256((src / path[1:]).read_bytes()).hexdigest()))
    assert out.strip().splitlines() == want
    back = tmp_path / "back.img"
    back.write_bytes(base64.b64decode(g.exec("print(binascii.b2a_base64(img).decode())", timeout=60)))
    assert virtmp.detect(back) == fs
    assert virtmp.list_image(back) == sorted(EXPECTED + [("/new", None), ("/new/from_guest.txt", 22)])
    virtmp.extract_image(back, tmp_path / "out")
    assert (tmp_path / "out" / "new" / "from_guest.txt").read_text() == "written by MicroPython"


def test_littlefs_python_is_a_declared_dependency():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert re.search(r'^dependencies = \[.*"littlefs-python>=', f.read(), re.M)
    with open(os.path.join(ROOT, "tests", "requirements.txt")) as f:
        assert re.search(r"^littlefs-python==\d", f.read(), re.M)
    with open(os.path.join(ROOT, "tools", "setup.sh")) as f:
        assert re.search(r"^\s*PKGS=.* dosfstools mtools", f.read(), re.M)
