/* NAB windowed Gaussian, see ../shared/docs/detectors.md §4.
 *
 * The score of x is computed *before* x enters the window:
 *   z = (x - mean) / std,  score = 1 - Q(|z|) = 1 - 0.5 * erfc(|z| / sqrt 2)
 * with mean and population std of the window (std 0 is replaced by 1e-6).
 * While the window fills, mean/std follow every point (NAB recomputes them over
 * the whole window each time, O(window) per point; vigil updates them with
 * Welford's recurrence, O(1), equal to rounding). When the window becomes full,
 * and after each slide, they are recomputed exactly (two passes, no running
 * sums): points are buffered and the window slides by `step_points` at a time
 * (NAB: 6400 and 100). expected = mean, band = mean -/+ z(threshold) * std,
 * where z(threshold) is the |z| at which the score reaches default_threshold.
 *
 * Warm-up: NaN score while the window holds fewer than `min_points` points
 * (NAB scores the first point 0; vigil says "no opinion"). NaN input never
 * enters the window; gaps are otherwise ignored (the window is count based).
 * Out-of-order points (ts older than the newest) are ignored the same way.
 *
 * Score saturation: 1 - Q(|z|) rounds to 1.0 in double for |z| >~ 8.3, which
 * is what NAB's threshold of 1.0 relies on; the default threshold here is
 * 0.9999 (|z| >= 3.719).
 *
 * Bounded influence (`clip`, vigil's, default 20; 0 = NAB exactly): once
 * the window holds GAUSS_CLIP_MIN points, a point enters it clipped to
 * mean +- clip x std (scored as it is), so one glitch cannot hold the mean
 * and std for a whole window; a real level shift still widens the std with
 * each clipped point, and is fully in the window after it slides past.
 *
 * State: plain data: header + a ring of window + step_points doubles; load
 * validates it. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detectors/detector.h"

struct gauss_cfg {
	int window;
	int step_points;
	int min_points;
	double clip;
};

struct gauss_state {
	int32_t cap;     /* window + step_points (checked on load) */
	int32_t head;    /* ring index of the oldest point in the window */
	int32_t n;       /* points in the window (<= window) */
	int32_t pending; /* points buffered after the window, not yet in mean/std */
	double mean, std;
	double m2; /* sum of squared deviations while filling (Welford) */
	double last_ts;
	int32_t started, pad;
	uint64_t late;
	double ring[]; /* cap doubles: window points then pending points */
};

#define GAUSS_THRESHOLD 0.9999
#define GAUSS_CLIP_MIN  100                /* window points before `clip` applies */
#define GAUSS_BAND_Z    3.7190164854555685 /* 1 - Q(z) = GAUSS_THRESHOLD */

static const struct param_spec gauss_params[] = {
	{.name = "window",
	 .kind = PARAM_INT,
	 .def = "6400",
	 .offset = offsetof(struct gauss_cfg, window),
	 .help = "window length in points (NAB: 6400)",
	 .min = 2,
	 .max = 1000000},
	{.name = "step_points",
	 .kind = PARAM_INT,
	 .def = "100",
	 .offset = offsetof(struct gauss_cfg, step_points),
	 .help = "once full, slide the window and recompute every this many points (NAB: 100)",
	 .min = 1,
	 .max = 1000000},
	{.name = "min_points",
	 .kind = PARAM_INT,
	 .def = "1",
	 .offset = offsetof(struct gauss_cfg, min_points),
	 .help = "warm-up: points in the window before scoring",
	 .min = 1,
	 .max = 1000000},
	{.name = "clip",
	 .kind = PARAM_DOUBLE,
	 .def = "20",
	 .offset = offsetof(struct gauss_cfg, clip),
	 .help = "a point enters the window clipped to mean +- clip x std once it holds 100 points (its "
		 "score is unchanged); 0 keeps every point as it is (NAB's baseline)",
	 .min = 0,
	 .max = 1e6},
	{.name = NULL},
};

static int gauss_config_check(void *vcfg, char *err, size_t errlen)
{
	struct gauss_cfg *c = vcfg;
	if (c->step_points > c->window || c->min_points > c->window) {
		snprintf(err, errlen, "parameters 'step_points' and 'min_points' must not exceed window (%d)",
			 c->window);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static size_t gauss_state_size(const void *cfg)
{
	const struct gauss_cfg *c = cfg;
	return sizeof(struct gauss_state) + ((size_t)c->window + (size_t)c->step_points) * sizeof(double);
}

static int gauss_init(const void *cfg, void *state)
{
	const struct gauss_cfg *c = cfg;
	struct gauss_state *s = state;
	memset(s, 0, gauss_state_size(cfg));
	s->cap = c->window + c->step_points;
	s->std = 1.0;
	return 0;
}

/* Sum of v[0..n) and of (v - m)^2 with four accumulators (breaks the add
 * latency chain; the order is fixed, so results are deterministic). */
static void sums(const double *v, int32_t n, double m, double *sum, double *ss)
{
	double a0 = 0, a1 = 0, a2 = 0, a3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
	int32_t i = 0;
	for (; i + 4 <= n; i += 4) {
		double d0 = v[i] - m, d1 = v[i + 1] - m, d2 = v[i + 2] - m, d3 = v[i + 3] - m;
		a0 += v[i];
		a1 += v[i + 1];
		a2 += v[i + 2];
		a3 += v[i + 3];
		q0 += d0 * d0;
		q1 += d1 * d1;
		q2 += d2 * d2;
		q3 += d3 * d3;
	}
	for (; i < n; i++) {
		double d = v[i] - m;
		a0 += v[i];
		q0 += d * d;
	}
	*sum += (a0 + a1) + (a2 + a3);
	*ss += (q0 + q1) + (q2 + q3);
}

/* Exact two-pass mean and population std of the window (which may wrap
 * around the end of the ring: two contiguous runs). Pass 1 takes the sum,
 * pass 2 the squared deviations from that mean. */
static void recompute(struct gauss_state *s)
{
	int32_t n1 = s->cap - s->head < s->n ? s->cap - s->head : s->n, n2 = s->n - n1;
	const double *r1 = s->ring + s->head, *r2 = s->ring;
	double sum = 0, ss = 0, m, unused = 0;

	sums(r1, n1, 0, &sum, &unused);
	sums(r2, n2, 0, &sum, &unused);
	m = sum / s->n;
	sum = 0;
	sums(r1, n1, m, &sum, &ss);
	sums(r2, n2, m, &sum, &ss);
	s->mean = m;
	s->std = sqrt(ss / s->n);
	if (!(s->std > 0))
		s->std = 1e-6;
}

static int gauss_update(const void *cfg, void *state, double ts, double x, struct det_result *out)
{
	const struct gauss_cfg *c = cfg;
	struct gauss_state *s = state;

	out->score = out->expected = out->lower = out->upper = NAN;
	if (!isfinite(ts) || (s->started && ts < s->last_ts)) {
		if (s->started)
			s->late++;
		return 0;
	}
	s->started = 1;
	s->last_ts = ts;
	if (s->n > 0) {
		out->expected = s->mean;
		out->lower = s->mean - GAUSS_BAND_Z * s->std;
		out->upper = s->mean + GAUSS_BAND_Z * s->std;
	}
	if (!isfinite(x))
		return 0;
	if (s->n >= c->min_points) {
		double z = fabs(x - s->mean) / s->std;
		out->score = 1.0 - 0.5 * erfc(z / M_SQRT2);
		if (!(out->score >= 0)) /* z NaN cannot happen; be safe */
			out->score = NAN;
	}
	/* issue 16, bounded influence: a glitch of 1e12 would hold the mean
	 * and std for a whole window (6,400 points) */
	if (c->clip > 0 && s->n >= GAUSS_CLIP_MIN) {
		double b = c->clip * s->std;
		x = x > s->mean + b ? s->mean + b : (x < s->mean - b ? s->mean - b : x);
	}
	s->ring[(s->head + s->n + s->pending) % s->cap] = x;
	if (s->n < c->window) {
		double d = x - s->mean;
		s->n++;
		if (s->n == c->window) {
			recompute(s);
		} else {
			s->mean += d / s->n;
			s->m2 += d * (x - s->mean);
			s->std = sqrt(s->m2 / s->n);
			if (!(s->std > 0))
				s->std = 1e-6;
		}
	} else if (++s->pending == c->step_points) {
		s->head = (s->head + c->step_points) % s->cap;
		s->pending = 0;
		recompute(s);
	}
	return 0;
}

static int gauss_valid(const void *cfg, const void *state)
{
	const struct gauss_cfg *c = cfg;
	const struct gauss_state *s = state;
	int ok;

	ok = s->cap == c->window + c->step_points && s->head >= 0 && s->head < s->cap && s->n >= 0 &&
	     s->n <= c->window && s->pending >= 0 && s->pending < c->step_points &&
	     (s->pending == 0 || s->n == c->window) && (s->started == 0 || s->started == 1) &&
	     isfinite(s->mean) && s->std > 0 && isfinite(s->std) && isfinite(s->m2) && s->m2 >= 0 &&
	     (!s->started || isfinite(s->last_ts));
	for (int32_t i = 0; ok && i < s->n + s->pending; i++)
		ok = isfinite(s->ring[(s->head + i) % s->cap]);
	return ok;
}

const struct detector_type det_gaussian = {
	.name = "gaussian",
	.summary = "NAB windowed Gaussian: 1 - Q(|z|) against a sliding window (baseline)",
	.state_version = 2,
	.params = gauss_params,
	.config_size = sizeof(struct gauss_cfg),
	.default_threshold = GAUSS_THRESHOLD,
	.config_check = gauss_config_check,
	.state_size = gauss_state_size,
	.init = gauss_init,
	.update = gauss_update,
	.valid = gauss_valid,
};
