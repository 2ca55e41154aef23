/* Tests for sinks/silence.c, part 1: adding (duration, ends_at), every
 * validation error with its exact message, states by time, expire, update
 * in place or re-created, matching with each operator and owner isolation.
 * Part 2 (the store's life) is tests/test_silence_store.c. Time is virtual:
 * every call gets its now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/silence.h"
#include "tests/silence_testutil.h"

static void test_silence__add_with_duration(void **state)
{
	struct silences *s = store();
	char id[SILENCE_ID_LEN];
	const struct silence *x;

	(void)state;
	add_ok(s, "{" BASE ",'matchers':['alertname=disk','cluster=~eu-.*'],'duration':'2h'}", T0, 3, id);
	assert_int_equal(strlen(id), 18);
	assert_memory_equal(id, "s-", 2);
	assert_int_equal(strspn(id + 2, "0123456789abcdef"), 16);
	assert_int_equal(silences_count(s), 1);
	x = silences_find(s, id);
	assert_non_null(x);
	assert_ptr_equal(silences_at(s, 0), x);
	assert_null(silences_at(s, 1));
	assert_string_equal(x->id, id);
	assert_string_equal(x->owner, "storage");
	assert_string_equal(x->created_by, "alice");
	assert_string_equal(x->comment, "disk swap");
	assert_int_equal(x->part, 3);
	assert_int_equal(x->nm, 2);
	assert_string_equal(x->m[0].key, "alertname");
	assert_int_equal(x->m[0].op, MATCH_EQ);
	assert_string_equal(x->m[0].value, "disk");
	assert_string_equal(x->m[1].key, "cluster");
	assert_int_equal(x->m[1].op, MATCH_RE);
	assert_string_equal(x->m[1].value, "eu-.*");
	assert_time(x->starts, T0);
	assert_time(x->ends, T0 + 7200);
	assert_time(x->created, T0);
	assert_int_equal(silence_state(x, T0), SILENCE_ACTIVE);
	assert_null(silences_find(s, "s-0000000000000000"));
	assert_null(silences_find(s, NULL));
	silences_free(s);
}

static void test_silence__add_with_ends_at(void **state)
{
	struct silences *s = store();
	char id[SILENCE_ID_LEN], id2[SILENCE_ID_LEN];
	const struct silence *x;

	(void)state;
	add_ok(s,
	       "{" BASE ",'matchers':['alertname=disk'],'starts_at':'2026-01-01T01:00:00Z',"
	       "'ends_at':'2026-01-01T03:30:00.250Z'}",
	       T0, 0, id);
	x = silences_find(s, id);
	assert_non_null(x);
	assert_time(x->starts, T0 + 3600);
	assert_time(x->ends, T0 + 3600 * 3.5 + 0.25);
	assert_time(x->created, T0);
	assert_int_equal(silence_state(x, T0), SILENCE_PENDING);
	/* a zone offset, and a duration counted from starts_at */
	add_ok(s,
	       "{" BASE ",'matchers':['a=b'],'starts_at':'2026-01-01T02:00:00+02:00',"
	       "'duration':'90m'}",
	       T0 + 10, 0, id2);
	x = silences_find(s, id2);
	assert_non_null(x);
	assert_time(x->starts, T0);
	assert_time(x->ends, T0 + 5400);
	assert_time(x->created, T0 + 10);
	/* now between milliseconds: created_at and the default start are the
	 * millisecond before it, so the silence is active at that very now */
	add_ok(s, "{" BASE ",'matchers':['a=c'],'duration':'1h'}", T0 + 20.0007, 0, id2);
	x = silences_find(s, id2);
	assert_time(x->starts, T0 + 20);
	assert_time(x->created, T0 + 20);
	assert_time(x->ends, T0 + 3620);
	assert_int_equal(silence_state(x, T0 + 20.0007), SILENCE_ACTIVE);
	assert_int_equal(silences_count(s), 3);
	silences_free(s);
}

static void test_silence__validation_errors(void **state)
{
	static const struct {
		const char *spec;
		const char *err;
	} cases[] = {
		{"[1]", "silence: want a JSON object"},
		{"{" BASE ",'matchers':['a=b'],'duration':'1h','color':'red'}",
		 "silence: unknown field 'color'"},
		{"{'id':'x'," BASE ",'matchers':['a=b'],'duration':'1h'}",
		 "silence: id: want \"s-\" and 16 lowercase hex digits"},
		{"{'id':'s-0123456789ABCDEF'," BASE ",'matchers':['a=b'],'duration':'1h'}",
		 "silence: id: want \"s-\" and 16 lowercase hex digits"},
		{"{'id':'s-0000000000000000'," BASE ",'matchers':['a=b'],'duration':'1h'}",
		 "silence: id: no silence 's-0000000000000000'"},
		{"{'created_by':'a','comment':'c','matchers':['a=b'],'duration':'1h'}",
		 "silence: owner is required"},
		{"{'owner':'','created_by':'a','comment':'c','matchers':['a=b'],'duration':'1h'}",
		 "silence: owner is required"},
		{"{'owner':7,'created_by':'a','comment':'c','matchers':['a=b'],'duration':'1h'}",
		 "silence: owner: want a string"},
		{"{'owner':'a\\u0000b','created_by':'a','comment':'c','matchers':['a=b'],'duration':'1h'}",
		 "silence: owner: contains a NUL byte"},
		{"{" BASE ",'duration':'1h'}", "silence: matchers is required"},
		{"{" BASE ",'matchers':'a=b','duration':'1h'}",
		 "silence: matchers: want an array of strings like \"alertname=disk\""},
		{"{" BASE ",'matchers':[],'duration':'1h'}",
		 "silence: matchers: at least one matcher is required"},
		{"{" BASE ",'matchers':['a=b',3],'duration':'1h'}", "silence: matchers[1]: want a string"},
		{"{" BASE ",'matchers':['novalue'],'duration':'1h'}",
		 "silence: matchers[0]: matcher 'novalue': want name=value, name!=value, name=~regex or "
		 "name!~regex"},
		{"{" BASE ",'matchers':['a=b'],'starts_at':'yesterday','duration':'1h'}",
		 "silence: starts_at: 'yesterday' is not an RFC 3339 time (column 1)"},
		{"{" BASE ",'matchers':['a=b'],'starts_at':3,'duration':'1h'}",
		 "silence: starts_at: want an RFC 3339 time string"},
		{"{" BASE ",'matchers':['a=b'],'ends_at':'2026-01-01T02:00:00Zx'}",
		 "silence: ends_at: '2026-01-01T02:00:00Zx' is not an RFC 3339 time (column 21)"},
		{"{" BASE ",'matchers':['a=b'],'ends_at':'1969-12-31T23:00:00Z'}",
		 "silence: ends_at: '1969-12-31T23:00:00Z' is outside 1970 .. 9999"},
		{"{" BASE ",'matchers':['a=b'],'ends_at':'2026-01-01T02:00:00Z','duration':'1h'}",
		 "silence: give ends_at or duration, not both"},
		{"{" BASE ",'matchers':['a=b']}", "silence: ends_at or duration is required"},
		{"{" BASE ",'matchers':['a=b'],'duration':'2x'}",
		 "silence: duration: '2x' is not a duration (like 30m, 2h, 1d)"},
		{"{" BASE ",'matchers':['a=b'],'duration':'0s'}", "silence: ends_at must be after starts_at"},
		{"{" BASE ",'matchers':['a=b'],'duration':'1e12s'}",
		 "silence: duration: ends after 9999-12-31"},
		{"{" BASE
		 ",'matchers':['a=b'],'starts_at':'2026-01-01T05:00:00Z','ends_at':'2026-01-01T04:00:00Z'}",
		 "silence: ends_at must be after starts_at"},
		{"{" BASE
		 ",'matchers':['a=b'],'starts_at':'2026-01-01T05:00:00Z','ends_at':'2026-01-01T05:00:00Z'}",
		 "silence: ends_at must be after starts_at"},
		{"{" BASE
		 ",'matchers':['a=b'],'starts_at':'2025-12-31T22:00:00Z','ends_at':'2026-01-01T00:00:00Z'}",
		 "silence: ends_at must be after now"},
		{"{'owner':'o','comment':'c','matchers':['a=b'],'duration':'1h'}",
		 "silence: created_by is required"},
		{"{'owner':'o','created_by':'a','matchers':['a=b'],'duration':'1h'}",
		 "silence: comment is required"},
		{"{'owner':'o','created_by':'a','comment':'','matchers':['a=b'],'duration':'1h'}",
		 "silence: comment is required"},
	};
	struct silences *s = store();
	char err[512], text[4096], big[1100];
	struct silence *x = (struct silence *)1;

	(void)state;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++)
		add_bad(s, cases[i].spec, T0, -VIGIL_EINVAL, cases[i].err);

	/* a bad regular expression names the matcher; the rest is regerror's */
	json_t *j = J("{" BASE ",'matchers':['a=b','cluster=~eu-(1'],'duration':'1h'}");
	err[0] = '\0';
	assert_int_equal(silences_add(s, j, T0, 0, NULL, err, sizeof err), -VIGIL_EINVAL);
	json_decref(j);
	const char *want = "silence: matchers[1]: bad regular expression 'eu-(1': ";
	if (strncmp(err, want, strlen(want)) != 0 || strlen(err) == strlen(want))
		fail_msg("got '%s'", err);

	/* the matcher count limit */
	strcpy(text, "{" BASE ",'duration':'1h','matchers':['m0=x'");
	for (int i = 1; i < SILENCE_MAX_MATCHERS + 1; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), ",'m%d=x'", i);
	strcat(text, "]}");
	add_bad(s, text, T0, -VIGIL_EINVAL, "silence: matchers: at most 64 matchers, got 65");
	strcpy(strrchr(text, ','), "]}"); /* 64 is fine */
	add_ok(s, text, T0, 0, NULL);
	assert_int_equal(silences_find(s, silences_at(s, 0)->id)->nm, 64);

	/* 1024 bytes of comment and created_by are fine, 1025 are not */
	memset(big, 'c', 1025);
	big[1025] = '\0';
	snprintf(text, sizeof text,
		 "{'owner':'o','created_by':'a','matchers':['a=b'],'duration':'1h','comment':'%s'}", big);
	add_bad(s, text, T0, -VIGIL_EINVAL, "silence: comment: longer than 1024 bytes");
	snprintf(text, sizeof text,
		 "{'owner':'o','comment':'a','matchers':['a=b'],'duration':'1h','created_by':'%s'}", big);
	add_bad(s, text, T0, -VIGIL_EINVAL, "silence: created_by: longer than 1024 bytes");
	snprintf(text, sizeof text,
		 "{'owner':'%s','comment':'a','matchers':['a=b'],'duration':'1h','created_by':'a'}", big);
	add_bad(s, text, T0, -VIGIL_EINVAL, "silence: owner: longer than 1024 bytes");
	big[1024] = '\0';
	snprintf(text, sizeof text,
		 "{'owner':'o','created_by':'%s','matchers':['a=b'],'duration':'1h','comment':'%s'}", big,
		 big);
	add_ok(s, text, T0, 0, NULL);
	assert_int_equal(silences_count(s), 2);

	/* silence_from_spec validates the same way and leaves *out alone */
	j = J("{" BASE ",'matchers':['a=b']}");
	assert_int_equal(silence_from_spec(j, T0, &x, err, sizeof err), -VIGIL_EINVAL);
	assert_string_equal(err, "silence: ends_at or duration is required");
	assert_ptr_equal(x, (struct silence *)1);
	json_decref(j);
	silences_free(s);
}

static void test_silence__state_by_time(void **state)
{
	struct silences *s = store();
	char id[SILENCE_ID_LEN];
	const struct silence *x;
	struct kv l[] = {{"a", "b", NULL}};

	(void)state;
	add_ok(s, "{" BASE ",'matchers':['a=b'],'starts_at':'2026-01-01T00:01:40Z','duration':'100s'}", T0, 0,
	       id);
	x = silences_find(s, id);
	assert_int_equal(silence_state(x, T0), SILENCE_PENDING);
	assert_int_equal(silence_state(x, T0 + 99.999), SILENCE_PENDING);
	assert_int_equal(silence_state(x, T0 + 100), SILENCE_ACTIVE);
	assert_int_equal(silence_state(x, T0 + 199.999), SILENCE_ACTIVE);
	assert_int_equal(silence_state(x, T0 + 200), SILENCE_EXPIRED);
	assert_int_equal(silence_state(x, T0 + 1e6), SILENCE_EXPIRED);
	/* only an active silence mutes */
	assert_null(silences_match(s, "storage", l, 1, T0 + 99));
	assert_ptr_equal(silences_match(s, "storage", l, 1, T0 + 100), x);
	assert_ptr_equal(silences_match(s, "storage", l, 1, T0 + 199), x);
	assert_null(silences_match(s, "storage", l, 1, T0 + 200));
	silences_free(s);
}

static void test_silence__expire(void **state)
{
	struct silences *s = store();
	char a[SILENCE_ID_LEN], p[SILENCE_ID_LEN];
	const struct silence *x, *y;

	(void)state;
	add_ok(s, "{" BASE ",'matchers':['a=b'],'duration':'1h'}", T0, 0, a);
	add_ok(s, "{" BASE ",'matchers':['a=c'],'starts_at':'2026-01-01T01:00:00Z','duration':'1h'}", T0, 0,
	       p);
	x = silences_find(s, a);
	y = silences_find(s, p);
	assert_int_equal(silences_expire(s, "storage", "s-0000000000000000", T0 + 60), -VIGIL_ENOENT);
	assert_int_equal(silences_expire(s, "storage", NULL, T0 + 60), -VIGIL_ENOENT);
	/* another owner cannot expire it */
	assert_int_equal(silences_expire(s, "web", a, T0 + 60), -VIGIL_ENOENT);
	assert_int_equal(silence_state(x, T0 + 60), SILENCE_ACTIVE);
	/* between milliseconds: ends_at is the millisecond before now */
	assert_int_equal(silences_expire(s, "storage", a, T0 + 60.0007), 0);
	assert_time(x->ends, T0 + 60);
	assert_int_equal(silence_state(x, T0 + 60.0007), SILENCE_EXPIRED);
	/* expiring an expired one changes nothing */
	assert_int_equal(silences_expire(s, "storage", a, T0 + 120), 0);
	assert_time(x->ends, T0 + 60);
	/* a pending one ends before it starts: expired, also once its start is past */
	assert_int_equal(silences_expire(s, NULL, p, T0 + 30), 0);
	assert_time(y->ends, T0 + 30);
	assert_time(y->starts, T0 + 3600);
	assert_int_equal(silence_state(y, T0 + 30), SILENCE_EXPIRED);
	assert_int_equal(silence_state(y, T0 + 3601), SILENCE_EXPIRED);
	assert_int_equal(silences_count(s), 2);
	silences_free(s);
}

static void test_silence__update(void **state)
{
	struct silences *s = store();
	char a[SILENCE_ID_LEN], b[SILENCE_ID_LEN], c[SILENCE_ID_LEN], err[512], text[512];
	const struct silence *x, *y;
	json_t *j;

	(void)state;
	add_ok(s, "{" BASE ",'matchers':['a=1','b!=2'],'duration':'1h'}", T0, 0, a);
	/* same matchers in another order and quoting: in place */
	snprintf(text, sizeof text,
		 "{'id':'%s','owner':'storage','created_by':'bob','comment':'longer',"
		 "'matchers':['b!=2','a=\\'1\\''],'starts_at':'2026-01-01T00:00:00Z','duration':'3h'}",
		 a);
	add_ok(s, text, T0 + 600, 1, b);
	assert_string_equal(b, a);
	assert_int_equal(silences_count(s), 1);
	x = silences_find(s, a);
	assert_string_equal(x->created_by, "bob");
	assert_string_equal(x->comment, "longer");
	assert_time(x->starts, T0);
	assert_time(x->ends, T0 + 3 * 3600);
	assert_time(x->created, T0); /* kept */
	assert_int_equal(x->part, 1);
	assert_string_equal(x->m[0].key, "b");
	assert_int_equal(x->m[0].op, MATCH_NE);

	/* another owner's spec cannot take it over */
	snprintf(
		text, sizeof text,
		"{'id':'%s','owner':'web','created_by':'m','comment':'x','matchers':['a=1'],'duration':'1h'}",
		a);
	j = J(text);
	assert_int_equal(silences_add(s, j, T0 + 700, 0, c, err, sizeof err), -VIGIL_EINVAL);
	json_decref(j);
	snprintf(text, sizeof text, "silence: owner: silence %s belongs to another owner", a);
	assert_string_equal(err, text);
	assert_string_equal(x->comment, "longer");

	/* changed matchers: the old one expires now, the new one gets a new id */
	snprintf(text, sizeof text,
		 "{'id':'%s','owner':'storage','created_by':'bob','comment':'wider',"
		 "'matchers':['a=~1|3'],'duration':'2h'}",
		 a);
	add_ok(s, text, T0 + 1200, 0, c);
	assert_string_not_equal(c, a);
	assert_int_equal(silences_count(s), 2);
	x = silences_find(s, a);
	y = silences_find(s, c);
	assert_time(x->ends, T0 + 1200);
	assert_int_equal(silence_state(x, T0 + 1200), SILENCE_EXPIRED);
	assert_string_equal(x->comment, "longer");
	assert_int_equal(silence_state(y, T0 + 1200), SILENCE_ACTIVE);
	assert_time(y->starts, T0 + 1200);
	assert_time(y->ends, T0 + 1200 + 7200);
	assert_string_equal(y->comment, "wider");
	/* the same update replayed: no third silence, the same id */
	add_ok(s, text, T0 + 1200, 0, b);
	assert_string_equal(b, c);
	assert_int_equal(silences_count(s), 2);
	assert_time(x->ends, T0 + 1200);

	/* an expired one with the same matchers is updated in place too
	 * (silence.h: matchers alone decide), which makes it active again */
	snprintf(text, sizeof text,
		 "{'id':'%s','owner':'storage','created_by':'carol','comment':'again','matchers':['a=1','b!="
		 "2'],"
		 "'duration':'1h'}",
		 a);
	add_ok(s, text, T0 + 1300, 0, b);
	assert_string_equal(b, a);
	assert_int_equal(silences_count(s), 2);
	assert_string_equal(x->created_by, "carol");
	assert_time(x->starts, T0 + 1300);
	assert_time(x->ends, T0 + 1300 + 3600);
	assert_int_equal(silence_state(x, T0 + 1300), SILENCE_ACTIVE);
	/* a pending one with one matcher more: re-created, the old one expired */
	add_ok(s, "{" BASE ",'matchers':['p=1'],'starts_at':'2026-01-02T00:00:00Z','duration':'1h'}", T0, 0,
	       b);
	snprintf(text, sizeof text, "{'id':'%s'," BASE ",'matchers':['p=1','q=2'],'duration':'1h'}", b);
	add_ok(s, text, T0 + 1400, 0, c);
	assert_string_not_equal(c, b);
	assert_int_equal(silences_count(s), 4);
	assert_time(silences_find(s, b)->ends, T0 + 1400);
	assert_int_equal(silence_state(silences_find(s, b), T0 + 86400), SILENCE_EXPIRED);
	assert_int_equal(silence_state(silences_find(s, c), T0 + 1400), SILENCE_ACTIVE);
	silences_free(s);
}

static void test_silence__match_operators(void **state)
{
	struct silences *s = store();
	char id[SILENCE_ID_LEN], e[SILENCE_ID_LEN];
	const struct silence *x;
	struct kv l[] = {{"alertname", "disk", NULL},
			 {"cluster", "eu-1", NULL},
			 {"env", "prod", NULL},
			 {"team", "storage", NULL}};

	(void)state;
	add_ok(s,
	       "{" BASE
	       ",'matchers':['alertname=disk','cluster=~eu-.*','env!=test','team!~ops|sre'],'duration':'1h'}",
	       T0, 0, id);
	x = silences_find(s, id);
	assert_ptr_equal(silences_match(s, "storage", l, 4, T0), x);
	assert_int_equal(silence_matches(x, l, 4), 1);
	l[0].value = "cpu"; /* = */
	assert_null(silences_match(s, "storage", l, 4, T0));
	l[0].value = "disk";
	l[1].value = "us-1"; /* =~ */
	assert_null(silences_match(s, "storage", l, 4, T0));
	l[1].value = "xeu-1"; /* anchored */
	assert_null(silences_match(s, "storage", l, 4, T0));
	l[1].value = "eu-1";
	l[2].value = "test"; /* != */
	assert_null(silences_match(s, "storage", l, 4, T0));
	l[2].value = "prod";
	l[3].value = "sre"; /* !~ */
	assert_null(silences_match(s, "storage", l, 4, T0));
	l[3].value = "sre-eu"; /* anchored: sre-eu is not sre */
	assert_ptr_equal(silences_match(s, "storage", l, 4, T0), x);
	/* a missing label reads as "": cluster=~eu-.* does not hold for it, */
	struct kv k[] = {{"alertname", "disk", NULL}, {"env", "prod", NULL}, {"team", "storage", NULL}};
	assert_null(silences_match(s, "storage", k, 3, T0));
	/* env!=test and team!~ops|sre do */
	struct kv m[] = {{"cluster", "eu-2", NULL}, {"alertname", "disk", NULL}};
	assert_ptr_equal(silences_match(s, "storage", m, 2, T0), x);
	/* name="" matches a missing label */
	add_ok(s, "{" BASE ",'matchers':['alertname=cpu','zone=\\'\\''],'duration':'1h'}", T0, 0, e);
	struct kv n[] = {{"alertname", "cpu", NULL}};
	assert_ptr_equal(silences_match(s, "storage", n, 1, T0), silences_find(s, e));
	struct kv o[] = {{"alertname", "cpu", NULL}, {"zone", "z1", NULL}};
	assert_null(silences_match(s, "storage", o, 2, T0));
	/* silence_matches ignores the state; silences_match does not */
	assert_int_equal(silences_expire(s, NULL, id, T0 + 1), 0);
	assert_null(silences_match(s, "storage", m, 2, T0 + 1));
	assert_int_equal(silence_matches(x, m, 2), 1);
	assert_int_equal(silence_matches(x, n, 1), 0);
	silences_free(s);
}

static void test_silence__other_owners_never_match(void **state)
{
	struct silences *s = store();
	char a[SILENCE_ID_LEN], w[SILENCE_ID_LEN];
	struct kv l[] = {{"alertname", "disk", NULL}};

	(void)state;
	add_ok(s,
	       "{'owner':'web','created_by':'a','comment':'c','matchers':['alertname=disk'],'duration':'1h'}",
	       T0, 0, w);
	assert_null(silences_match(s, "storage", l, 1, T0));
	assert_null(silences_match(s, NULL, l, 1, T0));
	assert_ptr_equal(silences_match(s, "web", l, 1, T0), silences_find(s, w));
	add_ok(s, "{" BASE ",'matchers':['alertname=disk'],'duration':'1h'}", T0, 0, a);
	assert_ptr_equal(silences_match(s, "storage", l, 1, T0), silences_find(s, a));
	assert_ptr_equal(silences_match(s, "web", l, 1, T0), silences_find(s, w));
	assert_null(silences_match(s, "webx", l, 1, T0));
	assert_null(silences_match(s, "", l, 1, T0));
	silences_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silence__add_with_duration),
		cmocka_unit_test(test_silence__add_with_ends_at),
		cmocka_unit_test(test_silence__validation_errors),
		cmocka_unit_test(test_silence__state_by_time),
		cmocka_unit_test(test_silence__expire),
		cmocka_unit_test(test_silence__update),
		cmocka_unit_test(test_silence__match_operators),
		cmocka_unit_test(test_silence__other_owners_never_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
