"""TLS peers for the tests and the benchmark, on the host: certificates
made with Debian's `openssl` command, and a TLS server (CPython's ssl) on
127.0.0.1 that the guest reaches at 10.0.2.2.

Certificates: a test CA, an ECDSA P-256 and an RSA-2048 server certificate
for "localhost" and 10.0.2.2, one for "guest.test" (the guest as a server),
and a second CA nobody trusts; each leaf also in DER, valid for 30 days.
"""

import socket
import ssl
import subprocess
import threading
import time


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(d):
    """Make the certificates in folder d (a pathlib.Path); returns d."""

    def ca(name):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", name + ".key", "-out", name + ".pem", "-days", "30", "-subj", "/CN=%s" % name, cwd=d)

    def leaf(name, ca_name, keyopts, san):
        _openssl("req", "-newkey", *keyopts, "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                 "-subj", "/CN=%s" % san.split(",")[0].split(":")[1], cwd=d)
        (d / (name + ".ext")).write_text("subjectAltName=%s\n" % san)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca_name + ".pem", "-CAkey", ca_name + ".key",
                 "-CAcreateserial", "-out", name + ".pem", "-days", "30", "-extfile", name + ".ext", cwd=d)
        _openssl("x509", "-in", name + ".pem", "-outform", "DER", "-out", name + ".der", cwd=d)

    ca("ca")
    ca("other-ca")
    _openssl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der", cwd=d)
    ec = ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    leaf("ecdsa", "ca", ec, "DNS:localhost,IP:10.0.2.2")
    leaf("rsa", "ca", ["rsa:2048"], "DNS:localhost,IP:10.0.2.2")
    leaf("guest", "ca", ec, "DNS:guest.test")
    return d


class HostTLSServer:
    """A TLS server on 127.0.0.1 answering each connection with `reply`, in a thread.

    mode: "tls" (a real server), "close" (closes as the ClientHello arrives),
    "garbage" (answers the ClientHello with bytes that are no ServerHello),
    "bulk" (sends `reply` at once after the handshake, then closes)."""

    def __init__(self, certs, key="ecdsa", mode="tls", reply=b"hello over tls\n", versions=None):
        self.mode, self.reply = mode, reply
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(certs / (key + ".pem")), str(certs / (key + ".key")))
        if versions is not None:
            if versions[1] < ssl.TLSVersion.TLSv1_2:
                self.ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL speak TLS 1.0/1.1 at all
            self.ctx.minimum_version, self.ctx.maximum_version = versions
        self.negotiated = []  # the protocol version of each connection served
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.errors = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        end = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            c.settimeout(10)
            try:
                if self.mode == "close":
                    c.recv(16)
                elif self.mode == "garbage":
                    c.recv(4096)
                    c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 4)
                else:
                    with self.ctx.wrap_socket(c, server_side=True) as s:
                        self.negotiated.append(s.version())
                        if self.mode != "bulk":
                            s.recv(4096)
                        s.sendall(self.reply)
                    continue
            except (OSError, ssl.SSLError) as e:
                self.errors.append(e)
            c.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()
