// Host tests of the virtio-rng driver (ports/virt/virtio_rng.c) through the
// transport interface: this file is the transport and plays an entropy
// device that answers in full, in part, not at all, or lies about lengths
// and ids. ASan/UBSan.
#include "check.h"
#include "virt_wait.h"
#include "virtio_rng.h"

enum fake_mode { FAKE_OK, FAKE_SHORT, FAKE_EMPTY, FAKE_SILENT, FAKE_TOO_LONG, FAKE_WRONG_ID };

static struct {
    bool present;
    enum fake_mode mode;
    uint8_t status;
    virtq_t *vq;
    uint16_t seen;
    uint8_t next;          // the byte stream the device hands out
    int notifies, irq_enabled, failed;
    uint64_t negotiated;
} fake;

static uint8_t fake_get_status(virtio_dev_t *dev) {
    (void)dev;
    return fake.status;
}

static void fake_set_status(virtio_dev_t *dev, uint8_t status) {
    (void)dev;
    fake.failed += (status & VIRTIO_STATUS_FAILED) != 0;
    fake.status = status;
}

static uint64_t fake_get_features(virtio_dev_t *dev) {
    (void)dev;
    return VIRTIO_FEATURE(VIRTIO_F_VERSION_1);
}

static void fake_set_features(virtio_dev_t *dev, uint64_t features) {
    (void)dev;
    fake.negotiated = features;
}

static uint16_t fake_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    (void)dev;
    CHECK_EQ_U(index, 0);
    uint16_t num = virtq_pick_size(8, max_num, mem_size, VIRTQ_LEGACY_ALIGN);
    if (num == 0 || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    notify->addr = 0;
    notify->value = 0;
    fake.vq = vq;
    fake.seen = 0;
    return num;
}

static void fake_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    (void)dev, (void)notify;
    fake.notifies++;
}

static uint32_t fake_isr_ack(virtio_dev_t *dev) {
    (void)dev;
    return 0;
}

static uint32_t fake_config_generation(virtio_dev_t *dev) {
    (void)dev;
    return 0;
}

static uint64_t fake_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    (void)dev, (void)offset, (void)width;
    CHECK(!"an entropy device has no config");
    return 0;
}

static void fake_config_write(virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value) {
    (void)dev, (void)offset, (void)width, (void)value;
    CHECK(!"config write");
}

static void fake_irq_enable(virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg) {
    (void)dev, (void)handler, (void)arg;
    fake.irq_enabled++;
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
    if (device_id != VIRTIO_ID_ENTROPY || index != 0 || !fake.present) {
        return false;
    }
    dev->ops = &fake_ops;
    dev->device_id = VIRTIO_ID_ENTROPY;
    dev->modern = true;
    return true;
}

uint64_t virt_time_us(void) {
    static uint64_t now;
    return now += 11;
}

// The device answers every request the driver made available.
static void fake_run(void) {
    virtq_t *vq = fake.vq;
    while (fake.seen != vq->avail->idx) {
        uint16_t head = vq->avail->ring[fake.seen++ % vq->num];
        struct virtq_desc *d = &vq->desc[head];
        CHECK(d->flags & VIRTQ_DESC_F_WRITE);
        CHECK(!(d->flags & VIRTQ_DESC_F_NEXT));
        uint32_t n = d->len;
        if (fake.mode == FAKE_SHORT) {
            n = n > 5 ? 5 : n;
        } else if (fake.mode == FAKE_EMPTY) {
            n = 0;
        }
        for (uint32_t i = 0; i < n; ++i) {
            ((uint8_t *)(uintptr_t)d->addr)[i] = fake.next++;
        }
        struct virtq_used_elem *e = &vq->used->ring[vq->used->idx % vq->num];
        e->id = fake.mode == FAKE_WRONG_ID ? (head + 1) % vq->num : head;
        e->len = fake.mode == FAKE_TOO_LONG ? d->len + 1 : n;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        vq->used->idx++;
    }
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    CHECK(timeout_ms > 0);
    if (fake.mode != FAKE_SILENT) {
        fake_run();
    }
    return done(arg);
}

static void fake_reset(enum fake_mode mode) {
    memset(&fake, 0, sizeof(fake));
    fake.present = true;
    fake.mode = mode;
}

static virtio_rng_t rng;

// Bytes in full and in parts: every byte the device gave arrives, in order,
// none twice; no features asked for beyond VERSION_1; interrupt enabled.
static void test_reads(void) {
    uint8_t out[200];
    const enum fake_mode modes[] = { FAKE_OK, FAKE_SHORT };
    for (int m = 0; m < 2; ++m) {
        fake_reset(modes[m]);
        CHECK(virtio_rng_init(&rng, 0));
        CHECK_EQ_U(fake.negotiated, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
        CHECK_EQ_U(fake.irq_enabled, 1);
        CHECK(fake.status & VIRTIO_STATUS_DRIVER_OK);
        CHECK_EQ_U(virtio_rng_read(&rng, out, sizeof(out)), 0);
        for (size_t i = 0; i < sizeof(out); ++i) {
            CHECK_EQ_U(out[i], (uint8_t)i);
        }
        CHECK_EQ_U(rng.bytes, sizeof(out));
        CHECK_EQ_U(rng.requests, modes[m] == FAKE_OK ? 4 : 40); // 64-byte requests, or 5 bytes each
        CHECK_EQ_U(virtio_rng_read(&rng, out, 0), 0);
    }
    fake_reset(FAKE_OK);
    fake.present = false;
    CHECK(!virtio_rng_init(&rng, 0));
    CHECK_EQ_U(virtio_rng_read(&rng, out, 1), (uint64_t)-VIRTIO_RNG_ENODEV);
}

// A device that lies or goes quiet is given up with a reason; nothing is
// read from it afterwards.
static void test_misbehaving(void) {
    uint8_t out[16];
    const struct {
        enum fake_mode mode;
        int err;
        const char *why;
    } cases[] = {
        { FAKE_EMPTY, -VIRTIO_RNG_EIO, "no bytes" },
        { FAKE_SILENT, -VIRTIO_RNG_ETIMEDOUT, "timed out" },
        { FAKE_TOO_LONG, -VIRTIO_RNG_EIO, "more bytes" },
        { FAKE_WRONG_ID, -VIRTIO_RNG_EIO, "never queued" },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
        fake_reset(cases[c].mode);
        CHECK(virtio_rng_init(&rng, 0));
        CHECK_EQ_U(virtio_rng_read(&rng, out, sizeof(out)), (uint64_t)cases[c].err);
        CHECK(!rng.ready);
        CHECK(rng.error != NULL && strstr(rng.error, cases[c].why) != NULL);
        CHECK(fake.failed > 0);
        int requests = rng.requests;
        CHECK_EQ_U(virtio_rng_read(&rng, out, sizeof(out)), (uint64_t)-VIRTIO_RNG_ENODEV);
        CHECK_EQ_U(rng.requests, requests);
    }
}

static const test_case_t cases[] = {
    { "reads", test_reads },
    { "misbehaving", test_misbehaving },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
