/*
 * TCP plumbing for the control plane: connect and listen on "host:port",
 * and move whole frames over a TLS connection (tls.h) with a deadline so
 * that no call ever hangs. Deadlines are absolute sl_mono_ms() values.
 * Sockets are non-blocking; every wait is a poll() bounded by the deadline.
 */
#ifndef SL_NET_H
#define SL_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "frame.h"
#include "tls.h"

/* Splits "host:port" (host may be empty for any address). 0 or -EINVAL. */
int sl_addr_parse(const char *addr, char *host, size_t host_len, uint16_t *port);

/* Returns a connected, non-blocking socket or -errno (-ETIMEDOUT past the deadline). */
int sl_tcp_connect(const char *addr, uint64_t deadline_ms);

/* Returns a listening socket bound to addr; *bound_port gets the real port. */
int sl_tcp_listen(const char *addr, uint16_t *bound_port);

/* Waits until fd is ready for events (POLLIN, POLLOUT). 0, -ETIMEDOUT or -errno. */
int sl_fd_wait(int fd, short events, uint64_t deadline_ms);

/* Sends header + payload as one TLS write (two when the payload is large). */
int sl_frame_send(struct sl_conn *c, uint16_t type, uint64_t req_id, const void *payload,
		  size_t len, uint64_t deadline_ms);

/*
 * Receives one frame. The header is validated (sl_frame_hdr_decode) against
 * max_len before the payload is allocated; *payload is malloc'd (free it),
 * NULL when empty. -ECONNRESET when the peer closed cleanly before a header.
 */
int sl_frame_recv(struct sl_conn *c, struct sl_frame_hdr *h, uint8_t **payload, size_t max_len,
		  uint64_t deadline_ms);

#endif
