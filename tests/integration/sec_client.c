/*
 * Regression tests for the client and the CLI of the security review
 * (issue 5): what a failed `sluice get -o` leaves behind (finding 14), the
 * mode of the files it creates (13), the checks on every plan and reply the
 * client decodes (15) and the client's verification of shard digests (7).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "capability.h"
#include "cluster.h"
#include "crc32c.h"
#include "shardstore.h"
#include "shard_verify.h"
#include "frame.h"
#include "plan.h"
#include "rpc.h"

static struct tcluster cl;
static char cred[400], out[65536];

static void setup(void)
{
	sluice_session *s;

	tc_start(&cl, 2);
	s = tc_principal(&cl, "acme", "alice", "confidential", cred, sizeof(cred));
	tc_ns(s, "data", 65536);
	cr_assert_eq(sluice_put(s, "data", "open", "readable bytes", 14, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	/* Above alice's clearance: every get of it is refused. */
	cr_assert_eq(sluice_put(s, "data", "secret", "classified", 10,
				&(struct sluice_tag){ "classification", "restricted" }, 1),
		     0, "%s", sluice_last_error(s));
	sluice_close(s);
}

static void teardown(void)
{
	tc_stop(&cl);
}

/* Runs the CLI as alice with the given arguments (NULL-terminated). */
static int sluice(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "cannot write %s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static size_t read_fd(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	cr_assert(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* Files in dir whose names start with prefix. */
static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* ---- finding 14: a failed get leaves the destination as it was ------------ */

TestSuite(finding_14, .init = setup, .fini = teardown, .timeout = 180);

Test(finding_14, refused_get_keeps_an_existing_file)
{
	char path[400], buf[64];
	struct stat before, after;
	int fd;

	snprintf(path, sizeof(path), "%s/precious.txt", cl.dir);
	write_file(path, "precious contents\n");
	cr_assert_eq(stat(path, &before), 0);
	cr_assert_eq(sluice("get", "data/secret", "-o", path, NULL), 1);
	cr_assert(strstr(out, "access denied"), "%s", out);
	cr_assert_eq(stat(path, &after), 0, "a refused get removed %s", path);
	cr_assert_eq(after.st_ino, before.st_ino, "a refused get replaced %s", path);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	read_fd(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_str_eq(buf, "precious contents\n");
	/* A missing object fails the same way. */
	cr_assert_eq(sluice("get", "data/missing", "-o", path, NULL), 1);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino);
	cr_assert_eq(count_files(cl.dir, ".precious.txt"), 0, "a temporary file was left");
}

Test(finding_14, refused_get_keeps_a_fifo)
{
	char path[400];
	struct stat st;
	int rd;

	snprintf(path, sizeof(path), "%s/pipe", cl.dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	/* A reader, so that the CLI's open of the FIFO does not wait. */
	rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert(rd >= 0);
	cr_assert_eq(sluice("get", "data/secret", "-o", path, NULL), 1);
	cr_assert_eq(lstat(path, &st), 0, "a refused get removed the FIFO");
	cr_assert(S_ISFIFO(st.st_mode));
	close(rd);
}

Test(finding_14, refused_get_keeps_a_device)
{
	char path[400];
	struct stat st;

	/* A null device of our own when we may make one; else, as root, the
	 * system's /dev/null, which the old code deleted. */
	snprintf(path, sizeof(path), "%s/null", cl.dir);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0) {
		if (geteuid() != 0)
			cr_skip_test("cannot make a device node and not running as root");
		snprintf(path, sizeof(path), "/dev/null");
	}
	cr_assert_eq(sluice("get", "data/secret", "-o", path, NULL), 1);
	cr_assert_eq(lstat(path, &st), 0, "a refused get removed %s", path);
	cr_assert(S_ISCHR(st.st_mode), "%s is no longer a character device", path);
	/* A successful get streams into it and leaves it a device. */
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISCHR(st.st_mode));
}

Test(finding_14, successful_get_replaces_the_file_atomically)
{
	char path[400], buf[64];
	struct stat before, after;
	int old;

	snprintf(path, sizeof(path), "%s/dest.txt", cl.dir);
	write_file(path, "old contents\n");
	cr_assert_eq(stat(path, &before), 0);
	/* Whoever had the old file open keeps reading the old file, whole. */
	old = open(path, O_RDONLY);
	cr_assert(old >= 0);
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	read_fd(old, buf, sizeof(buf));
	close(old);
	cr_assert_str_eq(buf, "old contents\n", "the old file was written in place");
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino, "the file was not replaced by a rename");
	old = open(path, O_RDONLY);
	cr_assert(old >= 0);
	read_fd(old, buf, sizeof(buf));
	close(old);
	cr_assert_str_eq(buf, "readable bytes");
	cr_assert_eq(count_files(cl.dir, ".dest.txt"), 0, "a temporary file was left");
}

/* ---- finding 13: files get creates are private unless asked --------------- */

TestSuite(finding_13, .init = setup, .fini = teardown, .timeout = 180);

Test(finding_13, get_creates_files_0600_unless_asked)
{
	char path[400];
	struct stat st;

	umask(022);
	snprintf(path, sizeof(path), "%s/private.txt", cl.dir);
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);

	/* An existing, more open file is replaced by a private one too. */
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);

	snprintf(path, sizeof(path), "%s/shared.txt", cl.dir);
	cr_assert_eq(sluice("get", "data/open", "-o", path, "--mode", "0640", NULL), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);

	cr_assert_eq(sluice("get", "data/open", "-o", path, "--mode", "4755", NULL), 2);
	cr_assert_eq(sluice("get", "data/open", "-o", path, "--mode", "rw", NULL), 2);
	cr_assert_eq(sluice("get", "--help", NULL), 0);
	cr_assert(strstr(out, "--mode OCTAL"), "%s", out);
}

/* ---- finding 15: the client checks every plan and reply it decodes -------- */

/* A well-formed plan: 3 shards of 64 KiB over servers 7, 8, 9, two replicas each. */
struct test_plan {
	Sluice__ObjectPlan plan;
	Sluice__Object object;
	Sluice__Shard shards[3], *shard_ptrs[3];
	uint32_t replicas[3][2];
	Sluice__DataServer servers[3], *server_ptrs[3];
	uint8_t cap[SL_CAP_LEN], sha[32], addr[16];
	ProtobufCBinaryData caps[3];
};

static void test_plan_init(struct test_plan *t, enum sl_plan_use use)
{
	memset(t, 0, sizeof(*t));
	sluice__object_plan__init(&t->plan);
	sluice__object__init(&t->object);
	t->object.ns = (char *)"data";
	t->object.name = (char *)"x";
	t->object.size = 2 * 65536 + 100;
	t->object.shard_size = 65536;
	t->object.shard_count = 3;
	if (use != SL_PLAN_WRITE)
		t->object.sha256 = (ProtobufCBinaryData){ 32, t->sha };
	t->plan.object = &t->object;
	for (uint32_t i = 0; i < 3; i++) {
		sluice__data_server__init(&t->servers[i]);
		t->servers[i].id = 7 + i;
		t->servers[i].fabric_addr = (ProtobufCBinaryData){ sizeof(t->addr), t->addr };
		t->server_ptrs[i] = &t->servers[i];
		sluice__shard__init(&t->shards[i]);
		t->shards[i].index = i;
		t->shards[i].length = i < 2 ? 65536 : 100;
		t->replicas[i][0] = 7 + i;
		t->replicas[i][1] = 7 + (i + 1) % 3;
		t->shards[i].servers = t->replicas[i];
		t->shards[i].n_servers = 2;
		t->shard_ptrs[i] = &t->shards[i];
	}
	t->plan.shards = t->shard_ptrs;
	t->plan.n_shards = 3;
	t->plan.servers = t->server_ptrs;
	t->plan.n_servers = 3;
	if (use != SL_PLAN_STAT) {
		for (uint32_t i = 0; i < 3; i++)
			t->caps[i] = (ProtobufCBinaryData){ sizeof(t->cap), t->cap };
		t->plan.server_caps = t->caps;
		t->plan.n_server_caps = 3;
	}
}

/* Checks the plan for every use it was built for; returns -EPROTO if any refuses. */
static int check_all(struct test_plan *t, char *why, size_t len)
{
	static const enum sl_plan_use uses[] = { SL_PLAN_WRITE, SL_PLAN_READ };
	int rc = 0;

	for (size_t i = 0; i < 2 && !rc; i++) {
		if (uses[i] == SL_PLAN_WRITE) {
			ProtobufCBinaryData sha = t->object.sha256;

			t->object.sha256.len = 0;
			rc = sl_plan_check(&t->plan, uses[i], why, len);
			t->object.sha256 = sha;
		} else {
			rc = sl_plan_check(&t->plan, uses[i], why, len);
		}
	}
	return rc;
}

Test(finding_15, a_well_formed_plan_passes)
{
	struct test_plan t;
	char why[160] = "";

	for (int use = SL_PLAN_WRITE; use <= SL_PLAN_STAT; use++) {
		test_plan_init(&t, (enum sl_plan_use)use);
		cr_assert_eq(sl_plan_check(&t.plan, (enum sl_plan_use)use, why, sizeof(why)), 0,
			     "use %d: %s", use, why);
	}
	/* A stat may withhold every shard, never some. */
	test_plan_init(&t, SL_PLAN_STAT);
	t.plan.n_shards = 0;
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_STAT, why, sizeof(why)), 0, "%s", why);
	t.plan.n_shards = 2;
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_STAT, why, sizeof(why)), -EPROTO);
	/* An empty object has no shards. */
	test_plan_init(&t, SL_PLAN_READ);
	t.object.size = 0;
	t.object.shard_count = 0;
	t.plan.n_shards = 0;
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_READ, why, sizeof(why)), 0, "%s", why);
}

Test(finding_15, hostile_plans_are_eproto)
{
	struct test_plan t;
	char why[160];

#define HOSTILE(what, mutation)                                                                    \
	do {                                                                                       \
		test_plan_init(&t, SL_PLAN_READ);                                                  \
		mutation;                                                                          \
		why[0] = '\0';                                                                     \
		cr_expect_eq(check_all(&t, why, sizeof(why)), -EPROTO, "%s was accepted", what);   \
		cr_expect(why[0], "%s: no reason given", what);                                    \
	} while (0)

	HOSTILE("no object", t.plan.object = NULL);
	HOSTILE("zero shard size", t.object.shard_size = 0);
	HOSTILE("a huge shard size", t.object.shard_size = 1u << 30);
	HOSTILE("too few shards for the size", t.object.shard_count = 2);
	HOSTILE("too many shards for the size", t.object.size = 100);
	HOSTILE("a shard count over the cap",
		(t.object.shard_size = 1, t.object.size = 70000, t.object.shard_count = 70000));
	HOSTILE("shards missing", t.plan.n_shards = 2);
	HOSTILE("a shard length too long", t.shards[2].length = 65536);
	HOSTILE("a shard length too short", t.shards[0].length = 1);
	HOSTILE("an index out of range", t.shards[1].index = 3);
	HOSTILE("indexes swapped", (t.shards[0].index = 1, t.shards[1].index = 0));
	HOSTILE("a server id not listed", t.replicas[1][1] = 42);
	HOSTILE("a shard on no server", t.shards[0].n_servers = 0);
	HOSTILE("a shard twice on one server", t.replicas[0][1] = t.replicas[0][0]);
	HOSTILE("too many replicas", t.shards[0].n_servers = SL_PLAN_REPLICAS_MAX + 1);
	HOSTILE("a server listed twice", t.servers[2].id = 7);
	HOSTILE("a server without an address", t.servers[0].fabric_addr.len = 0);
	HOSTILE("a fabric address too long", t.servers[0].fabric_addr.len = 4096);
	HOSTILE("too many servers", t.plan.n_servers = SL_PLAN_SERVERS_MAX + 1);
	HOSTILE("a short capability", t.caps[1].len = 10);
	HOSTILE("no capability", t.plan.n_server_caps = 0);
	HOSTILE("a capability missing", t.plan.n_server_caps = 2);
	HOSTILE("a short object digest", t.object.sha256.len = 31);
	HOSTILE("a name too long", {
		static char name[SL_PLAN_NAME_MAX + 2];

		memset(name, 'a', sizeof(name) - 1);
		t.object.name = name;
	});
	HOSTILE("too many tags", t.object.n_tags = SL_PLAN_TAGS_MAX + 1);
#undef HOSTILE
	/* A read needs the object's digest; a stat may go without it. */
	test_plan_init(&t, SL_PLAN_READ);
	t.object.sha256.len = 0;
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_READ, why, sizeof(why)), -EPROTO);
	test_plan_init(&t, SL_PLAN_STAT);
	t.object.sha256.len = 0;
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_STAT, why, sizeof(why)), 0, "%s", why);
}

Test(finding_15, pages_beyond_what_was_asked_are_eproto)
{
	Sluice__ListResp list = SLUICE__LIST_RESP__INIT;
	Sluice__AuditListResp audit = SLUICE__AUDIT_LIST_RESP__INIT;
	Sluice__Object objs[3], *obj_ptrs[3];
	Sluice__AuditRecord recs[3], *rec_ptrs[3];
	char why[160];

	for (int i = 0; i < 3; i++) {
		sluice__object__init(&objs[i]);
		objs[i].shard_size = 4096;
		obj_ptrs[i] = &objs[i];
		sluice__audit_record__init(&recs[i]);
		rec_ptrs[i] = &recs[i];
	}
	list.objects = obj_ptrs;
	list.n_objects = 3;
	cr_assert_eq(sl_list_check(&list, 3, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(sl_list_check(&list, 2, why, sizeof(why)), -EPROTO);
	objs[1].shard_size = 0;
	cr_assert_eq(sl_list_check(&list, 3, why, sizeof(why)), -EPROTO);
	/* An entry withheld from the caller has a name and nothing else. */
	objs[1].withheld = 1;
	cr_assert_eq(sl_list_check(&list, 3, why, sizeof(why)), 0, "%s", why);
	objs[1].size = 10;
	cr_assert_eq(sl_list_check(&list, 3, why, sizeof(why)), -EPROTO);
	audit.records = rec_ptrs;
	audit.n_records = 3;
	cr_assert_eq(sl_audit_check(&audit, 0, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(sl_audit_check(&audit, 2, why, sizeof(why)), -EPROTO);
	recs[0].prev_hash.len = 5;
	cr_assert_eq(sl_audit_check(&audit, 3, why, sizeof(why)), -EPROTO);
}

/* Frames a DataReply to request id as a data server would. */
static size_t data_reply(uint8_t *buf, uint64_t id, int err, uint32_t length)
{
	Sluice__DataReply r = SLUICE__DATA_REPLY__INIT;
	struct sl_frame_hdr h = { .version = SL_FRAME_VERSION, .type = SL_RPC_SHARD_READ |
								      SL_RPC_REPLY };
	size_t len;

	r.err = err;
	r.length = length;
	r.crc32c = 0x1234;
	len = sluice__data_reply__pack(&r, buf + SL_FRAME_HDR_LEN);
	h.req_id = id;
	h.length = (uint32_t)len;
	sl_frame_hdr_encode(&h, buf);
	return SL_FRAME_HDR_LEN + len;
}

Test(finding_15, data_replies_claiming_more_than_asked_are_eproto)
{
	struct sl_data_answer a;
	uint8_t buf[128];
	size_t n;

	n = data_reply(buf, 5, 0, 4096);
	cr_assert_eq(sl_data_reply_decode(buf, n, 5, 4096, &a), 0);
	cr_assert_eq(a.err, 0);
	cr_assert_eq(a.length, 4096);
	cr_assert_eq(a.crc32c, 0x1234);
	cr_assert_eq(sl_data_reply_decode(buf, n, 5, 4095, &a), -EPROTO);
	cr_assert_eq(sl_data_reply_decode(buf, n, 6, 4096, &a), -EPROTO, "another request's reply");
	cr_assert_eq(sl_data_reply_decode(buf, n - 1, 5, 4096, &a), -EPROTO);
	n = data_reply(buf, 5, -EACCES, 0);
	cr_assert_eq(sl_data_reply_decode(buf, n, 5, 0, &a), 0);
	cr_assert_eq(a.err, -EACCES);
	n = data_reply(buf, 5, 7, 0);
	cr_assert_eq(sl_data_reply_decode(buf, n, 5, 0, &a), 0);
	cr_assert_eq(a.err, -EIO, "a positive error is not success");
}

Test(finding_15, server_text_cannot_drive_the_terminal)
{
	char msg[] = "denied\n\x1b[2Kallow\r\x7f\xc2\x9b" "31m caf\xc3\xa9";

	sl_text_clean(msg);
	cr_assert_str_eq(msg, "denied??[2Kallow????31m caf\xc3\xa9");
}

/* ---- finding 7: reads check shard digests, not the replica's word --------- */

#define T7_LEN (3 * SL_SHARD_BLOCK + 3392) /* four blocks, the last one short */

/* The block list of len bytes of shard data, as a data server keeps it. */
static void t7_list(const uint8_t *data, size_t len, uint8_t *list)
{
	for (size_t i = 0; i < sl_shard_blocks(len); i++) {
		size_t off = i * SL_SHARD_BLOCK;
		size_t blen = len - off < SL_SHARD_BLOCK ? len - off : SL_SHARD_BLOCK;

		cr_assert_eq(sl_block_digest(data + off, blen, list + i * SL_DIGEST_LEN), 0);
	}
}

/* The root by its definition: SHA-256 over each block's SHA-256, in order. */
static void t7_root(const uint8_t *data, size_t len, uint8_t root[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n;

	cr_assert(ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL));
	for (size_t off = 0; off < len; off += SL_SHARD_BLOCK) {
		size_t blen = len - off < SL_SHARD_BLOCK ? len - off : SL_SHARD_BLOCK;
		uint8_t d[32];

		cr_assert(EVP_Digest(data + off, blen, d, &n, EVP_sha256(), NULL));
		cr_assert(EVP_DigestUpdate(ctx, d, sizeof(d)));
	}
	cr_assert(EVP_DigestFinal_ex(ctx, root, &n));
	EVP_MD_CTX_free(ctx);
}

Test(finding_07, block_list_hashes_to_the_root)
{
	static uint8_t data[T7_LEN], list[4 * 32];
	uint8_t root[32], want[32];

	tc_fill(data, sizeof(data), 7);
	cr_assert_eq(sl_shard_blocks(sizeof(data)), 4);
	cr_assert_eq(sl_shard_blocks(SL_SHARD_BLOCK), 1);
	t7_root(data, sizeof(data), want);
	cr_assert_eq(sl_shard_root(data, sizeof(data), root), 0);
	cr_assert(memcmp(root, want, 32) == 0, "the root is not SHA-256 of the block digests");
	t7_list(data, sizeof(data), list);
	cr_assert_eq(sl_digest_list_check(list, 4, root), 0);
	/* A list that differs anywhere, or is cut short, is not the shard's. */
	list[3 * 32 + 5] ^= 1;
	cr_assert_eq(sl_digest_list_check(list, 4, root), -EBADMSG);
	list[3 * 32 + 5] ^= 1;
	cr_assert_eq(sl_digest_list_check(list, 3, root), -EBADMSG);
}

Test(finding_07, every_block_is_checked_against_the_list)
{
	static uint8_t data[T7_LEN], list[4 * 32];

	tc_fill(data, sizeof(data), 8);
	t7_list(data, sizeof(data), list);
	cr_assert_eq(sl_blocks_check(data, sizeof(data), 0, list, 4), 0);
	cr_assert_eq(sl_blocks_check(data + SL_SHARD_BLOCK, 2 * SL_SHARD_BLOCK, 1, list, 4), 0);
	cr_assert_eq(sl_blocks_check(data + 3 * SL_SHARD_BLOCK, 3392, 3, list, 4), 0,
		     "the short last block");
	/* The wrong place in the list, or past its end. */
	cr_assert_eq(sl_blocks_check(data + SL_SHARD_BLOCK, SL_SHARD_BLOCK, 2, list, 4), -EBADMSG);
	cr_assert_eq(sl_blocks_check(data, 2 * SL_SHARD_BLOCK, 3, list, 4), -EBADMSG);
	cr_assert_eq(sl_blocks_check(data, SL_SHARD_BLOCK, 5, list, 4), -EBADMSG);
	/* A forged byte anywhere, even one whose CRC32C was kept. */
	data[2 * SL_SHARD_BLOCK + 777] ^= 0x40;
	cr_assert_eq(sl_blocks_check(data, sizeof(data), 0, list, 4), -EBADMSG);
	cr_assert_eq(sl_blocks_check(data + 2 * SL_SHARD_BLOCK, SL_SHARD_BLOCK, 2, list, 4),
		     -EBADMSG);
	cr_assert_eq(sl_blocks_check(data, 2 * SL_SHARD_BLOCK, 0, list, 4), 0,
		     "blocks before the forged one are good");
}

Test(finding_07, ranges_widen_to_whole_blocks_within_the_shard)
{
	static const struct {
		uint32_t off, len, shard, aoff, alen;
	} cases[] = {
		{ 0, 65536, T7_LEN, 0, 65536 },
		{ 65530, 10, T7_LEN, 0, 131072 },
		{ 70000, 100, T7_LEN, 65536, 65536 },
		{ 196700, 100, T7_LEN, 196608, 3392 },
		{ T7_LEN - 1, 1, T7_LEN, 196608, 3392 },
		{ 1, T7_LEN - 1, T7_LEN, 0, T7_LEN },
		{ 5, 10, 100, 0, 100 },
	};
	uint32_t aoff, alen;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(sl_block_span(cases[i].off, cases[i].len, cases[i].shard, &aoff, &alen),
			     0, "case %zu", i);
		cr_assert_eq(aoff, cases[i].aoff, "case %zu: offset %u", i, aoff);
		cr_assert_eq(alen, cases[i].alen, "case %zu: length %u", i, alen);
	}
	cr_assert_eq(sl_block_span(0, 0, T7_LEN, &aoff, &alen), -EINVAL);
	cr_assert_eq(sl_block_span(T7_LEN - 1, 2, T7_LEN, &aoff, &alen), -EINVAL);
	cr_assert_eq(sl_block_span(UINT32_MAX, 2, T7_LEN, &aoff, &alen), -EINVAL);
}

Test(finding_07, a_shard_digest_of_the_wrong_length_is_eproto)
{
	struct test_plan t;
	uint8_t root[32] = { 0 };
	char why[160];

	test_plan_init(&t, SL_PLAN_READ);
	t.shards[1].sha256 = (ProtobufCBinaryData){ 32, root };
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_READ, why, sizeof(why)), 0, "%s", why);
	t.shards[1].sha256.len = 31;
	cr_assert_eq(sl_plan_check(&t.plan, SL_PLAN_READ, why, sizeof(why)), -EPROTO);
}

/*
 * Forges block 1 of every stored replica of shard 0 of objects bigger than
 * 100 KiB the way an attacker with the disk would: one byte changed, the
 * block's CRC32C and the header's CRC recomputed, the shard's CRC32C (the one
 * the catalog compares) kept. The data servers' own checks all pass.
 */
static int forge_block_1(void)
{
	static struct sl_shard_hdr h;
	static uint8_t blk[SL_SHARD_BLOCK];
	char cmd[600], path[600];
	int n = 0;
	FILE *ls;

	snprintf(cmd, sizeof(cmd), "find %s/data*/shards -name '*.0' -size +100k", cl.dir);
	ls = popen(cmd, "r");
	cr_assert(ls);
	while (fgets(path, sizeof(path), ls)) {
		int fd;

		path[strcspn(path, "\n")] = '\0';
		fd = open(path, O_RDWR);
		cr_assert(fd >= 0, "%s", path);
		cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
		cr_assert_eq(pread(fd, blk, sizeof(blk), SL_SHARD_HDR_LEN + SL_SHARD_BLOCK),
			     (ssize_t)sizeof(blk));
		blk[100] ^= 0xff;
		h.block_crc[1] = sl_crc32c(0, blk, sizeof(blk));
		h.hdr_crc = 0;
		h.hdr_crc = sl_crc32c(0, &h, sizeof(h));
		cr_assert_eq(pwrite(fd, blk, sizeof(blk), SL_SHARD_HDR_LEN + SL_SHARD_BLOCK),
			     (ssize_t)sizeof(blk));
		cr_assert_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
		close(fd);
		n++;
	}
	pclose(ls);
	return n;
}

TestSuite(finding_07, .timeout = 180);

Test(finding_07, a_forged_block_with_its_crcs_kept_is_never_served, .init = setup,
     .fini = teardown)
{
	static uint8_t in[4 * SL_SHARD_BLOCK], back[4 * SL_SHARD_BLOCK];
	Sluice__ObjectPlan *plan;
	sluice_session *s;
	size_t got;
	int roots;

	cr_assert_eq(sluice_open_file(cred, NULL, "inference", &s), 0);
	tc_ns(s, "big", sizeof(in));
	tc_fill(in, sizeof(in), 11);
	cr_assert_eq(sluice_put(s, "big", "obj", in, sizeof(in), NULL, 0), 0, "%s",
		     sluice_last_error(s));
	plan = tc_stat_plan(&cl, cred, "big", "obj");
	roots = plan->n_shards && plan->shards[0]->sha256.len == 32;
	sluice__object_plan__free_unpacked(plan, NULL);
	if (!roots) {
		sluice_close(s);
		cr_skip_test("the catalog holds no shard roots: reads cannot verify blocks");
	}
	cr_assert(forge_block_1() >= 1);
	/* A range inside the forged block, the whole shard: refused, never served. */
	memset(back, 0, sizeof(back));
	cr_assert_neq(sluice_read(s, "big", "obj", SL_SHARD_BLOCK + 50, back, 100, &got), 0,
		      "forged bytes were served");
	cr_assert(strstr(sluice_last_error(s), "no replica of shard 0"), "%s",
		  sluice_last_error(s));
	cr_assert_neq(sluice_read(s, "big", "obj", 0, back, sizeof(back), &got), 0,
		      "forged bytes were served");
	/* Blocks not forged still read, checked. */
	cr_assert_eq(sluice_read(s, "big", "obj", 2 * SL_SHARD_BLOCK + 7, back, 1000, &got), 0,
		     "%s", sluice_last_error(s));
	cr_assert(memcmp(back, in + 2 * SL_SHARD_BLOCK + 7, 1000) == 0);
	sluice_close(s);
}
