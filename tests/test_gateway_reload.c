/* Tests for sinks/gateway_reload.c: a running gateway moves to new owners.
 * Escalation timers and acknowledgements of an unchanged owner go on; a new
 * owner is routed to its destinations at once; a removed destination's
 * queued notification is dropped, logged and counted (not silently); an
 * owner removed with an open alert is kept until the alert closes; a bad
 * owners set leaves the running one. Owners are loaded from YAML files in a
 * fresh temporary directory; the gateway runs on data time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alert.h"
#include "core/point.h"
#include "core/timefmt.h"
#include "rules/rules.h"
#include "sinks/gateway.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_gwreload.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Load rules.yaml + owners text (every @D = the directory). */
static int load(const char *text, struct ruleset **rs, char *err, size_t errlen)
{
	char owners[4096], rp[256], op[256];
	size_t n = 0;
	for (const char *p = text; *p && n + 64 < sizeof owners; p++) {
		if (p[0] == '@' && p[1] == 'D') {
			n += (size_t)snprintf(owners + n, sizeof owners - n, "%s", dir);
			p++;
		} else {
			owners[n++] = *p;
		}
	}
	owners[n] = '\0';
	put("owners.yaml", owners);
	snprintf(rp, sizeof rp, "%s/rules.yaml", dir);
	snprintf(op, sizeof op, "%s/owners.yaml", dir);
	const char *paths[] = {rp};
	return ruleset_load(paths, 1, op, rs, err, errlen);
}

/* Lines of dir/name containing needle. */
static int count(const char *name, const char *needle)
{
	char path[256], line[8192];
	int n = 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void event(struct alert_event *ev, const char *owner, const char *series, double t)
{
	memset(ev, 0, sizeof *ev);
	ev->status = ALERT_FIRING;
	ev->rule = "r";
	ev->owner = owner;
	ev->action = "page";
	ev->detector = "mad";
	ev->series = series;
	ev->name = "m";
	ev->started = ev->ts = t;
	ev->value = 10;
	ev->expected = 1;
	ev->lower = 0;
	ev->upper = 2;
	ev->score = 1;
	ev->direction = "up";
	ev->threshold = 0.9;
	ev->source = "test";
	ev->start_pos = ev->pos = 1;
}

static const char rules_yaml[] = "rules:\n"
				 "  - {name: r, series: m, detector: mad, owner: esc}\n";

/* esc escalates alice at once, bob after 10m; "gone" has a webhook to a
 * closed port that keeps retrying (its notification stays queued). */
static const char owners_v1[] = "owners:\n"
				"  - name: esc\n"
				"    destinations: [{type: file, path: @D/esc.jsonl}]\n"
				"    people:\n"
				"      - {name: alice, destinations: [{type: file, path: @D/alice.jsonl}]}\n"
				"      - {name: bob, destinations: [{type: file, path: @D/bob.jsonl}]}\n"
				"    escalation:\n"
				"      levels:\n"
				"        - {after: 0s, person: alice}\n"
				"        - {after: 10m, person: bob}\n"
				"  - name: gone\n"
				"    destinations:\n"
				"      - {type: webhook, url: \"http://127.0.0.1:9/x\", timeout: 1s, "
				"retry_initial: 300ms, retry_max: "
				"300ms, max_attempts: 1000}\n";

/* esc unchanged; gone's webhook removed (a file instead); a new owner */
static const char owners_v2[] = "owners:\n"
				"  - name: esc\n"
				"    destinations: [{type: file, path: @D/esc.jsonl}]\n"
				"    people:\n"
				"      - {name: alice, destinations: [{type: file, path: @D/alice.jsonl}]}\n"
				"      - {name: bob, destinations: [{type: file, path: @D/bob.jsonl}]}\n"
				"    escalation:\n"
				"      levels:\n"
				"        - {after: 0s, person: alice}\n"
				"        - {after: 10m, person: bob}\n"
				"  - name: gone\n"
				"    destinations: [{type: file, path: @D/gone.jsonl}, {type: file, path: "
				"@D/gone2.jsonl}]\n"
				"  - name: fresh\n"
				"    destinations: [{type: file, path: @D/fresh.jsonl}]\n";

/* fresh removed while its alert is open */
static const char owners_v3[] = "owners:\n"
				"  - name: esc\n"
				"    destinations: [{type: file, path: @D/esc.jsonl}]\n"
				"  - name: gone\n"
				"    destinations: [{type: file, path: @D/gone.jsonl}]\n";

static const char owners_bad[] = "owners:\n"
				 "  - name: esc\n"
				 "    destinations: [{type: fil, path: @D/esc.jsonl}]\n";

static void test_reload_keeps_escalation_and_acks(void **state)
{
	(void)state;
	struct ruleset *rs1 = NULL, *rs2 = NULL, *bad = NULL;
	struct gateway *gw = NULL;
	struct alert_event ev;
	struct gateway_stats st;
	char err[1024], ep1[17];
	double t0 = time_from_civil(2026, 3, 2, 8, 0, 0.0);

	put("rules.yaml", rules_yaml);
	if (load(owners_v1, &rs1, err, sizeof err) != 0)
		fail_msg("owners v1: %s", err);
	struct gateway_opts o = {.data_time = 1};
	assert_int_equal(gateway_create(rs1, &o, &gw, err, sizeof err), 0);

	/* two pages of esc: alice gets both at once; ep1 is acknowledged */
	event(&ev, "esc", "m{host=a}", t0);
	assert_int_equal(gateway_submit(gw, &ev), 0);
	alert_episode(&ev, ep1);
	event(&ev, "esc", "m{host=b}", t0);
	assert_int_equal(gateway_submit(gw, &ev), 0);
	gateway_advance(gw, t0 + 1);
	/* a page for gone: its webhook cannot be reached, it stays queued */
	event(&ev, "gone", "m{host=g}", t0 + 1);
	ev.action = "notify";
	assert_int_equal(gateway_submit(gw, &ev), 0);
	/* gone's page never drains: wait for alice's two (up to 30 s; a fixed
	 * 0.5 s drain was too short under valgrind on a loaded machine) */
	for (int i = 0; i < 300 && count("alice.jsonl", "\"firing\"") < 2; i++)
		gateway_drain(gw, 0.1);
	assert_int_equal(count("alice.jsonl", "\"firing\""), 2);
	assert_int_equal(gateway_ack(gw, ep1, "carol", NULL, 0, err, sizeof err), 0);

	/* a bad owners set: refused with its position, the running set stays */
	if (load(owners_bad, &bad, err, sizeof err) != 0)
		fail_msg("owners bad: %s", err);
	assert_int_equal(gateway_reload(gw, bad, err, sizeof err), -VIGIL_EINVAL);
	assert_non_null(strstr(err, "owners.yaml:3:"));
	assert_non_null(strstr(err, "unknown destination type 'fil'"));
	ruleset_free(bad);

	/* reload: esc unchanged, gone's webhook removed, fresh added */
	if (load(owners_v2, &rs2, err, sizeof err) != 0)
		fail_msg("owners v2: %s", err);
	assert_int_equal(gateway_reload(gw, rs2, err, sizeof err), 0);

	/* the escalation timer went on: bob gets the unacknowledged page only */
	gateway_advance(gw, t0 + 11 * 60);
	gateway_tick(gw);
	event(&ev, "fresh", "m{host=f}", t0 + 11 * 60);
	ev.action = "notify";
	assert_int_equal(gateway_submit(gw, &ev), 0);
	assert_int_equal(gateway_drain(gw, 5.0), 0);
	assert_int_equal(count("bob.jsonl", "\"firing\""), 1);
	assert_int_equal(count("bob.jsonl", "host=b"), 1);
	assert_int_equal(count("alice.jsonl", "\"firing\""), 2); /* nothing again */
	/* the new owner at once to its destination */
	assert_int_equal(count("fresh.jsonl", "host=f"), 1);
	/* the removed webhook's queued notification: dropped and counted */
	gateway_get_stats(gw, &st);
	assert_int_equal(st.dest_removed_drops, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.owner_reloads, 1);
	assert_int_equal(count("gone.jsonl", "host=g"), 0);

	/* fresh removed while its alert is open: kept until it is closed, its
	 * resolve goes where its firing went; a later reload drops it */
	struct ruleset *rs3 = NULL, *rs4 = NULL;
	if (load(owners_v3, &rs3, err, sizeof err) != 0)
		fail_msg("owners v3: %s", err);
	assert_int_equal(gateway_reload(gw, rs3, err, sizeof err), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.owner_reloads, 2);
	event(&ev, "fresh", "m{host=f}", t0 + 11 * 60);
	ev.action = "notify";
	ev.status = ALERT_RESOLVED;
	ev.ts = t0 + 12 * 60;
	assert_int_equal(gateway_submit(gw, &ev), 0);
	assert_int_equal(gateway_drain(gw, 5.0), 0);
	assert_int_equal(count("fresh.jsonl", "\"resolved\""), 1);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.unowned, 0);
	if (load(owners_v3, &rs4, err, sizeof err) != 0)
		fail_msg("owners v3 again: %s", err);
	assert_int_equal(gateway_reload(gw, rs4, err, sizeof err), 0);
	gateway_get_stats(gw, &st);
	assert_int_equal(st.owner_reloads, 3); /* fresh dropped now: a change */

	gateway_destroy(gw);
	ruleset_free(rs1);
	ruleset_free(rs2);
	ruleset_free(rs3);
	ruleset_free(rs4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload_keeps_escalation_and_acks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
