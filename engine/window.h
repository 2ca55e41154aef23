/* The recent window of one (rule, series) for alert charts: a ring of the
 * newest points kept compactly inside the series' block, 16 bytes a point
 * plus a 16-byte header:
 *   time   uint32: (ts - base) in 1/100 s, 31 bits (248 days from base;
 *          rebased when a point falls outside), the top bit marks an anomaly
 *   value, expected   float32 (about 7 significant digits)
 *   expected - lower, upper - expected   bfloat16 (8 bits of precision: a
 *          band edge is off by at most 0.4 % of the band's half-width)
 * Precision is for drawing, never for decisions; values beyond float range
 * become +-inf and are drawn as gaps.
 * @thread as the engine that holds it (one thread). */
#ifndef ENGINE_WINDOW_H
#define ENGINE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "core/alert.h"

/* Bytes of a ring of cap points (0 for cap 0). cap <= ALERT_WINDOW_MAX. */
size_t window_bytes(uint32_t cap);
/* Make ring (window_bytes(cap) bytes, any content) empty. */
void window_init(void *ring, uint32_t cap);
/* Append one point (the oldest is dropped when full). */
void window_push(void *ring, uint32_t cap, double ts, double value, double expected, double lower,
		 double upper, int anomaly);
/* Hint the CPU to fetch the slot the next push writes (call before the
 * detector runs: the ring's point is a cache miss of its own). */
void window_prefetch(const void *ring, uint32_t cap);
/* The points, oldest first, into out[cap]. Returns the count. */
size_t window_read(const void *ring, uint32_t cap, struct alert_point *out);

#endif
