// Split virtqueues (VirtIO 1.2, section 2.7): the ring memory shared with a
// device, independent of the transport. No MMIO here, so the host tests can
// drive it against a fake device.
#ifndef MICROPY_INCLUDED_VIRT_VIRTQUEUE_H
#define MICROPY_INCLUDED_VIRT_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE (256)

// Descriptor flags (2.7.5).
#define VIRTQ_DESC_F_NEXT (1)
#define VIRTQ_DESC_F_WRITE (2)
// Available ring flags (2.7.6) and used ring flags (2.7.8).
#define VIRTQ_AVAIL_F_NO_INTERRUPT (1)
#define VIRTQ_USED_F_NO_NOTIFY (1)

// The legacy interface needs the used ring on this alignment (2.7.2 / 4.2.4).
#define VIRTQ_LEGACY_ALIGN (4096)

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

// One buffer of a descriptor chain.
typedef struct _virtq_seg_t {
    void *addr;
    uint32_t len;
    bool device_writes;
} virtq_seg_t;

typedef struct _virtq_t {
    uint16_t num;             // a power of two, at most VIRTQ_MAX_SIZE
    bool broken;              // the device moved the used index impossibly
    uint16_t num_free;
    uint16_t free_head;
    uint16_t last_used_idx;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    void *cookie[VIRTQ_MAX_SIZE]; // per chain head: what the caller queued
} virtq_t;

// Bytes of ring memory for a queue of `num` entries laid out with the used
// ring at `align` (the legacy layout; modern devices accept it too).
size_t virtq_mem_size(uint16_t num, uint32_t align);
// The queue size to use: the device's maximum, capped at the driver's and
// rounded down to a power of two (split rings are sized so, 2.7), then
// halved until its rings fit mem_size bytes. 0 if nothing fits.
uint16_t virtq_pick_size(uint32_t device_max, uint16_t driver_max, size_t mem_size, uint32_t align);
// Lay out the rings in `mem` of mem_size bytes (zeroed here; aligned to 4096
// for legacy). false, with nothing written, if num is not a power of two in
// 1..VIRTQ_MAX_SIZE or the rings do not fit.
bool virtq_init(virtq_t *vq, void *mem, size_t mem_size, uint16_t num, uint32_t align);

// Queue one chain; false if there are not enough free descriptors (the
// caller keeps ownership of its buffers then). Makes it visible to the device.
bool virtq_add(virtq_t *vq, const virtq_seg_t *segs, size_t nsegs, void *cookie);
// Take the next used chain: its cookie and the length the device wrote, or
// NULL if none. A head the device reports that we never queued gives NULL and
// *len = UINT32_MAX (a device error the caller counts). A used index that
// moved by more than the queue size (more completions than buffers) sets
// vq->broken: nothing more is taken from that ring, no stale entry walked.
void *virtq_get_used(virtq_t *vq, uint32_t *len);
bool virtq_has_used(const virtq_t *vq);
// Whether the device asked to be notified of new buffers.
bool virtq_should_notify(const virtq_t *vq);
// Ask the device not to interrupt for used buffers / to interrupt again.
// virtq_enable_irq returns true if used buffers arrived meanwhile, so the
// caller drains again instead of waiting for an interrupt that never comes.
void virtq_disable_irq(virtq_t *vq);
bool virtq_enable_irq(virtq_t *vq);

#endif // MICROPY_INCLUDED_VIRT_VIRTQUEUE_H
