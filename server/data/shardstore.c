/* Shard files: durable writes, io_uring reads, CRC checks; see shardstore.h. */
#include "shardstore.h"

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

static uint32_t hdr_checksum(struct sl_shard_hdr h)
{
	h.hdr_crc = 0;
	return sl_crc32c(0, &h, sizeof(h));
}

int sl_shardstore_write(struct sl_shardstore *s, uint64_t tenant, uint64_t object,
			uint32_t index, uint8_t *buf, uint32_t length, uint32_t crc32c)
{
	struct sl_shard_hdr h = { SL_SHARD_MAGIC, 1, SL_SHARD_HDR_LEN, tenant, object,
				  index, length, crc32c, 0 };
	char path[600], tmp[620];
	size_t total = SL_SHARD_HDR_LEN + (size_t)length, done = 0;
	int fd, rc = 0;

	shard_path(s, tenant, object, index, path, sizeof(path), "");
	shard_path(s, tenant, object, index, tmp, sizeof(tmp), ".tmp");
	{
		char dir[600];

		snprintf(dir, sizeof(dir), "%s/shards/%016llx", s->dir, (unsigned long long)tenant);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	h.hdr_crc = hdr_checksum(h);
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

/* Reads up to len bytes at off through the ring, requeueing short reads. */
static int ring_read(struct sl_uring *u, int fd, uint8_t *buf, size_t len, int buf_index,
		     size_t *got)
{
	size_t done = 0;

	while (done < len) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
		struct io_uring_cqe *cqe;
		int res, rc;

		if (!sqe)
			return -EBUSY;
		if (u->fixed && buf_index >= 0)
			io_uring_prep_read_fixed(sqe, fd, buf + done, (unsigned)(len - done),
						 done, buf_index);
		else
			io_uring_prep_read(sqe, fd, buf + done, (unsigned)(len - done), done);
		rc = io_uring_submit_and_wait(&u->ring, 1);
		if (rc < 0)
			return rc;
		rc = io_uring_wait_cqe(&u->ring, &cqe);
		if (rc < 0)
			return rc;
		res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		if (res == -EAGAIN || res == -EINTR)
			continue;
		if (res < 0)
			return res;
		if (res == 0)
			break; /* end of file */
		done += (size_t)res;
	}
	*got = done;
	return 0;
}

int sl_shardstore_read(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
		       uint64_t object, uint32_t index, uint8_t *buf, size_t cap, int buf_index,
		       struct sl_shard_hdr *hdr)
{
	char path[600];
	struct stat st;
	size_t want, got = 0;
	int fd, rc;

	shard_path(s, tenant, object, index, path, sizeof(path), "");
	fd = open(path, O_RDONLY | O_CLOEXEC | (s->direct_ok ? O_DIRECT : 0));
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	rc = -EBADMSG;
	if ((size_t)st.st_size < SL_SHARD_HDR_LEN || (size_t)st.st_size > cap)
		goto out;
	/* O_DIRECT wants the length rounded up to the block; EOF ends it early. */
	want = ((size_t)st.st_size + 4095) & ~(size_t)4095;
	if (want > cap)
		want = cap;
	rc = ring_read(u, fd, buf, want, buf_index, &got);
	if (rc)
		goto out;
	memcpy(hdr, buf, sizeof(*hdr));
	rc = -EBADMSG;
	if (got < SL_SHARD_HDR_LEN || hdr->magic != SL_SHARD_MAGIC || hdr->version != 1 ||
	    hdr->hdr_crc != hdr_checksum(*hdr) || hdr->tenant != tenant || hdr->object != object ||
	    hdr->index != index || got < SL_SHARD_HDR_LEN + (size_t)hdr->length) {
		SL_ERR("shard %s: bad header or short file", path);
		goto out;
	}
	if (sl_crc32c(0, buf + SL_SHARD_HDR_LEN, hdr->length) != hdr->crc32c) {
		SL_ERR("shard %s: CRC32C mismatch, refusing to serve it", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
