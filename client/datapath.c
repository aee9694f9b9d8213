/*
 * The client's data-path engine: a pool of transfers, each a tagged request
 * to one data server and the receive of its reply, driven by the session's
 * completion queue. put.c and read.c post batches and wait on them.
 */
#include <errno.h>
#include <rdma/fi_errno.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "frame.h"
#include "plan.h"
#include "session_int.h"
#include "sl_time.h"

static int chunk_add(sluice_session *s)
{
	size_t len = (size_t)SL_XFERS * 2 * SL_XFER_MSG;
	struct sl_xfer_chunk *c;
	int rc;

	if (s->n_chunks == SL_XFER_CHUNKS)
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c || posix_memalign((void **)&c->slab, 4096, len)) {
		free(c);
		return -ENOMEM;
	}
	rc = sl_fabric_mr_reg(&s->fab, c->slab, len, FI_SEND | FI_RECV, &c->mr);
	if (rc) {
		free(c->slab);
		free(c);
		return rc;
	}
	for (int i = 0; i < SL_XFERS; i++) {
		struct sl_xfer *x = &c->xfers[i];

		x->req = c->slab + (size_t)i * 2 * SL_XFER_MSG;
		x->reply = x->req + SL_XFER_MSG;
		x->desc = c->mr.desc;
		x->send.x = x;
		x->recv.x = x;
	}
	s->chunks[s->n_chunks++] = c;
	return 0;
}

void sl_xfer_pool_free(sluice_session *s)
{
	for (int i = 0; i < s->n_chunks; i++) {
		sl_fabric_mr_close(&s->chunks[i]->mr);
		free(s->chunks[i]->slab);
		free(s->chunks[i]);
	}
	s->n_chunks = 0;
}

struct sl_xfer *sl_xfer_get(sluice_session *s)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int c = 0; c < s->n_chunks; c++)
			for (int i = 0; i < SL_XFERS; i++) {
				struct sl_xfer *x = &s->chunks[c]->xfers[i];

				if (x->state != SL_XFER_FREE)
					continue;
				x->state = SL_XFER_BUSY;
				x->send.done = x->recv.done = 0;
				x->send.err = x->recv.err = 0;
				x->result = 0;
				x->asked = 0;
				x->length = 0;
				x->user = NULL;
				x->retry_at = 0;
				x->busy = 0;
				return x;
			}
		if (chunk_add(s))
			return NULL;
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
	uint64_t deadline = sl_mono_ms() + SL_POST_BUDGET_MS;
	int rc;

	x->dest = dest;
	/* Receive first, so the reply can never arrive unexpected. */
	rc = sl_fabric_trecv(&s->fab, x->reply, SL_XFER_MSG, x->desc, x->req_id, 0,
			     &x->recv, deadline);
	if (rc) {
		/* Nothing is posted: the transfer is finished, with this error. */
		x->send.done = x->recv.done = 1;
		x->send.err = rc;
		return rc;
	}
	rc = sl_fabric_tsend(&s->fab, x->req, x->req_len, x->desc, dest, SL_TAG_REQUEST,
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
	struct sl_data_answer a;
	int rc;

	if (x->send.err)
		return x->send.err;
	if (x->recv.err)
		return x->recv.err;
	if (x->recv.len > SL_XFER_MSG)
		return -EPROTO;
	rc = sl_data_reply_decode(x->reply, x->recv.len, x->req_id, x->asked, &a);
	if (rc)
		return rc;
	x->length = a.length;
	x->crc32c = a.crc32c;
	return a.err;
}

/*
 * A data server answers -EBUSY when this client holds its fair share of the
 * server's slots and the server is busy: the transfer is posted again after a
 * short back-off, while the deadline allows. 1 when x waits for that.
 */
static int retry_busy(sluice_session *s, struct sl_xfer *x, uint64_t now, uint64_t deadline_ms)
{
	if (x->retry_at) {
		if (now < x->retry_at)
			return 1;
		x->retry_at = 0;
		x->send.done = x->recv.done = 0;
		x->send.err = x->recv.err = 0;
		/* A failed post finishes x with its error. */
		(void)sl_xfer_post(s, x, x->dest);
		return 0;
	}
	if (x->send.done && x->recv.done && parse_reply(x) == -EBUSY) {
		uint64_t backoff = 1ull << (x->busy < 5 ? x->busy : 5);

		if (now + backoff >= deadline_ms)
			return 0;
		x->busy++;
		x->retry_at = now + backoff;
		return 1;
	}
	return 0;
}

void sl_xfer_wait(sluice_session *s, struct sl_xfer **xs, size_t n, uint64_t deadline_ms)
{
	struct sl_fabric_event ev[16];

	for (;;) {
		size_t pending = 0;
		uint64_t now = sl_mono_ms(), wake = deadline_ms;

		for (size_t i = 0; i < n; i++) {
			if (xs[i]->state != SL_XFER_BUSY)
				continue;
			if (retry_busy(s, xs[i], now, deadline_ms)) {
				pending++;
				wake = xs[i]->retry_at < wake ? xs[i]->retry_at : wake;
				continue;
			}
			pending += xs[i]->state == SL_XFER_BUSY &&
				   !(xs[i]->send.done && xs[i]->recv.done);
		}
		if (!pending || now >= deadline_ms)
			break;
		int got = sl_fabric_poll(&s->fab, ev, 16, (int)(wake - now));
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

#define SL_SUSPECT_MS 30000u

void sl_server_failed(sluice_session *s, uint32_t id)
{
	size_t n = sizeof(s->suspects) / sizeof(s->suspects[0]), slot = 0;
	uint64_t now = sl_mono_ms();

	for (size_t i = 0; i < n; i++) {
		if (s->suspects[i].id == id || s->suspects[i].until_ms < now) {
			slot = i;
			if (s->suspects[i].id == id)
				break;
		}
	}
	s->suspects[slot].id = id;
	s->suspects[slot].until_ms = now + SL_SUSPECT_MS;
}

int sl_server_suspect(const sluice_session *s, uint32_t id)
{
	uint64_t now = sl_mono_ms();

	for (size_t i = 0; i < sizeof(s->suspects) / sizeof(s->suspects[0]); i++)
		if (s->suspects[i].id == id && s->suspects[i].until_ms > now)
			return 1;
	return 0;
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
