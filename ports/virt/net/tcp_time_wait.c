// A SYN for a connection in TIME_WAIT; see tcp_time_wait.h.
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

#include "inet_csum.h"
#include "ip_csum.h"
#include "tcp_time_wait.h"

#define IPV6_HLEN (40)

size_t tcp_time_wait_reopened;

static uint16_t be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Whether pcb is the connection of the segment at tcp inside packet ip
// (addresses compared as they are on the wire: lwIP keeps them in network
// order; IPv6 zones are the netif's, as lwIP compares them at input).
static bool same_connection(const struct tcp_pcb *pcb, const uint8_t *ip, const uint8_t *tcp) {
    if (pcb->remote_port != be16(tcp) || pcb->local_port != be16(tcp + 2)) {
        return false;
    }
    #if LWIP_IPV4
    if ((ip[0] >> 4) == 4) {
        return IP_IS_V4(&pcb->local_ip)
               && memcmp(&ip_2_ip4(&pcb->remote_ip)->addr, ip + 12, 4) == 0
               && memcmp(&ip_2_ip4(&pcb->local_ip)->addr, ip + 16, 4) == 0;
    }
    #endif
    #if LWIP_IPV6
    if ((ip[0] >> 4) == 6) {
        return IP_IS_V6(&pcb->local_ip)
               && memcmp(ip_2_ip6(&pcb->remote_ip)->addr, ip + 8, 16) == 0
               && memcmp(ip_2_ip6(&pcb->local_ip)->addr, ip + 24, 16) == 0;
    }
    #endif
    return false;
}

// The TCP flags of a packet's segment, or 0 if it has none in reach. Every
// received packet comes here while connections sit in TIME_WAIT, so it
// only looks: ip_csum_parse checks the lengths of the few that are SYNs.
static uint8_t tcp_flags(const uint8_t *ip, size_t len) {
    size_t off;
    if (len >= 20 && (ip[0] >> 4) == 4 && ip[9] == IP_CSUM_PROTO_TCP) {
        off = (ip[0] & 0x0f) * 4;
    } else if (len >= IPV6_HLEN && (ip[0] >> 4) == 6 && ip[6] == IP_CSUM_PROTO_TCP) {
        off = IPV6_HLEN;
    } else {
        return 0;
    }
    return off + 14 <= len ? ip[off + 13] : 0;
}

void tcp_time_wait_check_syn(const uint8_t *ip, size_t len) {
    if (tcp_tw_pcbs == NULL || (tcp_flags(ip, len) & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN) {
        return; // not a bare SYN: lwIP decides as before
    }
    ip_csum_l4_t l4;
    if (!ip_csum_parse(ip, len, &l4) || l4.proto != IP_CSUM_PROTO_TCP) {
        return;
    }
    const uint8_t *tcp = ip + l4.l4_off;
    if (inet_csum_fold(inet_csum_add(l4.pseudo, tcp, l4.l4_len)) != 0xffff) {
        return; // damaged: lwIP drops it
    }
    uint32_t seqno = be32(tcp + 4);
    for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
        if (same_connection(pcb, ip, tcp)) {
            if (TCP_SEQ_GT(seqno, pcb->rcv_nxt)) {
                tcp_abort(pcb); // in TIME_WAIT: freed, no RST sent
                tcp_time_wait_reopened++;
            }
            return;
        }
    }
}
