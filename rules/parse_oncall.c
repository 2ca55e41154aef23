/* The on-call parts of an owner map: named time intervals (Alertmanager's
 * shape) and on-call schedules. The format is described in rules/load.c;
 * evaluation lives in rules/timewin.c and rules/schedule.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/loader.h"
#include "rules/oncall.h"

static const char *const ti_keys[] = {"name", "time_intervals", NULL};
enum { TK_NAME, TK_SPECS, TK_N };

static const char *const spec_keys[] = {"times",    "weekdays", "days_of_month", "months", "years",
					"location", NULL};
enum { SK_TIMES, SK_WEEKDAYS, SK_DAYS, SK_MONTHS, SK_YEARS, SK_LOCATION, SK_N };

static const char *const times_keys[] = {"start_time", "end_time", NULL};
enum { MK_START, MK_END, MK_N };

static const char *const sched_keys[] = {"name",  "time_zone", "rotation", "shift",
					 "start", "overrides", NULL};
enum { SC_NAME, SC_TZ, SC_ROTATION, SC_SHIFT, SC_START, SC_OVERRIDES, SC_N };

static const char *const ovr_keys[] = {"person", "start", "end", NULL};
enum { OV_PERSON, OV_START, OV_END, OV_N };

static const char *const weekday_names[] = {"sunday",   "monday", "tuesday",  "wednesday",
					    "thursday", "friday", "saturday", NULL};
static const char *const month_names[] = {"january",  "february", "march",  "april",     "may",
					  "june",     "july",     "august", "september", "october",
					  "november", "december", NULL};

#define SHIFT_MAX_DAYS 3660 /* ten years */
#define MEMBER_MAX     32   /* bytes of one side of a range ("wednesday", "-31", "2026") */

/* How one list of ranges reads its members. */
struct range_kind {
	const char *what;         /* the key, for messages */
	const char *member;       /* "weekday", ... */
	const char *const *names; /* names[i] = base + i; NULL: numbers only */
	int base;
	int numbers;   /* numbers are accepted */
	int lo, hi;    /* valid values */
	int negatives; /* -hi..-1 too (days of the month); 0 is never valid */
	const char *expect;
};

static const struct range_kind k_weekdays = {.what = "weekdays",
					     .member = "weekday",
					     .names = weekday_names,
					     .lo = 0,
					     .hi = 6,
					     .expect = "sunday .. saturday"};
static const struct range_kind k_days = {.what = "days_of_month",
					 .member = "day of the month",
					 .numbers = 1,
					 .lo = 1,
					 .hi = 31,
					 .negatives = 1,
					 .expect = "1..31, or -31..-1 counted from the month's end"};
static const struct range_kind k_months = {.what = "months",
					   .member = "month",
					   .names = month_names,
					   .base = 1,
					   .numbers = 1,
					   .lo = 1,
					   .hi = 12,
					   .expect = "january .. december or 1..12"};
static const struct range_kind k_years = {
	.what = "years", .member = "year", .numbers = 1, .lo = 1, .hi = 9999, .expect = "1..9999"};

/* ---- small readers ---- */

/* n must be a non-empty YAML sequence. */
static int check_list(struct loader *L, yaml_node_t *n, const char *what)
{
	int rc = vy_expect(&L->y, n, YAML_SEQUENCE_NODE, what);

	if (rc == 0 && vy_len(n) == 0)
		return vy_fail(&L->y, n, "%s must not be empty (leave the key out instead)", what);
	return rc;
}

/* Digits with an optional leading '-', at most 6 of them. */
static int parse_int(const char *s, int *out)
{
	int neg = *s == '-', v = 0, k = 0;

	s += neg;
	for (; *s >= '0' && *s <= '9' && k < 7; s++, k++)
		v = v * 10 + (*s - '0');
	if (k == 0 || k > 6 || *s != '\0')
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* One side of a range: s[0..len) of the item's text `whole`. */
static int parse_member(struct loader *L, const yaml_node_t *n, const struct range_kind *k, const char *whole,
			const char *s, size_t len, int *out)
{
	char b[MEMBER_MAX];
	int v;

	if (len == 0 || len >= sizeof b)
		goto bad;
	memcpy(b, s, len);
	b[len] = '\0';
	for (size_t i = 0; k->names && k->names[i]; i++) {
		if (strcasecmp(b, k->names[i]) == 0) {
			*out = k->base + (int)i;
			return 0;
		}
	}
	if (!k->numbers || parse_int(b, &v) != 0)
		goto bad;
	if ((v >= k->lo && v <= k->hi) || (k->negatives && v < 0 && v >= -k->hi)) {
		*out = v;
		return 0;
	}
	return vy_fail(&L->y, n, "%s: '%s': %d is not a valid %s (%s)", k->what, whole, v, k->member,
		       k->expect);
bad:
	if (k->names && !k->numbers)
		return vy_fail(&L->y, n, "%s: unknown %s '%s' (%s)", k->what, k->member, whole, k->expect);
	return vy_fail(&L->y, n, "%s: '%s' is not a %s or a range of them (%s)", k->what, whole, k->member,
		       k->expect);
}

/* One item "a" or "a:b" of a list of ranges. */
static int parse_range(struct loader *L, yaml_node_t *n, const struct range_kind *k, struct int_range *r)
{
	const char *s, *colon;
	int rc;

	if ((rc = vy_text(&L->y, n, k->what, &s)) != 0)
		return rc;
	colon = strchr(s, ':');
	if ((rc = parse_member(L, n, k, s, s, colon ? (size_t)(colon - s) : strlen(s), &r->lo)) != 0)
		return rc;
	r->hi = r->lo;
	if (colon && (rc = parse_member(L, n, k, s, colon + 1, strlen(colon + 1), &r->hi)) != 0)
		return rc;
	if (!k->negatives) {
		if (r->lo > r->hi)
			return vy_fail(&L->y, n, "%s: '%s' ends before it starts", k->what, s);
		return 0;
	}
	/* days of the month, as Alertmanager checks them: a range that
	 * starts from the end ends from the end too, and none is empty in
	 * every month (judged on a 28-day month) */
	if (r->lo < 0 && r->hi > 0)
		return vy_fail(&L->y, n,
			       "%s: '%s': a range starting from the month's end must end from it too",
			       k->what, s);
	if ((r->lo < 0 ? 29 + r->lo : r->lo) > (r->hi < 0 ? 29 + r->hi : r->hi))
		return vy_fail(&L->y, n, "%s: '%s' ends before it starts", k->what, s);
	return 0;
}

static int parse_ranges(struct loader *L, yaml_node_t *list, const struct range_kind *k,
			struct int_range **out, size_t *nout)
{
	int rc;

	if ((rc = check_list(L, list, k->what)) != 0)
		return rc;
	if ((*out = calloc(vy_len(list), sizeof **out)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i);
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in %s", k->what);
		if ((rc = parse_range(L, n, k, &(*out)[i])) != 0)
			return rc;
		(*nout)++;
	}
	return 0;
}

/* "HH:MM" (H:MM too), 00:00..23:59, or 24:00 when end. */
static int parse_hhmm(struct loader *L, yaml_node_t *n, const char *what, int end, int *out)
{
	const char *s, *c;
	int h = 0, m = 0, rc;
	size_t nh;

	if ((rc = vy_text(&L->y, n, what, &s)) != 0)
		return rc;
	c = strchr(s, ':');
	nh = c ? (size_t)(c - s) : 0;
	if (c == NULL || nh < 1 || nh > 2 || strlen(c + 1) != 2)
		goto bad;
	for (size_t i = 0; i < nh; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		h = h * 10 + (s[i] - '0');
	}
	if (c[1] < '0' || c[1] > '5' || c[2] < '0' || c[2] > '9')
		goto bad;
	m = (c[1] - '0') * 10 + (c[2] - '0');
	if (h < 24 || (end && h == 24 && m == 0)) {
		*out = h * 60 + m;
		return 0;
	}
bad:
	return vy_fail(&L->y, n, "%s: '%s' is not a time of day (HH:MM, 00:00..%s)", what, s,
		       end ? "24:00" : "23:59");
}

static int parse_times(struct loader *L, yaml_node_t *list, struct time_spec *sp)
{
	int rc;

	if ((rc = check_list(L, list, "times")) != 0)
		return rc;
	if ((sp->times = calloc(vy_len(list), sizeof *sp->times)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i), *v[MK_N], *k[MK_N];
		struct int_range *r = &sp->times[i];
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in times");
		if ((rc = vy_map_fields(&L->y, n, "a times entry", times_keys, v, k)) != 0)
			return rc;
		if (v[MK_START] == NULL || v[MK_END] == NULL)
			return vy_fail(&L->y, n, "a times entry is missing required key '%s'",
				       v[MK_START] == NULL ? "start_time" : "end_time");
		if ((rc = parse_hhmm(L, v[MK_START], "start_time", 0, &r->lo)) != 0 ||
		    (rc = parse_hhmm(L, v[MK_END], "end_time", 1, &r->hi)) != 0)
			return rc;
		if (r->hi <= r->lo)
			return vy_fail(&L->y, v[MK_END],
				       "end_time %02d:%02d is not after start_time %02d:%02d (split a window "
				       "across midnight in two: to 24:00 and from 00:00)",
				       r->hi / 60, r->hi % 60, r->lo / 60, r->lo % 60);
		sp->ntimes++;
	}
	return 0;
}

/* A zone for `what` at node n (NULL: UTC) into *out. */
static int load_zone(struct loader *L, yaml_node_t *n, const char *what, struct tz **out)
{
	const char *name = "UTC";
	char msg[512];
	int rc;

	if (n != NULL && (rc = vy_text(&L->y, n, what, &name)) != 0)
		return rc;
	if ((rc = tz_load(name, out, msg, sizeof msg)) == -VIGIL_ENOMEM)
		return vy_nomem(&L->y);
	if (rc != 0)
		return vy_fail(&L->y, n, "%s: %s", what, msg);
	return 0;
}

/* ---- time intervals ---- */

static int parse_spec(struct loader *L, yaml_node_t *map, struct time_spec *sp)
{
	yaml_node_t *v[SK_N], *k[SK_N];
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "a time_intervals entry", spec_keys, v, k)) != 0)
		return rc;
	if ((sp->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[SK_TIMES] && (rc = parse_times(L, v[SK_TIMES], sp)) != 0)
		return rc;
	if (v[SK_WEEKDAYS] &&
	    (rc = parse_ranges(L, v[SK_WEEKDAYS], &k_weekdays, &sp->weekdays, &sp->nweekdays)))
		return rc;
	if (v[SK_DAYS] &&
	    (rc = parse_ranges(L, v[SK_DAYS], &k_days, &sp->days_of_month, &sp->ndays_of_month)))
		return rc;
	if (v[SK_MONTHS] && (rc = parse_ranges(L, v[SK_MONTHS], &k_months, &sp->months, &sp->nmonths)))
		return rc;
	if (v[SK_YEARS] && (rc = parse_ranges(L, v[SK_YEARS], &k_years, &sp->years, &sp->nyears)))
		return rc;
	return load_zone(L, v[SK_LOCATION], "location", &sp->loc);
}

static int parse_interval(struct loader *L, yaml_node_t *map, struct owner *o, struct time_interval *ti)
{
	yaml_node_t *v[TK_N], *k[TK_N], *sl;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "a time interval", ti_keys, v, k)) != 0)
		return rc;
	if ((ti->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[TK_NAME] == NULL)
		return vy_fail(&L->y, map, "time interval is missing required key 'name'");
	if ((rc = vy_dup(&L->y, v[TK_NAME], "name", 1, &ti->name)) != 0)
		return rc;
	for (size_t j = 0; j < (size_t)(ti - o->intervals); j++) /* the ones before ti */
		if (strcmp(o->intervals[j].name, ti->name) == 0)
			return vy_fail(&L->y, v[TK_NAME],
				       "duplicate time interval name '%s' (first defined at %s)", ti->name,
				       o->intervals[j].where);
	if ((sl = v[TK_SPECS]) == NULL)
		return vy_fail(&L->y, map, "time interval '%s' is missing required key 'time_intervals'",
			       ti->name);
	if ((rc = check_list(L, sl, "time_intervals")) != 0)
		return rc;
	if ((ti->specs = calloc(vy_len(sl), sizeof *ti->specs)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(sl); i++) {
		yaml_node_t *n = vy_item(&L->y, sl, i);
		if (n == NULL)
			return vy_fail(&L->y, sl, "malformed list in time_intervals");
		ti->nspecs++; /* counted first: a half-built spec is freed too */
		if ((rc = parse_spec(L, n, &ti->specs[i])) != 0)
			return rc;
	}
	return 0;
}

/* Make room for n more entries of size sz after *cnt in *arr. */
static int grow(struct loader *L, void **arr, size_t cnt, size_t n, size_t sz)
{
	void *p;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sz - cnt || (p = realloc(*arr, (cnt + n) * sz)) == NULL)
		return vy_nomem(&L->y);
	*arr = p;
	return 0;
}

int rules_parse_time_intervals(struct loader *L, yaml_node_t *list, struct owner *o)
{
	int rc;

	if ((rc = vy_expect(&L->y, list, YAML_SEQUENCE_NODE, "time_intervals")) != 0)
		return rc;
	if ((rc = grow(L, (void **)&o->intervals, o->nintervals, vy_len(list), sizeof *o->intervals)) != 0)
		return rc;
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i);
		struct time_interval *ti = &o->intervals[o->nintervals];
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in time_intervals");
		memset(ti, 0, sizeof *ti);
		o->nintervals++; /* counted first: a half-built interval is freed too */
		if ((rc = parse_interval(L, n, o, ti)) != 0)
			return rc;
	}
	return 0;
}

/* ---- schedules ---- */

/* "Nd" or "Nw", in days. */
static int parse_shift(struct loader *L, yaml_node_t *n, int *out)
{
	const char *s;
	unsigned long long v = 0;
	size_t len;
	int rc;

	if ((rc = vy_text(&L->y, n, "shift", &s)) != 0)
		return rc;
	len = strlen(s);
	if (len >= 2 && len <= 8 && (s[len - 1] == 'd' || s[len - 1] == 'w')) {
		char b[8];
		memcpy(b, s, len - 1);
		b[len - 1] = '\0';
		if (vy_parse_uint(b, &v) != 0)
			v = 0;
		else if (s[len - 1] == 'w')
			v *= 7;
	}
	if (v < 1 || v > SHIFT_MAX_DAYS)
		return vy_fail(&L->y, n,
			       "shift: '%s' is not a whole number of days or weeks from 1d to %dd (like "
			       "1d, 7d, 2w)",
			       s, SHIFT_MAX_DAYS);
	*out = (int)v;
	return 0;
}

struct local_time {
	int year, month, mday, minute;
};

/* "YYYY-MM-DD HH:MM" (or with 'T'), a valid local date and time of day. */
static int parse_local(struct loader *L, yaml_node_t *n, const char *what, struct local_time *lt)
{
	static const char shape[] = "dddd-dd-dd dd:dd";
	int f[5] = {0}, k = 0;
	const char *s;
	int rc;

	if ((rc = vy_text(&L->y, n, what, &s)) != 0)
		return rc;
	if (strlen(s) != sizeof shape - 1)
		goto bad;
	for (size_t i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				goto bad;
			f[k] = f[k] * 10 + (s[i] - '0');
		} else if (s[i] == shape[i] || (shape[i] == ' ' && s[i] == 'T')) {
			k++;
		} else {
			goto bad;
		}
	}
	if (f[0] < 1 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > tz_month_days(f[0], f[1]) || f[3] > 23 ||
	    f[4] > 59)
		goto bad;
	*lt = (struct local_time){f[0], f[1], f[2], f[3] * 60 + f[4]};
	return 0;
bad:
	return vy_fail(&L->y, n, "%s: '%s' is not a local date and time like 2026-01-05 09:00", what, s);
}

static double local_instant(const struct tz *z, const struct local_time *lt)
{
	return (double)tz_instant(z, lt->year, lt->month, lt->mday, lt->minute / 60, lt->minute % 60, 0);
}

static int parse_override(struct loader *L, yaml_node_t *map, const struct schedule *s,
			  struct oncall_override *ov)
{
	yaml_node_t *v[OV_N], *k[OV_N];
	struct local_time a, b;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "an override", ovr_keys, v, k)) != 0)
		return rc;
	if ((ov->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	for (int i = 0; i < OV_N; i++)
		if (v[i] == NULL)
			return vy_fail(&L->y, map, "override is missing required key '%s'", ovr_keys[i]);
	if ((rc = vy_dup(&L->y, v[OV_PERSON], "person", 1, &ov->person)) != 0 ||
	    (rc = parse_local(L, v[OV_START], "start", &a)) != 0 ||
	    (rc = parse_local(L, v[OV_END], "end", &b)) != 0)
		return rc;
	ov->start = local_instant(s->tz, &a);
	ov->end = local_instant(s->tz, &b);
	if (!(ov->end > ov->start))
		return vy_fail(&L->y, v[OV_END], "override end '%s' is not after its start '%s'",
			       (const char *)v[OV_END]->data.scalar.value,
			       (const char *)v[OV_START]->data.scalar.value);
	return 0;
}

static int parse_rotation(struct loader *L, yaml_node_t *list, struct schedule *s)
{
	int rc;

	if ((rc = vy_expect(&L->y, list, YAML_SEQUENCE_NODE, "rotation")) != 0)
		return rc;
	if (vy_len(list) == 0)
		return vy_fail(&L->y, list, "schedule '%s': rotation must name at least one person", s->name);
	if ((s->rotation = calloc(vy_len(list), sizeof *s->rotation)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i);
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in rotation");
		if ((rc = vy_dup(&L->y, n, "a rotation entry", 1, &s->rotation[i])) != 0)
			return rc;
		s->nrotation++;
	}
	return 0;
}

static int parse_schedule(struct loader *L, yaml_node_t *map, struct owner *o, struct schedule *s)
{
	static const int required[] = {SC_NAME, SC_TZ, SC_ROTATION, SC_START};
	yaml_node_t *v[SC_N], *k[SC_N], *ol;
	struct local_time st;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "a schedule", sched_keys, v, k)) != 0)
		return rc;
	if ((s->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(required); i++)
		if (v[required[i]] == NULL)
			return vy_fail(&L->y, map, "schedule is missing required key '%s'",
				       sched_keys[required[i]]);
	if ((rc = vy_dup(&L->y, v[SC_NAME], "name", 1, &s->name)) != 0)
		return rc;
	for (size_t j = 0; j < (size_t)(s - o->schedules); j++) /* the ones before s */
		if (strcmp(o->schedules[j].name, s->name) == 0)
			return vy_fail(&L->y, v[SC_NAME],
				       "duplicate schedule name '%s' (first defined at %s)", s->name,
				       o->schedules[j].where);
	if ((rc = load_zone(L, v[SC_TZ], "time_zone", &s->tz)) != 0 ||
	    (rc = parse_rotation(L, v[SC_ROTATION], s)) != 0)
		return rc;
	s->shift_days = 7;
	if (v[SC_SHIFT] && (rc = parse_shift(L, v[SC_SHIFT], &s->shift_days)) != 0)
		return rc;
	if ((rc = parse_local(L, v[SC_START], "start", &st)) != 0)
		return rc;
	s->start_year = st.year;
	s->start_month = st.month;
	s->start_mday = st.mday;
	s->handover_min = st.minute;
	if ((ol = v[SC_OVERRIDES]) == NULL)
		return 0;
	if ((rc = vy_expect(&L->y, ol, YAML_SEQUENCE_NODE, "overrides")) != 0)
		return rc;
	if (vy_len(ol) > 0 && (s->overrides = calloc(vy_len(ol), sizeof *s->overrides)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(ol); i++) {
		yaml_node_t *n = vy_item(&L->y, ol, i);
		if (n == NULL)
			return vy_fail(&L->y, ol, "malformed list in overrides");
		s->noverrides++; /* counted first: a half-built override is freed too */
		if ((rc = parse_override(L, n, s, &s->overrides[i])) != 0)
			return rc;
	}
	return 0;
}

int rules_parse_schedules(struct loader *L, yaml_node_t *list, struct owner *o)
{
	int rc;

	if ((rc = vy_expect(&L->y, list, YAML_SEQUENCE_NODE, "schedules")) != 0)
		return rc;
	if ((rc = grow(L, (void **)&o->schedules, o->nschedules, vy_len(list), sizeof *o->schedules)) != 0)
		return rc;
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i);
		struct schedule *s = &o->schedules[o->nschedules];
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in schedules");
		memset(s, 0, sizeof *s);
		o->nschedules++; /* counted first: a half-built schedule is freed too */
		if ((rc = parse_schedule(L, n, o, s)) != 0)
			return rc;
	}
	return 0;
}
