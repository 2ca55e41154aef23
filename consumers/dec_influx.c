/* InfluxDB line protocol as Telegraf writes it:
 *   measurement[,tag=v...] field=value[,field2=value2...] [timestamp_ns]
 * In measurement, tag keys, tag values and field keys a backslash escapes
 * ',', ' ' and '='; any other backslash is literal. Field values: float,
 * integer "12i", unsigned "12u", boolean (t/T/true/True/TRUE, f/...: 1/0) or a
 * double-quoted string (skipped). Each numeric field is one point named
 * "measurement.field" ("measurement" when the field key is "value") carrying
 * the line's tags. The timestamp is integer nanoseconds; when it is missing
 * the current time is used, as InfluxDB does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "consumers/decoder.h"

struct field {
	size_t key;     /* offset of the unescaped key in the scratch buffer */
	size_t key_len; /* bytes */
	double value;
};

struct influx {
	char *buf; /* scratch: unescaped names, NUL-terminated */
	size_t cap;
	struct field *fields; /* numeric fields of the current line */
	size_t fcap;
	char name[POINT_MAX_NAME + 1];
};

static int is_special(char c)
{
	return c == ',' || c == ' ' || c == '=';
}

/* Scan an identifier from *pos up to an unescaped character in stop (or the
 * end), appending its unescaped text and a NUL to buf at *used. */
static void scan_ident(const char *rec, size_t len, size_t *pos, const char *stop, char *buf, size_t *used)
{
	size_t i = *pos;

	while (i < len && strchr(stop, rec[i]) == NULL) {
		if (rec[i] == '\\' && i + 1 < len && is_special(rec[i + 1]))
			i++;
		buf[(*used)++] = rec[i++];
	}
	buf[(*used)++] = '\0';
	*pos = i;
}

static int influx_sniff(const char *rec, size_t len)
{
	size_t i = 0;

	if (len == 0 || rec[0] == '{' || rec[0] == '[' || rec[0] == ' ' || rec[0] == '\t')
		return 0;
	/* find the first unescaped space: the end of measurement and tags */
	while (i < len && rec[i] != ' ') {
		if (rec[i] == '\\' && i + 1 < len)
			i++;
		i++;
	}
	if (i == 0 || i >= len)
		return 0;
	return memchr(rec + i, '=', len - i) != NULL;
}

static int influx_create(const struct decoder_opts *o, void **priv)
{
	(void)o;
	*priv = calloc(1, sizeof(struct influx));
	return *priv != NULL ? 0 : -VIGIL_ENOMEM;
}

static void influx_destroy(void *priv)
{
	struct influx *x = priv;

	if (x == NULL)
		return;
	free(x->buf);
	free(x->fields);
	free(x);
}

/* Strict integer: [-]digits for signed, digits for unsigned; range-checked. */
static int parse_int(const char *s, size_t n, int is_unsigned, double *out)
{
	char tmp[32];
	char *end = NULL;
	size_t i = 0;

	if (n == 0 || n >= sizeof tmp)
		return -VIGIL_EINVAL;
	if (!is_unsigned && s[0] == '-')
		i++;
	if (i == n)
		return -VIGIL_EINVAL;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -VIGIL_EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	if (is_unsigned) {
		unsigned long long u = strtoull(tmp, &end, 10);
		if (errno != 0 || end != tmp + n)
			return -VIGIL_EINVAL;
		*out = (double)u;
	} else {
		long long v = strtoll(tmp, &end, 10);
		if (errno != 0 || end != tmp + n)
			return -VIGIL_EINVAL;
		*out = (double)v;
	}
	return 0;
}

static int is_word(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* Classify and convert an unquoted field value. */
static int field_value(const char *s, size_t n, double *out)
{
	if (is_word(s, n, "t") || is_word(s, n, "T") || is_word(s, n, "true") || is_word(s, n, "True") ||
	    is_word(s, n, "TRUE")) {
		*out = 1.0;
		return 0;
	}
	if (is_word(s, n, "f") || is_word(s, n, "F") || is_word(s, n, "false") || is_word(s, n, "False") ||
	    is_word(s, n, "FALSE")) {
		*out = 0.0;
		return 0;
	}
	if (n > 1 && s[n - 1] == 'i')
		return parse_int(s, n - 1, 0, out);
	if (n > 1 && s[n - 1] == 'u')
		return parse_int(s, n - 1, 1, out);
	return parse_finite(s, n, out);
}

static int influx_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
			 size_t errlen)
{
	struct influx *x = priv;
	struct point p;
	size_t pos = 0, used = 0, nf = 0, mlen;
	size_t tag_key[POINT_MAX_TAGS], tag_val[POINT_MAX_TAGS]; /* offsets in buf */
	const char *meas;

	if (x == NULL) {
		snprintf(err, errlen, "column 1: influx decoder has no state");
		return -VIGIL_EINVAL;
	}
	/* Unescaped text never exceeds the input; each piece adds one NUL and
	 * pieces are separated by at least one byte of input. */
	if (x->cap < 2 * len + 2) {
		char *nb = realloc(x->buf, 2 * len + 2);
		if (nb == NULL) {
			snprintf(err, errlen, "column 1: out of memory");
			return -VIGIL_ENOMEM;
		}
		x->buf = nb;
		x->cap = 2 * len + 2;
	}
	memset(&p, 0, sizeof p);

	/* measurement */
	scan_ident(rec, len, &pos, ", ", x->buf, &used);
	mlen = used - 1;
	if (mlen == 0) {
		snprintf(err, errlen, "column 1: empty measurement");
		return -VIGIL_EINVAL;
	}
	if (mlen > POINT_MAX_NAME) {
		snprintf(err, errlen, "column 1: measurement longer than %d bytes", POINT_MAX_NAME);
		return -VIGIL_EINVAL;
	}

	/* tag set */
	while (pos < len && rec[pos] == ',') {
		size_t kcol = pos + 2, k = used, v;
		pos++;
		scan_ident(rec, len, &pos, ",= ", x->buf, &used);
		if (used - k == 1) {
			snprintf(err, errlen, "column %zu: empty tag key", kcol);
			return -VIGIL_EINVAL;
		}
		if (pos >= len || rec[pos] != '=') {
			snprintf(err, errlen, "column %zu: tag needs \"key=value\"", pos + 1);
			return -VIGIL_EINVAL;
		}
		pos++;
		v = used;
		scan_ident(rec, len, &pos, ",= ", x->buf, &used);
		if (used - v == 1) {
			snprintf(err, errlen, "column %zu: empty tag value", pos + 1);
			return -VIGIL_EINVAL;
		}
		if (pos < len && rec[pos] == '=') {
			snprintf(err, errlen, "column %zu: unescaped '=' in tag value", pos + 1);
			return -VIGIL_EINVAL;
		}
		if (p.ntags == POINT_MAX_TAGS) {
			snprintf(err, errlen, "column %zu: more than %d tags", kcol, POINT_MAX_TAGS);
			return -VIGIL_EINVAL;
		}
		tag_key[p.ntags] = k;
		tag_val[p.ntags] = v;
		p.ntags++;
	}
	if (pos >= len || rec[pos] != ' ') {
		snprintf(err, errlen, "column %zu: missing field set", pos + 1);
		return -VIGIL_EINVAL;
	}
	while (pos < len && rec[pos] == ' ')
		pos++;

	/* field set */
	for (;;) {
		size_t kcol = pos + 1, k = used, vstart;
		double val = 0.0;
		int numeric = 1;

		scan_ident(rec, len, &pos, ",= ", x->buf, &used);
		if (used - k == 1) {
			snprintf(err, errlen, "column %zu: empty field key", kcol);
			return -VIGIL_EINVAL;
		}
		if (pos >= len || rec[pos] != '=') {
			snprintf(err, errlen, "column %zu: field needs \"key=value\"", pos + 1);
			return -VIGIL_EINVAL;
		}
		pos++;
		vstart = pos;
		if (pos < len && rec[pos] == '"') {
			pos++;
			while (pos < len && rec[pos] != '"') {
				if (rec[pos] == '\\' && pos + 1 < len)
					pos++;
				pos++;
			}
			if (pos >= len) {
				snprintf(err, errlen, "column %zu: unterminated string field", vstart + 1);
				return -VIGIL_EINVAL;
			}
			pos++;
			numeric = 0;
		} else {
			while (pos < len && rec[pos] != ',' && rec[pos] != ' ')
				pos++;
			if (field_value(rec + vstart, pos - vstart, &val) != 0) {
				snprintf(err, errlen,
					 "column %zu: field value is not a finite number, integer or boolean",
					 vstart + 1);
				return -VIGIL_EINVAL;
			}
		}
		if (numeric) {
			size_t klen = used - k - 1;
			int is_value = klen == 5 && memcmp(x->buf + k, "value", 5) == 0;
			if (!is_value && mlen + 1 + klen > POINT_MAX_NAME) {
				snprintf(err, errlen, "column %zu: series name longer than %d bytes", kcol,
					 POINT_MAX_NAME);
				return -VIGIL_EINVAL;
			}
			if (nf == x->fcap) {
				size_t ncap = x->fcap ? 2 * x->fcap : 16;
				struct field *nfp = realloc(x->fields, ncap * sizeof *nfp);
				if (nfp == NULL) {
					snprintf(err, errlen, "column %zu: out of memory", kcol);
					return -VIGIL_ENOMEM;
				}
				x->fields = nfp;
				x->fcap = ncap;
			}
			x->fields[nf].key = k;
			x->fields[nf].key_len = is_value ? 0 : klen;
			x->fields[nf].value = val;
			nf++;
		}
		if (pos < len && rec[pos] == ',') {
			pos++;
			continue;
		}
		if (pos < len && rec[pos] != ' ') {
			snprintf(err, errlen, "column %zu: unexpected character after field value", pos + 1);
			return -VIGIL_EINVAL;
		}
		break;
	}

	/* optional timestamp, then nothing but spaces */
	while (pos < len && rec[pos] == ' ')
		pos++;
	if (pos < len) {
		size_t tstart = pos, tend;
		double ns;
		while (pos < len && rec[pos] != ' ')
			pos++;
		tend = pos;
		while (pos < len && rec[pos] == ' ')
			pos++;
		if (pos < len) {
			snprintf(err, errlen, "column %zu: unexpected text after timestamp", pos + 1);
			return -VIGIL_EINVAL;
		}
		if (parse_int(rec + tstart, tend - tstart, 0, &ns) != 0) {
			snprintf(err, errlen, "column %zu: timestamp must be integer nanoseconds",
				 tstart + 1);
			return -VIGIL_EINVAL;
		}
		{
			/* split so the seconds part stays exact */
			char tmp[32];
			long long v;
			memcpy(tmp, rec + tstart, tend - tstart);
			tmp[tend - tstart] = '\0';
			v = strtoll(tmp, NULL, 10);
			p.ts = (double)(v / 1000000000LL) + (double)(v % 1000000000LL) / 1e9;
		}
	} else {
		p.ts = clock_wall();
	}

	/* Everything is valid: emit. */
	meas = x->buf;
	for (int t = 0; t < p.ntags; t++) {
		p.tags[t].key = x->buf + tag_key[t];
		p.tags[t].value = x->buf + tag_val[t];
	}
	for (size_t i = 0; i < nf; i++) {
		int rc;
		memcpy(x->name, meas, mlen);
		if (x->fields[i].key_len > 0) {
			x->name[mlen] = '.';
			memcpy(x->name + mlen + 1, x->buf + x->fields[i].key, x->fields[i].key_len);
			x->name[mlen + 1 + x->fields[i].key_len] = '\0';
		} else {
			x->name[mlen] = '\0';
		}
		p.name = x->name;
		p.value = x->fields[i].value;
		rc = emit(ctx, &p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

const struct decoder_type dec_influx = {
	.name = "influx",
	.summary = "InfluxDB line protocol \"measurement[,tag=v] field=v[,f2=v2] [ts_ns]\"",
	.sniff = influx_sniff,
	.create = influx_create,
	.destroy = influx_destroy,
	.decode = influx_decode,
};
