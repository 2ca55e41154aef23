/* Time intervals (Alertmanager's time_intervals): is an instant inside?
 * Every field is judged on the local wall time of the spec's location, so
 * across DST changes a window follows the clock on the wall: a 01:00-03:00
 * window lasts one hour of real time on a spring-forward night (02:00 ->
 * 03:00) and three on a fall-back night. See rules/oncall.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/oncall.h"

#define T_LIMIT 1e15 /* seconds; beyond this an instant is clamped (tz_local clamps further) */

static int in_ranges(const struct int_range *r, size_t n, int v)
{
	for (size_t i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return 1;
	return 0;
}

/* Days of the month: a negative day counts from the month's end (-1 = the
 * last day). A range starting after the month's end matches nothing there
 * (31 in April), one reaching past it ends with it, as in Alertmanager. */
static int days_match(const struct int_range *r, size_t n, int mday, int mlen)
{
	for (size_t i = 0; i < n; i++) {
		int lo = r[i].lo < 0 ? mlen + r[i].lo + 1 : r[i].lo;
		int hi = r[i].hi < 0 ? mlen + r[i].hi + 1 : r[i].hi;
		if (mday >= lo && mday <= hi)
			return 1;
	}
	return 0;
}

/* Minutes of the day: [lo, hi). */
static int times_match(const struct int_range *r, size_t n, int minute)
{
	for (size_t i = 0; i < n; i++)
		if (minute >= r[i].lo && minute < r[i].hi)
			return 1;
	return 0;
}

static int spec_contains(const struct time_spec *s, int64_t t)
{
	struct tz_tm tm;

	if (s->loc == NULL)
		return 0;
	tz_local(s->loc, t, &tm);
	if (s->ntimes && !times_match(s->times, s->ntimes, tm.hour * 60 + tm.min))
		return 0;
	if (s->nweekdays && !in_ranges(s->weekdays, s->nweekdays, tm.wday))
		return 0;
	if (s->ndays_of_month &&
	    !days_match(s->days_of_month, s->ndays_of_month, tm.mday, tz_month_days(tm.year, tm.month)))
		return 0;
	if (s->nmonths && !in_ranges(s->months, s->nmonths, tm.month))
		return 0;
	if (s->nyears && !in_ranges(s->years, s->nyears, tm.year))
		return 0;
	return 1;
}

int time_interval_contains(const struct time_interval *ti, double t)
{
	int64_t it;

	if (ti == NULL || isnan(t))
		return 0;
	t = floor(t < -T_LIMIT ? -T_LIMIT : t > T_LIMIT ? T_LIMIT : t);
	it = (int64_t)t;
	for (size_t i = 0; i < ti->nspecs; i++)
		if (spec_contains(&ti->specs[i], it))
			return 1;
	return 0;
}

const struct time_interval *time_interval_find(const struct time_interval *v, size_t n, const char *name)
{
	if (v == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i].name != NULL && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

void time_interval_free(struct time_interval *ti)
{
	if (ti == NULL)
		return;
	for (size_t i = 0; i < ti->nspecs; i++) {
		struct time_spec *s = &ti->specs[i];
		free(s->times);
		free(s->weekdays);
		free(s->days_of_month);
		free(s->months);
		free(s->years);
		tz_free(s->loc);
		free(s->where);
	}
	free(ti->specs);
	free(ti->name);
	free(ti->where);
	memset(ti, 0, sizeof *ti);
}
