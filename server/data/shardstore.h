/*
 * The shard store: one file per shard replica under
 * <dir>/shards/<tenant>/<object>.<index> (ids in hex), a 4 KiB header then
 * the bytes. Writes go to a temporary name, are fsync'd and renamed, and the
 * folder is fsync'd: a shard is either absent or whole. Reads use io_uring,
 * with O_DIRECT where the filesystem allows it and registered buffers where
 * the memlock limit allows it, and always check the CRC32C.
 *
 * Threading: a store may be shared; each thread brings its own sl_uring.
 */
#ifndef SL_SHARDSTORE_H
#define SL_SHARDSTORE_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

#define SL_SHARD_HDR_LEN 4096u
#define SL_SHARD_MAGIC 0x31445241485353ull /* "SSHARD1" */

struct sl_shard_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_len;
	uint64_t tenant;
	uint64_t object;
	uint32_t index;
	uint32_t length;
	uint32_t crc32c;   /* of the shard's bytes */
	uint32_t hdr_crc;  /* of this struct with hdr_crc = 0 */
};

struct sl_shardstore {
	char dir[256];
	int direct_ok; /* O_DIRECT worked on this filesystem */
};

/* One io_uring per thread, with the thread's buffers registered if possible. */
struct sl_uring {
	struct io_uring ring;
	int fixed;     /* buffers registered: use read_fixed */
};

int sl_shardstore_init(struct sl_shardstore *s, const char *dir);

/*
 * Sets up a ring (trying SINGLE_ISSUER|DEFER_TASKRUN first) and registers
 * bufs. -ENOSYS/-EPERM mean io_uring is not available here.
 */
int sl_uring_init(struct sl_uring *u, const struct iovec *bufs, unsigned nbufs);
void sl_uring_exit(struct sl_uring *u);

/*
 * Stores one shard replica durably. buf holds SL_SHARD_HDR_LEN bytes of room
 * followed by the `length` data bytes; the header is written into that room.
 */
int sl_shardstore_write(struct sl_shardstore *s, uint64_t tenant, uint64_t object,
			uint32_t index, uint8_t *buf, uint32_t length, uint32_t crc32c);

/*
 * Reads a whole shard (header and data) into buf (4 KiB aligned, cap bytes,
 * registered as buffer buf_index when the ring has fixed buffers), checks the
 * header names (tenant, object, index) and the CRC32C. Data starts at
 * buf + SL_SHARD_HDR_LEN. -ENOENT when absent, -EBADMSG on any mismatch.
 */
int sl_shardstore_read(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
		       uint64_t object, uint32_t index, uint8_t *buf, size_t cap, int buf_index,
		       struct sl_shard_hdr *hdr);

#endif
