/* The `http:` map of the config file (core/config.h struct http_cfg),
 * strictly: unknown keys, wrong kinds and out-of-range numbers are errors
 * "file:line:column: message". Tokens are references (env:VAR, file:PATH)
 * checked for form only; they are read when the service starts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/secret.h"
#include "core/yaml.h"

static const char *const http_keys[] = {"listen",    "tokens",     "open_reads", "max_body",     "rate_limit",
					"audit_log", "public_url", "url_key",    "max_silences", NULL};
enum { HK_LISTEN, HK_TOKENS, HK_OPEN, HK_BODY, HK_RATE, HK_AUDIT, HK_PUBLIC, HK_URLKEY, HK_MAXSIL, HK_N };

static const char *const token_keys[] = {"team", "admin", "token", NULL};
enum { TOK_TEAM, TOK_ADMIN, TOK_TOKEN, TOK_N };

static const char *const rate_keys[] = {"rate", "burst", NULL};
enum { RK_RATE, RK_BURST, RK_N };

void http_cfg_init(struct http_cfg *h)
{
	memset(h, 0, sizeof *h);
	h->open_reads = -1;
	h->rate = -1;
	h->burst = -1;
}

static int parse_bool(struct vy_ctx *y, const yaml_node_t *n, const char *what, int *out)
{
	const char *s;
	int rc = vy_text(y, n, what, &s);
	if (rc != 0)
		return rc;
	if (strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0)
		*out = 0;
	else
		return vy_fail(y, n, "%s: want true or false, got '%s'", what, s);
	return 0;
}

static int parse_token(struct vy_ctx *y, const yaml_node_t *n, struct http_token *t)
{
	yaml_node_t *v[TOK_N], *k[TOK_N];
	char err[256];
	int rc;

	if ((rc = vy_map_fields(y, n, "http.tokens entry", token_keys, v, k)) != 0)
		return rc;
	if ((t->where = vy_where(y, n)) == NULL)
		return vy_nomem(y);
	if (v[TOK_ADMIN] && (rc = parse_bool(y, v[TOK_ADMIN], "http.tokens.admin", &t->admin)) != 0)
		return rc;
	if (v[TOK_TEAM] && (rc = vy_dup(y, v[TOK_TEAM], "http.tokens.team", 1, &t->team)) != 0)
		return rc;
	if ((t->team != NULL) == (t->admin != 0))
		return vy_fail(y, n, "http.tokens entry: give exactly one of team: NAME or admin: true");
	if (v[TOK_TOKEN] == NULL)
		return vy_fail(y, n, "http.tokens entry: token is required (env:VAR or file:PATH)");
	if ((rc = vy_dup(y, v[TOK_TOKEN], "http.tokens.token", 1, &t->token)) != 0)
		return rc;
	if (!secret_is_ref(t->token))
		return vy_fail(y, v[TOK_TOKEN],
			       "http.tokens.token: write env:VAR or file:PATH, never the token itself");
	if (secret_check(t->token, "http.tokens.token", NULL, err, sizeof err) != 0)
		return vy_fail(y, v[TOK_TOKEN], "%s", err);
	return 0;
}

static int parse_tokens(struct vy_ctx *y, const yaml_node_t *n, struct http_cfg *h)
{
	int rc;
	if ((rc = vy_expect(y, n, YAML_SEQUENCE_NODE, "http.tokens")) != 0)
		return rc;
	size_t cnt = vy_len(n);
	if ((h->tokens = calloc(cnt ? cnt : 1, sizeof *h->tokens)) == NULL)
		return vy_nomem(y);
	for (size_t i = 0; i < cnt; i++) {
		h->ntokens++;
		if ((rc = parse_token(y, vy_item(y, n, i), &h->tokens[i])) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(h->tokens[j].token, h->tokens[i].token) == 0)
				return vy_fail(y, vy_item(y, n, i),
					       "http.tokens: the same token reference as the entry at %s",
					       h->tokens[j].where);
	}
	return 0;
}

static int parse_rate(struct vy_ctx *y, const yaml_node_t *n, struct http_cfg *h)
{
	yaml_node_t *v[RK_N], *k[RK_N];
	int rc;
	if ((rc = vy_map_fields(y, n, "http.rate_limit", rate_keys, v, k)) != 0)
		return rc;
	h->rate = 20;
	if (v[RK_RATE] && (rc = vy_number(y, v[RK_RATE], "http.rate_limit.rate", 0, 1e6, &h->rate)) != 0)
		return rc;
	if (v[RK_BURST] && (rc = vy_number(y, v[RK_BURST], "http.rate_limit.burst", 1, 1e6, &h->burst)) != 0)
		return rc;
	return 0;
}

int http_cfg_parse(struct vy_ctx *y, const struct yaml_node_s *n, struct http_cfg *h)
{
	yaml_node_t *v[HK_N], *k[HK_N];
	long long ll;
	int rc;

	if ((rc = vy_map_fields(y, n, "http", http_keys, v, k)) != 0)
		return rc;
	if ((h->where = vy_where(y, n)) == NULL)
		return vy_nomem(y);
	if (v[HK_LISTEN] && (rc = vy_dup(y, v[HK_LISTEN], "http.listen", 1, &h->listen)) != 0)
		return rc;
	if (v[HK_TOKENS] && (rc = parse_tokens(y, v[HK_TOKENS], h)) != 0)
		return rc;
	if (v[HK_OPEN] && (rc = parse_bool(y, v[HK_OPEN], "http.open_reads", &h->open_reads)) != 0)
		return rc;
	if (v[HK_BODY]) {
		if ((rc = vy_integer(y, v[HK_BODY], "http.max_body", 64, 64.0 * 1024 * 1024, &ll)) != 0)
			return rc;
		h->max_body = (size_t)ll;
	}
	if (v[HK_RATE] && (rc = parse_rate(y, v[HK_RATE], h)) != 0)
		return rc;
	if (v[HK_MAXSIL]) { /* at most sinks/silence.h SILENCE_MAX */
		if ((rc = vy_integer(y, v[HK_MAXSIL], "http.max_silences", 1, 10000, &ll)) != 0)
			return rc;
		h->max_silences = (size_t)ll;
	}
	if (v[HK_AUDIT] && (rc = vy_dup(y, v[HK_AUDIT], "http.audit_log", 1, &h->audit_log)) != 0)
		return rc;
	if (v[HK_PUBLIC]) {
		if ((rc = vy_dup(y, v[HK_PUBLIC], "http.public_url", 1, &h->public_url)) != 0)
			return rc;
		if (strncmp(h->public_url, "http://", 7) != 0 && strncmp(h->public_url, "https://", 8) != 0)
			return vy_fail(y, v[HK_PUBLIC], "http.public_url: want an http:// or https:// URL");
		if (strpbrk(h->public_url, " \t\r\n\"<>") != NULL)
			return vy_fail(y, v[HK_PUBLIC],
				       "http.public_url: spaces, quotes and <> are not allowed");
	}
	if (v[HK_URLKEY]) {
		char err[384];
		if ((rc = vy_dup(y, v[HK_URLKEY], "http.url_key", 1, &h->url_key)) != 0)
			return rc;
		if (!secret_is_ref(h->url_key))
			return vy_fail(y, v[HK_URLKEY],
				       "http.url_key: write env:VAR or file:PATH, never the key itself");
		if (secret_check(h->url_key, "http.url_key", NULL, err, sizeof err) != 0)
			return vy_fail(y, v[HK_URLKEY], "%s", err);
	}
	return 0;
}

void http_cfg_free(struct http_cfg *h)
{
	for (size_t i = 0; i < h->ntokens; i++) {
		free(h->tokens[i].team);
		free(h->tokens[i].token);
		free(h->tokens[i].where);
	}
	free(h->tokens);
	free(h->listen);
	free(h->public_url);
	free(h->url_key);
	free(h->audit_log);
	free(h->where);
	http_cfg_init(h);
}
