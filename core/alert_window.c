/* The "window" of an alert event in JSON (see alert.h): column arrays,
 * timestamps as millisecond offsets from t0 and numbers as integers times a
 * per-window power-of-ten scale, so 300 points stay a few kilobytes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alert.h"

#define SIG_DIGITS 6 /* significant digits kept of the window's largest magnitude */

static const char *const cols[] = {"value", "expected", "lower", "upper"};
#define NCOLS 4

static double col_of(const struct alert_point *p, int c)
{
	return c == 0 ? p->value : c == 1 ? p->expected : c == 2 ? p->lower : p->upper;
}

static void set_col(struct alert_point *p, int c, double v)
{
	if (c == 0)
		p->value = v;
	else if (c == 1)
		p->expected = v;
	else if (c == 2)
		p->lower = v;
	else
		p->upper = v;
}

/* The power of ten that keeps SIG_DIGITS digits of the largest finite
 * magnitude in pts (1 when there is none). */
static double window_scale(const struct alert_point *pts, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < NCOLS; c++) {
			double v = fabs(col_of(&pts[i], c));
			if (isfinite(v) && v > m)
				m = v;
		}
	if (!(m > 0))
		return 1.0;
	return pow(10.0, floor(log10(m)) - (SIG_DIGITS - 1));
}

static int append(json_t *arr, json_t *v)
{
	return v == NULL || json_array_append_new(arr, v) != 0 ? -1 : 0;
}

json_t *alert_window_to_json(const struct alert_point *pts, size_t n)
{
	json_t *w, *ts, *an, *c[NCOLS];
	int bad = 0;

	if (n == 0 || pts == NULL)
		return json_null();
	if (n > ALERT_WINDOW_MAX)
		n = ALERT_WINDOW_MAX; /* the newest are what matters, but callers never pass more */
	double t0 = pts[0].ts, scale = window_scale(pts, n);
	if (!isfinite(t0))
		return json_null();
	w = json_object();
	ts = json_array();
	an = json_array();
	for (int k = 0; k < NCOLS; k++)
		c[k] = json_array();
	if (!w || !ts || !an || !c[0] || !c[1] || !c[2] || !c[3])
		bad = 1;
	for (size_t i = 0; !bad && i < n; i++) {
		double d = (pts[i].ts - t0) * 1000.0;
		bad |= append(ts, isfinite(d) && fabs(d) < 9e15 ? json_integer((json_int_t)llround(d))
								: json_null());
		for (int k = 0; k < NCOLS; k++) {
			double v = col_of(&pts[i], k) / scale;
			bad |= append(c[k], isfinite(v) ? json_integer((json_int_t)llround(v)) : json_null());
		}
		if (pts[i].anomaly)
			bad |= append(an, json_integer((json_int_t)i));
	}
	if (!bad) {
		bad |= json_object_set_new(w, "t0", json_real(t0)) != 0;
		bad |= json_object_set_new(w, "ts_ms", ts) != 0;
		ts = NULL;
		bad |= json_object_set_new(w, "scale", json_real(scale)) != 0;
		for (int k = 0; k < NCOLS; k++) {
			bad |= json_object_set_new(w, cols[k], c[k]) != 0;
			c[k] = NULL;
		}
		bad |= json_object_set_new(w, "anomalies", an) != 0;
		an = NULL;
	}
	json_decref(ts);
	json_decref(an);
	for (int k = 0; k < NCOLS; k++)
		json_decref(c[k]);
	if (bad) {
		json_decref(w);
		return NULL;
	}
	return w;
}

static int fail(char *err, size_t errlen, const char *what, size_t i, const char *msg)
{
	if (i == (size_t)-1)
		snprintf(err, errlen, "alert: window.%s: %s", what, msg);
	else
		snprintf(err, errlen, "alert: window.%s[%zu]: %s", what, i, msg);
	return -VIGIL_EINVAL;
}

/* A number or null (NaN) times scale. */
static int elem(json_t *v, double scale, double *out)
{
	if (json_is_null(v)) {
		*out = NAN;
		return 0;
	}
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v) * scale;
	return 0;
}

int alert_window_from_json(json_t *w, struct alert_point *out, size_t max, size_t *n, char *err,
			   size_t errlen)
{
	json_t *ts, *an, *c[NCOLS], *v;
	double t0, scale = 1.0, prev = -INFINITY;
	size_t cnt, i;

	*n = 0;
	if (!json_is_object(w))
		return fail(err, errlen, "", (size_t)-1, "expected an object");
	v = json_object_get(w, "t0");
	if (!json_is_number(v) || !isfinite(t0 = json_number_value(v)))
		return fail(err, errlen, "t0", (size_t)-1, "expected a finite number (epoch seconds)");
	v = json_object_get(w, "scale");
	if (v && (!json_is_number(v) || !isfinite(scale = json_number_value(v)) || !(scale > 0)))
		return fail(err, errlen, "scale", (size_t)-1, "expected a positive number");
	ts = json_object_get(w, "ts_ms");
	if (!json_is_array(ts))
		return fail(err, errlen, "ts_ms", (size_t)-1, "expected an array");
	cnt = json_array_size(ts);
	if (cnt > ALERT_WINDOW_MAX || (out && cnt > max))
		return fail(err, errlen, "ts_ms", (size_t)-1, "more points than the window's limit (300)");
	for (int k = 0; k < NCOLS; k++) {
		c[k] = json_object_get(w, cols[k]);
		if (!json_is_array(c[k]) || json_array_size(c[k]) != cnt)
			return fail(err, errlen, cols[k], (size_t)-1, "expected an array as long as ts_ms");
	}
	for (i = 0; i < cnt; i++) {
		struct alert_point p = {0};
		json_t *t = json_array_get(ts, i);
		if (!json_is_number(t) || !isfinite(json_number_value(t)))
			return fail(err, errlen, "ts_ms", i, "expected a finite number");
		p.ts = t0 + json_number_value(t) / 1000.0;
		if (p.ts < prev)
			return fail(err, errlen, "ts_ms", i, "times must not decrease");
		prev = p.ts;
		for (int k = 0; k < NCOLS; k++) {
			double x;
			if (elem(json_array_get(c[k], i), scale, &x) != 0)
				return fail(err, errlen, cols[k], i, "expected a number or null");
			set_col(&p, k, isfinite(x) ? x : NAN);
		}
		if (out)
			out[i] = p;
	}
	an = json_object_get(w, "anomalies");
	if (an && !json_is_array(an))
		return fail(err, errlen, "anomalies", (size_t)-1, "expected an array of point indices");
	json_array_foreach(an, i, v)
	{
		json_int_t k = json_is_integer(v) ? json_integer_value(v) : -1;
		if (k < 0 || (size_t)k >= cnt)
			return fail(err, errlen, "anomalies", i, "expected an index into the window");
		if (out)
			out[k].anomaly = 1;
	}
	*n = cnt;
	return 0;
}

size_t alert_window_get(const struct alert_event *ev, struct alert_point *out, size_t max)
{
	char err[160];
	size_t n = 0;
	if (ev->nwindow && ev->window) {
		n = ev->nwindow < max ? ev->nwindow : max;
		memcpy(out, ev->window + (ev->nwindow - n), n * sizeof *out);
		return n;
	}
	if (ev->window_json && alert_window_from_json(ev->window_json, out, max, &n, err, sizeof err) != 0)
		return 0;
	return n;
}
