/* OpenTelemetry metrics in the OTLP JSON encoding (ExportMetricsServiceRequest
 * as the Collector's Kafka exporter writes it with encoding: otlp_json, and
 * OTLP/HTTP JSON), one request per record:
 *   {"resourceMetrics":[{"resource":{"attributes":[...]},
 *     "scopeMetrics":[{"scope":{"name":..,"attributes":[...]},"metrics":[...]}]}]}
 * Tags: the resource's attributes, then the scope's attributes and its name
 * as "otel.scope.name", then the data point's attributes; a later level
 * wins on a repeated key. String values as they are; int, double and bool as
 * text; arrays, kvlists and bytes as their compact JSON. Series names:
 *  - gauge: name;
 *  - sum: name; monotonic cumulative sums become per-second rates (first
 *    point emits nothing; a decrease is a reset), delta sums and
 *    non-monotonic cumulative sums (levels) are taken as they are;
 *  - histogram: name.count and name.sum (rates when cumulative, as they are
 *    when delta), and name.p50, name.p90, name.p99 estimated by linear
 *    interpolation within explicitBounds over the interval's bucket counts
 *    (for cumulative histograms, the increase since the previous point; an
 *    observation in the +Inf bucket counts as the last finite bound);
 *  - exponentialHistogram: name.count and name.sum only;
 *  - summary (cumulative by definition): name.count and name.sum as rates,
 *    and each quantileValues entry as name.p<100*quantile> (p50, p99, p99.9).
 * 64-bit integers may be JSON strings or numbers. Points with flags bit 0
 * (no recorded value) are skipped (a cumulative series' next rate spans the
 * gap); NaN and infinite
 * values are skipped. timeUnixNano is required. Errors name the path
 * (resourceMetrics[i].scopeMetrics[j].metrics[k] "name" dataPoints[n]).
 * All-or-nothing: a first pass validates the whole record (creating only
 * empty rate states), a second emits. At most RATE_MAX_SERIES cumulative
 * series per stream. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"

#define OTLP_MAX_BUCKETS 4096
#define TXT              "_vigil_text" /* where a non-string attribute's text is kept */

static const double pct[] = {0.5, 0.9, 0.99};
static const char *const pct_sfx[] = {".p50", ".p90", ".p99"};

struct otlp {
	struct rate_tab *rates;
};

struct walk {
	struct otlp *o;
	int emitting; /* 0: validation pass */
	point_emit_fn emit;
	void *ctx;
	char *err;
	size_t errlen;
	char where[160];
	const char *mname;
	struct tag tags[POINT_MAX_TAGS];
	int ntags;
	double ts;
};

static int otlp_sniff(const char *rec, size_t len)
{
	char key[24];
	return json_first_key(rec, len, key, sizeof key) == 0 && strcmp(key, "resourceMetrics") == 0;
}

static int otlp_create(const struct decoder_opts *o, void **priv)
{
	struct otlp *s = calloc(1, sizeof *s);

	(void)o;
	*priv = NULL;
	if (s == NULL || rate_tab_new(&s->rates) != 0) {
		free(s);
		return -VIGIL_ENOMEM;
	}
	*priv = s;
	return 0;
}

static void otlp_destroy(void *priv)
{
	struct otlp *s = priv;
	if (s == NULL)
		return;
	rate_tab_free(s->rates);
	free(s);
}

static int fail(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(w->err, w->errlen, "column 1: %s: ", w->where);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < w->errlen)
		vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -VIGIL_EINVAL;
}

/* The digits of s (1 to 20 of them, nothing else) as *x. 0 or -1. */
static int digits_u64(const char *s, uint64_t *x)
{
	*x = 0;
	if (*s == '\0' || strlen(s) > 20)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *x > (UINT64_MAX - 9) / 10)
			return -1;
		*x = *x * 10 + (uint64_t)(*s - '0');
	}
	return 0;
}

/* A 64-bit unsigned integer: a JSON string of digits or a non-negative
 * integral number. 0 or -1. */
static int get_u64(json_t *v, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	return json_is_string(v) ? digits_u64(json_string_value(v), out) : -1;
}

/* A signed 64-bit integer (asInt, intValue): a JSON string of digits with
 * an optional '-', or an integral JSON number; as a double. 0 or -1. */
static int get_int(json_t *v, double *out)
{
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		int neg = *s == '-';
		uint64_t x;
		if (digits_u64(s + neg, &x) != 0)
			return -1;
		*out = neg ? -(double)x : (double)x;
		return 0;
	}
	return -1;
}

/* A double: a JSON number, or protobuf JSON's "NaN", "Infinity",
 * "-Infinity" strings (returned as such). 0 or -1. */
static int get_double(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcmp(s, "NaN") == 0)
			*out = NAN;
		else if (strcmp(s, "Infinity") == 0)
			*out = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			*out = -INFINITY;
		else
			return -1;
		return 0;
	}
	return -1;
}

/* Add the attributes array to w->tags (a repeated key is replaced). */
static int add_attrs(struct walk *w, json_t *attrs, const char *what)
{
	if (attrs == NULL || json_is_null(attrs))
		return 0;
	if (!json_is_array(attrs))
		return fail(w, "%s attributes must be an array", what);
	for (size_t i = 0; i < json_array_size(attrs); i++) {
		json_t *a = json_array_get(attrs, i), *k = json_object_get(a, "key");
		json_t *v = json_object_get(a, "value"), *txt = json_object_get(a, TXT), *x;
		const char *val = NULL;
		int at;

		if (!json_is_string(k) || json_string_length(k) == 0)
			return fail(w, "%s attributes[%zu]: \"key\" must be a non-empty string", what, i);
		if (txt != NULL && !w->emitting) {
			return fail(w, "%s attributes[%zu]: unexpected member \"" TXT "\"", what, i);
		} else if (txt != NULL) { /* second pass: the text made in the first */
			val = json_string_value(txt);
		} else if (!json_is_object(v) || json_object_size(v) != 1) {
			return fail(w, "%s attribute \"%.64s\": \"value\" must be an object with one member",
				    what, json_string_value(k));
		} else if ((x = json_object_get(v, "stringValue")) != NULL && json_is_string(x)) {
			val = json_string_value(x);
		} else {
			char num[40];
			char *dump = NULL;
			double d;
			if ((x = json_object_get(v, "intValue")) != NULL) {
				if (get_int(x, &d) != 0)
					return fail(w, "%s attribute \"%.64s\": bad intValue", what,
						    json_string_value(k));
				if (json_is_integer(x))
					snprintf(num, sizeof num, "%lld", (long long)json_integer_value(x));
				else
					snprintf(num, sizeof num, "%s", json_string_value(x));
			} else if ((x = json_object_get(v, "doubleValue")) != NULL) {
				if (get_double(x, &d) != 0)
					return fail(w, "%s attribute \"%.64s\": bad doubleValue", what,
						    json_string_value(k));
				snprintf(num, sizeof num, "%.17g", d);
			} else if ((x = json_object_get(v, "boolValue")) != NULL) {
				if (!json_is_boolean(x))
					return fail(w, "%s attribute \"%.64s\": bad boolValue", what,
						    json_string_value(k));
				snprintf(num, sizeof num, "%s", json_is_true(x) ? "true" : "false");
			} else if ((x = json_object_get(v, "arrayValue")) != NULL ||
				   (x = json_object_get(v, "kvlistValue")) != NULL ||
				   (x = json_object_get(v, "bytesValue")) != NULL) {
				dump = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
				if (dump == NULL)
					return fail(w, "out of memory");
			} else {
				return fail(w, "%s attribute \"%.64s\": unknown value kind", what,
					    json_string_value(k));
			}
			if (json_object_set_new(a, TXT, json_string(dump != NULL ? dump : num)) != 0) {
				free(dump);
				return fail(w, "out of memory");
			}
			free(dump);
			val = json_string_value(json_object_get(a, TXT));
		}
		for (at = 0; at < w->ntags && strcmp(w->tags[at].key, json_string_value(k)) != 0; at++)
			;
		if (at == POINT_MAX_TAGS)
			return fail(w, "more than %d tags", POINT_MAX_TAGS);
		w->tags[at] = (struct tag){json_string_value(k), val};
		if (at == w->ntags)
			w->ntags++;
	}
	return 0;
}

/* One value of the current point: as is, or a rate when cum. */
static int put(struct walk *w, const char *suffix, double v, int cum)
{
	char name[POINT_MAX_NAME + 1];
	struct point p;
	int rc;

	if (strlen(w->mname) + strlen(suffix) > POINT_MAX_NAME)
		return fail(w, "series name longer than %d bytes", POINT_MAX_NAME);
	if (!isfinite(v))
		return 0;
	memset(&p, 0, sizeof p);
	if (cum) {
		struct rate_ent *e = rate_get(w->o->rates, w->mname, suffix, w->tags, w->ntags, &rc);
		if (e == NULL)
			return fail(w, "%s",
				    rc == -VIGIL_ELIMIT ? "too many cumulative series in this stream"
							: "out of memory");
		if (!w->emitting || !rate_step(e, v, w->ts, &v))
			return 0;
	} else if (!w->emitting) {
		return 0;
	}
	snprintf(name, sizeof name, "%s%s", w->mname, suffix);
	p.name = name;
	p.ts = w->ts;
	p.value = v;
	memcpy(p.tags, w->tags, (size_t)w->ntags * sizeof *p.tags);
	p.ntags = w->ntags;
	return w->emit(w->ctx, &p);
}

/* Quantile q of the bucket weights wt[0..nb) over bounds[0..nb-1). */
static int quantile(const double *wt, size_t nb, json_t *bounds, double q, double *out)
{
	double total = 0, cum = 0, rank;

	for (size_t i = 0; i < nb; i++)
		total += wt[i];
	if (!(total > 0) || nb < 2)
		return 0;
	rank = q * total;
	for (size_t i = 0; i < nb; i++) {
		if (wt[i] > 0 && cum + wt[i] >= rank) {
			double hi, lo;
			if (i == nb - 1) {
				*out = json_number_value(json_array_get(bounds, nb - 2));
				return 1;
			}
			hi = json_number_value(json_array_get(bounds, i));
			lo = i > 0 ? json_number_value(json_array_get(bounds, i - 1)) : (hi > 0 ? 0 : hi);
			*out = lo + (hi - lo) * ((rank - cum) / wt[i]);
			return 1;
		}
		cum += wt[i];
	}
	return 0;
}

static int histogram_point(struct walk *w, json_t *dp, int cum)
{
	json_t *bc = json_object_get(dp, "bucketCounts"), *eb = json_object_get(dp, "explicitBounds");
	uint64_t count, u;
	double sum = NAN, wt[OTLP_MAX_BUCKETS], q, prev = -INFINITY;
	size_t nb;
	int rc, all = 1;

	if (get_u64(json_object_get(dp, "count"), &count) != 0)
		return fail(w, "\"count\" must be an unsigned integer");
	if (json_object_get(dp, "sum") != NULL && get_double(json_object_get(dp, "sum"), &sum) != 0)
		return fail(w, "\"sum\" must be a number");
	if ((rc = put(w, ".count", (double)count, cum)) != 0)
		return rc;
	if ((rc = put(w, ".sum", sum, cum)) != 0)
		return rc;
	if (bc == NULL || json_is_null(bc))
		return 0;
	nb = json_array_size(bc);
	if (!json_is_array(bc) || nb > OTLP_MAX_BUCKETS)
		return fail(w, "\"bucketCounts\" must be an array of at most %d counts", OTLP_MAX_BUCKETS);
	if (nb == 0)
		return 0;
	if (!json_is_array(eb) || json_array_size(eb) + 1 != nb)
		return fail(w, "\"explicitBounds\" must have one entry fewer than \"bucketCounts\"");
	for (size_t i = 0; i + 1 < nb; i++) {
		json_t *b = json_array_get(eb, i);
		if (!json_is_number(b) || !(json_number_value(b) > prev))
			return fail(w, "explicitBounds[%zu] must be a number above the one before", i);
		prev = json_number_value(b);
	}
	for (size_t i = 0; i < nb; i++) {
		if (get_u64(json_array_get(bc, i), &u) != 0)
			return fail(w, "bucketCounts[%zu] must be an unsigned integer", i);
		wt[i] = (double)u;
		if (cum) {
			char sfx[48];
			struct rate_ent *e;
			snprintf(sfx, sizeof sfx,
				 "\x01"
				 "bucket%zu/%zu",
				 i, nb);
			e = rate_get(w->o->rates, w->mname, sfx, w->tags, w->ntags, &rc);
			if (e == NULL)
				return fail(w, "%s",
					    rc == -VIGIL_ELIMIT ? "too many cumulative series in this stream"
								: "out of memory");
			if (w->emitting && !rate_step(e, wt[i], w->ts, &wt[i]))
				all = 0;
		}
	}
	if (!w->emitting || !all)
		return 0;
	for (size_t k = 0; k < 3; k++)
		if (quantile(wt, nb, eb, pct[k], &q) && (rc = put(w, pct_sfx[k], q, 0)) != 0)
			return rc;
	return 0;
}

static int summary_point(struct walk *w, json_t *dp)
{
	json_t *qv = json_object_get(dp, "quantileValues");
	uint64_t count;
	double sum = NAN;
	int rc;

	if (get_u64(json_object_get(dp, "count"), &count) != 0)
		return fail(w, "\"count\" must be an unsigned integer");
	if (json_object_get(dp, "sum") != NULL && get_double(json_object_get(dp, "sum"), &sum) != 0)
		return fail(w, "\"sum\" must be a number");
	if ((rc = put(w, ".count", (double)count, 1)) != 0 || (rc = put(w, ".sum", sum, 1)) != 0)
		return rc;
	if (qv != NULL && !json_is_array(qv))
		return fail(w, "\"quantileValues\" must be an array");
	for (size_t i = 0; i < json_array_size(qv); i++) {
		json_t *e = json_array_get(qv, i);
		double qq = 0, v;
		char sfx[40];
		json_t *jq = json_object_get(e, "quantile");
		if ((jq != NULL && get_double(jq, &qq) != 0) || !(qq >= 0 && qq <= 1) ||
		    get_double(json_object_get(e, "value"), &v) != 0)
			return fail(w, "quantileValues[%zu] needs a quantile in [0,1] and a value", i);
		snprintf(sfx, sizeof sfx, ".p%.10g", qq * 100);
		if ((rc = put(w, sfx, v, 0)) != 0)
			return rc;
	}
	return 0;
}

/* One metric of the current scope; tags hold resource + scope. */
static int metric(struct walk *w, json_t *m, size_t wlen)
{
	static const char *const kinds[] = {"gauge", "sum", "histogram", "exponentialHistogram", "summary"};
	json_t *jn = json_object_get(m, "name"), *body = NULL, *dps;
	int kind = -1, cum = 0, base_ntags = w->ntags, rc;
	struct tag base[POINT_MAX_TAGS];

	if (!json_is_object(m))
		return fail(w, "expected an object");
	if (!json_is_string(jn) || json_string_length(jn) == 0)
		return fail(w, "\"name\" must be a non-empty string");
	w->mname = json_string_value(jn);
	snprintf(w->where + wlen, sizeof w->where - wlen, " \"%.40s\"", w->mname);
	for (int k = 0; k < 5; k++)
		if (json_object_get(m, kinds[k]) != NULL) {
			if (kind >= 0)
				return fail(w, "has both %s and %s", kinds[kind], kinds[k]);
			kind = k;
			body = json_object_get(m, kinds[k]);
		}
	if (kind < 0 || !json_is_object(body))
		return fail(w, "needs one of gauge, sum, histogram, exponentialHistogram, summary");
	if (kind == 1 || kind == 2 || kind == 3) {
		json_t *at = json_object_get(body, "aggregationTemporality");
		json_int_t t = json_is_integer(at) ? json_integer_value(at) : 0;
		if (t != 1 && t != 2)
			return fail(w, "aggregationTemporality must be 1 (delta) or 2 (cumulative)");
		cum = t == 2;
		if (kind == 1 && !json_is_true(json_object_get(body, "isMonotonic")))
			cum = 0; /* a cumulative non-monotonic sum is a level */
	}
	dps = json_object_get(body, "dataPoints");
	if (dps != NULL && !json_is_array(dps))
		return fail(w, "\"dataPoints\" must be an array");
	memcpy(base, w->tags, sizeof base);
	size_t mlen = strlen(w->where);
	for (size_t i = 0; i < json_array_size(dps); i++) {
		json_t *dp = json_array_get(dps, i), *jf;
		uint64_t ns;
		snprintf(w->where + mlen, sizeof w->where - mlen, " dataPoints[%zu]", i);
		memcpy(w->tags, base, sizeof base);
		w->ntags = base_ntags;
		if (!json_is_object(dp))
			return fail(w, "expected an object");
		if ((rc = add_attrs(w, json_object_get(dp, "attributes"), "point")) != 0)
			return rc;
		if (get_u64(json_object_get(dp, "timeUnixNano"), &ns) != 0 || ns == 0)
			return fail(w, "\"timeUnixNano\" must be a non-zero unsigned integer");
		w->ts = (double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9;
		jf = json_object_get(dp, "flags");
		if (jf != NULL && !json_is_integer(jf))
			return fail(w, "\"flags\" must be an integer");
		if (json_is_integer(jf) && (json_integer_value(jf) & 1)) {
			continue; /* no recorded value */
		}
		if (kind <= 1) {
			json_t *d = json_object_get(dp, "asDouble"), *n = json_object_get(dp, "asInt");
			double v;
			if (d != NULL && n == NULL) {
				if (get_double(d, &v) != 0)
					return fail(w, "\"asDouble\" must be a number");
			} else if (n != NULL && d == NULL) {
				if (get_int(n, &v) != 0)
					return fail(w, "\"asInt\" must be an integer");
			} else {
				return fail(w, "needs exactly one of \"asDouble\" and \"asInt\"");
			}
			if ((rc = put(w, "", v, cum)) != 0)
				return rc;
		} else if (kind == 2) {
			if ((rc = histogram_point(w, dp, cum)) != 0)
				return rc;
		} else if (kind == 3) {
			uint64_t count;
			double sum = NAN;
			if (get_u64(json_object_get(dp, "count"), &count) != 0)
				return fail(w, "\"count\" must be an unsigned integer");
			if (json_object_get(dp, "sum") != NULL &&
			    get_double(json_object_get(dp, "sum"), &sum) != 0)
				return fail(w, "\"sum\" must be a number");
			if ((rc = put(w, ".count", (double)count, cum)) != 0 ||
			    (rc = put(w, ".sum", sum, cum)) != 0)
				return rc;
		} else if ((rc = summary_point(w, dp)) != 0) {
			return rc;
		}
	}
	memcpy(w->tags, base, sizeof base);
	w->ntags = base_ntags;
	return 0;
}

static int walk_all(struct walk *w, json_t *root)
{
	json_t *rms = json_object_get(root, "resourceMetrics");
	int rc;

	snprintf(w->where, sizeof w->where, "request");
	if (!json_is_object(root) || !json_is_array(rms))
		return fail(w, "expected {\"resourceMetrics\": [...]}");
	for (size_t i = 0; i < json_array_size(rms); i++) {
		json_t *rm = json_array_get(rms, i), *sms = json_object_get(rm, "scopeMetrics");
		snprintf(w->where, sizeof w->where, "resourceMetrics[%zu]", i);
		w->ntags = 0;
		if (!json_is_object(rm))
			return fail(w, "expected an object");
		if ((rc = add_attrs(w, json_object_get(json_object_get(rm, "resource"), "attributes"),
				    "resource")) != 0)
			return rc;
		if (sms != NULL && !json_is_array(sms))
			return fail(w, "\"scopeMetrics\" must be an array");
		int rtags = w->ntags;
		struct tag rbase[POINT_MAX_TAGS];
		memcpy(rbase, w->tags, sizeof rbase);
		for (size_t j = 0; j < json_array_size(sms); j++) {
			json_t *sm = json_array_get(sms, j), *sc = json_object_get(sm, "scope");
			json_t *ms = json_object_get(sm, "metrics"), *sn = json_object_get(sc, "name");
			size_t wl;
			memcpy(w->tags, rbase, sizeof rbase);
			w->ntags = rtags;
			snprintf(w->where, sizeof w->where, "resourceMetrics[%zu].scopeMetrics[%zu]", i, j);
			if (!json_is_object(sm))
				return fail(w, "expected an object");
			if ((rc = add_attrs(w, json_object_get(sc, "attributes"), "scope")) != 0)
				return rc;
			if (json_is_string(sn) && json_string_length(sn) > 0) {
				int at;
				for (at = 0; at < w->ntags && strcmp(w->tags[at].key, "otel.scope.name") != 0;
				     at++)
					;
				if (at == POINT_MAX_TAGS)
					return fail(w, "more than %d tags", POINT_MAX_TAGS);
				w->tags[at] = (struct tag){"otel.scope.name", json_string_value(sn)};
				if (at == w->ntags)
					w->ntags++;
			}
			if (ms != NULL && !json_is_array(ms))
				return fail(w, "\"metrics\" must be an array");
			wl = strlen(w->where);
			for (size_t k = 0; k < json_array_size(ms); k++) {
				snprintf(w->where + wl, sizeof w->where - wl, ".metrics[%zu]", k);
				if ((rc = metric(w, json_array_get(ms, k), strlen(w->where))) != 0)
					return rc;
			}
		}
	}
	return 0;
}

static int otlp_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		       size_t errlen)
{
	struct walk *w;
	json_error_t jerr;
	json_t *root;
	int rc;

	if (priv == NULL) {
		snprintf(err, errlen, "column 1: otlp decoder has no state");
		return -VIGIL_EINVAL;
	}
	root = json_loadb(rec, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "column %d: %s", jerr.position > 0 ? jerr.position : 1, jerr.text);
		return -VIGIL_EINVAL;
	}
	w = calloc(1, sizeof *w);
	if (w == NULL) {
		json_decref(root);
		snprintf(err, errlen, "column 1: out of memory");
		return -VIGIL_ENOMEM;
	}
	*w = (struct walk){.o = priv, .emit = emit, .ctx = ctx, .err = err, .errlen = errlen};
	rc = walk_all(w, root);
	if (rc == 0) {
		w->emitting = 1;
		rc = walk_all(w, root);
	}
	free(w);
	json_decref(root);
	return rc;
}

const struct decoder_type dec_otlp = {
	.name = "otlp",
	.summary = "OpenTelemetry OTLP JSON metrics (gauges, sums, histograms, summaries)",
	.sniff = otlp_sniff,
	.create = otlp_create,
	.destroy = otlp_destroy,
	.decode = otlp_decode,
};
