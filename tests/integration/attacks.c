/*
 * The attacks of the governance model's list that no other suite tries on
 * its own, each one test against a real cluster: capabilities used beyond
 * their tenant, shard or object at a data server; read requests whose
 * offset and length overflow; names with "..", a leading '/', a NUL byte,
 * too many bytes, overlong or invalid UTF-8, through the SDK, the CLI and
 * the wire; huge batches; another tenant's names answering exactly like
 * missing ones; a capability minted before a tag was raised; and secrets
 * (principals' keys, the cluster key, data servers' keys) in server logs,
 * CLI output and the audit log. docs/security.md maps every attack of the
 * list to the test that tries it.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "crypto.h"
#include "frame.h"
#include "net.h"
#include "rawfab.h"
#include "reqsign.h"
#include "rpc.h"
#include "sl_time.h"

#define TEST_SHARD 65536
/* The longest object name sluice-meta takes (SL_OBJECT_NAME_MAX). */
#define TEST_NAME_MAX 1024

static struct tcluster cl;
static sluice_session *alice, *bob;
static char alice_cred[400], bob_cred[400];
static char out[65536];

static void setup(void)
{
	tc_start(&cl, 3);
	alice = tc_principal(&cl, "acme", "alice", "confidential", alice_cred, sizeof(alice_cred));
	bob = tc_principal(&cl, "globex", "bob", "confidential", bob_cred, sizeof(bob_cred));
	tc_ns(alice, "data", TEST_SHARD);
	tc_ns(bob, "data", TEST_SHARD);
}

static void teardown(void)
{
	sluice_close(alice);
	sluice_close(bob);
	alice = bob = NULL;
	tc_stop(&cl);
}

TestSuite(attacks, .init = setup, .fini = teardown, .timeout = 240);

/* Runs the CLI as the principal of cred; output in out, exit code returned. */
static int cli(const char *cred, const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

static void put_pattern(sluice_session *s, const char *name, size_t size, unsigned seed)
{
	uint8_t *buf = malloc(size ? size : 1);

	cr_assert(buf);
	tc_fill(buf, size, seed);
	cr_assert_eq(sluice_put(s, "data", name, buf, size, NULL, 0), 0, "put %s: %s", name,
		     sluice_last_error(s));
	free(buf);
}

/* ---- capabilities beyond their scope at a data server ------------------------- */

/* A read of shard `index` of object_id from server `server` with token; the
 * server's answer, or -ETIMEDOUT for the silence of a refusal. */
static int raw_read_shard(struct raw *r, const Sluice__ObjectPlan *plan, uint32_t server,
			  const uint8_t *token, uint64_t object_id, uint32_t index, uint32_t off,
			  uint32_t len, uint64_t req_id)
{
	Sluice__ShardReadReq q = SLUICE__SHARD_READ_REQ__INIT;

	q.capability = (ProtobufCBinaryData){ SL_CAP_LEN, (uint8_t *)token };
	q.object_id = object_id;
	q.index = index;
	q.offset = off;
	q.length = len;
	q.buf_addr = sl_fabric_mr_raddr(&r->fab, &r->data_mr, r->data);
	q.buf_key = r->data_mr.key;
	q.reply_addr = (ProtobufCBinaryData){ r->fab.addr_len, r->fab.addr };
	return raw_wait(r, raw_post(r, raw_server_addr(plan, server), SL_RPC_SHARD_READ, &q.base,
				    req_id),
			3000, NULL);
}

static int untouched(const struct raw *r)
{
	for (size_t i = 0; i < r->data_len; i++)
		if (r->data[i])
			return 0;
	return 1;
}

Test(attacks, tenant_a_capability_against_tenant_b_shard)
{
	Sluice__ObjectPlan *a, *b;
	struct raw *r = calloc(1, sizeof(*r));
	struct sl_cap cap;
	uint8_t token[SL_CAP_LEN];
	uint32_t srv;
	int rc;

	put_pattern(alice, "a.bin", 1000, 1);
	put_pattern(bob, "b.bin", 1000, 2);
	a = tc_stat_plan(&cl, alice_cred, "data", "a.bin");
	b = tc_stat_plan(&cl, bob_cred, "data", "b.bin");
	srv = b->shards[0]->servers[0];
	raw_open(r, TEST_SHARD);

	/* acme's genuine capability for its own object, presented for globex's. */
	raw_cap(a->object, SL_CAP_OP_READ, r, &cap);
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, b, srv, token, b->object->id, 0, 0, 1000, 1), -ETIMEDOUT);
	cr_assert(untouched(r), "acme's capability moved globex's bytes");

	/* A capability of acme's naming globex's object id (as if sluice-meta had
	 * minted one): the shard is looked for among acme's, and is not there. */
	raw_cap(b->object, SL_CAP_OP_READ, r, &cap);
	cap.tenant = a->object->tenant_id;
	raw_mint(&cl, srv, &cap, token);
	rc = raw_read_shard(r, b, srv, token, b->object->id, 0, 0, 1000, 2);
	cr_assert_neq(rc, 0);
	cr_assert(untouched(r), "a capability of acme read globex's shard");

	/* globex's own is served: the refusals above were the tenant's. */
	raw_cap(b->object, SL_CAP_OP_READ, r, &cap);
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, b, srv, token, b->object->id, 0, 0, 1000, 3), 0);
	{
		uint8_t want[1000];

		tc_fill(want, sizeof(want), 2);
		cr_assert(memcmp(r->data, want, sizeof(want)) == 0);
	}
	raw_close(r);
	free(r);
	sluice__object_plan__free_unpacked(a, NULL);
	sluice__object_plan__free_unpacked(b, NULL);
}

Test(attacks, capability_for_one_shard_used_for_another)
{
	Sluice__ObjectPlan *p;
	struct raw *r = calloc(1, sizeof(*r));
	struct sl_cap cap;
	uint8_t token[SL_CAP_LEN];
	uint32_t srv;

	put_pattern(alice, "three.bin", 3 * TEST_SHARD, 3);
	p = tc_stat_plan(&cl, alice_cred, "data", "three.bin");
	cr_assert_eq(p->n_shards, 3);
	srv = p->shards[1]->servers[0];
	raw_open(r, TEST_SHARD);

	/* A capability for shard 0 only, asked for shard 1 and shard 2. */
	raw_cap(p->object, SL_CAP_OP_READ, r, &cap);
	cap.shard_first = 0;
	cap.shard_count = 1;
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, p, srv, token, p->object->id, 1, 0, 4096, 1), -ETIMEDOUT);
	cr_assert(untouched(r), "a shard-0 capability read shard 1");
	cap.shard_first = 2;
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, p, srv, token, p->object->id, 1, 0, 4096, 2), -ETIMEDOUT);
	cr_assert(untouched(r));

	/* The right shard's capability is served. */
	cap.shard_first = 1;
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, p, srv, token, p->object->id, 1, 0, 4096, 3), 0);
	cr_assert(!untouched(r));
	raw_close(r);
	free(r);
	sluice__object_plan__free_unpacked(p, NULL);
}

Test(attacks, capability_for_one_object_used_for_another)
{
	Sluice__ObjectPlan *x, *y;
	struct raw *r = calloc(1, sizeof(*r));
	struct sl_cap cap;
	uint8_t token[SL_CAP_LEN];
	uint32_t srv;

	put_pattern(alice, "x.bin", 1000, 4);
	put_pattern(alice, "y.bin", 1000, 5);
	x = tc_stat_plan(&cl, alice_cred, "data", "x.bin");
	y = tc_stat_plan(&cl, alice_cred, "data", "y.bin");
	srv = y->shards[0]->servers[0];
	raw_open(r, TEST_SHARD);

	/* x's capability, y's id in the request: same tenant, other object. */
	raw_cap(x->object, SL_CAP_OP_READ, r, &cap);
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, y, srv, token, y->object->id, 0, 0, 1000, 1), -ETIMEDOUT);
	cr_assert(untouched(r), "x's capability read y");

	raw_cap(y->object, SL_CAP_OP_READ, r, &cap);
	raw_mint(&cl, srv, &cap, token);
	cr_assert_eq(raw_read_shard(r, y, srv, token, y->object->id, 0, 0, 1000, 2), 0);
	raw_close(r);
	free(r);
	sluice__object_plan__free_unpacked(x, NULL);
	sluice__object_plan__free_unpacked(y, NULL);
}

Test(attacks, read_request_offset_plus_length_overflow)
{
	static const struct {
		uint32_t off, len;
	} bad[] = {
		{ 0xfffffff0u, 0x20 },		/* wraps to 0x10 in 32 bits */
		{ 0x80000000u, 0x80000000u },	/* wraps to 0 */
		{ 1, 0xffffffffu },		/* wraps to 0 */
		{ 0xffffffffu, 0xffffffffu },
		{ 0xffffffffu, 1 },
	};
	Sluice__ObjectPlan *p;
	struct raw *r = calloc(1, sizeof(*r));
	struct sl_cap cap;
	uint8_t token[SL_CAP_LEN], buf[16];
	uint32_t srv;
	size_t got = 1;

	put_pattern(alice, "o.bin", 1000, 6);
	p = tc_stat_plan(&cl, alice_cred, "data", "o.bin");
	srv = p->shards[0]->servers[0];
	raw_open(r, TEST_SHARD);
	raw_cap(p->object, SL_CAP_OP_READ, r, &cap);
	raw_mint(&cl, srv, &cap, token);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = raw_read_shard(r, p, srv, token, p->object->id, 0, bad[i].off, bad[i].len,
					10 + i);

		cr_assert(rc != 0 && rc != -ETIMEDOUT,
			  "offset %#x length %#x: %d (a refusal with a reason is due)", bad[i].off,
			  bad[i].len, rc);
		cr_assert(untouched(r), "offset %#x length %#x moved bytes", bad[i].off,
			  bad[i].len);
	}
	/* The same capability, a sane range: served. */
	cr_assert_eq(raw_read_shard(r, p, srv, token, p->object->id, 0, 0, 1000, 99), 0);
	raw_close(r);
	free(r);
	sluice__object_plan__free_unpacked(p, NULL);

	/* The SDK: an offset whose sum with the length wraps reads nothing. */
	cr_assert_eq(sluice_read(alice, "data", "o.bin", UINT64_MAX - 4, buf, sizeof(buf), &got), 0,
		     "%s", sluice_last_error(alice));
	cr_assert_eq(got, 0);
}

/* ---- names ---------------------------------------------------------------------- */

/* Nothing of any refused name reached the catalog or a data server. */
static void nothing_stored(void)
{
	struct sluice_object **list = NULL;
	size_t n = 0;

	cr_assert_eq(sluice_list(alice, "data", "", NULL, 0, &list, &n, NULL), 0, "%s",
		     sluice_last_error(alice));
	for (size_t i = 0; i < n; i++)
		cr_expect_fail("stored under a refused name: %s", list[i]->name);
	sluice_list_free(list, n);
	cr_assert_eq(tc_shard_files(&cl), 0, "shard files were written");
}

/* name refused by the SDK's put and stat and by the CLI's put, each with the
 * catalog's one-line reason. */
static void name_refused(const char *name)
{
	char src[400], dest[1400];
	const char *reason;
	struct sluice_object *o = NULL;
	FILE *f;

	cr_assert_eq(sluice_put(alice, "data", name, "x", 1, NULL, 0), -EINVAL, "put '%s'", name);
	cr_assert(strstr(sluice_last_error(alice), "bad object name"), "put '%s': %s", name,
		  sluice_last_error(alice));
	cr_assert_eq(sluice_stat(alice, "data", name, &o), -EINVAL, "stat '%s'", name);

	snprintf(src, sizeof(src), "%s/x.txt", cl.dir);
	f = fopen(src, "w");
	cr_assert(f);
	fputs("x", f);
	fclose(f);
	snprintf(dest, sizeof(dest), "data/%s", name);
	cr_assert_eq(cli(alice_cred, "put", src, dest, "--no-progress", NULL), 1, "put '%s': %s",
		     name, out);
	/* The reason first, on a line of its own (a summary of the ingest follows). */
	cr_assert(strncmp(out, "sluice: put ", 12) == 0, "CLI put '%s': %s", name, out);
	reason = strstr(out, "bad object name");
	cr_assert(reason && reason < strchr(out, '\n'), "CLI put '%s': %s", name, out);
}

Test(attacks, dot_dot_names_are_refused)
{
	name_refused("..");
	name_refused("../x");
	name_refused("a/..");
	name_refused("a/../../b");
	name_refused(".");
	name_refused("a/./b");
	nothing_stored();
}

Test(attacks, leading_slash_names_are_refused)
{
	name_refused("/x");
	name_refused("//x");
	name_refused("/etc/passwd");
	nothing_stored();
}

Test(attacks, overlong_names_are_refused)
{
	char name[TEST_NAME_MAX + 2];

	/* One byte too many. */
	memset(name, 'n', TEST_NAME_MAX + 1);
	name[TEST_NAME_MAX + 1] = '\0';
	name_refused(name);
	/* Overlong UTF-8 forms: '/' as two bytes and as three, '.' as two. */
	name_refused("a\xc0\xaf" "b");
	name_refused("a\xe0\x80\xaf" "b");
	name_refused("\xc0\xae\xc0\xae/x");
	nothing_stored();
	/* The longest allowed name is allowed. */
	name[TEST_NAME_MAX] = '\0';
	cr_assert_eq(sluice_put(alice, "data", name, "x", 1, NULL, 0), 0, "%s",
		     sluice_last_error(alice));
}

Test(attacks, invalid_utf8_names_are_refused)
{
	name_refused("\xff");
	name_refused("a\xc3");             /* cut short */
	name_refused("a\xed\xa0\x80" "b"); /* a surrogate */
	name_refused("a\xf4\x90\x80\x80"); /* past U+10FFFF */
	name_refused("a\x80" "b");         /* a lone continuation byte */
	nothing_stored();
}

/*
 * Sends body, signed by the principal of cred, as RPC type on a fresh
 * connection; returns the reply's err, its message in msg.
 */
static int signed_call(const char *cred, uint16_t type, const uint8_t *body, size_t blen,
		       char *msg, size_t msg_len)
{
	char key_id[64];
	uint8_t secret[32], mac[32], nonce[16], env_buf[4096], *reply = NULL;
	Sluice__Signed env = SLUICE__SIGNED__INIT;
	Sluice__Reply *r;
	struct sl_frame_hdr h;
	struct sl_conn conn;
	uint64_t ts = sl_now_ms();
	size_t elen;
	int err;

	tc_cred_key(cred, key_id, secret);
	cr_assert_eq(sl_random_bytes(nonce, sizeof(nonce)), 0);
	cr_assert_eq(sl_reqsign_mac(secret, 32, type, 1, ts, nonce, key_id, body, blen, mac), 0);
	env.key_id = key_id;
	env.timestamp_ms = ts;
	env.nonce = (ProtobufCBinaryData){ 16, nonce };
	env.mac = (ProtobufCBinaryData){ 32, mac };
	env.body = (ProtobufCBinaryData){ blen, (uint8_t *)body };
	cr_assert(sluice__signed__get_packed_size(&env) <= sizeof(env_buf));
	elen = sluice__signed__pack(&env, env_buf);
	tc_meta_tls(&cl, &conn);
	cr_assert_eq(sl_frame_send(&conn, type, 1, env_buf, elen, sl_mono_ms() + 5000), 0);
	cr_assert_eq(sl_frame_recv(&conn, &h, &reply, SL_FRAME_MAX, sl_mono_ms() + 5000), 0);
	r = sluice__reply__unpack(NULL, h.length, reply);
	cr_assert(r);
	err = r->err;
	snprintf(msg, msg_len, "%s", r->msg ? r->msg : "");
	sluice__reply__free_unpacked(r, NULL);
	free(reply);
	sl_conn_close(&conn);
	return err;
}

/* Packs m and turns the first '#' in its bytes into a NUL. */
static size_t pack_with_nul(const ProtobufCMessage *m, uint8_t *buf, size_t cap)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *hash;

	cr_assert(len <= cap);
	protobuf_c_message_pack(m, buf);
	hash = memchr(buf, '#', len);
	cr_assert(hash);
	*hash = '\0';
	return len;
}

/* A NUL can only come on the wire: C strings (the SDK, argv) end at one. */
Test(attacks, nul_in_a_name_is_refused)
{
	Sluice__PutBeginReq put = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__ObjectRef ref = SLUICE__OBJECT_REF__INIT;
	Sluice__Tag tag = SLUICE__TAG__INIT, *tags[] = { &tag };
	uint8_t body[2048];
	char msg[512];
	size_t len;
	struct sluice_object *o = NULL;

	put_pattern(alice, "evil", 5, 7);
	/* "evil\0/../x": unpacked as a C string it would be "evil". */
	put.ns = (char *)"data";
	put.name = (char *)"evil#/../x";
	put.size = 1;
	put.fabric_addr = (ProtobufCBinaryData){ 16, (uint8_t *)"0123456789abcdef" };
	len = pack_with_nul(&put.base, body, sizeof(body));
	cr_assert_eq(signed_call(alice_cred, SL_RPC_PUT_BEGIN, body, len, msg, sizeof(msg)),
		     -EINVAL, "%s", msg);
	cr_assert(strstr(msg, "NUL"), "%s", msg);
	/* In a tag value, and in the name a STAT asks for. */
	put.name = (char *)"fresh";
	tag.key = (char *)"team";
	tag.value = (char *)"a#b";
	put.n_tags = 1;
	put.tags = tags;
	len = pack_with_nul(&put.base, body, sizeof(body));
	cr_assert_eq(signed_call(alice_cred, SL_RPC_PUT_BEGIN, body, len, msg, sizeof(msg)),
		     -EINVAL, "%s", msg);
	ref.ns = (char *)"data";
	ref.name = (char *)"evil#";
	ref.purpose = (char *)"inference";
	len = pack_with_nul(&ref.base, body, sizeof(body));
	cr_assert_eq(signed_call(alice_cred, SL_RPC_STAT, body, len, msg, sizeof(msg)), -EINVAL,
		     "STAT of \"evil\\0\" answered for \"evil\": %s", msg);

	/* Nothing new: "evil" is as it was, "fresh" is not there. */
	cr_assert_eq(sluice_stat(alice, "data", "fresh", &o), -ENOENT);
	cr_assert_eq(sluice_stat(alice, "data", "evil", &o), 0);
	cr_assert_eq(o->size, 5);
	sluice_object_free(o);
}

/* ---- huge batches --------------------------------------------------------------- */

/* "k0", "k1", ... */
static char **many_names(size_t n)
{
	char **v = calloc(n, sizeof(*v));

	cr_assert(v);
	for (size_t i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "k%zu", i);
		v[i] = strdup(name);
		cr_assert(v[i]);
	}
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

Test(attacks, huge_batches_to_meta_are_refused)
{
	const size_t n = 100000, too_big = 1000000;
	char **keys = many_names(too_big);
	struct sluice_tag *tags = calloc(n, sizeof(*tags));
	struct sluice_principal_spec spec = { NULL, "mallory", NULL, 0, NULL, 0, "public", NULL,
					      0 };
	const char *const roles[] = { "reader" };
	char key_id[24], secret[65];
	struct sluice_object *o = NULL;
	size_t n_tags;
	int rc;

	cr_assert(tags);
	put_pattern(alice, "t.bin", 10, 8);
	cr_assert_eq(sluice_stat(alice, "data", "t.bin", &o), 0);
	n_tags = o->n_tags;
	sluice_object_free(o);
	/* 100,000 tag keys to remove, 100,000 tags to set, 100,000 purposes. */
	cr_assert_eq(sluice_set_tags(alice, "data", "t.bin", NULL, 0, (const char *const *)keys,
				     n), -EINVAL);
	cr_assert(strstr(sluice_last_error(alice), "too many"), "%s", sluice_last_error(alice));
	for (size_t i = 0; i < n; i++)
		tags[i] = (struct sluice_tag){ keys[i], "v" };
	cr_assert_eq(sluice_set_tags(alice, "data", "t.bin", tags, n, NULL, 0), -EINVAL);
	cr_assert_eq(sluice_put(alice, "data", "u.bin", "u", 1, tags, n), -EINVAL);
	spec.roles = roles;
	spec.n_roles = 1;
	spec.purposes = (const char *const *)keys;
	spec.n_purposes = n;
	cr_assert_eq(sluice_principal_create(alice, &spec, key_id, secret), -EINVAL);
	/* A million: more than one frame carries. Refused, whichever side says so. */
	rc = sluice_set_tags(alice, "data", "t.bin", NULL, 0, (const char *const *)keys, too_big);
	cr_assert(rc < 0, "a million keys accepted");
	cr_assert(sluice_last_error(alice)[0], "refused without a reason");

	/* Nothing changed, and sluice-meta still serves. */
	cr_assert_eq(sluice_stat(alice, "data", "t.bin", &o), 0, "%s", sluice_last_error(alice));
	cr_assert_eq(o->n_tags, n_tags, "tags changed");
	sluice_object_free(o);
	cr_assert_eq(sluice_stat(alice, "data", "u.bin", &o), -ENOENT);
	free(tags);
	free_names(keys, too_big);
}

Test(attacks, a_huge_batch_of_ranges_reads_back_exactly)
{
	const size_t size = 3 * TEST_SHARD, n = 20000;
	struct sluice_iov *iov = calloc(n, sizeof(*iov));
	uint8_t *want = malloc(size), *got = calloc(n, 8);
	sluice_reader *r = NULL;

	cr_assert(iov && want && got);
	put_pattern(alice, "ranges.bin", size, 9);
	tc_fill(want, size, 9);
	cr_assert_eq(sluice_reader_open(alice, "data", "ranges.bin", &r), 0);
	for (size_t i = 0; i < n; i++) {
		/* Scattered, some across a shard boundary, some past the end. */
		uint64_t off = (i * 7919u) % (size + 16) - (i % 5 == 0 ? 3 : 0);

		iov[i] = (struct sluice_iov){ got + 8 * i, 8, off, 0 };
	}
	cr_assert_eq(sluice_reader_preadv(r, iov, n), 0, "%s", sluice_last_error(alice));
	for (size_t i = 0; i < n; i++) {
		size_t left = iov[i].off >= size ? 0 : (size_t)(size - iov[i].off);
		size_t expect = left < 8 ? left : 8;

		cr_assert_eq(iov[i].got, expect, "range %zu", i);
		cr_assert(!expect || memcmp(got + 8 * i, want + iov[i].off, expect) == 0,
			  "range %zu", i);
	}
	sluice_reader_close(r);
	free(iov);
	free(want);
	free(got);
}

/* ---- id guessing across tenants ------------------------------------------------- */

/* msg with every occurrence of name replaced by "NAME". */
static void unname(const char *msg, const char *name, char *outbuf, size_t len)
{
	size_t o = 0, nl = strlen(name);

	for (const char *p = msg; *p && o + 5 < len;) {
		if (strncmp(p, name, nl) == 0) {
			memcpy(outbuf + o, "NAME", 4);
			o += 4;
			p += nl;
		} else {
			outbuf[o++] = *p++;
		}
	}
	outbuf[o] = '\0';
}

/* The answer bob gets for ns/name through every call that names an object. */
struct answer {
	int rc[6];
	char msg[6][512];
	int cli_rc[3];
	char cli_out[3][1024];
};

static void ask(const char *ns, const char *name, struct answer *a)
{
	const struct sluice_tag tag = { "team", "x" };
	struct sluice_object *o = NULL;
	sluice_reader *r = NULL;
	char path[600], buf[8];
	size_t got;
	int i = 0;

	memset(a, 0, sizeof(*a));
	snprintf(path, sizeof(path), "%s/%s", ns, name);
#define TEST_ASK(call)                                                                             \
	do {                                                                                       \
		a->rc[i] = (call);                                                                 \
		unname(sluice_last_error(bob), path, a->msg[i], sizeof(a->msg[i]));                \
		i++;                                                                               \
	} while (0)
	TEST_ASK(sluice_stat(bob, ns, name, &o));
	TEST_ASK(sluice_reader_open(bob, ns, name, &r));
	TEST_ASK(sluice_read(bob, ns, name, 0, buf, sizeof(buf), &got));
	TEST_ASK(sluice_set_tags(bob, ns, name, &tag, 1, NULL, 0));
	TEST_ASK(sluice_hold_set(bob, ns, name, 1));
	TEST_ASK(sluice_delete(bob, ns, name));
#undef TEST_ASK
	cr_assert_null(o);
	cr_assert_null(r);
	a->cli_rc[0] = cli(bob_cred, "stat", path, NULL);
	unname(out, path, a->cli_out[0], sizeof(a->cli_out[0]));
	a->cli_rc[1] = cli(bob_cred, "get", path, NULL);
	unname(out, path, a->cli_out[1], sizeof(a->cli_out[1]));
	a->cli_rc[2] = cli(bob_cred, "--json", "stat", path, NULL);
	unname(out, path, a->cli_out[2], sizeof(a->cli_out[2]));
}

static void same_answer(const struct answer *x, const struct answer *y, const char *what)
{
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(x->rc[i], y->rc[i], "%s: call %d: %d vs %d", what, i, x->rc[i],
			     y->rc[i]);
		cr_assert_neq(x->rc[i], 0, "%s: call %d succeeded", what, i);
		cr_assert_str_eq(x->msg[i], y->msg[i], "%s: call %d", what, i);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(x->cli_rc[i], y->cli_rc[i], "%s: CLI %d", what, i);
		cr_assert_str_eq(x->cli_out[i], y->cli_out[i], "%s: CLI %d", what, i);
	}
}

Test(attacks, another_tenants_name_answers_exactly_like_a_missing_one)
{
	struct answer foreign, missing;

	/* acme's object in a namespace both tenants have, and a namespace only acme has. */
	put_pattern(alice, "secret.bin", 100, 10);
	tc_ns(alice, "acmeonly", TEST_SHARD);
	cr_assert_eq(sluice_put(alice, "acmeonly", "plan.txt", "p", 1, NULL, 0), 0);

	ask("data", "secret.bin", &foreign);
	ask("data", "never-was.bin", &missing);
	same_answer(&foreign, &missing, "an object of another tenant");
	cr_assert_eq(foreign.rc[0], -ENOENT);

	ask("acmeonly", "plan.txt", &foreign);
	ask("nowhere", "plan.txt", &missing);
	same_answer(&foreign, &missing, "a namespace of another tenant");

	/* Nothing bob tried touched acme's object. */
	{
		struct sluice_object *o = NULL;

		cr_assert_eq(sluice_stat(alice, "data", "secret.bin", &o), 0);
		for (size_t i = 0; i < o->n_tags; i++)
			cr_assert_str_neq(o->tags[i].key, "team");
		sluice_object_free(o);
	}
}

/* ---- revocation ----------------------------------------------------------------- */

Test(attacks, a_capability_minted_before_a_tag_is_raised_is_refused)
{
	const struct sluice_tag raise[] = { { "classification", "restricted" } };
	const size_t size = 4 * TEST_SHARD;
	uint8_t *buf = malloc(size);
	sluice_reader *r = NULL;
	struct sluice_audit_record *rec = NULL;
	size_t got, n = 0;
	int refused = 0, rc;

	cr_assert(buf);
	put_pattern(alice, "rev.bin", size, 11);
	cr_assert_eq(sluice_reader_open(alice, "data", "rev.bin", &r), 0);
	cr_assert_eq(sluice_reader_pread(r, buf, size, 0, &got), 0);
	cr_assert_eq(got, size);
	/* Above alice's clearance: the grant the reader holds is revoked at once. */
	cr_assert_eq(sluice_set_tags(alice, "data", "rev.bin", raise, 1, NULL, 0), 0, "%s",
		     sluice_last_error(alice));
	memset(buf, 0, size);
	rc = sluice_reader_pread(r, buf, size, 0, &got);
	cr_assert_eq(rc, -EACCES, "a revoked reader read on: %d %s", rc,
		     sluice_last_error(alice));
	cr_assert_eq(got, 0);
	sluice_reader_close(r);

	/* The data servers refused the old capability, and said why in the log. */
	for (int i = 0; i < 100 && !refused; i++) {
		int chain_ok;

		cr_assert_eq(sluice_audit_list(alice, 0, 1000, &rec, &n, &chain_ok, NULL), 0);
		for (size_t k = 0; k < n; k++)
			refused |= strcmp(rec[k].event, "data.refuse") == 0 &&
				   strstr(rec[k].reason, "revoked") != NULL;
		sluice_audit_free(rec, n);
		if (!refused)
			usleep(100 * 1000);
	}
	cr_assert(refused, "no data server refusal of the revoked capability was audited");
	free(buf);
}

/* ---- secrets in logs ------------------------------------------------------------ */

struct secret {
	char label[64];
	uint8_t key[32];
};

/* Reads the 64 hex digits after "secret = " in a credentials file, or the
 * first line of a key file. */
static int read_secret(const char *path, int cred, struct secret *s)
{
	char line[512], hex[65] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (cred && strncmp(line, "secret = ", 9) == 0)
			snprintf(hex, sizeof(hex), "%.64s", line + 9);
		else if (!cred && !hex[0])
			snprintf(hex, sizeof(hex), "%.64s", line);
	}
	fclose(f);
	snprintf(s->label, sizeof(s->label), "%.63s", strrchr(path, '/') + 1);
	return strlen(hex) == 64 && sl_hex_decode(hex, s->key, 32) == 0;
}

/* Appends file path to *text. */
static void slurp(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	char chunk[65536];
	size_t n;

	if (!f)
		return;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		*text = realloc(*text, *len + n + 1);
		cr_assert(*text);
		memcpy(*text + *len, chunk, n);
		*len += n;
		(*text)[*len] = '\0';
	}
	fclose(f);
}

static void append(char **text, size_t *len, const char *s)
{
	size_t n = strlen(s);

	*text = realloc(*text, *len + n + 2);
	cr_assert(*text);
	memcpy(*text + *len, s, n);
	*len += n;
	(*text)[(*len)++] = '\n';
	(*text)[*len] = '\0';
}

/* Fails when text holds s's key in hex (either case, whole or its first
 * half) or base64 (standard or URL-safe, whole or its first half). */
static void no_trace(const char *text, size_t len, const struct secret *s, const char *where)
{
	char forms[6][100];
	uint8_t b64[64];

	sl_hex_encode(s->key, 32, forms[0]);
	for (size_t i = 0; i < 64; i++)
		forms[1][i] = (char)(forms[0][i] >= 'a' ? forms[0][i] - 32 : forms[0][i]);
	forms[1][64] = '\0';
	snprintf(forms[2], sizeof(forms[2]), "%.32s", forms[0]);
	cr_assert_eq(EVP_EncodeBlock(b64, s->key, 32), 44);
	snprintf(forms[3], sizeof(forms[3]), "%.43s", (char *)b64); /* without its padding */
	snprintf(forms[4], sizeof(forms[4]), "%.22s", (char *)b64);
	for (size_t i = 0; i < 43; i++)
		forms[5][i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	forms[5][43] = '\0';
	for (int f = 0; f < 6; f++)
		cr_assert(!memmem(text, len, forms[f], strlen(forms[f])),
			  "%s holds %s (form %d: %s)", where, s->label, f, forms[f]);
}

Test(attacks, no_secret_reaches_a_log_an_output_or_the_audit)
{
	static const char *const cli_cmds[][5] = {
		{ "whoami" },
		{ "ls", "data" },
		{ "stat", "data/s.bin" },
		{ "--json", "stat", "data/s.bin" },
		{ "get", "data/s.bin" },
		{ "servers" },
		{ "audit" },
		{ "--json", "audit" },
		{ "tag", "data/s.bin", "team=x" },
	};
	struct secret secrets[16];
	int n_secrets = 0;
	char path[600], *logs = NULL, *outputs = NULL, *audit = NULL;
	size_t logs_len = 0, outputs_len = 0, audit_len = 0;
	struct sluice_audit_record *rec = NULL;
	size_t n = 0, got;
	char buf[16];
	DIR *d;
	struct dirent *e;

	/* Work that touches every server: puts, reads, a refusal, a bad key. */
	put_pattern(alice, "s.bin", 3 * TEST_SHARD, 12);
	put_pattern(bob, "s.bin", 100, 13);
	cr_assert_eq(sluice_read(alice, "data", "s.bin", 0, buf, sizeof(buf), &got), 0);
	cr_assert_eq(sluice_read(bob, "data", "s.bin", 0, buf, sizeof(buf), &got), 0);
	{
		const struct sluice_tag r[] = { { "classification", "restricted" } };

		cr_assert_eq(sluice_put(alice, "data", "r.bin", "r", 1, r, 1), 0);
		cr_assert_eq(sluice_read(alice, "data", "r.bin", 0, buf, 1, &got), -EACCES);
	}
	for (size_t i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++) {
		char *argv[8] = { getenv("SLUICE_CLI_BIN"), (char *)"-c", alice_cred };
		int k = 3;

		for (int j = 0; j < 5 && cli_cmds[i][j]; j++)
			argv[k++] = (char *)cli_cmds[i][j];
		argv[k] = NULL;
		tc_run(argv, out, sizeof(out));
		append(&outputs, &outputs_len, out);
	}
	/* The cluster admin's view too. */
	{
		char *argv[] = { getenv("SLUICE_CLI_BIN"), (char *)"-c", cl.admin_cred,
				 (char *)"tenant", (char *)"list", NULL };

		tc_run(argv, out, sizeof(out));
		append(&outputs, &outputs_len, out);
	}

	/* Every key there is: principals' (credentials files), the cluster's, each
	 * data server's. */
	d = opendir(cl.dir);
	cr_assert(d);
	while ((e = readdir(d)) && n_secrets < 14) {
		size_t l = strlen(e->d_name);

		snprintf(path, sizeof(path), "%s/%s", cl.dir, e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".cred") == 0)
			n_secrets += read_secret(path, 1, &secrets[n_secrets]);
		else if (l > 4 && strcmp(e->d_name + l - 4, ".key") == 0)
			n_secrets += read_secret(path, 0, &secrets[n_secrets]);
		else if ((l > 4 && strcmp(e->d_name + l - 4, ".log") == 0) ||
			 (l > 4 && strcmp(e->d_name + l - 4, ".out") == 0))
			slurp(path, &logs, &logs_len);
	}
	closedir(d);
	n_secrets += read_secret(cl.admin_cred, 1, &secrets[n_secrets]);
	n_secrets += read_secret(cl.cluster_key, 0, &secrets[n_secrets]);
	/* alice, bob, two tenant admins, the cluster admin, the cluster, three servers. */
	cr_assert_geq(n_secrets, 9, "found %d keys", n_secrets);
	cr_assert_gt(logs_len, 0, "no server logs found in %s", cl.dir);

	/* Both tenants' audit logs, every field. */
	for (int t = 0; t < 2; t++) {
		sluice_session *s = t ? bob : alice;
		int chain_ok;

		cr_assert_eq(sluice_audit_list(s, 0, 1000, &rec, &n, &chain_ok, NULL), 0);
		cr_assert_gt(n, 0);
		for (size_t i = 0; i < n; i++) {
			append(&audit, &audit_len, rec[i].event);
			append(&audit, &audit_len, rec[i].purpose);
			append(&audit, &audit_len, rec[i].object);
			append(&audit, &audit_len, rec[i].decision);
			append(&audit, &audit_len, rec[i].reason);
		}
		sluice_audit_free(rec, n);
	}

	for (int i = 0; i < n_secrets; i++) {
		no_trace(logs, logs_len, &secrets[i], "a server log");
		no_trace(outputs, outputs_len, &secrets[i], "the CLI's output");
		no_trace(audit, audit_len, &secrets[i], "the audit log");
	}
	free(logs);
	free(outputs);
	free(audit);
}
