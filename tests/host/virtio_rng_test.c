// Host tests of the virtio-rng driver (ports/virt/virtio/virtio_rng.c) through the
// transport interface (fake_transport.c): this file plays an entropy device
// on it that answers in full, in part, not at all, or lies about lengths and
// ids. ASan/UBSan.
#include "check.h"
#include "fake_transport.h"
#include "virt_wait.h"
#include "virtio_rng.h"

enum fake_mode { FAKE_OK, FAKE_SHORT, FAKE_EMPTY, FAKE_SILENT, FAKE_TOO_LONG, FAKE_WRONG_ID };

static struct {
    enum fake_mode mode;
    uint8_t next;          // the byte stream the device hands out
} fake;

// The device answers every request the driver made available.
static void fake_run(void) {
    virtq_t *vq = fake_transport.vq[0];
    uint16_t head;
    struct virtq_desc *d;
    while ((d = fake_transport_next(0, &head)) != NULL) {
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
        fake_transport_used(0, fake.mode == FAKE_WRONG_ID ? (head + 1) % vq->num : head,
            fake.mode == FAKE_TOO_LONG ? d->len + 1 : n);
    }
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    CHECK(timeout_ms > 0);
    if (fake.mode != FAKE_SILENT) {
        fake_run();
    }
    return done(arg);
}

// An entropy device has no config: any read of it fails its check.
static void fake_reset(enum fake_mode mode) {
    memset(&fake, 0, sizeof(fake));
    fake_transport_reset(VIRTIO_ID_ENTROPY);
    fake_transport.queue_max = 8;
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
        CHECK_EQ_U(fake_transport.negotiated, VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
        CHECK_EQ_U(fake_transport.irq_enabled, 1);
        CHECK(fake_transport.status & VIRTIO_STATUS_DRIVER_OK);
        CHECK_EQ_U(virtio_rng_read(&rng, out, sizeof(out)), 0);
        for (size_t i = 0; i < sizeof(out); ++i) {
            CHECK_EQ_U(out[i], (uint8_t)i);
        }
        CHECK_EQ_U(rng.bytes, sizeof(out));
        CHECK_EQ_U(rng.requests, modes[m] == FAKE_OK ? 4 : 40); // 64-byte requests, or 5 bytes each
        CHECK_EQ_U(virtio_rng_read(&rng, out, 0), 0);
    }
    fake_reset(FAKE_OK);
    fake_transport.devices = 0;
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
        CHECK(fake_transport.failed > 0);
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
