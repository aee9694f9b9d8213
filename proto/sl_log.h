/*
 * Logging for every Sluice process. Messages go to stderr as one line each:
 * "<time> <level> <component>: <message>". A disabled level costs one compare.
 * The level lives in sl_log_ctx, the one process-wide setting, set at start-up
 * before threads exist.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <string.h>

enum sl_log_level { SL_LOG_ERROR = 0, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG };

struct sl_log_ctx {
	int level;
	const char *component;
};
extern struct sl_log_ctx sl_log_ctx;

void sl_log_init(const char *component, int level);
int sl_log_level_parse(const char *name);
void sl_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SL_LOG_AT(lvl, ...)                                                                        \
	do {                                                                                       \
		if ((lvl) <= sl_log_ctx.level)                                                     \
			sl_log_write((lvl), __VA_ARGS__);                                          \
	} while (0)
#define SL_ERR(...) SL_LOG_AT(SL_LOG_ERROR, __VA_ARGS__)
#define SL_WARN(...) SL_LOG_AT(SL_LOG_WARN, __VA_ARGS__)
#define SL_INFO(...) SL_LOG_AT(SL_LOG_INFO, __VA_ARGS__)
#define SL_DEBUG(...) SL_LOG_AT(SL_LOG_DEBUG, __VA_ARGS__)
/* An error line that names the negative errno rc. */
#define SL_ERR_RC(rc, fmt, ...) SL_ERR(fmt ": %s", ##__VA_ARGS__, strerror(-(rc)))

#endif
