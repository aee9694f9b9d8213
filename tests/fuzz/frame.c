/*
 * Fuzz target for the frame decoder (proto/frame.h), the first code that
 * touches every byte a peer sends. Besides not crashing, the decoder must:
 * answer 0 or one of its three documented errors; on success report a
 * length within the cap it was given and a header that re-encodes to the
 * same 20 bytes; and sl_frame_parse must accept exactly the inputs whose
 * size is header plus declared length, with the payload right after the
 * header.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "frame.h"


static void test_decode_with_cap(const uint8_t *data, size_t size, size_t cap)
{
	struct sl_frame_hdr h, p;
	const uint8_t *payload = NULL;
	uint8_t again[SL_FRAME_HDR_LEN];
	int rc = sl_frame_hdr_decode(data, size, cap, &h);
	int prc = sl_frame_parse(data, size, cap, &p, &payload);

	test_check(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT || rc == -EMSGSIZE,
		   "decode returned an undocumented error", size);
	test_check(size >= SL_FRAME_HDR_LEN || rc == -EPROTO, "a short header was accepted", size);
	if (rc == 0) {
		test_check(h.length <= cap, "decoded length exceeds the cap", size);
		test_check(h.version == SL_FRAME_VERSION, "unknown version accepted", size);
		sl_frame_hdr_encode(&h, again);
		test_check(memcmp(again, data, SL_FRAME_HDR_LEN) == 0,
			   "header does not re-encode to its bytes", size);
	}

	/* parse = decode + an exact payload length. */
	if (rc)
		test_check(prc == rc, "parse and decode disagree on the header", size);
	else if (size - SL_FRAME_HDR_LEN == h.length)
		test_check(prc == 0, "parse refused a well-formed frame", size);
	else
		test_check(prc == -EPROTO, "parse accepted a payload of the wrong size", size);
	if (prc == 0) {
		test_check(payload == data + SL_FRAME_HDR_LEN, "payload is not after the header",
			   size);
		test_check(p.length <= cap && SL_FRAME_HDR_LEN + (size_t)p.length == size,
			   "parsed length does not match the frame", size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The control plane's cap, the data plane's and a tiny one. */
	test_decode_with_cap(data, size, SL_FRAME_MAX);
	test_decode_with_cap(data, size, 2048 - SL_FRAME_HDR_LEN);
	test_decode_with_cap(data, size, 8);
	test_decode_with_cap(data, size, 0);
	return 0;
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	static const struct {
		uint16_t type;
		uint32_t length;
		uint8_t flags;
	} seeds[] = {
		{ 1, 0, 0 },		/* an empty request */
		{ 101, 12, 0 },		/* a data-plane request */
		{ 0x8007, 40, 1 },	/* a reply */
		{ 9, SL_FRAME_MAX, 0 }, /* a header at the cap, payload absent */
	};
	struct sl_frame_hdr h = { .version = SL_FRAME_VERSION };
	size_t len;

	if (n >= sizeof(seeds) / sizeof(seeds[0]))
		return 0;
	h.type = seeds[n].type;
	h.length = seeds[n].length;
	h.flags = seeds[n].flags;
	h.req_id = 0x1000 + n;
	len = SL_FRAME_HDR_LEN + (h.length <= 64 ? h.length : 0);
	if (len > cap)
		return 0;
	sl_frame_hdr_encode(&h, buf);
	for (size_t i = SL_FRAME_HDR_LEN; i < len; i++)
		buf[i] = (uint8_t)(i * 31);
	return len;
}
