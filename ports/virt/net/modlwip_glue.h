// Included first into MicroPython's extmod/modlwip.c only (the Makefile).
// modlwip (1.25) handles a listening pcb as a full struct tcp_pcb in two
// places, and lwIP's struct tcp_pcb_listen is smaller (96 of 256 bytes on
// 64-bit):
// - closing it, tcp_recv(pcb, NULL) and tcp_err(pcb, NULL): lwIP asserts,
//   then writes both fields anyway, past the listening pcb's end (the
//   segments of other connections; lwip_memory.c also gives listening pcbs
//   blocks of full size);
// - setsockopt(IPPROTO_TCP, TCP_NODELAY, ...): tcp_set_flags and
//   tcp_clear_flags write the flags field, which in a listening pcb is part
//   of its accept callback; the next connection jumped to a bent pointer.
// Here those calls leave listening pcbs alone: TCP_NODELAY on a listener is
// ignored (accepted sockets take their own), and a listener's recv and err
// callbacks, which it never had, stay unset.
#ifndef MICROPY_INCLUDED_VIRT_MODLWIP_GLUE_H
#define MICROPY_INCLUDED_VIRT_MODLWIP_GLUE_H

#include "lwip/tcp.h"

static inline void virt_tcp_recv(struct tcp_pcb *pcb, tcp_recv_fn recv) {
    if (pcb != NULL && pcb->state != LISTEN) {
        tcp_recv(pcb, recv);
    }
}

static inline void virt_tcp_err(struct tcp_pcb *pcb, tcp_err_fn err) {
    if (pcb != NULL && pcb->state != LISTEN) {
        tcp_err(pcb, err);
    }
}

#define tcp_recv(pcb, recv) virt_tcp_recv((pcb), (recv))
#define tcp_err(pcb, err) virt_tcp_err((pcb), (err))

#undef tcp_set_flags
#undef tcp_clear_flags
#define tcp_set_flags(pcb, set_flags) do { \
        if ((pcb)->state != LISTEN) { \
            (pcb)->flags = (tcpflags_t)((pcb)->flags | (set_flags)); \
        } \
} while (0)
#define tcp_clear_flags(pcb, clr_flags) do { \
        if ((pcb)->state != LISTEN) { \
            (pcb)->flags = (tcpflags_t)((pcb)->flags & (tcpflags_t)(~(clr_flags) & TCP_ALLFLAGS)); \
        } \
} while (0)

#endif // MICROPY_INCLUDED_VIRT_MODLWIP_GLUE_H
