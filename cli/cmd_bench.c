/* vigil bench: the measurements behind `make bench` (tests/bench.sh).
 *   vigil bench gen --points N --series M [--format graphite|json]
 *       writes N points over M series (interleaved by time, one-minute step)
 *       to stdout, for timing `vigil replay`;
 *   vigil bench detectors [--points N] [--series M] [--detector NAME]
 *       detector-only throughput on pre-generated points: ns/point, points/s
 *       and state bytes per series for every registered detector;
 *   vigil bench chart [--points N] [--count C]  (cli/cmd_bench_chart.c)
 *       the cost of drawing one alert chart as SVG and PNG.
 *   vigil bench rules [--rules N] [--series M]
 *       rule matching: ns per new series and per point (cli/cmd_bench_rules.c).
 * Speed figures are measured here, never asserted in tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "cli/cmds.h"
#include "detectors/detector.h"

/* xorshift64*: deterministic, cheap. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}
static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: vigil bench gen --points N --series M [--format graphite|json]\n"
		   "       vigil bench gateway --owners FILE [--open N] [--rate R] [--count C]\n"
		   "       vigil bench chart [--points N] [--count C]\n"
		   "       vigil bench detectors [--points N] [--series M] [--detector NAME]\n"
		   "       vigil bench decoders [--records N]\n"
		   "       vigil bench rw --url URL [--requests N] [--series S] [--conns C]\n"
		   "       vigil bench rules [--rules N] [--series M]\n");
}

static int bench_gen(long points, long series, int json)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	double t0 = 1772323200.0;
	long steps = (points + series - 1) / series, n = 0;
	double *level = malloc((size_t)series * sizeof *level);
	if (level == NULL)
		return 1;
	for (long s = 0; s < series; s++)
		level[s] = 50.0 + 100.0 * rng_unit(&rng);
	for (long k = 0; k < steps && n < points; k++) {
		double t = t0 + 60.0 * (double)k;
		double season = sin(2 * M_PI * fmod(t, 86400.0) / 86400.0);
		for (long s = 0; s < series && n < points; s++, n++) {
			double v = level[s] * (1.0 + 0.2 * season) + 3.0 * (rng_unit(&rng) - 0.5);
			if (rng_next(&rng) % 100000 == 0)
				v *= 5; /* a rare spike so alerts happen */
			if (json)
				printf("{\"series\":\"svc.req\",\"tags\":{\"host\":\"h%ld\",\"app\":\"a%ld\"}"
				       ","
				       "\"ts\":%.0f,\"value\":%.3f}\n",
				       s, s % 100, t, v);
			else
				printf("svc.req;host=h%ld;app=a%ld %.3f %.0f\n", s, s % 100, v, t);
		}
	}
	free(level);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int bench_one(const struct detector_type *t, long points, long series)
{
	struct detector d;
	char err[256];
	if (det_new(t->name, NULL, 0, &d, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", t->name, err);
		return 1;
	}
	size_t sz = det_state_size(&d), stride = (sz + 63) & ~(size_t)63;
	char *states = aligned_alloc(64, stride * (size_t)series);
	double *xs = malloc(sizeof(double) * 4096);
	if (states == NULL || xs == NULL) {
		free(states);
		free(xs);
		det_free(&d);
		return 1;
	}
	for (long s = 0; s < series; s++)
		det_state_init(&d, states + stride * (size_t)s);
	uint64_t rng = 42;
	for (int i = 0; i < 4096; i++)
		xs[i] = 100.0 + 10.0 * sin(i / 50.0) + rng_unit(&rng);
	struct det_result res;
	double sink = 0, t0 = clock_mono();
	long steps = points / series;
	for (long k = 0; k < steps; k++) {
		double ts = 1.7e9 + 60.0 * (double)k, x = xs[k & 4095];
		for (long s = 0; s < series; s++) {
			t->update(d.cfg, states + stride * (size_t)s, ts, x + (double)(s & 7), &res);
			sink += res.score > 0.5;
		}
	}
	double secs = clock_mono() - t0, n = (double)(steps * series);
	printf("%-12s %10.1f ns/point %14.0f points/s %10zu bytes/series  (series=%ld, points=%.0f, "
	       "hits=%.0f)\n",
	       t->name, secs * 1e9 / n, n / secs, sz, series, n, sink);
	for (long s = 0; s < series; s++)
		det_state_fini(&d, states + stride * (size_t)s);
	free(states);
	free(xs);
	det_free(&d);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	long points = 5000000, series = 100000;
	int json = 0, series_set = 0;
	const char *only = NULL;

	if (argc >= 2 && strcmp(argv[1], "gateway") == 0)
		return cmd_bench_gateway(argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "decoders") == 0 || strcmp(argv[1], "rw") == 0))
		return cmd_bench_inputs(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "chart") == 0)
		return cmd_bench_chart(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "rules") == 0)
		return cmd_bench_rules(argc, argv);
	if (argc < 2 || cmd_wants_help(argc, argv)) {
		bench_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--points") == 0 && i + 1 < argc)
			points = atol(argv[++i]);
		else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
			series = atol(argv[++i]);
			series_set = 1;
		} else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			json = strcmp(argv[++i], "json") == 0;
		else if (strcmp(argv[i], "--detector") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			bench_usage(stderr);
			return 2;
		}
	}
	if (points <= 0 || series <= 0) {
		bench_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "gen") == 0)
		return bench_gen(points, series, json);
	if (strcmp(argv[1], "detectors") == 0) {
		int rc = 0;
		if (!series_set)
			series = 1000;
		for (const struct detector_type *const *t = det_all(); *t; t++)
			if (only == NULL || strcmp(only, (*t)->name) == 0)
				rc |= bench_one(*t, points, series);
		return rc;
	}
	bench_usage(stderr);
	return 2;
}
