/*
 * AUDIT_VERIFY: a walk over a tenant's whole audit log, from record 1 to
 * the signed head, that names the first record found broken and how (see
 * audit.h for what each finding means).
 *
 * The walk goes in bounded steps, one request each: a step checks at most
 * SL_AUDIT_VERIFY_RECORDS records (or SL_AUDIT_VERIFY_BYTES of them) through
 * a catalog iterator, which holds no lock of sluice-meta and does not stop
 * writers, and ends with the position of the last record checked; the next
 * step starts after it, re-reading that record to link the next one to it.
 * Only at the log's end is audit_lock taken, for two point reads between
 * group commits (sl_audit_ends), to hold the last record against the head.
 * Records appended while the walk goes on are walked too: the walk is over
 * when the last record stored is the last one checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "governance.h"
#include "meta.h"

/* One step's bounds: about a second of work on a slow disk, well under any timeout. */
#define SL_AUDIT_VERIFY_RECORDS 20000u
#define SL_AUDIT_VERIFY_BYTES (32u << 20)

static const uint8_t zeros[32];

static int broken(struct sl_audit_walk *w, uint64_t seq, const char *problem, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

static int broken(struct sl_audit_walk *w, uint64_t seq, const char *problem, const char *fmt,
		  ...)
{
	va_list ap;

	w->broken = 1;
	w->bad_seq = seq;
	w->problem = problem;
	va_start(ap, fmt);
	vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
	va_end(ap);
	return 1;
}

void sl_audit_walk_init(struct sl_audit_walk *w)
{
	memset(w, 0, sizeof(*w));
}

int sl_audit_walk_resume(struct sl_audit_walk *w, uint64_t seq, const uint8_t *val, size_t vlen)
{
	w->last = seq;
	if (!val)
		return broken(w, seq, "missing", "record %llu missing (deleted while it was checked)",
			      (unsigned long long)seq);
	sl_audit_hash(val, vlen, w->last_hash);
	return 0;
}

int sl_audit_walk_record(struct sl_audit_walk *w, uint64_t pos, const uint8_t *val, size_t vlen)
{
	unsigned long long want = w->last + 1, at = pos;
	Sluice__AuditRecord *rec;
	int rc = 0;

	if (w->broken)
		return 1;
	/* The first wrong thing in log order: a missing position comes before
	 * anything about the record found after it. */
	if (pos > want + 1)
		return broken(w, want, "missing", "records %llu to %llu missing (deleted)", want,
			      at - 1);
	if (pos != want)
		return broken(w, want, "missing", "record %llu missing (deleted)", want);
	rec = sluice__audit_record__unpack(NULL, vlen, val);
	if (!rec)
		return broken(w, pos, "unreadable",
			      "record %llu: unreadable (its stored bytes were changed)", at);
	if (rec->seq != pos)
		rc = broken(w, pos, "reordered",
			    "record %llu: out of place (the record stored there is numbered %llu): "
			    "records were reordered",
			    at, (unsigned long long)rec->seq);
	else if (rec->prev_hash.len != 32 ||
		 memcmp(rec->prev_hash.data, w->last ? w->last_hash : zeros, 32))
		rc = pos == 1 ? broken(w, pos, "changed",
				       "record 1: changed (its prev_hash does not begin a log)")
			      : broken(w, pos, "changed",
				       "record %llu: its predecessor was changed (prev_hash does "
				       "not match record %llu)",
				       at, at - 1);
	/* sluice-meta found the signed head missing, forged or behind the
	 * records when it started, and anchored the chain again at this record:
	 * what came before can no longer be vouched for. */
	else if (strcmp(rec->event, "audit.head") == 0)
		rc = broken(w, pos, "head", "record %llu: the log was anchored again here (%.120s)",
			    at, rec->reason);
	sluice__audit_record__free_unpacked(rec, NULL);
	if (rc)
		return rc;
	w->last = pos;
	sl_audit_hash(val, vlen, w->last_hash);
	w->checked++;
	return 0;
}

int sl_audit_walk_end(struct sl_audit_walk *w, int head_rc, uint64_t head_seq,
		      const uint8_t head_hash[32])
{
	unsigned long long last = w->last, head = head_seq;

	if (w->broken)
		return 1;
	if (head_rc == -ENOENT)
		return last ? broken(w, last, "head",
				     "the signed head is missing (the log ends at record %llu)", last)
			    : 0;
	if (head_rc)
		return broken(w, last, "head",
			      "the signed head is forged or damaged (the log ends at record %llu)",
			      last);
	if (head_seq > w->last)
		return head > last + 1
			       ? broken(w, last + 1, "cut",
					"records %llu to %llu missing: the log was cut (its signed "
					"head names record %llu)",
					last + 1, head, head)
			       : broken(w, last + 1, "cut",
					"record %llu missing: the log was cut (its signed head "
					"names record %llu)",
					last + 1, head);
	if (head_seq < w->last)
		return broken(w, head + 1, "head",
			      "record %llu: not covered by the signed head, which names record %llu",
			      head + 1, head);
	if (memcmp(head_hash, w->last_hash, 32))
		return broken(w, last, "changed",
			      "record %llu: changed (it does not match the signed head)", last);
	return 0;
}

struct verify_step {
	struct sl_audit_walk w;
	size_t bytes;
	int more;   /* the step's bounds ended it before the log's end */
};

static int verify_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct verify_step *v = arg;

	if (klen != SL_AUDIT_KEY_LEN)
		return 0; /* not a record of this chain's layout */
	if (v->w.checked == SL_AUDIT_VERIFY_RECORDS || v->bytes >= SL_AUDIT_VERIFY_BYTES) {
		v->more = 1;
		return 1;
	}
	v->bytes += vlen;
	return sl_audit_walk_record(&v->w, sl_audit_key_seq(key), val, vlen);
}

int sl_h_audit_verify(struct sl_meta *m, const struct sl_caller *c,
		      const Sluice__AuditVerifyReq *req, struct sl_reply *r)
{
	Sluice__AuditVerifyResp resp = SLUICE__AUDIT_VERIFY_RESP__INIT;
	struct verify_step v;
	struct sl_key from, prefix;
	uint64_t tenant, last_stored = 0;
	uint8_t *val = NULL, head_hash[32];
	size_t vlen = 0;
	int rc, head_rc = 0;

	if (!c->p || !sl_has_role(c->p, "admin"))
		return sl_fail(r, -EPERM, "verifying the audit log needs the admin role");
	/* A tenant's admins verify their tenant's log; cluster admins any one. */
	rc = sl_target_tenant(m, c, req->tenant, &tenant, r);
	if (rc)
		return rc;
	sl_audit_walk_init(&v.w);
	v.bytes = 0;
	v.more = 0;
	if (req->after_seq) {
		sl_audit_record_key(&from, tenant, req->after_seq);
		rc = sl_catalog_get_raw(m->cat, SL_CF_AUDIT, from.b, from.len, &val, &vlen);
		if (rc && rc != -ENOENT)
			return sl_fail(r, rc, "catalog read failed");
		sl_audit_walk_resume(&v.w, req->after_seq, rc ? NULL : val, vlen);
		free(val);
	}
	if (!v.w.broken) {
		sl_audit_record_key(&prefix, tenant, 0);
		rc = sl_catalog_scan(m->cat, SL_CF_AUDIT, prefix.b, prefix.len,
				     req->after_seq ? from.b : NULL, req->after_seq ? from.len : 0,
				     verify_one, &v);
		if (rc < 0)
			return sl_fail(r, rc, "catalog read failed");
	}
	if (!v.w.broken && !v.more) {
		rc = sl_audit_ends(m, tenant, &head_rc, &resp.head_seq, head_hash, &last_stored);
		if (rc)
			return sl_fail(r, rc, "catalog read failed");
		/* Records appended since the scan passed are walked by the next step. */
		if (last_stored > v.w.last)
			v.more = 1;
		else
			sl_audit_walk_end(&v.w, head_rc, resp.head_seq, head_hash);
		if (head_rc)
			resp.head_seq = 0;
	}
	resp.done = v.w.broken || !v.more;
	resp.intact = resp.done && !v.w.broken;
	resp.last_seq = v.w.last;
	resp.checked = v.w.checked;
	if (v.w.broken) {
		resp.bad_seq = v.w.bad_seq;
		resp.problem = (char *)v.w.problem;
		resp.detail = v.w.detail;
	}
	return sl_reply_pack(r, &resp.base);
}
