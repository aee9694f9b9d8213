/*
 * The front door of sluice-meta: the bootstrap credentials are written or
 * the start fails (finding 15).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

TestSuite(finding_15, .timeout = 120);

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
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
		int has_key = 0;

		cr_assert(f, "no admin credentials after a clean start");
		while (fgets(line, sizeof(line), f)) {
			has_key |= strncmp(line, "key_id = ", 9) == 0;
		}
		fclose(f);
		cr_expect(has_key, "incomplete admin credentials");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect(system(cmd) == 0);
}
