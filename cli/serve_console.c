/* The web console: the static files of cli/console/ (embedded by
 * cli/serve_console_data.c) served at / and /console/{file}, and the
 * session route the console asks who it is talking as. The console itself
 * only calls the documented gateway API (cli/openapi.yaml).
 *
 * Caching: every file has a strong ETag (a hash of its bytes, computed at
 * the first request) and "Cache-Control: no-cache", so a browser
 * revalidates each time and gets 304 while the binary is unchanged.
 * Every answer carries a Content-Security-Policy that allows only the
 * console's own scripts and styles, and images from itself or blob: URLs
 * (the chart the console fetched with the token). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cli/serve_int.h"
#include "core/hash.h"

extern const char console_index_html[], console_index_html_end[];
extern const char console_app_js[], console_app_js_end[];
extern const char console_style_css[], console_style_css_end[];

struct asset {
	const char *name; /* file name under /console/ */
	const char *ctype;
	const char *start, *end;
	char etag[24]; /* "\"<16 hex>\"", set once */
};

static struct asset assets[] = {
	{"index.html", "text/html; charset=utf-8", console_index_html, console_index_html_end, ""},
	{"app.js", "text/javascript; charset=utf-8", console_app_js, console_app_js_end, ""},
	{"style.css", "text/css; charset=utf-8", console_style_css, console_style_css_end, ""},
};
#define NASSETS (sizeof assets / sizeof assets[0])

static pthread_once_t etag_once = PTHREAD_ONCE_INIT;

static void etags_init(void)
{
	for (size_t i = 0; i < NASSETS; i++) {
		char hex[17];
		hash_hex(
			hash_bytes(0x76696769ULL, assets[i].start, (size_t)(assets[i].end - assets[i].start)),
			hex);
		snprintf(assets[i].etag, sizeof assets[i].etag, "\"%s\"", hex);
	}
}

/* Does an If-None-Match header value name etag (a list, or "*")? */
static int etag_matches(const char *inm, const char *etag)
{
	if (inm == NULL)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	size_t el = strlen(etag);
	for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag)) {
		char after = p[el];
		if (after == '\0' || after == ',' || after == ' ')
			return 1;
	}
	return 0;
}

static void send_asset(const struct httpd_req *req, struct httpd_resp *resp, const struct asset *a)
{
	if (pthread_once(&etag_once, etags_init) != 0) {
		httpd_resp_error(resp, 500, "console: cannot compute the files' ETags");
		return;
	}
	httpd_resp_header(resp, "ETag", a->etag);
	httpd_resp_header(resp, "Cache-Control", "no-cache");
	httpd_resp_header(resp, "Content-Security-Policy",
			  "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'");
	httpd_resp_header(resp, "X-Content-Type-Options", "nosniff");
	if (etag_matches(httpd_header(req, "If-None-Match"), a->etag)) {
		resp->status = 304;
		resp->content_type = a->ctype;
		return;
	}
	httpd_resp_text(resp, 200, a->ctype, a->start, (size_t)(a->end - a->start));
}

void console_index(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	(void)ctx;
	send_asset(req, resp, &assets[0]);
}

void console_file(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	const char *f = httpd_param(req, "file");
	(void)ctx;
	for (size_t i = 0; f && i < NASSETS; i++)
		if (strcmp(f, assets[i].name) == 0) {
			send_asset(req, resp, &assets[i]);
			return;
		}
	httpd_resp_error(resp, 404, "the console has no file '%.100s' (it has index.html, app.js, style.css)",
			 f ? f : "");
}

/* GET /api/v1/session: who the caller's token makes it, and what the
 * server allows, so the console can say "read-only" before a write fails. */
void api_session(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct serve *sv = ctx;
	struct principal p;
	char who[160];
	if (serve_auth(sv, req, resp, &p) != 0)
		return;
	httpd_resp_json(resp, 200,
			json_pack("{s:s, s:s?, s:b, s:b, s:b}", "who", serve_who(&p, who, sizeof who), "team",
				  p.kind == WHO_TEAM ? p.team : NULL, "read_only", sv->read_only,
				  "open_reads", sv->open_reads, "loopback_only", sv->read_only));
}
