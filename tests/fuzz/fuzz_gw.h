/* The gateway the gateway fuzz targets restore into: one owner, "storage",
 * with every piece of on-call state a snapshot or log can carry (groups,
 * a person, a schedule, escalation, a page budget); destinations write to
 * /dev/null so deliveries of restored notifications cost nothing. */
#ifndef TESTS_FUZZ_FUZZ_GW_H
#define TESTS_FUZZ_FUZZ_GW_H

#include <string.h>

#include "core/alert.h"
#include "core/buf.h"
#include "rules/rules.h"
#include "sinks/gateway.h"
#include "tests/fuzz/fuzz.h"

static const char fuzz_gw_owners[] =
	"owners:\n"
	"  - name: storage\n"
	"    destinations:\n"
	"      - {type: file, path: /dev/null}\n"
	"      - {type: file, path: /dev/null, name: storage-pd}\n"
	"    group_by: [alertname, cluster]\n"
	"    group_wait: 30s\n"
	"    group_interval: 5m\n"
	"    repeat_interval: 4h\n"
	"    page_budget: {max: 10, per: 1h}\n"
	"    people:\n"
	"      - {name: alice, destinations: [{type: file, path: /dev/null}]}\n"
	"    schedules:\n"
	"      - {name: primary, time_zone: UTC, rotation: [alice], shift: 1w, start: \"2026-01-05 09:00\"}\n"
	"    escalation:\n"
	"      levels:\n"
	"        - {after: 0s, schedule: primary}\n"
	"        - {after: 15m, destination: storage-pd}\n"
	"      repeat: 1\n"
	"      repeat_after: 30m\n";

/* Load the ruleset above (the rules file holds the owners). Aborts on
 * failure: the fixture itself is wrong then. */
static inline struct ruleset *fuzz_gw_ruleset(void)
{
	char path[256], err[512];
	struct ruleset *rs = NULL;
	fuzz_tmp_path(path, sizeof path, "owners.yaml");
	const char *paths[1] = {path};
	if (fuzz_write_file(path, (const uint8_t *)fuzz_gw_owners, sizeof fuzz_gw_owners - 1) != 0 ||
	    ruleset_load(paths, 1, NULL, &rs, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_gw: %s\n", err);
		abort();
	}
	unlink(path);
	return rs;
}

/* Use restored state the way the gateway's thread and its API would: list
 * the open alerts, look each one up, acknowledge and unacknowledge it, list
 * silences, then flush every waiting group and page budget digest. A value
 * a restore wrongly accepted shows up here. */
static inline void fuzz_gw_use(struct gateway *gw)
{
	struct buf b = {0};
	char err[512];
	if (gateway_alerts_json(gw, NULL, NULL, &b) == 0 && buf_ok(&b)) {
		json_error_t je;
		json_t *all = json_loadb((const char *)b.data, b.len, 0, &je), *a;
		size_t i;
		json_array_foreach(all, i, a)
		{
			const char *ep = json_string_value(json_object_get(a, "episode"));
			if (ep == NULL)
				continue;
			json_decref(gateway_alert(gw, ep));
			gateway_ack(gw, ep, "fuzz", "c", 0, err, sizeof err);
			gateway_ack(gw, ep, "fuzz", NULL, 1, err, sizeof err);
		}
		json_decref(all);
	}
	buf_free(&b);
	json_decref(gateway_silence_list(gw, NULL));
	gateway_settle(gw);
}

/* Seed material: drive gw through what its state can hold (two open
 * episodes of owner storage on partition part, one resolved, a silence, an
 * acknowledge, group and escalation timers 20 minutes on) so the snapshot or
 * log it leaves is real output, not a hand-written guess. */
static inline void fuzz_gw_drive(struct gateway *gw, int32_t part)
{
	static const char *const hosts[] = {"db1", "db2", "db3"};
	struct alert_event ev;
	char id[64], err[512], ep[17];
	double t0 = 1772439300.0; /* 2026-03-02T08:15:00Z */
	for (int i = 0; i < 3; i++) {
		char series[96];
		memset(&ev, 0, sizeof ev);
		snprintf(series, sizeof series, "disk.write_latency{cluster=eu-1,host=%s}", hosts[i]);
		ev.status = ALERT_FIRING;
		ev.rule = "disk-latency";
		ev.owner = "storage";
		ev.action = "page";
		ev.detector = "des";
		ev.series = series;
		ev.name = "disk.write_latency";
		ev.summary = "write latency 3.1x expected";
		ev.labels[0] = (struct kv){"alertname", "disk-latency", NULL};
		ev.labels[1] = (struct kv){"cluster", "eu-1", NULL};
		ev.labels[2] = (struct kv){"host", hosts[i], NULL};
		ev.nlabels = 3;
		ev.started = t0 + 60.0 * i;
		ev.ts = ev.started;
		ev.value = 41.2;
		ev.expected = 13.1;
		ev.lower = 8.0;
		ev.upper = 19.5;
		ev.score = 0.99;
		ev.direction = "up";
		ev.threshold = 0.9;
		ev.source = "fuzz";
		ev.start_pos = ev.pos = 10 + i;
		gateway_submit_tagged(gw, &ev, part, 10 + i);
		if (i == 0) {
			alert_episode(&ev, ep);
		}
		if (i == 2) {
			ev.status = ALERT_RESOLVED;
			ev.ts += 120.0;
			gateway_submit_tagged(gw, &ev, part, 20);
		}
	}
	json_t *spec = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "owner", "storage", "matchers", "host=db2",
				 "duration", "2h", "comment", "deploy", "created_by", "team:storage");
	gateway_silence_add(gw, spec, part, id, err, sizeof err);
	json_decref(spec);
	gateway_advance(gw, t0 + 600.0);
	gateway_ack(gw, ep, "alice", "looking", 0, err, sizeof err);
	gateway_advance(gw, t0 + 1200.0);
}

#endif
