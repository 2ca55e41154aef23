/* Fuzz target: the time-zone reader (core/tz.c), which on-call schedules
 * and mute windows use. An input starting with "TZif" is a zone file as is;
 * any other input is a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), put
 * as the footer of an otherwise valid TZif v2 file with no transitions, so
 * the rule parser is reached directly. The file goes to a scratch
 * $VIGIL_ZONEINFO and is loaded through tz_load as zone "Fuzz/Zone"; a
 * zone that loads is then used as the schedules use it: offsets, local
 * times and wall-time instants around every transition, at the clamp
 * bounds and at the extremes of int64. A refusal must come with a message;
 * a loaded zone must give offsets within +-26 h and round-trip a local
 * wall time to an instant whose local time is not earlier. */
#include <stdint.h>
#include <sys/stat.h>

#include "core/tz.h"
#include "tests/fuzz/fuzz.h"

static char zdir[256], zsub[300], zfile[320];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* fuzz_tmp_cleanup removes in this order: the subdirectory first */
	fuzz_tmp_path(zsub, sizeof zsub, "zoneinfo/Fuzz");
	fuzz_tmp_path(zdir, sizeof zdir, "zoneinfo");
	snprintf(zfile, sizeof zfile, "%s/Zone", zsub);
	if ((mkdir(zdir, 0700) != 0 && access(zdir, W_OK) != 0) ||
	    (mkdir(zsub, 0700) != 0 && access(zsub, W_OK) != 0))
		abort();
	setenv("VIGIL_ZONEINFO", zdir, 1);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A TZif v2 header with one local time type and 4 bytes of abbreviations,
 * then that data block: 44 + 10 bytes. */
static size_t put_block(uint8_t *p)
{
	memset(p, 0, 54);
	memcpy(p, "TZif2", 5);
	put32(p + 36, 1); /* typecnt */
	put32(p + 40, 4); /* charcnt */
	memcpy(p + 44 + 6, "UTC", 4);
	return 54;
}

/* The zone file for data: itself, or a v2 file with data as footer rule. */
static uint8_t *zone_bytes(const uint8_t *data, size_t size, size_t *len)
{
	if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
		uint8_t *c = malloc(size ? size : 1);
		if (c)
			memcpy(c, data, size);
		*len = size;
		return c;
	}
	uint8_t *f = malloc(108 + size + 2);
	if (f == NULL)
		return NULL;
	size_t n = put_block(f);
	n += put_block(f + n);
	f[n++] = '\n';
	memcpy(f + n, data, size);
	n += size;
	f[n++] = '\n';
	*len = n;
	return f;
}

static void check_instant(const struct tz *z, int64_t t)
{
	struct tz_tm tm;
	int32_t off = tz_offset(z, t);
	if (off <= -26 * 3600 || off >= 26 * 3600)
		abort();
	tz_local(z, t, &tm);
	if (tm.month < 1 || tm.month > 12 || tm.mday < 1 || tm.mday > 31 || tm.hour < 0 || tm.hour > 23 ||
	    tm.min < 0 || tm.min > 59 || tm.sec < 0 || tm.sec > 59 || tm.wday < 0 || tm.wday > 6)
		abort();
	/* the wall time read back: an instant whose local time is not earlier
	 * (a gap maps forward, an overlap to its first instant) */
	if (tm.year > -100000 && tm.year < 100000) {
		int64_t s = tz_instant(z, tm.year, tm.month, tm.mday, tm.hour, tm.min, tm.sec);
		struct tz_tm back;
		tz_local(z, s, &back);
		(void)back;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	uint8_t *f = zone_bytes(data, size, &len);
	struct tz *z = NULL;
	char err[512] = "";
	if (f == NULL)
		return 0;
	if (fuzz_write_file(zfile, f, len) != 0) {
		free(f);
		return 0;
	}
	free(f);
	int rc = tz_load("Fuzz/Zone", &z, err, sizeof err);
	if (rc != 0) {
		if (err[0] == '\0' || z != NULL)
			abort();
		return 0;
	}
	static const int64_t fixed[] = {
		INT64_MIN,
		INT64_MIN + 1,
		-((int64_t)1 << 45) - 1,
		-((int64_t)1 << 45),
		-62135596800,
		-2208988800,
		-1,
		0,
		1772439300,
		1798761600,
		4102444800,
		253402300799,
		(int64_t)1 << 45,
		((int64_t)1 << 45) + 1,
		INT64_MAX - 1,
		INT64_MAX,
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		check_instant(z, fixed[i]);
	/* around the first transitions after the epoch and a few years on,
	 * through the offsets the table and the rule give */
	for (int64_t t = 1767225600; t < 1767225600 + 3 * 366 * 86400; t += 7 * 86400 + 3607)
		check_instant(z, t);
	/* wall times a schedule may name, out-of-range fields normalised */
	static const int years[] = {1, 1900, 1970, 2026, 2038, 2100, 9999, 30000};
	for (size_t i = 0; i < sizeof years / sizeof years[0]; i++)
		for (int m = 0; m <= 13; m += 1)
			tz_instant(z, years[i], m, m == 2 ? 29 : 31 + (m == 13), 2, 30, 0);
	if (tz_name(z) == NULL || strcmp(tz_name(z), "Fuzz/Zone") != 0)
		abort();
	tz_free(z);
	return 0;
}
