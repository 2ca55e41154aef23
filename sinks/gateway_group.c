/* Routing, grouping and muting (docs/alerting.md §4-§8): what the gateway
 * does with an episode's transition after deciding it (gateway_decide.c).
 *
 * Each transition goes to the owner's routes: the first child route whose
 * matchers hold (and the next ones while `continue` is set), or the owner's
 * own route when no child matches. In a route it joins a group: with
 * group_by, the group of the values of those labels; without, a group of
 * its own. A group is flushed (notified) when due:
 *   - first after group_wait from its creation,
 *   - then, on a change, no sooner than group_interval after the previous
 *     notification,
 *   - and, when nothing changed, after repeat_interval (0 = never) while an
 *     unacknowledged alert it notified still fires.
 * At a flush each firing alert is muted when its route's time windows say
 * so, a silence of its owner matches it, or an inhibit rule of its owner
 * has a firing source with equal labels. A muted alert is left out of the
 * notification; one that was notified before still gets its resolve (the
 * resolve guarantee). New firing pages pass the owner's page budget.
 * Destinations that carry groups (webhook, Slack, email) get one message
 * per group of a grouping route; every other destination, and every
 * destination of a route without group_by, one notification per episode.
 * @thread the gateway's caller (gateway.h). */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/timefmt.h"
#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

#define MUTED_RECHECK 1.0 /* seconds: how often a muted, never-notified alert is looked at again */

/* ---- groups and their index ---- */

static uint64_t g_hash(const void *ctx, uint32_t id)
{
	const struct gateway *gw = ctx;
	return hash_mix(gw->groups[id]->key);
}

static int g_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct gateway *gw = ctx;
	return gw->groups[id]->key == *(const uint64_t *)key;
}

int gw_groups_init(struct gateway *gw)
{
	htab_init(&gw->g_index);
	return silences_new(&gw->sil);
}

static void galert_fini(struct galert *a)
{
	json_decref(a->hist);
	free(a->brief);
	free(a->text);
	json_decref(a->labels);
}

void gw_group_free(struct group *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		galert_fini(&g->a[i]);
	free(g->a);
	free(g->key_text);
	json_decref(g->glabels);
	free(g);
}

/* Keep a resolved alert's document (its text is taken) for its chart. */
static void keep_doc(struct gateway *gw, const char *owner, struct galert *a)
{
	struct kept_doc *k = &gw->kept[gw->kept_next];
	free(k->text);
	k->ep = a->ep;
	k->owner = owner;
	k->text = a->text;
	a->text = NULL;
	gw->kept_next = (gw->kept_next + 1) % GW_CHART_KEEP;
}

void gw_groups_fini(struct gateway *gw)
{
	for (size_t i = 0; i < GW_CHART_KEEP; i++) {
		free(gw->kept[i].text);
		gw->kept[i].text = NULL;
	}
	for (size_t i = 0; i < gw->ngroups; i++)
		gw_group_free(gw->groups[i]);
	free(gw->groups);
	gw->groups = NULL;
	gw->ngroups = 0;
	htab_fini(&gw->g_index);
	silences_free(gw->sil);
	gw->sil = NULL;
}

static struct group *group_find(struct gateway *gw, uint64_t key)
{
	uint32_t id = htab_find(&gw->g_index, hash_mix(key), g_eq, g_hash, gw, &key);
	return id == HTAB_NONE ? NULL : gw->groups[id];
}

static int group_index_of(struct gateway *gw, const struct group *g)
{
	uint32_t id = htab_find(&gw->g_index, hash_mix(g->key), g_eq, g_hash, gw, &g->key);
	return id == HTAB_NONE ? -1 : (int)id;
}

/* Add g (owned from now on). 0 or -VIGIL_ENOMEM (g not taken). */
static int group_add(struct gateway *gw, struct group *g)
{
	if (vec_reserve((void **)&gw->groups, &gw->capgroups, gw->ngroups + 1, sizeof *gw->groups) != 0)
		return -VIGIL_ENOMEM;
	gw->groups[gw->ngroups] = g;
	if (htab_insert(&gw->g_index, hash_mix(g->key), (uint32_t)gw->ngroups, g_hash, gw) != 0)
		return -VIGIL_ENOMEM;
	gw->ngroups++;
	return 0;
}

/* Remove and free group number id (the last one moves into its place);
 * log the removal when logged. */
static void group_unlink(struct gateway *gw, uint32_t id, int logged)
{
	uint32_t last = (uint32_t)(gw->ngroups - 1);
	struct group *g = gw->groups[id];
	htab_remove(&gw->g_index, hash_mix(g->key), id, g_hash, gw);
	if (id != last) {
		htab_remove(&gw->g_index, hash_mix(gw->groups[last]->key), last, g_hash, gw);
		gw->groups[id] = gw->groups[last];
		htab_insert(&gw->g_index, hash_mix(gw->groups[id]->key), id, g_hash,
			    gw); /* slot just freed */
	}
	gw->ngroups--;
	if (gw->log && logged)
		gwlog_put(gw->log, "g", g->key, NULL);
	gw_group_free(g);
}

static void group_remove(struct gateway *gw, uint32_t id)
{
	group_unlink(gw, id, 1);
}

void gw_group_drop(struct gateway *gw, uint32_t id)
{
	group_unlink(gw, id, 0);
}

int gw_group_restore(struct gateway *gw, struct group *g)
{
	int id = group_index_of(gw, g);
	if (id >= 0)
		group_unlink(gw, (uint32_t)id, 0);
	if (group_add(gw, g) != 0) {
		gw_group_free(g);
		return -VIGIL_ENOMEM;
	}
	return 0;
}

void gw_hist(struct galert *a, double now, const char *event, const char *fmt, ...)
{
	char at[40], detail[512] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	if (!a->hist && !(a->hist = json_array()))
		return;
	if (json_array_size(a->hist) >= GW_HIST_MAX)
		json_array_remove(a->hist, 1); /* keep how it began */
	time_format_rfc3339(now, at, sizeof at);
	json_t *x = fmt ? json_pack("{s:s, s:s, s:s}", "at", at, "event", event, "detail", detail)
			: json_pack("{s:s, s:s}", "at", at, "event", event);
	json_array_append_new(a->hist, x);
}

struct galert *gw_galert_by_ep(struct gateway *gw, uint64_t ep)
{
	for (size_t i = 0; i < gw->ngroups; i++) {
		struct group *g = gw->groups[i];
		for (size_t k = 0; k < g->n; k++)
			if (g->a[k].ep == ep && g->a[k].status == ALERT_FIRING)
				return &g->a[k];
	}
	return NULL;
}

static struct galert *galert_find(struct group *g, uint64_t ep)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->a[i].ep == ep)
			return &g->a[i];
	return NULL;
}

/* ---- labels ---- */

#define MAX_POLICY_LABELS (ALERT_MAX_LABELS + 8)

/* The labels routes, silences and inhibit rules see: the alert's labels
 * plus alertname (= rule, unless a label says otherwise), rule, owner,
 * action, severity, series and name. */
static json_t *policy_labels(const struct alert_event *ev)
{
	json_t *j = json_object();
	int ok = j != NULL;
	const struct kv extra[] = {{"rule", ev->rule, NULL},     {"owner", ev->owner, NULL},
				   {"action", ev->action, NULL}, {"severity", ev->action, NULL},
				   {"series", ev->series, NULL}, {"name", ev->name, NULL}};
	for (size_t i = 0; ok && i < ev->nlabels; i++)
		ok = json_object_set_new(j, ev->labels[i].key, json_string(ev->labels[i].value)) == 0;
	for (size_t i = 0; ok && i < sizeof extra / sizeof extra[0]; i++)
		if (extra[i].value && !json_object_get(j, extra[i].key))
			ok = json_object_set_new(j, extra[i].key, json_string(extra[i].value)) == 0;
	if (ok && ev->rule && !json_object_get(j, "alertname"))
		ok = json_object_set_new(j, "alertname", json_string(ev->rule)) == 0;
	if (!ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int route_matches(const struct route_rt *r, json_t *labels)
{
	struct kv kv[MAX_POLICY_LABELS];
	size_t n = alert_labels_kv(labels, kv, MAX_POLICY_LABELS);
	for (size_t i = 0; i < r->nmatch; i++)
		if (!matcher_match_kv(&r->match[i], kv, n))
			return 0;
	return 1;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Group key and labels of an alert in route ri of owner o: the key text
 * is Alertmanager-shaped, {}/{owner="o"}[/<route>]:{k="v", ...}. */
static int group_key(const struct route *o, size_t ri, json_t *labels, uint64_t ep, uint64_t *key,
		     char **text, json_t **glabels)
{
	const struct route_rt *r = &o->rt[ri];
	const char *keys[MAX_POLICY_LABELS];
	size_t nk = 0, len = 0;
	char *s = NULL, epx[17];
	FILE *m = open_memstream(&s, &len);
	json_t *gl = json_object();
	uint64_t h = hash_mix(hash_str(hash_str(HASH_SEED, o->owner), "route") ^ (uint64_t)ri);
	int ok = m && gl;

	if (!r->grouped) {
		hash_hex(ep, epx);
		h = hash_mix(h ^ ep);
	} else if (r->by_all) {
		const char *k;
		json_t *v;
		json_object_foreach(labels, k, v) if (nk < MAX_POLICY_LABELS) keys[nk++] = k;
		qsort(keys, nk, sizeof *keys, cmp_str); /* a stable key whatever the label order */
	} else {
		for (size_t i = 0; i < r->nby && nk < MAX_POLICY_LABELS; i++)
			keys[nk++] = r->by[i];
	}
	if (ok) {
		if (ri == 0)
			fprintf(m, "{}/{owner=\"%s\"}:{", o->owner);
		else
			fprintf(m, "{}/{owner=\"%s\"}/%zu:{", o->owner, ri);
		if (!r->grouped)
			fprintf(m, "episode=\"%s\"", epx);
	}
	for (size_t i = 0; ok && i < nk; i++) {
		const char *val = json_string_value(json_object_get(labels, keys[i]));
		val = val ? val : "";
		h = hash_str(hash_str(h, keys[i]), val);
		fprintf(m, "%s%s=\"%s\"", i ? ", " : "", keys[i], val);
		ok = json_object_set_new(gl, keys[i], json_string(val)) == 0;
	}
	if (m) {
		fputc('}', m);
		if (fclose(m) != 0)
			ok = 0;
	}
	if (!ok || !s) {
		json_decref(gl);
		free(s);
		return -VIGIL_ENOMEM;
	}
	*key = hash_mix(h);
	*text = s;
	*glabels = gl;
	return 0;
}

/* ---- muting ---- */

static int in_any(const struct owner *cfg, char *const *names, size_t n, double now)
{
	for (size_t i = 0; i < n; i++) {
		const struct time_interval *ti =
			time_interval_find(cfg->intervals, cfg->nintervals, names[i]);
		if (ti && time_interval_contains(ti, now))
			return 1;
	}
	return 0;
}

/* Muted by the route's time windows at now? */
static int time_muted(const struct route *o, const struct route_rt *r, double now)
{
	if (r->nmute && in_any(o->cfg, r->mute, r->nmute, now))
		return 1;
	if (r->nactive && !in_any(o->cfg, r->active, r->nactive, now))
		return 1;
	return 0;
}

static int all_match(const struct tag_matcher *m, size_t nm, const struct kv *kv, size_t n)
{
	for (size_t i = 0; i < nm; i++)
		if (!matcher_match_kv(&m[i], kv, n))
			return 0;
	return 1;
}

static const char *kv_get(const struct kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return "";
}

/* Is alert t (labels tk) inhibited by a firing alert of its owner? */
static int inhibited(struct gateway *gw, const struct route *o, uint64_t tep, const struct kv *tk, size_t tn)
{
	const struct owner *cfg = o->cfg;
	struct kv sk[MAX_POLICY_LABELS];
	for (size_t i = 0; i < cfg->ninhibit; i++) {
		const struct inhibit_cfg *ih = &cfg->inhibit[i];
		if (!all_match(ih->target, ih->ntarget, tk, tn))
			continue;
		int t_both = all_match(ih->source, ih->nsource, tk, tn);
		for (size_t g = 0; g < gw->ngroups; g++) {
			const struct group *grp = gw->groups[g];
			if (grp->o != o)
				continue;
			for (size_t k = 0; k < grp->n; k++) {
				const struct galert *s = &grp->a[k];
				if (s->ep == tep || s->status != ALERT_FIRING)
					continue;
				size_t sn = alert_labels_kv(s->labels, sk, MAX_POLICY_LABELS);
				if (!all_match(ih->source, ih->nsource, sk, sn))
					continue;
				/* an alert on both sides is not inhibited by one also on both */
				if (t_both && all_match(ih->target, ih->ntarget, sk, sn))
					continue;
				int eq = 1;
				for (size_t e = 0; eq && e < ih->nequal; e++)
					eq = strcmp(kv_get(tk, tn, ih->equal[e]),
						    kv_get(sk, sn, ih->equal[e])) == 0;
				if (eq)
					return 1;
			}
		}
	}
	return 0;
}

static int muted(struct gateway *gw, const struct group *g, const struct galert *a, double now)
{
	struct kv kv[MAX_POLICY_LABELS];
	size_t n;
	if (time_muted(g->o, &g->o->rt[g->route], now))
		return 1;
	n = alert_labels_kv(a->labels, kv, MAX_POLICY_LABELS);
	if (silences_match(gw->sil, g->o->owner, kv, n, now))
		return 1;
	return g->o->cfg->ninhibit && inhibited(gw, g->o, a->ep, kv, n);
}

/* ---- flushing ---- */

/* The group document (schema vigil.group/v1) for sel[0..n) with marks. */
static char *group_doc(const struct group *g, const char *reason, struct galert *const *sel,
		       const char *const *mark, size_t n)
{
	json_t *alerts = json_array(), *doc;
	json_error_t je;
	char *s;
	for (size_t i = 0; alerts && i < n; i++) {
		json_t *a = json_loads(sel[i]->text, 0, &je);
		if (!a || json_object_set_new(a, "change", json_string(mark[i])) != 0 ||
		    json_array_append_new(alerts, a) != 0) {
			json_decref(a);
			json_decref(alerts);
			return NULL;
		}
	}
	doc = alerts ? json_pack("{s:s, s:s, s:s, s:s, s:O, s:o, s:i}", "schema", "vigil.group/v1", "owner",
				 g->o->owner, "group_key", g->key_text, "reason", reason, "group_labels",
				 g->glabels, "alerts", alerts, "truncated", 0)
		     : NULL;
	s = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(doc);
	return s;
}

/* Remember what an Alertmanager-like destination must be re-sent. */
static void keep_for_resend(struct gateway *gw, const struct route_rt *r, const struct galert *a, double mono)
{
	struct open_ep *e = gw_ep_find(gw, a->ep);
	if (!e || e->text)
		return;
	for (size_t d = r->first; d < r->first + r->n; d++)
		if (gw->dests[d].repeat > 0) {
			e->text = strdup(a->text);
			e->first = r->first;
			e->n = r->n;
			e->next_repeat = mono + gw->dests[d].repeat;
			return;
		}
}

/* The destinations of route r: its own, or the fallback when it has none
 * (an owner whose destinations all serve escalation, or a ruleset built
 * without any). */
void gw_route_dests(const struct gateway *gw, const struct route_rt *r, size_t *first, size_t *n)
{
	*first = r->n ? r->first : gw->fallback;
	*n = r->n ? r->n : 1;
}

/* Queue text for each destination of r (but those that carry groups when
 * skip_groups). */
static int send_each(struct gateway *gw, const struct route_rt *r, int skip_groups, const char *text,
		     int32_t part, int64_t off)
{
	int rc = 0;
	size_t first, n;
	gw_route_dests(gw, r, &first, &n);
	for (size_t d = first; d < first + n; d++) {
		if (skip_groups && gw->dests[d].type->groups)
			continue;
		if (gw_enqueue(gw, d, text, part, off, 0) != 0)
			rc = -VIGIL_ENOMEM;
	}
	return rc;
}

/* Flush group g at wall time now. Returns 1 if g became empty (the caller
 * removes it). */
static int flush(struct gateway *gw, struct group *g, double now)
{
	const struct route_rt *r = &g->o->rt[g->route];
	struct galert **sel = calloc(g->n ? g->n : 1, sizeof *sel);
	const char **mark = calloc(g->n ? g->n : 1, sizeof *mark);
	size_t nsel = 0, nnew = 0, nres = 0, nstill = 0, nwaiting = 0, nlive = 0;
	int repeat_due = 0;

	if (!sel || !mark) {
		free(sel);
		free(mark);
		LOG_ERR(comp, "event=flush_failed group=%s err=\"out of memory\"", g->key_text);
		g->next_flush = now + MUTED_RECHECK;
		return 0;
	}
	g->next_flush = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct galert *a = &g->a[i];
		if (a->status != ALERT_FIRING)
			continue;
		uint8_t m = (uint8_t)muted(gw, g, a, now);
		if (m && !a->muted && !a->notified)
			gw->st.muted++; /* counted once per stretch of muting */
		if (m != a->muted)
			gw_hist(a, now, m ? "muted" : "unmuted", NULL);
		a->muted = m;
		if (a->notified && !a->muted && !a->acked)
			nlive++;
	}
	repeat_due = r->repeat > 0 && g->last_notify > 0 && now >= g->last_notify + r->repeat && nlive > 0;
	for (size_t i = 0; i < g->n; i++) {
		struct galert *a = &g->a[i];
		if (a->status == ALERT_FIRING && !a->notified && !a->held && !a->muted) {
			if (a->page && g->o->cfg->budget.max > 0 && !gw_budget_take(gw, g->o, a->text, now)) {
				a->held = 1;
				gw_hist(a, now, "held", "page budget of %s spent: in the digest",
					g->o->owner);
				continue;
			}
			sel[nsel] = a;
			mark[nsel++] = "new";
			nnew++;
		} else if (a->status == ALERT_FIRING && !a->notified && a->muted && !a->held) {
			nwaiting++;
		}
	}
	for (size_t i = 0; i < g->n; i++) {
		struct galert *a = &g->a[i];
		if (a->status == ALERT_FIRING && a->notified && !a->muted) {
			sel[nsel] = a;
			mark[nsel++] = "firing";
			nstill++;
		} else if (a->status == ALERT_RESOLVED && a->notified) {
			sel[nsel] = a;
			mark[nsel++] = "resolved";
			nres++;
		}
	}
	const char *reason = NULL;
	size_t firing_notified = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->a[i].status == ALERT_FIRING && g->a[i].notified)
			firing_notified++;
	if (nnew)
		reason = g->last_notify > 0 ? "new alerts added" : "first notification";
	else if (nres)
		reason = firing_notified == 0 ? "all alerts resolved" : "some alerts resolved";
	else if (repeat_due)
		reason = "repeat interval elapsed";

	if (reason) {
		double mono = clock_mono();
		if (r->grouped) {
			char *doc = group_doc(g, reason, sel, mark, nsel);
			size_t first, n;
			gw_route_dests(gw, r, &first, &n);
			for (size_t d = first; doc && d < first + n; d++)
				if (gw->dests[d].type->groups)
					gw_enqueue(gw, d, doc, g->part, g->pend_off, 0);
			if (!doc)
				LOG_ERR(comp, "event=flush_failed group=%s err=\"out of memory\"",
					g->key_text);
			free(doc);
		}
		for (size_t i = 0; i < nsel; i++) {
			struct galert *a = sel[i];
			int is_new = strcmp(mark[i], "new") == 0, is_res = strcmp(mark[i], "resolved") == 0;
			if (!is_new && !is_res && !(repeat_due && !nnew && !nres && !a->acked))
				continue; /* per episode: only what changed (or the repeat) */
			send_each(gw, r, r->grouped, a->text, g->part, g->pend_off);
			if (!is_res)
				gw_hist(a, now, "notified", "%s, group %s", reason, g->key_text);
			if (is_new) {
				keep_for_resend(gw, r, a, mono);
				if (a->page && !a->acked && g->o->cfg->escalation.nlevels)
					gw_esc_start(gw, g->o, a->ep, a->text, g->part, now);
			}
		}
		for (size_t i = 0; i < nsel; i++)
			if (strcmp(mark[i], "new") == 0)
				sel[i]->notified = 1;
		g->last_notify = now;
	}
	g->pend_off = -1; /* what it held is queued (or muted, held: kept in the group) */
	free(sel);
	free(mark);

	/* drop what is resolved (notified or never told) */
	size_t w = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (g->a[i].status == ALERT_RESOLVED) {
			keep_doc(gw, g->o->owner, &g->a[i]);
			galert_fini(&g->a[i]);
		} else
			g->a[w++] = g->a[i];
	}
	g->n = w;
	g->dirty = 1;
	if (g->n == 0)
		return 1;
	if (nwaiting)
		g->next_flush = now + (r->interval > MUTED_RECHECK ? r->interval : MUTED_RECHECK);
	if (r->repeat > 0 && g->last_notify > 0) {
		double at = g->last_notify + r->repeat;
		if (g->next_flush <= 0 || at < g->next_flush)
			g->next_flush = at;
	}
	return 0;
}

void gw_group_schedule(struct group *g, double now)
{
	const struct route_rt *r = &g->o->rt[g->route];
	double at;
	if (g->last_notify <= 0)
		at = g->created + r->wait;
	else
		at = g->last_notify + r->interval;
	if (at < now)
		at = now;
	if (g->next_flush <= 0 || at < g->next_flush)
		g->next_flush = at;
}

/* Flush g if due; removes it when it became empty. */
static void flush_if_due(struct gateway *gw, struct group *g, double now)
{
	if (g->next_flush <= 0 || g->next_flush > now)
		return;
	if (flush(gw, g, now)) {
		int id = group_index_of(gw, g);
		if (id >= 0)
			group_remove(gw, (uint32_t)id);
	}
}

/* ---- submit ---- */

static int join(struct gateway *gw, struct route *o, size_t ri, const struct alert_event *ev, uint64_t ep,
		const char *text, json_t *labels, int32_t part, int64_t off, double now)
{
	uint64_t key;
	char *ktext = NULL;
	json_t *gl = NULL;
	struct group *g;
	int rc = group_key(o, ri, labels, ep, &key, &ktext, &gl);
	if (rc != 0)
		return rc;
	g = group_find(gw, key);
	if (!g) {
		g = calloc(1, sizeof *g);
		if (!g) {
			free(ktext);
			json_decref(gl);
			return -VIGIL_ENOMEM;
		}
		g->key = key; /* before group_add: the index hashes it */
		g->key_text = ktext;
		g->glabels = gl;
		g->o = o;
		g->route = ri;
		g->created = now;
		g->part = part;
		g->pend_off = -1;
		if (group_add(gw, g) != 0) {
			gw_group_free(g);
			return -VIGIL_ENOMEM;
		}
	} else {
		free(ktext);
		json_decref(gl);
	}
	struct galert *a = galert_find(g, ep);
	char *copy = strdup(text);
	if (!copy)
		return -VIGIL_ENOMEM;
	if (a) {
		free(a->text);
		a->text = copy;
		a->status = (uint8_t)ev->status;
	} else {
		if (vec_reserve((void **)&g->a, &g->cap, g->n + 1, sizeof *g->a) != 0) {
			free(copy);
			return -VIGIL_ENOMEM;
		}
		a = &g->a[g->n++];
		memset(a, 0, sizeof *a);
		a->ep = ep;
		a->text = copy;
		a->labels = json_incref(labels);
		a->status = (uint8_t)ev->status;
		a->page = ev->action && strcmp(ev->action, "page") == 0;
		/* a resolve without its firing here: the firing was notified by
		 * an earlier process, so the resolve is owed */
		a->notified = ev->status == ALERT_RESOLVED;
		if (ev->status == ALERT_FIRING && isfinite(ev->score))
			gw_hist(a, now, "fired",
				"value %.6g, expected %.6g, band [%.6g, %.6g], score %.3f, detector %s",
				ev->value, ev->expected, ev->lower, ev->upper, ev->score,
				ev->detector ? ev->detector : "?");
		else if (ev->status == ALERT_FIRING)
			gw_hist(a, now, "fired", NULL);
	}
	g->dirty = 1;
	if (off >= 0 && (g->pend_off < 0 || off < g->pend_off))
		g->pend_off = off;
	gw_group_schedule(g, now);
	flush_if_due(gw, g, now);
	return 0;
}

int gw_policy_submit(struct gateway *gw, const struct alert_event *ev, uint64_t ep, const char *text,
		     int32_t part, int64_t off)
{
	struct route *o = gw_route_rec(gw, ev->owner);
	double now = gw_now(gw);
	json_t *labels;
	int rc = 0, matched = 0;

	if (ev->status == ALERT_RESOLVED)
		gw_esc_resolve(gw, ep, text);
	if (!o)
		return -VIGIL_ENOENT;
	if ((labels = policy_labels(ev)) == NULL)
		return -VIGIL_ENOMEM;
	o->budget.part = part;
	for (size_t ri = 1; ri < o->nrt; ri++) {
		if (!route_matches(&o->rt[ri], labels))
			continue;
		matched = 1;
		if (join(gw, o, ri, ev, ep, text, labels, part, off, now) != 0)
			rc = -VIGIL_ENOMEM;
		if (!o->rt[ri].cont)
			break;
	}
	if (!matched && join(gw, o, 0, ev, ep, text, labels, part, off, now) != 0)
		rc = -VIGIL_ENOMEM;
	json_decref(labels);
	return rc;
}

void gateway_settle(struct gateway *gw)
{
	double now = gw_now(gw);
	for (size_t i = 0; i < gw->ngroups;) {
		struct group *g = gw->groups[i];
		size_t before = gw->ngroups;
		if (g->next_flush > 0) { /* a change waiting (a flush without one sends nothing) */
			g->next_flush = now;
			flush_if_due(gw, g, now);
		}
		if (gw->ngroups == before)
			i++;
	}
	gw_budget_settle(gw, now);
}

int64_t gw_groups_min_pending(struct gateway *gw, int32_t part)
{
	int64_t m = INT64_MAX;
	for (size_t i = 0; i < gw->ngroups; i++)
		if (gw->groups[i]->part == part && gw->groups[i]->pend_off >= 0 &&
		    gw->groups[i]->pend_off < m)
			m = gw->groups[i]->pend_off;
	return m;
}

static void policy_tick(struct gateway *gw, double now);

/* A tick's decisions (a group's flush and its send, an escalation step and
 * its page) are one group of the write-ahead log (gateway_log.h). */
void gw_policy_tick(struct gateway *gw, double now)
{
	if (gw->log)
		gwlog_begin(gw->log);
	policy_tick(gw, now);
	if (gw->log)
		gwlog_end(gw->log);
}

static void policy_tick(struct gateway *gw, double now)
{
	/* flush_if_due may remove the group at i (the last one moves in) */
	for (size_t i = 0; i < gw->ngroups;) {
		struct group *g = gw->groups[i];
		size_t before = gw->ngroups;
		flush_if_due(gw, g, now);
		if (gw->ngroups == before)
			i++;
	}
	gw_esc_tick(gw, now);
	gw_budget_tick(gw, now);
	if (now >= gw->next_gc) { /* expired silences past their retention leave the log too */
		gw->next_gc = now + 60;
		for (size_t i = 0; gw->log && i < silences_count(gw->sil); i++) {
			const struct silence *x = silences_at(gw->sil, i);
			if (now - x->ends > SILENCE_RETENTION) /* as silences_gc decides */
				gwlog_put(gw->log, "s", gw_silence_key(x->id), NULL);
		}
		silences_gc(gw->sil, now);
	}
}
