"""Boot the firmware in QEMU and talk to it over its serial console.

Used by the pytest suite and the benchmarks. Each Guest owns one QEMU
process; stop() (or the context manager) always kills it. Every wait is
bounded by a timeout.
"""

import os
import re
import select
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.environ.get("BOARD", "VIRT_ARM")
FIRMWARE = os.environ.get("FIRMWARE", os.path.join(ROOT, "build", BOARD, "firmware.elf"))

# What boards/<BOARD>/mpconfigboard.mk says about booting it.
QEMU_BOARDS = {
    "VIRT_ARM": ["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15"],
}

PROMPT = b"\r\n>>> "
SEMIHOSTING = ["-semihosting-config", "enable=on,target=native"]


class GuestError(Exception):
    pass


class Guest:
    """A QEMU guest whose serial port is a pty we read and write."""

    def __init__(self, firmware=FIRMWARE, mem="128M", extra=(), semihosting=True, board=BOARD):
        self.cmd = list(QEMU_BOARDS[board]) + ["-m", mem, "-display", "none", "-monitor", "none"]
        self.cmd += ["-nic", "none"] if not any(a.startswith("-nic") or a == "-netdev" for a in extra) else []
        self.cmd += SEMIHOSTING if semihosting else []
        self.cmd += ["-serial", "pty", "-kernel", firmware] + list(extra)
        self.proc = None
        self.fd = None
        self.buf = b""
        self.started_at = None

    # Process control.

    def start(self, timeout=10):
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    break
                line += ch
                m = re.search(rb"char device redirected to (/dev/pts/\d+)", line)
                if m and line.endswith(b")\n"):
                    self._open_pty(m.group(1).decode())
                    return self
        self.stop()
        raise GuestError("QEMU did not open its serial pty: %r" % line)

    def _open_pty(self, path):
        import termios
        import tty

        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.pty = path

    def stop(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
            self.proc.stdout.close()

    def detach(self):
        """Close our end of the serial pty so another program (mpremote) can use it."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.buf = b""

    def attach(self):
        """Reopen the serial pty after detach()."""
        if self.fd is None:
            self._open_pty(self.pty)

    def cpu_seconds(self):
        """CPU time (user + system) the QEMU process has used so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # Fields 14 and 15 of proc(5) (utime, stime), counted after "(comm)".
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_exit(self, timeout=10):
        """The QEMU exit status, once the guest has ended it."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuestError("QEMU still running after %ss" % timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Serial I/O.

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data)
        deadline = time.monotonic() + 30
        while view:
            if time.monotonic() > deadline:
                raise GuestError("serial write stalled")
            _, w, _ = select.select([], [self.fd], [], 0.1)
            if w:
                n = os.write(self.fd, view[:256])
                view = view[n:]

    def read_until(self, marker, timeout=10):
        """Everything up to and including marker; the rest stays buffered."""
        if isinstance(marker, str):
            marker = marker.encode()
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("timed out waiting for %r; got %r" % (marker, self.buf[-500:]))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO once QEMU has exited
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise GuestError("QEMU exited (%s) waiting for %r; got %r" % (self.proc.returncode, marker, self.buf[-500:]))
                self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("timed out reading %d bytes; got %r" % (n, self.buf))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                self.buf += os.read(self.fd, 65536)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def wait_prompt(self, timeout=10):
        return self.read_until(b">>> ", timeout)

    def repl(self, line, timeout=10):
        """Run one line at the friendly REPL and return its output."""
        self.write(line + "\r")
        out = self.read_until(PROMPT, timeout)
        # Drop the echoed line.
        text = out[: -len(PROMPT)].decode(errors="replace")
        first_nl = text.find("\r\n")
        return text[first_nl + 2 :] if first_nl >= 0 else ""

    # Raw REPL (the protocol pyboard.py and mpremote use).

    def enter_raw(self, timeout=10):
        self.write(b"\r\x03\x03\x01")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>", timeout)

    def raw_exec(self, code, timeout=30):
        """Execute code in the raw REPL; returns (stdout, stderr) as str."""
        self.write(code.encode() + b"\x04")
        self.read_until(b"OK", timeout)
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04", timeout)[:-1]
        self.read_until(b">", timeout)
        return out.decode(errors="replace"), err.decode(errors="replace")

    def raw_paste_exec(self, code, timeout=60):
        """Execute code with raw-paste mode's flow control; returns (stdout, stderr)."""
        data = code.encode() if isinstance(code, str) else code
        self.write(b"\x05A\x01")
        if self.read_exact(2) != b"R\x01":
            raise GuestError("raw-paste not supported")
        window = int.from_bytes(self.read_exact(2), "little")
        credit = window
        deadline = time.monotonic() + timeout
        i = 0
        while i < len(data):
            while credit == 0 or self.buf or select.select([self.fd], [], [], 0)[0]:
                if time.monotonic() > deadline:
                    raise GuestError("raw-paste stalled at byte %d" % i)
                b = self.read_exact(1, timeout=max(0.1, deadline - time.monotonic()))
                if b == b"\x01":
                    credit += window
                elif b == b"\x04":
                    raise GuestError("device aborted raw-paste at byte %d" % i)
                if credit and not self.buf and not select.select([self.fd], [], [], 0)[0]:
                    break
            n = min(credit, len(data) - i)
            self.write(data[i : i + n])
            i += n
            credit -= n
        self.write(b"\x04")
        self.read_until(b"\x04", timeout)  # end of data acknowledged
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04", timeout)[:-1]
        self.read_until(b">", timeout)
        return out.decode(errors="replace"), err.decode(errors="replace")

    def exit_raw(self):
        self.write(b"\x02")
        self.wait_prompt()
