/*
 * Governed reads. A reader holds a grant from sluice-meta (the object's
 * shards, their replicas and a read capability) and renews it before it
 * expires. A read registers the caller's buffer, asks a data server per
 * shard piece to RMA-write the bytes straight into it, and fails over to the
 * next replica when a server is down, slow or refuses.
 *
 * What a replica serves is checked against the catalog, not against the
 * replica's word: when the plan holds a shard's root (proto/digest.h), the
 * reader fetches the shard's block-digest list once, checks that it hashes
 * to the root, reads whole 64 KiB blocks (into a bounce buffer when the
 * range asked for is not block-aligned) and checks each block against the
 * list before a byte reaches the caller. A replica that fails any check is
 * corrupt to us: the piece fails over, as on a CRC32C mismatch.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capability.h"
#include "plan.h"
#include "session_int.h"
#include "shard_verify.h"
#include "sl_time.h"

#define SL_READ_BATCH 32
#define SL_PIECE_MAX (1u << 20)
/* The longest block list: a shard of the largest size. */
#define SL_DIGEST_LIST_MAX (SL_PLAN_SHARD_SIZE_MAX / SL_SHARD_BLOCK * SL_DIGEST_LEN)
/*
 * Block lists a reader keeps: at least more than the shards of one batch, so
 * that a batch never evicts a list it is about to check against; as many as
 * the object has shards when they fit in SL_DIGEST_CACHE_BYTES (2 KiB a
 * list for 4 MiB shards: 1,024 lists, a 4 GiB object), so that random reads
 * over a large object do not fetch a list again for most reads.
 */
#define SL_DIGEST_CACHE_MIN (2 * SL_READ_BATCH)
#define SL_DIGEST_CACHE_BYTES (2u << 20)

/* One shard's block-digest list, checked against the shard's root. */
struct digest_list {
	uint32_t shard;
	uint32_t n_blocks;
	uint64_t used; /* the batch that last used it; 0: empty */
	uint8_t *list; /* list_stride bytes in list_mem */
};

struct sluice_reader {
	sluice_session *s;
	char *ns, *name;
	Sluice__ObjectPlan *plan;
	uint64_t renew_at_ms; /* monotonic */
	/* Shard digests, allocated on the first verified read. */
	struct digest_list *lists; /* n_lists of them */
	size_t n_lists;
	int lists_direct;          /* one per shard: shard i in lists[i] */
	uint8_t *list_mem;
	uint64_t batch;            /* batches read so far */
	uint8_t *fetch;            /* SL_READ_BATCH slots the lists are written into */
	struct sl_fabric_mr fetch_mr;
};

struct piece {
	uint32_t shard;
	uint32_t offset;
	uint32_t length;
	uint8_t *dst;
	struct sl_fabric_mr *mr; /* the registration dst lies in */
	/* What the data server is asked for: the piece itself; or, verified,
	 * the piece widened to whole blocks (in a bounce buffer unless that is
	 * the piece), or with `digests` the shard's block list. */
	uint32_t roff, rlen;
	uint8_t *rdst;
	struct sl_fabric_mr *rmr;
	const uint8_t *list; /* the block digests to check against; NULL: none */
	uint32_t n_blocks;
	int digests;
	uint32_t tried; /* bit i: replica i of the shard was tried */
	int passes;     /* rounds over every replica: a second one rides out blips */
	int done;
	int err;
};

static void lists_free(sluice_reader *r)
{
	free(r->lists);
	free(r->list_mem);
	r->lists = NULL;
	r->list_mem = NULL;
	r->n_lists = 0;
}

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
	/* Lists belong to one object: a name granted anew may be another one. */
	if (r->lists && r->plan && r->plan->object->id != plan->object->id)
		lists_free(r);
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

struct sluice_object *sluice_reader_object(const sluice_reader *r)
{
	return sl_object_from_pb(r->plan->object, NULL);
}

void sluice_reader_close(sluice_reader *r)
{
	if (!r)
		return;
	if (r->plan)
		sluice__object_plan__free_unpacked(r->plan, NULL);
	sl_fabric_mr_close(&r->fetch_mr);
	free(r->fetch);
	lists_free(r);
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

/*
 * Whether a replica's answer to piece p is what the catalog committed: every
 * byte asked for written, the shard's CRC32C, and, where the catalog holds
 * the shard's root, the list hashing to it or every block matching the list.
 * -EBADMSG when not.
 */
static int piece_check(const Sluice__ObjectPlan *plan, const struct piece *p,
		       const struct sl_xfer *x)
{
	const Sluice__Shard *sh = plan->shards[p->shard];

	if (x->length != p->rlen)
		return -EBADMSG;
	if (p->digests)
		return sl_digest_list_check(p->rdst, p->n_blocks, sh->sha256.data) ? -EBADMSG : 0;
	if (x->crc32c != sh->crc32c)
		return -EBADMSG;
	if (p->list && sl_blocks_check(p->rdst, p->rlen, p->roff / SL_SHARD_BLOCK, p->list,
				       p->n_blocks))
		return -EBADMSG;
	return 0;
}

/* Posts and waits for one batch of pieces; failed pieces move to the next replica. */
/* Whether every transfer of a round timed out (no server answered at all). */
static int all_silent(struct sl_xfer *const *xs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (xs[i]->result != -ETIMEDOUT)
			return 0;
	return n > 0;
}

static int read_batch(sluice_reader *r, struct piece *p, size_t n)
{
	sluice_session *s = r->s;
	const Sluice__ObjectPlan *plan = r->plan;
	int asked_again = 0;
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
			req.offset = p[i].roff;
			req.length = p[i].rlen;
			req.digests = p[i].digests;
			req.buf_addr = sl_fabric_mr_raddr(&s->fab, p[i].rmr, p[i].rdst);
			req.buf_key = p[i].rmr->key;
			req.reply_addr = (ProtobufCBinaryData){ s->fab.addr_len, s->fab.addr };
			x->asked = p[i].rlen;
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
		if (!asked_again && all_silent(xs, nx)) {
			/*
			 * Not one server answered: data servers answer a revoked
			 * capability with silence, so ask sluice-meta again before
			 * blaming them. A refusal is the answer; a new grant (new
			 * capabilities) gets the next round.
			 */
			uint64_t was = plan->object->id;
			int rc = grant(r);

			asked_again = 1;
			if (rc == -EACCES || rc == -EPERM || rc == -ENOENT)
				return rc;
			plan = r->plan;
			/* The pieces (and their digest lists) are of the object granted
			 * before; a name put again since is another object. */
			if (plan->object->id != was)
				return sl_sess_fail(s, -ESTALE, "the object was replaced while being read");
			if (rc == 0) {
				for (size_t i = 0; i < n; i++)
					p[i].tried = 0;
				continue;
			}
		}
		for (size_t i = 0; i < nx; i++) {
			if (xs[i]->result == 0)
				xs[i]->result = piece_check(plan, owner[i], xs[i]);
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

/* The cached list of a shard, marked used by this batch; NULL when not cached. */
static struct digest_list *list_find(sluice_reader *r, uint32_t shard)
{
	struct digest_list *l = NULL;

	if (r->lists_direct) {
		l = shard < r->n_lists && r->lists[shard].used ? &r->lists[shard] : NULL;
	} else {
		for (size_t i = 0; r->lists && i < r->n_lists && !l; i++)
			if (r->lists[i].used && r->lists[i].shard == shard)
				l = &r->lists[i];
	}
	if (l)
		l->used = r->batch;
	return l;
}

/*
 * Keeps a fetched list: in its shard's place, or in place of the one used
 * longest ago (never one of this batch: a batch has fewer shards than the
 * cache has entries). The copy is checked again: the fetch slot stays
 * registered, and only the copy is what later reads trust.
 */
static int list_put(sluice_reader *r, const struct piece *d)
{
	const Sluice__Shard *sh = r->plan->shards[d->shard];
	struct digest_list *l = &r->lists[r->lists_direct ? d->shard : 0];

	for (size_t i = 1; !r->lists_direct && i < r->n_lists; i++)
		if (r->lists[i].used < l->used)
			l = &r->lists[i];
	memcpy(l->list, d->rdst, d->rlen);
	if (sl_digest_list_check(l->list, d->n_blocks, sh->sha256.data)) {
		l->used = 0;
		return -EBADMSG;
	}
	l->shard = d->shard;
	l->n_blocks = d->n_blocks;
	l->used = r->batch;
	return 0;
}

/* The list cache, sized for the object of the plan. */
static int lists_alloc(sluice_reader *r)
{
	const Sluice__ObjectPlan *plan = r->plan;
	size_t stride = sl_shard_blocks(plan->object->shard_size) * SL_DIGEST_LEN;
	size_t n = SL_DIGEST_CACHE_BYTES / stride;

	if (n < SL_DIGEST_CACHE_MIN)
		n = SL_DIGEST_CACHE_MIN;
	r->lists_direct = plan->n_shards <= n;
	if (r->lists_direct)
		n = plan->n_shards;
	r->lists = calloc(n, sizeof(*r->lists));
	r->list_mem = malloc(n * stride);
	if (!r->lists || !r->list_mem) {
		lists_free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		r->lists[i].list = r->list_mem + i * stride;
	r->n_lists = n;
	return 0;
}

/* The cache and the registered slots lists are fetched into, on first use. */
static int lists_setup(sluice_reader *r)
{
	size_t len = (size_t)SL_READ_BATCH * SL_DIGEST_LIST_MAX;
	int rc;

	if (!r->lists && lists_alloc(r))
		return sl_sess_fail(r->s, -ENOMEM, "out of memory");
	if (r->fetch)
		return 0;
	if (posix_memalign((void **)&r->fetch, 4096, len)) {
		r->fetch = NULL;
		return sl_sess_fail(r->s, -ENOMEM, "out of memory");
	}
	rc = sl_fabric_mr_reg(&r->s->fab, r->fetch, len, FI_REMOTE_WRITE | FI_RECV, &r->fetch_mr);
	if (rc) {
		free(r->fetch);
		r->fetch = NULL;
		return sl_sess_fail(r->s, rc, "cannot register a digest buffer");
	}
	return 0;
}

/*
 * Reads a batch of pieces. Pieces of shards whose root the plan holds are
 * verified: first the block lists this batch lacks are fetched (each from
 * any replica, checked against the root), then each piece is widened to
 * whole blocks and checked block by block. A shard without a root comes
 * from a catalog older than shard digests: its pieces rest on the CRC32C
 * alone, as they did there.
 */
static int read_pieces(sluice_reader *r, struct piece *p, size_t n)
{
	const Sluice__ObjectPlan *plan = r->plan; /* read_batch may replace it: see below */
	struct piece fetch[SL_READ_BATCH];
	struct sl_fabric_mr bounce_mr = { 0 };
	uint8_t *bounce = NULL;
	size_t nf = 0, bounce_len = 0;
	int rc = 0;

	r->batch++;
	for (size_t i = 0; i < n; i++) {
		const Sluice__Shard *sh = plan->shards[p[i].shard];
		int pending = 0;

		p[i].roff = p[i].offset;
		p[i].rlen = p[i].length;
		p[i].rdst = p[i].dst;
		p[i].rmr = p[i].mr;
		if (sh->sha256.len != 32 || list_find(r, p[i].shard))
			continue;
		for (size_t k = 0; k < nf && !pending; k++)
			pending = fetch[k].shard == p[i].shard;
		if (pending)
			continue;
		rc = lists_setup(r);
		if (rc)
			return rc;
		fetch[nf] = (struct piece){
			.shard = p[i].shard,
			.n_blocks = (uint32_t)sl_shard_blocks(sh->length),
			.rdst = r->fetch + nf * SL_DIGEST_LIST_MAX,
			.rmr = &r->fetch_mr,
			.digests = 1,
		};
		fetch[nf].rlen = fetch[nf].n_blocks * SL_DIGEST_LEN;
		fetch[nf].length = fetch[nf].rlen;
		nf++;
	}
	rc = nf ? read_batch(r, fetch, nf) : 0;
	/* A batch that met silence may have asked for a new grant (a new plan). */
	plan = r->plan;
	for (size_t k = 0; k < nf && !rc; k++)
		if (list_put(r, &fetch[k]))
			rc = sl_sess_fail(r->s, -EBADMSG, "the digest list of shard %u changed",
					  fetch[k].shard);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const Sluice__Shard *sh = plan->shards[p[i].shard];
		struct digest_list *l = sh->sha256.len == 32 ? list_find(r, p[i].shard) : NULL;

		if (!l)
			continue;
		p[i].list = l->list;
		p[i].n_blocks = l->n_blocks;
		if (sl_block_span(p[i].offset, p[i].length, sh->length, &p[i].roff, &p[i].rlen))
			return sl_sess_fail(r->s, -EINVAL, "a read beyond shard %u", p[i].shard);
		if (p[i].roff != p[i].offset || p[i].rlen != p[i].length) {
			p[i].rdst = NULL; /* in the bounce buffer, placed below */
			bounce_len += p[i].rlen;
		}
	}
	if (bounce_len) {
		size_t at = 0;

		if (posix_memalign((void **)&bounce, 4096, bounce_len)) {
			bounce = NULL;
			return sl_sess_fail(r->s, -ENOMEM, "out of memory");
		}
		rc = sl_fabric_mr_reg(&r->s->fab, bounce, bounce_len, FI_REMOTE_WRITE | FI_RECV,
				      &bounce_mr);
		if (rc) {
			sl_sess_fail(r->s, rc, "cannot register a read buffer");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (!p[i].rdst) {
				p[i].rdst = bounce + at;
				p[i].rmr = &bounce_mr;
				at += p[i].rlen;
			}
	}
	rc = read_batch(r, p, n);
	for (size_t i = 0; i < n && !rc; i++)
		if (p[i].rdst != p[i].dst)
			memcpy(p[i].dst, p[i].rdst + (p[i].offset - p[i].roff), p[i].length);
out:
	/* Closed first: nothing late can land in the buffer once it is freed. */
	sl_fabric_mr_close(&bounce_mr);
	free(bounce);
	return rc;
}

static int preadv_once(sluice_reader *r, struct sluice_iov *iov, size_t n)
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
			p[np++] = (struct piece){ .shard = shard, .offset = in,
						  .length = (uint32_t)take,
						  .dst = (uint8_t *)iov[i].buf + (pos - off),
						  .mr = &mrs[i] };
			pos += take;
			if (np == SL_READ_BATCH) {
				rc = read_pieces(r, p, np);
				np = 0;
			}
		}
		iov[i].got = (size_t)(end - off);
	}
	if (!rc && np)
		rc = read_pieces(r, p, np);
	for (size_t i = 0; i < registered; i++)
		sl_fabric_mr_close(&mrs[i]);
	free(mrs);
	if (rc)
		for (size_t i = 0; i < n; i++)
			iov[i].got = 0;
	return rc;
}

int sluice_reader_preadv(sluice_reader *r, struct sluice_iov *iov, size_t n)
{
	int rc = preadv_once(r, iov, n), again;

	if (rc == 0 || rc == -ENOMEM || rc == -EINVAL || rc == -EACCES || rc == -EPERM)
		return rc;
	/*
	 * No replica served: data servers answer a revoked capability with
	 * silence, which looks just like this. Ask sluice-meta again: a refusal
	 * now is the real answer, and a new grant gets one more try.
	 */
	again = grant(r);
	if (again == -EACCES || again == -EPERM || again == -ENOENT)
		return again;
	return again ? rc : preadv_once(r, iov, n);
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
