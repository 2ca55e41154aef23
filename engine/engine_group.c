/* Peer groups of the engine (rules with peer_group:, detectors/group.h): groups live in a
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

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "engine/engine_int.h"

/* Bytes a group holds for its current member capacity. */
size_t eng_group_size(const struct group_type *gt, const struct rule *r, const struct group *g)
{
	return sizeof *g + g->cap * sizeof *g->mem + g->W * (sizeof *g->pend + g->cap * sizeof(struct pval)) +
	       gt->state_size(r->det.cfg);
}

/* Make room for member slot index `need` (grows the member arrays). */
int eng_group_reserve(struct group *g, uint32_t need)
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
struct group *eng_group_new(const struct rule *r, uint32_t ri)
{
	const struct group_type *gt = eng_rule_group(r);
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
	eng_group_free(g);
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
		struct group *g = eng_group_new(r, r->index);
		if (g == NULL || (gs = series_insert(&e->gtab, key, (size_t)klen, h)) == NULL) {
			eng_group_free(g);
			return NO_GROUP;
		}
		gs->block = g;
		g->bytes = eng_group_size(eng_rule_group(r), r, g);
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
	g = eng_group_at(e, gi);
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
	int rc = eng_group_reserve(g, g->n);
	g->bytes = eng_group_size(eng_rule_group(r), r, g);
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
struct slot *eng_slot_of(struct series *s, uint32_t ri)
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
	const struct group_type *gt = eng_rule_group(r);
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

		if (!v->present || (sl = eng_slot_of(ms, g->rule)) == NULL)
			continue;
		tr = rule_eval(r, &sl->st, v->ts, v->val, &e->gres[i], v->pos);
		if (tr == RULE_NONE)
			continue;
		if (eng_key_to_point(series_key_str(&e->tab, ms), ms->key_len, e->mkey_scratch, &mp) != 0)
			continue;
		mp.ts = v->ts;
		mp.value = v->val;
		eng_emit(e, r, &sl->st, tr, series_key_str(&e->tab, ms), &mp, v->pos, &e->gres[i], NULL);
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

void eng_group_point(struct engine *e, struct series *s, struct slot *sl, const struct point *p, int64_t pos)
{
	const struct rule *r = &e->rs->rules[sl->rule];
	struct group *g;
	struct pend *pd;
	int64_t t;

	if (sl->group == NO_GROUP)
		group_join(e, s, sl, p);
	if (sl->group == NO_GROUP || sl->group == REFUSED_GROUP)
		return;
	g = eng_group_at(e, sl->group);
	t = eng_tick_of(p->ts, r->peer.step);
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
	pd = &g->pend[eng_ring_at(g, t)];
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

int eng_key_to_point(const char *key, size_t len, char *scratch, struct point *p)
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
