/*
 * The few cryptographic primitives Sluice uses, all from OpenSSL libcrypto:
 * HMAC-SHA256 over scattered buffers, HKDF-SHA256, SHA-256, random bytes and
 * hex. Every function returns 0 or a negative errno.
 */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SL_MAC_LEN 32
#define SL_KEY_LEN 32

int sl_hmac_sha256(const uint8_t *key, size_t key_len, const struct iovec *iov, int iovcnt,
		   uint8_t out[SL_MAC_LEN]);
/* Constant-time comparison: 1 when equal. */
int sl_mac_equal(const uint8_t *a, const uint8_t *b, size_t len);
int sl_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const char *info, uint8_t out[SL_KEY_LEN]);
int sl_random_bytes(void *buf, size_t len);
void sl_hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
/* Decodes exactly out_len bytes from 2*out_len hex digits; -EINVAL otherwise. */
int sl_hex_decode(const char *in, uint8_t *out, size_t out_len);

/*
 * Cluster secret shared by sluice-meta and every sluice-data (a file holding
 * 64 hex digits, mode 0600). Capability keys and the data servers' request key
 * are derived from it with HKDF, one capability key per generation; the
 * current and the previous generation are accepted so keys can roll.
 */
struct sl_keyring {
	uint32_t cap_gen;
	uint8_t cap_key[SL_KEY_LEN];      /* generation cap_gen */
	uint8_t cap_key_prev[SL_KEY_LEN]; /* generation cap_gen - 1 */
	uint8_t server_key[SL_KEY_LEN];   /* signs data-server -> meta requests */
	uint8_t audit_key[SL_KEY_LEN];    /* signs audit chain heads (sluice-meta only) */
};

/* Derives every key of the ring from a 32-byte cluster secret. */
int sl_keyring_init(struct sl_keyring *kr, const uint8_t secret[SL_KEY_LEN], uint32_t gen);
/* Reads the cluster secret file and derives the ring. */
int sl_keyring_load(struct sl_keyring *kr, const char *path, uint32_t gen);
/* Creates a new secret file (O_EXCL, 0600); -EEXIST when it is already there. */
int sl_keyring_create_file(const char *path);

/* The key id data servers sign their requests to sluice-meta with. */
#define SL_SERVER_KEY_ID "@data-server"

#endif
