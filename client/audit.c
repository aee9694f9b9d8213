/*
 * The audit log calls of the SDK: pages of a tenant's log (filtered on the
 * server, which still checks the hash chain over every record it walks) and
 * the walk over a whole log that names its first broken record. Every reply
 * is checked (plan.c) before anything in it is copied out; a reply that
 * would make a paging loop stand still is malformed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "session_int.h"

static int malformed(sluice_session *s, const char *what, const char *why)
{
	return sl_sess_fail(s, -EPROTO, "malformed %s reply from sluice-meta: %s", what, why);
}

static char *dup_or_empty(const char *v)
{
	return strdup(v ? v : "");
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Copies a's fields into out; 0 or -ENOMEM (out is then freed by the caller). */
static int record_copy(const Sluice__AuditRecord *a, struct sluice_audit_record *out)
{
	*out = (struct sluice_audit_record){
		.seq = a->seq, .time_ms = a->time_ms, .tenant_id = a->tenant_id,
		.principal_id = a->principal_id, .object_id = a->object_id, .cap_id = a->cap_id,
		.event = dup_or_empty(a->event), .purpose = dup_or_empty(a->purpose),
		.object = dup_or_empty(a->object), .decision = dup_or_empty(a->decision),
		.reason = dup_or_empty(a->reason), .node = dup_or_empty(a->node),
		.enforcer = dup_or_empty(a->enforcer), .action = dup_or_empty(a->action),
		.policy = dup_or_empty(a->policy), .object_version = a->object_version,
		.offset = a->offset, .length = a->length, .bytes = a->bytes, .count = a->count,
		.policy_version = a->policy_version, .tag_epoch = a->tag_epoch,
		.policy_epoch = a->policy_epoch,
	};
	if (!out->event || !out->purpose || !out->object || !out->decision || !out->reason ||
	    !out->node || !out->enforcer || !out->action || !out->policy)
		return -ENOMEM;
	out->roles = calloc(a->n_roles + 1, sizeof(*out->roles));
	if (!out->roles)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_roles; i++) {
		out->roles[i] = strdup(a->roles[i]);
		if (!out->roles[i])
			return -ENOMEM;
		out->n_roles = i + 1;
	}
	return 0;
}

int sluice_audit_page_query(sluice_session *s, const struct sluice_audit_filter *f,
			    uint64_t after_seq, uint32_t limit, struct sluice_audit_page *page)
{
	Sluice__AuditListReq req = SLUICE__AUDIT_LIST_REQ__INIT;
	Sluice__AuditListResp *resp = NULL;
	struct sluice_audit_record *list;
	char why[160];
	int rc;

	memset(page, 0, sizeof(*page));
	if (f) {
		req.tenant = (char *)or_empty(f->tenant);
		req.principal = (char *)or_empty(f->principal);
		req.object = (char *)or_empty(f->object);
		req.decision = (char *)or_empty(f->decision);
		req.since_ms = f->since_ms;
		req.until_ms = f->until_ms;
	}
	req.after_seq = after_seq;
	req.limit = limit;
	rc = sl_sess_call(s, SL_RPC_AUDIT_LIST, &req.base, &sluice__audit_list_resp__descriptor,
			  (ProtobufCMessage **)&resp);
	if (rc)
		return rc;
	if (sl_audit_check(resp, limit, why, sizeof(why))) {
		sluice__audit_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "audit", why);
	}
	/* A page with more to follow walked at least one record past after_seq. */
	if (resp->truncated && resp->last_seq <= after_seq) {
		sluice__audit_list_resp__free_unpacked(resp, NULL);
		return malformed(s, "audit", "more records follow but the walk did not advance");
	}
	list = calloc(resp->n_records + 1, sizeof(*list));
	for (size_t i = 0; list && i < resp->n_records; i++) {
		if (record_copy(resp->records[i], &list[i])) {
			sluice_audit_free(list, i + 1);
			list = NULL;
		}
	}
	if (list) {
		page->records = list;
		page->n = resp->n_records;
		page->chain_ok = resp->chain_ok;
		page->head_ok = resp->head_ok;
		page->head_seq = resp->head_seq;
		page->truncated = resp->truncated;
		/* Old servers do not say: the last record is where they stopped. */
		page->last_seq = resp->last_seq ? resp->last_seq
				 : page->n	 ? list[page->n - 1].seq
						 : after_seq;
	}
	sluice__audit_list_resp__free_unpacked(resp, NULL);
	return list ? 0 : sl_sess_fail(s, -ENOMEM, "out of memory");
}

int sluice_audit_page_read(sluice_session *s, const char *tenant, uint64_t after_seq,
			   uint32_t limit, struct sluice_audit_page *page)
{
	struct sluice_audit_filter f = { .tenant = tenant };

	return sluice_audit_page_query(s, &f, after_seq, limit, page);
}

void sluice_audit_page_free(struct sluice_audit_page *page)
{
	sluice_audit_free(page->records, page->n);
	memset(page, 0, sizeof(*page));
}

int sluice_audit_list(sluice_session *s, uint64_t after_seq, uint32_t limit,
		      struct sluice_audit_record **out, size_t *n, int *chain_ok, int *truncated)
{
	struct sluice_audit_page page;
	int rc = sluice_audit_page_read(s, NULL, after_seq, limit, &page);

	*out = page.records;
	*n = page.n;
	if (!rc && chain_ok)
		*chain_ok = page.chain_ok && page.head_ok;
	if (!rc && truncated)
		*truncated = page.truncated;
	return rc;
}

void sluice_audit_free(struct sluice_audit_record *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].event);
		free(list[i].purpose);
		free(list[i].object);
		free(list[i].decision);
		free(list[i].reason);
		free(list[i].node);
		free(list[i].enforcer);
		free(list[i].action);
		free(list[i].policy);
		for (size_t j = 0; list[i].roles && j < list[i].n_roles; j++)
			free(list[i].roles[j]);
		free(list[i].roles);
	}
	free(list);
}

/*
 * A walk whose steps stop advancing (records keep arriving faster than a
 * step reaches them, or a broken server) gives up after this many steps
 * in a row that checked nothing.
 */
#define SL_AUDIT_VERIFY_STALLS 8

int sluice_audit_verify(sluice_session *s, const char *tenant, struct sluice_audit_verdict *v)
{
	Sluice__AuditVerifyReq req = SLUICE__AUDIT_VERIFY_REQ__INIT;
	Sluice__AuditVerifyResp *resp = NULL;
	char why[160];
	int rc, stalls = 0, done = 0;

	memset(v, 0, sizeof(*v));
	req.tenant = (char *)or_empty(tenant);
	while (!done) {
		rc = sl_sess_call(s, SL_RPC_AUDIT_VERIFY, &req.base,
				  &sluice__audit_verify_resp__descriptor, (ProtobufCMessage **)&resp);
		if (rc)
			return rc;
		if (sl_audit_verify_check(resp, req.after_seq, why, sizeof(why))) {
			sluice__audit_verify_resp__free_unpacked(resp, NULL);
			return malformed(s, "audit verify", why);
		}
		v->checked += resp->checked;
		v->last_seq = resp->last_seq;
		done = resp->done;
		if (done) {
			v->intact = resp->intact;
			v->head_seq = resp->head_seq;
			v->bad_seq = resp->bad_seq;
			snprintf(v->problem, sizeof(v->problem), "%s", resp->problem);
			snprintf(v->detail, sizeof(v->detail), "%s", resp->detail);
			sl_text_clean(v->problem);
			sl_text_clean(v->detail);
		}
		stalls = resp->last_seq > req.after_seq ? 0 : stalls + 1;
		req.after_seq = resp->last_seq;
		sluice__audit_verify_resp__free_unpacked(resp, NULL);
		if (!done && stalls == SL_AUDIT_VERIFY_STALLS)
			return sl_sess_fail(s, -EAGAIN, "the audit log grows faster than it is "
					    "verified (at record %llu); try again",
					    (unsigned long long)req.after_seq);
	}
	return 0;
}
