/*
 * Unit tests of governance (server/meta/governance.h) and string validation
 * (server/meta/validate.h): which tenant, principal, object names, prefixes,
 * name lists and tag sets are acceptable (bounded, unique), the classification
 * ranks, and the read decision, which must deny by default: another tenant,
 * no reading role, an undeclared purpose, a clearance below the object's
 * classification or a missing classification all refuse with -EACCES.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance.h"

Test(governance, names)
{
	static const char *const good[] = { "a", "0", "acme", "tenant-1", "a.b_c-d", "9lives" };
	static const char *const bad[] = { "", "A", "Acme", "-a", ".a", "_a", "a b", "a/b",
					   "a:b", "caf\xc3\xa9", "a\n" };
	char name[80];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(sl_name_valid(good[i]), "refused \"%s\"", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!sl_name_valid(bad[i]), "accepted \"%s\"", bad[i]);
	cr_expect(!sl_name_valid(NULL));

	memset(name, 'a', sizeof(name));
	name[63] = '\0';
	cr_expect(sl_name_valid(name), "63 characters refused");
	name[63] = 'a';
	name[64] = '\0';
	cr_expect(!sl_name_valid(name), "64 characters accepted");
}

Test(governance, object_names_accepted)
{
	static const char *const good[] = {
		"docs/2025/report.pdf",
		"a",
		"a/b/c",
		".hidden",
		"..a",
		"a..",
		"...",
		"a/.b/..c/d.",
		"with space and ~!@#$%^&*()",
		"donn\303\251es/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xf0\x9f\x98\x80.txt",
		"\xc2\xa0",	    /* U+00A0, the first 2-byte code point after C1 */
		"\xdf\xbf",	    /* U+07FF, the largest 2-byte form */
		"\xe0\xa0\x80",	    /* U+0800, the smallest 3-byte form */
		"\xed\x9f\xbf",	    /* U+D7FF, just below the surrogates */
		"\xee\x80\x80",	    /* U+E000, just above them */
		"\xef\xbf\xbd",	    /* U+FFFD */
		"\xf0\x90\x80\x80", /* U+10000, the smallest 4-byte form */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF, the largest code point */
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(sl_object_name_valid(good[i]), "refused \"%s\"", good[i]);
}

Test(governance, object_names_with_bad_paths_refused)
{
	static const char *const bad[] = {
		"", "/", "/a", "a//b", "a/", "a/b/", ".", "..", "./a", "../a", "a/.", "a/..",
		"a/./b", "a/../b", "a/b/../../../etc/passwd", "//",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!sl_object_name_valid(bad[i]), "accepted \"%s\"", bad[i]);
	cr_expect(!sl_object_name_valid(NULL));
}

Test(governance, object_names_with_control_characters_refused)
{
	static const char *const bad[] = { "a\nb", "a\rb", "\tx", "x\x01", "a\x1f", "a\x7fz",
					   "a/\x1b[31m" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!sl_object_name_valid(bad[i]), "accepted case %zu", i);
}

/*
 * Regression: the C1 controls U+0080..U+009F (C2 80..C2 9F: U+009B is a
 * terminal CSI, U+0085 is NEL) used to pass as object names.
 */
Test(governance, object_names_with_c1_control_characters_refused)
{
	static const char *const bad[] = { "a\xc2\x80z", "a\xc2\x85z", "a\xc2\x9bm",
					   "\xc2\x9f" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!sl_object_name_valid(bad[i]), "accepted C1 control, case %zu", i);
}

Test(governance, object_names_with_invalid_utf8_refused)
{
	static const char *const bad[] = {
		"\x80",			/* lone continuation byte */
		"a\xbf",		/* lone continuation byte */
		"\xc3",			/* truncated 2-byte sequence */
		"\xc3/b",		/* truncated, followed by ASCII */
		"\xe6\x97",		/* truncated 3-byte sequence */
		"\xf0\x9f\x98",		/* truncated 4-byte sequence */
		"\xc0\xaf",		/* overlong '/' */
		"\xc1\xbf",		/* overlong 2-byte */
		"\xe0\x80\xaf",		/* overlong '/' in 3 bytes */
		"\xe0\x9f\xbf",		/* overlong U+07FF */
		"\xf0\x80\x80\xaf",	/* overlong '/' in 4 bytes */
		"\xf0\x8f\xbf\xbf",	/* overlong U+FFFF */
		"\xed\xa0\x80",		/* U+D800, a surrogate */
		"\xed\xbf\xbf",		/* U+DFFF, a surrogate */
		"\xed\xa0\xbd\xed\xb8\x80", /* a surrogate pair (CESU-8) */
		"\xf4\x90\x80\x80",	/* U+110000, past the last code point */
		"\xf5\x80\x80\x80",	/* invalid lead byte */
		"\xf8\x88\x80\x80\x80", /* 5-byte form */
		"\xfe",
		"\xff",
		"ok/\xe2\x28\xa1",	/* bad continuation */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!sl_object_name_valid(bad[i]), "accepted invalid UTF-8, case %zu", i);
}

Test(governance, object_name_length_limit)
{
	char name[SL_OBJECT_NAME_MAX + 2];

	memset(name, 'x', sizeof(name));
	name[SL_OBJECT_NAME_MAX] = '\0';
	cr_expect(sl_object_name_valid(name), "%d bytes refused", SL_OBJECT_NAME_MAX);
	name[SL_OBJECT_NAME_MAX] = 'x';
	name[SL_OBJECT_NAME_MAX + 1] = '\0';
	cr_expect(!sl_object_name_valid(name), "%d bytes accepted", SL_OBJECT_NAME_MAX + 1);

}

/* The limit counts bytes, not characters. */
Test(governance, object_name_length_counts_bytes)
{
	char name[342 * 3 + 1];

	for (size_t i = 0; i < 342; i++)
		memcpy(name + 3 * i, "\xe2\x82\xac", 3); /* U+20AC */
	name[341 * 3] = '\0';
	cr_expect(sl_object_name_valid(name), "341 characters, 1023 bytes refused");
	name[341 * 3] = '\xe2';
	name[342 * 3] = '\0';
	cr_expect(!sl_object_name_valid(name), "342 characters, 1026 bytes accepted");
}

Test(governance, governed_tag_values)
{
	static const char *const classification[] = { "public", "internal", "confidential",
						       "restricted" };
	static const char *const pii[] = { "none", "pseudonymous", "direct" };
	static const char *const bad_classification[] = { "secret", "Public", "PUBLIC", "public ",
							   "top-secret", "restricted2" };
	const char *why;

	for (size_t i = 0; i < 4; i++)
		cr_expect(sl_tag_valid("classification", classification[i], &why), "%s",
			  classification[i]);
	for (size_t i = 0; i < 3; i++)
		cr_expect(sl_tag_valid("pii", pii[i], &why), "%s", pii[i]);
	for (size_t i = 0; i < sizeof(bad_classification) / sizeof(bad_classification[0]); i++) {
		why = NULL;
		cr_expect(!sl_tag_valid("classification", bad_classification[i], &why), "%s",
			  bad_classification[i]);
		cr_expect_not_null(why);
	}
	why = NULL;
	cr_expect(!sl_tag_valid("pii", "yes", &why));
	cr_expect_not_null(why);
	cr_expect(!sl_tag_valid("pii", "None", &why));
	/* Keys other than the governed ones take any printable value. */
	cr_expect(sl_tag_valid("team", "data platform / EU", &why));
	cr_expect(sl_tag_valid("owner", "secret", &why));
}

Test(governance, tag_keys_and_values_shape)
{
	char value[SL_TAG_VALUE_MAX + 2];
	const char *why;

	cr_expect(sl_tag_valid("a", "v", &why));
	cr_expect(sl_tag_valid("cost-center.v2_x", "v", &why));
	cr_expect(!sl_tag_valid("", "v", &why));
	cr_expect(!sl_tag_valid(NULL, "v", &why));
	cr_expect(!sl_tag_valid("1abc", "v", &why), "key must start with a letter");
	cr_expect(!sl_tag_valid("Team", "v", &why));
	cr_expect(!sl_tag_valid("team", "", &why));
	cr_expect(!sl_tag_valid("team", NULL, &why));
	cr_expect(!sl_tag_valid("team", "a\nb", &why));
	cr_expect(!sl_tag_valid("team", "a\x7f", &why));

	memset(value, 'v', sizeof(value));
	value[SL_TAG_VALUE_MAX] = '\0';
	cr_expect(sl_tag_valid("team", value, &why), "%d-byte value refused", SL_TAG_VALUE_MAX);
	value[SL_TAG_VALUE_MAX] = 'v';
	value[SL_TAG_VALUE_MAX + 1] = '\0';
	cr_expect(!sl_tag_valid("team", value, &why), "over-long value accepted");
}

Test(governance, classification_ranks)
{
	cr_expect_eq(sl_classification_rank("public"), 0);
	cr_expect_eq(sl_classification_rank("internal"), 1);
	cr_expect_eq(sl_classification_rank("confidential"), 2);
	cr_expect_eq(sl_classification_rank("restricted"), 3);
	cr_expect_eq(sl_classification_rank("secret"), -1);
	cr_expect_eq(sl_classification_rank(""), -1);
	cr_expect_eq(sl_classification_rank(NULL), -1);
}

/* A reader of tenant 7 cleared to confidential, for analytics and billing. */
struct test_gov {
	Sluice__Principal p;
	Sluice__Object o;
	Sluice__Tag cls, team;
	Sluice__Tag *tags[2];
	char *roles[2];
	char *purposes[2];
};

static void test_gov_init(struct test_gov *g, const char *classification)
{
	*g = (struct test_gov){
		.p = SLUICE__PRINCIPAL__INIT,
		.o = SLUICE__OBJECT__INIT,
		.cls = SLUICE__TAG__INIT,
		.team = SLUICE__TAG__INIT,
		.roles = { (char *)"reader", NULL },
		.purposes = { (char *)"analytics", (char *)"billing" },
	};
	g->p.id = 41;
	g->p.tenant_id = 7;
	g->p.n_roles = 1;
	g->p.roles = g->roles;
	g->p.n_purposes = 2;
	g->p.purposes = g->purposes;
	g->p.clearance = (char *)"confidential";

	g->team.key = (char *)"team";
	g->team.value = (char *)"finance";
	g->tags[0] = &g->team;
	g->o.tenant_id = 7;
	g->o.id = 99;
	g->o.tags = g->tags;
	g->o.n_tags = 1;
	if (classification) {
		g->cls.key = (char *)"classification";
		g->cls.value = (char *)classification;
		g->tags[1] = &g->cls;
		g->o.n_tags = 2;
	}
}

static int test_decide(const struct test_gov *g, const char *purpose)
{
	const char *reason = NULL;
	int rc = sl_gov_decide_read(&g->p, &g->o, purpose, &reason);

	cr_expect_not_null(reason, "every decision names its rule");
	return rc;
}

Test(governance, read_allowed_with_purpose_and_clearance)
{
	struct test_gov g;
	static const char *const readable[] = { "public", "internal", "confidential" };

	for (size_t i = 0; i < 3; i++) {
		test_gov_init(&g, readable[i]);
		cr_expect_eq(test_decide(&g, "analytics"), 0, "%s", readable[i]);
		cr_expect_eq(test_decide(&g, "billing"), 0, "%s", readable[i]);
	}
	/* Writers and admins may read as well. */
	test_gov_init(&g, "internal");
	g.roles[0] = (char *)"writer";
	cr_expect_eq(test_decide(&g, "analytics"), 0);
	g.roles[0] = (char *)"admin";
	cr_expect_eq(test_decide(&g, "analytics"), 0);
}

Test(governance, read_denied_for_undeclared_purpose)
{
	struct test_gov g;

	test_gov_init(&g, "public");
	cr_expect_eq(test_decide(&g, "marketing"), -EACCES);
	cr_expect_eq(test_decide(&g, ""), -EACCES);
	cr_expect_eq(test_decide(&g, "analytic"), -EACCES);
	cr_expect_eq(test_decide(&g, "analytics "), -EACCES);
	cr_expect_eq(test_decide(&g, NULL), -EACCES);
	g.p.n_purposes = 0;
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
}

Test(governance, read_denied_above_clearance)
{
	struct test_gov g;

	test_gov_init(&g, "restricted");
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
	g.p.clearance = (char *)"restricted";
	cr_expect_eq(test_decide(&g, "analytics"), 0);

	test_gov_init(&g, "internal");
	g.p.clearance = (char *)"public";
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
}

Test(governance, read_denied_without_a_known_clearance)
{
	struct test_gov g;

	test_gov_init(&g, "public");
	g.p.clearance = (char *)"";
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
	g.p.clearance = (char *)"top-secret";
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
}

Test(governance, missing_or_unknown_classification_fails_closed)
{
	struct test_gov g;

	test_gov_init(&g, NULL);
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
	g.o.n_tags = 0;
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);

	test_gov_init(&g, "secret");
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
	test_gov_init(&g, "");
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
}

Test(governance, read_denied_across_tenants)
{
	struct test_gov g;

	test_gov_init(&g, "public");
	g.o.tenant_id = 8;
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
	g.o.tenant_id = 0;
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
}

Test(governance, read_denied_without_a_reading_role)
{
	struct test_gov g;

	test_gov_init(&g, "public");
	g.roles[0] = (char *)"auditor";
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
	g.p.n_roles = 0;
	cr_expect_eq(test_decide(&g, "analytics"), -EACCES);
}

Test(governance, lowering_a_governed_tag_is_detected)
{
	Sluice__Tag conf = SLUICE__TAG__INIT, intl = SLUICE__TAG__INIT, restr = SLUICE__TAG__INIT;
	Sluice__Tag direct = SLUICE__TAG__INIT, none = SLUICE__TAG__INIT, team = SLUICE__TAG__INIT;
	Sluice__Tag *cur[] = { &conf, &direct, &team };
	Sluice__Tag *down_cls[] = { &intl }, *up_cls[] = { &restr }, *down_pii[] = { &none };
	char *rm_pii[] = { (char *)"pii" }, *rm_team[] = { (char *)"team" };

	conf.key = intl.key = restr.key = (char *)"classification";
	conf.value = (char *)"confidential";
	intl.value = (char *)"internal";
	restr.value = (char *)"restricted";
	direct.key = none.key = (char *)"pii";
	direct.value = (char *)"direct";
	none.value = (char *)"none";
	team.key = (char *)"team";
	team.value = (char *)"vision";
	cr_assert(sl_tags_lower(cur, 3, down_cls, 1, NULL, 0));
	cr_assert_not(sl_tags_lower(cur, 3, up_cls, 1, NULL, 0));
	cr_assert(sl_tags_lower(cur, 3, down_pii, 1, NULL, 0));
	cr_assert(sl_tags_lower(cur, 3, NULL, 0, rm_pii, 1));
	cr_assert_not(sl_tags_lower(cur, 3, NULL, 0, rm_team, 1));
}

/* ---- validate.h: the form of every string that reaches the catalog ------ */

Test(finding_05, tag_keys_up_to_64_and_values_printable_utf8)
{
	char key[SL_TAG_KEY_MAX + 2];

	memset(key, 'k', sizeof(key));
	key[SL_TAG_KEY_MAX] = '\0';
	cr_expect(sl_tag_key_valid(key), "%d-character key refused", SL_TAG_KEY_MAX);
	key[SL_TAG_KEY_MAX] = 'k';
	key[SL_TAG_KEY_MAX + 1] = '\0';
	cr_expect(!sl_tag_key_valid(key), "over-long key accepted");
	cr_expect(!sl_tag_key_valid("a b"));
	cr_expect(!sl_tag_key_valid("a/b"));
	cr_expect(sl_tag_value_valid("donn\303\251es \xe6\x97\xa5"));
	cr_expect(!sl_tag_value_valid("a\x1b[31m"), "escape sequence accepted");
	cr_expect(!sl_tag_value_valid("a\xc2\x9b" "31m"), "C1 CSI accepted");
	cr_expect(!sl_tag_value_valid("a\xc3"), "truncated UTF-8 accepted");
	cr_expect(!sl_tag_value_valid("\xc0\xaf"), "overlong UTF-8 accepted");
	cr_expect(!sl_tag_value_valid("\xed\xa0\x80"), "surrogate accepted");
}

Test(finding_05, listing_prefixes_are_bounded_printable_utf8)
{
	char prefix[SL_OBJECT_NAME_MAX + 2];

	cr_expect(sl_name_prefix_valid(""));
	cr_expect(sl_name_prefix_valid("docs/20"));
	cr_expect(sl_name_prefix_valid("docs/"));
	cr_expect(!sl_name_prefix_valid("a\nb"));
	cr_expect(!sl_name_prefix_valid("\xff"));
	cr_expect(!sl_name_prefix_valid(NULL));
	cr_expect(sl_text_valid("rack 7, row \xc3\xa9", 1, 64));
	cr_expect(!sl_text_valid("", 1, 64));
	cr_expect(!sl_text_valid("12345", 1, 4));
	cr_expect(!sl_text_valid("a\tb", 1, 64));
	memset(prefix, 'p', sizeof(prefix));
	prefix[SL_OBJECT_NAME_MAX] = '\0';
	cr_expect(sl_name_prefix_valid(prefix));
	prefix[SL_OBJECT_NAME_MAX] = 'p';
	prefix[SL_OBJECT_NAME_MAX + 1] = '\0';
	cr_expect(!sl_name_prefix_valid(prefix));
}

Test(finding_05, name_lists_are_bounded_valid_and_unique)
{
	char *ok[] = { (char *)"inference", (char *)"training" };
	char *dup[] = { (char *)"inference", (char *)"training", (char *)"inference" };
	char *bad[] = { (char *)"inference", (char *)"x\ny" };
	const char *why = NULL;

	cr_expect_eq(sl_names_check(ok, 2, SL_PURPOSES_MAX, sl_name_valid, &why), 0);
	cr_expect_eq(sl_names_check(dup, 3, SL_PURPOSES_MAX, sl_name_valid, &why), -EINVAL);
	cr_expect_eq(sl_names_check(bad, 2, SL_PURPOSES_MAX, sl_name_valid, &why), -EINVAL);
	cr_expect_eq(sl_names_check(ok, 2, 1, sl_name_valid, &why), -EINVAL);
	cr_expect_eq(sl_names_check(NULL, 0, SL_PURPOSES_MAX, sl_name_valid, &why), 0);
}

/* ---- finding 8: tag sets are bounded, unique and checked fast ------------ */

static Sluice__Tag **test_tags(size_t n, int distinct, Sluice__Tag *store, char (*keys)[24])
{
	Sluice__Tag **p = calloc(n + 1, sizeof(*p));

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++) {
		sluice__tag__init(&store[i]);
		snprintf(keys[i], 24, "k%zu", distinct ? i : (size_t)0);
		store[i].key = keys[i];
		store[i].value = (char *)"v";
		p[i] = &store[i];
	}
	return p;
}

Test(finding_08, tag_sets_are_bounded_and_unique)
{
	Sluice__Tag *store = calloc(40000, sizeof(*store));
	char (*keys)[24] = calloc(40000, sizeof(*keys));
	Sluice__Tag **tags;
	const char *why = NULL;

	cr_assert(store && keys);
	tags = test_tags(SL_TAGS_MAX, 1, store, keys);
	cr_expect_eq(sl_gov_tags_check(tags, SL_TAGS_MAX, &why), 0, "%s", why);
	free(tags);
	tags = test_tags(SL_TAGS_MAX + 1, 1, store, keys);
	cr_expect_eq(sl_gov_tags_check(tags, SL_TAGS_MAX + 1, &why), -EINVAL);
	free(tags);
	tags = test_tags(3, 1, store, keys);
	store[2].key = keys[0];
	cr_expect_eq(sl_gov_tags_check(tags, 3, &why), -EINVAL, "duplicate key accepted");
	cr_expect_str_eq(why, "a tag key is given twice");
	free(tags);
	/* 40k tags, all the same key: refused on the count, before any pairwise work. */
	tags = test_tags(40000, 0, store, keys);
	cr_expect_eq(sl_gov_tags_check(tags, 40000, &why), -EINVAL);
	cr_expect_str_eq(why, "too many tags (at most 64)");
	free(tags);
	free(store);
	free(keys);
}

/* ---- finding 9: an admin hands out no more than it holds ----------------- */

Test(finding_09, delegation_is_capped_at_what_the_admin_holds)
{
	char *admin_roles[] = { (char *)"admin", (char *)"reader" };
	char *admin_purposes[] = { (char *)"analytics" };
	char *reader[] = { (char *)"reader" }, *writer[] = { (char *)"writer" };
	char *analytics[] = { (char *)"analytics" }, *billing[] = { (char *)"billing" };
	Sluice__Principal a = SLUICE__PRINCIPAL__INIT;
	const char *why = NULL;

	a.roles = admin_roles;
	a.n_roles = 2;
	a.purposes = admin_purposes;
	a.n_purposes = 1;
	a.clearance = (char *)"internal";
	cr_expect_eq(sl_gov_check_delegation(&a, reader, 1, analytics, 1, NULL, 0, "internal", &why), 0);
	cr_expect_eq(sl_gov_check_delegation(&a, reader, 1, analytics, 1, NULL, 0, "public", &why), 0);
	cr_expect_eq(sl_gov_check_delegation(&a, NULL, 0, NULL, 0, NULL, 0, "public", &why), 0);
	cr_expect_eq(sl_gov_check_delegation(&a, writer, 1, analytics, 1, NULL, 0, "internal", &why),
		     -EPERM, "a role it lacks");
	cr_expect_eq(sl_gov_check_delegation(&a, reader, 1, billing, 1, NULL, 0, "internal", &why), -EPERM,
		     "a purpose it lacks");
	cr_expect_eq(sl_gov_check_delegation(&a, reader, 1, analytics, 1, NULL, 0, "confidential", &why),
		     -EPERM, "a clearance above its own");
	cr_expect_not_null(why);
}

Test(rights, roles_imply_assign_and_declassify_bypass_is_only_explicit)
{
	char *admin[] = { (char *)"admin" }, *writer[] = { (char *)"writer" };
	char *reader[] = { (char *)"reader" }, *bypass[] = { (char *)"bypass" };
	char *declassify[] = { (char *)"declassify" };
	Sluice__Principal p = SLUICE__PRINCIPAL__INIT;
	const char *why = NULL;

	p.roles = admin;
	p.n_roles = 1;
	p.clearance = (char *)"restricted";
	cr_expect(sl_has_right(&p, "assign") && sl_has_right(&p, "declassify"));
	cr_expect(!sl_has_right(&p, "bypass"), "an admin holds no bypass unless given it");
	cr_expect_eq(sl_gov_check_delegation(&p, NULL, 0, NULL, 0, bypass, 1, "public", &why),
		     -EPERM, "bypass it does not hold");
	cr_expect_eq(sl_gov_check_delegation(&p, NULL, 0, NULL, 0, declassify, 1, "public", &why),
		     0);
	p.rights = bypass;
	p.n_rights = 1;
	cr_expect(sl_has_right(&p, "bypass"));
	p.roles = writer;
	cr_expect(sl_has_right(&p, "assign") && !sl_has_right(&p, "declassify"));
	p.roles = reader;
	cr_expect(!sl_has_right(&p, "assign"));
	cr_expect(!sl_right_valid("root") && sl_right_valid("bypass"));
}

/* ---- governance.h over a tenant's dictionary (policy.h) ------------------ */

static const char *const tier_values[] = { "bronze", "silver", "gold" };
static const struct sl_tagdef test_defs[] = {
	{ "tier", tier_values, 3, 1, 1 },
	{ "region", NULL, 0, 0, 0 },
};

static Sluice__Tag *tag(Sluice__Tag *t, const char *key, const char *value)
{
	sluice__tag__init(t);
	t->key = (char *)key;
	t->value = (char *)value;
	return t;
}

Test(governance_dict, values_come_from_the_dictionary)
{
	Sluice__Tag a, b, *ok[] = { tag(&a, "tier", "gold"), tag(&b, "classification", "secret") };
	Sluice__Tag c, *bad[] = { tag(&c, "tier", "platinum") };
	char why[128];

	/* classification is not governed by this dictionary: any value goes. */
	cr_expect_eq(sl_gov_tags_check_defs(test_defs, 2, ok, 2, why, sizeof(why)), 0);
	cr_expect_eq(sl_gov_tags_check_defs(test_defs, 2, bad, 1, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "tier must be bronze, silver or gold");
}

Test(governance_dict, lowering_and_removing_need_declassify)
{
	Sluice__Tag cur_t, cur_r, low, high, odd, *cur[] = { tag(&cur_t, "tier", "silver"),
							    tag(&cur_r, "region", "eu") };
	Sluice__Tag *down[] = { tag(&low, "tier", "bronze") }, *up[] = { tag(&high, "tier", "gold") };
	Sluice__Tag unknown_t, *unknown[] = { tag(&unknown_t, "tier", "retired") };
	Sluice__Tag *fix[] = { tag(&odd, "tier", "gold") };
	char *rm_region[] = { (char *)"region" }, *rm_team[] = { (char *)"team" };

	cr_expect(sl_tags_lower_defs(test_defs, 2, cur, 2, down, 1, NULL, 0));
	cr_expect_not(sl_tags_lower_defs(test_defs, 2, cur, 2, up, 1, NULL, 0));
	cr_expect(sl_tags_lower_defs(test_defs, 2, cur, 2, NULL, 0, rm_region, 1),
		  "removing a governed key");
	cr_expect_not(sl_tags_lower_defs(test_defs, 2, cur, 2, NULL, 0, rm_team, 1));
	/* A value the dictionary no longer knows denies every read: replacing it opens up. */
	cr_expect(sl_tags_lower_defs(test_defs, 2, unknown, 1, fix, 1, NULL, 0));
}

Test(governance_dict, namespace_values_are_a_floor)
{
	Sluice__Tag ns_t, *ns[] = { tag(&ns_t, "tier", "silver") };
	Sluice__Tag a, b, c, *same[] = { tag(&a, "tier", "silver") },
			     *higher[] = { tag(&b, "tier", "gold") },
			     *lower[] = { tag(&c, "tier", "bronze") };
	Sluice__Tag r, *none[] = { tag(&r, "region", "eu") };
	char why[256];

	cr_expect_eq(sl_gov_ns_floor(test_defs, 2, ns, 1, same, 1, why, sizeof(why)), 0);
	cr_expect_eq(sl_gov_ns_floor(test_defs, 2, ns, 1, higher, 1, why, sizeof(why)), 0);
	cr_expect_eq(sl_gov_ns_floor(test_defs, 2, ns, 1, lower, 1, why, sizeof(why)), -EPERM);
	cr_expect(strstr(why, "tier bronze is below its namespace's silver"), "%s", why);
	cr_expect_eq(sl_gov_ns_floor(test_defs, 2, ns, 1, none, 1, why, sizeof(why)), -EPERM,
		     "the inherited key removed");
}
