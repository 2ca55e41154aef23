/* log_write and the complaint rate limiter declared in log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

int log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_write(int level, const char *comp, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level < 0 || level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_ERR;
	n = snprintf(line, sizeof line, "vigil %s [%s] ", level_names[level], comp ? comp : "-");
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
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
