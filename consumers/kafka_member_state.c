/* The Kafka member's durable side: checkpoints of each owned partition to
 * the state topic, commits of the offsets they cover, the rebalance
 * callback, and restores (checkpoint + the alerts already published). See
 * the invariants in consumers/kafka_member.h.
 * @thread the member's thread (the rebalance callback runs inside its poll). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/kafka_member.h"
#include "consumers/kafka_txn.h"
#include "core/clock.h"
#include "core/hash.h"
#include "sinks/alert_topic.h"

int part_snapshot(struct kc *kc, struct kpart *p, int32_t nalert, int64_t *hwm, struct kafka_ckpt_ref *ref,
		  size_t *bytes)
{
	struct buf b = {0};
	struct kafka_ckpt k = {
		.next = p->next, .nalert_parts = nalert, .alert_hwm = hwm, .per_snapshot_keys = 1};
	int rc = engine_save(p->eng, &b);
	if (rc == 0 && !buf_ok(&b))
		rc = -VIGIL_ENOMEM;
	if (rc == 0) {
		k.blob = b.data;
		k.bloblen = b.len;
		rc = kafka_ckpt_write(kc->prod, kc->cfg->state_topic, p->partition % kc->state_nparts,
				      p->topic, p->partition, &k, bytes);
	}
	buf_free(&b);
	if (rc == 0)
		*ref = k.ref;
	return rc;
}

/* ---- checkpoints and commits ---- */

static int in_list(const rd_kafka_topic_partition_list_t *l, const struct kpart *p)
{
	if (l == NULL)
		return 1;
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].partition == p->partition && strcmp(l->elems[i].topic, p->topic) == 0)
			return 1;
	return 0;
}

/* Flush the producer; 0 when everything queued so far was acknowledged and
 * no delivery failed since `fail_before`. */
static int flush_ok(struct kc *kc, int kind, uint64_t fail_before)
{
	rd_kafka_resp_err_t e = rd_kafka_flush(kc->prod, FLUSH_MS);
	if (e || rd_kafka_outq_len(kc->prod) > 0)
		return -VIGIL_EAGAIN;
	return kc->dr_fail[kind] == fail_before ? 0 : -VIGIL_EIO;
}

/* No commit here: see commit_covered. */
int member_checkpoint(struct kc *kc, const rd_kafka_topic_partition_list_t *only, const char *why)
{
	struct kpart *todo[1024];
	struct kafka_ckpt_ref refs[1024]; /* of the snapshots written now */
	size_t n = 0;
	int64_t *hwm = NULL;
	int rc = 0;
	double t0 = clock_mono();

	for (size_t i = 0; i < kc->nparts && n < VIGIL_ARRAY_LEN(todo); i++) {
		struct kpart *p = kc->parts[i];
		if (p->restored && p->next >= 0 && p->next != p->ckpt_next && in_list(only, p))
			todo[n++] = p;
	}
	if (n == 0)
		return 0;
	/* 1. every alert of the inputs below next is acknowledged */
	rc = flush_ok(kc, KAFKA_MSG_ALERT, kc->dr_fail[KAFKA_MSG_ALERT]);
	if (rc == -VIGIL_EAGAIN)
		goto skip;
	/* 2. the alerts topic high watermarks after those alerts */
	hwm = calloc((size_t)kc->alert_nparts, sizeof *hwm);
	if (hwm == NULL) {
		rc = -VIGIL_ENOMEM;
		goto skip;
	}
	for (int32_t i = 0; i < kc->alert_nparts; i++) {
		int64_t lo;
		if (rd_kafka_query_watermark_offsets(kc->prod, kc->cfg->alerts_topic, i, &lo, &hwm[i],
						     FLUSH_MS)) {
			rc = -VIGIL_EAGAIN;
			goto skip;
		}
	}
	/* 3. the snapshots */
	uint64_t state_fail = kc->dr_fail[KAFKA_MSG_STATE];
	size_t bytes_total = 0;
	for (size_t i = 0; i < n; i++) {
		struct kpart *p = todo[i];
		struct kafka_ckpt_ref ref;
		size_t bytes = 0;
		rc = part_snapshot(kc, p, kc->alert_nparts, hwm, &ref, &bytes);
		if (rc == -VIGIL_ELIMIT)
			LOG_ERR(COMP,
				"event=checkpoint_too_large partition=%s limit=%u: state does not fit the "
				"state topic retention; not committing this partition",
				p->source, KAFKA_CKPT_MAX);
		if (rc) {
			todo[i] = NULL;
			rc = 0;
			continue;
		}
		refs[i] = ref;
		bytes_total += bytes;
	}
	/* 4. the snapshots are durable */
	rc = flush_ok(kc, KAFKA_MSG_STATE, state_fail);
	if (rc)
		goto skip;
	/* 5. they are what a new owner restores */
	for (size_t i = 0; i < n; i++) {
		struct kpart *p = todo[i];
		if (p == NULL)
			continue;
		p->ckpt_next = p->next;
		/* 6. the snapshot it replaces can go (a compacted state topic
		 * then keeps one snapshot per partition); a failed retire only
		 * leaves it to the next restore's cleanup */
		if (p->have_ref)
			kafka_ckpt_retire(kc->prod, kc->cfg->state_topic, p->partition % kc->state_nparts,
					  p->topic, p->partition, &p->ckpt_ref);
		p->ckpt_ref = refs[i];
		p->have_ref = 1;
	}
	kc->ctr->checkpoints++;
	kc->ctr->last_checkpoint_at = clock_wall();
	kc->ctr->state_bytes = bytes_total;
	LOG_DBG(COMP, "event=checkpoint why=%s partitions=%zu bytes=%zu ms=%.1f", why, n, bytes_total,
		(clock_mono() - t0) * 1e3);
	free(hwm);
	return 0;
skip:
	kc->ctr->checkpoint_skipped++;
	if (complain_due(&kc->ckpt_complain, clock_mono(), 10, 3))
		LOG_WARN(COMP, "event=checkpoint_skipped why=%s err=\"%s\" queued=%d", why,
			 rc == -VIGIL_EAGAIN ? "broker did not acknowledge in time" : vigil_strerror(rc),
			 rd_kafka_outq_len(kc->prod));
	free(hwm);
	return rc;
}

/* Commit, for the partitions in `only`, the offsets their durable
 * checkpoints cover (never more). Called only from the revoke callback: the
 * generation is current there and this member cannot rejoin before the
 * callback returns, so the commit cannot meet #4059 (see the top of the
 * file). A failure is logged and harmless: the committed offset is only
 * where a new owner starts fetching; it restores `next` from the checkpoint
 * and skips forward. */
static void commit_covered(struct kc *kc, const rd_kafka_topic_partition_list_t *only, const char *why)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(only ? only->cnt : 1);
	if (l == NULL)
		return;
	for (size_t i = 0; i < kc->nparts; i++) {
		struct kpart *p = kc->parts[i];
		if (p->restored && p->ckpt_next >= 0 && p->ckpt_next != p->committed && in_list(only, p))
			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->ckpt_next;
	}
	if (l->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_commit(kc->rk, l, 0);
		if (e)
			LOG_WARN(COMP,
				 "event=commit_failed why=%s err=\"%s\" (checkpoints are durable; the "
				 "committed offset is only a hint)",
				 why, rd_kafka_err2str(e));
		for (int i = 0; e == 0 && i < l->cnt; i++) {
			struct kpart *p = part_find(kc, l->elems[i].topic, l->elems[i].partition);
			if (p)
				p->committed = l->elems[i].offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* ---- rebalance ---- */

void member_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct kc *kc = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	rd_kafka_resp_err_t ae = 0;

	kafka_group_note(rk, err);
	kc->ctr->rebalances++;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++) {
			if (part_add(kc, parts->elems[i].topic, parts->elems[i].partition) != 0)
				LOG_ERR(COMP, "event=assign_failed topic=%s partition=%" PRId32,
					parts->elems[i].topic, parts->elems[i].partition);
			kc->ctr->assigned++;
			LOG_INFO(COMP, "event=assigned partition=%s/%" PRId32 " protocol=%s",
				 parts->elems[i].topic, parts->elems[i].partition,
				 coop ? "cooperative" : "eager");
		}
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			ae = rd_kafka_assign(rk, parts);
	} else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		int lost = rd_kafka_assignment_lost(rk);
		if (kc->txn) {
			/* exactly_once: commit everything now (a failure rolls back), or
			 * abort when the partitions may already be another member's */
			if (lost)
				txn_abort(kc, "lost");
			else
				txn_commit(kc, "revoke");
		} else if (!lost) {
			member_checkpoint(kc, parts, "revoke");
			commit_covered(kc, parts, "revoke");
		}
		for (int i = 0; i < parts->cnt; i++) {
			LOG_INFO(COMP, "event=%s partition=%s/%" PRId32, lost ? "lost" : "revoked",
				 parts->elems[i].topic, parts->elems[i].partition);
			part_drop(kc, parts->elems[i].topic, parts->elems[i].partition);
		}
		if (lost)
			kc->ctr->lost += (uint64_t)parts->cnt;
		else
			kc->ctr->revoked += (uint64_t)parts->cnt;
		if (coop)
			e = rd_kafka_incremental_unassign(rk, parts);
		else
			ae = rd_kafka_assign(rk, NULL);
	} else {
		LOG_ERR(COMP, "event=rebalance_error err=\"%s\"", rd_kafka_err2str(err));
		if (kc->txn)
			txn_abort(kc, "rebalance_error");
		while (kc->nparts)
			part_drop(kc, kc->parts[0]->topic, kc->parts[0]->partition);
		ae = rd_kafka_assign(rk, NULL);
	}
	if (e) {
		LOG_ERR(COMP, "event=rebalance_failed err=\"%s\"", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
	if (ae)
		LOG_ERR(COMP, "event=rebalance_failed err=\"%s\"", rd_kafka_err2str(ae));
}

/* ---- restore ---- */

struct sup_scan {
	struct kpart *p;
	uint64_t n;
};

static void sup_scan_msg(void *ctx, const rd_kafka_message_t *m)
{
	struct sup_scan *s = ctx;
	char src[320], id[640], fp[32], off[32];
	if (m->err || kafka_header_str(m, ALERT_HDR_SRC, src, sizeof src) != 0 ||
	    strcmp(src, s->p->source) != 0)
		return;
	if (kafka_header_str(m, ALERT_HDR_ID, id, sizeof id) != 0 ||
	    kafka_header_str(m, ALERT_HDR_FP, fp, sizeof fp) != 0 ||
	    kafka_header_str(m, ALERT_HDR_OFFSET, off, sizeof off) != 0)
		return;
	int64_t o = strtoll(off, NULL, 10);
	if (hset_add(&s->p->sup, alert_topic_key(id, fp)) == 0) {
		s->n++;
		if (o > s->p->sup_max)
			s->p->sup_max = o;
	}
}

static int restore_part(struct kc *kc, struct kpart *p, volatile sig_atomic_t *stop)
{
	struct kafka_ckpt k;
	int found = 0, rc, truncated = 0;
	double t0 = clock_mono();
	struct sup_scan ss = {p, 0};

	rc = kafka_ckpt_read(kc->reader, kc->cfg->state_topic, p->partition % kc->state_nparts, p->topic,
			     p->partition, RESTORE_TIMEOUT_MS, stop, &k, &found);
	if (rc)
		return rc;
	if (found) {
		rc = engine_load(p->eng, k.blob, k.bloblen);
		if (rc)
			LOG_ERR(COMP,
				"event=restore_failed partition=%s err=\"%s\": starting this partition fresh "
				"at %" PRId64,
				p->source, vigil_strerror(rc), k.next);
		p->next = k.next;
		p->ckpt_next = k.next;
		p->ckpt_ref = k.ref;
		p->have_ref = 1;
	}
	/* older and partial snapshots of this partition (a previous owner died
	 * before retiring them) */
	for (size_t i = 0; i < k.nstale; i++)
		kafka_ckpt_retire(kc->prod, kc->cfg->state_topic, p->partition % kc->state_nparts, p->topic,
				  p->partition, &k.stale[i]);
	if (k.nstale)
		LOG_INFO(COMP, "event=snapshots_retired partition=%s count=%zu", p->source, k.nstale);
	for (int32_t i = 0; i < kc->alert_nparts; i++) {
		int64_t from = found && i < k.nalert_parts ? k.alert_hwm[i] : -1;
		rc = kafka_scan_partition(kc->reader, kc->cfg->alerts_topic, i, from, RESTORE_TIMEOUT_MS,
					  stop, sup_scan_msg, &ss, &truncated);
		if (rc) {
			kafka_ckpt_free(&k);
			hset_clear(&p->sup);
			p->sup_max = -1;
			return rc;
		}
		if (truncated)
			LOG_ERR(COMP,
				"event=alerts_truncated partition=%s alerts_partition=%" PRId32
				": the alerts topic lost records newer than the checkpoint; duplicates "
				"possible",
				p->source, i);
	}
	double ms = (clock_mono() - t0) * 1e3;
	kc->ctr->restores++;
	kc->ctr->restore_ms_total += ms;
	if (ms > kc->ctr->restore_ms_max)
		kc->ctr->restore_ms_max = ms;
	LOG_INFO(COMP,
		 "event=restored partition=%s checkpoint=%s next=%" PRId64
		 " state_bytes=%zu known_alerts=%" PRIu64 " ms=%.1f",
		 p->source, found ? "yes" : "none", p->next, found ? k.bloblen : (size_t)0, ss.n, ms);
	kafka_ckpt_free(&k);
	p->restored = 1;
	return 0;
}

/* Restore every owned partition that is not restored yet: one attempt per
 * partition per call, none after a failure, a failed one again after
 * RESTORE_BACKOFF_S. Never loops here: the caller keeps polling, so rebalance callbacks are served
 * (a member stuck in restores would stall the whole group's rebalance) and
 * a stop request is seen. Messages of a partition that arrive before its
 * restore are dropped; the first such offset is remembered so that the
 * partition resumes from there (a checkpoint's `next`, or that offset, and
 * the gap repair seeks back to it). */
void member_restore_pending(struct kc *kc, volatile sig_atomic_t *stop)
{
	if (!kc->pending_restore)
		return;
	int left = 0;
	double now = clock_mono();
	for (size_t i = 0; i < kc->nparts && !*stop; i++) {
		struct kpart *p = kc->parts[i];
		if (p->restored)
			continue;
		if (now < p->retry_at) {
			left = 1;
			continue;
		}
		int rc = restore_part(kc, p, stop);
		now = clock_mono();
		if (rc == 0) {
			if (p->next < 0 && p->first_unrestored >= 0)
				p->next = p->first_unrestored;
			continue;
		}
		left = 1;
		p->restore_fails++;
		p->retry_at = now + RESTORE_BACKOFF_S;
		if (rc != -VIGIL_EAGAIN && complain_due(&kc->restore_complain, now, 10, 6))
			LOG_WARN(COMP, "event=restore_retry partition=%s attempts=%" PRIu64 " err=\"%s\"",
				 p->source, p->restore_fails, vigil_strerror(rc));
		break; /* the broker is in trouble: poll before the next attempt */
	}
	kc->pending_restore = left || *stop;
}
