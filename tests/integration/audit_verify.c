/*
 * `sluice audit verify` and the audit filters against a real cluster: a
 * tenant's log is written by puts and reads, sluice-meta is stopped, and in
 * copies of its catalog one record is edited, one deleted, two swapped;
 * sluice-meta started on each copy must have verify exit 1 naming the right
 * record, and on the untouched catalog exit 0. The filters of `sluice audit`
 * are checked on the same log, and bad dates are refused with a clear error.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog.h"
#include "catalog_keys.h"
#include "cluster.h"

static struct tcluster cl;
static char alice_cred[400];
static char out[1 << 18];

static void setup(void)
{
	sluice_session *s;
	struct sluice_ns_spec spec = { NULL, "data", 65536, 1, NULL, 0 };
	struct sluice_object *o;
	char name[16], buf[16];
	size_t got;

	tc_start(&cl, 1);
	s = tc_principal(&cl, "acme", "alice", "internal", alice_cred, sizeof(alice_cred));
	cr_assert_eq(sluice_ns_create(s, &spec), 0, "%s", sluice_last_error(s));
	/* Puts, reads and a refused read: a dozen records in acme's log. */
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "obj%d", i);
		cr_assert_eq(sluice_put(s, "data", name, "payload", 7, NULL, 0), 0, "%s",
			     sluice_last_error(s));
		cr_assert_eq(sluice_read(s, "data", name, 0, buf, sizeof(buf), &got), 0, "%s",
			     sluice_last_error(s));
	}
	cr_assert_neq(sluice_stat(s, "data", "nothing-here", &o), 0);
	sluice_close(s);
}

static void teardown(void)
{
	tc_stop(&cl);
}

TestSuite(audit_verify, .init = setup, .fini = teardown, .timeout = 240);

/* Runs `sluice -c alice ARGS... (NULL)`; the exit code, output in out. */
static int cli(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(alice_cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

static uint64_t tenant_id(struct sl_catalog *cat, const char *name)
{
	struct sl_key k;
	uint8_t *val = NULL;
	size_t vlen;
	uint64_t id;

	sl_key_str(sl_key_tag(sl_key_reset(&k), 'n'), name);
	cr_assert_eq(sl_catalog_get_raw(cat, SL_CF_TENANTS, k.b, k.len, &val, &vlen), 0);
	cr_assert_eq(vlen, 8);
	memcpy(&id, val, 8);
	free(val);
	return be64toh(id);
}

static void get_record(struct sl_catalog *cat, uint64_t tenant, uint64_t seq, uint8_t **val,
		       size_t *len)
{
	struct sl_key k;

	sl_audit_record_key(&k, tenant, seq);
	cr_assert_eq(sl_catalog_get_raw(cat, SL_CF_AUDIT, k.b, k.len, val, len), 0,
		     "no record %llu", (unsigned long long)seq);
}

static void put_record(struct sl_batch *b, struct sl_catalog *cat, uint64_t tenant, uint64_t seq,
		       const uint8_t *val, size_t len)
{
	struct sl_key k;

	sl_audit_record_key(&k, tenant, seq);
	sl_batch_put(b, cat, SL_CF_AUDIT, k.b, k.len, val, len);
}

enum tamper { EDIT, DELETE, SWAP };

/* Changes acme's log in the stopped sluice-meta's catalog under dir, as someone with the disk would. */
static void tamper(const char *dir, enum tamper how, uint64_t seq)
{
	struct sl_catalog *cat;
	struct sl_batch *b = sl_batch_new();
	uint8_t *v1 = NULL, *v2 = NULL;
	size_t l1, l2;
	uint64_t tenant;
	struct sl_key k;
	char path[500];

	cr_assert(b);
	snprintf(path, sizeof(path), "%s/catalog", dir);
	cr_assert_eq(sl_catalog_open(path, &cat), 0);
	tenant = tenant_id(cat, "acme");
	get_record(cat, tenant, seq, &v1, &l1);
	if (how == EDIT) {
		Sluice__AuditRecord *rec = sluice__audit_record__unpack(NULL, l1, v1);
		char *orig;

		cr_assert(rec);
		orig = rec->reason;
		rec->reason = (char *)"nothing happened here";
		v2 = malloc(sluice__audit_record__get_packed_size(rec));
		cr_assert(v2);
		l2 = sluice__audit_record__pack(rec, v2);
		rec->reason = orig;
		sluice__audit_record__free_unpacked(rec, NULL);
		put_record(b, cat, tenant, seq, v2, l2);
	} else if (how == DELETE) {
		sl_audit_record_key(&k, tenant, seq);
		sl_batch_delete(b, cat, SL_CF_AUDIT, k.b, k.len);
	} else {
		get_record(cat, tenant, seq + 1, &v2, &l2);
		put_record(b, cat, tenant, seq, v2, l2);
		put_record(b, cat, tenant, seq + 1, v1, l1);
	}
	cr_assert_eq(sl_catalog_commit(cat, b), 0);
	sl_batch_free(b);
	sl_catalog_close(cat);
	free(v1);
	free(v2);
}

/* Starts sluice-meta on dir and runs `sluice audit verify` (--json when json). */
static int verify_on(const char *dir, int json)
{
	int rc;

	tc_meta_start_dir(&cl, dir);
	rc = json ? cli("audit", "verify", "--json", NULL) : cli("audit", "verify", NULL);
	tc_meta_kill(&cl, SIGTERM);
	return rc;
}

Test(audit_verify, edits_deletions_and_reorders_are_named)
{
	char dir[4][400], cmd[1800];
	const char *names[4] = { "intact", "edited", "deleted", "swapped" };

	cr_assert_eq(cli("audit", "verify", NULL), 0, "%s", out);
	cr_expect(strstr(out, "audit log intact"), "%s", out);
	tc_meta_kill(&cl, SIGTERM);
	for (int i = 0; i < 4; i++) {
		snprintf(dir[i], sizeof(dir[i]), "%s/meta-%s", cl.dir, names[i]);
		snprintf(cmd, sizeof(cmd), "cp -a %s/meta %s", cl.dir, dir[i]);
		cr_assert_eq(system(cmd), 0);
	}
	tamper(dir[1], EDIT, 5);
	tamper(dir[2], DELETE, 4);
	tamper(dir[3], SWAP, 6);

	cr_expect_eq(verify_on(dir[0], 0), 0, "the untouched log: %s", out);
	cr_expect(strstr(out, "audit log intact"), "%s", out);

	cr_expect_eq(verify_on(dir[1], 0), 1, "an edited record went unnoticed: %s", out);
	cr_expect(strstr(out, "record 6: its predecessor was changed (prev_hash does not match "
			      "record 5)"),
		  "%s", out);
	cr_expect(strstr(out, "first broken record: 6"), "%s", out);

	cr_expect_eq(verify_on(dir[2], 0), 1, "a deleted record went unnoticed: %s", out);
	cr_expect(strstr(out, "record 4 missing"), "%s", out);

	cr_expect_eq(verify_on(dir[3], 1), 1, "swapped records went unnoticed: %s", out);
	cr_expect(strstr(out, "\"intact\":false"), "%s", out);
	cr_expect(strstr(out, "\"bad_seq\":6"), "%s", out);
	cr_expect(strstr(out, "\"problem\":\"reordered\""), "%s", out);

	/* Back on the untouched catalog, for teardown's clean stop. */
	tc_meta_start_dir(&cl, dir[0]);
	cr_expect_eq(cli("audit", "verify", "--json", NULL), 0, "%s", out);
	cr_expect(strstr(out, "\"intact\":true"), "%s", out);
}

/* Lines of out that are records (they start with a sequence number). */
static int record_lines(const char *must_have)
{
	char copy[sizeof(out)], *save = NULL;
	int n = 0;

	memcpy(copy, out, sizeof(out));
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] < '0' || line[0] > '9')
			continue;
		cr_expect(!must_have || strstr(line, must_have), "a line without '%s': %s", must_have,
			  line);
		n++;
	}
	return n;
}

Test(audit_verify, filters_pick_records_and_keep_the_chain_check)
{
	int all;

	cr_assert_eq(cli("audit", NULL), 0, "%s", out);
	all = record_lines(NULL);
	cr_expect_geq(all, 8, "%s", out);
	/* Reads carry who decided and on what. */
	cr_expect(strstr(out, "read.grant"), "%s", out);
	cr_expect(strstr(out, "action read"), "%s", out);
	cr_expect(strstr(out, "roles "), "%s", out);
	cr_expect(strstr(out, "tag-epoch 1"), "%s", out);
	cr_expect(strstr(out, "node meta"), "%s", out);

	cr_assert_eq(cli("audit", "--decision", "deny", NULL), 0, "%s", out);
	cr_expect_eq(record_lines(" deny "), 1, "%s", out);
	cr_expect(strstr(out, "data/nothing-here"), "%s", out);
	cr_expect(strstr(out, "hash chain: intact"), "%s", out);

	cr_assert_eq(cli("audit", "--object", "data/obj1", NULL), 0, "%s", out);
	cr_expect_eq(record_lines("data/obj1"), 2, "a put and a read: %s", out);

	cr_assert_eq(cli("audit", "--principal", "alice", "--decision", "allow", NULL), 0, "%s",
		     out);
	cr_expect_eq(record_lines(" allow "), 3, "three reads: %s", out);
	cr_assert_eq(cli("audit", "--principal", "nobody", NULL), 1, "%s", out);
	cr_expect(strstr(out, "no such principal"), "%s", out);

	cr_assert_eq(cli("audit", "--since", "1h", NULL), 0, "%s", out);
	cr_expect_eq(record_lines(NULL), all, "%s", out);
	cr_assert_eq(cli("audit", "--until", "2000-01-01", NULL), 0, "%s", out);
	cr_expect_eq(record_lines(NULL), 0, "%s", out);
	cr_assert_eq(cli("audit", "--since", "2000-01-01T00:00:00Z", "--until", "2100-01-01", NULL),
		     0, "%s", out);
	cr_expect_eq(record_lines(NULL), all, "%s", out);

	cr_assert_eq(cli("audit", "--json", "--decision", "deny", NULL), 0, "%s", out);
	cr_expect(strstr(out, "\"action\":\"stat\""), "%s", out);
	cr_expect(strstr(out, "\"chain_ok\":true"), "%s", out);
}

Test(audit_verify, bad_filters_are_refused_clearly)
{
	static const char *const bad_dates[] = { "yesterday", "2026-02-30", "2026-1-5", "1y",
						  "2026-01-01T25:00:00Z", "-1h", "" };

	for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
		cr_expect_eq(cli("audit", "--since", bad_dates[i], NULL), 2, "'%s': %s",
			     bad_dates[i], out);
		cr_expect(strstr(out, "bad --since"), "'%s': %s", bad_dates[i], out);
	}
	cr_expect_eq(cli("audit", "--until", "99999999999d", NULL), 2, "%s", out);
	cr_expect_eq(cli("audit", "--since", "2d", "--until", "3d", NULL), 2, "%s", out);
	cr_expect(strstr(out, "--until is not after --since"), "%s", out);
	cr_expect_eq(cli("audit", "--decision", "perhaps", NULL), 2, "%s", out);
	cr_expect(strstr(out, "bad --decision"), "%s", out);
	cr_expect_eq(cli("audit", "--object", "no-slash", NULL), 2, "%s", out);
	cr_expect_eq(cli("audit", "verify", "--decision", "deny", NULL), 2, "%s", out);
}

Test(audit_verify, verify_needs_the_admin_role_and_names_tenants_for_cluster_admins)
{
	char cred[400], *argv[8];
	sluice_session *bob = tc_principal(&cl, "acme", "bob", "internal", cred, sizeof(cred));
	sluice_session *admin = tc_admin(&cl);
	struct sluice_principal_spec spec = { 0 };
	const char *roles[] = { "reader" };
	char key_id[64], secret[80], path[600];
	struct sluice_audit_verdict v;
	FILE *f;

	sluice_close(bob);
	/* A cluster admin verifies acme's log by name. */
	cr_assert_eq(sluice_audit_verify(admin, "acme", &v), 0, "%s", sluice_last_error(admin));
	cr_expect(v.intact, "%s", v.detail);
	cr_expect_gt(v.checked, 8);
	cr_expect_eq(v.head_seq, v.last_seq);
	sluice_close(admin);

	/* A reader of acme may not. */
	admin = tc_principal(&cl, "acme", "carol", "internal", NULL, 0);
	spec.name = "reader1";
	spec.roles = roles;
	spec.n_roles = 1;
	cr_assert_eq(sluice_principal_create(admin, &spec, key_id, secret), 0, "%s",
		     sluice_last_error(admin));
	snprintf(path, sizeof(path), "%s/reader1.cred", cl.dir);
	f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = %s\nsecret = %s\n", cl.meta_addr, key_id,
		secret);
	cr_assert_eq(sluice_write_ca(admin, f), 0);
	cr_assert_eq(fclose(f), 0);
	sluice_close(admin);
	argv[0] = getenv("SLUICE_CLI_BIN");
	argv[1] = (char *)"-c";
	argv[2] = path;
	argv[3] = (char *)"audit";
	argv[4] = (char *)"verify";
	argv[5] = NULL;
	cr_assert(argv[0]);
	cr_expect_eq(tc_run(argv, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "admin role"), "%s", out);
}
