/*
 * Governed tag values (by a tenant's dictionary, policy.h), the built-in
 * clearance rule and what an admin may delegate; see governance.h.
 */
#include "governance.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const classification_values[] = { "public", "internal", "confidential",
						      "restricted", NULL };

/* Whether value is one def allows (a def without values allows any). */
static int def_allows(const struct sl_tagdef *def, const char *value)
{
	if (!def->n_values)
		return 1;
	for (size_t i = 0; i < def->n_values; i++)
		if (strcmp(def->values[i], value) == 0)
			return 1;
	return 0;
}

/* "KEY must be A, B or C", cut at why_len. */
static void must_be(const struct sl_tagdef *def, char *why, size_t why_len)
{
	size_t used = (size_t)snprintf(why, why_len, "%s must be", def->key);

	for (size_t i = 0; i < def->n_values && used < why_len; i++)
		used += (size_t)snprintf(why + used, why_len - used, "%s%s",
					 i == 0 ? " " : i + 1 == def->n_values ? " or " : ", ",
					 def->values[i]);
}

int sl_tag_valid(const char *key, const char *value, const char **why)
{
	const struct sl_tagdef *defs, *def;
	size_t n_defs;

	*why = "tag keys are 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter";
	if (!sl_tag_key_valid(key))
		return 0;
	*why = "tag values are 1-256 bytes of printable UTF-8";
	if (!sl_tag_value_valid(value))
		return 0;
	sl_tagdef_defaults(&defs, &n_defs);
	def = sl_tagdef_find(defs, n_defs, key);
	if (!def || def_allows(def, value))
		return 1;
	if (strcmp(key, "classification") == 0)
		*why = "classification must be public, internal, confidential or restricted";
	else if (strcmp(key, "pii") == 0)
		*why = "pii must be none, pseudonymous or direct";
	else
		*why = "a governed tag key takes only the values its dictionary lists";
	return 0;
}

int sl_gov_tags_check(Sluice__Tag *const *tags, size_t n, const char **why)
{
	int rc = sl_tags_check(tags, n, why);

	for (size_t i = 0; !rc && i < n; i++)
		if (!sl_tag_valid(tags[i]->key, tags[i]->value, why))
			rc = -EINVAL;
	return rc;
}

int sl_gov_tags_check_defs(const struct sl_tagdef *defs, size_t n_defs, Sluice__Tag *const *tags,
			   size_t n, char *why, size_t why_len)
{
	const char *form;

	if (sl_tags_check(tags, n, &form)) {
		snprintf(why, why_len, "%s", form);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_tagdef *def = sl_tagdef_find(defs, n_defs, tags[i]->key);

		if (def && !def_allows(def, tags[i]->value)) {
			must_be(def, why, why_len);
			return -EINVAL;
		}
	}
	return 0;
}

int sl_classification_rank(const char *value)
{
	for (int i = 0; value && classification_values[i]; i++)
		if (strcmp(classification_values[i], value) == 0)
			return i;
	return -1;
}

const char *sl_tags_get(Sluice__Tag **tags, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(tags[i]->key, key) == 0)
			return tags[i]->value;
	return NULL;
}

int sl_tags_lower_defs(const struct sl_tagdef *defs, size_t n_defs, Sluice__Tag **cur,
		       size_t n_cur, Sluice__Tag **set, size_t n_set, char **remove,
		       size_t n_remove)
{
	for (size_t i = 0; i < n_set; i++) {
		const struct sl_tagdef *def = sl_tagdef_find(defs, n_defs, set[i]->key);
		const char *old = sl_tags_get(cur, n_cur, set[i]->key);
		int was, now;

		if (!def || !def->ordered || !old || strcmp(old, set[i]->value) == 0)
			continue;
		was = sl_tagdef_rank(defs, n_defs, def->key, old);
		now = sl_tagdef_rank(defs, n_defs, def->key, set[i]->value);
		/* A value the dictionary no longer knows denies every read: any
		 * replacement opens the object up. */
		if (was < 0 || now < was)
			return 1;
	}
	for (size_t i = 0; i < n_remove; i++) {
		const struct sl_tagdef *def = sl_tagdef_find(defs, n_defs, remove[i]);
		const char *old = sl_tags_get(cur, n_cur, remove[i]);

		if (!def || !old)
			continue;
		if (!def->ordered || sl_tagdef_rank(defs, n_defs, def->key, old) != 0)
			return 1;
	}
	return 0;
}

int sl_tags_lower(Sluice__Tag **cur, size_t n_cur, Sluice__Tag **set, size_t n_set,
		  char **remove, size_t n_remove)
{
	const struct sl_tagdef *defs;
	size_t n_defs;

	sl_tagdef_defaults(&defs, &n_defs);
	return sl_tags_lower_defs(defs, n_defs, cur, n_cur, set, n_set, remove, n_remove);
}

int sl_gov_ns_floor(const struct sl_tagdef *defs, size_t n_defs, Sluice__Tag **ns_tags,
		    size_t n_ns, Sluice__Tag **tags, size_t n, char *why, size_t why_len)
{
	for (size_t i = 0; i < n_ns; i++) {
		const struct sl_tagdef *def = sl_tagdef_find(defs, n_defs, ns_tags[i]->key);
		const char *floor = ns_tags[i]->value, *v;
		int need;

		if (!def || !def->ordered)
			continue;
		v = sl_tags_get(tags, n, def->key);
		if (v && strcmp(v, floor) == 0)
			continue;
		need = sl_tagdef_rank(defs, n_defs, def->key, floor);
		if (v && need >= 0 && sl_tagdef_rank(defs, n_defs, def->key, v) >= need)
			continue;
		snprintf(why, why_len, "%s %s is below its namespace's %s: an inherited tag may "
			 "only be overridden toward more restrictive", def->key, v ? v : "(removed)",
			 floor);
		return -EPERM;
	}
	return 0;
}

int sl_has_role(const Sluice__Principal *p, const char *role)
{
	for (size_t i = 0; i < p->n_roles; i++)
		if (strcmp(p->roles[i], role) == 0)
			return 1;
	return 0;
}

int sl_right_valid(const char *right)
{
	return strcmp(right, SL_RIGHT_ASSIGN) == 0 || strcmp(right, SL_RIGHT_DECLASSIFY) == 0 ||
	       strcmp(right, SL_RIGHT_BYPASS) == 0;
}

int sl_has_right(const Sluice__Principal *p, const char *right)
{
	for (size_t i = 0; i < p->n_rights; i++)
		if (strcmp(p->rights[i], right) == 0)
			return 1;
	if (strcmp(right, SL_RIGHT_BYPASS) == 0)
		return 0;
	if (sl_has_role(p, "admin"))
		return 1;
	return strcmp(right, SL_RIGHT_ASSIGN) == 0 && sl_has_role(p, "writer");
}

static int holds(char *const *have, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(have[i], v) == 0)
			return 1;
	return 0;
}

int sl_gov_check_delegation(const Sluice__Principal *admin, char *const *roles, size_t n_roles,
			    char *const *purposes, size_t n_purposes, char *const *rights,
			    size_t n_rights, const char *clearance, const char **why)
{
	int have = sl_classification_rank(admin->clearance);

	/* Both lists are bounded by validate.h before this is called. */
	for (size_t i = 0; i < n_roles; i++)
		if (!holds(admin->roles, admin->n_roles, roles[i])) {
			*why = "an admin can only give roles it holds itself";
			return -EPERM;
		}
	for (size_t i = 0; i < n_purposes; i++)
		if (!holds(admin->purposes, admin->n_purposes, purposes[i])) {
			*why = "an admin can only give purposes it holds itself";
			return -EPERM;
		}
	for (size_t i = 0; i < n_rights; i++)
		if (!sl_has_right(admin, rights[i])) {
			*why = "an admin can only give rights it holds itself";
			return -EPERM;
		}
	if (sl_classification_rank(clearance) > have) {
		*why = "an admin cannot give a clearance above its own";
		return -EPERM;
	}
	return 0;
}

int sl_gov_decide_read(const Sluice__Principal *p, const Sluice__Object *o, const char *purpose,
		       const char **reason)
{
	int have = -1, need;
	size_t i;

	if (p->tenant_id != o->tenant_id) {
		*reason = "tenant mismatch";
		return -EACCES;
	}
	if (!sl_has_role(p, "reader") && !sl_has_role(p, "writer") && !sl_has_role(p, "admin")) {
		*reason = "no role that may read";
		return -EACCES;
	}
	for (i = 0; i < p->n_purposes; i++)
		if (purpose && strcmp(p->purposes[i], purpose) == 0)
			break;
	if (i == p->n_purposes) {
		*reason = "purpose not allowed for principal";
		return -EACCES;
	}
	need = sl_classification_rank(sl_tags_get(o->tags, o->n_tags, "classification"));
	if (need < 0) {
		*reason = "object has no known classification (fail closed)";
		return -EACCES;
	}
	have = sl_classification_rank(p->clearance);
	if (have < need) {
		*reason = "classification above principal clearance";
		return -EACCES;
	}
	*reason = "allowed: purpose and clearance";
	return 0;
}
