/* Timestamps: vigil keeps time as double seconds since the Unix epoch (UTC).
 * Parsers for the textual forms shippers send, and an RFC 3339 formatter. */
#ifndef CORE_TIMEFMT_H
#define CORE_TIMEFMT_H

#include <stddef.h>

/* Parse "YYYY-MM-DD HH:MM:SS[.frac]" or RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"
 * (the space form without zone is UTC) from s[0..n). Returns 0 and *out, or
 * -VIGIL_EINVAL with *bad_col set to the 1-based column of the first bad char. */
int time_parse_text(const char *s, size_t n, double *out, int *bad_col);

/* The instants vigil represents: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
 * (what RFC 3339 text can say), in Unix seconds. */
#define TIME_MIN (-62135596800.0)
#define TIME_MAX 253402300799.0

/* Interpret a bare number as epoch time choosing the unit by magnitude:
 * < 1e11 seconds (up to the year 5138), < 1e14 milliseconds, < 1e17
 * microseconds, else nanoseconds. NaN when v is not finite or the instant
 * is outside [TIME_MIN, TIME_MAX]. */
double time_from_epoch_number(double v);

/* Seconds since epoch for a civil UTC date and time. Does not validate. */
double time_from_civil(int y, int mon, int d, int h, int mi, double s);

/* "2026-03-02T08:15:00Z" (or with .mmm when ts has a fraction) into out. */
void time_format_rfc3339(double ts, char *out, size_t outlen);
/* "2026-03-02 08:15:00", the NAB CSV form. */
void time_format_nab(double ts, char *out, size_t outlen);

#endif
