/* Telegraf's JSON serializer (data_format = "json"): one metric per record
 *   {"fields":{"usage_idle":97.5,"state":"ok"},"name":"cpu",
 *    "tags":{"cpu":"cpu0","host":"h"},"timestamp":1700000000}
 * or, with use_batch_format = true, {"metrics":[<metric>, ...]}. Each
 * numeric field is a series "name.field" with the metric's tags; string
 * and boolean fields are not measurements and are skipped. timestamp is
 * epoch seconds by default (json_timestamp_units); ms, µs and ns are told
 * apart by magnitude as in the json format. Tag values that are not
 * strings, a missing name or timestamp, or a non-finite number reject the
 * record. All-or-nothing: the record is validated whole before any point is
 * emitted. Stateless. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/timefmt.h"

/* {"fields" (single metric, Go's sorted keys) or {"metrics" (batch). */
static int telegraf_sniff(const char *rec, size_t len)
{
	char key[16];
	return json_first_key(rec, len, key, sizeof key) == 0 &&
	       (strcmp(key, "fields") == 0 || strcmp(key, "metrics") == 0);
}

#define FAIL(...)                                                                                            \
	do {                                                                                                 \
		snprintf(err, errlen, __VA_ARGS__);                                                          \
		return -VIGIL_EINVAL;                                                                        \
	} while (0)

/* One metric object m (index k in a batch, or -1). emit NULL: validate only. */
static int one_metric(json_t *m, long k, point_emit_fn emit, void *ctx, char *err, size_t errlen)
{
	char where[48] = "", name[POINT_MAX_NAME + 1];
	json_t *jn = json_object_get(m, "name"), *jf = json_object_get(m, "fields");
	json_t *jt = json_object_get(m, "tags"), *jts = json_object_get(m, "timestamp"), *v;
	const char *key;
	struct point p;
	size_t nl;
	int rc;

	if (k >= 0)
		snprintf(where, sizeof where, "metrics[%ld]: ", k);
	if (!json_is_object(m))
		FAIL("column 1: %sexpected an object", where);
	if (!json_is_string(jn) || json_string_length(jn) == 0)
		FAIL("column 1: %s\"name\" must be a non-empty string", where);
	if (!json_is_object(jf))
		FAIL("column 1: %s\"fields\" must be an object", where);
	if (jt != NULL && !json_is_object(jt) && !json_is_null(jt))
		FAIL("column 1: %s\"tags\" must be an object", where);
	if (!json_is_number(jts))
		FAIL("column 1: %s\"timestamp\" must be a number (epoch s, ms, µs or ns)", where);
	memset(&p, 0, sizeof p);
	p.ts = time_from_epoch_number(json_number_value(jts));
	if (!isfinite(p.ts))
		FAIL("column 1: %s\"timestamp\" out of range", where);
	if (json_is_object(jt))
		json_object_foreach(jt, key, v)
		{
			if (!json_is_string(v))
				FAIL("column 1: %stag \"%.64s\" must be a string", where, key);
			if (p.ntags == POINT_MAX_TAGS)
				FAIL("column 1: %smore than %d tags", where, POINT_MAX_TAGS);
			p.tags[p.ntags++] = (struct tag){key, json_string_value(v)};
		}
	nl = json_string_length(jn);
	json_object_foreach(jf, key, v)
	{
		if (json_is_string(v) || json_is_boolean(v) || json_is_null(v))
			continue; /* not a measurement */
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			FAIL("column 1: %sfield \"%.64s\" must be a number, string or boolean", where, key);
		if (nl + 1 + strlen(key) > POINT_MAX_NAME)
			FAIL("column 1: %sseries name longer than %d bytes", where, POINT_MAX_NAME);
		if (emit == NULL)
			continue;
		snprintf(name, sizeof name, "%s.%s", json_string_value(jn), key);
		p.name = name;
		p.value = json_number_value(v);
		if ((rc = emit(ctx, &p)) != 0)
			return rc;
	}
	return 0;
}

static int telegraf_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
			   size_t errlen)
{
	json_error_t jerr;
	json_t *root, *batch;
	int rc = 0;

	(void)priv;
	root = json_loadb(rec, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "column %d: %s", jerr.position > 0 ? jerr.position : 1, jerr.text);
		return -VIGIL_EINVAL;
	}
	batch = json_object_get(root, "metrics");
	for (int pass = 0; pass < 2 && rc == 0; pass++) { /* validate, then emit */
		point_emit_fn e = pass == 0 ? NULL : emit;
		if (!json_is_object(root)) {
			snprintf(err, errlen, "column 1: expected a Telegraf JSON object");
			rc = -VIGIL_EINVAL;
		} else if (batch != NULL) {
			if (!json_is_array(batch)) {
				snprintf(err, errlen, "column 1: \"metrics\" must be an array");
				rc = -VIGIL_EINVAL;
			}
			for (size_t k = 0; rc == 0 && json_is_array(batch) && k < json_array_size(batch); k++)
				rc = one_metric(json_array_get(batch, k), (long)k, e, ctx, err, errlen);
		} else {
			rc = one_metric(root, -1, e, ctx, err, errlen);
		}
	}
	json_decref(root);
	return rc;
}

const struct decoder_type dec_telegraf = {
	.name = "telegraf",
	.summary = "Telegraf JSON serializer ({name, tags, fields, timestamp}; batch {metrics: [...]})",
	.sniff = telegraf_sniff,
	.decode = telegraf_decode,
};
