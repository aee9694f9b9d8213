/*
 * The client's data-path engine: a pool of transfers, each a tagged request
 * to one data server and the receive of its reply, driven by the session's
 * completion queue. put.c and read.c post batches and wait on them.
 */
#include <errno.h>
#include <rdma/fi_errno.h>
#include <string.h>

#include "frame.h"
#include "session_int.h"
#include "sl_time.h"

struct sl_xfer *sl_xfer_get(sluice_session *s)
{
	for (int i = 0; i < SL_XFERS; i++) {
		struct sl_xfer *x = &s->xfers[i];

		if (x->state == SL_XFER_FREE) {
			x->state = SL_XFER_BUSY;
			x->send.done = x->recv.done = 0;
			x->send.err = x->recv.err = 0;
			x->result = 0;
			x->user = NULL;
			return x;
		}
	}
	return NULL;
}

int sl_xfer_frame(sluice_session *s, struct sl_xfer *x, uint16_t type, const ProtobufCMessage *m)
{
	struct sl_frame_hdr h = { .type = type };
	size_t len = protobuf_c_message_get_packed_size(m);

	if (SL_FRAME_HDR_LEN + len > SL_XFER_MSG)
		return -EMSGSIZE;
	x->req_id = ++s->next_req;
	h.req_id = x->req_id;
	h.length = (uint32_t)len;
	sl_frame_hdr_encode(&h, x->req);
	protobuf_c_message_pack(m, x->req + SL_FRAME_HDR_LEN);
	x->req_len = SL_FRAME_HDR_LEN + len;
	return 0;
}

int sl_xfer_post(sluice_session *s, struct sl_xfer *x, fi_addr_t dest)
{
	uint64_t deadline = sl_mono_ms() + s->timeout_ms;
	int rc;

	/* Receive first, so the reply can never arrive unexpected. */
	rc = sl_fabric_trecv(&s->fab, x->reply, SL_XFER_MSG, s->msg_mr.desc, x->req_id, 0,
			     &x->recv, deadline);
	if (rc) {
		/* Nothing is posted: the transfer is finished, with this error. */
		x->send.done = x->recv.done = 1;
		x->send.err = rc;
		return rc;
	}
	rc = sl_fabric_tsend(&s->fab, x->req, x->req_len, s->msg_mr.desc, dest, SL_TAG_REQUEST,
			     &x->send, deadline);
	if (rc) {
		/* The receive is posted: it must complete (cancelled) before reuse. */
		sl_fabric_cancel(&s->fab, &x->recv);
		x->send.done = 1;
		x->send.err = rc;
		x->state = SL_XFER_LOST;
	}
	return rc;
}

static void on_completion(const struct sl_fabric_event *ev)
{
	struct sl_xfer_op *op = ev->ctx;
	struct sl_xfer *x;

	if (!op)
		return;
	x = op->x;
	op->done = 1;
	op->err = ev->err;
	op->len = ev->len;
	if (x->state == SL_XFER_LOST && x->send.done && x->recv.done)
		x->state = SL_XFER_FREE; /* a cancelled transfer finally came home */
}

static int parse_reply(struct sl_xfer *x)
{
	struct sl_frame_hdr h;
	const uint8_t *payload;
	Sluice__DataReply *r;
	int rc;

	if (x->send.err)
		return x->send.err;
	if (x->recv.err)
		return x->recv.err;
	rc = sl_frame_parse(x->reply, x->recv.len, SL_XFER_MSG, &h, &payload);
	if (rc)
		return rc;
	if (h.req_id != x->req_id)
		return -EPROTO;
	r = sluice__data_reply__unpack(NULL, h.length, payload);
	if (!r)
		return -EPROTO;
	rc = r->err < 0 && r->err > -4096 ? r->err : (r->err ? -EIO : 0);
	sluice__data_reply__free_unpacked(r, NULL);
	return rc;
}

void sl_xfer_wait(sluice_session *s, struct sl_xfer **xs, size_t n, uint64_t deadline_ms)
{
	struct sl_fabric_event ev[16];

	for (;;) {
		size_t pending = 0;
		uint64_t now = sl_mono_ms();

		for (size_t i = 0; i < n; i++)
			pending += xs[i]->state == SL_XFER_BUSY &&
				   !(xs[i]->send.done && xs[i]->recv.done);
		if (!pending || now >= deadline_ms)
			break;
		int got = sl_fabric_poll(&s->fab, ev, 16, (int)(deadline_ms - now));
		for (int i = 0; i < got; i++)
			on_completion(&ev[i]);
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_xfer *x = xs[i];

		if (x->state == SL_XFER_LOST) {
			x->result = x->send.err ? x->send.err : -EIO;
			continue;
		}
		if (x->send.done && x->recv.done) {
			x->result = parse_reply(x);
			x->state = SL_XFER_FREE;
			continue;
		}
		/* Timed out: cancel what is outstanding and quarantine the slot. */
		x->result = -ETIMEDOUT;
		if (!x->recv.done)
			sl_fabric_cancel(&s->fab, &x->recv);
		x->state = SL_XFER_LOST;
	}
}

int sl_plan_server(const Sluice__ObjectPlan *plan, uint32_t id)
{
	for (size_t i = 0; i < plan->n_servers; i++)
		if (plan->servers[i]->id == id)
			return (int)i;
	return -1;
}

int sl_plan_addrs(sluice_session *s, const Sluice__ObjectPlan *plan, fi_addr_t *fi)
{
	for (size_t i = 0; i < plan->n_servers; i++) {
		const ProtobufCBinaryData *a = &plan->servers[i]->fabric_addr;
		int rc = sl_fabric_av_insert(&s->fab, a->data, a->len, &fi[i]);

		if (rc)
			return sl_sess_fail(s, rc, "bad fabric address for data server %u",
					    plan->servers[i]->id);
	}
	return 0;
}
