// Host unit test of ports/virt/blk_cache.c, the disks' read cache and
// write gathering, against a fake disk in RAM that counts its requests and
// can be told to fail. Built with ASan and UBSan by tests/test_virtqueue_host.py.
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_cache.h"
#include "check.h"

#define SECTOR 512
#define CAPACITY (1024 * 1024 + 5 * SECTOR) // not a whole number of lines

typedef struct {
    uint8_t data[CAPACITY];
    int reads, writes;
    int fail_write, fail_read; // the next such request fails with this errno
} fake_disk_t;

static fake_disk_t disk_a, disk_b;
static uint8_t model_a[CAPACITY];

static int fake_io(void *dev, uint64_t addr, void *buf, size_t len, bool write) {
    fake_disk_t *d = dev;
    CHECK(addr % SECTOR == 0 && len % SECTOR == 0);
    if (addr > CAPACITY || len > CAPACITY - addr) {
        return -22;
    }
    if (write) {
        d->writes++;
        if (d->fail_write) {
            int e = d->fail_write;
            d->fail_write = 0;
            return -e;
        }
        memcpy(d->data + addr, buf, len);
    } else {
        d->reads++;
        if (d->fail_read) {
            int e = d->fail_read;
            d->fail_read = 0;
            return -e;
        }
        memcpy(buf, d->data + addr, len);
    }
    return 0;
}

static void reset(void) {
    blk_cache_invalidate(NULL);
    blk_cache_flush(&disk_a, fake_io); // drops a stored error
    blk_cache_flush(&disk_b, fake_io);
    for (size_t i = 0; i < CAPACITY; ++i) {
        disk_a.data[i] = (uint8_t)(i * 7 + i / 511);
        disk_b.data[i] = (uint8_t)~disk_a.data[i];
    }
    memcpy(model_a, disk_a.data, CAPACITY);
    disk_a.reads = disk_a.writes = disk_b.reads = disk_b.writes = 0;
    disk_a.fail_read = disk_a.fail_write = disk_b.fail_read = disk_b.fail_write = 0;
}

static int rd(fake_disk_t *d, uint64_t addr, uint8_t *buf, size_t len) {
    return blk_cache_read(d, CAPACITY, fake_io, addr, buf, len);
}

static int wr(fake_disk_t *d, uint64_t addr, const uint8_t *buf, size_t len) {
    return blk_cache_write(d, CAPACITY, fake_io, addr, buf, len);
}

static void test_reads_fill_lines(void) {
    reset();
    static uint8_t buf[3 * BLK_CACHE_LINE];
    // 4 KiB blocks one after another: one request per line.
    for (uint64_t a = 0; a < 2 * BLK_CACHE_LINE; a += 4096) {
        CHECK_EQ_U(rd(&disk_a, a, buf, 4096), 0);
        CHECK(memcmp(buf, disk_a.data + a, 4096) == 0);
    }
    CHECK_EQ_U(disk_a.reads, 2);
    // A read of whole lines goes straight to the caller and is not kept.
    int before = disk_a.reads;
    CHECK_EQ_U(rd(&disk_a, 4 * BLK_CACHE_LINE, buf, 2 * BLK_CACHE_LINE), 0);
    CHECK(memcmp(buf, disk_a.data + 4 * BLK_CACHE_LINE, 2 * BLK_CACHE_LINE) == 0);
    CHECK_EQ_U(disk_a.reads, before + 2);
    // The other disk's sectors are its own.
    CHECK_EQ_U(rd(&disk_b, 0, buf, SECTOR), 0);
    CHECK(memcmp(buf, disk_b.data, SECTOR) == 0);
}

static void test_end_of_disk(void) {
    reset();
    uint8_t buf[4 * SECTOR];
    uint64_t last = CAPACITY - 2 * SECTOR;
    CHECK_EQ_U(rd(&disk_a, last, buf, 2 * SECTOR), 0);
    CHECK(memcmp(buf, disk_a.data + last, 2 * SECTOR) == 0);
    CHECK(rd(&disk_a, last, buf, 4 * SECTOR) == -22); // past the end: the device's answer
    CHECK(wr(&disk_a, CAPACITY, buf, SECTOR) == -22);
}

static void test_writes_are_gathered_until_flush(void) {
    reset();
    static uint8_t buf[4096];
    for (int i = 0; i < 32; ++i) {
        memset(buf, i + 1, sizeof(buf));
        CHECK_EQ_U(wr(&disk_a, 65536 + i * 4096, buf, 4096), 0);
        memcpy(model_a + 65536 + i * 4096, buf, 4096);
    }
    CHECK_EQ_U(disk_a.writes, 0); // gathered
    CHECK(memcmp(disk_a.data, model_a, CAPACITY) != 0);
    CHECK_EQ_U(blk_cache_flush(&disk_a, fake_io), 0);
    CHECK_EQ_U(disk_a.writes, 1); // 128 KiB in one request
    CHECK(memcmp(disk_a.data, model_a, CAPACITY) == 0);
    // A run stops at BLK_CACHE_RUN bytes.
    static uint8_t big[BLK_CACHE_RUN + 8192];
    memset(big, 0x5a, sizeof(big));
    CHECK_EQ_U(wr(&disk_a, 0, big, sizeof(big)), 0);
    CHECK_EQ_U(disk_a.writes, 2);
    CHECK_EQ_U(blk_cache_flush(&disk_a, fake_io), 0);
    CHECK_EQ_U(disk_a.writes, 3);
    CHECK(disk_a.data[BLK_CACHE_RUN + 8191] == 0x5a);
}

static void test_writes_keep_their_order(void) {
    reset();
    uint8_t x[SECTOR], y[SECTOR];
    memset(x, 1, SECTOR);
    memset(y, 2, SECTOR);
    CHECK_EQ_U(wr(&disk_a, 10 * SECTOR, x, SECTOR), 0);
    CHECK_EQ_U(wr(&disk_a, 3 * SECTOR, y, SECTOR), 0); // not after the run: the run goes first
    CHECK_EQ_U(disk_a.writes, 1);
    CHECK(disk_a.data[10 * SECTOR] == 1 && disk_a.data[3 * SECTOR] != 2);
    CHECK_EQ_U(wr(&disk_b, 0, x, SECTOR), 0); // another disk's write ends disk a's run
    CHECK_EQ_U(disk_a.writes, 2);
    CHECK(disk_a.data[3 * SECTOR] == 2);
    CHECK_EQ_U(blk_cache_flush(&disk_b, fake_io), 0);
    CHECK(disk_b.data[0] == 1);
}

static void test_reads_see_gathered_writes(void) {
    reset();
    uint8_t buf[4096], got[4096];
    uint8_t before[4096];
    CHECK_EQ_U(rd(&disk_a, 8192, before, 4096), 0); // the line is cached
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ_U(wr(&disk_a, 8192 + 512, buf, 1024), 0);
    CHECK_EQ_U(rd(&disk_a, 8192, got, 4096), 0); // a cached line took the write
    CHECK(got[511] == before[511] && got[512] == 0xee && got[1535] == 0xee && got[1536] == before[1536]);
    // A line read from the disk while a run overlaps it: the run goes out first.
    CHECK_EQ_U(wr(&disk_a, 5 * BLK_CACHE_LINE + 4096, buf, 4096), 0);
    int writes = disk_a.writes;
    CHECK_EQ_U(rd(&disk_a, 5 * BLK_CACHE_LINE, got, 512), 0);
    CHECK(disk_a.writes > writes);
    CHECK_EQ_U(rd(&disk_a, 5 * BLK_CACHE_LINE + 4096, got, 4096), 0);
    CHECK(memcmp(got, buf, 4096) == 0);
}

static void test_errors(void) {
    reset();
    uint8_t buf[4096];
    memset(buf, 3, sizeof(buf));
    // A gathered write that fails: the next call of that disk says so, once.
    CHECK_EQ_U(rd(&disk_a, 0, buf, 4096), 0); // cache line 0
    CHECK_EQ_U(wr(&disk_a, 0, buf, 4096), 0);
    disk_a.fail_write = 5;
    CHECK(blk_cache_flush(&disk_a, fake_io) == -5);
    CHECK_EQ_U(blk_cache_flush(&disk_a, fake_io), 0);
    // The line it touched is forgotten: the disk is read again.
    int reads = disk_a.reads;
    CHECK_EQ_U(rd(&disk_a, 0, buf, 512), 0);
    CHECK_EQ_U(disk_a.reads, reads + 1);
    CHECK(memcmp(buf, disk_a.data, 512) == 0);
    // Failed when another disk's write pushed it out: kept for disk a.
    CHECK_EQ_U(wr(&disk_a, 4096, buf, 512), 0);
    disk_a.fail_write = 5;
    CHECK_EQ_U(wr(&disk_b, 0, buf, 512), 0);
    CHECK(rd(&disk_a, 0, buf, 512) == -5);
    CHECK_EQ_U(rd(&disk_a, 0, buf, 512), 0);
    // A failed read caches nothing.
    blk_cache_invalidate(NULL);
    disk_a.fail_read = 5;
    CHECK(rd(&disk_a, 0, buf, 512) == -5);
    reads = disk_a.reads;
    CHECK_EQ_U(rd(&disk_a, 0, buf, 512), 0);
    CHECK_EQ_U(disk_a.reads, reads + 1);
    CHECK(memcmp(buf, disk_a.data, 512) == 0);
}

// Random reads, writes and flushes against a model of disk a: reads always
// see the model, and after each flush the disk is the model.
static void test_random(void) {
    reset();
    static uint8_t buf[3 * BLK_CACHE_LINE], got[3 * BLK_CACHE_LINE];
    rnd_seed(4242);
    for (int op = 0; op < 20000; ++op) {
        size_t sectors = 1 + rnd() % (rnd() % 8 ? 16 : sizeof(buf) / SECTOR);
        uint64_t addr = (uint64_t)(rnd() % (CAPACITY / SECTOR - sectors + 1)) * SECTOR;
        size_t len = sectors * SECTOR;
        if (rnd() % 8 == 0 && op % 3 == 0) {
            addr = (addr / 4096 + 1) * 4096; // sequential-looking runs
            if (addr + len > CAPACITY) {
                continue;
            }
        }
        switch (rnd() % 4) {
            case 0:
            case 1:
                CHECK_EQ_U(rd(&disk_a, addr, got, len), 0);
                CHECK(memcmp(got, model_a + addr, len) == 0);
                break;
            case 2:
                for (size_t i = 0; i < len; ++i) {
                    buf[i] = (uint8_t)rnd();
                }
                CHECK_EQ_U(wr(&disk_a, addr, buf, len), 0);
                memcpy(model_a + addr, buf, len);
                break;
            default:
                if (rnd() % 4 == 0) {
                    CHECK_EQ_U(blk_cache_flush(&disk_a, fake_io), 0);
                    CHECK(memcmp(disk_a.data, model_a, CAPACITY) == 0);
                }
                break;
        }
        if (check_failures) {
            fprintf(stderr, "op %d\n", op);
            return;
        }
    }
}

static const test_case_t cases[] = {
    { "reads_fill_lines", test_reads_fill_lines },
    { "end_of_disk", test_end_of_disk },
    { "writes_are_gathered_until_flush", test_writes_are_gathered_until_flush },
    { "writes_keep_their_order", test_writes_keep_their_order },
    { "reads_see_gathered_writes", test_reads_see_gathered_writes },
    { "errors", test_errors },
    { "random", test_random },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
