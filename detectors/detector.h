/* The detector interface: one per-series statistical model behind a small
 * vtable, registered in detectors/registry.c (one line per detector).
 *
 * Split of memory: a *config* (parameters, shared by every series a rule
 * watches) and a per-series *state* of a fixed size that the caller allocates
 * (zeroed) and owns. A detector should keep its whole state inside that block
 * (rings sized from the config included) so that a series costs one
 * allocation or none; if it must allocate, fini() frees it.
 *
 * Contracts shared by all detectors (see ../shared/docs/detectors.md §0):
 *  - time is an argument (epoch seconds); phases derive from ts, not counters;
 *  - non-finite input never enters the state (it counts as a gap);
 *  - warm-up means "no opinion": score NaN;
 *  - update() is causal: its output depends only on inputs up to this call;
 *  - save/load round-trips exactly: save -> load -> continue == uninterrupted.
 * @thread a config is read-only after creation and may be shared across
 * threads; a state belongs to one thread at a time. */
#ifndef DETECTORS_DETECTOR_H
#define DETECTORS_DETECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/params.h"
#include "core/vigil.h"

/* What one update says about the point just fed. NaN means "not known". */
struct det_result {
	double score;    /* anomaly score in [0, 1]; NaN while warming up or on a gap */
	double expected; /* the model's expected value for this point */
	double lower;    /* band known before the point arrived */
	double upper;
};

struct detector_type {
	const char *name;
	const char *summary;             /* one line for `vigil help detectors` */
	uint32_t state_version;          /* bump when the state layout changes */
	const struct param_spec *params; /* { .name = NULL }-terminated */
	size_t config_size;              /* bytes of the config struct params fill */
	double default_threshold;        /* score at/above which a rule calls a point anomalous */

	/* Derive and check config after params were applied. Optional (NULL). */
	int (*config_check)(void *cfg, char *err, size_t errlen);
	/* Bytes of per-series state for this config. Required. */
	size_t (*state_size)(const void *cfg);
	/* Initialise a zeroed state block. Required. Returns 0 or -VIGIL_E*. */
	int (*init)(const void *cfg, void *state);
	/* Feed one point. x may be NaN (a gap). out is always fully written.
	 * Returns 0, or -VIGIL_E* with the state unchanged. */
	int (*update)(const void *cfg, void *state, double ts, double x, struct det_result *out);
	/* Serialise / restore the state. Optional: NULL means the state block is
	 * plain data and is copied as it is (then valid(), if set, vets the copy).
	 * load() gets a zeroed state and must refuse (-VIGIL_EINVAL) data it
	 * cannot fully consume. */
	int (*save)(const void *cfg, const void *state, struct buf *out);
	int (*load)(const void *cfg, void *state, const uint8_t *data, size_t len);
	/* For plain-data states (save/load NULL): 1 if a restored block is
	 * internally consistent, 0 to refuse it (the registry then starts a fresh
	 * model). Optional: NULL accepts any block of the right size. */
	int (*valid)(const void *cfg, const void *state);
	/* The sub-model the state scores with now, a static string (for
	 * `vigil detect --why`; holtwinters: "fallback" while the season is
	 * undecided, "holt" when none was found, "seasonal"). Optional: NULL
	 * for a detector with one model. Reads the state only. */
	const char *(*model)(const void *cfg, const void *state);
	/* Free allocations held inside state. Optional. */
	void (*fini)(const void *cfg, void *state);
};

/* A configured detector: type + owned config. */
struct detector {
	const struct detector_type *type;
	void *cfg; /* owned; free with det_free() */
};

/* Registry (detectors/registry.c). det_default_name() is the engine's best. */
const struct detector_type *det_find(const char *name);
const struct detector_type *const *det_all(void); /* NULL-terminated */
const char *det_default_name(void);

/* Build a detector from type name + parameter overrides. On error returns
 * -VIGIL_EINVAL/-VIGIL_ENOENT/-VIGIL_ENOMEM with err filled and *out untouched. */
int det_new(const char *type_name, const struct kv *set, size_t nset, struct detector *out, char *err,
	    size_t errlen);
/* det_new() for a type already looked up (per-series or the type embedded
 * in a group detector): applies the overrides to a fresh config, runs
 * config_check, and on success gives *out the type and the owned config
 * (free with det_free()). On error -VIGIL_EINVAL/-VIGIL_ENOMEM with err
 * filled and *out untouched. Shared by det_new() and group_det_new(). */
int det_new_of(const struct detector_type *t, const struct kv *set, size_t nset, struct detector *out,
	       char *err, size_t errlen);
void det_free(struct detector *d);

/* Generic state helpers over the vtable. */
size_t det_state_size(const struct detector *d);
int det_state_init(const struct detector *d, void *state);
void det_state_fini(const struct detector *d, void *state);
/* Versioned envelope: u32 magic, u32 state_version, type name, u32 length, body. */
int det_state_save(const struct detector *d, const void *state, struct buf *out);
/* On error the state block is left zeroed+initialised (a fresh model). */
int det_state_load(const struct detector *d, void *state, const uint8_t *data, size_t len);

void det_print_help(FILE *f);

/* Soft thresholding (the proximal map of k|v|): v shrunk towards 0 by k,
 * 0 inside [-k, k]. Shared by the robust-PCA detectors. */
/* The largest |value| any detector takes: squares and sums of squares of
 * values up to this stay finite in double precision. A caller (the engine,
 * `vigil detect`) refuses larger values with an error and a counter instead
 * of letting them poison a model. */
#define DET_MAX_ABS 1e150

static inline double det_soft(double v, double k)
{
	if (v > k)
		return v - k;
	if (v < -k)
		return v + k;
	return 0.0;
}

#endif
