"""A guest's network: what its NICs are plugged into, and host-side helpers.

NIC kinds (each gives QEMU one -netdev; the Guest adds the virtio-net device):
  Slirp     QEMU user networking: DHCP gives the guest 10.0.2.15, the host's
            127.0.0.1 is 10.0.2.2 from the guest, guest ports are forwarded
            from 127.0.0.1 (hostfwd).
  Segment   an Ethernet segment shared by any number of guests (and Python
            peers): a hub relaying frames between unix datagram sockets.
  L2Link    a dgram link whose far end is this Python process: raw frames.
  Tap       a tap device, usually inside a TapNamespace the test made, so
            Linux tools (ping, curl) talk to the guest.
  Netdev    any other -netdev string.
Nothing here reaches an address off this machine.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from .config import VirtmpError


# Host-side helpers for tests.

def free_port(proto="tcp"):
    """A TCP (or "udp") port on 127.0.0.1 that is free right now."""
    with socket.socket(type=socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_listener(backlog=4, timeout=15):
    """A listening TCP socket on 127.0.0.1 at a free port; a slirp guest reaches it as 10.0.2.2."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(backlog)
    srv.settimeout(timeout)
    return srv


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


# NICs.

class Nic:
    """What one guest NIC is plugged into."""

    device_opts = ""  # appended to -device virtio-net-device,netdev=ID (e.g. ",host_mtu=1400")
    prefix = ()  # command words QEMU must run under (ip netns exec ...)

    def netdev(self, ident):
        raise NotImplementedError

    def prepare(self):
        """Called before each QEMU start attempt (Slirp picks free ports here)."""


def parse_forward(spec, same_port=False):
    """(proto, host_port, guest_port) from 8080, "tcp:8080", "udp:9000",
    "tcp:18080-8080", (8080,), (h, g) or (proto, h, g). A lone guest port
    is forwarded from a free host port (0), or from the same port with
    same_port=True (as `virtmp run --fwd` and `make run` do)."""
    if isinstance(spec, int):
        spec = ("tcp", spec)
    if isinstance(spec, str):
        proto, sep, ports = spec.partition(":")
        if not sep:
            proto, ports = "tcp", spec
        host, dash, guest = ports.partition("-")
        try:
            spec = (proto, int(host), int(guest)) if dash else (proto, int(host))
        except ValueError:
            raise ValueError("bad port forward %r: use tcp:GUEST_PORT or tcp:HOST_PORT-GUEST_PORT" % (spec,))
    spec = tuple(spec)
    if len(spec) == 2 and isinstance(spec[0], int):
        spec = ("tcp",) + spec
    if len(spec) == 2:
        spec = (spec[0], spec[1] if same_port else 0, spec[1])
    proto, host, guest = spec
    if proto not in ("tcp", "udp"):
        raise ValueError("bad port forward %r: the protocol is tcp or udp" % (spec,))
    for p in (host, guest):
        if not isinstance(p, int) or not 0 <= p <= 65535:
            raise ValueError("bad port forward %r: ports are 0..65535" % (spec,))
    if guest == 0:
        raise ValueError("bad port forward %r: the guest port is missing" % (spec,))
    return proto, host, guest


class Slirp(Nic):
    """QEMU user networking, guest ports forwarded from 127.0.0.1.

    forwards: see parse_forward. host_ports maps (proto, guest_port) to the
    host port once the guest has started. restrict=True cuts the guest off
    from everything but forwarded ports and the host's 10.0.2.2 services."""

    def __init__(self, forwards=(), restrict=False, options="", device_opts=""):
        self.forwards = [parse_forward(f) for f in forwards]
        self.restrict = restrict
        self.options = options
        self.device_opts = device_opts
        self.host_ports = {}

    @property
    def auto_ports(self):
        return any(h == 0 for _, h, _ in self.forwards)

    def prepare(self):
        taken = set()
        self.host_ports = {}
        for proto, host, guest in self.forwards:
            while host == 0 or (proto, host) in taken:
                host = free_port(proto)
            taken.add((proto, host))
            self.host_ports[proto, guest] = host

    def netdev(self, ident):
        if len(self.host_ports) != len(self.forwards):
            self.prepare()
        spec = "user,id=%s" % ident
        for (proto, guest), host in self.host_ports.items():
            spec += ",hostfwd=%s:127.0.0.1:%d-:%d" % (proto, host, guest)
        if self.restrict:
            spec += ",restrict=on"
        return spec + self.options


class Netdev(Nic):
    """A -netdev given as QEMU's own option string, without its id."""

    def __init__(self, spec, device_opts="", prefix=()):
        self.spec = spec
        self.device_opts = device_opts
        self.prefix = tuple(prefix)

    def netdev(self, ident):
        return "%s,id=%s" % (self.spec, ident)


def _dgram_end(name, end):
    if isinstance(end, str):
        return "%s.type=unix,%s.path=%s" % (name, name, end)
    host, port = end
    if host != "127.0.0.1":
        raise ValueError("dgram links stay on 127.0.0.1, not %r" % (host,))
    return "%s.type=inet,%s.host=127.0.0.1,%s.port=%d" % (name, name, name, port)


class Dgram(Nic):
    """A QEMU dgram netdev: frames to remote and from local, each a unix
    socket path or ("127.0.0.1", port)."""

    def __init__(self, local, remote, device_opts=""):
        self.local, self.remote = local, remote
        self.device_opts = device_opts

    def netdev(self, ident):
        return "dgram,id=%s,%s,%s" % (ident, _dgram_end("local", self.local), _dgram_end("remote", self.remote))


class _SocketDir:
    """A private temporary directory for unix sockets (short paths: 108 bytes)."""

    def __init__(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self._count = 0

    def path(self, name):
        self._count += 1
        return os.path.join(self.dir, "%s%d.sock" % (name, self._count))

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class L2Link:
    """The Python end of a guest's Ethernet link: send() and recv() frames.

    link.nic() is what the guest plugs in (Guest(net=link.nic())). QEMU
    takes an empty datagram as the link closing, so send() refuses one."""

    def __init__(self, remote=None, _dir=None):
        self._own_dir = _dir is None
        self._dir = _dir or _SocketDir("virtmp-l2-")
        self.path = self._dir.path("peer")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.remote = remote  # the guest's socket, or a hub's
        self._guest_path = None

    def nic(self, device_opts=""):
        """The NIC for the one guest on the other end of this link."""
        if self._guest_path is not None:
            raise VirtmpError("an L2Link joins one guest; use a Segment for more")
        self._guest_path = self.remote = self._dir.path("guest")
        return Dgram(self._guest_path, self.path, device_opts)

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame):
        if not frame:
            raise ValueError("an empty frame: QEMU would take it as the link closing")
        if self.remote is None:
            raise VirtmpError("no guest on this link yet: plug link.nic() into a Guest first")
        try:
            self.sock.sendto(frame, self.remote)
        except (FileNotFoundError, ConnectionRefusedError):
            raise VirtmpError("no guest at the other end of the link (QEMU not started, or gone)") from None

    def recv(self, timeout=1.0):
        """The next frame within timeout seconds, or None."""
        import select
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        try:
            return self.sock.recv(65536)
        except BlockingIOError:
            return None

    def close(self):
        self.sock.close()
        if self._own_dir:
            self._dir.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Segment:
    """An Ethernet segment: every frame one member sends reaches all the
    others (a hub in a thread of this process, over unix datagram sockets).

        with Segment() as seg:
            a = Guest(net=seg.nic(), append="ip=10.0.3.1/24")
            b = Guest(net=seg.nic(), append="ip=10.0.3.2/24")
            peer = seg.link()  # this process as a third station
    """

    _count = 0

    def __init__(self):
        Segment._count += 1
        self._id = Segment._count & 0xFF
        self._dir = _SocketDir("virtmp-seg-")
        self.path = self._dir.path("hub")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._members = []
        self._links = []
        self.frames = 0  # frames relayed, for tests
        self.dropped = 0  # copies not delivered: that member's queue was full
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def nic(self, device_opts="", mac=None):
        """A NIC on the segment. Each gets its own MAC (QEMU would give
        every guest 52:54:00:12:34:56): 52:54:00:5e:SS:NN, SS this
        segment's, NN the member's; or mac="52:54:00:..."."""
        member = self._dir.path("guest")
        self._members.append(member)
        if mac is None and "mac=" not in device_opts:
            mac = "52:54:00:5e:%02x:%02x" % (self._id, len(self._members))
        return Dgram(member, self.path, device_opts + (",mac=" + mac if mac else ""))

    def link(self):
        """An L2Link for this process on the segment."""
        link = L2Link(remote=self.path, _dir=self._dir)
        self._members.append(link.path)
        self._links.append(link)
        return link

    def _relay(self):
        import select
        while not self._stop.is_set():
            r, _, _ = select.select([self._sock], [], [], 0.2)
            if not r:
                continue
            try:
                frame, sender = self._sock.recvfrom(65536)
            except OSError:
                return
            if not frame:
                continue  # never pass an empty datagram on: it closes a QEMU's link
            self.frames += 1
            for member in list(self._members):
                if member != sender:
                    try:
                        # Never wait for one member: a full queue (a peer
                        # that is not reading) drops its copy, as a switch
                        # port would, and the others still get theirs.
                        self._sock.sendto(frame, socket.MSG_DONTWAIT, member)
                    except BlockingIOError:
                        self.dropped += 1
                    except OSError:  # that member is not running (yet), or gone
                        pass

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
        for link in self._links:
            link.sock.close()
        self._dir.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# A tap device in a network namespace of the test's own.

NS_PREFIX = "virtmp-"


def _ip(*args, check=True, timeout=30):
    r = subprocess.run(("ip",) + args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise VirtmpError("ip %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


def remove_stale_namespaces():
    """Namespaces that an earlier, killed run left behind (their pid is gone)."""
    r = _ip("netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(NS_PREFIX):
            pid = name[len(NS_PREFIX):].split("-")[0]
            if pid.isdigit() and not os.path.exists("/proc/%s" % pid):
                _ip("netns", "del", name, check=False)


class TapNamespace:
    """A network namespace of this process with one tap device whose host
    side is host_addr (e.g. "192.168.77.1/24"): needs root and iproute2.
    Guest(net=ns.nic()) puts QEMU in the namespace on that tap; run() runs
    Linux tools there. Nothing in it can reach the machine's real network."""

    _count = 0

    def __init__(self, host_addr="192.168.77.1/24", tap="tap0"):
        TapNamespace._count += 1
        self.name = "%s%d-%d" % (NS_PREFIX, os.getpid(), TapNamespace._count)
        self.host_addr = host_addr
        self.tap = tap
        self.created = False

    def __enter__(self):
        if shutil.which("ip") is None:
            raise VirtmpError("TapNamespace needs iproute2's ip (apt-get install iproute2)")
        remove_stale_namespaces()
        _ip("netns", "add", self.name)
        self.created = True
        try:
            self.ip("link", "set", "lo", "up")
            # Persistent, so it exists with its address before QEMU opens it.
            self.ip("tuntap", "add", "dev", self.tap, "mode", "tap")
            self.ip("addr", "add", self.host_addr, "dev", self.tap)
            self.ip("link", "set", self.tap, "up")
        except Exception:
            self.close()
            raise
        return self

    def ip(self, *args):
        return _ip("-n", self.name, *args)

    def exec_cmd(self, *cmd):
        """A command line that runs cmd inside the namespace."""
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def run(self, *cmd, timeout=30, check=False):
        r = subprocess.run(self.exec_cmd(*cmd), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise VirtmpError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
        return r

    def nic(self, device_opts=""):
        return Tap(self.tap, netns=self.name, device_opts=device_opts)

    def close(self):
        if self.created:
            _ip("-n", self.name, "link", "del", self.tap, check=False)
            _ip("netns", "del", self.name, check=False)
            self.created = False

    def __exit__(self, *exc):
        self.close()


class Tap(Nic):
    """A tap device (vnet header, no vhost), optionally in a network namespace."""

    def __init__(self, ifname, netns=None, device_opts=""):
        self.ifname = ifname
        self.device_opts = device_opts
        self.prefix = ("ip", "netns", "exec", netns) if netns else ()

    def netdev(self, ident):
        return "tap,id=%s,ifname=%s,script=no,downscript=no,vhost=off" % (ident, self.ifname)
