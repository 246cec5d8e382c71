"""Host directories made importable in a guest: their .py/.mpy files (and
packages) go to the guest's RAM in one raw-paste, served there by a small
read-only VFS (guest_mount.py) and put on sys.path. No disk is needed."""

import os

IMPORT_EXTS = (".py", ".mpy")
IMPORT_MAX_BYTES = 8 * 1024 * 1024  # sent to one guest


def import_files(dirs):
    """({"<i>/<relpath>": bytes}, ["<i>", ...]) of the .py/.mpy files under each directory."""
    files, roots, total = {}, [], 0
    for i, d in enumerate(dirs):
        if not os.path.isdir(d):
            raise NotADirectoryError("not a directory: %s" % d)
        roots.append(str(i))
        for top, sub, names in os.walk(d):
            sub[:] = sorted(s for s in sub if not s.startswith(".") and s != "__pycache__")
            for n in sorted(names):
                if n.endswith(IMPORT_EXTS):
                    full = os.path.join(top, n)
                    with open(full, "rb") as f:
                        data = f.read()
                    total += len(data)
                    if total > IMPORT_MAX_BYTES:
                        raise ValueError("more than %d MiB of .py/.mpy files under %s; name narrower directories"
                                         % (IMPORT_MAX_BYTES >> 20, ", ".join(dirs)))
                    files["%d/%s" % (i, os.path.relpath(full, d).replace(os.sep, "/"))] = data
    return files, roots


def guest_source(name):
    """The text of one of the package's guest-side (MicroPython) files."""
    with open(os.path.join(os.path.dirname(__file__), name)) as f:
        return f.read()


def mount_program(point, dirs):
    """MicroPython code that mounts dirs' files at point and puts them first on sys.path."""
    files, roots = import_files(dirs)
    return guest_source("guest_mount.py") + "\n_virtmp_mount(%r, %r, %r)\ndel _virtmp_mount\n" % (point, files, roots)
