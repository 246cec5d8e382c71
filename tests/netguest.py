"""Guests with a virtio-net NIC: QEMU arguments, ports, and helpers.

Every address a test uses is loopback on the host side, or slirp's 10.0.2.x
inside the guest (10.0.2.2 is the host's 127.0.0.1).
"""

import os
import socket
import tempfile
import time

from qemu_guest import Guest, GuestError

TRANSPORTS = ("modern", "legacy")
GUEST_IP = "10.0.2.15"
HOST_FROM_GUEST = "10.0.2.2"


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def net_args(transport="modern", netdev="user,id=n0", device_opts=""):
    """QEMU arguments for one virtio-net-device on the given transport."""
    args = []
    if transport == "modern":
        args += ["-global", "virtio-mmio.force-legacy=false"]
    elif transport != "legacy":
        raise ValueError(transport)
    args += ["-netdev", netdev, "-device", "virtio-net-device,netdev=n0" + device_opts]
    return args


def user_netdev(hostfwd=(), extra=""):
    """slirp netdev; hostfwd is a list of guest ports forwarded from 127.0.0.1."""
    spec = "user,id=n0"
    for host_port, guest_port in hostfwd:
        spec += ",hostfwd=tcp:127.0.0.1:%d-:%d" % (host_port, guest_port)
    return spec + extra


class NetGuest(Guest):
    """A guest with a NIC and a QEMU monitor on a unix socket."""

    def __init__(self, transport="modern", netdev=None, hostfwd=(), extra=(), append=None, **kw):
        self.transport = transport
        self.monitor_path = os.path.join(tempfile.mkdtemp(prefix="virt-mon-"), "mon.sock")
        args = net_args(transport, netdev or user_netdev(hostfwd))
        args += ["-monitor", "unix:%s,server=on,wait=off" % self.monitor_path]
        if append is not None:
            args += ["-append", append]
        super().__init__(extra=args + list(extra), **kw)

    def monitor(self, command, timeout=5):
        """Run one QEMU monitor command; returns its output."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.monitor_path)
            buf = b""
            while not buf.endswith(b"(qemu) "):
                if time.monotonic() > deadline:
                    raise GuestError("monitor did not answer")
                buf += s.recv(4096)
            s.sendall(command.encode() + b"\n")
            out = b""
            while not out.endswith(b"(qemu) "):
                if time.monotonic() > deadline:
                    raise GuestError("monitor command %r timed out" % command)
                out += s.recv(4096)
        return out.decode(errors="replace")

    def wait_dhcp(self, timeout_ms=10000):
        """Wait in the guest for the DHCP lease; returns the address."""
        out = self.repl(
            "exec('import network,time\\nt=time.ticks_ms()\\nwhile not network.LAN().isconnected() "
            "and time.ticks_diff(time.ticks_ms(),t)<%d: time.sleep_ms(5)\\nprint(network.LAN().ipconfig(\\'addr4\\')[0])')"
            % timeout_ms,
            timeout=timeout_ms / 1000 + 10,
        )
        return out.strip()

    def net_info(self):
        """The driver's state and counters (_virt.net_info())."""
        self.repl("import _virt")
        return eval(self.repl("print(_virt.net_info())"))
