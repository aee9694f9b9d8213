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

#include "policy.h"
#include "sluice.pb-c.h"
#include "validate.h"

/* A tag's key and value (validate.h); governed keys must use one of their values. */
int sl_tag_valid(const char *key, const char *value, const char **why);
/*
 * A whole tag set as a request gives it: the limits and form of validate.h's
 * sl_tags_check, then every governed key with one of its values. 0, or
 * -EINVAL with *why (a constant string) saying what is wrong.
 */
int sl_gov_tags_check(Sluice__Tag *const *tags, size_t n, const char **why);

/*
 * The same checks against a tenant's dictionary (policy.h, struct
 * sl_tagdef): a key the dictionary defines with values takes one of them.
 * 0, or -EINVAL with why (why_len bytes) saying what is wrong; it quotes
 * the dictionary (the tenant's own governance state), never the request.
 * sl_tag_valid and sl_gov_tags_check are these over sl_tagdef_defaults().
 */
int sl_gov_tags_check_defs(const struct sl_tagdef *defs, size_t n_defs, Sluice__Tag *const *tags,
			   size_t n, char *why, size_t why_len);
/*
 * 1 when setting `set` and removing `remove` would make cur less
 * restrictive under defs: an ordered key set to a lower value (or any value
 * replacing one the dictionary does not know, which fails closed), or a
 * governed key (one defs defines) removed, unless it held an ordered key's
 * least sensitive value. Such a change needs the DECLASSIFY right.
 */
int sl_tags_lower_defs(const struct sl_tagdef *defs, size_t n_defs, Sluice__Tag **cur,
		       size_t n_cur, Sluice__Tag **set, size_t n_set, char **remove,
		       size_t n_remove);
/*
 * Whether tags override the namespace's tags ns_tags only toward more
 * restrictive: for every ordered key of defs the namespace sets, tags must
 * carry the same value or a more sensitive one (a namespace value the
 * dictionary no longer knows may only be kept). 0, or -EPERM with why.
 */
int sl_gov_ns_floor(const struct sl_tagdef *defs, size_t n_defs, Sluice__Tag **ns_tags,
		    size_t n_ns, Sluice__Tag **tags, size_t n, char *why, size_t why_len);

/* Rank of a classification value (public=0 .. restricted=3), -1 if unknown. */
int sl_classification_rank(const char *value);
/* The value of tag key in tags, or NULL. */
const char *sl_tags_get(Sluice__Tag **tags, size_t n, const char *key);
int sl_has_role(const Sluice__Principal *p, const char *role);

/*
 * Governance rights. ASSIGN sets tags, DECLASSIFY lowers or removes a
 * governed tag, BYPASS deletes under governance-mode retention. The admin
 * role implies assign and declassify, the writer role assign; any of the
 * three may also be given explicitly (Principal.rights). bypass is only
 * ever explicit.
 */
#define SL_RIGHT_ASSIGN "assign"
#define SL_RIGHT_DECLASSIFY "declassify"
#define SL_RIGHT_BYPASS "bypass"
/* 1 when right is a governance right's name. */
int sl_right_valid(const char *right);
/* 1 when p holds right, by its roles or explicitly. */
int sl_has_right(const Sluice__Principal *p, const char *right);
/*
 * 1 when setting `set` and removing `remove` would make a governed tag less
 * restrictive: classification to a lower value, pii to a lower value or
 * removed. Such changes need the admin (declassify) right.
 */
int sl_tags_lower(Sluice__Tag **cur, size_t n_cur, Sluice__Tag **set, size_t n_set,
		  char **remove, size_t n_remove);

/*
 * What an admin may hand out to a principal it creates in its own tenant:
 * roles and purposes it holds itself and a clearance not above its own, so
 * no admin can mint a principal that reads more than the admin could.
 * 0, or -EPERM with *why (a constant string).
 */
int sl_gov_check_delegation(const Sluice__Principal *admin, char *const *roles, size_t n_roles,
			    char *const *purposes, size_t n_purposes, char *const *rights,
			    size_t n_rights, const char *clearance, const char **why);

/*
 * The built-in clearance rule: whether p may read o for purpose (0) or not
 * (-EACCES, *reason saying which rule decided). sluice-meta decides reads
 * by the tenant's policies (policy_store.h); the default policy set
 * ("clearance", sl_policy_default_text) reproduces this rule, which stays
 * as its reference.
 */
int sl_gov_decide_read(const Sluice__Principal *p, const Sluice__Object *o, const char *purpose,
		       const char **reason);

#endif
