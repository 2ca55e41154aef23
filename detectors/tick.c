/* The tick clock, see tick.h. */
#include "detectors/tick.h"

#include <math.h>

void tick_update(const struct tick_clock *k, double ts, double x, struct det_result *out)
{
	int64_t t;

	if (!isfinite(ts) || (*k->started && !(ts > *k->last_ts))) {
		if (*k->started)
			(*k->late)++;
		return;
	}
	if (!isfinite(x))
		x = NAN;
	if (*k->disabled) {
		*k->last_ts = ts;
		return;
	}
	if (!*k->started) {
		*k->started = 1;
		*k->last_ts = ts;
		if (*k->step > 0) {
			if (!(fabs(ts / *k->step) < TICK_MAX) || k->set_step(k->owner, *k->step) != 0) {
				*k->disabled = 1;
				return;
			}
			k->point(k->owner, llround(ts / *k->step), x, 1, out);
		} else {
			*k->first_ts = ts;
			*k->first_x = x;
		}
		return;
	}
	if (!(*k->step > 0)) {
		/* second point: learn the step, then feed the held first point */
		double st = ts - *k->first_ts;
		struct det_result ignored = {.score = NAN, .expected = NAN, .lower = NAN, .upper = NAN};
		if (!(fabs(ts / st) < TICK_MAX) || !(fabs(*k->first_ts / st) < TICK_MAX)) {
			*k->disabled = 1;
			*k->last_ts = ts;
			return;
		}
		*k->step = st;
		if (k->set_step(k->owner, st) != 0) {
			*k->disabled = 1;
			*k->last_ts = ts;
			return;
		}
		k->point(k->owner, llround(*k->first_ts / st), *k->first_x, 1, &ignored);
	}
	if (!(fabs(ts / *k->step) < TICK_MAX)) {
		(*k->late)++;
		return;
	}
	t = llround(ts / *k->step);
	if (t <= *k->last_tick) {
		(*k->late)++; /* same tick as the last point: a duplicate, not a new phase */
		return;
	}
	*k->last_ts = ts;
	k->point(k->owner, t, x, 0, out);
}

int tick_valid(const struct tick_clock *k, int fixed)
{
	int32_t started = *k->started, disabled = *k->disabled;
	double step = *k->step;

	return (started == 0 || started == 1) && (disabled == 0 || disabled == 1) && step >= 0 &&
	       isfinite(step) && (!started || isfinite(*k->last_ts)) && tick_in_range(*k->last_tick) &&
	       (!started || fixed || disabled || (isfinite(*k->first_ts) && !(step > 0)));
}
