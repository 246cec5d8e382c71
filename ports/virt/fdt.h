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
// A string property, NULL if absent or not NUL-terminated.
const char *fdt_get_prop_str(int node, const char *name);
// Whether the node's "compatible" list contains the string.
bool fdt_is_compatible(int node, const char *compatible);

// The index'th (address, size) pair of "reg", for a child of the root.
bool fdt_get_reg(int node, int index, uint64_t *addr, uint64_t *size);
// The index'th interrupt as a GIC interrupt ID (SPI n -> 32 + n, PPI n -> 16 + n).
bool fdt_get_gic_irq(int node, int index, uint32_t *irq);

#endif // MICROPY_INCLUDED_VIRT_FDT_H
