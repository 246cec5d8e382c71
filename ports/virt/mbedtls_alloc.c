// mbedTLS's allocator; see mbedtls_alloc.h.
//
// A request of up to MBEDTLS_ALLOC_SMALL_MAX bytes is rounded up to one of
// a few size classes. Each class keeps chunks (one tracked GC allocation of
// several blocks each) on a list while they have a free block: allocation
// and free are a few pointer moves. Every block starts with a header naming
// its chunk (NULL for a large block, which is its own tracked allocation),
// so free() needs no size and no search.
#include <stdint.h>
#include <string.h>

#include "mbedtls_alloc.h"

typedef struct _chunk_t chunk_t;

// 8 bytes on every architecture, so payloads stay 8-aligned (64-bit limbs).
typedef union {
    chunk_t *chunk;
    uint64_t align;
} block_hdr_t;

typedef struct _free_block_t {
    struct _free_block_t *next;
} free_block_t;

struct _chunk_t {
    chunk_t *prev, *next;  // in its class's list while it has a free block
    free_block_t *free;    // blocks given back
    uint16_t carved;       // blocks taken from the uncarved end so far
    uint16_t used;         // blocks handed out now
    uint16_t nblocks;      // blocks it holds (blocks_per_chunk, once)
    uint8_t cls;
    uint8_t listed;
};

#define CHUNK_HDR_SIZE ((sizeof(chunk_t) + 7) & ~(size_t)7)
// A chunk is at least this big and holds at least CHUNK_MIN_BLOCKS blocks.
#define CHUNK_TARGET_BYTES (4096)
#define CHUNK_MIN_BLOCKS (8)

// Steps of about 1.5x: a P-256 number is 32 bytes (68 as a product), an
// RSA-2048 one 256 (516); multiples of 8 keep every block 8-aligned.
static const uint16_t class_size[] = { 16, 32, 48, 72, 96, 128, 192, 264, 384, 520, 768, 1024 };
#define NUM_CLASSES (sizeof(class_size) / sizeof(class_size[0]))

static chunk_t *class_chunks[NUM_CLASSES];
static size_t chunk_bytes_total;
static size_t live_blocks;

static size_t block_stride(unsigned cls) {
    return sizeof(block_hdr_t) + class_size[cls];
}

static unsigned blocks_per_chunk(unsigned cls) {
    size_t n = (CHUNK_TARGET_BYTES - CHUNK_HDR_SIZE) / block_stride(cls);
    return n < CHUNK_MIN_BLOCKS ? CHUNK_MIN_BLOCKS : (unsigned)n;
}

static size_t chunk_size(unsigned cls) {
    return CHUNK_HDR_SIZE + blocks_per_chunk(cls) * block_stride(cls);
}

static void chunk_link(chunk_t *c) {
    c->prev = NULL;
    c->next = class_chunks[c->cls];
    if (c->next != NULL) {
        c->next->prev = c;
    }
    class_chunks[c->cls] = c;
    c->listed = 1;
}

static void chunk_unlink(chunk_t *c) {
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        class_chunks[c->cls] = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->listed = 0;
}

void *virt_mbedtls_calloc(size_t nmemb, size_t size) {
    if (size != 0 && nmemb > SIZE_MAX / size) {
        return NULL;
    }
    size_t n = nmemb * size;
    unsigned cls = 0;
    while (cls < NUM_CLASSES && class_size[cls] < n) {
        ++cls;
    }
    if (cls == NUM_CLASSES) {
        if (n > SIZE_MAX - sizeof(block_hdr_t)) {
            return NULL;
        }
        block_hdr_t *hdr = m_tracked_calloc(1, sizeof(block_hdr_t) + n); // zeroed: chunk NULL
        return hdr == NULL ? NULL : hdr + 1;
    }
    chunk_t *c = class_chunks[cls];
    if (c == NULL) {
        // May collect, which trims other classes' empty chunks: no list is
        // held across this call.
        c = m_tracked_calloc(1, chunk_size(cls));
        if (c == NULL) {
            return NULL;
        }
        c->cls = (uint8_t)cls;
        c->nblocks = (uint16_t)blocks_per_chunk(cls);
        chunk_bytes_total += chunk_size(cls);
        chunk_link(c);
    }
    block_hdr_t *hdr;
    if (c->free != NULL) {
        hdr = (block_hdr_t *)c->free - 1;
        c->free = c->free->next;
    } else {
        hdr = (block_hdr_t *)((uint8_t *)c + CHUNK_HDR_SIZE + c->carved * block_stride(cls));
        c->carved++;
    }
    c->used++;
    if (c->free == NULL && c->carved == c->nblocks) {
        chunk_unlink(c); // full
    }
    live_blocks++;
    hdr->chunk = c;
    memset(hdr + 1, 0, n);
    return hdr + 1;
}

void virt_mbedtls_free(void *ptr) {
    if (ptr == NULL) {
        return;
    }
    block_hdr_t *hdr = (block_hdr_t *)ptr - 1;
    chunk_t *c = hdr->chunk;
    if (c == NULL) {
        m_tracked_free(hdr);
        return;
    }
    free_block_t *b = ptr;
    b->next = c->free;
    c->free = b;
    c->used--;
    live_blocks--;
    if (!c->listed) {
        chunk_link(c);
    }
    // An empty chunk stays until the next collection: a loop that takes
    // and gives back one block must not allocate a chunk each time.
}

void virt_mbedtls_alloc_trim(void) {
    for (unsigned cls = 0; cls < NUM_CLASSES; ++cls) {
        chunk_t *c = class_chunks[cls];
        while (c != NULL) {
            chunk_t *next = c->next;
            if (c->used == 0) {
                chunk_unlink(c);
                chunk_bytes_total -= chunk_size(cls);
                m_tracked_free(c);
            }
            c = next;
        }
    }
}

void virt_mbedtls_alloc_reset(void) {
    memset(class_chunks, 0, sizeof(class_chunks));
    chunk_bytes_total = 0;
    live_blocks = 0;
}

size_t virt_mbedtls_alloc_chunk_bytes(void) {
    return chunk_bytes_total;
}

size_t virt_mbedtls_alloc_live_blocks(void) {
    return live_blocks;
}
