// Host tests of the virtio-net driver (ports/virt/virtio_net.c) through the
// transport interface: this file is the transport (virtio_transport_ops_t,
// virtio_find) and plays a network device on it, well-behaved or not: an MTU
// too large for our buffers, no MAC, a reset that never completes, causes
// that keep coming, a receive flood, a used index that jumps. ASan/UBSan.
#include <errno.h>

#include "check.h"
#include "virt_random.h"
#include "virt_wait.h"
#include "virtio_net.h"

static struct {
    bool present;
    bool modern;
    uint64_t features;       // offered
    uint8_t mac[6];
    uint16_t mtu;
    uint16_t link_status;
    bool reset_stuck;        // the status never reads 0 after a reset
    uint8_t status;
    uint32_t isr_script[8];  // causes isr_ack reports, one per call, then 0
    int isr_next;
    virtq_t *rxq, *txq;
    uint16_t rx_seen;        // RX buffers the device has taken
    int notifies[2], irq_enabled, status_writes;
    bool cb_set_at_irq_enable;
    uint8_t status_at_irq_enable;
    virtio_irq_handler_t handler;
    void *handler_arg;
    uint32_t random;
} fake;

static virtio_net_t nic;
static int rx_frames, batches, defers, links;

static void on_rx(virtio_net_t *n, const uint8_t *hdr, uint8_t *frame, size_t len) {
    (void)n, (void)hdr, (void)frame, (void)len;
    rx_frames++;
}

static void on_link(virtio_net_t *n, bool up) {
    (void)n, (void)up;
    links++;
}

static void on_batch(virtio_net_t *n) {
    (void)n;
    batches++;
}

static void on_defer(virtio_net_t *n) {
    (void)n;
    defers++;
}

static const virtio_net_callbacks_t callbacks = { on_rx, on_link, on_batch, on_defer };

static void fake_reset(void) {
    memset(&fake, 0, sizeof(fake));
    fake.present = true;
    fake.modern = true;
    fake.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC)
        | VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) | VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT);
    memcpy(fake.mac, "\x52\x54\x00\x12\x34\x56", 6);
    fake.mtu = 1500;
    fake.link_status = VIRTIO_NET_S_LINK_UP;
    fake.random = 12345;
    rx_frames = batches = defers = links = 0;
}

uint32_t virt_random_u32(void) {
    fake.random = fake.random * 1103515245u + 12345u;
    return fake.random;
}

uint64_t virt_time_us(void) {
    static uint64_t now;
    return now += 7; // every poll of the status moves the clock on
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    (void)timeout_ms;
    return done(arg);
}

static uint8_t fake_get_status(virtio_dev_t *dev) {
    (void)dev;
    return fake.status;
}

static void fake_set_status(virtio_dev_t *dev, uint8_t status) {
    (void)dev;
    fake.status_writes++;
    fake.status = (status == 0 && fake.reset_stuck) ? VIRTIO_STATUS_DRIVER : status;
}

static uint64_t fake_get_features(virtio_dev_t *dev) {
    return dev->modern ? fake.features : fake.features & 0xffffffff;
}

static uint64_t negotiated;

static void fake_set_features(virtio_dev_t *dev, uint64_t features) {
    (void)dev;
    CHECK((features & ~fake.features) == 0);
    negotiated = features;
}

static uint16_t fake_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    (void)dev;
    CHECK(index < 2);
    uint16_t num = virtq_pick_size(256, max_num, mem_size, VIRTQ_LEGACY_ALIGN);
    if (num == 0 || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    notify->addr = 0;
    notify->value = index;
    if (index == VIRTIO_NET_RX_QUEUE) {
        fake.rxq = vq;
        fake.rx_seen = 0;
    } else {
        fake.txq = vq;
    }
    return num;
}

static void fake_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    (void)dev;
    fake.notifies[notify->value & 1]++;
}

static uint32_t fake_isr_ack(virtio_dev_t *dev) {
    (void)dev;
    return fake.isr_next < 8 ? fake.isr_script[fake.isr_next++] : 0;
}

static uint32_t fake_config_generation(virtio_dev_t *dev) {
    (void)dev;
    return 0;
}

static uint64_t fake_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    (void)dev;
    if (offset < 6) {
        CHECK_EQ_U(width, 1);
        return fake.mac[offset];
    }
    CHECK_EQ_U(width, 2);
    if (offset == VIRTIO_NET_CONFIG_STATUS) {
        return fake.link_status;
    }
    CHECK_EQ_U(offset, VIRTIO_NET_CONFIG_MTU);
    return fake.mtu;
}

static void fake_config_write(virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value) {
    (void)dev, (void)offset, (void)width, (void)value;
    CHECK(!"config write");
}

static void fake_irq_enable(virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg) {
    (void)dev;
    virtio_net_t *n = arg;
    fake.irq_enabled++;
    fake.cb_set_at_irq_enable = n->cb == &callbacks && n->cb->irq_defer != NULL;
    fake.status_at_irq_enable = fake.status;
    fake.handler = handler;
    fake.handler_arg = arg;
}

static const virtio_transport_ops_t fake_ops = {
    .get_status = fake_get_status,
    .set_status = fake_set_status,
    .get_features = fake_get_features,
    .set_features = fake_set_features,
    .setup_queue = fake_setup_queue,
    .notify = fake_notify,
    .isr_ack = fake_isr_ack,
    .config_generation = fake_config_generation,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .irq_enable = fake_irq_enable,
};

bool virtio_find(uint32_t device_id, int index, virtio_dev_t *dev) {
    memset(dev, 0, sizeof(*dev));
    if (device_id != VIRTIO_ID_NET || index != 0 || !fake.present) {
        return false;
    }
    dev->ops = &fake_ops;
    dev->device_id = VIRTIO_ID_NET;
    dev->modern = fake.modern;
    dev->irq = 48;
    return true;
}

// The device receives n frames of len bytes: takes posted RX buffers and
// returns them used (without publishing the index if publish is false).
static int fake_receive(int n, uint32_t len) {
    virtq_t *vq = fake.rxq;
    int done = 0;
    for (; done < n && fake.rx_seen != vq->avail->idx; ++done) {
        uint16_t head = vq->avail->ring[fake.rx_seen++ % vq->num];
        struct virtq_desc *d = &vq->desc[head];
        CHECK(d->flags & VIRTQ_DESC_F_WRITE);
        uint8_t *buf = (uint8_t *)(uintptr_t)d->addr;
        memset(buf, 0, nic.hdr_len + len);
        struct virtq_used_elem *e = &vq->used->ring[vq->used->idx % vq->num];
        e->id = head;
        e->len = nic.hdr_len + len;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        vq->used->idx++;
    }
    return done;
}

static void test_features_and_mac(void) {
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(nic.ready);
    CHECK(!(negotiated & VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT))); // modern: VERSION_1 says it
    CHECK(negotiated & VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    CHECK(!memcmp(nic.mac, fake.mac, 6) && !nic.mac_random);
    CHECK_EQ_U(nic.hdr_len, VIRTIO_NET_HDR_LEN_MODERN);
    // Legacy: ANY_LAYOUT asked for, no VERSION_1.
    fake_reset();
    fake.modern = false;
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(negotiated & VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT));
    CHECK(!(negotiated & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)));
    CHECK_EQ_U(nic.hdr_len, VIRTIO_NET_HDR_LEN_LEGACY);
    CHECK_EQ_U(nic.rx_segs, 1);
    // No F_MAC: a random locally administered unicast address, kept across
    // a restart; another boot's differs.
    fake_reset();
    fake.features &= ~VIRTIO_FEATURE(VIRTIO_NET_F_MAC);
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    uint8_t first[6];
    memcpy(first, nic.mac, 6);
    CHECK(nic.mac_random);
    CHECK_EQ_U(first[0] & 0x03, 0x02);
    CHECK(memcmp(first, "\0\0\0\0\0\0", 6) != 0);
    CHECK(virtio_net_restart(&nic));
    CHECK(!memcmp(first, nic.mac, 6));
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(memcmp(first, nic.mac, 6) != 0);
    CHECK_EQ_U(nic.mac[0] & 0x03, 0x02);
}

// F_MTU: an MTU our receive path cannot hold has the feature declined
// (read before FEATURES_OK); a smaller one is taken; frames sent are at most
// MTU + Ethernet header.
static void test_mtu(void) {
    static uint8_t frame[VIRTIO_NET_MAX_FRAME];
    fake_reset();
    fake.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    fake.mtu = 9000;
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(!(negotiated & VIRTIO_FEATURE(VIRTIO_NET_F_MTU)));
    CHECK_EQ_U(nic.mtu, 1500);
    CHECK_EQ_U(nic.tx_max_frame, 1514);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1514), 0);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1515), (uint64_t)-EINVAL);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 13), (uint64_t)-EINVAL);
    fake_reset();
    fake.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    fake.mtu = 1280;
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(negotiated & VIRTIO_FEATURE(VIRTIO_NET_F_MTU));
    CHECK_EQ_U(nic.mtu, 1280);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1294), 0);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1295), (uint64_t)-EINVAL);
    fake_reset();
    fake.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    fake.mtu = 40; // below the spec's 68
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(!(negotiated & VIRTIO_FEATURE(VIRTIO_NET_F_MTU)));
    CHECK_EQ_U(nic.mtu, 1500);
}

// A reset whose status never reads 0 fails the device (bounded in time).
static void test_reset_never_completes(void) {
    fake_reset();
    fake.reset_stuck = true;
    CHECK(!virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(!nic.ready);
    CHECK(nic.error != NULL && strstr(nic.error, "reset") != NULL);
    CHECK(fake.status & VIRTIO_STATUS_FAILED);
    CHECK_EQ_U(fake.irq_enabled, 0);
    uint8_t frame[64] = { 0 };
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), (uint64_t)-ENODEV);
}

// The interrupt is enabled last, with every callback in place; the handler
// reads causes until none is left, so a config change behind a used-buffer
// cause is not lost.
static void test_irq_order_and_causes(void) {
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK_EQ_U(fake.irq_enabled, 1);
    CHECK(fake.cb_set_at_irq_enable);
    CHECK(fake.status_at_irq_enable & VIRTIO_STATUS_DRIVER_OK);
    fake.isr_script[0] = VIRTIO_ISR_QUEUE;
    fake.isr_script[1] = VIRTIO_ISR_CONFIG;
    fake.isr_next = 0;
    fake.link_status = 0;
    fake.handler(fake.handler_arg);
    CHECK_EQ_U(fake.isr_next, 3); // read until it said 0
    CHECK_EQ_U(nic.irq_cause, VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    CHECK_EQ_U(defers, 1);
    CHECK_EQ_U(rx_frames, 0); // nothing runs from the interrupt with irq_defer
    virtio_net_service(&nic);
    CHECK_EQ_U(nic.stats.config_changes, 1);
    CHECK_EQ_U(links, 1);
    CHECK(!nic.link_up);
    // A device that never stops raising causes is read a bounded number of times.
    for (int i = 0; i < 8; ++i) {
        fake.isr_script[i] = VIRTIO_ISR_QUEUE;
    }
    fake.isr_next = 0;
    fake.handler(fake.handler_arg);
    CHECK_EQ_U(fake.isr_next, 8);
}

// A flood: at thread level each service hands up at most the budget, ends
// the batch, and reschedules itself; RX interrupts stay off meanwhile, also
// through rx_irq_on.
static void test_rx_budget(void) {
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK_EQ_U(nic.rxq.num, 256);
    int posted = fake_receive(200, 60);
    CHECK_EQ_U(posted, 200);
    nic.irq_cause = VIRTIO_ISR_QUEUE;
    virtio_net_service(&nic);
    CHECK_EQ_U(rx_frames, VIRTIO_NET_RX_BUDGET);
    CHECK_EQ_U(batches, 1);
    CHECK_EQ_U(defers, 1);
    CHECK(nic.rx_deferred);
    CHECK(nic.rxq.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    virtio_net_rx_irq_on(&nic); // an lwIP unlock: must not poll or unmask now
    CHECK_EQ_U(rx_frames, VIRTIO_NET_RX_BUDGET);
    CHECK(nic.rxq.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    virtio_net_service(&nic);
    virtio_net_service(&nic);
    CHECK_EQ_U(rx_frames, 3 * VIRTIO_NET_RX_BUDGET);
    CHECK_EQ_U(batches, 3);
    virtio_net_service(&nic);
    CHECK_EQ_U(rx_frames, 200);
    CHECK_EQ_U(batches, 4);
    CHECK_EQ_U(defers, 3);
    CHECK(!nic.rx_deferred);
    CHECK(!(nic.rxq.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT)); // back on
    CHECK_EQ_U(nic.stats.rx_budget_hits, 3);
    CHECK_EQ_U(nic.stats.rx_packets, 200);
    // Bad frames count against the budget too.
    fake_receive(100, 2);
    virtio_net_service(&nic);
    CHECK_EQ_U(nic.stats.rx_errors, VIRTIO_NET_RX_BUDGET);
    CHECK(nic.rx_deferred);
    virtio_net_service(&nic);
    CHECK_EQ_U(nic.stats.rx_errors, 100);
}

// A used index that moves by more than the queue size: the device is given
// up (FAILED), no stale entries walked, nothing sent any more.
static void test_used_index_jump(void) {
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    fake_receive(1, 60);
    fake.rxq->used->idx += 300;
    nic.irq_cause = VIRTIO_ISR_QUEUE;
    virtio_net_service(&nic);
    CHECK(!nic.ready);
    CHECK(nic.error != NULL && strstr(nic.error, "used index") != NULL);
    CHECK(fake.status & VIRTIO_STATUS_FAILED);
    CHECK(rx_frames <= 1);
    uint8_t frame[64] = { 0 };
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), (uint64_t)-ENODEV);
    // A restart brings it back with fresh rings.
    CHECK(virtio_net_restart(&nic));
    CHECK(nic.ready && !nic.rxq.broken);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), 0);
}

static const test_case_t cases[] = {
    { "features_and_mac", test_features_and_mac },
    { "mtu", test_mtu },
    { "reset_never_completes", test_reset_never_completes },
    { "irq_order_and_causes", test_irq_order_and_causes },
    { "rx_budget", test_rx_budget },
    { "used_index_jump", test_used_index_jump },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
