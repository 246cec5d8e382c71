// CPU primitives for RISC-V (RV32 and RV64): interrupt masking, wait for
// interrupt, the time counter and its timer, firmware calls. The firmware
// runs in S-mode under SBI firmware (OpenSBI, QEMU's default -bios), or in
// M-mode with -bios none when the board says RISCV_MMODE: the same code
// with the other mode's CSRs.
#ifndef MICROPY_INCLUDED_VIRT_ARCH_RISCV_CPU_H
#define MICROPY_INCLUDED_VIRT_ARCH_RISCV_CPU_H

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>
#endif

#ifndef RISCV_MMODE
#define RISCV_MMODE (0)
#endif

// The trap CSRs of our privilege mode, and their bits (RISC-V privileged
// spec, 3.1 and 4.1): the global interrupt enable, and the timer and
// external interrupts' enable bits and cause codes.
#if RISCV_MMODE
#define CSR_XSTATUS mstatus
#define CSR_XIE mie
#define CSR_XTVEC mtvec
#define CSR_XCAUSE mcause
#define CSR_XEPC mepc
#define CSR_XTVAL mtval
#define XSTATUS_XIE (1 << 3)
#define IRQ_TIMER (7)
#define IRQ_EXTERNAL (11)
#else
#define CSR_XSTATUS sstatus
#define CSR_XIE sie
#define CSR_XTVEC stvec
#define CSR_XCAUSE scause
#define CSR_XEPC sepc
#define CSR_XTVAL stval
#define XSTATUS_XIE (1 << 1)
#define IRQ_TIMER (5)
#define IRQ_EXTERNAL (9)
#endif
#define CAUSE_BREAKPOINT (3)

#ifndef __ASSEMBLER__
#define CSR_STR_(name) #name
#define CSR_STR(name) CSR_STR_(name)

#define cpu_csr_read(csr) ({ uintptr_t v_; __asm volatile ("csrr %0, " CSR_STR(csr) : "=r" (v_) : : "memory"); v_; })
#define cpu_csr_set(csr, bits) __asm volatile ("csrs " CSR_STR(csr) ", %0" : : "r" ((uintptr_t)(bits)) : "memory")
#define cpu_csr_clear(csr, bits) __asm volatile ("csrc " CSR_STR(csr) ", %0" : : "r" ((uintptr_t)(bits)) : "memory")

static inline uint32_t cpu_irq_save(void) {
    uintptr_t status;
    __asm volatile ("csrrc %0, " CSR_STR(CSR_XSTATUS) ", %1" : "=r" (status) : "r" ((uintptr_t)XSTATUS_XIE) : "memory");
    return (uint32_t)(status & XSTATUS_XIE);
}

static inline void cpu_irq_restore(uint32_t state) {
    cpu_csr_set(CSR_XSTATUS, state);
}

static inline void cpu_irq_enable(void) {
    cpu_csr_set(CSR_XSTATUS, XSTATUS_XIE);
}

// Wait for an interrupt. WFI wakes on an enabled pending interrupt even while
// the global enable is off, so callers mask, check for work, then wait.
static inline void cpu_wfi(void) {
    __asm volatile ("fence\n wfi" : : : "memory");
}

// The time counter (the "time" CSR, which QEMU implements in both modes)
// and its rate from the device tree (cpu_timer.c).
uint32_t cpu_counter_freq(void);

static inline uint64_t cpu_counter(void) {
    #if __riscv_xlen == 32
    uint32_t hi, lo, hi2;
    do {
        __asm volatile ("rdtimeh %0\n rdtime %1\n rdtimeh %2" : "=r" (hi), "=r" (lo), "=r" (hi2) : : "memory");
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
    #else
    uint64_t t;
    __asm volatile ("rdtime %0" : "=r" (t) : : "memory");
    return t;
    #endif
}

// The timer: an interrupt when the counter reaches the compare value (SBI
// set_timer in S-mode, the CLINT's mtimecmp in M-mode), taken by the trap
// handler, which calls the handler given here.
void cpu_timer_set_compare(uint64_t cval);
static inline void cpu_timer_enable(bool on) {
    if (on) {
        cpu_csr_set(CSR_XIE, 1u << IRQ_TIMER);
    } else {
        cpu_csr_clear(CSR_XIE, 1u << IRQ_TIMER);
    }
}
void cpu_timer_irq_enable(void (*handler)(void *arg), void *arg);

// Device interrupts come through the PLIC (devices/plic.c): the context of
// our hart whose line is this mode's external interrupt.
#define CPU_HAS_PLIC (1)
#define CPU_PLIC_CAUSE IRQ_EXTERNAL
static inline void cpu_external_irq_enable(void) {
    cpu_csr_set(CSR_XIE, 1u << IRQ_EXTERNAL);
}

// Power through the firmware (SBI system reset); return if there is none.
void cpu_system_off(void);
void cpu_system_reset(void);

// Vendor and hart IDs, for machine.unique_id().
void cpu_unique_id(uint32_t id[2]);

// Semihosting (the RISC-V semihosting sequence); see start.S.
uint32_t virt_semihosting_call(uint32_t op, void *arg);
extern const uint32_t virt_semihosting_ebreak[];

// The hart we run on, from start.S.
extern uintptr_t virt_cpu_hartid;

#endif // __ASSEMBLER__
#endif // MICROPY_INCLUDED_VIRT_ARCH_RISCV_CPU_H
