// Host unit test of ports/virt/devices/fdt.c against device trees QEMU dumped
// (qemu-system-arm -M virt,dumpdtb=FILE), and against truncated and
// corrupted copies of them. Built with ASan and UBSan by
// tests/test_virtqueue_host.py; every blob handed to fdt_init lives in a heap
// block of exactly its size, so any read past it is caught.
//
// Usage: fdt_test PLAIN.dtb ARGS.dtb BOOTARGS [case...]
//   PLAIN.dtb: -M virt -m 256M without -append; ARGS.dtb: the same with
//   -append BOOTARGS.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdt.h"
#include "gic.h"
#include "check.h"
#include "fdt_blobs.h"

// fdt.c again, with every search walking the tree (tests/host/fdt_walk.c).
bool walk_fdt_init(const void *blob, size_t max_size);
int walk_fdt_find_compatible(int from, const char *compatible);
int walk_fdt_find_device_type(int from, const char *device_type);
int walk_fdt_parent(int node);
int walk_fdt_find_phandle(uint32_t phandle);
int walk_fdt_interrupt_parent(int node);

static const char *plain_path, *args_path, *bootargs;

// fdt_init, with the walking copy given the same blob.
static bool init_both(const void *blob, size_t max_size) {
    bool ok = fdt_init(blob, max_size);
    CHECK(walk_fdt_init(blob, max_size) == ok);
    return ok;
}

static volatile uint32_t sink;

// The index'th interrupt as a GIC interrupt ID, as the port reads it: the
// specifier sized by the interrupt parent, then the GIC binding (gic.c).
static bool gic_irq(int node, int index, uint32_t *irq) {
    fdt_interrupt_t spec;
    return fdt_get_interrupt(node, index, &spec) && gic_is_compatible(spec.controller)
           && gic_irq_from_dt(&spec, irq);
}

// Touch every byte the API says is there, so ASan sees any overrun.
static void touch(const void *p, size_t n) {
    const uint8_t *b = p;
    uint32_t s = 0;
    for (size_t i = 0; i < n; ++i) {
        s += b[i];
    }
    sink += s;
}

static void touch_node(int node) {
    static const char *props[] = { "reg", "compatible", "interrupts", "device_type", "bootargs", "#address-cells", "status" };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); ++i) {
        uint32_t len = 0;
        const void *p = fdt_get_prop(node, props[i], &len);
        if (p != NULL) {
            touch(p, len);
        }
        const char *s = fdt_get_prop_str(node, props[i]);
        if (s != NULL) {
            touch(s, strlen(s) + 1);
        }
    }
    uint64_t a, sz;
    uint32_t irq;
    for (int i = 0; i < 3; ++i) {
        if (fdt_get_reg(node, i, &a, &sz)) {
            sink += (uint32_t)a;
        }
        if (gic_irq(node, i, &irq)) {
            sink += irq;
        }
    }
}

// Every lookup the port makes, and a few more; bounded. The indexed searches
// must find the nodes a walk of the tree finds, in the same order.
static void exercise(void) {
    static const char *compat[] = { "virtio,mmio", "arm,pl011", "arm,pl031", "arm,cortex-a15-gic", "nope", "" };
    for (size_t c = 0; c < sizeof(compat) / sizeof(compat[0]); ++c) {
        int n = 0, walked = walk_fdt_find_compatible(FDT_NODE_NONE, compat[c]);
        for (int node = fdt_find_compatible(FDT_NODE_NONE, compat[c]); node != FDT_NODE_NONE && n < 1000;
             node = fdt_find_compatible(node, compat[c]), ++n) {
            CHECK_EQ_U(node, walked);
            walked = walk_fdt_find_compatible(walked, compat[c]);
            touch_node(node);
            // Parents and interrupt parents from the index match the walk's.
            CHECK(fdt_parent(node) == walk_fdt_parent(node));
            CHECK(fdt_interrupt_parent(node) == walk_fdt_interrupt_parent(node));
        }
        if (n < 1000) {
            CHECK(walked == FDT_NODE_NONE);
        }
    }
    static const char *types[] = { "memory", "cpu", "x" };
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); ++t) {
        int node = fdt_find_device_type(FDT_NODE_NONE, types[t]);
        CHECK(node == walk_fdt_find_device_type(FDT_NODE_NONE, types[t]));
        if (node != FDT_NODE_NONE) {
            CHECK(fdt_find_device_type(node, types[t]) == walk_fdt_find_device_type(node, types[t]));
            touch_node(node);
        }
    }
    static const char *children[] = { "chosen", "memory", "pl011", "psci", "", "a-name-longer-than-any-node-name-in-the-tree" };
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); ++i) {
        int node = fdt_find_root_child(children[i]);
        if (node != FDT_NODE_NONE) {
            touch_node(node);
        }
    }
    for (uint32_t ph = 0; ph < 8; ++ph) {
        CHECK(fdt_find_phandle(ph) == walk_fdt_find_phandle(ph));
    }
    CHECK(fdt_parent(4) == walk_fdt_parent(4));
    CHECK(fdt_parent(-5) == FDT_NODE_NONE);
    touch_node(0);
    touch_node(4);
    touch_node(-5);
    touch_node(0x7ffffff0);
}

static void expect_nothing(void) {
    CHECK_EQ_U(fdt_total_size(), 0);
    CHECK(fdt_find_compatible(FDT_NODE_NONE, "virtio,mmio") == FDT_NODE_NONE);
    CHECK(fdt_find_device_type(FDT_NODE_NONE, "memory") == FDT_NODE_NONE);
    CHECK(fdt_find_root_child("chosen") == FDT_NODE_NONE);
    uint32_t len;
    CHECK(fdt_get_prop(0, "compatible", &len) == NULL);
    CHECK(fdt_get_prop_str(fdt_find_root_child("chosen"), "bootargs") == NULL);
    exercise();
}

// What QEMU's virt machine (-m 256M) must show.
static void check_virt_tree(const char *want_bootargs) {
    int mem = fdt_find_device_type(FDT_NODE_NONE, "memory");
    CHECK(mem != FDT_NODE_NONE);
    uint64_t addr = 0, size = 0;
    CHECK(fdt_get_reg(mem, 0, &addr, &size));
    CHECK_EQ_U(addr, 0x40000000);
    CHECK_EQ_U(size, 256u << 20);
    CHECK(!fdt_get_reg(mem, 1, &addr, &size));
    CHECK(fdt_find_root_child("memory") == mem);
    CHECK(fdt_find_device_type(mem, "memory") == FDT_NODE_NONE);

    int uart = fdt_find_compatible(FDT_NODE_NONE, "arm,pl011");
    CHECK(uart != FDT_NODE_NONE);
    CHECK(fdt_get_reg(uart, 0, &addr, &size));
    CHECK_EQ_U(addr, 0x09000000);
    CHECK_EQ_U(size, 0x1000);
    uint32_t irq = 0;
    CHECK(gic_irq(uart, 0, &irq));
    CHECK_EQ_U(irq, 32 + 1);
    CHECK(!gic_irq(uart, 1, &irq));
    CHECK(fdt_is_compatible(uart, "arm,primecell"));
    CHECK(!fdt_is_compatible(uart, "arm,pl01"));
    CHECK(!fdt_is_compatible(uart, "arm,pl0111"));
    CHECK(fdt_find_compatible(uart, "arm,pl011") == FDT_NODE_NONE);
    CHECK(fdt_find_root_child("pl011") == uart);
    CHECK(fdt_find_compatible(FDT_NODE_NONE, "arm,pl031") != FDT_NODE_NONE);
    CHECK(fdt_find_compatible(FDT_NODE_NONE, "arm,cortex-a15-gic") != FDT_NODE_NONE);
    CHECK(fdt_find_compatible(FDT_NODE_NONE, "no,such-device") == FDT_NODE_NONE);

    // 32 virtio-mmio transports, 0x200 apart from 0x0a000000, SPI 16 + n.
    uint32_t seen = 0;
    int count = 0;
    for (int node = fdt_find_compatible(FDT_NODE_NONE, "virtio,mmio"); node != FDT_NODE_NONE && count < 100;
         node = fdt_find_compatible(node, "virtio,mmio")) {
        ++count;
        CHECK(fdt_get_reg(node, 0, &addr, &size));
        CHECK_EQ_U(size, 0x200);
        CHECK(addr >= 0x0a000000 && addr < 0x0a000000 + 32 * 0x200 && addr % 0x200 == 0);
        uint32_t slot = (uint32_t)((addr - 0x0a000000) / 0x200) & 31;
        CHECK(!(seen & (1u << slot)));
        seen |= 1u << slot;
        CHECK(gic_irq(node, 0, &irq));
        CHECK_EQ_U(irq, 32 + 16 + slot);
    }
    CHECK_EQ_U(count, 32);
    CHECK_EQ_U(seen, 0xffffffffu);

    int chosen = fdt_find_root_child("chosen");
    CHECK(chosen != FDT_NODE_NONE);
    CHECK(fdt_find_root_child("chose") == FDT_NODE_NONE);
    CHECK(fdt_find_root_child("chosenx") == FDT_NODE_NONE);
    const char *got = fdt_get_prop_str(chosen, "bootargs");
    if (want_bootargs == NULL) {
        CHECK(got == NULL);
    } else {
        CHECK(got != NULL && strcmp(got, want_bootargs) == 0);
        if (got != NULL && strcmp(got, want_bootargs) != 0) {
            fprintf(stderr, "bootargs: got \"%s\", want \"%s\"\n", got, want_bootargs);
        }
    }
    uint64_t number;
    CHECK(fdt_get_number(0, "#address-cells", &number) && number == 2); // one cell
    CHECK(!fdt_get_number(chosen, "stdout-path", &number));              // a string: not 1 or 2 cells
    CHECK(!fdt_get_number(chosen, "linux,initrd-start", &number));       // absent
    CHECK(!fdt_get_number(FDT_NODE_NONE, "#address-cells", &number));
    const char *stdout_path = fdt_get_prop_str(chosen, "stdout-path");
    CHECK(stdout_path != NULL && strncmp(stdout_path, "/pl011@", 7) == 0);
    // Not a property of the root; no string where the value is not one.
    CHECK(fdt_get_prop(0, "bootargs", NULL) == NULL);
    uint32_t len = 0;
    CHECK(fdt_get_prop(0, "#address-cells", &len) != NULL && len == 4);
    CHECK(fdt_get_prop_str(fdt_find_compatible(FDT_NODE_NONE, "arm,cortex-a15-gic"), "interrupt-controller") == NULL);
    // Handles that are no node.
    CHECK(fdt_get_prop(-1, "reg", &len) == NULL);
    CHECK(fdt_get_prop(uart + 4, "reg", &len) == NULL);
    CHECK(fdt_get_prop(0x7ffffff0, "reg", &len) == NULL);
    CHECK(!fdt_get_reg(FDT_NODE_NONE, 0, &addr, &size));
    CHECK(!fdt_get_reg(uart, -1, &addr, &size));
    exercise();
}

static void test_plain(void) {
    blob_t raw = load(plain_path);
    CHECK(init_both(raw.data, raw.size));
    CHECK_EQ_U(fdt_total_size(), be32(raw.data + H_TOTAL));
    check_virt_tree(NULL);
    blob_t c = compact(&raw);
    CHECK(init_both(c.data, c.size));
    CHECK_EQ_U(fdt_total_size(), c.size);
    check_virt_tree(NULL);
    blob_t s = struct_last(&c);
    CHECK(init_both(s.data, s.size));
    check_virt_tree(NULL);
    free(s.data);
    free(c.data);
    free(raw.data);
}

static void test_bootargs(void) {
    blob_t raw = load(args_path);
    blob_t c = compact(&raw);
    free(raw.data);
    CHECK(init_both(c.data, c.size));
    check_virt_tree(bootargs);
    free(c.data);
}

static void test_bad_headers(void) {
    blob_t raw = load(plain_path);
    blob_t good = compact(&raw);
    free(raw.data);
    CHECK(!init_both(NULL, 100));
    expect_nothing();
    CHECK(!init_both(good.data, 39));
    expect_nothing();
    struct {
        int field;
        uint32_t value;
    } edits[] = {
        { H_MAGIC, 0xd00dfeee },
        { H_MAGIC, 0 },
        { H_TOTAL, 0 },
        { H_TOTAL, 39 },
        { H_TOTAL, (uint32_t)good.size + 1 },
        { H_TOTAL, 0xffffffff },
        { H_OFF_STRUCT, (uint32_t)good.size + 1 },
        { H_OFF_STRUCT, 0xffffffff },
        { H_SIZE_STRUCT, (uint32_t)good.size },
        { H_SIZE_STRUCT, 0xfffffff0 },
        { H_OFF_STRINGS, 0xffffffff },
        { H_SIZE_STRINGS, 0xfffffff0 },
        { H_SIZE_STRINGS, (uint32_t)good.size },
        { H_OFF_STRUCT, 0 }, // the structure block would start with the magic
        { H_OFF_STRUCT, 44 }, // not at a BEGIN_NODE
        { H_SIZE_STRUCT, 0 },
        { H_SIZE_STRUCT, 3 },
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); ++i) {
        blob_t b = copy(good.data, good.size);
        put_be32(b.data + edits[i].field, edits[i].value);
        if (init_both(b.data, b.size)) {
            fprintf(stderr, "accepted header edit %zu (field %d = 0x%x)\n", i, edits[i].field, edits[i].value);
            CHECK(0);
        }
        expect_nothing();
        free(b.data);
    }
    // A good init, then a failed one: the old tree is forgotten.
    CHECK(init_both(good.data, good.size));
    CHECK(!init_both(good.data, 10));
    expect_nothing();
    free(good.data);
}

// Every prefix of the blob: fdt_init must refuse it (the header says more).
static void test_truncated(void) {
    blob_t raw = load(plain_path);
    blob_t good = compact(&raw);
    free(raw.data);
    for (size_t n = 0; n < good.size; ++n) {
        blob_t b = copy(good.data, n);
        if (init_both(b.data, n)) {
            CHECK(0);
            fprintf(stderr, "accepted a blob cut to %zu of %zu bytes\n", n, good.size);
        }
        expect_nothing();
        free(b.data);
    }
    free(good.data);
}

// Prefixes whose header is rewritten to match: the structure block ends
// anywhere, in a name, a property or between tokens. Lookups must end
// without reading past the blob.
static void test_truncated_consistent(void) {
    blob_t raw = load(plain_path);
    blob_t c = compact(&raw);
    free(raw.data);
    blob_t good = struct_last(&c);
    free(c.data);
    uint32_t off_struct = be32(good.data + H_OFF_STRUCT);
    for (size_t n = off_struct; n < good.size; ++n) {
        blob_t b = copy(good.data, n);
        put_be32(b.data + H_TOTAL, (uint32_t)n);
        put_be32(b.data + H_SIZE_STRUCT, (uint32_t)(n - off_struct));
        if (init_both(b.data, n)) {
            exercise();
        } else {
            expect_nothing();
        }
        free(b.data);
    }
    free(good.data);
}

// Random damage to the structure block (and now and then the header).
static void test_corrupt_random(void) {
    rnd_seed(0xC0FFEE);
    blob_t raw = load(plain_path);
    blob_t c = compact(&raw);
    free(raw.data);
    blob_t good = struct_last(&c);
    free(c.data);
    uint32_t off_struct = be32(good.data + H_OFF_STRUCT), size_struct = be32(good.data + H_SIZE_STRUCT);
    static const uint32_t words[] = { 0, 1, 2, 3, 4, 9, 0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffc, 0x1000, 12 };
    int accepted = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        blob_t b = copy(good.data, good.size);
        int edits = 1 + rnd() % 6;
        for (int e = 0; e < edits; ++e) {
            uint32_t at = off_struct + (rnd() % size_struct & ~3u);
            switch (rnd() % 4) {
                case 0:
                    b.data[off_struct + rnd() % size_struct] ^= 1u << (rnd() % 8);
                    break;
                case 1:
                    put_be32(b.data + at, words[rnd() % (sizeof(words) / sizeof(words[0]))]);
                    break;
                case 2:
                    put_be32(b.data + at, rnd());
                    break;
                default:
                    if (rnd() % 8 == 0) {
                        put_be32(b.data + 4 * (1 + rnd() % 9), words[rnd() % (sizeof(words) / sizeof(words[0]))]);
                    } else {
                        b.data[off_struct + rnd() % size_struct] = 0;
                    }
                    break;
            }
        }
        if (init_both(b.data, b.size)) {
            accepted++;
            exercise();
        } else {
            expect_nothing();
        }
        free(b.data);
        if (check_failures) {
            fprintf(stderr, "  at iteration %d\n", iter);
            break;
        }
    }
    printf("  %d of 4000 damaged blobs accepted by fdt_init, all looked up\n", accepted);
    free(good.data);
}

// Find the byte offset (in the structure block) of the FDT_PROP token of
// `prop` in the first node compatible with `compat`.
static uint32_t find_prop_token(const blob_t *b, const char *compat, const char *prop) {
    CHECK(init_both(b->data, b->size));
    int node = fdt_find_compatible(FDT_NODE_NONE, compat);
    uint32_t len;
    const uint8_t *value = fdt_get_prop(node, prop, &len);
    CHECK(value != NULL);
    if (value == NULL) {
        return 0;
    }
    return (uint32_t)(value - b->data) - 12;
}

// A property whose length runs past the structure block must not be handed
// out: callers read `len` bytes of it.
static void test_prop_len_past_end(void) {
    blob_t raw = load(plain_path);
    blob_t c = compact(&raw);
    free(raw.data);
    blob_t good = struct_last(&c);
    free(c.data);
    static const uint32_t lens[] = { 0x7fffffff, 0xffffffff, 0x10000 };
    static const char *props[] = { "compatible", "reg", "interrupts" };
    for (size_t p = 0; p < 3; ++p) {
        for (size_t l = 0; l < 3; ++l) {
            blob_t b = copy(good.data, good.size);
            uint32_t tok = find_prop_token(&b, "arm,pl011", props[p]);
            put_be32(b.data + tok + 4, lens[l]);
            if (init_both(b.data, b.size)) {
                int uart = FDT_NODE_NONE;
                // Look the node up without its compatible string when that is the damaged one.
                uart = fdt_find_root_child("pl011");
                uint32_t len = 0;
                const uint8_t *v = fdt_get_prop(uart, props[p], &len);
                if (v != NULL && (size_t)(v - b.data) + len > b.size) {
                    fprintf(stderr, "fdt_get_prop(pl011, \"%s\") gives %u bytes at offset %zu of a %zu-byte blob\n",
                        props[p], len, (size_t)(v - b.data), b.size);
                    CHECK(0);
                } else {
                    exercise();
                }
            }
            free(b.data);
        }
    }
    // The last token of the structure block is a property header cut short.
    blob_t b = copy(good.data, good.size);
    uint32_t off_struct = be32(b.data + H_OFF_STRUCT), size_struct = be32(b.data + H_SIZE_STRUCT);
    put_be32(b.data + off_struct + size_struct - 4, 3); // FDT_PROP where FDT_END was
    if (init_both(b.data, b.size)) {
        exercise();
    }
    free(b.data);
    free(good.data);
}

// #address-cells / #size-cells from a damaged root, and indexes so large
// that index * stride wraps around 32 bits: no lookup may leave the blob.
static void test_cells_and_index_overflow(void) {
    blob_t raw = load(plain_path);
    blob_t c = compact(&raw);
    free(raw.data);
    blob_t good = struct_last(&c);
    free(c.data);
    static const uint32_t cells[][2] = {
        { 2, 0x20000000 }, // stride 4 * 0x20000002 wraps to 8
        { 1, 0x20000000 }, // stride 0x80000004: index 1 wraps to 8 bytes
        { 0x40000000, 0 }, // stride wraps to 0
        { 3, 0 }, { 0, 3 }, { 0xffffffff, 1 },
    };
    for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); ++k) {
        blob_t b = copy(good.data, good.size);
        CHECK(init_both(b.data, b.size));
        uint8_t *ac = (uint8_t *)fdt_get_prop(0, "#address-cells", NULL);
        uint8_t *sc = (uint8_t *)fdt_get_prop(0, "#size-cells", NULL);
        CHECK(ac != NULL && sc != NULL);
        if (ac == NULL || sc == NULL) {
            free(b.data);
            break;
        }
        put_be32(ac, cells[k][0]);
        put_be32(sc, cells[k][1]);
        CHECK(init_both(b.data, b.size));
        int uart = fdt_find_compatible(FDT_NODE_NONE, "arm,pl011");
        uint64_t a, sz;
        for (int i = 0; i < 4; ++i) {
            if (fdt_get_reg(uart, i, &a, &sz)) {
                // Only a layout that fits the 16-byte reg may give anything.
                CHECK(cells[k][0] <= 2 && cells[k][1] <= 2);
            }
        }
        free(b.data);
    }
    CHECK(init_both(good.data, good.size));
    int uart = fdt_find_compatible(FDT_NODE_NONE, "arm,pl011");
    uint32_t irq;
    uint64_t a, sz;
    CHECK(!gic_irq(uart, 0x15555555, &irq)); // (index + 1) * 12 wraps to 0
    CHECK(!gic_irq(uart, 0x7fffffff, &irq));
    CHECK(!fdt_get_reg(uart, 0x10000000, &a, &sz)); // (index + 1) * 16 wraps
    CHECK(!fdt_get_reg(uart, 0x7fffffff, &a, &sz));
    free(good.data);
}

// Properties count only before a node's first subnode (fdt_get_prop stops
// there); NOPs are skipped; the first of two same-named properties wins.
static void test_property_placement(void) {
    tree_t t = { .structs_len = 0 };
    tree_node(&t, "");
    tree_node(&t, "a");
    tree_word(&t, 4); // FDT_NOP
    tree_prop(&t, "compatible", "x,a");
    tree_prop(&t, "compatible", "x,second");
    tree_word(&t, 2); // FDT_END_NODE
    tree_prop(&t, "compatible", "x,late"); // the root's, after a subnode
    tree_prop(&t, "device_type", "late");
    tree_node(&t, "b");
    tree_node(&t, "c");
    tree_word(&t, 2);
    tree_prop(&t, "device_type", "late"); // b's, after a subnode
    tree_word(&t, 2);
    tree_word(&t, 2);
    tree_word(&t, 9); // FDT_END
    blob_t b = tree_blob(&t);
    CHECK(init_both(b.data, b.size));
    int a = fdt_find_compatible(FDT_NODE_NONE, "x,a");
    CHECK(a == 8);
    CHECK(fdt_find_compatible(FDT_NODE_NONE, "x,second") == FDT_NODE_NONE);
    CHECK(fdt_find_compatible(FDT_NODE_NONE, "x,late") == FDT_NODE_NONE);
    CHECK(fdt_find_device_type(FDT_NODE_NONE, "late") == FDT_NODE_NONE);
    exercise();
    free(b.data);
}

// Interrupt specifiers are sized by the interrupt parent's #interrupt-cells,
// the parent found on the node or its nearest ancestor: a GIC (3 cells) and
// a PLIC-like controller (1 cell) in one tree, nodes nested in a bus.
static void test_interrupt_parent_and_cells(void) {
    tree_t t = { .structs_len = 0 };
    static const uint32_t one = 1, two = 2, three = 3, bogus = 99;
    static const uint32_t spi5[] = { 0, 5, 4 }, plic[] = { 7, 9 }, ppi[] = { 1, 11, 4 };
    tree_node(&t, "");
    tree_prop_words(&t, "interrupt-parent", &one, 1);
    tree_node(&t, "intc@8000000");
    tree_prop(&t, "compatible", "arm,cortex-a15-gic");
    tree_prop_words(&t, "phandle", &one, 1);
    tree_prop_words(&t, "#interrupt-cells", &three, 1);
    tree_word(&t, 2);
    tree_node(&t, "bus");
    tree_node(&t, "dev1");
    tree_prop_words(&t, "interrupts", spi5, 3);
    tree_word(&t, 2);
    tree_node(&t, "dev2");
    tree_prop_words(&t, "interrupt-parent", &two, 1);
    tree_prop_words(&t, "interrupts", plic, 2);
    tree_word(&t, 2);
    tree_word(&t, 2); // bus
    tree_node(&t, "plic");
    tree_prop(&t, "compatible", "riscv,plic0");
    tree_prop_words(&t, "phandle", &two, 1);
    tree_prop_words(&t, "#interrupt-cells", &one, 1);
    tree_word(&t, 2);
    tree_node(&t, "timer");
    tree_prop_words(&t, "interrupts", ppi, 3);
    tree_word(&t, 2);
    tree_node(&t, "orphan");
    tree_prop_words(&t, "interrupt-parent", &bogus, 1);
    tree_prop_words(&t, "interrupts", &one, 1);
    tree_word(&t, 2);
    tree_word(&t, 2); // root
    tree_word(&t, 9);
    blob_t b = tree_blob(&t);
    CHECK(init_both(b.data, b.size));
    int gic = fdt_find_compatible(FDT_NODE_NONE, "arm,cortex-a15-gic");
    int plicn = fdt_find_compatible(FDT_NODE_NONE, "riscv,plic0");
    CHECK(gic != FDT_NODE_NONE && plicn != FDT_NODE_NONE);
    CHECK(fdt_find_phandle(1) == gic);
    CHECK(fdt_find_phandle(2) == plicn);
    CHECK(fdt_find_phandle(99) == FDT_NODE_NONE);
    CHECK(fdt_find_phandle(0) == FDT_NODE_NONE);
    int bus = fdt_find_root_child("bus");
    CHECK(bus != FDT_NODE_NONE);
    CHECK(fdt_parent(bus) == 0);
    CHECK(fdt_parent(0) == FDT_NODE_NONE);
    // dev1 is bus's first child: right after bus's name token.
    int dev1 = bus + 8;
    CHECK(fdt_parent(dev1) == bus);
    CHECK(fdt_interrupt_parent(dev1) == gic); // from the root, two levels up
    fdt_interrupt_t spec;
    CHECK(fdt_get_interrupt(dev1, 0, &spec));
    CHECK(spec.controller == gic && spec.ncells == 3 && spec.cells[1] == 5);
    CHECK(!fdt_get_interrupt(dev1, 1, &spec));
    uint32_t irq = 0;
    CHECK(gic_irq(dev1, 0, &irq));
    CHECK_EQ_U(irq, 32 + 5);
    // dev2: its own parent, one cell each: two interrupts.
    int dev2 = FDT_NODE_NONE;
    for (uint32_t off = (uint32_t)dev1 + 4; off < t.structs_len; off += 4) {
        if (!memcmp(t.structs + off, "\0\0\0\1dev2", 8)) {
            dev2 = (int)off;
            break;
        }
    }
    CHECK(dev2 != FDT_NODE_NONE);
    CHECK(fdt_get_interrupt(dev2, 0, &spec));
    CHECK(spec.controller == plicn && spec.ncells == 1 && spec.cells[0] == 7);
    CHECK(fdt_get_interrupt(dev2, 1, &spec));
    CHECK_EQ_U(spec.cells[0], 9);
    CHECK(!fdt_get_interrupt(dev2, 2, &spec));
    CHECK(!gic_irq(dev2, 0, &irq)); // not a GIC's
    CHECK(gic_irq(fdt_find_root_child("timer"), 0, &irq));
    CHECK_EQ_U(irq, 16 + 11);
    CHECK(!fdt_get_interrupt(fdt_find_root_child("orphan"), 0, &spec)); // no such phandle
    CHECK(!fdt_get_interrupt(gic, 0, &spec)); // no "interrupts"
    CHECK(!fdt_get_interrupt(dev1, -1, &spec));
    CHECK(!fdt_get_interrupt(dev1, 0x7fffffff, &spec));
    free(b.data);
}

static const test_case_t cases[] = {
    { "plain", test_plain },
    { "bootargs", test_bootargs },
    { "bad_headers", test_bad_headers },
    { "truncated", test_truncated },
    { "truncated_consistent", test_truncated_consistent },
    { "corrupt_random", test_corrupt_random },
    { "prop_len_past_end", test_prop_len_past_end },
    { "cells_and_index_overflow", test_cells_and_index_overflow },
    { "property_placement", test_property_placement },
    { "interrupt_parent_and_cells", test_interrupt_parent_and_cells },
};

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s PLAIN.dtb ARGS.dtb BOOTARGS [case...]\n", argv[0]);
        return 2;
    }
    plain_path = argv[1];
    args_path = argv[2];
    bootargs = argv[3];
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc - 3, argv + 3);
}
