/* See serve.h: the service's lifecycle, route table, authentication, audit
 * log, the queue to the gateway's thread, and the public routes (health,
 * readiness, metrics). The gateway API handlers are in cli/serve_api.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/serve_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/timefmt.h"

#define COMP        "http"
#define JOB_TIMEOUT 15.0 /* seconds an API request waits for the gateway's thread */

static void h_healthz(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
static void h_readyz(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
static void h_metrics(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);

/* The first NPUBLIC routes are served by every process; the rest only
 * where a gateway runs. */
#define NPUBLIC 3
static const struct httpd_route route_table[] = {
	{"GET", "/healthz", h_healthz, NULL, 1},
	{"GET", "/readyz", h_readyz, NULL, 1},
	{"GET", "/metrics", h_metrics, NULL, 1},
	{"GET", "/api/v1/alerts", api_alerts, NULL, 0},
	{"GET", "/api/v1/alerts/{episode}", api_alert, NULL, 0},
	{"GET", "/api/v1/alerts/{episode}/chart.svg", api_chart_svg, NULL, 0},
	{"GET", "/api/v1/alerts/{episode}/chart.png", api_chart_png, NULL, 0},
	{"POST", "/api/v1/alerts/{episode}/ack", api_ack, NULL, 0},
	{"POST", "/api/v1/alerts/{episode}/unack", api_unack, NULL, 0},
	{"GET", "/api/v1/silences", api_silences, NULL, 0},
	{"POST", "/api/v1/silences", api_silence_add, NULL, 0},
	{"POST", "/api/v1/silences/preview", api_silence_preview, NULL, 0},
	{"DELETE", "/api/v1/silences/{id}", api_silence_expire, NULL, 0},
	{"GET", "/api/v1/rules", api_rules, NULL, 0},
	{"GET", "/api/v1/rules/status", api_rules_status, NULL, 0},
	{"GET", "/api/v1/owners", api_owners, NULL, 0},
	{"POST", "/api/v2/alerts", api_ingest, NULL, 0},
	{"GET", "/api/v1/session", api_session, NULL, 0},
	{"GET", "/", console_index, NULL, 0}, /* the web console: cli/serve_console.c */
	{"GET", "/console/{file}", console_file, NULL, 0},
};
#define NROUTES (sizeof route_table / sizeof route_table[0])

/* The server's copy, with ctx set (one service per process). */
static struct httpd_route live_routes[NROUTES];

const struct httpd_route *serve_routes(size_t *n)
{
	*n = NROUTES;
	return route_table;
}

/* ---- public routes ---- */

static void h_healthz(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	(void)ctx;
	(void)req;
	httpd_resp_json(resp, 200, json_pack("{s:s}", "status", "alive"));
}

static void h_readyz(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	(void)req;
	pthread_mutex_lock(&sv->mu);
	int ready = sv->ready;
	json_t *j = ready ? json_pack("{s:s}", "status", "ready")
			  : json_pack("{s:s, s:s}", "status", "not ready", "reason", sv->reason);
	pthread_mutex_unlock(&sv->mu);
	httpd_resp_json(resp, ready ? 200 : 503, j);
}

static void h_metrics(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	(void)req;
	pthread_mutex_lock(&sv->mu);
	if (sv->metrics)
		httpd_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", sv->metrics,
				sv->metrics_len);
	else
		httpd_resp_error(resp, 503, "metrics not rendered yet");
	pthread_mutex_unlock(&sv->mu);
}

void serve_set_ready(struct serve *sv, int ready, const char *reason)
{
	pthread_mutex_lock(&sv->mu);
	if (sv->ready != ready || strcmp(sv->reason, reason ? reason : "") != 0)
		LOG_INFO(COMP, "event=%s%s%s%s", ready ? "ready" : "not_ready", reason ? " reason=\"" : "",
			 reason ? reason : "", reason ? "\"" : "");
	sv->ready = ready;
	snprintf(sv->reason, sizeof sv->reason, "%s", reason ? reason : "");
	pthread_mutex_unlock(&sv->mu);
}

void serve_publish_metrics(struct serve *sv, const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return; /* the old text stays */
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&sv->mu);
	free(sv->metrics);
	sv->metrics = copy;
	sv->metrics_len = len;
	pthread_mutex_unlock(&sv->mu);
}

void serve_http_stats(struct serve *sv, struct httpd_stats *out)
{
	httpd_get_stats(sv->h, out);
}

/* ---- authentication and authorisation ---- */

/* Compare without an early exit, so the time taken says nothing about
 * where a guess first differs. */
static int token_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char d = (unsigned char)(alen != blen);
	for (size_t i = 0; i < blen; i++)
		d |= (unsigned char)(a[i < alen ? i : 0] ^ b[i]);
	return d == 0;
}

int serve_auth(struct serve *sv, const struct httpd_req *req, struct httpd_resp *resp, struct principal *p)
{
	const char *h = httpd_header(req, "Authorization");
	p->kind = WHO_ANON;
	p->team = NULL;
	snprintf(resp->who, sizeof resp->who, "anonymous");
	if (h == NULL)
		return 0;
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		httpd_resp_error(resp, 401, "Authorization: want \"Bearer <token>\"");
		httpd_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"vigil\"");
		return -1;
	}
	const char *t = h + 7;
	while (*t == ' ')
		t++;
	size_t tl = strlen(t);
	int found = -1;
	for (size_t i = 0; i < sv->ntokens; i++)
		if (token_eq(t, tl, sv->tokens[i].value, sv->tokens[i].len) && found < 0)
			found = (int)i;
	if (found < 0) {
		snprintf(resp->who, sizeof resp->who, "invalid-token");
		httpd_resp_error(resp, 401, "invalid token");
		httpd_resp_header(resp, "WWW-Authenticate",
				  "Bearer realm=\"vigil\", error=\"invalid_token\"");
		return -1;
	}
	p->team = sv->tokens[found].team;
	p->kind = p->team ? WHO_TEAM : WHO_ADMIN;
	serve_who(p, resp->who, sizeof resp->who);
	return 0;
}

int serve_may(const struct serve *sv, const struct principal *p, const char *owner, int write)
{
	if (p->kind == WHO_ADMIN)
		return 1;
	if (!write && sv->open_reads)
		return 1;
	if (p->kind == WHO_TEAM)
		return owner && strcmp(owner, p->team) == 0;
	return 0;
}

const char *serve_who(const struct principal *p, char *out, size_t outlen)
{
	if (p->kind == WHO_ADMIN)
		snprintf(out, outlen, "admin");
	else if (p->kind == WHO_TEAM)
		snprintf(out, outlen, "team:%s", p->team);
	else
		snprintf(out, outlen, "anonymous");
	return out;
}

/* ---- audit ---- */

void serve_audit(struct serve *sv, const struct principal *p, const char *client, const char *action,
		 const char *target, int status, const char *result)
{
	char t[40], who[160];
	time_format_rfc3339(clock_wall(), t, sizeof t);
	json_t *j =
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "time", t, "who",
			  serve_who(p, who, sizeof who), "action", action, "target", target ? target : "",
			  "client", client ? client : "", "result", result ? result : "", "status", status);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (line == NULL)
		return;
	pthread_mutex_lock(&sv->audit_mu);
	if (sv->audit) {
		if (fprintf(sv->audit, "%s\n", line) < 0 || fflush(sv->audit) != 0)
			LOG_ERR("audit", "event=audit_write_failed path=%s err=\"%s\" record=%s",
				sv->audit_path, strerror(errno), line);
	} else {
		LOG_INFO("audit", "event=audit record=%s", line);
	}
	pthread_mutex_unlock(&sv->audit_mu);
	free(line);
}

/* ---- the queue to the gateway's thread ---- */

void serve_submit_job(struct serve *sv, struct job *j)
{
	struct timespec ts;
	double deadline = clock_mono_real() + JOB_TIMEOUT;

	pthread_mutex_lock(&sv->mu);
	if (sv->closing) {
		pthread_mutex_unlock(&sv->mu);
		httpd_resp_error(j->resp, 503, "shutting down");
		return;
	}
	j->state = 0;
	j->next = NULL;
	if (sv->tail)
		sv->tail->next = j;
	else
		sv->head = j;
	sv->tail = j;
	pthread_cond_broadcast(&sv->cv);
	while (j->state != 2) {
		double left = deadline - clock_mono_real();
		if (left <= 0 && j->state == 0) {
			/* still queued: take it back */
			struct job **pp = &sv->head;
			struct job *prev = NULL;
			while (*pp && *pp != j) {
				prev = *pp;
				pp = &(*pp)->next;
			}
			if (*pp) {
				*pp = j->next;
				if (sv->tail == j)
					sv->tail = prev;
			}
			pthread_mutex_unlock(&sv->mu);
			httpd_resp_error(j->resp, 503, "the gateway did not take the request within %.0f s",
					 JOB_TIMEOUT);
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		double wait = left > 0.2 || left <= 0 ? 0.2 : left;
		ts.tv_nsec += (long)(wait * 1e9);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&sv->cv, &sv->mu, &ts);
	}
	pthread_mutex_unlock(&sv->mu);
}

int serve_service(struct serve *sv, struct gateway *gw)
{
	int n = 0;
	if (sv == NULL)
		return 0;
	pthread_mutex_lock(&sv->mu);
	struct job *list = sv->head;
	sv->head = sv->tail = NULL;
	for (struct job *j = list; j; j = j->next)
		j->state = 1;
	pthread_mutex_unlock(&sv->mu);
	while (list) {
		struct job *j = list;
		list = j->next; /* read before done: the waiter owns j after */
		serve_job_run(sv, gw, j);
		pthread_mutex_lock(&sv->mu);
		j->state = 2;
		pthread_cond_broadcast(&sv->cv);
		pthread_mutex_unlock(&sv->mu);
		n++;
	}
	return n;
}

void serve_wait(struct serve *sv, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&sv->mu);
	if (sv->head == NULL && !sv->closing)
		pthread_cond_timedwait(&sv->cv, &sv->mu, &ts);
	pthread_mutex_unlock(&sv->mu);
}

/* ---- lifecycle ---- */

static int resolve_tokens(struct serve *sv, const struct http_cfg *c, const struct ruleset *rs, char *err,
			  size_t errlen)
{
	if (c && c->url_key) {
		int rc = secret_resolve(c->url_key, "http.url_key", c->where, &sv->url_key, err, errlen);
		if (rc != 0)
			return rc;
	}
	if (c == NULL || c->ntokens == 0)
		return 0;
	if ((sv->tokens = calloc(c->ntokens, sizeof *sv->tokens)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < c->ntokens; i++) {
		const struct http_token *t = &c->tokens[i];
		if (t->team && rs && ruleset_owner(rs, t->team) == NULL) {
			snprintf(err, errlen,
				 "%s: http.tokens: team '%s' is not an owner of the loaded rules", t->where,
				 t->team);
			return -VIGIL_EINVAL;
		}
		int rc = secret_resolve(t->token, "http.tokens.token", t->where, &sv->tokens[i].value, err,
					errlen);
		if (rc != 0)
			return rc;
		sv->ntokens++;
		sv->tokens[i].len = strlen(sv->tokens[i].value);
		sv->tokens[i].team = t->team;
		if (sv->tokens[i].len < 16) {
			snprintf(err, errlen, "%s: http.tokens: the token is shorter than 16 characters",
				 t->where);
			return -VIGIL_EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(sv->tokens[k].value, sv->tokens[i].value) == 0) {
				snprintf(err, errlen,
					 "%s: http.tokens: two entries resolve to the same token", t->where);
				return -VIGIL_EINVAL;
			}
	}
	return 0;
}

static int open_audit(struct serve *sv, const struct serve_opts *o)
{
	const char *path = o->cfg ? o->cfg->audit_log : NULL;
	if (path)
		snprintf(sv->audit_path, sizeof sv->audit_path, "%s", path);
	else if (o->state_dir)
		snprintf(sv->audit_path, sizeof sv->audit_path, "%s/audit.jsonl", o->state_dir);
	else
		return 0; /* the log */
	if ((sv->audit = fopen(sv->audit_path, "a")) == NULL)
		return -errno;
	return 0;
}

int serve_start(const struct serve_opts *o, struct serve **out, char *err, size_t errlen)
{
	const struct http_cfg *c = o->cfg;
	const char *listen = o->listen ? o->listen : c ? c->listen : NULL;
	char host[256];
	int port, rc;

	*out = NULL;
	if (httpd_parse_listen(listen, host, sizeof host, &port, err, errlen) != 0)
		return -VIGIL_EINVAL;
	struct serve *sv = calloc(1, sizeof *sv);
	if (sv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	pthread_mutex_init(&sv->mu, NULL);
	pthread_mutex_init(&sv->audit_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sv->cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(sv->host, sizeof sv->host, "%s", host);
	sv->rs = o->rs;
	atomic_store(&sv->rules_now, o->rs);
	sv->gateway_api = o->gateway_api;
	snprintf(sv->reason, sizeof sv->reason, "starting");
	if ((rc = resolve_tokens(sv, c, o->rs, err, errlen)) != 0)
		goto fail;
	sv->read_only = sv->ntokens == 0;
	sv->open_reads = c && c->open_reads >= 0 ? c->open_reads : sv->read_only;
	if (sv->read_only && !httpd_host_is_loopback(host)) {
		snprintf(err, errlen,
			 "refusing to serve HTTP on %s without tokens: anyone who reaches it could read "
			 "the alerts; listen on 127.0.0.1 or configure http.tokens",
			 listen);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	if ((rc = open_audit(sv, o)) != 0) {
		snprintf(err, errlen, "audit log %s: %s", sv->audit_path, strerror(-rc));
		rc = -VIGIL_EIO;
		goto fail;
	}
	size_t n = o->gateway_api ? NROUTES : NPUBLIC;
	for (size_t i = 0; i < n; i++) {
		live_routes[i] = route_table[i];
		live_routes[i].ctx = sv;
	}
	struct httpd_opts ho = {
		.listen = listen,
		.routes = live_routes,
		.nroutes = n,
		.max_body = c && c->max_body ? c->max_body : 1 << 20,
		.rate = c && c->rate >= 0 ? c->rate : 20,
		.burst = c && c->burst >= 1 ? c->burst : 40,
		.comp = COMP,
	};
	if ((rc = httpd_start(&ho, &sv->h, err, errlen)) != 0)
		goto fail;
	if (o->port_file) {
		char tmp[1024];
		snprintf(tmp, sizeof tmp, "%s.tmp", o->port_file);
		FILE *f = fopen(tmp, "w");
		if (f == NULL || fprintf(f, "%d\n", httpd_port(sv->h)) < 0 || fclose(f) != 0 ||
		    rename(tmp, o->port_file) != 0) {
			snprintf(err, errlen, "--port-file %s: %s", o->port_file, strerror(errno));
			rc = -VIGIL_EIO;
			goto fail;
		}
	}
	LOG_INFO(COMP,
		 "event=listening address=%s port=%d api=%s tokens=%zu open_reads=%s read_only=%s audit=%s",
		 listen, httpd_port(sv->h), o->gateway_api ? "yes" : "no", sv->ntokens,
		 sv->open_reads ? "yes" : "no", sv->read_only ? "yes" : "no",
		 sv->audit ? sv->audit_path : "log");
	*out = sv;
	return 0;
fail:
	serve_stop(sv);
	return rc;
}

int serve_port(const struct serve *sv)
{
	return httpd_port(sv->h);
}

void serve_set_owner_part(struct serve *sv, int (*fn)(void *ctx, const char *owner, int32_t *part), void *ctx)
{
	sv->owner_part = fn;
	sv->owner_part_ctx = ctx;
}

void serve_url(const struct serve *sv, char *out, size_t outlen)
{
	const char *h = sv->host[0] && strcmp(sv->host, "*") != 0 ? sv->host : "0.0.0.0";
	if (strchr(h, ':'))
		snprintf(out, outlen, "http://[%s]:%d/", h, httpd_port(sv->h));
	else
		snprintf(out, outlen, "http://%s:%d/", h, httpd_port(sv->h));
}

void serve_stop(struct serve *sv)
{
	if (sv == NULL)
		return;
	pthread_mutex_lock(&sv->mu);
	sv->closing = 1;
	/* nothing runs jobs any more: answer what is queued */
	for (struct job *j = sv->head; j; j = j->next) {
		httpd_resp_error(j->resp, 503, "shutting down");
		j->state = 2;
	}
	sv->head = sv->tail = NULL;
	pthread_cond_broadcast(&sv->cv);
	pthread_mutex_unlock(&sv->mu);
	httpd_stop(sv->h);
	for (size_t i = 0; i < sv->ntokens; i++)
		secret_free(sv->tokens[i].value);
	free(sv->tokens);
	secret_free(sv->url_key);
	if (sv->audit)
		fclose(sv->audit);
	free(sv->metrics);
	pthread_cond_destroy(&sv->cv);
	pthread_mutex_destroy(&sv->mu);
	pthread_mutex_destroy(&sv->audit_mu);
	free(sv);
}

void serve_rules_update(struct serve *sv, const struct serve_counters *c)
{
	if (c->rules_now)
		atomic_store(&sv->rules_now, c->rules_now);
	pthread_mutex_lock(&sv->mu);
	if (c->rules_version)
		snprintf(sv->rules_version, sizeof sv->rules_version, "%s", c->rules_version);
	sv->rules_reloads = c->rules_reloads;
	sv->rules_reload_errors = c->rules_reload_errors;
	snprintf(sv->rules_last_error, sizeof sv->rules_last_error, "%s",
		 c->rules_last_error ? c->rules_last_error : "");
	pthread_mutex_unlock(&sv->mu);
}
