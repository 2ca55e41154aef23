/* The decoder registry (the only place that names the formats) and decoder
 * streams: record checks common to every format, then dispatch to one fixed
 * format or, in "auto" mode, to the first format whose sniff() accepts the
 * record. See consumers/decoder.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"

extern const struct decoder_type dec_json, dec_collectd, dec_nabcsv, dec_graphite, dec_influx, dec_telegraf,
	dec_otlp, dec_prometheus;

/* Registry order is the auto-detection order (the sniffs are disjoint; see
 * tests/test_decoders.c test_auto__sniff_is_unambiguous). */
static const struct decoder_type *const decoder_types[] = {
	&dec_json,     &dec_collectd, &dec_nabcsv,     &dec_graphite, &dec_influx,
	&dec_telegraf, &dec_otlp,     &dec_prometheus, NULL,
};

#define NTYPES (VIGIL_ARRAY_LEN(decoder_types) - 1)

struct decoder {
	const struct decoder_type *type; /* NULL: auto */
	size_t fixed;                    /* index of type when not auto */
	struct decoder_opts opts;        /* strings owned by the decoder */
	void *priv[NTYPES];              /* per-type state; auto creates it lazily */
	unsigned char created[NTYPES];
};

const struct decoder_type *decoder_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NTYPES; i++)
		if (strcmp(decoder_types[i]->name, name) == 0)
			return decoder_types[i];
	return NULL;
}

const struct decoder_type *const *decoder_all(void)
{
	return decoder_types;
}

/* Create the state of type index i if not done yet. */
static int ensure_priv(struct decoder *d, size_t i)
{
	int rc;

	if (d->created[i])
		return 0;
	if (decoder_types[i]->create != NULL) {
		rc = decoder_types[i]->create(&d->opts, &d->priv[i]);
		if (rc != 0)
			return rc;
	}
	d->created[i] = 1;
	return 0;
}

int decoder_open(const char *format, const struct decoder_opts *o, struct decoder **out, char *err,
		 size_t errlen)
{
	struct decoder *d = NULL;
	int rc = -VIGIL_ENOMEM;
	size_t idx = NTYPES;

	*out = NULL;
	if (format == NULL || strcmp(format, "auto") != 0) {
		for (size_t i = 0; i < NTYPES; i++)
			if (format != NULL && strcmp(decoder_types[i]->name, format) == 0)
				idx = i;
		if (idx == NTYPES) {
			char names[256] = "";
			size_t used = 0;
			for (size_t i = 0; i < NTYPES; i++) {
				int w = snprintf(names + used, sizeof names - used, "%s, ",
						 decoder_types[i]->name);
				if (w > 0 && (size_t)w < sizeof names - used)
					used += (size_t)w;
			}
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "unknown input format \"%.64s\" (known: %sauto)",
					 format != NULL ? format : "(null)", names);
			return -VIGIL_ENOENT;
		}
	}
	d = calloc(1, sizeof *d);
	if (d == NULL)
		goto fail;
	if (o != NULL)
		d->opts.collectd_raw = o->collectd_raw;
	if (o != NULL && o->default_series != NULL) {
		char *s = strdup(o->default_series);
		if (s == NULL)
			goto fail;
		d->opts.default_series = s;
	}
	if (idx < NTYPES) {
		d->type = decoder_types[idx];
		d->fixed = idx;
		rc = ensure_priv(d, idx);
		if (rc != 0)
			goto fail;
	}
	*out = d;
	return 0;
fail:
	decoder_close(d);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "cannot create decoder: %s", vigil_strerror(rc));
	return rc;
}

void decoder_close(struct decoder *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < NTYPES; i++)
		if (d->created[i] && decoder_types[i]->destroy != NULL)
			decoder_types[i]->destroy(d->priv[i]);
	free((char *)d->opts.default_series);
	free(d);
}

int decoder_feed(struct decoder *d, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		 size_t errlen)
{
	size_t bad = 0, i = 0, t;
	char scratch[1];
	int rc;

	if (err == NULL || errlen == 0) { /* decoders may then write freely */
		err = scratch;
		errlen = sizeof scratch;
	}
	err[0] = '\0';
	if (len > DECODER_MAX_RECORD) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "column %u: record longer than %u bytes",
				 DECODER_MAX_RECORD + 1, DECODER_MAX_RECORD);
		return -VIGIL_EINVAL;
	}
	if (len > 0 && rec == NULL)
		return -VIGIL_EINVAL;
	if (!utf8_valid(rec, len, &bad)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "column %zu: invalid UTF-8", bad);
		return -VIGIL_EINVAL;
	}
	/* Names and tags are handed out as C strings: a NUL byte would silently
	 * truncate them, so it is refused here for every format. */
	{
		const char *z = len ? memchr(rec, '\0', len) : NULL;
		if (z != NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "column %zu: NUL byte in record",
					 (size_t)(z - rec) + 1);
			return -VIGIL_EINVAL;
		}
	}
	/* A CRLF file leaves a '\r' at the end of each line. */
	if (len > 0 && rec[len - 1] == '\r')
		len--;
	while (i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r'))
		i++;
	if (i == len)
		return 0;
	if (rec[i] == '#') {
		if (d->type != NULL)
			return d->type->wants_comments
				       ? d->type->decode(d->priv[d->fixed], rec, len, emit, ctx, err, errlen)
				       : 0;
		if (len - i < 7 || memcmp(rec + i, "# TYPE ", 7) != 0)
			return 0;
		for (t = 0; t < NTYPES && !decoder_types[t]->wants_comments; t++)
			;
		if (t == NTYPES)
			return 0;
		goto dispatch; /* auto: a Prometheus type line feeds its stream state */
	}

	if (d->type != NULL)
		return d->type->decode(d->priv[d->fixed], rec, len, emit, ctx, err, errlen);
	for (t = 0; t < NTYPES; t++)
		if (decoder_types[t]->sniff(rec, len))
			break;
	if (t == NTYPES) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
				 "column 1: unrecognised record format (fits none of json, collectd, nabcsv, "
				 "graphite, influx, telegraf, otlp, prometheus)");
		return -VIGIL_EINVAL;
	}
dispatch:
	rc = ensure_priv(d, t);
	if (rc != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "column 1: cannot create %s decoder: %s",
				 decoder_types[t]->name, vigil_strerror(rc));
		return rc;
	}
	return decoder_types[t]->decode(d->priv[t], rec, len, emit, ctx, err, errlen);
}
