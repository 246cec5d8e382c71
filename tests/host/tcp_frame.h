// Ethernet + IPv4 + TCP frames for the host tests, with checksums computed
// here byte by byte (independently of the port's inet_csum.c).
#ifndef VIRT_HOST_TEST_TCP_FRAME_H
#define VIRT_HOST_TEST_TCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void tf_put32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static inline uint32_t tf_get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t tf_sum(uint32_t sum, const uint8_t *p, size_t len) {
    for (; len > 1; p += 2, len -= 2) {
        sum += (uint32_t)p[0] << 8 | p[1];
    }
    if (len) {
        sum += (uint32_t)p[0] << 8;
    }
    return sum;
}

static inline uint16_t tf_fold(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

typedef struct {
    uint8_t src, dst;          // last bytes of 10.0.2.x
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    size_t opt;                // bytes of NOP options
    size_t data;               // payload bytes: (seq - 1000 + i) * 7
} tf_spec_t;

// Builds the frame in f; returns its length.
static inline size_t tf_make(uint8_t *f, const tf_spec_t *s) {
    size_t thl = 20 + s->opt, tot = 20 + thl + s->data;
    memset(f, 0, 14 + tot);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = tot >> 8;
    ip[3] = tot & 0xff;
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10, ip[13] = 0, ip[14] = 2, ip[15] = s->src;
    ip[16] = 10, ip[17] = 0, ip[18] = 2, ip[19] = s->dst;
    uint16_t c = ~tf_fold(tf_sum(0, ip, 20));
    ip[10] = c >> 8, ip[11] = c & 0xff;
    uint8_t *tcp = ip + 20;
    tcp[0] = s->sport >> 8, tcp[1] = s->sport & 0xff;
    tcp[2] = s->dport >> 8, tcp[3] = s->dport & 0xff;
    tf_put32(tcp + 4, s->seq);
    tf_put32(tcp + 8, s->ack);
    tcp[12] = (thl / 4) << 4;
    tcp[13] = s->flags;
    tcp[14] = 0x20;
    memset(tcp + 20, 1, s->opt);
    for (size_t i = 0; i < s->data; ++i) {
        tcp[thl + i] = (uint8_t)((s->seq - 1000 + i) * 7);
    }
    c = ~tf_fold(tf_sum(0, ip + 12, 8) + 6 + (tot - 20) + tf_sum(0, tcp, tot - 20));
    tcp[16] = c >> 8, tcp[17] = c & 0xff;
    return 14 + tot;
}

// Both checksums of a frame tf_make could have built are right.
static inline bool tf_checksums_ok(const uint8_t *f, size_t len) {
    const uint8_t *ip = f + 14;
    size_t tot = ip[2] << 8 | ip[3];
    if (14 + tot != len || tf_fold(tf_sum(0, ip, 20)) != 0xffff) {
        return false;
    }
    return tf_fold(tf_sum(0, ip + 12, 8) + 6 + (tot - 20) + tf_sum(0, ip + 20, tot - 20)) == 0xffff;
}

#endif // VIRT_HOST_TEST_TCP_FRAME_H
