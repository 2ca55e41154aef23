/* OR-PCA engine: online robust PCA by stochastic optimisation (Feng, Xu, Yan,
 * NIPS 2013), as written in ../shared/docs/detectors.md §5. One engine serves
 * several detectors: the lag-embedded window of one series (orpca.c) and,
 * later, a peer group (one coordinate per member series at an aligned tick).
 *
 * Model: z ≈ L·c + e with L (m×r) a basis, c (r) per-sample coefficients and
 * e (m) a sparse part. Per sample:
 *   project: c = (LᵀL + λ1·I)⁻¹Lᵀ(z − e), e = soft(z − L·c, λ2), alternated
 *            until max(‖Δc‖, ‖Δe‖)/‖z‖ < tol or max_iter iterations;
 *   learn:   A ← ρA + c·cᵀ, B ← ρB + (z − e)·cᵀ, then a block-coordinate
 *            column update of L with each column normalised to ‖l_j‖ ≤ 1.
 *
 * Memory: nothing is allocated. The persistent state is one caller-owned
 * array of orpca_state_len() doubles laid out as
 *   L (m×r, row-major) | A (r×r, row-major) | B (m×r, row-major)
 * so a detector can keep it inline in its fixed-size state block and save it
 * as plain doubles. Each call also needs a scratch array of orpca_work_len()
 * doubles (contents irrelevant between calls, never saved).
 *
 * Peer-group use: put member i in coordinate i (stable slots), normalise each
 * member before the call, read e[i] (sparse part, in those units) and
 * recon[i] ((L·c)_i). To fill a missing member, call orpca_project() on a
 * vector where it holds the previous tick's reconstruction, or use the coef
 * output with orpca_reconstruct(); score only the members observed; call
 * orpca_learn() with the same z, e, coef when the tick is accepted.
 *
 * Errors: every function returns 0 or a negative -VIGIL_E*. -VIGIL_EINVAL
 * for a non-finite z; -VIGIL_ENUMERIC for a GSL failure or a non-finite
 * result. On any error the state array is unchanged and outputs are NaN.
 * @thread a cfg is read-only; a state and its work array belong to one thread
 * at a time. GSL must run with gsl_set_error_handler_off(). */
#ifndef DETECTORS_ORPCA_CORE_H
#define DETECTORS_ORPCA_CORE_H

#include <stddef.h>
#include <stdint.h>

#define ORPCA_MAX_DIM  4096 /* m */
#define ORPCA_MAX_RANK 16   /* r */

struct orpca_cfg {
	size_t m;       /* vector dimension, 1..ORPCA_MAX_DIM */
	size_t r;       /* rank, 1..min(m, ORPCA_MAX_RANK) */
	double lambda1; /* > 0: ridge on L and c (keeps Ã_jj > 0) */
	double lambda2; /* >= 0: soft threshold at which a coordinate turns sparse */
	double rho;     /* forgetting factor of A and B, in (0, 1]; 1 - 1/horizon */
	double tol;     /* projection stopping tolerance, > 0 (doc: 1e-6) */
	int max_iter;   /* cap on projection iterations, >= 1 */
};

/* Check a cfg; fills err ("orpca: ...") and returns -VIGIL_EINVAL if bad. */
int orpca_cfg_check(const struct orpca_cfg *c, char *err, size_t errlen);

/* Fill *c from a detector's parameters (dimension m, rank r, lambda1,
 * lambda2, subspace horizon in samples, max_iter): rho = 1 - 1/horizon
 * (1e-12 for horizon 1: forget almost everything), tol = 1e-6; then
 * orpca_cfg_check(). Shared by the OR-PCA detectors' config checks. */
int orpca_cfg_derive(struct orpca_cfg *c, size_t m, size_t r, double lambda1, double lambda2, double horizon,
		     int max_iter, char *err, size_t errlen);

/* Parameter-table rows (struct param_spec, core/params.h) shared by the
 * OR-PCA detectors, so every one of them offers the engine's parameters with
 * the same names, defaults and bounds. CFG is the detector's config struct;
 * it needs the fields int rank, max_iter and double lambda1, lambda2,
 * horizon, norm_horizon, k. The string arguments complete each detector's
 * help text: RANK_BOUND what bounds the rank ("lag"), SPARSE what turns
 * sparse ("coordinate"), SAMPLE what the subspace horizon and max_iter count
 * ("point" / "tick"), NORM_OF whose robust location/scale ("the").
 * ORPCA_PARAM_ROWS gives rank, lambda1, lambda2, horizon, norm_horizon, k;
 * ORPCA_PARAM_MAX_ITER gives max_iter (listed after each detector's warmup). */
// clang-format off
#define ORPCA_PARAM_ROWS(CFG, RANK_BOUND, SPARSE, SAMPLE, NORM_OF)                        \
	{.name = "rank",                                                                  \
	 .kind = PARAM_INT,                                                               \
	 .def = "2",                                                                      \
	 .offset = offsetof(CFG, rank),                                                   \
	 .help = "subspace rank r (<= " RANK_BOUND ")",                                   \
	 .min = 1,                                                                        \
	 .max = ORPCA_MAX_RANK},                                                          \
	{.name = "lambda1",                                                               \
	 .kind = PARAM_DOUBLE,                                                            \
	 .def = "0.01",                                                                   \
	 .offset = offsetof(CFG, lambda1),                                                \
	 .help = "ridge on basis and coefficients (> 0)",                                 \
	 .min = 1e-9,                                                                     \
	 .max = 1e3},                                                                     \
	{.name = "lambda2",                                                               \
	 .kind = PARAM_DOUBLE,                                                            \
	 .def = "1",                                                                      \
	 .offset = offsetof(CFG, lambda2),                                                \
	 .help = "robust z above which a " SPARSE " turns sparse",                        \
	 .min = 0,                                                                        \
	 .max = 1e3},                                                                     \
	{.name = "horizon",                                                               \
	 .kind = PARAM_DOUBLE,                                                            \
	 .def = "1000",                                                                   \
	 .offset = offsetof(CFG, horizon),                                                \
	 .help = "forgetting horizon of the subspace (" SAMPLE "s; rho = 1 - 1/horizon)", \
	 .min = 1,                                                                        \
	 .max = 1e12},                                                                    \
	{.name = "norm_horizon",                                                          \
	 .kind = PARAM_DOUBLE,                                                            \
	 .def = "500",                                                                    \
	 .offset = offsetof(CFG, norm_horizon),                                           \
	 .help = "horizon of " NORM_OF " robust location/scale (points)",                 \
	 .min = 1,                                                                        \
	 .max = 1e12},                                                                    \
	{.name = "k",                                                                     \
	 .kind = PARAM_DOUBLE,                                                            \
	 .def = "2",                                                                      \
	 .offset = offsetof(CFG, k),                                                      \
	 .help = "sparse part (robust z) at which the score reaches 0.5",                 \
	 .min = 1e-6,                                                                     \
	 .max = 1e6}
#define ORPCA_PARAM_MAX_ITER(CFG, SAMPLE)                    \
	{.name = "max_iter",                                 \
	 .kind = PARAM_INT,                                  \
	 .def = "100",                                       \
	 .offset = offsetof(CFG, max_iter),                  \
	 .help = "cap on projection iterations per " SAMPLE, \
	 .min = 1,                                           \
	 .max = 100000}
// clang-format on

/* Doubles of persistent state (2·m·r + r²) and of scratch for one call. */
size_t orpca_state_len(const struct orpca_cfg *c);
size_t orpca_work_len(const struct orpca_cfg *c);

/* Pointers into a state array (layout above). */
static inline double *orpca_L(const struct orpca_cfg *c, double *st)
{
	(void)c;
	return st;
}
static inline double *orpca_A(const struct orpca_cfg *c, double *st)
{
	return st + c->m * c->r;
}
static inline double *orpca_B(const struct orpca_cfg *c, double *st)
{
	return st + c->m * c->r + c->r * c->r;
}

/* Start a model: L0 = Q of the thin QR of an m×r matrix of standard normal
 * draws from a fixed generator seeded by seed (same seed, same L0 on every
 * machine), A = B = 0. A burn-in is simply the first samples fed through
 * orpca_update() with their outputs ignored. */
int orpca_init(const struct orpca_cfg *c, double *st, double *work, uint64_t seed);

/* Project z (m doubles, finite) on the current basis without learning.
 * Outputs (each may be NULL, none may alias z): e (m) sparse part,
 * recon (m) = L·c, coef (r) = c, iters = projection iterations used. */
int orpca_project(const struct orpca_cfg *c, const double *st, double *work, const double *z, double *e,
		  double *recon, double *coef, int *iters);

/* Learn from a projected sample (z, e, coef as orpca_project returned them):
 * update A, B and L. The new state is checked (all finite, ‖l_j‖ ≤ 1) before
 * it replaces the old one. */
int orpca_learn(const struct orpca_cfg *c, double *st, double *work, const double *z, const double *e,
		const double *coef);

/* orpca_project() then orpca_learn(); outputs are those of the projection
 * (made with the basis before this sample was learnt). */
int orpca_update(const struct orpca_cfg *c, double *st, double *work, const double *z, double *e,
		 double *recon, double *coef, int *iters);

/* recon (m) = L·coef. Cannot fail. */
void orpca_reconstruct(const struct orpca_cfg *c, const double *st, const double *coef, double *recon);

/* 0 if st is a state this engine could have produced (all finite, column
 * norms of L ≤ 1 + 1e-9, diag(A) ≥ 0), else -VIGIL_EINVAL. For load(). */
int orpca_state_check(const struct orpca_cfg *c, const double *st);

#endif
