/* The alert event schema v1 as any producer may send it (alert.h,
 * alert_from_json_v1): everything vigil's own form carries, with most fields
 * optional and identity derived when absent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert.h"
#include "core/timefmt.h"

/* An optional string member: 0 (absent or null leaves *out NULL) or -1. */
static int opt_str(json_t *o, const char *key, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "alert: %s: expected a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* An optional time: a number of seconds (key_epoch) or an RFC 3339 string
 * (key); NAN when neither is there. */
static int opt_time(json_t *o, const char *key, const char *key_epoch, double *out, char *err, size_t errlen)
{
	json_t *n = json_object_get(o, key_epoch);
	const char *s;
	*out = NAN;
	if (n && !json_is_null(n)) {
		if (!json_is_number(n) || !isfinite(json_number_value(n))) {
			snprintf(err, errlen, "alert: %s: expected a number of seconds", key_epoch);
			return -1;
		}
		*out = json_number_value(n);
		return 0;
	}
	if (opt_str(o, key, &s, err, errlen) != 0)
		return -1;
	if (s == NULL || strcmp(s, "0001-01-01T00:00:00Z") == 0)
		return 0;
	int col = 0;
	if (time_parse_text(s, strlen(s), out, &col) != 0) {
		snprintf(err, errlen, "alert: %s: '%.40s' is not an RFC 3339 time (column %d)", key, s, col);
		return -1;
	}
	return 0;
}

static int opt_num(json_t *o, const char *key, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = NAN;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v)) {
		snprintf(err, errlen, "alert: why.%s: expected a number or null", key);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

int alert_json_labels(json_t *labels, struct alert_event *e, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	if (json_object_size(labels) > ALERT_MAX_LABELS) {
		snprintf(err, errlen, "alert: labels: more than %d labels", ALERT_MAX_LABELS);
		return -VIGIL_EINVAL;
	}
	json_object_foreach(labels, key, v)
	{
		if (!json_is_string(v)) {
			snprintf(err, errlen, "alert: labels.%.64s: expected a string", key);
			return -VIGIL_EINVAL;
		}
		e->labels[e->nlabels++] = (struct kv){key, json_string_value(v), NULL};
	}
	return 0;
}

int alert_check_identity(const struct alert_event *e, const char *fp, const char *ep, char *err,
			 size_t errlen)
{
	char want[17];
	alert_fingerprint(e, want);
	if (fp && strcmp(fp, want) != 0) {
		snprintf(err, errlen, "alert: fingerprint: '%.20s' does not match rule and series (want %s)",
			 fp, want);
		return -VIGIL_EINVAL;
	}
	alert_episode(e, want);
	if (ep && strcmp(ep, want) != 0) {
		snprintf(err, errlen,
			 "alert: episode: '%.20s' does not match fingerprint, start and position (want %s)",
			 ep, want);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

int alert_from_json_v1(json_t *j, struct alert_event *ev, char *scratch, size_t scratchlen, double now,
		       char *err, size_t errlen)
{
	struct alert_event e;
	const char *status, *schema, *fp, *ep, *severity;
	json_t *labels, *why;

	memset(&e, 0, sizeof e);
	if (!j || !json_is_object(j)) {
		snprintf(err, errlen, "alert: expected a JSON object");
		return -VIGIL_EINVAL;
	}
	if (opt_str(j, "schema", &schema, err, errlen) != 0)
		return -VIGIL_EINVAL;
	if (schema && strcmp(schema, ALERT_SCHEMA_V1) != 0) {
		snprintf(err, errlen, "alert: schema: '%.40s' is not %s", schema, ALERT_SCHEMA_V1);
		return -VIGIL_EINVAL;
	}
	if (opt_str(j, "status", &status, err, errlen) != 0)
		return -VIGIL_EINVAL;
	if (status && strcmp(status, "firing") == 0)
		e.status = ALERT_FIRING;
	else if (status && strcmp(status, "resolved") == 0)
		e.status = ALERT_RESOLVED;
	else {
		snprintf(err, errlen, "alert: status: want \"firing\" or \"resolved\"");
		return -VIGIL_EINVAL;
	}
	labels = json_object_get(j, "labels");
	if (labels && !json_is_object(labels) && !json_is_null(labels)) {
		snprintf(err, errlen, "alert: labels: expected an object of strings");
		return -VIGIL_EINVAL;
	}
	if (labels && json_is_object(labels) && alert_json_labels(labels, &e, err, errlen) != 0)
		return -VIGIL_EINVAL;
	if (opt_str(j, "rule", &e.rule, err, errlen) != 0 ||
	    opt_str(j, "owner", &e.owner, err, errlen) != 0 ||
	    opt_str(j, "series", &e.series, err, errlen) != 0 ||
	    opt_str(j, "name", &e.name, err, errlen) != 0 ||
	    opt_str(j, "summary", &e.summary, err, errlen) != 0 ||
	    opt_str(j, "runbook_url", &e.runbook_url, err, errlen) != 0 ||
	    opt_str(j, "action", &e.action, err, errlen) != 0 ||
	    opt_str(j, "severity", &severity, err, errlen) != 0 ||
	    opt_str(j, "fingerprint", &fp, err, errlen) != 0 || opt_str(j, "episode", &ep, err, errlen) != 0)
		return -VIGIL_EINVAL;
	for (size_t i = 0; i < e.nlabels; i++) {
		if (e.rule == NULL && strcmp(e.labels[i].key, "alertname") == 0)
			e.rule = e.labels[i].value;
		if (e.owner == NULL && strcmp(e.labels[i].key, "owner") == 0)
			e.owner = e.labels[i].value;
		if (e.name == NULL && strcmp(e.labels[i].key, "__name__") == 0)
			e.name = e.labels[i].value;
	}
	if (e.rule == NULL || e.rule[0] == '\0') {
		snprintf(err, errlen, "alert: rule: missing (give \"rule\" or labels.alertname)");
		return -VIGIL_EINVAL;
	}
	if (e.action == NULL)
		e.action = severity ? severity : "notify";
	if (strcmp(e.action, "log") != 0 && strcmp(e.action, "notify") != 0 &&
	    strcmp(e.action, "page") != 0) {
		snprintf(err, errlen, "alert: action: '%.20s' is not log, notify or page", e.action);
		return -VIGIL_EINVAL;
	}
	if (e.series == NULL) {
		/* name{k=v,...} from the labels, sorted by key (rule and owner
		 * labels excluded: they are not the series) */
		struct kv sorted[ALERT_MAX_LABELS];
		size_t n = 0, at = 0;
		for (size_t i = 0; i < e.nlabels; i++)
			if (strcmp(e.labels[i].key, "alertname") != 0 &&
			    strcmp(e.labels[i].key, "owner") != 0 && strcmp(e.labels[i].key, "__name__") != 0)
				sorted[n++] = e.labels[i];
		qsort(sorted, n, sizeof sorted[0], cmp_kv);
		int w = snprintf(scratch, scratchlen, "%s{", e.name ? e.name : e.rule);
		for (size_t i = 0; w >= 0 && (size_t)w < scratchlen && i < n; i++) {
			at = (size_t)w;
			w += snprintf(scratch + at, scratchlen - at, "%s%s=%s", i ? "," : "", sorted[i].key,
				      sorted[i].value);
		}
		if (w < 0 || (size_t)w + 2 > scratchlen) {
			snprintf(err, errlen, "alert: labels: the series they name is too long");
			return -VIGIL_EINVAL;
		}
		snprintf(scratch + w, scratchlen - (size_t)w, "}");
		e.series = scratch;
	}
	if (e.name == NULL)
		e.name = e.series;
	if (opt_time(j, "startsAt", "started_epoch", &e.started, err, errlen) != 0 ||
	    opt_time(j, "ts", "ts_epoch", &e.ts, err, errlen) != 0)
		return -VIGIL_EINVAL;
	double ends;
	if (opt_time(j, "endsAt", "ends_epoch", &ends, err, errlen) != 0)
		return -VIGIL_EINVAL;
	if (isnan(e.started)) {
		snprintf(err, errlen, "alert: startsAt: missing (the start identifies the episode)");
		return -VIGIL_EINVAL;
	}
	if (isnan(e.ts))
		e.ts = e.status == ALERT_RESOLVED ? (isnan(ends) ? now : ends) : e.started;
	why = json_object_get(j, "why");
	e.value = e.expected = e.lower = e.upper = e.score = e.threshold = NAN;
	if (why && json_is_object(why)) {
		if (opt_num(why, "observed", &e.value, err, errlen) != 0 ||
		    opt_num(why, "expected", &e.expected, err, errlen) != 0 ||
		    opt_num(why, "lower", &e.lower, err, errlen) != 0 ||
		    opt_num(why, "upper", &e.upper, err, errlen) != 0 ||
		    opt_num(why, "score", &e.score, err, errlen) != 0 ||
		    opt_num(why, "threshold", &e.threshold, err, errlen) != 0 ||
		    opt_str(why, "detector", &e.detector, err, errlen) != 0 ||
		    opt_str(why, "direction", &e.direction, err, errlen) != 0)
			return -VIGIL_EINVAL;
	} else if (why && !json_is_null(why)) {
		snprintf(err, errlen, "alert: why: expected an object");
		return -VIGIL_EINVAL;
	}
	json_t *src = json_object_get(j, "source");
	if (src && json_is_object(src)) {
		json_t *sp = json_object_get(src, "start_pos"), *p = json_object_get(src, "pos");
		const char *in = json_string_value(json_object_get(src, "input"));
		e.source = in;
		e.start_pos = json_is_integer(sp) ? (int64_t)json_integer_value(sp) : 0;
		e.pos = json_is_integer(p) ? (int64_t)json_integer_value(p) : e.start_pos;
	}
	if (alert_json_window(j, &e, err, errlen) != 0)
		return -VIGIL_EINVAL;
	if (e.detector == NULL)
		e.detector = "external";
	if (e.direction == NULL)
		e.direction = "both";
	char want[17];
	alert_fingerprint(&e, want);
	if (fp && strcmp(fp, want) != 0) {
		snprintf(err, errlen, "alert: fingerprint: '%.20s' does not match rule and series (want %s)",
			 fp, want);
		return -VIGIL_EINVAL;
	}
	alert_episode(&e, want);
	if (ep && strcmp(ep, want) != 0) {
		snprintf(err, errlen,
			 "alert: episode: '%.20s' does not match fingerprint, start and position (want %s)",
			 ep, want);
		return -VIGIL_EINVAL;
	}
	*ev = e;
	return 0;
}

int alert_json_window(json_t *j, struct alert_event *e, char *err, size_t errlen)
{
	json_t *w = json_object_get(j, "window");
	size_t n;
	e->window = NULL;
	e->nwindow = 0;
	e->window_json = NULL;
	if (w == NULL || json_is_null(w))
		return 0;
	if (alert_window_from_json(w, NULL, 0, &n, err, errlen) != 0)
		return -VIGIL_EINVAL;
	e->window_json = n ? w : NULL;
	return 0;
}

size_t alert_labels_kv(json_t *labels, struct kv *out, size_t max)
{
	const char *k;
	json_t *v;
	size_t n = 0;
	json_object_foreach(labels, k, v)
	{
		if (n == max)
			break;
		out[n++] = (struct kv){k, json_string_value(v) ? json_string_value(v) : "", NULL};
	}
	return n;
}
