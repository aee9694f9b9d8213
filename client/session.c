/*
 * Sessions and the administrative calls: credentials (with the CA the
 * control plane's TLS is verified against), the control connection,
 * tenants, principals, namespaces, servers.
 */
#include <errno.h>
#include <ini.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "session_int.h"
#include "tls.h"

int sl_sess_fail(sluice_session *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return rc;
}

int sl_sess_call(sluice_session *s, uint16_t type, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
	int rc = sl_rpc_call(&s->rpc, type, req, desc, resp);

	if (rc) {
		sl_sess_fail(s, rc, "%s", s->rpc.error);
		/* The server's text reaches a terminal: it must not act on it. */
		sl_text_clean(s->error);
	}
	return rc;
}

/* Refuses a reply that failed its check: -EPROTO, with why. */
static int malformed(sluice_session *s, const char *what, const char *why)
{
	return sl_sess_fail(s, -EPROTO, "malformed %s reply from sluice-meta: %s", what, why);
}

const char *sluice_last_error(const sluice_session *s)
{
	return s->error;
}

int sluice_open(const struct sluice_opts *o, sluice_session **out)
{
	sluice_session *s;
	uint8_t secret[SL_KEY_LEN];
	int rc;

	*out = NULL;
	if (!o || !o->meta || !o->key_id || !o->secret || strlen(o->key_id) >= 64)
		return -EINVAL;
	if (sl_hex_decode(o->secret, secret, sizeof(secret)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	sl_rpc_client_init(&s->rpc, o->meta, o->key_id, secret, s->timeout_ms);
	OPENSSL_cleanse(secret, sizeof(secret));
	/* No CA is not an error here: every call then says what is missing. */
	rc = o->ca && o->ca[0]		 ? sl_tls_ca_decode(o->ca, &s->ca_der, &s->ca_der_len)
	     : o->ca_file && o->ca_file[0] ? sl_tls_ca_load_file(o->ca_file, &s->ca_der,
								  &s->ca_der_len)
					   : 0;
	if (!rc && s->ca_der)
		rc = sl_rpc_client_set_ca(&s->rpc, s->ca_der, s->ca_der_len);
	if (rc) {
		sluice_close(s);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	snprintf(s->purpose, sizeof(s->purpose), "%s", o->purpose ? o->purpose : "");
	snprintf(s->provider, sizeof(s->provider), "%s", o->provider ? o->provider : "tcp;ofi_rxm");
	if (sl_random_bytes(&s->next_req, sizeof(s->next_req))) {
		sl_rpc_client_close(&s->rpc);
		free(s);
		return -EIO;
	}
	s->next_req &= 0xffffffffull; /* far below SL_TAG_REQUEST */
	*out = s;
	return 0;
}

struct cred {
	char meta[256], key_id[64], secret[128], provider[64], ca_file[512];
	char ca[4096]; /* joined from its continuation lines */
	int ca_too_long;
};

static int on_cred(void *user, const char *section, const char *name, const char *value)
{
	struct cred *c = user;

	if (strcmp(section, "sluice") != 0)
		return 1;
	if (strcmp(name, "meta") == 0)
		snprintf(c->meta, sizeof(c->meta), "%s", value);
	else if (strcmp(name, "key_id") == 0)
		snprintf(c->key_id, sizeof(c->key_id), "%s", value);
	else if (strcmp(name, "secret") == 0)
		snprintf(c->secret, sizeof(c->secret), "%s", value);
	else if (strcmp(name, "provider") == 0)
		snprintf(c->provider, sizeof(c->provider), "%s", value);
	else if (strcmp(name, "ca_file") == 0)
		snprintf(c->ca_file, sizeof(c->ca_file), "%s", value);
	else if (strcmp(name, "ca") == 0) {
		size_t used = strlen(c->ca), add = strlen(value);

		if (used + add >= sizeof(c->ca))
			c->ca_too_long = 1;
		else
			memcpy(c->ca + used, value, add + 1);
	}
	return 1;
}

int sluice_open_file(const char *path, const char *meta, const char *purpose,
		     sluice_session **out)
{
	struct cred c = { 0 };
	struct sluice_opts o = { 0 };
	int rc;

	*out = NULL;
	rc = ini_parse(path, on_cred, &c);
	if (rc < 0)
		return -ENOENT;
	if (rc > 0 || !c.key_id[0] || !c.secret[0] || c.ca_too_long)
		return -EINVAL;
	/* A relative ca_file is next to the credentials file. */
	if (c.ca_file[0] && c.ca_file[0] != '/' && strrchr(path, '/')) {
		char rel[sizeof(c.ca_file)];

		snprintf(rel, sizeof(rel), "%s", c.ca_file);
		snprintf(c.ca_file, sizeof(c.ca_file), "%.*s/%s",
			 (int)(strrchr(path, '/') - path), path, rel);
	}
	o.ca = c.ca;
	o.ca_file = c.ca_file;
	o.meta = meta && meta[0] ? meta : c.meta;
	o.key_id = c.key_id;
	o.secret = c.secret;
	o.purpose = purpose;
	/* The data-plane provider: SLUICE_PROVIDER, else the file's, else tcp;ofi_rxm. */
	o.provider = getenv("SLUICE_PROVIDER") ? getenv("SLUICE_PROVIDER")
					       : c.provider[0] ? c.provider : NULL;
	rc = o.meta[0] ? sluice_open(&o, out) : -EINVAL;
	OPENSSL_cleanse(c.secret, sizeof(c.secret));
	return rc;
}

int sluice_write_ca(const sluice_session *s, FILE *f)
{
	if (!s->ca_der)
		return -ENOKEY;
	return sl_tls_ca_entry_write(f, s->ca_der, s->ca_der_len);
}

void sluice_close(sluice_session *s)
{
	if (!s)
		return;
	if (s->fabric_ok) {
		struct sl_fabric_event ev[16];

		/* Give cancelled operations a moment to come home; then the
		 * endpoint goes (ending what is still posted), then the buffers. */
		for (int tries = 0; tries < 20; tries++)
			if (sl_fabric_poll(&s->fab, ev, 16, 5) <= 0)
				break;
		sl_fabric_close_ep(&s->fab);
		sl_xfer_pool_free(s);
		sl_fabric_close(&s->fab);
	}
	sl_rpc_client_close(&s->rpc);
	free(s->ca_der);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

int sl_sess_fabric(sluice_session *s)
{
	int rc;

	if (s->fabric_ok)
		return 0;
	rc = sl_fabric_open(&s->fab, s->provider, NULL, NULL);
	if (rc)
		return sl_sess_fail(s, rc, "cannot open a %s fabric endpoint", s->provider);
	s->fabric_ok = 1;
	return 0;
}

static char *dup_or_empty(const char *v)
{
	return strdup(v ? v : "");
}

struct sluice_object *sl_object_from_pb(const Sluice__Object *o, const Sluice__ObjectPlan *plan)
{
	struct sluice_object *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->id = o->id;
	r->ns = dup_or_empty(o->ns);
	r->name = dup_or_empty(o->name);
	r->size = o->size;
	r->shard_size = o->shard_size;
	r->shard_count = o->shard_count;
	r->created_ms = o->created_ms;
	r->withheld = o->withheld;
	r->retain_until_ms = o->retain_until_ms;
	snprintf(r->retain_mode, sizeof(r->retain_mode), "%s",
		 o->retain_mode == SLUICE__RETENTION_MODE__RETENTION_GOVERNANCE   ? "governance"
		 : o->retain_mode == SLUICE__RETENTION_MODE__RETENTION_COMPLIANCE ? "compliance"
		 : o->retain_mode ? "unknown" : "");
	r->legal_hold = o->legal_hold;
	if (sl_provenance_from_pb(o->provenance, &r->provenance))
		goto fail;
	if (o->sha256.len == 32)
		sl_hex_encode(o->sha256.data, 32, r->sha256);
	r->tags = calloc(o->n_tags + 1, sizeof(*r->tags));
	if (!r->ns || !r->name || !r->tags)
		goto fail;
	for (size_t i = 0; i < o->n_tags; i++) {
		r->tags[i].key = strdup(o->tags[i]->key);
		r->tags[i].value = strdup(o->tags[i]->value);
		r->n_tags++;
		if (!r->tags[i].key || !r->tags[i].value)
			goto fail;
	}
	/* Shards withheld (n_shards 0) leave r->shards NULL. */
	if (plan && plan->n_shards == o->shard_count) {
		r->shards = calloc(plan->n_shards + 1, sizeof(*r->shards));
		r->servers = calloc(plan->n_servers + 1, sizeof(*r->servers));
		if (!r->shards || !r->servers)
			goto fail;
		for (size_t i = 0; i < plan->n_shards; i++) {
			const Sluice__Shard *p = plan->shards[i];
			struct sluice_shard_info *si = &r->shards[i];

			si->index = p->index;
			si->length = p->length;
			si->crc32c = p->crc32c;
			si->servers = calloc(p->n_servers + 1, sizeof(uint32_t));
			if (!si->servers)
				goto fail;
			if (p->n_servers)
				memcpy(si->servers, p->servers, p->n_servers * sizeof(uint32_t));
			si->n_servers = p->n_servers;
		}
		for (size_t i = 0; i < plan->n_servers; i++) {
			struct sluice_server_info *sv = &r->servers[i];

			sv->id = plan->servers[i]->id;
			sv->up = plan->servers[i]->up;
			sv->last_heartbeat_ms = plan->servers[i]->last_heartbeat_ms;
			sv->label = dup_or_empty(plan->servers[i]->label);
			sv->provider = dup_or_empty(plan->servers[i]->provider);
			r->n_servers++;
			if (!sv->label || !sv->provider)
				goto fail;
		}
	}
	return r;
fail:
	sluice_object_free(r);
	return NULL;
}

void sluice_object_free(struct sluice_object *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_tags; i++) {
		free((char *)o->tags[i].key);
		free((char *)o->tags[i].value);
	}
	free(o->tags);
	if (o->shards)
		for (uint32_t i = 0; i < o->shard_count; i++)
			free(o->shards[i].servers);
	free(o->shards);
	sluice_servers_free(o->servers, o->n_servers);
	sl_provenance_free(&o->provenance);
	free(o->ns);
	free(o->name);
	free(o);
}

int sluice_stat(sluice_session *s, const char *ns, const char *name, struct sluice_object **out)
{
	Sluice__ObjectRef req = SLUICE__OBJECT_REF__INIT;
	Sluice__ObjectPlan *plan = NULL;
	char why[160];
	int rc;

	*out = NULL;
	req.ns = (char *)ns;
	req.name = (char *)name;
	req.purpose = s->purpose;
	rc = sl_sess_call(s, SL_RPC_STAT, &req.base, &sluice__object_plan__descriptor,
			  (ProtobufCMessage **)&plan);
	if (rc)
		return rc;
	rc = sl_plan_check(plan, SL_PLAN_STAT, why, sizeof(why));
	if (rc) {
		sluice__object_plan__free_unpacked(plan, NULL);
		return malformed(s, "stat", why);
	}
	*out = sl_object_from_pb(plan->object, plan);
	sluice__object_plan__free_unpacked(plan, NULL);
	return *out ? 0 : sl_sess_fail(s, -ENOMEM, "out of memory");
}

int sluice_list(sluice_session *s, const char *ns, const char *prefix, const char *start_after,
		uint32_t limit, struct sluice_object ***out, size_t *n, int *truncated)
{
	Sluice__ListReq req = SLUICE__LIST_REQ__INIT;
	Sluice__ListResp *resp = NULL;
	struct sluice_object **list;
	char why[160];
	int rc;

	*out = NULL;
	*n = 0;
	req.ns = (char *)ns;
	req.prefix = (char *)(prefix ? prefix : "");
	req.start_after = (char *)(start_after ? start_after : "");
	req.limit = limit;
	req.purpose = s->purpose;
	rc = sl_sess_call(s, SL_RPC_LIST, &req.base, &sluice__list_resp__descriptor,
			  (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	if (sl_list_check(resp, limit, why, sizeof(why))) {
		sluice__list_resp__free_unpacked(resp, NULL);
		return malformed(s, "list", why);
	}
	list = calloc(resp->n_objects + 1, sizeof(*list));
	for (size_t i = 0; list && i < resp->n_objects; i++) {
		list[i] = sl_object_from_pb(resp->objects[i], NULL);
		if (!list[i]) {
			sluice_list_free(list, i);
			list = NULL;
		}
	}
	if (list) {
		*out = list;
		*n = resp->n_objects;
		if (truncated)
			*truncated = resp->truncated;
	}
	sluice__list_resp__free_unpacked(resp, NULL);
	return list ? 0 : sl_sess_fail(s, -ENOMEM, "out of memory");
}

void sluice_list_free(struct sluice_object **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		sluice_object_free(list[i]);
	free(list);
}

static Sluice__Tag **tags_to_pb(const struct sluice_tag *tags, size_t n, Sluice__Tag *store)
{
	Sluice__Tag **p = calloc(n + 1, sizeof(*p));

	for (size_t i = 0; p && i < n; i++) {
		sluice__tag__init(&store[i]);
		store[i].key = (char *)tags[i].key;
		store[i].value = (char *)tags[i].value;
		p[i] = &store[i];
	}
	return p;
}

int sl_tags_pb(const struct sluice_tag *tags, size_t n, Sluice__Tag ***out, Sluice__Tag **store)
{
	*store = calloc(n + 1, sizeof(**store));
	*out = *store ? tags_to_pb(tags, n, *store) : NULL;
	if (!*out) {
		free(*store);
		return -ENOMEM;
	}
	return 0;
}

int sluice_set_tags(sluice_session *s, const char *ns, const char *name,
		    const struct sluice_tag *set, size_t n_set, const char *const *remove,
		    size_t n_remove)
{
	Sluice__SetTagsReq req = SLUICE__SET_TAGS_REQ__INIT;
	Sluice__Tag *store;
	int rc;

	req.ns = (char *)ns;
	req.name = (char *)name;
	if (sl_tags_pb(set, n_set, &req.set, &store))
		return sl_sess_fail(s, -ENOMEM, "out of memory");
	req.n_set = n_set;
	req.remove = (char **)remove;
	req.n_remove = n_remove;
	rc = sl_sess_call(s, SL_RPC_SET_TAGS, &req.base, NULL, NULL);
	free(req.set);
	free(store);
	return rc;
}

int sluice_delete(sluice_session *s, const char *ns, const char *name)
{
	Sluice__DeleteReq req = SLUICE__DELETE_REQ__INIT;

	if (!ns || !name)
		return sl_sess_fail(s, -EINVAL, "delete needs a namespace and a name");
	req.ns = (char *)ns;
	req.name = (char *)name;
	return sl_sess_call(s, SL_RPC_DELETE, &req.base, NULL, NULL);
}

int sluice_tenant_create(sluice_session *s, const char *name, uint64_t *id)
{
	Sluice__TenantCreateReq req = SLUICE__TENANT_CREATE_REQ__INIT;
	Sluice__Tenant *t = NULL;
	int rc;

	req.name = (char *)name;
	rc = sl_sess_call(s, SL_RPC_TENANT_CREATE, &req.base, &sluice__tenant__descriptor,
			  (ProtobufCMessage **)&t);
	if (rc)
		return rc;
	if (id)
		*id = t->id;
	sluice__tenant__free_unpacked(t, NULL);
	return 0;
}

void sluice_strings_free(char **list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

/* Copies the name field of each message in a repeated field. */
static int names_of(sluice_session *s, void **items, size_t count, size_t name_off,
		    char ***names, size_t *n)
{
	char **out = calloc(count + 1, sizeof(*out));

	if (!out)
		return sl_sess_fail(s, -ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		out[i] = strdup(*(char **)((char *)items[i] + name_off));
		if (!out[i]) {
			sluice_strings_free(out, i);
			return sl_sess_fail(s, -ENOMEM, "out of memory");
		}
	}
	*names = out;
	*n = count;
	return 0;
}

int sluice_tenant_list(sluice_session *s, char ***names, size_t *n)
{
	Sluice__Empty req = SLUICE__EMPTY__INIT;
	Sluice__TenantListResp *resp = NULL;
	char why[160];
	int rc = sl_sess_call(s, SL_RPC_TENANT_LIST, &req.base, &sluice__tenant_list_resp__descriptor,
			      (ProtobufCMessage **)&resp);

	if (rc)
		return rc;
	if (sl_tenants_check(resp, why, sizeof(why))) {
		sluice__tenant_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "tenant list", why);
	}
	rc = names_of(s, (void **)resp->tenants, resp->n_tenants, offsetof(Sluice__Tenant, name),
		      names, n);
	sluice__tenant_list_resp__free_unpacked(resp, NULL);
	return rc;
}

int sluice_principal_create(sluice_session *s, const struct sluice_principal_spec *spec,
			    char *key_id, char *secret)
{
	Sluice__PrincipalCreateReq req = SLUICE__PRINCIPAL_CREATE_REQ__INIT;
	Sluice__Principal *p = NULL;
	char why[160];
	int rc;

	req.tenant = (char *)(spec->tenant ? spec->tenant : "");
	req.name = (char *)spec->name;
	req.roles = (char **)spec->roles;
	req.n_roles = spec->n_roles;
	req.purposes = (char **)spec->purposes;
	req.n_purposes = spec->n_purposes;
	req.rights = (char **)spec->rights;
	req.n_rights = spec->n_rights;
	req.clearance = (char *)(spec->clearance ? spec->clearance : "");
	rc = sl_sess_call(s, SL_RPC_PRINCIPAL_CREATE, &req.base, &sluice__principal__descriptor,
			  (ProtobufCMessage **)&p);
	if (rc)
		return rc;
	if (sl_principal_check(p, why, sizeof(why))) {
		rc = malformed(s, "principal", why);
	} else if (p->secret.len != SL_KEY_LEN || strlen(p->key_id) >= 24) {
		rc = sl_sess_fail(s, -EPROTO, "malformed principal reply");
	} else {
		snprintf(key_id, 24, "%s", p->key_id);
		sl_hex_encode(p->secret.data, SL_KEY_LEN, secret);
	}
	OPENSSL_cleanse(p->secret.data, p->secret.len);
	sluice__principal__free_unpacked(p, NULL);
	return rc;
}

int sluice_ns_create(sluice_session *s, const struct sluice_ns_spec *spec)
{
	Sluice__NsCreateReq req = SLUICE__NS_CREATE_REQ__INIT;
	Sluice__Tag *store;
	int rc;

	req.tenant = (char *)(spec->tenant ? spec->tenant : "");
	req.name = (char *)spec->name;
	req.shard_size = spec->shard_size;
	req.replicas = spec->replicas;
	if (sl_tags_pb(spec->tags, spec->n_tags, &req.tags, &store))
		return sl_sess_fail(s, -ENOMEM, "out of memory");
	req.n_tags = spec->n_tags;
	rc = sl_sess_call(s, SL_RPC_NS_CREATE, &req.base, NULL, NULL);
	free(req.tags);
	free(store);
	return rc;
}

int sluice_ns_list(sluice_session *s, const char *tenant, char ***names, size_t *n)
{
	Sluice__NsListReq req = SLUICE__NS_LIST_REQ__INIT;
	Sluice__NsListResp *resp = NULL;
	char why[160];
	int rc;

	req.tenant = (char *)(tenant ? tenant : "");
	rc = sl_sess_call(s, SL_RPC_NS_LIST, &req.base, &sluice__ns_list_resp__descriptor,
			  (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	if (sl_namespaces_check(resp, why, sizeof(why))) {
		sluice__ns_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "namespace list", why);
	}
	rc = names_of(s, (void **)resp->namespaces, resp->n_namespaces,
		      offsetof(Sluice__Namespace, name), names, n);
	sluice__ns_list_resp__free_unpacked(resp, NULL);
	return rc;
}

int sluice_servers(sluice_session *s, struct sluice_server_info **out, size_t *n)
{
	Sluice__Empty req = SLUICE__EMPTY__INIT;
	Sluice__ServerListResp *resp = NULL;
	struct sluice_server_info *list;
	char why[160];
	int rc = sl_sess_call(s, SL_RPC_SERVER_LIST, &req.base, &sluice__server_list_resp__descriptor,
			      (ProtobufCMessage **)&resp);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	if (sl_servers_check(resp, why, sizeof(why))) {
		sluice__server_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "server list", why);
	}
	list = calloc(resp->n_servers + 1, sizeof(*list));
	for (size_t i = 0; list && i < resp->n_servers; i++) {
		list[i].id = resp->servers[i]->id;
		list[i].up = resp->servers[i]->up;
		list[i].last_heartbeat_ms = resp->servers[i]->last_heartbeat_ms;
		list[i].label = strdup(resp->servers[i]->label);
		list[i].provider = strdup(resp->servers[i]->provider);
		if (!list[i].label || !list[i].provider) {
			sluice_servers_free(list, i + 1);
			list = NULL;
		}
	}
	if (list) {
		*out = list;
		*n = resp->n_servers;
	}
	sluice__server_list_resp__free_unpacked(resp, NULL);
	return list ? 0 : sl_sess_fail(s, -ENOMEM, "out of memory");
}

void sluice_servers_free(struct sluice_server_info *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].label);
		free(list[i].provider);
	}
	free(list);
}

int sluice_whoami(sluice_session *s, char **tenant, char **principal)
{
	Sluice__Empty req = SLUICE__EMPTY__INIT;
	Sluice__Principal *p = NULL;
	char why[160];
	int rc = sl_sess_call(s, SL_RPC_WHOAMI, &req.base, &sluice__principal__descriptor,
			      (ProtobufCMessage **)&p);

	*tenant = *principal = NULL;
	if (rc)
		return rc;
	if (sl_principal_check(p, why, sizeof(why))) {
		rc = malformed(s, "whoami", why);
	} else {
		*tenant = strdup(p->tenant_name);
		*principal = strdup(p->name);
		if (!*tenant || !*principal) {
			free(*tenant);
			free(*principal);
			*tenant = *principal = NULL;
			rc = sl_sess_fail(s, -ENOMEM, "out of memory");
		}
	}
	sluice__principal__free_unpacked(p, NULL);
	return rc;
}
