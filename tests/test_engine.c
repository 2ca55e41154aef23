/* Unit tests for core/engine.c: the pipeline from points to alert events,
 * checkpoint round trips, cardinality limits, out-of-order and bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

#include "tests/testutil.h"

#include "consumers/feed.h"
#include "core/clock.h"
#include "engine/engine.h"

/* The decode step of a consumer (consumers/feed.h) with one "auto" decoder
 * stream for the whole test process. */
static int test_feed(struct engine *e, const char *source, int64_t pos, const char *rec, size_t len)
{
	static struct decoder *dec;
	char err[512];
	struct decoder_opts o = {0};
	if (dec == NULL && decoder_open("auto", &o, &dec, err, sizeof err) != 0)
		fail_msg("decoder: %s", err);
	return feed_record(dec, e, source, pos, rec, len, err, sizeof err);
}

static const char rules_yaml[] = "rules:\n"
				 "  - name: lat\n"
				 "    series: \"svc.*\"\n"
				 "    match: {tier: \"!=canary\"}\n"
				 "    detector: mad\n"
				 "    params: {window: 60}\n"
				 "    direction: up\n"
				 "    action: page\n"
				 "    owner: team-a\n"
				 "  - name: lat-des\n"
				 "    series: \"svc.lat\"\n"
				 "    detector: des\n"
				 "    params: {noise: 20}\n"
				 "    owner: team-b\n"
				 "owners:\n"
				 "  - name: team-a\n"
				 "    max_series: 3\n"
				 "    destinations: [{type: stdout}]\n"
				 "  - name: team-b\n"
				 "    destinations: [{type: stdout}]\n";

static struct ruleset *load_rules_text(const char *yaml)
{
	char path[] = "/tmp/vigil-test-engine-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	struct ruleset *rs = NULL;
	char err[512];
	const char *paths[] = {path};
	int rc = ruleset_load(paths, 1, NULL, &rs, err, sizeof err);
	unlink(path);
	if (rc != 0)
		fail_msg("rules: %s", err);
	return rs;
}

static struct ruleset *load_rules(void)
{
	return load_rules_text(rules_yaml);
}

static struct engine *new_engine(struct ruleset *rs, struct alerts_got *g, size_t max_series)
{
	struct engine *e = NULL;
	char err[256];
	struct engine_opts o = {
		.rs = rs, .max_series = max_series, .on_alert = alerts_collect, .alert_ctx = g};
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	return e;
}

/* Deterministic input: three series, a spike on svc.lat{host=a} at step 700. */
static void feed_range(struct engine *e, int from, int to)
{
	char line[256];
	for (int i = from; i < to; i++) {
		static const char *hosts[] = {"a", "b", "c"};
		for (int h = 0; h < 3; h++) {
			double v = 100.0 + 5.0 * sin(i * 0.05 + h) + ((i * 7 + h * 3) % 11) * 0.3;
			if (h == 0 && i >= 700 && i < 705)
				v = 400.0;
			int n = snprintf(line, sizeof line, "svc.lat;host=%s %.4f %d", hosts[h], v,
					 1700000000 + 60 * i);
			assert_int_equal(test_feed(e, "test", i, line, (size_t)n), 0);
		}
	}
}

static void test_engine__spike_alerts_both_rules(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine *e = new_engine(rs, g, 0);
	feed_range(e, 0, 1000);
	int lat_fire = 0, des_fire = 0, wrong = 0;
	for (int i = 0; i < g->n; i++) {
		if (strcmp(g->ev[i].series, "svc.lat{host=a}") != 0)
			continue;
		if (g->ev[i].status == ALERT_FIRING && strcmp(g->ev[i].rule, "lat") == 0) {
			lat_fire++;
			assert_string_equal(g->ev[i].owner, "team-a");
			assert_true(g->ev[i].ts >= 1700000000 + 60 * 700);
			assert_true(g->ev[i].value > 399.0);
			assert_true(g->ev[i].expected < 110.0);
		}
		if (g->ev[i].status == ALERT_FIRING && strcmp(g->ev[i].rule, "lat-des") == 0)
			des_fire++;
	}
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->ev[i].rule, "lat") == 0 && strcmp(g->ev[i].series, "svc.lat{host=a}") != 0 &&
		    g->ev[i].status == ALERT_FIRING)
			wrong++;
	assert_true(lat_fire >= 1);
	assert_true(des_fire >= 1);
	assert_int_equal(wrong, 0);
	struct engine_stats es;
	engine_get_stats(e, &es);
	assert_int_equal(es.points, 3000);
	assert_int_equal(es.series, 3);
	assert_int_equal(es.rejected, 0);
	assert_true(es.bytes > 0);
	engine_destroy(e);
	ruleset_free(rs);
	free(g);
}

static void test_engine__checkpoint_continues_exactly(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	struct engine *ea = new_engine(rs, a, 0), *eb = new_engine(rs, b, 0);
	struct buf blob = {0};

	feed_range(ea, 0, 1000);
	feed_range(eb, 0, 702); /* save in the middle of the spike episode */
	assert_int_equal(engine_save(eb, &blob), 0);
	engine_destroy(eb);
	eb = new_engine(rs, b, 0);
	assert_int_equal(engine_load(eb, blob.data, blob.len), 0);
	feed_range(eb, 702, 1000);
	assert_int_equal(a->n, b->n);
	assert_true(a->n > 0);
	for (int i = 0; i < a->n; i++) {
		assert_int_equal(a->ev[i].status, b->ev[i].status);
		assert_string_equal(a->ev[i].rule, b->ev[i].rule);
		assert_string_equal(a->ev[i].series, b->ev[i].series);
		assert_true(memcmp(&a->ev[i].ts, &b->ev[i].ts, sizeof(double)) == 0);
		assert_true(memcmp(&a->ev[i].started, &b->ev[i].started, sizeof(double)) == 0);
		assert_int_equal(a->ev[i].start_pos, b->ev[i].start_pos);
		assert_true(memcmp(&a->ev[i].score, &b->ev[i].score, sizeof(double)) == 0);
	}
	/* a second save of both engines is byte-identical */
	struct buf sa = {0}, sb = {0};
	assert_int_equal(engine_save(ea, &sa), 0);
	assert_int_equal(engine_save(eb, &sb), 0);
	assert_int_equal(sa.len, sb.len);
	assert_memory_equal(sa.data, sb.data, sa.len);
	buf_free(&sa);
	buf_free(&sb);
	buf_free(&blob);
	engine_destroy(ea);
	engine_destroy(eb);
	ruleset_free(rs);
	free(a);
	free(b);
}

static void test_engine__bad_checkpoint_leaves_fresh_engine(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine *e = new_engine(rs, g, 0);
	struct buf blob = {0};
	struct engine_stats es;
	feed_range(e, 0, 100);
	assert_int_equal(engine_save(e, &blob), 0);
	for (size_t cut = 0; cut < blob.len; cut += blob.len / 13 + 1) {
		assert_int_not_equal(engine_load(e, blob.data, cut), 0);
		engine_get_stats(e, &es);
		assert_int_equal(es.series, 0);
	}
	blob.data[0] ^= 0xff;
	assert_int_not_equal(engine_load(e, blob.data, blob.len), 0);
	blob.data[0] ^= 0xff;
	assert_int_equal(engine_load(e, blob.data, blob.len), 0);
	engine_get_stats(e, &es);
	assert_int_equal(es.series, 3);
	feed_range(e, 100, 200); /* still usable */
	buf_free(&blob);
	engine_destroy(e);
	ruleset_free(rs);
	free(g);
}

static void test_engine__limits_out_of_order_and_rejects(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine *e = new_engine(rs, g, 0);
	struct engine_stats es;
	char line[128];
	/* team-a may own 3 series: the 4th and 5th are refused with one alert */
	for (int h = 0; h < 5; h++) {
		int n = snprintf(line, sizeof line, "svc.x;host=h%d 1 1700000000", h);
		test_feed(e, "t", h, line, (size_t)n);
	}
	engine_get_stats(e, &es);
	assert_int_equal(es.series, 3);
	assert_int_equal(es.series_refused, 2);
	assert_int_equal(g->n, 1);
	assert_string_equal(g->ev[0].rule, "vigil-series-limit");
	assert_string_equal(g->ev[0].owner, "team-a");
	/* counted per owner (rs->owners: team-a, team-b; then "none"): two
	 * series, three points (h4 again) */
	test_feed(e, "t", 5, "svc.x;host=h4 1 1700000060", 26);
	uint64_t pts = 0;
	assert_int_equal(engine_owner_refused(e, 0, &pts), 2);
	assert_int_equal(pts, 3);
	assert_int_equal(engine_owner_refused(e, 1, &pts), 0);
	assert_int_equal(pts, 0);
	assert_int_equal(engine_owner_refused(e, 2, &pts), 0);
	/* a canary series is not watched by rule "lat" and so is not team-a's */
	assert_int_equal(test_feed(e, "t", 9, "svc.x;host=h9;tier=canary 1 1700000000", 37), 0);
	engine_get_stats(e, &es);
	assert_int_equal(es.series, 4);
	assert_int_equal(es.unmatched, 1);
	/* out of order: same series, older ts */
	assert_int_equal(test_feed(e, "t", 10, "svc.x;host=h0 1 1699999999", 26), 0);
	engine_get_stats(e, &es);
	assert_int_equal(es.out_of_order, 1);
	/* bad records are rejected and counted; the engine goes on */
	assert_int_equal(test_feed(e, "t", 11, "svc.x;host=h0 NaN 1700000060", 28), -VIGIL_EINVAL);
	assert_int_equal(test_feed(e, "t", 12, "not a metric", 12), -VIGIL_EINVAL);
	engine_get_stats(e, &es);
	assert_int_equal(es.rejected, 2);
	assert_int_equal(test_feed(e, "t", 13, "svc.x;host=h0 2 1700000060", 26), 0);
	engine_destroy(e);
	/* global limit */
	g->n = 0;
	e = new_engine(rs, g, 2);
	for (int h = 0; h < 4; h++) {
		int n = snprintf(line, sizeof line, "other.m%d 1 1700000000", h);
		test_feed(e, "t", h, line, (size_t)n);
	}
	engine_get_stats(e, &es);
	assert_int_equal(es.series, 2);
	assert_int_equal(es.series_refused, 2);
	assert_int_equal(g->n, 1);
	/* the global limit: series no rule watches count under "none" */
	assert_int_equal(engine_owner_refused(e, rs->nowners, &pts), 2);
	assert_int_equal(pts, 2);
	engine_destroy(e);
	ruleset_free(rs);
	free(g);
}

/* One point far in the future (ts 99999999999, the year 5138) is refused
 * with a counter; it neither stalls its series nor hides a later spike. */
static void test_engine__future_point_refused(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine *e = NULL;
	char err[256];
	struct engine_opts o = {.rs = rs, .max_future = 3600, .on_alert = alerts_collect, .alert_ctx = g};
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	clock_fake_set(1000.0, 1700000000.0 + 60 * 1000); /* the wall clock at the data's end */
	feed_range(e, 0, 300);
	/* refused by the engine, which counts and says it (the feed goes on) */
	test_feed(e, "t", 1, "svc.lat;host=a 100 99999999999", 30);
	test_feed(e, "t", 2, "svc.lat;host=b 100 1700064000", 29);
	struct engine_stats es;
	engine_get_stats(e, &es);
	assert_int_equal(es.future, 2);
	assert_int_equal(es.rejected, 2);
	assert_int_equal(es.out_of_order, 0);
	feed_range(e, 300, 1000); /* the spike at step 700 still pages */
	engine_get_stats(e, &es);
	assert_int_equal(es.out_of_order, 0);
	int fired = 0;
	for (int i = 0; i < g->n; i++)
		fired += g->ev[i].status == ALERT_FIRING && strcmp(g->ev[i].series, "svc.lat{host=a}") == 0;
	assert_true(fired >= 1);
	/* with the limit off, the far point is taken (and stalls the series) */
	engine_destroy(e);
	o.max_future = 0;
	g->n = 0;
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	test_feed(e, "t", 1, "svc.lat;host=a 100 99999999999", 30);
	feed_range(e, 0, 10);
	engine_get_stats(e, &es);
	assert_int_equal(es.future, 0);
	assert_int_equal(es.out_of_order, 10);
	clock_fake_off();
	engine_destroy(e);
	ruleset_free(rs);
	free(g);
}

static struct engine *skew_engine(struct ruleset *rs, struct alerts_got *g, double max_skew)
{
	struct engine *e = NULL;
	char err[256];
	struct engine_opts o = {.rs = rs, .max_skew = max_skew, .on_alert = alerts_collect, .alert_ctx = g};
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	return e;
}

static int fired_on(const struct alerts_got *g, const char *series)
{
	int n = 0;
	for (int i = 0; i < g->n; i++)
		n += g->ev[i].status == ALERT_FIRING && strcmp(g->ev[i].series, series) == 0;
	return n;
}

/* max_skew: one wrong time far ahead of its series' newest point (but not
 * of the wall clock) is held, then refused when the series' next point is
 * back near its time: the series is not stalled, the later spike pages.
 * With max_skew off, the same point stalls the series. */
static void test_engine__skewed_point_refused(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine *e = skew_engine(rs, g, 3600);
	struct engine_stats es;
	feed_range(e, 0, 300);
	assert_int_equal(test_feed(e, "t", 1, "svc.lat;host=a 100 1800000000", 29), 0);
	engine_get_stats(e, &es);
	assert_int_equal(es.skew_held, 1);
	assert_int_equal(es.skew_pending, 1);
	assert_true(engine_now(e) < 1700000000.0 + 60 * 300); /* the held point moves no clock */
	assert_true(es.newest_ts < 1700000000.0 + 60 * 300);
	feed_range(e, 300, 1000);
	engine_get_stats(e, &es);
	assert_int_equal(es.skew_held, 1);
	assert_int_equal(es.skewed, 1);
	assert_int_equal(es.skew_pending, 0);
	assert_int_equal(es.out_of_order, 0);
	assert_true(fired_on(g, "svc.lat{host=a}") >= 1);
	engine_destroy(e);
	/* off: the same point stalls svc.lat{host=a}, its spike is missed */
	g->n = 0;
	e = skew_engine(rs, g, 0);
	feed_range(e, 0, 300);
	assert_int_equal(test_feed(e, "t", 1, "svc.lat;host=a 100 1800000000", 29), 0);
	feed_range(e, 300, 1000);
	engine_get_stats(e, &es);
	assert_int_equal(es.out_of_order, 700);
	assert_int_equal(fired_on(g, "svc.lat{host=a}"), 0);
	engine_destroy(e);
	ruleset_free(rs);
	free(g);
}

/* Points the rules were given, summed over rules. */
static uint64_t rule_points(const struct engine *e, const struct ruleset *rs)
{
	const struct engine_rule_stats *rst = engine_rule_stats(e);
	uint64_t n = 0;
	for (size_t i = 0; i < rs->nrules; i++)
		n += rst[i].points;
	return n;
}

/* max_skew never loses data: after an outage of every series (3 days),
 * each series' first point is held and confirmed by its next, so the rules
 * see exactly what they see with max_skew off; a held point survives a
 * checkpoint and restore, and engine_flush_held processes the last ones. */
static void test_engine__skew_jump_keeps_every_point(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine *e = skew_engine(rs, g, 3600), *off = skew_engine(rs, g, 0), *e2 = NULL;
	struct engine_stats es;
	const int gap = 3 * 1440; /* steps of 60 s */
	feed_range(e, 0, 300);
	feed_range(off, 0, 300);
	feed_range(e, 300 + gap, 400 + gap);
	feed_range(off, 300 + gap, 400 + gap);
	engine_get_stats(e, &es);
	assert_int_equal(es.skew_held, 3);
	assert_int_equal(es.skewed, 0);
	assert_int_equal(es.skew_pending, 0);
	assert_int_equal(es.out_of_order, 0);
	assert_int_equal(rule_points(e, rs), rule_points(off, rs));
	/* a second jump, checkpointed while the first point after it is held */
	uint64_t before_off = rule_points(off, rs);
	feed_range(e, 400 + 2 * gap, 401 + 2 * gap);
	feed_range(off, 400 + 2 * gap, 401 + 2 * gap);
	engine_get_stats(e, &es);
	assert_int_equal(es.skew_pending, 3);
	struct buf blob = {0};
	assert_int_equal(engine_save(e, &blob), 0);
	e2 = skew_engine(rs, g, 3600);
	assert_int_equal(engine_load(e2, blob.data, blob.len), 0);
	buf_free(&blob);
	engine_get_stats(e2, &es);
	assert_int_equal(es.skew_pending, 3);
	uint64_t before = rule_points(e2, rs);        /* the held points are not in it yet */
	feed_range(e2, 401 + 2 * gap, 402 + 2 * gap); /* confirms the restored held points */
	feed_range(off, 401 + 2 * gap, 402 + 2 * gap);
	engine_get_stats(e2, &es);
	assert_int_equal(es.skew_pending, 0);
	assert_int_equal(es.skewed, 0);
	assert_int_equal(rule_points(e2, rs) - before, rule_points(off, rs) - before_off);
	/* the input ends with held points: processed by engine_flush_held */
	before = rule_points(e2, rs);
	before_off = rule_points(off, rs);
	feed_range(e2, 402 + 3 * gap, 403 + 3 * gap);
	feed_range(off, 402 + 3 * gap, 403 + 3 * gap);
	engine_get_stats(e2, &es);
	assert_int_equal(es.skew_pending, 3);
	assert_int_equal(engine_flush_held(e2), 0);
	engine_get_stats(e2, &es);
	assert_int_equal(es.skew_pending, 0);
	assert_int_equal(rule_points(e2, rs) - before, rule_points(off, rs) - before_off);
	engine_destroy(e);
	engine_destroy(e2);
	engine_destroy(off);
	ruleset_free(rs);
	free(g);
}

/* The memory budget: a series that does not fit is refused and counted,
 * its owner told once an hour of data time; a restore is never refused;
 * an engine gives its share back when destroyed. */
static void test_engine__memory_budget(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	struct alerts_got *g = calloc(1, sizeof *g);
	struct engine_budget budget = {0};
	struct engine *e = NULL, *e2 = NULL;
	char err[256], line[128];
	struct engine_opts o = {.rs = rs, .budget = &budget, .on_alert = alerts_collect, .alert_ctx = g};
	/* measure one series of team-b ("svc.lat" matches lat-des and lat) */
	budget.limit = 0;
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	assert_int_equal(test_feed(e, "t", 0, "svc.lat;host=h0 1 1700000000", 28), 0);
	size_t one = budget.used;
	assert_true(one > 0);
	engine_destroy(e);
	assert_int_equal(budget.used, 0);
	/* room for two such series */
	budget.limit = 2 * one + one / 2;
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	for (int i = 0; i < 4; i++) {
		int n = snprintf(line, sizeof line, "svc.lat;host=h%d 1 %d", i, 1700000000 + i);
		test_feed(e, "t", i, line, (size_t)n);
	}
	struct engine_stats es;
	engine_get_stats(e, &es);
	assert_int_equal(es.series, 2);
	assert_int_equal(es.series_refused_memory, 2);
	assert_int_equal(budget.used, 2 * one);
	int told = 0;
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->ev[i].rule, "vigil-memory-budget") == 0) {
			told++;
			assert_string_equal(g->ev[i].owner, "team-a");
		}
	assert_int_equal(told, 1); /* once, not per refused point */
	/* an hour of data later the owner is told again */
	assert_int_equal(test_feed(e, "t", 9, "svc.lat;host=h9 1 1700003700", 28), 0);
	told = 0;
	for (int i = 0; i < g->n; i++)
		told += strcmp(g->ev[i].rule, "vigil-memory-budget") == 0;
	assert_int_equal(told, 2);
	/* a restore into a second engine on the same budget is not refused */
	struct buf blob = {0};
	assert_int_equal(engine_save(e, &blob), 0);
	assert_int_equal(engine_create(&o, &e2, err, sizeof err), 0);
	assert_int_equal(engine_load(e2, blob.data, blob.len), 0);
	engine_get_stats(e2, &es);
	assert_int_equal(es.series, 2);
	assert_int_equal(budget.used, 4 * one);
	buf_free(&blob);
	engine_destroy(e2);
	engine_destroy(e);
	assert_int_equal(budget.used, 0);
	ruleset_free(rs);
	free(g);
}

/* Events of rule `rule` with status st in g from index from on. */
static int count_events(const struct alerts_got *g, int from, const char *rule, int st)
{
	int n = 0;
	for (int i = from; i < g->n; i++)
		n += strcmp(g->ev[i].rule, rule) == 0 && (int)g->ev[i].status == st;
	return n;
}

/* The checkpoint of v2 (before model hashes): blob without the u64 after
 * each rule name. */
/* A version 2 blob from a version 4 one: no model hashes, no held point
 * per series. */
static void to_v2(const struct buf *v4, struct buf *v2)
{
	const uint8_t *p = v4->data;
	uint32_t nrules, len, ver = 2, nslots;
	uint64_t nseries;
	size_t off = 12;
	memcpy(&nrules, p + 8, 4);
	buf_put(v2, p, 4);
	buf_put_u32(v2, ver);
	buf_put_u32(v2, nrules);
	for (uint32_t i = 0; i < nrules; i++) {
		memcpy(&len, p + off, 4);
		buf_put(v2, p + off, 4 + len);
		off += 4 + len + 8;
	}
	memcpy(&nseries, p + off, 8);
	buf_put(v2, p + off, 8);
	off += 8;
	for (uint64_t i = 0; i < nseries; i++) {
		memcpy(&len, p + off, 4);
		buf_put(v2, p + off, 4 + len + 8); /* key, last_ts */
		off += 4 + len + 8 + 16;           /* held_ts, held value: not in v2 */
		memcpy(&nslots, p + off, 4);
		size_t start = off;
		off += 4;
		for (uint32_t j = 0; j < nslots; j++) {
			off += 4 + sizeof(struct rule_state);
			memcpy(&len, p + off, 4);
			off += 4 + len;
		}
		buf_put(v2, p + start, off - start);
	}
	buf_put(v2, p + off, v4->len - off);
}

/* A restart whose rule changed its params while vigil was down: the saved
 * states of that rule are not resumed (new models), the other rule's are;
 * a version 2 checkpoint (no hash) still loads, matching by name. */
static void test_engine__restore_changed_rule_starts_new_model(void **st)
{
	(void)st;
	struct ruleset *rs = load_rules();
	/* a parameter that does not change the state's layout (a window size
	 * would: such a state never loads into the new model anyway) */
	const char *w = strstr(rules_yaml, "{window: 60}");
	assert_non_null(w);
	char yaml[sizeof rules_yaml + 64];
	snprintf(yaml, sizeof yaml, "%.*s{window: 60, abs_floor: 0.001}%s", (int)(w - rules_yaml), rules_yaml,
		 w + strlen("{window: 60}"));
	struct ruleset *changed = load_rules_text(yaml);
	struct alerts_got *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	struct engine *ea = new_engine(rs, a, 0);
	struct buf blob = {0}, v2 = {0};

	feed_range(ea, 0, 702); /* lat fired on the spike and is open */
	assert_true(count_events(a, 0, "lat", ALERT_FIRING) >= 1);
	assert_int_equal(engine_save(ea, &blob), 0);
	engine_destroy(ea);

	/* same rules: the open episode goes on and resolves */
	struct engine *eb = new_engine(rs, b, 0);
	assert_int_equal(engine_load(eb, blob.data, blob.len), 0);
	feed_range(eb, 702, 1000);
	assert_int_equal(count_events(b, 0, "lat", ALERT_RESOLVED), 1);
	int des_events =
		count_events(b, 0, "lat-des", ALERT_FIRING) + count_events(b, 0, "lat-des", ALERT_RESOLVED);
	engine_destroy(eb);

	/* lat's params changed: its model and episode are new (no resolve of
	 * an episode it never opened); lat-des, unchanged, goes on */
	b->n = 0;
	eb = new_engine(changed, b, 0);
	assert_int_equal(engine_load(eb, blob.data, blob.len), 0);
	struct engine_stats es;
	engine_get_stats(eb, &es);
	assert_int_equal(es.series, 3);
	feed_range(eb, 702, 1000);
	assert_int_equal(count_events(b, 0, "lat", ALERT_RESOLVED), 0);
	assert_int_equal(count_events(b, 0, "lat-des", ALERT_FIRING) +
				 count_events(b, 0, "lat-des", ALERT_RESOLVED),
			 des_events);
	engine_destroy(eb);

	/* a version 2 checkpoint is readable: by name, as before */
	to_v2(&blob, &v2);
	b->n = 0;
	eb = new_engine(changed, b, 0);
	assert_int_equal(engine_load(eb, v2.data, v2.len), 0);
	feed_range(eb, 702, 1000);
	assert_int_equal(count_events(b, 0, "lat", ALERT_RESOLVED), 1);
	engine_destroy(eb);

	buf_free(&blob);
	buf_free(&v2);
	ruleset_free(rs);
	ruleset_free(changed);
	free(a);
	free(b);
}

int main(void)
{
	gsl_set_error_handler_off();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine__spike_alerts_both_rules),
		cmocka_unit_test(test_engine__checkpoint_continues_exactly),
		cmocka_unit_test(test_engine__bad_checkpoint_leaves_fresh_engine),
		cmocka_unit_test(test_engine__restore_changed_rule_starts_new_model),
		cmocka_unit_test(test_engine__limits_out_of_order_and_rejects),
		cmocka_unit_test(test_engine__future_point_refused),
		cmocka_unit_test(test_engine__memory_budget),
		cmocka_unit_test(test_engine__skewed_point_refused),
		cmocka_unit_test(test_engine__skew_jump_keeps_every_point),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
