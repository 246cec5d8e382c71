// Time base from the CPU's generic timer: monotonic ticks, wake-ups for
// sleeping in WFI, and the soft-timer hook (machine.Timer, network polling).
#ifndef MICROPY_INCLUDED_VIRT_TIMER_H
#define MICROPY_INCLUDED_VIRT_TIMER_H

#include <stdint.h>

void timer_init(void);
uint64_t timer_ticks_us64(void);
uint32_t timer_ticks_ms(void);
// Make sure a timer interrupt arrives no later than `us` from now.
void timer_wake_in_us(uint64_t us);

#endif // MICROPY_INCLUDED_VIRT_TIMER_H
