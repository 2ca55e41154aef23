/* "peerpca": OR-PCA over the vector of a peer group's members at one aligned
 * tick (../shared/docs/detectors.md §5, use 1, Netflix's rogue server): the
 * members normally move together (a low-rank structure); a member whose
 * value leaves that structure gets a large sparse part e_i.
 *
 * Per member i (stable slot, see group.h) a running robust location/scale
 * (loc_i, s_i), taken before the tick, normalises its value:
 * z_i = (x_i − loc_i)/s_i, so large members do not own the basis and λ2 reads
 * "robust z above which a member turns sparse". The normaliser is the one of
 * orpca.c: loc an EW mean with each deviation clipped to ±3s, mad the EW mean
 * of |x − loc| clipped at 3s, s = 1.2533·mad; weights 1/n then 1/H
 * (H = norm_horizon); the first point sets loc (mad 0); clipping starts after
 * NORM_START points; s has a floor of 1e-12 + 1e-9·|loc|.
 *
 * A member takes part with its own value once NORM_START of its points were
 * folded into its normaliser; before that, and at ticks where it is absent,
 * its coordinate holds its reconstruction from the previous tick (0 before
 * any) and it is not scored (NaN result). The tick vector goes through
 * orpca_project() then orpca_learn() (orpca_core.h) with dimension m = slots
 * in use; a new member slot appends a zero row to L and B (its row is then
 * learnt), so the basis of the others is kept.
 *
 * Scoring is leave-one-out (loo_refine): with rank 2 and few members, the
 * joint projection can explain much of one member's jump with the second
 * basis column (whose loading on that member is free), so each member is
 * predicted from its peers only: c_i fitted on the other members' z − e,
 * pred_i = (L·c_i)_i, e_i = soft(z_i − pred_i, λ2); two passes starting from
 * the joint projection's e, then c and the reconstruction are refitted on
 * z − e with every member, and learning uses that e and c. Cost per member
 * O(r³) on top of the core's O(m·r) per iteration.
 *
 * Output for a present member i, once the group learnt `warmup` ticks and i
 * itself had `warmup` points:
 *   score    = min(1, |e_i| / (2k)), so score >= 0.5 (default threshold)
 *              ⇔ |e_i| >= k;
 *   expected = loc_i + s_i·pred_i (what its peers say, in its units);
 *   band     = expected ± (λ2 + k)·s_i.
 * Members are not scored while fewer than `rank` slots exist (the model has
 * not started). Non-finite values count as absent.
 *
 * State: one block for K = max_members slots: L, A, B (2·K·r + r²), per member
 * loc, mad, count, previous reconstruction (4·K), scratch (not saved; about
 * 6·K + 2·r² + the core's work). Saved
 * compactly for the slots in use: 2·m·r + r² + 4·n doubles + 16 bytes. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "detectors/group.h"
#include "detectors/orpca_core.h"

#define PEER_SEED      0x7065657270636aull /* fixed, so L0 is reproducible */
#define NORM_CLIP      3.0
#define NORM_START     16
#define MAD_TO_SD      1.2533141373155003
#define PEER_STATE_VER 1

struct peer_cfg {
	int max_members, rank, warmup, max_iter;
	double lambda1, lambda2, horizon, norm_horizon, k;
	struct orpca_cfg core; /* derived by config_check, m = max_members */
};

struct peer_state {
	uint64_t ticks; /* ticks learnt */
	uint32_t m;     /* dimension of the core state (0 = not started) */
	uint32_t n;     /* member slots in use */
	/* core (orpca_state_len for K) | loc K | mad K | cnt K | prev K |
	 * scratch: z K | e K | recon K | coef r | work (orpca_work_len for K) */
	double d[];
};

static const struct param_spec peer_params[] = {
	{.name = "max_members",
	 .kind = PARAM_INT,
	 .def = "64",
	 .offset = offsetof(struct peer_cfg, max_members),
	 .help = "member slots per group K; further members are refused",
	 .min = 1,
	 .max = 1024},
	ORPCA_PARAM_ROWS(struct peer_cfg, "max_members", "member", "tick", "each member's"),
	{.name = "warmup",
	 .kind = PARAM_INT,
	 .def = "100",
	 .offset = offsetof(struct peer_cfg, warmup),
	 .help = "ticks the group and points a member needs before scoring",
	 .min = NORM_START,
	 .max = 1000000000},
	ORPCA_PARAM_MAX_ITER(struct peer_cfg, "tick"),
	{.name = NULL},
};

static int peer_config_check(void *cfgp, char *err, size_t errlen)
{
	struct peer_cfg *c = cfgp;

	if (c->rank > c->max_members) {
		snprintf(err, errlen, "peerpca: rank %d must not exceed max_members %d", c->rank,
			 c->max_members);
		return -VIGIL_EINVAL;
	}
	return orpca_cfg_derive(&c->core, (size_t)c->max_members, (size_t)c->rank, c->lambda1, c->lambda2,
				c->horizon, c->max_iter, err, errlen);
}

struct parts {
	double *core, *loc, *mad, *cnt, *prev, *z, *e, *recon, *coef, *pred, *G, *M, *h, *ci, *work;
};

static struct parts parts_of(const struct peer_cfg *c, double *d)
{
	struct parts p;
	size_t K = c->core.m;

	p.core = d;
	p.loc = p.core + orpca_state_len(&c->core);
	p.mad = p.loc + K;
	p.cnt = p.mad + K;
	p.prev = p.cnt + K;
	p.z = p.prev + K;
	p.e = p.z + K;
	p.recon = p.e + K;
	p.coef = p.recon + K;
	p.pred = p.coef + c->core.r;
	p.G = p.pred + K;
	p.M = p.G + c->core.r * c->core.r;
	p.h = p.M + c->core.r * c->core.r;
	p.ci = p.h + c->core.r;
	p.work = p.ci + c->core.r;
	return p;
}

static size_t peer_max_members(const void *cfgp)
{
	const struct peer_cfg *c = cfgp;
	return c->core.m;
}

static size_t peer_state_size(const void *cfgp)
{
	const struct peer_cfg *c = cfgp;
	size_t K = c->core.m;
	return sizeof(struct peer_state) +
	       (orpca_state_len(&c->core) + 8 * K + 3 * c->core.r + 2 * c->core.r * c->core.r +
		orpca_work_len(&c->core)) *
		       sizeof(double) +
	       K; /* ready flags */
}

static int peer_init(const void *cfgp, void *statep)
{
	const struct peer_cfg *c = cfgp;
	struct peer_state *s = statep;

	memset(s, 0, peer_state_size(c));
	return 0;
}

/* The core config for dimension m. */
static struct orpca_cfg core_for(const struct peer_cfg *c, size_t m)
{
	struct orpca_cfg k = c->core;
	k.m = m;
	return k;
}

/* Re-lay the core state from dimension m0 to m1 > m0: L and B get zero rows
 * for the new members, A is kept. */
static void core_grow(const struct peer_cfg *c, double *st, size_t m0, size_t m1)
{
	size_t r = c->core.r;

	memmove(st + m1 * r + r * r, st + m0 * r + r * r, m0 * r * sizeof *st); /* B */
	memmove(st + m1 * r, st + m0 * r, r * r * sizeof *st);                  /* A */
	memset(st + m0 * r, 0, (m1 - m0) * r * sizeof *st);                     /* new L rows */
	memset(st + m1 * r + r * r + m0 * r, 0, (m1 - m0) * r * sizeof *st);    /* new B rows */
}

static double scale_of(double loc, double mad)
{
	return fmax(MAD_TO_SD * mad, 1e-12 + 1e-9 * fabs(loc));
}

/* Fold a finite x into member i's normaliser (cnt counts points before x). */
static void norm_update(const struct peer_cfg *c, struct parts *p, size_t i, double x)
{
	double n = p->cnt[i] + 1.0, a, d, ad;

	p->cnt[i] = n;
	if (n < 1.5) {
		p->loc[i] = x;
		p->mad[i] = 0;
		return;
	}
	a = fmax(1.0 / c->norm_horizon, 1.0 / n);
	d = x - p->loc[i];
	ad = fabs(d);
	if (n > NORM_START) {
		double lim = NORM_CLIP * scale_of(p->loc[i], p->mad[i]);
		d = fmax(-lim, fmin(lim, d));
		ad = fmin(ad, lim);
	}
	p->loc[i] += a * d;
	p->mad[i] = (1.0 - a) * p->mad[i] + a * ad;
}

/* Solve M·x = b in place (b becomes x) for a symmetric positive definite
 * r×r M (overwritten by its Cholesky factor). -VIGIL_ENUMERIC if not SPD. */
static int spd_solve(double *M, double *b, size_t r)
{
	for (size_t j = 0; j < r; j++) {
		double d = M[j * r + j];
		for (size_t k = 0; k < j; k++)
			d -= M[j * r + k] * M[j * r + k];
		if (!(d > 0))
			return -VIGIL_ENUMERIC;
		d = sqrt(d);
		M[j * r + j] = d;
		for (size_t i = j + 1; i < r; i++) {
			double v = M[i * r + j];
			for (size_t k = 0; k < j; k++)
				v -= M[i * r + k] * M[j * r + k];
			M[i * r + j] = v / d;
		}
	}
	for (size_t i = 0; i < r; i++) { /* L y = b */
		for (size_t k = 0; k < i; k++)
			b[i] -= M[i * r + k] * b[k];
		b[i] /= M[i * r + i];
	}
	for (size_t i = r; i-- > 0;) { /* Lᵀ x = y */
		for (size_t k = i + 1; k < r; k++)
			b[i] -= M[k * r + i] * b[k];
		b[i] /= M[i * r + i];
	}
	return 0;
}

/* Judge every ready member against its peers only (leave one out): with
 * G = LᵀL and h = Lᵀ(z − e), member i's coefficients come from
 * (G − l_i l_iᵀ + λ1 I) c_i = h − l_i (z_i − e_i), its prediction is
 * pred_i = l_i·c_i and its sparse part e_i = soft(z_i − pred_i, λ2). Two
 * passes starting from the joint projection's e: the first frees each member
 * from its own pull on the fit, the second frees the others from a rogue's.
 * Then coef and recon are refitted on z − e with all members. */
static int loo_refine(const struct peer_cfg *c, struct parts *p, size_t m, const uint8_t *ready)
{
	const double *L = p->core;
	size_t r = c->core.r;
	int rc;

	for (size_t a = 0; a < r; a++)
		for (size_t b = 0; b < r; b++) {
			double v = 0;
			for (size_t i = 0; i < m; i++)
				v += L[i * r + a] * L[i * r + b];
			p->G[a * r + b] = v;
		}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t a = 0; a < r; a++) {
			double v = 0;
			for (size_t i = 0; i < m; i++)
				v += L[i * r + a] * (p->z[i] - p->e[i]);
			p->h[a] = v;
		}
		for (size_t i = 0; i < m; i++) {
			const double *li = L + i * r;
			double pr = 0;
			if (!ready[i])
				continue;
			for (size_t a = 0; a < r; a++) {
				for (size_t b = 0; b < r; b++)
					p->M[a * r + b] =
						p->G[a * r + b] - li[a] * li[b] + (a == b ? c->lambda1 : 0.0);
				p->ci[a] = p->h[a] - li[a] * (p->z[i] - p->e[i]);
			}
			if ((rc = spd_solve(p->M, p->ci, r)) != 0)
				return rc;
			for (size_t a = 0; a < r; a++)
				pr += li[a] * p->ci[a];
			p->pred[i] = pr;
		}
		for (size_t i = 0; i < m; i++)
			p->e[i] = ready[i] ? det_soft(p->z[i] - p->pred[i], c->lambda2) : 0.0;
	}
	for (size_t a = 0; a < r; a++) {
		double v = 0;
		for (size_t i = 0; i < m; i++)
			v += L[i * r + a] * (p->z[i] - p->e[i]);
		p->coef[a] = v;
		for (size_t b = 0; b < r; b++)
			p->M[a * r + b] = p->G[a * r + b] + (a == b ? c->lambda1 : 0.0);
	}
	if ((rc = spd_solve(p->M, p->coef, r)) != 0)
		return rc;
	for (size_t i = 0; i < m; i++) {
		double v = 0;
		for (size_t a = 0; a < r; a++)
			v += L[i * r + a] * p->coef[a];
		p->recon[i] = v;
	}
	for (size_t i = 0; i < m; i++)
		if (!isfinite(p->e[i]) || !isfinite(p->recon[i]) || !isfinite(p->pred[i]))
			return -VIGIL_ENUMERIC;
	return 0;
}

static void nan_result(struct det_result *out)
{
	out->score = NAN;
	out->expected = NAN;
	out->lower = NAN;
	out->upper = NAN;
}

static int peer_update(const void *cfgp, void *statep, double ts, size_t n, const double *x,
		       const uint8_t *present, struct det_result *out)
{
	const struct peer_cfg *c = cfgp;
	struct peer_state *s = statep;
	struct parts p = parts_of(c, s->d);
	size_t r = c->core.r, nready = 0;
	uint8_t *ready = (uint8_t *)(p.work + orpca_work_len(&c->core));
	struct orpca_cfg k;
	int rc, it;

	(void)ts; /* the engine aligned the tick; the model has no phase */
	for (size_t i = 0; i < n; i++)
		nan_result(&out[i]);
	if (n < 1 || n > c->core.m || n < s->n)
		return -VIGIL_EINVAL;
	for (size_t i = s->n; i < n; i++)
		p.loc[i] = p.mad[i] = p.cnt[i] = p.prev[i] = 0;
	s->n = (uint32_t)n;
	if (n < r)
		goto fold; /* too few slots for the rank: normalise only */
	k = core_for(c, n);
	if (s->m == 0) {
		if ((rc = orpca_init(&k, p.core, p.work, PEER_SEED)) != 0)
			return rc;
		s->m = (uint32_t)n;
	} else if (s->m < n) {
		core_grow(c, p.core, s->m, n);
		s->m = (uint32_t)n;
	}
	for (size_t i = 0; i < n; i++) {
		if (present[i] && isfinite(x[i]) && p.cnt[i] >= NORM_START) {
			p.z[i] = (x[i] - p.loc[i]) / scale_of(p.loc[i], p.mad[i]);
			nready++;
		} else {
			p.z[i] = p.prev[i];
		}
	}
	if (nready == 0)
		goto fold;
	if ((rc = orpca_project(&k, p.core, p.work, p.z, p.e, p.recon, p.coef, &it)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		ready[i] = present[i] && isfinite(x[i]) && p.cnt[i] >= NORM_START;
	if ((rc = loo_refine(c, &p, n, ready)) != 0)
		return rc;
	if ((rc = orpca_learn(&k, p.core, p.work, p.z, p.e, p.coef)) != 0)
		return rc;
	s->ticks++;
	for (size_t i = 0; i < n; i++) {
		if (ready[i] && s->ticks > (uint64_t)c->warmup && p.cnt[i] >= c->warmup) {
			double sc = scale_of(p.loc[i], p.mad[i]), half = (c->lambda2 + c->k) * sc;
			out[i].score = fmin(1.0, fabs(p.e[i]) / (2.0 * c->k));
			out[i].expected = p.loc[i] + sc * p.pred[i];
			out[i].lower = out[i].expected - half;
			out[i].upper = out[i].expected + half;
		}
		p.prev[i] = p.recon[i];
	}
fold:
	for (size_t i = 0; i < n; i++)
		if (present[i] && isfinite(x[i]))
			norm_update(c, &p, i, x[i]);
	return 0;
}

/* Saved body: ticks u64, m u32, n u32, the core state for dimension m
 * (none when m = 0), then loc, mad, cnt, prev of the n slots. */
static int peer_save(const void *cfgp, const void *statep, struct buf *out)
{
	const struct peer_cfg *c = cfgp;
	const struct peer_state *s = statep;
	struct parts p = parts_of(c, (double *)(uintptr_t)s->d);
	struct orpca_cfg k = core_for(c, s->m);
	size_t nc = s->m ? orpca_state_len(&k) : 0;

	buf_put_u64(out, s->ticks);
	buf_put_u32(out, s->m);
	buf_put_u32(out, s->n);
	for (size_t i = 0; i < nc; i++)
		buf_put_f64(out, p.core[i]);
	for (size_t i = 0; i < s->n; i++) {
		buf_put_f64(out, p.loc[i]);
		buf_put_f64(out, p.mad[i]);
		buf_put_f64(out, p.cnt[i]);
		buf_put_f64(out, p.prev[i]);
	}
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

static int peer_load(const void *cfgp, void *statep, const uint8_t *data, size_t len)
{
	const struct peer_cfg *c = cfgp;
	struct peer_state *s = statep;
	struct parts p = parts_of(c, s->d);
	struct reader rd = reader_of(data, len);
	struct orpca_cfg k;
	size_t nc;

	s->ticks = rd_u64(&rd);
	s->m = rd_u32(&rd);
	s->n = rd_u32(&rd);
	if (!reader_ok(&rd) || s->n > c->core.m || s->m > s->n || (s->m != 0 && s->m < c->core.r))
		return -VIGIL_EINVAL;
	k = core_for(c, s->m);
	nc = s->m ? orpca_state_len(&k) : 0;
	if (rd.left != (nc + 4 * (size_t)s->n) * sizeof(double))
		return -VIGIL_EINVAL;
	for (size_t i = 0; i < nc; i++)
		p.core[i] = rd_f64(&rd);
	for (size_t i = 0; i < s->n; i++) {
		p.loc[i] = rd_f64(&rd);
		p.mad[i] = rd_f64(&rd);
		p.cnt[i] = rd_f64(&rd);
		p.prev[i] = rd_f64(&rd);
		if (!isfinite(p.loc[i]) || !(p.mad[i] >= 0) || !isfinite(p.mad[i]) || !(p.cnt[i] >= 0) ||
		    !(p.cnt[i] < 1e18) || !isfinite(p.prev[i]))
			return -VIGIL_EINVAL;
	}
	if (!reader_ok(&rd) || rd.left != 0)
		return -VIGIL_EINVAL;
	return s->m ? orpca_state_check(&k, p.core) : 0;
}

/* A lone series has no peers: no opinion (the engine never calls this). */
static size_t peer_series_state_size(const void *cfgp)
{
	(void)cfgp;
	return 8;
}

static int peer_series_init(const void *cfgp, void *state)
{
	(void)cfgp;
	(void)state;
	return 0;
}

static int peer_series_update(const void *cfgp, void *state, double ts, double x, struct det_result *out)
{
	(void)cfgp;
	(void)state;
	(void)ts;
	(void)x;
	nan_result(out);
	return 0;
}

const struct group_type grp_peerpca = {
	.det =
		{
			.name = "peerpca",
			.summary = "online robust PCA across a peer group (a rogue member; needs peer_group)",
			.state_version = PEER_STATE_VER,
			.params = peer_params,
			.config_size = sizeof(struct peer_cfg),
			.default_threshold = 0.5,
			.config_check = peer_config_check,
			.state_size = peer_series_state_size,
			.init = peer_series_init,
			.update = peer_series_update,
		},
	.max_members = peer_max_members,
	.state_size = peer_state_size,
	.init = peer_init,
	.update = peer_update,
	.save = peer_save,
	.load = peer_load,
};
