/*
 * sluice-data's context: the shard store, the fabric endpoint, the request
 * slots and the registration with sluice-meta, in one struct owned by main().
 */
#ifndef SL_DATA_H
#define SL_DATA_H

#include <pthread.h>
#include <signal.h>
#include <rdma/fabric.h>
#include <stdint.h>

#include "crypto.h"
#include "capability.h"
#include "fabric.h"
#include "govern.h"
#include "shardstore.h"

#define SL_DATA_REQ_MAX 2048u
#define SL_DATA_REPLY_MAX 64u
#define SL_DATA_MAX_ACKS 256 /* deletions reported per heartbeat */
#define SL_WATCH_BATCH 256   /* audit records sent per WATCH (sluice-meta takes at most 256) */

struct sl_data_config {
	uint32_t id;
	char meta[256];
	char data_dir[256];
	char server_key[256];
	char ca_file[256]; /* the CA sluice-meta's TLS certificate chains to */
	char provider[64];
	char fabric_addr[128];
	char fabric_port[16];
	char label[64];
	char log_level[32];
	uint32_t slots;
	uint32_t max_shard;
	uint32_t slot_timeout_ms;
};

enum sl_slot_state {
	SL_SLOT_RECV,     /* a receive is posted */
	SL_SLOT_RMA,      /* an RMA read or write is in flight; the reply follows it */
	SL_SLOT_REPLY,    /* the reply is in flight */
	SL_SLOT_SERVING,  /* RMA write and reply in flight together (ordered provider) */
	SL_SLOT_DISK,     /* the shard's blocks are being read */
	SL_SLOT_IDLE,
	SL_SLOT_ABORTED   /* timed out: its peer is dropped, its posted operations
			   * must end before its buffers serve anyone else */
};

struct sl_slot;

/*
 * An operation's libfabric context (which must come first) and its slot;
 * slot is NULL for an orphan: the context of an aborted operation whose
 * completion never came, kept (on sl_data.orphans) until it does.
 */
struct sl_slot_op {
	struct fi_context2 ctx;
	struct sl_slot *slot;
	struct sl_slot_op *next_orphan;
};

/* One request in flight. */
struct sl_slot {
	struct sl_slot_op *op;       /* receive, RMA, or reply */
	struct sl_slot_op *reply_op; /* the reply posted behind an RMA write */
	int pending;                /* completions awaited in SL_SLOT_SERVING or _ABORTED */
	uint64_t deadline_ms;       /* monotonic: past it the request is aborted */
	int gone;                   /* its peer was dropped while the disk worked */
	enum sl_slot_state state;
	int index;
	uint16_t type;
	uint64_t req_id;
	fi_addr_t peer;
	int held;                   /* peer is resolved and held in the peer table */
	uint64_t tenant, object;
	struct sl_cap cap;          /* the request's verified capability */
	uint32_t shard, length, crc32c;
	uint32_t offset;            /* of a read, in the shard */
	int digests;                /* the read asks for the block-digest list */
	uint64_t raddr, rkey;       /* the client's buffer a read lands in */
	struct sl_shard_read rd;    /* the disk read in flight (SL_SLOT_DISK) */
	uint8_t *req;   /* SL_DATA_REQ_MAX bytes in the message slab */
	uint8_t *reply; /* SL_DATA_REPLY_MAX bytes in the message slab */
	uint8_t *data;  /* SL_SHARD_HDR_LEN + max_shard bytes, 4 KiB aligned */
};

struct sl_data {
	struct sl_data_config cfg;
	struct sl_keyring keys;
	struct sl_shardstore store;
	struct sl_uring uring;
	struct sl_fabric fab;
	struct sl_fabric_mr msg_mr, data_mr;
	uint8_t *msg_slab, *data_slab;
	size_t data_stride;
	int saw_ordered; /* a send posted after an RMA write arrives after its data */
	int disk_inflight; /* slots in SL_SLOT_DISK */
	int repost;        /* some slot is IDLE: its receive could not be posted */
	struct sl_slot *slots;
	struct sl_slot_op *orphans;
	/* Fair shares: past them a peer or tenant gets -EBUSY while fewer than
	 * `reserve` slots are free for everyone else. */
	uint32_t peer_share, tenant_share, reserve;
	uint64_t next_expiry_ms; /* when the loop next looks for overdue slots */
	volatile sig_atomic_t stopping;
	pthread_t hb_thread;
	int hb_started;
	struct sl_data_gov gov;     /* watermarks, key generations, audit records */
	pthread_t watch_thread;
	int watch_started;
	/* Counters for the log line at exit. */
	uint64_t served_reads, served_writes, refused, busy, aborted;
};

/* service.c */
int sl_data_service_init(struct sl_data *d);
int sl_data_service_run(struct sl_data *d);
void sl_data_service_fini(struct sl_data *d);

/* heartbeat.c: registers with sluice-meta, then heartbeats until stopping. */
int sl_data_heartbeat_start(struct sl_data *d);
void sl_data_heartbeat_stop(struct sl_data *d);
/*
 * Checks a sluice-meta reply's mac (field mac_field, over the reply packed
 * with it empty and the request's challenge): 0 or -EBADMSG.
 */
int sl_data_reply_check(struct sl_data *d, const uint8_t challenge[16], ProtobufCMessage *reply,
			ProtobufCBinaryData *mac_field);

/* watch.c: the WATCH long poll (revocations, key generations, audit records). */
int sl_data_watch_start(struct sl_data *d);
void sl_data_watch_stop(struct sl_data *d);

#endif
