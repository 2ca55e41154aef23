/* Helpers shared by the time-zone and on-call tests (tests/test_tz.c,
 * tests/test_oncall.c): UTC instants from the C library, zone loading and
 * temporary files. Include after <cmocka.h>; everything is static. */
#ifndef TESTS_ONCALL_UTIL_H
#define TESTS_ONCALL_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/tz.h"

/* Unix seconds of a UTC date and time. */
static inline int64_t U(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};

	return (int64_t)timegm(&tm);
}

/* Zone name, loaded or the test fails. */
static inline struct tz *zone(const char *name)
{
	struct tz *z = NULL;
	char err[512] = "";

	if (tz_load(name, &z, err, sizeof err) != 0)
		fail_msg("tz_load(%s): %s", name, err);
	assert_string_equal(tz_name(z), name);
	return z;
}

/* ---- temp files ---- */

static char tmpdir[64];

static inline int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_oncall.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	unsetenv("VIGIL_ZONEINFO");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Teardown of the tests that point $VIGIL_ZONEINFO elsewhere, so that a
 * failing one does not take the system's zones from the next tests. */
static inline int unset_zoneinfo(void **state)
{
	(void)state;
	return unsetenv("VIGIL_ZONEINFO");
}

static inline void write_tmp(const char *name, const char *text, char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

#endif
