/*
 * No NUL bytes in protobuf string fields (pbcheck.h): a walk over the wire
 * encoding, field by field, guided by the message descriptors. Every length
 * is checked against what is left of the buffer before it is used.
 */
#include <errno.h>
#include <string.h>

#include "pbcheck.h"

/* Reads a varint at buf[*i]; -EPROTO when it is cut short or over 10 bytes. */
static int varint(const uint8_t *buf, size_t len, size_t *i, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (*i >= len)
			return -EPROTO;
		b = buf[(*i)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -EPROTO;
}

static int check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
		 unsigned depth)
{
	size_t i = 0;

	if (depth > SL_PBCHECK_DEPTH)
		return -EPROTO;
	while (i < len) {
		const ProtobufCFieldDescriptor *f;
		uint64_t key, n;
		int rc = varint(buf, len, &i, &key);

		if (rc)
			return rc;
		switch (key & 7) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			rc = varint(buf, len, &i, &n);
			if (rc)
				return rc;
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
			if (len - i < 8)
				return -EPROTO;
			i += 8;
			break;
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			if (len - i < 4)
				return -EPROTO;
			i += 4;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
			rc = varint(buf, len, &i, &n);
			if (rc)
				return rc;
			if (n > len - i)
				return -EPROTO;
			f = NULL;
			if (key >> 3 <= UINT32_MAX)
				f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
			if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(buf + i, 0, n))
				return -EINVAL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				rc = check(f->descriptor, buf + i, n, depth + 1);
				if (rc)
					return rc;
			}
			i += n;
			break;
		default:
			/* Groups (3, 4) and unknown wire types: protobuf-c refuses them too. */
			return -EPROTO;
		}
	}
	return 0;
}

int sl_pb_strings_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len)
{
	if (!d || (!buf && len))
		return -EPROTO;
	return check(d, buf, len, 0);
}
