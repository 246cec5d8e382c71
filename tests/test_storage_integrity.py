"""Nothing synced is ever lost: QEMU is killed (SIGKILL) at random points of
a guest's write loop on a littlefs2 disk; after each kill the image must
mount (on the host, with littlefs-python, and at the end in the guest) and
every file the guest had closed and os.sync()ed (FLUSH sent) must be whole.

FAT is not tested so: FAT itself is not safe against power loss (a FAT
table and a directory entry are written apart), which is why littlefs2 is
the default. Every QEMU is killed by its test; every loop is bounded."""

import os
import random
import re
import shutil
import signal
import time

import virtmp

KILLS = 20
# The loop each boot runs from file number START. Each step writes a file
# of its own (6 to 9000 bytes: one block or several), rewrites `state`
# whole, every 10th step removes the file 5 steps back, then syncs and says
# so. Only what it said before the kill is counted as synced.
WRITE_LOOP = """
import os
n = %d
while True:
    with open('f%%06d' %% n, 'wb') as f:
        f.write(b'%%06d' %% n * (1 + n * 37 %% 1500))
    with open('state', 'wb') as f:
        f.write(b'%%06d' %% n * 100)
    if n %% 10 == 0:
        try:
            os.remove('f%%06d' %% (n - 5))
        except OSError:
            pass
    os.sync()
    print('synced', n)
    n += 1
"""


def content(n):
    return b"%06d" % n * (1 + n * 37 % 1500)


def check_image(img, synced, attempted, work):
    """The image mounts, and holds exactly what the synced steps wrote;
    files of the step that was cut short are absent, empty or whole, and the
    file that step removes (every 10th step) may be gone already."""
    out = os.path.join(work, "extract")
    shutil.rmtree(out, ignore_errors=True)
    virtmp.extract_image(img, out)  # raises if littlefs cannot mount it
    files = {name: open(os.path.join(out, name), "rb").read() for name in os.listdir(out)}
    removed = {n - 5 for n in synced if n % 10 == 0}
    maybe_removed = attempted - 5 if attempted % 10 == 0 else None
    for n in synced:
        name = "f%06d" % n
        if n in removed:
            assert name not in files, "%s was removed in a synced step" % name
        elif n == maybe_removed:
            assert files.get(name) in (None, content(n)), "%s, removed by the step cut short, is partial" % name
        else:
            assert files.get(name) == content(n), "synced %s is not whole" % name
    last = max(synced)
    assert files["state"] in (b"%06d" % last * 100, b"%06d" % attempted * 100), "state is neither old nor new"
    cut = "f%06d" % attempted
    if cut in files:
        assert files[cut] in (b"", content(attempted)), "%s, cut short, is partial" % cut
    return files


def drain(g, quiet=0.3, limit=10):
    """Read the serial console until it has been quiet for `quiet` seconds."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        had = len(g.buf)
        try:
            g.read_until(b"\x00no such output", timeout=quiet)
        except virtmp.GuestError:
            pass
        if len(g.buf) == had:
            return


def test_sigkill_at_random_points_loses_nothing_synced(virt_guest_factory, tmp_path):
    seed = int(time.time())
    rng = random.Random(seed)
    img = virtmp.make_image(tmp_path / "disk.img", "2M", fs="lfs2")
    synced = set()
    start = 0
    for kill in range(KILLS):
        g = virt_guest_factory(net=None, disk=img)
        g.exec_start(WRITE_LOOP % start)
        delay = rng.uniform(0.02, 1.2)
        try:
            g.read_until(b"\x00no such output", timeout=delay)
        except virtmp.GuestError:
            pass  # the time is up: kill QEMU where it is
        # Freeze QEMU, read every line it had printed, then kill it: a line
        # still in the pty when QEMU dies would count its step as unsynced
        # (CI once saw the state file 6 steps ahead of the lines read).
        g.proc.send_signal(signal.SIGSTOP)
        drain(g)
        g.proc.kill()
        g.proc.wait(timeout=10)
        seen = [int(n) for n in re.findall(rb"synced (\d+)\r\n", g.buf)]
        g.stop()
        assert seen == list(range(start, start + len(seen))), (seed, kill, seen)
        synced.update(seen)
        attempted = start + len(seen)  # the step the kill cut short
        if synced:
            check_image(img, synced, attempted, str(tmp_path))
        start = attempted
    assert len(synced) >= KILLS, "the loop hardly ran (seed %d): %d steps synced" % (seed, len(synced))
    # The guest mounts it too, and reads the same.
    g = virt_guest_factory(net=None, disk=img)
    g.exec("import os")
    last = max(synced)
    assert g.eval("open('/state', 'rb').read()[:6]") in (b"%06d" % last, b"%06d" % start)
    for n in sorted(synced)[-5:]:
        if n not in {m - 5 for m in synced if m % 10 == 0}:
            assert g.eval("open('/f%06d', 'rb').read() == %r" % (n, content(n)))
