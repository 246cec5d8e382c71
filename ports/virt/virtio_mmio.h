// VirtIO over MMIO (VirtIO 1.2, section 4.2): device discovery from the
// device tree, the status handshake, feature negotiation, queue set-up and
// notification, for both the modern (version 2) and legacy (version 1)
// register layouts. Device drivers (net, and later block or rng) build on it.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_MMIO_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtqueue.h"

// Device status bits (2.1).
#define VIRTIO_STATUS_ACKNOWLEDGE (1)
#define VIRTIO_STATUS_DRIVER (2)
#define VIRTIO_STATUS_DRIVER_OK (4)
#define VIRTIO_STATUS_FEATURES_OK (8)
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET (64)
#define VIRTIO_STATUS_FAILED (128)

// Reserved feature bits (6).
#define VIRTIO_F_ANY_LAYOUT (27)
#define VIRTIO_F_VERSION_1 (32)

// InterruptStatus bits (4.2.2).
#define VIRTIO_MMIO_INT_VRING (1 << 0)
#define VIRTIO_MMIO_INT_CONFIG (1 << 1)

// Device IDs (5).
#define VIRTIO_ID_NET (1)
#define VIRTIO_ID_BLOCK (2)

#define VIRTIO_FEATURE(bit) ((uint64_t)1 << (bit))

typedef struct _virtio_mmio_dev_t {
    uintptr_t base;
    uint32_t irq;          // GIC interrupt ID
    uint32_t version;      // 1 legacy, 2 modern
    uint32_t device_id;
    uint64_t device_features;
    uint64_t features;     // negotiated
} virtio_mmio_dev_t;

// Find the index'th virtio-mmio device of a given type in the device tree
// (QEMU creates 32 transports, most of them empty). false if none.
bool virtio_mmio_find(uint32_t device_id, int index, virtio_mmio_dev_t *dev);

// Reset, then ACKNOWLEDGE | DRIVER; reads the device's features.
void virtio_mmio_begin_init(virtio_mmio_dev_t *dev);
// Accept `wanted` & offered (VERSION_1 is required and added on a modern
// transport); FEATURES_OK must read back. false, with FAILED set, if not.
bool virtio_mmio_negotiate(virtio_mmio_dev_t *dev, uint64_t wanted);
// Size queue `index` to min(QueueNumMax, max_num), lay it out in `mem` and
// hand it to the device. Returns the size, 0 if the queue is unavailable.
uint16_t virtio_mmio_setup_queue(virtio_mmio_dev_t *dev, uint32_t index, virtq_t *vq, void *mem, uint16_t max_num);
void virtio_mmio_driver_ok(virtio_mmio_dev_t *dev);
void virtio_mmio_fail(virtio_mmio_dev_t *dev);
void virtio_mmio_reset(virtio_mmio_dev_t *dev);
uint32_t virtio_mmio_status(virtio_mmio_dev_t *dev);

void virtio_mmio_notify(virtio_mmio_dev_t *dev, uint32_t queue);
// Read and acknowledge the interrupt causes (VIRTIO_MMIO_INT_*).
uint32_t virtio_mmio_ack_irq(virtio_mmio_dev_t *dev);

// Device-specific configuration space, read with the access width of each
// field (4.2.2.2). A reader of several fields repeats while the generation
// changes between its first and last read.
uint8_t virtio_mmio_config_read8(virtio_mmio_dev_t *dev, uint32_t offset);
uint16_t virtio_mmio_config_read16(virtio_mmio_dev_t *dev, uint32_t offset);
uint32_t virtio_mmio_config_read32(virtio_mmio_dev_t *dev, uint32_t offset);
uint32_t virtio_mmio_config_generation(virtio_mmio_dev_t *dev);

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_MMIO_H
