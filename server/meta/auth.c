/*
 * Request authentication (see proto/reqsign.h) and the first-start bootstrap
 * of the system tenant and its admin. Every refusal looks the same to the
 * caller ("authentication failed"); the reason goes to the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog_keys.h"
#include "meta.h"
#include "reqsign.h"
#include "tls.h"
#include "sl_log.h"
#include "sl_time.h"

int sl_auth_verify(struct sl_meta *m, uint16_t type, uint64_t req_id, const uint8_t *buf,
		   size_t len, struct sl_caller *caller, Sluice__Signed **out)
{
	Sluice__Signed *env = sluice__signed__unpack(NULL, len, buf);
	Sluice__Principal *p = NULL;
	const uint8_t *secret;
	size_t secret_len;
	uint8_t mac[SL_MAC_LEN];
	uint64_t now = sl_now_ms();
	const char *why;
	struct sl_key k;
	int rc = -EACCES;

	memset(caller, 0, sizeof(*caller));
	*out = NULL;
	why = "malformed envelope";
	if (!env || env->nonce.len != SL_NONCE_LEN || env->mac.len != SL_MAC_LEN ||
	    strlen(env->key_id) == 0 || strlen(env->key_id) > 64)
		goto refuse;
	why = "timestamp outside the allowed skew";
	if (env->timestamp_ms + SL_REQ_SKEW_MS < now || env->timestamp_ms > now + SL_REQ_SKEW_MS)
		goto refuse;
	if (sl_server_key_id_parse(env->key_id, &caller->server_id) == 0) {
		/* A data server signs with its own key: the key id names which. */
		why = "cannot derive the data server's key";
		if (sl_keyring_for_server(&m->keys, caller->server_id, &caller->server_keys))
			goto refuse;
		secret = caller->server_keys.server_key;
		secret_len = SL_KEY_LEN;
		caller->is_server = 1;
	} else {
		sl_key_str(sl_key_tag(sl_key_reset(&k), 'k'), env->key_id);
		rc = sl_catalog_get(m->cat, SL_CF_PRINCIPALS, k.b, k.len,
				    &sluice__principal__descriptor, (ProtobufCMessage **)&p);
		why = "unknown key id";
		if (rc)
			goto refuse;
		secret = p->secret.data;
		secret_len = p->secret.len;
	}
	why = "mac computation";
	if (sl_reqsign_mac(secret, secret_len, type, req_id, env->timestamp_ms, env->nonce.data,
			   env->key_id, env->body.data, env->body.len, mac))
		goto refuse;
	why = "bad signature";
	if (!sl_mac_equal(mac, env->mac.data, SL_MAC_LEN))
		goto refuse;
	rc = sl_replay_check(m->replay, env->key_id, env->timestamp_ms, env->nonce.data, now);
	why = rc == -EBUSY ? "too many requests in the replay window"
			   : "replayed nonce or signed before the last start";
	if (rc)
		goto refuse;
	caller->p = p;
	*out = env;
	return 0;
refuse:
	SL_WARN("auth: refused %s request (key '%s'): %s", sl_rpc_name(type),
		env ? env->key_id : "?", why);
	/* A key id naming a principal: its tenant learns someone holds or tries it. */
	sl_authlog_note(m, p ? p->tenant_id : 0, p ? p->id : 0,
			env && env->key_id[0] && strlen(env->key_id) <= 64 ? env->key_id : "?", why,
			now);
	if (p)
		sluice__principal__free_unpacked(p, NULL);
	if (env)
		sluice__signed__free_unpacked(env, NULL);
	memset(caller, 0, sizeof(*caller));
	/* Overload is the one refusal worth telling apart: the caller may retry. */
	return rc == -EBUSY ? -EBUSY : -EACCES;
}

/*
 * On a catalog with no tenants: creates the system tenant and its admin
 * principal, and writes the admin's credentials to <data_dir>/admin.credentials
 * (mode 0600). Later starts leave both alone.
 */
int sl_meta_bootstrap(struct sl_meta *m)
{
	Sluice__Tenant t = SLUICE__TENANT__INIT;
	Sluice__Principal p = SLUICE__PRINCIPAL__INIT;
	char *roles[] = { (char *)"admin" }, *purposes[] = { (char *)"admin" };
	uint8_t secret[SL_KEY_LEN], *val = NULL, idb[8];
	char key_id[40], hex[2 * SL_KEY_LEN + 1], path[600];
	struct sl_batch *b = NULL;
	struct sl_key k;
	size_t vlen;
	FILE *f;
	int rc, fd;

	sl_key_str(sl_key_tag(sl_key_reset(&k), 'n'), SL_SYSTEM_TENANT);
	rc = sl_catalog_get_raw(m->cat, SL_CF_TENANTS, k.b, k.len, &val, &vlen);
	free(val);
	if (rc != -ENOENT)
		return rc;

	b = sl_batch_new();
	if (!b)
		return -ENOMEM;
	t.id = sl_batch_alloc_id(b, m->cat);
	t.name = (char *)SL_SYSTEM_TENANT;
	t.created_ms = sl_now_ms();
	{
		uint64_t be = htobe64(t.id);
		memcpy(idb, &be, 8);
	}
	sl_batch_put(b, m->cat, SL_CF_TENANTS, k.b, k.len, idb, 8);
	sl_key_u64(sl_key_tag(sl_key_reset(&k), 'i'), t.id);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_TENANTS, k.b, k.len, &t.base);

	p.id = sl_batch_alloc_id(b, m->cat);
	p.tenant_id = t.id;
	p.name = (char *)"admin";
	rc = rc ? rc : sl_random_bytes(secret, sizeof(secret));
	if (rc)
		goto out;
	{
		uint8_t kid[8];
		char kh[17];

		rc = sl_random_bytes(kid, sizeof(kid));
		if (rc)
			goto out;
		sl_hex_encode(kid, sizeof(kid), kh);
		snprintf(key_id, sizeof(key_id), "SK%s", kh);
	}
	p.key_id = key_id;
	p.secret = (ProtobufCBinaryData){ sizeof(secret), secret };
	p.n_roles = 1;
	p.roles = roles;
	p.n_purposes = 1;
	p.purposes = purposes;
	p.clearance = (char *)"public";
	p.created_ms = t.created_ms;
	sl_key_str(sl_key_tag(sl_key_reset(&k), 'k'), key_id);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_PRINCIPALS, k.b, k.len, &p.base);
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'n'), t.id), "admin");
	sl_batch_put(b, m->cat, SL_CF_PRINCIPALS, k.b, k.len, key_id, strlen(key_id));
	if (rc)
		goto out;

	/* Credentials first: a catalog with an admin nobody can log in as is worse,
	 * so every step of the write is checked before the catalog commit. */
	snprintf(path, sizeof(path), "%s/admin.credentials", m->cfg.data_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		SL_ERR_RC(rc, "bootstrap: writing %s", path);
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto cred_fail;
	}
	sl_hex_encode(secret, sizeof(secret), hex);
	rc = fprintf(f, "# sluice credentials: tenant %s, principal admin\n[sluice]\nmeta = %s\n"
			"key_id = %s\nsecret = %s\n",
		     SL_SYSTEM_TENANT, m->cfg.listen, key_id, hex) < 0 ? -EIO : 0;
	OPENSSL_cleanse(hex, sizeof(hex));
	rc = rc ? rc : sl_tls_ca_entry_write(f, m->ca_der, m->ca_der_len);
	if (!rc && fflush(f) != 0)
		rc = -errno;
	if (!rc && fsync(fd) != 0)
		rc = -errno;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
cred_fail:
	if (rc) {
		SL_ERR_RC(rc, "bootstrap: writing %s", path);
		unlink(path);
		goto out;
	}
	rc = sl_catalog_commit(m->cat, b);
	if (!rc)
		SL_INFO("bootstrap: created tenant '%s' and its admin; credentials in %s",
			SL_SYSTEM_TENANT, path);
out:
	sl_batch_free(b);
	return rc;
}
