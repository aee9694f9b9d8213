/*
 * Server configuration layering (default < file < environment < flag) and
 * values that do not fit their field.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

struct cfg {
	char name[16];
	uint32_t n;
	uint32_t guard;
};

static int load(struct cfg *c, const char *file_text, int argc, char **argv)
{
	char path[] = "/tmp/sluice-config-XXXXXX";
	struct sl_opt opts[] = {
		SL_OPT_STRING("name", "SLUICE_TEST_NAME", c->name, "dflt", "a name"),
		SL_OPT_NUMBER("n", "SLUICE_TEST_N", &c->n, "1", "a number"),
	};
	int rc, fd = -1;

	if (file_text) {
		fd = mkstemp(path);
		cr_assert(fd >= 0);
		cr_assert_eq(write(fd, file_text, strlen(file_text)), (ssize_t)strlen(file_text));
		close(fd);
		setenv("SLUICE_CONFIG", path, 1);
	} else {
		unsetenv("SLUICE_CONFIG");
	}
	rc = sl_config_load(opts, 2, "test", argc, argv, "usage: test");
	if (file_text)
		unlink(path);
	return rc;
}

Test(config, layers_override_in_order)
{
	struct cfg c = { .guard = 0xabcd };
	char *argv[] = { (char *)"prog", (char *)"--n=7", NULL };

	unsetenv("SLUICE_TEST_NAME");
	unsetenv("SLUICE_TEST_N");
	cr_assert_eq(load(&c, NULL, 1, argv), 0);
	cr_assert_str_eq(c.name, "dflt");
	cr_assert_eq(c.n, 1);
	cr_assert_eq(load(&c, "[test]\nname = fromfile\nn = 3\n", 1, argv), 0);
	cr_assert_str_eq(c.name, "fromfile");
	cr_assert_eq(c.n, 3);
	setenv("SLUICE_TEST_N", "5", 1);
	cr_assert_eq(load(&c, "[test]\nn = 3\n", 1, argv), 0);
	cr_assert_eq(c.n, 5);
	cr_assert_eq(load(&c, "[test]\nn = 3\n", 2, argv), 0);
	cr_assert_eq(c.n, 7);
	unsetenv("SLUICE_TEST_N");
}

Test(config, values_that_do_not_fit_are_refused)
{
	struct cfg c = { .guard = 0xabcd };
	char long_flag[200], *argv[] = { (char *)"prog", long_flag, NULL };
	char *bad_num[] = { (char *)"prog", (char *)"--n", (char *)"12x", NULL };
	char *unknown[] = { (char *)"prog", (char *)"--nope=1", NULL };

	snprintf(long_flag, sizeof(long_flag), "--name=%0150d", 1);
	cr_assert_eq(load(&c, NULL, 2, argv), -EINVAL);
	cr_assert_eq(c.guard, 0xabcd, "a long value ran past its field");
	cr_assert(strlen(c.name) < sizeof(c.name));
	cr_assert_eq(load(&c, "[test]\nname = 0123456789abcdefXYZ\n", 1, argv), -EINVAL);
	cr_assert_eq(c.guard, 0xabcd);
	cr_assert_eq(load(&c, NULL, 3, bad_num), -EINVAL);
	cr_assert_eq(load(&c, NULL, 2, unknown), -EINVAL);
	cr_assert_eq(load(&c, "[test]\nwhat = 1\n", 1, argv), -EINVAL);
}
