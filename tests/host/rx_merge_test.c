// Host unit test of ports/virt/rx_merge.c: which TCP segments merge, and
// that the merged frame has the right lengths and checksums. Built with
// ASan and UBSan by tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx_merge.h"
#include "check.h"

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len) {
    for (; len > 1; p += 2, len -= 2) {
        sum += (uint32_t)p[0] << 8 | p[1];
    }
    if (len) {
        sum += (uint32_t)p[0] << 8;
    }
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Both checksums of an IPv4 TCP frame are right.
static bool checksums_ok(const uint8_t *f, size_t len) {
    const uint8_t *ip = f + 14;
    size_t tot = ip[2] << 8 | ip[3];
    if (14 + tot != len || fold(sum16(0, ip, 20)) != 0xffff) {
        return false;
    }
    uint32_t pseudo = sum16(0, ip + 12, 8) + 6 + (tot - 20);
    return fold(pseudo + sum16(0, ip + 20, tot - 20)) == 0xffff;
}

// A TCP segment from 10.0.2.2:80 to 10.0.2.15:port carrying `data` bytes of
// a repeating pattern that starts at offset seq - 1000.
static size_t make_seg(uint8_t *f, uint16_t port, uint32_t seq, uint32_t ack, uint8_t flags, size_t data, size_t opt) {
    size_t thl = 20 + opt, tot = 20 + thl + data;
    memset(f, 0, 14 + tot);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = tot >> 8;
    ip[3] = tot & 0xff;
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = 10, ip[13] = 0, ip[14] = 2, ip[15] = 2;
    ip[16] = 10, ip[17] = 0, ip[18] = 2, ip[19] = 15;
    uint16_t s = ~fold(sum16(0, ip, 20));
    ip[10] = s >> 8, ip[11] = s & 0xff;
    uint8_t *tcp = ip + 20;
    tcp[1] = 80;
    tcp[2] = port >> 8, tcp[3] = port & 0xff;
    tcp[4] = seq >> 24, tcp[5] = seq >> 16, tcp[6] = seq >> 8, tcp[7] = seq;
    tcp[8] = ack >> 24, tcp[9] = ack >> 16, tcp[10] = ack >> 8, tcp[11] = ack;
    tcp[12] = (thl / 4) << 4;
    tcp[13] = flags;
    tcp[14] = 0x20;
    for (size_t i = 0; i < opt; ++i) {
        tcp[20 + i] = 1; // NOP options
    }
    for (size_t i = 0; i < data; ++i) {
        tcp[thl + i] = (uint8_t)((seq - 1000 + i) * 7);
    }
    uint32_t pseudo = sum16(0, ip + 12, 8) + 6 + (tot - 20);
    s = ~fold(pseudo + sum16(0, tcp, tot - 20));
    tcp[16] = s >> 8, tcp[17] = s & 0xff;
    return 14 + tot;
}

static uint8_t buf[70000];
static rx_merge_t m;

static void test_merges_in_order_segments(void) {
    uint8_t f[2000];
    uint32_t ds;
    size_t len = make_seg(f, 5002, 1000, 77, 0x10, 1460, 0);
    CHECK(rx_merge_candidate(f, len, &ds));
    CHECK(!rx_merge_follows(&m, f, len)); // nothing held yet
    rx_merge_start(&m, buf, sizeof(buf), f, len, ds);
    for (int i = 1; i < 5; ++i) {
        len = make_seg(f, 5002, 1000 + i * 1460, 77 + i, i == 4 ? 0x18 : 0x10, i == 4 ? 300 : 1460, 0);
        CHECK(rx_merge_candidate(f, len, &ds));
        CHECK(rx_merge_follows(&m, f, len));
        rx_merge_append(&m, f, len, ds);
    }
    CHECK_EQ_U(m.count, 5);
    size_t out = rx_merge_finish(&m);
    CHECK_EQ_U(out, 14 + 40 + 4 * 1460 + 300);
    CHECK(checksums_ok(buf, out));
    const uint8_t *tcp = buf + 34;
    CHECK_EQ_U(be32(tcp + 4), 1000);        // first sequence number
    CHECK_EQ_U(be32(tcp + 8), 81);          // newest ACK
    CHECK_EQ_U(tcp[13], 0x18);              // PSH from the last
    for (size_t i = 0; i < 4 * 1460 + 300; ++i) {
        if (tcp[20 + i] != (uint8_t)(i * 7)) {
            CHECK(false);
            break;
        }
    }
    CHECK(m.buf == NULL);
}

static void test_what_does_not_merge(void) {
    uint8_t f[2000], g[2000];
    uint32_t ds;
    size_t len = make_seg(f, 5002, 1000, 1, 0x10, 1460, 0);
    CHECK(rx_merge_candidate(f, len, &ds));
    rx_merge_start(&m, buf, sizeof(buf), f, len, ds);
    size_t n;
    n = make_seg(g, 5002, 1000 + 1461, 1, 0x10, 1460, 0); // a gap
    CHECK(rx_merge_candidate(g, n, &ds) && !rx_merge_follows(&m, g, n));
    n = make_seg(g, 5002, 1000, 1, 0x10, 1460, 0); // a retransmission
    CHECK(!rx_merge_follows(&m, g, n));
    n = make_seg(g, 5003, 2460, 1, 0x10, 1460, 0); // another connection
    CHECK(!rx_merge_follows(&m, g, n));
    n = make_seg(g, 5002, 2460, 1, 0x10, 1460, 4); // other header length
    CHECK(rx_merge_candidate(g, n, &ds) && !rx_merge_follows(&m, g, n));
    static const uint8_t flags[] = { 0x11, 0x12, 0x14, 0x30, 0x50, 0x00 }; // FIN SYN RST URG ECE none
    for (size_t i = 0; i < sizeof(flags); ++i) {
        n = make_seg(g, 5002, 2460, 1, flags[i], 100, 0);
        CHECK(!rx_merge_candidate(g, n, &ds));
    }
    n = make_seg(g, 5002, 2460, 1, 0x10, 0, 0); // no payload: a pure ACK
    CHECK(!rx_merge_candidate(g, n, &ds));
    n = make_seg(g, 5002, 2460, 1, 0x10, 100, 0);
    g[60] ^= 1; // bad TCP checksum
    CHECK(!rx_merge_candidate(g, n, &ds));
    n = make_seg(g, 5002, 2460, 1, 0x10, 100, 0);
    g[14 + 8] ^= 1; // bad IPv4 header checksum
    CHECK(!rx_merge_candidate(g, n, &ds));
    n = make_seg(g, 5002, 2460, 1, 0x10, 100, 0);
    CHECK(!rx_merge_candidate(g, n - 1, &ds)); // truncated
    g[14] = 0x46; // IPv4 options
    CHECK(!rx_merge_candidate(g, n, &ds));
    n = make_seg(g, 5002, 2460, 1, 0x10, 100, 0);
    g[14 + 6] = 0x20; // more fragments
    CHECK(!rx_merge_candidate(g, n, &ds));
    // An odd-length payload ends the run (the sums would not line up).
    rx_merge_finish(&m);
    len = make_seg(f, 5002, 1000, 1, 0x10, 1001, 0);
    CHECK(rx_merge_candidate(f, len, &ds));
    rx_merge_start(&m, buf, sizeof(buf), f, len, ds);
    n = make_seg(g, 5002, 2001, 1, 0x10, 100, 0);
    CHECK(rx_merge_candidate(g, n, &ds) && !rx_merge_follows(&m, g, n));
    size_t out = rx_merge_finish(&m);
    CHECK_EQ_U(out, len);
    CHECK(!memcmp(buf, f, len)); // one segment goes on unchanged
}

static void test_capacity(void) {
    uint8_t f[2000];
    uint32_t ds;
    size_t len = make_seg(f, 5002, 1000, 1, 0x10, 1460, 0);
    CHECK(rx_merge_candidate(f, len, &ds));
    rx_merge_start(&m, buf, 14 + 40 + 3 * 1460, f, len, ds);
    int merged = 1;
    for (int i = 1; i < 10; ++i) {
        len = make_seg(f, 5002, 1000 + i * 1460, 1, 0x10, 1460, 0);
        CHECK(rx_merge_candidate(f, len, &ds));
        if (!rx_merge_follows(&m, f, len)) {
            break;
        }
        rx_merge_append(&m, f, len, ds);
        merged++;
    }
    CHECK_EQ_U(merged, 3);
    CHECK(checksums_ok(buf, rx_merge_finish(&m)));
    // Never beyond an IPv4 total length of 65535.
    len = make_seg(f, 5002, 1000, 1, 0x10, 1460, 0);
    CHECK(rx_merge_candidate(f, len, &ds));
    rx_merge_start(&m, buf, sizeof(buf), f, len, ds);
    for (int i = 1; i < 60; ++i) {
        len = make_seg(f, 5002, 1000 + i * 1460, 1, 0x10, 1460, 0);
        CHECK(rx_merge_candidate(f, len, &ds));
        if (!rx_merge_follows(&m, f, len)) {
            break;
        }
        rx_merge_append(&m, f, len, ds);
    }
    CHECK(m.len - 14 <= 0xffff);
    CHECK(checksums_ok(buf, rx_merge_finish(&m)));
}

static const test_case_t cases[] = {
    { "merges_in_order_segments", test_merges_in_order_segments },
    { "what_does_not_merge", test_what_does_not_merge },
    { "capacity", test_capacity },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
