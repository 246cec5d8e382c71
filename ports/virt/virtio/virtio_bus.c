// Finding VirtIO devices on the transports the device tree describes; see
// virtio_find in virtio_dev.h. The virtio-mmio devices come first (in
// address order), then the virtio-pci ones (in slot order), so a NIC given
// with -device virtio-net-device stays the first as before.
#include <string.h>

#include "fdt.h"
#include "irq.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"

bool virtio_find(uint32_t device_id, int index, virtio_dev_t *dev) {
    int mmio;
    return virtio_mmio_find(device_id, index, dev, &mmio) || virtio_pci_find(device_id, index - mmio, dev);
}

// QEMU's virt machines list their transports in either order (lowest
// address first on ARM, highest first on RISC-V): devices are numbered by
// address, so "the first disk" is the same on every board.
#define VIRTIO_MMIO_TRANSPORTS_MAX (64)

bool virtio_mmio_find(uint32_t device_id, int index, virtio_dev_t *dev, int *count) {
    struct {
        uint64_t addr;
        int node;
    } found[VIRTIO_MMIO_TRANSPORTS_MAX];
    size_t n = 0;
    memset(dev, 0, sizeof(*dev));
    for (int node = fdt_find_compatible(FDT_NODE_NONE, "virtio,mmio"); node != FDT_NODE_NONE && n < VIRTIO_MMIO_TRANSPORTS_MAX;
         node = fdt_find_compatible(node, "virtio,mmio")) {
        uint64_t addr, size;
        if (!fdt_get_reg(node, 0, &addr, &size) || size < VIRTIO_MMIO_CONFIG || addr > UINTPTR_MAX) {
            continue;
        }
        size_t i = n++; // insertion sort by address
        for (; i > 0 && found[i - 1].addr > addr; --i) {
            found[i] = found[i - 1];
        }
        found[i].addr = addr;
        found[i].node = node;
    }
    int matched = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t irq;
        if (!virtio_mmio_probe((uintptr_t)found[i].addr, 0, device_id, dev)) {
            continue; // most of QEMU's 32 transports are empty
        }
        if (!virt_irq_from_fdt(found[i].node, 0, &irq)) {
            continue; // a device we could not take interrupts from
        }
        dev->irq = irq;
        if (matched++ == index) {
            return true;
        }
    }
    *count = matched;
    return false;
}
