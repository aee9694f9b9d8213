/*
 * Test harness: a real Sluice cluster per test, on 127.0.0.1, in a temporary
 * folder: sluice-meta on a port it picks itself (read back from its
 * "ready on" line) and N sluice-data on ephemeral fabric ports. Servers are
 * started from the binaries meson names in SLUICE_*_BIN and stopped by PID;
 * their logs are checked for sanitizer reports when they stop.
 */
#ifndef SL_TEST_CLUSTER_H
#define SL_TEST_CLUSTER_H

#include <stdarg.h>
#include <sys/types.h>

#include "rpc_client.h"
#include "sluice.h"
#include "sluice.pb-c.h"
#include "tls.h"

#define TC_MAX_DATA 4

struct tcluster {
	char dir[256];
	char meta_addr[64];
	char admin_cred[320];
	char cluster_key[320];
	char server_key[TC_MAX_DATA][320]; /* data server i's own key file */
	char ca_file[320]; /* sluice-meta's cluster CA (PEM) */
	pid_t meta_pid;
	pid_t data_pid[TC_MAX_DATA];
	int n_data;
};

/* Starts meta and n data servers and waits until all are up. Skips the test
 * when io_uring is not available here. */
void tc_start(struct tcluster *c, int n_data);
/* Stops every server (SIGTERM, then SIGKILL), checks exit codes and logs,
 * removes the folder. */
void tc_stop(struct tcluster *c);

void tc_meta_start(struct tcluster *c);
/* Starts sluice-meta on another data folder (a copy of <dir>/meta), same address. */
void tc_meta_start_dir(struct tcluster *c, const char *meta_dir);
/* Sends sig to sluice-meta and reaps it. */
void tc_meta_kill(struct tcluster *c, int sig);
void tc_data_start(struct tcluster *c, int i);
/* Starts data server i on a given fabric port ("0": any). */
void tc_data_start_port(struct tcluster *c, int i, const char *port);
/* The fabric port data server i reported last in its log, as text. */
void tc_data_port(struct tcluster *c, int i, char *port, size_t len);
void tc_data_kill(struct tcluster *c, int i, int sig);
/* Waits until sluice-meta reports `up` data servers up (and the rest down). */
void tc_wait_servers_up(struct tcluster *c, int up);

sluice_session *tc_admin(struct tcluster *c);
/*
 * Creates tenant and its admin "admin" (as the cluster admin) if needed,
 * then, as that tenant admin, a principal with every role, the purposes
 * "inference" and "training" and the given clearance (at most restricted),
 * writes its credentials to <dir>/<tenant>-<name>.cred (path in cred_out
 * when non-NULL), and opens a session declaring "inference".
 */
sluice_session *tc_principal(struct tcluster *c, const char *tenant, const char *name,
			     const char *clearance, char *cred_out, size_t cred_len);
/* Creates a namespace in the session's tenant. */
void tc_ns(sluice_session *s, const char *ns, uint32_t shard_size);

/* Reads a credentials file's key id and secret, for tests that speak the wire. */
void tc_cred_key(const char *cred_path, char key_id[64], uint8_t secret[32]);
/* Makes rpc trust the cluster's CA (the control plane is TLS only). */
void tc_rpc_ca(struct tcluster *c, struct sl_rpc_client *rpc);
/*
 * Opens a TLS connection to sluice-meta, verified against the cluster CA,
 * for tests that speak raw frames (sl_frame_send/recv); sl_conn_close it.
 */
void tc_meta_tls(struct tcluster *c, struct sl_conn *conn);
/* Asks sluice-meta (as the principal of cred_path) for the plan of ns/name. */
Sluice__ObjectPlan *tc_stat_plan(struct tcluster *c, const char *cred_path, const char *ns,
				 const char *name);

/* Shard replica files on all data servers' disks (temporary files too). */
int tc_shard_files(struct tcluster *c);
/*
 * Waits up to timeout_ms for the data servers to hold exactly `want` shard
 * files (as they do once sluice-meta's drops reach them); returns the last
 * count seen.
 */
int tc_wait_shard_files(struct tcluster *c, int want, int timeout_ms);

/*
 * Writes size bytes of pattern `seed` to <dir>/<file> (path in src) and
 * starts `sluice -c cred put src dest --no-progress` in the background.
 */
pid_t tc_cli_put_start(struct tcluster *c, const char *cred, const uint8_t *data, size_t size,
		       const char *file, const char *dest, char *src, size_t src_len);

/* Fills buf with a reproducible pattern for seed. */
void tc_fill(void *buf, size_t len, unsigned seed);
/*
 * Runs the CLI ($SLUICE_CLI_BIN) as the principal of cred with the arguments
 * first, ... (NULL-terminated), output captured into out; returns the exit code.
 */
int tc_cli_va(const char *cred, char *out, size_t out_len, const char *first, va_list ap);
/* Runs argv (NULL-terminated) with stdout/stderr captured into out; returns the exit code. */
int tc_run(char *const argv[], char *out, size_t out_len);

#endif
