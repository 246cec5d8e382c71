"""The board as a whole, in QEMU: exit status, heap sizing, RTC, idle CPU,
mpremote over the serial pty, reset, identity, sleep and timers.

Every QEMU started here is killed when its test ends, pass or fail, and every
wait is bounded in time.
"""

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import virtmp

from support import BOARD, MCU_NAME, ROOT, build_firmware

# Under pytest-xdist all of this file runs on one worker: its session fixture builds the app firmware once.
pytestmark = pytest.mark.xdist_group('board-apps')

MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
MiB = 1024 * 1024


# Firmware with a user app frozen in (make APP=dir): support.build_firmware.

APPS = {
    "exit3": "import sys\nprint('app: exit 3')\nsys.exit(3)\n",
    "exit0": "import sys\nprint('app: exit')\nsys.exit()\n",
}


@pytest.fixture(scope="session")
def app_firmware(tmp_path_factory):
    """{name: firmware.elf} for each app in APPS, built in one scratch build dir
    (so the second build also checks that switching APP refreezes)."""
    top = tmp_path_factory.mktemp("apps")
    build = top / "build"
    images = {}
    for name, source in APPS.items():
        app = top / name
        app.mkdir()
        (app / "main.py").write_text(source)
        elf = build_firmware(build, app_dir=app)
        images[name] = str(top / (name + ".elf"))
        shutil.copyfile(elf, images[name])
    return images


def run_to_exit(firmware, semihosting=True, timeout=30):
    """Boot with the plain documented command (without a NIC, to stay
    hermetic); returns (status, console output)."""
    cmd = [virtmp.find_qemu(BOARD)] + virtmp.BOARDS[BOARD]["machine"] + ["-m", "128M", "-nographic", "-nic", "none"]
    cmd += virtmp.guest.SEMIHOSTING if semihosting else []
    cmd += ["-kernel", firmware]
    # subprocess.run kills QEMU on a timeout or any other exception.
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


def test_exit_status_from_main_py(app_firmware):
    status, out = run_to_exit(app_firmware["exit3"])
    assert "app: exit 3" in out
    assert status == 3, out


def test_exit_status_zero(app_firmware):
    status, out = run_to_exit(app_firmware["exit0"])
    assert "app: exit" in out
    assert status == 0, out


def test_exit_status_through_virtmp(app_firmware, virt_guest_factory):
    # The library's wait_exit(): what virtmp users get from a frozen app.
    g = virt_guest_factory(firmware=app_firmware["exit3"], net=None, start=False)
    g.start(wait_prompt=False)
    # Not its output: what QEMU still held for the pty is gone when it exits
    # (the plain-command tests above read it from stdio).
    assert g.wait_exit(timeout=20) == 3


def test_exit_without_semihosting_powers_off(app_firmware):
    # No semihosting: the firmware powers the machine off through PSCI on ARM
    # (QEMU exits with 0); RISC-V's SiFive test device carries the status.
    status, out = run_to_exit(app_firmware["exit3"], semihosting=False)
    assert "app: exit 3" in out
    assert status == (3 if BOARD in ("VIRT_RV64", "VIRT_RV32") else 0), out


# Heap sized from the RAM in the device tree: a small first GC area at boot,
# more areas from the rest of RAM when a collection cannot make room.
# gc.mem_free() is the free heap plus the largest area that could be added.

def _mem_free(make_guest, mem, ram_fs=None):
    """gc.mem_free() after boot; with ram_fs=[], the RAM filesystem's size is appended to it."""
    with make_guest(net=None, mem=mem) as g:  # stopped at the end of the block
        out = g.repl("import gc; gc.collect(); print(gc.mem_free())")
        if ram_fs is not None:
            st = g.eval("__import__('os').statvfs('/')")
            ram_fs.append(st[0] * st[2])
    return int(out.strip())


def test_heap_follows_ram_size(virt_guest_factory):
    ram_fs = []
    small, large = _mem_free(virt_guest_factory, "64M", ram_fs), _mem_free(virt_guest_factory, "512M", ram_fs)
    assert 40 * MiB < small < 64 * MiB
    # The heap has the RAM the RAM filesystem (an eighth, at most 64 MiB) leaves.
    more = 448 * MiB - (ram_fs[1] - ram_fs[0])
    grown = large - small
    assert 0.9 * more <= grown <= more, (small, large, ram_fs)


_GROW = """
import gc
gc.collect()
start = gc.mem_free()
L = []
try:
    for i in range(%d):
        L.append(bytearray(%d * 1024 * 1024))
except MemoryError:
    pass
print("got", len(L))
"""


def _grow(make_guest, mem, count, mib):
    """(objects allocated, mem_free() change once they are dropped again)."""
    with make_guest(net=None, mem=mem) as g:  # stopped at the end of the block
        g.enter_raw()
        out, err = g.raw_exec(_GROW % (count, mib), timeout=60)
        assert err == "", err
        got = int(re.search(r"got (\d+)", out).group(1))
        # A separate run, so no stale register or stack slot still points
        # at the last object (the collector is conservative).
        out, err = g.raw_exec("L = None\ngc.collect()\nprint(gc.mem_free() - start)", timeout=60)
        assert err == "", err
    return got, int(out)


def test_heap_grows_and_shrinks(virt_guest_factory):
    # 14 MiB objects in a 128 MiB guest: the heap grows area by area, and
    # empty areas go back, so mem_free() returns to where it started. (Six of
    # 16 MiB no longer fit once the firmware, which lives in that RAM, grew
    # by mbedTLS's 160 KiB.)
    got, back = _grow(virt_guest_factory, "128M", 6, 14)
    assert got == 6
    assert abs(back) < 4096, back


def test_heap_beyond_512M(virt_guest_factory):
    # Three 300 MiB objects need RAM past 512 MiB (a GC area stays under it).
    assert _grow(virt_guest_factory, "512M", 3, 300)[0] == 1
    got, back = _grow(virt_guest_factory, "1G", 3, 300)
    assert got == 3
    assert abs(back) < 4096, back


# Wall-clock time from the PL031.

def test_rtc_matches_host(guest):
    guest.repl("import time")
    before = time.time()
    out = guest.repl("t1 = time.time(); lt = time.localtime(); t2 = time.time(); ns = time.time_ns(); print(t1, t2, ns, lt, time.mktime(lt))")
    after = time.time()
    m = re.fullmatch(r"(\d+) (\d+) (\d+) (\([\d, ]+\)) (\d+)", out.strip())
    assert m, out
    t1, t2, ns = int(m.group(1)), int(m.group(2)), int(m.group(3))
    lt = tuple(int(x) for x in m.group(4).strip("()").split(","))
    # time.time() is whole seconds: it may trail the host by just under one.
    assert before - 2 <= t1 <= t2 <= after + 2
    assert before - 2 <= ns / 1e9 <= after + 2
    # localtime is UTC, read between t1 and t2, and mktime inverts it.
    assert lt in (tuple(time.gmtime(t1))[:8], tuple(time.gmtime(t2))[:8])
    assert t1 <= int(m.group(5)) <= t2


# Idle: the CPU waits in WFI at the REPL.

def test_idle_cpu_is_low(guest):
    time.sleep(1)  # let start-up settle
    c0, t0 = guest.cpu_seconds(), time.monotonic()
    time.sleep(5)
    c1, t1 = guest.cpu_seconds(), time.monotonic()
    load = (c1 - c0) / (t1 - t0)
    assert load < 0.05, "QEMU used %.1f%% of a core while idle" % (load * 100)
    assert guest.repl("1 + 1").strip() == "2"


# mpremote over QEMU's serial pty.

def mpremote(guest, *args, timeout=60):
    r = subprocess.run([MPREMOTE, "connect", guest.pty] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def test_mpremote(guest, tmp_path):
    guest.detach()
    assert mpremote(guest, "exec", "print(1+1)") == (0, "2\r\n", "")
    assert mpremote(guest, "eval", "6*7") == (0, "42\r\n", "")
    script = tmp_path / "script.py"
    script.write_text("import sys\nprint('script on', sys.platform)\n")
    assert mpremote(guest, "run", str(script)) == (0, "script on virt\r\n", "")

    # Without `resume` mpremote soft-resets first (clearing state); with it, not.
    assert mpremote(guest, "exec", "x = 5")[0] == 0
    assert mpremote(guest, "resume", "exec", "print(x)") == (0, "5\r\n", "")
    assert mpremote(guest, "resume", "eval", "x") == (0, "5\r\n", "")
    rc, out, err = mpremote(guest, "eval", "x")
    assert rc == 1 and "NameError" in out + err

    # mpremote leaves the friendly REPL behind, still working (attach without
    # sync: its Ctrl-B would also end a raw REPL mpremote wrongly left).
    guest.attach(sync=False)
    guest.write("\r")
    guest.wait_prompt()
    assert guest.repl("print('after mpremote')").strip() == "after mpremote"


# Reset, identity, sleep, timers.

def test_machine_reset_reboots(guest):
    guest.repl("marker = 1")
    guest.write("import machine; machine.reset()\r")
    out = guest.read_until(b"MicroPython v", timeout=20)
    guest.wait_prompt(timeout=20)
    assert b"Traceback" not in out
    assert guest.proc.poll() is None  # a reset, not a power-off
    assert "NameError" in guest.repl("marker")


def test_identity(guest):
    guest.repl("import sys, os, machine")
    assert guest.repl("sys.platform").strip() == "'virt'"
    assert "QEMU virt with " + MCU_NAME in guest.repl("print(os.uname().machine)")
    assert guest.repl("f = machine.freq(); print(type(f) is int and f > 0)").strip() == "True"
    assert guest.repl("u = machine.unique_id(); print(type(u) is bytes and len(u) > 0)").strip() == "True"


def test_sleep_ms(guest):
    guest.repl("import time")
    t0 = time.monotonic()
    out = guest.repl("t = time.ticks_ms(); time.sleep_ms(200); print(time.ticks_diff(time.ticks_ms(), t))")
    host = time.monotonic() - t0
    assert 0.2 <= host <= 0.4, host
    assert 200 <= int(out.strip()) <= 300, out


def test_machine_timer_periodic(guest):
    guest.repl("import machine, time")
    guest.repl("n = []")
    out = guest.repl("tim = machine.Timer(-1, mode=machine.Timer.PERIODIC, period=50, callback=lambda t: n.append(1))")
    assert out == "", out
    # The callbacks must run while the REPL sits idle waiting for input.
    time.sleep(1.0)
    fired = int(guest.repl("tim.deinit(); print(len(n))").strip())
    assert 10 <= fired <= 25, fired
    out = guest.repl("c = len(n); time.sleep_ms(200); print(len(n) - c)")
    assert out.strip() == "0"
    # One-shot fires once.
    guest.repl("m = []")
    guest.repl("t1 = machine.Timer(-1, mode=machine.Timer.ONE_SHOT, period=20, callback=lambda t: m.append(1))")
    assert guest.repl("time.sleep_ms(200); print(len(m))").strip() == "1"


# The CPUs and interrupt controllers a user of each board may pick on QEMU's
# command line: each boots, keeps time, and gets its NIC's interrupts.
MACHINE_VARIANTS = {
    "VIRT_ARM": [],
    "VIRT_AARCH64": [["-cpu", "cortex-a72"], ["-cpu", "max"], ["-M", "gic-version=3"],
                     ["-M", "gic-version=3", "-cpu", "max"], ["-M", "virtualization=on"]],
    # Two harts: OpenSBI may boot either, and the PLIC context must be the
    # booted one's; in M-mode the second hart parks.
    "VIRT_RV64": [["-smp", "2"], ["-smp", "4"]],
    "VIRT_RV32": [["-smp", "2"]],
}


@pytest.mark.parametrize("variant", MACHINE_VARIANTS.get(BOARD, []),
                         ids=[" ".join(v) for v in MACHINE_VARIANTS.get(BOARD, [])])
def test_cpu_and_interrupt_controller_variants(virt_guest_factory, variant):
    g = virt_guest_factory(qemu_args=variant)  # slirp; DHCP done by the factory
    g.exec("import time")
    slept = g.eval("(lambda t: (time.sleep_ms(100), time.ticks_diff(time.ticks_ms(), t))[1])(time.ticks_ms())")
    assert 100 <= slept <= 200, slept
    assert g.eval("__import__('network').LAN().ifconfig()[0]") == "10.0.2.15"
