/*
 * Authentication refusals in the audit log, aggregated so that a flood of
 * bad requests cannot turn into a flood of synced writes: refusals are
 * counted in memory per (tenant, key id, reason), at most SL_AUTHLOG_MAX
 * rows, half of them at most for key ids that name no principal (the rest
 * only counted), and written as one record per row at most
 * once per SL_AUTHLOG_INTERVAL_MS, before any audit read, and at shutdown.
 * A refusal for a key id that names a principal goes to that principal's
 * tenant; any other to the system tenant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "sl_log.h"

void sl_authlog_note(struct sl_meta *m, uint64_t tenant, uint64_t principal, const char *key_id,
		     const char *why, uint64_t now_ms)
{
	struct sl_authlog *l = &m->authlog;
	struct sl_authlog_row *row = NULL;
	int flush;

	pthread_mutex_lock(&l->lock);
	if (!l->since_ms)
		l->since_ms = now_ms;
	for (size_t i = 0; i < l->n && !row; i++)
		if (l->rows[i].tenant == tenant && strcmp(l->rows[i].key_id, key_id) == 0 &&
		    strcmp(l->rows[i].why, why) == 0)
			row = &l->rows[i];
	/* Unknown key ids may fill half the rows only: a flood of made-up keys
	 * must not crowd out the refusals a tenant should see. */
	if (!row && l->n < SL_AUTHLOG_MAX && (tenant || l->n_unknown < SL_AUTHLOG_MAX / 2)) {
		l->n_unknown += !tenant;
		row = &l->rows[l->n++];
		memset(row, 0, sizeof(*row));
		row->tenant = tenant;
		row->principal = principal;
		snprintf(row->key_id, sizeof(row->key_id), "%s", key_id);
		snprintf(row->why, sizeof(row->why), "%s", why);
	}
	if (row)
		row->count++;
	else
		l->unlisted++;
	flush = now_ms >= l->since_ms + SL_AUTHLOG_INTERVAL_MS;
	pthread_mutex_unlock(&l->lock);
	if (flush)
		sl_authlog_flush(m);
}

int sl_authlog_flush(struct sl_meta *m)
{
	struct sl_authlog *l = &m->authlog;
	struct sl_authlog_row *rows;
	uint64_t unlisted, since;
	size_t n;
	int rc = 0;

	rows = malloc(SL_AUTHLOG_MAX * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	pthread_mutex_lock(&l->lock);
	n = l->n;
	memcpy(rows, l->rows, n * sizeof(*rows));
	unlisted = l->unlisted;
	since = l->since_ms;
	l->n = 0;
	l->n_unknown = 0;
	l->unlisted = 0;
	l->since_ms = 0;
	pthread_mutex_unlock(&l->lock);

	for (size_t i = 0; i <= n; i++) {
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
		char reason[160];
		int one;

		if (i == n && !unlisted)
			break;
		a.event = (char *)"auth.refused";
		a.decision = (char *)"deny";
		a.reason = reason;
		if (i < n) {
			a.tenant_id = rows[i].tenant ? rows[i].tenant : m->system_tenant;
			a.principal_id = rows[i].principal;
			a.object = rows[i].key_id;
			snprintf(reason, sizeof(reason), "%s: %u time%s since %llu", rows[i].why,
				 rows[i].count, rows[i].count == 1 ? "" : "s",
				 (unsigned long long)since);
		} else {
			a.tenant_id = m->system_tenant;
			a.object = (char *)"(other keys)";
			snprintf(reason, sizeof(reason), "%llu more refusals since %llu",
				 (unsigned long long)unlisted, (unsigned long long)since);
		}
		one = sl_audit_commit(m, &a, NULL);
		rc = rc ? rc : one;
	}
	free(rows);
	if (rc)
		SL_ERR_RC(rc, "audit: writing authentication refusals");
	return rc;
}
