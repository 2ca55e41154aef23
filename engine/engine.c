/* The engine, see engine.h. Per series it keeps one block holding, for each
 * rule that watches the series, a slot header (rule index + rule state) and
 * the detector state, so a series costs one allocation.
 *
 * Peer groups (rules with peer_group:) live in engine_group.c, checkpoint
 * encoding in engine_ckpt.c; shared internals in engine_int.h. */
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/timefmt.h"
#include "engine/engine_int.h"
#include "engine/window.h"

/* engine_set_default_hook: written once before any engine exists. */
static void (*default_hook)(void *, struct engine *, const struct point *);
static void *default_hook_ctx;

int engine_create(const struct engine_opts *o, struct engine **out, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof *e);

	if (e == NULL)
		goto nomem;
	e->rs = o->rs;
	e->on_alert = o->on_alert;
	e->alert_ctx = o->alert_ctx;
	e->before_point = o->before_point ? o->before_point : default_hook;
	e->hook_ctx = o->before_point ? o->hook_ctx : default_hook_ctx;
	e->max_series = o->max_series ? o->max_series : DEFAULT_MAX_SERIES;
	e->max_future = o->max_future > 0 ? o->max_future : 0;
	e->max_skew = o->max_skew > 0 ? o->max_skew : 0;
	if (o->window > ALERT_WINDOW_MAX) {
		snprintf(err, errlen, "chart window: %u points is over the limit of %d", o->window,
			 ALERT_WINDOW_MAX);
		free(e);
		return -VIGIL_EINVAL;
	}
	e->win_cap = o->window;
	if (e->win_cap && (e->wbuf = calloc(e->win_cap, sizeof *e->wbuf)) == NULL)
		goto nomem;
	e->now = -INFINITY;
	series_table_init(&e->tab);
	e->owner_series = calloc(o->rs->nowners + 1, sizeof *e->owner_series);
	e->owner_limit_told = calloc(o->rs->nowners + 1, 1);
	e->owner_mem_told = calloc(o->rs->nowners + 1, sizeof *e->owner_mem_told);
	e->owner_refused = calloc(o->rs->nowners + 1, sizeof *e->owner_refused);
	e->budget = o->budget;
	e->rstat = calloc(o->rs->nrules + 1, sizeof *e->rstat);
	if (e->owner_series == NULL || e->owner_limit_told == NULL || e->owner_mem_told == NULL ||
	    e->owner_refused == NULL || e->rstat == NULL)
		goto nomem;
	series_table_init(&e->gtab);
	series_table_init(&e->ncache);
	for (size_t i = 0; i < o->rs->nrules; i++) {
		const struct group_type *g = eng_rule_group(&o->rs->rules[i]);
		if (g && g->max_members(o->rs->rules[i].det.cfg) > e->maxK)
			e->maxK = g->max_members(o->rs->rules[i].det.cfg);
	}
	if (e->maxK) {
		e->gx = calloc(e->maxK, sizeof *e->gx);
		e->gpresent = calloc(e->maxK, 1);
		e->gres = calloc(e->maxK, sizeof *e->gres);
		if (e->gx == NULL || e->gpresent == NULL || e->gres == NULL)
			goto nomem;
	}
	*out = e;
	return 0;
nomem:
	engine_destroy(e);
	snprintf(err, errlen, "out of memory");
	return -VIGIL_ENOMEM;
}

static void free_block(struct engine *e, struct series *s)
{
	struct slot *sl = s->block;
	for (uint32_t i = 0; i < s->nslots; i++) {
		const struct rule *r = &e->rs->rules[sl[i].rule];
		if (eng_rule_group(r) == NULL)
			det_state_fini(&r->det, (char *)s->block + sl[i].det_off);
	}
	free(s->block);
	s->block = NULL;
	s->nslots = 0;
}

void eng_group_free(struct group *g)
{
	if (g == NULL)
		return;
	for (uint32_t w = 0; g->pend && w < g->W; w++)
		free(g->pend[w].v);
	free(g->pend);
	free(g->mem);
	free(g->det);
	free(g);
}

static void clear_groups(struct engine *e)
{
	for (size_t i = 0; i < e->gtab.n; i++)
		eng_group_free(e->gtab.items[i].block);
	series_table_fini(&e->gtab);
	series_table_init(&e->gtab);
	e->st.group_bytes = 0;
	e->st.group_members = 0;
}

size_t engine_default_budget(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || psz <= 0)
		return 0;
	return (size_t)((double)pages * (double)psz * 0.6);
}

void eng_clear_series(struct engine *e)
{
	clear_groups(e);
	for (size_t i = 0; i < e->tab.n; i++)
		free_block(e, &e->tab.items[i]);
	series_table_fini(&e->tab);
	series_table_init(&e->tab);
	memset(e->owner_series, 0, (e->rs->nowners + 1) * sizeof *e->owner_series);
	e->block_bytes = 0;
	if (e->budget)
		e->budget->used -= e->budget_taken;
	e->budget_taken = 0;
}

void engine_destroy(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->rs)
		eng_clear_series(e);
	series_table_fini(&e->tab);
	series_table_fini(&e->gtab);
	free(e->gx);
	free(e->gpresent);
	free(e->gres);
	free(e->owner_series);
	free(e->owner_limit_told);
	free(e->owner_mem_told);
	for (size_t i = 0; e->owner_refused && i <= e->rs->nowners; i++)
		free(e->owner_refused[i].bits);
	free(e->owner_refused);
	if (e->budget)
		e->budget->used -= e->budget_taken;
	free(e->wbuf);
	free(e->rstat);
	for (size_t i = 0; i < e->ncache.n; i++)
		free(e->ncache.items[i].block);
	series_table_fini(&e->ncache);
	free(e->cbuf);
	free(e);
}

void engine_note_reject(struct engine *e, const char *source, int64_t pos, const char *msg)
{
	e->st.rejected++;
	if (complain_due(&e->reject_complain, e->now > 0 ? e->now : 0, 10.0, 20)) {
		if (e->reject_complain.suppressed) {
			LOG_WARN("input", "event=rejected_suppressed count=%llu",
				 (unsigned long long)e->reject_complain.suppressed);
			e->reject_complain.suppressed = 0;
		}
		LOG_WARN("input", "event=rejected where=%s:%lld: %s", source ? source : "-", (long long)pos,
			 msg);
	}
}

double engine_now(const struct engine *e)
{
	return e->now;
}

/* Emit a meta alert (rule, summary) about a refused series to owner. */
static void meta_alert(struct engine *e, const char *rule, const char *owner, const char *summary,
		       const struct point *p)
{
	struct alert_event ev;

	memset(&ev, 0, sizeof ev);
	ev.status = ALERT_FIRING;
	ev.rule = rule;
	ev.owner = owner ? owner : "vigil";
	ev.action = "notify";
	ev.detector = "none";
	ev.series = e->key;
	ev.name = p->name;
	ev.summary = summary;
	ev.ts = ev.started = p->ts;
	ev.value = p->value;
	ev.expected = ev.lower = ev.upper = ev.score = NAN;
	ev.direction = "both";
	ev.threshold = NAN;
	ev.source = e->cur_source;
	ev.start_pos = ev.pos = e->cur_pos;
	e->st.alerts++;
	if (e->on_alert && e->on_alert(e->alert_ctx, &ev) != 0)
		e->st.alert_failures++;
}

/* Emit a meta alert about a refused series (once per limit). */
static void limit_alert(struct engine *e, const char *owner, size_t limit, const struct point *p)
{
	char summary[256];
	snprintf(summary, sizeof summary,
		 "series limit %zu reached%s%s: new series are refused until the limit is raised", limit,
		 owner ? " for owner " : "", owner ? owner : "");
	meta_alert(e, "vigil-series-limit", owner, summary, p);
}

#define BUDGET_ALERT_EVERY 3600.0 /* data seconds between two budget alerts to one owner */
#define SERIES_OVERHEAD    64     /* table entry and bookkeeping of a series, bytes */

/* One refused point of the series of key hash h, for owner index oi. */
static void note_refused(struct engine *e, size_t oi, uint64_t h)
{
	struct owner_refused *r = &e->owner_refused[oi];
	r->points++;
	if (r->bits == NULL && (r->bits = calloc(REFUSED_BITS / 8, 1)) == NULL)
		return; /* the points are still counted */
	uint32_t bit = (uint32_t)(h % REFUSED_BITS);
	r->bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

uint64_t engine_owner_refused(const struct engine *e, size_t oi, uint64_t *points)
{
	if (oi > e->rs->nowners) {
		if (points)
			*points = 0;
		return 0;
	}
	const struct owner_refused *r = &e->owner_refused[oi];
	if (points)
		*points = r->points;
	if (r->bits == NULL)
		return 0;
	size_t zeros = 0;
	for (size_t i = 0; i < REFUSED_BITS / 8; i++)
		zeros += 8 - (size_t)__builtin_popcount(r->bits[i]);
	if (zeros == 0)
		zeros = 1; /* saturated: a lower bound */
	return (uint64_t)llround(-(double)REFUSED_BITS * log((double)zeros / REFUSED_BITS));
}

/* p's new series (watched by owner o's rule) does not fit the memory
 * budget: counted, logged at a limited rate, and owner o told with a
 * `vigil-memory-budget` meta alert at most once an hour of data time. */
static void refuse_memory(struct engine *e, const struct point *p, const struct owner *o, size_t need,
			  uint64_t h)
{
	size_t oi = o ? (size_t)(o - e->rs->owners) : e->rs->nowners;
	note_refused(e, oi, h);
	e->st.series_refused++;
	e->st.series_refused_memory++;
	if (complain_due(&e->limit_complain, p->ts, 60.0, 1))
		LOG_ERR("series",
			"event=series_refused reason=memory_budget owner=%s series=%s need=%zu used=%zu "
			"limit=%zu refused_total=%llu",
			o ? o->name : "(none)", e->key, need, e->budget->used, e->budget->limit,
			(unsigned long long)e->st.series_refused_memory);
	if (!(e->owner_mem_told[oi] > 0) || p->ts >= e->owner_mem_told[oi] + BUDGET_ALERT_EVERY) {
		char summary[320];
		e->owner_mem_told[oi] = p->ts > 0 ? p->ts : 1;
		snprintf(summary, sizeof summary,
			 "memory budget full (%zu of %zu bytes): new series are refused, such as %.120s; "
			 "raise max_memory or drop series",
			 e->budget->used, e->budget->limit, e->key);
		meta_alert(e, "vigil-memory-budget", o ? o->name : NULL, summary, p);
	}
}

/* A limit refuses p's new series: limit_owner is the owner whose
 * max_series it is (NULL: the global max_series); counted for owner o (the
 * owner of its first matching rule, NULL: none). */
static int refuse(struct engine *e, const struct point *p, const struct owner *limit_owner, size_t limit,
		  const struct owner *o, uint64_t h)
{
	note_refused(e, o ? (size_t)(o - e->rs->owners) : e->rs->nowners, h);
	o = limit_owner;
	size_t oi = o ? (size_t)(o - e->rs->owners) : e->rs->nowners;
	e->st.series_refused++;
	if (complain_due(&e->limit_complain, p->ts, 60.0, 1))
		LOG_ERR("series", "event=series_refused limit=%zu owner=%s series=%s refused_total=%llu",
			limit, o ? o->name : "(global)", e->key, (unsigned long long)e->st.series_refused);
	if (o ? !e->owner_limit_told[oi] : !e->global_limit_told) {
		if (o)
			e->owner_limit_told[oi] = 1;
		else
			e->global_limit_told = 1;
		limit_alert(e, o ? o->name : NULL, limit, p);
	}
	return -VIGIL_ELIMIT;
}

/* Create the series for p: match rules, check limits, build its block. */
/* An allocation failed for the series being added (e->key: name and tags,
 * as the other series logs name it): counted (alloc_failed), logged at a
 * limited rate; the point is not processed. */
static void out_of_memory(struct engine *e, const char *what)
{
	e->st.alloc_failed++;
	if (complain_due(&e->limit_complain, e->now > 0 ? e->now : 0, 10.0, 5))
		LOG_ERR("engine", "event=out_of_memory what=\"%s\" series=%s points_lost=%llu", what, e->key,
			(unsigned long long)e->st.alloc_failed);
}

/* The candidate rules of series name `name` (series glob matches): from the
 * cache, else from the ruleset's index (then cached while there is room).
 * 0 or -VIGIL_ENOMEM. */
static int candidates(struct engine *e, const char *name, const uint32_t **out, size_t *n)
{
	size_t len = strlen(name);
	uint64_t h = hash_mix(hash_bytes(HASH_SEED, name, len));
	struct series *c;
	struct name_rules *nr;

	if (len < KEY_MAX && (c = series_find(&e->ncache, name, len, h)) != NULL) {
		nr = c->block;
		*out = nr->idx;
		*n = nr->n;
		return 0;
	}
	if (ruleset_candidates(e->rs, name, &e->cbuf, &e->ccap, n) != 0)
		return -VIGIL_ENOMEM;
	*out = e->cbuf;
	if (len >= KEY_MAX || e->ncache.n >= NAME_CACHE_MAX)
		return 0;
	/* a failed allocation only means no caching: the answer stands */
	if ((nr = malloc(sizeof *nr + *n * sizeof nr->idx[0])) == NULL)
		return 0;
	nr->n = (uint32_t)*n;
	memcpy(nr->idx, e->cbuf, *n * sizeof nr->idx[0]);
	if ((c = series_insert(&e->ncache, name, len, h)) == NULL) {
		free(nr);
		return 0;
	}
	c->block = nr;
	*out = nr->idx;
	return 0;
}

struct series *eng_add_series(struct engine *e, const struct point *p, size_t klen, uint64_t h)
{
	uint32_t matched[256];
	size_t nm = 0, bytes;
	struct series *s;

	const uint32_t *cand;
	size_t nc;
	if (candidates(e, p->name ? p->name : "", &cand, &nc) != 0) {
		out_of_memory(e, "rule index");
		return NULL;
	}
	for (size_t i = 0; i < nc && nm < VIGIL_ARRAY_LEN(matched); i++)
		if (rule_matches_tags(&e->rs->rules[cand[i]], p->tags, p->ntags))
			matched[nm++] = cand[i];
	const struct owner *first = nm > 0 ? e->rs->rules[matched[0]].owner : NULL;
	if (e->tab.n >= e->max_series) {
		refuse(e, p, NULL, e->max_series, first, h);
		return NULL;
	}
	for (size_t i = 0; i < nm; i++) {
		const struct owner *o = e->rs->rules[matched[i]].owner;
		if (o && o->max_series && e->owner_series[o - e->rs->owners] >= o->max_series) {
			refuse(e, p, o, o->max_series, o, h);
			return NULL;
		}
	}
	bytes = eng_align8(nm * sizeof(struct slot));
	for (size_t i = 0; i < nm; i++)
		if (eng_rule_group(&e->rs->rules[matched[i]]) == NULL)
			bytes += eng_align8(det_state_size(&e->rs->rules[matched[i]].det)) +
				 window_bytes(e->win_cap);
	size_t need = bytes + klen + SERIES_OVERHEAD;
	if (nm > 0 && e->budget && e->budget->limit && !e->loading &&
	    e->budget->used + need > e->budget->limit) {
		refuse_memory(e, p, first, need, h);
		return NULL;
	}
	s = series_insert(&e->tab, e->key, klen, h);
	if (s == NULL) {
		out_of_memory(e, "series table");
		return NULL;
	}
	if (nm == 0)
		return s;
	s->block = calloc(1, bytes);
	if (s->block == NULL) {
		/* known but unwatched: each of its points is counted as lost */
		s->flags |= SERIES_NO_MEMORY;
		out_of_memory(e, "rule and detector state");
		return s;
	}
	struct slot *sl = s->block;
	size_t off = eng_align8(nm * sizeof(struct slot));
	for (size_t i = 0; i < nm; i++) {
		const struct rule *r = &e->rs->rules[matched[i]];
		e->rstat[matched[i]].series++;
		sl[i].rule = matched[i];
		sl[i].group = NO_GROUP;
		if (eng_rule_group(r) != NULL)
			continue; /* joins its group at its first point */
		sl[i].det_off = (uint32_t)off;
		if (det_state_init(&r->det, (char *)s->block + off) != 0)
			LOG_ERR("detector", "event=init_failed rule=%s series=%s", r->name, e->key);
		off += eng_align8(det_state_size(&r->det));
		window_init((char *)s->block + off, e->win_cap);
		off += window_bytes(e->win_cap);
	}
	s->nslots = (uint32_t)nm;
	e->block_bytes += bytes;
	if (e->budget) {
		e->budget->used += need;
		e->budget_taken += need;
	}
	/* count each owner once per series */
	for (size_t i = 0; i < nm; i++) {
		const struct owner *o = e->rs->rules[matched[i]].owner;
		int seen = 0;
		for (size_t j = 0; j < i; j++)
			seen |= e->rs->rules[matched[j]].owner == o;
		if (o && !seen)
			e->owner_series[o - e->rs->owners]++;
	}
	return s;
}

void *eng_slot_ring(const struct engine *e, const struct series *s, const struct slot *sl)
{
	const struct rule *r = &e->rs->rules[sl->rule];
	if (e->win_cap == 0 || eng_rule_group(r) != NULL)
		return NULL;
	return (char *)s->block + sl->det_off + eng_align8(det_state_size(&r->det));
}

void eng_emit(struct engine *e, const struct rule *r, const struct rule_state *st, enum rule_transition tr,
	      const char *key, const struct point *p, int64_t pos, const struct det_result *res,
	      const void *ring)
{
	eng_emit_reason(e, r, st, tr, key, p, pos, res, ring, NULL);
}

void eng_emit_reason(struct engine *e, const struct rule *r, const struct rule_state *st,
		     enum rule_transition tr, const char *key, const struct point *p, int64_t pos,
		     const struct det_result *res, const void *ring, const char *reason)
{
	struct alert_event ev;
	size_t nl = 0;

	memset(&ev, 0, sizeof ev);
	ev.status = tr == RULE_FIRE ? ALERT_FIRING : ALERT_RESOLVED;
	ev.rule = r->name;
	ev.owner = r->owner ? r->owner->name : "unowned";
	ev.action = rule_action_name(r->action);
	ev.detector = r->det.type->name;
	ev.series = key;
	ev.name = p->name;
	ev.summary = r->summary;
	ev.runbook_url = r->runbook_url;
	for (int i = 0; i < p->ntags && nl < ALERT_MAX_LABELS; i++, nl++) {
		ev.labels[nl].key = p->tags[i].key;
		ev.labels[nl].value = p->tags[i].value;
	}
	for (size_t i = 0; i < r->nlabels && nl < ALERT_MAX_LABELS; i++, nl++)
		ev.labels[nl] = r->labels[i];
	if (reason != NULL) {
		nl -= nl == ALERT_MAX_LABELS; /* the reason wins over the last label */
		ev.labels[nl].key = "resolve_reason";
		ev.labels[nl].value = reason;
		ev.labels[nl++].where = NULL;
	}
	ev.nlabels = nl;
	ev.ts = p->ts;
	ev.started = st->started;
	ev.value = p->value;
	ev.expected = res->expected;
	ev.lower = res->lower;
	ev.upper = res->upper;
	ev.score = tr == RULE_FIRE ? res->score : st->peak_score;
	ev.direction = rule_direction_name(r->direction);
	ev.threshold = r->threshold;
	ev.source = e->cur_source;
	ev.start_pos = st->start_pos;
	ev.pos = pos;
	if (ring) {
		ev.nwindow = window_read(ring, e->win_cap, e->wbuf);
		ev.window = e->wbuf;
	}
	e->st.alerts++;
	if (e->on_alert && e->on_alert(e->alert_ctx, &ev) != 0)
		e->st.alert_failures++;
}

/* p is past the cached limit: refresh it from the wall clock (which only
 * moves on) and refuse p if it is still past. 1 = refused (counted, said). */
static int engine_future(struct engine *e, const struct point *p, const char *source, int64_t pos)
{
	e->future_limit = clock_wall() + e->max_future;
	if (p->ts <= e->future_limit)
		return 0;
	char msg[160], at[40];
	time_format_rfc3339(p->ts, at, sizeof at);
	snprintf(msg, sizeof msg, "time %s is more than %.0f s ahead of the wall clock (max_future)", at,
		 e->max_future);
	e->st.future++;
	engine_note_reject(e, source, pos, msg);
	return 1;
}

/* p is not after its series' newest point s->last_ts: counted
 * (out_of_order) and said with its position at a limited rate, naming the
 * newest time, so one wrong timestamp that holds a series back shows. */
static void out_of_order(struct engine *e, const struct point *p, const struct series *s, const char *source,
			 int64_t pos)
{
	e->st.out_of_order++;
	if (!complain_due(&e->order_complain, e->now > 0 ? e->now : 0, 10.0, 20))
		return;
	char at[40], newest[40];
	time_format_rfc3339(p->ts, at, sizeof at);
	time_format_rfc3339(s->last_ts, newest, sizeof newest);
	if (e->order_complain.suppressed) {
		LOG_WARN("input", "event=out_of_order_suppressed count=%llu",
			 (unsigned long long)e->order_complain.suppressed);
		e->order_complain.suppressed = 0;
	}
	LOG_WARN("input",
		 "event=out_of_order where=%s:%lld: time %s is not after the newest point of series %s (%s)",
		 source ? source : "-", (long long)pos, at, e->key, newest);
}

static int series_point(struct engine *e, struct series *s, const struct point *p, const char *source,
			int64_t pos);

/* Say one skew event (rate-limited with the out-of-order lines' pace). */
static void skew_say(struct engine *e, const char *event, const char *source, int64_t pos, const char *msg)
{
	if (!complain_due(&e->skew_complain, e->now > 0 ? e->now : 0, 10.0, 20))
		return;
	if (e->skew_complain.suppressed) {
		LOG_WARN("input", "event=skew_suppressed count=%llu",
			 (unsigned long long)e->skew_complain.suppressed);
		e->skew_complain.suppressed = 0;
	}
	LOG_WARN("input", "event=%s where=%s:%lld: %s", event, source ? source : "-", (long long)pos, msg);
}

/* Hold p (more than max_skew ahead of s->last_ts) as s's tentative point. */
static void skew_hold(struct engine *e, struct series *s, const struct point *p, const char *source,
		      int64_t pos)
{
	char msg[KEY_MAX + 256], at[40], newest[40];
	s->held_ts = p->ts;
	s->held_val = p->value;
	e->st.skew_held++;
	e->st.skew_pending++;
	time_format_rfc3339(p->ts, at, sizeof at);
	time_format_rfc3339(s->last_ts, newest, sizeof newest);
	snprintf(msg, sizeof msg,
		 "time %s is more than %.0f s ahead of the newest point of series %s (%s) (max_skew): "
		 "held until the series' next point",
		 at, e->max_skew, e->key, newest);
	skew_say(e, "skew_held", source, pos, msg);
}

/* The held point of s is refused: p (at source:pos) is its series' next
 * point and does not confirm it. */
static void skew_refuse(struct engine *e, struct series *s, const struct point *p, const char *source,
			int64_t pos)
{
	char msg[KEY_MAX + 320], at[40], next[40], newest[40];
	e->st.skewed++;
	e->st.skew_pending--;
	time_format_rfc3339(s->held_ts, at, sizeof at);
	time_format_rfc3339(p->ts, next, sizeof next);
	time_format_rfc3339(s->last_ts, newest, sizeof newest);
	snprintf(msg, sizeof msg,
		 "the held point of series %s at %s is refused as a wrong time (max_skew %.0f s): "
		 "this next point (%s) does not confirm it (newest accepted %s)",
		 e->key, at, e->max_skew, next, newest);
	skew_say(e, "skewed", source, pos, msg);
	s->held_ts = -INFINITY;
}

/* max_skew is on: p for series s either is processed, or held, or
 * decides the fate of the point held before it (see engine_opts). A first
 * point of a series (last_ts -inf) is never held. A held point leaves the
 * data time (newest_ts, newest_before before p) where it was. */
static int skew_gate(struct engine *e, struct series *s, const struct point *p, const char *source,
		     int64_t pos, double newest_before)
{
	int far = isfinite(s->last_ts) && p->ts > s->last_ts + e->max_skew;
	if (isinf(s->held_ts)) {
		if (!far)
			return series_point(e, s, p, source, pos);
		skew_hold(e, s, p, source, pos);
		e->st.newest_ts = newest_before;
		return 0;
	}
	if (!far) { /* back near the series' time: the held point was wrong */
		skew_refuse(e, s, p, source, pos);
		return series_point(e, s, p, source, pos);
	}
	if (!(p->ts < s->held_ts) && !(p->ts > s->held_ts)) { /* the held time again: still held */
		out_of_order(e, p, s, source, pos);
		return 0;
	}
	if (p->ts < s->held_ts) { /* two far times that disagree: the later-arriving one waits */
		skew_refuse(e, s, p, source, pos);
		skew_hold(e, s, p, source, pos);
		e->st.newest_ts = newest_before;
		return 0;
	}
	/* confirmed: the series jumped; the held point first, at p's position */
	struct point hp = *p;
	hp.ts = s->held_ts;
	hp.value = s->held_val;
	s->held_ts = -INFINITY;
	e->st.skew_pending--;
	int rc = series_point(e, s, &hp, source, pos);
	int rc2 = series_point(e, s, p, source, pos);
	return rc != 0 ? rc : rc2;
}

int engine_point(struct engine *e, const struct point *p, const char *source, int64_t pos)
{
	int klen;
	uint64_t h;
	struct series *s;

	e->cur_source = source;
	e->cur_pos = pos; /* a reload's resolves carry the position of this point */
	if (e->before_point)
		e->before_point(e->hook_ctx, e, p); /* may reload: e's contents change */
	e->st.points++;
	if (e->max_future > 0 && p->ts > e->future_limit && engine_future(e, p, source, pos))
		return -VIGIL_EINVAL;
	double newest_before = e->st.newest_ts; /* a held point does not move it (skew_gate) */
	if (p->ts > e->st.newest_ts)
		e->st.newest_ts = p->ts;
	if (fabs(p->value) > DET_MAX_ABS) {
		engine_note_reject(e, source, pos, "|value| above 1e150, too large for the detectors");
		return -VIGIL_EINVAL;
	}
	klen = series_key(p, e->key, sizeof e->key);
	if (klen < 0) {
		engine_note_reject(e, source, pos, "series key too long");
		return -VIGIL_EINVAL;
	}
	h = hash_mix(hash_bytes(HASH_SEED, e->key, (size_t)klen));
	s = series_find(&e->tab, e->key, (size_t)klen, h);
	if (s == NULL && (s = eng_add_series(e, p, (size_t)klen, h)) == NULL)
		return -VIGIL_ELIMIT;
	if (e->max_skew > 0)
		return skew_gate(e, s, p, source, pos, newest_before);
	return series_point(e, s, p, source, pos);
}

/* p goes to its series s (found or added; its key in e->key): the order
 * check, then every rule slot. */
static int series_point(struct engine *e, struct series *s, const struct point *p, const char *source,
			int64_t pos)
{
	if (!(p->ts > s->last_ts)) {
		out_of_order(e, p, s, source, pos);
		return 0;
	}
	s->last_ts = p->ts;
	if (p->ts > e->now)
		e->now = p->ts;
	if (s->flags & SERIES_NO_MEMORY) {
		e->st.alloc_failed++; /* its state could not be allocated: lost, and said */
		return -VIGIL_ENOMEM;
	}
	if (s->nslots == 0) {
		e->st.unmatched++;
		return 0;
	}
	struct slot *sl = s->block;
	for (uint32_t i = 0; i < s->nslots; i++) {
		const struct rule *r = &e->rs->rules[sl[i].rule];
		struct engine_rule_stats *rst = &e->rstat[sl[i].rule];
		struct det_result res;
		if (rst->points++ == 0 || p->ts < rst->first_ts)
			rst->first_ts = p->ts;
		if (rst->points == 1 || p->ts > rst->last_ts)
			rst->last_ts = p->ts;
		if (eng_rule_group(r) != NULL) {
			eng_group_point(e, s, &sl[i], p, pos);
			continue;
		}
		void *ring = eng_slot_ring(e, s, &sl[i]);
		if (ring)
			window_prefetch(ring, e->win_cap);
		if (eng_det_update(e, r, (char *)s->block + sl[i].det_off, p, &res) != 0) {
			e->st.det_errors++;
			continue;
		}
		if (!isnan(res.score))
			rst->scored++;
		enum rule_transition tr = rule_eval(r, &sl[i].st, p->ts, p->value, &res, pos);
		if (ring)
			window_push(ring, e->win_cap, p->ts, p->value, res.expected, res.lower, res.upper,
				    !isnan(res.score) && (sl[i].st.hist & 1));
		rst->fired += tr == RULE_FIRE;
		if (tr != RULE_NONE)
			eng_emit(e, r, &sl[i].st, tr, e->key, p, pos, &res, ring);
	}
	return 0;
}

int engine_flush_held(struct engine *e)
{
	int rc = 0;
	char scratch[KEY_MAX + 1]; /* p's strings (e->mkey_scratch is the peer groups') */
	for (size_t i = 0; i < e->tab.n; i++) {
		struct series *s = &e->tab.items[i];
		struct point p;
		if (isinf(s->held_ts))
			continue;
		memcpy(e->key, series_key_str(&e->tab, s), s->key_len + 1);
		if (eng_key_to_point(e->key, s->key_len, scratch, &p) != 0)
			continue; /* keys are built by series_key: cannot happen */
		p.ts = s->held_ts;
		p.value = s->held_val;
		s->held_ts = -INFINITY;
		e->st.skew_pending--;
		if (p.ts > e->st.newest_ts)
			e->st.newest_ts = p.ts;
		int r = series_point(e, &e->tab.items[i], &p, e->cur_source, e->cur_pos);
		if (r != 0 && rc == 0)
			rc = r;
	}
	return rc;
}

size_t engine_series_names(const struct engine *e, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < e->ncache.n && n < max; i++)
		out[n++] = series_key_str(&e->ncache, &e->ncache.items[i]);
	return n;
}

const struct ruleset *engine_ruleset(const struct engine *e)
{
	return e->rs;
}

void engine_set_default_hook(void (*fn)(void *ctx, struct engine *e, const struct point *p), void *ctx)
{
	default_hook = fn;
	default_hook_ctx = ctx;
}

const struct engine_rule_stats *engine_rule_stats(const struct engine *e)
{
	return e->rstat;
}

void engine_get_stats(const struct engine *e, struct engine_stats *out)
{
	*out = e->st;
	out->series = e->tab.n;
	out->groups = e->gtab.n;
	out->bytes = sizeof *e + series_table_bytes(&e->tab) + e->block_bytes + series_table_bytes(&e->gtab) +
		     e->st.group_bytes + series_table_bytes(&e->ncache);
}
