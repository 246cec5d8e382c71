// Waiting for a device: sleep in WFI until a condition holds (checked with
// interrupts masked, so its interrupt cannot slip in between) or a timeout.
// The port implements it in mphalport.c; host tests drive a fake device here.
#ifndef MICROPY_INCLUDED_VIRT_VIRT_WAIT_H
#define MICROPY_INCLUDED_VIRT_VIRT_WAIT_H

#include <stdbool.h>
#include <stdint.h>

// true once done(arg) is true; false if timeout_ms passed first.
bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms);
// Microseconds from a monotonic clock, for bounded register polls.
uint64_t virt_time_us(void);

#endif // MICROPY_INCLUDED_VIRT_VIRT_WAIT_H
