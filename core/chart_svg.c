/* The chart as SVG: paints the primitives of chart_layout() (chart.h).
 * Classes name what each element is (band, expected, value, anomaly,
 * title) for the console's CSS and for tests. Numbers are printed with one
 * decimal, so the output is byte-for-byte deterministic. */
#include <stdio.h>
#include <string.h>

#include "core/chart.h"

#define COL_VALUE    "#1f77b4"
#define COL_BAND     "#1f77b4"
#define COL_EXPECTED "#666666"
#define COL_ANOMALY  "#d62728"

static void put_s(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* Text content, XML-escaped; control characters dropped. */
static void put_xml(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '<')
			put_s(b, "&lt;");
		else if (c == '>')
			put_s(b, "&gt;");
		else if (c == '&')
			put_s(b, "&amp;");
		else if (c == '"')
			put_s(b, "&quot;");
		else if (c >= 0x20 || c == '\t')
			buf_put(b, s, 1);
	}
}

static void put_points(struct buf *b, const struct chart_scene *sc, const struct chart_path *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct chart_xy *v = &sc->xy[p->first + i];
		buf_printf(b, "%s%.1f,%.1f", i ? " " : "", v->x, v->y);
	}
}

int chart_svg(const struct chart_input *in, struct buf *out)
{
	struct chart_scene sc;
	int rc = chart_layout(in, &sc);
	if (rc != 0)
		return rc;
	buf_printf(
		out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans, Verdana, sans-serif\">\n",
		sc.width, sc.height, sc.width, sc.height);
	buf_printf(
		out,
		"<rect class=\"background\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
		sc.width, sc.height);
	for (size_t i = 0; i < sc.nsegs; i++) {
		const struct chart_seg *s = &sc.segs[i];
		buf_printf(out,
			   "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			   "stroke=\"%s\"/>\n",
			   s->axis ? "axis" : "grid", s->x1, s->y1, s->x2, s->y2,
			   s->axis ? "#333333" : "#e5e5e5");
	}
	static const enum chart_path_kind order[] = {CHART_BAND, CHART_EXPECTED, CHART_VALUE};
	for (size_t o = 0; o < 3; o++)
		for (size_t i = 0; i < sc.npaths; i++) {
			const struct chart_path *p = &sc.paths[i];
			if (p->kind != order[o])
				continue;
			if (p->kind == CHART_BAND)
				put_s(out,
				      "<polygon class=\"band\" fill=\"" COL_BAND "\" fill-opacity=\"0.18\" "
				      "stroke=\"none\" points=\"");
			else if (p->kind == CHART_EXPECTED)
				put_s(out, "<polyline class=\"expected\" fill=\"none\" stroke=\"" COL_EXPECTED
					   "\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\" points=\"");
			else
				put_s(out, "<polyline class=\"value\" fill=\"none\" stroke=\"" COL_VALUE
					   "\" stroke-width=\"1.6\" stroke-linejoin=\"round\" points=\"");
			put_points(out, &sc, p);
			put_s(out, "\"/>\n");
		}
	for (size_t i = 0; i < sc.nmarks; i++)
		buf_printf(out,
			   "<circle class=\"anomaly\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"" COL_ANOMALY
			   "\"/>\n",
			   sc.marks[i].x, sc.marks[i].y, sc.mark_r);
	for (size_t i = 0; i < sc.ntexts; i++) {
		const struct chart_text *t = &sc.texts[i];
		buf_printf(out,
			   "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\"%s text-anchor=\"%s\" "
			   "fill=\"#222222\">",
			   t->x, t->y, t->size, t->bold ? " font-weight=\"bold\"" : "",
			   t->anchor < 0   ? "start"
			   : t->anchor > 0 ? "end"
					   : "middle");
		put_xml(out, t->s);
		put_s(out, "</text>\n");
	}
	put_s(out, "</svg>\n");
	chart_scene_free(&sc);
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}
