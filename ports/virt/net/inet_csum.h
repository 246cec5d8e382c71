// The Internet checksum (RFC 1071) over frames the port handles itself:
// receive merging, and checksum offload with a tap backend.
#ifndef MICROPY_INCLUDED_VIRT_INET_CSUM_H
#define MICROPY_INCLUDED_VIRT_INET_CSUM_H

#include <stddef.h>
#include <stdint.h>

// sum plus the one's complement sum of len bytes read as big-endian 16-bit
// words (an odd last byte is the high half of a word); not yet folded.
uint32_t inet_csum_add(uint32_t sum, const uint8_t *p, size_t len);

// Folds a sum to 16 bits (the checksum field holds its complement).
uint16_t inet_csum_fold(uint32_t sum);

#endif // MICROPY_INCLUDED_VIRT_INET_CSUM_H
