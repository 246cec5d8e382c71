// Fewer TCP ACKs while a batch of received frames is processed.
//
// lwIP acknowledges every second segment at once (RFC 1122 4.2.3.2) and sends
// a window update as the application reads. When one device interrupt brings
// a batch of segments, all but the last of those pure ACKs are out of date
// before they leave: this holds pure ACKs (IPv4 TCP, flags exactly ACK, no
// payload) per connection during the batch and sends each connection's
// newest one when the batch ends, as a receiver with LRO/GRO would. ACKs
// that do not advance (duplicate ACKs, which drive the peer's fast
// retransmit) are never merged away, and a held ACK leaves before any other
// segment of its connection, so the order on the wire is kept.
//
// Frames only, no dependency on lwIP: tests/host/ack_coalesce_test.c drives it.
#ifndef MICROPY_INCLUDED_VIRT_ACK_COALESCE_H
#define MICROPY_INCLUDED_VIRT_ACK_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACK_COALESCE_SLOTS (4)
#define ACK_COALESCE_FRAME_MAX (14 + 60 + 60) // Ethernet, IPv4 and TCP headers at most

typedef void (*ack_coalesce_send_t)(void *ctx, const uint8_t *frame, size_t len);

typedef struct _ack_coalesce_t {
    uint8_t count;
    struct {
        uint16_t len;
        uint8_t frame[ACK_COALESCE_FRAME_MAX];
    } slot[ACK_COALESCE_SLOTS]; // oldest first
    uint32_t merged; // ACKs that never left: a newer one replaced them
} ack_coalesce_t;

void ack_coalesce_init(ack_coalesce_t *ac);

// A frame about to be sent during a batch. true: it was a pure ACK and is
// held (the caller must not send it). false: send it now; any held ACK of
// its connection has just been sent through `send`.
bool ack_coalesce_offer(ack_coalesce_t *ac, const uint8_t *frame, size_t len, ack_coalesce_send_t send, void *ctx);

// The batch is over: send what is held, oldest first.
void ack_coalesce_flush(ack_coalesce_t *ac, ack_coalesce_send_t send, void *ctx);

#endif // MICROPY_INCLUDED_VIRT_ACK_COALESCE_H
