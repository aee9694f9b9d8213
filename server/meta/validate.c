/* String validation for everything that reaches the catalog; see validate.h. */
#include "validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sl_name_valid(const char *s)
{
	size_t n = s ? strnlen(s, SL_NAME_MAX + 1) : 0;

	if (n == 0 || n > SL_NAME_MAX)
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

/* Length of the printable UTF-8 character at p, or 0 for a control or bad sequence. */
static size_t printable_len(const unsigned char *p)
{
	size_t l = utf8_len(p);

	/* C0, DEL and the C1 controls (U+0080..U+009F, "\xc2\x80".."\xc2\x9f"). */
	if (l == 0 || p[0] < 0x20 || p[0] == 0x7f || (l == 2 && p[0] == 0xc2 && p[1] < 0xa0))
		return 0;
	return l;
}

int sl_text_valid(const char *s, size_t min, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (!s || n < min || n > max)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t l = printable_len(p + i);

		if (l == 0)
			return 0;
		i += l;
	}
	return 1;
}

int sl_object_name_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strnlen(s, SL_OBJECT_NAME_MAX + 1) : 0, comp = 0;

	if (n == 0 || n > SL_OBJECT_NAME_MAX || s[0] == '/')
		return 0;
	for (size_t i = 0; i < n;) {
		size_t l = printable_len(p + i);

		if (l == 0)
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

int sl_name_prefix_valid(const char *s)
{
	return sl_text_valid(s, 0, SL_OBJECT_NAME_MAX);
}

int sl_tag_key_valid(const char *s)
{
	size_t n = s ? strnlen(s, SL_TAG_KEY_MAX + 1) : 0;

	if (n == 0 || n > SL_TAG_KEY_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int sl_tag_value_valid(const char *s)
{
	return sl_text_valid(s, 1, SL_TAG_VALUE_MAX);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when two of the n strings are equal; sorts keys (n small, capped by the caller). */
static int has_duplicate(const char **keys, size_t n)
{
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			return 1;
	return 0;
}

int sl_tags_check(Sluice__Tag *const *tags, size_t n, const char **why)
{
	const char *keys[SL_TAGS_MAX];

	if (n > SL_TAGS_MAX) {
		*why = "too many tags (at most 64)";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sl_tag_key_valid(tags[i]->key)) {
			*why = "tag keys are 1-64 characters of a-z, 0-9, '.', '_', '-', "
			       "starting with a letter";
			return -EINVAL;
		}
		if (!sl_tag_value_valid(tags[i]->value)) {
			*why = "tag values are 1-256 bytes of printable UTF-8";
			return -EINVAL;
		}
		keys[i] = tags[i]->key;
	}
	if (has_duplicate(keys, n)) {
		*why = "a tag key is given twice";
		return -EINVAL;
	}
	return 0;
}

int sl_names_check(char *const *items, size_t n, size_t max, int (*valid)(const char *),
		   const char **why)
{
	const char **keys = NULL;
	int rc = -EINVAL;

	*why = "too many items";
	if (n > max)
		return -EINVAL;
	keys = calloc(n + 1, sizeof(*keys));
	if (!keys) {
		*why = "out of memory";
		return -ENOMEM;
	}
	*why = "malformed item";
	for (size_t i = 0; i < n; i++) {
		if (!valid(items[i]))
			goto out;
		keys[i] = items[i];
	}
	*why = "an item is given twice";
	if (has_duplicate(keys, n))
		goto out;
	rc = 0;
out:
	free(keys);
	return rc;
}
