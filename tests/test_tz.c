/* Tests for time zones (core/tz.c): the system's zone files (TZif v2/v3,
 * transition tables and POSIX footer rules far ahead), hand-made files for
 * v1 and every rule form, name checks, and tz_instant in DST gaps and
 * overlaps. Instants are built with the C library's timegm(), independent
 * of the code under test; the expected changes are the tz database's
 * (tzdata 2025b). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"
#include "tests/oncall_util.h"

/* tz_load fails with rc and a message containing want. */
static void expect_tz_error(const char *name, int rc, const char *want)
{
	struct tz *z = NULL;
	char err[512] = "";

	assert_int_equal(tz_load(name, &z, err, sizeof err), rc);
	assert_null(z);
	if (strstr(err, want) == NULL)
		fail_msg("tz_load(%s): want '%s' in '%s'", name, want, err);
}

static void expect_local(const struct tz *z, int64_t t, int y, int mo, int d, int h, int mi, int s, int wday,
			 int32_t off)
{
	struct tz_tm tm;

	tz_local(z, t, &tm);
	if (tm.year != y || tm.month != mo || tm.mday != d || tm.hour != h || tm.min != mi || tm.sec != s ||
	    tm.wday != wday || tm.offset != off)
		fail_msg("%s at %lld: got %04d-%02d-%02d %02d:%02d:%02d w%d %+d, want %04d-%02d-%02d "
			 "%02d:%02d:%02d w%d %+d",
			 tz_name(z), (long long)t, tm.year, tm.month, tm.mday, tm.hour, tm.min, tm.sec,
			 tm.wday, tm.offset, y, mo, d, h, mi, s, wday, off);
}

/* The offset changes from `before` to `after` exactly at instant t. */
static void expect_change(const struct tz *z, int64_t t, int32_t before, int32_t after)
{
	assert_int_equal(tz_offset(z, t - 1), before);
	assert_int_equal(tz_offset(z, t), after);
}

/* ---- zones from the system's files ---- */

static void test_tz__utc_without_files(void **state)
{
	char dir[128];
	struct tz *z;

	(void)state;
	snprintf(dir, sizeof dir, "%s/empty", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	setenv("VIGIL_ZONEINFO", dir, 1);
	z = zone("UTC");
	expect_local(z, 0, 1970, 1, 1, 0, 0, 0, 4, 0);
	expect_local(z, U(2026, 3, 29, 1, 30, 5), 2026, 3, 29, 1, 30, 5, 0, 0);
	expect_local(z, -1, 1969, 12, 31, 23, 59, 59, 3, 0);
	assert_int_equal(tz_instant(z, 2026, 3, 29, 2, 30, 0), U(2026, 3, 29, 2, 30, 0));
	tz_free(z);
	z = zone("Etc/UTC");
	assert_int_equal(tz_offset(z, U(2090, 7, 1, 0, 0, 0)), 0);
	tz_free(z);
	expect_tz_error("Europe/Berlin", -VIGIL_EINVAL, "unknown time zone 'Europe/Berlin'");
	unsetenv("VIGIL_ZONEINFO");
}

static void test_tz__bad_names(void **state)
{
	(void)state;
	expect_tz_error("Mars/Olympus_Mons", -VIGIL_EINVAL, "unknown time zone 'Mars/Olympus_Mons'");
	expect_tz_error("Europe", -VIGIL_EINVAL, "unknown time zone 'Europe'"); /* a directory */
	expect_tz_error("../etc/passwd", -VIGIL_EINVAL,
			"invalid time zone name '../etc/passwd': must not "
			"contain '..'");
	expect_tz_error("Europe/../../etc/passwd", -VIGIL_EINVAL, "must not contain '..'");
	expect_tz_error("/etc/localtime", -VIGIL_EINVAL, "must be a relative path");
	expect_tz_error("Europe/Ber lin", -VIGIL_EINVAL, "may hold only letters");
	expect_tz_error("Europe/.Berlin", -VIGIL_EINVAL, "may hold only letters");
	expect_tz_error("Europe//Berlin", -VIGIL_EINVAL, "empty path component");
	expect_tz_error("Europe/", -VIGIL_EINVAL, "empty path component");
	expect_tz_error("", -VIGIL_EINVAL, "is empty");
}

static void test_tz__berlin(void **state)
{
	struct tz *z = zone("Europe/Berlin");

	(void)state;
	/* 2026 from the transition table: last Sundays of March and October, 01:00 UTC */
	expect_change(z, U(2026, 3, 29, 1, 0, 0), 3600, 7200);
	expect_change(z, U(2026, 10, 25, 1, 0, 0), 7200, 3600);
	expect_local(z, U(2026, 3, 29, 0, 59, 59), 2026, 3, 29, 1, 59, 59, 0, 3600);
	expect_local(z, U(2026, 3, 29, 1, 0, 0), 2026, 3, 29, 3, 0, 0, 0, 7200);
	expect_local(z, U(2026, 10, 25, 0, 30, 0), 2026, 10, 25, 2, 30, 0, 0, 7200);
	expect_local(z, U(2026, 10, 25, 1, 30, 0), 2026, 10, 25, 2, 30, 0, 0, 3600);
	/* 2090 is past the table: the footer rule CET-1CEST,M3.5.0,M10.5.0/3 */
	expect_change(z, U(2090, 3, 26, 1, 0, 0), 3600, 7200);
	expect_change(z, U(2090, 10, 29, 1, 0, 0), 7200, 3600);
	expect_local(z, U(2090, 12, 31, 23, 0, 0), 2091, 1, 1, 0, 0, 0, 1, 3600);
	/* before the first transition: local mean time, +0:53:28 */
	assert_int_equal(tz_offset(z, U(1850, 6, 1, 0, 0, 0)), 3208);
	/* 1945: the Soviet-zone double summer time, +3 h */
	assert_int_equal(tz_offset(z, U(1945, 6, 1, 0, 0, 0)), 10800);
	tz_free(z);
}

static void test_tz__new_york(void **state)
{
	struct tz *z = zone("America/New_York");

	(void)state;
	expect_change(z, U(2026, 3, 8, 7, 0, 0), -18000, -14400);
	expect_change(z, U(2026, 11, 1, 6, 0, 0), -14400, -18000);
	expect_change(z, U(2090, 3, 12, 7, 0, 0), -18000, -14400); /* footer EST5EDT,M3.2.0,M11.1.0 */
	expect_change(z, U(2090, 11, 5, 6, 0, 0), -14400, -18000);
	expect_local(z, U(2026, 1, 1, 3, 0, 0), 2025, 12, 31, 22, 0, 0, 3, -18000);
	tz_free(z);
}

static void test_tz__lord_howe_half_hour(void **state)
{
	struct tz *z = zone("Australia/Lord_Howe");

	(void)state;
	/* +10:30 standard, +11 summer; a half-hour change in both directions */
	expect_change(z, U(2026, 4, 4, 15, 0, 0), 39600, 37800);
	expect_change(z, U(2026, 10, 3, 15, 30, 0), 37800, 39600);
	expect_local(z, U(2026, 10, 3, 15, 29, 59), 2026, 10, 4, 1, 59, 59, 0, 37800);
	expect_local(z, U(2026, 10, 3, 15, 30, 0), 2026, 10, 4, 2, 30, 0, 0, 39600);
	expect_change(z, U(2090, 4, 1, 15, 0, 0), 39600, 37800); /* footer, M4.1.0 / M10.1.0 */
	expect_change(z, U(2090, 9, 30, 15, 30, 0), 37800, 39600);
	/* southern summer spans the new year */
	assert_int_equal(tz_offset(z, U(2090, 1, 1, 0, 0, 0)), 39600);
	assert_int_equal(tz_offset(z, U(2090, 7, 1, 0, 0, 0)), 37800);
	tz_free(z);
}

static void test_tz__v3_negative_rule_time(void **state)
{
	struct tz *z = zone("America/Nuuk"); /* TZif3, footer <-02>2<-01>,M3.5.0/-1,M10.5.0/0 */

	(void)state;
	expect_change(z, U(2090, 3, 26, 1, 0, 0), -7200, -3600);
	expect_change(z, U(2090, 10, 29, 1, 0, 0), -3600, -7200);
	tz_free(z);
}

static void test_tz__instant_gaps_and_overlaps(void **state)
{
	struct tz *b = zone("Europe/Berlin"), *ny = zone("America/New_York"),
		  *lh = zone("Australia/Lord_Howe");

	(void)state;
	/* Berlin spring forward 2026-03-29 02:00 -> 03:00 */
	assert_int_equal(tz_instant(b, 2026, 3, 29, 1, 59, 59), U(2026, 3, 29, 0, 59, 59));
	assert_int_equal(tz_instant(b, 2026, 3, 29, 2, 0, 0), U(2026, 3, 29, 1, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 3, 29, 2, 30, 0), U(2026, 3, 29, 1, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 3, 29, 3, 0, 0), U(2026, 3, 29, 1, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 3, 29, 3, 0, 1), U(2026, 3, 29, 1, 0, 1));
	/* Berlin fall back 2026-10-25 03:00 -> 02:00: the earlier instant */
	assert_int_equal(tz_instant(b, 2026, 10, 25, 1, 59, 0), U(2026, 10, 24, 23, 59, 0));
	assert_int_equal(tz_instant(b, 2026, 10, 25, 2, 0, 0), U(2026, 10, 25, 0, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 10, 25, 2, 30, 0), U(2026, 10, 25, 0, 30, 0));
	assert_int_equal(tz_instant(b, 2026, 10, 25, 3, 0, 0), U(2026, 10, 25, 2, 0, 0));
	/* the same in 2090, from the footer rule */
	assert_int_equal(tz_instant(b, 2090, 3, 26, 2, 30, 0), U(2090, 3, 26, 1, 0, 0));
	assert_int_equal(tz_instant(b, 2090, 10, 29, 2, 30, 0), U(2090, 10, 29, 0, 30, 0));
	/* New York */
	assert_int_equal(tz_instant(ny, 2026, 3, 8, 2, 30, 0), U(2026, 3, 8, 7, 0, 0));
	assert_int_equal(tz_instant(ny, 2026, 11, 1, 1, 30, 0), U(2026, 11, 1, 5, 30, 0));
	/* Lord Howe: a 30-minute gap and overlap */
	assert_int_equal(tz_instant(lh, 2026, 10, 4, 2, 15, 0), U(2026, 10, 3, 15, 30, 0));
	assert_int_equal(tz_instant(lh, 2026, 10, 4, 2, 30, 0), U(2026, 10, 3, 15, 30, 0));
	assert_int_equal(tz_instant(lh, 2026, 4, 5, 1, 45, 0), U(2026, 4, 4, 14, 45, 0));
	assert_int_equal(tz_instant(lh, 2026, 4, 5, 2, 0, 0), U(2026, 4, 4, 15, 30, 0));
	/* out-of-range month and day are normalised, as mktime does */
	assert_int_equal(tz_instant(b, 2026, 1, 32, 12, 0, 0), U(2026, 2, 1, 11, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 2, 29, 12, 0, 0), U(2026, 3, 1, 11, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 14, 1, 12, 0, 0), U(2027, 2, 1, 11, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 1, 0, 12, 0, 0), U(2025, 12, 31, 11, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 0, 1, 12, 0, 0), U(2025, 12, 1, 11, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 3, 1 + 365, 12, 0, 0), U(2027, 3, 1, 11, 0, 0));
	assert_int_equal(tz_instant(b, 2026, 7, 1, 25, 0, 0), U(2026, 7, 1, 23, 0, 0));
	tz_free(b);
	tz_free(ny);
	tz_free(lh);
}

static void test_tz__calendar(void **state)
{
	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2026, 1, 1), 20454);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(tz_days_from_civil(2026, 13, 1), 20454 + 365);
	assert_int_equal(tz_month_days(2026, 2), 28);
	assert_int_equal(tz_month_days(2028, 2), 29);
	assert_int_equal(tz_month_days(2100, 2), 28);
	assert_int_equal(tz_month_days(2000, 2), 29);
	assert_int_equal(tz_month_days(2026, 4), 30);
	assert_int_equal(tz_month_days(2026, 12), 31);
}

/* ---- hand-made zone files ($VIGIL_ZONEINFO) ---- */

static void put32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	fwrite(b, 1, 4, f);
}

/* A TZif file: version ver (0 = v1 only), transitions tr[i] -> type idx[i],
 * types with offsets offs[], and for v2+ the footer. Leap-second records
 * when the name starts with "right". */
static void write_tzif(const char *name, char ver, size_t nt, const int64_t *tr, const uint8_t *idx,
		       size_t ntypes, const int32_t *offs, const char *footer)
{
	uint32_t nleap = strncmp(name, "right", 5) == 0;
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/zi/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "wb"));
	for (int pass = 0; pass < (ver ? 2 : 1); pass++) {
		fwrite("TZif", 1, 4, f);
		fputc(ver, f);
		for (int i = 0; i < 15; i++)
			fputc(0, f);
		put32(f, 0);                /* isutcnt */
		put32(f, 0);                /* isstdcnt */
		put32(f, nleap);            /* leapcnt */
		put32(f, (uint32_t)nt);     /* timecnt */
		put32(f, (uint32_t)ntypes); /* typecnt */
		put32(f, 4);                /* charcnt */
		for (size_t i = 0; i < nt; i++) {
			if (pass == 1)
				put32(f, (uint32_t)((uint64_t)tr[i] >> 32));
			put32(f, (uint32_t)tr[i]);
		}
		if (nt > 0)
			fwrite(idx, 1, nt, f);
		for (size_t i = 0; i < ntypes; i++) {
			put32(f, (uint32_t)offs[i]);
			fputc(0, f); /* isdst */
			fputc(0, f); /* abbreviation index */
		}
		fwrite("ABC", 1, 4, f);
		for (uint32_t i = 0; i < nleap; i++) { /* 2017-01-01: 27 s */
			if (pass == 1)
				put32(f, 0);
			put32(f, 1483228827);
			put32(f, 27);
		}
	}
	if (ver)
		fprintf(f, "\n%s\n", footer);
	assert_int_equal(fclose(f), 0);
}

static void test_tz__crafted_files(void **state)
{
	static const int64_t tr[] = {1000000000, 2000000000};
	static const uint8_t idx[] = {1, 0};
	static const int32_t offs[] = {3600, -7200};
	static const int32_t one[] = {0};
	char dir[128];
	struct tz *z;

	(void)state;
	snprintf(dir, sizeof dir, "%s/zi", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	setenv("VIGIL_ZONEINFO", dir, 1);

	/* v1: 32-bit times, no footer: the last type holds for ever */
	write_tzif("V1", 0, 2, tr, idx, 2, offs, NULL);
	z = zone("V1");
	assert_int_equal(tz_offset(z, 999999999), 3600); /* type 0 before the first transition */
	expect_change(z, 1000000000, 3600, -7200);
	expect_change(z, 2000000000, -7200, 3600);
	assert_int_equal(tz_offset(z, U(2090, 1, 1, 0, 0, 0)), 3600);
	tz_free(z);

	/* v2 with a fixed-offset footer ("<+0330>-3:30") and no transitions */
	write_tzif("Fixed", '2', 0, NULL, NULL, 1, (const int32_t[]){12600}, "<+0330>-3:30");
	z = zone("Fixed");
	assert_int_equal(tz_offset(z, U(2090, 6, 1, 0, 0, 0)), 12600);
	assert_int_equal(tz_instant(z, 2026, 1, 1, 3, 30, 0), U(2026, 1, 1, 0, 0, 0));
	tz_free(z);

	/* Jn: day n of 365, February 29th never counted (J60 = March 1st) */
	write_tzif("Julian", '2', 0, NULL, NULL, 1, (const int32_t[]){3600}, "JJJ-1KKK,J60/2,J300/2");
	z = zone("Julian");
	expect_change(z, U(2028, 3, 1, 1, 0, 0), 3600, 7200);
	expect_change(z, U(2028, 10, 27, 0, 0, 0), 7200, 3600);
	expect_change(z, U(2027, 3, 1, 1, 0, 0), 3600, 7200);
	tz_free(z);

	/* n: zero-based, February 29th counted (59 = Feb 29 in a leap year) */
	write_tzif("Zero", '2', 0, NULL, NULL, 1, (const int32_t[]){3600}, "NNN-1MMM,59/2,299/2");
	z = zone("Zero");
	expect_change(z, U(2028, 2, 29, 1, 0, 0), 3600, 7200);
	expect_change(z, U(2028, 10, 26, 0, 0, 0), 7200, 3600);
	expect_change(z, U(2027, 3, 1, 1, 0, 0), 3600, 7200);
	tz_free(z);

	/* v3 extended hours: -167 and 167 (March 10th 2030 - 167 h = March 3rd 01:00) */
	write_tzif("Ext", '3', 0, NULL, NULL, 1, (const int32_t[]){-10800},
		   "AAA3BBB,M3.2.0/-167,M11.1.0/167");
	z = zone("Ext");
	expect_change(z, U(2030, 3, 3, 4, 0, 0), -10800, -7200);
	expect_change(z, U(2030, 11, 10, 1, 0, 0), -7200, -10800);
	tz_free(z);

	/* "DST all year": 0/0 to J365/25 (= the next January 1st, 00:00 standard) */
	write_tzif("Always", '3', 0, NULL, NULL, 1, (const int32_t[]){-18000}, "EST5EDT,0/0,J365/25");
	z = zone("Always");
	assert_int_equal(tz_offset(z, U(2030, 1, 1, 0, 0, 0)), -14400);
	assert_int_equal(tz_offset(z, U(2030, 1, 1, 5, 0, 0)), -14400);
	assert_int_equal(tz_offset(z, U(2030, 7, 1, 0, 0, 0)), -14400);
	assert_int_equal(tz_offset(z, U(2030, 12, 31, 23, 59, 59)), -14400);
	tz_free(z);

	/* broken files */
	write_tzif("NoRule", '2', 0, NULL, NULL, 1, one, "CET-1CEST");
	expect_tz_error("NoRule", -VIGIL_EINVAL, "is not a valid TZif file (bad footer rule)");
	write_tzif("BadDate", '2', 0, NULL, NULL, 1, one, "CET-1CEST,M13.5.0,M10.5.0/3");
	expect_tz_error("BadDate", -VIGIL_EINVAL, "bad footer rule");
	write_tzif("BadOrder", 0, 2, (const int64_t[]){5, 5}, (const uint8_t[]){0, 0}, 1, one, NULL);
	expect_tz_error("BadOrder", -VIGIL_EINVAL, "transitions out of order");
	write_tzif("BadIndex", 0, 1, tr, (const uint8_t[]){1}, 1, one, NULL);
	expect_tz_error("BadIndex", -VIGIL_EINVAL, "bad type index");
	write_tzif("rightUTC", '2', 0, NULL, NULL, 1, one, "UTC0");
	expect_tz_error("rightUTC", -VIGIL_EINVAL, "leap-second zones are not supported");
	{
		char path[256];
		write_tmp("zi/Text", "not a zone file\n", path, sizeof path);
		expect_tz_error("Text", -VIGIL_EINVAL, "is not a valid TZif file (no TZif header)");
		write_tmp("zi/Short", "TZif2\n", path, sizeof path);
		expect_tz_error("Short", -VIGIL_EINVAL, "is not a valid TZif file");
	}
	unsetenv("VIGIL_ZONEINFO");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_tz__utc_without_files, unset_zoneinfo),
		cmocka_unit_test(test_tz__bad_names),
		cmocka_unit_test(test_tz__berlin),
		cmocka_unit_test(test_tz__new_york),
		cmocka_unit_test(test_tz__lord_howe_half_hour),
		cmocka_unit_test(test_tz__v3_negative_rule_time),
		cmocka_unit_test(test_tz__instant_gaps_and_overlaps),
		cmocka_unit_test(test_tz__calendar),
		cmocka_unit_test_teardown(test_tz__crafted_files, unset_zoneinfo),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
