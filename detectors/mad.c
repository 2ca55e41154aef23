/* Rolling median / MAD, see ../shared/docs/detectors.md §3.
 *
 *   med = median of the window, MAD = median |v - med| over the window,
 *   sigma = max(1.4826 * MAD, abs_floor, rel_floor * |med|, 1e-300)
 *   z = (x - med) / sigma, score = min(1, |z| / z_threshold)
 *
 * The point is scored against the window *before* it is inserted, so the band
 * med -/+ z_threshold * sigma is the one known before the point arrived; the
 * default threshold 1.0 means |z| >= z_threshold.
 *
 * Window: the last `window` finite points (count based); with `horizon` > 0
 * points older than ts - horizon are evicted as well (time based; this runs
 * on gaps too, so a long gap empties the window and the detector warms up
 * again). NaN never enters the window. Warm-up: score NaN while the window
 * holds fewer than `min_points` points (0 = window / 2).
 *
 * Exact streaming: the state holds the window twice, as a ring in insertion
 * order (values + timestamps) and as a sorted array (memmove insert/delete,
 * O(w)). The median is a rank lookup; the MAD is the k-th smallest element of
 * two sorted runs of distances (left of the median read backwards, right of it
 * forwards), found by binary search in O(log w).
 *
 * Not done: seasonal alignment (comparing against the same phase of previous
 * seasons); use holtwinters for seasonal series.
 *
 * Out-of-order points (ts older than the newest point) are ignored: score NaN,
 * state unchanged apart from a counter. The state is plain data (header + 3
 * arrays of `window` doubles); load validates it fully. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/detector.h"

struct mad_cfg {
	int window;
	int min_points; /* 0 = window / 2 */
	double abs_floor, rel_floor;
	double z_threshold;
	double horizon; /* seconds; 0 = count-based only */
};

struct mad_state {
	int32_t w;       /* capacity (copied from the config, checked on load) */
	int32_t n;       /* points in the window */
	int32_t head;    /* ring index of the oldest point */
	int32_t started; /* a point (finite or not) with a valid ts was seen */
	int32_t hint;    /* last MAD split (distances taken from the left run); any value is safe */
	int32_t pad;
	double last_ts;
	uint64_t late; /* ignored out-of-order points */
	double data[]; /* sorted[w], ring values[w], ring ts[w] */
};

#define MAD_SCALE 1.4826
#define MAD_EPS   1e-300

static const struct param_spec mad_params[] = {
	{.name = "window",
	 .kind = PARAM_INT,
	 .def = "240",
	 .offset = offsetof(struct mad_cfg, window),
	 .help = "window length in points",
	 .min = 3,
	 .max = 100000},
	{.name = "min_points",
	 .kind = PARAM_INT,
	 .def = "0",
	 .offset = offsetof(struct mad_cfg, min_points),
	 .help = "warm-up: points needed before scoring; 0 = window/2",
	 .min = 0,
	 .max = 100000},
	{.name = "abs_floor",
	 .kind = PARAM_DOUBLE,
	 .def = "0",
	 .offset = offsetof(struct mad_cfg, abs_floor),
	 .help = "lower bound on sigma (absolute), for flat or quantised series",
	 .min = 0,
	 .max = 1e300},
	{.name = "rel_floor",
	 .kind = PARAM_DOUBLE,
	 .def = "0.01",
	 .offset = offsetof(struct mad_cfg, rel_floor),
	 .help = "lower bound on sigma as a fraction of |median| (0.01: a flat series tolerates "
		 "z_threshold %)",
	 .min = 0,
	 .max = 1e6},
	{.name = "z_threshold",
	 .kind = PARAM_DOUBLE,
	 .def = "6",
	 .offset = offsetof(struct mad_cfg, z_threshold),
	 .help = "|z| at which the score reaches 1 (band = median -/+ z_threshold*sigma)",
	 .min = 1e-6,
	 .max = 1e6},
	{.name = "horizon",
	 .kind = PARAM_DURATION,
	 .def = "0",
	 .offset = offsetof(struct mad_cfg, horizon),
	 .help = "also evict points older than this (time-based window); 0 = off",
	 .min = 0,
	 .max = 1e10},
	{.name = NULL},
};

static int mad_config_check(void *vcfg, char *err, size_t errlen)
{
	struct mad_cfg *c = vcfg;
	if (c->min_points == 0)
		c->min_points = c->window / 2;
	if (c->min_points > c->window) {
		snprintf(err, errlen, "parameter 'min_points': %d exceeds window %d", c->min_points,
			 c->window);
		return -VIGIL_EINVAL;
	}
	if (c->min_points < 1)
		c->min_points = 1;
	return 0;
}

static size_t mad_state_size(const void *cfg)
{
	const struct mad_cfg *c = cfg;
	return sizeof(struct mad_state) + 3 * (size_t)c->window * sizeof(double);
}

static double *sorted_of(struct mad_state *s)
{
	return s->data;
}
static double *vals_of(struct mad_state *s)
{
	return s->data + s->w;
}
static double *tss_of(struct mad_state *s)
{
	return s->data + 2 * (size_t)s->w;
}

static int mad_init(const void *cfg, void *state)
{
	const struct mad_cfg *c = cfg;
	struct mad_state *s = state;
	memset(s, 0, mad_state_size(cfg));
	s->w = c->window;
	return 0;
}

/* First index i in a[0..n) with !(a[i] < v). Branch-free halving: the data
 * is a random walk, so a branchy search mispredicts at every level. */
static int32_t lower_bound(const double *a, int32_t n, double v)
{
	const double *b = a;
	if (n == 0)
		return 0;
	while (n > 1) {
		int32_t h = n / 2;
		b = b[h] < v ? b + h : b;
		n -= h;
	}
	return (int32_t)(b - a) + (*b < v);
}

static void sorted_insert(double *a, int32_t n, double v)
{
	int32_t i = lower_bound(a, n, v);
	memmove(a + i + 1, a + i, (size_t)(n - i) * sizeof *a);
	a[i] = v;
}

static void sorted_remove(double *a, int32_t n, double v)
{
	int32_t i = lower_bound(a, n, v);
	if (i >= n) /* cannot happen for a validated state; keep the count right */
		i = n - 1;
	memmove(a + i, a + i + 1, (size_t)(n - i - 1) * sizeof *a);
}

static void evict_oldest(struct mad_state *s)
{
	sorted_remove(sorted_of(s), s->n, vals_of(s)[s->head]);
	s->head = s->head + 1 == s->w ? 0 : s->head + 1;
	s->n--;
}

/* Replace the value o (present) by v in the sorted a[0..n) with one memmove. */
static void sorted_replace(double *a, int32_t n, double o, double v)
{
	int32_t p = lower_bound(a, n, o), q = lower_bound(a, n, v);
	if (p >= n) /* cannot happen for a validated state */
		p = n - 1;
	if (q <= p) {
		memmove(a + q + 1, a + q, (size_t)(p - q) * sizeof *a);
		a[q] = v;
	} else {
		memmove(a + p, a + p + 1, (size_t)(q - 1 - p) * sizeof *a);
		a[q - 1] = v;
	}
}

static double median_sorted(const double *a, int32_t n)
{
	if (n % 2)
		return a[n / 2];
	return 0.5 * a[n / 2 - 1] + 0.5 * a[n / 2];
}

/* Distances from m: the left run a[p-1], a[p-2], ... and the right run
 * a[p], a[p+1], ... are each sorted ascending. */
struct runs {
	const double *a;
	int32_t p, nl, nr;
	double m;
};

static double left_d(const struct runs *r, int32_t j)
{
	return r->m - r->a[r->p - 1 - j];
}
static double right_d(const struct runs *r, int32_t j)
{
	return r->a[r->p + j] - r->m;
}

/* The k-th (0-based) smallest distance, and in *next the (k+1)-th (or the
 * k-th again when there is none). Taking i distances from the left run and
 * j = k + 1 - i from the right one, i ranges over [lo, hi]; "too few from the
 * left" (right_d(j-1) > left_d(i)) is true for small i and false at hi, and
 * the first i where it is false is the split (branch-free search). */
static double kth_distance(const struct runs *r, int32_t k, double *next, int32_t *hint)
{
	int32_t lo = k + 1 - r->nr, hi = k + 1 < r->nl ? k + 1 : r->nl, i, j, n, steps = 0;
	double kth, nx;

	if (lo < 0)
		lo = 0;
	/* the split moves little between points: walk a few steps from the last one */
	i = *hint < lo ? lo : *hint > hi ? hi : *hint;
	while (i < hi && right_d(r, k - i) > left_d(r, i) && steps < 4) {
		i++;
		steps++;
	}
	while (i > lo && !(right_d(r, k - i + 1) > left_d(r, i - 1)) && steps < 4) {
		i--;
		steps++;
	}
	if (steps == 4) {
		i = lo;
		n = hi - lo + 1;
		while (n > 1) {
			int32_t h = n / 2, m = i + h - 1; /* lo <= m < hi: both runs indexable */
			i = right_d(r, k - m) > left_d(r, m) ? i + h : i;
			n -= h;
		}
	}
	*hint = i;
	j = k + 1 - i;
	kth = -INFINITY;
	if (i > 0)
		kth = left_d(r, i - 1);
	if (j > 0 && right_d(r, j - 1) > kth)
		kth = right_d(r, j - 1);
	nx = INFINITY;
	if (i < r->nl)
		nx = left_d(r, i);
	if (j < r->nr && right_d(r, j) < nx)
		nx = right_d(r, j);
	*next = isfinite(nx) ? nx : kth;
	return kth;
}

/* Median and MAD of a sorted array of n >= 1 values. */
static void median_mad(const double *a, int32_t n, double *med, double *mad, int32_t *hint)
{
	struct runs r = {.a = a, .p = n / 2, .nl = n / 2, .nr = n - n / 2};
	double next, kth;

	r.m = median_sorted(a, n);
	*med = r.m;
	if (n % 2) {
		*mad = kth_distance(&r, n / 2, &next, hint);
	} else {
		kth = kth_distance(&r, n / 2 - 1, &next, hint);
		*mad = 0.5 * kth + 0.5 * next;
	}
}

static int mad_update(const void *cfg, void *state, double ts, double x, struct det_result *out)
{
	const struct mad_cfg *c = cfg;
	struct mad_state *s = state;
	double med, mad, sigma;

	out->score = out->expected = out->lower = out->upper = NAN;
	if (!isfinite(ts) || (s->started && ts < s->last_ts)) {
		if (s->started)
			s->late++;
		return 0;
	}
	s->started = 1;
	s->last_ts = ts;
	if (c->horizon > 0)
		while (s->n > 0 && !(tss_of(s)[s->head] > ts - c->horizon))
			evict_oldest(s);
	if (!isfinite(x))
		x = NAN;
	else
		x += 0.0; /* -0 -> +0 so the sorted array and the ring agree bitwise */

	if (s->n > 0) {
		median_mad(sorted_of(s), s->n, &med, &mad, &s->hint);
		sigma = MAD_SCALE * mad;
		if (sigma < c->abs_floor)
			sigma = c->abs_floor;
		if (sigma < c->rel_floor * fabs(med))
			sigma = c->rel_floor * fabs(med);
		if (!(sigma > MAD_EPS))
			sigma = MAD_EPS;
		out->expected = med;
		out->lower = med - c->z_threshold * sigma;
		out->upper = med + c->z_threshold * sigma;
		if (s->n >= c->min_points && isfinite(x)) {
			double z = fabs(x - med) / sigma;
			out->score = z >= c->z_threshold ? 1.0 : z / c->z_threshold;
		}
	}
	if (isfinite(x)) {
		if (s->n == s->w) {
			/* full: the oldest slot takes the new point */
			sorted_replace(sorted_of(s), s->n, vals_of(s)[s->head], x);
			vals_of(s)[s->head] = x;
			tss_of(s)[s->head] = ts;
			s->head = s->head + 1 == s->w ? 0 : s->head + 1;
		} else {
			int32_t at = (s->head + s->n) % s->w;
			vals_of(s)[at] = x;
			tss_of(s)[at] = ts;
			sorted_insert(sorted_of(s), s->n, x);
			s->n++;
		}
	}
	return 0;
}

static int mad_save(const void *cfg, const void *state, struct buf *out)
{
	buf_put(out, state, mad_state_size(cfg));
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Check that a loaded state is one update() could have produced. */
static int mad_valid(const struct mad_cfg *c, struct mad_state *s)
{
	double *tmp, *srt = sorted_of(s), *vals = vals_of(s), *tss = tss_of(s);
	int ok = 1;

	if (s->w != c->window || s->n < 0 || s->n > s->w || s->head < 0 || s->head >= s->w ||
	    (s->started != 0 && s->started != 1) || (s->started && !isfinite(s->last_ts)))
		return 0;
	if (s->n == 0)
		return 1;
	tmp = malloc((size_t)s->n * sizeof *tmp);
	if (tmp == NULL)
		return 0;
	for (int32_t i = 0; i < s->n && ok; i++) {
		int32_t at = (s->head + i) % s->w;
		ok = isfinite(vals[at]) && isfinite(tss[at]) && !(tss[at] > s->last_ts) && isfinite(srt[i]) &&
		     (i == 0 || !(srt[i] < srt[i - 1]));
		tmp[i] = vals[at];
	}
	if (ok) {
		qsort(tmp, (size_t)s->n, sizeof *tmp, cmp_double);
		ok = memcmp(tmp, srt, (size_t)s->n * sizeof *tmp) == 0;
	}
	free(tmp);
	return ok;
}

static int mad_load(const void *cfg, void *state, const uint8_t *data, size_t len)
{
	if (len != mad_state_size(cfg))
		return -VIGIL_EINVAL;
	memcpy(state, data, len);
	if (!mad_valid(cfg, state)) {
		mad_init(cfg, state);
		return -VIGIL_EINVAL;
	}
	return 0;
}

const struct detector_type det_mad = {
	.name = "mad",
	.summary = "rolling median/MAD robust z-score (spikes, robustly)",
	.state_version = 1,
	.params = mad_params,
	.config_size = sizeof(struct mad_cfg),
	.default_threshold = 1.0,
	.config_check = mad_config_check,
	.state_size = mad_state_size,
	.init = mad_init,
	.update = mad_update,
	.save = mad_save,
	.load = mad_load,
};
