"""Disk images for a guest's virtio-blk disks: make, detect, list, extract.

    virtmp.make_image("disk.img", "16M", source="src")     # littlefs2, src's files in it
    virtmp.make_image("fat.img", "32M", fs="fat")           # FAT12/16/32 (dosfstools, mtools)
    virtmp.make_image("new.img", "16M", fs="blank")         # zeros: vfs.VfsLfs2.mkfs(virt.Disk(0)) in the guest
    with virtmp.Guest(disk="disk.img") as g: ...            # virt.Disk(0) in the guest
    virtmp.list_image("disk.img")  ->  [("/lib", None), ("/lib/x.py", 120), ...]
    virtmp.extract_image("disk.img", "out")

littlefs2 images have the geometry MicroPython's vfs.VfsLfs2 uses on a
virt.Disk: 4096-byte blocks, read/prog size 32, the default name, file and
attribute limits, on-disk version 2.1 (what MicroPython 1.25's littlefs
v2.8 writes). They are made with the littlefs-python package; FAT images
with mkfs.fat (512-byte sectors; FAT12, 16 or 32 by size) and mtools.

Every error is a DiskError (a VirtmpError and a ValueError) of one line.
"""

import errno
import os
import re
import shutil
import subprocess
import tempfile

from .config import SetupError, VirtmpError

FILESYSTEMS = ("lfs2", "fat", "blank")
BLOCK_SIZE = 4096  # littlefs2 block size (MicroPython mounts with the disk's block size, 4096)
LFS_READ_SIZE = LFS_PROG_SIZE = 32  # MicroPython's VfsLfs2 defaults
LFS_CACHE_SIZE = 128  # what VfsLfs2 uses with those: min(block, 4 * max(read, prog))
LFS_LOOKAHEAD_SIZE = 32
LFS_DISK_VERSION = 0x00020001  # LFS2_DISK_VERSION of MicroPython 1.25's lib/littlefs (v2.8)
SECTOR = 512  # FAT sector size
BLANK_PROBE = 64 * 1024  # detect(): a disk whose first 64 KiB are zero is blank
TOOL_TIMEOUT = 120  # seconds for one mkfs.fat / mtools run

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# mtools: no sectors-per-track check (an image file has no real geometry).
_MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1"}
_FAT_BAD_CHARS = set('"*/:<>?\\|') | set(chr(c) for c in range(32))


class DiskError(VirtmpError, ValueError):
    """A disk image that cannot be made, read or attached; str() is one line."""


class DiskImage:
    """A disk for Guest(disk=...): a raw image file, attached read-write
    unless readonly."""

    def __init__(self, path, readonly=False):
        self.path = os.path.abspath(os.fspath(path))
        self.readonly = bool(readonly)

    def __repr__(self):
        return "DiskImage(%r%s)" % (self.path, ", readonly=True" if self.readonly else "")

    def __eq__(self, other):
        return isinstance(other, DiskImage) and (self.path, self.readonly) == (other.path, other.readonly)

    def __hash__(self):
        return hash((self.path, self.readonly))


def as_disks(disk):
    """Guest(disk=...)'s argument as a list of DiskImage: None, a path, a
    DiskImage, or a list (tuple) of paths and DiskImages."""
    if disk is None:
        return []
    if isinstance(disk, (str, bytes, os.PathLike, DiskImage)):
        disk = [disk]
    out = []
    for d in disk:
        if isinstance(d, DiskImage):
            out.append(d)
        elif isinstance(d, (str, os.PathLike)):
            out.append(DiskImage(d))
        else:
            raise TypeError("disk= takes image paths or virtmp.DiskImage objects, not %r" % (d,))
    return out


def check_disks(disks):
    """SetupError (one line: what to run) for the first DiskImage whose file is missing."""
    for d in disks:
        if not os.path.exists(d.path):
            raise SetupError("virtmp: no disk image at %s: make one with `virtmp disk make %s --size 16M`"
                             % (d.path, d.path))
        if not os.path.isfile(d.path):
            raise SetupError("virtmp: disk image %s is not a file" % d.path)


# Sizes.

def parse_size(size):
    """Bytes from an int or a string: "16M", "512K", "1G", "4096", "16MiB"
    (K, M, G, T are powers of 1024)."""
    if isinstance(size, bool):
        raise DiskError("disk size must be a number of bytes or a string like 16M, not %r" % (size,))
    if isinstance(size, int):
        n = size
    else:
        m = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(size))
        if not m:
            raise DiskError("bad disk size %r: give bytes or a number with K, M or G (16M)" % (size,))
        n = int(m.group(1)) * _UNITS[m.group(2).upper()]
    if n <= 0:
        raise DiskError("disk size must be more than 0 bytes, not %r" % (size,))
    return n


def format_size(n):
    """16777216 -> "16M"; sizes that are no whole number of K, M, G stay bytes."""
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit] and n % _UNITS[unit] == 0:
            return "%d%s" % (n // _UNITS[unit], unit)
    return str(n)


# Detecting.

def _read_head(path, n):
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except FileNotFoundError:
        raise DiskError("no disk image at %s" % path) from None
    except IsADirectoryError:
        raise DiskError("%s is a directory, not a disk image" % path) from None


def _lfs_block_size(head):
    """The block size at whose block 0 or 1 the littlefs magic is, or None."""
    if head[8:16] == b"littlefs":
        return _lfs_superblock_block_size(head, 0) or BLOCK_SIZE
    for bs in (BLOCK_SIZE, 512, 1024, 2048, 8192, 16384, 32768):
        if head[bs + 8:bs + 16] == b"littlefs":
            return bs
    return None


def _lfs_superblock_block_size(data, off):
    """The block_size field of the superblock entry right after the magic, if
    it is there (it is in every image littlefs compacted or formatted)."""
    if len(data) < off + 32:
        return None
    tag0 = int.from_bytes(data[off + 4:off + 8], "big") ^ 0xFFFFFFFF
    tag1 = int.from_bytes(data[off + 16:off + 20], "big") ^ tag0
    if (tag1 >> 20) & 0x7FF != 0x201 or (tag1 & 0x3FF) < 12:  # LFS_TYPE_INLINESTRUCT, superblock
        return None
    bs = int.from_bytes(data[off + 24:off + 28], "little")
    return bs if bs >= 128 and bs & (bs - 1) == 0 else None


def _fat_type(head):
    if len(head) < 512 or head[510:512] != b"\x55\xaa":
        return None
    for start in (54, 82):  # FAT12/16 boot sector; FAT32's
        t = head[start:start + 8]
        if t.startswith(b"FAT"):
            return t.decode("ascii", "replace").strip()
    return None


def detect(path):
    """What an image holds: "lfs2", "fat", "blank" (its first 64 KiB are all
    zero) or "unknown"."""
    head = _read_head(path, BLANK_PROBE)
    if _lfs_block_size(head):
        return "lfs2"
    if _fat_type(head):
        return "fat"
    if head and head.count(0) == len(head):
        return "blank"
    if _lfs_mounts(path):
        return "lfs2"
    return "unknown"


def _lfs_mounts(path):
    """Whether littlefs mounts the image. Its superblock entry is not always
    in blocks 0 and 1: once the root directory outgrows them, littlefs may
    leave only a tail pointer there and the entry further down the chain."""
    try:
        littlefs = _littlefs()
    except DiskError:
        return False
    with open(path, "rb") as fh:
        try:
            _lfs_open(path, fh).unmount()
        except (DiskError, littlefs.LittleFSError):
            return False
    return True


def fat_type(path):
    """"FAT12", "FAT16" or "FAT32" for a FAT image, else None."""
    return _fat_type(_read_head(path, SECTOR))


# littlefs2 (littlefs-python).

def _littlefs():
    try:
        import littlefs
    except ImportError:
        raise DiskError("littlefs2 images need the littlefs-python package: pip install littlefs-python") from None
    return littlefs


class _FileContext:
    """littlefs-python's block device: a raw image file. A disk needs no
    erase, so erase writes nothing (unused blocks of a new image stay zero)."""

    def __init__(self, fh, readonly=False):
        self.fh = fh
        self.readonly = readonly

    def read(self, cfg, block, off, size):
        self.fh.seek(block * cfg.block_size + off)
        data = self.fh.read(size)
        return bytearray(data + b"\xff" * (size - len(data)))

    def prog(self, cfg, block, off, data):
        if self.readonly:
            return -5  # LFS_ERR_IO: listing and extracting never write
        self.fh.seek(block * cfg.block_size + off)
        self.fh.write(data)
        return 0

    def erase(self, cfg, block):
        return -5 if self.readonly else 0

    def sync(self, cfg):
        if not self.readonly:
            self.fh.flush()
        return 0


def _lfs_config(block_count):
    return dict(block_size=BLOCK_SIZE, block_count=block_count, read_size=LFS_READ_SIZE,
                prog_size=LFS_PROG_SIZE, cache_size=LFS_CACHE_SIZE, lookahead_size=LFS_LOOKAHEAD_SIZE,
                disk_version=LFS_DISK_VERSION)


def _lfs_error(e, what):
    code = getattr(e, "code", None)
    names = {-28: "no space left", -36: "name too long (littlefs: 255 bytes)", -84: "corrupt filesystem",
             -27: "file too large", -5: "I/O error"}
    return "%s: %s" % (what, names.get(code, str(e)))


def _make_lfs2(path, size, source, size_text):
    littlefs = _littlefs()
    if size % BLOCK_SIZE:
        raise DiskError("a littlefs2 image's size must be a multiple of %d bytes (the block size), not %d"
                        % (BLOCK_SIZE, size))
    if size // BLOCK_SIZE < 2:
        raise DiskError("a littlefs2 image needs at least 2 blocks (%d bytes), not %d bytes" % (2 * BLOCK_SIZE, size))
    with open(path, "r+b") as fh:
        fs = littlefs.LittleFS(context=_FileContext(fh), mount=False, **_lfs_config(size // BLOCK_SIZE))
        try:
            fs.format()
            fs.mount()
        except littlefs.LittleFSError as e:
            raise DiskError(_lfs_error(e, "cannot format %s as littlefs2" % path)) from None
        if source is not None:
            for rel, src in _source_entries(source):
                dest = "/" + rel
                try:
                    if src is None:
                        fs.mkdir(dest)
                    else:
                        with open(src, "rb") as f_in, fs.open(dest, "wb") as f_out:
                            shutil.copyfileobj(f_in, f_out, 64 * 1024)
                except littlefs.LittleFSError as e:
                    if e.code == -28:
                        raise DiskError("image full: %s needs more than %s" % (_shown(source, rel), size_text)) \
                            from None
                    raise DiskError(_lfs_error(e, "cannot copy %s" % _shown(source, rel))) from None
        try:
            fs.unmount()
        except littlefs.LittleFSError as e:
            raise DiskError(_lfs_error(e, "cannot finish %s" % path)) from None


def _lfs_open(path, fh):
    """littlefs-python's LittleFS on an image, mounted read-only."""
    littlefs = _littlefs()
    head = fh.read(BLANK_PROBE)
    bs = _lfs_block_size(head)
    sizes = [s for s in (bs, BLOCK_SIZE, 512, 1024, 2048, 8192, 16384, 32768) if s]
    sizes = sorted(set(sizes), key=sizes.index)
    for block_size in sizes:
        cfg = _lfs_config(0)  # block_count 0: the superblock's
        cfg["block_size"] = block_size
        cfg["cache_size"] = min(block_size, LFS_CACHE_SIZE)
        fs = littlefs.LittleFS(context=_FileContext(fh, readonly=True), mount=False, **cfg)
        try:
            fs.mount()
        except littlefs.LittleFSError:
            continue
        return fs
    raise DiskError("cannot mount %s: its littlefs2 filesystem is corrupt" % path)


def _lfs_walk(fs, top="/"):
    """(guest path, size or None for a directory), depth first."""
    for st in sorted(fs.scandir(top), key=lambda s: s.name):
        path = top.rstrip("/") + "/" + st.name
        if st.type == 2:
            yield path, None
            yield from _lfs_walk(fs, path)
        else:
            yield path, st.size


# FAT (dosfstools, mtools).

def _tool(name):
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        raise DiskError("%s not found: FAT images need it (apt-get install --no-install-recommends dosfstools mtools)"
                        % name)
    return path


def _run(argv, what):
    env = dict(os.environ)
    env.update(_MTOOLS_ENV)
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TOOL_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        raise DiskError("%s: %s took more than %d s" % (what, os.path.basename(argv[0]), TOOL_TIMEOUT)) from None
    out = (r.stdout + r.stderr).decode(errors="replace")
    return r.returncode, out


def _tool_message(out):
    """The line of a tool's output that says what went wrong."""
    lines = [line.strip() for line in out.splitlines() if line.strip() and not line.startswith("mkfs.fat 4")]
    return lines[-1] if lines else "failed"


def _fat_path(rel):
    return "::/" + rel


def _make_fat(path, size, source, size_text):
    mkfs = _tool("mkfs.fat")
    if source is not None:
        mmd, mcopy, mdir = _tool("mmd"), _tool("mcopy"), _tool("mdir")
    if size % SECTOR:
        raise DiskError("a FAT image's size must be a multiple of %d bytes (the sector size), not %d" % (SECTOR, size))
    rc, out = _run([mkfs, "-S", str(SECTOR), path], "mkfs.fat")
    if rc != 0:
        raise DiskError("mkfs.fat cannot make a FAT image of %s: %s" % (size_text, _tool_message(out)))
    if source is None:
        return
    entries = list(_source_entries(source))
    _check_fat_names(source, entries)
    dirs = [rel for rel, src in entries if src is None]
    for i in range(0, len(dirs), 200):
        rc, out = _run([mmd, "-i", path] + [_fat_path(d) for d in dirs[i:i + 200]], "mmd")
        if rc != 0:
            if "full" in out.lower():
                raise DiskError("image full: %s needs more than %s" % (_shown(source, dirs[i]), size_text))
            raise DiskError("mmd cannot make a folder in %s: %s" % (path, _tool_message(out)))
    # One mcopy per folder; if the disk fills, the first file of the batch
    # that did not arrive is the one that did not fit.
    by_dir = {}
    for rel, src in entries:
        if src is not None:
            by_dir.setdefault(os.path.dirname(rel), []).append((rel, src))
    for d, files in by_dir.items():
        for i in range(0, len(files), 200):
            batch = files[i:i + 200]
            rc, out = _run([mcopy, "-i", path, "-m", "-D", "o"] + [src for rel, src in batch]
                           + [_fat_path(d + "/" if d else "")], "mcopy")
            if rc == 0:
                continue
            if "full" not in out.lower():
                raise DiskError("mcopy cannot copy %s: %s" % (_shown(source, batch[0][0]), _tool_message(out)))
            rc, listing = _run([mdir, "-i", path, "-a", "-b", _fat_path(d)], "mdir")
            there = set(line.strip() for line in listing.splitlines())
            missing = [rel for rel, src in batch if _fat_path(rel) not in there]
            rel = missing[0] if missing else batch[-1][0]
            raise DiskError("image full: %s needs more than %s" % (_shown(source, rel), size_text))


def _check_fat_names(source, entries):
    seen = {}
    for rel, src in entries:
        name = rel.rsplit("/", 1)[-1]
        if set(name) & _FAT_BAD_CHARS or name.rstrip(" .") != name:
            raise DiskError("%s: FAT names cannot hold control characters or any of \" * / : < > ? \\ | "
                            "nor end in a space or dot" % _shown(source, rel))
        key = rel.lower()
        if key in seen:
            raise DiskError("%s and %s differ only in case: one FAT folder cannot hold both"
                            % (_shown(source, seen[key]), _shown(source, rel)))
        seen[key] = rel


def _fat_extract(path, dest):
    mcopy = _tool("mcopy")
    os.makedirs(dest, exist_ok=True)
    rc, out = _run([mcopy, "-i", path, "-s", "-n", "-m", "::", dest + "/"], "mcopy")
    if rc != 0 and "no match" not in out.lower() and "no files" not in out.lower():
        raise DiskError("mcopy cannot read %s: %s" % (path, _tool_message(out)))


def _walk_host(top):
    out = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in dirs:
            out.append(("/" + os.path.relpath(os.path.join(root, name), top), None))
        for name in files:
            p = os.path.join(root, name)
            out.append(("/" + os.path.relpath(p, top), os.path.getsize(p)))
    return sorted(out)


# The source folder.

def _source_entries(source):
    """(relative path with "/", host path or None for a folder), each folder
    before what it holds."""
    if not os.path.isdir(source):
        raise DiskError("source folder %s does not exist" % source if not os.path.exists(source)
                        else "source %s is not a folder" % source)
    for root, dirs, files in os.walk(source, followlinks=True):
        dirs.sort()
        rel_root = os.path.relpath(root, source)
        rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
        for name in dirs:
            yield rel_root + name, None
        for name in sorted(files):
            p = os.path.abspath(os.path.join(root, name))  # never "-..." to mcopy
            if not os.path.isfile(p):
                raise DiskError("%s is not a regular file (a broken link, a socket, a fifo)" % p)
            yield rel_root + name, p


def _shown(source, rel):
    return os.path.join(source, rel)


# The public functions.

def make_image(path, size, source=None, fs="lfs2"):
    """Make a raw disk image of size bytes (int or "16M") at path, replacing
    any file there: fs "lfs2" (littlefs2), "fat" or "blank" (all zero: no
    filesystem yet). source: a host folder whose files
    and subfolders are copied into it. Returns the absolute path."""
    if fs not in FILESYSTEMS:
        raise DiskError("unknown filesystem %r: use %s" % (fs, ", ".join(FILESYSTEMS)))
    n = parse_size(size)
    size_text = format_size(n)
    if fs == "blank":
        if source is not None:
            raise DiskError("a blank image holds no files: use fs='lfs2' or 'fat' with a source folder")
        if n % SECTOR:
            raise DiskError("a disk image's size must be a multiple of %d bytes, not %d" % (SECTOR, n))
    path = os.path.abspath(os.fspath(path))
    if source is not None:
        source = os.fspath(source)
        list(_source_entries(source))  # a missing or odd source before any image exists
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise DiskError("cannot make %s: no folder %s" % (path, folder))
    # Made under a temporary name, renamed at the end: a failure leaves no
    # half-made image (and an old one at path as it was).
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        os.ftruncate(fd, n)
        os.close(fd)
        fd = None
        if fs == "lfs2":
            _make_lfs2(tmp, n, source, size_text)
        elif fs == "fat":
            _make_fat(tmp, n, source, size_text)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def copy_image(src, dst):
    """Copy an image file, keeping its holes (a new image is mostly one)."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        size = os.fstat(fi.fileno()).st_size
        fo.truncate(size)
        spans = []
        off = 0
        try:
            while off < size:
                try:
                    data = os.lseek(fi.fileno(), off, os.SEEK_DATA)
                except OSError as e:
                    if e.errno == errno.ENXIO:  # only a hole is left
                        break
                    raise
                off = os.lseek(fi.fileno(), data, os.SEEK_HOLE)
                spans.append((data, off))
        except (OSError, AttributeError):  # no SEEK_DATA here: all of it
            spans = [(0, size)]
        for start, end in spans:
            pos = start
            while pos < end:
                chunk = os.pread(fi.fileno(), min(1 << 20, end - pos), pos)
                if not chunk:
                    break
                os.pwrite(fo.fileno(), chunk, pos)
                pos += len(chunk)
    return dst


def _known(path):
    kind = detect(path)
    if kind == "unknown":
        raise DiskError("%s holds no filesystem virtmp knows (littlefs2, FAT) and is not blank" % path)
    return kind


def list_image(path):
    """The image's folders and files, sorted: [(path, size)] with guest
    paths ("/lib/x.py") and size None for a folder. A blank image has none."""
    path = os.fspath(path)
    kind = _known(path)
    if kind == "blank":
        return []
    if kind == "lfs2":
        with open(path, "rb") as fh:
            fs = _lfs_open(path, fh)
            try:
                return sorted(_lfs_walk(fs))
            except _littlefs().LittleFSError as e:
                raise DiskError(_lfs_error(e, "cannot read %s" % path)) from None
    with tempfile.TemporaryDirectory(prefix="virtmp-disk-") as tmp:
        _fat_extract(path, tmp)
        return _walk_host(tmp)


def extract_image(path, dest):
    """Copy everything in the image into the host folder dest (made if
    missing; files there with the same names are replaced). Returns the
    list_image() of what was copied."""
    path, dest = os.fspath(path), os.fspath(dest)
    kind = _known(path)
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise DiskError("cannot extract into %s: it is not a folder" % dest)
    os.makedirs(dest, exist_ok=True)
    if kind == "blank":
        return []
    if kind == "fat":
        with tempfile.TemporaryDirectory(prefix="virtmp-disk-") as tmp:
            _fat_extract(path, tmp)
            entries = _walk_host(tmp)
            for rel, size in entries:
                src, dst = tmp + rel, os.path.join(dest, rel[1:])
                if size is None:
                    os.makedirs(dst, exist_ok=True)
                else:
                    shutil.copyfile(src, dst)
        return entries
    littlefs = _littlefs()
    with open(path, "rb") as fh:
        fs = _lfs_open(path, fh)
        try:
            entries = sorted(_lfs_walk(fs))
            for rel, size in entries:
                dst = os.path.join(dest, rel[1:])
                if size is None:
                    os.makedirs(dst, exist_ok=True)
                    continue
                with fs.open(rel, "rb") as f_in, open(dst, "wb") as f_out:
                    shutil.copyfileobj(f_in, f_out, 64 * 1024)
        except littlefs.LittleFSError as e:
            raise DiskError(_lfs_error(e, "cannot read %s" % path)) from None
    return entries
