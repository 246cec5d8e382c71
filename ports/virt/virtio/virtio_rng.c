// VirtIO entropy driver; see virtio_rng.h.
#include <string.h>

#include "virt_wait.h"
#include "virtio_rng.h"

// Empty answers in a row before the device counts as broken: the spec lets
// a device return fewer bytes than asked (5.4.6), not none for ever.
#define VIRTIO_RNG_EMPTY_MAX (16)

static uint8_t rng_ring_mem[8192] __attribute__((aligned(4096)));

static void rng_irq_handler(void *arg) {
    virtio_rng_t *rng = arg;
    virtio_dev_isr(&rng->dev); // the wait looks at the used ring itself
}

static bool give_up(virtio_rng_t *rng, const char *why) {
    rng->ready = false;
    rng->error = why;
    virtio_dev_fail(&rng->dev);
    return false;
}

bool virtio_rng_init(virtio_rng_t *rng, int index) {
    memset(rng, 0, sizeof(*rng));
    if (index != 0 || !virtio_find(VIRTIO_ID_ENTROPY, index, &rng->dev)) {
        return false;
    }
    if (!virtio_dev_begin_init(&rng->dev)) {
        return give_up(rng, "device reset did not complete");
    }
    if (!virtio_dev_negotiate(&rng->dev, 0)) { // no device-specific features (5.4.3)
        return give_up(rng, "feature negotiation failed");
    }
    if (virtio_dev_setup_queue(&rng->dev, 0, &rng->vq, rng_ring_mem, sizeof(rng_ring_mem), VIRTIO_RNG_QUEUE_SIZE,
        &rng->notify) == 0) {
        return give_up(rng, "request queue unavailable");
    }
    virtio_dev_driver_ok(&rng->dev);
    rng->ready = true;
    virtio_dev_irq_enable(&rng->dev, rng_irq_handler, rng);
    return true;
}

static bool used_ready(void *arg) {
    return virtq_has_used(&((virtio_rng_t *)arg)->vq);
}

// One request for up to VIRTIO_RNG_CHUNK bytes: how many came, or -errno.
static int request(virtio_rng_t *rng, uint32_t want) {
    virtq_seg_t seg = { rng->buf, want, true };
    if (!virtq_add(&rng->vq, &seg, 1, rng->buf)) {
        give_up(rng, "request queue full");
        return -VIRTIO_RNG_EIO;
    }
    if (virtq_should_notify(&rng->vq)) {
        virtio_dev_notify(&rng->dev, &rng->notify);
    }
    rng->requests++;
    if (!virt_wait_until(used_ready, rng, VIRTIO_RNG_TIMEOUT_MS)) {
        give_up(rng, "request timed out"); // the device keeps our buffer: unusable now
        virtio_dev_reset(&rng->dev);
        return -VIRTIO_RNG_ETIMEDOUT;
    }
    uint32_t len = 0;
    void *cookie = virtq_get_used(&rng->vq, &len);
    if (cookie != rng->buf || len > want) {
        give_up(rng, rng->vq.broken ? "device moved the used index past the queue size"
            : cookie != rng->buf ? "device returned a buffer never queued" : "device reported more bytes than asked");
        virtio_dev_reset(&rng->dev);
        return -VIRTIO_RNG_EIO;
    }
    return (int)len;
}

int virtio_rng_read(virtio_rng_t *rng, uint8_t *out, size_t len) {
    int empty = 0;
    while (len > 0) {
        if (!rng->ready) {
            return -VIRTIO_RNG_ENODEV;
        }
        uint32_t want = len < VIRTIO_RNG_CHUNK ? (uint32_t)len : VIRTIO_RNG_CHUNK;
        int got = request(rng, want);
        if (got < 0) {
            return got;
        }
        if (got == 0) {
            rng->empty++;
            if (++empty >= VIRTIO_RNG_EMPTY_MAX) {
                give_up(rng, "device answers with no bytes");
                return -VIRTIO_RNG_EIO;
            }
            continue;
        }
        empty = 0;
        memcpy(out, rng->buf, (size_t)got);
        memset(rng->buf, 0, (size_t)got); // no copy of handed-out entropy stays behind
        out += got;
        len -= (size_t)got;
        rng->bytes += (uint32_t)got;
    }
    return 0;
}
