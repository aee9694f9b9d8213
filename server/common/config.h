/*
 * Server configuration: a table of options per server, each with a default,
 * read in this order, later winning: built-in default, the INI file (parsed
 * by libinih), an environment variable, a command-line flag.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum sl_opt_type { SL_OPT_STR, SL_OPT_U32 };

struct sl_opt {
	const char *name;    /* INI key in the server's section and --flag name */
	const char *env;     /* environment variable, e.g. SLUICE_META_LISTEN */
	enum sl_opt_type type;
	void *value;         /* a char array of `size` bytes, or a uint32_t */
	size_t size;         /* for strings: sizeof the array (SL_OPT_STRING fills it) */
	const char *def;     /* default, as text */
	const char *help;
};

/* Table helpers: the array's size travels with it, so no value overflows it. */
#define SL_OPT_STRING(name, env, array, def, help) \
	{ name, env, SL_OPT_STR, array, sizeof(array), def, help }
#define SL_OPT_NUMBER(name, env, ptr, def, help) \
	{ name, env, SL_OPT_U32, ptr, sizeof(uint32_t), def, help }

/*
 * Loads opts: defaults, then `path` if non-NULL (section `section`), then the
 * environment, then argv flags of the form --name=value or --name value.
 * --config FILE names the file; -h/--help prints usage and returns 1.
 * Returns 0, 1 for help, or -EINVAL with a message on stderr.
 */
int sl_config_load(struct sl_opt *opts, size_t n, const char *section, int argc, char **argv,
		   const char *usage);

#endif
