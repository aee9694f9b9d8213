/*
 * Dates on the command line: an instant in UTC or an age. Strict, so that a
 * typo is an error rather than a silently different window.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* At most this far back: an age beyond it is a typo. */
#define CLI_AGE_MAX_S (100ull * 366 * 86400)

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* An age: digits and one of s, m, h, d. */
static int parse_age(const char *s, uint64_t now_ms, uint64_t *ms)
{
	static const struct { char unit; uint64_t s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	size_t n = strspn(s, "0123456789");
	uint64_t v = 0;

	if (n == 0 || n > 12 || strlen(s) != n + 1)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[n] != units[i].unit)
			continue;
		if (v > CLI_AGE_MAX_S / units[i].s || v * units[i].s * 1000 > now_ms)
			return -ERANGE;
		*ms = now_ms - v * units[i].s * 1000;
		return 0;
	}
	return -EINVAL;
}

int cli_parse_instant(const char *s, uint64_t *ms)
{
	struct tm tm = { 0 }, back;
	size_t len = strlen(s);
	time_t t;

	/* YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ */
	if (len != 10 && len != 20)
		return -EINVAL;
	if (s[4] != '-' || s[7] != '-')
		return -EINVAL;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	if (len == 20) {
		if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
			return -EINVAL;
		tm.tm_hour = digits(s + 11, 2);
		tm.tm_min = digits(s + 14, 2);
		tm.tm_sec = digits(s + 17, 2);
	}
	if (tm.tm_year < -1900 || tm.tm_mon < -1 || tm.tm_mday < 0 || tm.tm_hour < 0 ||
	    tm.tm_min < 0 || tm.tm_sec < 0)
		return -EINVAL; /* not digits */
	if (tm.tm_year < 70 || tm.tm_mon > 11 || tm.tm_mon < 0 || tm.tm_mday < 1 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -EDOM;
	back = tm;
	t = timegm(&tm);
	/* timegm normalizes 2026-02-30 to March: a date that moved did not exist. */
	if (t == (time_t)-1 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec)
		return -ENOENT;
	*ms = (uint64_t)t * 1000;
	return 0;
}

int cli_parse_date(const char *s, uint64_t now_ms, uint64_t *ms)
{
	size_t len = strlen(s);

	if (len && strchr("smhd", s[len - 1]))
		return parse_age(s, now_ms, ms);
	return cli_parse_instant(s, ms) ? -EINVAL : 0;
}
