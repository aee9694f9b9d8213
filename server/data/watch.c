/*
 * The WATCH long poll: a thread that keeps one request outstanding at
 * sluice-meta, which answers as soon as a revocation or a new key generation
 * is there (or after about a second). Each request carries the audit
 * records this server owes (refusals, summaries of what it served) and
 * acknowledges what the last reply carried; each reply is checked against
 * its MAC over the request's challenge before anything in it is applied.
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

struct watch_batch {
	struct sl_gov_record recs[SL_WATCH_BATCH];
	Sluice__ServedRecord msgs[SL_WATCH_BATCH];
	Sluice__ServedRecord *ptrs[SL_WATCH_BATCH];
	size_t n;
	uint64_t lost;
};

static void batch_fill(struct sl_data *d, struct watch_batch *b, Sluice__WatchReq *req)
{
	b->n = sl_gov_records(&d->gov, b->recs, SL_WATCH_BATCH, &b->lost, sl_now_ms());
	for (size_t i = 0; i < b->n; i++) {
		const struct sl_gov_record *r = &b->recs[i];
		Sluice__ServedRecord *m = &b->msgs[i];

		sluice__served_record__init(m);
		m->time_ms = r->time_ms;
		m->tenant_id = r->tenant;
		m->principal_id = r->principal;
		m->object_id = r->object;
		m->shard = r->shard;
		m->cap_id = r->cap_id;
		m->purpose = (char *)b->recs[i].purpose;
		m->op = (char *)r->op;
		m->decision = r->deny ? (char *)"deny" : (char *)"done";
		m->reason = (char *)r->reason;
		m->bytes = r->bytes;
		m->count = r->count;
		b->ptrs[i] = m;
	}
	req->records = b->ptrs;
	req->n_records = b->n;
	req->records_lost = b->lost;
}

static int watch_once(struct sl_data *d, struct sl_rpc_client *c, struct watch_batch *b)
{
	Sluice__WatchReq req = SLUICE__WATCH_REQ__INIT;
	Sluice__WatchResp *resp = NULL;
	uint8_t challenge[16];
	int rc;

	rc = sl_random_bytes(challenge, sizeof(challenge));
	if (rc)
		return rc;
	req.id = d->cfg.id;
	req.challenge = (ProtobufCBinaryData){ sizeof(challenge), challenge };
	sl_gov_state(&d->gov, &req.incarnation, &req.applied, &req.key_gen);
	batch_fill(d, b, &req);
	rc = sl_rpc_call(c, SL_RPC_WATCH, &req.base, &sluice__watch_resp__descriptor,
			 (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	/* Only a reply sluice-meta signed for this request is applied. */
	rc = sl_data_reply_check(d, challenge, &resp->base, &resp->mac);
	if (!rc && resp->n_revocations > 1024)
		rc = -EBADMSG;
	if (!rc) {
		sl_gov_records_taken(&d->gov, resp->records_taken, b->n, b->lost);
		rc = sl_gov_apply(&d->gov, resp, sl_now_ms());
		if (resp->n_revocations)
			SL_DEBUG("applied %zu revocations (up to %llu)", resp->n_revocations,
				 (unsigned long long)resp->seq);
	}
	sluice__watch_resp__free_unpacked(resp, NULL);
	return rc;
}

static void *watch_main(void *arg)
{
	struct sl_data *d = arg;
	struct watch_batch *b = calloc(1, sizeof(*b));
	struct sl_rpc_client c;
	char key_id[32];
	int warned = 0;

	if (!b) {
		SL_ERR("out of memory: no revocations will be applied, nothing is served");
		return NULL;
	}
	snprintf(key_id, sizeof(key_id), SL_SERVER_KEY_ID "%u", d->cfg.id);
	/* Longer than a poll: sluice-meta holds each request up to a second. */
	sl_rpc_client_init(&c, d->cfg.meta, key_id, d->keys.server_key, 5000);
	if (sl_rpc_client_set_ca_file(&c, d->cfg.ca_file))
		SL_ERR("%s", c.error);
	while (!d->stopping) {
		int rc = watch_once(d, &c, b);

		if (rc && !warned) {
			SL_WARN("metadata server watch: %s (retrying)", rc == -EBADMSG ? "bad reply" : c.error);
			warned = 1;
		} else if (!rc) {
			warned = 0;
		}
		if (rc)
			sl_sleep_unless(&d->stopping, 200);
	}
	sl_rpc_client_close(&c);
	free(b);
	return NULL;
}

int sl_data_watch_start(struct sl_data *d)
{
	int rc = pthread_create(&d->watch_thread, NULL, watch_main, d);

	if (rc)
		return -rc;
	d->watch_started = 1;
	return 0;
}

void sl_data_watch_stop(struct sl_data *d)
{
	if (d->watch_started)
		pthread_join(d->watch_thread, NULL);
	d->watch_started = 0;
}
