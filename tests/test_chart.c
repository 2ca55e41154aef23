/* The alert chart: the series window in alert events (engine ring, JSON
 * round trip, old events without one) and the renderer (SVG primitives
 * match the input, PNG decoded back with cairo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cairo.h>
#include <cmocka.h>

#include "tests/testutil.h"

#include "core/chart.h"
#include "core/clock.h"
#include "core/urlsig.h"
#include "engine/engine.h"
#include "engine/window.h"
#include "rules/rules.h"
#include "sinks/http.h"

/* ---- helpers ---- */

static size_t count_str(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	for (size_t i = 0; i + nl <= len; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			n++;
	return n;
}

/* n points a minute apart: a wave, band +-10, anomalies where (i % 17) == 16. */
static void make_points(struct alert_point *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double e = 100 + 20 * sin((double)i / 9.0);
		p[i] = (struct alert_point){.ts = 1772600000.0 + 60.0 * (double)i,
					    .value = e + ((i * 7) % 5) - 2 + (i % 17 == 16 ? 60 : 0),
					    .expected = e,
					    .lower = e - 10,
					    .upper = e + 10,
					    .anomaly = i % 17 == 16};
	}
}

static struct alert_event base_event(void)
{
	struct alert_event ev;
	memset(&ev, 0, sizeof ev);
	ev.status = ALERT_FIRING;
	ev.rule = "lat";
	ev.owner = "team-a";
	ev.action = "page";
	ev.detector = "des";
	ev.series = "svc.lat{host=a}";
	ev.name = "svc.lat";
	ev.ts = ev.started = 1772600000.0 + 3600;
	ev.value = 180;
	ev.expected = 100;
	ev.lower = 90;
	ev.upper = 110;
	ev.score = 1;
	ev.direction = "up";
	ev.threshold = 1;
	ev.source = "test";
	return ev;
}

/* JSON text -> document -> event (strings borrow from *doc). */
static int reparse(const struct alert_event *ev, json_t **doc, struct alert_event *out, char *err,
		   size_t errlen)
{
	json_t *j = alert_to_json(ev);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	assert_non_null(s);
	*doc = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(*doc);
	return alert_from_json(*doc, out, err, errlen);
}

/* ---- the window in the alert JSON ---- */

static void test_window__json_round_trip(void **st)
{
	(void)st;
	struct alert_point in[200], out[ALERT_WINDOW_MAX];
	make_points(in, 200);
	in[50].value = in[51].value = NAN; /* a gap */
	in[80].lower = in[80].upper = in[80].expected = NAN;
	in[10].value = 12345.678; /* a larger magnitude sets the scale */
	struct alert_event ev = base_event(), back;
	ev.window = in;
	ev.nwindow = 200;
	json_t *doc;
	char err[256];
	assert_int_equal(reparse(&ev, &doc, &back, err, sizeof err), 0);
	assert_non_null(back.window_json);
	size_t n = alert_window_get(&back, out, ALERT_WINDOW_MAX);
	assert_int_equal(n, 200);
	for (size_t i = 0; i < n; i++) {
		assert_near(out[i].ts, in[i].ts, 1e-12);
		/* 6 significant digits of the largest magnitude (12345.678):
		 * a step of 0.1, so at most 0.05 off */
		const double *col[] = {&in[i].value, &in[i].expected, &in[i].lower, &in[i].upper};
		const double got[] = {out[i].value, out[i].expected, out[i].lower, out[i].upper};
		for (int k = 0; k < 4; k++) {
			if (isnan(*col[k]))
				assert_true(isnan(got[k]));
			else if (!(fabs(got[k] - *col[k]) <= 0.0501))
				fail_msg("point %zu column %d: got %.17g want %.17g", i, k, got[k], *col[k]);
		}
		assert_int_equal(out[i].anomaly, in[i].anomaly);
	}
	/* and through a second encoding (the gateway re-renders parsed events) */
	json_t *doc2;
	struct alert_event again;
	assert_int_equal(reparse(&back, &doc2, &again, err, sizeof err), 0);
	struct alert_point out2[ALERT_WINDOW_MAX];
	assert_int_equal(alert_window_get(&again, out2, ALERT_WINDOW_MAX), 200);
	for (size_t i = 0; i < 200; i++)
		assert_near(out2[i].value, out[i].value, 0);
	json_decref(doc2);
	json_decref(doc);
}

static void test_window__old_events_without_one_decode(void **st)
{
	(void)st;
	struct alert_event ev = base_event(), back;
	char err[256];
	json_t *doc;
	assert_int_equal(reparse(&ev, &doc, &back, err, sizeof err), 0);
	assert_null(json_object_get(doc, "window"));
	assert_null(back.window_json);
	assert_int_equal(back.nwindow, 0);
	struct alert_point out[4];
	assert_int_equal(alert_window_get(&back, out, 4), 0);
	/* the v1 subset from other producers, with and without a window */
	json_t *v1 = json_pack("{s:s, s:s, s:s, s:s}", "status", "firing", "rule", "DiskFull", "owner",
			       "storage", "startsAt", "2026-03-02T08:15:00Z");
	char scratch[512];
	struct alert_event e1;
	assert_int_equal(alert_from_json_v1(v1, &e1, scratch, sizeof scratch, 0, err, sizeof err), 0);
	assert_null(e1.window_json);
	json_object_set_new(v1, "window",
			    json_pack("{s:f, s:[i,i], s:[f,n], s:[n,n], s:[n,n], s:[n,n], s:[i]}", "t0",
				      1772440000.0, "ts_ms", 0, 60000, "value", 1.5, "expected", "lower",
				      "upper", "anomalies", 0));
	assert_int_equal(alert_from_json_v1(v1, &e1, scratch, sizeof scratch, 0, err, sizeof err), 0);
	assert_int_equal(alert_window_get(&e1, out, 4), 2);
	assert_near(out[0].value, 1.5, 0);
	assert_true(isnan(out[1].value));
	assert_int_equal(out[0].anomaly, 1);
	assert_near(out[1].ts, 1772440060.0, 0);
	json_decref(v1);
	json_decref(doc);
}

static void test_window__bad_windows_are_refused_naming_the_field(void **st)
{
	(void)st;
	static const struct {
		const char *json, *want;
	} cases[] = {
		{"[]", "window.: expected an object"},
		{"{\"ts_ms\":[0],\"value\":[1],\"expected\":[1],\"lower\":[1],\"upper\":[1]}", "window.t0"},
		{"{\"t0\":1,\"ts_ms\":[0,1],\"value\":[1],\"expected\":[1,1],\"lower\":[1,1],\"upper\":[1,1]"
		 "}",
		 "window.value"},
		{"{\"t0\":1,\"ts_ms\":[5,1],\"value\":[1,1],\"expected\":[1,1],\"lower\":[1,1],\"upper\":[1,"
		 "1]}",
		 "window.ts_ms[1]: times must not decrease"},
		{"{\"t0\":1,\"ts_ms\":[0],\"value\":[\"x\"],\"expected\":[1],\"lower\":[1],\"upper\":[1]}",
		 "window.value[0]"},
		{"{\"t0\":1,\"ts_ms\":[0],\"value\":[1],\"expected\":[1],\"lower\":[1],\"upper\":[1],"
		 "\"anomalies\":[3]}",
		 "window.anomalies[0]"},
		{"{\"t0\":1,\"scale\":-1,\"ts_ms\":[0],\"value\":[1],\"expected\":[1],\"lower\":[1],"
		 "\"upper\":[1]}",
		 "window.scale"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *w = json_loads(cases[i].json, 0, NULL);
		size_t n;
		char err[256] = "";
		assert_non_null(w);
		assert_int_equal(alert_window_from_json(w, NULL, 0, &n, err, sizeof err), -VIGIL_EINVAL);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: error '%s' does not name '%s'", i, err, cases[i].want);
		json_decref(w);
	}
	/* more than the limit */
	json_t *w = json_pack("{s:f}", "t0", 1.0);
	json_t *cols[5];
	const char *names[] = {"ts_ms", "value", "expected", "lower", "upper"};
	for (int k = 0; k < 5; k++) {
		cols[k] = json_array();
		for (int i = 0; i < ALERT_WINDOW_MAX + 1; i++)
			json_array_append_new(cols[k], json_integer(i));
		json_object_set_new(w, names[k], cols[k]);
	}
	size_t n;
	char err[256];
	assert_int_equal(alert_window_from_json(w, NULL, 0, &n, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "300"));
	/* a bad window makes the whole event invalid */
	struct alert_event ev = base_event(), back;
	json_t *doc = alert_to_json(&ev);
	json_object_set_new(doc, "window", w);
	assert_int_equal(alert_from_json(doc, &back, err, sizeof err), -VIGIL_EINVAL);
	json_decref(doc);
}

/* ---- the engine's ring ---- */

static void test_window__ring_keeps_the_newest_compactly(void **st)
{
	(void)st;
	enum { CAP = 5 };
	void *ring = malloc(window_bytes(CAP));
	struct alert_point out[CAP];
	assert_int_equal(window_bytes(CAP), 16 + 16 * CAP);
	assert_int_equal(window_bytes(0), 0);
	window_init(ring, CAP);
	assert_int_equal(window_read(ring, CAP, out), 0);
	for (int i = 0; i < 8; i++)
		window_push(ring, CAP, 1000.25 + 60 * i, 10 + i, 9 + i, 9 + i - 0.5 * (i + 1),
			    9 + i + 2.0 * (i + 1), i == 6);
	assert_int_equal(window_read(ring, CAP, out), CAP);
	for (int k = 0; k < CAP; k++) {
		int i = k + 3;
		assert_near(out[k].ts, 1000.25 + 60 * i, 1e-9);
		assert_near(out[k].value, 10 + i, 1e-6);
		assert_near(out[k].expected, 9 + i, 1e-6);
		/* band edges within 0.4 % of the half-width */
		assert_true(fabs(out[k].lower - (9 + i - 0.5 * (i + 1))) <= 0.004 * 0.5 * (i + 1) + 1e-9);
		assert_true(fabs(out[k].upper - (9 + i + 2.0 * (i + 1))) <= 0.004 * 2.0 * (i + 1) + 1e-9);
		assert_int_equal(out[k].anomaly, i == 6);
	}
	/* warm-up: unknown expected and band stay unknown */
	window_push(ring, CAP, 5000, 1, NAN, NAN, NAN, 0);
	assert_int_equal(window_read(ring, CAP, out), CAP);
	assert_true(isnan(out[CAP - 1].expected) && isnan(out[CAP - 1].lower) && isnan(out[CAP - 1].upper));
	/* a year later: rebased when the points still fit, else started over */
	window_push(ring, CAP, 5000 + 200 * 86400.0, 2, 2, 1, 3, 0);
	assert_int_equal(window_read(ring, CAP, out), CAP);
	assert_near(out[CAP - 1].ts, 5000 + 200 * 86400.0, 1e-9);
	assert_near(out[CAP - 2].ts, 5000, 1e-9);
	window_push(ring, CAP, 5000 + 600 * 86400.0, 3, 3, 2, 4, 1);
	assert_int_equal(window_read(ring, CAP, out), 1);
	assert_near(out[0].ts, 5000 + 600 * 86400.0, 1e-9);
	assert_int_equal(out[0].anomaly, 1);
	free(ring);
}

struct got {
	int n, nwin;
	size_t nwindow[8];
	struct alert_point last[8];
	double ts[8];
};

static int collect(void *ctx, const struct alert_event *ev)
{
	struct got *g = ctx;
	if (g->n < 8) {
		g->nwindow[g->n] = ev->nwindow;
		g->ts[g->n] = ev->ts;
		if (ev->nwindow)
			g->last[g->n] = ev->window[ev->nwindow - 1];
	}
	g->n++;
	return 0;
}

static const char rules_yaml[] = "rules:\n"
				 "  - name: lat\n"
				 "    series: svc.lat\n"
				 "    detector: mad\n"
				 "    params: {window: 60}\n"
				 "    direction: up\n"
				 "    owner: team-a\n"
				 "owners:\n"
				 "  - name: team-a\n"
				 "    destinations: [{type: stdout}]\n";

static void run_engine(uint32_t window, struct got *g, size_t *bytes)
{
	char path[] = "/tmp/vigil-test-chart-XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rules_yaml, sizeof rules_yaml - 1), (ssize_t)(sizeof rules_yaml - 1));
	close(fd);
	struct ruleset *rs = NULL;
	const char *paths[] = {path};
	int rc = ruleset_load(paths, 1, NULL, &rs, err, sizeof err);
	unlink(path);
	if (rc != 0)
		fail_msg("rules: %s", err);
	struct engine *e = NULL;
	struct engine_opts o = {.rs = rs, .on_alert = collect, .alert_ctx = g, .window = window};
	assert_int_equal(engine_create(&o, &e, err, sizeof err), 0);
	for (int i = 0; i < 400; i++) {
		struct point p = {.name = "svc.lat", .ts = 1700000000.0 + 60 * i};
		p.value = 100 + ((i * 7) % 11) * 0.5 + (i >= 300 && i < 303 ? 300 : 0);
		assert_int_equal(engine_point(e, &p, "test", i), 0);
	}
	struct engine_stats es;
	engine_get_stats(e, &es);
	*bytes = es.bytes;
	engine_destroy(e);
	ruleset_free(rs);
}

static void test_window__engine_sends_the_window_with_each_alert(void **st)
{
	(void)st;
	struct got g = {0}, off = {0};
	size_t bytes, bytes_off;
	run_engine(120, &g, &bytes);
	assert_true(g.n >= 2); /* fired and resolved */
	assert_int_equal(g.nwindow[0], 120);
	/* the newest point of the window is the one that fired, marked */
	assert_near(g.last[0].ts, g.ts[0], 1e-9);
	assert_true(g.last[0].value > 350);
	assert_int_equal(g.last[0].anomaly, 1);
	run_engine(0, &off, &bytes_off);
	assert_int_equal(off.n, g.n);
	assert_int_equal(off.nwindow[0], 0);
	/* what the window costs per (rule, series) */
	assert_int_equal(bytes - bytes_off, window_bytes(120));
	char err[128];
	struct engine *e = NULL;
	struct engine_opts o = {.window = ALERT_WINDOW_MAX + 1};
	assert_int_equal(engine_create(&o, &e, err, sizeof err), -VIGIL_EINVAL);
}

/* ---- the renderer ---- */

static void render_svg(const struct chart_input *in, struct buf *b)
{
	assert_int_equal(chart_svg(in, b), 0);
	buf_put(b, "", 1);
	assert_true(buf_ok(b));
}

static void test_chart__svg_band_lines_and_marks_match_the_input(void **st)
{
	(void)st;
	struct alert_point p[120];
	make_points(p, 120);
	/* band gaps at 30 and 70..71: three band runs; a value gap at 90 */
	p[30].lower = p[30].upper = NAN;
	p[70].lower = p[71].upper = NAN;
	p[90].value = NAN;
	size_t marks = 0;
	for (int i = 0; i < 120; i++)
		marks += p[i].anomaly && isfinite(p[i].value);
	struct chart_input in = {.title = "svc.lat{host=<a&b>}", .subtitle = "rule lat", .pts = p, .n = 120};
	struct buf a = {0}, b = {0};
	render_svg(&in, &a);
	const char *s = (const char *)a.data;
	assert_int_equal(count_str(s, a.len, "<polygon class=\"band\""), 3);
	assert_int_equal(count_str(s, a.len, "<circle class=\"anomaly\""), marks);
	assert_int_equal(count_str(s, a.len, "<polyline class=\"value\""), 2);
	assert_int_equal(count_str(s, a.len, "<polyline class=\"expected\""), 1);
	assert_non_null(strstr(s, "svc.lat{host=&lt;a&amp;b&gt;}"));
	assert_non_null(strstr(s, "(UTC)"));
	assert_null(strstr(s, "nan"));
	assert_null(strstr(s, "inf"));
	/* the band polygon of the first run has its points: upper forward, lower back */
	const char *poly = strstr(s, "<polygon class=\"band\"");
	const char *pts = strstr(poly, "points=\"") + 8;
	size_t commas = 0;
	for (const char *q = pts; *q != '"'; q++)
		commas += *q == ',';
	assert_int_equal(commas, 2 * 30);
	/* deterministic */
	render_svg(&in, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_free(&a);
	buf_free(&b);
}

static void test_chart__odd_inputs_draw_without_crashing(void **st)
{
	(void)st;
	struct alert_point p[4];
	struct chart_scene sc;
	struct buf b = {0};
	/* no points */
	struct chart_input in = {.title = NULL, .pts = NULL, .n = 0};
	render_svg(&in, &b);
	assert_non_null(strstr((const char *)b.data, "no data"));
	buf_reset(&b);
	/* one point, anomalous */
	p[0] = (struct alert_point){1e9, 5, 5, 4, 6, 1};
	in.pts = p;
	in.n = 1;
	render_svg(&in, &b);
	assert_int_equal(count_str((const char *)b.data, b.len, "class=\"anomaly\""), 1);
	assert_int_equal(count_str((const char *)b.data, b.len, "class=\"band\""), 1);
	buf_reset(&b);
	/* constant, huge of both signs, all unknown: finite coordinates */
	const double vals[][4] = {{7, 7, 7, 7}, {1e300, -1e300, 1e308, -1e308}, {NAN, NAN, NAN, NAN}};
	for (size_t c = 0; c < 3; c++) {
		for (int i = 0; i < 4; i++)
			p[i] = (struct alert_point){1e9 + i,        vals[c][i],     vals[c][i],
						    vals[c][i] - 1, vals[c][i] + 1, i == 2};
		in.n = 4;
		assert_int_equal(chart_layout(&in, &sc), 0);
		for (size_t i = 0; i < sc.nxy; i++)
			assert_true(isfinite(sc.xy[i].x) && isfinite(sc.xy[i].y));
		for (size_t i = 0; i < sc.nmarks; i++)
			assert_true(isfinite(sc.marks[i].x) && isfinite(sc.marks[i].y));
		assert_true(sc.ntexts >= 3);
		chart_scene_free(&sc);
		render_svg(&in, &b);
		assert_null(strstr((const char *)b.data, "nan"));
		assert_null(strstr((const char *)b.data, "inf"));
		buf_reset(&b);
		assert_int_equal(chart_png(&in, &b), 0);
		buf_reset(&b);
	}
	buf_free(&b);
}

struct reader_ctx {
	const uint8_t *p;
	size_t len, off;
};

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int len)
{
	struct reader_ctx *r = closure;
	if (r->off + len > r->len)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p + r->off, len);
	r->off += len;
	return CAIRO_STATUS_SUCCESS;
}

static void pixel(cairo_surface_t *s, int x, int y, int *r, int *g, int *b)
{
	const unsigned char *d = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	uint32_t px;
	memcpy(&px, d + y * stride + x * 4, 4);
	*r = (int)((px >> 16) & 255);
	*g = (int)((px >> 8) & 255);
	*b = (int)(px & 255);
}

static void test_chart__png_decodes_with_red_anomalies(void **st)
{
	(void)st;
	struct alert_point p[120];
	make_points(p, 120);
	struct chart_input in = {
		.title = "svc.lat", .subtitle = "rule lat", .pts = p, .n = 120, .width = 640, .height = 300};
	struct buf b = {0};
	assert_int_equal(chart_png(&in, &b), 0);
	assert_memory_equal(b.data, "\x89PNG\r\n\x1a\n", 8);
	struct reader_ctx rc = {b.data, b.len, 0};
	cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_png, &rc);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_image_surface_get_width(s), 640);
	assert_int_equal(cairo_image_surface_get_height(s), 300);
	cairo_surface_flush(s);
	struct chart_scene sc;
	assert_int_equal(chart_layout(&in, &sc), 0);
	assert_true(sc.nmarks >= 5);
	int r, g, bl;
	for (size_t i = 0; i < sc.nmarks; i++) {
		pixel(s, (int)floor(sc.marks[i].x), (int)floor(sc.marks[i].y), &r, &g, &bl);
		if (!(r > 170 && g < 100 && bl < 100))
			fail_msg("mark %zu at (%.1f, %.1f) is rgb(%d,%d,%d), not red", i, sc.marks[i].x,
				 sc.marks[i].y, r, g, bl);
	}
	/* no red where there is no anomaly: the top right corner is background */
	pixel(s, 635, 3, &r, &g, &bl);
	assert_true(r > 240 && g > 240 && bl > 240);
	/* inside the band between marks: the light band blue, not red */
	assert_int_equal(sc.paths[0].kind, CHART_BAND);
	const struct chart_xy *u = &sc.xy[sc.paths[0].first + 3]; /* upper edge of point 3 */
	pixel(s, (int)u->x, (int)u->y + 3, &r, &g, &bl);
	assert_true(bl > r);
	chart_scene_free(&sc);
	cairo_surface_destroy(s);
	buf_free(&b);
}

/* The chart link of Slack / PagerDuty: only with a public URL and a window. */
static void test_chart__link_needs_public_url_and_window(void **st)
{
	(void)st;
	struct alert_point p[3];
	make_points(p, 3);
	struct alert_event ev = base_event();
	struct notification n = {.ev = &ev, .episode = "0123456789abcdef"};
	char url[256];
	dest_chart_url("https://vigil.example.com/", NULL, &n, url, sizeof url);
	assert_string_equal(url, ""); /* no window */
	ev.window = p;
	ev.nwindow = 3;
	dest_chart_url(NULL, NULL, &n, url, sizeof url);
	assert_string_equal(url, ""); /* no public URL */
	dest_chart_url("", NULL, &n, url, sizeof url);
	assert_string_equal(url, "");
	dest_chart_url("https://vigil.example.com/", NULL, &n, url, sizeof url);
	assert_string_equal(url, "https://vigil.example.com/api/v1/alerts/0123456789abcdef/chart.png");
	dest_chart_url("https://vigil.example.com/", NULL, &n, url,
		       20); /* does not fit: none, not a cut URL */
	assert_string_equal(url, "");
	/* with a key the link is signed, and the signature checks out for that
	 * episode only, until it expires */
	dest_chart_url("https://vigil.example.com/", "k3y", &n, url, sizeof url);
	const char *q = strstr(url, "/chart.png?exp=");
	assert_non_null(q);
	char exp[32], sig[40];
	assert_int_equal(sscanf(q, "/chart.png?exp=%31[0-9]&sig=%39s", exp, sig), 2);
	assert_int_equal(strlen(sig), 32);
	assert_true(urlsig_check("k3y", "0123456789abcdef", exp, sig, clock_wall()));
	assert_false(urlsig_check("k3y", "0123456789abcdee", exp, sig, clock_wall()));
	assert_false(urlsig_check("other", "0123456789abcdef", exp, sig, clock_wall()));
	assert_false(urlsig_check("k3y", "0123456789abcdef", exp, sig, clock_wall() + 31 * 86400.0));
	assert_false(urlsig_check(NULL, "0123456789abcdef", exp, sig, clock_wall()));
	n.episode = NULL;
	dest_chart_url("https://vigil.example.com", NULL, &n, url, sizeof url);
	assert_string_equal(url, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window__json_round_trip),
		cmocka_unit_test(test_window__old_events_without_one_decode),
		cmocka_unit_test(test_window__bad_windows_are_refused_naming_the_field),
		cmocka_unit_test(test_window__ring_keeps_the_newest_compactly),
		cmocka_unit_test(test_window__engine_sends_the_window_with_each_alert),
		cmocka_unit_test(test_chart__svg_band_lines_and_marks_match_the_input),
		cmocka_unit_test(test_chart__odd_inputs_draw_without_crashing),
		cmocka_unit_test(test_chart__png_decodes_with_red_anomalies),
		cmocka_unit_test(test_chart__link_needs_public_url_and_window),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	chart_release();
	return rc;
}
