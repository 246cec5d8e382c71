"""TLS in the guest (MicroPython's ssl/tls on mbedTLS) and its entropy.

Certificates are made here with Debian's `openssl` command: a test CA, an
ECDSA P-256 and an RSA-2048 server certificate for "localhost" and 10.0.2.2
(the host as slirp shows it to the guest), one for "guest.test" (the guest
as a server), and a second CA nobody trusts. Host-side servers and clients
are CPython's ssl module on 127.0.0.1; the guest reaches them at 10.0.2.2
and is reached through hostfwd. The guest's RTC follows the host's clock,
or, for the expired case, QEMU's -rtc base= a date after the certificates'.
"""

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from support import BOARD, ROOT, TRANSPORTS, build_firmware
from tls_peer import HostTLSServer, make_certs

GUEST_TLS_PORT = 8443
# The TLS 1.1-only server of the version test is deprecated in CPython,
# rightly. The TLS 1.3 firmware is built once, by one xdist worker.
pytestmark = [pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning"),
              pytest.mark.xdist_group("tls13-build")]


@pytest.fixture(scope="module")
def tls13_firmware():
    """The firmware built with TLS 1.3 (make TLS13=1), in a build directory of its own."""
    return build_firmware(os.path.join(ROOT, "build", BOARD + "-tls13"), make_vars=["TLS13=1"])


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("`openssl` is missing: install the Debian package openssl (tools/setup.sh test)")
    return make_certs(tmp_path_factory.mktemp("certs"))


CLIENT = """
import socket, ssl, gc
def tls_get(port, hostname=%(hostname)r, cadata=None, cafile=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=cafile, cadata=cadata)
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect(('10.0.2.2', port))
        s = ctx.wrap_socket(s, server_hostname=hostname)
        s.write(b'GET\\r\\n')
        return s.read(100)
    finally:
        s.close()
def tls_error(port, **kw):
    try:
        tls_get(port, **kw)
    except (OSError, ValueError) as e:
        return type(e).__name__
    return 'no error'
def tls_error_text(port, **kw):
    try:
        tls_get(port, **kw)
    except (OSError, ValueError) as e:
        return repr(e)
"""


def _tls_guest(factory, certs, **options):
    g = factory(forwards=[GUEST_TLS_PORT], **options)
    g.exec(CLIENT % {"hostname": "localhost"})
    g.exec("CA = %r\nOTHER = %r" % ((certs / "ca.pem").read_text(), (certs / "other-ca.pem").read_text()))
    return g


@pytest.fixture(params=TRANSPORTS)
def tls_guest(request, virt_guest_factory, certs):
    return _tls_guest(virt_guest_factory, certs, transport=request.param)


VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


# The TLS 1.3 firmware (make TLS13=1) offers rsa_pss_rsae_* in TLS 1.2 too,
# but mbedTLS 3.6.6's TLS 1.2 client refuses a ServerKeyExchange signed so
# (ILLEGAL_PARAMETER), which OpenSSL sends with an RSA key. Fixed upstream
# after 3.6.6 (Mbed-TLS/mbedtls#10672); strict, so the test says when
# Debian's mbedTLS has the fix (and TLS 1.3 can become the default).
RSA_TLS12_ON_TLS13 = pytest.mark.xfail(strict=True, raises=Exception,
                                       reason="mbedTLS 3.6.6: TLS 1.2 ServerKeyExchange signed with RSA-PSS is refused")


def _https_round(g, certs, key, version):
    ca_der = (certs / "ca.der").read_bytes()
    with HostTLSServer(certs, key=key, versions=(VERSIONS[version],) * 2) as srv:
        assert g.eval("tls_get(%d, cadata=CA)" % srv.port) == b"hello over tls\n"
        assert g.eval("tls_get(%d, cadata=%r)" % (srv.port, ca_der)) == b"hello over tls\n"  # DER
        g.exec("with open('ca.pem', 'w') as f:\n    f.write(CA)")  # a CA file on the RAM filesystem
        assert g.eval("tls_get(%d, cafile='ca.pem')" % srv.port) == b"hello over tls\n"
        assert g.eval("tls_get(%d, hostname='10.0.2.2', cadata=CA)" % srv.port) == b"hello over tls\n"
    assert srv.negotiated == ["TLSv" + version] * 4


@pytest.mark.parametrize("key", ["ecdsa", "rsa"])
def test_https_client_verified(tls_guest, certs, key):
    """The default firmware: TLS 1.2, verified, CA as PEM, DER and a file."""
    _https_round(tls_guest, certs, key, "1.2")


@pytest.mark.parametrize("key,version", [
    ("ecdsa", "1.3"), ("rsa", "1.3"), ("ecdsa", "1.2"), pytest.param("rsa", "1.2", marks=RSA_TLS12_ON_TLS13)])
def test_https_client_verified_tls13_firmware(virt_guest_factory, tls13_firmware, certs, key, version):
    g = _tls_guest(virt_guest_factory, certs, firmware=tls13_firmware)
    _https_round(g, certs, key, version)


KEEP_OPEN = """
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cadata=CA)
keep = socket.socket()
keep.connect(('10.0.2.2', %d))
keep = ctx.wrap_socket(keep, server_hostname='localhost')
"""


def test_tls_across_soft_resets(tls_guest, certs):
    """mbedTLS's allocator keeps chunks of the GC heap: a soft reset frees
    them all, and TLS after it starts afresh (a connection left open, and
    one in a fresh SSLContext, on either side of each reset)."""
    g = tls_guest
    with HostTLSServer(certs) as srv:
        for _ in range(3):
            with HostTLSServer(certs) as held:  # a server of its own: it serves one at a time
                g.exec(KEEP_OPEN % held.port)
                assert g.eval("tls_get(%d, cadata=CA)" % srv.port) == b"hello over tls\n"
                out = g.soft_reset()
            assert "soft reboot" in out, out
            g.exec(CLIENT % {"hostname": "localhost"})
            g.exec("CA = %r" % (certs / "ca.pem").read_text())
            assert g.eval("tls_get(%d, cadata=CA)" % srv.port) == b"hello over tls\n"


FILL_AND_CHECK = """
import gc, ssl
pat = bytes([0x5a]) * 65536
bufs = []
try:
    for _ in range(2000):
        bufs.append(bytearray(pat))
except MemoryError:
    pass
del bufs[-8:]  # room for the contexts
gc.collect()
ctxs = [ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT) for _ in range(3)]
intact = sum(1 for b in bufs if b == pat)
"""


def test_tls_allocations_after_soft_reset_write_no_freed_memory(virt_guest_factory):
    """After a soft reset the first TLS allocation must not link itself into
    the allocation list of before it (memory the GC has freed, now a user's
    data): with the heap filled by a pattern, every buffer keeps it."""
    g = virt_guest_factory(net=None, mem="32M")
    g.exec("import ssl\nkeep = [ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER) for _ in range(4)]")
    for _ in range(2):
        assert "soft reboot" in g.soft_reset()
        g.exec(FILL_AND_CHECK, timeout=60)
        n = g.eval("len(bufs)")
        assert n > 100 and g.eval("intact") == n


def test_default_firmware_has_no_tls13(tls_guest, certs):
    with HostTLSServer(certs, versions=(ssl.TLSVersion.TLSv1_3,) * 2) as srv:
        assert "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE" in tls_guest.eval("tls_error_text(%d, cadata=CA)" % srv.port)


# What each failure says (mbedTLS's error names through MicroPython's OSError).
EXPECTED_ERRORS = {
    "unknown CA": "ValueError('\\nThe certificate is not correctly signed by the trusted CA",
    "wrong hostname": "ValueError('\\nThe certificate Common Name (CN) does not match",
    "closed mid-handshake": "OSError(104,",  # ECONNRESET
    "garbage ServerHello": "MBEDTLS_ERR_SSL_INVALID_RECORD",
    "version refused": "MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION",  # the guest refuses the server's TLS 1.1
}


def test_tls_failures_are_errors_and_leak_nothing(tls_guest, certs):
    """Unknown CA, wrong hostname, a peer that closes mid-handshake, garbage
    instead of a ServerHello, a server that speaks only TLS 1.1 (which the
    guest refuses: it has 1.2 and 1.3):
    each a clear error, the guest alive; 200 of them leave the heap as it was."""
    g = tls_guest
    with HostTLSServer(certs) as good, HostTLSServer(certs, mode="close") as closing, \
            HostTLSServer(certs, mode="garbage") as garbage, \
            HostTLSServer(certs, versions=(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)) as tls11:
        cases = {
            "unknown CA": "tls_error(%d, cadata=OTHER)" % good.port,
            "wrong hostname": "tls_error(%d, hostname='example.test', cadata=CA)" % good.port,
            "closed mid-handshake": "tls_error(%d, cadata=CA)" % closing.port,
            "garbage ServerHello": "tls_error(%d, cadata=CA)" % garbage.port,
            "version refused": "tls_error(%d, cadata=CA)" % tls11.port,
        }
        texts = {what: g.eval(expr.replace("tls_error(", "tls_error_text(")) for what, expr in cases.items()}
        for what, expected in EXPECTED_ERRORS.items():
            assert expected in texts[what], (what, texts[what])
        assert g.eval("tls_get(%d, cadata=CA)" % good.port) == b"hello over tls\n"
        g.exec("gc.collect(); FREE = gc.mem_free()")
        rounds = 40  # 5 kinds each: 200 failed handshakes
        out = g.exec("""
bad = 0
for i in range(%d):
    for expr in %r:
        if eval(expr) not in ('OSError', 'ValueError'):
            bad += 1
gc.collect()
print(bad, FREE - gc.mem_free())
""" % (rounds, list(cases.values())), timeout=600)
        bad, lost = (int(x) for x in out.split())
        assert bad == 0
        assert lost <= 1024, "heap not back after %d failed handshakes: %d bytes" % (5 * rounds, lost)
        assert g.eval("tls_get(%d, cadata=CA)" % good.port) == b"hello over tls\n"


def test_expired_certificate_by_the_rtc(virt_guest_factory, certs):
    """The guest's RTC set past the certificates' 30 days: verification fails."""
    g = virt_guest_factory(qemu_args=["-rtc", "base=2040-01-01T00:00:00"])
    g.exec(CLIENT % {"hostname": "localhost"})
    g.exec("CA = %r" % (certs / "ca.pem").read_text())
    assert g.eval("__import__('time').gmtime()[0]") == 2040
    with HostTLSServer(certs) as srv:
        assert g.eval("tls_error(%d, cadata=CA)" % srv.port) in ("OSError", "ValueError")


GUEST_SERVER = """
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
with open('guest.pem', 'w') as f:
    f.write(%(cert)r)
with open('guest.key', 'w') as f:
    f.write(%(key)r)
ctx.load_cert_chain('guest.pem', 'guest.key')
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('0.0.0.0', %(port)d))
srv.listen(2)
print('LISTENING')
for i in range(%(count)d):
    c, _ = srv.accept()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        s.recv(200)
        s.write(b'HTTP/1.0 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\nfrom tls\\n')
        s.close()
    except OSError as e:
        print('ERR', e)
        c.close()
srv.close()
print('DONE')
"""


def test_tls_server_in_guest_read_by_curl(tls_guest, certs):
    g = tls_guest
    if shutil.which("curl") is None:
        pytest.fail("`curl` is missing: install the Debian package curl (tools/setup.sh test)")
    port = g.host_port(GUEST_TLS_PORT)
    g.exec_start(GUEST_SERVER % {"cert": (certs / "guest.pem").read_text(), "key": (certs / "guest.key").read_text(),
                                 "port": GUEST_TLS_PORT, "count": 2})
    g.read_until(b"LISTENING", timeout=30)
    for _ in range(2):
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", str(certs / "ca.pem"),
                            "--resolve", "guest.test:%d:127.0.0.1" % port, "https://guest.test:%d/" % port],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout == "from tls\n", r.stderr
    out = g.exec_finish(timeout=30)
    assert "DONE" in out and "ERR" not in out, out


ASYNC_SERVER = """
import asyncio, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(%(cert)r.encode(), %(key)r.encode())
served = 0
async def echo(r, w):
    global served
    line = await r.readline()
    w.write(line.upper())
    await w.drain()
    w.close()
    await w.wait_closed()
    served += 1
async def main():
    srv = await asyncio.start_server(echo, '0.0.0.0', %(port)d, ssl=ctx)
    print('LISTENING')
    for _ in range(600):
        if served >= %(count)d:
            break
        await asyncio.sleep_ms(50)
    srv.close()
    await srv.wait_closed()
    print('SERVED', served)
asyncio.run(main())
"""


def test_asyncio_tls_server_several_clients(tls_guest, certs):
    g = tls_guest
    port, clients = g.host_port(GUEST_TLS_PORT), 4
    g.exec_start(ASYNC_SERVER % {"cert": (certs / "guest.pem").read_text(), "key": (certs / "guest.key").read_text(),
                                 "port": GUEST_TLS_PORT, "count": clients})
    g.read_until(b"LISTENING", timeout=30)
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    results = {}

    def client(i):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
                with ctx.wrap_socket(raw, server_hostname="guest.test") as s:
                    s.sendall(b"client %d\n" % i)
                    results[i] = s.recv(100)
        except (OSError, ssl.SSLError) as e:
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: b"CLIENT %d\n" % i for i in range(clients)}
    assert "SERVED %d" % clients in g.exec_finish(timeout=60)


ASYNC_CLIENT = """
import asyncio, ssl
async def get(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=CA)
    r, w = await asyncio.open_connection('10.0.2.2', port, ssl=ctx, server_hostname='localhost')
    w.write(b'GET\\r\\n')
    await w.drain()
    data = await r.read(100)
    w.close()
    await w.wait_closed()
    return data
async def main(port):
    return await asyncio.gather(*[get(port) for _ in range(3)])
print(asyncio.run(main(%d)))
"""


def test_asyncio_tls_client(tls_guest, certs):
    with HostTLSServer(certs) as srv:
        out = tls_guest.exec(ASYNC_CLIENT % srv.port, timeout=60)
    assert out.strip() == repr([b"hello over tls\n"] * 3)


def test_hashes_and_ciphers(virt_guest):
    data = bytes(range(256)) * 9
    for name in ("md5", "sha1", "sha256"):
        assert virt_guest.eval("__import__('hashlib').%s(%r).digest()" % (name, data)) == hashlib.new(name, data).digest()
    key, iv = bytes(range(16)), bytes(range(16, 32))
    out = subprocess.run(["openssl", "enc", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex(), "-nopad"],
                         input=data[:64], capture_output=True, check=True, timeout=30).stdout
    assert virt_guest.eval("__import__('cryptolib').aes(%r, 2, %r).encrypt(%r)" % (key, iv, data[:64])) == out


def _urandom(g, n):
    return g.eval("__import__('os').urandom(%d)" % n)


@pytest.mark.parametrize("rng", [True, False], ids=["virtio-rng", "no-rng"])
def test_urandom_differs_between_boots_and_looks_random(virt_guest_factory, rng):
    samples = []
    for _ in range(2):
        g = virt_guest_factory(net=None, rng=rng)
        samples.append(_urandom(g, 4096))
        info = g.eval("__import__('_virt').rng_info()")
        assert info["device"] == rng and (not rng or info["bytes"] >= 4096), info
        g.stop()
    assert samples[0] != samples[1]
    for s in samples:
        assert len(s) == 4096
        ones = sum(bin(b).count("1") for b in s)  # monobit: 32768 bits, sd 90.5
        assert abs(ones - 16384) < 5 * 90.5, ones
        counts = [0] * 256
        for b in s:
            counts[b] += 1
        chi2 = sum((c - 16) ** 2 / 16 for c in counts)  # 255 degrees of freedom
        assert 150 < chi2 < 380, chi2
