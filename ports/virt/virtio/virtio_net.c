// VirtIO network device driver; see virtio_net.h.
//
// RX: every buffer of the RX queue is posted at start; a used buffer is
// checked, handed to the rx callback (which copies what it keeps) and
// posted again; a poll at thread level takes at most a budget of them.
// TX: a frame is copied behind a zeroed virtio_net_hdr into a free TX slot;
// slots come back lazily (TX interrupts stay suppressed).
// Interrupts: mask, drain, unmask, then look again, so a buffer the device
// used between the last look and the unmask is never left waiting.
#include <errno.h>
#include <string.h>

#include "virt_random.h"
#include "virt_wait.h"
#include "virtio_net.h"

// Each device's rings and buffers live here, not on any heap (1 MiB a
// device). virtq_init zeroes the rings; the frame buffers are always written
// before they are read, so they sit in .noinit and cost nothing at boot.
typedef struct {
    uint8_t rxq_mem[3 * 4096] __attribute__((aligned(4096)));
    uint8_t txq_mem[3 * 4096] __attribute__((aligned(4096)));
    uint8_t rx_buf[VIRTIO_NET_QUEUE_SIZE][VIRTIO_NET_BUF_SIZE] __attribute__((aligned(64)));
    uint8_t tx_buf[VIRTIO_NET_QUEUE_SIZE][VIRTIO_NET_BUF_SIZE] __attribute__((aligned(64)));
} virtio_net_mem_t;

static virtio_net_mem_t virtio_net_mem[VIRTIO_NET_DEVICES_MAX] __attribute__((section(".noinit")));

_Static_assert(sizeof(virtio_net_mem[0].rxq_mem) >= VIRTQ_LEGACY_ALIGN * 2 + 8 * VIRTIO_NET_QUEUE_SIZE + 6,
    "ring memory too small for the legacy layout");

#define NET_FEATURES_WANTED ( \
    VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_MTU) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_STATUS))

bool virtio_net_has_feature(const virtio_net_t *nic, int bit) {
    return virtio_dev_has_feature(&nic->dev, bit);
}

static virtio_net_mem_t *nic_mem(const virtio_net_t *nic) {
    return &virtio_net_mem[nic->slot];
}

static uint16_t config_read16(virtio_net_t *nic, uint32_t offset) {
    return (uint16_t)virtio_dev_config_read(&nic->dev, offset, 2);
}

static bool rx_post(virtio_net_t *nic, uint8_t *buf) {
    virtq_seg_t segs[2] = {
        { buf, VIRTIO_NET_BUF_SIZE, true },
        { buf + nic->hdr_len, VIRTIO_NET_BUF_SIZE - nic->hdr_len, true },
    };
    if (nic->rx_segs == 2) {
        segs[0].len = nic->hdr_len;
    }
    return virtq_add(&nic->rxq, segs, nic->rx_segs, buf);
}

// The MTU the device asks for, read before FEATURES_OK (allowed: 3.1.1 step
// 4) so that F_MTU is declined if our receive path cannot hold it.
static bool mtu_acceptable(virtio_net_t *nic) {
    uint64_t mtu = virtio_dev_config_read_stable(&nic->dev, VIRTIO_NET_CONFIG_MTU, 2);
    return mtu >= VIRTIO_NET_MTU_MIN && mtu <= VIRTIO_NET_MTU_MAX;
}

static void read_config(virtio_net_t *nic) {
    uint32_t gen;
    int tries = 0;
    do {
        gen = virtio_dev_config_generation(&nic->dev);
        if (virtio_net_has_feature(nic, VIRTIO_NET_F_MAC)) {
            for (int i = 0; i < 6; ++i) {
                nic->mac[i] = (uint8_t)virtio_dev_config_read(&nic->dev, VIRTIO_NET_CONFIG_MAC + i, 1);
            }
        }
        nic->config_status = virtio_net_has_feature(nic, VIRTIO_NET_F_STATUS)
            ? config_read16(nic, VIRTIO_NET_CONFIG_STATUS) : VIRTIO_NET_S_LINK_UP;
        // Only valid with VIRTIO_NET_F_MQ, which we do not use: one pair.
        nic->max_vq_pairs = 1;
        nic->mtu = VIRTIO_NET_MTU_MAX;
        if (virtio_net_has_feature(nic, VIRTIO_NET_F_MTU)) {
            uint16_t mtu = config_read16(nic, VIRTIO_NET_CONFIG_MTU);
            if (mtu >= VIRTIO_NET_MTU_MIN && mtu <= VIRTIO_NET_MTU_MAX) {
                nic->mtu = mtu; // checked before FEATURES_OK; a later change outside the range is ignored
            }
        }
    } while (gen != virtio_dev_config_generation(&nic->dev) && ++tries < VIRTIO_CONFIG_READ_TRIES);
    nic->tx_max_frame = nic->mtu + VIRTIO_NET_ETH_HLEN;
}

// No F_MAC: the driver picks a random, locally administered unicast address
// (5.1.5), once, so it stays across restarts.
static void pick_random_mac(virtio_net_t *nic) {
    uint32_t a = virt_random_u32(), b = virt_random_u32();
    for (int i = 0; i < 4; ++i) {
        nic->mac[i] = (uint8_t)(a >> (8 * i));
    }
    nic->mac[4] = (uint8_t)b;
    nic->mac[5] = (uint8_t)(b >> 8);
    nic->mac[0] = (nic->mac[0] & 0xfe) | 0x02;
    nic->mac_random = true;
}

static void update_link(virtio_net_t *nic) {
    read_config(nic);
    bool up = (nic->config_status & VIRTIO_NET_S_LINK_UP) != 0;
    if (up != nic->link_up) {
        nic->link_up = up;
        if (nic->cb->link) {
            nic->cb->link(nic, up);
        }
    }
}

static void virtio_net_irq_handler(void *arg);

static bool give_up(virtio_net_t *nic, const char *why) {
    nic->ready = false;
    nic->error = why;
    virtio_dev_fail(&nic->dev);
    return false;
}

// Reset and (re)initialise the device found earlier.
static bool device_start(virtio_net_t *nic) {
    virtio_dev_t *dev = &nic->dev;
    nic->ready = false;
    if (!virtio_dev_begin_init(dev)) {
        return give_up(nic, "device reset did not complete");
    }
    uint64_t wanted = NET_FEATURES_WANTED;
    if (!dev->modern) {
        // A modern device lays its buffers out freely (VERSION_1 implies
        // it); the legacy bit is asked for only on a legacy interface.
        wanted |= VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT);
    }
    if ((dev->device_features & VIRTIO_FEATURE(VIRTIO_NET_F_MTU)) && !mtu_acceptable(nic)) {
        wanted &= ~VIRTIO_FEATURE(VIRTIO_NET_F_MTU);
    }
    if (!virtio_dev_negotiate(dev, wanted)) {
        return give_up(nic, "feature negotiation failed");
    }
    bool modern = virtio_net_has_feature(nic, VIRTIO_F_VERSION_1);
    nic->hdr_len = nic->header_len_override ? nic->header_len_override
        : (modern ? VIRTIO_NET_HDR_LEN_MODERN : VIRTIO_NET_HDR_LEN_LEGACY);
    // Without VERSION_1 or ANY_LAYOUT the header needs its own descriptor.
    nic->rx_segs = (modern || virtio_net_has_feature(nic, VIRTIO_F_ANY_LAYOUT)) ? 1 : 2;

    // A queue too small for a frame in its descriptors (2 with a separate
    // header) and a TX slot is no use.
    virtio_net_mem_t *mem = nic_mem(nic);
    if (virtio_dev_setup_queue(dev, VIRTIO_NET_RX_QUEUE, &nic->rxq, mem->rxq_mem,
        sizeof(mem->rxq_mem), VIRTIO_NET_QUEUE_SIZE, &nic->rx_notify) < 2
        || virtio_dev_setup_queue(dev, VIRTIO_NET_TX_QUEUE, &nic->txq, mem->txq_mem,
            sizeof(mem->txq_mem), VIRTIO_NET_QUEUE_SIZE, &nic->tx_notify) < 4) {
        return give_up(nic, "queues unavailable");
    }
    // TX completions are collected when sending: no interrupts for them.
    virtq_disable_irq(&nic->txq);
    nic->tx_free_count = 0;
    for (uint16_t i = 0; i < nic->txq.num / 2; ++i) {
        nic->tx_free[nic->tx_free_count++] = i;
    }
    read_config(nic);
    if (!virtio_net_has_feature(nic, VIRTIO_NET_F_MAC) && !nic->mac_random) {
        pick_random_mac(nic);
    }
    for (uint16_t i = 0; i < nic->rxq.num / nic->rx_segs; ++i) {
        rx_post(nic, mem->rx_buf[i]);
    }
    virtio_dev_driver_ok(dev);
    virtio_dev_notify(dev, &nic->rx_notify);
    nic->ready = true;
    nic->error = NULL;
    return true;
}

bool virtio_net_init(virtio_net_t *nic, int index, const virtio_net_callbacks_t *cb, void *user) {
    uint16_t override = nic->header_len_override;
    memset(nic, 0, sizeof(*nic));
    nic->header_len_override = override;
    nic->cb = cb;
    nic->user = user;
    if (index < 0 || index >= VIRTIO_NET_DEVICES_MAX || !virtio_find(VIRTIO_ID_NET, index, &nic->dev)) {
        return false;
    }
    nic->slot = index; // the index'th device uses the index'th memory
    if (!device_start(nic)) {
        return false;
    }
    nic->link_up = (nic->config_status & VIRTIO_NET_S_LINK_UP) != 0;
    virtio_dev_irq_enable(&nic->dev, virtio_net_irq_handler, nic);
    return true;
}

bool virtio_net_restart(virtio_net_t *nic) {
    nic->stats.resets++;
    bool ok = device_start(nic);
    update_link(nic);
    return ok;
}

static void tx_reclaim(virtio_net_t *nic) {
    for (;;) {
        uint32_t len = 0;
        uint8_t *buf = virtq_get_used(&nic->txq, &len);
        if (buf == NULL) {
            if (len == UINT32_MAX) {
                nic->stats.tx_errors++; // device returned a chain we never queued
                continue;
            }
            break;
        }
        nic->tx_free[nic->tx_free_count++] = (buf - nic_mem(nic)->tx_buf[0]) / VIRTIO_NET_BUF_SIZE;
    }
}

// The TX ring is full: QEMU sends what is queued from its main loop while
// the CPU runs on, and slots come back within microseconds. Waiting for one
// (bounded) beats failing the send: lwIP reports a frame it could not hand
// over as ERR_MEM, and modlwip's write() then raises ENOMEM for data TCP has
// queued and will still send (seen with 1,000 sockets each writing once); a
// caller that retried would send it twice.
static bool tx_wait_slot(virtio_net_t *nic) {
    nic->stats.tx_waits++;
    nic->stats.tx_kicks++;
    virtio_dev_notify(&nic->dev, &nic->tx_notify); // in case the device waits for one
    uint64_t start = virt_time_us();
    do {
        tx_reclaim(nic);
        if (nic->tx_free_count > 0) {
            return true;
        }
    } while (!nic->txq.broken && virt_time_us() - start < VIRTIO_NET_TX_WAIT_US);
    return false;
}

// Takes at most `budget` used buffers (good frames or bad); returns how
// many it took and adds those handed to the rx callback to *delivered.
static uint32_t rx_drain(virtio_net_t *nic, uint32_t budget, uint32_t *delivered) {
    bool reposted = false;
    uint32_t taken = 0;
    while (taken < budget) {
        uint32_t len = 0;
        uint8_t *buf = virtq_get_used(&nic->rxq, &len);
        if (buf == NULL) {
            if (len == UINT32_MAX) {
                nic->stats.rx_errors++;
                continue;
            }
            break;
        }
        // Never trust the device's length: it must fit the buffer and hold
        // at least a header and an Ethernet header.
        if (len > VIRTIO_NET_BUF_SIZE || len < (uint32_t)nic->hdr_len + VIRTIO_NET_MIN_FRAME
            || len - nic->hdr_len > VIRTIO_NET_MAX_FRAME) {
            nic->stats.rx_errors++;
        } else {
            nic->stats.rx_packets++;
            nic->stats.rx_bytes += len - nic->hdr_len;
            nic->cb->rx(nic, buf, buf + nic->hdr_len, len - nic->hdr_len);
            (*delivered)++;
        }
        rx_post(nic, buf);
        reposted = true;
        taken++;
    }
    if (reposted && virtq_should_notify(&nic->rxq)) {
        virtio_dev_notify(&nic->dev, &nic->rx_notify);
    }
    return taken;
}

// A device that moved a used index impossibly cannot be trusted with our
// buffers: it is given up (status FAILED), not walked further.
static bool check_broken(virtio_net_t *nic) {
    if (nic->rxq.broken || nic->txq.broken) {
        nic->stats.rx_errors++;
        give_up(nic, "device moved a used index past the queue size");
        return true;
    }
    return false;
}

void virtio_net_poll(virtio_net_t *nic) {
    if (!nic->ready) {
        return;
    }
    // From the interrupt (no irq_defer) everything is drained at once;
    // at thread level a budget, then the owner is rescheduled.
    uint32_t budget = nic->cb->irq_defer != NULL ? VIRTIO_NET_RX_BUDGET : UINT32_MAX;
    uint32_t taken = 0, delivered = 0;
    nic->rx_deferred = false;
    do {
        virtq_disable_irq(&nic->rxq);
        taken += rx_drain(nic, budget - taken, &delivered);
        tx_reclaim(nic);
        if (check_broken(nic)) {
            return;
        }
        if (taken >= budget) {
            // RX interrupts stay off (also through virtio_net_rx_irq_on)
            // until the owner's next virtio_net_service.
            nic->rx_deferred = true;
            break;
        }
    } while (virtq_enable_irq(&nic->rxq));
    if (delivered && nic->cb->batch_done) {
        nic->cb->batch_done(nic);
    }
    if (nic->rx_deferred) {
        nic->stats.rx_budget_hits++;
        nic->irq_cause |= VIRTIO_ISR_QUEUE;
        nic->cb->irq_defer(nic);
    }
}

void virtio_net_rx_irq_off(virtio_net_t *nic) {
    if (nic->ready) {
        virtq_disable_irq(&nic->rxq);
    }
}

void virtio_net_rx_irq_on(virtio_net_t *nic) {
    if (nic->ready && !nic->rx_deferred && virtq_enable_irq(&nic->rxq)) {
        virtio_net_poll(nic);
    }
}

// What an interrupt reported: a configuration change, used buffers.
static void service_cause(virtio_net_t *nic, uint32_t cause) {
    if (cause & VIRTIO_ISR_CONFIG) {
        nic->stats.config_changes++;
        if (virtio_dev_status(&nic->dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
            // The device cannot go on: start it afresh (buffers in flight are lost).
            virtio_net_restart(nic);
        } else {
            update_link(nic);
        }
    }
    virtio_net_poll(nic);
}

static void virtio_net_irq_handler(void *arg) {
    virtio_net_t *nic = arg;
    nic->stats.irqs++;
    uint32_t cause = virtio_dev_isr(&nic->dev);
    if (nic->cb->irq_defer != NULL) {
        // RX notifications stay off until virtio_net_service has drained
        // the ring (virtio_net_poll turns them on and looks again).
        nic->irq_cause |= cause;
        if (nic->ready) {
            virtq_disable_irq(&nic->rxq);
        }
        nic->cb->irq_defer(nic);
        return;
    }
    service_cause(nic, cause);
}

void virtio_net_service(virtio_net_t *nic) {
    uint32_t cause = nic->irq_cause;
    nic->irq_cause = 0;
    service_cause(nic, cause);
}

void virtio_net_hdr_set_csum(uint8_t *hdr, uint16_t csum_start, uint16_t csum_offset) {
    hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    hdr[6] = csum_start & 0xff;
    hdr[7] = csum_start >> 8;
    hdr[8] = csum_offset & 0xff;
    hdr[9] = csum_offset >> 8;
}

int virtio_net_tx_fill(virtio_net_t *nic, size_t len, virtio_net_fill_t fill, void *ctx) {
    if (!nic->ready) {
        return -ENODEV;
    }
    if (len < VIRTIO_NET_MIN_FRAME || len > nic->tx_max_frame) {
        nic->stats.tx_errors++;
        return -EINVAL;
    }
    if (nic->tx_free_count == 0) {
        tx_reclaim(nic);
        if (nic->tx_free_count == 0 && !tx_wait_slot(nic)) {
            nic->stats.tx_dropped++;
            return -ENOBUFS;
        }
    }
    uint16_t slot = nic->tx_free[--nic->tx_free_count];
    uint8_t *buf = nic_mem(nic)->tx_buf[slot];
    memset(buf, 0, nic->hdr_len);
    fill(ctx, nic, buf, buf + nic->hdr_len);
    virtq_seg_t segs[2] = {
        { buf, nic->hdr_len + len, false },
        { buf + nic->hdr_len, len, false },
    };
    size_t nsegs = nic->rx_segs; // the same layout rule as RX
    if (nsegs == 2) {
        segs[0].len = nic->hdr_len;
    }
    if (!virtq_add(&nic->txq, segs, nsegs, buf)) {
        nic->tx_free[nic->tx_free_count++] = slot; // not expected: slots <= descriptors / 2
        nic->stats.tx_dropped++;
        return -ENOBUFS;
    }
    nic->stats.tx_packets++;
    nic->stats.tx_bytes += len;
    if (virtq_should_notify(&nic->txq)) {
        nic->stats.tx_kicks++;
        virtio_dev_notify(&nic->dev, &nic->tx_notify);
    }
    return 0;
}

typedef struct {
    const uint8_t *frame;
    size_t len;
} flat_frame_t;

static void fill_flat(void *ctx, virtio_net_t *nic, uint8_t *hdr, uint8_t *frame) {
    flat_frame_t *f = ctx;
    memcpy(frame, f->frame, f->len);
}

int virtio_net_tx(virtio_net_t *nic, const uint8_t *frame, size_t len) {
    flat_frame_t f = { frame, len };
    return virtio_net_tx_fill(nic, len, fill_flat, &f);
}
