"""A host client that comes back from the same source port while the guest
server still holds the last connection in TIME_WAIT (net/tcp_time_wait.h).

slirp gives the guest the host client's own port, and Linux gives a client
the same port again soon; the guest, which closed first, still has the old
4-tuple in TIME_WAIT. lwIP alone answered the new SYN with an ACK of the
old connection, slirp reset it, TIME_WAIT ignored the reset, and the
connection hung until TIME_WAIT ended (two minutes). Found as a stall 1
connection in a few hundred of a host reading from a guest server."""

import socket
import time

from test_net_tcp import GUEST_PORT, HOST_TIMEOUT, fwd_guest, recv_until  # noqa: F401 (fixture)

SERVER = """
import socket, _virt
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', %d))
srv.listen(2)
def serve(n):
    for i in range(n):
        c, _ = srv.accept()
        c.write(b'round %%d\\n' %% i * 100)
        c.close()  # the guest closes first: TIME_WAIT here
"""
ROUNDS = 4


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_same_source_port_again_while_the_guest_holds_time_wait(fwd_guest):
    g = fwd_guest
    g.exec(SERVER % GUEST_PORT)
    reopened = g.eval("_virt.lwip_mem().get('time_wait_reopened', 0)")
    g.exec_start("serve(%d)" % ROUNDS)
    port = g.host_port(GUEST_PORT)
    src = _free_port()
    took = []
    for i in range(ROUNDS):
        with socket.socket() as c:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            c.bind(("127.0.0.1", src))
            c.settimeout(10)  # the old behaviour waited out TIME_WAIT: 120 s
            t0 = time.monotonic()
            c.connect(("127.0.0.1", port))
            got = recv_until(c, b"\x00")  # no such byte: to the end
            took.append(time.monotonic() - t0)
            assert got == b"round %d\n" % i * 100, (i, got[:40])
    g.exec_finish(timeout=HOST_TIMEOUT)
    # Every connection after the first met its predecessor in TIME_WAIT.
    assert g.eval("_virt.lwip_mem()['time_wait_reopened']") - reopened == ROUNDS - 1
    assert max(took) < 5, took
