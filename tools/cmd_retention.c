/*
 * sluice hold | retain, and the retention, hold and provenance lines of
 * sluice stat. Dates are UTC, given as YYYY-MM-DD (midnight) or
 * YYYY-MM-DDTHH:MM:SSZ; sluice-meta decides every rule, the checks here only
 * refuse what cannot be a date or a mode before connecting.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* DATE to ms since the epoch; 0, or 1 with the error printed. No ages:
 * a retention date is an instant. */
static int parse_date(const char *s, uint64_t *ms)
{
	switch (cli_parse_instant(s, ms)) {
	case 0:
		return 0;
	case -EDOM:
		return cli_error("bad date '%s': out of range (from 1970, months 01-12, "
				 "hours 00-23)", s);
	case -ENOENT:
		return cli_error("bad date '%s': no such day", s);
	default:
		return cli_error("bad date '%s': use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)", s);
	}
}

static void print_name(const char *ns, const char *name)
{
	text_str(stdout, ns);
	putchar('/');
	text_str(stdout, name);
}

int cmd_hold(struct cli *c)
{
	char ns[128];
	const char *name;
	int on, rc;

	if (c->n_args != 2 || (strcmp(c->args[0], "set") && strcmp(c->args[0], "clear")))
		return 2;
	on = strcmp(c->args[0], "set") == 0;
	if (cli_split(c->args[1], ns, sizeof(ns), &name, 0))
		return cli_error("bad object '%s': use NAMESPACE/NAME", c->args[1]);
	if (cli_connect(c))
		return 1;
	rc = sluice_hold_set(c->s, ns, name, on);
	if (rc)
		return cli_fail(c, rc, on ? "hold set" : "hold clear");
	if (c->json) {
		printf("{\"namespace\":");
		json_str(stdout, ns);
		printf(",\"name\":");
		json_str(stdout, name);
		printf(",\"legal_hold\":%s}\n", on ? "true" : "false");
	} else {
		printf("legal hold %s on ", on ? "set" : "cleared");
		print_name(ns, name);
		putchar('\n');
	}
	return 0;
}

int cmd_retain(struct cli *c)
{
	char ns[128], when[32];
	const char *name, *mode = c->mode_arg;
	uint64_t until = 0;
	int rc;

	if (c->n_args != 1)
		return 2;
	if (cli_split(c->args[0], ns, sizeof(ns), &name, 0))
		return cli_error("bad object '%s': use NAMESPACE/NAME", c->args[0]);
	if (!mode)
		return cli_error("retain needs --mode governance|compliance (or none to remove)");
	if (strcmp(mode, "governance") && strcmp(mode, "compliance") && strcmp(mode, "none"))
		return cli_error("bad mode '%s': use governance, compliance or none", mode);
	if (strcmp(mode, "none") == 0 && c->until)
		return cli_error("--mode none removes retention and takes no --until");
	if (strcmp(mode, "none") && !c->until)
		return cli_error("retain needs --until DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)");
	if (c->until && parse_date(c->until, &until))
		return 1;
	if (cli_connect(c))
		return 1;
	rc = sluice_retain(c->s, ns, name, until, mode);
	if (rc)
		return cli_fail(c, rc, "retain");
	human_time(until, when, sizeof(when));
	if (c->json) {
		printf("{\"namespace\":");
		json_str(stdout, ns);
		printf(",\"name\":");
		json_str(stdout, name);
		if (until)
			printf(",\"mode\":\"%s\",\"until\":\"%s\",\"until_ms\":%llu}\n", mode, when,
			       (unsigned long long)until);
		else
			printf(",\"mode\":\"none\"}\n");
	} else if (until) {
		print_name(ns, name);
		printf(" retained in %s mode until %s\n", mode, when);
	} else {
		printf("retention removed from ");
		print_name(ns, name);
		putchar('\n');
	}
	return 0;
}

/* What `stat` shows of o's retention, hold and provenance. */
void cli_print_retention(const struct sluice_object *o, int json)
{
	const struct sluice_provenance *pv = &o->provenance;
	char until[32], put[32];
	uint64_t now = (uint64_t)time(NULL) * 1000;

	human_time(o->retain_until_ms, until, sizeof(until));
	human_time(pv->time_ms, put, sizeof(put));
	if (json) {
		if (o->retain_mode[0])
			printf(",\"retention\":{\"mode\":\"%s\",\"until\":\"%s\",\"until_ms\":%llu,"
			       "\"running\":%s}",
			       o->retain_mode, until, (unsigned long long)o->retain_until_ms,
			       o->retain_until_ms > now ? "true" : "false");
		else
			printf(",\"retention\":null");
		printf(",\"legal_hold\":%s,\"provenance\":{\"principal\":",
		       o->legal_hold ? "true" : "false");
		json_str(stdout, pv->principal);
		printf(",\"principal_id\":%llu,\"source\":", (unsigned long long)pv->principal_id);
		json_str(stdout, pv->source);
		printf(",\"time\":\"%s\",\"time_ms\":%llu,\"tags\":", put,
		       (unsigned long long)pv->time_ms);
		json_tags(stdout, pv->tags, pv->n_tags);
		printf("}");
		return;
	}
	if (o->retain_mode[0])
		printf("retain   %s until %s%s\n", o->retain_mode, until,
		       o->retain_until_ms > now ? "" : " (ended)");
	else
		printf("retain   none\n");
	printf("hold     %s\nput by   ", o->legal_hold ? "on (legal hold)" : "off");
	text_str(stdout, pv->principal);
	printf(" (principal %llu) at %s\nsource   ", (unsigned long long)pv->principal_id, put);
	text_str(stdout, pv->source[0] ? pv->source : "-");
	printf("\nput tags");
	for (size_t i = 0; i < pv->n_tags; i++) {
		putchar(' ');
		text_str(stdout, pv->tags[i].key);
		putchar('=');
		text_str(stdout, pv->tags[i].value);
	}
	putchar('\n');
}
