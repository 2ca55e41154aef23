/* Helpers for the silence tests (tests/test_silence*.c). Include after
 * <cmocka.h>. Everything is static: each test binary gets its own copy. */
#ifndef TESTS_SILENCE_TESTUTIL_H
#define TESTS_SILENCE_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/silence.h"

#define T0 1767225600.0 /* 2026-01-01T00:00:00Z */

/* A JSON value from text written with single quotes for double quotes. */
static inline json_t *J(const char *text)
{
	char buf[8192];
	json_error_t jerr;
	json_t *j;
	size_t i;

	for (i = 0; text[i] && i + 1 < sizeof buf; i++)
		buf[i] = text[i] == '\'' ? '"' : text[i];
	buf[i] = '\0';
	j = json_loads(buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		fail_msg("bad test JSON %s: %s", buf, jerr.text);
	return j;
}

static inline struct silences *store(void)
{
	struct silences *s = NULL;
	assert_int_equal(silences_new(&s), 0);
	assert_non_null(s);
	return s;
}

/* Add text at now for partition part; must succeed; the id into id. */
static inline void add_ok(struct silences *s, const char *text, double now, int32_t part, char *id)
{
	char err[512] = "";
	json_t *j = J(text);
	int rc = silences_add(s, j, now, part, id, err, sizeof err);
	json_decref(j);
	if (rc != 0)
		fail_msg("silences_add(%s): %d %s", text, rc, err);
}

/* Add text at now: must fail with rc and exactly want; nothing added. */
static inline void add_bad(struct silences *s, const char *text, double now, int rc_want, const char *want)
{
	char err[512] = "", id[SILENCE_ID_LEN] = "";
	size_t n = silences_count(s);
	json_t *j = J(text);
	int rc = silences_add(s, j, now, 0, id, err, sizeof err);
	json_decref(j);
	if (rc != rc_want || strcmp(err, want) != 0)
		fail_msg("silences_add(%s): got %d '%s', want %d '%s'", text, rc, err, rc_want, want);
	assert_int_equal(silences_count(s), n);
}

static inline void assert_time(double got, double want)
{
	if (memcmp(&got, &want, sizeof got) != 0)
		fail_msg("time %.6f, want %.6f", got, want);
}

#define BASE "'owner':'storage','created_by':'alice','comment':'disk swap'"
#endif
