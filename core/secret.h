/* Secrets in settings: a destination setting that holds a credential (a
 * routing key, a password, a webhook URL with a token in it) may be written
 * as `env:NAME` (the environment variable NAME), `file:PATH` (the first line
 * of the file, trailing CR/LF stripped) or as the literal value.
 *
 * Error messages name the setting and where it was written (and the variable
 * name or file path, which are not secret) but never the value. Resolved
 * values are the caller's and should be released with secret_free(), which
 * wipes them first.
 * @thread any; secret_resolve() calls getenv() and is meant for
 * configuration time (the gateway's thread), not for send(). */
#ifndef CORE_SECRET_H
#define CORE_SECRET_H

#include <stddef.h>

#include "core/vigil.h"

/* Check the form of a setting value without reading anything: `env:` needs a
 * variable name ([A-Za-z_][A-Za-z0-9_]*), `file:` a path; a literal must not
 * be empty. key and where (may be NULL) are only used in the message. */
int secret_check(const char *value, const char *key, const char *where, char *err, size_t errlen);

/* Resolve a setting value into *out (malloc'd; release with secret_free).
 * Returns 0, or -VIGIL_EINVAL (variable unset or empty, file unreadable or
 * empty first line) / -VIGIL_ENOMEM with err naming key and where. */
int secret_resolve(const char *value, const char *key, const char *where, char **out, char *err,
		   size_t errlen);

/* 1 when value is an `env:` or `file:` reference, 0 for a literal. */
int secret_is_ref(const char *value);

/* Wipe and free a resolved value (NULL is fine): its bytes up to the NUL are
 * zeroed with explicit_bzero (not optimised away) before free(). */
void secret_free(char *s);

/* Zero n bytes at p with explicit_bzero, for a copy of a secret vigil owns
 * that is not a plain string (a buffer, a request body) before it is freed
 * or reused. NULL or n 0: nothing to do. */
void secret_wipe(void *p, size_t n);

/* Replace every occurrence of secret in text (NUL-terminated, edited in
 * place) with "***". Secrets shorter than 4 characters are left alone (too
 * likely to hit ordinary text); a text that ends with the first 4 or more
 * characters of secret (a cut-off copy) has that end replaced too. NULL or
 * empty secret: nothing to do. */
void secret_scrub(char *text, const char *secret);

/* 1 when a literal setting value is a credential by its key or form: a
 * password, a token or a routing key; a URL with a user:password, a Slack
 * incoming-webhook URL, or a query parameter named like a credential
 * (token, key, secret, sig, password, apikey...). 0 for env:/file:
 * references and for plain URLs. */
int secret_literal_is_credential(const char *value, const char *key);

/* A literal credential (secret_literal_is_credential) may not sit in a file
 * other users can read: where is "PATH:LINE:COL" (as the loaders write it).
 * Returns 0 when value is a reference, not a credential, or PATH is not
 * readable by others (or cannot be told from where); -VIGIL_EINVAL with err
 * "<where>: <key> holds a literal credential but PATH is readable by every
 * user (mode 0644): write it as env:NAME or file:PATH, or chmod o-r PATH". */
int secret_literal_guard(const char *value, const char *key, const char *where, char *err, size_t errlen);

/* Split url into its lower-cased scheme, its host (IPv6 literal with its
 * brackets) and its port (0 when none is written), skipping any userinfo.
 * Returns 0, or -VIGIL_EINVAL when url has no "scheme://host" form or a
 * part does not fit (schemelen, hostlen include the NUL). */
int secret_url_parts(const char *url, char *scheme, size_t schemelen, char *host, size_t hostlen, int *port);

/* Render url for logs and errors without secrets: "scheme://host[:port]"
 * only (no userinfo, path, query or fragment). Returns 0, or -VIGIL_EINVAL
 * with out = "(unparseable URL)". */
int secret_url_origin(const char *url, char *out, size_t outlen);

#endif
