// VirtIO network device driver; see virtio_net.h.
//
// RX: every buffer of the RX queue is posted at start; a used buffer is
// checked, handed to rx_cb (which copies what it keeps) and posted again.
// TX: a frame is copied behind a zeroed virtio_net_hdr into a free TX slot;
// slots come back lazily (TX interrupts stay suppressed).
// Interrupts: mask, drain, unmask, then look again, so a buffer the device
// used between the last look and the unmask is never left waiting.
#include <errno.h>
#include <string.h>

#include "gic.h"
#include "virtio_net.h"

// The driver supports one device; its rings and buffers live here, not on
// any heap. virtq_init zeroes the rings; the frame buffers are always written
// before they are read, so they sit in .noinit and cost nothing at boot.
static struct {
    uint8_t rxq_mem[3 * 4096] __attribute__((aligned(4096)));
    uint8_t txq_mem[3 * 4096] __attribute__((aligned(4096)));
    uint8_t rx_buf[VIRTIO_NET_QUEUE_SIZE][VIRTIO_NET_BUF_SIZE] __attribute__((aligned(64)));
    uint8_t tx_buf[VIRTIO_NET_QUEUE_SIZE][VIRTIO_NET_BUF_SIZE] __attribute__((aligned(64)));
} virtio_net_mem __attribute__((section(".noinit")));

_Static_assert(sizeof(virtio_net_mem.rxq_mem) >= VIRTQ_LEGACY_ALIGN * 2 + 8 * VIRTIO_NET_QUEUE_SIZE + 6,
    "ring memory too small for the legacy layout");

#define NET_FEATURES_WANTED ( \
    VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_MTU) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) \
    | VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) \
    | VIRTIO_FEATURE(VIRTIO_F_ANY_LAYOUT))

bool virtio_net_has_feature(const virtio_net_t *nic, int bit) {
    return (nic->dev.features & VIRTIO_FEATURE(bit)) != 0;
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

static void read_config(virtio_net_t *nic) {
    uint32_t gen;
    do {
        gen = virtio_mmio_config_generation(&nic->dev);
        if (virtio_net_has_feature(nic, VIRTIO_NET_F_MAC)) {
            for (int i = 0; i < 6; ++i) {
                nic->mac[i] = virtio_mmio_config_read8(&nic->dev, VIRTIO_NET_CONFIG_MAC + i);
            }
        }
        nic->config_status = virtio_net_has_feature(nic, VIRTIO_NET_F_STATUS)
            ? virtio_mmio_config_read16(&nic->dev, VIRTIO_NET_CONFIG_STATUS) : VIRTIO_NET_S_LINK_UP;
        // Only valid with VIRTIO_NET_F_MQ, which we do not use: one pair.
        nic->max_vq_pairs = 1;
        nic->mtu = 1500;
        if (virtio_net_has_feature(nic, VIRTIO_NET_F_MTU)) {
            uint16_t mtu = virtio_mmio_config_read16(&nic->dev, VIRTIO_NET_CONFIG_MTU);
            if (mtu >= 68 && mtu < nic->mtu) {
                nic->mtu = mtu; // larger ones would not fit our buffers
            }
        }
    } while (gen != virtio_mmio_config_generation(&nic->dev));
}

static void update_link(virtio_net_t *nic) {
    read_config(nic);
    bool up = (nic->config_status & VIRTIO_NET_S_LINK_UP) != 0;
    if (up != nic->link_up) {
        nic->link_up = up;
        if (nic->link_cb) {
            nic->link_cb(nic, up);
        }
    }
}

static void virtio_net_irq_handler(void *arg);

// Reset and (re)initialise the device found earlier.
static bool device_start(virtio_net_t *nic) {
    virtio_mmio_dev_t *dev = &nic->dev;
    nic->ready = false;
    virtio_mmio_begin_init(dev);
    if (!virtio_mmio_negotiate(dev, NET_FEATURES_WANTED)) {
        return false;
    }
    bool modern = virtio_net_has_feature(nic, VIRTIO_F_VERSION_1);
    nic->hdr_len = nic->header_len_override ? nic->header_len_override
        : (modern ? VIRTIO_NET_HDR_LEN_MODERN : VIRTIO_NET_HDR_LEN_LEGACY);
    // Without VERSION_1 or ANY_LAYOUT the header needs its own descriptor.
    nic->rx_segs = (modern || virtio_net_has_feature(nic, VIRTIO_F_ANY_LAYOUT)) ? 1 : 2;

    if (!virtio_mmio_setup_queue(dev, VIRTIO_NET_RX_QUEUE, &nic->rxq, virtio_net_mem.rxq_mem, VIRTIO_NET_QUEUE_SIZE)
        || !virtio_mmio_setup_queue(dev, VIRTIO_NET_TX_QUEUE, &nic->txq, virtio_net_mem.txq_mem, VIRTIO_NET_QUEUE_SIZE)) {
        virtio_mmio_fail(dev);
        return false;
    }
    // TX completions are collected when sending: no interrupts for them.
    virtq_disable_irq(&nic->txq);
    nic->tx_free_count = 0;
    for (uint16_t i = 0; i < nic->txq.num / 2; ++i) {
        nic->tx_free[nic->tx_free_count++] = i;
    }
    read_config(nic);
    for (uint16_t i = 0; i < nic->rxq.num / nic->rx_segs; ++i) {
        rx_post(nic, virtio_net_mem.rx_buf[i]);
    }
    virtio_mmio_driver_ok(dev);
    virtio_mmio_notify(dev, VIRTIO_NET_RX_QUEUE);
    nic->ready = true;
    return true;
}

bool virtio_net_init(virtio_net_t *nic, int index, virtio_net_rx_cb_t rx_cb, virtio_net_link_cb_t link_cb) {
    uint16_t override = nic->header_len_override;
    memset(nic, 0, sizeof(*nic));
    nic->header_len_override = override;
    nic->rx_cb = rx_cb;
    nic->link_cb = link_cb;
    if (index != 0 || !virtio_mmio_find(VIRTIO_ID_NET, index, &nic->dev)) {
        return false;
    }
    if (!device_start(nic)) {
        return false;
    }
    nic->link_up = (nic->config_status & VIRTIO_NET_S_LINK_UP) != 0;
    gic_enable_irq(nic->dev.irq, virtio_net_irq_handler, nic);
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
        nic->tx_free[nic->tx_free_count++] = (buf - virtio_net_mem.tx_buf[0]) / VIRTIO_NET_BUF_SIZE;
    }
}

// Returns how many frames went to rx_cb.
static uint32_t rx_drain(virtio_net_t *nic) {
    bool reposted = false;
    uint32_t delivered = 0;
    for (;;) {
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
            if (nic->rx_cb) {
                nic->rx_cb(nic, buf, buf + nic->hdr_len, len - nic->hdr_len);
                delivered++;
            }
        }
        rx_post(nic, buf);
        reposted = true;
    }
    if (reposted && virtq_should_notify(&nic->rxq)) {
        virtio_mmio_notify(&nic->dev, VIRTIO_NET_RX_QUEUE);
    }
    return delivered;
}

void virtio_net_poll(virtio_net_t *nic) {
    if (!nic->ready) {
        return;
    }
    uint32_t delivered = 0;
    do {
        virtq_disable_irq(&nic->rxq);
        delivered += rx_drain(nic);
        tx_reclaim(nic);
    } while (virtq_enable_irq(&nic->rxq));
    if (delivered && nic->rx_batch_done) {
        nic->rx_batch_done(nic);
    }
}

void virtio_net_rx_irq_off(virtio_net_t *nic) {
    if (nic->ready) {
        virtq_disable_irq(&nic->rxq);
    }
}

void virtio_net_rx_irq_on(virtio_net_t *nic) {
    if (nic->ready && virtq_enable_irq(&nic->rxq)) {
        virtio_net_poll(nic);
    }
}

// What an interrupt reported: a configuration change, used buffers.
static void service_cause(virtio_net_t *nic, uint32_t cause) {
    if (cause & VIRTIO_MMIO_INT_CONFIG) {
        nic->stats.config_changes++;
        if (virtio_mmio_status(&nic->dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
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
    uint32_t cause = virtio_mmio_ack_irq(&nic->dev);
    if (nic->irq_defer != NULL) {
        // RX notifications stay off until virtio_net_service has drained
        // the ring (virtio_net_poll turns them on and looks again).
        nic->irq_cause |= cause;
        virtq_disable_irq(&nic->rxq);
        nic->irq_defer(nic);
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
    if (len < VIRTIO_NET_MIN_FRAME || len > VIRTIO_NET_MAX_FRAME) {
        nic->stats.tx_errors++;
        return -EINVAL;
    }
    if (nic->tx_free_count == 0) {
        tx_reclaim(nic);
        if (nic->tx_free_count == 0) {
            nic->stats.tx_dropped++;
            return -ENOBUFS;
        }
    }
    uint16_t slot = nic->tx_free[--nic->tx_free_count];
    uint8_t *buf = virtio_net_mem.tx_buf[slot];
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
        virtio_mmio_notify(&nic->dev, VIRTIO_NET_TX_QUEUE);
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
