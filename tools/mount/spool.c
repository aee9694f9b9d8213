/*
 * Files written through an --rw mount. An object is immutable and committed
 * whole, so a new file is spooled to an unnamed local file while it is
 * written and ingested once, when it is first closed (the flush of close(2),
 * so that a failed ingest is close's error). Until then only this mount sees
 * it; if the mount dies first, nothing reaches the catalog. Directories made
 * with mkdir live here too, until an object lands in them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount.h"
#include "sl_log.h"
#include "sl_time.h"

/* Files being written at once, and directories made, per mount. */
#define SL_SPOOLS_MAX 4096
#define SL_VDIRS_MAX 65536

struct sl_spool {
	struct sl_spool *next;
	char *path;
	int fd;
	uint64_t size;
	uint64_t mtime_ms;
	int committed; /* ingest tried */
	int result;    /* its result */
	pthread_mutex_t lock;
};

struct sl_spool_table {
	pthread_mutex_t lock;
	struct sl_spool *spools; /* not yet committed */
	size_t n_spools;
	char **dirs;
	size_t n_dirs;
};

int sl_spool_table_new(struct sl_mnt *m)
{
	m->spools = calloc(1, sizeof(*m->spools));
	if (!m->spools)
		return -ENOMEM;
	pthread_mutex_init(&m->spools->lock, NULL);
	return 0;
}

static void spool_free(struct sl_spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	pthread_mutex_destroy(&sp->lock);
	free(sp->path);
	free(sp);
}

void sl_spool_table_free(struct sl_mnt *m)
{
	struct sl_spool_table *t = m->spools;

	if (!t)
		return;
	/* Files still open at unmount (sl_file_close_all) are discarded here. */
	while (t->spools) {
		struct sl_spool *sp = t->spools;

		t->spools = sp->next;
		spool_free(sp);
	}
	for (size_t i = 0; i < t->n_dirs; i++)
		free(t->dirs[i]);
	free(t->dirs);
	pthread_mutex_destroy(&t->lock);
	free(t);
	m->spools = NULL;
}

/* The spool of path, under the table lock. */
static struct sl_spool *find(struct sl_spool_table *t, const char *path)
{
	struct sl_spool *sp = t->spools;

	while (sp && strcmp(sp->path, path) != 0)
		sp = sp->next;
	return sp;
}

static void unlink_spool(struct sl_spool_table *t, struct sl_spool *sp)
{
	struct sl_spool **at = &t->spools;

	while (*at && *at != sp)
		at = &(*at)->next;
	if (*at) {
		*at = sp->next;
		t->n_spools--;
	}
}

/* An unnamed file in the spool folder: nothing to clean up after a crash. */
static int spool_file(const char *dir)
{
	char tmpl[4200];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	snprintf(tmpl, sizeof(tmpl), "%s/.sluice-spool-XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(tmpl);
	return fd;
}

int sl_spool_create(struct sl_mnt *m, const char *path, struct sl_spool **out)
{
	struct sl_spool_table *t = m->spools;
	struct sl_spool *sp;
	int rc = 0;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	pthread_mutex_init(&sp->lock, NULL);
	sp->fd = -1;
	sp->mtime_ms = sl_now_ms();
	sp->path = strdup(path);
	if (!sp->path) {
		rc = -ENOMEM;
		goto fail;
	}
	sp->fd = spool_file(m->spool_dir);
	if (sp->fd < 0) {
		rc = sp->fd;
		SL_WARN("create %s: cannot make a spool file in %s: %s", path, m->spool_dir,
			strerror(-rc));
		rc = -EIO;
		goto fail;
	}
	pthread_mutex_lock(&t->lock);
	if (find(t, path))
		rc = -EEXIST;
	else if (t->n_spools >= SL_SPOOLS_MAX)
		rc = -EMFILE;
	if (!rc) {
		sp->next = t->spools;
		t->spools = sp;
		t->n_spools++;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc)
		goto fail;
	*out = sp;
	return 0;
fail:
	spool_free(sp);
	return rc;
}

int sl_spool_write(struct sl_spool *sp, const char *buf, size_t len, uint64_t off)
{
	ssize_t n;
	int rc;

	pthread_mutex_lock(&sp->lock);
	if (sp->committed) {
		/* The object is ingested (or failed to be): it cannot change now. */
		rc = -EPERM;
		goto out;
	}
	n = pwrite(sp->fd, buf, len, (off_t)off);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	/* Atomic: sl_spool_lookup reads them without sp->lock. */
	if (off + (uint64_t)n > sp->size)
		__atomic_store_n(&sp->size, off + (uint64_t)n, __ATOMIC_RELAXED);
	__atomic_store_n(&sp->mtime_ms, sl_now_ms(), __ATOMIC_RELAXED);
	rc = (int)n;
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int sl_spool_read(struct sl_spool *sp, char *buf, size_t len, uint64_t off)
{
	ssize_t n;

	pthread_mutex_lock(&sp->lock);
	n = pread(sp->fd, buf, len, (off_t)off);
	pthread_mutex_unlock(&sp->lock);
	return n < 0 ? -errno : (int)n;
}

int sl_spool_truncate(struct sl_spool *sp, uint64_t size)
{
	int rc = 0;

	pthread_mutex_lock(&sp->lock);
	if (sp->committed)
		rc = -EPERM;
	else if (ftruncate(sp->fd, (off_t)size) < 0)
		rc = -errno;
	else
		__atomic_store_n(&sp->size, size, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int sl_spool_commit(struct sl_mnt *m, struct sl_spool *sp)
{
	struct sl_path p;
	sluice_session *s;
	unsigned idx;
	int rc;

	pthread_mutex_lock(&sp->lock);
	if (sp->committed) {
		rc = sp->result;
		goto out;
	}
	rc = sl_path_split(sp->path, &p);
	if (rc)
		goto done;
	if (lseek(sp->fd, 0, SEEK_SET) < 0) {
		rc = -errno;
		goto done;
	}
	s = sl_mnt_get(m, &idx);
	rc = sluice_put_fd(s, p.ns, p.name, sp->fd, sp->size, m->tags, m->n_tags, NULL, NULL);
	if (rc)
		SL_WARN("ingest of %s (%llu bytes) failed, nothing was stored: %s", sp->path,
			(unsigned long long)sp->size, sluice_last_error(s));
	else
		SL_DEBUG("ingested %s (%llu bytes)", sp->path, (unsigned long long)sp->size);
	sl_mnt_put(m, idx);
	/* Whatever went wrong, the writer learns it as an I/O error on close. */
	if (rc)
		rc = rc == -EEXIST || rc == -EACCES || rc == -EPERM ? rc : -EIO;
done:
	sp->committed = 1;
	sp->result = rc;
	if (!rc) {
		struct sl_node n = { .kind = SL_NODE_FILE, .size = sp->size,
				     .mtime_ms = sl_now_ms() };

		sl_cache_put(m, sp->path, &n);
	}
	/* From now on the catalog says what the path is. */
	pthread_mutex_lock(&m->spools->lock);
	unlink_spool(m->spools, sp);
	pthread_mutex_unlock(&m->spools->lock);
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

void sl_spool_release(struct sl_mnt *m, struct sl_spool *sp)
{
	sl_spool_commit(m, sp);
	spool_free(sp);
}

int sl_spool_lookup(struct sl_mnt *m, const char *path, struct sl_node *n)
{
	struct sl_spool_table *t = m->spools;
	struct sl_spool *sp;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	sp = find(t, path);
	if (sp) {
		memset(n, 0, sizeof(*n));
		n->kind = SL_NODE_FILE;
		n->size = __atomic_load_n(&sp->size, __ATOMIC_RELAXED);
		n->mtime_ms = __atomic_load_n(&sp->mtime_ms, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&t->lock);
	return sp != NULL;
}

int sl_spool_file_size(struct sl_spool *sp, struct sl_node *n)
{
	pthread_mutex_lock(&sp->lock);
	memset(n, 0, sizeof(*n));
	n->kind = SL_NODE_FILE;
	n->size = sp->size;
	n->mtime_ms = sp->mtime_ms;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

/* ---- directories made with mkdir ---------------------------------------------- */

static ssize_t dir_index(const struct sl_spool_table *t, const char *path)
{
	for (size_t i = 0; i < t->n_dirs; i++)
		if (strcmp(t->dirs[i], path) == 0)
			return (ssize_t)i;
	return -1;
}

int sl_spool_mkdir(struct sl_mnt *m, const char *path)
{
	struct sl_spool_table *t = m->spools;
	char *copy = strdup(path), **dirs;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	if (dir_index(t, path) >= 0 || find(t, path)) {
		rc = -EEXIST;
	} else if (t->n_dirs >= SL_VDIRS_MAX) {
		rc = -ENOSPC;
	} else {
		dirs = realloc(t->dirs, (t->n_dirs + 1) * sizeof(*dirs));
		if (!dirs) {
			rc = -ENOMEM;
		} else {
			t->dirs = dirs;
			t->dirs[t->n_dirs++] = copy;
			copy = NULL;
		}
	}
	pthread_mutex_unlock(&t->lock);
	free(copy);
	return rc;
}

/* 1 when path/ has a spool or a made directory under it; under the lock. */
static int has_children(const struct sl_spool_table *t, const char *path)
{
	size_t len = strlen(path);

	for (const struct sl_spool *sp = t->spools; sp; sp = sp->next)
		if (strncmp(sp->path, path, len) == 0 && sp->path[len] == '/')
			return 1;
	for (size_t i = 0; i < t->n_dirs; i++)
		if (strncmp(t->dirs[i], path, len) == 0 && t->dirs[i][len] == '/')
			return 1;
	return 0;
}

int sl_spool_rmdir(struct sl_mnt *m, const char *path)
{
	struct sl_spool_table *t = m->spools;
	ssize_t i;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	i = dir_index(t, path);
	if (i < 0) {
		rc = -ENOENT;
	} else if (has_children(t, path)) {
		rc = -ENOTEMPTY;
	} else {
		free(t->dirs[i]);
		t->dirs[i] = t->dirs[--t->n_dirs];
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int sl_spool_dir_exists(struct sl_mnt *m, const char *path)
{
	int found;

	if (!m->spools)
		return 0;
	pthread_mutex_lock(&m->spools->lock);
	found = dir_index(m->spools, path) >= 0;
	pthread_mutex_unlock(&m->spools->lock);
	return found;
}

/* Adds the last component of child to the list when it is right under dir/. */
static int add_child(const char *dir, size_t len, const char *child, char ***names,
		     size_t *n)
{
	const char *rest = child + len + 1;
	char **list, *copy;

	if (strncmp(child, dir, len) != 0 || child[len] != '/' || strchr(rest, '/'))
		return 0;
	copy = strdup(rest);
	list = copy ? realloc(*names, (*n + 1) * sizeof(*list)) : NULL;
	if (!list) {
		free(copy);
		return -ENOMEM;
	}
	*names = list;
	list[(*n)++] = copy;
	return 0;
}

int sl_spool_children(struct sl_mnt *m, const char *dir, char ***names, size_t *n)
{
	struct sl_spool_table *t = m->spools;
	size_t len = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	for (const struct sl_spool *sp = t->spools; sp && !rc; sp = sp->next)
		rc = add_child(dir, len, sp->path, names, n);
	for (size_t i = 0; i < t->n_dirs && !rc; i++)
		rc = add_child(dir, len, t->dirs[i], names, n);
	pthread_mutex_unlock(&t->lock);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
	}
	return rc;
}
