/* See httpd.h. libmicrohttpd in thread-per-connection mode on a socket bound
 * here (so a bind error says why, and port 0 works); the access handler
 * applies, in order: rate limit (429), route (404 / 405), body limit (413),
 * then the route's handler with the whole body. */
#include "core/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"

#define RL_SLOTS  4096 /* client addresses remembered by the limiter */
#define RL_PROBES 8

struct rl_slot {
	char addr[48];
	double tokens, last; /* last == 0: free */
};

struct httpd {
	struct MHD_Daemon *d;
	int fd;
	int port;
	struct httpd_opts o;
	const char *comp;
	pthread_mutex_t mu; /* limiter and stats */
	struct rl_slot *rl;
	struct httpd_stats st;
};

/* Per-request state, kept by the library between calls of the handler. */
struct hreq {
	double t0;
	const struct httpd_route *route;
	char *body;
	size_t len, cap;
	int too_large;
	char client[48];
	char *match; /* pattern + path captures */
	struct httpd_req req;
};

/* ---- responses ---- */

void httpd_resp_json(struct httpd_resp *r, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(r->body);
	r->body = NULL;
	r->len = 0;
	r->content_type = "application/json";
	if (s == NULL) {
		r->status = 500;
		return;
	}
	r->status = status;
	r->body = s;
	r->len = strlen(s);
}

void httpd_resp_error(struct httpd_resp *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	httpd_resp_json(r, status, json_pack("{s:s, s:i}", "error", msg, "status", status));
	r->status = status;
}

void httpd_resp_text(struct httpd_resp *r, int status, const char *ctype, const char *text, size_t len)
{
	free(r->body);
	r->body = malloc(len + 1);
	r->len = 0;
	r->content_type = ctype;
	if (r->body == NULL) {
		r->status = 500;
		return;
	}
	memcpy(r->body, text, len);
	r->body[len] = '\0';
	r->len = len;
	r->status = status;
}

void httpd_resp_header(struct httpd_resp *r, const char *name, const char *value)
{
	if (r->nhdr >= HTTPD_MAX_HEADERS)
		return;
	r->hdr[r->nhdr].name = name;
	snprintf(r->hdr[r->nhdr].value, sizeof r->hdr[r->nhdr].value, "%s", value);
	r->nhdr++;
}

/* ---- requests ---- */

const char *httpd_param(const struct httpd_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (strcmp(r->pname[i], name) == 0)
			return r->pval[i];
	return NULL;
}

const char *httpd_query(const struct httpd_req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

const char *httpd_header(const struct httpd_req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

int httpd_match(const char *pattern, const char *path, char *buf, size_t buflen, struct httpd_req *req)
{
	const char *p = pattern, *s = path;
	size_t used = 0;

	req->nparams = 0;
	while (*p == '/' && *s == '/') {
		p++;
		s++;
		size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
		if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
			if (sl == 0 || req->nparams >= HTTPD_MAX_PARAMS || used + pl + sl > buflen)
				return 0;
			char *name = buf + used;
			memcpy(name, p + 1, pl - 2);
			name[pl - 2] = '\0';
			used += pl - 1;
			char *val = buf + used;
			memcpy(val, s, sl);
			val[sl] = '\0';
			used += sl + 1;
			req->pname[req->nparams] = name;
			req->pval[req->nparams++] = val;
		} else if (pl != sl || memcmp(p, s, pl) != 0) {
			return 0;
		}
		p += pl;
		s += sl;
	}
	return *p == '\0' && *s == '\0';
}

/* ---- addresses ---- */

int httpd_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *colon, *h = listen;
	size_t hl;
	if (listen == NULL || *listen == '\0') {
		snprintf(err, errlen, "listen address is empty (want host:port)");
		return -VIGIL_EINVAL;
	}
	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');
		if (rb == NULL || rb[1] != ':') {
			snprintf(err, errlen, "listen address '%.100s': want [v6-address]:port", listen);
			return -VIGIL_EINVAL;
		}
		h = listen + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL || memchr(listen, ':', (size_t)(colon - listen))) {
			snprintf(err, errlen, "listen address '%.100s': want host:port (IPv6 as [addr]:port)",
				 listen);
			return -VIGIL_EINVAL;
		}
		hl = (size_t)(colon - listen);
	}
	char *end;
	long v = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || v < 0 || v > 65535) {
		snprintf(err, errlen, "listen address '%.100s': port must be 0..65535", listen);
		return -VIGIL_EINVAL;
	}
	if (hl + 1 > hostlen) {
		snprintf(err, errlen, "listen address '%.100s': host too long", listen);
		return -VIGIL_EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)v;
	return 0;
}

static int sa_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
	}
	return 0;
}

int httpd_host_is_loopback(const char *host)
{
	struct addrinfo hints, *res = NULL;
	int ok = 1;
	if (host == NULL || *host == '\0' || strcmp(host, "*") == 0)
		return 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
		return 0;
	for (struct addrinfo *a = res; a; a = a->ai_next)
		ok &= sa_is_loopback(a->ai_addr);
	freeaddrinfo(res);
	return ok;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	snprintf(out, outlen, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
	}
}

/* Bind and listen on host:port; the socket or -1 with err. */
static int bind_listen(const char *addr, int *ipv6, char *err, size_t errlen)
{
	char host[256], pstr[16];
	int port, fd = -1, one = 1, gai;
	struct addrinfo hints, *res = NULL;

	if (httpd_parse_listen(addr, host, sizeof host, &port, err, errlen) != 0)
		return -1;
	snprintf(pstr, sizeof pstr, "%d", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	gai = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, pstr, &hints, &res);
	if (gai != 0 || res == NULL) {
		snprintf(err, errlen, "listen address '%.100s': %s", addr, gai_strerror(gai));
		return -1;
	}
	int e = 0;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
			e = errno;
			close(fd);
			fd = -1;
			continue;
		}
		*ipv6 = a->ai_family == AF_INET6;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot listen on %.100s: %s", addr, strerror(e));
	return fd;
}

/* ---- rate limit ---- */

/* Take one token for addr. 0 when allowed; else the seconds until one is
 * available (> 0). */
static double rl_take(struct httpd *h, const char *addr, double now)
{
	if (!(h->o.rate > 0))
		return 0;
	uint64_t k = hash_mix(hash_str(HASH_SEED, addr));
	struct rl_slot *victim = NULL;
	double burst = h->o.burst;
	double wait = 0;

	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < RL_PROBES; i++) {
		struct rl_slot *s = &h->rl[(k + (uint64_t)i) % RL_SLOTS];
		if (s->last > 0 && strcmp(s->addr, addr) == 0) {
			victim = s;
			break;
		}
		if (victim == NULL || s->last < victim->last)
			victim = s; /* a free slot (last 0) or the least recently seen */
	}
	if (victim->last <= 0 || strcmp(victim->addr, addr) != 0) {
		snprintf(victim->addr, sizeof victim->addr, "%s", addr);
		victim->tokens = burst;
		victim->last = now;
	}
	victim->tokens = fmin(burst, victim->tokens + (now - victim->last) * h->o.rate);
	victim->last = now;
	if (victim->tokens >= 1.0)
		victim->tokens -= 1.0;
	else
		wait = (1.0 - victim->tokens) / h->o.rate;
	pthread_mutex_unlock(&h->mu);
	return wait;
}

/* ---- the access handler ---- */

static void log_request(struct httpd *h, const struct hreq *q, const char *method, const char *url,
			const struct httpd_resp *r)
{
	char path[256];
	size_t j = 0;
	/* the path only, printable ASCII, no quotes: safe inside a key=value line */
	for (const char *p = url; *p && j + 1 < sizeof path; p++)
		path[j++] = (*p > ' ' && *p < 127 && *p != '"' && *p != '\\') ? *p : '?';
	path[j] = '\0';
	double ms = (clock_mono_real() - q->t0) * 1e3;
	int quiet = q->route && q->route->quiet && r->status < 400;
	if (quiet ? log_level >= LOG_LEVEL_DEBUG : log_level >= LOG_LEVEL_INFO)
		log_write(quiet ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, h->comp,
			  "event=request method=%.16s path=\"%s\" status=%d client=%s who=%s bytes=%zu "
			  "ms=%.1f",
			  method, path, r->status, q->client, r->who[0] ? r->who : "-", r->len, ms);
}

static enum MHD_Result send_resp(struct httpd *h, struct MHD_Connection *c, struct hreq *q,
				 const char *method, const char *url, struct httpd_resp *r)
{
	if (r->status < 100 || r->status > 599) {
		if (r->status != 0)
			LOG_ERR(h->comp, "event=bad_status status=%d path=\"%.100s\"", r->status, url);
		httpd_resp_error(r, 500, "internal error: the handler gave no answer");
	}
	struct MHD_Response *m =
		r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
			: MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (m == NULL) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL; /* the library owns it now */
	MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->content_type ? r->content_type : "application/json");
	int cache_set = 0; /* a handler's Cache-Control replaces the default no-store */
	for (size_t i = 0; i < r->nhdr; i++) {
		MHD_add_response_header(m, r->hdr[i].name, r->hdr[i].value);
		cache_set |= strcasecmp(r->hdr[i].name, MHD_HTTP_HEADER_CACHE_CONTROL) == 0;
	}
	if (!cache_set)
		MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* counted and logged before the client can have the answer */
	pthread_mutex_lock(&h->mu);
	h->st.requests++;
	h->st.by_code[r->status]++;
	if (r->status == 429 && q->route == NULL)
		h->st.rate_limited++;
	pthread_mutex_unlock(&h->mu);
	log_request(h, q, method, url, r);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, m);
	MHD_destroy_response(m);
	return ret;
}

/* The route for method + url: NULL with *status 404 or 405 (allow = the
 * methods that path has). */
static const struct httpd_route *route_of(struct httpd *h, const char *method, const char *url,
					  struct hreq *q, int *status, char *allow, size_t allowlen)
{
	size_t need = strlen(url) + 2;
	const struct httpd_route *found = NULL;
	int literal = 0;
	allow[0] = '\0';
	*status = 404;
	/* a path that a pattern without {params} matches belongs to that
	 * pattern alone (as OpenAPI matches concrete paths first) */
	for (size_t i = 0; i < h->o.nroutes && !literal; i++)
		literal = !strchr(h->o.routes[i].pattern, '{') && strcmp(h->o.routes[i].pattern, url) == 0;
	for (size_t i = 0; i < h->o.nroutes; i++) {
		const struct httpd_route *rt = &h->o.routes[i];
		if (literal && strchr(rt->pattern, '{'))
			continue;
		size_t n = need + strlen(rt->pattern);
		char *buf = malloc(n);
		struct httpd_req tmp = {0};
		if (buf == NULL)
			continue;
		if (!httpd_match(rt->pattern, url, buf, n, &tmp)) {
			free(buf);
			continue;
		}
		if (strcmp(rt->method, method) == 0 && found == NULL) {
			found = rt;
			q->match = buf;
			q->req.nparams = tmp.nparams;
			memcpy(q->req.pname, tmp.pname, sizeof tmp.pname);
			memcpy(q->req.pval, tmp.pval, sizeof tmp.pval);
			continue;
		}
		free(buf);
		if (!strstr(allow, rt->method)) {
			size_t l = strlen(allow);
			snprintf(allow + l, allowlen - l, "%s%s", l ? ", " : "", rt->method);
		}
		*status = 405;
	}
	return found;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size,
				  void **con_cls)
{
	struct httpd *h = cls;
	struct hreq *q = *con_cls;
	struct httpd_resp r;
	(void)version;

	memset(&r, 0, sizeof r);
	if (q == NULL) {
		/* headers are in: decide what can be decided before the body */
		if ((q = calloc(1, sizeof *q)) == NULL)
			return MHD_NO;
		*con_cls = q;
		q->t0 = clock_mono_real();
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		addr_text(ci ? ci->client_addr : NULL, q->client, sizeof q->client);
		double wait = rl_take(h, q->client, clock_mono_real());
		if (wait > 0) {
			char ra[32];
			snprintf(ra, sizeof ra, "%.0f", ceil(wait));
			httpd_resp_error(&r, 429, "too many requests from %s: retry after %s s", q->client,
					 ra);
			httpd_resp_header(&r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
			return send_resp(h, c, q, method, url, &r);
		}
		char allow[64];
		int st;
		q->route = route_of(h, method, url, q, &st, allow, sizeof allow);
		if (q->route == NULL) {
			if (st == 405) {
				httpd_resp_error(&r, 405, "method %.16s not allowed on %.200s (allowed: %s)",
						 method, url, allow);
				httpd_resp_header(&r, MHD_HTTP_HEADER_ALLOW, allow);
			} else {
				httpd_resp_error(&r, 404, "no such resource: %.200s", url);
			}
			return send_resp(h, c, q, method, url, &r);
		}
		const char *cl =
			MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > h->o.max_body) {
			httpd_resp_error(&r, 413, "request body over the limit of %zu bytes", h->o.max_body);
			q->too_large = 1;
			return send_resp(h, c, q, method, url, &r);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!q->too_large && q->len + *upload_size <= h->o.max_body) {
			size_t need = q->len + *upload_size + 1;
			if (need > q->cap) {
				size_t cap = q->cap ? q->cap : 1024;
				while (cap < need)
					cap *= 2;
				char *nb = realloc(q->body, cap);
				if (nb == NULL)
					return MHD_NO;
				q->body = nb;
				q->cap = cap;
			}
			memcpy(q->body + q->len, upload, *upload_size);
			q->len += *upload_size;
			q->body[q->len] = '\0';
		} else {
			q->too_large = 1; /* chunked past the limit: read and drop the rest */
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->too_large) {
		httpd_resp_error(&r, 413, "request body over the limit of %zu bytes", h->o.max_body);
		return send_resp(h, c, q, method, url, &r);
	}
	q->req.method = method;
	q->req.path = url;
	q->req.client = q->client;
	q->req.body = q->body ? q->body : "";
	q->req.bodylen = q->len;
	q->req.conn = c;
	q->route->fn(q->route->ctx, &q->req, &r);
	return send_resp(h, c, q, method, url, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode tc)
{
	struct hreq *q = *con_cls;
	(void)cls;
	(void)c;
	(void)tc;
	if (q == NULL)
		return;
	free(q->body);
	free(q->match);
	free(q);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages (fmt is its printf format). */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	LOG_WARN(h->comp, "event=server_message msg=\"%s\"", msg);
}

int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof *h);
	int ipv6 = 0;

	*out = NULL;
	if (h == NULL || (h->rl = calloc(RL_SLOTS, sizeof *h->rl)) == NULL) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->fd = -1;
	h->o = *o;
	h->comp = o->comp ? o->comp : "http";
	if (h->o.max_body == 0)
		h->o.max_body = 1 << 20;
	if (h->o.max_conns == 0)
		h->o.max_conns = 64;
	if (!(h->o.timeout > 0))
		h->o.timeout = 30;
	if (h->o.burst < 1)
		h->o.burst = fmax(1.0, h->o.rate);
	for (size_t i = 0; i < o->nroutes; i++)
		if (o->routes[i].pattern[0] != '/' || o->routes[i].fn == NULL) {
			snprintf(err, errlen, "route %zu: pattern must start with '/' and have a handler", i);
			httpd_stop(h);
			return -VIGIL_EINVAL;
		}
	if ((h->fd = bind_listen(o->listen, &ipv6, err, errlen)) < 0) {
		free(h->rl);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return -VIGIL_EIO;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(h->fd, (struct sockaddr *)&ss, &sl) == 0)
		h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			 MHD_USE_POLL | (ipv6 ? MHD_USE_IPv6 : 0);
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
				h, MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_CONNECTION_LIMIT,
				h->o.max_conns, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ceil(h->o.timeout),
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot start the HTTP server on %.100s", o->listen);
		close(h->fd);
		h->fd = -1;
		httpd_stop(h);
		return -VIGIL_EIO;
	}
	*out = h;
	return 0;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_get_stats(struct httpd *h, struct httpd_stats *out)
{
	pthread_mutex_lock(&h->mu);
	*out = h->st;
	pthread_mutex_unlock(&h->mu);
}

void httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->d) {
		MHD_stop_daemon(h->d); /* closes the listening socket it was given */
		h->fd = -1;
	}
	if (h->fd >= 0)
		close(h->fd);
	free(h->rl);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
