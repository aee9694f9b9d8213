/*
 * Retention, legal holds and provenance (sluice.h): HOLD_SET, RETAIN_SET,
 * the provenance source the session's puts carry, and the conversion of an
 * object's provenance into the public struct. sluice-meta decides every
 * rule; the checks here only turn bad input into a clear message before a
 * round trip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session_int.h"

int sluice_set_source(sluice_session *s, const char *source)
{
	size_t n = source ? strlen(source) : 0;

	if (n >= sizeof(s->source))
		return sl_sess_fail(s, -EINVAL, "source too long: at most %zu bytes",
				    sizeof(s->source) - 1);
	memcpy(s->source, source ? source : "", n);
	s->source[n] = '\0';
	return 0;
}

int sluice_hold_set(sluice_session *s, const char *ns, const char *name, int on)
{
	Sluice__HoldSetReq req = SLUICE__HOLD_SET_REQ__INIT;

	if (!ns || !name)
		return sl_sess_fail(s, -EINVAL, "a hold needs a namespace and a name");
	req.ns = (char *)ns;
	req.name = (char *)name;
	req.on = on != 0;
	return sl_sess_call(s, SL_RPC_HOLD_SET, &req.base, NULL, NULL);
}

int sluice_retain(sluice_session *s, const char *ns, const char *name, uint64_t until_ms,
		  const char *mode)
{
	Sluice__RetainSetReq req = SLUICE__RETAIN_SET_REQ__INIT;

	if (!ns || !name)
		return sl_sess_fail(s, -EINVAL, "retention needs a namespace and a name");
	if (mode && strcmp(mode, "governance") == 0)
		req.mode = SLUICE__RETENTION_MODE__RETENTION_GOVERNANCE;
	else if (mode && strcmp(mode, "compliance") == 0)
		req.mode = SLUICE__RETENTION_MODE__RETENTION_COMPLIANCE;
	else if (mode && strcmp(mode, "none") == 0)
		req.mode = SLUICE__RETENTION_MODE__RETENTION_NONE;
	else
		return sl_sess_fail(s, -EINVAL, "bad retention mode '%.32s': governance, compliance "
				    "or none", mode ? mode : "");
	if (req.mode == SLUICE__RETENTION_MODE__RETENTION_NONE ? until_ms != 0 : until_ms == 0)
		return sl_sess_fail(s, -EINVAL, "retention needs a date, and removing it none");
	req.ns = (char *)ns;
	req.name = (char *)name;
	req.until_ms = until_ms;
	return sl_sess_call(s, SL_RPC_RETAIN_SET, &req.base, NULL, NULL);
}

void sl_provenance_free(struct sluice_provenance *pv)
{
	for (size_t i = 0; i < pv->n_tags; i++) {
		free((char *)pv->tags[i].key);
		free((char *)pv->tags[i].value);
	}
	free(pv->tags);
	free(pv->principal);
	free(pv->source);
	memset(pv, 0, sizeof(*pv));
}

int sl_provenance_from_pb(const Sluice__Provenance *pv, struct sluice_provenance *out)
{
	size_t n = pv ? pv->n_tags : 0;

	memset(out, 0, sizeof(*out));
	out->principal = strdup(pv ? pv->principal_name : "");
	out->source = strdup(pv ? pv->source : "");
	out->tags = calloc(n + 1, sizeof(*out->tags));
	if (!out->principal || !out->source || !out->tags)
		return -ENOMEM;
	if (!pv)
		return 0;
	out->principal_id = pv->principal_id;
	out->time_ms = pv->time_ms;
	for (size_t i = 0; i < n; i++) {
		out->tags[i].key = strdup(pv->tags[i]->key);
		out->tags[i].value = strdup(pv->tags[i]->value);
		out->n_tags++;
		if (!out->tags[i].key || !out->tags[i].value)
			return -ENOMEM;
	}
	return 0;
}
