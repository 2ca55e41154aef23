/* An owner's on-call configuration (docs/alerting.md §4-§8 and issue 10):
 * named time intervals (mute / active windows), on-call schedules, people,
 * routes and grouping, inhibition, the page budget and the escalation
 * policy. Parsed from the owner's map in a rules/owners file (rules/load.c
 * documents the YAML); immutable after loading, readable from any thread.
 *
 * Evaluation of time intervals and schedules is pure (rules/timewin.c,
 * rules/schedule.c): the caller passes the time, so tests drive it with the
 * virtual clock (core/clock.h). */
#ifndef RULES_ONCALL_H
#define RULES_ONCALL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tz.h"
#include "core/vigil.h"

struct tag_matcher;     /* rules/rules.h */
struct destination_cfg; /* rules/rules.h */

/* ---- time intervals (Alertmanager's time_intervals) ---- */

struct int_range {
	int lo, hi; /* inclusive */
};

/* One entry of a named interval. Each non-empty list must match (AND);
 * within a list any range matches (OR); an empty list matches everything.
 * All fields are evaluated in the local time of `loc`. */
struct time_spec {
	struct int_range *times; /* minutes of the day, [lo, hi) with 0 <= lo < hi <= 1440 */
	size_t ntimes;
	struct int_range *weekdays; /* 0 = Sunday .. 6 = Saturday, lo <= hi */
	size_t nweekdays;
	struct int_range *days_of_month; /* 1..31, or -31..-1 counted from the month's end */
	size_t ndays_of_month;
	struct int_range *months; /* 1..12 */
	size_t nmonths;
	struct int_range *years;
	size_t nyears;
	struct tz *loc; /* owned; never NULL (UTC when `location` is absent) */
	char *where;
};

struct time_interval {
	char *name; /* unique within the owner */
	char *where;
	struct time_spec *specs; /* any spec matching = inside (OR) */
	size_t nspecs;
};

/* Is instant t (Unix seconds) inside ti? */
int time_interval_contains(const struct time_interval *ti, double t);
/* The interval named name among v[0..n), or NULL. */
const struct time_interval *time_interval_find(const struct time_interval *v, size_t n, const char *name);
void time_interval_free(struct time_interval *ti);

/* ---- people and on-call schedules ---- */

struct person {
	char *name; /* unique within the owner */
	char *where;
	struct destination_cfg *dests; /* how to reach them (at least one) */
	size_t ndests;
};

/* A temporary replacement: person is on call in [start, end). */
struct oncall_override {
	char *person;
	double start, end; /* Unix seconds */
	char *where;
};

/* A rotation: rotation[0] is on call from the first hand-over `start`
 * (local wall time in tz) for shift_days calendar days, then rotation[1],
 * and so on, wrapping around; every hand-over happens at the same local
 * time of day, so a shift that spans a DST change is an hour shorter or
 * longer. Before `start` nobody is on call (except overrides). Overrides
 * win over the rotation; the first listed override covering t wins. */
struct schedule {
	char *name; /* unique within the owner */
	char *where;
	char **rotation; /* person names, each defined in the owner's people */
	size_t nrotation;
	int shift_days;                          /* >= 1 */
	int start_year, start_month, start_mday; /* the first hand-over's local date */
	int handover_min;                        /* local minutes of the day of every hand-over */
	struct tz *tz;                           /* owned */
	struct oncall_override *overrides;
	size_t noverrides;
};

/* Who is on call at instant t: the person's name (borrowed from s), or NULL
 * for nobody. *until (may be NULL) = the next instant the answer may change
 * (a hand-over or an override boundary; +INFINITY if never). */
const char *schedule_oncall(const struct schedule *s, double t, double *until);
const struct schedule *schedule_find(const struct schedule *v, size_t n, const char *name);
void schedule_free(struct schedule *s);

/* ---- routes, grouping, inhibition, budget, escalation ---- */

/* Grouping as Alertmanager defines it (§4). A field < 0 is unset and is
 * inherited from the enclosing route (the owner); the owner's unset fields
 * take the defaults. Without group_by anywhere, an owner is "ungrouped":
 * each episode is its own group, notified at once (group_wait 0,
 * group_interval 0, repeat_interval 0 = never), which is vigil's behaviour
 * before grouping existed. With group_by the defaults are Alertmanager's:
 * 30s, 5m, 4h. */
struct group_cfg {
	char **by; /* label names; NULL = inherit */
	size_t nby;
	int all; /* group_by: ['...']: every label (one group per alert) */
	int set; /* group_by given at this level */
	double wait, interval, repeat;
};

struct route_cfg {
	char *where;
	struct tag_matcher *match; /* all must hold; a missing label reads as "" */
	size_t nmatch;
	struct destination_cfg *dests; /* 0 = the owner's destinations */
	size_t ndests;
	struct group_cfg group;
	char **mute; /* names of the owner's time intervals: muted while inside any */
	size_t nmute;
	char **active; /* muted while outside all of them */
	size_t nactive;
	int cont; /* `continue: true`: keep matching the next routes */
};

struct inhibit_cfg {
	char *name; /* may be NULL */
	char *where;
	struct tag_matcher *source;
	size_t nsource;
	struct tag_matcher *target;
	size_t ntarget;
	char **equal;
	size_t nequal;
};

/* At most max pages per window of `per` seconds; max 0 = no budget. */
struct budget_cfg {
	unsigned max;
	double per;
	char *where;
};

enum esc_kind { ESC_PERSON = 0, ESC_SCHEDULE, ESC_DESTINATION };

/* One level: `after` seconds after the page was first sent, notify the
 * target: a person, whoever a schedule has on call then, or one of the
 * owner's destinations (by its `name:` setting). */
struct esc_level {
	char *where;
	double after; /* >= the previous level's */
	enum esc_kind kind;
	char *target; /* person / schedule / destination name */
};

struct escalation_cfg {
	struct esc_level *levels; /* nlevels == 0: no escalation */
	size_t nlevels;
	unsigned repeat;     /* times the whole policy runs again after the last level */
	double repeat_after; /* seconds from the last level to the next round's start */
	char *where;
};

#endif
