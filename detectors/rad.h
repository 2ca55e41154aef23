/* Surus RAD: batch robust PCA of a series folded by period
 * (../shared/docs/detectors.md §6). The streaming detector "rad" (rad.c)
 * refits once per completed period; the batch functions below are exported
 * for tests and backtests.
 * @thread the functions are reentrant; GSL must run with
 * gsl_set_error_handler_off(). */
#ifndef DETECTORS_RAD_H
#define DETECTORS_RAD_H

#include <stddef.h>

#define RAD_MAX_CELLS 20000 /* cap on P·N: the state keeps P·N doubles per series */
#define RAD_MAX_ITER  1000  /* iteration cap (Surus C++) */

/* What a fit found besides L, S, E. */
struct rad_info {
	int iters;   /* iterations run (0 on pass-through) */
	double mean; /* mean and sample sd (n−1) used to z-score X */
	double sd;   /* 0 means pass-through: L = X, S = E = 0 */
	double mu_s; /* μ of the last S step: in original units a cell's S is
		      * non-zero ⇔ |X − L| > lambda_s·mu_s·sd */
};

/* Decompose X = L + S + E. X is P×N column-major (X[j·P + i]: row i a phase,
 * column j a period), all finite. lambda_s > 0, or NAN for the default
 * 1.4/√max(P, N); λ_L = 1. Iterates S = soft(X − L, λ_S μ), L = SVT(X − S, μ)
 * with μ = max(0.01, sd(E)·√(2·max(P, N))) until the objective changes by
 * ≤ 1e-8 of ½‖X‖²_F, or RAD_MAX_ITER. Works on the z-scored X; outputs are in
 * original units: L·sd + mean, S·sd, E·sd. A constant X (sd = 0) passes
 * through. L, S, E (P·N doubles each, may be NULL) must not alias X.
 * Returns 0; -VIGIL_EINVAL (non-finite X, P or N of 0, bad lambda_s);
 * -VIGIL_ENOMEM; -VIGIL_ENUMERIC (SVD failure or non-finite result). On error
 * the outputs are unspecified. */
int rad_decompose(const double *X, size_t P, size_t N, double lambda_s, double *L, double *S, double *E,
		  int *iters);

/* Options of a decomposition: lambda_s as above; lambda_l > 0 the weight of
 * the nuclear-norm penalty (RAD's default 1); scale = 0 works on X − mean in
 * original units instead of z-scoring it (Surus's "no scaling"). */
struct rad_opts {
	double lambda_s, lambda_l;
	int scale;
};

/* rad_decompose() that also reports the scaling and threshold. info may be NULL. */
int rad_decompose_info(const double *X, size_t P, size_t N, double lambda_s, double *L, double *S, double *E,
		       struct rad_info *info);

/* rad_decompose_info() with options (rad_decompose_info = lambda_l 1, scale 1).
 * The mean and sd are computed on X / max|X|, so any finite X works. */
int rad_decompose_opts(const double *X, size_t P, size_t N, const struct rad_opts *opt, double *L, double *S,
		       double *E, struct rad_info *info);

#endif
