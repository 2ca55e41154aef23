/* The chart as PNG through cairo: paints the primitives of chart_layout()
 * (chart.h) exactly as chart_svg.c does, on a white ARGB32 surface. Text
 * uses cairo's toy font API ("DejaVu Sans"; whatever fontconfig resolves
 * it to), so pixels are deterministic for one machine's cairo and fonts. */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdatomic.h>
#include <string.h>

#include "core/chart.h"

static atomic_int png_used; /* some chart_png() ran: there are caches to release */

static void rgb(cairo_t *cr, unsigned hex, double alpha)
{
	cairo_set_source_rgba(cr, ((hex >> 16) & 255) / 255.0, ((hex >> 8) & 255) / 255.0,
			      (hex & 255) / 255.0, alpha);
}

static void trace(cairo_t *cr, const struct chart_scene *sc, const struct chart_path *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct chart_xy *v = &sc->xy[p->first + i];
		if (i == 0)
			cairo_move_to(cr, v->x, v->y);
		else
			cairo_line_to(cr, v->x, v->y);
	}
}

static void paint(cairo_t *cr, const struct chart_scene *sc)
{
	rgb(cr, 0xffffff, 1);
	cairo_paint(cr);
	cairo_set_line_width(cr, 1);
	for (size_t i = 0; i < sc->nsegs; i++) {
		const struct chart_seg *s = &sc->segs[i];
		rgb(cr, s->axis ? 0x333333 : 0xe5e5e5, 1);
		/* +0.5: a 1-px line on a pixel row, not across two */
		cairo_move_to(cr, s->x1 + 0.5, s->y1 + 0.5);
		cairo_line_to(cr, s->x2 + 0.5, s->y2 + 0.5);
		cairo_stroke(cr);
	}
	static const enum chart_path_kind order[] = {CHART_BAND, CHART_EXPECTED, CHART_VALUE};
	for (size_t o = 0; o < 3; o++)
		for (size_t i = 0; i < sc->npaths; i++) {
			const struct chart_path *p = &sc->paths[i];
			if (p->kind != order[o])
				continue;
			trace(cr, sc, p);
			if (p->kind == CHART_BAND) {
				cairo_close_path(cr);
				rgb(cr, 0x1f77b4, 0.18);
				cairo_fill(cr);
			} else if (p->kind == CHART_EXPECTED) {
				static const double dash[] = {5, 3};
				cairo_set_dash(cr, dash, 2, 0);
				cairo_set_line_width(cr, 1.2);
				rgb(cr, 0x666666, 1);
				cairo_stroke(cr);
				cairo_set_dash(cr, NULL, 0, 0);
			} else {
				cairo_set_line_width(cr, 1.6);
				cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
				rgb(cr, 0x1f77b4, 1);
				cairo_stroke(cr);
			}
		}
	rgb(cr, 0xd62728, 1);
	for (size_t i = 0; i < sc->nmarks; i++) {
		cairo_new_sub_path(cr);
		cairo_arc(cr, sc->marks[i].x, sc->marks[i].y, sc->mark_r, 0, 2 * 3.14159265358979323846);
		cairo_fill(cr);
	}
	rgb(cr, 0x222222, 1);
	for (size_t i = 0; i < sc->ntexts; i++) {
		const struct chart_text *t = &sc->texts[i];
		cairo_text_extents_t ext;
		cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
				       t->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
		cairo_set_font_size(cr, t->size);
		cairo_text_extents(cr, t->s, &ext);
		double x = t->x - (t->anchor < 0 ? 0 : t->anchor > 0 ? ext.x_advance : ext.x_advance / 2);
		cairo_move_to(cr, x, t->y);
		cairo_show_text(cr, t->s);
	}
}

static cairo_status_t write_buf(void *closure, const unsigned char *data, unsigned int len)
{
	struct buf *b = closure;
	buf_put(b, data, len);
	return buf_ok(b) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int chart_png(const struct chart_input *in, struct buf *out)
{
	struct chart_scene sc;
	int rc = chart_layout(in, &sc);
	if (rc != 0)
		return rc;
	atomic_store(&png_used, 1);
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, sc.width, sc.height);
	cairo_t *cr = cairo_create(s);
	rc = 0;
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		rc = -VIGIL_ENOMEM;
	} else {
		paint(cr, &sc);
		if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
			rc = -VIGIL_EIO;
		else if (cairo_surface_write_to_png_stream(s, write_buf, out) != CAIRO_STATUS_SUCCESS)
			rc = buf_ok(out) ? -VIGIL_EIO : -VIGIL_ENOMEM;
	}
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	chart_scene_free(&sc);
	return rc;
}

void chart_release(void)
{
	if (!atomic_exchange(&png_used, 0))
		return;
	cairo_debug_reset_static_data();
	FcFini();
}
