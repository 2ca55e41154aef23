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
 * order (values, plus timestamps only with a horizon) and as a sorted array
 * (one memmove per point, O(w)). The median is a rank lookup; the MAD is the
 * k-th smallest element of two sorted runs of distances (left of the median
 * read backwards, right of it forwards): a few steps from the last split, or
 * a binary search in O(log w). Per point, once the window is full: one
 * interleaved pair of branch-free binary searches (the leaving value and the
 * new one; on integer bit patterns when the window and x are >= 0), one
 * memmove. With many series the state is rarely cached, so an update first
 * prefetches the header and sorted array (windows up to ~500 points).
 *
 * Seasonal mode (`season` > 0; default 0 = off): the reference sample of
 * tick t is the values at ticks t - j S + o for j = 1 .. `seasons` (default
 * 5) and o = -tol .. tol (`phase_tolerance`, default 1), S = round(season /
 * step) slots: the same phase of the previous seasons and its neighbours,
 * up to seasons (2 tol + 1) values (missing ones are skipped). Median, MAD,
 * floors and score as above; warm-up: fewer than `min_points` values in the
 * sample (0 = half the full sample, at least 1). The rolling window is not
 * used (`window` is ignored, `horizon` refused). Time is the tick clock of
 * tick.h: ticks are llround(ts / step) with the step from `step` or, when 0,
 * learned from the first two timestamps (the first point is held until
 * then); a point whose ts or tick is not newer than the last one is ignored. State: a ring of H = seasons
 * S_cap + tol + 1 values indexed by tick mod H (NaN = missing; skipped ticks are cleared), S_cap = S with a
 * configured step, else `max_season_points`; refused at config time when H > 65536 (512 KB per series), when
 * the sample exceeds 255 values, or when 2 tol >= S. A learned step whose S exceeds max_season_points (or S
 * <= 2 tol) leaves the detector without opinion. Cost per point: an insertion sort of the k = seasons (2 tol
 * + 1) values, then the median and MAD of the sorted sample as above.
 *
 * Out-of-order points (ts older than the newest point) are ignored: score NaN,
 * state unchanged apart from a counter. The state is plain data (header + 2
 * arrays of `window` doubles, 3 with a horizon, or the seasonal ring); load
 * validates it fully (mad_valid). Errors: update() always returns 0.
 * @thread config shared read-only; a state belongs to one thread at a time. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/detector.h"
#include "detectors/tick.h"

struct mad_cfg {
	int window;
	int min_points; /* 0 = window / 2 (seasonal: half the sample) */
	double abs_floor, rel_floor;
	double z_threshold;
	double horizon; /* seconds; 0 = count-based only */
	double season;  /* seconds; 0 = rolling window */
	double step;    /* seasonal: seconds; 0 = learn */
	int seasons, tol, max_season_points;
	int hlen; /* derived, seasonal: ring length H */
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
	/* seasonal mode only (0 otherwise) */
	int32_t hlen;     /* ring length H (checked on load) */
	int32_t slots;    /* S; 0 until the step is known */
	int32_t disabled; /* learned step gives an S that does not fit */
	int32_t pad2;
	double step;
	double first_ts, first_x; /* held first point while the step is unknown */
	int64_t last_tick;
	double data[]; /* sorted[w], ring values[w], ring ts[w] (horizon > 0 only); seasonal: hist[H] */
};

#define MAD_MAX_HIST    65536
#define MAD_MAX_SAMPLES 255

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
	{.name = "season",
	 .kind = PARAM_DURATION,
	 .def = "0",
	 .offset = offsetof(struct mad_cfg, season),
	 .help = "seasonal mode: compare with the same phase of previous seasons; 0 = rolling window",
	 .min = 0,
	 .max = 1e10},
	{.name = "seasons",
	 .kind = PARAM_INT,
	 .def = "5",
	 .offset = offsetof(struct mad_cfg, seasons),
	 .help = "seasonal mode: previous seasons in the reference sample",
	 .min = 1,
	 .max = MAD_MAX_SAMPLES},
	{.name = "phase_tolerance",
	 .kind = PARAM_INT,
	 .def = "1",
	 .offset = offsetof(struct mad_cfg, tol),
	 .help = "seasonal mode: also take +/- this many neighbouring slots of each season",
	 .min = 0,
	 .max = MAD_MAX_SAMPLES},
	{.name = "step",
	 .kind = PARAM_DURATION,
	 .def = "0",
	 .offset = offsetof(struct mad_cfg, step),
	 .help = "seasonal mode: series step; 0 = learn it from the first two timestamps",
	 .min = 0,
	 .max = 1e9},
	{.name = "max_season_points",
	 .kind = PARAM_INT,
	 .def = "1440",
	 .offset = offsetof(struct mad_cfg, max_season_points),
	 .help = "seasonal mode with a learned step: slots per season the state is sized for",
	 .min = 2,
	 .max = MAD_MAX_HIST},
	{.name = NULL},
};

static int mad_config_check(void *vcfg, char *err, size_t errlen)
{
	struct mad_cfg *c = vcfg;
	if (c->season > 0) {
		int k = c->seasons * (2 * c->tol + 1);
		double slots = c->step > 0 ? round(c->season / c->step) : c->max_season_points, h;
		if (c->horizon > 0) {
			snprintf(
				err, errlen,
				"parameter 'horizon': applies to the rolling window only, not with 'season'");
			return -VIGIL_EINVAL;
		}
		if (k > MAD_MAX_SAMPLES) {
			snprintf(err, errlen,
				 "seasons x (2 phase_tolerance + 1) = %d values per point exceeds the cap of "
				 "%d",
				 k, MAD_MAX_SAMPLES);
			return -VIGIL_EINVAL;
		}
		if (!(slots > 2.0 * c->tol)) {
			snprintf(err, errlen,
				 "season/step = %.0f slots: phase_tolerance %d must be below half of it",
				 slots, c->tol);
			return -VIGIL_EINVAL;
		}
		h = c->seasons * slots + c->tol + 1;
		if (h > MAD_MAX_HIST) {
			snprintf(err, errlen,
				 "seasonal state: seasons x slots + phase_tolerance + 1 = %.0f values "
				 "exceeds the cap of %d "
				 "(%s)",
				 h, MAD_MAX_HIST,
				 c->step > 0 ? "lower 'seasons' or use a coarser step"
					     : "lower 'max_season_points' or 'seasons'");
			return -VIGIL_EINVAL;
		}
		c->hlen = (int)h;
		if (c->min_points == 0)
			c->min_points = k / 2;
		if (c->min_points > k) {
			snprintf(err, errlen,
				 "parameter 'min_points': %d exceeds the %d values of the seasonal sample",
				 c->min_points, k);
			return -VIGIL_EINVAL;
		}
		if (c->min_points < 1)
			c->min_points = 1;
		return 0;
	}
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
	if (c->season > 0)
		return sizeof(struct mad_state) + (size_t)c->hlen * sizeof(double);
	return sizeof(struct mad_state) + (c->horizon > 0 ? 3 : 2) * (size_t)c->window * sizeof(double);
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
	if (c->season > 0) {
		s->hlen = c->hlen;
		s->step = c->step;
		for (int32_t i = 0; i < s->hlen; i++)
			s->data[i] = NAN;
		if (c->step > 0)
			s->slots = (int32_t)round(c->season / c->step);
	}
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

/* lower_bound() of two values in the same array (n >= 1), interleaved: the
 * two dependency chains run side by side instead of one after the other. */
static void lower_bound2(const double *a, int32_t n, double u, double v, int32_t *iu, int32_t *iv)
{
	const double *bu = a, *bv = a;
	while (n > 1) {
		int32_t h = n / 2;
		bu = bu[h] < u ? bu + h : bu;
		bv = bv[h] < v ? bv + h : bv;
		n -= h;
	}
	*iu = (int32_t)(bu - a) + (*bu < u);
	*iv = (int32_t)(bv - a) + (*bv < v);
}

static uint64_t bits_at(const double *p)
{
	uint64_t b;
	memcpy(&b, p, sizeof b);
	return b;
}

/* lower_bound2() for a[0..n) and u, v all >= +0 (no -0: update() stores
 * none): their bit patterns, read as integers, sort like the numbers, and an
 * integer load-compare chain is shorter than a floating-point one. */
static void lower_bound2_pos(const double *a, int32_t n, double u, double v, int32_t *iu, int32_t *iv)
{
	const double *bu = a, *bv = a;
	uint64_t ku = bits_at(&u), kv = bits_at(&v);
	while (n > 1) {
		int32_t h = n / 2;
		bu = bits_at(bu + h) < ku ? bu + h : bu;
		bv = bits_at(bv + h) < kv ? bv + h : bv;
		n -= h;
	}
	*iu = (int32_t)(bu - a) + (bits_at(bu) < ku);
	*iv = (int32_t)(bv - a) + (bits_at(bv) < kv);
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

/* Replace a[p] (the value leaving, p < n) by v, whose lower bound is q, in the
 * sorted a[0..n) with one shift. */
static void sorted_replace_at(double *a, int32_t p, int32_t q, double v)
{
	int32_t down = q > p; /* a coin toss: indices selected without a branch */
	int32_t lo = down ? p : q, len = down ? q - 1 - p : p - q;
	memmove(a + lo + 1 - down, a + lo + down, (size_t)len * sizeof *a);
	a[q - down] = v;
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

static double sigma_of(const struct mad_cfg *c, double med, double mad)
{
	double sigma = MAD_SCALE * mad;
	if (sigma < c->abs_floor)
		sigma = c->abs_floor;
	if (sigma < c->rel_floor * fabs(med))
		sigma = c->rel_floor * fabs(med);
	if (!(sigma > MAD_EPS))
		sigma = MAD_EPS;
	return sigma;
}

static int64_t floor_mod(int64_t a, int64_t m)
{
	int64_t r = a % m;
	return r < 0 ? r + m : r;
}

/* Seasonal mode: x at tick t (> last tick). Ring indices wrap by one
 * compare-and-add (slots + tol < H), one floor_mod per point. */
static void seasonal_point(const struct mad_cfg *c, struct mad_state *s, int64_t t, double x,
			   struct det_result *out)
{
	double v[MAD_MAX_SAMPLES], *hist = s->data, med, mad, sigma;
	int32_t hlen = s->hlen, now = (int32_t)floor_mod(t, hlen), start[MAD_MAX_SAMPLES], at;
	int n = 0, span = 2 * c->tol;

	/* clear the skipped ticks t-1 .. last_tick+1 (at most the whole ring) */
	if (t - s->last_tick > hlen) {
		for (int32_t i = 0; i < hlen; i++)
			hist[i] = NAN;
	} else {
		at = now;
		for (int64_t k = t - 1; k > s->last_tick; k--) {
			at = at == 0 ? hlen - 1 : at - 1;
			hist[at] = NAN;
		}
	}
	/* the first slot of each season, t - j S - tol, and its line asked
	 * for before the reads below wait on it */
	at = now;
	for (int j = 0; j < c->seasons; j++) {
		at -= j == 0 ? s->slots + c->tol : s->slots;
		if (at < 0)
			at += hlen;
		start[j] = at;
		__builtin_prefetch(hist + at);
		__builtin_prefetch(hist + (at + span < hlen ? at + span : hlen - 1));
	}
	for (int j = 0; j < c->seasons; j++) {
		at = start[j];
		for (int o = 0; o <= span; o++) {
			double h = hist[at];
			if (!isnan(h)) {
				/* insertion into the sorted v[0 .. n) */
				int i = n++;
				while (i > 0 && v[i - 1] > h) {
					v[i] = v[i - 1];
					i--;
				}
				v[i] = h;
			}
			at = at + 1 == hlen ? 0 : at + 1;
		}
	}
	if (n > 0) {
		/* the split takes about half of the k + 1 ~ n / 2 distances from the left */
		int32_t hint = n / 4;
		median_mad(v, n, &med, &mad, &hint);
		sigma = sigma_of(c, med, mad);
		out->expected = med;
		out->lower = med - c->z_threshold * sigma;
		out->upper = med + c->z_threshold * sigma;
		if (n >= c->min_points && isfinite(x)) {
			double z = fabs(x - med) / sigma;
			out->score = z >= c->z_threshold ? 1.0 : z / c->z_threshold;
		}
	}
	hist[now] = isfinite(x) ? x + 0.0 : NAN;
	s->last_tick = t;
}

/* Fix the step; 0, or -1 (no opinion from now on) when the season does not fit. */
static int seasonal_set_step(const struct mad_cfg *c, struct mad_state *s, double step)
{
	double slots = round(c->season / step);
	s->step = step;
	if ((!(c->step > 0) && !(slots <= c->max_season_points)) || !(slots > 2.0 * c->tol) ||
	    !(c->seasons * slots + c->tol + 1 <= s->hlen)) {
		s->disabled = 1;
		return -1;
	}
	s->slots = (int32_t)slots;
	return 0;
}

/* The tick clock's view of a seasonal state, and its callbacks (tick.h). */
struct mad_run {
	const struct mad_cfg *c;
	struct mad_state *s;
};

static int clock_set_step(void *owner, double step)
{
	struct mad_run *r = owner;
	return seasonal_set_step(r->c, r->s, step);
}

static void clock_point(void *owner, int64_t t, double x, int first, struct det_result *out)
{
	struct mad_run *r = owner;
	if (first)
		r->s->last_tick = t - 1; /* no skipped ticks to clear */
	seasonal_point(r->c, r->s, t, x, out);
}

static struct tick_clock clock_of(struct mad_state *s, struct mad_run *r)
{
	return TICK_CLOCK_OF(s, r, clock_set_step, clock_point);
}

/* Windows whose header + sorted array fit in this many bytes are prefetched
 * whole at the start of an update (see mad_update). */
#define MAD_PREFETCH_MAX 4096
#define PREFETCH8(p)                                                                                         \
	do {                                                                                                 \
		__builtin_prefetch((p));                                                                     \
		__builtin_prefetch((p) + 64);                                                                \
		__builtin_prefetch((p) + 128);                                                               \
		__builtin_prefetch((p) + 192);                                                               \
		__builtin_prefetch((p) + 256);                                                               \
		__builtin_prefetch((p) + 320);                                                               \
		__builtin_prefetch((p) + 384);                                                               \
		__builtin_prefetch((p) + 448);                                                               \
	} while (0)

static int mad_update(const void *cfg, void *state, double ts, double x, struct det_result *out)
{
	const struct mad_cfg *c = cfg;
	struct mad_state *s = state;
	double med, mad, sigma, *srt = s->data, *vals;
	int32_t n;

	out->score = out->expected = out->lower = out->upper = NAN;
	if (c->season > 0) {
		struct mad_run r = {.c = c, .s = s};
		struct tick_clock k = clock_of(s, &r);
		tick_update(&k, ts, x, out);
		return 0;
	}
	{
		/* With many series each update touches a state that is probably
		 * not cached: ask for the header and the whole sorted array at
		 * once, so the dependent loads of the searches below find their
		 * lines on the way instead of waiting for them one by one. Eight
		 * lines a round, the last round shifted back to end inside the
		 * block (a line asked twice costs nothing). Inline, not a helper:
		 * GCC finds a void function made of prefetches "pure" and drops
		 * the call. */
		const char *b = (const char *)s;
		size_t end = offsetof(struct mad_state, data) + (size_t)c->window * sizeof(double), off;
		if (end > MAD_PREFETCH_MAX)
			end = 64;
		if (end >= 512) {
			for (off = 0; off + 512 < end; off += 512)
				PREFETCH8(b + off);
			PREFETCH8(b + end - 512);
		} else {
			for (off = 0; off < end; off += 64)
				__builtin_prefetch(b + off);
		}
		__builtin_prefetch(b + end - 1);
	}
	if (!isfinite(ts) || (s->started && ts < s->last_ts)) {
		if (s->started)
			s->late++;
		return 0;
	}
	s->started = 1;
	s->last_ts = ts;
	vals = vals_of(s);
	if (c->horizon > 0)
		while (s->n > 0 && !(tss_of(s)[s->head] > ts - c->horizon))
			evict_oldest(s);
	if (!isfinite(x))
		x = NAN;
	else
		x += 0.0; /* -0 -> +0 so the sorted array and the ring agree bitwise */

	n = s->n;
	if (n > 0) {
		median_mad(srt, n, &med, &mad, &s->hint);
		sigma = sigma_of(c, med, mad);
		out->expected = med;
		out->lower = med - c->z_threshold * sigma;
		out->upper = med + c->z_threshold * sigma;
		if (n >= c->min_points && isfinite(x)) {
			double z = fabs(x - med) / sigma;
			out->score = z >= c->z_threshold ? 1.0 : z / c->z_threshold;
		}
	}
	if (isfinite(x)) {
		int32_t at = s->head + n - (s->head + n >= s->w ? s->w : 0), p, q;
		if (n == s->w) {
			/* full: the oldest point leaves, x takes its ring slot */
			double o = vals[at];
			if (!signbit(srt[0]) && !signbit(x))
				lower_bound2_pos(srt, n, o, x, &p, &q);
			else
				lower_bound2(srt, n, o, x, &p, &q);
			if (p >= n) /* cannot happen for a validated state */
				p = n - 1;
			sorted_replace_at(srt, p, q, x);
			s->head = s->head + 1 == s->w ? 0 : s->head + 1;
		} else {
			sorted_insert(srt, n, x);
			s->n = n + 1;
		}
		vals[at] = x;
		if (c->horizon > 0)
			tss_of(s)[at] = ts;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int is_neg_zero(double v)
{
	return !(v < 0) && !(v > 0) && signbit(v);
}

static int is_zero_bits(const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Check that a loaded state is one update() could have produced: the header
 * fields of the other mode still zero, counts and indices in range, values
 * finite (NaN only as a missing seasonal slot), no -0 (update() stores +0),
 * and in the rolling mode the sorted array sorted and equal to the ring's
 * points, the timestamps (with a horizon) in order and inside the horizon. */
static int mad_valid(const struct mad_cfg *c, struct mad_state *s)
{
	double *tmp, *srt = sorted_of(s), *vals = vals_of(s);
	int ok = 1;

	if (s->w != c->window || (s->started != 0 && s->started != 1) || s->pad != 0 || s->pad2 != 0 ||
	    (s->started && !isfinite(s->last_ts)) ||
	    (!s->started && !is_zero_bits(&s->last_ts, sizeof s->last_ts)))
		return 0;
	if (c->season > 0) {
		struct mad_run r = {.c = c, .s = s};
		struct tick_clock k = clock_of(s, &r);
		struct mad_state chk;
		if (s->hlen != c->hlen || s->n != 0 || s->head != 0 || s->hint != 0 || s->slots < 0 ||
		    !tick_valid(&k, s->slots > 0) || isinf(s->first_x) || !isfinite(s->first_ts))
			return 0;
		if (c->step > 0 && memcmp(&s->step, &c->step, sizeof s->step) != 0)
			return 0;
		if (s->slots > 0) {
			memset(&chk, 0, sizeof chk);
			chk.hlen = s->hlen;
			if (!(s->step > 0) || seasonal_set_step(c, &chk, s->step) != 0 ||
			    chk.slots != s->slots)
				return 0;
		}
		for (int32_t i = 0; i < s->hlen; i++)
			if (isinf(s->data[i]) || is_neg_zero(s->data[i]))
				return 0;
		return 1;
	}
	if (s->hlen != 0 || s->slots != 0 || s->disabled != 0 || s->n < 0 || s->n > s->w || s->head < 0 ||
	    s->head >= s->w || s->hint < 0 || s->hint > s->w || (!s->started && s->n != 0) ||
	    !is_zero_bits(&s->step, offsetof(struct mad_state, data) - offsetof(struct mad_state, step)))
		return 0;
	if (s->n == 0)
		return 1;
	tmp = malloc((size_t)s->n * sizeof *tmp);
	if (tmp == NULL)
		return 0;
	for (int32_t i = 0; i < s->n && ok; i++) {
		int32_t at = (s->head + i) % s->w;
		ok = isfinite(vals[at]) && !is_neg_zero(vals[at]) && isfinite(srt[i]) &&
		     (i == 0 || !(srt[i] < srt[i - 1]));
		if (ok && c->horizon > 0) {
			double t = tss_of(s)[at], prev = tss_of(s)[at > 0 ? at - 1 : s->w - 1];
			ok = isfinite(t) && !(t > s->last_ts) && t > s->last_ts - c->horizon &&
			     (i == 0 || !(t < prev));
		}
		tmp[i] = vals[at];
	}
	if (ok) {
		qsort(tmp, (size_t)s->n, sizeof *tmp, cmp_double);
		ok = memcmp(tmp, srt, (size_t)s->n * sizeof *tmp) == 0;
	}
	free(tmp);
	return ok;
}

/* The vtable's form of mad_valid (which only reads the state; the accessors
 * it uses take a non-const pointer). */
static int mad_valid_state(const void *cfg, const void *state)
{
	return mad_valid(cfg, (struct mad_state *)(uintptr_t)state);
}

const struct detector_type det_mad = {
	.name = "mad",
	.summary = "rolling (or same-phase seasonal) median/MAD robust z-score (spikes, robustly)",
	.state_version = 3,
	.params = mad_params,
	.config_size = sizeof(struct mad_cfg),
	.default_threshold = 1.0,
	.config_check = mad_config_check,
	.state_size = mad_state_size,
	.init = mad_init,
	.update = mad_update,
	.valid = mad_valid_state,
};
