/* A small HTTP/1.1 server over libmicrohttpd for vigil's own service
 * (health, metrics, the gateway API): a listen address "host:port" (port 0 =
 * ephemeral; httpd_port() tells the bound one), a route table of method +
 * path pattern with {params}, a request body limit (413), a per-client-
 * address token bucket (429 with Retry-After), JSON error bodies
 * {"error": "...", "status": N}, and one log line per request through
 * core/log.h (method, path without the query, status, client, identity,
 * bytes, time; never a header value or the query string, so no token can
 * reach the log).
 * @thread the server runs on its own threads (one listener, one per
 * connection, at most max_conns); handlers run there and must only touch
 * what is safe to share. httpd_start/httpd_stop from one owner thread. */
#ifndef CORE_HTTPD_H
#define CORE_HTTPD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vigil.h"

#define HTTPD_MAX_PARAMS  4
#define HTTPD_MAX_HEADERS 4

/* One request as a handler sees it. Everything is borrowed for the call. */
struct httpd_req {
	const char *method;
	const char *path;   /* without the query string */
	const char *client; /* client address, e.g. "127.0.0.1" or "::1" */
	const char *body;   /* NUL-terminated (a NUL inside is possible); "" when none */
	size_t bodylen;
	const char *pname[HTTPD_MAX_PARAMS]; /* {params} of the route, in order */
	const char *pval[HTTPD_MAX_PARAMS];  /* their values (URL-decoded segments) */
	size_t nparams;
	void *conn; /* the library's connection, for httpd_query / httpd_header */
};

/* The value of {name} in the matched pattern, of query argument name, or of
 * request header name (case-insensitive); NULL when absent. */
const char *httpd_param(const struct httpd_req *r, const char *name);
const char *httpd_query(const struct httpd_req *r, const char *name);
const char *httpd_header(const struct httpd_req *r, const char *name);

/* What a handler fills. The server frees body after sending it. */
struct httpd_resp {
	int status; /* 0 = not set: 500 */
	char *body; /* malloc'd; may be NULL (empty body) */
	size_t len;
	const char *content_type; /* static string; default "application/json" */
	struct {
		const char *name; /* static string */
		char value[96];
	} hdr[HTTPD_MAX_HEADERS];
	size_t nhdr;
	char who[64]; /* the caller's identity for the log ("admin", "team:x"); never a secret */
};

/* Set j (stolen; NULL = allocation failure: 500) as the JSON body. */
void httpd_resp_json(struct httpd_resp *r, int status, json_t *j);
/* {"error": <message>, "status": status} as the body. */
void httpd_resp_error(struct httpd_resp *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A copy of text[0..len) with content type ctype (static). */
void httpd_resp_text(struct httpd_resp *r, int status, const char *ctype, const char *text, size_t len);
/* Add a header (name static; value copied, cut at 95 bytes); ignored past
 * HTTPD_MAX_HEADERS. Every answer says "Cache-Control: no-store" unless the
 * handler adds its own Cache-Control. */
void httpd_resp_header(struct httpd_resp *r, const char *name, const char *value);

typedef void (*httpd_handler)(void *ctx, const struct httpd_req *req, struct httpd_resp *resp);

/* A route: method ("GET", "POST", ...) and a pattern of '/'-separated
 * segments, each literal or {name} (one whole segment, non-empty). */
struct httpd_route {
	const char *method;
	const char *pattern;
	httpd_handler fn;
	void *ctx;
	int quiet; /* 1: successful requests are logged at debug level (probes, scrapes) */
};

struct httpd_opts {
	const char *listen;               /* "host:port", "[v6]:port"; port 0 = ephemeral */
	const struct httpd_route *routes; /* borrowed; must outlive the server */
	size_t nroutes;
	size_t max_body;    /* request body limit in bytes; 0 = 1 MiB */
	double rate, burst; /* token bucket per client address: rate per second
			     * (0 = no limit), burst tokens (< 1: max(1, rate)) */
	unsigned max_conns; /* concurrent connections; 0 = 64 */
	double timeout;     /* idle connection timeout in seconds; 0 = 30 */
	const char *comp;   /* log component; NULL = "http" */
};

struct httpd_stats {
	uint64_t requests;     /* answered */
	uint64_t by_code[600]; /* answered, by status code (100..599) */
	uint64_t rate_limited; /* answered 429 by the limiter */
};

struct httpd;

/* Split "host:port" / "[v6]:port" (host may be a name, "*" or empty: every
 * address). 0 or -VIGIL_EINVAL with err. */
int httpd_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err, size_t errlen);
/* 1 when every address host resolves to is a loopback address (127.0.0.0/8,
 * ::1, "localhost"); 0 otherwise (including unresolvable and "*"). */
int httpd_host_is_loopback(const char *host);

/* Bind o->listen and start serving. 0, or -VIGIL_EINVAL (bad address or
 * route) / -VIGIL_EIO (cannot bind: err says why) / -VIGIL_ENOMEM. */
int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen);
/* The bound TCP port. */
int httpd_port(const struct httpd *h);
/* A consistent copy of the counters. */
void httpd_get_stats(struct httpd *h, struct httpd_stats *out);
/* Stop listening, wait for every connection's thread, free (NULL is fine). */
void httpd_stop(struct httpd *h);

/* Route matching, exposed for tests: does path match pattern? The {param}
 * names and values go to req->pname / pval / nparams as strings in buf,
 * which needs strlen(pattern) + strlen(path) + 2 bytes. 1 or 0. */
int httpd_match(const char *pattern, const char *path, char *buf, size_t buflen, struct httpd_req *req);

#endif
