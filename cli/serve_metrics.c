/* The /metrics text: what the processes already count (the stats lines of
 * cmd_replay.c and cmd_run.c) in the Prometheus text exposition format
 * 0.0.4: counters end in _total, gauges do not, every family has HELP and
 * TYPE, and related counters share a family with a label (notifications
 * by outcome, Kafka alerts by result). Rendered on the owning thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/serve.h"
#include "cli/serve_int.h"
#include "core/buf.h"
#include "core/clock.h"

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	family(b, name, "counter", help);
	buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(struct buf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	buf_printf(b, "%s %.17g\n", name, v);
}

/* One labelled sample of a family already opened. */
static void sample(struct buf *b, const char *name, const char *label, const char *value, uint64_t v)
{
	buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
}

/* Sampled detector update time as a summary without quantiles. */
static void det_time_metrics(struct buf *b, const struct timing *t)
{
	family(b, "vigil_detector_update_seconds", "summary",
	       "Detector update time, sampled (one update in 256 is timed), by detector.");
	for (size_t k = 0; k < TIMING_KINDS && t[k].name; k++) {
		buf_printf(b, "vigil_detector_update_seconds_sum{detector=\"%s\"} %.9g\n", t[k].name,
			   t[k].seconds);
		buf_printf(b, "vigil_detector_update_seconds_count{detector=\"%s\"} %llu\n", t[k].name,
			   (unsigned long long)t[k].samples);
	}
}

/* A label value: backslash, quote and newline escaped. */
static void label_value(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *in && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* Series and points refused by the cardinality limits and the memory
 * budget, per owner (owners come from the owners file: bounded). */
static void owner_refused_metrics(struct buf *b, const struct engine *e)
{
	const struct ruleset *rs = engine_ruleset(e);
	static const char *const fam[2] = {"vigil_series_refused_by_owner",
					   "vigil_points_refused_by_owner_total"};
	static const char *const type[2] = {"gauge", "counter"};
	static const char *const help[2] = {
		"Distinct series refused by a cardinality limit or the memory budget, by owner of their "
		"first "
		"rule ((none): no rule; estimated: exact for small counts, about 1 % up to 300,000).",
		"Points of those refused series, by owner."};
	for (int k = 0; k < 2; k++) {
		family(b, fam[k], type[k], help[k]);
		for (size_t i = 0; i <= rs->nowners; i++) {
			uint64_t pts, n = engine_owner_refused(e, i, &pts);
			if (pts == 0)
				continue;
			char lv[512];
			label_value(i < rs->nowners ? rs->owners[i].name : "(none)", lv, sizeof lv);
			buf_printf(b, "%s{owner=\"%s\"} %llu\n", fam[k], lv,
				   (unsigned long long)(k == 0 ? n : pts));
		}
	}
}

static void engine_metrics(struct buf *b, const struct serve_counters *c)
{
	const struct engine_stats *es = c->es;
	counter(b, "vigil_input_records_total", "Input records (lines) read.", c->lines);
	counter(b, "vigil_input_rejected_total", "Input records a decoder refused.", es->rejected);
	counter(b, "vigil_points_total", "Points received by the engine.", es->points);
	counter(b, "vigil_points_unmatched_total", "Points of series no rule watches.", es->unmatched);
	counter(b, "vigil_points_out_of_order_total", "Points older than their series' last point, skipped.",
		es->out_of_order);
	counter(b, "vigil_points_future_total",
		"Points further ahead of the wall clock than max_future, rejected (also in input_rejected).",
		es->future);
	counter(b, "vigil_points_skew_held_total",
		"Points held as more than max_skew ahead of their series' newest point (until its next).",
		es->skew_held);
	counter(b, "vigil_points_skewed_total",
		"Held points refused: their series' next point was back near its old time.", es->skewed);
	counter(b, "vigil_points_alloc_failed_total", "Points lost for want of memory for their series.",
		es->alloc_failed);
	counter(b, "vigil_series_refused_total",
		"Points refused because their new series was over a cardinality limit or the memory budget "
		"(every point of a refused series counts).",
		es->series_refused);
	counter(b, "vigil_series_refused_memory_total",
		"Points refused because their new series did not fit the memory budget (max_memory).",
		es->series_refused_memory);
	if (c->engine)
		owner_refused_metrics(b, c->engine);
	gauge(b, "vigil_series", "Series in the series table.", (double)es->series);
	gauge(b, "vigil_series_bytes", "Memory held by the series table and detector states, in bytes.",
	      (double)es->bytes);
	counter(b, "vigil_engine_alerts_total", "Alert events emitted by the engine (firing and resolved).",
		es->alerts);
	counter(b, "vigil_detector_errors_total", "Detector update failures.", es->det_errors);
	gauge(b, "vigil_peer_groups", "Peer groups in the group table.", (double)es->groups);
	counter(b, "vigil_peer_points_late_total", "Points for a peer-group tick already closed, dropped.",
		es->late);
	counter(b, "vigil_peer_group_refused_total", "Series refused by a full peer group.",
		es->group_refused);
	gauge(b, "vigil_data_time_seconds", "Data time of the newest point received (Unix seconds).",
	      es->newest_ts);
	det_time_metrics(b, es->det_time);
}

/* Notifications and retries per destination (the first GATEWAY_STAT_DESTS). */
static void dest_metrics(struct buf *b, const struct gateway_stats *gs)
{
	char id[200], type[64];
	family(b, "vigil_destination_notifications_total", "counter",
	       "Notifications finished per destination, by outcome (delivered, dead_lettered).");
	for (size_t i = 0; i < gs->ndests; i++) {
		label_value(gs->dests[i].id, id, sizeof id);
		label_value(gs->dests[i].type, type, sizeof type);
		buf_printf(b,
			   "vigil_destination_notifications_total{destination=\"%s\",type=\"%s\",outcome="
			   "\"delivered\"} %llu\n",
			   id, type, (unsigned long long)gs->dests[i].delivered);
		buf_printf(
			b,
			"vigil_destination_notifications_total{destination=\"%s\",type=\"%s\",outcome=\"dead_"
			"lettered\"} %llu\n",
			id, type, (unsigned long long)gs->dests[i].failed);
	}
	family(b, "vigil_destination_retries_total", "counter",
	       "Delivery attempts after the first, per destination.");
	for (size_t i = 0; i < gs->ndests; i++) {
		label_value(gs->dests[i].id, id, sizeof id);
		label_value(gs->dests[i].type, type, sizeof type);
		buf_printf(b, "vigil_destination_retries_total{destination=\"%s\",type=\"%s\"} %llu\n", id,
			   type, (unsigned long long)gs->dests[i].retries);
	}
}

static void gateway_metrics(struct buf *b, const struct gateway_stats *gs)
{
	counter(b, "vigil_gateway_events_total", "Alert events submitted to the gateway.", gs->received);
	counter(b, "vigil_gateway_episodes_fired_total", "Episodes opened (firing decided).", gs->fired);
	counter(b, "vigil_gateway_episodes_resolved_total", "Resolves decided (own episode or orphan).",
		gs->resolved);
	counter(b, "vigil_gateway_events_suppressed_total", "Repeats of an open episode and duplicates.",
		gs->suppressed);
	counter(b, "vigil_gateway_notifications_queued_total", "Notifications queued (one per destination).",
		gs->notifications);
	family(b, "vigil_gateway_notifications_total", "counter",
	       "Notifications finished, by outcome (delivered, dead-lettered after retries, or dropped: "
	       "their destination was removed by a reload).");
	sample(b, "vigil_gateway_notifications_total", "outcome", "delivered", gs->delivered);
	sample(b, "vigil_gateway_notifications_total", "outcome", "dead_lettered", gs->failed);
	sample(b, "vigil_gateway_notifications_total", "outcome", "destination_removed",
	       gs->dest_removed_drops);
	counter(b, "vigil_gateway_owner_reloads_total",
		"Owners reloads that changed destinations or owners (gateway_reload).", gs->owner_reloads);
	counter(b, "vigil_gateway_delivery_retries_total", "Delivery attempts after the first.", gs->retries);
	counter(b, "vigil_gateway_unowned_total", "Events whose owner is unknown (sent to the fallback).",
		gs->unowned);
	counter(b, "vigil_gateway_split_series_total", "Firings of a series with another episode open.",
		gs->split_series);
	counter(b, "vigil_gateway_orphan_resolves_total",
		"Resolves of episodes this process did not see fire.", gs->orphan_resolves);
	counter(b, "vigil_gateway_restored_total", "Notifications re-queued from the state at start.",
		gs->restored);
	counter(b, "vigil_gateway_resends_total",
		"Firing notifications re-sent to receivers that expire them.", gs->resends);
	family(b, "vigil_gateway_control_total", "counter", "Control commands from the inbox, by result.");
	sample(b, "vigil_gateway_control_total", "result", "applied", gs->control_applied);
	sample(b, "vigil_gateway_control_total", "result", "rejected", gs->control_bad);
	counter(b, "vigil_gateway_muted_total", "Times a firing, not yet notified alert was found muted.",
		gs->muted);
	counter(b, "vigil_gateway_pages_held_total", "Pages held by a page budget (sent in its digest).",
		gs->pages_held);
	counter(b, "vigil_gateway_page_digests_total", "Page budget digests sent.", gs->page_digests);
	counter(b, "vigil_gateway_escalations_total", "Escalation levels notified.", gs->escalations);
	counter(b, "vigil_gateway_acks_total", "Acknowledgements applied.", gs->acks);
	gauge(b, "vigil_gateway_groups", "Alert groups open.", (double)gs->groups);
	gauge(b, "vigil_gateway_notifications_pending", "Notifications queued and not finished.",
	      (double)gs->pending);
	gauge(b, "vigil_gateway_open_episodes", "Episodes open (firing).", (double)gs->open_episodes);
	counter(b, "vigil_gateway_log_write_failures_total",
		"Flushes of the gateway's state log that failed (disk full...): that state may not survive a "
		"restart.",
		gs->log_failures);
	gauge(b, "vigil_gateway_log_reserve_bytes",
	      "Disk space the gateway's state log holds allocated past its end (written into when the disk "
	      "is "
	      "full).",
	      (double)gs->log_reserve_bytes);
	counter(b, "vigil_gateway_log_reserve_short_total",
		"Refreshes of the state log's reserve that could not get all of it (disk full).",
		gs->log_reserve_short);
	dest_metrics(b, gs);
	family(b, "vigil_gateway_alerts", "gauge",
	       "Open alerts by state as the API lists them (an alert can be both muted and held).");
	sample(b, "vigil_gateway_alerts", "state", "active", gs->alerts_active);
	sample(b, "vigil_gateway_alerts", "state", "acknowledged", gs->alerts_acked);
	sample(b, "vigil_gateway_alerts", "state", "muted", gs->alerts_muted);
	sample(b, "vigil_gateway_alerts", "state", "held", gs->alerts_held);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void kafka_metrics(struct buf *b, const struct serve_counters *c)
{
	const struct kafka_counters *k = c->kc;
	counter(b, "vigil_kafka_records_total", "Input records consumed by this member.", k->records);
	family(b, "vigil_kafka_alerts_total", "counter", "Alert events of this member, by result.");
	sample(b, "vigil_kafka_alerts_total", "result", "published", k->alerts_published);
	sample(b, "vigil_kafka_alerts_total", "result", "suppressed", k->alerts_suppressed);
	sample(b, "vigil_kafka_alerts_total", "result", "failed", k->alerts_failed);
	counter(b, "vigil_kafka_poison_total", "Records that could not be decoded.", k->poison);
	counter(b, "vigil_kafka_dead_lettered_total", "Records copied to the dead-letter topic.",
		k->dead_lettered);
	family(b, "vigil_kafka_dropped_total", "counter", "Records dropped, by reason.");
	sample(b, "vigil_kafka_dropped_total", "reason", "unowned", k->dropped_unowned);
	sample(b, "vigil_kafka_dropped_total", "reason", "done", k->dropped_done);
	counter(b, "vigil_kafka_rebalances_total", "Rebalance callbacks.", k->rebalances);
	family(b, "vigil_kafka_partition_events_total", "counter",
	       "Input partitions assigned, revoked or lost.");
	sample(b, "vigil_kafka_partition_events_total", "event", "assigned", k->assigned);
	sample(b, "vigil_kafka_partition_events_total", "event", "revoked", k->revoked);
	sample(b, "vigil_kafka_partition_events_total", "event", "lost", k->lost);
	counter(b, "vigil_kafka_offset_gaps_total", "Offset gaps seen and repaired.", k->gaps);
	counter(b, "vigil_kafka_split_series_total",
		"Series seen on more than one input partition (producer not keying by series).",
		k->split_series);
	counter(b, "vigil_kafka_routed_records_total",
		"Raw input records routed to the repartition topic and acknowledged (keyed_by: none).",
		k->routed);
	counter(b, "vigil_kafka_routed_lines_total",
		"Lines produced to the repartition topic, keyed by series.", k->routed_lines);
	counter(b, "vigil_kafka_points_out_of_order_total",
		"Points skipped as not newer than their series' last point (keyed_by none: routed late).",
		k->out_of_order);
	counter(b, "vigil_kafka_route_retries_total",
		"Routed messages produced again after a failed delivery.", k->route_retries);
	counter(b, "vigil_kafka_checkpoints_total", "Checkpoints written.", k->checkpoints);
	counter(b, "vigil_kafka_checkpoints_skipped_total", "Checkpoints skipped.", k->checkpoint_skipped);
	counter(b, "vigil_kafka_state_bytes_total", "Bytes of checkpoints written.", k->state_bytes);
	counter(b, "vigil_kafka_restores_total", "Partition restores.", k->restores);
	gauge(b, "vigil_kafka_restore_seconds_max", "Longest restore, in seconds.", k->restore_ms_max / 1e3);
	gauge(b, "vigil_kafka_lag", "Sum over owned partitions of high watermark minus next offset.",
	      (double)k->lag);
	family(b, "vigil_kafka_partition_lag", "gauge",
	       "High watermark minus next offset, per owned input partition (-1: watermark unknown).");
	for (size_t i = 0; i < k->npart_lag; i++)
		buf_printf(b, "vigil_kafka_partition_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
			   k->part_lag[i].topic, (int)k->part_lag[i].partition,
			   (long long)k->part_lag[i].lag);
	if (k->last_checkpoint_at > 0)
		gauge(b, "vigil_kafka_checkpoint_age_seconds", "Seconds since the newest durable checkpoint.",
		      clock_wall() - k->last_checkpoint_at);
	det_time_metrics(b, k->det_time);
	gauge(b, "vigil_kafka_partitions", "Input partitions owned.", (double)c->partitions);
	gauge(b, "vigil_kafka_points", "Points decoded by the engines of the owned partitions.",
	      (double)k->points);
	gauge(b, "vigil_kafka_points_future",
	      "Of those, rejected as further ahead of the wall clock than max_future.", (double)k->future);
	gauge(b, "vigil_kafka_points_skewed",
	      "Of those, held as more than max_skew ahead of their series' newest point, then refused.",
	      (double)k->skewed);
	gauge(b, "vigil_kafka_last_record_time_seconds", "Wall time of the newest processed batch (0: none).",
	      k->last_record_at);
	counter(b, "vigil_gateway_intake_received_total", "Messages read from the alerts topic.",
		k->gw_received);
	family(b, "vigil_gateway_intake_total", "counter", "Alerts-topic messages handled, by result.");
	sample(b, "vigil_gateway_intake_total", "result", "submitted", k->gw_submitted);
	sample(b, "vigil_gateway_intake_total", "result", "duplicate", k->gw_duplicates);
	sample(b, "vigil_gateway_intake_total", "result", "bad", k->gw_bad);
	size_t n = k->lat_n < KAFKA_LAT_WINDOW ? (size_t)k->lat_n : KAFKA_LAT_WINDOW;
	double *v = n ? malloc(n * sizeof *v) : NULL, q[3] = {0, 0, 0};
	if (v) {
		memcpy(v, k->lat_ms, n * sizeof *v);
		qsort(v, n, sizeof *v, cmp_double);
		q[0] = v[(n - 1) / 2];
		q[1] = v[(size_t)((double)(n - 1) * 0.99 + 0.5)];
		q[2] = v[n - 1];
		free(v);
	}
	family(b, "vigil_gateway_alert_latency_seconds", "gauge",
	       "Produce-to-hand-off latency of the newest 4096 alerts (p50, p99, max).");
	buf_printf(b, "vigil_gateway_alert_latency_seconds{stat=\"p50\"} %.17g\n", q[0] / 1e3);
	buf_printf(b, "vigil_gateway_alert_latency_seconds{stat=\"p99\"} %.17g\n", q[1] / 1e3);
	buf_printf(b, "vigil_gateway_alert_latency_seconds{stat=\"max\"} %.17g\n", q[2] / 1e3);
	counter(b, "vigil_gateway_alert_latency_samples_total", "Alerts whose latency was measured.",
		k->lat_n);
}

static void http_metrics(struct buf *b, const struct httpd_stats *hs)
{
	family(b, "vigil_http_requests_total", "counter", "HTTP requests answered, by status code.");
	for (int code = 100; code < 600; code++)
		if (hs->by_code[code]) {
			char v[16];
			snprintf(v, sizeof v, "%d", code);
			sample(b, "vigil_http_requests_total", "code", v, hs->by_code[code]);
		}
	counter(b, "vigil_http_rate_limited_total", "HTTP requests refused by the per-client rate limit.",
		hs->rate_limited);
}

char *serve_metrics_render(const struct serve_counters *c, size_t *len)
{
	struct buf b = {0};
	family(&b, "vigil_build_info", "gauge", "The running vigil: version and mode.");
	buf_printf(&b, "vigil_build_info{version=\"%s\",mode=\"%s\"} 1\n", VIGIL_VERSION,
		   c->mode ? c->mode : "");
	gauge(&b, "vigil_ready", "1 when /readyz answers 200.", c->ready ? 1 : 0);
	gauge(&b, "vigil_start_time_seconds", "Start time of the process (Unix seconds).", c->start_time);
	if (c->es)
		engine_metrics(&b, c);
	if (c->gs)
		gateway_metrics(&b, c->gs);
	if (c->kc)
		kafka_metrics(&b, c);
	if (c->hs)
		http_metrics(&b, c->hs);
	if (c->rules_version) {
		family(&b, "vigil_rules_version_info", "gauge", "The running rule set: its content hash.");
		buf_printf(&b, "vigil_rules_version_info{version=\"%s\"} 1\n", c->rules_version);
		counter(&b, "vigil_rules_reloads_total", "Rule set reloads applied.", c->rules_reloads);
		counter(&b, "vigil_rules_reload_errors_total",
			"Rule set reloads refused (invalid files): the running set stayed.",
			c->rules_reload_errors);
	}
	buf_put(&b, "", 1);
	if (!buf_ok(&b)) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len - 1;
	return (char *)b.data;
}

void serve_metrics_update(struct serve *sv, struct serve_counters *c)
{
	struct httpd_stats hs;
	size_t len;
	if (sv == NULL)
		return;
	serve_http_stats(sv, &hs);
	serve_rules_update(sv, c);
	c->hs = &hs;
	char *text = serve_metrics_render(c, &len);
	if (text)
		serve_publish_metrics(sv, text, len);
	free(text);
	c->hs = NULL;
}
