/* The gateway JSON API (cli/openapi.yaml): each handler authenticates and
 * parses on the HTTP thread, then queues a job that the gateway's thread
 * answers in serve_job_run() through the on-call operations of
 * sinks/gateway.h. Rules and owners come from the immutable ruleset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/serve_int.h"
#include "core/urlsig.h"
#include "core/alert.h"
#include "core/chart.h"
#include "core/clock.h"
#include "core/timefmt.h"
#include "sinks/silence.h"

#define MAX_INGEST 1000 /* alerts per POST /api/v2/alerts */

/* ---- HTTP thread: authentication, parsing ---- */

/* Authenticate and check the kind of access. write: audit a refusal as
 * action on target. 0, or -1 with resp set. */
static int begin(struct serve *sv, const struct httpd_req *req, struct httpd_resp *resp, struct principal *p,
		 int write, const char *action, const char *target)
{
	if (serve_auth(sv, req, resp, p) != 0) {
		if (write)
			serve_audit(sv, p, req->client, action, target, 401, resp->who);
		return -1;
	}
	if (write && sv->read_only) {
		httpd_resp_error(resp, 403, "this server is read-only: no http.tokens are configured");
		serve_audit(sv, p, req->client, action, target, 403, "read-only server");
		return -1;
	}
	if ((write || !sv->open_reads) && p->kind == WHO_ANON) {
		httpd_resp_error(resp, 401, "a bearer token is required");
		httpd_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"vigil\"");
		if (write)
			serve_audit(sv, p, req->client, action, target, 401, "no token");
		return -1;
	}
	return 0;
}

/* The body as a JSON value (NULL body allowed when optional). 0 or -1 (400 set). */
static int parse_body(const struct httpd_req *req, struct httpd_resp *resp, int optional, json_t **out)
{
	json_error_t je;
	*out = NULL;
	if (req->bodylen == 0 && optional)
		return 0;
	*out = json_loadb(req->body, req->bodylen, JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL) {
		httpd_resp_error(resp, 400, "body: not valid JSON: line %d column %d: %s", je.line, je.column,
				 je.text);
		return -1;
	}
	return 0;
}

static void init_job(struct job *j, enum job_kind kind, const struct serve *sv, const struct principal *p,
		     const struct httpd_req *req, struct httpd_resp *resp)
{
	memset(j, 0, sizeof *j);
	j->kind = kind;
	j->who = *p;
	j->open_reads = sv->open_reads;
	j->client = req->client;
	j->resp = resp;
}

/* owner= for a listing: a team token without open_reads sees its own owner
 * only. 0, or -1 with 403 set. */
static int list_scope(struct serve *sv, const struct principal *p, const struct httpd_req *req,
		      struct httpd_resp *resp, char *owner, size_t ownerlen)
{
	const char *q = httpd_query(req, "owner");
	snprintf(owner, ownerlen, "%s", q ? q : "");
	if (serve_may(sv, p, q, 0))
		return 0;
	if (q == NULL && p->kind == WHO_TEAM) {
		snprintf(owner, ownerlen, "%s", p->team);
		return 0;
	}
	httpd_resp_error(resp, 403, "%s may not read owner %.100s's alerts or silences",
			 p->kind == WHO_TEAM ? p->team : "this caller", q ? q : "(all)");
	return -1;
}

void api_alerts(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0)
		return;
	init_job(&j, JOB_ALERTS, sv, &p, req, resp);
	if (list_scope(sv, &p, req, resp, j.arg, sizeof j.arg) != 0)
		return;
	const char *st = httpd_query(req, "state");
	if (st && strcmp(st, "active") != 0 && strcmp(st, "acknowledged") != 0 && strcmp(st, "muted") != 0 &&
	    strcmp(st, "held") != 0) {
		httpd_resp_error(resp, 400, "state: want active, acknowledged, muted or held, not '%.40s'",
				 st);
		return;
	}
	snprintf(j.filter, sizeof j.filter, "%s", st ? st : "");
	serve_submit_job(sv, &j);
}

void api_alert(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0)
		return;
	init_job(&j, JOB_ALERT, sv, &p, req, resp);
	snprintf(j.arg, sizeof j.arg, "%s", httpd_param(req, "episode"));
	serve_submit_job(sv, &j);
}

/* GET .../chart.svg|png: the alert document comes from the gateway's
 * thread (with the read check there, on its owner); drawing happens here,
 * on the HTTP thread, so a chart never delays the gateway. */
static void chart_common(void *ctx, const struct httpd_req *req, struct httpd_resp *resp, int png)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	struct alert_event ev;
	struct alert_point pts[ALERT_WINDOW_MAX];
	struct chart_input ci;
	struct buf b = {0};
	char err[256], sub[512];

	const char *sig = httpd_query(req, "sig");
	if (sig != NULL) {
		/* a signed link (core/urlsig.h) opens this one chart without a token */
		if (!urlsig_check(sv->url_key, httpd_param(req, "episode"), httpd_query(req, "exp"), sig,
				  clock_wall())) {
			httpd_resp_error(resp, 403, "this chart link is not valid (or has expired)");
			return;
		}
		p.kind = WHO_ADMIN; /* read this alert's chart, whoever owns it */
		p.team = NULL;
	} else if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0) {
		return;
	}
	init_job(&j, JOB_CHART, sv, &p, req, resp);
	snprintf(j.arg, sizeof j.arg, "%s", httpd_param(req, "episode"));
	serve_submit_job(sv, &j);
	if (j.result == NULL)
		return; /* answered: 404, 403 or 503 */
	if (alert_from_json(j.result, &ev, err, sizeof err) != 0) {
		httpd_resp_error(resp, 500, "episode %.40s: stored alert unreadable: %s", j.arg, err);
		json_decref(j.result);
		return;
	}
	chart_input_of_alert(&ev, pts, sub, sizeof sub, &ci);
	int rc = png ? chart_png(&ci, &b) : chart_svg(&ci, &b);
	if (rc != 0)
		httpd_resp_error(resp, 500, "chart: %s", vigil_strerror(rc));
	else
		httpd_resp_text(resp, 200, png ? "image/png" : "image/svg+xml", (const char *)b.data, b.len);
	buf_free(&b);
	json_decref(j.result);
}

void api_chart_svg(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	chart_common(ctx, req, resp, 0);
}

void api_chart_png(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	chart_common(ctx, req, resp, 1);
}

int api_ack_body_check(json_t *body, char *msg, size_t msglen)
{
	const char *key;
	json_t *v;
	if (body && !json_is_object(body)) {
		snprintf(msg, msglen, "body: want an object {\"comment\": \"...\"}");
		return -1;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "comment") != 0 || !json_is_string(v) ||
		    strlen(json_string_value(v)) > 1024) {
			snprintf(msg, msglen,
				 "body: %.40s: only \"comment\" (a string of at most 1024 bytes)", key);
			return -1;
		}
	}
	return 0;
}

static void ack_common(void *ctx, const struct httpd_req *req, struct httpd_resp *resp, int unack)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	const char *ep = httpd_param(req, "episode"), *action = unack ? "unack" : "ack";
	if (begin(sv, req, resp, &p, 1, action, ep) != 0)
		return;
	init_job(&j, JOB_ACK, sv, &p, req, resp);
	snprintf(j.arg, sizeof j.arg, "%s", ep);
	j.unack = unack;
	if (parse_body(req, resp, 1, &j.body) != 0) {
		serve_audit(sv, &p, req->client, action, ep, 400, "bad body");
		return;
	}
	char msg[160];
	if (api_ack_body_check(j.body, msg, sizeof msg) != 0) {
		httpd_resp_error(resp, 400, "%s", msg);
		goto out;
	}
	serve_submit_job(sv, &j);
out:
	if (resp->status == 400)
		serve_audit(sv, &p, req->client, action, ep, 400, "bad body");
	json_decref(j.body);
}

void api_ack(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	ack_common(ctx, req, resp, 0);
}

void api_unack(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	ack_common(ctx, req, resp, 1);
}

void api_silences(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0)
		return;
	init_job(&j, JOB_SILENCES, sv, &p, req, resp);
	if (list_scope(sv, &p, req, resp, j.arg, sizeof j.arg) != 0)
		return;
	serve_submit_job(sv, &j);
}

/* The owner a silence body names, or "". */
static const char *body_owner(json_t *body)
{
	const char *o = json_string_value(json_object_get(body, "owner"));
	return o ? o : "";
}

/* POST /api/v1/silences and /preview: the silence JSON form of sinks/silence.h. */
static void silence_common(struct serve *sv, const struct httpd_req *req, struct httpd_resp *resp,
			   int preview)
{
	struct principal p;
	struct job j;
	const char *action = "silence_add";
	if (begin(sv, req, resp, &p, !preview, action, NULL) != 0)
		return;
	init_job(&j, preview ? JOB_SILENCE_PREVIEW : JOB_SILENCE_ADD, sv, &p, req, resp);
	if (parse_body(req, resp, 0, &j.body) != 0)
		goto refused;
	if (!json_is_object(j.body) || !json_is_string(json_object_get(j.body, "owner"))) {
		httpd_resp_error(resp, 400, "body: want a silence object with \"owner\"");
		goto refused;
	}
	if (!serve_may(sv, &p, body_owner(j.body), !preview)) {
		httpd_resp_error(resp, 403, "%s may not %s silences of owner %.100s",
				 p.kind == WHO_TEAM ? p.team : "this caller", preview ? "preview" : "add",
				 body_owner(j.body));
		goto refused;
	}
	if (json_object_get(j.body, "created_by") == NULL) {
		char who[160];
		json_object_set_new(j.body, "created_by", json_string(serve_who(&p, who, sizeof who)));
	}
	serve_submit_job(sv, &j);
	json_decref(j.body);
	return;
refused:
	if (!preview) {
		char target[160];
		snprintf(target, sizeof target, "owner:%s", body_owner(j.body));
		serve_audit(sv, &p, req->client, action, target, resp->status, "refused");
	}
	json_decref(j.body);
}

void api_silence_add(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	silence_common(ctx, req, resp, 0);
}

void api_silence_preview(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	silence_common(ctx, req, resp, 1);
}

void api_silence_expire(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	const char *id = httpd_param(req, "id");
	if (begin(sv, req, resp, &p, 1, "silence_expire", id) != 0)
		return;
	init_job(&j, JOB_SILENCE_EXPIRE, sv, &p, req, resp);
	snprintf(j.arg, sizeof j.arg, "%s", id);
	serve_submit_job(sv, &j);
}

void api_rules(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0)
		return;
	json_t *arr = json_array();
	const struct ruleset *rs = atomic_load(&sv->rules_now);
	for (size_t i = 0; arr && rs && i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		/* every rule served passed the strict load: "valid" is its state */
		json_t *x = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:b}", "name", r->name, "owner",
				      r->owner ? r->owner->name : "", "detector",
				      r->det.type ? r->det.type->name : "", "action",
				      rule_action_name(r->action), "series", r->series ? r->series : "",
				      "where", r->where ? r->where : "", "summary", r->summary, "valid", 1);
		if (x == NULL || json_array_append_new(arr, x) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	httpd_resp_json(resp, 200, arr);
}

/* GET /api/v1/rules/status: the running rule set's version and the reloads
 * so far, with the newest refused reload's error (file:line:column). */
void api_rules_status(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0)
		return;
	const struct ruleset *rs = atomic_load(&sv->rules_now);
	pthread_mutex_lock(&sv->mu);
	json_t *j = json_pack("{s:s?, s:I, s:I, s:I, s:s?, s:s}", "version",
			      sv->rules_version[0] ? sv->rules_version : NULL, "rules",
			      (json_int_t)(rs ? rs->nrules : 0), "reloads", (json_int_t)sv->rules_reloads,
			      "reload_errors", (json_int_t)sv->rules_reload_errors, "last_error",
			      sv->rules_last_error[0] ? sv->rules_last_error : NULL, "state",
			      sv->rules_last_error[0]
				      ? "running the last valid set; the newest change was refused"
				      : "valid");
	pthread_mutex_unlock(&sv->mu);
	httpd_resp_json(resp, 200, j);
}

void api_owners(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	if (begin(sv, req, resp, &p, 0, NULL, NULL) != 0)
		return;
	json_t *arr = json_array();
	const struct ruleset *rs = atomic_load(&sv->rules_now); /* the owners as reloaded */
	json_t *oncall = rs ? gateway_oncall_report(rs, NULL, clock_wall()) : json_array();
	for (size_t i = 0; arr && oncall && rs && i < rs->nowners; i++) {
		const struct owner *o = &rs->owners[i];
		json_t *dests = json_array(), *mine = json_array();
		for (size_t d = 0; dests && d < o->ndests; d++)
			json_array_append_new(dests, json_string(o->dests[d].type));
		size_t k;
		json_t *e;
		json_array_foreach(oncall, k, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "owner")), o->name) == 0)
				json_array_append(mine, e);
		}
		json_t *x = json_pack("{s:s, s:o, s:o, s:I}", "name", o->name, "destinations", dests,
				      "oncall", mine, "max_series", (json_int_t)o->max_series);
		if (x == NULL || json_array_append_new(arr, x) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	json_decref(oncall);
	httpd_resp_json(resp, 200, arr);
}

/* ---- POST /api/v2/alerts: Alertmanager's shape ---- */

/* The field an alert_from_json_v1 message names ("alert: labels.x: ..."). */
static void err_field(const char *msg, char *out, size_t outlen)
{
	const char *s = strncmp(msg, "alert: ", 7) == 0 ? msg + 7 : msg;
	size_t n = strcspn(s, ": ");
	snprintf(out, outlen, "%.*s", (int)n, s);
}

static json_t *item_error(size_t i, const char *field, const char *msg)
{
	return json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i, "field", field, "error", msg);
}

json_t *api_am_to_v1(json_t *a, double now, char *field, size_t fieldlen, char *msg, size_t msglen)
{
	static const char *const keys[] = {"labels", "annotations",  "startsAt",
					   "endsAt", "generatorURL", NULL};
	const char *key;
	json_t *v;
	if (!json_is_object(a)) {
		snprintf(field, fieldlen, "%s", "");
		snprintf(msg, msglen,
			 "expected an object {labels, annotations, startsAt, endsAt, generatorURL}");
		return NULL;
	}
	json_object_foreach(a, key, v)
	{
		int known = 0;
		for (int k = 0; keys[k]; k++)
			known |= strcmp(keys[k], key) == 0;
		if (!known) {
			snprintf(field, fieldlen, "%.60s", key);
			snprintf(msg, msglen,
				 "unknown field (known: labels, annotations, startsAt, endsAt, "
				 "generatorURL)");
			return NULL;
		}
	}
	json_t *labels = json_object_get(a, "labels"), *ann = json_object_get(a, "annotations");
	if (!json_is_object(labels) || json_object_get(labels, "alertname") == NULL) {
		snprintf(field, fieldlen, "labels");
		snprintf(msg, msglen, "required: an object of strings with alertname");
		return NULL;
	}
	if (ann && !json_is_object(ann)) {
		snprintf(field, fieldlen, "annotations");
		snprintf(msg, msglen, "expected an object of strings");
		return NULL;
	}
	json_object_foreach(ann, key, v)
	{
		if (!json_is_string(v)) {
			snprintf(field, fieldlen, "annotations.%.60s", key);
			snprintf(msg, msglen, "expected a string");
			return NULL;
		}
	}
	const char *ends = json_string_value(json_object_get(a, "endsAt"));
	double te = NAN;
	int col;
	if (json_object_get(a, "endsAt") &&
	    (!ends || (ends[0] && strcmp(ends, "0001-01-01T00:00:00Z") != 0 &&
		       time_parse_text(ends, strlen(ends), &te, &col) != 0))) {
		snprintf(field, fieldlen, "endsAt");
		snprintf(msg, msglen, "not an RFC 3339 time");
		return NULL;
	}
	json_t *o = json_pack("{s:s, s:O}", "status", isfinite(te) && te <= now ? "resolved" : "firing",
			      "labels", labels);
	if (o == NULL)
		return NULL;
	if (json_object_get(a, "startsAt"))
		json_object_set(o, "startsAt", json_object_get(a, "startsAt"));
	if (isfinite(te))
		json_object_set(o, "endsAt", json_object_get(a, "endsAt"));
	if (json_object_get(ann, "summary"))
		json_object_set(o, "summary", json_object_get(ann, "summary"));
	if (json_object_get(ann, "runbook_url"))
		json_object_set(o, "runbook_url", json_object_get(ann, "runbook_url"));
	return o;
}

void api_ingest(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	struct job j;
	json_t *in = NULL;
	char field[96], msg[512], series[1024];
	if (begin(sv, req, resp, &p, 1, "alert_ingest", "alerts") != 0)
		return;
	init_job(&j, JOB_INGEST, sv, &p, req, resp);
	if (parse_body(req, resp, 0, &in) != 0)
		goto refused;
	if (!json_is_array(in) || json_array_size(in) > MAX_INGEST) {
		httpd_resp_error(resp, 400, "body: want an array of at most %d alerts", MAX_INGEST);
		goto refused;
	}
	j.nitems = json_array_size(in);
	j.body = json_array();
	j.bad = json_array();
	if (j.body == NULL || j.bad == NULL) {
		httpd_resp_error(resp, 500, "out of memory");
		goto refused;
	}
	double now = clock_wall();
	size_t i;
	json_t *a;
	json_array_foreach(in, i, a)
	{
		struct alert_event ev;
		json_t *o = api_am_to_v1(a, now, field, sizeof field, msg, sizeof msg);
		if (o && alert_from_json_v1(o, &ev, series, sizeof series, now, msg, sizeof msg) != 0) {
			err_field(msg, field, sizeof field);
			json_decref(o);
			o = NULL;
		} else if (o && !serve_may(sv, &p, ev.owner, 1)) {
			snprintf(field, sizeof field, "labels.owner");
			snprintf(msg, sizeof msg, "%s may not send alerts of owner %.100s",
				 p.kind == WHO_TEAM ? p.team : "this caller", ev.owner ? ev.owner : "(none)");
			json_decref(o);
			o = NULL;
		}
		if (o == NULL)
			json_array_append_new(j.bad, item_error(i, field, msg));
		else
			json_array_append_new(j.body,
					      json_pack("{s:I, s:o}", "index", (json_int_t)i, "alert", o));
	}
	json_decref(in);
	serve_submit_job(sv, &j);
	json_decref(j.body);
	json_decref(j.bad);
	return;
refused:
	serve_audit(sv, &p, req->client, "alert_ingest", "alerts", resp->status, "refused");
	json_decref(in);
	json_decref(j.body);
	json_decref(j.bad);
}

/* ---- the gateway's thread ---- */

/* The single alert's "chart" block: the stable URLs of its pictures and
 * how many points its window holds. Returns a (stolen into the answer). */
static json_t *with_chart(struct gateway *gw, json_t *a, const char *ep)
{
	const char *owner;
	char svg[160], png[160];
	json_t *doc = gateway_alert_doc(gw, ep, &owner);
	json_t *w = doc ? json_object_get(json_object_get(doc, "window"), "ts_ms") : NULL;
	snprintf(svg, sizeof svg, "/api/v1/alerts/%s/chart.svg", ep);
	snprintf(png, sizeof png, "/api/v1/alerts/%s/chart.png", ep);
	json_object_set_new(a, "chart",
			    json_pack("{s:s, s:s, s:I}", "svg", svg, "png", png, "points",
				      (json_int_t)json_array_size(w)));
	json_decref(doc);
	return a;
}

static void run_chart(struct serve *sv, struct gateway *gw, struct job *j)
{
	const char *owner;
	json_t *doc = gateway_alert_doc(gw, j->arg, &owner);
	if (doc == NULL) {
		httpd_resp_error(j->resp, 404, "no alert with episode %.40s", j->arg);
	} else if (!serve_may(sv, &j->who, owner, 0)) {
		httpd_resp_error(j->resp, 403, "%s may not read owner %.100s's alerts",
				 j->who.kind == WHO_TEAM ? j->who.team : "this caller", owner);
		json_decref(doc);
	} else {
		j->result = doc;
	}
}

static int status_of(int rc)
{
	return rc == -VIGIL_ENOENT ? 404 : rc == -VIGIL_EINVAL ? 400 : rc == -VIGIL_EFULL ? 503 : 500;
}

static void run_ack(struct serve *sv, struct gateway *gw, struct job *j)
{
	const char *action = j->unack ? "unack" : "ack";
	char err[512], who[160];
	json_t *a = gateway_alert(gw, j->arg);
	if (a == NULL) {
		httpd_resp_error(j->resp, 404, "no open alert with episode %.40s", j->arg);
		serve_audit(sv, &j->who, j->client, action, j->arg, 404, "no such alert");
		return;
	}
	const char *owner = json_string_value(json_object_get(a, "owner"));
	if (!serve_may(sv, &j->who, owner, 1)) {
		httpd_resp_error(j->resp, 403, "%s may not act on owner %.100s's alerts",
				 j->who.kind == WHO_TEAM ? j->who.team : "this caller", owner);
		serve_audit(sv, &j->who, j->client, action, j->arg, 403, "denied: another owner's alert");
		json_decref(a);
		return;
	}
	const char *comment = json_string_value(json_object_get(j->body, "comment"));
	int rc = gateway_ack(gw, j->arg, serve_who(&j->who, who, sizeof who), comment, j->unack, err,
			     sizeof err);
	if (rc != 0) {
		httpd_resp_error(j->resp, status_of(rc), "%s", err);
		serve_audit(sv, &j->who, j->client, action, j->arg, status_of(rc), err);
	} else {
		gateway_flush(gw);
		httpd_resp_json(j->resp, 200,
				json_pack("{s:s, s:s, s:b}", "episode", j->arg, "owner", owner,
					  "acknowledged", !j->unack));
		serve_audit(sv, &j->who, j->client, action, j->arg, 200, "ok");
	}
	json_decref(a);
}

static void run_silence_add(struct serve *sv, struct gateway *gw, struct job *j)
{
	char err[512], id[SILENCE_ID_LEN + 8], target[160];
	const char *old = json_string_value(json_object_get(j->body, "id"));
	snprintf(target, sizeof target, "owner:%s", body_owner(j->body));
	if (old) {
		json_t *s = gateway_silence_get(gw, old);
		const char *owner = json_string_value(json_object_get(s, "owner"));
		if (s && !serve_may(sv, &j->who, owner, 1)) {
			httpd_resp_error(j->resp, 403, "silence %.40s belongs to owner %.100s", old, owner);
			serve_audit(sv, &j->who, j->client, "silence_add", old, 403,
				    "denied: another owner's silence");
			json_decref(s);
			return;
		}
		json_decref(s);
	}
	int32_t part = -1;
	if (sv->owner_part) {
		int prc = sv->owner_part(sv->owner_part_ctx, body_owner(j->body), &part);
		if (prc != 0) {
			int st = prc == -VIGIL_ENOENT ? 409 : 503;
			httpd_resp_error(j->resp, st,
					 prc == -VIGIL_ENOENT
						 ? "owner %.100s's alerts partition %d is owned by another "
						   "gateway member: "
						   "use vigil silence (the control topic) or that member"
						 : "owner %.100s's alerts partition is not known yet (%d)",
					 body_owner(j->body), (int)part);
			serve_audit(sv, &j->who, j->client, "silence_add", target, st,
				    "not this member's partition");
			return;
		}
	}
	int rc = gateway_silence_add(gw, j->body, part, id, err, sizeof err);
	if (rc != 0) {
		httpd_resp_error(j->resp, status_of(rc), "%s", err);
		serve_audit(sv, &j->who, j->client, "silence_add", target, status_of(rc), err);
		return;
	}
	gateway_flush(gw);
	json_t *s = gateway_silence_get(gw, id);
	httpd_resp_json(j->resp, 201, json_pack("{s:s, s:o*}", "id", id, "silence", s));
	serve_audit(sv, &j->who, j->client, "silence_add", id, 201, "ok");
}

static void run_silence_expire(struct serve *sv, struct gateway *gw, struct job *j)
{
	char err[512];
	json_t *s = gateway_silence_get(gw, j->arg);
	if (s == NULL) {
		httpd_resp_error(j->resp, 404, "no silence with id %.40s", j->arg);
		serve_audit(sv, &j->who, j->client, "silence_expire", j->arg, 404, "no such silence");
		return;
	}
	const char *owner = json_string_value(json_object_get(s, "owner"));
	if (!serve_may(sv, &j->who, owner, 1)) {
		httpd_resp_error(j->resp, 403, "%s may not expire owner %.100s's silences",
				 j->who.kind == WHO_TEAM ? j->who.team : "this caller", owner);
		serve_audit(sv, &j->who, j->client, "silence_expire", j->arg, 403,
			    "denied: another owner's silence");
	} else if (gateway_silence_expire(gw, owner, j->arg, err, sizeof err) != 0) {
		httpd_resp_error(j->resp, 404, "%s", err);
		serve_audit(sv, &j->who, j->client, "silence_expire", j->arg, 404, err);
	} else {
		gateway_flush(gw);
		httpd_resp_json(
			j->resp, 200,
			json_pack("{s:s, s:o*}", "id", j->arg, "silence", gateway_silence_get(gw, j->arg)));
		serve_audit(sv, &j->who, j->client, "silence_expire", j->arg, 200, "ok");
	}
	json_decref(s);
}

static void run_ingest(struct serve *sv, struct gateway *gw, struct job *j)
{
	char series[1024], err[512], result[96];
	size_t i, accepted = 0;
	json_t *x;
	json_array_foreach(j->body, i, x)
	{
		struct alert_event ev;
		json_t *a = json_object_get(x, "alert");
		size_t idx = (size_t)json_integer_value(json_object_get(x, "index"));
		int rc = alert_from_json_v1(a, &ev, series, sizeof series, clock_wall(), err, sizeof err);
		if (rc == 0)
			rc = gateway_submit(gw, &ev);
		if (rc == 0) {
			accepted++;
			continue;
		}
		char field[96];
		err_field(err, field, sizeof field);
		json_array_append_new(j->bad,
				      item_error(idx, field, rc == -VIGIL_EINVAL ? err : vigil_strerror(rc)));
	}
	if (accepted)
		gateway_flush(gw);
	size_t nbad = json_array_size(j->bad);
	snprintf(result, sizeof result, "accepted=%zu rejected=%zu", accepted, nbad);
	if (nbad == 0) {
		httpd_resp_json(j->resp, 200,
				json_pack("{s:I, s:I}", "accepted", (json_int_t)accepted, "rejected", 0));
	} else {
		json_t *first = json_array_get(j->bad, 0);
		char m[640];
		snprintf(m, sizeof m, "alert %lld: %s: %s",
			 (long long)json_integer_value(json_object_get(first, "index")),
			 json_string_value(json_object_get(first, "field")),
			 json_string_value(json_object_get(first, "error")));
		httpd_resp_json(j->resp, 400,
				json_pack("{s:s, s:i, s:I, s:I, s:O}", "error", m, "status", 400, "accepted",
					  (json_int_t)accepted, "rejected", (json_int_t)nbad, "errors",
					  j->bad));
	}
	serve_audit(sv, &j->who, j->client, "alert_ingest", "alerts", nbad ? 400 : 200, result);
}

void serve_job_run(struct serve *sv, struct gateway *gw, struct job *j)
{
	char err[512];
	json_t *r;
	switch (j->kind) {
	case JOB_ALERTS: {
		struct buf b = {0};
		if (gateway_alerts_json(gw, j->arg[0] ? j->arg : NULL, j->filter, &b) == 0)
			httpd_resp_text(j->resp, 200, "application/json", (const char *)b.data, b.len);
		else
			httpd_resp_error(j->resp, 500, "out of memory");
		buf_free(&b);
		break;
	}
	case JOB_ALERT:
		r = gateway_alert(gw, j->arg);
		if (r == NULL)
			httpd_resp_error(j->resp, 404, "no open alert with episode %.40s", j->arg);
		else if (!serve_may(sv, &j->who, json_string_value(json_object_get(r, "owner")), 0)) {
			httpd_resp_error(j->resp, 403, "%s may not read owner %.100s's alerts",
					 j->who.kind == WHO_TEAM ? j->who.team : "this caller",
					 json_string_value(json_object_get(r, "owner")));
			json_decref(r);
		} else
			httpd_resp_json(j->resp, 200, with_chart(gw, r, j->arg));
		break;
	case JOB_CHART: run_chart(sv, gw, j); break;
	case JOB_ACK: run_ack(sv, gw, j); break;
	case JOB_SILENCES:
		httpd_resp_json(j->resp, 200, gateway_silence_list(gw, j->arg[0] ? j->arg : NULL));
		break;
	case JOB_SILENCE_ADD: run_silence_add(sv, gw, j); break;
	case JOB_SILENCE_PREVIEW:
		r = gateway_silence_preview(gw, j->body, err, sizeof err);
		if (r == NULL)
			httpd_resp_error(j->resp, 400, "%s", err);
		else
			httpd_resp_json(j->resp, 200, r);
		break;
	case JOB_SILENCE_EXPIRE: run_silence_expire(sv, gw, j); break;
	case JOB_INGEST: run_ingest(sv, gw, j); break;
	}
}
