/*
 * What a data server enforces beyond a capability's signature, and what it
 * tells the audit log (govern.c):
 *  - revocation watermarks sluice-meta pushes (WATCH, watch.c): per tenant
 *    a policy epoch and per object a tag epoch below which capabilities are
 *    refused, and after a reset every capability issued before it;
 *  - the key generations accepted: the current one, and the previous until
 *    the end of its grace;
 *  - nothing at all until the first WATCH reply is applied, so a server
 *    that restarts cannot serve a capability revoked while it was down;
 *  - refusals kept (aggregated) until sluice-meta has them in the audit
 *    log, and allowed reads summarized per capability (bytes, count).
 * The service loop and the watch thread share it under lock.
 */
#ifndef SL_DATA_GOVERN_H
#define SL_DATA_GOVERN_H

#include <pthread.h>
#include <stdint.h>

#include "capability.h"
#include "crypto.h"
#include "sluice.pb-c.h"

#define SL_GOV_TENANTS_MAX 4096u
#define SL_GOV_OBJECTS_MAX 65536u  /* a power of two: an open-addressing table */
#define SL_GOV_QUEUE_MAX 4096u     /* records waiting for sluice-meta */
#define SL_GOV_SUMMARIES_MAX 1024u /* capabilities whose reads are being counted */
#define SL_GOV_SUMMARY_MS 10000u   /* a summary goes out at most this long after it began */
/* Audited (confidential) reads need sluice-meta to have taken our records this recently. */
#define SL_GOV_AUDIT_STALE_MS 15000u
/* How long a watermark is kept: past it, every capability it refuses has expired. */
#define SL_GOV_KEEP_MS (400u * 1000u)

struct sl_gov_floor {
	uint64_t id;     /* tenant or object; 0: free slot */
	uint64_t epoch;
	uint64_t time_ms;
};

struct sl_gov_record {
	uint64_t time_ms, tenant, principal, object, cap_id, bytes, count;
	uint32_t shard;
	char purpose[SL_CAP_PURPOSE_LEN + 1];
	const char *op;     /* static */
	const char *reason; /* static */
	int deny;
};

struct sl_gov_summary {
	struct sl_gov_record r; /* r.cap_id 0: free */
	uint64_t expiry_ms;
};

struct sl_data_gov {
	pthread_mutex_t lock;
	int synced;               /* a WATCH reply was applied */
	uint64_t incarnation;     /* sluice-meta's, from the last reply */
	uint64_t applied;         /* the last revocation applied */
	uint64_t issued_floor_ms; /* capabilities issued at or before it are refused */
	uint64_t last_ack_ms;     /* sluice-meta last took our records (monotonic) */
	struct sl_keyring keys;   /* of the current generation (cap_key_prev: the one before) */
	uint64_t key_prev_until_ms;
	struct sl_gov_floor tenants[SL_GOV_TENANTS_MAX];
	size_t n_tenants;
	struct sl_gov_floor *objects; /* SL_GOV_OBJECTS_MAX slots */
	size_t n_objects;
	struct sl_gov_record *queue;  /* ring of SL_GOV_QUEUE_MAX */
	size_t q_head, q_n;
	uint64_t lost;                /* refusals dropped for a full queue, not yet reported */
	struct sl_gov_summary *sums;  /* SL_GOV_SUMMARIES_MAX */
};

int sl_gov_init(struct sl_data_gov *g, const struct sl_keyring *keys);
/* 1 once the first WATCH reply is applied. */
int sl_gov_synced(struct sl_data_gov *g);
/* What the next WATCH tells sluice-meta it has. */
void sl_gov_state(struct sl_data_gov *g, uint64_t *incarnation, uint64_t *applied,
		  uint32_t *key_gen);
void sl_gov_fini(struct sl_data_gov *g);

/*
 * The whole check of a request's capability before its own (object, shard,
 * operation, endpoint): signature and time (sl_cap_verify), the key
 * generation's grace, the watermarks, and for AUDITED objects that the
 * audit log is reachable. 0 with *cap filled, or -EACCES with *why.
 */
int sl_gov_check(struct sl_data_gov *g, const uint8_t *tok, size_t len, uint64_t now_ms,
		 struct sl_cap *cap, const char **why);
/* Keeps a refusal for the audit log (cap NULL: it did not verify). */
void sl_gov_refused(struct sl_data_gov *g, const char *op, uint64_t object, uint32_t shard,
		    const struct sl_cap *cap, const char *why, uint64_t now_ms);
/* Counts bytes served under cap. */
void sl_gov_served(struct sl_data_gov *g, const struct sl_cap *cap, uint32_t shard,
		   uint64_t bytes, uint64_t now_ms);

/* For WATCH: up to max records to send (left queued until acknowledged). */
size_t sl_gov_records(struct sl_data_gov *g, struct sl_gov_record *out, size_t max,
		      uint64_t *lost, uint64_t now_ms);
/* Forgets the first n records sent (and the lost count, when reported). */
void sl_gov_records_taken(struct sl_data_gov *g, size_t n, size_t sent, uint64_t lost_sent);
/* Applies a verified WATCH reply: watermarks, reset, key generation. */
int sl_gov_apply(struct sl_data_gov *g, const Sluice__WatchResp *resp, uint64_t now_ms);

#endif
