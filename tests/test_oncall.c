/* Tests for time intervals (rules/timewin.c), on-call schedules
 * (rules/schedule.c) and their YAML parsers (rules/parse_oncall.c), with
 * real zones across DST changes (zones themselves: tests/test_tz.c).
 * Instants are built with the C library's timegm(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/loader.h"
#include "rules/oncall.h"
#include "tests/oncall_util.h"

/* ---- time intervals ---- */

/* A malloc'd array of n ranges, given as lo, hi pairs. */
static struct int_range *R(size_t n, ...)
{
	struct int_range *r = calloc(n, sizeof *r);
	va_list ap;

	assert_non_null(r);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		r[i].lo = va_arg(ap, int);
		r[i].hi = va_arg(ap, int);
	}
	va_end(ap);
	return r;
}

/* An interval named name with nspecs empty specs in zone loc. */
static void interval_init(struct time_interval *ti, const char *name, size_t nspecs, const char *loc)
{
	memset(ti, 0, sizeof *ti);
	assert_non_null(ti->name = strdup(name));
	assert_non_null(ti->specs = calloc(nspecs, sizeof *ti->specs));
	ti->nspecs = nspecs;
	for (size_t i = 0; i < nspecs; i++)
		ti->specs[i].loc = zone(loc);
}

#define IN(ti, t)  assert_int_equal(time_interval_contains((ti), (double)(t)), 1)
#define OUT(ti, t) assert_int_equal(time_interval_contains((ti), (double)(t)), 0)

static void test_timewin__berlin_dst_nights(void **state)
{
	struct time_interval ti;

	(void)state;
	interval_init(&ti, "night", 1, "Europe/Berlin");
	ti.specs[0].times = R(1, 60, 180); /* 01:00-03:00 local */
	ti.specs[0].ntimes = 1;
	/* spring forward: 01:00-02:00 CET, then 03:00 CEST is already outside (1 h) */
	OUT(&ti, U(2026, 3, 28, 23, 59, 59));
	IN(&ti, U(2026, 3, 29, 0, 0, 0));
	IN(&ti, U(2026, 3, 29, 0, 59, 59) + 0.999);
	OUT(&ti, U(2026, 3, 29, 1, 0, 0));
	/* fall back: 01:00 CEST to 03:00 CET, with 02:00-03:00 twice (3 h) */
	OUT(&ti, U(2026, 10, 24, 22, 59, 59));
	IN(&ti, U(2026, 10, 24, 23, 0, 0));
	IN(&ti, U(2026, 10, 25, 0, 30, 0)); /* 02:30 CEST */
	IN(&ti, U(2026, 10, 25, 1, 30, 0)); /* 02:30 CET */
	IN(&ti, U(2026, 10, 25, 1, 59, 59));
	OUT(&ti, U(2026, 10, 25, 2, 0, 0));
	/* the same nights in 2090, from the footer rule */
	IN(&ti, U(2090, 3, 26, 0, 59, 59));
	OUT(&ti, U(2090, 3, 26, 1, 0, 0));
	IN(&ti, U(2090, 10, 29, 1, 59, 59));
	OUT(&ti, U(2090, 10, 29, 2, 0, 0));
	OUT(&ti, NAN);
	time_interval_free(&ti);
}

static void test_timewin__weekdays_months_years(void **state)
{
	struct time_interval wd, mo, yr, both;

	(void)state;
	interval_init(&wd, "workdays", 1, "America/New_York");
	wd.specs[0].weekdays = R(1, 1, 5);
	wd.specs[0].nweekdays = 1;
	OUT(&wd, U(2026, 3, 7, 4, 59, 59) + 1); /* Saturday 00:00 EST */
	IN(&wd, U(2026, 3, 7, 4, 59, 59));      /* Friday 23:59:59 EST */
	OUT(&wd, U(2026, 3, 9, 3, 59, 59));     /* Sunday 23:59:59 EDT */
	IN(&wd, U(2026, 3, 9, 4, 0, 0));        /* Monday 00:00 EDT */

	interval_init(&mo, "winter", 1, "UTC");
	mo.specs[0].months = R(2, 1, 3, 12, 12);
	mo.specs[0].nmonths = 2;
	IN(&mo, U(2026, 3, 31, 23, 59, 59));
	OUT(&mo, U(2026, 4, 1, 0, 0, 0));
	OUT(&mo, U(2026, 11, 30, 23, 59, 59));
	IN(&mo, U(2026, 12, 1, 0, 0, 0));
	IN(&mo, U(2027, 1, 15, 0, 0, 0));

	interval_init(&yr, "years", 1, "UTC");
	yr.specs[0].years = R(1, 2026, 2027);
	yr.specs[0].nyears = 1;
	OUT(&yr, U(2025, 12, 31, 23, 59, 59));
	IN(&yr, U(2026, 1, 1, 0, 0, 0));
	IN(&yr, U(2027, 12, 31, 23, 59, 59));
	OUT(&yr, U(2028, 1, 1, 0, 0, 0));

	/* every given field must hold: weekends in December */
	interval_init(&both, "december-weekends", 1, "UTC");
	both.specs[0].weekdays = R(2, 0, 0, 6, 6);
	both.specs[0].nweekdays = 2;
	both.specs[0].months = R(1, 12, 12);
	both.specs[0].nmonths = 1;
	IN(&both, U(2026, 12, 5, 12, 0, 0));   /* Saturday */
	IN(&both, U(2026, 12, 6, 12, 0, 0));   /* Sunday */
	OUT(&both, U(2026, 12, 7, 12, 0, 0));  /* Monday */
	OUT(&both, U(2026, 11, 28, 12, 0, 0)); /* a Saturday in November */
	time_interval_free(&wd);
	time_interval_free(&mo);
	time_interval_free(&yr);
	time_interval_free(&both);
}

static void test_timewin__days_of_month(void **state)
{
	struct time_interval last, tail, late, all;

	(void)state;
	interval_init(&last, "last-day", 1, "Europe/Berlin");
	last.specs[0].days_of_month = R(1, -1, -1);
	last.specs[0].ndays_of_month = 1;
	OUT(&last, U(2026, 2, 27, 22, 59, 59)); /* Feb 27th 23:59:59 CET */
	IN(&last, U(2026, 2, 27, 23, 0, 0));    /* Feb 28th 00:00 CET */
	IN(&last, U(2026, 2, 28, 22, 59, 59));
	OUT(&last, U(2026, 2, 28, 23, 0, 0)); /* March 1st */
	OUT(&last, U(2028, 2, 28, 12, 0, 0)); /* leap year: the 28th is not the last day */
	IN(&last, U(2028, 2, 28, 23, 0, 0));  /* Feb 29th 00:00 CET */
	/* local midnight moves with DST: March 31st starts at 22:00 UTC (CEST) */
	OUT(&last, U(2026, 3, 30, 21, 59, 59));
	IN(&last, U(2026, 3, 30, 22, 0, 0));
	IN(&last, U(2026, 3, 31, 21, 59, 59));
	OUT(&last, U(2026, 3, 31, 22, 0, 0));
	/* and October 31st (after the fall-back) at 23:00 UTC (CET) */
	OUT(&last, U(2026, 10, 30, 22, 59, 59));
	IN(&last, U(2026, 10, 30, 23, 0, 0));

	interval_init(&tail, "last-three", 1, "UTC");
	tail.specs[0].days_of_month = R(1, -3, -1);
	tail.specs[0].ndays_of_month = 1;
	OUT(&tail, U(2026, 4, 27, 23, 59, 59));
	IN(&tail, U(2026, 4, 28, 0, 0, 0));
	IN(&tail, U(2026, 4, 30, 23, 59, 59));
	OUT(&tail, U(2026, 2, 25, 12, 0, 0));
	IN(&tail, U(2026, 2, 26, 12, 0, 0));

	/* 30:31 never matches in February and matches only the 30th in April */
	interval_init(&late, "late", 1, "UTC");
	late.specs[0].days_of_month = R(1, 30, 31);
	late.specs[0].ndays_of_month = 1;
	OUT(&late, U(2026, 2, 28, 12, 0, 0));
	OUT(&late, U(2026, 3, 1, 12, 0, 0));
	IN(&late, U(2026, 4, 30, 12, 0, 0));
	OUT(&late, U(2026, 5, 1, 12, 0, 0));
	IN(&late, U(2026, 5, 31, 12, 0, 0));

	interval_init(&all, "whole-month", 1, "UTC");
	all.specs[0].days_of_month = R(2, 1, -1, 5, 5);
	all.specs[0].ndays_of_month = 2;
	IN(&all, U(2026, 2, 1, 0, 0, 0));
	IN(&all, U(2026, 2, 28, 23, 59, 59));
	time_interval_free(&last);
	time_interval_free(&tail);
	time_interval_free(&late);
	time_interval_free(&all);
}

static void test_timewin__end_exclusive_and_specs_or(void **state)
{
	struct time_interval v[2];

	(void)state;
	interval_init(&v[0], "office", 2, "UTC");
	v[0].specs[0].times = R(2, 540, 1020, 1380, 1440); /* 09:00-17:00, 23:00-24:00 */
	v[0].specs[0].ntimes = 2;
	v[0].nspecs = 1; /* the second spec joins below */
	OUT(&v[0], U(2026, 1, 5, 8, 59, 59));
	IN(&v[0], U(2026, 1, 5, 9, 0, 0));
	IN(&v[0], U(2026, 1, 5, 16, 59, 59));
	OUT(&v[0], U(2026, 1, 5, 17, 0, 0));
	OUT(&v[0], U(2026, 1, 5, 22, 59, 59));
	IN(&v[0], U(2026, 1, 5, 23, 0, 0));
	IN(&v[0], U(2026, 1, 5, 23, 59, 59));
	OUT(&v[0], U(2026, 1, 6, 0, 0, 0));
	/* any spec matching is enough: 00:00-01:00 on Tuesdays */
	v[0].nspecs = 2;
	v[0].specs[1].times = R(1, 0, 60);
	v[0].specs[1].ntimes = 1;
	v[0].specs[1].weekdays = R(1, 2, 2);
	v[0].specs[1].nweekdays = 1;
	IN(&v[0], U(2026, 1, 6, 0, 0, 0));
	OUT(&v[0], U(2026, 1, 6, 1, 0, 0));
	OUT(&v[0], U(2026, 1, 7, 0, 30, 0));          /* Wednesday */
	interval_init(&v[1], "empty-spec", 1, "UTC"); /* a spec without fields matches always */
	IN(&v[1], U(2026, 1, 7, 0, 30, 0));
	assert_ptr_equal(time_interval_find(v, 2, "empty-spec"), &v[1]);
	assert_ptr_equal(time_interval_find(v, 2, "office"), &v[0]);
	assert_null(time_interval_find(v, 2, "Office"));
	assert_null(time_interval_find(v, 1, "empty-spec"));
	time_interval_free(&v[0]);
	time_interval_free(&v[1]);
}

/* ---- schedules ---- */

static void sched_init(struct schedule *s, const char *name, const char *tzname, int shift_days, int y,
		       int mo, int d, int hh, int mm, size_t n, const char *const *people)
{
	memset(s, 0, sizeof *s);
	assert_non_null(s->name = strdup(name));
	s->tz = zone(tzname);
	s->shift_days = shift_days;
	s->start_year = y;
	s->start_month = mo;
	s->start_mday = d;
	s->handover_min = hh * 60 + mm;
	assert_non_null(s->rotation = calloc(n, sizeof *s->rotation));
	for (size_t i = 0; i < n; i++)
		assert_non_null(s->rotation[s->nrotation++] = strdup(people[i]));
}

static void add_override(struct schedule *s, const char *person, int64_t start, int64_t end)
{
	struct oncall_override *o = realloc(s->overrides, (s->noverrides + 1) * sizeof *o);

	assert_non_null(o);
	s->overrides = o;
	o = &s->overrides[s->noverrides++];
	memset(o, 0, sizeof *o);
	assert_non_null(o->person = strdup(person));
	o->start = (double)start;
	o->end = (double)end;
}

/* schedule_oncall(s, t) names `who` (NULL: nobody) until `until`. */
static void expect_oncall(const struct schedule *s, int64_t t, const char *who, double until)
{
	double u = -1;
	const char *got = schedule_oncall(s, (double)t, &u);

	if ((who == NULL) != (got == NULL) || (who && strcmp(who, got) != 0) || u < until || u > until)
		fail_msg("at %lld: got %s until %.0f, want %s until %.0f", (long long)t, got ? got : "nobody",
			 u, who ? who : "nobody", until);
}

static const char *const abc[] = {"alice", "bob", "carol"};

static void test_schedule__weekly_across_dst(void **state)
{
	struct schedule s;

	(void)state;
	/* Mondays 09:00 Berlin from 2026-03-23 (CET, 08:00 UTC) */
	sched_init(&s, "primary", "Europe/Berlin", 7, 2026, 3, 23, 9, 0, 3, abc);
	expect_oncall(&s, U(2020, 1, 1, 0, 0, 0), NULL, (double)U(2026, 3, 23, 8, 0, 0));
	expect_oncall(&s, U(2026, 3, 23, 7, 59, 59), NULL, (double)U(2026, 3, 23, 8, 0, 0));
	/* the first shift spans the spring-forward: an hour short, next hand-over at 07:00 UTC */
	expect_oncall(&s, U(2026, 3, 23, 8, 0, 0), "alice", (double)U(2026, 3, 30, 7, 0, 0));
	expect_oncall(&s, U(2026, 3, 30, 6, 59, 59), "alice", (double)U(2026, 3, 30, 7, 0, 0));
	expect_oncall(&s, U(2026, 3, 30, 7, 0, 0), "bob", (double)U(2026, 4, 6, 7, 0, 0));
	expect_oncall(&s, U(2026, 4, 6, 7, 0, 0), "carol", (double)U(2026, 4, 13, 7, 0, 0));
	expect_oncall(&s, U(2026, 4, 13, 3, 0, 0), "carol",
		      (double)U(2026, 4, 13, 7, 0, 0)); /* Monday 05:00 */
	expect_oncall(&s, U(2026, 4, 13, 7, 0, 0), "alice", (double)U(2026, 4, 20, 7, 0, 0)); /* wraps */
	/* the shift across the fall-back is an hour long: Oct 19 07:00 UTC to Oct 26 08:00 UTC */
	expect_oncall(&s, U(2026, 10, 19, 7, 0, 0), "alice", (double)U(2026, 10, 26, 8, 0, 0));
	expect_oncall(&s, U(2026, 10, 26, 7, 59, 59), "alice", (double)U(2026, 10, 26, 8, 0, 0));
	expect_oncall(&s, U(2026, 10, 26, 8, 0, 0), "bob", (double)U(2026, 11, 2, 8, 0, 0));
	/* 2090 (footer rule): week 3339 from the start is alice's, then bob's from 09:00 CEST */
	expect_oncall(&s, U(2090, 3, 25, 12, 0, 0), "alice", (double)U(2090, 3, 27, 7, 0, 0));
	expect_oncall(&s, U(2090, 3, 27, 7, 0, 0), "bob", (double)U(2090, 4, 3, 7, 0, 0));
	assert_string_equal(schedule_oncall(&s, (double)U(2026, 3, 30, 7, 0, 0) + 0.5, NULL), "bob");
	schedule_free(&s);
}

static void test_schedule__daily_and_gap(void **state)
{
	static const char *const xy[] = {"x", "y"}, *const pqr[] = {"p", "q", "r"};
	struct schedule d, g;

	(void)state;
	/* daily at 09:00 Berlin across the fall-back: a 25-hour shift */
	sched_init(&d, "daily", "Europe/Berlin", 1, 2026, 10, 24, 9, 0, 2, xy);
	expect_oncall(&d, U(2026, 10, 24, 7, 0, 0), "x", (double)U(2026, 10, 25, 8, 0, 0));
	expect_oncall(&d, U(2026, 10, 25, 7, 59, 59), "x", (double)U(2026, 10, 25, 8, 0, 0));
	expect_oncall(&d, U(2026, 10, 25, 8, 0, 0), "y", (double)U(2026, 10, 26, 8, 0, 0));
	expect_oncall(&d, U(2026, 10, 26, 8, 0, 0), "x", (double)U(2026, 10, 27, 8, 0, 0));
	/* hand-over at 02:30, which does not exist on 2026-03-29: it happens at 03:00 CEST */
	sched_init(&g, "gap", "Europe/Berlin", 1, 2026, 3, 28, 2, 30, 3, pqr);
	expect_oncall(&g, U(2026, 3, 28, 1, 30, 0), "p", (double)U(2026, 3, 29, 1, 0, 0));
	expect_oncall(&g, U(2026, 3, 29, 0, 59, 59), "p", (double)U(2026, 3, 29, 1, 0, 0));
	expect_oncall(&g, U(2026, 3, 29, 1, 0, 0), "q", (double)U(2026, 3, 30, 0, 30, 0));
	expect_oncall(&g, U(2026, 3, 30, 0, 30, 0), "r", (double)U(2026, 3, 31, 0, 30, 0));
	schedule_free(&d);
	schedule_free(&g);
}

static void test_schedule__overrides(void **state)
{
	struct schedule s[2];

	(void)state;
	sched_init(&s[0], "primary", "Europe/Berlin", 7, 2026, 3, 23, 9, 0, 3, abc);
	add_override(&s[0], "dave", U(2026, 4, 1, 7, 0, 0), U(2026, 4, 3, 7, 0, 0));   /* 09:00 CEST */
	add_override(&s[0], "erin", U(2026, 4, 1, 22, 0, 0), U(2026, 4, 4, 22, 0, 0)); /* 00:00 CEST */
	expect_oncall(&s[0], U(2026, 4, 1, 6, 59, 59), "bob", (double)U(2026, 4, 1, 7, 0, 0));
	expect_oncall(&s[0], U(2026, 4, 1, 7, 0, 0), "dave", (double)U(2026, 4, 3, 7, 0, 0));
	expect_oncall(&s[0], U(2026, 4, 2, 12, 0, 0), "dave",
		      (double)U(2026, 4, 3, 7, 0, 0)); /* listed first */
	expect_oncall(&s[0], U(2026, 4, 3, 7, 0, 0), "erin", (double)U(2026, 4, 4, 22, 0, 0));
	expect_oncall(&s[0], U(2026, 4, 4, 21, 59, 59), "erin", (double)U(2026, 4, 4, 22, 0, 0));
	expect_oncall(&s[0], U(2026, 4, 4, 22, 0, 0), "bob", (double)U(2026, 4, 6, 7, 0, 0));
	/* listed the other way round: erin takes over from dave when she starts */
	sched_init(&s[1], "secondary", "Europe/Berlin", 7, 2026, 3, 23, 9, 0, 3, abc);
	add_override(&s[1], "erin", U(2026, 4, 1, 22, 0, 0), U(2026, 4, 4, 22, 0, 0));
	add_override(&s[1], "dave", U(2026, 4, 1, 7, 0, 0), U(2026, 4, 3, 7, 0, 0));
	add_override(&s[1], "frank", U(2026, 1, 1, 0, 0, 0), U(2026, 1, 2, 0, 0, 0)); /* before the start */
	expect_oncall(&s[1], U(2026, 4, 1, 12, 0, 0), "dave", (double)U(2026, 4, 1, 22, 0, 0));
	expect_oncall(&s[1], U(2026, 4, 1, 22, 0, 0), "erin", (double)U(2026, 4, 4, 22, 0, 0));
	expect_oncall(&s[1], U(2025, 12, 31, 12, 0, 0), NULL, (double)U(2026, 1, 1, 0, 0, 0));
	expect_oncall(&s[1], U(2026, 1, 1, 0, 0, 0), "frank", (double)U(2026, 1, 2, 0, 0, 0));
	expect_oncall(&s[1], U(2026, 1, 2, 0, 0, 0), NULL, (double)U(2026, 3, 23, 8, 0, 0));
	assert_ptr_equal(schedule_find(s, 2, "secondary"), &s[1]);
	assert_ptr_equal(schedule_find(s, 2, "primary"), &s[0]);
	assert_null(schedule_find(s, 2, "tertiary"));
	schedule_free(&s[0]);
	schedule_free(&s[1]);
}

/* ---- parsing ---- */

/* Parse text (a map with `time_intervals:` and/or `schedules:`, the keys
 * of an owner) into a one-owner ruleset the way ruleset_load does: the
 * parsers append to rs->owners[0] and ruleset_free frees what was built. */
static int parse_text(const char *text, struct ruleset **out, char *err, size_t errlen, char *path,
		      size_t pathlen)
{
	static const char *const keys[] = {"time_intervals", "schedules", NULL};
	yaml_node_t *v[2], *k[2];
	struct loader L;
	struct vy_file f;
	int rc;

	write_tmp("oncall.yaml", text, path, pathlen);
	memset(&L, 0, sizeof L);
	memset(&f, 0, sizeof f);
	L.y.err = err;
	L.y.errlen = errlen;
	L.y.path = path;
	err[0] = '\0';
	assert_non_null(L.rs = calloc(1, sizeof *L.rs));
	assert_non_null(L.rs->owners = calloc(1, sizeof *L.rs->owners));
	L.rs->nowners = L.cap_owners = 1;
	rc = vy_load(&L.y, path, &f);
	if (rc == 0)
		rc = vy_map_fields(&L.y, f.root, "the test document", keys, v, k);
	if (rc == 0 && v[0] != NULL)
		rc = rules_parse_time_intervals(&L, v[0], &L.rs->owners[0]);
	if (rc == 0 && v[1] != NULL)
		rc = rules_parse_schedules(&L, v[1], &L.rs->owners[0]);
	vy_unload(&f);
	*out = L.rs;
	return rc;
}

static void expect_ranges(const struct int_range *r, size_t n, size_t want_n, const int *want)
{
	assert_int_equal(n, want_n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].lo, want[2 * i]);
		assert_int_equal(r[i].hi, want[2 * i + 1]);
	}
}

static const char good_yaml[] =
	"time_intervals:\n"
	"  - name: nights\n"
	"    time_intervals:\n"
	"      - times: [{start_time: \"22:00\", end_time: \"24:00\"}, {start_time: \"00:00\", end_time: "
	"\"06:00\"}]\n"
	"        weekdays: [\"monday:friday\", \"sunday\"]\n"
	"        days_of_month: [\"1:5\", \"-1\"]\n"
	"        months: [\"january:march\", \"12\"]\n"
	"        years: [\"2026:2027\"]\n"
	"        location: Europe/Berlin\n"
	"      - weekdays: [Saturday]\n"
	"  - name: always\n"
	"    time_intervals: [{}]\n"
	"schedules:\n"
	"  - name: primary\n"
	"    time_zone: Europe/Berlin\n"
	"    rotation: [alice, bob, carol]\n"
	"    start: \"2026-01-05 09:00\"\n"
	"    overrides:\n"
	"      - {person: dave, start: \"2026-12-24 09:00\", end: \"2026-12-27 09:00\"}\n"
	"  - name: daily\n"
	"    time_zone: America/New_York\n"
	"    rotation: [x]\n"
	"    shift: 2d\n"
	"    start: \"2026-03-08T02:30\"\n";

static void test_parse__good(void **state)
{
	char err[1024], path[256], where[300];
	struct ruleset *rs;
	const struct owner *o;
	const struct time_spec *sp;
	const struct schedule *s;

	(void)state;
	assert_int_equal(parse_text(good_yaml, &rs, err, sizeof err, path, sizeof path), 0);
	o = &rs->owners[0];
	assert_int_equal(o->nintervals, 2);
	assert_string_equal(o->intervals[0].name, "nights");
	snprintf(where, sizeof where, "%s:2:5", path);
	assert_string_equal(o->intervals[0].where, where);
	assert_int_equal(o->intervals[0].nspecs, 2);
	sp = &o->intervals[0].specs[0];
	snprintf(where, sizeof where, "%s:4:9", path);
	assert_string_equal(sp->where, where);
	expect_ranges(sp->times, sp->ntimes, 2, (const int[]){1320, 1440, 0, 360});
	expect_ranges(sp->weekdays, sp->nweekdays, 2, (const int[]){1, 5, 0, 0});
	expect_ranges(sp->days_of_month, sp->ndays_of_month, 2, (const int[]){1, 5, -1, -1});
	expect_ranges(sp->months, sp->nmonths, 2, (const int[]){1, 3, 12, 12});
	expect_ranges(sp->years, sp->nyears, 1, (const int[]){2026, 2027});
	assert_string_equal(tz_name(sp->loc), "Europe/Berlin");
	sp = &o->intervals[0].specs[1];
	expect_ranges(sp->weekdays, sp->nweekdays, 1, (const int[]){6, 6});
	assert_int_equal(sp->ntimes + sp->ndays_of_month + sp->nmonths + sp->nyears, 0);
	assert_string_equal(tz_name(sp->loc), "UTC");
	assert_int_equal(o->intervals[1].nspecs, 1);
	/* evaluated: Monday 2026-01-05 23:00 CET is a night; Tuesday the 6th is not (day 6) */
	IN(&o->intervals[0], U(2026, 1, 5, 22, 0, 0));
	OUT(&o->intervals[0], U(2026, 1, 5, 20, 59, 59));
	OUT(&o->intervals[0], U(2026, 1, 6, 22, 0, 0));
	IN(&o->intervals[0], U(2026, 1, 10, 12, 0, 0)); /* any Saturday (second spec, UTC) */
	IN(&o->intervals[1], U(1999, 1, 1, 0, 0, 0));
	assert_ptr_equal(time_interval_find(o->intervals, o->nintervals, "always"), &o->intervals[1]);

	assert_int_equal(o->nschedules, 2);
	s = &o->schedules[0];
	assert_string_equal(s->name, "primary");
	assert_string_equal(tz_name(s->tz), "Europe/Berlin");
	assert_int_equal(s->nrotation, 3);
	assert_string_equal(s->rotation[2], "carol");
	assert_int_equal(s->shift_days, 7);
	assert_int_equal(s->start_year, 2026);
	assert_int_equal(s->start_month, 1);
	assert_int_equal(s->start_mday, 5);
	assert_int_equal(s->handover_min, 540);
	assert_int_equal(s->noverrides, 1);
	assert_string_equal(s->overrides[0].person, "dave");
	assert_true(s->overrides[0].start >= (double)U(2026, 12, 24, 8, 0, 0) &&
		    s->overrides[0].start <= (double)U(2026, 12, 24, 8, 0, 0));
	assert_true(s->overrides[0].end >= (double)U(2026, 12, 27, 8, 0, 0) &&
		    s->overrides[0].end <= (double)U(2026, 12, 27, 8, 0, 0));
	snprintf(where, sizeof where, "%s:19:9", path);
	assert_string_equal(s->overrides[0].where, where);
	expect_oncall(s, U(2026, 1, 5, 8, 0, 0), "alice", (double)U(2026, 1, 12, 8, 0, 0));
	expect_oncall(s, U(2026, 12, 25, 0, 0, 0), "dave", (double)U(2026, 12, 27, 8, 0, 0));
	s = schedule_find(o->schedules, o->nschedules, "daily");
	assert_non_null(s);
	assert_int_equal(s->shift_days, 2);
	assert_int_equal(s->handover_min, 150);
	/* the first hand-over, 02:30 on the spring-forward day, happens at 03:00 EDT */
	expect_oncall(s, U(2026, 3, 8, 6, 59, 59), NULL, (double)U(2026, 3, 8, 7, 0, 0));
	expect_oncall(s, U(2026, 3, 8, 7, 0, 0), "x", (double)U(2026, 3, 10, 6, 30, 0));
	ruleset_free(rs);
}

#define TI_HEAD "time_intervals:\n  - name: a\n    time_intervals:\n"
#define SC_HEAD "schedules:\n  - name: s\n    time_zone: Europe/Berlin\n    rotation: [a]\n"

static const struct {
	const char *text;
	int line, col;
	const char *want;
} parse_errors[] = {
	{"time_intervals: {a: 1}\n", 1, 17, "time_intervals must be a list, not a map"},
	{"time_intervals:\n  - time_intervals: [{}]\n", 2, 5, "time interval is missing required key 'name'"},
	{"time_intervals:\n  - name: a\n", 2, 5,
	 "time interval 'a' is missing required key 'time_intervals'"},
	{TI_HEAD "      - weekday: [monday]\n", 4, 9,
	 "unknown key 'weekday' in a time_intervals entry (did you mean "
	 "'weekdays'?)"},
	{"time_intervals:\n  - name: a\n    time_intervals: []\n", 3, 21, "time_intervals must not be empty"},
	{TI_HEAD "      - times: [{start_time: \"25:00\", end_time: \"26:00\"}]\n", 4, 30,
	 "start_time: '25:00' is not a time of day (HH:MM, 00:00..23:59)"},
	{TI_HEAD "      - times: [{start_time: \"24:00\", end_time: \"24:00\"}]\n", 4, 30,
	 "start_time: '24:00' is not a time of day"},
	{TI_HEAD "      - times: [{start_time: \"01:00\", end_time: \"24:30\"}]\n", 4, 49,
	 "end_time: '24:30' is not a time of day (HH:MM, 00:00..24:00)"},
	{TI_HEAD "      - times: [{start_time: \"06:00\", end_time: \"06:00\"}]\n", 4, 49,
	 "end_time 06:00 is not after start_time 06:00"},
	{TI_HEAD "      - times: [{start_time: \"22:00\", end_time: \"06:00\"}]\n", 4, 49,
	 "end_time 06:00 is not after start_time 22:00"},
	{TI_HEAD "      - times: [{start_time: \"01:00\"}]\n", 4, 17, "missing required key 'end_time'"},
	{TI_HEAD "      - weekdays: [monday, moonday]\n", 4, 28, "weekdays: unknown weekday 'moonday'"},
	{TI_HEAD "      - weekdays: [\"friday:monday\"]\n", 4, 20,
	 "weekdays: 'friday:monday' ends before it starts"},
	{TI_HEAD "      - days_of_month: [\"0\"]\n", 4, 25, "0 is not a valid day of the month"},
	{TI_HEAD "      - days_of_month: [32]\n", 4, 25, "32 is not a valid day of the month"},
	{TI_HEAD "      - days_of_month: [\"-3:5\"]\n", 4, 25,
	 "a range starting from the month's end must end"},
	{TI_HEAD "      - days_of_month: [\"5:1\"]\n", 4, 25, "'5:1' ends before it starts"},
	{TI_HEAD "      - days_of_month: [\"1:\"]\n", 4, 25, "'1:' is not a day of the month or a range"},
	{TI_HEAD "      - months: [\"13\"]\n", 4, 18, "13 is not a valid month"},
	{TI_HEAD "      - months: [\"march:january\"]\n", 4, 18, "'march:january' ends before it starts"},
	{TI_HEAD "      - years: [\"2027:2026\"]\n", 4, 17, "'2027:2026' ends before it starts"},
	{TI_HEAD "      - years: []\n", 4, 16, "years must not be empty"},
	{TI_HEAD "      - location: Mars/Base\n", 4, 19, "location: unknown time zone 'Mars/Base'"},
	{TI_HEAD "      - location: ../x\n", 4, 19,
	 "location: invalid time zone name '../x': must not contain '..'"},
	{"time_intervals:\n  - name: a\n    time_intervals: [{}]\n  - name: b\n    time_intervals: [{}]\n"
	 "  - name: a\n    time_intervals: [{}]\n",
	 6, 11, "duplicate time interval name 'a' (first defined at "},
	{"schedules: x\n", 1, 12, "schedules must be a list, not a scalar"},
	{"schedules:\n  - {name: s, time_zone: UTC, rotation: [a], start: \"2026-01-01 00:00\"}\n"
	 "  - {name: s, time_zone: UTC, rotation: [a], start: \"2026-01-01 00:00\"}\n",
	 3, 12, "duplicate schedule name 's' (first defined at "},
	{"schedules:\n  - name: s\n    rotation: [a]\n    start: \"2026-01-01 00:00\"\n", 2, 5,
	 "schedule is missing required key 'time_zone'"},
	{"schedules:\n  - name: s\n    time_zone: UTC\n    rotation: [a]\n", 2, 5,
	 "schedule is missing required key 'start'"},
	{"schedules:\n  - name: s\n    timezone: UTC\n", 3, 5,
	 "unknown key 'timezone' in a schedule (did you mean "
	 "'time_zone'?)"},
	{"schedules:\n  - name: s\n    time_zone: Nowhere/City\n    rotation: [a]\n    start: \"2026-01-01 "
	 "00:00\"\n",
	 3, 16, "time_zone: unknown time zone 'Nowhere/City'"},
	{"schedules:\n  - name: s\n    time_zone: UTC\n    rotation: []\n    start: \"2026-01-01 00:00\"\n",
	 4, 15, "schedule 's': rotation must name at least one person"},
	{"schedules:\n  - name: s\n    time_zone: UTC\n    rotation: [{a: 1}]\n    start: \"2026-01-01 "
	 "00:00\"\n",
	 4, 16, "a rotation entry must be a scalar, not a map"},
	{SC_HEAD "    shift: 1h\n    start: \"2026-01-01 00:00\"\n", 5, 12,
	 "shift: '1h' is not a whole number of days or weeks"},
	{SC_HEAD "    shift: 0d\n    start: \"2026-01-01 00:00\"\n", 5, 12,
	 "shift: '0d' is not a whole number"},
	{SC_HEAD "    start: \"2026-02-30 09:00\"\n", 5, 12,
	 "start: '2026-02-30 09:00' is not a local date and time like 2026-01-05 09:00"},
	{SC_HEAD "    start: \"2026-01-05 9:00\"\n", 5, 12, "start: '2026-01-05 9:00' is not a local date"},
	{SC_HEAD "    start: \"2026-01-05 09:00\"\n    overrides:\n"
		 "      - {person: b, start: \"2026-03-29 03:00\", end: \"2026-03-29 02:30\"}\n",
	 7, 53, "override end '2026-03-29 02:30' is not after its start '2026-03-29 03:00'"},
	{SC_HEAD "    start: \"2026-01-05 09:00\"\n    overrides:\n"
		 "      - {person: b, start: \"2026-04-02 09:00\", end: \"2026-04-01 09:00\"}\n",
	 7, 53, "override end '2026-04-01 09:00' is not after its start"},
	{SC_HEAD "    start: \"2026-01-05 09:00\"\n    overrides:\n      - {person: b, start: \"2026-04-02 "
		 "09:00\"}\n",
	 7, 9, "override is missing required key 'end'"},
};

static void test_parse__errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof parse_errors / sizeof parse_errors[0]; i++) {
		char err[1024], path[256], prefix[300];
		struct ruleset *rs = NULL;
		int rc = parse_text(parse_errors[i].text, &rs, err, sizeof err, path, sizeof path);

		snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, parse_errors[i].line,
			 parse_errors[i].col);
		if (rc != -VIGIL_EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
		    strstr(err, parse_errors[i].want) == NULL)
			fail_msg("case %zu: want '%s...%s', got rc=%d '%s'", i, prefix, parse_errors[i].want,
				 rc, err);
		ruleset_free(rs); /* frees the half-built entries */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timewin__berlin_dst_nights),
		cmocka_unit_test(test_timewin__weekdays_months_years),
		cmocka_unit_test(test_timewin__days_of_month),
		cmocka_unit_test(test_timewin__end_exclusive_and_specs_or),
		cmocka_unit_test(test_schedule__weekly_across_dst),
		cmocka_unit_test(test_schedule__daily_and_gap),
		cmocka_unit_test(test_schedule__overrides),
		cmocka_unit_test(test_parse__good),
		cmocka_unit_test(test_parse__errors),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
