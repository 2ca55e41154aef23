/* NAB (Numenta Anomaly Benchmark) CSV: "timestamp,value" rows such as
 * "2014-04-01 00:00:00,12.5", optionally preceded by the header row
 * "timestamp,value". Rows carry no series name: it comes from
 * decoder_opts.default_series. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/timefmt.h"

#define NAB_HEADER "timestamp,value"

struct nab {
	char *series; /* owned copy of default_series, or NULL */
};

static int nab_sniff(const char *rec, size_t len)
{
	if (len == sizeof NAB_HEADER - 1 && memcmp(rec, NAB_HEADER, len) == 0)
		return 1;
	if (len < 5)
		return 0;
	for (size_t i = 0; i < 4; i++)
		if (rec[i] < '0' || rec[i] > '9')
			return 0;
	return rec[4] == '-';
}

static int nab_create(const struct decoder_opts *o, void **priv)
{
	struct nab *n = calloc(1, sizeof *n);

	*priv = NULL;
	if (n == NULL)
		goto fail;
	if (o != NULL && o->default_series != NULL && (n->series = strdup(o->default_series)) == NULL)
		goto fail;
	*priv = n;
	return 0;
fail:
	free(n);
	return -VIGIL_ENOMEM;
}

static void nab_destroy(void *priv)
{
	struct nab *n = priv;

	if (n == NULL)
		return;
	free(n->series);
	free(n);
}

static int nab_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		      size_t errlen)
{
	const struct nab *n = priv;
	struct point p;
	const char *comma;
	size_t tlen, slen;
	int bad_col = 1;

	if (len == sizeof NAB_HEADER - 1 && memcmp(rec, NAB_HEADER, len) == 0)
		return 0;
	if (n == NULL || n->series == NULL) {
		snprintf(err, errlen, "column 1: CSV rows carry no series name");
		return -VIGIL_EINVAL;
	}
	slen = strlen(n->series);
	if (slen == 0 || slen > POINT_MAX_NAME || !utf8_valid(n->series, slen, NULL)) {
		snprintf(err, errlen,
			 "column 1: bad series name for CSV rows (empty, over %d bytes or not UTF-8)",
			 POINT_MAX_NAME);
		return -VIGIL_EINVAL;
	}
	comma = memchr(rec, ',', len);
	if (comma == NULL) {
		snprintf(err, errlen, "column %zu: expected \"timestamp,value\"", len + 1);
		return -VIGIL_EINVAL;
	}
	tlen = (size_t)(comma - rec);
	memset(&p, 0, sizeof p);
	if (time_parse_text(rec, tlen, &p.ts, &bad_col) != 0) {
		snprintf(err, errlen, "column %d: bad timestamp (want YYYY-MM-DD HH:MM:SS)", bad_col);
		return -VIGIL_EINVAL;
	}
	if (memchr(comma + 1, ',', len - tlen - 1) != NULL) {
		size_t col = (size_t)((const char *)memchr(comma + 1, ',', len - tlen - 1) - rec) + 1;
		snprintf(err, errlen, "column %zu: too many columns (want timestamp,value)", col);
		return -VIGIL_EINVAL;
	}
	if (parse_finite(comma + 1, len - tlen - 1, &p.value) != 0) {
		snprintf(err, errlen, "column %zu: value is not a finite number", tlen + 2);
		return -VIGIL_EINVAL;
	}
	p.name = n->series;
	p.ntags = 0;
	return emit(ctx, &p);
}

const struct decoder_type dec_nabcsv = {
	.name = "nabcsv",
	.summary = "NAB CSV rows \"YYYY-MM-DD HH:MM:SS,value\"; series name from the file name",
	.sniff = nab_sniff,
	.create = nab_create,
	.destroy = nab_destroy,
	.decode = nab_decode,
};
