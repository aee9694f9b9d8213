/*
 * Retention, legal holds and provenance of objects (the model of S3 Object
 * Lock). Invariants, all decided by sluice-meta under m->mutate_lock:
 *  - A legal hold is independent of retention. Only admins set or clear it;
 *    while it is set nobody deletes the object, whatever rights they hold.
 *  - Retention runs until Object.retain_until_ms; once that time has passed
 *    it is as if there were none. Writers and admins set or extend it.
 *  - Governance mode: shortening it, removing it and deleting under it need
 *    the bypass right (governance.h).
 *  - Compliance mode: it may be kept or extended, never shortened, removed
 *    or switched to governance before it ends; nobody deletes under it.
 *  - Provenance (who put the object, from which source, when, with which
 *    tags) is written by PUT_BEGIN and PUT_COMMIT and never changes.
 * Every change and every refusal on an existing name is an audit record;
 * a change and its record are one atomic batch.
 */
#ifndef SL_RETENTION_H
#define SL_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.pb-c.h"

/* A provenance source (PutBeginReq.source): 0..SL_SOURCE_MAX bytes of text. */
#define SL_SOURCE_MAX 1024
/* Retention is set at most this far ahead (100 years of 365.25 days). */
#define SL_RETAIN_AHEAD_MAX_MS (36525ull * 86400000ull)

/*
 * Whether p may delete o at now_ms. 0 allows; *why is then empty, or says
 * which governance-mode retention p's bypass right overrode (for the audit
 * record). -EPERM refuses, *why naming the hold or the retention and its
 * end date (it goes into the reply and the audit record).
 */
int sl_retention_may_delete(const Sluice__Principal *p, const Sluice__Object *o, uint64_t now_ms,
			    char *why, size_t why_len);

/* Writes ms since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out. */
void sl_time_iso(uint64_t ms, char *out, size_t len);

#endif
