/*
 * sluice-bench: measures a running cluster through libsluice and, in the same
 * run, the same work done on local files, so results are ratios against a
 * baseline taken on the same machine at the same time.
 *
 *   sluice-bench -c CREDENTIALS -n NAMESPACE [--size MiB] [--files N]
 *                [--file-size KiB] [--random N] [--dir DIR]
 *
 * Figures (one line each, "name value unit"): small-file ingest, large-object
 * ingest, sequential read (warm), 4 KiB random reads at depth 1 with p50/p99,
 * and stats; then the local-file baselines and the ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fabric.h"
#include "sl_time.h"
#include "sluice.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The raw fabric baseline: RMA writes of `block` bytes from one endpoint to
 * another in this process, `depth` in flight, both sides polled by this
 * thread (as the server and the client would). Returns MiB/s, or -1.
 */
struct rma_op {
	struct fi_context2 ctx;
	int done;
};

struct target {
	struct sl_fabric *f;
	volatile int stop;
};

/* The target side must be polled for its connection and RMA to progress. */
static void *target_main(void *arg)
{
	struct target *t = arg;
	struct sl_fabric_event ev[16];

	while (!t->stop)
		sl_fabric_poll(t->f, ev, 16, 1);
	return NULL;
}

static double raw_rma_mib_s(const char *provider, size_t block, int depth, size_t total)
{
	struct sl_fabric a, b;
	struct sl_fabric_mr ma, mb;
	struct rma_op ops[16];
	struct target tgt = { &b, 0 };
	pthread_t thread;
	uint8_t *src = NULL, *dst = NULL;
	fi_addr_t to_b;
	size_t sent = 0, done = 0;
	double t0, mib = -1;

	if (depth > 16 || posix_memalign((void **)&src, 4096, block) ||
	    posix_memalign((void **)&dst, 4096, block * (size_t)depth))
		return -1;
	memset(src, 7, block);
	if (sl_fabric_open(&a, provider, "127.0.0.1", NULL) ||
	    sl_fabric_open(&b, provider, "127.0.0.1", NULL))
		return -1;
	if (sl_fabric_mr_reg(&a, src, block, FI_WRITE, &ma) ||
	    sl_fabric_mr_reg(&b, dst, block * (size_t)depth, FI_REMOTE_WRITE, &mb) ||
	    sl_fabric_av_insert(&a, b.addr, b.addr_len, &to_b))
		goto out;
	if (pthread_create(&thread, NULL, target_main, &tgt))
		goto out;
	for (int i = 0; i < depth; i++)
		ops[i].done = 1;
	t0 = now();
	while (done < total && mib == -1) {
		struct sl_fabric_event ev[16];
		int n;

		for (int i = 0; i < depth && sent < total; i++) {
			if (!ops[i].done)
				continue;
			ops[i].done = 0;
			if (sl_fabric_write(&a, src, block, ma.desc, to_b,
					    sl_fabric_mr_raddr(&b, &mb, dst + (size_t)i * block), mb.key,
					    &ops[i], sl_mono_ms() + 5000)) {
				mib = -2; /* a post failed: give up */
				break;
			}
			sent += block;
		}
		n = sl_fabric_poll(&a, ev, 16, 0);
		for (int i = 0; i < n; i++) {
			((struct rma_op *)ev[i].ctx)->done = 1;
			done += block;
		}
	}
	mib = mib == -1 ? (double)total / (1 << 20) / (now() - t0) : -1;
	tgt.stop = 1;
	pthread_join(thread, NULL);
out:
	sl_fabric_mr_close(&ma);
	sl_fabric_mr_close(&mb);
	sl_fabric_close(&a);
	sl_fabric_close(&b);
	free(src);
	free(dst);
	return mib;
}

static void die(sluice_session *s, int rc, const char *what)
{
	fprintf(stderr, "sluice-bench: %s: %s\n", what, s ? sluice_last_error(s) : strerror(-rc));
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credentials", required_argument, 0, 'c' }, { "ns", required_argument, 0, 'n' },
		{ "size", required_argument, 0, 's' },        { "files", required_argument, 0, 'f' },
		{ "file-size", required_argument, 0, 'k' },   { "random", required_argument, 0, 'r' },
		{ "dir", required_argument, 0, 'd' },         { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *cred = getenv("SLUICE_CREDENTIALS"), *ns = NULL, *dir = "/tmp";
	size_t size_mib = 256, files = 2000, file_kib = 4, nrand = 5000, chunk = 8u << 20;
	sluice_session *s = NULL;
	sluice_reader *r = NULL;
	uint8_t *big, *buf, *small;
	double t, *lat, sl_seq, sl_iops, sl_ingest, sl_small, sl_stat, fs_seq, fs_iops, fs_small;
	char name[128], path[600], tag[32];
	uint64_t seed = 88172645463325252ull;
	size_t size, got;
	int opt, rc, fd;

	while ((opt = getopt_long(argc, argv, "c:n:s:f:k:r:d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cred = optarg; break;
		case 'n': ns = optarg; break;
		case 's': size_mib = strtoul(optarg, NULL, 10); break;
		case 'f': files = strtoul(optarg, NULL, 10); break;
		case 'k': file_kib = strtoul(optarg, NULL, 10); break;
		case 'r': nrand = strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'h':
			printf("usage: sluice-bench -c CREDENTIALS -n NAMESPACE [--size MiB] "
			       "[--files N] [--file-size KiB] [--random N] [--dir DIR]\n");
			return 0;
		default: return 2;
		}
	}
	if (!cred || !ns || !size_mib || !files || !file_kib || !nrand) {
		fprintf(stderr, "sluice-bench: need -c CREDENTIALS and -n NAMESPACE (see --help)\n");
		return 2;
	}
	size = size_mib << 20;
	big = malloc(size);
	buf = malloc(chunk);
	small = malloc(file_kib << 10);
	lat = malloc(nrand * sizeof(*lat));
	if (!big || !buf || !small || !lat)
		return 1;
	fill(big, size, 1);
	fill(small, file_kib << 10, 2);
	rc = sluice_open_file(cred, NULL, "inference", &s);
	if (rc)
		die(NULL, rc, "open");
	snprintf(tag, sizeof(tag), "%ld", (long)time(NULL));

	/* ---- Sluice ---- */
	t = now();
	for (size_t i = 0; i < files; i++) {
		snprintf(name, sizeof(name), "bench-%s/small/%06zu", tag, i);
		rc = sluice_put(s, ns, name, small, file_kib << 10, NULL, 0);
		if (rc)
			die(s, rc, "small put");
	}
	sl_small = (double)files / (now() - t);

	snprintf(name, sizeof(name), "bench-%s/big", tag);
	t = now();
	rc = sluice_put(s, ns, name, big, size, NULL, 0);
	if (rc)
		die(s, rc, "large put");
	sl_ingest = (double)size_mib / (now() - t);

	rc = sluice_reader_open(s, ns, name, &r);
	if (rc)
		die(s, rc, "open reader");
	for (int pass = 0; pass < 2; pass++) { /* the first pass warms the page cache */
		t = now();
		for (size_t off = 0; off < size; off += chunk) {
			rc = sluice_reader_pread(r, buf, chunk, off, &got);
			if (rc)
				die(s, rc, "sequential read");
			if (memcmp(buf, big + off, got) != 0) {
				fprintf(stderr, "sluice-bench: data mismatch at %zu\n", off);
				return 1;
			}
		}
	}
	sl_seq = (double)size_mib / (now() - t);
	for (size_t i = 0; i < nrand; i++) {
		size_t off = (rnd(&seed) % (size / 4096)) * 4096;
		double t0 = now();

		rc = sluice_reader_pread(r, buf, 4096, off, &got);
		if (rc || got != 4096)
			die(s, rc, "random read");
		lat[i] = now() - t0;
	}
	t = 0;
	for (size_t i = 0; i < nrand; i++)
		t += lat[i];
	sl_iops = (double)nrand / t;
	qsort(lat, nrand, sizeof(*lat), cmp_double);
	printf("sluice.ingest.small        %10.0f files/s  (%zu x %zu KiB, one at a time)\n",
	       sl_small, files, file_kib);
	printf("sluice.ingest.large        %10.1f MiB/s    (%zu MiB object)\n", sl_ingest, size_mib);
	printf("sluice.read.seq.warm       %10.1f MiB/s    (%zu MiB chunks)\n", sl_seq, chunk >> 20);
	printf("sluice.read.rand4k.qd1     %10.0f IOPS     p50 %.0f us  p99 %.0f us\n", sl_iops,
	       lat[nrand / 2] * 1e6, lat[nrand * 99 / 100] * 1e6);
	{
		/* The same random reads, 32 at a time through one batched call. */
		struct sluice_iov iov[32];
		uint8_t *blocks = malloc(32 * 4096);
		size_t batches = nrand / 32 ? nrand / 32 : 1;

		if (!blocks)
			return 1;
		t = now();
		for (size_t b = 0; b < batches; b++) {
			for (int i = 0; i < 32; i++)
				iov[i] = (struct sluice_iov){ blocks + (size_t)i * 4096, 4096,
							      (rnd(&seed) % (size / 4096)) * 4096, 0 };
			rc = sluice_reader_preadv(r, iov, 32);
			if (rc)
				die(s, rc, "batched random read");
			for (int i = 0; i < 32; i++)
				if (iov[i].got != 4096 ||
				    memcmp(iov[i].buf, big + iov[i].off, 4096) != 0) {
					fprintf(stderr, "sluice-bench: batched data mismatch\n");
					return 1;
				}
		}
		printf("sluice.read.rand4k.qd32    %10.0f IOPS     (sluice_reader_preadv, 32 a call)\n",
		       (double)(batches * 32) / (now() - t));
		free(blocks);
	}
	sluice_reader_close(r);

	t = now();
	for (size_t i = 0; i < files; i++) {
		struct sluice_object *o;

		snprintf(name, sizeof(name), "bench-%s/small/%06zu", tag, i);
		rc = sluice_stat(s, ns, name, &o);
		if (rc)
			die(s, rc, "stat");
		sluice_object_free(o);
	}
	sl_stat = (double)files / (now() - t);
	printf("sluice.stat                %10.0f stats/s\n", sl_stat);

	/* ---- baseline: the same work on local files ---- */
	t = now();
	for (size_t i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/sluice-bench-%s-%06zu", dir, tag, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, small, file_kib << 10) < 0 || fsync(fd) < 0)
			return 1;
		close(fd);
	}
	fs_small = (double)files / (now() - t);
	for (size_t i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "%s/sluice-bench-%s-%06zu", dir, tag, i);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sluice-bench-%s-big", dir, tag);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, big, size) != (ssize_t)size || fsync(fd) < 0)
		return 1;
	for (int pass = 0; pass < 2; pass++) {
		t = now();
		for (size_t off = 0; off < size; off += chunk)
			if (pread(fd, buf, chunk, (off_t)off) < 0)
				return 1;
	}
	fs_seq = (double)size_mib / (now() - t);
	t = now();
	for (size_t i = 0; i < nrand; i++)
		if (pread(fd, buf, 4096, (off_t)((rnd(&seed) % (size / 4096)) * 4096)) != 4096)
			return 1;
	fs_iops = (double)nrand / (now() - t);
	close(fd);
	unlink(path);
	printf("local.create.small.fsync   %10.0f files/s\n", fs_small);
	printf("local.read.seq.warm        %10.1f MiB/s    (pread, page cache)\n", fs_seq);
	printf("local.read.rand4k.qd1      %10.0f IOPS     (pread, page cache)\n", fs_iops);
	{
		double rma1 = raw_rma_mib_s("tcp;ofi_rxm", 1u << 20, 1, (size_t)size);
		double rma16 = raw_rma_mib_s("tcp;ofi_rxm", 1u << 20, 16, (size_t)size);

		printf("fabric.rma_write.1m.qd1    %10.1f MiB/s    (tcp;ofi_rxm, same process)\n", rma1);
		printf("fabric.rma_write.1m.qd16   %10.1f MiB/s\n", rma16);
		printf("ratio.read.seq.vs_rma      %10.2f  sluice / raw RMA write, 1 in flight\n",
		       sl_seq / rma1);
	}
	printf("ratio.ingest.small         %10.2f  sluice / local fsync'd files\n", sl_small / fs_small);
	printf("ratio.read.seq.warm        %10.2f  sluice / local pread\n", sl_seq / fs_seq);
	printf("ratio.read.rand4k.qd1      %10.2f  sluice / local pread\n", sl_iops / fs_iops);
	(void)sl_stat;
	sluice_close(s);
	free(big);
	free(buf);
	free(small);
	free(lat);
	return 0;
}
