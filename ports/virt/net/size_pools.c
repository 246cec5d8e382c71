// Fixed-size blocks carved on demand from one region (size_pools.h).
#include "size_pools.h"

// Before each block: whose it is, and whether it is live.
typedef struct _size_pools_header_t {
    uint16_t magic;
    uint8_t pool;
    uint8_t unused[5];
} size_pools_header_t;

_Static_assert(sizeof(size_pools_header_t) == SIZE_POOLS_HEADER, "header size");

#define SIZE_POOLS_LIVE (0xb10c)
#define SIZE_POOLS_FREE (0xf4ee)

static size_t round_up(size_t size) {
    return (size + SIZE_POOLS_ALIGN - 1) & ~(size_t)(SIZE_POOLS_ALIGN - 1);
}

void size_pools_init(size_pools_t *sp, void *base, size_t size) {
    *sp = (size_pools_t) { 0 };
    uintptr_t start = ((uintptr_t)base + SIZE_POOLS_ALIGN - 1) & ~(uintptr_t)(SIZE_POOLS_ALIGN - 1);
    uintptr_t end = ((uintptr_t)base + size) & ~(uintptr_t)(SIZE_POOLS_ALIGN - 1);
    if (size == 0 || end < start) {
        end = start;
    }
    sp->start = sp->next = start;
    sp->end = end;
}

// Slots are probed from one derived from the key: each of lwIP's pools is
// found at the first or second probe.
static size_t first_slot(uintptr_t key) {
    return (size_t)((key / SIZE_POOLS_ALIGN) ^ (key >> 12)) % SIZE_POOLS_MAX;
}

// The slot of pool `key`, or the empty slot where its probe ends (NULL if
// the table is full).
static const size_pool_t *slot_of(const size_pools_t *sp, uintptr_t key) {
    size_t first = first_slot(key);
    for (size_t i = 0; i < SIZE_POOLS_MAX; ++i) {
        const size_pool_t *pool = &sp->pool[(first + i) % SIZE_POOLS_MAX];
        if (pool->size == 0 || pool->key == key) {
            return pool;
        }
    }
    return NULL;
}

size_pool_t *size_pools_find(size_pools_t *sp, uintptr_t key, size_t size, bool create) {
    size = round_up(size == 0 ? 1 : size);
    size_pool_t *pool = (size_pool_t *)slot_of(sp, key);
    if (pool == NULL || (pool->size == 0 && !create)) {
        return NULL;
    }
    if (pool->size == 0) {
        pool->key = key;
        pool->size = size;
    }
    return pool->size == size ? pool : NULL;
}

const size_pool_t *size_pools_get(const size_pools_t *sp, uintptr_t key) {
    const size_pool_t *pool = slot_of(sp, key);
    return pool != NULL && pool->size != 0 ? pool : NULL;
}

static size_t pool_index(const size_pools_t *sp, const size_pool_t *pool) {
    return (size_t)(pool - sp->pool);
}

static bool uncarved_fits(const size_pools_t *sp, size_t size) {
    return sp->end - sp->next >= SIZE_POOLS_HEADER + size;
}

void *size_pools_alloc(size_pools_t *sp, uintptr_t key, size_t size) {
    size_pool_t *pool = size_pools_find(sp, key, size, true);
    if (pool == NULL) {
        sp->failed++;
        return NULL;
    }
    if (pool->limit != 0 && pool->live >= pool->limit) {
        pool->refused++;
        return NULL;
    }
    uint8_t *block;
    if (pool->free != NULL) {
        block = pool->free;
        pool->free = *(void **)block;
        pool->free_count--;
    } else if (uncarved_fits(sp, pool->size)) {
        block = (uint8_t *)sp->next + SIZE_POOLS_HEADER;
        sp->next += SIZE_POOLS_HEADER + pool->size;
    } else {
        sp->failed++;
        return NULL;
    }
    size_pools_header_t *hdr = (size_pools_header_t *)(block - SIZE_POOLS_HEADER);
    hdr->magic = SIZE_POOLS_LIVE;
    hdr->pool = (uint8_t)pool_index(sp, pool);
    pool->live++;
    sp->in_use += SIZE_POOLS_HEADER + pool->size;
    if (sp->in_use > sp->peak) {
        sp->peak = sp->in_use;
    }
    return block;
}

bool size_pools_free(size_pools_t *sp, void *ptr) {
    uintptr_t addr = (uintptr_t)ptr;
    if (addr < sp->start + SIZE_POOLS_HEADER || addr > sp->next || addr % SIZE_POOLS_ALIGN != 0) {
        sp->bad_frees++;
        return false;
    }
    size_pools_header_t *hdr = (size_pools_header_t *)(addr - SIZE_POOLS_HEADER);
    if (hdr->magic != SIZE_POOLS_LIVE || hdr->pool >= SIZE_POOLS_MAX) {
        sp->bad_frees++;
        return false;
    }
    size_pool_t *pool = &sp->pool[hdr->pool];
    if (pool->size == 0 || pool->live == 0 || addr + pool->size > sp->next) {
        sp->bad_frees++;
        return false;
    }
    hdr->magic = SIZE_POOLS_FREE;
    pool->live--;
    sp->in_use -= SIZE_POOLS_HEADER + pool->size;
    *(void **)ptr = pool->free;
    pool->free = ptr;
    pool->free_count++;
    return true;
}

bool size_pools_can_alloc(const size_pools_t *sp, uintptr_t key, size_t size) {
    size = round_up(size == 0 ? 1 : size);
    const size_pool_t *pool = slot_of(sp, key);
    if (pool == NULL) {
        return false; // no slot for a new pool
    }
    if (pool->size == 0) {
        return uncarved_fits(sp, size); // a pool size_pools_alloc would make
    }
    if (pool->size != size || (pool->limit != 0 && pool->live >= pool->limit)) {
        return false;
    }
    return pool->free != NULL || uncarved_fits(sp, size);
}

size_t size_pools_free_bytes(const size_pools_t *sp) {
    return (sp->end - sp->start) - sp->in_use;
}
