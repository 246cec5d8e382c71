// Host unit test of ports/virt/virtio/virtio_pci.c: a PCI function's
// configuration space and BARs as plain memory, its capability list made
// well and badly (a loop, pointers outside the capability area, structures
// outside their BAR, a notify offset past its area), transitional and
// modern IDs, the legacy I/O BAR; and the modern common configuration
// driven through a queue set-up. Built with ASan and UBSan by
// tests/test_virtqueue_host.py.
//
// Usage: virtio_pci_test [case...]
#define _GNU_SOURCE // MAP_32BIT
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "irq.h"
#include "virt_io.h"
#include "virtio_pci.h"

// Registers are plain memory here: config space and BARs are host buffers.
uint8_t virt_io_read8(uintptr_t a) {
    return *(volatile uint8_t *)a;
}
uint16_t virt_io_read16(uintptr_t a) {
    return *(volatile uint16_t *)a;
}
uint32_t virt_io_read32(uintptr_t a) {
    return *(volatile uint32_t *)a;
}
void virt_io_write8(uintptr_t a, uint8_t v) {
    *(volatile uint8_t *)a = v;
}
void virt_io_write16(uintptr_t a, uint16_t v) {
    *(volatile uint16_t *)a = v;
}
void virt_io_write32(uintptr_t a, uint32_t v) {
    *(volatile uint32_t *)a = v;
}

// irq.c's part: the INTx specifier's first cell is the number.
bool virt_irq_from_spec(const fdt_interrupt_t *spec, uint32_t *irq) {
    *irq = spec->cells[0];
    return spec->ncells == 1;
}
void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg) {
    (void)irq;
    (void)handler;
    (void)arg;
}

static uint8_t cfg[4096] __attribute__((aligned(8)));
static uint8_t bar4[16384] __attribute__((aligned(4096)));
static uint8_t iobar[64] __attribute__((aligned(8)));
static pci_func_t func;

static void put16(uint8_t *p, uint16_t v) {
    memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, 4);
}

// A vendor capability at pos: type, BAR 4, offset, length (notify: mult).
static void cap(uint8_t pos, uint8_t next, uint8_t type, uint32_t off, uint32_t len) {
    cfg[pos] = 0x09;
    cfg[pos + 1] = next;
    cfg[pos + 2] = type == 2 ? 20 : 16;
    cfg[pos + 3] = type;
    cfg[pos + 4] = 4;
    put32(cfg + pos + 8, off);
    put32(cfg + pos + 12, len);
    if (type == 2) {
        put32(cfg + pos + 16, 4); // notify_off_multiplier
    }
}

// QEMU's layout: common at 0, ISR at 0x1000, device at 0x2000, notify at 0x3000.
static void make_function(uint16_t device_id, bool caps) {
    memset(cfg, 0, sizeof(cfg));
    memset(bar4, 0, sizeof(bar4));
    memset(iobar, 0, sizeof(iobar));
    memset(&func, 0, sizeof(func));
    func.cfg = (uintptr_t)cfg;
    func.vendor_id = 0x1af4;
    func.device_id = device_id;
    put16(cfg + PCI_SUBSYSTEM_ID, 1); // net, for a transitional ID
    func.bar[0] = (pci_bar_t){ PCI_BAR_IO, (uintptr_t)iobar, sizeof(iobar) };
    func.bar[4] = (pci_bar_t){ PCI_BAR_MEM, (uintptr_t)bar4, sizeof(bar4) };
    func.has_intx = true;
    func.intx.ncells = 1;
    func.intx.cells[0] = 37;
    if (caps) {
        put16(cfg + PCI_STATUS, PCI_STATUS_CAP_LIST);
        cfg[PCI_CAPABILITY_LIST] = 0x40;
        cap(0x40, 0x50, 1, 0x0000, 0x1000);
        cap(0x50, 0x60, 3, 0x1000, 0x1000);
        cap(0x60, 0x70, 4, 0x2000, 0x1000);
        cap(0x70, 0x00, 2, 0x3000, 0x1000);
    }
}

static void test_modern_probe(void) {
    make_function(0x1000, true);
    virtio_dev_t dev;
    const char *why;
    CHECK(virtio_pci_probe(&func, 1, &dev, &why));
    CHECK(dev.modern && dev.ops == &virtio_pci_modern_ops);
    CHECK_EQ_U(dev.base, (uintptr_t)bar4);
    CHECK_EQ_U(dev.isr, (uintptr_t)bar4 + 0x1000);
    CHECK_EQ_U(dev.device_cfg, (uintptr_t)bar4 + 0x2000);
    CHECK_EQ_U(dev.notify_base, (uintptr_t)bar4 + 0x3000);
    CHECK_EQ_U(dev.notify_multiplier, 4);
    CHECK_EQ_U(dev.irq, 37);
    CHECK(!virtio_pci_probe(&func, 2, &dev, &why)); // another type
    // Modern IDs: 0x1040 + type, no subsystem needed.
    make_function(0x1042, true);
    CHECK(virtio_pci_probe(&func, 2, &dev, &why));
    func.vendor_id = 0x8086;
    CHECK(!virtio_pci_probe(&func, 2, &dev, &why) && why == NULL);
}

static void test_legacy_probe(void) {
    make_function(0x1000, false); // disable-modern=on: no capabilities
    virtio_dev_t dev;
    const char *why;
    CHECK(virtio_pci_probe(&func, 1, &dev, &why));
    CHECK(!dev.modern && dev.ops == &virtio_pci_legacy_ops);
    CHECK_EQ_U(dev.base, (uintptr_t)iobar);
    CHECK_EQ_U(dev.device_cfg, (uintptr_t)iobar + 20);
    CHECK_EQ_U(dev.device_cfg_len, sizeof(iobar) - 20);
    // Past the device configuration: reads 0, writes dropped.
    iobar[63] = 0x5a;
    CHECK_EQ_U(dev.ops->config_read(&dev, 43, 1), 0x5a);
    CHECK_EQ_U(dev.ops->config_read(&dev, 44, 1), 0);
    CHECK_EQ_U(dev.ops->config_read(&dev, 40, 8), 0);
    // A modern-only ID without capabilities, or a transitional one without
    // its I/O BAR: refused, with a reason.
    make_function(0x1041, false);
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL);
    make_function(0x1000, false);
    func.bar[0].kind = PCI_BAR_NONE;
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL);
}

static void test_bad_capability_lists(void) {
    virtio_dev_t dev;
    const char *why;
    // A loop: the last capability points back at the first.
    make_function(0x1041, true);
    cfg[0x71] = 0x40;
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL && strstr(why, "loop"));
    // A pointer into the header, and one past the end of config space.
    make_function(0x1041, true);
    cfg[0x51] = 0x10;
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL && strstr(why, "outside"));
    make_function(0x1041, true);
    cfg[0x51] = 0xfc;
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL && strstr(why, "outside"));
    // The common structure past its BAR's end, or in a BAR that is not there.
    make_function(0x1041, true);
    put32(cfg + 0x40 + 8, sizeof(bar4) - 8);
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL);
    make_function(0x1041, true);
    cfg[0x40 + 4] = 7;
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL);
    // No INTx we can take.
    make_function(0x1041, true);
    func.has_intx = false;
    CHECK(!virtio_pci_probe(&func, 1, &dev, &why) && why != NULL);
}

// Queue set-up through the common configuration: sizes, addresses, the
// notify address from queue_notify_off, and an offset past the notify area.
static void test_modern_queue_setup(void) {
    static uint8_t ring[12288] __attribute__((aligned(4096)));
    make_function(0x1041, true);
    virtio_dev_t dev;
    const char *why;
    CHECK(virtio_pci_probe(&func, 1, &dev, &why));
    put16(bar4 + 24, 256); // queue_size: the device's maximum
    put16(bar4 + 30, 3);   // queue_notify_off
    virtq_t vq;
    virtio_notify_t n;
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 1, &vq, ring, sizeof(ring), 64, &n), 64);
    CHECK_EQ_U(*(uint16_t *)(bar4 + 22), 1);  // queue_select
    CHECK_EQ_U(*(uint16_t *)(bar4 + 24), 64); // the size written back
    CHECK_EQ_U(*(uint16_t *)(bar4 + 28), 1);  // enabled
    CHECK_EQ_U(*(uint64_t *)(bar4 + 32), (uintptr_t)vq.desc);
    CHECK_EQ_U(*(uint64_t *)(bar4 + 40), (uintptr_t)vq.avail);
    CHECK_EQ_U(*(uint64_t *)(bar4 + 48), (uintptr_t)vq.used);
    CHECK_EQ_U(n.addr, (uintptr_t)bar4 + 0x3000 + 3 * 4);
    CHECK_EQ_U(n.value, 1);
    // Already enabled: refused.
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 1, &vq, ring, sizeof(ring), 64, &n), 0);
    put16(bar4 + 28, 0);
    put16(bar4 + 30, 0x400); // 0x400 * 4 is past the 4 KiB notify area
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 1, &vq, ring, sizeof(ring), 64, &n), 0);
    put16(bar4 + 24, 0); // no such queue
    put16(bar4 + 30, 0);
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 1, &vq, ring, sizeof(ring), 64, &n), 0);
}

// Legacy: the device's size or nothing; the ring's page number written, a
// ring whose page number needs more than 32 bits refused.
static void test_legacy_queue_setup(void) {
    static uint8_t high_ring[12288] __attribute__((aligned(4096)));
    uint8_t *ring = mmap(NULL, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    CHECK(ring != MAP_FAILED);
    if (ring == MAP_FAILED) {
        return;
    }
    make_function(0x1000, false);
    virtio_dev_t dev;
    const char *why;
    CHECK(virtio_pci_probe(&func, 1, &dev, &why));
    virtq_t vq;
    virtio_notify_t n;
    put16(iobar + 12, 256);
    if ((uintptr_t)high_ring >> 12 > UINT32_MAX) {
        CHECK_EQ_U(dev.ops->setup_queue(&dev, 0, &vq, high_ring, sizeof(high_ring), 16, &n), 0);
    }
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 0, &vq, ring, 12288, 16, &n), 256);
    CHECK_EQ_U(*(uint32_t *)(iobar + 8), (uintptr_t)ring >> 12);
    CHECK_EQ_U(n.addr, (uintptr_t)iobar + 16);
    put32(iobar + 8, 0);
    put16(iobar + 12, 1024); // more than the ring memory holds
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 0, &vq, ring, 12288, 16, &n), 0);
    put16(iobar + 12, 96); // no power of two
    CHECK_EQ_U(dev.ops->setup_queue(&dev, 0, &vq, ring, 12288, 16, &n), 0);
    munmap(ring, 12288);
}

static const test_case_t cases[] = {
    { "modern_probe", test_modern_probe },
    { "legacy_probe", test_legacy_probe },
    { "bad_capability_lists", test_bad_capability_lists },
    { "modern_queue_setup", test_modern_queue_setup },
    { "legacy_queue_setup", test_legacy_queue_setup },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
