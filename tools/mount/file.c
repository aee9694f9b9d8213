/*
 * An open file of sluice-mount: a new file being written (its spool), or an
 * object being read through a libsluice reader, whose grant renews itself.
 *
 * Reads of one file that arrive together go out together (read_batched). A
 * file read front to back is read in windows of parallel pieces, the next
 * window fetched in the background while the current one is read; any other
 * read goes to libsluice with the caller's buffer (FUSE's reply buffer),
 * which the reader registers for the data servers to write into.
 *
 * A window serves reads for SL_RA_FRESH_MS after its fetch began, no longer:
 * bytes kept in the mount are bytes the data servers no longer vouch for,
 * and a revocation (a tag raised, a policy changed) must reach an open file
 * too. An older window is fetched again, through the data servers, which
 * refuse a revoked capability; the reader then asks sluice-meta, which
 * refuses the grant.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "sl_log.h"
#include "sl_time.h"

/* The read-ahead window of a file read sequentially, its pieces, and how much
 * memory all windows of a mount may hold together. */
#define SL_RA_MAX (8u << 20)
#define SL_RA_PIECE (1u << 20)
#define SL_RA_TOTAL_MAX (512ull << 20)
/* The smallest read worth a window: below it, reads go direct. */
#define SL_RA_MIN_READ (64u << 10)
/* Reads in a row, each where the last ended, that make a file sequential. */
#define SL_RA_STREAK 2
/* How long after its fetch began a window may serve reads (revocation). */
#define SL_RA_FRESH_MS 1000u
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

/* A read-ahead window: [off, off + len) of the object, in buf (SL_RA_MAX),
 * fetched from fetched_ms on (sl_mono_ms). */
struct window {
	char *buf;
	uint64_t off;
	size_t len;
	uint64_t fetched_ms;
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
	struct sl_file *prev_open, *next_open; /* m->files */
};

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

/* Keeps f in m->files while it is open. */
static void file_link(struct sl_mnt *m, struct sl_file *f)
{
	pthread_mutex_lock(&m->files_lock);
	f->next_open = m->files;
	if (m->files)
		m->files->prev_open = f;
	m->files = f;
	pthread_mutex_unlock(&m->files_lock);
}

static void file_unlink(struct sl_mnt *m, struct sl_file *f)
{
	pthread_mutex_lock(&m->files_lock);
	if (f->prev_open)
		f->prev_open->next_open = f->next_open;
	else if (m->files == f)
		m->files = f->next_open;
	if (f->next_open)
		f->next_open->prev_open = f->prev_open;
	f->prev_open = f->next_open = NULL;
	pthread_mutex_unlock(&m->files_lock);
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

/* Confidential or above: anything but public and internal (fail closed). */
static int is_confidential(const struct sluice_object *o)
{
	for (size_t i = 0; o && i < o->n_tags; i++)
		if (strcmp(o->tags[i].key, "classification") == 0)
			return strcmp(o->tags[i].value, "public") != 0 &&
			       strcmp(o->tags[i].value, "internal") != 0;
	return 1;
}

int sl_file_open(struct sl_mnt *m, const char *path, struct sl_file **out, int *confidential)
{
	struct sluice_object *o;
	struct sl_path p;
	struct sl_file *f;
	sluice_session *s;
	int rc;

	rc = sl_path_split(path, &p);
	if (rc)
		return rc;
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
		if (!o)
			rc = -ENOMEM;
		else
			*confidential = is_confidential(o);
		sluice_object_free(o);
	}
	sl_mnt_put(m, f->idx);
	if (rc) {
		sl_file_close(m, f);
		return rc;
	}
	file_link(m, f);
	*out = f;
	return 0;
}

int sl_file_create(struct sl_mnt *m, const char *path, struct sl_file **out)
{
	struct sl_file *f = file_new();
	int rc;

	if (!f)
		return -ENOMEM;
	f->m = m;
	rc = sl_spool_create(m, path, &f->spool);
	if (rc) {
		file_free(f);
		return rc;
	}
	file_link(m, f);
	*out = f;
	return 0;
}

struct sl_spool *sl_file_spool(const struct sl_file *f)
{
	return f->spool;
}

uint64_t sl_file_size(const struct sl_file *f)
{
	return f->size;
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
		if (n == 1) {
			q[0]->rc = read_one(m, f, path, q[0]);
			continue;
		}
		sl_mnt_get_at(m, f->idx);
		rc = sluice_reader_preadv(f->r, iov, n);
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
	f->cur.fetched_ms = sl_mono_ms();
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
	f->next.fetched_ms = sl_mono_ms();
	f->next_state = NEXT_FETCHING;
	if (pthread_create(&f->next_thread, NULL, prefetch_main, f) != 0) {
		f->next_state = NEXT_IDLE; /* read when needed, then */
		return;
	}
	f->next_live = 1;
	f->n_fills++;
}

/* Whether w may still serve reads at now (SL_RA_FRESH_MS). */
static int window_fresh(const struct window *w, uint64_t now)
{
	return now - w->fetched_ms < SL_RA_FRESH_MS;
}

/* Makes the fetched window current when it holds [o, o + len) and is still
 * fresh; *now is brought up to date after any wait for the fetch. Under f->lock. */
static int prefetch_take(struct sl_file *f, uint64_t o, size_t len, uint64_t *now)
{
	struct window w;

	if (f->next_state == NEXT_IDLE || o < f->next.off || o >= f->next.off + SL_RA_MAX)
		return 0;
	if (f->next_state == NEXT_FETCHING) {
		while (f->next_state == NEXT_FETCHING)
			pthread_cond_wait(&f->served, &f->lock);
		*now = sl_mono_ms();
	}
	prefetch_reap(f);
	if (f->next_state != NEXT_READY || o + len > f->next.off + f->next.len ||
	    !window_fresh(&f->next, *now)) {
		/* failed, short or too old: read it again when needed */
		f->next_state = NEXT_IDLE;
		return 0;
	}
	w = f->cur;
	f->cur = f->next;
	f->next = w;
	f->next_state = NEXT_IDLE;
	return 1;
}

static int in_window(const struct window *w, uint64_t o, size_t len, uint64_t now)
{
	return w->len && o >= w->off && o + len <= w->off + w->len && window_fresh(w, now);
}

int sl_file_read(struct sl_mnt *m, struct sl_file *f, char *buf, size_t len, uint64_t o)
{
	const char *path = f->path;
	uint64_t now;
	int rc;

	if (f->spool)
		return sl_spool_read(f->spool, buf, len, o);
	if (o >= f->size)
		return 0;
	if (len > f->size - o)
		len = (size_t)(f->size - o);

	pthread_mutex_lock(&f->lock);
	now = sl_mono_ms();
	f->streak = o == f->next_off ? f->streak + 1 : 0;
	/*
	 * A large read at the start, or a few in a row each where the last
	 * ended, with more left than this read: a file read front to back. It
	 * is read in windows of parallel pieces, the next one fetched in the
	 * background while this one is read. Anything else (random reads,
	 * small reads) goes direct.
	 */
	if (!in_window(&f->cur, o, len, now) && !prefetch_take(f, o, len, &now) &&
	    len >= SL_RA_MIN_READ &&
	    (o == 0 || f->streak >= SL_RA_STREAK) && f->size - o > len) {
		rc = ra_fill(m, f, o);
		if (rc && rc != -ENOMEM)
			goto out;
		/* Fetched for this very read: it serves it, however long that took. */
		if (rc == 0)
			now = f->cur.fetched_ms;
	}
	if (in_window(&f->cur, o, len, now)) {
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

void sl_file_close(struct sl_mnt *m, struct sl_file *f)
{
	file_unlink(m, f);
	if (f->spool) {
		sl_spool_release(m, f->spool);
	} else if (f->r) {
		SL_DEBUG("closed %s: %llu reads from read-ahead (%llu windows), %llu direct",
			 f->path, (unsigned long long)f->n_ahead, (unsigned long long)f->n_fills,
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
}

void sl_file_close_all(struct sl_mnt *m)
{
	struct sl_file *f;

	while ((f = m->files)) {
		if (f->spool) {
			SL_WARN("a file still open for writing at unmount was not ingested");
			/* The spool table frees the spool itself. */
			f->spool = NULL;
		}
		sl_file_close(m, f);
	}
}
