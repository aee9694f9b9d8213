/* Frame header encoding and validation; see frame.h for the layout. */
#include "frame.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

void sl_frame_hdr_encode(const struct sl_frame_hdr *h, uint8_t out[SL_FRAME_HDR_LEN])
{
	uint32_t magic = htobe32(SL_FRAME_MAGIC), len = htobe32(h->length);
	uint16_t type = htobe16(h->type);
	uint64_t id = htobe64(h->req_id);

	memcpy(out, &magic, 4);
	out[4] = SL_FRAME_VERSION;
	out[5] = h->flags;
	memcpy(out + 6, &type, 2);
	memcpy(out + 8, &len, 4);
	memcpy(out + 12, &id, 8);
}

int sl_frame_hdr_decode(const uint8_t *buf, size_t len, size_t max_len, struct sl_frame_hdr *h)
{
	uint32_t magic, length;
	uint16_t type;
	uint64_t id;

	if (len < SL_FRAME_HDR_LEN)
		return -EPROTO;
	memcpy(&magic, buf, 4);
	if (be32toh(magic) != SL_FRAME_MAGIC)
		return -EPROTO;
	memcpy(&type, buf + 6, 2);
	memcpy(&length, buf + 8, 4);
	memcpy(&id, buf + 12, 8);
	h->type = be16toh(type);
	h->req_id = be64toh(id);
	if (buf[4] != SL_FRAME_VERSION)
		return -EPROTONOSUPPORT;
	h->version = buf[4];
	h->flags = buf[5];
	h->length = be32toh(length);
	if (h->length > max_len)
		return -EMSGSIZE;
	return 0;
}

int sl_frame_parse(const uint8_t *buf, size_t len, size_t max_len, struct sl_frame_hdr *h,
		   const uint8_t **payload)
{
	int rc = sl_frame_hdr_decode(buf, len, max_len, h);

	if (rc)
		return rc;
	if (len - SL_FRAME_HDR_LEN != h->length)
		return -EPROTO;
	*payload = buf + SL_FRAME_HDR_LEN;
	return 0;
}
