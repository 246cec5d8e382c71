// lwIP's memory at run time. Its memp pools (PCBs, segments, receive pbufs,
// timeouts; MEMP_MEM_MALLOC) come from a region taken from RAM at boot:
// memp.c is built to call virt_lwip_pool_alloc/free for mem_malloc/mem_free
// (the Makefile), so lwIP's own heap (MEM_SIZE, for PBUF_RAM) is left as it
// is. The TCP PCB pool has a limit, the connection limit. Past it lwIP drops
// a SYN to a listening socket and the peer waits through its SYN retries;
// here it gets an RST at once, like a closed port.
#include "lwip/ip.h"
#include "lwip/mem.h"
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"

#include "lwip_memory.h"
#include "size_pools.h"

// The pools get 1/16 of RAM (8 MiB of 128 MiB); lwIP's static pools were
// about 2 MB in all. One TCP connection per 64 KiB of RAM: 2048 at -m 128M,
// 1024 at -m 64M, about 4 KiB of the region each.
#define LWIP_MEMORY_RAM_SHARE (16)
#define LWIP_MEMORY_MIN (512 * 1024)
#define LWIP_MEMORY_MAX (256 * 1024 * 1024)
#define LWIP_MEMORY_RAM_PER_TCP (64 * 1024)
#define LWIP_MEMORY_TCP_MIN (16)

static size_pools_t lwip_pools;
static size_pool_t *lwip_tcp_pool;
static size_t lwip_tcp_request; // bytes memp.c asks for a struct tcp_pcb
static size_t lwip_syn_refused;

size_t virt_lwip_memory_size_for(size_t ram_size) {
    size_t size = ram_size / LWIP_MEMORY_RAM_SHARE;
    size = size < LWIP_MEMORY_MIN ? LWIP_MEMORY_MIN : size > LWIP_MEMORY_MAX ? LWIP_MEMORY_MAX : size;
    return size & ~(size_t)(SIZE_POOLS_ALIGN - 1);
}

void virt_lwip_memory_init(void *base, size_t size, size_t ram_size) {
    size_pools_init(&lwip_pools, base, size);
    lwip_tcp_request = MEMP_SIZE + MEMP_ALIGN_SIZE(memp_pools[MEMP_TCP_PCB]->size);
    lwip_tcp_pool = size_pools_find(&lwip_pools, lwip_tcp_request, true);
    size_t tcp_max = ram_size / LWIP_MEMORY_RAM_PER_TCP;
    lwip_tcp_pool->limit = tcp_max < LWIP_MEMORY_TCP_MIN ? LWIP_MEMORY_TCP_MIN : tcp_max;
    // The limit counts the blocks of that size: no other pool may share it.
    for (int i = 0; i < MEMP_MAX; ++i) {
        size_t request = MEMP_SIZE + MEMP_ALIGN_SIZE(memp_pools[i]->size);
        if (i != MEMP_TCP_PCB && size_pools_find(&lwip_pools, request, false) == lwip_tcp_pool) {
            LWIP_ASSERT("a memp pool shares the TCP PCBs' size", 0);
        }
    }
}

// memp.c's mem_malloc and mem_free.
void *virt_lwip_pool_alloc(mem_size_t size) {
    return size_pools_alloc(&lwip_pools, size);
}

void virt_lwip_pool_free(void *ptr) {
    if (!size_pools_free(&lwip_pools, ptr)) {
        LWIP_ASSERT("memp_free of a block not from the pools", 0);
    }
}

// LWIP_HOOK_TCP_INPACKET_PCB for a listening pcb (lwipopts.h). A SYN that
// would find no PCB is refused, unless a TIME_WAIT PCB is there for tcp_alloc
// to take.
err_t virt_lwip_tcp_listen_hook(struct tcp_pcb *lpcb, const struct tcp_hdr *hdr, const struct pbuf *p) {
    if ((TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN
        || size_pools_can_alloc(&lwip_pools, lwip_tcp_request)
        || tcp_tw_pcbs != NULL) {
        return ERR_OK;
    }
    lwip_syn_refused++;
    // As tcp_listen_input answers an ACK to a listening pcb; the SYN counts one.
    tcp_rst(lpcb, 0, hdr->seqno + p->tot_len + 1, ip_current_dest_addr(), ip_current_src_addr(),
        hdr->dest, hdr->src);
    return ERR_ABRT;
}

void virt_lwip_memory_stats(virt_lwip_memory_stats_t *stats) {
    stats->size = lwip_pools.end - lwip_pools.start;
    stats->in_use = lwip_pools.in_use;
    stats->peak = lwip_pools.peak;
    stats->failed = lwip_pools.failed;
    stats->tcp = lwip_tcp_pool ? lwip_tcp_pool->live : 0;
    stats->tcp_max = lwip_tcp_pool ? lwip_tcp_pool->limit : 0;
    stats->tcp_refused = lwip_tcp_pool ? lwip_tcp_pool->refused : 0;
    stats->syn_refused = lwip_syn_refused;
}

