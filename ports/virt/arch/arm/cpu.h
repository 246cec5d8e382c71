// CPU primitives for 32-bit ARM (ARMv7-A): interrupt masking, wait for
// interrupt, the generic timer's virtual counter, and firmware calls.
#ifndef MICROPY_INCLUDED_VIRT_ARCH_ARM_CPU_H
#define MICROPY_INCLUDED_VIRT_ARCH_ARM_CPU_H

#include <stdbool.h>
#include <stdint.h>

// Generic timer (virtual timer: PPI 11, i.e. GIC interrupt 27).
#define CPU_TIMER_IRQ (27)
#define CNTV_CTL_ENABLE (1 << 0)
#define CNTV_CTL_IMASK (1 << 1)

static inline uint32_t cpu_irq_save(void) {
    uint32_t cpsr;
    __asm volatile ("mrs %0, cpsr\n cpsid i" : "=r" (cpsr) : : "memory");
    return cpsr;
}

static inline void cpu_irq_restore(uint32_t state) {
    __asm volatile ("msr cpsr_c, %0" : : "r" (state) : "memory");
}

static inline void cpu_irq_enable(void) {
    __asm volatile ("cpsie i" : : : "memory");
}

// Wait for an interrupt. WFI wakes on a pending interrupt even while IRQs are
// masked, so callers mask, check for work, then wait: no wake-up is lost.
static inline void cpu_wfi(void) {
    __asm volatile ("dsb\n wfi" : : : "memory");
}

static inline uint32_t cpu_counter_freq(void) {
    uint32_t f;
    __asm volatile ("mrc p15, 0, %0, c14, c0, 0" : "=r" (f));
    return f;
}

static inline uint64_t cpu_counter(void) {
    uint32_t lo, hi;
    __asm volatile ("isb\n mrrc p15, 1, %0, %1, c14" : "=r" (lo), "=r" (hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_timer_set_compare(uint64_t cval) {
    __asm volatile ("mcrr p15, 3, %0, %1, c14" : : "r" ((uint32_t)cval), "r" ((uint32_t)(cval >> 32)));
    __asm volatile ("isb");
}

static inline void cpu_timer_set_ctl(uint32_t ctl) {
    __asm volatile ("mcr p15, 0, %0, c14, c3, 1\n isb" : : "r" (ctl) : "memory");
}

// Main ID and multiprocessor affinity registers.
static inline uint32_t cpu_midr(void) {
    uint32_t v;
    __asm volatile ("mrc p15, 0, %0, c0, c0, 0" : "=r" (v));
    return v;
}

static inline uint32_t cpu_mpidr(void) {
    uint32_t v;
    __asm volatile ("mrc p15, 0, %0, c0, c0, 5" : "=r" (v));
    return v;
}

// PSCI call through the conduit QEMU's virt machine advertises ("hvc" when
// the guest runs without EL2/EL3).
static inline uint32_t cpu_psci_call(uint32_t fn, uint32_t a1, uint32_t a2, uint32_t a3) {
    register uint32_t r0 __asm__ ("r0") = fn;
    register uint32_t r1 __asm__ ("r1") = a1;
    register uint32_t r2 __asm__ ("r2") = a2;
    register uint32_t r3 __asm__ ("r3") = a3;
    __asm volatile (".arch_extension virt\n hvc #0" : "+r" (r0) : "r" (r1), "r" (r2), "r" (r3) : "memory");
    return r0;
}

// The timer on or off, power and IDs, the same on both ARM architectures.
#include "../cpu_arm_common.h"

// Semihosting (ARM state, SVC 0x123456); see start.S.
uint32_t virt_semihosting_call(uint32_t op, void *arg);

#endif // MICROPY_INCLUDED_VIRT_ARCH_ARM_CPU_H
