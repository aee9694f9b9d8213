/*
 * A hand-driven data-plane client for tests that speak to data servers
 * directly: its own fabric endpoint, a message buffer of RAW_OPS request and
 * reply slots, a registered data buffer the servers may RMA into or out of,
 * and capabilities minted from a data server's own key file, as sluice-meta
 * would mint them (or not: the test decides every field).
 */
#ifndef SL_TEST_RAWFAB_H
#define SL_TEST_RAWFAB_H

#include <stdint.h>

#include "capability.h"
#include "cluster.h"
#include "fabric.h"

#define RAW_OPS 512
#define RAW_MSG 2048

struct raw_op {
	struct fi_context2 ctx;
	int done, err;
	size_t len;
};

struct raw {
	struct sl_fabric fab;
	struct sl_fabric_mr msg_mr, data_mr;
	uint8_t *msg, *data;
	size_t data_len;
	struct raw_op ops[RAW_OPS * 2];
	int next;
};

/* Opens an endpoint with a zeroed, registered data buffer of data_len bytes. */
void raw_open(struct raw *r, size_t data_len);
/* Drives progress for ms milliseconds (or until op, when non-NULL, is done). */
void raw_progress(struct raw *r, struct raw_op *until, int ms);
void raw_close(struct raw *r);
/*
 * Posts a request frame to the server at addr (and a receive for its reply);
 * returns the op index, whose reply lands in r->msg + (2 * i + 1) * RAW_MSG.
 */
int raw_post(struct raw *r, const ProtobufCBinaryData *addr, uint16_t type,
		const ProtobufCMessage *m, uint64_t req_id);
/* Waits up to ms for op i's reply: its err (and *len), or -ETIMEDOUT when none came. */
int raw_wait(struct raw *r, int i, int ms, uint32_t *len);
/*
 * A capability for object o under data server `server`'s key (1-based),
 * valid for a minute, for every shard of o, bound to r's endpoint. The
 * caller may change cap before it is minted: raw_cap fills it,
 * raw_mint signs it.
 */
void raw_cap(const Sluice__Object *o, unsigned ops, const struct raw *r, struct sl_cap *cap);
void raw_mint(const struct tcluster *c, uint32_t server, struct sl_cap *cap, uint8_t *out);
/* The fabric address of server id in plan (fails the test when absent). */
const ProtobufCBinaryData *raw_server_addr(const Sluice__ObjectPlan *plan, uint32_t id);

#endif
