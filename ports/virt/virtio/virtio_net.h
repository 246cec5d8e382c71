// VirtIO network device driver (VirtIO 1.2, section 5.1) on any transport
// (virtio_dev.h): one RX and one TX queue, interrupt-driven RX, lazy TX
// reclaim. It moves Ethernet frames; lwIP (or a raw handler) sits above it.
#ifndef MICROPY_INCLUDED_VIRT_VIRTIO_NET_H
#define MICROPY_INCLUDED_VIRT_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_dev.h"

// Feature bits (5.1.3).
#define VIRTIO_NET_F_CSUM (0)
#define VIRTIO_NET_F_GUEST_CSUM (1)
#define VIRTIO_NET_F_MTU (3)
#define VIRTIO_NET_F_MAC (5)
#define VIRTIO_NET_F_MRG_RXBUF (15)
#define VIRTIO_NET_F_STATUS (16)
#define VIRTIO_NET_F_SPEED_DUPLEX (63)

// Config space layout (5.1.4).
#define VIRTIO_NET_CONFIG_MAC (0)
#define VIRTIO_NET_CONFIG_STATUS (6)
#define VIRTIO_NET_CONFIG_MAX_VQ_PAIRS (8)
#define VIRTIO_NET_CONFIG_MTU (10)
#define VIRTIO_NET_S_LINK_UP (1)

// virtio_net_hdr flags (5.1.6).
#define VIRTIO_NET_HDR_F_NEEDS_CSUM (1)
#define VIRTIO_NET_HDR_F_DATA_VALID (2)
#define VIRTIO_NET_HDR_GSO_NONE (0)
// Header length: legacy without MRG_RXBUF omits num_buffers (5.1.6.1).
#define VIRTIO_NET_HDR_LEN_LEGACY (10)
#define VIRTIO_NET_HDR_LEN_MODERN (12)

#define VIRTIO_NET_RX_QUEUE (0)
#define VIRTIO_NET_TX_QUEUE (1)

// Largest MTU taken (what the receive path above holds; a device asking for
// more has F_MTU declined, 5.1.4.2), the Ethernet header, and the largest
// frame received: MTU 1500 + Ethernet header + one VLAN tag. A frame sent
// is at most the MTU + the Ethernet header.
#define VIRTIO_NET_MTU_MAX (1500)
#define VIRTIO_NET_MTU_MIN (68)
#define VIRTIO_NET_ETH_HLEN (14)
#define VIRTIO_NET_MAX_FRAME (1518)
// How long a send waits for the device to free a slot of a full TX ring.
#define VIRTIO_NET_TX_WAIT_US (20000)
// Frames handed up per poll when the owner services the device at thread
// level; then it is rescheduled (NAPI's budget), so a flood cannot starve
// Python code or the end-of-batch work.
#ifndef VIRTIO_NET_RX_BUDGET
#define VIRTIO_NET_RX_BUDGET (64)
#endif
#define VIRTIO_NET_BUF_SIZE (2048)
// Devices driven at once (network.LAN(0) and LAN(1)).
#define VIRTIO_NET_DEVICES_MAX (2)
#define VIRTIO_NET_QUEUE_SIZE (256)
#define VIRTIO_NET_MIN_FRAME (14)

typedef struct _virtio_net_stats_t {
    uint32_t rx_packets;
    uint32_t rx_bytes;
    uint32_t rx_dropped;      // not taken above: no buffer, raw queue full, truncated ARP
    uint32_t rx_errors;       // runts, oversize or bad lengths from the device
    uint32_t tx_packets;
    uint32_t tx_bytes;
    uint32_t tx_dropped;      // TX ring still full after VIRTIO_NET_TX_WAIT_US
    uint32_t tx_waits;        // sends that found the TX ring full and waited for a slot
    uint32_t tx_errors;       // frames too large or too small to send
    uint32_t irqs;
    uint32_t tx_kicks;        // TX queue notifications (device register writes)
    uint32_t config_changes;
    uint32_t resets;          // DEVICE_NEEDS_RESET recoveries
    uint32_t rx_budget_hits;  // polls that stopped at VIRTIO_NET_RX_BUDGET
} virtio_net_stats_t;

struct _virtio_net_t;
// hdr is the frame's virtio_net_hdr (hdr_len bytes) as the device wrote it.
typedef void (*virtio_net_rx_cb_t)(struct _virtio_net_t *nic, const uint8_t *hdr, uint8_t *frame, size_t len);
// Fills a TX frame in place; may ask for checksum offload with virtio_net_hdr_set_csum.
typedef void (*virtio_net_fill_t)(void *ctx, struct _virtio_net_t *nic, uint8_t *hdr, uint8_t *frame);
typedef void (*virtio_net_link_cb_t)(struct _virtio_net_t *nic, bool up);
// After a poll that handed frames to rx_cb: the end of a receive batch.
typedef void (*virtio_net_batch_cb_t)(struct _virtio_net_t *nic);
// From the interrupt, instead of handling it there (see irq_defer).
typedef void (*virtio_net_irq_cb_t)(struct _virtio_net_t *nic);

// What the owner is told; all set before the device's interrupt is enabled.
typedef struct _virtio_net_callbacks_t {
    virtio_net_rx_cb_t rx;
    virtio_net_link_cb_t link;        // optional
    virtio_net_batch_cb_t batch_done; // optional
    // Optional: the interrupt only acknowledges the device, notes why in
    // irq_cause and calls this; its owner then calls virtio_net_service at
    // thread level, so the other callbacks never run from the interrupt.
    // The receive budget applies only then (it reschedules through this).
    virtio_net_irq_cb_t irq_defer;
} virtio_net_callbacks_t;

typedef struct _virtio_net_t {
    virtio_dev_t dev;
    virtq_t rxq;
    virtq_t txq;
    virtio_notify_t rx_notify;
    virtio_notify_t tx_notify;
    uint16_t hdr_len;         // what the device uses (override: header_len_override)
    uint16_t header_len_override; // 0: from the negotiated features
    uint16_t mtu;
    uint16_t tx_max_frame;    // mtu + Ethernet header
    uint16_t max_vq_pairs;
    uint16_t config_status;
    uint8_t mac[6];
    bool link_up;
    bool ready;
    bool rx_deferred;         // a poll stopped at the budget: more is queued
    bool mac_random;          // no F_MAC: a random locally administered one
    const char *error;        // why the device was given up (a static string)
    uint8_t rx_segs;          // 1, or 2 when the header needs its own descriptor
    uint8_t slot;             // which of the driver's VIRTIO_NET_DEVICES_MAX memories
    uint16_t tx_free_count;
    uint16_t tx_free[VIRTIO_NET_QUEUE_SIZE];
    virtio_net_stats_t stats;
    const virtio_net_callbacks_t *cb;
    volatile uint32_t irq_cause;
    void *user;
} virtio_net_t;

// Find the index'th virtio-net device (index < VIRTIO_NET_DEVICES_MAX; each
// index at most one virtio_net_t at a time) and bring it up: features, queues,
// RX buffers posted, interrupt enabled last. false if there is none or it
// failed (nic->error says why when one was found).
bool virtio_net_init(virtio_net_t *nic, int index, const virtio_net_callbacks_t *cb, void *user);
// Reset and start the device again (buffers in flight are dropped).
bool virtio_net_restart(virtio_net_t *nic);
// Send one frame (without virtio header), 14 to tx_max_frame bytes. 0, or a
// negative errno: -EINVAL size out of range, -ENOBUFS TX ring full,
// -ENODEV no device (or one given up).
int virtio_net_tx(virtio_net_t *nic, const uint8_t *frame, size_t len);
// The same for a frame the callback writes into the TX buffer (len bytes).
int virtio_net_tx_fill(virtio_net_t *nic, size_t len, virtio_net_fill_t fill, void *ctx);
// Ask the device to checksum frame[csum_start:] into frame[csum_start + csum_offset]
// (which holds the pseudo-header sum); only with VIRTIO_NET_F_CSUM.
void virtio_net_hdr_set_csum(uint8_t *hdr, uint16_t csum_start, uint16_t csum_offset);
// Process used RX/TX buffers (from the interrupt unless irq_defer is set;
// safe to call with interrupts masked too).
void virtio_net_poll(virtio_net_t *nic);
// While the owner works in its network stack: no RX interrupts for used
// buffers (virtio_net_rx_irq_off); virtio_net_rx_irq_on turns them on again
// and polls if frames came meanwhile, so those cost no interrupt.
void virtio_net_rx_irq_off(virtio_net_t *nic);
void virtio_net_rx_irq_on(virtio_net_t *nic);
// Handle what deferred interrupts reported (irq_defer), then poll; call with
// the device's interrupt masked.
void virtio_net_service(virtio_net_t *nic);
bool virtio_net_has_feature(const virtio_net_t *nic, int bit);

#endif // MICROPY_INCLUDED_VIRT_VIRTIO_NET_H
