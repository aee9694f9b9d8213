/*
 * The policy language (docs: /work/shared/GOVERNANCE.md, "Policies"): a
 * tenant's tag dictionary, the parser of policy documents and the access
 * decision over a set of parsed documents.
 *
 * A document holds 1..SL_POLICY_RULES_MAX rules of the form
 *
 *   policy NAME (allow|deny) to SUBJECTS [except SUBJECTS]
 *     [actions read,stat|*] [purposes NAME,...|*]
 *     [when COND (and COND)*]
 *
 * where a condition is KEY = V, KEY != V, KEY in {V,...}, KEY not in {V,...},
 * KEY = (V or V ...) or KEY (<|<=|>|>=) (V|clearance). AND joins keys, OR
 * joins one key's values. `#` comments run to the end of the line.
 *
 * Invariants: parsing is bounded (text, rules, list lengths; see the
 * SL_POLICY_* limits) and never trusts the input; a parsed document is
 * immutable, so any number of threads may decide against it at once;
 * sl_policy_decide allocates nothing and never fails open: anything it does
 * not understand (an unknown action, a key the dictionary lacks, a value it
 * does not allow, a NULL document) denies. The module holds no state.
 */
#ifndef SL_POLICY_H
#define SL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.pb-c.h" /* Sluice__Tag: char *key, *value */

#define SL_POLICY_TEXT_MAX 16384
/* Rules per document, entries per subject or except list, values per set
 * (and purposes per rule), conditions per rule. */
#define SL_POLICY_RULES_MAX 64
#define SL_POLICY_SUBJECTS_MAX 32
#define SL_POLICY_VALUES_MAX 64
#define SL_POLICY_CONDS_MAX 16
/* Rule names and keys: [a-z0-9][a-z0-9._-]{0,62}; values up to 64. */
#define SL_POLICY_NAME_MAX 63
#define SL_POLICY_VALUE_MAX 64

enum sl_pol_action { SL_POL_READ = 1, SL_POL_STAT = 2 };

/* One governed tag key of a tenant's dictionary. */
struct sl_tagdef {
	const char *key;
	const char *const *values; /* allowed values, in order of sensitivity when ordered; NULL/0: any */
	size_t n_values;
	int ordered;   /* values[0] is the least sensitive */
	int mandatory; /* every object must carry it */
};
/* The built-in dictionary: classification (public<internal<confidential<restricted, ordered,
 * mandatory), pii (none<pseudonymous<direct, ordered), license, region, retention (any value).
 * Points at constant storage; never fails. */
void sl_tagdef_defaults(const struct sl_tagdef **defs, size_t *n);
/* Rank of value in an ordered key of defs: 0.., or -1 (unknown key/value, or unordered). */
int sl_tagdef_rank(const struct sl_tagdef *defs, size_t n, const char *key, const char *value);
/* The definition of key in defs, or NULL. */
const struct sl_tagdef *sl_tagdef_find(const struct sl_tagdef *defs, size_t n, const char *key);

struct sl_policy; /* a parsed document */
/*
 * Parses text (len bytes, not necessarily NUL-terminated) into *out, which
 * the caller frees with sl_policy_free. 0, or -EINVAL with err filled
 * ("line L, column C: ..."), -ENOMEM, -E2BIG (too long / too many; err
 * filled too). err may be NULL when err_len is 0. *out is untouched on error.
 */
int sl_policy_parse(const char *text, size_t len, struct sl_policy **out, char *err, size_t err_len);
/* Frees a document; NULL is fine. */
void sl_policy_free(struct sl_policy *p);
size_t sl_policy_rule_count(const struct sl_policy *p);
/* Rule i's name (owned by the document), or NULL when i is out of range. */
const char *sl_policy_rule_name(const struct sl_policy *p, size_t i);
/* Whether rule i denies (1) or allows (0); -1 when i is out of range. */
int sl_policy_rule_denies(const struct sl_policy *p, size_t i);
/* Checks every rule against a dictionary (unknown keys, values not allowed, order on an
 * unordered key, `clearance` against a key other than classification): 0 or -EINVAL with
 * err ("line L, column C: rule R: ..."). Used when storing a policy and by `policy test`. */
int sl_policy_check(const struct sl_policy *p, const struct sl_tagdef *defs, size_t n_defs,
		    char *err, size_t err_len);

/* Who asks. */
struct sl_pol_subject {
	const char *name;
	char *const *roles;
	size_t n_roles;
	char *const *purposes; /* the purposes it may declare */
	size_t n_purposes;
	const char *clearance; /* a classification value; NULL or unknown ranks below public */
};
/* A tenant's policy set: documents with their names and versions, and its dictionary. */
struct sl_pol_set {
	const struct sl_policy *const *docs; /* a NULL entry (a document that does not parse) denies */
	const char *const *names;
	const uint64_t *versions;
	size_t n;
	const struct sl_tagdef *defs;
	size_t n_defs;
};
struct sl_pol_request {
	const struct sl_pol_subject *who;
	unsigned action; /* SL_POL_READ or SL_POL_STAT */
	const char *purpose;
	Sluice__Tag *const *tags; /* the object's effective tags */
	size_t n_tags;
};
struct sl_pol_decision {
	int allow;            /* 1 allowed, 0 denied */
	const char *policy;   /* deciding policy's name (into the set), NULL for a fail-closed check or default deny */
	uint64_t version;
	const char *rule;     /* deciding rule's name (into the document), or NULL */
	char reason[192];     /* one line for the audit log and `policy explain` */
};
/*
 * Decides rq against set in the documented order: (1) fail-closed checks on
 * the request (purpose among the subject's, at least one role, mandatory
 * tags present, governed tags with allowed values), then any rule whose
 * subject, action and purpose match but which refers to something the
 * dictionary lacks denies the whole decision (policy and rule name it); (2)
 * any matching deny rule denies; (3) any matching allow rule allows; (4)
 * "no policy allows". Never fails open: any error is a deny. Allocates
 * nothing; thread-safe. The reason quotes only policy, rule and dictionary
 * names, never a string of the request.
 */
void sl_policy_decide(const struct sl_pol_set *set, const struct sl_pol_request *rq,
		      struct sl_pol_decision *d);
/* The text of the default set's one policy, "clearance":
 * policy clearance allow to role:* actions read,stat when classification <= clearance */
extern const char sl_policy_default_text[];

#endif
