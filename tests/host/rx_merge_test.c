// Host unit test of ports/virt/net/rx_merge.c: which TCP segments merge, and
// that the merged frame has the right lengths and checksums. Built with
// ASan and UBSan by tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inet_csum.h"
#include "rx_merge.h"
#include "check.h"
#include "tcp_frame.h"

// A segment from 10.0.2.2:80 to 10.0.2.15:port.
static size_t make_seg(uint8_t *f, uint16_t port, uint32_t seq, uint32_t ack, uint8_t flags, size_t data, size_t opt) {
    tf_spec_t spec = { .src = 2, .dst = 15, .sport = 80, .dport = port, .seq = seq, .ack = ack, .flags = flags, .opt = opt, .data = data };
    return tf_make(f, &spec);
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
    CHECK(tf_checksums_ok(buf, out));
    const uint8_t *tcp = buf + 34;
    CHECK_EQ_U(tf_get32(tcp + 4), 1000);        // first sequence number
    CHECK_EQ_U(tf_get32(tcp + 8), 81);          // newest ACK
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

// Offers up to `count` in-order full segments to a merge into buf[:cap];
// returns how many it took.
static int merge_full_segments(size_t cap, int count) {
    uint8_t f[2000];
    uint32_t ds;
    size_t len = make_seg(f, 5002, 1000, 1, 0x10, 1460, 0);
    CHECK(rx_merge_candidate(f, len, &ds));
    rx_merge_start(&m, buf, cap, f, len, ds);
    int merged = 1;
    for (int i = 1; i < count; ++i) {
        len = make_seg(f, 5002, 1000 + i * 1460, 1, 0x10, 1460, 0);
        CHECK(rx_merge_candidate(f, len, &ds));
        if (!rx_merge_follows(&m, f, len)) {
            break;
        }
        rx_merge_append(&m, f, len, ds);
        merged++;
    }
    return merged;
}

static void test_capacity(void) {
    CHECK_EQ_U(merge_full_segments(14 + 40 + 3 * 1460, 10), 3);
    CHECK(tf_checksums_ok(buf, rx_merge_finish(&m)));
    // Never beyond an IPv4 total length of 65535.
    merge_full_segments(sizeof(buf), 60);
    CHECK(m.len - 14 <= 0xffff);
    CHECK(tf_checksums_ok(buf, rx_merge_finish(&m)));
}

static void test_pure_acks(void) {
    uint8_t held[2000], f[2000];
    size_t n = make_seg(held, 5002, 500, 3000, 0x10, 0, 0);
    CHECK_EQ_U(n, RX_MERGE_ACK_LEN);
    CHECK(rx_merge_pure_ack(held, n));
    CHECK(rx_merge_pure_ack(held, 60)); // Ethernet padding after the packet
    n = make_seg(f, 5002, 500, 4460, 0x10, 0, 0);
    CHECK(rx_merge_pure_ack(f, n) && rx_merge_ack_supersedes(held, f)); // acknowledges more
    n = make_seg(f, 5002, 500, 3000, 0x10, 0, 0);
    CHECK(rx_merge_pure_ack(f, n) && !rx_merge_ack_supersedes(held, f)); // a duplicate ACK
    n = make_seg(f, 5002, 500, 2000, 0x10, 0, 0);
    CHECK(!rx_merge_ack_supersedes(held, f)); // an older one
    n = make_seg(f, 5002, 501, 4460, 0x10, 0, 0);
    CHECK(!rx_merge_ack_supersedes(held, f)); // another sequence number
    n = make_seg(f, 5003, 500, 4460, 0x10, 0, 0);
    CHECK(!rx_merge_ack_supersedes(held, f)); // another connection
    // Across the wrap of the sequence space.
    make_seg(held, 5002, 500, 0xfffffff0u, 0x10, 0, 0);
    make_seg(f, 5002, 500, 0x10, 0x10, 0, 0);
    CHECK(rx_merge_ack_supersedes(held, f));
    CHECK(!rx_merge_ack_supersedes(f, held));
    // What is not a mergeable pure ACK.
    static const uint8_t flags[] = { 0x18, 0x11, 0x12, 0x14, 0x50, 0x00 }; // PSH FIN SYN RST ECE none
    for (size_t i = 0; i < sizeof(flags); ++i) {
        n = make_seg(f, 5002, 500, 4460, flags[i], 0, 0);
        CHECK(!rx_merge_pure_ack(f, n));
    }
    n = make_seg(f, 5002, 500, 4460, 0x10, 1, 0); // a byte of data
    CHECK(!rx_merge_pure_ack(f, n));
    n = make_seg(f, 5002, 500, 4460, 0x10, 0, 4); // TCP options
    CHECK(!rx_merge_pure_ack(f, n));
    n = make_seg(f, 5002, 500, 4460, 0x10, 0, 0);
    CHECK(!rx_merge_pure_ack(f, n - 1)); // truncated
    f[14 + 20 + 16] ^= 1; // bad TCP checksum
    CHECK(!rx_merge_pure_ack(f, n));
    n = make_seg(f, 5002, 500, 4460, 0x10, 0, 0);
    f[14 + 8] ^= 1; // bad IPv4 header checksum
    CHECK(!rx_merge_pure_ack(f, n));
    n = make_seg(f, 5002, 500, 4460, 0x10, 0, 0);
    f[12] = 0x86; // not IPv4
    CHECK(!rx_merge_pure_ack(f, n));
}

// The port's word-at-a-time sum against the byte-by-byte reference, for
// every length and alignment.
static void test_inet_csum_matches_reference(void) {
    static uint8_t data[3000];
    rnd_seed(1071);
    for (size_t i = 0; i < sizeof(data); ++i) {
        data[i] = (uint8_t)rnd();
    }
    memset(data + 100, 0xff, 64); // long carries
    for (size_t off = 0; off < 8; ++off) {
        for (size_t len = 0; len < 200; ++len) {
            CHECK_EQ_U(inet_csum_fold(inet_csum_add(7, data + off, len)), tf_fold(tf_sum(7, data + off, len)));
        }
        size_t len = sizeof(data) - off;
        CHECK_EQ_U(inet_csum_fold(inet_csum_add(0xfffff, data + off, len)), tf_fold(tf_sum(0xfffff, data + off, len)));
    }
}

static const test_case_t cases[] = {
    { "merges_in_order_segments", test_merges_in_order_segments },
    { "what_does_not_merge", test_what_does_not_merge },
    { "capacity", test_capacity },
    { "pure_acks", test_pure_acks },
    { "inet_csum_matches_reference", test_inet_csum_matches_reference },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
