// Host unit test of ports/virt/virtio/virtqueue.c against a fake device that reads
// the rings as a VirtIO 1.2 device does (fake_virtq_dev.h). Built with ASan
// and UBSan by tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_virtq_dev.h"
#include "virtqueue.h"

// Test cases.

static void test_layout(void) {
    // The driver's size: 256 entries, legacy alignment.
    CHECK_EQ_U(virtq_mem_size(256, 4096), 8192 + 4 + 8 * 256 + 2);
    CHECK_EQ_U(virtq_mem_size(8, 4096), 4096 + 4 + 8 * 8 + 2);
    // 16 descriptors, avail ring (294 bytes so far) padded to 4, used ring.
    CHECK_EQ_U(virtq_mem_size(16, 4), 296 + 4 + 8 * 16 + 2);
    static const uint16_t sizes[] = { 1, 2, 8, 64, 256 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); ++k) {
        rig_t r;
        rig_init(&r, sizes[k], 4096);
        CHECK((void *)r.vq.desc == r.mem);
        CHECK((void *)r.vq.avail == (void *)r.dev.avail);
        CHECK((void *)r.vq.used == (void *)r.dev.used);
        CHECK(((uintptr_t)r.vq.used - (uintptr_t)r.mem) % 4096 == 0);
        CHECK_EQ_U(r.vq.num, sizes[k]);
        CHECK_EQ_U(r.vq.num_free, sizes[k]);
        // Rings zeroed; descriptors zeroed but for the free list's links.
        int zero = 1;
        for (size_t i = 16 * (size_t)sizes[k]; i < r.mem_size; ++i) {
            zero &= ((uint8_t *)r.mem)[i] == 0;
        }
        CHECK(zero);
        for (uint16_t i = 0; i < sizes[k]; ++i) {
            CHECK(r.vq.desc[i].addr == 0 && r.vq.desc[i].len == 0 && r.vq.desc[i].flags == 0);
        }
        CHECK(!virtq_has_used(&r.vq));
        CHECK(virtq_should_notify(&r.vq));
        rig_free(&r);
    }
}

static void test_single_buffer(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    uint8_t buf[100];
    virtq_seg_t seg = { buf, sizeof(buf), true };
    CHECK(virtq_add(&r.vq, &seg, 1, buf));
    CHECK_EQ_U(r.vq.num_free, 7);
    CHECK_EQ_U(r.dev.avail->idx, 1);
    dev_seg_t segs[4];
    int n;
    int head = dev_pop(&r.dev, segs, 4, &n);
    CHECK(head >= 0);
    CHECK_EQ_U(n, 1);
    CHECK(segs[0].addr == buf);
    CHECK_EQ_U(segs[0].len, 100);
    CHECK_EQ_U(segs[0].flags, VIRTQ_DESC_F_WRITE);
    CHECK(!virtq_has_used(&r.vq));
    uint32_t len = 0;
    CHECK(virtq_get_used(&r.vq, &len) == NULL);
    memset(buf, 0x42, 60);
    dev_complete(&r.dev, head, 60);
    CHECK(virtq_has_used(&r.vq));
    CHECK(virtq_get_used(&r.vq, &len) == buf);
    CHECK_EQ_U(len, 60);
    CHECK_EQ_U(r.vq.num_free, 8);
    CHECK(!virtq_has_used(&r.vq));
    // A device-readable buffer has no WRITE flag.
    virtq_seg_t out = { buf, 10, false };
    CHECK(virtq_add(&r.vq, &out, 1, buf + 1));
    head = dev_pop(&r.dev, segs, 4, &n);
    CHECK_EQ_U(segs[0].flags, 0);
    dev_complete(&r.dev, head, 0);
    CHECK(virtq_get_used(&r.vq, &len) == buf + 1);
    CHECK_EQ_U(len, 0);
    rig_free(&r);
}

static void test_chain_of_two(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    uint8_t hdr[12], data[1514];
    // RX-style: both parts device-writable.
    virtq_seg_t rx[2] = { { hdr, sizeof(hdr), true }, { data, sizeof(data), true } };
    CHECK(virtq_add(&r.vq, rx, 2, hdr));
    CHECK_EQ_U(r.vq.num_free, 6);
    // TX-style: both parts device-readable.
    virtq_seg_t tx[2] = { { hdr, sizeof(hdr), false }, { data, 64, false } };
    CHECK(virtq_add(&r.vq, tx, 2, data));
    CHECK_EQ_U(r.vq.num_free, 4);
    // A readable part, then a writable part (a request and its status).
    uint8_t status;
    virtq_seg_t req[2] = { { data, 16, false }, { &status, 1, true } };
    CHECK(virtq_add(&r.vq, req, 2, &status));
    CHECK_EQ_U(r.vq.num_free, 2);

    dev_seg_t segs[4];
    int n;
    int h1 = dev_pop(&r.dev, segs, 4, &n);
    CHECK_EQ_U(n, 2);
    CHECK(segs[0].addr == hdr && segs[0].len == 12 && segs[0].flags == (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE));
    CHECK(segs[1].addr == data && segs[1].len == 1514 && segs[1].flags == VIRTQ_DESC_F_WRITE);
    int h2 = dev_pop(&r.dev, segs, 4, &n);
    CHECK_EQ_U(n, 2);
    CHECK(segs[0].flags == VIRTQ_DESC_F_NEXT && segs[1].flags == 0 && segs[1].len == 64);
    int h3 = dev_pop(&r.dev, segs, 4, &n);
    CHECK_EQ_U(n, 2);
    CHECK(segs[0].flags == VIRTQ_DESC_F_NEXT && segs[1].flags == VIRTQ_DESC_F_WRITE && segs[1].addr == &status);
    CHECK(h1 != h2 && h2 != h3 && h1 != h3);

    dev_complete(&r.dev, (uint16_t)h2, 0);
    dev_complete(&r.dev, (uint16_t)h3, 1);
    dev_complete(&r.dev, (uint16_t)h1, 12 + 60);
    uint32_t len;
    CHECK(virtq_get_used(&r.vq, &len) == data);
    CHECK_EQ_U(len, 0);
    CHECK(virtq_get_used(&r.vq, &len) == &status);
    CHECK_EQ_U(len, 1);
    CHECK(virtq_get_used(&r.vq, &len) == hdr);
    CHECK_EQ_U(len, 72);
    CHECK_EQ_U(r.vq.num_free, 8);
    // nsegs == 0 is refused.
    CHECK(!virtq_add(&r.vq, rx, 0, hdr));
    CHECK_EQ_U(r.vq.num_free, 8);
    rig_free(&r);
}

static void test_out_of_order(void) {
    enum { NUM = 16 };
    rig_t r;
    rig_init(&r, NUM, 4096);
    static uint8_t bufs[NUM][64];
    for (int round = 0; round < 50; ++round) {
        // Fill the ring with a mix of single buffers and pairs.
        int queued = 0;
        for (int k = 0;; ++k) {
            size_t nsegs = (k + round) % 3 == 0 ? 2 : 1;
            virtq_seg_t segs[2] = { { bufs[k % NUM], 32, true }, { bufs[k % NUM] + 32, 32, true } };
            if (!virtq_add(&r.vq, segs, nsegs, bufs[k % NUM])) {
                CHECK(r.vq.num_free < nsegs);
                break;
            }
            queued++;
        }
        // The device takes them all and completes them in a shuffled order.
        int heads[NUM], n = 0, nsegs;
        dev_seg_t segs[4];
        int h;
        while ((h = dev_pop(&r.dev, segs, 4, &nsegs)) >= 0) {
            CHECK(n < NUM);
            heads[n++] = h;
        }
        CHECK_EQ_U(n, queued);
        for (int i = n - 1; i > 0; --i) {
            int j = rnd() % (i + 1);
            int t = heads[i];
            heads[i] = heads[j];
            heads[j] = t;
        }
        void *expect[NUM];
        for (int i = 0; i < n; ++i) {
            expect[i] = (void *)(uintptr_t)r.dev.desc[heads[i]].addr;
            dev_complete(&r.dev, (uint16_t)heads[i], (uint32_t)i);
        }
        // The driver gets them back in completion order, with their lengths.
        for (int i = 0; i < n; ++i) {
            uint32_t len;
            void *c = virtq_get_used(&r.vq, &len);
            CHECK(c == expect[i]);
            CHECK_EQ_U(len, i);
        }
        CHECK(!virtq_has_used(&r.vq));
        CHECK_EQ_U(r.vq.num_free, NUM);
    }
    // The free list is intact: all NUM descriptors can be queued at once.
    virtq_seg_t one = { bufs[0], 1, true };
    for (int i = 0; i < NUM; ++i) {
        CHECK(virtq_add(&r.vq, &one, 1, bufs[i]));
    }
    CHECK(!virtq_add(&r.vq, &one, 1, bufs[0]));
    rig_free(&r);
}

// Many thousands of operations with random chain lengths and completion
// order: the 16-bit ring indices wrap several times.
static void run_wrap(uint16_t num, unsigned long ops) {
    rig_t r;
    rig_init(&r, num, 4096);
    // What the device holds, by head: the cookie the driver gave.
    void *inflight_cookie[VIRTQ_MAX_SIZE] = { 0 };
    int inflight[VIRTQ_MAX_SIZE];
    int n_inflight = 0;
    // FIFO of completed heads the driver has not taken yet.
    static void *done_cookie[1 << 16];
    static uint32_t done_len[1 << 16];
    unsigned long done_head = 0, done_tail = 0;
    unsigned long added = 0, got = 0;
    uint8_t *arena = malloc(num * 3);
    CHECK(arena != NULL);
    unsigned long serial = 0;
    int failures_before = check_failures;

    for (unsigned long op = 0; op < ops; ++op) {
        uint32_t choice = rnd() % 10;
        if (choice < 4) {
            size_t nsegs = 1 + rnd() % (num < 3 ? num : 3);
            virtq_seg_t segs[3];
            for (size_t s = 0; s < nsegs; ++s) {
                segs[s].addr = arena + (rnd() % num) * 3;
                segs[s].len = 1 + rnd() % 2000;
                segs[s].device_writes = s + 1 == nsegs;
            }
            void *cookie = (void *)(uintptr_t)(0x10000 + (serial++ & 0xffffff) * 8);
            uint16_t free_before = r.vq.num_free;
            uint16_t avail_before = r.dev.avail->idx;
            bool ok = virtq_add(&r.vq, segs, nsegs, cookie);
            CHECK(ok == (nsegs <= free_before));
            if (ok) {
                CHECK_EQ_U(r.vq.num_free, free_before - nsegs);
                CHECK_EQ_U((uint16_t)(r.dev.avail->idx - avail_before), 1);
                added++;
                int nseg_dev;
                dev_seg_t dsegs[4];
                int h = dev_pop(&r.dev, dsegs, 4, &nseg_dev);
                CHECK(h >= 0);
                CHECK_EQ_U(nseg_dev, nsegs);
                for (size_t s = 0; s < nsegs && s < 4; ++s) {
                    CHECK(dsegs[s].addr == segs[s].addr);
                    CHECK_EQ_U(dsegs[s].len, segs[s].len);
                }
                if (h >= 0 && h < num) {
                    CHECK(inflight_cookie[h] == NULL);
                    inflight_cookie[h] = cookie;
                    inflight[n_inflight++] = h;
                }
            } else {
                CHECK_EQ_U(r.vq.num_free, free_before);
                CHECK_EQ_U(r.dev.avail->idx, avail_before);
            }
        } else if (choice < 7 && n_inflight > 0) {
            // Complete a random outstanding chain.
            int k = rnd() % n_inflight;
            int h = inflight[k];
            inflight[k] = inflight[--n_inflight];
            uint32_t len = rnd() % 3000;
            done_cookie[done_tail & 0xffff] = inflight_cookie[h];
            done_len[done_tail & 0xffff] = len;
            done_tail++;
            inflight_cookie[h] = NULL;
            dev_complete(&r.dev, (uint16_t)h, len);
        } else {
            // The driver takes what is used, in order.
            int take = rnd() % 4;
            for (int t = 0; t < take; ++t) {
                uint32_t len = 0;
                void *c = virtq_get_used(&r.vq, &len);
                if (done_head == done_tail) {
                    CHECK(c == NULL);
                    break;
                }
                CHECK(c == done_cookie[done_head & 0xffff]);
                CHECK_EQ_U(len, done_len[done_head & 0xffff]);
                done_head++;
                got++;
            }
        }
        if (check_failures != failures_before) {
            fprintf(stderr, "  num=%u: at op %lu\n", num, op);
            break;
        }
    }
    // Drain: complete everything and take it all back.
    while (n_inflight > 0) {
        int h = inflight[--n_inflight];
        done_cookie[done_tail & 0xffff] = inflight_cookie[h];
        done_len[done_tail & 0xffff] = 7;
        done_tail++;
        inflight_cookie[h] = NULL;
        dev_complete(&r.dev, (uint16_t)h, 7);
    }
    uint32_t len;
    void *c;
    while ((c = virtq_get_used(&r.vq, &len)) != NULL) {
        CHECK(c == done_cookie[done_head & 0xffff]);
        done_head++;
        got++;
    }
    CHECK_EQ_U(done_head, done_tail);
    CHECK_EQ_U(got, added);
    CHECK_EQ_U(r.vq.num_free, num);
    // The indices went round the 16-bit space at least twice.
    CHECK(added > 2 * 65536UL);
    printf("  num=%u: %lu chains queued and completed, avail idx %u, used idx %u\n",
        num, added, r.dev.avail->idx, r.dev.used->idx);
    free(arena);
    rig_free(&r);
}

static void test_wraparound(void) {
    run_wrap(256, 1000000);
    run_wrap(8, 1000000);
    run_wrap(2, 1500000);
    run_wrap(1, 2000000);
}

static void test_full_ring(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    uint8_t b[8];
    virtq_seg_t two[2] = { { b, 1, false }, { b + 1, 1, true } };
    for (int i = 0; i < 4; ++i) {
        CHECK(virtq_add(&r.vq, two, 2, b + i));
    }
    CHECK_EQ_U(r.vq.num_free, 0);
    uint16_t idx = r.dev.avail->idx;
    CHECK(!virtq_add(&r.vq, two, 1, b));
    CHECK(!virtq_add(&r.vq, two, 2, b));
    CHECK_EQ_U(r.dev.avail->idx, idx); // nothing was published
    CHECK_EQ_U(r.vq.num_free, 0);
    // One chain back frees two descriptors: a pair fits again, then nothing.
    dev_seg_t segs[4];
    int n;
    int h = dev_pop(&r.dev, segs, 4, &n);
    dev_complete(&r.dev, (uint16_t)h, 1);
    uint32_t len;
    CHECK(virtq_get_used(&r.vq, &len) == b);
    CHECK_EQ_U(r.vq.num_free, 2);
    virtq_seg_t three[3] = { { b, 1, false }, { b, 1, false }, { b, 1, true } };
    CHECK(!virtq_add(&r.vq, three, 3, b)); // more segments than free descriptors
    CHECK_EQ_U(r.vq.num_free, 2);
    CHECK(virtq_add(&r.vq, two, 2, b + 7));
    CHECK(!virtq_add(&r.vq, two, 1, b));
    // A chain as long as the whole ring.
    rig_t big;
    rig_init(&big, 4, 4096);
    virtq_seg_t four[5] = { { b, 1, false }, { b, 2, false }, { b, 3, true }, { b, 4, true }, { b, 5, true } };
    CHECK(!virtq_add(&big.vq, four, 5, b)); // longer than the ring
    CHECK_EQ_U(big.vq.num_free, 4);
    CHECK(virtq_add(&big.vq, four, 4, b));
    CHECK_EQ_U(big.vq.num_free, 0);
    h = dev_pop(&big.dev, segs, 4, &n);
    CHECK_EQ_U(n, 4);
    dev_complete(&big.dev, (uint16_t)h, 10);
    CHECK(virtq_get_used(&big.vq, &len) == b);
    CHECK_EQ_U(big.vq.num_free, 4);
    rig_free(&big);
    rig_free(&r);
}

static void test_unknown_used_id(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    uint8_t b[4];
    uint32_t len = 0;
    // Nothing queued: the device reports head 3, then an id beyond the ring.
    dev_push(&r.dev, 3, 100, 1);
    dev_push(&r.dev, 1000, 100, 1);
    dev_push(&r.dev, UINT32_MAX, 100, 1);
    for (int i = 0; i < 3; ++i) {
        len = 0;
        CHECK(virtq_get_used(&r.vq, &len) == NULL);
        CHECK_EQ_U(len, UINT32_MAX);
    }
    CHECK(!virtq_has_used(&r.vq));
    CHECK_EQ_U(r.vq.num_free, 8);
    // A real completion after the bogus ones still comes through.
    virtq_seg_t two[2] = { { b, 1, false }, { b + 1, 1, true } };
    CHECK(virtq_add(&r.vq, two, 2, b));
    dev_seg_t segs[4];
    int n;
    int h = dev_pop(&r.dev, segs, 4, &n);
    // The second descriptor of the chain is no head: unknown too.
    uint16_t second = r.dev.desc[h].next;
    dev_push(&r.dev, second, 5, 1);
    CHECK(virtq_get_used(&r.vq, &len) == NULL);
    CHECK_EQ_U(len, UINT32_MAX);
    CHECK_EQ_U(r.vq.num_free, 6);
    dev_complete(&r.dev, (uint16_t)h, 2);
    CHECK(virtq_get_used(&r.vq, &len) == b);
    CHECK_EQ_U(len, 2);
    CHECK_EQ_U(r.vq.num_free, 8);
    // The same head reported twice: the second time it is unknown.
    dev_push(&r.dev, (uint32_t)h, 2, 1);
    CHECK(virtq_get_used(&r.vq, &len) == NULL);
    CHECK_EQ_U(len, UINT32_MAX);
    CHECK_EQ_U(r.vq.num_free, 8);
    rig_free(&r);
}

// The drivers drain with
//     for (;;) { uint32_t len; p = virtq_get_used(vq, &len);
//                if (p == NULL) { if (len == UINT32_MAX) { errors++; continue; } break; } ... }
// so "nothing used" must never look like "unknown id". After an unknown id
// has set len = UINT32_MAX, the next call finds nothing; if it leaves len
// alone, the loop above never ends (len is the same stack slot each time
// round, and reading it uninitialised is undefined anyway).
static void test_drain_loop_ends_after_unknown_id(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    dev_push(&r.dev, 5, 64, 1); // the last used entry is bogus
    uint32_t len = 0;
    CHECK(virtq_get_used(&r.vq, &len) == NULL);
    CHECK_EQ_U(len, UINT32_MAX);
    CHECK(virtq_get_used(&r.vq, &len) == NULL); // nothing left
    CHECK(len != UINT32_MAX);
    rig_free(&r);
}

static void test_notify_and_irq_flags(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    uint8_t b[4];
    virtq_seg_t one = { b, 4, true };
    // NO_NOTIFY from the device.
    CHECK(virtq_should_notify(&r.vq));
    r.dev.used->flags = VIRTQ_USED_F_NO_NOTIFY;
    CHECK(virtq_add(&r.vq, &one, 1, b));
    CHECK(!virtq_should_notify(&r.vq));
    r.dev.used->flags = 0;
    CHECK(virtq_should_notify(&r.vq));
    // NO_INTERRUPT from the driver.
    CHECK_EQ_U(r.dev.avail->flags, 0);
    virtq_disable_irq(&r.vq);
    CHECK_EQ_U(r.dev.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    virtq_disable_irq(&r.vq); // idempotent
    CHECK_EQ_U(r.dev.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    // Nothing used meanwhile: enabling says so.
    CHECK(!virtq_enable_irq(&r.vq));
    CHECK_EQ_U(r.dev.avail->flags, 0);
    // Used while masked: enabling reports it, so the caller drains again.
    virtq_disable_irq(&r.vq);
    dev_seg_t segs[2];
    int n;
    int h = dev_pop(&r.dev, segs, 2, &n);
    CHECK(r.dev.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT); // the device would not interrupt
    dev_complete(&r.dev, (uint16_t)h, 4);
    CHECK(virtq_enable_irq(&r.vq));
    CHECK_EQ_U(r.dev.avail->flags, 0);
    uint32_t len;
    CHECK(virtq_get_used(&r.vq, &len) == b);
    CHECK(!virtq_enable_irq(&r.vq));
    // Adding buffers does not touch the interrupt flag.
    virtq_disable_irq(&r.vq);
    CHECK(virtq_add(&r.vq, &one, 1, b));
    CHECK_EQ_U(r.dev.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    // An element written but not yet published (used->idx not advanced) is not seen.
    h = dev_pop(&r.dev, segs, 2, &n);
    dev_release(&r.dev, (uint16_t)h);
    dev_push(&r.dev, (uint32_t)h, 4, 0);
    CHECK(!virtq_has_used(&r.vq));
    CHECK(!virtq_enable_irq(&r.vq));
    r.dev.used->idx = r.dev.used_idx;
    CHECK(virtq_has_used(&r.vq));
    CHECK(virtq_get_used(&r.vq, &len) == b);
    rig_free(&r);
}

// Queue sizes: the device's maximum capped at the driver's, rounded down to
// a power of two, shrunk until the rings fit; virtq_init refuses the rest.
static void test_size_pick_and_init_checks(void) {
    size_t big = virtq_mem_size(VIRTQ_MAX_SIZE, 4096);
    CHECK_EQ_U(virtq_pick_size(1024, 256, big, 4096), 256);
    CHECK_EQ_U(virtq_pick_size(100, 256, big, 4096), 64);   // not a power of two
    CHECK_EQ_U(virtq_pick_size(65535, 512, big, 4096), VIRTQ_MAX_SIZE); // over our table
    CHECK_EQ_U(virtq_pick_size(0, 256, big, 4096), 0);
    CHECK_EQ_U(virtq_pick_size(256, 256, virtq_mem_size(16, 4096), 4096), 16); // ring memory bounds it
    CHECK_EQ_U(virtq_pick_size(256, 256, 100, 4096), 0);
    CHECK_EQ_U(virtq_pick_size(3, 256, big, 4096), 2);
    size_t size = virtq_mem_size(16, 4096);
    void *mem = aligned_alloc(4096, align_up(size, 4096));
    memset(mem, 0xA5, size);
    virtq_t vq;
    CHECK(!virtq_init(&vq, mem, size, 0, 4096));
    CHECK(!virtq_init(&vq, mem, size, 12, 4096));
    CHECK(!virtq_init(&vq, mem, size, 32, 4096)); // does not fit
    CHECK(!virtq_init(&vq, mem, size, VIRTQ_MAX_SIZE * 2, 4096));
    CHECK_EQ_U(((uint8_t *)mem)[0], 0xA5); // nothing written when refused
    CHECK(virtq_init(&vq, mem, size, 16, 4096));
    CHECK_EQ_U(vq.num, 16);
    free(mem);
}

// A used index that moves by more than the queue size claims more
// completions than there are buffers: the queue is marked broken and no
// stale entry is walked, also later.
static void test_used_index_jump_breaks_queue(void) {
    rig_t r;
    rig_init(&r, 8, 4096);
    uint8_t b[8];
    virtq_seg_t one = { b, 8, true };
    CHECK(virtq_add(&r.vq, &one, 1, b));
    int n;
    dev_seg_t segs[2];
    int h = dev_pop(&r.dev, segs, 2, &n);
    dev_complete(&r.dev, (uint16_t)h, 8);
    uint32_t len = 0;
    CHECK(virtq_get_used(&r.vq, &len) == b);
    CHECK(!r.vq.broken);
    // Exactly the queue size ahead is still possible (every buffer used).
    r.dev.used->idx = (uint16_t)(r.vq.last_used_idx + 8);
    CHECK(virtq_has_used(&r.vq));
    r.dev.used->idx = (uint16_t)(r.vq.last_used_idx + 9);
    CHECK(virtq_get_used(&r.vq, &len) == NULL);
    CHECK(r.vq.broken);
    CHECK_EQ_U(len, 0);
    CHECK(!virtq_has_used(&r.vq));
    CHECK(virtq_get_used(&r.vq, &len) == NULL);
    r.dev.used->idx = (uint16_t)(r.vq.last_used_idx + 1); // back to sane: still broken
    CHECK(!virtq_has_used(&r.vq));
    rig_free(&r);
}

static const test_case_t cases[] = {
    { "layout", test_layout },
    { "single_buffer", test_single_buffer },
    { "chain_of_two", test_chain_of_two },
    { "out_of_order", test_out_of_order },
    { "wraparound", test_wraparound },
    { "full_ring", test_full_ring },
    { "unknown_used_id", test_unknown_used_id },
    { "drain_loop_ends_after_unknown_id", test_drain_loop_ends_after_unknown_id },
    { "notify_and_irq_flags", test_notify_and_irq_flags },
    { "size_pick_and_init_checks", test_size_pick_and_init_checks },
    { "used_index_jump_breaks_queue", test_used_index_jump_breaks_queue },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
