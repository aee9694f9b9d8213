/* Capability packing, signing and checking; see capability.h for the layout. */
#include "capability.h"

#include <endian.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

struct cursor {
	uint8_t *p;
};

static void put64(struct cursor *c, uint64_t v)
{
	v = htole64(v);
	memcpy(c->p, &v, 8);
	c->p += 8;
}

static void put32(struct cursor *c, uint32_t v)
{
	v = htole32(v);
	memcpy(c->p, &v, 4);
	c->p += 4;
}

static uint64_t get64(const uint8_t **p)
{
	uint64_t v;
	memcpy(&v, *p, 8);
	*p += 8;
	return le64toh(v);
}

static uint32_t get32(const uint8_t **p)
{
	uint32_t v;
	memcpy(&v, *p, 4);
	*p += 4;
	return le32toh(v);
}

static void pack_body(const struct sl_cap *cap, uint8_t *out)
{
	struct cursor c = { out };

	*c.p++ = cap->version;
	*c.p++ = cap->ops;
	*c.p++ = 0;
	*c.p++ = 0;
	put32(&c, cap->key_gen);
	put64(&c, cap->tenant);
	put64(&c, cap->principal);
	put64(&c, cap->object_id);
	put64(&c, cap->object_version);
	put32(&c, cap->shard_first);
	put32(&c, cap->shard_count);
	put64(&c, cap->tag_epoch);
	put64(&c, cap->policy_epoch);
	put64(&c, cap->issued_ms);
	put64(&c, cap->expiry_ms);
	put64(&c, cap->cap_id);
	put64(&c, cap->session);
	memcpy(c.p, cap->purpose, SL_CAP_PURPOSE_LEN);
}

static int sign(const uint8_t *key, const uint8_t *body, uint8_t *mac)
{
	struct iovec iov = { (void *)body, SL_CAP_BODY_LEN };

	return sl_hmac_sha256(key, SL_KEY_LEN, &iov, 1, mac);
}

int sl_cap_mint(struct sl_cap *cap, const struct sl_keyring *kr, uint8_t out[SL_CAP_LEN])
{
	cap->version = SL_CAP_VERSION;
	cap->key_gen = kr->cap_gen;
	pack_body(cap, out);
	return sign(kr->cap_key, out, out + SL_CAP_BODY_LEN);
}

static int refuse(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return -EACCES;
}

int sl_cap_verify(const uint8_t *buf, size_t len, const struct sl_keyring *kr, uint64_t now_ms,
		  struct sl_cap *out, const char **reason)
{
	uint8_t mac[SL_MAC_LEN];
	const uint8_t *key, *p = buf;
	struct sl_cap c = { 0 };

	if (!buf || len != SL_CAP_LEN)
		return refuse(reason, "capability length");
	c.version = *p++;
	c.ops = *p++;
	p += 2;
	if (c.version != SL_CAP_VERSION)
		return refuse(reason, "capability version");
	c.key_gen = get32(&p);
	c.tenant = get64(&p);
	c.principal = get64(&p);
	c.object_id = get64(&p);
	c.object_version = get64(&p);
	c.shard_first = get32(&p);
	c.shard_count = get32(&p);
	c.tag_epoch = get64(&p);
	c.policy_epoch = get64(&p);
	c.issued_ms = get64(&p);
	c.expiry_ms = get64(&p);
	c.cap_id = get64(&p);
	c.session = get64(&p);
	memcpy(c.purpose, p, SL_CAP_PURPOSE_LEN);

	if (c.issued_ms > now_ms + SL_CAP_SKEW_MS)
		return refuse(reason, "capability not yet valid");
	if (c.expiry_ms + SL_CAP_SKEW_MS < now_ms)
		return refuse(reason, "capability expired");
	if (c.expiry_ms < c.issued_ms || c.expiry_ms - c.issued_ms > SL_CAP_MAX_TTL_MS)
		return refuse(reason, "capability lifetime");
	if (c.key_gen == kr->cap_gen)
		key = kr->cap_key;
	else if (c.key_gen + 1 == kr->cap_gen)
		key = kr->cap_key_prev;
	else
		return refuse(reason, "capability key generation retired");
	if (sign(key, buf, mac))
		return refuse(reason, "capability mac computation");
	if (!sl_mac_equal(mac, buf + SL_CAP_BODY_LEN, SL_MAC_LEN))
		return refuse(reason, "capability mac mismatch");
	*out = c;
	return 0;
}

int sl_cap_allows(const struct sl_cap *cap, unsigned op, uint64_t tenant, uint64_t object_id,
		  uint32_t shard, const char **reason)
{
	if (cap->tenant != tenant)
		return refuse(reason, "capability tenant is not the shard's owner");
	if (cap->object_id != object_id)
		return refuse(reason, "capability object mismatch");
	if (shard < cap->shard_first || shard - cap->shard_first >= cap->shard_count)
		return refuse(reason, "capability shard outside its set");
	if (!(cap->ops & op))
		return refuse(reason, "capability operation not granted");
	return 0;
}

uint64_t sl_cap_session(const void *addr, size_t len)
{
	uint8_t md[32];
	uint64_t v;

	if (!addr || len == 0 || len > SL_CAP_ADDR_MAX)
		return 0;
	if (!EVP_Digest(addr, len, md, NULL, EVP_sha256(), NULL))
		return 0;
	memcpy(&v, md, 8);
	return le64toh(v);
}

int sl_cap_bound(const struct sl_cap *cap, const void *addr, size_t len, const char **reason)
{
	if (cap->session == 0)
		return refuse(reason, "capability bound to no endpoint");
	if (sl_cap_session(addr, len) != cap->session)
		return refuse(reason, "capability bound to another endpoint");
	return 0;
}
