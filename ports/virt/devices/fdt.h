// A small read-only flattened device tree (DTB) reader: just what the port
// needs to find its RAM, devices and boot arguments in the tree QEMU passes.
// It has no MicroPython dependencies so the host tests can build it as is.
#ifndef MICROPY_INCLUDED_VIRT_FDT_H
#define MICROPY_INCLUDED_VIRT_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_MAGIC (0xd00dfeed)
#define FDT_NODE_NONE (-1)

// Checks the header and remembers the blob; false if it is not a valid DTB.
bool fdt_init(const void *blob, size_t max_size);
size_t fdt_total_size(void);

// Node handles are offsets into the structure block; the root is 0.
// Each search continues after `from` (FDT_NODE_NONE starts at the root).
int fdt_find_compatible(int from, const char *compatible);
int fdt_find_device_type(int from, const char *device_type);
// A direct child of the root by name, ignoring any "@unit" suffix.
int fdt_find_root_child(const char *name);

const void *fdt_get_prop(int node, const char *name, uint32_t *len);
// A one-cell property (such as "timebase-frequency"); false if absent or
// not one cell.
bool fdt_get_u32(int node, const char *name, uint32_t *out);
// A number of one or two cells, as /chosen's "linux,initrd-start" (QEMU
// writes one cell or two, by version); false if absent or another size.
bool fdt_get_number(int node, const char *name, uint64_t *out);
// A string property, NULL if absent or not NUL-terminated.
const char *fdt_get_prop_str(int node, const char *name);
// Whether the node's "compatible" list contains the string.
bool fdt_is_compatible(int node, const char *compatible);

// The index'th (address, size) pair of "reg", for a child of the root.
bool fdt_get_reg(int node, int index, uint64_t *addr, uint64_t *size);
// The node that holds `node` (FDT_NODE_NONE for the root), the node with a
// phandle, a node's interrupt parent (its own "interrupt-parent" or its
// nearest ancestor's).
int fdt_parent(int node);
int fdt_find_phandle(uint32_t phandle);
int fdt_interrupt_parent(int node);

// One interrupt specifier: as many cells as its controller's
// "#interrupt-cells" says (3 for the GIC, 1 for the PLIC).
#define FDT_MAX_INTERRUPT_CELLS (4)
typedef struct _fdt_interrupt_t {
    int controller;
    uint32_t ncells;
    uint32_t cells[FDT_MAX_INTERRUPT_CELLS];
} fdt_interrupt_t;

// The index'th entry of the node's "interrupts", sized by its interrupt
// parent's #interrupt-cells. false if absent or malformed.
bool fdt_get_interrupt(int node, int index, fdt_interrupt_t *out);

#endif // MICROPY_INCLUDED_VIRT_FDT_H
