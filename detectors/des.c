/* Atlas DES and sliding DES (SDES) with the "epic signal" band, see
 * ../shared/docs/detectors.md §1. Two detector types share this file:
 *
 *   des   one double-exponential smoother; prediction p = s_{n-1}
 *   sdes  two smoothers that see every point; the active one is reset and the
 *         roles swap every `training` ticks, so p rests on training..2*training
 *         recent points.
 *
 * Time: the series' step comes from the `step` parameter or, when that is 0,
 * from the first two timestamps (ts2 - ts1; it is not re-learned later). A
 * point's tick is llround(ts / step). Ticks skipped between two points count
 * as missing points (like NaN inputs). SDES swaps roles when the tick crosses a
 * multiple of `training` (block = floor(tick / training)), which is Atlas's
 * alignment to multiples of step*training, expressed in time: two instances
 * that started at different times agree once both have seen two whole blocks.
 * Unlike Atlas, the partial first block is fed (not skipped); its smoother is
 * reset at the first boundary anyway.
 *
 * Gaps: NaN input leaves the smoothers unchanged and counts as missing; after
 * `training` consecutive missing ticks a smoother restarts from scratch.
 * A point whose ts is not newer than the last point's is ignored (score NaN,
 * state unchanged apart from a counter). A point with a newer ts that rounds to
 * the same tick is taken as the next point without a gap.
 *
 * Band (Atlas des-epic-signal): fires when
 *   (x < p - noise AND x < p(1 - min_percent)) OR (x > p + noise AND x > p(1 + max_percent))
 * i.e. x < lower = min(p - noise, p(1 - min_percent)) or
 *      x > upper = max(p + noise, p(1 + max_percent)).
 * A percent of NaN disables that side (its bound is reported as NaN).
 * Score: 1 outside the band; inside, 0.5 * |x - p| / (distance from p to the
 * bound on x's side), in [0, 0.5]; NaN while the prediction is NaN or x is a gap.
 *
 * Robust feeding (`robust`, default on; off = Atlas's equations exactly): a
 * point outside the band is fed to the smoothers clipped to the band's edge,
 * so a spike does not drag the level and trend (and the points after it do
 * not fire against an undershooting forecast). After `training` consecutive
 * points outside the band the series is taken to have moved: points are fed
 * as they are until one falls inside the band again.
 *
 * State: plain data, fixed size; save/load copy it, load validates it. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detectors/detector.h"

struct des_cfg {
	int training;
	double alpha, beta;
	double max_percent, min_percent; /* NaN: side disabled */
	double noise;
	double step; /* seconds; 0 = learn from the first two timestamps */
	int robust;  /* clip out-of-band points to the band before feeding them */
	int pad;
};

/* One Atlas OnlineDes. */
struct des_one {
	double s, b;     /* level and trend */
	int64_t n;       /* finite samples absorbed since the last reset */
	int64_t missing; /* consecutive missing ticks */
};

struct des_state {
	double step;         /* known step (configured or learned); 0 = not yet */
	double first_ts;     /* ts of the first point, while the step is unknown */
	double last_ts;      /* ts of the newest point accepted */
	int64_t last_tick;   /* tick of the newest point (valid when step > 0) */
	int64_t block;       /* SDES block of the newest point (valid when step > 0) */
	int32_t started;     /* a point has been accepted */
	int32_t sliding;     /* 1 for sdes */
	uint64_t late;       /* points ignored as out of order */
	int64_t out_run;     /* consecutive points outside the band (robust feeding) */
	struct des_one m[2]; /* des uses m[0] only */
};

#define DES_MAX_TICKS 4.0e15 /* |ts/step| beyond this cannot be a tick in int64 safely */

static const struct param_spec des_params[] = {
	{.name = "training",
	 .kind = PARAM_INT,
	 .def = "10",
	 .offset = offsetof(struct des_cfg, training),
	 .help = "points before the first prediction; also the gap run that restarts the model and the "
		 "SDES swap period",
	 .min = 1,
	 .max = 1000000},
	{.name = "alpha",
	 .kind = PARAM_DOUBLE,
	 .def = "0.1",
	 .offset = offsetof(struct des_cfg, alpha),
	 .help = "level smoothing (des-fast preset: 10, 0.1, 0.02)",
	 .min = 0,
	 .max = 1},
	{.name = "beta",
	 .kind = PARAM_DOUBLE,
	 .def = "0.02",
	 .offset = offsetof(struct des_cfg, beta),
	 .help = "trend smoothing",
	 .min = 0,
	 .max = 1},
	{.name = "max_percent",
	 .kind = PARAM_DOUBLE,
	 .def = "0.2",
	 .offset = offsetof(struct des_cfg, max_percent),
	 .help = "upper band: x > p*(1+max_percent) (and > p+noise) fires; nan disables the upper side",
	 .min = 0,
	 .max = 1e6,
	 .allow_nan = 1},
	{.name = "min_percent",
	 .kind = PARAM_DOUBLE,
	 .def = "0.2",
	 .offset = offsetof(struct des_cfg, min_percent),
	 .help = "lower band: x < p*(1-min_percent) (and < p-noise) fires; nan disables the lower side",
	 .min = 0,
	 .max = 1e6,
	 .allow_nan = 1},
	{.name = "noise",
	 .kind = PARAM_DOUBLE,
	 .def = "0",
	 .offset = offsetof(struct des_cfg, noise),
	 .help = "absolute noise floor: |x-p| must also exceed this (stops alerts in troughs)",
	 .min = 0,
	 .max = 1e300},
	{.name = "step",
	 .kind = PARAM_DURATION,
	 .def = "0",
	 .offset = offsetof(struct des_cfg, step),
	 .help = "series step; 0 = learn it from the first two timestamps",
	 .min = 0,
	 .max = 1e9},
	{.name = "robust",
	 .kind = PARAM_BOOL,
	 .def = "true",
	 .offset = offsetof(struct des_cfg, robust),
	 .help = "feed a point outside the band clipped to the band (until `training` in a row are "
		 "outside); false = Atlas's equations",
	 .min = 0,
	 .max = 1},
	{.name = NULL},
};

static size_t des_state_size(const void *cfg)
{
	(void)cfg;
	return sizeof(struct des_state);
}

static void one_reset(struct des_one *m)
{
	memset(m, 0, sizeof *m);
}

/* The prediction this smoother emits for its next point: s, or NaN before
 * `training` samples. */
static double one_pred(const struct des_cfg *c, const struct des_one *m)
{
	return m->n >= c->training ? m->s : NAN;
}

static void one_missing(const struct des_cfg *c, struct des_one *m, int64_t k)
{
	if (k <= 0)
		return;
	if (k >= c->training - m->missing) {
		one_reset(m);
		return;
	}
	m->missing += k;
}

static void one_feed(const struct des_cfg *c, struct des_one *m, double x)
{
	if (!isfinite(x)) {
		one_missing(c, m, 1);
		return;
	}
	if (m->n == 0) {
		m->s = x;
		m->b = 0;
	} else {
		double prev = m->s;
		m->s = c->alpha * x + (1 - c->alpha) * (m->s + m->b);
		m->b = c->beta * (m->s - prev) + (1 - c->beta) * m->b;
	}
	m->n++;
	m->missing = 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Fill out with the epic band around p and the score of x against it. */
static void epic(const struct des_cfg *c, double p, double x, struct det_result *out)
{
	double lo = NAN, hi = NAN, score = NAN;

	out->expected = p;
	if (isfinite(p)) {
		if (!isnan(c->min_percent))
			lo = fmin(p - c->noise, p * (1 - c->min_percent));
		if (!isnan(c->max_percent))
			hi = fmax(p + c->noise, p * (1 + c->max_percent));
		if (isfinite(x)) {
			if (x < lo || x > hi) {
				score = 1.0;
			} else if (x > p) {
				score = isnan(hi) ? 0.0 : 0.5 * (x - p) / (hi - p); /* hi - p >= x - p > 0 */
			} else if (x < p) {
				score = isnan(lo) ? 0.0 : 0.5 * (p - x) / (p - lo);
			} else {
				score = 0.0;
			}
			if (!(score >= 0.0))
				score = 0.0;
			else if (score > 1.0)
				score = 1.0;
		}
	}
	out->lower = lo;
	out->upper = hi;
	out->score = score;
}

/* The value the smoothers absorb for x, scored in out (robust feeding, see
 * the header): x clipped to the band while fewer than `training` points in a
 * row were outside it. Counts the run in s->out_run. */
static double robust_input(const struct des_cfg *c, struct des_state *s, double x,
			   const struct det_result *out)
{
	if (!c->robust || !isfinite(x) || !(out->score >= 1.0)) {
		if (isfinite(out->score))
			s->out_run = 0;
		return x;
	}
	if (++s->out_run >= c->training)
		return x; /* the series moved: follow it */
	if (x > out->upper)
		return out->upper;
	if (x < out->lower)
		return out->lower;
	return x;
}

static int des_config_check(void *vcfg, char *err, size_t errlen)
{
	struct des_cfg *c = vcfg;
	if (!(c->alpha > 0)) {
		snprintf(err, errlen, "parameter 'alpha': must be > 0");
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int init_common(void *state, int sliding, const struct des_cfg *c)
{
	struct des_state *s = state;
	memset(s, 0, sizeof *s);
	s->sliding = sliding;
	s->step = c->step;
	return 0;
}

static int des_init(const void *cfg, void *state)
{
	return init_common(state, 0, cfg);
}
static int sdes_init(const void *cfg, void *state)
{
	return init_common(state, 1, cfg);
}

/* Bring the SDES roles from block s->block to block nb (nb > s->block). */
static void sdes_cross(struct des_state *s, int64_t nb)
{
	if (nb - s->block >= 2) {
		one_reset(&s->m[0]);
		one_reset(&s->m[1]);
	} else {
		/* the smoother that was active in the old block restarts */
		one_reset(&s->m[s->block & 1]);
	}
	s->block = nb;
}

static int des_update(const void *cfg, void *state, double ts, double x, struct det_result *out)
{
	const struct des_cfg *c = cfg;
	struct des_state *s = state;
	int nm = s->sliding ? 2 : 1, active = 0;
	int64_t tick = 0, gap = 0;

	if (!isfinite(ts) || (s->started && !(ts > s->last_ts))) {
		/* out of order or a bad timestamp: no state change */
		if (s->started)
			s->late++;
		active = s->sliding && s->step > 0 ? (int)(s->block & 1) : 0;
		epic(c, one_pred(c, &s->m[active]), NAN, out);
		return 0;
	}
	if (!(x > -INFINITY && x < INFINITY))
		x = NAN;
	else
		x += 0.0; /* -0 -> +0 */

	if (!s->started) {
		s->started = 1;
		s->first_ts = ts;
		s->last_ts = ts;
		if (s->step > 0 && fabs(ts / s->step) < DES_MAX_TICKS) {
			s->last_tick = llround(ts / s->step);
			s->block = floor_div(s->last_tick, c->training);
		} else {
			s->step = 0;
		}
		epic(c, NAN, x, out);
		for (int i = 0; i < nm; i++)
			one_feed(c, &s->m[i], x);
		return 0;
	}
	if (!(s->step > 0)) {
		/* second point: learn the step, place the first point */
		double st = ts - s->first_ts;
		if (fabs(ts / st) < DES_MAX_TICKS && fabs(s->first_ts / st) < DES_MAX_TICKS) {
			s->step = st;
			s->last_tick = llround(s->first_ts / st);
			s->block = floor_div(s->last_tick, c->training);
		}
	}
	if (s->step > 0 && fabs(ts / s->step) < DES_MAX_TICKS) {
		tick = llround(ts / s->step);
		gap = tick - s->last_tick - 1;
		if (gap < 0)
			gap = 0;
		if (s->sliding) {
			int64_t nb = floor_div(tick, c->training);
			if (nb > s->block)
				sdes_cross(s, nb);
			active = (int)(s->block & 1);
		}
		if (tick > s->last_tick)
			s->last_tick = tick;
	}
	s->last_ts = ts;
	for (int i = 0; i < nm; i++)
		one_missing(c, &s->m[i], gap);
	epic(c, one_pred(c, &s->m[active]), x, out);
	x = robust_input(c, s, x, out);
	for (int i = 0; i < nm; i++)
		one_feed(c, &s->m[i], x);
	return 0;
}

static int one_valid(const struct des_cfg *c, const struct des_one *m)
{
	if (m->n < 0 || m->missing < 0 || m->missing >= c->training)
		return 0;
	if (m->n > 0 && !(isfinite(m->s) && isfinite(m->b)))
		return 0;
	return 1;
}

static int state_valid(const struct des_cfg *c, const struct des_state *t, int sliding)
{
	if (t->sliding != sliding || (t->started != 0 && t->started != 1) || !(t->step >= 0) ||
	    t->out_run < 0 || !(t->step < INFINITY) || !one_valid(c, &t->m[0]) || !one_valid(c, &t->m[1]))
		return 0;
	return !t->started || isfinite(t->last_ts);
}

static int des_valid(const void *cfg, const void *state)
{
	return state_valid(cfg, state, 0);
}
static int sdes_valid(const void *cfg, const void *state)
{
	return state_valid(cfg, state, 1);
}

const struct detector_type det_des = {
	.name = "des",
	.summary = "Atlas double exponential smoothing with the epic-signal band (level shifts, drops)",
	.state_version = 2,
	.params = des_params,
	.config_size = sizeof(struct des_cfg),
	.default_threshold = 1.0,
	.config_check = des_config_check,
	.state_size = des_state_size,
	.init = des_init,
	.update = des_update,
	.valid = des_valid,
};

const struct detector_type det_sdes = {
	.name = "sdes",
	.summary = "Atlas sliding DES (two smoothers swapping every `training` ticks) with the epic band",
	.state_version = 2,
	.params = des_params,
	.config_size = sizeof(struct des_cfg),
	.default_threshold = 1.0,
	.config_check = des_config_check,
	.state_size = des_state_size,
	.init = sdes_init,
	.update = des_update,
	.valid = sdes_valid,
};
