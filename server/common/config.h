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
	void *value;         /* char[SL_OPT_STR_MAX] or uint32_t */
	const char *def;     /* default, as text */
	const char *help;
};

#define SL_OPT_STR_MAX 256

/*
 * Loads opts: defaults, then `path` if non-NULL (section `section`), then the
 * environment, then argv flags of the form --name=value or --name value.
 * --config FILE names the file; -h/--help prints usage and returns 1.
 * Returns 0, 1 for help, or -EINVAL with a message on stderr.
 */
int sl_config_load(struct sl_opt *opts, size_t n, const char *section, int argc, char **argv,
		   const char *usage);

#endif
