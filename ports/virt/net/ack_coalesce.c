// Pure TCP ACKs held during an RX batch; see ack_coalesce.h.
#include <string.h>

#include "ack_coalesce.h"

#define ETH_HLEN (14)
#define ETH_TYPE_IPV4 (0x0800)
#define IP_PROTO_TCP (6)
#define TCP_FLAG_ACK (0x10)
#define TCP_FLAGS_MASK (0xff) // CWR ECE URG ACK PSH RST SYN FIN

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Where a frame's IPv4 and TCP headers are, if it is an unfragmented IPv4
// TCP segment with consistent lengths.
typedef struct {
    const uint8_t *ip;
    const uint8_t *tcp;
    size_t frame_len; // Ethernet header + the IP total length: what is copied
    bool pure_ack;
} tcp_frame_t;

static bool parse(const uint8_t *frame, size_t len, tcp_frame_t *t) {
    if (len < ETH_HLEN + 20 + 20 || (frame[12] << 8 | frame[13]) != ETH_TYPE_IPV4) {
        return false;
    }
    const uint8_t *ip = frame + ETH_HLEN;
    size_t ihl = (ip[0] & 0x0f) * 4;
    size_t tot = ip[2] << 8 | ip[3];
    if ((ip[0] >> 4) != 4 || ip[9] != IP_PROTO_TCP || ihl < 20 || ((ip[6] & 0x3f) | ip[7]) != 0
        || tot < ihl + 20 || ETH_HLEN + tot > len) {
        return false;
    }
    const uint8_t *tcp = ip + ihl;
    size_t doff = (tcp[12] >> 4) * 4;
    if (doff < 20 || ihl + doff > tot) {
        return false;
    }
    t->ip = ip;
    t->tcp = tcp;
    t->frame_len = ETH_HLEN + tot; // not len: bytes past the IP packet (padding) are not the ACK's
    t->pure_ack = tot == ihl + doff && (tcp[13] & TCP_FLAGS_MASK) == TCP_FLAG_ACK
        && ETH_HLEN + tot <= ACK_COALESCE_FRAME_MAX;
    return true;
}

// Same connection and direction: addresses and ports.
static bool same_flow(const tcp_frame_t *a, const tcp_frame_t *b) {
    return !memcmp(a->ip + 12, b->ip + 12, 8) && !memcmp(a->tcp, b->tcp, 4);
}

static void send_slot(ack_coalesce_t *ac, int i, ack_coalesce_send_t send, void *ctx) {
    send(ctx, ac->slot[i].frame, ac->slot[i].len);
    ac->count--;
    memmove(&ac->slot[i], &ac->slot[i + 1], (ac->count - i) * sizeof(ac->slot[0]));
}

// Copy a pure ACK (t.frame_len <= ACK_COALESCE_FRAME_MAX) into slot i.
static void store(ack_coalesce_t *ac, int i, const uint8_t *frame, const tcp_frame_t *t) {
    ac->slot[i].len = (uint16_t)t->frame_len;
    memcpy(ac->slot[i].frame, frame, t->frame_len);
}

static void hold(ack_coalesce_t *ac, const uint8_t *frame, const tcp_frame_t *t, ack_coalesce_send_t send, void *ctx) {
    if (ac->count == ACK_COALESCE_SLOTS) {
        send_slot(ac, 0, send, ctx);
    }
    store(ac, ac->count, frame, t);
    ac->count++;
}

void ack_coalesce_init(ack_coalesce_t *ac) {
    ac->count = 0;
    ac->merged = 0;
}

bool ack_coalesce_offer(ack_coalesce_t *ac, const uint8_t *frame, size_t len, ack_coalesce_send_t send, void *ctx) {
    tcp_frame_t t;
    if (!parse(frame, len, &t)) {
        return false;
    }
    for (int i = 0; i < ac->count; ++i) {
        tcp_frame_t h;
        parse(ac->slot[i].frame, ac->slot[i].len, &h);
        if (!same_flow(&t, &h)) {
            continue;
        }
        // The newer ACK replaces the held one only if it acknowledges more
        // (sequence arithmetic); otherwise both must reach the peer.
        if (t.pure_ack && (int32_t)(be32(t.tcp + 8) - be32(h.tcp + 8)) > 0) {
            store(ac, i, frame, &t);
            ac->merged++;
            return true;
        }
        send_slot(ac, i, send, ctx);
        break;
    }
    if (!t.pure_ack) {
        return false;
    }
    hold(ac, frame, &t, send, ctx);
    return true;
}

void ack_coalesce_flush(ack_coalesce_t *ac, ack_coalesce_send_t send, void *ctx) {
    while (ac->count) {
        send_slot(ac, 0, send, ctx);
    }
}
