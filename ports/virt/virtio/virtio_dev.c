// The generic VirtIO initialisation sequence over any transport; see
// virtio_dev.h.
#include "virt_wait.h"
#include "virtio_dev.h"

// Interrupt causes read per interrupt at most: a device that keeps raising
// them is served again by its next interrupt.
#define VIRTIO_ISR_ROUNDS (8)

static void set_status(virtio_dev_t *dev, uint8_t bits) {
    dev->ops->set_status(dev, dev->ops->get_status(dev) | bits);
}

uint8_t virtio_dev_status(virtio_dev_t *dev) {
    return dev->ops->get_status(dev);
}

bool virtio_dev_reset(virtio_dev_t *dev) {
    dev->ops->set_status(dev, 0);
    // The reset is complete once the status reads back 0 (2.4.2).
    uint64_t start = virt_time_us();
    while (dev->ops->get_status(dev) != 0) {
        if (virt_time_us() - start > VIRTIO_RESET_TIMEOUT_US) {
            return false;
        }
    }
    return true;
}

bool virtio_dev_begin_init(virtio_dev_t *dev) {
    dev->features = 0;
    if (!virtio_dev_reset(dev)) {
        virtio_dev_fail(dev);
        return false;
    }
    set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(dev, VIRTIO_STATUS_DRIVER);
    dev->device_features = dev->ops->get_features(dev);
    return true;
}

bool virtio_dev_negotiate(virtio_dev_t *dev, uint64_t wanted) {
    if (dev->modern) {
        // A modern device must be driven as one (6.1): no legacy fallback.
        if (!(dev->device_features & VIRTIO_FEATURE(VIRTIO_F_VERSION_1))) {
            virtio_dev_fail(dev);
            return false;
        }
        wanted |= VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
    } else {
        wanted &= 0xffffffff; // the legacy interface has 32 feature bits
    }
    dev->features = wanted & dev->device_features;
    dev->ops->set_features(dev, dev->features);
    if (dev->modern) {
        set_status(dev, VIRTIO_STATUS_FEATURES_OK);
        if (!(dev->ops->get_status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
            virtio_dev_fail(dev); // the device rejected this subset
            return false;
        }
    }
    return true;
}

void virtio_dev_driver_ok(virtio_dev_t *dev) {
    set_status(dev, VIRTIO_STATUS_DRIVER_OK);
}

void virtio_dev_fail(virtio_dev_t *dev) {
    set_status(dev, VIRTIO_STATUS_FAILED);
}

bool virtio_dev_has_feature(const virtio_dev_t *dev, int bit) {
    return (dev->features & VIRTIO_FEATURE(bit)) != 0;
}

uint32_t virtio_dev_isr(virtio_dev_t *dev) {
    uint32_t all = 0;
    for (int i = 0; i < VIRTIO_ISR_ROUNDS; ++i) {
        uint32_t cause = dev->ops->isr_ack(dev);
        if (cause == 0) {
            break;
        }
        all |= cause;
    }
    return all;
}

uint64_t virtio_dev_config_read_stable(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    uint32_t gen;
    uint64_t value;
    int tries = 0;
    do {
        gen = virtio_dev_config_generation(dev);
        value = virtio_dev_config_read(dev, offset, width);
    } while (gen != virtio_dev_config_generation(dev) && ++tries < VIRTIO_CONFIG_READ_TRIES);
    return value;
}
