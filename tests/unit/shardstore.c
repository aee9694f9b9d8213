/*
 * The shard store: durable writes checked against the writer's CRC32C, range
 * reads that fetch and check only the blocks they cover, and corruption of
 * data or header refused, never served.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "shardstore.h"

#define LEN (3 * SL_SHARD_BLOCK + 1000)

static char dir[64];
static struct sl_shardstore store;
static struct sl_uring ring;
static uint8_t *buf, *src;

static void setup(void)
{
	struct iovec iov;

	snprintf(dir, sizeof(dir), "/tmp/sluice-shardstore-XXXXXX");
	cr_assert(mkdtemp(dir));
	cr_assert_eq(sl_shardstore_init(&store, dir), 0);
	cr_assert_eq(posix_memalign((void **)&buf, 4096, SL_SHARD_HDR_LEN + 4 * SL_SHARD_BLOCK), 0);
	src = malloc(LEN);
	for (size_t i = 0; i < LEN; i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	iov = (struct iovec){ buf, SL_SHARD_HDR_LEN + 4 * SL_SHARD_BLOCK };
	if (sl_uring_init(&ring, &iov, 1))
		cr_skip_test("io_uring is not available here");
	memcpy(buf + SL_SHARD_HDR_LEN, src, LEN);
	cr_assert_eq(sl_shardstore_write(&store, 7, 99, 2, buf, LEN, sl_crc32c(0, src, LEN)), 0);
}

static void teardown(void)
{
	char cmd[128];

	sl_uring_exit(&ring);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
	free(buf);
	free(src);
}

TestSuite(shardstore, .init = setup, .fini = teardown);

static int read_range(uint32_t off, uint32_t len, struct sl_shard_hdr *h)
{
	memset(buf, 0, SL_SHARD_HDR_LEN + 4 * SL_SHARD_BLOCK);
	return sl_shardstore_read(&store, &ring, 7, 99, 2, off, len, buf,
				  SL_SHARD_HDR_LEN + 4 * SL_SHARD_BLOCK, 0, h);
}

static void corrupt(off_t at)
{
	char path[300];
	uint8_t b;
	int fd;

	snprintf(path, sizeof(path), "%s/shards/%016x/%016x.2", dir, 7, 99);
	fd = open(path, O_RDWR);
	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, &b, 1, at), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

Test(shardstore, ranges_read_back_exactly)
{
	static const uint32_t r[][2] = { { 0, LEN }, { 0, 1 }, { LEN - 1, 1 }, { 65530, 12 },
					 { SL_SHARD_BLOCK, SL_SHARD_BLOCK }, { 100, 0 } };
	struct sl_shard_hdr h;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		cr_assert_eq(read_range(r[i][0], r[i][1], &h), 0, "range %zu", i);
		cr_assert_eq(h.length, LEN);
		cr_assert_eq(h.crc32c, sl_crc32c(0, src, LEN));
		cr_assert(memcmp(buf + SL_SHARD_HDR_LEN + r[i][0], src + r[i][0], r[i][1]) == 0);
	}
	cr_assert_eq(read_range(LEN - 1, 2, &h), -ERANGE);
	cr_assert_eq(read_range(UINT32_MAX, 2, &h), -ERANGE);
}

Test(shardstore, a_wrong_crc_stores_nothing)
{
	struct sl_shard_hdr h;

	memcpy(buf + SL_SHARD_HDR_LEN, src, LEN);
	cr_assert_eq(sl_shardstore_write(&store, 7, 100, 0, buf, LEN, 12345), -EBADMSG);
	cr_assert_eq(sl_shardstore_read(&store, &ring, 7, 100, 0, 0, 1, buf,
					SL_SHARD_HDR_LEN + 4 * SL_SHARD_BLOCK, 0, &h), -ENOENT);
}

Test(shardstore, corrupt_data_is_refused_only_where_it_is)
{
	struct sl_shard_hdr h;

	corrupt(SL_SHARD_HDR_LEN + SL_SHARD_BLOCK + 5); /* inside block 1 */
	cr_assert_eq(read_range(SL_SHARD_BLOCK + 5, 1, &h), -EBADMSG);
	cr_assert_eq(read_range(0, LEN, &h), -EBADMSG);
	/* Blocks 0 and 2 are intact and still served. */
	cr_assert_eq(read_range(0, 100, &h), 0);
	cr_assert_eq(read_range(2 * SL_SHARD_BLOCK, 100, &h), 0);
}

Test(shardstore, corrupt_header_or_wrong_owner_is_refused)
{
	struct sl_shard_hdr h;

	cr_assert_eq(sl_shardstore_read(&store, &ring, 8, 99, 2, 0, 1, buf,
					SL_SHARD_HDR_LEN + 4 * SL_SHARD_BLOCK, 0, &h), -ENOENT);
	corrupt(20); /* the object id in the header */
	cr_assert_eq(read_range(0, 1, &h), -EBADMSG);
}

Test(finding_07, a_stored_shard_is_never_replaced, .init = setup, .fini = teardown)
{
	struct sl_shard_hdr h;
	uint8_t *other = malloc(LEN);

	/* Other bytes, with their own correct CRC: still refused. */
	for (size_t i = 0; i < LEN; i++)
		other[i] = (uint8_t)~src[i];
	memcpy(buf + SL_SHARD_HDR_LEN, other, LEN);
	cr_assert_eq(sl_shardstore_write(&store, 7, 99, 2, buf, LEN, sl_crc32c(0, other, LEN)),
		     -EEXIST);
	cr_assert(sl_shardstore_exists(&store, 7, 99, 2));
	cr_assert_eq(read_range(0, LEN, &h), 0);
	cr_assert(memcmp(buf + SL_SHARD_HDR_LEN, src, LEN) == 0, "a stored shard was replaced");
	/* Dropped, the name is free again. */
	cr_assert_eq(sl_shardstore_drop(&store, 7, 99, 2), 0);
	cr_assert_not(sl_shardstore_exists(&store, 7, 99, 2));
	memcpy(buf + SL_SHARD_HDR_LEN, other, LEN);
	cr_assert_eq(sl_shardstore_write(&store, 7, 99, 2, buf, LEN, sl_crc32c(0, other, LEN)), 0);
	free(other);
}

Test(finding_07, the_header_keeps_a_sha256_per_block, .init = setup, .fini = teardown)
{
	struct sl_shard_hdr h;

	cr_assert_eq(read_range(0, 0, &h), 0);
	cr_assert_eq(h.n_blocks, 4);
	for (uint32_t b = 0; b < h.n_blocks; b++) {
		uint32_t at = b * SL_SHARD_BLOCK;
		uint32_t n = LEN - at < SL_SHARD_BLOCK ? LEN - at : SL_SHARD_BLOCK;
		uint8_t want[32];

		cr_assert(EVP_Digest(src + at, n, want, NULL, EVP_sha256(), NULL));
		cr_assert(memcmp(h.block_sha[b], want, 32) == 0, "block %u", b);
	}
	/* The digests are under the header's CRC: a flipped bit is refused. */
	corrupt((off_t)offsetof(struct sl_shard_hdr, block_sha) + 3);
	cr_assert_eq(read_range(0, 1, &h), -EBADMSG);
}

Test(finding_15, a_failed_submission_fails_the_read_instead_of_looping, .init = setup,
     .fini = teardown, .timeout = 20)
{
	struct sl_shard_hdr h;
	int fd = ring.ring.ring_fd, saved = dup(fd);
	int other = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* The ring's descriptor now names another file: io_uring_enter fails. */
	cr_assert(saved >= 0 && other >= 0);
	cr_assert_eq(dup2(other, fd), fd);
	close(other);
	{
		int rc = read_range(0, 100, &h);

		cr_assert_eq(rc, -EOPNOTSUPP, "got %d", rc);
	}
	/* Back again: what was queued became no-ops, and reads work. */
	cr_assert_eq(dup2(saved, fd), fd);
	close(saved);
	cr_assert_eq(read_range(0, LEN, &h), 0);
	cr_assert(memcmp(buf + SL_SHARD_HDR_LEN, src, LEN) == 0);
	cr_assert_eq(read_range(SL_SHARD_BLOCK, 10, &h), 0);
}
