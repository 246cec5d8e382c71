// The VirtIO NIC under lwIP, and MicroPython's network.LAN class for it.
#ifndef MICROPY_INCLUDED_VIRT_NETWORK_LAN_H
#define MICROPY_INCLUDED_VIRT_NETWORK_LAN_H

#include <stdbool.h>

#include "virtio_net.h"

// Interfaces: the first NETWORK_LAN_MAX virtio-net devices, MMIO ones first
// (network.LAN(0), LAN(1)).
#define NETWORK_LAN_MAX (VIRTIO_NET_DEVICES_MAX)

// Once at power-on: start lwIP and the virtio-net devices there are.
void network_lan_boot(void);
// Whether lwIP has work waiting (frames, its tick), and doing it: at thread
// level only (see network_lan.c).
bool network_lan_pending(void);
void network_lan_poll(void);
// Whether network_lan_poll did work since the last call: a wait then ends at
// once, so that its caller looks again at what it waits for.
bool network_lan_take_worked(void);
// Interface index's driver instance (its config, counters), NULL without a device.
virtio_net_t *network_lan_nic(int index);
// lwIP's netif for it (there even without a device; down then).
struct netif *network_lan_netif(int index);
// Whether lwIP sees ICMP echo requests (and so answers pings).
void network_lan_set_icmp_echo(bool on);
bool network_lan_icmp_echo(void);
// Restart interface index's device, e.g. with another virtio_net_hdr length
// (0: from the negotiated features). 0 or a negative errno.
int network_lan_reinit(int index, uint16_t header_len);

// TCP segments looped back to our own addresses whose checksums the port
// computed (checksum offload on): a counter for _virt.net_info().
extern uint32_t virt_loop_csum_fills;

#endif // MICROPY_INCLUDED_VIRT_NETWORK_LAN_H
