/*
 * Hostile input at the servers' doors: malformed, truncated, oversized and
 * unauthenticated frames to sluice-meta over TLS, garbage messages to
 * sluice-data over the fabric, replayed requests. The servers must refuse or
 * drop them and keep serving everyone else.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "fabric.h"
#include "frame.h"
#include "net.h"
#include "reqsign.h"
#include "rpc.h"
#include "sl_time.h"

static struct tcluster cl;
static sluice_session *s;
static char cred[400];

static void setup(void)
{
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "internal", cred, sizeof(cred));
	tc_ns(s, "data", 65536);
	cr_assert_eq(sluice_put(s, "data", "probe", "still here", 10, NULL, 0), 0);
}

static void teardown(void)
{
	sluice_close(s);
	tc_stop(&cl);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 180);

static void still_serving(void)
{
	char buf[16];
	size_t got;

	cr_assert_eq(sluice_read(s, "data", "probe", 0, buf, sizeof(buf), &got), 0, "%s",
		     sluice_last_error(s));
	cr_assert_eq(got, 10);
	cr_assert(memcmp(buf, "still here", 10) == 0);
}

/* Sends raw bytes on a fresh TLS connection; returns 1 when the server closed
 * it (or answered and closed) within two seconds. */
static int send_raw(const void *buf, size_t len)
{
	struct sl_conn conn;
	uint8_t sink[4096];
	int closed = 0;

	tc_meta_tls(&cl, &conn);
	if (len)
		cr_assert_eq(sl_conn_write_full(&conn, buf, len, sl_mono_ms() + 2000), 0);
	for (uint64_t end = sl_mono_ms() + 2000; sl_mono_ms() < end;) {
		int rc = sl_conn_read_full(&conn, sink, 1, sl_mono_ms() + 100);

		if (rc && rc != -ETIMEDOUT) {
			closed = 1;
			break;
		}
	}
	sl_conn_close(&conn);
	return closed;
}

static void header(uint8_t *out, uint32_t magic, uint8_t version, uint16_t type, uint32_t len)
{
	uint32_t m = htobe32(magic), l = htobe32(len);
	uint16_t t = htobe16(type);

	memset(out, 0, SL_FRAME_HDR_LEN);
	memcpy(out, &m, 4);
	out[4] = version;
	memcpy(out + 6, &t, 2);
	memcpy(out + 8, &l, 4);
}

Test(hostile, malformed_frames_to_meta_are_refused)
{
	uint8_t h[SL_FRAME_HDR_LEN + 64];

	header(h, 0xdeadbeef, 1, SL_RPC_STAT, 0);
	cr_assert(send_raw(h, SL_FRAME_HDR_LEN), "bad magic kept the connection open");
	header(h, SL_FRAME_MAGIC, 9, SL_RPC_STAT, 0);
	cr_assert(send_raw(h, SL_FRAME_HDR_LEN), "unknown version kept the connection open");
	{
		/* ...after saying why. */
		struct sl_conn conn;
		struct sl_frame_hdr rh;
		uint8_t *payload = NULL;
		Sluice__Reply *r;

		tc_meta_tls(&cl, &conn);
		cr_assert_eq(sl_conn_write_full(&conn, h, SL_FRAME_HDR_LEN, sl_mono_ms() + 2000), 0);
		cr_assert_eq(sl_frame_recv(&conn, &rh, &payload, SL_FRAME_MAX, sl_mono_ms() + 2000), 0);
		r = sluice__reply__unpack(NULL, rh.length, payload);
		cr_assert(r);
		cr_assert_eq(r->err, -EPROTONOSUPPORT);
		cr_assert(strstr(r->msg, "unsupported protocol version"), "%s", r->msg);
		sluice__reply__free_unpacked(r, NULL);
		free(payload);
		sl_conn_close(&conn);
	}
	/* 4 GiB announced: refused before any allocation. */
	header(h, SL_FRAME_MAGIC, 1, SL_RPC_STAT, 0xffffffffu);
	cr_assert(send_raw(h, SL_FRAME_HDR_LEN));
	header(h, SL_FRAME_MAGIC, 1, SL_RPC_STAT, SL_FRAME_MAX + 1);
	cr_assert(send_raw(h, SL_FRAME_HDR_LEN));
	/* A valid header, garbage for a body: a refusal, then the server hangs up. */
	header(h, SL_FRAME_MAGIC, 1, SL_RPC_STAT, 64);
	for (int i = 0; i < 64; i++)
		h[SL_FRAME_HDR_LEN + i] = (uint8_t)(i * 37 + 11);
	cr_assert(send_raw(h, sizeof(h)));
	/* Half a header, then silence and close. */
	send_raw(h, 7);
	/* An unknown request type. */
	header(h, SL_FRAME_MAGIC, 1, 0x7777, 0);
	cr_assert(send_raw(h, SL_FRAME_HDR_LEN));
	still_serving();
}

/* Sends one signed STAT with the given timestamp and nonce; returns the reply's err. */
static int signed_stat(struct sl_conn *conn, uint64_t ts, const uint8_t nonce[16], uint64_t id)
{
	char key_id[64];
	uint8_t secret[32], mac[32], body[256], env_buf[512], *reply = NULL;
	Sluice__ObjectRef ref = SLUICE__OBJECT_REF__INIT;
	Sluice__Signed env = SLUICE__SIGNED__INIT;
	Sluice__Reply *r;
	struct sl_frame_hdr h;
	size_t blen, elen;
	int err;

	tc_cred_key(cred, key_id, secret);
	ref.ns = (char *)"data";
	ref.name = (char *)"probe";
	ref.purpose = (char *)"inference";
	blen = sluice__object_ref__pack(&ref, body);
	cr_assert_eq(sl_reqsign_mac(secret, 32, SL_RPC_STAT, id, ts, nonce, key_id, body, blen,
				    mac), 0);
	env.key_id = key_id;
	env.timestamp_ms = ts;
	env.nonce = (ProtobufCBinaryData){ 16, (uint8_t *)nonce };
	env.mac = (ProtobufCBinaryData){ 32, mac };
	env.body = (ProtobufCBinaryData){ blen, body };
	elen = sluice__signed__pack(&env, env_buf);
	cr_assert_eq(sl_frame_send(conn, SL_RPC_STAT, id, env_buf, elen, sl_mono_ms() + 2000), 0);
	cr_assert_eq(sl_frame_recv(conn, &h, &reply, SL_FRAME_MAX, sl_mono_ms() + 2000), 0);
	r = sluice__reply__unpack(NULL, h.length, reply);
	cr_assert(r);
	err = r->err;
	sluice__reply__free_unpacked(r, NULL);
	free(reply);
	return err;
}

Test(hostile, replayed_and_stale_requests_are_refused)
{
	struct sl_conn conn;
	uint8_t nonce[16];
	uint64_t now = sl_now_ms();

	/* A refusal ends its connection: each refused request gets a fresh one. */
	tc_meta_tls(&cl, &conn);
	sl_random_bytes(nonce, sizeof(nonce));
	cr_assert_eq(signed_stat(&conn, now, nonce, 1), 0, "a correctly signed request failed");
	/* The very same request again: a replay. */
	cr_assert_eq(signed_stat(&conn, now, nonce, 1), -EACCES);
	sl_conn_close(&conn);
	/* A fresh nonce but a timestamp from an hour ago, and one from the future. */
	tc_meta_tls(&cl, &conn);
	sl_random_bytes(nonce, sizeof(nonce));
	cr_assert_eq(signed_stat(&conn, now - 3600 * 1000, nonce, 2), -EACCES);
	sl_conn_close(&conn);
	tc_meta_tls(&cl, &conn);
	sl_random_bytes(nonce, sizeof(nonce));
	cr_assert_eq(signed_stat(&conn, now + 3600 * 1000, nonce, 3), -EACCES);
	sl_conn_close(&conn);
	still_serving();
}

struct op {
	struct fi_context2 ctx;
	int done;
};

Test(hostile, garbage_to_data_servers_is_dropped)
{
	Sluice__ObjectPlan *plan = tc_stat_plan(&cl, cred, "data", "probe");
	Sluice__ShardReadReq req = SLUICE__SHARD_READ_REQ__INIT;
	struct sl_frame_hdr h = { .type = SL_RPC_SHARD_READ, .req_id = 7 };
	static const size_t sizes[] = { 1, 19, 20, 21, 100, 2047, 2048, 2049, 4000 };
	struct sl_fabric fab;
	struct sl_fabric_mr mr;
	struct op ops[64] = { 0 };
	uint8_t *msg = NULL;
	int n_ops = 0;

	cr_assert_eq(posix_memalign((void **)&msg, 4096, 64 * 4096), 0);
	cr_assert_eq(sl_fabric_open(&fab, "tcp;ofi_rxm", NULL, NULL), 0);
	cr_assert_eq(sl_fabric_mr_reg(&fab, msg, 64 * 4096, FI_SEND | FI_RECV, &mr), 0);
	for (size_t srv = 0; srv < plan->n_servers; srv++) {
		const ProtobufCBinaryData *a = &plan->servers[srv]->fabric_addr;
		fi_addr_t dest;
		uint8_t *m;

		cr_assert_eq(sl_fabric_av_insert(&fab, a->data, a->len, &dest), 0);
		/* Random bytes of every awkward size, some larger than a request slot. */
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			m = msg + (size_t)n_ops * 4096;
			for (size_t b = 0; b < sizes[i]; b++)
				m[b] = (uint8_t)(b * 131 + i * 17 + srv);
			cr_assert_eq(sl_fabric_tsend(&fab, m, sizes[i], mr.desc, dest, SL_TAG_REQUEST,
						     &ops[n_ops++], sl_mono_ms() + 5000), 0);
		}
		/* A valid frame around protobuf garbage, and a request with no return
		 * address: nothing to answer, nothing to crash on. */
		m = msg + (size_t)n_ops * 4096;
		h.length = 50;
		sl_frame_hdr_encode(&h, m);
		memset(m + SL_FRAME_HDR_LEN, 0xff, 50);
		cr_assert_eq(sl_fabric_tsend(&fab, m, SL_FRAME_HDR_LEN + 50, mr.desc, dest,
					     SL_TAG_REQUEST, &ops[n_ops++], sl_mono_ms() + 5000), 0);
		m = msg + (size_t)n_ops * 4096;
		req.object_id = plan->object->id;
		req.offset = 0xffffffffu;
		req.length = 0xffffffffu;
		h.length = (uint32_t)sluice__shard_read_req__get_packed_size(&req);
		sl_frame_hdr_encode(&h, m);
		sluice__shard_read_req__pack(&req, m + SL_FRAME_HDR_LEN);
		cr_assert_eq(sl_fabric_tsend(&fab, m, SL_FRAME_HDR_LEN + h.length, mr.desc, dest,
					     SL_TAG_REQUEST, &ops[n_ops++], sl_mono_ms() + 5000), 0);
	}
	for (uint64_t end = sl_mono_ms() + 5000; sl_mono_ms() < end;) {
		struct sl_fabric_event ev[16];
		int got = sl_fabric_poll(&fab, ev, 16, 100), done = 0;

		for (int i = 0; i < got; i++)
			((struct op *)ev[i].ctx)->done = 1;
		for (int i = 0; i < n_ops; i++)
			done += ops[i].done;
		if (done == n_ops)
			break;
	}
	sl_fabric_mr_close(&mr);
	sl_fabric_close(&fab);
	free(msg);
	sluice__object_plan__free_unpacked(plan, NULL);
	/* Every data server must still be up and serving. */
	tc_wait_servers_up(&cl, 3);
	still_serving();
	for (int i = 0; i < 3; i++)
		cr_assert_eq(kill(cl.data_pid[i], 0), 0, "sluice-data %d died", i + 1);
}
