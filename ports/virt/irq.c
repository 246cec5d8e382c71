// Device interrupts through the device tree's controller; see irq.h.
#include "fdt.h"
#include "gic.h"
#include "irq.h"

bool virt_irq_from_fdt(int node, int index, uint32_t *irq) {
    // The controller of the last lookup and whether it is a GIC: at boot
    // every device asks about the same one.
    static int last_controller = FDT_NODE_NONE;
    static bool last_is_gic;
    fdt_interrupt_t spec;
    if (!fdt_get_interrupt(node, index, &spec)) {
        return false;
    }
    if (spec.controller != last_controller) {
        last_controller = spec.controller;
        last_is_gic = gic_is_compatible(spec.controller);
    }
    return last_is_gic && gic_irq_from_dt(&spec, irq);
}

void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg) {
    gic_enable_irq(irq, handler, arg);
}

void virt_irq_disable(uint32_t irq) {
    gic_disable_irq(irq);
}
