/* The engine: decoded points -> series table -> rule match -> detectors ->
 * rule state -> alert events, handed to a callback. It decodes nothing (the
 * consumers do) and sends nothing (the callback's owner does). One engine holds the series of one shard (the
 * whole input for `vigil replay`, one Kafka partition for `vigil run`), so its state can be checkpointed and
 * moved as a unit.
 * @thread an engine belongs to one thread; the ruleset it borrows is shared
 * read-only. */
#ifndef CORE_ENGINE_H
#define CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/point.h"
#include "core/timing.h"
#include "core/buf.h"
#include "rules/rules.h"
#include "core/alert.h"

struct engine;

#define ENGINE_WINDOW_DEFAULT 120 /* chart window points unless configured (chart_points) */

/* Receives each alert event (borrowed for the call). Non-zero return is
 * counted as a delivery failure; the engine goes on. */
typedef int (*engine_alert_fn)(void *ctx, const struct alert_event *ev);

/* A memory budget for series and their detector states, shared by the
 * engines of one process or Kafka member (they run on one thread: no lock).
 * limit 0 = none. A watched series is admitted only if its bytes (rule
 * slots, detector states, chart windows, key and table entry) fit; a
 * restore is never refused (it may go over). */
struct engine_budget {
	size_t limit;
	size_t used;
};

/* The default budget: 60 % of the machine's physical memory. */
size_t engine_default_budget(void);

struct engine_opts {
	const struct ruleset *rs; /* borrowed; must outlive the engine */
	size_t max_series;        /* global cardinality limit; 0 = 1,000,000 */
	double max_future;        /* seconds a point's time may be ahead of the wall clock
				   * (clock_wall); further is rejected; 0 = no limit */
	/* Seconds a point may be ahead of its series' newest point before it
	 * is held as tentative: the series' next point then decides. Next
	 * point also more than max_skew ahead and after the held one: the
	 * series jumped (outage, resume after a gap), both are processed, the
	 * held one first. Next point within max_skew of the old newest point:
	 * the held one was a wrong time, refused (skewed, said with the
	 * positions). 0 = off (every point after the newest is processed). */
	double max_skew;
	engine_alert_fn on_alert;
	void *alert_ctx;
	/* Chart window: points kept per (rule, series) and sent with each
	 * alert event (engine/window.h: 16 bytes a point + 16). 0 = off;
	 * at most ALERT_WINDOW_MAX. Peer-group rules keep none. The window is
	 * not checkpointed: it starts empty after a restore. */
	uint32_t window;
	/* Called at the start of every engine_point with its point, before the
	 * engine looks at it (may be NULL): the one place between two points
	 * where the owner of the engine may call engine_reload. Must be cheap. */
	void (*before_point)(void *ctx, struct engine *e, const struct point *p);
	void *hook_ctx;
	struct engine_budget *budget; /* borrowed, may be NULL: no budget */
};

#define ENGINE_TIME_EVERY 256u

struct engine_stats {
	uint64_t points;                /* points received */
	uint64_t rejected;              /* bad records reported by the consumer (engine_note_reject) */
	uint64_t unmatched;             /* points of series no rule watches */
	uint64_t series;                /* series in the table */
	uint64_t series_refused;        /* new series refused by a cardinality limit or the memory budget */
	uint64_t series_refused_memory; /* of those, refused by the memory budget */
	uint64_t alloc_failed; /* points lost because memory for their series could not be allocated */
	uint64_t out_of_order; /* points older than their series' last point, skipped */
	uint64_t future;       /* points too far ahead of the wall clock, rejected (also in rejected) */
	uint64_t skew_held;    /* points held as more than max_skew ahead of their series' newest */
	uint64_t skewed;       /* of those, refused: the series' next point was near its old time */
	uint64_t skew_pending; /* of those, still held (waiting for their series' next point) */
	uint64_t alerts;       /* alert events emitted */
	uint64_t alert_failures;
	uint64_t det_errors; /* detector update failures */
	size_t bytes;        /* memory held by the series table and states */
	/* peer groups (rules with peer_group:) */
	uint64_t groups;        /* groups in the group table */
	uint64_t group_members; /* member slots assigned */
	uint64_t group_refused; /* series refused by a full group (max_members) */
	uint64_t late;          /* points for a tick their group had already closed, dropped */
	uint64_t ticks_closed;  /* group ticks closed */
	size_t group_bytes;     /* memory held by groups (included in bytes) */
	double newest_ts;       /* data time of the newest point received (0: none yet) */
	/* detector update time, sampled: one update in ENGINE_TIME_EVERY is
	 * timed, per detector type */
	struct timing det_time[TIMING_KINDS]; /* by detector type name */
};

/* What one rule saw (for `rules check --data` and the backtest): counted
 * since the engine was created. */
struct engine_rule_stats {
	uint64_t series; /* series it watches (each counted when the series is created) */
	uint64_t points; /* points of those series it was given */
	uint64_t scored; /* points its detector had an opinion on (score not NaN; peer-group
			  * rules: not counted) */
	uint64_t fired;  /* episodes opened */
	double first_ts; /* data time of its first and newest point (0: none yet) */
	double last_ts;
};

int engine_create(const struct engine_opts *o, struct engine **out, char *err, size_t errlen);
void engine_destroy(struct engine *e);

/* Process one decoded point. source names the input ("path" or
 * "topic/partition"), pos its position (line number or offset) for errors and
 * alert identity. Returns 0, or -VIGIL_E* for a point that was counted and
 * skipped (a refused series, a detector error); the engine stays usable. */
int engine_point(struct engine *e, const struct point *p, const char *source, int64_t pos);

/* Count and report (rate-limited) a record the consumer's decoder rejected:
 * "source:pos: msg". Kept here so one engine's stats cover its input. */
void engine_note_reject(struct engine *e, const char *source, int64_t pos, const char *msg);

/* The newest data timestamp seen (the engine's clock for replays); -inf
 * before the first point. */
double engine_now(const struct engine *e);

/* Refusals by the cardinality limits and the memory budget since the
 * engine was created (or its last rule reload), for owner oi: oi <
 * nowners is rs->owners[oi], oi == nowners the series no owner's rule
 * watches. Returns the distinct series refused, estimated by linear
 * counting over 2^16 bits of their key hashes (exact but for hash
 * collisions at small counts; standard error about 1 % up to 300,000,
 * a lower bound once the bits fill, past about 700,000); *points (may be
 * NULL) gets the refused points. The bits (8 KB) are allocated at the
 * owner's first refusal. */
uint64_t engine_owner_refused(const struct engine *e, size_t oi, uint64_t *points);

/* The input has ended (replay): every point still held by max_skew is
 * processed as if its series' next point had confirmed it (nothing came
 * after it to stall). 0, or the first error of a point (counted). */
int engine_flush_held(struct engine *e);

void engine_get_stats(const struct engine *e, struct engine_stats *out);
/* The distinct series names the engine has seen (those its name cache holds:
 * the first 262,144) into out[0..max); returns how many. Borrowed until the
 * next engine_point or engine_reload. */
size_t engine_series_names(const struct engine *e, const char **out, size_t max);
/* The ruleset the engine runs (engine_reload changes it). */
const struct ruleset *engine_ruleset(const struct engine *e);
/* A before_point hook for engines created without one (opts.before_point
 * NULL), for commands whose engines are created by a consumer (the Kafka
 * member): set it once, before any engine is created. */
void engine_set_default_hook(void (*fn)(void *ctx, struct engine *e, const struct point *p), void *ctx);
/* Per rule, indexed like the engine's ruleset's rules (borrowed; valid until
 * the engine is destroyed or its ruleset replaced). */
const struct engine_rule_stats *engine_rule_stats(const struct engine *e);

/* Checkpoint every series' detector and rule state, and every peer group
 * (members, ticks still open, group detector state). The blob records the
 * ruleset's rule names so a load against changed rules keeps what still
 * matches and starts the rest fresh. Caller owns out. */
int engine_save(const struct engine *e, struct buf *out);
/* Replace the engine's series with a saved blob. On error the engine is
 * empty (fresh) and -VIGIL_EINVAL/-VIGIL_EVERSION is returned. */
int engine_load(struct engine *e, const uint8_t *data, size_t len);

/* Replace the engine's ruleset with rs (borrowed: must outlive the engine;
 * the previous one must stay alive until this returns, then is no longer
 * used). Between two points, atomically: every (rule, series) state whose
 * rule keeps its name and model_hash (series, match, detector, params,
 * peer_group, owner) is kept, models and open episodes included; a changed
 * rule starts new models; an open episode of a removed rule is resolved with
 * the label resolve_reason=rule_removed (rule_changed for a changed rule),
 * at the engine's data time. Series are matched against the new rules.
 * Returns 0, or -VIGIL_ENOMEM with the engine unchanged and err filled. */
int engine_reload(struct engine *e, const struct ruleset *rs, char *err, size_t errlen);

#endif
