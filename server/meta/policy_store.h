/*
 * A tenant's governance state as sluice-meta keeps it: its tag dictionary
 * and its policy set, stored in the policies column family (catalog_keys.h)
 * and, for the read path, parsed once per policy epoch and cached.
 *
 * Invariants:
 *  - A tenant whose policies and dictionary never changed has no state
 *    record: it has the default set (one policy, "clearance",
 *    sl_policy_default_text, version 1) and the built-in dictionary
 *    (sl_tagdef_defaults), at policy epoch 0. The first change writes both
 *    out ("materializes" them) with the state, in the change's own batch.
 *  - Every change to a tenant's policies or dictionary bumps its epoch in the
 *    same batch, so a cached view is current exactly when its epoch equals
 *    the stored one. Views are read-only once built; any number of threads
 *    decide against one at once (policy.h).
 *  - The cache holds at most SL_POL_CACHE_MAX tenants; the least recently
 *    used view gives way, and is freed when its last user puts it back.
 */
#ifndef SL_POLICY_STORE_H
#define SL_POLICY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "sluice.pb-c.h"

struct sl_meta;
struct sl_batch;

#define SL_POLICIES_MAX 64      /* stored policies per tenant */
#define SL_TAGDEFS_MAX 64       /* keys in a tenant's dictionary */
#define SL_TAGDEF_VALUES_MAX 64 /* values of one key */
#define SL_POL_CACHE_MAX 1024   /* tenants whose parsed set is kept */
#define SL_POL_DEFAULT_NAME "clearance"
/* sl_pol_decision_text's longest line: the reason, two names and numbers. */
#define SL_POL_REASON_MAX 360

/* The parsed policy set and dictionary of one tenant at one epoch. */
struct sl_pol_view {
	uint64_t tenant, epoch;
	struct sl_pol_set set;        /* what sl_policy_decide takes */
	int builtin_dict;             /* the tenant has the built-in dictionary */
	int default_set;              /* the tenant has the default set, never stored */
	/* Owned storage the set points into. */
	Sluice__PolicyRecord **recs;  /* the stored records (none for the default set) */
	struct sl_policy **docs;
	const char **names;
	uint64_t *versions;
	Sluice__TagDict *dict;        /* the stored dictionary, or NULL */
	struct sl_tagdef *defs;       /* points into dict */
	/* Cache bookkeeping, under the cache's lock. */
	unsigned refs;
	uint64_t used;
	int cached;
};

/*
 * The tenant's current view, from the cache or built from the catalog;
 * give it back with sl_pol_view_put. 0, -ENOMEM or -EIO.
 */
int sl_pol_view_get(struct sl_meta *m, uint64_t tenant, struct sl_pol_view **out);
void sl_pol_view_put(struct sl_meta *m, struct sl_pol_view *v);
/* Frees every cached view (at shutdown, when no request runs). */
void sl_pol_cache_free(struct sl_meta *m);

/* The tenant's stored epoch; *stored 0 (epoch 0) when it has no state yet. */
int sl_pol_epoch(struct sl_meta *m, uint64_t tenant, uint64_t *epoch, int *stored);

/*
 * Decides action (SL_POL_READ or SL_POL_STAT) by principal p on object o
 * for purpose under v. Tenant isolation stays in code: an object of another
 * tenant is denied whatever the policies say.
 */
void sl_pol_decide_object(const struct sl_pol_view *v, const Sluice__Principal *p,
			  const Sluice__Object *o, const char *purpose, unsigned action,
			  struct sl_pol_decision *d);
/*
 * One line for the audit log: the evaluator's reason, which names the
 * deciding policy, version and rule, and the policy epoch, e.g. "allowed by
 * policy clearance version 1 rule clearance (epoch 3)". Returns out.
 */
const char *sl_pol_decision_text(const struct sl_pol_decision *d, uint64_t epoch, char *out,
				 size_t len);

/* ---- writes (handlers_policy.c), under m->mutate_lock ---------------------- */

/*
 * Adds to b what a tenant without state has implicitly: the default policy
 * record and its version. Call it only when sl_pol_epoch said !stored;
 * later puts or deletes in b of the same keys win.
 */
int sl_pol_materialize(struct sl_meta *m, struct sl_batch *b, uint64_t tenant, uint64_t now_ms,
		       const char *by);
/* Adds the tenant's state record at epoch to b. */
int sl_pol_state_put(struct sl_meta *m, struct sl_batch *b, uint64_t tenant, uint64_t epoch,
		     uint64_t now_ms);

#endif
