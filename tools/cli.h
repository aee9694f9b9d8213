/*
 * The sluice CLI: shared option state, output helpers and the command table.
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sluice.h"

#define SL_CLI_MAX_TAGS 64
#define SL_CLI_MAX_LIST 16
#define SL_CLI_MAX_JOBS 16

struct cli {
	const char *meta;
	const char *credentials;
	const char *purpose;
	const char *tenant;
	const char *out;
	const char *clearance;
	int json;
	int progress; /* -1 auto (a terminal), 0 off, 1 on */
	uint32_t shard_size, replicas, limit;
	int jobs;     /* parallel ingest workers */
	uint64_t offset, length, after;
	unsigned mode; /* permissions of a file get creates */
	const char *mode_arg; /* --mode as given (octal for get; a word for retain) */
	int mode_bad;         /* --mode was not octal permissions */
	int have_range;
	struct sluice_tag tags[SL_CLI_MAX_TAGS];
	size_t n_tags;
	const char *remove[SL_CLI_MAX_LIST];
	size_t n_remove;
	const char *roles[SL_CLI_MAX_LIST];
	size_t n_roles;
	const char *purposes[SL_CLI_MAX_LIST];
	size_t n_purposes;
	const char *rights[SL_CLI_MAX_LIST];
	size_t n_rights;
	/* Governance and audit options, each for the commands that take it. */
	const char *as;        /* policy explain --as PRINCIPAL */
	const char *action;    /* policy explain --action read|stat */
	const char *until;     /* retain --until, audit --until */
	const char *since;     /* audit --since */
	const char *principal; /* audit --principal */
	const char *object;    /* audit --object NS/NAME */
	const char *decision;  /* audit --decision allow|deny|done */
	const char *values;    /* tagdef set --values v1,v2,... */
	int ordered;           /* tagdef set --ordered */
	int mandatory;         /* tagdef set --mandatory */
	char **args; /* positionals after the command words */
	int n_args;
	sluice_session *s;
};

/* Prints "sluice: <message>" to stderr; returns 1 (the exit code for errors). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a failed SDK call with the session's message. */
int cli_fail(struct cli *c, int rc, const char *what);
/* Opens the session (credentials, meta, purpose). */
int cli_connect(struct cli *c);
/* Splits "ns/name" (name may be empty when allow_empty). */
int cli_split(const char *arg, char *ns, size_t ns_len, const char **name, int allow_empty);

/* output.c */
/*
 * Escapes s into out (cap bytes, always NUL-terminated, cut with "..." when
 * short) and returns out. Control characters (C0, DEL, C1, bidi controls),
 * newlines and backslashes are escaped (\n, \x1b, \u0085); bytes that are
 * not UTF-8 become \xNN in text, U+FFFD in JSON. json also escapes '"',
 * so the result can go between quotes.
 */
const char *cli_escape(const char *s, int json, char *out, size_t cap);
/* Prints s escaped for a terminal (cli_escape, text mode). */
void text_str(FILE *f, const char *s);
/* Prints s as a JSON string, quoted and escaped. */
void json_str(FILE *f, const char *s);
void json_tags(FILE *f, const struct sluice_tag *tags, size_t n);
void human_size(uint64_t n, char *out, size_t len);
void human_time(uint64_t ms, char *out, size_t len);
/*
 * date.c: a date given on the command line, as ms since the epoch: an
 * instant in UTC, YYYY-MM-DD (midnight) or YYYY-MM-DDTHH:MM:SSZ, or an age
 * before now_ms, digits and s, m, h or d ("30m", "1h", "2d"). 0, -EINVAL
 * when it is none of these (or no such day), -ERANGE when too far back.
 */
int cli_parse_date(const char *s, uint64_t now_ms, uint64_t *ms);
/*
 * An instant only (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC, from 1970): 0,
 * -EINVAL when not of that shape, -EDOM when a field is out of range,
 * -ENOENT for a day the month lacks.
 */
int cli_parse_instant(const char *s, uint64_t *ms);

struct progress {
	int on;
	const char *label;
	uint64_t base;    /* bytes done before the current item (added to each report) */
	uint64_t total;   /* bytes of every item */
	uint64_t start_ms;
	uint64_t last_ms;
};
void progress_init(struct progress *p, int on, uint64_t total);
void progress_cb(void *arg, uint64_t done, uint64_t total);
void progress_end(struct progress *p);

/* Commands: each returns the process exit code. */
int cmd_tenant(struct cli *c);
int cmd_principal(struct cli *c);
int cmd_ns(struct cli *c);
int cmd_servers(struct cli *c);
int cmd_whoami(struct cli *c);
int cmd_key(struct cli *c);
int cmd_audit(struct cli *c);
int cmd_put(struct cli *c);
int cmd_get(struct cli *c);
int cmd_ls(struct cli *c);
int cmd_stat(struct cli *c);
int cmd_tag(struct cli *c);
int cmd_rm(struct cli *c);
int cmd_hold(struct cli *c);
int cmd_retain(struct cli *c);
/* cmd_retention.c: stat's retention, hold and provenance (JSON: members to append). */
void cli_print_retention(const struct sluice_object *o, int json);
int cmd_policy(struct cli *c);
int cmd_tagdef(struct cli *c);

#endif
