# MicroPython side of virtmp's host import paths (sent to the guest's raw
# REPL, not run on the host): a small read-only VFS in the guest's RAM holding
# the .py/.mpy files of host directories, as MicroPython's run-tests.py
# injects its .mpy tests. files maps "<root>/<relpath>" to bytes; each root
# becomes a sys.path entry <point>/<root>. Gone at the next soft reset.


def _virtmp_mount(point, files, roots):
    import sys
    import io
    import vfs

    class File(io.IOBase):
        def __init__(self, data):
            self.data = data
            self.off = 0

        def readinto(self, buf):
            n = min(len(buf), len(self.data) - self.off)
            buf[:n] = memoryview(self.data)[self.off:self.off + n]
            self.off += n
            return n

        def read(self, n=-1):
            end = len(self.data) if n is None or n < 0 else self.off + n
            out = self.data[self.off:end]
            self.off += len(out)
            return out

        def ioctl(self, request, arg):
            return 0 if request == 4 else -1  # MP_STREAM_CLOSE

    dirs = set()
    for path in files:
        parts = path.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    dirs.update(roots)

    class FS:
        def mount(self, readonly, mkfs):
            pass

        def umount(self):
            pass

        def stat(self, path):
            path = path.strip("/")
            if path in files:
                return (0x8000, 0, 0, 0, 0, 0, len(files[path]), 0, 0, 0)
            if path in dirs or not path:
                return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            raise OSError(2)  # ENOENT

        def open(self, path, mode):
            path = path.strip("/")
            if "w" in mode or "a" in mode or "+" in mode:
                raise OSError(30)  # EROFS
            if path not in files:
                raise OSError(2)
            data = files[path]
            return File(data) if "b" in mode else io.StringIO(data.decode())

        def ilistdir(self, path):
            path = path.strip("/")
            prefix = path + "/" if path else ""
            seen = set()
            for p in list(files) + list(dirs):
                if p.startswith(prefix) and p != path:
                    entry = p[len(prefix):].split("/")[0]
                    if entry not in seen:
                        seen.add(entry)
                        kind = 0x8000 if prefix + entry in files else 0x4000
                        yield (entry, kind, 0)

        def chdir(self, path):
            pass

        def getcwd(self):
            return "/"

    vfs.mount(FS(), point)
    for i, root in enumerate(roots):
        sys.path.insert(i, point + "/" + root)

