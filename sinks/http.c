/* Shared pieces of the network destinations: settings and one classified
 * libcurl POST (see sinks/http.h). */
#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/clock.h"
#include "core/params.h"
#include "core/secret.h"
#include "core/urlsig.h"
#include "sinks/http.h"

/* ---- settings ---- */

int dest_settings(const char *type, const struct kv *kv, size_t nkv, struct dest_key *keys, size_t nkeys,
		  char *err, size_t errlen)
{
	for (size_t j = 0; j < nkeys; j++)
		keys[j].value = keys[j].where = NULL;
	for (size_t i = 0; i < nkv; i++) {
		const char *where = kv[i].where ? kv[i].where : "?";
		const char *key = kv[i].key ? kv[i].key : "";
		struct dest_key *k = NULL;
		for (size_t j = 0; j < nkeys && !k; j++)
			if (!strcmp(keys[j].name, key))
				k = &keys[j];
		if (!k) {
			char known[256];
			size_t off = 0;
			known[0] = '\0';
			for (size_t j = 0; j < nkeys && off < sizeof known; j++)
				off += (size_t)snprintf(known + off, sizeof known - off, "%s%s",
							j ? ", " : "", keys[j].name);
			snprintf(err, errlen, "%s: %s destination: unknown setting '%s' (known: %s)", where,
				 type, key, known);
			return -VIGIL_EINVAL;
		}
		if (k->value) {
			snprintf(err, errlen, "%s: %s destination: setting '%s' given twice (first at %s)",
				 where, type, key, k->where);
			return -VIGIL_EINVAL;
		}
		if (!kv[i].value || !kv[i].value[0]) {
			snprintf(err, errlen, "%s: %s destination: setting '%s' is empty", where, type, key);
			return -VIGIL_EINVAL;
		}
		if (k->secret) {
			char sub[384];
			if (secret_check(kv[i].value, key, NULL, sub, sizeof sub) != 0) {
				snprintf(err, errlen, "%s: %s destination: %s", where, type, sub);
				return -VIGIL_EINVAL;
			}
			if (secret_literal_guard(kv[i].value, key, kv[i].where, err, errlen) != 0)
				return -VIGIL_EINVAL;
		}
		k->value = kv[i].value;
		k->where = where;
	}
	for (size_t j = 0; j < nkeys; j++) {
		if (keys[j].required && !keys[j].value) {
			snprintf(err, errlen, "%s destination: setting '%s' is required", type, keys[j].name);
			return -VIGIL_EINVAL;
		}
	}
	return 0;
}

int dest_duration(const char *type, const struct dest_key *k, double def, double *out, char *err,
		  size_t errlen)
{
	*out = def;
	if (!k->value)
		return 0;
	if (params_parse_duration(k->value, out) != 0 || !(*out > 0) || *out > 300) {
		snprintf(err, errlen,
			 "%s: %s destination: %s '%s' is not a duration above 0 and at most 300s "
			 "(e.g. 10s, 500ms)",
			 k->where, type, k->name, k->value);
		return -VIGIL_EINVAL;
	}
	return 0;
}

/* 1 when scheme is in the comma-separated list. */
static int scheme_ok(const char *scheme, const char *schemes)
{
	size_t n = strlen(scheme);
	for (const char *p = schemes; *p;) {
		size_t m = strcspn(p, ",");
		if (m == n && !strncmp(p, scheme, n))
			return 1;
		p += m;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The process's host allow-list (dest_allow_hosts_set): owned copies. */
static struct {
	int set;
	char **glob;
	size_t n;
	char *where;
} allow;

int dest_allow_hosts_set(char *const *globs, size_t n, const char *where)
{
	char **g = NULL;
	char *w = NULL;

	dest_allow_hosts_clear();
	if (globs == NULL)
		return 0;
	if ((n && (g = calloc(n, sizeof *g)) == NULL) || (w = strdup(where ? where : "the config")) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if ((g[i] = strdup(globs[i])) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(g[j]);
			goto nomem;
		}
	allow.glob = g;
	allow.n = n;
	allow.where = w;
	allow.set = 1;
	return 0;
nomem:
	free(g);
	free(w);
	return -VIGIL_ENOMEM;
}

void dest_allow_hosts_clear(void)
{
	for (size_t i = 0; i < allow.n; i++)
		free(allow.glob[i]);
	free(allow.glob);
	free(allow.where);
	memset(&allow, 0, sizeof allow);
}

int dest_host_allowed(const char *host)
{
	if (!allow.set)
		return 1;
	for (size_t i = 0; i < allow.n; i++)
		if (fnmatch(allow.glob[i], host, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

/* The host libcurl would connect to for url (its own parser, so userinfo,
 * brackets and escapes are read exactly as the request would), into host.
 * 0, or -VIGIL_EINVAL when libcurl cannot parse it. */
static int curl_host(const char *url, char *host, size_t hostlen)
{
	CURLU *u = curl_url();
	char *h = NULL;
	int rc = -VIGIL_EINVAL;

	if (u == NULL)
		return -VIGIL_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h != NULL && strlen(h) < hostlen) {
		snprintf(host, hostlen, "%s", h);
		/* [::1] -> ::1, as the list is written */
		size_t l = strlen(host);
		if (l > 1 && host[0] == '[' && host[l - 1] == ']') {
			memmove(host, host + 1, l - 2);
			host[l - 2] = '\0';
		}
		rc = 0;
	}
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

/* The allow-list check of an http(s) URL. The host is named (logs show a
 * URL's scheme://host too: the secret part of a webhook URL is its path or
 * query); the URL itself only when echo, a reference (env:/file:) by name. */
static int allow_check(const char *type, const struct dest_key *k, const char *where, const char *url,
		       int echo, char *err, size_t errlen)
{
	const char *ref = k->value && secret_is_ref(k->value) ? k->value : NULL;
	char host[256];

	if (!allow.set)
		return 0;
	if (curl_host(url, host, sizeof host) != 0) {
		snprintf(err, errlen, "%s: %s destination: %s%s%s%s: no host libcurl can read%s", where, type,
			 k->name, ref ? " (from " : "", ref ? ref : "", ref ? ")" : "",
			 echo ? "" : "; value not shown");
		return -VIGIL_EINVAL;
	}
	if (dest_host_allowed(host))
		return 0;
	snprintf(err, errlen,
		 "%s: %s destination: %s%s%s%s: host '%s' is not in destinations.allow_hosts (%s)", where,
		 type, k->name, ref ? " (from " : "", ref ? ref : "", ref ? ")" : "", host, allow.where);
	return -VIGIL_EINVAL;
}

int dest_url_default(const char *type, const struct dest_key *k, const char *where, const char *url,
		     char *err, size_t errlen)
{
	if (k->value)
		return 0; /* set: checked by dest_url / dest_url_resolved */
	return allow_check(type, k, where ? where : type, url, 1, err, errlen);
}

static int url_check(const char *type, const struct dest_key *k, const char *url, const char *schemes,
		     int echo, char *err, size_t errlen)
{
	char scheme[32], host[256];
	int port;

	if (secret_url_parts(url, scheme, sizeof scheme, host, sizeof host, &port) != 0) {
		if (echo)
			snprintf(err, errlen, "%s: %s destination: %s '%s' is not a URL (scheme://host...)",
				 k->where, type, k->name, url);
		else
			snprintf(err, errlen,
				 "%s: %s destination: %s (from %s) is not a URL (scheme://host...); "
				 "value not shown",
				 k->where, type, k->name, k->value);
		return -VIGIL_EINVAL;
	}
	if (!scheme_ok(scheme, schemes)) {
		snprintf(err, errlen, "%s: %s destination: %s: scheme '%s' is not one of %s", k->where, type,
			 k->name, scheme, schemes);
		return -VIGIL_EINVAL;
	}
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)
		return allow_check(type, k, k->where, url, echo, err, errlen);
	return 0;
}

int dest_url(const char *type, const struct dest_key *k, const char *schemes, char *err, size_t errlen)
{
	if (!k->value || secret_is_ref(k->value))
		return 0;
	return url_check(type, k, k->value, schemes, !k->secret, err, errlen);
}

int dest_url_resolved(const char *type, const struct dest_key *k, const char *url, const char *schemes,
		      char *err, size_t errlen)
{
	return url_check(type, k, url, schemes, 0, err, errlen);
}

/* ---- libcurl ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_init_rc == CURLE_OK ? 0 : -VIGIL_EIO;
}

void http_easy_defaults(void *easy, double connect_timeout, double timeout)
{
	CURL *h = easy;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(connect_timeout * 1000));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ceil(timeout * 1000));
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
}

void http_clean_text(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t n = 0;
	if (outlen == 0)
		return;
	for (size_t i = 0; i < inlen && n + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	/* do not end inside a UTF-8 sequence: drop a trailing incomplete one */
	if (n > 0 && n + 1 >= outlen && n < inlen) {
		size_t k = n;
		while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && ((unsigned char)out[k - 1] & 0x80)) {
			unsigned char lead = (unsigned char)out[k - 1];
			size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
			if (n - (k - 1) < need)
				n = k - 1;
		}
	}
	out[n] = '\0';
}

struct http_client {
	CURL *h;
	struct curl_slist *headers;
	const char *scrub[HTTP_MAX_SCRUB];
	int nscrub;
	char body[HTTP_BODY_KEEP + 1];
	size_t body_len;
	char retry_after[128];
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_client *c = ud;
	size_t n = size * nmemb, room = HTTP_BODY_KEEP - c->body_len;
	if (room > 0) {
		size_t take = n < room ? n : room;
		memcpy(c->body + c->body_len, ptr, take);
		c->body_len += take;
		c->body[c->body_len] = '\0';
	}
	return n; /* the rest is read and discarded */
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_client *c = ud;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	if (n > sizeof name - 1 && !strncasecmp(buf, name, sizeof name - 1)) {
		const char *v = buf + sizeof name - 1;
		size_t vl = n - (sizeof name - 1);
		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl >= sizeof c->retry_after)
			vl = sizeof c->retry_after - 1;
		memcpy(c->retry_after, v, vl);
		c->retry_after[vl] = '\0';
	} else if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
		c->retry_after[0] = '\0'; /* a new response (e.g. after 100 Continue) */
	}
	return n;
}

int http_client_new(double connect_timeout, double timeout, struct http_client **out, char *err,
		    size_t errlen)
{
	struct http_client *c;

	*out = NULL;
	if (http_global_init() != 0) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return -VIGIL_EIO;
	}
	c = calloc(1, sizeof *c);
	if (!c || !(c->h = curl_easy_init())) {
		free(c);
		snprintf(err, errlen, "out of memory (libcurl handle)");
		return -VIGIL_ENOMEM;
	}
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->headers) {
		/* no "Expect: 100-continue" round trip on larger bodies */
		struct curl_slist *t = curl_slist_append(c->headers, "Expect:");
		if (t)
			c->headers = t;
		else {
			curl_slist_free_all(c->headers);
			c->headers = NULL;
		}
	}
	if (!c->headers) {
		http_client_free(c);
		snprintf(err, errlen, "out of memory (HTTP headers)");
		return -VIGIL_ENOMEM;
	}
	if (connect_timeout > timeout)
		connect_timeout = timeout;
	http_easy_defaults(c->h, connect_timeout, timeout);
	curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	curl_slist_free_all(c->headers);
	free(c);
}

void http_client_scrub(struct http_client *c, const char *secret)
{
	if (c->nscrub < HTTP_MAX_SCRUB && secret)
		c->scrub[c->nscrub++] = secret;
}

const char *http_last_body(const struct http_client *c)
{
	return c->body;
}

enum sink_verdict http_verdict(long status)
{
	if (status >= 200 && status < 300)
		return SINK_OK;
	if (status == 408 || status == 429 || status >= 500 || status <= 0)
		return SINK_RETRY;
	return SINK_DROP; /* other 4xx; 1xx/3xx as final answers are misconfiguration */
}

double http_retry_after(const char *value, double now)
{
	char *end;
	double d;

	if (!value)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value)
		return 0;
	if (isdigit((unsigned char)*value)) {
		d = strtod(value, &end);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == '\0' && isfinite(d))
			return d > 0 ? d : 0;
	}
	/* HTTP-date (IMF-fixdate, RFC 850 and asctime forms) */
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return 0;
	d = (double)t - now;
	return d > 0 ? d : 0;
}

/* Scrub every registered secret out of res->detail. */
static void scrub_detail(const struct http_client *c, struct sink_result *res)
{
	for (int i = 0; i < c->nscrub; i++)
		secret_scrub(res->detail, c->scrub[i]);
}

void http_post_json(struct http_client *c, const char *url, const char *body, size_t len,
		    struct sink_result *res)
{
	char origin[300], text[HTTP_BODY_KEEP + 1];
	long status = 0;
	CURLcode rc;

	secret_url_origin(url, origin, sizeof origin);
	c->body[0] = '\0';
	c->body_len = 0;
	c->retry_after[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK) {
		/* Network error or timeout: retry. A URL libcurl cannot use at
		 * all will not get better: drop. */
		enum sink_verdict v = (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
					      ? SINK_DROP
					      : SINK_RETRY;
		sink_result_set(res, v, 0, "POST %s: %s", origin,
				c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		scrub_detail(c, res);
		return;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	http_clean_text(text, sizeof text, c->body, c->body_len);
	for (int i = 0; i < c->nscrub; i++)
		secret_scrub(text, c->scrub[i]); /* the body may be cut inside a secret */
	enum sink_verdict v = http_verdict(status);
	if (v == SINK_OK)
		sink_result_set(res, v, (int)status, "HTTP %ld", status);
	else if (status >= 300 && status < 400)
		sink_result_set(res, v, (int)status, "HTTP %ld from %s (redirects are not followed): %s",
				status, origin, text);
	else
		sink_result_set(res, v, (int)status, "HTTP %ld from %s: %s", status, origin, text);
	if (v == SINK_RETRY)
		res->retry_after = http_retry_after(c->retry_after, clock_wall());
	scrub_detail(c, res);
}

void http_post_json_idem(struct http_client *c, const char *url, const char *body, size_t len,
			 const char *idem_key, struct sink_result *res)
{
	char h[200];
	if (idem_key == NULL || idem_key[0] == '\0') {
		http_post_json(c, url, body, len, res);
		return;
	}
	int n = snprintf(h, sizeof h, "Idempotency-Key: %s", idem_key);
	for (size_t i = 17; n > 0 && i < (size_t)n && i < sizeof h - 1; i++)
		if (h[i] <= ' ' || h[i] > '~')
			h[i] = '_';
	/* a copy of the client's headers plus this one, for this request only */
	struct curl_slist *l = NULL, *t;
	for (const struct curl_slist *x = c->headers; x; x = x->next) {
		if ((t = curl_slist_append(l, x->data)) == NULL)
			goto nomem;
		l = t;
	}
	if ((t = curl_slist_append(l, h)) == NULL)
		goto nomem;
	l = t;
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, l);
	http_post_json(c, url, body, len, res);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
	curl_slist_free_all(l);
	return;
nomem:
	curl_slist_free_all(l);
	sink_result_set(res, SINK_RETRY, 0, "out of memory building the request headers");
}

/* ---- rendering shared by the destinations ---- */

const char *dest_severity(const char *action)
{
	if (action && !strcmp(action, "page"))
		return "critical";
	if (action && !strcmp(action, "log"))
		return "info";
	return "warning";
}

json_t *dest_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

void dest_utf8_cut(char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return;
	n = max;
	/* back off continuation bytes so the cut lands before a lead byte */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

/* Append "<sep><name> <value>" when v is finite. */
static void why_item(char *out, size_t outlen, size_t *off, const char *name, double v)
{
	if (!isfinite(v) || *off >= outlen)
		return;
	*off += (size_t)snprintf(out + *off, outlen - *off, "%s%s %.6g", *off ? ", " : "", name, v);
}

void dest_why(const struct alert_event *ev, char *out, size_t outlen)
{
	size_t off = 0;
	out[0] = '\0';
	why_item(out, outlen, &off, "observed", ev->value);
	why_item(out, outlen, &off, "expected", ev->expected);
	if ((isfinite(ev->lower) || isfinite(ev->upper)) && off < outlen) {
		char lo[32] = "-inf", hi[32] = "+inf";
		if (isfinite(ev->lower))
			snprintf(lo, sizeof lo, "%.6g", ev->lower);
		if (isfinite(ev->upper))
			snprintf(hi, sizeof hi, "%.6g", ev->upper);
		off += (size_t)snprintf(out + off, outlen - off, "%sband [%s, %s]", off ? ", " : "", lo, hi);
	}
	why_item(out, outlen, &off, "score", ev->score);
	if (off < outlen && (isfinite(ev->threshold) || ev->direction))
		off += (size_t)snprintf(out + off, outlen - off, "%s(threshold %.6g, direction %s)",
					off ? " " : "", ev->threshold,
					ev->direction ? ev->direction : "both");
	(void)off;
}

void dest_summary(const struct alert_event *ev, char *out, size_t outlen)
{
	if (ev->summary && ev->summary[0]) {
		snprintf(out, outlen, "%s", ev->summary);
		return;
	}
	char v[64] = "", e[64] = "";
	if (isfinite(ev->value))
		snprintf(v, sizeof v, ": observed %.6g", ev->value);
	if (isfinite(ev->expected))
		snprintf(e, sizeof e, "%sexpected %.6g", v[0] ? ", " : ": ", ev->expected);
	snprintf(out, outlen, "%s on %s%s%s", ev->rule ? ev->rule : "?", ev->series ? ev->series : "?", v, e);
}

static int set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v ? v : ""));
}

json_t *dest_am_labels(const struct notification *n)
{
	const struct alert_event *ev = n->ev;
	json_t *o = json_object();
	int rc = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < ev->nlabels && i < ALERT_MAX_LABELS; i++)
		if (ev->labels[i].key && ev->labels[i].value)
			rc |= set_str(o, ev->labels[i].key, ev->labels[i].value);
	rc |= set_str(o, "alertname", ev->rule);
	rc |= set_str(o, "owner", n->owner ? n->owner : ev->owner);
	rc |= set_str(o, "series", ev->series);
	if (!json_object_get(o, "severity"))
		rc |= set_str(o, "severity", dest_severity(ev->action));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *dest_am_annotations(const struct notification *n)
{
	char sum[1100], why[400];
	json_t *o = json_object();
	int rc = 0;
	if (!o)
		return NULL;
	dest_summary(n->ev, sum, sizeof sum);
	dest_why(n->ev, why, sizeof why);
	rc |= set_str(o, "summary", sum);
	rc |= set_str(o, "description", why);
	if (n->ev->runbook_url && n->ev->runbook_url[0])
		rc |= set_str(o, "runbook_url", n->ev->runbook_url);
	if (n->episode)
		rc |= set_str(o, "episode", n->episode);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void dest_generator_url(const char *external_url, const char *rule, char *out, size_t outlen)
{
	size_t off, bl;
	if (!external_url || !external_url[0] || outlen == 0) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	bl = strlen(external_url);
	while (bl > 0 && external_url[bl - 1] == '/')
		bl--;
	off = (size_t)snprintf(out, outlen, "%.*s/rules/", (int)bl, external_url);
	for (const char *p = rule ? rule : ""; *p && off + 4 < outlen; p++) {
		unsigned char ch = (unsigned char)*p;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			out[off++] = (char)ch;
		else
			off += (size_t)snprintf(out + off, outlen - off, "%%%02X", ch);
	}
	if (off < outlen)
		out[off] = '\0';
}

void dest_chart_url(const char *external_url, const char *url_key, const struct notification *n, char *out,
		    size_t outlen)
{
	size_t bl;
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (!external_url || !external_url[0] || !n->episode || strlen(n->episode) != 16 ||
	    !(n->ev->nwindow || n->ev->window_json))
		return;
	bl = strlen(external_url);
	while (bl > 0 && external_url[bl - 1] == '/')
		bl--;
	if ((size_t)snprintf(out, outlen, "%.*s/api/v1/alerts/%s/chart.png", (int)bl, external_url,
			     n->episode) >= outlen)
		out[0] = '\0';
	char sig[40];
	long long exp = (long long)(clock_wall() + URLSIG_TTL);
	if (out[0] && url_key && urlsig_make(url_key, n->episode, exp, sig, sizeof sig) == 0) {
		size_t len = strlen(out);
		if ((size_t)snprintf(out + len, outlen - len, "?exp=%lld&sig=%s", exp, sig) >= outlen - len)
			out[0] = '\0';
	}
}
