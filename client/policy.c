/*
 * The governance calls of libsluice: a tenant's policies (set, get, list,
 * rm, explain, test) and its tag dictionary (set, rm, list). Every reply is
 * checked against the bounds sluice-meta keeps (handlers_policy.c) before
 * anything of it is copied out; one that fails is -EPROTO.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_int.h"

/* What sluice-meta promises: server/meta/policy.h and policy_store.h. */
#define SL_POL_NAME_MAX 63u
#define SL_POL_TEXT_MAX 16384u
#define SL_POL_LIST_MAX 64u
#define SL_POL_CHANGES_MAX 1000u
#define SL_POL_REASON_MAX 255u
#define SL_POL_OBJECT_MAX (63u + 1u + 1024u)
#define SL_TAGDEF_KEYS_MAX 64u
#define SL_TAGDEF_VALUES_MAX 64u
#define SL_TAGDEF_KEY_MAX 64u
#define SL_TAGDEF_VALUE_MAX 64u

static int str_ok(const char *s, size_t max)
{
	return s && strnlen(s, max + 1) <= max;
}

static int malformed(sluice_session *s, const char *what)
{
	return sl_sess_fail(s, -EPROTO, "malformed %s reply from sluice-meta", what);
}

static int record_ok(const Sluice__PolicyRecord *p)
{
	return p && str_ok(p->name, SL_POL_NAME_MAX) && str_ok(p->text, SL_POL_TEXT_MAX) &&
	       str_ok(p->updated_by, SL_POL_NAME_MAX);
}

/* Copies a record into out; 0 or -ENOMEM (out then holds nothing to free). */
static int record_copy(const Sluice__PolicyRecord *p, struct sluice_policy *out)
{
	out->name = strdup(p->name);
	out->text = strdup(p->text);
	out->updated_by = strdup(p->updated_by);
	out->version = p->version;
	out->updated_ms = p->updated_ms;
	if (out->name && out->text && out->updated_by)
		return 0;
	free(out->name);
	free(out->text);
	free(out->updated_by);
	memset(out, 0, sizeof(*out));
	return -ENOMEM;
}

int sluice_policy_set(sluice_session *s, const char *name, const char *text, uint64_t *version)
{
	Sluice__PolicySetReq req = SLUICE__POLICY_SET_REQ__INIT;
	Sluice__PolicyRecord *rec = NULL;
	int rc;

	if (!name || !text)
		return sl_sess_fail(s, -EINVAL, "policy set needs a name and a text");
	req.name = (char *)name;
	req.text = (char *)text;
	rc = sl_sess_call(s, SL_RPC_POLICY_SET, &req.base, &sluice__policy_record__descriptor,
			  (ProtobufCMessage **)&rec);
	if (rc)
		return rc;
	if (!record_ok(rec))
		rc = malformed(s, "policy");
	else if (version)
		*version = rec->version;
	sluice__policy_record__free_unpacked(rec, NULL);
	return rc;
}

int sluice_policy_get(sluice_session *s, const char *name, struct sluice_policy **out)
{
	Sluice__PolicyNameReq req = SLUICE__POLICY_NAME_REQ__INIT;
	Sluice__PolicyRecord *rec = NULL;
	struct sluice_policy *p;
	int rc;

	*out = NULL;
	if (!name)
		return sl_sess_fail(s, -EINVAL, "policy get needs a name");
	req.name = (char *)name;
	rc = sl_sess_call(s, SL_RPC_POLICY_GET, &req.base, &sluice__policy_record__descriptor,
			  (ProtobufCMessage **)&rec);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!record_ok(rec))
		rc = malformed(s, "policy");
	else if (!p || record_copy(rec, p))
		rc = sl_sess_fail(s, -ENOMEM, "out of memory");
	sluice__policy_record__free_unpacked(rec, NULL);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void sluice_policy_free(struct sluice_policy *p)
{
	sluice_policy_list_free(p, p ? 1 : 0);
}

int sluice_policy_list(sluice_session *s, struct sluice_policy **out, size_t *n, uint64_t *epoch)
{
	Sluice__Empty req = SLUICE__EMPTY__INIT;
	Sluice__PolicyListResp *resp = NULL;
	struct sluice_policy *list;
	int rc;

	*out = NULL;
	*n = 0;
	rc = sl_sess_call(s, SL_RPC_POLICY_LIST, &req.base, &sluice__policy_list_resp__descriptor,
			  (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	rc = resp->n_policies > SL_POL_LIST_MAX ? -EPROTO : 0;
	for (size_t i = 0; !rc && i < resp->n_policies; i++)
		rc = record_ok(resp->policies[i]) ? 0 : -EPROTO;
	if (rc) {
		sluice__policy_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "policy list");
	}
	list = calloc(resp->n_policies + 1, sizeof(*list));
	for (size_t i = 0; list && i < resp->n_policies; i++)
		if (record_copy(resp->policies[i], &list[i])) {
			sluice_policy_list_free(list, i);
			list = NULL;
		}
	if (list) {
		*out = list;
		*n = resp->n_policies;
		if (epoch)
			*epoch = resp->epoch;
	}
	sluice__policy_list_resp__free_unpacked(resp, NULL);
	return list ? 0 : sl_sess_fail(s, -ENOMEM, "out of memory");
}

void sluice_policy_list_free(struct sluice_policy *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].name);
		free(list[i].text);
		free(list[i].updated_by);
	}
	free(list);
}

int sluice_policy_rm(sluice_session *s, const char *name)
{
	Sluice__PolicyNameReq req = SLUICE__POLICY_NAME_REQ__INIT;

	if (!name)
		return sl_sess_fail(s, -EINVAL, "policy rm needs a name");
	req.name = (char *)name;
	return sl_sess_call(s, SL_RPC_POLICY_RM, &req.base, NULL, NULL);
}

/* Copies src into a fixed field of dst_len bytes; 0, or -EPROTO when it does not fit. */
static int field(char *dst, size_t dst_len, const char *src)
{
	if (!str_ok(src, dst_len - 1))
		return -EPROTO;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int sluice_policy_explain(sluice_session *s, const char *ns, const char *name,
			  const char *principal, const char *purpose, const char *action,
			  struct sluice_policy_decision *out)
{
	Sluice__PolicyExplainReq req = SLUICE__POLICY_EXPLAIN_REQ__INIT;
	Sluice__PolicyDecision *d = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ns || !name)
		return sl_sess_fail(s, -EINVAL, "explain needs a namespace and a name");
	req.ns = (char *)ns;
	req.name = (char *)name;
	req.principal = (char *)(principal ? principal : "");
	req.purpose = (char *)(purpose ? purpose : s->purpose);
	req.action = (char *)(action ? action : "");
	rc = sl_sess_call(s, SL_RPC_POLICY_EXPLAIN, &req.base, &sluice__policy_decision__descriptor,
			  (ProtobufCMessage **)&d);
	if (rc)
		return rc;
	rc = field(out->policy, sizeof(out->policy), d->policy);
	rc = rc ? rc : field(out->rule, sizeof(out->rule), d->rule);
	rc = rc ? rc : field(out->reason, sizeof(out->reason), d->reason);
	rc = rc ? rc : field(out->principal, sizeof(out->principal), d->principal);
	rc = rc ? rc : field(out->purpose, sizeof(out->purpose), d->purpose);
	rc = rc ? rc : field(out->action, sizeof(out->action), d->action);
	out->allow = d->allow;
	out->version = d->version;
	out->epoch = d->epoch;
	sluice__policy_decision__free_unpacked(d, NULL);
	if (rc) {
		memset(out, 0, sizeof(*out));
		return malformed(s, "explain");
	}
	return 0;
}

static int change_ok(const Sluice__PolicyChange *c)
{
	return c && str_ok(c->object, SL_POL_OBJECT_MAX) && str_ok(c->principal, SL_POL_NAME_MAX) &&
	       str_ok(c->purpose, SL_POL_NAME_MAX) && str_ok(c->action, 8) &&
	       str_ok(c->rule_before, SL_POL_REASON_MAX) && str_ok(c->rule_after, SL_POL_REASON_MAX);
}

void sluice_policy_test_free(struct sluice_policy_test *t)
{
	for (size_t i = 0; t->changes && i < t->n; i++) {
		struct sluice_policy_change *c = &t->changes[i];

		free(c->object);
		free(c->principal);
		free(c->purpose);
		free(c->action);
		free(c->rule_before);
		free(c->rule_after);
	}
	free(t->changes);
	memset(t, 0, sizeof(*t));
}

int sluice_policy_test(sluice_session *s, const char *name, const char *text,
		       struct sluice_policy_test *out)
{
	Sluice__PolicyTestReq req = SLUICE__POLICY_TEST_REQ__INIT;
	Sluice__PolicyTestResp *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!text)
		return sl_sess_fail(s, -EINVAL, "policy test needs a text");
	req.name = (char *)(name ? name : "");
	req.text = (char *)text;
	rc = sl_sess_call(s, SL_RPC_POLICY_TEST, &req.base, &sluice__policy_test_resp__descriptor,
			  (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	rc = resp->n_changes > SL_POL_CHANGES_MAX ? -EPROTO : 0;
	for (size_t i = 0; !rc && i < resp->n_changes; i++)
		rc = change_ok(resp->changes[i]) ? 0 : -EPROTO;
	rc = rc ? rc : field(out->name, sizeof(out->name), resp->name);
	if (rc) {
		sluice__policy_test_resp__free_unpacked(resp, NULL);
		memset(out, 0, sizeof(*out));
		return malformed(s, "policy test");
	}
	out->changes = calloc(resp->n_changes + 1, sizeof(*out->changes));
	for (size_t i = 0; out->changes && i < resp->n_changes; i++) {
		const Sluice__PolicyChange *c = resp->changes[i];
		struct sluice_policy_change *t = &out->changes[i];

		out->n = i + 1;
		t->before = c->before;
		t->after = c->after;
		t->object = strdup(c->object);
		t->principal = strdup(c->principal);
		t->purpose = strdup(c->purpose);
		t->action = strdup(c->action);
		t->rule_before = strdup(c->rule_before);
		t->rule_after = strdup(c->rule_after);
		if (!t->object || !t->principal || !t->purpose || !t->action || !t->rule_before ||
		    !t->rule_after)
			rc = -ENOMEM;
		if (rc)
			break;
	}
	if (!out->changes)
		rc = -ENOMEM;
	out->objects = resp->objects;
	out->principals = resp->principals;
	out->truncated = resp->truncated;
	out->replaces = resp->replaces;
	sluice__policy_test_resp__free_unpacked(resp, NULL);
	if (rc) {
		sluice_policy_test_free(out);
		return sl_sess_fail(s, rc, "out of memory");
	}
	return 0;
}

int sluice_tagdef_set(sluice_session *s, const char *key, const char *const *values,
		      size_t n_values, int ordered, int mandatory)
{
	Sluice__TagDefSetReq req = SLUICE__TAG_DEF_SET_REQ__INIT;
	Sluice__TagDef def = SLUICE__TAG_DEF__INIT;

	if (!key || (n_values && !values))
		return sl_sess_fail(s, -EINVAL, "tagdef set needs a key");
	def.key = (char *)key;
	def.values = (char **)values;
	def.n_values = n_values;
	def.ordered = ordered;
	def.mandatory = mandatory;
	req.def = &def;
	return sl_sess_call(s, SL_RPC_TAGDEF_SET, &req.base, NULL, NULL);
}

int sluice_tagdef_rm(sluice_session *s, const char *key)
{
	Sluice__TagDefSetReq req = SLUICE__TAG_DEF_SET_REQ__INIT;
	Sluice__TagDef def = SLUICE__TAG_DEF__INIT;

	if (!key)
		return sl_sess_fail(s, -EINVAL, "tagdef rm needs a key");
	def.key = (char *)key;
	req.def = &def;
	req.remove = 1;
	return sl_sess_call(s, SL_RPC_TAGDEF_SET, &req.base, NULL, NULL);
}

static int tagdef_ok(const Sluice__TagDef *d)
{
	if (!d || !str_ok(d->key, SL_TAGDEF_KEY_MAX) || d->n_values > SL_TAGDEF_VALUES_MAX)
		return 0;
	for (size_t i = 0; i < d->n_values; i++)
		if (!str_ok(d->values[i], SL_TAGDEF_VALUE_MAX))
			return 0;
	return 1;
}

void sluice_tagdef_list_free(struct sluice_tagdef *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].key);
		sluice_strings_free(list[i].values, list[i].n_values);
	}
	free(list);
}

int sluice_tagdef_list(sluice_session *s, struct sluice_tagdef **out, size_t *n, int *builtin)
{
	Sluice__Empty req = SLUICE__EMPTY__INIT;
	Sluice__TagDefListResp *resp = NULL;
	struct sluice_tagdef *list;
	int rc;

	*out = NULL;
	*n = 0;
	rc = sl_sess_call(s, SL_RPC_TAGDEF_LIST, &req.base, &sluice__tag_def_list_resp__descriptor,
			  (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	rc = resp->n_defs > SL_TAGDEF_KEYS_MAX ? -EPROTO : 0;
	for (size_t i = 0; !rc && i < resp->n_defs; i++)
		rc = tagdef_ok(resp->defs[i]) ? 0 : -EPROTO;
	if (rc) {
		sluice__tag_def_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "tag dictionary");
	}
	list = calloc(resp->n_defs + 1, sizeof(*list));
	for (size_t i = 0; list && i < resp->n_defs; i++) {
		const Sluice__TagDef *d = resp->defs[i];
		int bad;

		list[i].key = strdup(d->key);
		list[i].values = calloc(d->n_values + 1, sizeof(*list[i].values));
		list[i].ordered = d->ordered;
		list[i].mandatory = d->mandatory;
		bad = !list[i].key || !list[i].values;
		for (size_t j = 0; !bad && j < d->n_values; j++) {
			list[i].values[j] = strdup(d->values[j]);
			list[i].n_values = j + 1;
			bad = !list[i].values[j];
		}
		if (bad) {
			sluice_tagdef_list_free(list, i + 1);
			list = NULL;
		}
	}
	if (list) {
		*out = list;
		*n = resp->n_defs;
		if (builtin)
			*builtin = resp->builtin;
	}
	sluice__tag_def_list_resp__free_unpacked(resp, NULL);
	return list ? 0 : sl_sess_fail(s, -ENOMEM, "out of memory");
}
