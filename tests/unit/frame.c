/*
 * Unit tests of the frame layer (proto/frame.h): the 20-byte big-endian
 * header round-trips every field, and the decoder refuses a bad magic, an
 * unknown version, a length over the cap (from the header alone, so nothing
 * is allocated first), a short header, and a frame whose payload is not
 * exactly `length` bytes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"

static struct sl_frame_hdr test_hdr(void)
{
	return (struct sl_frame_hdr){
		.version = SL_FRAME_VERSION,
		.flags = 0xa5,
		.type = 0xbeef,
		.length = 0x00012345,
		.req_id = 0x0123456789abcdefull,
	};
}

Test(frame, round_trip_keeps_every_field)
{
	const struct sl_frame_hdr cases[] = {
		test_hdr(),
		{ .version = SL_FRAME_VERSION },
		{ .version = SL_FRAME_VERSION, .flags = 0xff, .type = 0xffff,
		  .length = SL_FRAME_MAX, .req_id = UINT64_MAX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[SL_FRAME_HDR_LEN];
		struct sl_frame_hdr h;

		memset(&h, 0x5a, sizeof(h));
		sl_frame_hdr_encode(&cases[i], buf);
		cr_assert_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &h), 0, "case %zu",
			     i);
		cr_expect_eq(h.version, SL_FRAME_VERSION, "case %zu", i);
		cr_expect_eq(h.flags, cases[i].flags, "case %zu", i);
		cr_expect_eq(h.type, cases[i].type, "case %zu", i);
		cr_expect_eq(h.length, cases[i].length, "case %zu", i);
		cr_expect_eq(h.req_id, cases[i].req_id, "case %zu", i);
	}
}

/* The layout is a wire format: pin every offset and the byte order. */
Test(frame, encoding_is_big_endian_at_documented_offsets)
{
	const struct sl_frame_hdr h = test_hdr();
	const uint8_t want[SL_FRAME_HDR_LEN] = {
		'S', 'L', 'C', 'E',			/* magic */
		SL_FRAME_VERSION, 0xa5,			/* version, flags */
		0xbe, 0xef,				/* type */
		0x00, 0x01, 0x23, 0x45,			/* length */
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,	/* request id */
	};
	uint8_t buf[SL_FRAME_HDR_LEN];

	sl_frame_hdr_encode(&h, buf);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(frame, bad_magic_is_eproto)
{
	const struct sl_frame_hdr h = test_hdr();

	for (size_t i = 0; i < 4; i++) {
		uint8_t buf[SL_FRAME_HDR_LEN];
		struct sl_frame_hdr out;

		sl_frame_hdr_encode(&h, buf);
		buf[i] ^= 0x20;
		cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out), -EPROTO,
			     "magic byte %zu", i);
	}
}

Test(frame, unknown_version_is_eprotonosupport)
{
	const struct sl_frame_hdr h = test_hdr();
	const uint8_t versions[] = { 0, SL_FRAME_VERSION + 1, 0x80, 0xff };

	for (size_t i = 0; i < sizeof(versions); i++) {
		uint8_t buf[SL_FRAME_HDR_LEN];
		struct sl_frame_hdr out;

		sl_frame_hdr_encode(&h, buf);
		buf[4] = versions[i];
		cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out),
			     -EPROTONOSUPPORT, "version %u", versions[i]);
	}
}

/*
 * The cap is enforced from the 20 header bytes alone: a reader learns the
 * frame is too large before it allocates or reads the payload.
 */
Test(frame, length_over_cap_is_emsgsize_from_header_alone)
{
	struct sl_frame_hdr h = test_hdr(), out;
	uint8_t buf[SL_FRAME_HDR_LEN];
	const uint8_t *payload;

	h.length = SL_FRAME_MAX;
	sl_frame_hdr_encode(&h, buf);
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out), 0);

	h.length = SL_FRAME_MAX + 1;
	sl_frame_hdr_encode(&h, buf);
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out), -EMSGSIZE);

	h.length = UINT32_MAX;
	sl_frame_hdr_encode(&h, buf);
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out), -EMSGSIZE);
	cr_expect_eq(sl_frame_parse(buf, sizeof(buf), SL_FRAME_MAX, &out, &payload), -EMSGSIZE);

	/* A caller's smaller cap (the data plane's) is the one that counts. */
	h.length = 2029;
	sl_frame_hdr_encode(&h, buf);
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), 2028, &out), -EMSGSIZE);
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), 2029, &out), 0);
}

Test(frame, magic_is_checked_before_version_and_length)
{
	struct sl_frame_hdr h = test_hdr(), out;
	uint8_t buf[SL_FRAME_HDR_LEN];

	h.length = UINT32_MAX;
	sl_frame_hdr_encode(&h, buf);
	buf[4] = 9;
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out), -EPROTONOSUPPORT);
	buf[0] = 'X';
	cr_expect_eq(sl_frame_hdr_decode(buf, sizeof(buf), SL_FRAME_MAX, &out), -EPROTO);
}

Test(frame, truncated_header_is_eproto)
{
	const struct sl_frame_hdr h = test_hdr();
	uint8_t buf[SL_FRAME_HDR_LEN];

	sl_frame_hdr_encode(&h, buf);
	for (size_t len = 0; len < SL_FRAME_HDR_LEN; len++) {
		struct sl_frame_hdr out;
		const uint8_t *payload;

		cr_expect_eq(sl_frame_hdr_decode(buf, len, SL_FRAME_MAX, &out), -EPROTO, "len %zu",
			     len);
		cr_expect_eq(sl_frame_parse(buf, len, SL_FRAME_MAX, &out, &payload), -EPROTO,
			     "len %zu", len);
	}
}

Test(frame, parse_accepts_exact_payload)
{
	uint8_t buf[SL_FRAME_HDR_LEN + 7];
	struct sl_frame_hdr h = test_hdr(), out;
	const uint8_t *payload = NULL;

	h.length = 7;
	sl_frame_hdr_encode(&h, buf);
	memcpy(buf + SL_FRAME_HDR_LEN, "payload", 7);
	cr_assert_eq(sl_frame_parse(buf, sizeof(buf), SL_FRAME_MAX, &out, &payload), 0);
	cr_expect_eq(payload, buf + SL_FRAME_HDR_LEN);
	cr_expect_eq(out.length, 7);
	cr_expect_eq(out.type, h.type);
	cr_expect_eq(out.req_id, h.req_id);

	/* An empty message is a valid frame too. */
	h.length = 0;
	sl_frame_hdr_encode(&h, buf);
	cr_expect_eq(sl_frame_parse(buf, SL_FRAME_HDR_LEN, SL_FRAME_MAX, &out, &payload), 0);
	cr_expect_eq(payload, buf + SL_FRAME_HDR_LEN);
}

Test(frame, parse_refuses_trailing_or_missing_payload_bytes)
{
	uint8_t buf[SL_FRAME_HDR_LEN + 64] = { 0 };
	struct sl_frame_hdr h = test_hdr(), out;
	const uint8_t *payload;

	h.length = 32;
	sl_frame_hdr_encode(&h, buf);
	for (size_t len = SL_FRAME_HDR_LEN; len <= sizeof(buf); len++) {
		int want = len == SL_FRAME_HDR_LEN + 32 ? 0 : -EPROTO;

		cr_expect_eq(sl_frame_parse(buf, len, SL_FRAME_MAX, &out, &payload), want,
			     "frame of %zu bytes for a 32-byte payload", len);
	}
}
