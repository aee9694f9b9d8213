/*
 * Request authentication for sluice-meta. Each request frame carries a Signed
 * envelope: key id, timestamp, a 16-byte nonce and
 *
 *   mac = HMAC-SHA256(secret, "SLRQ1" | be16 type | be64 req_id |
 *                             be64 timestamp_ms | nonce | key_id NUL | body)
 *
 * so the secret never crosses the wire and a captured request cannot be
 * replayed under another type, id or time. The server also refuses
 * timestamps outside SL_REQ_SKEW_MS and nonces it has seen (server/meta/auth.c).
 */
#ifndef SL_REQSIGN_H
#define SL_REQSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define SL_NONCE_LEN 16
#define SL_REQ_SKEW_MS (120u * 1000u)

int sl_reqsign_mac(const uint8_t *secret, size_t secret_len, uint16_t type, uint64_t req_id,
		   uint64_t ts_ms, const uint8_t nonce[SL_NONCE_LEN], const char *key_id,
		   const uint8_t *body, size_t body_len, uint8_t mac[SL_MAC_LEN]);

#endif
