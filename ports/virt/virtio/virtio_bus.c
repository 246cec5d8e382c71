// Finding VirtIO devices on the transports the device tree describes; see
// virtio_find in virtio_dev.h. Today virtio-mmio; virtio-pci joins here.
#include <string.h>

#include "fdt.h"
#include "irq.h"
#include "virtio_mmio.h"

bool virtio_find(uint32_t device_id, int index, virtio_dev_t *dev) {
    return virtio_mmio_find(device_id, index, dev);
}

bool virtio_mmio_find(uint32_t device_id, int index, virtio_dev_t *dev) {
    int found = 0;
    memset(dev, 0, sizeof(*dev));
    for (int node = fdt_find_compatible(FDT_NODE_NONE, "virtio,mmio"); node != FDT_NODE_NONE;
         node = fdt_find_compatible(node, "virtio,mmio")) {
        uint64_t addr, size;
        uint32_t irq;
        if (!fdt_get_reg(node, 0, &addr, &size) || size < VIRTIO_MMIO_CONFIG || addr > UINTPTR_MAX
            || !virtio_mmio_probe((uintptr_t)addr, 0, device_id, dev)) {
            continue; // most of QEMU's 32 transports are empty
        }
        if (!virt_irq_from_fdt(node, 0, &irq)) {
            continue; // a device we could not take interrupts from
        }
        dev->irq = irq;
        if (found++ == index) {
            return true;
        }
    }
    return false;
}
