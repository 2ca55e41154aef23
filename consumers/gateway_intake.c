/* See gateway_intake.h. */
#include "consumers/gateway_intake.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
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
	rd_kafka_t *prod;    /* dead letters of malformed events; NULL without a dead_letter_topic */
	struct hset seen[2]; /* two generations: [0] current, [1] previous */
	size_t gen_max;
	struct kafka_counters *ctr;
	rd_kafka_message_t **batch;
	double *lat_src; /* input timestamps (ms) of the alerts submitted in this batch */
	size_t nlat_src;
	double next_commit;
	struct ipart *parts; /* alerts-topic partitions seen, with progress */
	size_t nparts, capparts;
	double drain_timeout;
	struct complain bad_complain;
};

/* One alerts-topic partition: the next offset to read and the last commit. */
struct ipart {
	int32_t part;
	int64_t next, committed;
};

static struct ipart *ipart_of(struct gateway_intake *g, int32_t part)
{
	for (size_t i = 0; i < g->nparts; i++)
		if (g->parts[i].part == part)
			return &g->parts[i];
	if (vec_reserve((void **)&g->parts, &g->capparts, g->nparts + 1, sizeof *g->parts) != 0)
		return NULL;
	g->parts[g->nparts] = (struct ipart){part, -1, -1};
	return &g->parts[g->nparts++];
}

/* Commit, per partition, the offset below which every message is finished:
 * read, and each notification it became delivered or dead-lettered. A
 * member that takes the partition over later re-reads the rest (and the
 * receivers drop what was delivered twice by its dedup key). */
static void commit_finished(struct gateway_intake *g, int async)
{
	rd_kafka_topic_partition_list_t *l =
		rd_kafka_topic_partition_list_new((int)(g->nparts ? g->nparts : 1));
	if (l == NULL)
		return;
	for (size_t i = 0; i < g->nparts; i++) {
		struct ipart *p = &g->parts[i];
		int64_t off = p->next, pend = gateway_min_pending(g->gw, p->part);
		if (pend < off)
			off = pend;
		if (off >= 0 && off > p->committed)
			rd_kafka_topic_partition_list_add(l, g->cfg->alerts_topic, p->part)->offset = off;
	}
	if (l->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_commit(g->rk, l, async);
		if (e == 0 || async)
			for (int i = 0; i < l->cnt; i++)
				ipart_of(g, l->elems[i].partition)->committed = l->elems[i].offset;
		if (e)
			LOG_WARN(COMP, "event=gateway_commit_failed err=\"%s\"", rd_kafka_err2str(e));
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Assignments as given; on a revoke, commit what finished in the revoked
 * partitions and forget them (their new owner continues from there). */
static void intake_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			     void *opaque)
{
	struct gateway_intake *g = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		return;
	}
	if (!rd_kafka_assignment_lost(rk))
		commit_finished(g, 0);
	for (int i = 0; i < parts->cnt; i++)
		for (size_t k = 0; k < g->nparts; k++)
			if (g->parts[k].part == parts->elems[i].partition) {
				g->parts[k] = g->parts[--g->nparts];
				break;
			}
	if (coop)
		e = rd_kafka_incremental_unassign(rk, parts);
	else
		rd_kafka_assign(rk, NULL);
	if (e) {
		LOG_ERR(COMP, "event=gateway_rebalance_failed err=\"%s\"", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

void gateway_intake_close(struct gateway_intake *g)
{
	if (g == NULL)
		return;
	if (g->gw) {
		/* give pending deliveries a chance, then commit what finished */
		size_t left = gateway_drain(g->gw, g->drain_timeout);
		if (left)
			LOG_WARN(COMP,
				 "event=gateway_stopping_with_pending pending=%zu: their alerts stay "
				 "uncommitted "
				 "and are delivered by the next gateway",
				 left);
	}
	if (g->prod) {
		rd_kafka_flush(g->prod, 5000);
		rd_kafka_destroy(g->prod);
	}
	if (g->rk) {
		if (g->gw)
			commit_finished(g, 0);
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
	free(g->parts);
	free(g);
}

int gateway_intake_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
			struct gateway_intake **out)
{
	struct gateway_intake *g = calloc(1, sizeof *g);
	struct gateway_opts go = {.env = {.kafka = c}};
	char err[512];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (g == NULL)
		return rc;
	g->cfg = c;
	g->ctr = ctr;
	g->gen_max = 500000;
	g->drain_timeout = 10.0;
	g->batch = calloc((size_t)c->batch_size, sizeof *g->batch);
	g->lat_src = calloc((size_t)c->batch_size, sizeof *g->lat_src);
	if (g->batch == NULL || g->lat_src == NULL)
		goto fail;
	if ((rc = gateway_create(rs, &go, &g->gw, err, sizeof err)) != 0) {
		LOG_ERR(COMP, "event=gateway_failed err=\"%s\"", err);
		goto fail;
	}
	if ((rc = kafka_client(c, "gateway", RD_KAFKA_CONSUMER, g, intake_rebalance, NULL, &g->rk)) != 0)
		goto fail;
	if (c->dead_letter_topic &&
	    (rc = kafka_client(c, "producer", RD_KAFKA_PRODUCER, g, NULL, NULL, &g->prod)) != 0)
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

/* A message the gateway cannot take: counted, logged with its position, and
 * copied to the dead-letter topic (when configured) with the reason. */
static void intake_bad(struct gateway_intake *g, const rd_kafka_message_t *m, const char *err)
{
	char src[320], off[32];
	g->ctr->gw_bad++;
	if (complain_due(&g->bad_complain, clock_mono(), 10, 5))
		LOG_WARN(COMP,
			 "event=gateway_bad_alert topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\"",
			 rd_kafka_topic_name(m->rkt), m->partition, m->offset, err);
	if (g->prod == NULL || g->cfg->dead_letter_topic == NULL)
		return;
	rd_kafka_headers_t *h = rd_kafka_headers_new(3);
	snprintf(src, sizeof src, "%s/%" PRId32, rd_kafka_topic_name(m->rkt), m->partition);
	snprintf(off, sizeof off, "%" PRId64, m->offset);
	rd_kafka_header_add(h, "vigil.error", -1, err, -1);
	rd_kafka_header_add(h, "vigil.src", -1, src, -1);
	rd_kafka_header_add(h, "vigil.offset", -1, off, -1);
	if (kafka_produce(g->prod, g->cfg->dead_letter_topic, m->key, m->key_len, m->payload, m->len, h,
			  NULL) == 0)
		g->ctr->dead_lettered++;
	rd_kafka_headers_destroy(h);
}

static void intake_message(struct gateway_intake *g, rd_kafka_message_t *m)
{
	char err[256], series[1024];
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
		snprintf(err, sizeof err, "not a JSON object%s%s", j ? "" : ": ", j ? "" : je.text);
		json_decref(j);
		intake_bad(g, m, err);
		goto store;
	}
	/* vigil's members add alert_id (input partition:offset:rule); with the
	 * fingerprint it tells a re-published alert from a new one. Events of
	 * other producers carry none: the gateway's episodes dedup them. */
	const char *jid = json_string_value(json_object_get(j, "alert_id"));
	const char *jfp = json_string_value(json_object_get(j, "fingerprint"));
	uint64_t h = jid && jfp ? alert_topic_key(jid, jfp) : 0;
	if (h && (hset_has(&g->seen[0], h) || hset_has(&g->seen[1], h))) {
		g->ctr->gw_duplicates++;
		LOG_INFO(COMP, "event=gateway_duplicate alert_id=%s fingerprint=%s", jid, jfp);
		json_decref(j);
		goto store;
	}
	json_t *jt = json_object_get(j, "input_time_ms");
	double src_ms = json_is_integer(jt) ? (double)json_integer_value(jt) : -1;
	if (alert_from_json_v1(j, &ev, series, sizeof series, clock_wall(), err, sizeof err) != 0) {
		json_decref(j);
		intake_bad(g, m, err);
		goto store;
	}
	gateway_submit_tagged(g->gw, &ev, m->partition, m->offset);
	g->ctr->gw_submitted++;
	if (src_ms > 0 && g->nlat_src < (size_t)g->cfg->batch_size)
		g->lat_src[g->nlat_src++] = src_ms;
	json_decref(j);
	if (h) {
		if (g->seen[0].n >= g->gen_max) {
			hset_clear(&g->seen[1]);
			g->seen[1] = g->seen[0];
			memset(&g->seen[0], 0, sizeof g->seen[0]);
		}
		hset_add(&g->seen[0], h);
	}
store:;
	struct ipart *p = ipart_of(g, m->partition);
	if (p && m->offset + 1 > p->next)
		p->next = m->offset + 1;
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
	gateway_tick(g->gw);
	if (g->nlat_src) {
		/* every alert of the batch has been handed to its destinations */
		double wall_ms = clock_wall() * 1e3;
		for (size_t i = 0; i < g->nlat_src; i++)
			g->ctr->lat_ms[g->ctr->lat_n++ % KAFKA_LAT_WINDOW] = wall_ms - g->lat_src[i];
		g->nlat_src = 0;
	}
	double now = clock_mono();
	if (now >= g->next_commit) {
		commit_finished(g, 1);
		g->next_commit = now + 1.0;
	}
	return n > 0 ? (int)n : 0;
}
