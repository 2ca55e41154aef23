/* Shared pieces of the network destinations (sinks/sink_*.c):
 *  - settings: pick the known keys out of a destination's kv list, with the
 *    errors every destination gives (unknown key naming where and listing the
 *    known keys, repeated key, missing required key, bad timeout);
 *  - one libcurl POST of a JSON body, classified into a sink_result:
 *    2xx -> SINK_OK; network error, timeout, 408, 429, 5xx -> SINK_RETRY
 *    (retry_after from Retry-After, seconds or HTTP-date); other 4xx and
 *    3xx (redirects are not followed) -> SINK_DROP with the start of the
 *    response body in detail. Nothing is retried here: the gateway owns that.
 * Details name the URL as scheme://host[:port] only and have every secret
 * registered with the client scrubbed out.
 * @thread http_client_new/free on the gateway's thread; http_post_json on
 * the destination's delivery thread, one call at a time per client. */
#ifndef SINKS_HTTP_H
#define SINKS_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "sinks/sink.h"

/* ---- settings ---- */

/* One known setting. The caller fills name/required/secret; dest_settings()
 * fills value and where (borrowed from kv) for the keys present. */
struct dest_key {
	const char *name;
	int required;
	int secret;        /* value may be env:/file: (form checked, never echoed) */
	const char *value; /* NULL when absent */
	const char *where;
};

/* Fill keys[0..nkeys) from kv. type names the destination in messages
 * ("pagerduty destination: ..."). Returns 0 or -VIGIL_EINVAL with err. */
int dest_settings(const char *type, const struct kv *kv, size_t nkv, struct dest_key *keys, size_t nkeys,
		  char *err, size_t errlen);

/* A duration setting (params_parse_duration: "10s", "500ms", "2m") into
 * *out; absent = def. Must be > 0 and <= 300 s. */
int dest_duration(const char *type, const struct dest_key *k, double def, double *out, char *err,
		  size_t errlen);

/* A URL setting that is not a secret: scheme must be one of schemes
 * (comma-separated, e.g. "http,https"). A secret URL (env:/file:) is only
 * checked after resolving, with the message not naming it. */
int dest_url(const char *type, const struct dest_key *k, const char *schemes, char *err, size_t errlen);
/* The same check on a resolved value, the value never echoed. */
int dest_url_resolved(const char *type, const struct dest_key *k, const char *url, const char *schemes,
		      char *err, size_t errlen);

/* The hosts HTTP destinations may reach (config `destinations.allow_hosts`):
 * shell globs matched without case against the host libcurl reads from the
 * URL ("*.example.com" matches "a.example.com" and "a.b.example.com", not
 * "example.com"; an IPv6 address is written without brackets). Once set,
 * dest_url and dest_url_resolved refuse an http(s) URL whose host matches
 * none, with "<where>: <type> destination: url: host 'h' is not in
 * destinations.allow_hosts (<list's where>)" (a secret URL: its reference,
 * never its value). Unset (the default, or globs == NULL): every host.
 * Redirects are never followed (http_easy_defaults), so a listed host
 * cannot send a notification on to another one.
 * @thread set on the main thread before any destination is checked or
 * created, then read-only; the strings are copied. 0 or -VIGIL_ENOMEM. */
int dest_allow_hosts_set(char *const *globs, size_t n, const char *where);
void dest_allow_hosts_clear(void);
/* 1 when host may be contacted under the current list. */
int dest_host_allowed(const char *host);
/* For a destination that falls back to a built-in URL when k (its url
 * setting) is absent: the allow-list check of that URL, reported at where
 * (the destination's position). 0 when k is set (checked by dest_url). */
int dest_url_default(const char *type, const struct dest_key *k, const char *where, const char *url,
		     char *err, size_t errlen);

/* ---- rendering shared by the destinations ---- */

/* Severity from the rule action: page -> critical, notify -> warning,
 * log -> info (anything else: warning). */
const char *dest_severity(const char *action);

/* A JSON number, or null for NaN/inf. */
json_t *dest_num(double v);

/* Cut s (in place) to at most max bytes, on a UTF-8 character boundary. */
void dest_utf8_cut(char *s, size_t max);

/* The "why" in words: "observed 41.2, expected 13.1, band [8, 19.5], score
 * 0.993 (threshold 0.99, direction up)"; unknown numbers are left out. */
void dest_why(const struct alert_event *ev, char *out, size_t outlen);

/* One line: the rule's summary if it has one, else "<rule> on <series>:
 * observed X, expected Y". */
void dest_summary(const struct alert_event *ev, char *out, size_t outlen);

/* Alertmanager-style labels: series tags, then rule labels (a rule label
 * wins over a tag of the same name), then alertname = rule, owner, series
 * (the canonical series key, so two series of one rule never share an
 * identity) and severity (unless a label already sets it). NULL on OOM. */
json_t *dest_am_labels(const struct notification *n);
/* Annotations: summary, description (the why), runbook_url when set,
 * episode. NULL on OOM. */
json_t *dest_am_annotations(const struct notification *n);
/* external_url + "/rules/" + rule (percent-encoded) into out; "" when no
 * external URL. */
void dest_generator_url(const char *external_url, const char *rule, char *out, size_t outlen);
/* The gateway's stable chart URL of n's alert, external_url +
 * "/api/v1/alerts/<episode>/chart.png", into out; "" when there is no
 * external URL (http.public_url), no episode, or the alert carries no
 * series window (nothing to draw). With url_key, the link is signed for
 * URLSIG_TTL (?exp=&sig=, core/urlsig.h), so a receiver without a token
 * can fetch that one chart. */
void dest_chart_url(const char *external_url, const char *url_key, const struct notification *n, char *out,
		    size_t outlen);

/* ---- group notifications and acknowledgements (sinks/dest_group.c) ---- */

/* Alert i of the group notification n as a notification of its own:
 * ev = &n->group->alerts[i], fingerprint / episode derived into fp / ep,
 * json = its JSON text, owner = n->owner, dedup_key "", group NULL. */
void dest_group_member(const struct notification *n, size_t i, struct notification *out, char fp[17],
		       char ep[17]);
/* Alerts of g not resolved (firing or acknowledged). */
size_t dest_group_firing(const struct notification_group *g);
/* The listing order of a change: "new" 0, "firing" 1, "resolved" 2,
 * anything else 3 (list rank by rank, document order within one). */
int dest_change_rank(const char *change);
/* The mark of a change in messages: "NEW" | "FIRING" | "RESOLVED"
 * ("CHANGED" for anything else). */
const char *dest_change_mark(const char *change);
/* The group labels as "k=v k2=v2" (document order); "" when none. */
void dest_group_labels_text(const struct notification_group *g, char *out, size_t outlen);
/* Who acknowledged ("acknowledged_by") and why ("ack_comment") from a
 * notification's JSON text; "" for what is absent, not a string or
 * unreadable. Cut to the buffers on a UTF-8 boundary. Does not fail. */
void dest_ack_info(const char *json, size_t len, char *by, size_t bylen, char *comment, size_t commentlen);

/* ---- HTTP POST ---- */

struct http_client;

#define HTTP_BODY_KEEP 400 /* bytes of a response body kept for detail */
#define HTTP_MAX_SCRUB 4

/* A client (one reused libcurl easy handle) with connect and total
 * timeouts in seconds. Calls curl_global_init once per process. */
int http_client_new(double connect_timeout, double timeout, struct http_client **out, char *err,
		    size_t errlen);
void http_client_free(struct http_client *c);

/* Register a string (borrowed; must outlive the client) that must never
 * appear in a detail. Up to HTTP_MAX_SCRUB. */
void http_client_scrub(struct http_client *c, const char *secret);

/* POST body[0..len) to url as application/json and classify the answer
 * into *res. On SINK_OK detail is "HTTP <code>"; otherwise it names the
 * origin and the error or the start of the body. */
void http_post_json(struct http_client *c, const char *url, const char *body, size_t len,
		    struct sink_result *res);

/* The same with the header "Idempotency-Key: <idem_key>" (NULL or "": none;
 * characters outside printable ASCII, and spaces, sent as '_'). */
void http_post_json_idem(struct http_client *c, const char *url, const char *body, size_t len,
			 const char *idem_key, struct sink_result *res);

/* The status of the last response (0 = none) and the start of its body
 * (NUL-terminated, at most HTTP_BODY_KEEP bytes). */
const char *http_last_body(const struct http_client *c);

/* Classification of an HTTP status. */
enum sink_verdict http_verdict(long status);

/* Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date
 * (against wall time now). 0 when absent, unparseable or in the past. */
double http_retry_after(const char *value, double now);

/* curl_global_init(CURL_GLOBAL_DEFAULT), once per process (pthread_once).
 * Returns 0 or -VIGIL_EIO. */
int http_global_init(void);

/* Apply the settings every libcurl destination shares on an easy handle:
 * no signals, timeouts in ms, no redirects, no keep-alive probes needed;
 * proxies come from the usual environment variables (libcurl's default). */
void http_easy_defaults(void *easy, double connect_timeout, double timeout);

/* Copy a received text into detail form: control characters become spaces,
 * at most outlen - 1 bytes, cut on a UTF-8 boundary. */
void http_clean_text(char *out, size_t outlen, const char *in, size_t inlen);

#endif
