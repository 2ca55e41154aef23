/* The process's HTTP service (core/httpd.h underneath): /healthz, /readyz,
 * /metrics, and where a gateway runs (replay, `vigil gateway`, single mode)
 * the gateway JSON API under /api (cli/openapi.yaml documents it).
 *
 * Threads. The HTTP threads never touch pipeline state:
 *  - readiness is a flag the owning loop sets (serve_set_ready);
 *  - /metrics serves a copy of the text the owning loop renders
 *    (serve_publish_metrics, about once a second), under a mutex;
 *  - a gateway API request is parsed and authorised on the HTTP thread,
 *    then queued to the thread that owns the gateway, which answers it in
 *    serve_service() (call it on every loop iteration, at least every
 *    100 ms); the HTTP thread waits for the answer (15 s at most: 503).
 *  - /api/v1/rules and /api/v1/owners read the ruleset, which is immutable.
 *
 * Authorisation (http.tokens): bearer tokens of a team (its own owner's
 * alerts and silences) or admin (everything). Reads without a token only
 * with open_reads; a team token reads only its owner's alerts and
 * silences unless open_reads. Without tokens the service is read-only and
 * listens on loopback addresses only. Every write (ack, unack, silence
 * add / expire, alert ingest), allowed or refused, goes to the audit log:
 * one JSON line {time, who, action, target, client, result, status}.
 * @thread serve_start / serve_service / serve_stop from the owning thread;
 * serve_set_ready and serve_publish_metrics from any thread. */
#ifndef CLI_SERVE_H
#define CLI_SERVE_H

#include <stddef.h>

#include "core/config.h"
#include "core/httpd.h"
#include "core/kafka.h"
#include "engine/engine.h"
#include "rules/rules.h"
#include "sinks/gateway.h"

struct serve;

struct serve_opts {
	const struct http_cfg *cfg; /* borrowed; NULL = every default */
	const char *listen;         /* overrides cfg->listen; one of them must be set */
	const struct ruleset *rs;   /* borrowed, outlives the service; NULL = no rules yet */
	const char *state_dir;      /* for the default audit log; may be NULL */
	const char *port_file;      /* write the bound port here (tests); may be NULL */
	int gateway_api;            /* 1: serve /api (a gateway runs in this process) */
	const char *prog;           /* "vigil replay", for messages */
};

/* Resolve the tokens, check the address (no tokens: loopback only), bind
 * and serve. 0, or -VIGIL_EINVAL / -VIGIL_EIO with err saying why. */
int serve_start(const struct serve_opts *o, struct serve **out, char *err, size_t errlen);
/* The bound port, and the service's URL ("http://host:port/"). */
int serve_port(const struct serve *sv);
void serve_url(const struct serve *sv, char *out, size_t outlen);
/* Ready (1) or not (0) with the reason /readyz gives (copied; may be NULL). */
void serve_set_ready(struct serve *sv, int ready, const char *reason);
/* Replace the /metrics text (copied). */
void serve_publish_metrics(struct serve *sv, const char *text, size_t len);
/* In the Kafka deployment: the alerts-topic partition an owner's state
 * belongs to (fn returns 0, -VIGIL_ENOENT when another gateway member owns
 * it, or another -VIGIL_E*); called on the gateway's thread. Without it
 * (a single process) that state has no partition (-1). */
void serve_set_owner_part(struct serve *sv, int (*fn)(void *ctx, const char *owner, int32_t *part),
			  void *ctx);
/* Answer every queued gateway API request with gw (the caller's thread
 * owns gw). Returns the number answered. */
int serve_service(struct serve *sv, struct gateway *gw);
/* Wait until a request is queued or timeout_ms passes (an idle loop). */
void serve_wait(struct serve *sv, int timeout_ms);
/* Answer what is queued with 503, stop the server, close the audit log,
 * free (NULL is fine). */
void serve_stop(struct serve *sv);
/* The HTTP counters, for the metrics text. */
void serve_http_stats(struct serve *sv, struct httpd_stats *out);

/* The route table (method, pattern), the same the server uses, for
 * `vigil help api` and the OpenAPI check. */
const struct httpd_route *serve_routes(size_t *n);

/* ---- the metrics text (cli/serve_metrics.c) ---- */

/* What a process counts; NULL members are left out. */
struct serve_counters {
	const char *mode; /* "replay", "member", "gateway", "single" */
	int ready;
	double start_time;               /* wall seconds */
	const struct engine_stats *es;   /* replay */
	const struct engine *engine;     /* replay: per-owner refusals (NULL: not shown) */
	uint64_t lines;                  /* replay: input records read */
	const struct gateway_stats *gs;  /* where a gateway runs */
	const struct kafka_counters *kc; /* Kafka modes */
	size_t partitions;               /* Kafka member: owned input partitions */
	const struct httpd_stats *hs;
	const char *rules_version; /* the running rule set's version (NULL: not shown) */
	uint64_t rules_reloads, rules_reload_errors;
	const struct ruleset *rules_now; /* the rule set running now, kept alive until exit (NULL: keep) */
	const char *rules_last_error;    /* the newest refused reload's error ("" or NULL: none) */
};

/* Render the Prometheus text exposition format (version 0.0.4) into a
 * malloc'd string (caller frees); NULL when out of memory. */
char *serve_metrics_render(const struct serve_counters *c, size_t *len);
/* Render and publish (the owning loop, about once a second). */
void serve_metrics_update(struct serve *sv, struct serve_counters *c);

#endif
