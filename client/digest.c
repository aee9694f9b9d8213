/* Shard digests: block SHA-256 lists and their roots; see digest.h. */
#include "digest.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

static int sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	unsigned n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -EIO;
}

int sl_shard_block_digests(const uint8_t *data, size_t len, uint8_t *list)
{
	size_t n = sl_shard_blocks(len);

	for (size_t i = 0; i < n; i++) {
		size_t off = i * SL_DIGEST_BLOCK;
		size_t blen = len - off < SL_DIGEST_BLOCK ? len - off : SL_DIGEST_BLOCK;
		int rc = sha256(data + off, blen, list + i * SL_DIGEST_LEN);

		if (rc)
			return rc;
	}
	return 0;
}

int sl_shard_root(const uint8_t *data, size_t len, uint8_t root[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t d[32];
	unsigned n = 0;
	int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -EIO;

	/* Block by block, without a list as long as the shard's. */
	for (size_t off = 0; !rc && off < len; off += SL_DIGEST_BLOCK) {
		size_t blen = len - off < SL_DIGEST_BLOCK ? len - off : SL_DIGEST_BLOCK;

		rc = sha256(data + off, blen, d);
		if (!rc && EVP_DigestUpdate(ctx, d, sizeof(d)) != 1)
			rc = -EIO;
	}
	if (!rc && (EVP_DigestFinal_ex(ctx, root, &n) != 1 || n != 32))
		rc = -EIO;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int sl_digest_list_check(const uint8_t *list, size_t n_blocks, const uint8_t root[32])
{
	uint8_t d[32];
	int rc = sha256(list, n_blocks * SL_DIGEST_LEN, d);

	if (rc)
		return rc;
	return CRYPTO_memcmp(d, root, sizeof(d)) == 0 ? 0 : -EBADMSG;
}

int sl_blocks_check(const uint8_t *data, size_t len, size_t first, const uint8_t *list,
		    size_t n_blocks)
{
	size_t n = sl_shard_blocks(len);
	uint8_t d[32];

	if (first > n_blocks || n > n_blocks - first)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * SL_DIGEST_BLOCK;
		size_t blen = len - off < SL_DIGEST_BLOCK ? len - off : SL_DIGEST_BLOCK;
		int rc = sha256(data + off, blen, d);

		if (rc)
			return rc;
		if (CRYPTO_memcmp(d, list + (first + i) * SL_DIGEST_LEN, sizeof(d)) != 0)
			return -EBADMSG;
	}
	return 0;
}

int sl_block_span(uint32_t off, uint32_t len, uint32_t shard_len, uint32_t *aoff, uint32_t *alen)
{
	uint64_t end = (uint64_t)off + len, aend;

	if (len == 0 || end > shard_len)
		return -EINVAL;
	*aoff = off - off % SL_DIGEST_BLOCK;
	aend = (end + SL_DIGEST_BLOCK - 1) / SL_DIGEST_BLOCK * SL_DIGEST_BLOCK;
	if (aend > shard_len)
		aend = shard_len;
	*alen = (uint32_t)(aend - *aoff);
	return 0;
}
