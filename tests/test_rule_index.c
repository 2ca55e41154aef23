/* Tests for the series-name index (rules/index.c) and the engine's cache of
 * it: ruleset_candidates gives exactly the rules a scan of every rule's
 * series glob gives, in rule order; the engine matches the same series with
 * the cache as rule_matches over every rule does. */
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

static const char yaml[] = "owners:\n  - name: o\n    destinations: [{type: stdout}]\n"
			   "rules:\n"
			   "  - {name: r0, series: api.lat, owner: o}\n"
			   "  - {name: r1, series: \"api.*\", owner: o}\n"
			   "  - {name: r2, series: api.lat, match: {app: web}, owner: o}\n"
			   "  - {name: r3, series: db.lag, owner: o}\n"
			   "  - {name: r4, series: \"*\", owner: o}\n"
			   "  - {name: r5, series: \"api.la?\", owner: o}\n"
			   "  - {name: r6, series: \"api.lat[x]\", owner: o}\n"
			   "  - {name: r7, series: api.lat, owner: o}\n"
			   "  - {name: r8, series: \"a\\\\*\", owner: o}\n";

static struct ruleset *load(void)
{
	char path[64], err[512];
	const char *paths[] = {path};
	struct ruleset *rs = NULL;
	FILE *f;

	snprintf(path, sizeof path, "/tmp/test_rule_index.%d.yaml", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(yaml, f) >= 0);
	assert_int_equal(fclose(f), 0);
	int rc = ruleset_load(paths, 1, NULL, &rs, err, sizeof err);
	unlink(path);
	if (rc != 0)
		fail_msg("%s", err);
	return rs;
}

static const char *const names[] = {"api.lat", "api.lax", "api.latx", "db.lag", "a*", "aX", "x", "", "api."};

static void test_rule_index__same_as_scan(void **state)
{
	struct ruleset *rs = load();
	uint32_t *buf = NULL;
	size_t cap = 0, n;

	(void)state;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		uint32_t want[16];
		size_t nw = 0;
		for (size_t i = 0; i < rs->nrules; i++)
			if (rule_glob_match(rs->rules[i].series, names[k]))
				want[nw++] = (uint32_t)i;
		assert_int_equal(ruleset_candidates(rs, names[k], &buf, &cap, &n), 0);
		print_message("%s: %zu candidates\n", names[k], n);
		assert_int_equal(n, nw);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(buf[i], want[i]);
	}
	/* a known answer, so the scan itself is checked: r0 r1 r2 r4 r5 r7 */
	assert_int_equal(ruleset_candidates(rs, "api.lat", &buf, &cap, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[5], 7);
	free(buf);
	ruleset_free(rs);
}

/* Through the engine (cache filled on the first series of a name, then
 * read): the slots are the rules rule_matches accepts, tags included. */
static void test_rule_index__engine_cache(void **state)
{
	struct ruleset *rs = load();
	struct engine_opts eo = {.rs = rs};
	struct engine *e = NULL;
	char err[256];

	(void)state;
	assert_int_equal(engine_create(&eo, &e, err, sizeof err), 0);
	for (int round = 0; round < 2; round++) {
		struct point p = {.name = "api.lat", .ntags = 1, .ts = 100 + round, .value = 1};
		p.tags[0] = (struct tag){"app", round ? "web" : "db"};
		assert_int_equal(engine_point(e, &p, "t", round), 0);
	}
	const struct engine_rule_stats *st = engine_rule_stats(e);
	/* r2 (app: web) saw only the second series; r0, r1, r4, r5, r7 both */
	assert_int_equal(st[2].series, 1);
	assert_int_equal(st[0].series, 2);
	assert_int_equal(st[7].series, 2);
	assert_int_equal(st[3].series, 0);
	assert_int_equal(st[6].series, 0);
	engine_destroy(e);
	ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_index__same_as_scan),
		cmocka_unit_test(test_rule_index__engine_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
