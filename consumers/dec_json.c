/* JSON lines: one object per record,
 *   {"series":"api.latency","tags":{"app":"checkout"},"ts":1700000000.5,"value":12.3}
 * "name"/"metric" are synonyms of "series", "timestamp"/"time" of "ts". ts is
 * an epoch number (s, ms, us or ns, chosen by magnitude) or an RFC 3339
 * string; value is a number or a string holding one. Tag values may be
 * strings, numbers or booleans. Other top-level keys are ignored. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/timefmt.h"

#define NUM_TEXT 32 /* "%.17g" of any double fits */

static int json_sniff(const char *rec, size_t len)
{
	size_t i = 0;

	char key[32];

	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	if (i == len || rec[i] != '{')
		return 0;
	/* objects of the OTLP and Telegraf formats (their sniff) are not ours */
	if (json_first_key(rec, len, key, sizeof key) == 0 &&
	    (strcmp(key, "resourceMetrics") == 0 || strcmp(key, "fields") == 0 ||
	     strcmp(key, "metrics") == 0))
		return 0;
	return 1;
}

/* Best-effort 1-based column of "key" in the raw record, else 1. */
static size_t key_col(const char *rec, size_t len, const char *key)
{
	char pat[64];
	int w = snprintf(pat, sizeof pat, "\"%s\"", key);
	const char *at;

	if (w <= 0 || (size_t)w >= sizeof pat)
		return 1;
	at = memmem(rec, len, pat, (size_t)w);
	return at != NULL ? (size_t)(at - rec) + 1 : 1;
}

/* Shortest "%.Ng" that reads back as the same double. */
static void real_text(double v, char *out, size_t outlen)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, v);
		double back = strtod(out, NULL);
		if (memcmp(&back, &v, sizeof v) == 0)
			return;
	}
}

/* Find one of the synonym keys; error if more than one is present. */
static int get_one(json_t *root, const char *const *keys, const char *rec, size_t len, json_t **out,
		   const char **which, char *err, size_t errlen)
{
	*out = NULL;
	for (size_t i = 0; keys[i] != NULL; i++) {
		json_t *v = json_object_get(root, keys[i]);
		if (v == NULL)
			continue;
		if (*out != NULL) {
			snprintf(err, errlen, "column %zu: both \"%s\" and \"%s\" given",
				 key_col(rec, len, keys[i]), *which, keys[i]);
			return -VIGIL_EINVAL;
		}
		*out = v;
		*which = keys[i];
	}
	if (*out == NULL) {
		snprintf(err, errlen, "column 1: missing \"%s\"", keys[0]);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int json_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		       size_t errlen)
{
	static const char *const name_keys[] = {"series", "name", "metric", NULL};
	static const char *const ts_keys[] = {"ts", "timestamp", "time", NULL};
	static const char *const value_keys[] = {"value", NULL};
	char numtext[POINT_MAX_TAGS][NUM_TEXT];
	json_error_t jerr;
	json_t *root, *jname, *jts, *jval, *jtags;
	const char *which = NULL;
	struct point p;
	int rc = -VIGIL_EINVAL;

	(void)priv;
	root = json_loadb(rec, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL && json_error_code(&jerr) == json_error_numeric_overflow) /* integer > int64 */
		root = json_loadb(rec, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "column %d: %s", jerr.position > 0 ? jerr.position : 1, jerr.text);
		return -VIGIL_EINVAL;
	}
	memset(&p, 0, sizeof p);
	if (!json_is_object(root)) {
		snprintf(err, errlen, "column 1: expected a JSON object");
		goto out;
	}
	if (get_one(root, name_keys, rec, len, &jname, &which, err, errlen) != 0)
		goto out;
	if (!json_is_string(jname) || json_string_length(jname) == 0) {
		snprintf(err, errlen, "column %zu: \"%s\" must be a non-empty string",
			 key_col(rec, len, which), which);
		goto out;
	}
	if (json_string_length(jname) > POINT_MAX_NAME) {
		snprintf(err, errlen, "column %zu: series name longer than %d bytes",
			 key_col(rec, len, which), POINT_MAX_NAME);
		goto out;
	}
	if (strlen(json_string_value(jname)) != json_string_length(jname)) {
		snprintf(err, errlen, "column %zu: NUL in series name", key_col(rec, len, which));
		goto out;
	}
	p.name = json_string_value(jname);

	if (get_one(root, ts_keys, rec, len, &jts, &which, err, errlen) != 0)
		goto out;
	if (json_is_number(jts)) {
		p.ts = time_from_epoch_number(json_number_value(jts));
	} else if (json_is_string(jts)) {
		int bad_col = 1;
		const char *s = json_string_value(jts);
		size_t n = json_string_length(jts);
		double v;
		if (time_parse_text(s, n, &p.ts, &bad_col) != 0)
			p.ts = parse_finite(s, n, &v) == 0 ? time_from_epoch_number(v) : NAN;
	} else {
		p.ts = NAN;
	}
	if (!isfinite(p.ts)) {
		snprintf(err, errlen,
			 "column %zu: \"%s\" must be epoch seconds/ms/us/ns or an RFC 3339 string, in the "
			 "years 0001..9999",
			 key_col(rec, len, which), which);
		goto out;
	}

	if (get_one(root, value_keys, rec, len, &jval, &which, err, errlen) != 0)
		goto out;
	if (json_is_number(jval)) {
		p.value = json_number_value(jval);
	} else if (!json_is_string(jval) ||
		   parse_finite(json_string_value(jval), json_string_length(jval), &p.value) != 0) {
		p.value = NAN;
	}
	if (!isfinite(p.value)) {
		snprintf(err, errlen, "column %zu: \"value\" must be a finite number",
			 key_col(rec, len, "value"));
		goto out;
	}

	jtags = json_object_get(root, "tags");
	if (jtags != NULL && !json_is_null(jtags)) {
		const char *k;
		json_t *v;
		if (!json_is_object(jtags)) {
			snprintf(err, errlen, "column %zu: \"tags\" must be an object",
				 key_col(rec, len, "tags"));
			goto out;
		}
		if (json_object_size(jtags) > POINT_MAX_TAGS) {
			snprintf(err, errlen, "column %zu: more than %d tags", key_col(rec, len, "tags"),
				 POINT_MAX_TAGS);
			goto out;
		}
		json_object_foreach(jtags, k, v)
		{
			struct tag *t = &p.tags[p.ntags];
			if (k[0] == '\0') {
				snprintf(err, errlen, "column %zu: empty tag key", key_col(rec, len, "tags"));
				goto out;
			}
			t->key = k;
			if (json_is_string(v)) {
				if (strlen(json_string_value(v)) != json_string_length(v)) {
					snprintf(err, errlen, "column %zu: NUL in tag \"%s\"",
						 key_col(rec, len, k), k);
					goto out;
				}
				t->value = json_string_value(v);
			} else if (json_is_integer(v)) {
				snprintf(numtext[p.ntags], NUM_TEXT, "%" JSON_INTEGER_FORMAT,
					 json_integer_value(v));
				t->value = numtext[p.ntags];
			} else if (json_is_real(v)) {
				real_text(json_real_value(v), numtext[p.ntags], NUM_TEXT);
				t->value = numtext[p.ntags];
			} else if (json_is_boolean(v)) {
				t->value = json_is_true(v) ? "true" : "false";
			} else {
				snprintf(err, errlen,
					 "column %zu: tag \"%s\" must be a string, number or boolean",
					 key_col(rec, len, k), k);
				goto out;
			}
			p.ntags++;
		}
	}
	rc = emit(ctx, &p);
out:
	json_decref(root);
	return rc;
}

const struct decoder_type dec_json = {
	.name = "json",
	.summary = "JSON lines {\"series\":..,\"tags\":{..},\"ts\":..,\"value\":..}",
	.sniff = json_sniff,
	.decode = json_decode,
};
