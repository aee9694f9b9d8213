/*
 * sluice audit: pages of a tenant's audit log, filtered by sluice-meta, and
 * `sluice audit verify`, the walk over a whole log. Every stored string is
 * escaped before it is printed (cli_escape), so no record can fake a line
 * or a verdict. Exit codes: 0 intact, 1 broken or failed, 2 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void json_u64(const char *key, uint64_t v)
{
	if (v)
		printf(",\"%s\":%llu", key, (unsigned long long)v);
}

static void json_text(const char *key, const char *v)
{
	if (v && v[0]) {
		printf(",\"%s\":", key);
		json_str(stdout, v);
	}
}

static void text_text(const char *label, const char *v)
{
	if (v && v[0]) {
		printf("  %s ", label);
		text_str(stdout, v);
	}
}

static void text_u64(const char *label, uint64_t v)
{
	if (v)
		printf("  %s %llu", label, (unsigned long long)v);
}

/* The fields a record has beyond the first ones, those that are set. */
static void print_decider(struct cli *c, const struct sluice_audit_record *a)
{
	if (c->json) {
		json_text("node", a->node);
		json_text("enforcer", a->enforcer);
		json_text("action", a->action);
		if (a->n_roles) {
			printf(",\"roles\":[");
			for (size_t i = 0; i < a->n_roles; i++) {
				if (i)
					putchar(',');
				json_str(stdout, a->roles[i]);
			}
			putchar(']');
		}
		json_u64("object_version", a->object_version);
		json_u64("offset", a->offset);
		json_u64("length", a->length);
		json_u64("bytes", a->bytes);
		json_u64("count", a->count);
		json_text("policy", a->policy);
		json_u64("policy_version", a->policy_version);
		json_u64("tag_epoch", a->tag_epoch);
		json_u64("policy_epoch", a->policy_epoch);
		json_u64("cap_id", a->cap_id);
		return;
	}
	text_text("action", a->action);
	if (a->n_roles) {
		fputs("  roles ", stdout);
		for (size_t i = 0; i < a->n_roles; i++) {
			if (i)
				putchar(',');
			text_str(stdout, a->roles[i]);
		}
	}
	text_u64("version", a->object_version);
	if (a->offset || a->length)
		printf("  range %llu+%llu", (unsigned long long)a->offset,
		       (unsigned long long)a->length);
	text_u64("reads", a->count);
	text_u64("bytes", a->bytes);
	text_text("policy", a->policy);
	text_u64("policy-version", a->policy_version);
	text_u64("tag-epoch", a->tag_epoch);
	text_u64("policy-epoch", a->policy_epoch);
	text_text("node", a->node);
	text_text("enforcer", a->enforcer);
}

/* Prints one audit record, every stored string escaped. */
static void print_audit_record(struct cli *c, const struct sluice_audit_record *a, int first)
{
	char when[32];

	human_time(a->time_ms, when, sizeof(when));
	if (c->json) {
		printf("%s{\"seq\":%llu,\"time_ms\":%llu,\"tenant_id\":%llu,"
		       "\"principal_id\":%llu,\"object_id\":%llu,\"event\":",
		       first ? "" : ",", (unsigned long long)a->seq, (unsigned long long)a->time_ms,
		       (unsigned long long)a->tenant_id, (unsigned long long)a->principal_id,
		       (unsigned long long)a->object_id);
		json_str(stdout, a->event);
		printf(",\"object\":");
		json_str(stdout, a->object);
		printf(",\"purpose\":");
		json_str(stdout, a->purpose);
		printf(",\"decision\":");
		json_str(stdout, a->decision);
		printf(",\"reason\":");
		json_str(stdout, a->reason);
		print_decider(c, a);
		printf("}");
	} else {
		char event[128], decision[64];

		/* Stored strings are escaped: none can fake a line or a verdict. */
		printf("%-6llu %s  %-16s %-6s principal %-4llu ", (unsigned long long)a->seq, when,
		       cli_escape(a->event, 0, event, sizeof(event)),
		       cli_escape(a->decision, 0, decision, sizeof(decision)),
		       (unsigned long long)a->principal_id);
		text_str(stdout, a->object);
		if (a->purpose[0]) {
			fputs("  purpose ", stdout);
			text_str(stdout, a->purpose);
		}
		print_decider(c, a);
		/* The reason is free text: last, after a colon. */
		if (a->reason[0]) {
			fputs("  : ", stdout);
			text_str(stdout, a->reason);
		}
		putchar('\n');
	}
}

/* --since/--until into ms; 2 (usage) with a message when bad. */
static int date_opt(const char *name, const char *arg, uint64_t now, uint64_t *ms)
{
	int rc;

	if (!arg)
		return 0;
	rc = cli_parse_date(arg, now, ms);
	if (rc == -ERANGE) {
		cli_error("--%s '%s' is too far back", name, arg);
		return 2;
	}
	if (rc) {
		cli_error("bad --%s '%s': use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ (UTC) or an age "
			  "such as 30m, 1h, 2d",
			  name, arg);
		return 2;
	}
	if (*ms == 0)
		*ms = 1; /* 0 means no bound on the wire; the epoch itself is 1 ms later */
	return 0;
}

/* The filter the options give; 2 (usage) when one is bad. */
static int audit_filter(struct cli *c, struct sluice_audit_filter *f)
{
	static const char *const decisions[] = { "allow", "deny", "done", "partial" };
	uint64_t now = wall_ms();
	int rc, known = 0;

	*f = (struct sluice_audit_filter){ .tenant = c->tenant, .principal = c->principal,
					   .object = c->object, .decision = c->decision };
	if (c->decision) {
		for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
			known |= strcmp(c->decision, decisions[i]) == 0;
		if (!known) {
			cli_error("bad --decision '%s': allow, deny, done or partial", c->decision);
			return 2;
		}
	}
	if (c->object && !strchr(c->object, '/')) {
		cli_error("bad --object '%s': give NS/NAME", c->object);
		return 2;
	}
	rc = date_opt("since", c->since, now, &f->since_ms);
	rc = rc ? rc : date_opt("until", c->until, now, &f->until_ms);
	if (rc)
		return rc;
	if (f->since_ms && f->until_ms && f->until_ms <= f->since_ms) {
		cli_error("--until is not after --since");
		return 2;
	}
	return 0;
}

static int cmd_audit_verify(struct cli *c)
{
	struct sluice_audit_verdict v;
	int rc;

	if (c->n_args != 1 || c->principal || c->object || c->decision || c->since || c->until ||
	    c->after || c->limit)
		return 2;
	if (cli_connect(c))
		return 1;
	rc = sluice_audit_verify(c->s, c->tenant, &v);
	if (rc)
		return cli_fail(c, rc, "audit verify");
	if (c->json) {
		printf("{\"intact\":%s,\"checked\":%llu,\"last_seq\":%llu,\"head_seq\":%llu",
		       v.intact ? "true" : "false", (unsigned long long)v.checked,
		       (unsigned long long)v.last_seq, (unsigned long long)v.head_seq);
		if (!v.intact) {
			printf(",\"bad_seq\":%llu,\"problem\":", (unsigned long long)v.bad_seq);
			json_str(stdout, v.problem);
			printf(",\"detail\":");
			json_str(stdout, v.detail);
		}
		printf("}\n");
	} else if (v.intact) {
		printf("audit log intact: %llu records checked, the signed head names record %llu\n",
		       (unsigned long long)v.checked, (unsigned long long)v.head_seq);
	} else {
		fputs("audit log BROKEN: ", stdout);
		text_str(stdout, v.detail);
		printf("\nfirst broken record: %llu; %llu records before it check out\n",
		       (unsigned long long)v.bad_seq, (unsigned long long)v.checked);
	}
	return v.intact ? 0 : 1;
}

int cmd_audit(struct cli *c)
{
	struct sluice_audit_filter f;
	struct sluice_audit_page page;
	uint32_t want = c->limit ? c->limit : 100, shown = 0;
	uint64_t after = c->after;
	int rc, chain_ok = 1, head_ok = 1, truncated = 0;
	uint64_t head_seq = 0;

	if (c->n_args && strcmp(c->args[0], "verify") == 0)
		return cmd_audit_verify(c);
	if (c->n_args)
		return 2;
	rc = audit_filter(c, &f);
	if (rc)
		return rc;
	if (cli_connect(c))
		return 1;
	if (c->json)
		printf("{\"records\":[");
	/* Replies are paged by size and by how far one request walks: read on
	 * until `want` records are shown or the log ends. */
	do {
		rc = sluice_audit_page_query(c->s, &f, after, want - shown, &page);
		if (rc) {
			if (c->json)
				printf("]}\n");
			return cli_fail(c, rc, "audit");
		}
		chain_ok &= page.chain_ok;
		head_ok = page.head_ok;
		head_seq = page.head_seq;
		truncated = page.truncated;
		for (size_t i = 0; i < page.n; i++, shown++)
			print_audit_record(c, &page.records[i], shown == 0);
		after = page.last_seq;
		sluice_audit_page_free(&page);
	} while (truncated && shown < want);
	if (c->json) {
		printf("],\"chain_ok\":%s,\"head_ok\":%s,\"head_seq\":%llu,\"truncated\":%s",
		       chain_ok ? "true" : "false", head_ok ? "true" : "false",
		       (unsigned long long)head_seq, truncated ? "true" : "false");
		if (truncated)
			printf(",\"next_after\":%llu", (unsigned long long)after);
		printf("}\n");
	} else {
		printf("hash chain: %s",
		       chain_ok ? "intact" : "BROKEN (records were removed, edited or reordered)");
		if (truncated)
			printf("; more records follow (--after %llu)", (unsigned long long)after);
		putchar('\n');
		if (!head_ok)
			printf("chain: TRUNCATED (the log does not end at record %llu, "
			       "which its signed head names)\n", (unsigned long long)head_seq);
	}
	return chain_ok && head_ok ? 0 : 1;
}
