/*
 * The client side of a sluice-meta connection: signs each request with the
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

struct sl_rpc_client {
	char addr[256];
	char key_id[64];
	uint8_t secret[SL_KEY_LEN];
	int fd;
	uint32_t timeout_ms;
	uint64_t next_id;
	char error[256]; /* the last failure, one line for a human */
};

void sl_rpc_client_init(struct sl_rpc_client *c, const char *addr, const char *key_id,
			const uint8_t secret[SL_KEY_LEN], uint32_t timeout_ms);
void sl_rpc_client_close(struct sl_rpc_client *c);

/*
 * Calls RPC `type` with req; on success *resp (when resp is non-NULL) holds
 * the unpacked reply, to be freed with protobuf_c_message_free_unpacked.
 * Returns 0, the server's negative errno (c->error has its message), or a
 * transport error (-ECONNREFUSED, -ETIMEDOUT, -EPROTO...).
 */
int sl_rpc_call(struct sl_rpc_client *c, uint16_t type, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

#endif
