// lwIP netifs over the virtio-net driver, one per device up to
// NETWORK_LAN_MAX (network.LAN is modnetwork_lan.c).
//
// lwIP runs at thread level only, never from an interrupt: the NIC and the
// lwIP tick interrupts just note that work is due and schedule
// network_lan_poll, which runs between bytecodes (MicroPython's scheduler)
// and in every wait (MICROPY_INTERNAL_EVENT_HOOK, also when the scheduler is
// locked). modlwip calls lwIP outside MICROPY_PY_LWIP_ENTER in places:
// listen() installs its accept callback after the pcb listens, and a
// connection that lwIP completed from an interrupt in that gap was reset
// (seen at boot). Callers that hold the lock (MICROPY_PY_LWIP_ENTER) mask
// interrupts, so lwIP is never entered twice.
#include <errno.h>
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "py/mphal.h"
#include "extmod/modnetwork.h"
#include "shared/runtime/softtimer.h"

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/mld6.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/icmp6.h"
#include "lwip/prot/ip6.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include "ack_coalesce.h"
#include "ip_csum.h"
#include "rx_merge.h"
#include "tcp_time_wait.h"
#include "net_raw.h"
#include "network_lan.h"
#include "virt_random.h"

#define LAN_TICK_MS (64)
// How long a delayed ACK may wait for data to ride on (lan_arm_ack_timer).
#define LAN_DELAYED_ACK_MS (10)

// Ethernet constants for the checksum offload.
#define ETH_HLEN (14)
#define ETH_TYPE_IPV4 (0x0800)
#define ETH_TYPE_IPV6 (0x86dd)
#define ETH_TYPE_ARP (0x0806)
#define ARP_PACKET_LEN (28)

// In-order TCP segments of one batch go to lwIP merged (rx_merge.c), built
// in a pbuf from lwIP's heap: 11 full segments, a quarter window.
#define LAN_MERGE_MAX (ETH_HLEN + 60 + 11 * TCP_MSS)

// One interface: its device, its netif, and its receive batch's state.
typedef struct _lan_if_t {
    virtio_net_t nic;
    struct netif netif;        // netif.state points back here
    bool present;
    bool csum_offload;
    // Set while lwIP works through one receive batch (one poll): pure ACKs
    // it sends meanwhile wait in acks for the end of the batch.
    bool rx_batch;
    bool ack_held;
    ack_coalesce_t acks;
    rx_merge_t merge;
    struct pbuf *merge_pbuf;
    // The newest pure ACK of the batch so far (rx_merge_ack_supersedes).
    uint8_t held_ack[RX_MERGE_ACK_LEN];
} lan_if_t;

static lan_if_t lan_ifs[NETWORK_LAN_MAX];
static soft_timer_entry_t lan_timer;
static mp_sched_node_t lan_sched_node;
static volatile bool lan_nic_due;    // a NIC interrupted
static volatile bool lan_timers_due; // lwIP's tick came round
static soft_timer_entry_t lan_ack_timer;
static volatile bool lan_ack_timer_armed;
static volatile bool lan_acks_due;   // lan_ack_timer or the tick: delayed ACKs leave
static volatile bool lan_worked;     // network_lan_poll did work since the last wait
static bool lan_icmp_echo = true; // lwIP answers pings unless turned off

virtio_net_t *network_lan_nic(int index) {
    return index >= 0 && index < NETWORK_LAN_MAX && lan_ifs[index].present ? &lan_ifs[index].nic : NULL;
}

struct netif *network_lan_netif(int index) {
    return &lan_ifs[index >= 0 && index < NETWORK_LAN_MAX ? index : 0].netif;
}

// The interface of one of our netifs; NULL for lwIP's loopback netif.
static lan_if_t *lan_if_of(struct netif *netif) {
    for (int i = 0; i < NETWORK_LAN_MAX; ++i) {
        if (netif == &lan_ifs[i].netif) {
            return &lan_ifs[i];
        }
    }
    return NULL;
}

void network_lan_set_icmp_echo(bool on) {
    lan_icmp_echo = on;
}

bool network_lan_icmp_echo(void) {
    return lan_icmp_echo;
}

int network_lan_reinit(int index, uint16_t header_len) {
    virtio_net_t *nic = network_lan_nic(index);
    if (nic == NULL) {
        return -MP_ENODEV;
    }
    virt_lwip_lock();
    nic->header_len_override = header_len;
    bool ok = virtio_net_restart(nic);
    virt_lwip_unlock();
    return ok ? 0 : -MP_EIO;
}

// Interrupt masking for lwIP calls from thread level; nests. While lwIP
// works (a send makes a burst of segments, and slirp acknowledges each at
// once), the device raises no RX interrupts: what arrived meanwhile is
// handled at the unlock, which costs no interrupt and none of its four
// device register accesses (each a trip out of the emulated CPU that waits
// for QEMU's I/O thread). Outside lwIP, interrupts are on as before.
static uint32_t lan_lock_depth;
static uint32_t lan_lock_saved;

void virt_lwip_lock(void) {
    uint32_t state = mp_hal_irq_save();
    if (lan_lock_depth++ == 0) {
        lan_lock_saved = state;
        for (int i = 0; i < NETWORK_LAN_MAX; ++i) {
            if (lan_ifs[i].present) {
                virtio_net_rx_irq_off(&lan_ifs[i].nic);
            }
        }
    }
}

// Whether a netif holds looped-back packets for netif_poll_all.
static bool lan_loop_pending(void) {
    struct netif *netif;
    NETIF_FOREACH(netif) {
        if (netif->loop_first != NULL) {
            return true;
        }
    }
    return false;
}

// Work lwIP leaves for the port to start (NO_SYS has no thread for it):
// - packets queued on the loopback netif; each delivery can queue a reply
//   (a SYN-ACK, an ACK), so go round a few times;
// - data a socket refused because Python had not accepted it yet (modlwip
//   refuses data on unaccepted connections): offer it again now, rather
//   than at lwIP's next TCP timer 250 ms later.
static void lan_deferred_work(void) {
    // Every unlock comes here (modlwip locks once per segment read): look
    // before polling.
    for (int i = 0; i < 4 && lan_loop_pending(); ++i) {
        netif_poll_all();
    }
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL;) {
        struct tcp_pcb *next = pcb->next; // the callback may free pcb
        if (pcb->refused_data != NULL) {
            tcp_process_refused_data(pcb);
        }
        pcb = next;
    }
}

void virt_lwip_unlock(void) {
    for (int i = 0; lan_lock_depth == 1 && i < NETWORK_LAN_MAX; ++i) {
        if (lan_ifs[i].present) {
            virtio_net_rx_irq_on(&lan_ifs[i].nic); // polls if frames came meanwhile
        }
    }
    if (--lan_lock_depth == 0) {
        lan_deferred_work();
        mp_hal_irq_restore(lan_lock_saved);
    }
}

// lwIP's failed checks are counted (_virt.net_info()'s lwip_asserts), not
// printed, and lwIP goes on past them: its asserts against misuse do not
// return (modlwip's calls on listening pcbs wrote past their end; see
// modlwip_glue.h). make CFLAGS_EXTRA=-DVIRT_LWIP_ASSERT_PRINT=1 prints each.
uint32_t virt_lwip_assert_count;

void virt_lwip_assert(const char *msg, const char *file, int line) {
    virt_lwip_assert_count++;
    #if VIRT_LWIP_ASSERT_PRINT
    mp_printf(&mp_plat_print, "lwIP assert: %s at %s:%d\n", msg, file, line);
    #else
    (void)msg;
    (void)file;
    (void)line;
    #endif
}

u32_t sys_now(void) {
    return mp_hal_ticks_ms();
}

uint32_t virt_lwip_rand(void) {
    return virt_random_u32();
}

// Checksum offload (VIRTIO_NET_F_CSUM): lwIP leaves TCP checksums of this
// netif to the device, IPv4 and IPv6 alike; UDP ones it computes itself,
// since a datagram lwIP fragments is summed whole before it is split and no
// single frame could carry the offload. For a TCP frame, put the
// pseudo-header sum in its checksum field and ask the device to finish it.
// Anything else already carries full checksums.
static void lan_tx_offload(virtio_net_t *nic, uint8_t *hdr, uint8_t *frame, size_t len) {
    uint16_t type = len >= ETH_HLEN ? (frame[12] << 8 | frame[13]) : 0;
    ip_csum_l4_t l4;
    if ((type != ETH_TYPE_IPV4 && type != ETH_TYPE_IPV6)
        || !ip_csum_parse(frame + ETH_HLEN, len - ETH_HLEN, &l4) || l4.proto != IP_CSUM_PROTO_TCP) {
        return;
    }
    ip_csum_set_pseudo(frame + ETH_HLEN, &l4);
    virtio_net_hdr_set_csum(hdr, ETH_HLEN + l4.l4_off, l4.csum_off);
}

// Packets lwIP loops back to this netif's own addresses never reach the
// device, so with offload on their TCP checksums are computed here, as IP
// takes them in (LWIP_HOOK_IP4_INPUT / IP6_INPUT): a reply that lwIP queues
// while netif_poll runs is taken in by that same poll, so a pass over the
// queue before polling would miss it. Each looped packet is one pbuf.
uint32_t virt_loop_csum_fills;

int virt_lwip_ip_input_hook(struct pbuf *p, struct netif *inp) {
    // Only netif_poll sets if_idx before IP input: p was looped back.
    lan_if_t *lif = lan_if_of(inp);
    if (lif != NULL && lif->csum_offload && p->if_idx != NETIF_NO_INDEX && p->len == p->tot_len) {
        ip_csum_l4_t l4;
        if (ip_csum_parse(p->payload, p->len, &l4) && l4.proto == IP_CSUM_PROTO_TCP) {
            ip_csum_fill(p->payload, &l4);
            virt_loop_csum_fills++;
        }
    }
    if (p->len == p->tot_len) {
        tcp_time_wait_check_syn(p->payload, p->len); // before lwIP finds the connection
    }
    return 0; // lwIP goes on with the packet
}

// Frames the device marks NEEDS_CSUM (from a host with offloads) carry only
// a partial checksum: complete it so lwIP's check passes.
static void lan_rx_finish_csum(const uint8_t *hdr, uint8_t *frame, size_t len) {
    if (hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        // Nonsense offsets leave the frame as it is, for lwIP to reject.
        ip_csum_finish_partial(frame, len, hdr[6] | hdr[7] << 8, hdr[8] | hdr[9] << 8);
    }
}

// A frame to send: lwIP's pbuf chain, or (p NULL) a copy ack_coalesce held.
typedef struct {
    lan_if_t *lif;
    struct pbuf *p;
    const uint8_t *flat;
    size_t len;
} lan_tx_ctx_t;

static void lan_tx_fill(void *ctx_in, virtio_net_t *nic, uint8_t *hdr, uint8_t *frame) {
    lan_tx_ctx_t *ctx = ctx_in;
    if (ctx->p != NULL) {
        pbuf_copy_partial(ctx->p, frame, ctx->len, 0);
    } else {
        memcpy(frame, ctx->flat, ctx->len);
    }
    if (ctx->lif->csum_offload) {
        lan_tx_offload(nic, hdr, frame, ctx->len);
    }
}

// A held ACK leaves; if the ring is full it is lost, as a sent one may be.
static void lan_send_held(void *ctx_lif, const uint8_t *frame, size_t len) {
    lan_tx_ctx_t ctx = { ctx_lif, NULL, frame, len };
    virtio_net_tx_fill(&ctx.lif->nic, len, lan_tx_fill, &ctx);
}

static void lan_input(lan_if_t *lif, struct pbuf *p) {
    if (lif->netif.input(p, &lif->netif) != ERR_OK) {
        pbuf_free(p);
        lif->nic.stats.rx_dropped++;
    }
}

// A frame to lwIP in a pool pbuf of its own.
static void lan_input_copy(lan_if_t *lif, const uint8_t *frame, size_t len) {
    struct pbuf *p = pbuf_alloc(PBUF_RAW, len, PBUF_POOL);
    if (p == NULL) {
        lif->nic.stats.rx_dropped++;
        return;
    }
    pbuf_take(p, frame, len);
    lan_input(lif, p);
}

static void lan_held_ack_flush(lan_if_t *lif) {
    if (lif->ack_held) {
        lif->ack_held = false;
        lan_input_copy(lif, lif->held_ack, RX_MERGE_ACK_LEN);
    }
}

// Hand the merged segment to lwIP. lwIP acknowledges every second segment
// it sees; one that stands for several is acknowledged at once, as they
// would have been.
static void lan_merge_flush(lan_if_t *lif) {
    if (lif->merge.buf == NULL) {
        return;
    }
    bool several = lif->merge.count > 1;
    const uint8_t *tcp = lif->merge.buf + ETH_HLEN + 20;
    uint16_t remote_port = tcp[0] << 8 | tcp[1], local_port = tcp[2] << 8 | tcp[3];
    struct pbuf *p = lif->merge_pbuf;
    lif->merge_pbuf = NULL;
    pbuf_realloc(p, rx_merge_finish(&lif->merge));
    lan_input(lif, p);
    if (several) {
        for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
            if (pcb->local_port == local_port && pcb->remote_port == remote_port) {
                if (pcb->flags & TF_ACK_DELAY) {
                    tcp_ack_now(pcb);
                    tcp_output(pcb);
                }
                break;
            }
        }
    }
}

// lwIP sends delayed ACKs from tcp_fasttmr, which its TCP timer runs every
// 250 ms, and a sender in slow start (slirp, after a small request) waits
// for the ACK before sending more: a 16 MiB upload to the guest stalled
// 74-256 ms at its start. So a delayed ACK waits LAN_DELAYED_ACK_MS for data
// to ride on, from the end of the batch that left it, and then tcp_fasttmr
// runs (Linux waits 40 ms, but ACKs the first segments of a connection at
// once); other paths (loopback) are covered by the port's tick.
static void lan_arm_ack_timer(void) {
    if (lan_ack_timer_armed) {
        return;
    }
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
        if (pcb->flags & TF_ACK_DELAY) {
            lan_ack_timer_armed = true;
            soft_timer_insert(&lan_ack_timer, LAN_DELAYED_ACK_MS);
            return;
        }
    }
}

static void lan_rx_batch_done(virtio_net_t *nic) {
    lan_if_t *lif = nic->user;
    lan_merge_flush(lif);
    lan_held_ack_flush(lif);
    lif->rx_batch = false;
    ack_coalesce_flush(&lif->acks, lan_send_held, lif);
    lan_arm_ack_timer();
}

static err_t lan_linkoutput(struct netif *netif, struct pbuf *p) {
    lan_if_t *lif = netif->state;
    if (lif->rx_batch) {
        // ack_coalesce reads the headers, which lwIP may have chained.
        uint8_t head[ACK_COALESCE_FRAME_MAX];
        const uint8_t *frame = p->payload;
        if (p->len < p->tot_len && p->len < sizeof(head)) {
            pbuf_copy_partial(p, head, sizeof(head), 0);
            frame = head;
        }
        if (ack_coalesce_offer(&lif->acks, frame, p->tot_len, lan_send_held, lif)) {
            return ERR_OK;
        }
    }
    lan_tx_ctx_t ctx = { lif, p, NULL, p->tot_len };
    int ret = virtio_net_tx_fill(&lif->nic, p->tot_len, lan_tx_fill, &ctx);
    if (ret == -ENOBUFS) {
        return ERR_MEM;
    }
    return ret == 0 ? ERR_OK : ERR_IF;
}

// An ICMP or ICMPv6 echo request (to be dropped while ICMP replies are off).
static bool is_icmp_echo_request(const uint8_t *frame, size_t len) {
    uint16_t type = len >= ETH_HLEN ? (frame[12] << 8 | frame[13]) : 0;
    const uint8_t *ip = frame + ETH_HLEN;
    if (type == ETH_TYPE_IPV4 && len >= ETH_HLEN + 20) {
        size_t ihl = (ip[0] & 0x0f) * 4;
        return ip[9] == IP_PROTO_ICMP && ihl >= 20 && ETH_HLEN + ihl < len && ip[ihl] == ICMP_ECHO;
    }
    if (type == ETH_TYPE_IPV6 && len > ETH_HLEN + 40) {
        return ip[6] == IP6_NEXTH_ICMP6 && ip[40] == ICMP6_TYPE_EREQ; // no extension headers
    }
    return false;
}

static void lan_rx(virtio_net_t *nic, const uint8_t *hdr, uint8_t *frame, size_t len) {
    lan_if_t *lif = nic->user;
    lan_rx_finish_csum(hdr, frame, len);
    if (net_raw_enabled() && lif == &lan_ifs[0]) { // raw frames: the first NIC's
        if (!net_raw_push(frame, len)) {
            nic->stats.rx_dropped++;
        }
        return;
    }
    if (!(lif->netif.flags & NETIF_FLAG_UP) || (!lan_icmp_echo && is_icmp_echo_request(frame, len))) {
        return;
    }
    if (len < ETH_HLEN + ARP_PACKET_LEN && (frame[12] << 8 | frame[13]) == ETH_TYPE_ARP) {
        // lwIP's etharp_input reads a full ARP packet without checking the
        // length: a truncated one would be answered from stale pool memory.
        nic->stats.rx_dropped++;
        return;
    }
    lif->rx_batch = true;
    // At most one of a held ACK and a merge is pending: whatever else
    // arrives sends what is held first, so each connection's order is kept.
    if (rx_merge_pure_ack(frame, len)) {
        if (!lif->ack_held || !rx_merge_ack_supersedes(lif->held_ack, frame)) {
            lan_merge_flush(lif);
            lan_held_ack_flush(lif);
        }
        memcpy(lif->held_ack, frame, RX_MERGE_ACK_LEN);
        lif->ack_held = true;
        return;
    }
    lan_held_ack_flush(lif);
    uint32_t data_sum;
    if (rx_merge_candidate(frame, len, &data_sum)) {
        if (rx_merge_follows(&lif->merge, frame, len)) {
            rx_merge_append(&lif->merge, frame, len, data_sum);
            return;
        }
        lan_merge_flush(lif);
        lif->merge_pbuf = pbuf_alloc(PBUF_RAW, LAN_MERGE_MAX, PBUF_RAM);
        if (lif->merge_pbuf != NULL) {
            rx_merge_start(&lif->merge, lif->merge_pbuf->payload, LAN_MERGE_MAX, frame, len, data_sum);
            return;
        }
    } else {
        lan_merge_flush(lif); // keep the order of the connection's segments
    }
    lan_input_copy(lif, frame, len);
}

static void lan_link(virtio_net_t *nic, bool up) {
    lan_if_t *lif = nic->user;
    if (up) {
        netif_set_link_up(&lif->netif);
    } else {
        netif_set_link_down(&lif->netif);
    }
}

static err_t lan_netif_init(struct netif *netif) {
    lan_if_t *lif = netif->state;
    netif->linkoutput = lan_linkoutput;
    netif->output = etharp_output;
    netif->output_ip6 = ethip6_output;
    netif->mtu = lif->nic.mtu;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP
        | NETIF_FLAG_MLD6;
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, lif->nic.mac, 6);
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    if (lif->csum_offload) {
        NETIF_SET_CHECKSUM_CTRL(netif, NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP);
    }
    return ERR_OK;
}

bool network_lan_pending(void) {
    return lan_nic_due || lan_timers_due || lan_acks_due;
}

void network_lan_poll(void) {
    if (!network_lan_pending()) {
        return;
    }
    virt_lwip_lock();
    if (lan_nic_due) {
        lan_nic_due = false;
        for (int i = 0; i < NETWORK_LAN_MAX; ++i) {
            if (lan_ifs[i].present) {
                virtio_net_service(&lan_ifs[i].nic);
            }
        }
    }
    if (lan_timers_due) {
        lan_timers_due = false;
        sys_check_timeouts();
        lan_acks_due = true;
    }
    if (lan_acks_due) {
        lan_acks_due = false;
        tcp_fasttmr();
    }
    virt_lwip_unlock();
    lan_worked = true;
}

bool network_lan_take_worked(void) {
    bool worked = lan_worked;
    lan_worked = false;
    return worked;
}

static void lan_sched_cb(mp_sched_node_t *node) {
    (void)node;
    network_lan_poll();
}

// From interrupts: ask for network_lan_poll at the next safe point.
static void lan_irq_defer(virtio_net_t *nic) {
    (void)nic;
    lan_nic_due = true;
    mp_sched_schedule_node(&lan_sched_node, lan_sched_cb);
}

static void lan_timer_cb(soft_timer_entry_t *self) {
    (void)self;
    lan_timers_due = true;
    mp_sched_schedule_node(&lan_sched_node, lan_sched_cb);
}

static void lan_ack_timer_cb(soft_timer_entry_t *self) {
    (void)self;
    lan_ack_timer_armed = false;
    lan_acks_due = true;
    mp_sched_schedule_node(&lan_sched_node, lan_sched_cb);
}

static const virtio_net_callbacks_t lan_callbacks = {
    .rx = lan_rx,
    .link = lan_link,
    .batch_done = lan_rx_batch_done,
    .irq_defer = lan_irq_defer,
};

void network_lan_boot(void) {
    lwip_init();
    soft_timer_static_init(&lan_timer, SOFT_TIMER_MODE_PERIODIC, LAN_TICK_MS, lan_timer_cb);
    soft_timer_insert(&lan_timer, LAN_TICK_MS);
    soft_timer_static_init(&lan_ack_timer, SOFT_TIMER_MODE_ONE_SHOT, 0, lan_ack_timer_cb);
    for (int i = 0; i < NETWORK_LAN_MAX; ++i) {
        lan_if_t *lif = &lan_ifs[i];
        ack_coalesce_init(&lif->acks);
        if (!virtio_net_init(&lif->nic, i, &lan_callbacks, lif)) {
            if (lif->nic.error != NULL) {
                continue; // found but given up (nic.error says why): the next one is still LAN(i + 1)
            }
            break;
        }
        lif->present = true;
        lif->csum_offload = virtio_net_has_feature(&lif->nic, VIRTIO_NET_F_CSUM);
        virt_lwip_lock();
        netif_add(&lif->netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, lif, lan_netif_init, ethernet_input);
        netif_set_hostname(&lif->netif, mod_network_hostname_data);
        if (i == 0) {
            netif_set_default(&lif->netif);
        }
        // IPv6: a link-local address now, global ones from router advertisements.
        netif_create_ip6_linklocal_address(&lif->netif, 1);
        lif->netif.ip6_autoconfig_enabled = 1;
        if (lif->nic.link_up) {
            netif_set_link_up(&lif->netif);
        }
        virt_lwip_unlock();
    }
}
