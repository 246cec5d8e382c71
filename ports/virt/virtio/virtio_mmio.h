// VirtIO over MMIO (VirtIO 1.2, section 4.2): devices found in the device
// tree, driven through the transport interface of virtio_dev.h, for both
// the modern (version 2) and legacy (version 1) register layouts.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_MMIO_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_MMIO_H

#include "virtio_dev.h"

// Size of the register window up to the device-specific configuration.
#define VIRTIO_MMIO_CONFIG (0x100)

// Find the index'th virtio-mmio device of a given type in the device tree
// (QEMU creates 32 transports, most of them empty). false if none, with
// *count set to how many of that type there are.
bool virtio_mmio_find(uint32_t device_id, int index, virtio_dev_t *dev, int *count);
// Take the transport at `base` (interrupt `irq`) if it holds a device of
// that type: fills in dev. false for an empty slot or another type.
bool virtio_mmio_probe(uintptr_t base, uint32_t irq, uint32_t device_id, virtio_dev_t *dev);

extern const virtio_transport_ops_t virtio_mmio_ops;

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_MMIO_H
