// Minimal checks for the host unit tests: a failed CHECK prints where and
// why, and the test case's exit status says it failed.
#ifndef VIRT_HOST_TEST_CHECK_H
#define VIRT_HOST_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Weak, so that a test program of several files (a test and the fake it
// links) shares one count.
__attribute__((weak)) int check_failures;

// Counts a failure (already printed); gives up after 20.
static inline void check_failed(void) {
    if (++check_failures > 20) {
        fprintf(stderr, "too many failures\n");
        exit(1);
    }
}

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failed(); \
        } \
    } while (0)

#define CHECK_EQ_U(a, b) \
    do { \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
        if (a_ != b_) { \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (0x%llx != 0x%llx)\n", __FILE__, __LINE__, #a, #b, a_, b_); \
            check_failed(); \
        } \
    } while (0)

// Case table: each test program runs the cases named on its command line
// (all of them without arguments) and lists them with --list.
typedef struct {
    const char *name;
    void (*fn)(void);
} test_case_t;

static inline int run_cases(const test_case_t *cases, size_t n, int argc, char **argv) {
    if (argc == 2 && argv[1][0] == '-' && argv[1][1] == '-') {
        for (size_t i = 0; i < n; ++i) {
            printf("%s\n", cases[i].name);
        }
        return 0;
    }
    int failed = 0;
    for (size_t i = 0; i < n; ++i) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; ++a) {
            wanted |= !strcmp(argv[a], cases[i].name);
        }
        if (!wanted) {
            continue;
        }
        check_failures = 0;
        cases[i].fn();
        printf("%s %s\n", check_failures ? "FAIL" : "ok", cases[i].name);
        fflush(stdout);
        failed |= check_failures != 0;
    }
    return failed;
}

// A repeatable xorshift32 for the randomised cases.
static uint32_t check_rng_state = 12345;

static inline void rnd_seed(uint32_t seed) {
    check_rng_state = seed;
}

static inline uint32_t rnd(void) {
    uint32_t x = check_rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return check_rng_state = x;
}

#endif // VIRT_HOST_TEST_CHECK_H
