// Hardware abstraction for the QEMU "virt" port.
#ifndef MICROPY_INCLUDED_VIRT_MPHALPORT_H
#define MICROPY_INCLUDED_VIRT_MPHALPORT_H

#include <stdint.h>

#include "shared/runtime/interrupt_char.h"
#include "cpu.h"
#include "timer.h"

static inline mp_uint_t mp_hal_ticks_ms(void) {
    return timer_ticks_ms();
}

static inline mp_uint_t mp_hal_ticks_us(void) {
    return (mp_uint_t)timer_ticks_us64();
}

static inline mp_uint_t mp_hal_ticks_cpu(void) {
    return (mp_uint_t)cpu_counter();
}

static inline uint32_t mp_hal_irq_save(void) {
    return cpu_irq_save();
}

static inline void mp_hal_irq_restore(uint32_t state) {
    cpu_irq_restore(state);
}

#define mp_hal_quiet_timing_enter() mp_hal_irq_save()
#define mp_hal_quiet_timing_exit(irq_state) mp_hal_irq_restore(irq_state)

void mp_hal_wait_for_event(int timeout_ms);

#endif // MICROPY_INCLUDED_VIRT_MPHALPORT_H
