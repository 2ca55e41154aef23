/* The Prometheus text exposition decoder: a real exposition (Debian's
 * Prometheus 2.42 scraping its own /metrics, tests/data/inputs/) read twice
 * under a driven clock, and hand-written awkward cases: counter resets,
 * missing timestamps, NaN/Inf, escapes, non-UTF-8 label values, TYPE lines
 * in auto mode. Run from the repository root. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/dec_testutil.h"
#include "core/clock.h"

#define SELF "tests/data/inputs/prometheus_2.42_self_metrics.txt"

struct run {
	struct decoder *d;
	struct dt_sink *s;
	int bad;
	char first_err[1200];
};

static int run_line(void *arg, const char *line, int no)
{
	struct run *r = arg;
	if (dt_feed(r->d, r->s, line) != 0 && r->bad++ == 0)
		snprintf(r->first_err, sizeof r->first_err, "line %d: %s", no, dt_err);
	return 0;
}

/* A real scrape: everything decodes; first pass gives gauges and summary
 * quantiles at the clock's time, no counter (first sample), no bucket, no
 * NaN quantile; the second scrape 15 s later gives counter rates. */
static void test_real_exposition_twice(void **state)
{
	struct run r = {0};
	int i;
	(void)state;
	r.d = dt_open("prometheus", NULL);
	r.s = calloc(1, sizeof *r.s);
	assert_non_null(r.s);
	clock_fake_set(1000.0, 1800000000.0);
	dt_lines(SELF, run_line, &r);
	if (r.bad)
		fail_msg("%d lines rejected, first %s", r.bad, r.first_err);
	dt_expect(r.s, "go_goroutines", "", 1800000000.0, 27);
	dt_expect(r.s, "go_gc_duration_seconds", "quantile=0.5", 1800000000.0, 0.000834775);
	for (i = 0; i < r.s->n; i++) {
		assert_null(strstr(r.s->pts[i].name, "_bucket"));
		assert_true(strcmp(r.s->pts[i].name, "go_gc_duration_seconds_count") != 0);
		assert_true(strcmp(r.s->pts[i].name, "go_memstats_alloc_bytes_total") != 0);
	}
	/* the same scrape again, 15 s later: counters are flat (rate 0) */
	r.s->n = 0;
	clock_fake_set(1015.0, 1800000015.0);
	dt_lines(SELF, run_line, &r);
	assert_int_equal(r.bad, 0);
	dt_expect(r.s, "go_gc_duration_seconds_count", "", 1800000015.0, 0.0);
	dt_expect(r.s, "go_memstats_alloc_bytes_total", "", 1800000015.0, 0.0);
	clock_fake_off();
	decoder_close(r.d);
	free(r.s);
}

static void test_counters_reset_and_order(void **state)
{
	struct decoder *d = dt_open("prometheus", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	(void)state;
	assert_non_null(s);
	assert_int_equal(dt_feed(d, s, "# HELP req_total Requests."), 0);
	assert_int_equal(dt_feed(d, s, "# TYPE req counter"), 0);
	assert_int_equal(dt_feed(d, s, "req_total{code=\"200\"} 100 1700000000000"), 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(dt_feed(d, s, "req_total{code=\"200\"} 160 1700000010000"), 0);
	assert_int_equal(s->n, 1);
	dt_expect(s, "req_total", "code=200", 1700000010.0, 6.0);
	/* reset: the process restarted and counts from 0 again: 20 in 10 s */
	assert_int_equal(dt_feed(d, s, "req_total{code=\"200\"} 20 1700000020000"), 0);
	assert_near(s->pts[1].value, 2.0, 1e-12);
	/* not newer: skipped, state kept */
	assert_int_equal(dt_feed(d, s, "req_total{code=\"200\"} 999 1700000020000"), 0);
	assert_int_equal(s->n, 2);
	/* another label set is another series */
	assert_int_equal(dt_feed(d, s, "req_total{code=\"500\"} 7 1700000020000"), 0);
	assert_int_equal(s->n, 2);
	/* the TYPE name itself as counter (no _total) */
	assert_int_equal(dt_feed(d, s, "# TYPE bytes counter"), 0);
	assert_int_equal(dt_feed(d, s, "bytes 10 1000"), 0);
	assert_int_equal(dt_feed(d, s, "bytes 30 3000"), 0);
	dt_expect(s, "bytes", "", 3.0, 10.0);
	dt_bad(d, "bytes -5 4000", "counter value is negative");
	/* histogram: _count and _sum are rates, buckets skipped; _created skipped */
	assert_int_equal(dt_feed(d, s, "# TYPE lat histogram"), 0);
	s->n = 0;
	assert_int_equal(dt_feed(d, s, "lat_bucket{le=\"0.1\"} 5 1000"), 0);
	assert_int_equal(dt_feed(d, s, "lat_count 5 1000"), 0);
	assert_int_equal(dt_feed(d, s, "lat_count 15 2000"), 0);
	assert_int_equal(dt_feed(d, s, "lat_created 1600000000 2000"), 0);
	assert_int_equal(s->n, 1);
	dt_expect(s, "lat_count", "", 2.0, 10.0);
	free(s);
	decoder_close(d);
}

static void test_values_labels_timestamps(void **state)
{
	struct decoder *d = dt_open("prometheus", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	(void)state;
	assert_non_null(s);
	/* missing timestamp: the time it is read */
	clock_fake_set(5.0, 1750000000.25);
	assert_int_equal(dt_feed(d, s, "temp{room=\"a\"} 21.5"), 0);
	dt_expect(s, "temp", "room=a", 1750000000.25, 21.5);
	clock_fake_off();
	/* NaN, +Inf, -Inf: skipped, not errors */
	s->n = 0;
	assert_int_equal(dt_feed(d, s, "temp{room=\"a\"} NaN 1000"), 0);
	assert_int_equal(dt_feed(d, s, "temp +Inf 1000"), 0);
	assert_int_equal(dt_feed(d, s, "temp -inf"), 0);
	assert_int_equal(s->n, 0);
	/* escapes, spaces, trailing comma, exponent, negative timestamp */
	assert_int_equal(dt_feed(d, s, "m{ a = \"x\\\"y\\\\z\\nw\" , b=\"c d\", } -1.5e3 -2000"), 0);
	dt_expect(s, "m", "a=x\"y\\z\nw,b=c d", -2.0, -1500);
	assert_int_equal(dt_feed(d, s, "ns:sub_metric{x=\"ü\"} 1 1"), 0);
	dt_expect(s, "ns:sub_metric", "x=ü", 0.001, 1);
	/* bad lines name the column */
	dt_bad(d, "9bad 1", "column 1: expected a metric name");
	dt_bad(d, "m{a=\"b\" 1", "column 9: expected ',' or '}'");
	dt_bad(d, "m{a=b} 1", "column 5: expected '\"'");
	dt_bad(d, "m{a=\"b\\t\"} 1", "invalid escape");
	dt_bad(d, "m{a=\"b\",a=\"c\"} 1", "label \"a\" repeated");
	dt_bad(d, "m{a=\"b", "unterminated");
	dt_bad(d, "m abc", "column 3: value \"abc\" is not a number");
	dt_bad(d, "m 1 1.5", "column 5: timestamp must be integer milliseconds");
	dt_bad(d, "m 1 2 3", "column 7: unexpected text");
	dt_bad(d, "m", "expected a space and the value");
	dt_bad(d, "# TYPE m sometimes", "unknown type \"sometimes\"");
	/* non-UTF-8 label value: the record is refused at its byte */
	dt_bad(d, "m{a=\"\xff\"} 1", "column 6: invalid UTF-8");
	free(s);
	decoder_close(d);
}

/* auto: labelled lines are told apart from Graphite; "# TYPE" lines reach
 * the Prometheus state. */
static void test_auto(void **state)
{
	struct decoder *d = dt_open("auto", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	(void)state;
	assert_non_null(s);
	assert_int_equal(dt_feed(d, s, "# TYPE hits counter"), 0);
	assert_int_equal(dt_feed(d, s, "hits_total{a=\"1\"} 10 1000"), 0);
	assert_int_equal(dt_feed(d, s, "hits_total{a=\"1\"} 20 2000"), 0);
	assert_int_equal(dt_feed(d, s, "g.a 4 5"), 0);
	assert_int_equal(s->n, 2);
	dt_expect(s, "hits_total", "a=1", 2.0, 10.0);
	dt_expect(s, "g.a", "", 5.0, 4.0);
	free(s);
	decoder_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_exposition_twice),
		cmocka_unit_test(test_counters_reset_and_order),
		cmocka_unit_test(test_values_labels_timestamps),
		cmocka_unit_test(test_auto),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
