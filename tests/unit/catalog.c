/*
 * Unit tests of the RocksDB catalog (server/meta/catalog.h), each on a fresh
 * database in its own temporary folder: values and records round-trip,
 * absent keys are -ENOENT, a batch spanning column families becomes visible
 * all at once on commit (and not at all without it), prefix scans are
 * ordered, bounded and resumable, and ids and data survive a reopen.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "sluice.pb-c.h"

/* Criterion fixtures take no arguments: the open catalog lives here. */
static struct {
	char dir[256];
	struct sl_catalog *cat;
} test_fx;

static int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void test_open(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(test_fx.dir, sizeof(test_fx.dir), "%s/sluice-unit-catalog-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_fx.dir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(sl_catalog_open(test_fx.dir, &test_fx.cat), 0);
}

static void test_close(void)
{
	sl_catalog_close(test_fx.cat);
	test_fx.cat = NULL;
	if (test_fx.dir[0])
		nftw(test_fx.dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_reopen(void)
{
	sl_catalog_close(test_fx.cat);
	test_fx.cat = NULL;
	cr_assert_eq(sl_catalog_open(test_fx.dir, &test_fx.cat), 0);
}

TestSuite(catalog, .init = test_open, .fini = test_close);
TestSuite(finding_07, .init = test_open, .fini = test_close);

static void test_put(enum sl_cf cf, const char *key, const char *val)
{
	struct sl_batch *b = sl_batch_new();

	cr_assert_not_null(b);
	sl_batch_put(b, test_fx.cat, cf, key, strlen(key), val, strlen(val));
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
}

static void test_expect_value(enum sl_cf cf, const char *key, const char *want)
{
	uint8_t *val = NULL;
	size_t vlen = 0;
	int rc = sl_catalog_get_raw(test_fx.cat, cf, key, strlen(key), &val, &vlen);

	if (!want) {
		cr_expect_eq(rc, -ENOENT, "key \"%s\" in cf %d: rc %d", key, cf, rc);
		return;
	}
	cr_expect_eq(rc, 0, "key \"%s\" in cf %d: rc %d", key, cf, rc);
	if (rc == 0) {
		cr_expect_eq(vlen, strlen(want), "key \"%s\"", key);
		if (vlen == strlen(want))
			cr_expect_arr_eq(val, want, vlen, "key \"%s\"", key);
	}
	free(val);
}

Test(catalog, put_get_round_trip)
{
	const uint8_t binary[] = { 0, 1, 0xff, 0, 0x80 };
	uint8_t *val = NULL;
	size_t vlen = 0;
	struct sl_batch *b;

	test_put(SL_CF_TENANTS, "k1", "value one");
	test_expect_value(SL_CF_TENANTS, "k1", "value one");

	/* Binary keys and values, and an empty value. */
	b = sl_batch_new();
	sl_batch_put(b, test_fx.cat, SL_CF_SHARDS, binary, sizeof(binary), binary, sizeof(binary));
	sl_batch_put(b, test_fx.cat, SL_CF_SHARDS, "empty", 5, "", 0);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
	cr_assert_eq(
		sl_catalog_get_raw(test_fx.cat, SL_CF_SHARDS, binary, sizeof(binary), &val, &vlen),
		0);
	cr_expect_eq(vlen, sizeof(binary));
	cr_expect_arr_eq(val, binary, sizeof(binary));
	free(val);
	test_expect_value(SL_CF_SHARDS, "empty", "");

	/* Overwrite. */
	test_put(SL_CF_TENANTS, "k1", "v2");
	test_expect_value(SL_CF_TENANTS, "k1", "v2");
}

Test(catalog, missing_key_is_enoent)
{
	uint8_t *val = (uint8_t *)"sentinel";
	size_t vlen = 0;
	ProtobufCMessage *msg = (ProtobufCMessage *)1;

	cr_expect_eq(sl_catalog_get_raw(test_fx.cat, SL_CF_OBJECTS, "nope", 4, &val, &vlen),
		     -ENOENT);
	cr_expect_null(val);
	cr_expect_eq(sl_catalog_get(test_fx.cat, SL_CF_OBJECTS, "nope", 4,
				    &sluice__object__descriptor, &msg),
		     -ENOENT);
	cr_expect_null(msg);
}

/* Column families are separate key spaces. */
Test(catalog, column_families_are_separate)
{
	test_put(SL_CF_PRINCIPALS, "same", "principal");
	test_put(SL_CF_NAMESPACES, "same", "namespace");
	test_expect_value(SL_CF_PRINCIPALS, "same", "principal");
	test_expect_value(SL_CF_NAMESPACES, "same", "namespace");
	test_expect_value(SL_CF_OBJECTS, "same", NULL);
	test_expect_value(SL_CF_DEFAULT, "same", NULL);
}

Test(catalog, message_round_trip)
{
	Sluice__Tenant t = SLUICE__TENANT__INIT;
	Sluice__Tenant *got = NULL;
	struct sl_batch *b = sl_batch_new();

	t.id = 42;
	t.name = (char *)"acme";
	t.created_ms = 1750000000000ull;
	cr_assert_eq(sl_batch_put_msg(b, test_fx.cat, SL_CF_TENANTS, "i42", 3, &t.base), 0);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);

	cr_assert_eq(sl_catalog_get(test_fx.cat, SL_CF_TENANTS, "i42", 3,
				    &sluice__tenant__descriptor, (ProtobufCMessage **)&got),
		     0);
	cr_expect_eq(got->id, 42);
	cr_expect_str_eq(got->name, "acme");
	cr_expect_eq(got->created_ms, 1750000000000ull);
	sluice__tenant__free_unpacked(got, NULL);
}

/* Finding 7: a shard record keeps the root that range reads verify against. */
Test(finding_07, shard_root_survives_the_catalog)
{
	Sluice__Shard sh = SLUICE__SHARD__INIT;
	Sluice__Shard *got = NULL;
	struct sl_batch *b = sl_batch_new();
	uint8_t root[32];
	uint32_t servers[] = { 1, 2, 3 };

	for (size_t i = 0; i < sizeof(root); i++)
		root[i] = (uint8_t)(0xa0 + i);
	sh.index = 7;
	sh.length = 65536;
	sh.crc32c = 0xdeadbeef;
	sh.servers = servers;
	sh.n_servers = 3;
	sh.sha256 = (ProtobufCBinaryData){ sizeof(root), root };
	cr_assert_eq(sl_batch_put_msg(b, test_fx.cat, SL_CF_SHARDS, "s7", 2, &sh.base), 0);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
	test_reopen();

	cr_assert_eq(sl_catalog_get(test_fx.cat, SL_CF_SHARDS, "s7", 2, &sluice__shard__descriptor,
				    (ProtobufCMessage **)&got), 0);
	cr_expect_eq(got->crc32c, 0xdeadbeef);
	cr_assert_eq(got->sha256.len, sizeof(root));
	cr_expect_arr_eq(got->sha256.data, root, sizeof(root));
	sluice__shard__free_unpacked(got, NULL);
}

Test(catalog, corrupt_record_is_eio)
{
	ProtobufCMessage *msg = NULL;

	/* Field 1 as a varint that never ends. */
	test_put(SL_CF_TENANTS, "bad", "\x08\xff\xff\xff");
	cr_expect_eq(sl_catalog_get(test_fx.cat, SL_CF_TENANTS, "bad", 3,
				    &sluice__tenant__descriptor, &msg),
		     -EIO);
	cr_expect_null(msg);
}

Test(catalog, delete_removes)
{
	struct sl_batch *b;

	test_put(SL_CF_SERVERS, "s1", "x");
	b = sl_batch_new();
	sl_batch_delete(b, test_fx.cat, SL_CF_SERVERS, "s1", 2);
	sl_batch_delete(b, test_fx.cat, SL_CF_SERVERS, "never-there", 11);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
	test_expect_value(SL_CF_SERVERS, "s1", NULL);
}

Test(catalog, batch_across_families_is_all_or_nothing)
{
	struct sl_batch *b;

	test_put(SL_CF_OBJECTS, "p1", "pending");

	b = sl_batch_new();
	sl_batch_put(b, test_fx.cat, SL_CF_OBJECTS, "c1", 2, "committed", 9);
	sl_batch_delete(b, test_fx.cat, SL_CF_OBJECTS, "p1", 2);
	sl_batch_put(b, test_fx.cat, SL_CF_SHARDS, "s1", 2, "shard", 5);
	sl_batch_put(b, test_fx.cat, SL_CF_AUDIT, "a1", 2, "audit", 5);

	/* Nothing is visible before the commit. */
	test_expect_value(SL_CF_OBJECTS, "c1", NULL);
	test_expect_value(SL_CF_OBJECTS, "p1", "pending");
	test_expect_value(SL_CF_SHARDS, "s1", NULL);
	test_expect_value(SL_CF_AUDIT, "a1", NULL);

	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
	test_expect_value(SL_CF_OBJECTS, "c1", "committed");
	test_expect_value(SL_CF_OBJECTS, "p1", NULL);
	test_expect_value(SL_CF_SHARDS, "s1", "shard");
	test_expect_value(SL_CF_AUDIT, "a1", "audit");

	/* And all of it is durable. */
	test_reopen();
	test_expect_value(SL_CF_OBJECTS, "c1", "committed");
	test_expect_value(SL_CF_OBJECTS, "p1", NULL);
	test_expect_value(SL_CF_SHARDS, "s1", "shard");
	test_expect_value(SL_CF_AUDIT, "a1", "audit");
}

Test(catalog, abandoned_batch_writes_nothing)
{
	struct sl_batch *b = sl_batch_new();

	sl_batch_put(b, test_fx.cat, SL_CF_TENANTS, "t", 1, "x", 1);
	sl_batch_put(b, test_fx.cat, SL_CF_SHARDS, "s", 1, "y", 1);
	sl_batch_free(b);
	test_expect_value(SL_CF_TENANTS, "t", NULL);
	test_expect_value(SL_CF_SHARDS, "s", NULL);
	test_reopen();
	test_expect_value(SL_CF_TENANTS, "t", NULL);
	test_expect_value(SL_CF_SHARDS, "s", NULL);
}

/* What a scan saw, as "key=value" strings. */
struct test_seen {
	char items[16][32];
	size_t n;
	size_t stop_after; /* return 1 after this many; 0: never */
	int fail_with;	   /* a negative errno to return on the first call */
};

static int test_collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct test_seen *s = arg;

	if (s->fail_with)
		return s->fail_with;
	cr_assert_lt(s->n, 16);
	snprintf(s->items[s->n], sizeof(s->items[0]), "%.*s=%.*s", (int)klen, (const char *)key,
		 (int)vlen, (const char *)val);
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static void test_expect_seen(const struct test_seen *s, const char *const *want, size_t n)
{
	cr_expect_eq(s->n, n, "saw %zu entries, want %zu", s->n, n);
	for (size_t i = 0; i < n && i < s->n; i++)
		cr_expect_str_eq(s->items[i], want[i], "entry %zu", i);
}

/* Scans the keys below into a fresh *s; returns what the scan returned. */
static int test_scan(const char *prefix, const char *after, size_t stop_after, struct test_seen *s)
{
	*s = (struct test_seen){ .stop_after = stop_after };
	return sl_catalog_scan(test_fx.cat, SL_CF_NAMESPACES, prefix, strlen(prefix), after,
			       after ? strlen(after) : 0, test_collect, s);
}

/* Keys around the "b" prefix, put out of order. */
static void test_put_scan_keys(void)
{
	static const char *const keys[] = { "c", "b2", "a9", "b", "b10", "b1", "ba", "c1", "a" };
	struct sl_batch *b = sl_batch_new();

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		sl_batch_put(b, test_fx.cat, SL_CF_NAMESPACES, keys[i], strlen(keys[i]), keys[i],
			     strlen(keys[i]));
	/* Same keys in another family must not show up. */
	sl_batch_put(b, test_fx.cat, SL_CF_OBJECTS, "b3", 2, "other", 5);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
}

Test(catalog, scan_prefix_in_order_and_bounded)
{
	static const char *const want[] = { "b=b", "b1=b1", "b10=b10", "b2=b2", "ba=ba" };
	struct test_seen s;

	test_put_scan_keys();
	cr_assert_eq(test_scan("b", NULL, 0, &s), 0);
	test_expect_seen(&s, want, 5);

	cr_assert_eq(test_scan("b1", NULL, 0, &s), 0);
	test_expect_seen(&s, (const char *const[]){ "b1=b1", "b10=b10" }, 2);

	cr_assert_eq(test_scan("z", NULL, 0, &s), 0);
	cr_expect_eq(s.n, 0);
}

Test(catalog, scan_empty_prefix_sees_the_whole_family)
{
	static const char *const want[] = {
		"a=a", "a9=a9", "b=b", "b1=b1", "b10=b10", "b2=b2", "ba=ba", "c=c", "c1=c1",
	};
	struct test_seen s;

	test_put_scan_keys();
	cr_assert_eq(test_scan("", NULL, 0, &s), 0);
	test_expect_seen(&s, want, 9);
}

/* Server ids from keys "s" be32, in the order a scan sees them. */
struct test_ids {
	uint32_t v[8];
	size_t n;
};

static int test_collect_id(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
			   size_t vlen)
{
	struct test_ids *ids = arg;

	cr_assert_eq(klen, 5);
	cr_assert_lt(ids->n, 8);
	ids->v[ids->n++] =
		(uint32_t)key[1] << 24 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 8 | key[4];
	return 0;
}

/* Keys compare as unsigned bytes: big-endian ids sort numerically. */
Test(catalog, scan_orders_binary_keys_as_unsigned_bytes)
{
	static const uint32_t ids[] = { 256, 1, 0x80000000u, 255, 0, 0xffffffffu };
	static const uint32_t want[] = { 0, 1, 255, 256, 0x80000000u, 0xffffffffu };
	struct test_ids got = { { 0 }, 0 };
	struct sl_batch *b = sl_batch_new();

	for (size_t i = 0; i < 6; i++) {
		uint8_t key[5] = { 's', (uint8_t)(ids[i] >> 24), (uint8_t)(ids[i] >> 16),
				   (uint8_t)(ids[i] >> 8), (uint8_t)ids[i] };

		sl_batch_put(b, test_fx.cat, SL_CF_SERVERS, key, sizeof(key), "", 0);
	}
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);

	cr_assert_eq(
		sl_catalog_scan(test_fx.cat, SL_CF_SERVERS, "s", 1, NULL, 0, test_collect_id, &got),
		0);
	cr_assert_eq(got.n, 6);
	cr_expect_arr_eq(got.v, want, sizeof(want));
}

Test(catalog, scan_stops_when_the_callback_says_so)
{
	struct test_seen s;

	test_put_scan_keys();
	cr_assert_eq(test_scan("b", NULL, 2, &s), 0);
	test_expect_seen(&s, (const char *const[]){ "b=b", "b1=b1" }, 2);
}

Test(catalog, scan_callback_error_aborts_with_it)
{
	struct test_seen s = { .fail_with = -EINTR };

	test_put_scan_keys();
	cr_expect_eq(
		sl_catalog_scan(test_fx.cat, SL_CF_NAMESPACES, "b", 1, NULL, 0, test_collect, &s),
		-EINTR);
}

Test(catalog, scan_resumes_after_a_key)
{
	struct test_seen s;

	test_put_scan_keys();
	/* After a present key. */
	cr_assert_eq(test_scan("b", "b1", 0, &s), 0);
	test_expect_seen(&s, (const char *const[]){ "b10=b10", "b2=b2", "ba=ba" }, 3);

	/* After an absent key: from the next one up. */
	cr_assert_eq(test_scan("b", "b15", 0, &s), 0);
	test_expect_seen(&s, (const char *const[]){ "b2=b2", "ba=ba" }, 2);

	/* After the last key of the prefix: nothing, and nothing past the prefix. */
	cr_assert_eq(test_scan("b", "ba", 0, &s), 0);
	cr_expect_eq(s.n, 0);

	/* Page by page, two at a time, sees every key once. */
	{
		static const char *const keys[] = { "b", "b1", "b10", "b2", "ba" };
		const char *after = NULL;
		size_t total = 0;

		for (int page = 0; page < 10; page++) {
			cr_assert_eq(test_scan("b", after, 2, &s), 0);
			if (s.n == 0)
				break;
			for (size_t i = 0; i < s.n; i++, total++) {
				char want[32];

				cr_assert_lt(total, 5, "page %d: more keys than put", page);
				snprintf(want, sizeof(want), "%s=%s", keys[total], keys[total]);
				cr_expect_str_eq(s.items[i], want, "page %d", page);
			}
			after = keys[total - 1];
		}
		cr_expect_eq(total, 5);
	}
}

/*
 * Regression: with `after` sorting before the prefix (a LIST with prefix
 * "docs/" and start_after "a") the scan used to start at `after`, meet a key
 * without the prefix and end empty.
 */
Test(catalog, scan_after_a_key_before_the_prefix_sees_the_prefix)
{
	struct test_seen s;

	test_put_scan_keys();
	cr_assert_eq(test_scan("b", "a", 0, &s), 0);
	test_expect_seen(&s, (const char *const[]){ "b=b", "b1=b1", "b10=b10", "b2=b2", "ba=ba" },
			 5);
}

Test(catalog, last_key_of_a_family)
{
	uint8_t *key = NULL, *val = NULL;
	size_t klen = 0, vlen = 0;

	cr_expect_eq(sl_catalog_last(test_fx.cat, SL_CF_AUDIT, &key, &klen, &val, &vlen), -ENOENT);

	test_put(SL_CF_AUDIT, "\x01", "first");
	test_put(SL_CF_AUDIT, "\x03", "third");
	test_put(SL_CF_AUDIT, "\x02", "second");
	test_put(SL_CF_TENANTS, "\x7f", "elsewhere");
	cr_assert_eq(sl_catalog_last(test_fx.cat, SL_CF_AUDIT, &key, &klen, &val, &vlen), 0);
	cr_expect_eq(klen, 1);
	cr_expect_eq(key[0], 3);
	cr_expect_eq(vlen, 5);
	cr_expect_arr_eq(val, "third", 5);
	free(key);
	free(val);
}

/* Ids are opaque (finding 12), so what must hold is that none comes back. */
Test(catalog, ids_are_never_reused_across_reopen)
{
	uint64_t seen[8];
	size_t n = 0;
	struct sl_batch *b = sl_batch_new();

	for (int i = 0; i < 5; i++)
		seen[n++] = sl_batch_alloc_id(b, test_fx.cat);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);

	test_reopen();
	b = sl_batch_new();
	seen[n++] = sl_batch_alloc_id(b, test_fx.cat);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);

	/* Ids committed with their records survive together. */
	b = sl_batch_new();
	seen[n++] = sl_batch_alloc_id(b, test_fx.cat);
	sl_batch_put(b, test_fx.cat, SL_CF_TENANTS, "t", 1, &seen[n - 1], 8);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, b), 0);
	sl_batch_free(b);
	test_reopen();
	b = sl_batch_new();
	seen[n++] = sl_batch_alloc_id(b, test_fx.cat);
	sl_batch_free(b);
	for (size_t i = 0; i < n; i++) {
		cr_expect_neq(seen[i], 0);
		for (size_t j = 0; j < i; j++)
			cr_expect_neq(seen[i], seen[j], "id %llu handed out twice",
				      (unsigned long long)seen[i]);
	}
}

TestSuite(finding_12, .init = test_open, .fini = test_close);

Test(finding_12, consecutive_ids_do_not_count_what_was_made_between)
{
	struct sl_batch *b = sl_batch_new();
	uint64_t a1, a2, small = 0;

	/* A's id, 100 ids of others, A's next id: nothing shows the 100. */
	a1 = sl_batch_alloc_id(b, test_fx.cat);
	for (int i = 0; i < 100; i++)
		sl_batch_alloc_id(b, test_fx.cat);
	a2 = sl_batch_alloc_id(b, test_fx.cat);
	cr_expect_neq(a2 - a1, 101);
	for (int i = 0; i < 64; i++)
		small += sl_batch_alloc_id(b, test_fx.cat) < (1ull << 32);
	cr_expect_lt(small, 8, "ids look like a counter: %llu of 64 below 2^32",
		     (unsigned long long)small);
	sl_batch_free(b);
}

#define TEST_ALLOC_THREADS 4
#define TEST_ALLOC_EACH 5000

struct test_alloc {
	struct sl_catalog *cat;
	pthread_barrier_t *start;
	uint64_t ids[TEST_ALLOC_EACH];
};

static void *test_alloc_many(void *arg)
{
	struct test_alloc *a = arg;
	struct sl_batch *b = sl_batch_new();

	pthread_barrier_wait(a->start);
	for (size_t i = 0; i < TEST_ALLOC_EACH; i++)
		a->ids[i] = sl_batch_alloc_id(b, a->cat);
	sl_batch_free(b);
	return NULL;
}

static int test_cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

Test(catalog, concurrent_allocations_are_unique)
{
	const size_t total = TEST_ALLOC_THREADS * TEST_ALLOC_EACH;
	struct test_alloc *runs = calloc(TEST_ALLOC_THREADS, sizeof(*runs));
	uint64_t *all = calloc(total, sizeof(*all));
	pthread_t th[TEST_ALLOC_THREADS];
	pthread_barrier_t start;
	size_t dups = 0;

	cr_assert(runs && all);
	pthread_barrier_init(&start, NULL, TEST_ALLOC_THREADS);
	for (int i = 0; i < TEST_ALLOC_THREADS; i++) {
		runs[i].cat = test_fx.cat;
		runs[i].start = &start;
		cr_assert_eq(pthread_create(&th[i], NULL, test_alloc_many, &runs[i]), 0);
	}
	for (int i = 0; i < TEST_ALLOC_THREADS; i++) {
		pthread_join(th[i], NULL);
		memcpy(all + i * TEST_ALLOC_EACH, runs[i].ids, sizeof(runs[i].ids));
	}
	pthread_barrier_destroy(&start);
	qsort(all, total, sizeof(all[0]), test_cmp_u64);
	for (size_t i = 1; i < total; i++)
		dups += all[i] == all[i - 1];
	free(all);
	free(runs);
	cr_expect_eq(dups, 0, "%zu ids handed out twice", dups);
}

Test(catalog, data_survives_reopen)
{
	test_put(SL_CF_PRINCIPALS, "kAKID", "secret record");
	test_reopen();
	test_expect_value(SL_CF_PRINCIPALS, "kAKID", "secret record");
	test_put(SL_CF_PRINCIPALS, "kAKID2", "second");
	test_reopen();
	test_expect_value(SL_CF_PRINCIPALS, "kAKID", "secret record");
	test_expect_value(SL_CF_PRINCIPALS, "kAKID2", "second");
}

TestSuite(finding_15, .init = test_open, .fini = test_close);

/* sl_batch_append joins RocksDB's batch representation by hand: check it. */
Test(finding_15, appended_batches_commit_as_one)
{
	struct sl_batch *a = sl_batch_new(), *b = sl_batch_new(), *empty = sl_batch_new();

	sl_batch_put(a, test_fx.cat, SL_CF_TENANTS, "ta", 2, "one", 3);
	sl_batch_put(b, test_fx.cat, SL_CF_AUDIT, "ab", 2, "two", 3);
	sl_batch_put(b, test_fx.cat, SL_CF_PRINCIPALS, "pb", 2, "three", 5);
	sl_batch_delete(b, test_fx.cat, SL_CF_TENANTS, "gone", 4);
	cr_assert_eq(sl_batch_append(a, b), 0);
	cr_assert_eq(sl_batch_append(a, empty), 0);
	cr_assert_eq(sl_catalog_commit(test_fx.cat, a), 0);
	test_expect_value(SL_CF_TENANTS, "ta", "one");
	test_expect_value(SL_CF_AUDIT, "ab", "two");
	test_expect_value(SL_CF_PRINCIPALS, "pb", "three");
	sl_batch_free(a);
	sl_batch_free(b);
	sl_batch_free(empty);
}
