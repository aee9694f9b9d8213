/*
 * The replay cache of sluice-meta: which signed requests were already served.
 *
 * Each principal (key id) has its own window of the nonces it used, so one
 * principal's traffic can never push another's nonces out. Slots, for
 * principals and for nonces, are chosen by a keyed hash under a per-process
 * random key, so a caller cannot aim its requests at anyone's slots.
 *
 * Nothing replayable is ever forgotten. A nonce is kept until its request's
 * timestamp leaves the accepted skew. When a principal's window is full it
 * may forget nonces only by raising its floor: every request of that
 * principal at or below the floor is refused from then on, and the floor
 * never comes closer to now than SL_REPLAY_MIN_AGE_MS. Past that the
 * request is refused (-EBUSY, "too many requests"), not admitted.
 *
 * Across restarts nothing is persisted: the cache starts with a floor for
 * everyone at the process's start time, so a request signed before the
 * restart (whose nonce the new process never saw) is refused after it.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef SL_REPLAY_H
#define SL_REPLAY_H

#include <stdint.h>

/* A principal's window may forget nonces younger than this only by refusing. */
#define SL_REPLAY_MIN_AGE_MS 5000u

struct sl_replay;

/* A cache refusing every request signed before not_before_ms. 0 or -ENOMEM. */
int sl_replay_new(uint64_t not_before_ms, struct sl_replay **out);
void sl_replay_free(struct sl_replay *rp);

/*
 * Records that key_id used nonce in a request signed at ts_ms (already
 * checked to be within SL_REQ_SKEW_MS of now_ms and correctly signed).
 * Returns 0 when the request is new, -EALREADY when it was seen or is older
 * than what the cache still remembers, -EBUSY when the principal (or the
 * cache as a whole) holds as many live nonces as it may.
 */
int sl_replay_check(struct sl_replay *rp, const char *key_id, uint64_t ts_ms,
		    const uint8_t nonce[16], uint64_t now_ms);

#endif
