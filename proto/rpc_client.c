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
	c->conn = (struct sl_conn)SL_CONN_INIT;
	c->timeout_ms = timeout_ms ? timeout_ms : 10000;
	/* Ids only tell replies apart; freshness comes from each request's
	 * random nonce, whose draw is checked where it is made. */
	if (sl_random_bytes(&c->next_id, sizeof(c->next_id)))
		c->next_id = sl_mono_ms();
	c->next_id &= 0xffffffffull;
}

void sl_rpc_client_close(struct sl_rpc_client *c)
{
	sl_conn_close(&c->conn);
	sl_tls_ctx_free(c->tls);
	c->tls = NULL;
	OPENSSL_cleanse(c->secret, sizeof(c->secret));
}

int sl_rpc_client_set_ca(struct sl_rpc_client *c, const uint8_t *der, size_t len)
{
	struct ssl_ctx_st *ctx;
	int rc = sl_tls_client_ctx(der, len, &ctx);

	if (rc) {
		snprintf(c->error, sizeof(c->error), "the CA certificate is not valid DER");
		return rc;
	}
	sl_conn_close(&c->conn);
	sl_tls_ctx_free(c->tls);
	c->tls = ctx;
	return 0;
}

int sl_rpc_client_set_ca_file(struct sl_rpc_client *c, const char *path)
{
	uint8_t *der;
	size_t len;
	int rc = sl_tls_ca_load_file(path, &der, &len);

	if (rc) {
		snprintf(c->error, sizeof(c->error), "cannot read a CA certificate from %s: %s",
			 path, rc == -ENOENT ? strerror(errno) : "not a PEM or DER certificate");
		return rc;
	}
	rc = sl_rpc_client_set_ca(c, der, len);
	free(der);
	return rc;
}

static int transport_error(struct sl_rpc_client *c, int rc)
{
	sl_conn_close(&c->conn);
	if (c->error[0])
		return rc; /* the TLS layer already said what went wrong */
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

static int sign_and_exchange(struct sl_rpc_client *c, uint16_t type, const ProtobufCMessage *req,
			     uint8_t **reply, size_t *reply_len);
static int reply_unwrap(struct sl_rpc_client *c, const uint8_t *reply, size_t reply_len,
			Sluice__Reply **out);

/*
 * Opens the TLS connection. The server reads no first frame larger than
 * SL_FRAME_FIRST_MAX before a request has authenticated the connection, so a
 * larger first request is preceded by a small one (WHOAMI) that does.
 */
static int connect_meta(struct sl_rpc_client *c, size_t first_len, uint64_t deadline)
{
	Sluice__Empty empty = SLUICE__EMPTY__INIT;
	uint8_t *reply = NULL;
	size_t reply_len;
	int rc;

	if (!c->tls) {
		snprintf(c->error, sizeof(c->error),
			 "no CA configured for metadata server %s: the control plane runs over "
			 "TLS; give the credentials a 'ca' or 'ca_file' entry", c->addr);
		return -ENOKEY;
	}
	rc = sl_conn_connect(&c->conn, c->tls, c->addr, deadline, c->error, sizeof(c->error));
	if (rc)
		return rc;
	c->error[0] = '\0';
	if (first_len <= SL_FRAME_FIRST_MAX)
		return 0;
	rc = sign_and_exchange(c, SL_RPC_WHOAMI, &empty.base, &reply, &reply_len);
	if (!rc) {
		Sluice__Reply *r;

		/* An authentication refusal (the server then hangs up) is the answer
		 * to the real call; any other answer means the connection is in. */
		rc = reply_unwrap(c, reply, reply_len, &r);
		if (r)
			sluice__reply__free_unpacked(r, NULL);
		if (rc != -EACCES) {
			rc = 0;
			c->error[0] = '\0';
		}
	}
	free(reply);
	return rc;
}

/* One attempt: connect if needed, send, receive the reply frame. */
static int exchange(struct sl_rpc_client *c, uint16_t type, uint64_t id, const uint8_t *buf,
		    size_t len, uint8_t **reply, size_t *reply_len)
{
	uint64_t deadline = sl_mono_ms() + c->timeout_ms;
	struct sl_frame_hdr h;
	int rc;

	if (c->conn.fd < 0) {
		rc = connect_meta(c, len, deadline);
		if (rc)
			return rc;
	}
	rc = sl_frame_send(&c->conn, type, id, buf, len, deadline);
	if (rc)
		return rc;
	rc = sl_frame_recv(&c->conn, &h, reply, SL_FRAME_MAX, deadline);
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

/*
 * Packs and signs req and exchanges it, reconnecting once when a kept-alive
 * connection turns out closed. *reply is the raw Reply (free it).
 */
static int sign_and_exchange(struct sl_rpc_client *c, uint16_t type, const ProtobufCMessage *req,
			     uint8_t **reply, size_t *reply_len)
{
	Sluice__Signed env = SLUICE__SIGNED__INIT;
	uint8_t nonce[SL_NONCE_LEN], mac[SL_MAC_LEN];
	uint8_t *body = NULL, *frame = NULL;
	size_t body_len, frame_len;
	uint64_t id = ++c->next_id;
	int rc;

	*reply = NULL;
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
		rc = exchange(c, type, id, frame, frame_len, reply, reply_len);
		/* A kept-alive connection the server has since closed: once more. */
		if (rc != -ECONNRESET && rc != -EPIPE)
			break;
		sl_conn_close(&c->conn);
	}
out:
	free(frame);
	free(body);
	return rc;
}

/* Unwraps a Reply: 0, or the server's error with its message in c->error. */
static int reply_unwrap(struct sl_rpc_client *c, const uint8_t *reply, size_t reply_len,
			Sluice__Reply **out)
{
	Sluice__Reply *r = sluice__reply__unpack(NULL, reply_len, reply);
	int rc;

	*out = r;
	if (!r)
		return transport_error(c, -EPROTO);
	if (!r->err)
		return 0;
	rc = r->err < 0 && r->err > -4096 ? r->err : -EIO;
	snprintf(c->error, sizeof(c->error), "%s", r->msg[0] ? r->msg : strerror(-rc));
	return rc;
}

int sl_rpc_call(struct sl_rpc_client *c, uint16_t type, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
	Sluice__Reply *r = NULL;
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	int rc;

	c->error[0] = '\0';
	if (resp)
		*resp = NULL;
	rc = sign_and_exchange(c, type, req, &reply, &reply_len);
	if (rc) {
		transport_error(c, rc);
		goto out;
	}
	rc = reply_unwrap(c, reply, reply_len, &r);
	if (rc)
		goto out;
	if (resp && resp_desc) {
		*resp = protobuf_c_message_unpack(resp_desc, NULL, r->body.len, r->body.data);
		if (!*resp)
			rc = transport_error(c, -EPROTO);
	}
out:
	if (r)
		sluice__reply__free_unpacked(r, NULL);
	free(reply);
	return rc;
}
