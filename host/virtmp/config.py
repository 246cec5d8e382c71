"""Where a guest comes from: the board table, the firmware, the QEMU binary.

Each lookup that fails raises SetupError with one line saying what to run.
"""

import os
import shutil


class VirtmpError(Exception):
    """Base of every error virtmp raises."""


class SetupError(VirtmpError):
    """Something to boot with is missing (firmware, QEMU); str() says what to do."""


# How each board boots (boards/<BOARD>/mpconfigboard.mk says the same):
# the QEMU binary, its machine arguments, the Debian package with the binary.
BOARDS = {
    "VIRT_ARM": {
        "qemu": "qemu-system-arm",
        "machine": ["-M", "virt", "-cpu", "cortex-a15"],
        "package": "qemu-system-arm",
        # ROMFS goes in QEMU virt's second CFI flash bank (of this size).
        "romfs_via": "pflash",
        "romfs_max": 64 * 1024 * 1024,
    },
    "VIRT_AARCH64": {
        "qemu": "qemu-system-aarch64",
        "machine": ["-M", "virt", "-cpu", "cortex-a53"],
        "package": "qemu-system-arm",
        "romfs_via": "pflash",
        "romfs_max": 64 * 1024 * 1024,
    },
    "VIRT_RV64": {
        "qemu": "qemu-system-riscv64",
        "machine": ["-M", "virt"],
        "package": "qemu-system-misc",
        # QEMU's riscv virt boots the second flash bank, not -kernel, when it
        # is given: ROMFS goes in RAM as an -initrd, which QEMU puts halfway
        # up RAM (at most 128 MiB up), so it may take at most a quarter.
        "romfs_via": "initrd",
        "romfs_max": 32 * 1024 * 1024,
    },
    # Debian 12's QEMU has no 32-bit OpenSBI: the firmware runs in M-mode.
    "VIRT_RV32": {
        "qemu": "qemu-system-riscv32",
        "machine": ["-M", "virt", "-bios", "none"],
        "package": "qemu-system-misc",
        "romfs_via": "initrd",
        "romfs_max": 32 * 1024 * 1024,
    },
}

DEFAULT_BOARD = "VIRT_ARM"
DEFAULT_MEM = "128M"


def board_info(board):
    try:
        return BOARDS[board]
    except KeyError:
        raise SetupError("virtmp: unknown board %r; known boards: %s" % (board, ", ".join(sorted(BOARDS))))


def default_board():
    return os.environ.get("VIRT_BOARD") or DEFAULT_BOARD


def _checkouts():
    """virt-micropython checkouts to look in: the current directory and its
    parents, then the one this package was installed from (pip install -e)."""
    seen = []
    d = os.path.abspath(os.getcwd())
    while True:
        seen.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    seen.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    return [d for d in seen if os.path.isdir(os.path.join(d, "ports", "virt"))]


def find_firmware(firmware=None, board=None):
    """The firmware ELF to boot: the argument, else $VIRT_FIRMWARE, else a
    checkout's build/<BOARD>/firmware.elf."""
    board = board or default_board()
    board_info(board)
    firmware = firmware or os.environ.get("VIRT_FIRMWARE")
    if firmware:
        if not os.path.isfile(firmware):
            raise SetupError("virtmp: no firmware at %s (from --firmware or VIRT_FIRMWARE)" % firmware)
        return os.path.abspath(firmware)
    checkouts = _checkouts()
    for top in checkouts:
        path = os.path.join(top, "build", board, "firmware.elf")
        if os.path.isfile(path):
            return path
    where = checkouts[0] if checkouts else "a virt-micropython checkout"
    raise SetupError("virtmp: no firmware for %s: run `make BOARD=%s` in %s, or pass --firmware FILE "
                     "(or set VIRT_FIRMWARE)" % (board, board, where))


def find_qemu(board):
    """The absolute path of the board's QEMU binary."""
    info = board_info(board)
    path = shutil.which(info["qemu"])
    if path is None:
        raise SetupError("virtmp: %s not found: install it (apt-get install --no-install-recommends %s)"
                         % (info["qemu"], info["package"]))
    return path
