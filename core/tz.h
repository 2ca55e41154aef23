/* IANA time zones, read from the system's compiled zone files (TZif,
 * /usr/share/zoneinfo, Debian package tzdata) by vigil itself, so that
 * several zones can be used at once from any thread (setenv("TZ") +
 * localtime_r cannot). Used by mute windows and on-call schedules
 * (rules/oncall.h), where correctness across DST changes matters.
 *
 * A zone is its transition table (TZif v1 32-bit or v2+ 64-bit data) plus
 * the POSIX TZ footer rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3") for instants
 * after the last transition, so times decades ahead are right too.
 * @thread tz_load/tz_free: any; a loaded zone is immutable and may be read
 * from any thread. */
#ifndef CORE_TZ_H
#define CORE_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/vigil.h"

struct tz;

/* Load zone `name` ("Europe/Berlin", "UTC", "America/New_York") from
 * $VIGIL_ZONEINFO or /usr/share/zoneinfo. A name must be a relative path
 * without ".." components. "UTC" and "Etc/UTC" always work, even without
 * zone files. Returns 0 with *out owned by the caller (tz_free), or
 * -VIGIL_EINVAL (unknown zone, not a TZif file: err says which) /
 * -VIGIL_ENOMEM. */
int tz_load(const char *name, struct tz **out, char *err, size_t errlen);
void tz_free(struct tz *z);
const char *tz_name(const struct tz *z);

/* Seconds east of UTC in force at instant t (Unix seconds). */
int32_t tz_offset(const struct tz *z, int64_t t);

/* Broken-down local time of instant t. */
struct tz_tm {
	int year;  /* e.g. 2026 */
	int month; /* 1..12 */
	int mday;  /* 1..31 */
	int wday;  /* 0 = Sunday .. 6 = Saturday */
	int hour, min, sec;
	int32_t offset; /* seconds east of UTC */
};
void tz_local(const struct tz *z, int64_t t, struct tz_tm *out);

/* The instant of local wall time (year, month, mday, hour, min, sec) in z.
 * A wall time that does not exist (the gap of a spring-forward change) maps
 * to the instant the gap ends (02:30 on a 02:00->03:00 day = 03:00 local);
 * one that exists twice (fall-back overlap) maps to the first (earlier)
 * instant. month/mday may be out of range and are normalised (mday 32 of
 * January = February 1st), as mktime does. */
int64_t tz_instant(const struct tz *z, int year, int month, int mday, int hour, int min, int sec);

/* ---- calendar arithmetic (proleptic Gregorian, no zone; never fail) ---- */

/* Days from 1970-01-01 to (year, month, mday); month and mday may be out of
 * range and are normalised as in tz_instant (month 13 = January next year,
 * mday 0 = the previous month's last day). */
int64_t tz_days_from_civil(int64_t year, int month, int mday);
/* The number of days (28..31) of month 1..12 of year. */
int tz_month_days(int64_t year, int month);

#endif
