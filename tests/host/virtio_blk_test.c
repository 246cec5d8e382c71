// Host tests of the virtio-blk driver (ports/virt/virtio_blk.c) against a
// fake device: this file provides the transport (its virtio_transport_ops_t
// and virtio_find) and the wait the driver calls, and plays the device on a RAM disk when the
// driver waits. Well-behaved and lying devices, under ASan/UBSan.
#include "check.h"
#include "virt_wait.h"
#include "virtio_blk.h"

// The fake device.

enum fake_misbehaviour {
    FAKE_OK,
    FAKE_NEVER_COMPLETES,
    FAKE_STATUS,        // writes fake.status_value as the status
    FAKE_WRONG_ID,      // reports a head it was never given
    FAKE_LONG_USED_LEN, // reports more bytes written than the chain can hold
};

static struct {
    int disks;
    uint32_t version;
    uint64_t features;     // offered
    uint64_t capacity;     // sectors
    uint32_t size_max;
    uint32_t blk_size;
    uint16_t queue_max;
    bool negotiate_ok;
    enum fake_misbehaviour mode;
    uint8_t status_value;
    uint8_t *disk;
    size_t disk_bytes;
    virtq_t *vq;           // the driver's queue, as the device sees it
    uint16_t seen_avail;
    int requests, notifies, failed, max_data_len, flushes, irq_enabled;
    uint32_t isr;          // causes the next isr_ack reports
} fake;

static void fake_reset(uint64_t sectors) {
    free(fake.disk);
    memset(&fake, 0, sizeof(fake));
    fake.disks = 1;
    fake.version = 2;
    fake.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH);
    fake.capacity = sectors;
    fake.queue_max = 128;
    fake.negotiate_ok = true;
    fake.disk_bytes = sectors <= (1 << 16) ? sectors * VIRTIO_BLK_SECTOR_SIZE : 0;
    fake.disk = calloc(1, fake.disk_bytes ? fake.disk_bytes : 1);
}

static uint8_t fake_status;

static uint8_t fake_get_status(virtio_dev_t *dev) {
    (void)dev;
    return fake_status;
}

static void fake_set_status(virtio_dev_t *dev, uint8_t status) {
    (void)dev;
    if (status & VIRTIO_STATUS_FAILED) {
        fake.failed++;
    }
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !fake.negotiate_ok) {
        status &= ~VIRTIO_STATUS_FEATURES_OK; // rejects the features
    }
    fake_status = status;
}

static uint64_t fake_get_features(virtio_dev_t *dev) {
    (void)dev;
    return fake.features;
}

static void fake_set_features(virtio_dev_t *dev, uint64_t features) {
    (void)dev;
    CHECK((features & ~fake.features) == 0); // only what was offered
}

static uint16_t fake_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    (void)dev;
    CHECK_EQ_U(index, 0);
    uint16_t num = virtq_pick_size(fake.queue_max, max_num, mem_size, VIRTQ_LEGACY_ALIGN);
    if (num == 0 || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    notify->addr = 0;
    notify->value = index;
    fake.vq = vq;
    fake.seen_avail = 0;
    return num;
}

static void fake_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    (void)dev;
    CHECK_EQ_U(notify->value, 0);
    fake.notifies++;
}

static uint32_t fake_isr_ack(virtio_dev_t *dev) {
    (void)dev;
    uint32_t cause = fake.isr;
    fake.isr = 0;
    return cause;
}

static uint64_t fake_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    (void)dev;
    switch (offset) {
        case VIRTIO_BLK_CONFIG_CAPACITY:
            CHECK_EQ_U(width, 8);
            return fake.capacity;
        case VIRTIO_BLK_CONFIG_SIZE_MAX:
            CHECK_EQ_U(width, 4);
            return fake.size_max;
        case VIRTIO_BLK_CONFIG_BLK_SIZE:
            CHECK_EQ_U(width, 4);
            return fake.blk_size;
        default:
            CHECK(!"config read of an unexpected field");
            return 0;
    }
}

static void fake_config_write(virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value) {
    (void)dev, (void)offset, (void)width, (void)value;
    CHECK(!"config write");
}

static uint32_t fake_config_generation(virtio_dev_t *dev) {
    (void)dev;
    return 0;
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
    dev->device_id = 1; // as if the last transport searched held a NIC
    if (device_id != VIRTIO_ID_BLOCK || index >= fake.disks) {
        return false;
    }
    dev->ops = &fake_ops;
    dev->device_id = VIRTIO_ID_BLOCK;
    dev->modern = fake.version == 2;
    dev->irq = 48 + index;
    return true;
}

uint64_t virt_time_us(void) {
    static uint64_t now;
    return now += 10;
}

// The device handles every chain the driver made available.
static void fake_run(void) {
    virtq_t *vq = fake.vq;
    while (fake.seen_avail != vq->avail->idx) {
        uint16_t head = vq->avail->ring[fake.seen_avail++ % vq->num];
        struct virtq_desc *d = &vq->desc[head];
        CHECK_EQ_U(d->len, sizeof(virtio_blk_req_hdr_t));
        CHECK(!(d->flags & VIRTQ_DESC_F_WRITE) && (d->flags & VIRTQ_DESC_F_NEXT));
        virtio_blk_req_hdr_t *hdr = (virtio_blk_req_hdr_t *)(uintptr_t)d->addr;
        struct virtq_desc *data = NULL, *status = &vq->desc[d->next];
        if (status->flags & VIRTQ_DESC_F_NEXT) {
            data = status;
            status = &vq->desc[data->next];
            CHECK_EQ_U(!!(data->flags & VIRTQ_DESC_F_WRITE), hdr->type == VIRTIO_BLK_T_IN);
            if ((int)data->len > fake.max_data_len) {
                fake.max_data_len = data->len;
            }
        }
        CHECK(status->len == 1 && (status->flags & VIRTQ_DESC_F_WRITE) && !(status->flags & VIRTQ_DESC_F_NEXT));
        uint8_t st = VIRTIO_BLK_S_OK;
        uint32_t written = 1;
        uint64_t off = hdr->sector * VIRTIO_BLK_SECTOR_SIZE;
        if (hdr->type == VIRTIO_BLK_T_FLUSH) {
            fake.flushes++;
        } else if (data == NULL || hdr->sector > fake.disk_bytes / VIRTIO_BLK_SECTOR_SIZE
                   || data->len > fake.disk_bytes - off) {
            st = VIRTIO_BLK_S_IOERR;
        } else if (hdr->type == VIRTIO_BLK_T_IN) {
            memcpy((void *)(uintptr_t)data->addr, fake.disk + off, data->len);
            written += data->len;
        } else if (hdr->type == VIRTIO_BLK_T_OUT) {
            memcpy(fake.disk + off, (void *)(uintptr_t)data->addr, data->len);
        } else {
            st = VIRTIO_BLK_S_UNSUPP;
        }
        if (fake.mode == FAKE_STATUS) {
            st = fake.status_value;
        }
        *(uint8_t *)(uintptr_t)status->addr = st;
        fake.requests++;
        struct virtq_used_elem *e = &vq->used->ring[vq->used->idx % vq->num];
        e->id = fake.mode == FAKE_WRONG_ID ? (head + 1) % vq->num : head;
        e->len = fake.mode == FAKE_LONG_USED_LEN ? written + 512 : written;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        vq->used->idx++;
    }
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    CHECK(timeout_ms > 0);
    if (fake.mode != FAKE_NEVER_COMPLETES) {
        fake_run();
    }
    return done(arg);
}

// Cases.

static virtio_blk_t blk;

static void fill(uint8_t *buf, size_t len, uint32_t seed) {
    rnd_seed(seed);
    for (size_t i = 0; i < len; ++i) {
        buf[i] = (uint8_t)rnd();
    }
}

static void test_read_write_round_trip(void) {
    fake_reset(2048); // 1 MiB
    CHECK(virtio_blk_init(&blk, 0));
    CHECK(blk.ready && blk.capacity == 2048 && blk.blk_size == 512 && blk.can_flush && !blk.read_only);
    CHECK_EQ_U(fake.irq_enabled, 1);
    static uint8_t out[65536], in[65536];
    fill(out, sizeof(out), 7);
    CHECK_EQ_U(virtio_blk_write(&blk, 512 * 100, out, sizeof(out)), 0);
    CHECK(!memcmp(fake.disk + 512 * 100, out, sizeof(out)));
    CHECK_EQ_U(virtio_blk_read(&blk, 512 * 100, in, sizeof(in)), 0);
    CHECK(!memcmp(in, out, sizeof(out)));
    CHECK_EQ_U(virtio_blk_flush(&blk), 0);
    CHECK_EQ_U(fake.flushes, 1);
    // The last sector is in range; one past it is not, nor anything unaligned.
    CHECK_EQ_U(virtio_blk_read(&blk, 512 * 2047, in, 512), 0);
    CHECK_EQ_U(virtio_blk_read(&blk, 512 * 2048, in, 512), -VIRTIO_BLK_EINVAL);
    CHECK_EQ_U(virtio_blk_read(&blk, 512 * 2047, in, 1024), -VIRTIO_BLK_EINVAL);
    CHECK_EQ_U(virtio_blk_read(&blk, 100, in, 512), -VIRTIO_BLK_EINVAL);
    CHECK_EQ_U(virtio_blk_read(&blk, 0, in, 100), -VIRTIO_BLK_EINVAL);
    CHECK_EQ_U(virtio_blk_read(&blk, UINT64_MAX - 511, in, 512), -VIRTIO_BLK_EINVAL);
    CHECK_EQ_U(blk.stats.io_errors, 0);
    CHECK(blk.vq.num_free == blk.vq.num); // every chain came back
}

static void test_requests_split_at_size_max(void) {
    fake_reset(4096);
    fake.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX);
    fake.size_max = 4096 + 100; // not a multiple of the block: rounded down
    CHECK(virtio_blk_init(&blk, 0));
    CHECK_EQ_U(blk.max_request, 4096);
    static uint8_t buf[1 << 20];
    fill(buf, sizeof(buf), 9);
    int before = fake.requests;
    CHECK_EQ_U(virtio_blk_write(&blk, 0, buf, sizeof(buf)), 0);
    CHECK_EQ_U(fake.requests - before, 256);
    CHECK_EQ_U(fake.max_data_len, 4096);
    CHECK(!memcmp(fake.disk, buf, sizeof(buf)));
    // Without SIZE_MAX the driver's own bound holds.
    fake_reset(4096);
    CHECK(virtio_blk_init(&blk, 0));
    CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, sizeof(buf)), 0);
    CHECK_EQ_U(fake.max_data_len, VIRTIO_BLK_MAX_REQUEST);
}

static void test_read_only_and_no_flush(void) {
    fake_reset(64);
    fake.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_BLK_F_RO);
    CHECK(virtio_blk_init(&blk, 0));
    CHECK(blk.read_only && !blk.can_flush);
    uint8_t buf[512] = { 1 };
    CHECK_EQ_U(virtio_blk_write(&blk, 0, buf, 512), -VIRTIO_BLK_EROFS);
    CHECK_EQ_U(fake.requests, 0); // refused before the device saw it
    CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, 512), 0);
    CHECK_EQ_U(virtio_blk_flush(&blk), 0);
    CHECK_EQ_U(fake.flushes, 0);
}

static void test_device_status_errors(void) {
    uint8_t buf[512];
    static const uint8_t bad[] = { VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP, 3, 0xff };
    for (size_t i = 0; i < sizeof(bad); ++i) {
        fake_reset(64);
        CHECK(virtio_blk_init(&blk, 0));
        fake.mode = FAKE_STATUS;
        fake.status_value = bad[i];
        CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, 512), -VIRTIO_BLK_EIO);
        CHECK_EQ_U(virtio_blk_write(&blk, 0, buf, 512), -VIRTIO_BLK_EIO);
        CHECK_EQ_U(blk.stats.io_errors, 2);
        // An error status is the request's, not the device's: the next one works.
        fake.mode = FAKE_OK;
        CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, 512), 0);
    }
    // A request past the end the device itself refuses (a disk shrunk under us).
    fake_reset(64);
    CHECK(virtio_blk_init(&blk, 0));
    fake.disk_bytes = 512 * 32;
    CHECK_EQ_U(virtio_blk_read(&blk, 512 * 40, buf, 512), -VIRTIO_BLK_EIO);
}

static void test_lying_device_is_taken_out(void) {
    uint8_t buf[1024];
    enum fake_misbehaviour modes[] = { FAKE_WRONG_ID, FAKE_LONG_USED_LEN, FAKE_NEVER_COMPLETES };
    int expect[] = { -VIRTIO_BLK_EIO, -VIRTIO_BLK_EIO, -VIRTIO_BLK_ETIMEDOUT };
    for (size_t i = 0; i < 3; ++i) {
        fake_reset(64);
        CHECK(virtio_blk_init(&blk, 0));
        fake.mode = modes[i];
        CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, sizeof(buf)), expect[i]);
        CHECK(!blk.ready && blk.error != NULL && fake.failed == 1);
        // No further request reaches it.
        int reqs = fake.requests;
        CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, 512), -VIRTIO_BLK_ENODEV);
        CHECK_EQ_U(virtio_blk_write(&blk, 0, buf, 512), -VIRTIO_BLK_ENODEV);
        CHECK_EQ_U(virtio_blk_flush(&blk), -VIRTIO_BLK_ENODEV);
        CHECK_EQ_U(fake.requests, reqs);
    }
}

static void test_bad_config_refused(void) {
    // capacity 0, capacity past 2^64 bytes, block sizes that are no power of
    // two or out of range, size_max under a block, no queue, failed FEATURES_OK.
    struct {
        uint64_t capacity;
        uint32_t blk_size, size_max;
        uint16_t queue_max;
        bool negotiate_ok;
    } cases[] = {
        { 0, 0, 0, 128, true },
        { UINT64_MAX, 0, 0, 128, true },
        { UINT64_MAX / 512 + 1, 0, 0, 128, true },
        { 64, 1000, 0, 128, true },
        { 64, 256, 0, 128, true },
        { 64, 1 << 17, 0, 128, true },
        { 64, 4096, 2048, 128, true },
        { 64, 0, 0, 0, true },
        { 64, 0, 0, 2, true },
        { 64, 0, 0, 128, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        fake_reset(64);
        fake.capacity = cases[i].capacity;
        if (cases[i].blk_size) {
            fake.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE);
            fake.blk_size = cases[i].blk_size;
        }
        if (cases[i].size_max) {
            fake.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX);
            fake.size_max = cases[i].size_max;
        }
        fake.queue_max = cases[i].queue_max;
        fake.negotiate_ok = cases[i].negotiate_ok;
        CHECK(!virtio_blk_init(&blk, 0));
        CHECK(!blk.ready && blk.error != NULL);
        CHECK_EQ_U(blk.dev.device_id, VIRTIO_ID_BLOCK); // there, but unusable
        CHECK_EQ_U(fake.irq_enabled, 0);
        uint8_t buf[512];
        CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, 512), -VIRTIO_BLK_ENODEV);
    }
    // A good 4096-byte logical block size is taken.
    fake_reset(64);
    fake.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE);
    fake.blk_size = 4096;
    CHECK(virtio_blk_init(&blk, 0) && blk.blk_size == 4096);
}

static void test_no_device_and_legacy(void) {
    fake_reset(64);
    fake.disks = 0;
    CHECK(!virtio_blk_init(&blk, 0));
    CHECK_EQ_U(blk.dev.device_id, 0); // not found: nothing left of the search
    CHECK(!virtio_blk_init(&blk, -1) && !virtio_blk_init(&blk, VIRTIO_BLK_MAX_DISKS));
    fake_reset(64);
    fake.version = 1;
    fake.features = VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH);
    CHECK(virtio_blk_init(&blk, 0) && blk.can_flush);
    uint8_t buf[512] = { 5 };
    CHECK_EQ_U(virtio_blk_write(&blk, 512, buf, 512), 0);
    CHECK_EQ_U(fake.disk[512], 5);
}

static void test_config_change_resizes(void) {
    fake_reset(64);
    CHECK(virtio_blk_init(&blk, 0));
    fake.capacity = 32;
    virtio_blk_irq(&blk);
    CHECK_EQ_U(blk.stats.irqs, 1);
    CHECK_EQ_U(blk.capacity, 64); // a VRING interrupt is no config change
}

static const test_case_t cases[] = {
    { "read_write_round_trip", test_read_write_round_trip },
    { "requests_split_at_size_max", test_requests_split_at_size_max },
    { "read_only_and_no_flush", test_read_only_and_no_flush },
    { "device_status_errors", test_device_status_errors },
    { "lying_device_is_taken_out", test_lying_device_is_taken_out },
    { "bad_config_refused", test_bad_config_refused },
    { "no_device_and_legacy", test_no_device_and_legacy },
    { "config_change_resizes", test_config_change_resizes },
};

int main(int argc, char **argv) {
    int r = run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
    free(fake.disk);
    return r;
}
