/* TEMPORARY stub until the calendar branch lands (replaced by its file). */
#include "rules/loader.h"

int rules_parse_time_intervals(struct loader *L, yaml_node_t *list, struct owner *o)
{
	(void)o;
	return vy_fail(&L->y, list, "time_intervals: not supported yet");
}

int rules_parse_schedules(struct loader *L, yaml_node_t *list, struct owner *o)
{
	(void)o;
	return vy_fail(&L->y, list, "schedules: not supported yet");
}

int time_interval_contains(const struct time_interval *ti, double t)
{
	(void)ti;
	(void)t;
	return 0;
}

const char *schedule_oncall(const struct schedule *s, double t, double *until)
{
	(void)s;
	(void)t;
	(void)until;
	return NULL;
}

const struct time_interval *time_interval_find(const struct time_interval *v, size_t n, const char *name)
{
	(void)v;
	(void)n;
	(void)name;
	return NULL;
}

const struct schedule *schedule_find(const struct schedule *v, size_t n, const char *name)
{
	(void)v;
	(void)n;
	(void)name;
	return NULL;
}
