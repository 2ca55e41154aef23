/* The gateway's view of each owner (gateway_int.h struct route): its
 * destinations, its routes with inherited settings resolved, its people
 * and the destinations its escalation levels name.
 *
 * Destination order per owner: the owner's destinations not named by an
 * escalation level (its own route), then those named by a level (reached
 * only by escalation), then each child route's own destinations, then each
 * person's. Log ids: "owner#k" (k = position in the owner's list, so ids
 * stay stable), "owner/route<i>#k", "owner/person:<name>#k".
 * @thread the gateway's creator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/gateway_int.h"

#define DEF_WAIT     30.0
#define DEF_INTERVAL 300.0
#define DEF_REPEAT   14400.0

size_t gw_routes_ndests(const struct ruleset *rs)
{
	size_t n = 0;
	for (size_t i = 0; rs && i < rs->nowners; i++)
		n += gw_owner_ndests(&rs->owners[i]);
	return n;
}

static int route_cmp(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	return strcmp(x->owner, y->owner);
}

struct route *gw_route_rec(const struct gateway *gw, const char *owner)
{
	struct route key = {.owner = owner};
	if (!owner || gw->nroutes == 0)
		return NULL;
	return bsearch(&key, gw->routes, gw->nroutes, sizeof *gw->routes, route_cmp);
}

int gw_route(const struct gateway *gw, const char *owner, size_t *first, size_t *n)
{
	const struct route *r = gw_route_rec(gw, owner);
	if (r) {
		gw_route_dests(gw, &r->rt[0], first, n);
		return 0;
	}
	*first = gw->fallback;
	*n = 1;
	return -1;
}

const char *gw_owner_name(const struct gateway *gw, const char *owner)
{
	const struct route *r = gw_route_rec(gw, owner);
	return r ? r->owner : NULL;
}

/* Is destination d of owner o named by an escalation level? */
static int esc_named(const struct owner *o, const struct destination_cfg *d)
{
	const char *name = rules_dest_name(d);
	for (size_t i = 0; name && i < o->escalation.nlevels; i++)
		if (o->escalation.levels[i].kind == ESC_DESTINATION &&
		    strcmp(o->escalation.levels[i].target, name) == 0)
			return 1;
	return 0;
}

/* Resolve route rt from its config c (NULL: the owner's own) over parent p. */
static void resolve(struct route_rt *rt, const struct group_cfg *g, const struct route_rt *p)
{
	if (g->set) {
		rt->by = g->by;
		rt->nby = g->nby;
		rt->by_all = g->all;
		rt->grouped = 1;
	} else if (p) {
		rt->by = p->by;
		rt->nby = p->nby;
		rt->by_all = p->by_all;
		rt->grouped = p->grouped;
	}
	rt->wait = g->wait >= 0 ? g->wait : p ? p->wait : rt->grouped ? DEF_WAIT : 0;
	rt->interval = g->interval >= 0 ? g->interval : p ? p->interval : rt->grouped ? DEF_INTERVAL : 0;
	rt->repeat = g->repeat >= 0 ? g->repeat : p ? p->repeat : rt->grouped ? DEF_REPEAT : 0;
}

static int build_owner(struct gateway *gw, const struct owner *ow, struct route *r, char *err, size_t errlen)
{
	char id[192];
	int rc;

	r->owner = ow->name;
	r->cfg = ow;
	r->budget.part = -1;
	r->nrt = 1 + ow->nroutes;
	r->rt = calloc(r->nrt, sizeof *r->rt);
	r->people = calloc(ow->npeople ? ow->npeople : 1, sizeof *r->people);
	r->level_dest = calloc(ow->escalation.nlevels ? ow->escalation.nlevels : 1, sizeof *r->level_dest);
	if (!r->rt || !r->people || !r->level_dest) {
		snprintf(err, errlen, "gateway: out of memory");
		return -VIGIL_ENOMEM;
	}
	/* the owner's own destinations, then the escalation-only ones */
	struct route_rt *root = &r->rt[0];
	root->first = gw->ndests;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < ow->ndests; k++) {
			if (esc_named(ow, &ow->dests[k]) != pass)
				continue;
			snprintf(id, sizeof id, "%.150s#%zu", ow->name, k);
			if ((rc = gw_add_dest(gw, &ow->dests[k], ow->dests[k].type, ow->name, id, err,
					      errlen)) != 0)
				return rc;
			if (pass == 0)
				root->n++;
			const char *name = rules_dest_name(&ow->dests[k]);
			for (size_t l = 0; pass && l < ow->escalation.nlevels; l++)
				if (ow->escalation.levels[l].kind == ESC_DESTINATION &&
				    strcmp(ow->escalation.levels[l].target, name) == 0)
					r->level_dest[l] = gw->ndests - 1;
		}
	root->mute = ow->mute;
	root->nmute = ow->nmute;
	root->active = ow->active;
	root->nactive = ow->nactive;
	resolve(root, &ow->group, NULL);
	for (size_t i = 0; i < ow->nroutes; i++) {
		const struct route_cfg *c = &ow->routes[i];
		struct route_rt *rt = &r->rt[1 + i];
		rt->match = c->match;
		rt->nmatch = c->nmatch;
		rt->cont = c->cont;
		rt->first = root->first;
		rt->n = root->n;
		if (c->ndests) {
			rt->first = gw->ndests;
			rt->n = c->ndests;
			for (size_t k = 0; k < c->ndests; k++) {
				snprintf(id, sizeof id, "%.120s/route%zu#%zu", ow->name, i + 1, k);
				if ((rc = gw_add_dest(gw, &c->dests[k], c->dests[k].type, ow->name, id, err,
						      errlen)) != 0)
					return rc;
			}
		}
		/* a route without windows of its own follows the owner's */
		rt->mute = c->nmute || c->nactive ? c->mute : root->mute;
		rt->nmute = c->nmute || c->nactive ? c->nmute : root->nmute;
		rt->active = c->nmute || c->nactive ? c->active : root->active;
		rt->nactive = c->nmute || c->nactive ? c->nactive : root->nactive;
		resolve(rt, &c->group, root);
	}
	for (size_t p = 0; p < ow->npeople; p++) {
		const struct person *pc = &ow->people[p];
		r->people[p].name = pc->name;
		r->people[p].first = gw->ndests;
		r->people[p].n = pc->ndests;
		for (size_t k = 0; k < pc->ndests; k++) {
			snprintf(id, sizeof id, "%.100s/person:%.60s#%zu", ow->name, pc->name, k);
			if ((rc = gw_add_dest(gw, &pc->dests[k], pc->dests[k].type, ow->name, id, err,
					      errlen)) != 0)
				return rc;
		}
	}
	return 0;
}

size_t gw_owner_ndests(const struct owner *o)
{
	size_t n = o->ndests;
	for (size_t r = 0; r < o->nroutes; r++)
		n += o->routes[r].ndests;
	for (size_t p = 0; p < o->npeople; p++)
		n += o->people[p].ndests;
	return n;
}

int gw_routes_build(struct gateway *gw, const struct ruleset *rs, const struct owner *const *keep,
		    size_t nkeep, char *err, size_t errlen)
{
	size_t n = rs ? rs->nowners : 0;
	for (size_t i = 0; i < n + nkeep; i++) {
		const struct owner *ow = i < n ? &rs->owners[i] : keep[i - n];
		if (!ow->name) {
			snprintf(err, errlen, "%s: owner without a name", ow->where ? ow->where : "?");
			return -VIGIL_EINVAL;
		}
		struct route *r = &gw->routes[gw->nroutes++];
		int rc = build_owner(gw, ow, r, err, errlen);
		if (rc != 0)
			return rc;
	}
	qsort(gw->routes, gw->nroutes, sizeof *gw->routes, route_cmp);
	return 0;
}

void gw_routes_fini(struct gateway *gw)
{
	for (size_t i = 0; gw->routes && i < gw->nroutes; i++) {
		free(gw->routes[i].rt);
		free(gw->routes[i].people);
		free(gw->routes[i].level_dest);
	}
	free(gw->routes);
	gw->routes = NULL;
}
