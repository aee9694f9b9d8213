/*
 * Crash safety of the catalog: sluice-meta killed with SIGKILL after an
 * ingest began, or in the middle of a real one, restarts on the same catalog
 * and never shows a partial object.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "rpc.h"
#include "rpc_client.h"

static struct tcluster cl;
static sluice_session *s;
static char cred[400];

static void setup(void)
{
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "internal", cred, sizeof(cred));
	tc_ns(s, "data", 1u << 20);
}

static void teardown(void)
{
	sluice_close(s);
	tc_stop(&cl);
}

TestSuite(crash, .init = setup, .fini = teardown, .timeout = 300);

static void restart_meta(void)
{
	tc_meta_start(&cl);
	tc_wait_servers_up(&cl, 3);
}

Test(crash, pending_object_never_becomes_visible)
{
	char key_id[64];
	uint8_t secret[32];
	struct sl_rpc_client rpc;
	Sluice__PutBeginReq req = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__ObjectPlan *plan = NULL;
	struct sluice_object *o = NULL, **list;
	size_t n;

	tc_cred_key(cred, key_id, secret);
	sl_rpc_client_init(&rpc, cl.meta_addr, key_id, secret, 5000);
	tc_rpc_ca(&cl, &rpc);
	req.ns = (char *)"data";
	req.name = (char *)"half.bin";
	req.size = 5u << 20;
	req.fabric_addr = (ProtobufCBinaryData){ 4, (uint8_t *)"none" };
	cr_assert_eq(sl_rpc_call(&rpc, SL_RPC_PUT_BEGIN, &req.base,
				 &sluice__object_plan__descriptor, (ProtobufCMessage **)&plan), 0);
	cr_assert_eq(plan->object->state, SLUICE__OBJECT_STATE__OBJECT_PENDING);
	sluice__object_plan__free_unpacked(plan, NULL);
	sl_rpc_client_close(&rpc);

	/* Pending and invisible before the crash... */
	cr_assert_eq(sluice_stat(s, "data", "half.bin", &o), -ENOENT);
	tc_meta_kill(&cl, SIGKILL);
	restart_meta();
	/* ...and after it. */
	cr_assert_eq(sluice_stat(s, "data", "half.bin", &o), -ENOENT);
	cr_assert_eq(sluice_list(s, "data", "", NULL, 0, &list, &n, NULL), 0);
	cr_assert_eq(n, 0);
	sluice_list_free(list, n);
	/* The name is free and the catalog works. */
	cr_assert_eq(sluice_put(s, "data", "half.bin", "whole", 5, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	cr_assert_eq(sluice_stat(s, "data", "half.bin", &o), 0);
	cr_assert_eq(o->size, 5);
	sluice_object_free(o);
}

Test(crash, sigkill_in_the_middle_of_an_ingest)
{
	size_t size = 48u << 20, got = 0;
	uint8_t *in = malloc(size), *back = malloc(size);
	char src[400];
	struct sluice_object *o = NULL;
	pid_t pid;
	int status, rc;

	tc_fill(in, size, 7);
	pid = tc_cli_put_start(&cl, cred, in, size, "big.src", "data/big.bin", src, sizeof(src));
	/* Kill sluice-meta as soon as shards start landing on disk. */
	for (int i = 0; i < 400 && tc_shard_files(&cl) < 3; i++)
		usleep(10000);
	tc_meta_kill(&cl, SIGKILL);
	waitpid(pid, &status, 0);
	restart_meta();

	rc = sluice_stat(s, "data", "big.bin", &o);
	if (rc == 0) {
		/* It committed before the kill: then it must be whole. */
		cr_assert_eq(o->size, size);
		sluice_object_free(o);
		cr_assert_eq(sluice_read(s, "data", "big.bin", 0, back, size, &got), 0);
		cr_assert(memcmp(in, back, size) == 0);
	} else {
		cr_assert_eq(rc, -ENOENT, "stat after the crash: %s", sluice_last_error(s));
		cr_assert_neq(WEXITSTATUS(status), 0, "the CLI reported success for a lost put");
		/* Ingesting again succeeds and reads back whole. */
		cr_assert_eq(sluice_put(s, "data", "big.bin", in, size, NULL, 0), 0);
		cr_assert_eq(sluice_read(s, "data", "big.bin", 0, back, size, &got), 0);
		cr_assert_eq(got, size);
		cr_assert(memcmp(in, back, size) == 0);
	}
	free(in);
	free(back);
}
