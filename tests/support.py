"""Constants and packet helpers shared by this repository's tests. Guests
themselves are booted with the virtmp package (host/virtmp)."""

import os
import shutil
import struct
import subprocess

import pytest
import virtmp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.environ.get("VIRT_BOARD", virtmp.config.DEFAULT_BOARD)
FIRMWARE = os.path.join(ROOT, "build", BOARD, "firmware.elf")
# What each board's os.uname().machine names after "QEMU virt with".
MCU_NAME = {"VIRT_ARM": "Cortex-A15", "VIRT_AARCH64": "AArch64", "VIRT_RV64": "RV64", "VIRT_RV32": "RV32"}.get(BOARD, "")
# The transports every device test runs on: all four by default (virtio-pci
# modern and legacy, virtio-mmio modern and legacy; VIRT_ARM's suite takes
# 7 min 14 s with them, 6 min 9 s with MMIO alone); VIRT_TRANSPORTS=pci,legacy
# (say) picks. Tests that name no transport run on virtmp's default (pci);
# tests/test_pci.py runs on PCI whatever this says.
_WANTED = os.environ.get("VIRT_TRANSPORTS", "all")
TRANSPORTS = virtmp.TRANSPORTS if _WANTED == "all" else tuple(t for t in _WANTED.split(",") if t)
assert all(t in virtmp.TRANSPORTS for t in TRANSPORTS), "VIRT_TRANSPORTS: one of %s" % ", ".join(virtmp.TRANSPORTS)


def modern(transport):
    """Whether a transport drives its devices through the VirtIO 1.x interface."""
    return transport in ("modern", "pci")


def bus(transport):
    """The bus a transport's devices sit on: "mmio" or "pci"."""
    return "pci" if transport.startswith("pci") else "mmio"
GUEST_IP = "10.0.2.15"  # slirp's DHCP lease
HOST_FROM_GUEST = "10.0.2.2"  # the host's 127.0.0.1, seen from a slirp guest
MICROPY_TOP = os.environ.get("MICROPY_TOP") or os.path.join(ROOT, "deps", "micropython")


def _make_env():
    # Run the port's make as a user would, not as a sub-make of `make test`.
    env = dict(os.environ)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD"):
        env.pop(var, None)
    return env


def _run_make(args, what):
    cmd = ["make", "-j%d" % (os.cpu_count() or 1)] + args
    r = subprocess.run(cmd, env=_make_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=900)
    if r.returncode != 0:
        pytest.fail("%s failed (%d): %s\n%s" % (what, r.returncode, " ".join(cmd),
                                                r.stdout.decode(errors="replace")[-3000:]))


def seed_build_dir(build_dir):
    """Start a new build dir as a copy of build/<BOARD> (timestamps kept, the
    dependency files' paths moved to it), so an APP build compiles only the
    frozen app and links: a full build costs ~70 s of both cores per board.
    Only for variants with build/<BOARD>'s compiler flags (APP=, not
    TLS13=1: make does not see a flag change). Does nothing if build_dir exists."""
    main = os.path.join(ROOT, "build", BOARD)
    build_dir = os.path.abspath(str(build_dir))
    if os.path.exists(build_dir) or not os.path.exists(os.path.join(main, "firmware.elf")):
        return
    tmp = "%s.seed%d" % (build_dir, os.getpid())
    shutil.copytree(main, tmp, symlinks=True)  # copy2: modification times kept
    old, new = (main + "/").encode(), (build_dir + "/").encode()
    for top, _, names in os.walk(tmp):
        for name in names:
            if name.endswith(".P"):  # make's dependency files (mkrules.mk drops the .d)
                path = os.path.join(top, name)
                with open(path, "rb") as f:
                    deps = f.read()
                with open(path, "wb") as f:
                    f.write(deps.replace(old, new))
    os.rename(tmp, build_dir)


def build_firmware(build_dir, app_dir=None, make_vars=()):
    """Build ports/virt into build_dir (APP=app_dir, and VAR=value words such
    as "TLS13=1"), leaving build/<BOARD> alone; the firmware's path."""
    # BUILD on the port's command line is passed on to the sub-make that
    # builds mpy-cross, which would then compile it into build_dir (and fail).
    # Building mpy-cross first, without BUILD, means that sub-make never runs.
    if not os.path.exists(os.path.join(MICROPY_TOP, "mpy-cross", "build", "mpy-cross")):
        _run_make(["-C", os.path.join(MICROPY_TOP, "mpy-cross")], "building mpy-cross")
    if app_dir and not make_vars:
        seed_build_dir(build_dir)
    args = ["-C", os.path.join(ROOT, "ports", "virt"), "BOARD=" + BOARD, "MICROPY_TOP=" + MICROPY_TOP,
            "BUILD=" + str(build_dir)] + (["APP=" + str(app_dir)] if app_dir else []) + list(make_vars)
    _run_make(args, "building firmware %s" % " ".join(args[4:]))
    return os.path.join(str(build_dir), "firmware.elf")


def inet_csum(data):
    """The Internet checksum (RFC 1071) of bytes, as it goes into a header."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# The same for guest-side code (MicroPython); no '%', so it can go into a
# %-formatted script.
GUEST_CSUM = """
def csum(b):
    if len(b) & 1:
        b += b'\\0'
    s = 0
    for i in range(0, len(b), 2):
        s += b[i] << 8 | b[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
"""


def write_json(path, result):
    """A benchmark's figures into path (its folder made), and say where."""
    import json

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print("  written to %s" % path)
