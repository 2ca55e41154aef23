/* "pagerduty" destination: PagerDuty Events API v2 (shared docs
 * alerting.md §11). A firing notification is a `trigger`, a resolved one a
 * `resolve`, an acknowledged one an `acknowledge` (no payload: PagerDuty
 * takes none), all with the notification's dedup_key, so PagerDuty keeps
 * one incident per episode and a repeated send is harmless.
 *
 * Settings:
 *   routing_key  (required, secret) the 32-character integration key;
 *                write it as env:NAME or file:PATH.
 *   url          (default https://events.pagerduty.com/v2/enqueue)
 *   timeout      (duration, default 10s) whole request; connecting gets at
 *                most 5s of it.
 *
 * Trigger payload: summary (the rule's summary or "<rule> on <series>:
 * observed X, expected Y", at most 1024 bytes cut on a UTF-8 boundary),
 * source = series, severity from the action (page critical, notify warning,
 * log info), timestamp (RFC 3339 data time), component = series name, group
 * = owner, class = "<detector> anomaly", custom_details with the why,
 * links with the runbook, client "vigil" (client_url = the external URL
 * when set), images with the gateway's chart of the episode when the
 * external URL (http.public_url) is set and the alert carries a window. PagerDuty answers 202; 400 is
 * dropped, 429 and 5xx retried (429 not sooner than PD_THROTTLE_WAIT).
 * @thread see sinks/sink.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "core/timefmt.h"
#include "sinks/http.h"

#define PD_THROTTLE_WAIT 30.0 /* seconds: the least wait after a 429 */

#define PD_TYPE        "pagerduty"
#define PD_DEFAULT_URL "https://events.pagerduty.com/v2/enqueue"
#define PD_KEY_LEN     32
#define PD_SUMMARY_MAX 1024

enum { PK_ROUTING_KEY, PK_URL, PK_TIMEOUT, PK_N };

struct pd_sink {
	struct http_client *http;
	char *routing_key; /* resolved secret */
	char *url;
	char *external_url; /* may be NULL */
	char *url_key;      /* http.url_key (resolved), may be NULL: unsigned chart links */
};

static int pd_settings(const struct kv *kv, size_t nkv, struct dest_key *k, double *timeout, char *err,
		       size_t errlen)
{
	int rc;
	k[PK_ROUTING_KEY] = (struct dest_key){.name = "routing_key", .required = 1, .secret = 1};
	k[PK_URL] = (struct dest_key){.name = "url"};
	k[PK_TIMEOUT] = (struct dest_key){.name = "timeout"};
	if ((rc = dest_settings(PD_TYPE, kv, nkv, k, PK_N, err, errlen)) != 0 ||
	    (rc = dest_url(PD_TYPE, &k[PK_URL], "http,https", err, errlen)) != 0 ||
	    (rc = dest_url_default(PD_TYPE, &k[PK_URL], k[PK_ROUTING_KEY].where, PD_DEFAULT_URL, err,
				   errlen)) != 0 ||
	    (rc = dest_duration(PD_TYPE, &k[PK_TIMEOUT], 10, timeout, err, errlen)) != 0)
		return rc;
	/* a literal key can be checked now; a reference when it is read */
	if (!secret_is_ref(k[PK_ROUTING_KEY].value) && strlen(k[PK_ROUTING_KEY].value) != PD_KEY_LEN) {
		snprintf(err, errlen,
			 "%s: pagerduty destination: routing_key is %zu characters; PagerDuty integration "
			 "keys are %d (value not shown)",
			 k[PK_ROUTING_KEY].where, strlen(k[PK_ROUTING_KEY].value), PD_KEY_LEN);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int pd_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	struct dest_key k[PK_N];
	double timeout;
	return pd_settings(kv, nkv, k, &timeout, err, errlen);
}

static void pd_destroy(void *priv)
{
	struct pd_sink *s = priv;
	if (!s)
		return;
	http_client_free(s->http);
	secret_free(s->routing_key);
	free(s->url);
	free(s->external_url);
	secret_free(s->url_key);
	free(s);
}

static int pd_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		     size_t errlen)
{
	struct dest_key k[PK_N];
	struct pd_sink *s;
	double timeout;
	char sub[384];
	int rc;

	if ((rc = pd_settings(kv, nkv, k, &timeout, err, errlen)) != 0)
		return rc;
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errlen, "pagerduty destination: out of memory");
		return -VIGIL_ENOMEM;
	}
	rc = secret_resolve(k[PK_ROUTING_KEY].value, "routing_key", k[PK_ROUTING_KEY].where, &s->routing_key,
			    sub, sizeof sub);
	if (rc) {
		snprintf(err, errlen, "pagerduty destination: %s", sub);
		goto fail;
	}
	if (strlen(s->routing_key) != PD_KEY_LEN) {
		snprintf(err, errlen,
			 "%s: pagerduty destination: routing_key (%s) is %zu characters; PagerDuty "
			 "integration keys are %d (value not shown)",
			 k[PK_ROUTING_KEY].where, k[PK_ROUTING_KEY].value, strlen(s->routing_key),
			 PD_KEY_LEN);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	s->url = strdup(k[PK_URL].value ? k[PK_URL].value : PD_DEFAULT_URL);
	s->external_url = env && env->external_url ? strdup(env->external_url) : NULL;
	s->url_key = env && env->url_key ? strdup(env->url_key) : NULL;
	if (!s->url || (env && env->external_url && !s->external_url) ||
	    (env && env->url_key && !s->url_key)) {
		snprintf(err, errlen, "pagerduty destination: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	if ((rc = http_client_new(timeout < 5 ? timeout : 5, timeout, &s->http, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "pagerduty destination: %s", sub);
		goto fail;
	}
	http_client_scrub(s->http, s->routing_key);
	*priv = s;
	return 0;
fail:
	pd_destroy(s);
	return rc;
}

/* custom_details: the why. */
static json_t *pd_details(const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	char started[40];
	json_t *d = json_object();
	if (!d)
		return NULL;
	time_format_rfc3339(ev->started, started, sizeof started);
	json_object_set_new(d, "observed", dest_num(ev->value));
	json_object_set_new(d, "expected", dest_num(ev->expected));
	json_object_set_new(d, "lower", dest_num(ev->lower));
	json_object_set_new(d, "upper", dest_num(ev->upper));
	json_object_set_new(d, "score", dest_num(ev->score));
	json_object_set_new(d, "threshold", dest_num(ev->threshold));
	json_object_set_new(d, "direction", json_string(ev->direction ? ev->direction : "both"));
	json_object_set_new(d, "rule", json_string(ev->rule ? ev->rule : ""));
	json_object_set_new(d, "series", json_string(ev->series ? ev->series : ""));
	json_object_set_new(d, "fingerprint", json_string(n->fingerprint ? n->fingerprint : ""));
	json_object_set_new(d, "episode", json_string(n->episode ? n->episode : ""));
	json_object_set_new(d, "started", json_string(started));
	if (ev->source)
		json_object_set_new(d, "source", json_string(ev->source));
	return d;
}

/* The Events API v2 body. NULL on OOM. */
static json_t *pd_body(const struct pd_sink *s, const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	json_t *b = json_object(), *p, *links;
	char summary[PD_SUMMARY_MAX + 8], cls[160], ts[40];

	if (!b)
		return NULL;
	json_object_set_new(b, "routing_key", json_string(s->routing_key));
	json_object_set_new(b, "event_action",
			    json_string(ev->status == ALERT_RESOLVED       ? "resolve"
					: ev->status == ALERT_ACKNOWLEDGED ? "acknowledge"
									   : "trigger"));
	json_object_set_new(b, "dedup_key", json_string(n->dedup_key ? n->dedup_key : ""));
	json_object_set_new(b, "client", json_string("vigil"));
	if (s->external_url)
		json_object_set_new(b, "client_url", json_string(s->external_url));
	if (ev->status != ALERT_FIRING)
		return b; /* resolve and acknowledge need only the key and the dedup key */

	dest_summary(ev, summary, sizeof summary);
	dest_utf8_cut(summary, PD_SUMMARY_MAX);
	snprintf(cls, sizeof cls, "%s anomaly", ev->detector ? ev->detector : "unknown");
	time_format_rfc3339(ev->ts, ts, sizeof ts);
	p = json_object();
	if (!p) {
		json_decref(b);
		return NULL;
	}
	json_object_set_new(p, "summary", json_string(summary));
	json_object_set_new(p, "source", json_string(ev->series ? ev->series : "vigil"));
	json_object_set_new(p, "severity", json_string(dest_severity(ev->action)));
	json_object_set_new(p, "timestamp", json_string(ts));
	json_object_set_new(p, "component", json_string(ev->name ? ev->name : ""));
	json_object_set_new(p, "group", json_string(n->owner ? n->owner : ev->owner ? ev->owner : ""));
	json_object_set_new(p, "class", json_string(cls));
	json_object_set_new(p, "custom_details", pd_details(n));
	json_object_set_new(b, "payload", p);
	if (ev->runbook_url && ev->runbook_url[0] && (links = json_array())) {
		json_t *l = json_object();
		if (l) {
			json_object_set_new(l, "href", json_string(ev->runbook_url));
			json_object_set_new(l, "text", json_string("Runbook"));
			json_array_append_new(links, l);
		}
		json_object_set_new(b, "links", links);
	}
	char chart[1024];
	dest_chart_url(s->external_url, s->url_key, n, chart, sizeof chart);
	if (chart[0])
		json_object_set_new(b, "images",
				    json_pack("[{s:s, s:s, s:s}]", "src", chart, "href", chart, "alt",
					      "series, expected band and anomalies"));
	return b;
}

static void pd_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct pd_sink *s = priv;
	json_t *b = pd_body(s, n);
	char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_t *rk = b ? json_object_get(b, "routing_key") : NULL;

	/* the body's copy of the routing key lives in a buffer jansson
	 * allocated for this object alone: wiped before it goes back to the heap */
	if (rk)
		secret_wipe((char *)json_string_value(rk), json_string_length(rk));
	json_decref(b);
	if (!text) {
		sink_result_set(res, SINK_RETRY, 0, "pagerduty: out of memory building the event");
		return;
	}
	http_post_json(s->http, s->url, text, strlen(text), res);
	/* PagerDuty throttles per routing key (~120 events/min) and rarely says
	 * for how long: wait at least 30 s, as it suggests */
	if (res->status == 429 && res->retry_after < PD_THROTTLE_WAIT)
		res->retry_after = PD_THROTTLE_WAIT;
	secret_wipe(text, strlen(text)); /* holds the routing key: wiped before it goes back to the heap */
	free(text);
}

const struct sink_type sink_type_pagerduty = {
	.name = PD_TYPE,
	.summary = "PagerDuty Events API v2 (settings: routing_key, url, timeout)",
	.create = pd_create,
	.check = pd_check,
	.send = pd_send,
	.flush = NULL,
	.destroy = pd_destroy,
};
