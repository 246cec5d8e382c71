# TCP echo server on port 7000, written with vnet: every byte a client sends
# comes back. `make APP=examples/tcp_echo run`, then on the host:
#   nc 127.0.0.1 7000
#
# hostfwd: tcp 7000
import vnet

PORT = 7000

iface = vnet.Interface()  # the address from DHCP (or the ip= boot argument)
listener = iface.listener_tcp4(PORT)
print("tcp_echo: listening on %s:%d" % listener.addr())

while True:
    conn, addr = listener.accept()
    print("tcp_echo: connection from %s:%d" % addr)
    try:
        while True:
            data = conn.recv(1024)  # what has arrived (read(n) would wait for n bytes)
            if not data:
                break
            conn.write(data)
    except OSError as e:
        print("tcp_echo:", e)
    conn.close()
    print("tcp_echo: %s:%d closed" % addr)
