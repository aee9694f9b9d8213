/*
 * Unit tests of the policy language (server/meta/policy.h): the examples of
 * the governance spec parse and decide as it says (deny over allow, the
 * except list never grants, fail closed on an undeclared purpose, a missing
 * or unknown tag value and a policy over a key the dictionary lacks, the
 * clearance rule), malformed documents fail with the line, column and what
 * was expected, and every bound is enforced.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define EXAMPLE_TRAIN                                                                      \
	"policy train-pseudonymized allow to role:researcher except user:intern-7\n"       \
	"  actions read,stat purposes training\n"                                          \
	"  when classification in {public,internal} and pii in {none,pseudonymous} and " \
	"region in {eu}\n"
#define EXAMPLE_NO_DIRECT \
	"policy no-direct-pii-inference deny to role:* actions read purposes inference when pii = direct\n"
#define EXAMPLE_CLEARANCE \
	"policy clearance allow to role:* actions read,stat when classification <= clearance\n"

static struct sl_policy *parse_ok(const char *text)
{
	struct sl_policy *p = NULL;
	char err[256];
	int rc = sl_policy_parse(text, strlen(text), &p, err, sizeof(err));

	cr_assert_eq(rc, 0, "parse failed (%d): %s\n%s", rc, err, text);
	cr_assert_not_null(p);
	return p;
}

/* Parses text expecting rc, and err to start with want (when given). */
static void parse_fails(const char *text, size_t len, int want_rc, const char *want)
{
	struct sl_policy *p = NULL;
	char err[256];
	int rc = sl_policy_parse(text, len, &p, err, sizeof(err));

	cr_expect_eq(rc, want_rc, "rc %d, want %d (%s) for:\n%.200s", rc, want_rc, err, text);
	cr_expect_null(p);
	if (want)
		cr_expect(strncmp(err, want, strlen(want)) == 0, "error \"%s\", want \"%s...\"", err,
			  want);
	else
		cr_expect(err[0] != '\0', "no error message");
}

/* A request and the one-document set it runs against (the default dictionary). */
struct fixture {
	char *roles[2];
	char *purposes[2];
	struct sl_pol_subject who;
	Sluice__Tag tag[4];
	Sluice__Tag *tags[4];
	struct sl_pol_request rq;
	const struct sl_policy *docs[2];
	const char *names[2];
	uint64_t versions[2];
	struct sl_pol_set set;
	struct sl_pol_decision d;
};

static void fx_init(struct fixture *f, const char *name, const char *role, const char *purpose)
{
	memset(f, 0, sizeof(*f));
	f->roles[0] = (char *)role;
	f->purposes[0] = (char *)purpose;
	f->who = (struct sl_pol_subject){ .name = name, .roles = f->roles, .n_roles = role ? 1 : 0,
					  .purposes = f->purposes, .n_purposes = 1 };
	f->rq = (struct sl_pol_request){ .who = &f->who, .action = SL_POL_READ, .purpose = purpose,
					 .tags = f->tags };
	f->names[0] = "gov";
	f->names[1] = "extra";
	f->versions[0] = 3;
	f->versions[1] = 9;
	f->set = (struct sl_pol_set){ .docs = f->docs, .names = f->names, .versions = f->versions };
	sl_tagdef_defaults(&f->set.defs, &f->set.n_defs);
}

static void fx_tag(struct fixture *f, const char *key, const char *value)
{
	size_t i = f->rq.n_tags++;

	cr_assert(i < 4);
	sluice__tag__init(&f->tag[i]);
	f->tag[i].key = (char *)key;
	f->tag[i].value = (char *)value;
	f->tags[i] = &f->tag[i];
}

static void fx_decide(struct fixture *f)
{
	sl_policy_decide(&f->set, &f->rq, &f->d);
}

static void expect_reason(const struct fixture *f, const char *want)
{
	cr_expect(strstr(f->d.reason, want) != NULL, "reason \"%s\" lacks \"%s\"", f->d.reason,
		  want);
}

/* The governance spec's data: internal, pseudonymized, in the EU. */
static void fx_eu_data(struct fixture *f)
{
	fx_tag(f, "classification", "internal");
	fx_tag(f, "pii", "pseudonymous");
	fx_tag(f, "region", "eu");
}

Test(policy, examples_round_trip)
{
	static const struct {
		const char *text, *name;
		int denies;
	} ex[] = {
		{ EXAMPLE_TRAIN, "train-pseudonymized", 0 },
		{ EXAMPLE_NO_DIRECT, "no-direct-pii-inference", 1 },
		{ EXAMPLE_CLEARANCE, "clearance", 0 },
	};
	struct sl_policy *all = parse_ok(EXAMPLE_TRAIN EXAMPLE_NO_DIRECT EXAMPLE_CLEARANCE);
	const struct sl_tagdef *defs;
	size_t n_defs;
	char err[256];

	sl_tagdef_defaults(&defs, &n_defs);
	cr_assert_eq(sl_policy_rule_count(all), 3);
	for (size_t i = 0; i < 3; i++) {
		struct sl_policy *one = parse_ok(ex[i].text);

		cr_expect_eq(sl_policy_rule_count(one), 1);
		cr_expect_str_eq(sl_policy_rule_name(one, 0), ex[i].name);
		cr_expect_eq(sl_policy_rule_denies(one, 0), ex[i].denies);
		cr_expect_str_eq(sl_policy_rule_name(all, i), ex[i].name);
		cr_expect_eq(sl_policy_rule_denies(all, i), ex[i].denies);
		cr_expect_eq(sl_policy_check(one, defs, n_defs, err, sizeof(err)), 0, "%s", err);
		sl_policy_free(one);
	}
	cr_expect_null(sl_policy_rule_name(all, 3));
	cr_expect_eq(sl_policy_rule_denies(all, 3), -1);
	cr_expect_eq(sl_policy_check(all, defs, n_defs, err, sizeof(err)), 0, "%s", err);
	sl_policy_free(all);

	all = parse_ok(sl_policy_default_text);
	cr_expect_eq(sl_policy_rule_count(all), 1);
	cr_expect_str_eq(sl_policy_rule_name(all, 0), "clearance");
	sl_policy_free(all);
	sl_policy_free(NULL);
}

Test(policy, researcher_allowed_for_training)
{
	struct sl_policy *p = parse_ok(EXAMPLE_TRAIN EXAMPLE_NO_DIRECT);
	struct fixture f;

	fx_init(&f, "alice", "researcher", "training");
	fx_eu_data(&f);
	f.docs[0] = p;
	f.set.n = 1;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	cr_expect_str_eq(f.d.policy, "gov");
	cr_expect_eq(f.d.version, 3);
	cr_expect_str_eq(f.d.rule, "train-pseudonymized");
	expect_reason(&f, "allowed by policy gov version 3 rule train-pseudonymized");

	/* stat too; public data too */
	f.rq.action = SL_POL_STAT;
	f.tag[0].value = "public";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);

	/* outside the rule's value sets: nothing allows */
	f.tag[0].value = "confidential";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	cr_expect_null(f.d.policy);
	cr_expect_null(f.d.rule);
	expect_reason(&f, "no policy allows");
	f.tag[0].value = "internal";
	f.tag[2].value = "us";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "no policy allows");
	/* and a missing region is false for `in` */
	f.rq.n_tags = 2;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);

	/* another role gets nothing */
	fx_init(&f, "bob", "analyst", "training");
	fx_eu_data(&f);
	f.docs[0] = p;
	f.set.n = 1;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "no policy allows");
	sl_policy_free(p);
}

Test(policy, except_list_gets_nothing)
{
	struct sl_policy *p = parse_ok(EXAMPLE_TRAIN);
	struct sl_policy *q = parse_ok("policy intern-deny deny to role:* except user:intern-7 "
				       "when pii = direct\n");
	struct fixture f;

	fx_init(&f, "intern-7", "researcher", "training");
	fx_eu_data(&f);
	f.docs[0] = p;
	f.set.n = 1;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0, "%s", f.d.reason);
	expect_reason(&f, "no policy allows");

	/* Being excepted from a deny grants nothing either. */
	f.docs[0] = q;
	f.tag[1].value = "direct";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "no policy allows");
	/* while everyone else is denied by it */
	f.who.name = "alice";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	cr_expect_str_eq(f.d.rule, "intern-deny");

	/* an except entry by role */
	sl_policy_free(p);
	p = parse_ok("policy r allow to * except role:contractor,user:mallory\n");
	f.docs[0] = p;
	f.who.name = "alice";
	f.tag[1].value = "none";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	f.roles[0] = "contractor";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	f.roles[0] = "researcher";
	f.who.name = "mallory";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	sl_policy_free(p);
	sl_policy_free(q);
}

Test(policy, deny_wins_over_allow)
{
	struct sl_policy *p = parse_ok(EXAMPLE_NO_DIRECT);
	struct sl_policy *open = parse_ok("policy open-inference allow to role:researcher "
					  "purposes inference,training\n");
	struct fixture f;

	fx_init(&f, "alice", "researcher", "inference");
	fx_tag(&f, "classification", "internal");
	fx_tag(&f, "pii", "direct");
	/* the allow comes first in the set; order does not matter */
	f.docs[0] = open;
	f.docs[1] = p;
	f.set.n = 2;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0, "%s", f.d.reason);
	cr_expect_str_eq(f.d.policy, "extra");
	cr_expect_eq(f.d.version, 9);
	cr_expect_str_eq(f.d.rule, "no-direct-pii-inference");
	expect_reason(&f, "denied by policy extra version 9 rule no-direct-pii-inference");

	/* the deny is for reads with purpose inference only */
	f.rq.action = SL_POL_STAT;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	cr_expect_str_eq(f.d.rule, "open-inference");
	f.rq.action = SL_POL_READ;
	f.tag[1].value = "pseudonymous";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	f.tag[1].value = "direct";
	f.purposes[0] = "training";
	f.rq.purpose = "training";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	sl_policy_free(p);
	sl_policy_free(open);
}

Test(policy, default_deny)
{
	struct fixture f;

	fx_init(&f, "alice", "researcher", "training");
	fx_eu_data(&f);
	f.set.n = 0;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	cr_expect_null(f.d.policy);
	cr_expect_str_eq(f.d.reason, "no policy allows");
}

Test(policy, fail_closed_request)
{
	struct sl_policy *p = parse_ok("policy everyone allow to *\n");
	struct fixture f;

	fx_init(&f, "alice", "researcher", "training");
	fx_eu_data(&f);
	f.docs[0] = p;
	f.set.n = 1;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);

	/* a purpose the principal may not declare */
	f.rq.purpose = "marketing";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	cr_expect_null(f.d.policy);
	expect_reason(&f, "fail closed: the declared purpose");
	f.rq.purpose = NULL;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	f.rq.purpose = "training";

	/* no role */
	f.who.n_roles = 0;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "fail closed: the principal has no role");
	f.who.n_roles = 1;

	/* an unknown action */
	f.rq.action = SL_POL_READ | SL_POL_STAT;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "unknown action");
	f.rq.action = SL_POL_READ;

	/* untagged: no classification */
	f.tag[0].key = "license";
	f.tag[0].value = "cc-by";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "fail closed: the object has no 'classification' tag");
	f.rq.n_tags = 0;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "'classification'");
	f.rq.n_tags = 3;
	f.tag[0].key = "classification";
	f.tag[0].value = "internal";

	/* an unknown value of a governed key */
	f.tag[1].value = "maybe";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "fail closed: the object's 'pii' tag has a value");
	cr_expect(strstr(f.d.reason, "maybe") == NULL, "the reason quotes the request");
	f.tag[0].value = "secret";
	f.tag[1].value = "none";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "'classification' tag has a value");

	/* keys outside the dictionary are not checked; free-form keys take any value */
	f.tag[0].value = "internal";
	f.tag[2].key = "team";
	f.tag[2].value = "Whatever Value";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	f.tag[2].key = "region";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	f.tag[2].value = "";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);

	/* a document that did not parse */
	f.tag[2].value = "eu";
	f.docs[1] = NULL;
	f.set.n = 2;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "fail closed: policy extra does not parse");
	sl_policy_free(p);
}

Test(policy, fail_closed_dictionary)
{
	struct sl_policy *p = parse_ok(EXAMPLE_TRAIN);
	struct sl_policy *bad[4];
	static const char *const bad_text[] = {
		"policy proj allow to role:* when project = apollo\n",
		"policy ord allow to role:* when region < eu\n",
		"policy val allow to role:* when pii in {none,maybe}\n",
		"policy clr allow to role:* when pii <= clearance\n",
	};
	static const char *const bad_why[] = {
		"fail closed: policy gov rule proj refers to key 'project' which is not in the tag "
		"dictionary",
		"fail closed: policy gov rule ord refers to key 'region' with '<'",
		"fail closed: policy gov rule val refers to value 'maybe'",
		"fail closed: policy gov rule clr refers to key 'pii' against clearance",
	};
	static const char *const check_err[] = {
		"line 1, column 34: rule proj refers to key 'project'",
		"line 1, column 33: rule ord refers to key 'region' with '<'",
		"line 1, column 33: rule val refers to value 'maybe'",
		"line 1, column 33: rule clr refers to key 'pii' against clearance",
	};
	struct sl_tagdef less[5];
	const struct sl_tagdef *defs;
	size_t n_defs, n_less = 0;
	struct fixture f;
	char err[256];

	sl_tagdef_defaults(&defs, &n_defs);
	for (size_t i = 0; i < 4; i++) {
		bad[i] = parse_ok(bad_text[i]);
		cr_expect_eq(sl_policy_check(bad[i], defs, n_defs, err, sizeof(err)), -EINVAL);
		cr_expect(strncmp(err, check_err[i], strlen(check_err[i])) == 0,
			  "check error \"%s\", want \"%s...\"", err, check_err[i]);

		/* Even when the other document would allow, the broken rule denies. */
		fx_init(&f, "alice", "researcher", "training");
		fx_eu_data(&f);
		f.docs[0] = bad[i];
		f.docs[1] = p;
		f.set.n = 2;
		fx_decide(&f);
		cr_expect_eq(f.d.allow, 0, "%s", f.d.reason);
		expect_reason(&f, bad_why[i]);
		cr_expect_str_eq(f.d.policy, "gov");
		cr_expect_str_eq(f.d.rule, sl_policy_rule_name(bad[i], 0));

		/* A rule that cannot apply (another role) does not get in the way. */
		f.docs[0] = parse_ok("policy x allow to role:nobody when project = apollo\n");
		fx_decide(&f);
		cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
		sl_policy_free((struct sl_policy *)f.docs[0]);
	}

	/* A policy over a deleted tag denies: region leaves the dictionary. */
	for (size_t i = 0; i < n_defs; i++)
		if (strcmp(defs[i].key, "region") != 0)
			less[n_less++] = defs[i];
	cr_expect_eq(sl_policy_check(p, less, n_less, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "line 3, column ") == err, "%s", err);
	fx_init(&f, "alice", "researcher", "training");
	fx_eu_data(&f);
	f.docs[0] = p;
	f.set.n = 1;
	f.set.defs = less;
	f.set.n_defs = n_less;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "fail closed: policy gov rule train-pseudonymized refers to key 'region'");
	for (size_t i = 0; i < 4; i++)
		sl_policy_free(bad[i]);
	sl_policy_free(p);
}

Test(policy, clearance)
{
	struct sl_policy *p = parse_ok(sl_policy_default_text);
	struct sl_policy *q = parse_ok("policy above deny to * when classification > clearance\n"
				       "policy all allow to *\n");
	struct fixture f;

	fx_init(&f, "alice", "reader", "analytics");
	fx_tag(&f, "classification", "internal");
	f.docs[0] = p;
	f.set.n = 1;
	f.who.clearance = "internal";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	cr_expect_str_eq(f.d.rule, "clearance");
	f.tag[0].value = "public";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	f.tag[0].value = "confidential";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	expect_reason(&f, "no policy allows");
	f.who.clearance = "restricted";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);

	/* no clearance, or one the dictionary does not know, reads nothing */
	f.tag[0].value = "public";
	f.who.clearance = NULL;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	f.who.clearance = "top-secret";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	/* and is denied by the mirror-image deny rule */
	f.docs[0] = q;
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	cr_expect_str_eq(f.d.rule, "above");
	f.who.clearance = "internal";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 1, "%s", f.d.reason);
	f.tag[0].value = "restricted";
	fx_decide(&f);
	cr_expect_eq(f.d.allow, 0);
	sl_policy_free(p);
	sl_policy_free(q);
}

Test(policy, operators)
{
	static const struct {
		const char *when;
		int allow;
	} c[] = {
		/* object: classification=internal, pii=pseudonymous, region=eu; no license */
		{ "pii = pseudonymous", 1 },
		{ "pii = none", 0 },
		{ "pii != none", 1 },
		{ "pii != pseudonymous", 0 },
		{ "pii in {none, pseudonymous}", 1 },
		{ "pii not in {direct}", 1 },
		{ "pii not in {pseudonymous,direct}", 0 },
		{ "pii = (none or pseudonymous)", 1 },
		{ "pii = (none OR direct)", 0 },
		{ "pii < direct", 1 },
		{ "pii <= pseudonymous", 1 },
		{ "pii < pseudonymous", 0 },
		{ "pii > none", 1 },
		{ "pii >= direct", 0 },
		{ "classification >= internal AND region = eu", 1 },
		{ "classification >= internal and region = us", 0 },
		/* a tag the object lacks: false, but true for != and not in */
		{ "license = cc-by", 0 },
		{ "license in {cc-by}", 0 },
		{ "license != cc-by", 1 },
		{ "license not in {cc-by}", 1 },
		{ "retention = (p7y or p1y)", 0 },
	};
	const struct sl_tagdef *defs;
	size_t n_defs;
	char text[256], err[256];
	struct fixture f;

	sl_tagdef_defaults(&defs, &n_defs);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sl_policy *p;

		snprintf(text, sizeof(text), "policy t allow to * when %s", c[i].when);
		p = parse_ok(text);
		cr_expect_eq(sl_policy_check(p, defs, n_defs, err, sizeof(err)), 0, "%s", err);
		fx_init(&f, "alice", "researcher", "training");
		fx_eu_data(&f);
		f.docs[0] = p;
		f.set.n = 1;
		fx_decide(&f);
		cr_expect_eq(f.d.allow, c[i].allow, "when %s: %s", c[i].when, f.d.reason);
		sl_policy_free(p);
	}
}

Test(policy, subjects_actions_purposes)
{
	static const struct {
		const char *rule;
		int allow;
	} c[] = {
		/* alice, role researcher, reads for training */
		{ "to *", 1 },
		{ "to role:*", 1 },
		{ "to user:*", 1 },
		{ "to user:alice", 1 },
		{ "to service:alice", 1 },
		{ "to principal:alice", 1 },
		{ "to user:bob", 0 },
		{ "to role:analyst", 0 },
		{ "to role:analyst, role:researcher", 1 },
		{ "to role : researcher", 1 },
		{ "to * actions stat", 0 },
		{ "to * actions read", 1 },
		{ "to * actions *", 1 },
		{ "to * actions stat,read", 1 },
		{ "to * purposes inference", 0 },
		{ "to * purposes inference,training", 1 },
		{ "to * purposes *", 1 },
		{ "to * except user:alice", 0 },
		{ "to * except *", 0 },
		{ "to * except role:analyst actions read purposes training", 1 },
	};
	char text[256];
	struct fixture f;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sl_policy *p;

		snprintf(text, sizeof(text), "# comment\npolicy t allow %s # trailing\n", c[i].rule);
		p = parse_ok(text);
		fx_init(&f, "alice", "researcher", "training");
		fx_eu_data(&f);
		f.docs[0] = p;
		f.set.n = 1;
		fx_decide(&f);
		cr_expect_eq(f.d.allow, c[i].allow, "%s: %s", c[i].rule, f.d.reason);
		sl_policy_free(p);
	}
}

Test(policy, syntax_errors)
{
	static const struct {
		const char *text, *err;
	} c[] = {
		{ "", "line 1, column 1: expected 'policy', found the end of the text" },
		{ "  # only a comment\n", "line 2, column 1: expected 'policy'" },
		{ "rule x allow to *", "line 1, column 1: expected 'policy', found 'rule'" },
		{ "policy x permit to *",
		  "line 1, column 10: expected 'allow' or 'deny', found 'permit'" },
		{ "policy x\n allow\n  to role researcher", "line 3, column 11: expected ':'" },
		{ "policy x allow to * when pii ~ direct",
		  "line 1, column 30: unexpected character '~'" },
		{ "policy X allow to *", "line 1, column 8: expected a rule name" },
		{ "policy -x allow to *", "line 1, column 8: expected a rule name" },
		{ "policy x allow *", "line 1, column 16: expected 'to', found '*'" },
		{ "policy x allow to", "line 1, column 18: expected a subject" },
		{ "policy x allow to group:a", "line 1, column 19: expected a subject" },
		{ "policy x allow to * actions write",
		  "line 1, column 29: expected 'read', 'stat' or '*', found 'write'" },
		{ "policy x allow to * when pii in {none,",
		  "line 1, column 39: expected a value" },
		{ "policy x allow to * when pii in {none pseudonymous}",
		  "line 1, column 39: expected ',' or '}', found 'pseudonymous'" },
		{ "policy x allow to * when pii = (none, direct)",
		  "line 1, column 37: expected 'or' or ')', found ','" },
		{ "policy x allow to * when pii is none",
		  "line 1, column 30: expected '=', '!=', 'in', 'not in', '<', '<=', '>' or '>='" },
		{ "policy x allow to * when pii ! none", "line 1, column 30: expected '!='" },
		{ "policy x allow to * when pii = none actions read",
		  "line 1, column 37: expected 'and', 'policy' or the end of the text" },
		{ "policy x allow to * purposes a actions read",
		  "line 1, column 32: expected 'when', 'policy' or the end of the text" },
		{ "policy x allow to * when pii = none And region = eu",
		  "line 1, column 37: expected 'and', 'policy'" },
		{ "policy x allow to * when pii = NONE", "line 1, column 32: expected a value" },
		{ "policy x ALLOW to *", "line 1, column 10: expected 'allow' or 'deny'" },
		{ "policy x allow to *\n\tpurposes\n", "line 3, column 1: expected a purpose or '*'" },
		{ "policy x allow to * when pii = none and", "line 1, column 40: expected a tag key" },
		{ "policy x allow to * when pii < ", "line 1, column 32: expected a value" },
		{ "policy x allow to *\x01", "line 1, column 20: unexpected control character 0x01" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		parse_fails(c[i].text, strlen(c[i].text), -EINVAL, c[i].err);
}

Test(policy, bytes)
{
	static const char nul[] = "policy x allow\0 to *";
	static const char nul_comment[] = "# a\0b\npolicy x allow to *";
	const char *utf8_comment = "# donn\xc3\xa9""es\npolicy x allow to * # \xe2\x9c\x93\n";
	struct sl_policy *p = NULL;

	parse_fails(nul, sizeof(nul) - 1, -EINVAL, "line 1, column 15: NUL byte");
	parse_fails(nul_comment, sizeof(nul_comment) - 1, -EINVAL, "line 1, column 4: NUL byte");
	parse_fails("policy caf\xc3\xa9 allow to *", 23, -EINVAL,
		    "line 1, column 11: non-ASCII byte 0xc3");
	parse_fails("policy x allow to user:\x80", 24, -EINVAL, "line 1, column 24: non-ASCII");
	p = parse_ok(utf8_comment);
	sl_policy_free(p);

	/* Not NUL-terminated: only len bytes are read. */
	p = NULL;
	cr_expect_eq(sl_policy_parse("policy x allow to *garbage", 19, &p, NULL, 0), 0);
	cr_expect_eq(sl_policy_rule_count(p), 1);
	sl_policy_free(p);
	p = NULL;
	cr_expect_eq(sl_policy_parse("policy x", 8, &p, NULL, 0), -EINVAL);
	cr_expect_null(p);
	cr_expect_eq(sl_policy_parse(NULL, 0, &p, NULL, 0), -EINVAL);
}

/* Appends to a growing buffer, asserting it fits. */
static void put(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *buf, size_t cap, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < cap - used);
}

/* A rule with `count` entries of a list (kind says which), plus one more when over. */
static void list_doc(char *buf, size_t cap, const char *kind, unsigned count)
{
	buf[0] = '\0';
	if (strcmp(kind, "rules") == 0) {
		for (unsigned i = 0; i < count; i++)
			put(buf, cap, "policy r%u allow to *\n", i);
		return;
	}
	put(buf, cap, "policy r allow to ");
	if (strcmp(kind, "except") == 0)
		put(buf, cap, "* except ");
	if (strcmp(kind, "subjects") == 0 || strcmp(kind, "except") == 0) {
		for (unsigned i = 0; i < count; i++)
			put(buf, cap, "%suser:u%u", i ? "," : "", i);
		return;
	}
	put(buf, cap, "* ");
	if (strcmp(kind, "purposes") == 0) {
		put(buf, cap, "purposes ");
		for (unsigned i = 0; i < count; i++)
			put(buf, cap, "%sp%u", i ? "," : "", i);
	} else if (strcmp(kind, "values") == 0) {
		put(buf, cap, "when region in {");
		for (unsigned i = 0; i < count; i++)
			put(buf, cap, "%sv%u", i ? "," : "", i);
		put(buf, cap, "}");
	} else if (strcmp(kind, "or-values") == 0) {
		put(buf, cap, "when region = (");
		for (unsigned i = 0; i < count; i++)
			put(buf, cap, "%sv%u", i ? " or " : "", i);
		put(buf, cap, ")");
	} else {
		put(buf, cap, "when ");
		for (unsigned i = 0; i < count; i++)
			put(buf, cap, "%sregion != v%u", i ? " and " : "", i);
	}
}

Test(policy, bounds)
{
	static const struct {
		const char *kind;
		unsigned max;
		const char *err;
	} lists[] = {
		{ "rules", 64, "line 65, column 1: more than 64 rules" },
		{ "subjects", 32, "line 1, column " },
		{ "except", 32, "line 1, column " },
		{ "purposes", 64, "line 1, column " },
		{ "values", 64, "line 1, column " },
		{ "or-values", 64, "line 1, column " },
		{ "conds", 16, "line 1, column " },
	};
	static char buf[SL_POLICY_TEXT_MAX + 2];
	struct sl_policy *p;
	char name[80];

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		list_doc(buf, sizeof(buf), lists[i].kind, lists[i].max);
		p = parse_ok(buf);
		sl_policy_free(p);
		list_doc(buf, sizeof(buf), lists[i].kind, lists[i].max + 1);
		parse_fails(buf, strlen(buf), -E2BIG, lists[i].err);
	}

	/* The text: exactly SL_POLICY_TEXT_MAX is fine, one more byte is not. */
	memset(buf, ' ', SL_POLICY_TEXT_MAX + 1);
	memcpy(buf, "policy x allow to * #", 21);
	p = NULL;
	cr_expect_eq(sl_policy_parse(buf, SL_POLICY_TEXT_MAX, &p, NULL, 0), 0);
	sl_policy_free(p);
	parse_fails(buf, SL_POLICY_TEXT_MAX + 1, -E2BIG, "the policy text is 16385 bytes");

	/* Names up to 63 characters, values up to 64. */
	memset(name, 'n', sizeof(name));
	snprintf(buf, sizeof(buf), "policy %.63s allow to user:%.63s when region = %.64s", name,
		 name, name);
	p = parse_ok(buf);
	sl_policy_free(p);
	snprintf(buf, sizeof(buf), "policy %.64s allow to *", name);
	parse_fails(buf, strlen(buf), -EINVAL, "line 1, column 8: expected a rule name");
	snprintf(buf, sizeof(buf), "policy x allow to * when region = %.65s", name);
	parse_fails(buf, strlen(buf), -EINVAL, "line 1, column 35: expected a value");
	snprintf(buf, sizeof(buf), "policy x allow to * when %.64s = a", name);
	parse_fails(buf, strlen(buf), -EINVAL, "line 1, column 26: expected a tag key");

	/* Rule names are unique within a document. */
	parse_fails("policy a allow to *\npolicy b deny to *\n  policy a deny to *", 59, -EINVAL,
		    "line 3, column 10: rule name 'a' is already used on line 1");
}

Test(policy, tagdefs)
{
	const struct sl_tagdef *defs, *d;
	size_t n;

	sl_tagdef_defaults(&defs, &n);
	cr_assert_eq(n, 5);
	d = sl_tagdef_find(defs, n, "classification");
	cr_assert_not_null(d);
	cr_expect(d->ordered && d->mandatory);
	d = sl_tagdef_find(defs, n, "pii");
	cr_assert_not_null(d);
	cr_expect(d->ordered && !d->mandatory);
	for (size_t i = 0; i < 3; i++) {
		static const char *const any[] = { "license", "region", "retention" };

		d = sl_tagdef_find(defs, n, any[i]);
		cr_assert_not_null(d, "%s", any[i]);
		cr_expect(!d->ordered && !d->mandatory && d->n_values == 0);
	}
	cr_expect_null(sl_tagdef_find(defs, n, "project"));
	cr_expect_null(sl_tagdef_find(defs, n, NULL));
	cr_expect_eq(sl_tagdef_rank(defs, n, "classification", "public"), 0);
	cr_expect_eq(sl_tagdef_rank(defs, n, "classification", "restricted"), 3);
	cr_expect_eq(sl_tagdef_rank(defs, n, "pii", "none"), 0);
	cr_expect_eq(sl_tagdef_rank(defs, n, "pii", "direct"), 2);
	cr_expect_eq(sl_tagdef_rank(defs, n, "pii", "maybe"), -1);
	cr_expect_eq(sl_tagdef_rank(defs, n, "region", "eu"), -1);
	cr_expect_eq(sl_tagdef_rank(defs, n, "project", "x"), -1);
	cr_expect_eq(sl_tagdef_rank(defs, n, "classification", NULL), -1);
}
