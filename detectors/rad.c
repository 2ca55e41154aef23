/* Surus RAD (batch robust PCA per period), ../shared/docs/detectors.md §6:
 * the batch decomposition (rad.h) and the streaming detector "rad".
 *
 * Streaming: the series is folded into a P×N matrix, P = period/step points
 * per period and N = `periods` periods. Phases count ticks (floor(ts/step))
 * from an origin, so a gap cannot shift the season: `align` first (default)
 * puts phase 0 at the first point's tick, epoch at multiples of the period
 * since 1970-01-01 UTC (a Thursday). When the first point of a new period
 * arrives, the last N completed periods are refitted with
 * rad_decompose_opts() (λ_L = `lambda_l`, z-scored unless `scale` is false).
 * With `diff` on, or auto and a KPSS test rejecting level stationarity of
 * the window (a trend, a random walk), the fit is on first differences
 * [0, Δx] in time order, and predictions add the fitted difference to the
 * last value (an outlier leaves its expected value there instead, unless 3
 * outliers in a row say the series moved).
 * Until the next refit each point x at phase i is scored against that fit:
 *   expected = L[i][N−1] (the low-rank part of the same phase in the most
 *              recent fitted period, original units; + the last value when
 *              differenced);
 *   thr      = λ_S·μ·sd, the soft threshold of the fit's last S step: x would
 *              get S ≠ 0 ⇔ |x − expected| > thr (RAD's decision);
 *   d        = min(|x − expected|, |x − median of phase i over the window|):
 *              a value at its phase's usual level is not an outlier even
 *              where the low-rank part absorbed part of an old outlier;
 *   score    = min(1, d / (2·thr)), so score > 0.5 (the default threshold)
 *              ⇔ S ≠ 0 and away from the median; band = expected ± thr.
 * Missing cells (NaN, or ticks never seen) are filled before a fit with the
 * same phase of the nearest period that has one (earlier first); a phase
 * never seen gets the window mean. With fewer than 2·P real cells no fit is
 * made (score NaN). A constant window (sd = 0) is a zero-width band around
 * that constant (1e-9 relative, for rounding): a departure scores 1, the
 * constant 0. Warm-up (score NaN) lasts until N full periods were seen; the
 * period in which the series starts counts only if it started at phase 0
 * (always, with align=first). A silence longer than N periods restarts the
 * warm-up (the origin stays). Time going backwards is refused (-VIGIL_EINVAL,
 * state unchanged); the same tick again overwrites its cell. Means and sds
 * are computed on values scaled by the largest |value|, so values up to
 * ±DBL_MAX do not overflow (the engine refuses |x| > 1e150 anyway).
 * Defaults: period 1d, step 1m, periods 3 (P = 1440, N = 3, 4,320 cells):
 * warm-up is then 3 days, which the generic contract tests (10,000 one-minute
 * points) can reach; use periods=7 with step=5m (2,016 cells) for a weekly view.
 * State: P·N + 2·P doubles plus a small header (≤ RAD_MAX_CELLS cells). A refit
 * allocates 2·P·N doubles plus the decomposition's work and frees them. */
#include "detectors/rad.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "detectors/detector.h"

/* ---- batch decomposition ---- */

/* Sample sd (n−1) of v[0..n), mean in *mean, computed on v / max|v| so that
 * values up to ±DBL_MAX do not overflow the sums. */
static double sample_sd(const double *v, size_t n, double *mean)
{
	double m = 0, ss = 0, amax = 0;

	for (size_t i = 0; i < n; i++)
		amax = fmax(amax, fabs(v[i]));
	if (!(amax > 0)) {
		if (mean)
			*mean = 0;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		m += v[i] / amax;
	m /= (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] / amax - m) * (v[i] / amax - m);
	if (mean)
		*mean = m * amax;
	return n > 1 ? sqrt(ss / (double)(n - 1)) * amax : 0.0;
}

int rad_decompose_info(const double *X, size_t P, size_t N, double lambda_s, double *L, double *S, double *E,
		       struct rad_info *info)
{
	struct rad_opts o = {.lambda_s = lambda_s, .lambda_l = 1.0, .scale = 1};
	return rad_decompose_opts(X, P, N, &o, L, S, E, info);
}

int rad_decompose_opts(const double *X, size_t P, size_t N, const struct rad_opts *opt, double *L, double *S,
		       double *E, struct rad_info *info)
{
	double lambda_s = opt->lambda_s, lambda_l = opt->lambda_l, zs;
	size_t n = P * N, R = P >= N ? P : N, C = P >= N ? N : P;
	double *mem = NULL, *Z, *Lz, *Sz, *T, *V, *sv, *wk;
	double mean, sd, l1 = 0, mu, fprev = 0, tol, mu_s = 0, lam;
	int iter = 0, rc = 0;
	struct rad_info dummy;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof *info);
	if (X == NULL || P == 0 || N == 0 || n / N != P)
		return -VIGIL_EINVAL;
	if (isnan(lambda_s))
		lambda_s = 1.4 / sqrt((double)R);
	if (!(lambda_s > 0) || !isfinite(lambda_s) || !(lambda_l > 0) || !isfinite(lambda_l))
		return -VIGIL_EINVAL;
	for (size_t k = 0; k < n; k++)
		if (!isfinite(X[k]))
			return -VIGIL_EINVAL;
	sd = sample_sd(X, n, &mean);
	info->mean = mean;
	if (!(sd > 0) || !isfinite(sd)) {
		/* constant (or single-cell) window: nothing to decompose */
		for (size_t k = 0; k < n; k++) {
			if (L)
				L[k] = X[k];
			if (S)
				S[k] = 0;
			if (E)
				E[k] = 0;
		}
		return 0;
	}
	info->sd = sd;
	/* z units: (X - mean) / zs; without scaling zs = 1 (original units) */
	zs = opt->scale ? sd : 1.0;
	if (n > SIZE_MAX / sizeof(double) / 8)
		return -VIGIL_ENOMEM;
	mem = malloc((4 * n + C * C + 2 * C) * sizeof *mem);
	if (mem == NULL)
		return -VIGIL_ENOMEM;
	Z = mem;
	Lz = Z + n;
	Sz = Lz + n;
	T = Sz + n; /* R×C, the tall orientation of X − S; becomes U */
	V = T + n;  /* C×C */
	sv = V + C * C;
	wk = sv + C;
	for (size_t k = 0; k < n; k++) {
		Z[k] = X[k] / zs - mean / zs;
		l1 += fabs(Z[k]);
		fprev += 0.5 * Z[k] * Z[k];
		Lz[k] = 0;
		Sz[k] = 0;
	}
	mu = (double)n / (4.0 * l1);
	tol = 1e-8 * fprev;
	lam = lambda_s;
	for (iter = 1; iter <= RAD_MAX_ITER; iter++) {
		gsl_matrix_view Tm = gsl_matrix_view_array(T, R, C);
		gsl_matrix_view Vm = gsl_matrix_view_array(V, C, C);
		gsl_vector_view svv = gsl_vector_view_array(sv, C);
		gsl_vector_view wkv = gsl_vector_view_array(wk, C);
		double ts = lam * mu, tl = lambda_l * mu, l1s = 0, nuc = 0, ef = 0, emean = 0, evar = 0, f,
		       esd, diff;
		size_t kept = 0;

		/* S = soft(X − L, λ_S μ) */
		for (size_t k = 0; k < n; k++) {
			Sz[k] = det_soft(Z[k] - Lz[k], ts);
			l1s += fabs(Sz[k]);
		}
		/* L = SVT(X − S, λ_L μ), SVD on the orientation with rows ≥ columns:
		 * T[a][b] = (X − S)(i, j) with (a, b) = (i, j) if P ≥ N, else (j, i). */
		for (size_t j = 0; j < N; j++)
			for (size_t i = 0; i < P; i++) {
				size_t a = P >= N ? i : j, b = P >= N ? j : i;
				T[a * C + b] = Z[j * P + i] - Sz[j * P + i];
			}
		if (gsl_linalg_SV_decomp(&Tm.matrix, &Vm.matrix, &svv.vector, &wkv.vector) != GSL_SUCCESS) {
			rc = -VIGIL_ENUMERIC;
			goto done;
		}
		for (size_t q = 0; q < C; q++) {
			sv[q] = fmax(sv[q] - tl, 0.0);
			nuc += sv[q];
			if (sv[q] > 0)
				kept = q + 1; /* GSL sorts σ in decreasing order */
		}
		for (size_t j = 0; j < N; j++)
			for (size_t i = 0; i < P; i++) {
				size_t a = P >= N ? i : j, b = P >= N ? j : i;
				double v = 0;
				for (size_t q = 0; q < kept; q++)
					v += sv[q] * T[a * C + q] * V[b * C + q];
				Lz[j * P + i] = v;
			}
		/* E = X − L − S; f; μ update from sd(E) (two passes, n−1) */
		for (size_t k = 0; k < n; k++) {
			double e = Z[k] - Lz[k] - Sz[k];
			ef += e * e;
			emean += e;
		}
		emean /= (double)n;
		for (size_t k = 0; k < n; k++) {
			double e = Z[k] - Lz[k] - Sz[k] - emean;
			evar += e * e;
		}
		esd = n > 1 ? sqrt(evar / (double)(n - 1)) : 0.0;
		f = 0.5 * ef + tl * nuc + ts * l1s;
		mu_s = mu;
		mu = fmax(0.01, esd * sqrt(2.0 * (double)R));
		diff = fabs(fprev - f);
		fprev = f;
		if (!isfinite(f)) {
			rc = -VIGIL_ENUMERIC;
			goto done;
		}
		if (!(diff > tol))
			break;
	}
	if (iter > RAD_MAX_ITER)
		iter = RAD_MAX_ITER;
	for (size_t k = 0; k < n; k++) {
		double e = Z[k] - Lz[k] - Sz[k];
		if (!isfinite(Lz[k]) || !isfinite(Sz[k]) || !isfinite(e)) {
			rc = -VIGIL_ENUMERIC;
			goto done;
		}
		if (L)
			L[k] = Lz[k] * zs + mean;
		if (S)
			S[k] = Sz[k] * zs;
		if (E)
			E[k] = e * zs;
	}
	info->iters = iter;
	/* so that lambda_s·mu_s·sd is the threshold in original units */
	info->mu_s = opt->scale ? mu_s : mu_s / sd;
done:
	free(mem);
	return rc;
}

int rad_decompose(const double *X, size_t P, size_t N, double lambda_s, double *L, double *S, double *E,
		  int *iters)
{
	struct rad_info info;
	int rc = rad_decompose_info(X, P, N, lambda_s, L, S, E, &info);

	if (iters)
		*iters = info.iters;
	return rc;
}

/* ---- streaming detector ---- */

#define RAD_STATE_VER 2

enum { DIFF_AUTO = 0, DIFF_ON = 1, DIFF_OFF = 2 };
enum { ALIGN_FIRST = 0, ALIGN_EPOCH = 1 };
static const char *const diff_names[] = {"auto", "on", "off", NULL};
static const char *const align_names[] = {"first", "epoch", NULL};

enum { FIT_NONE = 0, FIT_OK = 1, FIT_PASS = 2 };

struct rad_cfg {
	double period, step; /* seconds */
	int periods;         /* N */
	double lambda_s;     /* NaN: 1.4/√max(P, N) */
	double lambda_l;     /* nuclear-norm weight */
	int diff;            /* DIFF_* */
	int scale;           /* z-score the window (else centre only) */
	int align;           /* ALIGN_* */
	int pad;
	size_t P, N; /* derived */
	double lam;  /* derived λ_S */
};

struct rad_state {
	int64_t last_tick;  /* floor(ts/step) of the newest point */
	int64_t cur_per;    /* period index of the newest point */
	int64_t first_full; /* first period that counts toward warm-up */
	int64_t origin;     /* tick of phase 0 of period 0 */
	double x_last;      /* newest finite value (differenced fits predict from it) */
	uint32_t has_last;  /* x_last is set */
	uint32_t diffed;    /* the current fit is on first differences */
	uint32_t out_run;   /* consecutive points scored >= 0.5 */
	uint32_t started;
	uint32_t fit;   /* FIT_* */
	uint32_t iters; /* iterations of the last fit */
	uint32_t nfail; /* fits that failed numerically (counted, then retried next period) */
	double thr;     /* FIT_OK: residual threshold, original units */
	double mean;    /* FIT_PASS: the constant */
	/* ring: period q in slot q mod N, P cells each (NaN = no value) |
	 * expected value per phase (P) */
	double d[];
};

static const struct param_spec rad_params[] = {
	{.name = "period",
	 .kind = PARAM_DURATION,
	 .def = "1d",
	 .offset = offsetof(struct rad_cfg, period),
	 .help = "season length (a multiple of step)",
	 .min = 1e-3,
	 .max = 1e9},
	{.name = "step",
	 .kind = PARAM_DURATION,
	 .def = "1m",
	 .offset = offsetof(struct rad_cfg, step),
	 .help = "sampling interval; P = period/step points per period",
	 .min = 1e-3,
	 .max = 1e9},
	{.name = "periods",
	 .kind = PARAM_INT,
	 .def = "3",
	 .offset = offsetof(struct rad_cfg, periods),
	 .help = "periods N in the fitted matrix (P*N <= 20000)",
	 .min = 2,
	 .max = 10000},
	{.name = "lambda_s",
	 .kind = PARAM_DOUBLE,
	 .def = "nan",
	 .offset = offsetof(struct rad_cfg, lambda_s),
	 .help = "sparse penalty (nan: 1.4/sqrt(max(P, N)))",
	 .min = 1e-9,
	 .max = 1e6,
	 .allow_nan = 1},
	{.name = "lambda_l",
	 .kind = PARAM_DOUBLE,
	 .def = "1",
	 .offset = offsetof(struct rad_cfg, lambda_l),
	 .help = "low-rank (nuclear norm) penalty; larger keeps fewer components",
	 .min = 1e-6,
	 .max = 1e6},
	{.name = "diff",
	 .kind = PARAM_ENUM,
	 .def = "auto",
	 .choices = diff_names,
	 .offset = offsetof(struct rad_cfg, diff),
	 .help = "fit first differences: on, off, or auto (when a KPSS test rejects level stationarity "
		 "of the window: trends, random walks)",
	 .min = 0,
	 .max = 0},
	{.name = "scale",
	 .kind = PARAM_BOOL,
	 .def = "true",
	 .offset = offsetof(struct rad_cfg, scale),
	 .help = "z-score the window before the fit (false: centre it only, penalties in original units)",
	 .min = 0,
	 .max = 1},
	{.name = "align",
	 .kind = PARAM_ENUM,
	 .def = "first",
	 .choices = align_names,
	 .offset = offsetof(struct rad_cfg, align),
	 .help = "phase 0 of a period: first (the first point's tick) or epoch (multiples of the period "
		 "since 1970-01-01 UTC)",
	 .min = 0,
	 .max = 0},
	{.name = NULL},
};

static int rad_config_check(void *cfgp, char *err, size_t errlen)
{
	struct rad_cfg *c = cfgp;
	double pd = c->period / c->step, pr = nearbyint(pd);

	if (!(pr >= 2) || fabs(pd - pr) > 1e-9 * pd) {
		snprintf(err, errlen, "rad: period %gs must be a whole multiple (>= 2) of step %gs",
			 c->period, c->step);
		return -VIGIL_EINVAL;
	}
	if (pr * (double)c->periods > RAD_MAX_CELLS) {
		snprintf(err, errlen,
			 "rad: period/step x periods = %.0f x %d = %.0f cells exceeds the cap of %d doubles "
			 "per "
			 "series; use a coarser step, a shorter period or fewer periods",
			 pr, c->periods, pr * c->periods, RAD_MAX_CELLS);
		return -VIGIL_EINVAL;
	}
	c->N = (size_t)c->periods;
	c->P = (size_t)pr;
	c->lam = isnan(c->lambda_s) ? 1.4 / sqrt((double)(c->P > c->N ? c->P : c->N)) : c->lambda_s;
	return 0;
}

static size_t rad_state_size(const void *cfgp)
{
	const struct rad_cfg *c = cfgp;
	return sizeof(struct rad_state) + (c->P * c->N + 2 * c->P) * sizeof(double);
}

static double *ring_of(const struct rad_cfg *c, struct rad_state *s, int64_t per)
{
	int64_t slot = per % (int64_t)c->N;
	if (slot < 0)
		slot += (int64_t)c->N;
	return s->d + (size_t)slot * c->P;
}

static double *expected_of(const struct rad_cfg *c, struct rad_state *s)
{
	return s->d + c->P * c->N;
}

static void restart(const struct rad_cfg *c, struct rad_state *s, int64_t tick, int64_t per, int64_t phase)
{
	s->has_last = 0;
	s->out_run = 0;
	s->x_last = 0;
	s->diffed = 0;
	for (size_t k = 0; k < c->P * c->N + 2 * c->P; k++)
		s->d[k] = NAN;
	s->started = 1;
	s->fit = FIT_NONE;
	s->thr = 0;
	s->mean = 0;
	s->cur_per = per;
	s->last_tick = tick;
	s->first_full = phase == 0 ? per : per + 1;
}

static int rad_init(const void *cfgp, void *statep)
{
	const struct rad_cfg *c = cfgp;
	struct rad_state *s = statep;

	restart(c, s, 0, 0, 0);
	s->started = 0;
	s->origin = 0;
	s->iters = 0;
	s->nfail = 0;
	return 0;
}

struct fit_result {
	int fit;
	double thr, mean;
	int iters;
	int diffed;
};

/* KPSS test of level stationarity (Kwiatkowski et al. 1992): with e the
 * deviations from the mean and S_t their partial sums,
 *   eta = Σ S_t² / (n² σ²),  σ² = γ0 + 2 Σ_{j=1..l} (1 − j/(l+1)) γ_j
 * (Bartlett long-run variance, l = ⌊4 (n/100)^(1/4)⌋). Returns 1 when eta
 * exceeds 0.463, the 5 % critical value (not level-stationary: a trend, a
 * random walk), else 0. y is scaled by its largest |value| first, so any
 * finite y works. O(n l). */
static int kpss_nonstationary(const double *y, size_t n)
{
	size_t l = (size_t)floor(4.0 * pow((double)n / 100.0, 0.25));
	double amax = 0, m = 0, ss = 0, part = 0, lr = 0;

	for (size_t i = 0; i < n; i++)
		amax = fmax(amax, fabs(y[i]));
	if (n < 8 || !(amax > 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		m += y[i] / amax;
	m /= (double)n;
	for (size_t i = 0; i < n; i++) {
		part += y[i] / amax - m;
		ss += part * part;
	}
	for (size_t j = 0; j <= l && j < n; j++) {
		double g = 0;
		for (size_t t = j; t < n; t++)
			g += (y[t] / amax - m) * (y[t - j] / amax - m);
		g /= (double)n;
		lr += j == 0 ? g : 2.0 * (1.0 - (double)j / (double)(l + 1)) * g;
	}
	if (!(lr > 0))
		return 0;
	return ss / ((double)n * (double)n * lr) > 0.463;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* med[i] = the median over the N periods of row i of X (P×N, column-major). */
static void phase_medians(const double *X, size_t P, size_t N, double *med)
{
	double v[64];
	for (size_t i = 0; i < P; i++) {
		size_t m = 0;
		/* the newest (up to) 63 periods: enough for a median */
		for (size_t j = N > 63 ? N - 63 : 0; j < N; j++)
			v[m++] = X[j * P + i];
		qsort(v, m, sizeof v[0], cmp_double);
		med[i] = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
	}
}

/* Fit periods per−N .. per−1 from the (unmodified) ring into fr and exp_out
 * (2 P doubles: the fit's newest period, then the per-phase medians of the
 * fitted matrix). Returns 0 (fr->fit says what came out), -VIGIL_ENOMEM, or
 * -VIGIL_ENUMERIC. Does not touch s. */
static int refit(const struct rad_cfg *c, struct rad_state *s, int64_t per, struct fit_result *fr,
		 double *exp_out)
{
	size_t P = c->P, N = c->N, n = P * N, have = 0;
	double *X = malloc(2 * n * sizeof *X), *L, sum = 0;
	struct rad_info info;
	int rc;

	fr->fit = FIT_NONE;
	fr->iters = 0;
	if (X == NULL)
		return -VIGIL_ENOMEM;
	L = X + n;
	/* chronological copy; periods outside the ring read as missing */
	for (size_t j = 0; j < N; j++) {
		int64_t q = per - (int64_t)N + (int64_t)j;
		int in = q <= s->cur_per && q > s->cur_per - (int64_t)N;
		const double *col = ring_of(c, s, q);
		for (size_t i = 0; i < P; i++) {
			X[j * P + i] = in ? col[i] : NAN;
			if (!isnan(X[j * P + i])) {
				have++;
				sum += X[j * P + i];
			}
		}
	}
	if (have < 2 * P) {
		free(X);
		return 0; /* too little data: no opinion this period */
	}
	/* fill from the same phase of the nearest period with a value (earlier
	 * first), reading only real cells (L is free scratch for the fill) */
	for (size_t i = 0; i < P; i++)
		for (size_t j = 0; j < N; j++) {
			double v = X[j * P + i];
			for (size_t d = 1; isnan(v) && d < N; d++) {
				if (j >= d && !isnan(X[(j - d) * P + i]))
					v = X[(j - d) * P + i];
				else if (j + d < N && !isnan(X[(j + d) * P + i]))
					v = X[(j + d) * P + i];
			}
			L[j * P + i] = isnan(v) ? sum / (double)have : v;
		}
	memcpy(X, L, n * sizeof *X);
	fr->diffed = c->diff == DIFF_ON;
	if (c->diff == DIFF_AUTO) {
		fr->diffed = kpss_nonstationary(X, n);
	}
	if (fr->diffed) {
		/* first differences in time order (column-major is time order) */
		for (size_t k = n - 1; k > 0; k--)
			X[k] = X[k] - X[k - 1];
		X[0] = 0;
	}
	{
		struct rad_opts o = {.lambda_s = c->lam, .lambda_l = c->lambda_l, .scale = c->scale};
		rc = rad_decompose_opts(X, P, N, &o, L, NULL, NULL, &info);
	}
	if (rc == 0) {
		fr->iters = info.iters;
		fr->mean = info.mean;
		if (info.sd > 0) {
			fr->fit = FIT_OK;
			fr->thr = c->lam * info.mu_s * info.sd;
			memcpy(exp_out, L + (N - 1) * P, P * sizeof *exp_out);
			phase_medians(X, P, N, exp_out + P);
			if (!(fr->thr > 0) || !isfinite(fr->thr))
				rc = -VIGIL_ENUMERIC;
		} else {
			fr->fit = FIT_PASS;
		}
	}
	free(X);
	return rc == -VIGIL_EINVAL ? -VIGIL_ENUMERIC : rc;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Score x at phase against the current fit (see the header). A differenced
 * fit predicts x_last + the fitted difference; without x_last: no opinion. */
static void score_point(const struct rad_cfg *c, struct rad_state *s, int64_t phase, double x,
			struct det_result *out)
{
	double base = 0, thr, d, dm;

	if (s->fit == FIT_NONE || (s->diffed && !s->has_last))
		return;
	if (s->diffed)
		base = s->x_last;
	if (s->fit == FIT_OK) {
		out->expected = base + expected_of(c, s)[phase];
		thr = s->thr;
	} else {
		/* a constant window: a zero-width band (rounding aside) flags any departure */
		out->expected = base + s->mean;
		thr = 1e-9 * fabs(out->expected);
	}
	out->lower = out->expected - thr;
	out->upper = out->expected + thr;
	if (!isfinite(x))
		return;
	d = fabs(x - out->expected);
	if (s->fit == FIT_PASS) {
		out->score = d > thr ? 1.0 : 0.0;
		return;
	}
	/* a value at its phase's median over the window is not an outlier even
	 * where the low-rank part absorbed part of an old outlier */
	dm = fabs(x - (base + expected_of(c, s)[c->P + (size_t)phase]));
	if (dm < d)
		d = dm;
	out->score = isfinite(d) ? fmin(1.0, d / (2.0 * thr)) : 1.0;
}

static int rad_update(const void *cfgp, void *statep, double ts, double x, struct det_result *out)
{
	const struct rad_cfg *c = cfgp;
	struct rad_state *s = statep;
	double q = isfinite(ts) ? floor(ts / c->step) : NAN;
	int64_t tick, per, phase;

	out->score = out->expected = out->lower = out->upper = NAN;
	if (!(fabs(q) < 0x1p53))
		return -VIGIL_EINVAL;
	tick = (int64_t)q;
	if (!s->started && isfinite(x))
		s->origin = c->align == ALIGN_FIRST ? tick : 0;
	if (tick - s->origin < INT64_MIN / 2)
		return -VIGIL_EINVAL;
	per = floor_div(tick - s->origin, (int64_t)c->P);
	phase = tick - s->origin - per * (int64_t)c->P;
	if (!s->started) {
		if (!isfinite(x))
			return 0; /* nothing to start from */
		restart(c, s, tick, per, phase);
	} else if (tick < s->last_tick) {
		return -VIGIL_EINVAL; /* time went backwards: refused, state unchanged */
	} else if (per - s->cur_per > (int64_t)c->N) {
		/* silent for more than N periods: nothing left to remember */
		restart(c, s, tick, per, phase);
		if (!isfinite(x)) {
			s->started = 0;
			return 0;
		}
	} else if (per > s->cur_per) {
		if (per - s->first_full >= (int64_t)c->N) {
			struct fit_result fr = {0}; /* every field read below, whatever refit() set */
			double *ex = malloc(2 * c->P * sizeof *ex);
			int rc = ex ? refit(c, s, per, &fr, ex) : -VIGIL_ENOMEM;

			if (rc == -VIGIL_ENOMEM) {
				free(ex);
				return rc; /* state unchanged; the next point retries */
			}
			if (rc != 0) {
				s->nfail++;
				fr.fit = FIT_NONE;
			}
			s->fit = (uint32_t)fr.fit;
			s->iters = (uint32_t)fr.iters;
			s->diffed = (uint32_t)(fr.fit != FIT_NONE && fr.diffed);
			if (fr.fit == FIT_OK) {
				memcpy(expected_of(c, s), ex, 2 * c->P * sizeof *ex);
				s->thr = fr.thr;
			} else if (fr.fit == FIT_PASS) {
				s->mean = fr.mean;
			}
			free(ex);
		}
		for (int64_t p = s->cur_per + 1; p <= per; p++) {
			double *col = ring_of(c, s, p);
			for (size_t i = 0; i < c->P; i++)
				col[i] = NAN;
		}
		s->cur_per = per;
	}
	if (isfinite(x))
		ring_of(c, s, per)[phase] = x;
	s->last_tick = tick;
	score_point(c, s, phase, x, out);
	if (isfinite(x)) {
		/* a differenced fit predicts from the last value: an outlier
		 * leaves its expected value there, unless 3 in a row say the
		 * series moved */
		s->out_run = out->score >= 0.5 ? s->out_run + 1 : 0;
		s->x_last = s->diffed && out->score >= 0.5 && s->out_run < 3 ? out->expected : x;
		s->has_last = 1;
	}
	return 0;
}

/* Saved body: started, fit, iters, nfail (u32); last_tick, cur_per,
 * first_full, origin (u64); has_last, diffed, out_run (u32); x_last, thr, mean (f64);
 * ring (P·N f64); expected (P f64). */
static int rad_save(const void *cfgp, const void *statep, struct buf *out)
{
	const struct rad_cfg *c = cfgp;
	const struct rad_state *s = statep;

	buf_put_u32(out, s->started);
	buf_put_u32(out, s->fit);
	buf_put_u32(out, s->iters);
	buf_put_u32(out, s->nfail);
	buf_put_u64(out, (uint64_t)s->last_tick);
	buf_put_u64(out, (uint64_t)s->cur_per);
	buf_put_u64(out, (uint64_t)s->first_full);
	buf_put_u64(out, (uint64_t)s->origin);
	buf_put_u32(out, s->has_last);
	buf_put_u32(out, s->diffed);
	buf_put_u32(out, s->out_run);
	buf_put_f64(out, s->x_last);
	buf_put_f64(out, s->thr);
	buf_put_f64(out, s->mean);
	for (size_t k = 0; k < c->P * c->N + 2 * c->P; k++)
		buf_put_f64(out, s->d[k]);
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

static int rad_load(const void *cfgp, void *statep, const uint8_t *data, size_t len)
{
	const struct rad_cfg *c = cfgp;
	struct rad_state *s = statep;
	struct reader r = reader_of(data, len);
	size_t nring = c->P * c->N;

	s->started = rd_u32(&r);
	s->fit = rd_u32(&r);
	s->iters = rd_u32(&r);
	s->nfail = rd_u32(&r);
	s->last_tick = (int64_t)rd_u64(&r);
	s->cur_per = (int64_t)rd_u64(&r);
	s->first_full = (int64_t)rd_u64(&r);
	s->origin = (int64_t)rd_u64(&r);
	s->has_last = rd_u32(&r);
	s->diffed = rd_u32(&r);
	s->out_run = rd_u32(&r);
	s->x_last = rd_f64(&r);
	s->thr = rd_f64(&r);
	s->mean = rd_f64(&r);
	for (size_t k = 0; k < nring + 2 * c->P; k++)
		s->d[k] = rd_f64(&r);
	if (!reader_ok(&r) || r.left != 0 || s->started > 1 || s->fit > FIT_PASS || s->has_last > 1 ||
	    s->diffed > 1 || !isfinite(s->x_last) || s->origin > INT64_MAX / 2 || s->origin < INT64_MIN / 2)
		return -VIGIL_EINVAL;
	if (s->started && (s->last_tick > INT64_MAX / 2 || s->last_tick < INT64_MIN / 2 ||
			   floor_div(s->last_tick - s->origin, (int64_t)c->P) != s->cur_per ||
			   s->first_full > s->cur_per + 1))
		return -VIGIL_EINVAL;
	for (size_t k = 0; k < nring; k++)
		if (isinf(s->d[k]))
			return -VIGIL_EINVAL;
	if (s->fit == FIT_OK) {
		if (!(s->thr > 0) || !isfinite(s->thr))
			return -VIGIL_EINVAL;
		for (size_t i = 0; i < 2 * c->P; i++)
			if (!isfinite(s->d[nring + i]))
				return -VIGIL_EINVAL;
	}
	if (s->fit == FIT_PASS && !isfinite(s->mean))
		return -VIGIL_EINVAL;
	return 0;
}

const struct detector_type det_rad = {
	.name = "rad",
	.summary = "Surus RAD: robust PCA of the last N periods, refitted per period (seasonal outliers)",
	.state_version = RAD_STATE_VER,
	.params = rad_params,
	.config_size = sizeof(struct rad_cfg),
	.default_threshold = 0.5,
	.config_check = rad_config_check,
	.state_size = rad_state_size,
	.init = rad_init,
	.update = rad_update,
	.save = rad_save,
	.load = rad_load,
	.fini = NULL,
};
