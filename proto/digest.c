/* Shard roots and block digests (SHA-256 with OpenSSL EVP); see digest.h. */
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>

int sl_block_digest(const void *buf, size_t len, uint8_t out[SL_DIGEST_LEN])
{
	unsigned int n = SL_DIGEST_LEN;

	return EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}

int sl_shard_root_of_list(const uint8_t *list, size_t n_blocks, uint8_t root[SL_DIGEST_LEN])
{
	return sl_block_digest(list, n_blocks * SL_DIGEST_LEN, root);
}

int sl_shard_root(const void *buf, size_t len, uint8_t root[SL_DIGEST_LEN])
{
	EVP_MD_CTX *outer = EVP_MD_CTX_new();
	const uint8_t *p = buf;
	uint8_t d[SL_DIGEST_LEN];
	unsigned int n = SL_DIGEST_LEN;
	int rc = -ENOMEM;

	if (!outer || EVP_DigestInit_ex(outer, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t off = 0; off < len; off += SL_SHARD_BLOCK) {
		size_t take = len - off < SL_SHARD_BLOCK ? len - off : SL_SHARD_BLOCK;

		if (sl_block_digest(p + off, take, d) || EVP_DigestUpdate(outer, d, sizeof(d)) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(outer, root, &n) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(outer);
	return rc;
}
