/*
 * Unit tests of sluice-meta's replay cache (server/meta/replay.h): a
 * principal's nonces cannot be pushed out by anyone else's requests, a full
 * window refuses instead of forgetting, and requests signed before the
 * process started are refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "replay.h"
#include "reqsign.h"

#define T0 1750000000000ull

static void nonce_of(uint8_t nonce[16], uint32_t i, uint8_t who)
{
	memset(nonce, who, 16);
	memcpy(nonce, &i, sizeof(i));
}

/* Floods key_id with distinct nonces at time now until refused; returns how many passed. */
static uint32_t flood(struct sl_replay *rp, const char *key_id, uint8_t who, uint64_t now)
{
	uint8_t nonce[16];
	uint32_t i;
	int rc = 0;

	for (i = 0; i < (1u << 20); i++) {
		nonce_of(nonce, i, who);
		rc = sl_replay_check(rp, key_id, now, nonce, now);
		if (rc)
			break;
	}
	cr_assert_eq(rc, -EBUSY, "a flood was never refused (%d)", rc);
	return i;
}

Test(finding_04, another_principals_flood_cannot_evict_a_nonce)
{
	struct sl_replay *rp;
	uint8_t captured[16];

	cr_assert_eq(sl_replay_new(T0, &rp), 0);
	nonce_of(captured, 7, 0xa1);
	cr_assert_eq(sl_replay_check(rp, "SKvictim", T0 + 10, captured, T0 + 10), 0);
	flood(rp, "SKattacker", 0xb2, T0 + 20);
	cr_expect_eq(sl_replay_check(rp, "SKvictim", T0 + 10, captured, T0 + 30), -EALREADY,
		     "the captured request was accepted again after another key's flood");
	sl_replay_free(rp);
}

Test(finding_04, one_principals_flood_does_not_block_another)
{
	struct sl_replay *rp;
	uint8_t nonce[16];

	cr_assert_eq(sl_replay_new(T0, &rp), 0);
	flood(rp, "SKattacker", 0xb2, T0 + 20);
	nonce_of(nonce, 1, 0xa1);
	cr_expect_eq(sl_replay_check(rp, "SKvictim", T0 + 25, nonce, T0 + 25), 0,
		     "a flood by one principal refused another's request");
	sl_replay_free(rp);
}

Test(finding_04, a_full_window_refuses_rather_than_forgets)
{
	struct sl_replay *rp;
	uint8_t first[16];
	uint32_t passed;

	cr_assert_eq(sl_replay_new(T0, &rp), 0);
	passed = flood(rp, "SKbusy", 0xc3, T0 + 100);
	cr_expect_gt(passed, 1000u, "the window is too small for real traffic");
	nonce_of(first, 0, 0xc3);
	cr_expect_eq(sl_replay_check(rp, "SKbusy", T0 + 100, first, T0 + 100), -EALREADY);
	/* Later, the window may forget old nonces, but only behind a floor. */
	passed = flood(rp, "SKbusy", 0xd4, T0 + 100 + SL_REPLAY_MIN_AGE_MS + 1);
	cr_expect_gt(passed, 0u);
	cr_expect_eq(sl_replay_check(rp, "SKbusy", T0 + 100, first,
				     T0 + 100 + SL_REPLAY_MIN_AGE_MS + 2), -EALREADY,
		     "a forgotten nonce was accepted again");
	sl_replay_free(rp);
}

Test(finding_04, requests_signed_before_the_start_are_refused)
{
	struct sl_replay *rp;
	uint8_t nonce[16];

	cr_assert_eq(sl_replay_new(T0, &rp), 0);
	nonce_of(nonce, 3, 0xe5);
	cr_expect_eq(sl_replay_check(rp, "SKx", T0 - 1, nonce, T0 + 5), -EALREADY);
	cr_expect_eq(sl_replay_check(rp, "SKx", T0 + 1, nonce, T0 + 5), 0);
	sl_replay_free(rp);
}

Test(finding_04, nonces_expire_with_the_skew_window)
{
	struct sl_replay *rp;
	uint8_t nonce[16];
	uint64_t later = T0 + 10 + SL_REQ_SKEW_MS + 1;

	cr_assert_eq(sl_replay_new(T0, &rp), 0);
	nonce_of(nonce, 4, 0xf6);
	cr_assert_eq(sl_replay_check(rp, "SKx", T0 + 10, nonce, T0 + 10), 0);
	/* The same nonce with a fresh timestamp is another request (and auth
	 * refuses the old timestamp itself on the skew). */
	cr_expect_eq(sl_replay_check(rp, "SKx", later, nonce, later), 0);
	sl_replay_free(rp);
}
