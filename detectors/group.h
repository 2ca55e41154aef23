/* Group detectors: one model over the aligned ticks of a peer group of series
 * (../shared/docs/detectors.md §5, use 1), as opposed to the per-series
 * detectors of detector.h. A rule selects one with `detector: <name>` plus a
 * `peer_group:` section (rules/load.c); the engine aligns the members' points
 * into ticks and calls update() once per closed tick.
 *
 * Registry: group detectors have their own table (detectors/group.c), not
 * det_all(), so `detector: <name>` for a per-series rule still only accepts
 * per-series detectors. Each group type embeds a struct detector_type that
 * carries its name, summary, parameter table, config size, config_check and
 * default threshold, so a rule's `struct detector det` (type + config) is
 * built by group_det_new() and freed by det_free() like any other; that
 * embedded type's per-series update() answers "no opinion" (a lone series
 * has no peers) and the engine never calls it. group_of(det.type) tells a
 * group detector from a per-series one.
 *
 * Members: a group state has room for max_members(cfg) (K) member slots.
 * The caller gives members stable slots 0, 1, 2, ... in arrival order and
 * passes n = slots in use; n may grow between calls, never shrink. A member
 * the caller has no value for at a tick is "absent" (present[i] = 0): the
 * model fills it (no score, NaN result) and it does not block the others.
 *
 * Memory: one fixed-size block per group (state_size(cfg)), zeroed by the
 * caller before init(); it holds scratch too, so update() allocates nothing.
 * @thread a config is read-only and may be shared; a group state belongs to
 * one thread at a time. */
#ifndef DETECTORS_GROUP_H
#define DETECTORS_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "detectors/detector.h"

struct group_type {
	struct detector_type det; /* name, params, config, threshold (see above) */
	/* K: member slots a group state has room for. Required. */
	size_t (*max_members)(const void *cfg);
	/* Bytes of one group's state. Required. */
	size_t (*state_size)(const void *cfg);
	/* Initialise a zeroed state block. Required. Returns 0 or -VIGIL_E*. */
	int (*init)(const void *cfg, void *state);
	/* One closed tick starting at ts: members 0..n-1 (1 <= n <= K), x[i]
	 * read only when present[i]. out[0..n) is always fully written (score in
	 * [0, 1] or NaN = no opinion, expected, band, in the member's units).
	 * Returns 0, or -VIGIL_E* with the state unchanged (outputs NaN). */
	int (*update)(const void *cfg, void *state, double ts, size_t n, const double *x,
		      const uint8_t *present, struct det_result *out);
	/* Serialise / restore; load() gets a zeroed state and refuses
	 * (-VIGIL_EINVAL) data it cannot fully consume. Required. */
	int (*save)(const void *cfg, const void *state, struct buf *out);
	int (*load)(const void *cfg, void *state, const uint8_t *data, size_t len);
};

/* The group type a detector type belongs to, or NULL for a per-series one. */
const struct group_type *group_of(const struct detector_type *t);
/* Look up a group detector by name; NULL if none. */
const struct group_type *group_find(const char *name);
const struct group_type *const *group_all(void); /* NULL-terminated */

/* Like det_new() for a group detector: *out gets the embedded type and an
 * owned config (free with det_free()). -VIGIL_ENOENT if name is not a group
 * detector; -VIGIL_EINVAL / -VIGIL_ENOMEM with err filled otherwise. */
int group_det_new(const char *name, const struct kv *set, size_t nset, struct detector *out, char *err,
		  size_t errlen);

/* Versioned envelope around save()/load(): u32 magic, u32 state_version,
 * type name, u32 length, body. On a load error the state is left freshly
 * initialised and -VIGIL_EINVAL / -VIGIL_EVERSION is returned. */
int group_state_save(const struct group_type *g, const void *cfg, const void *state, struct buf *out);
int group_state_load(const struct group_type *g, const void *cfg, void *state, const uint8_t *data,
		     size_t len);

#endif
