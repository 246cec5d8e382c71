// Host unit test of ports/virt/net/size_pools.c, the allocator behind
// lwIP's memp pools. Built with ASan and UBSan by tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size_pools.h"
#include "check.h"

#define REGION (64 * 1024)

static size_pools_t sp;
static uint8_t *region;

static void fresh(size_t size) {
    free(region);
    region = malloc(size + SIZE_POOLS_ALIGN);
    size_pools_init(&sp, region, size);
}

static void test_init_aligns(void) {
    fresh(REGION);
    size_pools_init(&sp, region + 3, 1000);
    CHECK(sp.start % SIZE_POOLS_ALIGN == 0 && sp.start >= (uintptr_t)region + 3);
    CHECK(sp.end % SIZE_POOLS_ALIGN == 0 && sp.end <= (uintptr_t)region + 1003);
    CHECK_EQ_U(size_pools_free_bytes(&sp), sp.end - sp.start);
    size_pools_init(&sp, region + 1, 5); // nothing left once aligned
    CHECK_EQ_U(sp.end, sp.start);
    CHECK(size_pools_alloc(&sp, 8, 8) == NULL);
    CHECK(!size_pools_can_alloc(&sp, 8, 8));
    CHECK_EQ_U(sp.failed, 1);
}

// Blocks are aligned, disjoint, reused from their size's free list first.
static void test_carve_and_reuse(void) {
    fresh(REGION);
    uint8_t *a = size_pools_alloc(&sp, 100, 100), *b = size_pools_alloc(&sp, 100, 100), *c = size_pools_alloc(&sp, 13, 13);
    CHECK(a != NULL && b != NULL && c != NULL);
    CHECK((uintptr_t)a % SIZE_POOLS_ALIGN == 0 && (uintptr_t)c % SIZE_POOLS_ALIGN == 0);
    CHECK(b >= a + 104 && c >= b + 104);
    memset(a, 0xaa, 100);
    memset(b, 0xbb, 100);
    memset(c, 0xcc, 13);
    CHECK_EQ_U(sp.in_use, 2 * (SIZE_POOLS_HEADER + 104) + SIZE_POOLS_HEADER + 16);
    size_pool_t *p100 = size_pools_find(&sp, 100, 100, false);
    CHECK(p100 != NULL && p100->size == 104 && p100->live == 2);
    CHECK(size_pools_find(&sp, 100, 104, false) == p100); // the same rounded size
    CHECK(size_pools_find(&sp, 100, 200, false) == NULL); // a key keeps its size
    CHECK(size_pools_find(&sp, 200, 200, false) == NULL);
    CHECK(size_pools_get(&sp, 100) == p100); // by key alone
    CHECK(size_pools_get(&sp, 200) == NULL);
    CHECK(size_pools_free(&sp, a));
    // Another pool of the same size does not get a's block; its own pool does.
    uint8_t *other = size_pools_alloc(&sp, 7, 100);
    CHECK(other != NULL && other != a && other != b);
    CHECK(size_pools_alloc(&sp, 100, 100) == a);
    CHECK(size_pools_free(&sp, other));
    CHECK(size_pools_free(&sp, a));
    CHECK(size_pools_free(&sp, b));
    CHECK(size_pools_free(&sp, c));
    CHECK_EQ_U(sp.in_use, 0);
    CHECK_EQ_U(size_pools_free_bytes(&sp), sp.end - sp.start);
    CHECK_EQ_U(sp.peak, 3 * (SIZE_POOLS_HEADER + 104) + SIZE_POOLS_HEADER + 16);
    CHECK(size_pools_alloc(&sp, 0, 0) != NULL); // a size 0 request still gets a block
}

static void test_limit(void) {
    fresh(REGION);
    size_pool_t *pool = size_pools_find(&sp, 200, 200, true);
    pool->limit = 3;
    void *x[3];
    for (int i = 0; i < 3; ++i) {
        x[i] = size_pools_alloc(&sp, 200, 200);
        CHECK(x[i] != NULL);
    }
    CHECK(!size_pools_can_alloc(&sp, 200, 200));
    CHECK(size_pools_alloc(&sp, 200, 200) == NULL);
    CHECK_EQ_U(pool->refused, 1);
    CHECK_EQ_U(sp.failed, 0); // refused by the limit, not for memory
    CHECK(size_pools_alloc(&sp, 100, 100) != NULL); // other sizes unaffected
    CHECK(size_pools_free(&sp, x[1]));
    CHECK(size_pools_can_alloc(&sp, 200, 200));
    CHECK(size_pools_alloc(&sp, 200, 200) == x[1]);
}

// Once the region is all carved, a pool gets only its own freed blocks:
// another pool's, larger or not, are never handed out across (lwIP's arrays
// never did; a block reused by another pool crashed an RV64 run).
static void test_carved_blocks_stay_with_their_pool(void) {
    fresh(1024);
    void *big[4];
    for (int i = 0; i < 4; ++i) {
        big[i] = size_pools_alloc(&sp, 200, 200);
        CHECK(big[i] != NULL);
    }
    while (size_pools_alloc(&sp, 16, 16) != NULL) {
    }
    CHECK(size_pools_free(&sp, big[2]));
    CHECK(!size_pools_can_alloc(&sp, 40, 40));
    CHECK(size_pools_alloc(&sp, 40, 40) == NULL); // the free 200-byte block is not for it
    CHECK(!size_pools_can_alloc(&sp, 7, 200));
    CHECK(size_pools_alloc(&sp, 7, 200) == NULL); // nor for another pool of its size
    CHECK(size_pools_can_alloc(&sp, 200, 200));
    CHECK(size_pools_alloc(&sp, 200, 200) == big[2]);
    size_pool_t *p200 = size_pools_find(&sp, 200, 200, false);
    CHECK_EQ_U(p200->live, 4);
    CHECK_EQ_U(p200->free_count, 0);
    CHECK(sp.failed >= 3);
}

static void test_bad_frees(void) {
    fresh(REGION);
    uint8_t *a = size_pools_alloc(&sp, 48, 48);
    memset(a, 0, 48);
    uint8_t outside[16];
    CHECK(!size_pools_free(&sp, outside));
    CHECK(!size_pools_free(&sp, a + 8)); // inside a block
    CHECK(!size_pools_free(&sp, a + 1));
    CHECK(!size_pools_free(&sp, (uint8_t *)sp.next + 64)); // not carved yet
    CHECK(!size_pools_free(&sp, (void *)sp.start));
    CHECK(size_pools_free(&sp, a));
    CHECK(!size_pools_free(&sp, a)); // twice
    CHECK_EQ_U(sp.bad_frees, 6);
    CHECK_EQ_U(sp.in_use, 0);
    CHECK(size_pools_alloc(&sp, 48, 48) == a);
    CHECK(size_pools_alloc(&sp, 48, 48) != a);
}

// Against a model: every live block keeps its contents, none overlap, and
// the byte count matches.
#define SLOTS 200
static void test_random(void) {
    static const size_t sizes[] = { 16, 24, 40, 100, 196, 232, 1560, 1600, 3000 };
    fresh(48 * 1024);
    uint8_t *slot[SLOTS] = { 0 };
    size_t len[SLOTS] = { 0 };
    rnd_seed(99);
    for (int step = 0; step < 60000; ++step) {
        int s = rnd() % SLOTS;
        if (slot[s] != NULL) {
            for (size_t i = 0; i < len[s]; ++i) {
                if (slot[s][i] != (uint8_t)(s + i)) {
                    CHECK(slot[s][i] == (uint8_t)(s + i));
                    break;
                }
            }
            CHECK(size_pools_free(&sp, slot[s]));
            slot[s] = NULL;
            continue;
        }
        size_t n = sizes[rnd() % (sizeof(sizes) / sizeof(sizes[0]))];
        bool could = size_pools_can_alloc(&sp, n, n);
        uint8_t *p = size_pools_alloc(&sp, n, n);
        CHECK(could == (p != NULL));
        if (p == NULL) {
            continue;
        }
        CHECK((uintptr_t)p % SIZE_POOLS_ALIGN == 0);
        CHECK((uintptr_t)p >= sp.start + SIZE_POOLS_HEADER && (uintptr_t)p + n <= sp.next);
        for (size_t i = 0; i < n; ++i) {
            p[i] = (uint8_t)(s + i);
        }
        slot[s] = p;
        len[s] = n;
    }
    size_t live = 0;
    for (int s = 0; s < SLOTS; ++s) {
        if (slot[s] != NULL) {
            CHECK(size_pools_free(&sp, slot[s]));
            live++;
        }
    }
    CHECK(live > 0);
    CHECK_EQ_U(sp.in_use, 0);
    CHECK_EQ_U(sp.bad_frees, 0);
    CHECK(sp.failed > 0); // the region was too small at times
    for (int i = 0; i < SIZE_POOLS_MAX; ++i) {
        CHECK_EQ_U(sp.pool[i].live, 0);
    }
}

static const test_case_t cases[] = {
    { "init_aligns", test_init_aligns },
    { "carve_and_reuse", test_carve_and_reuse },
    { "limit", test_limit },
    { "carved_blocks_stay_with_their_pool", test_carved_blocks_stay_with_their_pool },
    { "bad_frees", test_bad_frees },
    { "random", test_random },
};

int main(int argc, char **argv) {
    int r = run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
    free(region);
    return r;
}
