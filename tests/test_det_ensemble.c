/* Tests for the ensemble detector (detectors/ensemble.c): known answers on
 * hand-made series, invariants (warm-up, direction, gaps, save/load), and a
 * regression on three NAB files: the score reaches the detector's threshold
 * inside every labelled window and stays below it on almost every other row.
 * The NAB files and their labels are read from tests/data/nab (relative to
 * the repo root, where the tests run); a missing file fails the test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "detectors/detector.h"

#define NPTS 3000

static void assert_near(double got, double want, double tol)
{
	if (isnan(want)) {
		if (!isnan(got))
			fail_msg("got %.17g, want NaN", got);
		return;
	}
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tol %g)", got, want, tol);
}

/* Deterministic uniform [0, 1) (64-bit LCG, top 53 bits). */
static double uni(uint64_t *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*st >> 11) / 9007199254740992.0;
}

struct run {
	struct detector d;
	void *state;
};

static void run_open(struct run *r, const struct kv *set, size_t nset)
{
	char err[256];
	int rc = det_new("ensemble", set, nset, &r->d, err, sizeof err);
	if (rc != 0)
		fail_msg("det_new: %s", err);
	r->state = malloc(det_state_size(&r->d));
	assert_non_null(r->state);
	assert_int_equal(det_state_init(&r->d, r->state), 0);
}

static void run_close(struct run *r)
{
	det_state_fini(&r->d, r->state);
	free(r->state);
	det_free(&r->d);
}

static double feed(struct run *r, double ts, double x)
{
	struct det_result res;
	assert_int_equal(r->d.type->update(r->d.cfg, r->state, ts, x, &res), 0);
	return res.score;
}

/* Noise uniform in [9, 11] at 60 s steps; xs[spike_at] replaced by spike. */
static void make_series(double *xs, size_t n, size_t spike_at, double spike)
{
	uint64_t st = 42;
	for (size_t i = 0; i < n; i++)
		xs[i] = 9.0 + 2.0 * uni(&st);
	if (spike_at < n)
		xs[spike_at] = spike;
}

static void test_registered_default(void **unused)
{
	(void)unused;
	assert_non_null(det_find("ensemble"));
	assert_string_equal(det_default_name(), "ensemble");
}

static void test_warmup_is_nan(void **unused)
{
	struct run r;
	struct kv set[] = {{"warmup", "100", "test"}};
	(void)unused;
	run_open(&r, set, 1);
	for (int i = 0; i < 100; i++)
		assert_true(isnan(feed(&r, 60.0 * i, 5.0 + (i % 3))));
	double s = feed(&r, 60.0 * 100, 5.0);
	assert_true(isfinite(s) && s >= 0 && s <= 1);
	run_close(&r);
}

/* Returns the max score over rows [from, to) and the score at spike_at. */
static void score_spike(const struct kv *set, size_t nset, double spike, double *before, double *at)
{
	static double xs[NPTS];
	struct run r;
	size_t spike_at = 2000;
	make_series(xs, NPTS, spike_at, spike);
	run_open(&r, set, nset);
	*before = 0;
	for (size_t i = 0; i < spike_at; i++) {
		double s = feed(&r, 60.0 * (double)i, xs[i]);
		if (i >= 1000 && s > *before)
			*before = s;
	}
	*at = feed(&r, 60.0 * (double)spike_at, xs[spike_at]);
	run_close(&r);
}

static void test_flat_then_spike(void **unused)
{
	double before, at, thr = det_find("ensemble")->default_threshold;
	(void)unused;
	score_spike(NULL, 0, 30.0, &before, &at);
	assert_true(before < thr);
	assert_true(at >= thr);
	assert_true(at <= 1.0);
	/* a drop as well, with the default direction (both) */
	score_spike(NULL, 0, -10.0, &before, &at);
	assert_true(at >= thr);
}

static void test_direction_up_ignores_drop(void **unused)
{
	double before, at, thr = det_find("ensemble")->default_threshold;
	struct kv up[] = {{"direction", "up", "test"}};
	struct kv down[] = {{"direction", "down", "test"}};
	(void)unused;
	score_spike(up, 1, -10.0, &before, &at);
	assert_true(at < thr);
	score_spike(up, 1, 30.0, &before, &at);
	assert_true(at >= thr);
	score_spike(down, 1, 30.0, &before, &at);
	assert_true(at < thr);
}

/* sensitivity shifts the score by sensitivity/10 (one decade of tail
 * probability = 0.1), as long as neither score is clamped (refractory off:
 * it is triggered by the shifted score). */
static void test_sensitivity_shifts(void **unused)
{
	static double xs[NPTS];
	struct run a, b;
	struct kv set[] = {{"refractory", "0", "test"}, {"sensitivity", "1", "test"}};
	int compared = 0;
	(void)unused;
	make_series(xs, NPTS, NPTS, 0);
	run_open(&a, set, 1);
	run_open(&b, set, 2);
	for (size_t i = 0; i < NPTS; i++) {
		double sa = feed(&a, 60.0 * (double)i, xs[i]), sb = feed(&b, 60.0 * (double)i, xs[i]);
		if (isfinite(sa) && sa > 0 && sa < 0.45 && sb < 1) {
			assert_near(sb, sa + 0.1, 1e-9);
			compared++;
		}
	}
	assert_true(compared > 100);
	run_close(&a);
	run_close(&b);
}

/* lik_margin (default 0.07) takes lik_margin/10 off every likelihood score
 * but not off range novelty: the spike far beyond the seen range scores 1
 * with and without it (refractory off, so that both runs see the same
 * points outside a refractory period). */
static void test_lik_margin_spares_range_novelty(void **unused)
{
	static double xs[NPTS];
	struct run a, b;
	struct kv set[] = {{"refractory", "0", "test"}, {"lik_margin", "0", "test"}};
	int compared = 0;
	(void)unused;
	make_series(xs, NPTS, 2500, 25.0);
	run_open(&a, set, 1); /* the default margin */
	run_open(&b, set, 2); /* no margin */
	for (size_t i = 0; i < NPTS; i++) {
		double sa = feed(&a, 60.0 * (double)i, xs[i]), sb = feed(&b, 60.0 * (double)i, xs[i]);
		if (i == 2500) {
			assert_near(sa, 1.0, 0);
			assert_near(sb, 1.0, 0);
		} else if (isfinite(sb) && sb > 0.03 && sb < 1) {
			assert_near(sa, sb - 0.007, 1e-9);
			compared++;
		}
	}
	assert_true(compared > 100);
	run_close(&a);
	run_close(&b);
}

/* A NaN value or an out-of-order time is a gap: it scores NaN and leaves the
 * model as it was, so the rest of the stream scores as if it were absent. */
static void test_gaps_leave_state_valid(void **unused)
{
	static double xs[NPTS];
	struct run a, b;
	(void)unused;
	make_series(xs, NPTS, 2500, 25.0);
	run_open(&a, NULL, 0);
	run_open(&b, NULL, 0);
	for (size_t i = 0; i < NPTS; i++) {
		double ts = 60.0 * (double)i;
		if (i == 700 || i == 2400) {
			assert_true(isnan(feed(&b, ts - 30.0, NAN)));
			assert_true(isnan(feed(&b, ts - 1e6, 10.0))); /* out of order */
			assert_true(isnan(feed(&b, NAN, 10.0)));
		}
		double sa = feed(&a, ts, xs[i]), sb = feed(&b, ts, xs[i]);
		assert_near(sb, sa, 0);
	}
	run_close(&a);
	run_close(&b);
}

static void test_long_gap_restarts(void **unused)
{
	struct run r;
	struct kv set[] = {{"max_gap", "5", "test"}, {"warmup", "20", "test"}};
	(void)unused;
	run_open(&r, set, 2);
	for (int i = 0; i < 50; i++)
		feed(&r, i, 1.0 + (i % 2));
	assert_true(isfinite(feed(&r, 50, 1.0)));
	for (int i = 0; i < 5; i++)
		feed(&r, 51 + i, NAN);
	/* the model restarted: back in warm-up */
	assert_true(isnan(feed(&r, 60, 1.0)));
	run_close(&r);
}

/* save -> load -> continue equals the uninterrupted stream (10,000 random
 * samples with gaps, as the Atlas suite does), through the versioned envelope. */
static void test_save_load_continue(void **unused)
{
	struct run a, b;
	struct buf saved = {0};
	uint64_t st = 7;
	double xs[10000];
	(void)unused;
	for (int i = 0; i < 10000; i++)
		xs[i] = uni(&st) < 0.01 ? NAN : 100.0 * uni(&st) + (i % 500 == 0 ? 400.0 : 0.0);
	run_open(&a, NULL, 0);
	run_open(&b, NULL, 0);
	for (int i = 0; i < 5000; i++)
		feed(&a, i, xs[i]);
	assert_int_equal(det_state_save(&a.d, a.state, &saved), 0);
	assert_int_equal(det_state_load(&b.d, b.state, saved.data, saved.len), 0);
	for (int i = 5000; i < 10000; i++) {
		double sa = feed(&a, i, xs[i]), sb = feed(&b, i, xs[i]);
		assert_near(sb, sa, 1e-12);
	}
	/* a truncated blob is refused and leaves a fresh model */
	assert_int_not_equal(det_state_load(&b.d, b.state, saved.data, saved.len - 1), 0);
	assert_true(isnan(feed(&b, 20000, 1.0)));
	buf_free(&saved);
	run_close(&a);
	run_close(&b);
}

/* ---- restored states are vetted ---- */

#define CS_POINTS 5000

/* Level noise, a period of 50 whose amplitude grows 8-fold at 2000 (the
 * quantisers move), a few spikes and a gap every 701 points; the last point
 * before CS_POINTS is a gap. */
static double cs_value(size_t i, uint64_t *st)
{
	double a = i < 2000 ? 5.0 : 40.0;
	if (i % 701 == 700 || i == CS_POINTS - 1)
		return NAN;
	return 100.0 + a * sin(2.0 * M_PI * (double)i / 50.0) + uni(st) + (i % 997 == 0 ? 300.0 : 0.0);
}

/* The state must behave exactly like a fresh model (after a refused load). */
static void assert_fresh(struct run *r)
{
	struct run f;
	uint64_t st = 99;
	run_open(&f, NULL, 0);
	for (size_t i = 0; i < 400; i++) {
		double x = cs_value(i, &st);
		assert_near(feed(r, 60.0 * (double)i, x), feed(&f, 60.0 * (double)i, x), 0);
	}
	run_close(&f);
	assert_int_equal(det_state_init(&r->d, r->state), 0);
}

/* Load a corrupted copy of saved (body at `body`): word `at` replaced by the
 * 8 bytes at `v`; must be refused and leave a fresh model. */
static void refuse_word(struct run *r, const struct buf *saved, size_t body, size_t at, const void *v,
			const char *what)
{
	uint8_t *junk = malloc(saved->len);
	int rc;
	assert_non_null(junk);
	memcpy(junk, saved->data, saved->len);
	memcpy(junk + body + at, v, 8);
	rc = det_state_load(&r->d, r->state, junk, saved->len);
	free(junk);
	if (rc != -VIGIL_EINVAL)
		fail_msg("corrupt state (%s, body offset %zu) loaded: rc %d", what, at, rc);
	assert_fresh(r);
}

static void test_corrupt_state_refused(void **unused)
{
	struct run a, b;
	struct buf saved = {0};
	uint64_t st = 11;
	size_t body = 4 + 4 + 4 + strlen("ensemble") + 4, len, sets = 10 * 512,
	       refused = 0; /* ENS_NLVL x ENS_SHIFTS tables of 1024 4-bit stamps */
	int64_t n = 0, i64;
	double last_ts = NAN, d, xs[2 * CS_POINTS];
	(void)unused;
	for (size_t i = 0; i < 2 * CS_POINTS; i++)
		xs[i] = cs_value(i, &st);
	run_open(&a, NULL, 0);
	run_open(&b, NULL, 0);
	for (size_t i = 0; i < CS_POINTS; i++) {
		feed(&a, 60.0 * (double)i, xs[i]);
		if (isfinite(xs[i])) {
			n++;
			last_ts = 60.0 * (double)i;
		}
	}
	assert_int_equal(det_state_save(&a.d, a.state, &saved), 0);
	len = saved.len - body;
	assert_int_equal(len, det_state_size(&a.d));
	assert_true(len > sets);
	/* the layout the corruptions below rely on (see struct ens_state) */
	memcpy(&i64, saved.data + body, 8);
	assert_int_equal(i64, n);
	memcpy(&i64, saved.data + body + 8, 8);
	assert_int_equal(i64, 1); /* the last point was a gap */
	memcpy(&d, saved.data + body + 16, 8);
	assert_near(d, last_ts, 0);

	/* named fields */
	i64 = -1;
	refuse_word(&b, &saved, body, 0, &i64, "n = -1");
	i64 = n + 1;
	refuse_word(&b, &saved, body, 0, &i64, "n disagrees with the channels");
	i64 = -1;
	refuse_word(&b, &saved, body, 8, &i64, "gap_run = -1");
	i64 = 1000; /* max_gap: the model would have restarted */
	refuse_word(&b, &saved, body, 8, &i64, "gap_run = max_gap");
	d = NAN;
	refuse_word(&b, &saved, body, 16, &d, "last_ts NaN");
	d = INFINITY;
	refuse_word(&b, &saved, body, 16, &d, "last_ts inf");
	d = NAN;
	refuse_word(&b, &saved, body, 24, &d, "x_prev NaN");
	/* every word before the stamp tables (counts, indices, levels, values,
	 * bins) set to all-ones (-1 / NaN) or to 0x7ff8...0 (NaN / a huge
	 * count): refused unless it already held that pattern */
	for (size_t at = 0; at + 8 <= len - sets; at += 8) {
		static const uint64_t pats[] = {~0ULL, 0x7ff8000000000000ULL};
		for (size_t k = 0; k < 2; k++) {
			char what[64];
			if (memcmp(saved.data + body + at, &pats[k], 8) == 0)
				continue;
			snprintf(what, sizeof what, "pattern %016llx", (unsigned long long)pats[k]);
			refuse_word(&b, &saved, body, at, &pats[k], what);
			refused++;
		}
	}
	assert_true(refused > 100);
	/* a stamp table whose stamps are newer than its quantiser's
	 * recordings (every stamp 0xf) */
	{
		uint8_t *junk = malloc(saved.len);
		assert_non_null(junk);
		memcpy(junk, saved.data, saved.len);
		memset(junk + saved.len - 512, 0xff, 512);
		assert_int_equal(det_state_load(&b.d, b.state, junk, saved.len), -VIGIL_EINVAL);
		assert_fresh(&b);
		free(junk);
	}
	/* the intact state loads and continues exactly like the original */
	assert_int_equal(det_state_load(&b.d, b.state, saved.data, saved.len), 0);
	for (size_t i = CS_POINTS; i < 2 * CS_POINTS; i++) {
		double sa = feed(&a, 60.0 * (double)i, xs[i]), sb = feed(&b, 60.0 * (double)i, xs[i]);
		assert_near(sb, sa, 0);
	}
	buf_free(&saved);
	run_close(&a);
	run_close(&b);
}

/* Every state the detector passes through loads (the vetting accepts all of
 * them): saved at many points, before and after the quantisers start. */
static void test_valid_states_load(void **unused)
{
	struct run a, b;
	struct buf saved = {0};
	uint64_t st = 5;
	(void)unused;
	run_open(&a, NULL, 0);
	run_open(&b, NULL, 0);
	for (size_t i = 0; i < CS_POINTS; i++) {
		feed(&a, 60.0 * (double)i, cs_value(i, &st));
		if (i < 400 || i % 37 == 0) {
			buf_reset(&saved);
			assert_int_equal(det_state_save(&a.d, a.state, &saved), 0);
			if (det_state_load(&b.d, b.state, saved.data, saved.len) != 0)
				fail_msg("own state after %zu points refused", i + 1);
		}
	}
	buf_free(&saved);
	run_close(&a);
	run_close(&b);
}

/* Values near DBL_MAX overflow the model's sums: the model restarts instead
 * of carrying inf/NaN (which used to pin the score at 0.5 for good); the
 * scores stay in range, the states stay loadable, and afterwards normal data
 * scores normally again. */
static void test_absurd_values_restart(void **unused)
{
	struct run a, b;
	struct buf saved = {0};
	double thr = det_find("ensemble")->default_threshold, late = 0;
	int finite = 0;
	(void)unused;
	run_open(&a, NULL, 0);
	run_open(&b, NULL, 0);
	for (size_t i = 0; i < 3000; i++) {
		double x = i >= 1000 && i < 1010 ? (i % 2 ? 1.7e308 : -1.7e308) : 10.0 + (double)(i % 7);
		double sc = feed(&a, 60.0 * (double)i, x);
		if (!isnan(sc) && !(sc >= 0 && sc <= 1))
			fail_msg("score %.17g at %zu", sc, i);
		if (i >= 2800) {
			finite += isfinite(sc);
			if (sc > late)
				late = sc;
		}
		if (i >= 995 && i < 1020) {
			buf_reset(&saved);
			assert_int_equal(det_state_save(&a.d, a.state, &saved), 0);
			assert_int_equal(det_state_load(&b.d, b.state, saved.data, saved.len), 0);
		}
	}
	assert_int_equal(finite, 200);
	if (!(late < thr))
		fail_msg("normal rows after the overflow score up to %.4f", late);
	buf_free(&saved);
	run_close(&a);
	run_close(&b);
}

/* The likelihood Gaussians leave out the first lik_warm raw values (the
 * residual scales start at 0, so those values are inflated): a sustained
 * shift soon after the warm-up, inside the range an early outlier opened,
 * stands out more than with lik_warm 1 (the Gaussian fitted on every raw
 * value, as before the restart), and the quiet stretch before it stays
 * quiet. */
static void shift_after_start(const struct kv *set, size_t nset, double *quiet, double *shift)
{
	struct run r;
	uint64_t st = 7;
	*quiet = *shift = 0;
	run_open(&r, set, nset);
	for (int i = 0; i < 300; i++) {
		double x = 9.0 + 2.0 * uni(&st), sc;
		if (i == 3)
			x = 30;
		if (i >= 250 && i < 270)
			x += 3;
		sc = feed(&r, 60.0 * i, x);
		if (i >= 150 && i < 250)
			*quiet = fmax(*quiet, sc);
		else if (i >= 250)
			*shift = fmax(*shift, sc);
	}
	run_close(&r);
}

static void test_lik_warm_restart(void **unused)
{
	(void)unused;
	struct kv old[] = {{"lik_warm", "1", "test"}};
	double q0, s0, q1, s1;
	shift_after_start(NULL, 0, &q1, &s1);
	shift_after_start(old, 1, &q0, &s0);
	print_message("restart: quiet %.3f shift %.3f; lik_warm 1: quiet %.3f shift %.3f\n", q1, s1, q0, s0);
	assert_true(s1 >= 1.2 * s0);
	assert_true(q1 < 0.5 * s1);
}

static void test_bad_params(void **unused)
{
	struct detector d;
	char err[256];
	struct kv bad1[] = {{"direction", "sideways", "test"}};
	struct kv bad2[] = {{"alpha_fast", "0.01", "test"}, {"alpha_slow", "0.5", "test"}};
	/* the state holds two quantisers per level: more cannot be configured */
	struct kv bad3[] = {{"ctx_shifts", "3", "test"}};
	struct kv bad4[] = {{"ctx_shifts", "0", "test"}};
	(void)unused;
	assert_int_not_equal(det_new("ensemble", bad3, 1, &d, err, sizeof err), 0);
	assert_int_not_equal(det_new("ensemble", bad4, 1, &d, err, sizeof err), 0);
	assert_int_not_equal(det_new("ensemble", bad1, 1, &d, err, sizeof err), 0);
	assert_int_not_equal(det_new("ensemble", bad2, 2, &d, err, sizeof err), 0);
	assert_non_null(strstr(err, "alpha_slow"));
}

/* A perfectly regular sawtooth (10..16, period 7, integer steps) with one
 * spike: the spike must be the only point at/above the threshold, and the
 * periodic rows - including those where the pattern channel starts - must
 * stay far below it (the quantiser's start used to fire on a normal row);
 * the few rows whose contexts still hold the spike stay below it. */
static void test_sawtooth_spike(void **unused)
{
	struct run r;
	double thr = det_find("ensemble")->default_threshold, spike = NAN, worst = 0;
	size_t worst_at = 0;
	(void)unused;
	run_open(&r, NULL, 0);
	for (size_t i = 0; i < 1200; i++) {
		double x = i == 500 ? 400.0 : 10.0 + (double)(i % 7);
		double sc = feed(&r, 60.0 * (double)i, x);
		if (i == 500)
			spike = sc;
		else if (i > 500 && i <= 510) /* contexts holding the spike */
			assert_true(sc < thr);
		else if (isfinite(sc) && sc > worst) {
			worst = sc;
			worst_at = i;
		}
	}
	run_close(&r);
	if (!(spike >= thr))
		fail_msg("spike scored %.4f < threshold %.2f", spike, thr);
	if (!(worst < 0.5 * thr))
		fail_msg("periodic row %zu scored %.4f", worst_at, worst);
}

/* Refractory: right after a detected spike, a repeat of the same size is
 * scaled down (NAB counts a window's first hit only), but a spike far beyond
 * the range that includes the first one still reaches the threshold. */
static void test_refractory_break(void **unused)
{
	static double xs[NPTS];
	double thr = det_find("ensemble")->default_threshold;
	double first = NAN, repeat = NAN, big = NAN;
	struct run r;
	(void)unused;
	make_series(xs, NPTS, NPTS, 0);
	xs[2000] = 30.0; /* range [9, 11] -> 30: detected */
	xs[2005] = 30.5; /* same event again: suppressed */
	xs[2010] = 80.0; /* (80 - 30.5) / (30.5 - 9) = 2.3 range widths beyond */
	run_open(&r, NULL, 0);
	for (size_t i = 0; i < 2011; i++) {
		double sc = feed(&r, 60.0 * (double)i, xs[i]);
		if (i == 2000)
			first = sc;
		if (i == 2005)
			repeat = sc;
		if (i == 2010)
			big = sc;
	}
	run_close(&r);
	assert_true(first >= thr);
	if (!(repeat < thr))
		fail_msg("repeat scored %.4f", repeat);
	/* range novelty scores 1 (sensitivity 0), unscaled */
	assert_near(big, 1.0, 0);
	assert_true(big >= thr);
	/* with refr_break huge the same event is scaled by refr_scale (0.5) */
	struct kv set[] = {{"refr_break", "1000", "test"}};
	run_open(&r, set, 1);
	for (size_t i = 0; i < 2011; i++)
		big = feed(&r, 60.0 * (double)i, xs[i]);
	run_close(&r);
	assert_near(big, 0.5, 0);
}

/* ---- NAB regression ---- */

/* The three NAB files and a labels file trimmed to their windows. */
#define NAB_DIR "tests/data/nab"

static double parse_ts(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (end == NULL)
		return NAN;
	return (double)timegm(&tm);
}

static void nab_file(const char *rel)
{
	char path[1024], line[256];
	double *ts = NULL, *xs = NULL, thr = det_find("ensemble")->default_threshold;
	size_t n = 0, cap = 0, fp = 0, normal = 0;
	json_error_t jerr;
	json_t *labels, *wins;
	struct run r;
	FILE *f;

	snprintf(path, sizeof path, NAB_DIR "/data/%s", rel);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("NAB file %s is missing (run the tests from the repo root)", path);
	assert_non_null(fgets(line, sizeof line, f));
	while (fgets(line, sizeof line, f)) {
		char *comma = strchr(line, ',');
		assert_non_null(comma);
		*comma = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			ts = realloc(ts, cap * sizeof *ts);
			xs = realloc(xs, cap * sizeof *xs);
			assert_non_null(ts);
			assert_non_null(xs);
		}
		ts[n] = parse_ts(line);
		xs[n] = strtod(comma + 1, NULL);
		assert_true(isfinite(ts[n]));
		n++;
	}
	fclose(f);
	assert_true(n > 1000);

	snprintf(path, sizeof path, NAB_DIR "/labels/combined_windows.json");
	labels = json_load_file(path, 0, &jerr);
	if (labels == NULL)
		fail_msg("%s: %s", path, jerr.text);
	wins = json_object_get(labels, rel);
	assert_true(json_is_array(wins));
	assert_true(json_array_size(wins) > 0);

	double *score = calloc(n, sizeof *score);
	char *inwin = calloc(n, 1);
	assert_non_null(score);
	assert_non_null(inwin);
	run_open(&r, NULL, 0);
	for (size_t i = 0; i < n; i++)
		score[i] = feed(&r, ts[i], xs[i]);
	run_close(&r);

	for (size_t w = 0; w < json_array_size(wins); w++) {
		json_t *pair = json_array_get(wins, w);
		double a = parse_ts(json_string_value(json_array_get(pair, 0)));
		double b = parse_ts(json_string_value(json_array_get(pair, 1)));
		double best = 0;
		size_t rows = 0;
		for (size_t i = 0; i < n; i++) {
			if (ts[i] < a || ts[i] > b)
				continue;
			inwin[i] = 1;
			rows++;
			if (score[i] > best)
				best = score[i];
		}
		assert_true(rows > 0);
		if (!(best >= thr))
			fail_msg("%s: window %zu: max score %.4f < threshold %.2f", rel, w, best, thr);
	}
	/* NAB's probation: rows before min(15 %, 750) are not scored */
	size_t probation = (size_t)floor(0.15 * (double)n);
	if (probation > 750)
		probation = 750;
	for (size_t i = probation; i < n; i++) {
		if (inwin[i])
			continue;
		normal++;
		if (score[i] >= thr)
			fp++;
	}
	if (!(fp * 200 < normal))
		fail_msg("%s: %zu of %zu unlabelled rows at/above threshold", rel, fp, normal);
	json_decref(labels);
	free(score);
	free(inwin);
	free(ts);
	free(xs);
}

static void test_nab_ec2_latency(void **unused)
{
	(void)unused;
	nab_file("realKnownCause/ec2_request_latency_system_failure.csv");
}

static void test_nab_speed(void **unused)
{
	(void)unused;
	nab_file("realTraffic/speed_t4013.csv");
}

static void test_nab_jumpsup(void **unused)
{
	(void)unused;
	nab_file("artificialWithAnomaly/art_daily_jumpsup.csv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered_default),
		cmocka_unit_test(test_warmup_is_nan),
		cmocka_unit_test(test_flat_then_spike),
		cmocka_unit_test(test_direction_up_ignores_drop),
		cmocka_unit_test(test_sensitivity_shifts),
		cmocka_unit_test(test_lik_margin_spares_range_novelty),
		cmocka_unit_test(test_gaps_leave_state_valid),
		cmocka_unit_test(test_long_gap_restarts),
		cmocka_unit_test(test_save_load_continue),
		cmocka_unit_test(test_corrupt_state_refused),
		cmocka_unit_test(test_valid_states_load),
		cmocka_unit_test(test_absurd_values_restart),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_lik_warm_restart),
		cmocka_unit_test(test_sawtooth_spike),
		cmocka_unit_test(test_refractory_break),
		cmocka_unit_test(test_nab_ec2_latency),
		cmocka_unit_test(test_nab_speed),
		cmocka_unit_test(test_nab_jumpsup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
