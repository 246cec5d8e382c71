// VirtIO over PCI (VirtIO 1.2, section 4.1): functions of the PCI host
// bridge (devices/pci.h) driven through the transport interface of
// virtio_dev.h, modern (the vendor capabilities: common, notify, ISR and
// device configuration in memory BARs) and legacy (the I/O BAR of a
// transitional device, `disable-modern=on`). Interrupts are INTx, routed by
// the bridge's interrupt-map and shared where functions share a line.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_PCI_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_PCI_H

#include "pci.h"
#include "virtio_dev.h"

#define VIRTIO_PCI_VENDOR_ID (0x1af4)

// Find the index'th virtio-pci function of a type; false if none.
bool virtio_pci_find(uint32_t device_id, int index, virtio_dev_t *dev);
// Take one PCI function as a virtio device of that type: fills in dev;
// false (with *why set when the function is a virtio one we cannot drive)
// for anything else.
bool virtio_pci_probe(const pci_func_t *f, uint32_t device_id, virtio_dev_t *dev, const char **why);

extern const virtio_transport_ops_t virtio_pci_modern_ops;
extern const virtio_transport_ops_t virtio_pci_legacy_ops;

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_PCI_H
