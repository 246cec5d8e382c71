// A fake VirtIO transport for the driver tests (virtio_net_test.c,
// virtio_blk_test.c, virtio_rng_test.c): the ops, virtio_find and
// virt_time_us over one state, fake_transport. Each test plays its device on
// it: sets the state, serves the rings with fake_transport_next/_used, and
// checks what the driver did to it.
#ifndef VIRT_HOST_TEST_FAKE_TRANSPORT_H
#define VIRT_HOST_TEST_FAKE_TRANSPORT_H

#include "check.h"
#include "virtio_dev.h"

#define FAKE_TRANSPORT_QUEUES (2)
#define FAKE_TRANSPORT_ISR_SCRIPT (8)
#define FAKE_TRANSPORT_CONFIG_SIZE (64)

typedef struct {
    uint32_t device_id;
    int devices;              // how many virtio_find finds, from index 0
    bool modern;
    uint64_t features;        // offered
    uint64_t negotiated;
    uint8_t status;
    bool reset_stuck;         // the status never reads 0 after a reset
    bool reject_features;     // FEATURES_OK never reads back
    int failed;               // status writes with FAILED
    uint16_t queues;          // how many the device has
    uint16_t queue_max;       // each one's maximum size
    virtq_t *vq[FAKE_TRANSPORT_QUEUES];   // the driver's queues, as the device sees them
    uint16_t seen[FAKE_TRANSPORT_QUEUES]; // available entries the device has taken
    int notifies[FAKE_TRANSPORT_QUEUES];
    uint32_t isr_script[FAKE_TRANSPORT_ISR_SCRIPT]; // causes isr_ack reports, one per call, then 0
    int isr_next;
    uint8_t config[FAKE_TRANSPORT_CONFIG_SIZE];       // little-endian
    uint8_t config_width[FAKE_TRANSPORT_CONFIG_SIZE]; // of the field starting there, 0 for none
    int irq_enabled;
    uint8_t status_at_irq_enable;
    virtio_irq_handler_t handler;
    void *handler_arg;
    void (*on_irq_enable)(void *arg); // the test's look at the driver then
    void (*on_notify)(int queue);     // the device's answer to a notification, if any
} fake_transport_t;

extern fake_transport_t fake_transport;

// A new case: one modern device_id device offering VERSION_1, with one queue
// of at most 256 entries, no config fields and no interrupt causes.
void fake_transport_reset(uint32_t device_id);

// Make offset a config field of width bytes (1, 2, 4, 8) holding value; the
// driver must read it at that width.
void fake_transport_set_config(uint32_t offset, unsigned width, uint64_t value);

// The next chain the driver made available on queue (its first descriptor,
// the head's index in *head), NULL if none.
struct virtq_desc *fake_transport_next(int queue, uint16_t *head);

// Return a chain used: id as the head (or a lie), len bytes written.
void fake_transport_used(int queue, uint32_t id, uint32_t len);

#endif // VIRT_HOST_TEST_FAKE_TRANSPORT_H
