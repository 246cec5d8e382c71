// A small read cache with read-ahead in front of the disks: a miss reads a
// whole line (BLK_CACHE_LINE bytes) in one request. A virtio-blk request
// costs ~90 us under QEMU whatever its size up to 64 KiB, and filesystems
// read in small pieces: littlefs a 4 KiB block at a time, walking its skip
// lists from a file's last block for every block it reads; FAT a cluster
// (2 KiB on a 64 MiB mkfs.fat image) at a time. Writes that follow each
// other on the disk are gathered into one request of up to BLK_CACHE_RUN
// bytes, written when the run cannot grow, before a read that overlaps
// it, and at blk_cache_flush (the block protocol's SYNC: a file's close or
// flush, os.sync()), so what a program synced is on the disk, and writes
// reach it in the order they were made. Cached lines take every write.
#ifndef MICROPY_INCLUDED_VIRT_BLK_CACHE_H
#define MICROPY_INCLUDED_VIRT_BLK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLK_CACHE_LINE (32 * 1024)
#define BLK_CACHE_LINES (16)
#define BLK_CACHE_RUN (256 * 1024)

// The device below: len bytes at byte address addr, both whole sectors;
// 0 or a negative errno.
typedef int (*blk_cache_io_t)(void *dev, uint64_t addr, void *buf, size_t len, bool write);

// addr and len in whole sectors of the device; capacity in bytes (a line is
// clipped there). Return 0 or the device's negative errno.
int blk_cache_read(void *dev, uint64_t capacity, blk_cache_io_t io, uint64_t addr, uint8_t *buf, size_t len);
int blk_cache_write(void *dev, uint64_t capacity, blk_cache_io_t io, uint64_t addr, const uint8_t *buf, size_t len);
// Write out dev's gathered writes: 0, or the negative errno of a write that
// failed since the last flush.
int blk_cache_flush(void *dev, blk_cache_io_t io);
// Forget dev's lines (dev NULL: all); its gathered writes are dropped.
void blk_cache_invalidate(void *dev);

typedef struct _blk_cache_stats_t {
    uint32_t hits;
    uint32_t misses;
    uint32_t bypasses; // reads of whole lines, straight into the caller's buffer
    uint32_t runs;     // write requests made of gathered writes
} blk_cache_stats_t;
extern blk_cache_stats_t blk_cache_stats;

#endif // MICROPY_INCLUDED_VIRT_BLK_CACHE_H
