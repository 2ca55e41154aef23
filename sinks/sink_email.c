/* "email" destination: one message per notification over SMTP (libcurl),
 * MIME multipart/alternative with a plain-text part and an HTML part (the
 * message: sinks/sink_email_msg.c). One mail per alert ("[FIRING] <rule>
 * on <series>", RESOLVED, ACKNOWLEDGED) or, for an owner that groups, one
 * per group notification ("[FIRING:N] <group labels> (<reason>)").
 *
 * Settings:
 *   smtp      (required) smtp://host[:port] (STARTTLS as `starttls` says) or
 *             smtps://host[:port] (TLS from the start); no credentials in it
 *   from      (required) sender address, "addr@x" or "Name <addr@x>"
 *   to        (required) one address or several separated by commas (the
 *             owners file takes scalars only, so no YAML list)
 *   username, password  (optional, secrets: env:NAME / file:PATH) SMTP AUTH
 *   starttls  try (default) | required | off   (smtp:// only)
 *   timeout   (duration, default 10s)
 *
 * Verdicts: accepted (250) -> SINK_OK; an SMTP 4xx reply, a network error or
 * a timeout -> SINK_RETRY; a 5xx reply (unknown recipient, refused login,
 * message rejected) -> SINK_DROP. The detail names smtp://host:port and the
 * reply; never the password.
 * @thread see sinks/sink.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/secret.h"
#include "sinks/http.h"
#include "sinks/sink_email.h"

#define EM_TYPE     "email"
#define EM_MAX_RCPT 32

enum { EK_SMTP, EK_FROM, EK_TO, EK_USER, EK_PASS, EK_STARTTLS, EK_TIMEOUT, EK_N };

struct email_sink {
	CURL *h;
	struct curl_slist *rcpt;
	char *url, *from_hdr, *to_hdr, *user, *pass;
	char errbuf[CURL_ERROR_SIZE];
	/* the message being uploaded */
	const char *msg;
	size_t msg_len, msg_off;
};

/* The bare address of "Name <a@b>" or "a@b" into out; -1 if it is not one. */
static int bare_address(const char *s, size_t n, char *out, size_t outlen)
{
	const char *lt = memchr(s, '<', n), *b = s, *e = s + n;
	if (lt) {
		const char *gt = memchr(lt, '>', (size_t)(e - lt));
		if (!gt)
			return -1;
		b = lt + 1;
		e = gt;
	}
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e == b || (size_t)(e - b) >= outlen || !memchr(b, '@', (size_t)(e - b)))
		return -1;
	for (const char *p = b; p < e; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',')
			return -1;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
	return 0;
}

/* Validate from/to; with rcpt non-NULL also build the RCPT list. */
static int em_addresses(const struct dest_key *k, struct curl_slist **rcpt, char *err, size_t errlen)
{
	char a[320];
	size_t count = 0;
	if (strpbrk(k[EK_FROM].value, "\r\n") || strpbrk(k[EK_TO].value, "\r\n") ||
	    bare_address(k[EK_FROM].value, strlen(k[EK_FROM].value), a, sizeof a) != 0) {
		snprintf(err, errlen,
			 "%s: email destination: from '%s' is not an address (a@b or Name <a@b>)",
			 k[EK_FROM].where, k[EK_FROM].value);
		return -VIGIL_EINVAL;
	}
	for (const char *p = k[EK_TO].value; *p;) {
		size_t n = strcspn(p, ",");
		if (bare_address(p, n, a, sizeof a) != 0 || ++count > EM_MAX_RCPT) {
			snprintf(err, errlen,
				 "%s: email destination: to: '%.*s' is not an address (a@b or Name <a@b>, "
				 "at most %d, separated by commas)",
				 k[EK_TO].where, (int)n, p, EM_MAX_RCPT);
			return -VIGIL_EINVAL;
		}
		if (rcpt) {
			struct curl_slist *t = curl_slist_append(*rcpt, a);
			if (!t) {
				snprintf(err, errlen, "email destination: out of memory");
				return -VIGIL_ENOMEM;
			}
			*rcpt = t;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int em_settings(const struct kv *kv, size_t nkv, struct dest_key *k, double *timeout, long *usessl,
		       char *err, size_t errlen)
{
	char scheme[16], host[256];
	int rc, port;
	k[EK_SMTP] = (struct dest_key){.name = "smtp", .required = 1};
	k[EK_FROM] = (struct dest_key){.name = "from", .required = 1};
	k[EK_TO] = (struct dest_key){.name = "to", .required = 1};
	k[EK_USER] = (struct dest_key){.name = "username", .secret = 1};
	k[EK_PASS] = (struct dest_key){.name = "password", .secret = 1};
	k[EK_STARTTLS] = (struct dest_key){.name = "starttls"};
	k[EK_TIMEOUT] = (struct dest_key){.name = "timeout"};
	if ((rc = dest_settings(EM_TYPE, kv, nkv, k, EK_N, err, errlen)) != 0 ||
	    (rc = dest_url(EM_TYPE, &k[EK_SMTP], "smtp,smtps", err, errlen)) != 0 ||
	    (rc = dest_duration(EM_TYPE, &k[EK_TIMEOUT], 10, timeout, err, errlen)) != 0 ||
	    (rc = em_addresses(k, NULL, err, errlen)) != 0)
		return rc;
	secret_url_parts(k[EK_SMTP].value, scheme, sizeof scheme, host, sizeof host, &port);
	if (strchr(k[EK_SMTP].value, '@')) {
		snprintf(err, errlen,
			 "%s: email destination: smtp must not carry credentials or addresses "
			 "(use username/password)",
			 k[EK_SMTP].where);
		return -VIGIL_EINVAL;
	}
	if (!k[EK_USER].value != !k[EK_PASS].value) {
		snprintf(err, errlen, "%s: email destination: username and password go together",
			 (k[EK_USER].value ? k[EK_USER] : k[EK_PASS]).where);
		return -VIGIL_EINVAL;
	}
	const char *st = k[EK_STARTTLS].value ? k[EK_STARTTLS].value : "try";
	if (!strcmp(st, "try"))
		*usessl = CURLUSESSL_TRY;
	else if (!strcmp(st, "required"))
		*usessl = CURLUSESSL_ALL;
	else if (!strcmp(st, "off"))
		*usessl = CURLUSESSL_NONE;
	else {
		snprintf(err, errlen, "%s: email destination: starttls '%s' is not one of try, required, off",
			 k[EK_STARTTLS].where, st);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int em_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	struct dest_key k[EK_N];
	double timeout;
	long usessl;
	return em_settings(kv, nkv, k, &timeout, &usessl, err, errlen);
}

static void em_destroy(void *priv)
{
	struct email_sink *s = priv;
	if (!s)
		return;
	if (s->h)
		curl_easy_cleanup(s->h);
	curl_slist_free_all(s->rcpt);
	free(s->url);
	free(s->from_hdr);
	free(s->to_hdr);
	secret_free(s->user);
	secret_free(s->pass);
	free(s);
}

static size_t em_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct email_sink *s = ud;
	size_t room = size * nitems, left = s->msg_len - s->msg_off;
	size_t n = left < room ? left : room;
	memcpy(buf, s->msg + s->msg_off, n);
	s->msg_off += n;
	return n;
}

static int em_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		     size_t errlen)
{
	struct dest_key k[EK_N];
	struct email_sink *s;
	double timeout;
	long usessl;
	char sub[384], from[320];
	int rc;

	(void)env;
	if ((rc = em_settings(kv, nkv, k, &timeout, &usessl, err, errlen)) != 0)
		return rc;
	if (http_global_init() != 0) {
		snprintf(err, errlen, "email destination: libcurl initialisation failed");
		return -VIGIL_EIO;
	}
	if (!(s = calloc(1, sizeof *s))) {
		snprintf(err, errlen, "email destination: out of memory");
		return -VIGIL_ENOMEM;
	}
	if (k[EK_USER].value && ((rc = secret_resolve(k[EK_USER].value, "username", k[EK_USER].where,
						      &s->user, sub, sizeof sub)) != 0 ||
				 (rc = secret_resolve(k[EK_PASS].value, "password", k[EK_PASS].where,
						      &s->pass, sub, sizeof sub)) != 0)) {
		snprintf(err, errlen, "email destination: %s", sub);
		goto fail;
	}
	if ((rc = em_addresses(k, &s->rcpt, err, errlen)) != 0)
		goto fail;
	bare_address(k[EK_FROM].value, strlen(k[EK_FROM].value), from, sizeof from);
	s->url = strdup(k[EK_SMTP].value);
	s->from_hdr = strdup(k[EK_FROM].value);
	s->to_hdr = strdup(k[EK_TO].value);
	if (!s->url || !s->from_hdr || !s->to_hdr || !(s->h = curl_easy_init())) {
		snprintf(err, errlen, "email destination: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	http_easy_defaults(s->h, timeout < 5 ? timeout : 5, timeout);
	curl_easy_setopt(s->h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(s->h, CURLOPT_URL, s->url);
	curl_easy_setopt(s->h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(s->h, CURLOPT_MAIL_RCPT, s->rcpt);
	curl_easy_setopt(s->h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->h, CURLOPT_READFUNCTION, em_read);
	curl_easy_setopt(s->h, CURLOPT_READDATA, s);
	curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, s->errbuf);
	if (!strncmp(s->url, "smtp:", 5))
		curl_easy_setopt(s->h, CURLOPT_USE_SSL, usessl);
	if (s->user) {
		curl_easy_setopt(s->h, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(s->h, CURLOPT_PASSWORD, s->pass);
	}
	*priv = s;
	return 0;
fail:
	em_destroy(s);
	return rc;
}

static void em_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct email_sink *s = priv;
	struct buf m = {0};
	char origin[300];
	long code = 0;
	CURLcode rc;

	sink_email_message(s->from_hdr, s->to_hdr, n, clock_wall(), &m);
	if (!buf_ok(&m)) {
		buf_free(&m);
		sink_result_set(res, SINK_RETRY, 0, "email: out of memory building the message");
		return;
	}
	s->msg = (const char *)m.data;
	s->msg_len = m.len;
	s->msg_off = 0;
	s->errbuf[0] = '\0';
	curl_easy_setopt(s->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m.len);
	rc = curl_easy_perform(s->h);
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	s->msg = NULL;
	buf_free(&m);
	secret_url_origin(s->url, origin, sizeof origin);
	if (rc == CURLE_OK) {
		sink_result_set(res, SINK_OK, (int)code, "SMTP %ld", code);
		return;
	}
	enum sink_verdict v = code >= 500 || rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
					      rc == CURLE_UNSUPPORTED_PROTOCOL
				      ? SINK_DROP
				      : SINK_RETRY;
	sink_result_set(res, v, (int)code, "SMTP %s: %s%s", origin,
			s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc), code ? "" : " (no reply code)");
	secret_scrub(res->detail, s->pass);
	secret_scrub(res->detail, s->user);
}

const struct sink_type sink_type_email = {
	.name = EM_TYPE,
	.summary =
		"SMTP email, text and HTML (settings: smtp, from, to, username, password, starttls, timeout)",
	.create = em_create,
	.check = em_check,
	.send = em_send,
	.flush = NULL,
	.destroy = em_destroy,
	.groups = 1,
};
