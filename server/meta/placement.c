/* Rendezvous hashing; see placement.h. */
#include "placement.h"

/* splitmix64's finalizer: a cheap, well-mixed 64-bit hash. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t score(uint64_t object_id, uint32_t shard, uint32_t server)
{
	return mix64(mix64(object_id ^ mix64(shard)) ^ ((uint64_t)server << 1 | 1));
}

size_t sl_place(const uint32_t *ids, size_t n, uint64_t object_id, uint32_t shard, uint32_t r,
		uint32_t *out)
{
	uint64_t best[SL_PLACE_MAX];
	size_t k = 0;

	if (r > SL_PLACE_MAX)
		r = SL_PLACE_MAX;
	/* Insertion into a top-r list: r is small (replicas). */
	for (size_t i = 0; i < n; i++) {
		uint64_t s = score(object_id, shard, ids[i]);
		size_t pos = k;

		while (pos > 0 && (best[pos - 1] < s || (best[pos - 1] == s && out[pos - 1] > ids[i])))
			pos--;
		if (pos >= r)
			continue;
		for (size_t j = (k < r ? k : r - 1); j > pos; j--) {
			best[j] = best[j - 1];
			out[j] = out[j - 1];
		}
		best[pos] = s;
		out[pos] = ids[i];
		if (k < r)
			k++;
	}
	return k;
}
