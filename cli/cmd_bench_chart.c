/* vigil bench chart [--points N] [--count C]: the cost of drawing one alert
 * chart (core/chart.h) as SVG and as PNG, on a synthetic window of N points
 * (default 120: the default chart_points) with a daily wave, noise, a band
 * and a few anomalies; prints microseconds per chart (wall clock, and CPU
 * time of the thread, which a busy machine disturbs less) and the output
 * size.
 * Never asserted in tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmds.h"
#include "core/chart.h"
#include "core/clock.h"

static void synth(struct alert_point *p, size_t n)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		double noise = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 8;
		double e = 100 + 30 * sin((double)i / 40.0);
		p[i].ts = 1772600000.0 + 60.0 * (double)i;
		p[i].expected = e;
		p[i].lower = e - 10;
		p[i].upper = e + 10;
		p[i].value = e + noise + (i % 50 == 49 ? 45 : 0);
		p[i].anomaly = i % 50 == 49;
	}
}

static double cpu_now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Draw count charts with fn; microseconds per chart and bytes of the last. */
static int run(const char *name, int (*fn)(const struct chart_input *, struct buf *),
	       const struct chart_input *in, long count)
{
	size_t bytes = 0;
	double t0 = clock_mono(), c0 = cpu_now();
	for (long i = 0; i < count; i++) {
		struct buf b = {0};
		if (fn(in, &b) != 0) {
			fprintf(stderr, "vigil bench chart: %s failed\n", name);
			buf_free(&b);
			return 1;
		}
		bytes = b.len;
		buf_free(&b);
	}
	double us = (clock_mono() - t0) * 1e6 / (double)count, cpu = (cpu_now() - c0) * 1e6 / (double)count;
	printf("chart %s: points=%zu count=%ld us_per_chart=%.1f cpu_us_per_chart=%.1f charts_per_s=%.0f "
	       "bytes=%zu\n",
	       name, in->n, count, us, cpu, us > 0 ? 1e6 / us : 0.0, bytes);
	return 0;
}

int cmd_bench_chart(int argc, char **argv)
{
	long points = 120, count = 200;
	struct alert_point pts[ALERT_WINDOW_MAX];

	for (int i = 2; i < argc; i++) {
		char *end = NULL;
		if (strcmp(argv[i], "--points") == 0 && i + 1 < argc)
			points = strtol(argv[++i], &end, 10);
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = strtol(argv[++i], &end, 10);
		if (end == NULL || *end != '\0') {
			fprintf(stderr, "usage: vigil bench chart [--points N (1..%d)] [--count C]\n",
				ALERT_WINDOW_MAX);
			return 2;
		}
	}
	if (points < 1 || points > ALERT_WINDOW_MAX || count < 1) {
		fprintf(stderr, "vigil bench chart: --points wants 1..%d and --count a positive integer\n",
			ALERT_WINDOW_MAX);
		return 2;
	}
	synth(pts, (size_t)points);
	struct chart_input in = {.title = "api.latency_ms{app=checkout,region=eu}",
				 .subtitle = "rule checkout-latency \xc2\xb7 owner payments \xc2\xb7 firing",
				 .pts = pts,
				 .n = (size_t)points};
	if (run("svg", chart_svg, &in, count) != 0 || run("png", chart_png, &in, count) != 0)
		return 1;
	return 0;
}
