/*
 * HOLD_SET and RETAIN_SET, and the retention rule DELETE applies; the
 * model and its invariants are in retention.h. Each handler checks the
 * request's form, then the caller's role, then, under m->mutate_lock, reads
 * the caller's tenant's object, decides, and commits the changed record with
 * its audit record in one batch. Another tenant's object answers exactly
 * like a missing one; refusals on a well-formed name are audited.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"
#include "retention.h"
#include "sl_log.h"
#include "sl_time.h"

#define GOVERNANCE SLUICE__RETENTION_MODE__RETENTION_GOVERNANCE
#define COMPLIANCE SLUICE__RETENTION_MODE__RETENTION_COMPLIANCE
#define NONE SLUICE__RETENTION_MODE__RETENTION_NONE

void sl_time_iso(uint64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "%llu ms", (unsigned long long)ms);
}

static int retention_runs(const Sluice__Object *o, uint64_t now)
{
	return o->retain_mode != NONE && o->retain_until_ms > now;
}

/* "none", "governance until DATE", "compliance until DATE (ended)". */
static void describe(int mode, uint64_t until, uint64_t now, char *out, size_t len)
{
	char when[40];

	if (mode == NONE) {
		snprintf(out, len, "none");
		return;
	}
	sl_time_iso(until, when, sizeof(when));
	snprintf(out, len, "%s until %s%s", mode == GOVERNANCE ? "governance" : "compliance", when,
		 until > now ? "" : " (ended)");
}

int sl_retention_may_delete(const Sluice__Principal *p, const Sluice__Object *o, uint64_t now_ms,
			    char *why, size_t why_len)
{
	char when[40];

	why[0] = '\0';
	if (o->legal_hold) {
		snprintf(why, why_len, "it is under legal hold");
		return -EPERM;
	}
	if (!retention_runs(o, now_ms))
		return 0;
	sl_time_iso(o->retain_until_ms, when, sizeof(when));
	/* A mode this build does not know is held like compliance: fail closed. */
	if (o->retain_mode != GOVERNANCE) {
		snprintf(why, why_len, "it is under compliance-mode retention until %s", when);
		return -EPERM;
	}
	if (!sl_has_right(p, SL_RIGHT_BYPASS)) {
		snprintf(why, why_len, "it is under governance-mode retention until %s "
			 "(deleting it needs the bypass right)", when);
		return -EPERM;
	}
	snprintf(why, why_len, "bypassed governance-mode retention until %s", when);
	return 0;
}

static int check_names(const char *ns, const char *name, struct sl_reply *r)
{
	if (!sl_name_valid(ns))
		return sl_fail(r, -EINVAL, "bad namespace name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	if (!sl_object_name_valid(name))
		return sl_fail(r, -EINVAL,
			       "bad object name: 1-1024 bytes of UTF-8, no control characters, "
			       "no leading '/', no empty, '.' or '..' parts");
	return 0;
}

/*
 * Writes the audit record of event on ns/name by the caller: a change (b
 * holds it, committed with the record) or a refusal (b NULL). o is NULL
 * when the name was not found.
 */
static int audit(struct sl_meta *m, const struct sl_caller *c, const char *event, const char *ns,
		 const char *name, const Sluice__Object *o, const char *decision,
		 const char *reason, struct sl_batch *b)
{
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	char what[SL_NAME_MAX + SL_OBJECT_NAME_MAX + 2];
	int rc;

	snprintf(what, sizeof(what), "%s/%s", ns, name);
	a.event = (char *)event;
	a.tenant_id = c->p->tenant_id;
	a.principal_id = c->p->id;
	a.object = what;
	a.object_id = o ? o->id : 0;
	a.decision = (char *)decision;
	a.reason = (char *)reason;
	if (o) {
		a.tags = o->tags;
		a.n_tags = o->n_tags;
	}
	rc = sl_audit_commit(m, &a, b);
	if (rc && !b)
		SL_ERR_RC(rc, "audit: %s %s of %s not recorded", event, decision, what);
	return rc;
}

/* Answers with what a writer may learn of o: names, retention and hold, no content. */
static int reply_state(struct sl_reply *r, const Sluice__Object *o)
{
	Sluice__Object done = SLUICE__OBJECT__INIT;

	done.ns = o->ns;
	done.name = o->name;
	done.state = o->state;
	done.retain_until_ms = o->retain_until_ms;
	done.retain_mode = o->retain_mode;
	done.legal_hold = o->legal_hold;
	return sl_reply_pack(r, &done.base);
}

/*
 * The shared tail of both handlers: o (read under the lock, changed by the
 * caller) is written back with the audit record of the change, and the reply
 * packed. 0 or the failure set in r.
 */
static int commit_change(struct sl_meta *m, const struct sl_caller *c, const char *event,
			 Sluice__Object *o, const char *reason, struct sl_reply *r)
{
	struct sl_batch *b = sl_batch_new();
	struct sl_key k;
	int rc;

	if (!b)
		return sl_fail(r, -ENOMEM, "out of memory");
	sl_key_object(&k, o->tenant_id, o->ns_id, o->name);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_OBJECTS, k.b, k.len, &o->base);
	rc = rc ? rc : audit(m, c, event, o->ns, o->name, o, "done", reason, b);
	sl_batch_free(b);
	if (rc)
		return sl_fail(r, rc, "catalog write failed");
	return reply_state(r, o);
}

/* Reads the caller's tenant's ns/name under the lock; a miss is audited as event. */
static int locked_object(struct sl_meta *m, const struct sl_caller *c, const char *event,
			 const char *ns, const char *name, Sluice__Object **o, struct sl_reply *r)
{
	int rc = sl_object_get(m, c->p->tenant_id, ns, name, o);

	if (rc == -ENOENT) {
		audit(m, c, event, ns, name, NULL, "deny", "not found", NULL);
		return sl_fail(r, -ENOENT, "no such object: %s/%s", ns, name);
	}
	return rc ? sl_fail(r, rc, "catalog read failed") : 0;
}

int sl_h_hold_set(struct sl_meta *m, const struct sl_caller *c, const Sluice__HoldSetReq *req,
		  struct sl_reply *r)
{
	static const char *const event = "object.hold";
	Sluice__Object *o = NULL;
	char reason[32];
	int rc;

	if (!c->p)
		return sl_fail(r, -EPERM, "legal holds need the admin role");
	rc = check_names(req->ns, req->name, r);
	if (rc)
		return rc;
	if (!sl_has_role(c->p, "admin")) {
		audit(m, c, event, req->ns, req->name, NULL, "deny", "legal holds need the admin role",
		      NULL);
		return sl_fail(r, -EPERM, "legal holds need the admin role");
	}
	pthread_mutex_lock(&m->mutate_lock);
	rc = locked_object(m, c, event, req->ns, req->name, &o, r);
	if (rc)
		goto out;
	snprintf(reason, sizeof(reason), "hold %s -> %s", o->legal_hold ? "on" : "off",
		 req->on ? "on" : "off");
	o->legal_hold = req->on;
	rc = commit_change(m, c, event, o, reason, r);
	SL_DEBUG("hold: %s/%s %s by principal %llu", req->ns, req->name, reason,
		 (unsigned long long)c->p->id);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	return rc;
}

/* The form of a RETAIN_SET request; 0 or -EINVAL set in r. */
static int check_retain(const Sluice__RetainSetReq *req, uint64_t now, struct sl_reply *r)
{
	char when[40];

	if (req->mode != NONE && req->mode != GOVERNANCE && req->mode != COMPLIANCE)
		return sl_fail(r, -EINVAL, "bad retention mode: governance or compliance");
	if (req->mode == NONE)
		return req->until_ms ? sl_fail(r, -EINVAL, "removing retention takes no date") : 0;
	sl_time_iso(req->until_ms, when, sizeof(when));
	if (req->until_ms <= now)
		return sl_fail(r, -EINVAL, "retention date %s is not in the future", when);
	if (req->until_ms - now > SL_RETAIN_AHEAD_MAX_MS)
		return sl_fail(r, -EINVAL, "retention date %s is more than 100 years ahead", when);
	return 0;
}

/*
 * Whether the caller may replace o's retention with req's. Keeping or
 * extending in the same or a stronger mode is always allowed; anything
 * weaker (an earlier date, removal, compliance to governance) is refused
 * under compliance and needs the bypass right under governance. NULL
 * allows; otherwise the refusal's message.
 */
static const char *retain_refusal(const struct sl_caller *c, const Sluice__Object *o,
				  const Sluice__RetainSetReq *req, uint64_t now)
{
	int weaker;

	if (!retention_runs(o, now))
		return NULL;
	weaker = req->mode == NONE || req->until_ms < o->retain_until_ms ||
		 (o->retain_mode != GOVERNANCE && req->mode == GOVERNANCE);
	if (!weaker)
		return NULL;
	if (o->retain_mode != GOVERNANCE)
		return "compliance-mode retention cannot be shortened, removed or switched to "
		       "governance before it ends";
	if (!sl_has_right(c->p, SL_RIGHT_BYPASS))
		return "shortening or removing governance-mode retention needs the bypass right";
	return NULL;
}

int sl_h_retain_set(struct sl_meta *m, const struct sl_caller *c, const Sluice__RetainSetReq *req,
		    struct sl_reply *r)
{
	static const char *const event = "object.retain";
	Sluice__Object *o = NULL;
	uint64_t now = sl_now_ms();
	char reason[200], was[80], will[80];
	const char *refused;
	int rc;

	if (!c->p)
		return sl_fail(r, -EPERM, "retention needs the writer or admin role");
	rc = check_names(req->ns, req->name, r);
	rc = rc ? rc : check_retain(req, now, r);
	if (rc)
		return rc;
	if (!sl_has_role(c->p, "writer") && !sl_has_role(c->p, "admin")) {
		audit(m, c, event, req->ns, req->name, NULL, "deny",
		      "retention needs the writer or admin role", NULL);
		return sl_fail(r, -EPERM, "retention needs the writer or admin role");
	}
	pthread_mutex_lock(&m->mutate_lock);
	rc = locked_object(m, c, event, req->ns, req->name, &o, r);
	if (rc)
		goto out;
	describe(o->retain_mode, o->retain_until_ms, now, was, sizeof(was));
	describe(req->mode, req->until_ms, now, will, sizeof(will));
	snprintf(reason, sizeof(reason), "%s -> %s", was, will);
	refused = retain_refusal(c, o, req, now);
	if (refused) {
		char why[300];

		snprintf(why, sizeof(why), "%s: %s", refused, reason);
		audit(m, c, event, req->ns, req->name, o, "deny", why, NULL);
		rc = sl_fail(r, -EPERM, "%s/%s: %s (now %s)", req->ns, req->name, refused, was);
		goto out;
	}
	o->retain_mode = req->mode;
	o->retain_until_ms = req->until_ms;
	rc = commit_change(m, c, event, o, reason, r);
	SL_DEBUG("retain: %s/%s %s by principal %llu", req->ns, req->name, reason,
		 (unsigned long long)c->p->id);
out:
	pthread_mutex_unlock(&m->mutate_lock);
	if (o)
		sluice__object__free_unpacked(o, NULL);
	return rc;
}
