// ARM Generic Interrupt Controller v2 (QEMU virt's default "arm,cortex-a15-gic").
#ifndef MICROPY_INCLUDED_VIRT_GIC_H
#define MICROPY_INCLUDED_VIRT_GIC_H

#include <stdbool.h>
#include <stdint.h>

#include "fdt.h"

#define GIC_MAX_IRQ (1020)

typedef void (*gic_handler_t)(void *arg);

void gic_init(uintptr_t dist_base, uintptr_t cpu_base);
// Route an interrupt to the boot CPU and call handler(arg) when it fires.
void gic_enable_irq(uint32_t irq, gic_handler_t handler, void *arg);
void gic_disable_irq(uint32_t irq);
// Whether a device-tree node is a GIC this driver runs.
bool gic_is_compatible(int node);
// An interrupt specifier of the GIC binding (<type number flags>, type 0 =
// SPI, 1 = PPI) as an interrupt ID: SPI n -> 32 + n, PPI n -> 16 + n.
bool gic_irq_from_dt(const fdt_interrupt_t *spec, uint32_t *irq);
// Acknowledge and dispatch every pending interrupt (called from the IRQ vector).
void gic_dispatch(void);

#endif // MICROPY_INCLUDED_VIRT_GIC_H
