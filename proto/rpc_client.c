/* Signed request/reply calls to sluice-meta; see rpc_client.h. */
#include "rpc_client.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "reqsign.h"
#include "rpc.h"
#include "sl_time.h"

void sl_rpc_client_init(struct sl_rpc_client *c, const char *addr, const char *key_id,
			const uint8_t secret[SL_KEY_LEN], uint32_t timeout_ms)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	snprintf(c->key_id, sizeof(c->key_id), "%s", key_id);
	memcpy(c->secret, secret, SL_KEY_LEN);
	c->fd = -1;
	c->timeout_ms = timeout_ms ? timeout_ms : 10000;
	sl_random_bytes(&c->next_id, sizeof(c->next_id));
	c->next_id &= 0xffffffffull;
}

void sl_rpc_client_close(struct sl_rpc_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	OPENSSL_cleanse(c->secret, sizeof(c->secret));
}

static int transport_error(struct sl_rpc_client *c, int rc)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (rc == -ETIMEDOUT)
		snprintf(c->error, sizeof(c->error), "metadata server %s did not answer in time",
			 c->addr);
	else if (rc == -EPROTO || rc == -EPROTONOSUPPORT || rc == -EMSGSIZE)
		snprintf(c->error, sizeof(c->error), "bad reply from metadata server %s: %s",
			 c->addr, strerror(-rc));
	else
		snprintf(c->error, sizeof(c->error), "metadata server %s unreachable: %s", c->addr,
			 strerror(-rc));
	return rc;
}

/* One attempt: connect if needed, send, receive the reply frame. */
static int exchange(struct sl_rpc_client *c, uint16_t type, uint64_t id, const uint8_t *buf,
		    size_t len, uint8_t **reply, size_t *reply_len)
{
	uint64_t deadline = sl_mono_ms() + c->timeout_ms;
	struct sl_frame_hdr h;
	int rc;

	if (c->fd < 0) {
		rc = sl_tcp_connect(c->addr, deadline);
		if (rc < 0)
			return rc;
		c->fd = rc;
	}
	rc = sl_frame_send(c->fd, type, id, buf, len, deadline);
	if (rc)
		return rc;
	rc = sl_frame_recv(c->fd, &h, reply, deadline);
	if (rc)
		return rc;
	if (h.type != (type | SL_RPC_REPLY) || h.req_id != id) {
		free(*reply);
		*reply = NULL;
		return -EPROTO;
	}
	*reply_len = h.length;
	return 0;
}

int sl_rpc_call(struct sl_rpc_client *c, uint16_t type, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
	Sluice__Signed env = SLUICE__SIGNED__INIT;
	Sluice__Reply *r = NULL;
	uint8_t nonce[SL_NONCE_LEN], mac[SL_MAC_LEN];
	uint8_t *body = NULL, *frame = NULL, *reply = NULL;
	size_t body_len, frame_len, reply_len = 0;
	uint64_t id = ++c->next_id;
	int rc;

	c->error[0] = '\0';
	if (resp)
		*resp = NULL;
	body_len = protobuf_c_message_get_packed_size(req);
	body = malloc(body_len ? body_len : 1);
	if (!body)
		return -ENOMEM;
	protobuf_c_message_pack(req, body);
	env.key_id = c->key_id;
	env.body = (ProtobufCBinaryData){ body_len, body };
	for (int attempt = 0; attempt < 2; attempt++) {
		/* Every attempt is signed afresh: a resent nonce would be a replay. */
		env.timestamp_ms = sl_now_ms();
		rc = sl_random_bytes(nonce, sizeof(nonce));
		if (!rc)
			rc = sl_reqsign_mac(c->secret, SL_KEY_LEN, type, id, env.timestamp_ms, nonce,
					    c->key_id, body, body_len, mac);
		if (rc)
			goto out;
		env.nonce = (ProtobufCBinaryData){ sizeof(nonce), nonce };
		env.mac = (ProtobufCBinaryData){ sizeof(mac), mac };
		frame_len = sluice__signed__get_packed_size(&env);
		rc = -EMSGSIZE;
		if (frame_len > SL_FRAME_MAX)
			goto out;
		free(frame);
		rc = -ENOMEM;
		frame = malloc(frame_len);
		if (!frame)
			goto out;
		sluice__signed__pack(&env, frame);
		rc = exchange(c, type, id, frame, frame_len, &reply, &reply_len);
		/* A kept-alive connection the server has since closed: once more. */
		if (rc != -ECONNRESET && rc != -EPIPE)
			break;
		close(c->fd);
		c->fd = -1;
	}
	if (rc) {
		transport_error(c, rc);
		goto out;
	}
	r = sluice__reply__unpack(NULL, reply_len, reply);
	if (!r) {
		rc = transport_error(c, -EPROTO);
		goto out;
	}
	if (r->err) {
		rc = r->err < 0 && r->err > -4096 ? r->err : -EIO;
		snprintf(c->error, sizeof(c->error), "%s", r->msg[0] ? r->msg : strerror(-rc));
		goto out;
	}
	if (resp && resp_desc) {
		*resp = protobuf_c_message_unpack(resp_desc, NULL, r->body.len, r->body.data);
		if (!*resp)
			rc = transport_error(c, -EPROTO);
	}
out:
	if (r)
		sluice__reply__free_unpacked(r, NULL);
	free(reply);
	free(frame);
	free(body);
	return rc;
}
