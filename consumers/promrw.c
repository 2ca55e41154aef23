/* See consumers/promrw.h. The protobuf code is generated from
 * consumers/remote_write.proto into build/gen/ by protoc-c (Makefile). */
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/gen/remote_write.pb-c.h"
#include "consumers/decoder.h"
#include "consumers/promrw.h"

/* The first failure of a series, kept in st->first_bad. */
static void bad(struct promrw_stats *st, size_t i, const char *why, const char *what)
{
	if (st->bad_series++ == 0)
		snprintf(st->first_bad, sizeof st->first_bad, "timeseries[%zu]: %s%s%.64s%s", i, why,
			 what ? " \"" : "", what ? what : "", what ? "\"" : "");
}

static int clean(const char *s)
{
	return s != NULL && utf8_valid(s, strlen(s), NULL);
}

/* 1 if the series is usable; fills p's name and tags (borrowed from ts). */
static int series_point(const Vigil__Rw__TimeSeries *ts, size_t i, struct point *p, struct promrw_stats *st)
{
	memset(p, 0, sizeof *p);
	for (size_t k = 0; k < ts->n_labels; k++) {
		const Vigil__Rw__Label *l = ts->labels[k];
		if (!clean(l->name) || !clean(l->value)) {
			bad(st, i, "label name or value is not valid UTF-8", NULL);
			return 0;
		}
		if (l->name[0] == '\0') {
			bad(st, i, "empty label name", NULL);
			return 0;
		}
		for (size_t j = 0; j < k; j++)
			if (strcmp(ts->labels[j]->name, l->name) == 0) {
				bad(st, i, "repeated label", l->name);
				return 0;
			}
		if (strcmp(l->name, "__name__") == 0) {
			p->name = l->value;
			continue;
		}
		if (l->value[0] == '\0')
			continue; /* empty value = label absent */
		if (p->ntags == POINT_MAX_TAGS) {
			bad(st, i, "more than 32 labels", NULL);
			return 0;
		}
		p->tags[p->ntags++] = (struct tag){l->name, l->value};
	}
	if (p->name == NULL || p->name[0] == '\0') {
		bad(st, i, "no __name__ label", NULL);
		return 0;
	}
	if (strlen(p->name) > POINT_MAX_NAME) {
		bad(st, i, "metric name longer than 512 bytes", NULL);
		return 0;
	}
	return 1;
}

int promrw_decode(const void *body, size_t len, point_emit_fn emit, void *ctx, struct promrw_stats *st,
		  char *err, size_t errlen)
{
	size_t rawlen = 0;
	char *raw;
	Vigil__Rw__WriteRequest *wr;
	int rc = 0;

	memset(st, 0, sizeof *st);
	if (snappy_uncompressed_length(body, len, &rawlen) != SNAPPY_OK) {
		snprintf(err, errlen, "body is not snappy (block format) compressed");
		return -VIGIL_EINVAL;
	}
	if (rawlen > PROMRW_MAX_RAW) {
		snprintf(err, errlen, "uncompressed body of %zu bytes is over the limit of %u", rawlen,
			 PROMRW_MAX_RAW);
		return -VIGIL_EINVAL;
	}
	raw = malloc(rawlen ? rawlen : 1);
	if (raw == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	if (snappy_uncompress(body, len, raw, &rawlen) != SNAPPY_OK) {
		free(raw);
		snprintf(err, errlen, "body is not valid snappy (block format) data");
		return -VIGIL_EINVAL;
	}
	wr = vigil__rw__write_request__unpack(NULL, rawlen, (const uint8_t *)raw);
	free(raw);
	if (wr == NULL) {
		snprintf(err, errlen, "body is not a remote write 1.0 WriteRequest protobuf");
		return -VIGIL_EINVAL;
	}
	for (size_t i = 0; i < wr->n_timeseries && rc == 0; i++) {
		const Vigil__Rw__TimeSeries *ts = wr->timeseries[i];
		struct point p;
		st->series++;
		st->samples += ts->n_samples;
		if (!series_point(ts, i, &p, st))
			continue;
		for (size_t k = 0; k < ts->n_samples && rc == 0; k++) {
			double v = ts->samples[k]->value;
			uint64_t bits;
			memcpy(&bits, &v, sizeof bits);
			if (bits == PROMRW_STALE_BITS) {
				st->stale++;
				continue;
			}
			if (!isfinite(v)) {
				st->nonfinite++;
				continue;
			}
			p.value = v;
			p.ts = (double)ts->samples[k]->timestamp / 1000.0;
			rc = emit(ctx, &p);
			if (rc == 0)
				st->points++;
		}
	}
	vigil__rw__write_request__free_unpacked(wr, NULL);
	return rc;
}

int promrw_encode(size_t n, const size_t *nl, const char *const *const *names,
		  const char *const *const *values, const double *v, const int64_t *ms, char **out,
		  size_t *outlen)
{
	Vigil__Rw__WriteRequest wr = VIGIL__RW__WRITE_REQUEST__INIT;
	Vigil__Rw__TimeSeries *ts = calloc(n ? n : 1, sizeof *ts), **tsp = calloc(n ? n : 1, sizeof *tsp);
	Vigil__Rw__Sample *sm = calloc(n ? n : 1, sizeof *sm), **smp = calloc(n ? n : 1, sizeof *smp);
	size_t nlab = 0, at = 0, rawlen, clen;
	Vigil__Rw__Label *lb = NULL, **lbp = NULL;
	uint8_t *raw = NULL;
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		nlab += nl[i];
	lb = calloc(nlab ? nlab : 1, sizeof *lb);
	lbp = calloc(nlab ? nlab : 1, sizeof *lbp);
	if (ts == NULL || tsp == NULL || sm == NULL || smp == NULL || lb == NULL || lbp == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		vigil__rw__time_series__init(&ts[i]);
		vigil__rw__sample__init(&sm[i]);
		sm[i].value = v[i];
		sm[i].timestamp = ms[i];
		smp[i] = &sm[i];
		ts[i].samples = &smp[i];
		ts[i].n_samples = 1;
		ts[i].labels = &lbp[at];
		ts[i].n_labels = nl[i];
		for (size_t k = 0; k < nl[i]; k++, at++) {
			vigil__rw__label__init(&lb[at]);
			lb[at].name = (char *)names[i][k];
			lb[at].value = (char *)values[i][k];
			lbp[at] = &lb[at];
		}
		tsp[i] = &ts[i];
	}
	wr.timeseries = tsp;
	wr.n_timeseries = n;
	rawlen = vigil__rw__write_request__get_packed_size(&wr);
	raw = malloc(rawlen ? rawlen : 1);
	if (raw == NULL)
		goto out;
	vigil__rw__write_request__pack(&wr, raw);
	clen = snappy_max_compressed_length(rawlen);
	*out = malloc(clen);
	if (*out == NULL)
		goto out;
	if (snappy_compress((const char *)raw, rawlen, *out, &clen) != SNAPPY_OK) {
		free(*out);
		*out = NULL;
		goto out;
	}
	*outlen = clen;
	rc = 0;
out:
	free(raw);
	free(ts);
	free(tsp);
	free(sm);
	free(smp);
	free(lb);
	free(lbp);
	return rc;
}
