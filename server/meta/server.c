/*
 * sluice-meta's network side: TLS 1.3 connections, a thread each, reading
 * frames, checking each request's signature, dispatching it through typed
 * wrappers generated from SL_META_RPCS, and writing one Reply frame back.
 *
 * Nobody without credentials may hold the server. A connection starts
 * unauthenticated: it has SL_META_AUTH_MS for the TLS handshake and a first
 * frame of at most SL_FRAME_FIRST_MAX bytes that must be a correctly signed
 * request. One source (an IPv4 address, an IPv6 /64) holds at most
 * SL_META_UNAUTH_PER_SOURCE such connections, all sources together
 * SL_META_MAX_UNAUTH; a newcomer over its source's share replaces that
 * source's oldest, and when the table is full the oldest of the source
 * holding the most gives way, so a flood from one place only ever evicts
 * itself. Only then may
 * frames reach SL_FRAME_MAX, and the connection stays bound to that
 * principal, within per-principal, per-tenant and total caps. An unknown
 * type, a failed authentication or a malformed frame ends the connection
 * (after the uniform refusal, where there is one to give).
 *
 * Why threads still: every connection is bounded in number and time before
 * it authenticates, and after it by caps on what one principal or tenant may
 * hold, so the thread count is bounded (1088 small-stacked threads at most);
 * handlers block on RocksDB and synced writes, which an event loop would have
 * to hand to a pool anyway.
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
#include "pbcheck.h"
#include "sl_log.h"
#include "sl_time.h"

/* An idle connection is closed after this; clients reconnect on their next call. */
#define SL_META_IDLE_MS (120u * 1000u)
#define SL_META_IO_MS 10000u
#define SL_META_N_SLOTS (SL_META_MAX_CONNS + SL_META_MAX_UNAUTH)

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

static int send_reply(struct sl_conn *conn, uint16_t type, uint64_t id, const struct sl_reply *r)
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
	rc = sl_frame_send(conn, type | SL_RPC_REPLY, id, buf, len, sl_mono_ms() + SL_META_IO_MS);
	free(buf);
	return rc;
}

/*
 * Binds the connection in `slot` to the caller of its first authenticated
 * request, within the caps; later requests must come from the same caller.
 * 0, -EACCES (another caller: reported as an authentication failure),
 * -EUSERS (a cap is reached) or -ECONNABORTED (evicted meanwhile).
 */
static int conn_bind(struct sl_meta *m, int slot, const struct sl_caller *caller,
		     struct sl_reply *r)
{
	struct sl_meta_conn *sc = &m->conns[slot];
	uint64_t principal = caller->p ? caller->p->id : 0;
	uint64_t tenant = caller->p ? caller->p->tenant_id : 0;
	int rc = 0, same_principal = 0, same_tenant = 0;

	pthread_mutex_lock(&m->conns_lock);
	if (sc->state == SL_CONN_AUTHED) {
		if (sc->is_server != caller->is_server || sc->principal != principal) {
			SL_WARN("auth: a connection of one principal sent a request as another");
			rc = sl_fail(r, -EACCES, "authentication failed");
		}
		goto out;
	}
	if (sc->state != SL_CONN_UNAUTH) {
		rc = -ECONNABORTED;
		goto out;
	}
	for (int i = 0; i < SL_META_N_SLOTS; i++) {
		const struct sl_meta_conn *o = &m->conns[i];

		if (o->state != SL_CONN_AUTHED || o->is_server != caller->is_server)
			continue;
		same_principal += o->principal == principal;
		same_tenant += o->tenant == tenant;
	}
	if (m->n_authed >= SL_META_MAX_CONNS) {
		rc = sl_fail(r, -EUSERS, "the metadata server is at its connection limit (%d)",
			     SL_META_MAX_CONNS);
	} else if (caller->is_server ? same_principal >= SL_META_CONNS_SERVERS
				     : same_principal >= SL_META_CONNS_PER_PRINCIPAL) {
		rc = sl_fail(r, -EUSERS, "too many connections for this principal (at most %d)",
			     caller->is_server ? SL_META_CONNS_SERVERS : SL_META_CONNS_PER_PRINCIPAL);
	} else if (!caller->is_server && same_tenant >= SL_META_CONNS_PER_TENANT) {
		rc = sl_fail(r, -EUSERS, "too many connections for this tenant (at most %d)",
			     SL_META_CONNS_PER_TENANT);
	}
	if (rc) {
		SL_WARN("refusing a connection of %s: %s",
			caller->is_server ? "a data server" : caller->p->name, r->msg);
		goto out;
	}
	sc->state = SL_CONN_AUTHED;
	sc->is_server = caller->is_server;
	sc->principal = principal;
	sc->tenant = tenant;
	m->n_unauth--;
	m->n_authed++;
out:
	pthread_mutex_unlock(&m->conns_lock);
	return rc;
}

/* Handles one request frame; a non-zero return closes the connection. */
static int handle_frame(struct sl_meta *m, int slot, struct sl_conn *conn,
			const struct sl_frame_hdr *h, const uint8_t *payload, int *authed)
{
	const struct sl_meta_rpc *e = sl_meta_rpc_find(h->type);
	struct sl_reply r = { 0 };
	struct sl_caller caller = { 0 };
	Sluice__Signed *env = NULL;
	ProtobufCMessage *req = NULL;
	int rc, hang_up = 0;

	if (!e) {
		SL_DEBUG("unknown request type %u: closing", h->type);
		/* A stranger learns nothing; a principal learns why. */
		if (!*authed)
			return -EPROTO;
		sl_fail(&r, -EOPNOTSUPP, "unknown request type %u", h->type);
		hang_up = 1;
		goto reply;
	}
	rc = sl_auth_verify(m, h->type, h->req_id, payload, h->length, &caller, &env);
	if (rc == -EBUSY) {
		/* Signed correctly, but its principal's replay window is full. */
		sl_fail(&r, -EBUSY, "too many requests: retry later");
		goto reply;
	}
	if (rc) {
		sl_fail(&r, -EACCES, "authentication failed");
		hang_up = 1;
		goto reply;
	}
	rc = conn_bind(m, slot, &caller, &r);
	if (rc == -ECONNABORTED)
		goto out;
	if (rc) {
		hang_up = 1;
		goto reply;
	}
	*authed = 1;
	/* A NUL inside a string would hand the handler a shorter one than was sent. */
	rc = sl_pb_strings_check(e->req, env->body.data, env->body.len);
	if (rc == -EINVAL) {
		sl_fail(&r, -EINVAL, "bad %s request: a text field holds a NUL byte", e->name);
		goto reply;
	}
	req = rc ? NULL : protobuf_c_message_unpack(e->req, NULL, env->body.len, env->body.data);
	if (!req) {
		sl_fail(&r, -EPROTO, "malformed %s request", e->name);
		goto reply;
	}
	e->call(m, &caller, req, &r);
	SL_DEBUG("%s -> %d %s", e->name, r.err, r.msg);
reply:
	rc = send_reply(conn, h->type, h->req_id, &r);
	if (!rc && hang_up)
		rc = -ECONNABORTED;
out:
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

static void serve_conn(struct sl_meta *m, int slot, struct sl_conn *conn)
{
	uint64_t auth_deadline = m->conns[slot].since_ms + SL_META_AUTH_MS;
	int rc = sl_conn_accept(conn, m->tls, m->conns[slot].fd, auth_deadline), authed = 0;

	if (rc) {
		SL_DEBUG("TLS handshake failed: %s", strerror(-rc));
		return;
	}
	while (!m->stopping) {
		struct sl_frame_hdr h;
		uint8_t *payload = NULL;

		rc = sl_frame_recv(conn, &h, &payload, authed ? SL_FRAME_MAX : SL_FRAME_FIRST_MAX,
				   authed ? sl_mono_ms() + SL_META_IDLE_MS : auth_deadline);
		if (rc) {
			if (rc == -EPROTONOSUPPORT) {
				/* Say why before hanging up: the header layout is stable. */
				struct sl_reply r = { 0 };

				sl_fail(&r, rc, "unsupported protocol version (this server speaks %d)",
					SL_FRAME_VERSION);
				send_reply(conn, h.type, h.req_id, &r);
			}
			if (rc != -ECONNRESET && !m->stopping)
				SL_DEBUG("connection closed: %s", strerror(-rc));
			return;
		}
		rc = handle_frame(m, slot, conn, &h, payload, &authed);
		free(payload);
		if (rc)
			return;
	}
}

static void *conn_main(void *arg)
{
	struct conn_arg *a = arg;
	struct sl_meta *m = a->m;
	int slot = a->slot;
	struct sl_meta_conn *sc = &m->conns[slot];
	struct sl_conn conn = SL_CONN_INIT;

	free(a);
	serve_conn(m, slot, &conn);
	sl_conn_release(&conn);
	pthread_mutex_lock(&m->conns_lock);
	if (sc->state == SL_CONN_UNAUTH)
		m->n_unauth--;
	else if (sc->state == SL_CONN_AUTHED)
		m->n_authed--;
	sc->state = SL_CONN_DONE;
	/* The peer learns now; the descriptor is closed when the thread is reaped. */
	shutdown(sc->fd, SHUT_RDWR);
	pthread_mutex_unlock(&m->conns_lock);
	return NULL;
}

/* The part of a peer's address its unauthenticated connections are counted by. */
static void source_of(const struct sockaddr_storage *sa, uint8_t out[8])
{
	memset(out, 0, 8);
	if (sa->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			memcpy(out, a->s6_addr + 12, 4);
		else
			memcpy(out, a->s6_addr, 8); /* a /64: one site's worth */
		out[7] |= 1; /* never equal to an IPv4 source */
	}
}

static void hang_up(struct sl_meta *m, struct sl_meta_conn *sc)
{
	shutdown(sc->fd, SHUT_RDWR);
	sc->state = SL_CONN_DONE;
	m->n_unauth--;
}

/*
 * Reaps every finished connection thread, makes room among unauthenticated
 * connections for one from source and returns a free slot, or -1: the
 * source's own oldest gives way when it holds its share, otherwise the
 * oldest of the source holding the most when all are taken. Called with
 * conns_lock held.
 */
static int find_slot(struct sl_meta *m, const uint8_t source[8])
{
	struct sl_meta_conn *unauth[SL_META_MAX_UNAUTH], *own_oldest = NULL, *victim = NULL;
	int free_slot = -1, n = 0, own = 0, most = 0;

	for (int i = 0; i < SL_META_N_SLOTS; i++) {
		struct sl_meta_conn *sc = &m->conns[i];

		if (sc->state == SL_CONN_DONE && pthread_tryjoin_np(sc->thread, NULL) == 0) {
			close(sc->fd);
			sc->fd = -1;
			sc->state = SL_CONN_FREE;
		}
		if (sc->state == SL_CONN_FREE && free_slot < 0)
			free_slot = i;
		if (sc->state == SL_CONN_UNAUTH && n < SL_META_MAX_UNAUTH)
			unauth[n++] = sc;
	}
	for (int i = 0; i < n; i++) {
		int same = 0;
		struct sl_meta_conn *oldest = unauth[i];

		for (int j = 0; j < n; j++)
			if (memcmp(unauth[j]->source, unauth[i]->source, 8) == 0) {
				same++;
				if (unauth[j]->since_ms < oldest->since_ms)
					oldest = unauth[j];
			}
		if (memcmp(unauth[i]->source, source, 8) == 0) {
			own = same;
			own_oldest = oldest;
		}
		if (same > most) {
			most = same;
			victim = oldest;
		}
	}
	if (own >= SL_META_UNAUTH_PER_SOURCE)
		victim = own_oldest;
	else if (m->n_unauth < SL_META_MAX_UNAUTH)
		victim = NULL;
	if (victim) {
		SL_DEBUG("hanging up on an unauthenticated connection to make room");
		hang_up(m, victim);
	}
	return free_slot;
}

int sl_meta_serve(struct sl_meta *m)
{
	pthread_attr_t attr;

	/* Handlers and RocksDB keep little on the stack; a thousand threads then
	 * reserve 512 MiB of address space instead of 8 GiB. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512u << 10);
	for (int i = 0; i < SL_META_N_SLOTS; i++)
		m->conns[i] = (struct sl_meta_conn){ .fd = -1, .state = SL_CONN_FREE };
	while (!m->stopping) {
		struct pollfd pfd = { .fd = m->listen_fd, .events = POLLIN };
		struct sockaddr_storage peer = { 0 };
		socklen_t peer_len = sizeof(peer);
		uint8_t source[8];
		struct conn_arg *a;
		int fd, slot;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		fd = accept4(m->listen_fd, (struct sockaddr *)&peer, &peer_len,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		source_of(&peer, source);
		pthread_mutex_lock(&m->conns_lock);
		slot = find_slot(m, source);
		a = slot >= 0 ? malloc(sizeof(*a)) : NULL;
		if (!a) {
			pthread_mutex_unlock(&m->conns_lock);
			SL_WARN("refusing a connection: too many open");
			close(fd);
			continue;
		}
		*a = (struct conn_arg){ m, slot };
		m->conns[slot] = (struct sl_meta_conn){ .fd = fd, .state = SL_CONN_UNAUTH,
							.since_ms = sl_mono_ms() };
		memcpy(m->conns[slot].source, source, sizeof(source));
		if (pthread_create(&m->conns[slot].thread, &attr, conn_main, a)) {
			m->conns[slot] = (struct sl_meta_conn){ .fd = -1, .state = SL_CONN_FREE };
			close(fd);
			free(a);
		} else {
			m->n_unauth++;
		}
		pthread_mutex_unlock(&m->conns_lock);
	}
	pthread_attr_destroy(&attr);
	/* Wake every connection thread, then wait for it. */
	pthread_mutex_lock(&m->conns_lock);
	for (int i = 0; i < SL_META_N_SLOTS; i++)
		if (m->conns[i].state != SL_CONN_FREE)
			shutdown(m->conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&m->conns_lock);
	for (int i = 0; i < SL_META_N_SLOTS; i++)
		if (m->conns[i].state != SL_CONN_FREE) {
			pthread_join(m->conns[i].thread, NULL);
			close(m->conns[i].fd);
			m->conns[i] = (struct sl_meta_conn){ .fd = -1, .state = SL_CONN_FREE };
		}
	return 0;
}
