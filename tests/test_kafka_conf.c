/* The librdkafka TLS/SASL settings reach the library unchanged (issue 16,
 * Security): a run config and a gateway config with security.protocol,
 * sasl.mechanism(s), sasl.username, sasl.password as an env: reference,
 * ssl.key.password as a file: reference and ssl.* settings are loaded,
 * every client a member or a gateway builds is made with kafka_client()
 * (the one path consumers/kafka_member.c, gateway_intake.c and
 * gateway_control.c use), and the effective configuration of the live
 * rd_kafka_t (rd_kafka_conf(rk)) is read back property by property and
 * through rd_kafka_conf_dump(). Everything the process writes to stderr
 * meanwhile (vigil's log and librdkafka's own log, with debug contexts on)
 * is captured: the resolved password and key password never appear in it,
 * nor in an error message. No broker is needed: the clients point at a
 * closed port and are destroyed before they could connect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/kafka.h"

#define SASL_PW "pw-0f3e-sasl-resolved"
#define KEY_PW  "pw-77ab-key-resolved"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_kafka_conf.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* stderr goes to a file between capture_start and capture_end, which
 * returns what was written (caller frees). */
static int saved_stderr = -1;

static void capture_start(char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/stderr.log", tmpdir);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
}

/* A failure while stderr is captured: put stderr back first so cmocka's
 * message is seen. */
static void restore_stderr(void)
{
	if (saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
}
#define FAIL(...)                                                                                            \
	do {                                                                                                 \
		restore_stderr();                                                                            \
		fail_msg(__VA_ARGS__);                                                                       \
	} while (0)

static char *capture_end(const char *path)
{
	fflush(stderr);
	assert_true(dup2(saved_stderr, 2) == 2);
	close(saved_stderr);
	saved_stderr = -1;
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct want {
	const char *key, *value;
};

/* The effective value of every wanted property, read back from the live
 * client's configuration by name and through the full dump. */
static void check_effective(rd_kafka_t *rk, const char *role, const struct want *w)
{
	const rd_kafka_conf_t *conf = rd_kafka_conf(rk);
	size_t ndump = 0;
	const char **dump = rd_kafka_conf_dump((rd_kafka_conf_t *)conf, &ndump);
	assert_non_null(dump);
	for (size_t i = 0; w[i].key; i++) {
		char val[512];
		size_t vlen = sizeof val;
		if (rd_kafka_conf_get(conf, w[i].key, val, &vlen) != RD_KAFKA_CONF_OK)
			FAIL("role %s: %s not readable", role, w[i].key);
		if (strcmp(val, w[i].value) != 0)
			FAIL("role %s: %s is '%s', configured '%s'", role, w[i].key, val, w[i].value);
		int found = 0;
		for (size_t j = 0; j + 1 < ndump; j += 2)
			if (strcmp(dump[j], w[i].key) == 0) {
				found = 1;
				if (strcmp(dump[j + 1], w[i].value) != 0)
					FAIL("role %s: dump has %s=%s, configured '%s'", role, w[i].key,
					     dump[j + 1], w[i].value);
			}
		if (!found)
			FAIL("role %s: %s missing from rd_kafka_conf_dump", role, w[i].key);
	}
	rd_kafka_conf_dump_free(dump, ndump);
}

/* What every client of both configs must carry: the resolved secrets and
 * the security settings exactly as written. */
static const struct want security[] = {
	{"security.protocol", "sasl_ssl"}, /* librdkafka's canonical spelling of SASL_SSL */
	{"sasl.mechanisms", "SCRAM-SHA-512"},
	{"sasl.username", "vigil-svc"},
	{"sasl.password", SASL_PW},
	{"ssl.key.password", KEY_PW},
	{"ssl.endpoint.identification.algorithm", "https"},
	{"enable.ssl.certificate.verification", "true"},
	{"ssl.cipher.suites", "ECDHE-RSA-AES256-GCM-SHA384"},
	{NULL, NULL},
};

struct client {
	const char *role;
	rd_kafka_type_t type;
	const char *group; /* the expected effective group.id, NULL: not checked */
};

/* Load the config at path, build each client with kafka_client and read its
 * effective configuration back. Returns the stderr written meanwhile. */
static char *build_and_check(const char *path, const char *ca_dir, const struct client *cl, size_t ncl)
{
	struct kafka_cfg *c = NULL;
	char err[512] = "", logpath[256];

	capture_start(logpath, sizeof logpath);
	int rc = kafka_cfg_load(path, &c, err, sizeof err);
	if (rc != 0)
		FAIL("load %s: %s", path, err);
	assert_string_equal(kafka_cfg_prop(c, "sasl.password"), "env:VIGIL_TEST_SASL_PW");
	for (size_t i = 0; i < ncl; i++) {
		rd_kafka_t *rk = NULL;
		rc = kafka_client(c, cl[i].role, cl[i].type, NULL, NULL, NULL, &rk);
		if (rc != 0)
			FAIL("kafka_client(%s) failed: %d", cl[i].role, rc);
		check_effective(rk, cl[i].role, security);
		struct want more[] = {{"ssl.ca.location", ca_dir},
				      {"metadata.broker.list", "127.0.0.1:9"}, /* bootstrap.servers */
				      {cl[i].group ? "group.id" : NULL, cl[i].group},
				      {NULL, NULL}};
		check_effective(rk, cl[i].role, more);
		rd_kafka_destroy(rk);
	}
	/* the variable is gone when a client is built: the error names the
	 * property and the variable, never a value */
	unsetenv("VIGIL_TEST_SASL_PW");
	rd_kafka_t *rk = NULL;
	assert_int_not_equal(kafka_client(c, "producer", RD_KAFKA_PRODUCER, NULL, NULL, NULL, &rk), 0);
	assert_null(rk);
	assert_int_equal(setenv("VIGIL_TEST_SASL_PW", SASL_PW, 1), 0);
	kafka_cfg_free(c);
	return capture_end(logpath);
}

static void assert_no_secret(const char *out)
{
	if (strstr(out, SASL_PW) || strstr(out, KEY_PW))
		fail_msg("a resolved secret appears in the log output:\n%s", out);
	/* the output checked is real: librdkafka's configuration dump (debug
	 * context "conf", which redacts credentials itself) and vigil's error
	 * for the missing variable, which names it */
	assert_non_null(strstr(out, "Client configuration:"));
	assert_non_null(strstr(out, "sasl.password = [redacted]"));
	assert_non_null(strstr(out, "event=config_error role=producer"));
	assert_non_null(strstr(out, "VIGIL_TEST_SASL_PW"));
}

static void make_fixtures(char *ca_dir, size_t ca_len, char *keypw, size_t keypw_len)
{
	snprintf(ca_dir, ca_len, "%s/ca", tmpdir); /* a CA directory: loaded by rd_kafka_new */
	assert_int_equal(mkdir(ca_dir, 0700), 0);
	write_file("key.pw", KEY_PW "\n", 0600, keypw, keypw_len);
	assert_int_equal(setenv("VIGIL_TEST_SASL_PW", SASL_PW, 1), 0);
}

static const char cfg_fmt[] = "kafka:\n"
			      "  bootstrap.servers: \"127.0.0.1:9\"\n"
			      "  group.id: teamx\n"
			      "  security.protocol: SASL_SSL\n"
			      "  %s: SCRAM-SHA-512\n"
			      "  sasl.username: vigil-svc\n"
			      "  sasl.password: \"env:VIGIL_TEST_SASL_PW\"\n"
			      "  ssl.ca.location: \"%s\"\n"
			      "  ssl.key.password: \"file:%s\"\n"
			      "  ssl.endpoint.identification.algorithm: https\n"
			      "  enable.ssl.certificate.verification: true\n"
			      "  ssl.cipher.suites: ECDHE-RSA-AES256-GCM-SHA384\n"
			      "  debug: \"conf,security,generic\"\n"
			      "input: {topics: [metrics]}\n"
			      "%s";

/* A member (mode: member, the default) builds a group consumer, a producer
 * and a partition reader. */
static void test_kafka_conf__member_effective(void **state)
{
	char ca_dir[128], keypw[256], text[2048], path[256];
	(void)state;
	make_fixtures(ca_dir, sizeof ca_dir, keypw, sizeof keypw);
	snprintf(text, sizeof text, cfg_fmt, "sasl.mechanisms", ca_dir, keypw, "");
	write_file("member.yaml", text, 0644, path, sizeof path);
	static const struct client cl[] = {
		{"consumer", RD_KAFKA_CONSUMER, "teamx"},
		{"producer", RD_KAFKA_PRODUCER, NULL},
		{"reader", RD_KAFKA_CONSUMER, NULL},
	};
	char *out = build_and_check(path, ca_dir, cl, sizeof cl / sizeof cl[0]);
	assert_no_secret(out);
	free(out);
}

/* A gateway: its group consumer under gateway_group, a producer, a reader
 * and the control-topic reader; the mechanism spelled with librdkafka's
 * alias sasl.mechanism. */
static void test_kafka_conf__gateway_effective(void **state)
{
	char ca_dir[128], keypw[256], text[2048], path[256];
	(void)state;
	make_fixtures(ca_dir, sizeof ca_dir, keypw, sizeof keypw);
	snprintf(text, sizeof text, cfg_fmt, "sasl.mechanism", ca_dir, keypw,
		 "mode: gateway\ngateway_group: teamx-gw\n");
	write_file("gateway.yaml", text, 0644, path, sizeof path);
	static const struct client cl[] = {
		{"gateway", RD_KAFKA_CONSUMER, "teamx-gw"},
		{"producer", RD_KAFKA_PRODUCER, NULL},
		{"reader", RD_KAFKA_CONSUMER, NULL},
		{"control", RD_KAFKA_CONSUMER, NULL},
	};
	char *out = build_and_check(path, ca_dir, cl, sizeof cl / sizeof cl[0]);
	assert_no_secret(out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kafka_conf__member_effective, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kafka_conf__gateway_effective, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
