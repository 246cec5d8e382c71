// The VirtIO NIC under lwIP, and MicroPython's network.LAN class for it.
#ifndef MICROPY_INCLUDED_VIRT_NETWORK_LAN_H
#define MICROPY_INCLUDED_VIRT_NETWORK_LAN_H

#include "virtio_net.h"

// Once at power-on: start lwIP and the first virtio-net device, if any.
void network_lan_boot(void);
// The driver instance (its config, counters), NULL without a device.
virtio_net_t *network_lan_nic(void);

#endif // MICROPY_INCLUDED_VIRT_NETWORK_LAN_H
