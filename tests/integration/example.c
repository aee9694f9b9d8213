/*
 * The SDK example program (client/example.c) runs against a real cluster
 * and prints what it stored and read.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

Test(example, sdk_example_runs, .timeout = 120)
{
	struct tcluster cl;
	char cred[400], out[4096];
	char *argv[] = { (char *)getenv("SLUICE_EXAMPLE_BIN"), cred, (char *)"examples", NULL };
	sluice_session *s;
	int rc;

	cr_assert(argv[0]);
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "dev", "internal", cred, sizeof(cred));
	tc_ns(s, "examples", 0);
	sluice_close(s);
	rc = tc_run(argv, out, sizeof(out));
	cr_assert_eq(rc, 0, "example failed:\n%s", out);
	cr_assert(strstr(out, "stored examples/example/hello.txt: 47 bytes in 1 shard(s)"), "%s", out);
	cr_assert(strstr(out, "read 7 bytes at offset 7: \"feeds i\""), "%s", out);
	tc_stop(&cl);
}
