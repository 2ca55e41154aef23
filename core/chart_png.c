/* The chart as PNG through cairo: paints the primitives of chart_layout()
 * (chart.h) exactly as chart_svg.c does, on a white ARGB32 surface. Text
 * uses cairo's toy font API ("DejaVu Sans"; whatever fontconfig resolves
 * it to), so pixels are deterministic for one machine's cairo and fonts.
 * The image is encoded by libpng as 8-bit RGB at zlib level 1 with the "up"
 * filter: cairo's own writer (default level, every filter tried) spent three
 * quarters of the time compressing (BENCHMARKS.md). */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <png.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
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

static void png_write_buf(png_structp png, png_bytep data, size_t len)
{
	struct buf *b = png_get_io_ptr(png);
	buf_put(b, data, len);
	if (!buf_ok(b))
		png_error(png, "out of memory");
}

static void png_flush_none(png_structp png)
{
	(void)png;
}

static void png_quiet(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* The opaque ARGB32 surface s as an RGB PNG appended to out. 0 or -1. */
static int encode(cairo_surface_t *s, struct buf *out)
{
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	int stride = cairo_image_surface_get_stride(s);
	const unsigned char *data;
	unsigned char *volatile row = malloc((size_t)w * 3);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_quiet, png_quiet);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	int rc = -1;

	cairo_surface_flush(s);
	data = cairo_image_surface_get_data(s);
	if (!row || !png || !info || !data)
		goto out;
	if (setjmp(png_jmpbuf(png)))
		goto out; /* libpng failed (out of memory): rc stays -1 */
	png_set_write_fn(png, out, png_write_buf, png_flush_none);
	png_set_compression_level(png, 1);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < h; y++) {
		const unsigned char *src = data + (size_t)y * (size_t)stride;
		for (int x = 0; x < w; x++) {
			uint32_t px;
			memcpy(&px, src + 4 * x, 4); /* native-endian 0xAARRGGBB, opaque */
			row[3 * x] = (unsigned char)(px >> 16);
			row[3 * x + 1] = (unsigned char)(px >> 8);
			row[3 * x + 2] = (unsigned char)px;
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	rc = 0;
out:
	png_destroy_write_struct(&png, &info);
	free(row);
	return rc;
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
		else if (encode(s, out) != 0)
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
