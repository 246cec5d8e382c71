// Device interrupts, whichever controller the device tree gives them:
// numbers from a node's "interrupts", handlers enabled and disabled. Today
// the GIC (gic.c); other controllers plug in here, picked by "compatible".
#ifndef MICROPY_INCLUDED_VIRT_IRQ_H
#define MICROPY_INCLUDED_VIRT_IRQ_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*virt_irq_handler_t)(void *arg);

// The index'th interrupt of a device-tree node as the number its controller
// uses; false if absent, malformed, or on a controller we do not run.
bool virt_irq_from_fdt(int node, int index, uint32_t *irq);
void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg);
void virt_irq_disable(uint32_t irq);

#endif // MICROPY_INCLUDED_VIRT_IRQ_H
