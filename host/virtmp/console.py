"""The guest's serial console: bytes in and out of QEMU's pty, and
MicroPython's REPL protocols on top (friendly REPL, raw REPL, raw-paste),
as mpremote speaks them. Every wait is bounded by a timeout.
"""

import ast
import os
import select
import time

from .config import VirtmpError

PROMPT = b"\r\n>>> "
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
LOG_MAX = 4 * 1024 * 1024  # serial log kept per guest (the newest bytes)


class GuestError(VirtmpError):
    """The guest did not do what was asked in time, or QEMU went away."""


class GuestException(GuestError):
    """Code run in the guest raised; .traceback is the guest's, .output its stdout."""

    def __init__(self, traceback, output):
        super().__init__("guest raised:\n%s%s" % (traceback, "\nafter output:\n" + output[-2000:] if output else ""))
        self.traceback = traceback
        self.output = output


class Console:
    """A MicroPython REPL behind a pty file descriptor.

    Subclasses provide alive() (False once the far end is gone)."""

    fd = None
    in_raw = False  # the guest sits in the raw REPL between exec() calls

    def __init__(self):
        self.buf = b""
        self._log = bytearray()

    # Bytes.

    def open_pty(self, path):
        import termios
        import tty

        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def close_pty(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.buf = b""
        self.in_raw = False

    def alive(self):
        return True

    @property
    def log(self):
        """Everything the guest has printed so far (the newest 4 MiB), as str."""
        return self._log.decode(errors="replace")

    def _need_fd(self):
        if self.fd is None:
            raise GuestError("the serial console is not attached (detached, or the guest was stopped)")

    def write(self, data, timeout=30):
        if isinstance(data, str):
            data = data.encode()
        self._need_fd()
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            if time.monotonic() > deadline:
                raise GuestError("serial write stalled for %ss with %d bytes left" % (timeout, len(view)))
            _, w, _ = select.select([], [self.fd], [], 0.1)
            if w:
                n = os.write(self.fd, view[:256])
                view = view[n:]

    def _fill(self, timeout):
        """Read what the guest sent within timeout seconds into buf."""
        self._need_fd()
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            if not self.alive():
                raise GuestError("QEMU exited; got %r" % self.buf[-500:])
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO once QEMU has closed the pty
            chunk = b""
        if not chunk:
            if not self.alive():
                raise GuestError("QEMU exited; got %r" % self.buf[-500:])
            time.sleep(0.01)
            return
        self.buf += chunk
        self._log += chunk
        if len(self._log) > LOG_MAX:
            del self._log[: len(self._log) - LOG_MAX]

    def read_until(self, marker, timeout=10):
        """Everything up to and including marker; what follows stays buffered."""
        if isinstance(marker, str):
            marker = marker.encode()
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("timed out after %ss waiting for %r; got %r" % (timeout, marker, self.buf[-500:]))
            try:
                self._fill(min(left, 0.2))
            except GuestError as e:
                raise GuestError("%s while waiting for %r" % (e, marker)) from None
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("timed out after %ss reading %d bytes; got %r" % (timeout, n, self.buf))
            self._fill(min(left, 0.2))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _pending(self):
        return bool(self.buf) or bool(select.select([self.fd], [], [], 0)[0])

    # The friendly REPL.

    def wait_prompt(self, timeout=10):
        """Output up to the next ">>> " prompt."""
        return self.read_until(b">>> ", timeout)

    def repl(self, line, timeout=10):
        """Type one line at the friendly REPL; its output, without the echo."""
        if self.in_raw:
            self.exit_raw()
        self.write(line + "\r")
        out = self.read_until(PROMPT, timeout)
        text = out[: -len(PROMPT)].decode(errors="replace")
        first_nl = text.find("\r\n")
        return text[first_nl + 2:] if first_nl >= 0 else ""

    def soft_reset(self, timeout=20):
        """Ctrl-D at the friendly REPL: MicroPython's soft reset (boot.py and
        main.py run again, files stay); what it printed up to the next prompt."""
        if self.in_raw:
            self.exit_raw()
        self.write(b"\x04")
        return self.wait_prompt(timeout).decode(errors="replace")

    # The raw REPL (what pyboard.py and mpremote use).

    def enter_raw(self, timeout=10):
        self.write(b"\r\x03\x03\x01")
        self.read_until(RAW_BANNER, timeout)
        self.in_raw = True

    def exit_raw(self, timeout=10):
        self.write(b"\x02")
        self.wait_prompt(timeout)
        self.in_raw = False

    def raw_exec(self, code, timeout=30):
        """Run code in the raw REPL (entered already); (stdout, stderr) as str."""
        self.write((code.encode() if isinstance(code, str) else code) + b"\x04")
        self.read_until(b"OK", timeout)
        return self._raw_result(timeout)

    def _raw_result(self, timeout):
        """(stdout, stderr) of code the raw REPL runs, all within timeout seconds."""
        deadline = time.monotonic() + timeout
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04", max(0.1, deadline - time.monotonic()))[:-1]
        self.read_until(b">", max(0.1, deadline - time.monotonic()))
        return out.decode(errors="replace"), err.decode(errors="replace")

    def raw_paste_exec(self, code, timeout=60):
        """Run code with raw-paste mode's flow control (in the raw REPL); (stdout, stderr)."""
        self.raw_paste_send(code, timeout)
        return self._raw_result(timeout)

    def raw_paste_send(self, code, timeout=60):
        """Send code by raw-paste; returns once the guest has compiled it and runs it."""
        data = code.encode() if isinstance(code, str) else code
        self.write(b"\x05A\x01")
        if self.read_exact(2) != b"R\x01":
            raise GuestError("the guest does not support raw-paste")
        window = int.from_bytes(self.read_exact(2), "little")
        credit = window
        deadline = time.monotonic() + timeout
        i = 0
        while i < len(data):
            while credit == 0 or self._pending():
                if time.monotonic() > deadline:
                    raise GuestError("raw-paste stalled at byte %d of %d" % (i, len(data)))
                b = self.read_exact(1, timeout=max(0.1, deadline - time.monotonic()))
                if b == b"\x01":
                    credit += window
                elif b == b"\x04":
                    raise GuestError("the guest aborted raw-paste at byte %d" % i)
                if credit and not self._pending():
                    break
            n = min(credit, len(data) - i)
            self.write(data[i:i + n])
            i += n
            credit -= n
        self.write(b"\x04")
        self.read_until(b"\x04", timeout)  # end of data acknowledged

    # Running code: the guest stays in the raw REPL between calls;
    # repl() goes back to the friendly one.

    def exec(self, code, timeout=30):
        """Run code in the guest (raw-paste); its stdout. A guest exception
        raises GuestException."""
        if not self.in_raw:
            self.enter_raw()
        out, err = self.raw_paste_exec(code, timeout)
        if err:
            raise GuestException(err, out)
        return out

    def eval(self, expr, timeout=30):
        """The value of a guest expression whose repr() is a Python literal."""
        out = self.exec("print(repr(%s))" % expr, timeout).strip()
        try:
            return ast.literal_eval(out)
        except (ValueError, SyntaxError):
            raise GuestError("%r gave %r, not a Python literal" % (expr, out)) from None

    def exec_start(self, code):
        """Send code to the raw REPL and return once the guest runs it; wait
        for its output with read_until(), and for the rest with exec_finish()."""
        if not self.in_raw:
            self.enter_raw()
        self.write(code.encode() + b"\x04")
        self.read_until(b"OK", 10)

    def exec_finish(self, timeout=30):
        """The rest of exec_start()'s output; a guest exception raises GuestException."""
        out, err = self._raw_result(timeout)
        if err:
            raise GuestException(err, out)
        return out
