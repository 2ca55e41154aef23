/* The alert chart: one renderer for every picture vigil makes (the
 * console's SVG, the PNG in emails and behind PagerDuty / Slack links,
 * `vigil replay --svg`). chart_layout() turns an alert's series window into
 * drawing primitives in pixel coordinates (the model); chart_svg.c and
 * chart_png.c (cairo) only paint those primitives, so both formats show the
 * same picture:
 *   - the band (lower..upper) as shaded polygons, split at gaps;
 *   - the expected line (dashed grey) and the values line (blue), split at
 *     gaps (NaN);
 *   - a red dot on every anomalous point;
 *   - a time axis with UTC labels, a value axis, a title (the series) and a
 *     subtitle (rule, owner, status).
 * Output is deterministic: same input, same bytes (SVG) / pixels (PNG, for
 * one cairo build and font set). Any input is drawn without crashing: no
 * points ("no data"), one point, a constant series, NaN gaps, huge values.
 * @thread reentrant: no global state. */
#ifndef CORE_CHART_H
#define CORE_CHART_H

#include <stddef.h>

#include "core/alert.h"
#include "core/buf.h"

#define CHART_W         800
#define CHART_H         320
#define CHART_MAX_TEXTS 40
#define CHART_MAX_SEGS  40

struct chart_input {
	const char *title;    /* the series key; NULL = "" */
	const char *subtitle; /* e.g. "rule checkout-latency · owner payments · firing"; NULL = "" */
	const struct alert_point *pts; /* oldest first, n <= ALERT_WINDOW_MAX (more are cut) */
	size_t n;
	int width, height; /* pixels; 0 = CHART_W x CHART_H; clamped to 200..4000 x 120..3000 */
};

struct chart_xy {
	double x, y;
};

enum chart_path_kind {
	CHART_BAND = 0,     /* closed polygon, filled */
	CHART_EXPECTED = 1, /* open polyline, dashed */
	CHART_VALUE = 2,    /* open polyline */
};

struct chart_path {
	enum chart_path_kind kind;
	size_t first, n; /* xy[first .. first + n) */
};

struct chart_text {
	double x, y; /* baseline anchor point */
	int anchor;  /* -1 start, 0 middle, 1 end */
	double size; /* font size in pixels */
	int bold;
	char s[192]; /* UTF-8 */
};

struct chart_seg {
	double x1, y1, x2, y2;
	int axis; /* 1: an axis line (dark), 0: a grid line (light) */
};

/* The primitives of one chart, in paint order: background, grid and axes
 * (segs), band paths, expected paths, value paths, marks, texts. */
struct chart_scene {
	int width, height;
	double px0, py0, px1, py1; /* the plot area */
	struct chart_xy *xy;       /* owned: the vertices of every path */
	size_t nxy;
	struct chart_path *paths; /* owned */
	size_t npaths;
	struct chart_xy *marks; /* owned: centres of the anomaly dots */
	size_t nmarks;
	double mark_r;
	struct chart_seg segs[CHART_MAX_SEGS];
	size_t nsegs;
	struct chart_text texts[CHART_MAX_TEXTS];
	size_t ntexts;
};

/* Lay out in's chart into sc (zeroed first). 0, or -VIGIL_ENOMEM (sc
 * freed). Free with chart_scene_free. */
int chart_layout(const struct chart_input *in, struct chart_scene *sc);
void chart_scene_free(struct chart_scene *sc);

/* The chart as an SVG document (UTF-8, image/svg+xml) / a PNG image
 * appended to out. 0, or -VIGIL_ENOMEM / -VIGIL_EIO (cairo failed). */
int chart_svg(const struct chart_input *in, struct buf *out);
int chart_png(const struct chart_input *in, struct buf *out);

/* Release the process-wide caches cairo and fontconfig keep after a PNG
 * was drawn (font lookups), so leak checkers see a clean exit. Call once
 * at the end of the process, when no thread draws any more; a later
 * chart_png() works again. No-op when no PNG was drawn. */
void chart_release(void);

/* The chart of an alert event (title = series; subtitle = rule, owner,
 * status) from its window: points go to pts[ALERT_WINDOW_MAX] (the caller's
 * storage), subtitle to sub[subn]. Returns the number of points. */
size_t chart_input_of_alert(const struct alert_event *ev, struct alert_point *pts, char *sub, size_t subn,
			    struct chart_input *in);

#endif
