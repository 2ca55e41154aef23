/* One open alert as the console and the HTTP API show it
 * (gateway_alert_detail in gateway.h): the listing fields, what its newest
 * notification says (summary, runbook, the "why") and the episode's
 * history as the gateway holds it.
 * @thread the gateway's caller. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/timefmt.h"
#include "sinks/gateway_int.h"

/* Append {"at"?, "event", "detail"?} to hist; at <= 0 = time unknown. */
static void hist_add(json_t *hist, double at, const char *event, const char *detail)
{
	char t[40];
	json_t *x = json_pack("{s:s}", "event", event);
	int bad = x == NULL;
	if (!bad && at > 0 && isfinite(at)) {
		time_format_rfc3339(at, t, sizeof t);
		bad = json_object_set_new(x, "at", json_string(t)) != 0;
	}
	if (!bad && detail)
		bad = json_object_set_new(x, "detail", json_string(detail)) != 0;
	if (bad) /* out of memory: the entry is left out */
		json_decref(x);
	else
		json_array_append_new(hist, x);
}

/* The "why" sentence of a firing: observed, expected, band, score. */
static void why_text(json_t *why, char *out, size_t outlen)
{
	snprintf(out, outlen, "observed %.4g, expected %.4g (band %.4g..%.4g), score %.3g, detector %s",
		 json_number_value(json_object_get(why, "observed")),
		 json_number_value(json_object_get(why, "expected")),
		 json_number_value(json_object_get(why, "lower")),
		 json_number_value(json_object_get(why, "upper")),
		 json_number_value(json_object_get(why, "score")),
		 json_string_value(json_object_get(why, "detector"))
			 ? json_string_value(json_object_get(why, "detector"))
			 : "?");
}

/* The history of one open episode, oldest first: fired (with the why),
 * its group's newest notification, escalation and acknowledgement,
 * and its current muting or hold. */
static json_t *history(struct gateway *gw, const struct group *g, const struct galert *a, json_t *note)
{
	json_t *hist = json_array();
	char buf[512];
	if (hist == NULL)
		return NULL;
	const struct open_ep *oe = gw_ep_find(gw, a->ep);
	why_text(json_object_get(note, "why"), buf, sizeof buf);
	hist_add(hist, oe ? oe->started : 0, "fired", json_object_get(note, "why") ? buf : NULL);
	if (a->notified) {
		snprintf(buf, sizeof buf, "sent to owner %s (group %s)", g->o->owner, g->key_text);
		hist_add(hist, g->last_notify, "notified", buf);
	} else if (!a->muted && !a->held) {
		hist_add(hist, g->next_flush, "pending", "waiting for its group's next notification");
	}
	struct esc *e = gw_esc_find(gw, a->ep);
	if (e && !e->acked && e->next_at > 0) {
		snprintf(buf, sizeof buf, "escalation level %u of round %u is due", e->level + 1,
			 e->round + 1);
		hist_add(hist, e->next_at, "escalation", buf);
	}
	if (a->acked) {
		/* who acknowledged is kept only with an escalation (the audit log has it always) */
		if (e && e->acked_by)
			snprintf(buf, sizeof buf, "acknowledged by %s: escalation stopped", e->acked_by);
		hist_add(hist, 0, "acknowledged", e && e->acked_by ? buf : NULL);
	}
	if (a->muted)
		hist_add(hist, 0, "muted",
			 "muted at its group's last flush (silence, inhibition or time window)");
	if (a->held)
		hist_add(hist, 0, "held", "held back by the owner's page budget");
	return hist;
}

json_t *gateway_alert_detail(struct gateway *gw, const char *episode)
{
	for (size_t i = 0; i < gw->ngroups; i++) {
		const struct group *g = gw->groups[i];
		for (size_t k = 0; k < g->n; k++) {
			const struct galert *a = &g->a[k];
			char e[17];
			if (a->status != ALERT_FIRING)
				continue;
			hash_hex(a->ep, e);
			if (strcmp(e, episode) != 0)
				continue;
			json_t *r = gw_alert_brief(gw, g, a);
			json_t *note = a->text ? json_loads(a->text, 0, NULL) : NULL;
			if (r == NULL) {
				json_decref(note);
				return NULL;
			}
			static const char *const keys[] = {"summary", "runbook_url", "why", NULL};
			int bad = 0;
			for (int x = 0; note && keys[x]; x++) {
				json_t *v = json_object_get(note, keys[x]);
				if (v && !json_is_null(v))
					bad |= json_object_set(r, keys[x], v) != 0;
			}
			json_t *h = history(gw, g, a, note);
			bad |= h == NULL || json_object_set_new(r, "history", h) != 0;
			json_decref(note);
			if (bad) { /* out of memory: no half answer */
				json_decref(r);
				return NULL;
			}
			return r;
		}
	}
	return NULL;
}
