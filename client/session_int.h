/*
 * libsluice internals: the session struct and the data-path transfer engine
 * shared by put.c and read.c. Not installed.
 */
#ifndef SL_SESSION_INT_H
#define SL_SESSION_INT_H

#include <rdma/fabric.h>
#include <stdarg.h>

#include "fabric.h"
#include "rpc.h"
#include "rpc_client.h"
#include "sluice.h"

/* Transfers come in chunks of SL_XFERS, each chunk one registered slab. A
 * transfer whose peer never answered stays out of use until its completions
 * arrive, so the pool grows, up to SL_XFER_CHUNKS chunks. */
#define SL_XFERS 64
#define SL_XFER_CHUNKS 16
#define SL_XFER_MSG 2048u
#define SL_POST_BUDGET_MS 1000u

enum sl_xfer_state { SL_XFER_FREE, SL_XFER_BUSY, SL_XFER_LOST };

/*
 * One request to one data server: a send of the request frame and a receive
 * of its reply, matched by tag = request id. Both contexts live here until
 * their completions come back.
 */
struct sl_xfer_op {
	struct fi_context2 ctx; /* first: libfabric's per-operation context */
	struct sl_xfer *x;
	int done;
	int err;
	size_t len;
};

struct sl_xfer {
	struct sl_xfer_op send, recv;
	enum sl_xfer_state state;
	uint64_t req_id;
	uint8_t *req;   /* SL_XFER_MSG bytes in the session's message slab */
	uint8_t *reply; /* SL_XFER_MSG bytes */
	void *desc;     /* memory descriptor of the chunk holding req and reply */
	size_t req_len;
	int result;     /* the data server's answer, once both ops are done */
	uint32_t asked;  /* the most bytes the request may move (set before posting) */
	uint32_t length; /* the bytes the data server says it moved */
	uint32_t crc32c; /* the shard's CRC32C the data server reported */
	void *user;     /* the caller's cookie */
	fi_addr_t dest; /* where it was posted */
	uint64_t retry_at; /* answered -EBUSY: posted again then (monotonic ms) */
	int busy;       /* -EBUSY answers so far, for the back-off */
};

struct sluice_session {
	struct sl_rpc_client rpc;
	uint8_t *ca_der; /* the CA the control plane trusts, for sluice_write_ca */
	size_t ca_der_len;
	char purpose[64];
	char provider[64];
	uint32_t timeout_ms;
	int fabric_ok;
	struct sl_fabric fab;
	struct sl_xfer_chunk {
		struct sl_fabric_mr mr;
		uint8_t *slab;
		struct sl_xfer xfers[SL_XFERS];
	} *chunks[SL_XFER_CHUNKS];
	int n_chunks;
	uint64_t next_req;
	/* Data servers that failed us lately: tried last until the time given. */
	struct {
		uint32_t id;
		uint64_t until_ms;
	} suspects[16];
	char error[512];
	char source[1025]; /* provenance source of the next puts (sluice_set_source) */
};

/* Records a one-line message for sluice_last_error; returns rc. */
int sl_sess_fail(sluice_session *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Calls sluice-meta; on failure copies its message into the session. */
int sl_sess_call(sluice_session *s, uint16_t type, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp);
/* Opens the fabric endpoint on first use. */
int sl_sess_fabric(sluice_session *s);

/* Converts a catalog Object (and optionally a plan) into the public struct. */
struct sluice_object *sl_object_from_pb(const Sluice__Object *o, const Sluice__ObjectPlan *plan);

/* retention.c: fills (or empties, for pv NULL) a public provenance; 0 or -ENOMEM
 * (out then holds what was copied: free it with sl_provenance_free). */
int sl_provenance_from_pb(const Sluice__Provenance *pv, struct sluice_provenance *out);
void sl_provenance_free(struct sluice_provenance *pv);

/* Builds protobuf tags (pointers into *store) from public ones; free both. */
int sl_tags_pb(const struct sluice_tag *tags, size_t n, Sluice__Tag ***out, Sluice__Tag **store);

/* datapath.c */
/* A free transfer, growing the pool when needed; NULL when it cannot. */
struct sl_xfer *sl_xfer_get(sluice_session *s);
/* Releases every chunk (after the endpoint has been drained). */
void sl_xfer_pool_free(sluice_session *s);
/*
 * Posts x's request (already framed in x->req, x->req_len bytes) to dest and
 * its reply receive, giving a peer that is not accepting (down, or still
 * connecting) at most SL_POST_BUDGET_MS. On failure x still goes to
 * sl_xfer_wait, which reports it.
 */
int sl_xfer_post(sluice_session *s, struct sl_xfer *x, fi_addr_t dest);
/*
 * Waits until every posted transfer in xs is done or the deadline passes;
 * each gets x->result (the server's errno, or -ETIMEDOUT). Done transfers
 * return to the pool; timed-out ones are cancelled and kept out of it
 * until their completions arrive.
 */
void sl_xfer_wait(sluice_session *s, struct sl_xfer **xs, size_t n, uint64_t deadline_ms);
/* Frames a data-plane request into x->req. */
int sl_xfer_frame(sluice_session *s, struct sl_xfer *x, uint16_t type, const ProtobufCMessage *m);

/* Remembers that server id failed a request; sl_server_suspect() tells. */
void sl_server_failed(sluice_session *s, uint32_t id);
int sl_server_suspect(const sluice_session *s, uint32_t id);

/* Resolves the plan's servers into fabric addresses: fi[i] for plan->servers[i]. */
int sl_plan_addrs(sluice_session *s, const Sluice__ObjectPlan *plan, fi_addr_t *fi);
/* Index into plan->servers of server id, or -1. */
int sl_plan_server(const Sluice__ObjectPlan *plan, uint32_t id);

#endif
