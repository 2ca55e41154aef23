/* Tests for engine_reload (engine/engine_reload.c) and the ruleset version
 * and model hashes (rules/load.c): models of unchanged rules survive a
 * reload (a spike right after it still fires, which needs the warm-up), a
 * changed rule starts over (the same spike finds it warming up), a removed
 * rule's open episode resolves with resolve_reason=rule_removed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "rules/rules.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_reload.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ruleset *load(const char *name, const char *text)
{
	char path[128], err[512];
	const char *paths[] = {path};
	struct ruleset *rs = NULL;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (ruleset_load(paths, 1, NULL, &rs, err, sizeof err) != 0)
		fail_msg("%s", err);
	return rs;
}

#define OWNER "owners:\n  - name: o\n    destinations: [{type: stdout}]\n"
#define MAD(name, series, z, extra)                                                                          \
	"  - name: " name "\n    series: " series                                                            \
	"\n    detector: mad\n    params: {window: 20, min_points: 20, "                                     \
	"z_threshold: " z "}\n    action: page\n    owner: o\n" extra

struct seen {
	char rule[64], series[128], reason[32];
	enum alert_status status;
};
static struct seen events[64];
static size_t nevents;

static int on_alert(void *ctx, const struct alert_event *ev)
{
	struct seen *s = &events[nevents < 64 ? nevents++ : 63];
	(void)ctx;
	memset(s, 0, sizeof *s);
	s->status = ev->status;
	snprintf(s->rule, sizeof s->rule, "%s", ev->rule);
	snprintf(s->series, sizeof s->series, "%s", ev->series);
	for (size_t i = 0; i < ev->nlabels; i++)
		if (strcmp(ev->labels[i].key, "resolve_reason") == 0)
			snprintf(s->reason, sizeof s->reason, "%s", ev->labels[i].value);
	return 0;
}

static void feed(struct engine *e, const char *name, double ts, double v)
{
	struct point p = {.name = name, .ts = ts, .value = v};
	assert_int_equal(engine_point(e, &p, "test", (int64_t)ts), 0);
}

static const struct seen *find(const char *rule, enum alert_status st)
{
	for (size_t i = 0; i < nevents; i++)
		if (strcmp(events[i].rule, rule) == 0 && events[i].status == st)
			return &events[i];
	return NULL;
}

static void test_reload__models_kept_changed_removed(void **state)
{
	struct ruleset *a =
		load("a.yaml", OWNER "rules:\n" MAD("keep", "x", "6", "") MAD("changed", "x", "6", "")
				       MAD("gone", "y", "6", "    keep_firing_for: 1d\n"));
	struct ruleset *b = load("b.yaml", OWNER "rules:\n" MAD("keep", "x", "6", "")
						   MAD("changed", "x", "7", "") MAD("added", "x", "6", ""));
	struct engine_opts eo = {.rs = a, .on_alert = on_alert};
	struct engine *e = NULL;
	char err[256];
	double t = 1000;

	(void)state;
	nevents = 0;
	assert_int_equal(engine_create(&eo, &e, err, sizeof err), 0);
	/* the hashes say which rules carry over */
	assert_true(ruleset_rule(a, "keep")->model_hash == ruleset_rule(b, "keep")->model_hash);
	assert_true(ruleset_rule(a, "changed")->model_hash != ruleset_rule(b, "changed")->model_hash);
	assert_true(a->version != b->version);
	/* warm both series up, then open an episode on y */
	for (int i = 0; i < 30; i++, t += 60) {
		feed(e, "x", t, 100 + i % 3);
		feed(e, "y", t, 50 + i % 2);
	}
	assert_int_equal(nevents, 0);
	feed(e, "y", t, 5000);
	assert_non_null(find("gone", ALERT_FIRING));
	nevents = 0;

	assert_int_equal(engine_reload(e, b, err, sizeof err), 0);
	ruleset_free(a); /* the engine no longer uses the old rules */
	/* the removed rule's open episode resolved, with its reason */
	assert_int_equal(nevents, 1);
	assert_string_equal(events[0].rule, "gone");
	assert_int_equal(events[0].status, ALERT_RESOLVED);
	assert_string_equal(events[0].reason, "rule_removed");
	assert_string_equal(events[0].series, "y");
	nevents = 0;

	/* a spike right after the reload: only the kept model is warm */
	t += 60;
	feed(e, "x", t, 5000);
	assert_non_null(find("keep", ALERT_FIRING));
	assert_null(find("changed", ALERT_FIRING));
	assert_null(find("added", ALERT_FIRING));
	assert_int_equal(nevents, 1);

	struct engine_stats es;
	engine_get_stats(e, &es);
	assert_int_equal(es.series, 2);
	assert_int_equal(es.points, 62);
	engine_destroy(e);
	ruleset_free(b);
}

/* Without a reload, the changed rule's model would have fired too: the
 * reload is what reset it (the test above could not fail otherwise). */
static void test_reload__control_without_reload(void **state)
{
	struct ruleset *b = load("b.yaml", OWNER "rules:\n" MAD("changed", "x", "7", ""));
	struct engine_opts eo = {.rs = b, .on_alert = on_alert};
	struct engine *e = NULL;
	char err[256];
	double t = 1000;

	(void)state;
	nevents = 0;
	assert_int_equal(engine_create(&eo, &e, err, sizeof err), 0);
	for (int i = 0; i < 30; i++, t += 60)
		feed(e, "x", t, 100 + i % 3);
	feed(e, "x", t, 5000);
	assert_non_null(find("changed", ALERT_FIRING));
	engine_destroy(e);
	ruleset_free(b);
}

#define PEER                                                                                                 \
	"  - name: peers\n    series: cpu\n    detector: peerpca\n    peer_group: {by: [app], step: 1m, "    \
	"deadline: 2m, min_members: 3}\n    owner: o\n"

static void feed_cpu(struct engine *e, int host, double ts, double v)
{
	char h[16];
	struct point p = {.name = "cpu", .ntags = 2, .ts = ts, .value = v};
	snprintf(h, sizeof h, "h%d", host);
	p.tags[0] = (struct tag){"app", "web"};
	p.tags[1] = (struct tag){"host", h};
	assert_int_equal(engine_point(e, &p, "test", (int64_t)ts), 0);
}

/* Peer groups carry over a reload of an unchanged group rule (same group,
 * same members, the ticks go on closing) and are dropped with the rule. */
static void test_reload__peer_groups(void **state)
{
	struct ruleset *a = load("pa.yaml", OWNER "rules:\n" PEER MAD("keep", "x", "6", ""));
	struct ruleset *b = load("pb.yaml", "# same rules\n" OWNER "rules:\n" PEER MAD("keep", "x", "6", ""));
	struct ruleset *c = load("pc.yaml", OWNER "rules:\n" MAD("keep", "x", "6", ""));
	struct engine_opts eo = {.rs = a, .on_alert = on_alert};
	struct engine *e = NULL;
	struct engine_stats st0, st1;
	char err[256];
	double t = 6000;

	(void)state;
	nevents = 0;
	assert_int_equal(engine_create(&eo, &e, err, sizeof err), 0);
	for (int i = 0; i < 40; i++, t += 60)
		for (int h = 0; h < 4; h++)
			feed_cpu(e, h, t, 50 + h + i % 3);
	engine_get_stats(e, &st0);
	assert_int_equal(st0.groups, 1);
	assert_int_equal(st0.group_members, 4);
	assert_int_equal(engine_reload(e, b, err, sizeof err), 0);
	engine_get_stats(e, &st1);
	assert_int_equal(st1.groups, 1);
	assert_int_equal(st1.group_members, 4);
	assert_int_equal(st1.ticks_closed, st0.ticks_closed);
	for (int h = 0; h < 4; h++)
		feed_cpu(e, h, t, 50 + h);
	t += 60;
	for (int h = 0; h < 4; h++)
		feed_cpu(e, h, t, 50 + h);
	engine_get_stats(e, &st1);
	assert_true(st1.ticks_closed > st0.ticks_closed); /* the group goes on */
	assert_int_equal(engine_reload(e, c, err, sizeof err), 0);
	engine_get_stats(e, &st1);
	assert_int_equal(st1.groups, 0);
	assert_int_equal(st1.series, 4); /* the cpu series stay known, unwatched */
	engine_destroy(e);
	ruleset_free(a);
	ruleset_free(b);
	ruleset_free(c);
}

/* The version hashes the documents, not their layout. */
static void test_reload__version(void **state)
{
	struct ruleset *a = load("v1.yaml", OWNER "rules:\n" MAD("r", "x", "6", ""));
	struct ruleset *b = load("v2.yaml", "# a comment\n" OWNER "rules:\n" MAD("r", "x", "6", ""));
	struct ruleset *c = load("v3.yaml", OWNER "rules:\n" MAD("r", "x", "6", "    summary: hi\n"));
	char hex[17];

	(void)state;
	assert_true(a->version == b->version);
	assert_true(a->version != c->version);
	assert_true(a->owners_version == c->owners_version);
	/* a summary is not part of the model */
	assert_true(a->rules[0].model_hash == c->rules[0].model_hash);
	ruleset_version_hex(a, hex);
	assert_int_equal(strlen(hex), 16);
	ruleset_free(a);
	ruleset_free(b);
	ruleset_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload__models_kept_changed_removed),
		cmocka_unit_test(test_reload__control_without_reload),
		cmocka_unit_test(test_reload__version),
		cmocka_unit_test(test_reload__peer_groups),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
