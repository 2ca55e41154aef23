/* Reloading the owners of a running gateway (gateway_reload, gateway.h).
 *
 * The new owners' routes and destinations are built next to the running
 * ones (gw_routes_build with gw->reload_from set, so gw_add_dest can reuse
 * a running destination of the same log id); if anything fails the running
 * set is left as it was. Then, with nothing left to fail, the swap:
 *  - a destination whose type and settings are unchanged (and name no
 *    env:/file: secret) keeps its instance and queue;
 *  - one whose settings changed, or that names a secret (read again, so a
 *    rotated token takes effect), keeps its queue, and its new instance
 *    replaces the old one between two sends: what is queued goes out with
 *    the new settings (retry settings stay those the queue started with);
 *  - a new one (or one whose type changed) gets a new queue;
 *  - one no longer configured is retired: what is still queued for it is
 *    dropped at its next attempt, logged and counted (dest_removed_drops)
 *    and dead-lettered, with no meta-alert;
 *  - an owner the new set removed but that still has open alerts, groups
 *    or escalations is kept with its old configuration (its resolves go
 *    where its firings went) until a reload finds nothing of it open;
 *  - groups, escalations (their timers, acknowledgements and who was paged)
 *    and page budgets move to the new route of their owner; an escalation
 *    whose owner's policy changed goes on from the level it reached under
 *    the new policy (past its last level: finished).
 * @thread the gateway's thread (like every gateway_* call); delivery
 * threads go on, a swap waits for a send in progress on that destination. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

static int owner_in(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nowners; i++)
		if (rs->owners[i].name && strcmp(rs->owners[i].name, name) == 0)
			return 1;
	return 0;
}

/* Has owner route r anything open (a group, an escalation, an episode)? */
static int owner_open(const struct gateway *gw, const struct route *r)
{
	for (size_t i = 0; i < gw->ngroups; i++)
		if (gw->groups[i]->o == r)
			return 1;
	for (size_t i = 0; i < gw->nesc; i++)
		if (gw->escs[i]->o == r)
			return 1;
	for (size_t i = 0; i < gw->nep; i++)
		if (gw->eps[i].owner && strcmp(gw->eps[i].owner, r->owner) == 0)
			return 1;
	return 0;
}

/* The index in gw->dests of slot s, or SIZE_MAX. */
static size_t dest_of(const struct gateway *gw, const struct dslot *s)
{
	for (size_t i = 0; i < gw->ndests; i++)
		if (gw->dests[i].slot == s)
			return i;
	return SIZE_MAX;
}

static void routes_free(struct route *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].rt);
		free(r[i].people);
		free(r[i].level_dest);
	}
	free(r);
}

struct saved {
	struct dest *dests;
	size_t ndests, fallback, first_extra, nextra;
	struct route *routes;
	size_t nroutes;
	size_t nslots;
	int any_repeat;
};

/* Undo a build that failed: the new instances and queues go. */
static void rollback(struct gateway *gw, const struct saved *sv)
{
	for (size_t i = 0; i < gw->ndests; i++)
		if (gw->dests[i].swap && gw->dests[i].type->destroy)
			gw->dests[i].type->destroy(gw->dests[i].priv);
	for (size_t i = sv->nslots; i < gw->nslots; i++)
		gw_slot_free(gw->slots[i]);
	gw->nslots = sv->nslots;
	routes_free(gw->routes, gw->nroutes);
	free(gw->dests);
	gw->dests = sv->dests;
	gw->ndests = sv->ndests;
	gw->fallback = sv->fallback;
	gw->first_extra = sv->first_extra;
	gw->nextra = sv->nextra;
	gw->routes = sv->routes;
	gw->nroutes = sv->nroutes;
	gw->any_repeat = sv->any_repeat;
	gw->reload_from = NULL;
	gw->reload_nfrom = 0;
}

/* Move escalation e's "who was paged" to the new destination indices (a
 * retired destination is left out: it gets no resolve). */
static void esc_remap(struct gateway *gw, struct esc *e, const struct saved *sv)
{
	size_t k = 0;
	for (size_t i = 0; i < e->nsent; i++) {
		size_t d = e->sent[i] < sv->ndests ? dest_of(gw, sv->dests[e->sent[i]].slot) : SIZE_MAX;
		if (d != SIZE_MAX)
			e->sent[k++] = d;
	}
	e->nsent = k;
}

int gateway_reload(struct gateway *gw, const struct ruleset *rs, char *err, size_t errlen)
{
	struct saved sv = {gw->dests,  gw->ndests,  gw->fallback, gw->first_extra, gw->nextra,
			   gw->routes, gw->nroutes, gw->nslots,   gw->any_repeat};
	const struct owner **keep = NULL;
	size_t nkeep = 0, total = 1 + gw->nextra;
	size_t kept = 0, changed = 0, added = 0, removed = 0;
	int rc;

	if ((rc = gateway_check(rs, err, errlen)) != 0)
		return rc;
	keep = calloc(gw->nroutes + 1, sizeof *keep);
	if (keep == NULL) {
		snprintf(err, errlen, "gateway: out of memory");
		return -VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < gw->nroutes; i++)
		if (!owner_in(rs, gw->routes[i].owner) && owner_open(gw, &gw->routes[i])) {
			keep[nkeep++] = gw->routes[i].cfg;
			total += gw_owner_ndests(gw->routes[i].cfg);
		}
	total += gw_routes_ndests(rs);
	gw->dests = calloc(total, sizeof *gw->dests);
	gw->routes = calloc(rs->nowners + nkeep + 1, sizeof *gw->routes);
	gw->ndests = gw->nroutes = 0;
	gw->reload_from = sv.dests;
	gw->reload_nfrom = sv.ndests;
	if (gw->dests == NULL || gw->routes == NULL) {
		snprintf(err, errlen, "gateway: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	if ((rc = gw_routes_build(gw, rs, keep, nkeep, err, errlen)) != 0)
		goto fail;
	/* the fallback and the extras come from the command line: unchanged */
	gw->fallback = gw->ndests;
	gw->dests[gw->ndests++] = sv.dests[sv.fallback];
	gw->first_extra = gw->ndests;
	for (size_t i = 0; i < sv.nextra; i++)
		gw->dests[gw->ndests++] = sv.dests[sv.first_extra + i];
	if ((rc = gw_outbox_grow(gw)) != 0) {
		snprintf(err, errlen, "gateway: cannot start delivery threads for the new destinations");
		goto fail;
	}

	/* ---- commit: nothing fails from here on ---- */
	gw->reload_from = NULL;
	gw->reload_nfrom = 0;
	gw->any_repeat = 0;
	for (size_t i = 0; i < gw->ndests; i++) {
		struct dest *d = &gw->dests[i];
		int old = 0;
		for (size_t k = 0; k < sv.ndests && !old; k++)
			old = sv.dests[k].slot == d->slot;
		gw->any_repeat |= d->repeat > 0;
		if (d->swap) {
			struct dslot *s = d->slot;
			pthread_mutex_lock(&s->mu); /* waits for a send in progress */
			void *prev = s->priv;
			s->priv = d->priv;
			s->cfg = d->cfg; /* owner and where stay: delivery threads read them unlocked */
			pthread_mutex_unlock(&s->mu);
			if (prev && s->type->destroy)
				s->type->destroy(prev);
			d->swap = 0;
			changed++;
			LOG_INFO(comp, "event=destination_changed id=%s type=%s where=%s", s->id,
				 s->type->name, d->where);
		} else if (old) {
			kept++;
		} else {
			added++;
			LOG_INFO(comp, "event=destination_added id=%s type=%s where=%s", d->id, d->type->name,
				 d->where);
		}
	}
	for (size_t k = 0; k < sv.ndests; k++) {
		struct dslot *s = sv.dests[k].slot;
		if (dest_of(gw, s) != SIZE_MAX || s->retired)
			continue;
		pthread_mutex_lock(&s->mu); /* waits for a send in progress */
		s->retired = 1;
		void *prev = s->priv;
		s->priv = NULL;
		pthread_mutex_unlock(&s->mu);
		if (prev && s->type->destroy)
			s->type->destroy(prev);
		removed++;
		LOG_WARN(comp,
			 "event=destination_removed id=%s type=%s (notifications still queued for it are "
			 "dropped, logged and counted)",
			 s->id, s->type->name);
	}
	/* groups, escalations, budgets and episodes to the new routes */
	for (size_t i = 0; i < gw->ngroups; i++) {
		struct group *g = gw->groups[i];
		struct route *nr = gw_route_rec(gw, g->o->owner);
		g->o = nr; /* every owner with a group was kept */
		if (g->route >= nr->nrt)
			g->route = 0;
	}
	for (size_t i = 0; i < gw->nesc; i++) {
		struct esc *e = gw->escs[i];
		e->o = gw_route_rec(gw, e->o->owner);
		esc_remap(gw, e, &sv);
		/* the owner's policy may have changed: go on from the level
		 * reached, which the new policy may not have (then finished) */
		const struct escalation_cfg *c = &e->o->cfg->escalation;
		if (e->level > c->nlevels)
			e->level = (unsigned)c->nlevels;
		if (c->nlevels == 0)
			e->next_at = 0;
		e->dirty = 1;
	}
	for (size_t i = 0; i < sv.nroutes; i++) {
		struct route *nr = gw_route_rec(gw, sv.routes[i].owner);
		if (nr)
			nr->budget = sv.routes[i].budget;
		else
			json_decref(sv.routes[i].budget.held);
	}
	for (size_t i = 0; i < gw->nep; i++) {
		struct open_ep *e = &gw->eps[i];
		if (e->owner == NULL)
			continue;
		const char *name = gw_owner_name(gw, e->owner);
		if (name)
			e->owner = name;
		gw_route(gw, e->owner, &e->first, &e->n); /* unknown now: re-sends go to the fallback */
	}
	for (size_t i = 0; i < nkeep; i++)
		LOG_WARN(comp,
			 "event=owner_kept owner=%s (removed from the owners file; kept with its old "
			 "destinations while it has open alerts)",
			 keep[i]->name);
	gw->rs = rs;
	routes_free(sv.routes, sv.nroutes);
	free(sv.dests);
	free(keep);
	if (changed + added + removed + nkeep == 0) {
		LOG_DBG(comp, "event=owners_unchanged destinations=%zu", gw->ndests);
		return 0;
	}
	pthread_mutex_lock(&gw->mu);
	gw->st.owner_reloads++;
	pthread_mutex_unlock(&gw->mu);
	LOG_INFO(comp,
		 "event=owners_reloaded owners=%zu destinations=%zu kept=%zu changed=%zu added=%zu "
		 "removed=%zu "
		 "owners_kept=%zu",
		 rs->nowners, gw->ndests, kept, changed, added, removed, nkeep);
	return 0;
fail:
	rollback(gw, &sv);
	free(keep);
	return rc;
}
