"""Constants and packet helpers shared by this repository's tests. Guests
themselves are booted with the virtmp package (host/virtmp)."""

import os
import struct

import virtmp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.environ.get("VIRT_BOARD", virtmp.config.DEFAULT_BOARD)
FIRMWARE = os.path.join(ROOT, "build", BOARD, "firmware.elf")
TRANSPORTS = virtmp.TRANSPORTS
GUEST_IP = "10.0.2.15"  # slirp's DHCP lease
HOST_FROM_GUEST = "10.0.2.2"  # the host's 127.0.0.1, seen from a slirp guest


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
