/* "alertmanager" destination: posts to a Prometheus Alertmanager's API v2
 * (POST <url>/api/v2/alerts, a JSON array of one alert; shared docs
 * alerting.md §11), as Prometheus itself does.
 *
 * Settings:
 *   url      (required) the Alertmanager base URL, e.g. http://127.0.0.1:9093
 *            (a trailing "/" and a trailing "/api/v2/alerts" are accepted);
 *            may be a secret (env:/file:) when it carries credentials
 *   timeout  (duration, default 10s)
 *   lease    (duration, default 5m) endsAt of a firing post is now + lease
 *
 * Alertmanager forgets an alert nobody re-posts: a firing post carries
 * endsAt = wall-clock now + lease, so a vigil that stops re-posting has its
 * alerts expire within the lease instead of firing forever; while the
 * episode fires, the gateway should re-send the firing notification well
 * within the lease (every lease/4 = 75 s is what Prometheus does with its
 * 4x resend_delay). A resolve posts endsAt = the resolve's data time (not
 * later than now, so it takes effect at once). startsAt is the episode's
 * start, not after endsAt. Labels and annotations as dest_am_labels() /
 * dest_am_annotations(); generatorURL only with an external URL.
 *
 * An acknowledgement is not posted (SINK_OK, nothing sent): Alertmanager's
 * alerts have no acknowledged state, and nothing we could post means it.
 * A re-post of the firing alert would only refresh it; one with an
 * "acknowledged" label would be a different alert (labels are identity)
 * firing next to the first; ending it (endsAt now) would tell
 * Alertmanager the problem is over and make it notify a resolve; a silence
 * would mute every notification of the alert, its resolve included
 * (Alertmanager #226). The alert stays firing there until the resolve.
 * @thread see sinks/sink.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/params.h"
#include "core/secret.h"
#include "core/timefmt.h"
#include "sinks/http.h"

#define AM_TYPE "alertmanager"
#define AM_PATH "/api/v2/alerts"

enum { AK_URL, AK_TIMEOUT, AK_LEASE, AK_N };

struct am_sink {
	struct http_client *http;
	char *url; /* full endpoint: base + /api/v2/alerts */
	char *external_url;
	double lease;
	int url_secret;
};

static int am_settings(const struct kv *kv, size_t nkv, struct dest_key *k, double *timeout, double *lease,
		       char *err, size_t errlen)
{
	int rc;
	k[AK_URL] = (struct dest_key){.name = "url", .required = 1, .secret = 1};
	k[AK_TIMEOUT] = (struct dest_key){.name = "timeout"};
	k[AK_LEASE] = (struct dest_key){.name = "lease"};
	if ((rc = dest_settings(AM_TYPE, kv, nkv, k, AK_N, err, errlen)) != 0 ||
	    (rc = dest_url(AM_TYPE, &k[AK_URL], "http,https", err, errlen)) != 0 ||
	    (rc = dest_duration(AM_TYPE, &k[AK_TIMEOUT], 10, timeout, err, errlen)) != 0)
		return rc;
	*lease = 300;
	if (k[AK_LEASE].value &&
	    (params_parse_duration(k[AK_LEASE].value, lease) != 0 || !(*lease >= 60) || *lease > 86400)) {
		snprintf(err, errlen,
			 "%s: alertmanager destination: lease '%s' is not a duration from 1m to 1d (e.g. 5m)",
			 k[AK_LEASE].where, k[AK_LEASE].value);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int am_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	struct dest_key k[AK_N];
	double timeout, lease;
	return am_settings(kv, nkv, k, &timeout, &lease, err, errlen);
}

static void am_destroy(void *priv)
{
	struct am_sink *s = priv;
	if (!s)
		return;
	http_client_free(s->http);
	secret_free(s->url);
	free(s->external_url);
	free(s);
}

/* base (trailing "/" and "/api/v2/alerts" dropped) + AM_PATH */
static char *am_endpoint(const char *base)
{
	size_t n = strlen(base), pl = strlen(AM_PATH);
	char *out;
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n >= pl && !strncmp(base + n - pl, AM_PATH, pl))
		n -= pl;
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (!(out = malloc(n + pl + 1)))
		return NULL;
	memcpy(out, base, n);
	memcpy(out + n, AM_PATH, pl + 1);
	return out;
}

static int am_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		     size_t errlen)
{
	struct dest_key k[AK_N];
	struct am_sink *s;
	double timeout, lease;
	char sub[384], *base = NULL;
	int rc;

	if ((rc = am_settings(kv, nkv, k, &timeout, &lease, err, errlen)) != 0)
		return rc;
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errlen, "alertmanager destination: out of memory");
		return -VIGIL_ENOMEM;
	}
	s->lease = lease;
	s->url_secret = secret_is_ref(k[AK_URL].value);
	if ((rc = secret_resolve(k[AK_URL].value, "url", k[AK_URL].where, &base, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "alertmanager destination: %s", sub);
		goto fail;
	}
	if ((rc = dest_url_resolved(AM_TYPE, &k[AK_URL], base, "http,https", err, errlen)) != 0)
		goto fail;
	s->url = am_endpoint(base);
	s->external_url = env && env->external_url ? strdup(env->external_url) : NULL;
	if (!s->url || (env && env->external_url && !s->external_url)) {
		snprintf(err, errlen, "alertmanager destination: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	if ((rc = http_client_new(timeout < 5 ? timeout : 5, timeout, &s->http, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "alertmanager destination: %s", sub);
		goto fail;
	}
	if (s->url_secret)
		http_client_scrub(s->http, s->url);
	secret_free(base);
	*priv = s;
	return 0;
fail:
	secret_free(base);
	am_destroy(s);
	return rc;
}

static json_t *am_body(const struct am_sink *s, const struct notification *n, double now)
{
	const struct alert_event *ev = n->ev;
	json_t *arr = json_array(), *a = json_object(), *labels = dest_am_labels(n),
	       *ann = dest_am_annotations(n);
	double ends, starts;
	char ts[40], gen[1024];

	if (!arr || !a || !labels || !ann) {
		json_decref(arr);
		json_decref(a);
		json_decref(labels);
		json_decref(ann);
		return NULL;
	}
	if (ev->status == ALERT_RESOLVED)
		ends = isfinite(ev->ts) && ev->ts < now ? ev->ts : now;
	else
		ends = now + s->lease;
	starts = isfinite(ev->started) && ev->started < ends ? ev->started : ends;
	if (ev->status != ALERT_RESOLVED && starts > now)
		starts = now;
	json_object_set_new(a, "labels", labels);
	json_object_set_new(a, "annotations", ann);
	time_format_rfc3339(starts, ts, sizeof ts);
	json_object_set_new(a, "startsAt", json_string(ts));
	time_format_rfc3339(ends, ts, sizeof ts);
	json_object_set_new(a, "endsAt", json_string(ts));
	dest_generator_url(s->external_url, ev->rule, gen, sizeof gen);
	if (gen[0])
		json_object_set_new(a, "generatorURL", json_string(gen));
	json_array_append_new(arr, a);
	return arr;
}

static void am_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct am_sink *s = priv;
	json_t *b;
	char *text;

	if (n->ev->status == ALERT_ACKNOWLEDGED) {
		/* see the file comment: nothing to post */
		sink_result_set(res, SINK_OK, 0,
				"acknowledgement not posted: Alertmanager has no acknowledged state");
		return;
	}
	b = am_body(s, n, clock_wall());
	text = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!text) {
		sink_result_set(res, SINK_RETRY, 0, "alertmanager: out of memory building the alert");
		return;
	}
	http_post_json_idem(s->http, s->url, text, strlen(text), n->idem_key, res);
	free(text);
}

/* Re-post a firing alert four times per lease (as Prometheus does). */
static double am_repeat_every(void *priv)
{
	const struct am_sink *s = priv;
	return s->lease / 4;
}

const struct sink_type sink_type_alertmanager = {
	.name = AM_TYPE,
	.summary = "Prometheus Alertmanager API v2 (settings: url, timeout, lease)",
	.create = am_create,
	.check = am_check,
	.send = am_send,
	.flush = NULL,
	.destroy = am_destroy,
	.repeat_every = am_repeat_every,
};
