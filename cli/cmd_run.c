/* vigil run / vigil gateway: the Kafka roles.
 *   vigil run -c CONFIG [--mode member|single]   a consumer-group member
 *                                                 (consumers/kafka_member.c)
 *   vigil gateway -c CONFIG                       the alert gateway group
 *                                                 (consumers/gateway_intake.c)
 * Single mode runs both in one thread. This file owns the loop and the
 * process counters' log lines (`event=stats` every stats_interval, `event=final`).
 * SIGTERM/SIGINT stop cleanly: finish the batch, checkpoint, commit, close.
 * Every role reloads on SIGHUP or a change of the rules/owners files
 * (cli/rules_reload.h): each partition's engine moves to the new set at its
 * next point; the gateway (gateway and single mode) moves to the new owners
 * and destinations when the set is validated (gateway_reload). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/rules_reload.h"
#include "cli/serve.h"
#include "consumers/consumer.h"
#include "consumers/gateway_intake.h"
#include "core/clock.h"
#include "core/harden.h"
#include "core/log.h"
#include "sinks/http.h"
#include "sinks/silence.h"

#define COMP "kafka"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* p50 / p99 / max of the latency window into out[3]; 0 when empty. */
static void latency_summary(const struct kafka_counters *c, double out[3])
{
	size_t n = c->lat_n < KAFKA_LAT_WINDOW ? (size_t)c->lat_n : KAFKA_LAT_WINDOW;
	double v[KAFKA_LAT_WINDOW];
	out[0] = out[1] = out[2] = 0;
	if (n == 0)
		return;
	memcpy(v, c->lat_ms, n * sizeof v[0]);
	qsort(v, n, sizeof v[0], cmp_double);
	out[0] = v[(n - 1) / 2];
	out[1] = v[(size_t)((double)(n - 1) * 0.99 + 0.5)];
	out[2] = v[n - 1];
}

static void log_stats(const struct kafka_counters *c, const char *event, size_t nparts,
		      const struct rules_reload *rr)
{
	double lat[3];
	latency_summary(c, lat);
	LOG_INFO(COMP,
		 "event=%s partitions=%zu records=%" PRIu64 " alerts_published=%" PRIu64
		 " alerts_suppressed=%" PRIu64 " alerts_failed=%" PRIu64 " poison=%" PRIu64
		 " dead_lettered=%" PRIu64 " dropped_unowned=%" PRIu64 " dropped_done=%" PRIu64
		 " lag=%" PRId64 " rebalances=%" PRIu64 " assigned=%" PRIu64 " revoked=%" PRIu64
		 " lost=%" PRIu64 " gaps=%" PRIu64 " checkpoints=%" PRIu64 " checkpoint_skipped=%" PRIu64
		 " state_bytes=%" PRIu64 " restores=%" PRIu64
		 " restore_ms_max=%.1f restore_ms_total=%.1f gw_received=%" PRIu64 " gw_submitted=%" PRIu64
		 " gw_duplicates=%" PRIu64 " gw_bad=%" PRIu64 " gw_control_applied=%" PRIu64
		 " gw_control_bad=%" PRIu64 " points=%" PRIu64 " alloc_failed=%" PRIu64
		 " first_record_at=%.3f last_record_at=%.3f alert_latency_n=%" PRIu64
		 " alert_latency_ms_p50=%.1f alert_latency_ms_p99=%.1f alert_latency_ms_max=%.1f"
		 " split_series=%" PRIu64 " split_untracked=%" PRIu64 " routed=%" PRIu64
		 " routed_lines=%" PRIu64 " route_keyless=%" PRIu64 " route_multi=%" PRIu64
		 " route_retries=%" PRIu64 " route_commits=%" PRIu64 " out_of_order=%" PRIu64
		 " txn_commits=%" PRIu64 " txn_aborts=%" PRIu64 " txn_fatal=%" PRIu64,
		 event, nparts, c->records, c->alerts_published, c->alerts_suppressed, c->alerts_failed,
		 c->poison, c->dead_lettered, c->dropped_unowned, c->dropped_done, c->lag, c->rebalances,
		 c->assigned, c->revoked, c->lost, c->gaps, c->checkpoints, c->checkpoint_skipped,
		 c->state_bytes, c->restores, c->restore_ms_max, c->restore_ms_total, c->gw_received,
		 c->gw_submitted, c->gw_duplicates, c->gw_bad, c->gw_control_applied, c->gw_control_bad,
		 c->points, c->alloc_failed, c->first_record_at, c->last_record_at, c->lat_n, lat[0], lat[1],
		 lat[2], c->split_series, c->split_untracked, c->routed, c->routed_lines, c->route_keyless,
		 c->route_multi, c->route_retries, c->route_commits, c->out_of_order, c->txn_commits,
		 c->txn_aborts, c->txn_fatal);
	if (rr != NULL)
		LOG_INFO(COMP, "event=%s_rules rules_version=%s rules_reloads=%llu rules_reload_errors=%llu",
			 event, rr->version, (unsigned long long)rr->reloads, (unsigned long long)rr->errors);
}

static const char *const mode_names[] = {"member", "gateway", "single"};

static int owner_part(void *ctx, const char *owner, int32_t *part)
{
	return gateway_intake_owner_part(ctx, owner, part);
}

/* The HTTP service's view of the process (the loop's thread): readiness
 * and the /metrics text. */
static void serve_refresh(struct serve *sv, enum kafka_mode mode, const struct kafka_counters *ctr,
			  struct consumer *member, struct gateway_intake *g, double start_time,
			  const struct rules_reload *rr)
{
	int ready = 1;
	const char *why = NULL;
	if (member->ops && !consumer_kafka_ready(member)) {
		ready = 0;
		why = "input partitions not assigned or their state not restored yet";
	} else if (g && !gateway_intake_ready(g)) {
		ready = 0;
		why = "alerts partitions not assigned or the gateway state not restored yet";
	}
	serve_set_ready(sv, ready, why);
	struct gateway_stats gs;
	struct serve_counters sc = {
		.mode = mode_names[mode], .ready = ready, .start_time = start_time, .kc = ctr};
	if (member->ops)
		sc.partitions = consumer_kafka_gauges(member);
	if (rr != NULL) {
		sc.rules_version = rr->version;
		sc.rules_reloads = rr->reloads;
		sc.rules_reload_errors = rr->errors;
		sc.rules_now = rr->target;
		sc.rules_last_error = rr->last_error;
	}
	if (g) {
		gateway_get_stats(gateway_intake_gateway(g), &gs);
		sc.gs = &gs;
	}
	serve_metrics_update(sv, &sc);
}

/* After a fatal member error the process closes its clients and exits 1;
 * librdkafka 2.0.2 was seen to hang for minutes closing the clients of a
 * fenced member, so the close gets FATAL_CLOSE_S seconds, then the process
 * exits 1 without it (nothing of a fenced member may be committed anyway). */
#define FATAL_CLOSE_S 20
static void fatal_close_expired(int sig)
{
	(void)sig;
	_exit(1);
}

/* Run a member / gateway / single-mode process until *stop becomes non-zero,
 * then finish the batch, checkpoint, commit and close. With an HTTP address
 * (listen, else http.listen) the process serves health, readiness and
 * metrics, and the gateway API where a gateway runs. Returns 0 on a clean
 * stop, -VIGIL_E* on a startup or fatal error (logged). */
static int kafka_run(const struct kafka_cfg *c, enum kafka_mode mode, volatile sig_atomic_t *stop,
		     const char *listen, const char *port_file)
{
	struct serve *sv = NULL;
	double start_time = clock_wall(), next_refresh = 0;
	struct kafka_counters ctr;
	struct ruleset *rs = NULL;
	struct consumer member = {0};
	struct gateway_intake *g = NULL;
	char err[1024];
	int rc, done = 0;
	size_t nparts = 0;
	struct rules_reload rr = {.fd = -1};
	const struct rules_reload *rrp = NULL; /* set while reloading runs */

	memset(&ctr, 0, sizeof ctr);
	rc = ruleset_load((const char *const *)c->rules, c->nrules, c->owners, &rs, err, sizeof err);
	if (rc) {
		LOG_ERR(COMP, "event=rules_failed err=\"%s\"", err);
		return rc;
	}
	if (listen || c->http.listen) {
		struct serve_opts so = {.cfg = &c->http,
					.listen = listen,
					.rs = rs,
					.port_file = port_file,
					.gateway_api = mode != KAFKA_MODE_MEMBER,
					.prog = mode_names[mode]};
		if ((rc = serve_start(&so, &sv, err, sizeof err)) != 0) {
			LOG_ERR(COMP, "event=http_failed err=\"%s\"", err);
			goto out;
		}
		serve_set_ready(sv, 0, "joining the consumer group");
	}
	{
		/* every engine the member creates moves to a reloaded set at its
		 * next point; the gateway (gateway and single mode) moves to its
		 * owners when the set is validated */
		if (rules_reload_start(&rr, (const char *const *)c->rules, c->nrules, c->owners, rs, 1,
				       mode_names[mode] /* "member" / "single" */, err, sizeof err) != 0) {
			/* no file watch (inotify limits, a path gone): SIGHUP still reloads */
			LOG_WARN(COMP, "event=rules_watch_failed err=\"%s\" (reload with SIGHUP)", err);
			if ((rc = rules_reload_start(&rr, (const char *const *)c->rules, c->nrules, c->owners,
						     rs, 0, mode_names[mode], err, sizeof err)) != 0) {
				LOG_ERR(COMP, "event=rules_reload_failed err=\"%s\"", err);
				goto out;
			}
			LOG_INFO("rules", "event=rules_loaded version=%s rules=%zu owners=%zu", rr.version,
				 rs->nrules, rs->nowners);
		}
		rrp = &rr;
		if (mode != KAFKA_MODE_GATEWAY)
			engine_set_default_hook(rules_reload_poll, &rr);
	}
	if (mode != KAFKA_MODE_GATEWAY && (rc = consumer_kafka_open(c, rs, &ctr, stop, &member)) != 0)
		goto out;
	if (mode != KAFKA_MODE_MEMBER && (rc = gateway_intake_open(c, rs, &ctr, &g)) != 0)
		goto out;
	if (g)
		rules_reload_set_gateway(&rr, gateway_intake_gateway(g));
	if (sv && g)
		serve_set_owner_part(sv, owner_part, g);
	double now = clock_mono();
	double next_stats = now + c->stats_interval;
	while (!*stop) {
		if (rrp)
			rules_reload_check(&rr); /* engines move at their next point */
		/* a negative step is fatal (exactly_once: this member was fenced) */
		if (member.ops && (rc = member.ops->step(member.self, g ? 20 : 100, &done)) < 0) {
			LOG_ERR(COMP, "event=stopping err=\"%s\" fatal=1 close_limit_s=%d",
				vigil_strerror(rc), FATAL_CLOSE_S);
			signal(SIGALRM, fatal_close_expired);
			alarm(FATAL_CLOSE_S);
			goto out;
		}
		if (g)
			gateway_intake_step(g, member.ops ? 0 : 100);
		now = clock_mono();
		if (member.ops)
			member.ops->tick(member.self, now);
		if (sv && g)
			serve_service(sv, gateway_intake_gateway(g));
		if (sv && now >= next_refresh) {
			serve_refresh(sv, mode, &ctr, &member, g, start_time, rrp);
			next_refresh = now + 1.0;
		}
		if (c->stats_interval > 0 && now >= next_stats) {
			nparts = member.ops ? consumer_kafka_gauges(&member) : 0;
			log_stats(&ctr, "stats", nparts, rrp);
			next_stats = now + c->stats_interval;
		}
	}
	LOG_INFO(COMP, "event=stopping");
	if (sv)
		serve_set_ready(sv, 0, "stopping");
	if (member.ops)
		member.ops->finish(member.self);
	rc = 0;
out:
	serve_stop(sv); /* before the gateway goes: nothing may reach it any more */
	nparts = member.ops ? consumer_kafka_gauges(&member) : 0;
	log_stats(&ctr, "final", nparts, rrp);
	if (member.ops)
		member.ops->close(member.self);
	gateway_intake_close(g);
	engine_set_default_hook(NULL, NULL);
	if (rrp)
		rules_reload_stop(&rr); /* the member's engines are gone */
	ruleset_free(rs);
	return rc;
}

static void run_usage(FILE *f, const char *name)
{
	fprintf(f,
		"usage: vigil %s -c CONFIG%s [--listen ADDR] [--port-file F] [-v]\n\n"
		"Joins a Kafka consumer group as described by the YAML config file (keys:\n"
		"kafka, input, state_topic, alerts_topic, dead_letter_topic, rules, owners,\n"
		"gateway_group, gateway_state_topic, control_topic, checkpoint_interval,\n"
		"stats_interval, batch_size, max_series, max_future, max_memory, chart_points,\n"
		"mode, http; input: topics, format, default_series, collectd: {store_rates:\n"
		"true|false}). See README \"Running as a Kafka consumer group\", \"Running on\n"
		"your Kafka\", \"Inputs\", \"HTTP service\" and \"Charts\".\n"
		"kafka: passes librdkafka properties through; credentials (sasl.password,\n"
		"ssl.key.password, ssl.keystore.password, ssl.key.pem,\n"
		"sasl.oauthbearer.client.secret) may be env:NAME or file:PATH references,\n"
		"never logged. At start a member refuses a state topic whose partition count\n"
		"differs from an input topic's, and exits 1 on an authentication failure.\n\n"
		"  -c CONFIG      config file\n%s"
		"  --listen ADDR  serve HTTP on ADDR (host:port; default: http.listen of CONFIG):\n"
		"                 /healthz, /readyz, /metrics, and the gateway API and the\n"
		"                 web console (http://ADDR/) where a gateway runs (vigil\n"
		"                 gateway, single mode)\n"
		"  --port-file F  write the bound HTTP port to F\n"
		"  -v             debug logging\n%s",
		name, strcmp(name, "run") == 0 ? " [--mode member|single]" : "",
		strcmp(name, "run") == 0 ? "  --mode M       override the config's mode (member or single)\n"
					 : "",
		strcmp(name, "run") == 0
			? "\nSIGHUP, or a change of the config's rules or owners files, reloads the rules:\n"
			  "validated as a whole, each partition moves to them at its next point; an\n"
			  "invalid set is logged and the running one stays (README \"Reloading rules\").\n"
			: "");
}

static int run_common(int argc, char **argv, int gateway)
{
	const char *path = NULL, *mode_s = NULL, *listen = NULL, *port_file = NULL;
	struct kafka_cfg *c = NULL;
	char err[1024];

	if (cmd_wants_help(argc, argv)) {
		run_usage(stdout, argv[0]);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			path = argv[++i];
		} else if (!gateway && strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			mode_s = argv[++i];
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
			port_file = argv[++i];
		} else if (strcmp(argv[i], "-v") == 0) {
			log_level = LOG_LEVEL_DEBUG;
		} else {
			fprintf(stderr, "vigil %s: unknown or incomplete option '%s'\n", argv[0], argv[i]);
			run_usage(stderr, argv[0]);
			return 2;
		}
	}
	harden_log(); /* which core dump mode main() applied (core/harden.h) */
	if (path == NULL) {
		run_usage(stderr, argv[0]);
		return 2;
	}
	if (kafka_cfg_load(path, &c, err, sizeof err) != 0) {
		fprintf(stderr, "vigil %s: %s\n", argv[0], err);
		return 2;
	}
	silences_set_max(c->http.max_silences); /* 0: the default */
	/* before the owners file is read: its destinations are checked against it */
	if (c->allow_hosts_where &&
	    dest_allow_hosts_set(c->allow_hosts, c->nallow_hosts, c->allow_hosts_where) != 0) {
		fprintf(stderr, "vigil %s: out of memory\n", argv[0]);
		kafka_cfg_free(c);
		return 2;
	}
	enum kafka_mode mode = gateway ? KAFKA_MODE_GATEWAY : c->mode;
	if (mode_s) {
		if (strcmp(mode_s, "member") == 0)
			mode = KAFKA_MODE_MEMBER;
		else if (strcmp(mode_s, "single") == 0)
			mode = KAFKA_MODE_SINGLE;
		else {
			fprintf(stderr, "vigil run: --mode must be member or single\n");
			kafka_cfg_free(c);
			return 2;
		}
	} else if (!gateway && mode == KAFKA_MODE_GATEWAY) {
		fprintf(stderr, "vigil run: %s says mode: gateway; use `vigil gateway -c %s`\n", path, path);
		kafka_cfg_free(c);
		return 2;
	}
	cmd_stop_on_signals();
	signal(SIGPIPE, SIG_IGN);
	int rc = kafka_run(c, mode, &cmd_stop, listen, port_file);
	kafka_cfg_free(c);
	return rc == 0 ? 0 : 1;
}

int cmd_run(int argc, char **argv)
{
	return run_common(argc, argv, 0);
}

int cmd_gateway(int argc, char **argv)
{
	return run_common(argc, argv, 1);
}
