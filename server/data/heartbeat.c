/*
 * Registration and heartbeats: a thread that tells sluice-meta who this data
 * server is (id, fabric address) and then that it is alive. Heartbeat replies
 * carry the shard replicas to delete (of abandoned ingests and deleted
 * objects); the next heartbeat reports them deleted. When sluice-meta does
 * not know us (it restarted with a fresh registry), register again. A
 * sluice-meta that is down is retried quietly; serving goes on meanwhile.
 *
 * Requests are signed with this server's own key (key id
 * "@data-server/<id>"), and every reply is checked against the MAC
 * sluice-meta puts on it over the request's random challenge before
 * anything in it is acted on: a forged or replayed reply deletes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "rpc.h"
#include "rpc_client.h"
#include "sl_log.h"
#include "sl_time.h"

int sl_data_reply_check(struct sl_data *d, const uint8_t challenge[16], ProtobufCMessage *reply,
			ProtobufCBinaryData *mac_field)
{
	ProtobufCBinaryData got = *mac_field;
	uint8_t want[SL_MAC_LEN], *buf;
	size_t len;
	int rc = -EBADMSG;

	*mac_field = (ProtobufCBinaryData){ 0, NULL };
	len = protobuf_c_message_get_packed_size(reply);
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	protobuf_c_message_pack(reply, buf);
	if (got.len == SL_MAC_LEN && sl_server_reply_mac(&d->keys, challenge, buf, len, want) == 0 &&
	    sl_mac_equal(want, got.data, SL_MAC_LEN))
		rc = 0;
	free(buf);
out:
	*mac_field = got; /* freed with the reply */
	if (rc == -EBADMSG)
		SL_ERR("metadata server reply with a bad signature: ignored");
	return rc;
}

static int do_register(struct sl_data *d, struct sl_rpc_client *c, uint32_t *hb_ms)
{
	Sluice__RegisterReq req = SLUICE__REGISTER_REQ__INIT;
	Sluice__DataServer s = SLUICE__DATA_SERVER__INIT;
	Sluice__RegisterResp *resp = NULL;
	uint8_t challenge[16];
	int rc;

	rc = sl_random_bytes(challenge, sizeof(challenge));
	if (rc)
		return rc;
	req.challenge = (ProtobufCBinaryData){ sizeof(challenge), challenge };
	s.id = d->cfg.id;
	s.provider = d->cfg.provider;
	s.label = d->cfg.label;
	s.fabric_addr = (ProtobufCBinaryData){ d->fab.addr_len, d->fab.addr };
	req.server = &s;
	rc = sl_rpc_call(c, SL_RPC_REGISTER, &req.base, &sluice__register_resp__descriptor,
			 (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	rc = sl_data_reply_check(d, challenge, &resp->base, &resp->mac);
	if (!rc)
		*hb_ms = resp->heartbeat_ms ? resp->heartbeat_ms : 1000;
	sluice__register_resp__free_unpacked(resp, NULL);
	if (rc)
		return rc;
	SL_INFO("registered with %s as data server %u", d->cfg.meta, d->cfg.id);
	return 0;
}

/* Deletes the replicas sluice-meta handed out; keeps what was done to report. */
static void do_drops(struct sl_data *d, const Sluice__HeartbeatResp *resp, Sluice__ShardRef *acks,
		     size_t *n_acks)
{
	for (size_t i = 0; i < resp->n_drop && *n_acks < SL_DATA_MAX_ACKS; i++) {
		const Sluice__ShardRef *r = resp->drop[i];
		int rc = sl_shardstore_drop(&d->store, r->tenant_id, r->object_id, r->index);

		if (rc) {
			SL_WARN("deleting shard %llx.%u: %s", (unsigned long long)r->object_id,
				r->index, strerror(-rc));
			continue;
		}
		sluice__shard_ref__init(&acks[*n_acks]);
		acks[*n_acks].tenant_id = r->tenant_id;
		acks[*n_acks].object_id = r->object_id;
		acks[*n_acks].index = r->index;
		(*n_acks)++;
	}
	if (resp->n_drop)
		SL_INFO("deleted %zu shard replicas (abandoned ingests, deleted objects)",
			resp->n_drop);
}

static int heartbeat(struct sl_data *d, struct sl_rpc_client *c, Sluice__ShardRef *acks,
		     size_t *n_acks)
{
	Sluice__HeartbeatReq hb = SLUICE__HEARTBEAT_REQ__INIT;
	Sluice__HeartbeatResp *resp = NULL;
	Sluice__ShardRef *ptrs[SL_DATA_MAX_ACKS];
	uint8_t challenge[16];
	int rc;

	rc = sl_random_bytes(challenge, sizeof(challenge));
	if (rc)
		return rc;
	hb.challenge = (ProtobufCBinaryData){ sizeof(challenge), challenge };
	hb.id = d->cfg.id;
	for (size_t i = 0; i < *n_acks; i++)
		ptrs[i] = &acks[i];
	hb.dropped = ptrs;
	hb.n_dropped = *n_acks;
	rc = sl_rpc_call(c, SL_RPC_HEARTBEAT, &hb.base, &sluice__heartbeat_resp__descriptor,
			 (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	/* Only a reply sluice-meta signed for this request orders deletions. */
	rc = sl_data_reply_check(d, challenge, &resp->base, &resp->mac);
	if (!rc) {
		*n_acks = 0; /* reported */
		do_drops(d, resp, acks, n_acks);
	}
	sluice__heartbeat_resp__free_unpacked(resp, NULL);
	return rc;
}

static void *hb_main(void *arg)
{
	struct sl_data *d = arg;
	struct sl_rpc_client c;
	Sluice__ShardRef acks[SL_DATA_MAX_ACKS];
	size_t n_acks = 0;
	uint32_t hb_ms = 1000;
	int registered = 0, warned = 0;
	char key_id[32];

	snprintf(key_id, sizeof(key_id), SL_SERVER_KEY_ID "%u", d->cfg.id);
	sl_rpc_client_init(&c, d->cfg.meta, key_id, d->keys.server_key, 3000);
	if (sl_rpc_client_set_ca_file(&c, d->cfg.ca_file))
		SL_ERR("%s", c.error);
	while (!d->stopping) {
		int rc;

		if (!registered) {
			rc = do_register(d, &c, &hb_ms);
			registered = rc == 0;
		} else {
			rc = heartbeat(d, &c, acks, &n_acks);
			if (rc == -ENOENT)
				registered = 0;
		}
		if (rc && !warned) {
			SL_WARN("metadata server: %s (retrying)", c.error);
			warned = 1;
		} else if (!rc) {
			warned = 0;
		}
		if (registered || rc)
			sl_sleep_unless(&d->stopping, registered ? hb_ms : 500);
	}
	sl_rpc_client_close(&c);
	return NULL;
}

int sl_data_heartbeat_start(struct sl_data *d)
{
	int rc = pthread_create(&d->hb_thread, NULL, hb_main, d);

	if (rc)
		return -rc;
	d->hb_started = 1;
	return 0;
}

void sl_data_heartbeat_stop(struct sl_data *d)
{
	if (d->hb_started)
		pthread_join(d->hb_thread, NULL);
	d->hb_started = 0;
}
