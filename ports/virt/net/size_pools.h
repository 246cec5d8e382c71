// Fixed-size blocks carved on demand from one region, for lwIP's memp pools
// (MEMP_MEM_MALLOC): the region is sized at boot from RAM instead of each
// pool being a compile-time array. Each pool (a key: lwIP's pool descriptor;
// and its block size) has a free list, so alloc and free take constant time
// and a freed block is used again by its own pool only, as with lwIP's
// arrays: a stray write into a freed block stays within its pool's kind.
// A pool may have a limit on its live blocks (lwIP's TCP PCBs: the
// connection limit).
// No dependency on lwIP or MicroPython: tests/host/size_pools_test.c drives it.
#ifndef MICROPY_INCLUDED_VIRT_SIZE_POOLS_H
#define MICROPY_INCLUDED_VIRT_SIZE_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIZE_POOLS_MAX (32)     // pools (lwIP has about 20)
#define SIZE_POOLS_ALIGN (8)    // of every block handed out
#define SIZE_POOLS_HEADER (8)   // bytes before each block

typedef struct _size_pool_t {
    uintptr_t key;      // whose pool
    size_t size;        // bytes a block of this pool holds (0: unused slot)
    void *free;         // this pool's blocks not in use, linked through their first word
    size_t free_count;
    size_t live;        // blocks handed out now
    size_t limit;       // at most this many live (0: no limit)
    size_t refused;     // requests refused at the limit
} size_pool_t;

typedef struct _size_pools_t {
    uintptr_t start, next, end; // the region; [next, end) is not carved yet
    size_t in_use;              // bytes in live blocks, headers included
    size_t peak;                // the most in_use has been
    size_t failed;              // requests refused for want of memory
    size_t bad_frees;           // frees of pointers that were not live blocks
    size_pool_t pool[SIZE_POOLS_MAX];
} size_pools_t;

// The region is aligned to SIZE_POOLS_ALIGN; nothing is carved yet.
void size_pools_init(size_pools_t *sp, void *base, size_t size);

// Pool `key` with blocks of `size` bytes (rounded up to SIZE_POOLS_ALIGN),
// made if `create` and a slot is free; NULL otherwise. A key always comes
// with the same size.
size_pool_t *size_pools_find(size_pools_t *sp, uintptr_t key, size_t size, bool create);

// Pool `key` if it has been made, whatever its size; NULL otherwise.
const size_pool_t *size_pools_get(const size_pools_t *sp, uintptr_t key);

// A block of pool `key`, at least `size` bytes, aligned to SIZE_POOLS_ALIGN;
// NULL if the pool's limit is reached, no memory is left or no slot is free.
void *size_pools_alloc(size_pools_t *sp, uintptr_t key, size_t size);

// Gives back a block size_pools_alloc returned. Anything else (outside the
// region, not a live block, freed twice) changes nothing and returns false.
bool size_pools_free(size_pools_t *sp, void *ptr);

// Whether size_pools_alloc(sp, key, size) would succeed now.
bool size_pools_can_alloc(const size_pools_t *sp, uintptr_t key, size_t size);

// Bytes not in live blocks: not carved yet, or on a free list.
size_t size_pools_free_bytes(const size_pools_t *sp);

#endif // MICROPY_INCLUDED_VIRT_SIZE_POOLS_H
