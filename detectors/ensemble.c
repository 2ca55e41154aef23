/* ensemble: vigil's default streaming detector.
 *
 * Per point O(1) (~300-800 ns), no allocation, a fixed plain-data state block
 * of ~50 KB (raw-copy save/load; 48 KiB of it are six seen-context bit sets);
 * a loaded block is vetted (ens_valid) and an inconsistent one refused.
 *
 *  1. Two raw channels, each in [0, 1]:
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
 *        lone spike barely moves them). Three nested levels of bin widths
 *        w/2, w, 2w (w = spread/nbins when they start, anchored at the 5 %
 *        quantile, unbounded index), each with ctx_shifts quantisers offset
 *        by a fraction of a bin (so a value near a bin edge does not decide
 *        novelty alone); each quantiser remembers the contexts (last
 *        2..ctx_order bins, hashed bit set) it has seen; raw = mean share
 *        of novel contexts. When the spread drifts more than ctx_hyst octaves
 *        from nbins*w, w doubles or halves: two quantisers keep their memory
 *        and one starts afresh at the far end (no global reset; the empty
 *        third still reads novel for a while, a burst of up to 1/3 that the
 *        NAB score depends on: on nyc_taxi three window hits follow such
 *        moves, which is why ctx_hyst, ctx_rate and ctx_range sit on peaks;
 *        measured: the score is rugged in them rather than one smooth peak -
 *        ctx_hyst 0.70/0.75/0.80 give 73.0/75.3/74.1 and ctx_rate
 *        .03/.04/.05 give 74.6/69.6/75.3 on the NAB split, as single window
 *        hits flip. No gain in the worst case from: excluding fresh
 *        quantisers, five widths at half-octave steps, decayed 8-bit counts
 *        scored k/(k+count), a spread-shift channel).
 *        The channel is silent until its contexts have settled (`ctx_learn`
 *        points after the quantisers start): its Gaussian learns the
 *        initial burst of novelty instead of alerting on it.
 *     `direction` keeps only deviations up or down (for b: only points above /
 *     below the fast level can be novel).
 *  2. Anomaly likelihood per channel (docs/detectors.md §8): m = mean raw over
 *     the last `avg_window` points against an exponentially weighted Gaussian
 *     of m (horizon `lik_horizon`); Q = upper (or two-sided) tail; red-run
 *     filter; the channel with the smaller Q speaks:
 *     score = (-log10 Q + sensitivity) / 10, clamped to [0, 1].
 *  3. Range novelty (HTM's spatial override): a value outside the range seen
 *     so far, widened by `range_margin` of that range, scores 1 (+ sens./10).
 *  4. Refractory: after a score >= alert_level, the next `refractory` scores
 *     are multiplied by refr_scale (NAB counts only a window's first hit),
 *     unless the point is a much stronger event: range novelty more than
 *     refr_break range widths beyond the range seen so far (which includes
 *     the first event), or a tail probability with (1 + refr_break) times the
 *     decades of the event that started the period (range novelty counts as
 *     10 decades); such a point keeps its score and restarts the period.
 *
 * Gaps: NaN value, NaN time or a time not after the last one (out of order)
 * leave the model untouched and score NaN; `max_gap` consecutive gaps reset it.
 * Overflow: a value so large that the model's sums or ranges overflow (|x|
 * near DBL_MAX) resets the model (that point scores NaN).
 * Warm-up: the first `warmup` finite points score NaN.
 * @thread config shared read-only; a state belongs to one thread at a time. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "detectors/detector.h"

#define ENS_AVG_MAX  64
#define ENS_CTX_MAX  8
#define ENS_SET_BITS (1u << 16) /* seen-context set per quantiser: 8 KiB */
#define ENS_LEVELS   3
#define ENS_SHIFTS   2 /* quantisers per level, offset by a fraction of a bin */

enum ens_dir { ENS_BOTH, ENS_UP, ENS_DOWN };
static const char *const ens_dir_names[] = {"both", "up", "down", NULL};

struct ens_cfg {
	int warmup;
	int direction;
	double sensitivity;
	double alpha_fast, alpha_slow, alpha_dev;
	double knee;
	double rel_floor;
	int avg_window;
	double lik_horizon;
	double sigma_floor;
	int two_sided;
	double range_margin;
	int max_gap;
	double w_fast, w_slow, w_deriv;
	double red_run;
	int refractory;
	double alert_level;
	double refr_scale;
	double nbins;
	int ctx_order;
	double w_ctx;
	int ctx_learn;
	int lik_warm;
	double ctx_rate;
	double ctx_hyst;
	double refr_break;
	int ctx_range;
	int ctx_shifts;
};

/* Anomaly likelihood of one raw channel (docs/detectors.md §8), O(1). */
struct ens_lik {
	double ring[ENS_AVG_MAX]; /* last avg_window raw values */
	double sum;
	int64_t n;      /* raw values seen */
	double mu, var; /* EW Gaussian of the short mean */
	double q_prev;  /* previous unfiltered tail probability (red-run filter) */
};

/* Plain data only: saved and loaded as a raw copy, vetted by ens_valid().
 * tests/test_det_ensemble.c relies on it starting with int64 n, int64
 * gap_run, double last_ts and ending with the seen-context bit sets. */
struct ens_state {
	int64_t n;       /* finite points absorbed since the last reset */
	int64_t gap_run; /* consecutive gaps */
	double last_ts;
	double x_prev;
	double lo, hi;               /* range seen so far */
	double quant;                /* smallest non-zero |x - x_prev| seen (0: none yet) */
	double lf, df;               /* fast level and its EW mean |residual| */
	double ls, ds;               /* slow level and its EW mean |residual| */
	double dm, dd;               /* EW mean step and EW mean |step - dm| */
	struct ens_lik lik_z, lik_c; /* level/derivative channel, context channel */
	int64_t refr;                /* points left in the refractory period */
	double refr_dec;             /* decades of the event that started it */
	/* pattern channel: three nested dyadic quantisers (bin widths
	 * 2^(level-1), 2^level, 2^(level+1)); slot of level l = l mod 3 */
	double q_lo, q_hi;     /* tracked 5 % / 95 % quantiles */
	double sp_down, sp_up; /* spread below / above which the level moves */
	double anchor, wbase;  /* quantiser of level l: bins (x - anchor) / (wbase 2^l) */
	int64_t level;         /* middle quantiser's level (valid if level_set) */
	int64_t level_set;
	double xh[ENS_CTX_MAX]; /* last values, newest first */
	int64_t nxh;
	int64_t bins[ENS_LEVELS][ENS_SHIFTS][ENS_CTX_MAX]; /* last bins per quantiser, newest first */
	int64_t age[ENS_LEVELS];                           /* points recorded into each slot's set */
	uint64_t set[ENS_LEVELS][ENS_SHIFTS][ENS_SET_BITS / 64];
};

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
	{"alpha_slow", PARAM_DOUBLE, "0.02", OFF(alpha_slow), "smoothing of the slow level", 1e-5, 1, NULL,
	 0},
	{"alpha_dev", PARAM_DOUBLE, "0.003", OFF(alpha_dev), "smoothing of the residual scales", 1e-5, 1,
	 NULL, 0},
	{"knee", PARAM_DOUBLE, "3", OFF(knee), "z at which a raw signal reads 0.5", 0.1, 100, NULL, 0},
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
	{"ctx_rate", PARAM_DOUBLE, "0.05", OFF(ctx_rate),
	 "step of the quantile trackers, as a fraction of their spread", 1e-5, 1, NULL, 0},
	{"ctx_hyst", PARAM_DOUBLE, "0.75", OFF(ctx_hyst),
	 "octaves the spread must leave the current level by before the quantisers move", 0.5, 4, NULL, 0},
	{"ctx_range", PARAM_INT, "300", OFF(ctx_range),
	 "points whose exact range seeds the quantile trackers; the quantisers start after them", 20, 100000,
	 NULL, 0},
	{"refr_break", PARAM_DOUBLE, "1", OFF(refr_break),
	 "a point beyond the seen range by this many range widths, or with (1+this) times the decades of the "
	 "event that started the refractory period, is not scaled and restarts it",
	 0, 1000, NULL, 0},
	{"ctx_shifts", PARAM_INT, "2", OFF(ctx_shifts),
	 "quantisers per level, offset from each other by 1/ctx_shifts of a bin", 1, ENS_SHIFTS, NULL, 0},
	{"lik_warm", PARAM_INT, "50", OFF(lik_warm), "raw values a likelihood channel sees before it speaks",
	 1, 100000, NULL, 0},
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
	s->lik_z.q_prev = s->lik_c.q_prev = 1.0;
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
	/* EW mean/variance with a running-mean start: alpha = max(1/n, 1/H) */
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

static int64_t ens_bin(const struct ens_state *s, double x, int64_t level, double shift)
{
	double v = floor(ldexp((x - s->anchor) / s->wbase, (int)-level) + shift);
	if (v > 4e18)
		v = 4e18;
	if (!(v >= -4e18)) /* NaN too: never cast it */
		v = -4e18;
	return (int64_t)v;
}

static int ens_slot(int64_t level)
{
	return (int)(((level % ENS_LEVELS) + ENS_LEVELS) % ENS_LEVELS);
}

/* Start quantiser `level` in its slot: empty set, history re-binned from the
 * stored values (so its contexts are complete at once). */
static void ens_level_new(const struct ens_cfg *c, struct ens_state *s, int64_t level)
{
	int slot = ens_slot(level);
	memset(s->set[slot], 0, sizeof s->set[slot]);
	s->age[slot] = 0;
	for (int k = 0; k < c->ctx_shifts; k++)
		for (int64_t j = 0; j < s->nxh; j++)
			s->bins[slot][k][j] = ens_bin(s, s->xh[j], level, (double)k / c->ctx_shifts);
}

/* Spread bounds outside which the middle level moves by one. */
static double ens_bound(const struct ens_cfg *c, const struct ens_state *s, double octaves)
{
	return c->nbins * ldexp(s->wbase, (int)s->level) * exp2(octaves);
}

static void ens_level_bounds(const struct ens_cfg *c, struct ens_state *s)
{
	s->sp_down = ens_bound(c, s, -c->ctx_hyst);
	s->sp_up = ens_bound(c, s, c->ctx_hyst);
}

/* Pattern channel. Tracks the 5 %/95 % quantiles of x (steps scaled by their
 * spread, so a lone spike barely moves them) and keeps three nested dyadic
 * quantisers around width spread/nbins; each remembers the contexts (last
 * 2..ctx_order bins) it has seen. When the spread drifts an octave
 * (ctx_hyst) away, the middle level moves by one: two quantisers keep their
 * memory, one is started afresh at the far end. Returns the mean share of
 * novel contexts over the three quantisers (0 until they start). */
static double ens_context(const struct ens_cfg *c, struct ens_state *s, double x)
{
	double spread, sum = 0;
	int used = 0;

	if (s->n <= c->ctx_range) {
		s->q_lo = s->lo;
		s->q_hi = s->hi;
	} else {
		double st = c->ctx_rate * fmax(s->q_hi - s->q_lo, s->quant);
		s->q_hi += x >= s->q_hi ? 0.95 * st : -0.05 * st;
		s->q_lo += x < s->q_lo ? -0.95 * st : 0.05 * st;
		if (s->q_lo > s->q_hi)
			s->q_lo = s->q_hi = 0.5 * (s->q_lo + s->q_hi);
	}
	spread = fmax(s->q_hi - s->q_lo, s->quant);
	if (s->n >= c->ctx_range && spread > 0) {
		if (!s->level_set) {
			s->anchor = s->q_lo;
			s->wbase = spread / c->nbins;
			s->level = 0;
			s->level_set = 1;
			for (int64_t l = s->level - 1; l <= s->level + 1; l++)
				ens_level_new(c, s, l);
			ens_level_bounds(c, s);
		} else if (spread > s->sp_up && s->level < 900) {
			s->level++;
			ens_level_new(c, s, s->level + 1);
			ens_level_bounds(c, s);
		} else if (spread < s->sp_down && s->level > -900) {
			s->level--;
			ens_level_new(c, s, s->level - 1);
			ens_level_bounds(c, s);
		}
	}
	memmove(s->xh + 1, s->xh, sizeof s->xh[0] * (ENS_CTX_MAX - 1));
	s->xh[0] = x;
	if (s->nxh < ENS_CTX_MAX)
		s->nxh++;
	if (!s->level_set)
		return 0;
	for (int64_t l = s->level - 1; l <= s->level + 1; l++) {
		int slot = ens_slot(l);
		for (int q = 0; q < c->ctx_shifts; q++) {
			int novel = 0, n = 0;
			int64_t *b = s->bins[slot][q];
			uint64_t *set = s->set[slot][q];
			uint64_t h = 0x9e3779b97f4a7c15ULL;
			memmove(b + 1, b, sizeof b[0] * (ENS_CTX_MAX - 1));
			b[0] = ens_bin(s, x, l, (double)q / c->ctx_shifts);
			for (int k = 0; k < c->ctx_order && k < s->nxh; k++) {
				uint64_t bit;
				h = ens_mix(h ^ (uint64_t)b[k]);
				if (k == 0)
					continue;
				bit = (h ^ (uint64_t)k) % ENS_SET_BITS;
				n++;
				if (!(set[bit / 64] >> (bit % 64) & 1)) {
					novel++;
					set[bit / 64] |= 1ULL << (bit % 64);
				}
			}
			if (n > 0) {
				sum += (double)novel / n;
				used++;
			}
		}
		s->age[slot]++;
	}
	return used ? sum / used : 0;
}

/* The model's running sums are finite and the ranges the quantisers are
 * built from do not overflow (an invariant valid() relies on). */
static int ens_finite_model(const struct ens_state *s)
{
	return isfinite(s->lf) && isfinite(s->ls) && isfinite(s->df) && isfinite(s->ds) && isfinite(s->dm) &&
	       isfinite(s->dd) && isfinite(s->quant) && isfinite(s->hi - s->lo) &&
	       isfinite(s->q_hi - s->q_lo) && isfinite(s->lik_z.sum) && isfinite(s->lik_c.sum);
}

static int ens_update(const void *cfgp, void *state, double ts, double x, struct det_result *out)
{
	const struct ens_cfg *c = cfgp;
	struct ens_state *s = state;
	double floor_, zf, zs, zd, raw, step, q, score, dec, excess = 0;
	int spatial = 0;

	ens_nan(out);
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
		return 0;
	}
	s->n++;

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

	/* 3. spatial novelty against the range seen before x */
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
	s->df += c->alpha_dev * (fabs(x - s->lf) - s->df);
	s->ds += c->alpha_dev * (fabs(x - s->ls) - s->ds);
	s->dd += c->alpha_dev * (fabs(step - s->dm) - s->dd);
	s->lf += c->alpha_fast * (x - s->lf);
	s->ls += c->alpha_slow * (x - s->ls);
	s->dm += c->alpha_slow * (step - s->dm);
	s->x_prev = x;
	if (x < s->lo)
		s->lo = x;
	if (x > s->hi)
		s->hi = x;

	/* 2. anomaly likelihood of each channel; the rarer one speaks */
	q = ens_lik_step(c, &s->lik_z, raw, c->sigma_floor);
	if (c->w_ctx > 0) {
		/* the context is remembered either way; with a direction only
		 * a point on the watched side of the fast level can be novel */
		double nov = ens_context(c, s, x), qc;
		if (c->direction != ENS_BOTH && !(zf > 0))
			nov = 0;
		qc = ens_lik_step(c, &s->lik_c, c->w_ctx * nov, c->sigma_floor);
		/* silent until the contexts have settled: the Gaussian of
		 * the channel learns the initial burst of novelty instead
		 * of alerting on it */
		if (s->level_set && s->age[ens_slot(s->level)] > c->ctx_learn)
			q = fmin(q, qc);
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
	score = (dec + c->sensitivity) / 10.0;
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
	if (s->n > 0 && !(s->lo <= s->x_prev && s->x_prev <= s->hi))
		return 0;
	if (!ens_lik_valid(&s->lik_z, pushed, 1.0) ||
	    !ens_lik_valid(&s->lik_c, c->w_ctx > 0 ? pushed : 0, c->w_ctx))
		return 0;
	if (s->refr < 0 || s->refr > c->refractory || !(s->refr_dec >= 0 && s->refr_dec <= 1000))
		return 0;
	/* pattern channel: the value history */
	nxh = c->w_ctx > 0 ? (pushed < ENS_CTX_MAX ? pushed : ENS_CTX_MAX) : 0;
	if (s->nxh != nxh || (nxh > 0 && memcmp(&s->xh[0], &s->x_prev, sizeof s->x_prev) != 0))
		return 0;
	for (int64_t j = 0; j < ENS_CTX_MAX; j++)
		if (j < nxh ? !(s->lo <= s->xh[j] && s->xh[j] <= s->hi) : !(fabs(s->xh[j]) <= 0))
			return 0;
	if (s->level_set != 0 && s->level_set != 1)
		return 0;
	if (!s->level_set) {
		for (int l = 0; l < ENS_LEVELS; l++) {
			if (s->age[l] != 0)
				return 0;
			for (int q = 0; q < ENS_SHIFTS; q++)
				for (size_t w = 0; w < ENS_SET_BITS / 64; w++)
					if (s->set[l][q][w])
						return 0;
		}
		return 1;
	}
	/* the quantisers: geometry, bounds and bins re-derive exactly */
	if (!isfinite(s->anchor) || !(s->wbase > 0) || !isfinite(s->wbase) || s->level < -900 ||
	    s->level > 900)
		return 0;
	{
		double down = ens_bound(c, s, -c->ctx_hyst), up = ens_bound(c, s, c->ctx_hyst);
		if (memcmp(&down, &s->sp_down, sizeof down) != 0 || memcmp(&up, &s->sp_up, sizeof up) != 0)
			return 0;
	}
	for (int64_t l = s->level - 1; l <= s->level + 1; l++) {
		int slot = ens_slot(l);
		if (s->age[slot] < 0 || s->age[slot] > s->n)
			return 0;
		for (int q = 0; q < ENS_SHIFTS; q++) {
			int64_t bits = 0;
			for (int64_t j = 0; q < c->ctx_shifts && j < nxh; j++)
				if (s->bins[slot][q][j] != ens_bin(s, s->xh[j], l, (double)q / c->ctx_shifts))
					return 0;
			for (size_t w = 0; w < ENS_SET_BITS / 64; w++)
				bits += __builtin_popcountll(s->set[slot][q][w]);
			/* each point records at most ctx_order - 1 contexts */
			if ((s->age[slot] < ENS_SET_BITS && bits > s->age[slot] * (c->ctx_order - 1)) ||
			    (q >= c->ctx_shifts && bits > 0))
				return 0;
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
	.state_version = 3,
	.params = ens_params,
	.config_size = sizeof(struct ens_cfg),
	.default_threshold = 0.5,
	.config_check = ens_check,
	.state_size = ens_state_size,
	.init = ens_init,
	.update = ens_update,
	.valid = ens_valid,
};
