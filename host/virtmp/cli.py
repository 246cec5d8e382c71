"""The virtmp command.

  virtmp run   boot a guest with networking, its REPL on this terminal
               (or on a pty for mpremote)
  virtmp test  run MicroPython test files, each in a fresh guest
  virtmp disk  make, list and extract disk images (virtmp disk make|ls|extract)
  virtmp romfs make a ROMFS image of a folder, for --romfs
"""

import argparse
import os
import signal
import subprocess
import sys
import time

from . import config, disk, romfs, runner
from .guest import Guest
from .net import Slirp, parse_forward


def _guest_args(p):
    p.add_argument("--board", default=None, help="board (default $VIRT_BOARD or %s)" % config.DEFAULT_BOARD)
    p.add_argument("--firmware", default=None,
                   help="firmware ELF (default $VIRT_FIRMWARE or the checkout's build/BOARD/firmware.elf)")
    p.add_argument("--mem", default=None, help="guest RAM (default %s)" % config.DEFAULT_MEM)
    p.add_argument("--append", default=None, help="boot arguments, e.g. 'ip=10.0.2.20/24,10.0.2.2'")
    p.add_argument("--transport", choices=("modern", "legacy", "pci", "pci-legacy"), default=None,
                   help="virtio-pci modern (pci, the default) or legacy (pci-legacy), virtio-mmio modern or legacy")
    p.add_argument("--legacy", action="store_true", help="legacy virtio-mmio (--transport legacy)")
    p.add_argument("--no-net", action="store_true", help="no NIC")
    p.add_argument("--no-rng", action="store_true", help="no virtio-rng device (os.urandom and TLS fall back to timer jitter)")
    p.add_argument("--disk", action="append", default=[], metavar="IMG",
                   help="a raw disk image as a virtio-blk disk (the first is virt.Disk(0) in the guest); repeatable; "
                        "make one with `virtmp disk make`")
    p.add_argument("--romfs", default=None, metavar="IMG|DIR",
                   help="a ROMFS image (virtmp romfs, mpremote romfs build), or a folder to make one of: "
                        "the guest's /rom, from QEMU's second flash bank")


def _fwd(same_port):
    def parse(text):
        try:
            return parse_forward(text, same_port=same_port)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e))
    return parse


def parser():
    ap = argparse.ArgumentParser(prog="virtmp", description="MicroPython in QEMU's virt machine: boot, test.")
    sub = ap.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="boot a guest with networking",
                         description="Boot the firmware with slirp networking (guest 10.0.2.15, the host's "
                                     "127.0.0.1 is 10.0.2.2). With --serial stdio (default) the REPL is this "
                                     "terminal (quit QEMU: Ctrl-A X); with pty, the exact mpremote command is "
                                     "printed and QEMU runs until Ctrl-C.")
    _guest_args(run)
    run.add_argument("--fwd", action="append", default=[], type=_fwd(True), metavar="PROTO:PORT",
                     help="forward 127.0.0.1:PORT to the guest's PORT (tcp:8080, udp:9000, "
                          "tcp:18080-8080 for another host port); repeatable")
    run.add_argument("--serial", choices=("stdio", "pty"), default="stdio")
    run.add_argument("qemu_args", nargs=argparse.REMAINDER, help="after --: more QEMU arguments")

    test = sub.add_parser("test", help="run MicroPython test files, each in a fresh guest",
                          description="Run each file (or test_*.py, *_test.py under a directory) as __main__ "
                                      "in a fresh guest with slirp networking. It fails on an uncaught "
                                      "exception, a non-zero sys.exit, a failing unittest TestCase or the time "
                                      "limit. The file's own directory and each --path are importable.")
    _guest_args(test)
    test.add_argument("paths", nargs="+", metavar="PATH")
    test.add_argument("-j", "--jobs", type=int, default=1, help="guests at once (default 1)")
    test.add_argument("--timeout", type=float, default=60, help="seconds per test file, boot included (default 60)")
    test.add_argument("-p", "--path", action="append", default=[], metavar="DIR",
                      help="a directory whose .py/.mpy files (and packages) the tests can import; repeatable")
    test.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report")
    test.add_argument("-v", "--verbose", action="store_true", help="print every test's output, not only failures'")
    # (virtmp test --disk: each test file's guest gets its own copy of each image.)

    dsk = sub.add_parser("disk", help="make, list and extract disk images",
                         description="Raw disk images for --disk: littlefs2 (4096-byte blocks, what the "
                                     "guest mounts with vfs.VfsLfs2(virt.Disk(0))), FAT (mkfs.fat and mtools: apt-get "
                                     "install dosfstools mtools) or blank (all zero: format it in the guest, "
                                     "vfs.VfsLfs2.mkfs(virt.Disk(0))).")
    dsub = dsk.add_subparsers(dest="disk_command", required=True)
    make = dsub.add_parser("make", help="make an image", description="Make a raw disk image (replacing IMG).")
    make.add_argument("image", metavar="IMG")
    make.add_argument("--size", required=True, help="size: bytes, or with K, M or G (16M)")
    make.add_argument("--fs", choices=disk.FILESYSTEMS, default="lfs2", help="filesystem (default lfs2)")
    make.add_argument("--from", dest="source", metavar="DIR", help="copy DIR's files and folders into the image")
    ls = dsub.add_parser("ls", help="list an image's files", description="List the folders and files in an "
                                                                          "image, with their sizes.")
    ls.add_argument("image", metavar="IMG")
    ext = dsub.add_parser("extract", help="copy an image's files out",
                          description="Copy everything in an image into the host folder DIR (made if missing).")
    ext.add_argument("image", metavar="IMG")
    ext.add_argument("dest", metavar="DIR")

    rom = sub.add_parser("romfs", help="make a ROMFS image of a folder",
                         description="Make a ROMFS image (MicroPython's vfs.VfsRom, the format of `mpremote "
                                     "romfs build`) of FOLDER's files and folders, each .py compiled to .mpy "
                                     "with mpy-cross (MICROPY_MPYCROSS, the checkout's, or on PATH). Boot it "
                                     "with --romfs IMG: the guest mounts it at /rom, /rom and /rom/lib on sys.path.")
    rom.add_argument("folder", metavar="FOLDER")
    rom.add_argument("image", metavar="IMG")
    rom.add_argument("--no-mpy", action="store_true", help="keep .py files as they are")
    return ap


def _options(a, net):
    return dict(board=a.board, firmware=a.firmware, mem=a.mem, append=a.append,
                transport=a.transport or ("legacy" if a.legacy else "pci"), net=None if a.no_net else net,
                disk=list(a.disk) or None, romfs=a.romfs, rng=not a.no_rng)


def cmd_run(a):
    extra = a.qemu_args[1:] if a.qemu_args[:1] == ["--"] else a.qemu_args
    slirp = Slirp(forwards=a.fwd)
    g = Guest(qemu_args=extra, **_options(a, slirp))
    fwd = ", ".join("127.0.0.1:%d -> guest %s %d" % (h, p, gp) for p, h, gp in slirp.forwards) or "none"
    if a.serial == "stdio":
        for nic in g.nics:
            nic.prepare()
        cmd = g.command(serial="mon:stdio")
        print("virtmp: booting %s (quit QEMU: Ctrl-A X); forwarded: %s" % (g.firmware, fwd), flush=True)
        proc = subprocess.Popen(cmd)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return 130
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            g.stop()  # its files (the ROMFS flash bank)
    g.start(wait_prompt=False)
    try:
        g.detach()
        print("virtmp: %s started, its serial on %s; forwarded: %s" % (g.firmware, g.pty, fwd))
        print("mpremote connect %s" % g.pty, flush=True)
        print("virtmp: Ctrl-C stops QEMU", flush=True)
        while g.alive():
            time.sleep(0.2)
        return g.proc.returncode
    except KeyboardInterrupt:
        return 130
    finally:
        g.stop()


def cmd_test(a):
    try:
        files = runner.discover(a.paths)
    except FileNotFoundError as e:
        print("virtmp: %s" % e, file=sys.stderr)
        return 4
    if not files:
        print("virtmp: no test files (test_*.py, *_test.py) under %s" % " ".join(a.paths), file=sys.stderr)
        return 5
    for d in a.path:
        if not os.path.isdir(d):
            print("virtmp: --path %s is not a directory" % d, file=sys.stderr)
            return 4
    # Fail before any guest starts if there is nothing to boot.
    config.find_qemu(a.board or config.default_board())
    disk.check_disks(disk.as_disks(a.disk))
    options = _options(a, Slirp())
    options["firmware"] = config.find_firmware(a.firmware, a.board)
    options.pop("net")
    if a.no_net:
        options["net"] = None
    results = runner.run_all(files, jobs=a.jobs, paths=a.path, timeout=a.timeout, guest_options=options,
                             out=lambda line: print(line, flush=True), verbose=a.verbose)
    if a.junit_xml:
        runner.write_junit(results, a.junit_xml)
    return 0 if all(r.passed for r in results) else 1


def cmd_disk(a):
    try:
        if a.disk_command == "make":
            path = disk.make_image(a.image, a.size, source=a.source, fs=a.fs)
            what = "%d files and folders from %s" % (len(disk.list_image(path)), a.source) if a.source else "empty"
            kind = "fat (%s)" % disk.fat_type(path) if a.fs == "fat" else a.fs
            print("virtmp: made %s (%s, %s, %s)" % (a.image, kind, disk.format_size(os.path.getsize(path)), what))
        elif a.disk_command == "ls":
            kind = disk.detect(a.image)
            entries = disk.list_image(a.image)
            if kind == "blank":
                print("virtmp: %s is blank (all zero): no filesystem yet" % a.image, file=sys.stderr)
            for path, size in entries:
                print("%10s  %s" % ("-" if size is None else size, path + ("/" if size is None else "")))
        else:
            entries = disk.extract_image(a.image, a.dest)
            print("virtmp: %d files and folders from %s into %s" % (len(entries), a.image, a.dest))
    except disk.DiskError as e:
        print("virtmp: %s" % e, file=sys.stderr)
        return 2
    return 0


def cmd_romfs(a):
    try:
        data = romfs.build_romfs(a.folder, mpy=not a.no_mpy)
    except romfs.RomfsError as e:
        print(e, file=sys.stderr)
        return 2
    with open(a.image, "wb") as f:
        f.write(data)
    print("virtmp: made %s (ROMFS, %d bytes, from %s)" % (a.image, len(data), a.folder))
    return 0


def main(argv=None):
    a = parser().parse_args(argv)
    try:
        return {"run": cmd_run, "test": cmd_test, "disk": cmd_disk, "romfs": cmd_romfs}[a.command](a)
    except (config.SetupError, romfs.RomfsError, disk.DiskError) as e:
        print(e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("virtmp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
