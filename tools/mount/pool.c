/*
 * The mount's libsluice sessions. A session serves one thread at a time, so
 * FUSE's worker threads share a few: a call takes the first free one, or
 * waits for the next in turn. An open file keeps to the session its grant
 * was made for, since the capability is bound to that session's endpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "sl_log.h"

int sl_mnt_pool_open(struct sl_mnt *m, char *err, size_t err_len)
{
	int rc = 0;

	m->sess = calloc(m->n_sess, sizeof(*m->sess));
	if (!m->sess)
		return -ENOMEM;
	for (unsigned i = 0; i < m->n_sess; i++) {
		pthread_mutex_init(&m->sess[i].lock, NULL);
		rc = sluice_open_file(m->credentials, NULL, m->purpose, &m->sess[i].s);
		if (rc) {
			snprintf(err, err_len, "%s: %s", m->credentials,
				 rc == -ENOENT ? "cannot read the credentials file"
					       : "bad credentials file (needs [sluice] meta, "
						 "key_id, secret and ca or ca_file)");
			break;
		}
	}
	if (!rc) {
		char *tenant = NULL, *principal = NULL;

		/* Proves the credentials and the CA now, not at the first ls. */
		rc = sluice_whoami(m->sess[0].s, &tenant, &principal);
		if (rc)
			snprintf(err, err_len, "cannot reach sluice-meta: %s",
				 sluice_last_error(m->sess[0].s));
		else
			SL_INFO("connected as %s of tenant %s, purpose %s", principal, tenant,
				m->purpose);
		free(tenant);
		free(principal);
	}
	if (rc)
		sl_mnt_pool_close(m);
	return rc;
}

void sl_mnt_pool_close(struct sl_mnt *m)
{
	if (!m->sess)
		return;
	for (unsigned i = 0; i < m->n_sess; i++) {
		sluice_close(m->sess[i].s);
		pthread_mutex_destroy(&m->sess[i].lock);
	}
	free(m->sess);
	m->sess = NULL;
}

sluice_session *sl_mnt_get(struct sl_mnt *m, unsigned *idx)
{
	unsigned start = __atomic_fetch_add(&m->next_sess, 1, __ATOMIC_RELAXED);

	for (unsigned k = 0; k < m->n_sess; k++) {
		unsigned i = (start + k) % m->n_sess;

		if (pthread_mutex_trylock(&m->sess[i].lock) == 0) {
			*idx = i;
			return m->sess[i].s;
		}
	}
	*idx = start % m->n_sess;
	return sl_mnt_get_at(m, *idx);
}

sluice_session *sl_mnt_get_at(struct sl_mnt *m, unsigned idx)
{
	pthread_mutex_lock(&m->sess[idx].lock);
	return m->sess[idx].s;
}

void sl_mnt_put(struct sl_mnt *m, unsigned idx)
{
	pthread_mutex_unlock(&m->sess[idx].lock);
}

int sl_mnt_errno(int rc, sluice_session *s, const char *op, const char *path)
{
	switch (rc) {
	case 0:
	case -ENOENT:
		return rc;
	case -EACCES:
	case -EPERM:
	case -EEXIST:
	case -EINVAL:
		SL_INFO("%s %s: %s", op, path, sluice_last_error(s));
		return rc;
	default:
		/* The servers' troubles are an I/O error to a file's reader. */
		SL_WARN("%s %s: %s", op, path, sluice_last_error(s));
		return -EIO;
	}
}
