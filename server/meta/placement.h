/*
 * Shard placement by rendezvous (highest-random-weight) hashing: each
 * (object, shard, server) triple gets a pseudo-random score and a shard lives
 * on the r servers with the highest scores. Adding or losing a server moves
 * only the shards whose top-r set it enters or leaves.
 */
#ifndef SL_PLACEMENT_H
#define SL_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#define SL_PLACE_MAX 16 /* replicas per shard; sluice-meta refuses more */

/*
 * Picks min(r, n, SL_PLACE_MAX) of the n server ids for (object_id, shard), best first,
 * into out. Returns the number picked. Deterministic for the same inputs,
 * whatever the order of ids.
 */
size_t sl_place(const uint32_t *ids, size_t n, uint64_t object_id, uint32_t shard, uint32_t r,
		uint32_t *out);

#endif
