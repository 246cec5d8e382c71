# ssl: MicroPython's TLS API over its `tls` module (mbedTLS), as other
# boards have it: SSLContext with file names or data for certificates and
# keys, and the older ssl.wrap_socket(). Certificates and keys may be PEM
# or DER; PEM text is passed on with its terminating NUL, as mbedTLS needs.
import tls
from tls import (
    CERT_NONE,
    CERT_OPTIONAL,
    CERT_REQUIRED,
    MBEDTLS_VERSION,
    PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER,
)


def _data(source):
    """A certificate or key: bytes/str as given, else the file it names."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


class SSLContext:
    def __init__(self, protocol):
        self._context = tls.SSLContext(protocol)

    @property
    def verify_mode(self):
        return self._context.verify_mode

    @verify_mode.setter
    def verify_mode(self, mode):
        self._context.verify_mode = mode

    def load_cert_chain(self, certfile, keyfile=None):
        """certfile and keyfile: paths, or the PEM/DER data itself. Without
        keyfile the key is read from certfile (one PEM file holding both)."""
        cert = _data(certfile)
        key = _data(keyfile) if keyfile is not None else cert
        self._context.load_cert_chain(cert, key)

    def load_verify_locations(self, cafile=None, cadata=None):
        if cafile is None and cadata is None:
            raise ValueError("cafile or cadata is needed")
        if cafile is not None:
            self._context.load_verify_locations(_data(cafile))
        if cadata is not None:
            self._context.load_verify_locations(cadata)

    def get_ciphers(self):
        return self._context.get_ciphers()

    def set_ciphers(self, ciphers):
        self._context.set_ciphers(ciphers)

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        return self._context.wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            server_hostname=server_hostname,
        )


def wrap_socket(
    sock,
    server_side=False,
    key=None,
    cert=None,
    cert_reqs=CERT_NONE,
    cadata=None,
    server_hostname=None,
    do_handshake=True,
):
    """key and cert are the data itself (bytes), as MicroPython documents."""
    context = SSLContext(PROTOCOL_TLS_SERVER if server_side else PROTOCOL_TLS_CLIENT)
    if cert is not None or key is not None:
        context._context.load_cert_chain(cert, key)
    if cadata is not None:
        context.load_verify_locations(cadata=cadata)
    context.verify_mode = cert_reqs
    return context.wrap_socket(
        sock, server_side=server_side, do_handshake_on_connect=do_handshake, server_hostname=server_hostname
    )
