/*
 * The audit log's internals shared by audit.c (writing and listing) and
 * audit_verify.c (the walk over a whole log), and the walk itself, which
 * needs no server: it judges records handed to it in key order.
 *
 * A tenant's log is records keyed (tenant, position), position 1, 2, 3...;
 * each record stores its own seq (equal to its position) and the SHA-256 of
 * the record before it as stored (zeros for record 1); a signed head names
 * the last record's seq and hash. The walk reports the FIRST thing wrong:
 *   a position skipped           -> the record there was deleted ("missing")
 *   a record whose seq is not its position -> records were moved ("reordered")
 *   a prev_hash that does not match the record before -> that record was
 *                                   edited, or another put in its place ("changed")
 *   bytes that do not decode     -> the record was edited ("unreadable")
 *   a head naming a later record -> the tail was cut ("cut")
 *   a head missing, forged, behind, or naming other bytes -> "head" / "changed"
 */
#ifndef SL_AUDIT_H
#define SL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "catalog_keys.h"
#include "sluice.pb-c.h"

struct sl_meta;

/* A record's catalog key is the tenant and its position, 8 bytes each. */
#define SL_AUDIT_KEY_LEN 16

/* The catalog key of tenant's record seq; with seq 0, the chain's prefix (8 bytes). */
void sl_audit_record_key(struct sl_key *k, uint64_t tenant, uint64_t seq);
/* The position of a record from its key (SL_AUDIT_KEY_LEN bytes). */
uint64_t sl_audit_key_seq(const uint8_t *key);
/* SHA-256 of a record as stored. */
void sl_audit_hash(const uint8_t *buf, size_t len, uint8_t out[32]);

/*
 * The two ends of tenant's log, read between two group commits (audit_lock
 * is taken for two point reads): the signed head (*head_rc 0, -ENOENT when
 * absent, -EBADMSG when its MAC does not check out; head_seq/head_hash
 * filled on 0) and the position of the last record stored (0 when none).
 * 0 or -EIO when the catalog cannot be read.
 */
int sl_audit_ends(struct sl_meta *m, uint64_t tenant, int *head_rc, uint64_t *head_seq,
		  uint8_t head_hash[32], uint64_t *last_seq);

/* The state of a walk over one log, and its verdict once broken. */
struct sl_audit_walk {
	uint64_t last;          /* position of the last record checked (0: none yet) */
	uint8_t last_hash[32];  /* its SHA-256 (zeros before record 1) */
	uint64_t checked;       /* records checked */
	int broken;
	uint64_t bad_seq;       /* the first broken record */
	const char *problem;    /* missing, reordered, changed, unreadable, cut, head */
	char detail[200];       /* one line naming the record and what is wrong */
};

void sl_audit_walk_init(struct sl_audit_walk *w);
/*
 * Continues a walk after position seq, whose record as stored now is val
 * (not checked again: the step that walked it did). val NULL: it is gone,
 * which breaks the walk there. Returns w->broken.
 */
int sl_audit_walk_resume(struct sl_audit_walk *w, uint64_t seq, const uint8_t *val, size_t vlen);
/*
 * Checks the record stored at position pos (greater than any before), as
 * stored. Returns 0 when it links to the walk so far, 1 when the walk is
 * broken (w says where and how; later records are not judged).
 */
int sl_audit_walk_record(struct sl_audit_walk *w, uint64_t pos, const uint8_t *val, size_t vlen);
/*
 * Ends a walk that reached the last record stored: the signed head (head_rc
 * as sl_audit_ends gives it) must name the last record checked, by seq and
 * hash. Returns w->broken.
 */
int sl_audit_walk_end(struct sl_audit_walk *w, int head_rc, uint64_t head_seq,
		      const uint8_t head_hash[32]);

#endif
