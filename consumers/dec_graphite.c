/* Graphite (carbon) plaintext protocol: "path value [timestamp]" separated by
 * spaces or tabs; timestamp in epoch seconds (may be fractional), "-1" or
 * missing means "now" as carbon does. Graphite 1.1 tagged paths
 * "name;tag=value;tag2=value2" become a name plus tags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/timefmt.h"
#include "consumers/decoder.h"

struct graphite {
	char *buf; /* scratch copy of the path, split in place */
	size_t cap;
};

struct span {
	size_t off, len;
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Split rec into at most max whitespace-separated fields; returns the count
 * found (may exceed max: counting continues, spans are not stored). */
static size_t split_fields(const char *rec, size_t len, struct span *f, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		while (i < len && is_ws(rec[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !is_ws(rec[i]))
			i++;
		if (n < max) {
			f[n].off = start;
			f[n].len = i - start;
		}
		n++;
	}
	return n;
}

static int graphite_sniff(const char *rec, size_t len)
{
	struct span f[3];
	size_t n = split_fields(rec, len, f, 3);
	double v;

	if (n < 2 || n > 3 || rec[f[0].off] == '{' || rec[f[0].off] == '[')
		return 0;
	/* name{label="v"} is a labelled Prometheus sample (its sniff) */
	if (memchr(rec + f[0].off, '{', f[0].len) != NULL)
		return 0;
	/* The value must read as a number, but a non-finite one (NaN, inf,
	 * 1e999) still counts as Graphite so that graphite_decode rejects it
	 * with an error that says what is wrong with the value. */
	if (parse_finite(rec + f[1].off, f[1].len, &v) != 0) {
		char tmp[64], *end;
		if (f[1].len == 0 || f[1].len >= sizeof tmp)
			return 0;
		memcpy(tmp, rec + f[1].off, f[1].len);
		tmp[f[1].len] = '\0';
		(void)strtod(tmp, &end);
		if (*end != '\0')
			return 0;
	}
	return n == 2 || parse_finite(rec + f[2].off, f[2].len, &v) == 0;
}

static int graphite_create(const struct decoder_opts *o, void **priv)
{
	(void)o;
	*priv = calloc(1, sizeof(struct graphite));
	return *priv != NULL ? 0 : -VIGIL_ENOMEM;
}

static void graphite_destroy(void *priv)
{
	struct graphite *g = priv;

	if (g == NULL)
		return;
	free(g->buf);
	free(g);
}

static int graphite_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
			   size_t errlen)
{
	struct graphite *g = priv;
	struct span f[3];
	struct point p;
	size_t n = split_fields(rec, len, f, 3);
	size_t name_len, i;
	char *path;

	if (g == NULL) {
		snprintf(err, errlen, "column 1: graphite decoder has no state");
		return -VIGIL_EINVAL;
	}
	if (n < 2) {
		snprintf(err, errlen, "column %zu: expected \"path value [timestamp]\"", len + 1);
		return -VIGIL_EINVAL;
	}
	if (n > 3) {
		/* locate the 4th field for the column */
		size_t k = 0, j = 0;
		for (;;) {
			while (is_ws(rec[j]))
				j++;
			if (++k == 4)
				break;
			while (!is_ws(rec[j]))
				j++;
		}
		snprintf(err, errlen, "column %zu: too many fields (want \"path value [timestamp]\")", j + 1);
		return -VIGIL_EINVAL;
	}
	memset(&p, 0, sizeof p);
	if (parse_finite(rec + f[1].off, f[1].len, &p.value) != 0) {
		snprintf(err, errlen, "column %zu: value is not a finite number", f[1].off + 1);
		return -VIGIL_EINVAL;
	}
	if (n == 3) {
		if (parse_finite(rec + f[2].off, f[2].len, &p.ts) != 0) {
			snprintf(err, errlen, "column %zu: timestamp is not a finite number", f[2].off + 1);
			return -VIGIL_EINVAL;
		}
		if (!(p.ts < -1.0) && !(p.ts > -1.0)) /* carbon: -1 means now */
			p.ts = clock_wall();
		else if (!(p.ts >= TIME_MIN && p.ts <= TIME_MAX)) {
			snprintf(err, errlen, "column %zu: timestamp %.6g is outside the years 0001..9999",
				 f[2].off + 1, p.ts);
			return -VIGIL_EINVAL;
		}
	} else {
		p.ts = clock_wall();
	}

	/* Copy the path so it can be split into NUL-terminated pieces. */
	if (g->cap < f[0].len + 1) {
		char *nb = realloc(g->buf, f[0].len + 1);
		if (nb == NULL) {
			snprintf(err, errlen, "column 1: out of memory");
			return -VIGIL_ENOMEM;
		}
		g->buf = nb;
		g->cap = f[0].len + 1;
	}
	path = g->buf;
	memcpy(path, rec + f[0].off, f[0].len);
	path[f[0].len] = '\0';
	{
		char *semi = memchr(path, ';', f[0].len);
		name_len = semi != NULL ? (size_t)(semi - path) : f[0].len;
	}
	if (name_len == 0) {
		snprintf(err, errlen, "column %zu: empty metric path", f[0].off + 1);
		return -VIGIL_EINVAL;
	}
	if (name_len > POINT_MAX_NAME) {
		snprintf(err, errlen, "column %zu: metric path longer than %d bytes", f[0].off + 1,
			 POINT_MAX_NAME);
		return -VIGIL_EINVAL;
	}
	i = name_len;
	while (i < f[0].len) { /* path[i] == ';' */
		size_t start = i + 1, end = start, eq;
		path[i] = '\0';
		while (end < f[0].len && path[end] != ';')
			end++;
		eq = start;
		while (eq < end && path[eq] != '=')
			eq++;
		if (eq == start || eq == end || eq + 1 == end) {
			snprintf(err, errlen, "column %zu: tag must be \"key=value\" with both non-empty",
				 f[0].off + start + 1);
			return -VIGIL_EINVAL;
		}
		if (p.ntags == POINT_MAX_TAGS) {
			snprintf(err, errlen, "column %zu: more than %d tags", f[0].off + start + 1,
				 POINT_MAX_TAGS);
			return -VIGIL_EINVAL;
		}
		path[eq] = '\0';
		p.tags[p.ntags].key = path + start;
		p.tags[p.ntags].value = path + eq + 1;
		p.ntags++;
		i = end;
	}
	path[name_len] = '\0';
	p.name = path;
	return emit(ctx, &p);
}

const struct decoder_type dec_graphite = {
	.name = "graphite",
	.summary = "Graphite plaintext \"path[;tag=v...] value [timestamp]\"",
	.sniff = graphite_sniff,
	.create = graphite_create,
	.destroy = graphite_destroy,
	.decode = graphite_decode,
};
