/* The chart model: an alert's series window -> drawing primitives in pixel
 * coordinates (see chart.h). The painters (chart_svg.c, chart_png.c) add no
 * geometry of their own. */
#include "core/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ML         72.0 /* margins: left (value labels), right, top (title), bottom (time labels) */
#define MR         24.0
#define MT         54.0
#define MB         42.0
#define YCLAMP     1e300 /* values are clamped to +-this so every span stays finite */
#define MAX_YTICKS 10

static double clampy(double v)
{
	return v > YCLAMP ? YCLAMP : v < -YCLAMP ? -YCLAMP : v;
}

/* Copy s into out (outlen bytes) without cutting a UTF-8 sequence. */
static void put_str(char *out, size_t outlen, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(out, s, n);
	out[n] = '\0';
}

static void add_text(struct chart_scene *sc, double x, double y, int anchor, double size, int bold,
		     const char *s)
{
	if (sc->ntexts == CHART_MAX_TEXTS)
		return;
	struct chart_text *t = &sc->texts[sc->ntexts++];
	t->x = x;
	t->y = y;
	t->anchor = anchor;
	t->size = size;
	t->bold = bold;
	put_str(t->s, sizeof t->s, s);
}

static void add_seg(struct chart_scene *sc, double x1, double y1, double x2, double y2, int axis)
{
	if (sc->nsegs == CHART_MAX_SEGS)
		return;
	sc->segs[sc->nsegs++] = (struct chart_seg){x1, y1, x2, y2, axis};
}

/* A number for an axis label: short, and exact enough to tell ticks apart. */
static void fmt_num(double v, double step, char *out, size_t n)
{
	double a = fabs(v);
	if (fabs(v) < step * 1e-9)
		v = 0; /* -0 and rounding noise */
	if (a > 0 && (a >= 1e6 || a < 1e-3))
		snprintf(out, n, "%.3g", v);
	else if (step >= 1)
		snprintf(out, n, "%.0f", v);
	else {
		int dec = (int)ceil(-log10(step));
		snprintf(out, n, "%.*f", dec > 6 ? 6 : dec, v);
	}
}

static double nice_step(double span, int want)
{
	double raw = span / want, mag, norm;
	if (!(raw > 0) || !isfinite(raw))
		return 1;
	mag = pow(10.0, floor(log10(raw)));
	norm = raw / mag;
	return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

static void value_range(const struct chart_input *in, double *lo, double *hi)
{
	double mn = INFINITY, mx = -INFINITY;
	for (size_t i = 0; i < in->n; i++) {
		const struct alert_point *p = &in->pts[i];
		double v[4] = {p->value, p->expected, p->lower, p->upper};
		for (int k = 0; k < 4; k++)
			if (isfinite(v[k])) {
				double c = clampy(v[k]);
				mn = c < mn ? c : mn;
				mx = c > mx ? c : mx;
			}
	}
	if (mn > mx) {
		mn = -1;
		mx = 1;
	} else if (!(mx > mn)) {
		double pad = fabs(mn) > 0 ? fabs(mn) * 0.1 : 1;
		mn -= pad;
		mx += pad;
	} else {
		double pad = (mx - mn) * 0.06;
		mn -= pad;
		mx += pad;
	}
	*lo = mn;
	*hi = mx;
}

static void time_range(const struct chart_input *in, double *lo, double *hi)
{
	double mn = INFINITY, mx = -INFINITY;
	for (size_t i = 0; i < in->n; i++)
		if (isfinite(in->pts[i].ts)) {
			mn = in->pts[i].ts < mn ? in->pts[i].ts : mn;
			mx = in->pts[i].ts > mx ? in->pts[i].ts : mx;
		}
	if (mn > mx)
		mn = mx = 0;
	if (!(mx > mn)) {
		mn -= 30;
		mx += 30;
	}
	*lo = mn;
	*hi = mx;
}

struct map {
	double t0, t1, v0, v1, px0, px1, py0, py1;
};

static double mx_of(const struct map *m, double t)
{
	return m->px0 + (t - m->t0) / (m->t1 - m->t0) * (m->px1 - m->px0);
}

static double my_of(const struct map *m, double v)
{
	return m->py1 - (clampy(v) - m->v0) / (m->v1 - m->v0) * (m->py1 - m->py0);
}

static void value_axis(struct chart_scene *sc, const struct map *m)
{
	double step = nice_step(m->v1 - m->v0, 5), t;
	char lab[48];
	int k = 0;
	for (t = ceil(m->v0 / step) * step; t <= m->v1 && k < MAX_YTICKS; t += step, k++) {
		double y = my_of(m, t);
		add_seg(sc, m->px0, y, m->px1, y, 0);
		fmt_num(t, step, lab, sizeof lab);
		add_text(sc, m->px0 - 6, y + 4, 1, 11, 0, lab);
		if (!(t + step > t))
			break; /* the step vanished next to the magnitude */
	}
}

static const double time_steps[] = {1,     2,     5,      10,     15,      30,      60,    120,
				    300,   600,   900,    1800,   3600,    7200,    10800, 21600,
				    43200, 86400, 172800, 604800, 2592000, 31536000};

static void time_axis(struct chart_scene *sc, const struct map *m)
{
	double span = m->t1 - m->t0, step = time_steps[sizeof time_steps / sizeof time_steps[0] - 1];
	char lab[48];
	struct tm tm;
	for (size_t i = 0; i < sizeof time_steps / sizeof time_steps[0]; i++)
		if (span / time_steps[i] <= 6) {
			step = time_steps[i];
			break;
		}
	int k = 0;
	for (double t = ceil(m->t0 / step) * step; t <= m->t1 && k < 12; t += step, k++) {
		double x = mx_of(m, t);
		time_t tt = (time_t)floor(t);
		add_seg(sc, x, m->py0, x, m->py1, 0);
		add_seg(sc, x, m->py1, x, m->py1 + 4, 1);
		if (gmtime_r(&tt, &tm) == NULL)
			continue;
		if (step >= 86400)
			strftime(lab, sizeof lab, "%m-%d", &tm);
		else if (span > 86400)
			strftime(lab, sizeof lab, "%m-%d %H:%M", &tm);
		else if (step < 60)
			strftime(lab, sizeof lab, "%H:%M:%S", &tm);
		else
			strftime(lab, sizeof lab, "%H:%M", &tm);
		add_text(sc, x, m->py1 + 17, 0, 11, 0, lab);
	}
	time_t t0 = (time_t)floor(m->t0);
	if (gmtime_r(&t0, &tm) != NULL) {
		strftime(lab, sizeof lab, "%Y-%m-%d (UTC)", &tm);
		add_text(sc, m->px1, m->py1 + 34, 1, 11, 0, lab);
	}
}

/* Append a vertex. The arrays were sized for the worst case. */
static void vtx(struct chart_scene *sc, double x, double y)
{
	sc->xy[sc->nxy++] = (struct chart_xy){x, y};
}

static void end_path(struct chart_scene *sc, enum chart_path_kind kind, size_t first)
{
	if (sc->nxy > first)
		sc->paths[sc->npaths++] = (struct chart_path){kind, first, sc->nxy - first};
}

/* The band: one polygon per run of points with both edges known (upper
 * left to right, then lower right to left); a one-point run is 3 px wide. */
static void band_paths(struct chart_scene *sc, const struct chart_input *in, const struct map *m)
{
	size_t i = 0;
	while (i < in->n) {
		const struct alert_point *p = &in->pts[i];
		if (!(isfinite(p->lower) && isfinite(p->upper) && isfinite(p->ts))) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < in->n && isfinite(in->pts[j].lower) && isfinite(in->pts[j].upper) &&
		       isfinite(in->pts[j].ts))
			j++;
		size_t first = sc->nxy;
		if (j - i == 1) {
			double x = mx_of(m, p->ts);
			vtx(sc, x - 1.5, my_of(m, p->upper));
			vtx(sc, x + 1.5, my_of(m, p->upper));
			vtx(sc, x + 1.5, my_of(m, p->lower));
			vtx(sc, x - 1.5, my_of(m, p->lower));
		} else {
			for (size_t k = i; k < j; k++)
				vtx(sc, mx_of(m, in->pts[k].ts), my_of(m, in->pts[k].upper));
			for (size_t k = j; k-- > i;)
				vtx(sc, mx_of(m, in->pts[k].ts), my_of(m, in->pts[k].lower));
		}
		end_path(sc, CHART_BAND, first);
		i = j;
	}
}

/* A line through the finite values of one column, one path per run; a
 * one-point run is a 4 px dash. */
static void line_paths(struct chart_scene *sc, const struct chart_input *in, const struct map *m,
		       int expected)
{
	size_t i = 0;
	while (i < in->n) {
		double v = expected ? in->pts[i].expected : in->pts[i].value;
		if (!isfinite(v) || !isfinite(in->pts[i].ts)) {
			i++;
			continue;
		}
		size_t first = sc->nxy, j = i;
		for (; j < in->n; j++) {
			double w = expected ? in->pts[j].expected : in->pts[j].value;
			if (!isfinite(w) || !isfinite(in->pts[j].ts))
				break;
			vtx(sc, mx_of(m, in->pts[j].ts), my_of(m, w));
		}
		if (j - i == 1) {
			double x = sc->xy[first].x, y = sc->xy[first].y;
			sc->nxy = first;
			vtx(sc, x - 2, y);
			vtx(sc, x + 2, y);
		}
		end_path(sc, expected ? CHART_EXPECTED : CHART_VALUE, first);
		i = j;
	}
}

void chart_scene_free(struct chart_scene *sc)
{
	free(sc->xy);
	free(sc->paths);
	free(sc->marks);
	memset(sc, 0, sizeof *sc);
}

int chart_layout(const struct chart_input *in0, struct chart_scene *sc)
{
	struct chart_input in = *in0;
	struct map m;

	memset(sc, 0, sizeof *sc);
	if (in.pts == NULL)
		in.n = 0;
	if (in.n > ALERT_WINDOW_MAX) {
		in.pts += in.n - ALERT_WINDOW_MAX;
		in.n = ALERT_WINDOW_MAX;
	}
	sc->width = in.width <= 0 ? CHART_W : in.width < 200 ? 200 : in.width > 4000 ? 4000 : in.width;
	sc->height = in.height <= 0 ? CHART_H : in.height < 120 ? 120 : in.height > 3000 ? 3000 : in.height;
	sc->px0 = ML;
	sc->py0 = MT;
	sc->px1 = sc->width - MR;
	sc->py1 = sc->height - MB;
	sc->mark_r = 3.5;
	sc->xy = malloc((8 * in.n + 8) * sizeof *sc->xy);
	sc->paths = malloc((3 * in.n + 3) * sizeof *sc->paths);
	sc->marks = malloc((in.n + 1) * sizeof *sc->marks);
	if (!sc->xy || !sc->paths || !sc->marks) {
		chart_scene_free(sc);
		return -VIGIL_ENOMEM;
	}
	m.px0 = sc->px0;
	m.px1 = sc->px1;
	m.py0 = sc->py0;
	m.py1 = sc->py1;
	time_range(&in, &m.t0, &m.t1);
	value_range(&in, &m.v0, &m.v1);

	add_text(sc, sc->px0, 22, -1, 15, 1, in.title ? in.title : "");
	add_text(sc, sc->px0, 40, -1, 12, 0, in.subtitle ? in.subtitle : "");
	value_axis(sc, &m);
	time_axis(sc, &m);
	add_seg(sc, sc->px0, sc->py0, sc->px0, sc->py1, 1);
	add_seg(sc, sc->px0, sc->py1, sc->px1, sc->py1, 1);
	if (in.n == 0) {
		add_text(sc, (sc->px0 + sc->px1) / 2, (sc->py0 + sc->py1) / 2, 0, 14, 0,
			 "no data in the alert's window");
		return 0;
	}
	band_paths(sc, &in, &m);
	line_paths(sc, &in, &m, 1);
	line_paths(sc, &in, &m, 0);
	for (size_t i = 0; i < in.n; i++)
		if (in.pts[i].anomaly && isfinite(in.pts[i].value) && isfinite(in.pts[i].ts))
			sc->marks[sc->nmarks++] =
				(struct chart_xy){mx_of(&m, in.pts[i].ts), my_of(&m, in.pts[i].value)};
	return 0;
}

size_t chart_input_of_alert(const struct alert_event *ev, struct alert_point *pts, char *sub, size_t subn,
			    struct chart_input *in)
{
	size_t n = alert_window_get(ev, pts, ALERT_WINDOW_MAX);
	char when[40];
	if (isfinite(ev->started)) {
		time_t t = (time_t)floor(ev->started);
		struct tm tm;
		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm) == 0)
			snprintf(when, sizeof when, "?");
	} else
		snprintf(when, sizeof when, "?");
	snprintf(sub, subn, "rule %s \xc2\xb7 owner %s \xc2\xb7 %s since %s", ev->rule ? ev->rule : "?",
		 ev->owner ? ev->owner : "?", alert_status_name(ev->status), when);
	memset(in, 0, sizeof *in);
	in->title = ev->series ? ev->series : ev->rule;
	in->subtitle = sub;
	in->pts = pts;
	in->n = n;
	return n;
}
