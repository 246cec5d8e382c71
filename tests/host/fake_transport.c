// The fake VirtIO transport of the driver tests; see fake_transport.h.

#include "check.h"
#include "fake_transport.h"
#include "virt_wait.h"

fake_transport_t fake_transport;

void fake_transport_reset(uint32_t device_id) {
    memset(&fake_transport, 0, sizeof(fake_transport));
    fake_transport.device_id = device_id;
    fake_transport.devices = 1;
    fake_transport.modern = true;
    fake_transport.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
    fake_transport.queues = 1;
    fake_transport.queue_max = 256;
}

void fake_transport_set_config(uint32_t offset, unsigned width, uint64_t value) {
    CHECK(offset + width <= FAKE_TRANSPORT_CONFIG_SIZE);
    fake_transport.config_width[offset] = width;
    for (unsigned i = 0; i < width; ++i) {
        fake_transport.config[offset + i] = (uint8_t)(value >> (8 * i));
    }
}

struct virtq_desc *fake_transport_next(int queue, uint16_t *head) {
    virtq_t *vq = fake_transport.vq[queue];
    if (fake_transport.seen[queue] == vq->avail->idx) {
        return NULL;
    }
    *head = vq->avail->ring[fake_transport.seen[queue]++ % vq->num];
    return &vq->desc[*head];
}

void fake_transport_used(int queue, uint32_t id, uint32_t len) {
    virtq_t *vq = fake_transport.vq[queue];
    struct virtq_used_elem *e = &vq->used->ring[vq->used->idx % vq->num];
    e->id = id;
    e->len = len;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    vq->used->idx++;
}

uint64_t virt_time_us(void) {
    static uint64_t now;
    return now += 10; // every poll of the status moves the clock on
}

static uint8_t fake_get_status(virtio_dev_t *dev) {
    (void)dev;
    return fake_transport.status;
}

static void fake_set_status(virtio_dev_t *dev, uint8_t status) {
    (void)dev;
    fake_transport.failed += (status & VIRTIO_STATUS_FAILED) != 0;
    if (status == 0 && fake_transport.reset_stuck) {
        status = VIRTIO_STATUS_DRIVER;
    }
    if (fake_transport.reject_features) {
        status &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    fake_transport.status = status;
}

static uint64_t fake_get_features(virtio_dev_t *dev) {
    return dev->modern ? fake_transport.features : fake_transport.features & 0xffffffff;
}

static void fake_set_features(virtio_dev_t *dev, uint64_t features) {
    (void)dev;
    CHECK((features & ~fake_transport.features) == 0); // only what was offered
    fake_transport.negotiated = features;
}

static uint16_t fake_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    (void)dev;
    CHECK(index < fake_transport.queues);
    uint16_t num = virtq_pick_size(fake_transport.queue_max, max_num, mem_size, VIRTQ_LEGACY_ALIGN);
    if (index >= fake_transport.queues || num == 0 || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    notify->addr = 0;
    notify->value = index;
    fake_transport.vq[index] = vq;
    fake_transport.seen[index] = 0;
    return num;
}

static void fake_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    (void)dev;
    CHECK(notify->value < fake_transport.queues);
    fake_transport.notifies[notify->value % FAKE_TRANSPORT_QUEUES]++; // in bounds even if not
    if (fake_transport.on_notify != NULL) {
        fake_transport.on_notify(notify->value % FAKE_TRANSPORT_QUEUES);
    }
}

static uint32_t fake_isr_ack(virtio_dev_t *dev) {
    (void)dev;
    return fake_transport.isr_next < FAKE_TRANSPORT_ISR_SCRIPT
        ? fake_transport.isr_script[fake_transport.isr_next++] : 0;
}

static uint32_t fake_config_generation(virtio_dev_t *dev) {
    (void)dev;
    return 0;
}

static uint64_t fake_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    (void)dev;
    unsigned field = offset < FAKE_TRANSPORT_CONFIG_SIZE ? fake_transport.config_width[offset] : 0;
    if (field == 0) {
        CHECK(!"config read of an unexpected field");
        return 0;
    }
    CHECK_EQ_U(width, field);
    uint64_t value = 0;
    for (unsigned i = field; i-- > 0;) {
        value = value << 8 | fake_transport.config[offset + i];
    }
    return value;
}

static void fake_config_write(virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value) {
    (void)dev, (void)offset, (void)width, (void)value;
    CHECK(!"config write");
}

static void fake_irq_enable(virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg) {
    (void)dev;
    fake_transport.irq_enabled++;
    fake_transport.status_at_irq_enable = fake_transport.status;
    fake_transport.handler = handler;
    fake_transport.handler_arg = arg;
    if (fake_transport.on_irq_enable != NULL) {
        fake_transport.on_irq_enable(arg);
    }
}

static const virtio_transport_ops_t fake_ops = {
    .get_status = fake_get_status,
    .set_status = fake_set_status,
    .get_features = fake_get_features,
    .set_features = fake_set_features,
    .setup_queue = fake_setup_queue,
    .notify = fake_notify,
    .isr_ack = fake_isr_ack,
    .config_generation = fake_config_generation,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .irq_enable = fake_irq_enable,
};

bool virtio_find(uint32_t device_id, int index, virtio_dev_t *dev) {
    memset(dev, 0, sizeof(*dev));
    // A miss leaves the last transport searched: say, another device's.
    dev->device_id = fake_transport.device_id + 1;
    if (device_id != fake_transport.device_id || index < 0 || index >= fake_transport.devices) {
        return false;
    }
    dev->ops = &fake_ops;
    dev->device_id = device_id;
    dev->modern = fake_transport.modern;
    dev->irq = 48 + index;
    return true;
}
