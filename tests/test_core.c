/* Unit tests for core/: params, timefmt, hash, buf, series table. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/testutil.h"

#include "core/buf.h"
#include "core/hash.h"
#include "core/params.h"
#include "engine/series.h"
#include "core/timefmt.h"

struct cfg {
	double alpha;
	int n;
	int flag;
	double window;
	int mode;
	double pct;
	double season;
};
static const char *const modes[] = {"up", "down", "both", NULL};
static const char *const auto_kw[] = {"auto", NULL};
static const struct param_spec spec[] = {
	{"alpha", PARAM_DOUBLE, "0.1", offsetof(struct cfg, alpha), "a", 0, 1, NULL, 0},
	{"n", PARAM_INT, "10", offsetof(struct cfg, n), "n", 1, 100, NULL, 0},
	{"flag", PARAM_BOOL, "false", offsetof(struct cfg, flag), "f", 1, 0, NULL, 0},
	{"window", PARAM_DURATION, "5m", offsetof(struct cfg, window), "w", 1, 0, NULL, 0},
	{"mode", PARAM_ENUM, "both", offsetof(struct cfg, mode), "m", 1, 0, modes, 0},
	{"pct", PARAM_DOUBLE, "nan", offsetof(struct cfg, pct), "p", 0, 1, NULL, 1},
	{"season", PARAM_DURATION, "auto", offsetof(struct cfg, season), "s", 0, 1e9, auto_kw, 0},
	{.name = NULL},
};

static void test_params__defaults_and_overrides(void **st)
{
	(void)st;
	struct cfg c;
	char err[256];
	struct kv set[] = {{"alpha", "0.25", "f.yaml:3:5"},
			   {"window", "2h", NULL},
			   {"mode", "up", NULL},
			   {"flag", "yes", NULL}};
	assert_int_equal(params_apply(spec, &c, NULL, 0, err, sizeof err), 0);
	assert_near(c.alpha, 0.1, 1e-15);
	assert_int_equal(c.n, 10);
	assert_near(c.window, 300, 1e-15);
	assert_int_equal(c.mode, 2);
	assert_true(isnan(c.pct));
	assert_near(c.season, 0, 0); /* the keyword reads as 0 */
	struct kv season[] = {{"season", "1d", NULL}}, bad_kw[] = {{"season", "automatic", NULL}};
	assert_int_equal(params_apply(spec, &c, season, 1, err, sizeof err), 0);
	assert_near(c.season, 86400, 0);
	assert_int_not_equal(params_apply(spec, &c, bad_kw, 1, err, sizeof err), 0);
	assert_int_equal(params_apply(spec, &c, set, 4, err, sizeof err), 0);
	assert_near(c.alpha, 0.25, 1e-15);
	assert_near(c.window, 7200, 1e-15);
	assert_int_equal(c.mode, 0);
	assert_int_equal(c.flag, 1);
}

static void test_params__errors_name_the_source(void **st)
{
	(void)st;
	struct cfg c;
	char err[256];
	struct kv unknown[] = {{"alpah", "0.2", "r.yaml:7:9"}};
	struct kv range[] = {{"alpha", "1.5", "r.yaml:8:9"}};
	struct kv notnum[] = {{"n", "ten", "r.yaml:9:9"}};
	struct kv badenum[] = {{"mode", "sideways", NULL}};
	struct kv inf[] = {{"alpha", "inf", NULL}};
	assert_int_equal(params_apply(spec, &c, unknown, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "r.yaml:7:9: unknown parameter 'alpah'"));
	assert_int_equal(params_apply(spec, &c, range, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "r.yaml:8:9"));
	assert_int_equal(params_apply(spec, &c, notnum, 1, err, sizeof err), -1);
	assert_int_equal(params_apply(spec, &c, badenum, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "sideways"));
	assert_int_equal(params_apply(spec, &c, inf, 1, err, sizeof err), -1);
}

static void test_params__durations(void **st)
{
	(void)st;
	double d;
	assert_int_equal(params_parse_duration("90", &d), 0);
	assert_near(d, 90, 0);
	assert_int_equal(params_parse_duration("250ms", &d), 0);
	assert_near(d, 0.25, 1e-15);
	assert_int_equal(params_parse_duration("1w", &d), 0);
	assert_near(d, 604800, 0);
	assert_int_not_equal(params_parse_duration("5x", &d), 0);
	assert_int_not_equal(params_parse_duration("-5m", &d), 0);
	assert_int_not_equal(params_parse_duration("", &d), 0);
}

static void test_time__parse_forms(void **st)
{
	(void)st;
	double t;
	int col;
	const char *a = "2014-04-01 00:00:00";
	assert_int_equal(time_parse_text(a, strlen(a), &t, &col), 0);
	assert_near(t, 1396310400.0, 0); /* date -u -d '2014-04-01' +%s */
	const char *b = "2026-03-02T08:15:00.5+01:00";
	assert_int_equal(time_parse_text(b, strlen(b), &t, &col), 0);
	assert_near(t, 1772435700.5, 1e-12); /* date -u -d ... +%s */
	const char *c = "2000-02-29T23:59:59Z";
	assert_int_equal(time_parse_text(c, strlen(c), &t, &col), 0);
	assert_near(t, 951868799.0, 0);
	const char *bad = "2014-04-01 0x:00:00";
	assert_int_not_equal(time_parse_text(bad, strlen(bad), &t, &col), 0);
	assert_int_equal(col, 13);
	const char *trail = "2014-04-01 00:00:00 junk";
	assert_int_not_equal(time_parse_text(trail, strlen(trail), &t, &col), 0);
	assert_int_equal(col, 20);
	const char *month = "2014-13-01 00:00:00";
	assert_int_not_equal(time_parse_text(month, strlen(month), &t, &col), 0);
}

static void test_time__format_and_epoch_units(void **st)
{
	(void)st;
	char buf[64];
	time_format_rfc3339(1772435700.0, buf, sizeof buf);
	assert_string_equal(buf, "2026-03-02T07:15:00Z");
	time_format_rfc3339(1772435700.25, buf, sizeof buf);
	assert_string_equal(buf, "2026-03-02T07:15:00.250Z");
	time_format_nab(1396310400.0, buf, sizeof buf);
	assert_string_equal(buf, "2014-04-01 00:00:00");
	time_format_rfc3339(-86400.0, buf, sizeof buf);
	assert_string_equal(buf, "1969-12-31T00:00:00Z");
	assert_near(time_from_epoch_number(1700000000.5), 1700000000.5, 0);
	assert_near(time_from_epoch_number(1700000000500.0), 1700000000.5, 1e-12);
	assert_near(time_from_epoch_number(1700000000500000000.0), 1700000000.5, 1e-12);
}

static void test_hash__stable_values(void **st)
{
	(void)st;
	char hex[17];
	/* FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (published test vector). */
	assert_true(hash_bytes(HASH_SEED, "a", 1) == 0xaf63dc4c8601ec8cULL);
	hash_hex(0x0123456789abcdefULL, hex);
	assert_string_equal(hex, "0123456789abcdef");
	assert_true(hash_str(HASH_SEED, "ab") != hash_str(hash_str(HASH_SEED, "a"), "b"));
}

static void test_buf__roundtrip_and_overrun(void **st)
{
	(void)st;
	struct buf b = {0};
	buf_put_u32(&b, 7);
	buf_put_f64(&b, -2.5);
	buf_put_str(&b, "hey");
	assert_true(buf_ok(&b));
	struct reader r = reader_of(b.data, b.len);
	assert_int_equal(rd_u32(&r), 7);
	assert_near(rd_f64(&r), -2.5, 0);
	assert_int_equal(rd_u32(&r), 3);
	char s[3];
	rd_get(&r, s, 3);
	assert_memory_equal(s, "hey", 3);
	assert_true(reader_ok(&r));
	rd_u32(&r);
	assert_false(reader_ok(&r));
	buf_free(&b);
}

static void test_series__key_is_canonical(void **st)
{
	(void)st;
	struct point a = {.name = "api.lat", .ntags = 2}, b = {.name = "api.lat", .ntags = 2};
	char ka[256], kb[256];
	a.tags[0] = (struct tag){"region", "eu"};
	a.tags[1] = (struct tag){"app", "co,x"};
	b.tags[0] = a.tags[1];
	b.tags[1] = a.tags[0];
	assert_true(series_key(&a, ka, sizeof ka) > 0);
	assert_true(series_key(&b, kb, sizeof kb) > 0);
	assert_string_equal(ka, "api.lat{app=co\\,x,region=eu}");
	assert_string_equal(ka, kb);
	assert_int_equal(series_key(&a, ka, 5), -1);
	struct point c = {.name = "plain"};
	assert_int_equal(series_key(&c, ka, sizeof ka), 5);
	assert_string_equal(ka, "plain");
}

static void test_series__insert_find_grow(void **st)
{
	(void)st;
	struct series_table t;
	char key[64];
	series_table_init(&t);
	for (int i = 0; i < 50000; i++) {
		int n = snprintf(key, sizeof key, "s.%d", i);
		uint64_t h = hash_mix(hash_bytes(HASH_SEED, key, (size_t)n));
		assert_null(series_find(&t, key, (size_t)n, h));
		struct series *s = series_insert(&t, key, (size_t)n, h);
		assert_non_null(s);
		s->flags = (uint32_t)i;
	}
	assert_int_equal(t.n, 50000);
	for (int i = 0; i < 50000; i += 7) {
		int n = snprintf(key, sizeof key, "s.%d", i);
		uint64_t h = hash_mix(hash_bytes(HASH_SEED, key, (size_t)n));
		struct series *s = series_find(&t, key, (size_t)n, h);
		assert_non_null(s);
		assert_int_equal(s->flags, i);
		assert_string_equal(series_key_str(&t, s), key);
	}
	assert_true(series_table_bytes(&t) > 50000 * sizeof(struct series));
	series_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params__defaults_and_overrides),
		cmocka_unit_test(test_params__errors_name_the_source),
		cmocka_unit_test(test_params__durations),
		cmocka_unit_test(test_time__parse_forms),
		cmocka_unit_test(test_time__format_and_epoch_units),
		cmocka_unit_test(test_hash__stable_values),
		cmocka_unit_test(test_buf__roundtrip_and_overrun),
		cmocka_unit_test(test_series__key_is_canonical),
		cmocka_unit_test(test_series__insert_find_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
