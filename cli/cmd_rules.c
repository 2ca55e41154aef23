/* vigil rules: validate and list rule and owner files.
 *   vigil rules check [-c CONFIG] [--owners FILE] [--data FILE]... [--format NAME] [PATH...]
 *   vigil rules list  [-c CONFIG] [--owners FILE] [PATH...]
 *   vigil rules test  [-c CONFIG] [--owners FILE] --data FILE... [--baseline PATH]... [--json] [PATH...]
 * With -c, the run/gateway config's destinations.allow_hosts applies to the
 * owners' destinations (as in vigil run/replay/gateway), and its rules and
 * owners paths are used when none is given on the command line.
 * Exit 0 ok, 1 the files have an error (printed as file:line:column: ...),
 * 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/rules_backtest.h"
#include "cli/rules_data.h"
#include "core/config.h"
#include "rules/rules.h"
#include "sinks/gateway.h"
#include "sinks/http.h"

static void rules_usage_short(FILE *f)
{
	fprintf(f,
		"usage: vigil rules check [-c CONFIG] [--owners FILE] [--data FILE]... [--format NAME]\n"
		"                         [PATH...]\n"
		"       vigil rules list  [-c CONFIG] [--owners FILE] [PATH...]\n"
		"       vigil rules test  [-c CONFIG] [--owners FILE] --data FILE... [--baseline PATH]...\n"
		"                         [--json] [--svg DIR] [PATH...]\n"
		"Try 'vigil rules --help'.\n");
}

static void rules_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil rules check [-c CONFIG] [--owners FILE] [--data FILE]... [--format NAME]\n"
		"                         [PATH...]\n"
		"       vigil rules list  [-c CONFIG] [--owners FILE] [PATH...]\n"
		"       vigil rules test  [-c CONFIG] [--owners FILE] --data FILE... [--baseline PATH]...\n"
		"                         [--json] [--svg DIR] [PATH...]\n\n"
		"Load rule files (and owners), strictly: any unknown key, wrong type, unknown\n"
		"detector/owner/parameter or duplicate name is reported as file:line:column.\n"
		"Destinations are checked as the gateway would create them (known type, valid\n"
		"settings) without side effects; a file destination's path is opened at start.\n"
		"A PATH may be a directory: its *.yaml and *.yml files are read in name order,\n"
		"then its subdirectories, one per team (a team directory holds only the rules\n"
		"of the owner it is named after). When owners declare namespaces, every rule\n"
		"must watch only series inside its owner's (README \"Ownership\").\n\n"
		"  check           print \"ok: N rules, M owners\" or the first error\n"
		"  list            one line per rule: name, series, detector, action, owner\n"
		"  test            backtest: run the rules over the --data files (time from the\n"
		"                  data, as `vigil replay` does up to its gateway) and print per\n"
		"                  rule the alerts it would have fired (start, series, episode\n"
		"                  length, peak score) and its longest flapping run (episodes\n"
		"                  of one series each starting within 1h of the last one's\n"
		"                  end); per owner the pages (episodes of action: page rules),\n"
		"                  pages per week and the share started at night (22:00-07:00\n"
		"                  in the time zone of the owner's first schedule, else UTC);\n"
		"                  and the --data warnings of check; on a terminal, a\n"
		"                  sparkline of each alert's values over its episode\n"
		"                  (VIGIL_SPARKLINES=1 or 0 forces it on or off)\n"
		"  --baseline PATH (test, repeatable) the rules running today: each owner's\n"
		"                  line adds \"before: X pages/week, after: Y\"\n"
		"  --json          (test) the same report as one JSON document\n"
		"  --svg DIR       (test) write each alert episode's chart to DIR/<episode>.svg,\n"
		"                  the picture vigil replay --svg and the gateway draw\n"
		"  -c, --config CONFIG  the run/gateway config (vigil run -c): its\n"
		"                  destinations.allow_hosts is applied to the owners'\n"
		"                  destinations, and its rules/owners paths are used when\n"
		"                  no PATH / --owners is given\n"
		"  --owners FILE   owners file (or directory); optional when the rule files\n"
		"                  carry an 'owners:' section\n"
		"  --data FILE     (check, repeatable) also run the rules over FILE, one record\n"
		"                  per line as `vigil replay` reads it, and warn about every\n"
		"                  rule that matched no series and every detector that never\n"
		"                  left its warm-up (the warm-up is longer than the data)\n"
		"  --format NAME   the data's format (default auto)\n"
		"\nexit status: 0 ok (warnings included), 1 invalid files or unreadable data,\n"
		"2 usage error\n");
}

/* Run the rules over the data files and print the warnings. 0 or -1. */
static int check_data(const struct ruleset *rs, const char *const *data, size_t ndata, const char *format)
{
	struct engine_opts eo = {.rs = rs, .max_skew = ENGINE_DEFAULT_MAX_SKEW};
	struct engine *e = NULL;
	struct engine_stats es;
	char err[1024];
	size_t nwarn;

	if (engine_create(&eo, &e, err, sizeof err) != 0 ||
	    rules_data_feed(e, data, ndata, format, err, sizeof err) != 0) {
		fprintf(stderr, "vigil rules check: --data: %s\n", err);
		engine_destroy(e);
		return -1;
	}
	engine_flush_held(e); /* the data has ended, as replay does */
	nwarn = rules_data_warn(stdout, rs, e);
	engine_get_stats(e, &es);
	printf("data: %llu points, %llu series, %llu rejected lines, %zu warning%s\n",
	       (unsigned long long)es.points, (unsigned long long)es.series, (unsigned long long)es.rejected,
	       nwarn, nwarn == 1 ? "" : "s");
	engine_destroy(e);
	return 0;
}

/* Load a ruleset for test (its destinations checked too). NULL with the
 * error printed. */
static struct ruleset *load_checked(const char *const *paths, size_t n, const char *owners)
{
	struct ruleset *rs = NULL;
	char err[1024];

	if (ruleset_load(paths, n, owners, &rs, err, sizeof err) != 0 ||
	    (gateway_check(rs, err, sizeof err) != 0 && (ruleset_free(rs), 1))) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return rs;
}

/* vigil rules test: 0 done, 1 invalid files or unreadable data. */
static int rules_test(const char *const *paths, size_t npaths, const char *owners, const char *const *data,
		      size_t ndata, const char *const *base, size_t nbase, const char *format, int json,
		      const char *svg_dir)
{
	struct ruleset *rs = NULL, *brs = NULL;
	struct bt_result r = {0}, b = {0};
	char err[1024];
	int rc = 1, have_b = 0;

	if ((rs = load_checked(paths, npaths, owners)) == NULL)
		return 1;
	if (nbase > 0 && (brs = load_checked(base, nbase, owners)) == NULL)
		goto out;
	if (brs != NULL) {
		if (bt_run(brs, data, ndata, format, NULL, NULL, &b, err, sizeof err) != 0) {
			fprintf(stderr, "vigil rules test: baseline: %s\n", err);
			goto out;
		}
		have_b = 1;
	}
	struct chart_files svg = {.dir = svg_dir};
	if (chart_files_open(&svg, "vigil rules test") != 0)
		goto out;
	if (bt_run(rs, data, ndata, format, json ? stderr : stdout, &svg, &r, err, sizeof err) != 0) {
		fprintf(stderr, "vigil rules test: %s\n", err);
		goto out;
	}
	if (json) {
		json_t *j = bt_json(&r, have_b ? &b : NULL);
		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2)) != 0) {
			fprintf(stderr, "vigil rules test: cannot write the report\n");
			json_decref(j);
			goto out;
		}
		json_decref(j);
		printf("\n");
	} else {
		const char *env = getenv("VIGIL_SPARKLINES");
		int spark = env && *env ? strcmp(env, "0") != 0 : isatty(STDOUT_FILENO);
		bt_print(stdout, &r, have_b ? &b : NULL, spark);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
	chart_files_report(&svg, "vigil rules test");
	if (svg.failed)
		rc = 1;
out:
	bt_free(&r);
	bt_free(&b);
	ruleset_free(rs);
	ruleset_free(brs);
	return rc;
}

static int rules_sub(const char *sub, const char *const *paths, size_t npaths, const char *owners,
		     const char *const *data, size_t ndata, const char *const *base, size_t nbase,
		     const char *format, int json, const char *svg_dir);

/* -c CONFIG: apply its destinations.allow_hosts, and take its rules and
 * owners paths where the command line gave none, then run the subcommand.
 * The host allow-list is process-wide (sinks/http.h): cleared before return. */
static int rules_with_config(const char *config, const char *sub, const char **paths, size_t npaths,
			     const char *owners, const char *const *data, size_t ndata,
			     const char *const *base, size_t nbase, const char *format, int json,
			     const char *svg_dir)
{
	struct kafka_cfg *kc = NULL;
	char err[1024];
	int rc;

	if (kafka_cfg_load_local(config, &kc, err, sizeof err) != 0) {
		fprintf(stderr, "vigil rules: %s\n", err);
		return 1;
	}
	if (kc->allow_hosts_where &&
	    dest_allow_hosts_set(kc->allow_hosts, kc->nallow_hosts, kc->allow_hosts_where) != 0) {
		fprintf(stderr, "vigil rules: out of memory\n");
		kafka_cfg_free(kc);
		return 1;
	}
	if (npaths == 0) {
		paths = (const char **)kc->rules;
		npaths = kc->nrules;
	}
	if (owners == NULL)
		owners = kc->owners;
	if (npaths == 0) {
		fprintf(stderr, "vigil rules %s: no PATH given and %s names no rules\n", sub, config);
		rc = 2;
	} else {
		rc = rules_sub(sub, paths, npaths, owners, data, ndata, base, nbase, format, json, svg_dir);
	}
	dest_allow_hosts_clear();
	kafka_cfg_free(kc);
	return rc;
}

int cmd_rules(int argc, char **argv)
{
	const char *owners = NULL, *sub, *format = "auto", *config = NULL;
	const char **paths, *data[64], *base[64];
	size_t ndata = 0, nbase = 0;
	int json = 0;
	const char *svg_dir = NULL;
	size_t npaths = 0;
	int i;

	if (cmd_wants_help(argc, argv)) {
		rules_usage(stdout);
		return 0;
	}
	if (argc < 2) {
		rules_usage_short(stderr);
		return 2;
	}
	sub = argv[1];
	if (strcmp(sub, "check") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "test") != 0) {
		fprintf(stderr, "vigil rules: unknown subcommand '%s'\n", sub);
		rules_usage_short(stderr);
		return 2;
	}
	/* argv outlives this call: collect pointers into it */
	paths = (const char **)(argv + 2);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--owners") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vigil rules: --owners needs a FILE\n");
				return 2;
			}
			if (owners != NULL) {
				fprintf(stderr, "vigil rules: --owners given twice\n");
				return 2;
			}
			owners = argv[++i];
		} else if (strncmp(argv[i], "--owners=", 9) == 0) {
			if (owners != NULL) {
				fprintf(stderr, "vigil rules: --owners given twice\n");
				return 2;
			}
			owners = argv[i] + 9;
		} else if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc || config != NULL) {
				fprintf(stderr, "vigil rules: %s needs a CONFIG (once)\n", argv[i]);
				return 2;
			}
			config = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc) {
			svg_dir = argv[++i];
		} else if (strcmp(argv[i], "--baseline") == 0) {
			if (i + 1 >= argc || nbase == sizeof base / sizeof base[0]) {
				fprintf(stderr, "vigil rules: --baseline needs a PATH (at most 64)\n");
				return 2;
			}
			base[nbase++] = argv[++i];
		} else if (strcmp(argv[i], "--data") == 0 || strcmp(argv[i], "--format") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vigil rules: %s needs a value\n", argv[i]);
				return 2;
			}
			if (argv[i][2] == 'f') {
				format = argv[++i];
			} else if (ndata == sizeof data / sizeof data[0]) {
				fprintf(stderr, "vigil rules: too many --data files\n");
				return 2;
			} else {
				data[ndata++] = argv[++i];
			}
		} else if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++)
				paths[npaths++] = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vigil rules: unknown option '%s'\n", argv[i]);
			rules_usage_short(stderr);
			return 2;
		} else {
			paths[npaths++] = argv[i];
		}
	}
	if (npaths == 0 && config == NULL) {
		fprintf(stderr, "vigil rules %s: no PATH given\n", sub);
		rules_usage_short(stderr);
		return 2;
	}
	if (config != NULL)
		return rules_with_config(config, sub, paths, npaths, owners, data, ndata, base, nbase, format,
					 json, svg_dir);
	return rules_sub(sub, paths, npaths, owners, data, ndata, base, nbase, format, json, svg_dir);
}

/* The subcommand proper, on parsed arguments. Exit status as cmd_rules. */
static int rules_sub(const char *sub, const char *const *paths, size_t npaths, const char *owners,
		     const char *const *data, size_t ndata, const char *const *base, size_t nbase,
		     const char *format, int json, const char *svg_dir)
{
	struct ruleset *rs = NULL;
	char err[1024];
	int rc;

	if (strcmp(sub, "test") == 0) {
		if (ndata == 0) {
			fprintf(stderr, "vigil rules test: --data FILE is required\n");
			return 2;
		}
		return rules_test(paths, npaths, owners, data, ndata, base, nbase, format, json, svg_dir);
	}
	if ((nbase > 0 || json || svg_dir) && strcmp(sub, "test") != 0) {
		fprintf(stderr, "vigil rules %s: --baseline, --json and --svg are for test\n", sub);
		return 2;
	}
	rc = ruleset_load(paths, npaths, owners, &rs, err, sizeof err);
	if (rc == 0 && (rc = gateway_check(rs, err, sizeof err)) != 0)
		ruleset_free(rs);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (ndata > 0 && strcmp(sub, "check") != 0) {
		fprintf(stderr, "vigil rules %s: --data is for check (and test)\n", sub);
		ruleset_free(rs);
		return 2;
	}
	if (strcmp(sub, "check") == 0) {
		printf("ok: %zu rules, %zu owners\n", rs->nrules, rs->nowners);
		if (ndata > 0 && check_data(rs, data, ndata, format) != 0) {
			ruleset_free(rs);
			return 1;
		}
	} else {
		for (size_t j = 0; j < rs->nrules; j++) {
			const struct rule *r = &rs->rules[j];
			printf("%s\t%s\t%s\t%s\t%s\n", r->name, r->series, r->det.type->name,
			       rule_action_name(r->action), r->owner->name);
		}
	}
	ruleset_free(rs);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vigil rules: cannot write output\n");
		return 1;
	}
	return 0;
}
