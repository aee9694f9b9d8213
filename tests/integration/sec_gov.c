/*
 * Regression tests for the governance findings of the security review:
 * STAT and LIST reveal nothing a read would be refused (1), every string
 * that reaches the catalog is validated (5), tag sets are bounded and
 * checked in linear time (8), cluster administration gives no data access
 * and no admin hands out more than it holds (9), the catalog holds a
 * SHA-256 root per shard that no commit can leave out (7, sluice-meta's
 * side), read-side refusals and cross-tenant name
 * guesses are audited in the caller's tenant (11). Requests are sent both through
 * libsluice and raw (signed by the test with a principal's key), because an
 * attacker does not use our client.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "rpc.h"
#include "rpc_client.h"
#include "sl_time.h"

/* SL_TAGS_MAX of server/meta/validate.h: tags on one object, its namespace's included. */
#define TAGS_MAX 64

static struct tcluster cl;
static sluice_session *alice, *bob;
static char alice_cred[400], bob_cred[400];

static void setup(void)
{
	tc_start(&cl, 1);
	alice = tc_principal(&cl, "acme", "alice", "internal", alice_cred, sizeof(alice_cred));
	tc_ns(alice, "data", 65536);
}

/* alice's acme and bob's globex, each with a namespace "data". */
static void setup_two(void)
{
	setup();
	bob = tc_principal(&cl, "globex", "bob", "restricted", bob_cred, sizeof(bob_cred));
	tc_ns(bob, "data", 65536);
}

static void teardown(void)
{
	sluice_close(alice);
	sluice_close(bob);
	bob = NULL;
	tc_stop(&cl);
}

TestSuite(finding_01, .init = setup, .fini = teardown, .timeout = 180);
TestSuite(finding_05, .init = setup, .fini = teardown, .timeout = 180);
TestSuite(finding_07, .init = setup, .fini = teardown, .timeout = 180);
TestSuite(finding_08, .init = setup, .fini = teardown, .timeout = 180);
TestSuite(finding_09, .init = setup, .fini = teardown, .timeout = 180);
TestSuite(finding_11, .init = setup_two, .fini = teardown, .timeout = 180);

/* Sends one signed request as the principal of cred; returns the server's answer. */
static int raw_call(const char *cred, uint16_t type, const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
		    char *err, size_t err_len)
{
	struct sl_rpc_client rpc;
	char key_id[64];
	uint8_t secret[32];
	int rc;

	tc_cred_key(cred, key_id, secret);
	sl_rpc_client_init(&rpc, cl.meta_addr, key_id, secret, 20000);
	tc_rpc_ca(&cl, &rpc);
	rc = sl_rpc_call(&rpc, type, req, resp_desc, resp);
	if (err)
		snprintf(err, err_len, "%s", rpc.error);
	sl_rpc_client_close(&rpc);
	return rc;
}

static int raw_grant(const char *cred, const char *ns, const char *name, const char *purpose,
		     char *err, size_t err_len)
{
	Sluice__GrantReq req = SLUICE__GRANT_REQ__INIT;
	Sluice__ObjectPlan *plan = NULL;
	int rc;

	req.ns = (char *)ns;
	req.name = (char *)name;
	req.purpose = (char *)purpose;
	/* A grant is bound to an endpoint; this one is never used. */
	req.fabric_addr = (ProtobufCBinaryData){ 16, (uint8_t *)"unused-endpoint" };
	rc = raw_call(cred, SL_RPC_GRANT, &req.base, &sluice__object_plan__descriptor,
		      (ProtobufCMessage **)&plan, err, err_len);
	if (plan)
		sluice__object_plan__free_unpacked(plan, NULL);
	return rc;
}

/* 1 when s holds a control character (C0, DEL or a C1 in UTF-8). */
static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			return 1;
	return 0;
}

/* Fails when any audit record alice's tenant holds carries raw or oversized text. */
static void audit_is_clean(void)
{
	struct sluice_audit_record *list;
	size_t n;
	int chain_ok = 0;

	cr_assert_eq(sluice_audit_list(alice, 0, 1000, &list, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(alice));
	cr_expect(chain_ok);
	for (size_t i = 0; i < n; i++) {
		const char *fields[] = { list[i].event, list[i].purpose, list[i].object,
					 list[i].decision, list[i].reason };

		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			cr_expect_not(has_control(fields[f]), "record %llu holds a control character",
				      (unsigned long long)list[i].seq);
			cr_expect_leq(strlen(fields[f]), 1100, "record %llu holds %zu bytes",
				      (unsigned long long)list[i].seq, strlen(fields[f]));
		}
		cr_expect_null(strstr(list[i].purpose, "forged"), "record %llu: purpose %s",
			       (unsigned long long)list[i].seq, list[i].purpose);
	}
	sluice_audit_free(list, n);
}

/* ---- finding 1: STAT and LIST are governed like reads ------------------ */

static int raw_stat(const char *cred, const char *ns, const char *name, const char *purpose,
		    Sluice__ObjectPlan **plan)
{
	Sluice__ObjectRef req = SLUICE__OBJECT_REF__INIT;

	*plan = NULL;
	req.ns = (char *)ns;
	req.name = (char *)name;
	req.purpose = (char *)purpose;
	return raw_call(cred, SL_RPC_STAT, &req.base, &sluice__object_plan__descriptor,
			(ProtobufCMessage **)plan, NULL, 0);
}

static Sluice__ListResp *raw_list(const char *cred, const char *ns, const char *purpose)
{
	Sluice__ListReq req = SLUICE__LIST_REQ__INIT;
	Sluice__ListResp *resp = NULL;

	req.ns = (char *)ns;
	req.prefix = (char *)"";
	req.start_after = (char *)"";
	req.purpose = (char *)purpose;
	cr_assert_eq(raw_call(cred, SL_RPC_LIST, &req.base, &sluice__list_resp__descriptor,
			      (ProtobufCMessage **)&resp, NULL, 0), 0);
	return resp;
}

/* The raw entry for name in a listing, or NULL. */
static const Sluice__Object *listed(const Sluice__ListResp *l, const char *name)
{
	for (size_t i = 0; i < l->n_objects; i++)
		if (strcmp(l->objects[i]->name, name) == 0)
			return l->objects[i];
	return NULL;
}

static void expect_nothing_revealed(const Sluice__Object *o, const char *what)
{
	cr_assert_not_null(o, "%s: the name should still be listed", what);
	cr_expect(o->withheld, "%s: not marked withheld", what);
	cr_expect_eq(o->size, 0, "%s: size revealed", what);
	cr_expect_eq(o->sha256.len, 0, "%s: SHA-256 revealed", what);
	cr_expect_eq(o->n_tags, 0, "%s: tags revealed", what);
	cr_expect_eq(o->id, 0, "%s: id revealed", what);
	cr_expect_eq(o->shard_count, 0, "%s: shard count revealed", what);
}

Test(finding_01, stat_and_list_reveal_nothing_a_read_would_refuse)
{
	const struct sluice_tag restricted[] = { { "classification", "restricted" } };
	struct sluice_object *o = NULL, **list;
	Sluice__ObjectPlan *plan;
	Sluice__ListResp *l;
	sluice_session *marketing = NULL;
	size_t n;

	/* alice (cleared to internal) writes a 4-byte restricted object she may not read. */
	cr_assert_eq(sluice_put(alice, "data", "pin", "4711", 4, restricted, 1), 0);
	cr_assert_eq(sluice_put(alice, "data", "open", "open", 4, NULL, 0), 0);

	/* STAT, through the SDK and raw: refused like the read, no body at all. */
	cr_expect_eq(sluice_stat(alice, "data", "pin", &o), -EACCES);
	cr_expect_null(o);
	cr_expect(strstr(sluice_last_error(alice), "access denied"), "%s",
		  sluice_last_error(alice));
	cr_expect_eq(raw_stat(alice_cred, "data", "pin", "inference", &plan), -EACCES);
	cr_expect_null(plan);
	/* No purpose declared (an old client): refused too. */
	cr_expect_eq(raw_stat(alice_cred, "data", "open", "", &plan), -EACCES);
	cr_expect_null(plan);
	/* A purpose alice does not hold: the readable object is refused as well. */
	cr_assert_eq(sluice_open_file(alice_cred, NULL, "marketing", &marketing), 0);
	cr_expect_eq(sluice_stat(marketing, "data", "open", &o), -EACCES);

	/* What she may read still stats in full: CRCs and all. */
	cr_assert_eq(raw_stat(alice_cred, "data", "open", "inference", &plan), 0);
	cr_expect_eq(plan->object->size, 4);
	cr_expect_eq(plan->object->sha256.len, 32);
	cr_expect_eq(plan->n_shards, 1);
	sluice__object_plan__free_unpacked(plan, NULL);

	/* LIST: the restricted entry comes back by name only. */
	l = raw_list(alice_cred, "data", "inference");
	expect_nothing_revealed(listed(l, "pin"), "pin for inference");
	cr_expect_not(listed(l, "open")->withheld);
	cr_expect_eq(listed(l, "open")->size, 4);
	cr_expect_eq(listed(l, "open")->sha256.len, 32);
	sluice__list_resp__free_unpacked(l, NULL);
	l = raw_list(alice_cred, "data", "marketing");
	expect_nothing_revealed(listed(l, "open"), "open for marketing");
	expect_nothing_revealed(listed(l, "pin"), "pin for marketing");
	sluice__list_resp__free_unpacked(l, NULL);

	/* And through the SDK, with the session's purpose. */
	cr_assert_eq(sluice_list(marketing, "data", "", NULL, 0, &list, &n, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(list[i]->size, 0);
		cr_expect_str_eq(list[i]->sha256, "");
		cr_expect_eq(list[i]->n_tags, 0);
	}
	sluice_list_free(list, n);
	sluice_close(marketing);
}

Test(finding_01, stat_and_list_decisions_are_audited)
{
	const struct sluice_tag restricted[] = { { "classification", "restricted" } };
	struct sluice_audit_record *rec;
	struct sluice_object *o = NULL, **list;
	size_t n, n_rec;
	int chain_ok, stat_denied = 0, lists = 0;

	cr_assert_eq(sluice_put(alice, "data", "a", "a", 1, restricted, 1), 0);
	cr_assert_eq(sluice_put(alice, "data", "b", "b", 1, restricted, 1), 0);
	cr_assert_eq(sluice_put(alice, "data", "c", "c", 1, NULL, 0), 0);
	cr_expect_eq(sluice_stat(alice, "data", "a", &o), -EACCES);
	cr_assert_eq(sluice_list(alice, "data", "", NULL, 0, &list, &n, NULL), 0);
	cr_expect_eq(n, 3);
	sluice_list_free(list, n);

	cr_assert_eq(sluice_audit_list(alice, 0, 1000, &rec, &n_rec, &chain_ok, NULL), 0);
	for (size_t i = 0; i < n_rec; i++) {
		if (strcmp(rec[i].event, "object.stat") == 0) {
			stat_denied++;
			cr_expect_str_eq(rec[i].object, "data/a");
			cr_expect_str_eq(rec[i].decision, "deny");
			/* The default policy allows stat only up to alice's clearance. */
			cr_expect_str_eq(rec[i].reason, "no policy allows (epoch 0)");
			cr_expect_str_eq(rec[i].purpose, "inference");
		}
		if (strcmp(rec[i].event, "object.list") == 0) {
			lists++;
			cr_expect_str_eq(rec[i].reason, "2 of 3 entries withheld");
		}
	}
	sluice_audit_free(rec, n_rec);
	cr_expect_eq(stat_denied, 1);
	cr_expect_eq(lists, 1, "one record per listing, not one per object");
}

Test(finding_05, forged_and_huge_purposes_are_refused_and_never_audited)
{
	static const char *const forged[] = {
		"inference\n[seq 99] read.grant allow forged",
		"\x1b[2K\rforged: hash chain: intact",
		"inference\rforged",
		"forged\xc2\x9b" "31m",
		"Inference-forged",
		"forged purpose with spaces",
	};
	char err[256], *huge;
	size_t got;
	char buf[8];

	cr_assert_eq(sluice_put(alice, "data", "doc.txt", "text", 4, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		cr_expect_eq(raw_grant(alice_cred, "data", "doc.txt", forged[i], err, sizeof(err)),
			     -EINVAL, "purpose %zu was not refused", i);
		cr_expect(strstr(err, "bad purpose"), "unclear refusal: %s", err);
	}
	huge = malloc(1 << 20);
	cr_assert(huge);
	memset(huge, 'a', (1 << 20) - 1);
	huge[(1 << 20) - 1] = '\0';
	cr_expect_eq(raw_grant(alice_cred, "data", "doc.txt", huge, err, sizeof(err)), -EINVAL);
	free(huge);
	/* A good purpose still reads. */
	cr_assert_eq(sluice_read(alice, "data", "doc.txt", 0, buf, sizeof(buf), &got), 0);
	audit_is_clean();
}

Test(finding_05, every_catalog_string_is_validated)
{
	static const char *const roles[] = { "reader" };
	static const char *const bad_purposes[] = { "inference", "x\ny" };
	static const char *const dup_purposes[] = { "inference", "inference" };
	const struct sluice_tag esc[] = { { "team", "a\x1b[31mb" } };
	const struct sluice_tag c1[] = { { "team", "a\xc2\x85" "b" } };
	const struct sluice_tag bad_utf8[] = { { "team", "a\xc3" } };
	const struct sluice_tag upper[] = { { "Team", "x" } };
	char key[80];
	struct sluice_tag long_key[] = { { key, "x" } };
	struct sluice_principal_spec spec = { NULL, "bob", roles, 1, bad_purposes, 2, "internal", NULL, 0 };
	char key_id[24], secret[65];

	/* Principals: purposes, names. */
	cr_expect_eq(sluice_principal_create(alice, &spec, key_id, secret), -EINVAL);
	spec.purposes = dup_purposes;
	cr_expect_eq(sluice_principal_create(alice, &spec, key_id, secret), -EINVAL);
	spec.purposes = dup_purposes;
	spec.n_purposes = 1;
	spec.name = "bob\n";
	cr_expect_eq(sluice_principal_create(alice, &spec, key_id, secret), -EINVAL);
	spec.name = "bob";
	spec.clearance = "secret";
	cr_expect_eq(sluice_principal_create(alice, &spec, key_id, secret), -EINVAL);

	/* Tags: control characters, invalid UTF-8, key form and length. */
	cr_expect_eq(sluice_put(alice, "data", "t1", "x", 1, esc, 1), -EINVAL);
	cr_expect_eq(sluice_put(alice, "data", "t2", "x", 1, c1, 1), -EINVAL);
	cr_expect_eq(sluice_put(alice, "data", "t3", "x", 1, bad_utf8, 1), -EINVAL);
	cr_expect_eq(sluice_put(alice, "data", "t4", "x", 1, upper, 1), -EINVAL);
	memset(key, 'k', 65);
	key[65] = '\0';
	cr_expect_eq(sluice_put(alice, "data", "t5", "x", 1, long_key, 1), -EINVAL);
	key[64] = '\0';
	cr_expect_eq(sluice_put(alice, "data", "t5", "x", 1, long_key, 1), 0, "%s",
		     sluice_last_error(alice));

	/* Object names. */
	cr_expect_eq(sluice_put(alice, "data", "a//b", "x", 1, NULL, 0), -EINVAL);
	cr_expect_eq(sluice_put(alice, "data", "a/\x1b[2Kb", "x", 1, NULL, 0), -EINVAL);
	cr_expect_eq(sluice_put(alice, "data", "/abs", "x", 1, NULL, 0), -EINVAL);
	cr_expect_eq(sluice_put(alice, "data", "a/../b", "x", 1, NULL, 0), -EINVAL);

	/* Namespaces and tenants named in requests. */
	{
		struct sluice_ns_spec ns = { NULL, "bad\nns", 0, 0, NULL, 0 };
		struct sluice_ns_spec other = { "acme\x1b", "fine", 0, 0, NULL, 0 };

		cr_expect_eq(sluice_ns_create(alice, &ns), -EINVAL);
		cr_expect_eq(sluice_ns_create(alice, &other), -EINVAL);
	}
	audit_is_clean();
}

/* ---- finding 8: tag limits ------------------------------------------------ */

/* n tags k0, k1, ... (distinct) or n tags all keyed "same". */
static Sluice__Tag **make_tags(size_t n, int distinct, Sluice__Tag **store)
{
	Sluice__Tag **p = calloc(n + 1, sizeof(*p));
	char *keys = calloc(n + 1, 24);

	cr_assert(p && keys);
	*store = calloc(n + 1, sizeof(**store));
	cr_assert(*store);
	for (size_t i = 0; i < n; i++) {
		sluice__tag__init(&(*store)[i]);
		if (distinct)
			snprintf(keys + 24 * i, 24, "k%zu", i);
		else
			snprintf(keys + 24 * i, 24, "same");
		(*store)[i].key = keys + 24 * i;
		(*store)[i].value = (char *)"v";
		p[i] = &(*store)[i];
	}
	return p;
}

static void free_tags(Sluice__Tag **p, Sluice__Tag *store)
{
	free(store[0].key);
	free(store);
	free(p);
}

Test(finding_08, forty_thousand_tags_are_refused_quickly)
{
	Sluice__PutBeginReq req = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__ObjectPlan *plan = NULL;
	Sluice__Tag *store;
	char err[256];
	uint64_t t0;
	int rc;

	req.ns = (char *)"data";
	req.name = (char *)"many-tags";
	req.size = 0;
	req.fabric_addr = (ProtobufCBinaryData){ 16, (uint8_t *)"unused-endpoint" };
	req.tags = make_tags(40000, 1, &store);
	req.n_tags = 40000;
	t0 = sl_mono_ms();
	rc = raw_call(alice_cred, SL_RPC_PUT_BEGIN, &req.base, &sluice__object_plan__descriptor,
		      (ProtobufCMessage **)&plan, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(err, "too many tags"), "unclear refusal: %s", err);
	cr_expect_lt(sl_mono_ms() - t0, 1000, "40k tags took %llu ms",
		     (unsigned long long)(sl_mono_ms() - t0));
	if (plan)
		sluice__object_plan__free_unpacked(plan, NULL);
	free_tags(req.tags, store);

	/* 40k tags that are all the same key: refused as fast. */
	req.tags = make_tags(40000, 0, &store);
	t0 = sl_mono_ms();
	rc = raw_call(alice_cred, SL_RPC_PUT_BEGIN, &req.base, &sluice__object_plan__descriptor,
		      (ProtobufCMessage **)&plan, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL);
	cr_expect_lt(sl_mono_ms() - t0, 1000);
	free_tags(req.tags, store);

	/* Exactly the limit is fine. */
	req.tags = make_tags(TAGS_MAX, 1, &store);
	req.n_tags = TAGS_MAX;
	plan = NULL;
	rc = raw_call(alice_cred, SL_RPC_PUT_BEGIN, &req.base, &sluice__object_plan__descriptor,
		      (ProtobufCMessage **)&plan, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL, "64 own tags plus the namespace's classification is 65");
	req.n_tags = TAGS_MAX - 1;
	rc = raw_call(alice_cred, SL_RPC_PUT_BEGIN, &req.base, &sluice__object_plan__descriptor,
		      (ProtobufCMessage **)&plan, err, sizeof(err));
	cr_expect_eq(rc, 0, "%s", err);
	if (plan)
		sluice__object_plan__free_unpacked(plan, NULL);
	free_tags(req.tags, store);
}

Test(finding_08, set_tags_cannot_grow_an_object_past_the_limit)
{
	struct sluice_object *o = NULL;
	char key[24];
	int rc = 0, i;

	cr_assert_eq(sluice_put(alice, "data", "growing", "x", 1, NULL, 0), 0);
	for (i = 0; i < 200 && rc == 0; i++) {
		const struct sluice_tag t[] = { { key, "v" } };

		snprintf(key, sizeof(key), "extra%d", i);
		rc = sluice_set_tags(alice, "data", "growing", t, 1, NULL, 0);
	}
	cr_expect_eq(rc, -EINVAL, "SET_TAGS never refused");
	cr_expect(strstr(sluice_last_error(alice), "at most 64 tags"), "%s",
		  sluice_last_error(alice));
	cr_assert_eq(sluice_stat(alice, "data", "growing", &o), 0, "%s", sluice_last_error(alice));
	cr_expect_eq(o->n_tags, TAGS_MAX);
	sluice_object_free(o);
}

Test(finding_08, duplicate_tag_keys_are_refused)
{
	const struct sluice_tag dup[] = { { "team", "a" }, { "region", "eu" }, { "team", "b" } };
	const struct sluice_tag dup_cls[] = { { "classification", "public" },
					      { "classification", "restricted" } };
	const char *const remove_twice[] = { "team", "team" };
	struct sluice_ns_spec ns = { NULL, "dupns", 0, 0, dup, 3 };

	cr_expect_eq(sluice_put(alice, "data", "d1", "x", 1, dup, 3), -EINVAL);
	cr_expect(strstr(sluice_last_error(alice), "given twice"), "%s", sluice_last_error(alice));
	cr_expect_eq(sluice_put(alice, "data", "d2", "x", 1, dup_cls, 2), -EINVAL);
	cr_expect_eq(sluice_ns_create(alice, &ns), -EINVAL);
	cr_assert_eq(sluice_put(alice, "data", "d3", "x", 1, NULL, 0), 0);
	cr_expect_eq(sluice_set_tags(alice, "data", "d3", dup, 3, NULL, 0), -EINVAL);
	cr_expect_eq(sluice_set_tags(alice, "data", "d3", NULL, 0, remove_twice, 2), -EINVAL);
}

/* ---- finding 11: read-side refusals leave a trace in the caller's tenant -- */

/* How many of the caller's audit records match event, object, decision and reason. */
static int audited(sluice_session *s, const char *event, const char *object,
		   const char *decision, const char *reason)
{
	struct sluice_audit_record *rec;
	size_t n;
	int chain_ok, found = 0;

	cr_assert_eq(sluice_audit_list(s, 0, 1000, &rec, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(s));
	for (size_t i = 0; i < n; i++)
		found += strcmp(rec[i].event, event) == 0 && strcmp(rec[i].object, object) == 0 &&
			 strcmp(rec[i].decision, decision) == 0 &&
			 strcmp(rec[i].reason, reason) == 0;
	sluice_audit_free(rec, n);
	return found;
}

Test(finding_11, cross_tenant_guesses_are_audited_where_they_come_from)
{
	char err_foreign[256], err_missing[256], buf[8];
	struct sluice_object *o = NULL;
	size_t got;

	cr_assert_eq(sluice_put(alice, "data", "acme-secret", "acme", 4, NULL, 0), 0);
	/* bob guesses acme's name: the same answer as a name nobody has. */
	cr_expect_eq(sluice_read(bob, "data", "acme-secret", 0, buf, sizeof(buf), &got), -ENOENT);
	snprintf(err_foreign, sizeof(err_foreign), "%s", sluice_last_error(bob));
	cr_expect_eq(sluice_read(bob, "data", "nobody", 0, buf, sizeof(buf), &got), -ENOENT);
	snprintf(err_missing, sizeof(err_missing), "%s", sluice_last_error(bob));
	cr_expect_str_eq(err_foreign, "no such object: data/acme-secret");
	cr_expect_str_eq(err_missing, "no such object: data/nobody");
	cr_expect_eq(sluice_stat(bob, "data", "acme-secret", &o), -ENOENT);

	/* Each guess is a "deny: not found" record in globex's own log. */
	cr_expect_eq(audited(bob, "read.grant", "data/acme-secret", "deny", "not found"), 1);
	cr_expect_eq(audited(bob, "read.grant", "data/nobody", "deny", "not found"), 1);
	cr_expect_eq(audited(bob, "object.stat", "data/acme-secret", "deny", "not found"), 1);
	/* acme's log says nothing about globex's guesses. */
	cr_expect_eq(audited(alice, "read.grant", "data/acme-secret", "deny", "not found"), 0);
}

Test(finding_11, missing_role_and_missing_object_refusals_are_audited)
{
	struct sluice_principal_spec spec = { NULL, "nobody", NULL, 0, NULL, 0, "internal", NULL, 0 };
	static const char *const purposes[] = { "inference" };
	char key_id[24], secret[65], path[400], buf[8];
	struct sluice_object *o = NULL, **list;
	sluice_session *norole = NULL;
	size_t got, n;
	FILE *f;

	/* A principal of acme with a purpose but no role. */
	spec.purposes = purposes;
	spec.n_purposes = 1;
	cr_assert_eq(sluice_principal_create(alice, &spec, key_id, secret), 0, "%s",
		     sluice_last_error(alice));
	snprintf(path, sizeof(path), "%s/acme-nobody.cred", cl.dir);
	f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = %s\nsecret = %s\n", cl.meta_addr, key_id, secret);
	cr_assert_eq(sluice_write_ca(alice, f), 0);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(sluice_open_file(path, NULL, "inference", &norole), 0);
	cr_assert_eq(sluice_put(alice, "data", "x", "x", 1, NULL, 0), 0);

	/* Replies unchanged: -EPERM for the role, -ENOENT for the name. */
	cr_expect_eq(sluice_read(norole, "data", "x", 0, buf, sizeof(buf), &got), -EPERM);
	cr_expect_eq(sluice_stat(norole, "data", "x", &o), -EPERM);
	cr_expect_eq(sluice_list(norole, "data", "", NULL, 0, &list, &n, NULL), -EPERM);
	cr_expect_eq(sluice_read(alice, "data", "gone", 0, buf, sizeof(buf), &got), -ENOENT);
	cr_expect_eq(sluice_stat(alice, "data", "gone", &o), -ENOENT);
	sluice_close(norole);

	cr_expect_eq(audited(alice, "read.grant", "data/x", "deny", "no role that may read"), 1);
	cr_expect_eq(audited(alice, "object.stat", "data/x", "deny", "no role that may read"), 1);
	cr_expect_eq(audited(alice, "object.list", "data/", "deny", "no role that may read"), 1);
	cr_expect_eq(audited(alice, "read.grant", "data/gone", "deny", "not found"), 1);
	cr_expect_eq(audited(alice, "object.stat", "data/gone", "deny", "not found"), 1);
}

/* ---- finding 9: admin rights are separated and capped -------------------- */

static const char *const all_roles[] = { "admin", "writer", "reader" };
static const char *const reader_role[] = { "reader" };
static const char *const admin_role[] = { "admin" };
static const char *const inference[] = { "inference" };

/* Creates a principal as s; returns the answer, and writes its credentials to path. */
static int create(sluice_session *s, const char *tenant, const char *name,
		  const char *const *roles, size_t n_roles, const char *const *purposes,
		  size_t n_purposes, const char *clearance, char *path, size_t path_len)
{
	struct sluice_principal_spec spec = { tenant,	  name,	     roles, n_roles, purposes,
					      n_purposes, clearance, NULL,  0 };
	char key_id[24], secret[65];
	int rc = sluice_principal_create(s, &spec, key_id, secret);
	FILE *f;

	if (rc || !path)
		return rc;
	snprintf(path, path_len, "%s/%s-%s.cred", cl.dir, tenant ? tenant : "own", name);
	f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = %s\nsecret = %s\n", cl.meta_addr, key_id, secret);
	cr_assert_eq(sluice_write_ca(s, f), 0);
	cr_assert_eq(fclose(f), 0);
	return 0;
}

Test(finding_09, cluster_admin_cannot_get_into_a_tenant_with_data)
{
	sluice_session *root = tc_admin(&cl), *mole = NULL;
	char path[400], buf[8];
	size_t got;

	cr_assert_eq(sluice_put(alice, "data", "payroll", "1234", 4, NULL, 0), 0);
	/* acme has principals: no reader, writer or even admin can be added by the cluster. */
	cr_expect_eq(create(root, "acme", "mole", all_roles, 3, inference, 1, "restricted", path,
			    sizeof(path)), -EPERM);
	cr_expect_eq(create(root, "acme", "mole", reader_role, 1, inference, 1, "public", path,
			    sizeof(path)), -EPERM);
	cr_expect_eq(create(root, "acme", "mole", admin_role, 1, NULL, 0, NULL, path, sizeof(path)),
		     -EPERM);
	cr_expect(strstr(sluice_last_error(root), "first principal"), "%s",
		  sluice_last_error(root));
	cr_expect_eq(sluice_open_file(path, NULL, "inference", &mole), -ENOENT,
		     "a credentials file was written");

	/* A new tenant: its first principal must be an admin, and only one is created so. */
	cr_assert_eq(sluice_tenant_create(root, "initech", NULL), 0);
	cr_expect_eq(create(root, "initech", "reader", reader_role, 1, inference, 1, "internal",
			    NULL, 0), -EPERM);
	cr_expect_eq(create(root, "initech", "carol", all_roles, 3, inference, 1, "confidential",
			    path, sizeof(path)), 0, "%s", sluice_last_error(root));
	cr_expect_eq(create(root, "initech", "dave", all_roles, 3, inference, 1, "confidential",
			    NULL, 0), -EPERM);

	/* The refusals are in acme's audit log, where acme's admins see them. */
	{
		struct sluice_audit_record *rec;
		size_t n;
		int chain_ok, refused = 0;

		cr_assert_eq(sluice_audit_list(alice, 0, 1000, &rec, &n, &chain_ok, NULL), 0);
		for (size_t i = 0; i < n; i++)
			refused += strcmp(rec[i].event, "principal.create") == 0 &&
				   strcmp(rec[i].decision, "deny") == 0 &&
				   strcmp(rec[i].object, "mole") == 0;
		sluice_audit_free(rec, n);
		cr_expect_eq(refused, 3);
	}
	cr_expect_eq(sluice_read(alice, "data", "payroll", 0, buf, sizeof(buf), &got), 0);
	sluice_close(root);
}

Test(finding_09, admins_hand_out_no_more_than_they_hold)
{
	static const char *const marketing[] = { "inference", "marketing" };
	static const char *const admin_purpose[] = { "admin" };
	sluice_session *limited = NULL, *root = tc_admin(&cl);
	char path[400];

	/* alice: every role, inference and training, cleared to internal. */
	cr_expect_eq(create(alice, NULL, "p1", reader_role, 1, inference, 1, "confidential", NULL,
			    0), -EPERM, "clearance above the creator's");
	cr_expect_eq(create(alice, NULL, "p2", reader_role, 1, marketing, 2, "internal", NULL, 0),
		     -EPERM, "a purpose the creator lacks");
	cr_expect_eq(create(alice, NULL, "p3", reader_role, 1, inference, 1, "internal", NULL, 0),
		     0, "%s", sluice_last_error(alice));

	/* An admin that only administers: it cannot hand out data roles. */
	cr_assert_eq(create(alice, NULL, "limited", admin_role, 1, inference, 1, "public", path,
			    sizeof(path)), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(sluice_open_file(path, NULL, "inference", &limited), 0);
	cr_expect_eq(create(limited, NULL, "w", reader_role, 1, inference, 1, "public", NULL, 0),
		     -EPERM, "a role the creator lacks");
	cr_expect_eq(create(limited, NULL, "a2", admin_role, 1, inference, 1, "internal", NULL, 0),
		     -EPERM, "clearance above the creator's");
	/* Left unset, the clearance is capped at the creator's own. */
	cr_expect_eq(create(limited, NULL, "a3", admin_role, 1, inference, 1, NULL, NULL, 0), 0,
		     "%s", sluice_last_error(limited));
	sluice_close(limited);

	/* The cluster admin in its own tenant: the same cap (it holds purpose admin, public). */
	cr_expect_eq(create(root, NULL, "ops", admin_role, 1, inference, 1, NULL, NULL, 0),
		     -EPERM);
	cr_expect_eq(create(root, NULL, "ops", admin_role, 1, admin_purpose, 1, "restricted", NULL,
			    0), -EPERM);
	cr_expect_eq(create(root, NULL, "ops", admin_role, 1, admin_purpose, 1, NULL, NULL, 0), 0,
		     "%s", sluice_last_error(root));
	sluice_close(root);
}

Test(finding_09, admins_declassify_only_what_they_are_cleared_for)
{
	const struct sluice_tag restricted[] = { { "classification", "restricted" } };
	const struct sluice_tag pub[] = { { "classification", "public" } };
	char buf[8];
	size_t got;

	/* alice (admin, internal) would grant herself the read by lowering it. */
	cr_assert_eq(sluice_put(alice, "data", "vault", "gold", 4, restricted, 1), 0);
	cr_expect_eq(sluice_set_tags(alice, "data", "vault", pub, 1, NULL, 0), -EPERM);
	cr_expect_eq(sluice_read(alice, "data", "vault", 0, buf, sizeof(buf), &got), -EACCES);
	/* Within her clearance she may. */
	cr_assert_eq(sluice_put(alice, "data", "memo", "memo", 4, NULL, 0), 0);
	cr_expect_eq(sluice_set_tags(alice, "data", "memo", pub, 1, NULL, 0), 0, "%s",
		     sluice_last_error(alice));
}

/* ---- finding 7: every shard has a SHA-256 root in the catalog ------------ */

/* SHA-256 over the SHA-256 of each 64 KiB block: computed here independently of libsluice. */
static void shard_root(const uint8_t *buf, size_t len, uint8_t root[32])
{
	EVP_MD_CTX *outer = EVP_MD_CTX_new();
	uint8_t d[32];
	unsigned int n = 32;

	cr_assert(outer && EVP_DigestInit_ex(outer, EVP_sha256(), NULL));
	for (size_t off = 0; off < len; off += 65536) {
		size_t take = len - off < 65536 ? len - off : 65536;

		cr_assert(EVP_Digest(buf + off, take, d, &n, EVP_sha256(), NULL));
		cr_assert(EVP_DigestUpdate(outer, d, 32));
	}
	cr_assert(EVP_DigestFinal_ex(outer, root, &n));
	EVP_MD_CTX_free(outer);
}

Test(finding_07, commits_without_shard_roots_are_refused)
{
	Sluice__PutBeginReq begin = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__PutCommitReq commit = SLUICE__PUT_COMMIT_REQ__INIT;
	Sluice__Shard shard = SLUICE__SHARD__INIT, *shards[] = { &shard };
	Sluice__ObjectPlan *plan = NULL;
	uint8_t sha[32] = { 0 }, root[32] = { 1 };
	char err[256];

	begin.ns = (char *)"data";
	begin.name = (char *)"rootless";
	begin.size = 10;
	begin.fabric_addr = (ProtobufCBinaryData){ 16, (uint8_t *)"unused-endpoint" };
	cr_assert_eq(raw_call(alice_cred, SL_RPC_PUT_BEGIN, &begin.base,
			      &sluice__object_plan__descriptor, (ProtobufCMessage **)&plan, err,
			      sizeof(err)), 0, "%s", err);
	commit.object_id = plan->object->id;
	commit.shards = shards;
	commit.n_shards = 1;
	commit.sha256 = (ProtobufCBinaryData){ 32, sha };
	shard.index = 0;
	shard.length = 10;
	cr_expect_eq(raw_call(alice_cred, SL_RPC_PUT_COMMIT, &commit.base, NULL, NULL, err,
			      sizeof(err)), -EINVAL, "a commit without a root was accepted");
	cr_expect(strstr(err, "SHA-256 root"), "%s", err);
	shard.sha256 = (ProtobufCBinaryData){ 31, root };
	cr_expect_eq(raw_call(alice_cred, SL_RPC_PUT_COMMIT, &commit.base, NULL, NULL, err,
			      sizeof(err)), -EINVAL, "a 31-byte root was accepted");
	shard.sha256 = (ProtobufCBinaryData){ 32, root };
	cr_expect_eq(raw_call(alice_cred, SL_RPC_PUT_COMMIT, &commit.base, NULL, NULL, err,
			      sizeof(err)), 0, "%s", err);
	sluice__object_plan__free_unpacked(plan, NULL);
}

Test(finding_07, plans_carry_each_shards_root)
{
	const size_t size = 300000; /* shards of 131072: 2 full (2 blocks each), 1 short */
	struct sluice_ns_spec ns = { NULL, "big", 131072, 0, NULL, 0 };
	uint8_t *data = malloc(size), root[32];
	Sluice__ObjectPlan *plan;

	cr_assert(data);
	tc_fill(data, size, 7);
	cr_assert_eq(sluice_ns_create(alice, &ns), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(sluice_put(alice, "big", "blob", data, size, NULL, 0), 0, "%s",
		     sluice_last_error(alice));
	cr_assert_eq(raw_stat(alice_cred, "big", "blob", "inference", &plan), 0);
	cr_assert_eq(plan->n_shards, 3);
	for (size_t i = 0; i < plan->n_shards; i++) {
		const Sluice__Shard *sh = plan->shards[i];

		cr_assert_eq(sh->sha256.len, 32, "shard %zu has no root", i);
		shard_root(data + i * 131072, sh->length, root);
		cr_expect_arr_eq(sh->sha256.data, root, 32, "shard %zu: wrong root", i);
	}
	sluice__object_plan__free_unpacked(plan, NULL);
	free(data);
}

/* ---- finding 4: no tenant crowds the others out of the replay cache ----- */

/* Each principal in use holds a window of sluice-meta's replay cache; a cap
 * per tenant keeps one tenant from holding enough to lock others out. */
static void setup_capped(void)
{
	/* Inherited by the sluice-meta the harness starts. */
	setenv("SLUICE_TENANT_PRINCIPALS_MAX", "4", 1);
	setup_two();
}

TestSuite(finding_04, .init = setup_capped, .fini = teardown, .timeout = 180);

Test(finding_04, a_tenant_has_at_most_its_share_of_principals)
{
	char name[16];

	/* acme has its admin and alice: two more fit, the fifth does not. */
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		cr_assert_eq(create(alice, NULL, name, reader_role, 1, inference, 1, "internal", NULL, 0),
			     0, "%s", sluice_last_error(alice));
	}
	cr_assert_eq(create(alice, NULL, "one-too-many", reader_role, 1, inference, 1, "internal", NULL,
			    0), -EDQUOT);
	cr_assert(strstr(sluice_last_error(alice), "most allowed"), "%s", sluice_last_error(alice));
	/* Another tenant is not affected. */
	cr_assert_eq(create(bob, NULL, "q0", reader_role, 1, inference, 1, "internal", NULL, 0), 0, "%s",
		     sluice_last_error(bob));
}
