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
#include "sinks/gateway.h"
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

	snprintf(hang, sizeof hang, "http://127.0.0.1:%d/hang", recv_port);
	snprintf(path, sizeof path, "%s/isolated.jsonl", tmpdir);
	struct kv kva[2] = {{"url", hang, "owners.yml:4:9"}, {"timeout", "8s", "owners.yml:5:9"}};
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
	for (int i = 0; i < 500 && !seen; i++) {
		FILE *f = fopen(path, "r");
		char line[64];
		seen = f && fgets(line, sizeof line, f) != NULL;
		if (f)
			fclose(f);
		if (!seen)
			sleep_ms(10);
	}
	assert_true(seen);
	assert_true(clock_mono() - t0 < 5.0); /* long before the 8 s timeout (slack for loaded CI) */
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
	struct sink_result r = do_send("kafka", kd, &fire.n);
	if (r.verdict != SINK_OK)
		fail_msg("kafka send: %s", r.detail);

	/* read it back: key = episode, value = the notification JSON */
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
			assert_int_equal(m->len, fire.n.json_len);
			assert_memory_equal(m->payload, fire.n.json, m->len);
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
	fix_free(&fire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_resolve),
		cmocka_unit_test(test_url_origin),
		cmocka_unit_test(test_retry_after_and_verdicts),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_pagerduty_payload),
		cmocka_unit_test(test_webhook_payload),
		cmocka_unit_test(test_slack_payload),
		cmocka_unit_test(test_http_verdicts),
		cmocka_unit_test(test_secrets_never_leak),
		cmocka_unit_test(test_alertmanager_real),
		cmocka_unit_test(test_alertmanager_repost),
		cmocka_unit_test(test_hanging_destination_isolated),
		cmocka_unit_test(test_email_real),
		cmocka_unit_test(test_kafka_real),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
