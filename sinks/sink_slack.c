/* "slack" destination: a Slack incoming webhook. The message has a `text`
 * fallback (notifications, clients without blocks) and Block Kit blocks:
 * a headline with the status, severity and rule, fields for series,
 * observed, expected, band and score, the runbook link, and the owner and
 * episode in a context line.
 *
 * A group notification (owners that group) is one message: a headline with
 * the owner, how many alerts fire and how many resolved, the reason and
 * the group labels; one line per alert marked NEW / FIRING / RESOLVED (in
 * that order) with rule, series, value vs expected and summary; the group
 * key in a context line. Slack refuses more than 50 blocks or a section
 * text over 3000 characters, so the list stops at SL_GROUP_LINES lines or
 * SL_LIST_BLOCKS sections and ends with "… and N more" (N counts the
 * alerts the gateway already left out, "truncated").
 * An acknowledgement is ":eyes: ACKNOWLEDGED by <who>" for the alert, with
 * the comment when there is one.
 * Chart: with the gateway's public URL (http.public_url), a firing alert
 * that carries a series window gets an image block showing the gateway's
 * chart.png of its episode; a group message shows the chart of its first
 * firing alert with a window (one more block: at most 49).
 *
 * Settings:
 *   url      (required, secret) the incoming-webhook URL: its path is the
 *            token, so write it as env:NAME or file:PATH; it is never
 *            logged (errors name https://hooks.slack.com only)
 *   timeout  (duration, default 10s)
 *
 * Slack answers 200 "ok"; 400/403/404 ("invalid_payload", "no_service",
 * ...) are dropped, 429 (with Retry-After) and 5xx retried.
 * @thread see sinks/sink.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "sinks/http.h"

#define SL_TYPE      "slack"
#define SL_FIELD_MAX 1900 /* Slack caps a field at 2000 characters */
/* Group messages: Slack takes at most 50 blocks and 3000 characters in a
 * section's text (bytes counted here: never fewer than characters). */
#define SL_TEXT_MAX    2900
#define SL_LIST_BLOCKS 45  /* sections of the alert list (+ headline and 2 contexts <= 50) */
#define SL_GROUP_LINES 100 /* alert lines in one message, at most */
#define SL_LINE_MAX    600 /* bytes of one alert line */

enum { SK_URL, SK_TIMEOUT, SK_N };

struct slack_sink {
	struct http_client *http;
	char *url;          /* resolved secret */
	char *external_url; /* http.public_url, may be NULL: no chart image block */
	char *url_key;      /* http.url_key (resolved), may be NULL: unsigned chart links */
};

static int sl_settings(const struct kv *kv, size_t nkv, struct dest_key *k, double *timeout, char *err,
		       size_t errlen)
{
	int rc;
	k[SK_URL] = (struct dest_key){.name = "url", .required = 1, .secret = 1};
	k[SK_TIMEOUT] = (struct dest_key){.name = "timeout"};
	if ((rc = dest_settings(SL_TYPE, kv, nkv, k, SK_N, err, errlen)) != 0 ||
	    (rc = dest_url(SL_TYPE, &k[SK_URL], "http,https", err, errlen)) != 0)
		return rc;
	return dest_duration(SL_TYPE, &k[SK_TIMEOUT], 10, timeout, err, errlen);
}

static int sl_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	struct dest_key k[SK_N];
	double timeout;
	return sl_settings(kv, nkv, k, &timeout, err, errlen);
}

static void sl_destroy(void *priv)
{
	struct slack_sink *s = priv;
	if (!s)
		return;
	http_client_free(s->http);
	secret_free(s->url);
	free(s->external_url);
	secret_free(s->url_key);
	free(s);
}

static int sl_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		     size_t errlen)
{
	struct dest_key k[SK_N];
	struct slack_sink *s;
	double timeout;
	char sub[384];
	int rc;

	if ((rc = sl_settings(kv, nkv, k, &timeout, err, errlen)) != 0)
		return rc;
	if (!(s = calloc(1, sizeof *s)) ||
	    (env && env->external_url && !(s->external_url = strdup(env->external_url))) ||
	    (env && env->url_key && !(s->url_key = strdup(env->url_key)))) {
		if (s) {
			free(s->external_url);
			secret_free(s->url_key); /* a copy of http.url_key */
		}
		free(s);
		snprintf(err, errlen, "slack destination: out of memory");
		return -VIGIL_ENOMEM;
	}
	if ((rc = secret_resolve(k[SK_URL].value, "url", k[SK_URL].where, &s->url, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "slack destination: %s", sub);
		goto fail;
	}
	if ((rc = dest_url_resolved(SL_TYPE, &k[SK_URL], s->url, "http,https", err, errlen)) != 0)
		goto fail;
	if ((rc = http_client_new(timeout < 5 ? timeout : 5, timeout, &s->http, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "slack destination: %s", sub);
		goto fail;
	}
	http_client_scrub(s->http, s->url);
	*priv = s;
	return 0;
fail:
	sl_destroy(s);
	return rc;
}

/* Slack mrkdwn: &, < and > escaped; at most max bytes, whole UTF-8
 * characters only. */
static void mrkdwn(char *out, size_t outlen, const char *in, size_t max)
{
	size_t off = 0;
	if (max + 1 < outlen)
		outlen = max + 1;
	while (in && *in) {
		unsigned char lead = (unsigned char)*in;
		const char *rep = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;" : NULL;
		size_t l = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (l > 1 && strnlen(in, l) < l)
			l = 1; /* truncated sequence: copy byte by byte */
		size_t w = rep ? strlen(rep) : l;
		if (off + w + 1 > outlen)
			break;
		memcpy(out + off, rep ? rep : in, w);
		off += w;
		in += l;
	}
	out[off] = '\0';
}

static void num_text(char *out, size_t outlen, double v)
{
	if (isfinite(v))
		snprintf(out, outlen, "%.6g", v);
	else
		snprintf(out, outlen, "n/a");
}

static json_t *text_obj(const char *type, const char *text)
{
	json_t *o = json_object();
	if (o) {
		json_object_set_new(o, "type", json_string(type));
		json_object_set_new(o, "text", json_string(text));
	}
	return o;
}

static void add_field(json_t *fields, const char *name, const char *value)
{
	char esc[SL_FIELD_MAX + 1], buf[SL_FIELD_MAX + 64];
	mrkdwn(esc, sizeof esc, value, SL_FIELD_MAX);
	snprintf(buf, sizeof buf, "*%s*\n%s", name, esc);
	json_array_append_new(fields, text_obj("mrkdwn", buf));
}

static json_t *sl_body(const struct slack_sink *s, const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	int resolved = ev->status == ALERT_RESOLVED;
	const char *sev = dest_severity(ev->action);
	char sum[1100], why[400], text[3000], head[2048], esc[1200], obs[32], exp[32], band[80], score[32];
	json_t *b = json_object(), *blocks = json_array(), *sec, *fields;

	if (!b || !blocks) {
		json_decref(b);
		json_decref(blocks);
		return NULL;
	}
	dest_summary(ev, sum, sizeof sum);
	dest_why(ev, why, sizeof why);
	num_text(obs, sizeof obs, ev->value);
	num_text(exp, sizeof exp, ev->expected);
	{
		char lo[32], hi[32];
		num_text(lo, sizeof lo, ev->lower);
		num_text(hi, sizeof hi, ev->upper);
		snprintf(band, sizeof band, "[%s, %s]", lo, hi);
	}
	num_text(score, sizeof score, ev->score);

	/* fallback text: everything that matters on one line */
	snprintf(text, sizeof text, "[%s] %s %s: %s on %s: observed %s, expected %s, band %s%s%s",
		 resolved ? "RESOLVED" : "FIRING", sev, ev->rule ? ev->rule : "?", sum,
		 ev->series ? ev->series : "?", obs, exp, band,
		 ev->runbook_url && ev->runbook_url[0] ? " - runbook: " : "",
		 ev->runbook_url && ev->runbook_url[0] ? ev->runbook_url : "");
	dest_utf8_cut(text, 2900);
	json_object_set_new(b, "text", json_string(text));

	mrkdwn(esc, sizeof esc, sum, 1000);
	snprintf(head, sizeof head, "%s *%s* (%s) `%s`\n%s",
		 resolved ? ":white_check_mark:" : ":rotating_light:", resolved ? "RESOLVED" : "FIRING", sev,
		 ev->rule ? ev->rule : "?", esc);
	sec = json_object();
	json_object_set_new(sec, "type", json_string("section"));
	json_object_set_new(sec, "text", text_obj("mrkdwn", head));
	json_array_append_new(blocks, sec);

	fields = json_array();
	add_field(fields, "Series", ev->series ? ev->series : "?");
	add_field(fields, "Severity", sev);
	add_field(fields, "Observed", obs);
	add_field(fields, "Expected", exp);
	add_field(fields, "Band", band);
	add_field(fields, "Score", score);
	sec = json_object();
	json_object_set_new(sec, "type", json_string("section"));
	json_object_set_new(sec, "fields", fields);
	json_array_append_new(blocks, sec);

	if (ev->runbook_url && ev->runbook_url[0]) {
		char link[sizeof esc + 32];
		mrkdwn(esc, sizeof esc, ev->runbook_url, 1000);
		snprintf(link, sizeof link, ":book: <%s|Runbook>", esc);
		sec = json_object();
		json_object_set_new(sec, "type", json_string("section"));
		json_object_set_new(sec, "text", text_obj("mrkdwn", link));
		json_array_append_new(blocks, sec);
	}
	{
		char ctx[600];
		json_t *els = json_array();
		snprintf(ctx, sizeof ctx, "owner %s · detector %s · episode %s · %s",
			 n->owner    ? n->owner
			 : ev->owner ? ev->owner
				     : "?",
			 ev->detector ? ev->detector : "?", n->episode ? n->episode : "?", why);
		mrkdwn(esc, sizeof esc, ctx, 1000);
		json_array_append_new(els, text_obj("mrkdwn", esc));
		sec = json_object();
		json_object_set_new(sec, "type", json_string("context"));
		json_object_set_new(sec, "elements", els);
		json_array_append_new(blocks, sec);
	}
	char chart[1024];
	dest_chart_url(s->external_url, s->url_key, n, chart, sizeof chart);
	if (chart[0] && ev->status == ALERT_FIRING)
		json_array_append_new(blocks,
				      json_pack("{s:s, s:s, s:s}", "type", "image", "image_url", chart,
						"alt_text", "series, expected band and anomalies"));
	json_object_set_new(b, "blocks", blocks);
	return b;
}

/* ---- acknowledgement ---- */

/* ":eyes: ACKNOWLEDGED by <who>" for one alert, with the comment. */
static json_t *sl_ack_body(const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	char by[256], comment[1024], text[3000], head[2600], esc[1200], who[300], ctx[600];
	json_t *b = json_object(), *blocks = json_array(), *sec, *els;

	if (!b || !blocks) {
		json_decref(b);
		json_decref(blocks);
		return NULL;
	}
	dest_ack_info(n->json, n->json_len, by, sizeof by, comment, sizeof comment);
	snprintf(who, sizeof who, "%s%s", by[0] ? " by " : "", by);
	snprintf(text, sizeof text, ":eyes: ACKNOWLEDGED%s: %s on %s%s%s", who, ev->rule ? ev->rule : "?",
		 ev->series ? ev->series : "?", comment[0] ? ": " : "", comment);
	dest_utf8_cut(text, 2900);
	json_object_set_new(b, "text", json_string(text));

	mrkdwn(esc, sizeof esc, who, 300);
	snprintf(head, sizeof head, ":eyes: *ACKNOWLEDGED*%s: `", esc);
	mrkdwn(esc, sizeof esc, ev->rule ? ev->rule : "?", 200);
	snprintf(head + strlen(head), sizeof head - strlen(head), "%s` on ", esc);
	mrkdwn(esc, sizeof esc, ev->series ? ev->series : "?", 1000);
	snprintf(head + strlen(head), sizeof head - strlen(head), "%s", esc);
	if (comment[0]) {
		mrkdwn(esc, sizeof esc, comment, 1000);
		snprintf(head + strlen(head), sizeof head - strlen(head), "\n> %s", esc);
	}
	sec = json_object();
	json_object_set_new(sec, "type", json_string("section"));
	json_object_set_new(sec, "text", text_obj("mrkdwn", head));
	json_array_append_new(blocks, sec);

	snprintf(ctx, sizeof ctx, "owner %s · episode %s",
		 n->owner    ? n->owner
		 : ev->owner ? ev->owner
			     : "?",
		 n->episode ? n->episode : "?");
	mrkdwn(esc, sizeof esc, ctx, 1000);
	els = json_array();
	json_array_append_new(els, text_obj("mrkdwn", esc));
	sec = json_object();
	json_object_set_new(sec, "type", json_string("context"));
	json_object_set_new(sec, "elements", els);
	json_array_append_new(blocks, sec);
	json_object_set_new(b, "blocks", blocks);
	return b;
}

/* ---- group notification ---- */

/* One line of the alert list: "*NEW* `rule` series: 41.2 vs 13.1 expected
 * · summary", mrkdwn, at most SL_LINE_MAX bytes. */
static void sl_alert_line(const struct notification_group *g, size_t i, char *out, size_t outlen)
{
	const struct alert_event *ev = &g->alerts[i];
	char raw[1600], esc[SL_LINE_MAX - 80 + 1], rule[64], obs[32], exp[32];
	mrkdwn(rule, sizeof rule, ev->rule ? ev->rule : "?", 60);
	num_text(obs, sizeof obs, ev->value);
	num_text(exp, sizeof exp, ev->expected);
	snprintf(raw, sizeof raw, "%s: %s vs %s expected%s%s%s", ev->series ? ev->series : "?", obs, exp,
		 ev->summary && ev->summary[0] ? " · " : "", ev->summary ? ev->summary : "",
		 ev->status == ALERT_ACKNOWLEDGED ? " (acknowledged)" : "");
	mrkdwn(esc, sizeof esc, raw, SL_LINE_MAX - 80);
	snprintf(out, outlen, "*%s* `%s` %s", dest_change_mark(g->change[i]), rule, esc);
}

static void add_section(json_t *blocks, const char *type, const char *text)
{
	json_t *sec = json_object(), *els;
	json_object_set_new(sec, "type", json_string(type));
	if (!strcmp(type, "context")) {
		els = json_array();
		json_array_append_new(els, text_obj("mrkdwn", text));
		json_object_set_new(sec, "elements", els);
	} else {
		json_object_set_new(sec, "text", text_obj("mrkdwn", text));
	}
	json_array_append_new(blocks, sec);
}

/* The alert list into blocks: lines packed into sections of at most
 * SL_TEXT_MAX bytes, at most SL_LIST_BLOCKS sections and SL_GROUP_LINES
 * lines; new first, then firing, then resolved. Returns the lines shown. */
static size_t sl_alert_list(const struct notification_group *g, json_t *blocks)
{
	char cur[SL_TEXT_MAX + 1], line[SL_LINE_MAX + 1];
	size_t len = 0, shown = 0, nsec = 0;

	cur[0] = '\0';
	for (int rank = 0; rank < 4; rank++) {
		for (size_t i = 0; i < g->n; i++) {
			if (dest_change_rank(g->change[i]) != rank)
				continue;
			if (shown == SL_GROUP_LINES)
				goto full;
			sl_alert_line(g, i, line, sizeof line);
			size_t l = strlen(line);
			if (len && len + 1 + l > SL_TEXT_MAX) {
				if (nsec + 1 == SL_LIST_BLOCKS)
					goto full;
				add_section(blocks, "section", cur);
				nsec++;
				len = 0;
			}
			len += (size_t)snprintf(cur + len, sizeof cur - len, "%s%s", len ? "\n" : "", line);
			shown++;
		}
	}
full:
	if (len)
		add_section(blocks, "section", cur);
	return shown;
}

/* One message for the group: a headline (owner, how many firing /
 * resolved, the reason, the group labels), the alert list, "… and N more"
 * when the list was cut, and the group key in a context line. */
static json_t *sl_group_body(const struct slack_sink *s, const struct notification *n)
{
	const struct notification_group *g = n->group;
	size_t firing = dest_group_firing(g), resolved = g->n - firing, shown, more;
	char labels[1024], text[3000], head[2600], esc[1200], owner[400], reason[200];
	json_t *b = json_object(), *blocks = json_array();

	if (!b || !blocks) {
		json_decref(b);
		json_decref(blocks);
		return NULL;
	}
	dest_group_labels_text(g, labels, sizeof labels);
	snprintf(text, sizeof text, "[%s] %s: %zu firing, %zu resolved (%s)%s%s",
		 firing ? "FIRING" : "RESOLVED", n->owner ? n->owner : "?", firing, resolved,
		 g->reason ? g->reason : "unknown", labels[0] ? ": " : "", labels);
	dest_utf8_cut(text, 2900);
	json_object_set_new(b, "text", json_string(text));

	mrkdwn(owner, sizeof owner, n->owner ? n->owner : "?", 300);
	mrkdwn(reason, sizeof reason, g->reason ? g->reason : "unknown", 150);
	mrkdwn(esc, sizeof esc, labels, 1000);
	snprintf(head, sizeof head, "%s *%s*: %zu firing, %zu resolved (%s)%s%s%s",
		 firing ? ":rotating_light:" : ":white_check_mark:", owner, firing, resolved, reason,
		 esc[0] ? "\n`" : "", esc, esc[0] ? "`" : "");
	add_section(blocks, "section", head);

	shown = sl_alert_list(g, blocks);
	more = g->n - shown + g->truncated;
	if (more) {
		char m[64];
		snprintf(m, sizeof m, "… and %zu more", more);
		add_section(blocks, "context", m);
	}
	mrkdwn(esc, sizeof esc, g->key ? g->key : "", 1000);
	snprintf(head, sizeof head, "group %s", esc);
	add_section(blocks, "context", head);
	for (size_t i = 0; i < g->n; i++) {
		char ep[17], chart[1024];
		struct notification one = {.ev = &g->alerts[i], .episode = ep};
		if (g->alerts[i].status != ALERT_FIRING)
			continue;
		alert_episode(&g->alerts[i], ep);
		dest_chart_url(s->external_url, s->url_key, &one, chart, sizeof chart);
		if (chart[0]) {
			json_array_append_new(blocks, json_pack("{s:s, s:s, s:s}", "type", "image",
								"image_url", chart, "alt_text",
								"series, expected band and anomalies"));
			break;
		}
	}
	json_object_set_new(b, "blocks", blocks);
	return b;
}

static void sl_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct slack_sink *s = priv;
	json_t *b = n->group                              ? sl_group_body(s, n)
		    : n->ev->status == ALERT_ACKNOWLEDGED ? sl_ack_body(n)
							  : sl_body(s, n);
	char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;

	json_decref(b);
	if (!text) {
		sink_result_set(res, SINK_RETRY, 0, "slack: out of memory building the message");
		return;
	}
	http_post_json(s->http, s->url, text, strlen(text), res);
	free(text);
}

const struct sink_type sink_type_slack = {
	.name = SL_TYPE,
	.summary = "Slack incoming webhook (settings: url, timeout)",
	.create = sl_create,
	.check = sl_check,
	.send = sl_send,
	.flush = NULL,
	.destroy = sl_destroy,
	.groups = 1,
};
