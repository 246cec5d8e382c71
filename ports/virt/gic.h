// ARM Generic Interrupt Controller v2 (QEMU virt's default "arm,cortex-a15-gic").
#ifndef MICROPY_INCLUDED_VIRT_GIC_H
#define MICROPY_INCLUDED_VIRT_GIC_H

#include <stdint.h>

#define GIC_MAX_IRQ (1020)

typedef void (*gic_handler_t)(void *arg);

void gic_init(uintptr_t dist_base, uintptr_t cpu_base);
// Route an interrupt to the boot CPU and call handler(arg) when it fires.
void gic_enable_irq(uint32_t irq, gic_handler_t handler, void *arg);
void gic_disable_irq(uint32_t irq);
// Acknowledge and dispatch every pending interrupt (called from the IRQ vector).
void gic_dispatch(void);

#endif // MICROPY_INCLUDED_VIRT_GIC_H
