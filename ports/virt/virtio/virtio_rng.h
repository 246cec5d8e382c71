// VirtIO entropy device driver (VirtIO 1.2, section 5.4) on any transport:
// one request queue, one request at a time into a buffer of the driver's,
// completed by interrupt while the CPU waits in WFI; the length the device
// reports is checked against what it was given.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_RNG_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_dev.h"

#define VIRTIO_RNG_QUEUE_SIZE (4)
#define VIRTIO_RNG_CHUNK (64)        // bytes asked for per request
#define VIRTIO_RNG_TIMEOUT_MS (1000) // a request not answered by then fails
#define VIRTIO_RNG_EIO (5)           // MicroPython's numbers (py/mperrno.h)
#define VIRTIO_RNG_ENODEV (19)
#define VIRTIO_RNG_ETIMEDOUT (110)

typedef struct _virtio_rng_t {
    virtio_dev_t dev;
    virtq_t vq;
    virtio_notify_t notify;
    bool ready;
    const char *error;       // why the device was given up (a static string)
    uint32_t requests;
    uint32_t bytes;
    uint32_t empty;          // requests answered with no bytes
    uint8_t buf[VIRTIO_RNG_CHUNK];
} virtio_rng_t;

// Find and start the index'th entropy device. false if there is none or it
// cannot be used (rng->error says why when one was found).
bool virtio_rng_init(virtio_rng_t *rng, int index);
// Fill out with len bytes from the device: 0, or -VIRTIO_RNG_E* (ENODEV,
// EIO for a device that lies or keeps answering empty, ETIMEDOUT).
int virtio_rng_read(virtio_rng_t *rng, uint8_t *out, size_t len);

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_RNG_H
