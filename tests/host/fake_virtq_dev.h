// The fake device of tests/host/virtqueue_test.c: it reads the rings the
// way a VirtIO 1.2 device does (section 2.7), from its own reading of the
// split layout, takes chains from the available ring, checks every
// descriptor, and completes chains through the used ring in any order.
// Static functions: one test program includes it.
#ifndef VIRT_HOST_TEST_FAKE_VIRTQ_DEV_H
#define VIRT_HOST_TEST_FAKE_VIRTQ_DEV_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "virtqueue.h"

typedef struct {
    void *addr;
    uint32_t len;
    uint16_t flags;
} dev_seg_t;

typedef struct {
    uint16_t num;
    volatile struct virtq_desc *desc;
    volatile struct virtq_avail *avail;
    volatile uint16_t *used_event; // after the avail ring (unused: no EVENT_IDX)
    volatile struct virtq_used *used;
    uint16_t last_avail;
    uint16_t used_idx;
    uint8_t busy[VIRTQ_MAX_SIZE]; // descriptors the device holds
    unsigned long popped, completed;
} fake_dev_t;

static size_t align_up(size_t x, size_t a) {
    return (x + a - 1) / a * a;
}

static void dev_init(fake_dev_t *d, void *mem, uint16_t num, uint32_t align) {
    memset(d, 0, sizeof(*d));
    d->num = num;
    uint8_t *base = mem;
    d->desc = (struct virtq_desc *)base;
    d->avail = (struct virtq_avail *)(base + 16 * num);
    d->used_event = (uint16_t *)(base + 16 * num + 4 + 2 * num);
    d->used = (struct virtq_used *)(base + align_up(16 * num + 6 + 2 * num, align));
}

static int dev_has_avail(const fake_dev_t *d) {
    return d->avail->idx != d->last_avail;
}

// Take the next available chain; returns its head and fills segs (at most
// max). Checks what a device would reject.
static int dev_pop(fake_dev_t *d, dev_seg_t *segs, int max, int *nsegs) {
    if (!dev_has_avail(d)) {
        return -1;
    }
    // Never more chains outstanding than the ring holds.
    CHECK((uint16_t)(d->avail->idx - d->last_avail) <= d->num);
    uint16_t head = d->avail->ring[d->last_avail % d->num];
    d->last_avail++;
    CHECK(head < d->num);
    int n = 0;
    uint16_t i = head;
    int seen_write = 0;
    for (;;) {
        CHECK(i < d->num);
        if (i >= d->num) {
            break;
        }
        CHECK(!d->busy[i]); // handed out twice, or a loop
        d->busy[i] = 1;
        uint16_t flags = d->desc[i].flags;
        CHECK((flags & ~(VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE)) == 0);
        // Device-readable descriptors come before device-writable ones (VirtIO
        // 1.2, section 2.7.4, its second subsection: a spec section, no address).
        if (flags & VIRTQ_DESC_F_WRITE) {
            seen_write = 1;
        } else {
            CHECK(!seen_write);
        }
        if (n < max) {
            segs[n].addr = (void *)(uintptr_t)d->desc[i].addr;
            segs[n].len = d->desc[i].len;
            segs[n].flags = flags;
        }
        n++;
        CHECK(n <= d->num);
        if (!(flags & VIRTQ_DESC_F_NEXT) || n > d->num) {
            break;
        }
        i = d->desc[i].next;
    }
    *nsegs = n;
    d->popped++;
    return head;
}

static void dev_release(fake_dev_t *d, uint16_t head) {
    uint16_t i = head;
    for (int n = 0; n < d->num; ++n) {
        CHECK(d->busy[i]);
        d->busy[i] = 0;
        if (!(d->desc[i].flags & VIRTQ_DESC_F_NEXT)) {
            break;
        }
        i = d->desc[i].next;
    }
}

// Put an element on the used ring; publish=0 leaves used->idx for later.
static void dev_push(fake_dev_t *d, uint32_t id, uint32_t len, int publish) {
    d->used->ring[d->used_idx % d->num].id = id;
    d->used->ring[d->used_idx % d->num].len = len;
    d->used_idx++;
    if (publish) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        d->used->idx = d->used_idx;
    }
}

static void dev_complete(fake_dev_t *d, uint16_t head, uint32_t len) {
    dev_release(d, head);
    dev_push(d, head, len, 1);
    d->completed++;
}

// A queue with its ring memory and the device on it.

typedef struct {
    virtq_t vq;
    fake_dev_t dev;
    void *mem;
    size_t mem_size;
} rig_t;

static void rig_init(rig_t *r, uint16_t num, uint32_t align) {
    memset(r, 0, sizeof(*r));
    r->mem_size = virtq_mem_size(num, align);
    r->mem = aligned_alloc(4096, align_up(r->mem_size, 4096));
    CHECK(r->mem != NULL);
    memset(r->mem, 0xA5, align_up(r->mem_size, 4096)); // virtq_init must zero it
    CHECK(virtq_init(&r->vq, r->mem, r->mem_size, num, align));
    dev_init(&r->dev, r->mem, num, align);
}

static void rig_free(rig_t *r) {
    free(r->mem);
}

#endif // VIRT_HOST_TEST_FAKE_VIRTQ_DEV_H
