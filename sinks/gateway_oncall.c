/* Escalation, acknowledge and the page budget (issue 10; docs/alerting.md
 * §13 "missing by design" in Alertmanager).
 *
 * Escalation: when a page of an owner with an escalation policy is first
 * sent, level 1 is notified `after` its delay, then each next level at its
 * own delay (measured from the first send), until the episode is
 * acknowledged or resolved. After the last level the policy runs again
 * `repeat` times, each round starting repeat_after after the previous
 * round's last level. A schedule level notifies whoever the schedule has on
 * call at that moment (nobody on call: the level is skipped and logged).
 * Everyone escalation reached gets the resolve.
 *
 * Acknowledge stops escalation and repeats of that episode and is sent to
 * every destination that got its firing (PagerDuty: event_action
 * acknowledge). Unacknowledge restarts escalation from level 1 at once
 * (PagerDuty's Events API has no unacknowledge: the incident there stays
 * acknowledged until it resolves).
 *
 * Page budget: at most max pages per window of `per` seconds per owner; the
 * window opens at the first page. A page beyond it is held: the owner gets
 * one "page budget hit" notification (a firing meta-alert), and when the
 * window ends its resolve carries the digest of every held page.
 * @thread the gateway's caller. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/timefmt.h"
#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

#define DIGEST_MAX 1000 /* held pages listed in one digest (the rest counted) */

/* ---- escalation ---- */

struct esc *gw_esc_find(struct gateway *gw, uint64_t ep)
{
	for (size_t i = 0; i < gw->nesc; i++)
		if (gw->escs[i]->ep == ep)
			return gw->escs[i];
	return NULL;
}

static void esc_free(struct esc *e)
{
	if (!e)
		return;
	free(e->text);
	free(e->acked_by);
	free(e->sent);
	free(e);
}

static void esc_unlink(struct gateway *gw, struct esc *e, int logged)
{
	for (size_t i = 0; i < gw->nesc; i++)
		if (gw->escs[i] == e) {
			gw->escs[i] = gw->escs[--gw->nesc];
			break;
		}
	if (gw->log && logged)
		gwlog_put(gw->log, "e", e->ep, NULL);
	esc_free(e);
}

static void esc_remove(struct gateway *gw, struct esc *e)
{
	esc_unlink(gw, e, 1);
}

void gw_esc_drop(struct gateway *gw, struct esc *e)
{
	esc_unlink(gw, e, 0);
}

static int sent_add(struct esc *e, size_t d)
{
	for (size_t i = 0; i < e->nsent; i++)
		if (e->sent[i] == d)
			return 0;
	if (vec_reserve((void **)&e->sent, &e->capsent, e->nsent + 1, sizeof *e->sent) != 0)
		return -VIGIL_ENOMEM;
	e->sent[e->nsent++] = d;
	return 0;
}

static const struct person_rt *person_of(const struct route *o, const char *name)
{
	for (size_t i = 0; name && i < o->cfg->npeople; i++)
		if (strcmp(o->people[i].name, name) == 0)
			return &o->people[i];
	return NULL;
}

/* Notify level lv of e's policy at now. */
static void esc_notify(struct gateway *gw, struct esc *e, size_t lv, double now)
{
	const struct esc_level *L = &e->o->cfg->escalation.levels[lv];
	size_t first = 0, n = 0;
	const char *who = L->target;
	char epx[17];

	hash_hex(e->ep, epx);
	if (L->kind == ESC_DESTINATION) {
		first = e->o->level_dest[lv];
		n = 1;
	} else {
		if (L->kind == ESC_SCHEDULE) {
			const struct schedule *s =
				schedule_find(e->o->cfg->schedules, e->o->cfg->nschedules, L->target);
			who = s ? schedule_oncall(s, now, NULL) : NULL;
			if (!who) {
				LOG_WARN(
					comp,
					"event=escalation_skipped owner=%s episode=%s level=%zu schedule=%s: "
					"nobody is on call",
					e->o->owner, epx, lv + 1, L->target);
				return;
			}
		}
		const struct person_rt *p = person_of(e->o, who);
		if (!p)
			return;
		first = p->first;
		n = p->n;
	}
	LOG_INFO(comp, "event=escalated owner=%s episode=%s level=%zu round=%u target=%s", e->o->owner, epx,
		 lv + 1, e->round + 1, who);
	struct galert *ga = gw_galert_by_ep(gw, e->ep);
	if (ga)
		gw_hist(ga, now, "escalated", "level %zu, round %u: %s", lv + 1, e->round + 1, who);
	gw->st.escalations++;
	for (size_t d = first; d < first + n; d++) {
		if (gw_enqueue(gw, d, e->text, e->part, -1, 0) != 0 || sent_add(e, d) != 0)
			LOG_ERR(comp, "event=escalation_failed episode=%s err=\"out of memory\"", epx);
	}
}

/* Notify every level due at now; set next_at. */
static void esc_step(struct gateway *gw, struct esc *e, double now)
{
	const struct escalation_cfg *c = &e->o->cfg->escalation;
	e->dirty = 1;
	while (!e->acked) {
		if (e->level == c->nlevels) {
			if (e->round >= c->repeat) {
				e->next_at = 0; /* finished */
				return;
			}
			e->t0 += c->levels[c->nlevels - 1].after + c->repeat_after;
			e->level = 0;
			e->round++;
		}
		double due = e->t0 + c->levels[e->level].after;
		if (due > now) {
			e->next_at = due;
			return;
		}
		esc_notify(gw, e, e->level, now);
		e->level++;
	}
	e->next_at = 0;
}

int gw_esc_start(struct gateway *gw, struct route *o, uint64_t ep, const char *text, int32_t part, double now)
{
	struct esc *e;
	if (gw_esc_find(gw, ep))
		return 0;
	if (vec_reserve((void **)&gw->escs, &gw->capesc, gw->nesc + 1, sizeof *gw->escs) != 0 ||
	    (e = calloc(1, sizeof *e)) == NULL)
		return -VIGIL_ENOMEM;
	e->ep = ep;
	e->o = o;
	e->t0 = now;
	e->part = part;
	if ((e->text = strdup(text)) == NULL) {
		free(e);
		return -VIGIL_ENOMEM;
	}
	gw->escs[gw->nesc++] = e;
	esc_step(gw, e, now);
	return 0;
}

void gw_esc_resolve(struct gateway *gw, uint64_t ep, const char *text)
{
	struct esc *e = gw_esc_find(gw, ep);
	if (!e)
		return;
	for (size_t i = 0; i < e->nsent; i++)
		gw_enqueue(gw, e->sent[i], text, e->part, -1, 0);
	esc_remove(gw, e);
}

void gw_esc_tick(struct gateway *gw, double now)
{
	for (size_t i = 0; i < gw->nesc; i++) {
		struct esc *e = gw->escs[i];
		if (e->next_at > 0 && e->next_at <= now)
			esc_step(gw, e, now);
	}
}

/* ---- acknowledge ---- */

/* The acknowledged form of firing text: status "acknowledged" plus who. */
static char *ack_text(const char *firing, const char *by, const char *comment)
{
	json_error_t je;
	json_t *j = json_loads(firing, 0, &je);
	char *s = NULL;
	if (j && json_object_set_new(j, "status", json_string("acknowledged")) == 0 &&
	    (!by || json_object_set_new(j, "acknowledged_by", json_string(by)) == 0) &&
	    (!comment || json_object_set_new(j, "ack_comment", json_string(comment)) == 0))
		s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	return s;
}

int gateway_ack(struct gateway *gw, const char *episode, const char *by, const char *comment, int unack,
		char *err, size_t errlen)
{
	char *end;
	uint64_t ep = strtoull(episode ? episode : "", &end, 16);
	size_t *done = NULL, ndone = 0, cap = 0;
	int found = 0;
	double now = gw_now(gw);

	if (!episode || strlen(episode) != 16 || *end != '\0') {
		snprintf(err, errlen, "episode: want 16 hex digits, got '%.40s'", episode ? episode : "");
		return -VIGIL_EINVAL;
	}
	struct esc *e = gw_esc_find(gw, ep);
	for (size_t gi = 0; gi < gw->ngroups; gi++) {
		struct group *g = gw->groups[gi];
		for (size_t k = 0; k < g->n; k++) {
			struct galert *a = &g->a[k];
			if (a->ep != ep || a->status != ALERT_FIRING)
				continue;
			found = 1;
			g->dirty = 1;
			a->acked = (uint8_t)!unack;
			gw_hist(a, now, unack ? "unacknowledged" : "acknowledged", "by %s%s%s", by ? by : "?",
				comment && *comment ? ": " : "", comment ? comment : "");
			if (unack || !a->notified)
				continue;
			char *t = ack_text(a->text, by, comment);
			size_t first, n;
			gw_route_dests(gw, &g->o->rt[g->route], &first, &n);
			for (size_t d = first; t && d < first + n; d++) {
				int seen = 0;
				for (size_t i = 0; i < ndone; i++)
					seen |= done[i] == d;
				if (seen || vec_reserve((void **)&done, &cap, ndone + 1, sizeof *done) != 0)
					continue;
				done[ndone++] = d;
				gw_enqueue(gw, d, t, g->part, -1, 0);
			}
			free(t);
		}
	}
	if (e) {
		found = 1;
		e->dirty = 1;
		if (unack) {
			if (e->acked) {
				e->acked = 0;
				free(e->acked_by);
				e->acked_by = NULL;
				e->t0 = now;
				e->level = 0;
				e->round = 0;
				esc_step(gw, e, now);
			}
		} else {
			e->acked = 1;
			e->next_at = 0;
			free(e->acked_by);
			e->acked_by = by ? strdup(by) : NULL;
			char *t = ack_text(e->text, by, comment);
			for (size_t i = 0; t && i < e->nsent; i++) {
				int seen = 0;
				for (size_t k = 0; k < ndone; k++)
					seen |= done[k] == e->sent[i];
				if (!seen)
					gw_enqueue(gw, e->sent[i], t, e->part, -1, 0);
			}
			free(t);
		}
	}
	free(done);
	if (!found) {
		snprintf(err, errlen, "episode %s: no open episode with this id", episode);
		return -VIGIL_ENOENT;
	}
	if (!unack)
		gw->st.acks++;
	LOG_INFO(comp, "event=%s episode=%s by=%s", unack ? "unacknowledged" : "acknowledged", episode,
		 by ? by : "-");
	return 0;
}

/* ---- page budget ---- */

/* The budget meta-alert of owner o for the window that started at start:
 * firing (budget hit) or resolved (window over) with the digest. */
static char *budget_text(const struct route *o, double start, int resolved, double now, json_t *held)
{
	char series[600], summary[1024], t0[40], t1[40];
	struct alert_event ev;
	size_t nheld = held ? json_array_size(held) : 0;

	memset(&ev, 0, sizeof ev);
	snprintf(series, sizeof series, "vigil.page_budget{owner=%.500s}", o->owner);
	time_format_rfc3339(start, t0, sizeof t0);
	time_format_rfc3339(start + o->cfg->budget.per, t1, sizeof t1);
	if (!resolved)
		snprintf(summary, sizeof summary,
			 "page budget of %s hit (%u pages per %gs, window %s to %s): further pages are held "
			 "and sent as one digest when the window ends",
			 o->owner, o->cfg->budget.max, o->cfg->budget.per, t0, t1);
	else
		snprintf(summary, sizeof summary,
			 "page digest of %s: %zu page(s) held by the page budget (%u per %gs) from %s to %s",
			 o->owner, nheld, o->cfg->budget.max, o->cfg->budget.per, t0, t1);
	ev.status = resolved ? ALERT_RESOLVED : ALERT_FIRING;
	ev.rule = "vigil-page-budget";
	ev.owner = o->owner;
	ev.action = "notify";
	ev.detector = "gateway";
	ev.series = series;
	ev.name = "vigil.page_budget";
	ev.summary = summary;
	ev.ts = resolved ? now : start;
	ev.started = start;
	ev.value = (double)(o->budget.used + nheld);
	ev.expected = ev.upper = (double)o->cfg->budget.max;
	ev.lower = NAN;
	ev.score = 1.0;
	ev.direction = "up";
	ev.threshold = 1.0;
	ev.source = "gateway";
	json_t *j = alert_to_json(&ev);
	if (j && held)
		json_object_set(j, "digest", held);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	return s;
}

static void budget_send(struct gateway *gw, struct route *o, const char *text)
{
	size_t first, n;
	gw_route_dests(gw, &o->rt[0], &first, &n);
	for (size_t d = first; text && d < first + n; d++)
		gw_enqueue(gw, d, text, o->budget.part, -1, 0);
	if (!text)
		LOG_ERR(comp, "event=budget_notice_failed owner=%s err=\"out of memory\"", o->owner);
}

/* Close o's window at now: the digest (if pages were held). */
static void budget_close(struct gateway *gw, struct route *o, double now)
{
	struct budget_rt *b = &o->budget;
	if (b->told) {
		char *t = budget_text(o, b->start, 1, now, b->held);
		LOG_INFO(comp, "event=page_digest owner=%s held=%zu", o->owner,
			 b->held ? json_array_size(b->held) : 0);
		gw->st.page_digests++;
		budget_send(gw, o, t);
		free(t);
	}
	json_decref(b->held);
	b->held = NULL;
	b->start = 0;
	b->used = 0;
	b->told = 0;
	b->dirty = 1;
}

int gw_budget_take(struct gateway *gw, struct route *o, const char *text, double now)
{
	struct budget_rt *b = &o->budget;
	const struct budget_cfg *c = &o->cfg->budget;
	if (b->start > 0 && now >= b->start + c->per)
		budget_close(gw, o, now);
	if (b->start <= 0) {
		b->start = now;
		b->used = 0;
	}
	b->dirty = 1;
	if (b->used < c->max) {
		b->used++;
		return 1;
	}
	if (!b->held)
		b->held = json_array();
	json_error_t je;
	json_t *a = json_loads(text, 0, &je);
	if (b->held && a && json_array_size(b->held) < DIGEST_MAX)
		json_array_append(b->held, a);
	json_decref(a);
	gw->st.pages_held++;
	if (!b->told) {
		b->told = 1;
		LOG_WARN(comp, "event=page_budget_hit owner=%s max=%u per=%g", o->owner, c->max, c->per);
		char *t = budget_text(o, b->start, 0, now, NULL);
		budget_send(gw, o, t);
		free(t);
	}
	return 0;
}

void gw_budget_settle(struct gateway *gw, double now)
{
	for (size_t i = 0; i < gw->nroutes; i++)
		if (gw->routes[i].budget.told) /* pages are held: the digest goes now */
			budget_close(gw, &gw->routes[i], now);
}

void gw_budget_tick(struct gateway *gw, double now)
{
	for (size_t i = 0; i < gw->nroutes; i++) {
		struct route *o = &gw->routes[i];
		if (o->budget.start > 0 && now >= o->budget.start + o->cfg->budget.per)
			budget_close(gw, o, now);
	}
}

void gw_oncall_fini(struct gateway *gw)
{
	for (size_t i = 0; i < gw->nesc; i++)
		esc_free(gw->escs[i]);
	free(gw->escs);
	gw->escs = NULL;
	gw->nesc = 0;
	for (size_t i = 0; i < gw->nroutes; i++) {
		json_decref(gw->routes[i].budget.held);
		gw->routes[i].budget.held = NULL;
	}
}
