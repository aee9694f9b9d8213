/*
 * sluice-bench-guess: whether guessing names across tenants has a timing
 * tell. As a principal of tenant A, it asks about two names in a namespace
 * that A and B both have: one that exists nowhere, and one that exists only
 * in tenant B. Both must answer "no such object"; this measures whether one
 * answers faster. The two are interleaved (missing, other, missing, ...) so
 * that drift in the machine's load falls on both alike. Each is asked with
 * STAT and with a read grant (sluice_reader_open); printed: p50, p90 and
 * p99 in microseconds of each, and the ratio of the medians (other /
 * missing; 1.00 is no tell).
 *
 *   sluice-bench-guess -c A_CREDENTIALS -n NAMESPACE -o NAME_ONLY_IN_B [--rounds N]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0, n), sorted in place. */
static double quantile(double *v, int n, double q)
{
	int i = (int)(q * (n - 1) + 0.5);

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[i < n ? i : n - 1];
}

enum { OP_STAT, OP_GRANT, N_OPS };
static const char *const op_names[N_OPS] = { "STAT", "GRANT" };

/* Asks once; the time taken, or -1 when the answer was not "no such object". */
static double ask(sluice_session *s, int op, const char *ns, const char *name)
{
	struct sluice_object *o = NULL;
	sluice_reader *r = NULL;
	double t = now_us();
	int rc = op == OP_STAT ? sluice_stat(s, ns, name, &o) : sluice_reader_open(s, ns, name, &r);

	t = now_us() - t;
	sluice_object_free(o);
	if (r)
		sluice_reader_close(r);
	if (rc != -ENOENT) {
		fprintf(stderr, "sluice-bench-guess: %s %s/%s: %d (%s), not 'no such object'\n",
			op_names[op], ns, name, rc, sluice_last_error(s));
		return -1;
	}
	return t;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credentials", required_argument, 0, 'c' },
		{ "namespace", required_argument, 0, 'n' },
		{ "other", required_argument, 0, 'o' },
		{ "rounds", required_argument, 0, 'N' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	const char *cred = NULL, *ns = NULL, *other = NULL;
	char missing[128];
	int rounds = 3000, opt, rc = 1;
	double *t[N_OPS][2] = { { NULL } };
	sluice_session *s = NULL;

	while ((opt = getopt_long(argc, argv, "c:n:o:N:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cred = optarg; break;
		case 'n': ns = optarg; break;
		case 'o': other = optarg; break;
		case 'N': rounds = atoi(optarg); break;
		case 'h':
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: sluice-bench-guess -c A_CREDENTIALS -n NAMESPACE "
				"-o NAME_ONLY_IN_B [--rounds N]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!cred || !ns || !other || rounds < 10) {
		fprintf(stderr, "sluice-bench-guess: -c, -n and -o are required, --rounds >= 10\n");
		return 2;
	}
	if (sluice_open_file(cred, NULL, "inference", &s)) {
		fprintf(stderr, "sluice-bench-guess: cannot open a session with %s\n", cred);
		return 1;
	}
	/* The other name with its letters and digits changed: as long, with the
	 * same '/' and '.', so that only whether it exists differs. */
	if (strlen(other) >= sizeof(missing)) {
		fprintf(stderr, "sluice-bench-guess: name longer than %zu bytes\n",
			sizeof(missing) - 1);
		goto out;
	}
	for (size_t i = 0;; i++) {
		char ch = other[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');

		missing[i] = alnum ? 'q' : ch;
		if (!ch)
			break;
	}
	for (int op = 0; op < N_OPS; op++)
		for (int k = 0; k < 2; k++) {
			t[op][k] = calloc((size_t)rounds, sizeof(double));
			if (!t[op][k]) {
				fprintf(stderr, "sluice-bench-guess: out of memory\n");
				goto out;
			}
		}
	/* A warm-up round of each, not counted. */
	for (int op = 0; op < N_OPS; op++)
		if (ask(s, op, ns, missing) < 0 || ask(s, op, ns, other) < 0)
			goto out;
	for (int i = 0; i < rounds; i++)
		for (int op = 0; op < N_OPS; op++)
			for (int k = 0; k < 2; k++) {
				/* Alternate which goes first: neither always follows the other. */
				int which = (i & 1) ? 1 - k : k;
				double d = ask(s, op, ns, which ? other : missing);

				if (d < 0)
					goto out;
				t[op][which][i] = d;
			}
	printf("%d rounds, each name asked alternately; microseconds\n", rounds);
	printf("%-6s %-22s %9s %9s %9s\n", "op", "name", "p50", "p90", "p99");
	for (int op = 0; op < N_OPS; op++) {
		double p50[2];

		for (int k = 0; k < 2; k++) {
			p50[k] = quantile(t[op][k], rounds, 0.50);
			printf("%-6s %-22s %9.1f %9.1f %9.1f\n", op_names[op],
			       k ? "other tenant's name" : "missing everywhere", p50[k],
			       quantile(t[op][k], rounds, 0.90), quantile(t[op][k], rounds, 0.99));
		}
		printf("%-6s median ratio (other / missing): %.3f\n", op_names[op],
		       p50[1] / p50[0]);
	}
	rc = 0;
out:
	for (int op = 0; op < N_OPS; op++)
		for (int k = 0; k < 2; k++)
			free(t[op][k]);
	sluice_close(s);
	return rc;
}
