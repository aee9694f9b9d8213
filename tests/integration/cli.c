/*
 * The sluice CLI as a user drives it: help everywhere, ingest of a folder,
 * listing, stat, byte-for-byte get, tag changes, JSON output, and one-line
 * errors with the documented exit codes for bad input and unreachable servers.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

static struct tcluster cl;
static char cred[400], out[65536];

static void setup(void)
{
	sluice_session *s;

	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "confidential", cred, sizeof(cred));
	tc_ns(s, "datasets", 65536);
	sluice_close(s);
}

static void teardown(void)
{
	tc_stop(&cl);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 180);

/* Runs the CLI with the given arguments (NULL-terminated) as alice. */
static int sluice(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "cannot write %s", path);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static size_t read_file(const char *path, void *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert(f, "cannot read %s", path);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

Test(cli, help_for_every_command)
{
	static const char *const cmds[] = { "tenant", "principal", "ns", "put", "get", "ls",
					    "stat", "tag", "rm", "servers", "whoami" };

	cr_assert_eq(sluice("--help", NULL), 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		cr_assert(strstr(out, cmds[i]), "global help misses %s", cmds[i]);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		cr_assert_eq(sluice(cmds[i], "--help", NULL), 0, "%s --help", cmds[i]);
		cr_assert(strstr(out, "usage: sluice"), "%s --help: %s", cmds[i], out);
	}
	cr_assert_eq(sluice("frobnicate", NULL), 2);
	cr_assert(strstr(out, "unknown command"));
}

Test(cli, ingest_a_folder_list_stat_get)
{
	char dir[400], path[500], got_path[500];
	static uint8_t big[200000], back[200001];
	size_t n;

	snprintf(dir, sizeof(dir), "%s/src", cl.dir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/a.txt", dir);
	write_file(path, "alpha\n", 6);
	snprintf(path, sizeof(path), "%s/sub/b.bin", dir);
	tc_fill(big, sizeof(big), 3);
	write_file(path, big, sizeof(big));

	cr_assert_eq(sluice("put", dir, "datasets/set1", "--tag", "pii=none", "--tag",
			    "source=cli-test", "--no-progress", NULL), 0, "%s", out);
	cr_assert(strstr(out, "ingested 2 objects"), "%s", out);

	cr_assert_eq(sluice("ls", "datasets/set1/", NULL), 0);
	cr_assert(strstr(out, "set1/a.txt") && strstr(out, "set1/sub/b.bin"), "%s", out);
	cr_assert_eq(sluice("ls", "datasets/set1/", "--json", NULL), 0);
	cr_assert(strstr(out, "\"name\":\"set1/sub/b.bin\",\"size\":200000"), "%s", out);
	cr_assert(strstr(out, "\"source\":\"cli-test\""), "%s", out);

	cr_assert_eq(sluice("stat", "datasets/set1/sub/b.bin", "--json", NULL), 0);
	cr_assert(strstr(out, "\"size\":200000"), "%s", out);
	cr_assert(strstr(out, "\"shards\":[{\"index\":0,\"length\":65536"), "%s", out);
	cr_assert_eq(sluice("stat", "datasets/set1/sub/b.bin", NULL), 0);
	cr_assert(strstr(out, "shard 3"), "%s", out);

	snprintf(got_path, sizeof(got_path), "%s/b.out", cl.dir);
	cr_assert_eq(sluice("get", "datasets/set1/sub/b.bin", "-o", got_path, NULL), 0, "%s", out);
	n = read_file(got_path, back, sizeof(back));
	cr_assert_eq(n, sizeof(big));
	cr_assert(memcmp(big, back, n) == 0);
	cr_assert_eq(sluice("get", "datasets/set1/a.txt", NULL), 0);
	cr_assert_str_eq(out, "alpha\n");
	cr_assert_eq(sluice("get", "datasets/set1/sub/b.bin", "--offset", "65530", "--length", "10",
			    "-o", got_path, NULL), 0);
	cr_assert_eq(read_file(got_path, back, sizeof(back)), 10);
	cr_assert(memcmp(back, big + 65530, 10) == 0);
}

Test(cli, tags_change_and_governance_shows)
{
	char src[400];

	snprintf(src, sizeof(src), "%s/t.txt", cl.dir);
	write_file(src, "tagged", 6);
	cr_assert_eq(sluice("put", src, "datasets/t.txt", NULL), 0, "%s", out);
	cr_assert_eq(sluice("tag", "datasets/t.txt", "classification=confidential", "team=vision",
			    NULL), 0, "%s", out);
	cr_assert_eq(sluice("stat", "datasets/t.txt", NULL), 0);
	cr_assert(strstr(out, "classification=confidential") && strstr(out, "team=vision"), "%s",
		  out);
	cr_assert_eq(sluice("tag", "datasets/t.txt", "--remove", "team", NULL), 0, "%s", out);
	cr_assert_eq(sluice("stat", "datasets/t.txt", NULL), 0);
	cr_assert_null(strstr(out, "team=vision"), "%s", out);
	/* Above alice's clearance: neither the bytes nor the metadata. */
	cr_assert_eq(sluice("tag", "datasets/t.txt", "classification=restricted", NULL), 0, "%s",
		     out);
	cr_assert_eq(sluice("get", "datasets/t.txt", NULL), 1);
	cr_assert(strstr(out, "access denied"), "%s", out);
	cr_assert_eq(sluice("stat", "datasets/t.txt", NULL), 1);
	cr_assert(strstr(out, "access denied") && !strstr(out, "classification"), "%s", out);
}

Test(cli, bad_input_gets_one_line_and_an_exit_code)
{
	char src[400], dst[400];
	struct stat st;

	snprintf(src, sizeof(src), "%s/x.txt", cl.dir);
	write_file(src, "x", 1);
	cr_assert_eq(sluice("put", src, "datasets/x", "--tag", "classification", NULL), 2);
	cr_assert(strstr(out, "malformed tag 'classification': use KEY=VALUE"), "%s", out);
	cr_assert_eq(sluice("put", src, "datasets/x", "--tag", "classification=secret", NULL), 1);
	cr_assert(strstr(out, "classification must be"), "%s", out);
	cr_assert_eq(sluice("put", src, "nosuchns/x", NULL), 1);
	cr_assert(strstr(out, "no such namespace: nosuchns"), "%s", out);
	cr_assert_eq(sluice("put", "/nonexistent/file", "datasets/x", NULL), 1);
	cr_assert(strstr(out, "cannot read /nonexistent/file"), "%s", out);
	cr_assert_eq(sluice("stat", "datasets/missing", NULL), 1);
	cr_assert_str_eq(out, "sluice: stat: no such object: datasets/missing\n");
	snprintf(dst, sizeof(dst), "%s/never.out", cl.dir);
	cr_assert_eq(sluice("get", "datasets/missing", "-o", dst, NULL), 1);
	cr_assert_neq(stat(dst, &st), 0, "a failed get left %s behind", dst);
	cr_assert_eq(sluice("ls", NULL), 2);
}

Test(cli, wrong_key_and_unreachable_server)
{
	char bad[400];
	char *argv[] = { getenv("SLUICE_CLI_BIN"), (char *)"-c", bad, (char *)"whoami", NULL };
	char *argv2[] = { getenv("SLUICE_CLI_BIN"), (char *)"-c", cred, (char *)"--meta",
			  (char *)"127.0.0.1:1", (char *)"whoami", NULL };
	FILE *f;
	time_t t0;

	snprintf(bad, sizeof(bad), "%s/bad.cred", cl.dir);
	f = fopen(bad, "w");
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = SKdeadbeefdeadbeef\nsecret = %064d\nca_file = %s\n",
		cl.meta_addr, 7, cl.ca_file);
	fclose(f);
	cr_assert_eq(tc_run(argv, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "sluice: whoami: authentication failed\n");

	t0 = time(NULL);
	cr_assert_eq(tc_run(argv2, out, sizeof(out)), 1);
	cr_assert(strstr(out, "unreachable"), "%s", out);
	cr_assert_lt(time(NULL) - t0, 15);

	cr_assert_eq(sluice("whoami", "--json", NULL), 0);
	cr_assert_str_eq(out, "{\"tenant\":\"acme\",\"principal\":\"alice\"}\n");
}
