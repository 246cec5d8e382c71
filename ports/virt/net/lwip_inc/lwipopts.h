// lwIP options for the QEMU "virt" port.
//
// MicroPython's shared defaults (lwipopts_common.h) size lwIP for
// microcontrollers: MSS 800, an 8-segment window and an 8000-byte heap,
// which caps TCP well below 1 MB/s. This guest has megabytes of RAM, so TCP
// gets a full-size MSS and a 64 KiB window each way, and the pools are sized
// so such a window can be in flight (and queued unread) on several sockets.
#ifndef MICROPY_INCLUDED_VIRT_LWIPOPTS_H
#define MICROPY_INCLUDED_VIRT_LWIPOPTS_H

#include <stdint.h>

// Ethernet-sized segments: MTU 1500 - 40 bytes of IPv4 and TCP headers.
#define TCP_MSS                         (1460)
// 44 segments: the largest window below 64 KiB without window scaling.
#define TCP_WND                         (44 * TCP_MSS)
#define TCP_SND_BUF                     (44 * TCP_MSS)
// modlwip hands Python one segment per read and reports each to lwIP: with
// lwIP's default threshold (4 segments) a reader draining a full window
// sends eleven window updates in a row. A quarter window is enough to keep
// the peer sending.
#define TCP_WND_UPDATE_THRESHOLD        (TCP_WND / 4)
#define TCP_SND_QUEUELEN                (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_OVERSIZE                    (TCP_MSS)
// lwIP's heap (PBUF_RAM: send buffers, merged receive segments) is a region
// sized at boot as its pools are (net/lwip_memory.c). mem.c reads MEM_SIZE
// at run time everywhere but in one #if (mem.h: a 32-bit mem_size_t above
// 64000), where the variable counts as 0 and so the expression as the cap.
#include <stddef.h>
extern size_t virt_lwip_heap_size;
extern void *virt_lwip_heap;
#define MEM_SIZE                        (virt_lwip_heap_size ? virt_lwip_heap_size : 8 * 1024 * 1024)
#define LWIP_RAM_HEAP_POINTER           virt_lwip_heap
// lwIP's pools (PCBs, segments, RX pbufs, timeouts) are no compile-time
// arrays: their blocks come from a region sized at boot from RAM
// (net/lwip_memory.c), so the MEMP_NUM_* counts and PBUF_POOL_SIZE are unused.
// The TCP PCB pool has a limit there, the connection limit.
#define MEMP_MEM_MALLOC                 1
#define PBUF_POOL_BUFSIZE               (1536)
#define IP_REASS_MAX_PBUFS              (64)
#define ARP_TABLE_SIZE                  (16)
#define TCP_DEFAULT_LISTEN_BACKLOG      (16)

#define LWIP_NETIF_EXT_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK        1
#define LWIP_NETIF_STATUS_CALLBACK      1
#define LWIP_IPV4                       1
// IPv6 with stateless autoconfiguration (slirp sends router advertisements).
#define LWIP_IPV6                       1
#define LWIP_IPV6_AUTOCONFIG            1
#define LWIP_IPV6_MLD                   1
#define LWIP_IPV6_DHCP6                 0
#define LWIP_IPV6_NUM_ADDRESSES         3
#define LWIP_ND6_RDNSS_MAX_DNS_SERVERS  0
#define LWIP_ICMP                       1
// 127.0.0.1 inside the guest: packets queue on the loopback netif and are
// delivered when the port polls it (network_lan.c).
#define LWIP_NETIF_LOOPBACK             1
#define LWIP_HAVE_LOOPIF                1
#define LWIP_BROADCAST_PING             1
#define LWIP_DNS_SECURE                 (LWIP_DNS_SECURE_RAND_XID | LWIP_DNS_SECURE_NO_MULTIPLE_OUTSTANDING | LWIP_DNS_SECURE_RAND_SRC_PORT)
#define DNS_MAX_SERVERS                 (2)

#define LWIP_RAND()                     virt_lwip_rand()
uint32_t virt_lwip_rand(void);
#include "tcp_port_range.h"

// Looped-back packets get their TCP checksums while checksum offload is on
// (network_lan.c), and a new connection's SYN ends a TIME_WAIT one of the
// same addresses and ports (net/tcp_time_wait.h), before lwIP looks.
struct pbuf;
struct netif;
int virt_lwip_ip_input_hook(struct pbuf *p, struct netif *inp);
#define LWIP_HOOK_IP4_INPUT(p, inp)     virt_lwip_ip_input_hook(p, inp)
#define LWIP_HOOK_IP6_INPUT(p, inp)     virt_lwip_ip_input_hook(p, inp)

// A SYN to a listening socket past the connection limit gets an RST at once
// (net/lwip_memory.c); other segments pass at the cost of one compare.
struct tcp_pcb;
struct tcp_hdr;
int8_t virt_lwip_tcp_listen_hook(struct tcp_pcb *lpcb, const struct tcp_hdr *hdr, const struct pbuf *p);
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
    ((pcb)->state == LISTEN ? virt_lwip_tcp_listen_hook((pcb), (hdr), (p)) : ERR_OK)

// Shared MicroPython settings (NO_SYS, DHCP, DNS, per-netif checksum control).
#include "extmod/lwip-include/lwipopts_common.h"

#if __SIZEOF_POINTER__ == 8
// 64-bit: pbufs and heap blocks aligned for pointers; IPv6 reassembly keeps
// its list node (a pointer and two u16) outside the 8-byte fragment header,
// which it does not fit (lwIP's IPV6_FRAG_COPYHEADER).
#undef MEM_ALIGNMENT // lwipopts_common.h's 4
#define MEM_ALIGNMENT                   (8)
#define IPV6_FRAG_COPYHEADER            (1)
#endif

// The mDNS responder is not built on this port.
#undef LWIP_MDNS_RESPONDER
#define LWIP_MDNS_RESPONDER             0

#endif // MICROPY_INCLUDED_VIRT_LWIPOPTS_H
