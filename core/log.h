/* One logging family for vigil: key=value lines on stderr, each starting
 * with an RFC 3339 UTC timestamp with milliseconds and a component prefix
 * ("2026-12-06T19:30:00.123Z vigil info [kafka] event=..."), printf-checked,
 * plus a rate limiter for repeated complaints.
 * @thread any; each line is written with one fprintf call. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdint.h>

enum log_level { LOG_LEVEL_ERR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

extern int log_level; /* lines above this level are skipped; default INFO */

void log_write(int level, const char *comp, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define LOG_ERR(comp, ...)                                                                                   \
	do {                                                                                                 \
		if (log_level >= LOG_LEVEL_ERR)                                                              \
			log_write(LOG_LEVEL_ERR, (comp), __VA_ARGS__);                                       \
	} while (0)
#define LOG_WARN(comp, ...)                                                                                  \
	do {                                                                                                 \
		if (log_level >= LOG_LEVEL_WARN)                                                             \
			log_write(LOG_LEVEL_WARN, (comp), __VA_ARGS__);                                      \
	} while (0)
#define LOG_INFO(comp, ...)                                                                                  \
	do {                                                                                                 \
		if (log_level >= LOG_LEVEL_INFO)                                                             \
			log_write(LOG_LEVEL_INFO, (comp), __VA_ARGS__);                                      \
	} while (0)
#define LOG_DBG(comp, ...)                                                                                   \
	do {                                                                                                 \
		if (log_level >= LOG_LEVEL_DEBUG)                                                            \
			log_write(LOG_LEVEL_DEBUG, (comp), __VA_ARGS__);                                     \
	} while (0)

/* Rate limiter for a recurring complaint: the first call is due, then at most
 * `burst` calls per `interval` seconds of the caller's clock are due; the rest
 * are counted in `suppressed` (the next due call can report and reset it). */
struct complain {
	double window_start;
	uint32_t in_window;
	uint64_t suppressed;
};

/* Returns 1 when the caller should log now, 0 when it should stay silent. */
int complain_due(struct complain *c, double now, double interval, uint32_t burst);

#endif
