/* The engine, see engine.h. Per series it keeps one block holding, for each
 * rule that watches the series, a slot header (rule index + rule state) and
 * the detector state, so a series costs one allocation.
 *
 * Peer groups (rules with peer_group:, detectors/group.h): groups live in a
 * second table keyed by (rule name, values of the `by` tags), rendered like a
 * series key. A member series' slot for such a rule holds its rule state and
 * its (group, member) indices instead of a detector state; a series joins its
 * group at its first point and gets the next member slot (arrival order), or
 * is refused (counted, rate-limited log) when the group has max_members.
 * Each group buffers its members' points per tick (tick = floor(ts / step);
 * a second point of a member in the same tick replaces the first) in a ring
 * of W = ceil(deadline / step) + 2 open ticks. The oldest open tick T closes
 * when every member has reported T or a later tick, or when a member's point
 * arrives with ts >= (T + 1)·step + deadline (a tick older than the ring
 * holds is closed early). Closing runs the group detector over the members
 * (absent ones are filled by the model and not scored; no update at all when
 * fewer than min_members are present) and feeds each present member's result
 * through rule_eval, so alerts carry the member series' key and labels. A
 * point for a closed tick is dropped and counted as `late`. Ticks still open
 * when the input ends stay open (and are checkpointed). */
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "engine/series.h"
#include "detectors/group.h"

#define KEY_MAX            4096
#define DEFAULT_MAX_SERIES 1000000
#define ENGINE_MAGIC       0x4e454756u /* "VGEN" */
#define ENGINE_VERSION     2u          /* 2: peer groups */
#define NO_GROUP           UINT32_MAX
#define REFUSED_GROUP      (UINT32_MAX - 1)
#define TICK_NONE          INT64_MIN

struct slot {
	uint32_t rule;
	uint32_t det_off; /* byte offset of the detector state within the block (0 for a group rule) */
	uint32_t group;   /* group rule: index in gtab, NO_GROUP before joining, REFUSED_GROUP */
	uint32_t member;  /* group rule: member slot in the group */
	struct rule_state st;
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
	size_t max_series;
	struct series_table tab;
	size_t *owner_series; /* series count per owner index */
	uint8_t *owner_limit_told;
	int global_limit_told;
	size_t block_bytes;
	double now;
	struct engine_stats st;
	struct complain reject_complain, limit_complain, group_complain;
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

static const struct group_type *rule_group(const struct rule *r)
{
	return r->peer.nby ? group_of(r->det.type) : NULL;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int engine_create(const struct engine_opts *o, struct engine **out, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof *e);

	if (e == NULL)
		goto nomem;
	e->rs = o->rs;
	e->on_alert = o->on_alert;
	e->alert_ctx = o->alert_ctx;
	e->max_series = o->max_series ? o->max_series : DEFAULT_MAX_SERIES;
	e->now = -INFINITY;
	series_table_init(&e->tab);
	e->owner_series = calloc(o->rs->nowners + 1, sizeof *e->owner_series);
	e->owner_limit_told = calloc(o->rs->nowners + 1, 1);
	if (e->owner_series == NULL || e->owner_limit_told == NULL)
		goto nomem;
	series_table_init(&e->gtab);
	for (size_t i = 0; i < o->rs->nrules; i++) {
		const struct group_type *g = rule_group(&o->rs->rules[i]);
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
		if (rule_group(r) == NULL)
			det_state_fini(&r->det, (char *)s->block + sl[i].det_off);
	}
	free(s->block);
	s->block = NULL;
	s->nslots = 0;
}

static void group_free(struct group *g)
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
		group_free(e->gtab.items[i].block);
	series_table_fini(&e->gtab);
	series_table_init(&e->gtab);
	e->st.group_bytes = 0;
	e->st.group_members = 0;
}

static void clear_series(struct engine *e)
{
	clear_groups(e);
	for (size_t i = 0; i < e->tab.n; i++)
		free_block(e, &e->tab.items[i]);
	series_table_fini(&e->tab);
	series_table_init(&e->tab);
	memset(e->owner_series, 0, (e->rs->nowners + 1) * sizeof *e->owner_series);
	e->block_bytes = 0;
}

void engine_destroy(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->rs)
		clear_series(e);
	series_table_fini(&e->tab);
	series_table_fini(&e->gtab);
	free(e->gx);
	free(e->gpresent);
	free(e->gres);
	free(e->owner_series);
	free(e->owner_limit_told);
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

/* Emit a meta alert about a refused series (once per limit). */
static void limit_alert(struct engine *e, const char *owner, size_t limit, const struct point *p)
{
	struct alert_event ev;
	char summary[256];

	memset(&ev, 0, sizeof ev);
	snprintf(summary, sizeof summary,
		 "series limit %zu reached%s%s: new series are refused until the limit is raised", limit,
		 owner ? " for owner " : "", owner ? owner : "");
	ev.status = ALERT_FIRING;
	ev.rule = "vigil-series-limit";
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

static int refuse(struct engine *e, const struct point *p, const struct owner *o, size_t limit)
{
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
static struct series *add_series(struct engine *e, const struct point *p, size_t klen, uint64_t h)
{
	uint32_t matched[256];
	size_t nm = 0, bytes;
	struct series *s;

	if (e->tab.n >= e->max_series) {
		refuse(e, p, NULL, e->max_series);
		return NULL;
	}
	for (size_t i = 0; i < e->rs->nrules && nm < VIGIL_ARRAY_LEN(matched); i++)
		if (rule_matches(&e->rs->rules[i], p->name, p->tags, p->ntags))
			matched[nm++] = (uint32_t)i;
	for (size_t i = 0; i < nm; i++) {
		const struct owner *o = e->rs->rules[matched[i]].owner;
		if (o && o->max_series && e->owner_series[o - e->rs->owners] >= o->max_series) {
			refuse(e, p, o, o->max_series);
			return NULL;
		}
	}
	bytes = align8(nm * sizeof(struct slot));
	for (size_t i = 0; i < nm; i++)
		if (rule_group(&e->rs->rules[matched[i]]) == NULL)
			bytes += align8(det_state_size(&e->rs->rules[matched[i]].det));
	s = series_insert(&e->tab, e->key, klen, h);
	if (s == NULL)
		return NULL;
	if (nm == 0)
		return s;
	s->block = calloc(1, bytes);
	if (s->block == NULL)
		return s; /* watched by nothing rather than lost: counted as unmatched */
	struct slot *sl = s->block;
	size_t off = align8(nm * sizeof(struct slot));
	for (size_t i = 0; i < nm; i++) {
		const struct rule *r = &e->rs->rules[matched[i]];
		sl[i].rule = matched[i];
		sl[i].group = NO_GROUP;
		if (rule_group(r) != NULL)
			continue; /* joins its group at its first point */
		sl[i].det_off = (uint32_t)off;
		if (det_state_init(&r->det, (char *)s->block + off) != 0)
			LOG_ERR("detector", "event=init_failed rule=%s series=%s", r->name, e->key);
		off += align8(det_state_size(&r->det));
	}
	s->nslots = (uint32_t)nm;
	e->block_bytes += bytes;
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

static void emit(struct engine *e, const struct rule *r, const struct rule_state *st, enum rule_transition tr,
		 const char *key, const struct point *p, int64_t pos, const struct det_result *res)
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
	e->st.alerts++;
	if (e->on_alert && e->on_alert(e->alert_ctx, &ev) != 0)
		e->st.alert_failures++;
}

/* ---- peer groups ---- */

static int key_to_point(const char *key, size_t len, char *scratch, struct point *p);

static int64_t tick_of(double ts, double step)
{
	double t = floor(ts / step);
	if (!(t > -9.0e18 && t < 9.0e18))
		return TICK_NONE;
	return (int64_t)t;
}

static uint32_t ring_at(const struct group *g, int64_t tick)
{
	int64_t w = tick % (int64_t)g->W;
	return (uint32_t)(w < 0 ? w + (int64_t)g->W : w);
}

static struct group *group_at(const struct engine *e, uint32_t gi)
{
	return e->gtab.items[gi].block;
}

/* Bytes a group holds for its current member capacity. */
static size_t group_size(const struct group_type *gt, const struct rule *r, const struct group *g)
{
	return sizeof *g + g->cap * sizeof *g->mem + g->W * (sizeof *g->pend + g->cap * sizeof(struct pval)) +
	       gt->state_size(r->det.cfg);
}

/* Make room for member slot index `need` (grows the member arrays). */
static int group_reserve(struct group *g, uint32_t need)
{
	uint32_t ncap;
	struct member *nm;

	if (need < g->cap)
		return 0;
	ncap = g->cap ? g->cap * 2 : 8;
	while (ncap <= need)
		ncap *= 2;
	if (ncap > g->K)
		ncap = g->K;
	if ((nm = realloc(g->mem, ncap * sizeof *nm)) == NULL)
		return -VIGIL_ENOMEM;
	g->mem = nm;
	for (uint32_t w = 0; w < g->W; w++) {
		struct pval *v = realloc(g->pend[w].v, ncap * sizeof *v);
		if (v == NULL)
			return -VIGIL_ENOMEM; /* arrays keep cap entries at least */
		memset(v + g->cap, 0, (ncap - g->cap) * sizeof *v);
		g->pend[w].v = v;
	}
	g->cap = ncap;
	return 0;
}

/* A new empty group for rule r (not yet in the table). */
static struct group *group_new(const struct rule *r, uint32_t ri)
{
	const struct group_type *gt = rule_group(r);
	struct group *g = calloc(1, sizeof *g);
	double steps = ceil(r->peer.deadline / r->peer.step);

	if (g == NULL)
		return NULL;
	g->rule = ri;
	g->K = (uint32_t)gt->max_members(r->det.cfg);
	g->W = (uint32_t)(steps > 0 ? steps : 0) + 2;
	g->last_closed = g->hi = TICK_NONE;
	g->clock = -INFINITY;
	g->pend = calloc(g->W, sizeof *g->pend);
	g->det = calloc(1, gt->state_size(r->det.cfg));
	if (g->pend == NULL || g->det == NULL)
		goto fail;
	for (uint32_t w = 0; w < g->W; w++)
		g->pend[w].tick = TICK_NONE;
	if (gt->init(r->det.cfg, g->det) != 0)
		goto fail;
	return g;
fail:
	group_free(g);
	return NULL;
}

/* Find or create the group of rule r for the point p; returns its index or
 * NO_GROUP (out of memory). */
static uint32_t group_lookup(struct engine *e, const struct rule *r, const struct point *p)
{
	struct point gp;
	char key[KEY_MAX];
	int klen;
	uint64_t h;
	struct series *gs;

	memset(&gp, 0, sizeof gp);
	gp.name = r->name;
	for (size_t i = 0; i < r->peer.nby && gp.ntags < POINT_MAX_TAGS; i++) {
		gp.tags[gp.ntags].key = r->peer.by[i];
		gp.tags[gp.ntags].value = "";
		for (int j = 0; j < p->ntags; j++)
			if (strcmp(p->tags[j].key, r->peer.by[i]) == 0)
				gp.tags[gp.ntags].value = p->tags[j].value;
		gp.ntags++;
	}
	if ((klen = series_key(&gp, key, sizeof key)) < 0)
		return NO_GROUP;
	h = hash_mix(hash_bytes(HASH_SEED, key, (size_t)klen));
	if ((gs = series_find(&e->gtab, key, (size_t)klen, h)) == NULL) {
		struct group *g = group_new(r, r->index);
		if (g == NULL || (gs = series_insert(&e->gtab, key, (size_t)klen, h)) == NULL) {
			group_free(g);
			return NO_GROUP;
		}
		gs->block = g;
		g->bytes = group_size(rule_group(r), r, g);
		e->st.group_bytes += g->bytes;
	}
	return (uint32_t)(gs - e->gtab.items);
}

/* Put series s (slot sl of a group rule) into its group. */
static void group_join(struct engine *e, struct series *s, struct slot *sl, const struct point *p)
{
	const struct rule *r = &e->rs->rules[sl->rule];
	uint32_t gi = group_lookup(e, r, p);
	struct group *g;

	if (gi == NO_GROUP) {
		e->st.det_errors++;
		return;
	}
	g = group_at(e, gi);
	if (g->n >= g->K) {
		sl->group = REFUSED_GROUP;
		e->st.group_refused++;
		if (complain_due(&e->group_complain, p->ts, 60.0, 5))
			LOG_ERR("group",
				"event=member_refused rule=%s group=%s max_members=%u series=%s "
				"refused_total=%llu",
				r->name, series_key_str(&e->gtab, &e->gtab.items[gi]), g->K, e->key,
				(unsigned long long)e->st.group_refused);
		return;
	}
	e->st.group_bytes -= g->bytes;
	int rc = group_reserve(g, g->n);
	g->bytes = group_size(rule_group(r), r, g);
	e->st.group_bytes += g->bytes;
	if (rc != 0) {
		e->st.det_errors++;
		return;
	}
	g->mem[g->n].series = (uint32_t)(s - e->tab.items);
	g->mem[g->n].tick = TICK_NONE;
	sl->group = gi;
	sl->member = g->n++;
	e->st.group_members++;
}

/* The slot of rule ri in series s, or NULL. */
static struct slot *slot_of(struct series *s, uint32_t ri)
{
	struct slot *sl = s->block;
	for (uint32_t i = 0; i < s->nslots; i++)
		if (sl[i].rule == ri)
			return &sl[i];
	return NULL;
}

/* Close the open tick in ring slot w: run the detector, evaluate the rule
 * for each present member. */
static void group_close(struct engine *e, struct group *g, uint32_t w)
{
	const struct rule *r = &e->rs->rules[g->rule];
	const struct group_type *gt = rule_group(r);
	struct pend *pd = &g->pend[w];
	int64_t tick = pd->tick;
	size_t npresent = 0;

	pd->tick = TICK_NONE;
	if (g->last_closed == TICK_NONE || tick > g->last_closed)
		g->last_closed = tick;
	e->st.ticks_closed++;
	for (uint32_t i = 0; i < g->n; i++) {
		e->gpresent[i] = pd->v[i].present;
		e->gx[i] = pd->v[i].present ? pd->v[i].val : NAN;
		npresent += pd->v[i].present;
	}
	if (npresent < r->peer.min_members || g->n == 0)
		goto clear; /* no opinion, nothing learnt */
	if (gt->update(r->det.cfg, g->det, (double)tick * r->peer.step, g->n, e->gx, e->gpresent, e->gres) !=
	    0) {
		e->st.det_errors++;
		goto clear;
	}
	for (uint32_t i = 0; i < g->n; i++) {
		const struct pval *v = &pd->v[i];
		struct series *ms = &e->tab.items[g->mem[i].series];
		struct slot *sl;
		struct point mp;
		enum rule_transition tr;

		if (!v->present || (sl = slot_of(ms, g->rule)) == NULL)
			continue;
		tr = rule_eval(r, &sl->st, v->ts, v->val, &e->gres[i], v->pos);
		if (tr == RULE_NONE)
			continue;
		if (key_to_point(series_key_str(&e->tab, ms), ms->key_len, e->mkey_scratch, &mp) != 0)
			continue;
		mp.ts = v->ts;
		mp.value = v->val;
		emit(e, r, &sl->st, tr, series_key_str(&e->tab, ms), &mp, v->pos, &e->gres[i]);
	}
clear:
	for (uint32_t i = 0; i < g->cap; i++)
		pd->v[i].present = 0;
}

/* The oldest open tick's ring slot, or UINT32_MAX. */
static uint32_t oldest_open(const struct group *g)
{
	uint32_t best = UINT32_MAX;
	for (uint32_t w = 0; w < g->W; w++)
		if (g->pend[w].tick != TICK_NONE &&
		    (best == UINT32_MAX || g->pend[w].tick < g->pend[best].tick))
			best = w;
	return best;
}

/* Close what is due: ticks past their deadline, ticks the ring can no longer
 * hold, and the oldest tick once every member reported it or later. */
static void group_close_due(struct engine *e, struct group *g)
{
	const struct rule *r = &e->rs->rules[g->rule];
	uint32_t w;

	while ((w = oldest_open(g)) != UINT32_MAX) {
		int64_t t = g->pend[w].tick;
		int due = (double)(t + 1) * r->peer.step + r->peer.deadline <= g->clock ||
			  t <= g->hi - (int64_t)g->W;
		if (!due) {
			due = 1;
			for (uint32_t i = 0; due && i < g->n; i++)
				due = g->mem[i].tick != TICK_NONE && g->mem[i].tick >= t;
		}
		if (!due)
			return;
		group_close(e, g, w);
	}
}

static void group_point(struct engine *e, struct series *s, struct slot *sl, const struct point *p,
			int64_t pos)
{
	const struct rule *r = &e->rs->rules[sl->rule];
	struct group *g;
	struct pend *pd;
	int64_t t;

	if (sl->group == NO_GROUP)
		group_join(e, s, sl, p);
	if (sl->group == NO_GROUP || sl->group == REFUSED_GROUP)
		return;
	g = group_at(e, sl->group);
	t = tick_of(p->ts, r->peer.step);
	if (t == TICK_NONE || !isfinite(p->value)) {
		e->st.det_errors++;
		return;
	}
	if (g->last_closed != TICK_NONE && t <= g->last_closed) {
		e->st.late++;
		return;
	}
	if (p->ts > g->clock)
		g->clock = p->ts;
	if (g->hi == TICK_NONE || t > g->hi)
		g->hi = t;
	group_close_due(e, g); /* deadlines, ring room */
	if (g->last_closed == TICK_NONE || g->last_closed < g->hi - (int64_t)g->W)
		g->last_closed = g->hi - (int64_t)g->W; /* the ring holds ticks above this */
	if (g->last_closed != TICK_NONE && t <= g->last_closed) {
		e->st.late++;
		return;
	}
	pd = &g->pend[ring_at(g, t)];
	if (pd->tick != t) {
		pd->tick = t;
		for (uint32_t i = 0; i < g->cap; i++)
			pd->v[i].present = 0;
	}
	pd->v[sl->member] = (struct pval){.val = p->value, .ts = p->ts, .pos = pos, .present = 1};
	if (g->mem[sl->member].tick == TICK_NONE || t > g->mem[sl->member].tick)
		g->mem[sl->member].tick = t;
	group_close_due(e, g); /* every member reported */
}

int engine_point(struct engine *e, const struct point *p, const char *source, int64_t pos)
{
	int klen;
	uint64_t h;
	struct series *s;

	e->cur_source = source;
	e->cur_pos = pos;
	e->st.points++;
	klen = series_key(p, e->key, sizeof e->key);
	if (klen < 0) {
		engine_note_reject(e, source, pos, "series key too long");
		return -VIGIL_EINVAL;
	}
	h = hash_mix(hash_bytes(HASH_SEED, e->key, (size_t)klen));
	s = series_find(&e->tab, e->key, (size_t)klen, h);
	if (s == NULL && (s = add_series(e, p, (size_t)klen, h)) == NULL)
		return -VIGIL_ELIMIT;
	if (!(p->ts > s->last_ts)) {
		e->st.out_of_order++;
		return 0;
	}
	s->last_ts = p->ts;
	if (p->ts > e->now)
		e->now = p->ts;
	if (s->nslots == 0) {
		e->st.unmatched++;
		return 0;
	}
	struct slot *sl = s->block;
	for (uint32_t i = 0; i < s->nslots; i++) {
		const struct rule *r = &e->rs->rules[sl[i].rule];
		struct det_result res;
		if (rule_group(r) != NULL) {
			group_point(e, s, &sl[i], p, pos);
			continue;
		}
		if (r->det.type->update(r->det.cfg, (char *)s->block + sl[i].det_off, p->ts, p->value,
					&res) != 0) {
			e->st.det_errors++;
			continue;
		}
		enum rule_transition tr = rule_eval(r, &sl[i].st, p->ts, p->value, &res, pos);
		if (tr != RULE_NONE)
			emit(e, r, &sl[i].st, tr, e->key, p, pos, &res);
	}
	return 0;
}

void engine_get_stats(const struct engine *e, struct engine_stats *out)
{
	*out = e->st;
	out->series = e->tab.n;
	out->groups = e->gtab.n;
	out->bytes = sizeof *e + series_table_bytes(&e->tab) + e->block_bytes + series_table_bytes(&e->gtab) +
		     e->st.group_bytes;
}

/* ---- checkpoint ----
 * u32 magic, u32 version, u32 nrules, nrules × str rule name,
 * u64 nseries, per series: str key, f64 last_ts, u32 nslots,
 *   per slot: u32 rule index (into the saved names), rule_state bytes,
 *   u32 det blob length, det blob (det_state_save envelope; empty for a
 *   group rule),
 * u64 ngroups, per group: str key, u32 rule index (saved names), f64 clock,
 *   i64 last_closed, i64 hi, u32 n members, per member: str series key,
 *   i64 newest tick; u32 open ticks, per open tick: i64 tick, per member:
 *   u8 present, f64 value, f64 ts, i64 pos; u32 blob length, blob
 *   (group_state_save envelope).
 * Version 1 blobs (before peer groups) are refused with -VIGIL_EVERSION. */

static void put_i64(struct buf *out, int64_t v)
{
	buf_put_u64(out, (uint64_t)v);
}
static int64_t rd_i64(struct reader *r)
{
	return (int64_t)rd_u64(r);
}

static int save_groups(const struct engine *e, struct buf *out)
{
	buf_put_u64(out, e->gtab.n);
	for (size_t i = 0; i < e->gtab.n; i++) {
		const struct series *gs = &e->gtab.items[i];
		const struct group *g = gs->block;
		const struct rule *r = &e->rs->rules[g->rule];
		uint32_t nopen = 0;
		size_t at;
		uint32_t blen;
		int rc;

		buf_put_u32(out, gs->key_len);
		buf_put(out, series_key_str(&e->gtab, gs), gs->key_len);
		buf_put_u32(out, g->rule);
		buf_put_f64(out, g->clock);
		put_i64(out, g->last_closed);
		put_i64(out, g->hi);
		buf_put_u32(out, g->n);
		for (uint32_t m = 0; m < g->n; m++) {
			const struct series *ms = &e->tab.items[g->mem[m].series];
			buf_put_u32(out, ms->key_len);
			buf_put(out, series_key_str(&e->tab, ms), ms->key_len);
			put_i64(out, g->mem[m].tick);
		}
		for (uint32_t w = 0; w < g->W; w++)
			nopen += g->pend[w].tick != TICK_NONE;
		buf_put_u32(out, nopen);
		for (uint32_t w = 0; w < g->W; w++) {
			if (g->pend[w].tick == TICK_NONE)
				continue;
			put_i64(out, g->pend[w].tick);
			for (uint32_t m = 0; m < g->n; m++) {
				const struct pval *v = &g->pend[w].v[m];
				buf_put(out, &v->present,
					1); /* an absent member's entry is written as zeros */
				buf_put_f64(out, v->present ? v->val : 0.0);
				buf_put_f64(out, v->present ? v->ts : 0.0);
				put_i64(out, v->present ? v->pos : 0);
			}
		}
		at = out->len;
		buf_put_u32(out, 0);
		if ((rc = group_state_save(rule_group(r), r->det.cfg, g->det, out)) != 0)
			return rc;
		if (!buf_ok(out))
			return -VIGIL_ENOMEM;
		blen = (uint32_t)(out->len - at - sizeof blen);
		memcpy(out->data + at, &blen, sizeof blen);
	}
	return 0;
}

int engine_save(const struct engine *e, struct buf *out)
{
	buf_put_u32(out, ENGINE_MAGIC);
	buf_put_u32(out, ENGINE_VERSION);
	buf_put_u32(out, (uint32_t)e->rs->nrules);
	for (size_t i = 0; i < e->rs->nrules; i++)
		buf_put_str(out, e->rs->rules[i].name);
	buf_put_u64(out, e->tab.n);
	for (size_t i = 0; i < e->tab.n; i++) {
		const struct series *s = &e->tab.items[i];
		const struct slot *sl = s->block;
		buf_put_u32(out, s->key_len);
		buf_put(out, series_key_str(&e->tab, s), s->key_len);
		buf_put_f64(out, s->last_ts);
		buf_put_u32(out, s->nslots);
		for (uint32_t j = 0; j < s->nslots; j++) {
			const struct rule *r = &e->rs->rules[sl[j].rule];
			size_t at;
			uint32_t blen;
			buf_put_u32(out, sl[j].rule);
			buf_put(out, &sl[j].st, sizeof sl[j].st);
			at = out->len;
			buf_put_u32(out, 0);
			if (rule_group(r) != NULL)
				continue;
			int rc = det_state_save(&r->det, (const char *)s->block + sl[j].det_off, out);
			if (rc != 0)
				return rc;
			if (!buf_ok(out))
				return -VIGIL_ENOMEM;
			blen = (uint32_t)(out->len - at - sizeof blen);
			memcpy(out->data + at, &blen, sizeof blen);
		}
	}
	int rc = save_groups(e, out);
	if (rc != 0)
		return rc;
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

/* Parse a canonical key back into a point (name + tags) in scratch storage. */
static int key_to_point(const char *key, size_t len, char *scratch, struct point *p)
{
	size_t o = 0;
	char *field = scratch;
	int state = 0; /* 0 name, 1 tag key, 2 tag value */

	memset(p, 0, sizeof *p);
	p->name = scratch;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (c == '\\' && i + 1 < len) {
			scratch[o++] = key[++i];
			continue;
		}
		if (state == 0 && c == '{') {
			scratch[o++] = '\0';
			field = scratch + o;
			state = 1;
		} else if (state == 1 && c == '=') {
			scratch[o++] = '\0';
			if (p->ntags >= POINT_MAX_TAGS)
				return -1;
			p->tags[p->ntags].key = field;
			field = scratch + o;
			state = 2;
		} else if (state == 2 && (c == ',' || c == '}')) {
			scratch[o++] = '\0';
			p->tags[p->ntags++].value = field;
			field = scratch + o;
			state = 1;
		} else {
			scratch[o++] = c;
		}
	}
	scratch[o] = '\0';
	return state == 2 ? -1 : 0;
}

/* Read one group record; restore it when its rule still is a group rule and
 * every saved member maps to a series slot of that rule not yet in a group
 * (otherwise it is skipped and its members join afresh). Returns 0 or
 * -VIGIL_EINVAL for a malformed blob. */
static int load_group(struct engine *e, struct reader *r, const int32_t *map, uint32_t nrules, char *key)
{
	uint32_t klen = rd_u32(r), ri, n, nopen, blen;
	char gkey[KEY_MAX];
	struct group *g = NULL;
	const struct rule *ru = NULL;
	struct slot **slots = NULL;
	uint64_t h;
	struct series *gs;
	int ok = 1, rc = -VIGIL_EINVAL;

	if (!reader_ok(r) || klen >= KEY_MAX)
		return -VIGIL_EINVAL;
	rd_get(r, gkey, klen);
	ri = rd_u32(r);
	if (!reader_ok(r) || ri >= nrules)
		return -VIGIL_EINVAL;
	if (map[ri] < 0 || rule_group(&e->rs->rules[map[ri]]) == NULL)
		ok = 0;
	else
		ru = &e->rs->rules[map[ri]];
	if (ok && (g = group_new(ru, (uint32_t)map[ri])) == NULL)
		return -VIGIL_ENOMEM;
	double clock = rd_f64(r);
	int64_t last_closed = rd_i64(r), hi = rd_i64(r);
	n = rd_u32(r);
	if (!reader_ok(r) || n > r->left)
		goto out;
	if (g && n > g->K)
		ok = 0;
	if (ok && (group_reserve(g, n ? n - 1 : 0) != 0 || (slots = calloc(n + 1, sizeof *slots)) == NULL)) {
		rc = -VIGIL_ENOMEM;
		goto out;
	}
	for (uint32_t m = 0; m < n; m++) {
		uint32_t mlen = rd_u32(r);
		if (!reader_ok(r) || mlen >= KEY_MAX)
			goto out;
		rd_get(r, key, mlen);
		int64_t tick = rd_i64(r);
		if (!reader_ok(r))
			goto out;
		if (!ok)
			continue;
		struct series *ms =
			series_find(&e->tab, key, mlen, hash_mix(hash_bytes(HASH_SEED, key, mlen)));
		struct slot *sl = ms ? slot_of(ms, (uint32_t)map[ri]) : NULL;
		for (uint32_t j = 0; sl && j < m; j++)
			if (slots[j] == sl)
				sl = NULL;
		if (sl == NULL || sl->group != NO_GROUP) {
			ok = 0;
			continue;
		}
		slots[m] = sl;
		g->mem[m].series = (uint32_t)(ms - e->tab.items);
		g->mem[m].tick = tick;
	}
	nopen = rd_u32(r);
	if (!reader_ok(r))
		goto out;
	for (uint32_t o = 0; o < nopen; o++) {
		int64_t tick = rd_i64(r);
		struct pend *pd = NULL;
		if (!reader_ok(r) || tick == TICK_NONE)
			goto out;
		if (ok) {
			pd = &g->pend[ring_at(g, tick)];
			if (pd->tick != TICK_NONE || nopen > g->W)
				ok = 0;
			else
				pd->tick = tick;
		}
		for (uint32_t m = 0; m < n; m++) {
			struct pval v;
			rd_get(r, &v.present, 1);
			v.val = rd_f64(r);
			v.ts = rd_f64(r);
			v.pos = rd_i64(r);
			if (!reader_ok(r) || v.present > 1)
				goto out;
			if (ok)
				pd->v[m] = v;
		}
	}
	blen = rd_u32(r);
	if (!reader_ok(r) || blen > r->left)
		goto out;
	const uint8_t *blob = r->p;
	r->p += blen;
	r->left -= blen;
	rc = 0;
	if (!ok)
		goto out;
	/* a detector state that does not load leaves a fresh model */
	group_state_load(rule_group(ru), ru->det.cfg, g->det, blob, blen);
	g->clock = clock;
	g->last_closed = last_closed;
	g->hi = hi;
	g->n = n;
	h = hash_mix(hash_bytes(HASH_SEED, gkey, klen));
	if (series_find(&e->gtab, gkey, klen, h) != NULL)
		goto out; /* a duplicate: keep the first */
	if ((gs = series_insert(&e->gtab, gkey, klen, h)) == NULL) {
		rc = -VIGIL_ENOMEM;
		goto out;
	}
	gs->block = g;
	g->bytes = group_size(rule_group(ru), ru, g);
	e->st.group_bytes += g->bytes;
	e->st.group_members += n;
	for (uint32_t m = 0; m < n; m++) {
		slots[m]->group = (uint32_t)(gs - e->gtab.items);
		slots[m]->member = m;
	}
	g = NULL; /* owned by the table */
out:
	free(slots);
	group_free(g);
	return rc;
}

int engine_load(struct engine *e, const uint8_t *data, size_t len)
{
	struct reader r = reader_of(data, len);
	uint32_t magic = rd_u32(&r), version = rd_u32(&r), nrules = rd_u32(&r);
	int32_t *map = NULL;
	char *scratch = NULL, *key = NULL;
	int rc = -VIGIL_EINVAL;

	clear_series(e);
	if (!reader_ok(&r) || magic != ENGINE_MAGIC)
		return -VIGIL_EINVAL;
	if (version != ENGINE_VERSION)
		return -VIGIL_EVERSION;
	if (nrules > 1000000 || (map = calloc(nrules + 1, sizeof *map)) == NULL)
		return -VIGIL_EINVAL;
	for (uint32_t i = 0; i < nrules; i++) {
		uint32_t n = rd_u32(&r);
		char name[512];
		map[i] = -1;
		if (!reader_ok(&r) || n >= sizeof name)
			goto out;
		rd_get(&r, name, n);
		name[n] = '\0';
		for (size_t k = 0; k < e->rs->nrules; k++)
			if (strcmp(e->rs->rules[k].name, name) == 0)
				map[i] = (int32_t)k;
	}
	uint64_t nseries = rd_u64(&r);
	if (!reader_ok(&r) || nseries > e->max_series)
		goto out;
	scratch = malloc(KEY_MAX + 1);
	key = malloc(KEY_MAX + 1);
	if (scratch == NULL || key == NULL)
		goto out;
	for (uint64_t i = 0; i < nseries; i++) {
		uint32_t klen = rd_u32(&r), nslots;
		struct point p;
		struct series *s;
		if (!reader_ok(&r) || klen >= KEY_MAX)
			goto out;
		rd_get(&r, key, klen);
		key[klen] = '\0';
		double last_ts = rd_f64(&r);
		nslots = rd_u32(&r);
		if (!reader_ok(&r) || key_to_point(key, klen, scratch, &p) != 0)
			goto out;
		memcpy(e->key, key, klen + 1);
		p.ts = last_ts;
		uint64_t h = hash_mix(hash_bytes(HASH_SEED, key, klen));
		s = series_find(&e->tab, key, klen, h);
		if (s == NULL && (s = add_series(e, &p, klen, h)) == NULL)
			goto out;
		s->last_ts = last_ts;
		for (uint32_t j = 0; j < nslots; j++) {
			uint32_t ri = rd_u32(&r), blen;
			struct rule_state st;
			rd_get(&r, &st, sizeof st);
			blen = rd_u32(&r);
			if (!reader_ok(&r) || ri >= nrules || blen > r.left)
				goto out;
			const uint8_t *blob = r.p;
			r.p += blen;
			r.left -= blen;
			/* find the slot of the same (current) rule in the rebuilt block */
			struct slot *sl = s->block;
			for (uint32_t k = 0; map[ri] >= 0 && k < s->nslots; k++) {
				if (sl[k].rule != (uint32_t)map[ri])
					continue;
				const struct rule *ru = &e->rs->rules[sl[k].rule];
				if (rule_group(ru) != NULL) {
					sl[k].st = st; /* group membership comes with the groups */
					continue;
				}
				if (det_state_load(&ru->det, (char *)s->block + sl[k].det_off, blob, blen) ==
				    0)
					sl[k].st = st;
			}
		}
	}
	uint64_t ngroups = rd_u64(&r);
	if (!reader_ok(&r) || ngroups > r.left)
		goto out;
	rc = 0;
	for (uint64_t i = 0; rc == 0 && i < ngroups; i++)
		rc = load_group(e, &r, map, nrules, key);
	if (rc == 0 && r.left != 0)
		rc = -VIGIL_EINVAL;
out:
	if (rc != 0)
		clear_series(e);
	free(map);
	free(scratch);
	free(key);
	return rc;
}
