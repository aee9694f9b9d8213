/*
 * Ingest: PUT_BEGIN reserves a pending object and its placement; the bytes
 * then go to every replica of every shard (each data server pulls its shard
 * from our registered staging buffer by RMA read and fsyncs it); only when
 * every replica has acknowledged does PUT_COMMIT make the object visible.
 * Any failure leaves the object pending, which no reader can see.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capability.h"
#include "crc32c.h"
#include "digest.h"
#include "plan.h"
#include "session_int.h"
#include "sl_time.h"

#define SL_PUT_WINDOW 4 /* shards per window; two windows alternate */

struct source {
	int fd;
	const uint8_t *mem;
	uint64_t off;
};

static int source_read(struct source *src, uint8_t *buf, size_t len)
{
	size_t done = 0;

	if (src->mem) {
		memcpy(buf, src->mem + src->off, len);
		src->off += len;
		return 0;
	}
	while (done < len) {
		ssize_t n = read(src->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		done += (size_t)n;
	}
	src->off += len;
	return 0;
}

/* One window of staged shards and the transfers carrying it to its replicas. */
struct window {
	uint32_t first, count;
	uint8_t *buf;
	uint32_t crcs[SL_PUT_WINDOW];
	struct sl_xfer *xs[SL_PUT_WINDOW * 16];
	size_t n;
	int rc; /* a failure while posting */
};

/* Posts every replica write of window w; failures are kept in w->rc. */
static void post_window(sluice_session *s, const Sluice__ObjectPlan *plan, const fi_addr_t *fi,
			struct sl_fabric_mr *mr, struct window *w)
{
	w->n = 0;
	w->rc = 0;
	for (uint32_t i = w->first; i < w->first + w->count; i++) {
		const Sluice__Shard *sh = plan->shards[i];
		uint8_t *buf = w->buf + (size_t)(i - w->first) * plan->object->shard_size;

		for (size_t r = 0; r < sh->n_servers && w->n < SL_PUT_WINDOW * 16; r++) {
			Sluice__ShardWriteReq req = SLUICE__SHARD_WRITE_REQ__INIT;
			int at = sl_plan_server(plan, sh->servers[r]);
			struct sl_xfer *x = sl_xfer_get(s);

			if (!x || at < 0) {
				w->rc = x ? -EPROTO : -EBUSY;
				if (x)
					x->state = SL_XFER_FREE;
				return;
			}
			req.capability = plan->server_caps[at];
			req.object_id = plan->object->id;
			req.index = i;
			req.length = sh->length;
			req.crc32c = w->crcs[i - w->first];
			req.buf_addr = sl_fabric_mr_raddr(&s->fab, mr, buf);
			req.buf_key = mr->key;
			req.reply_addr = (ProtobufCBinaryData){ s->fab.addr_len, s->fab.addr };
			w->rc = sl_xfer_frame(s, x, SL_RPC_SHARD_WRITE, &req.base);
			if (w->rc) {
				x->state = SL_XFER_FREE;
				return;
			}
			x->asked = sh->length;
			x->user = (void *)(uintptr_t)sh->servers[r];
			w->xs[w->n++] = x;
			w->rc = sl_xfer_post(s, x, fi[at]);
			if (w->rc)
				return;
		}
	}
}

/* Waits for window w; 0 when every replica of every shard is stored. */
static int wait_window(sluice_session *s, const Sluice__ObjectPlan *plan, struct window *w)
{
	int rc = w->rc;

	sl_xfer_wait(s, w->xs, w->n, sl_mono_ms() + s->timeout_ms);
	/* A server that failed may have restarted on the same address: its
	 * connection is dropped so that the next put connects anew. */
	for (size_t i = 0; i < w->n; i++) {
		int at = sl_plan_server(plan, (uint32_t)(uintptr_t)w->xs[i]->user);

		if (w->xs[i]->result && w->xs[i]->result != -EACCES && at >= 0)
			sl_fabric_forget(&s->fab, plan->servers[at]->fabric_addr.data,
					 plan->servers[at]->fabric_addr.len);
	}
	for (size_t i = 0; i < w->n && !rc; i++)
		if (w->xs[i]->result)
			rc = sl_sess_fail(s, w->xs[i]->result,
					  "data server %u did not store a shard: %s",
					  (unsigned)(uintptr_t)w->xs[i]->user,
					  strerror(-w->xs[i]->result));
	if (rc && !s->error[0])
		sl_sess_fail(s, rc, "cannot send shards: %s", strerror(-rc));
	w->n = 0;
	return rc;
}

/* Reads window w's shards from the source, with their CRC32Cs and roots, into the digest. */
static int stage_window(sluice_session *s, const Sluice__ObjectPlan *plan, struct source *src,
			EVP_MD_CTX *sha, struct window *w, Sluice__Shard *done,
			Sluice__Shard **done_ptrs, uint8_t (*roots)[SL_DIGEST_LEN])
{
	for (uint32_t i = 0; i < w->count; i++) {
		uint32_t idx = w->first + i;
		const Sluice__Shard *sh = plan->shards[idx];
		uint8_t *buf = w->buf + (size_t)i * plan->object->shard_size;
		int rc = source_read(src, buf, sh->length);

		if (rc)
			return sl_sess_fail(s, rc, "reading the input failed: %s", strerror(-rc));
		w->crcs[i] = sl_crc32c(0, buf, sh->length);
		EVP_DigestUpdate(sha, buf, sh->length);
		if (sl_shard_root(buf, sh->length, roots[idx]))
			return sl_sess_fail(s, -ENOMEM, "out of memory");
		sluice__shard__init(&done[idx]);
		done[idx].index = idx;
		done[idx].length = sh->length;
		done[idx].crc32c = w->crcs[i];
		done[idx].sha256 = (ProtobufCBinaryData){ SL_DIGEST_LEN, roots[idx] };
		done_ptrs[idx] = &done[idx];
	}
	return 0;
}

static int put_source(sluice_session *s, const char *ns, const char *name, struct source *src,
		      uint64_t size, const struct sluice_tag *tags, size_t n_tags,
		      sluice_progress_fn progress, void *arg)
{
	Sluice__PutBeginReq begin = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__PutCommitReq commit = SLUICE__PUT_COMMIT_REQ__INIT;
	Sluice__ObjectPlan *plan = NULL;
	Sluice__Tag *tag_store = NULL;
	Sluice__Shard *done = NULL, **done_ptrs = NULL;
	uint8_t (*roots)[SL_DIGEST_LEN] = NULL;
	struct sl_fabric_mr mr = { 0 };
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	uint8_t digest[32], *stage = NULL;
	char why[160];
	fi_addr_t *fi = NULL;
	struct window win[2] = { { 0 }, { 0 } };
	unsigned dlen = 32;
	size_t stage_len, window_len = 0;
	int rc;

	s->error[0] = '\0';
	if (!sha || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL)) {
		rc = sl_sess_fail(s, -ENOMEM, "out of memory");
		goto out;
	}
	begin.ns = (char *)ns;
	begin.name = (char *)name;
	begin.size = size;
	begin.source = s->source;
	rc = sl_tags_pb(tags, n_tags, &begin.tags, &tag_store);
	if (rc)
		goto out;
	begin.n_tags = n_tags;
	/* The capability is bound to this session's data-plane endpoint. */
	rc = sl_sess_fabric(s);
	if (rc)
		goto out;
	begin.fabric_addr = (ProtobufCBinaryData){ s->fab.addr_len, s->fab.addr };
	rc = sl_sess_call(s, SL_RPC_PUT_BEGIN, &begin.base, &sluice__object_plan__descriptor,
			  (ProtobufCMessage **)&plan);
	if (rc)
		goto out;
	/* Lengths size the staging buffer and indexes pick servers: check all first. */
	rc = sl_plan_check(plan, SL_PLAN_WRITE, why, sizeof(why));
	if (!rc && plan->object->size != size) {
		snprintf(why, sizeof(why), "a plan for %llu bytes, not %llu",
			 (unsigned long long)plan->object->size, (unsigned long long)size);
		rc = -EPROTO;
	}
	if (rc) {
		rc = sl_sess_fail(s, rc, "malformed write plan from sluice-meta: %s", why);
		goto out;
	}
	done = calloc(plan->n_shards + 1, sizeof(*done));
	done_ptrs = calloc(plan->n_shards + 1, sizeof(*done_ptrs));
	fi = calloc(plan->n_servers + 1, sizeof(*fi));
	roots = calloc(plan->n_shards + 1, sizeof(*roots));
	if (!done || !done_ptrs || !fi || !roots) {
		rc = sl_sess_fail(s, -ENOMEM, "out of memory");
		goto out;
	}
	if (plan->n_shards) {
		rc = sl_sess_fabric(s);
		rc = rc ? rc : sl_plan_addrs(s, plan, fi);
		if (rc)
			goto out;
		window_len = (size_t)plan->object->shard_size *
			     (plan->n_shards < SL_PUT_WINDOW ? plan->n_shards : SL_PUT_WINDOW);
		stage_len = 2 * window_len;
		if (posix_memalign((void **)&stage, 4096, stage_len)) {
			stage = NULL;
			rc = sl_sess_fail(s, -ENOMEM, "out of memory");
			goto out;
		}
		rc = sl_fabric_mr_reg(&s->fab, stage, stage_len, FI_REMOTE_READ | FI_READ |
				      FI_WRITE | FI_SEND, &mr);
		if (rc) {
			sl_sess_fail(s, rc, "cannot register the staging buffer");
			goto out;
		}
		win[0].buf = stage;
		win[1].buf = stage + window_len;
	}
	/*
	 * Two windows alternate: while one is on its way to the data servers,
	 * the next is read from the source and checksummed.
	 */
	for (uint32_t first = 0, k = 0; first < plan->n_shards; first += SL_PUT_WINDOW, k++) {
		struct window *w = &win[k % 2], *prev = k ? &win[(k + 1) % 2] : NULL;

		w->first = first;
		w->count = plan->n_shards - first < SL_PUT_WINDOW ? plan->n_shards - first
								    : SL_PUT_WINDOW;
		rc = stage_window(s, plan, src, sha, w, done, done_ptrs, roots);
		if (prev && prev->count) {
			int prc = wait_window(s, plan, prev);

			rc = rc ? rc : prc;
			prev->count = 0;
			if (!prc && progress)
				progress(arg, (uint64_t)first * plan->object->shard_size, size);
		}
		if (rc)
			goto out;
		post_window(s, plan, fi, &mr, w);
	}
	if (plan->n_shards) {
		struct window *last = &win[((plan->n_shards - 1) / SL_PUT_WINDOW) % 2];

		rc = wait_window(s, plan, last);
		last->count = 0;
		if (rc)
			goto out;
		if (progress)
			progress(arg, size, size);
	}
	EVP_DigestFinal_ex(sha, digest, &dlen);
	commit.object_id = plan->object->id;
	commit.shards = done_ptrs;
	commit.n_shards = plan->n_shards;
	commit.sha256 = (ProtobufCBinaryData){ 32, digest };
	rc = sl_sess_call(s, SL_RPC_PUT_COMMIT, &commit.base, NULL, NULL);
	if (rc == -ENOENT) {
		/* A commit resent after a lost connection finds its pending record
		 * gone if the first one went through: the object tells. */
		struct sluice_object *o = NULL;

		if (sluice_stat(s, ns, name, &o) == 0 && o->id == plan->object->id)
			rc = 0;
		else
			sl_sess_fail(s, -ENOENT, "the ingest of %s/%s was abandoned before its commit",
				     ns, name);
		sluice_object_free(o);
	}
	if (!rc && progress && !plan->n_shards)
		progress(arg, 0, 0);
out:
	/* Nothing may still read the staging buffer when it goes. */
	for (int i = 0; i < 2; i++)
		if (win[i].n)
			sl_xfer_wait(s, win[i].xs, win[i].n, sl_mono_ms() + s->timeout_ms);
	sl_fabric_mr_close(&mr);
	free(stage);
	free(fi);
	free(done);
	free(done_ptrs);
	free(roots);
	free(begin.tags);
	free(tag_store);
	EVP_MD_CTX_free(sha);
	if (plan)
		sluice__object_plan__free_unpacked(plan, NULL);
	return rc;
}

int sluice_put_fd(sluice_session *s, const char *ns, const char *name, int fd, uint64_t size,
		  const struct sluice_tag *tags, size_t n_tags, sluice_progress_fn progress,
		  void *arg)
{
	struct source src = { .fd = fd };

	return put_source(s, ns, name, &src, size, tags, n_tags, progress, arg);
}

int sluice_put(sluice_session *s, const char *ns, const char *name, const void *buf,
	       size_t len, const struct sluice_tag *tags, size_t n_tags)
{
	struct source src = { .fd = -1, .mem = buf ? buf : (const uint8_t *)"" };

	return put_source(s, ns, name, &src, len, tags, n_tags, NULL, NULL);
}
