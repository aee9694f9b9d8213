/*
 * A deterministic stand-in for libFuzzer's main, so that every fuzz target
 * also runs as an ordinary test with any compiler: the target's valid seeds,
 * every truncation of each, then TEST_FUZZ_MUTATIONS mutants drawn from a
 * fixed-seed generator (byte flips and overwrites, inserted and removed
 * bytes, random lengths, random garbage). The run is the same every time, so
 * a failure reproduces; each input sits in its own exact-size heap block, so
 * that AddressSanitizer catches a read one byte past it.
 *
 * With `--corpus DIR` the files kept there (tests/fuzz/corpus/<target>/:
 * inputs that once found a bug or reach deep paths) are run too, and join
 * the seeds the mutations start from. With `--seconds N` the mutation phase
 * goes on past the fixed count until N seconds have passed, still drawing
 * from the same fixed sequence, so CI spends a bounded time on each target
 * and a failure reproduces by running the same command again (with at
 * least as many seconds). SLUICE_FUZZ_SECONDS overrides --seconds.
 *
 * With file arguments it runs just those files, like a libFuzzer binary
 * replaying a crash (`fuzz-frame-driver crash-1234`); with `--seeds DIR` it
 * writes the target's seeds there, a starting corpus for libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"

#define TEST_FUZZ_MUTATIONS 20000u
#define TEST_FUZZ_SEEDS_MAX 16u
/* Seeds plus corpus files the mutations start from. */
#define TEST_FUZZ_POOL_MAX 256u
#define TEST_FUZZ_INPUT_MAX 4096u

struct test_input {
	uint8_t b[TEST_FUZZ_INPUT_MAX];
	size_t len;
};

/* xorshift64*: a fixed sequence, the same on every run and platform. */
static uint64_t test_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void test_run(const uint8_t *data, size_t len)
{
	/* An exact-size copy: reading past the end is a heap overflow. */
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy) {
		perror("malloc");
		exit(1);
	}
	if (len)
		memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static void test_mutate(struct test_input *in, uint64_t *rs)
{
	unsigned steps = 1 + (unsigned)(test_rand(rs) % 4);

	for (unsigned i = 0; i < steps; i++) {
		uint64_t r = test_rand(rs);
		size_t pos = in->len ? (size_t)(r >> 8) % in->len : 0;

		switch (r % 8) {
		case 0: /* flip one bit */
			if (in->len)
				in->b[pos] ^= (uint8_t)(1u << ((r >> 40) % 8));
			break;
		case 1: /* overwrite one byte */
			if (in->len)
				in->b[pos] = (uint8_t)(r >> 32);
			break;
		case 2: /* an interesting value over up to 8 bytes */
			if (in->len) {
				static const uint8_t fill[] = { 0x00, 0xff, 0x7f, 0x80 };
				size_t n = 1 + (size_t)(r >> 40) % 8;

				if (n > in->len - pos)
					n = in->len - pos;
				memset(in->b + pos, fill[(r >> 48) % 4], n);
			}
			break;
		case 3: /* insert a byte */
			if (in->len < TEST_FUZZ_INPUT_MAX) {
				memmove(in->b + pos + 1, in->b + pos, in->len - pos);
				in->b[pos] = (uint8_t)(r >> 32);
				in->len++;
			}
			break;
		case 4: /* remove a byte */
			if (in->len) {
				memmove(in->b + pos, in->b + pos + 1, in->len - pos - 1);
				in->len--;
			}
			break;
		case 5: /* a random length: cut, or grow with random bytes */
		{
			size_t want = (size_t)(r >> 16) % (in->len * 2 + 16);

			if (want > TEST_FUZZ_INPUT_MAX)
				want = TEST_FUZZ_INPUT_MAX;
			for (size_t j = in->len; j < want; j++)
				in->b[j] = (uint8_t)test_rand(rs);
			in->len = want;
			break;
		}
		case 6: /* duplicate a chunk of the input onto another place */
			if (in->len) {
				size_t to = (size_t)(r >> 24) % in->len;
				size_t n = 1 + (size_t)(r >> 48) % 16;

				if (n > in->len - pos)
					n = in->len - pos;
				if (n > in->len - to)
					n = in->len - to;
				memmove(in->b + to, in->b + pos, n);
			}
			break;
		default: /* pure garbage of a random length */
			in->len = (size_t)(r >> 16) % 512;
			for (size_t j = 0; j < in->len; j++)
				in->b[j] = (uint8_t)test_rand(rs);
			break;
		}
	}
}

/* Reads at most TEST_FUZZ_INPUT_MAX bytes of path into in. */
static int test_load(const char *path, struct test_input *in)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		return -1;
	}
	in->len = fread(in->b, 1, sizeof(in->b), f);
	fclose(f);
	return 0;
}

static int test_run_files(int argc, char **argv)
{
	struct test_input in;

	for (int i = 1; i < argc; i++) {
		if (test_load(argv[i], &in))
			return 1;
		printf("running %s (%zu bytes)\n", argv[i], in.len);
		test_run(in.b, in.len);
	}
	return 0;
}

/* Names sort so that the pool, and so every run, is the same on every host. */
static int test_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Appends the regular files of dir to pool (up to TEST_FUZZ_POOL_MAX in
 * all); returns how many, or -1. A missing folder is an empty corpus.
 */
static int test_load_corpus(const char *dir, struct test_input *pool, unsigned *n_pool)
{
	char *names[TEST_FUZZ_POOL_MAX];
	unsigned n = 0, loaded = 0;
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < TEST_FUZZ_POOL_MAX) {
		if (e->d_name[0] == '.')
			continue;
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), test_name_cmp);
	for (unsigned i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!rc && *n_pool < TEST_FUZZ_POOL_MAX) {
			if (test_load(path, &pool[*n_pool]))
				rc = -1;
			else
				(*n_pool)++, loaded++;
		}
		free(names[i]);
	}
	return rc ? rc : (int)loaded;
}

static double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int test_write_seeds(const char *dir)
{
	struct test_input in;

	for (unsigned n = 0; n < TEST_FUZZ_SEEDS_MAX; n++) {
		char path[4096];
		size_t written;
		FILE *f;

		in.len = test_fuzz_seed(n, in.b, sizeof(in.b));
		if (!in.len)
			break;
		snprintf(path, sizeof(path), "%s/seed-%u", dir, n);
		f = fopen(path, "wb");
		if (!f) {
			perror(path);
			return 1;
		}
		written = fwrite(in.b, 1, in.len, f);
		if (fclose(f) || written != in.len) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct test_input pool[TEST_FUZZ_POOL_MAX];
	struct test_input in;
	const char *corpus = NULL;
	unsigned n_seeds = 0, n_pool, seconds = 0;
	uint64_t rs = 0x5eed5eed5eed5eedull;
	size_t runs = 0, mutants = 0;
	int n_corpus = 0, argi = 1;
	double until;

	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return test_write_seeds(argv[2]);
	for (; argi + 1 < argc; argi += 2) {
		if (strcmp(argv[argi], "--corpus") == 0)
			corpus = argv[argi + 1];
		else if (strcmp(argv[argi], "--seconds") == 0)
			seconds = (unsigned)strtoul(argv[argi + 1], NULL, 10);
		else
			break;
	}
	if (argi < argc)
		return test_run_files(argc - argi + 1, argv + argi - 1);
	if (getenv("SLUICE_FUZZ_SECONDS"))
		seconds = (unsigned)strtoul(getenv("SLUICE_FUZZ_SECONDS"), NULL, 10);

	while (n_seeds < TEST_FUZZ_SEEDS_MAX) {
		struct test_input *s = &pool[n_seeds];

		s->len = test_fuzz_seed(n_seeds, s->b, sizeof(s->b));
		if (!s->len)
			break;
		n_seeds++;
	}
	if (!n_seeds) {
		fprintf(stderr, "the target has no seeds\n");
		return 1;
	}
	n_pool = n_seeds;
	if (corpus) {
		n_corpus = test_load_corpus(corpus, pool, &n_pool);
		if (n_corpus < 0)
			return 1;
	}

	for (unsigned i = 0; i < n_pool; i++)
		for (size_t len = 0; len <= pool[i].len; len++, runs++)
			test_run(pool[i].b, len);
	/* The fixed count first, then on until the time is up. */
	until = test_now_s() + seconds;
	for (;; mutants++, runs++) {
		if (mutants >= TEST_FUZZ_MUTATIONS &&
		    (!seconds || ((mutants & 255) == 0 && test_now_s() >= until)))
			break;
		in = pool[test_rand(&rs) % n_pool];
		test_mutate(&in, &rs);
		test_run(in.b, in.len);
	}
	printf("%zu inputs from %u seeds and %d corpus files (%zu mutants), no invariant broken\n",
	       runs, n_seeds, n_corpus, mutants);
	return 0;
}
