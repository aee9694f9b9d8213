/*
 * What a reader checks a replica's bytes with (digest.h has the digests):
 * a block-digest list against the shard's root from the catalog, received
 * blocks against the list, and the widening of a range to the whole blocks
 * those checks need. Pure functions, thread-safe; 0 or a negative errno.
 */
#ifndef SL_CLIENT_SHARD_VERIFY_H
#define SL_CLIENT_SHARD_VERIFY_H

#include <errno.h>
#include <openssl/crypto.h>

#include "digest.h"

/* 0 when the n_blocks x SL_DIGEST_LEN list hashes to root, -EBADMSG when not. */
static inline int sl_digest_list_check(const uint8_t *list, size_t n_blocks,
				       const uint8_t root[SL_DIGEST_LEN])
{
	uint8_t d[SL_DIGEST_LEN];
	int rc = sl_shard_root_of_list(list, n_blocks, d);

	if (rc)
		return rc;
	return CRYPTO_memcmp(d, root, sizeof(d)) == 0 ? 0 : -EBADMSG;
}

/*
 * Checks len bytes of a shard starting at block `first` (whole blocks, the
 * last one short only at the shard's end) against the shard's list of
 * n_blocks digests: 0, or -EBADMSG at the first block that differs or lies
 * outside the list.
 */
static inline int sl_blocks_check(const uint8_t *data, size_t len, size_t first,
				  const uint8_t *list, size_t n_blocks)
{
	size_t n = sl_shard_blocks(len);
	uint8_t d[SL_DIGEST_LEN];

	if (first > n_blocks || n > n_blocks - first)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * SL_SHARD_BLOCK;
		size_t blen = len - off < SL_SHARD_BLOCK ? len - off : SL_SHARD_BLOCK;
		int rc = sl_block_digest(data + off, blen, d);

		if (rc)
			return rc;
		if (CRYPTO_memcmp(d, list + (first + i) * SL_DIGEST_LEN, sizeof(d)) != 0)
			return -EBADMSG;
	}
	return 0;
}

/*
 * Widens [off, off + len) of a shard of shard_len bytes to whole blocks,
 * clamped to the shard's end: *aoff <= off and off + len <= *aoff + *alen.
 * -EINVAL when the range is empty or does not lie inside the shard.
 */
static inline int sl_block_span(uint32_t off, uint32_t len, uint32_t shard_len, uint32_t *aoff,
				uint32_t *alen)
{
	uint64_t end = (uint64_t)off + len, aend;

	if (len == 0 || end > shard_len)
		return -EINVAL;
	*aoff = off - off % SL_SHARD_BLOCK;
	aend = (end + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK * SL_SHARD_BLOCK;
	if (aend > shard_len)
		aend = shard_len;
	*alen = (uint32_t)(aend - *aoff);
	return 0;
}

#endif
