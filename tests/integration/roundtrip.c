/*
 * Byte-identical round trips through a real cluster: sizes around the shard
 * boundary and a 50 MiB object, whole and by byte range, with tags kept.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define SMALL_SHARD 65536u

static struct tcluster cl;
static sluice_session *s;

static void setup(void)
{
	tc_start(&cl, 3);
	s = tc_principal(&cl, "acme", "alice", "confidential", NULL, 0);
	tc_ns(s, "small", SMALL_SHARD);
	tc_ns(s, "big", 0);
}

static void teardown(void)
{
	if (s)
		sluice_close(s);
	tc_stop(&cl);
}

TestSuite(roundtrip, .init = setup, .fini = teardown, .timeout = 240);

static void round_trip(const char *ns, size_t size, unsigned seed)
{
	char name[64];
	uint8_t *in = malloc(size + 1), *out = malloc(size + 16);
	struct sluice_object *o = NULL;
	size_t got = 0;
	int rc;

	cr_assert(in && out);
	tc_fill(in, size, seed);
	snprintf(name, sizeof(name), "sizes/obj-%zu", size);
	rc = sluice_put(s, ns, name, in, size, NULL, 0);
	cr_assert_eq(rc, 0, "put %zu bytes: %s", size, sluice_last_error(s));
	rc = sluice_stat(s, ns, name, &o);
	cr_assert_eq(rc, 0);
	cr_assert_eq(o->size, size);
	cr_assert_eq(o->shard_count, (size + o->shard_size - 1) / o->shard_size);
	sluice_object_free(o);

	memset(out, 0xa5, size + 16);
	rc = sluice_read(s, ns, name, 0, out, size + 16, &got);
	cr_assert_eq(rc, 0, "read: %s", sluice_last_error(s));
	cr_assert_eq(got, size, "read %zu of %zu bytes", got, size);
	cr_assert(memcmp(in, out, size) == 0, "bytes differ for size %zu", size);
	cr_assert_eq(out[size], 0xa5, "read wrote past the object's end");
	free(in);
	free(out);
}

Test(roundtrip, empty_object) { round_trip("small", 0, 1); }
Test(roundtrip, one_byte) { round_trip("small", 1, 2); }
Test(roundtrip, shard_size_minus_one) { round_trip("small", SMALL_SHARD - 1, 3); }
Test(roundtrip, shard_size) { round_trip("small", SMALL_SHARD, 4); }
Test(roundtrip, shard_size_plus_one) { round_trip("small", SMALL_SHARD + 1, 5); }
Test(roundtrip, fifty_mib) { round_trip("big", 50u << 20, 6); }

Test(roundtrip, byte_ranges_across_shards)
{
	size_t size = 5 * SMALL_SHARD + 123, got;
	uint8_t *in = malloc(size), *out = malloc(size);
	static const size_t offs[][2] = { { 0, 10 }, { SMALL_SHARD - 3, 7 },
					  { SMALL_SHARD * 2 - 1, SMALL_SHARD + 2 },
					  { 5 * SMALL_SHARD + 100, 1000 }, { 17, 4 * SMALL_SHARD } };

	tc_fill(in, size, 9);
	cr_assert_eq(sluice_put(s, "small", "ranges", in, size, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t want = offs[i][0] + offs[i][1] > size ? size - offs[i][0] : offs[i][1];

		cr_assert_eq(sluice_read(s, "small", "ranges", offs[i][0], out, offs[i][1], &got), 0);
		cr_assert_eq(got, want);
		cr_assert(memcmp(out, in + offs[i][0], got) == 0, "range %zu differs", i);
	}
	/* Reading at or past the end returns nothing, not an error. */
	cr_assert_eq(sluice_read(s, "small", "ranges", size, out, 10, &got), 0);
	cr_assert_eq(got, 0);
	free(in);
	free(out);
}

Test(roundtrip, tags_are_stored_and_listed)
{
	const struct sluice_tag tags[] = { { "classification", "confidential" },
					   { "pii", "pseudonymous" }, { "source", "sensor-7" } };
	struct sluice_object **list = NULL, *o = NULL;
	size_t n = 0;
	int truncated = 1, found = 0;

	cr_assert_eq(sluice_put(s, "small", "tagged/a", "abc", 3, tags, 3), 0);
	cr_assert_eq(sluice_put(s, "small", "tagged/b", "de", 2, NULL, 0), 0);
	cr_assert_eq(sluice_put(s, "small", "other", "f", 1, NULL, 0), 0);
	cr_assert_eq(sluice_list(s, "small", "tagged/", NULL, 0, &list, &n, &truncated), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(truncated, 0);
	cr_assert_str_eq(list[0]->name, "tagged/a");
	cr_assert_str_eq(list[1]->name, "tagged/b");
	for (size_t i = 0; i < list[0]->n_tags; i++) {
		if (strcmp(list[0]->tags[i].key, "pii") == 0)
			found += strcmp(list[0]->tags[i].value, "pseudonymous") == 0;
		if (strcmp(list[0]->tags[i].key, "source") == 0)
			found += strcmp(list[0]->tags[i].value, "sensor-7") == 0;
	}
	cr_assert_eq(found, 2, "own tags missing from the listing");
	/* The namespace default fills in classification for b. */
	cr_assert_str_eq(list[1]->tags[0].key, "classification");
	cr_assert_str_eq(list[1]->tags[0].value, "internal");
	sluice_list_free(list, n);

	/* Listing resumes after a name and honours the limit. */
	cr_assert_eq(sluice_list(s, "small", "", "other", 1, &list, &n, &truncated), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0]->name, "tagged/a");
	cr_assert_eq(truncated, 1);
	sluice_list_free(list, n);

	/* confidential: still within the reader's clearance, so STAT shows it. */
	const struct sluice_tag change[] = { { "classification", "confidential" } };
	const char *drop[] = { "source" };
	cr_assert_eq(sluice_set_tags(s, "small", "tagged/a", change, 1, drop, 1), 0);
	cr_assert_eq(sluice_stat(s, "small", "tagged/a", &o), 0);
	for (size_t i = 0; i < o->n_tags; i++) {
		cr_assert_str_neq(o->tags[i].key, "source");
		if (strcmp(o->tags[i].key, "classification") == 0)
			cr_assert_str_eq(o->tags[i].value, "confidential");
	}
	sluice_object_free(o);
}

Test(roundtrip, nothing_half_written_on_bad_input)
{
	const struct sluice_tag bad[] = { { "classification", "top-secret" } };
	struct sluice_object *o = NULL;

	cr_assert_eq(sluice_put(s, "small", "bad-tag", "x", 1, bad, 1), -EINVAL);
	cr_assert_eq(sluice_stat(s, "small", "bad-tag", &o), -ENOENT);
	cr_assert_eq(sluice_put(s, "nope", "x", "x", 1, NULL, 0), -ENOENT);
	cr_assert(strstr(sluice_last_error(s), "no such namespace"));
	cr_assert_eq(sluice_put(s, "small", "../escape", "x", 1, NULL, 0), -EINVAL);
	cr_assert_eq(sluice_put(s, "small", "a//b", "x", 1, NULL, 0), -EINVAL);
	cr_assert_eq(sluice_put(s, "small", "dup", "x", 1, NULL, 0), 0);
	cr_assert_eq(sluice_put(s, "small", "dup", "y", 1, NULL, 0), -EEXIST);
}

Test(roundtrip, batched_ranges_read_back_exactly)
{
	size_t size = 7 * SMALL_SHARD + 5;
	uint8_t *in = malloc(size), *out = calloc(1, 40 * 8192);
	struct sluice_iov iov[40];
	sluice_reader *r = NULL;

	tc_fill(in, size, 11);
	cr_assert_eq(sluice_put(s, "small", "batched", in, size, NULL, 0), 0);
	cr_assert_eq(sluice_reader_open(s, "small", "batched", &r), 0);
	cr_assert_eq(sluice_reader_size(r), size);
	/* 40 ranges (more than one batch), across shard edges, some past the end. */
	for (int i = 0; i < 40; i++)
		iov[i] = (struct sluice_iov){ out + (size_t)i * 8192, 8192,
					      (uint64_t)i * (SMALL_SHARD / 5) + 3, 0 };
	iov[39].off = size - 100;
	cr_assert_eq(sluice_reader_preadv(r, iov, 40), 0, "%s", sluice_last_error(s));
	for (int i = 0; i < 40; i++) {
		size_t want = iov[i].off >= size ? 0
			      : iov[i].off + 8192 > size ? size - iov[i].off : 8192;

		cr_assert_eq(iov[i].got, want, "range %d", i);
		cr_assert(memcmp(iov[i].buf, in + iov[i].off, want) == 0, "range %d differs", i);
	}
	sluice_reader_close(r);
	free(in);
	free(out);
}
