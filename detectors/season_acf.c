/* Season detection by autocorrelation, see season_acf.h. The ACF sums are
 * reorganised for speed (chunked, lags batched) but each lag's sums are
 * accumulated in the same order as a plain per-lag loop (corr_lags()). */
#include "detectors/season_acf.h"

#include <math.h>
#include <string.h>

#define ACF_MIN    0.3  /* r(L) needed for a season */
#define ACF_PROM   0.3  /* r(L) - r(L/2) needed for a season */
#define ACF_TIE    0.05 /* a shorter lag this close to the best wins */
#define ACF_COARSE 240  /* lags of the coarse ACF search */
/* the widest full-resolution lag range searched: 2 m + 2, m <= 42 */
#define ACF_SPAN (2 * ((SEASON_MAX_LAG + ACF_COARSE - 1) / ACF_COARSE) + 2)

static double clampd(double v, double lim)
{
	return v > lim ? lim : v < -lim ? -lim : v;
}

/* The detrended, clipped series the ACF correlates: z[i] = clamp(y_k - p0 -
 * q k, clip) for k = k0 + i, i < cnt; NaN where y_k is missing or k >= n. */
struct acf_in {
	const double *y;
	int32_t n;
	double p0, q, clip;
};

/* Writes z and, when pre is not NULL, pre[i] = how many of z[0 .. i) are
 * NaN (i <= cnt). Returns how many NaN were written. */
static int32_t z_line(const struct acf_in *in, int32_t k0, int32_t cnt, double *z, int32_t *pre)
{
	int32_t nan = 0;
	for (int32_t i = 0; i < cnt; i++) {
		int32_t k = k0 + i;
		double u = k < in->n ? in->y[k] : NAN;
		if (pre)
			pre[i] = nan;
		if (isnan(u)) {
			z[i] = NAN;
			nan++;
		} else {
			z[i] = clampd(u - in->p0 - in->q * k, in->clip);
		}
	}
	if (pre)
		pre[cnt] = nan;
	return nan;
}

/* Sums of one lag's pairs; see corr_lags(). */
struct acf_sum {
	double sxy, sxx, syy;
	int32_t np;
};

#define ACF_BATCH   4   /* lags whose sums are interleaved */
#define ACF_CHUNK   256 /* ticks per z_line() */
#define ACF_MAXLAGS 256 /* lags per corr_lags() call */
#define ACF_GAP     16  /* lags this close share one z line ... */
#define ACF_WSPAN   512 /* ... spanning at most this many lags */
#if ACF_MAXLAGS < ACF_COARSE || ACF_MAXLAGS < ACF_SPAN
#error "ACF_MAXLAGS too small"
#endif

/* A pair with a NaN side adds +0 to the sums. */
static inline void acf_add(double u, double v, struct acf_sum *a)
{
	int both = !isunordered(u, v);
	u = both ? u : 0;
	v = both ? v : 0;
	a->sxy += u * v;
	a->sxx += u * u;
	a->syy += v * v;
	a->np += both;
}

/* Add the pairs (zu[i], v[j][i]), i = i0 .. i1 - 1 in this order, to
 * *acc[j], j < ACF_BATCH (distinct sums). masked = 0: no NaN among them. */
static void acf_chunk(struct acf_sum *const *acc, const double *zu, const double *const *v, int32_t i0,
		      int32_t i1, int masked)
{
	struct acf_sum a0 = *acc[0], a1 = *acc[1], a2 = *acc[2], a3 = *acc[3];
	const double *v0 = v[0], *v1 = v[1], *v2 = v[2], *v3 = v[3];

	if (masked) {
		for (int32_t i = i0; i < i1; i++) {
			double u = zu[i];
			acf_add(u, v0[i], &a0);
			acf_add(u, v1[i], &a1);
			acf_add(u, v2[i], &a2);
			acf_add(u, v3[i], &a3);
		}
	} else {
		for (int32_t i = i0; i < i1; i++) {
			double u = zu[i], uu = u * u;
			a0.sxy += u * v0[i];
			a0.sxx += uu;
			a0.syy += v0[i] * v0[i];
			a1.sxy += u * v1[i];
			a1.sxx += uu;
			a1.syy += v1[i] * v1[i];
			a2.sxy += u * v2[i];
			a2.sxx += uu;
			a2.syy += v2[i] * v2[i];
			a3.sxy += u * v3[i];
			a3.sxx += uu;
			a3.syy += v3[i] * v3[i];
		}
		a0.np += i1 - i0;
		a1.np += i1 - i0;
		a2.np += i1 - i0;
		a3.np += i1 - i0;
	}
	*acc[0] = a0;
	*acc[1] = a1;
	*acc[2] = a2;
	*acc[3] = a3;
}

/* r[j] = Pearson correlation of z_k and z_{k+lag[j]} over the pairs where
 * both are present (0 when undefined, or with fewer than 8 pairs), for the
 * nl <= ACF_MAXLAGS lags lag[j] >= 0.
 *
 * Exactness: each lag's sums are accumulated over k = 0, 1, ... in order,
 * exactly as a plain per-lag loop would; the work is only reorganised: in
 * chunks of k, z is computed once per tick (lags within ACF_GAP of each
 * other read one line), and the independent sums of ACF_BATCH lags are
 * interleaved. A pair with a missing side adds +0 to each sum, which leaves
 * it unchanged (the sums start at +0 and so are never -0). z is NaN exactly
 * where y is missing: detect_season() gets here only with a finite clip,
 * which needs every present y_k - p0 - q k to be finite; the block means use
 * p0 = q = 0, where the expression is y_k itself. */
static void corr_lags(const struct acf_in *in, const int32_t *lag, int nl, double *r)
{
	struct acf_sum acc[ACF_MAXLAGS], pad;
	int idx[ACF_MAXLAGS] = {0};
	double zu[ACF_CHUNK], w[ACF_CHUNK + ACF_WSPAN];
	int32_t pre[ACF_CHUNK + ACF_WSPAN + 1], preu[ACF_CHUNK + 1], lmin;

	if (nl <= 0)
		return;
	/* idx: the lags in ascending order */
	for (int j = 0; j < nl; j++) {
		int i = j;
		for (; i > 0 && lag[idx[i - 1]] > lag[j]; i--)
			idx[i] = idx[i - 1];
		idx[i] = j;
	}
	lmin = lag[idx[0]];
	memset(acc, 0, sizeof acc);
	for (int32_t k0 = 0; k0 + lmin < in->n; k0 += ACF_CHUNK) {
		int32_t cnt = in->n - lmin - k0 < ACF_CHUNK ? in->n - lmin - k0 : ACF_CHUNK;
		z_line(in, k0, cnt, zu, preu);
		for (int c0 = 0, c1; c0 < nl; c0 = c1) {
			/* a cluster of lags idx[c0 .. c1) read one line w = z_{k0 + base + t} */
			int32_t base = lag[idx[c0]], span;
			for (c1 = c0 + 1; c1 < nl && lag[idx[c1]] - lag[idx[c1 - 1]] <= ACF_GAP &&
					  lag[idx[c1]] - base <= ACF_WSPAN;
			     c1++)
				;
			span = lag[idx[c1 - 1]] - base;
			z_line(in, k0 + base, cnt + span, w, pre);
			for (int j = c0; j < c1; j += ACF_BATCH) {
				struct acf_sum *a[ACF_BATCH];
				const double *v[ACF_BATCH];
				int32_t lo = lag[idx[j]] - base, hi = lo;
				for (int i = 0; i < ACF_BATCH; i++) {
					if (j + i < c1) {
						hi = lag[idx[j + i]] - base;
						a[i] = &acc[j + i];
						v[i] = w + hi;
					} else {
						a[i] = &pad; /* padding: repeats the last lag, thrown away */
						v[i] = w + hi;
					}
				}
				/* i < cntb: every lag of the batch has k0 + i + lag < n */
				int32_t cntb = in->n - (base + hi) - k0;
				cntb = cntb < 0 ? 0 : cntb > cnt ? cnt : cntb;
				memset(&pad, 0, sizeof pad);
				acf_chunk(a, zu, v, 0, cntb, preu[cntb] > 0 || pre[hi + cntb] - pre[lo] > 0);
				if (cntb < cnt)
					acf_chunk(a, zu, v, cntb, cnt, 1);
			}
		}
	}
	for (int j = 0; j < nl; j++) {
		const struct acf_sum *a = &acc[j];
		double rr = 0;
		if (a->np >= 8 && a->sxx > 0 && a->syy > 0) {
			rr = a->sxy / sqrt(a->sxx * a->syy);
			rr = isfinite(rr) ? rr : 0;
		}
		r[idx[j]] = rr;
	}
}

/* r[l - lo] for the lags lo .. hi (hi - lo < ACF_MAXLAGS). */
static void corr_range(const struct acf_in *in, int32_t lo, int32_t hi, double *r)
{
	int32_t lag[ACF_MAXLAGS] = {0};
	int nl = 0;
	for (int32_t l = lo; l <= hi; l++)
		lag[nl++] = l;
	corr_lags(in, lag, nl, r);
}

int32_t season_detect(const double *y, int32_t n, int32_t lmax, double step, double *scratch)
{
	struct acf_in in = {.y = y, .n = n};
	double sk = 0, sy = 0, skk = 0, sky = 0, sabs = 0, den, best_r = -2;
	int32_t nf = 0, m, jmax, peaks[3] = {0, 0, 0}, cand[7], ncand = 0, L = 1, natural[3];
	double peak_r[3] = {-2, -2, -2}, cand_r[7], prev2 = 0, prev1 = 0;
	double rc[ACF_COARSE + 1], rf[ACF_SPAN], rt[21];
	int32_t tl[21];
	int cand_ok[7], ntl = 0, ti[7];

	if (lmax < 2)
		return 1;
	for (int32_t k = 0; k < n; k++) {
		if (isnan(y[k]))
			continue;
		sk += k;
		sy += y[k];
		skk += (double)k * k;
		sky += (double)k * y[k];
		nf++;
	}
	if (nf < SEASON_MIN_PRESENT)
		return 1;
	den = nf * skk - sk * sk;
	in.q = den > 0 ? (nf * sky - sk * sy) / den : 0;
	in.p0 = (sy - in.q * sk) / nf;
	for (int32_t k = 0; k < n; k++)
		if (!isnan(y[k]))
			sabs += fabs(y[k] - in.p0 - in.q * k);
	in.clip = 6 * sabs / nf;
	if (!(in.clip > 0) || !isfinite(in.clip))
		return 1; /* constant (or absurd) series: nothing periodic */

	/* coarse ACF: block means of m ticks, lags 1 .. lmax / m */
	m = (lmax + ACF_COARSE - 1) / ACF_COARSE;
	jmax = lmax / m; /* <= ACF_COARSE */
	struct acf_in blk = {.y = scratch, .p0 = 0, .q = 0, .clip = INFINITY};
	const struct acf_in *src = &in;
	if (m > 1) {
		int32_t nc = (n + m - 1) / m;
		for (int32_t j = 0; j < nc; j++) {
			double s = 0;
			int32_t cnt = 0;
			for (int32_t k = j * m; k < (j + 1) * m && k < n; k++)
				if (!isnan(y[k])) {
					s += clampd(y[k] - in.p0 - in.q * k, in.clip);
					cnt++;
				}
			scratch[j] = cnt ? s / cnt : NAN;
		}
		blk.n = nc;
		src = &blk;
	}
	corr_range(src, 1, jmax, rc + 1);
	for (int32_t j = 1; j <= jmax + 1; j++) {
		double r = j <= jmax ? rc[j] : -2;
		/* prev1 = r(j-1) is a local maximum? keep the 3 highest */
		if (j >= 3 && prev1 >= prev2 && prev1 >= r)
			for (int i = 0; i < 3; i++)
				if (prev1 > peak_r[i]) {
					for (int q = 2; q > i; q--) {
						peak_r[q] = peak_r[q - 1];
						peaks[q] = peaks[q - 1];
					}
					peak_r[i] = prev1;
					peaks[i] = j - 1;
					break;
				}
		prev2 = prev1;
		prev1 = r;
	}
	if (m > 1) {
		/* periods shorter than 2 blocks vanish in the block means: scan
		 * lags 2 .. 2m + 1 at full resolution for the best local maximum */
		int32_t hi = 2 * m + 1 < lmax ? 2 * m + 1 : lmax, arg = 0;
		double rm1, r0, br = -2;
		/* rf[l - 1] = r(l), l = 1 .. min(hi + 1, lmax) */
		corr_range(&in, 1, hi < lmax ? hi + 1 : lmax, rf);
		rm1 = rf[0];
		r0 = rf[1];
		for (int32_t l = 2; l <= hi; l++) {
			double rp1 = l < lmax ? rf[l] : -2;
			if (r0 >= rm1 && r0 >= rp1 && r0 > br + ACF_TIE) { /* ties: the shorter */
				br = r0;
				arg = l;
			}
			rm1 = r0;
			r0 = rp1;
		}
		if (arg > 0)
			cand[ncand++] = arg;
	}
	/* candidates: the refined coarse peaks, then one hour, one day, one week */
	for (int i = 0; i < 3; i++) {
		int32_t lo, hi, arg;
		double br = -2;
		if (peaks[i] == 0)
			continue;
		if (m == 1) {
			cand[ncand++] = peaks[i];
			continue;
		}
		lo = m * (peaks[i] - 1);
		hi = m * (peaks[i] + 1);
		lo = lo < 2 ? 2 : lo;
		hi = hi > lmax ? lmax : hi;
		arg = lo;
		corr_range(&in, lo, hi, rf);
		for (int32_t l = lo; l <= hi; l++) {
			double r = rf[l - lo];
			if (r > br) {
				br = r;
				arg = l;
			}
		}
		cand[ncand++] = arg;
	}
	{
		static const double secs[3] = {3600.0, 86400.0, 604800.0};
		for (int i = 0; i < 3; i++) {
			double l = round(secs[i] / step);
			natural[i] = 0;
			if (l >= 2 && l <= lmax && fabs(secs[i] / step - l) < 0.01 * l) {
				natural[i] = (int32_t)l;
				cand[ncand++] = (int32_t)l;
			}
		}
	}
	/* r(cand), r(cand / 2) and, for odd cand, r(cand / 2 + 1) at rt[ti[i] ..] */
	for (int i = 0; i < ncand; i++) {
		ti[i] = ntl;
		tl[ntl++] = cand[i];
		tl[ntl++] = cand[i] / 2;
		if (cand[i] % 2)
			tl[ntl++] = cand[i] / 2 + 1;
	}
	corr_lags(&in, tl, ntl, rt);
	for (int i = 0; i < ncand; i++) {
		double trough;
		cand_r[i] = rt[ti[i]];
		trough = rt[ti[i] + 1];
		if (cand[i] % 2) {
			double t2 = rt[ti[i] + 2];
			trough = t2 < trough ? t2 : trough;
		}
		cand_ok[i] = cand_r[i] >= ACF_MIN && cand_r[i] - trough >= ACF_PROM;
		if (cand_ok[i] && cand_r[i] > best_r)
			best_r = cand_r[i];
	}
	for (int i = 0; i < ncand; i++)
		if (cand_ok[i] && cand_r[i] >= best_r - ACF_TIE && (L == 1 || cand[i] < L))
			L = cand[i];
	for (int i = 0; L > 1 && i < 3; i++) {
		double tol = 0.02 * natural[i];
		if (natural[i] > 0 && fabs((double)(natural[i] - L)) <= (tol > 1 ? tol : 1)) {
			for (int k = 0; k < ncand; k++)
				if (cand[k] == natural[i] && cand_ok[k])
					L = natural[i];
		}
	}
	return L;
}
