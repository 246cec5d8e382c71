// GC heap areas carved from one range, first fit; see heap_areas.h.
#include <string.h>

#include "heap_areas.h"

#define ALIGN_DOWN(x) ((x) & ~(uintptr_t)(HEAP_AREAS_ALIGN - 1))

void heap_areas_init(heap_areas_t *ha, uintptr_t start, uintptr_t end, size_t area_max) {
    ha->start = ALIGN_DOWN(start + HEAP_AREAS_ALIGN - 1);
    ha->end = ALIGN_DOWN(end);
    if (ha->end < ha->start) {
        ha->end = ha->start;
    }
    ha->area_max = ALIGN_DOWN(area_max);
    ha->count = 0;
}

// Free extent i lies between used[i - 1] (or the range's start) and used[i]
// (or the range's end), for i in 0..count.
static uintptr_t gap_start(const heap_areas_t *ha, size_t i) {
    return i == 0 ? ha->start : ha->used[i - 1].end;
}

static uintptr_t gap_end(const heap_areas_t *ha, size_t i) {
    return i == ha->count ? ha->end : ha->used[i].start;
}

void *heap_areas_alloc(heap_areas_t *ha, size_t size) {
    if (size == 0 || size > ha->area_max || ha->count == HEAP_AREAS_MAX) {
        return NULL;
    }
    uintptr_t want = ALIGN_DOWN(size + HEAP_AREAS_ALIGN - 1);
    for (size_t i = 0; i <= ha->count; ++i) {
        uintptr_t start = gap_start(ha, i);
        if (gap_end(ha, i) - start >= want) {
            memmove(&ha->used[i + 1], &ha->used[i], (ha->count - i) * sizeof(ha->used[0]));
            ha->used[i].start = start;
            ha->used[i].end = start + want;
            ha->count++;
            return (void *)start;
        }
    }
    return NULL;
}

void heap_areas_free(heap_areas_t *ha, void *ptr) {
    for (size_t i = 0; i < ha->count; ++i) {
        if (ha->used[i].start == (uintptr_t)ptr) {
            ha->count--;
            memmove(&ha->used[i], &ha->used[i + 1], (ha->count - i) * sizeof(ha->used[0]));
            return;
        }
    }
}

size_t heap_areas_max_alloc(const heap_areas_t *ha) {
    if (ha->count == HEAP_AREAS_MAX) {
        return 0;
    }
    uintptr_t best = 0;
    for (size_t i = 0; i <= ha->count; ++i) {
        uintptr_t len = gap_end(ha, i) - gap_start(ha, i);
        if (len > best) {
            best = len;
        }
    }
    return best < ha->area_max ? best : ha->area_max;
}
