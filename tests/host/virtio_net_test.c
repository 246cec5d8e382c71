// Host tests of the virtio-net driver (ports/virt/virtio/virtio_net.c) through the
// transport interface (fake_transport.c): this file plays a network device on
// it, well-behaved or not: an MTU too large for our buffers, no MAC, a reset
// that never completes, causes that keep coming, a receive flood, a used
// index that jumps. ASan/UBSan.
#include <errno.h>

#include "check.h"
#include "fake_transport.h"
#include "virt_random.h"
#include "virt_wait.h"
#include "virtio_net.h"

static struct {
    bool cb_set_at_irq_enable;
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

// Whether every callback is in place once the interrupt can come.
static void check_callbacks(void *arg) {
    virtio_net_t *n = arg;
    fake.cb_set_at_irq_enable = n->cb == &callbacks && n->cb->irq_defer != NULL;
}

static void fake_reset(void) {
    memset(&fake, 0, sizeof(fake));
    fake_transport_reset(VIRTIO_ID_NET);
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | VIRTIO_FEATURE(VIRTIO_NET_F_STATUS)
        | VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT);
    fake_transport.queues = 2;
    fake_transport.on_irq_enable = check_callbacks;
    for (int i = 0; i < 6; ++i) {
        fake_transport_set_config(VIRTIO_NET_CONFIG_MAC + i, 1, (uint8_t)"\x52\x54\x00\x12\x34\x56"[i]);
    }
    fake_transport_set_config(VIRTIO_NET_CONFIG_STATUS, 2, VIRTIO_NET_S_LINK_UP);
    fake_transport_set_config(VIRTIO_NET_CONFIG_MTU, 2, 1500);
    fake.random = 12345;
    rx_frames = batches = defers = links = 0;
}

uint32_t virt_random_u32(void) {
    fake.random = fake.random * 1103515245u + 12345u;
    return fake.random;
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    (void)timeout_ms;
    return done(arg);
}

// The device receives n frames of len bytes: takes posted RX buffers and
// returns them used.
static int fake_receive(int n, uint32_t len) {
    int done = 0;
    uint16_t head;
    struct virtq_desc *d;
    while (done < n && (d = fake_transport_next(VIRTIO_NET_RX_QUEUE, &head)) != NULL) {
        CHECK(d->flags & VIRTQ_DESC_F_WRITE);
        memset((uint8_t *)(uintptr_t)d->addr, 0, nic.hdr_len + len);
        fake_transport_used(VIRTIO_NET_RX_QUEUE, head, nic.hdr_len + len);
        done++;
    }
    return done;
}

static void test_features_and_mac(void) {
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(nic.ready);
    CHECK(!(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT))); // modern: VERSION_1 says it
    CHECK(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_F_VERSION_1));
    CHECK(!memcmp(nic.mac, fake_transport.config + VIRTIO_NET_CONFIG_MAC, 6) && !nic.mac_random);
    CHECK_EQ_U(nic.hdr_len, VIRTIO_NET_HDR_LEN_MODERN);
    // Legacy: ANY_LAYOUT asked for, no VERSION_1.
    fake_reset();
    fake_transport.modern = false;
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT));
    CHECK(!(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)));
    CHECK_EQ_U(nic.hdr_len, VIRTIO_NET_HDR_LEN_LEGACY);
    CHECK_EQ_U(nic.rx_segs, 1);
    // No F_MAC: a random locally administered unicast address, kept across
    // a restart; another boot's differs.
    fake_reset();
    fake_transport.features &= ~VIRTIO_FEATURE(VIRTIO_NET_F_MAC);
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
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    fake_transport_set_config(VIRTIO_NET_CONFIG_MTU, 2, 9000);
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(!(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_NET_F_MTU)));
    CHECK_EQ_U(nic.mtu, 1500);
    CHECK_EQ_U(nic.tx_max_frame, 1514);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1514), 0);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1515), (uint64_t)-EINVAL);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 13), (uint64_t)-EINVAL);
    fake_reset();
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    fake_transport_set_config(VIRTIO_NET_CONFIG_MTU, 2, 1280);
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_NET_F_MTU));
    CHECK_EQ_U(nic.mtu, 1280);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1294), 0);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, 1295), (uint64_t)-EINVAL);
    fake_reset();
    fake_transport.features |= VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    fake_transport_set_config(VIRTIO_NET_CONFIG_MTU, 2, 40); // below the spec's 68
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(!(fake_transport.negotiated & VIRTIO_FEATURE(VIRTIO_NET_F_MTU)));
    CHECK_EQ_U(nic.mtu, 1500);
}

// A reset whose status never reads 0 fails the device (bounded in time).
static void test_reset_never_completes(void) {
    fake_reset();
    fake_transport.reset_stuck = true;
    CHECK(!virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK(!nic.ready);
    CHECK(nic.error != NULL && strstr(nic.error, "reset") != NULL);
    CHECK(fake_transport.status & VIRTIO_STATUS_FAILED);
    CHECK_EQ_U(fake_transport.irq_enabled, 0);
    uint8_t frame[64] = { 0 };
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), (uint64_t)-ENODEV);
}

// The interrupt is enabled last, with every callback in place; the handler
// reads causes until none is left, so a config change behind a used-buffer
// cause is not lost.
static void test_irq_order_and_causes(void) {
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    CHECK_EQ_U(fake_transport.irq_enabled, 1);
    CHECK(fake.cb_set_at_irq_enable);
    CHECK(fake_transport.status_at_irq_enable & VIRTIO_STATUS_DRIVER_OK);
    fake_transport.isr_script[0] = VIRTIO_ISR_QUEUE;
    fake_transport.isr_script[1] = VIRTIO_ISR_CONFIG;
    fake_transport.isr_next = 0;
    fake_transport_set_config(VIRTIO_NET_CONFIG_STATUS, 2, 0);
    fake_transport.handler(fake_transport.handler_arg);
    CHECK_EQ_U(fake_transport.isr_next, 3); // read until it said 0
    CHECK_EQ_U(nic.irq_cause, VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    CHECK_EQ_U(defers, 1);
    CHECK_EQ_U(rx_frames, 0); // nothing runs from the interrupt with irq_defer
    virtio_net_service(&nic);
    CHECK_EQ_U(nic.stats.config_changes, 1);
    CHECK_EQ_U(links, 1);
    CHECK(!nic.link_up);
    // A device that never stops raising causes is read a bounded number of times.
    for (int i = 0; i < 8; ++i) {
        fake_transport.isr_script[i] = VIRTIO_ISR_QUEUE;
    }
    fake_transport.isr_next = 0;
    fake_transport.handler(fake_transport.handler_arg);
    CHECK_EQ_U(fake_transport.isr_next, 8);
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
    fake_transport.vq[VIRTIO_NET_RX_QUEUE]->used->idx += 300;
    nic.irq_cause = VIRTIO_ISR_QUEUE;
    virtio_net_service(&nic);
    CHECK(!nic.ready);
    CHECK(nic.error != NULL && strstr(nic.error, "used index") != NULL);
    CHECK(fake_transport.status & VIRTIO_STATUS_FAILED);
    CHECK(rx_frames <= 1);
    uint8_t frame[64] = { 0 };
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), (uint64_t)-ENODEV);
    // A restart brings it back with fresh rings.
    CHECK(virtio_net_restart(&nic));
    CHECK(nic.ready && !nic.rxq.broken);
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), 0);
}

// The device sends everything queued on TX, as QEMU's main loop does.
static void send_all_queued(int queue) {
    uint16_t head;
    while (queue == VIRTIO_NET_TX_QUEUE && fake_transport_next(VIRTIO_NET_TX_QUEUE, &head) != NULL) {
        fake_transport_used(VIRTIO_NET_TX_QUEUE, head, 0);
    }
}

// A full TX ring: a send waits (bounded) for the device to free a slot, and
// fails with -ENOBUFS, counted, only if none comes back in time.
static void test_tx_ring_full(void) {
    static uint8_t frame[64];
    fake_reset();
    CHECK(virtio_net_init(&nic, 0, &callbacks, NULL));
    int slots = nic.txq.num / 2;
    for (int i = 0; i < slots; ++i) {
        CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), 0);
    }
    // A device that sends nothing: the wait runs out.
    uint64_t t0 = virt_time_us();
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), (uint64_t)-ENOBUFS);
    CHECK(virt_time_us() - t0 >= VIRTIO_NET_TX_WAIT_US);
    CHECK_EQ_U(nic.stats.tx_dropped, 1);
    CHECK_EQ_U(nic.stats.tx_waits, 1);
    // A device that sends when notified: the send goes out after one wait.
    fake_transport.on_notify = send_all_queued;
    int kicks = fake_transport.notifies[VIRTIO_NET_TX_QUEUE];
    CHECK_EQ_U(virtio_net_tx(&nic, frame, sizeof(frame)), 0);
    CHECK(fake_transport.notifies[VIRTIO_NET_TX_QUEUE] > kicks);
    CHECK_EQ_U(nic.stats.tx_dropped, 1);
    CHECK_EQ_U(nic.stats.tx_waits, 2);
    CHECK_EQ_U(nic.stats.tx_packets, (uint64_t)slots + 1);
    fake_transport.on_notify = NULL;
}

static const test_case_t cases[] = {
    { "features_and_mac", test_features_and_mac },
    { "mtu", test_mtu },
    { "reset_never_completes", test_reset_never_completes },
    { "irq_order_and_causes", test_irq_order_and_causes },
    { "rx_budget", test_rx_budget },
    { "used_index_jump", test_used_index_jump },
    { "tx_ring_full", test_tx_ring_full },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
