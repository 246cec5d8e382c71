// Device interrupts through the device tree's controller; see irq.h.
#include <stddef.h>

#include "gic.h"
#include "gicv3.h"
#include "irq.h"
#include "plic.h"

static const virt_irq_controller_t *irq_ctl;
static struct {
    virt_irq_handler_t handler;
    void *arg;
} irq_table[VIRT_IRQ_MAX];

bool virt_irq_init(void) {
    // Each probe looks for its own "compatible" and starts the controller.
    static const virt_irq_controller_t *(*const probes[])(void) = { gicv3_probe, gic_probe, plic_probe };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]) && irq_ctl == NULL; ++i) {
        irq_ctl = probes[i]();
    }
    return irq_ctl != NULL;
}

const char *virt_irq_controller_name(void) {
    return irq_ctl != NULL ? irq_ctl->name : "none";
}

bool virt_irq_from_spec(const fdt_interrupt_t *spec, uint32_t *irq) {
    return irq_ctl != NULL && (spec->controller == irq_ctl->node || irq_ctl->node == FDT_NODE_NONE)
           && irq_ctl->from_dt(spec, irq) && *irq < VIRT_IRQ_MAX;
}

bool virt_irq_from_fdt(int node, int index, uint32_t *irq) {
    fdt_interrupt_t spec;
    return fdt_get_interrupt(node, index, &spec) && virt_irq_from_spec(&spec, irq);
}

void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg) {
    if (irq_ctl == NULL || irq >= VIRT_IRQ_MAX) {
        return;
    }
    irq_table[irq].handler = handler;
    irq_table[irq].arg = arg;
    irq_ctl->enable(irq);
}

void virt_irq_disable(uint32_t irq) {
    if (irq_ctl != NULL && irq < VIRT_IRQ_MAX) {
        irq_ctl->disable(irq);
    }
}

void virt_irq_dispatch(void) {
    if (irq_ctl == NULL) {
        return;
    }
    uint32_t irq = irq_ctl->claim();
    if (irq == VIRT_IRQ_NONE) {
        return;
    }
    if (irq < VIRT_IRQ_MAX && irq_table[irq].handler != NULL) {
        irq_table[irq].handler(irq_table[irq].arg);
    }
    irq_ctl->complete(irq);
}
