/*
 * Revocation at the data servers. A change that makes access more
 * restrictive (a tag raised or removed, a policy added, changed or removed)
 * first raises the revocation watermark on every live data server that may
 * hold affected data and waits (bounded) for each to acknowledge; a server
 * that does not answer in time is fenced (sluice-meta grants no reads from
 * it until it has caught up). Only then does the change commit, so every
 * capability minted before it (carrying a lower epoch) is refused from the
 * moment the change is visible.
 *
 * Call these outside m->mutate_lock's critical write, before the commit;
 * the new epoch is the one the change will carry.
 */
#ifndef SL_REVOKE_H
#define SL_REVOKE_H

#include <stdint.h>

struct sl_meta;

/* Refuses capabilities of tenant with a policy epoch below policy_epoch. 0 or -errno. */
int sl_revoke_tenant(struct sl_meta *m, uint64_t tenant, uint64_t policy_epoch);
/* Refuses capabilities for object_id with a tag epoch below tag_epoch. 0 or -errno. */
int sl_revoke_object(struct sl_meta *m, uint64_t tenant, uint64_t object_id, uint64_t tag_epoch);

#endif
