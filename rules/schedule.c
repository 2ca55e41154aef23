/* On-call schedules: who is on call at an instant. Hand-overs are counted
 * in local calendar days from the first one and happen at the same local
 * time of day, so across a DST change the hand-over instant moves by the
 * change in UTC and that shift is an hour shorter or longer. See
 * rules/oncall.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/oncall.h"

#define T_LIMIT    1099511627776.0 /* 2^40 s (~35,000 years): instants are clamped to +-T_LIMIT */
#define ADJUST_MAX 8               /* steps to correct the first guess of the shift (1 in practice) */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Instant of hand-over k (0 = the first), as a wall time normalised by
 * tz_instant: one in a DST gap happens when the gap ends. */
static double handover(const struct schedule *s, int64_t k)
{
	int64_t days = k * s->shift_days;

	return (double)tz_instant(s->tz, s->start_year, s->start_month, s->start_mday + (int)days,
				  s->handover_min / 60, s->handover_min % 60, 0);
}

/* The shift t falls in: the largest k with handover(k) <= t (< 0 before
 * the first hand-over). Guessed from t's local date, then corrected for
 * the part of the day before the hand-over time. */
static int64_t shift_at(const struct schedule *s, double t)
{
	struct tz_tm tm;
	int64_t dn, k;

	tz_local(s->tz, (int64_t)floor(t), &tm);
	dn = tz_days_from_civil(tm.year, tm.month, tm.mday) -
	     tz_days_from_civil(s->start_year, s->start_month, s->start_mday);
	k = floor_div(dn, s->shift_days);
	for (int i = 0; i < ADJUST_MAX && handover(s, k) > t; i++)
		k--;
	for (int i = 0; i < ADJUST_MAX && handover(s, k + 1) <= t; i++)
		k++;
	return k;
}

const char *schedule_oncall(const struct schedule *s, double t, double *until)
{
	double u = INFINITY;
	const char *who = NULL;
	int64_t k;

	if (s == NULL || isnan(t)) {
		if (until)
			*until = s == NULL ? INFINITY : t;
		return NULL;
	}
	t = t < -T_LIMIT ? -T_LIMIT : t > T_LIMIT ? T_LIMIT : t;
	/* The first override covering t wins until it ends or an override
	 * listed before it starts; without one, any override start may
	 * change the answer. */
	for (size_t i = 0; i < s->noverrides; i++) {
		const struct oncall_override *o = &s->overrides[i];
		if (o->start <= t && t < o->end) {
			if (until)
				*until = o->end < u ? o->end : u;
			return o->person;
		}
		if (o->start > t && o->start < u)
			u = o->start;
	}
	if (s->nrotation > 0 && s->tz != NULL && s->shift_days >= 1) {
		double h;
		k = shift_at(s, t);
		if (k < 0) {
			h = handover(s, 0);
		} else {
			who = s->rotation[k % (int64_t)s->nrotation];
			h = handover(s, k + 1);
		}
		if (h < u)
			u = h;
	}
	if (until)
		*until = u;
	return who;
}

const struct schedule *schedule_find(const struct schedule *v, size_t n, const char *name)
{
	if (v == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i].name != NULL && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

void schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nrotation; i++)
		free(s->rotation[i]);
	free(s->rotation);
	for (size_t i = 0; i < s->noverrides; i++) {
		free(s->overrides[i].person);
		free(s->overrides[i].where);
	}
	free(s->overrides);
	tz_free(s->tz);
	free(s->name);
	free(s->where);
	memset(s, 0, sizeof *s);
}
