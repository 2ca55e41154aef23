/* vigil replay: feed files through the whole pipeline (decode -> series table
 * -> rule match -> detectors -> rule state -> gateway -> destinations), with
 * time taken from the data's own timestamps. Without --rules every series is
 * watched by the default detector and alerts go to stdout as JSON lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/chart_files.h"
#include "cli/cmds.h"
#include "cli/rules_reload.h"
#include "cli/serve.h"
#include "consumers/consumer.h"
#include "consumers/decoder.h"
#include "core/chart.h"
#include "core/clock.h"
#include "core/harden.h"
#include "core/progress.h"
#include "core/secret.h"
#include "core/config.h"
#include "core/log.h"
#include "core/params.h"
#include "engine/engine.h"
#include "sinks/http.h"
#include "sinks/silence.h"
#include "sinks/gateway.h"

#define MAX_RULE_PATHS 64

static void replay_usage(FILE *f)
{
	fprintf(f, "usage: vigil replay [-c CONFIG] [--rules PATH ...] [--owners FILE] [--format NAME]\n"
		   "                    [--out FILE] [--max-series N] [--max-skew DURATION]\n"
		   "                    [--state DIR [--state-reserve SIZE]]\n"
		   "                    [--drain-timeout SECONDS] [--serve ADDR [--port-file F]]\n"
		   "                    [--chart-points N] [--svg DIR] [--watch-rules]\n"
		   "                    [--quiet] FILE...\n\n"
		   "Runs FILE... (one record per line; '-' is stdin) through decode, series table,\n"
		   "rule match, detectors, the central gateway and the owners' destinations,\n"
		   "taking time from the data's timestamps. Files are read in the order given.\n\n"
		   "  -c CONFIG         the config file of `vigil run` (its rules, owners,\n"
		   "                    input.format, max_series, max_future, chart_points,\n"
		   "                    state_reserve, http; its Kafka keys are optional\n"
		   "                    here); options given here win. Points more than\n"
		   "                    max_future (default 1h) ahead of the wall clock are\n"
		   "                    rejected; new series beyond max_memory (default 60 %%\n"
		   "                    of RAM) are refused\n"
		   "  --rules PATH      rule file or directory of *.yaml (repeatable); default:\n"
		   "                    one rule watching every series with the default detector\n"
		   "  --owners FILE     owners file (teams and their destinations)\n"
		   "  --format NAME     input format: auto (default), json, influx, graphite,\n"
		   "                    collectd, nabcsv, telegraf, otlp, prometheus\n"
		   "  --collectd-store-rates true|false\n"
		   "                    collectd's StoreRates: true (default, write_kafka's)\n"
		   "                    = counters arrive as rates; false (write_http's) = raw\n"
		   "                    counters, turned into rates here\n"
		   "  --out FILE        also append every notification to FILE (JSON lines)\n"
		   "  --max-series N    global series limit (default 1000000)\n"
		   "  --max-skew D      a point more than D (like 1d, the default, or max_skew\n"
		   "                    of -c CONFIG; 0 = off) ahead of its series' newest\n"
		   "                    point is held: the series' next point near the old\n"
		   "                    time refuses it (skewed=), a next point after it\n"
		   "                    confirms it; held points are processed at the end\n"
		   "  --state DIR       keep the gateway's state in DIR (write-ahead log of open\n"
		   "                    episodes and undelivered notifications, dead letters):\n"
		   "                    a restarted replay finishes what an earlier one decided\n"
		   "  --state-reserve SIZE  disk space the log keeps allocated past its end\n"
		   "                    (like 4MiB, the default, or state_reserve of -c CONFIG;\n"
		   "                    0 = none): a disk that fills up costs no durability\n"
		   "                    until it is used up; the summary's log_reserve= is\n"
		   "                    what is left\n"
		   "  --drain-timeout S wait at most S seconds (default 60) after the input ends\n"
		   "                    for every notification to be delivered or dead-lettered\n"
		   "  --serve ADDR      serve HTTP on ADDR (host:port, port 0 = any free port):\n"
		   "                    /healthz, /readyz (200 once the input is replayed),\n"
		   "                    /metrics, the gateway API (cli/openapi.yaml) and the web\n"
		   "                    console at http://ADDR/, with the http: settings of\n"
		   "                    -c CONFIG (tokens, limits; without tokens: read-only and\n"
		   "                    loopback only); keeps the gateway, the API and the\n"
		   "                    console running after the replay until SIGINT or SIGTERM\n"
		   "  --port-file F     write the bound HTTP port to F\n"
		   "  --chart-points N  points of each series' recent window sent with its alerts\n"
		   "                    and drawn in its chart (default 120, or chart_points of\n"
		   "                    -c CONFIG; 0 = off, at most 300)\n"
		   "  --svg DIR         write each alert episode's chart to DIR/<episode>.svg\n"
		   "                    (rewritten at each transition: the resolve's window last)\n"
		   "  --watch-rules     reload the rules and owners when a --rules file, a\n"
		   "                    *.yaml file of a --rules directory (or of its team\n"
		   "                    subdirectories) or the owners file changes; SIGHUP\n"
		   "                    reloads them in any case (with --rules)\n"
		   "  --quiet           no summary on stderr\n\n"
		   "Alerts (JSON lines) go to each owner's destinations; the default destination is\n"
		   "stdout. A summary (points, series, alerts, rejected lines) goes to stderr;\n"
		   "on a terminal a progress line shows while the input is read.\n"
		   "The owners' on-call policy (grouping, silences, mute windows, page budgets,\n"
		   "escalation) runs on the data's time, so a replay shows what each owner would\n"
		   "have received; with --state DIR, `vigil silence|ack --state DIR` commands\n"
		   "are applied from DIR/control.jsonl at start and while the replay runs.\n"
		   "A reload is validated as a whole and applied between two points: the models\n"
		   "of rules whose series, match, detector, params and owner are unchanged go\n"
		   "on, a changed rule starts new models, a removed rule's open episodes resolve\n"
		   "(label resolve_reason=rule_removed); an invalid set is logged with its\n"
		   "positions and the running one stays. The owners cannot change (restart).\n"
		   "Exit status 1 when a file could not be read, points were lost for want of\n"
		   "memory (alloc_failed), or notifications were still pending at the drain\n"
		   "timeout (kept in --state DIR if given, else lost).\n");
}

static const char default_rules_yaml[] = "rules:\n"
					 "  - name: default\n"
					 "    series: \"*\"\n"
					 "    action: notify\n"
					 "    owner: default\n"
					 "owners:\n"
					 "  - name: default\n"
					 "    destinations:\n"
					 "      - type: stdout\n";

/* Load the built-in default ruleset through the normal loader. */
static int load_default_rules(struct ruleset **rs, char *err, size_t errlen)
{
	char path[64];
	int fd = memfd_create("vigil-default-rules.yaml", 0), rc;
	if (fd < 0 || write(fd, default_rules_yaml, sizeof default_rules_yaml - 1) !=
			      (ssize_t)(sizeof default_rules_yaml - 1)) {
		snprintf(err, errlen, "cannot build default rules: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -VIGIL_EIO;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	const char *paths[] = {path};
	rc = ruleset_load(paths, 1, NULL, rs, err, errlen);
	close(fd);
	return rc;
}

/* Render the /metrics text from the replay's counters (the owning thread). */
static void replay_metrics(struct serve *sv, int ready, double start_time, struct engine *e,
			   const struct consumer *in, struct gateway *gw, const struct rules_reload *rr)
{
	struct engine_stats es;
	struct gateway_stats gs;
	struct consumer_stats cs;
	engine_get_stats(e, &es);
	gateway_get_stats(gw, &gs);
	consumer_file_stats(in, &cs);
	struct serve_counters c = {.mode = "replay",
				   .ready = ready,
				   .start_time = start_time,
				   .es = &es,
				   .engine = e,
				   .lines = cs.lines,
				   .gs = &gs,
				   .rules_version = rr->version,
				   .rules_reloads = rr->reloads,
				   .rules_reload_errors = rr->errors,
				   .rules_now = rr->target,
				   .rules_last_error = rr->last_error};
	serve_metrics_update(sv, &c);
}

struct replay_alerts {
	struct gateway *gw;
	struct chart_files svg; /* --svg DIR */
};

static int on_alert(void *ctx, const struct alert_event *ev)
{
	struct replay_alerts *ra = ctx;
	chart_files_write(&ra->svg, ev);
	return gateway_submit(ra->gw, ev);
}

int cmd_replay(int argc, char **argv)
{
	const char *rule_paths[MAX_RULE_PATHS], *owners = NULL, *format = NULL, *out_file = NULL;
	const char *config = NULL, *state_dir = NULL, *serve_addr = NULL, *port_file = NULL;
	double drain_timeout = 60.0, state_reserve = -1; /* -1: not given */
	struct kafka_cfg *kc = NULL;
	size_t nrule_paths = 0, max_series = 0;
	double max_future = ENGINE_DEFAULT_MAX_FUTURE, max_memory = -1, max_skew = -1;
	int cd_raw = -1; /* --collectd-store-rates false: 1; unset: -1 */
	long chart_points = -1;
	struct replay_alerts ra = {0};
	int quiet = 0, rc = 1, first_file = -1, watch_rules = 0;
	struct rules_reload rr = {.fd = -1};
	char err[1024];
	struct ruleset *rs = NULL;
	struct gateway *gw = NULL;
	struct engine *e = NULL;
	struct kv out_kv[1];
	struct destination_cfg extra = {0};
	struct consumer in = {0};
	struct consumer_stats cs = {0};
	struct serve *sv = NULL;
	double start_time = clock_wall();

	if (cmd_wants_help(argc, argv)) {
		replay_usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
			if (nrule_paths == MAX_RULE_PATHS) {
				fprintf(stderr, "vigil replay: too many --rules\n");
				return 2;
			}
			rule_paths[nrule_paths++] = argv[++i];
		} else if (strcmp(argv[i], "--owners") == 0 && i + 1 < argc) {
			owners = argv[++i];
		} else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			format = argv[++i];
		} else if (strcmp(argv[i], "--collectd-store-rates") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "true") != 0 && strcmp(argv[i], "false") != 0) {
				fprintf(stderr, "vigil replay: --collectd-store-rates wants true or false\n");
				return 2;
			}
			cd_raw = strcmp(argv[i], "false") == 0;
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			out_file = argv[++i];
		} else if (strcmp(argv[i], "--max-series") == 0 && i + 1 < argc) {
			char *end;
			max_series = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || max_series == 0) {
				fprintf(stderr, "vigil replay: --max-series wants a positive integer\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--max-skew") == 0 && i + 1 < argc) {
			if (params_parse_duration(argv[++i], &max_skew) != 0 || !(max_skew >= 0) ||
			    max_skew > 366 * 86400.0) {
				fprintf(stderr, "vigil replay: --max-skew wants a duration like 1d or 6h "
						"(0 = off, at most 366d)\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--chart-points") == 0 && i + 1 < argc) {
			char *end;
			chart_points = strtol(argv[++i], &end, 10);
			if (*end != '\0' || chart_points < 0 || chart_points > ALERT_WINDOW_MAX) {
				fprintf(stderr, "vigil replay: --chart-points wants an integer in [0, %d]\n",
					ALERT_WINDOW_MAX);
				return 2;
			}
		} else if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc) {
			ra.svg.dir = argv[++i];
		} else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
			state_dir = argv[++i];
		} else if (strcmp(argv[i], "--state-reserve") == 0 && i + 1 < argc) {
			if (params_parse_size(argv[++i], &state_reserve) != 0 ||
			    state_reserve > 17179869184.0) {
				fprintf(stderr, "vigil replay: --state-reserve wants a size like 4MiB (0 to "
						"16GiB)\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--drain-timeout") == 0 && i + 1 < argc) {
			char *end;
			drain_timeout = strtod(argv[++i], &end);
			if (*end != '\0' || !(drain_timeout >= 0) || drain_timeout > 86400) {
				fprintf(stderr,
					"vigil replay: --drain-timeout wants seconds in [0, 86400]\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc) {
			serve_addr = argv[++i];
		} else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
			port_file = argv[++i];
		} else if (strcmp(argv[i], "--watch-rules") == 0) {
			watch_rules = 1;
		} else if (strcmp(argv[i], "--quiet") == 0) {
			quiet = 1;
		} else if (strcmp(argv[i], "--") == 0) {
			first_file = i + 1 < argc ? i + 1 : -1;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vigil replay: unknown option '%s'\n\n", argv[i]);
			replay_usage(stderr);
			return 2;
		} else {
			first_file = i;
			break;
		}
	}
	if (first_file < 0) {
		replay_usage(stderr);
		return 2;
	}
	if (config) {
		if (kafka_cfg_load_local(config, &kc, err, sizeof err) != 0) {
			fprintf(stderr, "vigil replay: %s\n", err);
			return 1;
		}
		silences_set_max(kc->http.max_silences); /* 0: the default */
		/* before the owners file is read: its destinations are checked against it */
		if (kc->allow_hosts_where &&
		    dest_allow_hosts_set(kc->allow_hosts, kc->nallow_hosts, kc->allow_hosts_where) != 0) {
			fprintf(stderr, "vigil replay: out of memory\n");
			kafka_cfg_free(kc);
			return 1;
		}
		for (size_t i = 0; nrule_paths == 0 && i < kc->nrules && i < MAX_RULE_PATHS; i++)
			rule_paths[i] = kc->rules[i];
		if (nrule_paths == 0)
			nrule_paths = kc->nrules < MAX_RULE_PATHS ? kc->nrules : MAX_RULE_PATHS;
		if (owners == NULL)
			owners = kc->owners;
		if (format == NULL && kc->format != NULL) {
			struct decoder *probe;
			struct decoder_opts po = {0};
			if (decoder_open(kc->format, &po, &probe, err, sizeof err) != 0) {
				fprintf(stderr, "vigil replay: %s: input.format: %s\n",
					kc->format_where ? kc->format_where : config, err);
				kafka_cfg_free(kc);
				return 1;
			}
			decoder_close(probe);
			format = kc->format;
		}
		if (cd_raw < 0)
			cd_raw = kc->collectd_raw;
		if (max_series == 0)
			max_series = kc->max_series;
		max_future = kc->max_future;
		if (max_skew < 0)
			max_skew = kc->max_skew;
		max_memory = kc->max_memory;
		if (chart_points < 0)
			chart_points = kc->chart_points;
		if (state_reserve < 0)
			state_reserve = kc->state_reserve;
	}
	if (chart_points < 0)
		chart_points = ENGINE_WINDOW_DEFAULT;
	if (chart_files_open(&ra.svg, "vigil replay") != 0) {
		kafka_cfg_free(kc);
		return 1;
	}
	if (format == NULL)
		format = "auto";
	if (nrule_paths)
		rc = ruleset_load(rule_paths, nrule_paths, owners, &rs, err, sizeof err);
	else
		rc = load_default_rules(&rs, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "vigil replay: %s\n", err);
		kafka_cfg_free(kc);
		return 1;
	}
	rc = 1;
	struct gateway_opts go = {.fallback_sink = "stdout", .state_dir = state_dir, .data_time = 1};
	if (state_reserve >= 0) /* 0 = none (-1 for the gateway); unset: its default */
		go.log_reserve = state_reserve > 0 ? (int64_t)state_reserve : -1;
	if (kc) {
		go.env.kafka = kc;
		go.env.external_url = kc->http.public_url;
	}
	if (out_file) {
		out_kv[0].key = "path";
		out_kv[0].value = out_file;
		out_kv[0].where = "--out";
		extra.type = (char *)"file";
		extra.kv = out_kv;
		extra.nkv = 1;
		extra.where = (char *)"--out";
		go.extra = &extra;
		go.nextra = 1;
	}
	char *url_key = NULL;
	if (kc && kc->http.url_key &&
	    secret_resolve(kc->http.url_key, "http.url_key", kc->http.where, &url_key, err, sizeof err) !=
		    0) {
		fprintf(stderr, "vigil replay: %s\n", err);
		goto out;
	}
	go.env.url_key = url_key; /* the destinations keep their own copies */
	int gw_rc = gateway_create(rs, &go, &gw, err, sizeof err);
	secret_free(url_key);
	if (gw_rc != 0) {
		fprintf(stderr, "vigil replay: %s\n", err);
		goto out;
	}
	if (serve_addr) {
		harden_log(); /* a long-running service: say which core dump mode is in effect */
		struct serve_opts so = {.cfg = kc ? &kc->http : NULL,
					.listen = serve_addr,
					.rs = rs,
					.state_dir = state_dir,
					.port_file = port_file,
					.gateway_api = 1,
					.prog = "vigil replay"};
		if (serve_start(&so, &sv, err, sizeof err) != 0) {
			fprintf(stderr, "vigil replay: --serve: %s\n", err);
			goto out;
		}
		serve_set_ready(sv, 0, "replaying input");
		char url[300];
		serve_url(sv, url, sizeof url);
		fprintf(stderr, "vigil replay: HTTP service on %s\n", url);
	}
	if (watch_rules && nrule_paths == 0) {
		fprintf(stderr, "vigil replay: --watch-rules needs --rules (or rules in -c CONFIG)\n");
		goto out;
	}
	if (nrule_paths && rules_reload_start(&rr, rule_paths, nrule_paths, owners, rs, watch_rules,
					      "vigil replay", err, sizeof err) != 0) {
		fprintf(stderr, "vigil replay: %s\n", err);
		goto out;
	}
	rules_reload_set_gateway(&rr, gw); /* owners and destinations reload too */
	ra.gw = gw;
	struct engine_budget budget = {.limit =
					       max_memory < 0 ? engine_default_budget() : (size_t)max_memory};
	struct engine_opts eo = {.rs = rs,
				 .max_series = max_series,
				 .max_future = max_future,
				 .max_skew = max_skew < 0 ? ENGINE_DEFAULT_MAX_SKEW : max_skew,
				 .budget = &budget,
				 .on_alert = on_alert,
				 .alert_ctx = &ra,
				 .window = (uint32_t)chart_points,
				 .before_point = nrule_paths ? rules_reload_poll : NULL,
				 .hook_ctx = &rr};
	struct decoder_opts dopts = {.collectd_raw = cd_raw > 0};
	if (engine_create(&eo, &e, err, sizeof err) != 0 ||
	    consumer_file_open((const char *const *)argv + first_file, (size_t)(argc - first_file), format,
			       &dopts, e, &in, err, sizeof err) != 0) {
		fprintf(stderr, "vigil replay: %s\n", err);
		goto out;
	}
	double t0 = clock_mono(), next_metrics = 0;
	struct progress prog;
	progress_start(&prog, "vigil replay", "lines");
	for (int done = 0; !done;) {
		in.ops->step(in.self, 0, &done);
		if (nrule_paths)
			rules_reload_poll(&rr, e, NULL); /* also when no point comes */
		consumer_file_stats(&in, &cs);
		progress_update(&prog, cs.lines, cs.bytes, cs.total);
		struct engine_stats now;
		engine_get_stats(e, &now);
		gateway_advance(gw, now.newest_ts); /* timers follow the data's time */
		gateway_tick(gw);                   /* re-sends to receivers that expire alerts */
		if (sv) {
			serve_service(sv, gw);
			if (clock_mono() >= next_metrics) {
				replay_metrics(sv, 0, start_time, e, &in, gw, &rr);
				next_metrics = clock_mono() + 1.0;
			}
		}
	}
	progress_end(&prog);
	int ok = in.ops->finish(in.self) == 0;
	engine_flush_held(e); /* max_skew: nothing came after them; errors are counted */
	{
		struct engine_stats fl;
		engine_get_stats(e, &fl);
		gateway_advance(gw, fl.newest_ts);
	}
	double secs = clock_mono() - t0;
	gateway_settle(gw); /* groups waiting for group_wait / group_interval: the input is over */
	size_t left = gateway_drain(gw, drain_timeout);
	if (left) {
		fprintf(stderr,
			"vigil replay: %zu notifications still pending after --drain-timeout %.0fs: %s\n",
			left, drain_timeout,
			state_dir ? "kept in the --state log for the next run"
				  : "lost (use --state DIR to keep them)");
		ok = 0;
	}
	consumer_file_stats(&in, &cs);
	struct engine_stats es0;
	engine_get_stats(e, &es0);
	if (es0.alloc_failed) {
		fprintf(stderr,
			"vigil replay: %llu points lost: memory for their series could not be allocated\n",
			(unsigned long long)es0.alloc_failed);
		ok = 0;
	}
	if (!quiet) {
		struct engine_stats es;
		struct gateway_stats gs;
		engine_get_stats(e, &es);
		gateway_get_stats(gw, &gs);
		/* refusals per owner, before the summary (which stays the last line) */
		for (size_t i = 0; i <= rs->nowners; i++) {
			uint64_t pts, n = engine_owner_refused(e, i, &pts);
			if (pts)
				fprintf(stderr, "vigil replay: refused owner=%s series=%llu points=%llu\n",
					i < rs->nowners ? rs->owners[i].name : "(none)",
					(unsigned long long)n, (unsigned long long)pts);
		}
		fprintf(stderr,
			"vigil replay: lines=%llu points=%llu series=%llu alerts=%llu rejected=%llu "
			"unmatched=%llu out_of_order=%llu future=%llu skew_held=%llu skewed=%llu "
			"series_refused=%llu "
			"refused_memory=%llu "
			"alloc_failed=%llu "
			"fired=%llu "
			"resolved=%llu "
			"suppressed=%llu delivered=%llu delivery_failed=%llu retries=%llu pending=%llu "
			"split_series=%llu orphan_resolves=%llu restored=%llu open_episodes=%llu "
			"groups=%llu late=%llu group_refused=%llu log_failed=%llu log_reserve=%llu "
			"log_reserve_short=%llu "
			"bytes_per_series=%.0f seconds=%.3f points_per_s=%.0f\n",
			(unsigned long long)cs.lines, (unsigned long long)es.points,
			(unsigned long long)es.series, (unsigned long long)es.alerts,
			(unsigned long long)es.rejected, (unsigned long long)es.unmatched,
			(unsigned long long)es.out_of_order, (unsigned long long)es.future,
			(unsigned long long)es.skew_held, (unsigned long long)es.skewed,
			(unsigned long long)es.series_refused, (unsigned long long)es.series_refused_memory,
			(unsigned long long)es.alloc_failed, (unsigned long long)gs.fired,
			(unsigned long long)gs.resolved, (unsigned long long)gs.suppressed,
			(unsigned long long)gs.delivered, (unsigned long long)gs.failed,
			(unsigned long long)gs.retries, (unsigned long long)gs.pending,
			(unsigned long long)gs.split_series, (unsigned long long)gs.orphan_resolves,
			(unsigned long long)gs.restored, (unsigned long long)gs.open_episodes,
			(unsigned long long)es.groups, (unsigned long long)es.late,
			(unsigned long long)es.group_refused, (unsigned long long)gs.log_failures,
			(unsigned long long)gs.log_reserve_bytes, (unsigned long long)gs.log_reserve_short,
			es.series ? (double)es.bytes / (double)es.series : 0.0, secs,
			secs > 0 ? (double)es.points / secs : 0.0);
		if (rr.reloads || rr.errors)
			fprintf(stderr, "vigil replay: rules_version=%s reloads=%llu reload_errors=%llu\n",
				rr.version, (unsigned long long)rr.reloads, (unsigned long long)rr.errors);
	}
	chart_files_report(&ra.svg, "vigil replay");
	rc = ok ? 0 : 1;
	if (sv) {
		/* the replay is over; the gateway and its API stay until a signal */
		cmd_stop_on_signals();
		replay_metrics(sv, 1, start_time, e, &in, gw, &rr);
		serve_set_ready(sv, 1, NULL);
		char url[300];
		serve_url(sv, url, sizeof url);
		fprintf(stderr, "vigil replay: input replayed; serving %s until SIGINT or SIGTERM\n", url);
		while (!cmd_stop) {
			serve_wait(sv, 100);
			serve_service(sv, gw);
			if (nrule_paths)
				rules_reload_poll(&rr, e, NULL);
			gateway_tick(gw);
			if (clock_mono() >= next_metrics) {
				replay_metrics(sv, 1, start_time, e, &in, gw, &rr);
				next_metrics = clock_mono() + 1.0;
			}
		}
		fprintf(stderr, "vigil replay: stopping the HTTP service\n");
	}
out:
	serve_stop(sv);
	if (in.ops)
		in.ops->close(in.self);
	engine_destroy(e);
	gateway_destroy(gw);    /* it borrows the reloaded sets too */
	rules_reload_stop(&rr); /* the engine's newer rules, once it is gone */
	ruleset_free(rs);
	kafka_cfg_free(kc);
	return rc;
}
