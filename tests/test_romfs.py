"""ROMFS: an image (virtmp.build_romfs, `virtmp romfs`, `mpremote romfs
build`) in QEMU virt's second flash bank (on RISC-V: an -initrd in RAM),
mounted at /rom by the firmware, its .mpy files imported in place. Every
QEMU is killed when its test ends."""

import contextlib
import io
import os
import subprocess
import sys

import pytest
import virtmp

from support import BOARD, ROOT

# ARM: the second flash bank (its 64 MiB are the segment); RISC-V: an -initrd
# (the segment is the image).
IN_FLASH = virtmp.BOARDS[BOARD]["romfs_via"] == "pflash"

@pytest.fixture
def app(tmp_path):
    """A folder to make an image of: a module, a package, a data file."""
    src = tmp_path / "app"
    (src / "lib" / "pkg").mkdir(parents=True)
    (src / "lib" / "romlib.py").write_text("def hello():\n    return 'hello from ROMFS'\n")
    (src / "lib" / "pkg" / "__init__.py").write_text("NAME = 'pkg'\n")
    (src / "lib" / "pkg" / "sub.py").write_text("from . import NAME\nFULL = NAME + '.sub'\n")
    (src / "data.bin").write_bytes(bytes(range(256)) * 64)
    (src / "config.json").write_text('{"mode": "rom"}')
    return src


def test_mounted_at_rom_and_imported(virt_guest_factory, app):
    g = virt_guest_factory(net=None, romfs=app)
    g.exec("import vfs, sys, os")
    assert g.eval("[p for fs, p in vfs.mount()]") == ["/rom", "/"]  # / is the RAM filesystem
    assert g.eval("type(vfs.mount()[0][0]).__name__") == "VfsRom"
    assert g.eval("sys.path") == ["", ".frozen", "/rom", "/rom/lib", "/lib"]
    assert g.eval("sorted(os.listdir('/rom/lib'))") == ["pkg", "romlib.mpy"]  # compiled by mpy-cross
    assert g.eval("__import__('romlib').hello()") == "hello from ROMFS"
    assert g.eval("__import__('romlib').__file__") == "/rom/lib/romlib.mpy"
    assert g.eval("__import__('pkg.sub').sub.FULL") == "pkg.sub"
    assert g.eval("open('/rom/data.bin', 'rb').read() == bytes(range(256)) * 64")
    assert g.eval("__import__('json').load(open('/rom/config.json'))") == {"mode": "rom"}
    assert g.eval("os.stat('/rom/data.bin')[6]") == 16384
    # Read-only, and still there after a soft reset.
    with pytest.raises(virtmp.GuestException, match="EROFS|OSError"):
        g.exec("open('/rom/new.txt', 'w')")
    g.soft_reset()
    assert g.eval("__import__('romlib').hello()") == "hello from ROMFS"


def test_file_data_is_used_in_place(virt_guest_factory, app):
    """A file's bytes are read from where QEMU put the image, not copied."""
    g = virt_guest_factory(net=None, romfs=app)
    g.exec("import vfs\nseg = vfs.rom_ioctl(2, 0)\n"
           "import uctypes\nf = open('/rom/data.bin', 'rb')\nmv = memoryview(f)\n")
    base = g.eval("uctypes.addressof(seg)")
    if IN_FLASH:
        assert base == 0x04000000 and g.eval("len(seg)") == 64 * 1024 * 1024
    else:  # in RAM, above the firmware, the image's own size
        assert base > 0x80000000 and g.eval("len(seg)") == len(virtmp.build_romfs(app))
        assert g.eval("bytes(seg[:3])") == b"\xd2\xcd\x31"
    assert base < g.eval("uctypes.addressof(mv)") < base + 64 * 1024


def test_heap_keeps_off_the_image(virt_guest_factory, app):
    """Filling the heap leaves the image as it was (on RISC-V it lies in the
    RAM the heap is taken from), and most of RAM is still heap."""
    g = virt_guest_factory(net=None, romfs=app, mem="128M")
    g.exec("bufs = []\n"
           "try:\n"
           "    for _ in range(200):\n"
           "        bufs.append(bytearray(1024 * 1024))\n"
           "except MemoryError:\n"
           "    pass\n", timeout=60)
    assert g.eval("len(bufs)") >= 40  # MiB: the heap below or above the image, less the RAM filesystem
    assert g.eval("open('/rom/data.bin', 'rb').read() == bytes(range(256)) * 64")
    assert g.eval("__import__('romlib').hello()") == "hello from ROMFS"


def test_no_image_no_rom(guest):
    guest.exec("import vfs")
    assert guest.eval("[p for fs, p in vfs.mount()]") == ["/"]
    assert guest.eval("vfs.rom_ioctl(1)") == 1  # the bank is there, empty
    assert guest.eval("vfs.rom_ioctl(3, 0, 100)") == -30  # EROFS: images come from the host


def test_upstream_romfs_format(app):
    """virtmp's image is byte for byte mpremote's (without mpy-cross)."""
    from mpremote.romfs import make_romfs

    with contextlib.redirect_stdout(io.StringIO()):
        theirs = make_romfs(str(app), mpy_cross=False)
    assert virtmp.build_romfs(app, mpy=False) == theirs


def test_mpremote_romfs_image_and_query(virt_guest_factory, app, tmp_path):
    img = tmp_path / "app.romfs"
    subprocess.run([sys.executable, "-m", "mpremote", "romfs", "-o", str(img), "build", str(app)],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)
    g = virt_guest_factory(net=None, romfs=img)
    assert g.eval("open('/rom/lib/romlib.py').read()").startswith("def hello")  # mpremote kept the .py
    rc, out, err = g.mpremote("romfs", "query")
    size = 64 * 1024 * 1024 if IN_FLASH else img.stat().st_size
    assert rc == 0 and "ROMFS0" in out and str(size) in out.replace(" ", ""), (out, err)


def test_bad_images_are_refused_before_boot(tmp_path):
    bad = tmp_path / "bad.img"
    bad.write_bytes(b"not a romfs image")
    with pytest.raises(virtmp.RomfsError, match="not a ROMFS image"):
        virtmp.Guest(net=None, romfs=bad).start()
    with pytest.raises(virtmp.RomfsError, match="over the board's"):
        virtmp.Guest(net=None, romfs=b"\xd2\xcd\x31" + bytes(64 * 1024 * 1024)).start()
    with pytest.raises(virtmp.RomfsError, match="no folder|cannot read"):
        virtmp.Guest(net=None, romfs=tmp_path / "missing").start()


def test_virtmp_romfs_command(app, tmp_path):
    img = tmp_path / "app.romfs"
    r = subprocess.run([sys.executable, "-m", "virtmp", "romfs", str(app), str(img)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "made" in r.stdout, r
    assert img.read_bytes() == virtmp.build_romfs(app)
    r = subprocess.run([sys.executable, "-m", "virtmp", "romfs", str(tmp_path / "nothing"), str(img)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no folder" in r.stderr, r


def test_make_run_romfs():
    r = subprocess.run(["make", "-n", "-s", "run", "ROMFS=examples"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    line = [l for l in r.stdout.splitlines() if "virtmp run" in l]
    assert line and "--romfs %s/examples" % ROOT in line[-1], r.stdout


def test_virtmp_run_romfs_on_stdio(app, tmp_path):
    """`virtmp run --romfs DIR`: the REPL on stdio imports from /rom; the
    image file it made for QEMU is gone after QEMU quits."""
    import glob
    import time

    p = subprocess.Popen([sys.executable, "-m", "virtmp", "run", "--no-net", "--romfs", str(app)], cwd=ROOT,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = b""
        os.set_blocking(p.stdout.fileno(), False)
        deadline = time.monotonic() + 30
        sent = False
        while time.monotonic() < deadline and b"hello from ROMFS" not in out:
            time.sleep(0.1)
            out += p.stdout.read() or b""
            if not sent and b">>> " in out:
                p.stdin.write(b"import romlib; print(romlib.hello())\r")
                p.stdin.flush()
                sent = True
        p.stdin.write(b"\x01x")  # Ctrl-A X: quit QEMU
        p.stdin.flush()
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert b"hello from ROMFS" in out, out
    assert not glob.glob("/tmp/virtmp-guest-%d-romfs-*" % p.pid)  # the (64 MiB flash) file is gone
