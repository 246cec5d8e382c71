// lwIP's pools sized at boot from RAM, and the TCP connection limit.
#ifndef MICROPY_INCLUDED_VIRT_LWIP_MEMORY_H
#define MICROPY_INCLUDED_VIRT_LWIP_MEMORY_H

#include <stddef.h>
#include <stdint.h>

// What lwIP's pools and heap get of a guest with ram_size bytes of RAM.
size_t virt_lwip_memory_size_for(size_t ram_size);
// Before lwip_init: the region [base, base + size) holds the heap and the
// pools; the pools' size sets the TCP connection limit.
void virt_lwip_memory_init(void *base, size_t size);

typedef struct _virt_lwip_memory_stats_t {
    size_t size, in_use, peak; // bytes of the pools' region
    size_t failed;             // allocations refused for want of memory
    size_t tcp, tcp_max;       // TCP PCBs live, and the limit
    size_t tcp_refused;        // PCBs refused at the limit
    size_t syn_refused;        // connection requests answered with RST
    size_t bad_frees;          // frees of pointers that were not live blocks
    size_t tcp_block;          // bytes a TCP PCB's block holds
    size_t listen_block;       // and a listening PCB's: as many (lwip_memory.c)
} virt_lwip_memory_stats_t;

void virt_lwip_memory_stats(virt_lwip_memory_stats_t *stats);

#endif // MICROPY_INCLUDED_VIRT_LWIP_MEMORY_H
