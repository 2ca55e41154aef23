/* Unit tests for the baseline detectors (des, sdes, mad, holtwinters,
 * gaussian) and generic contract checks run over every registered detector:
 * save -> load -> continue == uninterrupted, gaps, score range, refusal of
 * truncated / garbage / wrong-version state. Known answers come from
 * ../shared/docs/detectors.md or are computed by hand in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/testutil.h"
#include <gsl/gsl_errno.h>

#include "core/buf.h"
#include "detectors/detector.h"

static void assert_same_result(const struct det_result *a, const struct det_result *b, double tol)
{
	assert_near(a->score, b->score, tol);
	assert_near(a->expected, b->expected, tol);
	assert_near(a->lower, b->lower, tol);
	assert_near(a->upper, b->upper, tol);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* ---- DES / SDES ------------------------------------------------------ */

static const double des_in[] = {1.0, 1.5, 1.6, 1.7, 1.4, 1.3, 1.2, 1.0, 0, 0, 1.0, 1.1, 1.2, 1.2};

static void test_des__doc_vector(void **st)
{
	(void)st;
	/* detectors.md §1: training 2, alpha 0.1, beta 0.02 */
	const double want[] = {NAN, NAN, 1.05, 1.1059, 1.1671982};
	/* Atlas's equations: robust feeding off */
	struct kv set[] = {{"training", "2", NULL},
			   {"alpha", "0.1", NULL},
			   {"beta", "0.02", NULL},
			   {"robust", "false", NULL}};
	struct rig r;
	rig_open(&r, "des", set, 4);
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(want); i++) {
		struct det_result o = rig_feed(&r, 1000 + 60.0 * (double)i, des_in[i]);
		assert_near(o.expected, want[i], 1e-12);
		if (isnan(want[i]))
			assert_true(isnan(o.score));
	}
	rig_close(&r);
}

static void test_sdes__doc_vector(void **st)
{
	(void)st;
	const double want[] = {NAN, NAN, 1.05, 1.1059, 1.61, 1.58918};
	/* Atlas's equations: robust feeding off */
	struct kv set[] = {{"training", "2", NULL},
			   {"alpha", "0.1", NULL},
			   {"beta", "0.02", NULL},
			   {"robust", "false", NULL}};
	struct rig r;
	rig_open(&r, "sdes", set, 4);
	/* ts 0, 60, ...: the swap blocks [0,120), [120,240), ... start with the data */
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(want); i++) {
		struct det_result o = rig_feed(&r, 60.0 * (double)i, des_in[i]);
		assert_near(o.expected, want[i], 1e-12);
	}
	rig_close(&r);
}

static void test_des__epic_band(void **st)
{
	(void)st;
	struct kv set[] = {{"training", "2", NULL}, {"noise", "0.5", NULL}};
	struct kv nolow[] = {{"training", "2", NULL}, {"min_percent", "nan", NULL}};
	struct rig r;
	struct det_result o;

	rig_open(&r, "des", set, 2);
	rig_feed(&r, 0, 1.0);
	rig_feed(&r, 60, 1.5); /* s = 1.05 */
	o = rig_feed(&r, 120, 1.6);
	/* p = 1.05: lower = min(1.05 - 0.5, 1.05 * 0.8) = 0.55, upper = max(1.55, 1.26) = 1.55 */
	assert_near(o.expected, 1.05, 1e-12);
	assert_near(o.lower, 0.55, 1e-12);
	assert_near(o.upper, 1.55, 1e-12);
	assert_near(o.score, 1.0, 0); /* 1.6 > 1.55 */
	rig_close(&r);

	/* graded inside the band, 1 exactly when the firing condition holds */
	rig_open(&r, "des", set, 2);
	rig_feed(&r, 0, 1.0);
	rig_feed(&r, 60, 1.5);
	o = rig_feed(&r, 120, 1.3); /* p = 1.05, half-width to the upper bound 0.5 */
	assert_near(o.score, 0.5 * 0.25 / 0.5, 1e-12);
	rig_close(&r);

	/* negative p: the band is [p - noise, p + noise] by the same formula */
	rig_open(&r, "des", set, 2);
	rig_feed(&r, 0, -10);
	rig_feed(&r, 60, -10);
	o = rig_feed(&r, 120, -10.6);
	assert_near(o.lower, -10.5, 1e-12);
	assert_near(o.upper, -9.5, 1e-12);
	assert_near(o.score, 1.0, 0);
	rig_close(&r);

	/* a NaN percent disables that side */
	rig_open(&r, "des", nolow, 2);
	rig_feed(&r, 0, 100);
	rig_feed(&r, 60, 100);
	o = rig_feed(&r, 120, 1);
	assert_true(isnan(o.lower));
	assert_near(o.upper, 120, 1e-12);
	assert_true(o.score >= 0 && o.score < 1);
	rig_close(&r);
}

static void test_des__gaps_restart(void **st)
{
	(void)st;
	struct kv set[] = {{"training", "3", NULL}};
	struct rig r;
	struct det_result o;

	rig_open(&r, "des", set, 1);
	for (int i = 0; i < 5; i++)
		rig_feed(&r, 60.0 * i, 10 + i);
	o = rig_feed(&r, 300, NAN); /* one gap: state kept */
	assert_true(isnan(o.score));
	assert_true(isfinite(o.expected));
	o = rig_feed(&r, 360, 20);
	assert_true(isfinite(o.expected));
	/* 3 skipped ticks (420, 480, 540) = training: restart */
	o = rig_feed(&r, 600, 20);
	assert_true(isnan(o.expected));
	rig_feed(&r, 660, 20);
	rig_feed(&r, 720, 20);
	o = rig_feed(&r, 780, 20); /* three samples seen again */
	assert_near(o.expected, 20, 1e-12);
	/* out of order: ignored */
	o = rig_feed(&r, 100, 1e9);
	assert_true(isnan(o.score));
	o = rig_feed(&r, 840, 20);
	assert_near(o.expected, 20, 1e-12);
	rig_close(&r);
}

/* ---- MAD ------------------------------------------------------------- */

#define NGEN_RT 4000
static double rng_gauss(void);
static void save_state(struct rig *r, struct buf *b);

static void test_mad__hand_computed(void **st)
{
	(void)st;
	struct kv set[] = {{"window", "5", NULL},
			   {"min_points", "1", NULL},
			   {"rel_floor", "0", NULL},
			   {"z_threshold", "2", NULL}};
	struct rig r;
	struct det_result o;

	rig_open(&r, "mad", set, 4);
	o = rig_feed(&r, 0, 1);
	assert_true(isnan(o.score) && isnan(o.expected));
	rig_feed(&r, 1, 2);
	rig_feed(&r, 2, 4);
	rig_feed(&r, 3, 8);
	/* window {1,2,4,8}: median 3, |dev| {2,1,1,5} -> MAD (1+2)/2 = 1.5 */
	o = rig_feed(&r, 4, 16);
	assert_near(o.expected, 3, 1e-15);
	assert_near(o.upper, 3 + 2 * 1.4826 * 1.5, 1e-12);
	assert_near(o.lower, 3 - 2 * 1.4826 * 1.5, 1e-12);
	assert_near(o.score, 1.0, 0); /* |16-3| / 2.2239 = 5.8 > 2 */
	/* window {1,2,4,8,16}: median 4, |dev| {3,2,0,4,12} -> MAD 3 */
	o = rig_feed(&r, 5, 5);
	assert_near(o.expected, 4, 1e-15);
	assert_near(o.upper, 4 + 2 * 1.4826 * 3, 1e-12);
	assert_near(o.score, (1 / (1.4826 * 3)) / 2, 1e-12);
	/* window full: 1 left, {2,4,8,16,5}: median 5, |dev| {3,1,3,11,0} -> MAD 3 */
	o = rig_feed(&r, 6, 5);
	assert_near(o.expected, 5, 1e-15);
	assert_near(o.upper, 5 + 2 * 1.4826 * 3, 1e-12);
	assert_near(o.score, 0, 0);
	rig_close(&r);
}

static void test_mad__zero_mad_floors(void **st)
{
	(void)st;
	struct kv rel[] = {{"window", "5", NULL}, {"min_points", "5", NULL}, {"z_threshold", "4", NULL}};
	struct kv abs[] = {{"window", "5", NULL},
			   {"min_points", "5", NULL},
			   {"z_threshold", "4", NULL},
			   {"abs_floor", "0.2", NULL}};
	struct kv none[] = {{"window", "5", NULL}, {"min_points", "5", NULL}, {"rel_floor", "0", NULL}};
	const double v[] = {5, 5, 7, 5, 5};
	struct rig r;
	struct det_result o;

	/* {5,5,7,5,5}: median 5, MAD 0 -> sigma = rel_floor (0.01) * 5 = 0.05 */
	rig_open(&r, "mad", rel, 3);
	for (int i = 0; i < 4; i++) {
		o = rig_feed(&r, i, v[i]);
		assert_true(isnan(o.score)); /* warm-up: fewer than min_points */
	}
	rig_feed(&r, 4, v[4]);
	o = rig_feed(&r, 5, 5.1);
	assert_near(o.upper, 5 + 4 * 0.05, 1e-12);
	assert_near(o.score, (0.1 / 0.05) / 4, 1e-9);
	rig_close(&r);

	rig_open(&r, "mad", abs, 4);
	for (int i = 0; i < 5; i++)
		rig_feed(&r, i, v[i]);
	o = rig_feed(&r, 5, 5);
	assert_near(o.upper, 5 + 4 * 0.2, 1e-12);
	assert_near(o.score, 0, 0);
	rig_close(&r);

	/* no floors: sigma is tiny but not 0, any change scores 1, no change 0 */
	rig_open(&r, "mad", none, 3);
	for (int i = 0; i < 5; i++)
		rig_feed(&r, i, v[i]);
	o = rig_feed(&r, 5, 5);
	assert_near(o.score, 0, 0);
	o = rig_feed(&r, 6, 5.001);
	assert_near(o.score, 1, 0);
	rig_close(&r);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : 0.5 * v[n / 2 - 1] + 0.5 * v[n / 2];
}

/* The streaming median/MAD equals a sort-based one on every window. */
static void check_mad_brute(int w, int quantised)
{
	char wtext[16];
	struct kv set[] = {{"window", wtext, NULL},
			   {"min_points", "1", NULL},
			   {"rel_floor", "0", NULL},
			   {"z_threshold", "1", NULL}};
	double hist[4000], tmp[200];
	struct rig r;

	snprintf(wtext, sizeof wtext, "%d", w);
	rig_open(&r, "mad", set, 4);
	for (int i = 0; i < 4000; i++) {
		double x = quantised ? (double)(rng_next() % 7) : rng_unit() * 100 - 50;
		struct det_result o = rig_feed(&r, i, x);
		int n = i < w ? i : w;
		if (n > 0) {
			double med, mad;
			for (int k = 0; k < n; k++)
				tmp[k] = hist[i - n + k];
			med = median_of(tmp, n);
			for (int k = 0; k < n; k++)
				tmp[k] = fabs(hist[i - n + k] - med);
			mad = median_of(tmp, n);
			assert_near(o.expected, med, 1e-12);
			assert_near(o.upper - o.expected, fmax(1.4826 * mad, 1e-300), 1e-9);
		}
		hist[i] = x;
	}
	rig_close(&r);
}

static void test_mad__matches_sorting(void **st)
{
	(void)st;
	check_mad_brute(37, 0);
	check_mad_brute(40, 0);
	check_mad_brute(37, 1);
	check_mad_brute(40, 1);
	check_mad_brute(3, 1);
	check_mad_brute(4, 0);
}

/* ---- mad: the incremental window against a brute-force recomputation ---- */

/* Which floors a brute-force check replicates (the detector's config). */
struct mad_ref {
	double zt, abs_floor, rel_floor;
	int min_points;
};

/* What update() must return for x scored against the reference values
 * v[0..n): median and MAD by sorting copies, sigma and score as
 * detectors.md §3 and the header of detectors/mad.c define them, in the same
 * floating-point operations, so the comparison is exact. */
static struct det_result mad_brute(const struct mad_ref *ref, const double *v, int n, double x)
{
	struct det_result r = {NAN, NAN, NAN, NAN};
	double *t, med, mad, sigma;

	if (n == 0)
		return r;
	t = malloc((size_t)n * sizeof *t);
	assert_non_null(t);
	memcpy(t, v, (size_t)n * sizeof *t);
	med = median_of(t, n);
	for (int k = 0; k < n; k++)
		t[k] = fabs(v[k] - med);
	mad = median_of(t, n);
	free(t);
	sigma = 1.4826 * mad;
	if (sigma < ref->abs_floor)
		sigma = ref->abs_floor;
	if (sigma < ref->rel_floor * fabs(med))
		sigma = ref->rel_floor * fabs(med);
	if (!(sigma > 1e-300))
		sigma = 1e-300;
	r.expected = med;
	r.lower = med - ref->zt * sigma;
	r.upper = med + ref->zt * sigma;
	if (n >= ref->min_points && isfinite(x)) {
		double z = fabs(x - med) / sigma;
		r.score = z >= ref->zt ? 1.0 : z / ref->zt;
	}
	return r;
}

/* A value of the test streams: a random walk, small integers (many
 * duplicates), spikes, -0, NaN and +-inf. */
static double mad_stream_value(double *walk)
{
	uint64_t r = rng_next() % 100;
	*walk += rng_unit() - 0.5;
	if (r < 3)
		return NAN;
	if (r < 4)
		return rng_next() % 2 ? INFINITY : -INFINITY;
	if (r < 6)
		return -0.0;
	if (r < 40)
		return (double)(rng_next() % 5) - 1;
	if (r == 99)
		return *walk + 100;
	return *walk;
}

/* Save the state and load it back (the raw copy + valid() path): every state
 * update() produces must be accepted. */
static void mad_save_load(struct rig *r, int i)
{
	struct buf sv = {0};
	save_state(r, &sv);
	memset(r->state, 0, det_state_size(&r->d));
	if (det_state_load(&r->d, r->state, sv.data, sv.len) != 0)
		fail_msg("mad: load of its own save refused at point %d", i);
	buf_free(&sv);
}

#define MAD_NBRUTE 20000

/* Rolling window of w points (horizon in seconds, 0 = none), 20,000 points
 * (4,000 under valgrind: still several windows of 600 and three
 * save/load round trips) with gaps (NaN/inf values and time jumps), duplicate and out-of-order
 * timestamps: every output equals the brute force over the window the
 * header defines (the last w finite points, without those older than
 * ts - horizon), bit for bit. */
static void check_mad_rolling_brute(int w, double horizon, const struct mad_ref *ref)
{
	static double pts_x[MAD_NBRUTE], pts_t[MAD_NBRUTE], win[MAD_NBRUTE];
	char wtext[16], htext[32], zt[32], af[32], rf[32], mp[16];
	struct kv set[] = {{"window", wtext, NULL}, {"z_threshold", zt, NULL}, {"abs_floor", af, NULL},
			   {"rel_floor", rf, NULL}, {"min_points", mp, NULL},  {"horizon", htext, NULL}};
	double ts = 1.7e9, last = -INFINITY, walk = 0;
	int npts = 0, finite = 0;
	struct rig r;

	snprintf(wtext, sizeof wtext, "%d", w);
	snprintf(htext, sizeof htext, "%.0fs", horizon);
	snprintf(zt, sizeof zt, "%.17g", ref->zt);
	snprintf(af, sizeof af, "%.17g", ref->abs_floor);
	snprintf(rf, sizeof rf, "%.17g", ref->rel_floor);
	snprintf(mp, sizeof mp, "%d", ref->min_points);
	const int npoints = test_workload(MAD_NBRUTE, MAD_NBRUTE / 5);
	rig_open(&r, "mad", set, VIGIL_ARRAY_LEN(set));
	for (int i = 0; i < npoints; i++) {
		uint64_t g = rng_next() % 1000;
		double t, x = mad_stream_value(&walk);
		struct det_result o, want;
		int n = 0;

		if (g < 4)
			t = last - 60.0 * (double)(1 + rng_next() % 3); /* out of order: ignored */
		else if (g < 9)
			t = ts; /* same timestamp again: accepted */
		else if (g < 12)
			t = ts += 60.0 * (double)(rng_next() % 100); /* a time gap */
		else
			t = ts += 60.0;
		o = rig_feed(&r, t, x);
		if (!isfinite(t) || t < last) {
			struct det_result none = {NAN, NAN, NAN, NAN};
			assert_same_result(&o, &none, 0);
			continue;
		}
		last = t;
		/* the window: the last w finite points, inside the horizon */
		for (int k = npts - 1; k >= 0 && n < w; k--) {
			if (horizon > 0 && !(pts_t[k] > t - horizon))
				break;
			win[n++] = pts_x[k];
		}
		want = mad_brute(ref, win, n, x);
		if (!(isnan(o.expected) && isnan(want.expected)) &&
		    (fabs(o.expected - want.expected) > 0 || fabs(o.lower - want.lower) > 0 ||
		     fabs(o.upper - want.upper) > 0))
			fail_msg("mad w=%d horizon=%g point %d (window of %d): got median %.17g band "
				 "[%.17g, %.17g], brute force %.17g [%.17g, %.17g]",
				 w, horizon, i, n, o.expected, o.lower, o.upper, want.expected, want.lower,
				 want.upper);
		assert_same_result(&o, &want, 0);
		finite += isfinite(o.score);
		if (isfinite(x)) {
			pts_x[npts] = x + 0.0;
			pts_t[npts++] = t;
		}
		if (i % 1500 == 700)
			mad_save_load(&r, i);
	}
	if (finite < npoints / 2)
		fail_msg("mad w=%d: only %d finite scores", w, finite);
	rig_close(&r);
}

static void test_mad__rolling_matches_brute_force(void **st)
{
	(void)st;
	struct mad_ref plain = {.zt = 3, .min_points = 1};
	struct mad_ref floors = {.zt = 4.5, .abs_floor = 0.2, .rel_floor = 0.05, .min_points = 7};

	rng_state = 0x5eed0001ull;
	check_mad_rolling_brute(41, 0, &plain);
	check_mad_rolling_brute(240, 0, &floors);
	check_mad_rolling_brute(40, 1800, &plain);
	check_mad_rolling_brute(3, 0, &plain);
	check_mad_rolling_brute(600, 7200, &floors);
}

#define MAD_T0 28333334.0 /* a tick number near 1.7e9 s / 60 s */

/* Seasonal mode (season 10 min, step 1 min: S = 10 slots; 3 seasons, +-1
 * slot), configured or learned step, 20,000 points with jittered timestamps,
 * NaN/inf values, skipped ticks, long gaps, duplicate and out-of-order
 * timestamps: every output equals the brute force over the finite values
 * fed at ticks t - j S + o (j = 1..3, o = -1..1), bit for bit. */
static void check_mad_seasonal_brute(const struct kv *set, size_t nset, const struct mad_ref *ref)
{
	enum { S = 10, SEASONS = 3, TOL = 1, NTICK = 3 * MAD_NBRUTE };
	static double by_tick[NTICK];
	double v[SEASONS * (2 * TOL + 1)], last_ts = -INFINITY, walk = 0;
	int64_t tick = 0, last_tick = -1;
	int finite = 0;
	struct rig r;

	for (int k = 0; k < NTICK; k++)
		by_tick[k] = NAN;
	rig_open(&r, "mad", set, nset);
	for (int i = 0; i < MAD_NBRUTE && tick < NTICK - 200; i++) {
		uint64_t g = rng_next() % 1000;
		double t, x = mad_stream_value(&walk);
		struct det_result o, want;
		int64_t tk;
		int n = 0;

		if (i < 2) {
			t = 60.0 * (MAD_T0 + (double)i); /* exact: a learned step is 60 s */
			tick = i;
		} else if (g < 4) {
			t = last_ts - 60.0 * (double)(rng_next() % 3); /* out of order or a duplicate */
		} else if (g < 8) {
			t = last_ts + 1; /* a later time in the same tick */
		} else {
			tick += g < 20 ? 1 + (int64_t)(rng_next() % (g < 12 ? 80 : 5)) : 1;
			t = 60.0 * (MAD_T0 + (double)tick) + 20.0 * (rng_unit() - 0.5);
		}
		o = rig_feed(&r, t, x);
		tk = llround(t / 60.0) - (int64_t)MAD_T0;
		if (!(t > last_ts) || tk <= last_tick) {
			struct det_result none = {NAN, NAN, NAN, NAN};
			assert_same_result(&o, &none, 0);
			continue;
		}
		last_ts = t;
		last_tick = tk;
		for (int j = 1; j <= SEASONS; j++)
			for (int64_t at = tk - j * S - TOL; at <= tk - j * S + TOL; at++)
				if (at >= 0 && isfinite(by_tick[at]))
					v[n++] = by_tick[at];
		want = mad_brute(ref, v, n, x);
		if (i == 0) /* a learned step holds the first point: no output either way */
			assert_true(isnan(o.expected) && isnan(want.expected));
		assert_same_result(&o, &want, 0);
		finite += isfinite(o.score);
		by_tick[tk] = isfinite(x) ? x + 0.0 : NAN;
		if (i % 1500 == 700)
			mad_save_load(&r, i);
	}
	if (finite < MAD_NBRUTE / 2)
		fail_msg("mad seasonal: only %d finite scores", finite);
	rig_close(&r);
}

static void test_mad__seasonal_matches_brute_force(void **st)
{
	(void)st;
	struct kv fixed[] = {{"season", "10m", NULL},   {"step", "1m", NULL},
			     {"seasons", "3", NULL},    {"phase_tolerance", "1", NULL},
			     {"min_points", "1", NULL}, {"z_threshold", "3", NULL},
			     {"rel_floor", "0", NULL}};
	struct kv learn[] = {{"season", "10m", NULL},    {"max_season_points", "20", NULL},
			     {"seasons", "3", NULL},     {"phase_tolerance", "1", NULL},
			     {"min_points", "4", NULL},  {"z_threshold", "5", NULL},
			     {"abs_floor", "0.3", NULL}, {"rel_floor", "0.02", NULL}};
	struct mad_ref rf = {.zt = 3, .min_points = 1};
	struct mad_ref rl = {.zt = 5, .abs_floor = 0.3, .rel_floor = 0.02, .min_points = 4};

	rng_state = 0x5eed0002ull;
	check_mad_seasonal_brute(fixed, VIGIL_ARRAY_LEN(fixed), &rf);
	check_mad_seasonal_brute(learn, VIGIL_ARRAY_LEN(learn), &rl);
}

/* Load a copy of the save sv with 8 bytes at body offset off replaced by
 * what p points to; the registry must refuse it (valid() says no). */
static void expect_mad_refused(struct rig *r, const struct buf *sv, size_t body, size_t off, const void *p,
			       size_t len, const char *what)
{
	uint8_t *bad = malloc(sv->len);
	assert_non_null(bad);
	memcpy(bad, sv->data, sv->len);
	memcpy(bad + body + off, p, len);
	if (det_state_load(&r->d, r->state, bad, sv->len) != -VIGIL_EINVAL)
		fail_msg("mad: state with %s accepted", what);
	free(bad);
}

/* valid() refuses states update() cannot produce. The body is the raw
 * struct mad_state: int32 w, n, head at offsets 0, 4, 8, then the header,
 * then (rolling) sorted[w], ring[w] and with a horizon ts[w] doubles at the
 * end of the block. */
static void test_mad__bad_state_refused(void **st)
{
	(void)st;
	enum { W = 20 };
	struct kv roll[] = {{"window", "20", NULL}};
	struct kv hor[] = {{"window", "20", NULL}, {"horizon", "1h", NULL}};
	struct kv seas[] = {{"season", "10m", NULL}, {"step", "1m", NULL}};
	struct buf sv = {0};
	struct rig r;
	size_t body = 4 + 4 + 4 + 3 + 4, data;
	double d, nan = NAN, inf = INFINITY, srt[W];
	int32_t i32;

	/* rolling: a full window of distinct values */
	rig_open(&r, "mad", roll, 1);
	for (int i = 0; i < 2 * W + 3; i++)
		rig_feed(&r, 1000.0 + i, 10.0 + (double)((i * 7) % 23));
	save_state(&r, &sv);
	data = sv.len - body - 2 * W * sizeof(double);
	memcpy(srt, sv.data + body + data, sizeof srt);
	for (int k = 1; k < W; k++)
		assert_true(srt[k - 1] < srt[k]); /* the layout the offsets assume */
	expect_mad_refused(&r, &sv, body, data + 3 * 8, &srt[10], 8, "an unsorted window");
	expect_mad_refused(&r, &sv, body, data + 5 * 8, &nan, 8, "NaN in the window");
	expect_mad_refused(&r, &sv, body, data + (W - 1) * 8, &inf, 8, "inf in the window");
	d = srt[W - 1] + 1; /* still sorted, no longer the ring's values */
	expect_mad_refused(&r, &sv, body, data + (W - 1) * 8, &d, 8, "window != ring");
	d = srt[4] + 0.5;
	expect_mad_refused(&r, &sv, body, data + (W + 2) * 8, &d, 8, "ring != window");
	i32 = W + 1;
	expect_mad_refused(&r, &sv, body, 4, &i32, 4, "n > window");
	i32 = -1;
	expect_mad_refused(&r, &sv, body, 4, &i32, 4, "n < 0");
	expect_mad_refused(&r, &sv, body, 8, &i32, 4, "head < 0");
	i32 = W;
	expect_mad_refused(&r, &sv, body, 8, &i32, 4, "head = window");
	assert_int_equal(det_state_load(&r.d, r.state, sv.data, sv.len), 0);
	rig_close(&r);

	/* horizon: the timestamps ring must be ordered and not in the future */
	rig_open(&r, "mad", hor, 2);
	for (int i = 0; i < 2 * W + 3; i++)
		rig_feed(&r, 1000.0 + i, 10.0 + (double)((i * 7) % 23));
	save_state(&r, &sv);
	data = sv.len - body - W * sizeof(double); /* ts[w] */
	d = 1000.0 + 2 * W + 3 + 10;
	for (int k = 0; k < W; k++)
		expect_mad_refused(&r, &sv, body, data + (size_t)k * 8, &d, 8, "a timestamp in the future");
	d = 0;
	expect_mad_refused(&r, &sv, body, data + 7 * 8, &d, 8, "timestamps out of order");
	assert_int_equal(det_state_load(&r.d, r.state, sv.data, sv.len), 0);
	rig_close(&r);

	/* seasonal: the ring takes NaN (missing) but not inf */
	rig_open(&r, "mad", seas, 2);
	for (int i = 0; i < 50; i++)
		rig_feed(&r, 60.0 * (1000 + i), (double)i);
	save_state(&r, &sv);
	data = sv.len - body - 8;
	expect_mad_refused(&r, &sv, body, data, &inf, 8, "inf in the seasonal ring");
	i32 = 3;
	expect_mad_refused(&r, &sv, body, 4, &i32, 4, "a rolling count in the seasonal mode");
	{
		/* control: a missing slot (NaN) is a state update() produces */
		uint8_t *ok = malloc(sv.len);
		assert_non_null(ok);
		memcpy(ok, sv.data, sv.len);
		memcpy(ok + body + data, &nan, 8);
		assert_int_equal(det_state_load(&r.d, r.state, ok, sv.len), 0);
		free(ok);
	}
	rig_close(&r);
	buf_free(&sv);
}

static void test_mad__warmup_and_horizon(void **st)
{
	(void)st;
	struct kv set[] = {{"window", "10", NULL}, {"horizon", "10m", NULL}};
	struct rig r;
	struct det_result o;

	rig_open(&r, "mad", set, 2);
	for (int i = 0; i < 5; i++)
		assert_true(isnan(rig_feed(&r, 60.0 * i, i).score)); /* min_points defaults to window/2 = 5 */
	o = rig_feed(&r, 300, 2);
	assert_true(isfinite(o.score));
	/* 20 minutes later everything is older than the 10 min horizon */
	o = rig_feed(&r, 1500, 2);
	assert_true(isnan(o.score) && isnan(o.expected));
	rig_close(&r);
}

/* Seasonal MAD: season 4 ticks, 2 seasons, +/- 1 slot, step 1 s. Ring H =
 * 2 * 4 + 1 + 1 = 10. The sample of tick t is ticks t-4+{-1,0,1} and
 * t-8+{-1,0,1}. */
static void check_mad_seasonal_known(const struct kv *set, size_t nset)
{
	static const double x[] = {1, 2, 3, 10, 4, 5, 6, 20, 7};
	struct rig r;
	struct det_result o;
	double sd;

	rig_open(&r, "mad", set, nset);
	for (int i = 0; i < 3; i++) {
		o = rig_feed(&r, 100 + i, x[i]);
		assert_true(isnan(o.expected) && isnan(o.score)); /* ticks t-5 .. t-3 not seen */
	}
	/* t = 3: ticks -2, -1, 0 (j = 1), none for j = 2: {1}: median 1, MAD 0 */
	o = rig_feed(&r, 103, x[3]);
	assert_near(o.expected, 1, 1e-15);
	assert_near(o.upper, 1 + 2 * 1e-300, 1e-12);
	assert_near(o.score, 1, 0);
	/* t = 4: ticks -1, 0, 1: {1, 2}: median 1.5, |dev| {.5, .5}: MAD 0.5;
	 * x = 4: z = 2.5 / 0.7413 = 3.37 >= 2 */
	o = rig_feed(&r, 104, x[4]);
	assert_near(o.expected, 1.5, 1e-15);
	assert_near(o.upper, 1.5 + 2 * 1.4826 * 0.5, 1e-12);
	assert_near(o.score, 1, 0);
	/* t = 5: ticks 0, 1, 2: {1, 2, 3}: median 2, MAD 1; x = 5: z = 3 / 1.4826
	 * = 2.02 >= 2 */
	o = rig_feed(&r, 105, x[5]);
	assert_near(o.expected, 2, 1e-15);
	assert_near(o.lower, 2 - 2 * 1.4826, 1e-12);
	assert_near(o.score, 1, 0);
	for (int i = 6; i < 9; i++)
		rig_feed(&r, 100 + i, x[i]);
	/* t = 9: ticks 4, 5, 6 and 0, 1, 2: {4, 5, 6, 1, 2, 3}: median 3.5,
	 * |dev| {.5, .5, 1.5, 1.5, 2.5, 2.5}: MAD 1.5; x = 12: z = 8.5 / 2.2239 */
	o = rig_feed(&r, 109, 12);
	sd = 1.4826 * 1.5;
	assert_near(o.expected, 3.5, 1e-15);
	assert_near(o.lower, 3.5 - 2 * sd, 1e-12);
	assert_near(o.score, 1, 0);
	/* tick 10 missing; t = 11: ticks 6, 7, 8 and 2, 3, 4: {6, 20, 7, 3, 10, 4}:
	 * median 6.5, |dev| {.5, .5, 2.5, 3.5, 3.5, 13.5}: MAD 3 */
	o = rig_feed(&r, 111, 6.5);
	assert_near(o.expected, 6.5, 1e-15);
	assert_near(o.upper, 6.5 + 2 * 1.4826 * 3, 1e-12);
	assert_near(o.score, 0, 0);
	/* t = 12 with a NaN: scored nothing, stored as missing; duplicate ignored */
	o = rig_feed(&r, 112, NAN);
	assert_true(isnan(o.score) && isfinite(o.expected));
	assert_true(isnan(rig_feed(&r, 112, 1e9).score));
	/* t = 16: ticks 11, 12 (NaN), 13 (never seen) and 7, 8, 9: {6.5, 20, 7, 12}:
	 * median 9.5, |dev| {3, 10.5, 2.5, 2.5}: MAD 2.75 */
	o = rig_feed(&r, 116, 9.5);
	assert_near(o.expected, 9.5, 1e-15);
	assert_near(o.upper, 9.5 + 2 * 1.4826 * 2.75, 1e-12);
	assert_near(o.score, 0, 0);
	/* a gap longer than the ring: no sample, no opinion */
	o = rig_feed(&r, 200, 1);
	assert_true(isnan(o.expected) && isnan(o.score));
	rig_close(&r);
}

static void test_mad__seasonal_known_answer(void **st)
{
	(void)st;
	struct kv fixed[] = {{"season", "4s", NULL},    {"step", "1s", NULL},
			     {"seasons", "2", NULL},    {"phase_tolerance", "1", NULL},
			     {"min_points", "1", NULL}, {"rel_floor", "0", NULL},
			     {"z_threshold", "2", NULL}};
	struct kv learn[] = {{"season", "4s", NULL},    {"max_season_points", "4", NULL},
			     {"seasons", "2", NULL},    {"phase_tolerance", "1", NULL},
			     {"min_points", "1", NULL}, {"rel_floor", "0", NULL},
			     {"z_threshold", "2", NULL}};
	check_mad_seasonal_known(fixed, VIGIL_ARRAY_LEN(fixed));
	check_mad_seasonal_known(learn, VIGIL_ARRAY_LEN(learn));
}

static void expect_config_error(const char *det, const struct kv *set, size_t nset, const char *want)
{
	struct detector d;
	char err[256] = "";
	if (det_new(det, set, nset, &d, err, sizeof err) != -VIGIL_EINVAL)
		fail_msg("%s: configuration accepted (want an error with '%s')", det, want);
	if (strstr(err, want) == NULL)
		fail_msg("%s: error '%s' lacks '%s'", det, err, want);
}

static void test_mad__seasonal_config_errors(void **st)
{
	(void)st;
	struct kv big[] = {{"season", "1w", NULL}, {"step", "1s", NULL}};
	struct kv bigl[] = {{"season", "1w", NULL}, {"max_season_points", "60000", NULL}};
	struct kv tol[] = {{"season", "4s", NULL}, {"step", "1s", NULL}, {"phase_tolerance", "2", NULL}};
	struct kv samp[] = {{"season", "1d", NULL}, {"seasons", "100", NULL}, {"phase_tolerance", "2", NULL}};
	struct kv hor[] = {{"season", "1d", NULL}, {"horizon", "1h", NULL}};
	struct kv minp[] = {{"season", "1d", NULL}, {"min_points", "16", NULL}};
	struct kv ok[] = {{"season", "1d", NULL}, {"step", "1m", NULL}, {"seasons", "7", NULL}};
	struct detector d;
	char err[256];

	expect_config_error("mad", big, 2, "exceeds the cap of 65536");
	expect_config_error("mad", bigl, 2, "max_season_points");
	expect_config_error("mad", tol, 3, "phase_tolerance 2 must be below half");
	expect_config_error("mad", samp, 3, "500 values per point exceeds the cap of 255");
	expect_config_error("mad", hor, 2, "horizon");
	expect_config_error("mad", minp, 2, "exceeds the 15 values");
	/* 7 x 1440 + 2 values: 80 KB */
	assert_int_equal(det_new("mad", ok, 3, &d, err, sizeof err), 0);
	assert_true(det_state_size(&d) >= (7 * 1440 + 2) * sizeof(double));
	assert_true(det_state_size(&d) < (7 * 1440 + 2) * sizeof(double) + 256);
	det_free(&d);
	/* holtwinters: graphite_compat needs a season */
	{
		struct kv g[] = {{"graphite_compat", "true", NULL}};
		expect_config_error("holtwinters", g, 1, "needs an explicit 'season'");
	}
}

/* A daily cycle at 5 min with a night-time hour at the daytime level: the
 * seasonal MAD flags it, the clean days stay quiet (5 of 10 rule). */
static double daily5(int i, double sigma);
static int k_of_n(const unsigned char *flags, int i, int k, int n);

static void test_mad__seasonal_break(void **st)
{
	(void)st;
	static unsigned char flag[288 * 8];
	struct kv set[] = {{"season", "1d", NULL}};
	struct rig r;
	int fires_clean = 0, in_break = 0;

	rng_state = 0x2718281828ull;
	rig_open(&r, "mad", set, 1);
	for (int i = 0; i < 288 * 8; i++) {
		int brk = i >= 288 * 7 + 204 && i < 288 * 7 + 216;
		double x = brk ? 120 + 2 * rng_gauss() : daily5(i, 2);
		struct det_result o = rig_feed(&r, 1.7e9 + 300.0 * i, x);
		flag[i] = o.score >= 1;
		if (i >= 288 * 3 && !brk)
			assert_true(isfinite(o.score)); /* 3 seasons x 3 >= min_points 7 */
		if (brk)
			in_break += o.score >= 1;
		else if (i < 288 * 7 + 204)
			fires_clean += k_of_n(flag, i, 5, 10);
	}
	assert_int_equal(in_break, 12);
	assert_int_equal(fires_clean, 0);
	rig_close(&r);
}

/* save -> load -> continue and garbage refusal for non-default configs */
static void check_roundtrip(const char *name, const struct kv *set, size_t nset)
{
	static double x[NGEN_RT];
	struct rig a, b;
	struct buf sv = {0};
	uint8_t *junk;

	rng_state = 0x600dull;
	for (int i = 0; i < NGEN_RT; i++)
		x[i] = (i % 97 == 5) ? NAN : 50 + 10 * sin(2 * M_PI * i / 60.0) + rng_gauss();
	rig_open(&a, name, set, nset);
	rig_open(&b, name, set, nset);
	for (int i = 0; i < NGEN_RT; i++) {
		struct det_result oa, ob;
		if (i == 50 || i == 130 || i == 2000 || i == 3333) {
			save_state(&b, &sv);
			det_state_fini(&b.d, b.state);
			memset(b.state, 0, det_state_size(&b.d));
			if (det_state_load(&b.d, b.state, sv.data, sv.len) != 0)
				fail_msg("%s: load of its own save failed at %d", name, i);
			/* a garbage body is refused and leaves a fresh state */
			junk = malloc(sv.len);
			assert_non_null(junk);
			memcpy(junk, sv.data, sv.len);
			memset(junk + 16 + strlen(name), 0xff, sv.len - 16 - strlen(name));
			{
				struct rig g;
				rig_open(&g, name, set, nset);
				assert_int_equal(det_state_load(&g.d, g.state, junk, sv.len), -VIGIL_EINVAL);
				rig_close(&g);
			}
			free(junk);
		}
		oa = rig_feed(&a, 1.7e9 + 60.0 * i, x[i]);
		ob = rig_feed(&b, 1.7e9 + 60.0 * i, x[i]);
		assert_same_result(&oa, &ob, 0);
	}
	buf_free(&sv);
	rig_close(&a);
	rig_close(&b);
}

/* Absurd magnitudes overflow the arithmetic: the model starts over, its
 * state stays loadable and its scores stay in range. */
static void test_hw__absurd_values(void **st)
{
	(void)st;
	struct kv fixed[] = {{"season", "1h", NULL}, {"step", "1m", NULL}};
	struct kv autos[] = {{"max_season_points", "60", NULL}};
	const struct kv *sets[] = {fixed, autos};
	size_t nsets[] = {2, 1};
	for (int k = 0; k < 2; k++) {
		struct rig r, q;
		struct buf sv = {0};
		rig_open(&r, "holtwinters", sets[k], nsets[k]);
		rig_open(&q, "holtwinters", sets[k], nsets[k]);
		for (int i = 0; i < 1000; i++) {
			double x = i >= 150 && i < 260 ? (i % 2 ? 1.7e308 : -1.7e308) : sin(i / 9.0);
			struct det_result o = rig_feed(&r, 60.0 * i, x);
			if (!isnan(o.score) && !(o.score >= 0 && o.score <= 1))
				fail_msg("score %.17g at %d", o.score, i);
			if (i % 50 == 0) {
				save_state(&r, &sv);
				assert_int_equal(det_state_load(&q.d, q.state, sv.data, sv.len), 0);
			}
		}
		assert_true(isfinite(rig_feed(&r, 60.0 * 1000, sin(1000 / 9.0)).score));
		buf_free(&sv);
		rig_close(&r);
		rig_close(&q);
	}
}

static void test_seasonal__save_load_continue(void **st)
{
	(void)st;
	struct kv mad_l[] = {{"season", "1h", NULL}, {"max_season_points", "100", NULL}};
	struct kv mad_f[] = {{"season", "1h", NULL}, {"step", "1m", NULL}, {"seasons", "3", NULL}};
	struct kv hw_auto[] = {{"max_season_points", "200", NULL}};
	struct kv hw_fixed[] = {{"season", "1h", NULL}, {"step", "1m", NULL}};
	struct kv hw_compat[] = {{"season", "1h", NULL}, {"graphite_compat", "true", NULL}};
	check_roundtrip("mad", mad_l, 2);
	check_roundtrip("mad", mad_f, 3);
	check_roundtrip("holtwinters", hw_auto, 1);
	check_roundtrip("holtwinters", hw_fixed, 2);
	check_roundtrip("holtwinters", hw_compat, 2);
}

/* ---- Holt-Winters ---------------------------------------------------- */

static void test_hw__graphite_vector(void **st)
{
	(void)st;
	/* detectors.md §2: x_i = i mod 10, step 600 s, L = 144, 1008 bootstrap
	 * points; first band lower 0.2841206166091448, upper 8.424944558327624 */
	struct kv compat[] = {
		{"graphite_compat", "true", NULL}, {"step", "600", NULL}, {"season", "1d", NULL}};
	struct kv learn[] = {{"graphite_compat", "true", NULL}, {"season", "1d", NULL}};
	struct kv vigil[] = {{"step", "600", NULL}, {"season", "1d", NULL}};
	struct rig a, b, c;

	rig_open(&a, "holtwinters", compat, 3);
	rig_open(&b, "holtwinters", learn, 2);
	rig_open(&c, "holtwinters", vigil, 2);
	for (int i = 0; i < 1010; i++) {
		double x = i % 10, ts = 600.0 * i;
		struct det_result oa = rig_feed(&a, ts, x), ob = rig_feed(&b, ts, x),
				  oc = rig_feed(&c, ts, x);
		if (i > 0)
			assert_same_result(&oa, &ob, 0); /* learned step == configured step */
		if (i < 288) {
			assert_true(isnan(oa.score)); /* Graphite: no opinion for 2 seasons */
			/* vigil: the non-seasonal fallback scores from the 16th point */
			assert_true(i < 16 ? isnan(oc.score) : isfinite(oc.score));
		} else {
			assert_true(isfinite(oc.score) && oc.score >= 0 && oc.score <= 1);
		}
		if (i == 1008) {
			assert_near(oa.lower, 0.2841206166091448, 1e-12);
			assert_near(oa.upper, 8.424944558327624, 1e-12);
		}
	}
	rig_close(&a);
	rig_close(&b);
	rig_close(&c);
}

static double rng_gauss(void)
{
	double u = rng_unit(), v = rng_unit();
	if (!(u > 0))
		u = 1e-300;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* The season length L the detector settled on: struct hw_state starts with
 * int32 cap, int32 L (documented in holtwinters.c); 0 = undecided. */
static int32_t hw_season_of(struct rig *r)
{
	struct buf b = {0};
	int32_t L;
	size_t at = 4 + 4 + 4 + strlen(r->d.type->name) + 4 + 4;
	assert_int_equal(det_state_save(&r->d, r->state, &b), 0);
	assert_true(b.len >= at + 4);
	memcpy(&L, b.data + at, sizeof L);
	buf_free(&b);
	return L;
}

/* Daily sine (L = 288 at 5 min) with N(0, sigma) noise. */
static double daily5(int i, double sigma)
{
	return 100 + 20 * sin(2 * M_PI * i / 288.0) + sigma * rng_gauss();
}

static void test_hw__bands_start_right(void **st)
{
	(void)st;
	/* Graphite's d starts at 0: after 3 seasons it is 1 - 0.9^3 = 27 % of
	 * the mean error and most points of days 3-4 lie outside the band.
	 * vigil starts d at the noise's mean absolute error, sigma sqrt(2/pi). */
	struct kv compat[] = {
		{"graphite_compat", "true", NULL}, {"step", "5m", NULL}, {"season", "1d", NULL}};
	struct kv vigil[] = {{"step", "5m", NULL}, {"season", "1d", NULL}};
	struct rig a, b;
	int out_a = 0, out_b = 0, n = 0;
	double sigma = 2, hw_sum = 0;

	rng_state = 0x1234567887654321ull;
	rig_open(&a, "holtwinters", compat, 3);
	rig_open(&b, "holtwinters", vigil, 2);
	for (int i = 0; i < 288 * 4; i++) {
		double x = daily5(i, sigma);
		struct det_result oa = rig_feed(&a, 300.0 * i, x), ob = rig_feed(&b, 300.0 * i, x);
		if (i < 2 * 288)
			continue;
		assert_true(isfinite(ob.score));
		out_a += oa.score >= 1;
		out_b += ob.score >= 1;
		hw_sum += (ob.upper - ob.lower) / 2;
		n++;
	}
	/* band 3 d, d from E|x_{k+L} - x_k|, decaying towards E|e|: a few % */
	if (!(out_b < n / 20))
		fail_msg("vigil: %d of %d points outside the band", out_b, n);
	if (!(out_a > n / 5))
		fail_msg("graphite_compat: only %d of %d outside (the narrow start is expected)", out_a, n);
	/* mean half-width between 3 E|e| = 3 sigma sqrt(2/pi) = 4.79 and
	 * 3 E|x_{k+L} - x_k| = 6.77 */
	hw_sum /= n;
	if (!(hw_sum > 4.79 && hw_sum < 6.77))
		fail_msg("vigil mean half-width %.3f", hw_sum);
	rig_close(&a);
	rig_close(&b);
}

static void test_hw__detects_daily_5min(void **st)
{
	(void)st;
	struct rig r;
	int i;
	/* defaults: season 0 = detect, max_season_points 1440, season_max 1w,
	 * step learned (5 min): Lmax = min(1440, 2016) = 1440, N = 2880 */
	rng_state = 0x5555aaaa1234ull;
	rig_open(&r, "holtwinters", NULL, 0);
	for (i = 0; i < 2879; i++) {
		struct det_result o = rig_feed(&r, 1.7e9 + 300.0 * i, daily5(i, 2));
		/* the non-seasonal fallback scores while the season is unknown */
		assert_true(i < 16 ? isnan(o.score) : isfinite(o.score));
	}
	assert_int_equal(hw_season_of(&r), 0);
	rig_feed(&r, 1.7e9 + 300.0 * i, daily5(i, 2));
	assert_int_equal(hw_season_of(&r), 288);
	/* the replayed warm-up is a trained model: scores at once, in band */
	for (i = 2880; i < 2890; i++) {
		struct det_result o = rig_feed(&r, 1.7e9 + 300.0 * i, daily5(i, 2));
		assert_true(isfinite(o.score));
		assert_near(o.expected, 100 + 20 * sin(2 * M_PI * i / 288.0), 3.0 / 100);
	}
	rig_close(&r);
}

/* Missing points in the warm-up: the ACF skips every pair with a missing
 * side (season detection takes a separate, masked path for them), so the
 * daily season is still found; if the missing points entered the sums the
 * correlations would be NaN -> 0 and no season would be detected. */
static void test_hw__detects_daily_with_gaps(void **st)
{
	(void)st;
	struct rig r;
	int i;
	rng_state = 0x1234567887654321ull;
	rig_open(&r, "holtwinters", NULL, 0);
	for (i = 0; i < 2880; i++) {
		/* every 7th point and the block 1000 .. 1099 missing (NaN) */
		int gap = i % 7 == 3 || (i >= 1000 && i < 1100);
		rig_feed(&r, 1.7e9 + 300.0 * i, gap ? NAN : daily5(i, 2));
	}
	assert_int_equal(hw_season_of(&r), 288);
	rig_close(&r);
}

/* Hour-of-week pattern: weekdays busy 08-18 h, weekends quiet. */
static double weekly1h(int i, double sigma)
{
	int day = (i / 24) % 7, h = i % 24;
	double busy = h >= 8 && h < 18 ? 1 : 0;
	return 50 + (day < 5 ? 40 : 5) * busy + sigma * rng_gauss();
}

static void test_hw__detects_weekly_1h(void **st)
{
	(void)st;
	struct rig r;
	/* step 1 h: Lmax = min(1440, 168) = 168, N = 336 */
	rng_state = 0x77aa77aa0011ull;
	rig_open(&r, "holtwinters", NULL, 0);
	for (int i = 0; i < 336; i++)
		rig_feed(&r, 3600.0 * (1000 + i), weekly1h(i, 3));
	assert_int_equal(hw_season_of(&r), 168);
	rig_close(&r);
}

static void test_hw__no_season_in_noise(void **st)
{
	(void)st;
	struct kv small[] = {{"max_season_points", "300", NULL}};
	struct rig r;
	struct det_result o;
	int i, alerts = 0;

	/* white noise at 1 min: Lmax = 1440, N = 2880 */
	rng_state = 0x0badc0ffee11ull;
	rig_open(&r, "holtwinters", NULL, 0);
	for (i = 0; i < 2880; i++)
		rig_feed(&r, 60.0 * i, 10 + rng_gauss());
	assert_int_equal(hw_season_of(&r), 1);
	/* plain Holt with bands: scores, expected near the mean */
	for (; i < 3880; i++) {
		o = rig_feed(&r, 60.0 * i, 10 + rng_gauss());
		assert_true(isfinite(o.score));
		assert_true(fabs(o.expected - 10) < 1);
		alerts += o.score >= 1;
	}
	assert_true(alerts < 50); /* 3 d with d = E|e|: ~2-3 % of 1000 */
	rig_close(&r);

	/* a random walk trends, it is not periodic: no season either */
	rig_open(&r, "holtwinters", small, 1);
	{
		double v = 0;
		for (i = 0; i < 600; i++) {
			v += rng_gauss();
			rig_feed(&r, 60.0 * i, v);
		}
	}
	assert_int_equal(hw_season_of(&r), 1);
	rig_close(&r);

	/* a hand-sized alternating series: period 2 */
	rig_open(&r, "holtwinters", small, 1);
	for (i = 0; i < 600; i++)
		rig_feed(&r, 60.0 * i, (i % 2 ? 5 : -5) + 0.1 * rng_gauss());
	assert_int_equal(hw_season_of(&r), 2);
	rig_close(&r);
}

/* k of the last n flags set (the rules' `for: k of n`) */
static int k_of_n(const unsigned char *flags, int i, int k, int n)
{
	int c = 0;
	for (int j = i - n + 1; j <= i; j++)
		c += j >= 0 && flags[j];
	return c >= k;
}

static void test_hw__seasonal_break(void **st)
{
	(void)st;
	static unsigned char flag[288 * 15];
	struct rig r;
	int first_fire = -1, fires_clean = 0;
	/* 15 days at 5 min, default config (detected season); night is at phase
	 * 216 (sin = -1, value 80); on day 14 03:00-04:00 of "night" (phases
	 * 204..215) the series carries the daytime level (120) */
	rng_state = 0x31415926535ull;
	rig_open(&r, "holtwinters", NULL, 0);
	for (int i = 0; i < 288 * 15; i++) {
		int brk = i >= 288 * 14 + 204 && i < 288 * 14 + 216;
		double x = brk ? 120 + 2 * rng_gauss() : daily5(i, 2);
		struct det_result o = rig_feed(&r, 1.7e9 + 300.0 * i, x);
		flag[i] = o.score >= 1;
		if (i < 2880)
			continue;
		assert_true(isfinite(o.score));
		if (brk) {
			assert_near(o.score, 1, 0);
			if (first_fire < 0 && k_of_n(flag, i, 5, 10))
				first_fire = i;
		} else if (i < 288 * 14 + 204) {
			fires_clean += k_of_n(flag, i, 5, 10);
		}
	}
	assert_int_equal(hw_season_of(&r), 288);
	assert_int_equal(fires_clean, 0);
	assert_int_equal(first_fire, 288 * 14 + 204 + 4);
	rig_close(&r);
}

static void test_hw__gap_keeps_phase(void **st)
{
	(void)st;
	/* season 1h at 60 s: L = 60; a clean periodic signal */
	struct kv set[] = {{"season", "1h", NULL}, {"step", "60", NULL}};
	struct rig r;
	struct det_result o;
	int i;

	rig_open(&r, "holtwinters", set, 2);
	for (i = 0; i < 60 * 80; i++) /* 80 seasons: converged */
		rig_feed(&r, 60.0 * i, 100 + 10 * sin(2 * M_PI * i / 60.0));
	o = rig_feed(&r, 60.0 * i, NAN);
	assert_true(isnan(o.score));
	i += 37; /* 36 missing ticks, then a NaN-free point */
	o = rig_feed(&r, 60.0 * i, 100 + 10 * sin(2 * M_PI * i / 60.0));
	assert_true(fabs(o.expected - (100 + 10 * sin(2 * M_PI * i / 60.0))) < 0.5);
	assert_true(o.score < 1);
	/* duplicate and older timestamps are ignored */
	assert_true(isnan(rig_feed(&r, 60.0 * i, 1e6).score));
	assert_true(isnan(rig_feed(&r, 60.0 * (i - 5), 1e6).score));
	i++;
	o = rig_feed(&r, 60.0 * i, 100 + 10 * sin(2 * M_PI * i / 60.0));
	assert_true(o.score < 1);
	/* a spike is outside the band */
	i++;
	o = rig_feed(&r, 60.0 * i, 200);
	assert_near(o.score, 1, 0);
	rig_close(&r);
}

/* ---- Gaussian -------------------------------------------------------- */

static double score_of(double x, double mean, double sd)
{
	return 1 - 0.5 * erfc(fabs(x - mean) / sd / sqrt(2));
}

static void test_gaussian__tiny_window(void **st)
{
	(void)st;
	struct kv set[] = {{"window", "4", NULL}, {"step_points", "2", NULL}};
	struct rig r;
	struct det_result o;
	double sd = sqrt(1.25); /* population std of {1,2,3,4} and of {3,4,5,6} */

	rig_open(&r, "gaussian", set, 2);
	o = rig_feed(&r, 0, 1);
	assert_true(isnan(o.score)); /* nothing to compare with */
	o = rig_feed(&r, 1, 1);      /* window {1}: std 0 -> 1e-6, x == mean: 1 - Q(0) */
	assert_near(o.expected, 1, 1e-15);
	assert_near(o.score, 0.5, 1e-15);
	o = rig_feed(&r, 1, 1.001); /* window {1,1}: std 1e-6 */
	assert_near(o.score, 1, 1e-15);
	o = rig_feed(&r, 2, NAN); /* gap: not entered */
	assert_true(isnan(o.score));
	assert_int_equal(det_state_init(&r.d, r.state), 0);
	for (int i = 1; i <= 4; i++)
		rig_feed(&r, 10 + i, i);
	o = rig_feed(&r, 20, 5); /* window {1,2,3,4}: mean 2.5 */
	assert_near(o.expected, 2.5, 1e-15);
	assert_near(o.score, score_of(5, 2.5, sd), 1e-15);
	o = rig_feed(&r, 21, 6); /* 5 is pending: still {1,2,3,4} */
	assert_near(o.expected, 2.5, 1e-15);
	assert_near(o.score, score_of(6, 2.5, sd), 1e-15);
	o = rig_feed(&r, 22, 4); /* slid by 2: {3,4,5,6}: mean 4.5 */
	assert_near(o.expected, 4.5, 1e-15);
	assert_near(o.score, score_of(4, 4.5, sd), 1e-15);
	assert_near(o.upper - o.expected, o.expected - o.lower, 1e-12);
	rig_close(&r);
}

/* ---- generic contract checks over det_all() ---------------------------- */

#define NGEN 10000

static double gen_ts(int i)
{
	return 1.7e9 + 60.0 * i;
}

/* A random walk with occasional NaN gaps and spikes; deterministic. */
static void gen_series(double *x, int n)
{
	double v = 100;
	rng_state = 0x2545f4914f6cdd1dull;
	for (int i = 0; i < n; i++) {
		v += rng_unit() - 0.5;
		x[i] = v;
		if (rng_next() % 500 == 0)
			x[i] = NAN;
		else if (rng_next() % 700 == 0)
			x[i] = v + 50;
	}
}

static void save_state(struct rig *r, struct buf *b)
{
	buf_reset(b);
	assert_int_equal(det_state_save(&r->d, r->state, b), 0);
	assert_true(b->len > 12);
}

static void test_all__save_load_continue(void **st)
{
	(void)st;
	static double x[NGEN];
	gen_series(x, NGEN);
	for (const struct detector_type *const *t = det_all(); *t; t++) {
		struct rig a, b;
		struct buf sv = {0};
		int finite = 0;
		rig_open(&a, (*t)->name, NULL, 0);
		rig_open(&b, (*t)->name, NULL, 0);
		for (int i = 0; i < NGEN; i++) {
			struct det_result oa, ob;
			if (i == 5000 || i == 7777) {
				/* save b, throw its state away, restore into a fresh block */
				save_state(&b, &sv);
				det_state_fini(&b.d, b.state);
				free(b.state);
				b.state = calloc(1, det_state_size(&b.d));
				assert_non_null(b.state);
				if (det_state_load(&b.d, b.state, sv.data, sv.len) != 0)
					fail_msg("%s: load of its own save failed", (*t)->name);
			}
			oa = rig_feed(&a, gen_ts(i), x[i]);
			ob = rig_feed(&b, gen_ts(i), x[i]);
			assert_same_result(&oa, &ob, 1e-12);
			if (!isnan(oa.score) && !(oa.score >= 0 && oa.score <= 1))
				fail_msg("%s: score %.17g at %d outside [0,1]", (*t)->name, oa.score, i);
			finite += isfinite(oa.score);
		}
		if (finite < NGEN / 2)
			fail_msg("%s: only %d finite scores", (*t)->name, finite);
		buf_free(&sv);
		rig_close(&a);
		rig_close(&b);
	}
}

static void test_all__nan_and_inf_keep_state_valid(void **st)
{
	(void)st;
	static double x[NGEN];
	gen_series(x, NGEN);
	for (const struct detector_type *const *t = det_all(); *t; t++) {
		struct rig r;
		struct det_result o;
		int i = 0;
		rig_open(&r, (*t)->name, NULL, 0);
		for (; i < 7000; i++)
			rig_feed(&r, gen_ts(i), x[i]);
		o = rig_feed(&r, gen_ts(i++), NAN);
		assert_true(isnan(o.score));
		rig_feed(&r, gen_ts(i++), INFINITY);
		rig_feed(&r, gen_ts(i++), -INFINITY);
		rig_feed(&r, gen_ts(i++), NAN);
		for (int k = 0; k < 200; k++, i++) {
			double v = 100 + sin(i * 0.1);
			o = rig_feed(&r, gen_ts(i), v);
			if (!isnan(o.score) && !(o.score >= 0 && o.score <= 1))
				fail_msg("%s: score %.17g after gaps", (*t)->name, o.score);
		}
		if (!isfinite(o.score))
			fail_msg("%s: no finite score 200 points after a gap", (*t)->name);
		rig_close(&r);
	}
}

/* After a refused load the state must behave exactly like a fresh one. */
static void assert_fresh(struct rig *r, const double *x)
{
	struct rig f;
	rig_open(&f, r->d.type->name, NULL, 0);
	for (int i = 0; i < 400; i++) {
		struct det_result a = rig_feed(r, gen_ts(i), x[i]), b = rig_feed(&f, gen_ts(i), x[i]);
		assert_same_result(&a, &b, 0);
	}
	rig_close(&f);
	det_state_fini(&r->d, r->state);
	assert_int_equal(det_state_init(&r->d, r->state), 0);
}

static int is_mine(const char *name)
{
	static const char *const mine[] = {"des", "sdes", "mad", "holtwinters", "gaussian"};
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(mine); i++)
		if (strcmp(mine[i], name) == 0)
			return 1;
	return 0;
}

static void test_all__bad_state_refused(void **st)
{
	(void)st;
	static double x[NGEN];
	gen_series(x, NGEN);
	for (const struct detector_type *const *t = det_all(); *t; t++) {
		struct rig a, r;
		struct buf sv = {0};
		uint8_t *junk;
		uint32_t v;
		size_t cuts[6];

		rig_open(&a, (*t)->name, NULL, 0);
		rig_open(&r, (*t)->name, NULL, 0);
		for (int i = 0; i < 3000; i++)
			rig_feed(&a, gen_ts(i), x[i]);
		save_state(&a, &sv);
		cuts[0] = 0;
		cuts[1] = 3;
		cuts[2] = 12;
		cuts[3] = sv.len / 2;
		cuts[4] = sv.len - 8;
		cuts[5] = sv.len - 1;
		for (size_t k = 0; k < VIGIL_ARRAY_LEN(cuts); k++) {
			if (det_state_load(&r.d, r.state, sv.data, cuts[k]) == 0)
				fail_msg("%s: truncated state (%zu of %zu bytes) accepted", (*t)->name,
					 cuts[k], sv.len);
			assert_fresh(&r, x);
		}
		/* random bytes */
		junk = malloc(sv.len);
		assert_non_null(junk);
		for (size_t k = 0; k < sv.len; k++)
			junk[k] = (uint8_t)rng_next();
		assert_int_not_equal(det_state_load(&r.d, r.state, junk, sv.len), 0);
		assert_fresh(&r, x);
		/* one byte too many */
		buf_put(&sv, "x", 1);
		assert_int_not_equal(det_state_load(&r.d, r.state, sv.data, sv.len), 0);
		assert_fresh(&r, x);
		sv.len--;
		/* wrong version */
		memcpy(junk, sv.data, sv.len);
		memcpy(&v, junk + 4, sizeof v);
		assert_int_equal(v, (*t)->state_version);
		v++;
		memcpy(junk + 4, &v, sizeof v);
		assert_int_equal(det_state_load(&r.d, r.state, junk, sv.len), -VIGIL_EVERSION);
		assert_fresh(&r, x);
		/* a well-formed envelope around a garbage body (0xff: NaNs, -1s) */
		if (is_mine((*t)->name)) {
			size_t body = 4 + 4 + 4 + strlen((*t)->name) + 4;
			memcpy(junk, sv.data, sv.len);
			memset(junk + body, 0xff, sv.len - body);
			assert_int_equal(det_state_load(&r.d, r.state, junk, sv.len), -VIGIL_EINVAL);
			assert_fresh(&r, x);
		}
		/* and the intact save still loads */
		assert_int_equal(det_state_load(&r.d, r.state, sv.data, sv.len), 0);
		for (int i = 3000; i < 3100; i++) {
			struct det_result oa = rig_feed(&a, gen_ts(i), x[i]),
					  orr = rig_feed(&r, gen_ts(i), x[i]);
			assert_same_result(&oa, &orr, 1e-12);
		}
		free(junk);
		buf_free(&sv);
		rig_close(&a);
		rig_close(&r);
	}
}

/* Out-of-order points do not disturb the baseline detectors. */
static void test_mine__out_of_order_ignored(void **st)
{
	(void)st;
	static double x[NGEN];
	gen_series(x, NGEN);
	for (const struct detector_type *const *t = det_all(); *t; t++) {
		struct rig a, b;
		if (!is_mine((*t)->name))
			continue;
		rig_open(&a, (*t)->name, NULL, 0);
		rig_open(&b, (*t)->name, NULL, 0);
		for (int i = 0; i < 4000; i++) {
			struct det_result oa, ob;
			if (i % 997 == 0 && i > 0) {
				ob = rig_feed(&b, gen_ts(i - 3), 1e9);
				assert_true(isnan(ob.score));
			}
			oa = rig_feed(&a, gen_ts(i), x[i]);
			ob = rig_feed(&b, gen_ts(i), x[i]);
			assert_same_result(&oa, &ob, 0);
		}
		rig_close(&a);
		rig_close(&b);
	}
}

int main(void)
{
	gsl_set_error_handler_off();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_des__doc_vector),
		cmocka_unit_test(test_sdes__doc_vector),
		cmocka_unit_test(test_des__epic_band),
		cmocka_unit_test(test_des__gaps_restart),
		cmocka_unit_test(test_mad__hand_computed),
		cmocka_unit_test(test_mad__zero_mad_floors),
		cmocka_unit_test(test_mad__matches_sorting),
		cmocka_unit_test(test_mad__rolling_matches_brute_force),
		cmocka_unit_test(test_mad__seasonal_matches_brute_force),
		cmocka_unit_test(test_mad__bad_state_refused),
		cmocka_unit_test(test_mad__warmup_and_horizon),
		cmocka_unit_test(test_mad__seasonal_known_answer),
		cmocka_unit_test(test_mad__seasonal_config_errors),
		cmocka_unit_test(test_mad__seasonal_break),
		cmocka_unit_test(test_seasonal__save_load_continue),
		cmocka_unit_test(test_hw__absurd_values),
		cmocka_unit_test(test_hw__graphite_vector),
		cmocka_unit_test(test_hw__gap_keeps_phase),
		cmocka_unit_test(test_hw__bands_start_right),
		cmocka_unit_test(test_hw__detects_daily_5min),
		cmocka_unit_test(test_hw__detects_daily_with_gaps),
		cmocka_unit_test(test_hw__detects_weekly_1h),
		cmocka_unit_test(test_hw__no_season_in_noise),
		cmocka_unit_test(test_hw__seasonal_break),
		cmocka_unit_test(test_gaussian__tiny_window),
		cmocka_unit_test(test_all__save_load_continue),
		cmocka_unit_test(test_all__nan_and_inf_keep_state_valid),
		cmocka_unit_test(test_all__bad_state_refused),
		cmocka_unit_test(test_mine__out_of_order_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
