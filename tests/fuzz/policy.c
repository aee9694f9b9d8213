/*
 * Fuzz target for the policy language (server/meta/policy.h): tenants'
 * admins upload policy text, so the parser reads hostile bytes. Each input
 * is parsed; the parser must answer 0, -EINVAL or -E2BIG with a one-line
 * printable error that names the line and column. A document that parses
 * must have 1..64 rules with unique valid names, must check against the
 * default dictionary with 0 or a located error, and is then decided on fixed
 * requests, where:
 *
 * - the decision is 0 or 1 with a reason, an allow names its rule and
 *   document, and deciding again gives the same answer;
 * - a purpose the principal may not declare, or an object without a
 *   classification, is always denied (fail closed);
 * - with a deny-everything document beside it nothing is allowed (any deny
 *   wins over any allow).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

static int test_printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap || n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int test_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > SL_POLICY_NAME_MAX || !((s[0] >= 'a' && s[0] <= 'z') ||
						 (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static void test_decide(const struct sl_pol_set *set, const struct sl_pol_request *rq,
			struct sl_pol_decision *d, size_t size)
{
	struct sl_pol_decision again;

	sl_policy_decide(set, rq, d);
	test_check(d->allow == 0 || d->allow == 1, "allow is neither 0 nor 1", size);
	test_check(test_printable(d->reason, sizeof(d->reason)), "the reason is not one line", size);
	test_check(!d->allow || (d->policy && d->rule), "an allow without its rule", size);
	sl_policy_decide(set, rq, &again);
	test_check(again.allow == d->allow && again.policy == d->policy && again.rule == d->rule &&
			   strcmp(again.reason, d->reason) == 0,
		   "deciding twice differs", size);
}

static void test_requests(const struct sl_policy *p, size_t size)
{
	static char *roles[] = { "researcher", "reader" };
	static char *purposes[] = { "training", "inference" };
	struct sl_pol_subject who = { .name = "alice", .roles = roles, .n_roles = 2,
				      .purposes = purposes, .n_purposes = 2,
				      .clearance = "internal" };
	Sluice__Tag tag[4];
	Sluice__Tag *tags[4] = { &tag[0], &tag[1], &tag[2], &tag[3] };
	static const char *const kv[4][2] = {
		{ "classification", "internal" },
		{ "pii", "pseudonymous" },
		{ "region", "eu" },
		{ "team", "a" },
	};
	struct sl_pol_request rq = { .who = &who, .action = SL_POL_READ, .purpose = "training",
				     .tags = tags, .n_tags = 4 };
	const struct sl_policy *docs[2] = { p, NULL };
	static const char *const names[2] = { "fuzz", "deny-all" };
	static const uint64_t versions[2] = { 1, 2 };
	struct sl_pol_set set = { .docs = docs, .names = names, .versions = versions, .n = 1 };
	struct sl_policy *deny_all = NULL;
	static const char deny_text[] = "policy nobody deny to *";
	struct sl_pol_decision d;

	for (size_t i = 0; i < 4; i++) {
		sluice__tag__init(&tag[i]);
		tag[i].key = (char *)kv[i][0];
		tag[i].value = (char *)kv[i][1];
	}
	sl_tagdef_defaults(&set.defs, &set.n_defs);

	for (unsigned action = SL_POL_READ; action <= SL_POL_STAT; action++) {
		rq.action = action;
		rq.purpose = "training";
		rq.tags = tags;
		rq.n_tags = 4;
		test_decide(&set, &rq, &d, size);
		rq.purpose = "inference";
		tag[1].value = "direct";
		test_decide(&set, &rq, &d, size);
		tag[1].value = "pseudonymous";

		rq.purpose = "marketing";
		test_decide(&set, &rq, &d, size);
		test_check(!d.allow && !d.policy, "an undeclared purpose was not denied", size);
		rq.purpose = "training";
		rq.tags = tags + 1;
		rq.n_tags = 3;
		test_decide(&set, &rq, &d, size);
		test_check(!d.allow && !d.policy, "an object without classification was allowed",
			   size);
	}

	rq.action = SL_POL_READ;
	rq.tags = tags;
	rq.n_tags = 4;
	test_check(sl_policy_parse(deny_text, sizeof(deny_text) - 1, &deny_all, NULL, 0) == 0,
		   "the deny-everything document does not parse", size);
	docs[1] = deny_all;
	set.n = 2;
	test_decide(&set, &rq, &d, size);
	test_check(!d.allow, "allowed beside a deny-everything document", size);
	sl_policy_free(deny_all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_policy *p = NULL;
	const struct sl_tagdef *defs;
	size_t n_defs, n_rules;
	char err[256];
	int rc;

	memset(err, 0x55, sizeof(err));
	rc = sl_policy_parse((const char *)data, size, &p, err, sizeof(err));
	test_check(rc == 0 || rc == -EINVAL || rc == -E2BIG, "parse returned an unexpected code",
		   size);
	if (rc) {
		test_check(p == NULL, "a failed parse returned a document", size);
		test_check(test_printable(err, sizeof(err)), "the error is not one printable line",
			   size);
		test_check(strncmp(err, "line ", 5) == 0 ||
				   (rc == -E2BIG && size > SL_POLICY_TEXT_MAX),
			   "the error does not name a line", size);
		return 0;
	}
	test_check(p != NULL, "a successful parse without a document", size);
	n_rules = sl_policy_rule_count(p);
	test_check(n_rules >= 1 && n_rules <= SL_POLICY_RULES_MAX, "rule count out of bounds",
		   size);
	for (size_t i = 0; i < n_rules; i++) {
		const char *name = sl_policy_rule_name(p, i);

		test_check(test_name_ok(name), "a rule name outside the grammar", size);
		test_check(sl_policy_rule_denies(p, i) == 0 || sl_policy_rule_denies(p, i) == 1,
			   "an effect that is neither allow nor deny", size);
		for (size_t j = 0; j < i; j++)
			test_check(strcmp(name, sl_policy_rule_name(p, j)) != 0,
				   "two rules with one name", size);
	}
	test_check(sl_policy_rule_name(p, n_rules) == NULL, "a rule past the end", size);

	sl_tagdef_defaults(&defs, &n_defs);
	memset(err, 0x55, sizeof(err));
	rc = sl_policy_check(p, defs, n_defs, err, sizeof(err));
	test_check(rc == 0 || rc == -EINVAL, "check returned an unexpected code", size);
	if (rc)
		test_check(test_printable(err, sizeof(err)) && strncmp(err, "line ", 5) == 0,
			   "a check error that does not name a line", size);

	test_requests(p, size);
	sl_policy_free(p);
	return 0;
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		/* the governance spec's examples */
		"policy train-pseudonymized allow to role:researcher except user:intern-7\n"
		"  actions read,stat purposes training\n"
		"  when classification in {public,internal} and pii in {none,pseudonymous} and "
		"region in {eu}\n"
		"policy no-direct-pii-inference deny to role:* actions read purposes inference "
		"when pii = direct\n",
		"policy clearance allow to role:* actions read,stat when classification <= "
		"clearance\n",
		/* every operator and subject form */
		"# every form\n"
		"policy a allow to *, role:reader, user:alice, service:etl, principal:bob\n"
		"  except role:contractor actions * purposes *\n"
		"  when pii != direct AND region = (eu OR uk) and license not in {gpl}\n"
		"  and classification > public and classification >= internal\n"
		"  and pii < direct and classification <= restricted\n"
		"policy b deny to user:* when team = x\n",
		/* invalid: a bad effect, a stray byte, a duplicate name */
		"policy x permit to *\n",
		"policy x allow to * when pii \x01 direct\n",
		"policy a allow to *\npolicy a deny to *\n",
	};

	if (n >= sizeof(seeds) / sizeof(seeds[0]) || strlen(seeds[n]) > cap)
		return 0;
	memcpy(buf, seeds[n], strlen(seeds[n]));
	return strlen(seeds[n]);
}
