// Device interrupts through the device tree's controller; see irq.h.
#include "fdt.h"
#include "gic.h"
#include "irq.h"

bool virt_irq_from_fdt(int node, int index, uint32_t *irq) {
    fdt_interrupt_t spec;
    return fdt_get_interrupt(node, index, &spec) && gic_is_compatible(spec.controller)
           && gic_irq_from_dt(&spec, irq);
}

void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg) {
    gic_enable_irq(irq, handler, arg);
}

void virt_irq_disable(uint32_t irq) {
    gic_disable_irq(irq);
}
