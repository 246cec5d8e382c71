// Host tests of ports/virt/net/ip_csum.c: TCP/UDP checksums over IPv4 and IPv6
// packets, as the checksum offload and the loopback path use them, checked
// against the receiver's rule (the whole sum, pseudo-header included, is
// 0xffff) and against packets that must be left alone.
#include "check.h"
#include "inet_csum.h"
#include "ip_csum.h"

// An IPv4 or IPv6 packet with a TCP or UDP segment of `payload` bytes.
static size_t make_packet(uint8_t *p, int version, uint8_t proto, size_t payload) {
    size_t hl = version == 4 ? 20 : 40;
    size_t l4 = (proto == IP_CSUM_PROTO_TCP ? 20 : 8) + payload;
    memset(p, 0, hl + l4);
    if (version == 4) {
        p[0] = 0x45;
        p[2] = (uint8_t)((hl + l4) >> 8);
        p[3] = (uint8_t)(hl + l4);
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = proto;
        memcpy(p + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
    } else {
        p[0] = 0x60;
        p[4] = (uint8_t)(l4 >> 8);
        p[5] = (uint8_t)l4;
        p[6] = proto;
        p[7] = 64;
        memcpy(p + 8, "\xfe\x80\0\0\0\0\0\0\x50\x54\0\xff\xfe\x12\x34\x56", 16);
        memcpy(p + 24, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    }
    uint8_t *s = p + hl;
    s[0] = 0x30, s[1] = 0x39, s[2] = 0x00, s[3] = 0x50;
    if (proto == IP_CSUM_PROTO_TCP) {
        s[12] = 5 << 4;
        s[13] = 0x18;
    } else {
        s[4] = (uint8_t)(l4 >> 8);
        s[5] = (uint8_t)l4;
    }
    for (size_t i = 0; i < payload; ++i) {
        s[(proto == IP_CSUM_PROTO_TCP ? 20 : 8) + i] = (uint8_t)(i * 7 + 3);
    }
    return hl + l4;
}

// The receiver's check: pseudo-header + segment sums to 0xffff.
static bool verifies(const uint8_t *p, size_t len) {
    ip_csum_l4_t l4;
    if (!ip_csum_parse(p, len, &l4)) {
        return false;
    }
    return inet_csum_fold(inet_csum_add(l4.pseudo, p + l4.l4_off, l4.l4_len)) == 0xffff;
}

static void test_fill_verifies(void) {
    static uint8_t p[2000];
    const int versions[] = { 4, 6 };
    const uint8_t protos[] = { IP_CSUM_PROTO_TCP, IP_CSUM_PROTO_UDP };
    for (int v = 0; v < 2; ++v) {
        for (int k = 0; k < 2; ++k) {
            for (size_t payload = 0; payload < 1400; payload += 97) {
                size_t len = make_packet(p, versions[v], protos[k], payload);
                ip_csum_l4_t l4;
                CHECK(ip_csum_parse(p, len, &l4));
                CHECK_EQ_U(l4.proto, protos[k]);
                CHECK_EQ_U(l4.l4_off, versions[v] == 4 ? 20 : 40);
                CHECK(!verifies(p, len) || payload == 0);
                ip_csum_fill(p, &l4);
                CHECK(verifies(p, len));
                // Offload: the pseudo-header sum, then what a device does
                // (sum from the segment start into the field) gives the same.
                uint8_t field[2] = { p[l4.l4_off + l4.csum_off], p[l4.l4_off + l4.csum_off + 1] };
                ip_csum_set_pseudo(p, &l4);
                uint16_t dev = (uint16_t)~inet_csum_fold(inet_csum_add(0, p + l4.l4_off, l4.l4_len));
                if (dev == 0 && protos[k] == IP_CSUM_PROTO_UDP) {
                    dev = 0xffff;
                }
                CHECK_EQ_U(dev, (unsigned)(field[0] << 8 | field[1]));
                // Padding behind the packet is not summed.
                memset(p + len, 0xee, 10);
                CHECK_EQ_U(ip_csum_packet_len(p, len + 10), len);
            }
        }
    }
}

// UDP's checksum 0 means "none": a sum that comes out 0 is sent as 0xffff.
static void test_udp_zero_is_ffff(void) {
    uint8_t p[64];
    size_t len = make_packet(p, 4, IP_CSUM_PROTO_UDP, 2);
    ip_csum_l4_t l4;
    CHECK(ip_csum_parse(p, len, &l4));
    // Choose the two payload bytes so that the complement comes out 0.
    p[l4.l4_off + 8] = 0;
    p[l4.l4_off + 9] = 0;
    p[l4.l4_off + 6] = p[l4.l4_off + 7] = 0;
    uint16_t partial = inet_csum_fold(inet_csum_add(l4.pseudo, p + l4.l4_off, l4.l4_len));
    uint16_t need = (uint16_t)(0xffff - partial);
    p[l4.l4_off + 8] = need >> 8;
    p[l4.l4_off + 9] = need & 0xff;
    ip_csum_fill(p, &l4);
    CHECK_EQ_U(p[l4.l4_off + 6] << 8 | p[l4.l4_off + 7], 0xffff);
    CHECK(verifies(p, len));
}

static void test_left_alone(void) {
    uint8_t p[128];
    ip_csum_l4_t l4;
    size_t len = make_packet(p, 4, IP_CSUM_PROTO_TCP, 10);
    CHECK(!ip_csum_parse(p, len - 1, &l4)); // total length past the end
    p[6] = 0x20; // MF: a fragment
    CHECK(!ip_csum_parse(p, len, &l4));
    p[6] = 0x40;
    p[9] = 1; // ICMP
    CHECK(!ip_csum_parse(p, len, &l4));
    p[9] = IP_CSUM_PROTO_TCP;
    p[0] = 0x44; // IHL 16
    CHECK(!ip_csum_parse(p, len, &l4));
    len = make_packet(p, 4, IP_CSUM_PROTO_TCP, 0);
    p[3] = 20 + 19; // a TCP header cut short
    CHECK(!ip_csum_parse(p, len, &l4));
    len = make_packet(p, 6, IP_CSUM_PROTO_UDP, 10);
    p[6] = 44; // behind a fragment header
    CHECK(!ip_csum_parse(p, len, &l4));
    p[6] = IP_CSUM_PROTO_UDP;
    CHECK(!ip_csum_parse(p, len - 1, &l4));
    CHECK(!ip_csum_parse(p, 39, &l4));
    p[0] = 0x50; // version 5
    CHECK(!ip_csum_parse(p, len, &l4));
    CHECK_EQ_U(ip_csum_packet_len(p, len), len);
    CHECK(!ip_csum_parse(p, 0, &l4));
}

// A device's partial checksum (NEEDS_CSUM) completed over the IP packet in
// an Ethernet frame: padding behind the packet is not summed, UDP's 0 goes
// out as 0xffff, offsets that do not fit leave the frame alone.
static void test_finish_partial(void) {
    static uint8_t f[2000];
    const int versions[] = { 4, 6 };
    const uint8_t protos[] = { IP_CSUM_PROTO_TCP, IP_CSUM_PROTO_UDP };
    for (int v = 0; v < 2; ++v) {
        for (int k = 0; k < 2; ++k) {
            memset(f, 0, sizeof(f));
            f[12] = versions[v] == 4 ? 0x08 : 0x86;
            f[13] = versions[v] == 4 ? 0x00 : 0xdd;
            size_t len = 14 + make_packet(f + 14, versions[v], protos[k], 5);
            ip_csum_l4_t l4;
            CHECK(ip_csum_parse(f + 14, len - 14, &l4));
            ip_csum_set_pseudo(f + 14, &l4); // what a host with offload sends
            size_t padded = len < 60 ? 60 : len + 7;
            memset(f + len, 0xa5, padded - len);
            CHECK(ip_csum_finish_partial(f, padded, 14 + l4.l4_off, l4.csum_off));
            CHECK(verifies(f + 14, len - 14));
        }
    }
    // Offsets past the packet: refused, nothing written.
    size_t len = 14 + make_packet(f + 14, 4, IP_CSUM_PROTO_TCP, 0);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t copy[100];
    memcpy(copy, f, len);
    CHECK(!ip_csum_finish_partial(f, len, len, 0));
    CHECK(!ip_csum_finish_partial(f, len, 34, len));
    CHECK(!ip_csum_finish_partial(f, len, 34, 0xffff));
    CHECK(!ip_csum_finish_partial(f, len + 20, 34 + 19, 0)); // inside the padding
    CHECK(!memcmp(copy, f, len));
    CHECK(!ip_csum_finish_partial(f, 10, 9, 0));
}

static const test_case_t cases[] = {
    { "fill_verifies", test_fill_verifies },
    { "udp_zero_is_ffff", test_udp_zero_is_ffff },
    { "left_alone", test_left_alone },
    { "finish_partial", test_finish_partial },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
