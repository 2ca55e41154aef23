/* Internals of the HTTP service shared by cli/serve.c (server, auth, audit,
 * queue), cli/serve_api.c (the gateway API: parsing on the HTTP thread,
 * answers on the gateway's thread) and cli/serve_metrics.c. */
#ifndef CLI_SERVE_INT_H
#define CLI_SERVE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "cli/serve.h"

enum who_kind { WHO_ANON = 0, WHO_TEAM, WHO_ADMIN };

/* The caller of a request, after authentication. */
struct principal {
	enum who_kind kind;
	const char *team; /* WHO_TEAM: the owner (borrowed from the token table) */
};

struct serve_token {
	char *value; /* the resolved secret (secret_free) */
	size_t len;
	const char *team; /* NULL for admin */
};

enum job_kind {
	JOB_ALERTS,          /* GET /api/v1/alerts */
	JOB_ALERT,           /* GET /api/v1/alerts/{episode} */
	JOB_ACK,             /* POST .../ack, .../unack */
	JOB_SILENCES,        /* GET /api/v1/silences */
	JOB_SILENCE_ADD,     /* POST /api/v1/silences */
	JOB_SILENCE_PREVIEW, /* POST /api/v1/silences/preview */
	JOB_SILENCE_EXPIRE,  /* DELETE /api/v1/silences/{id} */
	JOB_INGEST,          /* POST /api/v2/alerts */
	JOB_CHART, /* GET /api/v1/alerts/{episode}/chart.svg|png: the document, drawn on the HTTP thread */
};

/* One gateway API request, queued by the HTTP thread (which owns it and
 * waits for state JOB_DONE) and answered on the gateway's thread. */
struct job {
	enum job_kind kind;
	struct principal who;
	int open_reads;
	const char *client;
	char arg[128];   /* episode, silence id or owner filter ("" = none) */
	char filter[32]; /* alerts state filter ("" = none) */
	int unack;       /* JOB_ACK */
	json_t *body;    /* the parsed body (JOB_ACK, JOB_SILENCE_*, JOB_INGEST) */
	json_t *bad;     /* JOB_INGEST: errors found on the HTTP thread (array) */
	size_t nitems;   /* JOB_INGEST: items in the request */
	json_t *result;  /* JOB_CHART: the alert document (owned by the HTTP thread after the answer) */
	struct httpd_resp *resp;
	int state; /* 0 queued, 1 running, 2 done */
	struct job *next;
};

struct serve {
	struct httpd *h;
	const struct ruleset *rs;
	int gateway_api;
	int open_reads;
	int read_only;                                                  /* no tokens configured */
	char host[256];                                                 /* of the listen address */
	int (*owner_part)(void *ctx, const char *owner, int32_t *part); /* gateway thread */
	void *owner_part_ctx;
	_Atomic(const struct ruleset *) rules_now; /* what /api/v1/rules shows (sets live until exit) */
	struct serve_token *tokens;
	size_t ntokens;
	char *url_key;      /* resolved http.url_key (secret_free), NULL: signed chart links refused */
	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;  /* a job was queued or answered */
	int ready;
	char reason[160];
	char rules_version[17]; /* "" until known */
	uint64_t rules_reloads, rules_reload_errors;
	char rules_last_error[512];
	char *metrics;
	size_t metrics_len;
	struct job *head, *tail;
	int closing;
	/* the audit log: a file, or the log when NULL */
	pthread_mutex_t audit_mu;
	FILE *audit;
	char audit_path[512];
};

/* Publish c's rule set (rules_now) and reload state to the API (the
 * owning loop, with each metrics update). */
void serve_rules_update(struct serve *sv, const struct serve_counters *c);

/* Authenticate req: 0 with *p filled, or -1 with resp set (401). A request
 * without a token is WHO_ANON. */
int serve_auth(struct serve *sv, const struct httpd_req *req, struct httpd_resp *resp, struct principal *p);
/* May p read (write = 0) or change (write = 1) owner's things? 1 or 0. */
int serve_may(const struct serve *sv, const struct principal *p, const char *owner, int write);
/* "admin", "team:NAME" or "anonymous" into resp->who and out. */
const char *serve_who(const struct principal *p, char *out, size_t outlen);
/* One audit record (any thread). */
void serve_audit(struct serve *sv, const struct principal *p, const char *client, const char *action,
		 const char *target, int status, const char *result);
/* Queue j and wait for its answer (HTTP thread). */
void serve_submit_job(struct serve *sv, struct job *j);
/* Run j on the gateway's thread (cli/serve_api.c). */
void serve_job_run(struct serve *sv, struct gateway *gw, struct job *j);

/* Route handlers of cli/serve_api.c (HTTP thread), ctx = struct serve. */
/* The body parsers of cli/serve_api.c that need no server (fuzzed by
 * tests/fuzz/fuzz_http_bodies.c). api_ack_body_check: body (NULL = none) of
 * POST .../ack and .../unack: 0, or -1 with the 400 message in msg.
 * api_am_to_v1: one item of POST /api/v2/alerts (Alertmanager's shape) into
 * vigil's alert event v1 (a new object for alert_from_json_v1), or NULL with
 * the field and the reason in field and msg; now decides firing/resolved. */
int api_ack_body_check(json_t *body, char *msg, size_t msglen);
json_t *api_am_to_v1(json_t *a, double now, char *field, size_t fieldlen, char *msg, size_t msglen);

void api_alerts(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_alert(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_ack(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_unack(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_silences(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_silence_add(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_silence_preview(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_silence_expire(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_rules(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_rules_status(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_owners(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_ingest(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_chart_svg(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void api_chart_png(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);

/* The web console and its session route (cli/serve_console.c), ctx = struct serve. */
void api_session(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void console_index(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);
void console_file(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);

#endif
