/*
 * The syntax of every string a request carries into the catalog: tenant,
 * principal and namespace names, object names and listing prefixes,
 * purposes, roles and clearances, tag keys and values, and the limits on how
 * many tags one record holds. Each handler checks its request here before it
 * reads or writes anything, so the catalog, the audit log and every reply
 * only ever hold strings that are printable, bounded and unambiguous.
 *
 * These checks are about form only; which tag values a governed key takes
 * and what a principal may do are decided in governance.h. All functions are
 * pure and thread-safe; the *_valid ones return 1 (valid) or 0.
 */
#ifndef SL_VALIDATE_H
#define SL_VALIDATE_H

#include <stddef.h>

#include "sluice.pb-c.h"

/* Tenant, principal, namespace names, purposes and roles. */
#define SL_NAME_MAX 63
#define SL_OBJECT_NAME_MAX 1024
/*
 * Tags on one object (its own merged over its namespace's defaults) and on
 * one namespace. With keys and values at their limits a full tag set packs
 * to about 21 KiB, so an object record, its audit records and a listing page
 * stay far inside one frame, and the per-request checks stay cheap.
 */
#define SL_TAGS_MAX 64
#define SL_TAG_KEY_MAX 64
#define SL_TAG_VALUE_MAX 256
/* Purposes one principal may declare. */
#define SL_PURPOSES_MAX 16

/* [a-z0-9][a-z0-9._-]{0,62}: tenants, principals, namespaces, purposes, roles. */
int sl_name_valid(const char *s);
/*
 * Object names: 1..SL_OBJECT_NAME_MAX bytes of valid UTF-8 (no overlong
 * forms, no surrogates), no C0, DEL or C1 control characters, no leading
 * '/', no empty ("//", trailing '/'), "." or ".." path components.
 */
int sl_object_name_valid(const char *s);
/*
 * A listing's prefix or resume point: empty, or up to SL_OBJECT_NAME_MAX
 * bytes of valid UTF-8 without control characters (a prefix may end inside
 * a component, so the path rules of object names do not apply).
 */
int sl_name_prefix_valid(const char *s);
/*
 * Free text (labels and the like): min..max bytes of valid UTF-8 without
 * C0, DEL or C1 control characters, so it prints as one harmless line.
 */
int sl_text_valid(const char *s, size_t min, size_t max);
/* Tag keys: 1..SL_TAG_KEY_MAX of [a-z0-9._-], starting with a letter. */
int sl_tag_key_valid(const char *s);
/* Tag values: 1..SL_TAG_VALUE_MAX bytes of valid UTF-8 without control characters. */
int sl_tag_value_valid(const char *s);

/*
 * Checks a tag set: at most SL_TAGS_MAX tags, each key and value valid, no
 * key twice. The count is checked first and duplicates are found by sorting,
 * so a hostile request costs O(n log n) at most. Returns 0, or -EINVAL with
 * *why saying what is wrong (a constant string that quotes nothing from the
 * request: it goes into replies as it is).
 */
int sl_tags_check(Sluice__Tag *const *tags, size_t n, const char **why);
/*
 * Checks a list of names (roles, purposes, tag keys to remove): at most max
 * items, each accepted by valid(), none twice. 0 or -EINVAL with *why.
 */
int sl_names_check(char *const *items, size_t n, size_t max, int (*valid)(const char *),
		   const char **why);

#endif
