/*
 * Fuzz target for request decoding as the servers do it on arbitrary bytes
 * from the network: sl_frame_parse, then protobuf-c unpack of the message
 * the frame type names. Data plane (server/data/service.c, on_request): a
 * ShardReadReq or ShardWriteReq under the data server's SL_DATA_REQ_MAX, and
 * its capability checked as check_cap does. Control plane
 * (server/meta/auth.c): the Signed envelope, and its MAC computed when its
 * fields have the sizes auth.c insists on.
 *
 * Invariants beyond not crashing: a decoded length never exceeds the cap;
 * no bytes field is longer than the payload; an unpacked message packs and
 * unpacks again to the same field values; a capability never verifies under
 * a key that did not sign it (the seeds carry one, well-formed and in its
 * time window, signed by another cluster).
 */
#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "capability.h"
#include "data.h"
#include "frame.h"
#include "reqsign.h"
#include "rpc.h"

#define TEST_NOW_MS 1750000000000ull


/* A bytes field unpacked from len bytes: present when non-empty, and shorter. */
static int test_bytes_inside(const ProtobufCBinaryData *b, size_t len)
{
	return b->len == 0 || (b->data && b->len <= len);
}

/*
 * Packs msg's known fields and unpacks the result; the caller compares and
 * frees it. Unknown fields are left out: protobuf-c 1.4.1 keeps a field
 * numbered 0 when its tag is an overlong varint (80 00), then packs it as
 * 00, which its own unpack refuses. Sluice never re-packs a request, so
 * that quirk is not ours to assert on.
 */
static ProtobufCMessage *test_repack(ProtobufCMessage *msg, size_t size)
{
	unsigned n_unknown = msg->n_unknown_fields;
	ProtobufCMessage *again;
	size_t len;
	uint8_t *buf;

	msg->n_unknown_fields = 0;
	len = protobuf_c_message_get_packed_size(msg);
	buf = malloc(len ? len : 1);
	test_check(buf != NULL, "out of memory", size);
	test_check(protobuf_c_message_pack(msg, buf) == len, "pack wrote another size", size);
	msg->n_unknown_fields = n_unknown;
	again = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
	free(buf);
	test_check(again != NULL, "a message that unpacked does not unpack after repacking", size);
	return again;
}

static int test_bytes_eq(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/*
 * What check_cap in service.c does with the token, under a cluster secret
 * that signed nothing in the input: nothing may verify.
 */
static void test_check_cap(const ProtobufCBinaryData *token, size_t size)
{
	struct sl_keyring kr;
	uint8_t secret[SL_KEY_LEN] = { 1, 2, 3 };
	struct sl_cap cap;
	const char *why = NULL;

	test_check(sl_keyring_init(&kr, secret, 3) == 0, "keyring derivation failed", size);
	test_check(sl_cap_verify(token->data, token->len, &kr, TEST_NOW_MS, &cap, &why) == -EACCES,
		   "a capability not signed by this cluster verified", size);
	test_check(why != NULL, "a capability refusal without a reason", size);
}

static void test_read_req(const uint8_t *payload, size_t len, size_t size)
{
	Sluice__ShardReadReq *r = sluice__shard_read_req__unpack(NULL, len, payload), *again;

	if (!r)
		return;
	test_check(test_bytes_inside(&r->capability, len) && test_bytes_inside(&r->reply_addr, len),
		   "a ShardReadReq bytes field is larger than its payload", size);
	again = (Sluice__ShardReadReq *)test_repack(&r->base, size);
	test_check(again->object_id == r->object_id && again->index == r->index &&
			   again->offset == r->offset && again->length == r->length &&
			   again->buf_addr == r->buf_addr && again->buf_key == r->buf_key &&
			   again->digests == r->digests &&
			   test_bytes_eq(&again->capability, &r->capability) &&
			   test_bytes_eq(&again->reply_addr, &r->reply_addr),
		   "ShardReadReq changed across pack and unpack", size);
	sluice__shard_read_req__free_unpacked(again, NULL);
	test_check_cap(&r->capability, size);
	sluice__shard_read_req__free_unpacked(r, NULL);
}

static void test_write_req(const uint8_t *payload, size_t len, size_t size)
{
	Sluice__ShardWriteReq *w = sluice__shard_write_req__unpack(NULL, len, payload), *again;

	if (!w)
		return;
	test_check(test_bytes_inside(&w->capability, len) && test_bytes_inside(&w->reply_addr, len),
		   "a ShardWriteReq bytes field is larger than its payload", size);
	again = (Sluice__ShardWriteReq *)test_repack(&w->base, size);
	test_check(again->object_id == w->object_id && again->index == w->index &&
			   again->length == w->length && again->crc32c == w->crc32c &&
			   again->buf_addr == w->buf_addr && again->buf_key == w->buf_key &&
			   test_bytes_eq(&again->capability, &w->capability) &&
			   test_bytes_eq(&again->reply_addr, &w->reply_addr),
		   "ShardWriteReq changed across pack and unpack", size);
	sluice__shard_write_req__free_unpacked(again, NULL);
	test_check_cap(&w->capability, size);
	sluice__shard_write_req__free_unpacked(w, NULL);
}

/* What sl_auth_verify in auth.c does before it looks anything up. */
static void test_signed(const struct sl_frame_hdr *h, const uint8_t *payload, size_t len,
			size_t size)
{
	Sluice__Signed *env = sluice__signed__unpack(NULL, len, payload), *again;
	static const uint8_t secret[SL_KEY_LEN] = { 9, 8, 7 };
	uint8_t mac[SL_MAC_LEN];
	size_t klen;

	if (!env)
		return;
	test_check(env->key_id != NULL, "Signed.key_id is NULL", size);
	klen = strlen(env->key_id);
	test_check(klen <= len, "Signed.key_id is longer than the payload", size);
	test_check(test_bytes_inside(&env->nonce, len) && test_bytes_inside(&env->mac, len) &&
			   test_bytes_inside(&env->body, len),
		   "a Signed bytes field is larger than its payload", size);
	again = (Sluice__Signed *)test_repack(&env->base, size);
	test_check(strcmp(again->key_id, env->key_id) == 0 &&
			   again->timestamp_ms == env->timestamp_ms &&
			   test_bytes_eq(&again->nonce, &env->nonce) &&
			   test_bytes_eq(&again->mac, &env->mac) &&
			   test_bytes_eq(&again->body, &env->body),
		   "Signed changed across pack and unpack", size);
	sluice__signed__free_unpacked(again, NULL);
	if (env->nonce.len == SL_NONCE_LEN && env->mac.len == SL_MAC_LEN && klen > 0 &&
	    klen <= 64) {
		test_check(sl_reqsign_mac(secret, sizeof(secret), h->type, h->req_id,
					  env->timestamp_ms, env->nonce.data, env->key_id,
					  env->body.data, env->body.len, mac) == 0,
			   "request MAC computation failed", size);
		test_check(!sl_mac_equal(mac, env->mac.data, SL_MAC_LEN),
			   "a random envelope carries a valid MAC", size);
	}
	sluice__signed__free_unpacked(env, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t data_cap = SL_DATA_REQ_MAX - SL_FRAME_HDR_LEN;
	struct sl_frame_hdr h;
	const uint8_t *payload;

	if (sl_frame_parse(data, size, data_cap, &h, &payload) == 0) {
		test_check(h.length <= data_cap, "data-plane frame over its cap", size);
		if (h.type == SL_RPC_SHARD_READ)
			test_read_req(payload, h.length, size);
		else if (h.type == SL_RPC_SHARD_WRITE)
			test_write_req(payload, h.length, size);
	}
	if (sl_frame_parse(data, size, SL_FRAME_MAX, &h, &payload) == 0) {
		test_check(h.length <= SL_FRAME_MAX, "control-plane frame over its cap", size);
		test_signed(&h, payload, h.length, size);
		/* A data server is sent only these two; try both on every payload. */
		test_read_req(payload, h.length, size);
		test_write_req(payload, h.length, size);
	}
	return 0;
}

/* Frames msg as type into buf; 0 when it does not fit. */
static size_t test_frame(const ProtobufCMessage *msg, uint16_t type, uint8_t *buf, size_t cap)
{
	struct sl_frame_hdr h = { .version = SL_FRAME_VERSION, .type = type, .req_id = 77 };
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (SL_FRAME_HDR_LEN + len > cap)
		return 0;
	h.length = (uint32_t)len;
	sl_frame_hdr_encode(&h, buf);
	protobuf_c_message_pack(msg, buf + SL_FRAME_HDR_LEN);
	return SL_FRAME_HDR_LEN + len;
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	/* A well-formed token, in its time window, signed with another cluster's key. */
	struct sl_cap token = { .ops = SL_CAP_OP_READ | SL_CAP_OP_WRITE,
				.tenant = 1,
				.object_id = 0x1234,
				.shard_count = 8,
				.issued_ms = TEST_NOW_MS,
				.expiry_ms = TEST_NOW_MS + 60000 };
	uint8_t other_secret[SL_KEY_LEN] = { 4, 5, 6 }, cap_bytes[SL_CAP_LEN];
	struct sl_keyring other;
	uint8_t addr[] = { 0x02, 0x00, 0x1f, 0x90, 0x7f, 0x00, 0x00, 0x01 }; /* sockaddr_in */
	uint8_t nonce[SL_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t mac[SL_MAC_LEN] = { 0xaa, 0xbb };
	uint8_t body[] = { 0x0a, 0x04, 'a', 'c', 'm', 'e' }; /* TenantCreateReq "acme" */
	Sluice__ShardReadReq r = SLUICE__SHARD_READ_REQ__INIT;
	Sluice__ShardWriteReq w = SLUICE__SHARD_WRITE_REQ__INIT;
	Sluice__Signed s = SLUICE__SIGNED__INIT;

	if (sl_keyring_init(&other, other_secret, 3) || sl_cap_mint(&token, &other, cap_bytes))
		return 0;
	switch (n) {
	case 0:
		r.capability = (ProtobufCBinaryData){ sizeof(cap_bytes), cap_bytes };
		r.object_id = 0x1234;
		r.index = 2;
		r.offset = 4096;
		r.length = 65536;
		r.buf_addr = 0x7f0000001000ull;
		r.buf_key = 9;
		r.reply_addr = (ProtobufCBinaryData){ sizeof(addr), addr };
		return test_frame(&r.base, SL_RPC_SHARD_READ, buf, cap);
	case 1:
		w.capability = (ProtobufCBinaryData){ sizeof(cap_bytes), cap_bytes };
		w.object_id = 0x1234;
		w.index = 3;
		w.length = 1 << 20;
		w.crc32c = 0xdeadbeef;
		w.buf_addr = 0x7f0000002000ull;
		w.buf_key = 10;
		w.reply_addr = (ProtobufCBinaryData){ sizeof(addr), addr };
		return test_frame(&w.base, SL_RPC_SHARD_WRITE, buf, cap);
	case 2:
		s.key_id = (char *)"AKIDEXAMPLE";
		s.timestamp_ms = TEST_NOW_MS;
		s.nonce = (ProtobufCBinaryData){ sizeof(nonce), nonce };
		s.mac = (ProtobufCBinaryData){ sizeof(mac), mac };
		s.body = (ProtobufCBinaryData){ sizeof(body), body };
		return test_frame(&s.base, SL_RPC_TENANT_CREATE, buf, cap);
	case 3: /* an empty read request */
		return test_frame(&r.base, SL_RPC_SHARD_READ, buf, cap);
	case 4: /* unknown field 0 behind an overlong tag (found by libFuzzer) */
	{
		static const uint8_t field0[] = { 0x80, 0x00, 0x24 };
		struct sl_frame_hdr h;
		size_t len;

		r.object_id = 5;
		len = test_frame(&r.base, SL_RPC_SHARD_READ, buf, cap);
		if (!len || len + sizeof(field0) > cap)
			return 0;
		memcpy(buf + len, field0, sizeof(field0));
		len += sizeof(field0);
		sl_frame_hdr_decode(buf, SL_FRAME_HDR_LEN, SL_FRAME_MAX, &h);
		h.length = (uint32_t)(len - SL_FRAME_HDR_LEN);
		sl_frame_hdr_encode(&h, buf);
		return len;
	}
	case 5: /* a digest-list read */
		r.capability = (ProtobufCBinaryData){ sizeof(cap_bytes), cap_bytes };
		r.object_id = 0x1234;
		r.index = 1;
		r.length = 8192;
		r.buf_addr = 0x7f0000003000ull;
		r.buf_key = 11;
		r.digests = 1;
		r.reply_addr = (ProtobufCBinaryData){ sizeof(addr), addr };
		return test_frame(&r.base, SL_RPC_SHARD_READ, buf, cap);
	default:
		return 0;
	}
}
