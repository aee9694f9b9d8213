/*
 * Unit tests of the request MAC (proto/reqsign.h): it is a pure function of
 * its inputs, and each input it is meant to bind (type, request id,
 * timestamp, nonce, key id, every body byte, the secret) changes it, so a
 * captured request cannot be replayed under another of them.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <string.h>

#include "capability.h"
#include "reqsign.h"

struct test_req {
	uint8_t secret[SL_KEY_LEN];
	uint16_t type;
	uint64_t req_id;
	uint64_t ts_ms;
	uint8_t nonce[SL_NONCE_LEN];
	char key_id[32];
	uint8_t body[48];
	size_t body_len;
};

static struct test_req test_req(void)
{
	struct test_req r = {
		.type = 7,
		.req_id = 0x1122334455667788ull,
		.ts_ms = 1750000000123ull,
		.key_id = "AKIDEXAMPLE01",
		.body_len = 48,
	};

	for (size_t i = 0; i < SL_KEY_LEN; i++)
		r.secret[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < SL_NONCE_LEN; i++)
		r.nonce[i] = (uint8_t)(0x90 + i);
	for (size_t i = 0; i < r.body_len; i++)
		r.body[i] = (uint8_t)(i * 13 + 1);
	return r;
}

static void test_mac(const struct test_req *r, uint8_t mac[SL_MAC_LEN])
{
	cr_assert_eq(sl_reqsign_mac(r->secret, sizeof(r->secret), r->type, r->req_id, r->ts_ms,
				    r->nonce, r->key_id, r->body, r->body_len, mac),
		     0);
}

static void test_expect_differs(const struct test_req *changed, const char *what)
{
	const struct test_req base = test_req();
	uint8_t a[SL_MAC_LEN], b[SL_MAC_LEN];

	test_mac(&base, a);
	test_mac(changed, b);
	cr_expect_arr_neq(a, b, SL_MAC_LEN, "changing %s left the MAC unchanged", what);
}

Test(reqsign, same_inputs_same_mac)
{
	const struct test_req r = test_req();
	uint8_t a[SL_MAC_LEN], b[SL_MAC_LEN];

	test_mac(&r, a);
	test_mac(&r, b);
	cr_expect_arr_eq(a, b, SL_MAC_LEN);
}

/* Pins the wire definition: a client and a server built apart must agree. */
Test(reqsign, mac_is_hmac_sha256_over_the_documented_fields)
{
	const struct test_req r = test_req();
	uint8_t msg[256], want[SL_MAC_LEN], got[SL_MAC_LEN];
	uint16_t t = htobe16(r.type);
	uint64_t id = htobe64(r.req_id), ts = htobe64(r.ts_ms);
	unsigned int want_len = 0;
	size_t n = 0;

	memcpy(msg + n, "SLRQ1", 5), n += 5;
	memcpy(msg + n, &t, 2), n += 2;
	memcpy(msg + n, &id, 8), n += 8;
	memcpy(msg + n, &ts, 8), n += 8;
	memcpy(msg + n, r.nonce, SL_NONCE_LEN), n += SL_NONCE_LEN;
	/* The key id goes in with its NUL, which separates it from the body. */
	memcpy(msg + n, r.key_id, strlen(r.key_id) + 1), n += strlen(r.key_id) + 1;
	memcpy(msg + n, r.body, r.body_len), n += r.body_len;
	cr_assert_not_null(HMAC(EVP_sha256(), r.secret, sizeof(r.secret), msg, n, want, &want_len));
	cr_assert_eq(want_len, SL_MAC_LEN);

	test_mac(&r, got);
	cr_expect_arr_eq(got, want, SL_MAC_LEN);
}

Test(reqsign, type_is_bound)
{
	struct test_req r = test_req();

	r.type ^= 1;
	test_expect_differs(&r, "type");
	r = test_req();
	r.type ^= 0x8000;
	test_expect_differs(&r, "type high bit");
}

Test(reqsign, req_id_is_bound)
{
	struct test_req r = test_req();

	r.req_id++;
	test_expect_differs(&r, "req_id");
	r = test_req();
	r.req_id ^= 1ull << 63;
	test_expect_differs(&r, "req_id high bit");
}

Test(reqsign, timestamp_is_bound)
{
	struct test_req r = test_req();

	r.ts_ms++;
	test_expect_differs(&r, "timestamp");
}

Test(reqsign, every_nonce_byte_is_bound)
{
	for (size_t i = 0; i < SL_NONCE_LEN; i++) {
		struct test_req r = test_req();

		r.nonce[i] ^= 1;
		test_expect_differs(&r, "a nonce byte");
	}
}

Test(reqsign, key_id_is_bound)
{
	struct test_req r = test_req();

	r.key_id[0] ^= 1;
	test_expect_differs(&r, "key id");
	r = test_req();
	strcat(r.key_id, "X");
	test_expect_differs(&r, "key id length");
	r = test_req();
	r.key_id[0] = '\0';
	test_expect_differs(&r, "key id (empty)");
}

Test(reqsign, every_body_byte_is_bound)
{
	for (size_t i = 0; i < test_req().body_len; i++) {
		struct test_req r = test_req();

		r.body[i] ^= 0x80;
		test_expect_differs(&r, "a body byte");
	}
}

Test(reqsign, body_length_is_bound)
{
	struct test_req r = test_req();

	r.body_len--;
	test_expect_differs(&r, "body length (one byte fewer)");
	r = test_req();
	r.body_len = 0;
	test_expect_differs(&r, "body length (empty)");
}

/* Bytes cannot be moved from the end of the key id to the start of the body. */
Test(reqsign, key_id_and_body_boundary_is_bound)
{
	struct test_req a = test_req(), b = test_req();
	uint8_t ma[SL_MAC_LEN], mb[SL_MAC_LEN];

	strcpy(a.key_id, "abc");
	memcpy(a.body, "d", 1);
	a.body_len = 1;
	strcpy(b.key_id, "ab");
	memcpy(b.body, "cd", 2);
	b.body_len = 2;
	test_mac(&a, ma);
	test_mac(&b, mb);
	cr_expect_arr_neq(ma, mb, SL_MAC_LEN);
}

Test(reqsign, secret_is_bound)
{
	struct test_req r = test_req();

	r.secret[SL_KEY_LEN - 1] ^= 1;
	test_expect_differs(&r, "secret");
}

/* ---- per-server keys (finding 10) ------------------------------------------ */

static void test_rings(struct sl_keyring *cluster, struct sl_keyring *one, struct sl_keyring *two)
{
	uint8_t secret[SL_KEY_LEN];

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(sl_keyring_init(cluster, secret, 1), 0);
	cr_assert_eq(sl_keyring_for_server(cluster, 1, one), 0);
	cr_assert_eq(sl_keyring_for_server(cluster, 2, two), 0);
}

Test(finding_10, a_capability_verifies_only_at_the_server_it_was_minted_for)
{
	struct sl_keyring cluster, one, two;
	struct sl_cap cap = { .ops = SL_CAP_OP_READ, .tenant = 5, .object_id = 9,
			      .shard_count = 1, .cap_id = 77 }, got;
	uint8_t token[SL_CAP_LEN];
	const char *why;

	test_rings(&cluster, &one, &two);
	cap.issued_ms = 1750000000000ull;
	cap.expiry_ms = cap.issued_ms + 60000;
	cr_assert_eq(sl_cap_mint(&cap, &one, token), 0);
	cr_expect_eq(sl_cap_verify(token, sizeof(token), &one, cap.issued_ms + 1, &got, &why), 0);
	cr_expect_neq(sl_cap_verify(token, sizeof(token), &two, cap.issued_ms + 1, &got, &why), 0,
		      "server 2 accepted a capability minted for server 1");
	cr_expect_neq(sl_cap_verify(token, sizeof(token), &cluster, cap.issued_ms + 1, &got, &why),
		      0);
	cr_expect_arr_neq(one.server_key, two.server_key, SL_KEY_LEN);
	cr_expect_arr_neq(one.server_key, cluster.server_key, SL_KEY_LEN);
}

Test(finding_10, a_reply_mac_binds_the_server_the_challenge_and_every_byte)
{
	struct sl_keyring cluster, one, two;
	uint8_t challenge[16] = { 1, 2, 3 }, other[16] = { 3, 2, 1 }, body[40] = { 0 };
	uint8_t a[SL_MAC_LEN], b[SL_MAC_LEN];

	test_rings(&cluster, &one, &two);
	cr_assert_eq(sl_server_reply_mac(&one, challenge, body, sizeof(body), a), 0);
	cr_assert_eq(sl_server_reply_mac(&two, challenge, body, sizeof(body), b), 0);
	cr_expect_arr_neq(a, b, SL_MAC_LEN);
	cr_assert_eq(sl_server_reply_mac(&one, other, body, sizeof(body), b), 0);
	cr_expect_arr_neq(a, b, SL_MAC_LEN, "a reply replays under another challenge");
	body[39] ^= 1;
	cr_assert_eq(sl_server_reply_mac(&one, challenge, body, sizeof(body), b), 0);
	cr_expect_arr_neq(a, b, SL_MAC_LEN, "a changed deletion list keeps its MAC");
}

Test(finding_10, server_key_ids_have_one_spelling)
{
	uint32_t id = 0;

	cr_expect_eq(sl_server_key_id_parse("@data-server/7", &id), 0);
	cr_expect_eq(id, 7);
	cr_expect_eq(sl_server_key_id_parse("@data-server/4294967295", &id), 0);
	cr_expect_eq(sl_server_key_id_parse("@data-server", &id), -EINVAL);
	cr_expect_eq(sl_server_key_id_parse("@data-server/", &id), -EINVAL);
	cr_expect_eq(sl_server_key_id_parse("@data-server/07", &id), -EINVAL);
	cr_expect_eq(sl_server_key_id_parse("@data-server/0", &id), -EINVAL);
	cr_expect_eq(sl_server_key_id_parse("@data-server/-1", &id), -EINVAL);
	cr_expect_eq(sl_server_key_id_parse("@data-server/4294967296", &id), -EINVAL);
	cr_expect_eq(sl_server_key_id_parse("SK7", &id), -EINVAL);
}
