/*
 * Abandoned ingests are collected: a put whose client is killed before it
 * commits leaves a pending object and shard files; once it is older than
 * pending-expiry-s, sluice-meta drops its records and the data servers
 * delete its files, while committed objects keep theirs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"

Test(sweep, abandoned_ingest_is_collected, .timeout = 180)
{
	struct tcluster cl;
	struct sluice_object *o = NULL;
	size_t size = 8u << 20;
	uint8_t *in = malloc(size);
	char cred[400], src[400], log[400], cmd[600];
	sluice_session *s;
	pid_t pid;
	int files;

	setenv("SLUICE_PENDING_EXPIRY_S", "2", 1);
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "internal", cred, sizeof(cred));
	tc_ns(s, "data", 65536);
	cr_assert_eq(sluice_put(s, "data", "kept.txt", "keep me", 7, NULL, 0), 0);
	cr_assert_eq(tc_shard_files(&cl), 3);

	tc_fill(in, size, 5);
	pid = tc_cli_put_start(&cl, cred, in, size, "killed.src", "data/killed.bin", src,
			       sizeof(src));
	/* Kill the client once some of its shards are on disk: it never commits. */
	for (int i = 0; i < 500 && tc_shard_files(&cl) < 3 + 12; i++)
		usleep(10000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_gt(tc_shard_files(&cl), 3, "the killed put left no shard behind");
	cr_assert_eq(sluice_stat(s, "data", "killed.bin", &o), -ENOENT);

	files = tc_wait_shard_files(&cl, 3, 15000);
	cr_assert_eq(files, 3, "%d shard files left; the committed object has 3", files);
	snprintf(log, sizeof(log), "%s/meta.log", cl.dir);
	snprintf(cmd, sizeof(cmd), "grep -q 'abandoned the pending ingest of data/killed.bin' %s",
		 log);
	cr_assert_eq(system(cmd), 0, "no abandon line in sluice-meta's log");

	/* The committed object is whole; the name is free again. */
	{
		char buf[8];
		size_t got;

		cr_assert_eq(sluice_read(s, "data", "kept.txt", 0, buf, sizeof(buf), &got), 0);
		cr_assert_eq(got, 7);
	}
	cr_assert_eq(sluice_put(s, "data", "killed.bin", in, 1000, NULL, 0), 0);
	sluice_close(s);
	free(in);
	tc_stop(&cl);
}
