/* Shared helpers for the record decoders: strict UTF-8 validation and strict
 * finite-number parsing. See consumers/decoder.h. */
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF, no truncated sequences. *bad_col is the 1-based
 * column of the first byte of the offending sequence. */
int utf8_valid(const char *s, size_t n, size_t *bad_col)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t need;
		unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* > U+10FFFF */
		} else {
			goto bad; /* continuation byte, C0/C1, F5..FF */
		}
		if (n - i - 1 < need)
			goto bad;
		if (p[i + 1] < lo || p[i + 1] > hi)
			goto bad;
		for (size_t k = 2; k <= need; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				goto bad;
		i += need + 1;
		continue;
	bad:
		if (bad_col != NULL)
			*bad_col = i + 1;
		return 0;
	}
	return 1;
}

/* Exact powers of ten: every 10^k for k <= 22 is a double without rounding. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
				       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The common case without strtod: s (grammar already checked) has at most
 * 19 significant digits whose integer value m is below 2^53, and a decimal
 * exponent e with |e| <= 22. Then m and 10^|e| are both exact doubles, and
 * one IEEE multiplication or division rounds the exact quotient or product
 * once, to nearest: the same correctly rounded result strtod returns (Clinger's
 * fast path). Returns 1 with *out set, or 0 when the caller must use strtod. */
static int fast_decimal(const char *s, size_t n, double *out)
{
	size_t i = 0;
	int neg = 0, digits = 0;
	long frac = 0, e10 = 0;
	uint64_t m = 0;

	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (m == 0 && s[i] == '0')
			continue; /* leading zeros are not significant */
		if (++digits > 19)
			return 0;
		m = m * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			frac++;
			if (m == 0 && s[i] == '0')
				continue;
			if (++digits > 19)
				return 0;
			m = m * 10 + (uint64_t)(s[i] - '0');
		}
	}
	if (i < n) { /* exponent: [eE][+-]digits */
		int eneg = 0;
		i++;
		if (s[i] == '+' || s[i] == '-')
			eneg = s[i++] == '-';
		for (; i < n; i++) {
			if (e10 > 100000)
				return 0;
			e10 = e10 * 10 + (s[i] - '0');
		}
		if (eneg)
			e10 = -e10;
	}
	e10 -= frac;
	if (m > (1ull << 53) || e10 > 22 || e10 < -22)
		return 0;
	double v = (double)m;
	v = e10 >= 0 ? v * pow10_exact[e10] : v / pow10_exact[-e10];
	*out = neg ? -v : v;
	return 1;
}

/* Grammar: [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits]. No
 * whitespace, no hex, no inf/nan; the value must be finite after rounding
 * (1e999 is rejected, 1e-999 underflows to 0 and is accepted). */
int parse_finite(const char *s, size_t n, double *out)
{
	char small[128];
	char *buf = small, *end = NULL;
	size_t i = 0, mant = 0;
	double v;

	if (s == NULL || n == 0)
		return -VIGIL_EINVAL;
	if (s[i] == '+' || s[i] == '-')
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
		mant++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			mant++;
		}
	}
	if (mant == 0)
		return -VIGIL_EINVAL;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			exp++;
		}
		if (exp == 0)
			return -VIGIL_EINVAL;
	}
	if (i != n)
		return -VIGIL_EINVAL;
	if (fast_decimal(s, n, out))
		return 0;
	/* The grammar is checked; strtod needs a NUL-terminated copy. */
	if (n >= sizeof small) {
		buf = malloc(n + 1);
		if (buf == NULL)
			return -VIGIL_ENOMEM;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf + n)
		v = NAN;
	if (buf != small)
		free(buf);
	if (!isfinite(v))
		return -VIGIL_EINVAL;
	*out = v;
	return 0;
}

int json_first_key(const char *rec, size_t len, char *out, size_t n)
{
	size_t i = 0, k = 0;

	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	if (i == len || rec[i] != '{')
		return -1;
	for (i++; i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\n'); i++)
		;
	if (i == len || rec[i] != '"')
		return -1;
	for (i++; i < len && rec[i] != '"'; i++) {
		if (rec[i] == '\\' || k + 1 >= n)
			return -1;
		out[k++] = rec[i];
	}
	if (i == len)
		return -1;
	out[k] = '\0';
	return 0;
}
