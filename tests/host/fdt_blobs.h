// Device-tree blobs for tests/host/fdt_test.c: QEMU's dumps loaded, copied
// and reshaped, or trees built token by token for layouts QEMU never writes.
// Static functions: one test program includes it.
#ifndef VIRT_HOST_TEST_FDT_BLOBS_H
#define VIRT_HOST_TEST_FDT_BLOBS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

enum { H_MAGIC = 0, H_TOTAL = 4, H_OFF_STRUCT = 8, H_OFF_STRINGS = 12, H_OFF_RSV = 16,
       H_VERSION = 20, H_SIZE_STRINGS = 32, H_SIZE_STRUCT = 36 };

typedef struct {
    uint8_t *data;
    size_t size;
} blob_t;

static blob_t load(const char *path) {
    blob_t b = { NULL, 0 };
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    b.size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(b.size);
    if (b.data == NULL || fread(b.data, 1, b.size, f) != b.size) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    return b;
}

// A copy in a block of exactly n bytes.
static blob_t copy(const uint8_t *data, size_t n) {
    blob_t b = { malloc(n ? n : 1), n };
    memcpy(b.data, data, n);
    return b;
}

// The blob without QEMU's padding: header, reserve map, structure, strings.
static blob_t compact(const blob_t *in) {
    uint32_t end = be32(in->data + H_OFF_STRINGS) + be32(in->data + H_SIZE_STRINGS);
    uint32_t s_end = be32(in->data + H_OFF_STRUCT) + be32(in->data + H_SIZE_STRUCT);
    if (s_end > end) {
        end = s_end;
    }
    blob_t b = copy(in->data, end);
    put_be32(b.data + H_TOTAL, end);
    return b;
}

// The same tree with the structure block last, so reading past it leaves
// the heap block: header, reserve map, strings, structure.
static blob_t struct_last(const blob_t *in) {
    uint32_t off_rsv = be32(in->data + H_OFF_RSV);
    uint32_t off_struct = be32(in->data + H_OFF_STRUCT), size_struct = be32(in->data + H_SIZE_STRUCT);
    uint32_t off_strings = be32(in->data + H_OFF_STRINGS), size_strings = be32(in->data + H_SIZE_STRINGS);
    uint32_t rsv_len = off_struct - off_rsv; // QEMU: the reserve map sits before the structure
    uint32_t new_struct = (40 + rsv_len + size_strings + 3) & ~3u;
    uint32_t total = new_struct + size_struct;
    blob_t b = { calloc(1, total), total };
    memcpy(b.data, in->data, 40);
    memcpy(b.data + 40, in->data + off_rsv, rsv_len);
    memcpy(b.data + 40 + rsv_len, in->data + off_strings, size_strings);
    memcpy(b.data + new_struct, in->data + off_struct, size_struct);
    put_be32(b.data + H_TOTAL, total);
    put_be32(b.data + H_OFF_RSV, 40);
    put_be32(b.data + H_OFF_STRINGS, 40 + rsv_len);
    put_be32(b.data + H_OFF_STRUCT, new_struct);
    return b;
}

// A tree built token by token, for layouts QEMU never writes.
typedef struct {
    uint8_t structs[1024];
    uint32_t structs_len;
    char strings[512];
    uint32_t strings_len;
} tree_t;

static void tree_bytes(tree_t *t, const void *p, uint32_t n) {
    memcpy(t->structs + t->structs_len, p, n);
    t->structs_len += n;
    while (t->structs_len % 4) {
        t->structs[t->structs_len++] = 0;
    }
}

static void tree_word(tree_t *t, uint32_t w) {
    uint8_t b[4];
    put_be32(b, w);
    tree_bytes(t, b, 4);
}

static void tree_node(tree_t *t, const char *name) {
    tree_word(t, 1); // FDT_BEGIN_NODE
    tree_bytes(t, name, strlen(name) + 1);
}

static void tree_prop(tree_t *t, const char *name, const char *value) {
    tree_word(t, 3); // FDT_PROP
    tree_word(t, strlen(value) + 1);
    tree_word(t, t->strings_len);
    memcpy(t->strings + t->strings_len, name, strlen(name) + 1);
    t->strings_len += strlen(name) + 1;
    tree_bytes(t, value, strlen(value) + 1);
}

static void tree_prop_words(tree_t *t, const char *name, const uint32_t *words, uint32_t n) {
    tree_word(t, 3); // FDT_PROP
    tree_word(t, 4 * n);
    tree_word(t, t->strings_len);
    memcpy(t->strings + t->strings_len, name, strlen(name) + 1);
    t->strings_len += strlen(name) + 1;
    for (uint32_t i = 0; i < n; ++i) {
        tree_word(t, words[i]);
    }
}

static blob_t tree_blob(const tree_t *t) {
    uint32_t total = 40 + t->structs_len + t->strings_len;
    uint8_t *b = calloc(1, total);
    put_be32(b + H_MAGIC, FDT_MAGIC);
    put_be32(b + H_TOTAL, total);
    put_be32(b + H_OFF_STRUCT, 40);
    put_be32(b + H_OFF_STRINGS, 40 + t->structs_len);
    put_be32(b + H_VERSION, 17);
    put_be32(b + H_SIZE_STRINGS, t->strings_len);
    put_be32(b + H_SIZE_STRUCT, t->structs_len);
    memcpy(b + 40, t->structs, t->structs_len);
    memcpy(b + 40 + t->structs_len, t->strings, t->strings_len);
    blob_t out = copy(b, total);
    free(b);
    return out;
}

#endif // VIRT_HOST_TEST_FDT_BLOBS_H
