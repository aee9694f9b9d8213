/*
 * The tag dictionary, the check of a document against it and the access
 * decision (policy.h); the parser is policy_parse.c.
 *
 * The decision allocates nothing and reads only its arguments: it runs for
 * every read grant and every LIST entry, on any thread. A rule is checked
 * against the dictionary each time it could decide (its subject, action and
 * purpose match), because the dictionary may change after the policy was
 * stored: a rule over a deleted key or value then denies instead of quietly
 * never matching.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

const char sl_policy_default_text[] =
	"policy clearance allow to role:* actions read,stat when classification <= clearance\n";

static const char *const classification_values[] = { "public", "internal", "confidential",
						      "restricted" };
static const char *const pii_values[] = { "none", "pseudonymous", "direct" };

static const struct sl_tagdef default_defs[] = {
	{ "classification", classification_values, 4, 1, 1 },
	{ "pii", pii_values, 3, 1, 0 },
	{ "license", NULL, 0, 0, 0 },
	{ "region", NULL, 0, 0, 0 },
	{ "retention", NULL, 0, 0, 0 },
};

void sl_tagdef_defaults(const struct sl_tagdef **defs, size_t *n)
{
	*defs = default_defs;
	*n = sizeof(default_defs) / sizeof(default_defs[0]);
}

const struct sl_tagdef *sl_tagdef_find(const struct sl_tagdef *defs, size_t n, const char *key)
{
	for (size_t i = 0; key && defs && i < n; i++)
		if (defs[i].key && strcmp(defs[i].key, key) == 0)
			return &defs[i];
	return NULL;
}

/* Position of value in d's value list, -1 if absent (or d has none). */
static int value_index(const struct sl_tagdef *d, const char *value)
{
	for (size_t i = 0; value && d->values && i < d->n_values; i++)
		if (d->values[i] && strcmp(d->values[i], value) == 0)
			return (int)i;
	return -1;
}

static int is_ordered(const struct sl_tagdef *d)
{
	return d->ordered && d->values && d->n_values;
}

int sl_tagdef_rank(const struct sl_tagdef *defs, size_t n, const char *key, const char *value)
{
	const struct sl_tagdef *d = sl_tagdef_find(defs, n, key);

	return d && is_ordered(d) ? value_index(d, value) : -1;
}

/* An object's tag value is acceptable for d: one of its values, or any non-empty one. */
static int value_allowed(const struct sl_tagdef *d, const char *value)
{
	if (!value || !value[0])
		return 0;
	return !d->values || !d->n_values || value_index(d, value) >= 0;
}

static const char *op_text(unsigned op)
{
	static const char *const text[] = { "=", "!=", "in", "not in", "<", "<=", ">", ">=" };

	return op < sizeof(text) / sizeof(text[0]) ? text[op] : "?";
}

static int op_orders(unsigned op)
{
	return op == SL_POP_LT || op == SL_POP_LE || op == SL_POP_GT || op == SL_POP_GE;
}

/*
 * What is wrong with condition c against the dictionary, written to why
 * ("key 'x' is not in the tag dictionary"), or 0 when nothing is.
 */
static int cond_check(const struct sl_policy *p, const struct sl_pol_cond *c,
		      const struct sl_tagdef *defs, size_t n_defs, char *why, size_t why_len)
{
	const struct sl_tagdef *d = sl_tagdef_find(defs, n_defs, c->key);

	if (!d) {
		snprintf(why, why_len, "key '%s' which is not in the tag dictionary", c->key);
		return -EINVAL;
	}
	if (op_orders(c->op) && !is_ordered(d)) {
		snprintf(why, why_len, "key '%s' with '%s' but the key is not ordered", c->key,
			 op_text(c->op));
		return -EINVAL;
	}
	/* The clearance is a classification value: other orders do not compare with it. */
	if (c->clearance && strcmp(c->key, "classification") != 0) {
		snprintf(why, why_len, "key '%s' against clearance, which only classification takes",
			 c->key);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->n_val; i++) {
		const char *v = p->vals[c->val0 + i];

		if (!value_allowed(d, v)) {
			snprintf(why, why_len, "value '%s' which key '%s' does not allow", v, c->key);
			return -EINVAL;
		}
	}
	return 0;
}

/* The first condition of r that does not fit the dictionary, or NULL. */
static const struct sl_pol_cond *rule_check(const struct sl_policy *p, const struct sl_pol_rule *r,
					    const struct sl_tagdef *defs, size_t n_defs, char *why,
					    size_t why_len)
{
	for (uint32_t i = 0; i < r->n_cond; i++) {
		const struct sl_pol_cond *c = &p->conds[r->cond0 + i];

		if (cond_check(p, c, defs, n_defs, why, why_len))
			return c;
	}
	return NULL;
}

int sl_policy_check(const struct sl_policy *p, const struct sl_tagdef *defs, size_t n_defs,
		    char *err, size_t err_len)
{
	char why[160];

	if (!p)
		return -EINVAL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct sl_pol_rule *r = &p->rules[i];
		const struct sl_pol_cond *c = rule_check(p, r, defs, n_defs, why, sizeof(why));

		if (c) {
			if (err && err_len)
				snprintf(err, err_len, "line %u, column %u: rule %s refers to %s",
					 c->line, c->col, r->name, why);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *tag_get(const struct sl_pol_request *rq, const char *key)
{
	for (size_t i = 0; i < rq->n_tags; i++)
		if (rq->tags[i] && rq->tags[i]->key && strcmp(rq->tags[i]->key, key) == 0)
			return rq->tags[i]->value;
	return NULL;
}

static int in_names(char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && names && i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return 1;
	return 0;
}

static int subj_matches(const struct sl_pol_subj *s, const struct sl_pol_subject *who)
{
	switch (s->kind) {
	case SL_PSUBJ_ANY:
		return 1;
	case SL_PSUBJ_ROLE:
		return s->name ? in_names(who->roles, who->n_roles, s->name) : who->n_roles > 0;
	case SL_PSUBJ_NAME:
		return !s->name || (who->name && strcmp(who->name, s->name) == 0);
	default:
		return 0;
	}
}

static int subjs_match(const struct sl_pol_subj *s, uint32_t n, const struct sl_pol_subject *who)
{
	for (uint32_t i = 0; i < n; i++)
		if (subj_matches(&s[i], who))
			return 1;
	return 0;
}

/* Subject (the except list aside), action and purpose: whether r could decide rq. */
static int rule_applies(const struct sl_policy *p, const struct sl_pol_rule *r,
			const struct sl_pol_request *rq)
{
	if (!(r->actions & rq->action) || !subjs_match(&p->subjs[r->subj0], r->n_subj, rq->who))
		return 0;
	if (!r->n_purp)
		return 1;
	for (uint32_t i = 0; i < r->n_purp; i++)
		if (strcmp(p->vals[r->purp0 + i], rq->purpose) == 0)
			return 1;
	return 0;
}

/* A checked condition (cond_check passed) on rq's tags. */
static int cond_true(const struct sl_policy *p, const struct sl_pol_cond *c,
		     const struct sl_pol_set *set, const struct sl_pol_request *rq)
{
	const char *have = tag_get(rq, c->key);
	/* A clearance condition has no values, and the document may have none at all. */
	const char *const *vals = c->n_val ? &p->vals[c->val0] : NULL;
	int found = 0, rank, than;

	if (!have)
		return c->op == SL_POP_NE || c->op == SL_POP_NOT_IN;
	switch (c->op) {
	case SL_POP_EQ:
	case SL_POP_NE:
	case SL_POP_IN:
	case SL_POP_NOT_IN:
		for (uint32_t i = 0; i < c->n_val && !found; i++)
			found = strcmp(vals[i], have) == 0;
		return c->op == SL_POP_EQ || c->op == SL_POP_IN ? found : !found;
	default:
		break;
	}
	rank = sl_tagdef_rank(set->defs, set->n_defs, c->key, have);
	if (rank < 0)
		return 0;
	/* No clearance, or one the dictionary does not know, ranks below every value. */
	than = c->clearance ? sl_tagdef_rank(set->defs, set->n_defs, c->key, rq->who->clearance)
			    : sl_tagdef_rank(set->defs, set->n_defs, c->key, vals[0]);
	switch (c->op) {
	case SL_POP_LT: return rank < than;
	case SL_POP_LE: return rank <= than;
	case SL_POP_GT: return rank > than;
	case SL_POP_GE: return rank >= than;
	default: return 0;
	}
}

static int rule_matches(const struct sl_policy *p, const struct sl_pol_rule *r,
			const struct sl_pol_set *set, const struct sl_pol_request *rq)
{
	if (subjs_match(&p->subjs[r->exc0], r->n_exc, rq->who))
		return 0;
	for (uint32_t i = 0; i < r->n_cond; i++)
		if (!cond_true(p, &p->conds[r->cond0 + i], set, rq))
			return 0;
	return 1;
}

/* Step 1 on the request alone: NULL when it passes, else the reason (constant). */
static const char *request_check(const struct sl_pol_set *set, const struct sl_pol_request *rq,
				 char *buf, size_t len)
{
	const struct sl_pol_subject *who = rq->who;

	if (!who || !set || (set->n && !set->docs) || (set->n_defs && !set->defs))
		return "fail closed: incomplete request";
	if (rq->action != SL_POL_READ && rq->action != SL_POL_STAT)
		return "fail closed: unknown action";
	if (!rq->purpose || !in_names(who->purposes, who->n_purposes, rq->purpose))
		return "fail closed: the declared purpose is not one of the principal's purposes";
	if (!who->n_roles || !who->roles)
		return "fail closed: the principal has no role";
	if (rq->n_tags && !rq->tags)
		return "fail closed: incomplete request";
	for (size_t i = 0; i < set->n_defs; i++) {
		const struct sl_tagdef *d = &set->defs[i];

		if (d->mandatory && d->key && !tag_get(rq, d->key)) {
			snprintf(buf, len, "fail closed: the object has no '%s' tag", d->key);
			return buf;
		}
	}
	for (size_t i = 0; i < rq->n_tags; i++) {
		const Sluice__Tag *t = rq->tags[i];
		const struct sl_tagdef *d;

		if (!t || !t->key)
			return "fail closed: incomplete request";
		d = sl_tagdef_find(set->defs, set->n_defs, t->key);
		if (d && !value_allowed(d, t->value)) {
			snprintf(buf, len,
				 "fail closed: the object's '%s' tag has a value the dictionary does "
				 "not allow",
				 d->key);
			return buf;
		}
	}
	return NULL;
}

static const char *doc_name(const struct sl_pol_set *set, size_t i)
{
	return set->names && set->names[i] ? set->names[i] : "(unnamed)";
}

void sl_policy_decide(const struct sl_pol_set *set, const struct sl_pol_request *rq,
		      struct sl_pol_decision *d)
{
	const struct sl_pol_rule *deny = NULL, *allow = NULL;
	size_t deny_doc = 0, allow_doc = 0;
	const char *why;
	char buf[160];

	*d = (struct sl_pol_decision){ 0 };
	why = rq ? request_check(set, rq, buf, sizeof(buf)) : "fail closed: no request";
	if (why) {
		snprintf(d->reason, sizeof(d->reason), "%s", why);
		return;
	}
	/*
	 * One pass finds the first matching deny and allow, but any applicable
	 * rule that does not fit the dictionary wins over both: step 1 comes
	 * before steps 2 and 3 whatever the order of the documents.
	 */
	for (size_t i = 0; i < set->n; i++) {
		const struct sl_policy *p = set->docs[i];

		if (!p) {
			snprintf(d->reason, sizeof(d->reason), "fail closed: policy %s does not parse",
				 doc_name(set, i));
			d->policy = set->names ? set->names[i] : NULL;
			d->version = set->versions ? set->versions[i] : 0;
			return;
		}
		for (size_t j = 0; j < p->n_rules; j++) {
			const struct sl_pol_rule *r = &p->rules[j];

			if (!rule_applies(p, r, rq))
				continue;
			if (rule_check(p, r, set->defs, set->n_defs, buf, sizeof(buf))) {
				snprintf(d->reason, sizeof(d->reason),
					 "fail closed: policy %s rule %s refers to %s", doc_name(set, i),
					 r->name, buf);
				d->policy = set->names ? set->names[i] : NULL;
				d->version = set->versions ? set->versions[i] : 0;
				d->rule = r->name;
				return;
			}
			if (r->deny ? deny != NULL : allow != NULL)
				continue;
			if (!rule_matches(p, r, set, rq))
				continue;
			if (r->deny)
				deny = r, deny_doc = i;
			else
				allow = r, allow_doc = i;
		}
	}
	if (deny || allow) {
		size_t i = deny ? deny_doc : allow_doc;

		d->allow = !deny;
		d->policy = set->names ? set->names[i] : NULL;
		d->version = set->versions ? set->versions[i] : 0;
		d->rule = deny ? deny->name : allow->name;
		snprintf(d->reason, sizeof(d->reason), "%s by policy %s version %llu rule %s",
			 deny ? "denied" : "allowed", doc_name(set, i),
			 (unsigned long long)d->version, d->rule);
		return;
	}
	snprintf(d->reason, sizeof(d->reason), "no policy allows");
}
