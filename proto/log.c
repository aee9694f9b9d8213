/* Line-oriented logging to stderr; see sl_log.h. */
#include "sl_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

struct sl_log_ctx sl_log_ctx = { .level = SL_LOG_WARN, .component = "sluice" };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void sl_log_init(const char *component, int level)
{
	sl_log_ctx.component = component;
	sl_log_ctx.level = level;
}

int sl_log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

void sl_log_write(int level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s %s: ", tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], sl_log_ctx.component);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One stdio call per line: concurrent threads do not interleave inside it. */
	fprintf(stderr, "%s\n", line);
}
