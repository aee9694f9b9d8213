/*
 * A deterministic stand-in for libFuzzer's main, so that every fuzz target
 * also runs as an ordinary test with any compiler: the target's valid seeds,
 * every truncation of each, then TEST_FUZZ_MUTATIONS mutants drawn from a
 * fixed-seed generator (byte flips and overwrites, inserted and removed
 * bytes, random lengths, random garbage). The run is the same every time, so
 * a failure reproduces; each input sits in its own exact-size heap block, so
 * that AddressSanitizer catches a read one byte past it.
 *
 * With file arguments it runs just those files, like a libFuzzer binary
 * replaying a crash (`fuzz-frame-driver crash-1234`); with `--seeds DIR` it
 * writes the target's seeds there, a starting corpus for libFuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define TEST_FUZZ_MUTATIONS 20000u
#define TEST_FUZZ_SEEDS_MAX 16u
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

static int test_run_files(int argc, char **argv)
{
	struct test_input in;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		in.len = fread(in.b, 1, sizeof(in.b), f);
		fclose(f);
		printf("running %s (%zu bytes)\n", argv[i], in.len);
		test_run(in.b, in.len);
	}
	return 0;
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
	struct test_input seeds[TEST_FUZZ_SEEDS_MAX], in;
	unsigned n_seeds = 0;
	uint64_t rs = 0x5eed5eed5eed5eedull;
	size_t runs = 0;

	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return test_write_seeds(argv[2]);
	if (argc > 1)
		return test_run_files(argc, argv);

	while (n_seeds < TEST_FUZZ_SEEDS_MAX) {
		struct test_input *s = &seeds[n_seeds];

		s->len = test_fuzz_seed(n_seeds, s->b, sizeof(s->b));
		if (!s->len)
			break;
		n_seeds++;
	}
	if (!n_seeds) {
		fprintf(stderr, "the target has no seeds\n");
		return 1;
	}

	for (unsigned i = 0; i < n_seeds; i++)
		for (size_t len = 0; len <= seeds[i].len; len++, runs++)
			test_run(seeds[i].b, len);
	for (unsigned i = 0; i < TEST_FUZZ_MUTATIONS; i++, runs++) {
		in = seeds[test_rand(&rs) % n_seeds];
		test_mutate(&in, &rs);
		test_run(in.b, in.len);
	}
	printf("%zu inputs from %u seeds, no invariant broken\n", runs, n_seeds);
	return 0;
}
