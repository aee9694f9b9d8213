/*
 * Policies and the tag dictionary as a tenant's admin drives them through
 * the CLI, enforced on real reads: the documented examples stored with
 * `sluice policy set` (an allow with an except list, a deny that wins over
 * an allow), the default set and the deny-by-default once it is removed,
 * purposes no role holds, objects untagged or with values the dictionary
 * does not know, stat allowed apart from read, `policy explain` (exit code
 * and deciding rule), `policy test` (changes reported, nothing stored),
 * versions, and the dictionary with the ASSIGN, DECLASSIFY and namespace
 * inheritance rules on tags, each refusal audited.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static struct tcluster cl;
static char out[65536];
static char root_cred[400], alice_cred[400], intern_cred[400], w_cred[400], eve_cred[400],
	reader_cred[400];

/* The examples of docs/security.md ("Policies"). */
static const char train_policy[] =
	"policy train-pseudonymized allow to role:researcher except user:intern-7\n"
	"  actions read,stat purposes training\n"
	"  when classification in {public,internal} and pii in {none,pseudonymous} and region in {eu}\n";
static const char no_direct_policy[] =
	"policy no-direct-pii-inference deny to role:* actions read purposes inference when pii = direct\n";
static const char inference_policy[] =
	"# every role may read anything for inference, but see no-direct-pii-inference\n"
	"policy inference-all allow to role:* actions read,stat purposes inference\n";

/* Runs the CLI as the principal of cred with the arguments (NULL-terminated). */
static int sluice_as(const char *cred, const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = tc_cli_va(cred, out, sizeof(out), first, ap);
	va_end(ap);
	return rc;
}

static void cred_path(char *buf, size_t len, const char *who)
{
	snprintf(buf, len, "%s/lab-%s.cred", cl.dir, who);
}

/* Writes text to <dir>/<file> and returns the path in buf. */
static const char *doc(char *buf, size_t len, const char *file, const char *text)
{
	FILE *f;

	snprintf(buf, len, "%s/%s", cl.dir, file);
	f = fopen(buf, "w");
	cr_assert(f, "cannot write %s", buf);
	cr_assert(fputs(text, f) >= 0);
	fclose(f);
	return buf;
}

static void setup(void)
{
	tc_start(&cl, 1);
	cred_path(root_cred, sizeof(root_cred), "root");
	cred_path(alice_cred, sizeof(alice_cred), "alice");
	cred_path(intern_cred, sizeof(intern_cred), "intern-7");
	cred_path(w_cred, sizeof(w_cred), "w");
	cred_path(eve_cred, sizeof(eve_cred), "eve");
	cred_path(reader_cred, sizeof(reader_cred), "reader");
	/* The tenant's root holds the custom role its policies name, so it can hand it out. */
	cr_assert_eq(sluice_as(cl.admin_cred, "tenant", "create", "lab", NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(cl.admin_cred, "principal", "create", "root", "--tenant", "lab",
			       "--role", "admin", "--role", "writer", "--role", "reader", "--role",
			       "researcher", "--purpose", "training", "--purpose", "inference",
			       "--clearance", "restricted", "--out", root_cred, NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "principal", "create", "alice", "--role", "reader",
			       "--role", "researcher", "--purpose", "training", "--purpose",
			       "inference", "--clearance", "restricted", "--out", alice_cred, NULL),
		     0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "principal", "create", "intern-7", "--role", "reader",
			       "--role", "researcher", "--purpose", "training", "--clearance",
			       "restricted", "--out", intern_cred, NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "principal", "create", "w", "--role", "writer",
			       "--purpose", "inference", "--clearance", "restricted", "--out", w_cred,
			       NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "principal", "create", "eve", "--role", "reader",
			       "--purpose", "training", "--clearance", "public", "--out", eve_cred,
			       NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "principal", "create", "reader", "--role", "reader",
			       "--purpose", "inference", "--clearance", "restricted", "--out",
			       reader_cred, NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "ns", "create", "data", "--shard-size", "65536", NULL),
		     0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "ns", "create", "secure", "--tag",
			       "classification=confidential", NULL), 0, "%s", out);
}

static void teardown(void)
{
	tc_stop(&cl);
}

TestSuite(policy, .init = setup, .fini = teardown, .timeout = 240);

static sluice_session *open_as(const char *cred, const char *purpose)
{
	sluice_session *s = NULL;

	cr_assert_eq(sluice_open_file(cred, NULL, purpose, &s), 0);
	return s;
}

/* Puts ns/name with the given tags ("k=v" strings, NULL-terminated) as root. */
static void put(const char *ns, const char *name, ...)
{
	struct sluice_tag tags[8];
	char store[8][64];
	size_t n = 0;
	sluice_session *root = open_as(root_cred, "inference");
	va_list ap;
	const char *kv;

	va_start(ap, name);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		char *eq;

		cr_assert_lt(n, 8);
		snprintf(store[n], sizeof(store[n]), "%s", kv);
		eq = strchr(store[n], '=');
		cr_assert(eq);
		*eq = '\0';
		tags[n] = (struct sluice_tag){ store[n], eq + 1 };
		n++;
	}
	va_end(ap);
	cr_assert_eq(sluice_put(root, ns, name, name, strlen(name), tags, n), 0, "put %s: %s",
		     name, sluice_last_error(root));
	sluice_close(root);
}

/* Reads ns/name as the principal of cred declaring purpose: 0 or the SDK's error. */
static int read_as(const char *cred, const char *purpose, const char *ns, const char *name)
{
	sluice_session *s = open_as(cred, purpose);
	char buf[64];
	size_t got;
	int rc = sluice_read(s, ns, name, 0, buf, sizeof(buf), &got);

	if (!rc)
		cr_assert_eq(got, strlen(name));
	sluice_close(s);
	return rc;
}

/* How many audit records of event on object have decision and a reason containing what. */
static int audited(const char *event, const char *object, const char *decision, const char *what)
{
	sluice_session *root = open_as(root_cred, "inference");
	struct sluice_audit_record *rec;
	size_t n;
	int chain_ok = 0, found = 0;

	cr_assert_eq(sluice_audit_list(root, 0, 1000, &rec, &n, &chain_ok, NULL), 0, "%s",
		     sluice_last_error(root));
	cr_assert(chain_ok);
	for (size_t i = 0; i < n; i++)
		found += strcmp(rec[i].event, event) == 0 && strcmp(rec[i].object, object) == 0 &&
			 strcmp(rec[i].decision, decision) == 0 && strstr(rec[i].reason, what);
	sluice_audit_free(rec, n);
	sluice_close(root);
	return found;
}

Test(policy, documented_examples_are_enforced_on_reads)
{
	char p1[400], p2[400], p3[400];

	put("data", "a", "classification=internal", "pii=pseudonymous", "region=eu", NULL);
	put("data", "b", "classification=internal", "pii=direct", "region=eu", NULL);
	put("data", "c", "classification=confidential", "pii=none", "region=eu", NULL);
	put("data", "d", "classification=public", "pii=none", "region=us", NULL);

	cr_assert_eq(sluice_as(root_cred, "policy", "set", "train-pseudonymized",
			       doc(p1, sizeof(p1), "train.pol", train_policy), NULL), 0, "%s", out);
	cr_assert(strstr(out, "policy train-pseudonymized set: version 1"), "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "set", "no-direct-pii-inference",
			       doc(p2, sizeof(p2), "nodirect.pol", no_direct_policy), NULL), 0, "%s",
		     out);
	cr_assert_eq(sluice_as(root_cred, "policy", "set", "inference-all",
			       doc(p3, sizeof(p3), "inference.pol", inference_policy), NULL), 0,
		     "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "rm", "clearance", NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "list", NULL), 0, "%s", out);
	cr_assert(strstr(out, "train-pseudonymized") && strstr(out, "no-direct-pii-inference") &&
		  strstr(out, "inference-all") && !strstr(out, "clearance "), "%s", out);

	/* The allow: a researcher training on eu data that is at most internal and pseudonymous. */
	cr_expect_eq(read_as(alice_cred, "training", "data", "a"), 0);
	cr_expect_eq(read_as(alice_cred, "training", "data", "b"), -EACCES, "pii direct");
	cr_expect_eq(read_as(alice_cred, "training", "data", "c"), -EACCES, "confidential");
	cr_expect_eq(read_as(alice_cred, "training", "data", "d"), -EACCES, "region us");
	/* The except list gets nothing, though intern-7 holds the role and the purpose. */
	cr_expect_eq(read_as(intern_cred, "training", "data", "a"), -EACCES);
	/* The deny wins over inference-all's allow, for direct pii only. */
	cr_expect_eq(read_as(alice_cred, "inference", "data", "a"), 0);
	cr_expect_eq(read_as(alice_cred, "inference", "data", "b"), -EACCES);
	/* A purpose none of alice's roles allows: fail closed, whatever the policies. */
	cr_expect_eq(read_as(alice_cred, "marketing", "data", "a"), -EACCES);

	cr_expect_eq(audited("read.grant", "data/a", "allow",
			     "allowed by policy train-pseudonymized version 1 rule "
			     "train-pseudonymized"), 1);
	cr_expect_eq(audited("read.grant", "data/b", "deny",
			     "denied by policy no-direct-pii-inference version 1 rule "
			     "no-direct-pii-inference"), 1);
	cr_expect_eq(audited("read.grant", "data/a", "deny", "purpose"), 1);
	cr_expect_geq(audited("read.grant", "data/a", "deny", "no policy allows"), 1);
	cr_expect_eq(audited("policy.rm", "clearance", "done", "policy clearance v1 -> (removed)"),
		     1);
	cr_expect_eq(audited("policy.set", "train-pseudonymized", "done",
			     "policy train-pseudonymized (none) -> v1"), 1);
}

Test(policy, untagged_and_unknown_values_fail_closed)
{
	put("data", "no-pii", "classification=internal", NULL);
	put("data", "apac", "classification=internal", "pii=none", "region=apac", NULL);
	put("data", "eu", "classification=internal", "pii=none", "region=eu", NULL);
	cr_assert_eq(read_as(alice_cred, "inference", "data", "no-pii"), 0);
	cr_assert_eq(read_as(alice_cred, "inference", "data", "apac"), 0);

	/* pii now mandatory, region eu or us only: the objects above no longer qualify. */
	cr_assert_eq(sluice_as(root_cred, "tagdef", "set", "pii", "--values",
			       "none,pseudonymous,direct", "--ordered", "--mandatory", NULL), 0,
		     "%s", out);
	cr_assert_eq(sluice_as(root_cred, "tagdef", "set", "region", "--values", "eu,us", NULL), 0,
		     "%s", out);
	cr_expect_eq(read_as(alice_cred, "inference", "data", "no-pii"), -EACCES);
	cr_expect_eq(read_as(alice_cred, "inference", "data", "apac"), -EACCES);
	cr_expect_eq(read_as(alice_cred, "inference", "data", "eu"), 0);
	cr_expect_eq(audited("read.grant", "data/no-pii", "deny", "no 'pii' tag"), 1);
	cr_expect_eq(audited("read.grant", "data/apac", "deny", "dictionary does not allow"), 1);
	/* And new tags must take the dictionary's values. */
	cr_expect_eq(sluice_as(root_cred, "tag", "data/eu", "region=apac", NULL), 1);
	cr_expect(strstr(out, "region must be eu or us"), "%s", out);
}

Test(policy, default_set_then_deny_by_default_and_versions)
{
	char p[400];

	put("data", "memo", "classification=internal", NULL);
	cr_assert_eq(sluice_as(root_cred, "policy", "list", "--json", NULL), 0, "%s", out);
	cr_assert(strstr(out, "\"epoch\":0,\"policies\":[{\"name\":\"clearance\",\"version\":1"),
		  "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "get", "clearance", NULL), 0, "%s", out);
	cr_assert(strstr(out, "classification <= clearance"), "%s", out);
	cr_assert_eq(read_as(alice_cred, "inference", "data", "memo"), 0);

	cr_assert_eq(sluice_as(root_cred, "policy", "rm", "clearance", NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "list", NULL), 0, "%s", out);
	cr_assert(strstr(out, "no policies: every read is denied"), "%s", out);
	cr_assert_eq(read_as(alice_cred, "inference", "data", "memo"), -EACCES);
	cr_assert_eq(sluice_as(root_cred, "policy", "get", "clearance", NULL), 1);
	cr_assert(strstr(out, "no such policy: clearance"), "%s", out);

	/* Set again: the version goes on from the removed one's. */
	doc(p, sizeof(p), "clearance.pol",
	    "policy clearance allow to role:* actions read,stat when classification <= clearance\n");
	cr_assert_eq(sluice_as(root_cred, "policy", "set", "clearance", p, NULL), 0, "%s", out);
	cr_assert(strstr(out, "version 2"), "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "set", "clearance", p, "--json", NULL), 0);
	cr_assert(strstr(out, "\"version\":3"), "%s", out);
	cr_assert_eq(read_as(alice_cred, "inference", "data", "memo"), 0);
	cr_assert_eq(sluice_as(root_cred, "policy", "list", "--json", NULL), 0, "%s", out);
	cr_assert(strstr(out, "\"epoch\":3"), "%s", out);

	/* A document that does not parse, or names what the dictionary lacks: line and column. */
	doc(p, sizeof(p), "bad.pol", "policy x allow to role:*\n  when colour = red\n");
	cr_expect_eq(sluice_as(root_cred, "policy", "set", "x", p, NULL), 1);
	cr_expect(strstr(out, "policy set: policy x: line 2, column"), "%s", out);
	doc(p, sizeof(p), "bad2.pol", "policy x allow to role:* frobnicate\n");
	cr_expect_eq(sluice_as(root_cred, "policy", "set", "x", p, NULL), 1);
	cr_expect(strstr(out, "line 1, column"), "%s", out);
	/* Governance state is the admin's. */
	cr_expect_eq(sluice_as(alice_cred, "policy", "set", "x", p, NULL), 1);
	cr_expect(strstr(out, "admin role"), "%s", out);
	cr_expect_eq(sluice_as(alice_cred, "policy", "list", NULL), 1);
	cr_expect_eq(audited("policy.set", "x", "deny", "needs the admin role"), 1);
}

Test(policy, stat_is_allowed_apart_from_read)
{
	char p[400];
	sluice_session *eve;
	struct sluice_object *o = NULL, **list;
	size_t n;
	char buf[8];
	size_t got;

	put("data", "report", "classification=internal", NULL);
	eve = open_as(eve_cred, "training");
	/* eve is cleared to public only: the default policy gives her neither. */
	cr_expect_eq(sluice_stat(eve, "data", "report", &o), -EACCES);
	doc(p, sizeof(p), "eve.pol", "policy eve-stat allow to user:eve actions stat\n");
	cr_assert_eq(sluice_as(root_cred, "policy", "set", "eve-stat", p, NULL), 0, "%s", out);
	cr_expect_eq(sluice_stat(eve, "data", "report", &o), 0, "%s", sluice_last_error(eve));
	cr_expect_eq(o ? o->size : 0, 6);
	sluice_object_free(o);
	cr_expect_eq(sluice_read(eve, "data", "report", 0, buf, sizeof(buf), &got), -EACCES);
	cr_assert_eq(sluice_list(eve, "data", "", NULL, 0, &list, &n, NULL), 0);
	cr_expect_eq(n, 1);
	cr_expect(n && !list[0]->withheld && list[0]->size == 6);
	sluice_list_free(list, n);
	sluice_close(eve);
	cr_expect_eq(audited("read.grant", "data/report", "deny", "no policy allows"), 1);
}

Test(policy, explain_names_the_deciding_rule_and_exits_by_it)
{
	char p[400];

	put("data", "a", "classification=internal", "pii=direct", NULL);
	cr_assert_eq(sluice_as(root_cred, "policy", "explain", "data/a", "--as", "alice", NULL), 0,
		     "%s", out);
	cr_assert(strstr(out, "allow: read of data/a by alice for purpose inference"), "%s", out);
	cr_assert(strstr(out, "decided by: policy clearance version 1, rule clearance"), "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "explain", "data/a", "--as", "eve",
			       "--purpose", "training", "--action", "stat", NULL), 1, "%s", out);
	cr_assert(strstr(out, "deny: stat of data/a by eve for purpose training"), "%s", out);
	cr_assert(strstr(out, "no policy allows"), "%s", out);

	doc(p, sizeof(p), "nodirect.pol", no_direct_policy);
	cr_assert_eq(sluice_as(root_cred, "policy", "set", "no-direct-pii-inference", p, NULL), 0);
	cr_assert_eq(sluice_as(root_cred, "policy", "explain", "data/a", "--as", "alice",
			       "--json", NULL), 1, "%s", out);
	cr_assert(strstr(out, "\"allow\":false"), "%s", out);
	cr_assert(strstr(out, "\"policy\":\"no-direct-pii-inference\",\"version\":1,"
			      "\"rule\":\"no-direct-pii-inference\""), "%s", out);
	cr_assert(strstr(out, "\"epoch\":1"), "%s", out);
	/* The caller by default, and what explain says is what a read gets. */
	cr_assert_eq(sluice_as(root_cred, "policy", "explain", "data/a", "--purpose", "training",
			       NULL), 0, "%s", out);
	cr_assert(strstr(out, "by root"), "%s", out);
	cr_expect_eq(read_as(alice_cred, "inference", "data", "a"), -EACCES);
	cr_expect_eq(read_as(alice_cred, "training", "data", "a"), 0);
	/* Missing things are errors, not decisions. */
	cr_expect_eq(sluice_as(root_cred, "policy", "explain", "data/nope", NULL), 1);
	cr_expect(strstr(out, "no such object: data/nope"), "%s", out);
	cr_expect_eq(sluice_as(root_cred, "policy", "explain", "data/a", "--as", "nobody", NULL), 1);
	cr_expect(strstr(out, "no such principal: nobody"), "%s", out);
	cr_expect_eq(sluice_as(root_cred, "policy", "explain", "data/a", "--action", "write",
			       NULL), 2);
}

Test(policy, test_reports_changes_and_stores_nothing)
{
	char p[400];

	put("data", "a", "classification=internal", "pii=direct", NULL);
	put("data", "b", "classification=internal", "pii=none", NULL);
	doc(p, sizeof(p), "nodirect.pol", no_direct_policy);
	cr_assert_eq(sluice_as(root_cred, "policy", "test", p, NULL), 0, "%s", out);
	cr_assert(strstr(out, "policy no-direct-pii-inference (new):"), "%s", out);
	/* alice, reader, root and w... hold inference: only direct pii reads change. */
	cr_assert(strstr(out, "allow -> deny  read data/a by alice for inference"), "%s", out);
	cr_assert(strstr(out, "(clearance v1/clearance -> no-direct-pii-inference v1/"
			      "no-direct-pii-inference)"), "%s", out);
	cr_assert_null(strstr(out, "data/b"), "%s", out);
	cr_assert_null(strstr(out, " stat "), "%s", out);
	cr_assert(strstr(out, "nothing was stored"), "%s", out);
	cr_assert_eq(sluice_as(root_cred, "policy", "test", p, "--json", NULL), 0, "%s", out);
	cr_assert(strstr(out, "\"replaces\":false,\"objects\":2,"), "%s", out);
	cr_assert(strstr(out, "{\"object\":\"data/a\",\"principal\":\"alice\",\"purpose\":"
			      "\"inference\",\"action\":\"read\",\"before\":\"allow\","
			      "\"after\":\"deny\""), "%s", out);

	/* Nothing stored: the set, its epoch and the reads are as they were. */
	cr_assert_eq(sluice_as(root_cred, "policy", "list", "--json", NULL), 0, "%s", out);
	cr_assert(strstr(out, "\"epoch\":0,") && !strstr(out, "no-direct"), "%s", out);
	cr_expect_eq(read_as(alice_cred, "inference", "data", "a"), 0);

	/* Tested under the name of a stored policy, it replaces that one. */
	doc(p, sizeof(p), "none.pol", "policy clearance allow to user:root\n");
	cr_assert_eq(sluice_as(root_cred, "policy", "test", p, "clearance", NULL), 0, "%s", out);
	cr_assert(strstr(out, "policy clearance (replacing the stored one)"), "%s", out);
	cr_assert(strstr(out, "allow -> deny  read data/b by alice for training"), "%s", out);
	cr_assert(strstr(out, "allow -> deny  stat data/b by alice for training"), "%s", out);
	cr_assert_null(strstr(out, "by root"), "%s", out);
}

Test(policy, dictionary_and_the_rights_on_tags)
{
	sluice_session *root = open_as(root_cred, "inference"), *w = open_as(w_cred, "inference");
	sluice_session *reader = open_as(reader_cred, "inference");
	const struct sluice_tag conf[] = { { "classification", "confidential" } };
	const struct sluice_tag intl[] = { { "classification", "internal" } };
	const struct sluice_tag restr[] = { { "classification", "restricted" } };
	const struct sluice_tag pii_none[] = { { "pii", "none" } };
	const char *const rm_pii[] = { "pii" };

	/* The built-in dictionary, then one key defined by the tenant. */
	cr_assert_eq(sluice_as(w_cred, "tagdef", "list", NULL), 0, "%s", out);
	cr_assert(strstr(out, "classification   public < internal < confidential < restricted  "
			      "(ordered, mandatory)"), "%s", out);
	cr_assert(strstr(out, "(the built-in dictionary)"), "%s", out);
	cr_assert_eq(sluice_as(w_cred, "tagdef", "set", "team", "--values", "a,b", NULL), 1);
	cr_assert(strstr(out, "admin role"), "%s", out);
	cr_assert_eq(sluice_as(root_cred, "tagdef", "set", "team", "--values", "vision,speech",
			       NULL), 0, "%s", out);
	cr_assert_eq(sluice_as(root_cred, "tagdef", "list", "--json", NULL), 0, "%s", out);
	cr_assert(strstr(out, "{\"builtin\":false,"), "%s", out);
	cr_assert(strstr(out, "{\"key\":\"team\",\"values\":[\"vision\",\"speech\"],"
			      "\"ordered\":false,\"mandatory\":false}"), "%s", out);
	cr_expect_eq(audited("tagdef.set", "team", "done", "tagdef team: (none) -> vision, speech"),
		     1);
	cr_assert_eq(sluice_as(root_cred, "tagdef", "set", "team", "--ordered", NULL), 2);

	/* ASSIGN: a writer tags by its role; a reader may not. */
	cr_assert_eq(sluice_put(w, "data", "x", "x", 1, conf, 1), 0, "%s", sluice_last_error(w));
	cr_expect_eq(sluice_set_tags(reader, "data", "x", restr, 1, NULL, 0), -EPERM);
	cr_expect_str_eq(sluice_last_error(reader), "setting tags needs the assign right");
	cr_expect_eq(audited("object.tags", "data/x", "deny", "tags without the assign right: "
			     "classification confidential -> restricted"), 1);
	/* DECLASSIFY: the writer may raise and add, not lower or remove. */
	cr_expect_eq(sluice_set_tags(w, "data", "x", intl, 1, NULL, 0), -EPERM);
	cr_expect(strstr(sluice_last_error(w), "declassify right"), "%s", sluice_last_error(w));
	cr_expect_eq(audited("object.tags", "data/x", "deny", "declassify without the right: "
			     "classification confidential -> internal"), 1);
	cr_expect_eq(sluice_set_tags(w, "data", "x", pii_none, 1, NULL, 0), 0);
	cr_expect_eq(sluice_set_tags(w, "data", "x", NULL, 0, rm_pii, 1), 0,
		     "pii none is the least sensitive: removing it declassifies nothing");
	cr_expect_eq(sluice_set_tags(w, "data", "x", restr, 1, NULL, 0), 0);
	/* The admin declassifies, audited old -> new. */
	cr_expect_eq(sluice_set_tags(root, "data", "x", intl, 1, NULL, 0), 0, "%s",
		     sluice_last_error(root));
	cr_expect_eq(audited("object.tags", "data/x", "done",
			     "classification restricted -> internal"), 1);
	/* Values come from the dictionary; mandatory keys stay. */
	cr_expect_eq(sluice_as(root_cred, "tag", "data/x", "team=infra", NULL), 1);
	cr_expect(strstr(out, "team must be vision or speech"), "%s", out);
	cr_expect_eq(sluice_as(root_cred, "tag", "data/x", "--remove", "classification", NULL), 1);
	cr_expect(strstr(out, "classification cannot be removed, only changed"), "%s", out);

	/* The namespace's classification is a floor, whatever the rights. */
	cr_expect_eq(sluice_put(root, "secure", "low", "l", 1, intl, 1), -EPERM);
	cr_expect(strstr(sluice_last_error(root), "below its namespace's confidential"), "%s",
		  sluice_last_error(root));
	cr_expect_eq(audited("object.put", "secure/low", "deny", "below its namespace's"), 1);
	cr_assert_eq(sluice_put(root, "secure", "inherits", "i", 1, NULL, 0), 0);
	cr_assert_eq(sluice_put(root, "secure", "high", "h", 1, restr, 1), 0);
	cr_expect_eq(sluice_set_tags(root, "secure", "high", intl, 1, NULL, 0), -EPERM);
	cr_expect_eq(audited("object.tags", "secure/high", "deny",
			     "classification internal is below its namespace's confidential"), 1);
	cr_expect_eq(sluice_set_tags(root, "secure", "high", conf, 1, NULL, 0), 0, "%s",
		     sluice_last_error(root));
	cr_assert_eq(sluice_as(root_cred, "stat", "secure/inherits", NULL), 0, "%s", out);
	cr_expect(strstr(out, "classification=confidential"), "%s", out);
	sluice_close(reader);
	sluice_close(w);
	sluice_close(root);
}
