/*
 * TCP plumbing for the control plane: connect and listen on "host:port",
 * and move whole frames with a deadline so that no call ever hangs.
 * Deadlines are absolute sl_mono_ms() values.
 */
#ifndef SL_NET_H
#define SL_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "frame.h"

/* Splits "host:port" (host may be empty for any address). 0 or -EINVAL. */
int sl_addr_parse(const char *addr, char *host, size_t host_len, uint16_t *port);

/* Returns a connected, blocking socket or -errno (-ETIMEDOUT past the deadline). */
int sl_tcp_connect(const char *addr, uint64_t deadline_ms);

/* Returns a listening socket bound to addr; *bound_port gets the real port. */
int sl_tcp_listen(const char *addr, uint16_t *bound_port);

int sl_io_write_full(int fd, const void *buf, size_t len, uint64_t deadline_ms);
/* Writes every byte of iov (which it consumes) with as few sendmsg calls as it can. */
int sl_io_writev_full(int fd, struct iovec *iov, int iovcnt, uint64_t deadline_ms);
int sl_io_read_full(int fd, void *buf, size_t len, uint64_t deadline_ms);

/* Sends header + payload in one writev. */
int sl_frame_send(int fd, uint16_t type, uint64_t req_id, const void *payload, size_t len,
		  uint64_t deadline_ms);

/*
 * Receives one frame. The header is validated (sl_frame_hdr_decode) before
 * the payload is allocated; *payload is malloc'd (free it), NULL when empty.
 * -ECONNRESET when the peer closed cleanly before a header.
 */
int sl_frame_recv(int fd, struct sl_frame_hdr *h, uint8_t **payload, uint64_t deadline_ms);

#endif
