/*
 * Faults: reads that survive a killed data server (before and after
 * sluice-meta notices), writes placed on the servers still up, a data server
 * coming back, and timeouts that stay bounded when nothing answers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"

#define SHARD 65536u
#define SIZE (16u * SHARD + 77u)

static struct tcluster cl;
static sluice_session *s;
static uint8_t *in, *out;

static void setup(void)
{
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "internal", NULL, 0);
	tc_ns(s, "data", SHARD);
	in = malloc(SIZE);
	out = malloc(SIZE);
	tc_fill(in, SIZE, 42);
	cr_assert_eq(sluice_put(s, "data", "model.bin", in, SIZE, NULL, 0), 0, "%s",
		     sluice_last_error(s));
}

static void teardown(void)
{
	sluice_close(s);
	tc_stop(&cl);
	free(in);
	free(out);
}

TestSuite(failover, .init = setup, .fini = teardown, .timeout = 240);

static void read_all_and_compare(void)
{
	size_t got = 0;
	int rc;

	memset(out, 0, SIZE);
	rc = sluice_read(s, "data", "model.bin", 0, out, SIZE, &got);
	cr_assert_eq(rc, 0, "read: %s", sluice_last_error(s));
	cr_assert_eq(got, SIZE);
	cr_assert(memcmp(in, out, SIZE) == 0, "bytes differ after failover");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(failover, read_survives_a_killed_server_before_meta_notices)
{
	tc_data_kill(&cl, 0, SIGKILL);
	/* sluice-meta still lists it as up: the client must fail over by itself. */
	read_all_and_compare();
}

Test(failover, read_and_write_after_meta_marks_it_down)
{
	struct sluice_object *o = NULL;
	double t0;

	tc_data_kill(&cl, 1, SIGKILL);
	tc_wait_servers_up(&cl, 2);
	t0 = now_s();
	read_all_and_compare();
	/* Servers known to be down are tried last: no timeout on the way. */
	cr_expect_lt(now_s() - t0, 5.0);

	cr_assert_eq(sluice_put(s, "data", "while-degraded", in, 3 * SHARD, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	cr_assert_eq(sluice_stat(s, "data", "while-degraded", &o), 0);
	for (uint32_t i = 0; i < o->shard_count; i++) {
		cr_assert_eq(o->shards[i].n_servers, 2, "a shard placed on %zu servers",
			     o->shards[i].n_servers);
		for (size_t j = 0; j < o->shards[i].n_servers; j++)
			cr_assert_neq(o->shards[i].servers[j], 2u, "placed on the dead server");
	}
	sluice_object_free(o);
}

Test(failover, a_restarted_server_comes_back)
{
	tc_data_kill(&cl, 2, SIGTERM);
	tc_wait_servers_up(&cl, 2);
	tc_data_start(&cl, 2);
	tc_wait_servers_up(&cl, 3);
	/* Only the restarted server left alive among the replicas of shard 0. */
	tc_data_kill(&cl, 0, SIGKILL);
	tc_data_kill(&cl, 1, SIGKILL);
	read_all_and_compare();
}

Test(failover, all_replicas_down_fails_in_bounded_time)
{
	size_t got;
	double t0;
	int rc;

	for (int i = 0; i < 3; i++)
		tc_data_kill(&cl, i, SIGKILL);
	t0 = now_s();
	rc = sluice_read(s, "data", "model.bin", 0, out, SIZE, &got);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(sluice_last_error(s), "no replica"), "%s", sluice_last_error(s));
	cr_assert_lt(now_s() - t0, 60.0, "a read with every server down hung");
}

Test(failover, metadata_server_unreachable_is_a_clear_error)
{
	struct sluice_object *o = NULL;
	double t0;

	tc_meta_kill(&cl, SIGKILL);
	t0 = now_s();
	cr_assert_neq(sluice_stat(s, "data", "model.bin", &o), 0);
	cr_assert(strstr(sluice_last_error(s), "unreachable"), "%s", sluice_last_error(s));
	cr_assert_lt(now_s() - t0, 15.0);
}

/* Flips one byte of shard 0's data in data server i's replica. */
static void corrupt_replica(int i)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd),
		 "f=$(ls %s/data%d/shards/*/*.0 | head -n 1) && "
		 "printf '\\377' | dd of=\"$f\" bs=1 seek=5000 conv=notrunc status=none",
		 cl.dir, i + 1);
	cr_assert_eq(system(cmd), 0);
}

Test(failover, a_corrupt_replica_is_never_served)
{
	size_t got;
	int rc;

	/* One bad replica: the read fails over and the bytes are right. */
	corrupt_replica(0);
	read_all_and_compare();
	/* Every replica bad: an error, never wrong bytes. */
	corrupt_replica(1);
	corrupt_replica(2);
	memset(out, 0, SIZE);
	rc = sluice_read(s, "data", "model.bin", 0, out, SHARD, &got);
	cr_assert_neq(rc, 0, "corrupt data was served");
	cr_assert(strstr(sluice_last_error(s), "no replica of shard 0"), "%s", sluice_last_error(s));
	/* Other shards still read. */
	cr_assert_eq(sluice_read(s, "data", "model.bin", SHARD, out, SHARD, &got), 0);
	cr_assert(memcmp(out, in + SHARD, SHARD) == 0);
}

Test(failover, a_server_restarted_on_the_same_address_serves_again)
{
	char port[16];

	/* The session has connections to all three from the setup's put. */
	read_all_and_compare();
	tc_data_port(&cl, 2, port, sizeof(port));
	tc_data_kill(&cl, 2, SIGKILL);
	tc_data_start_port(&cl, 2, port);
	tc_wait_servers_up(&cl, 3);
	/* Only the restarted one is left; its old connection is dead. */
	tc_data_kill(&cl, 0, SIGKILL);
	tc_data_kill(&cl, 1, SIGKILL);
	read_all_and_compare();
}
