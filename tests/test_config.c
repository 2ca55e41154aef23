/* Tests for the process config loader (core/config.c, kafka_cfg_load) and
 * the YAML helpers under it (core/yaml.h): a good file with its defaults,
 * and the crashes and silent misreads a fuzzer found (repeated keys, numbers
 * that overflow an integer cast, wrong node kinds), each an error
 * "file:line:column: message". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/yaml.h"

#define GOOD_HEAD "kafka: {bootstrap.servers: \"127.0.0.1:9\", group.id: g}\ninput: {topics: [m]}\n"

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write len bytes of text (may hold NULs) to tmpdir/name. */
static void write_tmp_n(const char *name, const char *text, size_t len, char *path, size_t pathlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_tmp(const char *name, const char *text, char *path, size_t pathlen)
{
	write_tmp_n(name, text, strlen(text), path, pathlen);
}

/* Load text and expect an error "<file>:<line>:<col>: " (line 0: "<file>: ")
 * containing want and, when want2 is set, want2 with "@" replaced by the file. */
static void expect_cfg_error(const char *text, size_t len, int line, int col, const char *want,
			     const char *want2)
{
	struct kafka_cfg *c = (struct kafka_cfg *)1;
	char path[256], err[1024], prefix[320], w2[600];
	int rc;

	write_tmp_n("c.yaml", text, len, path, sizeof path);
	err[0] = '\0';
	rc = kafka_cfg_load(path, &c, err, sizeof err);
	if (line > 0)
		snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, line, col);
	else
		snprintf(prefix, sizeof prefix, "%s: ", path);
	w2[0] = '\0';
	if (want2 != NULL) {
		const char *at = strchr(want2, '@');
		assert_non_null(at);
		snprintf(w2, sizeof w2, "%.*s%s%s", (int)(at - want2), want2, path, at + 1);
	}
	if (rc == 0 || strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL ||
	    strstr(err, w2) == NULL)
		print_error("want '%s...%s...%s', got rc=%d '%s'\n", prefix, want, w2, rc, err);
	assert_int_equal(rc, -VIGIL_EINVAL);
	assert_null(c);
	assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, w2));
}

#define EXPECT(text, line, col, want) expect_cfg_error((text), strlen(text), (line), (col), (want), NULL)

/* destinations.allow_hosts: a list (or one string) of host globs, kept
 * with its position; a URL, a port, an empty list or an unknown key are
 * refused at their position; absent = NULL (every host). */
static void test_config__allow_hosts(void **state)
{
	char path[256], err[512], where[300];
	struct kafka_cfg *c = NULL;

	(void)state;
	write_tmp("ah.yaml",
		  GOOD_HEAD "destinations:\n  allow_hosts: [hooks.slack.com, \"*.example.com\", \"::1\"]\n",
		  path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(c->nallow_hosts, 3);
	assert_string_equal(c->allow_hosts[1], "*.example.com");
	snprintf(where, sizeof where, "%s:4:16", path);
	assert_string_equal(c->allow_hosts_where, where);
	kafka_cfg_free(c);
	write_tmp("ah0.yaml", GOOD_HEAD, path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_null(c->allow_hosts_where);
	assert_int_equal(c->nallow_hosts, 0);
	kafka_cfg_free(c);

	EXPECT(GOOD_HEAD "destinations: {allow_hosts: [a.com, \"https://b.com/x\"]}\n", 3, 37,
	       "'https://b.com/x' is not a host name or address");
	EXPECT(GOOD_HEAD "destinations: {allow_hosts: [a.com:8080]}\n", 3, 30, "no scheme, port or path");
	EXPECT(GOOD_HEAD "destinations: {allow_hosts: [\"[::1]\"]}\n", 3, 30, "not a host name or address");
	EXPECT(GOOD_HEAD "destinations: {allow_hosts: []}\n", 3, 29, "destinations.allow_hosts is empty");
	EXPECT(GOOD_HEAD "destinations: {allow_host: [a.com]}\n", 3, 16, "did you mean 'allow_hosts'");
	EXPECT(GOOD_HEAD "destinations: {allow_hosts: {a: b}}\n", 3, 29, "a string or a list of strings");
}

static void test_config__good_and_defaults(void **state)
{
	char path[256], err[512], topic[700], text[1200];
	struct kafka_cfg *c = NULL;

	(void)state;
	write_tmp("good.yaml",
		  "kafka:\n  bootstrap.servers: 127.0.0.1:9092\n  group.id: vigil\n  client.id: me\n"
		  "input: {topics: [m1, m2], format: influx, default_series: s, collectd: {store_rates: "
		  "false}}\n"
		  "dead_letter_topic: dlq\nrules: [r1, r2]\nowners: o.yaml\nalerts_topic: al\n"
		  "control_topic: ops.control\n"
		  "checkpoint_interval: 250ms\nstats_interval: 0\nbatch_size: 1e3\nmax_series: 5000\n"
		  "max_future: 10m\nmax_memory: 1.5GiB\nmode: single\nprocessing: exactly_once\n",
		  path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(c->nprops, 3);
	assert_string_equal(c->props[2].key, "client.id");
	assert_string_equal(c->props[2].value, "me");
	assert_string_equal(kafka_cfg_prop(c, "group.id"), "vigil");
	assert_int_equal(c->ntopics, 2);
	assert_string_equal(c->topics[1], "m2");
	assert_string_equal(c->format, "influx");
	assert_string_equal(c->default_series, "s");
	assert_int_equal(c->collectd_raw, 1);
	assert_string_equal(c->state_topic, "m1.state");
	assert_string_equal(c->alerts_topic, "al");
	assert_string_equal(c->gateway_state_topic, "al.state");
	assert_string_equal(c->control_topic, "ops.control");
	assert_string_equal(c->dead_letter_topic, "dlq");
	assert_int_equal(c->nrules, 2);
	assert_string_equal(c->rules[0], "r1");
	assert_string_equal(c->owners, "o.yaml");
	assert_string_equal(c->gateway_group, "vigil-gateway");
	assert_true(c->checkpoint_interval > 0.2499 && c->checkpoint_interval < 0.2501);
	assert_true(c->stats_interval < 1e-12);
	assert_int_equal(c->batch_size, 1000);
	assert_int_equal(c->max_series, 5000);
	assert_true(c->max_future > 599.9 && c->max_future < 600.1);
	assert_true(c->max_memory > 1610612735.0 && c->max_memory < 1610612737.0);
	assert_int_equal(c->mode, KAFKA_MODE_SINGLE);
	assert_int_equal(c->exactly_once, 1);
	kafka_cfg_free(c);

	/* defaults; a single string is a one-entry list; a long topic name
	 * keeps its whole default state topic (was cut at 511 bytes) */
	memset(topic, 't', sizeof topic - 1);
	topic[sizeof topic - 1] = '\0';
	snprintf(text, sizeof text,
		 "kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: %s}\nrules: r\n", topic);
	write_tmp("defaults.yaml", text, path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(c->ntopics, 1);
	assert_int_equal(c->nrules, 1);
	assert_string_equal(c->rules[0], "r");
	assert_string_equal(c->format, "auto");
	assert_null(c->default_series);
	assert_int_equal(c->collectd_raw, 0); /* store_rates true, as write_kafka */
	assert_null(c->dead_letter_topic);
	assert_null(c->owners);
	assert_int_equal(strlen(c->state_topic), strlen(topic) + strlen(".state"));
	assert_string_equal(c->state_topic + strlen(topic), ".state");
	assert_string_equal(c->gateway_group, "g-gateway");
	assert_string_equal(c->gateway_state_topic, "alerts.state");
	assert_string_equal(c->control_topic, "alerts.control");
	assert_int_equal(c->batch_size, 1000);
	assert_int_equal(c->max_series, 0);
	assert_true(c->max_future > 3599.9 && c->max_future < 3600.1); /* default 1h */
	assert_true(c->max_memory < 0);                                /* unset: 60 % of RAM */
	assert_int_equal(c->mode, KAFKA_MODE_MEMBER);
	assert_int_equal(c->exactly_once, 0); /* processing: at_least_once */
	kafka_cfg_free(c);
}

/* input.keyed_by: series (default) keeps the topics; none moves them to
 * raw_topics and makes the engines' topics their "<topic>.by-series"
 * repartition topics, with the state topic still derived from the first
 * input topic; the router's client joins "<group.id>-repartition". */
static void test_config__keyed_by(void **state)
{
	char path[256], err[512];
	struct kafka_cfg *c = NULL;
	rd_kafka_conf_t *conf = NULL;
	char v[300];
	size_t vlen = sizeof v;

	(void)state;
	write_tmp("keyed.yaml",
		  "kafka: {bootstrap.servers: x, group.id: g, group.instance.id: m1}\n"
		  "input: {topics: [m1, m2], keyed_by: series}\n",
		  path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(c->keyed_none, 0);
	assert_int_equal(c->ntopics, 2);
	assert_string_equal(c->topics[0], "m1");
	assert_null(c->raw_topics);
	kafka_cfg_free(c);

	write_tmp("none.yaml",
		  "kafka: {bootstrap.servers: x, group.id: g, group.instance.id: m1}\n"
		  "input: {topics: [m1, m2], keyed_by: none}\n",
		  path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(c->keyed_none, 1);
	assert_int_equal(c->ntopics, 2);
	assert_string_equal(c->topics[0], "m1.by-series");
	assert_string_equal(c->topics[1], "m2.by-series");
	assert_int_equal(c->nraw_topics, 2);
	assert_string_equal(c->raw_topics[1], "m2");
	assert_string_equal(c->state_topic, "m1.state");
	assert_int_equal(kafka_conf_build(c, "router", &conf, err, sizeof err), 0);
	assert_int_equal(rd_kafka_conf_get(conf, "group.id", v, &vlen), RD_KAFKA_CONF_OK);
	assert_string_equal(v, "g-repartition");
	vlen = sizeof v;
	assert_int_equal(rd_kafka_conf_get(conf, "group.instance.id", v, &vlen), RD_KAFKA_CONF_OK);
	assert_string_equal(v, "m1-repartition");
	rd_kafka_conf_destroy(conf);
	kafka_cfg_free(c);

	EXPECT("kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: t, keyed_by: key}\n", 2, 30,
	       "input.keyed_by must be series or none, not 'key'");
}

/* The fuzzer's crash: a second `kafka:` appended to the props array sized
 * for the first one (heap overflow, "double free or corruption"). */
static void test_config__repeated_kafka_key(void **state)
{
	(void)state;
	expect_cfg_error("kafka: {bootstrap.servers: x}\nkafka: {group.id: g}\n",
			 strlen("kafka: {bootstrap.servers: x}\nkafka: {group.id: g}\n"), 2, 1,
			 "duplicate key 'kafka' in the config", "(first at @:1:1)");
	expect_cfg_error(
		GOOD_HEAD "kafka:\n  client.id: a\n  linger.ms: 5\n  socket.timeout.ms: 100\n",
		strlen(GOOD_HEAD "kafka:\n  client.id: a\n  linger.ms: 5\n  socket.timeout.ms: 100\n"), 3, 1,
		"duplicate key 'kafka'", "(first at @:1:1)");
}

/* Every other repeated key leaked (or silently took the last value). */
static void test_config__repeated_keys(void **state)
{
	static const struct {
		const char *text;
		int line, col;
		const char *want, *first;
	} cases[] = {
		{GOOD_HEAD "rules: [a]\nrules: [b]\n", 4, 1, "duplicate key 'rules' in the config",
		 "(first at @:3:1)"},
		{GOOD_HEAD "input: {topics: [n]}\n", 3, 1, "duplicate key 'input'", "(first at @:2:1)"},
		{GOOD_HEAD "owners: a\nowners: b\n", 4, 1, "duplicate key 'owners'", "(first at @:3:1)"},
		{GOOD_HEAD "mode: single\nmode: gateway\n", 4, 1, "duplicate key 'mode'", "(first at @:3:1)"},
		{GOOD_HEAD "batch_size: 5\nbatch_size: 6\n", 4, 1, "duplicate key 'batch_size'",
		 "(first at @:3:1)"},
		{"kafka: {bootstrap.servers: x, group.id: g, group.id: h}\ninput: {topics: [m]}\n", 1, 44,
		 "duplicate key 'group.id' in kafka", "(first at @:1:31)"},
		{"kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: [m], topics: [n]}\n", 2, 22,
		 "duplicate key 'topics' in input", "(first at @:2:9)"},
		{"kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: [m], \"topics\": [n]}\n", 2, 22,
		 "duplicate key 'topics' in input", "(first at @:2:9)"},
	};

	(void)state;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(cases); i++) {
		print_message("case %zu: %s\n", i, cases[i].want);
		expect_cfg_error(cases[i].text, strlen(cases[i].text), cases[i].line, cases[i].col,
				 cases[i].want, cases[i].first);
	}
}

/* batch_size / max_series were cast to int / size_t before (or without) the
 * range check: 1e99 overflowed the cast, nan passed the check. */
static void test_config__integer_ranges(void **state)
{
	(void)state;
	EXPECT(GOOD_HEAD "batch_size: 1e99\n", 3, 13, "batch_size: '1e99' is outside [1, 100000]");
	EXPECT(GOOD_HEAD "max_series: 1e99\n", 3, 13, "max_series: '1e99' is outside [0, 1000000000]");
	EXPECT(GOOD_HEAD "batch_size: -1e99\n", 3, 13, "batch_size: '-1e99' is outside");
	EXPECT(GOOD_HEAD "max_series: -1\n", 3, 13, "max_series: '-1' is outside");
	EXPECT(GOOD_HEAD "http: {max_silences: 0}\n", 3, 22, "http.max_silences: '0' is outside [1, 10000]");
	EXPECT(GOOD_HEAD "http: {max_silences: 10001}\n", 3, 22, "is outside [1, 10000]");
	EXPECT(GOOD_HEAD "batch_size: 0\n", 3, 13, "is outside [1, 100000]");
	EXPECT(GOOD_HEAD "batch_size: nan\n", 3, 13, "batch_size: 'nan' is not an integer");
	EXPECT(GOOD_HEAD "max_series: NaN\n", 3, 13, "max_series: 'NaN' is not an integer");
	EXPECT(GOOD_HEAD "batch_size: inf\n", 3, 13, "batch_size: 'inf' is not an integer");
	EXPECT(GOOD_HEAD "batch_size: 1e999\n", 3, 13, "batch_size: '1e999' is not an integer");
	EXPECT(GOOD_HEAD "batch_size: 1.5\n", 3, 13, "batch_size: '1.5' is not an integer");
	EXPECT(GOOD_HEAD "batch_size: ten\n", 3, 13, "batch_size: 'ten' is not an integer");
	EXPECT(GOOD_HEAD "checkpoint_interval: 2h\n", 3, 22,
	       "checkpoint_interval: '2h' is outside [0.05, 3600]");
	EXPECT(GOOD_HEAD "stats_interval: soon\n", 3, 17, "stats_interval: 'soon' is not a duration");
	EXPECT(GOOD_HEAD "stats_interval: nan\n", 3, 17, "not a duration");
}

/* A map where a scalar belongs was read as an uninitialised number; every
 * wrong kind is an error naming what was found. */
static void test_config__wrong_kinds(void **state)
{
	(void)state;
	EXPECT(GOOD_HEAD "batch_size: {}\n", 3, 13, "batch_size must be a scalar, not a map");
	EXPECT(GOOD_HEAD "max_series: [1]\n", 3, 13, "max_series must be a scalar, not a list");
	EXPECT(GOOD_HEAD "max_future: soon\n", 3, 13, "max_future");
	EXPECT(GOOD_HEAD "max_memory: 8 parsecs\n", 3, 13,
	       "max_memory: '8 parsecs' is not a size (like 512MiB, 8GB)");
	EXPECT(GOOD_HEAD "max_memory: -1GB\n", 3, 13, "max_memory: '-1GB' is not a size");
	EXPECT(GOOD_HEAD "checkpoint_interval: {a: 1}\n", 3, 22,
	       "checkpoint_interval must be a scalar, not a map");
	EXPECT(GOOD_HEAD "mode: [single]\n", 3, 7, "mode must be a scalar, not a list");
	EXPECT(GOOD_HEAD "owners: [a]\n", 3, 9, "owners must be a scalar, not a list");
	EXPECT(GOOD_HEAD "rules: {a: b}\n", 3, 8, "rules must be a string or a list of strings, not a map");
	EXPECT(GOOD_HEAD "rules: [[a]]\n", 3, 9, "rules must be a scalar, not a list");
	EXPECT(GOOD_HEAD "rules: []\n", 3, 8, "rules must not be empty");
	EXPECT("kafka: [a]\ninput: {topics: [m]}\n", 1, 8, "kafka must be a map, not a list");
	EXPECT("kafka: {bootstrap.servers: x, group.id: {a: b}}\ninput: {topics: [m]}\n", 1, 41,
	       "kafka property value must be a scalar, not a map");
	EXPECT("kafka: {bootstrap.servers: x, [k]: v}\n", 1, 31, "a key must be a scalar, not a list");
	EXPECT("kafka: {bootstrap.servers: x, group.id: g}\ninput: [m]\n", 2, 8,
	       "input must be a map, not a list");
	EXPECT("kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: {a: b}}\n", 2, 17,
	       "input.topics must be a string or a list of strings, not a map");
	EXPECT("- kafka\n", 1, 1, "the config must be a map, not a list");
}

/* Other strictness: unknown keys with a hint, NUL bytes, a second
 * document, YAML syntax errors, required keys, secrets. */
static void test_config__other_errors(void **state)
{
	EXPECT("kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: t, collectd: {store_rates: "
	       "maybe}}\nrules: r\n",
	       2, 44, "input.collectd.store_rates must be true or false");

	static const char nul[] = GOOD_HEAD "state_topic: \"a\\0b\"\n";
	static const char nul_raw[] = GOOD_HEAD "alerts_topic: a\0b\n";

	(void)state;
	EXPECT(GOOD_HEAD "mdoe: single\n", 3, 1, "unknown key 'mdoe' in the config (did you mean 'mode'?)");
	EXPECT(GOOD_HEAD "colour: red\n", 3, 1, "unknown key 'colour' in the config (known: kafka input");
	EXPECT("kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: [m], fromat: json}\n", 2, 22,
	       "unknown key 'fromat' in input (did you mean 'format'?)");
	EXPECT(GOOD_HEAD "mode: leader\n", 3, 7, "mode must be member, gateway or single, not 'leader'");
	EXPECT(GOOD_HEAD "processing: exactly-once\n", 3, 13,
	       "processing must be at_least_once or exactly_once, not 'exactly-once'");
	EXPECT(GOOD_HEAD "processing: [exactly_once]\n", 3, 13, "processing must be a scalar, not a list");
	EXPECT("kafka: {bootstrap.servers: x, group.id: g, no.such.property: 1}\n", 1, 44,
	       "unknown librdkafka property 'no.such.property'");
	/* "a\0b" was cut to "a" */
	EXPECT(nul, 3, 14, "state_topic contains a NUL byte");
	expect_cfg_error(nul_raw, sizeof nul_raw - 1, 3, 16, "YAML error: control characters", NULL);
	/* a second document was ignored */
	EXPECT(GOOD_HEAD "---\nmode: gateway\n", 4, 1, "only one YAML document per file");
	EXPECT(GOOD_HEAD "rules: [a\n", 4, 1, "YAML error");
	EXPECT("kafka: {bootstrap.servers: x, group.id: g}\n", 0, 0, "input.topics is required");
	EXPECT("input: {topics: [m]}\nkafka: {group.id: g}\n", 0, 0, "kafka.bootstrap.servers is required");
	EXPECT("input: {topics: [m]}\nkafka: {bootstrap.servers: x}\n", 0, 0, "kafka.group.id is required");
	EXPECT("", 0, 0, "empty config");
}

/* librdkafka credential properties may be env:/file: references: resolved
 * when a client conf is built, a missing variable is an error at load that
 * names the property and the variable but not a value, and a literal value
 * of another property is passed through untouched. */
static void test_config__kafka_secret_refs(void **state)
{
	static const char text[] = "kafka: {bootstrap.servers: \"127.0.0.1:9\", group.id: g,\n"
				   "  security.protocol: SASL_PLAINTEXT, sasl.mechanisms: PLAIN,\n"
				   "  sasl.username: u, sasl.password: \"env:VIGIL_TEST_KPW\"}\n"
				   "input: {topics: [m]}\n";
	struct kafka_cfg *c = NULL;
	rd_kafka_conf_t *conf = NULL;
	char path[256], err[512], val[64];
	size_t vlen = sizeof val;

	(void)state;
	unsetenv("VIGIL_TEST_KPW");
	EXPECT(text, 3, 21, "setting 'sasl.password': environment variable VIGIL_TEST_KPW is not set");
	write_tmp("s.yaml", text, path, sizeof path);
	err[0] = '\0';
	assert_int_not_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_non_null(strstr(err, "sasl.password"));

	assert_int_equal(setenv("VIGIL_TEST_KPW", "s3cr3t-value", 1), 0);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_string_equal(kafka_cfg_prop(c, "sasl.password"), "env:VIGIL_TEST_KPW");
	assert_int_equal(kafka_conf_build(c, "consumer", &conf, err, sizeof err), 0);
	assert_int_equal(rd_kafka_conf_get(conf, "sasl.password", val, &vlen), RD_KAFKA_CONF_OK);
	assert_string_equal(val, "s3cr3t-value");
	rd_kafka_conf_destroy(conf);
	/* the variable went away after the load: building a client fails,
	 * naming the property and the variable, not a value */
	unsetenv("VIGIL_TEST_KPW");
	err[0] = '\0';
	assert_int_not_equal(kafka_conf_build(c, "producer", &conf, err, sizeof err), 0);
	assert_non_null(strstr(err, "sasl.password"));
	assert_non_null(strstr(err, "VIGIL_TEST_KPW"));
	assert_null(strstr(err, "s3cr3t"));
	kafka_cfg_free(c);
}

/* A literal credential property is refused, at its position, while the
 * config file is readable by every user, and accepted once it is not. */
static void test_config__literal_secret_mode(void **state)
{
	static const char text[] = "kafka: {bootstrap.servers: \"127.0.0.1:9\", group.id: g,\n"
				   "  sasl.username: u, sasl.password: hunter2-literal}\n"
				   "input: {topics: [m]}\n";
	struct kafka_cfg *c = NULL;
	char path[256], err[1024];

	(void)state;
	write_tmp("lit.yaml", text, path, sizeof path);
	assert_int_equal(chmod(path, 0644), 0);
	err[0] = '\0';
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), -VIGIL_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, ":2:21: 'sasl.password' holds a literal credential but "));
	assert_non_null(strstr(err, "(mode 0644)"));
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_string_equal(kafka_cfg_prop(c, "sasl.password"), "hunter2-literal");
	kafka_cfg_free(c);
}

/* conf_get of prop in the conf built for role (NULL conf: build failed). */
static const char *role_prop(const struct kafka_cfg *c, const char *role, const char *prop, char *val,
			     size_t vlen)
{
	rd_kafka_conf_t *conf = NULL;
	char err[512];
	if (kafka_conf_build(c, role, &conf, err, sizeof err) != 0)
		return NULL;
	if (rd_kafka_conf_get(conf, prop, val, &vlen) != RD_KAFKA_CONF_OK)
		val[0] = '\0';
	rd_kafka_conf_destroy(conf);
	return val;
}

/* processing: exactly_once: the member's transactional producer (role
 * "txn") gets transactional.id vigil-<group.id>-<group.instance.id> (or the
 * user's transactional.id), no other client gets one; restores and the
 * gateway read committed data only, whatever the user set. */
static void test_config__exactly_once_confs(void **state)
{
	struct kafka_cfg *c = NULL;
	char path[256], err[512], val[256], tid[64];

	(void)state;
	write_tmp("eos.yaml",
		  "kafka: {bootstrap.servers: x, group.id: g, group.instance.id: m1,\n"
		  "  isolation.level: read_uncommitted}\ninput: {topics: [m]}\nprocessing: exactly_once\n",
		  path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(kafka_txn_id(c, tid, sizeof tid), 0);
	assert_string_equal(tid, "vigil-g-m1");
	assert_string_equal(role_prop(c, "txn", "transactional.id", val, sizeof val), "vigil-g-m1");
	assert_string_equal(role_prop(c, "txn", "transaction.timeout.ms", val, sizeof val), "10000");
	assert_string_equal(role_prop(c, "producer", "transactional.id", val, sizeof val), "");
	assert_string_equal(role_prop(c, "reader", "isolation.level", val, sizeof val), "read_committed");
	assert_string_equal(role_prop(c, "gateway", "isolation.level", val, sizeof val), "read_committed");
	/* the member's own input consumer: the user's setting wins */
	assert_string_equal(role_prop(c, "consumer", "isolation.level", val, sizeof val), "read_uncommitted");
	kafka_cfg_free(c);

	/* the user's transactional.id wins; without it and without an
	 * instance id there is no stable id and the txn client is refused */
	write_tmp("eos2.yaml",
		  "kafka: {bootstrap.servers: x, group.id: g, transactional.id: t-1}\ninput: {topics: [m]}\n",
		  path, sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_equal(c->exactly_once, 0);
	assert_string_equal(role_prop(c, "txn", "transactional.id", val, sizeof val), "t-1");
	assert_string_equal(role_prop(c, "producer", "transactional.id", val, sizeof val), "");
	/* at_least_once: the gateway keeps the user's isolation (default committed) */
	assert_string_equal(role_prop(c, "gateway", "isolation.level", val, sizeof val), "read_committed");
	kafka_cfg_free(c);
	write_tmp("eos3.yaml", "kafka: {bootstrap.servers: x, group.id: g}\ninput: {topics: [m]}\n", path,
		  sizeof path);
	assert_int_equal(kafka_cfg_load(path, &c, err, sizeof err), 0);
	assert_int_not_equal(kafka_txn_id(c, tid, sizeof tid), 0);
	assert_null(role_prop(c, "txn", "transactional.id", val, sizeof val));
	kafka_cfg_free(c);
}

static void test_config__missing_file(void **state)
{
	struct kafka_cfg *c = NULL;
	char err[256];

	(void)state;
	assert_int_equal(kafka_cfg_load("/nonexistent/vigil.yaml", &c, err, sizeof err), -VIGIL_EIO);
	assert_null(c);
	assert_non_null(strstr(err, "/nonexistent/vigil.yaml: cannot open: "));
}

/* ---- core/yaml.h directly ---- */

static void test_yaml__closest_and_numbers(void **state)
{
	static const char *const keys[] = {"threshold", "direction", "for", NULL};
	unsigned long long u;
	double d;

	(void)state;
	assert_string_equal(vy_closest(keys, "treshold"), "threshold");
	assert_string_equal(vy_closest(keys, "direciton"), "direction");
	assert_null(vy_closest(keys, "fr0m"));
	assert_null(vy_closest(keys, "colour"));
	assert_int_equal(vy_parse_uint("42", &u), 0);
	assert_int_equal(u, 42);
	assert_int_not_equal(vy_parse_uint("-1", &u), 0);
	assert_int_not_equal(vy_parse_uint("99999999999999999999999", &u), 0);
	assert_int_not_equal(vy_parse_uint("4 2", &u), 0);
	assert_int_equal(vy_parse_number("2.5e3", &d), 0);
	assert_true(d > 2499.9 && d < 2500.1);
	assert_int_not_equal(vy_parse_number("nan", &d), 0);
	assert_int_not_equal(vy_parse_number("1e999", &d), 0);
	assert_int_not_equal(vy_parse_number("", &d), 0);
	assert_int_not_equal(vy_parse_number("3x", &d), 0);
}

/* A map with thousands of keys: repeated keys are found (in linear time)
 * at the first repeat, naming the earlier one. */
static void test_yaml__big_map_repeat(void **state)
{
	enum { N = 20000 };
	char path[256], err[1024], want[700];
	size_t cap = (size_t)N * 24 + 64, len = 0;
	char *text = malloc(cap);
	struct vy_ctx y = {NULL, NULL, err, sizeof err};
	struct vy_file f;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "k%d: v\n", i);
	len += (size_t)snprintf(text + len, cap - len, "k%d: again\n", N / 2);
	write_tmp_n("big.yaml", text, len, path, sizeof path);
	free(text);
	assert_int_equal(vy_load(&y, path, &f), 0);
	assert_int_equal(vy_map_check(&y, f.root, "big"), -VIGIL_EINVAL);
	snprintf(want, sizeof want, "%s:%d:1: duplicate key 'k%d' in big (first at %s:%d:1)", path, N + 1,
		 N / 2, path, N / 2 + 1);
	assert_string_equal(err, want);
	vy_unload(&f);
}

/* Load text with vy_load; expect rc and, on error, "<file>:<want>". */
static void expect_shape(const char *name, const char *text, int want_rc, const char *want)
{
	char path[256], err[1024], full[600];
	struct vy_ctx y = {NULL, NULL, err, sizeof err};
	struct vy_file f;

	err[0] = '\0';
	write_tmp(name, text, path, sizeof path);
	int rc = vy_load(&y, path, &f);
	if (rc != want_rc)
		fail_msg("%s: rc %d want %d (%s)", name, rc, want_rc, err);
	if (want != NULL) {
		snprintf(full, sizeof full, "%s:%s", path, want);
		if (strncmp(err, full, strlen(full)) != 0)
			fail_msg("%s: got '%s', want '%s...'", name, err, full);
	}
	vy_unload(&f);
}

/* Hostile shapes (issue 16): an alias bomb, 100,000-deep flow nesting
 * (libyaml alone took over a minute on it), an alias to an enclosing node
 * (a cycle, which libyaml builds) and depth reached through aliases are
 * refused at their position; the same shapes within the bounds load. */
static void test_yaml__alias_bomb_and_depth(void **state)
{
	enum { DEEP = 100000 };
	char *deep = malloc(2 * DEEP + 16), *text = malloc(16384);
	size_t len = 0;

	(void)state;
	assert_non_null(deep);
	assert_non_null(text);
	/* the billion laughs: 9 levels of 9 aliases, 10^9 nodes as a tree */
	len = (size_t)snprintf(text, 16384, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 9; i++) {
		len += (size_t)snprintf(text + len, 16384 - len, "%c: &%c [", 'a' + i, 'a' + i);
		for (int j = 0; j < 9; j++)
			len += (size_t)snprintf(text + len, 16384 - len, "%s*%c", j ? ", " : "", 'a' + i - 1);
		len += (size_t)snprintf(text + len, 16384 - len, "]\n");
	}
	expect_shape("laughs.yaml", text, -VIGIL_EINVAL,
		     "7:4: aliases expand this node to more than 1000028 nodes (the file has 28)");
	/* 3 levels of it (757 nodes as a tree) is fine */
	expect_shape("chuckle.yaml",
		     "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		     "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
		     0, NULL);

	/* 100,000 levels of '[' after a key: refused at level 65 */
	len = (size_t)snprintf(deep, 16, "rules: ");
	memset(deep + len, '[', DEEP);
	memset(deep + len + DEEP, ']', DEEP);
	deep[len + 2 * DEEP] = '\0';
	expect_shape("deep.yaml", deep, -VIGIL_EINVAL, "1:71: nested more than 64 levels deep");
	/* 64 levels in all (the root map and 63 lists) load */
	len = (size_t)snprintf(deep, 16, "rules: ");
	memset(deep + len, '[', 63);
	memset(deep + len + 63, ']', 63);
	deep[len + 126] = '\0';
	expect_shape("deep64.yaml", deep, 0, NULL);

	/* a list that holds itself */
	expect_shape("cycle.yaml", "a: &x [1, *x]\n", -VIGIL_EINVAL,
		     "1:4: an alias here refers to a node that contains it (anchored at ");
	/* 40 + 30 levels, each within the bound, 70 through the alias */
	len = (size_t)snprintf(text, 16384, "a: &d ");
	memset(text + len, '[', 40);
	memset(text + len + 40, ']', 40);
	len += 80;
	len += (size_t)snprintf(text + len, 16384 - len, "\nb: ");
	memset(text + len, '[', 30);
	len += 30;
	len += (size_t)snprintf(text + len, 16384 - len, "*d");
	memset(text + len, ']', 30);
	len += 30;
	text[len] = '\0';
	expect_shape("alias_deep.yaml", text, -VIGIL_EINVAL, "2:");
	free(deep);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__good_and_defaults),
		cmocka_unit_test(test_config__keyed_by),
		cmocka_unit_test(test_config__repeated_kafka_key),
		cmocka_unit_test(test_config__repeated_keys),
		cmocka_unit_test(test_config__integer_ranges),
		cmocka_unit_test(test_config__wrong_kinds),
		cmocka_unit_test(test_config__other_errors),
		cmocka_unit_test(test_config__kafka_secret_refs),
		cmocka_unit_test(test_config__literal_secret_mode),
		cmocka_unit_test(test_config__exactly_once_confs),
		cmocka_unit_test(test_config__missing_file),
		cmocka_unit_test(test_config__allow_hosts),
		cmocka_unit_test(test_yaml__closest_and_numbers),
		cmocka_unit_test(test_yaml__big_map_repeat),
		cmocka_unit_test(test_yaml__alias_bomb_and_depth),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
