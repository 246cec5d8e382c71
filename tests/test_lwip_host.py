"""lwIP's own core on the host, under ASan/UBSan, with the port's options
that change its behaviour: tests/host/tcp_port_test.c checks the ephemeral
TCP ports (ports/virt/net/lwip_inc/tcp_port_range.h) on lwIP's tcp.c, and
that lwIP's stock range still has the bug the port's works around."""

import glob
import os
import subprocess

import pytest

from support import ROOT
from test_virtqueue_host import BUILD, CFLAGS, HOST, PORT, _cc, _listed, _run_case

pytestmark = pytest.mark.xdist_group('host-c')

LWIP_DIR = os.environ.get("LWIP_DIR") or os.path.join(ROOT, "deps", "lwip")
OPTS = os.path.join(HOST, "lwip_opts")
PROGRAMS = {
    "tcp_port_test": ([], ["first_port_in_range", "ports_wrap_in_range"]),
    "tcp_port_stock_test": (["-DSTOCK_PORT_RANGE"], ["stock_range_fails"]),
}


def _lwip_core():
    src = os.path.join(LWIP_DIR, "src")
    files = sorted(glob.glob(os.path.join(src, "core", "*.c")) + glob.glob(os.path.join(src, "core", "ipv4", "*.c")))
    if not files:
        pytest.fail("no lwIP sources under %s: run `make fetch`, or set LWIP_DIR" % src)
    return src, files


@pytest.fixture(scope="module")
def lwip_program():
    src, core = _lwip_core()
    built = {}

    def get(name):
        if name not in built:
            os.makedirs(BUILD, exist_ok=True)
            out = os.path.join(BUILD, name)
            cmd = [_cc()] + CFLAGS + ["-Wno-unused-parameter"] + PROGRAMS[name][0] + \
                ["-I" + OPTS, "-I" + os.path.join(PORT, "net", "lwip_inc"), "-I" + HOST,
                 "-I" + os.path.join(src, "include"), os.path.join(HOST, "tcp_port_test.c")] + core + ["-o", out]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                pytest.fail("building %s failed:\n%s\n%s%s" % (name, " ".join(cmd), r.stdout, r.stderr[-8000:]))
            built[name] = out
        return built[name]
    return get


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_lwip_case_list(lwip_program, name):
    assert _listed(lwip_program(name)) == PROGRAMS[name][1]


@pytest.mark.parametrize("name,case", [(n, c) for n in sorted(PROGRAMS) for c in PROGRAMS[n][1]])
def test_lwip_case(lwip_program, name, case):
    print(_run_case([lwip_program(name)], case))
