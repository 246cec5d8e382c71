// A new connection's SYN for a connection lwIP still holds in TIME_WAIT.
//
// A guest server that closes first keeps each connection in TIME_WAIT for
// 2 MSL. slirp gives the guest the host client's own source port, and Linux
// hands a client the same port again soon (the host side closed second, so
// holds nothing), so a new SYN can come for a 4-tuple in TIME_WAIT. lwIP
// 2.2.1 answers it with an ACK of the old connection, the peer answers
// that with an RST, which TIME_WAIT ignores (RFC 1337), and the SYN's
// retries meet the same until TIME_WAIT ends: connect() hung for up to two
// minutes, 1 connection in a few hundred (a host test client reading from
// a guest server). As Linux does (RFC 6191's rule without timestamps), a
// SYN beyond the old connection's last sequence number ends the TIME_WAIT,
// and lwIP then gives the SYN to the listening socket.
#ifndef MICROPY_INCLUDED_VIRT_TCP_TIME_WAIT_H
#define MICROPY_INCLUDED_VIRT_TCP_TIME_WAIT_H

#include <stddef.h>
#include <stdint.h>

// From LWIP_HOOK_IP4_INPUT/IP6_INPUT, lwIP locked, on an IP packet of len
// bytes before lwIP takes it: if it is a SYN (checksum good) for a TIME_WAIT
// connection and starts past its sequence numbers, that connection is freed.
void tcp_time_wait_check_syn(const uint8_t *ip, size_t len);
// How many TIME_WAIT connections a SYN ended so.
extern size_t tcp_time_wait_reopened;

#endif // MICROPY_INCLUDED_VIRT_TCP_TIME_WAIT_H
