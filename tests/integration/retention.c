/*
 * Retention, legal holds and provenance, end to end: a put records who
 * ingested the object, from which source, when and with which tags; a legal
 * hold stops every delete until an admin clears it; governance-mode
 * retention stops deletes and shortening unless the caller holds the bypass
 * right; compliance-mode retention stops everyone and can only be extended.
 * Every change and every refused delete is in the tenant's audit log,
 * another tenant's object answers exactly like a missing one, and bad dates
 * and modes are refused with clear messages, by the SDK and by the CLI.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

#define TEST_DAY_MS 86400000ull

static struct tcluster cl;
/* acme: alice (admin, writer, reader; no bypass), whose credentials the CLI uses.
 * vault: root (every role and the bypass right), plain (every role, no bypass),
 * keeper (writer and the bypass right), reader (reader only). */
static sluice_session *alice, *root, *plain, *keeper, *reader;
static char alice_cred[400], out[16384];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static sluice_session *open_key(const char *key_id, const char *secret)
{
	struct sluice_opts o = { 0 };
	sluice_session *s = NULL;

	o.meta = cl.meta_addr;
	o.key_id = key_id;
	o.secret = secret;
	o.purpose = "inference";
	o.ca_file = cl.ca_file;
	cr_assert_eq(sluice_open(&o, &s), 0);
	return s;
}

/* A principal of the creator's tenant (or `tenant`) with roles and at most one right. */
static sluice_session *make(sluice_session *creator, const char *tenant, const char *name,
			    const char *const *roles, size_t n_roles, const char *right)
{
	static const char *const purposes[] = { "inference" };
	const char *rights[] = { right };
	struct sluice_principal_spec spec = { tenant, name, roles, n_roles, purposes, 1,
					      "restricted", rights, right ? 1 : 0 };
	char key_id[24], secret[65];

	cr_assert_eq(sluice_principal_create(creator, &spec, key_id, secret), 0, "create %s: %s",
		     name, sluice_last_error(creator));
	return open_key(key_id, secret);
}

static void setup(void)
{
	static const char *const all[] = { "admin", "writer", "reader" };
	static const char *const writer[] = { "writer" }, *const read_only[] = { "reader" };
	sluice_session *admin;

	tc_start(&cl, 1);
	alice = tc_principal(&cl, "acme", "alice", "restricted", alice_cred, sizeof(alice_cred));
	tc_ns(alice, "data", 65536);
	admin = tc_admin(&cl);
	cr_assert_eq(sluice_tenant_create(admin, "vault", NULL), 0, "%s", sluice_last_error(admin));
	root = make(admin, "vault", "root", all, 3, "bypass");
	sluice_close(admin);
	plain = make(root, NULL, "plain", all, 3, NULL);
	keeper = make(root, NULL, "keeper", writer, 1, "bypass");
	reader = make(root, NULL, "reader", read_only, 1, NULL);
	tc_ns(root, "data", 65536);
}

static void teardown(void)
{
	sluice_close(alice);
	sluice_close(root);
	sluice_close(plain);
	sluice_close(keeper);
	sluice_close(reader);
	alice = root = plain = keeper = reader = NULL;
	tc_stop(&cl);
}

TestSuite(retention, .init = setup, .fini = teardown, .timeout = 240);

static void put(sluice_session *s, const char *name, const struct sluice_tag *tags, size_t n)
{
	char buf[3000];

	tc_fill(buf, sizeof(buf), 7);
	cr_assert_eq(sluice_put(s, "data", name, buf, sizeof(buf), tags, n), 0, "put %s: %s", name,
		     sluice_last_error(s));
}

/* Records of s's tenant's log matching event, object, decision and (a part of) reason. */
static int audited(sluice_session *s, const char *event, const char *object, const char *decision,
		   const char *reason)
{
	struct sluice_audit_record *rec;
	size_t n;
	int chain_ok, hits = 0;

	cr_assert_eq(sluice_audit_list(s, 0, 1000, &rec, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(s));
	cr_expect(chain_ok, "the audit chain is broken");
	for (size_t i = 0; i < n; i++)
		hits += strcmp(rec[i].event, event) == 0 && strcmp(rec[i].object, object) == 0 &&
			strcmp(rec[i].decision, decision) == 0 &&
			(!reason || strstr(rec[i].reason, reason));
	sluice_audit_free(rec, n);
	return hits;
}

static void iso(uint64_t ms, char *buf, size_t len, int date_only)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Expects s's delete of data/name refused with -EPERM and a message containing want. */
static void expect_rm_refused(sluice_session *s, const char *name, const char *want)
{
	int rc = sluice_delete(s, "data", name);

	cr_expect_eq(rc, -EPERM, "rm %s: %d (%s)", name, rc, sluice_last_error(s));
	cr_expect(strstr(sluice_last_error(s), want), "rm %s: '%s' lacks '%s'", name,
		  sluice_last_error(s), want);
}

static int sluice(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(alice_cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

Test(retention, put_records_provenance)
{
	struct sluice_tag tags[] = { { "pii", "pseudonymous" } };
	struct sluice_object *o;
	char path[400], *tenant, *me;
	uint64_t before = now_ms(), after;
	int has_cls = 0, has_pii = 0;
	FILE *f;

	cr_assert_eq(sluice_set_source(alice, "pipeline:nightly-ingest"), 0);
	put(alice, "p.bin", tags, 1);
	after = now_ms();
	cr_assert_eq(sluice_stat(alice, "data", "p.bin", &o), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(sluice_whoami(alice, &tenant, &me), 0);
	cr_expect_str_eq(o->provenance.principal, me);
	cr_expect_neq(o->provenance.principal_id, 0);
	cr_expect_str_eq(o->provenance.source, "pipeline:nightly-ingest");
	cr_expect(o->provenance.time_ms + 2000 >= before && o->provenance.time_ms <= after + 2000,
		  "put at %llu, not within [%llu, %llu]",
		  (unsigned long long)o->provenance.time_ms, (unsigned long long)before,
		  (unsigned long long)after);
	for (size_t i = 0; i < o->provenance.n_tags; i++) {
		has_cls |= strcmp(o->provenance.tags[i].key, "classification") == 0;
		has_pii |= strcmp(o->provenance.tags[i].key, "pii") == 0 &&
			   strcmp(o->provenance.tags[i].value, "pseudonymous") == 0;
	}
	cr_expect(has_cls && has_pii, "the ingest tags (namespace defaults included) are kept");
	cr_expect_eq(o->legal_hold, 0);
	cr_expect_str_eq(o->retain_mode, "");
	free(tenant);
	free(me);
	sluice_object_free(o);

	/* Provenance never changes: a tag change leaves the ingest tags as they were. */
	tags[0].value = "direct";
	cr_assert_eq(sluice_set_tags(alice, "data", "p.bin", tags, 1, NULL, 0), 0, "%s",
		     sluice_last_error(alice));
	cr_assert_eq(sluice_stat(alice, "data", "p.bin", &o), 0);
	for (size_t i = 0; i < o->provenance.n_tags; i++)
		if (strcmp(o->provenance.tags[i].key, "pii") == 0)
			cr_expect_str_eq(o->provenance.tags[i].value, "pseudonymous");
	cr_expect_str_eq(o->provenance.source, "pipeline:nightly-ingest");
	sluice_object_free(o);

	/* A source that is not one printable line is refused. */
	cr_assert_eq(sluice_set_source(alice, "evil\n\x1b[2J"), 0);
	cr_expect_eq(sluice_put(alice, "data", "q.bin", "x", 1, NULL, 0), -EINVAL);
	cr_expect(strstr(sluice_last_error(alice), "bad source"), "%s", sluice_last_error(alice));
	cr_assert_eq(sluice_set_source(alice, NULL), 0);

	/* sluice put records the local path as given. */
	snprintf(path, sizeof(path), "%s/local-file.txt", cl.dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("hello provenance\n", f);
	fclose(f);
	cr_assert_eq(sluice("put", path, "data/cli.txt", "--no-progress", NULL), 0, "%s", out);
	cr_assert_eq(sluice("stat", "data/cli.txt", "--json", NULL), 0, "%s", out);
	cr_expect(strstr(out, "\"source\":") && strstr(out, "local-file.txt"), "%s", out);
	cr_expect(strstr(out, "\"legal_hold\":false") && strstr(out, "\"retention\":null"), "%s",
		  out);
	cr_assert_eq(sluice("stat", "data/cli.txt", NULL), 0, "%s", out);
	cr_expect(strstr(out, "put by   alice") && strstr(out, "source   ") &&
			  strstr(out, "retain   none") && strstr(out, "hold     off"),
		  "%s", out);
}

Test(retention, hold_blocks_every_delete)
{
	struct sluice_object *o;

	put(plain, "held.bin", NULL, 0);
	/* Holds are an admin's: a writer with the bypass right cannot set one. */
	cr_expect_eq(sluice_hold_set(keeper, "data", "held.bin", 1), -EPERM);
	cr_expect_eq(sluice_hold_set(reader, "data", "held.bin", 1), -EPERM);
	cr_assert_eq(sluice_hold_set(plain, "data", "held.bin", 1), 0, "%s",
		     sluice_last_error(plain));
	cr_assert_eq(sluice_stat(plain, "data", "held.bin", &o), 0);
	cr_expect_eq(o->legal_hold, 1);
	sluice_object_free(o);
	expect_rm_refused(plain, "held.bin", "legal hold");
	expect_rm_refused(root, "held.bin", "legal hold");   /* bypass does not lift a hold */
	expect_rm_refused(keeper, "held.bin", "legal hold");
	cr_assert_eq(sluice_hold_set(root, "data", "held.bin", 0), 0, "%s", sluice_last_error(root));
	cr_expect_eq(sluice_delete(plain, "data", "held.bin"), 0, "%s", sluice_last_error(plain));

	cr_expect_eq(audited(root, "object.hold", "data/held.bin", "done", "hold off -> on"), 1);
	cr_expect_eq(audited(root, "object.hold", "data/held.bin", "done", "hold on -> off"), 1);
	cr_expect_eq(audited(root, "object.hold", "data/held.bin", "deny", "admin role"), 2);
	cr_expect_eq(audited(root, "object.delete", "data/held.bin", "deny", "legal hold"), 3);
	cr_expect_eq(audited(root, "object.delete", "data/held.bin", "done", NULL), 1);

	/* A refusal without the role is audited too. */
	put(plain, "r.bin", NULL, 0);
	cr_expect_eq(sluice_delete(reader, "data", "r.bin"), -EPERM);
	cr_expect_eq(audited(root, "object.delete", "data/r.bin", "deny", "no role"), 1);
	cr_expect_eq(sluice_delete(plain, "data", "gone.bin"), -ENOENT);
	cr_expect_eq(audited(root, "object.delete", "data/gone.bin", "deny", "not found"), 1);
}

Test(retention, governance_needs_bypass)
{
	uint64_t day = now_ms() + TEST_DAY_MS, week = now_ms() + 7 * TEST_DAY_MS;
	struct sluice_object *o;
	char date[40];

	put(plain, "g.bin", NULL, 0);
	cr_expect_eq(sluice_retain(reader, "data", "g.bin", week, "governance"), -EPERM);
	/* A writer sets retention; an admin without bypass then cannot delete. */
	cr_assert_eq(sluice_retain(keeper, "data", "g.bin", day, "governance"), 0, "%s",
		     sluice_last_error(keeper));
	iso(day, date, sizeof(date), 0);
	expect_rm_refused(plain, "g.bin", date);
	expect_rm_refused(plain, "g.bin", "governance-mode retention");
	/* Extending needs no right; shortening and removing do. */
	cr_expect_eq(sluice_retain(plain, "data", "g.bin", week, "governance"), 0, "%s",
		     sluice_last_error(plain));
	cr_expect_eq(sluice_retain(plain, "data", "g.bin", day, "governance"), -EPERM);
	cr_expect(strstr(sluice_last_error(plain), "bypass"), "%s", sluice_last_error(plain));
	cr_expect_eq(sluice_retain(plain, "data", "g.bin", 0, "none"), -EPERM);
	cr_assert_eq(sluice_stat(plain, "data", "g.bin", &o), 0);
	cr_expect_str_eq(o->retain_mode, "governance");
	cr_expect_eq(o->retain_until_ms, week);
	sluice_object_free(o);
	cr_expect_eq(sluice_retain(keeper, "data", "g.bin", day, "governance"), 0, "%s",
		     sluice_last_error(keeper));
	/* With bypass the delete goes through, and says so in the log. */
	cr_expect_eq(sluice_delete(keeper, "data", "g.bin"), 0, "%s", sluice_last_error(keeper));
	cr_expect_eq(audited(root, "object.delete", "data/g.bin", "done", "bypassed governance"), 1);
	cr_expect_eq(audited(root, "object.delete", "data/g.bin", "deny", "governance-mode"), 2);
	cr_expect_eq(audited(root, "object.retain", "data/g.bin", "done", "none -> governance"), 1);
	cr_expect_eq(audited(root, "object.retain", "data/g.bin", "done", NULL), 3);
	cr_expect_eq(audited(root, "object.retain", "data/g.bin", "deny", NULL), 3);

	/* Removing with bypass, then deleting without it. */
	put(plain, "g2.bin", NULL, 0);
	cr_assert_eq(sluice_retain(plain, "data", "g2.bin", day, "governance"), 0);
	cr_expect_eq(sluice_retain(root, "data", "g2.bin", 0, "none"), 0, "%s",
		     sluice_last_error(root));
	cr_expect_eq(audited(root, "object.retain", "data/g2.bin", "done", " -> none"), 1);
	cr_expect_eq(sluice_delete(plain, "data", "g2.bin"), 0, "%s", sluice_last_error(plain));
}

Test(retention, compliance_binds_everyone)
{
	uint64_t day = now_ms() + TEST_DAY_MS, week = now_ms() + 7 * TEST_DAY_MS;
	char date[40];

	put(plain, "c.bin", NULL, 0);
	cr_assert_eq(sluice_retain(plain, "data", "c.bin", day, "governance"), 0);
	/* Governance to compliance is stronger: allowed without bypass. */
	cr_assert_eq(sluice_retain(plain, "data", "c.bin", day, "compliance"), 0, "%s",
		     sluice_last_error(plain));
	iso(day, date, sizeof(date), 0);
	expect_rm_refused(root, "c.bin", "compliance-mode retention");
	expect_rm_refused(root, "c.bin", date);
	expect_rm_refused(keeper, "c.bin", "compliance-mode retention");
	cr_expect_eq(sluice_retain(root, "data", "c.bin", day - 3600000, "compliance"), -EPERM);
	cr_expect(strstr(sluice_last_error(root), "cannot be shortened"), "%s",
		  sluice_last_error(root));
	cr_expect_eq(sluice_retain(root, "data", "c.bin", week, "governance"), -EPERM);
	cr_expect_eq(sluice_retain(root, "data", "c.bin", 0, "none"), -EPERM);
	cr_expect_eq(sluice_hold_set(root, "data", "c.bin", 0), 0); /* a hold is independent */
	cr_expect_eq(sluice_retain(plain, "data", "c.bin", week, "compliance"), 0, "%s",
		     sluice_last_error(plain));
	expect_rm_refused(root, "c.bin", "compliance-mode retention");
	cr_expect_eq(audited(root, "object.retain", "data/c.bin", "deny", "compliance"), 3);
	cr_expect_eq(audited(root, "object.retain", "data/c.bin", "done",
			     "governance until "), 2);
	cr_expect_eq(audited(root, "object.delete", "data/c.bin", "deny", "compliance"), 4);
}

Test(retention, ended_retention_no_longer_binds)
{
	put(plain, "e.bin", NULL, 0);
	cr_assert_eq(sluice_retain(plain, "data", "e.bin", now_ms() + 1500, "compliance"), 0, "%s",
		     sluice_last_error(plain));
	expect_rm_refused(plain, "e.bin", "compliance");
	usleep(2500 * 1000);
	cr_expect_eq(sluice_delete(plain, "data", "e.bin"), 0, "%s", sluice_last_error(plain));
}

Test(retention, other_tenant_is_not_found)
{
	uint64_t day = now_ms() + TEST_DAY_MS;
	struct sluice_object *o;
	char missing[256];

	put(root, "v.bin", NULL, 0);
	/* alice is an admin of acme, whose namespace is also called data. */
	cr_expect_eq(sluice_hold_set(alice, "data", "nothing.bin", 1), -ENOENT);
	snprintf(missing, sizeof(missing), "%s", sluice_last_error(alice));
	cr_expect_eq(sluice_hold_set(alice, "data", "v.bin", 1), -ENOENT);
	cr_expect(strstr(sluice_last_error(alice), "no such object: data/v.bin"), "%s",
		  sluice_last_error(alice));
	cr_expect(strstr(missing, "no such object: data/nothing.bin"), "%s", missing);
	cr_expect_eq(sluice_retain(alice, "data", "v.bin", day, "governance"), -ENOENT);
	cr_expect_eq(sluice_delete(alice, "data", "v.bin"), -ENOENT);
	cr_assert_eq(sluice_stat(root, "data", "v.bin", &o), 0);
	cr_expect_eq(o->legal_hold, 0);
	cr_expect_str_eq(o->retain_mode, "");
	sluice_object_free(o);
	/* The attempts are in acme's log, not in vault's. */
	cr_expect_eq(audited(alice, "object.hold", "data/v.bin", "deny", "not found"), 1);
	cr_expect_eq(audited(alice, "object.retain", "data/v.bin", "deny", "not found"), 1);
	cr_expect_eq(audited(root, "object.hold", "data/v.bin", "deny", NULL), 0);
}

Test(retention, bad_dates_and_modes)
{
	uint64_t now = now_ms();
	char date[40], later[40];

	put(alice, "d.bin", NULL, 0);
	cr_expect_eq(sluice_retain(alice, "data", "d.bin", now - 1000, "governance"), -EINVAL);
	cr_expect(strstr(sluice_last_error(alice), "not in the future"), "%s",
		  sluice_last_error(alice));
	cr_expect_eq(sluice_retain(alice, "data", "d.bin", now + 101 * 366 * TEST_DAY_MS,
				   "governance"), -EINVAL);
	cr_expect(strstr(sluice_last_error(alice), "100 years"), "%s", sluice_last_error(alice));
	cr_expect_eq(sluice_retain(alice, "data", "d.bin", now + TEST_DAY_MS, "forever"), -EINVAL);
	cr_expect(strstr(sluice_last_error(alice), "bad retention mode"), "%s",
		  sluice_last_error(alice));
	cr_expect_eq(sluice_retain(alice, "data", "d.bin", 0, "governance"), -EINVAL);

	cr_expect_eq(sluice("retain", "data/d.bin", "--until", "2031-13-01", "--mode",
			    "governance", NULL), 1, "%s", out);
	cr_expect(strstr(out, "out of range"), "%s", out);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", "2031-02-30", "--mode",
			    "governance", NULL), 1, "%s", out);
	cr_expect(strstr(out, "no such day"), "%s", out);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", "tomorrow", "--mode", "governance",
			    NULL), 1, "%s", out);
	cr_expect(strstr(out, "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"), "%s", out);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", "2031-01-01T25:00:00Z", "--mode",
			    "governance", NULL), 1, "%s", out);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", "2031-01-01", "--mode", "forever",
			    NULL), 1, "%s", out);
	cr_expect(strstr(out, "bad mode 'forever'"), "%s", out);
	cr_expect_eq(sluice("retain", "data/d.bin", "--mode", "governance", NULL), 1, "%s", out);
	cr_expect(strstr(out, "--until"), "%s", out);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", "2001-01-01", "--mode",
			    "compliance", NULL), 1, "%s", out);
	cr_expect(strstr(out, "not in the future"), "%s", out);
	cr_expect_eq(sluice("hold", "frob", "data/d.bin", NULL), 2, "%s", out);

	/* The CLI's happy path, with --json. */
	iso(now + 400 * TEST_DAY_MS, date, sizeof(date), 1);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", date, "--mode", "governance",
			    "--json", NULL), 0, "%s", out);
	cr_expect(strstr(out, "\"mode\":\"governance\"") && strstr(out, date), "%s", out);
	iso(now + 500 * TEST_DAY_MS, later, sizeof(later), 0);
	cr_expect_eq(sluice("retain", "data/d.bin", "--until", later, "--mode", "governance",
			    NULL), 0, "%s", out);
	cr_expect(strstr(out, "retained in governance mode until"), "%s", out);
	cr_expect_eq(sluice("hold", "set", "data/d.bin", "--json", NULL), 0, "%s", out);
	cr_expect(strstr(out, "\"legal_hold\":true"), "%s", out);
	cr_expect_eq(sluice("rm", "data/d.bin", NULL), 1, "%s", out);
	cr_expect(strstr(out, "legal hold"), "%s", out);
	cr_expect_eq(sluice("stat", "data/d.bin", NULL), 0, "%s", out);
	cr_expect(strstr(out, "retain   governance until") && strstr(out, later) &&
			  strstr(out, "hold     on"),
		  "%s", out);
	cr_expect_eq(sluice("hold", "clear", "data/d.bin", NULL), 0, "%s", out);
	cr_expect_eq(sluice("rm", "data/d.bin", "--json", NULL), 1, "%s", out);
	cr_expect(strstr(out, "governance-mode retention until") && strstr(out, "bypass"), "%s",
		  out);
}
