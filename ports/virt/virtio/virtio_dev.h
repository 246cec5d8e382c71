// The VirtIO transport interface (VirtIO 1.2, sections 2 and 3): what a
// device driver (net, blk, rng) needs of its transport, and the generic
// initialisation sequence built on it. virtio-mmio (virtio_mmio.c) is one
// implementation; a virtio-pci transport is another behind the same ops.
// No registers here, so the host tests drive the drivers through fake ops.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_DEV_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
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

// Interrupt causes: MMIO's InterruptStatus and PCI's ISR status share them
// (4.2.2, 4.1.4.5).
#define VIRTIO_ISR_QUEUE (1 << 0)
#define VIRTIO_ISR_CONFIG (1 << 1)

// Device IDs (5).
#define VIRTIO_ID_NET (1)
#define VIRTIO_ID_BLOCK (2)
#define VIRTIO_ID_ENTROPY (4)

#define VIRTIO_FEATURE(bit) ((uint64_t)1 << (bit))

// How long a reset may take before the device is given up (2.4).
#define VIRTIO_RESET_TIMEOUT_US (100000)

struct _virtio_dev_t;
typedef void (*virtio_irq_handler_t)(void *arg);

// How to tell the device a queue has new buffers: which register, which
// value (a transport fills it in at queue set-up).
typedef struct _virtio_notify_t {
    uintptr_t addr;
    uint16_t value;
} virtio_notify_t;

typedef struct _virtio_transport_ops_t {
    const char *name; // "mmio", "pci"
    uint8_t (*get_status)(struct _virtio_dev_t *dev);
    void (*set_status)(struct _virtio_dev_t *dev, uint8_t status); // 0 resets
    uint64_t (*get_features)(struct _virtio_dev_t *dev); // bits 0-31 only on legacy
    void (*set_features)(struct _virtio_dev_t *dev, uint64_t features);
    // Size queue `index` (virtq_pick_size of the device's maximum, max_num
    // and mem_size), lay it out in mem and give it to the device; fill in
    // how to notify it. Returns the size, 0 if the queue is unavailable.
    uint16_t (*setup_queue)(struct _virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
        uint16_t max_num, virtio_notify_t *notify);
    void (*notify)(struct _virtio_dev_t *dev, const virtio_notify_t *notify);
    // Read the interrupt causes (VIRTIO_ISR_*) once and acknowledge them.
    uint32_t (*isr_ack)(struct _virtio_dev_t *dev);
    uint32_t (*config_generation)(struct _virtio_dev_t *dev); // 0 where there is none
    // Device-specific configuration, at the field's own width (1, 2, 4, 8).
    uint64_t (*config_read)(struct _virtio_dev_t *dev, uint32_t offset, unsigned width);
    void (*config_write)(struct _virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value);
    // Route the device's interrupt to handler(arg) and enable it.
    void (*irq_enable)(struct _virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg);
} virtio_transport_ops_t;

typedef struct _virtio_dev_t {
    const virtio_transport_ops_t *ops;
    uintptr_t base;           // the transport's registers
    uint32_t irq;             // the interrupt controller's number for it
    uint32_t device_id;
    bool modern;              // VirtIO 1.x interface (else legacy, 0.9.5)
    // virtio-pci, modern (4.1.4): base is the common configuration; where
    // the notification area, ISR status and device configuration are.
    // Legacy: base is the I/O BAR, device configuration in it.
    uintptr_t notify_base, isr, device_cfg;
    uint32_t notify_multiplier, notify_len, device_cfg_len;
    uint64_t device_features;
    uint64_t features;        // negotiated
} virtio_dev_t;

// The index'th device of a type on any transport (virtio_bus.c).
bool virtio_find(uint32_t device_id, int index, virtio_dev_t *dev);

// Reset, waiting (bounded by VIRTIO_RESET_TIMEOUT_US) until the status reads
// 0; false if it never does.
bool virtio_dev_reset(virtio_dev_t *dev);
// Reset, then ACKNOWLEDGE | DRIVER, and read the device's features. false
// (status FAILED) if the reset does not complete.
bool virtio_dev_begin_init(virtio_dev_t *dev);
// Accept `wanted` & offered (VERSION_1 required and added on a modern
// interface, never asked of a legacy one); FEATURES_OK must read back.
// false, with FAILED set, if not.
bool virtio_dev_negotiate(virtio_dev_t *dev, uint64_t wanted);
void virtio_dev_driver_ok(virtio_dev_t *dev);
void virtio_dev_fail(virtio_dev_t *dev);
uint8_t virtio_dev_status(virtio_dev_t *dev);
bool virtio_dev_has_feature(const virtio_dev_t *dev, int bit);
// Read and acknowledge causes until none is left (bounded), so none is lost
// when the line is edge-triggered; returns them all.
uint32_t virtio_dev_isr(virtio_dev_t *dev);

static inline uint16_t virtio_dev_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem,
    size_t mem_size, uint16_t max_num, virtio_notify_t *notify) {
    return dev->ops->setup_queue(dev, index, vq, mem, mem_size, max_num, notify);
}

static inline void virtio_dev_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    dev->ops->notify(dev, notify);
}

static inline uint64_t virtio_dev_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    return dev->ops->config_read(dev, offset, width);
}

static inline uint32_t virtio_dev_config_generation(virtio_dev_t *dev) {
    return dev->ops->config_generation(dev);
}

// Config reads repeat while the generation moves (2.5.1); a device that
// never settles is read this many times at most.
#define VIRTIO_CONFIG_READ_TRIES (100)

// One config field, read until the generation is the same before and after.
uint64_t virtio_dev_config_read_stable(virtio_dev_t *dev, uint32_t offset, unsigned width);

static inline void virtio_dev_irq_enable(virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg) {
    dev->ops->irq_enable(dev, handler, arg);
}

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_DEV_H
