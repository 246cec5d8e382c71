// Raw frame queue; see net_raw.h. The NIC interrupt produces, Python
// consumes with interrupts masked; a callback set from Python is scheduled
// when a frame arrives in an empty queue.
#include <string.h>

#include "py/mphal.h"
#include "py/runtime.h"

#include "net_raw.h"
#include "virtio_net.h"

typedef struct {
    uint16_t len;
    uint8_t data[VIRTIO_NET_MAX_FRAME];
} net_raw_frame_t;

static net_raw_frame_t net_raw_queue[NET_RAW_QUEUE_LEN];
static volatile uint32_t net_raw_head; // next to pop
static volatile uint32_t net_raw_tail; // next to push
static volatile bool net_raw_on;
static bool net_raw_notify_pending; // the scheduler was full: notify on the next push

MP_REGISTER_ROOT_POINTER(mp_obj_t net_raw_callback);

bool net_raw_enabled(void) {
    return net_raw_on;
}

void net_raw_set_enabled(bool enabled) {
    net_raw_on = enabled;
}

bool net_raw_push(const uint8_t *frame, size_t len) {
    if (net_raw_tail - net_raw_head >= NET_RAW_QUEUE_LEN || len > VIRTIO_NET_MAX_FRAME) {
        return false;
    }
    bool was_empty = net_raw_tail == net_raw_head;
    net_raw_frame_t *f = &net_raw_queue[net_raw_tail % NET_RAW_QUEUE_LEN];
    f->len = len;
    memcpy(f->data, frame, len);
    net_raw_tail++;
    if ((was_empty || net_raw_notify_pending) && MP_STATE_PORT(net_raw_callback) != MP_OBJ_NULL) {
        net_raw_notify_pending = !mp_sched_schedule(MP_STATE_PORT(net_raw_callback), mp_const_none);
    }
    return true;
}

int net_raw_pop(uint8_t *buf, size_t size) {
    uint32_t state = mp_hal_irq_save();
    int len = -1;
    if (net_raw_head != net_raw_tail) {
        net_raw_frame_t *f = &net_raw_queue[net_raw_head % NET_RAW_QUEUE_LEN];
        len = f->len < size ? f->len : size;
        memcpy(buf, f->data, len);
        net_raw_head++;
    }
    mp_hal_irq_restore(state);
    return len;
}

void net_raw_reset(void) {
    uint32_t state = mp_hal_irq_save();
    net_raw_on = false;
    net_raw_head = net_raw_tail = 0;
    net_raw_notify_pending = false;
    MP_STATE_PORT(net_raw_callback) = MP_OBJ_NULL;
    mp_hal_irq_restore(state);
}
