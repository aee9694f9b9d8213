/*
 * Catalog keys. Integers are big-endian so that keys sort numerically. Every
 * key a name is looked up by starts with the tenant id (namespaces, visible
 * objects, principal names), so nothing of one tenant can be named from
 * another; pending objects and shards are keyed by object id, which only
 * sluice-meta hands out, and principals by their key id.
 *
 *   tenants     "n" name              -> u64 tenant id
 *               "i" u64 id            -> Tenant
 *   principals  "k" key_id            -> Principal
 *               "n" u64 tenant name   -> key_id
 *   namespaces  u64 tenant name       -> Namespace
 *   objects     "c" u64 tenant u64 ns name -> Object (committed, visible)
 *               "p" u64 object id     -> Object (pending, invisible)
 *   shards      u64 object u32 index  -> Shard
 *   servers     u32 server id         -> DataServer
 *   audit       u64 sequence          -> AuditRecord
 *   drops       u32 server u64 object u32 index -> u64 tenant (replicas to delete)
 *   default     "next_id"             -> u64, the next id to hand out
 *               "audit_head" u64 chain -> AuditHead (signed end of an audit chain)
 */
#ifndef SL_CATALOG_KEYS_H
#define SL_CATALOG_KEYS_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define SL_KEY_MAX 1200

struct sl_key {
	uint8_t b[SL_KEY_MAX];
	size_t len;
};

static inline struct sl_key *sl_key_reset(struct sl_key *k)
{
	k->len = 0;
	return k;
}

static inline struct sl_key *sl_key_tag(struct sl_key *k, char c)
{
	k->b[k->len++] = (uint8_t)c;
	return k;
}

static inline struct sl_key *sl_key_u64(struct sl_key *k, uint64_t v)
{
	v = htobe64(v);
	memcpy(k->b + k->len, &v, 8);
	k->len += 8;
	return k;
}

static inline struct sl_key *sl_key_u32(struct sl_key *k, uint32_t v)
{
	v = htobe32(v);
	memcpy(k->b + k->len, &v, 4);
	k->len += 4;
	return k;
}

/* Names are validated (bounded, no NUL) before they reach a key. */
static inline struct sl_key *sl_key_str(struct sl_key *k, const char *s)
{
	size_t n = strlen(s);

	if (n > SL_KEY_MAX - 32 - k->len)
		n = SL_KEY_MAX - 32 - k->len;
	memcpy(k->b + k->len, s, n);
	k->len += n;
	return k;
}

/* A committed object's visible key: "c" u64 tenant u64 ns name. */
static inline struct sl_key *sl_key_object(struct sl_key *k, uint64_t tenant, uint64_t ns_id,
					   const char *name)
{
	return sl_key_str(sl_key_u64(sl_key_u64(sl_key_tag(sl_key_reset(k), 'c'), tenant), ns_id),
			  name);
}

#endif
