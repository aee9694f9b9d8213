/*
 * Unit tests of the audit log's full walk (server/meta/audit_verify.c) and
 * of filtered listing (server/meta/audit.c): the walk names the first
 * deleted, edited or reordered record of a chain built in memory, and on a
 * real catalog the AUDIT_VERIFY and AUDIT_LIST handlers walk in bounded
 * steps, filter without losing the chain check, and resume where they
 * stopped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "meta.h"

#define TEST_N 12

/* A chain of TEST_N records in memory: packed[i] is record i + 1. */
struct test_log {
	uint8_t *packed[TEST_N + 1];
	size_t len[TEST_N + 1];
	uint8_t head_hash[32];
};

static void test_pack(struct test_log *l, int i, Sluice__AuditRecord *a)
{
	l->len[i] = sluice__audit_record__get_packed_size(a);
	l->packed[i] = malloc(l->len[i] + 1);
	cr_assert(l->packed[i]);
	sluice__audit_record__pack(a, l->packed[i]);
}

static void test_log_make(struct test_log *l)
{
	uint8_t prev[32] = { 0 };

	for (int i = 0; i < TEST_N; i++) {
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;

		a.seq = (uint64_t)i + 1;
		a.event = (char *)"read.grant";
		a.decision = (char *)(i % 2 ? "deny" : "allow");
		a.reason = (char *)"rule";
		a.prev_hash = (ProtobufCBinaryData){ 32, prev };
		test_pack(l, i, &a);
		sl_audit_hash(l->packed[i], l->len[i], prev);
	}
	memcpy(l->head_hash, prev, 32);
}

static void test_log_free(struct test_log *l)
{
	for (int i = 0; i <= TEST_N; i++)
		free(l->packed[i]);
}

/* Walks records at positions pos[0..n) holding packed[idx[i]]; then the head. */
static int test_walk(struct sl_audit_walk *w, const struct test_log *l, const uint64_t *pos,
		     const int *idx, int n, uint64_t head_seq, const uint8_t *head_hash)
{
	sl_audit_walk_init(w);
	for (int i = 0; i < n; i++)
		if (sl_audit_walk_record(w, pos[i], l->packed[idx[i]], l->len[idx[i]]))
			return 1;
	return sl_audit_walk_end(w, 0, head_seq, head_hash);
}

/* The intact layout: position i + 1 holds record i + 1. */
static void test_layout(uint64_t *pos, int *idx)
{
	for (int i = 0; i < TEST_N; i++) {
		pos[i] = (uint64_t)i + 1;
		idx[i] = i;
	}
}

Test(audit_walk, an_intact_chain_checks_out)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;
	uint64_t pos[TEST_N];
	int idx[TEST_N];

	test_log_make(&l);
	test_layout(pos, idx);
	cr_expect_eq(test_walk(&w, &l, pos, idx, TEST_N, TEST_N, l.head_hash), 0, "%s", w.detail);
	cr_expect_eq(w.checked, TEST_N);
	/* An empty log with no head is intact too. */
	sl_audit_walk_init(&w);
	cr_expect_eq(sl_audit_walk_end(&w, -ENOENT, 0, NULL), 0);
	test_log_free(&l);
}

Test(audit_walk, an_edited_record_is_named_by_its_successor)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;
	Sluice__AuditRecord *a;
	char *orig;
	uint64_t pos[TEST_N];
	int idx[TEST_N];

	test_log_make(&l);
	test_layout(pos, idx);
	/* Record 5's reason rewritten, everything else left as it was. */
	a = sluice__audit_record__unpack(NULL, l.len[4], l.packed[4]);
	cr_assert(a);
	free(l.packed[4]);
	orig = a->reason;
	a->reason = (char *)"nothing to see";
	test_pack(&l, 4, a);
	a->reason = orig;
	sluice__audit_record__free_unpacked(a, NULL);
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, 6);
	cr_expect_str_eq(w.problem, "changed");
	cr_expect_str_eq(w.detail,
			 "record 6: its predecessor was changed (prev_hash does not match record 5)");
	cr_expect_eq(w.checked, 5);
	test_log_free(&l);
}

Test(audit_walk, a_deleted_record_is_missing)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;
	uint64_t pos[TEST_N];
	int idx[TEST_N];

	test_log_make(&l);
	test_layout(pos, idx);
	/* Position 7 gone: 6 is followed by 8. */
	memmove(pos + 6, pos + 7, (TEST_N - 7) * sizeof(*pos));
	memmove(idx + 6, idx + 7, (TEST_N - 7) * sizeof(*idx));
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N - 1, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, 7);
	cr_expect_str_eq(w.problem, "missing");
	cr_expect_str_eq(w.detail, "record 7 missing (deleted)");
	/* Three in a row. */
	test_layout(pos, idx);
	memmove(pos + 2, pos + 5, (TEST_N - 5) * sizeof(*pos));
	memmove(idx + 2, idx + 5, (TEST_N - 5) * sizeof(*idx));
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N - 3, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, 3);
	cr_expect_str_eq(w.detail, "records 3 to 5 missing (deleted)");
	/* Record 1 itself. */
	cr_assert_eq(test_walk(&w, &l, pos + 1, idx + 1, 2, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, 1);
	test_log_free(&l);
}

Test(audit_walk, swapped_records_are_reordered)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;
	uint64_t pos[TEST_N];
	int idx[TEST_N];

	test_log_make(&l);
	test_layout(pos, idx);
	idx[3] = 4; /* position 4 holds record 5, position 5 record 4 */
	idx[4] = 3;
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, 4);
	cr_expect_str_eq(w.problem, "reordered");
	cr_expect(strstr(w.detail, "record 4: out of place"), "%s", w.detail);
	cr_expect(strstr(w.detail, "numbered 5"), "%s", w.detail);
	/* A record repeated in the place of the next one. */
	test_layout(pos, idx);
	idx[8] = 7;
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, 9);
	cr_expect_str_eq(w.problem, "reordered");
	test_log_free(&l);
}

Test(audit_walk, the_tail_and_the_head)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;
	uint8_t other[32] = { 1 };
	uint64_t pos[TEST_N];
	int idx[TEST_N];

	test_log_make(&l);
	test_layout(pos, idx);
	/* The last two records cut: the head still names record 12. */
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N - 2, TEST_N, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, TEST_N - 1);
	cr_expect_str_eq(w.problem, "cut");
	cr_expect_str_eq(w.detail, "records 11 to 12 missing: the log was cut (its signed head "
				   "names record 12)");
	/* The last record edited: nothing follows it but the head. */
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N, TEST_N, other), 1);
	cr_expect_eq(w.bad_seq, TEST_N);
	cr_expect_str_eq(w.problem, "changed");
	/* Records beyond the head: appended without the key that signs heads. */
	cr_assert_eq(test_walk(&w, &l, pos, idx, TEST_N, TEST_N - 1, l.head_hash), 1);
	cr_expect_eq(w.bad_seq, TEST_N);
	cr_expect_str_eq(w.problem, "head");
	/* A missing or forged head. */
	sl_audit_walk_init(&w);
	cr_assert_eq(sl_audit_walk_record(&w, 1, l.packed[0], l.len[0]), 0);
	cr_expect_eq(sl_audit_walk_end(&w, -ENOENT, 0, NULL), 1);
	cr_expect_str_eq(w.problem, "head");
	sl_audit_walk_init(&w);
	cr_assert_eq(sl_audit_walk_record(&w, 1, l.packed[0], l.len[0]), 0);
	cr_expect_eq(sl_audit_walk_end(&w, -EBADMSG, 0, NULL), 1);
	cr_expect(strstr(w.detail, "forged"), "%s", w.detail);
	test_log_free(&l);
}

Test(audit_walk, garbage_a_foreign_first_record_and_a_reanchored_log)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	uint8_t junk[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, prev[32] = { 9 };

	test_log_make(&l);
	sl_audit_walk_init(&w);
	cr_assert_eq(sl_audit_walk_record(&w, 1, l.packed[0], l.len[0]), 0);
	cr_expect_eq(sl_audit_walk_record(&w, 2, junk, sizeof(junk)), 1);
	cr_expect_str_eq(w.problem, "unreadable");
	cr_expect_eq(w.bad_seq, 2);
	/* Record 1 that links to something: not the start of a log. */
	a.seq = 1;
	a.prev_hash = (ProtobufCBinaryData){ 32, prev };
	test_pack(&l, TEST_N, &a);
	sl_audit_walk_init(&w);
	cr_expect_eq(sl_audit_walk_record(&w, 1, l.packed[TEST_N], l.len[TEST_N]), 1);
	cr_expect_str_eq(w.detail, "record 1: changed (its prev_hash does not begin a log)");
	/* A log sluice-meta anchored again at start: reported at that record. */
	free(l.packed[TEST_N]);
	sl_audit_hash(l.packed[0], l.len[0], prev);
	a.seq = 2;
	a.event = (char *)"audit.head";
	a.reason = (char *)"the signed chain head is missing; chain anchored again at record 1";
	test_pack(&l, TEST_N, &a);
	sl_audit_walk_init(&w);
	cr_assert_eq(sl_audit_walk_record(&w, 1, l.packed[0], l.len[0]), 0);
	cr_expect_eq(sl_audit_walk_record(&w, 2, l.packed[TEST_N], l.len[TEST_N]), 1);
	cr_expect_str_eq(w.problem, "head");
	cr_expect(strstr(w.detail, "head is missing"), "%s", w.detail);
	test_log_free(&l);
}

Test(audit_walk, a_walk_resumes_after_a_record)
{
	struct test_log l = { 0 };
	struct sl_audit_walk w;

	test_log_make(&l);
	sl_audit_walk_init(&w);
	cr_assert_eq(sl_audit_walk_resume(&w, 6, l.packed[5], l.len[5]), 0);
	for (int i = 6; i < TEST_N; i++)
		cr_assert_eq(sl_audit_walk_record(&w, (uint64_t)i + 1, l.packed[i], l.len[i]), 0,
			     "%s", w.detail);
	cr_expect_eq(sl_audit_walk_end(&w, 0, TEST_N, l.head_hash), 0, "%s", w.detail);
	sl_audit_walk_init(&w);
	cr_expect_eq(sl_audit_walk_resume(&w, 6, NULL, 0), 1);
	cr_expect_eq(w.bad_seq, 6);
	cr_expect_str_eq(w.problem, "missing");
	test_log_free(&l);
}

/* ---- the handlers, on a real catalog ----------------------------------------- */

static struct {
	char dir[256];
	struct sl_meta m;
	Sluice__Principal admin;
	char *roles[1];
	struct sl_caller caller;
} test_fx;

static int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void test_open(void)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t secret[SL_KEY_LEN] = { 7 };

	snprintf(test_fx.dir, sizeof(test_fx.dir), "%s/sluice-unit-audit-verify-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_fx.dir));
	pthread_mutex_init(&test_fx.m.audit_lock, NULL);
	pthread_cond_init(&test_fx.m.audit_cond, NULL);
	pthread_mutex_init(&test_fx.m.authlog.lock, NULL);
	cr_assert_eq(sl_keyring_init(&test_fx.m.keys, secret, 1), 0);
	cr_assert_eq(sl_catalog_open(test_fx.dir, &test_fx.m.cat), 0);
	cr_assert_eq(sl_audit_open(&test_fx.m), 0);
	sluice__principal__init(&test_fx.admin);
	test_fx.roles[0] = (char *)"admin";
	test_fx.admin.id = 42;
	test_fx.admin.tenant_id = 100;
	test_fx.admin.roles = test_fx.roles;
	test_fx.admin.n_roles = 1;
	test_fx.caller.p = &test_fx.admin;
}

static void test_close(void)
{
	sl_audit_close(&test_fx.m);
	sl_catalog_close(test_fx.m.cat);
	nftw(test_fx.dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(audit_handlers, .init = test_open, .fini = test_close, .timeout = 120);

/* n records in tenant 100's log through the group commit, alternately allow and deny. */
static void test_commit(int n)
{
	for (int i = 0; i < n; i++) {
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;

		a.event = (char *)"read.grant";
		a.decision = (char *)(i % 2 ? "deny" : "allow");
		a.tenant_id = 100;
		a.principal_id = 42;
		cr_assert_eq(sl_audit_commit(&test_fx.m, &a, NULL), 0);
	}
}

static Sluice__AuditVerifyResp *test_verify(uint64_t after)
{
	Sluice__AuditVerifyReq req = SLUICE__AUDIT_VERIFY_REQ__INIT;
	Sluice__AuditVerifyResp *resp;
	struct sl_reply r = { 0 };

	req.after_seq = after;
	cr_assert_eq(sl_h_audit_verify(&test_fx.m, &test_fx.caller, &req, &r), 0, "%s", r.msg);
	resp = sluice__audit_verify_resp__unpack(NULL, r.body_len, r.body);
	cr_assert(resp);
	free(r.body);
	return resp;
}

/* Replaces tenant 100's record seq with rec's packing. */
static void test_overwrite(uint64_t seq, const Sluice__AuditRecord *rec)
{
	struct sl_batch *b = sl_batch_new();
	size_t len = sluice__audit_record__get_packed_size(rec);
	uint8_t *buf = malloc(len + 1);
	struct sl_key k;

	cr_assert(b && buf);
	sluice__audit_record__pack(rec, buf);
	sl_audit_record_key(&k, 100, seq);
	sl_batch_put(b, test_fx.m.cat, SL_CF_AUDIT, k.b, k.len, buf, len);
	cr_assert_eq(sl_catalog_commit(test_fx.m.cat, b), 0);
	sl_batch_free(b);
	free(buf);
}

/* Rewrites record seq (read as rec) with another reason. */
static void test_edit(uint64_t seq, Sluice__AuditRecord *rec)
{
	char *orig = rec->reason;

	rec->reason = (char *)"edited";
	test_overwrite(seq, rec);
	rec->reason = orig;
}

static Sluice__AuditRecord *test_read(uint64_t seq)
{
	Sluice__AuditRecord *rec = NULL;
	struct sl_key k;

	sl_audit_record_key(&k, 100, seq);
	cr_assert_eq(sl_catalog_get(test_fx.m.cat, SL_CF_AUDIT, k.b, k.len,
				    &sluice__audit_record__descriptor, (ProtobufCMessage **)&rec),
		     0);
	return rec;
}

Test(audit_handlers, verify_walks_resumes_and_names_an_edit)
{
	Sluice__AuditVerifyResp *v;
	Sluice__AuditRecord *rec;

	test_commit(30);
	v = test_verify(0);
	cr_expect(v->done && v->intact, "%s", v->detail);
	cr_expect_eq(v->checked, 30);
	cr_expect_eq(v->last_seq, 30);
	cr_expect_eq(v->head_seq, 30);
	sluice__audit_verify_resp__free_unpacked(v, NULL);
	/* A later step, as a client continuing after record 20, checks the rest. */
	v = test_verify(20);
	cr_expect(v->done && v->intact, "%s", v->detail);
	cr_expect_eq(v->checked, 10);
	sluice__audit_verify_resp__free_unpacked(v, NULL);

	rec = test_read(10);
	test_edit(10, rec);
	sluice__audit_record__free_unpacked(rec, NULL);
	v = test_verify(0);
	cr_expect(v->done && !v->intact);
	cr_expect_eq(v->bad_seq, 11);
	cr_expect_str_eq(v->problem, "changed");
	cr_expect_str_eq(v->detail,
			 "record 11: its predecessor was changed (prev_hash does not match record 10)");
	cr_expect_eq(v->last_seq, 10);
	sluice__audit_verify_resp__free_unpacked(v, NULL);
}

Test(audit_handlers, verify_needs_the_admin_role)
{
	Sluice__AuditVerifyReq req = SLUICE__AUDIT_VERIFY_REQ__INIT;
	struct sl_reply r = { 0 };

	test_fx.admin.n_roles = 0;
	cr_expect_eq(sl_h_audit_verify(&test_fx.m, &test_fx.caller, &req, &r), -EPERM);
	test_fx.admin.n_roles = 1;
	free(r.body);
}

static Sluice__AuditListResp *test_list(uint64_t after, uint32_t limit, const char *decision,
					uint64_t since, uint64_t until)
{
	Sluice__AuditListReq req = SLUICE__AUDIT_LIST_REQ__INIT;
	Sluice__AuditListResp *resp;
	struct sl_reply r = { 0 };

	req.after_seq = after;
	req.limit = limit;
	req.decision = (char *)decision;
	req.since_ms = since;
	req.until_ms = until;
	cr_assert_eq(sl_h_audit_list(&test_fx.m, &test_fx.caller, &req, &r), 0, "%s", r.msg);
	resp = sluice__audit_list_resp__unpack(NULL, r.body_len, r.body);
	cr_assert(resp);
	free(r.body);
	return resp;
}

Test(audit_handlers, a_filtered_list_still_checks_every_record_walked)
{
	Sluice__AuditListResp *l;
	Sluice__AuditRecord *rec;

	test_commit(20);
	l = test_list(0, 100, "deny", 0, 0);
	cr_expect_eq(l->n_records, 10);
	for (size_t i = 0; i < l->n_records; i++)
		cr_expect_str_eq(l->records[i]->decision, "deny");
	cr_expect(l->chain_ok && l->head_ok);
	cr_expect_eq(l->last_seq, 20);
	cr_expect(!l->truncated);
	sluice__audit_list_resp__free_unpacked(l, NULL);
	/* A time window after every record matches nothing. */
	l = test_list(0, 100, "", 4102444800000ull, 0);
	cr_expect_eq(l->n_records, 0);
	sluice__audit_list_resp__free_unpacked(l, NULL);

	/* An allowed record edited: a deny-only listing, which shows none of
	 * the allowed ones, still sees the chain broken. */
	rec = test_read(5);
	test_edit(5, rec);
	sluice__audit_record__free_unpacked(rec, NULL);
	l = test_list(0, 100, "deny", 0, 0);
	cr_expect_eq(l->n_records, 10);
	cr_expect(!l->chain_ok, "an edit hidden by the filter went unnoticed");
	sluice__audit_list_resp__free_unpacked(l, NULL);
}

Test(audit_handlers, bad_filters_are_refused)
{
	Sluice__AuditListReq req = SLUICE__AUDIT_LIST_REQ__INIT;
	struct sl_reply r = { 0 };

	req.decision = (char *)"maybe";
	cr_expect_eq(sl_h_audit_list(&test_fx.m, &test_fx.caller, &req, &r), -EINVAL);
	req.decision = (char *)"";
	req.since_ms = 2000;
	req.until_ms = 1000;
	cr_expect_eq(sl_h_audit_list(&test_fx.m, &test_fx.caller, &req, &r), -EINVAL);
	req.since_ms = req.until_ms = 0;
	req.principal = (char *)"nobody";
	cr_expect_eq(sl_h_audit_list(&test_fx.m, &test_fx.caller, &req, &r), -ENOENT);
	req.principal = (char *)"../x";
	cr_expect_eq(sl_h_audit_list(&test_fx.m, &test_fx.caller, &req, &r), -EINVAL);
	free(r.body);
}

/* Writes n linked records of tenant 100 straight into the catalog, one batch. */
static void test_bulk(uint64_t n)
{
	struct sl_batch *b = sl_batch_new();
	uint8_t prev[32] = { 0 }, buf[256];

	cr_assert(b);
	for (uint64_t seq = 1; seq <= n; seq++) {
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
		struct sl_key k;
		size_t len;

		a.seq = seq;
		a.tenant_id = 100;
		a.event = (char *)"read.grant";
		a.decision = (char *)"allow";
		a.prev_hash = (ProtobufCBinaryData){ 32, prev };
		len = sluice__audit_record__pack(&a, buf);
		sl_audit_record_key(&k, 100, seq);
		sl_batch_put(b, test_fx.m.cat, SL_CF_AUDIT, k.b, k.len, buf, len);
		sl_audit_hash(buf, len, prev);
	}
	cr_assert_eq(sl_catalog_commit(test_fx.m.cat, b), 0);
	sl_batch_free(b);
}

Test(audit_handlers, a_filter_that_matches_nothing_walks_a_bounded_step)
{
	Sluice__AuditListResp *l;
	Sluice__AuditVerifyResp *v;
	uint64_t after = 0, steps = 0, total = 45000;

	test_bulk(total);
	/* No record is a deny: each request walks a bounded step and says where to go on. */
	do {
		l = test_list(after, 100, "deny", 0, 0);
		cr_expect_eq(l->n_records, 0);
		cr_expect(l->chain_ok);
		cr_assert_gt(l->last_seq, after);
		cr_expect_leq(l->last_seq - after, 10000, "one request walked %llu records",
			      (unsigned long long)(l->last_seq - after));
		after = l->last_seq;
		steps++;
		if (!l->truncated) {
			sluice__audit_list_resp__free_unpacked(l, NULL);
			break;
		}
		sluice__audit_list_resp__free_unpacked(l, NULL);
	} while (steps < 100);
	cr_expect_eq(after, total);
	cr_expect_geq(steps, 5);
	/* The walk of verify goes in steps too; the log has no signed head. */
	after = 0;
	steps = 0;
	do {
		v = test_verify(after);
		after = v->last_seq;
		steps++;
		if (v->done)
			break;
		sluice__audit_verify_resp__free_unpacked(v, NULL);
	} while (steps < 100);
	cr_expect_geq(steps, 3);
	cr_expect_eq(v->last_seq, total);
	cr_expect(!v->intact);
	cr_expect_str_eq(v->problem, "head");
	sluice__audit_verify_resp__free_unpacked(v, NULL);
}
