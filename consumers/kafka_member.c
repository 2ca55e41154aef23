/* The Kafka member (consumer.h): partitions and their engines and decoder
 * streams, the processing of input messages (poison to the dead-letter
 * topic, gap repair, skip-ahead after a restore), alert publication, and
 * open/close. Durable state: consumers/kafka_member_state.c. Invariants:
 * consumers/kafka_member.h.
 * @thread one thread owns the member and every handle in it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/kafka_member.h"
#include "consumers/kafka_txn.h"
#include "core/clock.h"
#include "sinks/alert_topic.h"

struct kpart *part_find(struct kc *kc, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < kc->nparts; i++)
		if (kc->parts[i]->partition == partition && strcmp(kc->parts[i]->topic, topic) == 0)
			return kc->parts[i];
	return NULL;
}

static void part_free(struct kpart *p)
{
	if (p == NULL)
		return;
	if (p->eng)
		engine_destroy(p->eng);
	if (p->dec)
		decoder_close(p->dec);
	hset_clear(&p->sup);
	free(p->topic);
	free(p);
}

void part_drop(struct kc *kc, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < kc->nparts; i++) {
		struct kpart *p = kc->parts[i];
		if (p->partition == partition && strcmp(p->topic, topic) == 0) {
			if (p->eng) {
				struct engine_stats st;
				engine_get_stats(p->eng, &st);
				kc->points_retired += st.points;
				kc->alloc_failed_retired += st.alloc_failed;
				kc->future_retired += st.future;
				kc->skewed_retired += st.skewed;
				kc->ooo_retired += st.out_of_order;
				timing_add(kc->det_time_retired, st.det_time);
			}
			if (kc->hot == p)
				kc->hot = NULL;
			part_free(p);
			kc->parts[i] = kc->parts[--kc->nparts];
			return;
		}
	}
}

static int on_alert(void *ctx, const struct alert_event *ev);

int part_add(struct kc *kc, const char *topic, int32_t partition)
{
	struct engine_opts eo = {0};
	char err[512];
	struct kpart *p;

	if (part_find(kc, topic, partition))
		return 0;
	if (kc->nparts == kc->capparts) {
		size_t nc = kc->capparts ? kc->capparts * 2 : 16;
		struct kpart **np = realloc(kc->parts, nc * sizeof *np);
		if (np == NULL)
			return -VIGIL_ENOMEM;
		kc->parts = np;
		kc->capparts = nc;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->topic = strdup(topic)) == NULL) {
		free(p);
		return -VIGIL_ENOMEM;
	}
	p->kc = kc;
	p->partition = partition;
	p->next = -1;
	p->ckpt_next = -1;
	p->committed = -1;
	p->first_unrestored = -1;
	p->sup_max = -1;
	p->seek_to = -1;
	p->cur_ts_ms = -1;
	snprintf(p->source, sizeof p->source, "%s/%" PRId32, topic, partition);
	for (size_t i = 0; i < kc->cfg->ntopics; i++)
		if (strcmp(kc->cfg->topics[i], topic) == 0)
			p->topic_idx = (int)i;
	eo.rs = kc->rs;
	eo.max_series = kc->cfg->max_series;
	eo.max_future = kc->cfg->max_future;
	eo.max_skew = kc->cfg->max_skew;
	eo.budget = &kc->budget;
	eo.window = kc->cfg->chart_points < 0 ? ENGINE_WINDOW_DEFAULT : (uint32_t)kc->cfg->chart_points;
	eo.on_alert = on_alert;
	eo.alert_ctx = p;
	struct decoder_opts dopts = {.default_series = kc->cfg->default_series,
				     .collectd_raw = kc->cfg->collectd_raw};
	int rc = decoder_open(kc->cfg->format, &dopts, &p->dec, err, sizeof err);
	if (rc == 0)
		rc = engine_create(&eo, &p->eng, err, sizeof err);
	if (rc) {
		LOG_ERR(COMP, "event=engine_create_failed partition=%s err=\"%s\"", p->source, err);
		part_free(p);
		return rc;
	}
	kc->parts[kc->nparts++] = p;
	kc->pending_restore = 1;
	return 0;
}

/* ---- producing ---- */

/* Delivery reports of the member's producer: failures are counted per
 * kind (checkpoints wait for a clean flush); an alert counts as published,
 * and is logged, only when the broker confirmed it. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kc *kc = opaque;
	(void)rk;
	uintptr_t kind = (uintptr_t)m->_private;
	if (kind >= KAFKA_MSG_KINDS)
		kind = 0;
	if (m->err == 0) {
		if (kind == KAFKA_MSG_ALERT) {
			char id[640] = "-", fp[32] = "-";
			kafka_header_str(m, ALERT_HDR_ID, id, sizeof id);
			kafka_header_str(m, ALERT_HDR_FP, fp, sizeof fp);
			kc->ctr->alerts_published++;
			if (kc->txn)
				txn_note_alert(kc, m->partition, m->offset);
			LOG_INFO(COMP,
				 "event=alert_published alert_id=%s fingerprint=%s partition=%" PRId32
				 " offset=%" PRId64,
				 id, fp, m->partition, m->offset);
		}
		return;
	}
	kc->dr_fail[kind]++;
	if (kind == KAFKA_MSG_ALERT)
		kc->ctr->alerts_failed++;
	if (complain_due(&kc->dr_complain, clock_mono(), 10, 5))
		LOG_ERR(COMP, "event=delivery_failed kind=%u topic=%s err=\"%s\"", (unsigned)kind,
			m->rkt ? rd_kafka_topic_name(m->rkt) : "-", rd_kafka_err2str(m->err));
}

/* The engine's alert callback: publish to the alerts topic unless a
 * restore found the same alert there already. */
static int on_alert(void *ctx, const struct alert_event *ev)
{
	struct kpart *p = ctx;
	struct kc *kc = p->kc;
	char id[640], fp[17];
	struct alert_origin o = {p->topic, p->partition, p->source, p->cur_ts_ms};

	alert_topic_id(&o, ev, id, sizeof id);
	alert_fingerprint(ev, fp);
	if (p->sup.n && ev->pos <= p->sup_max && hset_has(&p->sup, alert_topic_key(id, fp))) {
		kc->ctr->alerts_suppressed++;
		LOG_DBG(COMP, "event=alert_suppressed alert_id=%s fingerprint=%s", id, fp);
		return 0;
	}
	int rc = alert_topic_publish(kc->prod, kc->cfg->alerts_topic, ev, &o, id, fp,
				     (void *)(uintptr_t)KAFKA_MSG_ALERT);
	if (rc == 0)
		LOG_DBG(COMP, "event=alert_queued alert_id=%s fingerprint=%s status=%s", id, fp,
			ev->status == ALERT_RESOLVED ? "resolved" : "firing");
	return rc;
}

/* A record the decoder refused (err: its message): counted, logged with
 * topic/partition/offset, and copied to the dead-letter topic with the
 * error and origin as headers and its original key. */
static void poison(struct kc *kc, struct kpart *p, const rd_kafka_message_t *m, const char *rec, size_t len,
		   const char *err)
{
	kc->ctr->poison++;
	if (complain_due(&kc->poison_complain, clock_mono(), 10, 5))
		LOG_WARN(COMP,
			 "event=poison topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\" total=%" PRIu64,
			 p->topic, p->partition, m->offset, err, kc->ctr->poison);
	if (kc->cfg->dead_letter_topic == NULL)
		return;
	rd_kafka_headers_t *h =
		kafka_dead_letter_headers(kc->prod, err, p->source, p->topic, p->partition, m->offset, &len);
	/* the original key as it was, any length; none stays none */
	if (kafka_produce(kc->prod, kc->cfg->dead_letter_topic, m->key, m->key_len, rec, len, h,
			  (void *)(uintptr_t)KAFKA_MSG_DLQ) == 0)
		kc->ctr->dead_lettered++;
	rd_kafka_headers_destroy(h);
}

/* The decoder's point callback: the split-series check, then the engine. */
static int member_emit(void *ctx, const struct point *pt)
{
	struct kpart *p = ctx;
	split_note(p->kc, p, pt);
	engine_point(p->eng, pt, p->source, p->cur_offset);
	return 0;
}

/* One line of the record at p->cur_offset through p's decoder stream into
 * its engine (all-or-nothing like feed_record: a bad line reaches the
 * engine only as engine_note_reject). 0 or -VIGIL_EINVAL with err. */
static int member_feed(struct kpart *p, const char *rec, size_t len, char *err, size_t errlen)
{
	if (decoder_feed(p->dec, rec, len, member_emit, p, err, errlen) != 0) {
		engine_note_reject(p->eng, p->source, p->cur_offset, err);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static void process(struct kc *kc, rd_kafka_message_t *m)
{
	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			LOG_WARN(COMP, "event=consume_error topic=%s partition=%" PRId32 " err=\"%s\"",
				 m->rkt ? rd_kafka_topic_name(m->rkt) : "-", m->partition,
				 rd_kafka_message_errstr(m));
		return;
	}
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct kpart *p = kc->hot;
	if (p == NULL || m->partition != p->partition || strcmp(topic, p->topic) != 0)
		p = kc->hot = part_find(kc, topic, m->partition);
	if (p == NULL || !p->restored) {
		kc->ctr->dropped_unowned++;
		if (p && (p->first_unrestored < 0 || m->offset < p->first_unrestored))
			p->first_unrestored = m->offset;
		return;
	}
	if (m->offset < p->next) {
		/* Already processed (covered by the restored checkpoint): the group's
		 * committed offset is behind it because the previous owner died, or
		 * there was none. When more than a batch behind, skip ahead once
		 * instead of fetching everything: this batch then holds nothing of
		 * this partition at or beyond `next`, so processing cannot run past
		 * the seek target before the seek lands (it would rewind). */
		kc->ctr->dropped_done++;
		if (!p->skipped && p->next - m->offset > kc->cfg->batch_size) {
			p->skipped = 1;
			rd_kafka_resp_err_t e = rd_kafka_seek(m->rkt, m->partition, p->next, 0);
			LOG_INFO(COMP,
				 "event=skip_ahead partition=%s from=%" PRId64 " to=%" PRId64 " seek=%s",
				 p->source, m->offset, p->next, e ? rd_kafka_err2str(e) : "ok");
			p->seek_to = p->next;
			p->seek_at = clock_mono();
		}
		return;
	}
	/* Gap repair: librdkafka 2.0.2's batch API can skip offsets of retained
	 * partitions across a cooperative rebalance (#4208, fixed in 2.1.0). A
	 * message beyond `next` triggers an asynchronous seek back to `next`;
	 * until `next` itself arrives, later messages are dropped. A gap that
	 * persists for 3 s after the seek is real (transaction markers,
	 * retention) and is accepted. */
	if (p->next >= 0 && m->offset > p->next) {
		double now = clock_mono();
		if (p->seek_to != p->next) {
			rd_kafka_resp_err_t e = rd_kafka_seek(m->rkt, m->partition, p->next, 0);
			kc->ctr->gaps++;
			LOG_WARN(COMP,
				 "event=offset_gap partition=%s expected=%" PRId64 " got=%" PRId64 " seek=%s",
				 p->source, p->next, m->offset, e ? rd_kafka_err2str(e) : "ok");
			p->seek_to = p->next;
			p->seek_at = now;
			return;
		}
		if (now < p->seek_at + 3.0)
			return;
		LOG_WARN(COMP, "event=offset_gap_accepted partition=%s expected=%" PRId64 " got=%" PRId64,
			 p->source, p->next, m->offset);
	}
	p->seek_to = -1;
	const char *s = m->payload, *end = s ? s + m->len : NULL;
	int any = 0;
	char err[512];
	p->cur_offset = m->offset;
	p->cur_ts_ms = rd_kafka_message_timestamp(m, NULL);
	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		size_t len = (size_t)(e - s);
		if (len && s[len - 1] == '\r')
			len--;
		if (len > 0) {
			any = 1;
			if (member_feed(p, s, len, err, sizeof err) != 0)
				poison(kc, p, m, s, len, err);
		}
		s = nl ? nl + 1 : end;
	}
	if (!any)
		poison(kc, p, m, "", 0, "empty message");
	kc->ctr->records++;
	p->next = m->offset + 1;
	p->dirty = 1;
}

/* Refresh the gauges: lag (in all and per partition), points and the
 * detectors' sampled update time. */
static size_t update_gauges(struct kc *kc)
{
	int64_t lag = 0;
	uint64_t points = kc->points_retired, lost = kc->alloc_failed_retired, future = kc->future_retired;
	uint64_t ooo = kc->ooo_retired, skewed = kc->skewed_retired;
	struct kafka_counters *c = kc->ctr;
	memcpy(c->det_time, kc->det_time_retired, sizeof c->det_time);
	c->npart_lag = 0;
	for (size_t i = 0; i < kc->nparts; i++) {
		struct kpart *p = kc->parts[i];
		struct engine_stats st;
		engine_get_stats(p->eng, &st);
		points += st.points;
		lost += st.alloc_failed;
		future += st.future;
		skewed += st.skewed;
		ooo += st.out_of_order;
		timing_add(c->det_time, st.det_time);
		int64_t lo, hi, plag = -1;
		if (rd_kafka_get_watermark_offsets(kc->rk, p->topic, p->partition, &lo, &hi) == 0 &&
		    hi >= 0) {
			int64_t from = p->next >= 0 ? p->next : lo;
			plag = hi > from ? hi - from : 0;
			lag += plag;
		}
		if (c->npart_lag < KAFKA_LAG_PARTS) {
			struct kafka_part_lag *pl = &c->part_lag[c->npart_lag++];
			snprintf(pl->topic, sizeof pl->topic, "%s", p->topic);
			pl->partition = p->partition;
			pl->lag = plag;
		}
	}
	c->lag = lag;
	c->points = points;
	c->alloc_failed = lost;
	c->future = future;
	c->skewed = skewed;
	c->out_of_order = ooo;
	return kc->nparts;
}

/* ---- member open/close ---- */

static void kc_close(struct kc *kc)
{
	if (kc == NULL)
		return;
	repart_close(kc->repart); /* its routed points acknowledged and committed first */
	if (kc->rk) {
		if (kc->q)
			rd_kafka_queue_destroy(kc->q);
		if (txn_fatal(kc)) {
			/* fenced: no final revoke/commit (a fenced consumer's close
			 * was seen to hang for minutes on 2.0.2) */
			rd_kafka_destroy_flags(kc->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
		} else {
			kafka_consumer_close_destroy(kc->rk, "consumer");
		}
	}
	while (kc->nparts)
		part_drop(kc, kc->parts[0]->topic, kc->parts[0]->partition);
	free(kc->parts);
	if (kc->prod)
		txn_close(kc);
	if (kc->prod) {
		if (rd_kafka_flush(kc->prod, 10000) || rd_kafka_outq_len(kc->prod) > 0)
			LOG_ERR(COMP, "event=close_unflushed messages=%d", rd_kafka_outq_len(kc->prod));
		rd_kafka_destroy(kc->prod);
	}
	if (kc->reader) {
		kafka_consumer_close_destroy(kc->reader, "reader");
	}
	split_fini(&kc->split);
	free(kc->batch);
	free(kc);
}

/* The partition count of topic (what: "input", "state", "alerts") at
 * start-up: tries for up to STARTUP_METADATA_S, serving the producer's
 * error events between tries. Returns 0, -VIGIL_EIO when the metadata
 * cannot be read (or a client failed to authenticate: the error says so,
 * naming the user, never the password) or -VIGIL_EAGAIN on a stop request;
 * failures are logged. */
#define STARTUP_METADATA_S 30.0
static int startup_count(struct kc *kc, const char *topic, const char *what, int32_t *n)
{
	double end = clock_mono() + STARTUP_METADATA_S;
	for (;;) {
		if (kafka_partition_count(kc->prod, topic, 1000, n) == 0)
			return 0;
		rd_kafka_poll(kc->prod, 200); /* error events; and no busy loop on a fast failure */
		if (kafka_auth_failed()) {
			const char *u = kafka_cfg_prop(kc->cfg, "sasl.username");
			LOG_ERR(COMP,
				"event=startup_failed err=\"authentication failed (security.protocol=%s"
				" sasl.username=%s): check the credentials and the broker's listeners\"",
				kafka_cfg_prop(kc->cfg, "security.protocol")
					? kafka_cfg_prop(kc->cfg, "security.protocol")
					: "plaintext",
				u ? u : "-");
			return -VIGIL_EIO;
		}
		if (kc->stop && *kc->stop)
			return -VIGIL_EAGAIN;
		if (clock_mono() > end) {
			LOG_ERR(COMP,
				"event=startup_failed err=\"cannot read metadata of %s topic %s in %.0f s\"",
				what, topic, STARTUP_METADATA_S);
			return -VIGIL_EIO;
		}
	}
}

/* The state topic must have as many partitions as every input topic: input
 * partition p checkpoints to state partition p, and a different count would
 * put several input partitions' snapshots on one state partition (or leave
 * state partitions unused) and break the co-partitioning that the restore
 * and compaction rely on. Returns 0, -VIGIL_EINVAL (logged, naming both
 * topics and counts) or -VIGIL_EIO when metadata cannot be read. */
static int check_copartitioned(struct kc *kc)
{
	const struct kafka_cfg *c = kc->cfg;
	for (size_t i = 0; i < c->ntopics; i++) {
		int32_t n = -1;
		int rc = startup_count(kc, c->topics[i], "input", &n);
		if (rc)
			return rc;
		if (n != kc->state_nparts) {
			LOG_ERR(COMP,
				"event=startup_failed err=\"state topic %s has %" PRId32
				" partitions, input topic %s has %" PRId32
				": they must be co-partitioned; create %s with %" PRId32 " partitions\"",
				c->state_topic, kc->state_nparts, c->topics[i], n, c->state_topic, n);
			return -VIGIL_EINVAL;
		}
	}
	return 0;
}

static int kc_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
		   volatile sig_atomic_t *stop, struct kc **out)
{
	struct kc *kc = calloc(1, sizeof *kc);
	struct decoder *probe;
	struct decoder_opts dopts = {.default_series = c->default_series, .collectd_raw = c->collectd_raw};
	char err[512];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (kc == NULL)
		return rc;
	kc->cfg = c;
	kc->budget.limit = c->max_memory < 0 ? engine_default_budget() : (size_t)c->max_memory;
	kc->rs = rs;
	kc->ctr = ctr;
	kc->stop = stop;
	kc->batch = calloc((size_t)c->batch_size, sizeof *kc->batch);
	if (kc->batch == NULL)
		goto fail;
	/* refuse an unknown format at start-up, not at the first partition */
	if (decoder_open(c->format, &dopts, &probe, err, sizeof err) != 0) {
		LOG_ERR(COMP, "event=config_error where=%s err=\"input.format: %s\"",
			c->format_where ? c->format_where : "-", err);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	decoder_close(probe);
	if ((rc = kafka_client(c, c->exactly_once ? "txn" : "producer", RD_KAFKA_PRODUCER, kc, NULL, dr_cb,
			       &kc->prod)) != 0 ||
	    (rc = kafka_client(c, "reader", RD_KAFKA_CONSUMER, kc, NULL, NULL, &kc->reader)) != 0 ||
	    (rc = kafka_client(c, "consumer", RD_KAFKA_CONSUMER, kc, member_rebalance_cb, NULL, &kc->rk)) !=
		    0)
		goto fail;
	if ((rc = startup_count(kc, c->alerts_topic, "alerts", &kc->alert_nparts)) != 0 ||
	    (rc = startup_count(kc, c->state_topic, "state", &kc->state_nparts)) != 0 ||
	    (c->keyed_none && (rc = repart_open(c, kc->state_nparts, ctr, stop, &kc->repart)) != 0) ||
	    (rc = check_copartitioned(kc)) != 0 || (c->exactly_once && (rc = txn_open(kc)) != 0))
		goto fail;
	rd_kafka_poll_set_consumer(kc->rk);
	kc->q = rd_kafka_queue_get_consumer(kc->rk);
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)c->ntopics);
	for (size_t i = 0; i < c->ntopics; i++)
		rd_kafka_topic_partition_list_add(subs, c->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(kc->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e) {
		LOG_ERR(COMP, "event=subscribe_failed err=\"%s\"", rd_kafka_err2str(e));
		rc = -VIGIL_EIO;
		goto fail;
	}
	LOG_INFO(COMP,
		 "event=member_started topics=%zu state_topic=%s(%" PRId32 ") alerts_topic=%s(%" PRId32 ")",
		 c->ntopics, c->state_topic, kc->state_nparts, c->alerts_topic, kc->alert_nparts);
	*out = kc;
	return 0;
fail:
	kc_close(kc);
	return rc;
}

/* One poll of the member: a batch, restores, processing. */
static int kc_step(void *self, int timeout_ms, int *done)
{
	struct kc *kc = self;
	if (kc->repart) /* the router's input and the engines' share the wait */
		timeout_ms = repart_step(kc->repart, timeout_ms / 2) > 0 ? 0 : timeout_ms / 2;
	ssize_t n = kafka_consume_some(kc->q, timeout_ms, kc->batch, (size_t)kc->cfg->batch_size);
	*done = 0;
	if (n < 0)
		LOG_WARN(COMP, "event=consume_failed err=\"%s\"", rd_kafka_err2str(rd_kafka_last_error()));
	/* exactly_once: after the consume call (a revoke inside it commits) */
	if (kc->txn && txn_begin(kc) != 0)
		return -VIGIL_EIO; /* fenced: logged */
	member_restore_pending(kc, kc->stop ? kc->stop : &kc->no_stop);
	uint64_t before = kc->ctr->records;
	double t0 = n > 0 && kc->ctr->first_record_at <= 0 ? clock_wall() : 0;
	for (ssize_t i = 0; i < n; i++) {
		process(kc, kc->batch[i]);
		rd_kafka_message_destroy(kc->batch[i]);
	}
	if (kc->ctr->records != before) {
		kc->ctr->last_record_at = clock_wall();
		if (kc->ctr->first_record_at <= 0)
			kc->ctr->first_record_at = t0;
	}
	rd_kafka_poll(kc->prod, 0);
	if (txn_fatal(kc))
		return -VIGIL_EIO;
	return (int)(kc->ctr->records - before);
}

/* Checkpoint when the interval is due. */
static void kc_tick(void *self, double now)
{
	struct kc *kc = self;
	if (now >= kc->next_ckpt) {
		if (kc->txn)
			txn_commit(kc, "interval");
		else
			member_checkpoint(kc, NULL, "interval");
		kc->next_ckpt = now + kc->cfg->checkpoint_interval;
	}
}

/* The final checkpoint (a few tries while acknowledgements are slow). */
static int kc_finish(void *self)
{
	struct kc *kc = self;
	int tries = 0, rc;
	if (kc->txn) /* after an abort the rolled-back partitions have nothing left to commit */
		rc = txn_commit(kc, "shutdown");
	else
		while ((rc = member_checkpoint(kc, NULL, "shutdown")) == -VIGIL_EAGAIN && tries++ < 3)
			;
	update_gauges(kc);
	return rc;
}

static void kc_free(void *self)
{
	kc_close(self);
}

static const struct consumer_ops kafka_ops = {
	.name = "kafka",
	.step = kc_step,
	.tick = kc_tick,
	.finish = kc_finish,
	.close = kc_free,
};

int consumer_kafka_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
			volatile sig_atomic_t *stop, struct consumer *out)
{
	struct kc *kc;
	int rc = kc_open(c, rs, ctr, stop, &kc);
	if (rc)
		return rc;
	kc->next_ckpt = clock_mono() + c->checkpoint_interval;
	out->ops = &kafka_ops;
	out->self = kc;
	return 0;
}

size_t consumer_kafka_gauges(const struct consumer *c)
{
	return update_gauges(c->self);
}

int consumer_kafka_ready(const struct consumer *c)
{
	const struct kc *kc = c->self;
	return kc->ctr->rebalances > 0 && !kc->pending_restore;
}
