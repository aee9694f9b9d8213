/* Clocks used across Sluice: wall time in ms (capabilities, audit) and a
 * monotonic ms clock for deadlines. */
#ifndef SL_TIME_H
#define SL_TIME_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t sl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t sl_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Sleeps ms milliseconds in steps of at most 100, returning early once *stop
 * is set: background threads that must notice a shutdown promptly.
 */
static inline void sl_sleep_unless(const volatile sig_atomic_t *stop, uint32_t ms)
{
	while (ms && !*stop) {
		uint32_t step = ms < 100 ? ms : 100;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

#endif
