// Receive segment merging (LRO): consecutive in-order TCP segments of one
// connection that arrive in one batch are handed to lwIP as one segment.
//
// lwIP's cost per segment (input path, one pbuf each, and modlwip handing
// Python one pbuf per read) dominates a bulk receive under emulation; a
// merged segment pays it once. Only plain data segments are merged: IPv4
// without options, unfragmented, TCP flags ACK or ACK|PSH, the same TCP
// header length, sequence numbers following on, and a valid checksum (a
// segment with a bad one is passed on alone, for lwIP to drop and count).
// The merged segment carries the newest ACK number, window and PSH, a new
// IPv4 length and header checksum, and a TCP checksum built from the sums
// of its parts.
//
// Pure ACKs (IPv4 without options, a 20-byte TCP header, flags ACK alone, no
// payload, valid checksums) of one connection in one batch are merged too:
// one that acknowledges more with the same sequence number makes the one
// before it redundant, so lwIP sees only the newest. A sender clocked by a
// peer that acknowledges every segment (slirp does) otherwise pays lwIP's
// input path for each. Duplicate ACKs (the same acknowledgement number) are
// never merged: they drive fast retransmit.
//
// Frames only, no dependency on lwIP: tests/host/rx_merge_test.c drives it.
#ifndef MICROPY_INCLUDED_VIRT_RX_MERGE_H
#define MICROPY_INCLUDED_VIRT_RX_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _rx_merge_t {
    uint8_t *buf;        // the merged frame being built (the caller's), or NULL
    size_t cap;
    size_t len;          // Ethernet frame bytes in buf
    size_t hdr_len;      // Ethernet + IPv4 + TCP header bytes
    uint32_t next_seq;   // sequence number the next segment must carry
    uint32_t data_sum;   // one's complement sum of the payload so far
    uint16_t count;      // segments merged into buf
} rx_merge_t;

// Whether a frame could start or extend a merge (checksum included); on
// true, *data_sum is its payload's one's complement sum.
bool rx_merge_candidate(const uint8_t *frame, size_t len, uint32_t *data_sum);

// Whether the candidate `frame` continues what `m` holds and fits in it.
bool rx_merge_follows(const rx_merge_t *m, const uint8_t *frame, size_t len);

// Starts a merge in buf (cap bytes) with a candidate frame.
void rx_merge_start(rx_merge_t *m, uint8_t *buf, size_t cap, const uint8_t *frame, size_t len, uint32_t data_sum);

// Appends a frame for which rx_merge_follows was true.
void rx_merge_append(rx_merge_t *m, const uint8_t *frame, size_t len, uint32_t data_sum);

// Completes the headers of the merged frame (lengths, checksums) and
// returns its length; m is empty afterwards (buf NULL).
size_t rx_merge_finish(rx_merge_t *m);

// Bytes of a mergeable pure ACK: Ethernet, IPv4 and TCP headers.
#define RX_MERGE_ACK_LEN (14 + 20 + 20)

// Whether a frame is a pure ACK that can be merged (checksums included).
bool rx_merge_pure_ack(const uint8_t *frame, size_t len);

// Whether pure ACK `frame` makes the earlier pure ACK `held` redundant: the
// same connection and sequence number, a later acknowledgement number.
bool rx_merge_ack_supersedes(const uint8_t *held, const uint8_t *frame);

#endif // MICROPY_INCLUDED_VIRT_RX_MERGE_H
