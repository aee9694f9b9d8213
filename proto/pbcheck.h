/*
 * A check of packed protobuf bytes before they are unpacked: no field that
 * the message's descriptor declares a string holds a NUL byte, at any depth.
 *
 * protobuf-c hands strings out NUL-terminated and keeps no length, so a name
 * sent as "a\0/../b" would reach a handler as "a": another name than the one
 * sent, past every check of it. A server refuses such bytes before it
 * unpacks them, so that the string it checks is the string that was sent.
 */
#ifndef SL_PBCHECK_H
#define SL_PBCHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting followed into sub-messages; deeper ones are refused (-EPROTO). */
#define SL_PBCHECK_DEPTH 16

/*
 * 0 when no string field of the message d describes, in buf[0, len), holds
 * a NUL byte; -EINVAL when one does; -EPROTO when the bytes are not a well
 * formed protobuf encoding (unpacking would fail too) or nest deeper than
 * SL_PBCHECK_DEPTH. Fields d does not know are skipped. Pure, thread-safe,
 * no allocation; reads nothing outside buf[0, len).
 */
int sl_pb_strings_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len);

#endif
