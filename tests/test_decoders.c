/* Tests for consumers/: the UTF-8 and number helpers, the decoder registry
 * and streams (length, UTF-8, blank/comment lines, auto-detection), each
 * format's good and bad records with exact expected points and error columns,
 * collectd counter rates, and a fixed-seed fuzz loop over all decoders. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/testutil.h"

#include "consumers/decoder.h"
#include "core/timefmt.h"

/* ---- a point collector ---- */

#define MAXPTS 64

struct got {
	char name[POINT_MAX_NAME + 1];
	char tags[1024]; /* "k=v,k=v" sorted by key */
	double ts, value;
};

struct sink {
	struct got pts[MAXPTS];
	int n;
	int stop_rc; /* returned by collect() when non-zero */
};

static int tag_cmp(const void *a, const void *b)
{
	const struct tag *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Checks the point invariants the decoder contract promises, then copies. */
static int collect(void *ctx, const struct point *p)
{
	struct sink *s = ctx;
	struct tag t[POINT_MAX_TAGS];
	struct got *g;
	size_t used = 0;

	assert_non_null(p->name);
	assert_true(p->name[0] != '\0');
	assert_true(strlen(p->name) <= POINT_MAX_NAME);
	assert_true(utf8_valid(p->name, strlen(p->name), NULL));
	assert_true(p->ntags >= 0 && p->ntags <= POINT_MAX_TAGS);
	assert_true(isfinite(p->ts));
	assert_true(isfinite(p->value));
	for (int i = 0; i < p->ntags; i++) {
		assert_non_null(p->tags[i].key);
		assert_non_null(p->tags[i].value);
		assert_true(utf8_valid(p->tags[i].key, strlen(p->tags[i].key), NULL));
		assert_true(utf8_valid(p->tags[i].value, strlen(p->tags[i].value), NULL));
		t[i] = p->tags[i];
	}
	if (s->n >= MAXPTS)
		return s->stop_rc; /* fuzz: just count */
	g = &s->pts[s->n++];
	snprintf(g->name, sizeof g->name, "%s", p->name);
	qsort(t, (size_t)p->ntags, sizeof t[0], tag_cmp);
	g->tags[0] = '\0';
	for (int i = 0; i < p->ntags; i++) {
		int w = snprintf(g->tags + used, sizeof g->tags - used, "%s%s=%s", i ? "," : "", t[i].key,
				 t[i].value);
		if (w > 0 && (size_t)w < sizeof g->tags - used)
			used += (size_t)w;
	}
	g->ts = p->ts;
	g->value = p->value;
	return s->stop_rc;
}

static struct sink *sink_new(void)
{
	struct sink *s = calloc(1, sizeof *s);
	assert_non_null(s);
	return s;
}

static char errbuf[512];

static int feed(struct decoder *d, struct sink *s, const char *rec)
{
	errbuf[0] = '\0';
	return decoder_feed(d, rec, strlen(rec), collect, s, errbuf, sizeof errbuf);
}

static struct decoder *open_fmt(const char *fmt, const char *series)
{
	struct decoder_opts o = {series, 0};
	if (strcmp(fmt, "collectd-raw") == 0) { /* collectd with StoreRates false */
		fmt = "collectd";
		o.collectd_raw = 1;
	}
	struct decoder *d = NULL;
	char err[256];
	int rc = decoder_open(fmt, &o, &d, err, sizeof err);
	if (rc != 0)
		fail_msg("decoder_open(%s): %s", fmt, err);
	assert_non_null(d);
	return d;
}

static void expect_point(const struct sink *s, int i, const char *name, const char *tags, double ts,
			 double value)
{
	assert_true(i < s->n);
	assert_string_equal(s->pts[i].name, name);
	assert_string_equal(s->pts[i].tags, tags);
	assert_near(s->pts[i].ts, ts, 1e-12);
	assert_near(s->pts[i].value, value, 1e-12);
}

/* Feeds rec, expects -VIGIL_EINVAL, no point, and an error starting with
 * "column N:" (any N when col == 0). */
static void expect_bad(struct decoder *d, const char *rec, int col)
{
	struct sink *s = sink_new();
	char want[32];
	int rc = feed(d, s, rec);

	if (rc != -VIGIL_EINVAL)
		fail_msg("record %.80s: rc %d (want EINVAL), err \"%s\"", rec, rc, errbuf);
	if (s->n != 0)
		fail_msg("record %.80s: %d points emitted on error", rec, s->n);
	if (strncmp(errbuf, "column ", 7) != 0 || strchr(errbuf, ':') == NULL)
		fail_msg("record %.80s: error \"%s\" lacks \"column N:\"", rec, errbuf);
	if (col > 0) {
		snprintf(want, sizeof want, "column %d:", col);
		if (strncmp(errbuf, want, strlen(want)) != 0)
			fail_msg("record %.80s: error \"%s\", want \"%s\"", rec, errbuf, want);
	}
	free(s);
}

/* ---- helpers ---- */

static void test_utf8__valid_and_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
		size_t col;
	} cases[] = {
		{"", 0, 1, 0},
		{"plain ascii", 11, 1, 0},
		{"caf\xc3\xa9", 5, 1, 0},      /* U+00E9 */
		{"\xe2\x82\xac", 3, 1, 0},     /* U+20AC */
		{"\xf0\x9f\x98\x80", 4, 1, 0}, /* U+1F600 */
		{"\xf4\x8f\xbf\xbf", 4, 1, 0}, /* U+10FFFF, the last one */
		{"\xed\x9f\xbf", 3, 1, 0},     /* U+D7FF, just below surrogates */
		{"ab\x80", 3, 0, 3},           /* lone continuation */
		{"\xc0\xaf", 2, 0, 1},         /* overlong '/' */
		{"\xc1\xbf", 2, 0, 1},         /* overlong */
		{"x\xe0\x80\xaf", 4, 0, 2},    /* overlong 3-byte */
		{"\xf0\x80\x80\xaf", 4, 0, 1}, /* overlong 4-byte */
		{"\xed\xa0\x80", 3, 0, 1},     /* U+D800 surrogate */
		{"\xed\xbf\xbf", 3, 0, 1},     /* U+DFFF surrogate */
		{"\xf4\x90\x80\x80", 4, 0, 1}, /* U+110000 */
		{"\xf5\x80\x80\x80", 4, 0, 1}, /* F5 never valid */
		{"abc\xff", 4, 0, 4},          /* FF never valid */
		{"abc\xe2\x82", 5, 0, 4},      /* truncated at end */
		{"\xe2\x82x", 3, 0, 1},        /* bad continuation */
		{"\xf0\x9f\x98", 3, 0, 1},     /* truncated 4-byte */
		{"ok\xc3\xa9\xc3", 5, 0, 5},   /* truncated 2-byte */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t col = 0;
		int ok = utf8_valid(cases[i].s, cases[i].n, &col);
		if (ok != cases[i].ok)
			fail_msg("case %zu: utf8_valid %d want %d", i, ok, cases[i].ok);
		if (!ok && col != cases[i].col)
			fail_msg("case %zu: column %zu want %zu", i, col, cases[i].col);
	}
}

static void test_parse_finite__strict(void **state)
{
	static const struct {
		const char *s;
		double want;
	} good[] = {
		{"12.5", 12.5}, {"-3", -3.0},   {"+4", 4.0}, {"1e3", 1000.0}, {".5", 0.5},
		{"5.", 5.0},    {"1E-2", 0.01}, {"-0", 0.0}, {"1e-999", 0.0}, {"007", 7.0},
	};
	static const char *const bad[] = {"",         " 1",   "1 ",    "nan",    "NaN", "inf",   "-inf",
					  "Infinity", "0x10", "1e999", "-1e999", "1e",  "1e+",   "abc",
					  "1.2.3",    "--1",  ".",     "+",      "1,5", "1_000", "e5"};
	double v;
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = NAN;
		if (parse_finite(good[i].s, strlen(good[i].s), &v) != 0)
			fail_msg("\"%s\" rejected", good[i].s);
		assert_near(v, good[i].want, 1e-15);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 42.0;
		if (parse_finite(bad[i], strlen(bad[i]), &v) == 0)
			fail_msg("\"%s\" accepted as %g", bad[i], v);
		assert_near(v, 42.0, 0); /* untouched on error */
	}
	/* not NUL-terminated: only n bytes are read */
	assert_int_equal(parse_finite("12345", 2, &v), 0);
	assert_near(v, 12.0, 0);
	/* a long but valid number (longer than the stack copy) */
	{
		char longnum[300];
		memset(longnum, '0', sizeof longnum);
		longnum[0] = '1';
		longnum[1] = '.';
		assert_int_equal(parse_finite(longnum, sizeof longnum, &v), 0);
		assert_near(v, 1.0, 0);
	}
}

/* parse_finite's fast path must return exactly strtod's double: random
 * numbers in every shape (integers, fractions, exponents, leading and
 * trailing zeros, 1 to 22 digits, signs) compared bit for bit. */
static void test_parse_finite__same_bits_as_strtod(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[64];
	size_t fast_shapes = 0;
	(void)state;
	for (int iter = 0; iter < 400000; iter++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t n = 0;
		int sign = (int)(x % 3), ndig = 1 + (int)((x >> 4) % 22), dot = (int)((x >> 10) % (ndig + 2)),
		    lead0 = (int)((x >> 16) % 3), exp = (int)((x >> 20) % 4);
		uint64_t r = x * 0x2545f4914f6cdd1dull;
		if (sign == 1)
			buf[n++] = '-';
		else if (sign == 2)
			buf[n++] = '+';
		for (int k = 0; k < lead0; k++)
			buf[n++] = '0';
		for (int k = 0; k < ndig; k++) {
			if (k == dot)
				buf[n++] = '.';
			buf[n++] = (char)('0' + (r % 10));
			r = r / 10 ? r / 10 : x ^ (uint64_t)k * 0x9e3779b97f4a7c15ull;
		}
		if (exp == 1)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "e%d", (int)((x >> 32) % 60) - 30);
		else if (exp == 2)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "E+%d", (int)((x >> 32) % 25));
		buf[n] = '\0';
		double got = NAN, want = strtod(buf, NULL);
		int rc = parse_finite(buf, n, &got);
		if (rc != 0)
			fail_msg("\"%s\" rejected", buf);
		if (memcmp(&got, &want, sizeof got) != 0)
			fail_msg("\"%s\": parse_finite %.17g, strtod %.17g", buf, got, want);
		fast_shapes += ndig <= 15 && exp != 1;
	}
	assert_true(fast_shapes > 100000); /* the fast path's shapes were covered */
	/* boundaries of the fast path: 2^53 +- 1, 19 and 20 digits, 10^+-22 and 10^+-23 */
	static const char *const edge[] = {"9007199254740992",
					   "9007199254740993",
					   "9007199254740991",
					   "1234567890123456789",
					   "12345678901234567890",
					   "1e22",
					   "1e23",
					   "1e-22",
					   "1e-23",
					   "0.000000000000000000000001",
					   "-0.0",
					   "4.9e-324",
					   "8.98846567431158e307"};
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
		double got = NAN, want = strtod(edge[i], NULL);
		assert_int_equal(parse_finite(edge[i], strlen(edge[i]), &got), 0);
		if (memcmp(&got, &want, sizeof got) != 0)
			fail_msg("\"%s\": parse_finite %.17g, strtod %.17g", edge[i], got, want);
	}
}

/* ---- registry and streams ---- */

static void test_registry__names_and_order(void **state)
{
	static const char *const want[] = {"json",   "collectd", "nabcsv", "graphite",
					   "influx", "telegraf", "otlp",   "prometheus"};
	const struct decoder_type *const *all = decoder_all();
	struct decoder *d = (struct decoder *)&d;
	char err[256];
	size_t i;
	(void)state;
	for (i = 0; all[i] != NULL; i++) {
		assert_true(i < 8);
		assert_string_equal(all[i]->name, want[i]);
		assert_ptr_equal(decoder_find(want[i]), all[i]);
		assert_non_null(all[i]->summary);
		assert_non_null(all[i]->sniff);
		assert_non_null(all[i]->decode);
	}
	assert_int_equal(i, 8);
	assert_null(decoder_find("auto"));
	assert_null(decoder_find("csv"));
	assert_null(decoder_find(NULL));
	assert_int_equal(decoder_open("protobuf", NULL, &d, err, sizeof err), -VIGIL_ENOENT);
	assert_null(d);
	assert_non_null(strstr(err, "protobuf"));
	assert_non_null(strstr(err, "influx"));
	assert_non_null(strstr(err, "auto"));
	/* NULL opts is allowed */
	assert_int_equal(decoder_open("auto", NULL, &d, err, sizeof err), 0);
	decoder_close(d);
	decoder_close(NULL);
}

static void test_feed__blank_comment_length_utf8(void **state)
{
	struct decoder *d = open_fmt("auto", "s");
	struct sink *s = sink_new();
	char *big;
	(void)state;

	assert_int_equal(feed(d, s, ""), 0);
	assert_int_equal(feed(d, s, "   \t "), 0);
	assert_int_equal(feed(d, s, "\r"), 0);
	assert_int_equal(feed(d, s, "# a comment {\"series\":1}"), 0);
	assert_int_equal(feed(d, s, "  # indented comment"), 0);
	assert_int_equal(s->n, 0);

	/* over-long record: rejected before anything is read */
	big = malloc(DECODER_MAX_RECORD + 1);
	assert_non_null(big);
	memset(big, 'a', DECODER_MAX_RECORD + 1);
	assert_int_equal(decoder_feed(d, big, DECODER_MAX_RECORD + 1, collect, s, errbuf, sizeof errbuf),
			 -VIGIL_EINVAL);
	assert_int_equal(strncmp(errbuf, "column 1048577:", 15), 0);
	/* exactly at the limit it is read (and is then not a known format) */
	assert_int_equal(decoder_feed(d, big, DECODER_MAX_RECORD, collect, s, errbuf, sizeof errbuf),
			 -VIGIL_EINVAL);
	assert_string_equal(errbuf,
			    "column 1: unrecognised record format (fits none of json, collectd, nabcsv, "
			    "graphite, influx, telegraf, otlp, prometheus)");
	free(big);

	/* invalid UTF-8 in several byte patterns, column of the first bad byte */
	expect_bad(d, "cpu value=1 \xff", 13);
	expect_bad(d, "{\"series\":\"a\xc0\xaf\",\"ts\":1,\"value\":1}", 13);
	expect_bad(d, "a.b\xed\xa0\x80 1 2", 4);
	expect_bad(d, "2014-04-01 00:00:00,1\xf4\x90\x80\x80", 22);
	expect_bad(d, "x\xe2\x82", 2);
	expect_bad(d, "\x80", 1);
	assert_non_null(strstr(errbuf, "invalid UTF-8"));
	/* NUL byte */
	assert_int_equal(decoder_feed(d, "a.b\0 1 2", 8, collect, s, errbuf, sizeof errbuf), -VIGIL_EINVAL);
	assert_int_equal(strncmp(errbuf, "column 4:", 9), 0);
	/* CRLF line ending is tolerated */
	assert_int_equal(feed(d, s, "a.b 1 2\r"), 0);
	assert_int_equal(s->n, 1);
	expect_point(s, 0, "a.b", "", 2.0, 1.0);
	/* err may be NULL */
	assert_int_equal(decoder_feed(d, "zzz", 3, collect, s, NULL, 0), -VIGIL_EINVAL);
	free(s);
	decoder_close(d);
}

static void test_feed__emit_stop_value_is_returned(void **state)
{
	struct decoder *d = open_fmt("influx", NULL);
	struct sink *s = sink_new();
	(void)state;
	s->stop_rc = 7;
	assert_int_equal(feed(d, s, "m a=1,b=2,c=3 1000000000"), 7);
	assert_int_equal(s->n, 1); /* stopped after the first point */
	free(s);
	decoder_close(d);
}

/* ---- json ---- */

static void test_json__good(void **state)
{
	struct decoder *d = open_fmt("json", NULL);
	struct sink *s = sink_new();
	(void)state;

	assert_int_equal(feed(d, s,
			      "{\"series\":\"api.latency\",\"tags\":{\"app\":\"checkout\",\"region\":\"eu\"},"
			      "\"ts\":1700000000.5,"
			      "\"value\":12.3}"),
			 0);
	expect_point(s, 0, "api.latency", "app=checkout,region=eu", 1700000000.5, 12.3);
	/* synonyms, ms/us/ns epochs, value as a string, unknown keys ignored */
	assert_int_equal(
		feed(d, s, "{\"name\":\"a\",\"timestamp\":1700000000500,\"value\":\"-4.5e1\",\"x\":[1]}"), 0);
	expect_point(s, 1, "a", "", 1700000000.5, -45.0);
	assert_int_equal(feed(d, s, "{\"metric\":\"b\",\"time\":1700000000250000,\"value\":3}"), 0);
	expect_point(s, 2, "b", "", 1700000000.25, 3.0);
	assert_int_equal(feed(d, s, "{\"series\":\"c\",\"ts\":1700000000000000000,\"value\":0}"), 0);
	expect_point(s, 3, "c", "", 1700000000.0, 0.0);
	/* RFC 3339 string; 2023-11-14T22:13:20Z is 1700000000 */
	assert_int_equal(feed(d, s, "{\"series\":\"d\",\"ts\":\"2023-11-14T22:13:20.5Z\",\"value\":1}"), 0);
	expect_point(s, 4, "d", "", 1700000000.5, 1.0);
	assert_int_equal(feed(d, s, "{\"series\":\"d\",\"ts\":\"2023-11-15T00:13:20+02:00\",\"value\":1}"),
			 0);
	expect_point(s, 5, "d", "", 1700000000.0, 1.0);
	/* tag values: number, real, bool; UTF-8 names */
	assert_int_equal(
		feed(d, s,
		     "{\"series\":\"caf\xc3\xa9\",\"tags\":{\"n\":42,\"r\":0.1,\"b\":true,\"f\":false},"
		     "\"ts\":10,\"value\":2}"),
		0);
	expect_point(s, 6, "caf\xc3\xa9", "b=true,f=false,n=42,r=0.1", 10.0, 2.0);
	/* null tags allowed; whitespace around the object */
	assert_int_equal(feed(d, s, "  { \"series\" : \"e\", \"tags\": null, \"ts\": 1, \"value\": 1e2 }  "),
			 0);
	expect_point(s, 7, "e", "", 1.0, 100.0);
	/* an integer beyond int64 is read as a real */
	assert_int_equal(feed(d, s, "{\"series\":\"f\",\"ts\":1,\"value\":100000000000000000000}"), 0);
	expect_point(s, 8, "f", "", 1.0, 1e20);
	assert_int_equal(s->n, 9);
	free(s);
	decoder_close(d);
}

static void test_json__bad(void **state)
{
	struct decoder *d = open_fmt("json", NULL);
	char rec[2048];
	size_t used;
	(void)state;

	/* syntax errors: jansson's byte position */
	expect_bad(d, "{\"series\":x}", 11);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":1", 0);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":1} trailing", 0);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":NaN}", 0);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":Infinity}", 0);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":1e999}", 0);
	expect_bad(d, "{\"series\":\"a\",\"series\":\"b\",\"ts\":1,\"value\":1}", 0);
	expect_bad(d, "[1,2]", 1);
	/* missing fields */
	expect_bad(d, "{\"ts\":1,\"value\":1}", 1);
	assert_non_null(strstr(errbuf, "series"));
	expect_bad(d, "{\"series\":\"a\",\"value\":1}", 1);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1}", 1);
	/* wrong types / values; column of the key */
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":\"abc\"}", 22);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":\"NaN\"}", 22);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":\"inf\"}", 22);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":\"1e999\"}", 22);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":true}", 22);
	expect_bad(d, "{\"series\":\"a\",\"ts\":1,\"value\":null}", 22);
	expect_bad(d, "{\"series\":\"a\",\"ts\":\"yesterday\",\"value\":1}", 15);
	expect_bad(d, "{\"series\":\"a\",\"ts\":[1],\"value\":1}", 15);
	expect_bad(d, "{\"series\":\"\",\"ts\":1,\"value\":1}", 2);
	expect_bad(d, "{\"series\":5,\"ts\":1,\"value\":1}", 2);
	expect_bad(d, "{\"series\":\"a\",\"name\":\"b\",\"ts\":1,\"value\":1}", 0);
	/* tags: nested, array, null value, not an object, empty key */
	expect_bad(d, "{\"series\":\"a\",\"tags\":{\"k\":{\"x\":1}},\"ts\":1,\"value\":1}", 0);
	expect_bad(d, "{\"series\":\"a\",\"tags\":{\"k\":[1]},\"ts\":1,\"value\":1}", 0);
	expect_bad(d, "{\"series\":\"a\",\"tags\":{\"k\":null},\"ts\":1,\"value\":1}", 0);
	expect_bad(d, "{\"series\":\"a\",\"tags\":\"k=v\",\"ts\":1,\"value\":1}", 15);
	expect_bad(d, "{\"series\":\"a\",\"tags\":{\"\":\"v\"},\"ts\":1,\"value\":1}", 0);
	/* 33 tags is one too many; 32 is fine */
	for (int ntags = 32; ntags <= 33; ntags++) {
		struct sink *s = sink_new();
		used = (size_t)snprintf(rec, sizeof rec, "{\"series\":\"a\",\"tags\":{");
		for (int i = 0; i < ntags; i++)
			used += (size_t)snprintf(rec + used, sizeof rec - used, "%s\"k%d\":\"v\"",
						 i ? "," : "", i);
		snprintf(rec + used, sizeof rec - used, "},\"ts\":1,\"value\":1}");
		if (ntags == 32) {
			assert_int_equal(feed(d, s, rec), 0);
			assert_int_equal(s->n, 1);
		} else {
			expect_bad(d, rec, 15);
			assert_non_null(strstr(errbuf, "tags"));
		}
		free(s);
	}
	/* series name of 513 bytes is too long, 512 is fine */
	for (int n = 512; n <= 513; n++) {
		struct sink *s = sink_new();
		used = (size_t)snprintf(rec, sizeof rec, "{\"series\":\"");
		memset(rec + used, 'x', (size_t)n);
		snprintf(rec + used + (size_t)n, sizeof rec - used - (size_t)n, "\",\"ts\":1,\"value\":1}");
		if (n == 512) {
			assert_int_equal(feed(d, s, rec), 0);
			assert_int_equal(strlen(s->pts[0].name), 512);
		} else {
			expect_bad(d, rec, 2);
		}
		free(s);
	}
	/* \u0000 and lone surrogate escapes */
	expect_bad(d, "{\"series\":\"a\\u0000b\",\"ts\":1,\"value\":1}", 0);
	expect_bad(d, "{\"series\":\"a\\ud800\",\"ts\":1,\"value\":1}", 0);
	decoder_close(d);
}

/* ---- influx ---- */

static void test_influx__good(void **state)
{
	struct decoder *d = open_fmt("influx", NULL);
	struct sink *s = sink_new();
	time_t before, after;
	(void)state;

	assert_int_equal(
		feed(d, s, "cpu,host=web1,region=eu usage_idle=98.5,usage_user=1.25 1700000000500000000"), 0);
	assert_int_equal(s->n, 2);
	expect_point(s, 0, "cpu.usage_idle", "host=web1,region=eu", 1700000000.5, 98.5);
	expect_point(s, 1, "cpu.usage_user", "host=web1,region=eu", 1700000000.5, 1.25);
	/* field "value" keeps the bare measurement; int, unsigned, bools, strings skipped */
	s->n = 0;
	assert_int_equal(feed(d, s,
			      "disk value=3,used=-12i,free=18446744073709551615u,ok=t,bad=FALSE,"
			      "path=\"/var, \\\"log\\\" a=b\",x=True 1000000000"),
			 0);
	assert_int_equal(s->n, 6);
	expect_point(s, 0, "disk", "", 1.0, 3.0);
	expect_point(s, 1, "disk.used", "", 1.0, -12.0);
	expect_point(s, 2, "disk.free", "", 1.0, 18446744073709551615.0);
	expect_point(s, 3, "disk.ok", "", 1.0, 1.0);
	expect_point(s, 4, "disk.bad", "", 1.0, 0.0);
	expect_point(s, 5, "disk.x", "", 1.0, 1.0);
	/* escapes in measurement, tag keys/values and field keys */
	s->n = 0;
	assert_int_equal(feed(d, s, "my\\ meas\\,x,ta\\=g\\ k=v\\,a\\ l\\=1 f\\ k\\,\\==2 -1500000000"), 0);
	assert_int_equal(s->n, 1);
	expect_point(s, 0, "my meas,x.f k,=", "ta=g k=v,a l=1", -1.5, 2.0);
	/* a backslash before another character is literal */
	s->n = 0;
	assert_int_equal(feed(d, s, "c:\\dir,t=a\\b v=1 0"), 0);
	expect_point(s, 0, "c:\\dir.v", "t=a\\b", 0.0, 1.0);
	/* only string fields: nothing emitted, not an error */
	s->n = 0;
	assert_int_equal(feed(d, s, "log msg=\"hello world\",lvl=\"info\" 1000000000"), 0);
	assert_int_equal(s->n, 0);
	/* missing timestamp: now */
	before = time(NULL);
	assert_int_equal(feed(d, s, "mem,host=a used=5"), 0);
	after = time(NULL);
	assert_int_equal(s->n, 1);
	assert_true(s->pts[0].ts >= (double)before && s->pts[0].ts < (double)after + 1.0);
	expect_point(s, 0, "mem.used", "host=a", s->pts[0].ts, 5.0);
	/* trailing spaces tolerated */
	s->n = 0;
	assert_int_equal(feed(d, s, "m v=1 2000000000  "), 0);
	expect_point(s, 0, "m.v", "", 2.0, 1.0);
	free(s);
	decoder_close(d);
}

static void test_influx__bad(void **state)
{
	struct decoder *d = open_fmt("influx", NULL);
	char rec[4096];
	size_t used;
	(void)state;

	expect_bad(d, "cpu,host=a usage=abc 1", 18);
	expect_bad(d, "cpu", 4);            /* no field set */
	expect_bad(d, "cpu,host=a", 11);    /* no field set */
	expect_bad(d, "cpu ", 5);           /* empty field key */
	expect_bad(d, ",t=1 v=1", 1);       /* empty measurement */
	expect_bad(d, "cpu,=a v=1", 5);     /* empty tag key */
	expect_bad(d, "cpu,host v=1", 9);   /* tag without = */
	expect_bad(d, "cpu,host= v=1", 10); /* empty tag value */
	expect_bad(d, "cpu v", 6);          /* field without = */
	expect_bad(d, "cpu v=", 7);         /* empty value */
	expect_bad(d, "cpu v=NaN", 7);
	expect_bad(d, "cpu v=nan", 7);
	expect_bad(d, "cpu v=inf", 7);
	expect_bad(d, "cpu v=-Inf", 7);
	expect_bad(d, "cpu v=1e999", 7);
	expect_bad(d, "cpu v=0x10", 7);
	expect_bad(d, "cpu v=99999999999999999999i", 7);
	expect_bad(d, "cpu v=-1u", 7);
	expect_bad(d, "cpu v=1.5i", 7);
	expect_bad(d, "cpu v=yes", 7);
	expect_bad(d, "cpu v=\"open", 7); /* unterminated string */
	expect_bad(d, "cpu v=1,", 9);     /* empty field key after comma */
	expect_bad(d, "cpu v=1 12.5", 9); /* non-integer timestamp */
	expect_bad(d, "cpu v=1 1e9", 9);
	expect_bad(d, "cpu v=1 123 456", 13); /* junk after timestamp */
	expect_bad(d, "cpu v=\"s\"x=1", 10);  /* junk after a string */
	/* 33 tags */
	used = (size_t)snprintf(rec, sizeof rec, "m");
	for (int i = 0; i < 33; i++)
		used += (size_t)snprintf(rec + used, sizeof rec - used, ",k%d=v", i);
	snprintf(rec + used, sizeof rec - used, " v=1 0");
	expect_bad(d, rec, 0);
	assert_non_null(strstr(errbuf, "tags"));
	/* measurement + field name over POINT_MAX_NAME */
	memset(rec, 'm', 510);
	snprintf(rec + 510, sizeof rec - 510, " fi=1 0");
	expect_bad(d, rec, 512);
	memset(rec, 'm', 513);
	snprintf(rec + 513, sizeof rec - 513, " value=1 0");
	expect_bad(d, rec, 1);
	/* 510 + "." + "f" = 512 is fine */
	{
		struct sink *s = sink_new();
		memset(rec, 'm', 510);
		snprintf(rec + 510, sizeof rec - 510, " f=1 0");
		assert_int_equal(feed(d, s, rec), 0);
		assert_int_equal(strlen(s->pts[0].name), 512);
		free(s);
	}
	/* all-or-nothing: a bad second field emits nothing */
	expect_bad(d, "cpu a=1,b=zz,c=3 0", 11);
	decoder_close(d);
}

/* ---- graphite ---- */

static void test_graphite__good(void **state)
{
	struct decoder *d = open_fmt("graphite", NULL);
	struct sink *s = sink_new();
	time_t before, after;
	(void)state;

	assert_int_equal(feed(d, s, "servers.web1.cpu 12.5 1700000000"), 0);
	expect_point(s, 0, "servers.web1.cpu", "", 1700000000.0, 12.5);
	assert_int_equal(feed(d, s, "a.b\t-3e2\t\t1700000000.25"), 0);
	expect_point(s, 1, "a.b", "", 1700000000.25, -300.0);
	assert_int_equal(feed(d, s, "disk.used;host=web1;dc=eu 7 1700000001"), 0);
	expect_point(s, 2, "disk.used", "dc=eu,host=web1", 1700000001.0, 7.0);
	assert_int_equal(feed(d, s, "x;k=a=b 1 5"), 0); /* value may hold '=' */
	expect_point(s, 3, "x", "k=a=b", 5.0, 1.0);
	/* -1 or missing timestamp: now */
	before = time(NULL);
	assert_int_equal(feed(d, s, "now.a 1 -1"), 0);
	assert_int_equal(feed(d, s, "now.b 2"), 0);
	after = time(NULL);
	assert_int_equal(s->n, 6);
	for (int i = 4; i < 6; i++)
		assert_true(s->pts[i].ts >= (double)before && s->pts[i].ts < (double)after + 1.0);
	assert_near(s->pts[5].value, 2.0, 0);
	free(s);
	decoder_close(d);
}

static void test_graphite__bad(void **state)
{
	struct decoder *d = open_fmt("graphite", NULL);
	char rec[2048];
	size_t used;
	(void)state;

	expect_bad(d, "a.b abc 17", 5);
	expect_bad(d, "a.b nan 17", 5);
	expect_bad(d, "a.b NaN 17", 5);
	expect_bad(d, "a.b inf 17", 5);
	expect_bad(d, "a.b -inf 17", 5);
	expect_bad(d, "a.b 1e999 17", 5);
	expect_bad(d, "a.b 1 tomorrow", 7);
	expect_bad(d, "a.b 1 1e999", 7);
	expect_bad(d, "a.b 1 1e300", 7); /* finite, but no time vigil can represent */
	expect_bad(d, "a.b 1 -1e13", 7);
	expect_bad(d, "a.b 1 2 3", 9);
	expect_bad(d, "a.b", 4);
	expect_bad(d, ";k=v 1 2", 1);
	expect_bad(d, "a;k 1 2", 3);
	expect_bad(d, "a;=v 1 2", 3);
	expect_bad(d, "a;k= 1 2", 3);
	expect_bad(d, "a; 1 2", 3);
	expect_bad(d, "a;k=v;;j=w 1 2", 7);
	used = (size_t)snprintf(rec, sizeof rec, "m");
	for (int i = 0; i < 33; i++)
		used += (size_t)snprintf(rec + used, sizeof rec - used, ";k%d=v", i);
	snprintf(rec + used, sizeof rec - used, " 1 2");
	expect_bad(d, rec, 0);
	memset(rec, 'p', 513);
	snprintf(rec + 513, sizeof rec - 513, " 1 2");
	expect_bad(d, rec, 1);
	decoder_close(d);
}

/* ---- nabcsv ---- */

static void test_nabcsv__good_and_bad(void **state)
{
	struct decoder *d = open_fmt("nabcsv", "art_daily_jumpsup");
	struct decoder *nos = open_fmt("nabcsv", NULL);
	struct sink *s = sink_new();
	(void)state;

	assert_int_equal(feed(d, s, "timestamp,value"), 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(feed(d, s, "2014-04-01 00:00:00,12.5"), 0);
	expect_point(s, 0, "art_daily_jumpsup", "", time_from_civil(2014, 4, 1, 0, 0, 0), 12.5);
	/* 2014-04-01 is 16161 days after the epoch */
	assert_near(s->pts[0].ts, 16161.0 * 86400.0, 0);
	assert_int_equal(feed(d, s, "2014-04-01 00:05:00,-20"), 0);
	expect_point(s, 1, "art_daily_jumpsup", "", 16161.0 * 86400.0 + 300.0, -20.0);

	expect_bad(d, "2014-04-01 00:00:00,xyz", 21);
	expect_bad(d, "2014-04-01 00:00:00,", 21);
	expect_bad(d, "2014-04-01 00:00:00,nan", 21);
	expect_bad(d, "2014-04-01 00:00:00,1e999", 21);
	expect_bad(d, "2014-13-01 00:00:00,1", 6);
	expect_bad(d, "2014-04-01 00:00,1", 17);
	expect_bad(d, "2014-04-01 00:00:00", 20);
	expect_bad(d, "2014-04-01 00:00:00,1,2", 22);
	expect_bad(d, "1396310400,1", 0);
	expect_bad(nos, "2014-04-01 00:00:00,12.5", 1);
	assert_string_equal(errbuf, "column 1: CSV rows carry no series name");
	assert_int_equal(feed(nos, s, "timestamp,value"), 0); /* header is fine without a name */
	free(s);
	decoder_close(d);
	decoder_close(nos);
}

/* ---- collectd ---- */

static void test_collectd__gauges_names_tags(void **state)
{
	struct decoder *d = open_fmt("collectd", NULL);
	struct sink *s = sink_new();
	(void)state;

	assert_int_equal(
		feed(d, s,
		     "[{\"values\":[0.5,0.75,null],\"dstypes\":[\"gauge\",\"gauge\",\"gauge\"],"
		     "\"dsnames\":[\"shortterm\",\"midterm\",\"longterm\"],\"time\":1700000000.123,"
		     "\"interval\":10.0,"
		     "\"host\":\"h1\",\"plugin\":\"load\",\"plugin_instance\":\"\",\"type\":\"load\",\"type_"
		     "instance\":\"\"},"
		     "{\"values\":[97.5],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1700000010,"
		     "\"interval\":10,\"host\":\"h1\",\"plugin\":\"cpu\",\"plugin_instance\":\"0\",\"type\":"
		     "\"percent\","
		     "\"type_instance\":\"idle\"},"
		     "{\"values\":[42],\"dstypes\":[\"gauge\"],\"dsnames\":[\"used\"],\"time\":1700000010,"
		     "\"plugin\":\"mem\",\"type\":\"memory\"}]"),
		0);
	assert_int_equal(s->n, 4);
	expect_point(s, 0, "load.load.shortterm", "host=h1", 1700000000.123, 0.5);
	expect_point(s, 1, "load.load.midterm", "host=h1", 1700000000.123, 0.75);
	expect_point(s, 2, "cpu.percent", "host=h1,plugin_instance=0,type_instance=idle", 1700000010.0, 97.5);
	expect_point(s, 3, "mem.memory.used", "", 1700000010.0, 42.0);
	/* an empty array is a valid record with nothing in it */
	assert_int_equal(feed(d, s, "[]"), 0);
	assert_int_equal(s->n, 4);
	free(s);
	decoder_close(d);
}

static char *cd_rec(char *buf, size_t n, const char *dstype, const char *value, double t, const char *ti)
{
	snprintf(buf, n,
		 "[{\"values\":[%s],\"dstypes\":[\"%s\"],\"dsnames\":[\"value\"],\"time\":%.3f,\"interval\":"
		 "10,"
		 "\"host\":\"h\",\"plugin\":\"interface\",\"plugin_instance\":\"eth0\",\"type\":\"if_"
		 "packets\","
		 "\"type_instance\":\"%s\"}]",
		 value, dstype, t, ti);
	return buf;
}

static void test_collectd__rates_and_wrap(void **state)
{
	struct decoder *d = open_fmt("collectd-raw", NULL);
	struct sink *s = sink_new();
	char r[1024];
	(void)state;

	/* counter: first sample emits nothing; then (1500-1000)/10 s = 50/s */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "1000", 100, "c")), 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "1500", 110, "c")), 0);
	assert_int_equal(s->n, 1);
	expect_point(s, 0, "interface.if_packets", "host=h,plugin_instance=eth0,type_instance=c", 110.0,
		     50.0);
	/* a different type_instance is a different series: first sample again */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "1600", 120, "other")), 0);
	assert_int_equal(s->n, 1);
	/* a sample not newer than the stored one is skipped, state kept */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "9999", 110, "c")), 0);
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "9999", 105, "c")), 0);
	assert_int_equal(s->n, 1);
	/* ... so the next sample is measured against 1500 at 110: 700/20 s */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "2200", 130, "c")), 0);
	assert_int_equal(s->n, 2);
	expect_point(s, 1, "interface.if_packets", "host=h,plugin_instance=eth0,type_instance=c", 130.0,
		     35.0);
	s->n = 1;
	/* 32-bit wrap: 4294967290 -> 5 is 11 increments in 10 s */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "4294967290", 200, "w32")), 0);
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "5", 210, "w32")), 0);
	assert_int_equal(s->n, 2);
	expect_point(s, 1, "interface.if_packets", "host=h,plugin_instance=eth0,type_instance=w32", 210.0,
		     1.1);
	/* 64-bit wrap: 3*2^62 -> 100 is 2^62 + 100 increments in 10 s
	 * (3*2^62 exceeds int64, so the record takes the real-number path) */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "13835058055282163712", 300, "w64")), 0);
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "counter", "100", 310, "w64")), 0);
	assert_int_equal(s->n, 3);
	assert_near(s->pts[2].value, (4611686018427387904.0 + 100.0) / 10.0, 1e-12);
	/* derive: may go negative, (40-100)/20 s = -3/s */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "derive", "100", 400, "d")), 0);
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "derive", "40", 420, "d")), 0);
	assert_int_equal(s->n, 4);
	expect_point(s, 3, "interface.if_packets", "host=h,plugin_instance=eth0,type_instance=d", 420.0,
		     -3.0);
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "derive", "-20", 430, "d")), 0);
	expect_point(s, 4, "interface.if_packets", "host=h,plugin_instance=eth0,type_instance=d", 430.0,
		     -6.0);
	/* absolute: value / interval */
	assert_int_equal(feed(d, s, cd_rec(r, sizeof r, "absolute", "55", 500, "a")), 0);
	expect_point(s, 5, "interface.if_packets", "host=h,plugin_instance=eth0,type_instance=a", 500.0, 5.5);
	/* two samples of one counter in one record (write_http batches) */
	assert_int_equal(feed(d, s,
			      "[{\"values\":[10],\"dstypes\":[\"counter\"],\"dsnames\":[\"rx\"],\"time\":10,"
			      "\"plugin\":\"p\","
			      "\"type\":\"t\"},{\"values\":[30],\"dstypes\":[\"counter\"],\"dsnames\":["
			      "\"rx\"],\"time\":20,"
			      "\"plugin\":\"p\",\"type\":\"t\"}]"),
			 0);
	assert_int_equal(s->n, 7);
	expect_point(s, 6, "p.t.rx", "", 20.0, 2.0);
	free(s);
	decoder_close(d);
}

static void test_collectd__bad_is_all_or_nothing(void **state)
{
	struct decoder *d = open_fmt("collectd-raw", NULL);
	struct sink *s = sink_new();
	static const char good_gauge[] =
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,"
		"\"plugin\":\"g\",\"type\":\"t\"}";
	static const char ctr1[] =
		"{\"values\":[100],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],\"time\":1,"
		"\"plugin\":\"c\",\"type\":\"t\"}";
	static const char ctr2[] =
		"{\"values\":[200],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],\"time\":11,"
		"\"plugin\":\"c\",\"type\":\"t\"}";
	static const char *const bad_elems[] = {
		"{\"values\":[1],\"dstypes\":[\"histogram\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1,2],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"a\",\"b\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[\"x\"],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[-5],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1.5],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"absolute\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"plugin\":\"p\",\"type\":"
		"\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":\"now\",\"plugin\":"
		"\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"type\":\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":\"p\","
		"\"type\":\"t\",\"host\":7}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"\"],\"time\":1,\"plugin\":\"p\","
		"\"type\":\"t\"}",
		"{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"interval\":0,"
		"\"plugin\":\"p\",\"type\":\"t\"}",
		"{\"values\":1,\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"plugin\":\"p\","
		"\"type\":\"t\"}",
		"[1]",
		"42",
	};
	char rec[2048];
	(void)state;

	/* the good counter's first sample goes in the same record as a bad
	 * element: nothing emitted and no counter state recorded */
	for (size_t i = 0; i < sizeof bad_elems / sizeof bad_elems[0]; i++) {
		snprintf(rec, sizeof rec, "[%s,%s,%s]", good_gauge, ctr1, bad_elems[i]);
		expect_bad(d, rec, 1);
	}
	snprintf(rec, sizeof rec, "[%s,%s]", good_gauge, ctr2);
	assert_int_equal(feed(d, s, rec), 0);
	assert_int_equal(s->n, 1); /* gauge only: ctr2 is the counter's first sample */
	expect_point(s, 0, "g.t", "", 1.0, 1.0);
	/* not an array, syntax errors */
	expect_bad(d, "{\"values\":[1]}", 1);
	expect_bad(d, "[{\"values\":[1],}]", 16);
	expect_bad(d, "[", 0);
	expect_bad(d, "[] x", 0);
	/* value too big for a gauge double */
	snprintf(rec, sizeof rec,
		 "[{\"values\":[1e999],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,"
		 "\"plugin\":\"p\",\"type\":\"t\"}]");
	expect_bad(d, rec, 0);
	free(s);
	decoder_close(d);
}

/* ---- auto-detection ---- */

static const struct {
	const char *rec;
	const char *format;
} samples[] = {
	{"{\"series\":\"j\",\"ts\":1,\"value\":1}", "json"},
	{"[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":2,\"plugin\":\"cd\","
	 "\"type\":\"t\"}]",
	 "collectd"},
	{"timestamp,value", "nabcsv"},
	{"2014-04-01 00:00:00,3", "nabcsv"},
	{"g.a 4 5", "graphite"},
	{"g.b;k=v 6", "graphite"},
	{"inf,k=v f=7 8000000000", "influx"},
	{"inf2 value=9", "influx"},
	{"in\\ 5 v=1 0", "influx"},
	{"{\"fields\":{\"f\":10},\"name\":\"tg\",\"tags\":{},\"timestamp\":11}", "telegraf"},
	{"{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"ot\",\"gauge\":{"
	 "\"dataPoints\":[{\"timeUnixNano\":\"12000000000\",\"asInt\":\"13\"}]}}]}]}]}",
	 "otlp"},
	{"pr{k=\"v\"} 14 15000", "prometheus"},
};

static void test_auto__sniff_is_unambiguous(void **state)
{
	const struct decoder_type *const *all = decoder_all();
	(void)state;
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		int yes = 0;
		for (size_t t = 0; all[t] != NULL; t++) {
			int says = all[t]->sniff(samples[i].rec, strlen(samples[i].rec));
			if (says && strcmp(all[t]->name, samples[i].format) != 0)
				fail_msg("%s sniffs \"%s\" (a %s record)", all[t]->name, samples[i].rec,
					 samples[i].format);
			yes += says != 0;
		}
		if (yes != 1)
			fail_msg("\"%s\": %d formats say yes", samples[i].rec, yes);
	}
}

static void test_auto__mixed_stream(void **state)
{
	struct decoder *d = open_fmt("auto", "nabseries");
	struct sink *s = sink_new();
	(void)state;
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
		if (feed(d, s, samples[i].rec) != 0)
			fail_msg("\"%s\": %s", samples[i].rec, errbuf);
	assert_int_equal(s->n, 11);
	expect_point(s, 0, "j", "", 1.0, 1.0);
	expect_point(s, 1, "cd.t", "", 2.0, 1.0);
	expect_point(s, 2, "nabseries", "", 16161.0 * 86400.0, 3.0);
	expect_point(s, 3, "g.a", "", 5.0, 4.0);
	assert_string_equal(s->pts[4].name, "g.b");
	assert_string_equal(s->pts[4].tags, "k=v");
	assert_near(s->pts[4].value, 6.0, 0);
	expect_point(s, 5, "inf.f", "k=v", 8.0, 7.0);
	assert_string_equal(s->pts[6].name, "inf2");
	expect_point(s, 7, "in 5.v", "", 0.0, 1.0);
	expect_point(s, 8, "tg.f", "", 11.0, 10.0);
	expect_point(s, 9, "ot", "", 12.0, 13.0);
	expect_point(s, 10, "pr", "k=v", 15.0, 14.0);
	/* nothing matches */
	expect_bad(d, "hello", 1);
	assert_string_equal(errbuf,
			    "column 1: unrecognised record format (fits none of json, collectd, nabcsv, "
			    "graphite, influx, telegraf, otlp, prometheus)");
	expect_bad(d, "a b c d", 1);
	/* a sniffed format's own error comes through */
	expect_bad(d, "{\"series\":1}", 0);
	expect_bad(d, "2014-99-01 00:00:00,1", 6);
	free(s);
	decoder_close(d);
}

/* ---- fuzz ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static void test_fuzz__no_crash(void **state)
{
	static const char *const fmts[] = {"auto",   "json",     "collectd", "nabcsv",    "graphite",
					   "influx", "telegraf", "otlp",     "prometheus"};
	static const char alphabet[] = "{}[]\":,;= \t\\.-+eE0123456789aiutfnx#\xc3\xa9\xff\x80";
	static const char *const extra[] = {
		"cpu,host=a\\ b,x=y usage=1.5,n=3i,s=\"q\\\"z\",b=t 1700000000000000000",
		"[{\"values\":[1,2],\"dstypes\":[\"counter\",\"derive\"],\"dsnames\":[\"rx\",\"tx\"],"
		"\"time\":5,"
		"\"interval\":1,\"host\":\"h\",\"plugin\":\"if\",\"type\":\"octets\"}]",
		"{\"series\":\"a\",\"tags\":{\"k\":1.5,\"b\":true},\"ts\":\"2023-11-14T22:13:20Z\",\"value\":"
		"\"2\"}",
	};
	struct decoder *dec[9];
	struct sink *s = sink_new();
	char buf[600];
	long emitted = 0, errors = 0;
	(void)state;

	for (size_t i = 0; i < 9; i++)
		dec[i] = open_fmt(fmts[i], "fz");
	for (int iter = 0; iter < 12000; iter++) {
		size_t n;
		const char *base;
		int mode = (int)(rnd() % 3);
		if (mode == 0) {
			/* random bytes from an alphabet rich in syntax */
			n = rnd() % 80;
			for (size_t i = 0; i < n; i++)
				buf[i] = alphabet[rnd() % (sizeof alphabet - 1)];
		} else {
			/* a valid record, mutated */
			size_t k = rnd() % (sizeof samples / sizeof samples[0] + 3);
			base = k < sizeof samples / sizeof samples[0]
				       ? samples[k].rec
				       : extra[k - sizeof samples / sizeof samples[0]];
			n = strlen(base);
			memcpy(buf, base, n);
			for (int m = (int)(rnd() % 4); m >= 0; m--) {
				size_t at = n ? rnd() % n : 0;
				switch (rnd() % 5) {
				case 0: /* flip a byte */
					if (n)
						buf[at] = (char)(rnd() & 0xff);
					break;
				case 1: /* alphabet byte */
					if (n)
						buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
					break;
				case 2: /* delete */
					if (n) {
						memmove(buf + at, buf + at + 1, n - at - 1);
						n--;
					}
					break;
				case 3: /* insert */
					if (n + 1 < sizeof buf) {
						memmove(buf + at + 1, buf + at, n - at);
						buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
						n++;
					}
					break;
				default: /* truncate */ n = at; break;
				}
			}
		}
		/* heap copy of exactly n bytes so ASan sees any over-read */
		char *rec = malloc(n ? n : 1);
		assert_non_null(rec);
		memcpy(rec, buf, n);
		for (size_t i = 0; i < 9; i++) {
			int rc;
			s->n = 0;
			errbuf[0] = '\0';
			rc = decoder_feed(dec[i], rec, n, collect, s, errbuf, sizeof errbuf);
			if (rc == 0) {
				emitted += s->n;
			} else {
				assert_int_equal(rc, -VIGIL_EINVAL);
				assert_int_equal(s->n, 0);
				assert_int_equal(strncmp(errbuf, "column ", 7), 0);
				errors++;
			}
		}
		free(rec);
	}
	/* the loop exercised both paths */
	assert_true(emitted > 100);
	assert_true(errors > 1000);
	for (size_t i = 0; i < 9; i++)
		decoder_close(dec[i]);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8__valid_and_invalid),
		cmocka_unit_test(test_parse_finite__strict),
		cmocka_unit_test(test_parse_finite__same_bits_as_strtod),
		cmocka_unit_test(test_registry__names_and_order),
		cmocka_unit_test(test_feed__blank_comment_length_utf8),
		cmocka_unit_test(test_feed__emit_stop_value_is_returned),
		cmocka_unit_test(test_json__good),
		cmocka_unit_test(test_json__bad),
		cmocka_unit_test(test_influx__good),
		cmocka_unit_test(test_influx__bad),
		cmocka_unit_test(test_graphite__good),
		cmocka_unit_test(test_graphite__bad),
		cmocka_unit_test(test_nabcsv__good_and_bad),
		cmocka_unit_test(test_collectd__gauges_names_tags),
		cmocka_unit_test(test_collectd__rates_and_wrap),
		cmocka_unit_test(test_collectd__bad_is_all_or_nothing),
		cmocka_unit_test(test_auto__sniff_is_unambiguous),
		cmocka_unit_test(test_auto__mixed_stream),
		cmocka_unit_test(test_fuzz__no_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
