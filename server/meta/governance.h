/*
 * Governance: which names and tags are acceptable, and the read decision.
 * This is the seam where the full policy model (docs/architecture.md,
 * "Governance") plugs in; today it enforces tenant isolation (by key
 * construction, elsewhere), declared purposes, roles and the
 * classification clearance rule. Everything fails closed.
 */
#ifndef SL_GOVERNANCE_H
#define SL_GOVERNANCE_H

#include <stddef.h>

#include "sluice.pb-c.h"

#define SL_OBJECT_NAME_MAX 1024
#define SL_TAG_VALUE_MAX 256

/* Tenant, principal and namespace names: [a-z0-9][a-z0-9._-]{0,62}. */
int sl_name_valid(const char *s);
/*
 * Object names: 1..1024 bytes of valid UTF-8, no control characters, no
 * leading '/', no empty, "." or ".." path components.
 */
int sl_object_name_valid(const char *s);
/* A tag's key and value; governed keys must use one of their values. */
int sl_tag_valid(const char *key, const char *value, const char **why);

/* Rank of a classification value (public=0 .. restricted=3), -1 if unknown. */
int sl_classification_rank(const char *value);
/* The value of tag key in tags, or NULL. */
const char *sl_tags_get(Sluice__Tag **tags, size_t n, const char *key);
int sl_has_role(const Sluice__Principal *p, const char *role);
/*
 * 1 when setting `set` and removing `remove` would make a governed tag less
 * restrictive: classification to a lower value, pii to a lower value or
 * removed. Such changes need the admin (declassify) right.
 */
int sl_tags_lower(Sluice__Tag **cur, size_t n_cur, Sluice__Tag **set, size_t n_set,
		  char **remove, size_t n_remove);

/*
 * Decides whether p may read o for purpose. 0 allows; -EACCES denies and
 * *reason says which rule decided (for the audit log).
 */
int sl_gov_decide_read(const Sluice__Principal *p, const Sluice__Object *o, const char *purpose,
		       const char **reason);

#endif
