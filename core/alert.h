/* An alert event: one firing or resolving transition of one rule on one
 * series, carrying the "why". This is the unit the detecting side hands to the
 * central gateway, in-process or as JSON over the alerts topic. */
#ifndef SINKS_ALERT_H
#define SINKS_ALERT_H

#include <jansson.h>
#include <stdint.h>

#include "core/vigil.h"

/* ALERT_ACKNOWLEDGED is decided by the gateway only (someone acknowledged
 * the episode: "vigil ack"); producers send firing and resolved. In JSON:
 * "firing" | "resolved" | "acknowledged". */
enum alert_status { ALERT_FIRING = 0, ALERT_RESOLVED, ALERT_ACKNOWLEDGED };

#define ALERT_MAX_LABELS 48

/* The recent window of an alert's series, drawn in its chart (core/chart.h):
 * at most ALERT_WINDOW_MAX points, oldest first. NaN = unknown (a gap, a
 * detector still warming up). */
#define ALERT_WINDOW_MAX 300
struct alert_point {
	double ts; /* data time, epoch seconds */
	double value, expected, lower, upper;
	int anomaly; /* 1: the rule judged this point anomalous */
};

struct alert_event {
	enum alert_status status;
	const char *rule;                   /* rule name */
	const char *owner;                  /* owner name (team / person) */
	const char *action;                 /* "log" | "notify" | "page" */
	const char *detector;               /* detector type name */
	const char *series;                 /* canonical series key: name{k=v,...} */
	const char *name;                   /* series name */
	const char *summary;                /* may be NULL */
	const char *runbook_url;            /* may be NULL */
	struct kv labels[ALERT_MAX_LABELS]; /* series tags then rule labels */
	size_t nlabels;
	double ts;                                   /* data time of the point that caused this transition */
	double started;                              /* data time the episode started */
	double value, expected, lower, upper, score; /* the why; NaN when unknown */
	const char *direction;                       /* rule direction: "both" | "up" | "down" */
	double threshold;                            /* rule threshold on the score */
	const char *source;                          /* input source: file path or topic/partition */
	int64_t start_pos; /* input position (line / offset) of the first firing point */
	int64_t pos;       /* input position of this transition's point */
	/* The series window (optional): either points (window[0..nwindow),
	 * borrowed) or, for an event parsed from JSON, window_json (the
	 * document's validated "window" object, borrowed). Both empty = none. */
	const struct alert_point *window;
	size_t nwindow;
	json_t *window_json;
};

/* Identity. fingerprint = hash(rule, series); episode = hash(fingerprint,
 * started, start_pos). Stable across runs and restarts. out: 17 bytes. */
void alert_fingerprint(const struct alert_event *ev, char out[17]);
void alert_episode(const struct alert_event *ev, char out[17]);

/* "firing" | "resolved" | "acknowledged". */
const char *alert_status_name(enum alert_status s);

/* JSON form (the payload of stdout/file destinations and the alerts topic).
 * Caller owns the result (json_decref). NULL on allocation failure. */
json_t *alert_to_json(const struct alert_event *ev);
/* The schema name of the alert event (documented in README "Alert event
 * schema"); vigil's own events carry every field, other producers may send
 * the subset alert_from_json_v1 accepts. */
#define ALERT_SCHEMA_V1 "vigil.alert/v1"

/* Accept an alert event from any producer: status and rule (or
 * labels.alertname) and startsAt (or started_epoch) are required; series is
 * derived from the labels when absent ("<name or rule>{k=v,...}" sorted);
 * fingerprint and episode, when given, must match what vigil derives.
 * Derived strings go to scratch (keep it alive with j); now is the time of a
 * resolve that carries none. 0 or -VIGIL_EINVAL with the reason in err. */
int alert_from_json_v1(json_t *j, struct alert_event *ev, char *scratch, size_t scratchlen, double now,
		       char *err, size_t errlen);
/* Helpers of both parsers (core/alert_ingest.c): the labels object into e
 * (strings borrowed from it), and identity given by a document (fp / ep,
 * NULL = not given) against what vigil derives from e. 0 or -VIGIL_EINVAL. */
int alert_json_labels(json_t *labels, struct alert_event *e, char *err, size_t errlen);
/* A labels object (string values; others read as "") as a kv array into
 * out, at most max entries, strings borrowed from labels. Returns the count. */
size_t alert_labels_kv(json_t *labels, struct kv *out, size_t max);
/* The optional "window" of document j, validated, into e->window_json
 * (borrowed; absent or null = none). 0 or -VIGIL_EINVAL. */
int alert_json_window(json_t *j, struct alert_event *e, char *err, size_t errlen);
int alert_check_identity(const struct alert_event *e, const char *fp, const char *ep, char *err,
			 size_t errlen);
/* The "window" object of the JSON form (README "Alert event schema v1"):
 *   {"t0": epoch s, "ts_ms": [offsets from t0 in ms], "scale": s,
 *    "value": [...], "expected": [...], "lower": [...], "upper": [...],
 *    "anomalies": [indices]}
 * numbers are multiplied by scale (default 1), null = NaN; every array has
 * the same length n <= ALERT_WINDOW_MAX; ts non-decreasing. Encoding
 * quantises each number to 6 significant digits of the window's largest
 * magnitude (integers on the wire, compact). NULL on allocation failure;
 * a JSON null for n == 0. */
json_t *alert_window_to_json(const struct alert_point *pts, size_t n);
/* Decode (out NULL: validate only) at most max points into out, the count
 * into *n. 0 or -VIGIL_EINVAL with err naming the field ("window.value[3]"). */
int alert_window_from_json(json_t *w, struct alert_point *out, size_t max, size_t *n, char *err,
			   size_t errlen);
/* An event's window as points: from ev->window or ev->window_json, into
 * out[max]. Returns the count (0: none or invalid). */
size_t alert_window_get(const struct alert_event *ev, struct alert_point *out, size_t max);

/* Parse the JSON form back. Strings in *ev borrow from j, which must outlive
 * ev. Returns 0 or -VIGIL_EINVAL with err filled. */
int alert_from_json(json_t *j, struct alert_event *ev, char *err, size_t errlen);

#endif
