/*
 * Unit tests of the audit log's group commit (server/meta/audit.c) on a real
 * catalog in a temporary folder: records written by many threads at once
 * share synced writes, and every tenant's chain still numbers its records
 * 1, 2, 3... with each linking to the one before and the signed head naming
 * the last.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "meta.h"

#define TEST_THREADS 8
#define TEST_EACH 40

static struct {
	char dir[256];
	struct sl_meta m;
} test_fx;

static int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void test_open(void)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t secret[SL_KEY_LEN] = { 7 };

	snprintf(test_fx.dir, sizeof(test_fx.dir), "%s/sluice-unit-audit-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_fx.dir));
	pthread_mutex_init(&test_fx.m.audit_lock, NULL);
	pthread_cond_init(&test_fx.m.audit_cond, NULL);
	cr_assert_eq(sl_keyring_init(&test_fx.m.keys, secret, 1), 0);
	cr_assert_eq(sl_catalog_open(test_fx.dir, &test_fx.m.cat), 0);
	cr_assert_eq(sl_audit_open(&test_fx.m), 0);
}

static void test_close(void)
{
	sl_audit_close(&test_fx.m);
	sl_catalog_close(test_fx.m.cat);
	nftw(test_fx.dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(finding_15, .init = test_open, .fini = test_close, .timeout = 120);

static void *test_writer(void *arg)
{
	uint64_t tenant = (uintptr_t)arg;

	for (int i = 0; i < TEST_EACH; i++) {
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;

		a.event = (char *)"read.grant";
		a.decision = (char *)"allow";
		a.tenant_id = tenant;
		cr_assert_eq(sl_audit_commit(&test_fx.m, &a, NULL), 0);
	}
	return NULL;
}

struct test_chain {
	uint64_t next_seq;
	uint8_t prev[32];
	int ok;
};

static int test_check(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct test_chain *c = arg;
	Sluice__AuditRecord *rec = sluice__audit_record__unpack(NULL, vlen, val);
	unsigned int n = 32;

	cr_assert(rec);
	if (rec->seq != c->next_seq || rec->prev_hash.len != 32 ||
	    memcmp(rec->prev_hash.data, c->prev, 32) != 0)
		c->ok = 0;
	c->next_seq = rec->seq + 1;
	EVP_Digest(val, vlen, c->prev, &n, EVP_sha256(), NULL);
	sluice__audit_record__free_unpacked(rec, NULL);
	return 0;
}

static void test_expect_chain(uint64_t tenant, uint64_t records)
{
	struct test_chain c = { .next_seq = 1, .ok = 1 };
	Sluice__AuditHead *head = NULL;
	struct sl_key k;

	sl_key_u64(sl_key_reset(&k), tenant);
	cr_assert_eq(sl_catalog_scan(test_fx.m.cat, SL_CF_AUDIT, k.b, k.len, NULL, 0, test_check,
				     &c), 0);
	cr_expect(c.ok, "tenant %llu's chain is broken", (unsigned long long)tenant);
	cr_expect_eq(c.next_seq, records + 1);
	sl_key_u64(sl_key_str(sl_key_reset(&k), "audit_head"), tenant);
	cr_assert_eq(sl_catalog_get(test_fx.m.cat, SL_CF_DEFAULT, k.b, k.len,
				    &sluice__audit_head__descriptor, (ProtobufCMessage **)&head), 0);
	cr_expect_eq(head->seq, records, "the head names %llu",
		     (unsigned long long)head->seq);
	cr_expect_arr_eq(head->hash.data, c.prev, 32, "the head names another last record");
	sluice__audit_head__free_unpacked(head, NULL);
}

Test(finding_15, concurrent_records_share_syncs_and_keep_every_chain)
{
	pthread_t th[TEST_THREADS];

	for (int i = 0; i < TEST_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, test_writer,
					    (void *)(uintptr_t)(100 + i % 2)), 0);
	for (int i = 0; i < TEST_THREADS; i++)
		pthread_join(th[i], NULL);
	test_expect_chain(100, TEST_THREADS / 2 * TEST_EACH);
	test_expect_chain(101, TEST_THREADS / 2 * TEST_EACH);
	cr_expect_lt(test_fx.m.audit_groups, (uint64_t)TEST_THREADS * TEST_EACH,
		     "every record had a synced write of its own (%llu groups)",
		     (unsigned long long)test_fx.m.audit_groups);
}

Test(finding_15, chains_continue_after_a_restart)
{
	test_writer((void *)(uintptr_t)100);
	sl_audit_close(&test_fx.m);
	cr_assert_eq(sl_audit_open(&test_fx.m), 0);
	test_writer((void *)(uintptr_t)100);
	test_expect_chain(100, 2 * TEST_EACH);
}
