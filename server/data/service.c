/*
 * The data-plane loop: a fixed set of request slots, each with a tagged
 * receive posted for SL_TAG_REQUEST, driven by completions from one CQ and
 * one io_uring. The capability is checked before anything else. A read moves
 * its slot RECV -> DISK (its blocks load while other slots are served) ->
 * RMA write into the client's buffer -> REPLY -> RECV; where the provider
 * orders a send after a write (FI_ORDER_SAW, as tcp;ofi_rxm does) the reply
 * is posted right behind the write (SERVING), elsewhere after the write
 * completes. A digests read goes the same way with the shard's block-digest
 * list from its header in place of data. A write (of a shard not stored yet:
 * shards are write-once): RMA read from the client's buffer -> CRC check,
 * block digests and durable store (inline) -> REPLY -> RECV.
 *
 * A request whose capability does not verify gets no answer at all, the
 * same for every cause (the cause goes to the audit log): its return address
 * is the sender's word until the capability vouches for it, so nothing is
 * inserted, connected to or sent before that; and the capability must have
 * been granted to that very address (its session), so one replayed from
 * another endpoint is refused alike. Verified peers live in the
 * fabric's bounded peer table, held while a slot serves them.
 *
 * No request holds a slot for ever: past slot-timeout-ms its peer is dropped
 * (every slot serving it aborted, its operations cancelled, its connection
 * closed) and the slot waits, ABORTED, for those operations to report before
 * its buffers serve anyone else. When few slots are free, a peer holding a
 * quarter of them or a tenant holding half is answered -EBUSY (clients try
 * again shortly), so one client cannot take every slot from the others.
 */
#include <errno.h>
#include <rdma/fi_errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "data.h"
#include "frame.h"
#include "rpc.h"
#include "sl_log.h"
#include "sl_time.h"

/* How long a post may wait for a peer that is not taking it (a slow or
 * vanished client): the loop serves everyone, so this stays short. */
#define SL_POST_MS 200u
/* A -EBUSY answer is worth even less waiting: one that cannot go is dropped. */
#define SL_BUSY_POST_MS 10u
/* How long an aborted slot waits for its cancelled operations to report
 * before their contexts are orphaned and the slot serves again. */
#define SL_ABORT_GRACE_MS 1000u
/* How often the loop looks for overdue slots. */
#define SL_EXPIRY_SCAN_MS 50u

static int post_recv(struct sl_data *d, struct sl_slot *s)
{
	int rc;

	if (s->held) {
		sl_fabric_peer_put(&d->fab, s->peer);
		s->held = 0;
	}
	s->state = SL_SLOT_RECV;
	rc = sl_fabric_trecv(&d->fab, s->req, SL_DATA_REQ_MAX, d->msg_mr.desc, SL_TAG_REQUEST, 0,
			     s->op, sl_mono_ms() + SL_POST_MS);
	if (rc) {
		/* Not lost: the loop posts it again (repost_idle). */
		s->state = SL_SLOT_IDLE;
		d->repost = 1;
	}
	return rc;
}

/* Posts the receives that could not be posted before. */
static void repost_idle(struct sl_data *d)
{
	d->repost = 0;
	for (uint32_t i = 0; i < d->cfg.slots && !d->stopping; i++)
		if (d->slots[i].state == SL_SLOT_IDLE)
			post_recv(d, &d->slots[i]);
}

/* Posts the reply frame on op, giving the peer budget_ms to take it. */
static int post_reply_within(struct sl_data *d, struct sl_slot *s, int err, struct sl_slot_op *op,
			     uint32_t budget_ms)
{
	Sluice__DataReply rep = SLUICE__DATA_REPLY__INIT;
	struct sl_frame_hdr h = { .type = (uint16_t)(s->type | SL_RPC_REPLY), .req_id = s->req_id };
	size_t len;
	int rc;

	rep.err = err;
	rep.length = err ? 0 : s->length;
	rep.crc32c = err ? 0 : s->crc32c;
	len = sluice__data_reply__get_packed_size(&rep);
	h.length = (uint32_t)len;
	sl_frame_hdr_encode(&h, s->reply);
	sluice__data_reply__pack(&rep, s->reply + SL_FRAME_HDR_LEN);
	rc = sl_fabric_tsend(&d->fab, s->reply, SL_FRAME_HDR_LEN + len, d->msg_mr.desc, s->peer,
			     s->req_id, op, sl_mono_ms() + budget_ms);
	if (rc && budget_ms)
		SL_WARN("reply to request %llu not sent: %s", (unsigned long long)s->req_id,
			strerror(-rc));
	return rc;
}

static int post_reply(struct sl_data *d, struct sl_slot *s, int err, struct sl_slot_op *op)
{
	return post_reply_within(d, s, err, op, SL_POST_MS);
}

static void send_reply(struct sl_data *d, struct sl_slot *s, int err)
{
	s->state = SL_SLOT_REPLY;
	if (post_reply(d, s, err, s->op))
		post_recv(d, s);
}

/*
 * Takes slot s off its peer, which is being dropped: whatever it has posted
 * is cancelled and the slot waits (ABORTED) until those operations report,
 * since until then the provider may still touch its buffers. A slot on the
 * disk finishes its read and then answers no one.
 */
static void detach_slot(struct sl_data *d, struct sl_slot *s, uint64_t now)
{
	s->held = 0;
	switch (s->state) {
	case SL_SLOT_DISK:
		s->gone = 1;
		return;
	case SL_SLOT_SERVING:
		sl_fabric_cancel(&d->fab, s->reply_op);
		/* fallthrough */
	case SL_SLOT_RMA:
	case SL_SLOT_REPLY:
		if (s->state != SL_SLOT_SERVING)
			s->pending = 1;
		sl_fabric_cancel(&d->fab, s->op);
		s->state = SL_SLOT_ABORTED;
		s->deadline_ms = now + SL_ABORT_GRACE_MS;
		d->aborted++;
		return;
	default:
		return;
	}
}

/*
 * Drops a peer that stopped making progress: every slot serving it is
 * detached and the peer leaves the address vector, which closes its
 * connection and so ends what was posted to it.
 */
static void drop_peer(struct sl_data *d, fi_addr_t peer, uint64_t now)
{
	for (uint32_t i = 0; i < d->cfg.slots; i++)
		if (d->slots[i].held && d->slots[i].peer == peer)
			detach_slot(d, &d->slots[i], now);
	sl_fabric_forget_fi(&d->fab, peer);
}

/*
 * An aborted slot whose operations never reported: their contexts become
 * orphans (a late completion finds no slot and frees its context) and the
 * slot gets fresh ones. The peer is gone, so its connection is too: nothing
 * writes into the slot's buffers any more.
 */
static void orphan_ops(struct sl_data *d, struct sl_slot *s)
{
	struct sl_slot_op *op = calloc(1, sizeof(*op)), *reply_op = calloc(1, sizeof(*reply_op));

	if (!op || !reply_op) {
		free(op);
		free(reply_op);
		return; /* tried again at the next scan */
	}
	s->op->slot = NULL;
	s->op->next_orphan = d->orphans;
	s->reply_op->slot = NULL;
	s->reply_op->next_orphan = s->op;
	d->orphans = s->reply_op;
	op->slot = reply_op->slot = s;
	s->op = op;
	s->reply_op = reply_op;
	SL_WARN("slot %d: cancelled operations never reported; their contexts are set aside",
		s->index);
	post_recv(d, s);
}

/* A late completion of an orphaned context: the context can go now. */
static void orphan_done(struct sl_data *d, struct sl_slot_op *op)
{
	for (struct sl_slot_op **p = &d->orphans; *p; p = &(*p)->next_orphan)
		if (*p == op) {
			*p = op->next_orphan;
			free(op);
			return;
		}
}

/* Aborts the requests past their deadline and frees what aborted earlier. */
static void expire_slots(struct sl_data *d)
{
	uint64_t now = sl_mono_ms();

	if (now < d->next_expiry_ms)
		return;
	d->next_expiry_ms = now + SL_EXPIRY_SCAN_MS;
	for (uint32_t i = 0; i < d->cfg.slots; i++) {
		struct sl_slot *s = &d->slots[i];

		if (now < s->deadline_ms)
			continue;
		switch (s->state) {
		case SL_SLOT_RMA:
		case SL_SLOT_SERVING:
		case SL_SLOT_REPLY:
			SL_WARN("request %llu (%s, tenant %llx) made no progress in %u ms: "
				"aborted, its peer dropped",
				(unsigned long long)s->req_id, sl_rpc_name(s->type),
				(unsigned long long)s->tenant, d->cfg.slot_timeout_ms);
			drop_peer(d, s->peer, now);
			break;
		case SL_SLOT_ABORTED:
			orphan_ops(d, s);
			break;
		default:
			break;
		}
	}
}

/*
 * 1 when s's peer or tenant holds its fair share of slots already while
 * fewer than d->reserve others are free: a busy server keeps room for
 * everyone else, an idle one lets a single client use all of it. Aborted
 * slots still count against their tenant.
 */
static int over_share(const struct sl_data *d, const struct sl_slot *s)
{
	uint32_t peer = 0, tenant = 0, free_slots = 0;

	for (uint32_t i = 0; i < d->cfg.slots; i++) {
		const struct sl_slot *t = &d->slots[i];

		if (t == s || t->state == SL_SLOT_IDLE)
			continue;
		if (t->state == SL_SLOT_RECV) {
			free_slots++;
			continue;
		}
		peer += t->held && t->peer == s->peer;
		tenant += t->tenant == s->tenant;
	}
	return (peer >= d->peer_share || tenant >= d->tenant_share) && free_slots < d->reserve;
}

/* A refusal: a log line now, and an audit record once sluice-meta takes it. */
static void audit_refusal(struct sl_data *d, const struct sl_slot *s, const char *why,
			  const struct sl_cap *cap)
{
	d->refused++;
	sl_gov_refused(&d->gov, sl_rpc_name(s->type), s->object, s->shard, cap, why, sl_now_ms());
	SL_WARN("audit: refused %s object %llx shard %u (capability %llx, tenant %llx): %s",
		sl_rpc_name(s->type), (unsigned long long)s->object, s->shard,
		cap ? (unsigned long long)cap->cap_id : 0ull,
		cap ? (unsigned long long)cap->tenant : 0ull, why);
}

/*
 * Checks the capability for this request, and that it was granted to the
 * endpoint at reply_addr; fills s->tenant on success.
 */
static int check_cap(struct sl_data *d, struct sl_slot *s, const ProtobufCBinaryData *token,
		     unsigned op, const ProtobufCBinaryData *reply_addr)
{
	struct sl_cap cap = { 0 };
	const char *why = NULL;
	int rc = sl_gov_check(&d->gov, token->data, token->len, sl_now_ms(), &cap, &why);

	if (rc) {
		/* A capability that verified but is revoked still names who held it. */
		audit_refusal(d, s, why, cap.cap_id ? &cap : NULL);
		return -EACCES;
	}
	/* The shard's owner is the tenant whose folder holds it, which the
	 * header confirms on read; so the capability's tenant names the shard. */
	if (sl_cap_allows(&cap, op, cap.tenant, s->object, s->shard, &why) ||
	    sl_cap_bound(&cap, reply_addr->data, reply_addr->len, &why)) {
		audit_refusal(d, s, why, &cap);
		return -EACCES;
	}
	s->tenant = cap.tenant;
	s->cap = cap;
	return 0;
}

static void start_read(struct sl_data *d, struct sl_slot *s, const Sluice__ShardReadReq *req)
{
	int rc;

	s->digests = req->digests;
	s->offset = req->digests ? 0 : req->offset;
	s->length = req->length;
	s->raddr = req->buf_addr;
	s->rkey = req->buf_key;
	/* Queued here, submitted by the loop: other slots go on meanwhile. The
	 * digest list is in the header, which every read loads. */
	rc = sl_shardstore_read_start(&d->store, &d->uring, s->tenant, s->object, s->shard,
				      s->offset, s->digests ? 0 : s->length, s->data,
				      d->data_stride, s->index, &s->rd);
	if (rc)
		goto fail;
	s->state = SL_SLOT_DISK;
	d->disk_inflight++;
	return;
fail:
	send_reply(d, s, rc);
}

/* The blocks of a read are in: check them, then push the range to the client. */
static void on_disk_done(struct sl_data *d, struct sl_slot *s)
{
	struct sl_shard_hdr hdr;
	const uint8_t *from = s->data + SL_SHARD_HDR_LEN + s->offset;
	int rc = sl_shardstore_read_finish(&s->rd, &hdr);

	if (s->gone) {
		/* Its peer was dropped meanwhile: no one to answer. */
		post_recv(d, s);
		return;
	}
	if (!rc && sl_mono_ms() >= s->deadline_ms)
		rc = -ETIMEDOUT; /* the disk took the request's whole time */
	if (rc)
		goto fail;
	s->crc32c = hdr.crc32c;
	if (s->digests) {
		/* The list as stored, which the header's CRC covered. */
		if (s->length < hdr.n_blocks * SL_SHARD_DIGEST) {
			rc = -ERANGE;
			goto fail;
		}
		s->length = hdr.n_blocks * SL_SHARD_DIGEST;
		from = s->data + offsetof(struct sl_shard_hdr, block_sha);
	}
	if (s->length == 0) {
		send_reply(d, s, 0);
		return;
	}
	s->state = d->saw_ordered ? SL_SLOT_SERVING : SL_SLOT_RMA;
	rc = sl_fabric_write(&d->fab, from, s->length, d->data_mr.desc, s->peer, s->raddr,
			     s->rkey, s->op, sl_mono_ms() + SL_POST_MS);
	if (rc)
		goto fail;
	if (d->saw_ordered) {
		/* The provider delivers a send posted after a write after its data:
		 * reply now instead of waiting a round trip for the write. */
		s->pending = 1;
		if (post_reply(d, s, 0, s->reply_op) == 0)
			s->pending = 2;
		d->served_reads++;
		sl_gov_served(&d->gov, &s->cap, s->shard, s->length, sl_now_ms());
	}
	return;
fail:
	send_reply(d, s, rc);
}

static void start_write(struct sl_data *d, struct sl_slot *s, const Sluice__ShardWriteReq *req)
{
	int rc;

	if (req->length > d->cfg.max_shard) {
		rc = -EFBIG;
		goto fail;
	}
	/* Write-once: a stored shard is refused before any byte moves (the store
	 * refuses it again, atomically, when a race got there first). */
	if (sl_shardstore_exists(&d->store, s->tenant, s->object, s->shard)) {
		SL_WARN("audit: refused %s object %llx shard %u (tenant %llx): shard stored already",
			sl_rpc_name(s->type), (unsigned long long)s->object, s->shard,
			(unsigned long long)s->tenant);
		rc = -EEXIST;
		goto fail;
	}
	s->length = req->length;
	s->crc32c = req->crc32c;
	if (req->length == 0) {
		rc = sl_shardstore_write(&d->store, s->tenant, s->object, s->shard, s->data, 0,
					 s->crc32c);
		goto fail; /* replies rc, 0 included */
	}
	s->state = SL_SLOT_RMA;
	rc = sl_fabric_read(&d->fab, s->data + SL_SHARD_HDR_LEN, req->length, d->data_mr.desc,
			    s->peer, req->buf_addr, req->buf_key, s->op, sl_mono_ms() + SL_POST_MS);
	if (rc)
		goto fail;
	return;
fail:
	send_reply(d, s, rc);
}

static void on_request(struct sl_data *d, struct sl_slot *s, size_t len)
{
	struct sl_frame_hdr h;
	const uint8_t *payload;
	ProtobufCBinaryData reply_addr = { 0, NULL }, token = { 0, NULL };
	ProtobufCMessage *msg = NULL;
	int rc = sl_frame_parse(s->req, len, SL_DATA_REQ_MAX - SL_FRAME_HDR_LEN, &h, &payload);

	/* Nothing to answer without a parsed request and a return address. */
	if (rc)
		goto drop;
	s->type = h.type;
	s->req_id = h.req_id;
	if (h.type == SL_RPC_SHARD_READ) {
		Sluice__ShardReadReq *r = sluice__shard_read_req__unpack(NULL, h.length, payload);

		if (r) {
			msg = &r->base;
			reply_addr = r->reply_addr;
			token = r->capability;
			s->object = r->object_id;
			s->shard = r->index;
		}
	} else if (h.type == SL_RPC_SHARD_WRITE) {
		Sluice__ShardWriteReq *w = sluice__shard_write_req__unpack(NULL, h.length, payload);

		if (w) {
			msg = &w->base;
			reply_addr = w->reply_addr;
			token = w->capability;
			s->object = w->object_id;
			s->shard = w->index;
		}
	}
	if (!msg || !reply_addr.len || reply_addr.len > SL_FABRIC_ADDR_MAX)
		goto drop;
	/* The capability first: an unauthenticated request must not make this
	 * server connect anywhere, send anything or grow the peer table. A
	 * refusal is silence; the sender's request times out. */
	rc = check_cap(d, s, &token, h.type == SL_RPC_SHARD_READ ? SL_CAP_OP_READ : SL_CAP_OP_WRITE,
		       &reply_addr);
	if (rc)
		goto drop;
	if (sl_fabric_av_insert(&d->fab, reply_addr.data, reply_addr.len, &s->peer)) {
		SL_WARN("no room for another peer: request %llu dropped",
			(unsigned long long)s->req_id);
		goto drop;
	}
	sl_fabric_peer_hold(&d->fab, s->peer);
	s->held = 1;
	s->gone = 0;
	s->deadline_ms = sl_mono_ms() + d->cfg.slot_timeout_ms;
	if (over_share(d, s)) {
		d->busy++;
		s->state = SL_SLOT_REPLY;
		if (post_reply_within(d, s, -EBUSY, s->op, SL_BUSY_POST_MS))
			post_recv(d, s);
	} else if (h.type == SL_RPC_SHARD_READ)
		start_read(d, s, (Sluice__ShardReadReq *)msg);
	else
		start_write(d, s, (Sluice__ShardWriteReq *)msg);
	protobuf_c_message_free_unpacked(msg, NULL);
	return;
drop:
	SL_DEBUG("dropping a request (%zu bytes)", len);
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	post_recv(d, s);
}

static void on_rma_done(struct sl_data *d, struct sl_slot *s, int err)
{
	int rc = err;

	if (!rc && s->type == SL_RPC_SHARD_WRITE) {
		/* The store checks the bytes against the writer's CRC32C as it goes. */
		rc = sl_shardstore_write(&d->store, s->tenant, s->object, s->shard, s->data,
					 s->length, s->crc32c);
		if (!rc)
			d->served_writes++;
	} else if (!rc) {
		d->served_reads++;
		sl_gov_served(&d->gov, &s->cap, s->shard, s->length, sl_now_ms());
	}
	send_reply(d, s, rc);
}

static void on_event(struct sl_data *d, const struct sl_fabric_event *ev)
{
	struct sl_slot_op *op = ev->ctx;
	struct sl_slot *s = op ? op->slot : NULL;

	if (op && !s) {
		orphan_done(d, op);
		return;
	}
	if (!s)
		return;
	switch (s->state) {
	case SL_SLOT_SERVING:
		if (ev->err)
			SL_WARN("serving request %llu: %s", (unsigned long long)s->req_id,
				strerror(-ev->err));
		/* The slot is free once its last operation is back, as an aborted one's. */
		__attribute__((fallthrough));
	case SL_SLOT_ABORTED:
		if (--s->pending > 0)
			break;
		if (!d->stopping)
			post_recv(d, s);
		else
			s->state = SL_SLOT_IDLE;
		break;
	case SL_SLOT_RECV:
		if (ev->err) {
			if (!d->stopping && ev->err != -ECANCELED)
				post_recv(d, s);
			return;
		}
		on_request(d, s, ev->len);
		break;
	case SL_SLOT_RMA:
		on_rma_done(d, s, ev->err);
		break;
	case SL_SLOT_REPLY:
		if (!d->stopping)
			post_recv(d, s);
		else
			s->state = SL_SLOT_IDLE;
		break;
	case SL_SLOT_DISK: /* no fabric operation is posted while the disk works */
	case SL_SLOT_IDLE:
		break;
	}
}

int sl_data_service_init(struct sl_data *d)
{
	size_t msg_len = (size_t)d->cfg.slots * (SL_DATA_REQ_MAX + SL_DATA_REPLY_MAX);
	struct iovec *iov = NULL;
	int rc;

	/* Whole 64 KiB blocks: a range read fetches the blocks it covers. */
	d->data_stride = SL_SHARD_HDR_LEN +
			 ((d->cfg.max_shard + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK) * SL_SHARD_BLOCK;
	d->slots = calloc(d->cfg.slots, sizeof(*d->slots));
	iov = calloc(d->cfg.slots, sizeof(*iov));
	if (!d->slots || !iov || posix_memalign((void **)&d->msg_slab, 4096, msg_len) ||
	    posix_memalign((void **)&d->data_slab, 4096, d->data_stride * d->cfg.slots)) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < d->cfg.slots; i++) {
		struct sl_slot *s = &d->slots[i];

		s->index = (int)i;
		s->op = calloc(1, sizeof(*s->op));
		s->reply_op = calloc(1, sizeof(*s->reply_op));
		if (!s->op || !s->reply_op) {
			rc = -ENOMEM;
			goto out;
		}
		s->op->slot = s;
		s->reply_op->slot = s;
		s->req = d->msg_slab + i * (SL_DATA_REQ_MAX + SL_DATA_REPLY_MAX);
		s->reply = s->req + SL_DATA_REQ_MAX;
		s->data = d->data_slab + i * d->data_stride;
		iov[i] = (struct iovec){ s->data, d->data_stride };
	}
	d->saw_ordered = (d->fab.info->tx_attr->msg_order & FI_ORDER_SAW) != 0;
	d->peer_share = d->cfg.slots / 4 ? d->cfg.slots / 4 : 1;
	d->tenant_share = d->cfg.slots / 2 ? d->cfg.slots / 2 : 1;
	d->reserve = d->cfg.slots / 4 ? d->cfg.slots / 4 : 1;
	rc = sl_uring_init(&d->uring, iov, d->cfg.slots);
	if (rc) {
		SL_ERR_RC(rc, "io_uring is not available here");
		goto out;
	}
	rc = sl_fabric_mr_reg(&d->fab, d->msg_slab, msg_len, FI_SEND | FI_RECV, &d->msg_mr);
	rc = rc ? rc
		: sl_fabric_mr_reg(&d->fab, d->data_slab, d->data_stride * d->cfg.slots,
				   FI_READ | FI_WRITE | FI_SEND | FI_RECV, &d->data_mr);
	if (rc) {
		SL_ERR_RC(rc, "registering buffers with the fabric");
		goto out;
	}
	for (uint32_t i = 0; i < d->cfg.slots && !rc; i++)
		rc = post_recv(d, &d->slots[i]);
out:
	free(iov);
	return rc;
}

static struct sl_slot *slot_of_read(struct sl_shard_read *rd)
{
	return (struct sl_slot *)((uint8_t *)rd - offsetof(struct sl_slot, rd));
}

/* A disk read has nothing left in flight: serve what it got. */
static void disk_done(struct sl_shard_read *rd, void *arg)
{
	struct sl_data *d = arg;

	d->disk_inflight--;
	on_disk_done(d, slot_of_read(rd));
}

/*
 * Submits queued disk reads and reaps finished ones, waiting at most
 * wait_us for the first. A submission that cannot be made fails the reads
 * it carried (their slots answer the error). Returns the number of reads
 * finished.
 */
static int reap_disk(struct sl_data *d, long wait_us)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int done = 0, before = d->disk_inflight;

	sl_uring_submit(&d->uring, wait_us, disk_done, d);
	done = before - d->disk_inflight;
	io_uring_for_each_cqe(&d->uring.ring, head, cqe) {
		int range;
		struct sl_shard_read *rd;

		seen++;
		/* Older kernels report liburing's own timeout as a completion;
		 * requests of reads failed unsent carry no read. */
		rd = sl_shardstore_cqe_read(cqe, &range);
		if (rd && sl_shardstore_read_cqe(rd, range, cqe->res)) {
			disk_done(rd, d);
			done++;
		}
	}
	io_uring_cq_advance(&d->uring.ring, seen);
	return done;
}

int sl_data_service_run(struct sl_data *d)
{
	struct sl_fabric_event ev[16];

	while (!d->stopping) {
		/* With disk reads in flight, poll both sources in turn; otherwise
		 * sleep in the fabric's wait object until a request comes. */
		int n = sl_fabric_poll(&d->fab, ev, 16, d->disk_inflight ? 0 : 100);

		if (n < 0) {
			SL_ERR_RC(n, "completion queue failed");
			return n;
		}
		for (int i = 0; i < n; i++)
			on_event(d, &ev[i]);
		if (d->disk_inflight)
			reap_disk(d, n ? 0 : 50);
		expire_slots(d);
		if (d->repost)
			repost_idle(d);
	}
	/* Buffers go after the reads that fill them; a ring that no longer
	 * completes anything is left to sl_uring_exit, which waits for the
	 * kernel's side, rather than holding shutdown for ever. */
	for (int tries = 0; d->disk_inflight && tries < 100; tries++)
		reap_disk(d, 100000);
	if (d->disk_inflight)
		SL_ERR("%d disk reads never completed", d->disk_inflight);
	return 0;
}

void sl_data_service_fini(struct sl_data *d)
{
	/* main closed the endpoint already: nothing posted can touch these now. */
	sl_fabric_mr_close(&d->msg_mr);
	sl_fabric_mr_close(&d->data_mr);
	if (d->uring.ring.ring_fd > 0)
		sl_uring_exit(&d->uring);
	for (uint32_t i = 0; d->slots && i < d->cfg.slots; i++) {
		free(d->slots[i].op);
		free(d->slots[i].reply_op);
	}
	while (d->orphans) {
		struct sl_slot_op *next = d->orphans->next_orphan;

		free(d->orphans);
		d->orphans = next;
	}
	free(d->slots);
	free(d->msg_slab);
	free(d->data_slab);
}
