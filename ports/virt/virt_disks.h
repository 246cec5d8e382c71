// The guest's virtio-blk disks, probed once at power-on.
#ifndef MICROPY_INCLUDED_VIRT_VIRT_DISKS_H
#define MICROPY_INCLUDED_VIRT_VIRT_DISKS_H

#include "virtio_blk.h"

void virt_disks_init(void);
int virt_disk_count(void);
// Disk index's driver state (ready or not), NULL if there is no such disk.
virtio_blk_t *virt_disk_get(int index);

#endif // MICROPY_INCLUDED_VIRT_VIRT_DISKS_H
