// CPU primitives for AArch64 (ARMv8-A, EL1): interrupt masking, wait for
// interrupt, the generic timer's virtual counter, firmware calls, and the
// GICv3 CPU interface's system registers.
#ifndef MICROPY_INCLUDED_VIRT_ARCH_AARCH64_CPU_H
#define MICROPY_INCLUDED_VIRT_ARCH_AARCH64_CPU_H

#include <stdbool.h>
#include <stdint.h>

// Generic timer (virtual timer: PPI 11, i.e. GIC interrupt 27).
#define CPU_TIMER_IRQ (27)
#define CNTV_CTL_ENABLE (1 << 0)
#define CNTV_CTL_IMASK (1 << 1)

// The state is DAIF, whose bits all lie in the low 32.
static inline uint32_t cpu_irq_save(void) {
    uint64_t daif;
    __asm volatile ("mrs %0, daif\n msr daifset, #2" : "=r" (daif) : : "memory");
    return (uint32_t)daif;
}

static inline void cpu_irq_restore(uint32_t state) {
    __asm volatile ("msr daif, %0" : : "r" ((uint64_t)state) : "memory");
}

static inline void cpu_irq_enable(void) {
    __asm volatile ("msr daifclr, #2" : : : "memory");
}

// Wait for an interrupt. WFI wakes on a pending interrupt even while IRQs are
// masked, so callers mask, check for work, then wait: no wake-up is lost.
static inline void cpu_wfi(void) {
    __asm volatile ("dsb sy\n wfi" : : : "memory");
}

static inline uint32_t cpu_counter_freq(void) {
    uint64_t f;
    __asm volatile ("mrs %0, cntfrq_el0" : "=r" (f));
    return (uint32_t)f;
}

static inline uint64_t cpu_counter(void) {
    uint64_t c;
    __asm volatile ("isb\n mrs %0, cntvct_el0" : "=r" (c) : : "memory");
    return c;
}

static inline void cpu_timer_set_compare(uint64_t cval) {
    __asm volatile ("msr cntv_cval_el0, %0\n isb" : : "r" (cval) : "memory");
}

static inline void cpu_timer_set_ctl(uint32_t ctl) {
    __asm volatile ("msr cntv_ctl_el0, %0\n isb" : : "r" ((uint64_t)ctl) : "memory");
}

// Main ID and multiprocessor affinity registers (their low 32 bits).
static inline uint32_t cpu_midr(void) {
    uint64_t v;
    __asm volatile ("mrs %0, midr_el1" : "=r" (v));
    return (uint32_t)v;
}

static inline uint32_t cpu_mpidr(void) {
    uint64_t v;
    __asm volatile ("mrs %0, mpidr_el1" : "=r" (v));
    return (uint32_t)v;
}

// PSCI call through the conduit QEMU's virt machine advertises ("hvc" when
// the guest runs without EL2/EL3; QEMU answers it itself).
static inline uint32_t cpu_psci_call(uint32_t fn, uint32_t a1, uint32_t a2, uint32_t a3) {
    register uint64_t x0 __asm__ ("x0") = fn;
    register uint64_t x1 __asm__ ("x1") = a1;
    register uint64_t x2 __asm__ ("x2") = a2;
    register uint64_t x3 __asm__ ("x3") = a3;
    __asm volatile ("hvc #0" : "+r" (x0), "+r" (x1), "+r" (x2), "+r" (x3) : : "memory");
    return (uint32_t)x0;
}

// GICv3 CPU interface, group 1 (ARM IHI 0069, 12.2). The registers are
// named by encoding: old assemblers do not know their names.
#define CPU_HAS_GICV3_SYSREGS (1)

static inline void cpu_gicv3_init(void) {
    uint64_t sre;
    __asm volatile ("mrs %0, s3_0_c12_c12_5" : "=r" (sre)); // ICC_SRE_EL1
    __asm volatile ("msr s3_0_c12_c12_5, %0\n isb" : : "r" (sre | 1)); // SRE
    __asm volatile ("msr s3_0_c4_c6_0, %0" : : "r" ((uint64_t)0xff)); // ICC_PMR_EL1: all priorities
    __asm volatile ("msr s3_0_c12_c12_3, %0" : : "r" ((uint64_t)0)); // ICC_BPR1_EL1
    __asm volatile ("msr s3_0_c12_c12_7, %0\n isb" : : "r" ((uint64_t)1)); // ICC_IGRPEN1_EL1
}

static inline uint32_t cpu_gicv3_ack(void) {
    uint64_t iar;
    __asm volatile ("mrs %0, s3_0_c12_c12_0" : "=r" (iar) : : "memory"); // ICC_IAR1_EL1
    return (uint32_t)iar;
}

static inline void cpu_gicv3_eoi(uint32_t iar) {
    __asm volatile ("msr s3_0_c12_c12_1, %0\n isb" : : "r" ((uint64_t)iar) : "memory"); // ICC_EOIR1_EL1
}

// The timer on or off, power and IDs, the same on both ARM architectures.
#include "../cpu_arm_common.h"

// Semihosting (HLT #0xF000); see start.S.
uint32_t virt_semihosting_call(uint32_t op, void *arg);

#endif // MICROPY_INCLUDED_VIRT_ARCH_AARCH64_CPU_H
