// TCP receive segment merging; see rx_merge.h.
#include <string.h>

#include "inet_csum.h"
#include "rx_merge.h"

#define ETH_HLEN (14)
#define IP_HLEN (20)
#define IP_PROTO_TCP (6)
#define TCP_FLAG_PSH (0x08)
#define TCP_FLAG_ACK (0x10)

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Pseudo-header sum for a TCP segment of tcp_len bytes.
static uint32_t pseudo_sum(const uint8_t *ip, size_t tcp_len) {
    return inet_csum_add(0, ip + 12, 8) + IP_PROTO_TCP + tcp_len;
}

// The IPv4 header of a TCP frame without IP options or fragmentation, with a
// valid header checksum, or NULL; *tot is its IPv4 total length.
static const uint8_t *ipv4_tcp(const uint8_t *frame, size_t len, size_t *tot) {
    if (len < ETH_HLEN + IP_HLEN + 20 || frame[12] != 0x08 || frame[13] != 0x00) {
        return NULL;
    }
    const uint8_t *ip = frame + ETH_HLEN;
    *tot = ip[2] << 8 | ip[3];
    if (ip[0] != 0x45 || ip[9] != IP_PROTO_TCP || ((ip[6] & 0x3f) | ip[7]) != 0
        || *tot < IP_HLEN + 20 || ETH_HLEN + *tot > len || inet_csum_fold(inet_csum_add(0, ip, IP_HLEN)) != 0xffff) {
        return NULL;
    }
    return ip;
}

bool rx_merge_candidate(const uint8_t *frame, size_t len, uint32_t *data_sum) {
    size_t tot;
    const uint8_t *ip = ipv4_tcp(frame, len, &tot);
    if (ip == NULL) {
        return false;
    }
    const uint8_t *tcp = ip + IP_HLEN;
    size_t thl = (tcp[12] >> 4) * 4;
    uint8_t flags = tcp[13];
    if (thl < 20 || IP_HLEN + thl >= tot || (tcp[12] & 0x0f) != 0
        || (flags != TCP_FLAG_ACK && flags != (TCP_FLAG_ACK | TCP_FLAG_PSH))) {
        return false;
    }
    size_t tcp_len = tot - IP_HLEN;
    uint32_t dsum = inet_csum_add(0, tcp + thl, tcp_len - thl);
    if (inet_csum_fold(pseudo_sum(ip, tcp_len) + inet_csum_add(0, tcp, thl) + dsum) != 0xffff) {
        return false;
    }
    *data_sum = dsum;
    return true;
}

bool rx_merge_pure_ack(const uint8_t *frame, size_t len) {
    // Data segments, which rx_merge_candidate checks next, leave here at their
    // IPv4 length, before any checksum is summed.
    if (len < ETH_HLEN + IP_HLEN + 20 || (frame[ETH_HLEN + 2] << 8 | frame[ETH_HLEN + 3]) != IP_HLEN + 20) {
        return false;
    }
    size_t tot;
    const uint8_t *ip = ipv4_tcp(frame, len, &tot);
    if (ip == NULL) {
        return false;
    }
    const uint8_t *tcp = ip + IP_HLEN;
    return tcp[12] == 0x50 && tcp[13] == TCP_FLAG_ACK // 20-byte header, ACK alone
           && inet_csum_fold(pseudo_sum(ip, 20) + inet_csum_add(0, tcp, 20)) == 0xffff;
}

bool rx_merge_ack_supersedes(const uint8_t *held, const uint8_t *frame) {
    const uint8_t *ip = frame + ETH_HLEN, *hip = held + ETH_HLEN;
    const uint8_t *tcp = ip + IP_HLEN, *htcp = hip + IP_HLEN;
    return memcmp(ip + 12, hip + 12, 8) == 0 && memcmp(tcp, htcp, 4) == 0 // addresses, ports
           && be32(tcp + 4) == be32(htcp + 4)
           && (int32_t)(be32(tcp + 8) - be32(htcp + 8)) > 0;
}

bool rx_merge_follows(const rx_merge_t *m, const uint8_t *frame, size_t len) {
    if (m->buf == NULL) {
        return false;
    }
    const uint8_t *ip = frame + ETH_HLEN, *mip = m->buf + ETH_HLEN;
    const uint8_t *tcp = ip + IP_HLEN, *mtcp = mip + IP_HLEN;
    size_t data = (size_t)(ip[2] << 8 | ip[3]) - IP_HLEN - (tcp[12] >> 4) * 4;
    return memcmp(ip + 12, mip + 12, 8) == 0 && memcmp(tcp, mtcp, 4) == 0 // addresses, ports
           && tcp[12] == mtcp[12] // header length
           && be32(tcp + 4) == m->next_seq
           && ((m->len - m->hdr_len) & 1) == 0 // payload sums add up at even offsets
           && m->len + data <= m->cap && m->len + data - ETH_HLEN <= 0xffff;
}

void rx_merge_start(rx_merge_t *m, uint8_t *buf, size_t cap, const uint8_t *frame, size_t len, uint32_t data_sum) {
    const uint8_t *ip = frame + ETH_HLEN;
    size_t tot = ip[2] << 8 | ip[3];
    size_t thl = (ip[IP_HLEN + 12] >> 4) * 4;
    m->buf = buf;
    m->cap = cap;
    m->len = ETH_HLEN + tot;
    m->hdr_len = ETH_HLEN + IP_HLEN + thl;
    m->next_seq = be32(ip + IP_HLEN + 4) + (uint32_t)(tot - IP_HLEN - thl);
    m->data_sum = data_sum;
    m->count = 1;
    memcpy(buf, frame, m->len);
}

void rx_merge_append(rx_merge_t *m, const uint8_t *frame, size_t len, uint32_t data_sum) {
    const uint8_t *tcp = frame + ETH_HLEN + IP_HLEN;
    uint8_t *mtcp = m->buf + ETH_HLEN + IP_HLEN;
    size_t data = (size_t)(frame[ETH_HLEN + 2] << 8 | frame[ETH_HLEN + 3]) - (m->hdr_len - ETH_HLEN);
    memcpy(m->buf + m->len, frame + m->hdr_len, data);
    m->len += data;
    m->next_seq += data;
    m->data_sum = inet_csum_fold(m->data_sum) + inet_csum_fold(data_sum);
    // The newest acknowledgement, window and push flag; options as the last.
    memcpy(mtcp + 8, tcp + 8, 4);
    mtcp[13] = tcp[13];
    memcpy(mtcp + 14, tcp + 14, 2);
    memcpy(mtcp + 20, tcp + 20, m->hdr_len - ETH_HLEN - IP_HLEN - 20);
    m->count++;
}

size_t rx_merge_finish(rx_merge_t *m) {
    size_t len = m->len;
    if (m->count > 1) {
        uint8_t *ip = m->buf + ETH_HLEN;
        uint8_t *tcp = ip + IP_HLEN;
        size_t tot = len - ETH_HLEN;
        ip[2] = tot >> 8;
        ip[3] = tot & 0xff;
        ip[10] = ip[11] = 0;
        uint16_t ipsum = ~inet_csum_fold(inet_csum_add(0, ip, IP_HLEN));
        ip[10] = ipsum >> 8;
        ip[11] = ipsum & 0xff;
        size_t thl = m->hdr_len - ETH_HLEN - IP_HLEN;
        tcp[16] = tcp[17] = 0;
        uint16_t tsum = ~inet_csum_fold(pseudo_sum(ip, tot - IP_HLEN) + inet_csum_add(0, tcp, thl) + m->data_sum);
        tcp[16] = tsum >> 8;
        tcp[17] = tsum & 0xff;
    }
    m->buf = NULL;
    m->len = 0;
    m->count = 0;
    return len;
}
