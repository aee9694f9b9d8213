/*
 * The tree: what a path is, and what a directory holds, from the catalog.
 *
 * The catalog has namespaces and flat object names; directories are the
 * '/'-separated prefixes of names. A lookup of a name costs one listing page
 * that starts just before it (and the page fills the attribute cache with the
 * names after it, so `ls -l` or a data loader stat-ing a directory's files in
 * order costs a page per few hundred files, not a request per file). A
 * directory is read a page at a time: a subdirectory with a million objects
 * under it is one entry, skipped over with a single start_after.
 *
 * Another tenant's namespaces are not in the caller's namespace list and
 * another tenant's objects are not in its listings: they are absent, exactly
 * like missing ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "sl_log.h"

#define SL_LOOKUP_PAGE 256
#define SL_DIR_PAGE 1000
/* The greatest code point in UTF-8: appended to "dir/", it sorts after every
 * valid name under dir/, so a listing resumes past the whole subdirectory. */
#define SL_UTF8_MAX "\xf4\x8f\xbf\xbf"

/* ---- attributes --------------------------------------------------------- */

void sl_tree_stat(const struct sl_mnt *m, const struct sl_node *n, struct stat *st)
{
	/* Directories are implied by names and have no time of their own. */
	uint64_t mtime_ms = n->kind == SL_NODE_DIR && !n->mtime_ms ? m->mounted_ms : n->mtime_ms;

	memset(st, 0, sizeof(*st));
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtim.tv_sec = (time_t)(mtime_ms / 1000);
	st->st_mtim.tv_nsec = (long)(mtime_ms % 1000) * 1000000;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	st->st_blksize = 1 << 20;
	switch (n->kind) {
	case SL_NODE_DIR:
		st->st_mode = S_IFDIR | (m->rw ? 0755 : 0555);
		st->st_nlink = 2;
		break;
	case SL_NODE_FILE:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)n->size;
		st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
		break;
	default:
		/* Listed but not readable by this principal: a name, no contents. */
		st->st_mode = S_IFREG;
		st->st_nlink = 1;
		break;
	}
}

static void node_from_object(const struct sluice_object *o, struct sl_node *n)
{
	memset(n, 0, sizeof(*n));
	n->kind = o->withheld ? SL_NODE_WITHHELD : SL_NODE_FILE;
	n->size = o->withheld ? 0 : o->size;
	n->mtime_ms = o->created_ms;
}

static const struct sl_node dir_node = { .kind = SL_NODE_DIR };

/* ---- namespaces ------------------------------------------------------------ */

/* The caller's namespaces; free with sluice_strings_free. */
static int ns_list(struct sl_mnt *m, char ***names, size_t *n)
{
	unsigned idx;
	sluice_session *s = sl_mnt_get(m, &idx);
	int rc = sluice_ns_list(s, NULL, names, n);

	rc = sl_mnt_errno(rc, s, "list namespaces", "/");
	sl_mnt_put(m, idx);
	return rc;
}

static int ns_lookup(struct sl_mnt *m, const char *ns, struct sl_node *n)
{
	char **names = NULL;
	size_t count = 0;
	int rc = ns_list(m, &names, &count);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < count; i++) {
		char p[80];

		snprintf(p, sizeof(p), "/%s", names[i]);
		sl_cache_put(m, p, &dir_node);
		if (strcmp(names[i], ns) == 0) {
			*n = dir_node;
			rc = 0;
		}
	}
	sluice_strings_free(names, count);
	return rc;
}

/* ---- objects --------------------------------------------------------------- */

/* "/ns/" + name into buf; 0 or -ENAMETOOLONG. */
static int object_path(char *buf, size_t len, const char *ns, const char *name, size_t name_len)
{
	int n = snprintf(buf, len, "/%s/%.*s", ns, (int)name_len, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Caches what a listing page of ns says: each object, and each directory a
 * name implies between prefix and the object (only the first level: deeper
 * ones are found when looked up).
 */
static void cache_page(struct sl_mnt *m, const char *ns, size_t prefix_len,
		       struct sluice_object **list, size_t n)
{
	char path[4200];

	for (size_t i = 0; i < n; i++) {
		const char *name = list[i]->name;
		const char *slash = strchr(name + prefix_len, '/');
		struct sl_node node;

		if (slash) {
			if (!object_path(path, sizeof(path), ns, name, (size_t)(slash - name)))
				sl_cache_put(m, path, &dir_node);
			continue;
		}
		node_from_object(list[i], &node);
		if (!object_path(path, sizeof(path), ns, name, strlen(name)))
			sl_cache_put(m, path, &node);
	}
}

/*
 * Looks name up in one listing page of its parent starting just before it.
 * 0 with *n, -ENOENT when the page proves it absent, -EAGAIN when the page
 * could not tell.
 */
static int lookup_in_page(struct sl_mnt *m, sluice_session *s, const struct sl_path *p,
			  struct sl_node *n)
{
	const char *name = p->name;
	size_t len = strlen(name);
	const char *slash = strrchr(name, '/');
	size_t prefix_len = slash ? (size_t)(slash - name) + 1 : 0;
	char prefix[4100], after[4100], sub[4100];
	struct sluice_object **list = NULL;
	size_t count = 0, alen;
	int truncated = 0, rc;

	if (len + 2 > sizeof(prefix))
		return -ENAMETOOLONG;
	memcpy(prefix, name, prefix_len);
	prefix[prefix_len] = 0;
	/* Names sort bytewise: name minus its last character comes just before
	 * name (a whole character: the catalog takes only valid UTF-8). */
	alen = len - 1;
	while (alen && ((unsigned char)name[alen] & 0xc0) == 0x80)
		alen--;
	memcpy(after, name, alen);
	after[alen] = 0;
	snprintf(sub, sizeof(sub), "%s/", name);

	rc = sluice_list(s, p->ns, prefix, after[0] ? after : NULL, SL_LOOKUP_PAGE, &list, &count,
			 &truncated);
	if (rc)
		return rc;
	cache_page(m, p->ns, prefix_len, list, count);
	rc = -EAGAIN;
	for (size_t i = 0; i < count; i++) {
		const char *e = list[i]->name;

		if (strcmp(e, name) == 0) {
			node_from_object(list[i], n);
			rc = 0;
			break;
		}
		if (strncmp(e, sub, len + 1) == 0) {
			*n = dir_node;
			rc = 0;
			break;
		}
	}
	/* Past every name that is name or under name/: it is in none of them. */
	if (rc == -EAGAIN && (!truncated || (count && strcmp(list[count - 1]->name, sub) > 0)))
		rc = -ENOENT;
	sluice_list_free(list, count);
	return rc;
}

/* The slow way, when a page could not tell: stat, then look under name/. */
static int lookup_direct(sluice_session *s, const struct sl_path *p, struct sl_node *n)
{
	struct sluice_object *o = NULL, **list = NULL;
	size_t count = 0;
	int truncated = 0, rc;
	char sub[4100];

	rc = sluice_stat(s, p->ns, p->name, &o);
	if (rc == 0) {
		node_from_object(o, n);
		sluice_object_free(o);
		return 0;
	}
	if (rc == -EACCES) {
		memset(n, 0, sizeof(*n));
		n->kind = SL_NODE_WITHHELD;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	snprintf(sub, sizeof(sub), "%s/", p->name);
	rc = sluice_list(s, p->ns, sub, NULL, 1, &list, &count, &truncated);
	if (rc == 0) {
		rc = count ? 0 : -ENOENT;
		if (count)
			*n = dir_node;
		sluice_list_free(list, count);
	}
	return rc;
}

int sl_tree_lookup(struct sl_mnt *m, const char *path, struct sl_node *n)
{
	struct sl_path p;
	sluice_session *s;
	unsigned idx;
	int rc;

	rc = sl_path_split(path, &p);
	if (rc)
		return rc;
	if (p.root) {
		*n = dir_node;
		return 0;
	}
	if (sl_spool_lookup(m, path, n))
		return 0;
	if (sl_cache_get(m, path, n))
		return n->kind == SL_NODE_NONE ? -ENOENT : 0;
	if (!p.name[0])
		return ns_lookup(m, p.ns, n);
	if (sl_spool_dir_exists(m, path)) {
		*n = dir_node;
		return 0;
	}
	s = sl_mnt_get(m, &idx);
	rc = lookup_in_page(m, s, &p, n);
	if (rc == -EAGAIN)
		rc = lookup_direct(s, &p, n);
	/* A name the catalog refuses as a name (".." parts, bad bytes) names nothing. */
	if (rc == -EINVAL)
		rc = -ENOENT;
	if (rc == -ENOENT) {
		/* The kernel creates a file right after its lookup said absent:
		 * the create's own check need not ask the catalog again. */
		struct sl_node none = { .kind = SL_NODE_NONE };

		sl_cache_put(m, path, &none);
	}
	rc = sl_mnt_errno(rc, s, "lookup", path);
	sl_mnt_put(m, idx);
	return rc;
}

/* ---- directories ---------------------------------------------------------- */

struct dir_entry {
	char *name; /* one path component */
	struct sl_node node;
};

struct sl_dir {
	char path[4100];   /* the directory's mount path, no trailing '/' */
	struct sl_path p;  /* ns; p.name is not used */
	char prefix[4100]; /* object-name prefix of its entries: "" or "a/b/" */
	int root;

	/* Entries local to this mount (spools, mkdir), listed first. */
	char **local;
	size_t n_local;

	/* The page of catalog entries at positions [page_pos, page_pos + n). */
	struct dir_entry *page;
	size_t n;
	uint64_t page_pos;
	char next_after[4200]; /* where the next page starts; "" first */
	int more;              /* the catalog has entries past this page */
};

static void page_clear(struct sl_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->page[i].name);
	free(d->page);
	d->page = NULL;
	d->n = 0;
}

static int is_local(const struct sl_dir *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->n_local; i++)
		if (strlen(d->local[i]) == len && memcmp(d->local[i], name, len) == 0)
			return 1;
	return 0;
}

static int add_entry(struct sl_dir *d, size_t *cap, const char *name, size_t len,
		     const struct sl_node *node)
{
	struct dir_entry *e;

	if (d->n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct dir_entry *p = realloc(d->page, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->page = p;
		*cap = c;
	}
	e = &d->page[d->n];
	e->name = strndup(name, len);
	if (!e->name)
		return -ENOMEM;
	e->node = *node;
	d->n++;
	return 0;
}

/* The namespaces, as the root's one and only page. */
static int root_page(struct sl_mnt *m, struct sl_dir *d)
{
	char **names = NULL;
	size_t count = 0, cap = 0;
	int rc = ns_list(m, &names, &count);

	for (size_t i = 0; !rc && i < count; i++)
		rc = add_entry(d, &cap, names[i], strlen(names[i]), &dir_node);
	sluice_strings_free(names, count);
	d->more = 0;
	return rc;
}

/* 1 when a path component can be this part of a name (not "", ".", "..",
 * nor longer than the kernel lets a component be). */
static int nameable(const char *part, size_t len)
{
	return len && len <= 255 && !(len == 1 && part[0] == '.') &&
	       !(len == 2 && part[0] == '.' && part[1] == '.');
}

/* The next page of the catalog: objects and the subdirectories names imply. */
static int next_page(struct sl_mnt *m, struct sl_dir *d)
{
	struct sluice_object **list = NULL;
	size_t count = 0, cap = 0, plen = strlen(d->prefix);
	int truncated = 0, rc;
	unsigned idx;
	sluice_session *s;

	d->page_pos += d->n;
	page_clear(d);
	if (d->root)
		return d->page_pos ? 0 : root_page(m, d);

	s = sl_mnt_get(m, &idx);
	rc = sluice_list(s, d->p.ns, d->prefix, d->next_after[0] ? d->next_after : NULL,
			 SL_DIR_PAGE, &list, &count, &truncated);
	rc = sl_mnt_errno(rc, s, "list", d->path);
	sl_mnt_put(m, idx);
	if (rc)
		return rc;

	cache_page(m, d->p.ns, plen, list, count);
	d->more = truncated;
	for (size_t i = 0; i < count && !rc; i++) {
		const char *rest = list[i]->name + plen;
		const char *slash = strchr(rest, '/');
		size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
		struct sl_node node;

		if (!nameable(rest, len)) {
			/* A name no path can reach ("a//b", "a/./b"): not listed. */
		} else if (slash) {
			/* One entry for the subdirectory; the next page starts past it. */
			if (!(d->n && d->page[d->n - 1].node.kind == SL_NODE_DIR &&
			      strlen(d->page[d->n - 1].name) == len &&
			      memcmp(d->page[d->n - 1].name, rest, len) == 0) &&
			    !is_local(d, rest, len))
				rc = add_entry(d, &cap, rest, len, &dir_node);
		} else if (!is_local(d, rest, len)) {
			node_from_object(list[i], &node);
			rc = add_entry(d, &cap, rest, len, &node);
		}
		if (slash)
			snprintf(d->next_after, sizeof(d->next_after), "%.*s/" SL_UTF8_MAX,
				 (int)(plen + len), list[i]->name);
		else
			snprintf(d->next_after, sizeof(d->next_after), "%s", list[i]->name);
	}
	sluice_list_free(list, count);
	return rc;
}

int sl_dir_open(struct sl_mnt *m, const char *path, struct sl_dir **out)
{
	struct sl_node node;
	struct sl_dir *d;
	int rc;

	rc = sl_tree_lookup(m, path, &node);
	if (rc)
		return rc;
	if (node.kind != SL_NODE_DIR)
		return -ENOTDIR;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->path, sizeof(d->path), "%s", strcmp(path, "/") == 0 ? "" : path);
	rc = sl_path_split(path, &d->p);
	if (rc)
		goto fail;
	d->root = d->p.root;
	if (!d->root && d->p.name[0])
		snprintf(d->prefix, sizeof(d->prefix), "%s/", d->p.name);
	rc = sl_spool_children(m, path, &d->local, &d->n_local);
	if (rc)
		goto fail;
	d->page_pos = 0;
	rc = next_page(m, d);
	if (rc)
		goto fail;
	d->page_pos = 0;
	*out = d;
	return 0;
fail:
	sl_dir_close(d);
	return rc;
}

/* Starts over, for a reader that went back (rewinddir, or seekdir). */
static int rewind_dir(struct sl_mnt *m, struct sl_dir *d)
{
	page_clear(d);
	d->page_pos = 0;
	d->next_after[0] = 0;
	return next_page(m, d);
}

int sl_dir_entry(struct sl_mnt *m, struct sl_dir *d, uint64_t pos, const char **name,
		 struct sl_node *n)
{
	int rc;

	/* Positions: ".", "..", the local entries, then the catalog's. */
	if (pos < 2) {
		*name = pos ? ".." : ".";
		*n = dir_node;
		return 1;
	}
	pos -= 2;
	if (pos < d->n_local) {
		char path[4400];

		*name = d->local[pos];
		snprintf(path, sizeof(path), "%s/%s", d->path, *name);
		if (!sl_spool_lookup(m, path, n))
			*n = dir_node; /* made with mkdir */
		return 1;
	}
	pos -= d->n_local;
	if (pos < d->page_pos) {
		rc = rewind_dir(m, d);
		if (rc)
			return rc;
	}
	while (pos >= d->page_pos + d->n) {
		if (!d->more)
			return 0;
		rc = next_page(m, d);
		if (rc)
			return rc;
	}
	*name = d->page[pos - d->page_pos].name;
	*n = d->page[pos - d->page_pos].node;
	return 1;
}

void sl_dir_close(struct sl_dir *d)
{
	if (!d)
		return;
	page_clear(d);
	for (size_t i = 0; i < d->n_local; i++)
		free(d->local[i]);
	free(d->local);
	free(d);
}
