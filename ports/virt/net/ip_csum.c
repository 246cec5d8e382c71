// TCP/UDP checksums over IPv4 and IPv6 packets; see ip_csum.h.
#include "inet_csum.h"
#include "ip_csum.h"

#define IPV6_HLEN (40)
#define ETH_TYPE_IPV4 (0x0800)
#define ETH_TYPE_IPV6 (0x86dd)

bool ip_csum_parse(const uint8_t *ip, size_t len, ip_csum_l4_t *l4) {
    if (len < 20) {
        return false;
    }
    uint32_t sum;
    size_t l4_off, l4_len;
    uint8_t proto;
    if ((ip[0] >> 4) == 4) {
        size_t ihl = (ip[0] & 0x0f) * 4;
        size_t tot = ip[2] << 8 | ip[3];
        bool fragment = ((ip[6] & 0x3f) | ip[7]) != 0; // MF set or an offset
        if (ihl < 20 || tot < ihl || tot > len || fragment) {
            return false;
        }
        proto = ip[9];
        l4_off = ihl;
        l4_len = tot - ihl;
        sum = inet_csum_add(0, ip + 12, 8); // source and destination
    } else if ((ip[0] >> 4) == 6 && len >= IPV6_HLEN) {
        size_t payload = ip[4] << 8 | ip[5];
        if (IPV6_HLEN + payload > len) {
            return false;
        }
        proto = ip[6]; // a segment behind extension headers is not ours to touch
        l4_off = IPV6_HLEN;
        l4_len = payload;
        sum = inet_csum_add(0, ip + 8, 32);
    } else {
        return false;
    }
    if (proto == IP_CSUM_PROTO_TCP && l4_len >= 20) {
        l4->csum_off = IP_CSUM_TCP_OFFSET;
    } else if (proto == IP_CSUM_PROTO_UDP && l4_len >= 8) {
        l4->csum_off = IP_CSUM_UDP_OFFSET;
    } else {
        return false;
    }
    // Protocol and upper-layer length: IPv4's 16-bit fields and IPv6's
    // 32-bit ones sum alike (RFC 793, RFC 8200 8.1).
    sum += proto + (uint32_t)(l4_len >> 16) + (uint32_t)(l4_len & 0xffff);
    l4->proto = proto;
    l4->l4_off = l4_off;
    l4->l4_len = l4_len;
    l4->pseudo = sum;
    return true;
}

static void put16(uint8_t *p, uint16_t v) {
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

void ip_csum_set_pseudo(uint8_t *ip, const ip_csum_l4_t *l4) {
    put16(ip + l4->l4_off + l4->csum_off, inet_csum_fold(l4->pseudo));
}

void ip_csum_fill(uint8_t *ip, const ip_csum_l4_t *l4) {
    uint8_t *field = ip + l4->l4_off + l4->csum_off;
    put16(field, 0);
    uint16_t csum = (uint16_t)~inet_csum_fold(inet_csum_add(l4->pseudo, ip + l4->l4_off, l4->l4_len));
    if (csum == 0 && l4->proto == IP_CSUM_PROTO_UDP) {
        csum = 0xffff; // 0 means "no checksum" in UDP
    }
    put16(field, csum);
}

size_t ip_csum_packet_len(const uint8_t *ip, size_t len) {
    if (len >= 20 && (ip[0] >> 4) == 4) {
        size_t tot = ip[2] << 8 | ip[3];
        return tot >= 20 && tot <= len ? tot : len;
    }
    if (len >= IPV6_HLEN && (ip[0] >> 4) == 6) {
        size_t tot = IPV6_HLEN + (ip[4] << 8 | ip[5]);
        return tot <= len ? tot : len;
    }
    return len;
}

bool ip_csum_finish_partial(uint8_t *frame, size_t len, size_t start, size_t off) {
    uint16_t type = len >= IP_CSUM_ETH_HLEN ? (frame[12] << 8 | frame[13]) : 0;
    size_t end = len;
    if (type == ETH_TYPE_IPV4 || type == ETH_TYPE_IPV6) {
        end = IP_CSUM_ETH_HLEN + ip_csum_packet_len(frame + IP_CSUM_ETH_HLEN, len - IP_CSUM_ETH_HLEN);
    }
    if (start >= end || off + 2 > end - start) {
        return false;
    }
    uint8_t *field = frame + start + off;
    uint16_t csum = (uint16_t)~inet_csum_fold(inet_csum_add(0, frame + start, end - start));
    if (csum == 0 && off == IP_CSUM_UDP_OFFSET) {
        csum = 0xffff; // UDP's "no checksum" is 0 (RFC 768)
    }
    put16(field, csum);
    return true;
}
