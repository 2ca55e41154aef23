/* Sampled detector update time for /metrics (vigil_detector_update_seconds).
 * Timing every update would cost two clock reads per point, a few percent
 * at millions of points per second; one update in ENGINE_TIME_EVERY is
 * timed instead (the first of each run of ENGINE_TIME_EVERY, a power of
 * two), which gives the mean cost per update per detector type.
 * Timed on the real monotonic clock (core/clock.h), which a test's fake
 * clock does not freeze. @thread the engine's thread. */
#include "core/clock.h"
#include "engine/engine_int.h"

int eng_det_update(struct engine *e, const struct rule *r, void *state, const struct point *p,
		   struct det_result *res)
{
	const struct detector_type *t = r->det.type;
	if ((e->upd_tick++ & (ENGINE_TIME_EVERY - 1)) != 0) /* the first update is timed */
		return t->update(r->det.cfg, state, p->ts, p->value, res);
	double t0 = clock_mono_real();
	int rc = t->update(r->det.cfg, state, p->ts, p->value, res);
	timing_note(e->st.det_time, t->name, clock_mono_real() - t0);
	return rc;
}
