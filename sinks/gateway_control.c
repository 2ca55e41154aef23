/* On-call control operations (gateway.h "on-call control"): silences,
 * acknowledge, the control-command dispatcher, listings and the on-call
 * report. The CLI, the control topic and the HTTP API call these and
 * nothing else, so every way in behaves the same.
 * @thread the gateway's caller. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/timefmt.h"
#include "sinks/gateway_int.h"

static const char comp[] = "gateway";

#define CONTROL_SCHEMA "vigil.control/v1"

/* Re-check every group of owner at once (a silence came or went). */
static void recheck(struct gateway *gw, const char *owner)
{
	double now = gw_now(gw);
	for (size_t i = 0; i < gw->ngroups; i++) {
		struct group *g = gw->groups[i];
		if (owner && strcmp(g->o->owner, owner) != 0)
			continue;
		for (size_t k = 0; k < g->n; k++)
			if (g->a[k].status == ALERT_FIRING && !g->a[k].notified && !g->a[k].held) {
				gw_group_schedule(g, now); /* a muted alert: looked at again when due */
				break;
			}
	}
}

int gateway_silence_add(struct gateway *gw, json_t *spec, int32_t part, char *id_out, char *err,
			size_t errlen)
{
	const char *owner = json_string_value(json_object_get(spec, "owner"));
	double now = gw_now(gw);
	int rc;

	if (!json_is_object(spec)) {
		snprintf(err, errlen, "silence: expected a JSON object");
		return -VIGIL_EINVAL;
	}
	if (!owner || !gw_route_rec(gw, owner)) {
		snprintf(err, errlen, "silence: owner: '%.100s' is not an owner of the loaded rules",
			 owner ? owner : "(missing)");
		return -VIGIL_EINVAL;
	}
	if ((rc = silences_add(gw->sil, spec, now, part, id_out, err, errlen)) != 0)
		return rc;
	gw_silence_persist(gw, id_out);
	const char *old = json_string_value(json_object_get(spec, "id"));
	if (old && strcmp(old, id_out) != 0)
		gw_silence_persist(gw, old); /* updated by re-creation: the old one expired */
	recheck(gw, owner);
	LOG_INFO(comp, "event=silence_added id=%s owner=%s by=%s", id_out, owner,
		 json_string_value(json_object_get(spec, "created_by"))
			 ? json_string_value(json_object_get(spec, "created_by"))
			 : "-");
	return 0;
}

int gateway_silence_expire(struct gateway *gw, const char *owner, const char *id, char *err, size_t errlen)
{
	double now = gw_now(gw);
	int rc = silences_expire(gw->sil, owner, id ? id : "", now);
	if (rc != 0) {
		snprintf(err, errlen, "silence %.40s: no such silence%s%.100s", id ? id : "",
			 owner ? " of owner " : "", owner ? owner : "");
		return rc;
	}
	gw_silence_persist(gw, id);
	const struct silence *x = silences_find(gw->sil, id);
	recheck(gw, x ? x->owner : owner);
	LOG_INFO(comp, "event=silence_expired id=%s", id);
	return 0;
}

json_t *gateway_silence_get(struct gateway *gw, const char *id)
{
	const struct silence *x = id ? silences_find(gw->sil, id) : NULL;
	return x ? silence_to_json(x, gw_now(gw)) : NULL;
}

json_t *gateway_silence_list(struct gateway *gw, const char *owner)
{
	json_t *arr = json_array();
	double now = gw_now(gw);
	for (size_t i = 0; arr && i < silences_count(gw->sil); i++) {
		const struct silence *x = silences_at(gw->sil, i);
		if (owner && strcmp(x->owner, owner) != 0)
			continue;
		if (json_array_append_new(arr, silence_to_json(x, now)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *gw_alert_brief(struct gateway *gw, const struct group *g, const struct galert *a)
{
	char e[17], t[40];
	hash_hex(a->ep, e);
	json_t *r = json_pack(
		"{s:s, s:s, s:O, s:O, s:O, s:b, s:b, s:b, s:b, s:s}", "episode", e, "owner", g->o->owner,
		"rule", json_object_get(a->labels, "rule") ? json_object_get(a->labels, "rule") : json_null(),
		"series",
		json_object_get(a->labels, "series") ? json_object_get(a->labels, "series") : json_null(),
		"labels", a->labels, "notified", a->notified, "muted", a->muted, "acknowledged", a->acked,
		"held", a->held, "group", g->key_text);
	const struct open_ep *oe = gw_ep_find(gw, a->ep);
	if (r && oe && isfinite(oe->started)) {
		time_format_rfc3339(oe->started, t, sizeof t);
		json_object_set_new(r, "startsAt", json_string(t));
		json_object_set_new(r, "age_seconds",
				    json_integer((json_int_t)fmax(0, gw_now(gw) - oe->started)));
	}
	return r;
}

json_t *gateway_silence_preview(struct gateway *gw, json_t *spec, char *err, size_t errlen)
{
	struct silence *x = NULL;
	const char *owner = json_string_value(json_object_get(spec, "owner"));
	if (silence_from_spec(spec, gw_now(gw), &x, err, errlen) != 0)
		return NULL;
	json_t *arr = json_array();
	struct kv kv[ALERT_MAX_LABELS + 8];
	for (size_t i = 0; arr && i < gw->ngroups; i++) {
		const struct group *g = gw->groups[i];
		if (owner && strcmp(g->o->owner, owner) != 0)
			continue;
		for (size_t k = 0; k < g->n; k++) {
			const struct galert *a = &g->a[k];
			size_t n = alert_labels_kv(a->labels, kv, sizeof kv / sizeof kv[0]);
			if (a->status == ALERT_FIRING && silence_matches(x, kv, n))
				json_array_append_new(arr, gw_alert_brief(gw, g, a));
		}
	}
	silence_free(x);
	return arr;
}

/* The brief plus what the event says (why, summary, runbook_url,
 * startsAt, the newest transition's time) and the episode's history. */
static json_t *alert_detail(struct gateway *gw, const struct group *g, const struct galert *a)
{
	static const char *const from_event[] = {"why", "summary", "runbook_url", "startsAt", "ts", "action"};
	json_t *j = gw_alert_brief(gw, g, a), *ev = json_loads(a->text, 0, NULL);
	for (size_t i = 0; j && ev && i < sizeof from_event / sizeof from_event[0]; i++) {
		json_t *v = json_object_get(ev, from_event[i]);
		if (v)
			json_object_set(j, from_event[i], v);
	}
	json_decref(ev);
	json_t *h = a->hist ? json_copy(a->hist) : json_array();
	/* what comes next: an escalation level due (not history yet) */
	const struct esc *e = gw_esc_find(gw, a->ep);
	if (h && e && !e->acked && e->next_at > 0) {
		char at[40], d[96];
		time_format_rfc3339(e->next_at, at, sizeof at);
		snprintf(d, sizeof d, "level %u of round %u is due", e->level + 1, e->round + 1);
		json_array_append_new(
			h, json_pack("{s:s, s:s, s:s}", "at", at, "event", "escalation_due", "detail", d));
	}
	if (!j || !h || json_object_set_new(j, "history", h) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* 1 if a is in state ("" = any; "active" = neither acknowledged, muted nor
 * held). */
static int in_state(const struct galert *a, const char *state)
{
	if (state == NULL || state[0] == '\0')
		return 1;
	if (strcmp(state, "acknowledged") == 0)
		return a->acked;
	if (strcmp(state, "muted") == 0)
		return a->muted;
	if (strcmp(state, "held") == 0)
		return a->held;
	return !a->acked && !a->muted && !a->held;
}

/* a's brief as JSON text, cached in a->brief and rendered again when a flag
 * it shows changed. NULL when out of memory. */
static const char *brief_text(struct gateway *gw, const struct group *g, struct galert *a)
{
	uint8_t key = (uint8_t)(0x80 | (a->notified ? 1 : 0) | (a->muted ? 2 : 0) | (a->acked ? 4 : 0) |
				(a->held ? 8 : 0));
	if (a->brief && a->brief_key == key)
		return a->brief;
	json_t *j = gw_alert_brief(gw, g, a);
	if (j)
		json_object_del(j, "age_seconds"); /* added at listing time */
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (t == NULL)
		return NULL;
	free(a->brief);
	a->brief = t;
	a->brief_key = key;
	return t;
}

void gw_count_alerts(const struct gateway *gw, struct gateway_stats *out)
{
	out->alerts_active = out->alerts_acked = out->alerts_muted = out->alerts_held = 0;
	for (size_t i = 0; i < gw->ngroups; i++) {
		const struct group *g = gw->groups[i];
		for (size_t k = 0; k < g->n; k++) {
			const struct galert *a = &g->a[k];
			if (a->status != ALERT_FIRING)
				continue;
			out->alerts_acked += a->acked != 0;
			out->alerts_muted += a->muted != 0;
			out->alerts_held += a->held != 0;
			out->alerts_active += !a->acked && !a->muted && !a->held;
		}
	}
}

int gateway_alerts_json(struct gateway *gw, const char *owner, const char *state, struct buf *out)
{
	int first = 1;
	buf_put(out, "[", 1);
	for (size_t i = 0; i < gw->ngroups; i++) {
		struct group *g = gw->groups[i];
		if (owner && strcmp(g->o->owner, owner) != 0)
			continue;
		for (size_t k = 0; k < g->n; k++) {
			struct galert *a = &g->a[k];
			if (a->status != ALERT_FIRING || !in_state(a, state))
				continue;
			const char *t = brief_text(gw, g, a);
			size_t n = t ? strlen(t) : 0;
			if (n < 2)
				return -VIGIL_ENOMEM;
			if (!first)
				buf_put(out, ",", 1);
			first = 0;
			/* the cached text without its closing brace, then the age now */
			buf_put(out, t, n - 1);
			const struct open_ep *oe = gw_ep_find(gw, a->ep);
			if (oe && isfinite(oe->started)) {
				char age[48];
				int m = snprintf(age, sizeof age, ",\"age_seconds\":%lld",
						 (long long)fmax(0, gw_now(gw) - oe->started));
				buf_put(out, age, (size_t)m);
			}
			buf_put(out, "}", 1);
		}
	}
	buf_put(out, "]", 1);
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

json_t *gateway_alert(struct gateway *gw, const char *episode)
{
	char *end;
	if (episode == NULL || strlen(episode) != 16)
		return NULL;
	uint64_t ep = strtoull(episode, &end, 16);
	if (*end != '\0')
		return NULL;
	for (size_t i = 0; i < gw->ngroups; i++) {
		const struct group *g = gw->groups[i];
		for (size_t k = 0; k < g->n; k++)
			if (g->a[k].ep == ep && g->a[k].status == ALERT_FIRING)
				return alert_detail(gw, g, &g->a[k]);
	}
	return NULL;
}

json_t *gateway_alert_doc(struct gateway *gw, const char *episode, const char **owner)
{
	char hex[17];
	*owner = NULL;
	if (episode == NULL || strlen(episode) != 16)
		return NULL;
	for (size_t i = 0; i < gw->ngroups; i++) {
		const struct group *g = gw->groups[i];
		for (size_t k = 0; k < g->n; k++) {
			hash_hex(g->a[k].ep, hex);
			if (strcmp(hex, episode) != 0 || g->a[k].text == NULL)
				continue;
			json_t *doc = json_loads(g->a[k].text, 0, NULL);
			if (doc == NULL)
				return NULL;
			*owner = g->o->owner;
			return doc;
		}
	}
	for (size_t i = 0; i < GW_CHART_KEEP; i++) { /* recently resolved */
		const struct kept_doc *k = &gw->kept[i];
		if (k->text == NULL)
			continue;
		hash_hex(k->ep, hex);
		if (strcmp(hex, episode) != 0)
			continue;
		json_t *doc = json_loads(k->text, 0, NULL);
		if (doc)
			*owner = k->owner;
		return doc;
	}
	return NULL;
}

static json_t *reply_err(const char *e)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", e);
}

int gateway_control(struct gateway *gw, json_t *cmd, int32_t part, json_t **reply, char *err, size_t errlen)
{
	const char *op = json_string_value(json_object_get(cmd, "op"));
	const char *schema = json_string_value(json_object_get(cmd, "schema"));
	char id[SILENCE_ID_LEN + 8];
	json_t *ok = NULL;
	int rc;

	if (reply)
		*reply = NULL;
	if (!json_is_object(cmd) || (schema && strcmp(schema, CONTROL_SCHEMA) != 0) || !op) {
		snprintf(err, errlen, "control: want a JSON object with \"op\" (schema %s)", CONTROL_SCHEMA);
		rc = -VIGIL_EINVAL;
	} else if (strcmp(op, "silence_add") == 0) {
		rc = gateway_silence_add(gw, json_object_get(cmd, "silence"), part, id, err, errlen);
		if (rc == 0)
			ok = json_pack("{s:b, s:s}", "ok", 1, "id", id);
	} else if (strcmp(op, "silence_expire") == 0) {
		rc = gateway_silence_expire(gw, json_string_value(json_object_get(cmd, "owner")),
					    json_string_value(json_object_get(cmd, "id")), err, errlen);
		if (rc == 0)
			ok = json_pack("{s:b}", "ok", 1);
	} else if (strcmp(op, "ack") == 0 || strcmp(op, "unack") == 0) {
		rc = gateway_ack(gw, json_string_value(json_object_get(cmd, "episode")),
				 json_string_value(json_object_get(cmd, "by")),
				 json_string_value(json_object_get(cmd, "comment")), op[0] == 'u', err,
				 errlen);
		if (rc == 0)
			ok = json_pack("{s:b}", "ok", 1);
	} else {
		snprintf(err, errlen,
			 "control: unknown op '%.40s' (known: silence_add, silence_expire, ack, unack)", op);
		rc = -VIGIL_EINVAL;
	}
	if (reply)
		*reply = rc == 0 ? ok : reply_err(err);
	else
		json_decref(ok);
	return rc;
}

/* ---- who is on call ---- */

json_t *gateway_oncall_report(const struct ruleset *rs, const char *owner, double now)
{
	json_t *arr = json_array();
	char t[40];
	for (size_t i = 0; arr && rs && i < rs->nowners; i++) {
		const struct owner *o = &rs->owners[i];
		if (owner && strcmp(o->name, owner) != 0)
			continue;
		for (size_t k = 0; k < o->nschedules; k++) {
			const struct schedule *s = &o->schedules[k];
			double until = INFINITY, until2 = INFINITY;
			const char *who = schedule_oncall(s, now, &until);
			const char *next = isfinite(until) ? schedule_oncall(s, until, &until2) : NULL;
			json_t *x = json_pack("{s:s, s:s, s:s?, s:s?}", "owner", o->name, "schedule", s->name,
					      "now", who, "next", next);
			if (x && isfinite(until)) {
				time_format_rfc3339(until, t, sizeof t);
				json_object_set_new(x, "until", json_string(t));
			}
			if (x && isfinite(until2) && next) {
				time_format_rfc3339(until2, t, sizeof t);
				json_object_set_new(x, "next_until", json_string(t));
			}
			json_array_append_new(arr, x);
		}
	}
	return arr;
}
