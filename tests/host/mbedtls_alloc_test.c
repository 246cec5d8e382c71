// Host unit test of ports/virt/mbedtls_alloc.c, mbedTLS's size-classed
// allocator, with the tracked GC allocations played by the host's calloc.
// Built with ASan and UBSan by tests/test_virtqueue_host.py.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls_alloc.h"
#include "check.h"

// The GC heap: host allocations, counted; fail_after makes one fail.
static long tracked_live;
static long tracked_calls;
static long fail_after = -1;

void *m_tracked_calloc(size_t nmemb, size_t size) {
    if (fail_after >= 0 && tracked_calls++ >= fail_after) {
        return NULL;
    }
    void *p = calloc(nmemb, size);
    if (p != NULL) {
        tracked_live++;
    }
    return p;
}

void m_tracked_free(void *ptr) {
    if (ptr != NULL) {
        tracked_live--;
        free(ptr);
    }
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

// Every size up to past the largest class: zeroed, 8-aligned, writable over
// its whole length (ASan and the next case's patterns check the bounds).
static void test_sizes_zeroed_aligned(void) {
    static uint8_t *blocks[1200];
    for (size_t n = 0; n < 1200; ++n) {
        blocks[n] = virt_mbedtls_calloc(1, n);
        CHECK(blocks[n] != NULL);
        CHECK_EQ_U((uintptr_t)blocks[n] % 8, 0);
        CHECK(all_zero(blocks[n], n));
        memset(blocks[n], 0xa5, n);
    }
    for (size_t n = 0; n < 1200; ++n) {
        virt_mbedtls_free(blocks[n]);
    }
    // Given back dirty, handed out again zeroed.
    for (size_t n = 0; n < 1200; n += 7) {
        uint8_t *p = virt_mbedtls_calloc(n, 1);
        CHECK(all_zero(p, n));
        virt_mbedtls_free(p);
    }
    CHECK_EQ_U(virt_mbedtls_alloc_live_blocks(), 0);
    virt_mbedtls_alloc_trim();
    CHECK_EQ_U(virt_mbedtls_alloc_chunk_bytes(), 0);
    CHECK_EQ_U(tracked_live, 0);
}

// Blocks of one class share chunks; empty chunks stay until trimmed; a
// chunk with a live block is never trimmed.
static void test_chunks_and_trim(void) {
    void *p[400];
    for (int i = 0; i < 400; ++i) {
        p[i] = virt_mbedtls_calloc(4, 8);
    }
    long chunks = tracked_live;
    CHECK(chunks > 1 && chunks < 20); // 400 blocks, a few chunks
    for (int i = 0; i < 400; ++i) {
        if (i != 123) {
            virt_mbedtls_free(p[i]);
        }
    }
    CHECK_EQ_U(tracked_live, chunks); // kept until the next collection
    virt_mbedtls_alloc_trim();
    CHECK_EQ_U(tracked_live, 1);      // the chunk with p[123]
    memset(p[123], 1, 32);
    // A take-and-give-back loop reuses that chunk.
    for (int i = 0; i < 1000; ++i) {
        virt_mbedtls_free(virt_mbedtls_calloc(1, 20));
    }
    CHECK_EQ_U(tracked_live, 1);
    virt_mbedtls_free(p[123]);
    virt_mbedtls_alloc_trim();
    CHECK_EQ_U(tracked_live, 0);
    CHECK_EQ_U(virt_mbedtls_alloc_chunk_bytes(), 0);
}

// Large blocks are tracked allocations of their own; failures give NULL
// and lose nothing; nmemb * size overflowing is refused.
static void test_large_failure_overflow(void) {
    uint8_t *big = virt_mbedtls_calloc(1, 16 * 1024);
    CHECK(big != NULL && all_zero(big, 16 * 1024));
    CHECK_EQ_U(tracked_live, 1);
    CHECK_EQ_U(virt_mbedtls_alloc_chunk_bytes(), 0);
    virt_mbedtls_free(big);
    CHECK_EQ_U(tracked_live, 0);
    CHECK(virt_mbedtls_calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK(virt_mbedtls_calloc(1, SIZE_MAX - 2) == NULL);
    tracked_calls = 0;
    fail_after = 0;
    CHECK(virt_mbedtls_calloc(1, 10) == NULL);
    CHECK(virt_mbedtls_calloc(1, 5000) == NULL);
    fail_after = -1;
    void *p = virt_mbedtls_calloc(1, 10);
    CHECK(p != NULL);
    virt_mbedtls_free(p);
    virt_mbedtls_free(NULL);
    virt_mbedtls_alloc_trim();
    CHECK_EQ_U(tracked_live, 0);
}

// Random sizes and orders against a model: each live block keeps its own
// pattern, so any two blocks that overlapped would be caught.
static void test_random(void) {
    enum { SLOTS = 512 };
    static uint8_t *ptr[SLOTS];
    static size_t len[SLOTS];
    uint32_t seed = 12345;
    for (int step = 0; step < 200000; ++step) {
        seed = seed * 1103515245 + 12345;
        int i = (seed >> 8) % SLOTS;
        if (ptr[i] != NULL) {
            for (size_t k = 0; k < len[i]; ++k) {
                if (ptr[i][k] != (uint8_t)(i + k)) {
                    CHECK(!"block overwritten");
                    break;
                }
            }
            virt_mbedtls_free(ptr[i]);
            ptr[i] = NULL;
        } else {
            seed = seed * 1103515245 + 12345;
            len[i] = (seed >> 16) % ((seed & 1) ? 1100 : 80);
            ptr[i] = virt_mbedtls_calloc(1, len[i]);
            CHECK(ptr[i] != NULL && all_zero(ptr[i], len[i]));
            for (size_t k = 0; k < len[i]; ++k) {
                ptr[i][k] = (uint8_t)(i + k);
            }
        }
        if (step % 50000 == 0) {
            virt_mbedtls_alloc_trim();
        }
    }
    for (int i = 0; i < SLOTS; ++i) {
        virt_mbedtls_free(ptr[i]);
    }
    CHECK_EQ_U(virt_mbedtls_alloc_live_blocks(), 0);
    virt_mbedtls_alloc_trim();
    CHECK_EQ_U(tracked_live, 0);
}

int main(int argc, char **argv) {
    static const test_case_t cases[] = {
        { "sizes_zeroed_aligned", test_sizes_zeroed_aligned },
        { "chunks_and_trim", test_chunks_and_trim },
        { "large_failure_overflow", test_large_failure_overflow },
        { "random", test_random },
    };
    return run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
