// Host unit test of ports/virt/net/ack_coalesce.c: which ACKs are held, merged
// and sent, and in what order. Built with ASan and UBSan by
// tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack_coalesce.h"
#include "check.h"
#include "tcp_frame.h"

// Frames "sent" through the callback, in order.
static struct {
    int count;
    uint8_t frame[16][ACK_COALESCE_FRAME_MAX + 64];
    size_t len[16];
} sent;

static void on_send(void *ctx, const uint8_t *frame, size_t len) {
    (void)ctx;
    CHECK(sent.count < 16);
    if (sent.count < 16) {
        memcpy(sent.frame[sent.count], frame, len);
        sent.len[sent.count++] = len;
    }
}

static ack_coalesce_t ac;

static void reset(void) {
    ack_coalesce_init(&ac);
    memset(&sent, 0, sizeof(sent));
}

// A frame from 10.0.2.15:sport to 10.0.2.2:80.
static size_t make_tcp(uint8_t *f, uint16_t sport, uint32_t ack, uint8_t flags, size_t payload) {
    tf_spec_t spec = { .src = 15, .dst = 2, .sport = sport, .dport = 80, .seq = 1000, .ack = ack, .flags = flags, .data = payload };
    return tf_make(f, &spec);
}

static uint32_t sent_ack(int i) {
    return tf_get32(sent.frame[i] + 14 + 20 + 8);
}

static bool offer(const uint8_t *f, size_t len) {
    return ack_coalesce_offer(&ac, f, len, on_send, NULL);
}

static void test_newer_ack_replaces(void) {
    uint8_t f[200];
    reset();
    CHECK(offer(f, make_tcp(f, 1000, 100, 0x10, 0)));
    CHECK(offer(f, make_tcp(f, 1000, 200, 0x10, 0)));
    CHECK(offer(f, make_tcp(f, 1000, 300, 0x10, 0)));
    CHECK_EQ_U(sent.count, 0);
    CHECK_EQ_U(ac.merged, 2);
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, 1);
    CHECK_EQ_U(sent_ack(0), 300);
    CHECK_EQ_U(ac.count, 0);
    // Sequence numbers wrap.
    reset();
    CHECK(offer(f, make_tcp(f, 1000, 0xfffffff0u, 0x10, 0)));
    CHECK(offer(f, make_tcp(f, 1000, 0x10, 0x10, 0)));
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, 1);
    CHECK_EQ_U(sent_ack(0), 0x10);
}

static void test_duplicate_acks_all_leave(void) {
    uint8_t f[200];
    reset();
    for (int i = 0; i < 3; ++i) {
        CHECK(offer(f, make_tcp(f, 1000, 500, 0x10, 0)));
    }
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, 3);
    CHECK_EQ_U(ac.merged, 0);
    // An older ACK (reordered) does not replace a newer one either.
    reset();
    CHECK(offer(f, make_tcp(f, 1000, 500, 0x10, 0)));
    CHECK(offer(f, make_tcp(f, 1000, 400, 0x10, 0)));
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, 2);
    CHECK_EQ_U(sent_ack(0), 500);
    CHECK_EQ_U(sent_ack(1), 400);
}

static void test_other_segments_keep_order(void) {
    uint8_t f[2000];
    reset();
    CHECK(offer(f, make_tcp(f, 1000, 100, 0x10, 0)));
    CHECK(offer(f, make_tcp(f, 2000, 100, 0x10, 0))); // another connection
    // Data on the first connection: its held ACK goes first, the other stays.
    CHECK(!offer(f, make_tcp(f, 1000, 150, 0x18, 1000)));
    CHECK_EQ_U(sent.count, 1);
    CHECK_EQ_U(sent_ack(0), 100);
    CHECK_EQ_U(ac.count, 1);
    // FIN, SYN, RST and ECN-marked ACKs are never held.
    static const uint8_t flags[] = { 0x11, 0x12, 0x14, 0x50, 0x90 };
    for (size_t i = 0; i < sizeof(flags); ++i) {
        CHECK(!offer(f, make_tcp(f, 3000, 100, flags[i], 0)));
    }
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, 2);
}

static void test_slots_full_sends_oldest(void) {
    uint8_t f[200];
    reset();
    for (int i = 0; i < ACK_COALESCE_SLOTS + 2; ++i) {
        CHECK(offer(f, make_tcp(f, 1000 + i, 100, 0x10, 0)));
    }
    CHECK_EQ_U(sent.count, 2);
    CHECK_EQ_U(sent.frame[0][14 + 20 + 1], 1000 & 0xff);
    CHECK_EQ_U(sent.frame[1][14 + 20 + 1], 1001 & 0xff);
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, ACK_COALESCE_SLOTS + 2);
}

static void test_not_tcp_or_malformed_passes(void) {
    uint8_t f[200];
    reset();
    size_t len = make_tcp(f, 1000, 100, 0x10, 0);
    f[12] = 0x86, f[13] = 0xdd; // IPv6 ethertype
    CHECK(!offer(f, len));
    len = make_tcp(f, 1000, 100, 0x10, 0);
    f[14 + 9] = 17; // UDP
    CHECK(!offer(f, len));
    len = make_tcp(f, 1000, 100, 0x10, 0);
    CHECK(!offer(f, len - 1)); // shorter than the IPv4 total length
    CHECK(!offer(f, 20));
    len = make_tcp(f, 1000, 100, 0x10, 0);
    f[14 + 20 + 12] = 15 << 4; // TCP header longer than the packet
    CHECK(!offer(f, len));
    len = make_tcp(f, 1000, 100, 0x10, 0);
    f[14 + 6] = 0x20; // a fragment
    CHECK(!offer(f, len));
    len = make_tcp(f, 1000, 100, 0x10, 0);
    f[14] = 0x4f; // IPv4 options to 60 bytes: total length now too short
    CHECK(!offer(f, len));
    CHECK_EQ_U(ac.count, 0);
    CHECK_EQ_U(sent.count, 0);
}

// A pure ACK handed over with bytes behind its IP packet (Ethernet padding,
// or a length larger than the packet) is held as the packet alone: the copy
// is sized from its IP header, never past the slot.
static void test_padded_ack_held_by_ip_length(void) {
    uint8_t f[400];
    reset();
    size_t len = make_tcp(f, 1000, 100, 0x10, 0);
    memset(f + len, 0xee, sizeof(f) - len);
    CHECK(offer(f, sizeof(f))); // 400 bytes offered, 54 of them the ACK
    size_t len2 = make_tcp(f, 1000, 200, 0x10, 0);
    CHECK(offer(f, len2 + 300)); // replaces it, also sized from the header
    ack_coalesce_flush(&ac, on_send, NULL);
    CHECK_EQ_U(sent.count, 1);
    CHECK_EQ_U(sent.len[0], len);
    CHECK_EQ_U(sent_ack(0), 200);
}

static const test_case_t cases[] = {
    { "newer_ack_replaces", test_newer_ack_replaces },
    { "duplicate_acks_all_leave", test_duplicate_acks_all_leave },
    { "other_segments_keep_order", test_other_segments_keep_order },
    { "slots_full_sends_oldest", test_slots_full_sends_oldest },
    { "not_tcp_or_malformed_passes", test_not_tcp_or_malformed_passes },
    { "padded_ack_held_by_ip_length", test_padded_ack_held_by_ip_length },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
