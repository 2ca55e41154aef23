/* Telegraf's JSON serializer: single and batch messages as Telegraf writes
 * them (Go sorts the keys: fields, name, tags, timestamp), timestamp units,
 * string/boolean fields skipped, bad metrics refused whole. Hand-written
 * (Telegraf is not packaged in Debian 12). */
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

static void test_single_and_batch(void **state)
{
	struct decoder *d = dt_open("telegraf", NULL);
	struct dt_sink *s = calloc(1, sizeof *s);
	(void)state;
	assert_non_null(s);
	assert_int_equal(
		dt_feed(d, s,
			"{\"fields\":{\"usage_idle\":97.5,\"usage_user\":2,\"state\":\"ok\",\"up\":true},"
			"\"name\":\"cpu\",\"tags\":{\"cpu\":\"cpu0\",\"host\":\"h\"},\"timestamp\":"
			"1700000000}"),
		0);
	assert_int_equal(s->n, 2);
	dt_expect(s, "cpu.usage_idle", "cpu=cpu0,host=h", 1700000000.0, 97.5);
	dt_expect(s, "cpu.usage_user", "cpu=cpu0,host=h", 1700000000.0, 2);
	/* batch format; timestamp in ms and ns (json_timestamp_units) */
	s->n = 0;
	assert_int_equal(dt_feed(d, s,
				 "{\"metrics\":[{\"fields\":{\"free\":5},\"name\":\"mem\",\"tags\":{},"
				 "\"timestamp\":1700000000500},{\"fields\":{\"rx\":7},\"name\":\"net\","
				 "\"tags\":{\"if\":\"eth0\"},\"timestamp\":1700000001000000000}]}"),
			 0);
	assert_int_equal(s->n, 2);
	dt_expect(s, "mem.free", "", 1700000000.5, 5);
	dt_expect(s, "net.rx", "if=eth0", 1700000001.0, 7);
	/* other key orders work with --format telegraf */
	s->n = 0;
	assert_int_equal(dt_feed(d, s, "{\"name\":\"x\",\"timestamp\":1,\"fields\":{\"v\":-1e3}}"), 0);
	dt_expect(s, "x.v", "", 1.0, -1000);
	free(s);
	decoder_close(d);
}

static void test_bad_is_all_or_nothing(void **state)
{
	struct decoder *d = dt_open("telegraf", NULL);
	(void)state;
	dt_bad(d, "{\"fields\":{\"a\":1},\"name\":\"m\",\"tags\":{}}", "\"timestamp\" must be a number");
	dt_bad(d, "{\"fields\":{\"a\":1},\"tags\":{},\"timestamp\":1}",
	       "\"name\" must be a non-empty string");
	dt_bad(d, "{\"fields\":{\"a\":[1]},\"name\":\"m\",\"timestamp\":1}", "field \"a\" must be a number");
	dt_bad(d, "{\"fields\":{\"a\":1},\"name\":\"m\",\"tags\":{\"k\":1},\"timestamp\":1}",
	       "tag \"k\" must be a string");
	dt_bad(d, "{\"fields\":{\"a\":1},\"name\":\"m\",\"timestamp\":1", "column ");
	/* one bad metric in a batch: nothing of the batch is emitted */
	dt_bad(d,
	       "{\"metrics\":[{\"fields\":{\"a\":1},\"name\":\"m\",\"timestamp\":1},{\"fields\":{\"a\":1},"
	       "\"name\":\"\",\"timestamp\":1}]}",
	       "metrics[1]: \"name\"");
	dt_bad(d, "{\"metrics\":{}}", "\"metrics\" must be an array");
	/* JSON has no NaN: a producer writing one sends invalid JSON */
	dt_bad(d, "{\"fields\":{\"a\":NaN},\"name\":\"m\",\"timestamp\":1}", "column ");
	dt_bad(d, "{\"fields\":{\"a\":1e999},\"name\":\"m\",\"timestamp\":1}", "column ");
	dt_bad(d, "{\"fields\":{\"a\":1},\"name\":\"m\xc3\",\"timestamp\":1}", "invalid UTF-8");
	decoder_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_and_batch),
		cmocka_unit_test(test_bad_is_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
