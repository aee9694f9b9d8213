/* The integration-test cluster harness; see cluster.h. */
#include "cluster.h"

#include "crypto.h"
#include "rpc.h"
#include "rpc_client.h"
#include "sl_time.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bin(const char *env)
{
	const char *p = getenv(env);

	cr_assert(p, "%s is not set: run the tests with meson test", env);
	return p;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static pid_t spawn(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int file_has(const char *path, const char *needle, char *line, size_t len)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f))
		if (strstr(buf, needle)) {
			found = 1;
			if (line)
				snprintf(line, len, "%s", buf);
		}
	fclose(f);
	return found;
}

void tc_meta_start(struct tcluster *c)
{
	char data_dir[300];

	snprintf(data_dir, sizeof(data_dir), "%s/meta", c->dir);
	tc_meta_start_dir(c, data_dir);
}

void tc_meta_start_dir(struct tcluster *c, const char *meta_dir)
{
	char out[300], err[300], data_dir[300], line[256];
	char listen[80];
	char *argv[] = { (char *)bin("SLUICE_META_BIN"), (char *)"--listen", listen,
			 (char *)"--data-dir", data_dir, (char *)"--down-after-ms", (char *)"1500",
			 (char *)"--heartbeat-ms", (char *)"200", (char *)"--log-level",
			 (char *)"info", NULL };

	/* A restart keeps the address the data servers and credentials know. */
	snprintf(listen, sizeof(listen), "%s", c->meta_addr[0] ? c->meta_addr : "127.0.0.1:0");
	snprintf(data_dir, sizeof(data_dir), "%s", meta_dir);
	snprintf(out, sizeof(out), "%s/meta.out", c->dir);
	snprintf(err, sizeof(err), "%s/meta.log", c->dir);
	unlink(out);
	c->meta_pid = spawn(argv, out, err);
	for (int i = 0; i < 200; i++) {
		if (file_has(out, "ready on ", line, sizeof(line))) {
			char *addr = strstr(line, "ready on ") + 9;

			addr[strcspn(addr, "\r\n")] = '\0';
			snprintf(c->meta_addr, sizeof(c->meta_addr), "%s", addr);
			snprintf(c->admin_cred, sizeof(c->admin_cred), "%s/admin.credentials",
				 data_dir);
			snprintf(c->cluster_key, sizeof(c->cluster_key), "%s/cluster.key", data_dir);
			snprintf(c->ca_file, sizeof(c->ca_file), "%s/ca.pem", data_dir);
			return;
		}
		cr_assert(waitpid(c->meta_pid, NULL, WNOHANG) == 0, "sluice-meta exited early");
		sleep_ms(50);
	}
	cr_assert_fail("sluice-meta did not become ready");
}

void tc_data_start(struct tcluster *c, int i)
{
	tc_data_start_port(c, i, "0");
}

void tc_data_start_port(struct tcluster *c, int i, const char *port)
{
	char out[300], err[300], dir[300], id[16], key[320];
	char *argv[] = { (char *)bin("SLUICE_DATA_BIN"), (char *)"--id", id, (char *)"--meta",
			 c->meta_addr, (char *)"--data-dir", dir, (char *)"--server-key",
			 c->server_key[i], (char *)"--slots", (char *)"4", (char *)"--fabric-port",
			 (char *)port, (char *)"--ca-file", c->ca_file, NULL };

	snprintf(id, sizeof(id), "%d", i + 1);
	/* Each data server gets its own key, as an operator would make it. */
	snprintf(key, sizeof(key), "%s/data%d.key", c->dir, i + 1);
	memcpy(c->server_key[i], key, sizeof(key));
	if (access(c->server_key[i], F_OK) != 0) {
		char *mk[] = { (char *)bin("SLUICE_META_BIN"), (char *)"--cluster-key", c->cluster_key,
			       (char *)"--server-key", id, (char *)"--out", c->server_key[i], NULL };
		char out_text[1024];

		cr_assert_eq(tc_run(mk, out_text, sizeof(out_text)), 0,
			     "sluice-meta --server-key: %s", out_text);
	}
	snprintf(dir, sizeof(dir), "%s/data%d", c->dir, i + 1);
	snprintf(out, sizeof(out), "%s/data%d.out", c->dir, i + 1);
	snprintf(err, sizeof(err), "%s/data%d.log", c->dir, i + 1);
	c->data_pid[i] = spawn(argv, out, err);
}

sluice_session *tc_admin(struct tcluster *c)
{
	sluice_session *s = NULL;
	int rc = sluice_open_file(c->admin_cred, c->meta_addr, "admin", &s);

	cr_assert_eq(rc, 0, "admin session: %s", strerror(-rc));
	return s;
}

void tc_wait_servers_up(struct tcluster *c, int up)
{
	sluice_session *s = tc_admin(c);
	int seen = -1;

	for (int tries = 0; tries < 200; tries++) {
		struct sluice_server_info *list;
		size_t n;

		if (sluice_servers(s, &list, &n) == 0) {
			seen = 0;
			for (size_t i = 0; i < n; i++)
				seen += list[i].up;
			sluice_servers_free(list, n);
			if (seen == up)
				break;
		}
		sleep_ms(50);
	}
	sluice_close(s);
	cr_assert_eq(seen, up, "expected %d data servers up, saw %d", up, seen);
}

static int uring_works(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		return 0;
	io_uring_queue_exit(&ring);
	return 1;
}

void tc_start(struct tcluster *c, int n_data)
{
	const char *tmp = getenv("TMPDIR");

	memset(c, 0, sizeof(*c));
	if (!uring_works())
		cr_skip_test("io_uring is not available on this machine");
	snprintf(c->dir, sizeof(c->dir), "%s/sluice-test-XXXXXX", tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(c->dir));
	c->n_data = n_data;
	tc_meta_start(c);
	for (int i = 0; i < n_data; i++)
		tc_data_start(c, i);
	tc_wait_servers_up(c, n_data);
}

/* Reaps pid after SIGTERM (SIGKILL after 10 s); returns its wait status. */
static int stop_pid(pid_t pid, int sig)
{
	int status = 0;

	kill(pid, sig);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

static void check_log(const char *dir, const char *name)
{
	static const char *const bad[] = { "AddressSanitizer", "LeakSanitizer", "runtime error:",
					   NULL };
	char path[400], line[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (int i = 0; bad[i]; i++)
		cr_expect(!file_has(path, bad[i], line, sizeof(line)), "%s: %s", name, line);
}

void tc_meta_kill(struct tcluster *c, int sig)
{
	int status = stop_pid(c->meta_pid, sig);

	if (sig == SIGTERM)
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "sluice-meta did not exit cleanly (status %d)", status);
	c->meta_pid = 0;
}

void tc_data_kill(struct tcluster *c, int i, int sig)
{
	int status = stop_pid(c->data_pid[i], sig);

	if (sig == SIGTERM)
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "sluice-data %d did not exit cleanly (status %d)", i + 1, status);
	c->data_pid[i] = 0;
}

void tc_stop(struct tcluster *c)
{
	char name[32], cmd[400];

	if (!c->dir[0])
		return;
	for (int i = 0; i < c->n_data; i++)
		if (c->data_pid[i])
			tc_data_kill(c, i, SIGTERM);
	if (c->meta_pid)
		tc_meta_kill(c, SIGTERM);
	check_log(c->dir, "meta.log");
	for (int i = 0; i < c->n_data; i++) {
		snprintf(name, sizeof(name), "data%d.log", i + 1);
		check_log(c->dir, name);
	}
	if (!getenv("SLUICE_TEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
		cr_expect(system(cmd) == 0);
	}
	c->dir[0] = '\0';
}

/* Writes a credentials file for key_id/secret at path. */
/* A credentials file for key_id, carrying the CA that `from` trusts. */
static void write_cred(struct tcluster *c, const char *path, const char *key_id,
		       const char *secret, sluice_session *from)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "cannot write %s", path);
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = %s\nsecret = %s\n", c->meta_addr, key_id, secret);
	cr_assert_eq(sluice_write_ca(from, f), 0);
	cr_assert_eq(fclose(f), 0);
}

/*
 * A session of tenant's own admin ("admin", every role, both purposes,
 * clearance restricted, credentials in <dir>/<tenant>-admin.cred). The
 * first time, the cluster admin creates the tenant and this, its first
 * principal: the only principal a cluster admin may create in a tenant.
 */
static sluice_session *tenant_admin(struct tcluster *c, const char *tenant)
{
	static const char *const roles[] = { "admin", "writer", "reader" };
	static const char *const purposes[] = { "inference", "training" };
	struct sluice_principal_spec spec = { tenant, "admin", roles, 3, purposes, 2, "restricted", NULL, 0 };
	sluice_session *s = NULL;
	char key_id[24], secret[65], path[400];
	int rc;

	snprintf(path, sizeof(path), "%s/%s-admin.cred", c->dir, tenant);
	if (access(path, F_OK) != 0) {
		sluice_session *admin = tc_admin(c);

		rc = sluice_tenant_create(admin, tenant, NULL);
		cr_assert(rc == 0 || rc == -EEXIST, "tenant create: %s", sluice_last_error(admin));
		rc = sluice_principal_create(admin, &spec, key_id, secret);
		cr_assert_eq(rc, 0, "tenant admin create: %s", sluice_last_error(admin));
		write_cred(c, path, key_id, secret, admin);
		sluice_close(admin);
	}
	rc = sluice_open_file(path, NULL, "inference", &s);
	cr_assert_eq(rc, 0);
	return s;
}

sluice_session *tc_principal(struct tcluster *c, const char *tenant, const char *name,
			     const char *clearance, char *cred_out, size_t cred_len)
{
	static const char *const roles[] = { "admin", "writer", "reader" };
	static const char *const purposes[] = { "inference", "training" };
	struct sluice_principal_spec spec = { NULL, name, roles, 3, purposes, 2, clearance, NULL, 0 };
	sluice_session *admin = tenant_admin(c, tenant), *s = NULL;
	char key_id[24], secret[65], path[400];
	int rc;

	rc = sluice_principal_create(admin, &spec, key_id, secret);
	cr_assert_eq(rc, 0, "principal create: %s", sluice_last_error(admin));
	snprintf(path, sizeof(path), "%s/%s-%s.cred", c->dir, tenant, name);
	write_cred(c, path, key_id, secret, admin);
	sluice_close(admin);
	if (cred_out)
		snprintf(cred_out, cred_len, "%s", path);
	rc = sluice_open_file(path, NULL, "inference", &s);
	cr_assert_eq(rc, 0);
	return s;
}

void tc_ns(sluice_session *s, const char *ns, uint32_t shard_size)
{
	struct sluice_ns_spec spec = { NULL, ns, shard_size, 0, NULL, 0 };
	int rc = sluice_ns_create(s, &spec);

	cr_assert_eq(rc, 0, "ns create %s: %s", ns, sluice_last_error(s));
}

void tc_fill(void *buf, size_t len, unsigned seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

int tc_run(char *const argv[], char *out, size_t out_len)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	cr_assert(pipe(pipefd) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]); /* else a daemon it starts keeps the pipe open */
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char tmp[4096];
		ssize_t n = read(pipefd[0], tmp, sizeof(tmp));

		if (n <= 0)
			break;
		if (out && used + 1 < out_len) {
			size_t take = (size_t)n < out_len - 1 - used ? (size_t)n : out_len - 1 - used;

			memcpy(out + used, tmp, take);
			used += take;
		}
	}
	if (out)
		out[used] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct cred_keys {
	char *key_id, *secret_hex;
};

static int on_cred(void *user, const char *section, const char *name, const char *value)
{
	struct cred_keys *k = user;

	(void)section;
	if (strcmp(name, "key_id") == 0)
		snprintf(k->key_id, 64, "%s", value);
	if (strcmp(name, "secret") == 0)
		snprintf(k->secret_hex, 80, "%s", value);
	return 1;
}

void tc_cred_key(const char *cred_path, char key_id[64], uint8_t secret[32])
{
	char hex[80] = "";
	struct cred_keys k = { key_id, hex };

	key_id[0] = '\0';
	cr_assert_eq(ini_parse(cred_path, on_cred, &k), 0, "cannot read %s", cred_path);
	cr_assert_eq(sl_hex_decode(hex, secret, 32), 0, "bad secret in %s", cred_path);
}

void tc_rpc_ca(struct tcluster *c, struct sl_rpc_client *rpc)
{
	cr_assert_eq(sl_rpc_client_set_ca_file(rpc, c->ca_file), 0, "%s", rpc->error);
}

void tc_meta_tls(struct tcluster *c, struct sl_conn *conn)
{
	struct ssl_ctx_st *ctx;
	uint8_t *der;
	size_t len;
	char err[256];
	int rc;

	cr_assert_eq(sl_tls_ca_load_file(c->ca_file, &der, &len), 0, "cannot read %s", c->ca_file);
	cr_assert_eq(sl_tls_client_ctx(der, len, &ctx), 0);
	free(der);
	rc = sl_conn_connect(conn, ctx, c->meta_addr, sl_mono_ms() + 5000, err, sizeof(err));
	/* The connection keeps its own reference to the context. */
	sl_tls_ctx_free(ctx);
	cr_assert_eq(rc, 0, "TLS to sluice-meta: %s", err);
}

Sluice__ObjectPlan *tc_stat_plan(struct tcluster *c, const char *cred_path, const char *ns,
				 const char *name)
{
	Sluice__ObjectRef req = SLUICE__OBJECT_REF__INIT;
	Sluice__ObjectPlan *plan = NULL;
	struct sl_rpc_client rpc;
	char key_id[64];
	uint8_t secret[32];

	tc_cred_key(cred_path, key_id, secret);
	sl_rpc_client_init(&rpc, c->meta_addr, key_id, secret, 5000);
	tc_rpc_ca(c, &rpc);
	req.ns = (char *)ns;
	req.name = (char *)name;
	req.purpose = (char *)"inference";
	cr_assert_eq(sl_rpc_call(&rpc, SL_RPC_STAT, &req.base, &sluice__object_plan__descriptor,
				 (ProtobufCMessage **)&plan), 0, "%s", rpc.error);
	sl_rpc_client_close(&rpc);
	return plan;
}

int tc_shard_files(struct tcluster *c)
{
	char path[400];
	int count = 0;

	for (int i = 0; i < c->n_data; i++) {
		DIR *d;
		struct dirent *e;

		snprintf(path, sizeof(path), "%s/data%d/shards", c->dir, i + 1);
		d = opendir(path);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			char sub[700];
			DIR *t;

			if (e->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			t = opendir(sub);
			if (!t)
				continue;
			for (struct dirent *f; (f = readdir(t));)
				count += f->d_name[0] != '.';
			closedir(t);
		}
		closedir(d);
	}
	return count;
}

int tc_wait_shard_files(struct tcluster *c, int want, int timeout_ms)
{
	int files = tc_shard_files(c);

	for (int waited = 0; files != want && waited < timeout_ms; waited += 100) {
		sleep_ms(100);
		files = tc_shard_files(c);
	}
	return files;
}

void tc_data_port(struct tcluster *c, int i, char *port, size_t len)
{
	char path[400], line[1024], *at;
	FILE *f;

	port[0] = '\0';
	snprintf(path, sizeof(path), "%s/data%d.log", c->dir, i + 1);
	f = fopen(path, "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if ((at = strstr(line, "fi_sockaddr_in://")) && (at = strrchr(at, ':'))) {
			at[strcspn(at, "\r\n")] = '\0';
			snprintf(port, len, "%s", at + 1);
		}
	fclose(f);
	cr_assert(port[0], "no fabric address in %s", path);
}

pid_t tc_cli_put_start(struct tcluster *c, const char *cred, const uint8_t *data, size_t size,
		       const char *file, const char *dest, char *src, size_t src_len)
{
	char *argv[] = { (char *)bin("SLUICE_CLI_BIN"), (char *)"-c", (char *)cred, (char *)"put",
			 src, (char *)dest, (char *)"--no-progress", NULL };
	FILE *f;
	pid_t pid;

	snprintf(src, src_len, "%s/%s", c->dir, file);
	f = fopen(src, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(data, 1, size, f), size);
	fclose(f);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int tc_cli_va(const char *cred, char *out, size_t out_len, const char *first, va_list ap)
{
	char *argv[32];
	int n = 0;

	argv[n++] = (char *)bin("SLUICE_CLI_BIN");
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)cred;
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	argv[n] = NULL;
	return tc_run(argv, out, out_len);
}
