/*
 * sluice-mount mounted for real, used by the tools a user would point at it
 * (cat, cp, ls -R, find, stat, tar, getfattr/setfattr, fio), against a real
 * cluster: content byte for byte, tenants apart, governance on every open,
 * --rw ingest on close, faults of the servers and of the mount itself.
 * Needs /dev/fuse (skipped, saying so, where it is missing) and the tools of
 * deploy/install-deps.sh.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

#define MiB (1024u * 1024u)

struct tmount {
	int used;
	char dir[400];
	char log[420];
	pid_t pid; /* of a foreground mount; 0 for a daemon */
};

static struct tcluster cl;
static char alice_cred[400];
static sluice_session *alice, *other[2]; /* closed by teardown, pass or fail */
/* Static, not on a test's stack: teardown unmounts what a failed test left. */
static struct tmount mounts[4];
static char out[65536];

static void setup(void)
{
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		cr_skip_test("/dev/fuse is missing here: FUSE mounts cannot be tested");
	tc_start(&cl, 3);
	alice = tc_principal(&cl, "acme", "alice", "confidential", alice_cred,
			     sizeof(alice_cred));
	tc_ns(alice, "datasets", 65536);
}

/* 1 when dir is a mount point now. */
static int mounted(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], mp[4096];
	int found = 0;

	cr_assert(f);
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, dir) == 0;
	fclose(f);
	return found;
}

static void teardown(void)
{
	/* A test that failed half way leaves its mounts: let go of them. */
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		struct tmount *t = &mounts[i];

		if (!t->used)
			continue;
		if (t->pid > 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, NULL, 0);
		}
		if (mounted(t->dir))
			umount2(t->dir, MNT_DETACH);
		memset(t, 0, sizeof(*t));
	}
	for (size_t i = 0; i < 2; i++) {
		sluice_close(other[i]);
		other[i] = NULL;
	}
	if (alice)
		sluice_close(alice);
	alice = NULL;
	tc_stop(&cl);
}

TestSuite(mount, .init = setup, .fini = teardown, .timeout = 240);

/* A free slot for a mount at <cluster dir>/name. */
static struct tmount *mount_slot(const char *name)
{
	struct tmount *t = NULL;

	for (size_t i = 0; !t && i < sizeof(mounts) / sizeof(mounts[0]); i++)
		if (!mounts[i].used)
			t = &mounts[i];
	cr_assert(t, "too many mounts in one test");
	memset(t, 0, sizeof(*t));
	t->used = 1;
	snprintf(t->dir, sizeof(t->dir), "%s/%s", cl.dir, name);
	snprintf(t->log, sizeof(t->log), "%s.log", t->dir);
	cr_assert(mkdir(t->dir, 0755) == 0 || errno == EEXIST);
	return t;
}

/* The mount is gone: its slot is free. */
static void release(struct tmount *t)
{
	memset(t, 0, sizeof(*t));
}

/* Fails the test on a sanitizer report in the mount's log. */
static void check_log(const struct tmount *t)
{
	FILE *f = fopen(t->log, "r");
	char line[2048];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		cr_expect(!strstr(line, "ERROR: AddressSanitizer") &&
				  !strstr(line, "ERROR: LeakSanitizer") && !strstr(line, "runtime error:"),
			  "sluice-mount's log: %s", line);
	fclose(f);
}

/*
 * Mounts in the foreground (-f) as the principal of cred, with up to three
 * more arguments, and returns once the mount answers.
 */
static struct tmount *mount_fg(const char *cred, const char *name, const char *a1,
			       const char *a2, const char *a3)
{
	const char *bin = getenv("SLUICE_MOUNT_BIN");
	struct tmount *t = mount_slot(name);
	struct stat st;

	cr_assert(bin, "SLUICE_MOUNT_BIN is not set");
	t->pid = fork();
	cr_assert(t->pid >= 0);
	if (t->pid == 0) {
		int fd = open(t->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "-c", cred, t->dir, "-f", "--log-level", "debug", a1, a2, a3,
		      (char *)NULL);
		_exit(127);
	}
	/* Generous: under sanitizers on a busy machine a start takes seconds. */
	for (int i = 0; i < 1200 && !mounted(t->dir); i++)
		usleep(50 * 1000);
	cr_assert(mounted(t->dir), "sluice-mount did not mount %s (see %s)", t->dir, t->log);
	cr_assert_eq(stat(t->dir, &st), 0, "%s: %s", t->dir, strerror(errno));
	return t;
}

/* SIGTERM: the mount must go away cleanly, leaving no stale mount point. */
static void unmount_fg(struct tmount *t)
{
	int status;

	cr_assert_eq(kill(t->pid, SIGTERM), 0);
	cr_assert_eq(waitpid(t->pid, &status, 0), t->pid);
	t->pid = 0;
	/* The log first: a sanitizer's report there is the reason for a bad status. */
	check_log(t);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char tail[2048] = "";
		FILE *f = fopen(t->log, "r");

		if (f) {
			long end = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : 0;

			fseek(f, end > (long)sizeof(tail) - 1 ? end - (long)sizeof(tail) + 1 : 0,
			      SEEK_SET);
			tail[fread(tail, 1, sizeof(tail) - 1, f)] = '\0';
			fclose(f);
		}
		cr_assert_fail("sluice-mount ended with status %#x; its log ends:\n%s", status,
			       tail);
	}
	cr_assert(!mounted(t->dir), "a stale mount is left at %s", t->dir);
	release(t);
}

/* Runs a shell command line; its output in out. */
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return tc_run((char *const[]){ "/bin/sh", "-c", cmd, NULL }, out, sizeof(out));
}

static void put(sluice_session *s, const char *ns, const char *name, size_t size, unsigned seed,
		const char *classification)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct sluice_tag tag = { "classification", classification };

	cr_assert(buf);
	tc_fill(buf, size, seed);
	cr_assert_eq(sluice_put(s, ns, name, buf, size, classification ? &tag : NULL,
				classification ? 1 : 0),
		     0, "put %s: %s", name, sluice_last_error(s));
	free(buf);
}

/* Reads the whole file at path and checks it is size bytes of pattern seed. */
static void check_file(const char *path, size_t size, unsigned seed)
{
	uint8_t *want = malloc(size + 1), *got = malloc(size + 1);
	int fd = open(path, O_RDONLY);
	size_t have = 0;
	ssize_t n;

	cr_assert(want && got);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	while ((n = read(fd, got + have, size + 1 - have)) > 0)
		have += (size_t)n;
	cr_assert(n == 0, "read %s: %s", path, strerror(errno));
	close(fd);
	tc_fill(want, size, seed);
	cr_assert_eq(have, size, "%s: %zu bytes, not %zu", path, have, size);
	cr_assert(memcmp(want, got, size) == 0, "%s: content differs", path);
	free(want);
	free(got);
}

static const size_t odd_sizes[] = { 0, 1, 4095, 4096, 4097, 65535, 65536, 65537,
				    MiB + 1, 3 * MiB + 7 };
#define N_ODD (sizeof(odd_sizes) / sizeof(odd_sizes[0]))

Test(mount, files_tools_and_tags)
{
	struct tmount *t;
	struct sluice_object *o = NULL;
	char path[600];
	struct stat st;

	for (size_t i = 0; i < N_ODD; i++) {
		snprintf(path, sizeof(path), "sizes/s-%zu", odd_sizes[i]);
		put(alice, "datasets", path, odd_sizes[i], (unsigned)i, NULL);
	}
	put(alice, "datasets", "docs/a/b/c.txt", 100, 100, NULL);
	put(alice, "datasets", "docs/readme.txt", 200, 101, "public");
	/* A name whose last character takes more than one byte. */
	put(alice, "datasets", "docs/caf\xc3\xa9", 300, 102, NULL);

	t = mount_fg(alice_cred, "mnt", NULL, NULL, NULL);

	/* Every odd size, byte for byte, and as stat says. */
	for (size_t i = 0; i < N_ODD; i++) {
		snprintf(path, sizeof(path), "%s/datasets/sizes/s-%zu", t->dir, odd_sizes[i]);
		cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
		cr_assert(S_ISREG(st.st_mode));
		cr_assert_eq((size_t)st.st_size, odd_sizes[i]);
		check_file(path, odd_sizes[i], (unsigned)i);
	}
	snprintf(path, sizeof(path), "%s/datasets/docs/caf\xc3\xa9", t->dir);
	check_file(path, 300, 102);
	snprintf(path, sizeof(path), "%s/datasets/docs/a", t->dir);
	cr_assert(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "docs/a is a folder");
	snprintf(path, sizeof(path), "%s/datasets/docs/none", t->dir);
	cr_assert(stat(path, &st) < 0 && errno == ENOENT);

	cr_assert_eq(sh("ls -R %s", t->dir), 0, "%s", out);
	cr_assert(strstr(out, "c.txt") && strstr(out, "s-4097") && strstr(out, "datasets"), "%s",
		  out);
	cr_assert_eq(sh("find %s -type f | wc -l", t->dir), 0, "%s", out);
	cr_assert_eq(atoi(out), (int)N_ODD + 3, "find: %s", out);
	cr_assert_eq(sh("find %s -type d | wc -l", t->dir), 0, "%s", out);
	cr_assert_eq(atoi(out), 6, "root, datasets, sizes, docs, a, b: %s", out);

	/* cp out, tar of a folder, cat. */
	cr_assert_eq(sh("cp -r %s/datasets/sizes %s/out && cd %s/datasets/sizes && for f in *; do "
			"cmp $f %s/out/$f || exit 1; done",
			t->dir, cl.dir, t->dir, cl.dir),
		     0, "cp: %s", out);
	cr_assert_eq(sh("tar cf %s/docs.tar -C %s/datasets docs && tar tvf %s/docs.tar", cl.dir,
			t->dir, cl.dir),
		     0, "tar: %s", out);
	cr_assert(strstr(out, "docs/a/b/c.txt") && strstr(out, "docs/readme.txt"), "%s", out);
	cr_assert_eq(sh("cat %s/datasets/docs/a/b/c.txt | wc -c", t->dir), 0);
	cr_assert_eq(atoi(out), 100);

	/* Tags as extended attributes, both ways. */
	cr_assert_eq(sh("getfattr -d --absolute-names %s/datasets/docs/readme.txt", t->dir), 0, "%s",
		     out);
	cr_assert(strstr(out, "user.sluice.classification=\"public\""), "%s", out);
	cr_assert_eq(sh("setfattr -n user.sluice.team -v vision %s/datasets/docs/readme.txt", t->dir),
		     0, "%s", out);
	cr_assert_eq(sluice_stat(alice, "datasets", "docs/readme.txt", &o), 0);
	cr_assert(o->n_tags >= 2);
	int found = 0;
	for (size_t i = 0; i < o->n_tags; i++)
		found |= strcmp(o->tags[i].key, "team") == 0 && strcmp(o->tags[i].value, "vision") == 0;
	cr_assert(found, "setfattr did not set the tag");
	sluice_object_free(o);
	cr_assert_eq(sh("getfattr -n user.sluice.team --only-values --absolute-names %s/datasets/docs/readme.txt",
			t->dir),
		     0);
	cr_assert_str_eq(out, "vision");

	/* Read-only: nothing changes through it. */
	snprintf(path, sizeof(path), "%s/datasets/docs/readme.txt", t->dir);
	cr_assert(open(path, O_WRONLY) < 0 && errno == EROFS, "write open: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/datasets/new.txt", t->dir);
	cr_assert(open(path, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS);
	snprintf(path, sizeof(path), "%s/datasets/newdir", t->dir);
	cr_assert(mkdir(path, 0755) < 0 && errno == EROFS);

	unmount_fg(t);
}

/* Writes len bytes of pattern seed to path (created) and closes it; close's result. */
static int write_file(const char *path, size_t len, unsigned seed)
{
	uint8_t *buf = malloc(len + 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644), rc;
	size_t done = 0;

	cr_assert(buf);
	cr_assert(fd >= 0, "create %s: %s", path, strerror(errno));
	tc_fill(buf, len, seed);
	/* In pieces of odd sizes, as a writer would. */
	while (done < len) {
		size_t n = len - done < 300000 ? len - done : 300000;
		ssize_t w = write(fd, buf + done, n);

		cr_assert(w > 0, "write %s: %s", path, strerror(errno));
		done += (size_t)w;
	}
	free(buf);
	rc = close(fd);
	return rc < 0 ? -errno : 0;
}

static int has_tag(const struct sluice_object *o, const char *key, const char *value)
{
	for (size_t i = 0; i < o->n_tags; i++)
		if (strcmp(o->tags[i].key, key) == 0 && strcmp(o->tags[i].value, value) == 0)
			return 1;
	return 0;
}

Test(mount, rw_ingest_on_close_and_unlink)
{
	struct tmount *t, *bad;
	struct sluice_object *o = NULL;
	char path[600], path2[600];
	uint8_t *buf = malloc(3 * MiB + 11);
	size_t got = 0;

	cr_assert(buf);
	put(alice, "datasets", "old.bin", 5000, 7, NULL);
	t = mount_fg(alice_cred, "mnt", "--rw", "-o", "tag=source=mount");

	/* mkdir, then a new file in it: an object once closed. */
	snprintf(path, sizeof(path), "%s/datasets/in", t->dir);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/datasets/in/new.bin", t->dir);
	cr_assert_eq(write_file(path, 3 * MiB + 11, 42), 0);
	cr_assert_eq(sluice_stat(alice, "datasets", "in/new.bin", &o), 0, "%s",
		     sluice_last_error(alice));
	cr_assert_eq(o->size, 3 * MiB + 11);
	cr_assert(has_tag(o, "source", "mount"), "the -o tag is on the object");
	cr_assert(has_tag(o, "classification", "internal"), "the namespace default applies");
	sluice_object_free(o);
	cr_assert_eq(sluice_read(alice, "datasets", "in/new.bin", 0, buf, 3 * MiB + 11, &got), 0);
	cr_assert_eq(got, 3 * MiB + 11);
	check_file(path, 3 * MiB + 11, 42);
	/* cp in, the way a user does it. */
	cr_assert_eq(sh("head -c 70000 /dev/urandom > %s/src && cp %s/src %s/datasets/in/cp.bin && "
			"cmp %s/src %s/datasets/in/cp.bin",
			cl.dir, cl.dir, t->dir, cl.dir, t->dir),
		     0, "cp in: %s", out);

	/* Objects never change: writes, truncation and rename are refused. */
	snprintf(path, sizeof(path), "%s/datasets/old.bin", t->dir);
	cr_assert(open(path, O_WRONLY) < 0 && errno == EPERM, "%s", strerror(errno));
	cr_assert(truncate(path, 0) < 0 && errno == EPERM, "%s", strerror(errno));
	snprintf(path2, sizeof(path2), "%s/datasets/renamed.bin", t->dir);
	cr_assert(rename(path, path2) < 0 && errno == EPERM, "%s", strerror(errno));
	cr_assert(open(path, O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST);

	/* unlink deletes the object. */
	cr_assert_eq(unlink(path), 0, "unlink: %s", strerror(errno));
	cr_assert_eq(sluice_stat(alice, "datasets", "old.bin", &o), -ENOENT);
	cr_assert(access(path, F_OK) < 0 && errno == ENOENT);

	/* A failed ingest is close's error, and leaves nothing behind. */
	bad = mount_fg(alice_cred, "bad", "--rw", "-o", "tag=classification=bogus");
	snprintf(path, sizeof(path), "%s/datasets/refused.bin", bad->dir);
	cr_assert_eq(write_file(path, 1000, 3), -EIO);
	cr_assert_eq(sluice_stat(alice, "datasets", "refused.bin", &o), -ENOENT);
	unmount_fg(bad);
	unmount_fg(t);
	free(buf);
}

Test(mount, rw_file_killed_before_close_never_appears)
{
	struct tmount *t;
	struct sluice_object **list = NULL, *o = NULL;
	char path[600], *buf = malloc(MiB);
	size_t n = 0;
	int fd, status;

	cr_assert(buf);
	t = mount_fg(alice_cred, "mnt", "--rw", NULL, NULL);
	snprintf(path, sizeof(path), "%s/datasets/half.bin", t->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert(fd >= 0, "%s", strerror(errno));
	memset(buf, 'x', MiB);
	cr_assert_eq(write(fd, buf, MiB), (ssize_t)MiB);

	/* The mount dies with the file open. */
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	t->pid = 0;
	close(fd);
	umount2(t->dir, MNT_DETACH);
	release(t);

	cr_assert_eq(sluice_stat(alice, "datasets", "half.bin", &o), -ENOENT);
	int truncated = 0;

	cr_assert_eq(sluice_list(alice, "datasets", "", NULL, 0, &list, &n, &truncated), 0);
	cr_assert_eq(n, 0, "nothing of the file reached the catalog");
	sluice_list_free(list, n);
	free(buf);
}

Test(mount, tenants_apart_and_clearance_on_open)
{
	struct tmount *bobm, *ritam;
	char bob_cred[400], rita_cred[400], path[600];
	sluice_session *bob;
	struct sluice_audit_record *rec = NULL;
	size_t n = 0;
	int chain_ok = 0, denied = 0, fd;
	struct stat st;

	put(alice, "datasets", "shared/report.txt", 300, 1, "internal");
	put(alice, "datasets", "secret/plan.txt", 300, 2, "confidential");
	bob = other[0] = tc_principal(&cl, "globex", "bob", "restricted", bob_cred,
				      sizeof(bob_cred));
	tc_ns(bob, "models", 0);
	other[1] = tc_principal(&cl, "acme", "rita", "internal", rita_cred, sizeof(rita_cred));

	/* Another tenant sees its own namespaces and nothing of acme's. */
	bobm = mount_fg(bob_cred, "bob", NULL, NULL, NULL);
	cr_assert_eq(sh("ls -a %s", bobm->dir), 0);
	cr_assert(strstr(out, "models") && !strstr(out, "datasets"), "%s", out);
	snprintf(path, sizeof(path), "%s/datasets", bobm->dir);
	cr_assert(stat(path, &st) < 0 && errno == ENOENT, "%s", strerror(errno));
	snprintf(path, sizeof(path), "%s/datasets/shared/report.txt", bobm->dir);
	cr_assert(open(path, O_RDONLY) < 0 && errno == ENOENT, "%s", strerror(errno));
	unmount_fg(bobm);

	/* An uncleared principal of the tenant: the name, but EACCES on open. */
	ritam = mount_fg(rita_cred, "rita", NULL, NULL, NULL);
	cr_assert_eq(sh("ls %s/datasets/secret", ritam->dir), 0);
	cr_assert(strstr(out, "plan.txt"), "%s", out);
	snprintf(path, sizeof(path), "%s/datasets/secret/plan.txt", ritam->dir);
	fd = open(path, O_RDONLY);
	cr_assert(fd < 0 && errno == EACCES, "open: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/datasets/shared/report.txt", ritam->dir);
	check_file(path, 300, 1);
	unmount_fg(ritam);

	/* The refusal is in the audit log, like any other. */
	cr_assert_eq(sluice_audit_list(alice, 0, 1000, &rec, &n, &chain_ok, NULL), 0);
	for (size_t i = 0; i < n; i++)
		denied |= strcmp(rec[i].event, "read.grant") == 0 &&
			  strcmp(rec[i].decision, "deny") == 0 &&
			  strcmp(rec[i].object, "datasets/secret/plan.txt") == 0;
	cr_assert(denied, "no audited refusal of the open");
	cr_assert(chain_ok);
	sluice_audit_free(rec, n);
}

/*
 * A file open before its object's access is revoked: what the mount keeps of
 * it (a read-ahead window) serves reads for one second after its fetch began
 * and no longer; then the data servers are asked again and refuse. A new
 * open asks sluice-meta for a new grant and is refused. (Confidential, so
 * direct_io: every read reaches the mount, none the kernel's page cache.)
 */
Test(mount, a_revoked_object_is_not_served_from_read_ahead)
{
	const struct sluice_tag raise[] = { { "classification", "restricted" } };
	const size_t size = 24 * MiB;
	uint8_t *want = malloc(size), *got = malloc(MiB);
	struct tmount *t;
	char path[600];
	ssize_t n;
	int fd;

	cr_assert(want && got);
	put(alice, "datasets", "stream/big.bin", size, 7, "confidential");
	tc_fill(want, size, 7);
	t = mount_fg(alice_cred, "mnt", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "%s/datasets/stream/big.bin", t->dir);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0, "open: %s", strerror(errno));
	/* Read front to back: the first read fills an 8 MiB window. */
	for (size_t off = 0; off < 2 * MiB; off += MiB) {
		n = pread(fd, got, MiB, (off_t)off);
		cr_assert_eq(n, (ssize_t)MiB, "pread at %zu: %s", off, strerror(errno));
		cr_assert(memcmp(got, want + off, MiB) == 0, "content differs at %zu", off);
	}

	/* Raised above alice's clearance: every capability of it is revoked. */
	cr_assert_eq(sluice_set_tags(alice, "datasets", "stream/big.bin", raise, 1, NULL, 0), 0,
		     "%s", sluice_last_error(alice));
	/* Past the window's second: the next read, inside that window, is refused. */
	usleep(1200 * 1000);
	n = pread(fd, got, MiB, 2 * MiB);
	cr_assert(n < 0 && (errno == EACCES || errno == EIO),
		  "a revoked object was served from the mount: %zd (%s)", n, strerror(errno));
	/* A new open is a new grant, and it is refused. */
	cr_assert(open(path, O_RDONLY) < 0 && errno == EACCES, "reopen: %s", strerror(errno));
	close(fd);
	unmount_fg(t);
	free(want);
	free(got);
}

Test(mount, listing_pages_through_a_large_directory)
{
	struct tmount *t;
	char name[64], path[600];
	int n = 0;
	DIR *d;
	struct dirent *e;
	int seen_sub = 0, seen_last = 0;

	/* More entries than one catalog page (1,000), then a subdirectory whose
	 * names the listing must skip as one entry. */
	for (int i = 0; i < 1020; i++) {
		snprintf(name, sizeof(name), "many/f%04d", i);
		put(alice, "datasets", name, 1, (unsigned)i, NULL);
	}
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "many/sub/x%02d", i);
		put(alice, "datasets", name, 1, (unsigned)i, NULL);
	}
	t = mount_fg(alice_cred, "mnt", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "%s/datasets/many", t->dir);
	d = opendir(path);
	cr_assert(d, "%s", strerror(errno));
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		seen_sub += strcmp(e->d_name, "sub") == 0;
		seen_last += strcmp(e->d_name, "f1019") == 0;
	}
	closedir(d);
	cr_assert_eq(n, 1021, "1,020 files and one folder, not %d entries", n);
	cr_assert_eq(seen_sub, 1, "sub listed once");
	cr_assert_eq(seen_last, 1, "the last file of the second page");
	cr_assert_eq(sh("ls %s/sub | wc -l", path), 0);
	cr_assert_eq(atoi(out), 30, "%s", out);
	unmount_fg(t);
}

Test(mount, fio_random_reads_verify)
{
	struct tmount *t;
	char src[600];
	uint8_t *buf = malloc(16 * MiB);
	FILE *f;

	cr_assert(buf);
	cr_assert_eq(access("/usr/bin/fio", X_OK), 0, "fio is needed (deploy/install-deps.sh)");
	/* fio writes blocks with checksummed headers; the mount serves them back. */
	snprintf(src, sizeof(src), "%s/fio.dat", cl.dir);
	cr_assert_eq(sh("fio --name=w --rw=write --bs=4k --size=16M --verify=crc32c "
			"--do_verify=0 --filename=%s --output-format=terse",
			src),
		     0, "%s", out);
	f = fopen(src, "r");
	cr_assert(f && fread(buf, 1, 16 * MiB, f) == 16 * MiB);
	fclose(f);
	cr_assert_eq(sluice_put(alice, "datasets", "fio.dat", buf, 16 * MiB, NULL, 0), 0);
	free(buf);

	t = mount_fg(alice_cred, "mnt", NULL, NULL, NULL);
	cr_assert_eq(sh("fio --name=r --rw=randread --bs=4k --size=16M --verify=crc32c "
			"--filename=%s/datasets/fio.dat --readonly --time_based --runtime=3 "
			"--ioengine=libaio --iodepth=8 --direct=1",
			t->dir),
		     0, "fio: %s", out);
	cr_assert(strstr(out, "err= 0"), "%s", out);
	cr_assert_eq(sh("fio --name=r --rw=randread --bs=4k --size=16M --verify=crc32c "
			"--filename=%s/datasets/fio.dat --readonly --time_based --runtime=2",
			t->dir),
		     0, "fio, buffered: %s", out);
	unmount_fg(t);
}

Test(mount, data_server_killed_mid_read)
{
	struct tmount *t;
	const size_t size = 24 * MiB;
	uint8_t *want = malloc(size), *got = malloc(size);
	char path[600];
	size_t have = 0;
	ssize_t n;
	int fd;

	cr_assert(want && got);
	tc_ns(alice, "big", MiB);
	tc_fill(want, size, 9);
	cr_assert_eq(sluice_put(alice, "big", "file.bin", want, size, NULL, 0), 0);
	t = mount_fg(alice_cred, "mnt", NULL, NULL, NULL);
	snprintf(path, sizeof(path), "%s/big/file.bin", t->dir);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0, "%s", strerror(errno));
	while (have < 2 * MiB && (n = read(fd, got + have, 128 * 1024)) > 0)
		have += (size_t)n;
	/* A data server dies while the file is being read: the rest fails over. */
	tc_data_kill(&cl, 0, SIGKILL);
	while ((n = read(fd, got + have, 128 * 1024)) > 0)
		have += (size_t)n;
	cr_assert(n == 0, "read: %s", strerror(errno));
	close(fd);
	cr_assert_eq(have, size);
	cr_assert(memcmp(want, got, size) == 0, "content differs after the failover");
	unmount_fg(t);
	free(want);
	free(got);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(mount, meta_down_is_a_bounded_eio_then_recovers)
{
	struct tmount *t;
	char path[600];
	struct stat st;
	double t0;
	int rc = -1;

	put(alice, "datasets", "a.txt", 10, 1, NULL);
	put(alice, "datasets", "b.txt", 20, 2, NULL);
	t = mount_fg(alice_cred, "mnt", "-o", "attr_timeout=0", NULL);

	tc_meta_kill(&cl, SIGKILL);
	snprintf(path, sizeof(path), "%s/datasets/b.txt", t->dir);
	t0 = now_s();
	cr_assert(stat(path, &st) < 0 && errno == EIO, "stat: %s", strerror(errno));
	cr_assert(open(path, O_RDONLY) < 0 && errno == EIO, "open: %s", strerror(errno));
	/* An error, not a hang: well within the request timeouts. */
	cr_assert(now_s() - t0 < 30, "took %.1f s", now_s() - t0);

	tc_meta_start(&cl);
	for (int i = 0; i < 100 && rc != 0; i++) {
		rc = stat(path, &st);
		if (rc)
			usleep(200 * 1000);
	}
	cr_assert_eq(rc, 0, "the mount did not recover: %s", strerror(errno));
	check_file(path, 20, 2);
	unmount_fg(t);
}

Test(mount, daemon_returns_mounted_refuses_busy_and_unmounts)
{
	const char *bin = getenv("SLUICE_MOUNT_BIN");
	struct tmount *t;
	char line[1024];
	pid_t pid = 0;
	FILE *f;
	DIR *d;
	int i;

	t = mount_slot("mnt");
	cr_assert_eq(tc_run((char *const[]){ (char *)bin, "-c", alice_cred, t->dir, "--log", t->log,
					     NULL },
			    out, sizeof(out)),
		     0, "%s", out);
	/* Usable as soon as the command returns. */
	d = opendir(t->dir);
	cr_assert(d, "%s", strerror(errno));
	closedir(d);
	cr_assert_eq(sh("ls %s", t->dir), 0);
	cr_assert(strstr(out, "datasets"), "%s", out);

	/* A second mount on the same point says why it cannot. */
	cr_assert_eq(tc_run((char *const[]){ (char *)bin, "-c", alice_cred, t->dir, NULL }, out,
			    sizeof(out)),
		     1);
	cr_assert(strstr(out, "busy"), "%s", out);

	f = fopen(t->log, "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ", pid ");

		if (p)
			pid = (pid_t)atoi(p + 6);
	}
	fclose(f);
	cr_assert(pid > 0, "the log names the daemon's pid");

	cr_assert_eq(sh("fusermount3 -u %s", t->dir), 0, "%s", out);
	for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(100 * 1000);
	cr_assert(kill(pid, 0) < 0, "the daemon outlived its unmount");
	cr_assert(!mounted(t->dir));
	check_log(t);
	t->used = 0; /* unmounted, and nothing left to stop */

	/* Bad input: a clear message, no mount. */
	cr_assert_eq(tc_run((char *const[]){ (char *)bin, "-c", "/nonexistent.cred", t->dir, NULL },
			    out, sizeof(out)),
		     1);
	cr_assert(strstr(out, "credentials"), "%s", out);
	cr_assert_eq(tc_run((char *const[]){ (char *)bin, "--help", NULL }, out, sizeof(out)), 0);
	cr_assert(strstr(out, "usage: sluice-mount"), "%s", out);
	cr_assert(!mounted(t->dir));
}
