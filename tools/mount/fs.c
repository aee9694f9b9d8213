/*
 * The FUSE operations of sluice-mount.
 *
 * Reads: every open is a grant from sluice-meta (refused: EACCES, audited
 * there), kept with the open file (file.c). Objects classified confidential
 * or above are served with direct_io, so that the kernel's page cache never
 * serves them after a revocation; the rest with keep_cache, since an object
 * never changes.
 *
 * Writes (--rw only): new files, spooled until close (spool.c). Objects are
 * immutable: writing into one is EPERM (EROFS on a read-only mount), with the
 * reason logged. Tags are the extended attributes user.sluice.<key>.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mount.h"
#include "sl_log.h"

static struct sl_mnt *mnt(void)
{
	return fuse_get_context()->private_data;
}

static struct sl_file *file_of(const struct fuse_file_info *fi)
{
	return (struct sl_file *)(uintptr_t)fi->fh;
}

/* ---- attributes and directories --------------------------------------------- */

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct sl_mnt *m = mnt();

	cfg->entry_timeout = m->attr_timeout_s;
	cfg->attr_timeout = m->attr_timeout_s;
	cfg->negative_timeout = SL_MNT_NEGATIVE_TIMEOUT_S;
	cfg->nullpath_ok = 0;
	cfg->use_ino = 0;
	conn->max_write = 1u << 20;
	conn->max_read = 1u << 20; /* as the max_read mount option says */
	conn->max_readahead = 1u << 20;
	conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO; /* O_DIRECT reads at depth stay at depth */
	/* Enough requests in flight for a reader at depth 32. */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (m->ready_fd >= 0) {
		/* The mount is usable now: a daemonized mount's parent may return. */
		if (write(m->ready_fd, "0", 1) < 0)
			SL_WARN("the parent of the mount is gone");
		close(m->ready_fd);
		m->ready_fd = -1;
	}
	return m;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_node n;
	int rc;

	if (fi && fi->fh) {
		struct sl_file *f = file_of(fi);

		if (sl_file_spool(f)) {
			sl_spool_file_size(sl_file_spool(f), &n);
		} else if (!sl_cache_get(m, path, &n) || n.kind != SL_NODE_FILE) {
			/* The grant's word: the file is readable, and this big. */
			n = (struct sl_node){ .kind = SL_NODE_FILE, .size = sl_file_size(f) };
		}
		sl_tree_stat(m, &n, st);
		return 0;
	}
	rc = sl_tree_lookup(m, path, &n);
	if (rc == 0)
		sl_tree_stat(m, &n, st);
	return rc;
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct sl_dir *d = NULL;
	int rc = sl_dir_open(mnt(), path, &d);

	if (rc == 0)
		fi->fh = (uintptr_t)d;
	return rc;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct sl_mnt *m = mnt();
	struct sl_dir *d = (struct sl_dir *)(uintptr_t)fi->fh;
	int plus = (flags & FUSE_READDIR_PLUS) != 0;

	(void)path;
	for (uint64_t pos = (uint64_t)off;; pos++) {
		const char *name;
		struct sl_node n;
		struct stat st;
		int rc = sl_dir_entry(m, d, pos, &name, &n);

		if (rc <= 0)
			return rc;
		sl_tree_stat(m, &n, &st);
		if (fill(buf, name, &st, (off_t)(pos + 1), plus ? FUSE_FILL_DIR_PLUS : 0))
			return 0; /* FUSE's buffer is full: it comes back at pos */
	}
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	sl_dir_close((struct sl_dir *)(uintptr_t)fi->fh);
	return 0;
}

static int op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	/* The catalog has no quota to report yet: a large, mostly free volume,
	 * so that tools checking for space before they copy go on. */
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 1u << 20;
	sv->f_frsize = 1u << 20;
	sv->f_blocks = 1ull << 30;
	sv->f_bfree = 1ull << 29;
	sv->f_bavail = 1ull << 29;
	sv->f_files = 1ull << 32;
	sv->f_ffree = 1ull << 31;
	sv->f_namemax = 255;
	return 0;
}

/* ---- reading --------------------------------------------------------------------- */

/* Objects never change: only a mount with --rw may make new ones. */
static int immutable(const struct sl_mnt *m, const char *path, const char *what)
{
	SL_INFO("%s %s refused: objects are immutable%s", what, path,
		m->rw ? "" : " and the mount is read-only");
	return m->rw ? -EPERM : -EROFS;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_node n;
	struct sl_file *f;
	int confidential = 0, rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return immutable(m, path, "write to");
	if (sl_spool_lookup(m, path, &n))
		return -EBUSY; /* being written through this mount: not an object yet */
	rc = sl_file_open(m, path, &f, &confidential);
	if (rc)
		return rc;
	if (confidential)
		fi->direct_io = 1;
	else
		fi->keep_cache = 1;
	fi->fh = (uintptr_t)f;
	return 0;
}

static int op_read(const char *path, char *buf, size_t len, off_t off,
		   struct fuse_file_info *fi)
{
	struct sl_file *f = file_of(fi);
	struct sl_spool *sp = sl_file_spool(f);

	(void)path;
	if (sp)
		return sl_spool_read(sp, buf, len, (uint64_t)off);
	return sl_file_read(mnt(), f, buf, len, (uint64_t)off);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	sl_file_close(mnt(), file_of(fi));
	return 0;
}

/* ---- writing (--rw) -------------------------------------------------------------- */

/* 0 and *p when path is inside a namespace of an --rw mount. */
static int writable_path(const struct sl_mnt *m, const char *path, struct sl_path *p)
{
	int rc;

	if (!m->rw)
		return -EROFS;
	rc = sl_path_split(path, p);
	if (rc)
		return rc;
	/* Namespaces are made and removed with the CLI, by their tenant's admins. */
	return p->root || !p->name[0] ? -EPERM : 0;
}

/* 0 when a file or directory may be made at path: an --rw mount, inside a
 * namespace, and nothing there yet. */
static int may_make(struct sl_mnt *m, const char *path)
{
	struct sl_path p;
	struct sl_node n;
	int rc = writable_path(m, path, &p);

	if (rc)
		return rc;
	rc = sl_tree_lookup(m, path, &n);
	if (rc == 0)
		return -EEXIST;
	return rc == -ENOENT ? 0 : rc;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_file *f;
	int rc;

	(void)mode;
	rc = may_make(m, path);
	if (rc)
		return rc;
	rc = sl_file_create(m, path, &f);
	if (rc)
		return rc;
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1; /* nothing of it belongs in the page cache before it is an object */
	return 0;
}

static int op_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	struct sl_file *f = file_of(fi);

	if (!sl_file_spool(f))
		return immutable(mnt(), path, "write to");
	return sl_spool_write(sl_file_spool(f), buf, len, (uint64_t)off);
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct sl_file *f = file_of(fi);

	(void)path;
	/* close(2) of a new file ingests it, so that close reports a failure. */
	return sl_file_spool(f) ? sl_spool_commit(mnt(), sl_file_spool(f)) : 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_file *f = fi ? file_of(fi) : NULL;

	if (f && sl_file_spool(f))
		return sl_spool_truncate(sl_file_spool(f), (uint64_t)size);
	return immutable(m, path, "truncate");
}

static int op_unlink(const char *path)
{
	struct sl_mnt *m = mnt();
	struct sl_path p;
	struct sl_node n;
	sluice_session *s;
	unsigned idx;
	int rc = writable_path(m, path, &p);

	if (rc)
		return rc;
	if (sl_spool_lookup(m, path, &n))
		return -EBUSY;
	s = sl_mnt_get(m, &idx);
	rc = sluice_delete(s, p.ns, p.name);
	if (rc == -EINVAL)
		rc = -ENOENT;
	rc = sl_mnt_errno(rc, s, "unlink", path);
	sl_mnt_put(m, idx);
	if (rc == 0 || rc == -ENOENT)
		sl_cache_forget(m, path);
	if (rc == 0)
		SL_INFO("deleted %s", path);
	return rc;
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct sl_mnt *m = mnt();
	int rc;

	(void)mode;
	rc = may_make(m, path);
	if (rc)
		return rc;
	rc = sl_spool_mkdir(m, path);
	if (rc == 0) {
		struct sl_node n = { .kind = SL_NODE_DIR };

		sl_cache_put(m, path, &n);
	}
	return rc;
}

static int op_rmdir(const char *path)
{
	struct sl_mnt *m = mnt();
	struct sl_node n;
	int rc;

	if (!m->rw)
		return -EROFS;
	rc = sl_spool_rmdir(m, path);
	if (rc == 0) {
		sl_cache_forget(m, path);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	/* A directory the catalog implies holds objects. */
	rc = sl_tree_lookup(m, path, &n);
	if (rc)
		return rc;
	return n.kind == SL_NODE_DIR ? -ENOTEMPTY : -ENOTDIR;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct sl_mnt *m = mnt();

	(void)flags;
	SL_INFO("rename %s to %s refused: objects have no versions to rename yet", from, to);
	return m->rw ? -EPERM : -EROFS;
}

/* Accepted and ignored, so that cp -p and tar x go on: objects keep none of it. */
static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct sl_node n;

	(void)mode;
	return fi ? 0 : sl_tree_lookup(mnt(), path, &n);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	return op_chmod(path, 0, fi);
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	return op_chmod(path, 0, fi);
}

/* ---- tags as extended attributes ------------------------------------------------ */

/* The object's tags (free with sluice_object_free), or -ENODATA for a directory. */
static int tags_of(struct sl_mnt *m, const char *path, struct sluice_object **o)
{
	struct sl_path p;
	struct sl_node n;
	sluice_session *s;
	unsigned idx;
	int rc;

	rc = sl_tree_lookup(m, path, &n);
	if (rc)
		return rc;
	if (n.kind == SL_NODE_DIR || sl_spool_lookup(m, path, &n))
		return -ENODATA;
	rc = sl_path_split(path, &p);
	if (rc)
		return rc;
	s = sl_mnt_get(m, &idx);
	rc = sluice_stat(s, p.ns, p.name, o);
	rc = sl_mnt_errno(rc, s, "read tags of", path);
	sl_mnt_put(m, idx);
	return rc;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	struct sluice_object *o = NULL;
	size_t need = 0;
	int rc = tags_of(mnt(), path, &o);

	if (rc == -ENODATA)
		return 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < o->n_tags; i++)
		need += strlen(SL_MNT_XATTR_PREFIX) + strlen(o->tags[i].key) + 1;
	if (size && need > size) {
		rc = -ERANGE;
	} else if (size) {
		char *at = list;

		for (size_t i = 0; i < o->n_tags; i++)
			at += sprintf(at, SL_MNT_XATTR_PREFIX "%s", o->tags[i].key) + 1;
	}
	sluice_object_free(o);
	return rc ? rc : (int)need;
}

/* The tag key of an attribute name, or NULL when it is not one of ours. */
static const char *tag_key(const char *attr)
{
	size_t plen = strlen(SL_MNT_XATTR_PREFIX);

	if (strncmp(attr, SL_MNT_XATTR_PREFIX, plen) != 0 || !attr[plen])
		return NULL;
	return attr + plen;
}

static int op_getxattr(const char *path, const char *attr, char *value, size_t size)
{
	const char *key = tag_key(attr);
	struct sluice_object *o = NULL;
	int rc;

	if (!key)
		return -ENODATA;
	rc = tags_of(mnt(), path, &o);
	if (rc)
		return rc;
	rc = -ENODATA;
	for (size_t i = 0; i < o->n_tags; i++) {
		size_t len = strlen(o->tags[i].value);

		if (strcmp(o->tags[i].key, key) != 0)
			continue;
		if (size && len > size) {
			rc = -ERANGE;
		} else {
			if (size)
				memcpy(value, o->tags[i].value, len);
			rc = (int)len;
		}
		break;
	}
	sluice_object_free(o);
	return rc;
}

/* Sets (value) or removes (value NULL) the tag behind attr. */
static int set_tag(const char *path, const char *attr, const char *value, size_t size)
{
	struct sl_mnt *m = mnt();
	const char *key = tag_key(attr);
	struct sl_path p;
	struct sl_node n;
	sluice_session *s;
	unsigned idx;
	char *v = NULL;
	int rc;

	if (!key)
		return -ENOTSUP; /* only user.sluice.* attributes exist here */
	rc = sl_tree_lookup(m, path, &n);
	if (rc)
		return rc;
	if (n.kind == SL_NODE_DIR)
		return -ENOTSUP;
	rc = sl_path_split(path, &p);
	if (rc)
		return rc;
	if (value) {
		v = strndup(value, size);
		if (!v)
			return -ENOMEM;
	}
	s = sl_mnt_get(m, &idx);
	if (v) {
		struct sluice_tag t = { .key = key, .value = v };

		rc = sluice_set_tags(s, p.ns, p.name, &t, 1, NULL, 0);
	} else {
		rc = sluice_set_tags(s, p.ns, p.name, NULL, 0, &key, 1);
	}
	/* EINVAL: a value the tag dictionary refuses, said in the log. */
	rc = sl_mnt_errno(rc, s, "set tag on", path);
	sl_mnt_put(m, idx);
	free(v);
	return rc;
}

static int op_setxattr(const char *path, const char *attr, const char *value, size_t size,
		       int flags)
{
	(void)flags;
	return set_tag(path, attr, value, size);
}

static int op_removexattr(const char *path, const char *attr)
{
	return set_tag(path, attr, NULL, 0);
}

static const struct fuse_operations ops = {
	.init = op_init,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.create = op_create,
	.write = op_write,
	.flush = op_flush,
	.truncate = op_truncate,
	.unlink = op_unlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.listxattr = op_listxattr,
	.getxattr = op_getxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};

const struct fuse_operations *sl_mnt_operations(void)
{
	return &ops;
}
