// VirtIO block device driver (VirtIO 1.2, section 5.2) on any transport:
// one request queue, one request at a time (MicroPython's block protocol is
// synchronous), completed by interrupt while the CPU waits in WFI. Buffers
// are the caller's (no copy, no heap); every device-supplied value is checked.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_BLK_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_dev.h"

// Feature bits (5.2.3).
#define VIRTIO_BLK_F_SIZE_MAX (1)
#define VIRTIO_BLK_F_SEG_MAX (2)
#define VIRTIO_BLK_F_RO (5)
#define VIRTIO_BLK_F_BLK_SIZE (6)
#define VIRTIO_BLK_F_FLUSH (9)

// Config space layout (5.2.4).
#define VIRTIO_BLK_CONFIG_CAPACITY (0)  // le64, in 512-byte sectors
#define VIRTIO_BLK_CONFIG_SIZE_MAX (8)  // le32
#define VIRTIO_BLK_CONFIG_SEG_MAX (12)  // le32
#define VIRTIO_BLK_CONFIG_BLK_SIZE (20) // le32

// Request types and status (5.2.6).
#define VIRTIO_BLK_T_IN (0)
#define VIRTIO_BLK_T_OUT (1)
#define VIRTIO_BLK_T_FLUSH (4)
#define VIRTIO_BLK_S_OK (0)
#define VIRTIO_BLK_S_IOERR (1)
#define VIRTIO_BLK_S_UNSUPP (2)

#define VIRTIO_BLK_SECTOR_SIZE (512)
#define VIRTIO_BLK_QUEUE_SIZE (16)
#define VIRTIO_BLK_MAX_DISKS (4)
// Data of one request: at most this much (or the device's size_max).
#define VIRTIO_BLK_MAX_REQUEST (256 * 1024)
// A request the device has not completed by then is an error.
#define VIRTIO_BLK_TIMEOUT_MS (30000)

// Results: 0, or a negative errno with MicroPython's numbers (py/mperrno.h;
// checked where the Python binding includes both).
#define VIRTIO_BLK_EIO (5)
#define VIRTIO_BLK_ENODEV (19)
#define VIRTIO_BLK_EINVAL (22)
#define VIRTIO_BLK_EROFS (30)
#define VIRTIO_BLK_ETIMEDOUT (110)

typedef struct _virtio_blk_stats_t {
    uint32_t reads;         // requests
    uint32_t writes;
    uint32_t flushes;
    uint32_t io_errors;     // IOERR/UNSUPP, bad status or length, timeouts
    uint32_t irqs;
    uint32_t config_changes;
} virtio_blk_stats_t;

typedef struct _virtio_blk_req_hdr_t {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
} virtio_blk_req_hdr_t;

typedef struct _virtio_blk_t {
    virtio_dev_t dev;
    virtq_t vq;
    virtio_notify_t notify;
    uint64_t capacity;      // 512-byte sectors
    uint32_t blk_size;      // the device's logical block size (512 unless BLK_SIZE)
    uint32_t max_request;   // bytes of data in one request
    bool read_only;
    bool can_flush;
    bool ready;             // set up; false after a fatal device error
    virtio_blk_req_hdr_t hdr;
    volatile uint8_t status;
    virtio_blk_stats_t stats;
    const char *error;      // why the device is not ready (a static string)
} virtio_blk_t;

// Find and start the index'th virtio-blk device. false if there is none, or
// it cannot be used (blk->error says why; blk->dev.device_id is then set).
bool virtio_blk_init(virtio_blk_t *blk, int index);
// Read (write) len bytes at byte offset off: both multiples of 512, within
// the capacity. 0, or -VIRTIO_BLK_E*: EINVAL, EROFS, EIO, ETIMEDOUT, ENODEV.
int virtio_blk_read(virtio_blk_t *blk, uint64_t off, void *buf, size_t len);
int virtio_blk_write(virtio_blk_t *blk, uint64_t off, const void *buf, size_t len);
// Make written data durable (FLUSH where offered; else nothing to do).
int virtio_blk_flush(virtio_blk_t *blk);
// From the interrupt: acknowledge it, re-read a changed capacity.
void virtio_blk_irq(virtio_blk_t *blk);

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_BLK_H
