/*
 * Unit tests of rendezvous placement (server/meta/placement.h): the choice
 * is deterministic and independent of the order servers are listed in, it
 * names min(r, n) distinct servers best first, it spreads primaries evenly,
 * and losing a server moves only the shards that had it in their set.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "placement.h"

#define TEST_SHARDS 30000u

/* A fixed-seed xorshift64: reproducible shuffles without a global state. */
static uint64_t test_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_shuffle(uint32_t *ids, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = test_rand(seed) % i;
		uint32_t t = ids[i - 1];

		ids[i - 1] = ids[j];
		ids[j] = t;
	}
}

static void test_ids(uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = (uint32_t)(100 + i * 3);
}

static int test_contains(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static void test_expect_distinct_members(const uint32_t *out, size_t k, const uint32_t *ids,
					 size_t n)
{
	for (size_t i = 0; i < k; i++) {
		cr_expect(test_contains(ids, n, out[i]), "picked %u, not a server", out[i]);
		for (size_t j = 0; j < i; j++)
			cr_expect_neq(out[i], out[j], "server %u picked twice", out[i]);
	}
}

Test(placement, deterministic)
{
	uint32_t ids[10], a[3], b[3];

	test_ids(ids, 10);
	for (uint32_t shard = 0; shard < 1000; shard++) {
		cr_assert_eq(sl_place(ids, 10, 0xabcdef, shard, 3, a), 3);
		cr_assert_eq(sl_place(ids, 10, 0xabcdef, shard, 3, b), 3);
		cr_assert_arr_eq(a, b, sizeof(a), "shard %u", shard);
	}
}

Test(placement, independent_of_id_order)
{
	uint32_t ids[12], shuffled[12], a[4], b[4];
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	test_ids(ids, 12);
	for (uint32_t shard = 0; shard < 1000; shard++) {
		memcpy(shuffled, ids, sizeof(ids));
		test_shuffle(shuffled, 12, &seed);
		cr_assert_eq(sl_place(ids, 12, shard * 7919u, shard, 4, a), 4);
		cr_assert_eq(sl_place(shuffled, 12, shard * 7919u, shard, 4, b), 4);
		cr_assert_arr_eq(a, b, sizeof(a), "shard %u", shard);
	}
}

Test(placement, picks_min_r_n_distinct_servers)
{
	static const struct {
		size_t n;
		uint32_t r;
	} cases[] = { { 10, 3 }, { 3, 3 }, { 2, 3 }, { 1, 3 }, { 0, 3 }, { 5, 0 },
		      { 16, 16 }, { 20, 16 }, { 8, 16 }, { 5, 1 } };
	uint32_t ids[32];

	test_ids(ids, 32);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = cases[c].n, want = cases[c].r < n ? cases[c].r : n;

		for (uint32_t shard = 0; shard < 50; shard++) {
			uint32_t out[32];
			size_t k = sl_place(ids, n, 42, shard, cases[c].r, out);

			cr_assert_eq(k, want, "n %zu r %u: picked %zu", n, cases[c].r, k);
			test_expect_distinct_members(out, k, ids, n);
		}
	}
}

/* More replicas than SL_PLACE_MAX are capped there, as placement.h says;
 * sluice-meta refuses such configurations before they reach placement. */
Test(placement, replicas_are_capped_at_the_documented_maximum)
{
	uint32_t ids[24], out[24];

	test_ids(ids, 24);
	cr_assert_eq(sl_place(ids, 24, 42, 0, 20, out), SL_PLACE_MAX);
	test_expect_distinct_members(out, SL_PLACE_MAX, ids, 24);
}

/* Best first: the first pick for r = 1 leads the list for every larger r. */
Test(placement, best_first_prefix)
{
	uint32_t ids[10], small[3], big[6];

	test_ids(ids, 10);
	for (uint32_t shard = 0; shard < 1000; shard++) {
		cr_assert_eq(sl_place(ids, 10, 77, shard, 3, small), 3);
		cr_assert_eq(sl_place(ids, 10, 77, shard, 6, big), 6);
		cr_assert_arr_eq(small, big, sizeof(small), "shard %u", shard);
	}
}

Test(placement, primaries_are_balanced)
{
	uint32_t ids[10], out[3];
	size_t primary[10] = { 0 }, member[10] = { 0 };
	const double mean_primary = TEST_SHARDS / 10.0, mean_member = TEST_SHARDS * 3 / 10.0;

	test_ids(ids, 10);
	for (uint32_t shard = 0; shard < TEST_SHARDS; shard++) {
		/* Several objects, as in a real cluster, and many shards each. */
		cr_assert_eq(sl_place(ids, 10, 1000 + shard / 1000, shard % 1000, 3, out), 3);
		for (size_t i = 0; i < 10; i++) {
			if (out[0] == ids[i])
				primary[i]++;
			if (test_contains(out, 3, ids[i]))
				member[i]++;
		}
	}
	for (size_t i = 0; i < 10; i++) {
		cr_expect(primary[i] >= 0.85 * mean_primary && primary[i] <= 1.15 * mean_primary,
			  "server %u is primary for %zu shards (mean %.0f)", ids[i], primary[i],
			  mean_primary);
		cr_expect(member[i] >= 0.85 * mean_member && member[i] <= 1.15 * mean_member,
			  "server %u holds %zu replicas (mean %.0f)", ids[i], member[i],
			  mean_member);
	}
}

/*
 * Removing a server: a shard that did not have it keeps exactly the same
 * servers in the same order; a shard that had it keeps its other servers and
 * gains one new server.
 */
Test(placement, losing_a_server_moves_only_its_shards)
{
	uint32_t ids[10], fewer[9], before[3], after[3];
	const uint32_t lost = 112; /* ids[4] */
	size_t moved = 0;

	test_ids(ids, 10);
	for (size_t i = 0, j = 0; i < 10; i++)
		if (ids[i] != lost)
			fewer[j++] = ids[i];
	for (uint32_t shard = 0; shard < TEST_SHARDS; shard++) {
		cr_assert_eq(sl_place(ids, 10, 5, shard, 3, before), 3);
		cr_assert_eq(sl_place(fewer, 9, 5, shard, 3, after), 3);
		if (!test_contains(before, 3, lost)) {
			cr_assert_arr_eq(before, after, sizeof(before), "shard %u moved", shard);
			continue;
		}
		moved++;
		cr_assert(!test_contains(after, 3, lost));
		for (size_t i = 0; i < 3; i++)
			if (before[i] != lost)
				cr_assert(test_contains(after, 3, before[i]),
					  "shard %u lost surviving server %u", shard, before[i]);
	}
	/* The lost server held about 3/10 of the shards. */
	cr_expect(moved > TEST_SHARDS / 5 && moved < TEST_SHARDS * 2 / 5, "%zu shards moved",
		  moved);
}

/* Adding a server: only shards whose set it enters change, by exactly one server. */
Test(placement, adding_a_server_moves_only_shards_it_enters)
{
	uint32_t ids[11], before[3], after[3];
	size_t moved = 0, kept;

	test_ids(ids, 11);
	for (uint32_t shard = 0; shard < TEST_SHARDS; shard++) {
		cr_assert_eq(sl_place(ids, 10, 9, shard, 3, before), 3);
		cr_assert_eq(sl_place(ids, 11, 9, shard, 3, after), 3);
		if (!test_contains(after, 3, ids[10])) {
			cr_assert_arr_eq(before, after, sizeof(before), "shard %u moved", shard);
			continue;
		}
		moved++;
		kept = 0;
		for (size_t i = 0; i < 3; i++)
			kept += (size_t)test_contains(before, 3, after[i]);
		cr_assert_eq(kept, 2, "shard %u changed more than one server", shard);
	}
	cr_expect(moved > 0);
}
