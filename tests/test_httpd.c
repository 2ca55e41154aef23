/* Tests for core/httpd (a real server on 127.0.0.1, port 0, spoken to with
 * libcurl): route matching with {params}, 404 / 405 with Allow, the body
 * limit (413, by Content-Length and by a chunked body), the per-client
 * token bucket (429 with Retry-After), JSON error bodies, the listen
 * address parser and loopback check; and the `http:` config map
 * (core/config_http.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/httpd.h"

/* ---- a client ---- */

struct reply {
	long status;
	char body[4096];
	size_t len;
	char retry_after[32];
	char allow[64];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t k = sz * n;
	if (r->len + k >= sizeof r->body)
		k = sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t k = sz * n;
	if (k > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
		snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)strcspn(p + 13, "\r\n"), p + 13);
	if (k > 7 && strncasecmp(p, "Allow: ", 7) == 0)
		snprintf(r->allow, sizeof r->allow, "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
	return k;
}

/* method path (body may be NULL; chunked: send without Content-Length). */
static void call(int port, const char *method, const char *path, const char *body, int chunked,
		 struct reply *r)
{
	char url[256];
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	h = curl_slist_append(h, "Expect:");
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

/* ---- a server ---- */

static void h_echo(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	(void)ctx;
	const char *q = httpd_query(req, "q");
	httpd_resp_json(resp, 200,
			json_pack("{s:s, s:s, s:s?, s:s?, s:I}", "method", req->method, "path", req->path,
				  "id", httpd_param(req, "id"), "q", q, "bodylen", (json_int_t)req->bodylen));
}

static void h_silent(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	(void)ctx;
	(void)req;
	(void)resp; /* sets nothing: the server answers 500 */
}

static const struct httpd_route routes[] = {
	{"GET", "/things", h_echo, NULL, 0},
	{"POST", "/things", h_echo, NULL, 0},
	{"GET", "/things/{id}", h_echo, NULL, 0},
	{"DELETE", "/things/{id}", h_echo, NULL, 0},
	{"POST", "/things/{id}/poke", h_echo, NULL, 0},
	{"GET", "/silent", h_silent, NULL, 0},
	{"POST", "/things/special", h_echo, NULL, 0},
};

static struct httpd *start(double rate, double burst, size_t max_body)
{
	struct httpd_opts o = {.listen = "127.0.0.1:0",
			       .routes = routes,
			       .nroutes = sizeof routes / sizeof routes[0],
			       .max_body = max_body,
			       .rate = rate,
			       .burst = burst};
	struct httpd *h = NULL;
	char err[256] = "";
	int rc = httpd_start(&o, &h, err, sizeof err);
	if (rc != 0)
		fail_msg("httpd_start: %s", err);
	assert_true(httpd_port(h) > 0);
	return h;
}

static void assert_error_body(const struct reply *r, int status)
{
	json_error_t je;
	json_t *j = json_loads(r->body, 0, &je);
	if (j == NULL)
		fail_msg("not JSON: %s", r->body);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
	assert_non_null(json_string_value(json_object_get(j, "error")));
	json_decref(j);
}

static void test_httpd__routes_params_and_methods(void **state)
{
	(void)state;
	struct httpd *h = start(0, 0, 0);
	int port = httpd_port(h);
	struct reply r;

	call(port, "GET", "/things/abc?q=x%20y", NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body,
			    "{\"method\":\"GET\",\"path\":\"/things/abc\",\"id\":\"abc\",\"q\":\"x y\","
			    "\"bodylen\":0}");
	call(port, "POST", "/things/42/poke", "hello", 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"id\":\"42\""));
	assert_non_null(strstr(r.body, "\"bodylen\":5"));
	call(port, "GET", "/things", NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"path\":\"/things\""));

	call(port, "PUT", "/things/abc", "x", 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, DELETE");
	assert_error_body(&r, 405);
	call(port, "GET", "/things/abc/poke", NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST");
	call(port, "GET", "/nothing", NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_error_body(&r, 404);
	call(port, "GET", "/things/", NULL, 0, &r); /* an empty {param} does not match */
	assert_int_equal(r.status, 404);
	call(port, "GET", "/silent", NULL, 0, &r);
	assert_int_equal(r.status, 500);
	assert_error_body(&r, 500);
	/* a literal route owns its path: GET /things/special is not /things/{id} */
	call(port, "GET", "/things/special", NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST");

	struct httpd_stats st;
	httpd_get_stats(h, &st);
	assert_int_equal(st.requests, 9);
	assert_int_equal(st.by_code[200], 3);
	assert_int_equal(st.by_code[405], 3);
	assert_int_equal(st.by_code[404], 2);
	assert_int_equal(st.by_code[500], 1);
	httpd_stop(h);
}

static void test_httpd__body_limit(void **state)
{
	(void)state;
	struct httpd *h = start(0, 0, 100);
	int port = httpd_port(h);
	struct reply r;
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';

	call(port, "POST", "/things", big + 200, 0, &r); /* 99 bytes */
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"bodylen\":99"));
	big[199] = '\0'; /* 199 bytes */
	call(port, "POST", "/things", big, 0, &r);
	assert_int_equal(r.status, 413);
	assert_error_body(&r, 413);
	call(port, "POST", "/things", big, 1, &r); /* chunked: no Content-Length */
	assert_int_equal(r.status, 413);
	assert_error_body(&r, 413);
	call(port, "POST", "/things", "tiny", 1, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"bodylen\":4"));
	httpd_stop(h);
}

static void test_httpd__rate_limit(void **state)
{
	(void)state;
	/* 3 at once, then one every 10 s: the 4th request is refused */
	struct httpd *h = start(0.1, 3, 0);
	int port = httpd_port(h);
	struct reply r;
	for (int i = 0; i < 3; i++) {
		call(port, "GET", "/things", NULL, 0, &r);
		assert_int_equal(r.status, 200);
	}
	call(port, "GET", "/things", NULL, 0, &r);
	assert_int_equal(r.status, 429);
	assert_error_body(&r, 429);
	int ra = atoi(r.retry_after); /* 10 s less what the three calls took (slack for a loaded machine) */
	assert_true(ra >= 5 && ra <= 10);
	call(port, "GET", "/nothing", NULL, 0, &r); /* refused before routing */
	assert_int_equal(r.status, 429);
	struct httpd_stats st;
	httpd_get_stats(h, &st);
	assert_int_equal(st.rate_limited, 2);
	httpd_stop(h);
}

static void test_httpd__listen_addresses(void **state)
{
	(void)state;
	char host[64], err[256];
	int port;
	assert_int_equal(httpd_parse_listen("127.0.0.1:9464", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9464);
	assert_int_equal(httpd_parse_listen("[::1]:0", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(httpd_parse_listen(":80", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "");
	assert_int_not_equal(httpd_parse_listen("127.0.0.1", host, sizeof host, &port, err, sizeof err), 0);
	assert_int_not_equal(httpd_parse_listen("h:70000", host, sizeof host, &port, err, sizeof err), 0);
	assert_int_not_equal(httpd_parse_listen("::1:80", host, sizeof host, &port, err, sizeof err), 0);
	assert_int_equal(httpd_host_is_loopback("127.0.0.1"), 1);
	assert_int_equal(httpd_host_is_loopback("127.1.2.3"), 1);
	assert_int_equal(httpd_host_is_loopback("::1"), 1);
	assert_int_equal(httpd_host_is_loopback("0.0.0.0"), 0);
	assert_int_equal(httpd_host_is_loopback(""), 0);
	assert_int_equal(httpd_host_is_loopback("10.1.2.3"), 0);

	/* a port in use is a clear error */
	struct httpd *h = start(0, 0, 0);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", httpd_port(h));
	struct httpd_opts o = {.listen = addr, .routes = routes, .nroutes = 1};
	struct httpd *h2 = NULL;
	assert_int_equal(httpd_start(&o, &h2, err, sizeof err), -VIGIL_EIO);
	assert_non_null(strstr(err, "Address already in use"));
	httpd_stop(h);
}

static void test_httpd__match(void **state)
{
	(void)state;
	char buf[256];
	struct httpd_req q;
	assert_int_equal(httpd_match("/a/{x}/b/{y}", "/a/1/b/2", buf, sizeof buf, &q), 1);
	assert_int_equal(q.nparams, 2);
	assert_string_equal(q.pname[0], "x");
	assert_string_equal(q.pval[0], "1");
	assert_string_equal(q.pname[1], "y");
	assert_string_equal(q.pval[1], "2");
	assert_int_equal(httpd_match("/a/{x}", "/a/1/", buf, sizeof buf, &q), 0);
	assert_int_equal(httpd_match("/a/{x}", "/a", buf, sizeof buf, &q), 0);
	assert_int_equal(httpd_match("/a", "/a/", buf, sizeof buf, &q), 0);
	assert_int_equal(httpd_match("/a", "/ab", buf, sizeof buf, &q), 0);
	assert_int_equal(httpd_match("/", "/", buf, sizeof buf, &q), 1);
}

/* ---- the http: config map ---- */

static int load_text(const char *text, struct kafka_cfg **c, char *err, size_t errlen)
{
	char path[] = "/tmp/test_httpd_cfg.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = kafka_cfg_load_local(path, c, err, errlen);
	unlink(path);
	return rc;
}

static void test_httpd__config(void **state)
{
	(void)state;
	struct kafka_cfg *c = NULL;
	char err[512] = "";
	int rc = load_text("http:\n"
			   "  listen: 127.0.0.1:9464\n"
			   "  tokens:\n"
			   "    - {team: payments, token: \"env:TOK_P\"}\n"
			   "    - {admin: true, token: \"file:/etc/vigil/admin\"}\n"
			   "  open_reads: true\n"
			   "  max_body: 4096\n"
			   "  rate_limit: {rate: 5, burst: 10}\n"
			   "  audit_log: /tmp/a.jsonl\n",
			   &c, err, sizeof err);
	if (rc != 0)
		fail_msg("%s", err);
	assert_string_equal(c->http.listen, "127.0.0.1:9464");
	assert_int_equal(c->http.ntokens, 2);
	assert_string_equal(c->http.tokens[0].team, "payments");
	assert_string_equal(c->http.tokens[0].token, "env:TOK_P");
	assert_int_equal(c->http.tokens[1].admin, 1);
	assert_null(c->http.tokens[1].team);
	assert_int_equal(c->http.open_reads, 1);
	assert_int_equal(c->http.max_body, 4096);
	assert_true(c->http.rate > 4.99 && c->http.rate < 5.01);
	assert_true(c->http.burst > 9.99 && c->http.burst < 10.01);
	assert_string_equal(c->http.audit_log, "/tmp/a.jsonl");
	kafka_cfg_free(c);

	/* defaults: nothing set */
	assert_int_equal(load_text("rules: [r.yaml]\n", &c, err, sizeof err), 0);
	assert_null(c->http.listen);
	assert_int_equal(c->http.open_reads, -1);
	assert_true(c->http.rate < 0);
	kafka_cfg_free(c);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{"http: {tokens: [{team: a, token: plainsecret}]}\n",
		 "1:34: http.tokens.token: write env:VAR"},
		{"http: {tokens: [{team: a, admin: true, token: \"env:X\"}]}\n", "exactly one of team"},
		{"http: {tokens: [{team: a}]}\n", "token is required"},
		{"http: {listen: x, lisen: y}\n", "unknown key 'lisen'"},
		{"http: {open_reads: maybe}\n", "want true or false"},
		{"http: {max_body: 10}\n", "outside"},
		{"http: {rate_limit: {rate: 1, brust: 2}}\n", "unknown key 'brust'"},
		{"http: {tokens: [{team: a, token: \"env:X\"}, {admin: true, token: \"env:X\"}]}\n",
		 "the same token reference"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_not_equal(load_text(bad[i].text, &c, err, sizeof err), 0);
		if (strstr(err, bad[i].want) == NULL)
			fail_msg("case %zu: error '%s' does not say '%s'", i, err, bad[i].want);
		assert_null(strstr(err, "plainsecret"));
	}
	/* the Kafka roles still need their keys */
	char path[] = "/tmp/test_httpd_cfg.XXXXXX";
	int fd = mkstemp(path);
	assert_true(write(fd, "http: {listen: \"127.0.0.1:0\"}\n", 30) == 30);
	close(fd);
	assert_int_not_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_non_null(strstr(err, "input.topics is required"));
	unlink(path);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_httpd__routes_params_and_methods),
		cmocka_unit_test(test_httpd__body_limit),
		cmocka_unit_test(test_httpd__rate_limit),
		cmocka_unit_test(test_httpd__listen_addresses),
		cmocka_unit_test(test_httpd__match),
		cmocka_unit_test(test_httpd__config),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
