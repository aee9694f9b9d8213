/*
 * Fuzz target for capabilities (proto/capability.h), the check every data
 * server runs on bytes a client hands it. Each input is used twice:
 *
 * - as a token: sl_cap_verify must not crash, must answer 0 or -EACCES, and
 *   may accept only a token that sl_cap_mint, given the fields it decoded and
 *   the test cluster secret, produces byte for byte (nothing else verifies);
 * - as field values: a capability minted from them verifies exactly when its
 *   time window (plus the skew) covers now, gives back the same fields, stops
 *   verifying when any one byte changes, and sl_cap_allows agrees with a
 *   straightforward reading of the rule for an arbitrary request.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "capability.h"

#define TEST_NOW_MS 1750000000000ull
#define TEST_GEN 7u


static void test_ring(struct sl_keyring *kr, uint32_t gen)
{
	uint8_t secret[SL_KEY_LEN];

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(0xa0 ^ i);
	if (sl_keyring_init(kr, secret, gen)) {
		fprintf(stderr, "fuzz-capability: keyring derivation failed\n");
		abort();
	}
}

/* Reads field values from the input, zero past its end. */
struct test_cursor {
	const uint8_t *p;
	size_t left;
};

static uint64_t test_take(struct test_cursor *c, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		v = v << 8 | (c->left ? *c->p : 0);
		if (c->left)
			c->p++, c->left--;
	}
	return v;
}

static void test_as_token(const uint8_t *data, size_t size, const struct sl_keyring *kr)
{
	struct sl_keyring signer;
	struct sl_cap c;
	uint8_t again[SL_CAP_LEN];
	const char *reason = NULL;
	int rc = sl_cap_verify(data, size, kr, TEST_NOW_MS, &c, &reason);

	test_check(rc == 0 || rc == -EACCES, "verify returned something other than 0 or -EACCES",
		   size);
	if (rc) {
		test_check(reason != NULL, "a refusal without a reason", size);
		return;
	}
	test_check(size == SL_CAP_LEN, "a token of the wrong length verified", size);
	test_check(c.key_gen == kr->cap_gen || c.key_gen + 1 == kr->cap_gen,
		   "a token of a retired generation verified", size);
	test_ring(&signer, c.key_gen);
	test_check(sl_cap_mint(&c, &signer, again) == 0, "re-minting failed", size);
	test_check(memcmp(again, data, SL_CAP_LEN) == 0,
		   "a token verified that mint with the test key does not produce", size);
}

static int test_allows_oracle(const struct sl_cap *c, unsigned op, uint64_t tenant, uint64_t object,
			      uint32_t shard)
{
	uint64_t end = (uint64_t)c->shard_first + c->shard_count;

	return c->tenant == tenant && c->object_id == object && shard >= c->shard_first &&
	       (uint64_t)shard < end && (c->ops & op) != 0;
}

static void test_as_fields(const uint8_t *data, size_t size, const struct sl_keyring *kr)
{
	struct test_cursor in = { data, size };
	struct sl_cap c = { 0 }, out;
	uint8_t tok[SL_CAP_LEN];
	uint64_t back, ttl;
	unsigned op;
	uint64_t tenant, object;
	uint32_t shard;
	size_t flip;
	int want, rc;

	c.ops = (uint8_t)test_take(&in, 1);
	c.tenant = test_take(&in, 8);
	c.principal = test_take(&in, 8);
	c.object_id = test_take(&in, 8);
	c.object_version = test_take(&in, 8);
	c.shard_first = (uint32_t)test_take(&in, 4);
	c.shard_count = (uint32_t)test_take(&in, 4);
	c.tag_epoch = test_take(&in, 8);
	c.policy_epoch = test_take(&in, 8);
	c.cap_id = test_take(&in, 8);
	c.session = test_take(&in, 8);
	for (size_t i = 0; i < SL_CAP_PURPOSE_LEN; i++)
		c.purpose[i] = (char)test_take(&in, 1);
	/* A window placed around now, within the lifetime ceiling. */
	back = test_take(&in, 4) % (2 * SL_CAP_MAX_TTL_MS);
	ttl = test_take(&in, 4) % (SL_CAP_MAX_TTL_MS + 1);
	c.issued_ms = TEST_NOW_MS - back;
	c.expiry_ms = c.issued_ms + ttl;

	test_check(sl_cap_mint(&c, kr, tok) == 0, "mint failed", size);
	want = c.expiry_ms + SL_CAP_SKEW_MS >= TEST_NOW_MS;
	rc = sl_cap_verify(tok, sizeof(tok), kr, TEST_NOW_MS, &out, NULL);
	test_check(rc == (want ? 0 : -EACCES), "verify disagrees with the time window", size);
	if (rc)
		return;
	test_check(out.ops == c.ops && out.tenant == c.tenant && out.principal == c.principal &&
			   out.object_id == c.object_id && out.object_version == c.object_version &&
			   out.shard_first == c.shard_first && out.shard_count == c.shard_count &&
			   out.tag_epoch == c.tag_epoch && out.policy_epoch == c.policy_epoch &&
			   out.issued_ms == c.issued_ms && out.expiry_ms == c.expiry_ms &&
			   out.cap_id == c.cap_id && out.session == c.session &&
			   out.key_gen == kr->cap_gen &&
			   memcmp(out.purpose, c.purpose, SL_CAP_PURPOSE_LEN) == 0,
		   "verified fields differ from the minted ones", size);

	flip = (size_t)test_take(&in, 1) % SL_CAP_LEN;
	tok[flip] ^= (uint8_t)(test_take(&in, 1) | 1);
	test_check(sl_cap_verify(tok, sizeof(tok), kr, TEST_NOW_MS, &out, NULL) == -EACCES,
		   "a token with a changed byte verified", size);

	/* An arbitrary request, often close to the capability's own scope. */
	op = (unsigned)test_take(&in, 1) % 4;
	tenant = c.tenant + test_take(&in, 1) % 2;
	object = c.object_id ^ (test_take(&in, 1) % 2);
	/* From one below the set to one past it (mod 2^32). */
	shard = c.shard_first - 1u + (uint32_t)(test_take(&in, 4) % ((uint64_t)c.shard_count + 2));
	test_check((sl_cap_allows(&c, op, tenant, object, shard, NULL) == 0) ==
			   test_allows_oracle(&c, op, tenant, object, shard),
		   "allows disagrees with the rule", size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_keyring kr;

	test_ring(&kr, TEST_GEN);
	test_as_token(data, size, &kr);
	test_as_fields(data, size, &kr);
	return 0;
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	struct sl_keyring kr;
	struct sl_cap c = {
		.ops = SL_CAP_OP_READ,
		.tenant = 3,
		.principal = 4,
		.object_id = 5,
		.object_version = 1,
		.shard_first = 0,
		.shard_count = 4,
		.issued_ms = TEST_NOW_MS - 1000,
		.expiry_ms = TEST_NOW_MS + 60000,
		.cap_id = 6,
		.session = 7,
		.purpose = "analytics",
	};

	if (cap < SL_CAP_LEN)
		return 0;
	switch (n) {
	case 0: /* a valid token of the current generation */
		test_ring(&kr, TEST_GEN);
		break;
	case 1: /* of the previous generation, still accepted */
		test_ring(&kr, TEST_GEN - 1);
		c.ops = SL_CAP_OP_READ | SL_CAP_OP_WRITE;
		c.shard_first = UINT32_MAX - 3;
		break;
	case 2: /* expired */
		test_ring(&kr, TEST_GEN);
		c.issued_ms = TEST_NOW_MS - 200000;
		c.expiry_ms = TEST_NOW_MS - 100000;
		break;
	case 3: /* a retired generation */
		test_ring(&kr, TEST_GEN - 2);
		break;
	default:
		return 0;
	}
	if (sl_cap_mint(&c, &kr, buf))
		return 0;
	return SL_CAP_LEN;
}
