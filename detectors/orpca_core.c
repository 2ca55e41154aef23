/* OR-PCA engine, see orpca_core.h and ../shared/docs/detectors.md §5. */
#include "detectors/orpca_core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "core/vigil.h"
#include "detectors/detector.h"

/* Scratch layout (doubles):
 *   M r² (Cholesky of LᵀL + λ1 I) | At r² (Ã) | A2 r² | L2 m·r | B2 m·r |
 *   e m | ep m | t m | cv r | cp r | y r | tau r */
struct work {
	double *M, *At, *A2, *L2, *B2, *e, *ep, *t, *cv, *cp, *y, *tau;
};

static struct work work_of(const struct orpca_cfg *c, double *w)
{
	struct work k;
	size_t m = c->m, r = c->r;

	k.M = w;
	k.At = k.M + r * r;
	k.A2 = k.At + r * r;
	k.L2 = k.A2 + r * r;
	k.B2 = k.L2 + m * r;
	k.e = k.B2 + m * r;
	k.ep = k.e + m;
	k.t = k.ep + m;
	k.cv = k.t + m;
	k.cp = k.cv + r;
	k.y = k.cp + r;
	k.tau = k.y + r;
	return k;
}

size_t orpca_state_len(const struct orpca_cfg *c)
{
	return 2 * c->m * c->r + c->r * c->r;
}

size_t orpca_work_len(const struct orpca_cfg *c)
{
	return 3 * c->r * c->r + 2 * c->m * c->r + 3 * c->m + 4 * c->r;
}

int orpca_cfg_check(const struct orpca_cfg *c, char *err, size_t errlen)
{
	if (c->m < 1 || c->m > ORPCA_MAX_DIM) {
		snprintf(err, errlen, "orpca: dimension %zu outside [1, %d]", c->m, ORPCA_MAX_DIM);
		return -VIGIL_EINVAL;
	}
	if (c->r < 1 || c->r > ORPCA_MAX_RANK || c->r > c->m) {
		snprintf(err, errlen, "orpca: rank %zu outside [1, min(dimension %zu, %d)]", c->r, c->m,
			 ORPCA_MAX_RANK);
		return -VIGIL_EINVAL;
	}
	if (!(c->lambda1 > 0) || !isfinite(c->lambda1)) {
		snprintf(err, errlen, "orpca: lambda1 must be a finite number > 0");
		return -VIGIL_EINVAL;
	}
	if (!(c->lambda2 >= 0) || !isfinite(c->lambda2)) {
		snprintf(err, errlen, "orpca: lambda2 must be a finite number >= 0");
		return -VIGIL_EINVAL;
	}
	if (!(c->rho > 0 && c->rho <= 1)) {
		snprintf(err, errlen, "orpca: forgetting factor must be in (0, 1]");
		return -VIGIL_EINVAL;
	}
	if (!(c->tol > 0) || !isfinite(c->tol) || c->max_iter < 1) {
		snprintf(err, errlen, "orpca: tolerance must be > 0 and the iteration cap >= 1");
		return -VIGIL_EINVAL;
	}
	return 0;
}

int orpca_cfg_derive(struct orpca_cfg *c, size_t m, size_t r, double lambda1, double lambda2, double horizon,
		     int max_iter, char *err, size_t errlen)
{
	c->m = m;
	c->r = r;
	c->lambda1 = lambda1;
	c->lambda2 = lambda2;
	c->rho = 1.0 - 1.0 / horizon;
	if (!(c->rho > 0))
		c->rho = 1e-12; /* horizon 1: forget (almost) everything */
	c->tol = 1e-6;
	c->max_iter = max_iter;
	return orpca_cfg_check(c, err, errlen);
}

/* splitmix64: a small fixed generator, so L0 is the same everywhere. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0. */
static double unif(uint64_t *s)
{
	return ((double)(splitmix64(s) >> 11) + 0.5) * 0x1.0p-53;
}

static int all_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

static void fill_nan(double *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = NAN;
}

int orpca_init(const struct orpca_cfg *c, double *st, double *work, uint64_t seed)
{
	struct work k = work_of(c, work);
	size_t m = c->m, r = c->r;
	gsl_matrix_view qr = gsl_matrix_view_array(k.L2, m, r);
	gsl_vector_view tau = gsl_vector_view_array(k.tau, r);
	gsl_vector_view v = gsl_vector_view_array(k.t, m);
	double *L = orpca_L(c, st);
	uint64_t s = seed;

	/* Box-Muller pairs of standard normals. */
	for (size_t i = 0; i < m * r; i += 2) {
		double u1 = unif(&s), u2 = unif(&s), rad = sqrt(-2.0 * log(u1));
		k.L2[i] = rad * cos(2 * M_PI * u2);
		if (i + 1 < m * r)
			k.L2[i + 1] = rad * sin(2 * M_PI * u2);
	}
	if (gsl_linalg_QR_decomp(&qr.matrix, &tau.vector) != GSL_SUCCESS)
		return -VIGIL_ENUMERIC;
	/* Column j of the thin Q is Q·e_j. Written into B's slot first so that
	 * a failure leaves st unchanged, then moved to L. */
	for (size_t j = 0; j < r; j++) {
		gsl_vector_set_zero(&v.vector);
		gsl_vector_set(&v.vector, j, 1.0);
		if (gsl_linalg_QR_Qvec(&qr.matrix, &tau.vector, &v.vector) != GSL_SUCCESS)
			return -VIGIL_ENUMERIC;
		for (size_t i = 0; i < m; i++)
			k.B2[i * r + j] = k.t[i];
	}
	if (!all_finite(k.B2, m * r))
		return -VIGIL_ENUMERIC;
	memcpy(L, k.B2, m * r * sizeof *L);
	memset(orpca_A(c, st), 0, r * r * sizeof *st);
	memset(orpca_B(c, st), 0, m * r * sizeof *st);
	return 0;
}

void orpca_reconstruct(const struct orpca_cfg *c, const double *st, const double *coef, double *recon)
{
	gsl_matrix_const_view L = gsl_matrix_const_view_array(st, c->m, c->r);
	gsl_vector_const_view cv = gsl_vector_const_view_array(coef, c->r);
	gsl_vector_view out = gsl_vector_view_array(recon, c->m);

	gsl_blas_dgemv(CblasNoTrans, 1.0, &L.matrix, &cv.vector, 0.0, &out.vector);
}

/* The projection into the work arrays: k.cv = c, k.e = e, k.t = L·c. */
static int project(const struct orpca_cfg *c, const double *st, struct work *k, const double *z, int *iters)
{
	size_t m = c->m, r = c->r;
	gsl_matrix_const_view L = gsl_matrix_const_view_array(orpca_L(c, (double *)st), m, r);
	gsl_matrix_view M = gsl_matrix_view_array(k->M, r, r);
	gsl_vector_view t = gsl_vector_view_array(k->t, m);
	gsl_vector_view y = gsl_vector_view_array(k->y, r);
	gsl_vector_view cv = gsl_vector_view_array(k->cv, r);
	double nz = 0;
	int it;

	if (!all_finite(z, m))
		return -VIGIL_EINVAL;
	if (gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &L.matrix, &L.matrix, 0.0, &M.matrix) !=
	    GSL_SUCCESS)
		return -VIGIL_ENUMERIC;
	for (size_t j = 0; j < r; j++)
		k->M[j * r + j] += c->lambda1;
	if (gsl_linalg_cholesky_decomp1(&M.matrix) != GSL_SUCCESS)
		return -VIGIL_ENUMERIC;
	for (size_t i = 0; i < m; i++) {
		nz += z[i] * z[i];
		k->e[i] = 0.0;
	}
	nz = sqrt(nz);
	memset(k->cv, 0, r * sizeof *k->cv);
	for (it = 1;; it++) {
		double dc = 0, de = 0;

		memcpy(k->cp, k->cv, r * sizeof *k->cp);
		memcpy(k->ep, k->e, m * sizeof *k->ep);
		for (size_t i = 0; i < m; i++)
			k->t[i] = z[i] - k->e[i];
		/* c = (LᵀL + λ1 I)⁻¹ Lᵀ (z − e) */
		if (gsl_blas_dgemv(CblasTrans, 1.0, &L.matrix, &t.vector, 0.0, &y.vector) != GSL_SUCCESS ||
		    gsl_linalg_cholesky_solve(&M.matrix, &y.vector, &cv.vector) != GSL_SUCCESS)
			return -VIGIL_ENUMERIC;
		/* e = soft(z − L c, λ2) */
		if (gsl_blas_dgemv(CblasNoTrans, 1.0, &L.matrix, &cv.vector, 0.0, &t.vector) != GSL_SUCCESS)
			return -VIGIL_ENUMERIC;
		for (size_t i = 0; i < m; i++) {
			k->e[i] = det_soft(z[i] - k->t[i], c->lambda2);
			de += (k->e[i] - k->ep[i]) * (k->e[i] - k->ep[i]);
		}
		for (size_t j = 0; j < r; j++)
			dc += (k->cv[j] - k->cp[j]) * (k->cv[j] - k->cp[j]);
		if (!(fmax(sqrt(dc), sqrt(de)) > c->tol * nz) || it >= c->max_iter)
			break;
	}
	if (!all_finite(k->cv, r) || !all_finite(k->e, m) || !all_finite(k->t, m))
		return -VIGIL_ENUMERIC;
	if (iters)
		*iters = it;
	return 0;
}

/* On failure the outputs read NaN (and *iters 0). */
static void outputs_nan(const struct orpca_cfg *c, double *e, double *recon, double *coef, int *iters)
{
	fill_nan(e, c->m);
	fill_nan(recon, c->m);
	fill_nan(coef, c->r);
	if (iters)
		*iters = 0;
}

/* project() and copy its results to the optional outputs (NaN on failure). */
static int project_out(const struct orpca_cfg *c, const double *st, struct work *k, const double *z,
		       double *e, double *recon, double *coef, int *iters)
{
	int rc = project(c, st, k, z, iters);

	if (rc != 0) {
		outputs_nan(c, e, recon, coef, iters);
		return rc;
	}
	if (e)
		memcpy(e, k->e, c->m * sizeof *e);
	if (recon)
		memcpy(recon, k->t, c->m * sizeof *recon);
	if (coef)
		memcpy(coef, k->cv, c->r * sizeof *coef);
	return 0;
}

int orpca_project(const struct orpca_cfg *c, const double *st, double *work, const double *z, double *e,
		  double *recon, double *coef, int *iters)
{
	struct work k = work_of(c, work);
	return project_out(c, st, &k, z, e, recon, coef, iters);
}

/* Learn into k->A2, k->B2, k->L2; st is only read. */
static int learn(const struct orpca_cfg *c, const double *st, struct work *k, const double *z,
		 const double *e, const double *cf)
{
	size_t m = c->m, r = c->r;
	const double *A = st + m * r, *B = A + r * r;
	gsl_matrix_view L2 = gsl_matrix_view_array(k->L2, m, r);
	gsl_vector_view t = gsl_vector_view_array(k->t, m);

	if (!all_finite(z, m) || !all_finite(e, m) || !all_finite(cf, r))
		return -VIGIL_EINVAL;
	/* A ← ρA + c cᵀ; B ← ρB + (z − e) cᵀ; Ã = A + λ1 I */
	for (size_t i = 0; i < r; i++)
		for (size_t j = 0; j < r; j++) {
			k->A2[i * r + j] = c->rho * A[i * r + j] + cf[i] * cf[j];
			k->At[i * r + j] = k->A2[i * r + j] + (i == j ? c->lambda1 : 0.0);
		}
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < r; j++)
			k->B2[i * r + j] = c->rho * B[i * r + j] + (z[i] - e[i]) * cf[j];
	memcpy(k->L2, orpca_L(c, (double *)st), m * r * sizeof *k->L2);
	/* l_j ← l_j + (b_j − L ã_j)/Ã_jj, then l_j ← l_j / max(‖l_j‖, 1); the
	 * columns are updated in turn, each seeing the ones already updated. */
	for (size_t j = 0; j < r; j++) {
		gsl_vector_view aj = gsl_vector_view_array_with_stride(k->At + j, r, r);
		double ajj = k->At[j * r + j], nrm = 0;

		if (!(ajj > 0))
			return -VIGIL_ENUMERIC;
		if (gsl_blas_dgemv(CblasNoTrans, 1.0, &L2.matrix, &aj.vector, 0.0, &t.vector) != GSL_SUCCESS)
			return -VIGIL_ENUMERIC;
		for (size_t i = 0; i < m; i++) {
			k->t[i] = k->L2[i * r + j] + (k->B2[i * r + j] - k->t[i]) / ajj;
			nrm += k->t[i] * k->t[i];
		}
		nrm = fmax(sqrt(nrm), 1.0);
		for (size_t i = 0; i < m; i++)
			k->L2[i * r + j] = k->t[i] / nrm;
	}
	if (!all_finite(k->A2, r * r) || !all_finite(k->B2, m * r) || !all_finite(k->L2, m * r))
		return -VIGIL_ENUMERIC;
	return 0;
}

static void commit(const struct orpca_cfg *c, double *st, const struct work *k)
{
	memcpy(orpca_L(c, st), k->L2, c->m * c->r * sizeof *st);
	memcpy(orpca_A(c, st), k->A2, c->r * c->r * sizeof *st);
	memcpy(orpca_B(c, st), k->B2, c->m * c->r * sizeof *st);
}

int orpca_learn(const struct orpca_cfg *c, double *st, double *work, const double *z, const double *e,
		const double *coef)
{
	struct work k = work_of(c, work);
	int rc = learn(c, st, &k, z, e, coef);

	if (rc == 0)
		commit(c, st, &k);
	return rc;
}

int orpca_update(const struct orpca_cfg *c, double *st, double *work, const double *z, double *e,
		 double *recon, double *coef, int *iters)
{
	struct work k = work_of(c, work);
	/* Outputs are copied first: they belong to the old basis, and learn()
	 * reuses k.t. */
	int rc = project_out(c, st, &k, z, e, recon, coef, iters);

	if (rc == 0)
		rc = learn(c, st, &k, z, k.e, k.cv);
	if (rc != 0) {
		outputs_nan(c, e, recon, coef, iters);
		return rc;
	}
	commit(c, st, &k);
	return 0;
}

int orpca_state_check(const struct orpca_cfg *c, const double *st)
{
	size_t m = c->m, r = c->r;

	if (!all_finite(st, orpca_state_len(c)))
		return -VIGIL_EINVAL;
	for (size_t j = 0; j < r; j++) {
		double nrm = 0;
		for (size_t i = 0; i < m; i++)
			nrm += st[i * r + j] * st[i * r + j];
		if (sqrt(nrm) > 1.0 + 1e-9)
			return -VIGIL_EINVAL;
		if (st[m * r + j * r + j] < 0)
			return -VIGIL_EINVAL;
	}
	return 0;
}
