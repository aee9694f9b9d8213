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
 * Keys. sluice-meta holds the cluster secret (a file of 64 hex digits, mode
 * 0600); each data server holds only its own server secret, derived from the
 * cluster secret and its id (sl_keyring_for_server; `sluice-meta
 * --server-key ID --out FILE` writes it in the same file format). A ring is
 * derived from either with HKDF the same way: capability keys, one per
 * generation (the current and the previous are accepted so keys can roll),
 * the key that signs the data server's requests and its replies, and the
 * audit key (used by sluice-meta only). So a data server can verify
 * capabilities minted for it and sign as itself, and nothing more: not mint
 * for another server, not sign as one.
 */
struct sl_keyring {
	uint32_t cap_gen;
	uint8_t cap_key[SL_KEY_LEN];      /* generation cap_gen */
	uint8_t cap_key_prev[SL_KEY_LEN]; /* generation cap_gen - 1 */
	uint8_t server_key[SL_KEY_LEN];   /* signs data-server -> meta requests */
	uint8_t audit_key[SL_KEY_LEN];    /* signs audit chain heads (sluice-meta only) */
	uint8_t root[SL_KEY_LEN];         /* the secret the ring was derived from */
};

/* Derives every key of the ring from a 32-byte cluster secret. */
int sl_keyring_init(struct sl_keyring *kr, const uint8_t secret[SL_KEY_LEN], uint32_t gen);
/* Reads the cluster secret file and derives the ring. */
int sl_keyring_load(struct sl_keyring *kr, const char *path, uint32_t gen);
/* Creates a new secret file (O_EXCL, 0600); -EEXIST when it is already there. */
int sl_keyring_create_file(const char *path);

/* The ring of data server `id`, from the cluster's ring (its root is the cluster secret). */
int sl_keyring_for_server(const struct sl_keyring *cluster, uint32_t id, struct sl_keyring *out);
/* The same, for capability key generation gen (and gen - 1 as the previous). */
int sl_keyring_for_server_gen(const struct sl_keyring *cluster, uint32_t id, uint32_t gen,
			      struct sl_keyring *out);
/* Writes data server id's secret to a new file (O_EXCL, 0600); -EEXIST when it is there. */
int sl_keyring_server_file(const struct sl_keyring *cluster, uint32_t id, const char *path);

/* Data servers sign their requests with the key id SL_SERVER_KEY_ID "<id>". */
#define SL_SERVER_KEY_ID "@data-server/"
/* Parses a data server's key id; -EINVAL when key_id is not one. */
int sl_server_key_id_parse(const char *key_id, uint32_t *id);

/*
 * The MAC sluice-meta puts on its replies to a data server's REGISTER and
 * HEARTBEAT: HMAC-SHA256(server_key, "SLSR1" | challenge (16 bytes, from the
 * request) | the packed reply with its mac field empty), so a reply cannot be
 * forged, nor replayed to another request.
 */
int sl_server_reply_mac(const struct sl_keyring *server, const uint8_t challenge[16],
			const uint8_t *body, size_t len, uint8_t mac[SL_MAC_LEN]);

#endif
