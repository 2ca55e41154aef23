/* log_write and the complaint rate limiter declared in log.h. */
#include "core/log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core/clock.h"
#include "core/progress.h"

int log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_write(int level, const char *comp, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level < 0 || level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_ERR;
	/* RFC 3339 UTC with milliseconds: 2026-12-06T19:30:00.123Z */
	double now = clock_wall(), whole = floor(now);
	time_t secs = (time_t)whole;
	int ms = (int)((now - whole) * 1000.0);
	struct tm tm;
	char stamp[32] = "1970-01-01T00:00:00";
	if (gmtime_r(&secs, &tm))
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03dZ vigil %s [%s] ", stamp, ms > 999 ? 999 : ms,
		     level_names[level], comp ? comp : "-");
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* a progress line on the terminal (core/progress.h) is cleared first;
	 * it is drawn again at its next update */
	fprintf(stderr, "%s%s\n", progress_take_line() ? "\r\033[K" : "", line);
}

int complain_due(struct complain *c, double now, double interval, uint32_t burst)
{
	if (c->in_window == 0 || now - c->window_start >= interval || now < c->window_start) {
		c->window_start = now;
		c->in_window = 1;
		return 1;
	}
	if (c->in_window < burst) {
		c->in_window++;
		return 1;
	}
	c->suppressed++;
	return 0;
}
