/* Signed chart links: PagerDuty and Slack fetch an alert's chart.png
 * without a bearer token, so the gateway gives them a link that carries
 * its own proof, ?exp=<unix seconds>&sig=<hex>, where sig is
 * HMAC-SHA-256(http.url_key, "<episode>:<exp>") cut to 32 hex digits. The
 * link opens that one episode's chart until exp, and nothing else.
 * @thread any (no state). */
#ifndef CORE_URLSIG_H
#define CORE_URLSIG_H

#include <stddef.h>

#define URLSIG_TTL (30.0 * 86400) /* a link's lifetime: pages are looked at later */

/* out (at least 33 bytes) = the signature of episode at exp. 0 or -1. */
int urlsig_make(const char *key, const char *episode, long long exp, char *out, size_t outlen);
/* 1 when sig is the signature of episode at exp (decimal text) and exp is
 * not before now; 0 otherwise (compared in constant time). */
int urlsig_check(const char *key, const char *episode, const char *exp, const char *sig, double now);

#endif
