/*
 * Deleting objects, end to end: DELETE takes an object out of stat, list and
 * reads at once, writes an object.delete audit record and queues its shard
 * replicas, which the data servers delete within a bounded wait; the name can
 * be put again. A principal without the writer role is refused (-EPERM) and
 * the object stays; another tenant's object and a pending ingest answer
 * exactly like a missing name. `sluice rm` reports each failure on its own
 * line and exits 1 when any failed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "rpc.h"

/* Every shard file of a deleted object is gone within this (heartbeats are 200 ms). */
#define TEST_DROP_WAIT_MS 15000
#define TEST_SHARD 65536

static struct tcluster cl;
static sluice_session *alice;
static char alice_cred[400], out[16384];

static void setup(void)
{
	tc_start(&cl, 3);
	alice = tc_principal(&cl, "acme", "alice", "confidential", alice_cred, sizeof(alice_cred));
	tc_ns(alice, "data", TEST_SHARD);
}

static void teardown(void)
{
	sluice_close(alice);
	alice = NULL;
	tc_stop(&cl);
}

TestSuite(delete, .init = setup, .fini = teardown, .timeout = 180);

/* Puts size bytes of pattern seed as data/name; returns its object id. */
static uint64_t put_pattern(const char *name, size_t size, unsigned seed)
{
	struct sluice_object *o;
	uint8_t *buf = malloc(size + 1);
	uint64_t id;

	cr_assert(buf);
	tc_fill(buf, size, seed);
	cr_assert_eq(sluice_put(alice, "data", name, buf, size, NULL, 0), 0, "put %s: %s", name,
		     sluice_last_error(alice));
	free(buf);
	cr_assert_eq(sluice_stat(alice, "data", name, &o), 0, "%s", sluice_last_error(alice));
	id = o->id;
	sluice_object_free(o);
	return id;
}

/* Reads data/name whole and checks it is size bytes of pattern seed. */
static void expect_pattern(const char *name, size_t size, unsigned seed)
{
	uint8_t *want = malloc(size + 1), *got = malloc(size + 1);
	size_t n = 0;

	cr_assert(want && got);
	tc_fill(want, size, seed);
	cr_assert_eq(sluice_read(alice, "data", name, 0, got, size + 1, &n), 0, "read %s: %s",
		     name, sluice_last_error(alice));
	cr_assert_eq(n, size, "read %s: %zu bytes, want %zu", name, n, size);
	cr_assert(memcmp(got, want, size) == 0, "read %s: wrong content", name);
	free(want);
	free(got);
}

/* How many records of acme's audit log match event, object and decision. */
static int audited(const char *event, const char *object, const char *decision, uint64_t id)
{
	struct sluice_audit_record *rec;
	size_t n;
	int chain_ok, hits = 0;

	cr_assert_eq(sluice_audit_list(alice, 0, 1000, &rec, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(alice));
	cr_expect(chain_ok, "acme's audit chain is broken");
	for (size_t i = 0; i < n; i++)
		hits += strcmp(rec[i].event, event) == 0 && strcmp(rec[i].object, object) == 0 &&
			strcmp(rec[i].decision, decision) == 0 && (!id || rec[i].object_id == id);
	sluice_audit_free(rec, n);
	return hits;
}

/* A session of a new acme principal with only the given role, made by alice (an admin). */
static sluice_session *acme_with_role(const char *name, const char *role)
{
	static const char *const purposes[] = { "inference" };
	const char *roles[] = { role };
	struct sluice_principal_spec spec = { NULL, name, roles, 1, purposes, 1, "confidential", NULL, 0 };
	struct sluice_opts o = { 0 };
	sluice_session *s = NULL;
	char key_id[24], secret[65];

	cr_assert_eq(sluice_principal_create(alice, &spec, key_id, secret), 0, "%s",
		     sluice_last_error(alice));
	o.meta = cl.meta_addr;
	o.key_id = key_id;
	o.secret = secret;
	o.purpose = "inference";
	o.ca_file = cl.ca_file;
	cr_assert_eq(sluice_open(&o, &s), 0);
	return s;
}

/* Leaves data/name pending: PUT_BEGIN, as a client that dies before it commits. */
static void begin_only(const char *name)
{
	Sluice__PutBeginReq req = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__ObjectPlan *plan = NULL;
	struct sl_rpc_client rpc;
	char key_id[64];
	uint8_t secret[32];

	tc_cred_key(alice_cred, key_id, secret);
	sl_rpc_client_init(&rpc, cl.meta_addr, key_id, secret, 5000);
	tc_rpc_ca(&cl, &rpc);
	req.ns = (char *)"data";
	req.name = (char *)name;
	req.size = 1000;
	req.fabric_addr = (ProtobufCBinaryData){ 4, (uint8_t *)"addr" };
	cr_assert_eq(sl_rpc_call(&rpc, SL_RPC_PUT_BEGIN, &req.base, &sluice__object_plan__descriptor,
				 (ProtobufCMessage **)&plan), 0, "%s", rpc.error);
	sluice__object_plan__free_unpacked(plan, NULL);
	sl_rpc_client_close(&rpc);
}

/* Runs the CLI as alice with the given arguments (NULL-terminated). */
static int sluice(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(alice_cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

Test(delete, object_records_and_shard_files_go)
{
	struct sluice_object *o = NULL, **list;
	size_t n, size = 4 * TEST_SHARD - 1000, got;
	uint64_t id, id2;
	int truncated, files;
	char buf[16];

	put_pattern("kept.txt", 100, 1);
	id = put_pattern("doomed.bin", size, 2);
	/* kept: 1 shard, doomed: 4, 3 replicas each. */
	cr_assert_eq(tc_shard_files(&cl), 3 * (1 + 4));

	cr_assert_eq(sluice_delete(alice, "data", "doomed.bin"), 0, "%s", sluice_last_error(alice));
	cr_expect_eq(sluice_stat(alice, "data", "doomed.bin", &o), -ENOENT);
	cr_expect_str_eq(sluice_last_error(alice), "no such object: data/doomed.bin");
	cr_expect_eq(sluice_read(alice, "data", "doomed.bin", 0, buf, sizeof(buf), &got), -ENOENT);
	cr_assert_eq(sluice_list(alice, "data", "", NULL, 0, &list, &n, &truncated), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(list[0]->name, "kept.txt");
	sluice_list_free(list, n);
	/* Deleted once: a second delete finds nothing. */
	cr_expect_eq(sluice_delete(alice, "data", "doomed.bin"), -ENOENT);
	cr_expect_str_eq(sluice_last_error(alice), "no such object: data/doomed.bin");

	cr_expect_eq(audited("object.delete", "data/doomed.bin", "done", id), 1);

	files = tc_wait_shard_files(&cl, 3, TEST_DROP_WAIT_MS);
	cr_assert_eq(files, 3, "%d shard files left after %d ms; kept.txt has 3", files,
		     TEST_DROP_WAIT_MS);
	expect_pattern("kept.txt", 100, 1);

	/* The name is free again: a new object, new content. */
	id2 = put_pattern("doomed.bin", 1000, 3);
	cr_expect_neq(id2, id);
	expect_pattern("doomed.bin", 1000, 3);
	cr_expect_eq(tc_shard_files(&cl), 3 + 3);

	/* An empty object has no shards to drop. */
	put_pattern("empty", 0, 4);
	cr_assert_eq(sluice_delete(alice, "data", "empty"), 0, "%s", sluice_last_error(alice));
	cr_expect_eq(sluice_stat(alice, "data", "empty", &o), -ENOENT);
}

Test(delete, needs_the_writer_role)
{
	sluice_session *reader = acme_with_role("rita", "reader");
	uint64_t id = put_pattern("keep.bin", 3000, 5);

	cr_expect_eq(sluice_delete(reader, "data", "keep.bin"), -EPERM);
	cr_expect_str_eq(sluice_last_error(reader), "deleting needs the writer role");
	/* The same answer whether or not the object exists. */
	cr_expect_eq(sluice_delete(reader, "data", "no-such"), -EPERM);
	cr_expect_str_eq(sluice_last_error(reader), "deleting needs the writer role");
	sluice_close(reader);

	expect_pattern("keep.bin", 3000, 5);
	cr_expect_eq(audited("object.delete", "data/keep.bin", "done", id), 0);
	cr_expect_eq(tc_shard_files(&cl), 3);

	/* A writer without admin may delete. */
	reader = acme_with_role("walt", "writer");
	cr_expect_eq(sluice_delete(reader, "data", "keep.bin"), 0, "%s",
		     sluice_last_error(reader));
	sluice_close(reader);
	cr_expect_eq(audited("object.delete", "data/keep.bin", "done", id), 1);
}

Test(delete, other_tenants_and_pending_ingests_are_not_found)
{
	sluice_session *bob = tc_principal(&cl, "globex", "bob", "restricted", NULL, 0);
	struct sluice_object *o;
	char missing[256];
	uint64_t id = put_pattern("secret.bin", 5000, 6);

	/* globex has a namespace of the same name: only the object is missing there. */
	tc_ns(bob, "data", TEST_SHARD);
	cr_expect_eq(sluice_delete(bob, "data", "never-was.bin"), -ENOENT);
	snprintf(missing, sizeof(missing), "%s", sluice_last_error(bob));
	cr_expect_str_eq(missing, "no such object: data/never-was.bin");
	cr_expect_eq(sluice_delete(bob, "data", "secret.bin"), -ENOENT);
	cr_expect_str_eq(sluice_last_error(bob), "no such object: data/secret.bin");
	/* Nor does a namespace globex lacks tell anything more. */
	cr_expect_eq(sluice_delete(bob, "other", "secret.bin"), -ENOENT);
	cr_expect_str_eq(sluice_last_error(bob), "no such object: other/secret.bin");
	sluice_close(bob);
	expect_pattern("secret.bin", 5000, 6);
	cr_expect_eq(audited("object.delete", "data/secret.bin", "done", id), 0);

	/* A put that has begun but not committed is not there to delete. */
	begin_only("half.bin");
	cr_expect_eq(sluice_delete(alice, "data", "half.bin"), -ENOENT);
	cr_expect_str_eq(sluice_last_error(alice), "no such object: data/half.bin");
	cr_expect_eq(sluice_stat(alice, "data", "half.bin", &o), -ENOENT);
	cr_expect_eq(audited("object.delete", "data/half.bin", "done", 0), 0);
}

Test(delete, cli_rm)
{
	struct sluice_object *o;
	int files;

	cr_assert_eq(sluice("rm", "--help", NULL), 0);
	cr_expect(strstr(out, "usage: sluice rm NS/NAME..."), "%s", out);
	cr_assert_eq(sluice("--help", NULL), 0);
	cr_expect(strstr(out, "  rm NS/NAME"), "global help lacks rm: %s", out);
	cr_expect_eq(sluice("rm", NULL), 2);

	put_pattern("a.txt", 10, 7);
	put_pattern("b.txt", 10, 8);
	put_pattern("c.txt", 10, 9);
	cr_expect_eq(sluice("rm", "data/a.txt", "data/missing.txt", "data/b.txt", NULL), 1);
	cr_expect(strstr(out, "deleted data/a.txt\n"), "%s", out);
	cr_expect(strstr(out, "sluice: rm data/missing.txt: no such object: data/missing.txt\n"),
		  "%s", out);
	cr_expect(strstr(out, "deleted data/b.txt\n"), "%s", out);
	cr_expect_eq(sluice_stat(alice, "data", "a.txt", &o), -ENOENT);
	cr_expect_eq(sluice_stat(alice, "data", "b.txt", &o), -ENOENT);

	/* A malformed argument stops the command before anything is deleted. */
	cr_expect_eq(sluice("rm", "data/c.txt", "nonamespace", NULL), 1);
	cr_expect(strstr(out, "bad object 'nonamespace': use NAMESPACE/NAME"), "%s", out);
	expect_pattern("c.txt", 10, 9);

	cr_expect_eq(sluice("rm", "data/c.txt", "data/gone.txt", "--json", NULL), 1);
	cr_expect(strstr(out, "[{\"namespace\":\"data\",\"name\":\"c.txt\",\"ok\":true},"
			      "{\"namespace\":\"data\",\"name\":\"gone.txt\",\"ok\":false,"
			      "\"error\":\"no such object: data/gone.txt\"}]\n"),
		  "%s", out);
	cr_expect_eq(sluice_stat(alice, "data", "c.txt", &o), -ENOENT);

	files = tc_wait_shard_files(&cl, 0, TEST_DROP_WAIT_MS);
	cr_expect_eq(files, 0, "%d shard files left after rm", files);
	cr_expect_eq(sluice("rm", "data/a.txt", NULL), 1);
	cr_expect_str_eq(out, "sluice: rm data/a.txt: no such object: data/a.txt\n");
}
