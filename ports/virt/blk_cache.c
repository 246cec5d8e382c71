// The disks' read cache (blk_cache.h says why and how).
#include <string.h>

#include "blk_cache.h"

typedef struct _blk_cache_line_t {
    void *dev;         // NULL: empty
    uint64_t base;     // byte address of the line, a multiple of BLK_CACHE_LINE
    uint32_t len;      // bytes held (less than a line at the end of the disk)
    uint32_t last_use; // for least-recently-used replacement
} blk_cache_line_t;

static blk_cache_line_t lines[BLK_CACHE_LINES];
static uint8_t line_data[BLK_CACHE_LINES][BLK_CACHE_LINE] __attribute__((aligned(16)));
static uint32_t use_clock;
blk_cache_stats_t blk_cache_stats;

// The gathered writes: run_len bytes for run_dev at run_addr.
static void *run_dev;
static uint64_t run_addr;
static size_t run_len;
static uint8_t run_data[BLK_CACHE_RUN] __attribute__((aligned(16)));
// A gathered write that failed, reported to run_err_dev's next call.
static void *run_err_dev;
static int run_err;

static int run_write_out(blk_cache_io_t io) {
    if (run_len == 0) {
        return 0;
    }
    ++blk_cache_stats.runs;
    int err = io(run_dev, run_addr, run_data, run_len, true);
    if (err) {
        // What the disk holds there is unknown: forget the lines it touched.
        for (int i = 0; i < BLK_CACHE_LINES; ++i) {
            if (lines[i].dev == run_dev && run_addr < lines[i].base + lines[i].len
                && lines[i].base < run_addr + run_len) {
                lines[i].dev = NULL;
            }
        }
        run_err_dev = run_dev;
        run_err = err;
    }
    run_len = 0;
    return err;
}

// The error of an earlier gathered write of dev's, once.
static int take_run_err(void *dev) {
    if (run_err_dev != dev || run_err == 0) {
        return 0;
    }
    int err = run_err;
    run_err = 0;
    run_err_dev = NULL;
    return err;
}

// Write the run out first if it overlaps [addr, addr + len) of dev.
static int run_write_out_if_overlapping(void *dev, uint64_t addr, uint64_t len, blk_cache_io_t io) {
    if (run_len && run_dev == dev && addr < run_addr + run_len && run_addr < addr + len) {
        run_write_out(io);
        return take_run_err(dev);
    }
    return 0;
}

static int find(void *dev, uint64_t base) {
    for (int i = 0; i < BLK_CACHE_LINES; ++i) {
        if (lines[i].dev == dev && lines[i].base == base) {
            return i;
        }
    }
    return -1;
}

static int victim(void) {
    int best = 0;
    for (int i = 0; i < BLK_CACHE_LINES; ++i) {
        if (lines[i].dev == NULL) {
            return i;
        }
        if (lines[i].last_use < lines[best].last_use) {
            best = i;
        }
    }
    return best;
}

int blk_cache_read(void *dev, uint64_t capacity, blk_cache_io_t io, uint64_t addr, uint8_t *buf, size_t len) {
    int err = take_run_err(dev);
    if (err) {
        return err;
    }
    while (len > 0) {
        uint64_t base = addr - addr % BLK_CACHE_LINE;
        size_t in_line = (size_t)(addr - base);
        size_t n = BLK_CACHE_LINE - in_line < len ? BLK_CACHE_LINE - in_line : len;
        int i = find(dev, base);
        if (i < 0 && in_line == 0 && n == BLK_CACHE_LINE) {
            // A whole line wanted: read it where it goes, keep nothing.
            ++blk_cache_stats.bypasses;
            err = run_write_out_if_overlapping(dev, addr, n, io);
            if (err == 0) {
                err = io(dev, addr, buf, n, false);
            }
            if (err) {
                return err;
            }
        } else {
            if (i < 0) {
                ++blk_cache_stats.misses;
                i = victim();
                lines[i].dev = NULL;
                uint64_t line_len = capacity - base < BLK_CACHE_LINE ? capacity - base : BLK_CACHE_LINE;
                if (base >= capacity || in_line + n > line_len) {
                    return io(dev, addr, buf, len, false); // past the end: the device says why
                }
                err = run_write_out_if_overlapping(dev, base, line_len, io);
                if (err == 0) {
                    err = io(dev, base, line_data[i], (size_t)line_len, false);
                }
                if (err) {
                    return err;
                }
                lines[i].dev = dev;
                lines[i].base = base;
                lines[i].len = (uint32_t)line_len;
            } else {
                ++blk_cache_stats.hits;
            }
            if (in_line + n > lines[i].len) {
                return io(dev, addr, buf, len, false);
            }
            lines[i].last_use = ++use_clock;
            memcpy(buf, line_data[i] + in_line, n);
        }
        addr += n, buf += n, len -= n;
    }
    return 0;
}

int blk_cache_write(void *dev, uint64_t capacity, blk_cache_io_t io, uint64_t addr, const uint8_t *buf, size_t len) {
    int err = take_run_err(dev);
    if (err) {
        return err;
    }
    if (addr >= capacity || len > capacity - addr) {
        return io(dev, addr, (void *)buf, len, true); // the device says why
    }
    // Cached lines take the write now: they show what the disk will hold.
    for (int i = 0; i < BLK_CACHE_LINES; ++i) {
        blk_cache_line_t *line = &lines[i];
        if (line->dev != dev || addr >= line->base + line->len || addr + len <= line->base) {
            continue;
        }
        uint64_t from = addr > line->base ? addr : line->base;
        uint64_t to = addr + len < line->base + line->len ? addr + len : line->base + line->len;
        memcpy(line_data[i] + (from - line->base), buf + (from - addr), (size_t)(to - from));
    }
    while (len > 0) {
        bool follows = run_len && run_dev == dev && addr == run_addr + run_len;
        if (run_len && (!follows || run_len == BLK_CACHE_RUN)) {
            // Another disk's failed run stays for that disk's next call.
            run_write_out(io);
            err = take_run_err(dev);
            if (err) {
                return err;
            }
        }
        if (run_len == 0) {
            run_dev = dev;
            run_addr = addr;
        }
        size_t n = BLK_CACHE_RUN - run_len < len ? BLK_CACHE_RUN - run_len : len;
        memcpy(run_data + run_len, buf, n);
        run_len += n;
        addr += n, buf += n, len -= n;
    }
    return 0;
}

int blk_cache_flush(void *dev, blk_cache_io_t io) {
    if (run_len && run_dev == dev) {
        run_write_out(io);
    }
    return take_run_err(dev);
}

void blk_cache_invalidate(void *dev) {
    if (dev == NULL || run_dev == dev) {
        run_len = 0;
    }
    for (int i = 0; i < BLK_CACHE_LINES; ++i) {
        if (dev == NULL || lines[i].dev == dev) {
            lines[i].dev = NULL;
        }
    }
}
