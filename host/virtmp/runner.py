"""`virtmp test`: run MicroPython test files, each in a fresh guest.

A file passes when it runs to its end, or ends with sys.exit(0), and every
unittest TestCase it holds passes (with or without its own unittest.main()).
An uncaught exception, a non-zero sys.exit, a failed unittest or the time
limit fails it. Files run in parallel guests (jobs); each result is one line
as it ends, then "N passed, N failed". A guest's disks (guest_options
["disk"]) are copies made for its test alone, removed after it.
"""

import concurrent.futures
import json
import os
import re
import shutil
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

from .console import GuestError
from .disk import DiskImage, as_disks, copy_image
from .guest import TMP_PREFIX, Guest, stop_all_guests
from .imports import guest_source, mount_program
from .net import Slirp

RESULT_MARK = "\x1evirtmp-result "


class TestResult:
    def __init__(self, path):
        self.path = path
        self.passed = False
        self.reason = ""
        self.output = ""
        self.seconds = 0.0
        self.detail = {}


def discover(paths):
    """Test files: each file named, and test_*.py / *_test.py under each directory."""
    found = []
    for p in paths:
        if os.path.isdir(p):
            for top, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
                for f in sorted(files):
                    if f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")):
                        found.append(os.path.join(top, f))
        elif os.path.isfile(p):
            found.append(p)
        else:
            raise FileNotFoundError("no such test file or directory: %s" % p)
    return found


def _guest_program(name, src, dirs, net_wait_ms):
    return (mount_program("/virtmp", dirs) + guest_source("guest_runner.py")
            + "\n_virtmp_run(%r, %r, %d)\n" % (name, src, net_wait_ms))


def run_one(path, paths=(), timeout=60, guest_options=None, net_wait_ms=10000):
    """Boot a guest, run one test file in it; a TestResult."""
    res = TestResult(path)
    t0 = time.monotonic()
    deadline = t0 + timeout
    opts = dict(guest_options or {})
    opts.setdefault("net", Slirp())
    g = None
    log_start = None
    copies = None
    try:
        disks = as_disks(opts.get("disk"))
        if disks:
            # Its own copy of each image: tests in parallel guests never share
            # one (a killed run's copies go with its stale guest directories).
            copies = tempfile.mkdtemp(prefix="%s%d-disks-" % (TMP_PREFIX, os.getpid()), dir="/tmp")
            opts["disk"] = []
            for i, d in enumerate(disks):
                copy = os.path.join(copies, "%d-%s" % (i, os.path.basename(d.path)))
                copy_image(d.path, copy)
                opts["disk"].append(DiskImage(copy, readonly=d.readonly))
        with open(path, "rb") as f:
            src = f.read()
        dirs = [os.path.dirname(os.path.abspath(path))] + list(paths)
        program = _guest_program(os.path.basename(path), src.decode("utf-8", "replace"), dirs, net_wait_ms)
        g = Guest(boot_timeout=min(20, timeout), **opts)
        g.start()
        g.enter_raw()
        log_start = len(g.log)
        g.raw_paste_send(program, timeout=max(1, deadline - time.monotonic()))
        out, err = g._raw_result(max(0.1, deadline - time.monotonic()))
        mark = out.rfind(RESULT_MARK)
        detail = json.loads(out[mark + len(RESULT_MARK):].strip()) if mark >= 0 else {}
        res.output = ((out[:mark] if mark >= 0 else out) + err).replace("\r\n", "\n")
        res.detail = detail
        if err:
            res.reason = (err.strip().splitlines() or ["exception"])[-1]
        elif mark < 0:
            res.reason = "the guest gave no result (it reset or ended before the end of the file)"
        elif detail["status"] != 0:
            res.reason = "sys.exit(%s)" % detail["status"]
        elif detail["failures"] or detail["errors"]:
            res.reason = "unittest: %d failures, %d errors of %d tests" % (
                detail["failures"], detail["errors"], detail["tests"])
        else:
            res.passed = True
    except GuestError as e:
        if time.monotonic() >= deadline - 0.2:
            res.reason = "time limit of %gs exceeded" % timeout
        else:
            res.reason = str(e).splitlines()[0]
        if g is not None:
            # What the file printed before it was stopped (after raw-paste's
            # handshake), else the whole boot log.
            log = g.log
            start = log.find("\x04", log_start) + 1 if log_start is not None else 0
            res.output = log[start:].replace("\r\n", "\n")
    except (OSError, ValueError) as e:
        res.reason = str(e)
    finally:
        if g is not None:
            g.stop()
        if copies is not None:
            shutil.rmtree(copies, ignore_errors=True)
        res.seconds = time.monotonic() - t0
    return res


def format_line(res):
    status = "PASS" if res.passed else "FAIL"
    extra = ""
    if res.detail.get("unittest"):
        extra = " [%d tests%s]" % (res.detail["tests"],
                                   ", %d skipped" % res.detail["skipped"] if res.detail["skipped"] else "")
    line = "%s %s (%.1fs)%s" % (status, res.path, res.seconds, extra)
    return line + ("" if res.passed else ": " + res.reason)


def run_all(files, jobs=1, paths=(), timeout=60, guest_options=None, out=print, verbose=False):
    """Run every file; print a line for each as it ends, then the counts. The results, in file order."""
    lock = threading.Lock()

    def task(path):
        res = run_one(path, paths, timeout, guest_options)
        with lock:
            out(format_line(res))
            if (verbose or not res.passed) and res.output.strip():
                out("\n".join("    " + line for line in res.output.rstrip().splitlines()))
        return res

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        results = list(pool.map(task, files))
    except KeyboardInterrupt:
        # Ctrl-C: kill the running guests so their threads end at once.
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all_guests()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    passed = sum(r.passed for r in results)
    out("%d passed, %d failed" % (passed, len(results) - passed))
    return results


_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text):
    """text without the control characters XML 1.0 cannot hold."""
    return _XML_BAD.sub(lambda m: "\\x%02x" % ord(m.group()), text)


def write_junit(results, path):
    """JUnit XML, one testcase per file, as CI systems read it."""
    suite = ET.Element("testsuite", name="virtmp", tests=str(len(results)),
                       failures=str(sum(not r.passed for r in results)), errors="0",
                       time="%.3f" % sum(r.seconds for r in results))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="virtmp", name=r.path, time="%.3f" % r.seconds)
        if not r.passed:
            ET.SubElement(case, "failure", message=_xml_text(r.reason)).text = _xml_text(r.output)
        ET.SubElement(case, "system-out").text = _xml_text(r.output)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
