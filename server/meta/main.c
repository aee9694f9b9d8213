/*
 * sluice-meta: the metadata server. Opens the catalog, sets up its TLS
 * identity (a cluster CA on first start), bootstraps the system tenant on
 * first start, loads the data-server registry and serves signed requests
 * over TLS until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog_keys.h"
#include "config.h"
#include "meta.h"
#include "net.h"
#include "revoke.h"
#include "sl_log.h"
#include "sl_time.h"

/* The one file-scope variable: a signal handler has no other way to the context. */
static struct sl_meta *signal_target;

static void on_signal(int sig)
{
	(void)sig;
	if (signal_target)
		signal_target->stopping = 1;
}

static int mkdir_p(const char *dir)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct sl_meta *m = calloc(1, sizeof(*m));
	struct sl_meta_config *cfg;
	char path[600];
	int rc, level;

	if (!m)
		return 1;
	cfg = &m->cfg;
	struct sl_opt opts[] = {
		SL_OPT_STRING("listen", "SLUICE_META_LISTEN", cfg->listen, "127.0.0.1:7000",
		  "address for clients and data servers (host:port; port 0 picks one)"),
		SL_OPT_STRING("data-dir", "SLUICE_META_DATA_DIR", cfg->data_dir, "./sluice-meta",
		  "folder for the catalog and the bootstrap admin credentials"),
		SL_OPT_STRING("cluster-key", "SLUICE_CLUSTER_KEY", cfg->cluster_key, "",
		  "file with the cluster secret (64 hex digits), held by sluice-meta alone "
		  "(data servers get derived keys: --server-key); created in data-dir when unset"),
		SL_OPT_STRING("tls-cert", "SLUICE_META_TLS_CERT", cfg->tls_cert, "",
		  "PEM certificate chain the control plane presents (TLS 1.3); unset: issued "
		  "at every start from a cluster CA made in data-dir"),
		SL_OPT_STRING("tls-key", "SLUICE_META_TLS_KEY", cfg->tls_key, "",
		  "PEM private key of tls-cert"),
		SL_OPT_STRING("tls-ca", "SLUICE_META_TLS_CA", cfg->tls_ca, "",
		  "PEM certificate of the CA tls-cert chains to; copied into credentials files"),
		SL_OPT_STRING("log-level", "SLUICE_LOG_LEVEL", cfg->log_level, "info",
		  "error, warn, info or debug"),
		SL_OPT_NUMBER("heartbeat-ms", "SLUICE_HEARTBEAT_MS", &cfg->heartbeat_ms, "1000",
		  "how often data servers heartbeat"),
		SL_OPT_NUMBER("down-after-ms", "SLUICE_DOWN_AFTER_MS", &cfg->down_after_ms, "5000",
		  "a data server silent this long is marked down"),
		SL_OPT_NUMBER("capability-ttl-s", "SLUICE_CAP_TTL_S", &cfg->cap_ttl_s, "300",
		  "capability lifetime in seconds (at most 300)"),
		SL_OPT_NUMBER("key-grace-s", "SLUICE_KEY_GRACE_S", &cfg->key_grace_s, "330",
		  "after `sluice key rotate`, how long capabilities of the previous key generation "
		  "still work (at least a capability's lifetime, or reads in flight fail)"),
		SL_OPT_NUMBER("shard-size", "SLUICE_SHARD_SIZE", &cfg->shard_size, "4194304",
		  "default shard size of new namespaces, bytes"),
		SL_OPT_NUMBER("replicas", "SLUICE_REPLICAS", &cfg->replicas, "3",
		  "default replica count of new namespaces"),
		SL_OPT_NUMBER("pending-expiry-s", "SLUICE_PENDING_EXPIRY_S", &cfg->pending_expiry_s,
		  "3600", "an ingest not committed after this long is abandoned and its shards deleted"),
		SL_OPT_NUMBER("tenant-principals-max", "SLUICE_TENANT_PRINCIPALS_MAX",
		  &cfg->tenant_principals_max, "1024",
		  "principals one tenant may have (each holds a window of the replay cache)"),
		SL_OPT_NUMBER("server-key", "SLUICE_SERVER_KEY_ID", &cfg->server_key_id, "0",
		  "write the key of data server ID (derived from the cluster key) to --out, and exit"),
		SL_OPT_STRING("out", "SLUICE_SERVER_KEY_OUT", cfg->server_key_out, "",
		  "the file --server-key writes (created, mode 0600)"),
	};

	rc = sl_config_load(opts, sizeof(opts) / sizeof(opts[0]), "meta", argc, argv,
			    "usage: sluice-meta [--config FILE] [options]\n\n"
			    "The Sluice metadata server: catalog, governance, capabilities.");
	if (rc) {
		free(m);
		return rc == 1 ? 0 : 2;
	}
	level = sl_log_level_parse(cfg->log_level);
	sl_log_init("sluice-meta", level < 0 ? SL_LOG_INFO : level);
	if (cfg->shard_size < 4096 || cfg->shard_size > (16u << 20) || !cfg->replicas ||
	    cfg->replicas > 16 || !cfg->down_after_ms || !cfg->heartbeat_ms ||
	    !cfg->pending_expiry_s || !cfg->tenant_principals_max ||
	    cfg->tenant_principals_max > 4096) {
		SL_ERR("bad configuration: shard-size 4096..16777216, replicas 1..16, "
		       "heartbeat, down-after and pending-expiry > 0, tenant-principals-max 1..4096");
		free(m);
		return 2;
	}
	pthread_mutex_init(&m->mutate_lock, NULL);
	pthread_mutex_init(&m->servers_lock, NULL);
	pthread_mutex_init(&m->audit_lock, NULL);
	pthread_cond_init(&m->audit_cond, NULL);
	pthread_mutex_init(&m->authlog.lock, NULL);
	pthread_mutex_init(&m->conns_lock, NULL);
	m->listen_fd = -1;
	/* Requests signed before this start may have been served by the last one. */
	rc = sl_replay_new(sl_now_ms(), &m->replay);
	if (rc)
		goto out;

	rc = mkdir_p(cfg->data_dir);
	if (rc) {
		SL_ERR_RC(rc, "creating %s", cfg->data_dir);
		goto out;
	}
	if (!cfg->cluster_key[0]) {
		snprintf(cfg->cluster_key, sizeof(cfg->cluster_key), "%s/cluster.key", cfg->data_dir);
		rc = sl_keyring_create_file(cfg->cluster_key);
		if (rc && rc != -EEXIST) {
			SL_ERR_RC(rc, "creating %s", cfg->cluster_key);
			goto out;
		}
	}
	rc = sl_keyring_load(&m->keys, cfg->cluster_key, 1);
	if (rc) {
		SL_ERR_RC(rc, "reading cluster key %s", cfg->cluster_key);
		goto out;
	}
	if (cfg->server_key_id) {
		/* Provisioning: a data server gets its own key, never the cluster's. */
		rc = cfg->server_key_out[0]
			     ? sl_keyring_server_file(&m->keys, cfg->server_key_id, cfg->server_key_out)
			     : -EINVAL;
		if (rc)
			SL_ERR_RC(rc, "writing the key of data server %u to '%s'", cfg->server_key_id,
				  cfg->server_key_out);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/catalog", cfg->data_dir);
	rc = sl_catalog_open(path, &m->cat);
	if (rc) {
		SL_ERR_RC(rc, "opening catalog %s", path);
		goto out;
	}
	rc = sl_audit_open(m);
	rc = rc ? rc : sl_registry_load(m);
	rc = rc ? rc : sl_revoke_open(m);
	if (rc) {
		SL_ERR_RC(rc, "loading catalog state");
		goto out;
	}

	rc = sl_tcp_listen(cfg->listen, &m->port);
	if (rc < 0) {
		SL_ERR_RC(rc, "listening on %s", cfg->listen);
		goto out;
	}
	m->listen_fd = rc;
	/* With port 0 the credentials must name the port we really got. */
	{
		char host[256];
		uint16_t port;

		if (!sl_addr_parse(cfg->listen, host, sizeof(host), &port) && port == 0)
			snprintf(cfg->listen, sizeof(cfg->listen), "%s:%u", host, m->port);
	}
	rc = sl_meta_pki_init(m);
	if (rc) {
		SL_ERR_RC(rc, "setting up TLS");
		goto out;
	}
	rc = sl_meta_bootstrap(m);
	rc = rc ? rc : sl_tenant_id(m, SL_SYSTEM_TENANT, &m->system_tenant);
	if (rc) {
		SL_ERR_RC(rc, "bootstrap");
		goto out;
	}

	signal_target = m;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* Tests and scripts wait for this line. */
	SL_INFO("listening on %s", cfg->listen);
	printf("sluice-meta ready on %s\n", cfg->listen);
	fflush(stdout);
	rc = sl_sweeper_start(m);
	rc = rc ? rc : sl_meta_serve(m);
	m->stopping = 1;
	sl_sweeper_stop(m);
	sl_authlog_flush(m);
	SL_INFO("stopped");
out:
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	sl_registry_free(m);
	sl_revoke_close(m);
	sl_audit_close(m);
	sl_meta_pki_free(m);
	sl_catalog_close(m->cat);
	sl_replay_free(m->replay);
	free(m);
	return rc ? 1 : 0;
}
