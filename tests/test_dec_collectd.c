/* collectd JSON and its StoreRates setting, against real captures: Debian's
 * collectd 5.12 (collectd-core) writing through write_http with Format JSON,
 * StoreRates true (the values write_kafka sends by default) and StoreRates
 * false, received by tests/data/inputs/http_capture.py (one POST body per
 * line; collectd.conf lines in README "Inputs"). Hand-written records for the
 * exact arithmetic. Run from the repository root. */
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

#define CAP_RATES "tests/data/inputs/collectd_write_http_storerates_true.jsonl"
#define CAP_RAW   "tests/data/inputs/collectd_write_http_storerates_false.jsonl"

struct run {
	struct decoder *d;
	struct dt_sink *s;
	int bad, lines;
	char first_err[1024];
};

static int run_line(void *arg, const char *line, int no)
{
	struct run *r = arg;
	(void)no;
	r->lines++;
	if (dt_feed(r->d, r->s, line) != 0) {
		if (r->bad++ == 0)
			snprintf(r->first_err, sizeof r->first_err, "%s", dt_err);
	}
	return 0;
}

static struct run *run_file(const char *path, int raw)
{
	struct decoder_opts o = {.collectd_raw = raw};
	struct run *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->s = calloc(1, sizeof *r->s);
	assert_non_null(r->s);
	r->d = dt_open("collectd", &o);
	dt_lines(path, run_line, r);
	return r;
}

static void run_free(struct run *r)
{
	decoder_close(r->d);
	free(r->s);
	free(r);
}

/* The default (StoreRates true) takes write_kafka-style rates as they are:
 * every record of the capture decodes, and a derive value that is a
 * fractional rate in the file comes out unchanged. */
static void test_default_takes_rates_as_sent(void **state)
{
	struct run *r = run_file(CAP_RATES, 0);
	(void)state;
	assert_int_equal(r->lines, 11);
	if (r->bad != 0)
		fail_msg("%d records rejected: %s", r->bad, r->first_err);
	/* line 8 of the capture: interface/lo if_packets rx = 10.0008669408914 */
	int i = dt_find(r->s, 0, "interface.if_packets.rx", "host=vm,plugin_instance=lo");
	int found = 0;
	for (; i >= 0; i = dt_find(r->s, i + 1, "interface.if_packets.rx", "host=vm,plugin_instance=lo"))
		if (fabs(r->s->pts[i].value - 10.0008669408914) < 1e-12)
			found = 1;
	assert_true(found);
	/* gauges untouched: load shortterm of line 1 */
	dt_expect(r->s, "load.load.shortterm", "host=vm", 1796606040.380, 2.138671875);
	run_free(r);
}

/* The same rates read as raw counters are refused, naming the setting (the
 * bug of issue 15: "values[0] must be an integer"). */
static void test_rates_refused_when_raw_names_setting(void **state)
{
	struct run *r = run_file(CAP_RATES, 1);
	(void)state;
	assert_true(r->bad > 0);
	assert_non_null(strstr(r->first_err, "collectd.store_rates is false"));
	assert_non_null(strstr(r->first_err, "store_rates: true"));
	run_free(r);
}

/* StoreRates false capture with store_rates false: every record decodes,
 * derives become non-negative rates (first sample of each emits nothing). */
static void test_raw_capture_becomes_rates(void **state)
{
	struct run *r = run_file(CAP_RAW, 1);
	int nrates = 0;
	(void)state;
	if (r->bad != 0)
		fail_msg("%d records rejected: %s", r->bad, r->first_err);
	for (int i = 0; i < r->s->n; i++)
		if (strncmp(r->s->pts[i].name, "interface.if_octets", 19) == 0) {
			assert_true(r->s->pts[i].value >= 0.0);
			assert_true(r->s->pts[i].value < 1e10); /* a rate, not the raw 2.7e9 total */
			nrates++;
		}
	assert_true(nrates > 0);
	run_free(r);
}

static const char *rec(char *b, size_t n, const char *dstype, const char *v, double t)
{
	snprintf(b, n,
		 "[{\"values\":[%s],\"dstypes\":[\"%s\"],\"dsnames\":[\"value\"],\"time\":%.3f,"
		 "\"interval\":10,\"host\":\"h\",\"plugin\":\"p\",\"type\":\"t\"}]",
		 v, dstype, t);
	return b;
}

/* Exact behaviour of both settings on the same records. */
static void test_both_settings_exact(void **state)
{
	struct decoder_opts raw = {.collectd_raw = 1};
	struct decoder *dr = dt_open("collectd", NULL), *dw = dt_open("collectd", &raw);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[512];
	(void)state;
	assert_non_null(s);
	/* rates: a whole-number rate is a rate (not the rate of a rate) */
	assert_int_equal(dt_feed(dr, s, rec(b, sizeof b, "derive", "30", 100)), 0);
	assert_int_equal(dt_feed(dr, s, rec(b, sizeof b, "counter", "2.5", 110)), 0);
	assert_int_equal(dt_feed(dr, s, rec(b, sizeof b, "derive", "-4.25", 120)), 0);
	assert_int_equal(dt_feed(dr, s, rec(b, sizeof b, "absolute", "7", 130)), 0);
	assert_int_equal(dt_feed(dr, s, rec(b, sizeof b, "derive", "null", 140)), 0);
	assert_int_equal(s->n, 4);
	assert_near(s->pts[0].value, 30, 0);
	assert_near(s->pts[1].value, 2.5, 0);
	assert_near(s->pts[2].value, -4.25, 0);
	assert_near(s->pts[3].value, 7, 0); /* not divided by interval: already a rate */
	dt_bad(dr, rec(b, sizeof b, "derive", "\"x\"", 150), "must be a finite number");
	/* raw: differences over time */
	s->n = 0;
	assert_int_equal(dt_feed(dw, s, rec(b, sizeof b, "derive", "30", 100)), 0);
	assert_int_equal(dt_feed(dw, s, rec(b, sizeof b, "derive", "130", 110)), 0);
	assert_int_equal(s->n, 1);
	assert_near(s->pts[0].value, 10, 0);
	dt_bad(dw, rec(b, sizeof b, "counter", "2.5", 120), "collectd.store_rates is false");
	dt_bad(dw, rec(b, sizeof b, "derive", "31.0123756711974", 120), "(derive) must be an integer");
	free(s);
	decoder_close(dr);
	decoder_close(dw);
}

/* The awkward cases: NaN (collectd writes null), a derive that goes down
 * (a reset: a negative rate, as collectd's own DERIVE), missing time, a
 * non-UTF-8 host. */
static void test_awkward(void **state)
{
	struct decoder_opts raw = {.collectd_raw = 1};
	struct decoder *dr = dt_open("collectd", NULL), *dw = dt_open("collectd", &raw);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[512];
	(void)state;
	assert_non_null(s);
	assert_int_equal(dt_feed(dr, s, rec(b, sizeof b, "gauge", "null", 1)), 0);
	assert_int_equal(dt_feed(dw, s, rec(b, sizeof b, "derive", "null", 1)), 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(dt_feed(dw, s, rec(b, sizeof b, "derive", "1000", 10)), 0);
	assert_int_equal(dt_feed(dw, s, rec(b, sizeof b, "derive", "0", 20)), 0);
	assert_int_equal(s->n, 1);
	assert_near(s->pts[0].value, -100, 0);
	dt_bad(dr,
	       "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"plugin\":\"p\",\"type\":"
	       "\"t\"}]",
	       "\"time\" must be a number");
	dt_bad(dr,
	       "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1,\"host\":"
	       "\"\xc3\x28\","
	       "\"plugin\":\"p\",\"type\":\"t\"}]",
	       "invalid UTF-8");
	free(s);
	decoder_close(dr);
	decoder_close(dw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_takes_rates_as_sent),
		cmocka_unit_test(test_rates_refused_when_raw_names_setting),
		cmocka_unit_test(test_raw_capture_becomes_rates),
		cmocka_unit_test(test_both_settings_exact),
		cmocka_unit_test(test_awkward),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
