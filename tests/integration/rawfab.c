/*
 * The hand-driven data-plane client of rawfab.h. Everything fails the test
 * (cr_assert) rather than returning an error: a broken harness is a broken
 * test, never a refusal to be counted as the server's.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "rawfab.h"
#include "rpc.h"
#include "sl_time.h"

void raw_open(struct raw *r, size_t data_len)
{
	memset(r, 0, sizeof(*r));
	r->data_len = data_len;
	cr_assert_eq(posix_memalign((void **)&r->msg, 4096, (size_t)RAW_OPS * 2 * RAW_MSG), 0);
	cr_assert_eq(posix_memalign((void **)&r->data, 4096, data_len), 0);
	memset(r->data, 0, data_len);
	cr_assert_eq(sl_fabric_open(&r->fab, "tcp;ofi_rxm", NULL, NULL), 0);
	cr_assert_eq(sl_fabric_mr_reg(&r->fab, r->msg, (size_t)RAW_OPS * 2 * RAW_MSG,
				      FI_SEND | FI_RECV, &r->msg_mr), 0);
	cr_assert_eq(sl_fabric_mr_reg(&r->fab, r->data, data_len,
				      FI_REMOTE_WRITE | FI_REMOTE_READ | FI_READ | FI_WRITE,
				      &r->data_mr), 0);
}

void raw_progress(struct raw *r, struct raw_op *until, int ms)
{
	for (uint64_t end = sl_mono_ms() + (uint64_t)ms; sl_mono_ms() < end;) {
		struct sl_fabric_event ev[16];
		int n = sl_fabric_poll(&r->fab, ev, 16, 20);

		for (int i = 0; i < n; i++) {
			struct raw_op *o = ev[i].ctx;

			if (!o)
				continue;
			o->done = 1;
			o->err = ev[i].err;
			o->len = ev[i].len;
		}
		if (until && until->done)
			return;
	}
}

void raw_close(struct raw *r)
{
	sl_fabric_close_ep(&r->fab);
	sl_fabric_mr_close(&r->msg_mr);
	sl_fabric_mr_close(&r->data_mr);
	sl_fabric_close(&r->fab);
	free(r->msg);
	free(r->data);
}

int raw_post(struct raw *r, const ProtobufCBinaryData *addr, uint16_t type,
		const ProtobufCMessage *m, uint64_t req_id)
{
	int i = r->next++ % RAW_OPS;
	uint8_t *req = r->msg + (size_t)2 * i * RAW_MSG, *rep = req + RAW_MSG;
	struct sl_frame_hdr h = { .type = type, .req_id = req_id };
	uint64_t deadline = sl_mono_ms() + 5000;
	fi_addr_t dest;

	cr_assert_eq(sl_fabric_av_insert(&r->fab, addr->data, addr->len, &dest), 0);
	h.length = (uint32_t)protobuf_c_message_get_packed_size(m);
	cr_assert(SL_FRAME_HDR_LEN + h.length <= RAW_MSG);
	sl_frame_hdr_encode(&h, req);
	protobuf_c_message_pack(m, req + SL_FRAME_HDR_LEN);
	r->ops[2 * i] = (struct raw_op){ 0 };
	r->ops[2 * i + 1] = (struct raw_op){ 0 };
	cr_assert_eq(sl_fabric_trecv(&r->fab, rep, RAW_MSG, r->msg_mr.desc, req_id, 0,
				     &r->ops[2 * i + 1], deadline), 0);
	cr_assert_eq(sl_fabric_tsend(&r->fab, req, SL_FRAME_HDR_LEN + h.length, r->msg_mr.desc,
				     dest, SL_TAG_REQUEST, &r->ops[2 * i], deadline), 0);
	return i;
}

int raw_wait(struct raw *r, int i, int ms, uint32_t *len)
{
	struct raw_op *o = &r->ops[2 * i + 1];
	const uint8_t *payload;
	struct sl_frame_hdr h;
	Sluice__DataReply *rep;
	int rc;

	raw_progress(r, o, ms);
	if (!o->done) {
		sl_fabric_cancel(&r->fab, o);
		raw_progress(r, o, 1000);
		return -ETIMEDOUT;
	}
	if (o->err)
		return o->err;
	cr_assert_eq(sl_frame_parse(r->msg + (size_t)(2 * i + 1) * RAW_MSG, o->len, RAW_MSG, &h,
				    &payload), 0);
	rep = sluice__data_reply__unpack(NULL, h.length, payload);
	cr_assert(rep);
	rc = rep->err;
	if (len)
		*len = rep->length;
	sluice__data_reply__free_unpacked(rep, NULL);
	return rc;
}

void raw_cap(const Sluice__Object *o, unsigned ops, const struct raw *r, struct sl_cap *cap)
{
	uint64_t now = sl_now_ms();

	memset(cap, 0, sizeof(*cap));
	cap->ops = (uint8_t)ops;
	cap->tenant = o->tenant_id;
	cap->object_id = o->id;
	cap->shard_count = o->shard_count;
	cap->issued_ms = now;
	cap->expiry_ms = now + 60000;
	cap->session = sl_cap_session(r->fab.addr, r->fab.addr_len);
	memcpy(cap->purpose, "inference", 9);
}

void raw_mint(const struct tcluster *c, uint32_t server, struct sl_cap *cap, uint8_t *out)
{
	struct sl_keyring kr;

	cr_assert(server >= 1 && server <= (uint32_t)c->n_data);
	cr_assert_eq(sl_keyring_load(&kr, c->server_key[server - 1], 1), 0);
	cr_assert_eq(sl_cap_mint(cap, &kr, out), 0);
}

const ProtobufCBinaryData *raw_server_addr(const Sluice__ObjectPlan *plan, uint32_t id)
{
	for (size_t i = 0; i < plan->n_servers; i++)
		if (plan->servers[i]->id == id)
			return &plan->servers[i]->fabric_addr;
	cr_assert_fail("server %u is not in the plan", id);
	return NULL;
}
