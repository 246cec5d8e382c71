"""Guests with a virtio-net NIC: QEMU arguments, ports, and helpers.

Every address a test uses is loopback on the host side, or slirp's 10.0.2.x
inside the guest (10.0.2.2 is the host's 127.0.0.1).
"""

import os
import shutil
import socket
import struct
import tempfile
import threading
import time

from qemu_guest import Guest, GuestError

TRANSPORTS = ("modern", "legacy")
GUEST_IP = "10.0.2.15"
HOST_FROM_GUEST = "10.0.2.2"


def free_port(proto="tcp"):
    """A TCP (or "udp") port on 127.0.0.1 that is free right now."""
    with socket.socket(type=socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HostTask:
    """fn(*args) in a daemon thread (a host-side server or client); result()
    waits a bounded time for its return value and re-raises its exception.
    fn must itself be bounded (sockets with timeouts, loops with deadlines)."""

    def __init__(self, fn, *args):
        self._value = self._error = None
        self._thread = threading.Thread(target=self._main, args=(fn,) + args, daemon=True)
        self._thread.start()

    def _main(self, fn, *args):
        try:
            self._value = fn(*args)
        except BaseException as e:  # handed to result()
            self._error = e

    def result(self, timeout=30):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("host task still running after %ss" % timeout)
        if self._error is not None:
            raise self._error
        return self._value


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


def host_listener(backlog=4, timeout=15):
    """A listening TCP socket on 127.0.0.1 at a free port (the guest reaches it as 10.0.2.2)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(backlog)
    srv.settimeout(timeout)
    return srv


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
    """slirp netdev; hostfwd is a list of guest ports forwarded from 127.0.0.1:
    (host_port, guest_port) for TCP, or ("tcp" | "udp", host_port, guest_port)."""
    spec = "user,id=n0"
    for fwd in hostfwd:
        proto, host_port, guest_port = fwd if len(fwd) == 3 else ("tcp",) + tuple(fwd)
        if proto not in ("tcp", "udp"):
            raise ValueError(proto)
        spec += ",hostfwd=%s:127.0.0.1:%d-:%d" % (proto, host_port, guest_port)
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

    def stop(self):
        super().stop()
        # The monitor socket's directory (QEMU is gone, so nothing uses it).
        shutil.rmtree(os.path.dirname(self.monitor_path), ignore_errors=True)

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
        if self.in_raw:
            return eval(self.run("import _virt\nprint(_virt.net_info())"))
        self.repl("import _virt")
        return eval(self.repl("print(_virt.net_info())"))

    # Running code in the raw REPL. The guest stays in the raw REPL between
    # calls (in_raw); exit_raw() returns to the friendly one.

    in_raw = False

    def enter_raw(self, timeout=10):
        super().enter_raw(timeout)
        self.in_raw = True

    def exit_raw(self):
        super().exit_raw()
        self.in_raw = False

    def run_start(self, code):
        """Send code to the raw REPL and return once the guest runs it; its
        output can be waited for with read_until(), the rest with run_finish()."""
        if not self.in_raw:
            self.enter_raw()
        self.write(code.encode() + b"\x04")
        self.read_until(b"OK", 10)

    def run_finish(self, timeout=30):
        """The rest of the output of run_start()'s code; a guest exception raises GuestError."""
        out = self.read_until(b"\x04", timeout)[:-1].decode(errors="replace")
        err = self.read_until(b"\x04", timeout)[:-1].decode(errors="replace")
        self.read_until(b">", timeout)
        if err:
            raise GuestError("guest raised:\n%s\nafter output:\n%s" % (err, out[-2000:]))
        return out

    def run(self, code, timeout=30):
        """Run code in the raw REPL; returns its output (str)."""
        self.run_start(code)
        return self.run_finish(timeout)


def start_forwarded(transport, forwards, tries=3, **kw):
    """A started NetGuest (at its prompt) with guest ports forwarded from free
    host ports: forwards is a list of (proto, guest_port); the guest's
    host_ports maps each of them to its host port. A host port taken by
    someone else before QEMU binds it is retried with another."""
    for attempt in range(tries):
        host_ports = {(proto, gp): free_port(proto) for proto, gp in forwards}
        g = NetGuest(transport=transport, hostfwd=[(p, hp, gp) for (p, gp), hp in host_ports.items()], **kw)
        try:
            g.start()
            g.wait_prompt(timeout=20)
        except GuestError as e:
            g.stop()
            if "forwarding" in str(e) and attempt + 1 < tries:
                continue
            raise
        except BaseException:
            g.stop()
            raise
        g.host_ports = host_ports
        return g
