/*
 * The front door of sluice-meta: nobody without credentials can hold it
 * (finding 3), the bootstrap credentials are written or the start fails
 * (finding 15), and the control plane is TLS 1.3 only, verified against the
 * cluster CA.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "frame.h"
#include "net.h"
#include "reqsign.h"
#include "rpc.h"
#include "sl_time.h"

/* SL_META_AUTH_MS in server/meta/meta.h: time for TLS and a first request. */
#define META_AUTH_MS 5000

static struct tcluster cl;
static sluice_session *s;
static char cred[400];

/* Room for more connections than sluice-meta ever served at once. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 4096) {
		r.rlim_cur = r.rlim_max < 4096 ? r.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void setup(void)
{
	raise_fd_limit();
	tc_start(&cl, 1);
	s = tc_principal(&cl, "acme", "alice", "internal", cred, sizeof(cred));
}

static void teardown(void)
{
	sluice_close(s);
	tc_stop(&cl);
}

TestSuite(finding_03, .init = setup, .fini = teardown, .timeout = 240);
TestSuite(finding_15, .timeout = 120);
TestSuite(tls_control_plane, .init = setup, .fini = teardown, .timeout = 120);

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void header(uint8_t *out, uint16_t type, uint32_t len, uint64_t id)
{
	struct sl_frame_hdr h = { .type = type, .length = len, .req_id = id };

	sl_frame_hdr_encode(&h, out);
}

/* Waits up to ms for the server to close conn; 1 when it did. */
static int closed_within(struct sl_conn *conn, int ms)
{
	uint8_t b;

	for (uint64_t end = sl_mono_ms() + (uint64_t)ms; sl_mono_ms() < end;) {
		int rc = sl_conn_read_full(conn, &b, 1, sl_mono_ms() + 50);

		if (rc == -ETIMEDOUT)
			continue;
		return rc != 0;
	}
	return 0;
}

/* A signed request of `type` with body as alice; the reply's err. */
static int signed_call(struct sl_conn *conn, uint16_t type, const ProtobufCMessage *body_msg,
		       uint64_t id)
{
	char key_id[64];
	uint8_t secret[32], mac[32], nonce[16], body[1024], env_buf[2048], *reply = NULL;
	Sluice__Signed env = SLUICE__SIGNED__INIT;
	Sluice__Reply *r;
	struct sl_frame_hdr h;
	size_t blen, elen;
	uint64_t ts = sl_now_ms();
	int err;

	tc_cred_key(cred, key_id, secret);
	blen = protobuf_c_message_pack(body_msg, body);
	sl_random_bytes(nonce, sizeof(nonce));
	cr_assert_eq(sl_reqsign_mac(secret, 32, type, id, ts, nonce, key_id, body, blen, mac), 0);
	env.key_id = key_id;
	env.timestamp_ms = ts;
	env.nonce = (ProtobufCBinaryData){ 16, nonce };
	env.mac = (ProtobufCBinaryData){ 32, mac };
	env.body = (ProtobufCBinaryData){ blen, body };
	elen = sluice__signed__pack(&env, env_buf);
	cr_assert_eq(sl_frame_send(conn, type, id, env_buf, elen, sl_mono_ms() + 2000), 0);
	cr_assert_eq(sl_frame_recv(conn, &h, &reply, SL_FRAME_MAX, sl_mono_ms() + 3000), 0);
	cr_assert_eq(h.type, type | SL_RPC_REPLY);
	r = sluice__reply__unpack(NULL, h.length, reply);
	cr_assert(r);
	err = r->err;
	sluice__reply__free_unpacked(r, NULL);
	free(reply);
	return err;
}

/* sluice_whoami, keeping the principal's name. */
static int who(sluice_session *t, char principal[64])
{
	char *tn = NULL, *pn = NULL;
	int rc = sluice_whoami(t, &tn, &pn);

	snprintf(principal, 64, "%s", pn ? pn : "");
	free(tn);
	free(pn);
	return rc;
}

static int whoami(struct sl_conn *conn, uint64_t id)
{
	Sluice__Empty e = SLUICE__EMPTY__INIT;

	return signed_call(conn, SL_RPC_WHOAMI, &e.base, id);
}

/* A fresh session's first call must be answered within ms. */
static void served_within(int ms)
{
	sluice_session *t = NULL;
	char principal[64];
	uint64_t t0 = sl_mono_ms();

	cr_assert_eq(sluice_open_file(cred, NULL, "inference", &t), 0);
	cr_assert_eq(who(t, principal), 0,
		     "a legitimate client was not served: %s", sluice_last_error(t));
	cr_assert_lt(sl_mono_ms() - t0, (uint64_t)ms, "served after %llu ms",
		     (unsigned long long)(sl_mono_ms() - t0));
	sluice_close(t);
}

Test(finding_03, unauthenticated_connections_do_not_lock_out_clients)
{
	enum { N_IDLE = 1100, N_TLS = 80 };
	static int idle[N_IDLE];
	static struct sl_conn tls[N_TLS];
	uint8_t h[SL_FRAME_HDR_LEN];
	int n_idle = 0;

	/* More idle TCP connections than sluice-meta used to have threads... */
	for (; n_idle < N_IDLE; n_idle++) {
		idle[n_idle] = sl_tcp_connect(cl.meta_addr, sl_mono_ms() + 2000);
		if (idle[n_idle] < 0)
			break;
	}
	cr_assert_gt(n_idle, 200, "could only open %d connections", n_idle);
	/* ...TLS connections sending half a header and stalling, or a
	 * well-formed frame of an unknown type... */
	header(h, 0x7777, 0, 1);
	for (int i = 0; i < N_TLS; i++) {
		tc_meta_tls(&cl, &tls[i]);
		cr_assert_eq(sl_conn_write_full(&tls[i], h, i % 2 ? SL_FRAME_HDR_LEN : 7,
						sl_mono_ms() + 2000), 0);
	}
	/* ...and a legitimate client is still served, promptly and repeatedly. */
	for (int i = 0; i < 5; i++)
		served_within(3000);
	/* The unknown-type senders were hung up on. */
	for (int i = 1; i < N_TLS; i += 2)
		cr_assert(closed_within(&tls[i], 2000), "an unknown frame type kept its connection");
	for (int i = 0; i < N_TLS; i++)
		sl_conn_close(&tls[i]);
	for (int i = 0; i < n_idle; i++)
		close(idle[i]);
	served_within(3000);
}

/* Opens TCP connections to sluice-meta from 127.0.0.2 as fast as it can until
 * *stop, never saying a word, keeping the newest few hundred open. */
static void *flood(void *arg)
{
	enum { KEEP = 256 };
	const volatile int *stop = arg;
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	char host[64];
	uint16_t port;
	int held[KEEP], n = 0;
	long opened = 0;

	from.sin_addr.s_addr = inet_addr("127.0.0.2");
	cr_assert_eq(sl_addr_parse(cl.meta_addr, host, sizeof(host), &port), 0);
	to.sin_addr.s_addr = inet_addr(host);
	to.sin_port = htons(port);
	for (int i = 0; i < KEEP; i++)
		held[i] = -1;
	while (!*stop) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		if (bind(fd, (struct sockaddr *)&from, sizeof(from)) ||
		    connect(fd, (struct sockaddr *)&to, sizeof(to))) {
			close(fd);
			continue;
		}
		opened++;
		if (held[n] >= 0)
			close(held[n]);
		held[n] = fd;
		n = (n + 1) % KEEP;
	}
	for (int i = 0; i < KEEP; i++)
		if (held[i] >= 0)
			close(held[i]);
	return (void *)opened;
}

Test(finding_03, a_flood_from_one_source_only_evicts_itself)
{
	pthread_t t;
	volatile int stop = 0;
	void *opened;

	/* Another source keeps opening connections and never authenticates... */
	cr_assert_eq(pthread_create(&t, NULL, flood, (void *)&stop), 0);
	sleep_ms(500);
	/* ...and a client from here still gets in, every time. */
	for (int i = 0; i < 10; i++)
		served_within(3000);
	stop = 1;
	pthread_join(t, &opened);
	cr_assert_gt((long)opened, 64, "the flood opened only %ld connections", (long)opened);
}

Test(finding_03, unauthenticated_connections_have_a_bounded_lifetime)
{
	struct sl_conn conn;
	int fd = sl_tcp_connect(cl.meta_addr, sl_mono_ms() + 2000);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b;

	cr_assert(fd >= 0);
	/* A TLS connection that never sends a request... */
	tc_meta_tls(&cl, &conn);
	cr_assert(closed_within(&conn, META_AUTH_MS + 2000),
		  "an unauthenticated TLS connection stayed open");
	sl_conn_close(&conn);
	/* ...and a TCP connection that never starts TLS are both closed. */
	cr_assert_eq(poll(&p, 1, 2000), 1, "an idle TCP connection stayed open");
	cr_assert_eq(recv(fd, &b, 1, 0), 0);
	close(fd);
}

Test(finding_03, large_first_frame_is_refused_before_allocation)
{
	struct sl_conn conn;
	uint8_t h[SL_FRAME_HDR_LEN];

	/* 1 MiB announced, under SL_FRAME_MAX but over the first-frame cap: the
	 * server hangs up at once instead of waiting for (and buffering) it. */
	tc_meta_tls(&cl, &conn);
	header(h, SL_RPC_STAT, 1u << 20, 1);
	cr_assert_eq(sl_conn_write_full(&conn, h, sizeof(h), sl_mono_ms() + 2000), 0);
	cr_assert(closed_within(&conn, 2000), "a large unauthenticated frame was waited for");
	sl_conn_close(&conn);
	/* The same after the connection authenticated: the frame is read (its
	 * garbage is then refused as an authentication failure). */
	tc_meta_tls(&cl, &conn);
	cr_assert_eq(whoami(&conn, 2), 0);
	{
		size_t len = 1u << 20;
		uint8_t *big = calloc(1, SL_FRAME_HDR_LEN + len), *reply = NULL;
		struct sl_frame_hdr rh;
		Sluice__Reply *r;

		cr_assert(big);
		header(big, SL_RPC_STAT, (uint32_t)len, 3);
		cr_assert_eq(sl_conn_write_full(&conn, big, SL_FRAME_HDR_LEN + len,
						sl_mono_ms() + 5000), 0);
		cr_assert_eq(sl_frame_recv(&conn, &rh, &reply, SL_FRAME_MAX, sl_mono_ms() + 5000), 0);
		r = sluice__reply__unpack(NULL, rh.length, reply);
		cr_assert(r);
		cr_assert_eq(r->err, -EACCES);
		sluice__reply__free_unpacked(r, NULL);
		free(reply);
		free(big);
	}
	cr_assert(closed_within(&conn, 2000), "an authentication failure kept its connection");
	sl_conn_close(&conn);
	served_within(3000);
}

Test(finding_03, unknown_type_closes_the_connection)
{
	struct sl_conn conn;
	uint8_t h[SL_FRAME_HDR_LEN];
	struct sl_frame_hdr rh;
	uint8_t *reply = NULL;
	Sluice__Reply *r;

	/* Before authentication: closed, nothing said. */
	tc_meta_tls(&cl, &conn);
	header(h, 0x7777, 0, 1);
	cr_assert_eq(sl_conn_write_full(&conn, h, sizeof(h), sl_mono_ms() + 2000), 0);
	cr_assert(closed_within(&conn, 2000));
	sl_conn_close(&conn);
	/* After it: the principal is told why, then closed. */
	tc_meta_tls(&cl, &conn);
	cr_assert_eq(whoami(&conn, 1), 0);
	header(h, 0x7777, 0, 2);
	cr_assert_eq(sl_conn_write_full(&conn, h, sizeof(h), sl_mono_ms() + 2000), 0);
	cr_assert_eq(sl_frame_recv(&conn, &rh, &reply, SL_FRAME_MAX, sl_mono_ms() + 2000), 0);
	r = sluice__reply__unpack(NULL, rh.length, reply);
	cr_assert(r);
	cr_assert_eq(r->err, -EOPNOTSUPP);
	sluice__reply__free_unpacked(r, NULL);
	free(reply);
	cr_assert(closed_within(&conn, 2000));
	sl_conn_close(&conn);
}

Test(finding_03, one_principal_cannot_hold_every_connection)
{
	enum { CAP = 64 };
	static struct sl_conn conns[CAP + 1];
	sluice_session *bob;
	char bob_cred[400], principal[64];

	for (int i = 0; i < CAP; i++) {
		tc_meta_tls(&cl, &conns[i]);
		cr_assert_eq(whoami(&conns[i], 1), 0, "connection %d refused", i);
	}
	/* One more of the same principal is refused, and hung up on. */
	tc_meta_tls(&cl, &conns[CAP]);
	cr_assert_eq(whoami(&conns[CAP], 1), -EUSERS);
	cr_assert(closed_within(&conns[CAP], 2000));
	/* Another tenant's principal is still served. */
	bob = tc_principal(&cl, "other", "bob", "internal", bob_cred, sizeof(bob_cred));
	cr_assert_eq(who(bob, principal), 0,
		     "%s", sluice_last_error(bob));
	sluice_close(bob);
	for (int i = 0; i <= CAP; i++)
		sl_conn_close(&conns[i]);
	/* Closed connections give their places back. */
	sleep_ms(300);
	served_within(3000);
}

Test(finding_03, large_first_request_of_a_client_still_works)
{
	Sluice__ObjectRef req = SLUICE__OBJECT_REF__INIT;
	struct sl_rpc_client rpc;
	char key_id[64], *name = malloc(100u << 10);
	uint8_t secret[32];
	int rc;

	/* A first request over the first-frame cap: the client authenticates
	 * the connection with a small request first, and gets a real answer. */
	cr_assert(name);
	memset(name, 'a', (100u << 10) - 1);
	name[(100u << 10) - 1] = '\0';
	tc_cred_key(cred, key_id, secret);
	sl_rpc_client_init(&rpc, cl.meta_addr, key_id, secret, 5000);
	tc_rpc_ca(&cl, &rpc);
	req.ns = (char *)"data";
	req.name = name;
	rc = sl_rpc_call(&rpc, SL_RPC_STAT, &req.base, &sluice__object_plan__descriptor, NULL);
	cr_assert(rc == -ENOENT || rc == -EINVAL, "rc %d: %s", rc, rpc.error);
	sl_rpc_client_close(&rpc);
	free(name);
}

Test(finding_03, a_connection_stays_bound_to_its_principal)
{
	struct sl_conn conn;
	sluice_session *bob;
	char bob_cred[400], saved[400];

	bob = tc_principal(&cl, "other", "bob", "internal", bob_cred, sizeof(bob_cred));
	sluice_close(bob);
	tc_meta_tls(&cl, &conn);
	cr_assert_eq(whoami(&conn, 1), 0);
	/* The same connection now signed with bob's key. */
	snprintf(saved, sizeof(saved), "%s", cred);
	snprintf(cred, sizeof(cred), "%s", bob_cred);
	cr_assert_eq(whoami(&conn, 2), -EACCES);
	snprintf(cred, sizeof(cred), "%s", saved);
	cr_assert(closed_within(&conn, 2000));
	sl_conn_close(&conn);
}

/* ---- finding 15: the bootstrap credentials write ------------------------ */

Test(finding_15, bootstrap_fails_when_credentials_cannot_be_written)
{
	char dir[300], data_dir[320], link[400], out[400], err[400], cmd[400];
	char *argv[] = { getenv("SLUICE_META_BIN"), (char *)"--listen", (char *)"127.0.0.1:0",
			 (char *)"--data-dir", data_dir, NULL };
	const char *tmp = getenv("TMPDIR");
	int status = 0, exited = 0;
	pid_t pid;

	cr_assert(argv[0], "SLUICE_META_BIN is not set");
	snprintf(dir, sizeof(dir), "%s/sluice-test-XXXXXX", tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(dir));
	snprintf(data_dir, sizeof(data_dir), "%s/meta", dir);
	cr_assert_eq(mkdir(data_dir, 0700), 0);
	/* Every write to the credentials file fails (ENOSPC at flush time). */
	snprintf(link, sizeof(link), "%s/admin.credentials", data_dir);
	cr_assert_eq(symlink("/dev/full", link), 0);
	snprintf(out, sizeof(out), "%s/meta.out", dir);
	snprintf(err, sizeof(err), "%s/meta.log", dir);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && !exited; i++) {
		exited = waitpid(pid, &status, WNOHANG) == pid;
		if (!exited)
			sleep_ms(50);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	cr_expect(exited, "sluice-meta started without writing its admin credentials");
	cr_expect(exited && WIFEXITED(status) && WEXITSTATUS(status) != 0);
	/* Nothing was committed: with a writable file the bootstrap happens. */
	unlink(link);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(link, R_OK) != 0; i++)
		sleep_ms(50);
	sleep_ms(200);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	{
		char line[600];
		FILE *f = fopen(link, "r");
		int has_key = 0, has_ca = 0;

		cr_assert(f, "no admin credentials after a clean start");
		while (fgets(line, sizeof(line), f)) {
			has_key |= strncmp(line, "key_id = ", 9) == 0;
			has_ca |= strncmp(line, "ca = ", 5) == 0;
		}
		fclose(f);
		cr_expect(has_key && has_ca, "incomplete admin credentials");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect(system(cmd) == 0);
}

/* ---- the control plane over TLS ----------------------------------------- */

/* Writes alice's key to path with the given CA line(s); returns path. */
static void write_cred(const char *path, const char *ca_line)
{
	char key_id[64], hex[65];
	uint8_t secret[32];
	FILE *f = fopen(path, "w");

	cr_assert(f);
	tc_cred_key(cred, key_id, secret);
	sl_hex_encode(secret, 32, hex);
	fprintf(f, "[sluice]\nmeta = %s\nkey_id = %s\nsecret = %s\n%s", cl.meta_addr, key_id, hex,
		ca_line);
	cr_assert_eq(fclose(f), 0);
}

Test(tls_control_plane, normal_operation_runs_over_tls)
{
	char buf[32], host_cred[400], principal[64], port[16], addr[64];
	struct stat st;
	sluice_session *t = NULL;
	size_t got;

	tc_ns(s, "data", 65536);
	cr_assert_eq(sluice_put(s, "data", "x", "over tls", 8, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	cr_assert_eq(sluice_read(s, "data", "x", 0, buf, sizeof(buf), &got), 0);
	cr_assert_eq(got, 8);
	/* The keys stay private. */
	{
		char path[400];

		snprintf(path, sizeof(path), "%s/meta/ca.key", cl.dir);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0600);
		snprintf(path, sizeof(path), "%s/meta/meta.key", cl.dir);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0600);
	}
	/* The certificate names localhost too. */
	snprintf(port, sizeof(port), "%s", strrchr(cl.meta_addr, ':') + 1);
	snprintf(addr, sizeof(addr), "localhost:%s", port);
	snprintf(host_cred, sizeof(host_cred), "%s/ca-file.cred", cl.dir);
	{
		char line[400];

		snprintf(line, sizeof(line), "ca_file = meta/ca.pem\n");
		write_cred(host_cred, line);
	}
	cr_assert_eq(sluice_open_file(host_cred, addr, "inference", &t), 0);
	cr_assert_eq(who(t, principal), 0,
		     "%s", sluice_last_error(t));
	cr_assert_str_eq(principal, "alice");
	sluice_close(t);
}

Test(tls_control_plane, wrong_ca_is_refused)
{
	char key[400], pem[400], path[400], line[500], subj[] = "/CN=not the cluster CA";
	char out[4096], principal[64];
	char *gen[] = { (char *)"/usr/bin/openssl", (char *)"req", (char *)"-x509",
			(char *)"-newkey", (char *)"ec", (char *)"-pkeyopt",
			(char *)"ec_paramgen_curve:P-256", (char *)"-nodes", (char *)"-keyout", key,
			(char *)"-out", pem, (char *)"-subj", subj, (char *)"-days", (char *)"1",
			NULL };
	char *cli[] = { getenv("SLUICE_CLI_BIN"), (char *)"-c", path, (char *)"whoami", NULL };
	sluice_session *t = NULL;

	if (access(gen[0], X_OK) != 0)
		cr_skip_test("no openssl command to make a second CA");
	snprintf(key, sizeof(key), "%s/other-ca.key", cl.dir);
	snprintf(pem, sizeof(pem), "%s/other-ca.pem", cl.dir);
	cr_assert_eq(tc_run(gen, out, sizeof(out)), 0, "%s", out);
	snprintf(path, sizeof(path), "%s/wrong-ca.cred", cl.dir);
	snprintf(line, sizeof(line), "ca_file = %s\n", pem);
	write_cred(path, line);
	cr_assert_eq(sluice_open_file(path, NULL, "inference", &t), 0);
	cr_assert_eq(who(t, principal),
		     -EKEYREJECTED);
	cr_assert(strstr(sluice_last_error(t), "does not verify"), "%s", sluice_last_error(t));
	sluice_close(t);
	/* The CLI says so too. */
	cr_assert_eq(tc_run(cli, out, sizeof(out)), 1);
	cr_assert(strstr(out, "does not verify against the configured CA"), "%s", out);
}

Test(tls_control_plane, client_without_ca_fails_clearly)
{
	char path[400], out[2048], principal[64];
	char *cli[] = { getenv("SLUICE_CLI_BIN"), (char *)"-c", path, (char *)"whoami", NULL };
	sluice_session *t = NULL;

	snprintf(path, sizeof(path), "%s/no-ca.cred", cl.dir);
	write_cred(path, "");
	cr_assert_eq(sluice_open_file(path, NULL, "inference", &t), 0);
	cr_assert_eq(who(t, principal),
		     -ENOKEY);
	cr_assert(strstr(sluice_last_error(t), "no CA configured"), "%s", sluice_last_error(t));
	sluice_close(t);
	cr_assert_eq(tc_run(cli, out, sizeof(out)), 1);
	cr_assert(strstr(out, "no CA configured"), "%s", out);
}

Test(tls_control_plane, plain_text_client_gets_nothing)
{
	int fd = sl_tcp_connect(cl.meta_addr, sl_mono_ms() + 2000);
	uint8_t h[SL_FRAME_HDR_LEN], b[64];
	struct pollfd p = { .fd = -1, .events = POLLIN };
	ssize_t n;

	cr_assert(fd >= 0);
	/* A clear-text frame, as a client before TLS would send it. */
	header(h, SL_RPC_WHOAMI, 0, 1);
	cr_assert_eq(send(fd, h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
	p.fd = fd;
	cr_assert_eq(poll(&p, 1, 2000), 1, "the connection stayed open");
	n = recv(fd, b, sizeof(b), 0);
	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "the server answered %zd bytes", n);
	close(fd);
}

Test(tls_control_plane, credentials_carry_the_ca)
{
	char line[600];
	FILE *f = fopen(cl.admin_cred, "r");
	int ca_lines = 0;

	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		cr_assert_lt(strlen(line), 200, "a line too long for INI readers: %s", line);
		ca_lines += strncmp(line, "ca = ", 5) == 0;
	}
	fclose(f);
	cr_assert_eq(ca_lines, 1);
	/* tc_principal's file was written with sluice_write_ca: it works. */
	{
		sluice_session *t = NULL;
		char principal[64];

		cr_assert_eq(sluice_open_file(cred, NULL, "inference", &t), 0);
		cr_assert_eq(who(t, principal),
			     0, "%s", sluice_last_error(t));
		sluice_close(t);
	}
}
