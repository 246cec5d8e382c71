# vnet: the VirtIO network device itself (Go's Config, Header and Net).
import errno
import struct
import sys

import _virt

from . import CONFIG_SIZE, MTU

_CONFIG = "<6sHHH"  # mac, status, max_virtqueue_pairs, mtu
_HEADER = "<BBHHHHH"  # flags .. csum_offset, num_buffers
_HEADER_LEGACY = "<BBHHHH"  # no num_buffers
_COUNTERS = (
    "rx_packets", "rx_bytes", "rx_dropped", "rx_errors",
    "tx_packets", "tx_bytes", "tx_dropped", "tx_errors",
    "irqs", "tx_kicks", "config_changes", "resets", "lwip_asserts",
)


def _info():
    info = _virt.net_info()
    if info is None:
        raise OSError(errno.ENODEV)  # QEMU was started without a virtio-net device
    return info


class Config:
    """The device's configuration space (virtio_net_config)."""

    def __init__(self, mac=bytes(6), status=0, max_virtual_queue_pairs=0, mtu=0):
        self.mac = bytes(mac)
        self.status = status
        self.max_virtual_queue_pairs = max_virtual_queue_pairs
        self.mtu = mtu

    @classmethod
    def from_bytes(cls, buf):
        if len(buf) != CONFIG_SIZE:
            raise ValueError("Config is %d bytes, not %d" % (CONFIG_SIZE, len(buf)))
        return cls(*struct.unpack(_CONFIG, buf))

    def to_bytes(self):
        if len(self.mac) != 6:
            raise ValueError("mac must be 6 bytes")
        return struct.pack(_CONFIG, self.mac, self.status, self.max_virtual_queue_pairs, self.mtu)

    def __eq__(self, other):
        return isinstance(other, Config) and self.to_bytes() == other.to_bytes()

    def __repr__(self):
        return "Config(mac=%s, status=%d, max_virtual_queue_pairs=%d, mtu=%d)" % (
            ":".join("%02x" % b for b in self.mac), self.status, self.max_virtual_queue_pairs, self.mtu)


class Header:
    """virtio_net_hdr: 12 bytes, or 10 without num_buffers (legacy devices)."""

    _FIELDS = ("flags", "gso_type", "hdr_len", "gso_size", "csum_start", "csum_offset", "num_buffers")

    def __init__(self, flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0, num_buffers=0):
        self.flags = flags
        self.gso_type = gso_type
        self.hdr_len = hdr_len
        self.gso_size = gso_size
        self.csum_start = csum_start
        self.csum_offset = csum_offset
        self.num_buffers = num_buffers

    @classmethod
    def from_bytes(cls, buf):
        if len(buf) == 12:
            return cls(*struct.unpack(_HEADER, buf))
        if len(buf) == 10:
            return cls(*struct.unpack(_HEADER_LEGACY, buf))
        raise ValueError("a header is 10 (legacy) or 12 bytes, not %d" % len(buf))

    def to_bytes(self, length=12):
        values = [getattr(self, f) for f in self._FIELDS]
        if length == 12:
            return struct.pack(_HEADER, *values)
        if length == 10:
            return struct.pack(_HEADER_LEGACY, *values[:6])
        raise ValueError("header length must be 10 (legacy) or 12")

    def __eq__(self, other):
        return isinstance(other, Header) and self.to_bytes() == other.to_bytes()

    def __repr__(self):
        return "Header(%s)" % ", ".join("%s=%d" % (f, getattr(self, f)) for f in self._FIELDS)


class Net:
    """The virtio-net device: raw Ethernet frames in and out.

    init() takes the device from the TCP/IP stack: frames then queue for
    rx() (64 at most), or go to rx_handler when one is set. Setting
    rx_handler to None gives them back to the stack.
    """

    def __init__(self, index=0):
        self.index = index
        self.mtu = MTU
        self._header_length = None  # assigned, not yet applied by init()
        self._handler = None

    def _device(self):
        if self.index != 0:
            raise OSError(errno.ENODEV)  # there is one device, index 0
        return _info()

    @property
    def irq(self):
        info = _virt.net_info()
        return info["irq"] if info and self.index == 0 else None

    @property
    def transport(self):
        """The device's transport: bus ("mmio" or "pci"), base address (MMIO
        registers; PCI: the common configuration, or the legacy I/O BAR) and
        version (1 legacy, 2 modern)."""
        info = self._device()
        return {"bus": info["transport"], "base": info["base"], "version": info["version"]}

    @property
    def header_length(self):
        if self._header_length is not None:
            return self._header_length
        return self._device()["hdr_len"]

    @header_length.setter
    def header_length(self, n):
        if n not in (0, 10, 12):
            raise ValueError("header_length must be 0 (negotiated), 10 or 12")
        self._header_length = n

    def init(self):
        """Start the device for raw use: an assigned header_length restarts it."""
        self._device()
        if self._header_length is not None:
            _virt.net_reinit(self._header_length)
            self._header_length = None
        _virt.net_raw(True)

    def config(self):
        info = self._device()
        return Config(info["mac"], info["status"], info["max_virtqueue_pairs"], info["mtu"])

    def rx(self):
        """The oldest received frame (without the virtio header), or None."""
        return _virt.net_rx()

    def tx(self, frame):
        """Send one Ethernet frame without the virtio header: 14 bytes up to
        the device's MTU + the 14-byte Ethernet header (1514 at MTU 1500);
        ValueError otherwise."""
        _virt.net_tx(frame)

    @property
    def rx_handler(self):
        return self._handler

    @rx_handler.setter
    def rx_handler(self, handler):
        if handler is None:
            self._handler = None
            _virt.net_rx_callback(None)
            _virt.net_raw(False)
            return
        if not callable(handler):
            raise TypeError("rx_handler must be callable or None")
        self._device()
        self._handler = handler
        _virt.net_rx_callback(self._drain)
        _virt.net_raw(True)
        self._drain(None)  # frames queued before: the callback only fires on an empty queue

    def _drain(self, _):
        # Scheduled when a frame reaches the empty raw queue: empty it.
        while self._handler is not None:
            frame = _virt.net_rx()
            if frame is None:
                break
            try:
                self._handler(frame)
            except Exception as e:
                sys.print_exception(e)

    def stats(self):
        """The driver's counters: rx_/tx_ packets, bytes, dropped, errors; irqs, ..."""
        info = self._device()
        return {k: info[k] for k in _COUNTERS}
