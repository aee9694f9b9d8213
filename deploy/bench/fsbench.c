/*
 * A faithful copy of src/fsbench.c from the peers kit of the benchmark
 * baselines (the scripts that measure MooseFS, Ceph and nginx on the
 * project's machines), kept here so that deploy/bench-mount.sh runs from
 * the repository alone. Only this paragraph was added; keep it in step with
 * the kit rather than changing it here.
 */
/*
 * fsbench - small file-system workload driver used by peer-*.sh, meant to
 * be pointed at any mount (local fs, MooseFS FUSE, the project's FUSE mount).
 *
 *   fsbench write    DIR N SIZE [-f] [-t T] [-b BS] [-p PFX]  create N files of SIZE
 *                    bytes (pseudo-random, distinct per file) in BS writes;
 *                    -f: fsync before close (timing includes open..close)
 *   fsbench read     DIR N [-t T] [-b BS] [-p PFX]           read N files whole
 *   fsbench stat     DIR N [-p PFX]                          stat() N files
 *   fsbench list     DIR [-l]                                readdir (-l: + lstat each)
 *   fsbench randread DIR N [-t T] [-b BS] [-s SECS] [-p PFX] random BS-aligned
 *                    preads of BS bytes across N files for SECS seconds
 *
 * Files are DIR/PFX%06d (default PFX "f"). T threads split the files (write,
 * read) or each run their own random stream (randread). Output is one line:
 *   RESULT op=... files=... bytes=... secs=... files/s=... MiB/s=... [IOPS=... p50_us=... p99_us=...]
 * Build: gcc -O2 -pthread -o fsbench fsbench.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir, *pfx = "f";
static long nfiles;
static size_t fsize, bs = 1 << 20;
static int nthreads = 1, do_fsync, list_stat;
static double secs = 10;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fsbench: %s %s: %s\n", what, path ? path : "",
		strerror(errno));
	exit(1);
}

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void fname(char *buf, size_t len, long i)
{
	snprintf(buf, len, "%s/%s%06ld", dir, pfx, i);
}

struct targ {
	int id;
	uint64_t bytes, ops;
	float *lat;
	size_t nlat, caplat;
};

static void *t_write(void *p)
{
	struct targ *a = p;
	size_t chunk = bs < fsize ? bs : fsize;
	char *buf = aligned_alloc(4096, (chunk + 4095) / 4096 * 4096);
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(a->id + 1);
	for (size_t k = 0; k < chunk / 8; k++) /* incompressible, non-zero */
		((uint64_t *)buf)[k] = xs(&s);
	char path[4096];
	for (long i = a->id; i < nfiles; i += nthreads) {
		fname(path, sizeof(path), i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("open", path);
		for (size_t off = 0; off < fsize; off += chunk) {
			size_t n = fsize - off < chunk ? fsize - off : chunk;
			uint64_t *w = (uint64_t *)buf;
			for (size_t k = 0; k < n / 8; k += 64) /* refresh 1/64 words */
				w[k] = xs(&s) ^ (uint64_t)i;
			for (size_t k = 0; k < n / 8 && off == 0 && k < 512; k++)
				w[k] = xs(&s);
			size_t done = 0;
			while (done < n) {
				ssize_t r = write(fd, buf + done, n - done);
				if (r <= 0)
					die("write", path);
				done += (size_t)r;
			}
			a->bytes += n;
		}
		if (do_fsync && fsync(fd))
			die("fsync", path);
		if (close(fd))
			die("close", path);
		a->ops++;
	}
	free(buf);
	return NULL;
}

static void *t_read(void *p)
{
	struct targ *a = p;
	char *buf = aligned_alloc(4096, (bs + 4095) / 4096 * 4096);
	char path[4096];
	for (long i = a->id; i < nfiles; i += nthreads) {
		fname(path, sizeof(path), i);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			die("open", path);
		ssize_t r;
		while ((r = read(fd, buf, bs)) > 0)
			a->bytes += (uint64_t)r;
		if (r < 0)
			die("read", path);
		close(fd);
		a->ops++;
	}
	free(buf);
	return NULL;
}

static int *rr_fds;
static off_t *rr_sizes;
static double rr_deadline;

static void *t_randread(void *p)
{
	struct targ *a = p;
	char *buf = aligned_alloc(4096, (bs + 4095) / 4096 * 4096);
	uint64_t s = 0xD1B54A32D192ED03ULL * (uint64_t)(a->id + 7);
	a->caplat = 1 << 22;
	a->lat = malloc(a->caplat * sizeof(float));
	while (1) {
		double t0 = now();
		if (t0 >= rr_deadline)
			break;
		long f = (long)(xs(&s) % (uint64_t)nfiles);
		uint64_t blocks = (uint64_t)rr_sizes[f] / bs;
		off_t off = (off_t)((xs(&s) % (blocks ? blocks : 1)) * bs);
		ssize_t r = pread(rr_fds[f], buf, bs, off);
		if (r < 0)
			die("pread", NULL);
		double t1 = now();
		a->bytes += (uint64_t)r;
		a->ops++;
		if (a->nlat < a->caplat)
			a->lat[a->nlat++] = (float)((t1 - t0) * 1e6);
	}
	free(buf);
	return NULL;
}

static int fcmp(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;
	return (a > b) - (a < b);
}

static void run_threads(void *(*fn)(void *), const char *op)
{
	pthread_t th[256];
	struct targ a[256];
	memset(a, 0, sizeof(a));
	double t0 = now();
	for (int i = 0; i < nthreads; i++) {
		a[i].id = i;
		pthread_create(&th[i], NULL, fn, &a[i]);
	}
	uint64_t bytes = 0, ops = 0;
	size_t nlat = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		bytes += a[i].bytes;
		ops += a[i].ops;
		nlat += a[i].nlat;
	}
	double el = now() - t0;
	printf("RESULT op=%s threads=%d files=%ld bytes=%llu secs=%.4f "
	       "files/s=%.1f MiB/s=%.1f",
	       op, nthreads, nfiles, (unsigned long long)bytes, el,
	       fn == t_randread ? 0.0 : (double)ops / el,
	       (double)bytes / el / 1048576.0);
	if (nlat) {
		float *all = malloc(nlat * sizeof(float));
		size_t k = 0;
		for (int i = 0; i < nthreads; i++) {
			memcpy(all + k, a[i].lat, a[i].nlat * sizeof(float));
			k += a[i].nlat;
			free(a[i].lat);
		}
		qsort(all, nlat, sizeof(float), fcmp);
		printf(" IOPS=%.1f p50_us=%.1f p99_us=%.1f", (double)ops / el,
		       all[nlat / 2], all[(size_t)(nlat * 0.99)]);
		free(all);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "see the header of fsbench.c for usage\n");
		return 2;
	}
	const char *op = argv[1];
	dir = argv[2];
	/* after DIR: positional N [SIZE] and flags, in any order */
	char *posv[2] = {0};
	int pos = 0;
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] && !a[2]) {
			char c = a[1];
			if (c == 'f') {
				do_fsync = 1;
				continue;
			}
			if (c == 'l') {
				list_stat = 1;
				continue;
			}
			if (i + 1 >= argc) {
				fprintf(stderr, "missing value for %s\n", a);
				return 2;
			}
			const char *v = argv[++i];
			switch (c) {
			case 't': nthreads = atoi(v); break;
			case 'b': bs = strtoull(v, NULL, 0); break;
			case 'p': pfx = v; break;
			case 's': secs = atof(v); break;
			default:
				fprintf(stderr, "unknown flag %s\n", a);
				return 2;
			}
		} else if (pos < 2) {
			posv[pos++] = argv[i];
		} else {
			fprintf(stderr, "extra argument %s\n", a);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 256 || bs == 0)
		return 2;
	if (posv[0])
		nfiles = atol(posv[0]);
	if (posv[1])
		fsize = strtoull(posv[1], NULL, 0);

	if (!strcmp(op, "write")) {
		if (mkdir(dir, 0755) && errno != EEXIST)
			die("mkdir", dir);
		run_threads(t_write, "write");
	} else if (!strcmp(op, "read")) {
		run_threads(t_read, "read");
	} else if (!strcmp(op, "randread")) {
		rr_fds = calloc((size_t)nfiles, sizeof(int));
		rr_sizes = calloc((size_t)nfiles, sizeof(off_t));
		char path[4096];
		for (long i = 0; i < nfiles; i++) {
			struct stat st;
			fname(path, sizeof(path), i);
			if ((rr_fds[i] = open(path, O_RDONLY)) < 0 ||
			    fstat(rr_fds[i], &st))
				die("open", path);
			rr_sizes[i] = st.st_size;
		}
		rr_deadline = now() + secs;
		run_threads(t_randread, "randread");
		for (long i = 0; i < nfiles; i++)
			close(rr_fds[i]);
	} else if (!strcmp(op, "stat")) {
		char path[4096];
		struct stat st;
		double t0 = now();
		for (long i = 0; i < nfiles; i++) {
			fname(path, sizeof(path), i);
			if (stat(path, &st))
				die("stat", path);
		}
		double el = now() - t0;
		printf("RESULT op=stat files=%ld secs=%.4f stats/s=%.1f\n",
		       nfiles, el, (double)nfiles / el);
	} else if (!strcmp(op, "list")) {
		double t0 = now();
		DIR *d = opendir(dir);
		if (!d)
			die("opendir", dir);
		struct dirent *e;
		long n = 0;
		struct stat st;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' &&
			    (!e->d_name[1] ||
			     (e->d_name[1] == '.' && !e->d_name[2])))
				continue;
			if (list_stat && fstatat(dirfd(d), e->d_name, &st,
						 AT_SYMLINK_NOFOLLOW))
				die("fstatat", e->d_name);
			n++;
		}
		closedir(d);
		double el = now() - t0;
		printf("RESULT op=list%s entries=%ld secs=%.4f entries/s=%.1f\n",
		       list_stat ? "+stat" : "", n, el, (double)n / el);
	} else {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}
	return 0;
}
