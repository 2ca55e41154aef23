/* The on-call policy's state as JSON, for the write-ahead log (gateway.c:
 * "put" records, sinks/gateway_log.h) and for the partition snapshots of
 * the Kafka deployment (gateway_state.c): groups ("g"), escalations ("e"),
 * budgets ("b", keyed by owner) and silences ("s").
 *
 *   group:  {"key","key_text","owner","route","glabels","created","next_flush",
 *            "last_notify","part","pend_off","alerts":[{"ep","text","labels",
 *            "status","notified","held","page","acked"}]}
 *   esc:    {"ep","owner","text","t0","next_at","level","round","acked",
 *            "acked_by","sent":[destination ids],"part"}
 *   budget: {"owner","start","used","told","held":[alerts],"part"}
 *   silence: silence_to_json (sinks/silence.h)
 * Times are wall-clock seconds, so they mean the same after a restart or
 * on another member. Objects that name an owner or destination the current
 * configuration lacks are dropped with a log line.
 * @thread the gateway's caller. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hash.h"
#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

static void hex(uint64_t v, char out[17])
{
	hash_hex(v, out);
}

static uint64_t unhex(json_t *j)
{
	const char *s = json_string_value(j);
	return s ? strtoull(s, NULL, 16) : 0;
}

/* ---- to JSON ---- */

static json_t *group_json(const struct group *g)
{
	char k[17], e[17];
	json_t *alerts = json_array();
	for (size_t i = 0; alerts && i < g->n; i++) {
		const struct galert *a = &g->a[i];
		hex(a->ep, e);
		json_t *x = json_pack("{s:s, s:s, s:O, s:i, s:i, s:i, s:i, s:i}", "ep", e, "text", a->text,
				      "labels", a->labels, "status", a->status, "notified", a->notified,
				      "held", a->held, "page", a->page, "acked", a->acked);
		if (x && a->hist && json_object_set(x, "hist", a->hist) != 0) {
			json_decref(x);
			x = NULL;
		}
		if (!x || json_array_append_new(alerts, x) != 0) {
			json_decref(x);
			json_decref(alerts);
			return NULL;
		}
	}
	hex(g->key, k);
	return alerts ? json_pack("{s:s, s:s, s:s, s:I, s:O, s:f, s:f, s:f, s:i, s:I, s:o}", "key", k,
				  "key_text", g->key_text, "owner", g->o->owner, "route",
				  (json_int_t)g->route, "glabels", g->glabels, "created", g->created,
				  "next_flush", g->next_flush, "last_notify", g->last_notify, "part",
				  (int)g->part, "pend_off", (json_int_t)g->pend_off, "alerts", alerts)
		      : NULL;
}

static json_t *esc_json(const struct gateway *gw, const struct esc *x)
{
	char e[17];
	json_t *sent = json_array();
	for (size_t i = 0; sent && i < x->nsent; i++)
		if (json_array_append_new(sent, json_string(gw->dests[x->sent[i]].id)) != 0) {
			json_decref(sent);
			return NULL;
		}
	hex(x->ep, e);
	return sent ? json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:i, s:s?, s:o, s:i}", "ep", e, "owner",
				x->o->owner, "text", x->text, "t0", x->t0, "next_at", x->next_at, "level",
				(int)x->level, "round", (int)x->round, "acked", x->acked, "acked_by",
				x->acked_by, "sent", sent, "part", (int)x->part)
		    : NULL;
}

static json_t *budget_json(const struct route *o)
{
	const struct budget_rt *b = &o->budget;
	return json_pack("{s:s, s:f, s:i, s:i, s:O?, s:i}", "owner", o->owner, "start", b->start, "used",
			 (int)b->used, "told", b->told, "held", b->held, "part", (int)b->part);
}

static uint64_t owner_key(const char *owner)
{
	return hash_mix(hash_str(HASH_SEED, owner));
}

uint64_t gw_silence_key(const char *id)
{
	return hash_mix(hash_str(HASH_SEED, id));
}

void gw_policy_persist(struct gateway *gw)
{
	if (!gw->log)
		return;
	for (size_t i = 0; i < gw->ngroups; i++) {
		struct group *g = gw->groups[i];
		if (!g->dirty)
			continue;
		json_t *j = group_json(g);
		if (j) {
			gwlog_put(gw->log, "g", g->key, j);
			g->dirty = 0;
		}
		json_decref(j);
	}
	for (size_t i = 0; i < gw->nesc; i++) {
		struct esc *e = gw->escs[i];
		if (!e->dirty)
			continue;
		json_t *j = esc_json(gw, e);
		if (j) {
			gwlog_put(gw->log, "e", e->ep, j);
			e->dirty = 0;
		}
		json_decref(j);
	}
	for (size_t i = 0; i < gw->nroutes; i++) {
		struct route *o = &gw->routes[i];
		if (!o->budget.dirty)
			continue;
		json_t *j = budget_json(o);
		if (j) {
			gwlog_put(gw->log, "b", owner_key(o->owner), j);
			o->budget.dirty = 0;
		}
		json_decref(j);
	}
}

void gw_silence_persist(struct gateway *gw, const char *id)
{
	if (!gw->log)
		return;
	const struct silence *x = silences_find(gw->sil, id);
	json_t *j = x ? silence_to_json(x, clock_wall()) : NULL;
	gwlog_put(gw->log, "s", gw_silence_key(id), j);
	json_decref(j);
}

/* ---- from JSON ---- */

static size_t dest_by_id(const struct gateway *gw, const char *id)
{
	for (size_t i = 0; id && i < gw->ndests; i++)
		if (strcmp(gw->dests[i].id, id) == 0)
			return i;
	return SIZE_MAX;
}

static int restore_group(struct gateway *gw, json_t *j, int32_t part)
{
	struct route *o = gw_route_rec(gw, json_string_value(json_object_get(j, "owner")));
	json_int_t ri = json_integer_value(json_object_get(j, "route"));
	json_t *alerts = json_object_get(j, "alerts");
	const char *kt = json_string_value(json_object_get(j, "key_text"));
	if (!o || ri < 0 || (size_t)ri >= o->nrt || !json_is_array(alerts) || !kt) {
		LOG_WARN(comp, "event=restore_dropped what=group owner=%s: no such owner or route now",
			 json_string_value(json_object_get(j, "owner"))
				 ? json_string_value(json_object_get(j, "owner"))
				 : "?");
		return 0;
	}
	struct group *g = calloc(1, sizeof *g);
	if (!g)
		return -VIGIL_ENOMEM;
	g->key = unhex(json_object_get(j, "key"));
	g->key_text = strdup(kt);
	json_t *gl = json_object_get(j, "glabels");
	g->glabels = json_is_object(gl) ? json_incref(gl) : json_object(); /* a damaged record: none */
	g->o = o;
	g->route = (size_t)ri;
	g->created = json_number_value(json_object_get(j, "created"));
	g->next_flush = json_number_value(json_object_get(j, "next_flush"));
	g->last_notify = json_number_value(json_object_get(j, "last_notify"));
	g->part = part;
	g->pend_off = -1; /* the snapshot or log that held it covers its input offsets */
	g->a = calloc(json_array_size(alerts) ? json_array_size(alerts) : 1, sizeof *g->a);
	g->cap = json_array_size(alerts);
	if (!g->key_text || !g->glabels || !g->a) {
		json_decref(g->glabels);
		free(g->key_text);
		free(g->a);
		free(g);
		return -VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < json_array_size(alerts); i++) {
		json_t *x = json_array_get(alerts, i);
		const char *t = json_string_value(json_object_get(x, "text"));
		json_t *lab = json_object_get(x, "labels");
		if (!t || !json_is_object(lab))
			continue;
		struct galert *a = &g->a[g->n];
		a->ep = unhex(json_object_get(x, "ep"));
		a->text = strdup(t);
		if (!a->text)
			continue;
		a->labels = json_incref(lab);
		a->status = (uint8_t)json_integer_value(json_object_get(x, "status"));
		a->notified = (uint8_t)json_integer_value(json_object_get(x, "notified"));
		a->held = (uint8_t)json_integer_value(json_object_get(x, "held"));
		a->page = (uint8_t)json_integer_value(json_object_get(x, "page"));
		a->acked = (uint8_t)json_integer_value(json_object_get(x, "acked"));
		json_t *hist = json_object_get(x, "hist");
		a->hist = json_is_array(hist) && json_array_size(hist) <= GW_HIST_MAX
				  ? json_deep_copy(hist)
				  : NULL; /* damaged: none */
		g->n++;
	}
	if (g->n == 0) { /* nothing usable left in it */
		gw_group_free(g);
		return 0;
	}
	return gw_group_restore(gw, g);
}

static int restore_esc(struct gateway *gw, json_t *j, int32_t part)
{
	struct route *o = gw_route_rec(gw, json_string_value(json_object_get(j, "owner")));
	const char *t = json_string_value(json_object_get(j, "text"));
	json_t *sent = json_object_get(j, "sent");
	uint64_t ep = unhex(json_object_get(j, "ep"));
	if (!o || !t || o->cfg->escalation.nlevels == 0 || gw_esc_find(gw, ep)) {
		if (!o || !t)
			LOG_WARN(comp, "event=restore_dropped what=escalation: no such owner or policy now");
		return 0;
	}
	struct esc *e = calloc(1, sizeof *e);
	if (!e || vec_reserve((void **)&gw->escs, &gw->capesc, gw->nesc + 1, sizeof *gw->escs) != 0 ||
	    (e->text = strdup(t)) == NULL) {
		free(e);
		return -VIGIL_ENOMEM;
	}
	e->ep = ep;
	e->o = o;
	e->t0 = json_number_value(json_object_get(j, "t0"));
	e->next_at = json_number_value(json_object_get(j, "next_at"));
	e->level = (unsigned)json_integer_value(json_object_get(j, "level"));
	e->round = (unsigned)json_integer_value(json_object_get(j, "round"));
	if (e->level > o->cfg->escalation.nlevels)
		e->level = (unsigned)o->cfg->escalation.nlevels;
	e->acked = (int)json_integer_value(json_object_get(j, "acked"));
	const char *by = json_string_value(json_object_get(j, "acked_by"));
	e->acked_by = by ? strdup(by) : NULL;
	e->part = part;
	for (size_t i = 0; i < json_array_size(sent); i++) {
		size_t d = dest_by_id(gw, json_string_value(json_array_get(sent, i)));
		if (d != SIZE_MAX &&
		    vec_reserve((void **)&e->sent, &e->capsent, e->nsent + 1, sizeof *e->sent) == 0)
			e->sent[e->nsent++] = d;
	}
	gw->escs[gw->nesc++] = e;
	return 0;
}

static void restore_budget(struct gateway *gw, json_t *j, int32_t part)
{
	struct route *o = gw_route_rec(gw, json_string_value(json_object_get(j, "owner")));
	if (!o || o->cfg->budget.max == 0)
		return;
	struct budget_rt *b = &o->budget;
	json_decref(b->held);
	b->start = json_number_value(json_object_get(j, "start"));
	b->used = (unsigned)json_integer_value(json_object_get(j, "used"));
	b->told = (int)json_integer_value(json_object_get(j, "told"));
	b->held = json_incref(json_object_get(j, "held"));
	b->part = part;
}

static void restore_silence(struct gateway *gw, json_t *j, int32_t part)
{
	char err[256];
	if (silences_restore(gw->sil, j, part, err, sizeof err) != 0)
		LOG_WARN(comp, "event=restore_dropped what=silence err=\"%s\"", err);
}

int gw_policy_restore(struct gateway *gw, const char *ns, json_t *v, int32_t part)
{
	if (strcmp(ns, "g") == 0)
		return restore_group(gw, v, part);
	if (strcmp(ns, "e") == 0)
		return restore_esc(gw, v, part);
	if (strcmp(ns, "c") == 0)
		gw_inbox_restore(gw, v);
	else if (strcmp(ns, "b") == 0)
		restore_budget(gw, v, part);
	else if (strcmp(ns, "s") == 0)
		restore_silence(gw, v, part);
	return 0;
}

/* ---- partition snapshots ---- */

int gw_policy_export(struct gateway *gw, int32_t part, json_t *snap)
{
	json_t *groups = json_array(), *escs = json_array(), *budgets = json_array(), *sils = json_array();
	int ok = groups && escs && budgets && sils;
	double now = clock_wall();
	for (size_t i = 0; ok && i < gw->ngroups; i++)
		if (gw->groups[i]->part == part)
			ok = json_array_append_new(groups, group_json(gw->groups[i])) == 0;
	for (size_t i = 0; ok && i < gw->nesc; i++)
		if (gw->escs[i]->part == part)
			ok = json_array_append_new(escs, esc_json(gw, gw->escs[i])) == 0;
	for (size_t i = 0; ok && i < gw->nroutes; i++)
		if (gw->routes[i].budget.part == part && gw->routes[i].budget.start > 0)
			ok = json_array_append_new(budgets, budget_json(&gw->routes[i])) == 0;
	for (size_t i = 0; ok && i < silences_count(gw->sil); i++) {
		const struct silence *x = silences_at(gw->sil, i);
		if (x->part == part)
			ok = json_array_append_new(sils, silence_to_json(x, now)) == 0;
	}
	ok = ok && json_object_set(snap, "groups", groups) == 0 &&
	     json_object_set(snap, "escalations", escs) == 0 &&
	     json_object_set(snap, "budgets", budgets) == 0 && json_object_set(snap, "silences", sils) == 0;
	json_decref(groups);
	json_decref(escs);
	json_decref(budgets);
	json_decref(sils);
	return ok ? 0 : -VIGIL_ENOMEM;
}

int gw_policy_import(struct gateway *gw, int32_t part, json_t *snap)
{
	static const char *const keys[] = {"silences", "groups", "escalations", "budgets"};
	static const char *const ns[] = {"s", "g", "e", "b"};
	int rc = 0;
	for (size_t k = 0; k < 4; k++) {
		json_t *arr = json_object_get(snap, keys[k]);
		for (size_t i = 0; i < json_array_size(arr); i++)
			if (gw_policy_restore(gw, ns[k], json_array_get(arr, i), part) != 0)
				rc = -VIGIL_ENOMEM;
	}
	return rc;
}

void gw_policy_release(struct gateway *gw, int32_t part)
{
	for (size_t i = 0; i < gw->ngroups;) {
		if (gw->groups[i]->part == part)
			gw_group_drop(gw, (uint32_t)i);
		else
			i++;
	}
	for (size_t i = 0; i < gw->nesc;) {
		if (gw->escs[i]->part == part)
			gw_esc_drop(gw, gw->escs[i]);
		else
			i++;
	}
	for (size_t i = 0; i < gw->nroutes; i++)
		if (gw->routes[i].budget.part == part) {
			json_decref(gw->routes[i].budget.held);
			memset(&gw->routes[i].budget, 0, sizeof gw->routes[i].budget);
			gw->routes[i].budget.part = -1;
		}
	silences_release(gw->sil, part);
}
