/* ensemble: vigil's default streaming detector.
 *
 * Per point O(1), no allocation, a fixed plain-data state block of ~7.6 KB
 * (raw-copy save/load; 5 KiB of it are ten tables of 1,024 4-bit last-seen
 * stamps); a loaded block is vetted (ens_valid) and an inconsistent one
 * refused.
 * Measured speed and NAB scores, and the variants tried: BENCHMARKS.md,
 * "Detector design notes".
 *
 *  1. Three raw channels, each in [0, 1]:
 *     a) level/derivative: signed z-like deviations against scales learned
 *        from the series' own past (exponentially weighted):
 *          - fast level: x - EWMA_fast, over the EW mean |residual|;
 *          - slow level: x - EWMA_slow, likewise;
 *          - derivative: (x - x_prev) - EW mean step, over EW mean |step dev|;
 *        scales are floored at the quantisation step (smallest non-zero
 *        |x - x_prev| seen) and at rel_floor*|slow level|, so flat and integer
 *        series do not divide by ~0; raw_a = max of z^2 / (z^2 + knee^2).
 *     b) context novelty (pattern channel): the 5 %/95 % quantiles of x are
 *        tracked (seeded by the exact range of the first `ctx_range` points,
 *        then stochastic-approximation steps of ctx_rate x their spread, so a
 *        lone spike barely moves them). Quantisers sit on a fixed lattice of
 *        widths wbase 2^(l/2) (half-octave steps, anchored at the 5 %
 *        quantile when they start, wbase = spread/nbins then); the five
 *        lattice widths nearest the current spread/nbins are kept, each as
 *        two quantisers offset by half a bin. Each remembers when it last
 *        saw each context (last 2..ctx_order bins, hashed into 1,024
 *        buckets of 4-bit stamps of a coarse clock: ctx_mem spans 13.5
 *        ticks, so a context's age is known to 1/13.5 of ctx_mem);
 *        a context is novel if unseen for ctx_mem points (memory ages out
 *        smoothly instead of being dropped in one go). raw_b = mean share of
 *        novel contexts, weighted by a triangle of half-width ctx_kernel
 *        octaves around log2(spread/nbins): as the spread drifts the weights
 *        slide continuously; a width entering the kept five starts at
 *        weight 0 and gains weight only as the spread keeps moving its way,
 *        so nothing hinges on the moment a quantiser is replaced.
 *        A count series (every value a non-negative integer until the
 *        quantisers start; `ctx_sqrt`) is binned by sqrt(x) instead of x
 *        (quantiles, anchor and widths in that space), so that its bins
 *        widen with the level as a count's noise does. The novelty is then
 *        scaled by min(1, raw_a / ctx_gate): a rare context on a point that
 *        stays within about one residual scale of the levels and the usual
 *        step (bursty counts wander through rare contexts at ordinary
 *        values) weighs less.
 *     c) spread shift: log2 of the tracked spread against its EW mean
 *        (alpha_spread), over its EW mean |deviation| floored at sp_floor
 *        octaves, squashed like a): a sudden rescale of the series (a
 *        narrower or wider spread) is an event of its own.
 *     Channels b and c are silent until the quantisers have recorded
 *     `ctx_learn` points: their Gaussians learn the initial burst of
 *     novelty instead of alerting on it.
 *     `direction` keeps only deviations up or down (for b: only points above /
 *     below the fast level can be novel).
 *  2. Anomaly likelihood per channel (docs/detectors.md §8): m = mean raw over
 *     the last `avg_window` points against an exponentially weighted Gaussian
 *     of m (horizon `lik_horizon`; it restarts after the first `lik_warm`
 *     values, which come from residual scales still growing from 0, and the
 *     next `lik_warm` stand in for them); Q = upper (or two-sided) tail; red-run
 *     filter; the channel with the smaller Q speaks:
 *     score = (-log10 Q - lik_margin + sensitivity) / 10, clamped to [0, 1].
 *     lik_margin (0.07 decades) makes a likelihood event need slightly
 *     more evidence than range novelty and the refractory's scaled 1 (both
 *     untouched by it): it removes the weakest events of the context and
 *     spread channels (BENCHMARKS.md, fourth pass: larger margins gain more
 *     at NAB's optimised threshold but lose on the even half, and at the
 *     engine's alert level 0.5 from 0.15 on).
 *  3. Range novelty (HTM's spatial override): a value outside the range seen
 *     so far, widened by `range_margin` of that range, scores 1 (+ sens./10).
 *  4. Refractory: after a score >= alert_level, the next `refractory` scores
 *     are multiplied by refr_scale (NAB counts only a window's first hit),
 *     unless the point is a much stronger event: range novelty more than
 *     refr_break range widths beyond the range seen so far (which includes
 *     the first event), or a tail probability with (1 + refr_break) times the
 *     decades of the event that started the period (range novelty counts as
 *     10 decades); such a point keeps its score and restarts the period.
 *  5. Recurrence: an event (a score >= alert_level outside a refractory
 *     period, range novelty excepted) is a recurring job (a daily backup, a
 *     cron burst) when, within recur_tol of the interval (at least
 *     recur_min points), it starts as long after the last event as that one
 *     started after the event before it (or twice as long), or as long after
 *     the last or the second-last event as the interval between the two
 *     events before those (an unrelated event came in between): its score
 *     is multiplied by refr_scale. The first two occurrences alert.
 *
 * Gaps: NaN value, NaN time or a time not after the last one (out of order)
 * leave the model untouched and score NaN; `max_gap` consecutive gaps reset it.
 * Extreme values: |x| > DET_MAX_ABS (1e150) scores NaN and leaves the model
 * untouched (one such value would otherwise hold the seen range and the
 * residual scales for thousands of points). Should sums or ranges still
 * overflow, the model resets (that point scores NaN).
 * Warm-up: the first `warmup` finite points score NaN.
 * @thread config shared read-only; a state belongs to one thread at a time. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detectors/ensemble.h"

static const char *const ens_dir_names[] = {"both", "up", "down", NULL};

#define OFF(f) offsetof(struct ens_cfg, f)

static const struct param_spec ens_params[] = {
	{"warmup", PARAM_INT, "150", OFF(warmup), "finite points scored NaN while the model learns", 2,
	 100000, NULL, 0},
	{"direction", PARAM_ENUM, "both", OFF(direction),
	 "which deviations count: both, up (above normal) or down (below)", 1, 0, ens_dir_names, 0},
	{"sensitivity", PARAM_DOUBLE, "0", OFF(sensitivity),
	 "shift of the score in decades of tail probability: +1 alerts on 10x likelier events", -10, 10, NULL,
	 0},
	{"alpha_fast", PARAM_DOUBLE, "0.3", OFF(alpha_fast), "smoothing of the fast level", 1e-4, 1, NULL, 0},
	{"alpha_slow", PARAM_DOUBLE, "0.04", OFF(alpha_slow), "smoothing of the slow level", 1e-5, 1, NULL,
	 0},
	{"alpha_dev", PARAM_DOUBLE, "0.003", OFF(alpha_dev), "smoothing of the residual scales", 1e-5, 1,
	 NULL, 0},
	{"knee", PARAM_DOUBLE, "2", OFF(knee), "z at which a raw signal reads 0.5", 0.1, 100, NULL, 0},
	{"rel_floor", PARAM_DOUBLE, "1e-3", OFF(rel_floor), "scale floor relative to |level|", 0, 1, NULL, 0},
	{"avg_window", PARAM_INT, "10", OFF(avg_window), "points in the short mean of the raw score", 1,
	 ENS_AVG_MAX, NULL, 0},
	{"lik_horizon", PARAM_DOUBLE, "4000", OFF(lik_horizon),
	 "points of memory of the long-run Gaussian of the short mean", 10, 1e7, NULL, 0},
	{"sigma_floor", PARAM_DOUBLE, "0.02", OFF(sigma_floor), "floor of that Gaussian's sigma", 1e-6, 1,
	 NULL, 0},
	{"two_sided", PARAM_BOOL, "false", OFF(two_sided),
	 "also flag a short mean far *below* its usual level", 0, 1, NULL, 0},
	{"range_margin", PARAM_DOUBLE, "0.05", OFF(range_margin),
	 "a value beyond the seen range widened by this fraction of it scores 1; nan disables", 0, 100, NULL,
	 1},
	{"max_gap", PARAM_INT, "1000", OFF(max_gap), "consecutive gaps after which the model restarts", 1,
	 1000000000, NULL, 0},
	{"w_fast", PARAM_DOUBLE, "1", OFF(w_fast), "weight of the fast-level signal (0 disables)", 0, 10,
	 NULL, 0},
	{"w_slow", PARAM_DOUBLE, "1", OFF(w_slow), "weight of the slow-level signal (0 disables)", 0, 10,
	 NULL, 0},
	{"w_deriv", PARAM_DOUBLE, "1", OFF(w_deriv), "weight of the derivative signal (0 disables)", 0, 10,
	 NULL, 0},
	{"red_run", PARAM_DOUBLE, "1e-5", OFF(red_run),
	 "tail probability below which only a run's first point stays red", 0, 1, NULL, 0},
	{"refractory", PARAM_INT, "200", OFF(refractory),
	 "points after a score >= alert_level during which scores are scaled by refr_scale", 0, 1000000, NULL,
	 0},
	{"alert_level", PARAM_DOUBLE, "0.5", OFF(alert_level), "score that starts a refractory period", 0, 1,
	 NULL, 0},
	{"refr_scale", PARAM_DOUBLE, "0.5", OFF(refr_scale), "factor on scores inside a refractory period", 0,
	 1, NULL, 0},
	{"nbins", PARAM_DOUBLE, "3", OFF(nbins),
	 "bins of the middle quantiser across the tracked 5-95 % quantile range", 0.1, 10000, NULL, 0},
	{"ctx_order", PARAM_INT, "4", OFF(ctx_order), "longest context of bins remembered", 2, ENS_CTX_MAX,
	 NULL, 0},
	{"w_ctx", PARAM_DOUBLE, "1", OFF(w_ctx), "weight of the novel-context signal (0 disables)", 0, 10,
	 NULL, 0},
	{"ctx_learn", PARAM_INT, "300", OFF(ctx_learn),
	 "points the quantisers record contexts before the pattern channel speaks", 1, 100000, NULL, 0},
	{"ctx_rate", PARAM_DOUBLE, "0.03", OFF(ctx_rate),
	 "step of the quantile trackers, as a fraction of their spread", 1e-5, 1, NULL, 0},
	{"ctx_kernel", PARAM_DOUBLE, "1", OFF(ctx_kernel),
	 "half-width in octaves of the triangular weight of the quantisers around width spread/nbins", 0.05,
	 4, NULL, 0},
	{"w_spread", PARAM_DOUBLE, "1", OFF(w_spread), "weight of the spread-shift signal (0 disables)", 0,
	 10, NULL, 0},
	{"alpha_spread", PARAM_DOUBLE, "0.003", OFF(alpha_spread), "smoothing of the log spread reference",
	 1e-5, 1, NULL, 0},
	{"sp_floor", PARAM_DOUBLE, "0.3", OFF(sp_floor), "floor (octaves) of the spread deviation scale",
	 1e-3, 10, NULL, 0},
	{"ctx_mem", PARAM_INT, "4000", OFF(ctx_mem), "a context unseen for this many points is novel again",
	 1, 30000, NULL, 0},
	{"ctx_range", PARAM_INT, "250", OFF(ctx_range),
	 "points whose exact range seeds the quantile trackers; the quantisers start after them", 20, 100000,
	 NULL, 0},
	{"refr_break", PARAM_DOUBLE, "1", OFF(refr_break),
	 "a point beyond the seen range by this many range widths, or with (1+this) times the decades of the "
	 "event that started the refractory period, is not scaled and restarts it",
	 0, 1000, NULL, 0},
	{"ctx_shifts", PARAM_INT, "2", OFF(ctx_shifts),
	 "quantisers per level, offset from each other by 1/ctx_shifts of a bin", 1, ENS_SHIFTS, NULL, 0},
	{"recur_tol", PARAM_DOUBLE, "0.08", OFF(recur_tol),
	 "an event starting within this fraction of the previous interval between events after the last "
	 "one is a recurrence and scaled by refr_scale (0 disables)",
	 0, 1, NULL, 0},
	{"recur_min", PARAM_INT, "100", OFF(recur_min), "shortest interval between events that can recur", 1,
	 100000000, NULL, 0},
	{"ctx_sqrt", PARAM_BOOL, "true", OFF(ctx_sqrt),
	 "bin the contexts of a count series (non-negative integers until the quantisers start) by sqrt(x)",
	 0, 1, NULL, 0},
	{"ctx_gate", PARAM_DOUBLE, "0.2", OFF(ctx_gate),
	 "level/derivative signal below which context novelty is scaled by signal/ctx_gate (0 disables)", 0,
	 1, NULL, 0},
	{"lik_warm", PARAM_INT, "50", OFF(lik_warm),
	 "raw values a likelihood channel sees before it speaks; its Gaussian restarts after them and the "
	 "next as many take their place",
	 1, 100000, NULL, 0},
	{"lik_margin", PARAM_DOUBLE, "0.07", OFF(lik_margin),
	 "decades of tail probability taken off the likelihood score (not off range novelty): a likelihood "
	 "event needs this many decades more to reach a given score",
	 0, 10, NULL, 0},
	{.name = NULL},
};

static size_t ens_state_size(const void *cfg)
{
	(void)cfg;
	return sizeof(struct ens_state);
}

static int ens_init(const void *cfg, void *state)
{
	struct ens_state *s = state;
	(void)cfg;
	memset(s, 0, sizeof *s);
	s->last_ts = -INFINITY;
	s->lik_z.q_prev = s->lik_c.q_prev = s->lik_s.q_prev = 1.0;
	return 0;
}

/* Keep the part of a signed deviation the configured direction cares about. */
static double ens_dir(const struct ens_cfg *c, double z)
{
	switch (c->direction) {
	case ENS_UP: return z > 0 ? z : 0;
	case ENS_DOWN: return z < 0 ? -z : 0;
	default: return fabs(z);
	}
}

static double ens_squash(const struct ens_cfg *c, double z, double w)
{
	z *= w;
	z *= z;
	return z < 1e300 ? z / (z + c->knee * c->knee) : 1.0; /* inf/inf would be NaN */
}

static void ens_nan(struct det_result *out)
{
	out->score = out->expected = out->lower = out->upper = NAN;
}

/* Push raw into a likelihood channel; return the (red-run filtered) tail
 * probability of the short mean against the Gaussian fitted before it. */
static double ens_lik_step(const struct ens_cfg *c, struct ens_lik *l, double raw, double sfloor)
{
	int64_t k = l->n % c->avg_window;
	double m, q, qr, a, d;

	if (l->n >= c->avg_window)
		l->sum -= l->ring[k];
	l->ring[k] = raw;
	l->sum += raw;
	l->n++;
	m = l->sum / (double)(l->n < c->avg_window ? l->n : c->avg_window);
	d = (m - l->mu) / fmax(sqrt(l->var), sfloor);
	q = l->n > c->lik_warm ? 0.5 * erfc((c->two_sided ? fabs(d) : d) / M_SQRT2) : 1.0;
	/* EW mean/variance with a running-mean start: alpha = max(1/n, 1/H).
	 * The first lik_warm short means come from scales still being
	 * learned (no sample of the series' normal): the fit restarts after
	 * them and the next lik_warm take their place (a running mean of
	 * those alone, weighted as 2 lik_warm values from then on). */
	if (l->n > c->lik_warm && l->n < 2 * (int64_t)c->lik_warm)
		a = 1.0 / (double)(l->n - c->lik_warm);
	else
		a = fmax(1.0 / (double)l->n, 1.0 / c->lik_horizon);
	d = m - l->mu;
	l->mu += a * d;
	l->var = (1 - a) * (l->var + a * d * d);
	qr = q;
	if (q <= c->red_run && l->q_prev <= c->red_run)
		q = 1e-3;
	l->q_prev = qr;
	return q;
}

static uint64_t ens_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Start quantiser `level` in its slot: empty set, history re-binned from the
 * stored values (so its contexts are complete at once). */
static void ens_level_new(const struct ens_cfg *c, struct ens_state *s, int64_t level)
{
	int slot = ens_slot(level);
	memset(s->set[slot], 0, sizeof s->set[slot]);
	s->age[slot] = 0;
	s->inv[slot] = ens_inv(s, level);
	for (int k = 0; k < c->ctx_shifts; k++)
		for (int64_t j = 0; j < s->nxh; j++)
			s->bins[slot][k][j] = ens_bin(s, s->xh[j], s->inv[slot], (double)k / c->ctx_shifts);
}

static double ens_centre(const struct ens_cfg *c, const struct ens_state *s, double spread)
{
	return ENS_STEPS * log2(spread / (c->nbins * s->wbase));
}

/* A value a count series can take: a non-negative integer. */
static int ens_count_like(double x)
{
	return x >= 0 && !(x - floor(x) > 0);
}

/* The quantisation step in the quantisers' space: the smallest step seen,
 * through the transform's slope at the upper tracked quantile. */
static double ens_tquant(const struct ens_state *s)
{
	return s->vst ? s->quant / (2 * fmax(s->q_hi, 0.5)) : s->quant;
}

/* Pattern channel (see the header). Returns the kernel-weighted share of
 * novel contexts (0 until the quantisers start). */
static double ens_context(const struct ens_cfg *c, struct ens_state *s, double x)
{
	double spread, xt, u = 0, sum = 0, wsum = 0;
	int now, mem = ens_mem_ticks(c);
	uint32_t bk[ENS_NLVL][ENS_SHIFTS][ENS_CTX_MAX];
	int nb[ENS_NLVL][ENS_SHIFTS];

	xt = ens_vst(s, x);
	if (s->n <= c->ctx_range) {
		s->q_lo = ens_vst(s, s->lo);
		s->q_hi = ens_vst(s, s->hi);
	} else {
		double st = c->ctx_rate * fmax(s->q_hi - s->q_lo, ens_tquant(s));
		s->q_hi += xt >= s->q_hi ? 0.95 * st : -0.05 * st;
		s->q_lo += xt < s->q_lo ? -0.95 * st : 0.05 * st;
		if (s->q_lo > s->q_hi)
			s->q_lo = s->q_hi = 0.5 * (s->q_lo + s->q_hi);
	}
	spread = fmax(s->q_hi - s->q_lo, ens_tquant(s));
	if (s->n >= c->ctx_range && spread > 0) {
		if (!s->ctx_set) {
			s->anchor = s->q_lo;
			s->wbase = spread / c->nbins;
			s->mid = 0;
			s->ctx_set = 1;
			for (int64_t l = -ENS_HALF; l <= ENS_HALF; l++)
				ens_level_new(c, s, l);
		} else {
			u = ens_centre(c, s, spread);
			for (int k = 0; k < ENS_NLVL; k++) {
				if (u > (double)s->mid + 0.5 + ENS_WHYST && s->mid < 900) {
					s->mid++;
					ens_level_new(c, s, s->mid + ENS_HALF);
				} else if (u < (double)s->mid - 0.5 - ENS_WHYST && s->mid > -900) {
					s->mid--;
					ens_level_new(c, s, s->mid - ENS_HALF);
				} else {
					break;
				}
			}
		}
	}
	memmove(s->xh + 1, s->xh, sizeof s->xh[0] * (ENS_CTX_MAX - 1));
	s->xh[0] = x;
	if (s->nxh < ENS_CTX_MAX)
		s->nxh++;
	if (!s->ctx_set)
		return 0;
	s->ctx_n++;
	now = ens_stamp(c, s->ctx_n);
	if (s->ctx_n % (ENS_SWEEP * ens_gran(c)) == 0) /* forget stale stamps before they alias */
		for (int l = 0; l < ENS_NLVL; l++)
			for (int q = 0; q < ENS_SHIFTS; q++)
				for (uint32_t k = 0; k < ENS_BUCKETS; k++) {
					int st = ens_get(s->set[l][q], k);
					if (st && ens_stamp_age(now, st) > mem)
						ens_put(s->set[l][q], k, 0);
				}
	/* pass 1: bins and buckets of every context (prefetched: the
	 * stamps are ~80 KB per series, mostly out of cache) */
	for (int i = 0; i < ENS_NLVL; i++) {
		int slot = ens_slot(s->mid - ENS_HALF + i);
		for (int q = 0; q < c->ctx_shifts; q++) {
			int64_t *b = s->bins[slot][q];
			uint64_t h = 0x9e3779b97f4a7c15ULL;
			memmove(b + 1, b, sizeof b[0] * (ENS_CTX_MAX - 1));
			b[0] = ens_bin(s, x, s->inv[slot], (double)q / c->ctx_shifts);
			nb[i][q] = 0;
			for (int k = 0; k < c->ctx_order && k < s->nxh; k++) {
				h = ens_mix(h ^ (uint64_t)b[k]);
				if (k == 0)
					continue;
				bk[i][q][nb[i][q]] = (uint32_t)((h ^ (uint64_t)k) % ENS_BUCKETS);
				__builtin_prefetch(
					&s->set[slot][q][bk[i][q][nb[i][q]] / (8 / ENS_STAMP_BITS)], 1);
				nb[i][q]++;
			}
		}
	}
	/* pass 2: novel = not seen within ctx_mem points; record */
	for (int i = 0; i < ENS_NLVL; i++) {
		int64_t l = s->mid - ENS_HALF + i;
		int slot = ens_slot(l);
		double w = 1.0 - fabs((double)l - u) / (ENS_STEPS * c->ctx_kernel), nsum = 0;
		int used = 0;
		for (int q = 0; q < c->ctx_shifts; q++) {
			int novel = 0;
			uint8_t *set = s->set[slot][q];
			for (int k = 0; k < nb[i][q]; k++) {
				int st = ens_get(set, bk[i][q][k]);
				if (!st || ens_stamp_age(now, st) > mem)
					novel++;
				ens_put(set, bk[i][q][k], now);
			}
			if (nb[i][q] > 0) {
				nsum += (double)novel / nb[i][q];
				used++;
			}
		}
		s->age[slot]++;
		if (w > 0 && used > 0) {
			sum += w * nsum / used;
			wsum += w;
		}
	}
	return wsum > 0 ? sum / wsum : 0;
}

/* The model's running sums are finite and the ranges the quantisers are
 * built from do not overflow (an invariant valid() relies on). */
static int ens_finite_model(const struct ens_state *s)
{
	return isfinite(s->lf) && isfinite(s->ls) && isfinite(s->df) && isfinite(s->ds) && isfinite(s->dm) &&
	       isfinite(s->dd) && isfinite(s->quant) && isfinite(s->hi - s->lo) &&
	       isfinite(s->q_hi - s->q_lo) && isfinite(s->lik_z.sum) && isfinite(s->lik_c.sum) &&
	       isfinite(s->lik_s.sum) && isfinite(s->sp_l) && isfinite(s->sp_d);
}

/* Issue 16, bounded influence of one point (Huber-style): once past warm-up
 * a residual fed to a level or scale update is clipped at ENS_CLIP times
 * its current scale, so one glitch of 1e12 moves them by a bounded amount;
 * a real level shift still gets through, as the clipped residual grows the
 * scale ~1.3x per point. NAB: 80-120 score 78.82, 67, 150 and 1e3 78.25
 * as without a clip (a narrow plateau, not a gain: BENCHMARKS "Issue 16"). */
#define ENS_CLIP 100
static double ens_clip(const struct ens_cfg *c, const struct ens_state *s, double r, double scale)
{
	double b = ENS_CLIP * scale;
	if (s->n <= c->warmup || !(b > 0))
		return r;
	return r > b ? b : (r < -b ? -b : r);
}

/* Issue 16, seen range: past warm-up a point more than ENS_FAR range widths
 * beyond it is held out of lo/hi (far_hi/far_lo, the newest one per side), so
 * one glitch of 1e12 does not make every later spike look in range for
 * good; it joins the range when a comparable point comes (at least half as
 * far out, ens_admit), which a level shift's second point is. NAB: 10
 * widths and more leave its scores as they were, 4 lowers them. */
#define ENS_FAR 10
static void ens_widen(const struct ens_cfg *c, struct ens_state *s, double x)
{
	double r = s->hi - s->lo;
	if (s->n > c->warmup && r > 0 && x > s->hi + ENS_FAR * r) {
		s->far_hi = x;
		s->far |= 1;
	} else if (s->n > c->warmup && r > 0 && x < s->lo - ENS_FAR * r) {
		s->far_lo = x;
		s->far |= 2;
	} else {
		s->lo = fmin(s->lo, x);
		s->hi = fmax(s->hi, x);
	}
	/* a held point the range has grown past is no longer beyond it */
	if ((s->far & 1) && !(s->far_hi > s->hi)) {
		s->far &= ~(int64_t)1;
		s->far_hi = 0;
	}
	if ((s->far & 2) && !(s->far_lo < s->lo)) {
		s->far &= ~(int64_t)2;
		s->far_lo = 0;
	}
}

/* Before x is judged: a held far point joins the range if x is at least
 * half as far beyond it on the same side (it repeated). */
static void ens_admit(struct ens_state *s, double x)
{
	if ((s->far & 1) && x - s->hi >= 0.5 * (s->far_hi - s->hi)) {
		s->hi = s->far_hi;
		s->far &= ~(int64_t)1;
		s->far_hi = 0;
	}
	if ((s->far & 2) && s->lo - x >= 0.5 * (s->lo - s->far_lo)) {
		s->lo = s->far_lo;
		s->far &= ~(int64_t)2;
		s->far_lo = 0;
	}
}

static int ens_update(const void *cfgp, void *state, double ts, double x, struct det_result *out)
{
	const struct ens_cfg *c = cfgp;
	struct ens_state *s = state;
	double floor_, zf, zs, zd, raw, step, q, score, dec, excess = 0;
	int spatial = 0;

	ens_nan(out);
	if (isfinite(ts) && isfinite(x) && fabs(x) > DET_MAX_ABS)
		return 0; /* beyond what the arithmetic takes (callers refuse it too): no opinion, model
			     untouched */
	if (!isfinite(ts) || !isfinite(x) || !(ts > s->last_ts)) {
		if (++s->gap_run >= c->max_gap) {
			double keep = s->last_ts;
			ens_init(c, s);
			s->last_ts = keep;
		}
		return 0;
	}
	s->gap_run = 0;
	s->last_ts = ts;
	if (s->n == 0) {
		s->n = 1;
		s->x_prev = s->lo = s->hi = s->lf = s->ls = x;
		s->vst = c->ctx_sqrt && ens_count_like(x);
		return 0;
	}
	s->n++;
	if (!s->ctx_set && s->vst && !ens_count_like(x))
		s->vst = 0; /* not a count series: the quantisers bin x itself */

	/* 1. raw signals, measured against the model before x enters it */
	step = x - s->x_prev;
	if (fabs(step) > 0 && (s->quant <= 0 || fabs(step) < s->quant))
		s->quant = fabs(step);
	floor_ = fmax(s->quant, c->rel_floor * fabs(s->ls));
	if (!(floor_ > 0))
		floor_ = 1e-12;
	zf = ens_dir(c, (x - s->lf) / fmax(s->df, floor_));
	zs = ens_dir(c, (x - s->ls) / fmax(s->ds, floor_));
	zd = ens_dir(c, (step - s->dm) / fmax(s->dd, floor_));
	raw = fmax(ens_squash(c, zf, c->w_fast),
		   fmax(ens_squash(c, zs, c->w_slow), ens_squash(c, zd, c->w_deriv)));

	out->expected = s->lf;
	out->lower = s->lf - c->knee * fmax(s->df, floor_);
	out->upper = s->lf + c->knee * fmax(s->df, floor_);

	/* 3. spatial novelty against the range seen before x (with a held
	 * far point x repeats, ens_admit) */
	ens_admit(s, x);
	if (s->n > c->warmup && isfinite(c->range_margin)) {
		double r = s->hi - s->lo, w = c->range_margin * r;
		if (c->direction != ENS_DOWN && x > s->hi + w) {
			spatial = 1;
			excess = (x - s->hi) / r;
		} else if (c->direction != ENS_UP && x < s->lo - w) {
			spatial = 1;
			excess = (s->lo - x) / r;
		}
	}

	/* model update */
	{
		double rf = ens_clip(c, s, x - s->lf, fmax(s->df, floor_));
		double rs = ens_clip(c, s, x - s->ls, fmax(s->ds, floor_));
		double rd = ens_clip(c, s, step - s->dm, fmax(s->dd, floor_));
		s->df += c->alpha_dev * (fabs(rf) - s->df);
		s->ds += c->alpha_dev * (fabs(rs) - s->ds);
		s->dd += c->alpha_dev * (fabs(rd) - s->dd);
		s->lf += c->alpha_fast * rf;
		s->ls += c->alpha_slow * rs;
		s->dm += c->alpha_slow * rd;
	}
	s->x_prev = x;
	ens_widen(c, s, x);

	/* 2. anomaly likelihood of each channel; the rarer one speaks */
	q = ens_lik_step(c, &s->lik_z, raw, c->sigma_floor);
	if (c->w_ctx > 0) {
		/* the context is remembered either way; with a direction only
		 * a point on the watched side of the fast level can be novel */
		double nov = ens_context(c, s, x), qc;
		if (c->direction != ENS_BOTH && !(zf > 0))
			nov = 0;
		/* a novel context counts in full only on a point that also
		 * leaves the levels (or the usual step) by about one residual
		 * scale: bursty counts wander through rare contexts at
		 * ordinary values */
		if (c->ctx_gate > 0)
			nov *= fmin(1.0, raw / c->ctx_gate);
		qc = ens_lik_step(c, &s->lik_c, c->w_ctx * nov, c->sigma_floor);
		/* silent until the contexts have settled: the Gaussian of
		 * the channel learns the initial burst of novelty instead
		 * of alerting on it */
		if (s->ctx_set && s->ctx_n > c->ctx_learn)
			q = fmin(q, qc);
		if (s->ctx_set && c->w_spread > 0) {
			double ls = log2(fmax(s->q_hi - s->q_lo, ens_tquant(s))), z, qs;
			if (s->ctx_n == 1) {
				s->sp_l = ls;
				s->sp_d = 0;
			}
			z = (ls - s->sp_l) / fmax(s->sp_d, c->sp_floor);
			s->sp_d += c->alpha_spread * (fabs(ls - s->sp_l) - s->sp_d);
			s->sp_l += c->alpha_spread * (ls - s->sp_l);
			qs = ens_lik_step(c, &s->lik_s, ens_squash(c, z, c->w_spread), c->sigma_floor);
			if (s->ctx_n > c->ctx_learn)
				q = fmin(q, qs);
		}
	}
	/* absurd magnitudes (|x| near DBL_MAX) can overflow the arithmetic:
	 * the model starts over rather than carry inf/NaN for good */
	if (!ens_finite_model(s)) {
		double keep = s->last_ts;
		ens_init(c, s);
		s->last_ts = keep;
		ens_nan(out);
		return 0;
	}
	if (s->n <= c->warmup)
		return 0;
	dec = -log10(fmax(q, 1e-300));
	score = (dec - c->lik_margin + c->sensitivity) / 10.0;
	if (spatial) {
		score = fmax(score, 1.0 + c->sensitivity / 10.0);
		dec = fmax(dec, 10.0);
	}
	score = fmin(1.0, fmax(0.0, score));
	/* 4. refractory; a much stronger event breaks through and restarts it
	 * (excess is inf when the seen range is empty: any novelty is far) */
	if (s->refr > 0 && !(score >= c->alert_level && ((spatial && !(excess <= c->refr_break)) ||
							 dec >= (1.0 + c->refr_break) * s->refr_dec))) {
		s->refr--;
		score *= c->refr_scale;
	} else if (score >= c->alert_level) {
		if (s->refr == 0 && c->recur_tol > 0 && !spatial) {
			/* 5. recurrence: an event as far after the last one as that
			 * was after the one before (a daily job) is scaled */
			int64_t i1 = s->n - s->ev1, i0 = s->ev1 - s->ev2, im = s->ev2 - s->ev3;
			int rec = s->ev2 > 0 && i0 >= c->recur_min &&
				  (fabs((double)(i1 - i0)) <= c->recur_tol * (double)i0 ||
				   fabs((double)(i1 - 2 * i0)) <= c->recur_tol * (double)(2 * i0));
			if (!rec && s->ev3 > 0 && im >= c->recur_min)
				rec = fabs((double)(i1 - im)) <= c->recur_tol * (double)im ||
				      fabs((double)(i1 + i0 - im)) <= c->recur_tol * (double)im;
			s->ev3 = s->ev2;
			s->ev2 = s->ev1;
			s->ev1 = s->n;
			if (rec)
				score *= c->refr_scale;
		}
		s->refr = c->refractory;
		s->refr_dec = dec;
	}
	out->score = score;
	return 0;
}

/* One likelihood channel: n raw values in [0, rmax] were pushed. */
static int ens_lik_valid(const struct ens_lik *l, int64_t n, double rmax)
{
	double sum = 0;
	if (l->n != n || !isfinite(l->sum) || !isfinite(l->mu) || !(l->var >= 0) || !isfinite(l->var) ||
	    !(l->q_prev >= 0 && l->q_prev <= 1))
		return 0;
	for (int k = 0; k < ENS_AVG_MAX; k++) {
		if (!(l->ring[k] >= 0 && l->ring[k] <= rmax))
			return 0;
		sum += l->ring[k];
	}
	/* the running sum drifts by rounding only */
	return fabs(l->sum - sum) <= 1e-6 * (1 + sum);
}

/* Vet a raw-copied state (the registry's load): every count, index and value
 * in the ranges update() keeps them in, and everything derived from other
 * fields (likelihood counts, the quantisers' bounds and bin histories, the
 * seen-context sets' fill) re-derives exactly. A state saved under other
 * context parameters (nbins, ctx_hyst, ctx_shifts, w_ctx, refractory) fails
 * these checks too: it starts afresh. Reads the state only. */
static int ens_valid(const void *cfgp, const void *state)
{
	const struct ens_cfg *c = cfgp;
	const struct ens_state *s = state;
	int64_t pushed = s->n > 0 ? s->n - 1 : 0, nxh;

	if (s->n < 0 || s->gap_run < 0 || s->gap_run >= c->max_gap || isnan(s->last_ts) ||
	    !(s->last_ts < INFINITY) || (s->n > 0 && !isfinite(s->last_ts)))
		return 0;
	if (!isfinite(s->x_prev) || !isfinite(s->lo) || !isfinite(s->hi) || !(s->quant >= 0) ||
	    !ens_finite_model(s) || !(s->df >= 0) || !(s->ds >= 0) || !(s->dd >= 0) || !(s->q_lo <= s->q_hi))
		return 0;
	/* x_prev and the history may lie beyond lo/hi (ens_widen) */
	if (s->n > 0 && !(s->lo <= s->hi && fabs(s->x_prev) <= DET_MAX_ABS))
		return 0;
	if (!ens_lik_valid(&s->lik_z, pushed, 1.0) ||
	    !ens_lik_valid(&s->lik_c, c->w_ctx > 0 ? pushed : 0, c->w_ctx))
		return 0;
	if (s->far < 0 || s->far > 3 ||
	    ((s->far & 1) ? !(s->far_hi > s->hi && s->far_hi <= DET_MAX_ABS) : !(fabs(s->far_hi) <= 0)) ||
	    ((s->far & 2) ? !(s->far_lo < s->lo && s->far_lo >= -DET_MAX_ABS) : !(fabs(s->far_lo) <= 0)))
		return 0;
	if (s->refr < 0 || s->refr > c->refractory || !(s->refr_dec >= 0 && s->refr_dec <= 1000) ||
	    s->ev3 < 0 || s->ev3 > s->ev2 || s->ev2 > s->ev1 || s->ev1 > s->n)
		return 0;
	/* pattern channel: the value history */
	nxh = c->w_ctx > 0 ? (pushed < ENS_CTX_MAX ? pushed : ENS_CTX_MAX) : 0;
	if (s->nxh != nxh || (nxh > 0 && memcmp(&s->xh[0], &s->x_prev, sizeof s->x_prev) != 0))
		return 0;
	for (int64_t j = 0; j < ENS_CTX_MAX; j++)
		if (j < nxh ? !(fabs(s->xh[j]) <= DET_MAX_ABS) : !(fabs(s->xh[j]) <= 0))
			return 0;
	/* the spread-shift channel: one raw value per recorded point */
	if (s->ctx_set != 0 && s->ctx_set != 1)
		return 0;
	/* the count-series flag: only with ctx_sqrt; until the quantisers
	 * start, only while every value seen was a non-negative integer */
	if ((s->vst != 0 && s->vst != 1) || (s->vst && !c->ctx_sqrt) || (s->vst && s->n == 0) ||
	    (s->vst && !s->ctx_set && !(s->lo >= 0 && ens_count_like(s->x_prev))))
		return 0;
	if (s->ctx_n < 0 || s->ctx_n > pushed || (!s->ctx_set && s->ctx_n != 0) ||
	    (s->ctx_set && s->ctx_n < 1))
		return 0;
	if (!ens_lik_valid(&s->lik_s, c->w_ctx > 0 && c->w_spread > 0 ? s->ctx_n : 0, 1.0) || !(s->sp_d >= 0))
		return 0;
	if (!s->ctx_set) {
		for (int l = 0; l < ENS_NLVL; l++) {
			if (s->age[l] != 0)
				return 0;
			for (int q = 0; q < ENS_SHIFTS; q++)
				for (int k = 0; k < ENS_TABLE; k++)
					if (s->set[l][q][k])
						return 0;
		}
		return 1;
	}
	/* the quantisers: geometry re-derives exactly, stamps are no older
	 * than their slot's recordings */
	if (!isfinite(s->anchor) || !(s->wbase > 0) || !isfinite(s->wbase) || s->mid < -900 || s->mid > 900)
		return 0;
	{
		int now = ens_stamp(c, s->ctx_n), mem = ens_mem_ticks(c);
		int64_t g = ens_gran(c);
		for (int64_t l = s->mid - ENS_HALF; l <= s->mid + ENS_HALF; l++) {
			int slot = ens_slot(l);
			double inv = ens_inv(s, l);
			if (memcmp(&inv, &s->inv[slot], sizeof inv) != 0 || s->age[slot] < 0 ||
			    s->age[slot] > s->ctx_n)
				return 0;
			for (int q = 0; q < ENS_SHIFTS; q++) {
				int64_t used = 0;
				for (int64_t j = 0; q < c->ctx_shifts && j < nxh; j++)
					if (s->bins[slot][q][j] !=
					    ens_bin(s, s->xh[j], inv, (double)q / c->ctx_shifts))
						return 0;
				int64_t per[ENS_STAMPS + 1] = {0};
				for (uint32_t k = 0; k < ENS_BUCKETS; k++) {
					int st = ens_get(s->set[slot][q], k), age;
					if (!st)
						continue;
					age = ens_stamp_age(now, st);
					/* a stamp of the slot's first recording is at
					 * most (age + g - 2) / g ticks old; sweeps
					 * forget stamps older than ctx_mem; one tick
					 * records at most g (ctx_order - 1) contexts */
					if (q >= c->ctx_shifts || age > mem + ENS_SWEEP ||
					    (s->age[slot] < ENS_STAMPS * g &&
					     age * g >= s->age[slot] + g - 1) ||
					    ++per[st] > g * (c->ctx_order - 1))
						return 0;
					used++;
				}
				/* each point records at most ctx_order - 1 contexts */
				if (used > s->age[slot] * (c->ctx_order - 1))
					return 0;
			}
		}
	}
	return 1;
}

static int ens_check(void *cfgp, char *err, size_t errlen)
{
	struct ens_cfg *c = cfgp;
	if (!(c->alpha_slow <= c->alpha_fast)) {
		snprintf(err, errlen, "ensemble: alpha_slow (%g) must not exceed alpha_fast (%g)",
			 c->alpha_slow, c->alpha_fast);
		return -VIGIL_EINVAL;
	}
	return 0;
}

const struct detector_type det_ensemble = {
	.name = "ensemble",
	.summary = "level/derivative z-scores and context novelty through anomaly likelihood, range novelty "
		   "(NAB-tuned)",
	.state_version = 7,
	.params = ens_params,
	.config_size = sizeof(struct ens_cfg),
	.default_threshold = 0.5,
	.config_check = ens_check,
	.state_size = ens_state_size,
	.init = ens_init,
	.update = ens_update,
	.valid = ens_valid,
};
