/* Name and tag validation, and the read decision; see governance.h. */
#include "governance.h"

#include <errno.h>
#include <string.h>

static const char *const classification_values[] = { "public", "internal", "confidential",
						      "restricted", NULL };
static const char *const pii_values[] = { "none", "pseudonymous", "direct", NULL };

int sl_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 (i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return 0;
	}
	return 1;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int sl_object_name_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0, comp = 0;

	if (n == 0 || n > SL_OBJECT_NAME_MAX || s[0] == '/')
		return 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i);

		/* C0, DEL and the C1 controls (U+0080..U+009F, "\xc2\x80".."\xc2\x9f"). */
		if (l == 0 || p[i] < 0x20 || p[i] == 0x7f || (l == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
			return 0;
		if (p[i] == '/') {
			if (comp == 0)
				return 0;
			comp = 0;
		} else {
			comp += l;
		}
		i += l;
	}
	if (comp == 0)
		return 0;
	/* No "." or ".." component anywhere. */
	for (const char *c = s; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if ((c[0] == '.' && (c[1] == '/' || c[1] == '\0')) ||
		    (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0')))
			return 0;
	}
	return 1;
}

static int in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (strcmp(*list, v) == 0)
			return 1;
	return 0;
}

int sl_tag_valid(const char *key, const char *value, const char **why)
{
	size_t kl = key ? strlen(key) : 0, vl = value ? strlen(value) : 0;

	*why = "tag keys are 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter";
	if (!sl_name_valid(key) || key[0] < 'a' || key[0] > 'z' || kl == 0)
		return 0;
	*why = "tag values are 1-256 printable characters";
	if (vl == 0 || vl > SL_TAG_VALUE_MAX)
		return 0;
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
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
