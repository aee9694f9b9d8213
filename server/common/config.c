/* Layered server configuration; see config.h. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ini_ctx {
	struct sl_opt *opts;
	size_t n;
	const char *section;
	int rc;
};

static int opt_set(struct sl_opt *o, const char *text)
{
	char *end;
	unsigned long v;

	if (o->type == SL_OPT_STR) {
		if (strlen(text) >= o->size)
			return -ENAMETOOLONG;
		memcpy(o->value, text, strlen(text) + 1);
		return 0;
	}
	errno = 0;
	v = strtoul(text, &end, 0);
	if (errno || *end || end == text || v > UINT32_MAX)
		return -EINVAL;
	*(uint32_t *)o->value = (uint32_t)v;
	return 0;
}

static struct sl_opt *opt_find(struct sl_opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *c = user;
	struct sl_opt *o;

	if (strcmp(section, c->section) != 0)
		return 1;
	o = opt_find(c->opts, c->n, name, strlen(name));
	if (!o) {
		fprintf(stderr, "config: unknown key '%s' in [%s]\n", name, section);
		c->rc = -EINVAL;
		return 0;
	}
	if (opt_set(o, value)) {
		fprintf(stderr, "config: bad or too long value '%s' for %s\n", value, name);
		c->rc = -EINVAL;
		return 0;
	}
	return 1;
}

static void usage_print(const struct sl_opt *opts, size_t n, const char *usage)
{
	printf("%s\n\nOptions (flag, environment variable, default):\n", usage);
	printf("  --config FILE\n      INI file; keys as below, in its [section]\n");
	for (size_t i = 0; i < n; i++)
		printf("  --%s, %s (default: %s)\n      %s\n", opts[i].name, opts[i].env,
		       opts[i].def[0] ? opts[i].def : "none", opts[i].help);
}

int sl_config_load(struct sl_opt *opts, size_t n, const char *section, int argc, char **argv,
		   const char *usage)
{
	const char *path = getenv("SLUICE_CONFIG");
	struct ini_ctx ctx = { opts, n, section, 0 };

	for (size_t i = 0; i < n; i++)
		opt_set(&opts[i], opts[i].def);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage_print(opts, n, usage);
			return 1;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	if (path) {
		int rc = ini_parse(path, on_ini_entry, &ctx);

		if (rc < 0) {
			fprintf(stderr, "config: cannot read %s\n", path);
			return -ENOENT;
		}
		if (rc > 0 && !ctx.rc) {
			fprintf(stderr, "config: %s: syntax error on line %d\n", path, rc);
			return -EINVAL;
		}
		if (ctx.rc)
			return ctx.rc;
	}
	for (size_t i = 0; i < n; i++) {
		const char *v = getenv(opts[i].env);

		if (v && opt_set(&opts[i], v)) {
			fprintf(stderr, "config: bad or too long value '%s' in %s\n", v, opts[i].env);
			return -EINVAL;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val;
		struct sl_opt *o;

		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, "unexpected argument '%s' (see --help)\n", arg);
			return -EINVAL;
		}
		arg += 2;
		eq = strchr(arg, '=');
		if (strncmp(arg, "config", 6) == 0 && (arg[6] == '\0' || arg[6] == '=')) {
			i += eq ? 0 : 1;
			continue;
		}
		o = opt_find(opts, n, arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (!o) {
			fprintf(stderr, "unknown option '--%s' (see --help)\n", arg);
			return -EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "option --%s needs a value\n", o->name);
			return -EINVAL;
		}
		if (opt_set(o, val)) {
			fprintf(stderr, "bad or too long value '%s' for --%s\n", val, o->name);
			return -EINVAL;
		}
	}
	return 0;
}
