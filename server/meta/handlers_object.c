/*
 * Object handlers: the two-phase put (PUT_BEGIN leaves a pending record that
 * no reader can name; PUT_COMMIT makes it visible in one atomic batch), stat,
 * list, the governed read grant, tag changes and deletion (DELETE takes the
 * object's records away in one atomic batch and queues its replicas for the
 * data servers to delete). All lookups are keyed by the caller's own tenant,
 * so another tenant's object answers exactly like a missing one.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"
#include "placement.h"
#include "policy_store.h"
#include "retention.h"
#include "revoke.h"
#include "sl_log.h"
#include "sl_time.h"

#define SL_OBJECT_SIZE_MAX (1ull << 40)
#define SL_LIST_LIMIT 1000
/* A listing page ends before its entries pack to more than this (a frame is 4 MiB). */
#define SL_LIST_BYTES_MAX (2u << 20)
/*
 * The plan (and the commit) of an object travel in one frame each
 * (SL_FRAME_MAX, 4 MiB). A Shard packs to at most 4 (index < 2^21) + 5
 * (length <= 16 MiB) + 6 (crc32c) + 2 + 16 x 5 (servers: up to 16 replicas,
 * any u32 id) + 34 (the 32-byte root) = 131 bytes, plus 3 of framing in the
 * repeated field: 134. 16 Ki shards are then at most 2.1 MiB, typically
 * (3 replicas, small ids) about 1 MiB, leaving room for the object record
 * (tags <= 64, about 21 KiB), up to 256 server records and the capability.
 */
#define SL_OBJECT_SHARDS_MAX 16384u

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

/* The action an audited event of this file is (the event's own word otherwise). */
static const char *event_action(const char *event)
{
	static const char *const map[][2] = {
		{ "read.grant", "read" },  { "object.stat", "stat" }, { "object.list", "list" },
		{ "object.put", "put" },   { "object.tags", "tag" },  { "object.delete", "delete" },
	};
	const char *dot = strchr(event, '.');

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(event, map[i][0]) == 0)
			return map[i][1];
	return dot ? dot + 1 : event;
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
	a.decision = (char *)"done";
	a.reason = (char *)reason;
	sl_audit_set_decider(&a, "meta", c->p, event_action(event));
	sl_audit_set_object(&a, o);
	return sl_audit_commit(m, &a, b);
}

static int not_found(struct sl_reply *r, const char *ns, const char *name)
{
	return sl_fail(r, -ENOENT, "no such object: %s/%s", ns, name);
}

/* The caller's tenant's committed object ns/name, or the one not-found answer. */
static int caller_object(struct sl_meta *m, const struct sl_caller *c, const char *ns,
			 const char *name, struct sl_reply *r, Sluice__Object **o)
{
	int rc = sl_object_get(m, c->p->tenant_id, ns, name, o);

	if (rc)
		rc = rc == -ENOENT ? not_found(r, ns, name) : sl_fail(r, rc, "catalog read failed");
	return rc;
}

/*
 * Mints plan's capabilities for ops on all shards of o, for principal p,
 * under the tenant's policy epoch policy_epoch (data servers refuse it once
 * the tenant's revocation watermark passes that epoch): one
 * per server of the plan (server_caps[i] for servers[i]), each under that
 * server's own key, so no data server holds a key that opens another.
 * plan->servers must be filled; the caller frees plan->server_caps[0].data
 * (one block) and plan->server_caps.
 */
static int mint(struct sl_meta *m, const Sluice__Principal *p, const Sluice__Object *o,
		unsigned ops, const char *purpose, uint64_t policy_epoch, uint64_t cap_id,
		uint64_t session, Sluice__ObjectPlan *plan, uint64_t *expiry)
{
	struct sl_cap cap = { 0 };
	struct sl_keyring kr;
	uint32_t gen = sl_revoke_mint_gen(m);
	uint8_t *store;
	int rc = 0;
	uint32_t ttl_ms = m->cfg.cap_ttl_s * 1000u;

	if (ttl_ms > SL_CAP_MAX_TTL_MS)
		ttl_ms = SL_CAP_MAX_TTL_MS;
	cap.ops = (uint8_t)ops;
	cap.tenant = o->tenant_id;
	cap.principal = p->id;
	cap.object_id = o->id;
	cap.object_version = o->created_ms; /* objects are immutable: a version is a commit */
	cap.shard_first = 0;
	cap.shard_count = o->shard_count;
	cap.tag_epoch = o->tag_epoch;
	cap.policy_epoch = policy_epoch;
	cap.issued_ms = sl_now_ms();
	cap.expiry_ms = cap.issued_ms + ttl_ms;
	cap.cap_id = cap_id;
	cap.session = session; /* data servers answer only the endpoint it names */
	if (purpose)
		memcpy(cap.purpose, purpose, strnlen(purpose, sizeof(cap.purpose)));
	*expiry = cap.expiry_ms;
	plan->server_caps = calloc(plan->n_servers + 1, sizeof(*plan->server_caps));
	store = malloc((plan->n_servers + 1) * SL_CAP_LEN);
	if (!plan->server_caps || !store) {
		free(plan->server_caps);
		plan->server_caps = NULL;
		free(store);
		return -ENOMEM;
	}
	for (size_t i = 0; i < plan->n_servers && !rc; i++) {
		plan->server_caps[i] = (ProtobufCBinaryData){ SL_CAP_LEN, store + i * SL_CAP_LEN };
		rc = sl_keyring_for_server_gen(&m->keys, plan->servers[i]->id, gen, &kr);
		rc = rc ? rc : sl_cap_mint(&cap, &kr, store + i * SL_CAP_LEN);
	}
	plan->server_caps[0].data = store; /* even with no servers: one block to free */
	plan->n_server_caps = plan->n_servers;
	OPENSSL_cleanse(&kr, sizeof(kr));
	return rc;
}

static void caps_free(Sluice__ObjectPlan *plan)
{
	if (plan->server_caps)
		free(plan->server_caps[0].data);
	free(plan->server_caps);
	plan->server_caps = NULL;
	plan->n_server_caps = 0;
}

/*
 * Takes fenced data servers (revoke.h: they missed a revocation) out of a
 * read plan's replica lists: a read is served by the others, or by none.
 */
static void drop_fenced(struct sl_meta *m, Sluice__ObjectPlan *plan)
{
	for (size_t i = 0; i < plan->n_shards; i++) {
		Sluice__Shard *s = plan->shards[i];
		size_t k = 0;

		for (size_t j = 0; j < s->n_servers; j++)
			if (sl_revoke_server_ok(m, s->servers[j]))
				s->servers[k++] = s->servers[j];
		s->n_servers = k;
	}
}

/*
 * SL_CAP_OP_AUDITED for an object classified confidential or above (or not
 * known to be below: fail closed): data servers serve it only while they
 * can get their refusals into the audit log.
 */
static unsigned audited(const Sluice__Object *o)
{
	int rank = sl_classification_rank(sl_tags_get(o->tags, o->n_tags, "classification"));

	return rank < 0 || rank >= sl_classification_rank("confidential") ? SL_CAP_OP_AUDITED : 0;
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

/* A request's tag set: limits, form, no key twice, the tenant's dictionary's values. */
static int check_tags(const struct sl_pol_view *v, Sluice__Tag **tags, size_t n,
		      struct sl_reply *r)
{
	char why[512];

	if (sl_gov_tags_check_defs(v->set.defs, v->set.n_defs, tags, n, why, sizeof(why)))
		return sl_fail(r, -EINVAL, "bad tags: %s", why);
	return 0;
}

/* Refuses a namespace or object name that no object can have. */
static int check_names(const char *ns, const char *name, struct sl_reply *r)
{
	if (!sl_name_valid(ns))
		return sl_fail(r, -EINVAL, "bad namespace name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (!sl_object_name_valid(name))
		return sl_fail(r, -EINVAL,
			       "bad object name: 1-1024 bytes of UTF-8, no control characters, "
			       "no leading '/', no empty, '.' or '..' parts");
	return 0;
}

/* A declared purpose: empty (which no rule allows) or a name. */
static int check_purpose(const char *purpose, struct sl_reply *r)
{
	if (purpose[0] && !sl_name_valid(purpose))
		return sl_fail(r, -EINVAL, "bad purpose: use 1-63 of a-z, 0-9, '.', '_', '-'");
	return 0;
}

static int audit_read(struct sl_meta *m, const struct sl_caller *c, const char *event,
		      const char *ns, const char *name, const char *purpose,
		      const Sluice__Object *o, const char *decision, const char *reason,
		      uint64_t cap_id);

/*
 * PUT_BEGIN: tags given need the ASSIGN right and the tenant's dictionary's
 * values, and may override the namespace's only toward more restrictive
 * (sl_gov_ns_floor; a refusal is audited). An object without a
 * classification gets internal, when the dictionary has that value.
 */
int sl_h_put_begin(struct sl_meta *m, const struct sl_caller *c, const Sluice__PutBeginReq *req,
		   struct sl_reply *r)
{
	Sluice__Tag cls = SLUICE__TAG__INIT;
	struct sl_pol_view *v = NULL;
	char why[512];
	Sluice__Namespace *ns = NULL;
	Sluice__Object o = SLUICE__OBJECT__INIT, *old = NULL;
	Sluice__Provenance prov = SLUICE__PROVENANCE__INIT;
	Sluice__ObjectPlan plan = SLUICE__OBJECT_PLAN__INIT;
	Sluice__Shard *shards = NULL, **shard_ptrs = NULL;
	uint32_t live[SL_META_MAX_SERVERS], *placed = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	size_t n_live, r_eff = 0;
	uint64_t count;
	int rc;

	if (!may_write(c))
		return sl_fail(r, -EPERM, "writing needs the writer role");
	if (!sl_cap_session(req->fabric_addr.data, req->fabric_addr.len))
		return sl_fail(r, -EINVAL, "the client's fabric address is required");
	rc = check_names(req->ns, req->name, r);
	if (rc)
		return rc;
	if (req->size > SL_OBJECT_SIZE_MAX)
		return sl_fail(r, -EFBIG, "object too large (limit 1 TiB)");
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	rc = check_tags(v, req->tags, req->n_tags, r);
	if (rc)
		goto out;
	if (!sl_text_valid(req->source, 0, SL_SOURCE_MAX)) {
		rc = sl_fail(r, -EINVAL, "bad source: at most %d bytes of UTF-8, no control "
			     "characters", SL_SOURCE_MAX);
		goto out;
	}
	if (req->n_tags && !sl_has_right(c->p, SL_RIGHT_ASSIGN)) {
		audit_read(m, c, "object.put", req->ns, req->name, "", NULL, "deny",
			   "setting tags without the assign right", 0);
		rc = sl_fail(r, -EPERM, "setting tags needs the assign right");
		goto out;
	}
	rc = sl_ns_get(m, c->p->tenant_id, req->ns, &ns);
	if (rc) {
		rc = rc == -ENOENT ? sl_fail(r, rc, "no such namespace: %s", req->ns)
				   : sl_fail(r, rc, "catalog read failed");
		goto out;
	}

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
	if (o.tags && sl_gov_ns_floor(v->set.defs, v->set.n_defs, ns->tags, ns->n_tags, o.tags,
				      o.n_tags, why, sizeof(why))) {
		audit_read(m, c, "object.put", req->ns, req->name, "", NULL, "deny", why, 0);
		rc = sl_fail(r, -EPERM, "bad tags: %s", why);
		goto out;
	}
	/* merge_tags leaves room for one more. */
	if (o.tags && !sl_tags_get(o.tags, o.n_tags, "classification") &&
	    sl_tagdef_rank(v->set.defs, v->set.n_defs, "classification", "internal") >= 0) {
		cls.key = (char *)"classification";
		cls.value = (char *)"internal";
		o.tags[o.n_tags++] = &cls;
	}
	if (o.tags && o.n_tags > SL_TAGS_MAX) {
		rc = sl_fail(r, -EINVAL, "bad tags: an object carries at most %d tags, "
			     "its namespace's included", SL_TAGS_MAX);
		goto out;
	}
	/* Provenance: the caller as authenticated, never as the client claims. */
	prov.principal_id = c->p->id;
	prov.principal_name = c->p->name;
	prov.source = req->source;
	prov.time_ms = o.created_ms;
	prov.tags = o.tags;
	prov.n_tags = o.n_tags;
	o.provenance = &prov;
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
	rc = plan_servers(m, &plan);
	rc = rc ? rc : mint(m, c->p, &o, SL_CAP_OP_WRITE, "ingest", v->epoch, o.id,
			    sl_cap_session(req->fabric_addr.data, req->fabric_addr.len), &plan,
			    &plan.expires_ms);
	if (rc) {
		sl_fail(r, rc, "cannot build the write plan");
		caps_free(&plan);
		sl_registry_free_list(plan.servers, plan.n_servers);
		goto out;
	}
	rc = sl_reply_pack(r, &plan.base);
	caps_free(&plan);
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
	sl_pol_view_put(m, v);
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
		ProtobufCBinaryData own;

		if (got->index != i || got->length != shards[i]->length) {
			rc = sl_fail(r, -EINVAL, "shard %u does not match the plan", i);
			goto out;
		}
		/* Readers verify every block against this root: no root, no object. */
		if (got->sha256.len != 32) {
			rc = sl_fail(r, -EINVAL, "shard %u lacks its SHA-256 root (32 bytes)", i);
			goto out;
		}
		shards[i]->crc32c = got->crc32c;
		/* The request owns the root's bytes: lend them only while packing. */
		own = shards[i]->sha256;
		shards[i]->sha256 = got->sha256;
		sl_key_u32(sl_key_u64(sl_key_reset(&k), o->id), i);
		rc = sl_batch_put_msg(b, m->cat, SL_CF_SHARDS, k.b, k.len, &shards[i]->base);
		shards[i]->sha256 = own;
		if (rc)
			goto out;
	}
	o->state = SLUICE__OBJECT_STATE__OBJECT_COMMITTED;
	o->sha256 = req->sha256;
	/* Ingested when it became visible. */
	if (o->provenance)
		o->provenance->time_ms = sl_now_ms();
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

/*
 * Records a read-side decision (GRANT, STAT, LIST) in the caller's tenant.
 * o is NULL when ns/name does not exist there: another tenant's name
 * answers exactly like a missing one, and guessing it leaves this trace.
 */
static int audit_read(struct sl_meta *m, const struct sl_caller *c, const char *event,
		      const char *ns, const char *name, const char *purpose,
		      const Sluice__Object *o, const char *decision, const char *reason,
		      uint64_t cap_id)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	char what[SL_NAME_MAX + SL_OBJECT_NAME_MAX + 2];
	int rc;

	snprintf(what, sizeof(what), "%s/%s", ns, name);
	a.event = (char *)event;
	a.tenant_id = c->p->tenant_id;
	a.principal_id = c->p->id;
	a.purpose = (char *)purpose;
	a.object = what;
	a.decision = (char *)decision;
	a.reason = (char *)reason;
	a.cap_id = cap_id;
	sl_audit_set_decider(&a, "meta", c->p, event_action(event));
	if (o)
		sl_audit_set_object(&a, o);
	rc = sl_audit_commit(m, &a, NULL);
	if (rc)
		SL_ERR_RC(rc, "audit: %s %s of %s not recorded", event, decision, what);
	return rc;
}

/*
 * Decides `action` (SL_POL_READ for a grant, SL_POL_STAT for what a stat or
 * listing shows) on ns/name for purpose by the caller: the object must be
 * in the caller's tenant (in code: a name is looked up under the caller's
 * tenant only), the caller must hold a reading role, and the tenant's
 * policies must allow it (sl_policy_decide). Every refusal is audited here
 * as `event` with its reason and the deciding policy, version and rule, and
 * answered as it always was (-EPERM, -ENOENT "no such object", -EACCES
 * "access denied"); what the caller learns does not depend on what the
 * audit record says. On 0, plan holds the object and its shards, reason
 * (reason_len bytes) the rule that allowed and *epoch the policy epoch
 * decided under.
 */
static int decide_read(struct sl_meta *m, const struct sl_caller *c, const char *event,
		       const char *ns, const char *name, const char *purpose, unsigned action,
		       Sluice__ObjectPlan *plan, char *reason, size_t reason_len,
		       uint64_t *epoch, struct sl_reply *r)
{
	Sluice__Object *o = NULL;
	struct sl_pol_view *v = NULL;
	struct sl_pol_decision d;
	int rc;

	if (!c->p)
		return sl_fail(r, -EPERM, "reading needs a reader, writer or admin role");
	if (!may_read(c)) {
		audit_read(m, c, event, ns, name, purpose, NULL, "deny", "no role that may read", 0);
		return sl_fail(r, -EPERM, "reading needs a reader, writer or admin role");
	}
	rc = sl_object_get(m, c->p->tenant_id, ns, name, &o);
	if (rc == -ENOENT) {
		audit_read(m, c, event, ns, name, purpose, NULL, "deny", "not found", 0);
		return not_found(r, ns, name);
	}
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sluice__object__free_unpacked(o, NULL);
		return sl_fail(r, rc, "catalog read failed");
	}
	sl_pol_decide_object(v, c->p, o, purpose, action, &d);
	sl_pol_decision_text(&d, v->epoch, reason, reason_len);
	*epoch = v->epoch;
	sl_pol_view_put(m, v);
	if (!d.allow) {
		audit_read(m, c, event, ns, name, purpose, o, "deny", reason, 0);
		sluice__object__free_unpacked(o, NULL);
		return sl_fail(r, -EACCES, "access denied: %s/%s for purpose '%s'", ns, name,
			       purpose);
	}
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

/*
 * STAT answers what a read would reveal (size, SHA-256, tags, every shard's
 * CRC32C and root), so it is decided by the tenant's policies for the
 * declared purpose, as the action "stat" (a policy may allow it apart from
 * "read"). Refusals are audited; an allowed STAT is not: it
 * discloses nothing the caller could not read, and a synced record per
 * metadata lookup would put an fsync on the hottest path. The grant that
 * moves bytes is always audited.
 */
int sl_h_stat(struct sl_meta *m, const struct sl_caller *c, const Sluice__ObjectRef *req,
	      struct sl_reply *r)
{
	Sluice__ObjectPlan plan = SLUICE__OBJECT_PLAN__INIT;
	char reason[SL_POL_REASON_MAX];
	uint64_t epoch;
	int rc = check_names(req->ns, req->name, r);

	rc = rc ? rc : check_purpose(req->purpose, r);
	rc = rc ? rc : decide_read(m, c, "object.stat", req->ns, req->name, req->purpose,
				   SL_POL_STAT, &plan, reason, sizeof(reason), &epoch, r);
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
	char reason[SL_POL_REASON_MAX];
	uint64_t cap_id, epoch;
	int rc;

	rc = check_names(req->ns, req->name, r);
	rc = rc ? rc : check_purpose(req->purpose, r);
	if (!rc && !sl_cap_session(req->fabric_addr.data, req->fabric_addr.len))
		rc = sl_fail(r, -EINVAL, "the client's fabric address is required");
	rc = rc ? rc : decide_read(m, c, "read.grant", req->ns, req->name, req->purpose,
				   SL_POL_READ, &plan, reason, sizeof(reason), &epoch, r);
	if (rc)
		return rc;
	if (sl_random_bytes(&cap_id, sizeof(cap_id))) {
		rc = sl_fail(r, -EIO, "cannot mint the capability");
		goto out;
	}
	rc = audit_read(m, c, "read.grant", req->ns, req->name, req->purpose, plan.object, "allow",
			reason, cap_id);
	if (rc) {
		/* No record, no read. */
		rc = sl_fail(r, -EIO, "audit log unavailable");
		goto out;
	}
	drop_fenced(m, &plan);
	rc = plan_servers(m, &plan);
	rc = rc ? rc : mint(m, c->p, plan.object, SL_CAP_OP_READ | audited(plan.object),
			    req->purpose, epoch, cap_id,
			    sl_cap_session(req->fabric_addr.data, req->fabric_addr.len), &plan,
			    &plan.expires_ms);
	if (rc) {
		sl_fail(r, rc, "cannot mint the capability");
		goto out;
	}
	rc = sl_reply_pack(r, &plan.base);
out:
	caps_free(&plan);
	plan_free(&plan);
	return rc;
}

/*
 * Fills resp from the scanned objects: entries the policies of v do not
 * let the caller stat for purpose are withheld (name only, see below), and
 * the page ends before it outgrows SL_LIST_BYTES_MAX. Returns how many
 * entries were withheld.
 */
static size_t list_page(const struct sl_caller *c, const struct sl_pol_view *v,
			const char *purpose, Sluice__Object **items, size_t n,
			Sluice__Object *stubs, Sluice__ListResp *resp)
{
	size_t bytes = 0, withheld = 0;

	for (size_t i = 0; i < n; i++) {
		Sluice__Object *o = items[i];
		struct sl_pol_decision d;

		sl_pol_decide_object(v, c->p, o, purpose, SL_POL_STAT, &d);
		if (!d.allow) {
			sluice__object__init(&stubs[i]);
			stubs[i].ns = o->ns;
			stubs[i].name = o->name;
			stubs[i].state = o->state;
			stubs[i].withheld = 1;
			o = &stubs[i];
		}
		bytes += sluice__object__get_packed_size(o) + 8;
		if (i && bytes > SL_LIST_BYTES_MAX) {
			resp->truncated = 1;
			break;
		}
		withheld += o->withheld;
		resp->objects[resp->n_objects++] = o;
	}
	return withheld;
}

/*
 * LIST shows every name in the namespace to whoever may list it, but an
 * object the caller may not read for its declared purpose comes back with
 * its name only (withheld: no size, SHA-256, tags or ids). Names stay
 * visible because a tenant's members learn them anyway (a put of an
 * existing name fails, a read of one is "access denied", not "no such
 * object"), and leaving entries out would make pages and resumption depend
 * on the caller's rights; what a name-only entry hides is everything
 * derived from the content. One audit record per LIST that withheld or was
 * refused, saying how many entries were withheld, not one per object.
 */
int sl_h_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__ListReq *req,
	      struct sl_reply *r)
{
	Sluice__ListResp resp = SLUICE__LIST_RESP__INIT;
	Sluice__Namespace *ns = NULL;
	Sluice__Object *stubs = NULL;
	struct sl_pol_view *v = NULL;
	struct sl_collect col = { .desc = &sluice__object__descriptor };
	struct sl_key prefix, after;
	char why[96];
	size_t withheld;
	int rc;

	if (!c->p)
		return sl_fail(r, -EPERM, "listing needs a reader, writer or admin role");
	if (!sl_name_valid(req->ns))
		return sl_fail(r, -EINVAL, "bad namespace name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (!sl_name_prefix_valid(req->prefix) || !sl_name_prefix_valid(req->start_after))
		return sl_fail(r, -EINVAL, "bad prefix or start: at most 1024 bytes of UTF-8, "
			       "no control characters");
	rc = check_purpose(req->purpose, r);
	if (rc)
		return rc;
	if (!may_read(c)) {
		audit_read(m, c, "object.list", req->ns, req->prefix, req->purpose, NULL, "deny",
			   "no role that may read", 0);
		return sl_fail(r, -EPERM, "listing needs a reader, writer or admin role");
	}
	rc = sl_ns_get(m, c->p->tenant_id, req->ns, &ns);
	if (rc == -ENOENT)
		audit_read(m, c, "object.list", req->ns, req->prefix, req->purpose, NULL, "deny",
			   "not found", 0);
	if (rc)
		return rc == -ENOENT ? sl_fail(r, rc, "no such namespace: %s", req->ns)
				     : sl_fail(r, rc, "catalog read failed");
	col.limit = req->limit && req->limit < SL_LIST_LIMIT ? req->limit : SL_LIST_LIMIT;
	object_key(&prefix, c->p->tenant_id, ns->id, req->prefix);
	object_key(&after, c->p->tenant_id, ns->id, req->start_after);
	rc = sl_catalog_scan(m->cat, SL_CF_OBJECTS, prefix.b, prefix.len,
			     req->start_after[0] ? after.b : NULL, after.len, sl_collect_one, &col);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	stubs = calloc(col.n + 1, sizeof(*stubs));
	resp.objects = calloc(col.n + 1, sizeof(*resp.objects));
	if (!stubs || !resp.objects) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	resp.truncated = col.truncated;
	withheld = list_page(c, v, req->purpose, (Sluice__Object **)col.items, col.n, stubs,
			     &resp);
	if (withheld) {
		snprintf(why, sizeof(why), "%zu of %zu entries withheld", withheld, resp.n_objects);
		audit_read(m, c, "object.list", req->ns, req->prefix, req->purpose, NULL, "partial",
			   why, 0);
	}
	rc = sl_reply_pack(r, &resp.base);
out:
	sl_pol_view_put(m, v);
	free(resp.objects);
	free(stubs);
	sl_collect_free(&col);
	sluice__namespace__free_unpacked(ns, NULL);
	return rc;
}

/* "key old -> new; ..." for every key whose value differs from a to b, cut at len. */
static void tag_changes(Sluice__Tag **a, size_t na, Sluice__Tag **b, size_t nb, char *out,
			size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < na && used < len; i++) {
		const char *now = sl_tags_get(b, nb, a[i]->key);

		if (!now || strcmp(now, a[i]->value) != 0)
			used += (size_t)snprintf(out + used, len - used, "%s%s %s -> %s",
						 used ? "; " : "", a[i]->key, a[i]->value,
						 now ? now : "(removed)");
	}
	for (size_t i = 0; i < nb && used < len; i++)
		if (!sl_tags_get(a, na, b[i]->key))
			used += (size_t)snprintf(out + used, len - used, "%s%s (none) -> %s",
						 used ? "; " : "", b[i]->key, b[i]->value);
	if (!used)
		snprintf(out, len, "no change");
	else if (used >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}

/* Refuses a tag change: audited in the caller's tenant with its reason, answered -EPERM. */
static int tags_refused(struct sl_meta *m, const struct sl_caller *c, const Sluice__Object *o,
			const char *reason, struct sl_reply *r, const char *msg)
{
	audit_read(m, c, "object.tags", o->ns, o->name, "", o, "deny", reason, 0);
	return sl_fail(r, -EPERM, "%s", msg);
}

/*
 * SET_TAGS checks the tenant's dictionary (values, mandatory keys that may
 * not be removed) and the rights: setting a tag (or removing one the
 * dictionary does not govern) needs ASSIGN; lowering an ordered key or
 * removing a governed one needs DECLASSIFY, and clearance for the object's
 * classification; no right lets an object go below its namespace's value
 * of an ordered key. Refusals are audited with old -> new. Any tag change
 * may narrow access under some policy (a deny rule matching the new value,
 * an allow rule no longer matching), so every change raises the object's
 * revocation watermark to its new tag epoch before it commits.
 */
int sl_h_set_tags(struct sl_meta *m, const struct sl_caller *c, const Sluice__SetTagsReq *req,
		  struct sl_reply *r)
{
	Sluice__Object *o = NULL;
	Sluice__Namespace *ns = NULL;
	Sluice__Tag **own = NULL, **merged = NULL;
	struct sl_pol_view *v = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	char change[900], why[512], reason[1000];
	size_t n_own = 0, n_merged;
	int rc, lower, need_assign = req->n_set > 0, locked = 0;
	const char *form;

	if (!c->p)
		return sl_fail(r, -EPERM, "changing tags needs the assign right");
	rc = check_names(req->ns, req->name, r);
	if (rc)
		return rc;
	if (sl_names_check(req->remove, req->n_remove, SL_TAGS_MAX, sl_tag_key_valid, &form))
		return sl_fail(r, -EINVAL, "bad tag keys to remove: %s", form);
	/* The dictionary too is read under the lock that its changes take. */
	pthread_mutex_lock(&m->mutate_lock);
	locked = 1;
	rc = sl_pol_view_get(m, c->p->tenant_id, &v);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	rc = check_tags(v, req->set, req->n_set, r);
	if (rc)
		goto out;
	for (size_t i = 0; i < req->n_remove; i++) {
		const struct sl_tagdef *def = sl_tagdef_find(v->set.defs, v->set.n_defs,
							     req->remove[i]);

		need_assign |= !def;
		if (def && def->mandatory) {
			rc = sl_fail(r, -EINVAL, "%s cannot be removed, only changed",
				     req->remove[i]);
			goto out;
		}
	}
	rc = caller_object(m, c, req->ns, req->name, r, &o);
	if (rc)
		goto out;
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
	/* Repeated SET_TAGS must not grow a record without bound. */
	if (n_merged > SL_TAGS_MAX) {
		rc = sl_fail(r, -EINVAL, "bad tags: an object carries at most %d tags", SL_TAGS_MAX);
		goto out;
	}
	tag_changes(o->tags, o->n_tags, merged, n_merged, change, sizeof(change));
	lower = sl_tags_lower_defs(v->set.defs, v->set.n_defs, o->tags, o->n_tags, req->set,
				   req->n_set, req->remove, req->n_remove);
	if ((need_assign || !lower) && !sl_has_right(c->p, SL_RIGHT_ASSIGN)) {
		snprintf(reason, sizeof(reason), "tags without the assign right: %s", change);
		rc = tags_refused(m, c, o, reason, r, "setting tags needs the assign right");
		goto out;
	}
	if (lower && !sl_has_right(c->p, SL_RIGHT_DECLASSIFY)) {
		snprintf(reason, sizeof(reason), "declassify without the right: %s", change);
		rc = tags_refused(m, c, o, reason, r,
				  "lowering or removing a governed tag needs the declassify right");
		goto out;
	}
	/* Declassifying only over what the declassifier is cleared to read. */
	if (lower && sl_classification_rank(sl_tags_get(o->tags, o->n_tags, "classification")) >
			     sl_classification_rank(c->p->clearance)) {
		snprintf(reason, sizeof(reason), "declassify above the principal's clearance: %s",
			 change);
		rc = tags_refused(m, c, o, reason, r,
				  "lowering or removing a governed tag needs the declassify right "
				  "and clearance for the object's classification");
		goto out;
	}
	rc = sl_ns_get(m, o->tenant_id, o->ns, &ns);
	if (rc && rc != -ENOENT) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	if (!rc && sl_gov_ns_floor(v->set.defs, v->set.n_defs, ns->tags, ns->n_tags, merged,
				   n_merged, why, sizeof(why))) {
		snprintf(reason, sizeof(reason), "%s: %s", why, change);
		rc = tags_refused(m, c, o, reason, r, why);
		goto out;
	}
	/* o's tag array stays owned by o; point at the merged view only to pack. */
	{
		Sluice__Tag **keep = o->tags;
		size_t keep_n = o->n_tags;

		o->tags = merged;
		o->n_tags = n_merged;
		o->tag_epoch++;
		rc = sl_revoke_object(m, o->tenant_id, o->id, o->tag_epoch);
		if (rc) {
			SL_ERR_RC(rc, "tags: revoking object %llu to tag epoch %llu failed",
				  (unsigned long long)o->id, (unsigned long long)o->tag_epoch);
			sl_fail(r, rc, "cannot revoke the capabilities the change affects; "
				"nothing changed");
		}
		object_key(&k, o->tenant_id, o->ns_id, o->name);
		rc = rc ? rc : sl_batch_put_msg(b, m->cat, SL_CF_OBJECTS, k.b, k.len, &o->base);
		rc = rc ? rc : commit_object(m, b, o, c, "object.tags", change);
		if (!rc) {
			/* A writer need not be allowed to read: answer with names, not content. */
			Sluice__Object done = SLUICE__OBJECT__INIT;

			done.ns = o->ns;
			done.name = o->name;
			done.state = o->state;
			done.tag_epoch = o->tag_epoch;
			rc = sl_reply_pack(r, &done.base);
		} else if (!r->err) {
			sl_fail(r, rc, "catalog write failed");
		}
		o->tags = keep;
		o->n_tags = keep_n;
	}
out:
	if (locked)
		pthread_mutex_unlock(&m->mutate_lock);
	sl_pol_view_put(m, v);
	sl_batch_free(b);
	free(own);
	free(merged);
	if (ns)
		sluice__namespace__free_unpacked(ns, NULL);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	return rc;
}

/* Audits a refused DELETE, naming ns/name only when they are well-formed. */
static void delete_refused(struct sl_meta *m, const struct sl_caller *c, const Sluice__DeleteReq *req,
			   const Sluice__Object *o, const char *reason)
{
	int named = sl_name_valid(req->ns) && sl_object_name_valid(req->name);

	audit_read(m, c, "object.delete", named ? req->ns : "", named ? req->name : "", "", o,
		   "deny", reason, 0);
}

/*
 * DELETE removes a committed object of the caller's tenant. It needs the
 * writer role, like the put that made the object, checked before the name is
 * looked up; a missing object, another tenant's and a pending ingest (which
 * has no visible key) all answer "no such object". A legal hold or running
 * retention refuses it (sl_retention_may_delete) with -EPERM naming the hold
 * or the date; every refusal is an object.delete "deny" audit record. Under the mutation lock,
 * so no commit, tag change or other delete of the name slips in between the
 * read and the write, one synced batch deletes the visible record (the only
 * key the name is found by) and the shard records, queues a drop for every
 * placed replica (sl_drops_queue, the sweeper's queue: data servers delete
 * the files after their next heartbeats) and writes the object.delete audit
 * record: all of it lands or none. Capabilities granted before the delete
 * keep working until the replicas are gone. A later put of the name makes a
 * new object with a new id, whose shards share no file with the old one.
 */
int sl_h_delete(struct sl_meta *m, const struct sl_caller *c, const Sluice__DeleteReq *req,
		struct sl_reply *r)
{
	Sluice__Object *o = NULL;
	Sluice__Empty done = SLUICE__EMPTY__INIT;
	struct sl_batch *b = NULL;
	struct sl_key k;
	char why[160];
	int rc;

	if (!may_write(c)) {
		if (c->p)
			delete_refused(m, c, req, NULL, "no role that may delete");
		return sl_fail(r, -EPERM, "deleting needs the writer role");
	}
	rc = check_names(req->ns, req->name, r);
	if (rc) {
		delete_refused(m, c, req, NULL, "bad namespace or object name");
		return rc;
	}
	b = sl_batch_new();
	if (!b)
		return sl_fail(r, -ENOMEM, "out of memory");
	pthread_mutex_lock(&m->mutate_lock);
	rc = caller_object(m, c, req->ns, req->name, r, &o);
	if (rc == -ENOENT)
		delete_refused(m, c, req, NULL, "not found");
	if (rc)
		goto out;
	if (sl_retention_may_delete(c->p, o, sl_now_ms(), why, sizeof(why))) {
		delete_refused(m, c, req, o, why);
		rc = sl_fail(r, -EPERM, "cannot delete %s/%s: %s", req->ns, req->name, why);
		goto out;
	}
	object_key(&k, o->tenant_id, o->ns_id, o->name);
	sl_batch_delete(b, m->cat, SL_CF_OBJECTS, k.b, k.len);
	rc = sl_drops_queue(m, b, o);
	if (rc) {
		sl_fail(r, rc, "catalog read failed");
		goto out;
	}
	rc = commit_object(m, b, o, c, "object.delete", why[0] ? why : NULL);
	if (rc) {
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	rc = sl_reply_pack(r, &done.base);
	SL_DEBUG("delete: %s/%s (object %llu, %u shards) by principal %llu", req->ns, req->name,
		 (unsigned long long)o->id, o->shard_count, (unsigned long long)c->p->id);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_batch_free(b);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	return rc;
}
