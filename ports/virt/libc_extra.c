// C library functions lwIP uses that MicroPython's minimal libc
// (shared/libc/string0.c) does not provide.
#include <stdlib.h>

int atoi(const char *s) {
    while (*s == ' ' || (*s >= '\t' && *s <= '\r')) {
        ++s;
    }
    int sign = 1;
    if (*s == '-' || *s == '+') {
        sign = *s++ == '-' ? -1 : 1;
    }
    int n = 0;
    while (*s >= '0' && *s <= '9') {
        n = n * 10 + (*s++ - '0');
    }
    return sign * n;
}
