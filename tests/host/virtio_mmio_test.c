// Host tests of the virtio-mmio transport (ports/virt/virtio/virtio_mmio.c) and the
// generic sequence on it (virtio_dev.c) against a fake register window:
// this file provides virt_io_read*/write* (tests/host/virt_io.h) and plays
// the registers of a modern or legacy device, well-behaved or not.
#define _GNU_SOURCE // MAP_32BIT
#include <sys/mman.h>

#include "check.h"
#include "irq.h"
#include "virt_io.h"
#include "virt_wait.h"
#include "virtio_mmio.h"

#define BASE ((uintptr_t)0x0a000000)

static struct {
    uint32_t version, device_id, magic;
    uint32_t status;
    bool reset_stuck;
    uint64_t features;
    uint32_t features_sel, driver_features_sel;
    uint64_t driver_features;
    uint32_t queue_sel, queue_num_max, queue_num, queue_ready, queue_pfn, page_size, align;
    uint64_t desc, driver, device;
    uint32_t interrupt_status, acked;
    uint32_t isr_refill;      // status raised again after each ACK, this many times
    uint32_t notified, notify_count;
    uint8_t config[16];
} regs;

uint64_t virt_time_us(void) {
    static uint64_t now;
    return now += 13;
}

bool virt_wait_until(bool (*done)(void *arg), void *arg, uint32_t timeout_ms) {
    (void)timeout_ms;
    return done(arg);
}

void virt_irq_enable(uint32_t irq, virt_irq_handler_t handler, void *arg) {
    (void)irq, (void)handler, (void)arg;
}

uint32_t virt_io_read32(uintptr_t addr) {
    switch (addr - BASE) {
        case 0x000: return regs.magic;
        case 0x004: return regs.version;
        case 0x008: return regs.device_id;
        case 0x010: return (uint32_t)(regs.features >> (32 * regs.features_sel));
        case 0x034: return regs.queue_num_max;
        case 0x040: return regs.queue_pfn;
        case 0x044: return regs.queue_ready;
        case 0x060: return regs.interrupt_status;
        case 0x070: return regs.status;
        case 0x0fc: return 0;
        default:
            if (addr - BASE >= VIRTIO_MMIO_CONFIG && addr - BASE + 4 <= VIRTIO_MMIO_CONFIG + sizeof(regs.config)) {
                uint32_t v;
                memcpy(&v, regs.config + (addr - BASE - VIRTIO_MMIO_CONFIG), 4);
                return v;
            }
            CHECK(!"read of an unexpected register");
            return 0;
    }
}

void virt_io_write32(uintptr_t addr, uint32_t val) {
    switch (addr - BASE) {
        case 0x014: regs.features_sel = val; break;
        case 0x020:
            regs.driver_features = (regs.driver_features & ~((uint64_t)0xffffffff << (32 * regs.driver_features_sel)))
                | (uint64_t)val << (32 * regs.driver_features_sel);
            break;
        case 0x024: regs.driver_features_sel = val; break;
        case 0x028: regs.page_size = val; break;
        case 0x030: regs.queue_sel = val; break;
        case 0x038: regs.queue_num = val; break;
        case 0x03c: regs.align = val; break;
        case 0x040: regs.queue_pfn = val; break;
        case 0x044: regs.queue_ready = val; break;
        case 0x050: regs.notified = val; regs.notify_count++; break;
        case 0x064:
            regs.acked |= val;
            regs.interrupt_status &= ~val;
            if (regs.isr_refill) {
                regs.isr_refill--;
                regs.interrupt_status |= VIRTIO_ISR_CONFIG; // a new cause right after the ACK
            }
            break;
        case 0x070: regs.status = (val == 0 && regs.reset_stuck) ? regs.status : val; break;
        case 0x080: regs.desc = (regs.desc & ~0xffffffffull) | val; break;
        case 0x084: regs.desc = (regs.desc & 0xffffffff) | (uint64_t)val << 32; break;
        case 0x090: regs.driver = (regs.driver & ~0xffffffffull) | val; break;
        case 0x094: regs.driver = (regs.driver & 0xffffffff) | (uint64_t)val << 32; break;
        case 0x0a0: regs.device = (regs.device & ~0xffffffffull) | val; break;
        case 0x0a4: regs.device = (regs.device & 0xffffffff) | (uint64_t)val << 32; break;
        default: CHECK(!"write of an unexpected register");
    }
}

uint16_t virt_io_read16(uintptr_t addr) {
    uint32_t off = addr - BASE - VIRTIO_MMIO_CONFIG;
    CHECK(off + 2 <= sizeof(regs.config));
    return (uint16_t)(regs.config[off] | regs.config[off + 1] << 8);
}

uint8_t virt_io_read8(uintptr_t addr) {
    uint32_t off = addr - BASE - VIRTIO_MMIO_CONFIG;
    CHECK(off < sizeof(regs.config));
    return regs.config[off];
}

void virt_io_write8(uintptr_t addr, uint8_t val) {
    (void)addr, (void)val;
    CHECK(!"8-bit write");
}

void virt_io_write16(uintptr_t addr, uint16_t val) {
    (void)addr, (void)val;
    CHECK(!"16-bit write");
}

static void regs_reset(uint32_t version) {
    memset(&regs, 0, sizeof(regs));
    regs.magic = 0x74726976;
    regs.version = version;
    regs.device_id = VIRTIO_ID_NET;
    regs.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | 0x5;
    regs.queue_num_max = 1024;
    regs.status = 0x7f; // whatever the firmware before us left
}

static uint8_t ring_mem[3 * 4096] __attribute__((aligned(4096)));

static void test_probe(void) {
    virtio_dev_t dev;
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    CHECK(dev.modern && dev.irq == 40 && dev.ops == &virtio_mmio_ops);
    CHECK(!virtio_mmio_probe(BASE, 40, VIRTIO_ID_BLOCK, &dev)); // another type
    regs.device_id = 0;
    CHECK(!virtio_mmio_probe(BASE, 40, 0, &dev)); // an empty slot is no device 0
    regs.device_id = VIRTIO_ID_NET;
    regs.magic = 0;
    CHECK(!virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    regs_reset(3);
    CHECK(!virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev)); // unknown version
    regs_reset(1);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    CHECK(!dev.modern);
}

// The whole sequence on a modern device: reset seen as 0, features of both
// halves, FEATURES_OK, a queue sized down to a power of two that fits.
static void test_modern_init_and_queue(void) {
    virtio_dev_t dev;
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    CHECK(virtio_dev_begin_init(&dev));
    CHECK_EQ_U(dev.device_features, regs.features);
    CHECK_EQ_U(regs.status, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    CHECK(virtio_dev_negotiate(&dev, 0x4 | VIRTIO_FEATURE(40)));
    CHECK_EQ_U(regs.driver_features, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | 0x4); // only what was offered
    CHECK(regs.status & VIRTIO_STATUS_FEATURES_OK);
    regs.queue_num_max = 300; // not a power of two, and more than the memory holds
    virtq_t vq;
    virtio_notify_t notify;
    uint16_t num = virtio_dev_setup_queue(&dev, 1, &vq, ring_mem, sizeof(ring_mem), 256, &notify);
    CHECK_EQ_U(num, 256);
    CHECK_EQ_U(regs.queue_num, 256);
    CHECK_EQ_U(regs.queue_sel, 1);
    CHECK_EQ_U(regs.queue_ready, 1);
    CHECK_EQ_U(regs.desc, (uintptr_t)ring_mem);
    CHECK_EQ_U(regs.device, (uintptr_t)vq.used);
    CHECK_EQ_U(virtio_dev_setup_queue(&dev, 1, &vq, ring_mem, sizeof(ring_mem), 256, &notify), 0); // in use
    regs.queue_ready = 0;
    CHECK_EQ_U(virtio_dev_setup_queue(&dev, 1, &vq, ring_mem, 8192, 256, &notify), 128); // what 8 KiB holds
    regs.queue_ready = 0;
    CHECK_EQ_U(virtio_dev_setup_queue(&dev, 1, &vq, ring_mem, 4096, 256, &notify), 0); // legacy layout needs > 4 KiB
    regs.queue_ready = 0;
    regs.queue_num_max = 0;
    CHECK_EQ_U(virtio_dev_setup_queue(&dev, 1, &vq, ring_mem, sizeof(ring_mem), 256, &notify), 0);
    virtio_dev_notify(&dev, &notify);
    CHECK_EQ_U(regs.notified, 1);
    // A device that refuses the features.
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    regs.features = 0x5; // no VERSION_1 on a modern interface
    CHECK(virtio_dev_begin_init(&dev));
    CHECK(!virtio_dev_negotiate(&dev, 0x4));
    CHECK(regs.status & VIRTIO_STATUS_FAILED);
}

static void test_legacy_queue(void) {
    virtio_dev_t dev;
    regs_reset(1);
    regs.features = 0xffffffff;
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    CHECK(virtio_dev_begin_init(&dev));
    CHECK_EQ_U(dev.device_features, 0xffffffff); // no high half on legacy
    CHECK(virtio_dev_negotiate(&dev, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | 0x3));
    CHECK_EQ_U(regs.driver_features, 0x3);
    CHECK(!(regs.status & VIRTIO_STATUS_FEATURES_OK)); // legacy has no FEATURES_OK
    virtq_t vq;
    virtio_notify_t notify;
    // The legacy interface names the rings by a 32-bit page number: ring
    // memory above 16 TiB (as this host's is) or off a page boundary is refused.
    if ((uintptr_t)ring_mem / 4096 > UINT32_MAX) {
        CHECK_EQ_U(virtio_dev_setup_queue(&dev, 0, &vq, ring_mem, sizeof(ring_mem), 128, &notify), 0);
        CHECK_EQ_U(regs.queue_pfn, 0);
    }
    uint8_t *low = ring_mem;
    #ifdef MAP_32BIT
    low = mmap(NULL, sizeof(ring_mem), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    CHECK(low != MAP_FAILED);
    #endif
    if ((uintptr_t)low / 4096 <= UINT32_MAX) {
        CHECK_EQ_U(virtio_dev_setup_queue(&dev, 0, &vq, low, sizeof(ring_mem), 128, &notify), 128);
        CHECK_EQ_U(regs.page_size, 4096);
        CHECK_EQ_U(regs.align, 4096);
        CHECK_EQ_U(regs.queue_pfn, (uintptr_t)low / 4096);
        regs.queue_pfn = 0;
        CHECK_EQ_U(virtio_dev_setup_queue(&dev, 0, &vq, low + 64, sizeof(ring_mem) - 64, 128, &notify), 0);
    }
    #ifdef MAP_32BIT
    munmap(low, sizeof(ring_mem));
    #endif
}

// Reset: the status must read 0 again; a device that never gets there
// fails (bounded by the clock, not spinning for ever).
static void test_reset_bounded(void) {
    virtio_dev_t dev;
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    regs.reset_stuck = true;
    CHECK(!virtio_dev_reset(&dev));
    CHECK(!virtio_dev_begin_init(&dev));
    CHECK(regs.status & VIRTIO_STATUS_FAILED);
}

// Interrupt causes are read and acknowledged until none is left; only the
// two defined bits are acknowledged; a device that keeps raising is cut off.
static void test_isr_until_zero(void) {
    virtio_dev_t dev;
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    regs.interrupt_status = VIRTIO_ISR_QUEUE | 0x80;
    regs.isr_refill = 1;
    CHECK_EQ_U(virtio_dev_isr(&dev), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    CHECK_EQ_U(regs.acked, VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    CHECK_EQ_U(regs.interrupt_status, 0x80);
    regs.interrupt_status = VIRTIO_ISR_QUEUE;
    regs.isr_refill = 1000;
    CHECK_EQ_U(virtio_dev_isr(&dev), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    CHECK(regs.isr_refill >= 1000 - 8);
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    CHECK_EQ_U(virtio_dev_isr(&dev), 0);
    CHECK_EQ_U(regs.acked, 0); // nothing to acknowledge: no write
}

static void test_config_widths(void) {
    virtio_dev_t dev;
    regs_reset(2);
    CHECK(virtio_mmio_probe(BASE, 40, VIRTIO_ID_NET, &dev));
    for (int i = 0; i < 16; ++i) {
        regs.config[i] = (uint8_t)(0x10 + i);
    }
    CHECK_EQ_U(virtio_dev_config_read(&dev, 1, 1), 0x11);
    CHECK_EQ_U(virtio_dev_config_read(&dev, 2, 2), 0x1312);
    CHECK_EQ_U(virtio_dev_config_read(&dev, 4, 4), 0x17161514);
    CHECK_EQ_U(virtio_dev_config_read(&dev, 8, 8), 0x1f1e1d1c1b1a1918ull);
}

static const test_case_t cases[] = {
    { "probe", test_probe },
    { "modern_init_and_queue", test_modern_init_and_queue },
    { "legacy_queue", test_legacy_queue },
    { "reset_bounded", test_reset_bounded },
    { "isr_until_zero", test_isr_until_zero },
    { "config_widths", test_config_widths },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
