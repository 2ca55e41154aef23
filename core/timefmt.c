/* Timestamp parsing and formatting, see timefmt.h. Civil-date arithmetic uses
 * the days-from-civil method on the proleptic Gregorian calendar. */
#include "core/timefmt.h"

#include <math.h>
#include <stdio.h>

#include "core/vigil.h"

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long yy = (long long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned dd = doy - (153 * mp + 2) / 5 + 1;
	unsigned mm = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (mm <= 2));
	*m = (int)mm;
	*d = (int)dd;
}

double time_from_civil(int y, int mon, int d, int h, int mi, double s)
{
	return (double)days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400.0 + h * 3600.0 + mi * 60.0 + s;
}

static int digits(const char *s, size_t n, size_t at, size_t cnt, int *out)
{
	int v = 0;
	if (at + cnt > n)
		return -1;
	for (size_t i = 0; i < cnt; i++) {
		char c = s[at + i];
		if (c < '0' || c > '9')
			return (int)(at + i);
		v = v * 10 + (c - '0');
	}
	*out = v;
	return -2;
}

#define NEED_DIGITS(at, cnt, dst)                                                                            \
	do {                                                                                                 \
		int r_ = digits(s, n, (at), (cnt), (dst));                                                   \
		if (r_ != -2) {                                                                              \
			*bad_col = (r_ < 0 ? (int)n : r_) + 1;                                               \
			return -VIGIL_EINVAL;                                                                \
		}                                                                                            \
	} while (0)
#define NEED_CHAR(at, ok)                                                                                    \
	do {                                                                                                 \
		if ((at) >= n || !(ok)) {                                                                    \
			*bad_col = (int)((at) < n ? (at) : n) + 1;                                           \
			return -VIGIL_EINVAL;                                                                \
		}                                                                                            \
	} while (0)

int time_parse_text(const char *s, size_t n, double *out, int *bad_col)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0;
	double frac = 0.0, scale = 0.1;
	size_t i;
	int dummy;

	if (bad_col == NULL)
		bad_col = &dummy;
	NEED_DIGITS(0, 4, &y);
	NEED_CHAR(4, s[4] == '-');
	NEED_DIGITS(5, 2, &mo);
	NEED_CHAR(7, s[7] == '-');
	NEED_DIGITS(8, 2, &d);
	NEED_CHAR(10, s[10] == ' ' || s[10] == 'T' || s[10] == 't');
	NEED_DIGITS(11, 2, &h);
	NEED_CHAR(13, s[13] == ':');
	NEED_DIGITS(14, 2, &mi);
	NEED_CHAR(16, s[16] == ':');
	NEED_DIGITS(17, 2, &se);
	i = 19;
	if (i < n && s[i] == '.') {
		i++;
		NEED_CHAR(i, s[i] >= '0' && s[i] <= '9');
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			frac += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
	}
	if (mo < 1 || mo > 12) {
		*bad_col = 6;
		return -VIGIL_EINVAL;
	}
	if (d < 1 || d > 31) {
		*bad_col = 9;
		return -VIGIL_EINVAL;
	}
	if (h > 23 || mi > 59 || se > 60) {
		*bad_col = 12;
		return -VIGIL_EINVAL;
	}
	if (i < n) {
		if (s[i] == 'Z' || s[i] == 'z') {
			i++;
		} else if (s[i] == '+' || s[i] == '-') {
			int sign = s[i] == '-' ? -1 : 1;
			NEED_DIGITS(i + 1, 2, &oh);
			NEED_CHAR(i + 3, s[i + 3] == ':');
			NEED_DIGITS(i + 4, 2, &om);
			if (oh > 23 || om > 59) {
				*bad_col = (int)i + 2;
				return -VIGIL_EINVAL;
			}
			oh *= sign;
			om *= sign;
			i += 6;
		}
		if (i != n) {
			*bad_col = (int)i + 1;
			return -VIGIL_EINVAL;
		}
	}
	*out = time_from_civil(y, mo, d, h, mi, se + frac) - oh * 3600.0 - om * 60.0;
	return 0;
}

double time_from_epoch_number(double v)
{
	double a = fabs(v), t;
	if (a < 1e11)
		t = v;
	else if (a < 1e14)
		t = v / 1e3;
	else if (a < 1e17)
		t = v / 1e6;
	else
		t = v / 1e9;
	return t >= TIME_MIN && t <= TIME_MAX ? t : NAN;
}

/* ts is clamped to [TIME_MIN, TIME_MAX]: a formatter never overflows. */
static void split(double ts, int *y, int *mo, int *d, int *h, int *mi, int *s, int *ms)
{
	ts = isfinite(ts) ? fmin(fmax(ts, TIME_MIN), TIME_MAX) : TIME_MIN;
	double fl = floor(ts);
	long long secs = (long long)fl;
	long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	long long rem = secs - days * 86400;
	civil_from_days(days, y, mo, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
	*ms = (int)floor((ts - fl) * 1000.0 + 0.5);
	if (*ms >= 1000)
		*ms = 999;
}

void time_format_rfc3339(double ts, char *out, size_t outlen)
{
	int y, mo, d, h, mi, s, ms;
	if (!isfinite(ts)) {
		snprintf(out, outlen, "0001-01-01T00:00:00Z");
		return;
	}
	split(ts, &y, &mo, &d, &h, &mi, &s, &ms);
	if (ms)
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, ms);
	else
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
}

void time_format_nab(double ts, char *out, size_t outlen)
{
	int y, mo, d, h, mi, s, ms;
	split(ts, &y, &mo, &d, &h, &mi, &s, &ms);
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s);
}
