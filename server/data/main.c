/*
 * sluice-data: a data server. Stores shards on a local folder and serves them
 * over a libfabric endpoint to holders of valid capabilities.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/fi_domain.h>

#include "config.h"
#include "data.h"
#include "sl_log.h"
#include "tls.h"

/* The one file-scope variable: a signal handler has no other way to the context. */
static struct sl_data *signal_target;

static void on_signal(int sig)
{
	(void)sig;
	if (signal_target)
		signal_target->stopping = 1;
}

/* An id from the config, or the one kept in <data_dir>/server.id, or a new one. */
static int server_id(struct sl_data *d)
{
	char path[600], text[32] = { 0 };
	uint32_t id = 0;
	int fd;

	if (d->cfg.id)
		return 0;
	snprintf(path, sizeof(path), "%s/server.id", d->cfg.data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, text, sizeof(text) - 1);

		close(fd);
		d->cfg.id = n > 0 ? (uint32_t)strtoul(text, NULL, 10) : 0;
		return d->cfg.id ? 0 : -EINVAL;
	}
	while (!(id & 0x7fffffff))
		if (sl_random_bytes(&id, sizeof(id)))
			return -EIO;
	id &= 0x7fffffff;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	dprintf(fd, "%u\n", id);
	fsync(fd);
	close(fd);
	d->cfg.id = id;
	return 0;
}

int main(int argc, char **argv)
{
	struct sl_data *d = calloc(1, sizeof(*d));
	struct sl_data_config *cfg;
	int rc, level, fabric_open = 0, gov_open = 0;

	if (!d)
		return 1;
	cfg = &d->cfg;
	struct sl_opt opts[] = {
		SL_OPT_NUMBER("id", "SLUICE_DATA_ID", &cfg->id, "0",
		  "server id, unique in the cluster; 0 keeps or makes one in data-dir/server.id"),
		SL_OPT_STRING("meta", "SLUICE_META", cfg->meta, "127.0.0.1:7000",
		  "address of sluice-meta"),
		SL_OPT_STRING("data-dir", "SLUICE_DATA_DIR", cfg->data_dir, "./sluice-data",
		  "folder for shard files"),
		SL_OPT_STRING("server-key", "SLUICE_SERVER_KEY", cfg->server_key, "",
		  "file with this server's own secret, made for its id by "
		  "'sluice-meta --server-key ID --out FILE' (required)"),
		SL_OPT_STRING("ca-file", "SLUICE_CA_FILE", cfg->ca_file, "",
		  "the CA certificate sluice-meta's TLS certificate chains to, e.g. its "
		  "data-dir/ca.pem (required)"),
		SL_OPT_STRING("provider", "SLUICE_PROVIDER", cfg->provider, "tcp;ofi_rxm",
		  "libfabric provider: tcp;ofi_rxm, verbs;ofi_rxm, shm"),
		SL_OPT_STRING("fabric-addr", "SLUICE_FABRIC_ADDR", cfg->fabric_addr, "127.0.0.1",
		  "address the fabric endpoint binds"),
		SL_OPT_STRING("fabric-port", "SLUICE_FABRIC_PORT", cfg->fabric_port, "0",
		  "port the fabric endpoint binds (0 picks one)"),
		SL_OPT_STRING("label", "SLUICE_DATA_LABEL", cfg->label, "",
		  "a name for humans, shown by 'sluice servers' (empty: data-<id>)"),
		SL_OPT_STRING("log-level", "SLUICE_LOG_LEVEL", cfg->log_level, "info",
		  "error, warn, info or debug"),
		SL_OPT_NUMBER("slots", "SLUICE_DATA_SLOTS", &cfg->slots, "8",
		  "requests served at once (each holds one max-shard buffer)"),
		SL_OPT_NUMBER("max-shard", "SLUICE_MAX_SHARD", &cfg->max_shard, "16777216",
		  "largest shard accepted, bytes"),
		SL_OPT_NUMBER("slot-timeout-ms", "SLUICE_DATA_SLOT_TIMEOUT_MS", &cfg->slot_timeout_ms,
		  "10000", "longest a request may hold a slot; its peer is dropped past it"),
	};

	rc = sl_config_load(opts, sizeof(opts) / sizeof(opts[0]), "data", argc, argv,
			    "usage: sluice-data [--config FILE] [options]\n\n"
			    "The Sluice data server: stores shards, serves them over libfabric.");
	if (rc) {
		free(d);
		return rc == 1 ? 0 : 2;
	}
	level = sl_log_level_parse(cfg->log_level);
	sl_log_init("sluice-data", level < 0 ? SL_LOG_INFO : level);
	if (!cfg->server_key[0] || !cfg->slots || cfg->slots > 256 || cfg->max_shard < 4096 ||
	    cfg->max_shard > SL_SHARD_MAX || cfg->slot_timeout_ms < 100) {
		SL_ERR("bad configuration: --server-key is required; slots 1..256; "
		       "max-shard 4096..16777216; slot-timeout-ms 100 or more");
		free(d);
		return 2;
	}
	rc = sl_keyring_load(&d->keys, cfg->server_key, 1);
	if (rc) {
		SL_ERR_RC(rc, "reading server key %s", cfg->server_key);
		goto out;
	}
	rc = sl_gov_init(&d->gov, &d->keys);
	if (rc)
		goto out;
	gov_open = 1;
	{
		/* The control plane is TLS only: without its CA nothing can register. */
		uint8_t *der = NULL;
		size_t len;

		rc = cfg->ca_file[0] ? sl_tls_ca_load_file(cfg->ca_file, &der, &len) : -ENOENT;
		free(der);
		if (rc) {
			SL_ERR("--ca-file must name sluice-meta's CA certificate (PEM or DER)%s%s",
			       cfg->ca_file[0] ? ": cannot read " : "", cfg->ca_file);
			goto out;
		}
	}
	rc = sl_shardstore_init(&d->store, cfg->data_dir);
	rc = rc ? rc : server_id(d);
	if (rc) {
		SL_ERR_RC(rc, "preparing %s", cfg->data_dir);
		goto out;
	}
	if (!cfg->label[0])
		snprintf(cfg->label, sizeof(cfg->label), "data-%u", cfg->id);
	rc = sl_fabric_open(&d->fab, cfg->provider, cfg->fabric_addr, cfg->fabric_port);
	if (rc)
		goto out;
	fabric_open = 1;
	rc = sl_data_service_init(d);
	if (rc)
		goto out;

	signal_target = d;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = sl_data_heartbeat_start(d);
	rc = rc ? rc : sl_data_watch_start(d);
	if (rc)
		goto out;
	/* Nothing is served before the first WATCH reply: give it a moment, so
	 * that "ready" means serving when sluice-meta is up. */
	for (int i = 0; i < 500 && !sl_gov_synced(&d->gov); i++)
		usleep(10 * 1000);
	if (!sl_gov_synced(&d->gov))
		SL_WARN("not yet in step with the metadata server: reads are refused until then");
	{
		char name[128];
		size_t len = sizeof(name);

		fi_av_straddr(d->fab.av, d->fab.addr, name, &len);
		SL_INFO("data server %u serving %s over %s at %s", cfg->id, cfg->data_dir,
			cfg->provider, name);
	}
	printf("sluice-data %u ready\n", cfg->id);
	fflush(stdout);
	rc = sl_data_service_run(d);
	d->stopping = 1;
	SL_INFO("stopped: %llu reads, %llu writes served, %llu refused, %llu busy, %llu aborted",
		(unsigned long long)d->served_reads, (unsigned long long)d->served_writes,
		(unsigned long long)d->refused, (unsigned long long)d->busy,
		(unsigned long long)d->aborted);
out:
	d->stopping = 1;
	sl_data_heartbeat_stop(d);
	sl_data_watch_stop(d);
	/* The endpoint first (it ends the posted receives), then the memory
	 * regions and buffers, then the domain. */
	if (fabric_open)
		sl_fabric_close_ep(&d->fab);
	sl_data_service_fini(d);
	if (fabric_open)
		sl_fabric_close(&d->fab);
	if (gov_open)
		sl_gov_fini(&d->gov);
	free(d);
	return rc ? 1 : 0;
}
