/* Fuzz target: the HTTP layer vigil puts on libmicrohttpd (core/httpd.c:
 * route matching with {params}, 404/405 with Allow, the body limit, the
 * per-client token bucket, the request log; cli/serve.c on top: bearer
 * tokens, authorisation, the gateway API's path parameters and query
 * arguments, the audit log). The only entry to the request path is a
 * running daemon, so the target runs the real one: one service started in
 * LLVMFuzzerInitialize on 127.0.0.1 port 0, with an admin and a team token,
 * the gateway API over a gateway restored with open, resolved, silenced and
 * acknowledged alerts, and a small body limit and rate. Each input is:
 *   u8 a, u8 b: the client's source address 127.1.a.b (the rate limit is
 *               per address: the limiter's table, eviction and 429 are
 *               reached)
 *   the rest:   raw bytes written to a new connection, which is then shut
 *               for writing; the answer is read until the server closes.
 * The target serves the gateway's queue (serve_service) while it waits, as
 * the owning loop does. The request's first line also goes through
 * httpd_match against every route pattern directly (the matcher's contract:
 * a match gives a non-empty value per {param}) and through
 * httpd_parse_listen. Contracts: the server answers within 8 s (or closes
 * an incomplete request), every answer is "HTTP/1.x NNN" with NNN
 * 100..599, and no token sent as a credential (an Authorization header)
 * reaches the audit log (one the client wrote into a path or body may:
 * the audit names the target asked for).
 * About a thousand inputs a second: a connection and a server thread each. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli/serve.h"
#include "core/chart.h"
#include "core/clock.h"
#include "core/httpd.h"
#include "core/log.h"
#include "tests/fuzz/fuzz_gw.h"

void __lsan_disable(void);
void __lsan_enable(void);

#define ADMIN_TOKEN "fuzz-admin-7d1f0c2a9b"
#define TEAM_TOKEN  "fuzz-team-storage-4e88"

static struct serve *sv;
static struct gateway *gw;
static int port;
static char audit[256];

/* ---- seeds (VIGIL_FUZZ_SEEDS=DIR: one request per route, with the
 * tokens, real episode ids of this gateway, queries and bodies) ---- */

static const char *const seed_reqs[] = {
	"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	"GET /metrics HTTP/1.0\r\n\r\n",
	"GET /api/v1/alerts?owner=storage&state=firing HTTP/1.1\r\nHost: x\r\nAuthorization: "
	"Bearer " TEAM_TOKEN "\r\n\r\n",
	"GET /api/v1/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN "\r\n\r\n",
	"GET /api/v1/alerts/@EP@ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN "\r\n\r\n",
	"GET /api/v1/alerts/@EP@/chart.svg?exp=1900000000&sig=00ff HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /api/v1/alerts/@EP@/chart.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TEAM_TOKEN
	"\r\n\r\n",
	"POST /api/v1/alerts/@EP@/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TEAM_TOKEN
	"\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"by\": \"alice\", \"comment\": "
	"\"on it now\"}",
	"POST /api/v1/alerts/@EP@/unack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN
	"\r\nContent-Length: 2\r\n\r\n{}",
	"GET /api/v1/silences?owner=storage HTTP/1.1\r\nHost: x\r\nAuthorization: bearer " TEAM_TOKEN
	"\r\n\r\n",
	"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TEAM_TOKEN
	"\r\nContent-Length: 87\r\n\r\n{\"owner\": \"storage\", \"matchers\": [\"host=db1\"], \"duration\": "
	"\"1h\", \"comment\": \"deploy\"}",
	"POST /api/v1/silences/preview HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN
	"\r\nTransfer-Encoding: chunked\r\n\r\n2b\r\n{\"owner\": \"storage\", \"matchers\": "
	"[\"host=~db.*\"]}\r\n0\r\n\r\n",
	"DELETE /api/v1/silences/0000000000000001 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN
	"\r\n\r\n",
	"GET /api/v1/rules HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN "\r\n\r\n",
	"GET /api/v1/rules/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN "\r\n\r\n",
	"GET /api/v1/owners HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n",
	"POST /api/v2/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " ADMIN_TOKEN
	"\r\nContent-Length: 79\r\n\r\n[{\"labels\": {\"alertname\": \"x\", \"owner\": \"storage\"}, "
	"\"startsAt\": \"2026-03-02T08:15:00Z\"}]",
	"GET /api/v1/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"abc\"\r\n\r\n",
	"GET /console/app.js HTTP/1.1\r\nHost: x\r\n\r\n",
	"PUT /api/v1/silences HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /api/v1/silences HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n{",
	"GET /api/v1/alerts/%2e%2e/ack HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
};

static void write_seeds(const char *dir)
{
	struct buf b = {0};
	char ep[64] = "0123456789abcdef";
	if (gateway_alerts_json(gw, NULL, NULL, &b) == 0 && buf_ok(&b)) {
		json_error_t je;
		json_t *all = json_loadb((const char *)b.data, b.len, 0, &je);
		const char *e = json_string_value(json_object_get(json_array_get(all, 0), "episode"));
		if (e != NULL)
			snprintf(ep, sizeof ep, "%s", e);
		json_decref(all);
	}
	buf_free(&b);
	for (size_t i = 0; i < sizeof seed_reqs / sizeof seed_reqs[0]; i++) {
		char req[2048], path[1024];
		const char *s = seed_reqs[i], *at = strstr(s, "@EP@");
		/* the source address bytes, then the request */
		int n = at ? snprintf(req, sizeof req, "%c%c%.*s%s%s", 1, (int)(i + 1), (int)(at - s), s, ep,
				      at + 4)
			   : snprintf(req, sizeof req, "%c%c%s", 1, (int)(i + 1), s);
		snprintf(path, sizeof path, "%s/req_%02zu", dir, i);
		if (n < 0 || (size_t)n >= sizeof req ||
		    fuzz_write_file(path, (const uint8_t *)req, (size_t)n) != 0)
			fprintf(stderr, "fuzz_httpd: cannot write %s\n", path);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512], state[256];
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	/* fontconfig's one-time setup under cairo's first text (chart.png)
	 * leaves blocks LSan calls leaked; it happens here, unchecked, rather
	 * than in whichever input draws first (chart_release frees the caches
	 * at exit of a real process) */
	struct buf png = {0};
	struct chart_input ci = {.title = "warm-up", .subtitle = "fuzz"};
	__lsan_disable();
	chart_png(&ci, &png);
	__lsan_enable();
	buf_free(&png);
	struct ruleset *rs = fuzz_gw_ruleset(); /* kept: the gateway and the service borrow it */
	struct gateway_opts go = {.fallback_sink = "stdout", .data_time = 1};
	if (gateway_create(rs, &go, &gw, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_httpd: gateway: %s\n", err);
		abort();
	}
	fuzz_gw_drive(gw, -1);
	setenv("VIGIL_FUZZ_ADMIN_TOKEN", ADMIN_TOKEN, 1);
	setenv("VIGIL_FUZZ_TEAM_TOKEN", TEAM_TOKEN, 1);
	struct http_token toks[2] = {
		{.admin = 1, .token = "env:VIGIL_FUZZ_ADMIN_TOKEN", .where = "fuzz:1:1"},
		{.team = "storage", .token = "env:VIGIL_FUZZ_TEAM_TOKEN", .where = "fuzz:2:1"},
	};
	fuzz_tmp_path(audit, sizeof audit, "audit.jsonl");
	struct http_cfg c = {.listen = "127.0.0.1:0",
			     .tokens = toks,
			     .ntokens = 2,
			     .open_reads = 0,
			     .max_body = 4096,
			     .max_silences = 50,
			     .rate = 2,
			     .burst = 8,
			     .audit_log = audit};
	fuzz_tmp_path(state, sizeof state, "state");
	mkdir(state, 0700);
	struct serve_opts so = {.cfg = &c, .rs = rs, .state_dir = state, .gateway_api = 1, .prog = "fuzz"};
	if (serve_start(&so, &sv, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_httpd: serve: %s\n", err);
		abort();
	}
	serve_set_ready(sv, 1, NULL);
	serve_publish_metrics(sv, "vigil_up 1\n", 11);
	port = serve_port(sv);
	const char *seeds = getenv("VIGIL_FUZZ_SEEDS");
	if (seeds != NULL && *seeds != '\0')
		write_seeds(seeds);
	return 0;
}

/* The pure parts on the request line: "METHOD TARGET VERSION". */
static void match_line(const uint8_t *data, size_t size)
{
	char line[600], *sp, *path, *q;
	size_t n = 0;
	while (n < size && n + 1 < sizeof line && data[n] != '\r' && data[n] != '\n' && data[n] != '\0') {
		line[n] = (char)data[n];
		n++;
	}
	line[n] = '\0';
	char host[64], err[256];
	int p;
	if (httpd_parse_listen(line, host, sizeof host, &p, err, sizeof err) == 0 && (p < 0 || p > 65535))
		abort();
	if ((sp = strchr(line, ' ')) == NULL)
		return;
	path = sp + 1;
	if ((sp = strchr(path, ' ')) != NULL)
		*sp = '\0';
	if ((q = strchr(path, '?')) != NULL)
		*q = '\0';
	size_t nr;
	const struct httpd_route *rt = serve_routes(&nr);
	for (size_t i = 0; i < nr; i++) {
		size_t blen = strlen(rt[i].pattern) + strlen(path) + 2;
		char *buf = malloc(blen);
		struct httpd_req req = {0};
		if (buf == NULL)
			return;
		if (httpd_match(rt[i].pattern, path, buf, blen, &req)) {
			for (size_t j = 0; j < req.nparams; j++)
				if (req.pval[j][0] == '\0' || httpd_param(&req, req.pname[j]) == NULL)
					abort();
		}
		free(buf);
	}
}

static int connect_from(uint8_t a, uint8_t b)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	if (fd < 0)
		return -1;
	src.sin_addr.s_addr = htonl(0x7f010000u | (uint32_t)a << 8 | b);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons((uint16_t)port);
	/* without the 127/8 route (unusual) every input comes from 127.0.0.1 */
	if ((bind(fd, (struct sockaddr *)&src, sizeof src) != 0 && errno != EADDRNOTAVAIL) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when tok occurs in the request outside its Authorization header lines
 * (a client may put any text in a path or body, and the audit log names
 * the target it asked for). */
static int token_elsewhere(const uint8_t *data, size_t size, const char *tok)
{
	uint8_t *c = malloc(size ? size : 1);
	size_t at = 0;
	int found;
	if (c == NULL)
		return 1;
	memcpy(c, data, size);
	while (at < size) { /* blank the Authorization lines */
		const uint8_t *nl = memchr(c + at, '\n', size - at);
		size_t end = nl ? (size_t)(nl - c) + 1 : size;
		if (end - at >= 14 && strncasecmp((const char *)c + at, "Authorization:", 14) == 0)
			memset(c + at, ' ', end - at);
		at = end;
	}
	found = memmem(c, size, tok, strlen(tok)) != NULL;
	free(c);
	return found;
}

/* No token value the client sent as its credentials in the audit log. */
static void check_audit(const uint8_t *data, size_t size)
{
	static long seen;
	FILE *f = fopen(audit, "r");
	char line[8192];
	int adm = !token_elsewhere(data, size, ADMIN_TOKEN), team = !token_elsewhere(data, size, TEAM_TOKEN);
	if (f == NULL)
		return;
	if (fseek(f, seen, SEEK_SET) != 0) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof line, f) != NULL)
		if ((adm && strstr(line, ADMIN_TOKEN)) || (team && strstr(line, TEAM_TOKEN))) {
			fprintf(stderr, "fuzz_httpd: a token in the audit log: %s", line);
			abort();
		}
	seen = ftell(f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char resp[65536];
	size_t got = 0;
	if (size < 2)
		return 0;
	match_line(data + 2, size - 2);
	int fd = connect_from(data[0], data[1]);
	if (fd < 0)
		return 0;
	/* the whole request, then EOF: a short one is the server's to refuse */
	size_t off = 2;
	while (off < size) {
		ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* the server answered early (413, 429) and closed */
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	double deadline = clock_mono_real() + 8.0;
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		serve_service(sv, gw);
		int pr = poll(&pf, 1, 2);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr > 0) {
			char tmp[16384];
			ssize_t r = recv(fd, tmp, sizeof tmp, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break; /* closed (or reset on an unread body) */
			size_t keep = got + (size_t)r < sizeof resp ? (size_t)r : sizeof resp - got;
			memcpy(resp + got, tmp, keep);
			got += keep;
		}
		if (clock_mono_real() > deadline) {
			fprintf(stderr, "fuzz_httpd: no answer and no close in 8 s\n");
			abort();
		}
	}
	close(fd);
	serve_service(sv, gw);
	/* every answer in the stream starts with a sane status line (MHD may
	 * answer a malformed request itself; that is its own 400) */
	if (got >= 12) {
		if (memcmp(resp, "HTTP/1.", 7) != 0) {
			fprintf(stderr, "fuzz_httpd: not an HTTP answer: %.40s\n", resp);
			abort();
		}
		int st = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
		if (st < 100 || st > 599)
			abort();
	}
	check_audit(data + 2, size - 2);
	return 0;
}
