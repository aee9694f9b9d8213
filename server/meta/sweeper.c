/*
 * Collecting abandoned ingests. A put that never commits (its client died,
 * or sluice-meta restarted under it) leaves a pending object, its shard
 * records and, on the data servers, shard files. Once the pending object is
 * older than pending-expiry-s, one atomic batch deletes its catalog records,
 * queues one drop per placed replica, and writes an "object.abandon" audit
 * record. Data servers receive their drops in heartbeat replies, delete the
 * files and acknowledge in their next heartbeat, which clears the queue.
 * DELETE (handlers_object.c) queues a committed object's replicas the same
 * way, through sl_drops_queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "meta.h"
#include "sl_log.h"
#include "sl_time.h"

#define SL_DROPS_PER_HEARTBEAT 256

int sl_drops_queue(struct sl_meta *m, struct sl_batch *b, const Sluice__Object *o)
{
	struct sl_key k;
	int rc = 0;

	for (uint32_t i = 0; i < o->shard_count && !rc; i++) {
		Sluice__Shard *sh = NULL;

		sl_key_u32(sl_key_u64(sl_key_reset(&k), o->id), i);
		rc = sl_catalog_get(m->cat, SL_CF_SHARDS, k.b, k.len, &sluice__shard__descriptor,
				    (ProtobufCMessage **)&sh);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		sl_batch_delete(b, m->cat, SL_CF_SHARDS, k.b, k.len);
		for (size_t r = 0; r < sh->n_servers; r++) {
			struct sl_key d;
			uint64_t tenant = htobe64(o->tenant_id);

			sl_key_u32(sl_key_u64(sl_key_u32(sl_key_reset(&d), sh->servers[r]), o->id), i);
			sl_batch_put(b, m->cat, SL_CF_DROPS, d.b, d.len, &tenant, 8);
		}
		sluice__shard__free_unpacked(sh, NULL);
	}
	return rc;
}

/* Abandons one expired pending object within batch b. */
static int abandon(struct sl_meta *m, struct sl_batch *b, const Sluice__Object *o)
{
	struct sl_key k;
	int rc = sl_drops_queue(m, b, o);

	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), o->id);
	sl_batch_delete(b, m->cat, SL_CF_OBJECTS, k.b, k.len);
	return rc;
}

struct sweep {
	uint64_t cutoff_ms;
	struct sl_collect expired;
};

static int pick_expired(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
			size_t vlen)
{
	struct sweep *sw = arg;
	Sluice__Object *o = sluice__object__unpack(NULL, vlen, val);
	int rc;

	if (!o)
		return -EIO;
	if (o->created_ms >= sw->cutoff_ms) {
		sluice__object__free_unpacked(o, NULL);
		return 0;
	}
	sluice__object__free_unpacked(o, NULL);
	rc = sl_collect_one(&sw->expired, key, klen, val, vlen);
	return rc;
}

int sl_sweep_pending(struct sl_meta *m, uint64_t now_ms)
{
	struct sweep sw = { .expired = { .desc = &sluice__object__descriptor, .limit = 64 } };
	uint64_t expiry = (uint64_t)m->cfg.pending_expiry_s * 1000u;
	int rc, done = 0;

	sw.cutoff_ms = now_ms > expiry ? now_ms - expiry : 0;
	rc = sl_catalog_scan(m->cat, SL_CF_OBJECTS, "p", 1, NULL, 0, pick_expired, &sw);
	for (size_t i = 0; !rc && i < sw.expired.n; i++) {
		const Sluice__Object *o = sw.expired.items[i];
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
		struct sl_batch *b = sl_batch_new();
		char what[1100];

		if (!b) {
			rc = -ENOMEM;
			break;
		}
		/* Under the mutation lock, and only if it is still pending: a
		 * PUT_COMMIT that landed since the scan wins. */
		pthread_mutex_lock(&m->mutate_lock);
		{
			struct sl_key k;
			uint8_t *val = NULL;
			size_t vlen;

			sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), o->id);
			rc = sl_catalog_get_raw(m->cat, SL_CF_OBJECTS, k.b, k.len, &val, &vlen);
			free(val);
			if (rc == -ENOENT) {
				pthread_mutex_unlock(&m->mutate_lock);
				sl_batch_free(b);
				rc = 0;
				continue;
			}
		}
		rc = rc ? rc : abandon(m, b, o);
		snprintf(what, sizeof(what), "%s/%s", o->ns, o->name);
		a.event = (char *)"object.abandon";
		a.tenant_id = o->tenant_id;
		a.principal_id = o->creator_id;
		a.object = what;
		a.object_id = o->id;
		a.decision = (char *)"done";
		a.reason = (char *)"not committed before pending-expiry-s";
		rc = rc ? rc : sl_audit_commit(m, &a, b);
		pthread_mutex_unlock(&m->mutate_lock);
		sl_batch_free(b);
		if (!rc) {
			done++;
			SL_INFO("abandoned the pending ingest of %s (object %llu)", what,
				(unsigned long long)o->id);
		}
	}
	sl_collect_free(&sw.expired);
	return rc ? rc : done;
}

static void *sweeper_main(void *arg)
{
	struct sl_meta *m = arg;
	uint32_t interval_ms = m->cfg.pending_expiry_s * 500u;

	if (interval_ms > 60000u)
		interval_ms = 60000u;
	while (!m->stopping) {
		sl_sleep_unless(&m->stopping, interval_ms);
		if (!m->stopping) {
			int rc = sl_sweep_pending(m, sl_now_ms());

			if (rc < 0)
				SL_WARN("sweeping pending ingests: %s", strerror(-rc));
		}
	}
	return NULL;
}

int sl_sweeper_start(struct sl_meta *m)
{
	int rc = pthread_create(&m->sweeper, NULL, sweeper_main, m);

	if (rc)
		return -rc;
	m->sweeper_started = 1;
	return 0;
}

void sl_sweeper_stop(struct sl_meta *m)
{
	if (m->sweeper_started)
		pthread_join(m->sweeper, NULL);
	m->sweeper_started = 0;
}

struct drop_list {
	Sluice__ShardRef *refs;
	size_t n;
};

static int pick_drop(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct drop_list *l = arg;
	Sluice__ShardRef *r;
	uint64_t object, tenant;
	uint32_t index;

	if (l->n == SL_DROPS_PER_HEARTBEAT)
		return 1;
	if (klen != 16 || vlen != 8)
		return -EIO;
	memcpy(&object, key + 4, 8);
	memcpy(&index, key + 12, 4);
	memcpy(&tenant, val, 8);
	r = &l->refs[l->n++];
	sluice__shard_ref__init(r);
	r->object_id = be64toh(object);
	r->index = be32toh(index);
	r->tenant_id = be64toh(tenant);
	return 0;
}

int sl_drops_exchange(struct sl_meta *m, uint32_t server, Sluice__ShardRef **done, size_t n_done,
		      Sluice__HeartbeatResp *resp, Sluice__ShardRef **store)
{
	struct drop_list l = { calloc(SL_DROPS_PER_HEARTBEAT, sizeof(*l.refs)), 0 };
	struct sl_key k;
	int rc = 0;

	*store = l.refs;
	if (!l.refs)
		return -ENOMEM;
	if (n_done) {
		struct sl_batch *b = sl_batch_new();

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < n_done; i++) {
			sl_key_u32(sl_key_u64(sl_key_u32(sl_key_reset(&k), server), done[i]->object_id),
				   done[i]->index);
			sl_batch_delete(b, m->cat, SL_CF_DROPS, k.b, k.len);
		}
		rc = sl_catalog_commit(m->cat, b);
		sl_batch_free(b);
		if (rc)
			return rc;
	}
	sl_key_u32(sl_key_reset(&k), server);
	rc = sl_catalog_scan(m->cat, SL_CF_DROPS, k.b, k.len, NULL, 0, pick_drop, &l);
	if (rc)
		return rc;
	resp->drop = calloc(l.n + 1, sizeof(*resp->drop));
	if (!resp->drop)
		return -ENOMEM;
	for (size_t i = 0; i < l.n; i++)
		resp->drop[i] = &l.refs[i];
	resp->n_drop = l.n;
	return 0;
}
