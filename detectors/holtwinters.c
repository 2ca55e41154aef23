/* Holt-Winters with Brutlag confidence bands (Graphite / RRDtool), see
 * ../shared/docs/detectors.md §2.
 *
 *   a_t = alpha (x_t - c_{t-L}) + (1 - alpha)(a_{t-1} + b_{t-1})     level
 *   b_t = beta (a_t - a_{t-1}) + (1 - beta) b_{t-1}                  slope
 *   c_t = gamma (x_t - a_t) + (1 - gamma) c_{t-L}                    seasonal
 *   d_t = gamma |x_t - yhat_t| + (1 - gamma) d_{t-L}                 deviation
 *   yhat_t = a_{t-1} + b_{t-1} + c_{t-L}
 *
 * Two modes.
 *
 * graphite_compat = true reproduces Graphite exactly (golden test): the first
 * point sets a = x, b = 0, yhat = x; c and d start at 0 and d grows from 0 by
 * gamma per season, so the bands of the first seasons are far too narrow
 * (after 3 seasons d is ~27 % of the real mean error). Band = yhat -/+ delta
 * d_t (contains the point's own error). Needs an explicit `season`.
 *
 * vigil's default mode differs from Graphite to fix that:
 *  - Warm-up buffer. The first N ticks are kept in the state (N = 2 L for a
 *    given season, see below for `season: 0` = auto) and the model starts
 *    from them: a = mean of the first season (moved to its last tick along the
 *    slope), b = (mean of season 2 - mean of season 1) / L, c[p] = x_p minus
 *    the trend line (phases missing in season 1 take the nearest present
 *    one), d[p] = d0 for every phase, where d0 = mean |x_{k+L} - x_k - bL|
 *    over the buffered pairs (L = 1: mean |x_{k+1} - x_k|): the mean absolute
 *    error of forecasting a season from the one before, which is what a
 *    profile resting on one season does (for normal noise sqrt 2 times the
 *    noise's E|e|; d then decays towards the real error at gamma per season).
 *    Then season 2 .. N are replayed through the equations, so no point of
 *    the warm-up is wasted. The seasonal model scores after max(2 L, 16)
 *    ticks; until the buffer is full (and the season decided) a
 *    non-seasonal fallback (Holt with bands, fb_point) scores every point
 *    from the 16th finite one, so a detector with `season: auto` has an
 *    opinion from the start (its d starts as the mean |error| of the first
 *    16 points, then follows gamma).
 *  - Band = yhat -/+ delta * max(d_{t-L}, deviation_floor * g), the band
 *    known before x_t arrived (d_t would let the point widen its own band),
 *    where g is a global EW mean |x - yhat| over all phases (rate
 *    min(gamma, 1/L), starts at d0, each |e| clipped at 4 g so an incident
 *    cannot blow the floor up): a phase that has seen few or calm samples
 *    cannot have a band narrower than deviation_floor of the series' noise.
 *    The half-width is at least 1e-9 |yhat| (rounding on noiseless data).
 * Score: 1 when x is outside the band; inside, 0.5 * |x - yhat| / half-width,
 * in [0, 0.5]. NaN while warming up, on gaps and on ignored points.
 *
 * Season auto-detection (`season: 0`, the default; the parameter parser has
 * no keyword, so 0 means auto). Lmax = min(cap, round(season_max / step)), N =
 * 2 Lmax ticks (at least 2 candidate periods of every lag considered; if Lmax
 * < 2 no season fits and N = min(16, 2 cap)). Examples with the defaults
 * (max_season_points 1440, season_max 1w): step 1 min -> N = 2880 (2 days);
 * step 5 min -> N = 2880 (10 days); step 1 h -> N = 336 (2 weeks). Once the
 * tick N-1 is reached (or passed), season_detect() (season_acf.h: the
 * autocorrelation method, its thresholds and cost) picks L from the buffered
 * ticks; no season -> L = 1 (plain Holt with bands, c = 0). Causal: decided
 * from buffered points only.
 *
 * Time: the tick clock of tick.h: ticks are llround(ts / step); the step is
 * the `step` parameter or, when that is 0, learned from the first two
 * timestamps (the first point is held until then). The phase of tick t is
 * (t - t0) mod L with t0 the first point's tick, so gaps cannot shift the
 * season. A point whose ts or tick is not newer than the last point's is
 * ignored (out of order or duplicate; counted in `late`).
 *
 * Gaps (NaN input or skipped ticks): that phase's c and d are left alone, the
 * level is carried on with a + b per missing tick. After a gap of max(L, 16)
 * ticks (L in graphite_compat) or more the next finite point re-anchors the
 * level (a = x - c, b = 0) and is not scored; the seasonal profile survives.
 * (Graphite instead zeroes c and d and predicts 0 after a gap; not reproduced
 * even in graphite_compat.)
 *
 * State (plain data, no pointers): header, then ring[] = c[cap] followed by
 * d[cap] (graphite_compat: 2 cap doubles) or, in vigil mode, by a region of
 * 2 cap doubles that holds the warm-up buffer x[0 .. N) (NaN = missing) until
 * the model starts and d[0 .. L) afterwards (3 cap doubles; the replay writes
 * d[p] only over buffer slots it has consumed). cap = L for a given season
 * with a configured step; auto with a configured step: min(max_season_points,
 * round(season_max / step)); else max_season_points (default 1440: 34.6 KB
 * in vigil mode). cap <= 10080. A learned season that does not fit cap
 * leaves the detector without opinion (everything NaN). The header starts
 * with int32 cap, int32 L (0 while undecided); tests read L from there.
 * Extreme values: |x| > DET_MAX_ABS scores NaN and leaves the state untouched
 * (one such value would widen its phase's band for hundreds of seasons).
 * Overflow: a point that leaves a non-finite number in the model (absurd
 * input) restarts it with the same step; that point scores NaN. valid()
 * refuses a loaded state update() could not have produced.
 * Errors: update() always returns 0 (no opinion is NaN).
 * @thread config shared read-only; a state belongs to one thread at a time. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detectors/detector.h"
#include "detectors/season_acf.h"
#include "detectors/tick.h"

#define HW_MAX_SLOTS 10080
#define HW_MIN_WARM  16 /* ticks */
/* Issue 16, bounded influence (vigil mode, once the model is warm): a point
 * more than HW_CLIP band half-widths from the forecast is fed to the level,
 * slope, seasonal and deviation updates as if it were HW_CLIP half-widths
 * out (its score is not changed), so one glitch of 1e12 moves the model by
 * a bounded amount; after HW_CLIP_RUN such points in a row the series has
 * moved and points are fed as they are, like des's robust feeding. */
#define HW_CLIP     3.0
#define HW_CLIP_RUN 16
_Static_assert(HW_MAX_SLOTS <= SEASON_MAX_LAG, "season detection must handle every ring size");

struct hw_cfg {
	double alpha, beta, gamma, delta;
	double season;     /* seconds; 0 = detect */
	double season_max; /* seconds: the longest season detection considers */
	double step;       /* seconds; 0 = learn */
	double dev_floor;  /* fraction of the global deviation */
	int max_season_points;
	int graphite_compat;
	int cap; /* derived: ring slots */
	int pad;
};

struct hw_state {
	int32_t cap;     /* ring slots (checked on load) */
	int32_t L;       /* season length in ticks; 0 until the model runs */
	int32_t started; /* a point with a valid ts was accepted */
	int32_t have_level;
	int32_t disabled; /* learned L does not fit: no opinion */
	int32_t npend;    /* vigil: warm-up buffer length N; 0 until the step is known */
	double step;
	double first_ts, first_x; /* held first point while the step is unknown */
	double last_ts;
	int64_t last_tick;
	int64_t origin;     /* tick of phase 0 (the first point's) */
	int64_t level_tick; /* tick where the level started (warm-up reference) */
	int64_t gap_run;    /* consecutive missing ticks since the last finite point */
	uint64_t late;
	double a, b;
	double g; /* vigil: global EW mean |e| */
	/* vigil: the non-seasonal fallback that scores while the warm-up buffer
	 * fills (Holt with bands, see fb_point) */
	double fa, fb, fd;
	int64_t fn, ftick;
	int64_t clip_run; /* vigil: consecutive points fed clipped (hw_point) */
	double ring[];    /* see the header comment */
};

static const char *const auto_keyword[] = {"auto", NULL};

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
	 .def = "auto",
	 .choices = auto_keyword,
	 .offset = offsetof(struct hw_cfg, season),
	 .help = "season length; auto (or 0) = detect it from the first 2 x season_max of data "
		 "(autocorrelation)",
	 .min = 0,
	 .max = 1e10},
	{.name = "season_max",
	 .kind = PARAM_DURATION,
	 .def = "1w",
	 .offset = offsetof(struct hw_cfg, season_max),
	 .help = "season detection: longest season considered (also bounded by max_season_points); "
		 "the decision waits for 2 of them",
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
	 .help = "ring size when step is learned or the season detected (24 bytes per slot)",
	 .min = 2,
	 .max = HW_MAX_SLOTS},
	{.name = "deviation_floor",
	 .kind = PARAM_DOUBLE,
	 .def = "0.5",
	 .offset = offsetof(struct hw_cfg, dev_floor),
	 .help = "a phase's deviation is at least this fraction of the series' overall deviation",
	 .min = 0,
	 .max = 1e6},
	{.name = "graphite_compat",
	 .kind = PARAM_BOOL,
	 .def = "false",
	 .offset = offsetof(struct hw_cfg, graphite_compat),
	 .help = "Graphite's exact numbers: c, d start at 0 (bands too narrow for seasons), band from "
		 "d_t (can swallow its own outlier); needs an explicit season"},
	{.name = NULL},
};

static int hw_config_check(void *vcfg, char *err, size_t errlen)
{
	struct hw_cfg *c = vcfg;

	if (!(c->season > 0)) {
		if (c->graphite_compat) {
			snprintf(err, errlen,
				 "parameter 'graphite_compat': needs an explicit 'season' (not 0 = detect)");
			return -VIGIL_EINVAL;
		}
		if (!(c->season_max > 0)) {
			snprintf(err, errlen,
				 "parameter 'season_max': must be > 0 when the season is detected");
			return -VIGIL_EINVAL;
		}
		if (c->step > 0) {
			double l = round(c->season_max / c->step);
			c->cap = l < c->max_season_points ? (l < 2 ? 2 : (int)l) : c->max_season_points;
		} else {
			c->cap = c->max_season_points;
		}
		return 0;
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

static size_t ring_doubles(const struct hw_cfg *c)
{
	return (c->graphite_compat ? 2 : 3) * (size_t)c->cap;
}

static size_t hw_state_size(const void *cfg)
{
	return sizeof(struct hw_state) + ring_doubles(cfg) * sizeof(double);
}

static int hw_init(const void *cfg, void *state)
{
	const struct hw_cfg *c = cfg;
	struct hw_state *s = state;
	memset(s, 0, hw_state_size(cfg));
	s->cap = c->cap;
	s->step = c->step;
	if (!c->graphite_compat)
		for (size_t i = (size_t)c->cap; i < ring_doubles(c); i++)
			s->ring[i] = NAN; /* the warm-up buffer: nothing seen yet */
	return 0;
}

static int64_t floor_mod(int64_t a, int64_t m)
{
	int64_t r = a % m;
	return r < 0 ? r + m : r;
}

/* Fix the step and, for a given season, L; 0, or -1 when it does not fit. */
static int set_step(const struct hw_cfg *c, struct hw_state *s, double step)
{
	s->step = step;
	if (c->season > 0) {
		double L = round(c->season / step);
		if (L < 2)
			L = 2;
		if (L > s->cap) {
			s->disabled = 1;
			return -1;
		}
		if (c->graphite_compat)
			s->L = (int32_t)L;
		else
			s->npend = 2 * (int32_t)L;
	} else {
		double l = round(c->season_max / step);
		if (l > s->cap)
			l = s->cap;
		s->npend = l < 2 ? (2 * s->cap < HW_MIN_WARM ? 2 * s->cap : HW_MIN_WARM) : 2 * (int32_t)l;
	}
	return 0;
}

/* ---- graphite_compat: Graphite's recursion, unchanged ------------------ */

/* Feed x at tick t (> last tick, or the first tick). */
static void hw_point_compat(const struct hw_cfg *c, struct hw_state *s, int64_t t, double x,
			    struct det_result *out)
{
	double *cs = s->ring, *ds = s->ring + s->cap;
	int64_t ph = floor_mod(t, s->L);
	double yhat, half, c_old, d_old, a_new, e;

	if (!s->have_level) {
		if (isfinite(x)) {
			s->have_level = 1;
			s->a = x;
			s->b = 0;
			s->level_tick = t;
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
	half = c->delta * ds[ph];
	out->lower = yhat - half;
	out->upper = yhat + half;
	if (t - s->level_tick >= 2 * (int64_t)s->L) {
		if (fabs(e) > half)
			out->score = 1.0;
		else if (half > 0)
			out->score = 0.5 * fabs(e) / half;
		else
			out->score = 0.0;
	}
}

/* ---- vigil mode --------------------------------------------------------- */

/* The model's step for x at tick t (> last tick). */
static void hw_point(const struct hw_cfg *c, struct hw_state *s, int64_t t, double x, struct det_result *out)
{
	double *cs = s->ring, *ds = s->ring + s->cap;
	int64_t ph = floor_mod(t - s->origin, s->L);
	int64_t warm = 2 * (int64_t)s->L > HW_MIN_WARM ? 2 * (int64_t)s->L : HW_MIN_WARM;
	double yhat, half, dl, c_old, d_old, a_new, e, ae, lam, xf, af;

	if (t - s->last_tick - 1 > 0) {
		int64_t k = t - s->last_tick - 1;
		s->a += (double)k * s->b;
		s->gap_run += k;
	}
	s->last_tick = t;
	c_old = cs[ph];
	d_old = ds[ph];
	dl = c->dev_floor * s->g;
	if (d_old > dl)
		dl = d_old;
	yhat = s->a + s->b + c_old;
	half = c->delta * dl;
	if (half < 1e-9 * fabs(yhat))
		half = 1e-9 * fabs(yhat); /* a noiseless series: rounding is not an anomaly */
	if (s->have_level) {
		out->expected = yhat;
		out->lower = yhat - half;
		out->upper = yhat + half;
	}
	if (!isfinite(x)) {
		s->gap_run++;
		s->a += s->b;
		return;
	}
	if (!s->have_level || s->gap_run >= (s->L > HW_MIN_WARM ? s->L : HW_MIN_WARM)) {
		/* first level, or a long gap: anchor the level on the seasonal profile */
		if (!s->have_level)
			s->level_tick = t;
		s->have_level = 1;
		s->a = x - c_old;
		s->b = 0;
		s->gap_run = 0;
		return;
	}
	s->gap_run = 0;
	e = x - yhat;
	ae = fabs(e);
	xf = x;
	if (t - s->level_tick >= warm && ae > HW_CLIP * half) {
		if (++s->clip_run < HW_CLIP_RUN)
			xf = yhat + (e > 0 ? HW_CLIP * half : -HW_CLIP * half);
	} else {
		s->clip_run = 0;
	}
	af = fabs(xf - yhat);
	a_new = c->alpha * (xf - c_old) + (1 - c->alpha) * (s->a + s->b);
	s->b = c->beta * (a_new - s->a) + (1 - c->beta) * s->b;
	s->a = a_new;
	if (s->L > 1)
		cs[ph] = c->gamma * (xf - a_new) + (1 - c->gamma) * c_old;
	ds[ph] = c->gamma * af + (1 - c->gamma) * d_old;
	lam = 1.0 / s->L < c->gamma ? 1.0 / s->L : c->gamma;
	s->g += lam * ((s->g > 0 && af > 4 * s->g ? 4 * s->g : af) - s->g);
	if (t - s->level_tick >= warm) {
		if (ae > half)
			out->score = 1.0;
		else if (half > 0)
			out->score = 0.5 * ae / half;
		else
			out->score = 0.0;
	}
}

/* Start the model from the warm-up buffer: choose L, initialise a, b, c, d,
 * replay ticks L .. N-1. out gets the last replayed point's result. */
static void hw_start(const struct hw_cfg *c, struct hw_state *s, struct det_result *out)
{
	int32_t n = s->npend, L, cap = s->cap;
	double *cs = s->ring, *y = s->ring + cap, *ds = s->ring + cap;
	double m1 = 0, m2 = 0, d0 = 0, a0 = 0, b0 = 0;
	int32_t n1 = 0, n2 = 0, np = 0, first = -1, last = -1;

	if (c->season > 0) {
		L = n / 2;
	} else {
		double l = round(c->season_max / s->step);
		L = season_detect(y, n, l > cap ? cap : (int32_t)l, s->step, cs);
	}
	s->L = L;
	for (int32_t p = 0; p < cap; p++)
		cs[p] = 0;
	if (L == 1) {
		for (int32_t k = 0; k + 1 < n; k++)
			if (!isnan(y[k]) && !isnan(y[k + 1])) {
				d0 += fabs(y[k + 1] - y[k]);
				np++;
			}
		d0 = np ? d0 / np : 0;
		for (int32_t k = 0; k < n && first < 0; k++)
			if (!isnan(y[k]))
				first = k;
		/* the level starts at the first present point; d[0] overlays y[0],
		 * which that consumed (or which is missing) */
		if (first >= 0) {
			s->have_level = 1;
			s->a = y[first];
			s->b = 0;
			s->level_tick = s->origin + first;
		}
		s->last_tick = s->origin + (first >= 0 ? first : 0);
		ds[0] = d0;
		s->g = d0;
		s->gap_run = 0;
		for (int32_t k = (first >= 0 ? first : 0) + 1; k < n; k++) {
			double x = y[k];
			out->score = out->expected = out->lower = out->upper = NAN;
			hw_point(c, s, s->origin + k, x, out);
		}
	} else {
		for (int32_t k = 0; k < L && k < n; k++)
			if (!isnan(y[k])) {
				m1 += y[k];
				n1++;
			}
		for (int32_t k = L; k < 2 * L && k < n; k++)
			if (!isnan(y[k])) {
				m2 += y[k];
				n2++;
			}
		if (n1 && n2)
			b0 = (m2 / n2 - m1 / n1) / L;
		for (int32_t k = 0; k + L < n; k++)
			if (!isnan(y[k]) && !isnan(y[k + L])) {
				d0 += fabs(y[k + L] - y[k] - b0 * L);
				np++;
			}
		d0 = np ? d0 / np : 0;
		if (n1) {
			/* a0: the mean of season 1 is the level at its middle tick */
			a0 = m1 / n1;
			for (int32_t p = 0; p < L; p++) {
				if (isnan(y[p]))
					continue;
				cs[p] = y[p] - (a0 + b0 * (p - (L - 1) / 2.0));
				if (first < 0) {
					for (int32_t q = 0; q < p; q++)
						cs[q] = cs[p];
				} else {
					for (int32_t q = last + 1; q < p; q++)
						cs[q] = q - last <= p - q ? cs[last] : cs[p];
				}
				if (first < 0)
					first = p;
				last = p;
			}
			for (int32_t q = last + 1; q < L; q++)
				cs[q] = cs[last];
			s->have_level = 1;
			s->a = a0 + b0 * (L - 1) / 2.0;
			s->b = b0;
			s->level_tick = s->origin;
		}
		/* season 1 is consumed: its buffer slots become d[0 .. L) */
		for (int32_t p = 0; p < L; p++)
			ds[p] = d0;
		s->g = d0;
		s->gap_run = 0;
		s->last_tick = s->origin + L - 1;
		for (int32_t k = L; k < n; k++) {
			double x = y[k]; /* read before hw_point may write d[k mod L] (< k) */
			out->score = out->expected = out->lower = out->upper = NAN;
			hw_point(c, s, s->origin + k, x, out);
		}
	}
	/* clear what the model does not use: the state stays fully defined */
	for (int32_t i = cap + L; i < 3 * cap; i++)
		s->ring[i] = 0;
	s->npend = 0;
	for (int32_t p = 0; p < L; p++)
		if (!isfinite(cs[p]) || !isfinite(ds[p]))
			s->a = NAN; /* overflow on absurd input: hw_update starts over */
}

/* The non-seasonal fallback (vigil mode, while the season is unknown):
 * Holt's level fa and slope fb with alpha, beta; fd = mean |x - yhat| over
 * the first HW_MIN_WARM points, then EW with gamma. From the
 * HW_MIN_WARM-th finite point on, x is scored against yhat = fa + fb (carried
 * over skipped ticks) with the half-width delta * fd known before x (at least
 * 1e-9 |yhat|), like the model it hands over to. Returns the value it
 * absorbed: x, or x clipped once warm (HW_CLIP, issue 16). */
static double fb_point(const struct hw_cfg *c, struct hw_state *s, int64_t t, double x,
		       struct det_result *out)
{
	double yhat, half, e, a_new;

	if (!isfinite(x))
		return x;
	if (s->fn == 0) {
		s->fa = x;
		s->fb = 0;
		s->fd = 0;
		s->fn = 1;
		s->ftick = t;
		return x;
	}
	yhat = s->fa + (double)(t - s->ftick) * s->fb;
	half = c->delta * s->fd;
	if (half < 1e-9 * fabs(yhat))
		half = 1e-9 * fabs(yhat);
	e = fabs(x - yhat);
	if (s->fn >= HW_MIN_WARM) {
		out->expected = yhat;
		out->lower = yhat - half;
		out->upper = yhat + half;
		out->score = e > half ? 1.0 : half > 0 ? 0.5 * e / half : 0.0;
		/* bounded influence, as in hw_point */
		if (e > HW_CLIP * half) {
			if (++s->clip_run < HW_CLIP_RUN) {
				x = yhat + (x > yhat ? HW_CLIP * half : -HW_CLIP * half);
				e = HW_CLIP * half;
			}
		} else {
			s->clip_run = 0;
		}
	}
	a_new = c->alpha * x + (1 - c->alpha) * yhat;
	s->fb = c->beta * (a_new - s->fa) / (double)(t - s->ftick) + (1 - c->beta) * s->fb;
	s->fa = a_new;
	s->ftick = t;
	/* clip |e| at 4 fd once learned, so an incident cannot blow the band up */
	if (s->fn < HW_MIN_WARM)
		s->fd += (e - s->fd) / (double)s->fn;
	else
		s->fd += c->gamma * ((e > 4 * s->fd ? 4 * s->fd : e) - s->fd);
	s->fn++;
	return x;
}

/* Feed a finite-ts point at tick t (> last tick) in vigil mode. */
static void hw_feed(const struct hw_cfg *c, struct hw_state *s, int64_t t, double x, int first,
		    struct det_result *out)
{
	if (first)
		s->origin = t;
	if (s->L == 0) {
		int64_t k = t - s->origin;
		struct det_result ignored;
		if (k < s->npend) {
			/* the buffer keeps what the fallback absorbed (a glitch
			 * clipped): the seasonal model starts from it */
			s->ring[s->cap + k] = fb_point(c, s, t, x, out);
			s->last_tick = t;
			if (k == s->npend - 1) {
				struct det_result fb = *out;
				hw_start(c, s, out);
				if (isnan(out->score))
					*out = fb; /* the model scores from the next point */
			}
			return;
		}
		hw_start(c, s, &ignored);
	}
	hw_point(c, s, t, x, out);
}

static void point(const struct hw_cfg *c, struct hw_state *s, int64_t t, double x, int first,
		  struct det_result *out)
{
	if (c->graphite_compat) {
		hw_point_compat(c, s, t, x, out);
		return;
	}
	hw_feed(c, s, t, x, first, out);
}

/* Did the last point leave non-finite numbers (overflow on absurd input)?
 * Only a, b, g and the slot of the last tick can have changed. */
static int state_finite(const struct hw_cfg *c, const struct hw_state *s)
{
	int64_t ph;
	if (!isfinite(s->a) || !isfinite(s->b) || !isfinite(s->g) || !isfinite(s->fa) || !isfinite(s->fb) ||
	    !isfinite(s->fd))
		return 0;
	if (s->L == 0)
		return 1;
	ph = floor_mod(c->graphite_compat ? s->last_tick : s->last_tick - s->origin, s->L);
	return isfinite(s->ring[ph]) && isfinite(s->ring[s->cap + ph]);
}

/* The tick clock's view of a state, and its callbacks (tick.h). */
struct hw_run {
	const struct hw_cfg *c;
	struct hw_state *s;
};

static int clock_set_step(void *owner, double step)
{
	struct hw_run *r = owner;
	return set_step(r->c, r->s, step);
}

static void clock_point(void *owner, int64_t t, double x, int first, struct det_result *out)
{
	const struct hw_cfg *c = ((struct hw_run *)owner)->c;
	struct hw_state *s = ((struct hw_run *)owner)->s;

	point(c, s, t, x, first, out);
	if (!first && !state_finite(c, s)) {
		/* overflow on absurd input: start over rather than carry NaN/inf */
		double step = s->step, last_ts = s->last_ts;
		uint64_t late = s->late;
		hw_init(c, s);
		s->step = step;
		s->late = late;
		if (set_step(c, s, step) == 0) {
			s->started = 1;
			s->last_ts = last_ts;
			s->last_tick = t;
			s->origin = t + 1;
			if (c->graphite_compat)
				s->origin = 0;
		}
		out->score = NAN;
	}
}

static struct tick_clock clock_of(struct hw_state *s, struct hw_run *r)
{
	return TICK_CLOCK_OF(s, r, clock_set_step, clock_point);
}

static int hw_update(const void *cfg, void *state, double ts, double x, struct det_result *out)
{
	struct hw_run r = {.c = cfg, .s = state};
	struct tick_clock k = clock_of(state, &r);

	out->score = out->expected = out->lower = out->upper = NAN;
	if (isfinite(x) && fabs(x) > DET_MAX_ABS)
		return 0; /* beyond what the arithmetic takes (callers refuse it too): model untouched */
	tick_update(&k, ts, x, out);
	return 0;
}

static int hw_valid(const void *cfg, const void *state)
{
	const struct hw_cfg *c = cfg;
	const struct hw_state *s = state;
	struct hw_run r = {.c = c, .s = (struct hw_state *)(uintptr_t)state}; /* read only */
	struct tick_clock k = clock_of(r.s, &r);
	size_t nring = ring_doubles(c);
	int ok;

	ok = s->cap == c->cap && s->L >= 0 && s->L <= s->cap && (s->have_level == 0 || s->have_level == 1) &&
	     isfinite(s->a) && isfinite(s->b) && isfinite(s->g) && s->g >= 0 && s->gap_run >= 0 &&
	     isfinite(s->fa) && isfinite(s->fb) && s->fd >= 0 && isfinite(s->fd) && s->fn >= 0 &&
	     s->clip_run >= 0 && (s->L > 0 || !s->have_level) && (s->L == 0 || s->step > 0) &&
	     s->npend >= 0 && s->npend <= 2 * s->cap;
	if (ok && c->graphite_compat)
		ok = s->L != 1 && s->npend == 0;
	ok = ok && tick_valid(&k, s->L > 0 || s->npend > 0) && tick_in_range(s->origin) &&
	     tick_in_range(s->level_tick);
	if (ok && s->started && !s->disabled && s->step > 0 && (s->L > 0 || s->npend > 0)) {
		/* what set_step() derives from the step */
		struct hw_state chk;
		memset(&chk, 0, sizeof chk);
		chk.cap = s->cap;
		ok = set_step(c, &chk, s->step) == 0 &&
		     (c->graphite_compat || c->season > 0
			      ? (s->L > 0 ? s->L == (c->graphite_compat ? chk.L : chk.npend / 2)
					  : s->npend == chk.npend)
			      : (s->L > 0 || s->npend == chk.npend));
	}
	if (ok && !c->graphite_compat) {
		ok = (s->L == 0 || s->npend == 0) && (s->npend == 0 || s->step > 0) &&
		     (s->L == 0 || s->last_tick >= s->origin) &&
		     (s->L > 0 || s->npend == 0 ||
		      (s->last_tick >= s->origin && s->last_tick - s->origin < s->npend));
	}
	for (size_t i = 0; ok && i < nring; i++) {
		int pending = !c->graphite_compat && s->L == 0 && i >= (size_t)s->cap;
		ok = pending ? !isinf(s->ring[i]) : isfinite(s->ring[i]);
		if (ok && i >= (size_t)s->cap && i < 2 * (size_t)s->cap && !pending)
			ok = s->ring[i] >= 0;
	}
	return ok;
}

static const char *hw_model(const void *cfg, const void *state)
{
	const struct hw_cfg *c = cfg;
	const struct hw_state *s = state;
	if (c->graphite_compat)
		return "graphite";
	return s->L == 0 ? "fallback" : s->L == 1 ? "holt" : "seasonal";
}

const struct detector_type det_holtwinters = {
	.name = "holtwinters",
	.summary = "Holt-Winters with Brutlag seasonal deviation bands, season detected (seasonal breaks)",
	.state_version = 4,
	.params = hw_params,
	.config_size = sizeof(struct hw_cfg),
	.default_threshold = 1.0,
	.config_check = hw_config_check,
	.state_size = hw_state_size,
	.init = hw_init,
	.update = hw_update,
	.valid = hw_valid,
	.model = hw_model,
};
