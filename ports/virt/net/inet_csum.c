// One's complement sums; see inet_csum.h.
#include <string.h>

#include "inet_csum.h"

static uint32_t load32(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

// Every received byte goes through here: take 32 bits at a time in the
// CPU's own byte order and turn the folded sum round at the end (the sum
// does not depend on the order words are added in).
uint32_t inet_csum_add(uint32_t sum, const uint8_t *p, size_t len) {
    uint64_t acc = 0;
    for (; len >= 16; p += 16, len -= 16) {
        acc += (uint64_t)load32(p) + load32(p + 4) + load32(p + 8) + load32(p + 12);
    }
    for (; len >= 4; p += 4, len -= 4) {
        acc += load32(p);
    }
    uint8_t tail[4] = { 0 };
    memcpy(tail, p, len); // the last 0-3 bytes, zero-padded
    acc += load32(tail);
    while (acc >> 16) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    uint16_t native = (uint16_t)acc;
    uint8_t b[2];
    memcpy(b, &native, 2);
    return sum + (uint32_t)(b[0] << 8 | b[1]);
}

uint16_t inet_csum_fold(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}
