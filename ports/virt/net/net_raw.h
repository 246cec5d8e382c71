// Raw Ethernet frames for Python (the vnet package): in raw mode received
// frames go to a queue that Python drains instead of to lwIP.
#ifndef MICROPY_INCLUDED_VIRT_NET_RAW_H
#define MICROPY_INCLUDED_VIRT_NET_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_RAW_QUEUE_LEN (64)

bool net_raw_enabled(void);
void net_raw_set_enabled(bool enabled);
// From the NIC interrupt: queue a frame; false (and nothing queued) if full.
bool net_raw_push(const uint8_t *frame, size_t len);
// The oldest queued frame copied into buf: its length, or -1 if none.
int net_raw_pop(uint8_t *buf, size_t size);
// Back to the stack, queue emptied, no callback (soft reset).
void net_raw_reset(void);

#endif // MICROPY_INCLUDED_VIRT_NET_RAW_H
