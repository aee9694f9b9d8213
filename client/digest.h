/*
 * Shard digests. A shard is cut into blocks of SL_DIGEST_BLOCK bytes (the
 * last one may be short); its root is SHA-256 over the concatenated SHA-256
 * of every block, in order. The catalog keeps each shard's root; a data
 * server keeps the block list, so that a range read can be checked block by
 * block against a list that is itself checked against the root.
 *
 * Pure functions: no allocation, any thread. 0 or a negative errno.
 */
#ifndef SL_DIGEST_H
#define SL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SL_DIGEST_LEN 32u
#define SL_DIGEST_BLOCK 65536u /* the data servers' SL_SHARD_BLOCK */

/* Blocks of a shard of len bytes. */
static inline size_t sl_shard_blocks(size_t len)
{
	return len / SL_DIGEST_BLOCK + (len % SL_DIGEST_BLOCK != 0);
}

/* The root of len bytes of shard data. -EIO when libcrypto fails. */
int sl_shard_root(const uint8_t *data, size_t len, uint8_t root[32]);
/* The block list of len bytes of shard data: sl_shard_blocks(len) x 32 bytes into list. */
int sl_shard_block_digests(const uint8_t *data, size_t len, uint8_t *list);
/* 0 when SHA-256 of the n_blocks x 32-byte list is root, -EBADMSG when not. */
int sl_digest_list_check(const uint8_t *list, size_t n_blocks, const uint8_t root[32]);
/*
 * Checks len bytes of a shard starting at block `first` (len covers whole
 * blocks, the last one short only at the shard's end) against the shard's
 * block list of n_blocks entries: 0, or -EBADMSG at the first block that
 * differs or lies outside the list.
 */
int sl_blocks_check(const uint8_t *data, size_t len, size_t first, const uint8_t *list,
		    size_t n_blocks);
/*
 * Widens [off, off + len) of a shard of shard_len bytes to whole blocks,
 * clamped to the shard's end: *aoff <= off and off + len <= *aoff + *alen.
 * -EINVAL when the range is empty or does not lie inside the shard.
 */
int sl_block_span(uint32_t off, uint32_t len, uint32_t shard_len, uint32_t *aoff, uint32_t *alen);

#endif
