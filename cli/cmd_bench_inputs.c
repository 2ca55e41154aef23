/* vigil bench decoders | rw: the input figures behind `make bench`.
 *  - decoders [--records N]: points/s of each decoder on synthetic records
 *    shaped like its producer's (decode only: nothing after the emit
 *    callback), and of the remote write body decoder (snappy + protobuf,
 *    500 series per request, Prometheus's max_samples_per_send);
 *  - rw --url URL [--requests N] [--series S] [--conns C]: posts N remote
 *    write requests of S series each to `vigil ingest` over C connections
 *    and reports samples/s acknowledged (every answer must be 204).
 * @thread rw: one thread per connection, each with its own curl handle. */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "consumers/decoder.h"
#include "consumers/promrw.h"
#include "core/clock.h"

static int count_point(void *ctx, const struct point *p)
{
	(void)p;
	++*(uint64_t *)ctx;
	return 0;
}

/* Record k of format f into b; returns its length. */
static int make_record(const char *f, long k, char *b, size_t n)
{
	long s = k % 1000, t = 1700000000 + 10 * (k / 1000);
	double v = 50.0 + (double)(k % 97) * 0.5;

	if (strcmp(f, "json") == 0)
		return snprintf(
			b, n,
			"{\"series\":\"app.lat\",\"tags\":{\"host\":\"h%ld\"},\"ts\":%ld,\"value\":%.2f}", s,
			t, v);
	if (strcmp(f, "graphite") == 0)
		return snprintf(b, n, "app.lat;host=h%ld %.2f %ld", s, v, t);
	if (strcmp(f, "influx") == 0)
		return snprintf(b, n, "cpu,host=h%ld,cpu=cpu0 idle=%.2f,user=%.2f,system=1.5 %ld000000000", s,
				v, 100 - v, t);
	if (strcmp(f, "collectd") == 0) /* write_kafka: rates; 3 value lists */
		return snprintf(
			b, n,
			"[{\"values\":[%.3f,%.3f],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":[\"rx\","
			"\"tx\"],\"time\":%ld.123,\"interval\":10.000,\"host\":\"h%ld\",\"plugin\":"
			"\"interface\",\"plugin_instance\":\"eth0\",\"type\":\"if_octets\",\"type_instance\":"
			"\"\"},{\"values\":[%.1f],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":%"
			"ld."
			"123,\"interval\":10.000,\"host\":\"h%ld\",\"plugin\":\"memory\",\"plugin_instance\":"
			"\"\",\"type\":\"memory\",\"type_instance\":\"used\"},{\"values\":[%.3f,%.3f,%.3f],"
			"\"dstypes\":[\"gauge\",\"gauge\",\"gauge\"],\"dsnames\":[\"shortterm\",\"midterm\","
			"\"longterm\"],\"time\":%ld.123,\"interval\":10.000,\"host\":\"h%ld\",\"plugin\":"
			"\"load\",\"plugin_instance\":\"\",\"type\":\"load\",\"type_instance\":\"\"}]",
			v, v * 2, t, s, v * 1e6, t, s, v / 100, v / 90, v / 80, t, s);
	if (strcmp(f, "telegraf") == 0)
		return snprintf(b, n,
				"{\"fields\":{\"usage_idle\":%.2f,\"usage_user\":%.2f,\"usage_system\":1.5,"
				"\"usage_iowait\":0.25},\"name\":\"cpu\",\"tags\":{\"cpu\":\"cpu0\",\"host\":"
				"\"h%ld\"},"
				"\"timestamp\":%ld}",
				v, 100 - v, s, t);
	if (strcmp(f, "otlp") == 0) /* one resource, 1 gauge + 1 cumulative sum, 2 points each */
		return snprintf(
			b, n,
			"{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
			"\"value\":{"
			"\"stringValue\":\"svc%ld\"}},{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h%"
			"ld\"}}]},"
			"\"scopeMetrics\":[{\"scope\":{\"name\":\"app\"},\"metrics\":[{\"name\":\"queue."
			"depth\","
			"\"gauge\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"q\",\"value\":{"
			"\"stringValue\":\"a\"}}],"
			"\"timeUnixNano\":\"%ld000000000\",\"asDouble\":%.2f},{\"attributes\":[{\"key\":"
			"\"q\",\"value\":"
			"{\"stringValue\":\"b\"}}],\"timeUnixNano\":\"%ld000000000\",\"asDouble\":%.2f}]}},{"
			"\"name\":"
			"\"http.requests\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,"
			"\"dataPoints\":[{"
			"\"attributes\":[{\"key\":\"code\",\"value\":{\"stringValue\":\"200\"}}],"
			"\"timeUnixNano\":"
			"\"%ld000000000\",\"asInt\":\"%ld\"},{\"attributes\":[{\"key\":\"code\",\"value\":{"
			"\"stringValue\":\"500\"}}],\"timeUnixNano\":\"%ld000000000\",\"asInt\":\"%ld\"}]}}]}"
			"]}]}",
			s, s, t, v, t, v, t, k * 10, t, k);
	if (strcmp(f, "prometheus") == 0)
		return snprintf(
			b, n,
			"http_requests_total{code=\"200\",handler=\"/api\",instance=\"h%ld\"} %ld %ld000", s,
			k, t);
	if (strcmp(f, "nabcsv") == 0)
		return snprintf(b, n, "2014-04-01 %02ld:%02ld:00,%.2f", (k / 60) % 24, k % 60, v);
	return -1;
}

static int bench_decoders(long records)
{
	char *rec = malloc(4096);
	int rc = 0;

	if (rec == NULL)
		return 1;
	printf("%-11s %12s %12s %14s\n", "format", "records", "points", "points/s");
	for (const struct decoder_type *const *t = decoder_all(); *t != NULL; t++) {
		struct decoder_opts o = {.default_series = "nab"};
		struct decoder *d;
		char err[256];
		uint64_t pts = 0, bad = 0;
		double t0;

		if (decoder_open((*t)->name, &o, &d, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
			continue;
		}
		if (strcmp((*t)->name, "prometheus") == 0)
			decoder_feed(d, "# TYPE http_requests counter", 28, count_point, &pts, err,
				     sizeof err);
		t0 = clock_mono_real();
		for (long k = 0; k < records; k++) {
			int n = make_record((*t)->name, k, rec, 4096);
			if (n < 0 ||
			    decoder_feed(d, rec, (size_t)n, count_point, &pts, err, sizeof err) != 0) {
				if (bad++ == 0)
					fprintf(stderr, "%s: %s\n", (*t)->name, err);
			}
		}
		double dt = clock_mono_real() - t0;
		printf("%-11s %12ld %12" PRIu64 " %14.0f%s\n", (*t)->name, records, pts,
		       dt > 0 ? (double)pts / dt : 0, bad ? "  (errors!)" : "");
		rc |= bad != 0;
		decoder_close(d);
	}
	/* remote write bodies: 500 series of 4 labels, one sample each */
	{
		enum { NS = 500 };
		static char vals[NS][2][32];
		static const char *nm[NS][4], *vl[NS][4];
		const char *const *names[NS], *const *values[NS];
		size_t nl[NS], len;
		double v[NS];
		int64_t ms[NS];
		char *body, err[256];
		long nreq = records / NS > 0 ? records / NS : 1;
		uint64_t pts = 0;
		struct promrw_stats st;
		for (int i = 0; i < NS; i++) {
			snprintf(vals[i][0], sizeof vals[i][0], "h%d:9100", i % 100);
			snprintf(vals[i][1], sizeof vals[i][1], "cpu%d", i / 100);
			nm[i][0] = "__name__", vl[i][0] = "node_cpu_seconds_total";
			nm[i][1] = "cpu", vl[i][1] = vals[i][1];
			nm[i][2] = "instance", vl[i][2] = vals[i][0];
			nm[i][3] = "job", vl[i][3] = "node";
			names[i] = nm[i], values[i] = vl[i], nl[i] = 4, v[i] = i * 1.5,
			ms[i] = 1700000000000 + i;
		}
		if (promrw_encode(NS, nl, names, values, v, ms, &body, &len) != 0)
			return 1;
		double t0 = clock_mono_real();
		for (long r = 0; r < nreq; r++)
			if (promrw_decode(body, len, count_point, &pts, &st, err, sizeof err) != 0) {
				fprintf(stderr, "promrw: %s\n", err);
				rc = 1;
				break;
			}
		double dt = clock_mono_real() - t0;
		printf("%-11s %12ld %12" PRIu64 " %14.0f  (request bodies of %d series, %zu bytes)\n",
		       "remote-write", nreq, pts, dt > 0 ? (double)pts / dt : 0, NS, len);
		free(body);
	}
	free(rec);
	return rc;
}

struct rw_job {
	const char *url;
	long requests;
	int series, id;
	long ok, bad;
};

static size_t sink_body(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static void *rw_thread(void *arg)
{
	struct rw_job *j = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	const char ***names = calloc((size_t)j->series, sizeof *names);
	const char ***values = calloc((size_t)j->series, sizeof *values);
	char(*inst)[48] = calloc((size_t)j->series, sizeof *inst);
	size_t *nl = calloc((size_t)j->series, sizeof *nl);
	double *v = calloc((size_t)j->series, sizeof *v);
	int64_t *ms = calloc((size_t)j->series, sizeof *ms);
	static const char *const lnames[] = {"__name__", "instance", "job"};

	if (c == NULL || names == NULL || values == NULL || inst == NULL || nl == NULL || v == NULL ||
	    ms == NULL)
		goto out;
	h = curl_slist_append(h, "Content-Encoding: snappy");
	h = curl_slist_append(h, "Content-Type: application/x-protobuf");
	h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
	for (int i = 0; i < j->series; i++) {
		snprintf(inst[i], sizeof inst[i], "c%d-h%d", j->id, i);
		names[i] = (const char **)lnames;
		values[i] = malloc(3 * sizeof(char *));
		if (values[i] == NULL)
			goto out;
		values[i][0] = "bench_load";
		values[i][1] = inst[i];
		values[i][2] = "bench";
		nl[i] = 3;
	}
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_body);
	for (long r = 0; r < j->requests; r++) {
		char *body;
		size_t len;
		long code = 0;
		for (int i = 0; i < j->series; i++) {
			v[i] = 100 + (double)((r + i) % 7);
			ms[i] = 1700000000000 + r * 1000;
		}
		if (promrw_encode((size_t)j->series, nl, (const char *const *const *)names,
				  (const char *const *const *)values, v, ms, &body, &len) != 0)
			break;
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 204)
			j->ok++;
		else
			j->bad++;
		free(body);
	}
out:
	for (int i = 0; values != NULL && i < j->series; i++)
		free(values[i]);
	free(names);
	free(values);
	free(inst);
	free(nl);
	free(v);
	free(ms);
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	return NULL;
}

static int bench_rw(const char *url, long requests, int series, int conns)
{
	struct rw_job jobs[64];
	pthread_t th[64];
	long ok = 0, bad = 0;
	double t0 = clock_mono_real();
	int n = 0;

	for (int i = 0; i < conns; i++) {
		jobs[i] = (struct rw_job){url, requests / conns, series, i, 0, 0};
		if (pthread_create(&th[i], NULL, rw_thread, &jobs[i]) != 0)
			break;
		n++;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ok += jobs[i].ok;
		bad += jobs[i].bad;
	}
	double dt = clock_mono_real() - t0;
	printf("remote write end to end: requests=%ld series_per_request=%d conns=%d ok=%ld failed=%ld "
	       "seconds=%.3f samples_per_s=%.0f\n",
	       ok + bad, series, n, ok, bad, dt, dt > 0 ? (double)(ok * series) / dt : 0);
	return bad != 0 || n != conns;
}

int cmd_bench_inputs(int argc, char **argv)
{
	long records = 200000, requests = 200;
	int series = 500, conns = 2;
	const char *url = NULL;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
			records = atol(argv[++i]);
		else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
			requests = atol(argv[++i]);
		else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc)
			series = atoi(argv[++i]);
		else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc)
			conns = atoi(argv[++i]);
		else {
			fprintf(stderr,
				"usage: vigil bench decoders [--records N]\n"
				"       vigil bench rw --url URL [--requests N] [--series S] [--conns C]\n");
			return 2;
		}
	}
	if (strcmp(argv[1], "decoders") == 0)
		return records > 0 ? bench_decoders(records) : 2;
	if (url == NULL || requests <= 0 || series <= 0 || conns <= 0 || conns > 64) {
		fprintf(stderr, "vigil bench rw: --url is required; --conns 1..64\n");
		return 2;
	}
	return bench_rw(url, requests, series, conns);
}
