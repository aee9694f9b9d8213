/*
 * Revocation and keys at the data servers, end to end: capabilities of a
 * rotated-out key generation work through the grace and are refused after
 * it; a data server that does not acknowledge a change in time is fenced
 * (no reads are granted from it) until it catches up; a data server's
 * refusals reach the tenant's audit log; a capability minted before a
 * restrictive tag or policy change is refused at once, while a reader is
 * streaming, and the reader's next grant says why.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

#define TEST_SHARD 65536
#define TEST_SIZE (4 * TEST_SHARD)
/* sluice-meta's key-grace-s in these tests. */
#define TEST_GRACE_S 2

static struct tcluster cl;
static sluice_session *alice;
static char alice_cred[400], out[16384];

static void setup(void)
{
	setenv("SLUICE_KEY_GRACE_S", "2", 1);
	tc_start(&cl, 3);
	alice = tc_principal(&cl, "acme", "alice", "internal", alice_cred, sizeof(alice_cred));
	tc_ns(alice, "data", TEST_SHARD);
}

static void teardown(void)
{
	sluice_close(alice);
	alice = NULL;
	tc_stop(&cl);
	unsetenv("SLUICE_KEY_GRACE_S");
}

TestSuite(revoke, .init = setup, .fini = teardown, .timeout = 240);

static void put_pattern(const char *name, unsigned seed, const char *classification)
{
	struct sluice_tag tag = { "classification", classification };
	uint8_t *buf = malloc(TEST_SIZE);

	cr_assert(buf);
	tc_fill(buf, TEST_SIZE, seed);
	cr_assert_eq(sluice_put(alice, "data", name, buf, TEST_SIZE, &tag, 1), 0, "put %s: %s",
		     name, sluice_last_error(alice));
	free(buf);
}

/* Reads all of r and checks it is pattern seed; returns the read's result. */
static int read_all(sluice_reader *r, unsigned seed)
{
	uint8_t *want = malloc(TEST_SIZE), *got = malloc(TEST_SIZE);
	size_t n = 0;
	int rc;

	cr_assert(want && got);
	tc_fill(want, TEST_SIZE, seed);
	rc = sluice_reader_pread(r, got, TEST_SIZE, 0, &n);
	if (rc == 0) {
		cr_assert_eq(n, TEST_SIZE);
		cr_assert(memcmp(want, got, TEST_SIZE) == 0, "wrong bytes");
	}
	free(want);
	free(got);
	return rc;
}

/* Records of a tenant's log (as admin session s) with event whose reason holds `why`. */
static int audited(sluice_session *s, const char *event, const char *why)
{
	struct sluice_audit_record *rec;
	size_t n;
	int chain_ok, hits = 0;

	cr_assert_eq(sluice_audit_list(s, 0, 1000, &rec, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(s));
	cr_expect(chain_ok, "the audit chain is broken");
	for (size_t i = 0; i < n; i++)
		hits += strcmp(rec[i].event, event) == 0 && (!why || strstr(rec[i].reason, why));
	sluice_audit_free(rec, n);
	return hits;
}

/* Waits up to ms for a record of event/why in the log of s (data servers send them in batches). */
static int await_audited(sluice_session *s, const char *event, const char *why, int ms)
{
	int hits = 0;

	for (int i = 0; i < ms / 100 && !(hits = audited(s, event, why)); i++)
		usleep(100 * 1000);
	return hits;
}

static int cli(const char *cred, ...)
{
	va_list ap;
	int rc;

	va_start(ap, cred);
	rc = tc_cli_va(cred, out, sizeof(out), "--json", ap);
	va_end(ap);
	return rc;
}

Test(revoke, old_key_generation_works_through_the_grace_then_is_refused)
{
	sluice_session *admin = tc_admin(&cl);
	sluice_reader *r;

	put_pattern("a", 1, "internal");
	cr_assert_eq(sluice_reader_open(alice, "data", "a", &r), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(read_all(r, 1), 0, "%s", sluice_last_error(alice));

	cr_assert_eq(cli(cl.admin_cred, "key", "rotate", NULL), 0, "%s", out);
	cr_assert(strstr(out, "\"key_gen\":2"), "%s", out);
	cr_assert(strstr(out, "\"fenced\":[]"), "every data server acknowledged: %s", out);
	/* In the grace, the capability of generation 1 still reads. */
	cr_assert_eq(read_all(r, 1), 0, "%s", sluice_last_error(alice));
	cr_expect_eq(audited(alice, "data.refuse", NULL), 0);

	sleep(TEST_GRACE_S + 1);
	/* Past it the data servers refuse it; the reader asks anew and reads on. */
	cr_assert_eq(read_all(r, 1), 0, "%s", sluice_last_error(alice));
	cr_assert(await_audited(alice, "data.refuse", "key generation retired", 5000),
		  "the data servers' refusals are in acme's audit log");
	cr_expect(audited(admin, "key.rotate", "generation 1 -> 2"), "the rotation is audited");
	sluice_reader_close(r);

	/* Only a cluster admin rotates. */
	cr_assert_neq(cli(alice_cred, "key", "rotate", NULL), 0, "%s", out);
	sluice_close(admin);
}

Test(revoke, a_server_that_does_not_acknowledge_is_fenced_until_it_catches_up)
{
	struct sluice_object *o;

	put_pattern("b", 2, "internal");
	/* Stopped, it still counts as up for a while, but answers nothing. */
	cr_assert_eq(kill(cl.data_pid[0], SIGSTOP), 0);
	cr_assert_eq(cli(cl.admin_cred, "key", "rotate", NULL), 0, "%s", out);
	cr_assert(!strstr(out, "\"fenced\":[]"), "the stopped server is fenced: %s", out);
	/* Reads go to the others meanwhile. */
	{
		sluice_reader *r;

		cr_assert_eq(sluice_reader_open(alice, "data", "b", &r), 0, "%s",
			     sluice_last_error(alice));
		cr_assert_eq(read_all(r, 2), 0, "%s", sluice_last_error(alice));
		sluice_reader_close(r);
	}
	cr_assert_eq(kill(cl.data_pid[0], SIGCONT), 0);
	/* Caught up, it is handed out again: a key rotation finds nobody behind. */
	{
		int fenced = 1;

		for (int i = 0; i < 50 && fenced; i++) {
			usleep(200 * 1000);
			cr_assert_eq(cli(cl.admin_cred, "key", "rotate", NULL), 0, "%s", out);
			fenced = !strstr(out, "\"fenced\":[]");
		}
		cr_assert(!fenced, "the server caught up: %s", out);
	}
	cr_assert_eq(sluice_stat(alice, "data", "b", &o), 0, "%s", sluice_last_error(alice));
	sluice_object_free(o);
}

Test(revoke, a_tag_raise_cuts_off_a_streaming_reader_at_once)
{
	struct sluice_tag confidential = { "classification", "confidential" };
	sluice_reader *r;

	put_pattern("c", 3, "internal");
	cr_assert_eq(sluice_reader_open(alice, "data", "c", &r), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(read_all(r, 3), 0, "%s", sluice_last_error(alice));
	/* Above alice's clearance: the capability she holds dies with the change. */
	cr_assert_eq(sluice_set_tags(alice, "data", "c", &confidential, 1, NULL, 0), 0, "%s",
		     sluice_last_error(alice));
	cr_assert_eq(read_all(r, 3), -EACCES, "the reader is refused: %s",
		     sluice_last_error(alice));
	cr_assert(await_audited(alice, "data.refuse", "revoked (object tags changed)", 5000),
		  "the data servers' refusals are in acme's audit log");
	sluice_reader_close(r);
}

Test(revoke, a_policy_change_cuts_off_a_streaming_reader_at_once)
{
	char path[512];
	sluice_reader *r;
	FILE *f;

	put_pattern("d", 4, "internal");
	cr_assert_eq(sluice_reader_open(alice, "data", "d", &r), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(read_all(r, 4), 0, "%s", sluice_last_error(alice));
	snprintf(path, sizeof(path), "%s/stop.policy", cl.dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("policy stop deny to role:* actions read purposes inference\n", f);
	fclose(f);
	cr_assert_eq(cli(alice_cred, "policy", "set", "stop", path, NULL), 0, "%s", out);
	cr_assert_eq(read_all(r, 4), -EACCES, "the reader is refused: %s",
		     sluice_last_error(alice));
	cr_assert(await_audited(alice, "data.refuse", "revoked (policy changed)", 5000),
		  "the data servers' refusals are in acme's audit log");
	sluice_reader_close(r);
	/* Taking the deny away lets a new grant through. */
	cr_assert_eq(cli(alice_cred, "policy", "rm", "stop", NULL), 0, "%s", out);
	cr_assert_eq(sluice_reader_open(alice, "data", "d", &r), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(read_all(r, 4), 0, "%s", sluice_last_error(alice));
	sluice_reader_close(r);
}
