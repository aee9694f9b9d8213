/*
 * The replay cache; see replay.h. A fixed table of principal windows (open
 * addressing over a keyed hash of the key id, a bounded probe), each an
 * open-addressed set of nonces that grows by doubling up to a cap, within a
 * budget for the whole cache. Dead entries are dropped when a window is
 * rebuilt, which happens only when it fills.
 */
#include "replay.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "reqsign.h"

#define SL_REPLAY_PRINCIPALS 4096u   /* principals active within 2 x skew */
#define SL_REPLAY_PROBE 64u
#define SL_REPLAY_FIRST_CAP 64u
#define SL_REPLAY_WINDOW_MAX (1u << 18) /* slots of one principal: 6 MiB */
#define SL_REPLAY_BUDGET (1u << 22)     /* slots past the first of each window: 96 MiB */

struct nonce_slot {
	uint8_t nonce[16];
	uint64_t ts_ms; /* 0: empty */
};

struct window {
	uint64_t tag;     /* keyed hash of the key id; 0 with key_id[0] == 0: free */
	char key_id[65];
	uint64_t floor_ms; /* requests signed at or before this are refused */
	uint64_t last_ms;  /* the latest timestamp recorded */
	uint32_t cap, n;   /* slots, of which n hold a nonce */
	struct nonce_slot *slots;
};

struct sl_replay {
	pthread_mutex_t lock;
	uint8_t key[SL_KEY_LEN]; /* per process: slot positions cannot be predicted */
	uint64_t not_before_ms;
	uint64_t budget_used;
	struct window w[SL_REPLAY_PRINCIPALS];
};

static uint64_t keyed_hash(const struct sl_replay *rp, char domain, const void *a, size_t alen,
			   const void *b, size_t blen)
{
	struct iovec iov[3] = { { &domain, 1 }, { (void *)a, alen }, { (void *)b, blen } };
	uint8_t mac[SL_MAC_LEN];
	uint64_t h;

	sl_hmac_sha256(rp->key, sizeof(rp->key), iov, 3, mac);
	memcpy(&h, mac, 8);
	return h | 1; /* never 0, which marks a free window */
}

int sl_replay_new(uint64_t not_before_ms, struct sl_replay **out)
{
	struct sl_replay *rp = calloc(1, sizeof(*rp));
	int rc;

	*out = NULL;
	if (!rp)
		return -ENOMEM;
	rc = sl_random_bytes(rp->key, sizeof(rp->key));
	if (rc) {
		free(rp);
		return rc;
	}
	pthread_mutex_init(&rp->lock, NULL);
	rp->not_before_ms = not_before_ms;
	*out = rp;
	return 0;
}

void sl_replay_free(struct sl_replay *rp)
{
	if (!rp)
		return;
	for (unsigned i = 0; i < SL_REPLAY_PRINCIPALS; i++)
		free(rp->w[i].slots);
	pthread_mutex_destroy(&rp->lock);
	free(rp);
}

/* A nonce stays needed while its request could still pass the skew check. */
static int slot_live(const struct window *w, const struct nonce_slot *s, uint64_t now)
{
	return s->ts_ms && s->ts_ms > w->floor_ms && s->ts_ms + SL_REQ_SKEW_MS >= now;
}

static void window_release(struct sl_replay *rp, struct window *w)
{
	rp->budget_used -= w->cap;
	free(w->slots);
	memset(w, 0, sizeof(*w));
}

/* Rehashes w's live nonces into cap slots; -ENOMEM leaves w as it was. */
static int window_rebuild(struct sl_replay *rp, struct window *w, uint32_t cap, uint64_t now)
{
	struct nonce_slot *slots = calloc(cap, sizeof(*slots));
	uint32_t n = 0;

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < w->cap; i++) {
		const struct nonce_slot *s = &w->slots[i];
		uint64_t h;

		if (!slot_live(w, s, now))
			continue;
		h = keyed_hash(rp, 'n', w->key_id, strlen(w->key_id), s->nonce, 16);
		while (slots[h & (cap - 1)].ts_ms)
			h++;
		slots[h & (cap - 1)] = *s;
		n++;
	}
	rp->budget_used += cap;
	rp->budget_used -= w->cap;
	free(w->slots);
	w->slots = slots;
	w->cap = cap;
	w->n = n;
	return 0;
}

/* The window of key_id, claiming a free or expired one; NULL when none is. */
static struct window *window_find(struct sl_replay *rp, const char *key_id, uint64_t now)
{
	uint64_t tag = keyed_hash(rp, 'k', key_id, strlen(key_id), "", 0);
	struct window *spare = NULL;

	for (unsigned i = 0; i < SL_REPLAY_PROBE; i++) {
		struct window *w = &rp->w[(tag + i) & (SL_REPLAY_PRINCIPALS - 1)];

		if (w->tag == tag && strcmp(w->key_id, key_id) == 0)
			return w;
		/* Every nonce of a window idle this long has left the skew. */
		if (w->tag && w->last_ms + 2 * SL_REQ_SKEW_MS < now)
			window_release(rp, w);
		if (!w->tag && !spare)
			spare = w;
	}
	if (spare) {
		spare->tag = tag;
		snprintf(spare->key_id, sizeof(spare->key_id), "%s", key_id);
	}
	return spare;
}

/* Releases every window but keep idle past the skew, to give its slots back. */
static void windows_reclaim(struct sl_replay *rp, const struct window *keep, uint64_t now)
{
	for (unsigned i = 0; i < SL_REPLAY_PRINCIPALS; i++)
		if (&rp->w[i] != keep && rp->w[i].tag && rp->w[i].last_ms + 2 * SL_REQ_SKEW_MS < now)
			window_release(rp, &rp->w[i]);
}

/* Whether w may grow by `more` slots: its first ones always (the table of
 * windows bounds those), more within the cache's budget. */
static int may_grow(struct sl_replay *rp, const struct window *w, uint64_t more, uint64_t now)
{
	if (!w->cap)
		return 1;
	if (w->cap >= SL_REPLAY_WINDOW_MAX)
		return 0;
	if (rp->budget_used + more > SL_REPLAY_BUDGET)
		windows_reclaim(rp, w, now);
	return rp->budget_used + more <= SL_REPLAY_BUDGET;
}

/* Makes room for one more nonce in w: 0, or -EBUSY when it may not. */
static int window_make_room(struct sl_replay *rp, struct window *w, uint64_t now)
{
	uint64_t floor;

	if (w->cap && (w->n + 1) * 2 <= w->cap)
		return 0;
	if (w->cap && window_rebuild(rp, w, w->cap, now) == 0 && (w->n + 1) * 2 <= w->cap)
		return 0;
	if (may_grow(rp, w, w->cap ? w->cap : SL_REPLAY_FIRST_CAP, now) &&
	    window_rebuild(rp, w, w->cap ? 2 * w->cap : SL_REPLAY_FIRST_CAP, now) == 0)
		return 0;
	/* Forget the oldest nonces, and refuse from now on what they could replay. */
	floor = now - SL_REPLAY_MIN_AGE_MS;
	if (w->cap && floor > w->floor_ms) {
		w->floor_ms = floor;
		if (window_rebuild(rp, w, w->cap, now) == 0 && (w->n + 1) * 2 <= w->cap)
			return 0;
	}
	return -EBUSY;
}

int sl_replay_check(struct sl_replay *rp, const char *key_id, uint64_t ts_ms,
		    const uint8_t nonce[16], uint64_t now_ms)
{
	struct window *w;
	uint64_t h;
	int rc = -EALREADY;

	if (ts_ms < rp->not_before_ms || ts_ms == 0 || strlen(key_id) > 64)
		return -EALREADY;
	pthread_mutex_lock(&rp->lock);
	w = window_find(rp, key_id, now_ms);
	if (!w) {
		rc = -EBUSY;
		goto out;
	}
	if (ts_ms <= w->floor_ms)
		goto out;
	h = keyed_hash(rp, 'n', key_id, strlen(key_id), nonce, 16);
	for (uint32_t i = 0; w->cap && i < w->cap; i++) {
		const struct nonce_slot *s = &w->slots[(h + i) & (w->cap - 1)];

		if (!s->ts_ms)
			break;
		if (memcmp(s->nonce, nonce, 16) == 0 && slot_live(w, s, now_ms))
			goto out;
	}
	rc = window_make_room(rp, w, now_ms);
	if (rc)
		goto out;
	while (w->slots[h & (w->cap - 1)].ts_ms)
		h++;
	memcpy(w->slots[h & (w->cap - 1)].nonce, nonce, 16);
	w->slots[h & (w->cap - 1)].ts_ms = ts_ms;
	w->n++;
	if (ts_ms > w->last_ms)
		w->last_ms = ts_ms;
	if (now_ms > w->last_ms)
		w->last_ms = now_ms;
out:
	pthread_mutex_unlock(&rp->lock);
	return rc;
}
