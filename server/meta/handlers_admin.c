/*
 * Handlers for tenants, principals and namespaces. Creating a tenant is for
 * cluster admins (the system tenant's admins); principals and namespaces are
 * created by a tenant's own admins, or by cluster admins naming the tenant
 * (principals: only the tenant's first one, see sl_h_principal_create).
 * Cluster admins manage tenants but cannot read their data: reads are
 * always scoped to the caller's own tenant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"
#include "policy_store.h"
#include "sl_log.h"
#include "sl_time.h"

#define SL_SHARD_SIZE_MIN 4096u
#define SL_SHARD_SIZE_MAX (16u << 20)

/* Commits b together with the audit record of `name` created by the caller. */
static int commit_created(struct sl_meta *m, struct sl_batch *b, const char *event,
			  uint64_t tenant, const struct sl_caller *c, const char *name)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;

	a.event = (char *)event;
	a.tenant_id = tenant;
	a.principal_id = c->p->id;
	a.object = (char *)name;
	a.decision = (char *)"done";
	sl_audit_set_decider(&a, "meta", c->p, "create");
	return sl_audit_commit(m, &a, b);
}

/* Records a refused administrative request in the tenant it aimed at. */
static void audit_refused(struct sl_meta *m, const char *event, uint64_t tenant,
			  const struct sl_caller *c, const char *name, const char *reason)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	int rc;

	a.event = (char *)event;
	a.tenant_id = tenant;
	a.principal_id = c->p->id;
	a.object = (char *)name;
	a.decision = (char *)"deny";
	a.reason = (char *)reason;
	sl_audit_set_decider(&a, "meta", c->p, "create");
	rc = sl_audit_commit(m, &a, NULL);
	if (rc)
		SL_ERR_RC(rc, "audit: refused %s of %s not recorded", event, name);
}

struct principal_count {
	size_t n, limit;
};

static int principal_count_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
			       size_t vlen)
{
	struct principal_count *pc = arg;

	return ++pc->n >= pc->limit;
}

/* How many principals the tenant has, counting up to limit; or a negative errno. */
static long tenant_principals(struct sl_meta *m, uint64_t tenant, size_t limit)
{
	struct principal_count pc = { 0, limit };
	struct sl_key k;
	int rc;

	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'n'), tenant);
	rc = sl_catalog_scan(m->cat, SL_CF_PRINCIPALS, k.b, k.len, NULL, 0, principal_count_one,
			     &pc);
	return rc < 0 ? rc : (long)pc.n;
}

/*
 * Whether the caller may create the principal req describes in tenant;
 * called under mutate_lock, so "the tenant's first principal" cannot race.
 * Cluster administration is kept apart from data access:
 *  - In its own tenant an admin (a cluster admin in the system tenant too)
 *    hands out only what it holds: roles and purposes it has itself and a
 *    clearance not above its own (sl_gov_check_delegation).
 *  - In another tenant a cluster admin may create only the tenant's first
 *    principal, and it must hold the admin role: the tenant's root, whose
 *    roles, purposes and clearance set what the tenant can ever hand out.
 *    From then on only the tenant's own admins create principals there, so
 *    no cluster admin can mint itself a login into a tenant that has data.
 *    The root's credentials pass through the cluster admin once, at
 *    hand-over, and that creation stays in the tenant's audit log.
 * 0, or a refusal already set in r (and audited).
 */
static int may_create_principal(struct sl_meta *m, const struct sl_caller *c, uint64_t tenant,
				const Sluice__PrincipalCreateReq *req, const char *clearance,
				struct sl_reply *r)
{
	const char *why;
	int rc, root = 0;

	if (tenant == c->p->tenant_id) {
		rc = sl_gov_check_delegation(c->p, req->roles, req->n_roles, req->purposes,
					     req->n_purposes, req->rights, req->n_rights, clearance,
					     &why);
		goto out;
	}
	rc = (int)tenant_principals(m, tenant, 1);
	if (rc < 0)
		return sl_fail(r, rc, "catalog read failed");
	why = "a cluster admin creates only a tenant's first principal; its admins create the rest";
	if (rc > 0) {
		rc = -EPERM;
		goto out;
	}
	for (size_t i = 0; i < req->n_roles; i++)
		root |= strcmp(req->roles[i], "admin") == 0;
	why = "a tenant's first principal must have the admin role";
	rc = root ? 0 : -EPERM;
out:
	if (rc) {
		audit_refused(m, "principal.create", tenant, c, req->name, why);
		sl_fail(r, rc, "%s", why);
	}
	return rc;
}

int sl_h_tenant_create(struct sl_meta *m, const struct sl_caller *c,
		       const Sluice__TenantCreateReq *req, struct sl_reply *r)
{
	Sluice__Tenant t = SLUICE__TENANT__INIT;
	struct sl_batch *b = NULL;
	struct sl_key k;
	uint64_t id, be;
	int rc;

	if (!sl_is_cluster_admin(m, c))
		return sl_fail(r, -EPERM, "creating tenants needs a cluster admin");
	if (!sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad tenant name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	pthread_mutex_lock(&m->mutate_lock);
	rc = sl_tenant_id(m, req->name, &id);
	if (rc != -ENOENT) {
		rc = rc ? sl_fail(r, rc, "catalog read failed")
			: sl_fail(r, -EEXIST, "tenant %s already exists", req->name);
		goto out;
	}
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	t.id = sl_batch_alloc_id(b, m->cat);
	t.name = req->name;
	t.created_ms = sl_now_ms();
	be = htobe64(t.id);
	sl_key_str(sl_key_tag(sl_key_reset(&k), 'n'), req->name);
	sl_batch_put(b, m->cat, SL_CF_TENANTS, k.b, k.len, &be, 8);
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'i'), t.id);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_TENANTS, k.b, k.len, &t.base);
	rc = rc ? rc : commit_created(m, b, "tenant.create", t.id, c, req->name);
	if (rc) {
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	rc = sl_reply_pack(r, &t.base);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_batch_free(b);
	return rc;
}

int sl_h_tenant_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__Empty *req,
		     struct sl_reply *r)
{
	Sluice__TenantListResp resp = SLUICE__TENANT_LIST_RESP__INIT;
	struct sl_collect col = { .desc = &sluice__tenant__descriptor };
	int rc;

	if (!sl_is_cluster_admin(m, c))
		return sl_fail(r, -EPERM, "listing tenants needs a cluster admin");
	rc = sl_catalog_scan(m->cat, SL_CF_TENANTS, "i", 1, NULL, 0, sl_collect_one, &col);
	if (!rc) {
		resp.tenants = (Sluice__Tenant **)col.items;
		resp.n_tenants = col.n;
		rc = sl_reply_pack(r, &resp.base);
	} else {
		sl_fail(r, rc, "catalog read failed");
	}
	sl_collect_free(&col);
	return rc;
}

/* Roles a principal may hold: admin, writer, reader grant what they always
 * did; any other name is one the tenant's policies refer to (role:NAME). */
#define SL_ROLES_MAX 16

/* The roles, purposes and clearance of a new principal, as strings. */
static int check_principal_req(const Sluice__PrincipalCreateReq *req, struct sl_reply *r)
{
	const char *why;

	if (!sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad principal name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (sl_names_check(req->roles, req->n_roles, SL_ROLES_MAX, sl_name_valid, &why))
		return sl_fail(r, -EINVAL, "bad roles (admin, writer, reader or a name policies use; "
			       "at most %d): %s", SL_ROLES_MAX, why);
	if (sl_names_check(req->purposes, req->n_purposes, SL_PURPOSES_MAX, sl_name_valid, &why))
		return sl_fail(r, -EINVAL,
			       "bad purposes (at most %d names of a-z, 0-9, '.', '_', '-'): %s",
			       SL_PURPOSES_MAX, why);
	if (sl_names_check(req->rights, req->n_rights, 3, sl_right_valid, &why))
		return sl_fail(r, -EINVAL, "bad rights (assign, declassify, bypass): %s", why);
	if (req->clearance[0] && sl_classification_rank(req->clearance) < 0)
		return sl_fail(r, -EINVAL,
			       "bad clearance: public, internal, confidential or restricted");
	return 0;
}

int sl_h_principal_create(struct sl_meta *m, const struct sl_caller *c,
			  const Sluice__PrincipalCreateReq *req, struct sl_reply *r)
{
	Sluice__Principal p = SLUICE__PRINCIPAL__INIT;
	const char *clearance = req->clearance;
	uint8_t secret[SL_KEY_LEN], kid[8];
	char key_id[24], kh[17];
	struct sl_batch *b = NULL;
	struct sl_key k;
	uint8_t *val = NULL;
	size_t vlen;
	uint64_t tenant;
	int rc;

	rc = sl_target_tenant(m, c, req->tenant, &tenant, r);
	if (rc)
		return rc;
	if (!sl_has_role(c->p, "admin"))
		return sl_fail(r, -EPERM, "creating principals needs the admin role");
	rc = check_principal_req(req, r);
	if (rc)
		return rc;

	/* Unset: internal, or the creator's own clearance when that is lower. */
	if (!clearance[0])
		clearance = "internal";
	if (!req->clearance[0] && tenant == c->p->tenant_id &&
	    sl_classification_rank(c->p->clearance) < sl_classification_rank(clearance))
		clearance = c->p->clearance;

	pthread_mutex_lock(&m->mutate_lock);
	rc = may_create_principal(m, c, tenant, req, clearance, r);
	if (rc)
		goto out;
	/* Each principal in use holds a window of the replay cache: no tenant may
	 * have enough of them to crowd the others out (server/meta/replay.h). */
	{
		long n = tenant_principals(m, tenant, m->cfg.tenant_principals_max);

		if (n < 0 || (uint64_t)n >= m->cfg.tenant_principals_max) {
			rc = n < 0 ? sl_fail(r, (int)n, "catalog read failed")
				   : sl_fail(r, -EDQUOT, "the tenant has %u principals, the most allowed",
					     m->cfg.tenant_principals_max);
			goto out;
		}
	}
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'n'), tenant), req->name);
	rc = sl_catalog_get_raw(m->cat, SL_CF_PRINCIPALS, k.b, k.len, &val, &vlen);
	free(val);
	if (rc != -ENOENT) {
		rc = rc ? sl_fail(r, rc, "catalog read failed")
			: sl_fail(r, -EEXIST, "principal %s already exists", req->name);
		goto out;
	}
	b = sl_batch_new();
	if (!b || sl_random_bytes(secret, sizeof(secret)) || sl_random_bytes(kid, sizeof(kid))) {
		rc = sl_fail(r, -ENOMEM, "out of resources");
		goto out;
	}
	sl_hex_encode(kid, sizeof(kid), kh);
	snprintf(key_id, sizeof(key_id), "SK%s", kh);
	p.id = sl_batch_alloc_id(b, m->cat);
	p.tenant_id = tenant;
	p.name = req->name;
	p.key_id = key_id;
	p.secret = (ProtobufCBinaryData){ sizeof(secret), secret };
	p.roles = req->roles;
	p.n_roles = req->n_roles;
	p.purposes = req->purposes;
	p.n_purposes = req->n_purposes;
	p.rights = req->rights;
	p.n_rights = req->n_rights;
	p.clearance = (char *)clearance;
	p.created_ms = sl_now_ms();
	sl_batch_put(b, m->cat, SL_CF_PRINCIPALS, k.b, k.len, key_id, strlen(key_id));
	sl_key_str(sl_key_tag(sl_key_reset(&k), 'k'), key_id);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_PRINCIPALS, k.b, k.len, &p.base);
	rc = rc ? rc : commit_created(m, b, "principal.create", tenant, c, req->name);
	if (rc) {
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	/* The one time the secret leaves sluice-meta: in this reply. */
	rc = sl_reply_pack(r, &p.base);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	sl_batch_free(b);
	return rc;
}

int sl_h_whoami(struct sl_meta *m, const struct sl_caller *c, const Sluice__Empty *req,
		struct sl_reply *r)
{
	Sluice__Principal p;
	Sluice__Tenant *t = NULL;
	struct sl_key k;
	int rc;

	if (!c->p)
		return sl_fail(r, -EPERM, "not a principal");
	p = *c->p;
	p.secret = (ProtobufCBinaryData){ 0, NULL };
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'i'), p.tenant_id);
	rc = sl_catalog_get(m->cat, SL_CF_TENANTS, k.b, k.len, &sluice__tenant__descriptor,
			    (ProtobufCMessage **)&t);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	p.tenant_name = t->name;
	rc = sl_reply_pack(r, &p.base);
	sluice__tenant__free_unpacked(t, NULL);
	return rc;
}

int sl_h_ns_create(struct sl_meta *m, const struct sl_caller *c, const Sluice__NsCreateReq *req,
		   struct sl_reply *r)
{
	Sluice__Namespace ns = SLUICE__NAMESPACE__INIT, *old = NULL;
	struct sl_pol_view *v = NULL;
	struct sl_batch *b = NULL;
	struct sl_key k;
	uint64_t tenant;
	char why[512];
	int rc;

	rc = sl_target_tenant(m, c, req->tenant, &tenant, r);
	if (rc)
		return rc;
	if (!sl_has_role(c->p, "admin"))
		return sl_fail(r, -EPERM, "creating namespaces needs the admin role");
	if (!sl_name_valid(req->name))
		return sl_fail(r, -EINVAL, "bad namespace name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (req->shard_size &&
	    (req->shard_size < SL_SHARD_SIZE_MIN || req->shard_size > SL_SHARD_SIZE_MAX))
		return sl_fail(r, -EINVAL, "shard size must be between %u and %u bytes",
			       SL_SHARD_SIZE_MIN, SL_SHARD_SIZE_MAX);
	if (req->replicas > 16)
		return sl_fail(r, -EINVAL, "at most 16 replicas");
	/* The tags of the tenant it goes to, by that tenant's dictionary. */
	rc = sl_pol_view_get(m, tenant, &v);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	rc = sl_gov_tags_check_defs(v->set.defs, v->set.n_defs, req->tags, req->n_tags, why,
				    sizeof(why));
	sl_pol_view_put(m, v);
	if (rc)
		return sl_fail(r, -EINVAL, "bad tags: %s", why);

	ns.id = 0;
	ns.tenant_id = tenant;
	ns.name = req->name;
	ns.shard_size = req->shard_size ? req->shard_size : m->cfg.shard_size;
	ns.replicas = req->replicas ? req->replicas : m->cfg.replicas;
	/* Only what was given: the namespace's ordered values are its objects'
	 * floor (sl_gov_ns_floor), so a default here would be one too. An
	 * object given no classification gets internal at its put. */
	ns.n_tags = req->n_tags;
	ns.tags = req->tags;
	ns.created_ms = sl_now_ms();

	pthread_mutex_lock(&m->mutate_lock);
	rc = sl_ns_get(m, tenant, req->name, &old);
	if (rc != -ENOENT) {
		rc = rc ? sl_fail(r, rc, "catalog read failed")
			: sl_fail(r, -EEXIST, "namespace %s already exists", req->name);
		goto out;
	}
	b = sl_batch_new();
	if (!b) {
		rc = sl_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	ns.id = sl_batch_alloc_id(b, m->cat);
	sl_key_str(sl_key_u64(sl_key_reset(&k), tenant), req->name);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_NAMESPACES, k.b, k.len, &ns.base);
	rc = rc ? rc : commit_created(m, b, "namespace.create", tenant, c, req->name);
	if (rc) {
		sl_fail(r, rc, "catalog write failed");
		goto out;
	}
	rc = sl_reply_pack(r, &ns.base);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	if (old)
		sluice__namespace__free_unpacked(old, NULL);
	sl_batch_free(b);
	return rc;
}

int sl_h_ns_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__NsListReq *req,
		 struct sl_reply *r)
{
	Sluice__NsListResp resp = SLUICE__NS_LIST_RESP__INIT;
	struct sl_collect col = { .desc = &sluice__namespace__descriptor };
	struct sl_key k;
	uint64_t tenant;
	int rc = sl_target_tenant(m, c, req->tenant, &tenant, r);

	if (rc)
		return rc;
	sl_key_u64(sl_key_reset(&k), tenant);
	rc = sl_catalog_scan(m->cat, SL_CF_NAMESPACES, k.b, k.len, NULL, 0, sl_collect_one, &col);
	if (!rc) {
		resp.namespaces = (Sluice__Namespace **)col.items;
		resp.n_namespaces = col.n;
		rc = sl_reply_pack(r, &resp.base);
	} else {
		sl_fail(r, rc, "catalog read failed");
	}
	sl_collect_free(&col);
	return rc;
}
