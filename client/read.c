/*
 * Governed reads. A reader holds a grant from sluice-meta (the object's
 * shards, their replicas and a read capability) and renews it before it
 * expires. A read registers the caller's buffer, asks a data server per
 * shard piece to RMA-write the bytes straight into it, and fails over to the
 * next replica when a server is down, slow or refuses.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capability.h"
#include "plan.h"
#include "session_int.h"
#include "sl_time.h"

#define SL_READ_BATCH 32
#define SL_PIECE_MAX (1u << 20)

struct sluice_reader {
	sluice_session *s;
	char *ns, *name;
	Sluice__ObjectPlan *plan;
	uint64_t renew_at_ms; /* monotonic */
};

struct piece {
	uint32_t shard;
	uint32_t offset;
	uint32_t length;
	uint8_t *dst;
	struct sl_fabric_mr *mr; /* the registration dst lies in */
	uint32_t tried; /* bit i: replica i of the shard was tried */
	int passes;     /* rounds over every replica: a second one rides out blips */
	int done;
	int err;
};

static int grant(sluice_reader *r)
{
	sluice_session *s = r->s;
	Sluice__GrantReq req = SLUICE__GRANT_REQ__INIT;
	Sluice__ObjectPlan *plan = NULL;
	char why[160];
	int rc;

	req.ns = r->ns;
	req.name = r->name;
	req.purpose = s->purpose;
	/* The capability is bound to this session's data-plane endpoint. */
	rc = sl_sess_fabric(s);
	if (rc)
		return rc;
	req.fabric_addr = (ProtobufCBinaryData){ s->fab.addr_len, s->fab.addr };
	rc = sl_sess_call(s, SL_RPC_GRANT, &req.base, &sluice__object_plan__descriptor,
			  (ProtobufCMessage **)&plan);
	if (rc)
		return rc;
	/* Everything below divides by the shard size and indexes by the plan. */
	rc = sl_plan_check(plan, SL_PLAN_READ, why, sizeof(why));
	if (rc) {
		sluice__object_plan__free_unpacked(plan, NULL);
		return sl_sess_fail(s, rc, "malformed grant from sluice-meta: %s", why);
	}
	/* Servers' addresses are resolved at each post, through the session's
	 * cache, so that a connection dropped after a failure is made anew. */
	rc = plan->n_shards ? sl_sess_fabric(s) : 0;
	if (rc) {
		sluice__object_plan__free_unpacked(plan, NULL);
		return rc;
	}
	if (r->plan)
		sluice__object_plan__free_unpacked(r->plan, NULL);
	r->plan = plan;
	/* Renew at 80% of the lifetime, measured on our own clock. */
	{
		uint64_t now = sl_now_ms();
		uint64_t life = plan->expires_ms > now ? plan->expires_ms - now : 0;

		r->renew_at_ms = sl_mono_ms() + life * 4 / 5;
	}
	return 0;
}

int sluice_reader_open(sluice_session *s, const char *ns, const char *name, sluice_reader **out)
{
	sluice_reader *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	s->error[0] = '\0';
	if (!r)
		return sl_sess_fail(s, -ENOMEM, "out of memory");
	r->s = s;
	r->ns = strdup(ns ? ns : "");
	r->name = strdup(name ? name : "");
	rc = r->ns && r->name ? grant(r) : -ENOMEM;
	if (rc) {
		sluice_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

uint64_t sluice_reader_size(const sluice_reader *r)
{
	return r->plan->object->size;
}

void sluice_reader_close(sluice_reader *r)
{
	if (!r)
		return;
	if (r->plan)
		sluice__object_plan__free_unpacked(r->plan, NULL);
	free(r->ns);
	free(r->name);
	free(r);
}

/*
 * The next replica of a shard to try, as an index into sh->servers: first
 * the untried servers sluice-meta says are up and that have not failed this
 * session lately, then the other untried ones, each in placement order
 * rotated by start (so that the pieces of one shard spread over its
 * replicas). -1 when every replica was tried.
 */
struct blocked {
	uint32_t ids[32];
	int n;
};

static int is_blocked(const struct blocked *b, uint32_t id)
{
	for (int i = 0; i < b->n; i++)
		if (b->ids[i] == id)
			return 1;
	return 0;
}

static int replica_for(const sluice_session *s, const Sluice__ObjectPlan *plan,
		       const Sluice__Shard *sh, uint32_t tried, const struct blocked *b,
		       uint32_t start)
{
	size_t n = sh->n_servers < 32 ? sh->n_servers : 32;

	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < n; k++) {
			size_t i = (k + start) % n;
			int at = sl_plan_server(plan, sh->servers[i]);
			int good = at >= 0 && plan->servers[at]->up &&
				   !sl_server_suspect(s, sh->servers[i]);

			if (at >= 0 && !(tried & (1u << i)) && good == (pass == 0) &&
			    !is_blocked(b, sh->servers[i]))
				return (int)i;
		}
	return -1;
}

/* The fabric address of a plan's server, resolved through the session's cache. */
static int resolve(sluice_session *s, const Sluice__DataServer *srv, fi_addr_t *dest)
{
	return sl_fabric_av_insert(&s->fab, srv->fabric_addr.data, srv->fabric_addr.len, dest);
}

/* Marks server id suspect and drops its connection, which may be stale. */
static void server_failed(sluice_session *s, const Sluice__ObjectPlan *plan, uint32_t id)
{
	int at = sl_plan_server(plan, id);

	sl_server_failed(s, id);
	if (at >= 0)
		sl_fabric_forget(&s->fab, plan->servers[at]->fabric_addr.data,
				 plan->servers[at]->fabric_addr.len);
}

/* Posts and waits for one batch of pieces; failed pieces move to the next replica. */
static int read_batch(sluice_reader *r, struct piece *p, size_t n)
{
	sluice_session *s = r->s;
	const Sluice__ObjectPlan *plan = r->plan;
	struct sl_xfer *xs[SL_READ_BATCH];
	struct piece *owner[SL_READ_BATCH];
	uint32_t server[SL_READ_BATCH];
	/* Servers that would not even take a post during this call. */
	struct blocked blocked = { .n = 0 };

	for (;;) {
		size_t nx = 0, pending = 0;

		for (size_t i = 0; i < n; i++) {
			Sluice__ShardReadReq req = SLUICE__SHARD_READ_REQ__INIT;
			const Sluice__Shard *sh = plan->shards[p[i].shard];
			struct sl_xfer *x;
			fi_addr_t dest;
			int rep, at;

			if (p[i].done)
				continue;
			pending++;
			rep = replica_for(s, plan, sh, p[i].tried, &blocked, p[i].offset / SL_PIECE_MAX);
			if (rep < 0 && ++p[i].passes < 2) {
				p[i].tried = 0;
				rep = replica_for(s, plan, sh, 0, &blocked, p[i].offset / SL_PIECE_MAX);
			}
			at = rep < 0 ? -1 : sl_plan_server(plan, sh->servers[rep]);
			if (at < 0)
				return sl_sess_fail(s, p[i].err ? p[i].err : -EHOSTUNREACH,
						    "no replica of shard %u could be read: %s",
						    p[i].shard, strerror(-(p[i].err ? p[i].err
										    : EHOSTUNREACH)));
			x = sl_xfer_get(s);
			if (!x)
				break; /* the pool is busy: this round takes what it holds */
			req.capability = plan->server_caps[at];
			req.object_id = plan->object->id;
			req.index = p[i].shard;
			req.offset = p[i].offset;
			req.length = p[i].length;
			req.buf_addr = sl_fabric_mr_raddr(&s->fab, p[i].mr, p[i].dst);
			req.buf_key = p[i].mr->key;
			req.reply_addr = (ProtobufCBinaryData){ s->fab.addr_len, s->fab.addr };
			x->asked = p[i].length;
			if (sl_xfer_frame(s, x, SL_RPC_SHARD_READ, &req.base)) {
				x->state = SL_XFER_FREE;
				return sl_sess_fail(s, -EMSGSIZE, "read request too large");
			}
			p[i].tried |= 1u << rep;
			owner[nx] = &p[i];
			server[nx] = plan->servers[at]->id;
			xs[nx++] = x;
			/* A peer that does not take a post is not asked again in this call. */
			if (resolve(s, plan->servers[at], &dest) || sl_xfer_post(s, x, dest)) {
				sl_server_failed(s, server[nx - 1]);
				if (blocked.n < 32)
					blocked.ids[blocked.n++] = server[nx - 1];
			}
		}
		if (pending == 0)
			return 0;
		if (nx == 0)
			return sl_sess_fail(s, -EBUSY, "too many data-server requests stalled");
		/* One wait per round: a dead peer costs one timeout, not one per piece. */
		sl_xfer_wait(s, xs, nx, sl_mono_ms() + s->timeout_ms);
		for (size_t i = 0; i < nx; i++) {
			/* The replica must hold the shard the catalog committed, and
			 * have written every byte asked for. */
			if (xs[i]->result == 0 &&
			    (xs[i]->crc32c != plan->shards[owner[i]->shard]->crc32c ||
			     xs[i]->length != owner[i]->length))
				xs[i]->result = -EBADMSG;
			if (xs[i]->result == 0) {
				owner[i]->done = 1;
				continue;
			}
			owner[i]->err = xs[i]->result;
			/* A refusal is about the capability; anything else about the server,
			 * whose connection may be stale (it restarted): reconnect next time. */
			if (xs[i]->result != -EACCES)
				server_failed(s, plan, server[i]);
		}
	}
}

int sluice_reader_preadv(sluice_reader *r, struct sluice_iov *iov, size_t n)
{
	sluice_session *s = r->s;
	struct sl_fabric_mr *mrs = NULL;
	struct piece p[SL_READ_BATCH];
	uint64_t size;
	size_t np = 0, registered = 0;
	int rc = 0;

	s->error[0] = '\0';
	for (size_t i = 0; i < n; i++)
		iov[i].got = 0;
	if (sl_mono_ms() >= r->renew_at_ms) {
		rc = grant(r);
		if (rc)
			return rc;
	}
	size = r->plan->object->size;
	mrs = calloc(n + 1, sizeof(*mrs));
	if (!mrs)
		return sl_sess_fail(s, -ENOMEM, "out of memory");
	/* Every range is cut at shard boundaries into pieces; up to
	 * SL_READ_BATCH pieces, from any ranges, are in flight together. */
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t off = iov[i].off, end, pos;

		if (off >= size || iov[i].len == 0)
			continue;
		end = iov[i].len > size - off ? size : off + iov[i].len;
		rc = sl_fabric_mr_reg(&s->fab, iov[i].buf, (size_t)(end - off),
				      FI_REMOTE_WRITE | FI_RECV, &mrs[i]);
		if (rc) {
			sl_sess_fail(s, rc, "cannot register a read buffer");
			break;
		}
		registered = i + 1;
		for (pos = off; pos < end && !rc;) {
			uint32_t ss = r->plan->object->shard_size;
			uint32_t shard = (uint32_t)(pos / ss), in = (uint32_t)(pos % ss);
			uint64_t take = ss - in < end - pos ? ss - in : end - pos;

			/* Pieces of at most 1 MiB: more of them in flight, over every replica. */
			if (take > SL_PIECE_MAX)
				take = SL_PIECE_MAX;
			p[np++] = (struct piece){ shard, in, (uint32_t)take,
						  (uint8_t *)iov[i].buf + (pos - off), &mrs[i],
						  0, 0, 0, 0 };
			pos += take;
			if (np == SL_READ_BATCH) {
				rc = read_batch(r, p, np);
				np = 0;
			}
		}
		iov[i].got = (size_t)(end - off);
	}
	if (!rc && np)
		rc = read_batch(r, p, np);
	for (size_t i = 0; i < registered; i++)
		sl_fabric_mr_close(&mrs[i]);
	free(mrs);
	if (rc)
		for (size_t i = 0; i < n; i++)
			iov[i].got = 0;
	return rc;
}

int sluice_reader_pread(sluice_reader *r, void *buf, size_t len, uint64_t off, size_t *got)
{
	struct sluice_iov one = { buf, len, off, 0 };
	int rc = sluice_reader_preadv(r, &one, 1);

	*got = one.got;
	return rc;
}

int sluice_read(sluice_session *s, const char *ns, const char *name, uint64_t off, void *buf,
		size_t len, size_t *got)
{
	sluice_reader *r;
	int rc = sluice_reader_open(s, ns, name, &r);

	*got = 0;
	if (rc)
		return rc;
	rc = sluice_reader_pread(r, buf, len, off, got);
	sluice_reader_close(r);
	return rc;
}

int sluice_get_fd(sluice_session *s, const char *ns, const char *name, int fd,
		  sluice_progress_fn progress, void *arg)
{
	sluice_reader *r;
	EVP_MD_CTX *sha = NULL;
	uint8_t *chunk = NULL, digest[32];
	unsigned dlen = 32;
	size_t chunk_len;
	uint64_t size, off = 0;
	int rc = sluice_reader_open(s, ns, name, &r);

	if (rc)
		return rc;
	size = sluice_reader_size(r);
	chunk_len = (size_t)r->plan->object->shard_size * 8;
	if (chunk_len > size)
		chunk_len = size ? (size_t)size : 1;
	chunk = malloc(chunk_len);
	sha = EVP_MD_CTX_new();
	if (!chunk || !sha || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL)) {
		rc = sl_sess_fail(s, -ENOMEM, "out of memory");
		goto out;
	}
	while (off < size) {
		size_t got = 0, w = 0;

		rc = sluice_reader_pread(r, chunk, chunk_len, off, &got);
		if (rc)
			goto out;
		EVP_DigestUpdate(sha, chunk, got);
		while (w < got) {
			ssize_t n = write(fd, chunk + w, got - w);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = sl_sess_fail(s, -errno, "writing the output failed: %s",
						  strerror(errno));
				goto out;
			}
			w += (size_t)n;
		}
		off += got;
		if (progress)
			progress(arg, off, size);
	}
	EVP_DigestFinal_ex(sha, digest, &dlen);
	/* End to end: what we wrote is what was ingested. */
	if (r->plan->object->sha256.len != 32 ||
	    memcmp(digest, r->plan->object->sha256.data, 32) != 0)
		rc = sl_sess_fail(s, -EBADMSG, "SHA-256 of %s/%s does not match its catalog entry",
				  ns, name);
out:
	EVP_MD_CTX_free(sha);
	free(chunk);
	sluice_reader_close(r);
	return rc;
}
