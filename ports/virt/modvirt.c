// _virt: what the frozen Python of this port needs from C and nothing more:
// the boot arguments QEMU passed (-append) and the NIC's driver state.
#include <string.h>

#include "py/runtime.h"

#include "py/mperrno.h"

#include "fdt.h"
#include "irq.h"
#include "lwip_memory.h"
#include "pci.h"
#include "net_raw.h"
#include "network_lan.h"
#include "tcp_time_wait.h"
#include "virt_entropy.h"

// The kernel command line from /chosen/bootargs (QEMU -append), or "".
static mp_obj_t virt_bootargs(void) {
    const char *args = fdt_get_prop_str(fdt_find_root_child("chosen"), "bootargs");
    return mp_obj_new_str_from_cstr(args != NULL ? args : "");
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_bootargs_obj, virt_bootargs);

// Whether QEMU gave the guest a virtio-net device (cheaper than net_info()).
static mp_obj_t virt_net_present(void) {
    return mp_obj_new_bool(network_lan_nic(0) != NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_net_present_obj, virt_net_present);

static void dict_store_int(mp_obj_t dict, qstr key, mp_uint_t value) {
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(key), mp_obj_new_int_from_uint(value));
}

// The virtio-net driver's state for interface n (default 0, as
// network.LAN(n)): transport, features and counters; None without a device.
static mp_obj_t virt_net_info(size_t n_args, const mp_obj_t *args) {
    virtio_net_t *nic = network_lan_nic(n_args > 0 ? mp_obj_get_int(args[0]) : 0);
    if (nic == NULL) {
        return mp_const_none;
    }
    mp_obj_t d = mp_obj_new_dict(0);
    dict_store_int(d, MP_QSTR_version, nic->dev.modern ? 2 : 1);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_transport), mp_obj_new_str_from_cstr(nic->dev.ops->name));
    dict_store_int(d, MP_QSTR_irq, nic->dev.irq);
    dict_store_int(d, MP_QSTR_base, nic->dev.base);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_device_features), mp_obj_new_int_from_ull(nic->dev.device_features));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_features), mp_obj_new_int_from_ull(nic->dev.features));
    dict_store_int(d, MP_QSTR_hdr_len, nic->hdr_len);
    dict_store_int(d, MP_QSTR_mtu, nic->mtu);
    dict_store_int(d, MP_QSTR_tx_max_frame, nic->tx_max_frame);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_mac_random), mp_obj_new_bool(nic->mac_random));
    dict_store_int(d, MP_QSTR_status, nic->config_status);
    dict_store_int(d, MP_QSTR_max_virtqueue_pairs, nic->max_vq_pairs);
    dict_store_int(d, MP_QSTR_rx_queue_size, nic->rxq.num);
    dict_store_int(d, MP_QSTR_tx_queue_size, nic->txq.num);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_mac), mp_obj_new_bytes(nic->mac, 6));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_link_up), mp_obj_new_bool(nic->link_up));
    const virtio_net_stats_t *s = &nic->stats;
    dict_store_int(d, MP_QSTR_rx_packets, s->rx_packets);
    dict_store_int(d, MP_QSTR_rx_bytes, s->rx_bytes);
    dict_store_int(d, MP_QSTR_rx_dropped, s->rx_dropped);
    dict_store_int(d, MP_QSTR_rx_errors, s->rx_errors);
    dict_store_int(d, MP_QSTR_tx_packets, s->tx_packets);
    dict_store_int(d, MP_QSTR_tx_bytes, s->tx_bytes);
    dict_store_int(d, MP_QSTR_tx_dropped, s->tx_dropped);
    dict_store_int(d, MP_QSTR_tx_waits, s->tx_waits);
    dict_store_int(d, MP_QSTR_tx_errors, s->tx_errors);
    dict_store_int(d, MP_QSTR_irqs, s->irqs);
    dict_store_int(d, MP_QSTR_tx_kicks, s->tx_kicks);
    dict_store_int(d, MP_QSTR_config_changes, s->config_changes);
    dict_store_int(d, MP_QSTR_resets, s->resets);
    dict_store_int(d, MP_QSTR_rx_budget_hits, s->rx_budget_hits);
    extern uint32_t virt_lwip_assert_count;
    dict_store_int(d, MP_QSTR_lwip_asserts, virt_lwip_assert_count);
    dict_store_int(d, MP_QSTR_loop_csum_fills, virt_loop_csum_fills);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(virt_net_info_obj, 0, 1, virt_net_info);

// The entropy source: whether a virtio-rng device feeds it, and its counters.
static mp_obj_t virt_rng_info(void) {
    virtio_rng_t *rng = virt_entropy_device();
    mp_obj_t d = mp_obj_new_dict(0);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_device), mp_obj_new_bool(virt_entropy_from_device()));
    dict_store_int(d, MP_QSTR_requests, rng ? rng->requests : 0);
    dict_store_int(d, MP_QSTR_bytes, rng ? rng->bytes : 0);
    dict_store_int(d, MP_QSTR_empty, rng ? rng->empty : 0);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_error),
        rng && rng->error ? mp_obj_new_str(rng->error, strlen(rng->error)) : mp_const_none);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_rng_info_obj, virt_rng_info);

// lwIP's pools: the region's size, bytes in use and at most, allocations
// refused; TCP PCBs live, the connection limit, and refusals at it; TIME_WAIT
// connections a new SYN ended (net/tcp_time_wait.h).
static mp_obj_t virt_lwip_mem(void) {
    virt_lwip_memory_stats_t st;
    virt_lwip_memory_stats(&st);
    mp_obj_t d = mp_obj_new_dict(0);
    dict_store_int(d, MP_QSTR_size, st.size);
    dict_store_int(d, MP_QSTR_used, st.in_use);
    dict_store_int(d, MP_QSTR_peak, st.peak);
    dict_store_int(d, MP_QSTR_failed, st.failed);
    dict_store_int(d, MP_QSTR_tcp, st.tcp);
    dict_store_int(d, MP_QSTR_tcp_max, st.tcp_max);
    dict_store_int(d, MP_QSTR_tcp_refused, st.tcp_refused);
    dict_store_int(d, MP_QSTR_syn_refused, st.syn_refused);
    dict_store_int(d, MP_QSTR_bad_frees, st.bad_frees);
    dict_store_int(d, MP_QSTR_tcp_block, st.tcp_block);
    dict_store_int(d, MP_QSTR_listen_block, st.listen_block);
    dict_store_int(d, MP_QSTR_time_wait_reopened, tcp_time_wait_reopened);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_lwip_mem_obj, virt_lwip_mem);

// pci(): (why there is no PCI bus or None, [one dict per function found]),
// as lspci would list them: slot, function, IDs, BARs, INTx, what failed.
static mp_obj_t virt_pci(void) {
    size_t n = pci_scan();
    mp_obj_t funcs = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < n; ++i) {
        const pci_func_t *f = pci_func(i);
        mp_obj_t d = mp_obj_new_dict(0);
        dict_store_int(d, MP_QSTR_slot, f->slot);
        dict_store_int(d, MP_QSTR_func, f->func);
        dict_store_int(d, MP_QSTR_vendor, f->vendor_id);
        dict_store_int(d, MP_QSTR_device, f->device_id);
        mp_obj_t bars = mp_obj_new_list(0, NULL);
        for (int b = 0; b < PCI_BARS; ++b) {
            if (f->bar[b].kind != PCI_BAR_NONE) {
                mp_obj_t bar[4] = {
                    MP_OBJ_NEW_SMALL_INT(b),
                    MP_OBJ_NEW_QSTR(f->bar[b].kind == PCI_BAR_IO ? MP_QSTR_io : MP_QSTR_mem),
                    mp_obj_new_int_from_ull(f->bar[b].cpu_addr),
                    mp_obj_new_int_from_ull(f->bar[b].size),
                };
                mp_obj_list_append(bars, mp_obj_new_tuple(4, bar));
            }
        }
        mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_bars), bars);
        uint32_t irq;
        mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_irq),
            f->has_intx && virt_irq_from_spec(&f->intx, &irq) ? MP_OBJ_NEW_SMALL_INT(irq) : mp_const_none);
        mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_error),
            f->error ? mp_obj_new_str_from_cstr(f->error) : mp_const_none);
        mp_obj_list_append(funcs, d);
    }
    mp_obj_t ret[2] = { pci_error() ? mp_obj_new_str_from_cstr(pci_error()) : mp_const_none, funcs };
    return mp_obj_new_tuple(2, ret);
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_pci_obj, virt_pci);

static virtio_net_t *nic_or_raise(void) {
    virtio_net_t *nic = network_lan_nic(0);
    if (nic == NULL) {
        mp_raise_OSError(MP_ENODEV);
    }
    return nic;
}

// net_tx(frame): send one raw Ethernet frame (no virtio header).
static mp_obj_t virt_net_tx(mp_obj_t frame_in) {
    virtio_net_t *nic = nic_or_raise();
    mp_buffer_info_t frame;
    mp_get_buffer_raise(frame_in, &frame, MP_BUFFER_READ);
    if (frame.len < VIRTIO_NET_MIN_FRAME || frame.len > nic->tx_max_frame) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("frame must be %d to %d bytes (MTU + Ethernet header)"),
            VIRTIO_NET_MIN_FRAME, nic->tx_max_frame);
    }
    virt_lwip_lock(); // the TX ring is shared with lwIP, which runs at IRQ level
    int ret = virtio_net_tx(nic, frame.buf, frame.len);
    virt_lwip_unlock();
    if (ret < 0) {
        mp_raise_OSError(-ret); // ENOBUFS: TX ring full; nothing was queued
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(virt_net_tx_obj, virt_net_tx);

// net_rx(): the oldest frame received in raw mode, or None.
static mp_obj_t virt_net_rx(void) {
    uint8_t buf[VIRTIO_NET_MAX_FRAME];
    int len = net_raw_pop(buf, sizeof(buf));
    return len < 0 ? mp_const_none : mp_obj_new_bytes(buf, len);
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_net_rx_obj, virt_net_rx);

// net_raw([on]): whether received frames go to net_rx() instead of lwIP.
static mp_obj_t virt_net_raw(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        nic_or_raise();
        net_raw_set_enabled(mp_obj_is_true(args[0]));
    }
    return mp_obj_new_bool(net_raw_enabled());
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(virt_net_raw_obj, 0, 1, virt_net_raw);

// net_rx_callback(f): f(None) is scheduled when a raw frame arrives in an
// empty queue; None to stop.
static mp_obj_t virt_net_rx_callback(mp_obj_t callback) {
    if (callback != mp_const_none && !mp_obj_is_callable(callback)) {
        mp_raise_TypeError(MP_ERROR_TEXT("callback must be callable or None"));
    }
    MP_STATE_PORT(net_raw_callback) = callback == mp_const_none ? MP_OBJ_NULL : callback;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(virt_net_rx_callback_obj, virt_net_rx_callback);

// net_icmp([on]): whether the stack answers ICMP echo requests.
static mp_obj_t virt_net_icmp(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        network_lan_set_icmp_echo(mp_obj_is_true(args[0]));
    }
    return mp_obj_new_bool(network_lan_icmp_echo());
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(virt_net_icmp_obj, 0, 1, virt_net_icmp);

// net_reinit(header_len=0): restart the device; header_len overrides the
// virtio_net_hdr length for backends that omit fields (0: negotiated).
static mp_obj_t virt_net_reinit(size_t n_args, const mp_obj_t *args) {
    mp_int_t header_len = n_args ? mp_obj_get_int(args[0]) : 0;
    if (header_len != 0 && header_len != VIRTIO_NET_HDR_LEN_LEGACY && header_len != VIRTIO_NET_HDR_LEN_MODERN) {
        mp_raise_ValueError(MP_ERROR_TEXT("header_len must be 0, 10 or 12"));
    }
    int ret = network_lan_reinit(0, header_len);
    if (ret < 0) {
        mp_raise_OSError(-ret);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(virt_net_reinit_obj, 0, 1, virt_net_reinit);

static const mp_rom_map_elem_t virt_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__virt) },
    { MP_ROM_QSTR(MP_QSTR_bootargs), MP_ROM_PTR(&virt_bootargs_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_present), MP_ROM_PTR(&virt_net_present_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_info), MP_ROM_PTR(&virt_net_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_tx), MP_ROM_PTR(&virt_net_tx_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_rx), MP_ROM_PTR(&virt_net_rx_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_raw), MP_ROM_PTR(&virt_net_raw_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_rx_callback), MP_ROM_PTR(&virt_net_rx_callback_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_icmp), MP_ROM_PTR(&virt_net_icmp_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_reinit), MP_ROM_PTR(&virt_net_reinit_obj) },
    { MP_ROM_QSTR(MP_QSTR_rng_info), MP_ROM_PTR(&virt_rng_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_pci), MP_ROM_PTR(&virt_pci_obj) },
    { MP_ROM_QSTR(MP_QSTR_lwip_mem), MP_ROM_PTR(&virt_lwip_mem_obj) },
};
static MP_DEFINE_CONST_DICT(virt_module_globals, virt_module_globals_table);

const mp_obj_module_t mp_module_virt = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&virt_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__virt, mp_module_virt);
