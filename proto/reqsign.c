/* Request MAC computation; see reqsign.h for what it covers. */
#include "reqsign.h"

#include <endian.h>
#include <string.h>

int sl_reqsign_mac(const uint8_t *secret, size_t secret_len, uint16_t type, uint64_t req_id,
		   uint64_t ts_ms, const uint8_t nonce[SL_NONCE_LEN], const char *key_id,
		   const uint8_t *body, size_t body_len, uint8_t mac[SL_MAC_LEN])
{
	uint8_t fixed[5 + 2 + 8 + 8];
	uint16_t t = htobe16(type);
	uint64_t id = htobe64(req_id), ts = htobe64(ts_ms);
	struct iovec iov[4];

	memcpy(fixed, "SLRQ1", 5);
	memcpy(fixed + 5, &t, 2);
	memcpy(fixed + 7, &id, 8);
	memcpy(fixed + 15, &ts, 8);
	iov[0] = (struct iovec){ fixed, sizeof(fixed) };
	iov[1] = (struct iovec){ (void *)nonce, SL_NONCE_LEN };
	iov[2] = (struct iovec){ (void *)key_id, strlen(key_id) + 1 };
	iov[3] = (struct iovec){ (void *)body, body_len };
	return sl_hmac_sha256(secret, secret_len, iov, 4, mac);
}
