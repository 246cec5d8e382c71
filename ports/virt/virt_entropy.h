// Random bytes for os.urandom, random's seed and mbedTLS's entropy: from
// the first virtio-rng device, or, without one (or once it failed), from
// the jitter of the CPU's counter under QEMU, a weaker source that still
// differs from boot to boot (never a fixed seed).
#ifndef MICROPY_INCLUDED_VIRT_VIRT_ENTROPY_H
#define MICROPY_INCLUDED_VIRT_VIRT_ENTROPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_rng.h"

// At boot: find the device.
void virt_entropy_init(void);
// Fill out with len bytes; never fails.
void virt_entropy_read(uint8_t *out, size_t len);
// Whether the bytes come from a virtio-rng device (still working).
bool virt_entropy_from_device(void);
// The device's state, NULL without one.
virtio_rng_t *virt_entropy_device(void);

#endif // MICROPY_INCLUDED_VIRT_VIRT_ENTROPY_H
