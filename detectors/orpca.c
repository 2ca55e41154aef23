/* "orpca": OR-PCA on a lag-embedded window of one series
 * (../shared/docs/detectors.md §5, use 2).
 *
 * Each valid point x_t forms z_t = (x_{t−m+1}, …, x_t), normalised with a
 * running robust location/scale (loc, s) taken *before* x_t: z_i = (x_i − loc)/s.
 * z_t goes through the OR-PCA engine (orpca_core.h), which returns the sparse
 * part e and the reconstruction L·c, then learns from z_t.
 *
 * Normaliser: loc is an exponentially weighted mean of x with each deviation
 * clipped to ±3s (a Huber-style M-estimate, so a spike moves it by at most
 * 3s/H); mad is the EW mean of |x − loc| clipped at 3s, and s = 1.2533·mad
 * (1.2533 = √(π/2) turns a mean absolute deviation into a Gaussian sd).
 * Weights are 1/n for the first points (a plain running mean), then 1/H
 * (H = norm_horizon); clipping starts once `lag` points were seen. s has a
 * floor of 1e-12 + 1e-9·|loc| so a constant series does not divide by 0.
 * λ2 therefore reads "robust z above which a coordinate turns sparse".
 *
 * Output for x_t (causal: only the newest coordinate is scored):
 *   score    = min(1, |e_{m−1}| / (2k)), so score ≥ 0.5 ⇔ |e_{m−1}| ≥ k;
 *   expected = loc + s·(L·c)_{m−1}  (reconstruction of x_t, de-normalised);
 *   band     = expected ± (λ2 + k)·s: x_t lies outside it ⇔ |e_{m−1}| > k,
 *              i.e. ⇔ score > default threshold 0.5.
 * Note that c is fitted on z_t, x_t included; the sparse part keeps an outlier
 * from dragging the fit, but the band is not strictly known before x_t.
 *
 * Warm-up: the engine starts learning once `lag` points filled the window;
 * scores are NaN until `warmup` valid points were seen.
 * Gaps: a NaN is skipped (the window is made of the valid points in arrival
 * order, ts is not used); `max_gaps` consecutive NaNs restart the model.
 * State: one block of 2·m·r + r² + m doubles kept, plus scratch (not saved). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "detectors/detector.h"
#include "detectors/orpca_core.h"

#define ORPCA_SEED      0x6f72706361ull /* "orpca": fixed, so L0 is reproducible */
#define NORM_CLIP       3.0
#define MAD_TO_SD       1.2533141373155003
#define ORPCA_STATE_VER 1

struct orpca_det_cfg {
	int lag, rank, warmup, max_iter, max_gaps;
	double lambda1, lambda2, horizon, norm_horizon, k;
	struct orpca_cfg core; /* derived by config_check */
};

struct orpca_det_state {
	uint64_t n;    /* valid points since the (re)start */
	uint32_t head; /* ring slot that the next point overwrites */
	uint32_t gaps; /* consecutive NaNs */
	double loc, mad;
	/* core state (orpca_state_len) | ring (m raw values) | scratch: z, e,
	 * recon (m each) and the engine's work (orpca_work_len). */
	double d[];
};

static const struct param_spec orpca_params[] = {
	{.name = "lag",
	 .kind = PARAM_INT,
	 .def = "16",
	 .offset = offsetof(struct orpca_det_cfg, lag),
	 .help = "window length m (points)",
	 .min = 2,
	 .max = 512},
	ORPCA_PARAM_ROWS(struct orpca_det_cfg, "lag", "coordinate", "point", "the"),
	{.name = "warmup",
	 .kind = PARAM_INT,
	 .def = "128",
	 .offset = offsetof(struct orpca_det_cfg, warmup),
	 .help = "valid points before scoring (>= lag)",
	 .min = 2,
	 .max = 1000000000},
	ORPCA_PARAM_MAX_ITER(struct orpca_det_cfg, "point"),
	{.name = "max_gaps",
	 .kind = PARAM_INT,
	 .def = "32",
	 .offset = offsetof(struct orpca_det_cfg, max_gaps),
	 .help = "consecutive gaps that restart the model (0: never)",
	 .min = 0,
	 .max = 1000000000},
	{.name = NULL},
};

static int orpca_config_check(void *cfgp, char *err, size_t errlen)
{
	struct orpca_det_cfg *c = cfgp;

	if (c->rank > c->lag) {
		snprintf(err, errlen, "orpca: rank %d must not exceed lag %d", c->rank, c->lag);
		return -VIGIL_EINVAL;
	}
	if (c->warmup < c->lag) {
		snprintf(err, errlen, "orpca: warmup %d must be at least lag %d", c->warmup, c->lag);
		return -VIGIL_EINVAL;
	}
	return orpca_cfg_derive(&c->core, (size_t)c->lag, (size_t)c->rank, c->lambda1, c->lambda2, c->horizon,
				c->max_iter, err, errlen);
}

static size_t kept_len(const struct orpca_det_cfg *c)
{
	return orpca_state_len(&c->core) + c->core.m;
}

static size_t orpca_state_size(const void *cfgp)
{
	const struct orpca_det_cfg *c = cfgp;
	return sizeof(struct orpca_det_state) +
	       (kept_len(c) + 3 * c->core.m + orpca_work_len(&c->core)) * sizeof(double);
}

struct parts {
	double *st, *ring, *z, *e, *recon, *work;
};

static struct parts parts_of(const struct orpca_det_cfg *c, struct orpca_det_state *s)
{
	struct parts p;
	size_t m = c->core.m;

	p.st = s->d;
	p.ring = p.st + orpca_state_len(&c->core);
	p.z = p.ring + m;
	p.e = p.z + m;
	p.recon = p.e + m;
	p.work = p.recon + m;
	return p;
}

static int orpca_det_init(const void *cfgp, void *statep)
{
	const struct orpca_det_cfg *c = cfgp;
	struct orpca_det_state *s = statep;
	struct parts p = parts_of(c, s);

	s->n = 0;
	s->head = 0;
	s->gaps = 0;
	s->loc = 0;
	s->mad = 0;
	memset(p.ring, 0, c->core.m * sizeof *p.ring);
	return orpca_init(&c->core, p.st, p.work, ORPCA_SEED);
}

static double scale_of(const struct orpca_det_state *s)
{
	return fmax(MAD_TO_SD * s->mad, 1e-12 + 1e-9 * fabs(s->loc));
}

/* Fold a valid x into loc/mad; s->n already counts x. */
static void norm_update(const struct orpca_det_cfg *c, struct orpca_det_state *s, double x)
{
	double a = fmax(1.0 / c->norm_horizon, 1.0 / (double)s->n);
	double d = x - s->loc, ad = fabs(d);

	if (s->n > (uint64_t)c->lag) {
		double lim = NORM_CLIP * scale_of(s);
		d = fmax(-lim, fmin(lim, d));
		ad = fmin(ad, lim);
	}
	s->loc += a * d;
	s->mad = (1.0 - a) * s->mad + a * ad;
}

static void nan_result(struct det_result *out)
{
	out->score = NAN;
	out->expected = NAN;
	out->lower = NAN;
	out->upper = NAN;
}

static int orpca_det_update(const void *cfgp, void *statep, double ts, double x, struct det_result *out)
{
	const struct orpca_det_cfg *c = cfgp;
	struct orpca_det_state *s = statep;
	struct parts p = parts_of(c, s);
	size_t m = c->core.m;
	double sc = scale_of(s);
	int rc, it;

	(void)ts; /* the window is the valid points in arrival order */
	nan_result(out);
	if (!isfinite(x)) {
		s->gaps++;
		if (c->max_gaps > 0 && s->gaps >= (uint32_t)c->max_gaps)
			return orpca_det_init(c, s);
		return 0;
	}
	if (s->n + 1 >= m) {
		/* ring[head+1 .. head+m-1] are the m−1 previous points, oldest first */
		for (size_t i = 0; i + 1 < m; i++)
			p.z[i] = (p.ring[(s->head + 1 + i) % m] - s->loc) / sc;
		p.z[m - 1] = (x - s->loc) / sc;
		rc = orpca_update(&c->core, p.st, p.work, p.z, p.e, p.recon, NULL, &it);
		if (rc != 0)
			return rc; /* state unchanged: the engine refused or failed */
		if (s->n + 1 > (uint64_t)c->warmup) {
			double half = (c->lambda2 + c->k) * sc;
			out->score = fmin(1.0, fabs(p.e[m - 1]) / (2.0 * c->k));
			out->expected = s->loc + sc * p.recon[m - 1];
			out->lower = out->expected - half;
			out->upper = out->expected + half;
		}
	}
	p.ring[s->head] = x;
	s->head = (uint32_t)((s->head + 1) % m);
	s->n++;
	s->gaps = 0;
	norm_update(c, s, x);
	return 0;
}

/* Saved body: n u64, head u32, gaps u32, loc f64, mad f64, then the kept
 * doubles (engine state, ring). */
static int orpca_det_save(const void *cfgp, const void *statep, struct buf *out)
{
	const struct orpca_det_cfg *c = cfgp;
	const struct orpca_det_state *s = statep;
	size_t n = kept_len(c);

	buf_put_u64(out, s->n);
	buf_put_u32(out, s->head);
	buf_put_u32(out, s->gaps);
	buf_put_f64(out, s->loc);
	buf_put_f64(out, s->mad);
	for (size_t i = 0; i < n; i++)
		buf_put_f64(out, s->d[i]);
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

static int orpca_det_load(const void *cfgp, void *statep, const uint8_t *data, size_t len)
{
	const struct orpca_det_cfg *c = cfgp;
	struct orpca_det_state *s = statep;
	struct parts p = parts_of(c, s);
	struct reader r = reader_of(data, len);
	size_t n = kept_len(c);

	s->n = rd_u64(&r);
	s->head = rd_u32(&r);
	s->gaps = rd_u32(&r);
	s->loc = rd_f64(&r);
	s->mad = rd_f64(&r);
	for (size_t i = 0; i < n; i++)
		s->d[i] = rd_f64(&r);
	if (!reader_ok(&r) || r.left != 0 || s->head >= c->core.m || !isfinite(s->loc) || !isfinite(s->mad) ||
	    s->mad < 0 || (c->max_gaps > 0 && s->gaps >= (uint32_t)c->max_gaps))
		return -VIGIL_EINVAL;
	for (size_t i = 0; i < c->core.m; i++)
		if (!isfinite(p.ring[i]))
			return -VIGIL_EINVAL;
	return orpca_state_check(&c->core, p.st);
}

const struct detector_type det_orpca = {
	.name = "orpca",
	.summary = "online robust PCA on a lag window (shape changes; Feng et al. 2013)",
	.state_version = ORPCA_STATE_VER,
	.params = orpca_params,
	.config_size = sizeof(struct orpca_det_cfg),
	.default_threshold = 0.5,
	.config_check = orpca_config_check,
	.state_size = orpca_state_size,
	.init = orpca_det_init,
	.update = orpca_det_update,
	.save = orpca_det_save,
	.load = orpca_det_load,
	.fini = NULL,
};
