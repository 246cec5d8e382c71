// Extents of one address range handed out as GC heap areas, for
// MICROPY_GC_SPLIT_HEAP_AUTO: gc.c asks for an area when a collection did not
// free enough, and gives an area back once it holds nothing.
// No dependency on MicroPython: tests/host/heap_areas_test.c drives it.
#ifndef MICROPY_INCLUDED_VIRT_HEAP_AREAS_H
#define MICROPY_INCLUDED_VIRT_HEAP_AREAS_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_AREAS_ALIGN (16) // gc.c's block size
#define HEAP_AREAS_MAX (32)

typedef struct _heap_areas_t {
    uintptr_t start, end;   // the range areas come from
    size_t area_max;        // no area larger than this
    size_t count;
    struct {
        uintptr_t start, end;
    } used[HEAP_AREAS_MAX]; // sorted by address, disjoint
} heap_areas_t;

// The range is shrunk to HEAP_AREAS_ALIGN; nothing is handed out yet.
void heap_areas_init(heap_areas_t *ha, uintptr_t start, uintptr_t end, size_t area_max);

// Lowest free extent of `size` bytes (rounded up to HEAP_AREAS_ALIGN), or
// NULL if none is large enough, `size` is above area_max or the table is full.
void *heap_areas_alloc(heap_areas_t *ha, size_t size);

// Gives back an extent heap_areas_alloc returned; anything else is ignored.
void heap_areas_free(heap_areas_t *ha, void *ptr);

// The largest size heap_areas_alloc would grant now (a multiple of
// HEAP_AREAS_ALIGN, capped at area_max; 0 when the table is full).
size_t heap_areas_max_alloc(const heap_areas_t *ha);

#endif // MICROPY_INCLUDED_VIRT_HEAP_AREAS_H
