/* Internal to the engine (engine.c: series, dispatch, limits, alert events;
 * engine_group.c: peer groups and their tick alignment; engine_ckpt.c:
 * checkpoint encoding). Not for other folders: use engine.h.
 * @thread an engine belongs to one thread. */
#ifndef ENGINE_ENGINE_INT_H
#define ENGINE_ENGINE_INT_H

#include <math.h>
#include <stdint.h>

#include "core/log.h"
#include "detectors/group.h"
#include "engine/engine.h"
#include "engine/series.h"

#include "detectors/group.h"

#define KEY_MAX            4096
#define DEFAULT_MAX_SERIES 1000000
#define ENGINE_MAGIC       0x4e454756u /* "VGEN" */
#define ENGINE_VERSION     4u /* 2: peer groups; 3: a model hash per rule; 4: held point per series */
#define ENGINE_VERSION_MIN 2u /* oldest version engine_load reads */
#define NO_GROUP           UINT32_MAX
#define NAME_CACHE_MAX     262144 /* series names whose candidate rules are kept */
#define REFUSED_GROUP      (UINT32_MAX - 1)
#define TICK_NONE          INT64_MIN

/* Refusals of one owner: points, and the distinct series seen refused as a
 * linear-counting bitmap (REFUSED_BITS bits by key hash, allocated at the
 * owner's first refusal). */
#define REFUSED_BITS (1u << 16)
struct owner_refused {
	uint64_t points;
	uint8_t *bits; /* [REFUSED_BITS / 8] or NULL */
};

struct slot {
	uint32_t rule;
	uint32_t det_off; /* byte offset of the detector state within the block (0 for a group rule) */
	uint32_t group;   /* group rule: index in gtab, NO_GROUP before joining, REFUSED_GROUP */
	uint32_t member;  /* group rule: member slot in the group */
	struct rule_state st;
};

/* A name cache entry: the candidate rules of one series name. */
struct name_rules {
	uint32_t n;
	uint32_t idx[]; /* rule indices, in rule order */
};

/* One member's point buffered for an open tick. */
struct pval {
	double val, ts;
	int64_t pos;
	uint8_t present;
};

struct pend {
	int64_t tick;   /* TICK_NONE: ring slot unused */
	struct pval *v; /* [cap] */
};

struct member {
	uint32_t series; /* index in tab.items */
	int64_t tick;    /* newest tick it reported */
};

struct group {
	uint32_t rule;
	uint32_t n, cap, K, W;
	int64_t last_closed; /* newest closed tick (TICK_NONE before any) */
	int64_t hi;          /* newest tick opened (TICK_NONE before any) */
	double clock;        /* newest member ts seen */
	struct member *mem;  /* [cap] */
	struct pend *pend;   /* [W] */
	void *det;           /* group detector state */
	size_t bytes;
};

struct engine {
	const struct ruleset *rs;
	engine_alert_fn on_alert;
	void *alert_ctx;
	void (*before_point)(void *ctx, struct engine *e, const struct point *p);
	void *hook_ctx;
	size_t max_series;
	double max_future;                   /* 0: no limit */
	double max_skew;                     /* 0: off */
	struct engine_budget *budget;        /* borrowed, may be NULL */
	size_t budget_taken;                 /* bytes of budget->used this engine holds */
	int loading;                         /* eng_load runs: the budget does not refuse */
	double *owner_mem_told;              /* [nowners + 1] data time of the last budget alert; 0 = never */
	struct owner_refused *owner_refused; /* [nowners + 1] refusals per owner (engine_owner_refused) */
	double future_limit;                 /* cached clock_wall() + max_future; refreshed when passed */
	struct series_table tab;
	size_t *owner_series; /* series count per owner index */
	uint8_t *owner_limit_told;
	int global_limit_told;
	size_t block_bytes;
	uint32_t win_cap;         /* chart window points per non-group slot (0 = off) */
	struct alert_point *wbuf; /* [win_cap]: the window of the alert being emitted */
	double now;
	struct engine_stats st;
	struct engine_rule_stats *rstat; /* [rs->nrules] */
	/* the rules whose series glob matches a name, per series name seen
	 * (block: struct name_rules), at most NAME_CACHE_MAX names */
	struct series_table ncache;
	uint32_t *cbuf; /* scratch for a name beyond the cache */
	size_t ccap;
	struct complain reject_complain, limit_complain, group_complain, order_complain, skew_complain;
	uint32_t upd_tick;        /* updates since the last timed one (engine_timing.c) */
	struct series_table gtab; /* peer groups; items[i].block is a struct group */
	size_t maxK;              /* largest max_members of any group rule */
	double *gx;               /* [maxK] scratch for closing a tick */
	uint8_t *gpresent;
	struct det_result *gres;
	/* scratch for the record being decoded */
	const char *cur_source;
	int64_t cur_pos;
	char key[KEY_MAX];
	char mkey_scratch[KEY_MAX + 1]; /* a member's point rebuilt from its key */
};

/* r's detector update on state, timed once every ENGINE_TIME_EVERY calls
 * into e->st.det_time (engine_timing.c). Same contract as the vtable's
 * update(). */
int eng_det_update(struct engine *e, const struct rule *r, void *state, const struct point *p,
		   struct det_result *res);

static inline const struct group_type *eng_rule_group(const struct rule *r)
{
	return r->peer.nby ? group_of(r->det.type) : NULL;
}

static inline size_t eng_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static inline int64_t eng_tick_of(double ts, double step)
{
	double t = floor(ts / step);
	if (!(t > -9.0e18 && t < 9.0e18))
		return TICK_NONE;
	return (int64_t)t;
}

static inline uint32_t eng_ring_at(const struct group *g, int64_t tick)
{
	int64_t w = tick % (int64_t)g->W;
	return (uint32_t)(w < 0 ? w + (int64_t)g->W : w);
}

static inline struct group *eng_group_at(const struct engine *e, uint32_t gi)
{
	return e->gtab.items[gi].block;
}

/* engine.c */
/* A new series for p (key in e->key, klen bytes, hash h): match the rules,
 * apply the cardinality limits, allocate its block. NULL when refused or out
 * of memory (counted). */
struct series *eng_add_series(struct engine *e, const struct point *p, size_t klen, uint64_t h);
/* Hand one rule transition to the alert callback as an alert event. */
void eng_emit(struct engine *e, const struct rule *r, const struct rule_state *st, enum rule_transition tr,
	      const char *key, const struct point *p, int64_t pos, const struct det_result *res,
	      const void *ring);
/* The chart window ring of a non-group slot (NULL when windows are off). */
void *eng_slot_ring(const struct engine *e, const struct series *s, const struct slot *sl);
/* Drop every series and group (the engine stays usable, empty). */
void eng_clear_series(struct engine *e);

/* engine_ckpt.c: engine_load, where old (may be NULL) is the ruleset the
 * blob was saved with: then a saved rule's state goes only to the rule of
 * the same name whose model_hash is equal (engine_reload). */
int eng_load(struct engine *e, const uint8_t *data, size_t len, const struct ruleset *old);
/* engine.c: eng_emit with a reason label (resolve_reason=<reason>) when
 * reason is not NULL; ring (may be NULL) is the slot's chart window. */
void eng_emit_reason(struct engine *e, const struct rule *r, const struct rule_state *st,
		     enum rule_transition tr, const char *key, const struct point *p, int64_t pos,
		     const struct det_result *res, const void *ring, const char *reason);

/* engine_group.c */
void eng_group_free(struct group *g);
struct group *eng_group_new(const struct rule *r, uint32_t ri);
int eng_group_reserve(struct group *g, uint32_t need);
size_t eng_group_size(const struct group_type *gt, const struct rule *r, const struct group *g);
/* The slot of rule ri in series s, or NULL. */
struct slot *eng_slot_of(struct series *s, uint32_t ri);
/* A point of member series s for its group rule slot sl. */
void eng_group_point(struct engine *e, struct series *s, struct slot *sl, const struct point *p, int64_t pos);
/* Rebuild a point (name and tags) from a canonical series key; strings
 * point into scratch (len + 1 bytes). 0 or -1. */
int eng_key_to_point(const char *key, size_t len, char *scratch, struct point *p);

#endif
