/* Shard files: durable writes, io_uring reads, CRC checks; see shardstore.h. */
#include "shardstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
	struct sl_shard_hdr h = { SL_SHARD_MAGIC, 1, SL_SHARD_HDR_LEN, tenant, object,
				  index, length, crc32c, 0, SL_SHARD_BLOCK, 0, { 0 } };
	const uint8_t *data = buf + SL_SHARD_HDR_LEN;
	char path[600], tmp[620];
	size_t total = SL_SHARD_HDR_LEN + (size_t)length, done = 0;
	uint32_t whole = 0;
	int fd, rc = 0;

	if (length > SL_SHARD_MAX)
		return -EFBIG;
	/* One pass: the block CRCs, chained into the shard's CRC to check it. */
	h.n_blocks = (length + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK;
	for (uint32_t b = 0; b < h.n_blocks; b++) {
		uint32_t at = b * SL_SHARD_BLOCK;
		uint32_t n = length - at < SL_SHARD_BLOCK ? length - at : SL_SHARD_BLOCK;

		h.block_crc[b] = sl_crc32c(0, data + at, n);
		whole = sl_crc32c(whole, data + at, n);
	}
	if (whole != crc32c)
		return -EBADMSG;

	shard_path(s, tenant, object, index, path, sizeof(path), "");
	shard_path(s, tenant, object, index, tmp, sizeof(tmp), ".tmp");
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
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		rc = fsync_dir(path);
	if (rc) {
		unlink(tmp);
		SL_ERR_RC(rc, "storing shard %s", path);
	}
	return rc;
}

/* Queues a read of [off, off+len) of fd into buf + off, tagged with its range. */
static int queue_read(struct sl_uring *u, int fd, uint8_t *buf, size_t off, size_t len,
		      int buf_index, int range)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_sqe_set_data(sqe, (void *)(uintptr_t)range);
	if (u->fixed && buf_index >= 0)
		io_uring_prep_read_fixed(sqe, fd, buf + off, (unsigned)len, off, buf_index);
	else
		io_uring_prep_read(sqe, fd, buf + off, (unsigned)len, off);
	return 0;
}

/*
 * Reads the file ranges given (up to 2) into buf at their own offsets with
 * one submission, requeueing short reads and -EAGAIN. A read that meets the
 * end of the file stops there; *got[i] says how much each range received.
 */
static int ring_read(struct sl_uring *u, int fd, uint8_t *buf, int buf_index, const size_t *off,
		     const size_t *len, size_t *got, int n)
{
	int left = 0, rc;

	for (int i = 0; i < n; i++) {
		got[i] = 0;
		if (len[i]) {
			rc = queue_read(u, fd, buf, off[i], len[i], buf_index, i);
			if (rc)
				return rc;
			left++;
		}
	}
	while (left) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		rc = io_uring_submit_and_wait(&u->ring, 1);
		if (rc < 0 && rc != -EINTR)
			return rc;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			int i = (int)(uintptr_t)io_uring_cqe_get_data(cqe), res = cqe->res;

			seen++;
			if (res == -EAGAIN || res == -EINTR) {
				rc = queue_read(u, fd, buf, off[i] + got[i], len[i] - got[i], buf_index,
						i);
			} else if (res < 0) {
				io_uring_cq_advance(&u->ring, seen);
				return res;
			} else {
				got[i] += (size_t)res;
				rc = res > 0 && got[i] < len[i]
					     ? queue_read(u, fd, buf, off[i] + got[i], len[i] - got[i],
							  buf_index, i)
					     : 0;
				if (res == 0 || got[i] >= len[i])
					left--;
			}
			if (rc) {
				io_uring_cq_advance(&u->ring, seen);
				return rc;
			}
		}
		io_uring_cq_advance(&u->ring, seen);
	}
	return 0;
}

int sl_shardstore_read(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
		       uint64_t object, uint32_t index, uint32_t off, uint32_t len, uint8_t *buf,
		       size_t cap, int buf_index, struct sl_shard_hdr *hdr)
{
	char path[600];
	size_t range_off[2], range_len[2], got[2];
	uint32_t b0 = off / SL_SHARD_BLOCK, b1;
	int fd, rc;

	shard_path(s, tenant, object, index, path, sizeof(path), "");
	fd = open(path, O_RDONLY | O_CLOEXEC | (s->direct_ok ? O_DIRECT : 0));
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	/* Header and covering blocks in one submission. The blocks' extent is
	 * rounded to 4 KiB for O_DIRECT; the end of the file cuts it short. */
	b1 = len ? (uint32_t)(((uint64_t)off + len - 1) / SL_SHARD_BLOCK) : b0;
	range_off[0] = 0;
	range_len[0] = SL_SHARD_HDR_LEN;
	range_off[1] = SL_SHARD_HDR_LEN + (size_t)b0 * SL_SHARD_BLOCK;
	range_len[1] = len ? (size_t)(b1 - b0 + 1) * SL_SHARD_BLOCK : 0;
	rc = -ERANGE;
	if (range_off[1] + range_len[1] > cap)
		goto out;
	rc = ring_read(u, fd, buf, buf_index, range_off, range_len, got, 2);
	if (rc)
		goto out;
	memcpy(hdr, buf, sizeof(*hdr));
	rc = -EBADMSG;
	if (got[0] < SL_SHARD_HDR_LEN || hdr->magic != SL_SHARD_MAGIC || hdr->version != 1 ||
	    hdr->hdr_crc != hdr_checksum(hdr) || hdr->tenant != tenant || hdr->object != object ||
	    hdr->index != index || hdr->block_size != SL_SHARD_BLOCK ||
	    hdr->n_blocks > SL_SHARD_MAX_BLOCKS ||
	    hdr->n_blocks != (hdr->length + SL_SHARD_BLOCK - 1) / SL_SHARD_BLOCK) {
		SL_ERR("shard %s: bad header", path);
		goto out;
	}
	rc = -ERANGE;
	if ((uint64_t)off + len > hdr->length)
		goto out;
	rc = -EBADMSG;
	for (uint32_t b = b0; len && b <= b1; b++) {
		uint32_t at = b * SL_SHARD_BLOCK;
		uint32_t n = hdr->length - at < SL_SHARD_BLOCK ? hdr->length - at : SL_SHARD_BLOCK;

		if ((size_t)(at - b0 * SL_SHARD_BLOCK) + n > got[1]) {
			SL_ERR("shard %s: shorter than its header says", path);
			goto out;
		}
		if (sl_crc32c(0, buf + SL_SHARD_HDR_LEN + at, n) != hdr->block_crc[b]) {
			SL_ERR("shard %s: CRC32C mismatch in block %u, refusing to serve it", path, b);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
