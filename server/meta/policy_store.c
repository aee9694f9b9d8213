/* A tenant's stored policies and dictionary, and the cache of parsed sets; see policy_store.h. */
#include "policy_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "meta.h"
#include "sl_log.h"

static void state_key(struct sl_key *k, uint64_t tenant)
{
	sl_key_u64(sl_key_tag(sl_key_reset(k), 's'), tenant);
}

int sl_pol_epoch(struct sl_meta *m, uint64_t tenant, uint64_t *epoch, int *stored)
{
	Sluice__PolicyState *st = NULL;
	struct sl_key k;
	int rc;

	state_key(&k, tenant);
	rc = sl_catalog_get(m->cat, SL_CF_POLICIES, k.b, k.len, &sluice__policy_state__descriptor,
			    (ProtobufCMessage **)&st);
	*epoch = 0;
	*stored = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	*epoch = st->epoch;
	*stored = 1;
	sluice__policy_state__free_unpacked(st, NULL);
	return 0;
}

static void view_free(struct sl_pol_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->set.n; i++) {
		sl_policy_free(v->docs[i]);
		if (v->recs && v->recs[i])
			sluice__policy_record__free_unpacked(v->recs[i], NULL);
	}
	free(v->recs);
	free(v->docs);
	free(v->names);
	free(v->versions);
	free(v->defs);
	if (v->dict)
		sluice__tag_dict__free_unpacked(v->dict, NULL);
	free(v);
}

/* The tenant's stored dictionary as tagdefs pointing into it, or the built-in one. */
static int view_load_dict(struct sl_meta *m, struct sl_pol_view *v)
{
	struct sl_key k;
	int rc;

	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'd'), v->tenant);
	rc = sl_catalog_get(m->cat, SL_CF_POLICIES, k.b, k.len, &sluice__tag_dict__descriptor,
			    (ProtobufCMessage **)&v->dict);
	if (rc == -ENOENT) {
		v->dict = NULL;
		v->builtin_dict = 1;
		sl_tagdef_defaults(&v->set.defs, &v->set.n_defs);
		return 0;
	}
	if (rc)
		return rc;
	v->defs = calloc(v->dict->n_defs + 1, sizeof(*v->defs));
	if (!v->defs)
		return -ENOMEM;
	for (size_t i = 0; i < v->dict->n_defs; i++) {
		const Sluice__TagDef *d = v->dict->defs[i];

		v->defs[i] = (struct sl_tagdef){ d->key, (const char *const *)d->values,
						 d->n_values, d->ordered, d->mandatory };
	}
	v->set.defs = v->defs;
	v->set.n_defs = v->dict->n_defs;
	return 0;
}

static int view_alloc(struct sl_pol_view *v, size_t n)
{
	v->docs = calloc(n + 1, sizeof(*v->docs));
	v->names = calloc(n + 1, sizeof(*v->names));
	v->versions = calloc(n + 1, sizeof(*v->versions));
	return v->docs && v->names && v->versions ? 0 : -ENOMEM;
}

/* Builds the tenant's view at epoch from the catalog (outside every lock: parsing costs). */
static int view_build(struct sl_meta *m, uint64_t tenant, uint64_t epoch, int stored,
		      struct sl_pol_view **out)
{
	struct sl_pol_view *v = calloc(1, sizeof(*v));
	struct sl_collect col = { .desc = &sluice__policy_record__descriptor,
				  .limit = SL_POLICIES_MAX };
	struct sl_key k;
	char err[160];
	int rc;

	if (!v)
		return -ENOMEM;
	v->tenant = tenant;
	v->epoch = epoch;
	rc = view_load_dict(m, v);
	if (rc)
		goto out;
	if (!stored) {
		rc = view_alloc(v, 1);
		if (rc)
			goto out;
		rc = sl_policy_parse(sl_policy_default_text, strlen(sl_policy_default_text),
				     &v->docs[0], err, sizeof(err));
		if (rc) {
			SL_ERR_RC(rc, "the default policy does not parse: %s", err);
			goto out;
		}
		v->default_set = 1;
		v->names[0] = SL_POL_DEFAULT_NAME;
		v->versions[0] = 1;
		v->set.n = 1;
		goto done;
	}
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), tenant);
	rc = sl_catalog_scan(m->cat, SL_CF_POLICIES, k.b, k.len, NULL, 0, sl_collect_one, &col);
	rc = rc ? rc : view_alloc(v, col.n);
	if (rc)
		goto out;
	v->recs = (Sluice__PolicyRecord **)col.items;
	col.items = NULL;
	for (size_t i = 0; i < col.n; i++) {
		const Sluice__PolicyRecord *p = v->recs[i];

		/* Stored documents parsed when they were set; one that no longer
		 * does (a newer parser) stays NULL, which denies (fail closed). */
		if (sl_policy_parse(p->text, strlen(p->text), &v->docs[i], err, sizeof(err)))
			SL_ERR("tenant %" PRIu64 ": policy %s v%" PRIu64 " does not parse: %s",
			       tenant, p->name, p->version, err);
		v->names[i] = p->name;
		v->versions[i] = p->version;
		v->set.n++;
	}
done:
	v->set.docs = (const struct sl_policy *const *)v->docs;
	v->set.names = v->names;
	v->set.versions = v->versions;
	*out = v;
	v = NULL;
out:
	if (!col.items)
		col.n = 0; /* handed to the view */
	sl_collect_free(&col);
	view_free(v);
	return rc;
}

/* The slot of tenant's view in the cache, or of the one to replace. Under pol_lock. */
static size_t cache_slot(struct sl_meta *m, uint64_t tenant, int *found)
{
	size_t victim = 0, i;

	*found = 0;
	for (i = 0; i < SL_POL_CACHE_MAX; i++) {
		struct sl_pol_view *v = m->pol_cache[i];

		if (v && v->tenant == tenant) {
			*found = 1;
			return i;
		}
		if (!v)
			return i; /* views fill slots from the front and never leave holes */
		if (v->used < m->pol_cache[victim]->used)
			victim = i;
	}
	return victim;
}

/* Drops a view from the cache's hold; frees it when nobody uses it. Under pol_lock. */
static void cache_drop(struct sl_pol_view *v)
{
	v->cached = 0;
	if (!v->refs)
		view_free(v);
}

int sl_pol_view_get(struct sl_meta *m, uint64_t tenant, struct sl_pol_view **out)
{
	struct sl_pol_view *v = NULL, *built = NULL;
	uint64_t epoch;
	size_t slot;
	int rc, stored, found;

	*out = NULL;
	rc = sl_pol_epoch(m, tenant, &epoch, &stored);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->pol_lock);
	if (!m->pol_cache)
		m->pol_cache = calloc(SL_POL_CACHE_MAX, sizeof(*m->pol_cache));
	if (m->pol_cache) {
		slot = cache_slot(m, tenant, &found);
		if (found && m->pol_cache[slot]->epoch == epoch) {
			v = m->pol_cache[slot];
			v->refs++;
			v->used = ++m->pol_clock;
		}
	}
	pthread_mutex_unlock(&m->pol_lock);
	if (v) {
		*out = v;
		return 0;
	}

	rc = view_build(m, tenant, epoch, stored, &built);
	if (rc)
		return rc;
	built->refs = 1;
	pthread_mutex_lock(&m->pol_lock);
	if (m->pol_cache) {
		slot = cache_slot(m, tenant, &found);
		v = m->pol_cache[slot];
		if (found && v->epoch >= epoch) {
			/* Another request built it (or a newer one) meanwhile: share that. */
			v->refs++;
			v->used = ++m->pol_clock;
			pthread_mutex_unlock(&m->pol_lock);
			view_free(built);
			*out = v;
			return 0;
		}
		if (v)
			cache_drop(v);
		built->cached = 1;
		built->used = ++m->pol_clock;
		m->pol_cache[slot] = built;
	}
	pthread_mutex_unlock(&m->pol_lock);
	*out = built;
	return 0;
}

void sl_pol_view_put(struct sl_meta *m, struct sl_pol_view *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&m->pol_lock);
	v->refs--;
	if (!v->refs && !v->cached)
		view_free(v);
	pthread_mutex_unlock(&m->pol_lock);
}

void sl_pol_cache_free(struct sl_meta *m)
{
	for (size_t i = 0; m->pol_cache && i < SL_POL_CACHE_MAX; i++)
		if (m->pol_cache[i])
			cache_drop(m->pol_cache[i]);
	free(m->pol_cache);
	m->pol_cache = NULL;
}

void sl_pol_decide_object(const struct sl_pol_view *v, const Sluice__Principal *p,
			  const Sluice__Object *o, const char *purpose, unsigned action,
			  struct sl_pol_decision *d)
{
	struct sl_pol_subject who = { p->name, p->roles, p->n_roles, p->purposes, p->n_purposes,
				      p->clearance };
	struct sl_pol_request rq = { &who, action, purpose, o->tags, o->n_tags };

	if (p->tenant_id != o->tenant_id || v->tenant != o->tenant_id) {
		memset(d, 0, sizeof(*d));
		snprintf(d->reason, sizeof(d->reason), "tenant mismatch");
		return;
	}
	sl_policy_decide(&v->set, &rq, d);
}

const char *sl_pol_decision_text(const struct sl_pol_decision *d, uint64_t epoch, char *out,
				 size_t len)
{
	/* An allow or deny names its policy, version and rule already; a
	 * fail-closed rule names policy and rule but not the version. */
	if (d->policy && !strstr(d->reason, " version "))
		snprintf(out, len, "%s (policy %s version %" PRIu64 ", epoch %" PRIu64 ")",
			 d->reason, d->policy, d->version, epoch);
	else
		snprintf(out, len, "%s (epoch %" PRIu64 ")", d->reason, epoch);
	return out;
}

int sl_pol_state_put(struct sl_meta *m, struct sl_batch *b, uint64_t tenant, uint64_t epoch,
		     uint64_t now_ms)
{
	Sluice__PolicyState st = SLUICE__POLICY_STATE__INIT;
	struct sl_key k;

	st.epoch = epoch;
	st.updated_ms = now_ms;
	state_key(&k, tenant);
	return sl_batch_put_msg(b, m->cat, SL_CF_POLICIES, k.b, k.len, &st.base);
}

int sl_pol_materialize(struct sl_meta *m, struct sl_batch *b, uint64_t tenant, uint64_t now_ms,
		       const char *by)
{
	Sluice__PolicyRecord rec = SLUICE__POLICY_RECORD__INIT;
	struct sl_key k;
	uint64_t one = htobe64(1);

	rec.name = (char *)SL_POL_DEFAULT_NAME;
	rec.text = (char *)sl_policy_default_text;
	rec.version = 1;
	rec.updated_ms = now_ms;
	rec.updated_by = (char *)by;
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'v'), tenant), SL_POL_DEFAULT_NAME);
	sl_batch_put(b, m->cat, SL_CF_POLICIES, k.b, k.len, &one, sizeof(one));
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), tenant), SL_POL_DEFAULT_NAME);
	return sl_batch_put_msg(b, m->cat, SL_CF_POLICIES, k.b, k.len, &rec.base);
}
