"""What test_net_tap.py (IPv4) and test_net_tap6.py (IPv6) share for bulk TCP
between the guest and Linux over the tap: Linux's end (PEER, Python source that
each test file completes into a script run inside the namespace), the guest's
end (GUEST_BULK, guest_bulk) and the checks of a transfer.

A transfer is BULK_BYTES each way. The guest sends blocks of a fixed pattern
(expected_guest_stream is its SHA-256), Linux random bytes whose SHA-256 it
prints; each end prints the SHA-256 of what it received.
"""

import hashlib
import shutil
import subprocess
import sys

BULK_BYTES = 4 * 1024 * 1024
BULK_BLOCK = 4096

# Linux's end: a packet socket on the tap counts the TCP segments of the
# transfer's port whose checksum is left for someone else to finish
# (TP_STATUS_CSUMNOTREADY: CHECKSUM_PARTIAL in the kernel), per direction:
# from the guest, that is its NEEDS_CSUM header; towards the guest, the kernel
# hands QEMU partial checksums that reach the guest as NEEDS_CSUM. A script
# calls start_sniffer and finish_sniffer (it prints SEGMENTS) around a
# transfer made with serve_bulk or send_bulk and recv_bulk.
PEER = r"""
import hashlib, os, socket, struct, sys, threading, time
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_CSUMNOTREADY, PACKET_OUTGOING = 263, 8, 1 << 3, 4
counts = {"in": 0, "in_partial": 0, "out": 0, "out_partial": 0}
stop = threading.Event()

def tcp_ports(ethertype, data):
    # (source, destination) of an IPv4 or IPv6 TCP segment; () for anything else.
    if ethertype == 0x0800 and len(data) >= 40 and data[9] == 6:
        ihl = (data[0] & 15) * 4
        return struct.unpack("!HH", data[ihl:ihl + 4])
    if ethertype == 0x86DD and len(data) >= 60 and data[6] == 6:
        return struct.unpack("!HH", data[40:44])
    return ()

def sniffer(sniff, port, seconds):
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        try:
            data, anc, _, addr = sniff.recvmsg(128, socket.CMSG_SPACE(20))
        except socket.timeout:
            continue
        if port not in tcp_ports(addr[1], data):
            continue
        status = 0
        for level, kind, value in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                status = struct.unpack_from("I", value)[0]
        way = "out" if addr[2] == PACKET_OUTGOING else "in"
        counts[way] += 1
        counts[way + "_partial"] += bool(status & TP_STATUS_CSUMNOTREADY)

def start_sniffer(ifname, port, seconds):
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))  # ETH_P_ALL: outgoing too
    sniff.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    sniff.bind((ifname, 0))
    sniff.settimeout(0.2)
    t = threading.Thread(target=sniffer, args=(sniff, port, seconds), daemon=True)
    t.start()
    return t

def finish_sniffer(t):
    time.sleep(0.3), stop.set(), t.join(5)
    print("SEGMENTS", counts["in"], counts["in_partial"], counts["out"], counts["out_partial"], flush=True)

def recv_bulk(c, n):
    h, got = hashlib.sha256(), 0
    while got < n:
        d = c.recv(min(65536, n - got))
        if not d:
            break
        h.update(d)
        got += len(d)
    print("RECEIVED", got, h.hexdigest(), flush=True)

def send_bulk(c, n):
    data = os.urandom(n)
    print("SENDING", hashlib.sha256(data).hexdigest(), flush=True)
    c.sendall(data)

def serve_bulk(srv, n, drain_timeout):
    # One connection: n bytes from the guest, n to it, then until it closes.
    c, peer = srv.accept()
    print("PEER", peer[0], flush=True)
    c.settimeout(60)
    recv_bulk(c, n)
    send_bulk(c, n)
    c.settimeout(drain_timeout)
    while c.recv(4096):
        pass
    c.close()
"""

# The guest's end: functions the guest code of a transfer calls on its
# connected socket.
GUEST_BULK = """
import hashlib
def send_bulk(s):
    buf = bytearray((i * 31 + 7) & 0xff for i in range(%(block)d))
    for k in range(%(blocks)d):
        buf[0:4] = k.to_bytes(4, 'big')
        s.write(buf)
    print('SENT')
def recv_bulk(s):
    h = hashlib.sha256()
    rbuf = bytearray(8192)
    mv = memoryview(rbuf)
    got = 0
    while got < %(nbytes)d:
        n = s.readinto(rbuf)
        if not n:
            break
        h.update(mv[:n])
        got += n
    print('RECEIVED', got, ''.join('%%02x' %% b for b in h.digest()))
"""


def guest_bulk(template, **values):
    """Guest code: GUEST_BULK, then template, %-formatted with values."""
    values.update(block=BULK_BLOCK, blocks=BULK_BYTES // BULK_BLOCK, nbytes=BULK_BYTES)
    return (GUEST_BULK + template) % values


def expected_guest_stream():
    h = hashlib.sha256()
    buf = bytearray((i * 31 + 7) & 0xFF for i in range(BULK_BLOCK))
    for k in range(BULK_BYTES // BULK_BLOCK):
        buf[0:4] = k.to_bytes(4, "big")
        h.update(buf)
    return h.hexdigest()


def die_with_parent():
    """A command prefix that kills what it runs (a host-side helper, not QEMU:
    virtmp sees to that) when the test process dies."""
    return ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def start_peer(ns, script, *args):
    """python -c script args... inside the namespace ns, its output piped."""
    return subprocess.Popen(
        ns.exec_cmd(*die_with_parent(), sys.executable, "-c", script, *map(str, args)),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def parse(text):
    """The lines an end printed, as {first word: the other words}."""
    return dict((line.split()[0], line.split()[1:]) for line in text.splitlines() if line.strip())


def check_bulk(label, guest, host, context, seconds):
    """Checks a transfer at both receivers (guest, host: parsed output of each
    end) and that Linux left partial checksums towards the guest (NEEDS_CSUM,
    completed by the guest); prints a summary and returns Linux's segment
    counts: from the guest, with partial checksums, to the guest, partial."""
    assert host.get("RECEIVED") == [str(BULK_BYTES), expected_guest_stream()], context
    assert guest.get("RECEIVED") == [str(BULK_BYTES), host["SENDING"][0]], context
    assert "DONE" in host, context
    seg_in, seg_in_partial, seg_out, seg_out_partial = map(int, host["SEGMENTS"])
    assert seg_out_partial > seg_out // 2, "guest RX without NEEDS_CSUM: %s" % host["SEGMENTS"]
    print("%s: %d bytes each way in %.1fs; segments from/to the guest %d/%d (partial checksums %d/%d)" % (
        label, BULK_BYTES, seconds, seg_in, seg_out, seg_in_partial, seg_out_partial))
    return seg_in, seg_in_partial, seg_out, seg_out_partial
