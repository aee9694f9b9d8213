/*
 * Revocations and key generations pushed to the data servers through their
 * WATCH long polls, and the audit records data servers send back the same
 * way; see revoke.h.
 */
#include "revoke.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capability.h"
#include "catalog_keys.h"
#include "meta.h"
#include "sl_log.h"
#include "sl_time.h"
#include "validate.h"

#define KEY_GEN_KEY "key_gen"
#define LOG_PREFIX "rv"

static struct timespec deadline_ts(uint64_t ms_from_now)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms_from_now / 1000);
	ts.tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Under lock: the watcher of server id, added when new (NULL when full). */
static struct sl_watcher *watcher(struct sl_revoke *rv, uint32_t id)
{
	for (size_t i = 0; i < rv->n_w; i++)
		if (rv->w[i].id == id)
			return &rv->w[i];
	if (rv->n_w == SL_META_MAX_SERVERS)
		return NULL;
	rv->w[rv->n_w] = (struct sl_watcher){ .id = id };
	return &rv->w[rv->n_w++];
}

/* Under lock: the log entry of sequence seq (which must be in the log). */
static const struct sl_revoke_entry *entry(const struct sl_revoke *rv, uint64_t seq)
{
	uint64_t first = rv->seq - rv->n + 1;

	return &rv->log[(rv->head + (size_t)(seq - first)) % SL_REVOKE_LOG_MAX];
}

/* Under lock: appends e (seq assigned), dropping what is too old or, when
 * full, the oldest (a server behind it is reset). */
static void append(struct sl_revoke *rv, struct sl_revoke_entry *e, uint64_t now)
{
	while (rv->n && (rv->n == SL_REVOKE_LOG_MAX ||
			 now - rv->log[rv->head].time_ms > SL_REVOKE_KEEP_MS)) {
		if (rv->n == SL_REVOKE_LOG_MAX)
			rv->lost_seq = rv->log[rv->head].seq;
		rv->head = (rv->head + 1) % SL_REVOKE_LOG_MAX;
		rv->n--;
	}
	e->seq = ++rv->seq;
	rv->log[(rv->head + rv->n) % SL_REVOKE_LOG_MAX] = *e;
	rv->n++;
}

static void log_key(struct sl_key *k, uint64_t time_ms, uint64_t seq)
{
	sl_key_u64(sl_key_u64(sl_key_str(sl_key_reset(k), LOG_PREFIX), time_ms), seq);
}

struct load_ctx {
	struct sl_meta *m;
	uint64_t now;
	struct sl_batch *old; /* expired entries to delete */
};

static int load_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct load_ctx *lc = arg;
	Sluice__Revocation *r;

	if (klen != strlen(LOG_PREFIX) + 16)
		return 0;
	r = sluice__revocation__unpack(NULL, vlen, val);
	if (!r)
		return -EIO;
	if (lc->now - r->time_ms > SL_REVOKE_KEEP_MS) {
		sl_batch_delete(lc->old, lc->m->cat, SL_CF_DEFAULT, key, klen);
	} else {
		struct sl_revoke_entry e = { 0, r->tenant_id, r->object_id, r->epoch, r->time_ms };

		append(&lc->m->revoke, &e, r->time_ms);
	}
	sluice__revocation__free_unpacked(r, NULL);
	return 0;
}

int sl_revoke_open(struct sl_meta *m)
{
	struct sl_revoke *rv = &m->revoke;
	struct load_ctx lc = { m, sl_now_ms(), NULL };
	pthread_condattr_t ca;
	Sluice__KeyRotateResp *kg = NULL;
	int rc;

	pthread_mutex_init(&rv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rv->changed, &ca);
	pthread_condattr_destroy(&ca);
	rv->log = calloc(SL_REVOKE_LOG_MAX, sizeof(*rv->log));
	lc.old = sl_batch_new();
	if (!rv->log || !lc.old) {
		rc = -ENOMEM;
		goto out;
	}
	do
		rc = sl_random_bytes(&rv->incarnation, sizeof(rv->incarnation));
	while (!rc && rv->incarnation == 0);
	if (rc)
		goto out;
	rc = sl_catalog_scan(m->cat, SL_CF_DEFAULT, LOG_PREFIX, strlen(LOG_PREFIX), NULL, 0,
			     load_one, &lc);
	rc = rc ? rc : sl_catalog_commit(m->cat, lc.old);
	if (rc)
		goto out;
	rc = sl_catalog_get(m->cat, SL_CF_DEFAULT, KEY_GEN_KEY, strlen(KEY_GEN_KEY),
			    &sluice__key_rotate_resp__descriptor, (ProtobufCMessage **)&kg);
	if (rc == -ENOENT) {
		rv->key_gen = 1;
		rc = 0;
	} else if (!rc) {
		rv->key_gen = kg->key_gen ? kg->key_gen : 1;
		rv->key_prev_until_ms = kg->prev_until_ms;
		sluice__key_rotate_resp__free_unpacked(kg, NULL);
	}
	rv->mint_gen = rv->key_gen;
	if (!rc && rv->n)
		SL_INFO("%zu recent revocations kept for the data servers", rv->n);
out:
	sl_batch_free(lc.old);
	return rc;
}

void sl_revoke_close(struct sl_meta *m)
{
	free(m->revoke.log);
	m->revoke.log = NULL;
}

uint32_t sl_revoke_mint_gen(struct sl_meta *m)
{
	return __atomic_load_n(&m->revoke.mint_gen, __ATOMIC_ACQUIRE);
}

int sl_revoke_server_ok(struct sl_meta *m, uint32_t id)
{
	struct sl_revoke *rv = &m->revoke;
	int ok = 1;

	pthread_mutex_lock(&rv->lock);
	for (size_t i = 0; i < rv->n_w; i++)
		if (rv->w[i].id == id)
			ok = rv->w[i].applied >= rv->w[i].fence_seq &&
			     rv->w[i].key_gen >= rv->w[i].fence_gen;
	pthread_mutex_unlock(&rv->lock);
	return ok;
}

/* Under lock: whether server w has what `seq` and `gen` ask of it. */
static int caught_up(const struct sl_revoke *rv, const struct sl_watcher *w, uint64_t seq,
		     uint32_t gen)
{
	return w && w->incarnation == rv->incarnation && w->applied >= seq && w->key_gen >= gen;
}

/*
 * Under lock: waits until every live data server has applied seq and
 * accepts gen, or SL_REVOKE_ACK_MS; fences the others. Returns how many
 * were fenced, their ids in fenced (when given).
 */
static size_t await_acks(struct sl_meta *m, uint64_t seq, uint32_t gen, uint32_t *fenced)
{
	struct sl_revoke *rv = &m->revoke;
	uint32_t ids[SL_META_MAX_SERVERS];
	struct timespec until = deadline_ts(SL_REVOKE_ACK_MS);
	size_t n, laggards = 0;

	pthread_mutex_unlock(&rv->lock);
	n = sl_registry_live(m, ids, SL_META_MAX_SERVERS);
	pthread_mutex_lock(&rv->lock);
	for (;;) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!caught_up(rv, watcher(rv, ids[i]), seq, gen))
				break;
		if (i == n || pthread_cond_timedwait(&rv->changed, &rv->lock, &until) == ETIMEDOUT)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_watcher *w = watcher(rv, ids[i]);

		if (!w || caught_up(rv, w, seq, gen))
			continue;
		if (w->fence_seq < seq)
			w->fence_seq = seq;
		if (w->fence_gen < gen)
			w->fence_gen = gen;
		if (fenced)
			fenced[laggards] = ids[i];
		laggards++;
		SL_WARN("data server %u did not acknowledge in %u ms: fenced (no reads granted "
			"from it until it catches up)",
			ids[i], SL_REVOKE_ACK_MS);
	}
	return laggards;
}

static int push_revocation(struct sl_meta *m, uint64_t tenant, uint64_t object, uint64_t epoch)
{
	struct sl_revoke *rv = &m->revoke;
	struct sl_revoke_entry e = { 0, tenant, object, epoch, sl_now_ms() };
	Sluice__Revocation rec = SLUICE__REVOCATION__INIT;
	struct sl_batch *b = sl_batch_new();
	struct sl_key k;
	uint64_t t0 = sl_mono_ms();
	int rc;

	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&rv->lock);
	append(rv, &e, e.time_ms);
	pthread_cond_broadcast(&rv->changed);
	pthread_mutex_unlock(&rv->lock);
	/* Kept across a restart of sluice-meta, for servers that restart too. */
	rec.seq = e.seq;
	rec.tenant_id = tenant;
	rec.object_id = object;
	rec.epoch = epoch;
	rec.time_ms = e.time_ms;
	log_key(&k, e.time_ms, e.seq);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_DEFAULT, k.b, k.len, &rec.base);
	rc = rc ? rc : sl_catalog_commit(m->cat, b);
	sl_batch_free(b);
	if (rc)
		SL_ERR_RC(rc, "recording revocation %llu", (unsigned long long)e.seq);
	pthread_mutex_lock(&rv->lock);
	await_acks(m, e.seq, 0, NULL);
	pthread_mutex_unlock(&rv->lock);
	SL_DEBUG("revocation %llu (tenant %llx object %llx epoch %llu) acknowledged in %llu ms",
		 (unsigned long long)e.seq, (unsigned long long)tenant, (unsigned long long)object,
		 (unsigned long long)epoch, (unsigned long long)(sl_mono_ms() - t0));
	return rc;
}

int sl_revoke_tenant(struct sl_meta *m, uint64_t tenant, uint64_t policy_epoch)
{
	return push_revocation(m, tenant, 0, policy_epoch);
}

int sl_revoke_object(struct sl_meta *m, uint64_t tenant, uint64_t object_id, uint64_t tag_epoch)
{
	return object_id ? push_revocation(m, tenant, object_id, tag_epoch) : -EINVAL;
}

/* The tenant a data server's record belongs in: its own when it exists. */
static uint64_t record_tenant(struct sl_meta *m, uint64_t tenant)
{
	struct sl_key k;
	uint8_t *val = NULL;
	size_t vlen;
	int rc;

	if (!tenant)
		return m->system_tenant;
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'i'), tenant);
	rc = sl_catalog_get_raw(m->cat, SL_CF_TENANTS, k.b, k.len, &val, &vlen);
	free(val);
	return rc ? m->system_tenant : tenant;
}

/*
 * Writes a data server's records to the audit log, each in its tenant's
 * chain; returns how many were written (they are acknowledged, and the
 * server forgets them; the rest it sends again).
 */
static uint32_t take_records(struct sl_meta *m, uint32_t server, const Sluice__WatchReq *req)
{
	char reason[256], node[32];
	uint32_t taken = 0;

	snprintf(node, sizeof(node), "data/%u", server);
	for (size_t i = 0; i < req->n_records; i++) {
		const Sluice__ServedRecord *s = req->records[i];
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
		int deny = strcmp(s->decision, "deny") == 0;

		/* The server is authenticated, its strings are still bounded and
		 * printable before they reach a log. */
		snprintf(reason, sizeof(reason), "data server %u: %s (%llu request%s)", server,
			 sl_text_valid(s->reason, 1, 160) ? s->reason : "(unprintable reason)",
			 (unsigned long long)s->count, s->count == 1 ? "" : "s");
		a.event = deny ? (char *)"data.refuse" : (char *)"data.read";
		a.tenant_id = record_tenant(m, s->tenant_id);
		a.principal_id = a.tenant_id == s->tenant_id ? s->principal_id : 0;
		a.purpose = sl_name_valid(s->purpose) ? s->purpose : (char *)"";
		a.object_id = a.tenant_id == s->tenant_id ? s->object_id : 0;
		a.decision = deny ? (char *)"deny" : (char *)"done";
		a.reason = reason;
		a.cap_id = s->cap_id;
		a.node = node;
		sl_audit_set_decider(&a, "data", NULL,
				     strcmp(s->op, "SHARD_WRITE") == 0 ? "write" : "read");
		sl_audit_set_summary(&a, s->count, s->bytes);
		if (!deny)
			snprintf(reason, sizeof(reason),
				 "data server %u served %llu bytes in %llu reads (shard %u)", server,
				 (unsigned long long)s->bytes, (unsigned long long)s->count, s->shard);
		if (sl_audit_commit(m, &a, NULL))
			break;
		taken++;
	}
	if (taken == req->n_records && req->records_lost) {
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;

		snprintf(reason, sizeof(reason),
			 "data server %u could not keep %llu refusal records (its queue was full)",
			 server, (unsigned long long)req->records_lost);
		a.event = (char *)"data.refuse";
		a.tenant_id = m->system_tenant;
		a.decision = (char *)"deny";
		a.reason = reason;
		if (sl_audit_commit(m, &a, NULL) == 0)
			taken++;
	}
	return taken;
}

int sl_h_watch(struct sl_meta *m, const struct sl_caller *c, const Sluice__WatchReq *req,
	       struct sl_reply *r)
{
	struct sl_revoke *rv = &m->revoke;
	Sluice__WatchResp resp = SLUICE__WATCH_RESP__INIT;
	Sluice__Revocation *items = NULL, **ptrs = NULL;
	struct timespec until = deadline_ts(SL_WATCH_POLL_MS);
	struct sl_watcher *w;
	uint64_t applied, from;
	size_t n = 0;
	int rc, short_of_memory;

	if (!c->is_server)
		return sl_fail(r, -EPERM, "only data servers watch");
	if (req->id != c->server_id || req->challenge.len != 16)
		return sl_fail(r, -EPERM, "a data server watches only for itself, with a challenge");
	if (req->n_records > SL_WATCH_RECORDS_MAX)
		return sl_fail(r, -E2BIG, "at most %u records per watch", SL_WATCH_RECORDS_MAX);
	resp.records_taken = take_records(m, c->server_id, req);

	pthread_mutex_lock(&rv->lock);
	w = watcher(rv, c->server_id);
	if (!w) {
		pthread_mutex_unlock(&rv->lock);
		return sl_fail(r, -ENOSPC, "too many data servers");
	}
	/* What it acknowledges counts only against this incarnation's log. */
	applied = req->incarnation == rv->incarnation ? req->applied : 0;
	w->incarnation = req->incarnation;
	w->applied = applied;
	w->key_gen = req->key_gen;
	pthread_cond_broadcast(&rv->changed);
	while (rv->seq == applied && rv->key_gen == req->key_gen && !m->stopping &&
	       req->incarnation == rv->incarnation && req->n_records == 0 &&
	       pthread_cond_timedwait(&rv->changed, &rv->lock, &until) != ETIMEDOUT)
		;
	resp.incarnation = rv->incarnation;
	resp.key_gen = rv->key_gen;
	resp.key_prev_until_ms = rv->key_prev_until_ms;
	from = applied + 1;
	if (applied > rv->seq || (rv->lost_seq && applied < rv->lost_seq)) {
		/* Behind what the log still holds (or from a log that is gone):
		 * every capability issued until now may predate what it missed. */
		resp.reset = 1;
		resp.reset_ms = sl_now_ms();
		from = rv->seq - rv->n + 1;
	} else if (from < rv->seq - rv->n + 1) {
		from = rv->seq - rv->n + 1; /* entries that aged out: nothing they refuse lives */
	}
	if (rv->seq >= from) {
		uint64_t want = rv->seq - from + 1;

		if (want > 1024)
			want = 1024;
		items = calloc((size_t)want, sizeof(*items));
		ptrs = calloc((size_t)want, sizeof(*ptrs));
		for (uint64_t s = from; items && ptrs && n < want; s++, n++) {
			const struct sl_revoke_entry *e = entry(rv, s);

			sluice__revocation__init(&items[n]);
			items[n].seq = e->seq;
			items[n].tenant_id = e->tenant;
			items[n].object_id = e->object;
			items[n].epoch = e->epoch;
			items[n].time_ms = e->time_ms;
			ptrs[n] = &items[n];
		}
	}
	/* Up to seq: sent here, or aged out (nothing they refused still lives). */
	resp.seq = n ? items[n - 1].seq : rv->seq;
	short_of_memory = rv->seq >= from && n == 0;
	pthread_mutex_unlock(&rv->lock);
	if (short_of_memory) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	resp.revocations = ptrs;
	resp.n_revocations = n;
	rc = sl_reply_signed(c, &req->challenge, &resp.base, &resp.mac, r);
out:
	free(items);
	free(ptrs);
	return rc;
}

int sl_h_key_rotate(struct sl_meta *m, const struct sl_caller *c, const Sluice__Empty *req,
		    struct sl_reply *r)
{
	struct sl_revoke *rv = &m->revoke;
	Sluice__KeyRotateResp resp = SLUICE__KEY_ROTATE_RESP__INIT;
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	uint32_t fenced[SL_META_MAX_SERVERS], gen;
	struct sl_batch *b = NULL;
	char reason[128];
	int rc;

	(void)req;
	if (!sl_is_cluster_admin(m, c))
		return sl_fail(r, -EPERM, "rotating keys needs a cluster admin");
	pthread_mutex_lock(&m->mutate_lock);
	pthread_mutex_lock(&rv->lock);
	gen = rv->key_gen + 1;
	pthread_mutex_unlock(&rv->lock);
	resp.key_gen = gen;
	resp.prev_until_ms = sl_now_ms() + (uint64_t)m->cfg.key_grace_s * 1000u;
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	rc = sl_batch_put_msg(b, m->cat, SL_CF_DEFAULT, KEY_GEN_KEY, strlen(KEY_GEN_KEY),
			      &resp.base);
	snprintf(reason, sizeof(reason),
		 "capability keys: generation %u -> %u; %u accepted for %u s more", gen - 1, gen,
		 gen - 1, m->cfg.key_grace_s);
	a.event = (char *)"key.rotate";
	a.tenant_id = m->system_tenant;
	a.principal_id = c->p->id;
	a.decision = (char *)"done";
	a.reason = reason;
	rc = rc ? rc : sl_audit_commit(m, &a, b);
	if (rc) {
		rc = sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	/* Data servers accept the new generation before anything is minted with it. */
	pthread_mutex_lock(&rv->lock);
	rv->key_gen = gen;
	rv->key_prev_until_ms = resp.prev_until_ms;
	pthread_cond_broadcast(&rv->changed);
	resp.n_fenced = await_acks(m, 0, gen, fenced);
	__atomic_store_n(&rv->mint_gen, gen, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rv->lock);
	resp.fenced = fenced;
	SL_INFO("capability key generation %u; %u accepted until %llu", gen, gen - 1,
		(unsigned long long)resp.prev_until_ms);
	rc = sl_reply_pack(r, &resp.base);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_batch_free(b);
	return rc;
}
