"""The serial REPL: friendly, raw and raw-paste modes, soft reset."""

def test_banner_and_round_trip(guest):
    assert guest.repl("print(6 * 7)").strip() == "42"
    assert guest.repl("'virt'.upper()").strip() == "'VIRT'"


def test_multiline_and_exception(guest):
    guest.write("def f(x):\r")
    guest.read_until(b"... ")
    # The REPL auto-indents the body; a blank line (after deleting the
    # indent) ends the definition.
    guest.write("return x + 1\r")
    guest.read_until(b"... ")
    guest.write("\b\b\b\b\r")
    guest.read_until(b">>> ")
    assert guest.repl("f(41)").strip() == "42"
    out = guest.repl("1/0")
    assert "ZeroDivisionError" in out


def test_raw_repl_exec(guest):
    guest.enter_raw()
    out, err = guest.raw_exec("import sys\nprint(sys.platform)\nprint(sum(range(10)))")
    assert out.split() == ["virt", "45"]
    assert err == ""
    out, err = guest.raw_exec("raise ValueError('boom')")
    assert "ValueError: boom" in err
    guest.exit_raw()


def test_raw_paste_large_script(guest):
    """raw-paste mode (flow controlled) with a script far larger than the RX buffer."""
    lines = ["x%d = %d" % (i, i) for i in range(1500)]
    lines.append("print(x0 + x1499)")
    script = "\n".join(lines) + "\n"
    assert len(script) > 16000
    guest.enter_raw()
    out, err = guest.raw_paste_exec(script)
    assert err == ""
    assert out.strip() == "1499"


def test_soft_reset_clears_state(guest):
    guest.repl("marker = 123")
    guest.write("\x04")
    guest.read_until(b"MPY: soft reboot")
    guest.wait_prompt()
    assert "NameError" in guest.repl("marker")


def test_keyboard_interrupt(guest):
    # Ctrl-C only interrupts once code runs, so wait for the loop to start.
    guest.write("exec('print(\\'spinning\\')\\nwhile True: pass')\r")
    guest.read_until(b"spinning\r\n")
    guest.write("\x03")
    out = guest.read_until(b">>> ", timeout=10)
    assert b"KeyboardInterrupt" in out
