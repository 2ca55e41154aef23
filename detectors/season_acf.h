/* Season length of a buffered series by autocorrelation (holtwinters' auto
 * season, ../shared/docs/detectors.md §2).
 *
 * season_detect(y, n, lmax, step, scratch) returns the season L in ticks of
 * the series y[0 .. n) (one value per tick, NaN = missing), 2 <= L <= lmax,
 * or 1 when there is none (also when lmax < 2, with fewer than
 * SEASON_MIN_PRESENT present values, or a constant series).
 *
 * Method: the series is detrended (least-squares line over the present
 * points, residuals clipped at 6 mean |residual|) and its autocorrelation
 * r(l) (Pearson over the pairs where both points are present; 0 with fewer
 * than 8 pairs) is computed at: one hour, one day and one week in steps
 * (when they lie in [2, lmax] and are within 1 % of a whole number of
 * steps), at the 3 highest local maxima of an ACF of the series averaged in
 * blocks of m = ceil(lmax / 240) ticks, each refined at full resolution
 * within +/- m lags, and (m > 1) at the best local maximum of lags 2 .. 2m +
 * 1 at full resolution (short periods vanish in block means). A lag l is
 * significant when r(l) >= 0.3 and r(l) - min(r(floor(l/2)), r(ceil(l/2)))
 * >= 0.3 (a peak, not the slow decay of a trend or random walk; this also
 * rejects multiples of the true period). L = the smallest significant lag
 * whose r is within 0.05 of the best one, snapped to one hour/day/week when
 * within 2 % of it (and that lag is significant too).
 *
 * Cost: O(n * 240 + 30 n) once; nothing allocated (a few KB of stack).
 * Contract: lmax <= SEASON_MAX_LAG and lmax <= n / 2 is expected (the
 * caller buffers 2 lmax ticks); step > 0 in seconds (only used to place the
 * hour/day/week lags). scratch: at least lmax doubles, overwritten. y is
 * read only. Pure function: no state, safe from any thread. */
#ifndef DETECTORS_SEASON_ACF_H
#define DETECTORS_SEASON_ACF_H

#include <stdint.h>

#define SEASON_MAX_LAG     10080 /* largest lmax handled (one week of minutes) */
#define SEASON_MIN_PRESENT 16    /* fewer present values: no season */

int32_t season_detect(const double *y, int32_t n, int32_t lmax, double step, double *scratch);

#endif
