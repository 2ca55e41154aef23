/* OTLP JSON metrics: the tag mapping (resource, scope, point attributes and
 * their precedence), gauges, sums by temporality and monotonicity, counter
 * resets, histograms (count, sum, interpolated quantiles; delta and
 * cumulative), summaries, no-value flags, NaN, and whole-record rejection.
 * Hand-written from the OTLP protobuf-JSON mapping (no OpenTelemetry
 * Collector in Debian 12). */
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

/* One request: resource attrs R, scope S, metrics M (JSON fragments). */
static const char *req(char *b, size_t n, const char *metrics)
{
	snprintf(b, n,
		 "{\"resourceMetrics\":[{\"resource\":{\"attributes\":["
		 "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
		 "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h1\"}}]},"
		 "\"scopeMetrics\":[{\"scope\":{\"name\":\"io.app\",\"version\":\"1\"},\"metrics\":[%s]}]}]}",
		 metrics);
	return b;
}

#define BASE "host.name=h1,otel.scope.name=io.app,service.name=checkout"

static void test_gauge_and_tags(void **state)
{
	struct decoder *d = dt_open("otlp", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[4096];
	(void)state;
	assert_non_null(s);
	assert_int_equal(
		dt_feed(d, s,
			req(b, sizeof b,
			    "{\"name\":\"queue.depth\",\"unit\":\"1\",\"gauge\":{\"dataPoints\":["
			    "{\"attributes\":[{\"key\":\"q\",\"value\":{\"stringValue\":\"a\"}},"
			    "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"override\"}},"
			    "{\"key\":\"n\",\"value\":{\"intValue\":\"-42\"}},"
			    "{\"key\":\"ok\",\"value\":{\"boolValue\":true}},"
			    "{\"key\":\"l\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"}]}}"
			    "}],"
			    "\"timeUnixNano\":\"1700000000500000000\",\"asDouble\":12.5},"
			    "{\"timeUnixNano\":1700000001000000000,\"asInt\":\"7\"},"
			    "{\"timeUnixNano\":\"1700000002000000000\",\"asDouble\":\"NaN\"},"
			    "{\"timeUnixNano\":\"1700000003000000000\",\"asDouble\":1,\"flags\":1}]}}")),
		0);
	assert_int_equal(s->n, 2);
	dt_expect(s, "queue.depth",
		  "host.name=override,l={\"values\":[{\"stringValue\":\"x\"}]},n=-42,ok=true,otel.scope.name="
		  "io.app,"
		  "q=a,service.name=checkout",
		  1700000000.5, 12.5);
	dt_expect(s, "queue.depth", BASE, 1700000001.0, 7);
	free(s);
	decoder_close(d);
}

static const char *sum(char *b, size_t n, int temporality, int mono, const char *t, const char *v)
{
	char m[512];
	snprintf(m, sizeof m,
		 "{\"name\":\"http.requests\",\"sum\":{\"aggregationTemporality\":%d,\"isMonotonic\":%s,"
		 "\"dataPoints\":[{\"timeUnixNano\":\"%s\",\"asInt\":\"%s\"}]}}",
		 temporality, mono ? "true" : "false", t, v);
	return req(b, n, m);
}

static void test_sums(void **state)
{
	struct decoder *d = dt_open("otlp", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[4096];
	(void)state;
	assert_non_null(s);
	/* cumulative monotonic: rates; first point nothing; reset */
	assert_int_equal(dt_feed(d, s, sum(b, sizeof b, 2, 1, "10000000000", "100")), 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(dt_feed(d, s, sum(b, sizeof b, 2, 1, "20000000000", "300")), 0);
	assert_int_equal(dt_feed(d, s, sum(b, sizeof b, 2, 1, "30000000000", "50")), 0);
	assert_int_equal(s->n, 2);
	assert_near(s->pts[0].value, 20, 1e-12);
	assert_near(s->pts[0].ts, 20, 1e-12);
	assert_near(s->pts[1].value, 5, 1e-12); /* restarted at 0: 50 in 10 s */
	/* delta: as is */
	assert_int_equal(dt_feed(d, s, sum(b, sizeof b, 1, 1, "40000000000", "17")), 0);
	assert_near(s->pts[2].value, 17, 0);
	/* cumulative non-monotonic (an up-down counter): a level, as is */
	assert_int_equal(dt_feed(d, s, sum(b, sizeof b, 2, 0, "50000000000", "-3")), 0);
	assert_near(s->pts[3].value, -3, 0);
	dt_bad(d, sum(b, sizeof b, 0, 1, "1", "1"), "aggregationTemporality must be 1 (delta) or 2");
	free(s);
	decoder_close(d);
}

static const char *hist(char *b, size_t n, int temporality, const char *t, const char *count,
			const char *counts)
{
	char m[1024];
	snprintf(m, sizeof m,
		 "{\"name\":\"lat\",\"histogram\":{\"aggregationTemporality\":%d,\"dataPoints\":[{"
		 "\"timeUnixNano\":\"%s\",\"count\":\"%s\",\"sum\":40,\"bucketCounts\":[%s],"
		 "\"explicitBounds\":[1,2,4]}]}}",
		 temporality, t, count, counts);
	return req(b, n, m);
}

static void test_histograms(void **state)
{
	struct decoder *d = dt_open("otlp", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[4096];
	(void)state;
	assert_non_null(s);
	/* delta: [0,10,10,0] over (..1],(1,2],(2,4],(4,+Inf) */
	assert_int_equal(dt_feed(d, s, hist(b, sizeof b, 1, "1000000000", "20", "\"0\",\"10\",\"10\",\"0\"")),
			 0);
	assert_int_equal(s->n, 5);
	dt_expect(s, "lat.count", BASE, 1, 20);
	dt_expect(s, "lat.sum", BASE, 1, 40);
	dt_expect(s, "lat.p50", BASE, 1, 2.0);
	dt_expect(s, "lat.p90", BASE, 1, 3.6);
	dt_expect(s, "lat.p99", BASE, 1, 3.96);
	/* cumulative: the first point only primes; then the increase
	 * [0,10,20,0] in 10 s: count 3/s, p50 = 2 + 2 * 5/20 = 2.5 */
	s->n = 0;
	assert_int_equal(dt_feed(d, s, hist(b, sizeof b, 2, "1000000000", "20", "\"0\",\"10\",\"10\",\"0\"")),
			 0);
	assert_int_equal(s->n, 0);
	assert_int_equal(
		dt_feed(d, s, hist(b, sizeof b, 2, "11000000000", "50", "\"0\",\"20\",\"30\",\"0\"")), 0);
	dt_expect(s, "lat.count", BASE, 11, 3);
	dt_expect(s, "lat.sum", BASE, 11, 0); /* sum stayed 40 */
	dt_expect(s, "lat.p50", BASE, 11, 2.5);
	/* everything in +Inf: the last finite bound */
	s->n = 0;
	assert_int_equal(dt_feed(d, s, hist(b, sizeof b, 1, "2000000000", "3", "0,0,0,3")), 0);
	dt_expect(s, "lat.p50", BASE, 2, 4);
	dt_bad(d, hist(b, sizeof b, 1, "1", "3", "0,0,3"), "one entry fewer");
	dt_bad(d, hist(b, sizeof b, 1, "1", "x", "0,0,0,3"), "\"count\" must be an unsigned integer");
	free(s);
	decoder_close(d);
}

static void test_summary(void **state)
{
	struct decoder *d = dt_open("otlp", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[4096];
	static const char m1[] = "{\"name\":\"rpc\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":"
				 "\"1000000000\",\"count\":\"10\","
				 "\"sum\":5,\"quantileValues\":[{\"quantile\":0.5,\"value\":0.4},{"
				 "\"quantile\":0.999,\"value\":2},"
				 "{\"value\":0.01}]}]}}";
	static const char m2[] = "{\"name\":\"rpc\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":"
				 "\"3000000000\",\"count\":\"30\","
				 "\"sum\":9,\"quantileValues\":[{\"quantile\":0.5,\"value\":\"NaN\"}]}]}}";
	(void)state;
	assert_non_null(s);
	assert_int_equal(dt_feed(d, s, req(b, sizeof b, m1)), 0);
	assert_int_equal(s->n, 3);
	dt_expect(s, "rpc.p50", BASE, 1, 0.4);
	dt_expect(s, "rpc.p99.9", BASE, 1, 2);
	dt_expect(s, "rpc.p0", BASE, 1, 0.01);
	s->n = 0;
	assert_int_equal(dt_feed(d, s, req(b, sizeof b, m2)), 0);
	assert_int_equal(s->n, 2);
	dt_expect(s, "rpc.count", BASE, 3, 10);
	dt_expect(s, "rpc.sum", BASE, 3, 2);
	free(s);
	decoder_close(d);
}

static void test_bad_records(void **state)
{
	struct decoder *d = dt_open("otlp", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	char b[4096], m[2048];
	static const char good_cum[] =
		"{\"name\":\"c\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{"
		"\"timeUnixNano\":\"1000000000\",\"asInt\":\"5\"}]}}";
	(void)state;
	assert_non_null(s);
	snprintf(m, sizeof m, "%s,{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asDouble\":1}]}}", good_cum);
	dt_bad(d, req(b, sizeof b, m),
	       "resourceMetrics[0].scopeMetrics[0].metrics[1] \"g\" dataPoints[0]: \"timeUnixNano\"");
	/* the good cumulative sum of the refused record left no sample: the
	 * next one is still the first */
	snprintf(
		m, sizeof m,
		"{\"name\":\"c\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{"
		"\"timeUnixNano\":\"2000000000\",\"asInt\":\"9\"}]}}");
	assert_int_equal(dt_feed(d, s, req(b, sizeof b, m)), 0);
	assert_int_equal(s->n, 0);
	dt_bad(d, req(b, sizeof b, "{\"name\":\"x\",\"gauge\":{},\"sum\":{}}"), "has both gauge and sum");
	dt_bad(d, req(b, sizeof b, "{\"name\":\"x\"}"), "needs one of gauge");
	dt_bad(d, req(b, sizeof b, "{\"name\":\"x\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"1\"}]}}"),
	       "exactly one of \"asDouble\" and \"asInt\"");
	dt_bad(d,
	       req(b, sizeof b,
		   "{\"name\":\"x\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"1\",\"asInt\":\"1\","
		   "\"attributes\":[{\"key\":\"k\",\"value\":{}}]}]}}"),
	       "attribute \"k\"");
	/* the decoder's own scratch member cannot be smuggled in */
	dt_bad(d,
	       req(b, sizeof b,
		   "{\"name\":\"x\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"1\",\"asInt\":\"1\","
		   "\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"},\"_vigil_text\":5}]}]}"
		   "}"),
	       "unexpected member");
	dt_bad(d, "{\"resourceMetrics\":{}}", "expected {\"resourceMetrics\"");
	dt_bad(d,
	       "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{"
	       "\"stringValue\":\"\xed\xa0\x80\"}}]}}]}",
	       "invalid UTF-8");
	free(s);
	decoder_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gauge_and_tags), cmocka_unit_test(test_sums),
		cmocka_unit_test(test_histograms),     cmocka_unit_test(test_summary),
		cmocka_unit_test(test_bad_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
