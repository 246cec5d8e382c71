"""ROMFS images for a guest's /rom (MicroPython 1.25's vfs.VfsRom).

build_romfs(folder) makes the image `mpremote romfs build` makes (the same
bytes; the format is MicroPython's extmod/vfs_rom.c), each .py compiled to
.mpy by MicroPython's mpy-cross when one is found, so imports from /rom run
bytecode in place. Written here so virtmp needs no other package. The guest
maps the image from QEMU virt's second flash bank (romfs_file() pads it to
the bank's size, as QEMU wants a flash file of exactly that size), or on
RISC-V from the RAM QEMU loaded it into as an -initrd.
"""

import os
import shutil
import subprocess
import tempfile

from .config import SetupError, VirtmpError, _checkouts

ROMFS_MAGIC = b"\xd2\xcd\x31"  # the record kind 0x14a6b1 as a varuint: the whole filesystem
RECORD_DATA_VERBATIM = 2
RECORD_DIRECTORY = 4
RECORD_FILE = 5


class RomfsError(VirtmpError, ValueError):
    """A folder that cannot become a ROMFS image, or a file that is not one."""


def find_mpy_cross():
    """MicroPython's mpy-cross: $MICROPY_MPYCROSS, a checkout's deps build, or on PATH; None if none."""
    env = os.environ.get("MICROPY_MPYCROSS")
    if env:
        if not os.access(env, os.X_OK):
            raise SetupError("virtmp: MICROPY_MPYCROSS=%s is not an executable" % env)
        return env
    top = os.environ.get("MICROPY_TOP")
    tops = [top] if top else []
    tops += [os.path.join(c, "deps", "micropython") for c in _checkouts()]
    for t in tops:
        path = os.path.join(t, "mpy-cross", "build", "mpy-cross")
        if os.access(path, os.X_OK):
            return path
    return shutil.which("mpy-cross")


def _compile(mpy_cross, src, workdir):
    out = os.path.join(workdir, "out.mpy")
    r = subprocess.run([mpy_cross, "-o", out, "-s", os.path.basename(src), src],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RomfsError("virtmp: mpy-cross could not compile %s: %s" % (src, r.stdout.decode(errors="replace").strip()))
    with open(out, "rb") as f:
        return f.read()


def _varuint(value):
    """Big-endian, 7 bits a byte, the high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.insert(0, 0x80 | (value & 0x7F))
        value >>= 7
    return bytes(out)


def _record(kind, payload):
    return _varuint(kind) + _varuint(len(payload)) + payload


def _named(name, content):
    name = name.encode("ascii")
    return _varuint(len(name)) + name + content


def build_romfs(folder, mpy=True, mpy_cross=None):
    """The ROMFS image (bytes) of folder's files and subfolders.

    mpy=True compiles each .py to .mpy (a .mpy already beside it wins) with
    mpy_cross, default find_mpy_cross(); with none found the .py files go in
    as they are. Names must be ASCII (the format's rule)."""
    if not os.path.isdir(folder):
        raise RomfsError("virtmp: no folder %s to make a ROMFS image of" % folder)
    if mpy and mpy_cross is None:
        mpy_cross = find_mpy_cross()
    with tempfile.TemporaryDirectory(prefix="virtmp-romfs-") as workdir:
        def walk(path):
            out = bytearray()
            for name in sorted(os.listdir(path)):
                src = os.path.join(path, name)
                if not name.isascii():
                    raise RomfsError("virtmp: ROMFS names are ASCII: %r" % src)
                if os.path.isdir(src):
                    out += _record(RECORD_DIRECTORY, _named(name, walk(src)))
                    continue
                if mpy and mpy_cross and name.endswith(".py"):
                    if os.path.exists(src[:-3] + ".mpy"):
                        continue  # the .mpy beside it goes in under its own name
                    name, data = name[:-3] + ".mpy", _compile(mpy_cross, src, workdir)
                else:
                    with open(src, "rb") as f:
                        data = f.read()
                out += _record(RECORD_FILE, _named(name, _record(RECORD_DATA_VERBATIM, data)))
            return bytes(out)

        body = walk(folder)
    size = _varuint(len(body))
    if (len(ROMFS_MAGIC) + len(size) + len(body)) % 2:
        size = b"\x80" + size  # a padded varuint: the image's length must be even
    return ROMFS_MAGIC + size + body


def check_image(data, max_size):
    """Raise RomfsError unless data is a ROMFS image of at most max_size bytes."""
    if not data.startswith(ROMFS_MAGIC):
        raise RomfsError("virtmp: not a ROMFS image (it does not start with d2 cd 31; make one with "
                         "`virtmp romfs FOLDER IMAGE` or `mpremote romfs build`)")
    if len(data) > max_size:
        raise RomfsError("virtmp: the ROMFS image is %d bytes, over the board's limit of %d" % (len(data), max_size))


def romfs_file(romfs, max_size, directory, pad=True):
    """The file QEMU is given: romfs (an image's path, a folder to build one
    from, or bytes) written in directory, padded (sparse) to max_size when
    pad (a flash bank: -drive if=pflash,unit=1), else as is (-initrd).
    Returns its path."""
    if isinstance(romfs, (bytes, bytearray)):
        data = bytes(romfs)
    elif os.path.isdir(romfs):
        data = build_romfs(romfs)
    else:
        try:
            with open(romfs, "rb") as f:
                data = f.read(max_size + 1)
        except OSError as e:
            raise RomfsError("virtmp: cannot read ROMFS image %s: %s" % (romfs, e.strerror))
    check_image(data, max_size)
    path = os.path.join(directory, "romfs.img")
    with open(path, "wb") as f:
        f.write(data)
        if pad:
            f.truncate(max_size)
    return path
