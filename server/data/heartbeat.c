/*
 * Registration and heartbeats: a thread that tells sluice-meta who this data
 * server is (id, fabric address) and then that it is alive. When sluice-meta
 * does not know us (it restarted with a fresh registry), register again.
 * A sluice-meta that is down is retried quietly; serving goes on meanwhile.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "rpc.h"
#include "rpc_client.h"
#include "sl_log.h"

static void sleep_ms(struct sl_data *d, uint32_t ms)
{
	while (ms && !d->stopping) {
		uint32_t step = ms < 100 ? ms : 100;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int do_register(struct sl_data *d, struct sl_rpc_client *c, uint32_t *hb_ms)
{
	Sluice__RegisterReq req = SLUICE__REGISTER_REQ__INIT;
	Sluice__DataServer s = SLUICE__DATA_SERVER__INIT;
	Sluice__RegisterResp *resp = NULL;
	int rc;

	s.id = d->cfg.id;
	s.provider = d->cfg.provider;
	s.label = d->cfg.label;
	s.fabric_addr = (ProtobufCBinaryData){ d->fab.addr_len, d->fab.addr };
	req.server = &s;
	rc = sl_rpc_call(c, SL_RPC_REGISTER, &req.base, &sluice__register_resp__descriptor,
			 (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	*hb_ms = resp->heartbeat_ms ? resp->heartbeat_ms : 1000;
	sluice__register_resp__free_unpacked(resp, NULL);
	SL_INFO("registered with %s as data server %u", d->cfg.meta, d->cfg.id);
	return 0;
}

static void *hb_main(void *arg)
{
	struct sl_data *d = arg;
	struct sl_rpc_client c;
	uint32_t hb_ms = 1000;
	int registered = 0, warned = 0;

	sl_rpc_client_init(&c, d->cfg.meta, SL_SERVER_KEY_ID, d->keys.server_key, 3000);
	while (!d->stopping) {
		int rc;

		if (!registered) {
			rc = do_register(d, &c, &hb_ms);
			registered = rc == 0;
		} else {
			Sluice__HeartbeatReq hb = SLUICE__HEARTBEAT_REQ__INIT;

			hb.id = d->cfg.id;
			rc = sl_rpc_call(&c, SL_RPC_HEARTBEAT, &hb.base, NULL, NULL);
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
			sleep_ms(d, registered ? hb_ms : 500);
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
