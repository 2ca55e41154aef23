/* Unit tests for core/: params, timefmt, hash, buf, series table. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/testutil.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/htab.h"
#include "core/log.h"
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
	/* sizes (--state-reserve, the config's sizes) */
	assert_int_equal(params_parse_size("4MiB", &d), 0);
	assert_near(d, 4194304, 0);
	assert_int_equal(params_parse_size("512 KB", &d), 0);
	assert_near(d, 512000, 0);
	assert_int_equal(params_parse_size("0", &d), 0);
	assert_near(d, 0, 0);
	assert_int_not_equal(params_parse_size("4Mb", &d), 0);
	assert_int_not_equal(params_parse_size("-1MiB", &d), 0);
	assert_int_not_equal(params_parse_size("MiB", &d), 0);
	assert_int_not_equal(params_parse_size("1e400", &d), 0);
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
	/* outside 0001..9999 in any unit: not a time */
	assert_true(isnan(time_from_epoch_number(1e300)));
	assert_true(isnan(time_from_epoch_number(-1e300)));
	assert_true(isnan(time_from_epoch_number(9e17 * 1e3)));
	assert_near(time_from_epoch_number(99999999999.0), 99999999999.0, 0); /* seconds up to 1e11 */
	time_format_rfc3339(1e300, buf, sizeof buf);                          /* clamped, never overflowing */
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
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

/* The index against a brute-force model: random inserts and removals of
 * items whose hashes collide on purpose (only 64 distinct values), with
 * lookups of present and absent keys after every step. */
struct model {
	uint64_t key[4096];
	uint8_t live[4096];
};

static uint64_t model_hash(const void *ctx, uint32_t id)
{
	const struct model *m = ctx;
	return m->key[id] % 64;
}

static int model_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct model *m = ctx;
	return m->live[id] && m->key[id] == *(const uint64_t *)key;
}

static void test_htab__matches_brute_force(void **st)
{
	(void)st;
	static struct model m;
	struct htab t;
	uint64_t rng = 12345;
	memset(&m, 0, sizeof m);
	/* 40,000 steps; 8,000 under valgrind (the table still grows to its
	 * steady ~2,000 live items and is checked every 97 steps) */
	const int steps = test_workload(40000, 8000);
	htab_init(&t);
	for (int step = 0; step < steps; step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t id = (uint32_t)((rng >> 33) % 4096);
		uint64_t key = (rng >> 13) % 100000;
		if (!m.live[id]) {
			uint64_t k = key;
			m.key[id] = key;
			/* keys are unique among live items */
			if (htab_find(&t, key % 64, model_eq, model_hash, &m, &k) != HTAB_NONE)
				continue;
			assert_int_equal(htab_insert(&t, key % 64, id, model_hash, &m), 0);
			m.live[id] = 1;
		} else {
			assert_int_equal(htab_remove(&t, m.key[id] % 64, id, model_hash, &m), 0);
			m.live[id] = 0;
			/* removing again reports absence */
			assert_int_equal(htab_remove(&t, m.key[id] % 64, id, model_hash, &m), -1);
		}
		if (step % 97 == 0) {
			size_t live = 0;
			for (uint32_t i = 0; i < 4096; i++) {
				if (!m.live[i])
					continue;
				live++;
				uint64_t k = m.key[i];
				assert_int_equal(htab_find(&t, k % 64, model_eq, model_hash, &m, &k), i);
			}
			assert_int_equal(t.n, live);
			assert_true(t.n * 4 <= t.cap * 3);
		}
		uint64_t absent = 100000 + key;
		assert_int_equal(htab_find(&t, absent % 64, model_eq, model_hash, &m, &absent), HTAB_NONE);
	}
	htab_fini(&t);
}

static void test_hset__add_has_clear(void **st)
{
	(void)st;
	struct hset s;
	hset_init(&s);
	for (uint64_t v = 0; v < 5000; v++)
		assert_int_equal(hset_add(&s, v * 0x9e3779b97f4a7c15ULL), 0);
	assert_int_equal(hset_add(&s, 0), 0); /* present: no-op */
	assert_int_equal(s.n, 5000);
	for (uint64_t v = 0; v < 5000; v++) {
		assert_true(hset_has(&s, v * 0x9e3779b97f4a7c15ULL));
		assert_false(hset_has(&s, v * 0x9e3779b97f4a7c15ULL + 1));
	}
	struct hset moved = s; /* plain data: moves by assignment */
	hset_init(&s);
	assert_true(hset_has(&moved, 0));
	assert_false(hset_has(&s, 0));
	hset_clear(&moved);
	assert_false(hset_has(&moved, 0));
	hset_clear(&s);
}

static void test_clock__fake_drives_time_and_log_stamps(void **st)
{
	(void)st;
	double real = clock_wall();
	assert_true(real > 1.6e9);
	clock_fake_set(100.0, 1772435700.25); /* 2026-03-02T07:15:00.250Z */
	assert_float_equal(clock_mono(), 100.0, 0);
	clock_fake_advance(1.5);
	assert_float_equal(clock_mono(), 101.5, 0);
	assert_float_equal(clock_wall(), 1772435701.75, 0);
	/* a log line starts with the RFC 3339 UTC time in milliseconds */
	char path[] = "/tmp/vigil-logXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	log_write(LOG_LEVEL_WARN, "test", "event=x n=%d", 7);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char line[256] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	close(fd);
	unlink(path);
	assert_string_equal(line, "2026-03-02T07:15:01.750Z vigil warn [test] event=x n=7\n");
	clock_fake_off();
	assert_true(clock_wall() >= real);
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
		cmocka_unit_test(test_htab__matches_brute_force),
		cmocka_unit_test(test_hset__add_has_clear),
		cmocka_unit_test(test_clock__fake_drives_time_and_log_stamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
