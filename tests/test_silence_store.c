/* Tests for sinks/silence.c, part 2: replayed adds and the id, the JSON
 * round trip, gc, next_change, release by partition, the SILENCE_MAX
 * limit, the preview and the bound on a matcher regex. Part 1 is tests/test_silence.c. Time is virtual. */
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

/* The id is a pure function of the content (owner, matchers, times,
 * author, comment, created_at): pinned, since a replayed record of an old
 * version must find the silence it made. Worked out independently with
 * the FNV-1a + splitmix64 of core/hash.c over the fields in that order. */
#define PINNED_ID "s-abe006a2d2ce1981"

static void test_silence__replay_same_id(void **state)
{
	struct silences *s = store();
	char a[SILENCE_ID_LEN], b[SILENCE_ID_LEN], c[SILENCE_ID_LEN];
	const char *spec = "{" BASE ",'matchers':['alertname=disk','cluster=~eu-.*'],'duration':'2h'}";
	struct silence *x = NULL;
	char err[256];

	(void)state;
	add_ok(s, spec, T0, 0, a);
	assert_string_equal(a, PINNED_ID);
	add_ok(s, spec, T0, 0, b);
	assert_string_equal(b, a);
	assert_int_equal(silences_count(s), 1);
	/* still the same after it was expired, and when the store is full */
	assert_int_equal(silences_expire(s, NULL, a, T0 + 5), 0);
	add_ok(s, spec, T0, 0, b);
	assert_string_equal(b, a);
	assert_int_equal(silences_count(s), 1);
	/* another now is another silence (created_at differs) */
	add_ok(s, spec, T0 + 1, 0, c);
	assert_string_not_equal(c, a);
	assert_int_equal(silences_count(s), 2);
	/* the preview derives the same id */
	json_t *j = J(spec);
	assert_int_equal(silence_from_spec(j, T0, &x, err, sizeof err), 0);
	json_decref(j);
	assert_string_equal(x->id, a);
	assert_int_equal(x->part, -1);
	silence_free(x);
	/* the same content under another owner is not the same silence */
	add_ok(s,
	       "{'owner':'web','created_by':'alice','comment':'disk "
	       "swap','matchers':['alertname=disk','cluster=~eu-.*'],'duration':'2h'}",
	       T0, 0, c);
	assert_string_not_equal(c, a);
	assert_string_equal(silences_find(s, c)->owner, "web");
	assert_int_equal(silences_count(s), 3);
	silences_free(s);
}

/* A command that carries created_at (`vigil silence add` does) is the same
 * silence whenever it is applied: a control record replayed later, or
 * applied by another gateway member, finds the id the CLI printed. */
static void test_silence__created_at_pins_id(void **state)
{
	struct silences *s = store(), *r = store();
	char a[SILENCE_ID_LEN], b[SILENCE_ID_LEN], c[SILENCE_ID_LEN], err[256];
	const char *spec =
		"{" BASE ",'matchers':['host=db1'],'created_at':'2026-01-01T00:00:10.5Z','duration':'1h'}";
	struct silence *x = NULL;

	(void)state;
	add_ok(s, spec, T0 + 11, 0, a);
	add_ok(r, spec, T0 + 1800, 1, b);
	assert_string_equal(a, b);
	const struct silence *y = silences_find(r, b);
	assert_time(y->created, T0 + 10.5);
	assert_time(y->starts, T0 + 10.5); /* the default start is the creation */
	assert_time(y->ends, T0 + 10.5 + 3600);
	json_t *j = J(spec);
	assert_int_equal(silence_from_spec(j, T0 + 60, &x, err, sizeof err), 0);
	assert_string_equal(x->id, a);
	silence_free(x);
	json_decref(j);
	/* without it, the time of the add decides */
	add_ok(s, "{" BASE ",'matchers':['host=db1'],'starts_at':'2026-01-01T00:00:10.5Z','duration':'1h'}",
	       T0 + 11, 0, c);
	assert_string_not_equal(c, a);
	add_bad(s, "{" BASE ",'matchers':['a=b'],'created_at':'yesterday','duration':'1h'}", T0,
		-VIGIL_EINVAL, "silence: created_at: 'yesterday' is not an RFC 3339 time (column 1)");
	silences_free(s);
	silences_free(r);
}

static void assert_same_silence(const struct silence *x, const struct silence *y)
{
	assert_string_equal(x->id, y->id);
	assert_string_equal(x->owner, y->owner);
	assert_int_equal(x->nm, y->nm);
	for (size_t i = 0; i < x->nm; i++) {
		assert_string_equal(x->m[i].key, y->m[i].key);
		assert_int_equal(x->m[i].op, y->m[i].op);
		assert_string_equal(x->m[i].value, y->m[i].value);
	}
	assert_time(x->starts, y->starts);
	assert_time(x->ends, y->ends);
	assert_time(x->created, y->created);
	assert_string_equal(x->created_by, y->created_by);
	assert_string_equal(x->comment, y->comment);
}

static char *dump(const struct silence *x, double now)
{
	json_t *j = silence_to_json(x, now);
	char *text;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	assert_non_null(text);
	return text;
}

static void test_silence__json_round_trip(void **state)
{
	struct silences *s = store(), *r = store();
	char a[SILENCE_ID_LEN], p[SILENCE_ID_LEN], e[SILENCE_ID_LEN], err[512], want[1024];
	double now = T0 + 100.5;

	(void)state;
	/* sub-millisecond input times come out at the millisecond */
	add_ok(s,
	       "{'owner':'storage','created_by':'alice \\u00e9','comment':'line\\none \\'q\\'',"
	       "'matchers':['alertname=disk','cluster=~eu-(1|2)','note=\\' a b "
	       "\\'','q=\\'\\'x\\'\\'','env!~te.t'],"
	       "'starts_at':'2026-01-01T00:00:00.1234567Z','ends_at':'2026-01-02T00:00:00.9996Z'}",
	       T0 + 0.0004, 2, a);
	add_ok(s, "{" BASE ",'matchers':['a!=b'],'starts_at':'2026-02-01T00:00:00Z','duration':'1d'}", T0, 2,
	       p);
	add_ok(s, "{" BASE ",'matchers':['a=c'],'starts_at':'2026-02-01T00:00:00Z','duration':'1d'}", T0, 2,
	       e);
	assert_int_equal(silences_expire(s, NULL, e, T0 + 99.9999), 0); /* expired while pending */

	const struct silence *x = silences_find(s, a);
	assert_time(x->starts, T0 + 0.123);
	assert_time(x->ends, T0 + 86400 + 0.999);
	assert_time(x->created, T0);
	assert_string_equal(x->m[2].value, " a b ");
	assert_string_equal(x->m[3].value, "\"x\""); /* only the outer quotes go */
	assert_int_equal(x->m[3].op, MATCH_EQ);
	char *text = dump(x, now);
	snprintf(want, sizeof want,
		 "{\"comment\":\"line\\none "
		 "\\\"q\\\"\",\"created_at\":\"2026-01-01T00:00:00Z\",\"created_by\":"
		 "\"alice \\u00e9\",\"ends_at\":\"2026-01-02T00:00:00.999Z\",\"id\":\"%s\",\"matchers\":["
		 "\"alertname=\\\"disk\\\"\",\"cluster=~\\\"eu-(1|2)\\\"\",\"note=\\\" a b \\\"\","
		 "\"q=\\\"\\\"x\\\"\\\"\",\"env!~\\\"te.t\\\"\"],\"owner\":\"storage\","
		 "\"starts_at\":\"2026-01-01T00:00:00.123Z\",\"state\":\"active\"}",
		 a);
	/* jansson escapes non-ASCII only with JSON_ENSURE_ASCII: compare decoded */
	json_t *got = json_loads(text, 0, NULL), *exp = json_loads(want, 0, NULL);
	assert_non_null(got);
	assert_non_null(exp);
	assert_int_equal(json_equal(got, exp), 1);
	json_decref(got);
	json_decref(exp);
	free(text);

	/* every silence comes back identical, with its state by time */
	for (size_t i = 0; i < silences_count(s); i++) {
		const struct silence *y = silences_at(s, i);
		char *t1 = dump(y, now), *t2;
		json_t *j = json_loads(t1, 0, NULL);
		assert_int_equal(silences_restore(r, j, 7, err, sizeof err), 0);
		json_decref(j);
		const struct silence *z = silences_find(r, y->id);
		assert_non_null(z);
		assert_same_silence(y, z);
		assert_int_equal(z->part, 7);
		assert_int_equal(silence_state(z, now), silence_state(y, now));
		t2 = dump(z, now);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
	}
	assert_int_equal(silences_count(r), 3);
	assert_int_equal(silence_state(silences_find(r, p), now), SILENCE_PENDING);
	assert_int_equal(silence_state(silences_find(r, e), now), SILENCE_EXPIRED);
	assert_true(silences_find(r, e)->ends < silences_find(r, e)->starts);

	/* restoring an id again replaces it (no second copy) */
	json_t *j = silence_to_json(silences_find(s, p), now);
	json_object_set_new(j, "comment", json_string("changed"));
	assert_int_equal(silences_restore(r, j, 8, err, sizeof err), 0);
	assert_int_equal(silences_count(r), 3);
	assert_string_equal(silences_find(r, p)->comment, "changed");
	assert_int_equal(silences_find(r, p)->part, 8);
	/* restore errors name the field; nothing restored */
	json_object_del(j, "created_at");
	assert_int_equal(silences_restore(r, j, 8, err, sizeof err), -VIGIL_EINVAL);
	assert_string_equal(err, "silence: created_at is required");
	json_object_set_new(j, "created_at", json_string("2026-01-01T00:00:00Z"));
	json_object_set_new(j, "duration", json_string("1h"));
	assert_int_equal(silences_restore(r, j, 8, err, sizeof err), -VIGIL_EINVAL);
	assert_string_equal(err, "silence: unknown field 'duration'");
	json_object_del(j, "duration");
	json_object_del(j, "id");
	assert_int_equal(silences_restore(r, j, 8, err, sizeof err), -VIGIL_EINVAL);
	assert_string_equal(err, "silence: id is required");
	json_decref(j);
	assert_int_equal(silences_count(r), 3);
	assert_string_equal(silences_find(r, p)->comment, "changed");
	silences_free(s);
	silences_free(r);
}

static void test_silence__gc(void **state)
{
	struct silences *s = store();
	char a[SILENCE_ID_LEN], b[SILENCE_ID_LEN], c[SILENCE_ID_LEN];
	struct kv l[] = {{"a", "c", NULL}};

	(void)state;
	add_ok(s, "{" BASE ",'matchers':['a=b'],'duration':'100s'}", T0, 0, a);
	add_ok(s, "{" BASE ",'matchers':['a=c'],'duration':'30d'}", T0, 0, b);
	add_ok(s, "{'owner':'web','created_by':'x','comment':'y','matchers':['a=d'],'duration':'200s'}", T0,
	       0, c);
	assert_int_equal(silences_gc(s, T0 + 100), 0);
	assert_int_equal(silences_gc(s, T0 + 100 + SILENCE_RETENTION), 0); /* kept for the retention */
	assert_int_equal(silences_count(s), 3);
	assert_int_equal(silences_gc(s, T0 + 100 + SILENCE_RETENTION + 1), 1);
	assert_int_equal(silences_count(s), 2);
	assert_null(silences_find(s, a));
	assert_non_null(silences_find(s, b));
	assert_non_null(silences_find(s, c));
	assert_ptr_equal(silences_match(s, "storage", l, 1, T0 + 100 + SILENCE_RETENTION + 1),
			 silences_find(s, b));
	assert_int_equal(silences_gc(s, T0 + 200 + SILENCE_RETENTION + 1), 1);
	assert_null(silences_find(s, c));
	assert_int_equal(silences_count(s), 1);
	assert_int_equal(silences_gc(s, T0 + 1e9), 1);
	assert_int_equal(silences_count(s), 0);
	assert_null(silences_match(s, "storage", l, 1, T0 + 1e9));
	silences_free(s);
}

static void test_silence__next_change(void **state)
{
	struct silences *s = store();

	(void)state;
	assert_true(isinf(silences_next_change(s, T0)));
	add_ok(s, "{" BASE ",'matchers':['a=b'],'duration':'50s'}", T0, 0, NULL);
	add_ok(s, "{" BASE ",'matchers':['a=c'],'starts_at':'2026-01-01T00:01:40Z','duration':'100s'}", T0, 0,
	       NULL);
	assert_time(silences_next_change(s, T0), T0 + 50);
	assert_time(silences_next_change(s, T0 + 49.5), T0 + 50);
	assert_time(silences_next_change(s, T0 + 50), T0 + 100);
	assert_time(silences_next_change(s, T0 + 100), T0 + 200);
	assert_true(isinf(silences_next_change(s, T0 + 200)));
	silences_free(s);
}

static void test_silence__release(void **state)
{
	struct silences *s = store();
	char id[6][SILENCE_ID_LEN], text[256];
	struct kv l[] = {{"a", "x", NULL}};

	(void)state;
	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof text,
			 "{'owner':'o%d','created_by':'a','comment':'c','matchers':['a=x','n=~|%d'],'"
			 "duration':'1h'}",
			 i % 3, i);
		add_ok(s, text, T0, i % 2, id[i]);
	}
	silences_release(s, 1);
	assert_int_equal(silences_count(s), 3);
	for (int i = 0; i < 6; i++) {
		const struct silence *x = silences_find(s, id[i]);
		if (i % 2) {
			assert_null(x);
			continue;
		}
		assert_non_null(x);
		assert_int_equal(x->part, 0);
	}
	/* o1 kept only id[4]; o2's one left was id[2]; o0's id[0] */
	assert_ptr_equal(silences_match(s, "o0", l, 1, T0), silences_find(s, id[0]));
	assert_ptr_equal(silences_match(s, "o1", l, 1, T0), silences_find(s, id[4]));
	assert_ptr_equal(silences_match(s, "o2", l, 1, T0), silences_find(s, id[2]));
	/* the first match is the owner's earliest silence still there */
	char q[3][SILENCE_ID_LEN];
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof text,
			 "{'owner':'o9','created_by':'a','comment':'c','matchers':['a=x','n!=%d'],'duration':"
			 "'1h'}",
			 i);
		add_ok(s, text, T0, i == 0 ? 1 : 0, q[i]);
	}
	assert_ptr_equal(silences_match(s, "o9", l, 1, T0), silences_find(s, q[0]));
	silences_release(s, 1);
	assert_ptr_equal(silences_match(s, "o9", l, 1, T0), silences_find(s, q[1]));
	assert_int_equal(silences_expire(s, "o9", q[1], T0), 0);
	assert_ptr_equal(silences_match(s, "o9", l, 1, T0), silences_find(s, q[2]));
	assert_int_equal(silences_count(s), 5);
	silences_release(s, 5); /* nobody's */
	assert_int_equal(silences_count(s), 5);
	silences_release(s, 0);
	assert_int_equal(silences_count(s), 0);
	for (int i = 0; i < 6; i++)
		assert_null(silences_find(s, id[i]));
	assert_null(silences_match(s, "o0", l, 1, T0));
	silences_free(s);
}

/* The store holds SILENCE_MAX; another is -VIGIL_EFULL with nothing
 * changed. One owner's match among them sees its own silences only. */
static void test_silence__limit(void **state)
{
	struct silences *s = store();
	char id[SILENCE_ID_LEN], first[SILENCE_ID_LEN], mine[SILENCE_ID_LEN], err[256], text[512];
	struct kv l[] = {{"alertname", "disk", NULL}, {"n", "17", NULL}};
	json_t *j;

	(void)state;
	add_ok(s, "{" BASE ",'matchers':['alertname=disk'],'duration':'1h'}", T0, 0, mine);
	for (int i = 1; i < SILENCE_MAX; i++) {
		j = json_pack("{s:s, s:s, s:s, s:[s, s+], s:s}", "owner", "bulk", "created_by", "a",
			      "comment", "c", "matchers", "alertname=disk", "n=", i == 1 ? "1" : "x",
			      "duration", "1h");
		assert_non_null(j);
		if (i > 1)
			json_array_set_new(json_object_get(j, "matchers"), 1, json_sprintf("n=%d", i));
		assert_int_equal(silences_add(s, j, T0, i % 4, i == 1 ? first : id, err, sizeof err), 0);
		json_decref(j);
	}
	assert_int_equal(silences_count(s), SILENCE_MAX);
	/* the owner's match sees its one silence; bulk's sees n=17 */
	assert_ptr_equal(silences_match(s, "storage", l, 2, T0), silences_find(s, mine));
	const struct silence *b = silences_match(s, "bulk", l, 2, T0);
	assert_non_null(b);
	assert_string_equal(b->m[1].value, "17");

	add_bad(s, "{" BASE ",'matchers':['alertname=cpu'],'duration':'1h'}", T0, -VIGIL_EFULL,
		"silence: too many silences (at most 10000)");
	/* an update that re-creates needs room too: the old one stays as it was */
	snprintf(text, sizeof text, "{'id':'%s'," BASE ",'matchers':['alertname=cpu'],'duration':'1h'}",
		 mine);
	add_bad(s, text, T0 + 1, -VIGIL_EFULL, "silence: too many silences (at most 10000)");
	assert_time(silences_find(s, mine)->ends, T0 + 3600);
	/* in place needs none; nor does a replayed add */
	snprintf(text, sizeof text, "{'id':'%s'," BASE ",'matchers':['alertname=disk'],'duration':'2h'}",
		 mine);
	add_ok(s, text, T0 + 1, 0, id);
	assert_string_equal(id, mine);
	assert_time(silences_find(s, mine)->ends, T0 + 1 + 7200);
	add_ok(s,
	       "{'owner':'bulk','created_by':'a','comment':'c','matchers':['alertname=disk','n=1'],'duration'"
	       ":'1h'}",
	       T0, 1, id);
	assert_string_equal(id, first);
	assert_int_equal(silences_count(s), SILENCE_MAX);
	/* room again after a release */
	silences_release(s, 3);
	assert_int_equal(silences_count(s), SILENCE_MAX - 2500);
	add_ok(s, "{" BASE ",'matchers':['alertname=cpu'],'duration':'1h'}", T0, 0, id);
	assert_int_equal(silences_count(s), SILENCE_MAX - 2499);
	/* every silence is still found by its id after all the moves */
	for (size_t i = 0; i < silences_count(s); i++)
		assert_ptr_equal(silences_find(s, silences_at(s, i)->id), silences_at(s, i));
	silences_free(s);
}

static void test_silence__preview(void **state)
{
	struct silence *x = NULL;
	char err[256];
	struct kv l[] = {{"alertname", "disk", NULL}, {"cluster", "eu-1", NULL}};
	json_t *j = J("{'id':'s-00000000000000aa'," BASE
		      ",'matchers':['cluster=~eu-.*'],'starts_at':'2026-01-02T00:00:00Z','duration':'1h'}");

	(void)state;
	assert_int_equal(silence_from_spec(j, T0, &x, err, sizeof err), 0);
	json_decref(j);
	assert_string_equal(x->id, "s-00000000000000aa");
	assert_int_equal(silence_state(x, T0), SILENCE_PENDING);
	assert_int_equal(silence_matches(x, l, 2), 1);
	assert_int_equal(silence_matches(x, l, 1), 0);
	silence_free(x);
	silence_free(NULL);
}

/* Found by tests/fuzz/fuzz_http_bodies (POST /api/v1/silences): matcher
 * regexes whose repetitions are adjacent or nest ("e++...+": each '+'
 * doubles what glibc's regcomp builds; "(((a*)+){1,30}){1,30}": its
 * closures ran for minutes) took over 2 GB or 14 s before regcomp returned.
 * They are refused (rules/re_cost.c); a pattern that compiles to about
 * 4,000 nodes is still taken. */
#define RE_LIMITS                                                                                            \
	"at most 5000; repetitions at most 2 deep, never adjacent, counts at most 1000; a count over what "  \
	"can match nothing costs its copies squared)"
static void test_silence__regex_bound(void **state)
{
	struct silences *s = store();
	char id[SILENCE_ID_LEN];

	(void)state;
	add_bad(s, "{" BASE ",'matchers':['host!~e+++++++++++++++++'],'duration':'1h'}", T0, -VIGIL_EINVAL,
		"silence: matchers[0]: regular expression 'e+++++++++++++++++' is too complex (inf "
		"compiled nodes, " RE_LIMITS);
	add_bad(s, "{" BASE ",'matchers':['x=~(((a*)+){1,30}){1,30}'],'duration':'1h'}", T0, -VIGIL_EINVAL,
		"silence: matchers[0]: regular expression '(((a*)+){1,30}){1,30}' is too complex (inf "
		"compiled nodes, " RE_LIMITS);
	add_bad(s, "{" BASE ",'matchers':['x=~a{1,20000}'],'duration':'1h'}", T0, -VIGIL_EINVAL,
		"silence: matchers[0]: regular expression 'a{1,20000}' is too complex (inf compiled "
		"nodes, " RE_LIMITS);
	/* a count over what may match nothing: regcomp's closures chain across
	 * the copies (11.6 GB and 9 minutes before it was priced squared) */
	add_bad(s, "{" BASE ",'matchers':['x=~(a|b*){1,900}'],'duration':'1h'}", T0, -VIGIL_EINVAL,
		"silence: matchers[0]: regular expression '(a|b*){1,900}' is too complex (2.03e+07 "
		"compiled nodes, " RE_LIMITS);
	add_bad(s, "{" BASE ",'matchers':['x=~(a{1,100}){1,100}'],'duration':'1h'}", T0, -VIGIL_EINVAL,
		"silence: matchers[0]: regular expression '(a{1,100}){1,100}' is too complex (1.02e+04 "
		"compiled nodes, " RE_LIMITS);
	/* an unmatched ')' is a literal to glibc, but closes the anchoring group:
	 * refused before it is priced or compiled */
	add_bad(s, "{" BASE ",'matchers':['x=~8(a{1,1000})/{1,1000}){1,1000}'],'duration':'1h'}", T0,
		-VIGIL_EINVAL,
		"silence: matchers[0]: bad regular expression '8(a{1,1000})/{1,1000}){1,1000}': the ')' at "
		"column 22 closes no '(' (write \\) for a literal parenthesis)");
	add_bad(s, "{" BASE ",'matchers':['x=~x){2}'],'duration':'1h'}", T0, -VIGIL_EINVAL,
		"silence: matchers[0]: bad regular expression 'x){2}': the ')' at column 2 closes no '(' "
		"(write \\) "
		"for a literal parenthesis)");
	add_ok(s,
	       "{" BASE ",'matchers':['x=~(a{1,100}){1,40}','host=~db[0-9]+','y=~(a*)+','z=~[)]\\\\)'],'"
	       "duration':'1h'}",
	       T0, 0, id);
	silences_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silence__replay_same_id),
		cmocka_unit_test(test_silence__created_at_pins_id),
		cmocka_unit_test(test_silence__json_round_trip),
		cmocka_unit_test(test_silence__gc),
		cmocka_unit_test(test_silence__next_change),
		cmocka_unit_test(test_silence__release),
		cmocka_unit_test(test_silence__limit),
		cmocka_unit_test(test_silence__preview),
		cmocka_unit_test(test_silence__regex_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
