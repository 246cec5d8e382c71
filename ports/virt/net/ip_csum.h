// TCP and UDP checksums of IP packets the port handles itself: the pseudo-
// header sum a device finishes (checksum offload with a tap backend), a
// whole checksum in software (packets lwIP loops back to the guest's own
// addresses, which no device sees), and the IP packet's end inside a frame
// (a device's partial checksum covers the packet, not Ethernet padding).
// IPv4 and IPv6; packets only, no lwIP: tests/host/ip_csum_test.c drives it.
#ifndef MICROPY_INCLUDED_VIRT_IP_CSUM_H
#define MICROPY_INCLUDED_VIRT_IP_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP_CSUM_PROTO_TCP (6)
#define IP_CSUM_PROTO_UDP (17)
#define IP_CSUM_TCP_OFFSET (16) // of the checksum field in the TCP header
#define IP_CSUM_UDP_OFFSET (6)
#define IP_CSUM_ETH_HLEN (14)

// Where an unfragmented TCP or UDP segment is in an IP packet.
typedef struct _ip_csum_l4_t {
    uint8_t proto;        // IP_CSUM_PROTO_*
    size_t l4_off;        // from the start of the IP header
    size_t l4_len;        // header and payload
    uint16_t csum_off;    // the checksum field, from l4_off
    uint32_t pseudo;      // the pseudo-header sum, not folded
} ip_csum_l4_t;

// Parse an IPv4 or IPv6 packet (by its version) of len bytes. false unless
// it is TCP or UDP (IPv6: as the first next header), not a fragment, with
// lengths that fit len.
bool ip_csum_parse(const uint8_t *ip, size_t len, ip_csum_l4_t *l4);
// Put the pseudo-header sum in the checksum field, for a device to finish.
void ip_csum_set_pseudo(uint8_t *ip, const ip_csum_l4_t *l4);
// Compute the whole checksum; a UDP result of 0 goes out as 0xffff (RFC 768).
void ip_csum_fill(uint8_t *ip, const ip_csum_l4_t *l4);
// The length of the IP packet that starts the payload of len bytes (IPv4
// total length, IPv6 payload + 40), or len if it is not a well-formed one.
size_t ip_csum_packet_len(const uint8_t *ip, size_t len);
// Complete a partial checksum in an Ethernet frame of len bytes (a device's
// NEEDS_CSUM, VirtIO 1.2 5.1.6.2): sum from `start` to the end of the IP
// packet (not Ethernet padding behind it) into the field at start + off;
// a UDP result of 0 becomes 0xffff. false, frame untouched, if the offsets
// do not fit.
bool ip_csum_finish_partial(uint8_t *frame, size_t len, size_t start, size_t off);

#endif // MICROPY_INCLUDED_VIRT_IP_CSUM_H
