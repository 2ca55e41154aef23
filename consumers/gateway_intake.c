/* See gateway_intake.h. */
#include "consumers/gateway_intake.h"
#include "core/secret.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/gateway_control.h"
#include "consumers/gateway_done.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/failpoint.h"
#include "core/htab.h"
#include "core/log.h"
#include "sinks/alert_topic.h"
#include "sinks/gateway.h"
#include "sinks/gateway_done.h"

#define COMP "kafka"

struct gateway_intake {
	const struct kafka_cfg *cfg;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	struct gateway *gw;
	rd_kafka_t *prod;     /* the snapshots on the gateway state topic, and dead letters */
	rd_kafka_t *reader;   /* group-less: reads snapshots back when partitions are assigned */
	struct gwctl *ctl;    /* the control topic's partitions of the owned alerts partitions */
	struct gwdone *done;  /* records of the sends finished since each partition's snapshot */
	double next_ctl_ckpt; /* no control-triggered snapshot before (after a failed one) */
	int32_t state_nparts;
	uint64_t state_fail; /* snapshot messages the broker refused (delivery reports) */
	uint64_t changes;    /* gateway activity at the last snapshot (a sum of its counters) */
	double next_ckpt;
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
	double handover_wait; /* s: a revoke waits this long at most for sends in flight */
	struct complain bad_complain;
	int assigned;          /* 1 after the first assignment (its snapshots restored) */
	int32_t alerts_nparts; /* partitions of the alerts topic; 0 = unknown */
};

/* One owned alerts-topic partition: the next offset to read, the offset
 * its newest durable snapshot covers, and the last commit. After a
 * takeover (done records handed to the gateway), catchup_end is the
 * partition's end offset once known (-1 before): read up to there, and with
 * nothing decided left waiting, the unused records are dropped. */
struct ipart {
	int32_t part;
	int64_t next, ckpt_next, committed;
	int64_t catchup_end;
	int taking_over;
};

static struct ipart *ipart_of(struct gateway_intake *g, int32_t part)
{
	for (size_t i = 0; i < g->nparts; i++)
		if (g->parts[i].part == part)
			return &g->parts[i];
	if (vec_reserve((void **)&g->parts, &g->capparts, g->nparts + 1, sizeof *g->parts) != 0)
		return NULL;
	g->parts[g->nparts] = (struct ipart){part, -1, -1, -1, -1, 0};
	return &g->parts[g->nparts++];
}

static int in_list(const rd_kafka_topic_partition_list_t *l, int32_t part)
{
	if (l == NULL)
		return 1;
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].partition == part)
			return 1;
	return 0;
}

static uint64_t activity(struct gateway *gw)
{
	struct gateway_stats st;
	gateway_get_stats(gw, &st);
	return st.received + st.notifications + st.delivered + st.failed + st.restored;
}

/* Snapshot the owned partitions in `only` (NULL = all) to the gateway state
 * topic (sinks/gateway_state.c), with the position in their control
 * partitions ("control_next"), and wait for the broker to have them; each
 * then covers its partition up to `next` (a partition read nothing of yet
 * is snapshotted when control records were applied to it: next -1). 0, or
 * -VIGIL_EIO when not every snapshot was acknowledged (nothing is taken as
 * covered then). */
static int checkpoint(struct gateway_intake *g, const rd_kafka_topic_partition_list_t *only, const char *why)
{
	uint64_t fail_before = g->state_fail;
	int64_t covers[1024], ctl_covers[1024];
	size_t done_marks[1024];
	unsigned char written[1024];
	size_t n = 0, bytes = 0;
	int rc = 0;

	if (g->prod == NULL || g->gw == NULL || g->state_nparts <= 0)
		return -VIGIL_EIO; /* not started */

	for (size_t i = 0; i < g->nparts && i < 1024; i++) {
		struct ipart *p = &g->parts[i];
		covers[i] = -1;
		written[i] = 0;
		if (!in_list(only, p->part) || (p->next < 0 && !gwctl_dirty(g->ctl, p->part)))
			continue;
		/* the done records so far: the snapshot covers them (the outbox
		 * records a send as it removes it, under the lock export takes) */
		done_marks[i] = gwdone_mark(g->done, p->part);
		json_t *snap = gateway_export(g->gw, p->part);
		if (snap && gwdone_export(g->done, p->part, snap) != 0) {
			json_decref(snap);
			snap = NULL;
		}
		ctl_covers[i] = gwctl_next(g->ctl, p->part);
		if (snap && json_object_set_new(snap, "control_next", json_integer(ctl_covers[i])) != 0) {
			json_decref(snap);
			snap = NULL;
		}
		char *blob = snap ? json_dumps(snap, JSON_COMPACT) : NULL;
		json_decref(snap);
		if (blob == NULL) {
			rc = -VIGIL_ENOMEM;
			continue;
		}
		/* test hook: a send that finishes from here until the write is
		 * pending in this snapshot while its done record precedes it */
		FAILPOINT("gateway_snapshot_after_export");
		struct kafka_ckpt k = {.next = p->next, .blob = (uint8_t *)blob, .bloblen = strlen(blob)};
		size_t b = 0;
		int wrc = kafka_ckpt_write(g->prod, g->cfg->gateway_state_topic, p->part % g->state_nparts,
					   g->cfg->alerts_topic, p->part, &k, &b);
		free(blob);
		if (wrc != 0) {
			LOG_WARN(COMP, "event=gateway_checkpoint_failed partition=%" PRId32 " err=\"%s\"",
				 p->part, vigil_strerror(wrc));
			rc = wrc;
			continue;
		}
		covers[i] = p->next;
		written[i] = 1;
		bytes += b;
		n++;
	}
	if (n == 0)
		return rc;
	if (rd_kafka_flush(g->prod, 5000) != 0 || rd_kafka_outq_len(g->prod) > 0 ||
	    g->state_fail != fail_before) {
		LOG_WARN(COMP, "event=gateway_checkpoint_unacknowledged why=%s partitions=%zu", why, n);
		return -VIGIL_EIO;
	}
	for (size_t i = 0; i < g->nparts && i < 1024; i++) {
		if (covers[i] >= 0)
			g->parts[i].ckpt_next = covers[i];
		if (written[i]) {
			gwctl_saved(g->ctl, g->parts[i].part, ctl_covers[i]);
			gwdone_retire(g->done, g->parts[i].part, done_marks[i]);
		}
	}
	LOG_DBG(COMP, "event=gateway_checkpoint why=%s partitions=%zu bytes=%zu", why, n, bytes);
	return rc;
}

/* Commit, per partition in `only` (NULL = all), the offset below which
 * nothing is lost if this process dies: what its newest snapshot covers
 * (the snapshot carries the unfinished notifications), or else the offset
 * below which every notification has finished. */
static void commit_safe(struct gateway_intake *g, const rd_kafka_topic_partition_list_t *only, int async)
{
	if (g->gw == NULL)
		return;
	rd_kafka_topic_partition_list_t *l =
		rd_kafka_topic_partition_list_new((int)(g->nparts ? g->nparts : 1));
	if (l == NULL)
		return;
	for (size_t i = 0; i < g->nparts; i++) {
		struct ipart *p = &g->parts[i];
		if (!in_list(only, p->part))
			continue;
		int64_t off = p->next, pend = gateway_min_pending(g->gw, p->part);
		if (pend < off)
			off = pend;
		if (p->ckpt_next > off)
			off = p->ckpt_next;
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

/* Take partition part over: the newest snapshot on the gateway state topic,
 * if any, into the gateway, then the control records after the snapshot's
 * control position (all of them without a snapshot). */
static void restore(struct gateway_intake *g, int32_t part)
{
	struct kafka_ckpt k;
	int found = 0;
	int64_t ctl_from = -1;
	double t0 = clock_mono();
	struct ipart *p = ipart_of(g, part);
	memset(&k, 0, sizeof k);
	if (g->reader == NULL || g->gw == NULL || g->state_nparts <= 0)
		return;
	int rc = kafka_ckpt_read(g->reader, g->cfg->gateway_state_topic, part % g->state_nparts,
				 g->cfg->alerts_topic, part, 10000, NULL, &k, &found);
	if (rc != 0) {
		LOG_ERR(COMP,
			"event=gateway_restore_failed partition=%" PRId32
			" err=\"%s\": continuing without its snapshot (its open episodes are unknown here)",
			part, vigil_strerror(rc));
		gwctl_assign(g->ctl, g->reader, part, -1);
		return;
	}
	/* what the previous owner delivered after that snapshot: before the
	 * snapshot's pending notifications are queued again */
	size_t done = 0;
	gwdone_restore(g->done, g->reader, part, 10000, &done);
	if (p) {
		p->taking_over = 1; /* the snapshot's own done list counts too */
		p->catchup_end = -1;
	}
	if (found) {
		json_error_t je;
		json_t *snap = json_loadb((const char *)k.blob, k.bloblen, 0, &je);
		if (snap == NULL || gwdone_import(g->done, part, snap) != 0 ||
		    gateway_import(g->gw, part, snap) != 0)
			LOG_ERR(COMP,
				"event=gateway_restore_failed partition=%" PRId32 " err=\"bad snapshot\"",
				part);
		json_t *cn = json_object_get(snap, "control_next");
		if (json_is_integer(cn))
			ctl_from = json_integer_value(cn);
		json_decref(snap);
		if (p) {
			p->next = p->ckpt_next = k.next;
		}
	}
	LOG_INFO(COMP,
		 "event=gateway_partition_assigned partition=%" PRId32 " snapshot=%s next=%" PRId64
		 " done_records=%zu ms=%.1f",
		 part, found ? "yes" : "none", found ? k.next : (int64_t)-1, done, (clock_mono() - t0) * 1e3);
	kafka_ckpt_free(&k);
	gwctl_assign(g->ctl, g->reader, part, ctl_from);
}

/* Delivery reports of the producer: count refused snapshots. */
static void intake_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct gateway_intake *g = opaque;
	(void)rk;
	if (m->err && (uintptr_t)m->_private == KAFKA_MSG_STATE)
		g->state_fail++;
}

/* Before the revoke snapshot of the partitions in `parts`: no new send of
 * theirs starts, and the sends already in progress get until
 * g->handover_wait seconds from now to finish, so that what they delivered
 * is a done record before the snapshot (which then no longer lists it) and
 * the next owner does not send it again. A send still in progress at the
 * bound stays in the snapshot as pending: the next owner sends it again,
 * with the same Idempotency-Key. The bound keeps a stuck destination from
 * stalling the group: the callback counts against max.poll.interval.ms
 * (60 s), which is also the rebalance timeout (docs/kafka.md). */
static void handover_wait(struct gateway_intake *g, const rd_kafka_topic_partition_list_t *parts)
{
	double t0 = clock_mono_real(), until = t0 + g->handover_wait;
	size_t inflight = 0, left = 0;
	for (int i = 0; i < parts->cnt; i++) {
		if (gateway_hold(g->gw, parts->elems[i].partition, 1) != 0)
			LOG_WARN(COMP,
				 "event=gateway_handover_hold_failed partition=%" PRId32
				 " err=\"out of memory\": a send may start during the hand-over",
				 parts->elems[i].partition);
		inflight += gateway_wait_sending(g->gw, parts->elems[i].partition, 0);
	}
	if (inflight == 0)
		return;
	LOG_INFO(COMP, "event=gateway_handover_wait partitions=%d in_flight=%zu bound_s=%.1f", parts->cnt,
		 inflight, g->handover_wait);
	for (int i = 0; i < parts->cnt; i++)
		left += gateway_wait_sending(g->gw, parts->elems[i].partition, until);
	double ms = (clock_mono_real() - t0) * 1e3;
	if (left)
		LOG_WARN(COMP,
			 "event=gateway_handover_timeout in_flight=%zu ms=%.0f: still pending in the "
			 "snapshot, "
			 "the next owner sends them again (same Idempotency-Key)",
			 left, ms);
	else
		LOG_INFO(COMP, "event=gateway_handover_done in_flight=%zu ms=%.0f", inflight, ms);
}

/* Assignments: each partition's snapshot is restored before its messages
 * flow. A revoke (a hand-over) waits, bounded, for the sends in flight of the
 * revoked partitions (handover_wait), snapshots and commits them, then
 * forgets them: their new owner continues from the snapshot. */
static void intake_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			     void *opaque)
{
	struct gateway_intake *g = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	kafka_group_note(rk, err);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++)
			restore(g, parts->elems[i].partition);
		g->assigned = 1;
		gwctl_follow(g->ctl);
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		if (e) {
			LOG_ERR(COMP, "event=gateway_rebalance_failed err=\"%s\"", rd_kafka_error_string(e));
			rd_kafka_error_destroy(e);
		}
		return;
	}
	if (!rd_kafka_assignment_lost(rk)) {
		handover_wait(g, parts);
		checkpoint(g, parts, "revoke");
		commit_safe(g, parts, 0);
	} else {
		/* another member may own them already: no snapshot, no wait */
		LOG_WARN(COMP,
			 "event=gateway_assignment_lost partitions=%d: no hand-over snapshot; the next owner "
			 "continues from the last one",
			 parts->cnt);
	}
	for (int i = 0; i < parts->cnt; i++) {
		gateway_release(g->gw, parts->elems[i].partition);
		gateway_hold(g->gw, parts->elems[i].partition, 0); /* nothing of it is left */
		gwdone_forget(g->done, parts->elems[i].partition);
		for (size_t k = 0; k < g->nparts; k++)
			if (g->parts[k].part == parts->elems[i].partition) {
				g->parts[k] = g->parts[--g->nparts];
				break;
			}
	}
	/* Forget the alert ids seen: if a partition comes back to this member
	 * from an older snapshot (its revoke snapshot missing: a lost
	 * assignment, a failed write), the alerts after that snapshot must be
	 * decided again, or what was still queued here and cancelled above is
	 * never sent. What was delivered is not sent twice (done records); the
	 * restored episodes suppress repeats. */
	hset_clear(&g->seen[0]);
	hset_clear(&g->seen[1]);
	gwctl_revoke(g->ctl, parts);
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
		/* give pending deliveries a chance; what is left goes into the
		 * partitions' last snapshots */
		size_t left = gateway_drain(g->gw, g->drain_timeout);
		if (left)
			LOG_WARN(COMP,
				 "event=gateway_stopping_with_pending pending=%zu: kept in the partitions' "
				 "snapshots for the next owner",
				 left);
	}
	if (g->rk) {
		if (g->q)
			rd_kafka_queue_destroy(g->q);
		/* the final revoke snapshots, commits and releases every partition */
		kafka_consumer_close_destroy(g->rk, "gateway");
	}
	gwctl_close(g->ctl);
	gwdone_stop(g->done); /* no more records: the producer goes */
	if (g->prod) {
		rd_kafka_flush(g->prod, 5000);
		rd_kafka_destroy(g->prod);
	}
	if (g->reader) {
		kafka_consumer_close_destroy(g->reader, "reader");
	}
	if (g->gw)
		gateway_destroy(g->gw);
	gwdone_close(g->done);
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
	struct gateway_opts go = {.env = {.kafka = c, .external_url = c->http.public_url}};
	char err[512];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (g == NULL)
		return rc;
	g->cfg = c;
	g->ctr = ctr;
	g->gen_max = 500000;
	g->drain_timeout = 10.0;
	g->handover_wait = 15.0;
	g->batch = calloc((size_t)c->batch_size, sizeof *g->batch);
	g->lat_src = calloc((size_t)c->batch_size, sizeof *g->lat_src);
	if (g->batch == NULL || g->lat_src == NULL)
		goto fail;
	char *url_key = NULL;
	if (c->http.url_key &&
	    secret_resolve(c->http.url_key, "http.url_key", c->http.where, &url_key, err, sizeof err) != 0) {
		LOG_ERR(COMP, "event=startup_failed err=\"%s\"", err);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	go.env.url_key = url_key; /* the destinations keep their own copies */
	rc = gateway_create(rs, &go, &g->gw, err, sizeof err);
	secret_free(url_key);
	if (rc != 0) {
		LOG_ERR(COMP, "event=gateway_failed err=\"%s\"", err);
		goto fail;
	}
	if ((rc = kafka_client(c, "gateway", RD_KAFKA_CONSUMER, g, intake_rebalance, NULL, &g->rk)) != 0)
		goto fail;
	if ((rc = kafka_client(c, "producer", RD_KAFKA_PRODUCER, g, NULL, intake_dr, &g->prod)) != 0 ||
	    (rc = kafka_client(c, "reader", RD_KAFKA_CONSUMER, g, NULL, NULL, &g->reader)) != 0)
		goto fail;
	for (int tries = 0;
	     kafka_partition_count(g->prod, c->gateway_state_topic, 5000, &g->state_nparts) != 0; tries++) {
		if (tries >= 5) {
			LOG_ERR(COMP,
				"event=startup_failed err=\"cannot read metadata of the gateway state topic "
				"%s\"",
				c->gateway_state_topic);
			rc = -VIGIL_EIO;
			goto fail;
		}
	}
	if (kafka_partition_count(g->prod, c->alerts_topic, 5000, &g->alerts_nparts) != 0)
		g->alerts_nparts = 0; /* asked again when needed */
	if ((rc = gwctl_open(c, g->gw, g->prod, ctr, &g->ctl)) != 0)
		goto fail;
	if ((rc = gwdone_open(c->gateway_state_topic, g->state_nparts, c->alerts_topic, g->prod, &g->done)) !=
	    0)
		goto fail;
	gateway_attach_done(g->gw, gwdone_set(g->done));
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
	if (g->cfg->dead_letter_topic == NULL)
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

/* Drop the done records a partition taken over did not use, once the member
 * has read up to the partition's end offset as first known after the
 * takeover (at or past where the previous owner was) and nothing decided
 * from the alerts is waiting (groups, outbox). */
static void done_catchup(struct gateway_intake *g)
{
	for (size_t i = 0; i < g->nparts; i++) {
		struct ipart *p = &g->parts[i];
		int64_t lo = -1, hi = -1, pos = p->next;
		if (!p->taking_over)
			continue;
		if (p->catchup_end < 0) {
			if (rd_kafka_get_watermark_offsets(g->rk, g->cfg->alerts_topic, p->part, &lo, &hi) ==
				    RD_KAFKA_RESP_ERR_NO_ERROR &&
			    hi >= 0)
				p->catchup_end = hi;
			continue;
		}
		if (pos < 0) { /* nothing read since the takeover: where the consumer is */
			rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
			if (l == NULL)
				continue;
			rd_kafka_topic_partition_list_add(l, g->cfg->alerts_topic, p->part);
			if (rd_kafka_position(g->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR)
				pos = l->elems[0].offset;
			rd_kafka_topic_partition_list_destroy(l);
		}
		if (pos < p->catchup_end || gateway_min_pending(g->gw, p->part) != INT64_MAX)
			continue;
		size_t n = gwdone_drop_unused(g->done, p->part);
		p->taking_over = 0;
		LOG_INFO(COMP,
			 "event=gateway_caught_up partition=%" PRId32 " at=%" PRId64
			 " unused_done_records=%zu",
			 p->part, pos, n);
	}
}

/* Snapshot the partitions with control records applied since their last
 * snapshot, at once: a silence or an acknowledgement must survive a kill
 * within seconds. After a failed attempt, not again for a second. */
static void checkpoint_control(struct gateway_intake *g, double now)
{
	if (now < g->next_ctl_ckpt)
		return;
	rd_kafka_topic_partition_list_t *l = NULL;
	for (size_t i = 0; i < g->nparts; i++) {
		if (!gwctl_dirty(g->ctl, g->parts[i].part))
			continue;
		if (l == NULL && (l = rd_kafka_topic_partition_list_new((int)g->nparts)) == NULL)
			return;
		rd_kafka_topic_partition_list_add(l, g->cfg->alerts_topic, g->parts[i].part);
	}
	if (l == NULL)
		return;
	if (checkpoint(g, l, "control") == 0)
		LOG_INFO(COMP, "event=control_checkpoint partitions=%d", l->cnt);
	else
		g->next_ctl_ckpt = now + 1.0;
	rd_kafka_topic_partition_list_destroy(l);
}

int gateway_intake_step(struct gateway_intake *g, int timeout_ms)
{
	/* control first: a command published before an alert is applied to it */
	int nctl = gwctl_poll(g->ctl, 100);
	ssize_t n = kafka_consume_some(g->q, nctl > 0 ? 0 : timeout_ms, g->batch, (size_t)g->cfg->batch_size);
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
	checkpoint_control(g, now);
	if (now >= g->next_ckpt) {
		uint64_t act = activity(g->gw);
		if (act != g->changes && checkpoint(g, NULL, "interval") == 0)
			g->changes = act;
		g->next_ckpt = now + g->cfg->checkpoint_interval;
	}
	if (now >= g->next_commit) {
		done_catchup(g);
		commit_safe(g, NULL, 1);
		g->next_commit = now + 1.0;
	}
	return n > 0 ? (int)n : 0;
}

struct gateway *gateway_intake_gateway(struct gateway_intake *g)
{
	return g->gw;
}

int gateway_intake_owner_part(struct gateway_intake *g, const char *owner, int32_t *part)
{
	*part = -1;
	if (g->alerts_nparts <= 0 &&
	    kafka_partition_count(g->prod, g->cfg->alerts_topic, 2000, &g->alerts_nparts) != 0)
		g->alerts_nparts = 0;
	if (g->alerts_nparts <= 0)
		return -VIGIL_EAGAIN;
	*part = rd_kafka_msg_partitioner_consistent_random(NULL, owner, strlen(owner), g->alerts_nparts, NULL,
							   NULL);
	for (size_t i = 0; i < g->nparts; i++)
		if (g->parts[i].part == *part)
			return 0;
	return -VIGIL_ENOENT;
}

int gateway_intake_ready(const struct gateway_intake *g)
{
	return g->assigned;
}
