// VirtIO MMIO transport; see virtio_mmio.h.
#include <string.h>

#include "irq.h"
#include "virt_io.h"
#include "virtio_cfg_field.h"
#include "virtio_mmio.h"

// Registers (4.2.2; legacy names 4.2.4 in comments where they differ).
#define VIRTIO_MMIO_MAGIC_VALUE (0x000)
#define VIRTIO_MMIO_VERSION (0x004)
#define VIRTIO_MMIO_DEVICE_ID (0x008)
#define VIRTIO_MMIO_DEVICE_FEATURES (0x010)     // HostFeatures
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL (0x014) // HostFeaturesSel
#define VIRTIO_MMIO_DRIVER_FEATURES (0x020)     // GuestFeatures
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL (0x024) // GuestFeaturesSel
#define VIRTIO_MMIO_GUEST_PAGE_SIZE (0x028)     // legacy only
#define VIRTIO_MMIO_QUEUE_SEL (0x030)
#define VIRTIO_MMIO_QUEUE_NUM_MAX (0x034)
#define VIRTIO_MMIO_QUEUE_NUM (0x038)
#define VIRTIO_MMIO_QUEUE_ALIGN (0x03c)         // legacy only
#define VIRTIO_MMIO_QUEUE_PFN (0x040)           // legacy only
#define VIRTIO_MMIO_QUEUE_READY (0x044)
#define VIRTIO_MMIO_QUEUE_NOTIFY (0x050)
#define VIRTIO_MMIO_INTERRUPT_STATUS (0x060)
#define VIRTIO_MMIO_INTERRUPT_ACK (0x064)
#define VIRTIO_MMIO_STATUS (0x070)
#define VIRTIO_MMIO_QUEUE_DESC_LOW (0x080)
#define VIRTIO_MMIO_QUEUE_DESC_HIGH (0x084)
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW (0x090)
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH (0x094)
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW (0x0a0)
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH (0x0a4)
#define VIRTIO_MMIO_CONFIG_GENERATION (0x0fc)

#define VIRTIO_MMIO_MAGIC (0x74726976) // "virt"
#define VIRTIO_LEGACY_PAGE_SIZE (4096)

static inline uint32_t rd(virtio_dev_t *dev, uint32_t off) {
    return virt_io_read32(dev->base + off);
}

static inline void wr(virtio_dev_t *dev, uint32_t off, uint32_t val) {
    virt_io_write32(dev->base + off, val);
}

bool virtio_mmio_probe(uintptr_t base, uint32_t irq, uint32_t device_id, virtio_dev_t *dev) {
    memset(dev, 0, sizeof(*dev));
    dev->ops = &virtio_mmio_ops;
    dev->base = base;
    dev->irq = irq;
    if (rd(dev, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC) {
        return false;
    }
    uint32_t version = rd(dev, VIRTIO_MMIO_VERSION);
    dev->device_id = rd(dev, VIRTIO_MMIO_DEVICE_ID);
    dev->modern = version == 2;
    // ID 0: an empty transport slot, never a device.
    return (version == 1 || version == 2) && dev->device_id != 0 && dev->device_id == device_id;
}

static uint8_t mmio_get_status(virtio_dev_t *dev) {
    return (uint8_t)rd(dev, VIRTIO_MMIO_STATUS);
}

static void mmio_set_status(virtio_dev_t *dev, uint8_t status) {
    wr(dev, VIRTIO_MMIO_STATUS, status);
}

static uint64_t mmio_get_features(virtio_dev_t *dev) {
    wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    uint64_t hi = 0;
    if (dev->modern) {
        wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
        hi = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    }
    return hi << 32 | lo;
}

static void mmio_set_features(virtio_dev_t *dev, uint64_t features) {
    wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    if (dev->modern) {
        wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    }
}

static uint16_t mmio_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    wr(dev, VIRTIO_MMIO_QUEUE_SEL, index);
    if (dev->modern ? rd(dev, VIRTIO_MMIO_QUEUE_READY) : rd(dev, VIRTIO_MMIO_QUEUE_PFN)) {
        return 0; // already in use
    }
    uint16_t num = virtq_pick_size(rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX), max_num, mem_size, VIRTQ_LEGACY_ALIGN);
    uint64_t ring = virt_io_dma_addr(mem);
    // The legacy interface takes a 32-bit page number of the rings.
    bool legacy_ok = ring % VIRTIO_LEGACY_PAGE_SIZE == 0 && ring / VIRTIO_LEGACY_PAGE_SIZE <= UINT32_MAX;
    if (num == 0 || (!dev->modern && !legacy_ok) || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    wr(dev, VIRTIO_MMIO_QUEUE_NUM, num);
    if (dev->modern) {
        uint64_t desc = virt_io_dma_addr(vq->desc), drv = virt_io_dma_addr(vq->avail);
        uint64_t devr = virt_io_dma_addr(vq->used);
        wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
        wr(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
        wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv);
        wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
        wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)devr);
        wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(devr >> 32));
        wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
    } else {
        wr(dev, VIRTIO_MMIO_GUEST_PAGE_SIZE, VIRTIO_LEGACY_PAGE_SIZE);
        wr(dev, VIRTIO_MMIO_QUEUE_ALIGN, VIRTQ_LEGACY_ALIGN);
        wr(dev, VIRTIO_MMIO_QUEUE_PFN, (uint32_t)(ring / VIRTIO_LEGACY_PAGE_SIZE));
    }
    notify->addr = dev->base + VIRTIO_MMIO_QUEUE_NOTIFY;
    notify->value = index;
    return num;
}

static void mmio_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    (void)dev;
    virt_io_write32(notify->addr, notify->value);
}

static uint32_t mmio_isr_ack(virtio_dev_t *dev) {
    uint32_t status = rd(dev, VIRTIO_MMIO_INTERRUPT_STATUS) & (VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    if (status) {
        wr(dev, VIRTIO_MMIO_INTERRUPT_ACK, status);
    }
    return status;
}

static uint32_t mmio_config_generation(virtio_dev_t *dev) {
    return dev->modern ? rd(dev, VIRTIO_MMIO_CONFIG_GENERATION) : 0;
}

static uint64_t mmio_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    return virtio_cfg_field_read(dev->base + VIRTIO_MMIO_CONFIG + offset, width);
}

static void mmio_config_write(virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value) {
    virtio_cfg_field_write(dev->base + VIRTIO_MMIO_CONFIG + offset, width, value);
}

static void mmio_irq_enable(virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg) {
    virt_irq_enable(dev->irq, handler, arg);
}

const virtio_transport_ops_t virtio_mmio_ops = {
    .name = "mmio",
    .get_status = mmio_get_status,
    .set_status = mmio_set_status,
    .get_features = mmio_get_features,
    .set_features = mmio_set_features,
    .setup_queue = mmio_setup_queue,
    .notify = mmio_notify,
    .isr_ack = mmio_isr_ack,
    .config_generation = mmio_config_generation,
    .config_read = mmio_config_read,
    .config_write = mmio_config_write,
    .irq_enable = mmio_irq_enable,
};
