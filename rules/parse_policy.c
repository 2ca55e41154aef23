/* The on-call keys of an owner map (rules/oncall.h): grouping, routes,
 * mute / active windows, inhibition, people, the page budget and the
 * escalation policy. Time intervals and schedules are parsed in
 * parse_oncall.c; the format is described in rules/load.c.
 *
 * Parsing fills the owner as it goes, counting entries as they are built,
 * so ruleset_free (rules_policy_free) frees a half-built owner. Names that
 * refer to other entries (intervals, people, schedules, destinations) are
 * checked by rules_policy_check once the whole owner map is read. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rules/loader.h"

#define MAX_DURATION (30 * 86400.0)

static void group_unset(struct group_cfg *g)
{
	memset(g, 0, sizeof *g);
	g->wait = g->interval = g->repeat = -1;
}

void rules_policy_init(struct owner *o)
{
	group_unset(&o->group);
}

/* group_by: a list of label names, or ['...'] for every label. */
static int parse_group_by(struct loader *L, yaml_node_t *n, struct group_cfg *g)
{
	int rc = vy_strlist(&L->y, n, "group_by", &g->by, &g->nby);
	if (rc != 0)
		return rc;
	g->set = 1;
	for (size_t i = 0; i < g->nby; i++) {
		if (strcmp(g->by[i], "...") == 0) {
			if (g->nby != 1)
				return vy_fail(&L->y, n, "group_by: '...' (every label) must be alone");
			g->all = 1;
		} else if (g->by[i][0] == '\0') {
			return vy_fail(&L->y, n, "group_by: empty label name");
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(g->by[k], g->by[i]) == 0)
				return vy_fail(&L->y, n, "group_by: label '%s' given twice", g->by[i]);
	}
	return 0;
}

/* The grouping keys of a route or owner map: vals indexed as `keys`
 * (group_by, group_wait, group_interval, repeat_interval). */
static int parse_group(struct loader *L, yaml_node_t *const *vals, struct group_cfg *g)
{
	int rc;
	if (vals[0] && (rc = parse_group_by(L, vals[0], g)) != 0)
		return rc;
	if (vals[1] && (rc = vy_duration(&L->y, vals[1], "group_wait", 0, MAX_DURATION, &g->wait)) != 0)
		return rc;
	if (vals[2] &&
	    (rc = vy_duration(&L->y, vals[2], "group_interval", 0, MAX_DURATION, &g->interval)) != 0)
		return rc;
	if (vals[3] &&
	    (rc = vy_duration(&L->y, vals[3], "repeat_interval", 0, MAX_DURATION, &g->repeat)) != 0)
		return rc;
	return 0;
}

static int parse_bool(struct loader *L, yaml_node_t *n, const char *what, int *out)
{
	const char *s;
	int rc = vy_text(&L->y, n, what, &s);
	if (rc != 0)
		return rc;
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
		*out = 0;
	else
		return vy_fail(&L->y, n, "%s: want true or false, got '%s'", what, s);
	return 0;
}

static const char *const route_keys[] = {
	"group_by",     "group_wait",          "group_interval",        "repeat_interval", "match",
	"destinations", "mute_time_intervals", "active_time_intervals", "continue",        NULL};
enum { RT_GROUP = 0, RT_MATCH = 4, RT_DESTS, RT_MUTE, RT_ACTIVE, RT_CONT, RT_N };

static int parse_route(struct loader *L, yaml_node_t *map, struct route_cfg *r)
{
	yaml_node_t *v[RT_N], *k[RT_N];
	int rc;

	group_unset(&r->group);
	if ((rc = vy_map_fields(&L->y, map, "route", route_keys, v, k)) != 0)
		return rc;
	if ((r->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[RT_MATCH] == NULL)
		return vy_fail(&L->y, map,
			       "route is missing required key 'match' (use match: {} for every alert)");
	if ((rc = rules_parse_match(L, v[RT_MATCH], "match", &r->match, &r->nmatch)) != 0)
		return rc;
	if ((rc = parse_group(L, &v[RT_GROUP], &r->group)) != 0)
		return rc;
	if (v[RT_DESTS] && (rc = rules_parse_dests(L, v[RT_DESTS], &r->dests, &r->ndests)) != 0)
		return rc;
	if (v[RT_MUTE] &&
	    (rc = vy_strlist(&L->y, v[RT_MUTE], "mute_time_intervals", &r->mute, &r->nmute)) != 0)
		return rc;
	if (v[RT_ACTIVE] &&
	    (rc = vy_strlist(&L->y, v[RT_ACTIVE], "active_time_intervals", &r->active, &r->nactive)) != 0)
		return rc;
	if (v[RT_CONT] && (rc = parse_bool(L, v[RT_CONT], "continue", &r->cont)) != 0)
		return rc;
	return 0;
}

static const char *const inhibit_keys[] = {"name", "source_match", "target_match", "equal", NULL};
enum { IH_NAME, IH_SRC, IH_DST, IH_EQUAL, IH_N };

static int parse_inhibit(struct loader *L, yaml_node_t *map, struct inhibit_cfg *ih)
{
	yaml_node_t *v[IH_N], *k[IH_N];
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "inhibit rule", inhibit_keys, v, k)) != 0)
		return rc;
	if ((ih->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[IH_SRC] == NULL || v[IH_DST] == NULL)
		return vy_fail(&L->y, map, "inhibit rule needs both 'source_match' and 'target_match'");
	if (v[IH_NAME] && (rc = vy_dup(&L->y, v[IH_NAME], "name", 1, &ih->name)) != 0)
		return rc;
	if ((rc = rules_parse_match(L, v[IH_SRC], "source_match", &ih->source, &ih->nsource)) != 0 ||
	    (rc = rules_parse_match(L, v[IH_DST], "target_match", &ih->target, &ih->ntarget)) != 0)
		return rc;
	if (ih->nsource == 0 || ih->ntarget == 0)
		return vy_fail(&L->y, map, "inhibit rule: source_match and target_match need a matcher each");
	if (v[IH_EQUAL] && (rc = vy_strlist(&L->y, v[IH_EQUAL], "equal", &ih->equal, &ih->nequal)) != 0)
		return rc;
	return 0;
}

static const char *const person_keys[] = {"name", "destinations", NULL};

static int parse_person(struct loader *L, yaml_node_t *map, struct person *p)
{
	yaml_node_t *v[2], *k[2];
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "person", person_keys, v, k)) != 0)
		return rc;
	if ((p->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[0] == NULL || v[1] == NULL)
		return vy_fail(&L->y, map, "a person needs 'name' and 'destinations'");
	if ((rc = vy_dup(&L->y, v[0], "name", 1, &p->name)) != 0)
		return rc;
	return rules_parse_dests(L, v[1], &p->dests, &p->ndests);
}

static const char *const budget_keys[] = {"max", "per", NULL};

static int parse_budget(struct loader *L, yaml_node_t *map, struct budget_cfg *b)
{
	yaml_node_t *v[2], *k[2];
	long long m;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "page_budget", budget_keys, v, k)) != 0)
		return rc;
	if ((b->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[0] == NULL || v[1] == NULL)
		return vy_fail(&L->y, map, "page_budget needs 'max' (pages) and 'per' (a duration)");
	if ((rc = vy_integer(&L->y, v[0], "page_budget.max", 1, 1e6, &m)) != 0)
		return rc;
	b->max = (unsigned)m;
	return vy_duration(&L->y, v[1], "page_budget.per", 1, MAX_DURATION, &b->per);
}

static const char *const level_keys[] = {"after", "person", "schedule", "destination", NULL};

static int parse_level(struct loader *L, yaml_node_t *map, struct esc_level *lv, double prev)
{
	yaml_node_t *v[4], *k[4];
	int rc, ntarget = 0;

	if ((rc = vy_map_fields(&L->y, map, "escalation level", level_keys, v, k)) != 0)
		return rc;
	if ((lv->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	for (int i = 1; i <= 3; i++)
		if (v[i]) {
			ntarget++;
			lv->kind = (enum esc_kind)(i - 1);
		}
	if (ntarget != 1)
		return vy_fail(&L->y, map,
			       "an escalation level names exactly one of person, schedule, destination");
	if ((rc = vy_dup(&L->y, v[lv->kind + 1], "escalation target", 1, &lv->target)) != 0)
		return rc;
	lv->after = prev;
	if (v[0] && (rc = vy_duration(&L->y, v[0], "after", 0, MAX_DURATION, &lv->after)) != 0)
		return rc;
	if (lv->after < prev)
		return vy_fail(&L->y, v[0], "after: levels must not go back in time (previous level at %gs)",
			       prev);
	return 0;
}

static const char *const esc_keys[] = {"levels", "repeat", "repeat_after", NULL};

static int parse_escalation(struct loader *L, yaml_node_t *map, struct escalation_cfg *e)
{
	yaml_node_t *v[3], *k[3];
	long long r;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "escalation", esc_keys, v, k)) != 0)
		return rc;
	if ((e->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[0] == NULL)
		return vy_fail(&L->y, map, "escalation is missing required key 'levels'");
	if ((rc = vy_expect(&L->y, v[0], YAML_SEQUENCE_NODE, "levels")) != 0)
		return rc;
	if (vy_len(v[0]) == 0 || vy_len(v[0]) > 32)
		return vy_fail(&L->y, v[0], "escalation: want 1 to 32 levels");
	if ((e->levels = calloc(vy_len(v[0]), sizeof *e->levels)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(v[0]); i++) {
		yaml_node_t *n = vy_item(&L->y, v[0], i);
		double prev = i ? e->levels[i - 1].after : 0;
		if (n == NULL)
			return vy_fail(&L->y, v[0], "malformed list in levels");
		e->nlevels++;
		if ((rc = parse_level(L, n, &e->levels[i], prev)) != 0)
			return rc;
	}
	if (v[1]) {
		if ((rc = vy_integer(&L->y, v[1], "repeat", 0, 100, &r)) != 0)
			return rc;
		e->repeat = (unsigned)r;
	}
	e->repeat_after = 30 * 60.0;
	if (v[2] && (rc = vy_duration(&L->y, v[2], "repeat_after", 60, MAX_DURATION, &e->repeat_after)) != 0)
		return rc;
	return 0;
}

/* A list of maps, each parsed by one(), into a new array of n elements of
 * size sz (counted as built). */
static int parse_seq(struct loader *L, yaml_node_t *list, const char *what, size_t sz, void **arr, size_t *n,
		     int (*one)(struct loader *, yaml_node_t *, void *))
{
	int rc = vy_expect(&L->y, list, YAML_SEQUENCE_NODE, what);
	if (rc != 0)
		return rc;
	if ((*arr = calloc(vy_len(list) ? vy_len(list) : 1, sz)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *it = vy_item(&L->y, list, i);
		if (it == NULL)
			return vy_fail(&L->y, list, "malformed list in %s", what);
		(*n)++;
		if ((rc = one(L, it, (char *)*arr + i * sz)) != 0)
			return rc;
	}
	return 0;
}

static int one_route(struct loader *L, yaml_node_t *n, void *p)
{
	return parse_route(L, n, p);
}
static int one_inhibit(struct loader *L, yaml_node_t *n, void *p)
{
	return parse_inhibit(L, n, p);
}
static int one_person(struct loader *L, yaml_node_t *n, void *p)
{
	return parse_person(L, n, p);
}

int rules_parse_policy(struct loader *L, struct owner *o, const struct policy_nodes *pn)
{
	int rc;
	yaml_node_t *g[4] = {pn->group_by, pn->group_wait, pn->group_interval, pn->repeat_interval};

	if ((rc = parse_group(L, g, &o->group)) != 0)
		return rc;
	if (pn->mute && (rc = vy_strlist(&L->y, pn->mute, "mute_time_intervals", &o->mute, &o->nmute)) != 0)
		return rc;
	if (pn->active &&
	    (rc = vy_strlist(&L->y, pn->active, "active_time_intervals", &o->active, &o->nactive)) != 0)
		return rc;
	if (pn->time_intervals && (rc = rules_parse_time_intervals(L, pn->time_intervals, o)) != 0)
		return rc;
	if (pn->people && (rc = parse_seq(L, pn->people, "people", sizeof *o->people, (void **)&o->people,
					  &o->npeople, one_person)) != 0)
		return rc;
	if (pn->schedules && (rc = rules_parse_schedules(L, pn->schedules, o)) != 0)
		return rc;
	if (pn->routes && (rc = parse_seq(L, pn->routes, "routes", sizeof *o->routes, (void **)&o->routes,
					  &o->nroutes, one_route)) != 0)
		return rc;
	if (pn->inhibit && (rc = parse_seq(L, pn->inhibit, "inhibit_rules", sizeof *o->inhibit,
					   (void **)&o->inhibit, &o->ninhibit, one_inhibit)) != 0)
		return rc;
	if (pn->budget && (rc = parse_budget(L, pn->budget, &o->budget)) != 0)
		return rc;
	if (pn->escalation && (rc = parse_escalation(L, pn->escalation, &o->escalation)) != 0)
		return rc;
	return 0;
}

/* ---- cross references ---- */

static int has_interval(const struct owner *o, const char *name)
{
	for (size_t i = 0; i < o->nintervals; i++)
		if (o->intervals[i].name && strcmp(o->intervals[i].name, name) == 0)
			return 1;
	return 0;
}

static int has_person(const struct owner *o, const char *name)
{
	for (size_t i = 0; i < o->npeople; i++)
		if (strcmp(o->people[i].name, name) == 0)
			return 1;
	return 0;
}

static int has_schedule(const struct owner *o, const char *name)
{
	for (size_t i = 0; i < o->nschedules; i++)
		if (o->schedules[i].name && strcmp(o->schedules[i].name, name) == 0)
			return 1;
	return 0;
}

const char *rules_dest_name(const struct destination_cfg *d)
{
	for (size_t i = 0; i < d->nkv; i++)
		if (strcmp(d->kv[i].key, "name") == 0)
			return d->kv[i].value;
	return NULL;
}

static int check_windows(struct loader *L, const struct owner *o, char *const *v, size_t n, const char *where)
{
	for (size_t i = 0; i < n; i++)
		if (!has_interval(o, v[i]))
			return rules_fail_at(L, where, "owner '%s': no time interval named '%s'", o->name,
					     v[i]);
	return 0;
}

int rules_policy_check(struct loader *L, const struct owner *o)
{
	int rc;
	for (size_t i = 0; i < o->npeople; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(o->people[i].name, o->people[k].name) == 0)
				return rules_fail_at(L, o->people[i].where,
						     "owner '%s': person '%s' defined twice", o->name,
						     o->people[i].name);
	if ((rc = check_windows(L, o, o->mute, o->nmute, o->where)) != 0 ||
	    (rc = check_windows(L, o, o->active, o->nactive, o->where)) != 0)
		return rc;
	for (size_t i = 0; i < o->nroutes; i++)
		if ((rc = check_windows(L, o, o->routes[i].mute, o->routes[i].nmute, o->routes[i].where)) !=
			    0 ||
		    (rc = check_windows(L, o, o->routes[i].active, o->routes[i].nactive,
					o->routes[i].where)) != 0)
			return rc;
	for (size_t i = 0; i < o->nschedules; i++) {
		const struct schedule *s = &o->schedules[i];
		for (size_t k = 0; k < s->nrotation; k++)
			if (!has_person(o, s->rotation[k]))
				return rules_fail_at(L, s->where,
						     "schedule '%s': '%s' is not one of the owner's people",
						     s->name, s->rotation[k]);
		for (size_t k = 0; k < s->noverrides; k++)
			if (!has_person(o, s->overrides[k].person))
				return rules_fail_at(
					L, s->overrides[k].where,
					"schedule '%s': override: '%s' is not one of the owner's people",
					s->name, s->overrides[k].person);
	}
	for (size_t i = 0; i < o->escalation.nlevels; i++) {
		const struct esc_level *lv = &o->escalation.levels[i];
		/* a destination name is checked in load.c once every owner is
		 * read (it may name another owner's destination) */
		int ok = lv->kind == ESC_PERSON     ? has_person(o, lv->target)
			 : lv->kind == ESC_SCHEDULE ? has_schedule(o, lv->target)
						    : 1;
		static const char *const what[] = {"person", "schedule", "destination (by its 'name:')"};
		if (!ok)
			return rules_fail_at(L, lv->where, "escalation: no %s named '%s' in this owner",
					     what[lv->kind], lv->target);
	}
	return 0;
}

/* ---- free ---- */

static void matchers_free(struct tag_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		matcher_free(&m[i]);
	free(m);
}

void rules_dests_free(struct destination_cfg *d, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		free(d[j].type);
		free(d[j].where);
		vy_kv_free(d[j].kv, d[j].nkv);
	}
	free(d);
}

static void group_free(struct group_cfg *g)
{
	vy_strv_free(g->by, g->nby);
}

void rules_policy_free(struct owner *o)
{
	group_free(&o->group);
	vy_strv_free(o->mute, o->nmute);
	vy_strv_free(o->active, o->nactive);
	for (size_t i = 0; i < o->nroutes; i++) {
		struct route_cfg *r = &o->routes[i];
		free(r->where);
		matchers_free(r->match, r->nmatch);
		rules_dests_free(r->dests, r->ndests);
		group_free(&r->group);
		vy_strv_free(r->mute, r->nmute);
		vy_strv_free(r->active, r->nactive);
	}
	free(o->routes);
	for (size_t i = 0; i < o->ninhibit; i++) {
		struct inhibit_cfg *ih = &o->inhibit[i];
		free(ih->name);
		free(ih->where);
		matchers_free(ih->source, ih->nsource);
		matchers_free(ih->target, ih->ntarget);
		vy_strv_free(ih->equal, ih->nequal);
	}
	free(o->inhibit);
	for (size_t i = 0; i < o->npeople; i++) {
		free(o->people[i].name);
		free(o->people[i].where);
		rules_dests_free(o->people[i].dests, o->people[i].ndests);
	}
	free(o->people);
	free(o->budget.where);
	for (size_t i = 0; i < o->escalation.nlevels; i++) {
		free(o->escalation.levels[i].where);
		free(o->escalation.levels[i].target);
	}
	free(o->escalation.levels);
	free(o->escalation.where);
}
