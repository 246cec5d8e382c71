// Console I/O, delays and the idle wait for the QEMU "virt" port.
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "extmod/misc.h"

#include "cpu.h"
#include "network_lan.h"
#include "rtc.h"
#include "timer.h"
#include "uart.h"
#include "virt_entropy.h"
#include "virt_wait.h"

// Sleep in WFI until an interrupt, or until timeout_ms has passed (-1: none).
// IRQs are masked across the check-then-wait so a wake-up cannot slip between.
void mp_hal_wait_for_event(int timeout_ms) {
    // network_lan_poll runs just before this (MICROPY_INTERNAL_EVENT_HOOK):
    // what it received may be what the caller waits for.
    if (network_lan_take_worked() || timeout_ms == 0) {
        return;
    }
    if (timeout_ms > 0) {
        timer_wake_in_us((uint64_t)timeout_ms * 1000);
    }
    uint32_t state = cpu_irq_save();
    if (uart_rx_available() == 0 && MP_STATE_THREAD(mp_pending_exception) == MP_OBJ_NULL
        && !network_lan_pending() // runs even while the scheduler is locked
        #if MICROPY_ENABLE_SCHEDULER
        && MP_STATE_VM(sched_state) != MP_SCHED_PENDING
        #endif
        ) {
        cpu_wfi();
    }
    cpu_irq_restore(state); // the pending interrupt is taken here
}

void mp_hal_delay_us(mp_uint_t us) {
    uint64_t end = timer_ticks_us64() + us;
    for (;;) {
        uint64_t now = timer_ticks_us64();
        if (now >= end) {
            break;
        }
        if (end - now >= 1000) {
            timer_wake_in_us(end - now);
            uint32_t state = cpu_irq_save();
            cpu_wfi();
            cpu_irq_restore(state);
        }
    }
}

void mp_hal_delay_ms(mp_uint_t ms) {
    uint64_t end = timer_ticks_us64() + (uint64_t)ms * 1000;
    for (;;) {
        uint64_t now = timer_ticks_us64();
        if (now >= end) {
            break;
        }
        // Runs scheduled callbacks and raises a pending KeyboardInterrupt.
        mp_event_wait_ms((end - now + 999) / 1000);
    }
}

uint64_t mp_hal_time_ns(void) {
    static uint64_t rtc_offset_us;
    if (rtc_offset_us == 0) {
        rtc_offset_us = (uint64_t)rtc_seconds() * 1000000 - timer_ticks_us64();
    }
    return (rtc_offset_us + timer_ticks_us64()) * 1000;
}

uint32_t mp_hal_random_seed(void) {
    uint32_t seed;
    virt_entropy_read((uint8_t *)&seed, sizeof(seed));
    return seed;
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && uart_rx_available()) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}

int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        int c = uart_rx_char();
        if (c >= 0) {
            return c;
        }
        mp_event_wait_indefinite();
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    uart_tx_strn(str, len);
    return len;
}

uint64_t virt_time_us(void) {
    return timer_ticks_us64();
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    uint64_t deadline = timer_ticks_us64() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        uint32_t state = cpu_irq_save();
        if (done(arg)) {
            cpu_irq_restore(state);
            return true;
        }
        uint64_t now = timer_ticks_us64();
        if (now >= deadline) {
            cpu_irq_restore(state);
            return false;
        }
        timer_wake_in_us(deadline - now);
        cpu_wfi();
        cpu_irq_restore(state); // the device's interrupt is taken here
    }
}
