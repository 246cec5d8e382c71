# Host-side tests of minikv: the guest serves, this pytest process is the
# client, over slirp's port forward. Run by:
#   pytest host_tests
import os
import socket

import pytest

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src")


def ask(conn, line):
    conn.sendall(line.encode() + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = conn.recv(256)
        assert chunk, "minikv closed the connection"
        reply += chunk
    return reply.decode().rstrip("\n")


@pytest.mark.virt_guest(forwards=[7777])  # the guest's port 7777 from a free port on 127.0.0.1
def test_minikv_serves_clients_over_the_network(virt_guest):
    virt_guest.add_import_path(SRC)  # import minikv works in the guest
    virt_guest.exec_start("import minikv\nminikv.run(7777)")
    virt_guest.read_until("serving on port 7777", timeout=10)

    port = virt_guest.host_port(7777)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as a, \
            socket.create_connection(("127.0.0.1", port), timeout=10) as b:
        assert ask(a, "SET greeting hello from the host") == "OK"
        assert ask(b, "GET greeting") == "VALUE hello from the host"
        assert ask(b, "NONSENSE") == "ERROR bad command"
