// network.LAN: MicroPython's LAN class for the virtio-net NICs that
// network_lan.c runs under lwIP; LAN(n) is interface n.
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/modnetwork.h"

#include "lwip/dhcp.h"
#include "lwip/netif.h"

#include "network_lan.h"

typedef struct _network_lan_obj_t {
    mp_obj_base_t base;
    int index;
} network_lan_obj_t;

static const network_lan_obj_t network_lan_objs[NETWORK_LAN_MAX] = {
    { { &network_lan_type }, 0 },
    { { &network_lan_type }, 1 },
};
_Static_assert(NETWORK_LAN_MAX == 2, "one object per interface");

// network.LAN

static struct netif *lan_netif(mp_obj_t self_in) {
    return network_lan_netif(((network_lan_obj_t *)MP_OBJ_TO_PTR(self_in))->index);
}

static virtio_net_t *lan_nic(mp_obj_t self_in) {
    return network_lan_nic(((network_lan_obj_t *)MP_OBJ_TO_PTR(self_in))->index);
}

// The interface's netif; OSError(ENODEV) without its device.
static struct netif *lan_get(mp_obj_t self_in) {
    if (lan_nic(self_in) == NULL) {
        mp_raise_OSError(MP_ENODEV);
    }
    return lan_netif(self_in);
}

// Link status as on other LAN ports: 0 down, 1 link, 2 link without IP, 3 up with IP.
static int lan_status(mp_obj_t self_in) {
    if (lan_nic(self_in) == NULL || !lan_nic(self_in)->link_up) {
        return 0;
    }
    if (!(lan_netif(self_in)->flags & NETIF_FLAG_UP)) {
        return 1;
    }
    return ip4_addr_isany_val(*netif_ip4_addr(lan_netif(self_in))) ? 2 : 3;
}

static void network_lan_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    const ip4_addr_t *ip = netif_ip4_addr(lan_netif(self_in));
    mp_printf(print, "<LAN %d virtio-net status=%d ip=%u.%u.%u.%u>",
        ((network_lan_obj_t *)MP_OBJ_TO_PTR(self_in))->index, lan_status(self_in),
        ip4_addr1(ip), ip4_addr2(ip), ip4_addr3(ip), ip4_addr4(ip));
}

static mp_obj_t network_lan_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 1, false);
    mp_int_t index = n_args == 1 ? mp_obj_get_int(args[0]) : 0;
    if (index < 0 || index >= NETWORK_LAN_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("invalid LAN interface"));
    }
    mp_obj_t self = MP_OBJ_FROM_PTR(&network_lan_objs[index]);
    mod_network_register_nic(self);
    return self;
}

static mp_obj_t network_lan_active(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        return mp_obj_new_bool((lan_nic(args[0]) != NULL) && (lan_netif(args[0])->flags & NETIF_FLAG_UP));
    }
    struct netif *netif = lan_get(args[0]);
    bool up = mp_obj_is_true(args[1]);
    MICROPY_PY_LWIP_ENTER
    if (up && !(netif->flags & NETIF_FLAG_UP)) {
        netif_set_up(netif);
        dhcp_start(netif); // as on other LAN ports: DHCP until told otherwise
    } else if (!up && (netif->flags & NETIF_FLAG_UP)) {
        dhcp_release_and_stop(netif);
        netif_set_down(netif);
    }
    MICROPY_PY_LWIP_EXIT
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(network_lan_active_obj, 1, 2, network_lan_active);

static mp_obj_t network_lan_isconnected(mp_obj_t self_in) {
    return mp_obj_new_bool(lan_status(self_in) == 3);
}
static MP_DEFINE_CONST_FUN_OBJ_1(network_lan_isconnected_obj, network_lan_isconnected);

static mp_obj_t network_lan_ifconfig(size_t n_args, const mp_obj_t *args) {
    return mod_network_nic_ifconfig(lan_get(args[0]), n_args - 1, args + 1);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(network_lan_ifconfig_obj, 1, 2, network_lan_ifconfig);

static mp_obj_t network_lan_ipconfig(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    struct netif *netif = lan_get(args[0]);
    if (kwargs->used == 0 || n_args != 1) {
        return mod_network_nic_ipconfig(netif, n_args - 1, args + 1, kwargs);
    }
    // MicroPython 1.25's setter reads the name of an addr4/addr6 keyword from
    // args[0] rather than from the keyword itself, so hand it one keyword at
    // a time with args[0] set to that name. dhcp4 goes first, so that turning
    // DHCP off does not undo an address given in the same call.
    for (int pass = 0; pass < 2; ++pass) {
        for (size_t i = 0; i < kwargs->alloc; ++i) {
            if (!mp_map_slot_is_filled(kwargs, i)) {
                continue;
            }
            mp_map_elem_t elem = kwargs->table[i];
            bool is_dhcp4 = mp_obj_str_get_qstr(elem.key) == MP_QSTR_dhcp4;
            if ((pass == 0) != is_dhcp4) {
                continue;
            }
            mp_map_t one = { .all_keys_are_qstrs = 1, .is_fixed = 1, .is_ordered = 1, .used = 1, .alloc = 1, .table = &elem };
            mod_network_nic_ipconfig(netif, 0, &elem.key, &one);
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(network_lan_ipconfig_obj, 1, network_lan_ipconfig);

static mp_obj_t network_lan_status(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        return MP_OBJ_NEW_SMALL_INT(lan_status(args[0]));
    }
    mp_raise_ValueError(MP_ERROR_TEXT("unknown status param"));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(network_lan_status_obj, 1, 2, network_lan_status);

static mp_obj_t network_lan_config(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    struct netif *netif = lan_get(args[0]);
    if (kwargs->used == 0) {
        if (n_args != 2) {
            mp_raise_TypeError(MP_ERROR_TEXT("must query one param"));
        }
        switch (mp_obj_str_get_qstr(args[1])) {
            case MP_QSTR_mac:
                return mp_obj_new_bytes(netif->hwaddr, 6);
            case MP_QSTR_mtu:
                return MP_OBJ_NEW_SMALL_INT(netif->mtu);
            case MP_QSTR_hostname:
                return mp_obj_new_str_from_cstr(mod_network_hostname_data);
            default:
                mp_raise_ValueError(MP_ERROR_TEXT("unknown config param"));
        }
    }
    if (n_args != 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("can't specify pos and kw args"));
    }
    for (size_t i = 0; i < kwargs->alloc; ++i) {
        if (!mp_map_slot_is_filled(kwargs, i)) {
            continue;
        }
        mp_map_elem_t *e = &kwargs->table[i];
        switch (mp_obj_str_get_qstr(e->key)) {
            case MP_QSTR_mac: {
                mp_buffer_info_t buf;
                mp_get_buffer_raise(e->value, &buf, MP_BUFFER_READ);
                if (buf.len != 6) {
                    mp_raise_ValueError(MP_ERROR_TEXT("mac must be 6 bytes"));
                }
                MICROPY_PY_LWIP_ENTER
                memcpy(netif->hwaddr, buf.buf, 6);
                MICROPY_PY_LWIP_EXIT
                break;
            }
            case MP_QSTR_mtu: {
                mp_int_t mtu = mp_obj_get_int(e->value);
                if (mtu < 576 || mtu > lan_nic(args[0])->mtu) {
                    mp_raise_ValueError(MP_ERROR_TEXT("mtu out of range"));
                }
                netif->mtu = mtu;
                break;
            }
            default:
                mp_raise_ValueError(MP_ERROR_TEXT("unknown config param"));
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(network_lan_config_obj, 1, network_lan_config);

static const mp_rom_map_elem_t network_lan_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_active), MP_ROM_PTR(&network_lan_active_obj) },
    { MP_ROM_QSTR(MP_QSTR_isconnected), MP_ROM_PTR(&network_lan_isconnected_obj) },
    { MP_ROM_QSTR(MP_QSTR_ifconfig), MP_ROM_PTR(&network_lan_ifconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_ipconfig), MP_ROM_PTR(&network_lan_ipconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_status), MP_ROM_PTR(&network_lan_status_obj) },
    { MP_ROM_QSTR(MP_QSTR_config), MP_ROM_PTR(&network_lan_config_obj) },
};
static MP_DEFINE_CONST_DICT(network_lan_locals_dict, network_lan_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    network_lan_type,
    MP_QSTR_LAN,
    MP_TYPE_FLAG_NONE,
    make_new, network_lan_make_new,
    print, network_lan_print,
    locals_dict, &network_lan_locals_dict
    );
