// Host unit test of ports/virt/heap_areas.c, the allocator of GC heap areas.
// Built with ASan and UBSan by tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_areas.h"
#include "check.h"

#define MiB (1024 * 1024)
#define BASE ((uintptr_t)0x40800000)

static heap_areas_t ha;

// The extents handed out are aligned, inside the range and disjoint.
static void check_invariants(void) {
    for (size_t i = 0; i < ha.count; ++i) {
        CHECK(ha.used[i].start % HEAP_AREAS_ALIGN == 0);
        CHECK(ha.used[i].end % HEAP_AREAS_ALIGN == 0);
        CHECK(ha.start <= ha.used[i].start && ha.used[i].start < ha.used[i].end && ha.used[i].end <= ha.end);
        if (i > 0) {
            CHECK(ha.used[i - 1].end <= ha.used[i].start);
        }
    }
}

static void test_init_aligns(void) {
    heap_areas_init(&ha, BASE + 3, BASE + 64 * MiB + 7, 16 * MiB + 5);
    CHECK_EQ_U(ha.start, BASE + 16);
    CHECK_EQ_U(ha.end, BASE + 64 * MiB);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 16 * MiB); // capped, aligned down
    heap_areas_init(&ha, BASE + 100, BASE + 50, 16 * MiB); // empty range
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 0);
    CHECK(heap_areas_alloc(&ha, 16) == NULL);
}

static void test_first_fit_and_reuse(void) {
    heap_areas_init(&ha, BASE, BASE + 64 * MiB, 32 * MiB);
    uint8_t *a = heap_areas_alloc(&ha, 1 * MiB);
    uint8_t *b = heap_areas_alloc(&ha, 2 * MiB + 1); // rounded up to 16
    uint8_t *c = heap_areas_alloc(&ha, 4 * MiB);
    CHECK((uintptr_t)a == BASE);
    CHECK(b == a + 1 * MiB);
    CHECK(c == b + 2 * MiB + 16);
    check_invariants();
    heap_areas_free(&ha, b);
    // The hole is reused by what fits in it; larger requests go above c.
    CHECK(heap_areas_alloc(&ha, 3 * MiB) == c + 4 * MiB);
    CHECK(heap_areas_alloc(&ha, 2 * MiB) == b);
    check_invariants();
}

static void test_max_alloc_is_grantable(void) {
    heap_areas_init(&ha, BASE, BASE + 64 * MiB, 48 * MiB);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 48 * MiB);
    uint8_t *a = heap_areas_alloc(&ha, 10 * MiB);
    uint8_t *b = heap_areas_alloc(&ha, 10 * MiB);
    CHECK(a != NULL && b != NULL);
    heap_areas_free(&ha, a);
    // Gaps now: 10 MiB at the start, 44 MiB at the end.
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 44 * MiB);
    CHECK(heap_areas_alloc(&ha, 44 * MiB + 1) == NULL);
    CHECK(heap_areas_alloc(&ha, heap_areas_max_alloc(&ha)) == b + 10 * MiB);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 10 * MiB);
    CHECK(heap_areas_alloc(&ha, 49 * MiB) == NULL); // above the cap
    CHECK(heap_areas_alloc(&ha, 0) == NULL);
    check_invariants();
}

static void test_free_merges_and_ignores_strangers(void) {
    heap_areas_init(&ha, BASE, BASE + 8 * MiB, 8 * MiB);
    void *p[4];
    for (int i = 0; i < 4; ++i) {
        p[i] = heap_areas_alloc(&ha, 2 * MiB);
        CHECK(p[i] != NULL);
    }
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 0);
    heap_areas_free(&ha, (uint8_t *)p[1] + 16); // not an extent's start
    heap_areas_free(&ha, (void *)(BASE + 64 * MiB));
    CHECK_EQ_U(ha.count, 4);
    heap_areas_free(&ha, p[1]);
    heap_areas_free(&ha, p[2]);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 4 * MiB); // neighbours' gaps join
    heap_areas_free(&ha, p[0]);
    heap_areas_free(&ha, p[3]);
    CHECK_EQ_U(ha.count, 0);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 8 * MiB);
}

static void test_table_full(void) {
    heap_areas_init(&ha, BASE, BASE + 64 * MiB, 64 * MiB);
    for (int i = 0; i < HEAP_AREAS_MAX; ++i) {
        CHECK(heap_areas_alloc(&ha, 4096) != NULL);
    }
    CHECK(heap_areas_alloc(&ha, 4096) == NULL);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 0); // so gc.c does not ask
    heap_areas_free(&ha, (void *)BASE);
    CHECK_EQ_U(heap_areas_max_alloc(&ha), 64 * MiB - HEAP_AREAS_MAX * 4096);
    CHECK(heap_areas_alloc(&ha, 4096) == (void *)BASE);
}

// Random allocations and frees against a shadow map of the range.
static void test_random(void) {
    enum { UNIT = 64 * 1024, UNITS = 1024 };
    static uint8_t owner[UNITS]; // 0 free, else 1 + slot
    void *slot[HEAP_AREAS_MAX] = { 0 };
    memset(owner, 0, sizeof(owner));
    heap_areas_init(&ha, BASE, BASE + (uintptr_t)UNITS * UNIT, 256 * UNIT);
    rnd_seed(2026);
    for (int step = 0; step < 20000; ++step) {
        int s = rnd() % HEAP_AREAS_MAX;
        if (slot[s] != NULL) {
            size_t first = ((uintptr_t)slot[s] - BASE) / UNIT;
            for (size_t u = first; u < UNITS && owner[u] == 1 + s; ++u) {
                owner[u] = 0;
            }
            heap_areas_free(&ha, slot[s]);
            slot[s] = NULL;
            continue;
        }
        size_t max = heap_areas_max_alloc(&ha);
        size_t units = 1 + rnd() % 300;
        void *p = heap_areas_alloc(&ha, units * UNIT);
        CHECK((p != NULL) == (units * UNIT <= max));
        if (p == NULL) {
            continue;
        }
        size_t first = ((uintptr_t)p - BASE) / UNIT;
        CHECK(first + units <= UNITS);
        for (size_t u = first; u < first + units && u < UNITS; ++u) {
            CHECK(owner[u] == 0);
            owner[u] = 1 + s;
        }
        slot[s] = p;
        check_invariants();
    }
}

static const test_case_t cases[] = {
    { "init_aligns", test_init_aligns },
    { "first_fit_and_reuse", test_first_fit_and_reuse },
    { "max_alloc_is_grantable", test_max_alloc_is_grantable },
    { "free_merges_and_ignores_strangers", test_free_merges_and_ignores_strangers },
    { "table_full", test_table_full },
    { "random", test_random },
};

int main(int argc, char **argv) {
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
