/*
 * Handlers of a tenant's governance state: its policies (POLICY_SET, _GET,
 * _LIST, _RM, _EXPLAIN, _TEST) and its tag dictionary (TAGDEF_SET, _LIST).
 * Everything is the caller's own tenant's; policies are governance state, so
 * every policy RPC needs the admin role, as does changing the dictionary;
 * any principal of the tenant may read the dictionary (its writers tag by it).
 *
 * Every change, under m->mutate_lock and in one batch: materializes the
 * default set when the tenant had none stored (policy_store.h), writes the
 * change, bumps the tenant's policy epoch, raises the revocation watermark
 * to the new epoch on the data servers (sl_revoke_tenant, before the
 * commit, so capabilities minted under the old policies stop working the
 * moment the new ones are visible), and commits with its audit record
 * (old -> new version). A refused change is audited too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"
#include "policy_store.h"
#include "revoke.h"
#include "sl_log.h"
#include "sl_time.h"

/* Tuples (object, principal, purpose, action) one POLICY_TEST decides, and what it returns. */
#define SL_POLICY_TEST_OBJECTS 1000
#define SL_POLICY_TEST_PRINCIPALS 256
#define SL_POLICY_TEST_DECISIONS 250000u
#define SL_POLICY_TEST_CHANGES 1000
/* An audit reason's description of a dictionary entry. */
#define SL_TAGDEF_DESC 400

static const char *action_name(unsigned action)
{
	return action == SL_POL_STAT ? "stat" : "read";
}

/* Records a refused change in the caller's tenant. */
static void audit_refused(struct sl_meta *m, const struct sl_caller *c, const char *event,
			  const char *what, const char *reason)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	int rc;

	a.event = (char *)event;
	a.tenant_id = c->p->tenant_id;
	a.principal_id = c->p->id;
	a.object = (char *)what;
	a.decision = (char *)"deny";
	a.reason = (char *)reason;
	rc = sl_audit_commit(m, &a, NULL);
	if (rc)
		SL_ERR_RC(rc, "audit: refused %s not recorded", event);
}

/* The admin role, for governance state; a refused change is audited as event. */
static int need_admin(struct sl_meta *m, const struct sl_caller *c, const char *event,
		      const char *what, struct sl_reply *r)
{
	if (!c->p)
		return sl_fail(r, -EPERM, "not allowed for data servers");
	if (sl_has_role(c->p, "admin"))
		return 0;
	if (event)
		audit_refused(m, c, event, sl_name_valid(what) ? what : "", "needs the admin role");
	return sl_fail(r, -EPERM, "policies and the tag dictionary need the admin role");
}

/* A policy's text: 1..SL_POLICY_TEXT_MAX bytes of UTF-8, no control characters but newlines and tabs. */
static int text_valid(const char *t)
{
	size_t n = strnlen(t, SL_POLICY_TEXT_MAX + 1);
	char *copy;
	int ok;

	if (n == 0 || n > SL_POLICY_TEXT_MAX)
		return 0;
	copy = malloc(n + 1);
	if (!copy)
		return 0;
	for (size_t i = 0; i <= n; i++)
		copy[i] = t[i] == '\n' || t[i] == '\t' || t[i] == '\r' ? ' ' : t[i];
	ok = sl_text_valid(copy, 1, SL_POLICY_TEXT_MAX);
	free(copy);
	return ok;
}

static void rec_key(struct sl_key *k, char tag, uint64_t tenant, const char *name)
{
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(k), tag), tenant), name);
}

/* The index of policy name in v, or -1. */
static long view_find(const struct sl_pol_view *v, const char *name)
{
	for (size_t i = 0; i < v->set.n; i++)
		if (strcmp(v->names[i], name) == 0)
			return (long)i;
	return -1;
}

/* Policy i of v as a record; the default set's one is synthesized into *tmp. */
static const Sluice__PolicyRecord *view_rec(const struct sl_pol_view *v, size_t i,
					    Sluice__PolicyRecord *tmp)
{
	if (!v->default_set)
		return v->recs[i];
	sluice__policy_record__init(tmp);
	tmp->name = (char *)SL_POL_DEFAULT_NAME;
	tmp->text = (char *)sl_policy_default_text;
	tmp->version = 1;
	return tmp;
}

/* The last version name ever had in tenant (0: never stored). */
static int last_version(struct sl_meta *m, uint64_t tenant, const char *name, uint64_t *out)
{
	struct sl_key k;
	uint8_t *val = NULL;
	size_t vlen;
	int rc;

	rec_key(&k, 'v', tenant, name);
	rc = sl_catalog_get_raw(m->cat, SL_CF_POLICIES, k.b, k.len, &val, &vlen);
	*out = 0;
	if (rc == -ENOENT)
		return 0;
	if (!rc && vlen == 8) {
		memcpy(out, val, 8);
		*out = be64toh(*out);
	} else if (!rc) {
		rc = -EIO;
	}
	free(val);
	return rc;
}

/*
 * Commits b (the change) as the tenant's next epoch: materializes the
 * default set first when the tenant had no state, raises the revocation
 * watermark, then writes the state and the audit record with b. Under
 * m->mutate_lock.
 */
static int commit_change(struct sl_meta *m, const struct sl_caller *c, struct sl_batch *b,
			 const char *event, const char *what, const char *reason,
			 uint64_t *new_epoch, struct sl_reply *r)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	struct sl_batch *all = sl_batch_new();
	uint64_t tenant = c->p->tenant_id, epoch, now = sl_now_ms();
	int rc, stored;

	if (!all)
		return sl_fail(r, -ENOMEM, "out of memory");
	rc = sl_pol_epoch(m, tenant, &epoch, &stored);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	/* The default set goes first: the change's own writes of its keys win. */
	rc = stored ? 0 : sl_pol_materialize(m, all, tenant, now, c->p->name);
	rc = rc ? rc : sl_batch_append(all, b);
	rc = rc ? rc : sl_pol_state_put(m, all, tenant, epoch + 1, now);
	if (rc) {
		sl_fail(r, rc, "out of memory");
		goto out;
	}
	rc = sl_revoke_tenant(m, tenant, epoch + 1);
	if (rc) {
		SL_ERR_RC(rc, "%s: revocation to policy epoch %" PRIu64 " failed", event, epoch + 1);
		sl_fail(r, rc, "cannot revoke the capabilities the change affects; nothing changed");
		goto out;
	}
	a.event = (char *)event;
	a.tenant_id = tenant;
	a.principal_id = c->p->id;
	a.object = (char *)what;
	a.decision = (char *)"done";
	a.reason = (char *)reason;
	rc = sl_audit_commit(m, &a, all);
	if (rc) {
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	*new_epoch = epoch + 1;
out:
	sl_batch_free(all);
	return rc;
}

int sl_h_policy_set(struct sl_meta *m, const struct sl_caller *c, const Sluice__PolicySetReq *req,
		    struct sl_reply *r)
{
	Sluice__PolicyRecord rec = SLUICE__POLICY_RECORD__INIT;
	struct sl_pol_view *v = NULL;
	struct sl_policy *doc = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	char err[256], reason[192];
	uint64_t last, epoch, be;
	long at;
	int rc = need_admin(m, c, "policy.set", req->name, r);

	if (rc)
		return rc;
	if (!sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad policy name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (!text_valid(req->text))
		return sl_fail(r, -EINVAL, "bad policy text: 1-%d bytes of UTF-8, no control "
			       "characters but newlines and tabs", SL_POLICY_TEXT_MAX);
	rc = sl_policy_parse(req->text, strlen(req->text), &doc, err, sizeof(err));
	if (rc)
		return sl_fail(r, rc == -ENOMEM ? rc : -EINVAL, "policy %s: %s", req->name,
			       rc == -ENOMEM ? "out of memory" : err);

	pthread_mutex_lock(&m->mutate_lock);
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	/* Checked against the dictionary it will be decided with. */
	if (sl_policy_check(doc, v->set.defs, v->set.n_defs, err, sizeof(err))) {
		rc = sl_fail(r, -EINVAL, "policy %s: %s", req->name, err);
		goto out;
	}
	at = view_find(v, req->name);
	if (at < 0 && v->set.n >= SL_POLICIES_MAX) {
		rc = sl_fail(r, -EDQUOT, "a tenant has at most %d policies", SL_POLICIES_MAX);
		goto out;
	}
	rc = last_version(m, c->p->tenant_id, req->name, &last);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	if (at >= 0 && v->versions[at] > last)
		last = v->versions[at];
	rec.name = req->name;
	rec.text = req->text;
	rec.version = last + 1;
	rec.updated_ms = sl_now_ms();
	rec.updated_by = c->p->name;
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	be = htobe64(rec.version);
	rec_key(&k, 'v', c->p->tenant_id, req->name);
	sl_batch_put(b, m->cat, SL_CF_POLICIES, k.b, k.len, &be, sizeof(be));
	rec_key(&k, 'p', c->p->tenant_id, req->name);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_POLICIES, k.b, k.len, &rec.base);
	if (rc) {
		sl_fail(r, rc, "out of memory");
		goto out;
	}
	if (at >= 0)
		snprintf(reason, sizeof(reason), "policy %s v%" PRIu64 " -> v%" PRIu64, req->name,
			 v->versions[at], rec.version);
	else
		snprintf(reason, sizeof(reason), "policy %s (none) -> v%" PRIu64, req->name,
			 rec.version);
	rc = commit_change(m, c, b, "policy.set", req->name, reason, &epoch, r);
	rc = rc ? rc : sl_reply_pack(r, &rec.base);
	if (!rc)
		SL_DEBUG("policy.set: tenant %" PRIu64 " %s, epoch %" PRIu64, c->p->tenant_id,
			 reason, epoch);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_pol_view_put(m, v);
	sl_batch_free(b);
	sl_policy_free(doc);
	return rc;
}

int sl_h_policy_get(struct sl_meta *m, const struct sl_caller *c, const Sluice__PolicyNameReq *req,
		    struct sl_reply *r)
{
	Sluice__PolicyRecord tmp;
	struct sl_pol_view *v = NULL;
	long at;
	int rc = need_admin(m, c, NULL, NULL, r);

	if (rc)
		return rc;
	if (!sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad policy name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	at = view_find(v, req->name);
	rc = at < 0 ? sl_fail(r, -ENOENT, "no such policy: %s", req->name)
		    : sl_reply_pack(r, &view_rec(v, (size_t)at, &tmp)->base);
	sl_pol_view_put(m, v);
	return rc;
}

int sl_h_policy_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__Empty *req,
		     struct sl_reply *r)
{
	Sluice__PolicyListResp resp = SLUICE__POLICY_LIST_RESP__INIT;
	Sluice__PolicyRecord tmp, *one[1];
	struct sl_pol_view *v = NULL;
	int rc = need_admin(m, c, NULL, NULL, r);

	(void)req;
	if (rc)
		return rc;
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	if (!v->default_set) {
		resp.policies = v->recs;
	} else {
		one[0] = (Sluice__PolicyRecord *)view_rec(v, 0, &tmp);
		resp.policies = one;
	}
	resp.n_policies = v->set.n;
	resp.epoch = v->epoch;
	rc = sl_reply_pack(r, &resp.base);
	sl_pol_view_put(m, v);
	return rc;
}

int sl_h_policy_rm(struct sl_meta *m, const struct sl_caller *c, const Sluice__PolicyNameReq *req,
		   struct sl_reply *r)
{
	Sluice__PolicyRecord tmp;
	const Sluice__PolicyRecord *old;
	struct sl_pol_view *v = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	char reason[192];
	uint64_t epoch, be;
	long at;
	int rc = need_admin(m, c, "policy.rm", req->name, r);

	if (rc)
		return rc;
	if (!sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad policy name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	pthread_mutex_lock(&m->mutate_lock);
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	at = view_find(v, req->name);
	if (at < 0) {
		rc = sl_fail(r, -ENOENT, "no such policy: %s", req->name);
		goto out;
	}
	old = view_rec(v, (size_t)at, &tmp);
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	/* The version stays behind: a policy set again under the name goes on from it. */
	be = htobe64(old->version);
	rec_key(&k, 'v', c->p->tenant_id, req->name);
	sl_batch_put(b, m->cat, SL_CF_POLICIES, k.b, k.len, &be, sizeof(be));
	rec_key(&k, 'p', c->p->tenant_id, req->name);
	sl_batch_delete(b, m->cat, SL_CF_POLICIES, k.b, k.len);
	snprintf(reason, sizeof(reason), "policy %s v%" PRIu64 " -> (removed)", req->name,
		 old->version);
	rc = commit_change(m, c, b, "policy.rm", req->name, reason, &epoch, r);
	rc = rc ? rc : sl_reply_pack(r, &old->base);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_pol_view_put(m, v);
	sl_batch_free(b);
	return rc;
}

/* ---- the tag dictionary ------------------------------------------------------ */

/* A dictionary value: a tag value (validate.h) a policy can name: at most
 * SL_POLICY_VALUE_MAX bytes, none of the policy language's separators. */
static int dict_value_valid(const char *s)
{
	return sl_tag_value_valid(s) && strlen(s) <= SL_POLICY_VALUE_MAX &&
	       !strpbrk(s, " ,{}()=<>!#\"'");
}

/* "a < b < c, mandatory", "a, b", "any value" or "(none)", cut to len. */
static const char *def_describe(const Sluice__TagDef *d, char *out, size_t len)
{
	size_t used = 0;

	if (!d) {
		snprintf(out, len, "(none)");
		return out;
	}
	if (!d->n_values)
		used = (size_t)snprintf(out, len, "any value");
	for (size_t i = 0; i < d->n_values && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? (d->ordered ? " < " : ", ") : "", d->values[i]);
	if (d->mandatory && used < len)
		snprintf(out + used, len - used, ", mandatory");
	return out;
}

/* v's dictionary as TagDef messages pointing into it (*store: one block to free). */
static int dict_msgs(const struct sl_pol_view *v, Sluice__TagDef ***out, Sluice__TagDef **store)
{
	size_t n = v->set.n_defs;
	Sluice__TagDef **ptrs = calloc(n + 2, sizeof(*ptrs)); /* room for one more */
	Sluice__TagDef *defs = calloc(n + 2, sizeof(*defs));

	if (!ptrs || !defs) {
		free(ptrs);
		free(defs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_tagdef *d = &v->set.defs[i];

		sluice__tag_def__init(&defs[i]);
		defs[i].key = (char *)d->key;
		defs[i].values = (char **)d->values;
		defs[i].n_values = d->n_values;
		defs[i].ordered = d->ordered;
		defs[i].mandatory = d->mandatory;
		ptrs[i] = &defs[i];
	}
	*out = ptrs;
	*store = defs;
	return 0;
}

static int check_def(const Sluice__TagDef *d, int remove, struct sl_reply *r)
{
	const char *why;

	if (!d || !sl_tag_key_valid(d->key))
		return sl_fail(r, -EINVAL, "bad tag key: 1-64 characters of a-z, 0-9, '.', '_', '-', "
			       "starting with a letter");
	if (remove)
		return 0;
	if (sl_names_check(d->values, d->n_values, SL_TAGDEF_VALUES_MAX, dict_value_valid, &why))
		return sl_fail(r, -EINVAL, "bad values (at most %d, each 1-%d bytes of printable "
			       "UTF-8 without spaces or any of , { } ( ) = < > ! # \" '): %s",
			       SL_TAGDEF_VALUES_MAX, SL_POLICY_VALUE_MAX, why);
	if (d->ordered && !d->n_values)
		return sl_fail(r, -EINVAL, "an ordered key needs its values, least sensitive first");
	return 0;
}

int sl_h_tagdef_set(struct sl_meta *m, const struct sl_caller *c, const Sluice__TagDefSetReq *req,
		    struct sl_reply *r)
{
	Sluice__TagDefListResp resp = SLUICE__TAG_DEF_LIST_RESP__INIT;
	Sluice__TagDict dict = SLUICE__TAG_DICT__INIT;
	Sluice__TagDef **defs = NULL, *store = NULL, *old = NULL;
	struct sl_pol_view *v = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	char before[SL_TAGDEF_DESC], after[SL_TAGDEF_DESC], reason[2 * SL_TAGDEF_DESC + 80];
	const char *key = req->def && sl_tag_key_valid(req->def->key) ? req->def->key : "";
	size_t n, at;
	uint64_t epoch;
	int rc = need_admin(m, c, req->remove ? "tagdef.rm" : "tagdef.set", key, r);

	if (rc)
		return rc;
	rc = check_def(req->def, req->remove, r);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->mutate_lock);
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	rc = rc ? rc : dict_msgs(v, &defs, &store);
	if (rc) {
		sl_fail(r, rc, rc == -ENOMEM ? "out of memory" : "catalog read failed");
		goto out;
	}
	n = v->set.n_defs;
	for (at = 0; at < n && strcmp(defs[at]->key, key) != 0; at++)
		;
	old = at < n ? defs[at] : NULL;
	def_describe(old, before, sizeof(before));
	if (req->remove) {
		if (!old) {
			rc = sl_fail(r, -ENOENT, "no such tag key in the dictionary: %s", key);
			goto out;
		}
		memmove(&defs[at], &defs[at + 1], (n - at - 1) * sizeof(*defs));
		n--;
		snprintf(after, sizeof(after), "(removed)");
	} else {
		if (!old && n >= SL_TAGDEFS_MAX) {
			rc = sl_fail(r, -EDQUOT, "a dictionary has at most %d keys", SL_TAGDEFS_MAX);
			goto out;
		}
		defs[at] = req->def;
		n += !old;
		def_describe(req->def, after, sizeof(after));
	}
	snprintf(reason, sizeof(reason), "tagdef %s: %s -> %s", key, before, after);
	dict.defs = defs;
	dict.n_defs = n;
	dict.updated_ms = sl_now_ms();
	dict.updated_by = c->p->name;
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'd'), c->p->tenant_id);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_POLICIES, k.b, k.len, &dict.base);
	if (rc) {
		sl_fail(r, rc, "out of memory");
		goto out;
	}
	rc = commit_change(m, c, b, req->remove ? "tagdef.rm" : "tagdef.set", key, reason, &epoch,
			   r);
	if (rc)
		goto out;
	resp.defs = defs;
	resp.n_defs = n;
	resp.epoch = epoch;
	rc = sl_reply_pack(r, &resp.base);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_pol_view_put(m, v);
	sl_batch_free(b);
	free(defs);
	free(store);
	return rc;
}

int sl_h_tagdef_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__Empty *req,
		     struct sl_reply *r)
{
	Sluice__TagDefListResp resp = SLUICE__TAG_DEF_LIST_RESP__INIT;
	Sluice__TagDef *store = NULL;
	struct sl_pol_view *v = NULL;
	int rc;

	(void)req;
	if (!c->p)
		return sl_fail(r, -EPERM, "not allowed for data servers");
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	rc = rc ? rc : dict_msgs(v, &resp.defs, &store);
	if (rc) {
		sl_pol_view_put(m, v);
		return sl_fail(r, rc, rc == -ENOMEM ? "out of memory" : "catalog read failed");
	}
	resp.n_defs = v->set.n_defs;
	resp.builtin = v->builtin_dict;
	resp.epoch = v->epoch;
	rc = sl_reply_pack(r, &resp.base);
	free(resp.defs);
	free(store);
	sl_pol_view_put(m, v);
	return rc;
}

/* ---- explain and test ---------------------------------------------------------- */

/* What every read needs before policies are asked (handlers_object.c's may_read). */
static int reading_role(const Sluice__Principal *p)
{
	return sl_has_role(p, "reader") || sl_has_role(p, "writer") || sl_has_role(p, "admin");
}

/* The principal name of tenant, or -ENOENT. */
static int principal_by_name(struct sl_meta *m, uint64_t tenant, const char *name,
			     Sluice__Principal **out)
{
	struct sl_key k;
	uint8_t *kid = NULL;
	size_t klen;
	int rc;

	*out = NULL;
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'n'), tenant), name);
	rc = sl_catalog_get_raw(m->cat, SL_CF_PRINCIPALS, k.b, k.len, &kid, &klen);
	if (rc)
		return rc;
	sl_key_reset(&k);
	sl_key_tag(&k, 'k');
	if (klen > 64) {
		free(kid);
		return -EIO;
	}
	memcpy(k.b + k.len, kid, klen);
	k.len += klen;
	free(kid);
	rc = sl_catalog_get(m->cat, SL_CF_PRINCIPALS, k.b, k.len, &sluice__principal__descriptor,
			    (ProtobufCMessage **)out);
	if (!rc && (*out)->tenant_id != tenant) {
		sluice__principal__free_unpacked(*out, NULL);
		*out = NULL;
		rc = -EIO;
	}
	return rc == -ENOENT ? -EIO : rc; /* a name whose key is gone: the catalog is damaged */
}

static int parse_action(const char *s, unsigned *action)
{
	if (!s[0] || strcmp(s, "read") == 0)
		*action = SL_POL_READ;
	else if (strcmp(s, "stat") == 0)
		*action = SL_POL_STAT;
	else
		return -EINVAL;
	return 0;
}

int sl_h_policy_explain(struct sl_meta *m, const struct sl_caller *c,
			const Sluice__PolicyExplainReq *req, struct sl_reply *r)
{
	Sluice__PolicyDecision resp = SLUICE__POLICY_DECISION__INIT;
	Sluice__Principal *who = NULL;
	Sluice__Object *o = NULL;
	struct sl_pol_view *v = NULL;
	struct sl_pol_decision d;
	unsigned action;
	int rc = need_admin(m, c, NULL, NULL, r);

	if (rc)
		return rc;
	if (!sl_name_valid(req->ns) || !sl_object_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad object: NS/NAME");
	if (req->principal[0] && !sl_name_valid(req->principal))
		return sl_fail(r, -EINVAL, "bad principal name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (req->purpose[0] && !sl_name_valid(req->purpose))
		return sl_fail(r, -EINVAL, "bad purpose: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (parse_action(req->action, &action))
		return sl_fail(r, -EINVAL, "bad action: read or stat");
	if (req->principal[0]) {
		rc = principal_by_name(m, c->p->tenant_id, req->principal, &who);
		if (rc)
			return rc == -ENOENT ? sl_fail(r, rc, "no such principal: %s", req->principal)
					     : sl_fail(r, rc, "catalog read failed");
	}
	rc = sl_object_get(m, c->p->tenant_id, req->ns, req->name, &o);
	if (rc) {
		rc = rc == -ENOENT ? sl_fail(r, rc, "no such object: %s/%s", req->ns, req->name)
				   : sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	if (!reading_role(who ? who : c->p)) {
		memset(&d, 0, sizeof(d));
		snprintf(d.reason, sizeof(d.reason), "no role that may read");
	} else {
		sl_pol_decide_object(v, who ? who : c->p, o, req->purpose, action, &d);
	}
	resp.allow = d.allow;
	resp.policy = (char *)(d.policy ? d.policy : "");
	resp.version = d.policy ? d.version : 0;
	resp.rule = (char *)(d.rule ? d.rule : "");
	resp.reason = d.reason;
	resp.principal = who ? who->name : c->p->name;
	resp.purpose = req->purpose;
	resp.action = (char *)action_name(action);
	resp.epoch = v->epoch;
	rc = sl_reply_pack(r, &resp.base);
out:
	sl_pol_view_put(m, v);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	if (who)
		sluice__principal__free_unpacked(who, NULL);
	return rc;
}

/* Key ids of a tenant's principals (the values under "n" tenant), up to limit. */
struct key_ids {
	char (*ids)[65];
	size_t n, limit;
	int truncated;
};

static int key_id_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct key_ids *k = arg;

	(void)key;
	(void)klen;
	if (k->n == k->limit) {
		k->truncated = 1;
		return 1;
	}
	if (vlen > 64)
		return -EIO;
	memcpy(k->ids[k->n], val, vlen);
	k->ids[k->n++][vlen] = '\0';
	return 0;
}

static int tenant_principals(struct sl_meta *m, uint64_t tenant, struct sl_collect *out,
			     int *truncated)
{
	struct key_ids ids = { calloc(SL_POLICY_TEST_PRINCIPALS, sizeof(*ids.ids)), 0,
			       SL_POLICY_TEST_PRINCIPALS, 0 };
	struct sl_key k;
	int rc;

	if (!ids.ids)
		return -ENOMEM;
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'n'), tenant);
	rc = sl_catalog_scan(m->cat, SL_CF_PRINCIPALS, k.b, k.len, NULL, 0, key_id_one, &ids);
	for (size_t i = 0; !rc && i < ids.n; i++) {
		uint8_t *val = NULL;
		size_t vlen;

		sl_key_str(sl_key_tag(sl_key_reset(&k), 'k'), ids.ids[i]);
		rc = sl_catalog_get_raw(m->cat, SL_CF_PRINCIPALS, k.b, k.len, &val, &vlen);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		rc = rc ? rc : sl_collect_one(out, k.b, k.len, val, vlen);
		free(val);
	}
	*truncated = ids.truncated;
	free(ids.ids);
	return rc;
}

/* One decision that would change, with the strings its message points at. */
struct test_change {
	Sluice__PolicyChange msg;
	char object[SL_NAME_MAX + SL_OBJECT_NAME_MAX + 2];
	char before[256], after[256];
};

static void decided_by(const struct sl_pol_decision *d, char *out, size_t len)
{
	if (d->policy)
		snprintf(out, len, "%s v%" PRIu64 "/%s", d->policy, d->version,
			 d->rule ? d->rule : "-");
	else
		snprintf(out, len, "%s", d->reason);
}

int sl_h_policy_test(struct sl_meta *m, const struct sl_caller *c, const Sluice__PolicyTestReq *req,
		     struct sl_reply *r)
{
	Sluice__PolicyTestResp resp = SLUICE__POLICY_TEST_RESP__INIT;
	struct sl_collect objs = { .desc = &sluice__object__descriptor,
				   .limit = SL_POLICY_TEST_OBJECTS };
	struct sl_collect who = { .desc = &sluice__principal__descriptor };
	struct sl_pol_view *v = NULL;
	struct sl_policy *doc = NULL;
	struct sl_pol_set after;
	const struct sl_policy **docs = NULL;
	const char **names = NULL;
	uint64_t *versions = NULL;
	struct test_change *ch = NULL;
	const char *name;
	char err[256];
	size_t decided = 0;
	struct sl_key k;
	long at;
	int rc = need_admin(m, c, NULL, NULL, r), more_who = 0, stop = 0;

	if (rc)
		return rc;
	if (req->name[0] && !sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad policy name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (!text_valid(req->text))
		return sl_fail(r, -EINVAL, "bad policy text: 1-%d bytes of UTF-8, no control "
			       "characters but newlines and tabs", SL_POLICY_TEXT_MAX);
	rc = sl_policy_parse(req->text, strlen(req->text), &doc, err, sizeof(err));
	if (rc)
		return sl_fail(r, rc == -ENOMEM ? rc : -EINVAL, "policy: %s",
			       rc == -ENOMEM ? "out of memory" : err);
	name = req->name[0] ? req->name : sl_policy_rule_name(doc, 0);
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	if (sl_policy_check(doc, v->set.defs, v->set.n_defs, err, sizeof(err))) {
		rc = sl_fail(r, -EINVAL, "policy %s: %s", name, err);
		goto out;
	}
	/* The set as it would be: the document replaces its namesake or joins. */
	docs = calloc(v->set.n + 1, sizeof(*docs));
	names = calloc(v->set.n + 1, sizeof(*names));
	versions = calloc(v->set.n + 1, sizeof(*versions));
	ch = calloc(SL_POLICY_TEST_CHANGES, sizeof(*ch));
	resp.changes = calloc(SL_POLICY_TEST_CHANGES, sizeof(*resp.changes));
	if (!docs || !names || !versions || !ch || !resp.changes) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(docs, v->set.docs, v->set.n * sizeof(*docs));
	memcpy(names, v->set.names, v->set.n * sizeof(*names));
	memcpy(versions, v->set.versions, v->set.n * sizeof(*versions));
	after = v->set;
	at = view_find(v, name);
	resp.replaces = at >= 0;
	if (at < 0)
		at = (long)after.n++;
	docs[at] = doc;
	names[at] = name;
	versions[at] = at < (long)v->set.n ? versions[at] + 1 : 1;
	after.docs = docs;
	after.names = names;
	after.versions = versions;

	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'c'), c->p->tenant_id);
	rc = sl_catalog_scan(m->cat, SL_CF_OBJECTS, k.b, k.len, NULL, 0, sl_collect_one, &objs);
	rc = rc ? rc : tenant_principals(m, c->p->tenant_id, &who, &more_who);
	if (rc) {
		sl_fail(r, rc, rc == -ENOMEM ? "out of memory" : "catalog read failed");
		goto out;
	}
	for (size_t i = 0; i < objs.n && !stop; i++) {
		const Sluice__Object *o = objs.items[i];

		for (size_t j = 0; j < who.n && !stop; j++) {
			const Sluice__Principal *p = who.items[j];

			if (!reading_role(p))
				continue; /* refused before policies, either way */
			for (size_t u = 0; u < p->n_purposes * 2 && !stop; u++) {
				unsigned action = u % 2 ? SL_POL_STAT : SL_POL_READ;
				const char *purpose = p->purposes[u / 2];
				struct sl_pol_decision d0, d1;
				struct test_change *t;

				if (++decided > SL_POLICY_TEST_DECISIONS) {
					stop = 1;
					break;
				}
				sl_pol_decide_object(v, p, o, purpose, action, &d0);
				sl_policy_decide(&after, &(struct sl_pol_request){
					&(struct sl_pol_subject){ p->name, p->roles, p->n_roles,
								  p->purposes, p->n_purposes,
								  p->clearance },
					action, purpose, o->tags, o->n_tags }, &d1);
				if (d0.allow == d1.allow)
					continue;
				if (resp.n_changes == SL_POLICY_TEST_CHANGES) {
					stop = 1;
					break;
				}
				t = &ch[resp.n_changes];
				sluice__policy_change__init(&t->msg);
				snprintf(t->object, sizeof(t->object), "%s/%s", o->ns, o->name);
				decided_by(&d0, t->before, sizeof(t->before));
				decided_by(&d1, t->after, sizeof(t->after));
				t->msg.object = t->object;
				t->msg.principal = p->name;
				t->msg.purpose = (char *)purpose;
				t->msg.action = (char *)action_name(action);
				t->msg.before = d0.allow;
				t->msg.after = d1.allow;
				t->msg.rule_before = t->before;
				t->msg.rule_after = t->after;
				resp.changes[resp.n_changes++] = &t->msg;
			}
		}
	}
	resp.truncated = objs.truncated || more_who || stop;
	resp.objects = (uint32_t)objs.n;
	resp.principals = (uint32_t)who.n;
	resp.name = (char *)name;
	rc = sl_reply_pack(r, &resp.base);
out:
	free(resp.changes);
	free(ch);
	free(docs);
	free(names);
	free(versions);
	sl_collect_free(&objs);
	sl_collect_free(&who);
	sl_pol_view_put(m, v);
	sl_policy_free(doc);
	return rc;
}
