/*
 * The client's checks on plans and replies; see plan.h. Each check walks the
 * unpacked message once and stops at the first thing wrong, naming it.
 */
#include "plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "frame.h"

static int bad(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

/* 1 when s is a string of at most max bytes (protobuf-c never gives NULL,
 * but a message built by hand might). */
static int text_ok(const char *s, size_t max)
{
	return s && strnlen(s, max + 1) <= max;
}

static int tags_check(Sluice__Tag *const *tags, size_t n, char *why, size_t why_len)
{
	if (n > SL_PLAN_TAGS_MAX)
		return bad(why, why_len, "%zu tags", n);
	for (size_t i = 0; i < n; i++)
		if (!tags[i] || !text_ok(tags[i]->key, SL_PLAN_TEXT_MAX) ||
		    !text_ok(tags[i]->value, SL_PLAN_TEXT_MAX))
			return bad(why, why_len, "tag %zu malformed", i);
	return 0;
}

int sl_object_check(const Sluice__Object *o, char *why, size_t why_len)
{
	uint64_t count;

	if (!o)
		return bad(why, why_len, "no object");
	if (!text_ok(o->ns, SL_PLAN_NAME_MAX) || !text_ok(o->name, SL_PLAN_NAME_MAX))
		return bad(why, why_len, "object name too long");
	/* A LIST entry the caller may not read: its name and nothing else. */
	if (o->withheld)
		return o->size || o->shard_size || o->shard_count || o->sha256.len || o->n_tags ||
				       o->provenance
			       ? bad(why, why_len, "a withheld entry with content")
			       : 0;
	if (o->sha256.len != 0 && o->sha256.len != 32)
		return bad(why, why_len, "object SHA-256 of %zu bytes", o->sha256.len);
	if (o->shard_size == 0 || o->shard_size > SL_PLAN_SHARD_SIZE_MAX)
		return bad(why, why_len, "shard size %u", o->shard_size);
	count = o->size / o->shard_size + (o->size % o->shard_size != 0);
	if (count != o->shard_count || count > SL_PLAN_SHARDS_MAX)
		return bad(why, why_len, "%u shards for %llu bytes of %u-byte shards",
			   o->shard_count, (unsigned long long)o->size, o->shard_size);
	if (o->provenance && (!text_ok(o->provenance->principal_name, SL_PLAN_TEXT_MAX) ||
			      !text_ok(o->provenance->source, SL_PLAN_TEXT_MAX) ||
			      tags_check(o->provenance->tags, o->provenance->n_tags, why, why_len)))
		return bad(why, why_len, "malformed provenance");
	return tags_check(o->tags, o->n_tags, why, why_len);
}

static int server_check(const Sluice__DataServer *sv, int need_addr, char *why, size_t why_len)
{
	if (!sv)
		return bad(why, why_len, "missing data server");
	if (sv->fabric_addr.len > SL_PLAN_FABRIC_ADDR_MAX || (need_addr && !sv->fabric_addr.len))
		return bad(why, why_len, "data server %u: fabric address of %zu bytes", sv->id,
			   sv->fabric_addr.len);
	if (!text_ok(sv->label, SL_PLAN_TEXT_MAX) || !text_ok(sv->provider, SL_PLAN_TEXT_MAX))
		return bad(why, why_len, "data server %u: label or provider too long", sv->id);
	return 0;
}

static int servers_check(Sluice__DataServer *const *sv, size_t n, int need_addr, char *why,
			 size_t why_len)
{
	if (n > SL_PLAN_SERVERS_MAX)
		return bad(why, why_len, "%zu data servers", n);
	for (size_t i = 0; i < n; i++) {
		int rc = server_check(sv[i], need_addr, why, why_len);

		if (rc)
			return rc;
		/* Ids are looked up by value: two entries for one id are ambiguous. */
		for (size_t j = 0; j < i; j++)
			if (sv[j]->id == sv[i]->id)
				return bad(why, why_len, "data server %u listed twice", sv[i]->id);
	}
	return 0;
}

static int by_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The plan's server ids, sorted, so that a shard's replicas are found in log time. */
struct ids {
	uint32_t v[SL_PLAN_SERVERS_MAX];
	size_t n;
};

static int listed(const struct ids *ids, uint32_t id)
{
	return bsearch(&id, ids->v, ids->n, sizeof(id), by_id) != NULL;
}

static int shard_check(const Sluice__ObjectPlan *plan, const struct ids *ids, size_t i,
		       enum sl_plan_use use, char *why, size_t why_len)
{
	const Sluice__Object *o = plan->object;
	const Sluice__Shard *sh = plan->shards[i];
	uint64_t start = (uint64_t)i * o->shard_size;
	uint64_t want = o->size - start < o->shard_size ? o->size - start : o->shard_size;

	if (!sh)
		return bad(why, why_len, "shard %zu missing", i);
	if (sh->index != i)
		return bad(why, why_len, "shard %zu has index %u", i, sh->index);
	if (sh->length != want)
		return bad(why, why_len, "shard %zu of %u bytes, not %llu", i, sh->length,
			   (unsigned long long)want);
	/* No digest: a shard of a catalog older than shard digests. */
	if (sh->sha256.len != 0 && sh->sha256.len != 32)
		return bad(why, why_len, "shard %zu SHA-256 of %zu bytes", i, sh->sha256.len);
	if (sh->n_servers > SL_PLAN_REPLICAS_MAX || (use != SL_PLAN_STAT && !sh->n_servers))
		return bad(why, why_len, "shard %zu on %zu servers", i, sh->n_servers);
	for (size_t r = 0; r < sh->n_servers; r++) {
		if (!listed(ids, sh->servers[r]))
			return bad(why, why_len, "shard %zu on unlisted data server %u", i,
				   sh->servers[r]);
		for (size_t q = 0; q < r; q++)
			if (sh->servers[q] == sh->servers[r])
				return bad(why, why_len, "shard %zu twice on data server %u", i,
					   sh->servers[r]);
	}
	return 0;
}

int sl_plan_check(const Sluice__ObjectPlan *plan, enum sl_plan_use use, char *why,
		  size_t why_len)
{
	const Sluice__Object *o;
	struct ids ids;
	int rc;

	if (!plan)
		return bad(why, why_len, "no plan");
	o = plan->object;
	rc = sl_object_check(o, why, why_len);
	if (rc)
		return rc;
	if (o->withheld)
		return bad(why, why_len, "a withheld object in a plan");
	if (use == SL_PLAN_READ && o->sha256.len != 32)
		return bad(why, why_len, "no object SHA-256");
	/* Each data server verifies only the capability minted for it: servers[i]'s is
	 * server_caps[i]. A stat may carry none. */
	if (plan->n_server_caps != plan->n_servers && (use != SL_PLAN_STAT || plan->n_server_caps))
		return bad(why, why_len, "%zu capabilities for %zu servers", plan->n_server_caps,
			   plan->n_servers);
	for (size_t i = 0; i < plan->n_server_caps; i++)
		if (plan->server_caps[i].len != SL_CAP_LEN)
			return bad(why, why_len, "capability of %zu bytes", plan->server_caps[i].len);
	/* A stat may withhold the shards (from a principal that may not read). */
	if (plan->n_shards != o->shard_count && !(use == SL_PLAN_STAT && plan->n_shards == 0))
		return bad(why, why_len, "%zu shards listed of %u", plan->n_shards,
			   o->shard_count);
	rc = servers_check(plan->servers, plan->n_servers, use != SL_PLAN_STAT, why, why_len);
	if (rc)
		return rc;
	ids.n = plan->n_servers;
	for (size_t i = 0; i < ids.n; i++)
		ids.v[i] = plan->servers[i]->id;
	qsort(ids.v, ids.n, sizeof(ids.v[0]), by_id);
	for (size_t i = 0; !rc && i < plan->n_shards; i++)
		rc = shard_check(plan, &ids, i, use, why, why_len);
	return rc;
}

int sl_list_check(const Sluice__ListResp *r, uint32_t asked, char *why, size_t why_len)
{
	size_t max = asked && asked < SL_PLAN_LIST_MAX ? asked : SL_PLAN_LIST_MAX;

	if (r->n_objects > max)
		return bad(why, why_len, "%zu objects where at most %zu were asked", r->n_objects,
			   max);
	for (size_t i = 0; i < r->n_objects; i++) {
		int rc = sl_object_check(r->objects[i], why, why_len);

		if (rc)
			return rc;
	}
	return 0;
}

int sl_tenants_check(const Sluice__TenantListResp *r, char *why, size_t why_len)
{
	if (r->n_tenants > SL_PLAN_NAMES_MAX)
		return bad(why, why_len, "%zu tenants", r->n_tenants);
	for (size_t i = 0; i < r->n_tenants; i++)
		if (!r->tenants[i] || !text_ok(r->tenants[i]->name, SL_PLAN_NAME_MAX))
			return bad(why, why_len, "tenant %zu malformed", i);
	return 0;
}

int sl_namespaces_check(const Sluice__NsListResp *r, char *why, size_t why_len)
{
	if (r->n_namespaces > SL_PLAN_NAMES_MAX)
		return bad(why, why_len, "%zu namespaces", r->n_namespaces);
	for (size_t i = 0; i < r->n_namespaces; i++) {
		const Sluice__Namespace *ns = r->namespaces[i];

		if (!ns || !text_ok(ns->name, SL_PLAN_NAME_MAX) ||
		    tags_check(ns->tags, ns->n_tags, why, why_len))
			return bad(why, why_len, "namespace %zu malformed", i);
	}
	return 0;
}

int sl_servers_check(const Sluice__ServerListResp *r, char *why, size_t why_len)
{
	return servers_check(r->servers, r->n_servers, 0, why, why_len);
}

int sl_principal_check(const Sluice__Principal *p, char *why, size_t why_len)
{
	if (!text_ok(p->name, SL_PLAN_NAME_MAX) || !text_ok(p->tenant_name, SL_PLAN_NAME_MAX) ||
	    !text_ok(p->key_id, SL_PLAN_NAME_MAX))
		return bad(why, why_len, "principal names too long");
	if (p->secret.len != 0 && p->secret.len != 32)
		return bad(why, why_len, "principal secret of %zu bytes", p->secret.len);
	return 0;
}

int sl_audit_check(const Sluice__AuditListResp *r, uint32_t asked, char *why, size_t why_len)
{
	size_t max = asked ? (asked < SL_PLAN_LIST_MAX ? asked : SL_PLAN_LIST_MAX) : 100;

	if (r->n_records > max)
		return bad(why, why_len, "%zu audit records where at most %zu were asked",
			   r->n_records, max);
	for (size_t i = 0; i < r->n_records; i++) {
		const Sluice__AuditRecord *a = r->records[i];

		if (!a || !text_ok(a->event, SL_PLAN_TEXT_MAX) ||
		    !text_ok(a->purpose, SL_PLAN_TEXT_MAX) ||
		    !text_ok(a->object, SL_PLAN_NAME_MAX * 2 + 1) ||
		    !text_ok(a->decision, SL_PLAN_TEXT_MAX) ||
		    !text_ok(a->reason, SL_PLAN_TEXT_MAX) ||
		    (a->prev_hash.len != 0 && a->prev_hash.len != 32) ||
		    tags_check(a->tags, a->n_tags, why, why_len) ||
		    !text_ok(a->node, SL_PLAN_TEXT_MAX) || !text_ok(a->enforcer, SL_PLAN_TEXT_MAX) ||
		    !text_ok(a->action, SL_PLAN_TEXT_MAX) || !text_ok(a->policy, SL_PLAN_TEXT_MAX) ||
		    a->n_roles > SL_PLAN_TAGS_MAX)
			return bad(why, why_len, "audit record %zu malformed", i);
		for (size_t j = 0; j < a->n_roles; j++)
			if (!text_ok(a->roles[j], SL_PLAN_TEXT_MAX))
				return bad(why, why_len, "audit record %zu malformed", i);
	}
	return 0;
}

int sl_audit_verify_check(const Sluice__AuditVerifyResp *r, uint64_t after_seq, char *why,
			  size_t why_len)
{
	if (!text_ok(r->problem, SL_PLAN_TEXT_MAX) || !text_ok(r->detail, SL_PLAN_TEXT_MAX))
		return bad(why, why_len, "audit verdict text too long");
	if (r->last_seq < after_seq)
		return bad(why, why_len, "the walk went back from record %llu to %llu",
			   (unsigned long long)after_seq, (unsigned long long)r->last_seq);
	if (r->intact && (!r->done || r->bad_seq))
		return bad(why, why_len, "an intact verdict before the walk ended");
	return 0;
}

void sl_text_clean(char *msg)
{
	uint8_t *p = (uint8_t *)msg;

	for (; p && *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		/* U+0080..U+009F, the C1 controls, in UTF-8: C2 80..C2 9F. */
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
}

int sl_data_reply_decode(const uint8_t *buf, size_t len, uint64_t req_id, uint32_t asked,
			 struct sl_data_answer *a)
{
	struct sl_frame_hdr h;
	const uint8_t *payload;
	Sluice__DataReply *r;
	/* The frame is whole in buf: its payload can be no longer than buf. */
	if (sl_frame_parse(buf, len, len, &h, &payload) || h.req_id != req_id)
		return -EPROTO;
	r = sluice__data_reply__unpack(NULL, h.length, payload);
	if (!r)
		return -EPROTO;
	a->err = r->err < 0 && r->err > -4096 ? r->err : (r->err ? -EIO : 0);
	a->length = r->length;
	a->crc32c = r->crc32c;
	sluice__data_reply__free_unpacked(r, NULL);
	/* A server that claims more than it was asked to move is lying or broken. */
	if (!a->err && a->length > asked)
		return -EPROTO;
	return 0;
}
