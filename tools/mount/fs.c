/*
 * The FUSE operations of sluice-mount.
 *
 * Reads: every open is a grant from sluice-meta (refused: EACCES, audited
 * there); the open file keeps its libsluice reader, whose grant renews
 * itself. Objects classified confidential or above are served with direct_io,
 * so that the kernel's page cache never serves them after a revocation; the
 * rest with keep_cache, since an object never changes. A file read
 * sequentially is fetched ahead in a window of parallel 1 MiB pieces; a random
 * read goes straight from the data servers into FUSE's reply buffer.
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

/* The read-ahead window of a file read sequentially, its pieces, and how much
 * memory all windows of a mount may hold together. */
#define SL_RA_MAX (8u << 20)
#define SL_RA_PIECE (1u << 20)
#define SL_RA_TOTAL_MAX (512ull << 20)
/* The smallest read worth a window: below it, reads go direct. */
#define SL_RA_MIN_READ (64u << 10)
/* Reads in a row, each where the last ended, that make a file sequential. */
#define SL_RA_STREAK 2
/* Reads of one file served together, as libsluice keeps them in flight. */
#define SL_READ_BATCH 32

/* A read waiting for its turn (read_batched). */
struct read_req {
	char *buf;
	size_t len;
	uint64_t off;
	int rc;
	int done;
	struct read_req *next;
};

/* A read-ahead window: [off, off + len) of the object, in buf (SL_RA_MAX). */
struct window {
	char *buf;
	uint64_t off;
	size_t len;
};

enum { NEXT_IDLE = 0, NEXT_FETCHING = 1, NEXT_READY = 2 };

struct sl_file {
	struct sl_spool *spool; /* a file being written, or */
	sluice_reader *r;       /* an object being read, through */
	unsigned idx;           /* the session its grant is bound to */
	pthread_mutex_t lock;
	uint64_t size;
	uint64_t next_off; /* where the last read ended */
	unsigned streak;   /* reads in a row that began where the one before ended */
	struct sl_mnt *m;
	char *path; /* for the log of a background fetch */
	struct window cur;  /* the read-ahead window being read */
	struct window next; /* the one after it, fetched in the background */
	int next_state;     /* NEXT_* or -errno */
	int next_live;      /* next_thread is to be joined */
	pthread_t next_thread;
	uint64_t n_ahead, n_direct, n_fills; /* reads served from windows, direct; fills */
	struct read_req *queue; /* reads waiting for the one in flight */
	int busy;               /* a thread is reading for the queue */
	pthread_cond_t served;
};

static struct sl_mnt *mnt(void)
{
	return fuse_get_context()->private_data;
}

static struct sl_file *file_of(const struct fuse_file_info *fi)
{
	return (struct sl_file *)(uintptr_t)fi->fh;
}

static struct sl_file *file_new(void)
{
	struct sl_file *f = calloc(1, sizeof(*f));

	if (f) {
		pthread_mutex_init(&f->lock, NULL);
		pthread_cond_init(&f->served, NULL);
	}
	return f;
}

static void window_free(struct sl_mnt *m, struct window *w)
{
	if (w->buf)
		__atomic_sub_fetch(&m->ra_total, SL_RA_MAX, __ATOMIC_RELAXED);
	free(w->buf);
	w->buf = NULL;
}

static void file_free(struct sl_file *f)
{
	if (f->m) {
		window_free(f->m, &f->cur);
		window_free(f->m, &f->next);
	}
	free(f->path);
	pthread_cond_destroy(&f->served);
	pthread_mutex_destroy(&f->lock);
	free(f);
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

		if (f->spool) {
			sl_spool_file_size(f->spool, &n);
		} else if (!sl_cache_get(m, path, &n) || n.kind != SL_NODE_FILE) {
			/* The grant's word: the file is readable, and this big. */
			n = (struct sl_node){ .kind = SL_NODE_FILE, .size = f->size };
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

static int is_confidential(const struct sluice_object *o)
{
	for (size_t i = 0; o && i < o->n_tags; i++)
		if (strcmp(o->tags[i].key, "classification") == 0)
			return strcmp(o->tags[i].value, "confidential") == 0 ||
			       strcmp(o->tags[i].value, "restricted") == 0;
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_path p;
	struct sl_node n;
	struct sl_file *f;
	struct sluice_object *o;
	sluice_session *s;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return immutable(m, path, "write to");
	rc = sl_path_split(path, &p);
	if (rc)
		return rc;
	if (sl_spool_lookup(m, path, &n))
		return -EBUSY; /* being written through this mount: not an object yet */
	f = file_new();
	if (!f)
		return -ENOMEM;
	f->m = m;
	f->path = strdup(path);
	if (!f->path) {
		file_free(f);
		return -ENOMEM;
	}
	s = sl_mnt_get(m, &f->idx);
	rc = sluice_reader_open(s, p.ns, p.name, &f->r);
	if (rc == -EINVAL)
		rc = -ENOENT;
	rc = sl_mnt_errno(rc, s, "open", path);
	if (rc == 0) {
		f->size = sluice_reader_size(f->r);
		o = sluice_reader_object(f->r);
		if (!o) {
			rc = -ENOMEM;
		} else if (is_confidential(o)) {
			fi->direct_io = 1;
		} else {
			fi->keep_cache = 1;
		}
		sluice_object_free(o);
	}
	sl_mnt_put(m, f->idx);
	if (rc) {
		if (f->r) {
			sl_mnt_get_at(m, f->idx);
			sluice_reader_close(f->r);
			sl_mnt_put(m, f->idx);
		}
		file_free(f);
		return rc;
	}
	fi->fh = (uintptr_t)f;
	return 0;
}

/* Reads [off, off + len) of the object into buf; bytes read or -errno. */
static int read_one(struct sl_mnt *m, struct sl_file *f, const char *path, struct read_req *q)
{
	sluice_session *s = sl_mnt_get_at(m, f->idx);
	size_t got = 0;
	int rc = sluice_reader_pread(f->r, q->buf, q->len, q->off, &got);

	rc = sl_mnt_errno(rc, s, "read", path);
	sl_mnt_put(m, f->idx);
	return rc ? rc : (int)got;
}

/* Serves a batch of reads with all of them in flight at once. */
static void read_many(struct sl_mnt *m, struct sl_file *f, const char *path,
		      struct read_req *batch)
{
	struct sluice_iov iov[SL_READ_BATCH];
	struct read_req *q[SL_READ_BATCH];

	while (batch) {
		size_t n = 0;
		int rc;

		for (; batch && n < SL_READ_BATCH; batch = batch->next, n++) {
			q[n] = batch;
			iov[n] = (struct sluice_iov){ .buf = batch->buf, .len = batch->len,
						      .off = batch->off };
		}
		sl_mnt_get_at(m, f->idx);
		rc = n > 1 ? sluice_reader_preadv(f->r, iov, n) : -EAGAIN;
		sl_mnt_put(m, f->idx);
		for (size_t i = 0; i < n; i++) {
			/* A batch fails whole: read each alone for its own answer. */
			q[i]->rc = rc ? read_one(m, f, path, q[i]) : (int)iov[i].got;
		}
	}
}

/*
 * Reads into buf, together with whatever other reads of the file arrive
 * meanwhile: the first thread in reads for all that queued up behind it, so
 * that a reader at depth 32 keeps 32 pieces in flight over the file's one
 * session instead of taking turns. Called and returns with f->lock held.
 */
static int read_batched(struct sl_mnt *m, struct sl_file *f, const char *path, char *buf,
			size_t len, uint64_t off)
{
	struct read_req *me = malloc(sizeof(*me));
	int rc;

	if (!me)
		return -ENOMEM;
	*me = (struct read_req){ .buf = buf, .len = len, .off = off, .next = f->queue };
	f->queue = me;
	if (f->busy) {
		while (!me->done)
			pthread_cond_wait(&f->served, &f->lock);
		goto out;
	}
	f->busy = 1;
	while (f->queue) {
		struct read_req *batch = f->queue, *next;

		f->queue = NULL;
		pthread_mutex_unlock(&f->lock);
		read_many(m, f, path, batch);
		pthread_mutex_lock(&f->lock);
		/* A waiter frees its request once done: let go of it last. */
		for (struct read_req *q = batch; q; q = next) {
			next = q->next;
			q->done = 1;
		}
		pthread_cond_broadcast(&f->served);
	}
	f->busy = 0;
out:
	rc = me->rc;
	free(me);
	return rc;
}

/* A window's buffer, within what the mount's windows may hold together. */
static int window_alloc(struct sl_mnt *m, struct window *w)
{
	if (w->buf)
		return 0;
	if (__atomic_add_fetch(&m->ra_total, SL_RA_MAX, __ATOMIC_RELAXED) > SL_RA_TOTAL_MAX) {
		__atomic_sub_fetch(&m->ra_total, SL_RA_MAX, __ATOMIC_RELAXED);
		return -ENOMEM; /* the caller reads direct */
	}
	w->buf = malloc(SL_RA_MAX);
	if (!w->buf) {
		__atomic_sub_fetch(&m->ra_total, SL_RA_MAX, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return 0;
}

/* Reads the object from w->off on into w, in parallel pieces; sets w->len. */
static int window_read(struct sl_mnt *m, struct sl_file *f, struct window *w)
{
	struct sluice_iov iov[SL_RA_MAX / SL_RA_PIECE];
	size_t want = f->size - w->off < SL_RA_MAX ? (size_t)(f->size - w->off) : SL_RA_MAX;
	size_t n = 0, total = 0;
	sluice_session *s;
	int rc;

	for (size_t done = 0; done < want; done += SL_RA_PIECE, n++) {
		iov[n].buf = w->buf + done;
		iov[n].len = want - done < SL_RA_PIECE ? want - done : SL_RA_PIECE;
		iov[n].off = w->off + done;
		iov[n].got = 0;
	}
	s = sl_mnt_get_at(m, f->idx);
	rc = sluice_reader_preadv(f->r, iov, n);
	rc = sl_mnt_errno(rc, s, "read", f->path);
	sl_mnt_put(m, f->idx);
	for (size_t i = 0; !rc && i < n; i++)
		total += iov[i].got;
	w->len = total;
	return rc;
}

/* Fills the current window from off on, now. Under f->lock. */
static int ra_fill(struct sl_mnt *m, struct sl_file *f, uint64_t off)
{
	int rc = window_alloc(m, &f->cur);

	if (rc)
		return rc;
	f->cur.off = off;
	f->cur.len = 0;
	rc = window_read(m, f, &f->cur);
	if (rc)
		f->cur.len = 0;
	f->n_fills++;
	return rc;
}

static void *prefetch_main(void *arg)
{
	struct sl_file *f = arg;
	int rc = window_read(f->m, f, &f->next);

	pthread_mutex_lock(&f->lock);
	f->next_state = rc ? rc : NEXT_READY;
	pthread_cond_broadcast(&f->served);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* Joins the background fetch once it has ended. Under f->lock. */
static void prefetch_reap(struct sl_file *f)
{
	if (f->next_live && f->next_state != NEXT_FETCHING) {
		pthread_join(f->next_thread, NULL);
		f->next_live = 0;
	}
}

/* Starts fetching the window after the current one, if there is one. Under f->lock. */
static void prefetch_start(struct sl_mnt *m, struct sl_file *f)
{
	uint64_t start = f->cur.off + f->cur.len;

	prefetch_reap(f);
	if (f->next_live || (f->next_state == NEXT_READY && f->next.off == start))
		return; /* under way, or there */
	/* A window fetched for a place the reader left, or a failed fetch: over. */
	f->next_state = NEXT_IDLE;
	if (!f->cur.len || start >= f->size || window_alloc(m, &f->next))
		return;
	f->next.off = start;
	f->next.len = 0;
	f->next_state = NEXT_FETCHING;
	if (pthread_create(&f->next_thread, NULL, prefetch_main, f) != 0) {
		f->next_state = NEXT_IDLE; /* read when needed, then */
		return;
	}
	f->next_live = 1;
	f->n_fills++;
}

/* Makes the fetched window current when it holds [o, o + len). Under f->lock. */
static int prefetch_take(struct sl_file *f, uint64_t o, size_t len)
{
	struct window w;

	if (f->next_state == NEXT_IDLE || o < f->next.off || o >= f->next.off + SL_RA_MAX)
		return 0;
	while (f->next_state == NEXT_FETCHING)
		pthread_cond_wait(&f->served, &f->lock);
	prefetch_reap(f);
	if (f->next_state != NEXT_READY || o + len > f->next.off + f->next.len) {
		f->next_state = NEXT_IDLE; /* failed, or short: read it again when needed */
		return 0;
	}
	w = f->cur;
	f->cur = f->next;
	f->next = w;
	f->next_state = NEXT_IDLE;
	return 1;
}

static int in_window(const struct window *w, uint64_t o, size_t len)
{
	return w->len && o >= w->off && o + len <= w->off + w->len;
}

static int op_read(const char *path, char *buf, size_t len, off_t off,
		   struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_file *f = file_of(fi);
	uint64_t o = (uint64_t)off;
	int rc;

	if (f->spool)
		return sl_spool_read(f->spool, buf, len, o);
	if (o >= f->size)
		return 0;
	if (len > f->size - o)
		len = (size_t)(f->size - o);

	pthread_mutex_lock(&f->lock);
	f->streak = o == f->next_off ? f->streak + 1 : 0;
	/*
	 * A large read at the start, or a few in a row each where the last
	 * ended, with more left than this read: a file read front to back. It
	 * is read in windows of parallel pieces, the next one fetched in the
	 * background while this one is read. Anything else (random reads,
	 * small reads) goes direct.
	 */
	if (!in_window(&f->cur, o, len) && !prefetch_take(f, o, len) && len >= SL_RA_MIN_READ &&
	    (o == 0 || f->streak >= SL_RA_STREAK) && f->size - o > len) {
		rc = ra_fill(m, f, o);
		if (rc && rc != -ENOMEM)
			goto out;
	}
	if (in_window(&f->cur, o, len)) {
		memcpy(buf, f->cur.buf + (o - f->cur.off), len);
		f->n_ahead++;
		rc = (int)len;
		/* Half way through this window: time to fetch the next. */
		if (o + len >= f->cur.off + f->cur.len / 2)
			prefetch_start(m, f);
	} else {
		rc = read_batched(m, f, path, buf, len, o);
		f->n_direct++;
	}
	if (rc > 0)
		f->next_off = o + (uint64_t)rc;
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_file *f = file_of(fi);

	if (f->spool) {
		sl_spool_release(m, f->spool);
	} else {
		SL_DEBUG("closed %s: %llu reads from read-ahead (%llu windows), %llu direct", path,
			 (unsigned long long)f->n_ahead, (unsigned long long)f->n_fills,
			 (unsigned long long)f->n_direct);
		/* No read is in flight at release: only a background fetch may be. */
		if (f->next_live)
			pthread_join(f->next_thread, NULL);
		f->next_live = 0;
		sl_mnt_get_at(m, f->idx);
		sluice_reader_close(f->r);
		sl_mnt_put(m, f->idx);
	}
	file_free(f);
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
	f = file_new();
	if (!f)
		return -ENOMEM;
	rc = sl_spool_create(m, path, &f->spool);
	if (rc) {
		file_free(f);
		return rc;
	}
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1; /* nothing of it belongs in the page cache before it is an object */
	return 0;
}

static int op_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	struct sl_file *f = file_of(fi);

	if (!f->spool)
		return immutable(mnt(), path, "write to");
	return sl_spool_write(f->spool, buf, len, (uint64_t)off);
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct sl_file *f = file_of(fi);

	(void)path;
	/* close(2) of a new file ingests it, so that close reports a failure. */
	return f->spool ? sl_spool_commit(mnt(), f->spool) : 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct sl_mnt *m = mnt();
	struct sl_file *f = fi ? file_of(fi) : NULL;

	if (f && f->spool)
		return sl_spool_truncate(f->spool, (uint64_t)size);
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
