/* Tests for the gateway's on-call control (sinks/gateway_group.c,
 * gateway_oncall.c, gateway_control.c, gateway_persist.c) with the virtual
 * clock (core/clock.h): grouping timers, silences, inhibition, mute
 * windows across a DST change, the page budget and its digest, escalation,
 * acknowledge, and the state surviving a restart.
 *
 * Owners are loaded from YAML like a user's; notifications go to real file
 * destinations (one JSON line each) and, for group messages, to a real
 * HTTP receiver (tests/fixtures/receivers/http_receiver.py). Each test
 * states the notifications it expects and checks them exactly: the count
 * and each one's status, rule/series and reason. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/point.h"
#include "core/timefmt.h"
#include "rules/rules.h"
#include "sinks/gateway.h"

/* 2026-03-02T08:00:00Z, a Monday */
#define T0 1772438400.0

struct fx {
	char dir[64];
	struct ruleset *rs;
	struct gateway *gw;
	char state[128];
	size_t seen[8]; /* lines of out<k>.jsonl already read */
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* owners YAML with @D@ = the fixture directory (for file paths) */
static void load(struct fx *t, const char *yaml_tpl)
{
	char path[128], err[512] = "", yaml[8192];
	size_t o = 0;
	for (const char *p = yaml_tpl; *p && o + 64 < sizeof yaml;) {
		if (strncmp(p, "@D@", 3) == 0) {
			o += (size_t)snprintf(yaml + o, sizeof yaml - o, "%s", t->dir);
			p += 3;
		} else {
			yaml[o++] = *p++;
		}
	}
	yaml[o] = '\0';
	snprintf(path, sizeof path, "%s/owners.yaml", t->dir);
	write_file(path, yaml);
	int rc = ruleset_load(NULL, 0, path, &t->rs, err, sizeof err);
	if (rc != 0)
		fail_msg("ruleset_load: %s", err);
}

static void start(struct fx *t, int with_state)
{
	char err[512] = "";
	struct gateway_opts o = {0};
	if (with_state) {
		snprintf(t->state, sizeof t->state, "%s/state", t->dir);
		o.state_dir = t->state;
	}
	int rc = gateway_create(t->rs, &o, &t->gw, err, sizeof err);
	if (rc != 0)
		fail_msg("gateway_create: %s", err);
}

static int setup(void **state)
{
	struct fx *t = calloc(1, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/vigil-policy-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	clock_fake_set(1000.0, T0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct fx *t = *state;
	char cmd[128];
	gateway_destroy(t->gw);
	ruleset_free(t->rs);
	clock_fake_off();
	snprintf(cmd, sizeof cmd, "rm -rf %s", t->dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", t->dir);
	free(t);
	return 0;
}

/* An alert event of rule on host h of cluster c; episode by started. */
struct evbuf {
	struct alert_event ev;
	char series[128];
};

static struct alert_event *mk(struct evbuf *b, const char *rule, const char *action, const char *cluster,
			      const char *host, enum alert_status st, double started)
{
	memset(b, 0, sizeof *b);
	snprintf(b->series, sizeof b->series, "disk.latency{cluster=%s,host=%s}", cluster, host);
	b->ev.status = st;
	b->ev.rule = rule;
	b->ev.owner = "storage";
	b->ev.action = action;
	b->ev.detector = "des";
	b->ev.series = b->series;
	b->ev.name = "disk.latency";
	b->ev.labels[0] = (struct kv){"cluster", cluster, NULL};
	b->ev.labels[1] = (struct kv){"host", host, NULL};
	b->ev.nlabels = 2;
	b->ev.started = started;
	b->ev.ts = st == ALERT_FIRING ? started : clock_wall();
	b->ev.value = b->ev.expected = b->ev.lower = b->ev.upper = 1.0;
	b->ev.score = 1.0;
	b->ev.direction = "both";
	b->ev.threshold = 0.9;
	b->ev.source = "test";
	b->ev.start_pos = 1;
	b->ev.pos = 2;
	return &b->ev;
}

static void submit(struct fx *t, const char *rule, const char *action, const char *cluster, const char *host,
		   enum alert_status st, double started)
{
	struct evbuf b;
	assert_int_equal(gateway_submit(t->gw, mk(&b, rule, action, cluster, host, st, started)), 0);
}

/* Advance the virtual clock by dt seconds in 1-second ticks. */
static void advance(struct fx *t, double dt)
{
	for (double d = 0; d < dt; d += 1.0) {
		clock_fake_advance(dt - d < 1.0 ? dt - d : 1.0);
		gateway_tick(t->gw);
	}
}

/* The notifications written to out<k>.jsonl since the last call, as
 * "status:host" items joined by spaces ("" for none), after the queues
 * drained. */
static const char *news(struct fx *t, int k)
{
	static char out[4096];
	char path[160], *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	assert_int_equal(gateway_drain(t->gw, 10.0), 0);
	snprintf(path, sizeof path, "%s/out%d.jsonl", t->dir, k);
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return out;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (n++ < t->seen[k])
			continue;
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		assert_non_null(j);
		const char *st = json_string_value(json_object_get(j, "status"));
		const char *host = json_string_value(json_object_get(json_object_get(j, "labels"), "host"));
		const char *rule = json_string_value(json_object_get(j, "rule"));
		size_t o = strlen(out);
		snprintf(out + o, sizeof out - o, "%s%s:%s", o ? " " : "", st ? st : "?",
			 host ? host : (rule ? rule : "?"));
		json_decref(j);
	}
	t->seen[k] = n;
	free(line);
	fclose(f);
	return out;
}

#define OWNER_HEAD                                                                                           \
	"owners:\n"                                                                                          \
	"  - name: storage\n"                                                                                \
	"    destinations:\n"                                                                                \
	"      - {type: file, path: @D@/out0.jsonl}\n"

/* ---- grouping timers ---- */

static void test_ungrouped_is_immediate(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD);
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db1");
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	assert_string_equal(news(t, 0), "resolved:db1");
}

static void test_group_wait_interval_repeat(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD "    group_by: [cluster]\n"
			   "    group_wait: 30s\n"
			   "    group_interval: 5m\n"
			   "    repeat_interval: 1h\n");
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	advance(t, 10);
	submit(t, "lat", "page", "eu-1", "db2", ALERT_FIRING, T0 + 10);
	advance(t, 18);
	assert_string_equal(news(t, 0), ""); /* group_wait not over */
	advance(t, 3);
	assert_string_equal(news(t, 0), "firing:db1 firing:db2");
	/* a third alert 1 min later waits for group_interval (5 min after the first notification) */
	advance(t, 60);
	submit(t, "lat", "page", "eu-1", "db3", ALERT_FIRING, T0 + 91);
	advance(t, 200);
	assert_string_equal(news(t, 0), "");
	advance(t, 45);
	assert_string_equal(news(t, 0), "firing:db3");
	/* a resolve: at the next interval, only the resolve goes per episode */
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	advance(t, 290);
	assert_string_equal(news(t, 0), "");
	advance(t, 15);
	assert_string_equal(news(t, 0), "resolved:db1");
	/* nothing changes: the repeat comes repeat_interval after the last notification */
	advance(t, 3500);
	assert_string_equal(news(t, 0), "");
	advance(t, 110);
	assert_string_equal(news(t, 0), "firing:db2 firing:db3");
	/* another cluster is another group with its own group_wait */
	submit(t, "lat", "page", "us-1", "web1", ALERT_FIRING, clock_wall());
	advance(t, 29);
	assert_string_equal(news(t, 0), "");
	advance(t, 2);
	assert_string_equal(news(t, 0), "firing:web1");
}

static void test_resolved_within_group_wait_is_never_sent(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD "    group_by: [cluster]\n"
			   "    group_wait: 30s\n");
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	advance(t, 10);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	advance(t, 600);
	assert_string_equal(news(t, 0), "");
	struct gateway_stats st;
	gateway_get_stats(t->gw, &st);
	assert_int_equal(st.fired, 1);
	assert_int_equal(st.resolved, 1);
}

/* ---- silences ---- */

static int add_silence(struct fx *t, const char *matcher, const char *duration, char *id)
{
	char err[256] = "";
	json_t *spec = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "owner", "storage", "matchers", matcher,
				 "duration", duration, "created_by", "alice", "comment", "disk swap");
	int rc = gateway_silence_add(t->gw, spec, -1, id, err, sizeof err);
	json_decref(spec);
	if (rc != 0)
		print_message("silence: %s\n", err);
	return rc;
}

static void test_silence_mutes_and_expires(void **state)
{
	struct fx *t = *state;
	char id[32], err[256];
	load(t, OWNER_HEAD);
	start(t, 0);
	assert_int_equal(add_silence(t, "host=~db[12]", "1h", id), 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	submit(t, "lat", "page", "eu-1", "db3", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db3");
	json_t *l = gateway_silence_list(t->gw, "storage");
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "state")), "active");
	json_decref(l);
	/* expired by hand: the muted alert is notified at the next tick */
	advance(t, 100);
	assert_string_equal(news(t, 0), "");
	assert_int_equal(gateway_silence_expire(t->gw, "storage", id, err, sizeof err), 0);
	advance(t, 1);
	assert_string_equal(news(t, 0), "firing:db1");
	/* a silence that ends by itself */
	assert_int_equal(add_silence(t, "host=db4", "10m", id), 0);
	submit(t, "lat", "page", "eu-1", "db4", ALERT_FIRING, T0 + 5);
	advance(t, 590);
	assert_string_equal(news(t, 0), "");
	advance(t, 20);
	assert_string_equal(news(t, 0), "firing:db4");
}

static void test_resolve_guarantee_through_silence(void **state)
{
	struct fx *t = *state;
	char id[32];
	load(t, OWNER_HEAD);
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db1");
	assert_int_equal(add_silence(t, "cluster=eu-1", "2h", id), 0);
	submit(t, "lat", "page", "eu-1", "db2", ALERT_FIRING, T0 + 1);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	submit(t, "lat", "page", "eu-1", "db2", ALERT_RESOLVED, T0 + 1);
	/* db1 was notified before the silence: its resolve is owed; db2 was never told */
	assert_string_equal(news(t, 0), "resolved:db1");
}

static void test_silence_preview_and_errors(void **state)
{
	struct fx *t = *state;
	char id[32], err[256];
	load(t, OWNER_HEAD);
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	submit(t, "lat", "page", "eu-2", "db2", ALERT_FIRING, T0);
	json_t *spec = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "owner", "storage", "matchers",
				 "cluster=eu-2", "duration", "1h", "created_by", "bob", "comment", "x");
	json_t *p = gateway_silence_preview(t->gw, spec, err, sizeof err);
	assert_non_null(p);
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p, 0), "series")),
			    "disk.latency{cluster=eu-2,host=db2}");
	json_decref(p);
	json_decref(spec);
	/* an owner the rules do not know */
	spec = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "owner", "nobody", "matchers", "a=b", "duration",
			 "1h", "created_by", "bob", "comment", "x");
	assert_int_equal(gateway_silence_add(t->gw, spec, -1, id, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "nobody"));
	json_decref(spec);
	assert_int_equal(gateway_silence_expire(t->gw, "storage", "s-0000000000000000", err, sizeof err),
			 -VIGIL_ENOENT);
}

/* A silence that starts in the future mutes nothing until it starts. */
static void test_silence_starting_later(void **state)
{
	struct fx *t = *state;
	char id[32], err[256] = "", starts[40], ends[40];
	load(t, OWNER_HEAD);
	start(t, 0);
	time_format_rfc3339(T0 + 600, starts, sizeof starts);
	time_format_rfc3339(T0 + 1200, ends, sizeof ends);
	json_t *spec =
		json_pack("{s:s, s:[s], s:s, s:s, s:s, s:s}", "owner", "storage", "matchers", "cluster=eu-1",
			  "starts_at", starts, "ends_at", ends, "created_by", "alice", "comment", "window");
	assert_int_equal(gateway_silence_add(t->gw, spec, -1, id, err, sizeof err), 0);
	json_decref(spec);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db1"); /* pending: not muting yet */
	advance(t, 600);
	submit(t, "lat", "page", "eu-1", "db2", ALERT_FIRING, T0 + 600);
	assert_string_equal(news(t, 0), ""); /* active */
	json_t *l = gateway_silence_list(t->gw, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "state")), "active");
	json_decref(l);
	advance(t, 601); /* ended: db2 is notified */
	assert_string_equal(news(t, 0), "firing:db2");
}

/* ---- inhibition ---- */

static void test_inhibition(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD "    inhibit_rules:\n"
			   "      - source_match: {alertname: region-down}\n"
			   "        target_match: {alertname: lat}\n"
			   "        equal: [cluster]\n");
	start(t, 0);
	submit(t, "region-down", "page", "eu-1", "all", ALERT_FIRING, T0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	submit(t, "lat", "page", "us-1", "web1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:all firing:web1");
	/* the source resolves: the inhibited target is notified */
	submit(t, "region-down", "page", "eu-1", "all", ALERT_RESOLVED, T0);
	advance(t, 2);
	assert_string_equal(news(t, 0), "resolved:all firing:db1");
}

/* The resolve of an alert notified before an inhibition or a mute window
 * began is still sent. */
static void test_resolve_guarantee_through_inhibition_and_window(void **state)
{
	struct fx *t = *state;
	double t1 = time_from_civil(2026, 3, 2, 21, 59, 0.0); /* a Monday */
	clock_fake_set(5000.0, t1);
	load(t, OWNER_HEAD "    time_intervals:\n"
			   "      - {name: evening, time_intervals: [{times: [{start_time: \"22:00\", "
			   "end_time: \"23:00\"}]}]}\n"
			   "    mute_time_intervals: [evening]\n"
			   "    inhibit_rules:\n"
			   "      - {source_match: {alertname: region-down}, target_match: {alertname: lat}, "
			   "equal: [cluster]}\n");
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, t1);
	submit(t, "lat", "page", "us-1", "web1", ALERT_FIRING, t1);
	assert_string_equal(news(t, 0), "firing:db1 firing:web1");
	advance(t, 120); /* 22:01: the window mutes everything of the owner */
	submit(t, "lat", "page", "us-1", "web1", ALERT_RESOLVED, t1);
	submit(t, "lat", "page", "us-1", "web2", ALERT_FIRING, t1 + 120);
	assert_string_equal(news(t, 0), "resolved:web1");
	advance(t, 3600); /* 23:01: the window is over: web2 is notified */
	assert_string_equal(news(t, 0), "firing:web2");
	submit(t, "region-down", "page", "eu-1", "all", ALERT_FIRING, clock_wall());
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, t1); /* inhibited now, notified before */
	assert_string_equal(news(t, 0), "firing:all resolved:db1");
}

/* ---- mute windows ---- */

/* A route muted 01:00-03:00 Berlin time, on the night summer time starts
 * (2026-03-29: 02:00 CET -> 03:00 CEST, so the window lasts one real hour:
 * 00:00Z to 01:00Z); the owner's other alerts are not muted. */
static void test_mute_window_across_dst(void **state)
{
	struct fx *t = *state;
	double night = time_from_civil(2026, 3, 28, 23, 30, 0.0); /* 00:30 CET */
	clock_fake_set(5000.0, night);
	load(t, OWNER_HEAD "    time_intervals:\n"
			   "      - name: night\n"
			   "        time_intervals:\n"
			   "          - times: [{start_time: \"01:00\", end_time: \"03:00\"}]\n"
			   "            location: Europe/Berlin\n"
			   "    routes:\n"
			   "      - match: {cluster: eu-1}\n"
			   "        mute_time_intervals: [night]\n");
	start(t, 0);
	advance(t, 1800); /* 00:00Z = 01:00 CET: the window opens */
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, clock_wall());
	submit(t, "lat", "page", "us-1", "web1", ALERT_FIRING, clock_wall());
	assert_string_equal(news(t, 0), "firing:web1");
	advance(t, 3590); /* 00:59:50Z = 01:59:50 CET: still inside */
	assert_string_equal(news(t, 0), "");
	advance(t, 12); /* 01:00:02Z = 03:00:02 CEST: the window is over after one real hour */
	assert_string_equal(news(t, 0), "firing:db1");
}

/* ---- page budget ---- */

static void test_page_budget_and_digest(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD "    page_budget: {max: 2, per: 1h}\n");
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	submit(t, "lat", "page", "eu-1", "db2", ALERT_FIRING, T0);
	submit(t, "lat", "notify", "eu-1", "db3", ALERT_FIRING, T0); /* not a page: not counted */
	submit(t, "lat", "page", "eu-1", "db4", ALERT_FIRING, T0);
	submit(t, "lat", "page", "eu-1", "db5", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db1 firing:db2 firing:db3 firing:vigil-page-budget");
	/* a held page that resolves is not sent; the digest lists both held pages */
	submit(t, "lat", "page", "eu-1", "db4", ALERT_RESOLVED, T0);
	advance(t, 3590);
	assert_string_equal(news(t, 0), "");
	advance(t, 15);
	assert_string_equal(news(t, 0), "resolved:vigil-page-budget");
	char path[160], *line = NULL;
	size_t cap = 0;
	snprintf(path, sizeof path, "%s/out0.jsonl", t->dir);
	FILE *f = fopen(path, "r");
	json_t *last = NULL;
	while (getline(&line, &cap, f) > 0) {
		json_decref(last);
		last = json_loads(line, 0, NULL);
	}
	fclose(f);
	free(line);
	json_t *dg = json_object_get(last, "digest");
	assert_int_equal(json_array_size(dg), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(json_array_get(dg, 0), "labels"), "host")),
		"db4");
	json_decref(last);
	struct gateway_stats st;
	gateway_get_stats(t->gw, &st);
	assert_int_equal(st.pages_held, 2);
	assert_int_equal(st.page_digests, 1);
	/* a new window: pages flow again */
	submit(t, "lat", "page", "eu-1", "db6", ALERT_FIRING, clock_wall());
	assert_string_equal(news(t, 0), "firing:db6");
}

/* ---- escalation and acknowledge ---- */

#define ESC_OWNER                                                                                            \
	OWNER_HEAD "    people:\n"                                                                           \
		   "      - {name: alice, destinations: [{type: file, path: @D@/out1.jsonl}]}\n"             \
		   "      - {name: bob, destinations: [{type: file, path: @D@/out2.jsonl}]}\n"               \
		   "    escalation:\n"                                                                       \
		   "      levels:\n"                                                                         \
		   "        - {after: 0s, person: alice}\n"                                                  \
		   "        - {after: 10m, person: bob}\n"

static void test_escalation_and_ack(void **state)
{
	struct fx *t = *state;
	char err[256], ep[17];
	struct evbuf b;
	load(t, ESC_OWNER);
	start(t, 0);
	/* episode 1: nobody acknowledges: alice at once, bob after 10 min */
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db1");
	assert_string_equal(news(t, 1), "firing:db1");
	advance(t, 595);
	assert_string_equal(news(t, 2), "");
	advance(t, 6);
	assert_string_equal(news(t, 2), "firing:db1");
	/* notify-only alerts are not escalated */
	submit(t, "lat", "notify", "eu-1", "db9", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db9");
	assert_string_equal(news(t, 1), "");
	/* episode 2: acknowledged after 5 min: bob is never paged */
	submit(t, "lat", "page", "eu-1", "db2", ALERT_FIRING, clock_wall());
	assert_string_equal(news(t, 0), "firing:db2");
	assert_string_equal(news(t, 1), "firing:db2");
	advance(t, 300);
	alert_episode(mk(&b, "lat", "page", "eu-1", "db2", ALERT_FIRING, clock_wall() - 300), ep);
	assert_int_equal(gateway_ack(t->gw, ep, "alice", "looking", 0, err, sizeof err), 0);
	assert_string_equal(news(t, 0), "acknowledged:db2");
	assert_string_equal(news(t, 1), "acknowledged:db2");
	advance(t, 900);
	assert_string_equal(news(t, 2), "");
	/* everyone reached gets the resolves */
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	submit(t, "lat", "page", "eu-1", "db2", ALERT_RESOLVED, clock_wall() - 1200);
	assert_string_equal(news(t, 0), "resolved:db1 resolved:db2");
	assert_string_equal(news(t, 1), "resolved:db1 resolved:db2");
	assert_string_equal(news(t, 2), "resolved:db1");
	/* an unknown episode */
	assert_int_equal(gateway_ack(t->gw, "0123456789abcdef", "alice", NULL, 0, err, sizeof err),
			 -VIGIL_ENOENT);
}

static void test_unack_restarts_escalation(void **state)
{
	struct fx *t = *state;
	char err[256], ep[17];
	struct evbuf b;
	load(t, ESC_OWNER);
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	alert_episode(mk(&b, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0), ep);
	assert_string_equal(news(t, 1), "firing:db1");
	assert_int_equal(gateway_ack(t->gw, ep, "alice", NULL, 0, err, sizeof err), 0);
	advance(t, 700);
	assert_string_equal(news(t, 2), "");
	assert_int_equal(gateway_ack(t->gw, ep, "alice", NULL, 1, err, sizeof err), 0);
	assert_string_equal(news(t, 1), "acknowledged:db1 firing:db1");
	advance(t, 601);
	assert_string_equal(news(t, 2), "firing:db1");
}

/* The API's view of one open alert (gateway_alert): the listing fields
 * with startsAt and age on the policy clock, the why of its event, and its
 * history: fired, notified, the first escalation level, then what is due
 * next; after an acknowledgement, who did it and nothing due. */
static json_t *list_of(struct fx *t, const char *owner)
{
	struct buf b = {0};
	assert_int_equal(gateway_alerts_json(t->gw, owner, NULL, &b), 0);
	json_t *all = json_loadb((const char *)b.data, b.len, 0, NULL);
	buf_free(&b);
	assert_non_null(all);
	return all;
}

static const char *hist_at(json_t *h, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(h, i), key));
}

static void test_alert_detail_and_history(void **state)
{
	struct fx *t = *state;
	char err[256], ep[17];
	struct evbuf b;
	load(t, ESC_OWNER);
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 1), "firing:db1");
	advance(t, 120);
	alert_episode(mk(&b, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0), ep);

	json_t *all = list_of(t, "storage");
	assert_int_equal(json_array_size(all), 1);
	json_t *a0 = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(a0, "startsAt")), "2026-03-02T08:00:00Z");
	assert_true(fabs(json_number_value(json_object_get(a0, "age_seconds")) - 120) < 1.5);
	json_decref(all);
	advance(t, 60); /* the age is the listing's, not the cache's */
	all = list_of(t, "storage");
	assert_true(fabs(json_number_value(json_object_get(json_array_get(all, 0), "age_seconds")) - 180) <
		    1.5);
	json_decref(all);

	json_t *d = gateway_alert(t->gw, ep);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "episode")), ep);
	assert_true(fabs(json_number_value(json_object_get(json_object_get(d, "why"), "threshold")) - 0.9) <
		    1e-9);
	json_t *h = json_object_get(d, "history");
	assert_int_equal(json_array_size(h), 4);
	assert_string_equal(hist_at(h, 0, "event"), "fired");
	assert_string_equal(hist_at(h, 0, "at"), "2026-03-02T08:00:00Z");
	assert_non_null(strstr(hist_at(h, 0, "detail"), "detector des"));
	assert_string_equal(hist_at(h, 1, "event"), "notified");
	assert_string_equal(hist_at(h, 2, "event"), "escalated");
	assert_string_equal(hist_at(h, 2, "detail"), "level 1, round 1: alice");
	/* bob's level is due 10 minutes after the first notification */
	assert_string_equal(hist_at(h, 3, "event"), "escalation_due");
	assert_string_equal(hist_at(h, 3, "at"), "2026-03-02T08:10:00Z");
	json_decref(d);

	assert_int_equal(gateway_ack(t->gw, ep, "team:storage", NULL, 0, err, sizeof err), 0);
	d = gateway_alert(t->gw, ep);
	assert_true(json_is_true(json_object_get(d, "acknowledged")));
	h = json_object_get(d, "history");
	size_t n = json_array_size(h);
	assert_string_equal(hist_at(h, n - 1, "event"), "acknowledged");
	assert_non_null(strstr(hist_at(h, n - 1, "detail"), "team:storage"));
	for (size_t i = 0; i < n; i++) /* an acknowledged page escalates no further */
		assert_string_not_equal(hist_at(h, i, "event"), "escalation_due");
	json_decref(d);

	assert_null(gateway_alert(t->gw, "0123456789abcdef"));
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	assert_null(gateway_alert(t->gw, ep)); /* resolved: no longer open */
}

/* A schedule level pages whoever is on call: a weekly rotation handed over
 * Mondays 09:00 Berlin time (08:00Z in winter). */
static void test_escalation_to_schedule(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD
	     "    people:\n"
	     "      - {name: alice, destinations: [{type: file, path: @D@/out1.jsonl}]}\n"
	     "      - {name: bob, destinations: [{type: file, path: @D@/out2.jsonl}]}\n"
	     "    schedules:\n"
	     "      - {name: primary, time_zone: Europe/Berlin, rotation: [alice, bob], shift: 1w,\n"
	     "         start: \"2026-02-23 09:00\"}\n"
	     "    escalation:\n"
	     "      levels:\n"
	     "        - {after: 0s, schedule: primary}\n");
	start(t, 0);
	/* T0 = Monday 2026-03-02 08:00Z = 09:00 CET: bob's week has just begun */
	advance(t, 1);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, clock_wall());
	assert_string_equal(news(t, 1), "");
	assert_string_equal(news(t, 2), "firing:db1");
	json_t *r = gateway_oncall_report(t->rs, "storage", clock_wall());
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "now")), "bob");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "next")), "alice");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "until")),
			    "2026-03-09T08:00:00Z");
	json_decref(r);
}

/* The policy runs again after its last level: repeat 1, repeat_after 5m. */
static void test_escalation_repeats(void **state)
{
	struct fx *t = *state;
	load(t, OWNER_HEAD "    people:\n"
			   "      - {name: alice, destinations: [{type: file, path: @D@/out1.jsonl}]}\n"
			   "      - {name: bob, destinations: [{type: file, path: @D@/out2.jsonl}]}\n"
			   "    escalation:\n"
			   "      levels: [{after: 0s, person: alice}, {after: 10m, person: bob}]\n"
			   "      repeat: 1\n"
			   "      repeat_after: 5m\n");
	start(t, 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 1), "firing:db1");
	advance(t, 600);
	assert_string_equal(news(t, 2), "firing:db1");
	advance(t, 299); /* round 2 starts 5 min after bob: alice at 15 min */
	assert_string_equal(news(t, 1), "");
	advance(t, 2);
	assert_string_equal(news(t, 1), "firing:db1");
	advance(t, 600); /* bob again at 25 min */
	assert_string_equal(news(t, 2), "firing:db1");
	advance(t, 3600); /* and then it stops */
	assert_string_equal(news(t, 1), "");
	assert_string_equal(news(t, 2), "");
}

/* ---- persistence ---- */

static void restart(struct fx *t)
{
	gateway_destroy(t->gw);
	t->gw = NULL;
	start(t, 1);
}

static void test_state_survives_restart(void **state)
{
	struct fx *t = *state;
	char id[32];
	load(t, ESC_OWNER "    group_by: [cluster]\n"
			  "    group_wait: 30s\n"
			  "    group_interval: 5m\n");
	start(t, 1);
	assert_int_equal(add_silence(t, "host=db7", "1h", id), 0);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	advance(t, 10);
	gateway_flush(t->gw);
	restart(t);
	/* the group's wait ran on while it was down: it flushes on time */
	advance(t, 15);
	assert_string_equal(news(t, 0), "");
	advance(t, 6);
	assert_string_equal(news(t, 0), "firing:db1");
	assert_string_equal(news(t, 1), "firing:db1");
	gateway_flush(t->gw);
	restart(t);
	/* the pending escalation (bob at T0 + 30 + 10 min) fires on time after the restart */
	advance(t, 590);
	assert_string_equal(news(t, 2), "");
	advance(t, 10);
	assert_string_equal(news(t, 2), "firing:db1");
	/* the silence survived too */
	submit(t, "lat", "page", "eu-1", "db7", ALERT_FIRING, clock_wall());
	advance(t, 400);
	assert_string_equal(news(t, 0), "");
	json_t *l = gateway_silence_list(t->gw, NULL);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	gateway_flush(t->gw);
	restart(t);
	/* the episode's history survived with it */
	struct evbuf b;
	char ep[17];
	alert_episode(mk(&b, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0), ep);
	json_t *a = gateway_alert(t->gw, ep);
	assert_non_null(a);
	json_t *hist = json_object_get(a, "history"), *x;
	static const char *const want[] = {"fired", "notified", "escalated", "escalated"};
	size_t i;
	assert_int_equal(json_array_size(hist), 4);
	json_array_foreach(hist, i, x)
		assert_string_equal(json_string_value(json_object_get(x, "event")), want[i]);
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 3), "detail")),
			    "level 2, round 1: bob");
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 3), "at")),
			    "2026-03-02T08:10:30Z");
	json_decref(a);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_RESOLVED, T0);
	advance(t, 301);
	assert_string_equal(news(t, 0), "resolved:db1");
	assert_string_equal(news(t, 1), "resolved:db1");
	assert_string_equal(news(t, 2), "resolved:db1");
}

/* ---- `for` and keep_firing_for with the gateway's timers ---- */

/* Feed rule r (of t->rs) one point per step seconds with the given scores,
 * the clock in step with data time, submitting its transitions. */
static void feed(struct fx *t, const struct rule *r, struct rule_state *rst, const double *scores, size_t n,
		 double step, const char *host)
{
	for (size_t i = 0; i < n; i++) {
		double ts = clock_wall();
		struct det_result res = {scores[i], 1.0, 0.5, 1.5};
		enum rule_transition tr = rule_eval(r, rst, ts, 5.0, &res, (int64_t)i);
		if (tr != RULE_NONE) {
			struct evbuf b;
			struct alert_event *ev =
				mk(&b, r->name, "page", "eu-1", host,
				   tr == RULE_FIRE ? ALERT_FIRING : ALERT_RESOLVED, rst->started);
			ev->start_pos = rst->start_pos;
			assert_int_equal(gateway_submit(t->gw, ev), 0);
		}
		advance(t, step);
	}
}

static void test_for_and_keep_firing_for(void **state)
{
	struct fx *t = *state;
	load(t, "rules:\n"
		"  - {name: pend, series: disk.latency, owner: storage, for: 2 of 3, keep_firing_for: 60s,\n"
		"     threshold: 0.9}\n"
		"  - {name: flap, series: disk.latency, owner: storage}\n" OWNER_HEAD
		"    group_by: [alertname]\n"
		"    group_wait: 30s\n"
		"    group_interval: 5m\n");
	start(t, 0);
	const struct rule *pend = &t->rs->rules[0], *flap = &t->rs->rules[1];
	struct rule_state s1 = {0}, s2 = {0}, s3 = {0};
	/* pending for one point, firing at the second; kept firing through
	 * normal points for 60 s; one firing and one resolve reach the owner */
	const double a[] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	feed(t, pend, &s1, a, 2, 10, "db1"); /* points at t = 0, 10: fires at 10; clock at 20 */
	assert_string_equal(news(t, 0), "");
	feed(t, pend, &s1, a + 2, 1, 9, "db1"); /* t = 20; clock at 29: group_wait (till 40) runs */
	assert_string_equal(news(t, 0), "");
	advance(t, 11); /* clock at 40: notified */
	assert_string_equal(news(t, 0), "firing:db1");
	feed(t, pend, &s1, a + 4, 4, 10,
	     "db1"); /* t = 40..70: resolves at 70 (60 s after the last anomaly) */
	assert_string_equal(news(t, 0), "");
	advance(t, 255); /* clock at 335: the resolve waits for group_interval, 300 s after t = 40 */
	assert_string_equal(news(t, 0), "");
	advance(t, 5);
	assert_string_equal(news(t, 0), "resolved:db1");
	/* a flap that fires and resolves inside group_wait is never sent */
	const double f[] = {1, 0, 0};
	feed(t, flap, &s2, f, 3, 10, "db2");
	advance(t, 60);
	assert_string_equal(news(t, 0), "");
	/* keep_firing_for bridges a gap: one episode, not two */
	const double g[] = {1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
	feed(t, pend, &s3, g, 13, 10, "db3");
	advance(t, 400);
	assert_string_equal(news(t, 0), "firing:db3 resolved:db3");
	struct gateway_stats st;
	gateway_get_stats(t->gw, &st);
	assert_int_equal(st.fired, 3);
}

/* Damaged or stale state records in the log (an owner gone from the
 * config, missing fields, a silence that no longer parses) are skipped:
 * the gateway starts and works. */
static void test_damaged_state_records(void **state)
{
	struct fx *t = *state;
	char path[160];
	load(t, OWNER_HEAD);
	snprintf(path, sizeof path, "%s/state", t->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/state/gateway.log", t->dir);
	write_file(
		path,
		"{\"op\":\"put\",\"ns\":\"g\",\"key\":\"01\",\"v\":{\"owner\":\"gone\",\"route\":0,"
		"\"alerts\":[]}}\n"
		"{\"op\":\"put\",\"ns\":\"g\",\"key\":\"02\",\"v\":{\"owner\":\"storage\",\"route\":7,\"key_"
		"text\":\"x\",\"alerts\":[]}}\n"
		"{\"op\":\"put\",\"ns\":\"g\",\"key\":\"03\",\"v\":{\"owner\":\"storage\",\"route\":0,\"key_"
		"text\":\"k\",\"alerts\":[{\"ep\":\"05\"},7]}}\n"
		"{\"op\":\"put\",\"ns\":\"e\",\"key\":\"04\",\"v\":{\"owner\":\"storage\",\"text\":\"{}\"}}\n"
		"{\"op\":\"put\",\"ns\":\"s\",\"key\":\"05\",\"v\":{\"id\":\"s-1\",\"owner\":\"storage\","
		"\"matchers\":[\"a=~(\"]}}\n"
		"{\"op\":\"put\",\"ns\":\"b\",\"key\":\"06\",\"v\":{\"owner\":\"gone\"}}\n"
		"{\"op\":\"put\",\"ns\":\"zz\",\"key\":\"07\",\"v\":1}\n");
	start(t, 1);
	json_t *l = gateway_silence_list(t->gw, NULL);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	submit(t, "lat", "page", "eu-1", "db1", ALERT_FIRING, T0);
	assert_string_equal(news(t, 0), "firing:db1");
}

/* ---- control commands ---- */

static void test_control_commands(void **state)
{
	struct fx *t = *state;
	char err[256];
	json_t *reply = NULL;
	load(t, OWNER_HEAD);
	start(t, 0);
	json_t *cmd = json_pack("{s:s, s:s, s:{s:s, s:[s], s:s, s:s, s:s}}", "schema", "vigil.control/v1",
				"op", "silence_add", "silence", "owner", "storage", "matchers", "host=db1",
				"duration", "1h", "created_by", "carol", "comment", "planned");
	assert_int_equal(gateway_control(t->gw, cmd, -1, &reply, err, sizeof err), 0);
	const char *sid = json_string_value(json_object_get(reply, "id"));
	assert_non_null(sid);
	assert_int_equal(strncmp(sid, "s-", 2), 0);
	/* the same command again (a replayed record) is the same silence */
	json_t *reply2 = NULL;
	assert_int_equal(gateway_control(t->gw, cmd, -1, &reply2, err, sizeof err), 0);
	assert_string_equal(json_string_value(json_object_get(reply2, "id")), sid);
	json_t *l = gateway_silence_list(t->gw, NULL);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	json_decref(reply2);
	json_decref(cmd);
	cmd = json_pack("{s:s, s:s}", "op", "bogus", "x", "y");
	assert_int_equal(gateway_control(t->gw, cmd, -1, &reply2, err, sizeof err), -VIGIL_EINVAL);
	assert_false(json_is_true(json_object_get(reply2, "ok")));
	json_decref(reply2);
	json_decref(cmd);
	json_decref(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ungrouped_is_immediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_wait_interval_repeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolved_within_group_wait_is_never_sent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_silence_mutes_and_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_guarantee_through_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_preview_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inhibition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_budget_and_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalation_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unack_restarts_escalation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_state_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_for_and_keep_firing_for, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mute_window_across_dst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalation_to_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_detail_and_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_starting_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_guarantee_through_inhibition_and_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_escalation_repeats, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
