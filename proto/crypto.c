/* OpenSSL-backed primitives and the cluster keyring; see crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sl_hmac_sha256(const uint8_t *key, size_t key_len, const struct iovec *iov, int iovcnt,
		   uint8_t out[SL_MAC_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
								 (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	size_t out_len = 0;
	int rc = -EIO;

	if (!mac)
		return -EIO;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx || !EVP_MAC_init(ctx, key, key_len, params))
		goto out;
	for (int i = 0; i < iovcnt; i++)
		if (!EVP_MAC_update(ctx, iov[i].iov_base, iov[i].iov_len))
			goto out;
	if (!EVP_MAC_final(ctx, out, &out_len, SL_MAC_LEN) || out_len != SL_MAC_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int sl_mac_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int sl_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const char *info, uint8_t out[SL_KEY_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = NULL;
	static const char salt[] = "sluice-hkdf-v1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
						  sizeof(salt) - 1),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
		OSSL_PARAM_construct_end()
	};
	int rc = -EIO;

	if (!kdf)
		return -EIO;
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx && EVP_KDF_derive(ctx, out, SL_KEY_LEN, params) > 0)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

int sl_random_bytes(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

void sl_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sl_hex_decode(const char *in, uint8_t *out, size_t out_len)
{
	if (strlen(in) != 2 * out_len)
		return -EINVAL;
	for (size_t i = 0; i < out_len; i++) {
		int hi = hex_val(in[2 * i]), lo = hex_val(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int sl_keyring_init(struct sl_keyring *kr, const uint8_t secret[SL_KEY_LEN], uint32_t gen)
{
	char info[64];
	int rc;

	memset(kr, 0, sizeof(*kr));
	memcpy(kr->root, secret, SL_KEY_LEN);
	kr->cap_gen = gen ? gen : 1;
	snprintf(info, sizeof(info), "capability gen %u", kr->cap_gen);
	rc = sl_hkdf_sha256(secret, SL_KEY_LEN, info, kr->cap_key);
	if (rc)
		return rc;
	snprintf(info, sizeof(info), "capability gen %u", kr->cap_gen - 1);
	rc = sl_hkdf_sha256(secret, SL_KEY_LEN, info, kr->cap_key_prev);
	if (rc)
		return rc;
	rc = sl_hkdf_sha256(secret, SL_KEY_LEN, "audit chain head", kr->audit_key);
	if (rc)
		return rc;
	return sl_hkdf_sha256(secret, SL_KEY_LEN, "data server requests", kr->server_key);
}

int sl_keyring_load(struct sl_keyring *kr, const char *path, uint32_t gen)
{
	char text[2 * SL_KEY_LEN + 2] = { 0 };
	uint8_t secret[SL_KEY_LEN];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 2 * SL_KEY_LEN)
		return -EINVAL;
	text[2 * SL_KEY_LEN] = '\0';
	rc = sl_hex_decode(text, secret, sizeof(secret));
	if (!rc)
		rc = sl_keyring_init(kr, secret, gen);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

/* Writes secret as 64 hex digits to a new file (O_EXCL, 0600). */
static int secret_file_create(const uint8_t secret[SL_KEY_LEN], const char *path)
{
	char text[2 * SL_KEY_LEN + 2];
	int fd, rc;

	sl_hex_encode(secret, SL_KEY_LEN, text);
	strcat(text, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		OPENSSL_cleanse(text, sizeof(text));
		return rc;
	}
	rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -EIO;
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int sl_keyring_create_file(const char *path)
{
	uint8_t secret[SL_KEY_LEN];
	int rc = sl_random_bytes(secret, sizeof(secret));

	rc = rc ? rc : secret_file_create(secret, path);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

/* Data server id's secret: HKDF of the cluster secret with the id. */
static int server_secret(const struct sl_keyring *cluster, uint32_t id, uint8_t out[SL_KEY_LEN])
{
	char info[64];

	if (!id)
		return -EINVAL;
	snprintf(info, sizeof(info), "data server %u", id);
	return sl_hkdf_sha256(cluster->root, SL_KEY_LEN, info, out);
}

int sl_keyring_for_server_gen(const struct sl_keyring *cluster, uint32_t id, uint32_t gen,
			      struct sl_keyring *out)
{
	uint8_t secret[SL_KEY_LEN];
	int rc = server_secret(cluster, id, secret);

	rc = rc ? rc : sl_keyring_init(out, secret, gen);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int sl_keyring_for_server(const struct sl_keyring *cluster, uint32_t id, struct sl_keyring *out)
{
	return sl_keyring_for_server_gen(cluster, id, cluster->cap_gen, out);
}

int sl_keyring_server_file(const struct sl_keyring *cluster, uint32_t id, const char *path)
{
	uint8_t secret[SL_KEY_LEN];
	int rc = server_secret(cluster, id, secret);

	rc = rc ? rc : secret_file_create(secret, path);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int sl_server_key_id_parse(const char *key_id, uint32_t *id)
{
	size_t pl = strlen(SL_SERVER_KEY_ID);
	unsigned long long v = 0;
	const char *p;

	if (strncmp(key_id, SL_SERVER_KEY_ID, pl) != 0 || !key_id[pl])
		return -EINVAL;
	/* Digits only, no sign or leading zero: one id, one spelling. */
	for (p = key_id + pl; *p; p++) {
		if (*p < '0' || *p > '9' || (p == key_id + pl && *p == '0') || p - (key_id + pl) >= 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

int sl_server_reply_mac(const struct sl_keyring *server, const uint8_t challenge[16],
			const uint8_t *body, size_t len, uint8_t mac[SL_MAC_LEN])
{
	struct iovec iov[3] = { { (void *)"SLSR1", 5 }, { (void *)challenge, 16 },
				{ (void *)body, len } };

	return sl_hmac_sha256(server->server_key, SL_KEY_LEN, iov, 3, mac);
}
