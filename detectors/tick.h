/* The tick clock of the seasonal detectors (holtwinters, mad with a season):
 * turns a stream of (ts, x) into points on a regular grid of ticks
 * t = llround(ts / step), so that a phase is (t - origin) mod L whatever the
 * gaps. One implementation of the rules both detectors follow:
 *
 *  - a point whose ts is not finite, or (after the first point) not after
 *    the last accepted ts, is dropped: no output, late++ once started;
 *  - a non-finite x becomes NaN (a gap at that tick);
 *  - the step is the configured one (> 0) or, when 0, learned as the
 *    difference of the first two timestamps; until then the first point is
 *    held (first_ts, first_x) and fed at its tick just before the second;
 *  - when the step becomes known the clock stores it in *step and calls
 *    set_step(); a refusal (-1), or a first tick with |ts / step| >= TICK_MAX,
 *    disables the clock: from then on every point only moves last_ts (the
 *    detector has no opinion);
 *  - a later point with |ts / step| >= TICK_MAX, or whose tick is not after
 *    the last one (a duplicate of that tick), is dropped (late++);
 *  - otherwise last_ts = ts and point(t, x, first = 0) is called.
 * point() is called with first = 1 exactly once per start, for the first
 * point's tick; it must leave *last_tick = t (skipped ticks between two
 * calls are t - *last_tick - 1). out is the caller's result for the current
 * point; when the held first point is fed, point() gets a scratch result
 * that is thrown away.
 *
 * State: the clock has no memory of its own. Its fields live in the owning
 * detector's plain-data state, in that detector's saved layout, and struct
 * tick_clock points at them; the owner builds one per call. Errors: none
 * (update returns nothing; set_step's refusal is the only failure and
 * disables). Threads: like the owner's state, one thread at a time. */
#ifndef DETECTORS_TICK_H
#define DETECTORS_TICK_H

#include <stdint.h>

#include "detectors/detector.h"

#define TICK_MAX 4.0e15 /* |ts / step| beyond this cannot be a tick (llround range, precision) */

struct tick_clock {
	/* the clock's fields, in the owner's state */
	int32_t *started;  /* a point with a finite ts was accepted */
	int32_t *disabled; /* no opinion from now on */
	double *step;      /* seconds; 0 until known */
	double *first_ts;  /* the held first point (step not known yet) */
	double *first_x;
	double *last_ts;    /* newest accepted ts */
	int64_t *last_tick; /* tick of the newest point fed (written by point()) */
	uint64_t *late;     /* dropped points */
	/* the owner */
	void *owner;
	/* The step is fixed (already in *step): 0, or -1 when the model cannot
	 * use it (the clock then disables). */
	int (*set_step)(void *owner, double step);
	/* Feed x (NaN = gap) at tick t > *last_tick (any t when first). */
	void (*point)(void *owner, int64_t t, double x, int first, struct det_result *out);
};

/* A tick_clock over state s whose clock fields carry the names above
 * (started, disabled, step, first_ts, first_x, last_ts, last_tick, late). */
#define TICK_CLOCK_OF(s, own, set_step_fn, point_fn)                                                         \
	((struct tick_clock){.started = &(s)->started,                                                       \
			     .disabled = &(s)->disabled,                                                     \
			     .step = &(s)->step,                                                             \
			     .first_ts = &(s)->first_ts,                                                     \
			     .first_x = &(s)->first_x,                                                       \
			     .last_ts = &(s)->last_ts,                                                       \
			     .last_tick = &(s)->last_tick,                                                   \
			     .late = &(s)->late,                                                             \
			     .owner = (own),                                                                 \
			     .set_step = (set_step_fn),                                                      \
			     .point = (point_fn)})

/* One input point through the clock (see above). out is not reset here: the
 * caller fills it with NaN first. */
void tick_update(const struct tick_clock *k, double ts, double x, struct det_result *out);

/* 1 when the clock's fields are ones tick_update() can have left: started
 * and disabled 0 or 1, step finite and >= 0, last_ts finite once started,
 * last_tick within tick_in_range(), and a started, enabled clock without a
 * fixed step (fixed = the owner's model has its step) holds a first point
 * (finite first_ts, step 0). Reads only; for the owners' valid(). */
int tick_valid(const struct tick_clock *k, int fixed);

/* |t| <= TICK_MAX + 1: a tick a saved state can hold. */
static inline int tick_in_range(int64_t t)
{
	return t > -(int64_t)TICK_MAX - 2 && t < (int64_t)TICK_MAX + 2;
}

#endif
