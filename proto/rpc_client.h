/*
 * The client side of a sluice-meta connection: a TLS 1.3 connection that
 * verifies the server against the cluster CA; signs each request with the
 * caller's key, sends it, waits for the matching reply with a deadline and
 * unwraps it. Used by libsluice and by sluice-data for register/heartbeat.
 * One caller at a time per sl_rpc_client.
 */
#ifndef SL_RPC_CLIENT_H
#define SL_RPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "tls.h"

struct ssl_ctx_st;

struct sl_rpc_client {
	char addr[256];
	char key_id[64];
	uint8_t secret[SL_KEY_LEN];
	struct ssl_ctx_st *tls; /* trusts the cluster CA; NULL: no CA, every call fails */
	struct sl_conn conn;
	uint32_t timeout_ms;
	uint64_t next_id;
	char error[256]; /* the last failure, one line for a human */
};

void sl_rpc_client_init(struct sl_rpc_client *c, const char *addr, const char *key_id,
			const uint8_t secret[SL_KEY_LEN], uint32_t timeout_ms);
void sl_rpc_client_close(struct sl_rpc_client *c);

/*
 * The CA the server's certificate must chain to, as DER bytes or as a file
 * (PEM or DER). Without one every call fails with -ENOKEY: the control plane
 * has no clear-text mode. 0, or -EINVAL / -ENOENT with c->error set.
 */
int sl_rpc_client_set_ca(struct sl_rpc_client *c, const uint8_t *der, size_t len);
int sl_rpc_client_set_ca_file(struct sl_rpc_client *c, const char *path);

/*
 * Calls RPC `type` with req; on success *resp (when resp is non-NULL) holds
 * the unpacked reply, to be freed with protobuf_c_message_free_unpacked.
 * Returns 0, the server's negative errno (c->error has its message), or a
 * transport error (-ECONNREFUSED, -ETIMEDOUT, -EPROTO, -EKEYREJECTED when
 * the server's certificate does not verify, -ENOKEY without a CA...).
 */
int sl_rpc_call(struct sl_rpc_client *c, uint16_t type, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

#endif
