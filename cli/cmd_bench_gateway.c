/* vigil bench gateway: notifications through the central gateway to real
 * destinations (the owners file's), measured, never asserted.
 *   vigil bench gateway --owners FILE --open N --rate R --count C
 * Phase 1: N firing alerts of N series as fast as possible (they stay open:
 *          N open episodes), timed until every notification is delivered:
 *          notifications/s.
 * Phase 2: C more at R per second; each notification's summary carries its
 *          decision time "decided=<epoch seconds>" so a receiver can compute
 *          decision-to-request latency (tests/bench_gateway.sh does).
 * Prints one key=value line per phase on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmds.h"
#include "core/clock.h"
#include "rules/rules.h"
#include "sinks/gateway.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil bench gateway --owners FILE [--open N] [--rate R] [--count C]\n\n"
		   "Submits N firing alerts (N open episodes) as fast as possible and times their\n"
		   "delivery to the owner 'bench' of FILE, then C more at R per second whose\n"
		   "summaries carry their decision time (decided=<epoch s>). Defaults: N 10000,\n"
		   "R 1000, C 5000.\n");
}

static void event(struct alert_event *ev, char *series, size_t n, char *summary, size_t sn, long i)
{
	memset(ev, 0, sizeof *ev);
	snprintf(series, n, "bench.latency{host=h%06ld}", i);
	ev->status = ALERT_FIRING;
	ev->rule = "bench";
	ev->owner = "bench";
	ev->action = "page";
	ev->detector = "ensemble";
	ev->series = series;
	ev->name = "bench.latency";
	ev->started = ev->ts = 1772435700.0 + (double)i;
	ev->value = 500;
	ev->expected = 100;
	ev->lower = 80;
	ev->upper = 120;
	ev->score = 1;
	ev->direction = "both";
	ev->threshold = 0.9;
	ev->source = "bench";
	ev->start_pos = ev->pos = i;
	snprintf(summary, sn, "decided=%.6f", clock_wall());
	ev->summary = summary;
}

int cmd_bench_gateway(int argc, char **argv)
{
	const char *owners = NULL;
	long open_n = 10000, rate = 1000, count = 5000;
	char err[1024], series[96], summary[64];
	struct ruleset *rs = NULL;
	struct gateway *gw = NULL;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--owners") == 0 && i + 1 < argc)
			owners = argv[++i];
		else if (strcmp(argv[i], "--open") == 0 && i + 1 < argc)
			open_n = atol(argv[++i]);
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			rate = atol(argv[++i]);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else {
			usage(stderr);
			return 2;
		}
	}
	if (owners == NULL || open_n < 0 || rate <= 0 || count < 0) {
		usage(stderr);
		return 2;
	}
	const char *paths[] = {owners};
	if (ruleset_load(paths, 1, NULL, &rs, err, sizeof err) != 0 ||
	    gateway_create(rs, NULL, &gw, err, sizeof err) != 0) {
		fprintf(stderr, "vigil bench gateway: %s\n", err);
		ruleset_free(rs);
		return 1;
	}
	struct alert_event ev;
	double t0 = clock_mono();
	for (long i = 0; i < open_n; i++) {
		event(&ev, series, sizeof series, summary, sizeof summary, i);
		gateway_submit(gw, &ev);
	}
	double t1 = clock_mono();
	size_t left = gateway_drain(gw, 600);
	double t2 = clock_mono();
	struct gateway_stats st;
	gateway_get_stats(gw, &st);
	printf("phase=throughput notifications=%ld decide_s=%.3f deliver_s=%.3f notifications_per_s=%.0f "
	       "open_episodes=%llu delivered=%llu pending=%zu\n",
	       open_n, t1 - t0, t2 - t0, (double)open_n / (t2 - t0), (unsigned long long)st.open_episodes,
	       (unsigned long long)st.delivered, left);
	fflush(stdout);
	double start = clock_mono();
	for (long i = 0; i < count; i++) {
		double due = start + (double)i / (double)rate;
		for (double now = clock_mono(); now < due; now = clock_mono()) {
			struct timespec ts = {0, (long)((due - now) * 1e9)};
			nanosleep(&ts, NULL);
		}
		event(&ev, series, sizeof series, summary, sizeof summary, open_n + i);
		gateway_submit(gw, &ev);
	}
	left = gateway_drain(gw, 600);
	gateway_get_stats(gw, &st);
	printf("phase=latency notifications=%ld rate=%ld seconds=%.3f delivered=%llu failed=%llu "
	       "pending=%zu\n",
	       count, rate, clock_mono() - start, (unsigned long long)st.delivered,
	       (unsigned long long)st.failed, left);
	gateway_destroy(gw);
	ruleset_free(rs);
	return 0;
}
