/*
 * Shard integrity digests, shared by the client's put (which computes them),
 * its reads (which verify against them) and the data servers (which keep the
 * per-block list with each shard). A shard is cut into SL_SHARD_BLOCK
 * bytes blocks, the last one possibly short; its root is
 *   SHA-256( SHA-256(block 0) || SHA-256(block 1) || ... ),
 * which sluice-meta keeps in the catalog (Shard.sha256) and hands only to
 * principals allowed to read. A data server keeps the per-block list; the
 * list checks against the root, each block against the list, so a range
 * read verifies only the blocks it touches. Pure functions, thread-safe.
 */
#ifndef SL_DIGEST_H
#define SL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* The unit of checksums and digests in a shard, the same for every process. */
#define SL_SHARD_BLOCK 65536u
#define SL_DIGEST_LEN 32

/* Blocks in a shard of len bytes. */
static inline size_t sl_shard_blocks(size_t len)
{
	return (len + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK;
}

/* The root of the len bytes at buf. 0, or -ENOMEM when OpenSSL fails. */
int sl_shard_root(const void *buf, size_t len, uint8_t root[SL_DIGEST_LEN]);
/*
 * The root of a block-digest list (n_blocks x SL_DIGEST_LEN bytes, as a
 * data server returns it): compare it with the catalog's root before
 * trusting any entry. 0, or -ENOMEM when OpenSSL fails.
 */
int sl_shard_root_of_list(const uint8_t *list, size_t n_blocks, uint8_t root[SL_DIGEST_LEN]);
/* The digest of one block (len <= SL_SHARD_BLOCK). 0, or -ENOMEM. */
int sl_block_digest(const void *buf, size_t len, uint8_t out[SL_DIGEST_LEN]);

#endif
