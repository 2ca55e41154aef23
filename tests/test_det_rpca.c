/* Unit tests for the robust-PCA detectors: the OR-PCA engine
 * (detectors/orpca_core.h), the batch Surus RAD decomposition (detectors/rad.h)
 * and the streaming "orpca" and "rad" detectors. Cases and expected answers
 * come from ../shared/docs/detectors.md §5–§6 or from the construction of
 * the input, explained next to each test. */
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
#include "detectors/orpca_core.h"
#include "detectors/rad.h"

static int nonzero(double v)
{
	return v > 0 || v < 0;
}

/* xorshift64 + Box-Muller: a fixed generator so every run sees the same data. */
static uint64_t rng = 0x853c49e6748fea9bull;
static double rng_unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double rng_normal(void)
{
	return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

/* ---- OR-PCA engine -------------------------------------------------------- */

/* The doc's synthetic case (§5): m = 20, n = 400, r = 2, 1 % of the entries
 * corrupted by ±10, λ1 = λ2 = 1/√m, 50-sample burn-in. The doc does not give
 * its generator; here Z = U·Vᵀ with U (m×r) ~ N(0, 1) and V (n×r) ~ N(0, 1/m),
 * so clean entries have sd √(r/m) ≈ 0.32 and a ±10 corruption stands ~30 sd
 * out. Expected: after the burn-in every corrupted entry has |e| > 1 and no
 * clean entry does. L0 is the engine's seeded random basis, ρ = 1. */
static void test_orpca_core__doc_synthetic(void **st)
{
	enum { M = 20, N = 400, R = 2, BURN = 50 };
	static double U[M][R], V[N][R], Z[N][M];
	static int bad[N][M];
	struct orpca_cfg c = {M, R, 1 / sqrt(M), 1 / sqrt(M), 1.0, 1e-6, 1000};
	double *state, *work, e[M], recon[M];
	int found = 0, missed = 0, falsepos = 0, corrupted = 0, it, maxit = 0;
	char err[128];

	(void)st;
	assert_int_equal(orpca_cfg_check(&c, err, sizeof err), 0);
	rng = 0x853c49e6748fea9bull;
	for (int i = 0; i < M; i++)
		for (int j = 0; j < R; j++)
			U[i][j] = rng_normal();
	for (int t = 0; t < N; t++)
		for (int j = 0; j < R; j++)
			V[t][j] = rng_normal() / sqrt(M);
	for (int t = 0; t < N; t++)
		for (int i = 0; i < M; i++) {
			Z[t][i] = U[i][0] * V[t][0] + U[i][1] * V[t][1];
			bad[t][i] = rng_unit() < 0.01;
			if (bad[t][i])
				Z[t][i] += rng_unit() < 0.5 ? -10 : 10;
		}
	state = calloc(orpca_state_len(&c), sizeof *state);
	work = calloc(orpca_work_len(&c), sizeof *work);
	assert_non_null(state);
	assert_non_null(work);
	assert_int_equal(orpca_init(&c, state, work, 42), 0);
	assert_int_equal(orpca_state_check(&c, state), 0);
	for (int t = 0; t < N; t++) {
		assert_int_equal(orpca_update(&c, state, work, Z[t], e, recon, NULL, &it), 0);
		assert_int_equal(orpca_state_check(&c, state), 0);
		if (t < BURN)
			continue;
		maxit = it > maxit ? it : maxit;
		for (int i = 0; i < M; i++) {
			int flag = fabs(e[i]) > 1;
			corrupted += bad[t][i];
			found += flag && bad[t][i];
			missed += !flag && bad[t][i];
			falsepos += flag && !bad[t][i];
			/* z = recon + e + (a dense residual within ±λ2) */
			if (!(fabs(Z[t][i] - recon[i] - e[i]) <= c.lambda2 + 1e-12))
				fail_msg("t=%d i=%d: |z - Lr - e| > lambda2", t, i);
		}
	}
	print_message(
		"orpca synthetic: %d corrupted after burn-in, %d found, %d missed, %d false, max iters %d\n",
		corrupted, found, missed, falsepos, maxit);
	assert_true(corrupted > 40); /* the case exercises something */
	assert_int_equal(missed, 0);
	assert_int_equal(falsepos, 0);
	assert_int_equal(found, corrupted);
	free(state);
	free(work);
}

/* Non-finite input is refused and leaves the state bit-for-bit unchanged. */
static void test_orpca_core__refuses_nonfinite(void **st)
{
	struct orpca_cfg c = {5, 2, 0.1, 0.5, 0.99, 1e-6, 50};
	double state[2 * 5 * 2 + 4], copy[sizeof state / sizeof state[0]], work[200], e[5],
		z[5] = {1, 2, 3, 4, 5};

	(void)st;
	assert_true(orpca_work_len(&c) <= 200);
	assert_int_equal(orpca_init(&c, state, work, 7), 0);
	assert_int_equal(orpca_update(&c, state, work, z, e, NULL, NULL, NULL), 0);
	memcpy(copy, state, sizeof state);
	z[2] = NAN;
	assert_int_equal(orpca_update(&c, state, work, z, e, NULL, NULL, NULL), -VIGIL_EINVAL);
	assert_true(isnan(e[0]));
	assert_memory_equal(copy, state, sizeof state);
	z[2] = INFINITY;
	assert_int_equal(orpca_update(&c, state, work, z, e, NULL, NULL, NULL), -VIGIL_EINVAL);
	assert_memory_equal(copy, state, sizeof state);
	/* a bad cfg is named */
	c.lambda1 = 0;
	{
		char err[128] = "";
		assert_int_equal(orpca_cfg_check(&c, err, sizeof err), -VIGIL_EINVAL);
		assert_non_null(strstr(err, "lambda1"));
	}
}

/* Same seed, same basis; the basis is orthonormal (thin QR). */
static void test_orpca_core__init_is_orthonormal(void **st)
{
	struct orpca_cfg c = {7, 3, 0.1, 0.5, 1, 1e-6, 50};
	double a[2 * 7 * 3 + 9], b[2 * 7 * 3 + 9], work[300];

	(void)st;
	assert_int_equal(orpca_init(&c, a, work, 99), 0);
	assert_int_equal(orpca_init(&c, b, work, 99), 0);
	assert_memory_equal(a, b, sizeof a);
	for (int p = 0; p < 3; p++)
		for (int q = 0; q < 3; q++) {
			double d = 0;
			for (int i = 0; i < 7; i++)
				d += a[i * 3 + p] * a[i * 3 + q];
			assert_near(d, p == q ? 1.0 : 0.0, 1e-12);
		}
}

/* ---- RAD batch -------------------------------------------------------------- */

static void check_sum(const double *X, const double *L, const double *S, const double *E, size_t n)
{
	for (size_t k = 0; k < n; k++)
		assert_near(L[k] + S[k] + E[k], X[k], 1e-12);
}

/* Rank one plus three spikes. X0(i, j) = a_i·b_j with a_i = 2 + sin(2πi/12)
 * (a daily-like shape over P = 12 phases) and b_j = 1 + 0.1·j (N = 8
 * periods, a growing level): rank 1 by construction. Three cells get +6, −5
 * and +8. Expected: S ≠ 0 exactly at those three cells, and L ≈ X0 (the
 * singular-value shrinkage μ ≥ 0.01 in z units bounds the bias at ~1 %). */
static void test_rad__rank1_plus_spikes(void **st)
{
	enum { P = 12, N = 8 };
	static const size_t spike_at[3] = {3 * P + 5, 5 * P + 0, 6 * P + 9};
	static const double spike[3] = {6, -5, 8};
	double X0[P * N], X[P * N], L[P * N], S[P * N], E[P * N];
	int iters = 0;

	(void)st;
	for (int j = 0; j < N; j++)
		for (int i = 0; i < P; i++)
			X0[j * P + i] = (2 + sin(2 * M_PI * i / P)) * (1 + 0.1 * j);
	memcpy(X, X0, sizeof X);
	for (int k = 0; k < 3; k++)
		X[spike_at[k]] += spike[k];
	assert_int_equal(rad_decompose(X, P, N, NAN, L, S, E, &iters), 0);
	assert_true(iters >= 1 && iters <= RAD_MAX_ITER);
	check_sum(X, L, S, E, P * N);
	for (size_t k = 0; k < P * N; k++) {
		int want = k == spike_at[0] || k == spike_at[1] || k == spike_at[2];
		if (nonzero(S[k]) != want)
			fail_msg("cell %zu: S = %.17g, spike %d", k, S[k], want);
		assert_near(L[k], X0[k], 0.05);
	}
	/* the spikes' signs survive */
	assert_true(S[spike_at[0]] > 0 && S[spike_at[1]] < 0 && S[spike_at[2]] > 0);
}

/* R's doc example (§6, Surus R package): frequency = 7, 10 periods,
 * ts = sin(2π/7 · (1..70)), ts[58:60] = 100 (1-based), decomposed as the
 * 7×10 matrix (column-major, i.e. the series in order) with the default
 * s.penalty 1.4/√max(7, 10). The spikes are ~4.4 sd above the rest after
 * z-scoring, so they cannot be absorbed by a low-rank L of a sinusoid that
 * repeats exactly; the doc reports S ≠ 0 exactly at 1-based 58–60. */
static void test_rad__r_doc_example(void **st)
{
	enum { P = 7, N = 10 };
	double X[P * N], L[P * N], S[P * N], E[P * N];
	int iters;

	(void)st;
	for (int t = 1; t <= P * N; t++)
		X[t - 1] = sin(2 * M_PI / 7 * t);
	for (int t = 58; t <= 60; t++)
		X[t - 1] = 100;
	assert_int_equal(rad_decompose(X, P, N, 1.4 / sqrt(10), L, S, E, &iters), 0);
	check_sum(X, L, S, E, P * N);
	for (int k = 0; k < P * N; k++)
		if (nonzero(S[k]) != (k >= 57 && k <= 59))
			fail_msg("0-based cell %d: S = %.17g", k, S[k]);
	/* NAN selects the same default */
	{
		double S2[P * N];
		assert_int_equal(rad_decompose(X, P, N, NAN, L, S2, E, &iters), 0);
		assert_memory_equal(S, S2, sizeof S);
	}
}

/* The transpose orientation (P ≥ N) gives the transposed answer, since the
 * decomposition of Xᵀ is the transpose of the decomposition of X. */
static void test_rad__orientation(void **st)
{
	enum { P = 7, N = 10 };
	double X[P * N], Xt[P * N], L[P * N], S[P * N], E[P * N], Lt[P * N], St[P * N], Et[P * N];
	int it1, it2;

	(void)st;
	rng = 12345;
	for (int k = 0; k < P * N; k++)
		X[k] = sin(2 * M_PI / 7 * (k + 1)) + 0.1 * rng_normal() + (k == 20 ? 6 : 0);
	for (int j = 0; j < N; j++)
		for (int i = 0; i < P; i++)
			Xt[i * N + j] = X[j * P + i]; /* N×P column-major */
	assert_int_equal(rad_decompose(X, P, N, 0.4, L, S, E, &it1), 0);
	assert_int_equal(rad_decompose(Xt, N, P, 0.4, Lt, St, Et, &it2), 0);
	assert_int_equal(it1, it2);
	for (int j = 0; j < N; j++)
		for (int i = 0; i < P; i++) {
			assert_near(Lt[i * N + j], L[j * P + i], 1e-9);
			assert_near(St[i * N + j], S[j * P + i], 1e-9);
		}
	assert_true(nonzero(S[20]));
}

static void test_rad__edge_cases(void **st)
{
	double X[12], L[12], S[12], E[12];
	int iters = -1;

	(void)st;
	for (int k = 0; k < 12; k++)
		X[k] = 3.5;
	/* constant: pass through */
	assert_int_equal(rad_decompose(X, 4, 3, NAN, L, S, E, &iters), 0);
	assert_int_equal(iters, 0);
	for (int k = 0; k < 12; k++) {
		assert_near(L[k], 3.5, 0);
		assert_near(S[k], 0, 0);
		assert_near(E[k], 0, 0);
	}
	X[5] = NAN;
	assert_int_equal(rad_decompose(X, 4, 3, NAN, L, S, E, &iters), -VIGIL_EINVAL);
	X[5] = 1;
	assert_int_equal(rad_decompose(X, 0, 3, NAN, L, S, E, &iters), -VIGIL_EINVAL);
	assert_int_equal(rad_decompose(X, 4, 3, -1, L, S, E, &iters), -VIGIL_EINVAL);
	assert_int_equal(rad_decompose(X, 4, 3, NAN, NULL, NULL, NULL, NULL), 0);
}

/* ---- streaming detectors ------------------------------------------------- */

static void assert_same(const struct det_result *a, const struct det_result *b, double tol)
{
	assert_near(a->score, b->score, tol);
	assert_near(a->expected, b->expected, tol);
	assert_near(a->lower, b->lower, tol);
	assert_near(a->upper, b->upper, tol);
}

/* Save r's state, discard it, load it into a fresh block. */
static void reload(struct rig *r)
{
	struct buf b = {0};
	assert_int_equal(det_state_save(&r->d, r->state, &b), 0);
	det_state_fini(&r->d, r->state);
	memset(r->state, 0xa5, det_state_size(&r->d));
	assert_int_equal(det_state_load(&r->d, r->state, b.data, b.len), 0);
	buf_free(&b);
}

/* A smooth daily-like shape with small deterministic noise. */
static double wave(int t, int period)
{
	return 10 + 3 * sin(2 * M_PI * t / period) + 0.2 * sin(0.37 * t * t);
}

/* orpca: after warm-up a spike of 15 (≈ 5.5 series scales, the scale of
 * 3·sin is ≈ 2.7) scores at/above the default threshold; the sinusoid before
 * it does not. */
static void test_orpca_det__spike(void **st)
{
	struct rig r;
	double thr;
	int t;

	(void)st;
	rig_open(&r, "orpca", NULL, 0);
	thr = r.d.type->default_threshold;
	for (t = 0; t < 600; t++) {
		struct det_result o = rig_feed(&r, 1000.0 + t, wave(t, 24));
		if (t < 127)
			assert_true(isnan(o.score));
		else if (t >= 300 && !(o.score < thr))
			fail_msg("t=%d: score %g >= %g on the clean wave", t, o.score, thr);
		if (t >= 300)
			assert_true(o.lower < wave(t, 24) && wave(t, 24) < o.upper);
	}
	{
		struct det_result o = rig_feed(&r, 1000.0 + t, wave(t, 24) + 15);
		if (!(o.score >= thr))
			fail_msg("spike scored %g < %g", o.score, thr);
		assert_true(o.upper < wave(t, 24) + 15);
		assert_near(o.expected, wave(t, 24), 0.2);
	}
	rig_close(&r);
}

/* orpca: a NaN is skipped (the window is the valid points in order), so a
 * run with NaNs inserted gives the same outputs as one without them. */
static void test_orpca_det__nan_skips(void **st)
{
	struct rig a, b;

	(void)st;
	rig_open(&a, "orpca", NULL, 0);
	rig_open(&b, "orpca", NULL, 0);
	for (int t = 0; t < 400; t++) {
		struct det_result oa, ob;
		if (t == 50 || t == 200 || t == 201) {
			ob = rig_feed(&b, 1000.0 + t - 0.5, NAN);
			assert_true(isnan(ob.score));
			ob = rig_feed(&b, 1000.0 + t - 0.4, INFINITY);
			assert_true(isnan(ob.score));
		}
		oa = rig_feed(&a, 1000.0 + t, wave(t, 24));
		ob = rig_feed(&b, 1000.0 + t, wave(t, 24));
		assert_same(&oa, &ob, 0);
	}
	rig_close(&a);
	rig_close(&b);
}

static const struct kv rad_small[] = {
	{"period", "24s", NULL},
	{"step", "1s", NULL},
	{"periods", "7", NULL},
};

/* rad with P = 24, N = 7 on a shape that repeats exactly every period, so
 * the fit is rank one with E ≈ 0 and μ at its floor 0.01. Warm-up lasts until
 * the first fit at t = 7·24. After it the wave scores below the threshold:
 * the new period equals the fitted one up to the singular-value shrinkage,
 * which at a cell is μ·|u_i v_j| = μ·|z_ij|/σ1 ≈ μ·|z_ij|/√(P·N) ≤ 0.12 μ (z
 * units, |z| ≤ 1.5 here), under the soft threshold λ_S·μ = (1.4/√24)·μ = 0.29 μ.
 * A spike of +5 (~2 sd of the series) is far above it. */
static double rad_wave(int t)
{
	return 10 + 3 * sin(2 * M_PI * (t % 24) / 24.0) + 0.5 * ((t % 24) == 7);
}

static void test_rad_det__spike(void **st)
{
	struct rig r;
	double thr;
	int t;

	(void)st;
	rig_open(&r, "rad", rad_small, VIGIL_ARRAY_LEN(rad_small));
	thr = r.d.type->default_threshold;
	for (t = 0; t < 9 * 24 + 10; t++) {
		struct det_result o = rig_feed(&r, t, rad_wave(t));
		if (t < 7 * 24)
			assert_true(isnan(o.score));
		else if (!(o.score < thr))
			fail_msg("t=%d: score %g >= %g on the clean wave", t, o.score, thr);
	}
	{
		struct det_result o = rig_feed(&r, t, rad_wave(t) + 5);
		if (!(o.score >= thr))
			fail_msg("spike scored %g < %g", o.score, thr);
		assert_true(o.upper < rad_wave(t) + 5);
	}
	rig_close(&r);
}

/* rad: a NaN is a missing cell, exactly like a tick never sent; the state
 * stays loadable and scoring resumes. */
static void test_rad_det__nan_is_a_missing_cell(void **st)
{
	struct rig a, b;

	(void)st;
	rig_open(&a, "rad", rad_small, VIGIL_ARRAY_LEN(rad_small));
	rig_open(&b, "rad", rad_small, VIGIL_ARRAY_LEN(rad_small));
	for (int t = 0; t < 12 * 24; t++) {
		struct det_result oa, ob;
		int gap = t == 30 || t == 100 || t == 8 * 24 + 3;
		ob = rig_feed(&b, t, gap ? NAN : rad_wave(t));
		if (gap) {
			assert_true(isnan(ob.score));
			reload(&b);
			continue;
		}
		oa = rig_feed(&a, t, rad_wave(t));
		assert_same(&oa, &ob, 0);
	}
	{
		/* time going backwards is refused and leaves the state as it was */
		struct det_result o;
		struct buf s1 = {0}, s2 = {0};
		assert_int_equal(det_state_save(&b.d, b.state, &s1), 0);
		assert_int_equal(b.d.type->update(b.d.cfg, b.state, 5, 1, &o), -VIGIL_EINVAL);
		assert_true(isnan(o.score));
		assert_int_equal(det_state_save(&b.d, b.state, &s2), 0);
		assert_int_equal(s1.len, s2.len);
		assert_memory_equal(s1.data, s2.data, s1.len);
		buf_free(&s1);
		buf_free(&s2);
	}
	rig_close(&a);
	rig_close(&b);
}

/* save -> load -> continue equals uninterrupted to 1e-12, for both
 * detectors, on a noisy series with gaps and spikes, saving mid-period. */
static void test_det__save_load_continue(void **st)
{
	static const char *const names[] = {"orpca", "rad"};

	(void)st;
	for (size_t d = 0; d < 2; d++) {
		struct rig a, b;
		int finite = 0;
		const struct kv *set = d == 1 ? rad_small : NULL;
		size_t nset = d == 1 ? VIGIL_ARRAY_LEN(rad_small) : 0;

		rig_open(&a, names[d], set, nset);
		rig_open(&b, names[d], set, nset);
		rng = 777;
		for (int t = 0; t < 3000; t++) {
			double x = wave(t, 24) + 0.3 * rng_normal();
			struct det_result oa, ob;
			if (rng_unit() < 0.01)
				x = NAN;
			else if (rng_unit() < 0.005)
				x += 20;
			if (t % 701 == 0 || t == 1000 || t == 1013)
				reload(&b);
			oa = rig_feed(&a, t, x);
			ob = rig_feed(&b, t, x);
			assert_same(&oa, &ob, 1e-12);
			finite += isfinite(oa.score);
			if (isfinite(oa.score) && !(oa.score >= 0 && oa.score <= 1))
				fail_msg("%s: score %g out of [0, 1]", names[d], oa.score);
		}
		assert_true(finite > 2000);
		rig_close(&a);
		rig_close(&b);
	}
}

/* Configuration errors name the problem. */
static void test_det__config_errors(void **st)
{
	struct detector d;
	char err[256] = "";
	const struct kv big[] = {{"period", "1w", NULL}, {"step", "1m", NULL}};
	const struct kv odd[] = {{"period", "90s", NULL}, {"step", "1m", NULL}};
	const struct kv rank[] = {{"lag", "4", NULL}, {"rank", "5", NULL}};
	const struct kv warm[] = {{"lag", "32", NULL}, {"warmup", "10", NULL}};

	(void)st;
	assert_int_equal(det_new("rad", big, 2, &d, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "20000"));
	assert_int_equal(det_new("rad", odd, 2, &d, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "multiple"));
	assert_int_equal(det_new("orpca", rank, 2, &d, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "rank"));
	assert_int_equal(det_new("orpca", warm, 2, &d, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "warmup"));
	/* the defaults are valid and the state stays within the documented size */
	assert_int_equal(det_new("rad", NULL, 0, &d, err, sizeof err), 0);
	assert_true(det_state_size(&d) <= sizeof(double) * (RAD_MAX_CELLS + 2000) + 128);
	det_free(&d);
}

int main(void)
{
	gsl_set_error_handler_off();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orpca_core__doc_synthetic),
		cmocka_unit_test(test_orpca_core__refuses_nonfinite),
		cmocka_unit_test(test_orpca_core__init_is_orthonormal),
		cmocka_unit_test(test_rad__rank1_plus_spikes),
		cmocka_unit_test(test_rad__r_doc_example),
		cmocka_unit_test(test_rad__orientation),
		cmocka_unit_test(test_rad__edge_cases),
		cmocka_unit_test(test_orpca_det__spike),
		cmocka_unit_test(test_orpca_det__nan_skips),
		cmocka_unit_test(test_rad_det__spike),
		cmocka_unit_test(test_rad_det__nan_is_a_missing_cell),
		cmocka_unit_test(test_det__save_load_continue),
		cmocka_unit_test(test_det__config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
