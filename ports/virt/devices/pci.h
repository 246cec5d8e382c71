// PCI host bridge of the device tree ("pci-host-ecam-generic", as QEMU's
// virt machines have): configuration space through the ECAM window, the
// functions of bus 0 listed, their BARs sized and placed in the bridge's
// windows (nothing assigns them before a -kernel image runs), memory and I/O
// decoding turned on, and each function's INTx line looked up in the
// bridge's interrupt-map.
//
// Only bus 0 is scanned: QEMU puts every -device on it unless a bridge is
// asked for, and each slot read is an exit from the emulated CPU. Functions
// behind PCI-PCI bridges are not seen.
// No MicroPython here: tests/host/pci_test.c drives it against a fake ECAM.
#ifndef MICROPY_INCLUDED_VIRT_PCI_H
#define MICROPY_INCLUDED_VIRT_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdt.h"

// Configuration space header (PCI Local Bus 3.0, 6.1; type 0).
#define PCI_VENDOR_ID (0x00)
#define PCI_DEVICE_ID (0x02)
#define PCI_COMMAND (0x04)
#define PCI_STATUS (0x06)
#define PCI_HEADER_TYPE (0x0e)
#define PCI_BAR0 (0x10)
#define PCI_SUBSYSTEM_ID (0x2e)
#define PCI_CAPABILITY_LIST (0x34)
#define PCI_INTERRUPT_PIN (0x3d)

#define PCI_COMMAND_IO (1 << 0)
#define PCI_COMMAND_MEMORY (1 << 1)
#define PCI_COMMAND_MASTER (1 << 2)
#define PCI_COMMAND_INTX_DISABLE (1 << 10)
#define PCI_STATUS_CAP_LIST (1 << 4)
#define PCI_HEADER_MULTI_FUNCTION (0x80)
#define PCI_VENDOR_NONE (0xffff)

#define PCI_CFG_SIZE (4096) // per function, in ECAM
#define PCI_SLOTS (32)
#define PCI_FUNCS (8)
#define PCI_BARS (6)
// Functions remembered; QEMU's bus 0 has 32 slots.
#define PCI_FUNCTIONS_MAX (32)

typedef enum {
    PCI_BAR_NONE,
    PCI_BAR_MEM, // cpu_addr is where the CPU reaches it
    PCI_BAR_IO,  // cpu_addr: the I/O window's CPU address plus the port
} pci_bar_kind_t;

typedef struct _pci_bar_t {
    pci_bar_kind_t kind;
    uint64_t cpu_addr;
    uint64_t size;
} pci_bar_t;

typedef struct _pci_func_t {
    uintptr_t cfg; // its configuration space in ECAM
    uint8_t bus, slot, func;
    uint16_t vendor_id, device_id;
    pci_bar_t bar[PCI_BARS];
    bool has_intx;          // intx is its interrupt, in the controller's terms
    fdt_interrupt_t intx;
    const char *error;      // what could not be assigned, else NULL
} pci_func_t;

// Find the host bridge, list bus 0 and assign everything (once; later calls
// return the same). The number of functions found.
size_t pci_scan(void);
// The i'th function found (in slot order), NULL past the end.
const pci_func_t *pci_func(size_t i);
// Why there is no PCI (no bridge, a malformed one), or NULL.
const char *pci_error(void);
// Forget everything (host tests: scan another tree).
void pci_reset(void);

static inline uint8_t pci_cfg_read8(const pci_func_t *f, uint32_t off);
static inline uint16_t pci_cfg_read16(const pci_func_t *f, uint32_t off);
static inline uint32_t pci_cfg_read32(const pci_func_t *f, uint32_t off);

#include "virt_io.h"

static inline uint8_t pci_cfg_read8(const pci_func_t *f, uint32_t off) {
    return virt_io_read8(f->cfg + off);
}

static inline uint16_t pci_cfg_read16(const pci_func_t *f, uint32_t off) {
    return virt_io_read16(f->cfg + off);
}

static inline uint32_t pci_cfg_read32(const pci_func_t *f, uint32_t off) {
    return virt_io_read32(f->cfg + off);
}

#endif // MICROPY_INCLUDED_VIRT_PCI_H
