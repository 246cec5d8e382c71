// Host tests of the virtio-blk driver (ports/virt/virtio/virtio_blk.c) through the
// transport interface (fake_transport.c): this file provides the wait the
// driver calls and plays the device on a RAM disk when the driver waits.
// Well-behaved and lying devices, under ASan/UBSan.
#include "check.h"
#include "fake_transport.h"
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
    enum fake_misbehaviour mode;
    uint8_t status_value;
    uint8_t *disk;
    size_t disk_bytes;
    int requests, max_data_len, flushes;
} fake;

static void fake_reset(uint64_t sectors) {
    free(fake.disk);
    memset(&fake, 0, sizeof(fake));
    fake_transport_reset(VIRTIO_ID_BLOCK);
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH);
    fake_transport.queue_max = 128;
    fake_transport_set_config(VIRTIO_BLK_CONFIG_CAPACITY, 8, sectors);
    fake_transport_set_config(VIRTIO_BLK_CONFIG_SIZE_MAX, 4, 0);
    fake_transport_set_config(VIRTIO_BLK_CONFIG_BLK_SIZE, 4, 0);
    fake.disk_bytes = sectors <= (1 << 16) ? sectors * VIRTIO_BLK_SECTOR_SIZE : 0;
    fake.disk = calloc(1, fake.disk_bytes ? fake.disk_bytes : 1);
}

// The device handles every chain the driver made available.
static void fake_run(void) {
    virtq_t *vq = fake_transport.vq[0];
    uint16_t head;
    struct virtq_desc *d;
    while ((d = fake_transport_next(0, &head)) != NULL) {
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
        fake_transport_used(0, fake.mode == FAKE_WRONG_ID ? (head + 1) % vq->num : head,
            fake.mode == FAKE_LONG_USED_LEN ? written + 512 : written);
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
    CHECK_EQ_U(fake_transport.irq_enabled, 1);
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
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX);
    fake_transport_set_config(VIRTIO_BLK_CONFIG_SIZE_MAX, 4, 4096 + 100); // not a multiple of the block: rounded down
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
    fake_transport.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_BLK_F_RO);
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
        CHECK(!blk.ready && blk.error != NULL && fake_transport.failed == 1);
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
        fake_transport_set_config(VIRTIO_BLK_CONFIG_CAPACITY, 8, cases[i].capacity);
        if (cases[i].blk_size) {
            fake_transport.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE);
            fake_transport_set_config(VIRTIO_BLK_CONFIG_BLK_SIZE, 4, cases[i].blk_size);
        }
        if (cases[i].size_max) {
            fake_transport.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX);
            fake_transport_set_config(VIRTIO_BLK_CONFIG_SIZE_MAX, 4, cases[i].size_max);
        }
        fake_transport.queue_max = cases[i].queue_max;
        fake_transport.reject_features = !cases[i].negotiate_ok;
        CHECK(!virtio_blk_init(&blk, 0));
        CHECK(!blk.ready && blk.error != NULL);
        CHECK_EQ_U(blk.dev.device_id, VIRTIO_ID_BLOCK); // there, but unusable
        CHECK_EQ_U(fake_transport.irq_enabled, 0);
        uint8_t buf[512];
        CHECK_EQ_U(virtio_blk_read(&blk, 0, buf, 512), -VIRTIO_BLK_ENODEV);
    }
    // A good 4096-byte logical block size is taken.
    fake_reset(64);
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE);
    fake_transport_set_config(VIRTIO_BLK_CONFIG_BLK_SIZE, 4, 4096);
    CHECK(virtio_blk_init(&blk, 0) && blk.blk_size == 4096);
}

static void test_no_device_and_legacy(void) {
    fake_reset(64);
    fake_transport.devices = 0;
    CHECK(!virtio_blk_init(&blk, 0));
    CHECK_EQ_U(blk.dev.device_id, 0); // not found: nothing left of the search
    CHECK(!virtio_blk_init(&blk, -1) && !virtio_blk_init(&blk, VIRTIO_BLK_MAX_DISKS));
    fake_reset(64);
    fake_transport.modern = false;
    fake_transport.features = VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH);
    CHECK(virtio_blk_init(&blk, 0) && blk.can_flush);
    uint8_t buf[512] = { 5 };
    CHECK_EQ_U(virtio_blk_write(&blk, 512, buf, 512), 0);
    CHECK_EQ_U(fake.disk[512], 5);
}

static void test_config_change_resizes(void) {
    fake_reset(64);
    CHECK(virtio_blk_init(&blk, 0));
    fake_transport_set_config(VIRTIO_BLK_CONFIG_CAPACITY, 8, 32);
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
