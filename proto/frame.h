/*
 * The one framing layer of every Sluice connection, control plane (TCP) and
 * data plane (libfabric messages) alike:
 *
 *   offset 0  u32 magic "SLCE"   offset 4  u8 version   offset 5  u8 flags
 *   offset 6  u16 type           offset 8  u32 length   offset 12 u64 request id
 *
 * all big-endian, then `length` bytes of packed protobuf. The length is
 * checked against the cap before anything is allocated.
 */
#ifndef SL_FRAME_H
#define SL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define SL_FRAME_MAGIC 0x534c4345u /* "SLCE" */
#define SL_FRAME_VERSION 1
#define SL_FRAME_HDR_LEN 20
/* Largest control-plane payload; list pages and plans stay well below. */
#define SL_FRAME_MAX (4u << 20)
/* Largest first frame of a control-plane connection: nothing larger is read
 * before the connection's first request has authenticated. */
#define SL_FRAME_FIRST_MAX (64u << 10)

struct sl_frame_hdr {
	uint8_t version;
	uint8_t flags;
	uint16_t type;
	uint32_t length;
	uint64_t req_id;
};

/* Writes the 20-byte header into out. */
void sl_frame_hdr_encode(const struct sl_frame_hdr *h, uint8_t out[SL_FRAME_HDR_LEN]);

/*
 * Parses and checks a header: -EPROTO on a bad magic, -EPROTONOSUPPORT on an
 * unknown version (type and req_id are filled in, so a refusal can name the
 * request), -EMSGSIZE when length exceeds max_len (every field is filled in).
 * On -EPROTO *h must not be used.
 */
int sl_frame_hdr_decode(const uint8_t *buf, size_t len, size_t max_len, struct sl_frame_hdr *h);

/*
 * Checks a whole frame held in buf (a datagram-style message): header valid
 * and exactly hdr.length payload bytes after it. *payload points into buf.
 */
int sl_frame_parse(const uint8_t *buf, size_t len, size_t max_len, struct sl_frame_hdr *h,
		   const uint8_t **payload);

#endif
