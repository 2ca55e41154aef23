/* Tests for the network destinations (sinks/sink_{pagerduty,webhook,slack,
 * alertmanager,email,kafka}.c), their shared HTTP POST (sinks/http.c) and
 * secrets in settings (core/secret.c).
 *
 * The group setup starts real receivers on loopback and the teardown kills
 * them (each child also dies with this process: PR_SET_PDEATHSIG):
 *  - tests/fixtures/receivers/http_receiver.py: records every request to a
 *    JSONL file, answers 500 / 429 + Retry-After / 400 / hang by path;
 *  - Prometheus Alertmanager (/usr/bin/prometheus-alertmanager), alone
 *    (no cluster), with a temporary storage dir;
 *  - an SMTP server (python3 -m aiosmtpd, Mailbox handler into a Maildir).
 * Kafka needs a broker: only its settings and its refusal without the
 * process's Kafka config are tested here. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "core/alert.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/secret.h"
#include "sinks/http.h"
#include "sinks/notify_ident.h"
#include "sinks/gateway.h"
#include "sinks/outbox.h"
#include "sinks/sink.h"

#define PY     "/usr/bin/python3" /* the Debian python, which has aiosmtpd */
#define AM_BIN "/usr/bin/prometheus-alertmanager"

/* A recognisable 32-character routing key that must never leak. */
#define PD_KEY      "PDTESTKEY0123456789abcdefghijklm"
#define SLACK_TOKEN "XXXXslacktokenDONOTLEAK"

static char tmpdir[256];
static pid_t recv_pid, am_pid, smtp_pid, broker_pid;
static int recv_port, am_port, smtp_port;
static char recv_log[300], maildir[300];

/* ---- processes ---- */

static pid_t spawn(char *const argv[], const char *logpath)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(-*pid, SIGKILL);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void reap_all(void)
{
	reap(&recv_pid);
	reap(&am_pid);
	reap(&smtp_pid);
	reap(&broker_pid);
}

static int alive(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int tcp_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- tiny HTTP GET for reading Alertmanager back ---- */

struct got {
	char *p;
	size_t n;
};

static size_t got_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct got *g = ud;
	size_t n = size * nmemb;
	char *q = realloc(g->p, g->n + n + 1);
	if (!q)
		return 0;
	memcpy(q + g->n, ptr, n);
	g->n += n;
	q[g->n] = '\0';
	g->p = q;
	return n;
}

/* GET url; returns the status and *body (caller frees) */
static long http_get(const char *url, char **body)
{
	struct got g = {0};
	long status = 0;
	CURL *h = curl_easy_init();
	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, got_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (body)
		*body = g.p;
	else
		free(g.p);
	return status;
}

/* ---- group setup: receivers ---- */

static int start_http_receiver(void)
{
	char portfile[300], outlog[300];
	snprintf(recv_log, sizeof recv_log, "%s/requests.jsonl", tmpdir);
	snprintf(portfile, sizeof portfile, "%s/recv.port", tmpdir);
	snprintf(outlog, sizeof outlog, "%s/recv.out", tmpdir);
	char *argv[] = {PY,
			"tests/fixtures/receivers/http_receiver.py",
			"--log",
			recv_log,
			"--port-file",
			portfile,
			"--rule",
			"/ok=202:{\"status\":\"success\"}",
			"--rule",
			"/e500=500:internal trouble",
			"--rule",
			"/e429=429:2",
			"--rule",
			"/e400=400:{\"errors\":[\"Event object is invalid\"]}",
			"--rule",
			"/leak400=400:invalid routing key " PD_KEY,
			"--rule",
			"/hang=hang",
			"--rule",
			"/e302=302:moved",
			"--rule",
			"/services/T0/B0/" SLACK_TOKEN "=500:no",
			NULL};
	recv_pid = spawn(argv, outlog);
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &recv_port) == 1;
			fclose(f);
			if (ok && tcp_open(recv_port))
				return 0;
		}
		if (!alive(recv_pid))
			break;
		sleep_ms(50);
	}
	fprintf(stderr, "http receiver did not start (see %s)\n", outlog);
	return -1;
}

static int start_alertmanager(void)
{
	char cfg[300], storage[300], listen[64], cfgarg[340], storarg[340], outlog[300], url[128];
	FILE *f;
	snprintf(cfg, sizeof cfg, "%s/am.yml", tmpdir);
	snprintf(storage, sizeof storage, "%s/am-data", tmpdir);
	snprintf(outlog, sizeof outlog, "%s/am.out", tmpdir);
	mkdir(storage, 0755);
	if (!(f = fopen(cfg, "w")))
		return -1;
	fputs("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n", f);
	fclose(f);
	am_port = free_port();
	snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", am_port);
	snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
	snprintf(storarg, sizeof storarg, "--storage.path=%s", storage);
	char *argv[] = {AM_BIN, cfgarg, storarg, listen, "--cluster.listen-address=", NULL};
	am_pid = spawn(argv, outlog);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/-/ready", am_port);
	for (int i = 0; i < 300; i++) {
		if (http_get(url, NULL) == 200)
			return 0;
		if (!alive(am_pid))
			break;
		sleep_ms(50);
	}
	fprintf(stderr, "alertmanager did not start (see %s)\n", outlog);
	return -1;
}

static int start_smtp(void)
{
	char listen[64], outlog[300];
	snprintf(maildir, sizeof maildir, "%s/mail", tmpdir);
	snprintf(outlog, sizeof outlog, "%s/smtp.out", tmpdir);
	smtp_port = free_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%d", smtp_port);
	char *argv[] = {PY,      "-m", "aiosmtpd", "-n", "-l", listen, "-c", "aiosmtpd.handlers.Mailbox",
			maildir, NULL};
	smtp_pid = spawn(argv, outlog);
	for (int i = 0; i < 200; i++) {
		if (tcp_open(smtp_port))
			return 0;
		if (!alive(smtp_pid))
			break;
		sleep_ms(50);
	}
	fprintf(stderr, "smtp server did not start (see %s)\n", outlog);
	return -1;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vigil-test-sinks-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(reap_all);
	if (start_http_receiver() || start_alertmanager() || start_smtp()) {
		reap_all();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[400];
	(void)state;
	reap_all();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return 0;
}

/* ---- fixtures ---- */

struct fix {
	struct alert_event ev;
	struct notification n;
	char *json;
};

static void fix_make(struct fix *f, enum alert_status st, double now)
{
	memset(f, 0, sizeof *f);
	f->ev.status = st;
	f->ev.rule = "disk-latency";
	f->ev.owner = "storage";
	f->ev.action = "page";
	f->ev.detector = "mad";
	f->ev.series = "disk.write_latency{cluster=eu-1,host=db1}";
	f->ev.name = "disk.write_latency";
	f->ev.runbook_url = "https://runbooks.example/disk";
	f->ev.labels[0] = (struct kv){"cluster", "eu-1", NULL};
	f->ev.labels[1] = (struct kv){"host", "db1", NULL};
	f->ev.labels[2] = (struct kv){"team", "storage", NULL};
	f->ev.nlabels = 3;
	f->ev.started = now - 120;
	f->ev.ts = st == ALERT_RESOLVED ? now - 1 : now - 60;
	f->ev.value = 41.2;
	f->ev.expected = 13.1;
	f->ev.lower = 8.0;
	f->ev.upper = 19.5;
	f->ev.score = 0.993;
	f->ev.direction = "up";
	f->ev.threshold = 0.99;
	f->ev.source = "test";
	json_t *j = alert_to_json(&f->ev);
	assert_non_null(j);
	f->json = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	f->n.ev = &f->ev;
	f->n.fingerprint = "5c1e0d9a77b2f403";
	f->n.episode = "7f3a91aa00bb11cc";
	f->n.dedup_key = "vigil/5c1e0d9a77b2f403/7f3a91aa00bb11cc";
	f->n.owner = "storage";
	f->n.json = f->json;
	f->n.json_len = strlen(f->json);
}

static void fix_free(struct fix *f)
{
	free(f->json);
}

/* Create a destination of type from "key=value" strings; fails the test
 * with the error on failure. */
static void *dest_new(const char *type, const struct sink_env *env, char *err, size_t errlen, int expect_ok,
		      int n, ...)
{
	const struct sink_type *t = sink_find(type);
	struct kv kv[8];
	char keys[8][64], where[8][32];
	void *priv = NULL;
	va_list ap;
	assert_non_null(t);
	assert_true(n <= 8);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		const char *eq = strchr(s, '=');
		snprintf(keys[i], sizeof keys[i], "%.*s", (int)(eq - s), s);
		snprintf(where[i], sizeof where[i], "owners.yml:%d:5", 10 + i);
		kv[i] = (struct kv){keys[i], eq + 1, where[i]};
	}
	va_end(ap);
	err[0] = '\0';
	int rc = t->create(env, kv, (size_t)n, &priv, err, errlen);
	if (expect_ok && rc != 0)
		fail_msg("create %s: %s", type, err);
	if (!expect_ok) {
		assert_int_not_equal(rc, 0);
		assert_true(err[0] != '\0');
		return NULL;
	}
	return priv;
}

static struct sink_result do_send(const char *type, void *priv, const struct notification *n)
{
	struct sink_result r;
	memset(&r, 0x5a, sizeof r);
	sink_find(type)->send(priv, n, &r);
	assert_true(memchr(r.detail, '\0', sizeof r.detail) != NULL);
	return r;
}

static char *url_of(const char *path)
{
	static char u[8][128];
	static int i;
	i = (i + 1) % 8;
	snprintf(u[i], sizeof u[i], "url=http://127.0.0.1:%d%s", recv_port, path);
	return u[i];
}

/* The requests the receiver logged for path, oldest first (a JSON array). */
static json_t *requests(const char *path)
{
	json_t *out = json_array();
	FILE *f = fopen(recv_log, "r");
	char *line = NULL;
	size_t cap = 0;
	if (!f)
		return out;
	while (getline(&line, &cap, f) > 0) {
		json_t *r = json_loads(line, 0, NULL);
		if (r && !strcmp(json_string_value(json_object_get(r, "path")), path))
			json_array_append_new(out, r);
		else
			json_decref(r);
	}
	free(line);
	fclose(f);
	return out;
}

/* How many requests the receiver logged for path. */
static size_t nrequests(const char *path)
{
	json_t *rs = requests(path);
	size_t n = json_array_size(rs);
	json_decref(rs);
	return n;
}

/* The body of request i for path, parsed. */
static json_t *request_body(const char *path, size_t i)
{
	json_t *rs = requests(path), *b = NULL;
	if (i < json_array_size(rs))
		b = json_loads(json_string_value(json_object_get(json_array_get(rs, i), "body")), 0, NULL);
	json_decref(rs);
	if (!b)
		fail_msg("no request %zu on %s", i, path);
	return b;
}

static const char *jstr(json_t *o, const char *path)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	if (!o || !json_is_string(o))
		fail_msg("%s is not a string", path);
	return json_string_value(o);
}

static void assert_has(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("'%s' not found in '%s'", needle, hay ? hay : "(null)");
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (hay && strstr(hay, needle))
		fail_msg("'%s' must not appear in '%s'", needle, hay);
}

/* ---- core/secret ---- */

/* Literal credentials in a file every user can read are refused; env:/file:
 * references, plain URLs and files only the owner reads are fine. */
static void test_secret_literal_guard(void **state)
{
	char path[] = "/tmp/vigil-test-guard-XXXXXX", where[128], err[512];
	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(where, sizeof where, "%s:4:27", path);
	assert_true(secret_literal_is_credential("0123456789abcdef0123456789abcdef", "routing_key"));
	assert_true(secret_literal_is_credential("hunter2", "password"));
	assert_true(secret_literal_is_credential("https://u:p@am.example/", "url"));
	assert_true(secret_literal_is_credential("https://hooks.slack.com/services/T0/B0/x", "url"));
	assert_true(secret_literal_is_credential("https://h.example/hook?a=1&token=x", "url"));
	assert_false(secret_literal_is_credential("https://h.example/hook", "url"));
	assert_false(secret_literal_is_credential("https://u@h.example/hook?page=2", "url"));
	assert_false(secret_literal_is_credential("env:PD_KEY", "routing_key"));
	assert_false(secret_literal_is_credential("file:/etc/vigil/pd", "password"));
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(secret_literal_guard("hunter2", "password", where, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, ":4:27: password holds a literal credential"));
	assert_non_null(strstr(err, "readable by every user (mode 0644)"));
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(secret_literal_guard("env:X", "password", where, err, sizeof err), 0);
	assert_int_equal(secret_literal_guard("https://h.example/", "url", where, err, sizeof err), 0);
	assert_int_equal(secret_literal_guard("hunter2", "password", NULL, err, sizeof err), 0);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(secret_literal_guard("hunter2", "password", where, err, sizeof err), 0);
	unlink(path);
}

static void test_secret_resolve(void **state)
{
	char err[512], *v = NULL, path[320];
	FILE *f;
	(void)state;

	setenv("VIGIL_T_SECRET", "s3cr3t-value-xyz", 1);
	assert_int_equal(secret_resolve("env:VIGIL_T_SECRET", "password", "o.yml:3:7", &v, err, sizeof err),
			 0);
	assert_string_equal(v, "s3cr3t-value-xyz");
	secret_free(v);

	snprintf(path, sizeof path, "%s/key.txt", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("file-secret-abc\r\nsecond line\n", f);
	fclose(f);
	char ref[340];
	snprintf(ref, sizeof ref, "file:%s", path);
	assert_int_equal(secret_resolve(ref, "password", "o.yml:3:7", &v, err, sizeof err), 0);
	assert_string_equal(v, "file-secret-abc");
	secret_free(v);

	assert_int_equal(secret_resolve("literal-pw", "password", NULL, &v, err, sizeof err), 0);
	assert_string_equal(v, "literal-pw");
	secret_free(v);

	/* errors name the setting, where and the variable, never the value */
	unsetenv("VIGIL_T_UNSET");
	assert_int_not_equal(
		secret_resolve("env:VIGIL_T_UNSET", "routing_key", "o.yml:4:9", &v, err, sizeof err), 0);
	assert_null(v);
	assert_has(err, "o.yml:4:9");
	assert_has(err, "routing_key");
	assert_has(err, "VIGIL_T_UNSET");
	assert_has(err, "not set");
	setenv("VIGIL_T_EMPTY", "", 1);
	assert_int_not_equal(secret_resolve("env:VIGIL_T_EMPTY", "k", "w", &v, err, sizeof err), 0);
	assert_has(err, "empty");
	assert_int_not_equal(secret_resolve("file:/nonexistent/x", "k", "w", &v, err, sizeof err), 0);
	assert_has(err, "/nonexistent/x");
	/* a pasted secret after env: is not echoed */
	assert_int_not_equal(secret_check("env:abc def-SECRETISH", "k", "w", err, sizeof err), 0);
	assert_lacks(err, "SECRETISH");
	assert_int_not_equal(secret_check("", "k", "w", err, sizeof err), 0);

	/* scrub */
	char text[128];
	snprintf(text, sizeof text, "key=%s and again %s; cut %.10s", PD_KEY, PD_KEY, PD_KEY);
	secret_scrub(text, PD_KEY);
	assert_lacks(text, PD_KEY);
	assert_lacks(text, "PDTESTKEY0");
	assert_has(text, "key=*** and again ***");
}

static void test_url_origin(void **state)
{
	char out[128];
	(void)state;
	assert_int_equal(
		secret_url_origin("https://user:pw@hooks.slack.com/services/T/B/tok?x=1#f", out, sizeof out),
		0);
	assert_string_equal(out, "https://hooks.slack.com");
	assert_int_equal(secret_url_origin("HTTP://127.0.0.1:9093/api/v2/alerts", out, sizeof out), 0);
	assert_string_equal(out, "http://127.0.0.1:9093");
	assert_int_equal(secret_url_origin("http://[::1]:8080/x", out, sizeof out), 0);
	assert_string_equal(out, "http://[::1]:8080");
	assert_int_equal(secret_url_origin("smtp://mail.example", out, sizeof out), 0);
	assert_string_equal(out, "smtp://mail.example");
	assert_int_not_equal(secret_url_origin("not a url/with/token", out, sizeof out), 0);
	assert_lacks(out, "token");
	assert_int_not_equal(secret_url_origin("http://", out, sizeof out), 0);
	assert_int_not_equal(secret_url_origin("http://h:99999/", out, sizeof out), 0);
}

static void test_retry_after_and_verdicts(void **state)
{
	(void)state;
	assert_true(fabs(http_retry_after("2", 1000) - 2) < 1e-9);
	assert_true(fabs(http_retry_after(" 120 ", 1000) - 120) < 1e-9);
	assert_true(fabs(http_retry_after(NULL, 1000) - 0) < 1e-9);
	assert_true(fabs(http_retry_after("soon", 1000) - 0) < 1e-9);
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	assert_true(fabs(http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0 - 30) - 30) < 1e-9);
	assert_true(fabs(http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0 + 30) - 0) < 1e-9);
	assert_int_equal(http_verdict(200), SINK_OK);
	assert_int_equal(http_verdict(202), SINK_OK);
	assert_int_equal(http_verdict(408), SINK_RETRY);
	assert_int_equal(http_verdict(429), SINK_RETRY);
	assert_int_equal(http_verdict(503), SINK_RETRY);
	assert_int_equal(http_verdict(400), SINK_DROP);
	assert_int_equal(http_verdict(404), SINK_DROP);
}

/* ---- settings: check() == create()'s validation, no side effects ---- */

static int run_check(const char *type, int n, const struct kv *kv, char *err, size_t errlen)
{
	err[0] = '\0';
	return sink_find(type)->check(kv, (size_t)n, err, errlen);
}

/* destinations.allow_hosts (issue 16): a destination naming a host not on
 * the list is refused by check() and create() at the setting's position,
 * with the host and where the list is; globs match without case; a secret
 * URL is named by its reference only; PagerDuty's built-in URL is checked
 * too; http.h says unset = every host. */
static void test_allow_hosts(void **state)
{
	char *globs[] = {"127.0.0.1", "*.example.com", "::1"};
	char err[512];
	(void)state;

	assert_true(dest_host_allowed("anything.invalid"));
	assert_int_equal(dest_allow_hosts_set(globs, 3, "vigil.yaml:4:16"), 0);
	assert_true(dest_host_allowed("127.0.0.1"));
	assert_true(dest_host_allowed("hooks.EXAMPLE.com"));
	assert_true(dest_host_allowed("a.b.example.com"));
	assert_true(dest_host_allowed("::1"));
	assert_false(dest_host_allowed("example.com"));
	assert_false(dest_host_allowed("example.com.evil.net"));
	assert_false(dest_host_allowed("127.0.0.2"));

	struct kv ok[] = {{"url", "http://127.0.0.1:9/hook", "o:3:9"}};
	assert_int_equal(run_check("webhook", 1, ok, err, sizeof err), 0);
	struct kv ok6[] = {{"url", "http://[::1]:9/hook", "o:3:9"}};
	assert_int_equal(run_check("webhook", 1, ok6, err, sizeof err), 0);
	struct kv sl[] = {{"url", "https://hooks.example.com/services/T0/B0/XXXX", "o:3:9"}};
	assert_int_equal(run_check("slack", 1, sl, err, sizeof err), 0);

	const char *types[] = {"webhook", "slack", "alertmanager"};
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(types); i++) {
		struct kv bad[] = {{"url", "http://localhost:9/hook?token=s3cret", "o:5:14"}};
		assert_int_equal(run_check(types[i], 1, bad, err, sizeof err), -VIGIL_EINVAL);
		assert_has(err, "o:5:14: ");
		assert_has(err, "host 'localhost' is not in destinations.allow_hosts (vigil.yaml:4:16)");
		assert_lacks(err, "s3cret");
	}
	/* userinfo that looks like a listed host: libcurl goes to the real host */
	struct kv ui[] = {{"url", "http://127.0.0.1@evil.example.net/x", "o:6:14"}};
	assert_int_equal(run_check("webhook", 1, ui, err, sizeof err), -VIGIL_EINVAL);
	assert_has(err, "host 'evil.example.net'");
	/* a secret URL: refused when resolved, named by its reference */
	setenv("VIGIL_T_HOOK", "https://elsewhere.test/s3cret", 1);
	struct kv sec[] = {{"url", "env:VIGIL_T_HOOK", "o:7:14"}};
	assert_int_equal(run_check("webhook", 1, sec, err, sizeof err), 0);
	dest_new("webhook", NULL, err, sizeof err, 0, 1, "url=env:VIGIL_T_HOOK");
	assert_has(err,
		   "url (from env:VIGIL_T_HOOK): host 'elsewhere.test' is not in destinations.allow_hosts");
	assert_lacks(err, "s3cret");
	unsetenv("VIGIL_T_HOOK");
	/* PagerDuty without url: its built-in events.pagerduty.com */
	struct kv pd[] = {{"routing_key", "0123456789abcdef0123456789abcdef", "o:8:14"}};
	assert_int_equal(run_check("pagerduty", 1, pd, err, sizeof err), -VIGIL_EINVAL);
	assert_has(err, "o:8:14: pagerduty destination: url: host 'events.pagerduty.com' is not in");
	assert_lacks(err, "0123456789abcdef");
	dest_allow_hosts_clear();
	assert_true(dest_host_allowed("localhost"));
	struct kv again[] = {{"url", "http://localhost:9/hook", "o:5:14"}};
	assert_int_equal(run_check("webhook", 1, again, err, sizeof err), 0);
}

static void test_settings(void **state)
{
	char err[512];
	(void)state;
	const char *types[] = {"pagerduty", "webhook", "alertmanager", "slack", "email", "kafka"};
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(types); i++) {
		struct kv bad[] = {{"colour", "red", "owners.yml:7:9"}};
		assert_non_null(sink_find(types[i]));
		assert_int_not_equal(run_check(types[i], 1, bad, err, sizeof err), 0);
		assert_has(err, "owners.yml:7:9");
		assert_has(err, "unknown setting 'colour'");
		assert_has(err, "known: ");
		assert_has(err, "timeout");
		/* missing required settings */
		assert_int_not_equal(run_check(types[i], 0, NULL, err, sizeof err), 0);
		assert_has(err, "required");
	}
	/* check() does not read secrets: an unset variable passes check, fails create */
	unsetenv("VIGIL_T_NOKEY");
	struct kv pd[] = {{"routing_key", "env:VIGIL_T_NOKEY", "o:1:1"}, {"timeout", "2s", "o:2:1"}};
	assert_int_equal(run_check("pagerduty", 2, pd, err, sizeof err), 0);
	dest_new("pagerduty", NULL, err, sizeof err, 0, 1, "routing_key=env:VIGIL_T_NOKEY");
	assert_has(err, "VIGIL_T_NOKEY");
	/* a literal key of the wrong length: refused at check, value not shown */
	struct kv pdlit[] = {{"routing_key", "short-literal-key", "o:1:1"}};
	assert_int_not_equal(run_check("pagerduty", 1, pdlit, err, sizeof err), 0);
	assert_has(err, "32");
	assert_lacks(err, "short-literal-key");
	/* bad timeout, bad url scheme */
	struct kv wh[] = {{"url", "http://127.0.0.1:1/x", "o:1:1"}, {"timeout", "soon", "o:2:3"}};
	assert_int_not_equal(run_check("webhook", 2, wh, err, sizeof err), 0);
	assert_has(err, "o:2:3");
	struct kv wh2[] = {{"url", "ftp://127.0.0.1/x", "o:1:1"}};
	assert_int_not_equal(run_check("webhook", 1, wh2, err, sizeof err), 0);
	assert_has(err, "scheme");
	/* email */
	struct kv em[] = {{"smtp", "smtp://127.0.0.1:2525", "o:1:1"},
			  {"from", "vigil <alerts@example.com>", "o:2:1"},
			  {"to", "a@example.com, Bob <b@example.com>", "o:3:1"},
			  {"password", "env:VIGIL_T_NOPW", "o:4:1"},
			  {"username", "env:VIGIL_T_NOUSER", "o:5:1"}};
	assert_int_equal(run_check("email", 5, em, err, sizeof err), 0);
	assert_int_not_equal(run_check("email", 4, em, err, sizeof err), 0); /* password without username */
	struct kv em2[] = {{"smtp", "smtp://127.0.0.1:2525", "o:1:1"},
			   {"from", "alerts@example.com", "o:2:1"},
			   {"to", "a@example.com, nobody", "o:3:1"}};
	assert_int_not_equal(run_check("email", 3, em2, err, sizeof err), 0);
	assert_has(err, "nobody");
	/* kafka: needs the process's kafka config */
	struct kv kf[] = {{"topic", "payments.alerts", "o:1:1"}};
	assert_int_equal(run_check("kafka", 1, kf, err, sizeof err), 0);
	dest_new("kafka", NULL, err, sizeof err, 0, 1, "topic=payments.alerts");
	assert_string_equal(
		err, "kafka destination needs the process's kafka: config (vigil run / gateway / replay -c)");
	struct kv kf2[] = {{"topic", "bad topic!", "o:1:1"}};
	assert_int_not_equal(run_check("kafka", 1, kf2, err, sizeof err), 0);
}

/* ---- payload shapes, against the recording receiver ---- */

static void test_pagerduty_payload(void **state)
{
	struct fix fire, res;
	struct sink_env env = {.kafka = NULL, .external_url = "https://vigil.example"};
	char err[512];
	double now = clock_wall();
	(void)state;

	setenv("PD_TEST_KEY", PD_KEY, 1);
	void *pd = dest_new("pagerduty", &env, err, sizeof err, 1, 3, "routing_key=env:PD_TEST_KEY",
			    url_of("/pd"), "timeout=5s");
	fix_make(&fire, ALERT_FIRING, now);
	fix_make(&res, ALERT_RESOLVED, now);
	struct sink_result r = do_send("pagerduty", pd, &fire.n);
	assert_int_equal(r.verdict, SINK_OK);
	assert_int_equal(r.status, 200);
	r = do_send("pagerduty", pd, &res.n);
	assert_int_equal(r.verdict, SINK_OK);

	json_t *t = request_body("/pd", 0), *z = request_body("/pd", 1);
	assert_string_equal(jstr(t, "routing_key"), PD_KEY);
	assert_int_equal(strlen(jstr(t, "routing_key")), 32);
	assert_string_equal(jstr(t, "event_action"), "trigger");
	assert_string_equal(jstr(z, "event_action"), "resolve");
	assert_string_equal(jstr(z, "routing_key"), PD_KEY);
	assert_string_equal(jstr(t, "dedup_key"), jstr(z, "dedup_key"));
	assert_string_equal(jstr(t, "dedup_key"), fire.n.dedup_key);
	const char *sev = jstr(t, "payload.severity");
	assert_true(!strcmp(sev, "critical") || !strcmp(sev, "error") || !strcmp(sev, "warning") ||
		    !strcmp(sev, "info"));
	assert_string_equal(sev, "critical"); /* action page */
	assert_true(strlen(jstr(t, "payload.summary")) <= 1024);
	assert_has(jstr(t, "payload.summary"), "disk-latency");
	assert_string_equal(jstr(t, "payload.source"), fire.ev.series);
	assert_string_equal(jstr(t, "payload.component"), "disk.write_latency");
	assert_string_equal(jstr(t, "payload.group"), "storage");
	assert_string_equal(jstr(t, "payload.class"), "mad anomaly");
	assert_has(jstr(t, "payload.timestamp"), "T");
	assert_string_equal(jstr(t, "client"), "vigil");
	json_t *cd = json_object_get(json_object_get(t, "payload"), "custom_details");
	assert_true(fabs(json_real_value(json_object_get(cd, "observed")) - 41.2) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(cd, "expected")) - 13.1) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(cd, "lower")) - 8.0) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(cd, "upper")) - 19.5) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(cd, "score")) - 0.993) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(cd, "threshold")) - 0.99) < 1e-9);
	assert_string_equal(jstr(cd, "direction"), "up");
	assert_string_equal(jstr(cd, "rule"), "disk-latency");
	assert_string_equal(jstr(cd, "fingerprint"), fire.n.fingerprint);
	assert_string_equal(jstr(cd, "episode"), fire.n.episode);
	assert_has(jstr(cd, "started"), "T");
	json_t *links = json_object_get(t, "links");
	assert_int_equal(json_array_size(links), 1);
	assert_string_equal(jstr(json_array_get(links, 0), "href"), "https://runbooks.example/disk");
	json_decref(t);
	json_decref(z);

	/* a long multi-byte summary is cut to <= 1024 bytes on a UTF-8 boundary */
	char *longsum = malloc(3000);
	size_t off = 0;
	while (off + 3 < 2999) {
		memcpy(longsum + off, "\xc3\xa9", 2); /* é */
		off += 2;
		longsum[off++] = 'x';
	}
	longsum[off] = '\0';
	fire.ev.summary = longsum;
	assert_int_equal(do_send("pagerduty", pd, &fire.n).verdict, SINK_OK);
	t = request_body("/pd", 2);
	assert_non_null(t); /* parsed: valid UTF-8 */
	assert_true(strlen(jstr(t, "payload.summary")) <= 1024);
	assert_true(strlen(jstr(t, "payload.summary")) >= 1020);
	json_decref(t);
	free(longsum);

	sink_find("pagerduty")->destroy(pd);
	fix_free(&fire);
	fix_free(&res);
}

static void test_webhook_payload(void **state)
{
	struct fix fire, res;
	struct sink_env env = {.kafka = NULL, .external_url = "https://vigil.example"};
	char err[512];
	double now = clock_wall();
	(void)state;

	void *wh = dest_new("webhook", &env, err, sizeof err, 1, 1, url_of("/wh"));
	fix_make(&fire, ALERT_FIRING, now);
	fix_make(&res, ALERT_RESOLVED, now);
	assert_int_equal(do_send("webhook", wh, &fire.n).verdict, SINK_OK);
	assert_int_equal(do_send("webhook", wh, &res.n).verdict, SINK_OK);
	for (int i = 0; i < 2; i++) {
		json_t *b = request_body("/wh", (size_t)i);
		const char *st = i == 0 ? "firing" : "resolved";
		assert_string_equal(jstr(b, "version"), "4");
		assert_has(jstr(b, "groupKey"), "alertname=\"disk-latency\"");
		assert_has(jstr(b, "groupKey"), "{owner=\"storage\"}");
		assert_string_equal(jstr(b, "status"), st);
		assert_string_equal(jstr(b, "receiver"), "storage");
		assert_string_equal(jstr(b, "groupLabels.alertname"), "disk-latency");
		assert_string_equal(jstr(b, "commonLabels.alertname"), "disk-latency");
		assert_string_equal(jstr(b, "commonLabels.cluster"), "eu-1");
		assert_has(jstr(b, "commonAnnotations.summary"), "disk-latency");
		assert_string_equal(jstr(b, "externalURL"), "https://vigil.example");
		assert_true(json_is_integer(json_object_get(b, "truncatedAlerts")));
		assert_int_equal(json_integer_value(json_object_get(b, "truncatedAlerts")), 0);
		json_t *alerts = json_object_get(b, "alerts");
		assert_int_equal(json_array_size(alerts), 1);
		json_t *a = json_array_get(alerts, 0);
		assert_string_equal(jstr(a, "status"), st);
		assert_string_equal(jstr(a, "labels.alertname"), "disk-latency");
		assert_string_equal(jstr(a, "labels.owner"), "storage");
		assert_string_equal(jstr(a, "labels.severity"), "critical");
		assert_string_equal(jstr(a, "labels.cluster"), "eu-1");
		assert_string_equal(jstr(a, "labels.host"), "db1");
		assert_string_equal(jstr(a, "labels.team"), "storage");
		assert_has(jstr(a, "annotations.summary"), "disk-latency");
		assert_string_equal(jstr(a, "annotations.runbook_url"), "https://runbooks.example/disk");
		assert_has(jstr(a, "annotations.description"), "observed 41.2");
		assert_has(jstr(a, "annotations.description"), "expected 13.1");
		assert_has(jstr(a, "annotations.description"), "band [8, 19.5]");
		assert_has(jstr(a, "startsAt"), "T");
		if (i == 0)
			assert_string_equal(jstr(a, "endsAt"), "0001-01-01T00:00:00Z");
		else
			assert_string_not_equal(jstr(a, "endsAt"), "0001-01-01T00:00:00Z");
		assert_string_equal(jstr(a, "generatorURL"), "https://vigil.example/rules/disk-latency");
		assert_string_equal(jstr(a, "fingerprint"), fire.n.fingerprint);
		json_decref(b);
	}
	json_t *rs = requests("/wh");
	assert_has(jstr(json_object_get(json_array_get(rs, 0), "headers"), "content-type"),
		   "application/json");
	json_decref(rs);
	sink_find("webhook")->destroy(wh);
	fix_free(&fire);
	fix_free(&res);
}

static void test_slack_payload(void **state)
{
	struct fix fire;
	char err[512], url[200];
	(void)state;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/slack", recv_port);
	setenv("SLACK_TEST_HOOK", url, 1);
	void *sl = dest_new("slack", NULL, err, sizeof err, 1, 1, "url=env:SLACK_TEST_HOOK");
	fix_make(&fire, ALERT_FIRING, clock_wall());
	fire.ev.summary = "write latency <3.1x> expected & rising";
	assert_int_equal(do_send("slack", sl, &fire.n).verdict, SINK_OK);
	json_t *b = request_body("/slack", 0);
	const char *text = jstr(b, "text");
	assert_has(text, fire.ev.series);
	assert_has(text, "observed 41.2");
	assert_has(text, "expected 13.1");
	assert_has(text, "https://runbooks.example/disk");
	assert_has(text, "critical");
	json_t *blocks = json_object_get(b, "blocks");
	assert_true(json_array_size(blocks) >= 3);
	char *all = json_dumps(blocks, 0);
	assert_has(all, "&lt;3.1x&gt; expected &amp; rising"); /* mrkdwn escaped */
	assert_has(all, "<https://runbooks.example/disk|Runbook>");
	free(all);
	json_decref(b);
	sink_find("slack")->destroy(sl);
	fix_free(&fire);
}

/* ---- verdicts ---- */

static void test_http_verdicts(void **state)
{
	struct fix fire;
	char err[512], refused[128];
	(void)state;
	fix_make(&fire, ALERT_FIRING, clock_wall());

	void *ok = dest_new("webhook", NULL, err, sizeof err, 1, 1, url_of("/ok"));
	struct sink_result r = do_send("webhook", ok, &fire.n);
	assert_int_equal(r.verdict, SINK_OK);
	assert_int_equal(r.status, 202);
	assert_true(fabs(r.retry_after - 0) < 1e-9);
	sink_find("webhook")->destroy(ok);

	void *e500 = dest_new("webhook", NULL, err, sizeof err, 1, 1, url_of("/e500"));
	r = do_send("webhook", e500, &fire.n);
	assert_int_equal(r.verdict, SINK_RETRY);
	assert_int_equal(r.status, 500);
	assert_has(r.detail, "500");
	/* the same handle again: reused, same answer */
	r = do_send("webhook", e500, &fire.n);
	assert_int_equal(r.verdict, SINK_RETRY);
	sink_find("webhook")->destroy(e500);

	void *e429 = dest_new("webhook", NULL, err, sizeof err, 1, 1, url_of("/e429"));
	r = do_send("webhook", e429, &fire.n);
	assert_int_equal(r.verdict, SINK_RETRY);
	assert_int_equal(r.status, 429);
	assert_true(fabs(r.retry_after - 2) < 1e-9);
	sink_find("webhook")->destroy(e429);
	/* PagerDuty's throttle: never sooner than 30 s, whatever it says */
	void *p429 =
		dest_new("pagerduty", NULL, err, sizeof err, 1, 2, url_of("/e429"), "routing_key=" PD_KEY);
	r = do_send("pagerduty", p429, &fire.n);
	assert_int_equal(r.verdict, SINK_RETRY);
	assert_int_equal(r.status, 429);
	assert_true(fabs(r.retry_after - 30) < 1e-9);
	sink_find("pagerduty")->destroy(p429);

	void *e400 = dest_new("webhook", NULL, err, sizeof err, 1, 1, url_of("/e400"));
	r = do_send("webhook", e400, &fire.n);
	assert_int_equal(r.verdict, SINK_DROP);
	assert_int_equal(r.status, 400);
	assert_has(r.detail, "Event object is invalid");
	assert_true(fabs(r.retry_after - 0) < 1e-9);
	sink_find("webhook")->destroy(e400);

	void *e302 = dest_new("webhook", NULL, err, sizeof err, 1, 1, url_of("/e302"));
	r = do_send("webhook", e302, &fire.n);
	assert_int_equal(r.verdict, SINK_DROP);
	sink_find("webhook")->destroy(e302);

	/* a receiver that never answers: RETRY once the 1s timeout is over */
	void *hang = dest_new("webhook", NULL, err, sizeof err, 1, 2, url_of("/hang"), "timeout=1s");
	double t0 = clock_mono();
	r = do_send("webhook", hang, &fire.n);
	double took = clock_mono() - t0;
	assert_int_equal(r.verdict, SINK_RETRY);
	assert_int_equal(r.status, 0);
	assert_true(took >= 0.9 && took < 3.0);
	sink_find("webhook")->destroy(hang);

	/* nobody listening */
	snprintf(refused, sizeof refused, "url=http://127.0.0.1:%d/x", free_port());
	void *cr = dest_new("webhook", NULL, err, sizeof err, 1, 1, refused);
	r = do_send("webhook", cr, &fire.n);
	assert_int_equal(r.verdict, SINK_RETRY);
	assert_int_equal(r.status, 0);
	assert_true(r.detail[0] != '\0');
	sink_find("webhook")->destroy(cr);
	fix_free(&fire);
}

/* ---- secrets never leak into errors, details or stderr ---- */

static void test_secrets_never_leak(void **state)
{
	struct fix fire;
	char err[512], logpath[320], url[200], refused[160];
	int saved_level = log_level, saved_fd;
	(void)state;

	setenv("PD_TEST_KEY", PD_KEY, 1);
	fix_make(&fire, ALERT_FIRING, clock_wall());
	snprintf(logpath, sizeof logpath, "%s/stderr.log", tmpdir);
	fflush(stderr);
	saved_fd = dup(2);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0 && saved_fd >= 0);
	dup2(fd, 2);
	close(fd);
	log_level = LOG_LEVEL_DEBUG;

	/* 400 whose body echoes the key */
	void *pd = dest_new("pagerduty", NULL, err, sizeof err, 1, 2, "routing_key=env:PD_TEST_KEY",
			    url_of("/leak400"));
	struct sink_result r = do_send("pagerduty", pd, &fire.n);
	int v400 = r.verdict;
	char d400[sizeof r.detail];
	memcpy(d400, r.detail, sizeof d400);
	sink_find("pagerduty")->destroy(pd);
	/* connection refused */
	snprintf(refused, sizeof refused, "url=http://127.0.0.1:%d/v2/enqueue", free_port());
	pd = dest_new("pagerduty", NULL, err, sizeof err, 1, 2, "routing_key=env:PD_TEST_KEY", refused);
	r = do_send("pagerduty", pd, &fire.n);
	int vref = r.verdict;
	char dref[sizeof r.detail];
	memcpy(dref, r.detail, sizeof dref);
	sink_find("pagerduty")->destroy(pd);
	/* bad URL: an error at create */
	char ebad[512];
	dest_new("pagerduty", NULL, ebad, sizeof ebad, 0, 2, "routing_key=env:PD_TEST_KEY", "url=http://");
	/* a key of the wrong length from the environment */
	setenv("PD_SHORT_KEY", "short-SECRET-value", 1);
	char eshort[512];
	dest_new("pagerduty", NULL, eshort, sizeof eshort, 0, 1, "routing_key=env:PD_SHORT_KEY");
	/* a Slack URL (the token is its path) answering 500 */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/services/T0/B0/%s", recv_port, SLACK_TOKEN);
	setenv("SLACK_LEAK_HOOK", url, 1);
	void *sl = dest_new("slack", NULL, err, sizeof err, 1, 1, "url=env:SLACK_LEAK_HOOK");
	r = do_send("slack", sl, &fire.n);
	int vsl = r.verdict;
	char dsl[sizeof r.detail];
	memcpy(dsl, r.detail, sizeof dsl);
	sink_find("slack")->destroy(sl);
	/* a Slack URL that is not a URL */
	setenv("SLACK_BAD_HOOK", "hooks.slack.com/services/" SLACK_TOKEN, 1);
	char eslack[512];
	dest_new("slack", NULL, eslack, sizeof eslack, 0, 1, "url=env:SLACK_BAD_HOOK");

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	log_level = saved_level;

	assert_int_equal(v400, SINK_DROP);
	assert_has(d400, "invalid routing key");
	assert_int_equal(vref, SINK_RETRY);
	assert_int_equal(vsl, SINK_RETRY);
	assert_has(dsl, "http://127.0.0.1:");
	assert_has(eshort, "PD_SHORT_KEY");
	assert_has(eshort, "32");
	const char *all[] = {d400, dref, ebad, eshort, dsl, eslack};
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(all); i++) {
		assert_lacks(all[i], PD_KEY);
		assert_lacks(all[i], "PDTESTKEY");
		assert_lacks(all[i], "short-SECRET-value");
		assert_lacks(all[i], SLACK_TOKEN);
		assert_lacks(all[i], "/services/");
	}
	FILE *f = fopen(logpath, "r");
	assert_non_null(f);
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		assert_lacks(line, PD_KEY);
		assert_lacks(line, SLACK_TOKEN);
		assert_lacks(line, "short-SECRET-value");
	}
	fclose(f);
	fix_free(&fire);
}

/* ---- a real Alertmanager ---- */

/* The alert of ours among Alertmanager's alerts (query: "" or "?..."), or NULL. */
static json_t *am_find(const char *query, const char *series)
{
	char url[200], *body = NULL;
	json_t *all, *found = NULL;
	size_t i;
	json_t *a;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v2/alerts%s", am_port, query);
	assert_int_equal(http_get(url, &body), 200);
	all = json_loads(body, 0, NULL);
	free(body);
	assert_true(json_is_array(all));
	json_array_foreach(all, i, a)
	{
		json_t *l = json_object_get(a, "labels");
		if (!strcmp(json_string_value(json_object_get(l, "alertname")), "disk-latency") &&
		    !strcmp(json_string_value(json_object_get(l, "series")), series))
			found = json_incref(a);
	}
	json_decref(all);
	return found;
}

/* 1 once Alertmanager no longer lists the alert of series as active (5 s). */
static int am_gone(const char *series)
{
	for (int i = 0; i < 50; i++) {
		json_t *a = am_find("?active=true", series);
		json_decref(a);
		if (a == NULL)
			return 1;
		sleep_ms(100);
	}
	return 0;
}

static void test_alertmanager_real(void **state)
{
	struct fix fire, res;
	struct sink_env env = {.kafka = NULL, .external_url = "http://vigil.example:8080"};
	char err[512], url[128];
	double now = clock_wall();
	(void)state;

	snprintf(url, sizeof url, "url=http://127.0.0.1:%d/", am_port);
	void *am = dest_new("alertmanager", &env, err, sizeof err, 1, 2, url, "lease=5m");
	fix_make(&fire, ALERT_FIRING, now);
	fix_make(&res, ALERT_RESOLVED, now);
	struct sink_result r = do_send("alertmanager", am, &fire.n);
	if (r.verdict != SINK_OK)
		fail_msg("firing post: %s", r.detail);
	assert_int_equal(r.status, 200);

	json_t *a = am_find("", fire.ev.series);
	assert_non_null(a);
	assert_string_equal(jstr(a, "labels.owner"), "storage");
	assert_string_equal(jstr(a, "labels.severity"), "critical");
	assert_string_equal(jstr(a, "labels.cluster"), "eu-1");
	assert_string_equal(jstr(a, "labels.host"), "db1");
	assert_string_equal(jstr(a, "annotations.runbook_url"), "https://runbooks.example/disk");
	assert_string_equal(jstr(a, "status.state"), "active");
	assert_string_equal(jstr(a, "generatorURL"), "http://vigil.example:8080/rules/disk-latency");
	json_decref(a);

	/* re-posting the firing alert (what the gateway does to keep it alive) is harmless */
	assert_int_equal(do_send("alertmanager", am, &fire.n).verdict, SINK_OK);

	r = do_send("alertmanager", am, &res.n);
	if (r.verdict != SINK_OK)
		fail_msg("resolve post: %s", r.detail);
	assert_true(am_gone(fire.ev.series));

	/* Alertmanager refuses an alert without labels: a 400 is a drop */
	sink_find("alertmanager")->destroy(am);
	fix_free(&fire);
	fix_free(&res);
}

/* Through the gateway: a firing alert to an Alertmanager destination is
 * re-posted every lease/4 while its episode is open (gateway_tick, the clock
 * driven by hand), so Alertmanager keeps it active; after the resolve the
 * re-posts stop and Alertmanager lets it go. */
static void test_alertmanager_repost(void **state)
{
	struct fix fire, res;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	char err[512], url[128];
	(void)state;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", am_port);
	struct kv kv[2] = {{"url", url, "owners.yml:4:9"}, {"lease", "1m", "owners.yml:5:9"}};
	struct destination_cfg dc = {
		.type = (char *)"alertmanager", .kv = kv, .nkv = 2, .where = (char *)"owners.yml:3:7"};
	struct owner ow = {
		.name = (char *)"storage", .where = (char *)"owners.yml:1:3", .dests = &dc, .ndests = 1};
	struct ruleset rs;
	memset(&rs, 0, sizeof rs);
	rs.owners = &ow;
	rs.nowners = 1;
	assert_int_equal(gateway_create(&rs, NULL, &gw, err, sizeof err), 0);

	double now = clock_wall();
	fix_make(&fire, ALERT_FIRING, now);
	fire.ev.series = "disk.write_latency{cluster=eu-1,host=db7}";
	fix_make(&res, ALERT_RESOLVED, now);
	res.ev.series = fire.ev.series;
	clock_fake_set(1000.0, now);
	assert_int_equal(gateway_submit(gw, &fire.ev), 0);
	assert_int_equal(gateway_drain(gw, 10), 0);
	gateway_tick(gw); /* not due yet */
	clock_fake_advance(14.0);
	gateway_tick(gw); /* 14 s < lease/4 = 15 s */
	gateway_get_stats(gw, &st);
	assert_int_equal(st.resends, 0);
	clock_fake_advance(2.0);
	gateway_tick(gw);
	clock_fake_advance(16.0);
	gateway_tick(gw);
	assert_int_equal(gateway_drain(gw, 10), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.resends, 2);
	assert_int_equal(st.delivered, 3);
	json_t *a = am_find("?active=true", fire.ev.series);
	assert_non_null(a);
	json_decref(a);
	assert_int_equal(gateway_submit(gw, &res.ev), 0);
	clock_fake_advance(60.0);
	gateway_tick(gw); /* closed: nothing more */
	assert_int_equal(gateway_drain(gw, 10), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.resends, 2);
	assert_int_equal(st.delivered, 4);
	clock_fake_off();
	assert_true(am_gone(fire.ev.series));
	gateway_destroy(gw);
	fix_free(&fire);
	fix_free(&res);
}

/* A hanging receiver delays only its own destination: another owner's
 * notifications, decided after the hanging one, are delivered long before
 * the hanging send times out, and
 * the gateway's caller is never blocked. */
static void test_hanging_destination_isolated(void **state)
{
	struct fix a, b;
	struct gateway *gw = NULL;
	struct gateway_stats st;
	char err[512], path[320], hang[160];
	(void)state;

	/* under valgrind (20-50 times slower) the file line may take seconds:
	 * the hanging receiver's timeout and the wait grow with it, so "long
	 * before the timeout" still holds */
	int slow = getenv("VIGIL_UNDER_VALGRIND") != NULL;
	snprintf(hang, sizeof hang, "http://127.0.0.1:%d/hang", recv_port);
	snprintf(path, sizeof path, "%s/isolated.jsonl", tmpdir);
	struct kv kva[2] = {{"url", hang, "owners.yml:4:9"},
			    {"timeout", slow ? "25s" : "8s", "owners.yml:5:9"}};
	struct kv kvb[1] = {{"path", path, "owners.yml:9:9"}};
	struct destination_cfg da = {
		.type = (char *)"webhook", .kv = kva, .nkv = 2, .where = (char *)"owners.yml:3:7"};
	struct destination_cfg db = {
		.type = (char *)"file", .kv = kvb, .nkv = 1, .where = (char *)"owners.yml:8:7"};
	struct owner ow[2] = {
		{.name = (char *)"slowteam", .where = (char *)"owners.yml:1:3", .dests = &da, .ndests = 1},
		{.name = (char *)"storage", .where = (char *)"owners.yml:6:3", .dests = &db, .ndests = 1}};
	struct ruleset rs;
	memset(&rs, 0, sizeof rs);
	rs.owners = ow;
	rs.nowners = 2;
	assert_int_equal(gateway_create(&rs, NULL, &gw, err, sizeof err), 0);
	double now = clock_wall();
	fix_make(&a, ALERT_FIRING, now);
	a.ev.owner = "slowteam";
	a.ev.series = "slow.metric{host=a}";
	fix_make(&b, ALERT_FIRING, now);
	double t0 = clock_mono();
	assert_int_equal(gateway_submit(gw, &a.ev), 0); /* its receiver hangs */
	assert_int_equal(gateway_submit(gw, &b.ev), 0);
	assert_true(clock_mono() - t0 < 0.5); /* deciding never waits for a receiver */
	int seen = 0;
	for (int i = 0; i < (slow ? 1500 : 500) && !seen; i++) {
		FILE *f = fopen(path, "r");
		char line[64];
		seen = f && fgets(line, sizeof line, f) != NULL;
		if (f)
			fclose(f);
		if (!seen)
			sleep_ms(10);
	}
	assert_true(seen);
	assert_true(clock_mono() - t0 <
		    (slow ? 15.0 : 5.0)); /* long before the timeout (slack for loaded CI) */
	gateway_get_stats(gw, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.pending, 1); /* the hanging one, still trying */
	gateway_destroy(gw);             /* a send in progress finishes (timeout) first */
	fix_free(&a);
	fix_free(&b);
}

/* ---- a real SMTP server ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p;
	long n;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = calloc(1, (size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* What the file, stdout and kafka destinations write for the document doc
 * queued in the outbox: doc with its "idempotency_key" (notify_idem_key)
 * added last, then a newline. Caller frees. */
static char *line_of(const char *doc)
{
	char key[160], *out;
	notify_idem_key(doc, key, sizeof key);
	size_t n = strlen(doc);
	assert_true(n > 2 && doc[n - 1] == '}');
	assert_true(asprintf(&out, "%.*s,\"idempotency_key\":\"%s\"}\n", (int)(n - 1), doc, key) > 0);
	return out;
}

static void test_email_real(void **state)
{
	struct fix fire;
	char err[512], smtp[128], dir[360], path[700];
	(void)state;

	snprintf(smtp, sizeof smtp, "smtp=smtp://127.0.0.1:%d", smtp_port);
	void *em = dest_new("email", NULL, err, sizeof err, 1, 4, smtp, "from=vigil <alerts@vigil.example>",
			    "to=oncall@example.com, Storage Team <storage@example.com>", "timeout=5s");
	fix_make(&fire, ALERT_FIRING, clock_wall());
	struct sink_result r = do_send("email", em, &fire.n);
	if (r.verdict != SINK_OK)
		fail_msg("email: %s", r.detail);
	assert_int_equal(r.status, 250);
	sink_find("email")->destroy(em);

	char *msg = NULL;
	snprintf(dir, sizeof dir, "%s/new", maildir);
	for (int i = 0; i < 50 && !msg; i++) {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) && !msg) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			msg = slurp(path);
		}
		if (d)
			closedir(d);
		if (!msg)
			sleep_ms(100);
	}
	assert_non_null(msg);
	assert_has(msg, "Subject: [FIRING] disk-latency on disk.write_latency{cluster=eu-1,host=db1}");
	assert_has(msg, "From: vigil <alerts@vigil.example>");
	assert_has(msg, "To: oncall@example.com, Storage Team <storage@example.com>");
	assert_has(msg, "multipart/alternative");
	assert_has(msg, "Content-Type: text/plain; charset=utf-8");
	assert_has(msg, "Content-Type: text/html; charset=utf-8");
	assert_has(msg, "Observed: 41.2");
	assert_has(msg, "<table>");
	assert_has(msg, "https://runbooks.example/disk");
	/* the envelope: both recipients got it (aiosmtpd records them) */
	assert_has(msg, "X-RcptTo: oncall@example.com, storage@example.com");
	assert_has(msg, "X-MailFrom: alerts@vigil.example");
	free(msg);

	/* nobody listening: retry */
	snprintf(smtp, sizeof smtp, "smtp=smtp://127.0.0.1:%d", free_port());
	em = dest_new("email", NULL, err, sizeof err, 1, 3, smtp, "from=alerts@vigil.example",
		      "to=a@example.com");
	r = do_send("email", em, &fire.n);
	assert_int_equal(r.verdict, SINK_RETRY);
	sink_find("email")->destroy(em);
	fix_free(&fire);
}

/* ---- group notifications and acknowledgements, through the outbox ---- */

#define GROUP_KEY "{}/{owner=\"storage\"}:{alertname=\"disk-latency\", cluster=\"eu-1\"}"

/* What the outbox finished, per sequence number (1..). */
struct ob_result {
	int done;
	int dead[8];
	struct sink_result last[8];
};

static void ob_done(void *ctx, const struct outbox_done *d)
{
	struct ob_result *r = ctx;
	r->done++;
	if (d->seq >= 1 && d->seq <= 8) {
		r->dead[d->seq - 1] = d->dead;
		r->last[d->seq - 1] = *d->last;
	}
}

/* Queue docs[0..n) (seq 1..n) for one destination through a fresh outbox,
 * one attempt each, and wait until every one finished. */
static void through_outbox(const char *type, void *priv, const char *const *docs, size_t n,
			   struct ob_result *r)
{
	struct outbox_dest d = {
		.type = sink_find(type),
		.priv = priv,
		.owner = "storage",
		.where = "owners.yml:3:7",
		.id = "storage#0",
		.policy = {.initial = 0.05, .max_delay = 0.1, .max_attempts = 1, .max_age = 60}};
	struct outbox_hooks hooks = {.ctx = r, .done = ob_done};
	struct outbox *ob = NULL;
	assert_true(n <= 8);
	memset(r, 0, sizeof *r);
	assert_int_equal(outbox_create(&d, 1, &hooks, &ob), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(outbox_enqueue(ob, 0, i + 1, docs[i], -1, -1, clock_wall()), 0);
	assert_int_equal(outbox_drain(ob, 60), 0);
	outbox_destroy(ob);
	assert_int_equal(r->done, (int)n);
}

/* The fixture's alert on host (series given), with a summary. */
static struct alert_event host_alert(enum alert_status st, const char *host, const char *series, double now)
{
	struct fix f;
	fix_make(&f, st, now);
	fix_free(&f);
	f.ev.labels[1].value = host;
	f.ev.series = series;
	f.ev.summary = "write latency high";
	return f.ev;
}

#define SERIES1 "disk.write_latency{cluster=eu-1,host=db1}"
#define SERIES2 "disk.write_latency{cluster=eu-1,host=db2}"
#define SERIES3 "disk.write_latency{cluster=eu-1,host=db3}"

/* A group document (owner storage, GROUP_KEY, grouped by alertname and
 * cluster) of ev[i] marked change[i]. Caller frees. */
static char *group_doc(const char *reason, const struct alert_event *ev, const char *const *change, size_t n,
		       size_t truncated)
{
	json_t *d = json_object(), *alerts = json_array(), *gl = json_object();
	char *text;
	json_object_set_new(d, "schema", json_string("vigil.group/v1"));
	json_object_set_new(d, "owner", json_string("storage"));
	json_object_set_new(d, "group_key", json_string(GROUP_KEY));
	json_object_set_new(d, "reason", json_string(reason));
	json_object_set_new(gl, "alertname", json_string("disk-latency"));
	json_object_set_new(gl, "cluster", json_string("eu-1"));
	json_object_set_new(d, "group_labels", gl);
	for (size_t i = 0; i < n; i++) {
		json_t *a = alert_to_json(&ev[i]);
		assert_non_null(a);
		json_object_set_new(a, "change", json_string(change[i]));
		json_array_append_new(alerts, a);
	}
	json_object_set_new(d, "alerts", alerts);
	json_object_set_new(d, "truncated", json_integer((json_int_t)truncated));
	text = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	assert_non_null(text);
	return text;
}

/* The JSON text of ev (acknowledged_by / ack_comment added when given). */
static char *alert_doc(const struct alert_event *ev, const char *by, const char *comment)
{
	json_t *j = alert_to_json(ev);
	char *text;
	assert_non_null(j);
	if (by)
		json_object_set_new(j, "acknowledged_by", json_string(by));
	if (comment)
		json_object_set_new(j, "ack_comment", json_string(comment));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static void assert_json_is(json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("got %s, want %s", g ? g : "(null)", want_text);
	}
	json_decref(want);
}

/* The document order differs from the listing order on purpose: resolved,
 * firing, new. */
static const char *const chg3[] = {"resolved", "firing", "new"};

static void make3(struct alert_event ev[3], double now)
{
	ev[0] = host_alert(ALERT_RESOLVED, "db3", SERIES3, now);
	ev[1] = host_alert(ALERT_FIRING, "db2", SERIES2, now);
	ev[2] = host_alert(ALERT_FIRING, "db1", SERIES1, now);
}

static void test_group_webhook(void **state)
{
	struct sink_env env = {.kafka = NULL, .external_url = "https://vigil.example"};
	struct alert_event ev[3], res[3];
	struct ob_result r;
	char err[512], fp[17];
	double now = clock_wall();
	(void)state;

	make3(ev, now);
	for (int i = 0; i < 3; i++) {
		res[i] = ev[i];
		res[i].status = ALERT_RESOLVED;
		res[i].ts = now - 1;
	}
	const char *const chg_res[] = {"resolved", "resolved", "resolved"};
	char *docs[2] = {group_doc("new alerts added", ev, chg3, 3, 2),
			 group_doc("all alerts resolved", res, chg_res, 3, 0)};
	void *wh = dest_new("webhook", &env, err, sizeof err, 1, 1, url_of("/whg"));
	assert_int_equal(sink_type_webhook.groups, 1);
	through_outbox("webhook", wh, (const char *const *)docs, 2, &r);
	for (int i = 0; i < 2; i++)
		if (r.dead[i] || r.last[i].verdict != SINK_OK)
			fail_msg("group %d: %s", i, r.last[i].detail);
	assert_int_equal(nrequests("/whg"), 2);

	json_t *b = request_body("/whg", 0);
	assert_string_equal(jstr(b, "version"), "4");
	assert_string_equal(jstr(b, "status"), "firing");
	assert_string_equal(jstr(b, "receiver"), "storage");
	assert_string_equal(jstr(b, "notification_reason"), "new alerts added");
	assert_string_equal(jstr(b, "groupKey"), GROUP_KEY);
	assert_string_equal(jstr(b, "externalURL"), "https://vigil.example");
	assert_int_equal(json_integer_value(json_object_get(b, "truncatedAlerts")), 2);
	assert_json_is(json_object_get(b, "groupLabels"),
		       "{\"alertname\": \"disk-latency\", \"cluster\": \"eu-1\"}");
	assert_json_is(json_object_get(b, "commonLabels"),
		       "{\"alertname\": \"disk-latency\", \"cluster\": \"eu-1\", \"team\": \"storage\", "
		       "\"owner\": \"storage\", \"severity\": \"critical\"}");
	assert_json_is(
		json_object_get(b, "commonAnnotations"),
		"{\"summary\": \"write latency high\", \"runbook_url\": \"https://runbooks.example/disk\", "
		"\"description\": \"observed 41.2, expected 13.1, band [8, 19.5], score 0.993 "
		"(threshold 0.99, direction up)\"}");
	json_t *alerts = json_object_get(b, "alerts");
	assert_int_equal(json_array_size(alerts), 3);
	const char *want_status[] = {"resolved", "firing", "firing"}, *want_host[] = {"db3", "db2", "db1"};
	for (size_t i = 0; i < 3; i++) {
		json_t *a = json_array_get(alerts, i);
		assert_string_equal(jstr(a, "status"), want_status[i]);
		assert_string_equal(jstr(a, "change"), chg3[i]);
		assert_string_equal(jstr(a, "labels.host"), want_host[i]);
		assert_string_equal(jstr(a, "labels.series"), ev[i].series);
		alert_fingerprint(&ev[i], fp);
		assert_string_equal(jstr(a, "fingerprint"), fp);
		alert_episode(&ev[i], fp);
		assert_string_equal(jstr(a, "annotations.episode"), fp);
		assert_string_equal(jstr(a, "generatorURL"), "https://vigil.example/rules/disk-latency");
		if (i == 0)
			assert_string_not_equal(jstr(a, "endsAt"), "0001-01-01T00:00:00Z");
		else
			assert_string_equal(jstr(a, "endsAt"), "0001-01-01T00:00:00Z");
	}
	json_decref(b);

	b = request_body("/whg", 1);
	assert_string_equal(jstr(b, "status"), "resolved");
	assert_string_equal(jstr(b, "notification_reason"), "all alerts resolved");
	assert_int_equal(json_integer_value(json_object_get(b, "truncatedAlerts")), 0);
	alerts = json_object_get(b, "alerts");
	assert_int_equal(json_array_size(alerts), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(jstr(json_array_get(alerts, i), "status"), "resolved");
		assert_string_equal(jstr(json_array_get(alerts, i), "change"), "resolved");
	}
	json_decref(b);
	sink_find("webhook")->destroy(wh);
	free(docs[0]);
	free(docs[1]);
}

/* Documents the outbox cannot read back are dead at once (SINK_DROP with
 * the reason) and never reach the receiver; 1000 alerts are taken, 1001
 * are not. */
static void test_group_refused(void **state)
{
	struct alert_event ev[3];
	struct ob_result r;
	char err[512], path[320];
	double now = clock_wall();
	(void)state;

	make3(ev, now);
	char *ok = group_doc("first notification", ev, chg3, 3, 0);
	json_t *base = json_loads(ok, 0, NULL);
	char *bad[7];
	/* no alerts */
	json_t *d = json_deep_copy(base);
	json_object_set_new(d, "alerts", json_array());
	bad[0] = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	/* a change that is none of new / firing / resolved */
	d = json_deep_copy(base);
	json_object_set_new(json_array_get(json_object_get(d, "alerts"), 1), "change", json_string("maybe"));
	bad[1] = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	/* an alert whose fingerprint is not its own */
	d = json_deep_copy(base);
	json_object_set_new(json_array_get(json_object_get(d, "alerts"), 1), "fingerprint",
			    json_string("0000000000000000"));
	bad[2] = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	/* no group key */
	d = json_deep_copy(base);
	json_object_del(d, "group_key");
	bad[3] = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	/* 1001 alerts */
	d = json_deep_copy(base);
	json_t *one = json_array_get(json_object_get(d, "alerts"), 0), *many = json_array();
	for (int i = 0; i < 1001; i++)
		json_array_append(many, one);
	json_object_set_new(d, "alerts", many);
	bad[4] = json_dumps(d, JSON_COMPACT);
	/* 1000 alerts: taken */
	json_array_remove(many, 0);
	bad[6] = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	/* a group schema this build does not read */
	d = json_deep_copy(base);
	json_object_set_new(d, "schema", json_string("vigil.group/v2"));
	bad[5] = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	json_decref(base);

	void *wh = dest_new("webhook", NULL, err, sizeof err, 1, 1, url_of("/whbad"));
	through_outbox("webhook", wh, (const char *const *)bad, 6, &r);
	const char *want[] = {
		"the group notification cannot be read back: group: alerts: missing, empty or not an array",
		"the group notification cannot be read back: group: alerts[1]: change: missing or not new, "
		"firing or resolved",
		"the group notification cannot be read back: group: alerts[1]: alert: ",
		"the group notification cannot be read back: group: group_key: missing, empty or not a "
		"string",
		"the group notification cannot be read back: group: alerts: 1001 alerts; a group document "
		"carries at most 1000",
		"the group notification cannot be read back: schema 'vigil.group/v2' is not vigil.group/v1",
	};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(r.dead[i], 1);
		assert_int_equal(r.last[i].verdict, SINK_DROP);
		if (strncmp(r.last[i].detail, want[i], strlen(want[i])) != 0)
			fail_msg("doc %d: detail '%s', want '%s...'", i, r.last[i].detail, want[i]);
	}
	assert_has(r.last[2].detail, "fingerprint");
	assert_int_equal(nrequests("/whbad"), 0);
	sink_find("webhook")->destroy(wh);

	/* 1000 alerts pass the outbox (a file destination writes the document) */
	snprintf(path, sizeof path, "path=%s/group1000.jsonl", tmpdir);
	void *fd = dest_new("file", NULL, err, sizeof err, 1, 1, path);
	through_outbox("file", fd, (const char *const *)&bad[6], 1, &r);
	assert_int_equal(r.dead[0], 0);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	sink_find("file")->destroy(fd);
	char *written = slurp(path + 5), *want_line = line_of(bad[6]);
	assert_non_null(written);
	assert_string_equal(written, want_line);
	free(written);
	free(want_line);
	for (int i = 0; i < 7; i++)
		free(bad[i]);
	free(ok);
}

/* UTF-8 characters in s (Slack counts characters). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void test_group_slack(void **state)
{
	struct alert_event ev[3];
	struct ob_result r;
	char err[512];
	double now = clock_wall();
	(void)state;

	assert_int_equal(sink_type_slack.groups, 1);
	make3(ev, now);
	char *docs[2] = {group_doc("new alerts added", ev, chg3, 3, 0), NULL};
	/* a big group: 130 alerts with long multi-byte summaries, 5 more left out */
	static struct alert_event big[130];
	static const char *bigchg[130];
	static char series[130][64], sum[1601];
	for (size_t i = 0; i < 1600; i += 2)
		memcpy(sum + i, "\xc3\xa9", 2); /* é */
	for (int i = 0; i < 130; i++) {
		snprintf(series[i], sizeof series[i], "disk.write_latency{cluster=eu-1,host=h%03d}", i);
		big[i] = host_alert(ALERT_FIRING, series[i] + 36, series[i], now);
		big[i].summary = sum;
		bigchg[i] = "firing";
	}
	docs[1] = group_doc("repeat interval elapsed", big, bigchg, 130, 5);

	void *sl = dest_new("slack", NULL, err, sizeof err, 1, 1, url_of("/slackg"));
	through_outbox("slack", sl, (const char *const *)docs, 2, &r);
	for (int i = 0; i < 2; i++)
		if (r.dead[i] || r.last[i].verdict != SINK_OK)
			fail_msg("group %d: %s", i, r.last[i].detail);

	json_t *b = request_body("/slackg", 0);
	assert_string_equal(jstr(b, "text"), "[FIRING] storage: 2 firing, 1 resolved (new alerts added): "
					     "alertname=disk-latency cluster=eu-1");
	json_t *blocks = json_object_get(b, "blocks");
	assert_int_equal(json_array_size(blocks), 3);
	assert_string_equal(jstr(json_array_get(blocks, 0), "text.text"),
			    ":rotating_light: *storage*: 2 firing, 1 resolved (new alerts added)\n"
			    "`alertname=disk-latency cluster=eu-1`");
	assert_string_equal(
		jstr(json_array_get(blocks, 1), "text.text"),
		"*NEW* `disk-latency` " SERIES1 ": 41.2 vs 13.1 expected · write latency high\n"
		"*FIRING* `disk-latency` " SERIES2 ": 41.2 vs 13.1 expected · write latency high\n"
		"*RESOLVED* `disk-latency` " SERIES3 ": 41.2 vs 13.1 expected · write latency high");
	json_t *ctx = json_array_get(json_object_get(json_array_get(blocks, 2), "elements"), 0);
	assert_string_equal(jstr(ctx, "text"), "group " GROUP_KEY);
	json_decref(b);

	b = request_body("/slackg", 1);
	blocks = json_object_get(b, "blocks");
	size_t nb = json_array_size(blocks), lines = 0;
	assert_true(nb <= 50);
	assert_true(nb >= 4);
	for (size_t i = 0; i < nb; i++) {
		json_t *blk = json_array_get(blocks, i);
		json_t *t = json_object_get(json_object_get(blk, "text"), "text");
		if (!t)
			t = json_object_get(json_array_get(json_object_get(blk, "elements"), 0), "text");
		const char *s = json_string_value(t);
		assert_non_null(s);
		assert_true(utf8_chars(s) <= 3000);
		assert_lacks(s, "\xef\xbf\xbd"); /* no replacement character: valid UTF-8 */
		if (i > 0 && i < nb - 2)
			for (const char *p = strstr(s, "*FIRING* "); p; p = strstr(p + 1, "*FIRING* "))
				lines++;
	}
	assert_int_equal(lines, 100);
	ctx = json_array_get(json_object_get(json_array_get(blocks, nb - 2), "elements"), 0);
	assert_string_equal(jstr(ctx, "text"), "… and 35 more");
	assert_has(jstr(json_array_get(blocks, 0), "text.text"),
		   "130 firing, 0 resolved (repeat interval elapsed)");
	json_decref(b);
	sink_find("slack")->destroy(sl);
	free(docs[0]);
	free(docs[1]);
}

/* A mail as stored, line ends made "\n" (the Maildir may keep CRLF or
 * not), folded header lines unfolded (Python's mailbox may refold long
 * ones) and the body quoted-printable decoded (soft breaks dropped, =XX
 * decoded; every part of ours is quoted-printable), in place. */
static void mail_text(char *s)
{
	char *o = s;
	int head = 1;
	while (*s) {
		if (s[0] == '\r' && s[1] == '\n') {
			s++;
		} else if (head && s[0] == '\n' && s[1] == '\n') {
			head = 0;
			*o++ = *s++;
		} else if (head && s[0] == '\n' && (s[1] == ' ' || s[1] == '\t')) {
			s++;
		} else if (!head && s[0] == '=' && (s[1] == '\n' || (s[1] == '\r' && s[2] == '\n'))) {
			s += s[1] == '\n' ? 2 : 3;
		} else if (!head && s[0] == '=' && isxdigit((unsigned char)s[1]) &&
			   isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};
			*o++ = (char)strtol(hex, NULL, 16);
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/* The mail in the Maildir whose subject line is subject (5 s), as
 * mail_text() gives it; NULL when there is none. Caller frees. */
static char *mail_find(const char *subject)
{
	char dir[360], path[700], needle[1100];
	snprintf(dir, sizeof dir, "%s/new", maildir);
	snprintf(needle, sizeof needle, "Subject: %s\n", subject);
	for (int i = 0; i < 50; i++) {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			char *m = slurp(path);
			if (m)
				mail_text(m);
			if (m && strstr(m, needle)) {
				closedir(d);
				return m;
			}
			free(m);
		}
		if (d)
			closedir(d);
		sleep_ms(100);
	}
	return NULL;
}

static void test_group_email(void **state)
{
	struct alert_event ev[3], res[3];
	struct ob_result r;
	char err[512], smtp[128];
	double now = clock_wall();
	(void)state;

	assert_int_equal(sink_type_email.groups, 1);
	make3(ev, now);
	for (int i = 0; i < 3; i++) {
		res[i] = ev[i];
		res[i].status = ALERT_RESOLVED;
		res[i].ts = now - 1;
	}
	const char *const chg_res[] = {"resolved", "resolved", "resolved"};
	char *docs[2] = {group_doc("new alerts added", ev, chg3, 3, 0),
			 group_doc("all alerts resolved", res, chg_res, 3, 0)};
	snprintf(smtp, sizeof smtp, "smtp=smtp://127.0.0.1:%d", smtp_port);
	void *em = dest_new("email", NULL, err, sizeof err, 1, 3, smtp, "from=alerts@vigil.example",
			    "to=group@example.com");
	through_outbox("email", em, (const char *const *)docs, 2, &r);
	for (int i = 0; i < 2; i++)
		if (r.dead[i] || r.last[i].verdict != SINK_OK)
			fail_msg("group mail %d: %s", i, r.last[i].detail);
	sink_find("email")->destroy(em);

	char *msg = mail_find("[FIRING:2] alertname=disk-latency cluster=eu-1 (new alerts added)");
	assert_non_null(msg);
	assert_has(msg, "storage: 2 firing, 1 resolved (new alerts added)\n");
	assert_has(msg, "Group key: " GROUP_KEY "\n");
	/* text part: every alert, new first, each with its mark */
	const char *l1 = "NEW       disk-latency on " SERIES1
			 ": observed 41.2, expected 13.1 - write latency high\n",
		   *l2 = "FIRING    disk-latency on " SERIES2
			 ": observed 41.2, expected 13.1 - write latency high\n",
		   *l3 = "RESOLVED  disk-latency on " SERIES3
			 ": observed 41.2, expected 13.1 - write latency high\n";
	assert_has(msg, l1);
	assert_has(msg, l2);
	assert_has(msg, l3);
	assert_true(strstr(msg, l1) < strstr(msg, l2) && strstr(msg, l2) < strstr(msg, l3));
	/* HTML part: a row per alert */
	assert_has(msg, "<tr><td><b>NEW</b></td><td>disk-latency</td><td>" SERIES1 "</td><td>41.2</td>");
	assert_has(msg, "<tr><td><b>FIRING</b></td><td>disk-latency</td><td>" SERIES2 "</td>");
	assert_has(msg, "<tr><td><b>RESOLVED</b></td><td>disk-latency</td><td>" SERIES3 "</td>");
	assert_has(msg, "X-RcptTo: group@example.com");
	free(msg);

	msg = mail_find("[RESOLVED] alertname=disk-latency cluster=eu-1 (all alerts resolved)");
	assert_non_null(msg);
	assert_has(msg, "storage: 0 firing, 3 resolved (all alerts resolved)\n");
	assert_has(msg, "RESOLVED  disk-latency on " SERIES1);
	assert_has(msg, "RESOLVED  disk-latency on " SERIES2);
	assert_has(msg, "RESOLVED  disk-latency on " SERIES3);
	free(msg);
	free(docs[0]);
	free(docs[1]);
}

/* Trigger then acknowledge to a PagerDuty-shaped receiver: one dedup key. */
static void test_ack_pagerduty(void **state)
{
	struct ob_result r;
	char err[512], fp[17], ep[17], key[64];
	double now = clock_wall();
	(void)state;

	struct alert_event fire = host_alert(ALERT_FIRING, "db1", SERIES1, now), ack = fire;
	ack.status = ALERT_ACKNOWLEDGED;
	char *docs[2] = {alert_doc(&fire, NULL, NULL), alert_doc(&ack, "alice", "looking into it")};
	setenv("PD_TEST_KEY", PD_KEY, 1);
	void *pd = dest_new("pagerduty", NULL, err, sizeof err, 1, 2, "routing_key=env:PD_TEST_KEY",
			    url_of("/pdack"));
	through_outbox("pagerduty", pd, (const char *const *)docs, 2, &r);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	assert_int_equal(r.last[1].verdict, SINK_OK);
	sink_find("pagerduty")->destroy(pd);

	alert_fingerprint(&fire, fp);
	alert_episode(&fire, ep);
	snprintf(key, sizeof key, "vigil/%s/%s", fp, ep);
	json_t *t = request_body("/pdack", 0), *a = request_body("/pdack", 1);
	assert_string_equal(jstr(t, "event_action"), "trigger");
	assert_string_equal(jstr(t, "dedup_key"), key);
	assert_string_equal(jstr(a, "event_action"), "acknowledge");
	assert_string_equal(jstr(a, "dedup_key"), key);
	assert_string_equal(jstr(a, "routing_key"), PD_KEY);
	assert_null(json_object_get(a, "payload"));
	json_decref(t);
	json_decref(a);
	free(docs[0]);
	free(docs[1]);
}

/* Alertmanager has no acknowledgement: SINK_OK, nothing posted. */
static void test_ack_alertmanager(void **state)
{
	struct ob_result r;
	char err[512], url[128];
	double now = clock_wall();
	(void)state;

	struct alert_event ack =
		host_alert(ALERT_ACKNOWLEDGED, "db9", "disk.write_latency{cluster=eu-1,host=db9}", now);
	char *doc = alert_doc(&ack, "alice", NULL);
	snprintf(url, sizeof url, "url=http://127.0.0.1:%d/", am_port);
	void *am = dest_new("alertmanager", NULL, err, sizeof err, 1, 1, url);
	through_outbox("alertmanager", am, (const char *const *)&doc, 1, &r);
	assert_int_equal(r.dead[0], 0);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	assert_int_equal(r.last[0].status, 0); /* no HTTP exchange */
	assert_has(r.last[0].detail, "not posted");
	json_t *a = am_find("", ack.series);
	assert_null(a);
	/* the same destination does post a firing alert of that series */
	ack.status = ALERT_FIRING;
	free(doc);
	doc = alert_doc(&ack, NULL, NULL);
	through_outbox("alertmanager", am, (const char *const *)&doc, 1, &r);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	assert_int_equal(r.last[0].status, 200);
	a = am_find("", ack.series);
	assert_non_null(a);
	json_decref(a);
	ack.status = ALERT_RESOLVED;
	free(doc);
	doc = alert_doc(&ack, NULL, NULL);
	through_outbox("alertmanager", am, (const char *const *)&doc, 1, &r);
	assert_true(am_gone(ack.series));
	sink_find("alertmanager")->destroy(am);
	free(doc);
}

/* Acknowledgements to the webhook, Slack, email and file destinations. */
static void test_ack_others(void **state)
{
	struct sink_env env = {.kafka = NULL, .external_url = "https://vigil.example"};
	struct ob_result r;
	char err[512], smtp[128], path[320], fp[17];
	double now = clock_wall();
	(void)state;

	struct alert_event ack = host_alert(ALERT_ACKNOWLEDGED, "db1", SERIES1, now);
	char *doc = alert_doc(&ack, "alice", "looking into it"), *bare;
	alert_fingerprint(&ack, fp);

	void *wh = dest_new("webhook", &env, err, sizeof err, 1, 1, url_of("/whack"));
	through_outbox("webhook", wh, (const char *const *)&doc, 1, &r);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	sink_find("webhook")->destroy(wh);
	json_t *b = request_body("/whack", 0);
	assert_string_equal(jstr(b, "status"), "acknowledged");
	assert_string_equal(jstr(b, "receiver"), "storage");
	assert_int_equal(json_array_size(json_object_get(b, "alerts")), 1);
	json_t *a = json_array_get(json_object_get(b, "alerts"), 0);
	assert_string_equal(jstr(a, "status"), "acknowledged");
	assert_string_equal(jstr(a, "annotations.acknowledged_by"), "alice");
	assert_string_equal(jstr(a, "annotations.ack_comment"), "looking into it");
	assert_string_equal(jstr(a, "endsAt"), "0001-01-01T00:00:00Z");
	assert_string_equal(jstr(a, "fingerprint"), fp);
	assert_string_equal(jstr(a, "labels.series"), SERIES1);
	assert_null(json_object_get(b, "notification_reason"));
	json_decref(b);

	void *sl = dest_new("slack", NULL, err, sizeof err, 1, 1, url_of("/slackack"));
	through_outbox("slack", sl, (const char *const *)&doc, 1, &r);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	/* without a name: no "by" */
	bare = alert_doc(&ack, NULL, NULL);
	through_outbox("slack", sl, (const char *const *)&bare, 1, &r);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	sink_find("slack")->destroy(sl);
	b = request_body("/slackack", 0);
	assert_string_equal(jstr(b, "text"),
			    ":eyes: ACKNOWLEDGED by alice: disk-latency on " SERIES1 ": looking into it");
	assert_string_equal(jstr(json_array_get(json_object_get(b, "blocks"), 0), "text.text"),
			    ":eyes: *ACKNOWLEDGED* by alice: `disk-latency` on " SERIES1
			    "\n> looking into it");
	json_decref(b);
	b = request_body("/slackack", 1);
	assert_string_equal(jstr(b, "text"), ":eyes: ACKNOWLEDGED: disk-latency on " SERIES1);
	json_decref(b);

	snprintf(smtp, sizeof smtp, "smtp=smtp://127.0.0.1:%d", smtp_port);
	void *em = dest_new("email", NULL, err, sizeof err, 1, 3, smtp, "from=alerts@vigil.example",
			    "to=ack@example.com");
	through_outbox("email", em, (const char *const *)&doc, 1, &r);
	if (r.last[0].verdict != SINK_OK)
		fail_msg("ack mail: %s", r.last[0].detail);
	sink_find("email")->destroy(em);
	char *msg = mail_find("[ACKNOWLEDGED] disk-latency on " SERIES1);
	assert_non_null(msg);
	assert_has(msg, "Acknowledged by: alice\n");
	assert_has(msg, "Comment: looking into it\n");
	assert_has(msg, "Status: ACKNOWLEDGED\n");
	assert_has(msg, "X-RcptTo: ack@example.com");
	free(msg);

	/* file (as stdout and kafka): the JSON as it is, plus its
	 * idempotency_key (vigil/<fingerprint>/<episode>/acknowledged) */
	snprintf(path, sizeof path, "path=%s/ack.jsonl", tmpdir);
	void *fd = dest_new("file", NULL, err, sizeof err, 1, 1, path);
	through_outbox("file", fd, (const char *const *)&doc, 1, &r);
	assert_int_equal(r.last[0].verdict, SINK_OK);
	sink_find("file")->destroy(fd);
	char *written = slurp(path + 5), *want_line = line_of(doc);
	assert_non_null(written);
	assert_string_equal(written, want_line);
	assert_has(written, "/acknowledged\"}\n");
	free(written);
	free(want_line);
	free(doc);
	free(bare);
}

/* sink_line_key: the key goes in as the last member of the object; a text
 * it cannot go into safely is written unchanged. */
static void test_line_key(void **state)
{
	(void)state;
	struct {
		const char *json, *key, *want;
	} c[] = {
		{"{\"a\":1}", "vigil/f/e/firing", "{\"a\":1,\"idempotency_key\":\"vigil/f/e/firing\"}"},
		{"{}", "k", "{\"idempotency_key\":\"k\"}"},
		{"{\"a\":1}\n", "k", "{\"a\":1,\"idempotency_key\":\"k\"}"},
		{"{\"a\":1}", NULL, "{\"a\":1}"},   /* no key */
		{"{\"a\":1}", "", "{\"a\":1}"},     /* empty key */
		{"[1,2]", "k", "[1,2]"},            /* not an object */
		{"not json", "k", "not json"},      /* not JSON */
		{"{\"a\":1}", "a\"b", "{\"a\":1}"}, /* the key would need escaping */
		{"{\"a\":1}", "a\\b", "{\"a\":1}"},
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct notification n = {
			.json = c[i].json, .json_len = strlen(c[i].json), .idem_key = c[i].key};
		char tail[192], got[256];
		size_t head = 999;
		sink_line_key(&n, &head, tail, sizeof tail);
		assert_true(head <= n.json_len);
		snprintf(got, sizeof got, "%.*s%s", (int)head, c[i].json, tail);
		if (strcmp(got, c[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, c[i].want);
		if (!strcmp(c[i].want, c[i].json)) /* unchanged: all of it, nothing added */
			assert_true(head == n.json_len && !tail[0]);
	}
	/* a key too long for the tail: unchanged */
	char big[300];
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = 0;
	struct notification n = {.json = "{\"a\":1}", .json_len = 7, .idem_key = big};
	char tail[64];
	size_t head;
	sink_line_key(&n, &head, tail, sizeof tail);
	assert_int_equal(head, 7);
	assert_string_equal(tail, "");
}

/* ---- Kafka, through the embedded mock broker (`vigil broker`) ---- */

static void test_kafka_real(void **state)
{
	char boot[256] = "", bootfile[320], logpath[320], err[512];
	struct fix fire;
	(void)state;

	if (access("bin/vigil", X_OK) != 0) {
		print_message("bin/vigil not built: kafka destination test skipped\n");
		skip();
	}
	snprintf(bootfile, sizeof bootfile, "%s/boot", tmpdir);
	snprintf(logpath, sizeof logpath, "%s/broker.out", tmpdir);
	char *argv[] = {"bin/vigil",        "broker", "--topics", "payments.alerts:1",
			"--bootstrap-file", bootfile, NULL};
	broker_pid = spawn(argv, logpath);
	for (int i = 0; i < 200 && !boot[0]; i++) {
		FILE *f = fopen(bootfile, "r");
		if (f) {
			if (!fgets(boot, sizeof boot, f))
				boot[0] = '\0';
			fclose(f);
			boot[strcspn(boot, "\r\n")] = '\0';
		}
		if (!boot[0])
			sleep_ms(50);
	}
	assert_true(boot[0] != '\0');

	struct kv props[] = {{"bootstrap.servers", boot, "test"}};
	struct kafka_cfg cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.props = props;
	cfg.nprops = 1;
	struct sink_env env = {.kafka = &cfg, .external_url = NULL};
	void *kd = dest_new("kafka", &env, err, sizeof err, 1, 2, "topic=payments.alerts", "timeout=10s");
	fix_make(&fire, ALERT_FIRING, clock_wall());
	char idem[160];
	fire.n.idem_key = notify_idem_key(fire.json, idem, sizeof idem);
	struct sink_result r = do_send("kafka", kd, &fire.n);
	if (r.verdict != SINK_OK)
		fail_msg("kafka send: %s", r.detail);
	char *want_val = line_of(fire.json); /* with its newline, which the value has not */

	/* read it back: key = episode, value = the notification JSON with its
	 * idempotency_key */
	rd_kafka_conf_t *cc = rd_kafka_conf_new();
	char e[256];
	assert_int_equal(rd_kafka_conf_set(cc, "bootstrap.servers", boot, e, sizeof e), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(cc, "group.id", "test-sinks", e, sizeof e), RD_KAFKA_CONF_OK);
	rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof e);
	assert_non_null(c);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, "payments.alerts", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(c, tp), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	int found = 0;
	for (int i = 0; i < 100 && !found; i++) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
		if (!m)
			continue;
		if (!m->err) {
			assert_int_equal(m->key_len, strlen(fire.n.episode));
			assert_memory_equal(m->key, fire.n.episode, m->key_len);
			assert_int_equal(m->len, strlen(want_val) - 1);
			assert_memory_equal(m->payload, want_val, m->len);
			found = 1;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	assert_true(found);
	sink_find("kafka")->destroy(kd);

	/* broker down: RETRY once the timeout is over, not SINK_OK */
	kd = dest_new("kafka", &env, err, sizeof err, 1, 2, "topic=payments.alerts", "timeout=2s");
	assert_int_equal(do_send("kafka", kd, &fire.n).verdict, SINK_OK);
	kill(broker_pid, SIGUSR1);
	sleep_ms(300);
	double t0 = clock_mono();
	r = do_send("kafka", kd, &fire.n);
	double took = clock_mono() - t0;
	assert_int_equal(r.verdict, SINK_RETRY);
	assert_true(took >= 1.9 && took < 5);
	kill(broker_pid, SIGUSR2);
	sink_find("kafka")->destroy(kd);
	reap(&broker_pid);
	free(want_val);
	fix_free(&fire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_resolve),
		cmocka_unit_test(test_secret_literal_guard),
		cmocka_unit_test(test_url_origin),
		cmocka_unit_test(test_retry_after_and_verdicts),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_line_key),
		cmocka_unit_test(test_pagerduty_payload),
		cmocka_unit_test(test_webhook_payload),
		cmocka_unit_test(test_slack_payload),
		cmocka_unit_test(test_http_verdicts),
		cmocka_unit_test(test_secrets_never_leak),
		cmocka_unit_test(test_alertmanager_real),
		cmocka_unit_test(test_alertmanager_repost),
		cmocka_unit_test(test_hanging_destination_isolated),
		cmocka_unit_test(test_email_real),
		cmocka_unit_test(test_group_webhook),
		cmocka_unit_test(test_group_refused),
		cmocka_unit_test(test_group_slack),
		cmocka_unit_test(test_group_email),
		cmocka_unit_test(test_ack_pagerduty),
		cmocka_unit_test(test_ack_alertmanager),
		cmocka_unit_test(test_ack_others),
		cmocka_unit_test(test_kafka_real),
		cmocka_unit_test(test_allow_hosts),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
