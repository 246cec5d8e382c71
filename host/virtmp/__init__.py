"""virtmp: boot MicroPython firmware in QEMU's virt machine, wire its network,
and test MicroPython code in it: a library (Guest), a pytest plugin
(virt_guest, virt_guest_factory) and a CLI (virtmp run, virtmp test,
virtmp disk, virtmp romfs); disk images for the guest's virtio-blk disks
(make_image) and ROMFS images for its /rom (build_romfs)."""

from .config import BOARDS, SetupError, VirtmpError, find_firmware, find_qemu
from .console import GuestError, GuestException
from .disk import DiskError, DiskImage, detect, extract_image, list_image, make_image
from .guest import TRANSPORTS, Guest
from .net import (Dgram, HostTask, L2Link, Netdev, Segment, Slirp, Tap, TapNamespace, free_port,
                  host_listener, parse_forward)
from .romfs import RomfsError, build_romfs

__version__ = "0.1.0"

__all__ = [
    "BOARDS", "Dgram", "DiskError", "DiskImage", "Guest", "GuestError", "GuestException", "HostTask", "L2Link",
    "Netdev", "RomfsError", "Segment", "SetupError", "Slirp", "TRANSPORTS", "Tap", "TapNamespace", "VirtmpError", "build_romfs", "detect",
    "extract_image", "find_firmware", "find_qemu", "free_port", "host_listener", "list_image", "make_image",
    "parse_forward",
]
