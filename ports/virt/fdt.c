// Flattened device tree reader; see fdt.h. Every offset and length read from
// the blob is checked against the blob's own bounds.
#include <string.h>

#include "fdt.h"

#define FDT_BEGIN_NODE (1)
#define FDT_END_NODE (2)
#define FDT_PROP (3)
#define FDT_NOP (4)
#define FDT_END (9)

#define FDT_HEADER_SIZE (40)

static struct {
    const uint8_t *structs;
    uint32_t structs_size;
    const char *strings;
    uint32_t strings_size;
    uint32_t total_size;
    uint32_t address_cells;
    uint32_t size_cells;
} fdt;

static uint32_t be32(const void *p) {
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

// strnlen is not in MicroPython's minimal libc.
static size_t bounded_strlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != '\0') {
        ++n;
    }
    return n;
}

static uint32_t align4(uint32_t x) {
    return (x + 3) & ~3u;
}

// Token at offset, or FDT_END when out of bounds.
static uint32_t token_at(uint32_t off) {
    if (off + 4 > fdt.structs_size) {
        return FDT_END;
    }
    return be32(fdt.structs + off);
}

// The offset of the token following the one at `off`, or 0 on a malformed tree.
static uint32_t next_token(uint32_t off) {
    uint32_t tag = token_at(off);
    off += 4;
    switch (tag) {
        case FDT_BEGIN_NODE: {
            const char *name = (const char *)fdt.structs + off;
            size_t n = bounded_strlen(name, fdt.structs_size - off);
            if (off + n >= fdt.structs_size) {
                return 0;
            }
            return align4(off + n + 1);
        }
        case FDT_PROP: {
            if (off + 8 > fdt.structs_size) {
                return 0;
            }
            uint32_t len = be32(fdt.structs + off);
            if (len > fdt.structs_size - off - 8) {
                return 0;
            }
            return align4(off + 8 + len);
        }
        case FDT_END_NODE:
        case FDT_NOP:
            return off;
        default:
            return 0;
    }
}

// The next FDT_BEGIN_NODE after `from` in document order (FDT_NODE_NONE gives
// the root), or FDT_NODE_NONE.
static int next_node(int from) {
    if (from == FDT_NODE_NONE) {
        return token_at(0) == FDT_BEGIN_NODE ? 0 : FDT_NODE_NONE;
    }
    for (uint32_t off = next_token((uint32_t)from); off != 0; off = next_token(off)) {
        uint32_t tag = token_at(off);
        if (tag == FDT_BEGIN_NODE) {
            return (int)off;
        }
        if (tag == FDT_END) {
            break;
        }
    }
    return FDT_NODE_NONE;
}

static const char *node_name(int node) {
    return (const char *)fdt.structs + node + 4;
}

const void *fdt_get_prop(int node, const char *name, uint32_t *len) {
    if (node < 0 || token_at((uint32_t)node) != FDT_BEGIN_NODE) {
        return NULL;
    }
    uint32_t off = next_token((uint32_t)node);
    while (off != 0) {
        uint32_t tag = token_at(off);
        uint32_t next = next_token(off); // 0 unless the whole token is in bounds
        if (next == 0) {
            break;
        }
        if (tag == FDT_PROP) {
            uint32_t plen = be32(fdt.structs + off + 4);
            uint32_t nameoff = be32(fdt.structs + off + 8);
            if (nameoff < fdt.strings_size
                && strncmp(fdt.strings + nameoff, name, fdt.strings_size - nameoff) == 0) {
                if (len != NULL) {
                    *len = plen;
                }
                return fdt.structs + off + 12;
            }
        } else if (tag != FDT_NOP) {
            break; // properties come before subnodes
        }
        off = next;
    }
    return NULL;
}

const char *fdt_get_prop_str(int node, const char *name) {
    uint32_t len;
    const char *s = fdt_get_prop(node, name, &len);
    if (s == NULL || len == 0 || s[len - 1] != '\0') {
        return NULL;
    }
    return s;
}

bool fdt_is_compatible(int node, const char *compatible) {
    uint32_t len;
    const char *list = fdt_get_prop(node, "compatible", &len);
    if (list == NULL) {
        return false;
    }
    size_t want = strlen(compatible);
    for (const char *s = list, *end = list + len; s < end;) {
        size_t n = bounded_strlen(s, end - s);
        if (n == want && memcmp(s, compatible, n) == 0) {
            return true;
        }
        s += n + 1;
    }
    return false;
}

bool fdt_init(const void *blob, size_t max_size) {
    const uint8_t *b = blob;
    memset(&fdt, 0, sizeof(fdt));
    if (blob == NULL || max_size < FDT_HEADER_SIZE || be32(b) != FDT_MAGIC) {
        return false;
    }
    uint32_t total = be32(b + 4);
    uint32_t off_struct = be32(b + 8);
    uint32_t off_strings = be32(b + 12);
    uint32_t size_strings = be32(b + 32);
    uint32_t size_struct = be32(b + 36);
    if (total > max_size || total < FDT_HEADER_SIZE
        || off_struct > total || size_struct > total - off_struct
        || off_strings > total || size_strings > total - off_strings) {
        return false;
    }
    fdt.structs = b + off_struct;
    fdt.structs_size = size_struct;
    fdt.strings = (const char *)b + off_strings;
    fdt.strings_size = size_strings;
    fdt.total_size = total;
    if (token_at(0) != FDT_BEGIN_NODE) {
        memset(&fdt, 0, sizeof(fdt));
        return false;
    }
    // Defaults from the devicetree specification.
    fdt.address_cells = 2;
    fdt.size_cells = 1;
    uint32_t len;
    const uint8_t *p = fdt_get_prop(0, "#address-cells", &len);
    if (p != NULL && len == 4) {
        fdt.address_cells = be32(p);
    }
    p = fdt_get_prop(0, "#size-cells", &len);
    if (p != NULL && len == 4) {
        fdt.size_cells = be32(p);
    }
    return true;
}

size_t fdt_total_size(void) {
    return fdt.total_size;
}

int fdt_find_compatible(int from, const char *compatible) {
    for (int node = next_node(from); node != FDT_NODE_NONE; node = next_node(node)) {
        if (fdt_is_compatible(node, compatible)) {
            return node;
        }
    }
    return FDT_NODE_NONE;
}

int fdt_find_device_type(int from, const char *device_type) {
    for (int node = next_node(from); node != FDT_NODE_NONE; node = next_node(node)) {
        const char *t = fdt_get_prop_str(node, "device_type");
        if (t != NULL && strcmp(t, device_type) == 0) {
            return node;
        }
    }
    return FDT_NODE_NONE;
}

int fdt_find_root_child(const char *name) {
    if (fdt.structs == NULL) {
        return FDT_NODE_NONE;
    }
    size_t want = strlen(name);
    int depth = 0;
    uint32_t off = next_token(0);
    while (off != 0) {
        uint32_t tag = token_at(off);
        uint32_t next = next_token(off); // the name is NUL-terminated in bounds
        if (next == 0) {
            break;
        }
        if (tag == FDT_BEGIN_NODE) {
            const char *n = node_name((int)off);
            if (depth == 0 && strncmp(n, name, want) == 0 && (n[want] == '\0' || n[want] == '@')) {
                return (int)off;
            }
            depth += 1;
        } else if (tag == FDT_END_NODE) {
            if (depth == 0) {
                break; // end of the root
            }
            depth -= 1;
        } else if (tag == FDT_END) {
            break;
        }
        off = next;
    }
    return FDT_NODE_NONE;
}

static bool read_cells(const uint8_t *p, uint32_t ncells, uint64_t *out) {
    if (ncells > 2) {
        return false;
    }
    uint64_t v = 0;
    for (uint32_t i = 0; i < ncells; ++i) {
        v = (v << 32) | be32(p + 4 * i);
    }
    *out = v;
    return true;
}

bool fdt_get_reg(int node, int index, uint64_t *addr, uint64_t *size) {
    uint32_t len;
    const uint8_t *p = fdt_get_prop(node, "reg", &len);
    if (p == NULL || index < 0 || fdt.address_cells > 2 || fdt.size_cells > 2) {
        return false;
    }
    uint32_t stride = 4 * (fdt.address_cells + fdt.size_cells);
    if (stride == 0 || ((uint64_t)index + 1) * stride > len) {
        return false;
    }
    p += index * stride;
    return read_cells(p, fdt.address_cells, addr)
           && read_cells(p + 4 * fdt.address_cells, fdt.size_cells, size);
}

bool fdt_get_gic_irq(int node, int index, uint32_t *irq) {
    // The GIC binding: <type number flags>, type 0 = SPI, 1 = PPI.
    uint32_t len;
    const uint8_t *p = fdt_get_prop(node, "interrupts", &len);
    if (p == NULL || index < 0 || ((uint64_t)index + 1) * 12 > len) {
        return false;
    }
    p += index * 12;
    uint32_t type = be32(p);
    uint32_t num = be32(p + 4);
    if (type == 0 && num < 988) {
        *irq = 32 + num;
    } else if (type == 1 && num < 16) {
        *irq = 16 + num;
    } else {
        return false;
    }
    return true;
}
