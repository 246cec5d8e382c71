// The guest's virtio-blk disks; see virt_disks.h.
#include "virt_disks.h"

static virtio_blk_t virt_disks[VIRTIO_BLK_MAX_DISKS];
static int virt_disks_found;

void virt_disks_init(void) {
    virt_disks_found = 0;
    for (int i = 0; i < VIRTIO_BLK_MAX_DISKS; ++i) {
        // A device that fails to start still counts: Disk(i) then says why.
        if (!virtio_blk_init(&virt_disks[i], i) && virt_disks[i].dev.device_id != VIRTIO_ID_BLOCK) {
            break;
        }
        ++virt_disks_found;
    }
}

int virt_disk_count(void) {
    return virt_disks_found;
}

virtio_blk_t *virt_disk_get(int index) {
    return index >= 0 && index < virt_disks_found ? &virt_disks[index] : NULL;
}
