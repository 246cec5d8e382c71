// VirtIO MMIO transport; see virtio_mmio.h.
#include <string.h>

#include "fdt.h"
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
#define VIRTIO_MMIO_CONFIG (0x100)

#define VIRTIO_MMIO_MAGIC (0x74726976) // "virt"
#define VIRTIO_LEGACY_PAGE_SIZE (4096)

static inline uint32_t rd(virtio_mmio_dev_t *dev, uint32_t off) {
    return *(volatile uint32_t *)(dev->base + off);
}

static inline void wr(virtio_mmio_dev_t *dev, uint32_t off, uint32_t val) {
    *(volatile uint32_t *)(dev->base + off) = val;
}

bool virtio_mmio_find(uint32_t device_id, int index, virtio_mmio_dev_t *dev) {
    int found = 0;
    for (int node = fdt_find_compatible(FDT_NODE_NONE, "virtio,mmio"); node != FDT_NODE_NONE;
         node = fdt_find_compatible(node, "virtio,mmio")) {
        uint64_t addr, size;
        uint32_t irq;
        if (!fdt_get_reg(node, 0, &addr, &size) || size < VIRTIO_MMIO_CONFIG || !fdt_get_gic_irq(node, 0, &irq)) {
            continue;
        }
        memset(dev, 0, sizeof(*dev));
        dev->base = (uintptr_t)addr;
        dev->irq = irq;
        if (rd(dev, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC) {
            continue;
        }
        dev->version = rd(dev, VIRTIO_MMIO_VERSION);
        dev->device_id = rd(dev, VIRTIO_MMIO_DEVICE_ID);
        if ((dev->version != 1 && dev->version != 2) || dev->device_id != device_id) {
            continue; // ID 0: an empty transport slot
        }
        if (found++ == index) {
            return true;
        }
    }
    return false;
}

void virtio_mmio_reset(virtio_mmio_dev_t *dev) {
    wr(dev, VIRTIO_MMIO_STATUS, 0);
    // The reset is complete once the status reads back 0 (4.2.3.1).
    for (int i = 0; i < 1000 && rd(dev, VIRTIO_MMIO_STATUS) != 0; ++i) {
    }
}

uint32_t virtio_mmio_status(virtio_mmio_dev_t *dev) {
    return rd(dev, VIRTIO_MMIO_STATUS);
}

static void set_status(virtio_mmio_dev_t *dev, uint32_t bits) {
    wr(dev, VIRTIO_MMIO_STATUS, rd(dev, VIRTIO_MMIO_STATUS) | bits);
}

void virtio_mmio_begin_init(virtio_mmio_dev_t *dev) {
    virtio_mmio_reset(dev);
    set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(dev, VIRTIO_STATUS_DRIVER);
    wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    uint64_t hi = 0;
    if (dev->version == 2) {
        wr(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
        hi = rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
    }
    dev->device_features = hi << 32 | lo;
    if (dev->version == 1) {
        wr(dev, VIRTIO_MMIO_GUEST_PAGE_SIZE, VIRTIO_LEGACY_PAGE_SIZE);
    }
}

bool virtio_mmio_negotiate(virtio_mmio_dev_t *dev, uint64_t wanted) {
    if (dev->version == 2) {
        // A modern device must be driven as one (6.1): no legacy fallback.
        if (!(dev->device_features & VIRTIO_FEATURE(VIRTIO_F_VERSION_1))) {
            virtio_mmio_fail(dev);
            return false;
        }
        wanted |= VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
    } else {
        wanted &= ~VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
    }
    dev->features = wanted & dev->device_features;
    wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)dev->features);
    if (dev->version == 2) {
        wr(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        wr(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
        set_status(dev, VIRTIO_STATUS_FEATURES_OK);
        if (!(rd(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
            virtio_mmio_fail(dev); // the device rejected this subset
            return false;
        }
    }
    return true;
}

uint16_t virtio_mmio_setup_queue(virtio_mmio_dev_t *dev, uint32_t index, virtq_t *vq, void *mem, uint16_t max_num) {
    wr(dev, VIRTIO_MMIO_QUEUE_SEL, index);
    if (dev->version == 2 ? rd(dev, VIRTIO_MMIO_QUEUE_READY) : rd(dev, VIRTIO_MMIO_QUEUE_PFN)) {
        return 0; // already in use
    }
    uint32_t num_max = rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (num_max == 0) {
        return 0;
    }
    uint16_t num = num_max < max_num ? num_max : max_num;
    virtq_init(vq, mem, num, VIRTQ_LEGACY_ALIGN);
    wr(dev, VIRTIO_MMIO_QUEUE_NUM, num);
    if (dev->version == 2) {
        uint64_t desc = (uintptr_t)vq->desc, drv = (uintptr_t)vq->avail, devr = (uintptr_t)vq->used;
        wr(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
        wr(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
        wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv);
        wr(dev, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
        wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)devr);
        wr(dev, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(devr >> 32));
        wr(dev, VIRTIO_MMIO_QUEUE_READY, 1);
    } else {
        wr(dev, VIRTIO_MMIO_QUEUE_ALIGN, VIRTQ_LEGACY_ALIGN);
        wr(dev, VIRTIO_MMIO_QUEUE_PFN, (uint32_t)((uintptr_t)mem / VIRTIO_LEGACY_PAGE_SIZE));
    }
    return num;
}

void virtio_mmio_driver_ok(virtio_mmio_dev_t *dev) {
    set_status(dev, VIRTIO_STATUS_DRIVER_OK);
}

void virtio_mmio_fail(virtio_mmio_dev_t *dev) {
    set_status(dev, VIRTIO_STATUS_FAILED);
}

void virtio_mmio_notify(virtio_mmio_dev_t *dev, uint32_t queue) {
    wr(dev, VIRTIO_MMIO_QUEUE_NOTIFY, queue);
}

uint32_t virtio_mmio_ack_irq(virtio_mmio_dev_t *dev) {
    uint32_t status = rd(dev, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (status) {
        wr(dev, VIRTIO_MMIO_INTERRUPT_ACK, status);
    }
    return status;
}

uint8_t virtio_mmio_config_read8(virtio_mmio_dev_t *dev, uint32_t offset) {
    return *(volatile uint8_t *)(dev->base + VIRTIO_MMIO_CONFIG + offset);
}

uint16_t virtio_mmio_config_read16(virtio_mmio_dev_t *dev, uint32_t offset) {
    return *(volatile uint16_t *)(dev->base + VIRTIO_MMIO_CONFIG + offset);
}

uint32_t virtio_mmio_config_read32(virtio_mmio_dev_t *dev, uint32_t offset) {
    return rd(dev, VIRTIO_MMIO_CONFIG + offset);
}

uint32_t virtio_mmio_config_generation(virtio_mmio_dev_t *dev) {
    return dev->version == 2 ? rd(dev, VIRTIO_MMIO_CONFIG_GENERATION) : 0;
}
