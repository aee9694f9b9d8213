/*
 * Security regression tests of the audit log, request replay and the data
 * servers' keys (issue 5, findings 4, 5, 10, 11, 12, 15), against a real
 * cluster on 127.0.0.1.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "frame.h"
#include "net.h"
#include "reqsign.h"
#include "rpc.h"
#include "sl_time.h"

static struct tcluster cl;

static void setup(void)
{
	tc_start(&cl, 0);
}

static void teardown(void)
{
	tc_stop(&cl);
}

TestSuite(finding_04, .init = setup, .fini = teardown, .timeout = 180);

/*
 * Sends one STAT of data/probe signed with cred's key, with the given
 * timestamp, nonce and request id, on fd; returns the reply's err. The same
 * arguments give the very same bytes: a captured request.
 */
static int signed_stat(int fd, const char *cred, uint64_t ts, const uint8_t nonce[16], uint64_t id)
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
	blen = sluice__object_ref__pack(&ref, body);
	cr_assert_eq(sl_reqsign_mac(secret, 32, SL_RPC_STAT, id, ts, nonce, key_id, body, blen,
				    mac), 0);
	env.key_id = key_id;
	env.timestamp_ms = ts;
	env.nonce = (ProtobufCBinaryData){ 16, (uint8_t *)nonce };
	env.mac = (ProtobufCBinaryData){ 32, mac };
	env.body = (ProtobufCBinaryData){ blen, body };
	elen = sluice__signed__pack(&env, env_buf);
	cr_assert_eq(sl_frame_send(fd, SL_RPC_STAT, id, env_buf, elen, sl_mono_ms() + 5000), 0);
	cr_assert_eq(sl_frame_recv(fd, &h, &reply, sl_mono_ms() + 5000), 0);
	r = sluice__reply__unpack(NULL, h.length, reply);
	cr_assert(r);
	err = r->err;
	sluice__reply__free_unpacked(r, NULL);
	free(reply);
	return err;
}

static int meta_connect(void)
{
	int fd = sl_tcp_connect(cl.meta_addr, sl_mono_ms() + 5000);

	cr_assert(fd >= 0, "connecting to sluice-meta: %s", strerror(-fd));
	return fd;
}

Test(finding_04, replay_after_another_tenants_flood_is_refused)
{
	char victim[400], attacker[400];
	uint8_t nonce[16], aimed[16];
	uint64_t ts = sl_now_ms();
	int fd;

	sluice_close(tc_principal(&cl, "acme", "alice", "internal", victim, sizeof(victim)));
	sluice_close(tc_principal(&cl, "evil", "mallory", "internal", attacker, sizeof(attacker)));
	fd = meta_connect();
	sl_random_bytes(nonce, sizeof(nonce));
	cr_assert_neq(signed_stat(fd, victim, ts, nonce, 1), -EACCES, "the original was refused");
	/* The attacker saw the nonce: it aims its own nonces at the victim's slot. */
	for (uint32_t i = 0; i < 256; i++) {
		memcpy(aimed, nonce, 8);
		memcpy(aimed + 8, &i, 4);
		memset(aimed + 12, 0x5a, 4);
		signed_stat(fd, attacker, sl_now_ms(), aimed, 100 + i);
	}
	cr_expect_eq(signed_stat(fd, victim, ts, nonce, 1), -EACCES,
		     "a captured request was served again after another tenant's flood");
	close(fd);
}

Test(finding_04, replay_after_a_meta_restart_is_refused)
{
	char victim[400];
	uint8_t nonce[16];
	uint64_t ts = sl_now_ms();
	int fd;

	sluice_close(tc_principal(&cl, "acme", "alice", "internal", victim, sizeof(victim)));
	fd = meta_connect();
	sl_random_bytes(nonce, sizeof(nonce));
	cr_assert_neq(signed_stat(fd, victim, ts, nonce, 1), -EACCES, "the original was refused");
	close(fd);
	tc_meta_kill(&cl, SIGTERM);
	tc_meta_start(&cl);
	fd = meta_connect();
	cr_expect_eq(signed_stat(fd, victim, ts, nonce, 1), -EACCES,
		     "a request captured before the restart was served after it");
	/* A fresh request of the same principal still works. */
	sl_random_bytes(nonce, sizeof(nonce));
	cr_expect_neq(signed_stat(fd, victim, sl_now_ms(), nonce, 2), -EACCES);
	close(fd);
}
