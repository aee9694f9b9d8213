/*
 * Governed access end to end: tenant isolation (a foreign object answers
 * exactly like a missing one), purpose and clearance rules at sluice-meta,
 * and capability checks at sluice-data: forged, tampered, expired,
 * other-tenant and wrong-operation capabilities all get the same refusal,
 * which is no answer at all.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "cluster.h"
#include "fabric.h"
#include "frame.h"
#include "rpc.h"
#include "sl_time.h"

static struct tcluster cl;
static sluice_session *alice, *bob;
static char alice_cred[400], bob_cred[400];

static void setup(void)
{
	tc_start(&cl, 3);
	alice = tc_principal(&cl, "acme", "alice", "confidential", alice_cred, sizeof(alice_cred));
	bob = tc_principal(&cl, "globex", "bob", "restricted", bob_cred, sizeof(bob_cred));
	tc_ns(alice, "datasets", 65536);
	tc_ns(bob, "datasets", 65536);
}

static void teardown(void)
{
	sluice_close(alice);
	sluice_close(bob);
	tc_stop(&cl);
}

TestSuite(governance, .init = setup, .fini = teardown, .timeout = 180);

Test(governance, cross_tenant_read_answers_like_a_missing_object)
{
	char buf[16], err_foreign[512], err_missing[512];
	struct sluice_object *o = NULL;
	size_t got;
	int rc_foreign, rc_missing;

	cr_assert_eq(sluice_put(alice, "datasets", "secret.txt", "acme-only", 9, NULL, 0), 0);
	rc_foreign = sluice_read(bob, "datasets", "secret.txt", 0, buf, sizeof(buf), &got);
	snprintf(err_foreign, sizeof(err_foreign), "%s", sluice_last_error(bob));
	rc_missing = sluice_read(bob, "datasets", "never-was.txt", 0, buf, sizeof(buf), &got);
	snprintf(err_missing, sizeof(err_missing), "%s", sluice_last_error(bob));
	cr_assert_eq(rc_foreign, -ENOENT);
	cr_assert_eq(rc_missing, -ENOENT);
	/* Same words, only the name asked for differs. */
	cr_assert_str_eq(err_foreign, "no such object: datasets/secret.txt");
	cr_assert_str_eq(err_missing, "no such object: datasets/never-was.txt");
	cr_assert_eq(sluice_stat(bob, "datasets", "secret.txt", &o), -ENOENT);

	struct sluice_object **list;
	size_t n;
	cr_assert_eq(sluice_list(bob, "datasets", "", NULL, 0, &list, &n, NULL), 0);
	cr_assert_eq(n, 0, "globex sees acme's objects in a listing");
	sluice_list_free(list, n);
	/* The owner still reads it. */
	cr_assert_eq(sluice_read(alice, "datasets", "secret.txt", 0, buf, sizeof(buf), &got), 0);
	cr_assert_eq(got, 9);
}

Test(governance, clearance_and_purpose_are_enforced)
{
	const struct sluice_tag restricted[] = { { "classification", "restricted" } };
	sluice_session *trainer = NULL;
	char buf[8];
	size_t got;

	cr_assert_eq(sluice_put(alice, "datasets", "r.bin", "rrrr", 4, restricted, 1), 0);
	cr_assert_eq(sluice_read(alice, "datasets", "r.bin", 0, buf, 4, &got), -EACCES);
	cr_assert(strstr(sluice_last_error(alice), "access denied"));
	cr_assert_eq(sluice_put(alice, "datasets", "ok.bin", "oooo", 4, NULL, 0), 0);
	cr_assert_eq(sluice_read(alice, "datasets", "ok.bin", 0, buf, 4, &got), 0);

	/* alice may not declare "marketing". */
	cr_assert_eq(sluice_open_file(alice_cred, NULL, "marketing", &trainer), 0);
	cr_assert_eq(sluice_read(trainer, "datasets", "ok.bin", 0, buf, 4, &got), -EACCES);
	sluice_close(trainer);
	cr_assert_eq(sluice_open_file(alice_cred, NULL, "training", &trainer), 0);
	cr_assert_eq(sluice_read(trainer, "datasets", "ok.bin", 0, buf, 4, &got), 0);
	sluice_close(trainer);
}

Test(governance, wrong_key_is_refused)
{
	char path[400];
	sluice_session *s = NULL;
	struct sluice_object *o = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/wrong.cred", cl.dir);
	f = fopen(path, "w");
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = SK0000000000000000\nsecret = %064d\nca_file = %s\n",
		cl.meta_addr, 0, cl.ca_file);
	fclose(f);
	cr_assert_eq(sluice_open_file(path, NULL, "inference", &s), 0);
	cr_assert_eq(sluice_stat(s, "datasets", "x", &o), -EACCES);
	cr_assert_str_eq(sluice_last_error(s), "authentication failed");
	sluice_close(s);
}

/* ---- raw data-plane requests with hand-made capabilities ---------------- */

struct op {
	struct fi_context2 ctx;
	int done, err;
	size_t len;
};

/* The endpoint the raw requests come from, open during the test that uses it. */
static struct sl_fabric raw_fab;

/* Sends one ShardReadReq with token from raw_fab to the first replica of
 * shard 0; returns the data server's answer and whether any byte landed in
 * our buffer. */
static int raw_read(const Sluice__ObjectPlan *plan, const uint8_t *token, size_t token_len,
		    uint64_t object_id, int *touched)
{
	struct sl_fabric *f = &raw_fab;
	struct sl_fabric_mr mr, msg_mr;
	uint8_t *data = calloc(1, 65536), *msg = calloc(1, 4096);
	Sluice__ShardReadReq req = SLUICE__SHARD_READ_REQ__INIT;
	struct sl_frame_hdr h = { .type = SL_RPC_SHARD_READ, .req_id = 4242 };
	struct op send_op = { 0 }, recv_op = { 0 };
	const Sluice__DataServer *srv = plan->servers[0];
	fi_addr_t dest;
	uint64_t deadline = sl_mono_ms() + 3000;
	int rc;

	cr_assert_eq(sl_fabric_mr_reg(f, data, 65536, FI_REMOTE_WRITE, &mr), 0);
	cr_assert_eq(sl_fabric_mr_reg(f, msg, 4096, FI_SEND | FI_RECV, &msg_mr), 0);
	cr_assert_eq(sl_fabric_av_insert(f, srv->fabric_addr.data, srv->fabric_addr.len, &dest), 0);
	req.capability = (ProtobufCBinaryData){ token_len, (uint8_t *)token };
	req.object_id = object_id;
	req.index = 0;
	req.offset = 0;
	req.length = plan->shards[0]->length;
	req.buf_addr = sl_fabric_mr_raddr(f, &mr, data);
	req.buf_key = mr.key;
	req.reply_addr = (ProtobufCBinaryData){ f->addr_len, f->addr };
	h.length = (uint32_t)sluice__shard_read_req__get_packed_size(&req);
	sl_frame_hdr_encode(&h, msg);
	sluice__shard_read_req__pack(&req, msg + SL_FRAME_HDR_LEN);
	cr_assert_eq(sl_fabric_trecv(f, msg + 2048, 2048, msg_mr.desc, 4242, 0, &recv_op,
				     deadline), 0);
	cr_assert_eq(sl_fabric_tsend(f, msg, SL_FRAME_HDR_LEN + h.length, msg_mr.desc, dest,
				     SL_TAG_REQUEST, &send_op, deadline), 0);
	while (!(send_op.done && recv_op.done) && sl_mono_ms() < deadline) {
		struct sl_fabric_event ev[4];
		int n = sl_fabric_poll(f, ev, 4, 100);

		for (int i = 0; i < n; i++) {
			struct op *o = ev[i].ctx;

			o->done = 1;
			o->err = ev[i].err;
			o->len = ev[i].len;
		}
	}
	/* A refused capability gets no answer at all. */
	if (!recv_op.done)
		rc = -ETIMEDOUT;
	else {
		const uint8_t *payload;
		struct sl_frame_hdr rh;
		Sluice__DataReply *r;

		cr_assert_eq(recv_op.err, 0);
		cr_assert_eq(sl_frame_parse(msg + 2048, recv_op.len, 2048, &rh, &payload), 0);
		r = sluice__data_reply__unpack(NULL, rh.length, payload);
		cr_assert(r);
		rc = r->err;
		sluice__data_reply__free_unpacked(r, NULL);
	}
	*touched = 0;
	for (size_t i = 0; i < 65536; i++)
		*touched |= data[i] != 0;
	if (!recv_op.done) {
		/* The receive must be gone before its buffer. */
		sl_fabric_cancel(f, &recv_op);
		for (uint64_t end = sl_mono_ms() + 2000; !recv_op.done && sl_mono_ms() < end;) {
			struct sl_fabric_event ev[4];
			int n = sl_fabric_poll(f, ev, 4, 100);

			for (int i = 0; i < n; i++)
				((struct op *)ev[i].ctx)->done = 1;
		}
	}
	sl_fabric_mr_close(&mr);
	sl_fabric_mr_close(&msg_mr);
	free(data);
	free(msg);
	return rc;
}

static void mint(const struct sl_keyring *kr, const Sluice__ObjectPlan *plan, uint64_t tenant,
		 uint64_t issued, uint64_t expiry, unsigned ops, uint8_t out[SL_CAP_LEN])
{
	struct sl_cap cap = { 0 };

	/* Bound to the test's endpoint, as sluice-meta binds to the client's. */
	cap.session = sl_cap_session(raw_fab.addr, raw_fab.addr_len);
	cap.ops = (uint8_t)ops;
	cap.tenant = tenant;
	cap.object_id = plan->object->id;
	cap.shard_count = plan->object->shard_count;
	cap.issued_ms = issued;
	cap.expiry_ms = expiry;
	memcpy(cap.purpose, "inference", 9);
	cr_assert_eq(sl_cap_mint(&cap, kr, out), 0);
}

Test(governance, data_servers_refuse_bad_capabilities_alike)
{
	uint8_t secret[32], token[SL_CAP_LEN], buf[16];
	struct sl_keyring real, forged;
	Sluice__ObjectPlan *plan, *bob_plan;
	uint64_t now = sl_now_ms(), tenant;
	size_t got;
	int touched, rc;

	cr_assert_eq(sluice_put(alice, "datasets", "cap-target", "governed bytes", 14, NULL, 0), 0);
	cr_assert_eq(sluice_put(bob, "datasets", "bobs", "bob's bytes", 11, NULL, 0), 0);
	plan = tc_stat_plan(&cl, alice_cred, "datasets", "cap-target");
	bob_plan = tc_stat_plan(&cl, bob_cred, "datasets", "bobs");
	tenant = plan->object->tenant_id;
	/* The key of the server raw_read talks to: each verifies only its own. */
	cr_assert_eq(sl_keyring_load(&real, cl.server_key[plan->servers[0]->id - 1], 1), 0);
	cr_assert_eq(sl_random_bytes(secret, sizeof(secret)), 0);
	cr_assert_eq(sl_keyring_init(&forged, secret, 1), 0);
	cr_assert_eq(sl_fabric_open(&raw_fab, "tcp;ofi_rxm", NULL, NULL), 0);

	/* A valid one works: the harness itself is sound. */
	mint(&real, plan, tenant, now, now + 60000, SL_CAP_OP_READ, token);
	cr_assert_eq(raw_read(plan, token, sizeof(token), plan->object->id, &touched), 0);
	cr_assert(touched);

	/* Forged: signed with a key that is not the cluster's. */
	mint(&forged, plan, tenant, now, now + 60000, SL_CAP_OP_READ, token);
	rc = raw_read(plan, token, sizeof(token), plan->object->id, &touched);
	cr_assert_eq(rc, -ETIMEDOUT);
	cr_assert_not(touched, "a forged capability moved bytes");

	/* Tampered: a real one with its object id changed after signing. */
	mint(&real, plan, tenant, now, now + 60000, SL_CAP_OP_READ, token);
	token[24] ^= 1;
	cr_assert_eq(raw_read(plan, token, sizeof(token), plan->object->id, &touched), -ETIMEDOUT);
	cr_assert_not(touched);

	/* Expired long ago, and not yet valid. */
	mint(&real, plan, tenant, now - 600000, now - 400000, SL_CAP_OP_READ, token);
	cr_assert_eq(raw_read(plan, token, sizeof(token), plan->object->id, &touched), -ETIMEDOUT);
	mint(&real, plan, tenant, now + 600000, now + 700000, SL_CAP_OP_READ, token);
	cr_assert_eq(raw_read(plan, token, sizeof(token), plan->object->id, &touched), -ETIMEDOUT);

	/* Truncated. */
	mint(&real, plan, tenant, now, now + 60000, SL_CAP_OP_READ, token);
	cr_assert_eq(raw_read(plan, token, sizeof(token) - 1, plan->object->id, &touched), -ETIMEDOUT);

	/* Write-only capability used for a read. */
	mint(&real, plan, tenant, now, now + 60000, SL_CAP_OP_WRITE, token);
	cr_assert_eq(raw_read(plan, token, sizeof(token), plan->object->id, &touched), -ETIMEDOUT);

	/* A genuine capability of tenant globex, aimed at acme's object. */
	mint(&real, bob_plan, bob_plan->object->tenant_id, now, now + 60000, SL_CAP_OP_READ, token);
	cr_assert_eq(raw_read(plan, token, sizeof(token), plan->object->id, &touched), -ETIMEDOUT);
	cr_assert_not(touched);

	/* globex's key naming acme's object id: the shard is not globex's. */
	{
		Sluice__Object fake = *bob_plan->object;
		Sluice__ObjectPlan p2 = *bob_plan;

		fake.id = plan->object->id;
		p2.object = &fake;
		mint(&real, &p2, bob_plan->object->tenant_id, now, now + 60000, SL_CAP_OP_READ,
		     token);
		rc = raw_read(plan, token, sizeof(token), plan->object->id, &touched);
		cr_assert_neq(rc, 0);
		cr_assert_not(touched, "another tenant's capability read acme's shard");
	}
	sl_fabric_close(&raw_fab);
	sluice__object_plan__free_unpacked(plan, NULL);
	sluice__object_plan__free_unpacked(bob_plan, NULL);
	/* And the normal path still works afterwards. */
	cr_assert_eq(sluice_read(alice, "datasets", "cap-target", 0, buf, sizeof(buf), &got), 0);
	cr_assert_eq(got, 14);
}

Test(governance, audit_log_records_decisions_per_tenant)
{
	const struct sluice_tag restricted[] = { { "classification", "restricted" } };
	struct sluice_audit_record *list;
	size_t n, got;
	char buf[8];
	int chain_ok = 0, denied = 0, allowed = 0, put = 0;

	cr_assert_eq(sluice_put(alice, "datasets", "open.txt", "open", 4, NULL, 0), 0);
	cr_assert_eq(sluice_put(alice, "datasets", "closed.txt", "shut", 4, restricted, 1), 0);
	cr_assert_eq(sluice_read(alice, "datasets", "open.txt", 0, buf, 4, &got), 0);
	cr_assert_eq(sluice_read(alice, "datasets", "closed.txt", 0, buf, 4, &got), -EACCES);

	cr_assert_eq(sluice_audit_list(alice, 0, 1000, &list, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(alice));
	cr_assert(chain_ok, "the audit hash chain is broken");
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].event, "read.grant") == 0 &&
		    strcmp(list[i].object, "datasets/closed.txt") == 0) {
			denied += strcmp(list[i].decision, "deny") == 0;
			/* Decided by the default policy set: clearance allows only up to alice's. */
			cr_assert_str_eq(list[i].reason, "no policy allows (epoch 0)");
			cr_assert_str_eq(list[i].purpose, "inference");
		}
		if (strcmp(list[i].event, "read.grant") == 0 &&
		    strcmp(list[i].object, "datasets/open.txt") == 0)
			allowed += strcmp(list[i].decision, "allow") == 0;
		put += strcmp(list[i].event, "object.put") == 0;
		if (i)
			cr_assert_gt(list[i].seq, list[i - 1].seq);
	}
	sluice_audit_free(list, n);
	cr_assert_eq(denied, 1);
	cr_assert_eq(allowed, 1);
	cr_assert_eq(put, 2);

	/* globex's admin sees none of acme's records. */
	cr_assert_eq(sluice_audit_list(bob, 0, 1000, &list, &n, &chain_ok, NULL), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_null(strstr(list[i].object, "open.txt"), "bob sees acme's record %llu",
			       (unsigned long long)list[i].seq);
	cr_assert(n > 0, "bob should see his own tenant's records");
	sluice_audit_free(list, n);
}
