/* Shard files: durable writes, io_uring reads, CRC checks; see shardstore.h. */
#include "shardstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "sl_log.h"

static void shard_path(const struct sl_shardstore *s, uint64_t tenant, uint64_t object,
		       uint32_t index, char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s/shards/%016llx/%016llx.%u%s", s->dir, (unsigned long long)tenant,
		 (unsigned long long)object, index, suffix);
}

static int fsync_dir(const char *path)
{
	char dir[600];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Removes the temporary files of writes a crash interrupted. */
static void remove_leftovers(const char *shards)
{
	DIR *top = opendir(shards);
	struct dirent *t;

	if (!top)
		return;
	while ((t = readdir(top))) {
		char sub[600];
		DIR *d;
		struct dirent *e;

		if (t->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", shards, t->d_name);
		d = opendir(sub);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			char path[900];

			if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
				snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
				if (unlink(path) == 0)
					SL_INFO("removed %s, left by an interrupted write", path);
			}
		}
		closedir(d);
	}
	closedir(top);
}

int sl_shardstore_exists(struct sl_shardstore *s, uint64_t tenant, uint64_t object,
			 uint32_t index)
{
	char path[600];

	shard_path(s, tenant, object, index, path, sizeof(path), "");
	return access(path, F_OK) == 0;
}

/*
 * Gives tmp the name path unless path exists: a stored shard is never
 * replaced. renameat2 where the filesystem knows RENAME_NOREPLACE, else a
 * hard link (which refuses an existing name too) and the temporary name
 * removed.
 */
static int publish(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -errno;
	if (link(tmp, path) < 0)
		return -errno;
	unlink(tmp);
	return 0;
}

int sl_shardstore_drop(struct sl_shardstore *s, uint64_t tenant, uint64_t object, uint32_t index)
{
	char path[600];

	shard_path(s, tenant, object, index, path, sizeof(path), "");
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int sl_shardstore_init(struct sl_shardstore *s, const char *dir)
{
	char path[600], probe[600];
	int fd;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/shards", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	remove_leftovers(path);
	/* tmpfs and some overlay setups refuse O_DIRECT: find out once. */
	snprintf(probe, sizeof(probe), "%s/.direct-probe", path);
	fd = open(probe, O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
	s->direct_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	unlink(probe);
	if (!s->direct_ok)
		SL_INFO("shard store %s: O_DIRECT unavailable, using the page cache", dir);
	return 0;
}

int sl_uring_init(struct sl_uring *u, const struct iovec *bufs, unsigned nbufs)
{
	struct io_uring_params p = { 0 };
	int rc;

	memset(u, 0, sizeof(*u));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	rc = io_uring_queue_init_params(64, &u->ring, &p);
	if (rc == -EINVAL) {
		/* Older kernels: plain flags. */
		memset(&p, 0, sizeof(p));
		rc = io_uring_queue_init_params(64, &u->ring, &p);
	}
	if (rc)
		return rc;
	if (nbufs && io_uring_register_buffers(&u->ring, bufs, nbufs) == 0)
		u->fixed = 1;
	else if (nbufs)
		SL_INFO("io_uring: buffers not registered (memlock limit?): plain reads");
	return 0;
}

void sl_uring_exit(struct sl_uring *u)
{
	io_uring_queue_exit(&u->ring);
}

static uint32_t hdr_checksum(const struct sl_shard_hdr *h)
{
	struct sl_shard_hdr copy = *h;

	copy.hdr_crc = 0;
	return sl_crc32c(0, &copy, sizeof(copy));
}

int sl_shardstore_write(struct sl_shardstore *s, uint64_t tenant, uint64_t object,
			uint32_t index, uint8_t *buf, uint32_t length, uint32_t crc32c)
{
	struct sl_shard_hdr h = { SL_SHARD_MAGIC, SL_SHARD_VERSION, SL_SHARD_HDR_LEN, tenant,
				  object, index, length, crc32c, 0, SL_SHARD_BLOCK, 0, { 0 }, { { 0 } } };
	const uint8_t *data = buf + SL_SHARD_HDR_LEN;
	char path[600], tmp[620];
	size_t total = SL_SHARD_HDR_LEN + (size_t)length, done = 0;
	uint32_t whole = 0;
	int fd, rc = 0;

	if (length > SL_SHARD_MAX)
		return -EFBIG;
	shard_path(s, tenant, object, index, path, sizeof(path), "");
	shard_path(s, tenant, object, index, tmp, sizeof(tmp), ".tmp");
	/* Cheap refusal first; publish() makes it exact. */
	if (access(path, F_OK) == 0)
		return -EEXIST;
	/* One pass: the block CRCs, chained into the shard's CRC to check it,
	 * and the block digests readers check the catalog's root against. */
	h.n_blocks = (length + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK;
	for (uint32_t b = 0; b < h.n_blocks; b++) {
		uint32_t at = b * SL_SHARD_BLOCK;
		uint32_t n = length - at < SL_SHARD_BLOCK ? length - at : SL_SHARD_BLOCK;

		h.block_crc[b] = sl_crc32c(0, data + at, n);
		whole = sl_crc32c(whole, data + at, n);
		if (sl_block_digest(data + at, n, h.block_sha[b]))
			return -ENOMEM;
	}
	if (whole != crc32c)
		return -EBADMSG;

	{
		char dir[600];

		snprintf(dir, sizeof(dir), "%s/shards/%016llx", s->dir, (unsigned long long)tenant);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	h.hdr_crc = hdr_checksum(&h);
	memset(buf, 0, SL_SHARD_HDR_LEN);
	memcpy(buf, &h, sizeof(h));

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (done < total) {
		ssize_t n = pwrite(fd, buf + done, total - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (!rc && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc)
		rc = publish(tmp, path);
	if (!rc)
		rc = fsync_dir(path);
	if (rc) {
		unlink(tmp);
		if (rc != -EEXIST)
			SL_ERR_RC(rc, "storing shard %s", path);
	}
	return rc;
}

/* Queues the rest of range i of rd: user data is rd with the range in its low bits. */
static int queue_range(struct sl_shard_read *rd, int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&rd->u->ring);
	size_t off = rd->off[i] + rd->got[i], len = rd->len[i] - rd->got[i];

	if (!sqe)
		return -EBUSY;
	if (rd->u->fixed && rd->buf_index >= 0)
		io_uring_prep_read_fixed(sqe, rd->fd, rd->buf + off, (unsigned)len, off,
					 rd->buf_index);
	else
		io_uring_prep_read(sqe, rd->fd, rd->buf + off, (unsigned)len, off);
	/* After the prep helper, which clears the user data in this liburing. */
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)rd | (uintptr_t)i));
	rd->pending++;
	return 0;
}

int sl_shardstore_read_start(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
			     uint64_t object, uint32_t index, uint32_t off, uint32_t len,
			     uint8_t *buf, size_t cap, int buf_index, struct sl_shard_read *rd)
{
	uint32_t b0 = off / SL_SHARD_BLOCK, b1;
	int rc;

	memset(rd, 0, sizeof(*rd));
	rd->u = u;
	rd->buf = buf;
	rd->buf_index = buf_index;
	rd->tenant = tenant;
	rd->object = object;
	rd->index = index;
	rd->req_off = off;
	rd->req_len = len;
	rd->fd = -1;
	if (u->broken)
		return -EIO;
	shard_path(s, tenant, object, index, rd->path, sizeof(rd->path), "");
	/* Header and covering blocks in one submission. The blocks' extent is
	 * rounded to whole 64 KiB blocks; the end of the file cuts it short. */
	b1 = len ? (uint32_t)(((uint64_t)off + len - 1) / SL_SHARD_BLOCK) : b0;
	rd->off[0] = 0;
	rd->len[0] = SL_SHARD_HDR_LEN;
	rd->off[1] = SL_SHARD_HDR_LEN + (size_t)b0 * SL_SHARD_BLOCK;
	rd->len[1] = len ? (size_t)(b1 - b0 + 1) * SL_SHARD_BLOCK : 0;
	if ((uint64_t)off + len > SL_SHARD_MAX || rd->off[1] + rd->len[1] > cap)
		return -ERANGE;
	rd->fd = open(rd->path, O_RDONLY | O_CLOEXEC | (s->direct_ok ? O_DIRECT : 0));
	if (rd->fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	for (int i = 0; i < 2; i++) {
		if (!rd->len[i])
			continue;
		rc = queue_range(rd, i);
		if (rc) {
			/* Nothing queued may run against a closed descriptor: only
			 * fail before the first range went in. */
			if (rd->pending == 0) {
				close(rd->fd);
				rd->fd = -1;
				return rc;
			}
			rd->err = rc;
			break;
		}
	}
	return 0;
}

int sl_shardstore_read_cqe(struct sl_shard_read *rd, int range, int res)
{
	int i = range;

	rd->pending--;
	if (res == -EAGAIN || res == -EINTR) {
		if (!rd->err && queue_range(rd, i))
			rd->err = -EBUSY;
	} else if (res < 0) {
		if (!rd->err)
			rd->err = res;
	} else {
		rd->got[i] += (size_t)res;
		/* A short read before the end of the file: ask for the rest. */
		if (res > 0 && rd->got[i] < rd->len[i] && !rd->err && queue_range(rd, i))
			rd->err = -EBUSY;
	}
	return rd->pending == 0;
}

int sl_shardstore_read_finish(struct sl_shard_read *rd, struct sl_shard_hdr *hdr)
{
	uint32_t off = rd->req_off, len = rd->req_len;
	uint32_t b0 = off / SL_SHARD_BLOCK;
	uint32_t b1 = len ? (uint32_t)(((uint64_t)off + len - 1) / SL_SHARD_BLOCK) : b0;
	int rc = rd->err;

	if (rd->fd >= 0)
		close(rd->fd);
	rd->fd = -1;
	if (rc)
		return rc;
	memcpy(hdr, rd->buf, sizeof(*hdr));
	if (rd->got[0] < SL_SHARD_HDR_LEN || hdr->magic != SL_SHARD_MAGIC ||
	    hdr->version != SL_SHARD_VERSION || hdr->hdr_crc != hdr_checksum(hdr) ||
	    hdr->tenant != rd->tenant || hdr->object != rd->object || hdr->index != rd->index ||
	    hdr->block_size != SL_SHARD_BLOCK || hdr->n_blocks > SL_SHARD_MAX_BLOCKS ||
	    hdr->n_blocks != (hdr->length + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK) {
		SL_ERR("shard %s: bad header", rd->path);
		return -EBADMSG;
	}
	if ((uint64_t)off + len > hdr->length)
		return -ERANGE;
	for (uint32_t b = b0; len && b <= b1; b++) {
		uint32_t at = b * SL_SHARD_BLOCK;
		uint32_t n = hdr->length - at < SL_SHARD_BLOCK ? hdr->length - at : SL_SHARD_BLOCK;

		if ((size_t)(at - b0 * SL_SHARD_BLOCK) + n > rd->got[1]) {
			SL_ERR("shard %s: shorter than its header says", rd->path);
			return -EBADMSG;
		}
		if (sl_crc32c(0, rd->buf + SL_SHARD_HDR_LEN + at, n) != hdr->block_crc[b]) {
			SL_ERR("shard %s: CRC32C mismatch in block %u, refusing to serve it",
			       rd->path, b);
			return -EBADMSG;
		}
	}
	return 0;
}

struct sl_shard_read *sl_shardstore_cqe_read(const struct io_uring_cqe *cqe, int *range)
{
	uintptr_t v = (uintptr_t)io_uring_cqe_get_data(cqe);

	*range = (int)(v & 7u);
	if (cqe->user_data == 0 || cqe->user_data == LIBURING_UDATA_TIMEOUT)
		return NULL;
	return (struct sl_shard_read *)(v & ~(uintptr_t)7u);
}

/*
 * Fails every request the kernel has not taken yet: each becomes a no-op
 * with no read behind it (the kernel may still take it later, harmlessly)
 * and its read gets err as its completion. Without SQPOLL the kernel reads
 * the submission queue only inside io_uring_enter, so entries past its head
 * are still ours to rewrite.
 */
static void fail_queued(struct sl_uring *u, int err,
			void (*done)(struct sl_shard_read *rd, void *arg), void *arg)
{
	struct io_uring_sq *sq = &u->ring.sq;
	unsigned head = io_uring_smp_load_acquire(sq->khead);

	if (err == -EAGAIN || err == -EINTR)
		err = -EIO; /* a read takes those as "try again" */
	for (unsigned i = head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];
		uintptr_t v = (uintptr_t)sqe->user_data;
		struct sl_shard_read *rd = (struct sl_shard_read *)(v & ~(uintptr_t)7u);

		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, 0);
		if (v == 0 || (uint64_t)v == LIBURING_UDATA_TIMEOUT)
			continue;
		if (sl_shardstore_read_cqe(rd, (int)(v & 7u), err) && done)
			done(rd, arg);
	}
}

int sl_uring_submit(struct sl_uring *u, long wait_us,
		    void (*done)(struct sl_shard_read *rd, void *arg), void *arg)
{
	struct __kernel_timespec ts = { wait_us / 1000000, (wait_us % 1000000) * 1000 };
	struct io_uring_cqe *cqe;
	int rc;

	if (wait_us < 0)
		rc = io_uring_submit_and_wait(&u->ring, 1);
	else if (wait_us == 0)
		rc = io_uring_submit(&u->ring);
	else
		rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (rc >= 0 || rc == -ETIME) {
		u->fails = 0;
		return 0;
	}
	if ((rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) && ++u->fails < SL_URING_SUBMIT_TRIES)
		return rc; /* still queued: the next call tries again */
	SL_ERR_RC(rc, "io_uring submission failed; failing the reads it carried");
	u->fails = 0;
	fail_queued(u, rc, done, arg);
	return rc;
}

int sl_shardstore_read(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
		       uint64_t object, uint32_t index, uint32_t off, uint32_t len, uint8_t *buf,
		       size_t cap, int buf_index, struct sl_shard_hdr *hdr)
{
	struct sl_shard_read rd;
	int rc = sl_shardstore_read_start(s, u, tenant, object, index, off, len, buf, cap,
					  buf_index, &rd);

	if (rc)
		return rc;
	for (int failed = 0; rd.pending;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* A failure fails what is queued; what the kernel took completes,
		 * unless the ring cannot even be waited on any more. */
		rc = sl_uring_submit(u, -1, NULL, NULL);
		failed = rc ? failed + 1 : 0;
		if (failed >= 2 * SL_URING_SUBMIT_TRIES) {
			SL_ERR_RC(rc, "io_uring: giving up on reads in flight; ring unusable");
			u->broken = rc;
			rd.err = rc;
			break;
		}
		if (rc == -EAGAIN || rc == -EBUSY) {
			struct timespec pause = { 0, 1000000 };

			nanosleep(&pause, NULL);
		}
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			int range;
			struct sl_shard_read *r = sl_shardstore_cqe_read(cqe, &range);

			seen++;
			if (r)
				sl_shardstore_read_cqe(r, range, cqe->res);
		}
		io_uring_cq_advance(&u->ring, seen);
	}
	return sl_shardstore_read_finish(&rd, hdr);
}
