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

// fdt_init indexes the tree in one pass: each node with its "compatible" and
// "device_type" values, so that a search reads this table instead of walking
// the whole tree again (under QEMU's TCG each walk of the virt machine's ~500
// tokens took ~0.13 ms, and boot made about ten). A tree with more nodes than
// the table holds is walked as before (the host test builds this file with
// FDT_INDEX_MAX 0 as its oracle).
#ifndef FDT_INDEX_MAX
#define FDT_INDEX_MAX (256)
#endif

typedef struct {
    uint32_t node; // offset of its FDT_BEGIN_NODE token
    int32_t parent; // the enclosing node's offset, FDT_NODE_NONE for the root
    uint32_t phandle; // 0 if none
    uint32_t compatible; // offset of the property's value, 0 if none
    uint32_t compatible_len;
    uint32_t device_type;
    uint32_t device_type_len;
} fdt_index_entry_t;

static fdt_index_entry_t fdt_index[FDT_INDEX_MAX];
static size_t fdt_index_len;
static bool fdt_indexed;

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

// Whether the (in-bounds) property token at `off` has this name.
static bool prop_name_is(uint32_t off, const char *name) {
    uint32_t nameoff = be32(fdt.structs + off + 8);
    return nameoff < fdt.strings_size
           && strncmp(fdt.strings + nameoff, name, fdt.strings_size - nameoff) == 0;
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
            if (prop_name_is(off, name)) {
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

// A property value as a string: NULL unless non-empty and NUL-terminated.
static const char *prop_str(const char *s, uint32_t len) {
    if (s == NULL || len == 0 || s[len - 1] != '\0') {
        return NULL;
    }
    return s;
}

const char *fdt_get_prop_str(int node, const char *name) {
    uint32_t len;
    const char *s = fdt_get_prop(node, name, &len);
    return prop_str(s, len);
}

// Whether a "compatible" value (a list of strings) holds `compatible`.
static bool list_has(const char *list, uint32_t len, const char *compatible) {
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

bool fdt_is_compatible(int node, const char *compatible) {
    uint32_t len;
    const char *list = fdt_get_prop(node, "compatible", &len);
    return list_has(list, len, compatible);
}

// Records each node, and the first "compatible" and "device_type" among the
// properties that open it: what fdt_get_prop finds. Stops where the walks
// would: at FDT_END or a token that does not fit. False if the table is full.
// Nodes nest at most this deep (QEMU's virt trees: 3); deeper ones are not
// indexed (the walks are used).
#define FDT_MAX_DEPTH (16)

static bool index_build(void) {
    size_t n = 0;
    fdt_index_entry_t *cur = NULL; // the node whose properties come next
    int32_t open[FDT_MAX_DEPTH]; // the nodes not yet closed
    int depth = 0;
    uint32_t off = 0;
    for (;;) {
        uint32_t tag = token_at(off);
        uint32_t next = next_token(off);
        if (tag == FDT_BEGIN_NODE) {
            if (n == FDT_INDEX_MAX || depth == FDT_MAX_DEPTH) {
                return false;
            }
            cur = &fdt_index[n++];
            *cur = (fdt_index_entry_t) { .node = off, .parent = depth > 0 ? open[depth - 1] : FDT_NODE_NONE };
            open[depth++] = (int32_t)off;
        } else if (tag == FDT_PROP && cur != NULL && next != 0) {
            uint32_t len = be32(fdt.structs + off + 4);
            if (cur->phandle == 0 && len == 4 && (prop_name_is(off, "phandle") || prop_name_is(off, "linux,phandle"))) {
                cur->phandle = be32(fdt.structs + off + 12);
            } else if (cur->compatible == 0 && prop_name_is(off, "compatible")) {
                cur->compatible = off + 12;
                cur->compatible_len = len;
            } else if (cur->device_type == 0 && prop_name_is(off, "device_type")) {
                cur->device_type = off + 12;
                cur->device_type_len = len;
            }
        } else if (tag != FDT_NOP) {
            cur = NULL; // a subnode or the end of this one: no more properties
            if (tag == FDT_END_NODE && depth > 0) {
                depth--;
            }
        }
        if (next == 0 || tag == FDT_END) {
            break;
        }
        off = next;
    }
    fdt_index_len = n;
    return true;
}

// The index position of the first node after `from` in document order.
static size_t index_after(int from) {
    if (from == FDT_NODE_NONE) {
        return 0;
    }
    if (from < 0) {
        return fdt_index_len;
    }
    size_t lo = 0, hi = fdt_index_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (fdt_index[mid].node <= (uint32_t)from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static const char *index_value(uint32_t off) {
    return off != 0 ? (const char *)fdt.structs + off : NULL;
}

bool fdt_init(const void *blob, size_t max_size) {
    const uint8_t *b = blob;
    memset(&fdt, 0, sizeof(fdt));
    fdt_indexed = false;
    fdt_index_len = 0;
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
    fdt_indexed = index_build();
    return true;
}

size_t fdt_total_size(void) {
    return fdt.total_size;
}

int fdt_find_compatible(int from, const char *compatible) {
    if (fdt_indexed) {
        for (size_t i = index_after(from); i < fdt_index_len; ++i) {
            const fdt_index_entry_t *e = &fdt_index[i];
            if (list_has(index_value(e->compatible), e->compatible_len, compatible)) {
                return (int)e->node;
            }
        }
        return FDT_NODE_NONE;
    }
    for (int node = next_node(from); node != FDT_NODE_NONE; node = next_node(node)) {
        if (fdt_is_compatible(node, compatible)) {
            return node;
        }
    }
    return FDT_NODE_NONE;
}

int fdt_find_device_type(int from, const char *device_type) {
    if (fdt_indexed) {
        for (size_t i = index_after(from); i < fdt_index_len; ++i) {
            const fdt_index_entry_t *e = &fdt_index[i];
            const char *t = prop_str(index_value(e->device_type), e->device_type_len);
            if (t != NULL && strcmp(t, device_type) == 0) {
                return (int)e->node;
            }
        }
        return FDT_NODE_NONE;
    }
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

bool fdt_get_number(int node, const char *name, uint64_t *out) {
    uint32_t len;
    const uint8_t *p = fdt_get_prop(node, name, &len);
    return p != NULL && (len == 4 || len == 8) && read_cells(p, len / 4, out);
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

// The index entry of a node, or NULL.
static const fdt_index_entry_t *index_entry(int node) {
    size_t i = index_after(node);
    return i > 0 && fdt_index[i - 1].node == (uint32_t)node ? &fdt_index[i - 1] : NULL;
}

// The node whose subtree holds `node` directly: from the index, else by
// walking from the root with a stack of open nodes; FDT_NODE_NONE for the
// root or a bad handle.
int fdt_parent(int node) {
    if (fdt.structs == NULL || node <= 0) {
        return FDT_NODE_NONE;
    }
    if (fdt_indexed) {
        const fdt_index_entry_t *e = index_entry(node);
        return e != NULL ? e->parent : FDT_NODE_NONE;
    }
    int open[FDT_MAX_DEPTH];
    int depth = 0;
    for (uint32_t off = 0; off != 0 || depth == 0;) {
        uint32_t tag = token_at(off);
        if (tag == FDT_BEGIN_NODE) {
            if ((int)off == node) {
                return depth > 0 ? open[depth - 1] : FDT_NODE_NONE;
            }
            if (depth == FDT_MAX_DEPTH) {
                return FDT_NODE_NONE;
            }
            open[depth++] = (int)off;
        } else if (tag == FDT_END_NODE) {
            if (depth == 0 || --depth == 0) {
                break; // past the root
            }
        } else if (tag == FDT_END) {
            break;
        }
        off = next_token(off);
        if (off == 0) {
            break;
        }
    }
    return FDT_NODE_NONE;
}

int fdt_find_phandle(uint32_t phandle) {
    if (phandle == 0 || phandle == 0xffffffff) {
        return FDT_NODE_NONE;
    }
    if (fdt_indexed) {
        for (size_t i = 0; i < fdt_index_len; ++i) {
            if (fdt_index[i].phandle == phandle) {
                return (int)fdt_index[i].node;
            }
        }
        return FDT_NODE_NONE;
    }
    for (int node = next_node(FDT_NODE_NONE); node != FDT_NODE_NONE; node = next_node(node)) {
        uint32_t len;
        const uint8_t *p = fdt_get_prop(node, "phandle", &len);
        if (p == NULL) {
            p = fdt_get_prop(node, "linux,phandle", &len);
        }
        if (p != NULL && len == 4 && be32(p) == phandle) {
            return node;
        }
    }
    return FDT_NODE_NONE;
}

// A node's one-cell property, or false.
bool fdt_get_u32(int node, const char *name, uint32_t *out) {
    uint32_t len;
    const uint8_t *p = fdt_get_prop(node, name, &len);
    if (p == NULL || len != 4) {
        return false;
    }
    *out = be32(p);
    return true;
}

int fdt_interrupt_parent(int node) {
    // "interrupt-parent" on the node or its nearest ancestor that has one
    // (the devicetree specification, 2.4.1).
    for (int n = node, hops = 0; n != FDT_NODE_NONE && hops < FDT_MAX_DEPTH; n = fdt_parent(n), ++hops) {
        uint32_t phandle;
        if (fdt_get_u32(n, "interrupt-parent", &phandle)) {
            return fdt_find_phandle(phandle);
        }
    }
    return FDT_NODE_NONE;
}

bool fdt_get_interrupt(int node, int index, fdt_interrupt_t *out) {
    int parent = fdt_interrupt_parent(node);
    uint32_t ncells, len;
    if (parent == FDT_NODE_NONE || !fdt_get_u32(parent, "#interrupt-cells", &ncells)
        || ncells == 0 || ncells > FDT_MAX_INTERRUPT_CELLS) {
        return false;
    }
    const uint8_t *p = fdt_get_prop(node, "interrupts", &len);
    if (p == NULL || index < 0 || ((uint64_t)index + 1) * ncells * 4 > len) {
        return false;
    }
    p += (size_t)index * ncells * 4;
    out->controller = parent;
    out->ncells = ncells;
    for (uint32_t i = 0; i < ncells; ++i) {
        out->cells[i] = be32(p + 4 * i);
    }
    return true;
}
