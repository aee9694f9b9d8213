/*
 * What every fuzz target shares: the entry points driver.c (or libFuzzer)
 * calls, and the check that aborts with a line naming the broken invariant.
 */
#ifndef SL_TEST_FUZZ_H
#define SL_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Defined by each target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Writes the target's seed n into buf (at most cap bytes); 0 when there is none. */
size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap);

/* Aborts (a crash the fuzzer reports) when an invariant does not hold. */
static inline void test_check(int ok, const char *what, size_t size)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz: invariant broken on a %zu-byte input: %s\n", size, what);
	abort();
}

#endif
