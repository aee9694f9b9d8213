/* Governed tag values, the read decision and what an admin may delegate; see governance.h. */
#include "governance.h"

#include <errno.h>
#include <string.h>

static const char *const classification_values[] = { "public", "internal", "confidential",
						      "restricted", NULL };
static const char *const pii_values[] = { "none", "pseudonymous", "direct", NULL };

static int in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (strcmp(*list, v) == 0)
			return 1;
	return 0;
}

int sl_tag_valid(const char *key, const char *value, const char **why)
{
	*why = "tag keys are 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter";
	if (!sl_tag_key_valid(key))
		return 0;
	*why = "tag values are 1-256 bytes of printable UTF-8";
	if (!sl_tag_value_valid(value))
		return 0;
	if (strcmp(key, "classification") == 0 && !in_list(classification_values, value)) {
		*why = "classification must be public, internal, confidential or restricted";
		return 0;
	}
	if (strcmp(key, "pii") == 0 && !in_list(pii_values, value)) {
		*why = "pii must be none, pseudonymous or direct";
		return 0;
	}
	return 1;
}

int sl_gov_tags_check(Sluice__Tag *const *tags, size_t n, const char **why)
{
	int rc = sl_tags_check(tags, n, why);

	for (size_t i = 0; !rc && i < n; i++)
		if (!sl_tag_valid(tags[i]->key, tags[i]->value, why))
			rc = -EINVAL;
	return rc;
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

static int pii_rank(const char *value)
{
	for (int i = 0; value && pii_values[i]; i++)
		if (strcmp(pii_values[i], value) == 0)
			return i;
	return -1;
}

int sl_tags_lower(Sluice__Tag **cur, size_t n_cur, Sluice__Tag **set, size_t n_set,
		  char **remove, size_t n_remove)
{
	const char *old_pii = sl_tags_get(cur, n_cur, "pii");
	const char *new_pii = sl_tags_get(set, n_set, "pii");
	int old_cls = sl_classification_rank(sl_tags_get(cur, n_cur, "classification"));
	int new_cls = sl_classification_rank(sl_tags_get(set, n_set, "classification"));

	if (new_cls >= 0 && new_cls < old_cls)
		return 1;
	if (new_pii && pii_rank(new_pii) < pii_rank(old_pii))
		return 1;
	for (size_t i = 0; old_pii && i < n_remove; i++)
		if (strcmp(remove[i], "pii") == 0 && pii_rank(old_pii) > 0)
			return 1;
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
