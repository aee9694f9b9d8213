/*
 * Unit tests of the request MAC (proto/reqsign.h): it is a pure function of
 * its inputs, and each input it is meant to bind (type, request id,
 * timestamp, nonce, key id, every body byte, the secret) changes it, so a
 * captured request cannot be replayed under another of them.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <string.h>

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
