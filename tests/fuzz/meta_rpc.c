/*
 * Fuzz target: the metadata server's request handlers, reached with
 * arbitrary request bodies as if their signatures had checked out. The first
 * byte picks the RPC, the second the caller (cluster admin, tenant admin,
 * a reader-only principal of another tenant, a data server); the rest is the
 * protobuf body. Every handler must answer (an error or a reply) without
 * crashing, leaking or touching another tenant's records, against a real
 * catalog in a temporary folder (on /dev/shm when there is one, so that the
 * synced writes are cheap).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "meta.h"
#include "policy_store.h"
#include "sl_time.h"


/* Every RPC's frame type; handlers are reached through the server's own typed table. */
static const uint16_t rpc_types[] = {
#define TEST_RPC(name, lc, num, req_t, resp_t, req_lc, resp_lc) num,
	SL_META_RPCS(TEST_RPC)
#undef TEST_RPC
};
#define TEST_N_RPCS (sizeof(rpc_types) / sizeof(rpc_types[0]))

struct test_ctx {
	struct sl_meta m;
	char dir[64];
	Sluice__Principal admin, owner, stranger;
	char *owner_roles[3], *stranger_roles[1], *purposes[1];
	struct sl_caller callers[4];
};

static struct test_ctx *ctx;

static void test_cleanup(void)
{
	char cmd[128];

	if (!ctx)
		return;
	sl_audit_close(&ctx->m);
	sl_registry_free(&ctx->m);
	sl_pol_cache_free(&ctx->m);
	sl_catalog_close(ctx->m.cat);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ctx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", ctx->dir);
	free(ctx);
	ctx = NULL;
}

static void test_die(const char *what)
{
	fprintf(stderr, "meta_rpc fuzz setup: %s\n", what);
	abort();
}

/* Calls one handler with a parsed request; frees what it made. */
static int test_call(unsigned rpc, const struct sl_caller *c, const ProtobufCMessage *req)
{
	struct sl_reply r = { 0 };
	int rc = sl_meta_rpc_find(rpc_types[rpc])->call(&ctx->m, c, req, &r);

	if (rc != r.err)
		abort(); /* a handler must report what it returns */
	if (rc == 0 && r.body == NULL)
		abort();
	free(r.body);
	return rc;
}

static void test_setup(void)
{
	static const uint8_t secret[SL_KEY_LEN] = { 1, 2, 3 };
	Sluice__TenantCreateReq tc = SLUICE__TENANT_CREATE_REQ__INIT;
	Sluice__NsCreateReq ns = SLUICE__NS_CREATE_REQ__INIT;
	struct sl_meta *m;
	uint64_t acme, other;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		test_die("out of memory");
	snprintf(ctx->dir, sizeof(ctx->dir), "%s/sluice-fuzz-meta-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(ctx->dir))
		test_die("mkdtemp");
	m = &ctx->m;
	snprintf(m->cfg.data_dir, sizeof(m->cfg.data_dir), "%s", ctx->dir);
	snprintf(m->cfg.listen, sizeof(m->cfg.listen), "127.0.0.1:1");
	m->cfg.heartbeat_ms = 1000;
	m->cfg.down_after_ms = 3600u * 1000u;
	m->cfg.cap_ttl_s = 300;
	m->cfg.shard_size = 65536;
	m->cfg.replicas = 3;
	m->cfg.pending_expiry_s = 3600;
	m->cfg.tenant_principals_max = 1024;
	pthread_mutex_init(&m->mutate_lock, NULL);
	pthread_mutex_init(&m->servers_lock, NULL);
	pthread_mutex_init(&m->audit_lock, NULL);
	if (sl_keyring_init(&m->keys, secret, 1) || sl_catalog_open(ctx->dir, &m->cat) ||
	    sl_audit_open(m) || sl_meta_bootstrap(m) ||
	    sl_tenant_id(m, SL_SYSTEM_TENANT, &m->system_tenant))
		test_die("catalog");
	/* After RocksDB's own statics exist, so that the catalog closes before they go. */
	atexit(test_cleanup);

	ctx->admin = (Sluice__Principal)SLUICE__PRINCIPAL__INIT;
	ctx->admin.id = 1000;
	ctx->admin.tenant_id = m->system_tenant;
	ctx->owner_roles[0] = (char *)"admin";
	ctx->owner_roles[1] = (char *)"writer";
	ctx->owner_roles[2] = (char *)"reader";
	ctx->admin.roles = ctx->owner_roles;
	ctx->admin.n_roles = 1;
	ctx->callers[0].p = &ctx->admin;

	tc.name = (char *)"acme";
	if (test_call(0, &ctx->callers[0], &tc.base))
		test_die("tenant acme");
	tc.name = (char *)"globex";
	if (test_call(0, &ctx->callers[0], &tc.base))
		test_die("tenant globex");
	if (sl_tenant_id(m, "acme", &acme) || sl_tenant_id(m, "globex", &other))
		test_die("tenant ids");

	ctx->purposes[0] = (char *)"inference";
	ctx->owner = (Sluice__Principal)SLUICE__PRINCIPAL__INIT;
	ctx->owner.id = 2000;
	ctx->owner.tenant_id = acme;
	ctx->owner.name = (char *)"alice";
	ctx->owner.roles = ctx->owner_roles;
	ctx->owner.n_roles = 3;
	ctx->owner.purposes = ctx->purposes;
	ctx->owner.n_purposes = 1;
	ctx->owner.clearance = (char *)"confidential";
	ctx->callers[1].p = &ctx->owner;

	ctx->stranger = ctx->owner;
	ctx->stranger.id = 3000;
	ctx->stranger.tenant_id = other;
	ctx->stranger_roles[0] = (char *)"reader";
	ctx->stranger.roles = ctx->stranger_roles;
	ctx->stranger.n_roles = 1;
	ctx->callers[2].p = &ctx->stranger;
	ctx->callers[3].is_server = 1;

	ns.name = (char *)"data";
	if (test_call(4, &ctx->callers[1], &ns.base))
		test_die("namespace");
	/* Three data servers, up, so that puts get a placement. */
	for (uint32_t id = 1; id <= 3; id++) {
		Sluice__RegisterReq reg = SLUICE__REGISTER_REQ__INIT;
		Sluice__DataServer ds = SLUICE__DATA_SERVER__INIT;
		uint8_t addr[16] = { (uint8_t)id }, challenge[16] = { 0 };

		/* A data server registers itself only, signed with its own key. */
		ctx->callers[3].server_id = id;
		if (sl_keyring_for_server(&m->keys, id, &ctx->callers[3].server_keys))
			test_die("server keys");
		reg.challenge = (ProtobufCBinaryData){ sizeof(challenge), challenge };
		ds.id = id;
		ds.provider = (char *)"tcp;ofi_rxm";
		ds.label = (char *)"fuzz";
		ds.fabric_addr = (ProtobufCBinaryData){ sizeof(addr), addr };
		reg.server = &ds;
		if (test_call(13, &ctx->callers[3], &reg.base))
			test_die("register");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *req;
	unsigned rpc;

	if (!ctx)
		test_setup();
	if (size < 2)
		return 0;
	rpc = data[0] % TEST_N_RPCS;
	req = protobuf_c_message_unpack(sl_meta_rpc_find(rpc_types[rpc])->req, NULL, size - 2,
					  data + 2);
	if (!req)
		return 0;
	test_call(rpc, &ctx->callers[data[1] % 4], req);
	protobuf_c_message_free_unpacked(req, NULL);
	return 0;
}

/* Packs msg behind its RPC and caller bytes. */
static size_t test_seed_pack(uint8_t *buf, size_t cap, unsigned rpc, unsigned caller,
			     const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len + 2 > cap)
		return 0;
	buf[0] = (uint8_t)rpc;
	buf[1] = (uint8_t)caller;
	protobuf_c_message_pack(msg, buf + 2);
	return len + 2;
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	Sluice__Tag cls = SLUICE__TAG__INIT, *tags[] = { &cls };
	Sluice__PutBeginReq put = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__ObjectRef ref = SLUICE__OBJECT_REF__INIT;
	Sluice__ListReq list = SLUICE__LIST_REQ__INIT;
	Sluice__GrantReq grant = SLUICE__GRANT_REQ__INIT;
	Sluice__SetTagsReq set = SLUICE__SET_TAGS_REQ__INIT;
	Sluice__PrincipalCreateReq pc = SLUICE__PRINCIPAL_CREATE_REQ__INIT;
	Sluice__PutCommitReq commit = SLUICE__PUT_COMMIT_REQ__INIT;
	Sluice__DeleteReq del = SLUICE__DELETE_REQ__INIT;
	Sluice__AuditListReq audit = SLUICE__AUDIT_LIST_REQ__INIT;
	Sluice__AuditVerifyReq verify = SLUICE__AUDIT_VERIFY_REQ__INIT;
	char *roles[] = { (char *)"reader" };

	cls.key = (char *)"classification";
	cls.value = (char *)"internal";
	switch (n) {
	case 0:
		put.ns = (char *)"data";
		put.name = (char *)"docs/a.txt";
		put.size = 200000;
		put.tags = tags;
		put.n_tags = 1;
		put.fabric_addr = (ProtobufCBinaryData){ 4, (uint8_t *)"addr" };
		return test_seed_pack(buf, cap, 6, 1, &put.base);
	case 1:
		ref.ns = (char *)"data";
		ref.name = (char *)"docs/a.txt";
		return test_seed_pack(buf, cap, 8, 2, &ref.base);
	case 2:
		list.ns = (char *)"data";
		list.prefix = (char *)"docs/";
		list.start_after = (char *)"a";
		list.limit = 3;
		return test_seed_pack(buf, cap, 9, 1, &list.base);
	case 3:
		grant.ns = (char *)"data";
		grant.name = (char *)"docs/a.txt";
		grant.purpose = (char *)"inference";
		grant.fabric_addr = (ProtobufCBinaryData){ 4, (uint8_t *)"addr" };
		return test_seed_pack(buf, cap, 10, 1, &grant.base);
	case 4:
		set.ns = (char *)"data";
		set.name = (char *)"docs/a.txt";
		set.set = tags;
		set.n_set = 1;
		return test_seed_pack(buf, cap, 11, 1, &set.base);
	case 5:
		pc.name = (char *)"bob";
		pc.roles = roles;
		pc.n_roles = 1;
		pc.clearance = (char *)"public";
		return test_seed_pack(buf, cap, 2, 1, &pc.base);
	case 6:
		commit.object_id = 12;
		return test_seed_pack(buf, cap, 7, 1, &commit.base);
	case 7:
	case 8:
		/* The owner's delete, then a stranger's of the same name. */
		del.ns = (char *)"data";
		del.name = (char *)"docs/a.txt";
		return test_seed_pack(buf, cap, 16, n == 7 ? 1 : 2, &del.base);
	case 9:
		/* A filtered page of the owner's log, then a walk of it from record 2. */
		audit.principal = (char *)"owner";
		audit.object = (char *)"data/docs/a.txt";
		audit.decision = (char *)"deny";
		audit.since_ms = 1;
		audit.until_ms = UINT64_MAX;
		return test_seed_pack(buf, cap, 15, 1, &audit.base);
	case 10:
		verify.after_seq = 2;
		return test_seed_pack(buf, cap, 17, 1, &verify.base);
	default:
		return 0;
	}
}
