/* Holt-Winters with Brutlag confidence bands (Graphite / RRDtool), see
 * ../shared/docs/detectors.md §2.
 *
 *   a_t = alpha (x_t - c_{t-L}) + (1 - alpha)(a_{t-1} + b_{t-1})     level
 *   b_t = beta (a_t - a_{t-1}) + (1 - beta) b_{t-1}                  slope
 *   c_t = gamma (x_t - a_t) + (1 - gamma) c_{t-L}                    seasonal
 *   d_t = gamma |x_t - yhat_t| + (1 - gamma) d_{t-L}                 deviation
 *   yhat_t = a_{t-1} + b_{t-1} + c_{t-L}
 *
 * Band: yhat_t -/+ delta * d_{t-L}, the band known before x_t arrived (with
 * graphite_compat = true: delta * d_t, Graphite's form, which contains the
 * point's own error; only meant for reproducing Graphite's numbers). The first
 * point sets a = x, b = 0, yhat = x; c and d start at 0 (Graphite).
 * Score: 1 when x is outside the band; inside, 0.5 * |x - yhat| / (delta d),
 * in [0, 0.5]. NaN for the first 2 seasons (the first season's bands are too
 * narrow), on gaps and on ignored points.
 *
 * Time: L = round(season / step) slots (at least 2). The step is the `step`
 * parameter or, when that is 0, learned from the first two timestamps (the
 * first point is held until then). A point's tick is llround(ts / step) and
 * its phase tick mod L, so gaps cannot shift the season. A point whose tick is
 * not newer than the last point's is ignored (out of order or duplicate).
 *
 * Gaps (NaN input or skipped ticks): that phase's c and d are left alone, the
 * level is carried on with a + b per missing tick. After a gap of L ticks or
 * more, the next finite point re-anchors the level (a = x - c, b = 0) and is
 * not scored; the seasonal profile survives. (Graphite instead zeroes c and d
 * and predicts 0 after a gap; not reproduced even in graphite_compat.)
 *
 * State: header + rings c[cap], d[cap] (plain data, no pointers). cap = L when
 * `step` is configured, else `max_season_points` (default 1440 = 23 KB); cap is
 * limited to 10080. If a learned step gives L > cap the detector has no
 * opinion (everything NaN); configure `step` or `max_season_points`.
 * Not done: automatic season detection (`season` must be given; default 1d). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detectors/detector.h"

#define HW_MAX_SLOTS 10080
#define HW_MAX_TICKS 4.0e15

struct hw_cfg {
	double alpha, beta, gamma, delta;
	double season; /* seconds */
	double step;   /* seconds; 0 = learn */
	int max_season_points;
	int graphite_compat;
	int cap; /* derived: ring slots */
};

struct hw_state {
	int32_t cap;     /* ring slots (checked on load) */
	int32_t L;       /* season length in ticks; 0 until the step is known */
	int32_t started; /* a point with a valid ts was accepted */
	int32_t have_level;
	int32_t disabled; /* learned L does not fit: no opinion */
	int32_t pad;
	double step;
	double first_ts, first_x; /* held first point while the step is unknown */
	double last_ts;
	int64_t last_tick, first_tick;
	int64_t gap_run; /* consecutive missing ticks since the last finite point */
	uint64_t late;
	double a, b;
	double ring[]; /* c[cap] then d[cap] */
};

static const struct param_spec hw_params[] = {
	{.name = "alpha",
	 .kind = PARAM_DOUBLE,
	 .def = "0.1",
	 .offset = offsetof(struct hw_cfg, alpha),
	 .help = "level smoothing",
	 .min = 0,
	 .max = 1},
	{.name = "beta",
	 .kind = PARAM_DOUBLE,
	 .def = "0.0035",
	 .offset = offsetof(struct hw_cfg, beta),
	 .help = "slope smoothing",
	 .min = 0,
	 .max = 1},
	{.name = "gamma",
	 .kind = PARAM_DOUBLE,
	 .def = "0.1",
	 .offset = offsetof(struct hw_cfg, gamma),
	 .help = "seasonal and deviation smoothing",
	 .min = 0,
	 .max = 1},
	{.name = "delta",
	 .kind = PARAM_DOUBLE,
	 .def = "3",
	 .offset = offsetof(struct hw_cfg, delta),
	 .help = "band width in seasonal deviations (RRDtool uses 2)",
	 .min = 0,
	 .max = 1e6},
	{.name = "season",
	 .kind = PARAM_DURATION,
	 .def = "1d",
	 .offset = offsetof(struct hw_cfg, season),
	 .help = "season length (no automatic detection)",
	 .min = 0,
	 .max = 1e10},
	{.name = "step",
	 .kind = PARAM_DURATION,
	 .def = "0",
	 .offset = offsetof(struct hw_cfg, step),
	 .help = "series step; 0 = learn it from the first two timestamps",
	 .min = 0,
	 .max = 1e9},
	{.name = "max_season_points",
	 .kind = PARAM_INT,
	 .def = "1440",
	 .offset = offsetof(struct hw_cfg, max_season_points),
	 .help = "ring size when step is learned (season/step must fit; 16 bytes per slot)",
	 .min = 2,
	 .max = HW_MAX_SLOTS},
	{.name = "graphite_compat",
	 .kind = PARAM_BOOL,
	 .def = "false",
	 .offset = offsetof(struct hw_cfg, graphite_compat),
	 .help = "band from d_t (Graphite's numbers) instead of d_{t-L} (can swallow its own outlier)"},
	{.name = NULL},
};

static int hw_config_check(void *vcfg, char *err, size_t errlen)
{
	struct hw_cfg *c = vcfg;

	if (!(c->season > 0)) {
		snprintf(err, errlen, "parameter 'season': must be > 0");
		return -VIGIL_EINVAL;
	}
	if (c->step > 0) {
		double L = round(c->season / c->step);
		if (L > HW_MAX_SLOTS) {
			snprintf(err, errlen, "season/step = %.0f slots exceeds the cap of %d", L,
				 HW_MAX_SLOTS);
			return -VIGIL_EINVAL;
		}
		c->cap = L < 2 ? 2 : (int)L;
	} else {
		c->cap = c->max_season_points;
	}
	return 0;
}

static size_t hw_state_size(const void *cfg)
{
	const struct hw_cfg *c = cfg;
	return sizeof(struct hw_state) + 2 * (size_t)c->cap * sizeof(double);
}

static int hw_init(const void *cfg, void *state)
{
	const struct hw_cfg *c = cfg;
	struct hw_state *s = state;
	memset(s, 0, hw_state_size(cfg));
	s->cap = c->cap;
	s->step = c->step;
	return 0;
}

static int64_t floor_mod(int64_t a, int64_t m)
{
	int64_t r = a % m;
	return r < 0 ? r + m : r;
}

/* Fix the step and L; 0, or -1 when the season does not fit. */
static int set_step(const struct hw_cfg *c, struct hw_state *s, double step)
{
	double L = round(c->season / step);
	s->step = step;
	if (L < 2)
		L = 2;
	if (L > s->cap) {
		s->disabled = 1;
		return -1;
	}
	s->L = (int32_t)L;
	return 0;
}

/* Feed x at tick t (> last tick, or the first tick). */
static void hw_point(const struct hw_cfg *c, struct hw_state *s, int64_t t, double x, struct det_result *out)
{
	double *cs = s->ring, *ds = s->ring + s->cap;
	int64_t ph = floor_mod(t, s->L);
	double yhat, half, c_old, d_old, a_new, e;

	out->score = out->expected = out->lower = out->upper = NAN;
	if (!s->have_level) {
		if (isfinite(x)) {
			s->have_level = 1;
			s->a = x;
			s->b = 0;
			s->first_tick = t;
			/* Graphite's i = 0: yhat = x, c_t = gamma*0 + (1-gamma)c_old, d likewise */
			cs[ph] = (1 - c->gamma) * cs[ph];
			ds[ph] = (1 - c->gamma) * ds[ph];
			s->gap_run = 0;
		}
		s->last_tick = t;
		return;
	}
	if (t - s->last_tick - 1 > 0) {
		int64_t k = t - s->last_tick - 1;
		s->a += (double)k * s->b;
		s->gap_run += k;
	}
	s->last_tick = t;
	c_old = cs[ph];
	d_old = ds[ph];
	yhat = s->a + s->b + c_old;
	half = c->delta * d_old;
	out->expected = yhat;
	out->lower = yhat - half;
	out->upper = yhat + half;
	if (!isfinite(x)) {
		s->gap_run++;
		s->a += s->b;
		return;
	}
	if (s->gap_run >= s->L) {
		/* long gap: re-anchor the level on the seasonal profile */
		s->a = x - c_old;
		s->b = 0;
		s->gap_run = 0;
		return;
	}
	s->gap_run = 0;
	e = x - yhat;
	a_new = c->alpha * (x - c_old) + (1 - c->alpha) * (s->a + s->b);
	s->b = c->beta * (a_new - s->a) + (1 - c->beta) * s->b;
	s->a = a_new;
	cs[ph] = c->gamma * (x - a_new) + (1 - c->gamma) * c_old;
	ds[ph] = c->gamma * fabs(e) + (1 - c->gamma) * d_old;
	if (c->graphite_compat) {
		half = c->delta * ds[ph];
		out->lower = yhat - half;
		out->upper = yhat + half;
	}
	if (t - s->first_tick >= 2 * (int64_t)s->L) {
		if (fabs(e) > half)
			out->score = 1.0;
		else if (half > 0)
			out->score = 0.5 * fabs(e) / half;
		else
			out->score = 0.0;
	}
	if (!isfinite(s->a) || !isfinite(s->b) || !isfinite(cs[ph]) || !isfinite(ds[ph])) {
		/* overflow on absurd input: start over rather than carry NaN/inf */
		int32_t cap = s->cap, L = s->L;
		double step = s->step, last_ts = s->last_ts;
		uint64_t late = s->late;
		memset(s, 0, sizeof *s + 2 * (size_t)cap * sizeof(double));
		s->cap = cap;
		s->L = L;
		s->step = step;
		s->started = 1;
		s->last_ts = last_ts;
		s->last_tick = t;
		s->late = late;
	}
}

static int hw_update(const void *cfg, void *state, double ts, double x, struct det_result *out)
{
	const struct hw_cfg *c = cfg;
	struct hw_state *s = state;
	int64_t t;

	out->score = out->expected = out->lower = out->upper = NAN;
	if (!isfinite(ts) || (s->started && !(ts > s->last_ts))) {
		if (s->started)
			s->late++;
		return 0;
	}
	if (!isfinite(x))
		x = NAN;
	if (s->disabled) {
		s->last_ts = ts;
		return 0;
	}
	if (!s->started) {
		s->started = 1;
		s->last_ts = ts;
		if (s->step > 0) {
			if (fabs(ts / s->step) >= HW_MAX_TICKS || set_step(c, s, s->step) != 0) {
				s->disabled = 1;
				return 0;
			}
			hw_point(c, s, llround(ts / s->step), x, out);
		} else {
			s->first_ts = ts;
			s->first_x = x;
		}
		return 0;
	}
	if (s->L == 0) {
		/* second point: learn the step, then replay the held first point */
		double st = ts - s->first_ts;
		struct det_result ignored;
		if (fabs(ts / st) >= HW_MAX_TICKS || fabs(s->first_ts / st) >= HW_MAX_TICKS ||
		    set_step(c, s, st) != 0) {
			s->disabled = 1;
			s->last_ts = ts;
			return 0;
		}
		hw_point(c, s, llround(s->first_ts / st), s->first_x, &ignored);
		s->last_tick = llround(s->first_ts / st);
	}
	if (fabs(ts / s->step) >= HW_MAX_TICKS) {
		s->late++;
		return 0;
	}
	t = llround(ts / s->step);
	if (t <= s->last_tick) {
		/* same tick as the last point: a duplicate, not a new phase */
		s->late++;
		return 0;
	}
	s->last_ts = ts;
	hw_point(c, s, t, x, out);
	return 0;
}

static int hw_save(const void *cfg, const void *state, struct buf *out)
{
	buf_put(out, state, hw_state_size(cfg));
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

static int hw_load(const void *cfg, void *state, const uint8_t *data, size_t len)
{
	const struct hw_cfg *c = cfg;
	struct hw_state *s = state;
	int ok;

	if (len != hw_state_size(cfg))
		return -VIGIL_EINVAL;
	memcpy(state, data, len);
	ok = s->cap == c->cap && s->L >= 0 && s->L <= s->cap && s->L != 1 &&
	     (s->started == 0 || s->started == 1) && (s->have_level == 0 || s->have_level == 1) &&
	     (s->disabled == 0 || s->disabled == 1) && s->step >= 0 && isfinite(s->step) && isfinite(s->a) &&
	     isfinite(s->b) && s->gap_run >= 0 && (!s->started || isfinite(s->last_ts)) &&
	     (s->L > 0 || !s->have_level) && (s->L == 0 || s->step > 0);
	for (int32_t i = 0; ok && i < 2 * s->cap; i++)
		ok = isfinite(s->ring[i]) && (i < s->cap || s->ring[i] >= 0);
	if (!ok) {
		hw_init(cfg, state);
		return -VIGIL_EINVAL;
	}
	return 0;
}

const struct detector_type det_holtwinters = {
	.name = "holtwinters",
	.summary = "Holt-Winters with Brutlag seasonal deviation bands (seasonal breaks)",
	.state_version = 1,
	.params = hw_params,
	.config_size = sizeof(struct hw_cfg),
	.default_threshold = 1.0,
	.config_check = hw_config_check,
	.state_size = hw_state_size,
	.init = hw_init,
	.update = hw_update,
	.save = hw_save,
	.load = hw_load,
};
