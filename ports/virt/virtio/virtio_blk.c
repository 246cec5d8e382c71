// VirtIO block driver; see virtio_blk.h.
#include <string.h>

#include "virt_wait.h"
#include "virtio_blk.h"

#define BLK_SIZE_MIN (512)
#define BLK_SIZE_MAX (64 * 1024)
// Largest capacity taken: byte offsets must fit in 64 bits.
#define CAPACITY_MAX (UINT64_MAX / VIRTIO_BLK_SECTOR_SIZE)

// Room for 256 entries: a legacy virtio-pci disk's queue has the device's
// size (QEMU's default 256), not one we choose.
static uint8_t blk_ring_mem[VIRTIO_BLK_MAX_DISKS][12288] __attribute__((aligned(4096)));

static void blk_irq_handler(void *arg) {
    virtio_blk_irq(arg);
}

// The 64-bit capacity, read until the config generation is stable.
static uint64_t read_capacity(virtio_blk_t *blk) {
    return virtio_dev_config_read_stable(&blk->dev, VIRTIO_BLK_CONFIG_CAPACITY, 8);
}

static uint32_t config_read32(virtio_blk_t *blk, uint32_t offset) {
    return (uint32_t)virtio_dev_config_read(&blk->dev, offset, 4);
}

static bool fail(virtio_blk_t *blk, const char *why) {
    blk->error = why;
    blk->ready = false;
    virtio_dev_fail(&blk->dev);
    return false;
}

static bool device_start(virtio_blk_t *blk, int index) {
    if (!virtio_dev_begin_init(&blk->dev)) {
        return fail(blk, "device reset did not complete");
    }
    uint64_t wanted = VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_FEATURE(VIRTIO_BLK_F_RO)
        | VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH);
    if (!virtio_dev_negotiate(&blk->dev, wanted)) {
        return fail(blk, "feature negotiation failed");
    }
    uint64_t f = blk->dev.features;
    blk->read_only = (f & VIRTIO_FEATURE(VIRTIO_BLK_F_RO)) != 0;
    blk->can_flush = (f & VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH)) != 0;
    blk->capacity = read_capacity(blk);
    if (blk->capacity == 0) {
        return fail(blk, "capacity 0");
    }
    if (blk->capacity > CAPACITY_MAX) {
        return fail(blk, "capacity too large");
    }
    blk->blk_size = VIRTIO_BLK_SECTOR_SIZE;
    if (f & VIRTIO_FEATURE(VIRTIO_BLK_F_BLK_SIZE)) {
        uint32_t bs = config_read32(blk, VIRTIO_BLK_CONFIG_BLK_SIZE);
        if (bs < BLK_SIZE_MIN || bs > BLK_SIZE_MAX || (bs & (bs - 1)) != 0) {
            return fail(blk, "block size not a power of two in 512..65536");
        }
        blk->blk_size = bs;
    }
    blk->max_request = VIRTIO_BLK_MAX_REQUEST;
    if (f & VIRTIO_FEATURE(VIRTIO_BLK_F_SIZE_MAX)) {
        // One data segment per request, so size_max bounds the request.
        uint32_t size_max = config_read32(blk, VIRTIO_BLK_CONFIG_SIZE_MAX);
        if (size_max < blk->blk_size) {
            return fail(blk, "size_max smaller than a block");
        }
        if (size_max < blk->max_request) {
            blk->max_request = size_max & ~(blk->blk_size - 1);
        }
    }
    if (virtio_dev_setup_queue(&blk->dev, 0, &blk->vq, blk_ring_mem[index], sizeof(blk_ring_mem[index]),
        VIRTIO_BLK_QUEUE_SIZE, &blk->notify) < 3) {
        return fail(blk, "request queue unavailable");
    }
    virtio_dev_driver_ok(&blk->dev);
    blk->ready = true;
    blk->error = NULL;
    return true;
}

bool virtio_blk_init(virtio_blk_t *blk, int index) {
    memset(blk, 0, sizeof(*blk));
    if (index < 0 || index >= VIRTIO_BLK_MAX_DISKS || !virtio_find(VIRTIO_ID_BLOCK, index, &blk->dev)) {
        memset(blk, 0, sizeof(*blk)); // the search leaves the last transport it looked at
        return false;
    }
    if (!device_start(blk, index)) {
        return false;
    }
    virtio_dev_irq_enable(&blk->dev, blk_irq_handler, blk);
    return true;
}

void virtio_blk_irq(virtio_blk_t *blk) {
    uint32_t cause = virtio_dev_isr(&blk->dev);
    blk->stats.irqs++;
    if (cause & VIRTIO_ISR_CONFIG) {
        blk->stats.config_changes++;
        uint64_t cap = read_capacity(blk);
        if (cap <= CAPACITY_MAX) { // a resized disk (QEMU's block_resize)
            blk->capacity = cap;
        }
    }
}

static bool used_ready(void *arg) {
    return virtq_has_used(&((virtio_blk_t *)arg)->vq);
}

// Run one request: hdr, then optional data (device_writes for IN), then status.
static int run_request(virtio_blk_t *blk, uint32_t type, uint64_t sector, void *data, uint32_t len) {
    if (!blk->ready) {
        return -VIRTIO_BLK_ENODEV;
    }
    blk->hdr.type = type;
    blk->hdr.reserved = 0;
    blk->hdr.sector = sector;
    blk->status = 0xff; // not a status the device may write
    virtq_seg_t segs[3] = {
        { &blk->hdr, sizeof(blk->hdr), false },
        { data, len, type == VIRTIO_BLK_T_IN },
        { (void *)&blk->status, 1, true },
    };
    size_t n = 0;
    virtq_seg_t chain[3];
    chain[n++] = segs[0];
    if (len > 0) {
        chain[n++] = segs[1];
    }
    chain[n++] = segs[2];
    if (!virtq_add(&blk->vq, chain, n, &blk->hdr)) {
        return -VIRTIO_BLK_EIO; // cannot happen with one request at a time
    }
    if (virtq_should_notify(&blk->vq)) {
        virtio_dev_notify(&blk->dev, &blk->notify);
    }
    if (!virt_wait_until(used_ready, blk, VIRTIO_BLK_TIMEOUT_MS)) {
        // The device holds our buffers: it is unusable from now on.
        blk->stats.io_errors++;
        fail(blk, "request timed out");
        virtio_dev_reset(&blk->dev);
        return -VIRTIO_BLK_ETIMEDOUT;
    }
    uint32_t used_len = 0;
    void *cookie = virtq_get_used(&blk->vq, &used_len);
    // The chain we queued comes back, with at least the status byte written
    // and no more than the buffers it could write.
    uint32_t writable = 1 + (type == VIRTIO_BLK_T_IN ? len : 0);
    if (cookie != &blk->hdr || used_len > writable) {
        blk->stats.io_errors++;
        fail(blk, blk->vq.broken ? "device moved the used index past the queue size"
            : cookie != &blk->hdr ? "device returned a buffer never queued" : "device reported a bad length");
        virtio_dev_reset(&blk->dev);
        return -VIRTIO_BLK_EIO;
    }
    if (blk->status != VIRTIO_BLK_S_OK) {
        blk->stats.io_errors++; // IOERR, UNSUPP, or a status the spec does not define
        return -VIRTIO_BLK_EIO;
    }
    return 0;
}

static int check_range(virtio_blk_t *blk, uint64_t off, size_t len) {
    if (!blk->ready) {
        return -VIRTIO_BLK_ENODEV;
    }
    if (off % VIRTIO_BLK_SECTOR_SIZE || len % VIRTIO_BLK_SECTOR_SIZE) {
        return -VIRTIO_BLK_EINVAL;
    }
    uint64_t sectors = len / VIRTIO_BLK_SECTOR_SIZE;
    if (off / VIRTIO_BLK_SECTOR_SIZE > blk->capacity || sectors > blk->capacity - off / VIRTIO_BLK_SECTOR_SIZE) {
        return -VIRTIO_BLK_EINVAL;
    }
    return 0;
}

static int transfer(virtio_blk_t *blk, uint32_t type, uint64_t off, uint8_t *buf, size_t len) {
    int err = check_range(blk, off, len);
    while (err == 0 && len > 0) {
        uint32_t n = len < blk->max_request ? (uint32_t)len : blk->max_request;
        err = run_request(blk, type, off / VIRTIO_BLK_SECTOR_SIZE, buf, n);
        off += n;
        buf += n;
        len -= n;
    }
    return err;
}

int virtio_blk_read(virtio_blk_t *blk, uint64_t off, void *buf, size_t len) {
    blk->stats.reads++;
    return transfer(blk, VIRTIO_BLK_T_IN, off, buf, len);
}

int virtio_blk_write(virtio_blk_t *blk, uint64_t off, const void *buf, size_t len) {
    if (blk->ready && blk->read_only) {
        return -VIRTIO_BLK_EROFS;
    }
    blk->stats.writes++;
    return transfer(blk, VIRTIO_BLK_T_OUT, off, (uint8_t *)buf, len);
}

int virtio_blk_flush(virtio_blk_t *blk) {
    if (!blk->ready) {
        return -VIRTIO_BLK_ENODEV;
    }
    if (!blk->can_flush || blk->read_only) {
        return 0; // no write cache to flush (5.2.6.2: writes are then durable)
    }
    blk->stats.flushes++;
    return run_request(blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
}
