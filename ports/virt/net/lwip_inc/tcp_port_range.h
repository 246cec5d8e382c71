// The ephemeral TCP ports lwIP hands out (tcp.c reads these three if
// TCP_LOCAL_PORT_RANGE_START is defined). lwIP 2.2.1's own
// TCP_ENSURE_LOCAL_PORT_RANGE maps LWIP_RAND() onto 0xc000..0xffff; from
// 0xffff, tcp_new_port's 16-bit increment wraps to 0, which it returns, and
// tcp_bind/tcp_connect take port 0 for "no port left": ERR_BUF, so the
// boot's first connect() raised OSError(ENOBUFS), 1 boot in 16384 (seen in
// CI on a TLS test), and later ones took ports 1, 2, ... Starting below the
// end keeps every port in 0xc000..0xfffe. tests/host/tcp_port_test.c runs
// lwIP's own tcp.c on it.
#ifndef VIRT_TCP_PORT_RANGE_H
#define VIRT_TCP_PORT_RANGE_H

#define TCP_LOCAL_PORT_RANGE_START      (0xc000)
#define TCP_LOCAL_PORT_RANGE_END        (0xffff)
#define TCP_ENSURE_LOCAL_PORT_RANGE(port) \
    ((u16_t)(TCP_LOCAL_PORT_RANGE_START + (port) % (TCP_LOCAL_PORT_RANGE_END - TCP_LOCAL_PORT_RANGE_START)))

#endif
