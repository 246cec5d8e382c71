# A small HTTP server on port 8080, written with vnet. `make APP=examples/http_server run`,
# then on the host:
#   curl http://127.0.0.1:8080/
#
# hostfwd: tcp 8080
import sys

import vnet

PORT = 8080
PAGE = """<!DOCTYPE html>
<html><head><title>MicroPython on QEMU virt</title></head>
<body><h1>Hello from MicroPython on QEMU virt</h1>
<p>Served by vnet over virtio-net: request %d, MAC %s, %s.</p></body></html>
"""

iface = vnet.Interface()
dev = vnet.Net()
listener = iface.listener_tcp4(PORT)
print("http_server: listening on http://%s:%d/" % listener.addr())


def request(conn):
    """The request line; the headers are read and dropped."""
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(512)
        if not chunk or len(data) > 8192:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def respond(conn, status, body, ctype="text/html; charset=utf-8"):
    body = body.encode()
    conn.write(b"HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (status.encode(), ctype.encode(), len(body)))
    conn.write(body)


served = 0
while True:
    conn, addr = listener.accept()
    try:
        line = request(conn)
        method, path = (line.split(" ") + ["", ""])[:2]
        if method != "GET":
            respond(conn, "405 Method Not Allowed", "only GET\n", "text/plain")
        elif path == "/":
            served += 1
            mac = ":".join("%02x" % b for b in dev.config().mac)
            stats = dev.stats()
            respond(conn, "200 OK", PAGE % (served, mac, "%d frames in, %d out" % (stats["rx_packets"], stats["tx_packets"])))
        else:
            respond(conn, "404 Not Found", "no such page: %s\n" % path, "text/plain")
        print("http_server: %s:%d %s" % (addr[0], addr[1], line))
    except OSError as e:
        print("http_server:", e)
    conn.close()
