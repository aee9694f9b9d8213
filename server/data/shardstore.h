/*
 * The shard store: one file per shard replica under
 * <dir>/shards/<tenant>/<object>.<index> (ids in hex), a 12 KiB header then
 * the bytes. The header holds the shard's CRC32C, one CRC32C per 64 KiB
 * block (so a range read reads and checks only the blocks it covers) and one
 * SHA-256 per block (the list readers check against the catalog's root).
 * Shards are write-once: writes go to a temporary name, are fsync'd and
 * linked to the shard's name only if nothing holds that name yet (-EEXIST
 * otherwise), and the folder is fsync'd: a shard is either absent or whole,
 * and once stored never replaced. Reads use io_uring, with
 * O_DIRECT where the filesystem allows it and registered buffers where the
 * memlock limit allows it, and always check the CRC32C of what they serve.
 *
 * Threading: a store may be shared; each thread brings its own sl_uring.
 */
#ifndef SL_SHARDSTORE_H
#define SL_SHARDSTORE_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define SL_SHARD_HDR_LEN 12288u
#define SL_SHARD_MAGIC 0x32445241485353ull /* "SSHARD2" */
#define SL_SHARD_VERSION 2u
#define SL_SHARD_DIGEST SL_DIGEST_LEN /* SHA-256 of one block */
#define SL_SHARD_MAX_BLOCKS 256u /* so the largest shard is 16 MiB */
#define SL_SHARD_MAX (SL_SHARD_BLOCK * SL_SHARD_MAX_BLOCKS)

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
	uint32_t block_size;
	uint32_t n_blocks;
	uint32_t block_crc[SL_SHARD_MAX_BLOCKS];
	uint8_t block_sha[SL_SHARD_MAX_BLOCKS][SL_SHARD_DIGEST];
};

_Static_assert(sizeof(struct sl_shard_hdr) <= SL_SHARD_HDR_LEN, "shard header outgrew its block");

struct sl_shardstore {
	char dir[256];
	int direct_ok; /* O_DIRECT worked on this filesystem */
};

/* One io_uring per thread, with the thread's buffers registered if possible. */
struct sl_uring {
	struct io_uring ring;
	int fixed;     /* buffers registered: use read_fixed */
	int fails;     /* submissions failed in a row */
	int broken;    /* 0, or why the ring gave up on reads the kernel holds */
};

/* How often a submission that failed for a passing reason (-EINTR, -EAGAIN,
 * -EBUSY) is tried again before the reads it carries are failed. */
#define SL_URING_SUBMIT_TRIES 16

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
 * The bytes must have the CRC32C crc32c (what the writer computed), else
 * -EBADMSG and nothing is stored. A shard that is stored already stays as it
 * is: -EEXIST.
 */
int sl_shardstore_write(struct sl_shardstore *s, uint64_t tenant, uint64_t object,
			uint32_t index, uint8_t *buf, uint32_t length, uint32_t crc32c);

/* 1 when the shard replica is stored (its committed file exists). */
int sl_shardstore_exists(struct sl_shardstore *s, uint64_t tenant, uint64_t object,
			 uint32_t index);

/* Deletes a shard replica; a replica that is not there counts as deleted. */
int sl_shardstore_drop(struct sl_shardstore *s, uint64_t tenant, uint64_t object, uint32_t index);

/*
 * Reads the header and the blocks covering [off, off+len) of a shard into
 * buf (4 KiB aligned, cap bytes, registered as buffer buf_index when the ring
 * has fixed buffers) at their file offsets, so the requested bytes start at
 * buf + SL_SHARD_HDR_LEN + off. Checks the header names (tenant, object,
 * index) and the CRC32C of every block read. -ENOENT when absent, -ERANGE
 * when the range passes the shard's end, -EBADMSG on any mismatch.
 */
int sl_shardstore_read(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
		       uint64_t object, uint32_t index, uint32_t off, uint32_t len, uint8_t *buf,
		       size_t cap, int buf_index, struct sl_shard_hdr *hdr);

/*
 * The same read in three steps, for a loop that keeps several in flight:
 * _start queues the reads (the caller submits them), every completion of
 * the ring whose _cqe_read names rd goes to _cqe (1 once rd has nothing
 * left in flight), then _finish checks and returns what sl_shardstore_read
 * would. rd must stay put (8-byte aligned) until _cqe said 1; a failed _start
 * queued nothing.
 */
struct sl_shard_read {
	struct sl_uring *u;
	uint8_t *buf;
	int buf_index;
	int fd;
	uint64_t tenant, object;
	uint32_t index, req_off, req_len;
	size_t off[2], len[2], got[2];
	int pending;
	int err;
	char path[600];
};

int sl_shardstore_read_start(struct sl_shardstore *s, struct sl_uring *u, uint64_t tenant,
			     uint64_t object, uint32_t index, uint32_t off, uint32_t len,
			     uint8_t *buf, size_t cap, int buf_index, struct sl_shard_read *rd);
int sl_shardstore_read_cqe(struct sl_shard_read *rd, int range, int res);
int sl_shardstore_read_finish(struct sl_shard_read *rd, struct sl_shard_hdr *hdr);
/* The read (and its range) a completion belongs to; NULL for one that
 * belongs to no read (a liburing timeout, a read that was failed unsent). */
struct sl_shard_read *sl_shardstore_cqe_read(const struct io_uring_cqe *cqe, int *range);

/*
 * Submits what is queued on u, then waits up to wait_us (< 0: until one
 * completes, 0: not at all) for a completion. A submission that fails for a
 * passing reason is left queued for the next call, SL_URING_SUBMIT_TRIES
 * times in a row at most; past that, or on any other failure, every read
 * still queued is failed with the error (its requests become no-ops that
 * never touch its file or buffer) and done(rd, arg) is called for each one
 * that has nothing left in flight. Returns 0 (a timeout included) or the
 * failure, always a negative errno. A ring that cannot be waited on at all
 * any more is marked broken: it starts no read, and its buffers may be
 * reused only after sl_uring_exit.
 */
int sl_uring_submit(struct sl_uring *u, long wait_us,
		    void (*done)(struct sl_shard_read *rd, void *arg), void *arg);

#endif
