/*
 * sluice-bench-revoke: how fast a restrictive change reaches the data
 * servers. Each round an admin puts an internal object, a reader (clearance
 * internal) reads 4 KiB of it in a tight loop, and (ten reads in) the admin raises the
 * object to confidential. Printed per round and as medians: how long the
 * tag change took (it returns once every data server acknowledged the new
 * watermark), and the time from the start of the change to the start of
 * the first read the data servers refused (a read in flight when the
 * watermark arrived counts as refused at its start, so this errs high).
 *
 *   sluice-bench-revoke -c ADMIN_CREDENTIALS -r READER_CREDENTIALS -n NAMESPACE [--rounds N]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice.h"

#define OBJ_SIZE (256u << 10)

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

struct reader_run {
	sluice_reader *r;
	volatile int stop;
	double first_refused; /* start of the first read that failed; 0: none */
	int rc;               /* its result */
	long reads;
};

static void *reader_main(void *arg)
{
	struct reader_run *rr = arg;
	char buf[4096];
	double deadline = now() + 30;

	while (!rr->stop && now() < deadline) {
		double t = now();
		size_t got;
		int rc = sluice_reader_pread(rr->r, buf, sizeof(buf), 0, &got);

		rr->reads++;
		if (rc) {
			rr->first_refused = t;
			rr->rc = rc;
			break;
		}
	}
	return NULL;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credentials", required_argument, 0, 'c' }, { "reader", required_argument, 0, 'r' },
		{ "namespace", required_argument, 0, 'n' },   { "rounds", required_argument, 0, 'N' },
		{ "help", no_argument, 0, 'h' },              { 0, 0, 0, 0 },
	};
	const char *admin_cred = NULL, *reader_cred = NULL, *ns = NULL;
	sluice_session *admin = NULL, *reader = NULL;
	double change[64], refuse[64];
	int rounds = 7, opt, rc = 1, done = 0;
	uint8_t *data = calloc(1, OBJ_SIZE);

	while ((opt = getopt_long(argc, argv, "c:r:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': admin_cred = optarg; break;
		case 'r': reader_cred = optarg; break;
		case 'n': ns = optarg; break;
		case 'N': rounds = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: sluice-bench-revoke -c ADMIN_CREDENTIALS -r "
					"READER_CREDENTIALS -n NAMESPACE [--rounds N (1-64)]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!admin_cred || !reader_cred || !ns || rounds < 1 || rounds > 64 || !data) {
		fprintf(stderr, "sluice-bench-revoke: -c, -r and -n are required; rounds 1-64\n");
		return 2;
	}
	if (sluice_open_file(admin_cred, NULL, "inference", &admin) ||
	    sluice_open_file(reader_cred, NULL, "inference", &reader)) {
		fprintf(stderr, "sluice-bench-revoke: cannot open the credentials\n");
		goto out;
	}
	for (int i = 0; i < rounds; i++) {
		struct sluice_tag internal = { "classification", "internal" };
		struct sluice_tag confidential = { "classification", "confidential" };
		struct reader_run rr = { 0 };
		char name[64];
		pthread_t t;
		double t0, t1;

		snprintf(name, sizeof(name), "revoke-bench-%d-%ld", i, (long)getpid());
		if (sluice_put(admin, ns, name, data, OBJ_SIZE, &internal, 1) ||
		    sluice_reader_open(reader, ns, name, &rr.r)) {
			fprintf(stderr, "sluice-bench-revoke: %s\n", sluice_last_error(admin));
			goto out;
		}
		pthread_create(&t, NULL, reader_main, &rr);
		/* The reader is streaming: connected, a few reads done. */
		for (int w = 0; w < 500 && rr.reads < 10 && !rr.first_refused; w++)
			usleep(10 * 1000);
		t0 = now();
		if (sluice_set_tags(admin, ns, name, &confidential, 1, NULL, 0)) {
			fprintf(stderr, "sluice-bench-revoke: tag: %s\n", sluice_last_error(admin));
			rr.stop = 1;
			pthread_join(t, NULL);
			sluice_reader_close(rr.r);
			goto out;
		}
		t1 = now();
		pthread_join(t, NULL);
		if (!rr.first_refused) {
			fprintf(stderr, "sluice-bench-revoke: round %d: no read was refused\n", i);
			sluice_reader_close(rr.r);
			goto out;
		}
		change[done] = (t1 - t0) * 1e3;
		refuse[done] = (rr.first_refused - t0) * 1e3;
		printf("round %d tag_change_ms %.2f first_refused_read_ms %.2f reads_before %ld "
		       "result %s\n",
		       i, change[done], refuse[done], rr.reads - 1, strerror(-rr.rc));
		done++;
		sluice_reader_close(rr.r);
		sluice_delete(admin, ns, name);
	}
	printf("median tag_change_ms %.2f\nmedian first_refused_read_ms %.2f\n",
	       median(change, done), median(refuse, done));
	rc = 0;
out:
	sluice_close(reader);
	sluice_close(admin);
	free(data);
	return rc;
}
