/*
 * Capabilities: the short-lived, signed tokens sluice-meta mints and every
 * sluice-data checks before it moves a byte. A packed, fixed-layout binary
 * token (little-endian), then HMAC-SHA256 over all of it with the key of the
 * generation it names:
 *
 *   u8 version | u8 ops | u16 zero | u32 key_gen | u64 tenant | u64 principal
 *   u64 object_id | u64 object_version | u32 shard_first | u32 shard_count
 *   u64 tag_epoch | u64 policy_epoch | u64 issued_ms | u64 expiry_ms
 *   u64 cap_id | u64 session | char purpose[16] | u8 mac[32]
 *
 * session binds the token to the data-plane endpoint it was granted to: the
 * first 8 bytes (little-endian) of SHA-256 of that endpoint's fabric address.
 * A data server refuses a request whose return address hashes otherwise, so
 * a token replayed from another endpoint is worthless.
 */
#ifndef SL_CAPABILITY_H
#define SL_CAPABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define SL_CAP_VERSION 1
#define SL_CAP_BODY_LEN 112
#define SL_CAP_LEN (SL_CAP_BODY_LEN + SL_MAC_LEN)
#define SL_CAP_PURPOSE_LEN 16
/* Lifetime ceiling and the clock skew a data server tolerates. */
#define SL_CAP_MAX_TTL_MS (300u * 1000u)
#define SL_CAP_SKEW_MS (30u * 1000u)
/* Longest fabric address a session is computed over (SL_FABRIC_ADDR_MAX). */
#define SL_CAP_ADDR_MAX 64u

/*
 * Operations. AUDITED marks an object classified confidential or above: a
 * data server serves it only while it can get its refusals into the audit
 * log (sluice-meta acknowledged its records recently and none were lost).
 */
enum sl_cap_op { SL_CAP_OP_READ = 1, SL_CAP_OP_WRITE = 2, SL_CAP_OP_AUDITED = 4 };

struct sl_cap {
	uint8_t version;
	uint8_t ops;
	uint32_t key_gen;
	uint64_t tenant;
	uint64_t principal;
	uint64_t object_id;
	uint64_t object_version;
	uint32_t shard_first;
	uint32_t shard_count;
	uint64_t tag_epoch;
	uint64_t policy_epoch;
	uint64_t issued_ms;
	uint64_t expiry_ms;
	uint64_t cap_id;
	uint64_t session;
	char purpose[SL_CAP_PURPOSE_LEN]; /* NUL-padded, not necessarily terminated */
};

/* Packs and signs cap with the ring's current generation (cap->key_gen is set). */
int sl_cap_mint(struct sl_cap *cap, const struct sl_keyring *kr, uint8_t out[SL_CAP_LEN]);

/*
 * Checks a token in the order the governance model sets: length and version,
 * time (with SL_CAP_SKEW_MS), key generation, MAC (constant time). Every
 * failure returns the same -EACCES; *reason (static text) says why, for the
 * audit log only.
 */
int sl_cap_verify(const uint8_t *buf, size_t len, const struct sl_keyring *kr, uint64_t now_ms,
		  struct sl_cap *out, const char **reason);

/*
 * Checks that a verified capability allows op on (tenant, object, shard).
 * -EACCES with *reason otherwise.
 */
int sl_cap_allows(const struct sl_cap *cap, unsigned op, uint64_t tenant, uint64_t object_id,
		  uint32_t shard, const char **reason);

/*
 * The session of a data-plane endpoint with fabric address addr; 0 (which
 * no capability may carry) for an empty or oversized address.
 */
uint64_t sl_cap_session(const void *addr, size_t len);

/*
 * Checks that a verified capability is bound to the endpoint whose fabric
 * address is addr (the request's return address). -EACCES with *reason
 * otherwise, and for a capability bound to nothing (session 0).
 */
int sl_cap_bound(const struct sl_cap *cap, const void *addr, size_t len, const char **reason);

#endif
