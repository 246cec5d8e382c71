// The CPU's timer (ARM's generic timer: virtual counter and timer; RISC-V's
// time counter with the SBI or CLINT compare). One compare register serves two
// users: the soft-timer queue and the sleep/idle wake-up. It is always armed
// for the earlier of the two, and re-armed from the interrupt.
#include "py/mphal.h"
#include "shared/runtime/softtimer.h"

#include "cpu.h"
#include "irq.h"
#include "timer.h"

static uint32_t timer_freq;
static uint64_t timer_armed_at = UINT64_MAX;    // compare value in force
static uint64_t timer_softtimer_at = UINT64_MAX; // next soft-timer expiry

static uint64_t counter_from_us(uint64_t us) {
    return us * timer_freq / 1000000;
}

// Arm the compare for `deadline` (counter ticks) unless an earlier one is set.
static void timer_arm(uint64_t deadline) {
    uint32_t state = cpu_irq_save();
    if (deadline < timer_armed_at) {
        timer_armed_at = deadline;
        cpu_timer_set_compare(deadline);
        cpu_timer_enable(true);
    }
    cpu_irq_restore(state);
}

static void timer_irq_handler(void *arg) {
    (void)arg;
    cpu_timer_enable(false);
    timer_armed_at = UINT64_MAX;
    uint64_t now = cpu_counter();
    if (now >= timer_softtimer_at) {
        timer_softtimer_at = UINT64_MAX;
        soft_timer_handler(); // re-schedules itself through soft_timer_schedule_at_ms
    } else if (timer_softtimer_at != UINT64_MAX) {
        timer_arm(timer_softtimer_at);
    }
}

void timer_init(void) {
    timer_freq = cpu_counter_freq();
    cpu_timer_enable(false);
    #ifdef CPU_TIMER_IRQ
    virt_irq_enable(CPU_TIMER_IRQ, timer_irq_handler, NULL); // a GIC private interrupt
    #else
    cpu_timer_irq_enable(timer_irq_handler, NULL); // the CPU's own (RISC-V)
    #endif
}

uint64_t timer_ticks_us64(void) {
    // Split to avoid overflowing 64 bits for a counter that has run for years.
    uint64_t c = cpu_counter();
    return c / timer_freq * 1000000 + (c % timer_freq) * 1000000 / timer_freq;
}

uint32_t timer_ticks_ms(void) {
    return (uint32_t)(timer_ticks_us64() / 1000);
}

void timer_wake_in_us(uint64_t us) {
    timer_arm(cpu_counter() + counter_from_us(us));
}

// Soft-timer port hooks (shared/runtime/softtimer.h).
uint32_t soft_timer_get_ms(void) {
    return timer_ticks_ms();
}

void soft_timer_schedule_at_ms(uint32_t ticks_ms) {
    int32_t ms = soft_timer_ticks_diff(ticks_ms, timer_ticks_ms());
    if (ms < 0) {
        ms = 0;
    }
    // Counter value at the start of that millisecond, so the handler sees it expired.
    uint64_t at = counter_from_us((timer_ticks_us64() / 1000 + (uint64_t)ms) * 1000);
    uint32_t state = cpu_irq_save();
    timer_softtimer_at = at;
    cpu_irq_restore(state);
    timer_arm(at);
}
