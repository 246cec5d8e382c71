"""One QEMU virt machine running the MicroPython firmware.

    with virtmp.Guest(net=virtmp.Slirp(forwards=[8080])) as g:
        g.wait_dhcp()
        g.exec("import socket ...")
        port = g.host_port(8080)   # 127.0.0.1:port reaches the guest's 8080

Every wait is bounded. QEMU is killed by stop() (the context manager calls
it), at interpreter exit, and by the kernel when the thread that started
it dies (PR_SET_PDEATHSIG), so a crashed or killed test leaves no QEMU.
"""

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref

from . import config
from .console import PROMPT, Console, GuestError
from .disk import as_disks, check_disks
from .imports import mount_program
from .net import Nic, Slirp
from .romfs import romfs_file

SEMIHOSTING = ["-semihosting-config", "enable=on,target=native"]
# virtio-mmio modern and legacy; virtio-pci modern and legacy (transitional
# devices with disable-modern=on): (device suffix, extra device options).
TRANSPORTS = ("modern", "legacy", "pci", "pci-legacy")
_DEVICE_SUFFIX = {"modern": ("device", ""), "legacy": ("device", ""), "pci": ("pci", ""),
                  "pci-legacy": ("pci", ",disable-modern=on")}
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)
_live = weakref.WeakSet()
_live_lock = threading.Lock()


TMP_PREFIX = "virtmp-guest-"
_swept = False


def _remove_stale_dirs():
    """Once per process: the directories of guests whose process was killed
    (SIGKILL, SIGTERM) before it could remove them. Each is named by its pid."""
    global _swept
    if _swept:
        return
    _swept = True
    for name in os.listdir("/tmp"):
        if name.startswith(TMP_PREFIX):
            pid = name[len(TMP_PREFIX):].split("-")[0]
            if pid.isdigit() and not os.path.exists("/proc/" + pid):
                shutil.rmtree(os.path.join("/tmp", name), ignore_errors=True)


def _die_with_parent(parent):
    """In the child, before exec: get SIGKILL when the parent thread dies."""
    def hook():
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)
    return hook


@atexit.register
def stop_all_guests():
    """Stop every guest this process has running."""
    with _live_lock:
        guests = list(_live)
    for g in guests:
        g.stop()


def pty_from_qemu_output(text):
    """The serial pty QEMU named, once its whole line is there: a partly
    written "/dev/pts/12" reads as "/dev/pts/1", another program's pty
    (seen: a guest silent for its whole boot). None until then."""
    m = re.search(r"char device redirected to (/dev/pts/\d+) \(label [^)\n]*\)\n", text)
    return m.group(1) if m else None


def _as_nics(net):
    if net is None:
        return []
    if net == "user":
        return [Slirp()]
    if isinstance(net, Nic):
        return [net]
    nics = list(net)
    for n in nics:
        if not isinstance(n, Nic):
            raise TypeError("net= takes NICs from virtmp.net (Slirp, Segment.nic(), L2Link.nic(), ...), not %r" % (n,))
    return nics


class Guest(Console):
    """A QEMU process booting the firmware, its serial console a pty.

    board      board name (VIRT_ARM); default $VIRT_BOARD or VIRT_ARM
    firmware   ELF to boot; default $VIRT_FIRMWARE or the checkout's build
    mem        guest RAM, QEMU syntax ("128M")
    append     boot arguments (-append): ip=dhcp|off|ADDR/PREFIX[,GW[,DNS]] mac=...
    net        None (no NIC), "user" or a NIC from virtmp.net, or a list of them
    disk       None, a raw disk image's path, a virtmp.DiskImage(path, readonly=True),
               or a list of them: virtio-blk disks (virt.Disk(0), virt.Disk(1), ... in the guest)
    romfs      None, a ROMFS image (mpremote romfs build, virtmp romfs), its bytes, or a
               folder to build one from: mounted at /rom from the second flash bank
    transport  "pci" (default: QEMU's own choice for -nic on virt) or "pci-legacy"
               virtio-pci, "modern" or "legacy" virtio-mmio (NICs, disks and the RNG)
    rng        a virtio-rng device (default True): os.urandom and TLS entropy
    semihosting  the guest's sys.exit(n) in a frozen main.py ends QEMU with n
    qemu_args  more QEMU arguments
    prefix     command words to run QEMU under (unshare ..., ip netns exec ...)
    boot_timeout  seconds start() waits for the first prompt
    """

    def __init__(self, board=None, firmware=None, mem=None, append=None, net=None, transport="pci",
                 semihosting=True, qemu_args=(), prefix=(), boot_timeout=20, disk=None, romfs=None, rng=True):
        super().__init__()
        self.board = board or config.default_board()
        self.firmware = config.find_firmware(firmware, self.board)
        self.qemu = config.find_qemu(self.board)
        if transport not in TRANSPORTS:
            raise ValueError("transport is one of %s, not %r" % (", ".join(TRANSPORTS), transport))
        self.mem = mem or config.DEFAULT_MEM
        self.append = append
        self.nics = _as_nics(net)
        self.disks = as_disks(disk)
        check_disks(self.disks)
        self.romfs = romfs
        self.rng = rng
        self._romfs_dir = None
        self.transport = transport
        self.semihosting = semihosting
        self.qemu_args = list(qemu_args)
        self.prefix = list(prefix)
        self.boot_timeout = boot_timeout
        self.proc = None
        self.pty = None
        self.tmpdir = None
        self.cmd = None

    # The command line.

    def command(self, serial="pty", paused=False):
        """QEMU's argv; paused adds -S (the CPU waits for the monitor's cont)."""
        info = config.board_info(self.board)
        cmd = [self.qemu] + info["machine"] + ["-m", self.mem, "-display", "none"] + (["-S"] if paused else [])
        cmd += ["-monitor", "unix:%s,server=on,wait=off" % self.monitor_path] if self.tmpdir else ["-monitor", "none"]
        cmd += SEMIHOSTING if self.semihosting else []
        cmd += ["-serial", serial, "-kernel", self.firmware]
        if self.append is not None:
            cmd += ["-append", self.append]
        if not self.nics:
            cmd += ["-nic", "none"]
        if (self.nics or self.disks or self.rng) and self.transport == "modern":
            cmd += ["-global", "virtio-mmio.force-legacy=false"]
        prefix = list(self.prefix)
        bus, opts = _DEVICE_SUFFIX[self.transport]
        for i, nic in enumerate(self.nics):
            cmd += ["-netdev", nic.netdev("n%d" % i),
                    "-device", "virtio-net-%s,netdev=n%d%s%s" % (bus, i, opts, nic.device_opts)]
            prefix += list(nic.prefix)
        for i, d in enumerate(self.disks):
            cmd += ["-drive", "file=%s,if=none,format=raw,id=d%d%s"
                    % (d.path.replace(",", ",,"), i, ",readonly=on" if d.readonly else "")]
        # QEMU's virt machine puts the first -device on the virtio-mmio slot
        # with the highest address, and the firmware finds devices from the
        # lowest: the devices go in reverse, so disk 0 is the firmware's first.
        # PCI slots are given in order, and taken in slot order.
        order = range(len(self.disks)) if bus == "pci" else reversed(range(len(self.disks)))
        for i in order:
            cmd += ["-device", "virtio-blk-%s,drive=d%d%s" % (bus, i, opts)]
        if self.rng:
            cmd += ["-device", "virtio-rng-%s%s" % (bus, opts)]  # after the disks: their slots stay put
        if self.romfs is not None:
            if config.board_info(self.board)["romfs_via"] == "initrd":
                cmd += ["-initrd", self._romfs_file()]
            else:
                cmd += ["-drive", "if=pflash,unit=1,format=raw,readonly=on,file=%s" % self._romfs_file().replace(",", ",,")]
        return prefix + cmd + self.qemu_args

    def _romfs_file(self):
        """The file QEMU is given for self.romfs (a flash bank padded to its
        size, or the image as an -initrd), made once per guest."""
        if self._romfs_dir is None:
            info = config.board_info(self.board)
            where = tempfile.mkdtemp(prefix="%s%d-romfs-" % (TMP_PREFIX, os.getpid()), dir="/tmp")
            try:
                self._romfs_path = romfs_file(self.romfs, info["romfs_max"], where, pad=info["romfs_via"] == "pflash")
            except BaseException:
                shutil.rmtree(where, ignore_errors=True)
                raise
            self._romfs_dir = where
        return self._romfs_path

    @property
    def monitor_path(self):
        return os.path.join(self.tmpdir, "monitor.sock") if self.tmpdir else None

    # Process control.

    def start(self, wait_prompt=True, tries=3):
        """Start QEMU and open its serial pty; with wait_prompt, wait for ">>> ".
        A forwarded host port that someone else took first is retried with another."""
        auto = any(getattr(n, "auto_ports", False) for n in self.nics)
        for attempt in range(tries):
            try:
                self._start_once()
                if wait_prompt:
                    try:
                        self.wait_prompt(self.boot_timeout)
                    except GuestError as e:
                        self._raise_qemu_error(e)
                return self
            except GuestError as e:
                self.stop()
                if auto and "forwarding" in str(e) and attempt + 1 < tries:
                    continue
                raise
            except BaseException:
                self.stop()
                raise

    def _start_once(self):
        for nic in self.nics:
            nic.prepare()
        _remove_stale_dirs()
        self.tmpdir = tempfile.mkdtemp(prefix="%s%d-" % (TMP_PREFIX, os.getpid()), dir="/tmp")
        # Paused until the pty is open: QEMU drops what the guest writes to a
        # pty nobody holds, and a lost banner left start() waiting for a
        # prompt that never came (seen when the host was busy).
        self.cmd = self.command(paused=True)
        self._qemu_log = os.path.join(self.tmpdir, "qemu.log")
        with open(self._qemu_log, "wb") as log, _live_lock:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))
            _live.add(self)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.qemu_output()
            pty = pty_from_qemu_output(text)
            if pty:
                self.pty = pty
                try:
                    self.open_pty(self.pty)
                except OSError:
                    # QEMU names the pty before it opens the disks: one it
                    # cannot lock ends it, and the pty with it.
                    try:
                        self.proc.wait(2)
                    except subprocess.TimeoutExpired:
                        pass
                    if self.proc.poll() is None:
                        raise
                    raise GuestError("QEMU exited (%d) at start: %s\ncommand: %s"
                                     % (self.proc.returncode, self.qemu_output().strip(), " ".join(self.cmd)))
                try:
                    self._resume(deadline)
                except GuestError as e:
                    self._raise_qemu_error(e)  # QEMU exited at start: what it said
                return
            if self.proc.poll() is not None:
                raise GuestError("QEMU exited (%d) at start: %s\ncommand: %s"
                                 % (self.proc.returncode, text.strip(), " ".join(self.cmd)))
            time.sleep(0.005)
        raise GuestError("QEMU did not open its serial pty within 10 s: %r" % self.qemu_output())

    def _resume(self, deadline):
        """The monitor's cont: the guest starts. The monitor socket is made
        before the serial pty (its -monitor comes first)."""
        while True:
            try:
                self.monitor("cont", timeout=max(0.5, deadline - time.monotonic()))
                return
            except OSError as e:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise GuestError("QEMU's monitor did not take cont: %s" % e) from None
                time.sleep(0.005)

    def _raise_qemu_error(self, e):
        """If QEMU exited before the prompt, what QEMU said (a drive it could
        not open or lock, ...) instead of e."""
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            raise e
        said = [line.strip() for line in self.qemu_output().splitlines()
                if line.strip() and not line.startswith("char device redirected")]
        if not said:
            raise e
        raise GuestError("QEMU exited (%d) at start: %s" % (self.proc.returncode, " ".join(said))) from e

    def qemu_output(self):
        """What QEMU itself printed (warnings, errors), as str."""
        try:
            with open(self._qemu_log, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Kill QEMU (if running) and remove its files. Safe to call twice."""
        self.close_pty()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a prefix (ip netns exec) that did not exec
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        with _live_lock:
            _live.discard(self)
        for attr in ("tmpdir", "_romfs_dir"):
            if getattr(self, attr):
                shutil.rmtree(getattr(self, attr), ignore_errors=True)
                setattr(self, attr, None)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    def wait_exit(self, timeout=10):
        """QEMU's exit status once the guest ended it (semihosting sys.exit, power-off)."""
        if self.proc is None:
            raise GuestError("the guest was never started")
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuestError("QEMU still running after %ss" % timeout) from None

    def cpu_seconds(self):
        """CPU time (user + system) the QEMU process has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # Fields 14 and 15 of proc(5) (utime, stime), counted after "(comm)".
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    # The serial port for other programs.

    def detach(self):
        """Let go of the serial pty so another program (mpremote) can use it."""
        self.close_pty()

    def attach(self, sync=True, timeout=10):
        """Take the serial pty back after detach(). With sync, leave the guest
        at the friendly REPL's prompt (Ctrl-B ends a raw REPL the other
        program left); without, touch nothing (to see the state it left)."""
        if self.fd is None:
            self.open_pty(self.pty)
        if sync:
            self.write(b"\x02")  # raw REPL: back to friendly; friendly: banner again
            self.read_until(PROMPT, timeout)

    @contextlib.contextmanager
    def released(self):
        """with guest.released() as port: the serial is another program's
        (e.g. `mpremote connect port ...`) inside the block."""
        self.detach()
        try:
            yield self.pty
        finally:
            if self.alive():
                self.attach()

    def mpremote(self, *args, timeout=60):
        """Run `mpremote connect <pty> args...` on the released serial:
        (returncode, stdout, stderr) as str."""
        with self.released() as port:
            r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port] + list(args),
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    # QEMU's monitor.

    def monitor(self, command, timeout=5):
        """Run one QEMU monitor (HMP) command; its output."""
        if self.monitor_path is None or not self.alive():
            raise GuestError("no QEMU monitor: the guest is not running")
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.monitor_path)
            buf = b""
            while not buf.endswith(b"(qemu) "):
                if time.monotonic() > deadline:
                    raise GuestError("the QEMU monitor did not answer")
                buf += s.recv(4096)
            s.sendall(command.encode() + b"\n")
            out = b""
            while not out.endswith(b"(qemu) "):
                if time.monotonic() > deadline:
                    raise GuestError("monitor command %r timed out" % command)
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        # Drop the monitor's echo of the command (with its line-editing
        # escapes) and the next prompt.
        text = out.decode(errors="replace")
        return text.split("\r\n", 1)[1][: -len("(qemu) ")] if "\r\n" in text else ""

    def set_link(self, up, nic=0):
        """Plug (True) or unplug (False) a NIC's cable (the monitor's set_link)."""
        self.monitor("set_link n%d %s" % (nic, "on" if up else "off"))

    # Networking.

    def host_port(self, guest_port, proto="tcp"):
        """The 127.0.0.1 port forwarded to guest_port by the guest's slirp NIC."""
        for nic in self.nics:
            port = getattr(nic, "host_ports", {}).get((proto, guest_port))
            if port:
                return port
        raise KeyError("no %s forward to guest port %d (Slirp(forwards=[...]))" % (proto, guest_port))

    def wait_dhcp(self, timeout=10):
        """Wait in the guest until its LAN is connected; the guest's IPv4 address."""
        ms = int(timeout * 1000)
        return self.exec(
            "import network, time\n"
            "_t = time.ticks_ms()\n"
            "while not network.LAN().isconnected() and time.ticks_diff(time.ticks_ms(), _t) < %d:\n"
            "    time.sleep_ms(5)\n"
            "print(network.LAN().ipconfig('addr4')[0] if network.LAN().isconnected() else '')\n"
            "del _t\n" % ms, timeout=timeout + 10).strip()

    def add_import_path(self, *dirs):
        """Make the .py/.mpy files (and packages) under host directories
        importable in the guest until its next soft reset (they are held in
        its RAM: no disk needed)."""
        self._mounts = getattr(self, "_mounts", 0) + 1
        self.exec(mount_program("/virtmp-host%d" % self._mounts, [os.path.abspath(d) for d in dirs]), timeout=60)

    def net_info(self):
        """The driver's state and counters (_virt.net_info())."""
        return self.eval("__import__('_virt').net_info()")
