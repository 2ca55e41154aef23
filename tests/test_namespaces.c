/* Tests for ownership (rules/namespace.c, team directories and owner
 * references in rules/load.c): each violation is a load error with the
 * exact "file:line:column: message", naming both sides. Files are written
 * into a temporary directory that is the working directory, so positions
 * read "owners.yaml:4:9". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rules.h"

static char tmpdir[64], home[4096];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_namespaces.XXXXXX");
	if (getcwd(home, sizeof home) == NULL || mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (chdir(home) != 0)
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Three teams; payments and search split the api.* series by the app tag,
 * storage owns db.*. Positions of the namespaces: 4:9, 8:9, 12:9. */
#define OWNERS                                                                                               \
	"owners:\n"                                                                                          \
	"  - name: payments\n"                                                                               \
	"    namespaces:\n"                                                                                  \
	"      - {series: \"api.*\", match: {app: checkout}}\n"                                              \
	"    destinations: [{type: stdout, name: pay}]\n"                                                    \
	"  - name: search\n"                                                                                 \
	"    namespaces:\n"                                                                                  \
	"      - {series: \"api.*\", match: {app: search}}\n"                                                \
	"    destinations: [{type: stdout, name: srch}]\n"                                                   \
	"  - name: storage\n"                                                                                \
	"    namespaces:\n"                                                                                  \
	"      - series: \"db.*\"\n"                                                                         \
	"    destinations: [{type: stdout}]\n"

struct ns_case {
	const char *owners;    /* text of owners.yaml */
	const char *rules_rel; /* where the rules file goes: "r.yaml" or "rules/<team>/r.yaml" */
	const char *rules;     /* its text, NULL = no rules file */
	const char *want;      /* the exact error, or NULL = loads */
};

#define RULE(series, match, owner)                                                                           \
	"rules:\n  - name: r\n    series: \"" series "\"\n    match: " match "\n    owner: " owner "\n"

static const struct ns_case cases[] = {
	/* rules inside their namespaces load */
	{OWNERS, "r.yaml", RULE("api.latency_ms", "{app: checkout, region: \"=~eu-.*\"}", "payments"), NULL},
	{OWNERS, "r.yaml", RULE("db.lag*", "{}", "storage"), NULL},
	{OWNERS, "rules/payments/r.yaml", RULE("api.*", "{app: checkout}", "payments"), NULL},
	/* a rule on another team's series, by its tag */
	{OWNERS, "r.yaml", RULE("api.latency_ms", "{app: search}", "payments"),
	 "r.yaml:2:5: rule 'r' of owner 'payments' reaches into the namespace of owner 'search' at "
	 "owners.yaml:8:9 (series 'api.latency_ms')"},
	/* the other way: search onto payments' series */
	{OWNERS, "r.yaml", RULE("api.errors", "{app: checkout}", "search"),
	 "r.yaml:2:5: rule 'r' of owner 'search' reaches into the namespace of owner 'payments' at "
	 "owners.yaml:4:9 (series 'api.errors')"},
	/* everything, from a file that names its own owner */
	{OWNERS, "r.yaml", RULE("*", "{}", "storage"),
	 "r.yaml:2:5: rule 'r' of owner 'storage' reaches into the namespace of owner 'payments' at "
	 "owners.yaml:4:9 (series '*')"},
	/* a regex cannot prove containment */
	{OWNERS, "r.yaml", RULE("api.x", "{app: \"=~check.*\"}", "payments"),
	 "r.yaml:2:5: rule 'r' of owner 'payments' reaches into the namespace of owner 'search' at "
	 "owners.yaml:8:9 (series 'api.x')"},
	/* outside every namespace, nobody else's either */
	{OWNERS, "r.yaml", RULE("cache.hits", "{}", "storage"),
	 "r.yaml:2:5: rule 'r' watches series outside the namespaces of its owner 'storage' (series "
	 "'cache.hits' is not inside the namespace at owners.yaml:12:9)"},
	/* overlapping namespaces, and the grant that allows them */
	{"owners:\n  - name: a\n    namespaces: [{series: \"x.*\"}]\n    destinations: [{type: stdout}]\n"
	 "  - name: b\n    namespaces: [{series: \"x.y*\", match: {app: web}}]\n"
	 "    destinations: [{type: stdout}]\n",
	 "r.yaml", NULL,
	 "owners.yaml:6:18: namespace of owner 'b' overlaps the namespace of owner 'a' at owners.yaml:3:18 "
	 "(two owners may share series only when one grants it: grants: [b] there)"},
	{"owners:\n  - name: a\n    namespaces: [{series: \"x.*\", grants: [b]}]\n"
	 "    destinations: [{type: stdout}]\n"
	 "  - name: b\n    namespaces: [{series: \"x.y*\"}]\n    destinations: [{type: stdout}]\n",
	 "r.yaml", RULE("x.y.z", "{}", "b"), NULL},
	{"owners:\n  - name: a\n    namespaces: [{series: \"x.*\", grants: [serch]}]\n"
	 "    destinations: [{type: stdout}]\n"
	 "  - name: search\n    namespaces: [{series: \"y.*\"}]\n    destinations: [{type: stdout}]\n",
	 "r.yaml", NULL, "owners.yaml:3:18: grants: unknown owner 'serch' (did you mean 'search'?)"},
	/* disjoint by tag values: equal vs glob */
	{"owners:\n  - name: a\n    namespaces: [{match: {app: \"web-*\"}}]\n    destinations: [{type: "
	 "stdout}]\n"
	 "  - name: b\n    namespaces: [{match: {app: api}}]\n    destinations: [{type: stdout}]\n",
	 "r.yaml", RULE("m", "{app: web-1}", "a"), NULL},
	/* namespaces are all or nothing */
	{"owners:\n  - name: a\n    namespaces: [{series: \"x.*\"}]\n    destinations: [{type: stdout}]\n"
	 "  - name: b\n    destinations: [{type: stdout}]\n",
	 "r.yaml", NULL,
	 "owners.yaml:5:5: owner 'b' declares no namespaces, but owner 'a' at owners.yaml:2:5 does (all "
	 "owners or none)"},
	{"owners:\n  - name: a\n    namespaces: [{match: {app: \"=~x.*\"}}]\n    destinations: [{type: "
	 "stdout}]\n",
	 "r.yaml", NULL,
	 "owners.yaml:3:32: namespace match 'app': only equality or a glob can claim a namespace"},
	{"owners:\n  - name: a\n    namespaces: [{grants: [b]}]\n    destinations: [{type: stdout}]\n",
	 "r.yaml", NULL, "owners.yaml:3:18: namespace needs 'series' and/or 'match'"},
	/* a destination of another team */
	{OWNERS "    escalation:\n      levels:\n        - {after: 0, destination: pay}\n", "r.yaml", NULL,
	 "owners.yaml:16:11: escalation: destination 'pay' belongs to owner 'payments' at owners.yaml:5:20: "
	 "a "
	 "team may name only its own destinations"},
	/* a file in another team's directory */
	{OWNERS, "rules/payments/r.yaml", RULE("db.x", "{}", "storage"),
	 "rules/payments/r.yaml:5:12: rule 'r': owner 'storage', but its file is in the team directory "
	 "'rules/payments' of owner 'payments' (owners.yaml:2:5): a team directory holds only that team's "
	 "rules"},
	{OWNERS, "rules/paymnts/r.yaml", RULE("api.x", "{app: checkout}", "payments"),
	 "rules/paymnts/r.yaml:2:5: rule 'r': its file is in the directory 'rules/paymnts', which names no "
	 "owner (a subdirectory of a rules directory is a team directory) (did you mean 'payments'?)"},
	/* unknown owner, with a suggestion */
	{OWNERS, "r.yaml", RULE("api.x", "{app: checkout}", "paymnets"),
	 "r.yaml:5:12: rule 'r': unknown owner 'paymnets' (did you mean 'payments'?)"},
	{OWNERS, "r.yaml", RULE("api.x", "{app: checkout}", "marketing"),
	 "r.yaml:5:12: rule 'r': unknown owner "
	 "'marketing'"},
};

static void run_case(size_t i, const struct ns_case *c)
{
	struct ruleset *rs = NULL;
	char err[1024], dir[256];
	const char *paths[1];
	int rc;

	assert_int_equal(system("rm -rf rules r.yaml owners.yaml"), 0);
	write_file("owners.yaml", c->owners);
	if (strncmp(c->rules_rel, "rules/", 6) == 0) {
		snprintf(dir, sizeof dir, "%s", c->rules_rel);
		*strrchr(dir, '/') = '\0';
		assert_int_equal(mkdir("rules", 0700), 0);
		assert_int_equal(mkdir(dir, 0700), 0);
		paths[0] = "rules";
	} else {
		paths[0] = c->rules_rel;
	}
	if (c->rules)
		write_file(c->rules_rel, c->rules);
	err[0] = '\0';
	rc = ruleset_load(paths, c->rules ? 1 : 0, "owners.yaml", &rs, err, sizeof err);
	print_message("case %zu: rc=%d %s\n", i, rc, err);
	if (c->want == NULL) {
		assert_int_equal(rc, 0);
		ruleset_free(rs);
		return;
	}
	assert_int_not_equal(rc, 0);
	assert_null(rs);
	assert_string_equal(err, c->want);
}

static void test_namespaces__cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(i, &cases[i]);
}

/* Without namespaces anywhere nothing is checked (files written before
 * ownership keep loading). */
static void test_namespaces__none_declared(void **state)
{
	struct ruleset *rs = NULL;
	char err[512];
	const char *paths[] = {"r.yaml"};

	(void)state;
	write_file("owners.yaml", "owners:\n  - name: a\n    destinations: [{type: stdout}]\n");
	write_file("r.yaml", RULE("*", "{}", "a"));
	assert_int_equal(ruleset_load(paths, 1, "owners.yaml", &rs, err, sizeof err), 0);
	assert_int_equal(rs->owners[0].nns, 0);
	ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces__cases),
		cmocka_unit_test(test_namespaces__none_declared),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
