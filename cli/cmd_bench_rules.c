/* vigil bench rules [--rules N] [--series M]: the cost of matching rules.
 * N rules (nine in ten on a plain series name m0..m999 plus a shard tag,
 * one in ten a glob that matches nothing) over M series (name m<j%1000>,
 * tags shard and host; each series is watched by at most one rule, DES).
 * Phase 1 feeds the first point of every series (a new series: rule
 * lookup, series insert, detector init and update); phase 2 a second point
 * of every series (no rule lookup). Prints ns per new series and ns per
 * point, in CPU time, and for comparison what trying every rule in turn
 * (the engine before the index) costs per new series; figures for BENCHMARKS.md, never asserted in tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "core/clock.h"
#include "engine/engine.h"
#include "rules/rules.h"

#define NAMES 1000

/* CPU seconds of this process: the machine may be shared, wall time would
 * count the waits for a core. */
static double cpu_now(void)
{
	struct timespec t;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0)
		return clock_mono();
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The rules file, in a memory file; its path into path. fd or -1. */
static int write_rules(long nrules, char *path, size_t pathlen)
{
	int fd = memfd_create("vigil-bench-rules.yaml", 0);
	FILE *f;

	if (fd < 0 || (f = fdopen(dup(fd), "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "owners:\n  - name: o\n    destinations: [{type: stdout}]\nrules:\n");
	for (long i = 0; i < nrules; i++) {
		if (i % 10 == 9)
			fprintf(f, "  - {name: r%ld, series: \"g%ld.*\", detector: des, owner: o}\n", i, i);
		else
			fprintf(f,
				"  - {name: r%ld, series: m%ld, match: {shard: s%ld}, detector: des, owner: "
				"o}\n",
				i, i % NAMES, i / NAMES);
	}
	if (fclose(f) != 0) {
		close(fd);
		return -1;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* One pass over every series at time ts; seconds taken. */
static double pass(struct engine *e, long nseries, double ts)
{
	char name[16], shard[16], host[24];
	struct point p = {.name = name, .ntags = 2, .ts = ts};
	double t0 = cpu_now();

	p.tags[0] = (struct tag){"shard", shard};
	p.tags[1] = (struct tag){"host", host};
	for (long j = 0; j < nseries; j++) {
		snprintf(name, sizeof name, "m%ld", j % NAMES);
		snprintf(shard, sizeof shard, "s%ld", (j / NAMES) % 10);
		snprintf(host, sizeof host, "h%ld", j);
		p.value = 100.0 + (double)(j & 7);
		engine_point(e, &p, "bench", j);
	}
	return cpu_now() - t0;
}

/* What a new series cost before the index: every rule tried in turn
 * (rule_matches), over `sample` series. CPU seconds per series. */
static double scan_cost(const struct ruleset *rs, long sample)
{
	char name[16], shard[16], host[24];
	struct tag tags[2] = {{"shard", shard}, {"host", host}};
	long hits = 0;
	double t0 = cpu_now();

	for (long j = 0; j < sample; j++) {
		snprintf(name, sizeof name, "m%ld", j % NAMES);
		snprintf(shard, sizeof shard, "s%ld", (j / NAMES) % 10);
		snprintf(host, sizeof host, "h%ld", j);
		for (size_t i = 0; i < rs->nrules; i++)
			hits += rule_matches(&rs->rules[i], name, tags, 2);
	}
	return hits >= 0 ? (cpu_now() - t0) / (double)sample : 0;
}

int cmd_bench_rules(int argc, char **argv)
{
	long nrules = 10000, nseries = 1000000;
	char path[64], err[1024];
	struct ruleset *rs = NULL;
	struct engine *e = NULL;
	int fd;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
			nrules = atol(argv[++i]);
		else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc)
			nseries = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: vigil bench rules [--rules N] [--series M]\n");
			return 2;
		}
	}
	if (nrules <= 0 || nseries <= 0) {
		fprintf(stderr, "usage: vigil bench rules [--rules N] [--series M]\n");
		return 2;
	}
	if ((fd = write_rules(nrules, path, sizeof path)) < 0) {
		fprintf(stderr, "vigil bench rules: cannot write the rules: %s\n", strerror(errno));
		return 1;
	}
	const char *paths[] = {path};
	double t0 = cpu_now();
	int rc = ruleset_load(paths, 1, NULL, &rs, err, sizeof err);
	double load = cpu_now() - t0;
	close(fd);
	struct engine_opts eo = {.rs = rs, .max_series = (size_t)nseries};
	if (rc != 0 || engine_create(&eo, &e, err, sizeof err) != 0) {
		fprintf(stderr, "vigil bench rules: %s\n", err);
		ruleset_free(rs);
		return 1;
	}
	double first = pass(e, nseries, 1.7e9), second = pass(e, nseries, 1.7e9 + 60);
	double scan = scan_cost(rs, nseries < 20000 ? nseries : 20000);
	struct engine_stats st;
	engine_get_stats(e, &st);
	printf("rules=%ld series=%ld load=%.2fs new_series=%.0f ns/series existing=%.0f ns/point "
	       "scan_all_rules=%.0f ns/series unmatched=%llu bytes_per_series=%.0f\n",
	       nrules, nseries, load, first * 1e9 / (double)nseries, second * 1e9 / (double)nseries,
	       scan * 1e9, (unsigned long long)st.unmatched, (double)st.bytes / (double)st.series);
	engine_destroy(e);
	ruleset_free(rs);
	return 0;
}
