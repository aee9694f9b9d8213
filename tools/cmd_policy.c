/* sluice policy set|get|list|rm|explain|test and sluice tagdef set|rm|list */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One document at most (sluice-meta refuses more), and one byte to tell it was longer. */
#define CLI_POLICY_MAX 16384

/* Reads a policy document from path ("-": stdin) into a new string. */
static int read_doc(const char *path, char **out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return cli_error("cannot read %s", path);
	buf = malloc(CLI_POLICY_MAX + 2);
	if (!buf) {
		if (f != stdin)
			fclose(f);
		return cli_error("out of memory");
	}
	n = fread(buf, 1, CLI_POLICY_MAX + 1, f);
	if (ferror(f) || n > CLI_POLICY_MAX || memchr(buf, '\0', n)) {
		int err = ferror(f);

		if (f != stdin)
			fclose(f);
		free(buf);
		return err ? cli_error("cannot read %s", path)
			   : cli_error("%s: a policy is at most %d bytes of text", path,
				       CLI_POLICY_MAX);
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* Prints a document line by line, each escaped for the terminal. */
static void print_text(const char *text)
{
	char line[CLI_POLICY_MAX + 1];

	while (*text) {
		size_t n = strcspn(text, "\n");

		memcpy(line, text, n);
		line[n] = '\0';
		text_str(stdout, line);
		putchar('\n');
		text += n + (text[n] == '\n');
	}
}

static void json_policy(const struct sluice_policy *p, int with_text)
{
	printf("{\"name\":");
	json_str(stdout, p->name);
	printf(",\"version\":%llu,\"updated_ms\":%llu,\"updated_by\":",
	       (unsigned long long)p->version, (unsigned long long)p->updated_ms);
	json_str(stdout, p->updated_by);
	if (with_text) {
		printf(",\"text\":");
		json_str(stdout, p->text);
	}
	printf("}");
}

static int policy_list(struct cli *c)
{
	struct sluice_policy *list;
	uint64_t epoch;
	size_t n;
	char when[64];
	int rc = sluice_policy_list(c->s, &list, &n, &epoch);

	if (rc)
		return cli_fail(c, rc, "policy list");
	if (c->json) {
		printf("{\"epoch\":%llu,\"policies\":[", (unsigned long long)epoch);
		for (size_t i = 0; i < n; i++) {
			printf(i ? "," : "");
			json_policy(&list[i], 1);
		}
		printf("]}\n");
	} else {
		printf("%-32s %8s  %-20s %s\n", "NAME", "VERSION", "UPDATED", "BY");
		for (size_t i = 0; i < n; i++) {
			if (list[i].updated_ms)
				human_time(list[i].updated_ms, when, sizeof(when));
			else
				snprintf(when, sizeof(when), "-");
			text_str(stdout, list[i].name);
			printf("%*s %8llu  %-20s ", (int)(32 - strlen(list[i].name)), "",
			       (unsigned long long)list[i].version, when);
			text_str(stdout, list[i].updated_by[0] ? list[i].updated_by : "(default)");
			putchar('\n');
		}
		printf("policy epoch %llu%s\n", (unsigned long long)epoch,
		       n ? "" : "; no policies: every read is denied");
	}
	sluice_policy_list_free(list, n);
	return 0;
}

static int policy_explain(struct cli *c)
{
	struct sluice_policy_decision d;
	char ns[64];
	const char *name;
	int rc;

	if (c->n_args != 2 || cli_split(c->args[1], ns, sizeof(ns), &name, 0))
		return 2;
	if (c->action && strcmp(c->action, "read") != 0 && strcmp(c->action, "stat") != 0)
		return cli_error("--action takes read or stat") + 1;
	if (cli_connect(c))
		return 1;
	rc = sluice_policy_explain(c->s, ns, name, c->as, c->purpose, c->action, &d);
	if (rc)
		return cli_fail(c, rc, "policy explain");
	if (c->json) {
		printf("{\"allow\":%s,\"object\":", d.allow ? "true" : "false");
		json_str(stdout, c->args[1]);
		printf(",\"principal\":");
		json_str(stdout, d.principal);
		printf(",\"purpose\":");
		json_str(stdout, d.purpose);
		printf(",\"action\":");
		json_str(stdout, d.action);
		printf(",\"policy\":");
		json_str(stdout, d.policy);
		printf(",\"version\":%llu,\"rule\":", (unsigned long long)d.version);
		json_str(stdout, d.rule);
		printf(",\"reason\":");
		json_str(stdout, d.reason);
		printf(",\"epoch\":%llu}\n", (unsigned long long)d.epoch);
	} else {
		printf("%s: ", d.allow ? "allow" : "deny");
		text_str(stdout, d.action);
		printf(" of ");
		text_str(stdout, c->args[1]);
		printf(" by ");
		text_str(stdout, d.principal);
		printf(" for purpose ");
		text_str(stdout, d.purpose[0] ? d.purpose : "(none)");
		printf("\n  decided by: ");
		if (d.policy[0]) {
			printf("policy ");
			text_str(stdout, d.policy);
			printf(" version %llu, rule ", (unsigned long long)d.version);
			text_str(stdout, d.rule[0] ? d.rule : "-");
		} else {
			printf("%s", d.allow ? "-" : "no rule (a fail-closed check or no policy allows)");
		}
		printf("\n  reason: ");
		text_str(stdout, d.reason);
		printf("\n  policy epoch %llu\n", (unsigned long long)d.epoch);
	}
	return d.allow ? 0 : 1;
}

static int policy_test(struct cli *c)
{
	struct sluice_policy_test t;
	char *text;
	int rc;

	if (c->n_args != 2 && c->n_args != 3)
		return 2;
	if (read_doc(c->args[1], &text))
		return 1;
	if (cli_connect(c)) {
		free(text);
		return 1;
	}
	rc = sluice_policy_test(c->s, c->n_args == 3 ? c->args[2] : NULL, text, &t);
	free(text);
	if (rc)
		return cli_fail(c, rc, "policy test");
	if (c->json) {
		printf("{\"name\":");
		json_str(stdout, t.name);
		printf(",\"replaces\":%s,\"objects\":%u,\"principals\":%u,\"truncated\":%s,"
		       "\"changes\":[", t.replaces ? "true" : "false", t.objects, t.principals,
		       t.truncated ? "true" : "false");
		for (size_t i = 0; i < t.n; i++) {
			const struct sluice_policy_change *ch = &t.changes[i];

			printf(i ? ",{\"object\":" : "{\"object\":");
			json_str(stdout, ch->object);
			printf(",\"principal\":");
			json_str(stdout, ch->principal);
			printf(",\"purpose\":");
			json_str(stdout, ch->purpose);
			printf(",\"action\":");
			json_str(stdout, ch->action);
			printf(",\"before\":\"%s\",\"after\":\"%s\",\"rule_before\":",
			       ch->before ? "allow" : "deny", ch->after ? "allow" : "deny");
			json_str(stdout, ch->rule_before);
			printf(",\"rule_after\":");
			json_str(stdout, ch->rule_after);
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("policy ");
		text_str(stdout, t.name);
		printf(" (%s): %zu decision%s would change over %u object%s and %u principal%s%s\n",
		       t.replaces ? "replacing the stored one" : "new", t.n, t.n == 1 ? "" : "s",
		       t.objects, t.objects == 1 ? "" : "s", t.principals,
		       t.principals == 1 ? "" : "s",
		       t.truncated ? " (sample or changes cut short)" : "");
		for (size_t i = 0; i < t.n; i++) {
			const struct sluice_policy_change *ch = &t.changes[i];

			printf("  %s -> %s  ", ch->before ? "allow" : "deny",
			       ch->after ? "allow" : "deny");
			text_str(stdout, ch->action);
			putchar(' ');
			text_str(stdout, ch->object);
			printf(" by ");
			text_str(stdout, ch->principal);
			printf(" for ");
			text_str(stdout, ch->purpose);
			printf("  (");
			text_str(stdout, ch->rule_before);
			printf(" -> ");
			text_str(stdout, ch->rule_after);
			printf(")\n");
		}
		printf("nothing was stored\n");
	}
	sluice_policy_test_free(&t);
	return 0;
}

int cmd_policy(struct cli *c)
{
	const char *verb = c->n_args ? c->args[0] : "";
	struct sluice_policy *p;
	uint64_t version;
	char *text;
	int rc;

	if (strcmp(verb, "explain") == 0)
		return policy_explain(c);
	if (strcmp(verb, "test") == 0)
		return policy_test(c);
	if (strcmp(verb, "list") == 0 && c->n_args == 1)
		return cli_connect(c) ? 1 : policy_list(c);
	if (strcmp(verb, "set") == 0 && c->n_args == 3) {
		if (read_doc(c->args[2], &text))
			return 1;
		rc = cli_connect(c) ? 1 : sluice_policy_set(c->s, c->args[1], text, &version);
		free(text);
		if (rc)
			return rc == 1 ? 1 : cli_fail(c, rc, "policy set");
		if (c->json) {
			printf("{\"name\":");
			json_str(stdout, c->args[1]);
			printf(",\"version\":%llu}\n", (unsigned long long)version);
		} else {
			printf("policy ");
			text_str(stdout, c->args[1]);
			printf(" set: version %llu\n", (unsigned long long)version);
		}
		return 0;
	}
	if (strcmp(verb, "get") == 0 && c->n_args == 2) {
		if (cli_connect(c))
			return 1;
		rc = sluice_policy_get(c->s, c->args[1], &p);
		if (rc)
			return cli_fail(c, rc, "policy get");
		if (c->json) {
			json_policy(p, 1);
			putchar('\n');
		} else {
			printf("# policy ");
			text_str(stdout, p->name);
			printf(", version %llu\n", (unsigned long long)p->version);
			print_text(p->text);
		}
		sluice_policy_free(p);
		return 0;
	}
	if (strcmp(verb, "rm") == 0 && c->n_args == 2) {
		if (cli_connect(c))
			return 1;
		rc = sluice_policy_rm(c->s, c->args[1]);
		if (rc)
			return cli_fail(c, rc, "policy rm");
		if (c->json) {
			printf("{\"removed\":");
			json_str(stdout, c->args[1]);
			printf("}\n");
		} else {
			printf("removed policy ");
			text_str(stdout, c->args[1]);
			putchar('\n');
		}
		return 0;
	}
	return 2;
}

/* Splits --values at commas into list (pointers into buf); -EINVAL on an empty value. */
static int split_values(char *buf, const char **list, size_t *n, size_t max)
{
	char *save = NULL;

	*n = 0;
	if (!buf[0])
		return 0;
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return -EINVAL;
	for (char *v = strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
		if (*n == max)
			return -E2BIG;
		list[(*n)++] = v;
	}
	return 0;
}

static int tagdef_list(struct cli *c)
{
	struct sluice_tagdef *defs;
	size_t n;
	int builtin, rc = sluice_tagdef_list(c->s, &defs, &n, &builtin);

	if (rc)
		return cli_fail(c, rc, "tagdef list");
	if (c->json)
		printf("{\"builtin\":%s,\"keys\":[", builtin ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		const struct sluice_tagdef *d = &defs[i];

		if (c->json) {
			printf(i ? ",{\"key\":" : "{\"key\":");
			json_str(stdout, d->key);
			printf(",\"values\":[");
			for (size_t j = 0; j < d->n_values; j++) {
				printf(j ? "," : "");
				json_str(stdout, d->values[j]);
			}
			printf("],\"ordered\":%s,\"mandatory\":%s}", d->ordered ? "true" : "false",
			       d->mandatory ? "true" : "false");
			continue;
		}
		text_str(stdout, d->key);
		printf("%*s ", (int)(d->key[0] && strlen(d->key) < 16 ? 16 - strlen(d->key) : 0),
		       "");
		if (!d->n_values)
			printf("any value");
		for (size_t j = 0; j < d->n_values; j++) {
			printf(j ? (d->ordered ? " < " : ", ") : "");
			text_str(stdout, d->values[j]);
		}
		if (d->ordered || d->mandatory)
			printf("  (%s%s%s)", d->ordered ? "ordered" : "",
			       d->ordered && d->mandatory ? ", " : "",
			       d->mandatory ? "mandatory" : "");
		putchar('\n');
	}
	if (c->json)
		printf("]}\n");
	else if (builtin)
		printf("(the built-in dictionary)\n");
	sluice_tagdef_list_free(defs, n);
	return 0;
}

int cmd_tagdef(struct cli *c)
{
	const char *verb = c->n_args ? c->args[0] : "";
	const char *values[64];
	char *buf;
	size_t n = 0;
	int rc;

	if (strcmp(verb, "list") == 0 && c->n_args == 1)
		return cli_connect(c) ? 1 : tagdef_list(c);
	if (strcmp(verb, "rm") == 0 && c->n_args == 2) {
		if (cli_connect(c))
			return 1;
		rc = sluice_tagdef_rm(c->s, c->args[1]);
		if (rc)
			return cli_fail(c, rc, "tagdef rm");
		printf(c->json ? "{\"removed\":" : "removed tag key ");
		(c->json ? json_str : text_str)(stdout, c->args[1]);
		printf(c->json ? "}\n" : "\n");
		return 0;
	}
	if (strcmp(verb, "set") != 0 || c->n_args != 2)
		return 2;
	buf = strdup(c->values ? c->values : "");
	if (!buf)
		return cli_error("out of memory");
	rc = split_values(buf, values, &n, sizeof(values) / sizeof(values[0]));
	if (rc) {
		free(buf);
		return cli_error(rc == -E2BIG ? "--values takes at most 64 values"
					      : "--values takes V1,V2,... with no empty value") + 1;
	}
	if (c->ordered && !n) {
		free(buf);
		return cli_error("--ordered needs --values, least sensitive first") + 1;
	}
	rc = cli_connect(c) ? 1
			    : sluice_tagdef_set(c->s, c->args[1], values, n, c->ordered,
						c->mandatory);
	free(buf);
	if (rc)
		return rc == 1 ? 1 : cli_fail(c, rc, "tagdef set");
	if (c->json) {
		printf("{\"key\":");
		json_str(stdout, c->args[1]);
		printf(",\"values\":%zu,\"ordered\":%s,\"mandatory\":%s}\n", n,
		       c->ordered ? "true" : "false", c->mandatory ? "true" : "false");
	} else {
		printf("tag key ");
		text_str(stdout, c->args[1]);
		printf(" set: %s%s\n", n ? (c->ordered ? "ordered values" : "values") : "any value",
		       c->mandatory ? ", mandatory" : "");
	}
	return 0;
}
