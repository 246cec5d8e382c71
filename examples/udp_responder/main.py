# UDP responder on port 9000, written with vnet: every datagram is answered
# with "ack N: " and the datagram. `make APP=examples/udp_responder run`, then
# on the host:
#   echo hello | nc -u -w1 127.0.0.1 9000
#
# hostfwd: udp 9000
import socket

import vnet

PORT = 9000

iface = vnet.Interface()
# Go's Socket(ctx, "udp4", AF_INET, SOCK_DGRAM, laddr, nil): bound, not connected.
sock = iface.socket("udp4", socket.AF_INET, socket.SOCK_DGRAM, ":%d" % PORT)
print("udp_responder: listening on udp %s:%d" % (iface.nic.link.ipconfig("addr4")[0], PORT))

count = 0
while True:
    data, addr = sock.recvfrom(1500)
    count += 1
    sock.sendto(b"ack %d: " % count + data, addr)
    print("udp_responder: %d bytes from %s:%d" % (len(data), addr[0], addr[1]))
