/*
 * Regression tests for the client and the CLI of the security review
 * (issue 5): what a failed `sluice get -o` leaves behind (finding 14), the
 * mode of the files it creates (13), the checks on every plan and reply the
 * client decodes (15) and the client's verification of shard digests (7).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cluster.h"

static struct tcluster cl;
static char cred[400], out[65536];

static void setup(void)
{
	sluice_session *s;

	tc_start(&cl, 2);
	s = tc_principal(&cl, "acme", "alice", "confidential", cred, sizeof(cred));
	tc_ns(s, "data", 65536);
	cr_assert_eq(sluice_put(s, "data", "open", "readable bytes", 14, NULL, 0), 0, "%s",
		     sluice_last_error(s));
	/* Above alice's clearance: every get of it is refused. */
	cr_assert_eq(sluice_put(s, "data", "secret", "classified", 10,
				&(struct sluice_tag){ "classification", "restricted" }, 1),
		     0, "%s", sluice_last_error(s));
	sluice_close(s);
}

static void teardown(void)
{
	tc_stop(&cl);
}

/* Runs the CLI as alice with the given arguments (NULL-terminated). */
static int sluice(const char *first, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = getenv("SLUICE_CLI_BIN");
	argv[n++] = (char *)"-c";
	argv[n++] = cred;
	va_start(ap, first);
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	cr_assert(argv[0]);
	return tc_run(argv, out, sizeof(out));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "cannot write %s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static size_t read_fd(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	cr_assert(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* Files in dir whose names start with prefix. */
static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* ---- finding 14: a failed get leaves the destination as it was ------------ */

TestSuite(finding_14, .init = setup, .fini = teardown, .timeout = 180);

Test(finding_14, refused_get_keeps_an_existing_file)
{
	char path[400], buf[64];
	struct stat before, after;
	int fd;

	snprintf(path, sizeof(path), "%s/precious.txt", cl.dir);
	write_file(path, "precious contents\n");
	cr_assert_eq(stat(path, &before), 0);
	cr_assert_eq(sluice("get", "data/secret", "-o", path, NULL), 1);
	cr_assert(strstr(out, "access denied"), "%s", out);
	cr_assert_eq(stat(path, &after), 0, "a refused get removed %s", path);
	cr_assert_eq(after.st_ino, before.st_ino, "a refused get replaced %s", path);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	read_fd(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_str_eq(buf, "precious contents\n");
	/* A missing object fails the same way. */
	cr_assert_eq(sluice("get", "data/missing", "-o", path, NULL), 1);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino);
	cr_assert_eq(count_files(cl.dir, ".precious.txt"), 0, "a temporary file was left");
}

Test(finding_14, refused_get_keeps_a_fifo)
{
	char path[400];
	struct stat st;
	int rd;

	snprintf(path, sizeof(path), "%s/pipe", cl.dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	/* A reader, so that the CLI's open of the FIFO does not wait. */
	rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert(rd >= 0);
	cr_assert_eq(sluice("get", "data/secret", "-o", path, NULL), 1);
	cr_assert_eq(lstat(path, &st), 0, "a refused get removed the FIFO");
	cr_assert(S_ISFIFO(st.st_mode));
	close(rd);
}

Test(finding_14, refused_get_keeps_a_device)
{
	char path[400];
	struct stat st;

	/* A null device of our own when we may make one; else, as root, the
	 * system's /dev/null, which the old code deleted. */
	snprintf(path, sizeof(path), "%s/null", cl.dir);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0) {
		if (geteuid() != 0)
			cr_skip_test("cannot make a device node and not running as root");
		snprintf(path, sizeof(path), "/dev/null");
	}
	cr_assert_eq(sluice("get", "data/secret", "-o", path, NULL), 1);
	cr_assert_eq(lstat(path, &st), 0, "a refused get removed %s", path);
	cr_assert(S_ISCHR(st.st_mode), "%s is no longer a character device", path);
	/* A successful get streams into it and leaves it a device. */
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISCHR(st.st_mode));
}

Test(finding_14, successful_get_replaces_the_file_atomically)
{
	char path[400], buf[64];
	struct stat before, after;
	int old;

	snprintf(path, sizeof(path), "%s/dest.txt", cl.dir);
	write_file(path, "old contents\n");
	cr_assert_eq(stat(path, &before), 0);
	/* Whoever had the old file open keeps reading the old file, whole. */
	old = open(path, O_RDONLY);
	cr_assert(old >= 0);
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	read_fd(old, buf, sizeof(buf));
	close(old);
	cr_assert_str_eq(buf, "old contents\n", "the old file was written in place");
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino, "the file was not replaced by a rename");
	old = open(path, O_RDONLY);
	cr_assert(old >= 0);
	read_fd(old, buf, sizeof(buf));
	close(old);
	cr_assert_str_eq(buf, "readable bytes");
	cr_assert_eq(count_files(cl.dir, ".dest.txt"), 0, "a temporary file was left");
}

/* ---- finding 13: files get creates are private unless asked --------------- */

TestSuite(finding_13, .init = setup, .fini = teardown, .timeout = 180);

Test(finding_13, get_creates_files_0600_unless_asked)
{
	char path[400];
	struct stat st;

	umask(022);
	snprintf(path, sizeof(path), "%s/private.txt", cl.dir);
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);

	/* An existing, more open file is replaced by a private one too. */
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(sluice("get", "data/open", "-o", path, NULL), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);

	snprintf(path, sizeof(path), "%s/shared.txt", cl.dir);
	cr_assert_eq(sluice("get", "data/open", "-o", path, "--mode", "0640", NULL), 0, "%s", out);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);

	cr_assert_eq(sluice("get", "data/open", "-o", path, "--mode", "4755", NULL), 2);
	cr_assert_eq(sluice("get", "data/open", "-o", path, "--mode", "rw", NULL), 2);
	cr_assert_eq(sluice("get", "--help", NULL), 0);
	cr_assert(strstr(out, "--mode OCTAL"), "%s", out);
}
