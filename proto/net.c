/* TCP connect/listen and deadline-bounded frame I/O over TLS; see net.h. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sl_time.h"

int sl_addr_parse(const char *addr, char *host, size_t host_len, uint16_t *port)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	char *end;
	unsigned long p;

	if (!colon || (size_t)(colon - addr) >= host_len)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p > 65535)
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int sl_fd_wait(int fd, short events, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = sl_mono_ms();
		int rc;

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline_ms - now));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

static int resolve(const char *addr, int passive, struct addrinfo **res)
{
	char host[256], port_s[8];
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	uint16_t port;
	int rc = sl_addr_parse(addr, host, sizeof(host), &port);

	if (rc)
		return rc;
	if (passive)
		hints.ai_flags = AI_PASSIVE;
	snprintf(port_s, sizeof(port_s), "%u", port);
	rc = getaddrinfo(host[0] ? host : NULL, port_s, &hints, res);
	return rc ? -EHOSTUNREACH : 0;
}

int sl_tcp_connect(const char *addr, uint64_t deadline_ms)
{
	struct addrinfo *res, *ai;
	int rc = resolve(addr, 0, &res), fd = -1;

	if (rc)
		return rc;
	rc = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1, err = 0;
		socklen_t elen = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			rc = -errno;
			goto next;
		}
		rc = sl_fd_wait(fd, POLLOUT, deadline_ms);
		if (rc)
			goto next;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err) {
			rc = -err;
			goto next;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		return fd;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return rc;
}

int sl_tcp_listen(const char *addr, uint16_t *bound_port)
{
	struct addrinfo *res;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int rc = resolve(addr, 1, &res), fd, one = 1;

	if (rc)
		return rc;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	*bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						     : ((struct sockaddr_in *)&ss)->sin_port);
	rc = fd;
out:
	freeaddrinfo(res);
	return rc;
}

/* Frames up to this size go out as one TLS record, header included. */
#define SL_FRAME_COALESCE (16u << 10)

int sl_frame_send(struct sl_conn *c, uint16_t type, uint64_t req_id, const void *payload,
		  size_t len, uint64_t deadline_ms)
{
	uint8_t buf[SL_FRAME_HDR_LEN + SL_FRAME_COALESCE];
	struct sl_frame_hdr h = { .type = type, .length = (uint32_t)len, .req_id = req_id };
	int rc;

	if (len > SL_FRAME_MAX)
		return -EMSGSIZE;
	sl_frame_hdr_encode(&h, buf);
	/* One write for header and payload: two would be two records and two
	 * segments, and a small request would wait on the second. */
	if (len <= SL_FRAME_COALESCE) {
		if (len)
			memcpy(buf + SL_FRAME_HDR_LEN, payload, len);
		return sl_conn_write_full(c, buf, SL_FRAME_HDR_LEN + len, deadline_ms);
	}
	rc = sl_conn_write_full(c, buf, SL_FRAME_HDR_LEN, deadline_ms);
	return rc ? rc : sl_conn_write_full(c, payload, len, deadline_ms);
}

int sl_frame_recv(struct sl_conn *c, struct sl_frame_hdr *h, uint8_t **payload, size_t max_len,
		  uint64_t deadline_ms)
{
	uint8_t hdr[SL_FRAME_HDR_LEN];
	uint8_t *buf = NULL;
	int rc;

	*payload = NULL;
	rc = sl_conn_read_full(c, hdr, sizeof(hdr), deadline_ms);
	if (rc)
		return rc;
	rc = sl_frame_hdr_decode(hdr, sizeof(hdr), max_len, h);
	if (rc)
		return rc;
	if (h->length) {
		buf = malloc(h->length);
		if (!buf)
			return -ENOMEM;
		rc = sl_conn_read_full(c, buf, h->length, deadline_ms);
		if (rc) {
			free(buf);
			return rc;
		}
	}
	*payload = buf;
	return 0;
}
