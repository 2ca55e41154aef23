/* The backtest of `vigil rules test` (cli/rules_backtest.c): run a ruleset
 * over data files (decode -> series table -> rules -> detectors, time from
 * the data, as `vigil replay` does before its gateway) and collect every
 * episode each rule would have opened, then report per rule and per owner. */
#ifndef CLI_RULES_BACKTEST_H
#define CLI_RULES_BACKTEST_H

#include "cli/chart_files.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/rules.h"

#define BT_NIGHT_FROM 22 /* local hours [22:00, 07:00) are the night */
#define BT_NIGHT_TO   7
#define BT_FLAP_GAP   3600.0 /* an episode starting within this of the last one's end flaps */
#define BT_VALS_MAX   4096   /* values kept per episode for its sparkline */
#define BT_SPARK_COLS 48     /* columns of a sparkline */

struct bt_episode {
	size_t rule; /* index in the ruleset */
	char *series;
	double start, end; /* end = the data's end while open */
	double peak;       /* the highest score of the episode (the firing one while open) */
	int open;          /* still open when the data ended */
	float *vals;       /* the series' values from the firing point on (at most BT_VALS_MAX) */
	uint32_t nvals, capvals;
};

struct bt_result {
	const struct ruleset *rs; /* borrowed */
	struct bt_episode *ep;    /* in firing order */
	size_t n, cap;
	double from, to; /* data time of the first and newest point */
	int failed;      /* out of memory while collecting */
	size_t *openv;   /* indices of the open episodes */
	size_t nopen, capopen;
	struct chart_files *svg; /* borrowed, may be NULL: each episode's chart as a file */
};

/* Run rs over files (format name or "auto"). With warn != NULL, the warnings
 * of rules_data_warn go there; with svg != NULL (its dir set), every alert
 * episode's chart is written there as in `vigil replay --svg`. 0, or
 * -VIGIL_E* with err filled. */
int bt_run(const struct ruleset *rs, const char *const *files, size_t n, const char *format, FILE *warn,
	   struct chart_files *svg, struct bt_result *out, char *err, size_t errlen);
void bt_free(struct bt_result *r);

/* Pages (episodes of rules with action: page) of owner o, and how many of
 * them started at night in the owner's time zone (its first schedule's;
 * UTC without one). */
void bt_owner_pages(const struct bt_result *r, const struct owner *o, size_t *pages, size_t *night);
/* Weeks the data spans (0 when it spans nothing). */
double bt_weeks(const struct bt_result *r);
/* The longest run of flapping episodes of rule ri on one series: episode
 * count (1 = none flapped) and the first episode of the run (index in ep). */
size_t bt_longest_flap(const struct bt_result *r, size_t ri, size_t *first);

/* Reports: text (with the baseline's pages per week when base != NULL, and
 * a sparkline of each episode's values under it when spark) and JSON (the
 * same content without sparklines; caller owns it). */
void bt_print(FILE *f, const struct bt_result *r, const struct bt_result *base, int spark);
/* The sparkline of values v[0..n) in at most cols UTF-8 block characters
 * (each the highest of its share of the values) into out. */
void bt_sparkline(const float *v, size_t n, size_t cols, char *out, size_t outlen);
json_t *bt_json(const struct bt_result *r, const struct bt_result *base);

#endif
