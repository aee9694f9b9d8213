/* CRC32C (Castagnoli), the checksum of every shard, computed with ISA-L.
 * Chainable: crc = sl_crc32c(crc, next_buf, len), starting from 0. */
#ifndef SL_CRC32C_H
#define SL_CRC32C_H

#include <isa-l/crc.h>
#include <stddef.h>
#include <stdint.h>

static inline uint32_t sl_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
}

#endif
