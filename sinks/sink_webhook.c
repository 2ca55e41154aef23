/* "webhook" destination: the Alertmanager webhook envelope, version 4
 * (shared docs alerting.md §11), so receivers written for Alertmanager take
 * vigil's notifications unchanged.
 *
 * A group notification (sink.h, notification.group) is one envelope with
 * every alert of the group: receiver = the owner, status "firing" while any
 * alert is not resolved, notification_reason, groupLabels = the group_by
 * labels, groupKey = the group's key, truncatedAlerts, commonLabels /
 * commonAnnotations = the pairs every alert shares; each alert has its own
 * status, labels, annotations, times, generatorURL and fingerprint, plus
 * vigil's "change" ("new" | "firing" | "resolved"). A single alert (owners
 * that do not group) is an envelope of its own: groupLabels are its
 * alertname, owner and series, commonLabels / commonAnnotations its own.
 * An acknowledgement is a single alert with status "acknowledged" (top
 * level and alert), annotations acknowledged_by / ack_comment when known;
 * Alertmanager never sends that status, receivers that only know firing /
 * resolved may ignore it.
 *
 * Settings:
 *   url      (required; may be a secret: env:NAME / file:PATH) http or https
 *   timeout  (duration, default 10s)
 *
 * Labels and annotations as dest_am_labels()/dest_am_annotations()
 * (sinks/http.h). startsAt is the episode start, endsAt the zero time
 * 0001-01-01T00:00:00Z while firing (or acknowledged) and the resolve's data time after.
 * generatorURL is <external URL>/rules/<rule>, or "" without one.
 * @thread see sinks/sink.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "sinks/http.h"

#define WH_TYPE "webhook"

enum { WK_URL, WK_TIMEOUT, WK_N };

struct wh_sink {
	struct http_client *http;
	char *url; /* resolved; a secret when given as env:/file: */
	char *external_url;
};

static int wh_settings(const struct kv *kv, size_t nkv, struct dest_key *k, double *timeout, char *err,
		       size_t errlen)
{
	int rc;
	k[WK_URL] = (struct dest_key){.name = "url", .required = 1, .secret = 1};
	k[WK_TIMEOUT] = (struct dest_key){.name = "timeout"};
	if ((rc = dest_settings(WH_TYPE, kv, nkv, k, WK_N, err, errlen)) != 0 ||
	    (rc = dest_url(WH_TYPE, &k[WK_URL], "http,https", err, errlen)) != 0)
		return rc;
	return dest_duration(WH_TYPE, &k[WK_TIMEOUT], 10, timeout, err, errlen);
}

static int wh_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	struct dest_key k[WK_N];
	double timeout;
	return wh_settings(kv, nkv, k, &timeout, err, errlen);
}

static void wh_destroy(void *priv)
{
	struct wh_sink *s = priv;
	if (!s)
		return;
	http_client_free(s->http);
	secret_free(s->url);
	free(s->external_url);
	free(s);
}

static int wh_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		     size_t errlen)
{
	struct dest_key k[WK_N];
	struct wh_sink *s;
	double timeout;
	char sub[384];
	int rc;

	if ((rc = wh_settings(kv, nkv, k, &timeout, err, errlen)) != 0)
		return rc;
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errlen, "webhook destination: out of memory");
		return -VIGIL_ENOMEM;
	}
	if ((rc = secret_resolve(k[WK_URL].value, "url", k[WK_URL].where, &s->url, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "webhook destination: %s", sub);
		goto fail;
	}
	if ((rc = dest_url_resolved(WH_TYPE, &k[WK_URL], s->url, "http,https", err, errlen)) != 0)
		goto fail;
	s->external_url = strdup(env && env->external_url ? env->external_url : "");
	if (!s->external_url) {
		snprintf(err, errlen, "webhook destination: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	if ((rc = http_client_new(timeout < 5 ? timeout : 5, timeout, &s->http, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "webhook destination: %s", sub);
		goto fail;
	}
	if (secret_is_ref(k[WK_URL].value))
		http_client_scrub(s->http, s->url);
	*priv = s;
	return 0;
fail:
	wh_destroy(s);
	return rc;
}

/* {"alertname": "...", "owner": "..."} as Alertmanager prints a label set:
 * {k="v", ...} with " and \ escaped. */
static void label_set_text(json_t *labels, char *out, size_t outlen)
{
	const char *key;
	json_t *v;
	size_t off = (size_t)snprintf(out, outlen, "{");
	int first = 1;
	json_object_foreach(labels, key, v)
	{
		const char *s = json_string_value(v);
		if (off >= outlen)
			break;
		off += (size_t)snprintf(out + off, outlen - off, "%s%s=\"", first ? "" : ", ", key);
		first = 0;
		for (; s && *s && off + 3 < outlen; s++) {
			if (*s == '"' || *s == '\\')
				out[off++] = '\\';
			out[off++] = *s;
		}
		if (off < outlen)
			off += (size_t)snprintf(out + off, outlen - off, "\"");
	}
	if (off < outlen)
		snprintf(out + off, outlen - off, "}");
}

/* One alert of the envelope: status ("firing" | "resolved" |
 * "acknowledged"), labels, annotations (plus acknowledged_by / ack_comment
 * on an acknowledgement that names them), startsAt, endsAt, generatorURL,
 * fingerprint. NULL on OOM. */
static json_t *wh_alert(const struct wh_sink *s, const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	json_t *a = json_object(), *labels = dest_am_labels(n), *ann = dest_am_annotations(n);
	char starts[40], ends[40], gen[1024], by[256], comment[1024];

	if (!a || !labels || !ann) {
		json_decref(a);
		json_decref(labels);
		json_decref(ann);
		return NULL;
	}
	if (ev->status == ALERT_ACKNOWLEDGED) {
		dest_ack_info(n->json, n->json_len, by, sizeof by, comment, sizeof comment);
		if (by[0])
			json_object_set_new(ann, "acknowledged_by", json_string(by));
		if (comment[0])
			json_object_set_new(ann, "ack_comment", json_string(comment));
	}
	time_format_rfc3339(ev->started, starts, sizeof starts);
	if (ev->status == ALERT_RESOLVED)
		time_format_rfc3339(ev->ts, ends, sizeof ends);
	else
		snprintf(ends, sizeof ends, "0001-01-01T00:00:00Z");
	dest_generator_url(s->external_url, ev->rule, gen, sizeof gen);

	json_object_set_new(a, "status", json_string(alert_status_name(ev->status)));
	json_object_set_new(a, "labels", labels);
	json_object_set_new(a, "annotations", ann);
	json_object_set_new(a, "startsAt", json_string(starts));
	json_object_set_new(a, "endsAt", json_string(ends));
	json_object_set_new(a, "generatorURL", json_string(gen));
	json_object_set_new(a, "fingerprint", json_string(n->fingerprint ? n->fingerprint : ""));
	return a;
}

/* The envelope around alerts; takes the references passed in. NULL on OOM. */
static json_t *wh_envelope(const struct wh_sink *s, const char *receiver, const char *status, const char *key,
			   size_t truncated, json_t *alerts, json_t *group, json_t *common,
			   json_t *common_ann)
{
	json_t *b = json_object();
	if (!b || !alerts || !group || !common || !common_ann) {
		json_decref(b);
		json_decref(alerts);
		json_decref(group);
		json_decref(common);
		json_decref(common_ann);
		return NULL;
	}
	json_object_set_new(b, "version", json_string("4"));
	json_object_set_new(b, "groupKey", json_string(key));
	json_object_set_new(b, "truncatedAlerts", json_integer((json_int_t)truncated));
	json_object_set_new(b, "status", json_string(status));
	json_object_set_new(b, "receiver", json_string(receiver));
	json_object_set_new(b, "groupLabels", group);
	json_object_set_new(b, "commonLabels", common);
	json_object_set_new(b, "commonAnnotations", common_ann);
	json_object_set_new(b, "externalURL", json_string(s->external_url));
	json_object_set_new(b, "alerts", alerts);
	return b;
}

/* One alert: a group of its own (alertname, owner, series). */
static json_t *wh_body(const struct wh_sink *s, const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	json_t *a = wh_alert(s, n), *alerts = json_array(), *group = json_object();
	char gtext[1024], owner_text[512], gkey[1600];

	if (!a || !alerts || !group) {
		json_decref(a);
		json_decref(alerts);
		json_decref(group);
		return NULL;
	}
	json_t *labels = json_object_get(a, "labels"), *ann = json_object_get(a, "annotations");
	json_object_set(group, "alertname", json_object_get(labels, "alertname"));
	json_object_set(group, "owner", json_object_get(labels, "owner"));
	json_object_set(group, "series", json_object_get(labels, "series"));
	label_set_text(group, gtext, sizeof gtext);
	{
		json_t *o = json_object();
		if (o) {
			json_object_set(o, "owner", json_object_get(labels, "owner"));
			label_set_text(o, owner_text, sizeof owner_text);
			json_decref(o);
		} else {
			snprintf(owner_text, sizeof owner_text, "{}");
		}
	}
	snprintf(gkey, sizeof gkey, "{}/%s:%s", owner_text, gtext);
	json_incref(labels);
	json_incref(ann);
	json_array_append_new(alerts, a);
	return wh_envelope(s,
			   n->owner    ? n->owner
			   : ev->owner ? ev->owner
				       : "",
			   alert_status_name(ev->status), gkey, 0, alerts, group, labels, ann);
}

/* Keep in *common only the pairs o has with the same value (the first
 * call copies o). */
static void common_pairs(json_t **common, json_t *o)
{
	const char *k;
	json_t *v;
	void *tmp;
	if (!*common) {
		*common = json_copy(o);
		return;
	}
	json_object_foreach_safe(*common, tmp, k, v)
	{
		json_t *w = json_object_get(o, k);
		if (!w || !json_equal(v, w))
			json_object_del(*common, k);
	}
}

/* A group notification: every alert with its "change", the group's key,
 * reason and labels; commonLabels / commonAnnotations are the pairs all
 * alerts share; status firing while any alert is not resolved. */
static json_t *wh_group_body(const struct wh_sink *s, const struct notification *n)
{
	const struct notification_group *g = n->group;
	json_t *alerts = json_array(), *group = json_object(), *common = NULL, *common_ann = NULL, *b;
	int oom = !alerts || !group;

	for (size_t i = 0; i < g->nlabels && !oom; i++)
		oom = json_object_set_new(group, g->labels[i].key, json_string(g->labels[i].value)) != 0;
	for (size_t i = 0; i < g->n && !oom; i++) {
		struct notification m;
		char fp[17], ep[17];
		dest_group_member(n, i, &m, fp, ep);
		json_t *a = wh_alert(s, &m);
		if (!a || json_object_set_new(a, "change", json_string(g->change[i])) != 0) {
			json_decref(a);
			oom = 1;
			break;
		}
		common_pairs(&common, json_object_get(a, "labels"));
		common_pairs(&common_ann, json_object_get(a, "annotations"));
		oom = json_array_append_new(alerts, a) != 0 || !common || !common_ann;
	}
	if (oom) {
		json_decref(alerts);
		json_decref(group);
		json_decref(common);
		json_decref(common_ann);
		return NULL;
	}
	b = wh_envelope(s, n->owner ? n->owner : "", dest_group_firing(g) ? "firing" : "resolved", g->key,
			g->truncated, alerts, group, common, common_ann);
	if (b)
		json_object_set_new(b, "notification_reason", json_string(g->reason ? g->reason : "unknown"));
	return b;
}

static void wh_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct wh_sink *s = priv;
	json_t *b = n->group ? wh_group_body(s, n) : wh_body(s, n);
	char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;

	json_decref(b);
	if (!text) {
		sink_result_set(res, SINK_RETRY, 0, "webhook: out of memory building the message");
		return;
	}
	http_post_json_idem(s->http, s->url, text, strlen(text), n->idem_key, res);
	free(text);
}

const struct sink_type sink_type_webhook = {
	.name = WH_TYPE,
	.summary = "Alertmanager webhook v4 JSON POST (settings: url, timeout)",
	.create = wh_create,
	.check = wh_check,
	.send = wh_send,
	.flush = NULL,
	.destroy = wh_destroy,
	.groups = 1,
};
