// VirtIO PCI transport, modern and legacy; see virtio_pci.h.
#include <string.h>

#include "irq.h"
#include "virt_io.h"
#include "virtio_cfg_field.h"
#include "virtio_pci.h"

// PCI IDs of virtio functions (4.1.2): transitional 0x1000-0x103f (the type
// in the subsystem ID), modern 0x1040 + type.
#define VIRTIO_PCI_DEVICE_TRANSITIONAL_FIRST (0x1000)
#define VIRTIO_PCI_DEVICE_TRANSITIONAL_LAST (0x103f)
#define VIRTIO_PCI_DEVICE_MODERN_BASE (0x1040)
#define VIRTIO_PCI_DEVICE_MODERN_LAST (0x107f)

// Vendor capability (4.1.4): struct virtio_pci_cap.
#define PCI_CAP_ID_VNDR (0x09)
#define VIRTIO_PCI_CAP_VNDR (0)
#define VIRTIO_PCI_CAP_NEXT (1)
#define VIRTIO_PCI_CAP_LEN (2)
#define VIRTIO_PCI_CAP_CFG_TYPE (3)
#define VIRTIO_PCI_CAP_BAR (4)
#define VIRTIO_PCI_CAP_OFFSET (8)
#define VIRTIO_PCI_CAP_LENGTH (12)
#define VIRTIO_PCI_NOTIFY_CAP_MULT (16)
#define VIRTIO_PCI_CAP_SIZE (16)
#define VIRTIO_PCI_NOTIFY_CAP_SIZE (20)
#define VIRTIO_PCI_CAP_COMMON_CFG (1)
#define VIRTIO_PCI_CAP_NOTIFY_CFG (2)
#define VIRTIO_PCI_CAP_ISR_CFG (3)
#define VIRTIO_PCI_CAP_DEVICE_CFG (4)
// A capability list is at most this long: the 192 bytes after the header
// hold 48 of the smallest capabilities.
#define PCI_CAP_LIST_MAX (48)
#define PCI_CAP_FIRST (0x40)
#define PCI_CFG_HEADER_END (0x100)

// struct virtio_pci_common_cfg (4.1.4, common configuration).
#define VIRTIO_PCI_COMMON_DFSELECT (0)
#define VIRTIO_PCI_COMMON_DF (4)
#define VIRTIO_PCI_COMMON_GFSELECT (8)
#define VIRTIO_PCI_COMMON_GF (12)
#define VIRTIO_PCI_COMMON_STATUS (20)
#define VIRTIO_PCI_COMMON_CFGGENERATION (21)
#define VIRTIO_PCI_COMMON_Q_SELECT (22)
#define VIRTIO_PCI_COMMON_Q_SIZE (24)
#define VIRTIO_PCI_COMMON_Q_ENABLE (28)
#define VIRTIO_PCI_COMMON_Q_NOFF (30)
#define VIRTIO_PCI_COMMON_Q_DESCLO (32)
#define VIRTIO_PCI_COMMON_Q_DESCHI (36)
#define VIRTIO_PCI_COMMON_Q_AVAILLO (40)
#define VIRTIO_PCI_COMMON_Q_AVAILHI (44)
#define VIRTIO_PCI_COMMON_Q_USEDLO (48)
#define VIRTIO_PCI_COMMON_Q_USEDHI (52)
#define VIRTIO_PCI_COMMON_CFG_SIZE (56)

// The legacy I/O BAR (4.1.4, legacy interfaces), without MSI-X.
#define VIRTIO_PCI_HOST_FEATURES (0)
#define VIRTIO_PCI_GUEST_FEATURES (4)
#define VIRTIO_PCI_QUEUE_PFN (8)
#define VIRTIO_PCI_QUEUE_NUM (12)
#define VIRTIO_PCI_QUEUE_SEL (14)
#define VIRTIO_PCI_QUEUE_NOTIFY (16)
#define VIRTIO_PCI_STATUS (18)
#define VIRTIO_PCI_ISR (19)
#define VIRTIO_PCI_LEGACY_CONFIG (20)
#define VIRTIO_PCI_QUEUE_ADDR_SHIFT (12)

// Functions sharing one INTx line each get called; each reads its own ISR.
#define VIRTIO_PCI_SHARED_MAX (8)
static struct {
    uint32_t irq;
    virtio_irq_handler_t handler;
    void *arg;
} intx_handlers[VIRTIO_PCI_SHARED_MAX];
static size_t intx_count;

static void intx_dispatch(void *arg) {
    uint32_t irq = (uint32_t)(uintptr_t)arg;
    for (size_t i = 0; i < intx_count; ++i) {
        if (intx_handlers[i].irq == irq) {
            intx_handlers[i].handler(intx_handlers[i].arg);
        }
    }
}

static void pci_irq_enable(virtio_dev_t *dev, virtio_irq_handler_t handler, void *arg) {
    size_t i = 0;
    while (i < intx_count && intx_handlers[i].arg != arg) {
        ++i; // a device set up again keeps its slot
    }
    if (i == intx_count) {
        if (intx_count == VIRTIO_PCI_SHARED_MAX) {
            return;
        }
        ++intx_count;
    }
    intx_handlers[i].irq = dev->irq;
    intx_handlers[i].handler = handler;
    intx_handlers[i].arg = arg;
    virt_irq_enable(dev->irq, intx_dispatch, (void *)(uintptr_t)dev->irq);
}

// The device type of a virtio function, 0 if it is none.
static uint32_t virtio_pci_type(const pci_func_t *f) {
    if (f->vendor_id != VIRTIO_PCI_VENDOR_ID) {
        return 0;
    }
    if (f->device_id >= VIRTIO_PCI_DEVICE_MODERN_BASE && f->device_id <= VIRTIO_PCI_DEVICE_MODERN_LAST) {
        return f->device_id - VIRTIO_PCI_DEVICE_MODERN_BASE;
    }
    if (f->device_id >= VIRTIO_PCI_DEVICE_TRANSITIONAL_FIRST && f->device_id <= VIRTIO_PCI_DEVICE_TRANSITIONAL_LAST) {
        return pci_cfg_read16(f, PCI_SUBSYSTEM_ID);
    }
    return 0;
}

// Where one capability's structure is, if its BAR holds all of it.
static bool cap_region(const pci_func_t *f, uint8_t pos, uint32_t min_len, uintptr_t *addr, uint32_t *len) {
    uint8_t bar = pci_cfg_read8(f, pos + VIRTIO_PCI_CAP_BAR);
    uint32_t off = pci_cfg_read32(f, pos + VIRTIO_PCI_CAP_OFFSET);
    uint32_t length = pci_cfg_read32(f, pos + VIRTIO_PCI_CAP_LENGTH);
    if (bar >= PCI_BARS || f->bar[bar].kind != PCI_BAR_MEM || length < min_len
        || (uint64_t)off + length > f->bar[bar].size) {
        return false;
    }
    *addr = (uintptr_t)(f->bar[bar].cpu_addr + off);
    *len = length;
    return true;
}

// The modern capabilities; NULL if all that is needed was found, else why not.
static const char *read_caps(const pci_func_t *f, virtio_dev_t *dev, bool *any) {
    bool common = false, notify = false, isr = false, device = false;
    *any = false;
    if (!(pci_cfg_read16(f, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return "no capabilities";
    }
    uint8_t pos = pci_cfg_read8(f, PCI_CAPABILITY_LIST) & ~3;
    int n = 0;
    for (; pos != 0 && n < PCI_CAP_LIST_MAX; ++n) {
        if (pos < PCI_CAP_FIRST || pos > PCI_CFG_HEADER_END - VIRTIO_PCI_CAP_SIZE) {
            return "a PCI capability points outside the capability area";
        }
        uint8_t next = pci_cfg_read8(f, pos + VIRTIO_PCI_CAP_NEXT) & ~3;
        if (pci_cfg_read8(f, pos + VIRTIO_PCI_CAP_VNDR) == PCI_CAP_ID_VNDR
            && pci_cfg_read8(f, pos + VIRTIO_PCI_CAP_LEN) >= VIRTIO_PCI_CAP_SIZE) {
            uint8_t type = pci_cfg_read8(f, pos + VIRTIO_PCI_CAP_CFG_TYPE);
            uintptr_t addr;
            uint32_t len;
            *any = true;
            // The first of each type that we can use is the one (4.1.4).
            if (type == VIRTIO_PCI_CAP_COMMON_CFG && !common
                && cap_region(f, pos, VIRTIO_PCI_COMMON_CFG_SIZE, &addr, &len)) {
                dev->base = addr;
                common = true;
            } else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !notify
                       && pci_cfg_read8(f, pos + VIRTIO_PCI_CAP_LEN) >= VIRTIO_PCI_NOTIFY_CAP_SIZE
                       && pos <= PCI_CFG_HEADER_END - VIRTIO_PCI_NOTIFY_CAP_SIZE
                       && cap_region(f, pos, 2, &addr, &len)) {
                dev->notify_base = addr;
                dev->notify_len = len;
                dev->notify_multiplier = pci_cfg_read32(f, pos + VIRTIO_PCI_NOTIFY_CAP_MULT);
                notify = true;
            } else if (type == VIRTIO_PCI_CAP_ISR_CFG && !isr && cap_region(f, pos, 1, &addr, &len)) {
                dev->isr = addr;
                isr = true;
            } else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !device && cap_region(f, pos, 1, &addr, &len)) {
                dev->device_cfg = addr;
                dev->device_cfg_len = len;
                device = true;
            }
        }
        pos = next;
    }
    if (pos != 0) {
        return "the PCI capability list does not end (a loop?)";
    }
    if (!common || !notify || !isr) {
        return "a virtio capability is missing or outside its BAR";
    }
    return NULL;
}

bool virtio_pci_probe(const pci_func_t *f, uint32_t device_id, virtio_dev_t *dev, const char **why) {
    memset(dev, 0, sizeof(*dev));
    *why = NULL;
    uint32_t type = virtio_pci_type(f);
    if (type == 0 || type != device_id) {
        return false;
    }
    if (!f->has_intx || !virt_irq_from_spec(&f->intx, &dev->irq)) {
        *why = "no INTx line we can take";
        return false;
    }
    bool any_caps;
    const char *caps_error = read_caps(f, dev, &any_caps);
    dev->device_id = type;
    if (caps_error == NULL) {
        dev->ops = &virtio_pci_modern_ops;
        dev->modern = true;
        return true;
    }
    bool transitional = f->device_id <= VIRTIO_PCI_DEVICE_TRANSITIONAL_LAST;
    if (transitional && f->bar[0].kind == PCI_BAR_IO && f->bar[0].size >= VIRTIO_PCI_LEGACY_CONFIG) {
        dev->ops = &virtio_pci_legacy_ops;
        dev->base = (uintptr_t)f->bar[0].cpu_addr;
        dev->device_cfg = dev->base + VIRTIO_PCI_LEGACY_CONFIG;
        dev->device_cfg_len = (uint32_t)f->bar[0].size - VIRTIO_PCI_LEGACY_CONFIG;
        dev->isr = dev->base + VIRTIO_PCI_ISR;
        return true;
    }
    *why = any_caps || !transitional ? caps_error : "a transitional device without its I/O BAR";
    return false;
}

bool virtio_pci_find(uint32_t device_id, int index, virtio_dev_t *dev) {
    size_t n = pci_scan();
    int matched = 0;
    for (size_t i = 0; i < n; ++i) {
        const char *why;
        if (virtio_pci_probe(pci_func(i), device_id, dev, &why) && matched++ == index) {
            return true;
        }
    }
    memset(dev, 0, sizeof(*dev));
    return false;
}

// Modern: the common configuration structure.

static uint8_t modern_get_status(virtio_dev_t *dev) {
    return virt_io_read8(dev->base + VIRTIO_PCI_COMMON_STATUS);
}

static void modern_set_status(virtio_dev_t *dev, uint8_t status) {
    virt_io_write8(dev->base + VIRTIO_PCI_COMMON_STATUS, status);
}

static uint64_t modern_get_features(virtio_dev_t *dev) {
    virt_io_write32(dev->base + VIRTIO_PCI_COMMON_DFSELECT, 0);
    uint64_t lo = virt_io_read32(dev->base + VIRTIO_PCI_COMMON_DF);
    virt_io_write32(dev->base + VIRTIO_PCI_COMMON_DFSELECT, 1);
    uint64_t hi = virt_io_read32(dev->base + VIRTIO_PCI_COMMON_DF);
    return hi << 32 | lo;
}

static void modern_set_features(virtio_dev_t *dev, uint64_t features) {
    virt_io_write32(dev->base + VIRTIO_PCI_COMMON_GFSELECT, 0);
    virt_io_write32(dev->base + VIRTIO_PCI_COMMON_GF, (uint32_t)features);
    virt_io_write32(dev->base + VIRTIO_PCI_COMMON_GFSELECT, 1);
    virt_io_write32(dev->base + VIRTIO_PCI_COMMON_GF, (uint32_t)(features >> 32));
}

static void write64(uintptr_t lo_addr, uint64_t value) {
    virt_io_write32(lo_addr, (uint32_t)value);
    virt_io_write32(lo_addr + 4, (uint32_t)(value >> 32));
}

static uint16_t modern_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    virt_io_write16(dev->base + VIRTIO_PCI_COMMON_Q_SELECT, index);
    uint16_t device_max = virt_io_read16(dev->base + VIRTIO_PCI_COMMON_Q_SIZE);
    if (device_max == 0 || virt_io_read16(dev->base + VIRTIO_PCI_COMMON_Q_ENABLE)) {
        return 0; // no such queue, or already in use
    }
    uint16_t num = virtq_pick_size(device_max, max_num, mem_size, VIRTQ_LEGACY_ALIGN);
    // The notification address: queue_notify_off times the multiplier, a
    // 16-bit register inside the notify capability (4.1.4, notification).
    uint64_t notify_off = (uint64_t)virt_io_read16(dev->base + VIRTIO_PCI_COMMON_Q_NOFF) * dev->notify_multiplier;
    if (num == 0 || notify_off + 2 > dev->notify_len || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    virt_io_write16(dev->base + VIRTIO_PCI_COMMON_Q_SIZE, num);
    write64(dev->base + VIRTIO_PCI_COMMON_Q_DESCLO, virt_io_dma_addr(vq->desc));
    write64(dev->base + VIRTIO_PCI_COMMON_Q_AVAILLO, virt_io_dma_addr(vq->avail));
    write64(dev->base + VIRTIO_PCI_COMMON_Q_USEDLO, virt_io_dma_addr(vq->used));
    virt_io_write16(dev->base + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    notify->addr = dev->notify_base + (uintptr_t)notify_off;
    notify->value = index;
    return num;
}

static void pci_notify(virtio_dev_t *dev, const virtio_notify_t *notify) {
    (void)dev;
    virt_io_write16(notify->addr, notify->value);
}

// Reading the ISR status acknowledges it (4.1.4, ISR status).
static uint32_t pci_isr_ack(virtio_dev_t *dev) {
    return virt_io_read8(dev->isr) & (VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
}

static uint32_t modern_config_generation(virtio_dev_t *dev) {
    return virt_io_read8(dev->base + VIRTIO_PCI_COMMON_CFGGENERATION);
}

// Device configuration at the field's width; out of its structure reads
// as 0 and writes are dropped (a lying length cannot reach other registers).
static uint64_t pci_config_read(virtio_dev_t *dev, uint32_t offset, unsigned width) {
    if ((uint64_t)offset + width > dev->device_cfg_len) {
        return 0;
    }
    return virtio_cfg_field_read(dev->device_cfg + offset, width);
}

static void pci_config_write(virtio_dev_t *dev, uint32_t offset, unsigned width, uint64_t value) {
    if ((uint64_t)offset + width > dev->device_cfg_len) {
        return;
    }
    virtio_cfg_field_write(dev->device_cfg + offset, width, value);
}

const virtio_transport_ops_t virtio_pci_modern_ops = {
    .name = "pci",
    .get_status = modern_get_status,
    .set_status = modern_set_status,
    .get_features = modern_get_features,
    .set_features = modern_set_features,
    .setup_queue = modern_setup_queue,
    .notify = pci_notify,
    .isr_ack = pci_isr_ack,
    .config_generation = modern_config_generation,
    .config_read = pci_config_read,
    .config_write = pci_config_write,
    .irq_enable = pci_irq_enable,
};

// Legacy: the I/O BAR.

static uint8_t legacy_get_status(virtio_dev_t *dev) {
    return virt_io_read8(dev->base + VIRTIO_PCI_STATUS);
}

static void legacy_set_status(virtio_dev_t *dev, uint8_t status) {
    virt_io_write8(dev->base + VIRTIO_PCI_STATUS, status);
}

static uint64_t legacy_get_features(virtio_dev_t *dev) {
    return virt_io_read32(dev->base + VIRTIO_PCI_HOST_FEATURES);
}

static void legacy_set_features(virtio_dev_t *dev, uint64_t features) {
    virt_io_write32(dev->base + VIRTIO_PCI_GUEST_FEATURES, (uint32_t)features);
}

// The legacy queue size is the device's, whatever the driver would take
// (max_num): the ring must fit it whole in mem.
static uint16_t legacy_setup_queue(virtio_dev_t *dev, uint16_t index, virtq_t *vq, void *mem, size_t mem_size,
    uint16_t max_num, virtio_notify_t *notify) {
    (void)max_num;
    virt_io_write16(dev->base + VIRTIO_PCI_QUEUE_SEL, index);
    uint16_t num = virt_io_read16(dev->base + VIRTIO_PCI_QUEUE_NUM);
    if (num == 0 || virt_io_read32(dev->base + VIRTIO_PCI_QUEUE_PFN) != 0) {
        return 0;
    }
    uint64_t ring = virt_io_dma_addr(mem);
    if (virtq_pick_size(num, VIRTQ_MAX_SIZE, mem_size, VIRTQ_LEGACY_ALIGN) != num
        || ring % VIRTQ_LEGACY_ALIGN != 0 || (ring >> VIRTIO_PCI_QUEUE_ADDR_SHIFT) > UINT32_MAX
        || !virtq_init(vq, mem, mem_size, num, VIRTQ_LEGACY_ALIGN)) {
        return 0;
    }
    virt_io_write32(dev->base + VIRTIO_PCI_QUEUE_PFN, (uint32_t)(ring >> VIRTIO_PCI_QUEUE_ADDR_SHIFT));
    notify->addr = dev->base + VIRTIO_PCI_QUEUE_NOTIFY;
    notify->value = index;
    return num;
}

static uint32_t legacy_config_generation(virtio_dev_t *dev) {
    (void)dev;
    return 0;
}

const virtio_transport_ops_t virtio_pci_legacy_ops = {
    .name = "pci",
    .get_status = legacy_get_status,
    .set_status = legacy_set_status,
    .get_features = legacy_get_features,
    .set_features = legacy_set_features,
    .setup_queue = legacy_setup_queue,
    .notify = pci_notify,
    .isr_ack = pci_isr_ack,
    .config_generation = legacy_config_generation,
    .config_read = pci_config_read,
    .config_write = pci_config_write,
    .irq_enable = pci_irq_enable,
};
