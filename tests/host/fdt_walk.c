// ports/virt/devices/fdt.c built with no room in its index, so that every search
// walks the tree: the oracle fdt_test checks the indexed searches against.
#define FDT_INDEX_MAX 0
#define fdt_init walk_fdt_init
#define fdt_total_size walk_fdt_total_size
#define fdt_find_compatible walk_fdt_find_compatible
#define fdt_find_device_type walk_fdt_find_device_type
#define fdt_find_root_child walk_fdt_find_root_child
#define fdt_get_prop walk_fdt_get_prop
#define fdt_get_prop_str walk_fdt_get_prop_str
#define fdt_is_compatible walk_fdt_is_compatible
#define fdt_get_reg walk_fdt_get_reg
#define fdt_parent walk_fdt_parent
#define fdt_find_phandle walk_fdt_find_phandle
#define fdt_interrupt_parent walk_fdt_interrupt_parent
#define fdt_get_interrupt walk_fdt_get_interrupt
#define fdt_get_u32 walk_fdt_get_u32
#define fdt_get_number walk_fdt_get_number
#include "fdt.c"
