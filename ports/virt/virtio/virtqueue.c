// Split virtqueue ring handling; see virtqueue.h.
#include <string.h>

#include "virt_io.h"
#include "virtqueue.h"

static inline uint16_t read_u16(const volatile uint16_t *p) {
    return *p;
}

static size_t align_up(size_t x, size_t a) {
    return (x + a - 1) & ~(a - 1);
}

static size_t avail_size(uint16_t num) {
    return 4 + 2 * (size_t)num + 2; // flags, idx, ring, used_event
}

size_t virtq_mem_size(uint16_t num, uint32_t align) {
    size_t used_off = align_up(16 * (size_t)num + avail_size(num), align);
    return used_off + 4 + 8 * (size_t)num + 2; // flags, idx, ring, avail_event
}

uint16_t virtq_pick_size(uint32_t device_max, uint16_t driver_max, size_t mem_size, uint32_t align) {
    uint32_t num = device_max < driver_max ? device_max : driver_max;
    if (num > VIRTQ_MAX_SIZE) {
        num = VIRTQ_MAX_SIZE;
    }
    while (num & (num - 1)) {
        num &= num - 1; // clear low bits down to the highest one
    }
    while (num > 0 && virtq_mem_size(num, align) > mem_size) {
        num /= 2;
    }
    return num;
}

bool virtq_init(virtq_t *vq, void *mem, size_t mem_size, uint16_t num, uint32_t align) {
    if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)) || virtq_mem_size(num, align) > mem_size) {
        return false;
    }
    memset(mem, 0, virtq_mem_size(num, align));
    vq->num = num;
    vq->broken = false;
    vq->desc = mem;
    vq->avail = (struct virtq_avail *)((uint8_t *)mem + 16 * (size_t)num);
    vq->used = (struct virtq_used *)((uint8_t *)mem + align_up(16 * (size_t)num + avail_size(num), align));
    for (uint16_t i = 0; i < num; ++i) {
        vq->desc[i].next = i + 1;
        vq->cookie[i] = NULL;
    }
    vq->free_head = 0;
    vq->num_free = num;
    vq->last_used_idx = 0;
    return true;
}

bool virtq_add(virtq_t *vq, const virtq_seg_t *segs, size_t nsegs, void *cookie) {
    if (nsegs == 0 || nsegs > vq->num_free) {
        return false;
    }
    uint16_t head = vq->free_head;
    uint16_t i = head;
    for (size_t s = 0; s < nsegs; ++s) {
        struct virtq_desc *d = &vq->desc[i];
        d->addr = virt_io_dma_addr(segs[s].addr);
        d->len = segs[s].len;
        d->flags = (segs[s].device_writes ? VIRTQ_DESC_F_WRITE : 0)
            | (s + 1 < nsegs ? VIRTQ_DESC_F_NEXT : 0);
        if (s + 1 < nsegs) {
            i = d->next;
        }
    }
    vq->free_head = vq->desc[i].next;
    vq->num_free -= nsegs;
    vq->cookie[head] = cookie;

    uint16_t idx = vq->avail->idx;
    vq->avail->ring[idx % vq->num] = head;
    virt_io_wmb(); // descriptors and ring entry before the index
    vq->avail->idx = idx + 1;
    virt_io_mb(); // index before reading used->flags in virtq_should_notify
    return true;
}

bool virtq_has_used(const virtq_t *vq) {
    return !vq->broken && read_u16(&vq->used->idx) != vq->last_used_idx;
}

void *virtq_get_used(virtq_t *vq, uint32_t *len) {
    *len = 0;
    if (!virtq_has_used(vq)) {
        return NULL;
    }
    uint16_t pending = read_u16(&vq->used->idx) - vq->last_used_idx;
    if (pending > vq->num) {
        vq->broken = true; // the entries it claims would lap the ring
        return NULL;
    }
    virt_io_rmb(); // the used index before the entry it covers
    struct virtq_used_elem *e = &vq->used->ring[vq->last_used_idx % vq->num];
    uint32_t id = e->id;
    *len = e->len;
    vq->last_used_idx++;
    if (id >= vq->num || vq->cookie[id] == NULL) {
        *len = UINT32_MAX;
        return NULL;
    }
    void *cookie = vq->cookie[id];
    vq->cookie[id] = NULL;
    // Return the chain to the free list.
    uint16_t n = 1;
    uint16_t last = id;
    while ((vq->desc[last].flags & VIRTQ_DESC_F_NEXT) && n < vq->num) {
        last = vq->desc[last].next;
        ++n;
    }
    vq->desc[last].next = vq->free_head;
    vq->free_head = id;
    vq->num_free += n;
    return cookie;
}

bool virtq_should_notify(const virtq_t *vq) {
    return !(read_u16(&vq->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
}

void virtq_disable_irq(virtq_t *vq) {
    vq->avail->flags |= VIRTQ_AVAIL_F_NO_INTERRUPT;
}

bool virtq_enable_irq(virtq_t *vq) {
    vq->avail->flags &= ~VIRTQ_AVAIL_F_NO_INTERRUPT;
    virt_io_mb(); // flag visible before we look at the used index again
    return virtq_has_used(vq);
}
