/*
 * The audit log: an append-only column family of AuditRecords keyed by a
 * sequence number, each carrying the SHA-256 of the record before it, so a
 * deleted, edited or reordered record breaks the chain.
 */
#include <endian.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "meta.h"
#include "sl_log.h"
#include "sl_time.h"

static void sha256(const uint8_t *buf, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

int sl_audit_open(struct sl_meta *m)
{
	uint8_t *key = NULL, *val = NULL;
	size_t klen, vlen;
	int rc = sl_catalog_last(m->cat, SL_CF_AUDIT, &key, &klen, &val, &vlen);

	m->audit_seq = 0;
	memset(m->audit_hash, 0, sizeof(m->audit_hash));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (klen == 8) {
		memcpy(&m->audit_seq, key, 8);
		m->audit_seq = be64toh(m->audit_seq);
		sha256(val, vlen, m->audit_hash);
	} else {
		rc = -EIO;
	}
	free(key);
	free(val);
	return rc;
}

int sl_audit_commit(struct sl_meta *m, Sluice__AuditRecord *rec, struct sl_batch *with)
{
	struct sl_batch *b = with ? with : sl_batch_new();
	struct sl_key k;
	uint8_t *buf = NULL, prev[32];
	size_t len;
	int rc = -ENOMEM;

	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&m->audit_lock);
	memcpy(prev, m->audit_hash, 32);
	rec->seq = m->audit_seq + 1;
	rec->time_ms = sl_now_ms();
	rec->prev_hash = (ProtobufCBinaryData){ 32, prev };
	len = sluice__audit_record__get_packed_size(rec);
	buf = malloc(len);
	if (!buf)
		goto out;
	sluice__audit_record__pack(rec, buf);
	sl_key_u64(sl_key_reset(&k), rec->seq);
	sl_batch_put(b, m->cat, SL_CF_AUDIT, k.b, k.len, buf, len);
	/* The change and its record land together, or neither does. */
	rc = sl_catalog_commit(m->cat, b);
	if (!rc) {
		m->audit_seq = rec->seq;
		sha256(buf, len, m->audit_hash);
	} else {
		SL_ERR("audit: record %llu not written", (unsigned long long)rec->seq);
	}
out:
	pthread_mutex_unlock(&m->audit_lock);
	rec->prev_hash = (ProtobufCBinaryData){ 0, NULL };
	free(buf);
	if (!with)
		sl_batch_free(b);
	return rc;
}
