/* ensemble's private layout (detectors/ensemble.c): configuration, the
 * plain-data per-series state and the small helpers of the pattern
 * channel's quantisers and stamp tables. Only ensemble.c includes it.
 * Measured variants of the table sizes (ENS_BUCKETS, ENS_STAMP_BITS,
 * ENS_NLVL can be set with -D for experiments): BENCHMARKS.md. */
#ifndef DETECTORS_ENSEMBLE_H
#define DETECTORS_ENSEMBLE_H

#include <math.h>
#include <stdint.h>

#include "detectors/detector.h"

#define ENS_AVG_MAX 64
#define ENS_CTX_MAX 8
#ifndef ENS_BUCKETS
#define ENS_BUCKETS 1024 /* last-seen stamps per quantiser */
#endif
#ifndef ENS_NLVL
#define ENS_NLVL 5 /* quantiser widths kept at once */
#endif
#define ENS_STEPS 2 /* widths per octave on the lattice */
#define ENS_HALF  ((ENS_NLVL - 1) / 2)
#define ENS_WHYST 0.25 /* lattice steps beyond half a step before the window moves */
#ifndef ENS_STAMP_BITS
#define ENS_STAMP_BITS 4 /* 2, 4 or 8: bits of one last-seen stamp */
#endif
#define ENS_STAMPS ((1 << ENS_STAMP_BITS) - 1)        /* stamps run 1..ENS_STAMPS; 0 is "never" */
#define ENS_SWEEP  (ENS_STAMP_BITS <= 4 ? 1 : 128)    /* clock ticks between sweeps of stale stamps */
#define ENS_MEMT   (ENS_STAMPS - 1 - ENS_SWEEP)       /* ctx_mem in clock ticks is at most this */
#define ENS_TABLE  (ENS_BUCKETS * ENS_STAMP_BITS / 8) /* bytes of one quantiser's stamps */
/* ENS_MEMT + ENS_SWEEP < ENS_STAMPS: a sweep forgets every stamp older than
 * ctx_mem before its age could wrap around. */
#define ENS_SHIFTS 2 /* quantisers per level, offset by a fraction of a bin */

enum ens_dir { ENS_BOTH, ENS_UP, ENS_DOWN };

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
	double ctx_kernel;
	int ctx_mem;
	double w_spread, alpha_spread, sp_floor;
	double refr_break;
	int ctx_range;
	int ctx_shifts;
	double recur_tol;
	int recur_min;
	int ctx_sqrt;
	double ctx_gate;
	double lik_margin;
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
 * gap_run, double last_ts and ending with the stamp tables (ENS_NLVL x ENS_SHIFTS x ENS_TABLE bytes). */
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
	struct ens_lik lik_s;        /* spread-shift channel */
	double sp_l, sp_d;           /* EW mean of log2 spread and its EW mean |dev| */
	int64_t refr;                /* points left in the refractory period */
	double refr_dec;             /* decades of the event that started it */
	int64_t ev1, ev2, ev3;       /* n at the last three event starts (0: none) */
	/* issue 16: a point far beyond the seen range (ENS_FAR widths) is held
	 * out of lo/hi until a comparable one comes (ens_widen) */
	double far_lo, far_hi; /* the newest such point below / above (0: none) */
	int64_t far;           /* bit 0: far_hi held, bit 1: far_lo held */
	/* pattern channel: ENS_NLVL quantisers of widths wbase 2^(l/ENS_STEPS)
	 * for lattice levels l in mid - ENS_HALF .. mid + ENS_HALF; slot l mod ENS_NLVL */
	double q_lo, q_hi;    /* tracked 5 % / 95 % quantiles */
	double anchor, wbase; /* level l bins (x - anchor) / (wbase 2^(l/ENS_STEPS)) */
	int64_t mid;          /* window centre (valid if ctx_set) */
	int64_t ctx_set;
	int64_t vst;            /* 1: a count series, binned by sqrt(x); fixed once ctx_set */
	int64_t ctx_n;          /* points recorded since the quantisers started */
	double xh[ENS_CTX_MAX]; /* last values, newest first */
	int64_t nxh;
	double inv[ENS_NLVL];                            /* 1 / width of the level in each slot */
	int64_t bins[ENS_NLVL][ENS_SHIFTS][ENS_CTX_MAX]; /* last bins per quantiser, newest first */
	int64_t age[ENS_NLVL];                           /* points recorded into each slot's set */
	uint8_t set[ENS_NLVL][ENS_SHIFTS]
		   [ENS_TABLE]; /* packed stamps: clock tick of last sighting, 0: never */
};

/* The quantisers' space: sqrt(x) for a count series (variance-stabilised:
 * a Poisson-like count's spread no longer grows with its level, so a burst
 * does not land in bins of its own), x otherwise. */
static inline double ens_vst(const struct ens_state *s, double x)
{
	return s->vst ? sqrt(fmax(x, 0)) : x;
}

static inline int64_t ens_bin(const struct ens_state *s, double x, double inv, double shift)
{
	double v = floor((ens_vst(s, x) - s->anchor) * inv + shift);
	if (v > 4e18)
		v = 4e18;
	if (!(v >= -4e18)) /* NaN too: never cast it */
		v = -4e18;
	return (int64_t)v;
}

static inline int ens_slot(int64_t level)
{
	return (int)(((level % ENS_NLVL) + ENS_NLVL) % ENS_NLVL);
}

static inline double ens_inv(const struct ens_state *s, int64_t level)
{
	return exp2(-(double)level / ENS_STEPS) / s->wbase;
}

/* The context memory's clock: one tick per ens_gran() recorded points, so
 * that ctx_mem spans at most ENS_MEMT + 1/2 ticks (small stamps, coarse
 * ages: a context is novel once unseen for more than ens_mem_ticks() ticks,
 * i.e. for ctx_mem points on average). */
static inline int64_t ens_gran(const struct ens_cfg *c)
{
	return (int64_t)ceil(c->ctx_mem / (ENS_MEMT + 0.5));
}

static inline int ens_mem_ticks(const struct ens_cfg *c)
{
	return (int)fmin(ENS_MEMT, floor((double)c->ctx_mem / (double)ens_gran(c)));
}

/* Stamp of the ctx_n-th recorded point, in 1..ENS_STAMPS. */
static inline int ens_stamp(const struct ens_cfg *c, int64_t ctx_n)
{
	return (int)((ctx_n / ens_gran(c)) % ENS_STAMPS + 1);
}

/* Ticks since a (non-zero) stamp was written, modulo ENS_STAMPS. */
static inline int ens_stamp_age(int now, int st)
{
	return (now - st + ENS_STAMPS) % ENS_STAMPS;
}

/* Stamp k of a packed table, and storing one. */
static inline int ens_get(const uint8_t *t, uint32_t k)
{
	int sh = (int)(k % (8 / ENS_STAMP_BITS)) * ENS_STAMP_BITS;
	return (t[k / (8 / ENS_STAMP_BITS)] >> sh) & ENS_STAMPS;
}

static inline void ens_put(uint8_t *t, uint32_t k, int v)
{
	int sh = (int)(k % (8 / ENS_STAMP_BITS)) * ENS_STAMP_BITS;
	uint8_t *b = &t[k / (8 / ENS_STAMP_BITS)];
	*b = (uint8_t)((*b & ~(ENS_STAMPS << sh)) | (v << sh));
}

#endif
