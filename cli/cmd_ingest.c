/* vigil ingest: a Prometheus remote write 1.0 receiver. POST /api/v1/write
 * bodies (snappy + protobuf, consumers/promrw.c) become one message per
 * sample on the metrics topic, keyed by the series' canonical key (name and
 * sorted tags, as `vigil produce --key series`), value a JSON-format record
 * {"series","tags","ts","value"} that `--format json`/`auto` decodes.
 *
 * Answers (remote write 1.0 spec): 204 when every point of the request is
 * acknowledged by the broker; 400 for a body that will never succeed (not
 * snappy, not a WriteRequest, too large, or series that cannot become
 * points: the good ones are delivered first, the body names the first bad
 * one and the count) -- the sender drops it; 415 for remote write 2.0
 * bodies; 503 only when delivery failed or timed out (broker down) -- the
 * sender retries the whole request (at-least-once: points of it already
 * delivered arrive again). Staleness markers and NaN samples are not
 * points (counted).
 * @thread handlers run on the HTTP server's connection threads; the
 * producer is shared (thread-safe); a poller thread serves delivery reports
 * and wakes the waiting handler; counters under one mutex. */
#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "consumers/promrw.h"
#include "core/clock.h"
#include "core/httpd.h"
#include "core/kafka.h"
#include "core/log.h"
#include "engine/series.h"

#define COMP "ingest"

struct ingest {
	rd_kafka_t *rk;
	const char *topic;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	volatile int stop_poll;
	/* counters, under mu */
	uint64_t requests, ok, bad_requests, retryable, points, delivered, failed;
	uint64_t stale, nonfinite, bad_series;
};

/* One request's messages in flight. */
struct pending {
	struct ingest *ing;
	int n;         /* not yet reported */
	int failed;    /* delivery failures */
	char err[160]; /* the first one */
};

struct emit_ctx {
	struct pending *pd;
	char key[2048];
	int produce_failed;
};

static void ingest_usage(FILE *f)
{
	fprintf(f, "usage: vigil ingest (-b BOOTSTRAP | --bootstrap-file F) -t TOPIC [--listen ADDR]\n"
		   "                    [--port-file F] [--max-body BYTES] [--delivery-timeout S]\n"
		   "                    [--set PROP=VALUE ...]\n\n"
		   "A Prometheus remote write 1.0 receiver: POST /api/v1/write (snappy-compressed\n"
		   "protobuf WriteRequest) becomes one message per sample on TOPIC, keyed by series\n"
		   "(__name__ = series, the other labels = tags), value\n"
		   "{\"series\",\"tags\",\"ts\",\"value\"} (the json input format). Answers 204 once the\n"
		   "broker acknowledged every point; 400 for bodies that can never succeed (named\n"
		   "in the answer; good series of it are delivered first); 503 when delivery\n"
		   "failed (retry). Staleness markers and NaN samples are skipped and counted.\n"
		   "In prometheus.yml:  remote_write: [{url: http://HOST:PORT/api/v1/write}]\n\n"
		   "  -b BOOTSTRAP          Kafka bootstrap servers\n"
		   "  --bootstrap-file F    read them from the first line of F (vigil broker)\n"
		   "  -t TOPIC              the metrics topic\n"
		   "  --listen ADDR         host:port to serve (default 127.0.0.1:9201; port 0 = any)\n"
		   "  --port-file F         write the bound port to F\n"
		   "  --max-body BYTES      compressed request body limit (default 16 MiB)\n"
		   "  --delivery-timeout S  give up on a delivery after S seconds: 503 (default 10)\n"
		   "  --set PROP=VALUE      a librdkafka producer property (repeatable)\n"
		   "GET /healthz answers 200; GET /metrics serves the counters (requests by\n"
		   "result, points, deliveries, skipped samples, bad series), also logged at exit.\n");
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ingest *ing = opaque;
	struct pending *pd = m->_private;

	(void)rk;
	if (pd == NULL)
		return;
	pthread_mutex_lock(&ing->mu);
	if (m->err) {
		if (pd->failed++ == 0)
			snprintf(pd->err, sizeof pd->err, "%s", rd_kafka_err2str(m->err));
		ing->failed++;
	} else {
		ing->delivered++;
	}
	pd->n--;
	pthread_cond_broadcast(&ing->cv);
	pthread_mutex_unlock(&ing->mu);
}

static void *poller(void *arg)
{
	struct ingest *ing = arg;
	while (!ing->stop_poll)
		rd_kafka_poll(ing->rk, 100);
	return NULL;
}

/* One point: a JSON-format record keyed by series. */
static int emit_point(void *ctx, const struct point *p)
{
	struct emit_ctx *ec = ctx;
	struct ingest *ing = ec->pd->ing;
	json_t *o = json_object(), *tags = json_object();
	char *val = NULL;
	int klen, rc = -VIGIL_ENOMEM;

	if (o == NULL || tags == NULL)
		goto out;
	for (int i = 0; i < p->ntags; i++)
		if (json_object_set_new(tags, p->tags[i].key, json_string(p->tags[i].value)) != 0)
			goto out;
	if (json_object_set_new(o, "series", json_string(p->name)) != 0 ||
	    json_object_set(o, "tags", tags) != 0 || json_object_set_new(o, "ts", json_real(p->ts)) != 0 ||
	    json_object_set_new(o, "value", json_real(p->value)) != 0)
		goto out;
	val = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
	klen = series_key(p, ec->key, sizeof ec->key);
	if (val == NULL || klen < 0)
		goto out;
	pthread_mutex_lock(&ing->mu);
	ec->pd->n++;
	pthread_mutex_unlock(&ing->mu);
	if (kafka_produce(ing->rk, ing->topic, ec->key, (size_t)klen, val, strlen(val), NULL, ec->pd) != 0) {
		pthread_mutex_lock(&ing->mu);
		ec->pd->n--;
		if (ec->pd->failed++ == 0)
			snprintf(ec->pd->err, sizeof ec->pd->err, "cannot enqueue for the broker");
		pthread_mutex_unlock(&ing->mu);
		rc = -VIGIL_EIO;
		goto out;
	}
	rc = 0;
out:
	free(val);
	json_decref(tags);
	json_decref(o);
	return rc;
}

static void h_write(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct ingest *ing = ctx;
	const char *ce = httpd_header(req, "Content-Encoding"), *ct = httpd_header(req, "Content-Type");
	struct pending pd = {.ing = ing};
	struct emit_ctx *ec = calloc(1, sizeof *ec);
	struct promrw_stats st;
	char err[256] = "";
	int rc;

	pthread_mutex_lock(&ing->mu);
	ing->requests++;
	pthread_mutex_unlock(&ing->mu);
	if (ec == NULL) {
		httpd_resp_error(resp, 503, "out of memory");
		return;
	}
	ec->pd = &pd;
	if (ct != NULL && strstr(ct, "io.prometheus.write.v2") != NULL) {
		httpd_resp_error(resp, 415,
				 "remote write 2.0 is not supported; send 1.0 (protobuf_message: "
				 "prometheus.WriteRequest)");
		rc = 1;
	} else if (ce != NULL && strcasecmp(ce, "snappy") != 0) {
		httpd_resp_error(resp, 400, "Content-Encoding must be snappy, got \"%.40s\"", ce);
		rc = 1;
	} else {
		rc = promrw_decode(req->body, req->bodylen, emit_point, ec, &st, err, sizeof err);
		pthread_mutex_lock(&ing->mu);
		while (pd.n > 0) /* librdkafka reports every message by message.timeout.ms */
			pthread_cond_wait(&ing->cv, &ing->mu);
		ing->points += st.points;
		ing->stale += st.stale;
		ing->nonfinite += st.nonfinite;
		ing->bad_series += st.bad_series;
		pthread_mutex_unlock(&ing->mu);
		if (rc == -VIGIL_EINVAL) {
			httpd_resp_error(resp, 400, "%s", err);
		} else if (rc != 0 || pd.failed) {
			httpd_resp_error(resp, 503, "%d points not delivered (%s); retry", pd.failed,
					 pd.err[0] ? pd.err : "out of memory");
		} else if (st.bad_series) {
			httpd_resp_error(resp, 400,
					 "%llu of %llu series rejected, the rest delivered; first: %s",
					 (unsigned long long)st.bad_series, (unsigned long long)st.series,
					 st.first_bad);
		} else {
			resp->status = 204;
		}
	}
	pthread_mutex_lock(&ing->mu);
	if (resp->status == 204)
		ing->ok++;
	else if (resp->status == 503)
		ing->retryable++;
	else
		ing->bad_requests++;
	pthread_mutex_unlock(&ing->mu);
	if (resp->status != 204)
		LOG_WARN(COMP, "event=write_refused client=%s status=%d reason=\"%.200s\"", req->client,
			 resp->status, resp->body ? resp->body : "");
	free(ec);
}

/* The counters in the Prometheus text format. */
static void h_metrics(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct ingest *ing = ctx;
	char b[1536];
	int n;

	(void)req;
	pthread_mutex_lock(&ing->mu);
	n = snprintf(b, sizeof b,
		     "# TYPE vigil_ingest_requests_total counter\n"
		     "vigil_ingest_requests_total{result=\"ok\"} %llu\n"
		     "vigil_ingest_requests_total{result=\"bad_request\"} %llu\n"
		     "vigil_ingest_requests_total{result=\"retryable\"} %llu\n"
		     "# TYPE vigil_ingest_points_total counter\n"
		     "vigil_ingest_points_total %llu\n"
		     "# TYPE vigil_ingest_delivered_total counter\n"
		     "vigil_ingest_delivered_total %llu\n"
		     "# TYPE vigil_ingest_delivery_failed_total counter\n"
		     "vigil_ingest_delivery_failed_total %llu\n"
		     "# TYPE vigil_ingest_samples_skipped_total counter\n"
		     "vigil_ingest_samples_skipped_total{reason=\"stale\"} %llu\n"
		     "vigil_ingest_samples_skipped_total{reason=\"nonfinite\"} %llu\n"
		     "# TYPE vigil_ingest_bad_series_total counter\n"
		     "vigil_ingest_bad_series_total %llu\n",
		     (unsigned long long)ing->ok, (unsigned long long)ing->bad_requests,
		     (unsigned long long)ing->retryable, (unsigned long long)ing->points,
		     (unsigned long long)ing->delivered, (unsigned long long)ing->failed,
		     (unsigned long long)ing->stale, (unsigned long long)ing->nonfinite,
		     (unsigned long long)ing->bad_series);
	pthread_mutex_unlock(&ing->mu);
	httpd_resp_text(resp, 200, "text/plain; version=0.0.4", b,
			n > 0 && (size_t)n < sizeof b ? (size_t)n : 0);
}

static void h_health(void *ctx, const struct httpd_req *req, struct httpd_resp *resp)
{
	(void)ctx;
	(void)req;
	httpd_resp_text(resp, 200, "text/plain", "ok\n", 3);
}

int cmd_ingest(int argc, char **argv)
{
	const char *boot = NULL, *bootfile = NULL, *topic = NULL, *listen = "127.0.0.1:9201";
	const char *port_file = NULL, *sets[32];
	size_t nsets = 0, max_body = 16u << 20;
	double dtimeout = 10;
	char bootbuf[1024], err[512], tmo[32];
	struct ingest ing;
	struct httpd *h = NULL;
	pthread_t th;
	int started = 0, rc = 1;

	if (cmd_wants_help(argc, argv)) {
		ingest_usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-b") == 0 && i + 1 < argc)
			boot = argv[++i];
		else if (strcmp(a, "--bootstrap-file") == 0 && i + 1 < argc)
			bootfile = argv[++i];
		else if (strcmp(a, "-t") == 0 && i + 1 < argc)
			topic = argv[++i];
		else if (strcmp(a, "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(a, "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (strcmp(a, "--max-body") == 0 && i + 1 < argc)
			max_body = strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--delivery-timeout") == 0 && i + 1 < argc)
			dtimeout = strtod(argv[++i], NULL);
		else if (strcmp(a, "--set") == 0 && i + 1 < argc && nsets < 32)
			sets[nsets++] = argv[++i];
		else {
			ingest_usage(stderr);
			return 2;
		}
	}
	if (bootfile != NULL) {
		if (cmd_read_first_line(bootfile, bootbuf, sizeof bootbuf) != 0) {
			fprintf(stderr, "vigil ingest: cannot read %s\n", bootfile);
			return 1;
		}
		boot = bootbuf;
	}
	if (boot == NULL || topic == NULL || max_body == 0 || !(dtimeout >= 0.1 && dtimeout <= 3600)) {
		ingest_usage(stderr);
		return 2;
	}
	memset(&ing, 0, sizeof ing);
	ing.topic = topic;
	pthread_mutex_init(&ing.mu, NULL);
	pthread_cond_init(&ing.cv, NULL);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	snprintf(tmo, sizeof tmo, "%.0f", dtimeout * 1000);
	const char *const defs[][2] = {{"bootstrap.servers", boot},
				       {"linger.ms", "5"},
				       {"enable.idempotence", "true"},
				       {"message.timeout.ms", tmo}};
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(defs); i++)
		if (rd_kafka_conf_set(conf, defs[i][0], defs[i][1], err, sizeof err) != RD_KAFKA_CONF_OK)
			goto conf_fail;
	if (kafka_conf_sets(conf, (const char *const *)sets, nsets, err, sizeof err) != 0)
		goto conf_fail;
	rd_kafka_conf_set_opaque(conf, &ing);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	ing.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (ing.rk == NULL)
		goto conf_fail;
	conf = NULL;
	if (pthread_create(&th, NULL, poller, &ing) != 0) {
		fprintf(stderr, "vigil ingest: cannot start the delivery thread\n");
		goto out;
	}
	started = 1;

	const struct httpd_route routes[] = {
		{"POST", "/api/v1/write", h_write, &ing, 1},
		{"GET", "/healthz", h_health, &ing, 1},
		{"GET", "/metrics", h_metrics, &ing, 1},
	};
	struct httpd_opts ho = {.listen = listen,
				.routes = routes,
				.nroutes = VIGIL_ARRAY_LEN(routes),
				.max_body = max_body,
				.timeout = dtimeout + 30,
				.comp = COMP};
	if (httpd_start(&ho, &h, err, sizeof err) != 0) {
		fprintf(stderr, "vigil ingest: %s\n", err);
		goto out;
	}
	if (port_file != NULL) {
		FILE *pf = fopen(port_file, "w");
		if (pf == NULL || fprintf(pf, "%d\n", httpd_port(h)) < 0 || fclose(pf) != 0) {
			fprintf(stderr, "vigil ingest: cannot write %s\n", port_file);
			goto out;
		}
	}
	LOG_INFO(COMP, "event=listening port=%d topic=%s", httpd_port(h), topic);
	cmd_stop_on_signals();
	while (!cmd_stop)
		usleep(100 * 1000);
	rc = 0;
out:
	httpd_stop(h);
	if (ing.rk != NULL)
		rd_kafka_flush(ing.rk, (int)(dtimeout * 1000));
	ing.stop_poll = 1;
	if (started)
		pthread_join(th, NULL);
	LOG_INFO(COMP,
		 "event=stopped requests=%llu ok=%llu bad_requests=%llu retryable=%llu points=%llu "
		 "delivered=%llu failed=%llu stale=%llu nonfinite=%llu bad_series=%llu",
		 (unsigned long long)ing.requests, (unsigned long long)ing.ok,
		 (unsigned long long)ing.bad_requests, (unsigned long long)ing.retryable,
		 (unsigned long long)ing.points, (unsigned long long)ing.delivered,
		 (unsigned long long)ing.failed, (unsigned long long)ing.stale,
		 (unsigned long long)ing.nonfinite, (unsigned long long)ing.bad_series);
	if (ing.rk != NULL)
		rd_kafka_destroy(ing.rk);
	pthread_mutex_destroy(&ing.mu);
	pthread_cond_destroy(&ing.cv);
	return rc;
conf_fail:
	fprintf(stderr, "vigil ingest: %s\n", err);
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	return 2;
}
