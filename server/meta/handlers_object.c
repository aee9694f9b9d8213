/*
 * Object handlers: the two-phase put (PUT_BEGIN leaves a pending record that
 * no reader can name; PUT_COMMIT makes it visible in one atomic batch), stat,
 * list, the governed read grant and tag changes. All lookups are keyed by the
 * caller's own tenant, so another tenant's object answers exactly like a
 * missing one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"
#include "placement.h"
#include "sl_log.h"
#include "sl_time.h"

#define SL_OBJECT_SIZE_MAX (1ull << 40)
#define SL_LIST_LIMIT 1000
/* 64 Ki shards: about 1.5 MiB of plan, well inside SL_FRAME_MAX. */
#define SL_OBJECT_SHARDS_MAX 65536u

static int may_write(const struct sl_caller *c)
{
	return c->p && (sl_has_role(c->p, "writer") || sl_has_role(c->p, "admin"));
}

static int may_read(const struct sl_caller *c)
{
	return c->p && (sl_has_role(c->p, "reader") || sl_has_role(c->p, "writer") ||
			sl_has_role(c->p, "admin"));
}

static void object_key(struct sl_key *k, uint64_t tenant, uint64_t ns_id, const char *name)
{
	sl_key_str(sl_key_u64(sl_key_u64(sl_key_tag(sl_key_reset(k), 'c'), tenant), ns_id), name);
}

/* Commits b, which writes object o, with the audit record of `event` by the caller. */
static int commit_object(struct sl_meta *m, struct sl_batch *b, const Sluice__Object *o,
			 const struct sl_caller *c, const char *event, const char *reason)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	char what[1100];

	snprintf(what, sizeof(what), "%s/%s", o->ns, o->name);
	a.event = (char *)event;
	a.tenant_id = o->tenant_id;
	a.principal_id = c->p->id;
	a.object = what;
	a.object_id = o->id;
	a.decision = (char *)"done";
	a.reason = (char *)reason;
	a.tags = o->tags;
	a.n_tags = o->n_tags;
	return sl_audit_commit(m, &a, b);
}

static int not_found(struct sl_reply *r, const char *ns, const char *name)
{
	return sl_fail(r, -ENOENT, "no such object: %s/%s", ns, name);
}

/* Mints a capability for ops on all shards of o, for principal p. */
static int mint(struct sl_meta *m, const Sluice__Principal *p, const Sluice__Object *o,
		unsigned ops, const char *purpose, uint64_t cap_id, uint64_t session,
		uint8_t out[SL_CAP_LEN], uint64_t *expiry)
{
	struct sl_cap cap = { 0 };
	uint32_t ttl_ms = m->cfg.cap_ttl_s * 1000u;

	if (ttl_ms > SL_CAP_MAX_TTL_MS)
		ttl_ms = SL_CAP_MAX_TTL_MS;
	cap.ops = (uint8_t)ops;
	cap.tenant = o->tenant_id;
	cap.principal = p->id;
	cap.object_id = o->id;
	cap.shard_first = 0;
	cap.shard_count = o->shard_count;
	cap.tag_epoch = o->tag_epoch;
	cap.issued_ms = sl_now_ms();
	cap.expiry_ms = cap.issued_ms + ttl_ms;
	cap.cap_id = cap_id;
	cap.session = session; /* data servers answer only the endpoint it names */
	if (purpose)
		memcpy(cap.purpose, purpose, strnlen(purpose, sizeof(cap.purpose)));
	*expiry = cap.expiry_ms;
	return sl_cap_mint(&cap, &m->keys, out);
}

/* Fills plan's servers with every server its shards name. */
static int plan_servers(struct sl_meta *m, Sluice__ObjectPlan *plan)
{
	uint32_t ids[SL_META_MAX_SERVERS];
	size_t n = 0;

	for (size_t i = 0; i < plan->n_shards; i++)
		for (size_t j = 0; j < plan->shards[i]->n_servers; j++) {
			uint32_t id = plan->shards[i]->servers[j];
			size_t k;

			for (k = 0; k < n && ids[k] != id; k++)
				;
			if (k == n && n < SL_META_MAX_SERVERS)
				ids[n++] = id;
		}
	return sl_registry_describe(m, ids, n, &plan->servers, &plan->n_servers);
}

/* Merges own tags over the namespace's defaults into a new array of pointers. */
static Sluice__Tag **merge_tags(Sluice__Tag **base, size_t nb, Sluice__Tag **own, size_t no,
				size_t *n_out)
{
	Sluice__Tag **t = calloc(nb + no + 1, sizeof(*t));
	size_t n = 0;

	if (!t)
		return NULL;
	for (size_t i = 0; i < nb; i++)
		if (!sl_tags_get(own, no, base[i]->key))
			t[n++] = base[i];
	for (size_t i = 0; i < no; i++)
		t[n++] = own[i];
	*n_out = n;
	return t;
}

static int check_tags(Sluice__Tag **tags, size_t n, struct sl_reply *r)
{
	const char *why;

	for (size_t i = 0; i < n; i++) {
		if (!sl_tag_valid(tags[i]->key, tags[i]->value, &why))
			return sl_fail(r, -EINVAL, "bad tag %s=%s: %s", tags[i]->key,
				       tags[i]->value, why);
		for (size_t j = 0; j < i; j++)
			if (strcmp(tags[i]->key, tags[j]->key) == 0)
				return sl_fail(r, -EINVAL, "tag %s given twice", tags[i]->key);
	}
	return 0;
}

int sl_h_put_begin(struct sl_meta *m, const struct sl_caller *c, const Sluice__PutBeginReq *req,
		   struct sl_reply *r)
{
	Sluice__Namespace *ns = NULL;
	Sluice__Object o = SLUICE__OBJECT__INIT, *old = NULL;
	Sluice__ObjectPlan plan = SLUICE__OBJECT_PLAN__INIT;
	Sluice__Shard *shards = NULL, **shard_ptrs = NULL;
	uint32_t live[SL_META_MAX_SERVERS], *placed = NULL;
	uint8_t cap[SL_CAP_LEN];
	struct sl_batch *b = NULL;
	struct sl_key k;
	size_t n_live, r_eff = 0;
	uint64_t count;
	int rc;

	if (!may_write(c))
		return sl_fail(r, -EPERM, "writing needs the writer role");
	if (!sl_cap_session(req->fabric_addr.data, req->fabric_addr.len))
		return sl_fail(r, -EINVAL, "the client's fabric address is required");
	if (!sl_object_name_valid(req->name))
		return sl_fail(r, -EINVAL,
			       "bad object name: 1-1024 bytes of UTF-8, no control characters, "
			       "no leading '/', no empty, '.' or '..' parts");
	if (req->size > SL_OBJECT_SIZE_MAX)
		return sl_fail(r, -EFBIG, "object too large (limit 1 TiB)");
	rc = check_tags(req->tags, req->n_tags, r);
	if (rc)
		return rc;
	rc = sl_ns_get(m, c->p->tenant_id, req->ns, &ns);
	if (rc)
		return rc == -ENOENT ? sl_fail(r, rc, "no such namespace: %s", req->ns)
				     : sl_fail(r, rc, "catalog read failed");

	rc = sl_object_get(m, c->p->tenant_id, req->ns, req->name, &old);
	if (rc != -ENOENT) {
		rc = rc ? sl_fail(r, rc, "catalog read failed")
			: sl_fail(r, -EEXIST, "object already exists: %s/%s", req->ns, req->name);
		goto out;
	}
	count = (req->size + ns->shard_size - 1) / ns->shard_size;
	/* The plan and the commit travel in one frame each: bound their size. */
	if (count > SL_OBJECT_SHARDS_MAX) {
		rc = sl_fail(r, -EFBIG, "object too large for namespace %s: at most %u shards of %u bytes",
			     req->ns, SL_OBJECT_SHARDS_MAX, ns->shard_size);
		goto out;
	}
	n_live = sl_registry_live(m, live, SL_META_MAX_SERVERS);
	if (count && n_live == 0) {
		rc = sl_fail(r, -EHOSTDOWN, "no data servers are up");
		goto out;
	}
	r_eff = ns->replicas < n_live ? ns->replicas : n_live;

	o.tenant_id = c->p->tenant_id;
	o.ns_id = ns->id;
	o.ns = req->ns;
	o.name = req->name;
	o.size = req->size;
	o.shard_size = ns->shard_size;
	o.shard_count = (uint32_t)count;
	o.state = SLUICE__OBJECT_STATE__OBJECT_PENDING;
	o.created_ms = sl_now_ms();
	o.tag_epoch = 1;
	o.creator_id = c->p->id;
	o.tags = merge_tags(ns->tags, ns->n_tags, req->tags, req->n_tags, &o.n_tags);
	shards = calloc(count + 1, sizeof(*shards));
	shard_ptrs = calloc(count + 1, sizeof(*shard_ptrs));
	placed = calloc((count + 1) * (r_eff + 1), sizeof(*placed));
	b = sl_batch_new();
	if (!o.tags || !shards || !shard_ptrs || !placed || !b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}

	rc = 0;
	pthread_mutex_lock(&m->mutate_lock);
	o.id = sl_batch_alloc_id(b, m->cat);
	for (uint64_t i = 0; i < count; i++) {
		Sluice__Shard *s = &shards[i];
		uint64_t end = (i + 1) * ns->shard_size;

		sluice__shard__init(s);
		s->index = (uint32_t)i;
		s->length = (uint32_t)((end > req->size ? req->size : end) - i * ns->shard_size);
		s->servers = placed + i * r_eff;
		s->n_servers = sl_place(live, n_live, o.id, (uint32_t)i, (uint32_t)r_eff,
					s->servers);
		shard_ptrs[i] = s;
		sl_key_u32(sl_key_u64(sl_key_reset(&k), o.id), (uint32_t)i);
		rc = sl_batch_put_msg(b, m->cat, SL_CF_SHARDS, k.b, k.len, &s->base);
		if (rc)
			break;
	}
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), o.id);
	rc = rc ? rc : sl_batch_put_msg(b, m->cat, SL_CF_OBJECTS, k.b, k.len, &o.base);
	rc = rc ? rc : sl_catalog_commit(m->cat, b);
	pthread_mutex_unlock(&m->mutate_lock);
	if (rc) {
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}

	plan.object = &o;
	plan.shards = shard_ptrs;
	plan.n_shards = count;
	rc = mint(m, c->p, &o, SL_CAP_OP_WRITE, "ingest", o.id,
		  sl_cap_session(req->fabric_addr.data, req->fabric_addr.len), cap, &plan.expires_ms);
	rc = rc ? rc : plan_servers(m, &plan);
	if (rc) {
		sl_fail(r, rc, "cannot build the write plan");
		goto out;
	}
	plan.capability = (ProtobufCBinaryData){ sizeof(cap), cap };
	rc = sl_reply_pack(r, &plan.base);
	sl_registry_free_list(plan.servers, plan.n_servers);
	SL_DEBUG("put: %s/%s pending as object %llu, %llu shards x %zu replicas", req->ns,
		 req->name, (unsigned long long)o.id, (unsigned long long)count, r_eff);
out:
	free(o.tags);
	free(shards);
	free(shard_ptrs);
	free(placed);
	sl_batch_free(b);
	if (old)
		sluice__object__free_unpacked(old, NULL);
	sluice__namespace__free_unpacked(ns, NULL);
	return rc;
}

int sl_h_put_commit(struct sl_meta *m, const struct sl_caller *c, const Sluice__PutCommitReq *req,
		    struct sl_reply *r)
{
	Sluice__Object *o = NULL, *old = NULL;
	Sluice__Shard **shards = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	int rc;

	if (!may_write(c))
		return sl_fail(r, -EPERM, "writing needs the writer role");
	pthread_mutex_lock(&m->mutate_lock);
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), req->object_id);
	rc = sl_catalog_get(m->cat, SL_CF_OBJECTS, k.b, k.len, &sluice__object__descriptor,
			    (ProtobufCMessage **)&o);
	if (rc == -ENOENT || (!rc && (o->tenant_id != c->p->tenant_id ||
				      o->creator_id != c->p->id))) {
		rc = sl_fail(r, -ENOENT, "no such pending object");
		goto out;
	}
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	if (req->sha256.len != 32 || req->n_shards != o->shard_count) {
		rc = sl_fail(r, -EINVAL, "commit must list every shard and the SHA-256");
		goto out;
	}
	rc = sl_shards_get(m, o->id, o->shard_count, &shards);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	rc = sl_object_get(m, o->tenant_id, o->ns, o->name, &old);
	if (rc != -ENOENT) {
		rc = rc ? sl_fail(r, rc, "catalog read failed")
			: sl_fail(r, -EEXIST, "object already exists: %s/%s", o->ns, o->name);
		goto out;
	}
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < o->shard_count; i++) {
		const Sluice__Shard *got = req->shards[i];

		if (got->index != i || got->length != shards[i]->length) {
			rc = sl_fail(r, -EINVAL, "shard %u does not match the plan", i);
			goto out;
		}
		shards[i]->crc32c = got->crc32c;
		sl_key_u32(sl_key_u64(sl_key_reset(&k), o->id), i);
		rc = sl_batch_put_msg(b, m->cat, SL_CF_SHARDS, k.b, k.len, &shards[i]->base);
		if (rc)
			goto out;
	}
	o->state = SLUICE__OBJECT_STATE__OBJECT_COMMITTED;
	o->sha256 = req->sha256;
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'p'), o->id);
	sl_batch_delete(b, m->cat, SL_CF_OBJECTS, k.b, k.len);
	object_key(&k, o->tenant_id, o->ns_id, o->name);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_OBJECTS, k.b, k.len, &o->base);
	rc = rc ? rc : commit_object(m, b, o, c, "object.put", NULL);
	if (rc) {
		o->sha256 = (ProtobufCBinaryData){ 0, NULL };
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	rc = sl_reply_pack(r, &o->base);
	/* The request owns sha256's bytes: unlink them before o is freed. */
	o->sha256 = (ProtobufCBinaryData){ 0, NULL };
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_batch_free(b);
	if (o)
		sl_shards_free(shards, o->shard_count);
	if (old)
		sluice__object__free_unpacked(old, NULL);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	return rc;
}

/* Looks up a visible object of the caller's tenant and its shards into plan. */
static int plan_for(struct sl_meta *m, const struct sl_caller *c, const char *ns,
		    const char *name, Sluice__ObjectPlan *plan, struct sl_reply *r)
{
	Sluice__Object *o = NULL;
	int rc;

	if (!may_read(c))
		return sl_fail(r, -EPERM, "reading needs a reader, writer or admin role");
	rc = sl_object_get(m, c->p->tenant_id, ns, name, &o);
	if (rc == -ENOENT)
		return not_found(r, ns, name);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	rc = sl_shards_get(m, o->id, o->shard_count, &plan->shards);
	if (rc) {
		sluice__object__free_unpacked(o, NULL);
		return sl_fail(r, rc, "catalog read failed");
	}
	plan->n_shards = o->shard_count;
	plan->object = o;
	return 0;
}

static void plan_free(Sluice__ObjectPlan *plan)
{
	if (plan->object) {
		sl_shards_free(plan->shards, plan->object->shard_count);
		sluice__object__free_unpacked(plan->object, NULL);
	}
	sl_registry_free_list(plan->servers, plan->n_servers);
}

int sl_h_stat(struct sl_meta *m, const struct sl_caller *c, const Sluice__ObjectRef *req,
	      struct sl_reply *r)
{
	Sluice__ObjectPlan plan = SLUICE__OBJECT_PLAN__INIT;
	int rc = plan_for(m, c, req->ns, req->name, &plan, r);

	if (rc)
		return rc;
	rc = plan_servers(m, &plan);
	rc = rc ? sl_fail(r, rc, "out of memory") : sl_reply_pack(r, &plan.base);
	plan_free(&plan);
	return rc;
}

int sl_h_grant(struct sl_meta *m, const struct sl_caller *c, const Sluice__GrantReq *req,
	       struct sl_reply *r)
{
	Sluice__ObjectPlan plan = SLUICE__OBJECT_PLAN__INIT;
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	uint8_t cap[SL_CAP_LEN];
	const char *reason;
	char what[1100];
	uint64_t cap_id;
	int rc, decision;

	if (!sl_cap_session(req->fabric_addr.data, req->fabric_addr.len))
		return sl_fail(r, -EINVAL, "the client's fabric address is required");
	rc = plan_for(m, c, req->ns, req->name, &plan, r);
	if (rc)
		return rc;
	decision = sl_gov_decide_read(c->p, plan.object, req->purpose, &reason);
	sl_random_bytes(&cap_id, sizeof(cap_id));
	snprintf(what, sizeof(what), "%s/%s", req->ns, req->name);
	a.event = (char *)"read.grant";
	a.tenant_id = c->p->tenant_id;
	a.principal_id = c->p->id;
	a.purpose = req->purpose;
	a.object = what;
	a.object_id = plan.object->id;
	a.decision = decision ? (char *)"deny" : (char *)"allow";
	a.reason = (char *)reason;
	a.cap_id = decision ? 0 : cap_id;
	a.tags = plan.object->tags;
	a.n_tags = plan.object->n_tags;
	rc = sl_audit_commit(m, &a, NULL);
	if (rc) {
		/* No record, no read. */
		rc = sl_fail(r, -EIO, "audit log unavailable");
		goto out;
	}
	if (decision) {
		rc = sl_fail(r, -EACCES, "access denied: %s/%s for purpose '%s'", req->ns, req->name,
			     req->purpose);
		goto out;
	}
	rc = mint(m, c->p, plan.object, SL_CAP_OP_READ, req->purpose, cap_id,
		  sl_cap_session(req->fabric_addr.data, req->fabric_addr.len), cap,
		  &plan.expires_ms);
	rc = rc ? rc : plan_servers(m, &plan);
	if (rc) {
		sl_fail(r, rc, "cannot mint the capability");
		goto out;
	}
	plan.capability = (ProtobufCBinaryData){ sizeof(cap), cap };
	rc = sl_reply_pack(r, &plan.base);
out:
	plan.capability = (ProtobufCBinaryData){ 0, NULL };
	plan_free(&plan);
	return rc;
}

int sl_h_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__ListReq *req,
	      struct sl_reply *r)
{
	Sluice__ListResp resp = SLUICE__LIST_RESP__INIT;
	Sluice__Namespace *ns = NULL;
	struct sl_collect col = { .desc = &sluice__object__descriptor };
	struct sl_key prefix, after;
	int rc;

	if (!may_read(c))
		return sl_fail(r, -EPERM, "listing needs a reader, writer or admin role");
	rc = sl_ns_get(m, c->p->tenant_id, req->ns, &ns);
	if (rc)
		return rc == -ENOENT ? sl_fail(r, rc, "no such namespace: %s", req->ns)
				     : sl_fail(r, rc, "catalog read failed");
	if (strlen(req->prefix) > SL_OBJECT_NAME_MAX || strlen(req->start_after) > SL_OBJECT_NAME_MAX) {
		sluice__namespace__free_unpacked(ns, NULL);
		return sl_fail(r, -EINVAL, "prefix too long");
	}
	col.limit = req->limit && req->limit < SL_LIST_LIMIT ? req->limit : SL_LIST_LIMIT;
	object_key(&prefix, c->p->tenant_id, ns->id, req->prefix);
	object_key(&after, c->p->tenant_id, ns->id, req->start_after);
	rc = sl_catalog_scan(m->cat, SL_CF_OBJECTS, prefix.b, prefix.len,
			     req->start_after[0] ? after.b : NULL, after.len, sl_collect_one, &col);
	if (!rc) {
		resp.objects = (Sluice__Object **)col.items;
		resp.n_objects = col.n;
		resp.truncated = col.truncated;
		rc = sl_reply_pack(r, &resp.base);
	} else {
		sl_fail(r, rc, "catalog read failed");
	}
	sl_collect_free(&col);
	sluice__namespace__free_unpacked(ns, NULL);
	return rc;
}

int sl_h_set_tags(struct sl_meta *m, const struct sl_caller *c, const Sluice__SetTagsReq *req,
		  struct sl_reply *r)
{
	Sluice__Object *o = NULL;
	Sluice__Tag **own = NULL, **merged = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	char change[600];
	size_t n_own = 0, n_merged;
	int rc;

	if (!may_write(c))
		return sl_fail(r, -EPERM, "changing tags needs the writer role");
	rc = check_tags(req->set, req->n_set, r);
	if (rc)
		return rc;
	for (size_t i = 0; i < req->n_remove; i++)
		if (strcmp(req->remove[i], "classification") == 0)
			return sl_fail(r, -EINVAL, "classification cannot be removed, only changed");

	pthread_mutex_lock(&m->mutate_lock);
	rc = sl_object_get(m, c->p->tenant_id, req->ns, req->name, &o);
	if (rc) {
		rc = rc == -ENOENT ? not_found(r, req->ns, req->name)
				   : sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	if (sl_tags_lower(o->tags, o->n_tags, req->set, req->n_set, req->remove, req->n_remove) &&
	    !sl_has_role(c->p, "admin")) {
		rc = sl_fail(r, -EPERM, "lowering classification or pii needs the admin role");
		goto out;
	}
	own = calloc(o->n_tags + 1, sizeof(*own));
	if (!own) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o->n_tags; i++) {
		int removed = 0;

		for (size_t j = 0; j < req->n_remove; j++)
			removed |= strcmp(req->remove[j], o->tags[i]->key) == 0;
		if (!removed)
			own[n_own++] = o->tags[i];
	}
	merged = merge_tags(own, n_own, req->set, req->n_set, &n_merged);
	b = sl_batch_new();
	if (!merged || !b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	snprintf(change, sizeof(change), "classification %s -> %s",
		 sl_tags_get(o->tags, o->n_tags, "classification"),
		 sl_tags_get(merged, n_merged, "classification"));
	/* o's tag array stays owned by o; point at the merged view only to pack. */
	{
		Sluice__Tag **keep = o->tags;
		size_t keep_n = o->n_tags;

		o->tags = merged;
		o->n_tags = n_merged;
		o->tag_epoch++;
		object_key(&k, o->tenant_id, o->ns_id, o->name);
		rc = sl_batch_put_msg(b, m->cat, SL_CF_OBJECTS, k.b, k.len, &o->base);
		rc = rc ? rc : commit_object(m, b, o, c, "object.tags", change);
		if (!rc) {
			rc = sl_reply_pack(r, &o->base);
		} else {
			sl_fail(r, rc, "catalog write failed");
		}
		o->tags = keep;
		o->n_tags = keep_n;
	}
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_batch_free(b);
	free(own);
	free(merged);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	return rc;
}
