// lwIP's core for host tests (tests/test_lwip_host.py): TCP over IPv4 with
// no netif, no OS; LWIP_RAND is the test's to set. The port's own
// tcp_port_range.h comes in unless STOCK_PORT_RANGE (lwIP's default) is set.
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_ARP 0
#define LWIP_ETHERNET 0
#define LWIP_IPV6 0
#define LWIP_UDP 0
#define LWIP_ICMP 0
#define LWIP_RAW 0
#define LWIP_IGMP 0
#define LWIP_DHCP 0
#define LWIP_DNS 0
#define LWIP_ACD 0
#define LWIP_AUTOIP 0
#define LWIP_STATS 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE 65536
#define MEMP_NUM_TCP_PCB 8

extern unsigned int test_lwip_rand;
#define LWIP_RAND() (test_lwip_rand)
#ifndef STOCK_PORT_RANGE
#include "tcp_port_range.h"
#endif
