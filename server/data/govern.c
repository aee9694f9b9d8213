/* Watermarks, key generations and audit records at a data server; see govern.h. */
#include "govern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "sl_time.h"

int sl_gov_init(struct sl_data_gov *g, const struct sl_keyring *keys)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	g->keys = *keys;
	g->objects = calloc(SL_GOV_OBJECTS_MAX, sizeof(*g->objects));
	g->queue = calloc(SL_GOV_QUEUE_MAX, sizeof(*g->queue));
	g->sums = calloc(SL_GOV_SUMMARIES_MAX, sizeof(*g->sums));
	if (!g->objects || !g->queue || !g->sums) {
		sl_gov_fini(g);
		return -ENOMEM;
	}
	return 0;
}

int sl_gov_synced(struct sl_data_gov *g)
{
	int v;

	pthread_mutex_lock(&g->lock);
	v = g->synced;
	pthread_mutex_unlock(&g->lock);
	return v;
}

void sl_gov_state(struct sl_data_gov *g, uint64_t *incarnation, uint64_t *applied,
		  uint32_t *key_gen)
{
	pthread_mutex_lock(&g->lock);
	*incarnation = g->incarnation;
	*applied = g->applied;
	*key_gen = g->keys.cap_gen;
	pthread_mutex_unlock(&g->lock);
}

void sl_gov_fini(struct sl_data_gov *g)
{
	free(g->objects);
	free(g->queue);
	free(g->sums);
	g->objects = NULL;
	g->queue = NULL;
	g->sums = NULL;
	pthread_mutex_destroy(&g->lock);
}

/* Under lock: the object's slot (linear probing), or where it would go. */
static struct sl_gov_floor *object_slot(struct sl_data_gov *g, uint64_t id)
{
	/* Object ids are already a keyed permutation: their bits are the hash. */
	size_t mask = SL_GOV_OBJECTS_MAX - 1, i = (size_t)(id ^ (id >> 29)) & mask;

	while (g->objects[i].id && g->objects[i].id != id)
		i = (i + 1) & mask;
	return &g->objects[i];
}

static uint64_t floor_of(const struct sl_gov_floor *f, uint64_t id)
{
	return f && f->id == id ? f->epoch : 0;
}

static const struct sl_gov_floor *tenant_floor(const struct sl_data_gov *g, uint64_t tenant)
{
	for (size_t i = 0; i < g->n_tenants; i++)
		if (g->tenants[i].id == tenant)
			return &g->tenants[i];
	return NULL;
}

int sl_gov_check(struct sl_data_gov *g, const uint8_t *tok, size_t len, uint64_t now_ms,
		 struct sl_cap *cap, const char **why)
{
	int rc;

	pthread_mutex_lock(&g->lock);
	rc = sl_cap_verify(tok, len, &g->keys, now_ms, cap, why);
	if (rc)
		goto out;
	rc = -EACCES;
	if (!g->synced) {
		*why = "not yet in step with the metadata server's revocations";
		goto out;
	}
	if (cap->key_gen != g->keys.cap_gen && now_ms > g->key_prev_until_ms) {
		*why = "capability key generation retired";
		goto out;
	}
	if (cap->issued_ms <= g->issued_floor_ms) {
		*why = "capability issued before a revocation this server may have missed";
		goto out;
	}
	if (cap->policy_epoch < floor_of(tenant_floor(g, cap->tenant), cap->tenant)) {
		*why = "capability revoked (policy changed)";
		goto out;
	}
	if (cap->tag_epoch < floor_of(object_slot(g, cap->object_id), cap->object_id)) {
		*why = "capability revoked (object tags changed)";
		goto out;
	}
	if ((cap->ops & SL_CAP_OP_AUDITED) &&
	    (g->lost || g->q_n == SL_GOV_QUEUE_MAX ||
	     sl_mono_ms() - g->last_ack_ms > SL_GOV_AUDIT_STALE_MS)) {
		*why = "audit log unreachable: confidential data is not served";
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&g->lock);
	return rc;
}

/* Under lock: adds r to the queue, folded into a like record when one is recent. */
static void enqueue(struct sl_data_gov *g, const struct sl_gov_record *r)
{
	for (size_t k = 0; k < g->q_n && k < 8; k++) {
		struct sl_gov_record *q =
			&g->queue[(g->q_head + g->q_n - 1 - k) % SL_GOV_QUEUE_MAX];

		if (q->deny && r->deny && q->tenant == r->tenant && q->object == r->object &&
		    q->cap_id == r->cap_id && q->shard == r->shard && q->reason == r->reason &&
		    q->op == r->op) {
			q->count += r->count;
			return;
		}
	}
	if (g->q_n == SL_GOV_QUEUE_MAX) {
		g->lost += r->count;
		return;
	}
	g->queue[(g->q_head + g->q_n) % SL_GOV_QUEUE_MAX] = *r;
	g->q_n++;
}

static void record_from_cap(struct sl_gov_record *r, const struct sl_cap *cap)
{
	r->tenant = cap->tenant;
	r->principal = cap->principal;
	r->cap_id = cap->cap_id;
	memcpy(r->purpose, cap->purpose, SL_CAP_PURPOSE_LEN);
	r->purpose[SL_CAP_PURPOSE_LEN] = '\0';
}

void sl_gov_refused(struct sl_data_gov *g, const char *op, uint64_t object, uint32_t shard,
		    const struct sl_cap *cap, const char *why, uint64_t now_ms)
{
	struct sl_gov_record r = { .time_ms = now_ms, .object = object, .shard = shard,
				   .op = op, .reason = why, .deny = 1, .count = 1 };

	if (cap)
		record_from_cap(&r, cap);
	pthread_mutex_lock(&g->lock);
	enqueue(g, &r);
	pthread_mutex_unlock(&g->lock);
}

void sl_gov_served(struct sl_data_gov *g, const struct sl_cap *cap, uint32_t shard,
		   uint64_t bytes, uint64_t now_ms)
{
	/* Direct-mapped by capability and shard: no scan on the serving path; a
	 * summary whose slot another one needs goes out now. */
	uint64_t h = (cap->cap_id ^ ((uint64_t)shard * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	struct sl_gov_summary *s = &g->sums[(h >> 32) % SL_GOV_SUMMARIES_MAX];

	pthread_mutex_lock(&g->lock);
	if (s->r.cap_id == cap->cap_id && s->r.shard == shard && s->r.cap_id) {
		s->r.bytes += bytes;
		s->r.count++;
		goto out;
	}
	if (s->r.cap_id)
		enqueue(g, &s->r);
	memset(s, 0, sizeof(*s));
	record_from_cap(&s->r, cap);
	s->r.time_ms = now_ms;
	s->r.object = cap->object_id;
	s->r.shard = shard;
	s->r.op = "SHARD_READ";
	s->r.reason = "served";
	s->r.bytes = bytes;
	s->r.count = 1;
	s->expiry_ms = cap->expiry_ms;
out:
	pthread_mutex_unlock(&g->lock);
}

size_t sl_gov_records(struct sl_data_gov *g, struct sl_gov_record *out, size_t max,
		      uint64_t *lost, uint64_t now_ms)
{
	size_t n;

	pthread_mutex_lock(&g->lock);
	/* Summaries that are old enough join the queue. */
	for (size_t i = 0; i < SL_GOV_SUMMARIES_MAX && g->q_n < SL_GOV_QUEUE_MAX; i++) {
		struct sl_gov_summary *s = &g->sums[i];

		if (s->r.cap_id && (now_ms - s->r.time_ms >= SL_GOV_SUMMARY_MS ||
				    now_ms > s->expiry_ms)) {
			enqueue(g, &s->r);
			s->r.cap_id = 0;
		}
	}
	for (n = 0; n < max && n < g->q_n; n++)
		out[n] = g->queue[(g->q_head + n) % SL_GOV_QUEUE_MAX];
	*lost = g->lost;
	pthread_mutex_unlock(&g->lock);
	return n;
}

void sl_gov_records_taken(struct sl_data_gov *g, size_t n, size_t sent, uint64_t lost_sent)
{
	pthread_mutex_lock(&g->lock);
	if (n > sent && lost_sent && g->lost >= lost_sent)
		g->lost -= lost_sent;
	if (n > sent)
		n = sent;
	if (n > g->q_n)
		n = g->q_n;
	g->q_head = (g->q_head + n) % SL_GOV_QUEUE_MAX;
	g->q_n -= n;
	g->last_ack_ms = sl_mono_ms();
	pthread_mutex_unlock(&g->lock);
}

/* Under lock: raises a floor (tenant table or object table), keeping it a while. */
static void raise_floor(struct sl_data_gov *g, const Sluice__Revocation *r, uint64_t now_ms)
{
	struct sl_gov_floor *f = NULL;

	if (r->object_id) {
		f = object_slot(g, r->object_id);
		if (!f->id) {
			if (g->n_objects >= SL_GOV_OBJECTS_MAX / 2) {
				/* Full: refuse everything issued so far instead. */
				g->issued_floor_ms = now_ms;
				SL_WARN("too many object revocations at once: every capability "
					"issued until now is refused");
				return;
			}
			g->n_objects++;
		}
		f->id = r->object_id;
	} else {
		for (size_t i = 0; i < g->n_tenants && !f; i++)
			if (g->tenants[i].id == r->tenant_id)
				f = &g->tenants[i];
		if (!f && g->n_tenants == SL_GOV_TENANTS_MAX) {
			g->issued_floor_ms = now_ms;
			SL_WARN("too many tenant revocations at once: every capability issued "
				"until now is refused");
			return;
		}
		if (!f) {
			f = &g->tenants[g->n_tenants++];
			f->id = r->tenant_id;
		}
	}
	if (r->epoch > f->epoch)
		f->epoch = r->epoch;
	f->time_ms = now_ms;
}

/* Under lock: forgets floors older than SL_GOV_KEEP_MS (every capability
 * they refuse has expired), rebuilding the object table when it is sparse. */
static void expire_floors(struct sl_data_gov *g, uint64_t now_ms)
{
	for (size_t i = 0; i < g->n_tenants;)
		if (now_ms - g->tenants[i].time_ms > SL_GOV_KEEP_MS)
			g->tenants[i] = g->tenants[--g->n_tenants];
		else
			i++;
	if (!g->n_objects)
		return;
	{
		size_t live = 0;

		for (size_t i = 0; i < SL_GOV_OBJECTS_MAX; i++)
			live += g->objects[i].id && now_ms - g->objects[i].time_ms <= SL_GOV_KEEP_MS;
		if (live == g->n_objects)
			return;
	}
	/* Reinsert the live ones: open addressing cannot just clear a slot. */
	{
		struct sl_gov_floor *old = g->objects;
		struct sl_gov_floor *fresh = calloc(SL_GOV_OBJECTS_MAX, sizeof(*fresh));

		if (!fresh)
			return;
		g->objects = fresh;
		g->n_objects = 0;
		for (size_t i = 0; i < SL_GOV_OBJECTS_MAX; i++)
			if (old[i].id && now_ms - old[i].time_ms <= SL_GOV_KEEP_MS) {
				*object_slot(g, old[i].id) = old[i];
				g->n_objects++;
			}
		free(old);
	}
}

int sl_gov_apply(struct sl_data_gov *g, const Sluice__WatchResp *resp, uint64_t now_ms)
{
	int rc = 0;

	pthread_mutex_lock(&g->lock);
	if (resp->incarnation != g->incarnation) {
		/* A new sluice-meta: its log starts over; floors are kept (they only rise). */
		g->incarnation = resp->incarnation;
		g->applied = 0;
	}
	if (resp->reset && resp->reset_ms > g->issued_floor_ms) {
		g->issued_floor_ms = resp->reset_ms;
		SL_WARN("behind the metadata server's revocations: capabilities issued until now "
			"are refused");
	}
	for (size_t i = 0; i < resp->n_revocations; i++)
		raise_floor(g, resp->revocations[i], now_ms);
	if (resp->seq > g->applied || resp->reset)
		g->applied = resp->seq;
	expire_floors(g, now_ms);
	if (resp->key_gen && resp->key_gen != g->keys.cap_gen) {
		struct sl_keyring next;

		rc = sl_keyring_init(&next, g->keys.root, resp->key_gen);
		if (!rc) {
			SL_INFO("capability key generation %u (was %u)", resp->key_gen,
				g->keys.cap_gen);
			g->keys = next;
		}
	}
	g->key_prev_until_ms = resp->key_prev_until_ms;
	if (!rc && !g->synced) {
		g->synced = 1;
		SL_INFO("in step with the metadata server's revocations: serving");
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}
