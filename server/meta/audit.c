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
#include "governance.h"
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

/*
 * A record's size is bounded when it is written (and again when it is read,
 * for records older than the bound): every string field is cut to
 * SL_AUDIT_FIELD_MAX bytes at a character boundary with a marker, and at most
 * SL_AUDIT_TAGS_MAX tags are kept, so one record always fits a reply.
 */
#define SL_AUDIT_FIELD_MAX 512
#define SL_AUDIT_TAGS_MAX 64
#define SL_AUDIT_CUT_MARK "...[cut]"

/* Copies of the cut strings of one record, freed once it is packed. */
struct audit_cuts {
	char *s[5 + 2 * SL_AUDIT_TAGS_MAX];
	size_t n;
	char **fields[5];   /* the record's fields, restored afterwards */
	char *orig[5];
	size_t n_tags_orig;
	Sluice__Tag **tags_orig;
	Sluice__Tag tags[SL_AUDIT_TAGS_MAX];
	Sluice__Tag *tag_ptrs[SL_AUDIT_TAGS_MAX];
};

/* s, or a copy cut at a UTF-8 boundary below max bytes with the marker. */
static char *cut(struct audit_cuts *c, char *s, size_t max)
{
	size_t n, keep;
	char *out;

	if (!s || (n = strlen(s)) <= max)
		return s;
	keep = max - sizeof(SL_AUDIT_CUT_MARK) + 1;
	while (keep && ((unsigned char)s[keep] & 0xc0) == 0x80)
		keep--;
	out = malloc(keep + sizeof(SL_AUDIT_CUT_MARK));
	if (!out)
		return (char *)"";
	memcpy(out, s, keep);
	memcpy(out + keep, SL_AUDIT_CUT_MARK, sizeof(SL_AUDIT_CUT_MARK));
	c->s[c->n++] = out;
	return out;
}

static void audit_bound(Sluice__AuditRecord *rec, struct audit_cuts *c)
{
	char **f[5] = { &rec->event, &rec->purpose, &rec->object, &rec->decision, &rec->reason };

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 5; i++) {
		c->fields[i] = f[i];
		c->orig[i] = *f[i];
		*f[i] = cut(c, *f[i], SL_AUDIT_FIELD_MAX);
	}
	c->n_tags_orig = rec->n_tags;
	c->tags_orig = rec->tags;
	if (rec->n_tags > SL_AUDIT_TAGS_MAX)
		rec->n_tags = SL_AUDIT_TAGS_MAX;
	for (size_t i = 0; i < rec->n_tags; i++) {
		c->tags[i] = (Sluice__Tag)SLUICE__TAG__INIT;
		c->tags[i].key = cut(c, c->tags_orig[i]->key, SL_AUDIT_FIELD_MAX / 4);
		c->tags[i].value = cut(c, c->tags_orig[i]->value, SL_AUDIT_FIELD_MAX / 4);
		c->tag_ptrs[i] = &c->tags[i];
	}
	rec->tags = rec->n_tags ? c->tag_ptrs : rec->tags;
}

static void audit_unbound(Sluice__AuditRecord *rec, struct audit_cuts *c)
{
	for (int i = 0; i < 5; i++)
		*c->fields[i] = c->orig[i];
	rec->n_tags = c->n_tags_orig;
	rec->tags = c->tags_orig;
	for (size_t i = 0; i < c->n; i++)
		free(c->s[i]);
}

int sl_audit_commit(struct sl_meta *m, Sluice__AuditRecord *rec, struct sl_batch *with)
{
	struct sl_batch *b = with ? with : sl_batch_new();
	struct audit_cuts *cuts = malloc(sizeof(*cuts));
	struct sl_key k;
	uint8_t *buf = NULL, prev[32];
	size_t len;
	int rc = -ENOMEM;

	if (!b || !cuts) {
		if (!with)
			sl_batch_free(b);
		free(cuts);
		return -ENOMEM;
	}
	audit_bound(rec, cuts);
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
	audit_unbound(rec, cuts);
	free(cuts);
	free(buf);
	if (!with)
		sl_batch_free(b);
	return rc;
}

/*
 * A reply stops adding records before its packed size would pass this, well
 * below SL_FRAME_MAX; the client continues after the last one it got.
 */
#define SL_AUDIT_REPLY_BUDGET (1u << 20)

struct audit_scan {
	const struct sl_meta *m;
	uint64_t tenant;      /* 0: every tenant (cluster admins) */
	size_t limit;
	size_t bytes;         /* packed size of the records collected */
	struct sl_collect out;
	uint8_t prev[32];
	int have_prev;
	int chain_ok;
	uint64_t last_seq;
};

/* Adds rec, bounded like a record being written, to the reply's records. */
static int audit_keep(struct audit_scan *a, Sluice__AuditRecord *rec, size_t *size)
{
	struct audit_cuts *cuts = malloc(sizeof(*cuts));
	uint8_t *buf = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (!cuts)
		return -ENOMEM;
	audit_bound(rec, cuts);
	len = sluice__audit_record__get_packed_size(rec);
	*size = len + 8; /* the field tag and length in the reply */
	if (a->out.n && a->bytes + *size > SL_AUDIT_REPLY_BUDGET) {
		rc = 1;
		goto out;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	sluice__audit_record__pack(rec, buf);
	rc = sl_collect_one(&a->out, NULL, 0, buf, len);
out:
	audit_unbound(rec, cuts);
	free(cuts);
	free(buf);
	return rc;
}

static int audit_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct audit_scan *a = arg;
	Sluice__AuditRecord *rec;
	size_t size = 0;
	int rc = 0;

	(void)key;
	(void)klen;
	if (a->out.n == a->limit) {
		a->out.truncated = 1;
		return 1;
	}
	rec = sluice__audit_record__unpack(NULL, vlen, val);
	if (!rec)
		return -EIO;
	if (a->tenant == 0 || rec->tenant_id == a->tenant) {
		rc = audit_keep(a, rec, &size);
		if (rc == 1) {
			/* Full by size: this record opens the next page. */
			a->out.truncated = 1;
			goto out;
		}
		if (rc)
			goto out;
		a->bytes += size;
	}
	/* Every record names the hash of the one before it. */
	if (a->have_prev && (rec->prev_hash.len != 32 || memcmp(rec->prev_hash.data, a->prev, 32)))
		a->chain_ok = 0;
	sha256(val, vlen, a->prev);
	a->have_prev = 1;
	a->last_seq = rec->seq;
out:
	sluice__audit_record__free_unpacked(rec, NULL);
	return rc;
}

int sl_h_audit_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__AuditListReq *req,
		    struct sl_reply *r)
{
	Sluice__AuditListResp resp = SLUICE__AUDIT_LIST_RESP__INIT;
	struct audit_scan a = { .m = m, .chain_ok = 1 };
	struct sl_key from;
	uint8_t *val = NULL;
	size_t vlen;
	int rc;

	if (!c->p || !sl_has_role(c->p, "admin"))
		return sl_fail(r, -EPERM, "reading the audit log needs the admin role");
	/* Cluster admins read every tenant's records; a tenant's admins their own. */
	a.tenant = sl_is_cluster_admin(m, c) ? 0 : c->p->tenant_id;
	a.limit = req->limit && req->limit <= 1000 ? req->limit : (req->limit ? 1000 : 100);
	a.out.desc = &sluice__audit_record__descriptor;
	/* Start from the record before the window, to check the first link too. */
	if (req->after_seq) {
		sl_key_u64(sl_key_reset(&from), req->after_seq);
		rc = sl_catalog_get_raw(m->cat, SL_CF_AUDIT, from.b, from.len, &val, &vlen);
		if (rc == 0) {
			sha256(val, vlen, a.prev);
			a.have_prev = 1;
		}
		free(val);
	}
	sl_key_u64(sl_key_reset(&from), req->after_seq);
	rc = sl_catalog_scan(m->cat, SL_CF_AUDIT, "", 0, req->after_seq ? from.b : NULL,
			     req->after_seq ? from.len : 0, audit_one, &a);
	if (!rc) {
		resp.records = (Sluice__AuditRecord **)a.out.items;
		resp.n_records = a.out.n;
		resp.truncated = a.out.truncated;
		resp.chain_ok = a.chain_ok;
		resp.last_seq = a.last_seq;
		rc = sl_reply_pack(r, &resp.base);
	} else {
		sl_fail(r, rc, "catalog read failed");
	}
	sl_collect_free(&a.out);
	return rc;
}
