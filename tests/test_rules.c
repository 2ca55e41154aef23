/* Tests for rules/: loading (good fixtures, every error with its exact
 * file:line:column), series/tag matching and the rule_eval() state machine.
 * Run from the repository root (fixtures under tests/fixtures/rules/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/testutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rules.h"

#define FIX "tests/fixtures/rules/"

/* Loading needs real detectors; say so loudly when the registry lacks one. */
static int need_detector(const char *name)
{
	if (det_find(name) != NULL)
		return 1;
	print_message("SKIP: detector '%s' is not registered (det_all()[0] = %s)\n", name,
		      det_all()[0] ? det_all()[0]->name : "none");
	return 0;
}

/* ---- temp files ---- */

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_rules.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_tmp(const char *name, const char *text, char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0 || *text == '\0', 1);
	assert_int_equal(fclose(f), 0);
}

/* Load and expect failure whose message starts with "<file>:<line>:<col>: "
 * and contains `want`. */
static void expect_error_at(const char *const *paths, size_t n, const char *owners, const char *file,
			    int line, int col, const char *want)
{
	struct ruleset *rs = NULL;
	char err[1024], prefix[512];
	int rc;

	err[0] = '\0';
	rc = ruleset_load(paths, n, owners, &rs, err, sizeof err);
	snprintf(prefix, sizeof prefix, "%s:%d:%d: ", file, line, col);
	if (rc == 0 || strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL)
		print_error("want '%s...%s', got rc=%d '%s'\n", prefix, want, rc, err);
	assert_int_not_equal(rc, 0);
	assert_null(rs);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(err, want));
}

/* ---- good files ---- */

static const struct tag_matcher *find_matcher(const struct rule *r, const char *key)
{
	for (size_t i = 0; i < r->nmatch; i++)
		if (strcmp(r->match[i].key, key) == 0)
			return &r->match[i];
	return NULL;
}

static void test_rules__load_good(void **state)
{
	const char *paths[] = {FIX "good/rules.d"};
	struct ruleset *rs = NULL;
	const struct rule *r;
	const struct owner *o;
	char err[512];

	(void)state;
	if (!need_detector("des"))
		skip();
	assert_int_equal(ruleset_load(paths, 1, FIX "good/owners.yaml", &rs, err, sizeof err), 0);
	assert_non_null(rs);
	assert_int_equal(rs->nowners, 2);
	/* files in name order: 10-checkout.yaml (2 rules), 20-storage.yml (1);
	 * notes.txt and .hidden.yaml are not read */
	assert_int_equal(rs->nrules, 3);
	assert_string_equal(rs->rules[0].name, "checkout-latency");
	assert_string_equal(rs->rules[1].name, "checkout-errors");
	assert_string_equal(rs->rules[2].name, "disk-latency");
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(rs->rules[i].index, i);

	r = &rs->rules[0];
	assert_string_equal(r->where, FIX "good/rules.d/10-checkout.yaml:3:5");
	assert_string_equal(r->series, "api.latency");
	assert_int_equal(r->nmatch, 5);
	assert_int_equal(find_matcher(r, "app")->op, MATCH_EQ);
	assert_string_equal(find_matcher(r, "app")->value, "checkout");
	assert_int_equal(find_matcher(r, "region")->op, MATCH_RE);
	assert_string_equal(find_matcher(r, "region")->value, "eu-.*");
	assert_int_equal(find_matcher(r, "host")->op, MATCH_NE);
	assert_string_equal(find_matcher(r, "host")->value, "db1");
	assert_int_equal(find_matcher(r, "zone")->op, MATCH_NRE);
	assert_string_equal(find_matcher(r, "zone")->value, "test.*");
	assert_int_equal(find_matcher(r, "pod")->op, MATCH_GLOB);
	assert_string_equal(find_matcher(r, "pod")->value, "api-*");
	assert_string_equal(r->det.type->name, "des");
	assert_non_null(r->det.cfg);
	assert_near(r->threshold, 0.9, 1e-15);
	assert_int_equal(r->direction, DIR_UP);
	assert_int_equal(r->for_k, 3);
	assert_int_equal(r->for_n, 5);
	assert_near(r->keep_firing_for, 300.0, 1e-15);
	assert_int_equal(r->action, ACTION_PAGE);
	assert_ptr_equal(r->owner, ruleset_owner(rs, "payments"));
	assert_int_equal(r->nlabels, 2);
	assert_string_equal(r->labels[0].key, "service");
	assert_string_equal(r->labels[0].value, "checkout");
	assert_string_equal(r->labels[0].where, FIX "good/rules.d/10-checkout.yaml:19:14");
	assert_string_equal(r->labels[1].key, "tier");
	assert_string_equal(r->labels[1].value, "1");
	assert_string_equal(r->summary, "checkout p99 latency anomaly");
	assert_string_equal(r->runbook_url, "https://runbooks.example/checkout-latency");

	/* defaults */
	r = &rs->rules[1];
	assert_string_equal(r->series, "api.errors.*");
	assert_int_equal(r->nmatch, 0);
	assert_string_equal(r->det.type->name, det_default_name());
	assert_near(r->threshold, r->det.type->default_threshold, 0);
	assert_int_equal(r->direction, DIR_BOTH);
	assert_int_equal(r->for_k, 2);
	assert_int_equal(r->for_n, 2);
	assert_near(r->keep_firing_for, 0.0, 0);
	assert_int_equal(r->action, ACTION_NOTIFY);
	assert_int_equal(r->nlabels, 0);
	assert_null(r->summary);
	assert_null(r->runbook_url);

	r = &rs->rules[2];
	assert_int_equal(r->direction, DIR_DOWN);
	assert_int_equal(r->action, ACTION_LOG);
	assert_int_equal(r->for_k, 1);
	assert_int_equal(r->for_n, 1);
	assert_ptr_equal(r->owner, ruleset_owner(rs, "storage"));

	o = ruleset_owner(rs, "payments");
	assert_non_null(o);
	assert_string_equal(o->where, FIX "good/owners.yaml:3:5");
	assert_int_equal(o->max_series, 50000);
	assert_int_equal(o->ndests, 2);
	assert_string_equal(o->dests[0].type, "stdout");
	assert_int_equal(o->dests[0].nkv, 0);
	assert_string_equal(o->dests[1].type, "file");
	assert_string_equal(o->dests[1].where, FIX "good/owners.yaml:7:9");
	assert_int_equal(o->dests[1].nkv, 1);
	assert_string_equal(o->dests[1].kv[0].key, "path");
	assert_string_equal(o->dests[1].kv[0].value, "out/payments.jsonl");
	assert_string_equal(o->dests[1].kv[0].where, FIX "good/owners.yaml:8:9");
	o = ruleset_owner(rs, "storage");
	assert_non_null(o);
	assert_int_equal(o->max_series, 0);
	assert_null(ruleset_owner(rs, "nobody"));
	assert_string_equal(rule_action_name(ACTION_LOG), "log");
	assert_string_equal(rule_action_name(ACTION_NOTIFY), "notify");
	assert_string_equal(rule_action_name(ACTION_PAGE), "page");
	assert_string_equal(rule_direction_name(DIR_BOTH), "both");
	assert_string_equal(rule_direction_name(DIR_UP), "up");
	assert_string_equal(rule_direction_name(DIR_DOWN), "down");
	ruleset_free(rs);
}

static void test_rules__load_all_in_one_and_several_paths(void **state)
{
	const char *paths[] = {FIX "good/all-in-one.yaml", FIX "good/rules.d/20-storage.yml"};
	struct ruleset *rs = NULL;
	char err[512];

	(void)state;
	if (!need_detector("des"))
		skip();
	/* the owners come from the owners file and from a rule file's section */
	assert_int_equal(ruleset_load(paths, 2, FIX "good/owners.yaml", &rs, err, sizeof err), 0);
	assert_int_equal(rs->nowners, 3);
	assert_int_equal(rs->nrules, 2);
	assert_string_equal(rs->rules[0].name, "web-requests");
	assert_string_equal(rs->rules[0].owner->name, "web");
	assert_string_equal(rs->rules[1].owner->name, "storage");
	ruleset_free(rs);

	/* no owners file: the rule file's own section is enough */
	assert_int_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_int_equal(rs->nrules, 1);
	ruleset_free(rs);
}

static void test_rules__load_other_detector(void **state)
{
	const struct detector_type *const *all = det_all();
	char path[256], text[512], err[512];
	const char *paths[1] = {path};
	struct ruleset *rs = NULL;

	(void)state;
	if (all[0] == NULL) {
		print_message("SKIP: no detector registered\n");
		skip();
	}
	/* every registered detector loads with its defaults */
	for (size_t i = 0; all[i]; i++) {
		snprintf(text, sizeof text,
			 "owners:\n  - name: o\n    destinations: [{type: stdout}]\n"
			 "rules:\n  - name: r\n    series: x\n    detector: %s\n    owner: o\n",
			 all[i]->name);
		write_tmp("det.yaml", text, path, sizeof path);
		assert_int_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
		assert_ptr_equal(rs->rules[0].det.type, all[i]);
		assert_near(rs->rules[0].threshold, all[i]->default_threshold, 0);
		ruleset_free(rs);
	}
}

/* ---- errors, one file each ---- */

struct err_case {
	const char *yaml;
	int line, col;
	const char *want;
};

#define RULE_HEAD "rules:\n  - name: a\n    series: x\n    owner: o\n"

static const struct err_case err_cases[] = {
	{"", 1, 1, "empty file"},
	{"# just a comment\n", 1, 1, "empty file"},
	{"hello\n", 1, 1, "the top level must be a map, not a scalar"},
	{"- rules\n", 1, 1, "the top level must be a map, not a list"},
	{"{}\n", 1, 1, "neither 'rules:' nor 'owners:'"},
	{"rules: []\nalerts: []\n", 2, 1, "unknown key 'alerts' in the top level"},
	{"rules: []\nrules: []\n", 2, 1, "duplicate key 'rules'"},
	{"rules:\n  name: a\n", 2, 3, "rules must be a list, not a map"},
	{"rules: x\n", 1, 8, "rules must be a list, not a scalar"},
	{"owners: {a: 1}\n", 1, 9, "owners must be a list, not a map"},
	{"rules:\n  - x\n", 2, 5, "rule must be a map, not a scalar"},
	{"rules: []\n---\nrules: []\n", 3, 1, "only one YAML document"},
	/* rule keys */
	{RULE_HEAD "    treshold: 0.5\n", 5, 5, "unknown key 'treshold' in rule (did you mean 'threshold'?)"},
	{RULE_HEAD "    colour: red\n", 5, 5, "unknown key 'colour' in rule (known: name series match"},
	{RULE_HEAD "    tags: {a: b}\n", 5, 5, "unknown key 'tags' in rule (known: "},
	{RULE_HEAD "    name: b\n", 5, 5, "duplicate key 'name' in rule"},
	{"rules:\n  - series: x\n    owner: o\n", 2, 5, "missing required key 'name'"},
	{"rules:\n  - name: a\n    owner: o\n", 2, 5, "missing required key 'series'"},
	{"rules:\n  - name: a\n    series: x\n", 2, 5, "missing required key 'owner'"},
	{"rules:\n  - name: [a]\n    series: x\n    owner: o\n", 2, 11, "name must be a scalar, not a list"},
	{"rules:\n  - name: \"\"\n    series: x\n    owner: o\n", 2, 11, "name must not be empty"},
	{"rules:\n  - name: a\n    series: {a: 1}\n    owner: o\n", 3, 13,
	 "series must be a scalar, not a map"},
	{"rules:\n  - name: a\n    series: x\n    owner: [o]\n", 4, 12, "owner must be a scalar"},
	{"rules:\n  - {name: a, series: x, owner: o, 7: x}\n", 2, 36, "unknown key '7'"},
	{"rules:\n  - {name: a, series: x, owner: o, [k]: x}\n", 2, 36, "a key must be a scalar"},
	/* match */
	{RULE_HEAD "    match: [a]\n", 5, 12, "match must be a map, not a list"},
	{RULE_HEAD "    match: {region: \"=~eu-([\"}\n", 5, 21, "bad regular expression"},
	{RULE_HEAD "    match: {region: \"!~(\"}\n", 5, 21, "bad regular expression"},
	{RULE_HEAD "    match:\n      app: {x: 1}\n", 6, 12, "value of 'app' must be a scalar"},
	{RULE_HEAD "    match:\n      app: x\n      app: y\n", 7, 7, "duplicate key 'app' in match"},
	{RULE_HEAD "    match: {\"\": x}\n", 5, 13, "empty tag name"},
	/* detector and params */
	{RULE_HEAD "    detector: nope\n", 5, 15, "unknown detector 'nope'"},
	{RULE_HEAD "    detector: [des]\n", 5, 15, "detector must be a scalar"},
	{RULE_HEAD "    detector: des\n    params: {alpha: 2}\n", 6, 14, "parameter 'alpha'"},
	{RULE_HEAD "    detector: des\n    params:\n      alpha: 0.1\n      bogus: 1\n", 8, 7,
	 "unknown parameter 'bogus'"},
	{RULE_HEAD "    detector: des\n    params: {alpha: [1]}\n", 6, 21,
	 "value of 'alpha' must be a scalar"},
	{RULE_HEAD "    detector: des\n    params: [alpha]\n", 6, 13, "params must be a map, not a list"},
	{RULE_HEAD "    detector: des\n    params: {alpha: 0.1, alpha: 0.2}\n", 6, 26,
	 "duplicate key 'alpha' in params"},
	/* threshold, direction, for, keep_firing_for, action */
	{RULE_HEAD "    threshold: 0\n", 5, 16, "outside (0, 1]"},
	{RULE_HEAD "    threshold: 1.5\n", 5, 16, "outside (0, 1]"},
	{RULE_HEAD "    threshold: -0.5\n", 5, 16, "outside (0, 1]"},
	{RULE_HEAD "    threshold: high\n", 5, 16, "not a number"},
	{RULE_HEAD "    threshold: nan\n", 5, 16, "not a number"},
	{RULE_HEAD "    direction: sideways\n", 5, 16, "direction: 'sideways' is not one of both up down"},
	{RULE_HEAD "    for: 5 of 3\n", 5, 10, "K > N"},
	{RULE_HEAD "    for: 65\n", 5, 10, "at most 64"},
	{RULE_HEAD "    for: 3 of 65\n", 5, 10, "at most 64"},
	{RULE_HEAD "    for: 0\n", 5, 10, "at least 1"},
	{RULE_HEAD "    for: 0 of 3\n", 5, 10, "at least 1"},
	{RULE_HEAD "    for: three\n", 5, 10, "is not \"K\" or \"K of N\""},
	{RULE_HEAD "    for: 3 of 5 of 7\n", 5, 10, "is not \"K\" or \"K of N\""},
	{RULE_HEAD "    for: -3\n", 5, 10, "is not \"K\" or \"K of N\""},
	{RULE_HEAD "    keep_firing_for: 5 minutes\n", 5, 22, "not a duration"},
	{RULE_HEAD "    keep_firing_for: -5m\n", 5, 22, "not a duration"},
	{RULE_HEAD "    action: email\n", 5, 13, "action: 'email' is not one of log notify page"},
	{RULE_HEAD "    labels: [a]\n", 5, 13, "labels must be a map, not a list"},
	{RULE_HEAD "    labels: {team: {a: b}}\n", 5, 20, "value of 'team' must be a scalar"},
	{RULE_HEAD "    summary: [a]\n", 5, 14, "summary must be a scalar"},
	{RULE_HEAD "    runbook_url: {a: b}\n", 5, 18, "runbook_url must be a scalar"},
	/* owners */
	{"owners:\n  - name: o\n", 2, 5, "missing required key 'destinations'"},
	{"owners:\n  - destinations: [{type: stdout}]\n", 2, 5, "missing required key 'name'"},
	{"owners:\n  - name: o\n    destinations: []\n", 3, 19, "needs at least one destination"},
	{"owners:\n  - name: o\n    destinations: {type: stdout}\n", 3, 19, "destinations must be a list"},
	{"owners:\n  - name: o\n    destinations:\n      - path: x\n", 4, 9, "missing required key 'type'"},
	{"owners:\n  - name: o\n    destinations:\n      - stdout\n", 4, 9, "a destination must be a map"},
	{"owners:\n  - name: o\n    destinations:\n      - type: file\n        path: [a]\n", 5, 15,
	 "value of 'path' must be a scalar"},
	{"owners:\n  - name: o\n    destinations:\n      - type: file\n        path: a\n        path: b\n", 6,
	 9, "duplicate key 'path'"},
	{"owners:\n  - name: o\n    destinations:\n      - type: \"\"\n", 4, 15, "type must not be empty"},
	{"owners:\n  - name: o\n    max_series: -1\n    destinations: [{type: stdout}]\n", 3, 17,
	 "max_series: '-1' is not a non-negative integer"},
	{"owners:\n  - name: o\n    max_series: lots\n    destinations: [{type: stdout}]\n", 3, 17,
	 "not a non-negative integer"},
	{"owners:\n  - name: o\n    team: x\n    destinations: [{type: stdout}]\n", 3, 5,
	 "unknown key 'team' in owner"},
	/* cross-checks inside one file */
	{"owners:\n  - name: o\n    destinations: [{type: stdout}]\n" RULE_HEAD, 7, 12, "unknown owner 'o2'"},
	{"rules:\n  - name: a\n    series: x\n    owner: nobody\n", 4, 12, "no owners are defined"},
	{"owners:\n  - name: o\n    destinations: [{type: stdout}]\n" RULE_HEAD
	 "  - name: a\n    series: y\n    owner: o\n",
	 8, 5, "duplicate rule name 'a' (first defined at "},
	{"owners:\n  - name: o\n    destinations: [{type: stdout}]\n  - name: o\n    destinations: [{type: "
	 "stdout}]\n",
	 4, 5, "duplicate owner name 'o' (first defined at "},
	/* YAML syntax */
	{"rules:\n  - name: a\n\tseries: x\n", 3, 1, "YAML error"},
	{"rules: [a\n", 2, 1, "YAML error"},
	{"rules:\n  - name: a\n   series: x\n", 3, 4, "YAML error: did not find expected"},
	{"rules: *nothing\n", 1, 8, "YAML error"},
	{"rules: []\n# \xff\n", 2, 3, "YAML error: invalid leading UTF-8 octet"},
};

static void test_rules__errors(void **state)
{
	char path[256], buf[1024];
	const char *paths[1] = {path};

	(void)state;
	if (!need_detector("des"))
		skip();
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		const char *text = c->yaml;

		/* the unknown-owner case names o2: patch RULE_HEAD's owner */
		if (strstr(c->want, "'o2'") != NULL) {
			const char *at = strstr(text, "owner: o\n");
			assert_non_null(at);
			snprintf(buf, sizeof buf, "%.*sowner: o2\n%s", (int)(at - text), text,
				 at + strlen("owner: o\n"));
			text = buf;
		}
		print_message("case %zu: %s\n", i, c->want);
		write_tmp("case.yaml", text, path, sizeof path);
		expect_error_at(paths, 1, NULL, path, c->line, c->col, c->want);
	}
}

/* Aliases can repeat one costly regex matcher in thousands of rules: a
 * 141 KB file took 8.5 GB and 46 s before it failed on a duplicate rule
 * name. The loader prices every use against one budget (RE_MAX_TOTAL) and
 * refuses at the anchored matcher, before compiling the rest. */
static void test_rules__regex_budget(void **state)
{
	char path[256];
	const char *paths[1] = {path};
	static const char head[] =
		"rules:\n  - &r {name: r, series: m, owner: o, detector: des, match: {x: "
		"\"=~(a|b|c|d)?(a|b|c|d)?(a|b|c|d)?(a|b|c|d)?(a|b|c|d)?(a|b|c|d)?(a|b|c|d)?"
		"(a|b|c|d)?\"}}\n";
	size_t n = 2000, len = sizeof head + n * 8;
	char *text = malloc(len);

	(void)state;
	if (!need_detector("des"))
		skip();
	assert_non_null(text);
	strcpy(text, head);
	for (size_t i = 0; i < n; i++)
		strcat(text, "  - *r\n");
	write_tmp("budget.yaml", text, path, sizeof path);
	free(text);
	expect_error_at(paths, 1, NULL, path, 2, 65,
			"match 'x': the rules' regular expressions together are too complex (more than "
			"100000 compiled nodes; aliases count each use)");
}

/* A rules path that is a FIFO, a directory holding a dangling or a looping
 * *.yaml symlink or a FIFO named *.yaml: an error naming the path, never a
 * hang or a silent skip. */
static void test_rules__bad_paths(void **state)
{
	struct ruleset *rs = NULL;
	char dir[128], good[256], p[256], err[1024];
	const char *paths[1] = {dir};

	(void)state;
	snprintf(dir, sizeof dir, "%s/paths", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_tmp("paths/good.yaml", "owners:\n  - name: o\n    destinations: [{type: stdout}]\n", good,
		  sizeof good);
	snprintf(p, sizeof p, "%s/dangling.yaml", dir);
	assert_int_equal(symlink("/nonexistent/x.yaml", p), 0);
	assert_int_not_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_non_null(strstr(err, "dangling.yaml: cannot open: No such file"));
	unlink(p);
	snprintf(p, sizeof p, "%s/loop.yaml", dir);
	assert_int_equal(symlink(p, p), 0);
	assert_int_not_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_non_null(strstr(err, "loop.yaml: cannot open: Too many levels of symbolic links"));
	unlink(p);
	snprintf(p, sizeof p, "%s/pipe.yaml", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_not_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_non_null(strstr(err, "pipe.yaml: not a regular file"));
	paths[0] = p;
	assert_int_not_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_non_null(strstr(err, "pipe.yaml: not a regular file or a directory"));
	unlink(p);
	paths[0] = dir;
	assert_int_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	ruleset_free(rs);
	unlink(good);
	rmdir(dir);
}

static void test_rules__errors_across_files(void **state)
{
	char a[256], b[256], err[1024], want[600];
	const char *paths[2] = {a, b};
	struct ruleset *rs = NULL;

	(void)state;
	if (!need_detector("des"))
		skip();
	write_tmp("a.yaml", "owners:\n  - name: o\n    destinations: [{type: stdout}]\n" RULE_HEAD, a,
		  sizeof a);
	write_tmp("b.yaml", "\nrules:\n  - name: a\n    series: y\n    owner: o\n", b, sizeof b);
	/* the duplicate names both places */
	expect_error_at(paths, 2, NULL, b, 3, 5, "duplicate rule name 'a'");
	assert_int_not_equal(ruleset_load(paths, 2, NULL, &rs, err, sizeof err), 0);
	snprintf(want, sizeof want, "(first defined at %s:5:5)", a);
	assert_non_null(strstr(err, want));

	/* owners defined in a later file still resolve */
	write_tmp("c.yaml", "rules:\n  - name: c\n    series: y\n    owner: o\n", b, sizeof b);
	paths[0] = b;
	paths[1] = a;
	assert_int_equal(ruleset_load(paths, 2, NULL, &rs, err, sizeof err), 0);
	assert_string_equal(rs->rules[0].owner->name, "o");
	ruleset_free(rs);

	/* missing file, empty directory */
	paths[0] = "tests/fixtures/rules/no-such-file.yaml";
	assert_int_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), -VIGIL_EIO);
	assert_int_equal(strncmp(err, "tests/fixtures/rules/no-such-file.yaml: ", 40), 0);
	snprintf(a, sizeof a, "%s/empty.d", tmpdir);
	assert_int_equal(mkdir(a, 0700), 0);
	paths[0] = a;
	assert_int_not_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_non_null(strstr(err, "no *.yaml or *.yml files"));
	assert_int_equal(rmdir(a), 0);
}

/* Load and expect an error that is exactly want (no position: it is about
 * how the files were given, not about a place in one). */
static void expect_error_exact(const char *const *paths, size_t n, const char *owners, const char *want)
{
	struct ruleset *rs = NULL;
	char err[1024];
	int rc;

	err[0] = '\0';
	rc = ruleset_load(paths, n, owners, &rs, err, sizeof err);
	if (rc == 0 || strcmp(err, want) != 0)
		print_error("want '%s', got rc=%d '%s'\n", want, rc, err);
	assert_int_equal(rc, -VIGIL_EINVAL);
	assert_null(rs);
	assert_string_equal(err, want);
}

/* One file reached twice was read twice and reported as a duplicate owner
 * or rule defined at the very same position; now it is named as such. */
static void test_rules__file_given_twice(void **state)
{
	char own[256], r[256], dir[256], inside[256], link[300], copy[256], want[1400];
	const char *paths[2];
	struct ruleset *rs = NULL;
	char err[1024];

	(void)state;
	if (!need_detector("des"))
		skip();
	write_tmp("own.yaml", "owners:\n  - name: ops\n    destinations: [{type: stdout}]\n", own,
		  sizeof own);
	write_tmp("r.yaml", "rules:\n  - name: a\n    series: x\n    owner: ops\n", r, sizeof r);

	/* the owners file again as a rules path */
	paths[0] = r;
	paths[1] = own;
	snprintf(want, sizeof want, "%s: file given twice: as the owners file '%s' and as rules path '%s'",
		 own, own, own);
	expect_error_exact(paths, 2, own, want);

	/* ... under another name (a symlink): compared by device and inode */
	snprintf(link, sizeof link, "%s/link.yaml", tmpdir);
	assert_int_equal(symlink(own, link), 0);
	paths[1] = link;
	snprintf(want, sizeof want, "%s: file given twice: as the owners file '%s' and as rules path '%s'",
		 link, own, link);
	expect_error_exact(paths, 2, own, want);
	assert_int_equal(unlink(link), 0);

	/* one rules path twice */
	paths[1] = r;
	snprintf(want, sizeof want, "%s: file given twice: as rules path '%s' and as rules path '%s'", r, r,
		 r);
	expect_error_exact(paths, 2, own, want);

	/* a directory and a file inside it; the owners file inside a rules directory */
	snprintf(dir, sizeof dir, "%s/d", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_tmp("d/r.yaml", "rules:\n  - name: b\n    series: x\n    owner: ops\n", inside, sizeof inside);
	paths[0] = dir;
	paths[1] = inside;
	snprintf(want, sizeof want,
		 "%s: file given twice: as a file of rules directory '%s' and as rules path '%s'", inside,
		 dir, inside);
	expect_error_exact(paths, 2, own, want);
	write_tmp("d/own.yaml", "owners:\n  - name: ops\n    destinations: [{type: stdout}]\n", copy,
		  sizeof copy);
	assert_int_equal(unlink(inside), 0);
	snprintf(want, sizeof want,
		 "%s: file given twice: as the owners file '%s' and as a file of rules directory '%s'", copy,
		 copy, dir);
	expect_error_exact(paths, 1, copy, want);

	/* two files with the same text are two files: a duplicate owner */
	paths[0] = copy;
	expect_error_at(paths, 1, own, copy, 2, 5, "duplicate owner name 'ops' (first defined at ");

	/* each once: fine */
	paths[0] = r;
	assert_int_equal(ruleset_load(paths, 1, own, &rs, err, sizeof err), 0);
	assert_int_equal(rs->nrules, 1);
	ruleset_free(rs);
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A repeated key anywhere in a rules or owners file is an error at the
 * repeat that names the first position (file:line:col). */
static void test_rules__repeated_keys(void **state)
{
	static const struct {
		const char *yaml;
		int line, col;
		const char *want;
		int fline, fcol;
	} cases[] = {
		{"owners: []\nowners:\n  - name: o\n", 2, 1, "duplicate key 'owners' in the top level", 1, 1},
		{"owners:\n  - name: o\n    name: p\n    destinations: [{type: stdout}]\n", 3, 5,
		 "duplicate key 'name' in owner", 2, 5},
		{"owners:\n  - name: o\n    destinations: [{type: stdout, type: file}]\n", 3, 35,
		 "duplicate key 'type' in a destination", 3, 21},
		{"owners:\n  - {name: o, max_series: 1, max_series: 2, destinations: [{type: stdout}]}\n", 2,
		 30, "duplicate key 'max_series' in owner", 2, 15},
		{RULE_HEAD "    labels: {a: 1, b: 2, a: 3}\n", 5, 26, "duplicate key 'a' in labels", 5, 14},
		{RULE_HEAD "    peer_group: {by: [a], step: 1m, step: 2m}\n", 5, 37,
		 "duplicate key 'step' in peer_group", 5, 27},
		{RULE_HEAD "    match: {app: x, \"app\": y}\n", 5, 21, "duplicate key 'app' in match", 5, 13},
	};
	char path[256], want[600];
	const char *paths[1] = {path};

	(void)state;
	if (!need_detector("des"))
		skip();
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		print_message("case %zu: %s\n", i, cases[i].want);
		write_tmp("rep.yaml", cases[i].yaml, path, sizeof path);
		snprintf(want, sizeof want, "%s (first at %s:%d:%d)", cases[i].want, path, cases[i].fline,
			 cases[i].fcol);
		expect_error_at(paths, 1, NULL, path, cases[i].line, cases[i].col, want);
	}
}

static void test_rules__config_check_error(void **state)
{
	char path[256];
	const char *paths[1] = {path};

	(void)state;
	if (!need_detector("mad"))
		skip();
	/* an error about the combination of parameters (config_check) is
	 * placed at the params map, not at one parameter */
	write_tmp("mad.yaml",
		  RULE_HEAD "    detector: mad\n    params:\n      window: 10\n      min_points: 20\n", path,
		  sizeof path);
	expect_error_at(paths, 1, NULL, path, 7, 7, "detector 'mad': ");
	expect_error_at(paths, 1, NULL, path, 7, 7, "min_points");
}

static void test_rules__bad_fixtures(void **state)
{
	static const struct {
		const char *file;
		int line, col;
		const char *want;
	} cases[] = {
		{FIX "bad/tab.yaml", 3, 1, "YAML error"},
		{FIX "bad/unknown-key.yaml", 5, 5, "unknown key 'treshold'"},
		{FIX "bad/dup-rule.yaml", 2, 5,
		 "duplicate rule name 'checkout-latency' (first defined at " FIX
		 "good/rules.d/10-checkout.yaml:3:5)"},
		{FIX "bad/unknown-owner.yaml", 4, 12, "unknown owner 'nobody'"},
		{FIX "bad/bad-param.yaml", 6, 7, "parameter 'alpha'"},
		{FIX "bad/empty.yaml", 1, 1, "empty file"},
	};
	const char *paths[2] = {FIX "good/rules.d", NULL};

	(void)state;
	if (!need_detector("des"))
		skip();
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		paths[1] = cases[i].file;
		expect_error_at(paths, 2, FIX "good/owners.yaml", cases[i].file, cases[i].line, cases[i].col,
				cases[i].want);
	}
}

/* ---- matching ---- */

static void test_rules__glob(void **state)
{
	static const struct {
		const char *pat, *s;
		int want;
	} cases[] = {
		{"api.latency", "api.latency", 1},
		{"api.latency", "api.latencyx", 0},
		{"api.latency", "api.latenc", 0},
		{"", "", 1},
		{"", "a", 0},
		{"*", "", 1},
		{"*", "a.b.c", 1},
		{"api.*", "api.latency.p99", 1}, /* '*' crosses dots */
		{"api.*", "api", 0},
		{"*.p99", "api.latency.p99", 1},
		{"disk.*.latency", "disk.sda.latency", 1},
		{"disk.*.latency", "disk.sda.latency.p99", 0},
		{"a?c", "abc", 1},
		{"a?c", "ac", 0},
		{"a?c", "abbc", 0},
		{"[abc]x", "bx", 1},
		{"[abc]x", "dx", 0},
		{"[a-c]x", "cx", 1},
		{"[a-c]x", "dx", 0},
		{"[!a-c]x", "dx", 1},
		{"[!a-c]x", "ax", 0},
		{"[]]", "]", 1},
		{"[!]]", "]", 0},
		{"[a-]", "-", 1},
		{"[", "[", 1}, /* unclosed bracket is literal */
		{"a[b", "a[b", 1},
		{"a\\*", "a*", 1},
		{"a\\*", "ab", 0},
		{"**", "abc", 1},
		{"*a*b*c", "xxaxxbxxc", 1},
		{"*a*b*c", "xxaxxbxxcx", 0},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
		{"a*", "b", 0},
		{"*x", "x", 1},
		{"h[0-9][0-9]?", "h12z", 1},
	};

	(void)state;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		int got = rule_glob_match(cases[i].pat, cases[i].s);
		if (got != cases[i].want)
			print_error("glob '%s' vs '%s': got %d\n", cases[i].pat, cases[i].s, got);
		assert_int_equal(got, cases[i].want);
	}
	assert_int_equal(rule_glob_match(NULL, "a"), 0);
	assert_int_equal(rule_glob_match("a", NULL), 0);
}

static void test_rules__matchers(void **state)
{
	const char *paths[] = {FIX "good/rules.d"};
	struct ruleset *rs = NULL;
	const struct rule *r;
	char err[512];
	/* app=checkout region=~eu-.* host!=db1 zone!~test.* pod=api-* */
	struct tag t[] = {
		{"app", "checkout"}, {"region", "eu-west"}, {"host", "db2"},
		{"zone", "prod"},    {"pod", "api-7"},
	};
	static const struct {
		int idx;
		const char *value; /* NULL: drop the tag */
		int want;
	} cases[] = {
		{-1, NULL, 1},                    /* all as above */
		{0, "cart", 0},                   /* equality */
		{0, NULL, 0},                     /* missing = "" != checkout */
		{1, "us-east", 0},                /* regex */
		{1, "xeu-west", 0},               /* regex is anchored at the start */
		{1, "eu-", 1},      {1, NULL, 0}, /* "" !~ eu-.* */
		{2, "db1", 0},                    /* not equal */
		{2, NULL, 1},                     /* "" != db1 */
		{3, "test-1", 0},                 /* negated regex */
		{3, "pretest", 1},                /* anchored: only "test..." is excluded */
		{3, NULL, 1},                     /* "" does not match test.* */
		{4, "web-1", 0},                  /* glob */
		{4, "api-", 1},     {4, NULL, 0}, /* "" does not match api-* */
	};

	(void)state;
	if (!need_detector("des"))
		skip();
	assert_int_equal(ruleset_load(paths, 1, FIX "good/owners.yaml", &rs, err, sizeof err), 0);
	r = &rs->rules[0];
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		struct tag u[5];
		int n = 0;
		for (int j = 0; j < 5; j++) {
			if (j == cases[i].idx && cases[i].value == NULL)
				continue;
			u[n] = t[j];
			if (j == cases[i].idx)
				u[n].value = cases[i].value;
			n++;
		}
		/* order of tags does not matter: feed them reversed too */
		assert_int_equal(rule_matches(r, "api.latency", u, n), cases[i].want);
		for (int j = 0; j < n / 2; j++) {
			struct tag x = u[j];
			u[j] = u[n - 1 - j];
			u[n - 1 - j] = x;
		}
		assert_int_equal(rule_matches(r, "api.latency", u, n), cases[i].want);
	}
	assert_int_equal(rule_matches(r, "api.latency.p99", t, 5), 0); /* name glob has no '*' */
	assert_int_equal(rule_matches(r, "api.latency", NULL, 0), 0);
	/* a rule without matchers takes any tags, or none */
	assert_int_equal(rule_matches(&rs->rules[1], "api.errors.5xx", NULL, 0), 1);
	assert_int_equal(rule_matches(&rs->rules[1], "api.errors.5xx", t, 5), 1);
	assert_int_equal(rule_matches(&rs->rules[1], "api.error", t, 5), 0);
	ruleset_free(rs);
}

static void test_rules__several_rules_one_point(void **state)
{
	static const char text[] =
		"owners:\n  - name: o\n    destinations: [{type: stdout}]\n"
		"rules:\n"
		"  - {name: all-api, series: \"api.*\", owner: o}\n"
		"  - {name: exact, series: api.latency, owner: o}\n"
		"  - {name: any-latency, series: \"*.latency\", match: {app: checkout}, owner: o}\n"
		"  - {name: other-app, series: \"*.latency\", match: {app: cart}, owner: o}\n"
		"  - {name: not-prod, series: \"*\", match: {env: \"!=prod\"}, owner: o}\n"
		"  - {name: disk, series: \"disk.*\", owner: o}\n";
	struct tag tags[] = {{"env", "prod"}, {"app", "checkout"}};
	char path[256], err[512];
	const char *paths[1] = {path};
	struct ruleset *rs = NULL;
	int hits[6] = {0}, n = 0;

	(void)state;
	if (!need_detector("des"))
		skip();
	write_tmp("many.yaml", text, path, sizeof path);
	assert_int_equal(ruleset_load(paths, 1, NULL, &rs, err, sizeof err), 0);
	assert_int_equal(rs->nrules, 6);
	for (size_t i = 0; i < rs->nrules; i++) {
		hits[i] = rule_matches(&rs->rules[i], "api.latency", tags, 2);
		n += hits[i];
	}
	assert_int_equal(n, 3);
	assert_int_equal(hits[0], 1);
	assert_int_equal(hits[1], 1);
	assert_int_equal(hits[2], 1);
	assert_int_equal(hits[3], 0);
	assert_int_equal(hits[4], 0);
	assert_int_equal(hits[5], 0);
	/* without env the not-prod rule joins in */
	assert_int_equal(rule_matches(&rs->rules[4], "api.latency", tags + 1, 1), 1);
	ruleset_free(rs);
}

/* ---- rule_eval ---- */

static struct rule mk_rule(int k, int n, double keep, enum rule_direction dir, double threshold)
{
	struct rule r;

	memset(&r, 0, sizeof r);
	r.for_k = k;
	r.for_n = n;
	r.keep_firing_for = keep;
	r.direction = dir;
	r.threshold = threshold;
	return r;
}

/* One point: score s, value v, expected e. */
static enum rule_transition feed(const struct rule *r, struct rule_state *st, double ts, double v, double e,
				 double s, int64_t pos)
{
	struct det_result res = {.score = s, .expected = e, .lower = NAN, .upper = NAN};
	return rule_eval(r, st, ts, v, &res, pos);
}

/* Feed a pattern: 'A' anomalous (score 1), 'N' normal (0), '-' warm-up
 * (NaN); one point per minute from t0; returns the transitions as a string
 * of '.', 'F', 'R'. */
static void run_pattern(const struct rule *r, struct rule_state *st, const char *pat, double t0, char *out)
{
	for (size_t i = 0; pat[i]; i++) {
		double s = pat[i] == 'A' ? 1.0 : pat[i] == 'N' ? 0.0 : NAN;
		enum rule_transition tr = feed(r, st, t0 + 60.0 * (double)i, 10.0, 5.0, s, (int64_t)i);
		out[i] = tr == RULE_FIRE ? 'F' : tr == RULE_RESOLVE ? 'R' : '.';
	}
	out[strlen(pat)] = '\0';
}

static void test_rules__eval_k_of_n(void **state)
{
	static const struct {
		int k, n;
		const char *in, *want;
	} cases[] = {
		{1, 1, "NANAAN", ".FRF.R"},
		{2, 3, "ANA", "..F"},
		{2, 3, "ANNA", "...."},
		{2, 3, "ANNAA", "....F"},
		{3, 3, "AANAAA", ".....F"},
		{3, 5, "ANANA", "....F"},
		{3, 5, "ANNNANA", "......."},
		/* after a resolve the window still counts: 2 of 3 holds again at
		 * the next anomalous point, never at a normal one */
		{2, 3, "AANNA", ".FR.."},
		{2, 3, "AANA", ".FRF"},
		{2, 4, "AANNNA", ".FR..."}, /* 2 of the last 4 still hold at the first N after R */
		/* warm-up points are not points: they neither count nor age */
		{2, 2, "A-A", "..F"},
		{2, 2, "A---A", "....F"},
		{2, 2, "AA-----N", ".F.....R"},
	};

	(void)state;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		struct rule r = mk_rule(cases[i].k, cases[i].n, 0, DIR_BOTH, 1.0);
		struct rule_state st;
		char got[64];

		memset(&st, 0, sizeof st);
		run_pattern(&r, &st, cases[i].in, 1000.0, got);
		if (strcmp(got, cases[i].want) != 0)
			print_error("%d of %d, %s: got %s want %s\n", cases[i].k, cases[i].n, cases[i].in,
				    got, cases[i].want);
		assert_string_equal(got, cases[i].want);
	}
}

static void test_rules__eval_64(void **state)
{
	struct rule r = mk_rule(64, 64, 0, DIR_BOTH, 1.0);
	struct rule_state st;
	char in[130], got[130];

	(void)state;
	memset(&st, 0, sizeof st);
	memset(in, 'A', 64);
	in[64] = '\0';
	run_pattern(&r, &st, in, 0, got);
	for (int i = 0; i < 63; i++)
		assert_int_equal(got[i], '.');
	assert_int_equal(got[63], 'F');
	assert_true(st.hist == ~(uint64_t)0);

	/* one normal point among 64: 64 of 64 holds only once it has left
	 * the window, i.e. with the next anomalous point */
	r = mk_rule(64, 64, 0, DIR_BOTH, 1.0);
	memset(&st, 0, sizeof st);
	in[0] = 'N';
	run_pattern(&r, &st, in, 0, got);
	assert_null(strchr(got, 'F'));
	assert_int_equal(feed(&r, &st, 1e4, 10, 5, 1.0, 99), RULE_FIRE);
}

static void test_rules__eval_keep_firing_for(void **state)
{
	struct rule r = mk_rule(1, 1, 60.0, DIR_BOTH, 0.5);
	struct rule_state st;

	(void)state;
	memset(&st, 0, sizeof st);
	assert_int_equal(feed(&r, &st, 0, 10, 5, 0.9, 1), RULE_FIRE);
	assert_int_equal(feed(&r, &st, 30, 5, 5, 0.1, 2), RULE_NONE);   /* 30 s < 60 s */
	assert_int_equal(feed(&r, &st, 59.5, 5, 5, 0.1, 3), RULE_NONE); /* still < 60 */
	assert_int_equal(st.firing, 1);
	assert_int_equal(feed(&r, &st, 60, 5, 5, 0.1, 4), RULE_RESOLVE); /* exactly keep_firing_for */
	assert_int_equal(st.firing, 0);

	/* a new anomalous point restarts the clock */
	memset(&st, 0, sizeof st);
	assert_int_equal(feed(&r, &st, 0, 10, 5, 0.9, 1), RULE_FIRE);
	assert_int_equal(feed(&r, &st, 30, 10, 5, 0.8, 2), RULE_NONE);
	assert_int_equal(feed(&r, &st, 60, 5, 5, 0.1, 3), RULE_NONE); /* 30 s after the last anomaly */
	assert_int_equal(feed(&r, &st, 89, 5, 5, 0.1, 4), RULE_NONE);
	assert_int_equal(feed(&r, &st, 90, 5, 5, 0.1, 5), RULE_RESOLVE);

	/* an anomalous point never resolves, however late */
	memset(&st, 0, sizeof st);
	assert_int_equal(feed(&r, &st, 0, 10, 5, 0.9, 1), RULE_FIRE);
	assert_int_equal(feed(&r, &st, 1e6, 10, 5, 0.9, 2), RULE_NONE);
	assert_int_equal(st.firing, 1);
}

static void test_rules__eval_warmup_never_resolves(void **state)
{
	struct rule r = mk_rule(1, 1, 0, DIR_BOTH, 1.0);
	struct rule_state st, before;
	struct det_result res = {.score = NAN, .expected = NAN, .lower = NAN, .upper = NAN};

	(void)state;
	memset(&st, 0, sizeof st);
	assert_int_equal(feed(&r, &st, 100, 10, 5, 1.0, 7), RULE_FIRE);
	memcpy(&before, &st, sizeof st);
	for (int i = 1; i <= 1000; i++) {
		assert_int_equal(feed(&r, &st, 100 + 3600.0 * i, 10, 5, NAN, 7 + i), RULE_NONE);
		assert_int_equal(rule_eval(&r, &st, 100 + 3600.0 * i, NAN, &res, 7 + i), RULE_NONE);
	}
	/* nothing changed at all, byte for byte */
	assert_memory_equal(&st, &before, sizeof st);
	assert_int_equal(st.firing, 1);
	/* the first real normal point resolves */
	assert_int_equal(feed(&r, &st, 1e7, 5, 5, 0.0, 2000), RULE_RESOLVE);
	/* NULL result: no opinion either */
	memcpy(&before, &st, sizeof st);
	assert_int_equal(rule_eval(&r, &st, 2e7, 1, NULL, 1), RULE_NONE);
	assert_memory_equal(&st, &before, sizeof st);
}

static void test_rules__eval_direction(void **state)
{
	static const struct {
		enum rule_direction dir;
		double value, expected;
		int want_fire;
	} cases[] = {
		{DIR_BOTH, 15, 10, 1},
		{DIR_BOTH, 5, 10, 1},
		{DIR_UP, 15, 10, 1},
		{DIR_UP, 5, 10, 0},
		{DIR_UP, 10, 10, 0},
		{DIR_DOWN, 5, 10, 1},
		{DIR_DOWN, 15, 10, 0},
		{DIR_DOWN, 10, 10, 0},
		/* expected unknown: the side cannot be judged, the score decides */
		{DIR_UP, 5, NAN, 1},
		{DIR_DOWN, 15, NAN, 1},
	};

	(void)state;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		struct rule r = mk_rule(1, 1, 0, cases[i].dir, 0.5);
		struct rule_state st;
		enum rule_transition tr;

		memset(&st, 0, sizeof st);
		tr = feed(&r, &st, 0, cases[i].value, cases[i].expected, 1.0, 1);
		assert_int_equal(tr, cases[i].want_fire ? RULE_FIRE : RULE_NONE);
		/* the wrong side counts as normal: it also resolves */
		if (cases[i].want_fire && !isnan(cases[i].expected)) {
			double other = 2 * cases[i].expected - cases[i].value;
			tr = feed(&r, &st, 60, other, cases[i].expected, 1.0, 2);
			assert_int_equal(tr, cases[i].dir == DIR_BOTH ? RULE_NONE : RULE_RESOLVE);
		}
	}
}

static void test_rules__eval_threshold(void **state)
{
	struct rule r = mk_rule(1, 1, 0, DIR_BOTH, 0.5);
	struct rule_state st;

	(void)state;
	memset(&st, 0, sizeof st);
	assert_int_equal(feed(&r, &st, 0, 10, 5, 0.4999, 1), RULE_NONE);
	assert_int_equal(feed(&r, &st, 60, 10, 5, 0.5, 2), RULE_FIRE); /* score >= threshold */
	assert_int_equal(feed(&r, &st, 120, 10, 5, 0.4999, 3), RULE_RESOLVE);
}

static void test_rules__eval_episode_fields(void **state)
{
	struct rule r = mk_rule(2, 3, 120.0, DIR_BOTH, 0.5);
	struct rule_state st;

	(void)state;
	memset(&st, 0, sizeof st);
	assert_int_equal(feed(&r, &st, 1000, 10, 5, 0.6, 40), RULE_NONE);
	assert_int_equal(st.firing, 0);
	assert_int_equal(feed(&r, &st, 1060, 10, 5, 0.7, 41), RULE_FIRE);
	assert_int_equal(st.firing, 1);
	assert_near(st.started, 1060, 0);
	assert_int_equal(st.start_pos, 41); /* the first firing point, not the first anomalous one */
	assert_near(st.peak_score, 0.7, 0);
	assert_int_equal(st.npoints, 1);
	assert_int_equal(feed(&r, &st, 1120, 10, 5, 0.95, 42), RULE_NONE);
	assert_int_equal(feed(&r, &st, 1180, 10, 5, 0.8, 43), RULE_NONE);
	assert_int_equal(feed(&r, &st, 1240, 5, 5, 0.1, 44), RULE_NONE); /* 60 s < 120 s */
	assert_near(st.peak_score, 0.95, 0);
	assert_near(st.started, 1060, 0);
	assert_int_equal(st.start_pos, 41);
	assert_int_equal(st.npoints, 4);
	assert_near(st.last_true, 1180, 0);
	assert_int_equal(feed(&r, &st, 1300, 5, 5, 0.1, 45), RULE_RESOLVE); /* 120 s after 1180 */
	/* closed, but the resolved alert can still report the episode */
	assert_int_equal(st.firing, 0);
	assert_near(st.started, 1060, 0);
	assert_near(st.peak_score, 0.95, 0);
	assert_int_equal(st.start_pos, 41);
	assert_int_equal(st.npoints, 5); /* 1060, 1120, 1180, 1240 and the closing 1300 */
	/* a new episode gets its own start */
	assert_int_equal(feed(&r, &st, 1360, 10, 5, 0.6, 46), RULE_NONE);
	assert_int_equal(feed(&r, &st, 1420, 10, 5, 0.55, 47), RULE_FIRE);
	assert_near(st.started, 1420, 0);
	assert_int_equal(st.start_pos, 47);
	assert_near(st.peak_score, 0.55, 0);
	assert_int_equal(st.npoints, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules__load_good),
		cmocka_unit_test(test_rules__load_all_in_one_and_several_paths),
		cmocka_unit_test(test_rules__load_other_detector),
		cmocka_unit_test(test_rules__errors),
		cmocka_unit_test(test_rules__bad_paths),
		cmocka_unit_test(test_rules__regex_budget),
		cmocka_unit_test(test_rules__errors_across_files),
		cmocka_unit_test(test_rules__file_given_twice),
		cmocka_unit_test(test_rules__repeated_keys),
		cmocka_unit_test(test_rules__config_check_error),
		cmocka_unit_test(test_rules__bad_fixtures),
		cmocka_unit_test(test_rules__glob),
		cmocka_unit_test(test_rules__matchers),
		cmocka_unit_test(test_rules__several_rules_one_point),
		cmocka_unit_test(test_rules__eval_k_of_n),
		cmocka_unit_test(test_rules__eval_64),
		cmocka_unit_test(test_rules__eval_keep_firing_for),
		cmocka_unit_test(test_rules__eval_warmup_never_resolves),
		cmocka_unit_test(test_rules__eval_direction),
		cmocka_unit_test(test_rules__eval_threshold),
		cmocka_unit_test(test_rules__eval_episode_fields),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
