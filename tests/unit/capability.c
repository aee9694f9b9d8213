/*
 * Unit tests of capabilities (proto/capability.h): a minted token verifies
 * and gives back exactly what was minted; any change to the 144 bytes, a
 * wrong length, any field changed on its own with the MAC kept, a
 * truncation, a time outside the window (beyond the tolerated skew), an
 * over-long lifetime, another cluster secret or a retired key generation is
 * refused with -EACCES; and sl_cap_allows limits a token to its tenant,
 * object, shard set and operations.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "capability.h"

#define TEST_NOW_MS 1750000000000ull
#define TEST_GEN 7u

static void test_ring(struct sl_keyring *kr, uint8_t secret_seed, uint32_t gen)
{
	uint8_t secret[SL_KEY_LEN];

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(secret_seed + i * 7);
	cr_assert_eq(sl_keyring_init(kr, secret, gen), 0);
}

/* A read/write capability on shards [4, 12) of object 0x77, valid for a minute. */
static struct sl_cap test_cap(void)
{
	struct sl_cap c = {
		.ops = SL_CAP_OP_READ | SL_CAP_OP_WRITE,
		.tenant = 0x1111222233334444ull,
		.principal = 0x5555666677778888ull,
		.object_id = 0x77,
		.object_version = 3,
		.shard_first = 4,
		.shard_count = 8,
		.tag_epoch = 9,
		.policy_epoch = 10,
		.issued_ms = TEST_NOW_MS,
		.expiry_ms = TEST_NOW_MS + 60000,
		.cap_id = 0xdeadbeefcafef00dull,
		.session = 0x0102030405060708ull,
	};

	memcpy(c.purpose, "analytics", 9);
	return c;
}

static int test_verify(const uint8_t *tok, size_t len, const struct sl_keyring *kr, uint64_t now,
		       struct sl_cap *out)
{
	const char *reason = NULL;
	int rc = sl_cap_verify(tok, len, kr, now, out, &reason);

	if (rc)
		cr_expect_not_null(reason, "a refusal must say why (rc %d)", rc);
	return rc;
}

static void test_mint(struct sl_cap *c, const struct sl_keyring *kr, uint8_t tok[SL_CAP_LEN])
{
	cr_assert_eq(sl_cap_mint(c, kr, tok), 0);
}

Test(capability, mint_then_verify_returns_identical_fields)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	test_mint(&c, &kr, tok);
	cr_expect_eq(c.version, SL_CAP_VERSION);
	cr_expect_eq(c.key_gen, TEST_GEN);

	memset(&out, 0xee, sizeof(out));
	cr_assert_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), 0);
	cr_expect_eq(out.version, SL_CAP_VERSION);
	cr_expect_eq(out.ops, c.ops);
	cr_expect_eq(out.key_gen, TEST_GEN);
	cr_expect_eq(out.tenant, c.tenant);
	cr_expect_eq(out.principal, c.principal);
	cr_expect_eq(out.object_id, c.object_id);
	cr_expect_eq(out.object_version, c.object_version);
	cr_expect_eq(out.shard_first, c.shard_first);
	cr_expect_eq(out.shard_count, c.shard_count);
	cr_expect_eq(out.tag_epoch, c.tag_epoch);
	cr_expect_eq(out.policy_epoch, c.policy_epoch);
	cr_expect_eq(out.issued_ms, c.issued_ms);
	cr_expect_eq(out.expiry_ms, c.expiry_ms);
	cr_expect_eq(out.cap_id, c.cap_id);
	cr_expect_eq(out.session, c.session);
	cr_expect_arr_eq(out.purpose, c.purpose, SL_CAP_PURPOSE_LEN);

	/* reason is optional. */
	cr_expect_eq(sl_cap_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out, NULL), 0);
}

Test(capability, a_full_purpose_field_round_trips)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	memcpy(c.purpose, "0123456789abcdef", SL_CAP_PURPOSE_LEN); /* not NUL-terminated */
	test_mint(&c, &kr, tok);
	cr_assert_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), 0);
	cr_expect_arr_eq(out.purpose, "0123456789abcdef", SL_CAP_PURPOSE_LEN);
}

Test(capability, minting_is_deterministic)
{
	struct sl_keyring kr;
	struct sl_cap a = test_cap(), b = test_cap();
	uint8_t ta[SL_CAP_LEN], tb[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	test_mint(&a, &kr, ta);
	test_mint(&b, &kr, tb);
	cr_expect_arr_eq(ta, tb, SL_CAP_LEN);
	b.cap_id++;
	test_mint(&b, &kr, tb);
	cr_expect_arr_neq(ta + SL_CAP_BODY_LEN, tb + SL_CAP_BODY_LEN, SL_MAC_LEN);
}

Test(capability, any_single_byte_change_is_refused)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	test_mint(&c, &kr, tok);
	for (size_t i = 0; i < SL_CAP_LEN; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			uint8_t bad[SL_CAP_LEN];

			memcpy(bad, tok, sizeof(bad));
			bad[i] ^= masks[m];
			cr_expect_eq(test_verify(bad, sizeof(bad), &kr, TEST_NOW_MS, &out), -EACCES,
				     "byte %zu ^ 0x%02x accepted", i, masks[m]);
		}
	}
	/* The untouched token still verifies: the refusals above were the flips. */
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), 0);
}

/*
 * Each field of struct sl_cap changed on its own, as a holder of a genuine
 * token would change it to widen what it allows, the MAC left as minted:
 * every one is refused, and for the MAC (not for a time or a generation the
 * change happened to put out of range).
 */
Test(capability, every_field_tampered_one_at_a_time_is_refused)
{
	enum {
		F_OPS, F_TENANT, F_PRINCIPAL, F_OBJECT_ID, F_OBJECT_VERSION, F_SHARD_FIRST,
		F_SHARD_COUNT, F_TAG_EPOCH, F_POLICY_EPOCH, F_ISSUED, F_EXPIRY, F_CAP_ID,
		F_SESSION, F_PURPOSE, F_N
	};
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];
	const char *reason;

	test_ring(&kr, 1, TEST_GEN);
	c.ops = SL_CAP_OP_READ;
	test_mint(&c, &kr, tok);
	for (int f = 0; f < F_N; f++) {
		struct sl_cap t = test_cap();
		uint8_t bad[SL_CAP_LEN];

		t.ops = SL_CAP_OP_READ;
		switch (f) {
		case F_OPS: t.ops |= SL_CAP_OP_WRITE; break;
		case F_TENANT: t.tenant++; break;
		case F_PRINCIPAL: t.principal++; break;
		case F_OBJECT_ID: t.object_id++; break;
		case F_OBJECT_VERSION: t.object_version++; break;
		case F_SHARD_FIRST: t.shard_first--; break;
		case F_SHARD_COUNT: t.shard_count++; break;
		case F_TAG_EPOCH: t.tag_epoch++; break;
		case F_POLICY_EPOCH: t.policy_epoch++; break;
		case F_ISSUED: t.issued_ms--; break;
		case F_EXPIRY: t.expiry_ms++; break;
		case F_CAP_ID: t.cap_id++; break;
		case F_SESSION: t.session++; break;
		case F_PURPOSE: memcpy(t.purpose, "marketing", 10); break;
		}
		/* The changed body, with the genuine token's MAC. */
		test_mint(&t, &kr, bad);
		cr_assert(memcmp(bad, tok, SL_CAP_BODY_LEN) != 0, "field %d did not change", f);
		memcpy(bad + SL_CAP_BODY_LEN, tok + SL_CAP_BODY_LEN, SL_MAC_LEN);
		reason = NULL;
		cr_expect_eq(sl_cap_verify(bad, sizeof(bad), &kr, TEST_NOW_MS, &out, &reason),
			     -EACCES, "field %d tampered and accepted", f);
		cr_expect_str_eq(reason ? reason : "", "capability mac mismatch", "field %d", f);
	}
	/* version and key_gen, which minting sets itself: changed in the bytes. */
	{
		uint8_t bad[SL_CAP_LEN];

		memcpy(bad, tok, sizeof(bad));
		bad[0] = SL_CAP_VERSION + 1;
		cr_expect_eq(test_verify(bad, sizeof(bad), &kr, TEST_NOW_MS, &out), -EACCES,
			     "version tampered and accepted");
		memcpy(bad, tok, sizeof(bad));
		bad[4] = (uint8_t)(TEST_GEN - 1); /* u32 key_gen at offset 4: the previous one */
		reason = NULL;
		cr_expect_eq(sl_cap_verify(bad, sizeof(bad), &kr, TEST_NOW_MS, &out, &reason),
			     -EACCES, "key generation tampered and accepted");
		cr_expect_str_eq(reason ? reason : "", "capability mac mismatch");
		memcpy(bad, tok, sizeof(bad));
		bad[2] = 1; /* the u16 that must be zero */
		cr_expect_eq(test_verify(bad, sizeof(bad), &kr, TEST_NOW_MS, &out), -EACCES);
	}
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), 0);
}

/* A token cut anywhere, even by one byte of its MAC, is refused. */
Test(capability, truncated_is_refused)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	test_mint(&c, &kr, tok);
	for (size_t cut = 1; cut <= SL_CAP_LEN; cut++)
		cr_expect_eq(test_verify(tok, SL_CAP_LEN - cut, &kr, TEST_NOW_MS, &out), -EACCES,
			     "cut by %zu", cut);
}

Test(capability, wrong_length_is_refused)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN + 16] = { 0 };

	test_ring(&kr, 1, TEST_GEN);
	test_mint(&c, &kr, tok);
	for (size_t len = 0; len < SL_CAP_LEN; len++)
		cr_expect_eq(test_verify(tok, len, &kr, TEST_NOW_MS, &out), -EACCES, "len %zu",
			     len);
	for (size_t len = SL_CAP_LEN + 1; len <= sizeof(tok); len++)
		cr_expect_eq(test_verify(tok, len, &kr, TEST_NOW_MS, &out), -EACCES, "len %zu",
			     len);
	cr_expect_eq(test_verify(NULL, SL_CAP_LEN, &kr, TEST_NOW_MS, &out), -EACCES);
}

Test(capability, expired_is_refused_beyond_the_skew)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	c.issued_ms = TEST_NOW_MS - 200000;
	c.expiry_ms = TEST_NOW_MS - 100000;
	test_mint(&c, &kr, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);

	/* Just past the tolerated skew. */
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, c.expiry_ms + SL_CAP_SKEW_MS + 1, &out),
		     -EACCES);
	/* Expired by less than the skew: a data server's clock may lead meta's. */
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, c.expiry_ms + SL_CAP_SKEW_MS / 2, &out), 0);
}

Test(capability, not_yet_valid_is_refused_beyond_the_skew)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	c.issued_ms = TEST_NOW_MS + SL_CAP_SKEW_MS + 1000;
	c.expiry_ms = c.issued_ms + 60000;
	test_mint(&c, &kr, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);
	/* Issued slightly in the future (within the skew) is accepted. */
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, c.issued_ms - SL_CAP_SKEW_MS / 2, &out), 0);
}

Test(capability, lifetime_over_the_ceiling_is_refused)
{
	struct sl_keyring kr;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	c.issued_ms = TEST_NOW_MS;
	c.expiry_ms = TEST_NOW_MS + SL_CAP_MAX_TTL_MS;
	test_mint(&c, &kr, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), 0);

	c.expiry_ms = TEST_NOW_MS + SL_CAP_MAX_TTL_MS + 1;
	test_mint(&c, &kr, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);

	c.expiry_ms = UINT64_MAX;
	test_mint(&c, &kr, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);

	/* Expiry before issue. */
	c.expiry_ms = TEST_NOW_MS - 1;
	test_mint(&c, &kr, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);
}

Test(capability, another_cluster_secret_is_refused)
{
	struct sl_keyring kr, other;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	test_ring(&other, 2, TEST_GEN);
	test_mint(&c, &other, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);
}

Test(capability, previous_generation_accepted_older_refused)
{
	struct sl_keyring now_ring, prev_ring, old_ring, next_ring;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&now_ring, 1, TEST_GEN);
	test_ring(&prev_ring, 1, TEST_GEN - 1);
	test_ring(&old_ring, 1, TEST_GEN - 2);
	test_ring(&next_ring, 1, TEST_GEN + 1);

	test_mint(&c, &prev_ring, tok);
	cr_expect_eq(c.key_gen, TEST_GEN - 1);
	cr_assert_eq(test_verify(tok, sizeof(tok), &now_ring, TEST_NOW_MS, &out), 0);
	cr_expect_eq(out.key_gen, TEST_GEN - 1);

	c = test_cap();
	test_mint(&c, &old_ring, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &now_ring, TEST_NOW_MS, &out), -EACCES);

	/* A generation this server does not have yet is refused too. */
	c = test_cap();
	test_mint(&c, &next_ring, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &now_ring, TEST_NOW_MS, &out), -EACCES);
}

/* A token claiming the previous generation but signed with the current key. */
Test(capability, generation_and_key_must_match)
{
	struct sl_keyring kr, forged;
	struct sl_cap c = test_cap(), out;
	uint8_t tok[SL_CAP_LEN];

	test_ring(&kr, 1, TEST_GEN);
	forged = kr;
	forged.cap_gen = TEST_GEN - 1; /* current key, previous generation number */
	test_mint(&c, &forged, tok);
	cr_expect_eq(test_verify(tok, sizeof(tok), &kr, TEST_NOW_MS, &out), -EACCES);
}

Test(capability, allows_its_own_scope)
{
	struct sl_cap c = test_cap();
	const char *reason = NULL;

	for (uint32_t s = c.shard_first; s < c.shard_first + c.shard_count; s++) {
		cr_expect_eq(sl_cap_allows(&c, SL_CAP_OP_READ, c.tenant, c.object_id, s, &reason),
			     0, "shard %u", s);
		cr_expect_eq(sl_cap_allows(&c, SL_CAP_OP_WRITE, c.tenant, c.object_id, s, &reason),
			     0, "shard %u", s);
	}
}

Test(capability, refuses_other_tenant_object_shard_or_op)
{
	struct sl_cap c = test_cap();
	const char *reason;

#define TEST_REFUSED(cap, op, tenant, object, shard)                                               \
	do {                                                                                       \
		reason = NULL;                                                                     \
		cr_expect_eq(sl_cap_allows(cap, op, tenant, object, shard, &reason), -EACCES,      \
			     "op %u tenant %llx object %llx shard %u", (unsigned)(op),             \
			     (unsigned long long)(tenant), (unsigned long long)(object),           \
			     (unsigned)(shard));                                                   \
		cr_expect_not_null(reason);                                                        \
	} while (0)

	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant + 1, c.object_id, 4);
	TEST_REFUSED(&c, SL_CAP_OP_READ, 0, c.object_id, 4);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id + 1, 4);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, 0, 4);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, 0);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, 3);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, 12);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, UINT32_MAX);

	c.ops = SL_CAP_OP_READ;
	TEST_REFUSED(&c, SL_CAP_OP_WRITE, c.tenant, c.object_id, 4);
	c.ops = SL_CAP_OP_WRITE;
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, 4);
	c.ops = 0;
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, 4);

	/* An empty shard set allows nothing. */
	c = test_cap();
	c.shard_count = 0;
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, c.shard_first);

	/* A set ending at the top of the index space must not wrap around to 0. */
	c = test_cap();
	c.shard_first = UINT32_MAX - 1;
	c.shard_count = 2;
	cr_expect_eq(sl_cap_allows(&c, SL_CAP_OP_READ, c.tenant, c.object_id, UINT32_MAX, NULL), 0);
	TEST_REFUSED(&c, SL_CAP_OP_READ, c.tenant, c.object_id, 0);
#undef TEST_REFUSED
}

Test(finding_13, a_capability_is_bound_to_the_endpoint_it_was_granted_to)
{
	static const uint8_t a[16] = { 2, 0, 0x1f, 0x90, 127, 0, 0, 1 };
	static const uint8_t b[16] = { 2, 0, 0x1f, 0x91, 127, 0, 0, 1 };
	struct sl_cap c = test_cap();
	const char *why = NULL;
	uint64_t sa = sl_cap_session(a, sizeof(a));

	cr_assert_neq(sa, 0);
	{
		/* The first 8 bytes of SHA-256(address), little-endian. */
		uint8_t md[32];
		uint64_t want = 0;

		cr_assert(EVP_Digest(a, sizeof(a), md, NULL, EVP_sha256(), NULL));
		for (int i = 7; i >= 0; i--)
			want = want << 8 | md[i];
		cr_assert_eq(sa, want);
	}
	cr_assert_neq(sa, sl_cap_session(b, sizeof(b)));
	/* No address, or one longer than any fabric address: no session. */
	cr_assert_eq(sl_cap_session(a, 0), 0);
	cr_assert_eq(sl_cap_session(NULL, 16), 0);
	cr_assert_eq(sl_cap_session(a, SL_CAP_ADDR_MAX + 1), 0);

	c.session = sa;
	cr_assert_eq(sl_cap_bound(&c, a, sizeof(a), &why), 0);
	cr_assert_eq(sl_cap_bound(&c, b, sizeof(b), &why), -EACCES, "replayed from another endpoint");
	cr_assert_str_eq(why, "capability bound to another endpoint");
	cr_assert_eq(sl_cap_bound(&c, a, 15, &why), -EACCES);
	c.session = 0;
	cr_assert_eq(sl_cap_bound(&c, a, sizeof(a), &why), -EACCES, "a token bound to nothing");
	cr_assert_str_eq(why, "capability bound to no endpoint");
}
