/*
 * sluice-mount: mounts the caller's tenant's namespaces as a file tree.
 *
 * Without -f it forks first (libfabric and the sessions' threads do not
 * survive a fork), and the parent returns only once the child has mounted,
 * with the child's verdict: a script may use the mount as soon as the
 * command returns, and a mount that cannot start says why on the terminal.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <fuse3/fuse_lowlevel.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"
#include "sl_log.h"
#include "sl_time.h"

#define SL_MNT_SESSIONS_MAX 64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice-mount [CREDENTIALS] MOUNTPOINT [-c CREDENTIALS] [-p PURPOSE] [--rw]\n"
		"                    [-f] [-o OPTION[,OPTION...]] [--log FILE] [--log-level L]\n\n"
		"Mounts the namespaces of the credentials' tenant at MOUNTPOINT:\n"
		"MOUNTPOINT/<namespace>/<object name, split at '/'>. Every open of a file is a\n"
		"read grant for PURPOSE, checked against the object's tags and audited; a\n"
		"refused one is EACCES. Unmount with `fusermount3 -u MOUNTPOINT`, or stop the\n"
		"process with SIGINT or SIGTERM.\n\n"
		"Options:\n"
		"  -c, --credentials FILE  credentials file ($SLUICE_CREDENTIALS); also the\n"
		"                          first argument, as mount(8) and fstab give it\n"
		"  -p, --purpose P         purpose declared for reads ($SLUICE_PURPOSE;\n"
		"                          default inference)\n"
		"      --rw                allow new files (ingested when closed), mkdir, unlink\n"
		"                          and tag changes; objects themselves never change\n"
		"  -f, --foreground        stay in the foreground, logging to stderr\n"
		"      --log FILE          where a daemonized mount logs (default: nowhere)\n"
		"      --log-level L       error, warn, info (default) or debug\n"
		"  -o OPTIONS              sluice-mount's own options, and FUSE's (allow_other,\n"
		"                          ...; see mount.fuse3(8)):\n"
		"       tag=K=V            a tag for every file ingested (repeat for more)\n"
		"       sessions=N         connections to the cluster (default 4)\n"
		"       spool=DIR          where files being written wait (default /var/tmp)\n"
		"       attr_timeout=S     seconds a name, size or absence is cached (default 10)\n"
		"       purpose=P, credentials=FILE, writable (= --rw)   as the options above\n"
		"  -h, --help              this help\n\n"
		"Example: sluice-mount -c alice.ini /mnt/sluice && ls /mnt/sluice\n");
}

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice-mount: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

struct opts {
	struct sl_mnt *m;
	const char *mountpoint;
	const char *log_file;
	int log_level;
	int foreground;
	char fuse_opts[4096]; /* options passed on to FUSE */
	char tag_buf[SL_MNT_TAGS_MAX][512];
};

/* One -o option: ours, or appended to what FUSE gets. */
static int one_option(struct opts *o, char *opt)
{
	struct sl_mnt *m = o->m;
	char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : NULL;
	size_t used = strlen(o->fuse_opts);

	/* mount(8) says rw by default: writing is asked for by name. */
	if (strcmp(opt, "writable") == 0) {
		m->rw = 1;
	} else if (strcmp(opt, "ro") == 0 || strcmp(opt, "rw") == 0) {
		/* ours to decide: the kernel's ro would refuse setxattr too */
	} else if (val && strncmp(opt, "purpose=", 8) == 0) {
		m->purpose = val;
	} else if (val && strncmp(opt, "credentials=", 12) == 0) {
		m->credentials = val;
	} else if (val && strncmp(opt, "spool=", 6) == 0) {
		m->spool_dir = val;
	} else if (val && strncmp(opt, "sessions=", 9) == 0) {
		char *end;
		unsigned long n = strtoul(val, &end, 10);

		if (*end || n < 1 || n > SL_MNT_SESSIONS_MAX)
			return fail("-o sessions=N: N is 1 to %d", SL_MNT_SESSIONS_MAX);
		m->n_sess = (unsigned)n;
	} else if (val && strncmp(opt, "attr_timeout=", 13) == 0) {
		char *end;
		double t = strtod(val, &end);

		if (*end || !(t >= 0 && t <= 86400))
			return fail("-o attr_timeout=S: S is seconds, 0 to 86400");
		m->attr_timeout_s = t;
	} else if (val && strncmp(opt, "tag=", 4) == 0) {
		char *v = strchr(val, '='), *buf;

		if (!v || v == val || !v[1])
			return fail("-o tag=K=V: '%s' has no key or value", val);
		if (m->n_tags == SL_MNT_TAGS_MAX || strlen(val) >= sizeof(o->tag_buf[0]))
			return fail("-o tag=K=V: at most %d tags of %zu bytes", SL_MNT_TAGS_MAX,
				    sizeof(o->tag_buf[0]) - 1);
		buf = o->tag_buf[m->n_tags];
		snprintf(buf, sizeof(o->tag_buf[0]), "%s", val);
		buf[v - val] = 0;
		m->tags[m->n_tags].key = buf;
		m->tags[m->n_tags].value = buf + (v - val) + 1;
		m->n_tags++;
	} else if (strcmp(opt, "_netdev") == 0 || strcmp(opt, "nofail") == 0 ||
		   strcmp(opt, "auto") == 0 || strcmp(opt, "noauto") == 0) {
		/* fstab's, not ours nor FUSE's */
	} else {
		int n = snprintf(o->fuse_opts + used, sizeof(o->fuse_opts) - used, ",%s", opt);

		if (n < 0 || (size_t)n >= sizeof(o->fuse_opts) - used)
			return fail("too many -o options");
	}
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "credentials", required_argument, NULL, 'c' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "rw", no_argument, NULL, 'w' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'L' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pos[2];
	int n_pos = 0, opt;

	while ((opt = getopt_long(argc, argv, "+c:p:fo:h", longopts, NULL)) != -1 || optind < argc) {
		switch (opt) {
		case -1:
			if (n_pos == 2)
				return fail("one MOUNTPOINT (and at most a CREDENTIALS before it)");
			pos[n_pos++] = argv[optind++];
			break;
		case 'c':
			o->m->credentials = optarg;
			break;
		case 'p':
			o->m->purpose = optarg;
			break;
		case 'w':
			o->m->rw = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'L':
			o->log_file = optarg;
			break;
		case 'l':
			o->log_level = sl_log_level_parse(optarg);
			if (o->log_level < 0)
				return fail("--log-level: error, warn, info or debug");
			break;
		case 'o':
			for (char *save = NULL, *t = strtok_r(optarg, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				if (one_option(o, t))
					return 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 1;
		}
	}
	if (n_pos == 0) {
		usage(stderr);
		return 1;
	}
	if (n_pos == 2 && strcmp(pos[0], "sluice") != 0)
		o->m->credentials = pos[0]; /* mount(8): SOURCE MOUNTPOINT */
	o->mountpoint = pos[n_pos - 1];
	if (!o->m->credentials)
		return fail("no credentials: give -c FILE or set SLUICE_CREDENTIALS");
	return 0;
}

/* 1 when path is a mount point now (of any file system). */
static int is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char mp[4096], un[4096];
		size_t j = 0;

		/* id parent major:minor root MOUNTPOINT ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		/* mountinfo escapes space, tab, newline and backslash as \ooo. */
		for (size_t i = 0; mp[i] && j < sizeof(un) - 1; i++) {
			if (mp[i] == '\\' && mp[i + 1] && mp[i + 2] && mp[i + 3]) {
				un[j++] = (char)strtol((char[]){ mp[i + 1], mp[i + 2], mp[i + 3], 0 },
						       NULL, 8);
				i += 3;
			} else {
				un[j++] = mp[i];
			}
		}
		un[j] = 0;
		found = strcmp(un, path) == 0;
	}
	fclose(f);
	return found;
}

/* Paths made absolute: the daemon leaves the working folder. */
static int resolve(struct opts *o, char *mp, char *cred, char *spool)
{
	struct stat st;

	if (!realpath(o->mountpoint, mp)) {
		if (errno == ENOTCONN)
			return fail("%s: a dead mount is still there; run fusermount3 -u %s first",
				    o->mountpoint, o->mountpoint);
		return fail("%s: %s", o->mountpoint, strerror(errno));
	}
	if (stat(mp, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("%s: not a folder", o->mountpoint);
	if (is_mounted(mp))
		return fail("%s is busy: something is already mounted there (fusermount3 -u %s "
			    "unmounts it)", mp, mp);
	if (!realpath(o->m->credentials, cred))
		return fail("cannot read credentials file %s: %s", o->m->credentials,
			    strerror(errno));
	o->m->credentials = cred;
	if (!realpath(o->m->spool_dir, spool) || stat(spool, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("spool folder %s: %s", o->m->spool_dir,
			    errno ? strerror(errno) : "not a folder");
	o->m->spool_dir = spool;
	return 0;
}

/* Tells the waiting parent how the mount went: a status byte and a message. */
static void report(int fd, int status, const char *msg)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%c%s", status ? '1' : '0', msg ? msg : "");

	if (fd < 0) {
		if (msg && msg[0])
			fprintf(stderr, "sluice-mount: %s\n", msg);
		return;
	}
	if (write(fd, buf, (size_t)n) < 0)
		(void)0; /* the parent is gone: nobody to tell */
	close(fd);
}

/* The parent of a daemonized mount: exits with the child's verdict. */
static int wait_child(int fd)
{
	char buf[1024];
	ssize_t n, got = 0;

	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = 0;
	if (got == 0)
		return fail("the mount process died before it mounted");
	if (buf[1])
		fprintf(stderr, "sluice-mount: %s\n", buf + 1);
	return buf[0] == '0' ? 0 : 1;
}

static int run(struct opts *o, const char *mp, int status_fd)
{
	struct sl_mnt *m = o->m;
	char err[512] = "", fsname[64];
	char *fopts = NULL;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	struct fuse_loop_config *cfg = NULL;
	int rc = 1, mounted = 0;

	if (sl_cache_new(m) || sl_spool_table_new(m)) {
		report(status_fd, 1, "out of memory");
		goto out;
	}
	if (sl_mnt_pool_open(m, err, sizeof(err))) {
		report(status_fd, 1, err);
		goto out;
	}
	snprintf(fsname, sizeof(fsname), "fsname=sluice,subtype=sluice,max_read=%u", 1u << 20);
	/* libfuse grows the argument list it is given: it must own it. */
	if (asprintf(&fopts, "%s%s", fsname, o->fuse_opts) < 0 ||
	    fuse_opt_add_arg(&args, "sluice-mount") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, fopts)) {
		report(status_fd, 1, "out of memory");
		goto out_args;
	}
	f = fuse_new(&args, sl_mnt_operations(), sizeof(struct fuse_operations), m);
	if (!f) {
		report(status_fd, 1, "bad -o options (FUSE said why above)");
		goto out_args;
	}
	if (fuse_mount(f, mp) != 0) {
		snprintf(err, sizeof(err), "cannot mount on %s (is /dev/fuse there, and fusermount3?)",
			 mp);
		report(status_fd, 1, err);
		goto out_args;
	}
	mounted = 1;
	/*
	 * libfabric's providers catch SIGINT and SIGTERM to clean up and exit,
	 * and libfuse only takes over signals left at their default: give them
	 * to libfuse, so that both end in an unmount. The sessions close on the
	 * way out and clean up after themselves then.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		report(status_fd, 1, "cannot set signal handlers");
		goto out_args;
	}
	SL_INFO("mounted at %s%s, pid %d", mp, m->rw ? " (read-write)" : "", (int)getpid());
	/* The kernel's INIT comes first in the loop: op_init tells the parent. */
	m->ready_fd = status_fd;
	if (status_fd >= 0) {
		/* Daemonized: away from the terminal and the caller's folder. */
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (!o->log_file)
				dup2(null, 2);
			close(null);
		}
		if (chdir("/") < 0)
			(void)0; /* "/" is always there */
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		goto out_signals;
	fuse_loop_cfg_set_max_threads(cfg, 16);
	/* A signal's number when one ended it: a clean stop too. */
	rc = fuse_loop_mt(f, cfg);
	if (rc < 0)
		SL_ERR("the FUSE loop failed (%d)", rc);
	rc = rc < 0 ? 1 : 0;
	if (m->ready_fd >= 0)
		report(m->ready_fd, 1, "the kernel never initialized the mount");
	fuse_loop_cfg_destroy(cfg);
	SL_INFO("unmounting %s", mp);
out_signals:
	fuse_remove_signal_handlers(fuse_get_session(f));
out_args:
	if (mounted)
		fuse_unmount(f);
	if (f)
		fuse_destroy(f);
	fuse_opt_free_args(&args);
	free(fopts);
out:
	sl_file_close_all(m);
	sl_mnt_pool_close(m);
	sl_spool_table_free(m);
	sl_cache_free(m);
	return rc;
}

int main(int argc, char **argv)
{
	struct sl_mnt m = {
		.purpose = getenv("SLUICE_PURPOSE") ? getenv("SLUICE_PURPOSE") : "inference",
		.credentials = getenv("SLUICE_CREDENTIALS"),
		.n_sess = 4,
		.attr_timeout_s = 10.0,
		.spool_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp",
		.uid = getuid(),
		.gid = getgid(),
		.ready_fd = -1,
		.files_lock = PTHREAD_MUTEX_INITIALIZER,
		.mounted_ms = sl_now_ms(),
	};
	struct opts *o = calloc(1, sizeof(*o));
	char mp[PATH_MAX], cred[PATH_MAX], spool[PATH_MAX];
	int pipefd[2], rc;
	pid_t pid;

	if (!o)
		return fail("out of memory");
	o->m = &m;
	o->log_level = SL_LOG_INFO;
	rc = parse(argc, argv, o);
	if (!rc)
		rc = resolve(o, mp, cred, spool);
	if (rc)
		goto out;
	sl_log_init("sluice-mount", o->log_level);
	if (o->foreground) {
		rc = run(o, mp, -1);
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = fail("pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = fail("fork: %s", strerror(errno));
		goto out;
	}
	if (pid > 0) {
		close(pipefd[1]);
		rc = wait_child(pipefd[0]);
		goto out;
	}
	close(pipefd[0]);
	setsid();
	/* A daemon keeps no descriptor of its caller's open (a pipe it holds
	 * would keep `out=$(sluice-mount ...)` waiting for as long as it runs). */
	if (pipefd[1] > 3)
		close_range(3, (unsigned)pipefd[1] - 1, 0);
	close_range((unsigned)pipefd[1] + 1, ~0u, 0);
	/* With --log, the daemon's words go there from the start; the parent
	 * still gets the verdict (and the reason for a failure) over the pipe. */
	if (o->log_file) {
		int log = open(o->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		if (log < 0) {
			report(pipefd[1], 1, "cannot open the --log file");
			rc = 1;
			goto out;
		}
		dup2(log, 2);
		close(log);
	}
	rc = run(o, mp, pipefd[1]);
out:
	free(o);
	return rc;
}
