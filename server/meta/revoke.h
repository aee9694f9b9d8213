/*
 * Revocation at the data servers. A change that makes access more
 * restrictive (a tag raised or removed, a policy added, changed or removed)
 * first raises the revocation watermark on every live data server and waits
 * (at most SL_REVOKE_ACK_MS) for each to acknowledge; a server that does not
 * answer in time is fenced: sluice-meta grants no reads from it until it has
 * caught up. Only then does the change commit, so every capability minted
 * before it (carrying a lower epoch) is refused from the moment the change
 * is visible.
 *
 * Data servers learn of revocations and key generations through WATCH, a
 * long poll answered as soon as there is news; the next WATCH acknowledges.
 * The log is kept (in the catalog too) for SL_REVOKE_KEEP_MS, longer than
 * any capability it refuses could live, so a data server that restarts
 * catches up from it before it serves; one too far behind is told to refuse
 * every capability issued before then.
 *
 * Call sl_revoke_* before the commit of the change, with the epoch the
 * change will carry. They wait for acknowledgements (a millisecond or so
 * when every server is healthy, SL_REVOKE_ACK_MS at most), which holds up
 * whatever lock the caller holds: tag and policy changes call them under
 * m->mutate_lock, so one slow data server delays other changes that long
 * before it is fenced. If the change then fails to commit, the object's or
 * tenant's new capabilities (still minted with the old epoch) are refused
 * until the next change: fail closed.
 */
#ifndef SL_REVOKE_H
#define SL_REVOKE_H

#include <stdint.h>

struct sl_meta;

/* Sets up the log; loads the key generation and the recent revocations. */
int sl_revoke_open(struct sl_meta *m);
void sl_revoke_close(struct sl_meta *m);

/* Refuses capabilities of tenant with a policy epoch below policy_epoch. 0 or -errno. */
int sl_revoke_tenant(struct sl_meta *m, uint64_t tenant, uint64_t policy_epoch);
/* Refuses capabilities for object_id with a tag epoch below tag_epoch. 0 or -errno. */
int sl_revoke_object(struct sl_meta *m, uint64_t tenant, uint64_t object_id, uint64_t tag_epoch);

/* 1 when data server id may be handed out for reads (it is not fenced). */
int sl_revoke_server_ok(struct sl_meta *m, uint32_t id);
/* The key generation capabilities are minted with now. */
uint32_t sl_revoke_mint_gen(struct sl_meta *m);

#endif
