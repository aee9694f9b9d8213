/*
 * Catalog reads shared by the handlers. Every lookup of tenant data takes the
 * caller's tenant id first: a name in another tenant is simply not found.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"

int sl_fail(struct sl_reply *r, int err, const char *fmt, ...)
{
	va_list ap;

	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return err;
}

int sl_reply_pack(struct sl_reply *r, const ProtobufCMessage *msg)
{
	r->body_len = protobuf_c_message_get_packed_size(msg);
	r->body = malloc(r->body_len ? r->body_len : 1);
	if (!r->body)
		return sl_fail(r, -ENOMEM, "out of memory");
	protobuf_c_message_pack(msg, r->body);
	return 0;
}

int sl_is_cluster_admin(const struct sl_meta *m, const struct sl_caller *c)
{
	return c->p && c->p->tenant_id == m->system_tenant && sl_has_role(c->p, "admin");
}

int sl_tenant_id(struct sl_meta *m, const char *name, uint64_t *id)
{
	struct sl_key k;
	uint8_t *val;
	size_t vlen;
	int rc;

	if (!sl_name_valid(name))
		return -ENOENT;
	sl_key_str(sl_key_tag(sl_key_reset(&k), 'n'), name);
	rc = sl_catalog_get_raw(m->cat, SL_CF_TENANTS, k.b, k.len, &val, &vlen);
	if (rc)
		return rc;
	if (vlen != 8) {
		free(val);
		return -EIO;
	}
	memcpy(id, val, 8);
	*id = be64toh(*id);
	free(val);
	return 0;
}

int sl_target_tenant(struct sl_meta *m, const struct sl_caller *c, const char *name,
		     uint64_t *tenant_id, struct sl_reply *r)
{
	int rc;

	if (!c->p)
		return sl_fail(r, -EPERM, "not allowed for data servers");
	if (!name || !name[0]) {
		*tenant_id = c->p->tenant_id;
		return 0;
	}
	if (!sl_name_valid(name))
		return sl_fail(r, -EINVAL, "bad tenant name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	rc = sl_tenant_id(m, name, tenant_id);
	/* Only cluster admins may name another tenant; to others it does not exist. */
	if (rc == -ENOENT || (!rc && *tenant_id != c->p->tenant_id && !sl_is_cluster_admin(m, c)))
		return sl_fail(r, -ENOENT, "no such tenant: %s", name);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	return 0;
}

int sl_ns_get(struct sl_meta *m, uint64_t tenant, const char *name, Sluice__Namespace **ns)
{
	struct sl_key k;

	if (!sl_name_valid(name))
		return -ENOENT;
	sl_key_str(sl_key_u64(sl_key_reset(&k), tenant), name);
	return sl_catalog_get(m->cat, SL_CF_NAMESPACES, k.b, k.len, &sluice__namespace__descriptor,
			      (ProtobufCMessage **)ns);
}

int sl_object_get(struct sl_meta *m, uint64_t tenant, const char *ns, const char *name,
		  Sluice__Object **obj)
{
	Sluice__Namespace *n = NULL;
	struct sl_key k;
	int rc;

	*obj = NULL;
	if (!sl_object_name_valid(name))
		return -ENOENT;
	rc = sl_ns_get(m, tenant, ns, &n);
	if (rc)
		return rc;
	sl_key_str(sl_key_u64(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'c'), tenant), n->id), name);
	sluice__namespace__free_unpacked(n, NULL);
	return sl_catalog_get(m->cat, SL_CF_OBJECTS, k.b, k.len, &sluice__object__descriptor,
			      (ProtobufCMessage **)obj);
}

int sl_shards_get(struct sl_meta *m, uint64_t object_id, uint32_t count, Sluice__Shard ***shards)
{
	Sluice__Shard **s = calloc(count ? count : 1, sizeof(*s));
	struct sl_key k;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		sl_key_u32(sl_key_u64(sl_key_reset(&k), object_id), i);
		rc = sl_catalog_get(m->cat, SL_CF_SHARDS, k.b, k.len, &sluice__shard__descriptor,
				    (ProtobufCMessage **)&s[i]);
		if (rc) {
			rc = rc == -ENOENT ? -EIO : rc; /* a committed object missing a shard */
			sl_shards_free(s, i);
			return rc;
		}
	}
	*shards = s;
	return 0;
}

void sl_shards_free(Sluice__Shard **shards, uint32_t count)
{
	for (uint32_t i = 0; shards && i < count; i++)
		if (shards[i])
			sluice__shard__free_unpacked(shards[i], NULL);
	free(shards);
}

int sl_collect_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
		       size_t vlen)
{
	struct sl_collect *c = arg;
	void *msg;

	if (c->limit && c->n == c->limit) {
		c->truncated = 1;
		return 1;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		void **items = realloc(c->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	msg = protobuf_c_message_unpack(c->desc, NULL, vlen, val);
	if (!msg)
		return -EIO;
	c->items[c->n++] = msg;
	return 0;
}

void sl_collect_free(struct sl_collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		protobuf_c_message_free_unpacked(c->items[i], NULL);
	free(c->items);
}
