// Host build of arch/riscv/cpu.h as devices/plic.c uses it: the hart and
// the mode (the external interrupt's cause) are the test's to set, interrupt
// masking does nothing, and enabling the external interrupt is counted.
#ifndef VIRT_HOST_TEST_CPU_H
#define VIRT_HOST_TEST_CPU_H

#include <stdint.h>

#define CPU_HAS_PLIC (1)
extern uint32_t test_plic_cause; // 9 (S-mode) or 11 (M-mode)
#define CPU_PLIC_CAUSE (test_plic_cause)
extern uintptr_t virt_cpu_hartid;
extern int test_external_irq_enables;

static inline uint32_t cpu_irq_save(void) {
    return 0;
}

static inline void cpu_irq_restore(uint32_t state) {
    (void)state;
}

static inline void cpu_external_irq_enable(void) {
    ++test_external_irq_enables;
}

#endif // VIRT_HOST_TEST_CPU_H
