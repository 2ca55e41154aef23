/* See gateway_intake.h. */
#include "consumers/gateway_intake.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/htab.h"
#include "core/log.h"
#include "sinks/alert_topic.h"
#include "sinks/gateway.h"

#define COMP "kafka"

struct gateway_intake {
	const struct kafka_cfg *cfg;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	struct gateway *gw;
	struct hset seen[2]; /* two generations: [0] current, [1] previous */
	size_t gen_max;
	struct kafka_counters *ctr;
	rd_kafka_message_t **batch;
	double *lat_src; /* input timestamps (ms) of the alerts submitted in this batch */
	size_t nlat_src;
	double next_commit;
	int stored;
	struct complain bad_complain;
};

void gateway_intake_close(struct gateway_intake *g)
{
	if (g == NULL)
		return;
	if (g->rk) {
		if (g->stored)
			rd_kafka_commit(g->rk, NULL, 0);
		if (g->q)
			rd_kafka_queue_destroy(g->q);
		rd_kafka_consumer_close(g->rk);
		rd_kafka_destroy(g->rk);
	}
	if (g->gw) {
		gateway_flush(g->gw);
		gateway_destroy(g->gw);
	}
	hset_clear(&g->seen[0]);
	hset_clear(&g->seen[1]);
	free(g->batch);
	free(g->lat_src);
	free(g);
}

int gateway_intake_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
			struct gateway_intake **out)
{
	struct gateway_intake *g = calloc(1, sizeof *g);
	struct gateway_opts go = {0};
	char err[512];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (g == NULL)
		return rc;
	g->cfg = c;
	g->ctr = ctr;
	g->gen_max = 500000;
	g->batch = calloc((size_t)c->batch_size, sizeof *g->batch);
	g->lat_src = calloc((size_t)c->batch_size, sizeof *g->lat_src);
	if (g->batch == NULL || g->lat_src == NULL)
		goto fail;
	if ((rc = gateway_create(rs, &go, &g->gw, err, sizeof err)) != 0) {
		LOG_ERR(COMP, "event=gateway_failed err=\"%s\"", err);
		goto fail;
	}
	if ((rc = kafka_client(c, "gateway", RD_KAFKA_CONSUMER, g, NULL, NULL, &g->rk)) != 0)
		goto fail;
	rd_kafka_poll_set_consumer(g->rk);
	g->q = rd_kafka_queue_get_consumer(g->rk);
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(subs, c->alerts_topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(g->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e) {
		LOG_ERR(COMP, "event=subscribe_failed topic=%s err=\"%s\"", c->alerts_topic,
			rd_kafka_err2str(e));
		rc = -VIGIL_EIO;
		goto fail;
	}
	LOG_INFO(COMP, "event=gateway_started topic=%s group=%s", c->alerts_topic, c->gateway_group);
	*out = g;
	return 0;
fail:
	gateway_intake_close(g);
	return rc;
}

static void intake_message(struct gateway_intake *g, rd_kafka_message_t *m)
{
	char id[640], fp[32], err[256];
	json_error_t je;
	struct alert_event ev;
	json_t *j;

	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			LOG_WARN(COMP, "event=gateway_consume_error err=\"%s\"", rd_kafka_message_errstr(m));
		return;
	}
	g->ctr->gw_received++;
	j = m->payload ? json_loadb(m->payload, m->len, 0, &je) : NULL;
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, sizeof err, "not a JSON object");
		goto bad;
	}
	const char *jid = json_string_value(json_object_get(j, "alert_id"));
	const char *jfp = json_string_value(json_object_get(j, "fingerprint"));
	if (jid == NULL || jfp == NULL) {
		snprintf(err, sizeof err, "missing alert_id or fingerprint");
		goto bad;
	}
	snprintf(id, sizeof id, "%s", jid);
	snprintf(fp, sizeof fp, "%s", jfp);
	uint64_t h = alert_topic_key(id, fp);
	if (hset_has(&g->seen[0], h) || hset_has(&g->seen[1], h)) {
		g->ctr->gw_duplicates++;
		LOG_INFO(COMP, "event=gateway_duplicate alert_id=%s fingerprint=%s", id, fp);
		json_decref(j);
		goto store;
	}
	json_object_del(j, "alert_id");
	json_object_del(j, "input_topic");
	json_object_del(j, "input_partition");
	json_object_del(j, "input_offset");
	json_t *jt = json_object_get(j, "input_time_ms");
	double src_ms = json_is_integer(jt) ? (double)json_integer_value(jt) : -1;
	json_object_del(j, "input_time_ms");
	if (alert_from_json(j, &ev, err, sizeof err) != 0)
		goto bad;
	gateway_submit(g->gw, &ev);
	g->ctr->gw_submitted++;
	if (src_ms > 0 && g->nlat_src < (size_t)g->cfg->batch_size)
		g->lat_src[g->nlat_src++] = src_ms;
	json_decref(j);
	if (g->seen[0].n >= g->gen_max) {
		hset_clear(&g->seen[1]);
		g->seen[1] = g->seen[0];
		memset(&g->seen[0], 0, sizeof g->seen[0]);
	}
	hset_add(&g->seen[0], h);
	goto store;
bad:
	g->ctr->gw_bad++;
	if (j)
		json_decref(j);
	if (complain_due(&g->bad_complain, clock_mono(), 10, 5))
		LOG_WARN(COMP,
			 "event=gateway_bad_alert topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\"",
			 rd_kafka_topic_name(m->rkt), m->partition, m->offset, err);
store:;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
		m->offset + 1;
	if (rd_kafka_offsets_store(g->rk, l) == 0)
		g->stored = 1;
	rd_kafka_topic_partition_list_destroy(l);
}

int gateway_intake_step(struct gateway_intake *g, int timeout_ms)
{
	ssize_t n = kafka_consume_some(g->q, timeout_ms, g->batch, (size_t)g->cfg->batch_size);
	for (ssize_t i = 0; i < n; i++) {
		intake_message(g, g->batch[i]);
		rd_kafka_message_destroy(g->batch[i]);
	}
	if (n > 0)
		gateway_flush(g->gw);
	if (g->nlat_src) {
		/* every alert of the batch has been handed to its destinations */
		double wall_ms = clock_wall() * 1e3;
		for (size_t i = 0; i < g->nlat_src; i++)
			g->ctr->lat_ms[g->ctr->lat_n++ % KAFKA_LAT_WINDOW] = wall_ms - g->lat_src[i];
		g->nlat_src = 0;
	}
	double now = clock_mono();
	if (g->stored && now >= g->next_commit) {
		rd_kafka_commit(g->rk, NULL, 1);
		g->stored = 0;
		g->next_commit = now + 1.0;
	}
	return n > 0 ? (int)n : 0;
}
