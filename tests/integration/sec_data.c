/*
 * The data servers under attack: forged requests that name someone else's
 * return address, rewrites of stored shards, clients that hold request slots
 * and never let them finish, capabilities replayed from another endpoint.
 * Requests are built by hand on a fabric endpoint of the test's own, with
 * capabilities minted from the cluster key where a valid one is needed.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <rdma/fi_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capability.h"
#include "cluster.h"
#include "crc32c.h"
#include "fabric.h"
#include "frame.h"
#include "rawfab.h"
#include "rpc.h"
#include "rpc_client.h"
#include "sl_time.h"

static struct tcluster cl;
static sluice_session *s;
static char cred[400];

static void setup(void)
{
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "internal", cred, sizeof(cred));
	tc_ns(s, "data", 65536);
	cr_assert_eq(sluice_put(s, "data", "probe", "still here", 10, NULL, 0), 0, "%s",
		     sluice_last_error(s));
}

static void teardown(void)
{
	sluice_close(s);
	tc_stop(&cl);
}


static void still_serving(sluice_session *who)
{
	char buf[16];
	size_t got;

	cr_assert_eq(sluice_read(who, "data", "probe", 0, buf, sizeof(buf), &got), 0, "%s",
		     sluice_last_error(who));
	cr_assert_eq(got, 10);
	cr_assert(memcmp(buf, "still here", 10) == 0);
}

/* A capability for data server `server` (its own key), bound to r's endpoint. */
static void mint(const Sluice__Object *o, unsigned ops, const struct raw *r, uint32_t server,
		 uint8_t *out)
{
	struct sl_cap cap;

	raw_cap(o, ops, r, &cap);
	raw_mint(&cl, server, &cap, out);
}

/* ---- finding 6: no answer, insert or connect before the capability ------ */

Test(finding_06, forged_requests_make_no_connection_and_do_not_grow_the_peer_table,
     .init = setup, .fini = teardown, .timeout = 240)
{
	Sluice__ObjectPlan *plan = tc_stat_plan(&cl, cred, "data", "probe");
	struct sockaddr_in sin = { 0 };
	socklen_t sl = sizeof(sin);
	struct raw *r = calloc(1, sizeof(*r));
	uint8_t token[SL_CAP_LEN];
	int lfd, accepted = 0;

	/* A listener the forged return addresses all point at. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 64), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);

	raw_open(r, 65536);
	cr_assert_eq(r->fab.addr_len, sizeof(struct sockaddr_in), "tcp addresses are sockaddr_in");
	/* Forged: signed with a key that is not the cluster's. */
	{
		struct sl_keyring forged;
		struct sl_cap cap = { 0 };
		uint8_t secret[32];

		cr_assert_eq(sl_random_bytes(secret, sizeof(secret)), 0);
		cr_assert_eq(sl_keyring_init(&forged, secret, 1), 0);
		cap.ops = SL_CAP_OP_READ | SL_CAP_OP_WRITE;
		cap.tenant = plan->object->tenant_id;
		cap.object_id = plan->object->id;
		cap.shard_count = 1;
		cap.issued_ms = sl_now_ms();
		cap.expiry_ms = cap.issued_ms + 60000;
		cr_assert_eq(sl_cap_mint(&cap, &forged, token), 0);
	}
	for (int k = 0; k < 3 * SL_FABRIC_PEERS / 2; k++) {
		Sluice__ShardReadReq req = SLUICE__SHARD_READ_REQ__INIT;
		struct sockaddr_in forged = sin;
		const ProtobufCBinaryData *a = &plan->servers[k % plan->n_servers]->fabric_addr;

		/* Distinct addresses that all reach the listener: 127.0.x.y. */
		forged.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (uint32_t)k);
		req.capability = (ProtobufCBinaryData){ sizeof(token), token };
		req.object_id = plan->object->id;
		req.length = 10;
		req.buf_addr = sl_fabric_mr_raddr(&r->fab, &r->data_mr, r->data);
		req.buf_key = r->data_mr.key;
		req.reply_addr = (ProtobufCBinaryData){ sizeof(forged), (uint8_t *)&forged };
		raw_post(r, a, SL_RPC_SHARD_READ, &req.base, 1000 + (uint64_t)k);
		if (k % 32 == 31)
			raw_progress(r, NULL, 20);
	}
	for (uint64_t end = sl_mono_ms() + 3000; sl_mono_ms() < end;) {
		int c;

		raw_progress(r, NULL, 50);
		while ((c = accept(lfd, NULL, NULL)) >= 0) {
			accepted++;
			close(c);
		}
	}
	cr_assert_eq(accepted, 0, "forged requests made data servers connect %d times", accepted);
	/* A genuine request from the same endpoint is still served. */
	{
		Sluice__ShardReadReq req = SLUICE__SHARD_READ_REQ__INIT;
		uint32_t len = 0;
		int i;

		mint(plan->object, SL_CAP_OP_READ, r, plan->shards[0]->servers[0], token);
		req.capability = (ProtobufCBinaryData){ sizeof(token), token };
		req.object_id = plan->object->id;
		req.length = 10;
		req.buf_addr = sl_fabric_mr_raddr(&r->fab, &r->data_mr, r->data);
		req.buf_key = r->data_mr.key;
		req.reply_addr = (ProtobufCBinaryData){ r->fab.addr_len, r->fab.addr };
		i = raw_post(r, raw_server_addr(plan, plan->shards[0]->servers[0]),
			     SL_RPC_SHARD_READ, &req.base, 1);
		cr_assert_eq(raw_wait(r, i, 5000, &len), 0);
		cr_assert_eq(len, 10);
		cr_assert(memcmp(r->data, "still here", 10) == 0);
	}
	raw_close(r);
	free(r);
	close(lfd);
	sluice__object_plan__free_unpacked(plan, NULL);
	tc_wait_servers_up(&cl, 3);
	still_serving(s);
}

Test(finding_06, the_peer_table_is_bounded_and_evicts_the_least_recently_used_idle_peer)
{
	struct sl_fabric fab;
	struct sockaddr_in sin = { 0 };
	fi_addr_t first, again, fi;

	cr_assert_eq(sl_fabric_open(&fab, "tcp;ofi_rxm", NULL, NULL), 0);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(9);
	cr_assert_eq(sl_fabric_av_insert(&fab, &sin, sizeof(sin), &first), 0);
	sl_fabric_peer_hold(&fab, first);
	for (int k = 1; k < 4 * SL_FABRIC_PEERS; k++) {
		sin.sin_port = htons((uint16_t)(10000 + k));
		cr_assert_eq(sl_fabric_av_insert(&fab, &sin, sizeof(sin), &fi), 0, "insert %d", k);
		cr_assert_leq(sl_fabric_av_count(&fab), SL_FABRIC_PEERS);
	}
	/* The held peer survived every eviction. */
	sin.sin_port = htons(9);
	cr_assert_eq(sl_fabric_av_insert(&fab, &sin, sizeof(sin), &again), 0);
	cr_assert_eq(again, first);
	sl_fabric_peer_put(&fab, first);
	sl_fabric_close(&fab);
}

/* ---- finding 7: shards are write-once; block digests ------------------- */

Test(finding_07, a_stored_shard_refuses_a_second_write_with_a_valid_capability,
     .init = setup, .fini = teardown, .timeout = 240)
{
	Sluice__ObjectPlan *plan = tc_stat_plan(&cl, cred, "data", "probe");
	const Sluice__Shard *sh = plan->shards[0];
	struct raw *r = calloc(1, sizeof(*r));
	uint8_t token[SL_CAP_LEN];

	raw_open(r, 65536);
	/* A write capability minted for this very object, still valid. */
	for (size_t k = 0; k < sh->n_servers; k++) {
		Sluice__ShardWriteReq w = SLUICE__SHARD_WRITE_REQ__INIT;
		Sluice__ShardReadReq q = SLUICE__SHARD_READ_REQ__INIT;
		const ProtobufCBinaryData *a = raw_server_addr(plan, sh->servers[k]);
		uint32_t len = 0;

		mint(plan->object, SL_CAP_OP_READ | SL_CAP_OP_WRITE, r, sh->servers[k], token);

		memcpy(r->data, "forged!!!!", 10);
		w.capability = (ProtobufCBinaryData){ sizeof(token), token };
		w.object_id = plan->object->id;
		w.index = 0;
		w.length = 10;
		w.crc32c = sl_crc32c(0, r->data, 10);
		w.buf_addr = sl_fabric_mr_raddr(&r->fab, &r->data_mr, r->data);
		w.buf_key = r->data_mr.key;
		w.reply_addr = (ProtobufCBinaryData){ r->fab.addr_len, r->fab.addr };
		cr_assert_eq(raw_wait(r, raw_post(r, a, SL_RPC_SHARD_WRITE, &w.base, 10 + k), 5000,
				      NULL), -EEXIST, "server %u took a rewrite", sh->servers[k]);
		/* The replica still holds what was committed. */
		memset(r->data, 0, 16);
		q.capability = w.capability;
		q.object_id = plan->object->id;
		q.length = 10;
		q.buf_addr = w.buf_addr;
		q.buf_key = w.buf_key;
		q.reply_addr = w.reply_addr;
		cr_assert_eq(raw_wait(r, raw_post(r, a, SL_RPC_SHARD_READ, &q.base, 20 + k), 5000,
				      &len), 0);
		cr_assert_eq(len, 10);
		cr_assert(memcmp(r->data, "still here", 10) == 0, "server %u: replica changed",
			  sh->servers[k]);
	}
	raw_close(r);
	free(r);
	sluice__object_plan__free_unpacked(plan, NULL);
	still_serving(s);
}

Test(finding_07, a_digests_read_returns_the_block_digest_list, .init = setup,
     .fini = teardown, .timeout = 240)
{
	const size_t size = 5 * 65536 + 1234; /* six blocks, the last one short */
	uint8_t *bytes = malloc(size), token[SL_CAP_LEN];
	struct raw *r = calloc(1, sizeof(*r));
	Sluice__ObjectPlan *plan;
	Sluice__ShardReadReq q = SLUICE__SHARD_READ_REQ__INIT;
	uint32_t len = 0;

	tc_ns(s, "big", 1 << 20);
	tc_fill(bytes, size, 7);
	cr_assert_eq(sluice_put(s, "big", "six-blocks", bytes, size, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	plan = tc_stat_plan(&cl, cred, "big", "six-blocks");
	cr_assert_eq(plan->n_shards, 1);
	raw_open(r, 65536);
	q.capability = (ProtobufCBinaryData){ sizeof(token), token };
	q.object_id = plan->object->id;
	q.digests = 1;
	q.buf_addr = sl_fabric_mr_raddr(&r->fab, &r->data_mr, r->data);
	q.buf_key = r->data_mr.key;
	q.reply_addr = (ProtobufCBinaryData){ r->fab.addr_len, r->fab.addr };
	for (size_t k = 0; k < plan->shards[0]->n_servers; k++) {
		const ProtobufCBinaryData *a = raw_server_addr(plan, plan->shards[0]->servers[k]);

		mint(plan->object, SL_CAP_OP_READ, r, plan->shards[0]->servers[k], token);

		/* Too small a buffer for six digests. */
		q.length = 5 * 32;
		cr_assert_eq(raw_wait(r, raw_post(r, a, SL_RPC_SHARD_READ, &q.base, 30 + k), 5000,
				      NULL), -ERANGE);
		memset(r->data, 0, 4096);
		q.length = 4096;
		cr_assert_eq(raw_wait(r, raw_post(r, a, SL_RPC_SHARD_READ, &q.base, 40 + k), 5000,
				      &len), 0);
		cr_assert_eq(len, 6 * 32);
		for (size_t b = 0; b < 6; b++) {
			size_t n = b < 5 ? 65536 : 1234;
			uint8_t want[32];

			cr_assert(EVP_Digest(bytes + b * 65536, n, want, NULL, EVP_sha256(), NULL));
			cr_assert(memcmp(r->data + b * 32, want, 32) == 0, "block %zu", b);
		}
		/* Nothing past the list was written. */
		cr_assert_eq(r->data[6 * 32], 0);
	}
	raw_close(r);
	free(r);
	free(bytes);
	sluice__object_plan__free_unpacked(plan, NULL);
}

/* ---- finding 2: no client holds request slots for ever ------------------ */

static void setup_short_slots(void)
{
	/* Every child server inherits it: stalled requests end after 2 s. */
	setenv("SLUICE_DATA_SLOT_TIMEOUT_MS", "2000", 1);
	setup();
}

/* 1 when some data server's log has needle. */
static int data_logs_have(const char *needle)
{
	for (int i = 0; i < cl.n_data; i++) {
		char path[400], line[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/data%d.log", cl.dir, i + 1);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (strstr(line, needle)) {
				fclose(f);
				return 1;
			}
		fclose(f);
	}
	return 0;
}

Test(finding_02, a_client_that_stalls_its_writes_does_not_stop_another_tenant,
     .init = setup_short_slots, .fini = teardown, .timeout = 240)
{
	const size_t size = 200 * 1024;
	char evil_cred[400];
	sluice_session *evil = tc_principal(&cl, "evil", "mallory", "internal", evil_cred,
					    sizeof(evil_cred));
	Sluice__ObjectPlan *plan;
	struct raw *r = calloc(1, sizeof(*r));
	uint8_t token[SL_CAP_LEN], *bytes = malloc(size), *back = malloc(size);
	Sluice__Object fake;
	uint64_t t0;
	size_t got;

	tc_ns(evil, "data", 65536);
	cr_assert_eq(sluice_put(evil, "data", "mine", "x", 1, NULL, 0), 0);
	plan = tc_stat_plan(&cl, evil_cred, "data", "mine");
	raw_open(r, 1 << 20);
	/* Valid write capabilities of tenant evil for shards never stored: every
	 * data server pulls from our buffer, and we never let a pull finish. */
	fake = *plan->object;
	fake.id = plan->object->id + 1000;
	fake.shard_count = 64;
	for (uint32_t k = 0; k < 16; k++)
		for (size_t srv = 0; srv < plan->n_servers; srv++) {
			Sluice__ShardWriteReq w = SLUICE__SHARD_WRITE_REQ__INIT;

			mint(&fake, SL_CAP_OP_WRITE, r, plan->servers[srv]->id, token);

			w.capability = (ProtobufCBinaryData){ sizeof(token), token };
			w.object_id = fake.id;
			w.index = k;
			w.length = 65536;
			w.crc32c = sl_crc32c(0, r->data, 65536);
			w.buf_addr = sl_fabric_mr_raddr(&r->fab, &r->data_mr, r->data);
			w.buf_key = r->data_mr.key;
			w.reply_addr = (ProtobufCBinaryData){ r->fab.addr_len, r->fab.addr };
			raw_post(r, &plan->servers[srv]->fabric_addr, SL_RPC_SHARD_WRITE, &w.base,
				 100 + k * 8 + srv);
		}
	/* From here on the attacker's endpoint makes no progress at all. */

	tc_fill(bytes, size, 3);
	t0 = sl_mono_ms();
	cr_assert_eq(sluice_put(s, "data", "victim", bytes, size, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	cr_assert_eq(sluice_read(s, "data", "victim", 0, back, size, &got), 0, "%s",
		     sluice_last_error(s));
	cr_assert_eq(got, size);
	cr_assert(memcmp(back, bytes, size) == 0);
	cr_assert_lt(sl_mono_ms() - t0, 8000, "the other tenant waited %llu ms",
		     (unsigned long long)(sl_mono_ms() - t0));
	/* The stalled requests were aborted, not left to hold their slots. */
	for (uint64_t end = sl_mono_ms() + 6000; sl_mono_ms() < end;) {
		if (data_logs_have("aborted, its peer dropped"))
			break;
		usleep(100 * 1000);
	}
	cr_assert(data_logs_have("aborted, its peer dropped"));
	still_serving(s);
	raw_close(r);
	free(r);
	free(bytes);
	free(back);
	sluice__object_plan__free_unpacked(plan, NULL);
	sluice_close(evil);
}

/* ---- finding 13: a capability answers only the endpoint it was granted to */

Test(finding_13, a_capability_replayed_from_another_endpoint_is_refused, .init = setup,
     .fini = teardown, .timeout = 240)
{
	Sluice__ObjectPlan *plan = tc_stat_plan(&cl, cred, "data", "probe");
	const ProtobufCBinaryData *srv = raw_server_addr(plan, plan->shards[0]->servers[0]);
	struct raw *owner = calloc(1, sizeof(*owner)), *thief = calloc(1, sizeof(*thief));
	Sluice__ShardReadReq q = SLUICE__SHARD_READ_REQ__INIT;
	uint8_t token[SL_CAP_LEN];
	uint32_t len = 0;

	raw_open(owner, 65536);
	raw_open(thief, 65536);
	/* Granted to the owner's endpoint. */
	mint(plan->object, SL_CAP_OP_READ, owner, plan->shards[0]->servers[0], token);
	q.capability = (ProtobufCBinaryData){ sizeof(token), token };
	q.object_id = plan->object->id;
	q.length = 10;

	/* The thief replays it with its own return address: no answer, no bytes. */
	q.buf_addr = sl_fabric_mr_raddr(&thief->fab, &thief->data_mr, thief->data);
	q.buf_key = thief->data_mr.key;
	q.reply_addr = (ProtobufCBinaryData){ thief->fab.addr_len, thief->fab.addr };
	cr_assert_eq(raw_wait(thief, raw_post(thief, srv, SL_RPC_SHARD_READ, &q.base, 1), 3000,
			      NULL), -ETIMEDOUT);
	/* ...or naming the owner's address: the bytes would go to the owner's
	 * endpoint, never to the thief's buffer. */
	q.reply_addr = (ProtobufCBinaryData){ owner->fab.addr_len, owner->fab.addr };
	cr_assert_eq(raw_wait(thief, raw_post(thief, srv, SL_RPC_SHARD_READ, &q.base, 2), 3000,
			      NULL), -ETIMEDOUT);
	for (size_t i = 0; i < 65536; i++)
		cr_assert_eq(thief->data[i], 0, "bytes landed in the thief's buffer");

	/* A token bound to no endpoint at all is refused too. */
	{
		struct sl_keyring kr;
		struct sl_cap cap = { 0 };
		uint8_t unbound[SL_CAP_LEN];

		cr_assert_eq(sl_keyring_load(&kr, cl.server_key[plan->shards[0]->servers[0] - 1], 1),
			     0);
		cap.ops = SL_CAP_OP_READ;
		cap.tenant = plan->object->tenant_id;
		cap.object_id = plan->object->id;
		cap.shard_count = plan->object->shard_count;
		cap.issued_ms = sl_now_ms();
		cap.expiry_ms = cap.issued_ms + 60000;
		cr_assert_eq(sl_cap_mint(&cap, &kr, unbound), 0);
		q.capability = (ProtobufCBinaryData){ sizeof(unbound), unbound };
		q.buf_addr = sl_fabric_mr_raddr(&owner->fab, &owner->data_mr, owner->data);
		q.buf_key = owner->data_mr.key;
		cr_assert_eq(raw_wait(owner, raw_post(owner, srv, SL_RPC_SHARD_READ, &q.base, 3),
				      3000, NULL), -ETIMEDOUT);
	}
	/* The owner, from its own endpoint, is served. */
	q.capability = (ProtobufCBinaryData){ sizeof(token), token };
	cr_assert_eq(raw_wait(owner, raw_post(owner, srv, SL_RPC_SHARD_READ, &q.base, 4), 5000,
			      &len), 0);
	cr_assert_eq(len, 10);
	cr_assert(memcmp(owner->data, "still here", 10) == 0);
	raw_close(thief);
	raw_close(owner);
	free(thief);
	free(owner);
	sluice__object_plan__free_unpacked(plan, NULL);
	/* sluice-meta grants nothing without the endpoint to bind it to. */
	{
		Sluice__GrantReq g = SLUICE__GRANT_REQ__INIT;
		Sluice__PutBeginReq b = SLUICE__PUT_BEGIN_REQ__INIT;
		Sluice__ObjectPlan *p = NULL;
		struct sl_rpc_client rpc;
		char key_id[64];
		uint8_t secret[32];

		tc_cred_key(cred, key_id, secret);
		sl_rpc_client_init(&rpc, cl.meta_addr, key_id, secret, 5000);
		tc_rpc_ca(&cl, &rpc);
		g.ns = (char *)"data";
		g.name = (char *)"probe";
		g.purpose = (char *)"inference";
		cr_assert_eq(sl_rpc_call(&rpc, SL_RPC_GRANT, &g.base, &sluice__object_plan__descriptor,
					 (ProtobufCMessage **)&p), -EINVAL);
		b.ns = (char *)"data";
		b.name = (char *)"unbound";
		b.size = 10;
		cr_assert_eq(sl_rpc_call(&rpc, SL_RPC_PUT_BEGIN, &b.base,
					 &sluice__object_plan__descriptor, (ProtobufCMessage **)&p),
			     -EINVAL);
		sl_rpc_client_close(&rpc);
	}
	/* The real client sends its address with GRANT and PUT_BEGIN. */
	cr_assert_eq(sluice_put(s, "data", "bound", "bound", 5, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	still_serving(s);
}

/* ---- finding 15: fabric errors reach callers as errno values ------------ */

Test(finding_15, fabric_errors_map_to_errno_values)
{
	cr_assert_eq(sl_fabric_errno(0), 0);
	cr_assert_eq(sl_fabric_errno(5), 0);
	cr_assert_eq(sl_fabric_errno(-FI_EAGAIN), -EAGAIN);
	cr_assert_eq(sl_fabric_errno(-FI_ECANCELED), -ECANCELED);
	cr_assert_eq(sl_fabric_errno(-FI_ETRUNC), -EMSGSIZE);
	cr_assert_eq(sl_fabric_errno(-FI_ENOKEY), -ENOKEY);
	cr_assert_eq(sl_fabric_errno(-FI_ECRC), -EBADMSG);
	/* Every libfabric error, known or not, lands in the errno range. */
	for (int e = 1; e < FI_ERRNO_MAX + 50; e++) {
		int m = sl_fabric_errno(-e);

		cr_assert(m < 0 && m > -256, "-%d maps to %d", e, m);
	}
}
