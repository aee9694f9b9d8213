/* Cluster key administration: rotating the capability key generation. */
#include <errno.h>
#include <stdlib.h>

#include "session_int.h"

int sluice_key_rotate(sluice_session *s, struct sluice_key_rotation *out)
{
	Sluice__Empty req = SLUICE__EMPTY__INIT;
	Sluice__KeyRotateResp *resp = NULL;
	int rc = sl_sess_call(s, SL_RPC_KEY_ROTATE, &req.base, &sluice__key_rotate_resp__descriptor,
			      (ProtobufCMessage **)&resp);

	if (rc)
		return rc;
	if (resp->key_gen < 2 || resp->n_fenced > 256) {
		sluice__key_rotate_resp__free_unpacked(resp, NULL);
		return sl_sess_fail(s, -EBADMSG, "malformed key rotation reply from sluice-meta");
	}
	out->key_gen = resp->key_gen;
	out->prev_until_ms = resp->prev_until_ms;
	out->n_fenced = resp->n_fenced;
	for (size_t i = 0; i < resp->n_fenced; i++)
		out->fenced[i] = resp->fenced[i];
	sluice__key_rotate_resp__free_unpacked(resp, NULL);
	return 0;
}
