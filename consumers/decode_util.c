/* Shared helpers for the record decoders: strict UTF-8 validation and strict
 * finite-number parsing. See consumers/decoder.h. */
#include <errno.h>
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
