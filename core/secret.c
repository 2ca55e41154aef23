/* Secrets in settings (core/secret.h): env:NAME, file:PATH or a literal;
 * errors that never carry the value; URLs rendered without their secrets. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

#include "core/secret.h"

#define SECRET_LINE_MAX 8192 /* longest first line read from a file, with its newline */

static const char *nz(const char *s, const char *def)
{
	return s ? s : def;
}

/* A setting's name for messages: "where: setting 'key'" or "setting 'key'". */
static void setting_name(char *out, size_t outlen, const char *key, const char *where)
{
	if (where && *where)
		snprintf(out, outlen, "%s: setting '%s'", where, nz(key, "?"));
	else
		snprintf(out, outlen, "setting '%s'", nz(key, "?"));
}

static int valid_env_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

int secret_is_ref(const char *value)
{
	return value && (!strncmp(value, "env:", 4) || !strncmp(value, "file:", 5));
}

int secret_check(const char *value, const char *key, const char *where, char *err, size_t errlen)
{
	char name[256];

	setting_name(name, sizeof name, key, where);
	if (!value || !*value) {
		snprintf(err, errlen, "%s is empty", name);
		return -VIGIL_EINVAL;
	}
	if (!strncmp(value, "env:", 4) && !valid_env_name(value + 4)) {
		/* The text after env: is meant to be a name; if it is not, it
		 * may be a pasted secret, so it is not echoed. */
		snprintf(err, errlen,
			 "%s: 'env:' must be followed by an environment variable name "
			 "(letters, digits, '_')",
			 name);
		return -VIGIL_EINVAL;
	}
	if (!strncmp(value, "file:", 5) && !value[5]) {
		snprintf(err, errlen, "%s: 'file:' must be followed by a path", name);
		return -VIGIL_EINVAL;
	}
	return 0;
}

/* The first line of path into a new string, CR/LF stripped. */
static int read_first_line(const char *path, const char *name, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot read file '%s': %s", name, path, strerror(errno));
		return -VIGIL_EINVAL;
	}
	line = malloc(SECRET_LINE_MAX);
	if (!line) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", name);
		return -VIGIL_ENOMEM;
	}
	if (!fgets(line, SECRET_LINE_MAX, f))
		line[0] = '\0';
	fclose(f);
	n = strlen(line);
	if (n == SECRET_LINE_MAX - 1 && line[n - 1] != '\n') {
		secret_free(line);
		snprintf(err, errlen, "%s: first line of file '%s' is longer than %d bytes", name, path,
			 SECRET_LINE_MAX - 2);
		return -VIGIL_EINVAL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0) {
		secret_free(line);
		snprintf(err, errlen, "%s: first line of file '%s' is empty", name, path);
		return -VIGIL_EINVAL;
	}
	*out = line;
	return 0;
}

int secret_resolve(const char *value, const char *key, const char *where, char **out, char *err,
		   size_t errlen)
{
	char name[256];
	int rc = secret_check(value, key, where, err, errlen);

	*out = NULL;
	if (rc)
		return rc;
	setting_name(name, sizeof name, key, where);
	if (!strncmp(value, "file:", 5))
		return read_first_line(value + 5, name, out, err, errlen);
	if (!strncmp(value, "env:", 4)) {
		const char *v = getenv(value + 4);
		if (!v || !*v) {
			snprintf(err, errlen, "%s: environment variable %s is %s", name, value + 4,
				 v ? "empty" : "not set");
			return -VIGIL_EINVAL;
		}
		value = v;
	}
	*out = strdup(value);
	if (!*out) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -VIGIL_ENOMEM;
	}
	return 0;
}

void secret_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n); /* unlike memset, never removed as a dead store */
}

void secret_free(char *s)
{
	if (!s)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

void secret_scrub(char *text, const char *secret)
{
	size_t sl;
	char *p;

	if (!text || !secret || (sl = strlen(secret)) < 4)
		return;
	while ((p = strstr(text, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + sl, strlen(p + sl) + 1);
	}
	/* a text cut short may end with the start of the secret */
	size_t tl = strlen(text);
	for (size_t k = (tl < sl ? tl : sl - 1); k >= 4; k--) {
		if (!memcmp(text + tl - k, secret, k)) {
			memcpy(text + tl - k, "***", 4);
			break;
		}
	}
}

int secret_url_parts(const char *url, char *scheme, size_t schemelen, char *host, size_t hostlen, int *port)
{
	const char *sep, *auth, *end, *at, *h, *hend, *colon = NULL;
	size_t n;

	*port = 0;
	if (!url || !(sep = strstr(url, "://")) || sep == url)
		return -VIGIL_EINVAL;
	for (const char *p = url; p < sep; p++)
		if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
			return -VIGIL_EINVAL;
	n = (size_t)(sep - url);
	if (n >= schemelen)
		return -VIGIL_EINVAL;
	for (size_t i = 0; i < n; i++)
		scheme[i] = (char)tolower((unsigned char)url[i]);
	scheme[n] = '\0';
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	/* userinfo ends at the last '@' of the authority */
	h = auth;
	for (at = auth; at < end; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(end - h));
		if (!hend)
			return -VIGIL_EINVAL;
		hend++;
		if (hend < end && *hend != ':')
			return -VIGIL_EINVAL;
		colon = hend < end ? hend : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hend = colon ? colon : end;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= hostlen)
		return -VIGIL_EINVAL;
	for (const char *p = h; p < hend; p++)
		if ((unsigned char)*p <= ' ')
			return -VIGIL_EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	if (colon && colon + 1 < end) {
		long v = 0;
		for (const char *p = colon + 1; p < end; p++) {
			if (!isdigit((unsigned char)*p) || (v = v * 10 + (*p - '0')) > 65535)
				return -VIGIL_EINVAL;
		}
		if (v == 0)
			return -VIGIL_EINVAL;
		*port = (int)v;
	} else if (colon) {
		return -VIGIL_EINVAL; /* "host:" with no port */
	}
	return 0;
}

int secret_url_origin(const char *url, char *out, size_t outlen)
{
	char scheme[32], host[256];
	int port;

	if (secret_url_parts(url, scheme, sizeof scheme, host, sizeof host, &port) != 0) {
		snprintf(out, outlen, "(unparseable URL)");
		return -VIGIL_EINVAL;
	}
	if (port)
		snprintf(out, outlen, "%s://%s:%d", scheme, host, port);
	else
		snprintf(out, outlen, "%s://%s", scheme, host);
	return 0;
}

int secret_literal_is_credential(const char *value, const char *key)
{
	static const char *const cred_keys[] = {"password", "passwd",  "token",  "routing_key",
						"secret",   "api_key", "apikey", "integration_key"};
	static const char *const cred_params[] = {"token",    "key",    "secret",  "sig", "signature",
						  "password", "apikey", "api_key", "auth"};
	if (value == NULL || secret_is_ref(value))
		return 0;
	for (size_t i = 0; i < sizeof cred_keys / sizeof cred_keys[0]; i++)
		if (key && strcasecmp(key, cred_keys[i]) == 0)
			return 1;
	const char *auth = strstr(value, "://");
	if (auth == NULL)
		return 0;
	auth += 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', alen);
	if (at && memchr(auth, ':', (size_t)(at - auth)))
		return 1; /* user:password@host */
	if (strncasecmp(auth, "hooks.slack.com", 15) == 0)
		return 1; /* the path is the token */
	for (const char *q = strchr(value, '?'); q; q = strchr(q + 1, '&')) {
		const char *name = q + 1;
		size_t nlen = strcspn(name, "=&#");
		for (size_t i = 0; i < sizeof cred_params / sizeof cred_params[0]; i++)
			if (nlen == strlen(cred_params[i]) && strncasecmp(name, cred_params[i], nlen) == 0)
				return 1;
	}
	return 0;
}

int secret_literal_guard(const char *value, const char *key, const char *where, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;

	if (where == NULL || !secret_literal_is_credential(value, key))
		return 0;
	/* where = PATH:LINE:COL */
	snprintf(path, sizeof path, "%s", where);
	for (int k = 0; k < 2; k++) {
		char *c = strrchr(path, ':');
		if (c == NULL || c[1] < '0' || c[1] > '9')
			return 0;
		*c = '\0';
	}
	if (stat(path, &st) != 0 || !(st.st_mode & S_IROTH))
		return 0;
	snprintf(
		err, errlen,
		"%s: %s holds a literal credential but %s is readable by every user (mode %04o): write it as "
		"env:NAME or file:PATH, or chmod o-r %s",
		where, key ? key : "a setting", path, (unsigned)(st.st_mode & 07777), path);
	return -VIGIL_EINVAL;
}
