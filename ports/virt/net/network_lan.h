// The VirtIO NIC under lwIP, and MicroPython's network.LAN class for it.
#ifndef MICROPY_INCLUDED_VIRT_NETWORK_LAN_H
#define MICROPY_INCLUDED_VIRT_NETWORK_LAN_H

#include <stdbool.h>

#include "virtio_net.h"

// Once at power-on: start lwIP and the first virtio-net device, if any.
void network_lan_boot(void);
// Whether lwIP has work waiting (frames, its tick), and doing it: at thread
// level only (see network_lan.c).
bool network_lan_pending(void);
void network_lan_poll(void);
// Whether network_lan_poll did work since the last call: a wait then ends at
// once, so that its caller looks again at what it waits for.
bool network_lan_take_worked(void);
// The driver instance (its config, counters), NULL without a device.
virtio_net_t *network_lan_nic(void);
// lwIP's netif for it (there even without a device; down then).
struct netif *network_lan_netif(void);
// Whether lwIP sees ICMP echo requests (and so answers pings).
void network_lan_set_icmp_echo(bool on);
bool network_lan_icmp_echo(void);
// Restart the device, e.g. with another virtio_net_hdr length (0: from the
// negotiated features). 0 or a negative errno.
int network_lan_reinit(uint16_t header_len);

// TCP segments looped back to our own addresses whose checksums the port
// computed (checksum offload on): a counter for _virt.net_info().
extern uint32_t virt_loop_csum_fills;

#endif // MICROPY_INCLUDED_VIRT_NETWORK_LAN_H
