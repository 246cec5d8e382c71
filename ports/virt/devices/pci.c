// PCI host bridge: ECAM, bus 0, BARs and INTx from the device tree; see pci.h.
#include <string.h>

#include "pci.h"

// The device tree's PCI bus binding (IEEE 1275 PCI, and Linux's
// pci-host-generic): the high cell of a child address says its space.
#define PCI_ADDR_CELLS (3)
#define PCI_SPACE(hi) (((hi) >> 24) & 3)
#define PCI_SPACE_IO (1)
#define PCI_SPACE_MEM32 (2)
#define PCI_BUS_SHIFT (20) // ECAM: bus << 20 | slot << 15 | func << 12
#define PCI_SLOT_SHIFT (15)
#define PCI_FUNC_SHIFT (12)

#define PCI_BAR_IO_BIT (1 << 0)
#define PCI_BAR_MEM_TYPE_64 (2 << 1)
#define PCI_BAR_MEM_TYPE_MASK (3 << 1)
#define PCI_BAR_IO_MASK (~(uint32_t)3)
#define PCI_BAR_MEM_MASK (~(uint32_t)15)

// I/O ports below this stay unused: QEMU treats a BAR of 0 as unassigned.
#define PCI_IO_START (0x1000)
#define INTERRUPT_MAP_MAX_CELLS (PCI_ADDR_CELLS + 1 + 1 + 3 + FDT_MAX_INTERRUPT_CELLS)

typedef struct _pci_window_t {
    uint64_t pci_base, cpu_base, size;
    uint64_t next; // the next free bus address
} pci_window_t;

static struct {
    bool scanned;
    const char *error;
    int node;
    uintptr_t ecam;
    uint64_t ecam_size;
    pci_window_t io, mem;
    size_t count;
    pci_func_t funcs[PCI_FUNCTIONS_MAX];
} pci;

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t cells(const uint8_t *p, uint32_t n) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; ++i) {
        v = v << 32 | be32(p + 4 * i);
    }
    return v;
}

static uint32_t node_u32(int node, const char *name, uint32_t dflt) {
    uint32_t v;
    return fdt_get_u32(node, name, &v) ? v : dflt;
}

// The I/O and 32-bit memory windows of "ranges".
static bool read_ranges(int node) {
    uint32_t len;
    const uint8_t *p = fdt_get_prop(node, "ranges", &len);
    uint32_t parent_cells = node_u32(fdt_parent(node), "#address-cells", 2);
    uint32_t size_cells = node_u32(node, "#size-cells", 2);
    if (p == NULL || parent_cells == 0 || parent_cells > 2 || size_cells == 0 || size_cells > 2) {
        return false;
    }
    uint32_t entry = 4 * (PCI_ADDR_CELLS + parent_cells + size_cells);
    for (uint32_t off = 0; off + entry <= len; off += entry) {
        uint32_t hi = be32(p + off);
        uint64_t pci_addr = cells(p + off + 4, 2);
        uint64_t cpu = cells(p + off + 4 * PCI_ADDR_CELLS, parent_cells);
        uint64_t size = cells(p + off + 4 * (PCI_ADDR_CELLS + parent_cells), size_cells);
        pci_window_t *w = PCI_SPACE(hi) == PCI_SPACE_IO ? &pci.io : PCI_SPACE(hi) == PCI_SPACE_MEM32 ? &pci.mem : NULL;
        // A window the CPU cannot address, or a second one, is left unused.
        if (w == NULL || w->size != 0 || size == 0 || cpu > UINTPTR_MAX || size - 1 > UINTPTR_MAX - cpu) {
            continue;
        }
        w->pci_base = pci_addr;
        w->cpu_base = cpu;
        w->size = size;
        w->next = pci_addr;
    }
    if (pci.io.size > PCI_IO_START && pci.io.pci_base < PCI_IO_START) {
        pci.io.next = PCI_IO_START;
    }
    return pci.mem.size != 0 || pci.io.size != 0;
}

// A bus address of `size` (a power of two, so aligned to itself) in w;
// false if it does not fit.
static bool window_alloc(pci_window_t *w, uint64_t size, uint64_t *bus_addr, uint64_t limit) {
    if (w->size == 0 || size == 0) {
        return false;
    }
    uint64_t addr = (w->next + size - 1) & ~(size - 1);
    if (addr < w->next || addr - w->pci_base > w->size || size > w->size - (addr - w->pci_base)
        || addr + size - 1 > limit) {
        return false;
    }
    *bus_addr = addr;
    w->next = addr + size;
    return true;
}

static uint32_t cfg32(const pci_func_t *f, uint32_t off) {
    return virt_io_read32(f->cfg + off);
}

static void cfg_write32(const pci_func_t *f, uint32_t off, uint32_t v) {
    virt_io_write32(f->cfg + off, v);
}

// Size BAR i (decoding off) and place it; returns the BAR index to look at
// next (a 64-bit BAR takes two).
static int assign_bar(pci_func_t *f, int i) {
    uint32_t off = PCI_BAR0 + 4 * i;
    uint32_t orig = cfg32(f, off);
    cfg_write32(f, off, 0xffffffff);
    uint32_t probe = cfg32(f, off);
    cfg_write32(f, off, orig);
    if (probe == 0 || probe == 0xffffffff) {
        return i + 1; // not implemented
    }
    pci_bar_t *bar = &f->bar[i];
    if (probe & PCI_BAR_IO_BIT) {
        uint32_t mask = probe & PCI_BAR_IO_MASK & 0xffff;
        uint64_t size = mask ? (uint64_t)(~mask & 0xffff) + 1 : 0;
        uint64_t addr;
        if (size == 0 || (size & (size - 1)) || !window_alloc(&pci.io, size, &addr, 0xffffffff)) {
            f->error = "an I/O BAR does not fit the bridge's I/O window";
            return i + 1;
        }
        cfg_write32(f, off, (uint32_t)addr);
        bar->kind = PCI_BAR_IO;
        bar->cpu_addr = pci.io.cpu_base + (addr - pci.io.pci_base);
        bar->size = size;
        return i + 1;
    }
    bool is64 = (probe & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64;
    uint64_t mask = probe & PCI_BAR_MEM_MASK;
    if (is64) {
        if (i + 1 >= PCI_BARS) {
            f->error = "a 64-bit BAR in the last BAR slot";
            return i + 1;
        }
        uint32_t orig_hi = cfg32(f, off + 4);
        cfg_write32(f, off + 4, 0xffffffff);
        mask |= (uint64_t)cfg32(f, off + 4) << 32;
        cfg_write32(f, off + 4, orig_hi);
    } else {
        mask |= 0xffffffff00000000u;
    }
    uint64_t size = ~mask + 1;
    uint64_t addr;
    if (mask == 0 || (size & (size - 1)) || !window_alloc(&pci.mem, size, &addr, 0xffffffff)) {
        f->error = "a memory BAR does not fit the bridge's 32-bit window";
        return is64 ? i + 2 : i + 1;
    }
    cfg_write32(f, off, (uint32_t)addr);
    if (is64) {
        cfg_write32(f, off + 4, 0);
    }
    bar->kind = PCI_BAR_MEM;
    bar->cpu_addr = pci.mem.cpu_base + (addr - pci.mem.pci_base);
    bar->size = size;
    return is64 ? i + 2 : i + 1;
}

// The function's INTx pin through the bridge's interrupt-map.
static bool map_intx(pci_func_t *f, uint8_t pin) {
    uint32_t len, mask_len;
    const uint8_t *map = fdt_get_prop(pci.node, "interrupt-map", &len);
    const uint8_t *mask_p = fdt_get_prop(pci.node, "interrupt-map-mask", &mask_len);
    uint32_t mask[PCI_ADDR_CELLS + 1] = { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff };
    if (map == NULL || node_u32(pci.node, "#interrupt-cells", 1) != 1) {
        return false;
    }
    if (mask_p != NULL && mask_len == sizeof(mask)) {
        for (int i = 0; i < PCI_ADDR_CELLS + 1; ++i) {
            mask[i] = be32(mask_p + 4 * i);
        }
    }
    uint32_t child[PCI_ADDR_CELLS + 1] = {
        (uint32_t)f->bus << 16 | (uint32_t)f->slot << 11 | (uint32_t)f->func << 8, 0, 0, pin
    };
    uint32_t off = 0;
    while (off + 4 * (PCI_ADDR_CELLS + 2) <= len) {
        const uint8_t *e = map + off;
        int parent = fdt_find_phandle(be32(e + 4 * (PCI_ADDR_CELLS + 1)));
        uint32_t p_addr = parent == FDT_NODE_NONE ? 0 : node_u32(parent, "#address-cells", 0);
        uint32_t p_int = parent == FDT_NODE_NONE ? 0 : node_u32(parent, "#interrupt-cells", 0);
        uint32_t n = PCI_ADDR_CELLS + 2 + p_addr + p_int;
        if (parent == FDT_NODE_NONE || p_int == 0 || p_int > FDT_MAX_INTERRUPT_CELLS || p_addr > 3
            || n > INTERRUPT_MAP_MAX_CELLS || off + 4 * n > len) {
            return false; // malformed: entries cannot be told apart
        }
        bool match = true;
        for (int i = 0; i < PCI_ADDR_CELLS + 1; ++i) {
            match &= (child[i] & mask[i]) == be32(e + 4 * i);
        }
        if (match) {
            f->intx.controller = parent;
            f->intx.ncells = p_int;
            for (uint32_t i = 0; i < p_int; ++i) {
                f->intx.cells[i] = be32(e + 4 * (PCI_ADDR_CELLS + 2 + p_addr + i));
            }
            return true;
        }
        off += 4 * n;
    }
    return false;
}

static void add_function(uint8_t bus, uint8_t slot, uint8_t func, uintptr_t cfg) {
    if (pci.count == PCI_FUNCTIONS_MAX) {
        return;
    }
    pci_func_t *f = &pci.funcs[pci.count++];
    memset(f, 0, sizeof(*f));
    f->cfg = cfg;
    f->bus = bus;
    f->slot = slot;
    f->func = func;
    f->vendor_id = virt_io_read16(cfg + PCI_VENDOR_ID);
    f->device_id = virt_io_read16(cfg + PCI_DEVICE_ID);
    virt_io_write16(cfg + PCI_COMMAND, 0); // decoding off while BARs move
    if ((virt_io_read8(cfg + PCI_HEADER_TYPE) & 0x7f) == 0) {
        for (int i = 0; i < PCI_BARS;) {
            i = assign_bar(f, i);
        }
    }
    uint8_t pin = virt_io_read8(cfg + PCI_INTERRUPT_PIN);
    f->has_intx = pin >= 1 && pin <= 4 && map_intx(f, pin);
    virt_io_write16(cfg + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

size_t pci_scan(void) {
    if (pci.scanned) {
        return pci.count;
    }
    pci.scanned = true;
    pci.node = fdt_find_compatible(FDT_NODE_NONE, "pci-host-ecam-generic");
    uint64_t ecam, size;
    if (pci.node == FDT_NODE_NONE) {
        pci.error = "no pci-host-ecam-generic bridge in the device tree";
        return 0;
    }
    if (!fdt_get_reg(pci.node, 0, &ecam, &size) || size < ((uint64_t)1 << PCI_BUS_SHIFT)) {
        pci.error = "the PCI bridge's ECAM window is missing or smaller than one bus";
        return 0;
    }
    uintptr_t ecam_addr = virt_io_map(ecam, size);
    if (ecam_addr == 0) {
        pci.error = "the PCI bridge's ECAM window cannot be mapped";
        return 0;
    }
    if (!read_ranges(pci.node)) {
        pci.error = "the PCI bridge has no usable I/O or 32-bit memory window";
        return 0;
    }
    pci.ecam = ecam_addr;
    pci.ecam_size = size;
    uint32_t bus_len;
    const uint8_t *bus_range = fdt_get_prop(pci.node, "bus-range", &bus_len);
    uint8_t bus = bus_range != NULL && bus_len == 8 ? (uint8_t)be32(bus_range) : 0;
    for (uint8_t slot = 0; slot < PCI_SLOTS; ++slot) {
        for (uint8_t func = 0; func < PCI_FUNCS; ++func) {
            uintptr_t cfg = pci.ecam + ((uintptr_t)slot << PCI_SLOT_SHIFT) + ((uintptr_t)func << PCI_FUNC_SHIFT);
            uint16_t vendor = virt_io_read16(cfg + PCI_VENDOR_ID);
            if (vendor == PCI_VENDOR_NONE || vendor == 0) {
                if (func == 0) {
                    break; // an empty slot
                }
                continue;
            }
            add_function(bus, slot, func, cfg);
            if (func == 0 && !(virt_io_read8(cfg + PCI_HEADER_TYPE) & PCI_HEADER_MULTI_FUNCTION)) {
                break;
            }
        }
    }
    return pci.count;
}

const pci_func_t *pci_func(size_t i) {
    return i < pci.count ? &pci.funcs[i] : NULL;
}

const char *pci_error(void) {
    return pci.error;
}

void pci_reset(void) {
    memset(&pci, 0, sizeof(pci));
}
