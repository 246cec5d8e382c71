// _virt: what the frozen Python of this port needs from C and nothing more:
// the boot arguments QEMU passed (-append) and the NIC's driver state.
#include "py/runtime.h"

#include "fdt.h"
#include "network_lan.h"

// The kernel command line from /chosen/bootargs (QEMU -append), or "".
static mp_obj_t virt_bootargs(void) {
    const char *args = fdt_get_prop_str(fdt_find_root_child("chosen"), "bootargs");
    return mp_obj_new_str_from_cstr(args != NULL ? args : "");
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_bootargs_obj, virt_bootargs);

static void dict_store_int(mp_obj_t dict, qstr key, mp_uint_t value) {
    mp_obj_dict_store(dict, MP_OBJ_NEW_QSTR(key), mp_obj_new_int_from_uint(value));
}

// The virtio-net driver's state: transport, features and counters; None
// without a device.
static mp_obj_t virt_net_info(void) {
    virtio_net_t *nic = network_lan_nic();
    if (nic == NULL) {
        return mp_const_none;
    }
    mp_obj_t d = mp_obj_new_dict(0);
    dict_store_int(d, MP_QSTR_version, nic->dev.version);
    dict_store_int(d, MP_QSTR_irq, nic->dev.irq);
    dict_store_int(d, MP_QSTR_base, nic->dev.base);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_device_features), mp_obj_new_int_from_ull(nic->dev.device_features));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_features), mp_obj_new_int_from_ull(nic->dev.features));
    dict_store_int(d, MP_QSTR_hdr_len, nic->hdr_len);
    dict_store_int(d, MP_QSTR_mtu, nic->mtu);
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
    dict_store_int(d, MP_QSTR_tx_errors, s->tx_errors);
    dict_store_int(d, MP_QSTR_irqs, s->irqs);
    dict_store_int(d, MP_QSTR_config_changes, s->config_changes);
    dict_store_int(d, MP_QSTR_resets, s->resets);
    extern uint32_t virt_lwip_assert_count;
    dict_store_int(d, MP_QSTR_lwip_asserts, virt_lwip_assert_count);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(virt_net_info_obj, virt_net_info);

static const mp_rom_map_elem_t virt_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__virt) },
    { MP_ROM_QSTR(MP_QSTR_bootargs), MP_ROM_PTR(&virt_bootargs_obj) },
    { MP_ROM_QSTR(MP_QSTR_net_info), MP_ROM_PTR(&virt_net_info_obj) },
};
static MP_DEFINE_CONST_DICT(virt_module_globals, virt_module_globals_table);

const mp_obj_module_t mp_module_virt = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&virt_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__virt, mp_module_virt);
