// Device interrupts, whichever controller the device tree gives them:
// numbers from a node's "interrupts", handlers enabled and disabled, and the
// dispatch from the CPU's interrupt vector. The controller's driver (GICv2,
// GICv3; the PLIC on RISC-V) is picked at boot by "compatible".
#ifndef MICROPY_INCLUDED_VIRT_IRQ_H
#define MICROPY_INCLUDED_VIRT_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "fdt.h"

typedef void (*virt_irq_handler_t)(void *arg);

// Interrupt numbers the port handles (the GIC's IDs on virt reach 32 + 256).
#define VIRT_IRQ_MAX (288)
#define VIRT_IRQ_NONE (UINT32_MAX)

// What a controller's driver does for irq.c.
typedef struct _virt_irq_controller_t {
    const char *name;
    int node; // in the device tree; FDT_NODE_NONE with QEMU's defaults
    // A specifier of the controller's binding as an interrupt number.
    bool (*from_dt)(const fdt_interrupt_t *spec, uint32_t *irq);
    void (*enable)(uint32_t irq);
    void (*disable)(uint32_t irq);
    // The pending interrupt, acknowledged (VIRT_IRQ_NONE if none), and its end.
    uint32_t (*claim)(void);
    void (*complete)(uint32_t irq);
} virt_irq_controller_t;

// Find and start the interrupt controller; false if there is none we run.
bool virt_irq_init(void);
const char *virt_irq_controller_name(void);

// The index'th interrupt of a device-tree node as the number its controller
// uses; false if absent, malformed, or on a controller we do not run.
bool virt_irq_from_fdt(int node, int index, uint32_t *irq);
// The same for a specifier found elsewhere (a PCI bridge's interrupt-map).
bool virt_irq_from_spec(const fdt_interrupt_t *spec, uint32_t *irq);
void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg);
void virt_irq_disable(uint32_t irq);

// One pending interrupt, from the CPU's IRQ vector: a handler's return is
// the vector's, and another pending one is taken right after. Looping here
// would cost a register read (an exit from the emulated CPU) per interrupt
// to learn that usually none is left.
void virt_irq_dispatch(void);

#endif // MICROPY_INCLUDED_VIRT_IRQ_H
