/*
 * sluice-meta's network side: a thread per client connection reading frames,
 * checking each request's signature, dispatching it through typed wrappers
 * generated from SL_META_RPCS, and writing one Reply frame back. A connection that
 * sends a malformed frame is closed; an idle one is closed after a while.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meta.h"
#include "net.h"
#include "sl_log.h"
#include "sl_time.h"

/* An idle connection is closed after this; clients reconnect on their next call. */
#define SL_META_IDLE_MS (120u * 1000u)
#define SL_META_IO_MS 10000u

/* A typed wrapper per RPC: the handler is called with its own signature. */
#define SL_META_WRAP(name, lc, num, req_t, resp_t, req_lc, resp_lc)                                \
	static int call_##lc(struct sl_meta *m, const struct sl_caller *c,                        \
			     const ProtobufCMessage *req, struct sl_reply *r)                      \
	{                                                                                          \
		return sl_h_##lc(m, c, (const req_t *)req, r);                                     \
	}
SL_META_RPCS(SL_META_WRAP)
#undef SL_META_WRAP

const struct sl_meta_rpc *sl_meta_rpc_find(uint16_t type)
{
	switch (type) {
#define SL_META_DISPATCH(name, lc, num, req_t, resp_t, req_lc, resp_lc)                            \
	case num: {                                                                                \
		static const struct sl_meta_rpc e = { #name, &sluice__##req_lc##__descriptor,      \
						      call_##lc };                                 \
		return &e;                                                                         \
	}
		SL_META_RPCS(SL_META_DISPATCH)
#undef SL_META_DISPATCH
	}
	return NULL;
}

static int send_reply(int fd, uint16_t type, uint64_t id, const struct sl_reply *r)
{
	Sluice__Reply rep = SLUICE__REPLY__INIT;
	uint8_t *buf;
	size_t len;
	int rc;

	rep.err = r->err;
	rep.msg = (char *)r->msg;
	if (!r->err)
		rep.body = (ProtobufCBinaryData){ r->body_len, r->body };
	len = sluice__reply__get_packed_size(&rep);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	sluice__reply__pack(&rep, buf);
	rc = sl_frame_send(fd, type | SL_RPC_REPLY, id, buf, len, sl_mono_ms() + SL_META_IO_MS);
	free(buf);
	return rc;
}

/* Handles one request frame; a non-zero return closes the connection. */
static int handle_frame(struct sl_meta *m, int fd, const struct sl_frame_hdr *h,
			const uint8_t *payload)
{
	const struct sl_meta_rpc *e = sl_meta_rpc_find(h->type);
	struct sl_reply r = { 0 };
	struct sl_caller caller = { 0 };
	Sluice__Signed *env = NULL;
	ProtobufCMessage *req = NULL;
	int rc;

	if (!e) {
		sl_fail(&r, -EOPNOTSUPP, "unknown request type %u", h->type);
		goto reply;
	}
	rc = sl_auth_verify(m, h->type, h->req_id, payload, h->length, &caller, &env);
	if (rc) {
		if (rc == -EBUSY)
			sl_fail(&r, -EBUSY, "too many requests: retry later");
		else
			sl_fail(&r, -EACCES, "authentication failed");
		goto reply;
	}
	req = protobuf_c_message_unpack(e->req, NULL, env->body.len, env->body.data);
	if (!req) {
		sl_fail(&r, -EPROTO, "malformed %s request", e->name);
		goto reply;
	}
	e->call(m, &caller, req, &r);
	SL_DEBUG("%s -> %d %s", e->name, r.err, r.msg);
reply:
	rc = send_reply(fd, h->type, h->req_id, &r);
	free(r.body);
	if (req)
		protobuf_c_message_free_unpacked(req, NULL);
	if (env)
		sluice__signed__free_unpacked(env, NULL);
	if (caller.p && env)
		sluice__principal__free_unpacked(caller.p, NULL);
	return rc;
}

struct conn_arg {
	struct sl_meta *m;
	int slot;
};

static void *conn_main(void *arg)
{
	struct conn_arg *a = arg;
	struct sl_meta *m = a->m;
	int fd = m->conn_fds[a->slot];

	free(a);
	while (!m->stopping) {
		struct sl_frame_hdr h;
		uint8_t *payload = NULL;
		int rc = sl_frame_recv(fd, &h, &payload, sl_mono_ms() + SL_META_IDLE_MS);

		if (rc) {
			if (rc == -EPROTONOSUPPORT) {
				/* Say why before hanging up: the header layout is stable. */
				struct sl_reply r = { 0 };

				sl_fail(&r, rc, "unsupported protocol version (this server speaks %d)",
					SL_FRAME_VERSION);
				send_reply(fd, h.type, h.req_id, &r);
			}
			if (rc != -ECONNRESET && !m->stopping)
				SL_DEBUG("connection closed: %s", strerror(-rc));
			break;
		}
		rc = handle_frame(m, fd, &h, payload);
		free(payload);
		if (rc)
			break;
	}
	/* The peer learns now; the descriptor is closed when the thread is reaped. */
	shutdown(fd, SHUT_RDWR);
	return NULL;
}

/* Reaps every finished connection thread and returns a free slot, or -1.
 * Called with conns_lock held. */
static int find_slot(struct sl_meta *m)
{
	int free_slot = -1;

	for (int i = 0; i < SL_META_MAX_CONNS; i++) {
		if (m->conn_fds[i] >= 0 && pthread_tryjoin_np(m->conn_threads[i], NULL) == 0) {
			close(m->conn_fds[i]);
			m->conn_fds[i] = -1;
			m->n_conns_live--;
		}
		if (m->conn_fds[i] == -1 && free_slot < 0)
			free_slot = i;
	}
	return free_slot;
}

int sl_meta_serve(struct sl_meta *m)
{
	pthread_attr_t attr;

	/* Handlers and RocksDB keep little on the stack; 1024 threads then
	 * reserve 512 MiB of address space instead of 8 GiB. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512u << 10);
	for (int i = 0; i < SL_META_MAX_CONNS; i++)
		m->conn_fds[i] = -1;
	while (!m->stopping) {
		struct pollfd pfd = { .fd = m->listen_fd, .events = POLLIN };
		struct conn_arg *a;
		int fd, slot;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		pthread_mutex_lock(&m->conns_lock);
		slot = find_slot(m);
		a = slot >= 0 ? malloc(sizeof(*a)) : NULL;
		if (!a) {
			pthread_mutex_unlock(&m->conns_lock);
			SL_WARN("refusing a connection: too many open");
			close(fd);
			continue;
		}
		*a = (struct conn_arg){ m, slot };
		m->conn_fds[slot] = fd;
		if (pthread_create(&m->conn_threads[slot], &attr, conn_main, a)) {
			m->conn_fds[slot] = -1;
			close(fd);
			free(a);
		} else {
			m->n_conns_live++;
		}
		pthread_mutex_unlock(&m->conns_lock);
	}
	pthread_attr_destroy(&attr);
	/* Wake every connection thread, then wait for it. */
	pthread_mutex_lock(&m->conns_lock);
	for (int i = 0; i < SL_META_MAX_CONNS; i++)
		if (m->conn_fds[i] >= 0)
			shutdown(m->conn_fds[i], SHUT_RDWR);
	for (int i = 0; i < SL_META_MAX_CONNS; i++)
		if (m->conn_fds[i] >= 0) {
			pthread_join(m->conn_threads[i], NULL);
			close(m->conn_fds[i]);
			m->conn_fds[i] = -1;
		}
	pthread_mutex_unlock(&m->conns_lock);
	return 0;
}
