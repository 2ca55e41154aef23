/* A progress line for long runs (`vigil replay`, `vigil detect`): on a
 * terminal, stderr shows one line rewritten in place at most every 0.25 s,
 *   vigil replay: 41%  2.1M lines  1.9M lines/s  ETA 6s
 * (no percentage or ETA when the total is unknown), cleared when the run
 * ends. When stderr is not a terminal nothing is printed, so logs and
 * scripts stay clean. Set VIGIL_PROGRESS=0 to turn it off, =1 to force it.
 * @thread the caller's; one progress line at a time. */
#ifndef CORE_PROGRESS_H
#define CORE_PROGRESS_H

#include <stdint.h>

struct progress {
	const char *what; /* "vigil replay" (borrowed) */
	const char *unit; /* "lines", "rows" (borrowed) */
	int on;
	int shown; /* a line is on the screen */
	double start, next;
};

void progress_start(struct progress *p, const char *what, const char *unit);
/* done items so far; done_bytes of total_bytes (total 0 = unknown). */
void progress_update(struct progress *p, uint64_t done, uint64_t done_bytes, uint64_t total_bytes);
/* Clear the line (if one is shown). */
void progress_end(struct progress *p);
/* For core/log.c: 1 if a progress line is on the screen (it is then taken
 * as cleared by the caller, who writes "\r\033[K" before its own line). */
int progress_take_line(void);

#endif
