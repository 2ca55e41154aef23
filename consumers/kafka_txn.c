/* Exactly-once processing of the Kafka member: see consumers/kafka_txn.h.
 * @thread the member's thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/kafka_member.h"
#include "consumers/kafka_txn.h"
#include "core/clock.h"

#define TXN_INIT_MS   30000
#define TXN_RETRIES   10
#define TXN_MAX_PARTS 1024

struct ktxn {
	char id[512]; /* transactional.id */
	int open;     /* a transaction is begun */
	int fatal;
	/* per alerts partition: the offset after the newest alert this member
	 * saw delivered (a lower bound of the high watermark; restores scan the
	 * alerts topic from the value a checkpoint stored) */
	int64_t *alert_next;
	int32_t nalert;
};

int txn_fatal(const struct kc *kc)
{
	return kc->txn && kc->txn->fatal;
}

void txn_note_alert(struct kc *kc, int32_t part, int64_t offset)
{
	struct ktxn *t = kc->txn;
	if (t && part >= 0 && part < t->nalert && offset + 1 > t->alert_next[part])
		t->alert_next[part] = offset + 1;
}

/* Log a fatal error and remember it; consumes e. */
static int txn_die(struct kc *kc, const char *step, rd_kafka_error_t *e)
{
	struct ktxn *t = kc->txn;
	t->fatal = 1;
	t->open = 0;
	LOG_ERR(COMP,
		"event=txn_fatal transactional_id=%s step=%s err=%s reason=\"%s\": this member was fenced "
		"(another process uses its transactional.id, or its group generation is gone); its open "
		"transaction is never committed; stopping (exit 1) for the supervisor to restart it",
		t->id, step, rd_kafka_error_name(e), rd_kafka_error_string(e));
	rd_kafka_error_destroy(e);
	kc->ctr->txn_fatal++;
	return -VIGIL_EIO;
}

int txn_open(struct kc *kc)
{
	struct ktxn *t = calloc(1, sizeof *t);
	char *cid;
	rd_kafka_error_t *e;

	if (t == NULL)
		return -VIGIL_ENOMEM;
	kc->txn = t;
	if (kafka_txn_id(kc->cfg, t->id, sizeof t->id) != 0)
		snprintf(t->id, sizeof t->id, "-");
	t->nalert = kc->alert_nparts;
	t->alert_next = calloc((size_t)(t->nalert > 0 ? t->nalert : 1), sizeof *t->alert_next);
	if (t->alert_next == NULL)
		return -VIGIL_ENOMEM;
	/* the mock cluster names itself "mockCluster<hex>" */
	cid = rd_kafka_clusterid(kc->prod, 10000);
	if (cid && strncmp(cid, "mockCluster", 11) == 0) {
		LOG_ERR(COMP,
			"event=startup_failed err=\"processing: exactly_once needs a real Kafka broker (>= "
			"2.5): this one is librdkafka's mock cluster (the embedded `vigil broker`, cluster "
			"id "
			"%s), which writes no transaction markers, shows aborted data to read_committed "
			"readers and fences no zombie; use processing: at_least_once here\"",
			cid);
		rd_kafka_mem_free(kc->prod, cid);
		return -VIGIL_EINVAL;
	}
	if (cid)
		rd_kafka_mem_free(kc->prod, cid);
	for (int32_t i = 0; i < t->nalert; i++) {
		int64_t lo, hi;
		if (rd_kafka_query_watermark_offsets(kc->prod, kc->cfg->alerts_topic, i, &lo, &hi, 10000) ==
		    0)
			t->alert_next[i] = hi;
	}
	/* fences every older producer of this transactional.id and aborts its
	 * open transaction */
	e = rd_kafka_init_transactions(kc->prod, TXN_INIT_MS);
	if (e) {
		LOG_ERR(COMP, "event=startup_failed err=\"init_transactions (transactional.id %s): %s\"%s",
			t->id, rd_kafka_error_string(e), rd_kafka_error_is_fatal(e) ? " fatal=1" : "");
		rd_kafka_error_destroy(e);
		return -VIGIL_EIO;
	}
	LOG_INFO(COMP, "event=exactly_once transactional_id=%s transaction_ms=%.0f", t->id,
		 kc->cfg->checkpoint_interval * 1e3);
	return 0;
}

int txn_begin(struct kc *kc)
{
	struct ktxn *t = kc->txn;
	char why[256];
	if (t->fatal)
		return -VIGIL_EIO;
	/* a group consumer fenced by a newer member with the same
	 * group.instance.id is a zombie too */
	rd_kafka_resp_err_t fe = rd_kafka_fatal_error(kc->rk, why, sizeof why);
	if (fe) {
		t->fatal = 1;
		t->open = 0;
		kc->ctr->txn_fatal++;
		LOG_ERR(COMP,
			"event=txn_fatal transactional_id=%s step=consumer err=%s reason=\"%s\": this member "
			"was fenced by a newer one with its group.instance.id; stopping (exit 1)",
			t->id, rd_kafka_err2name(fe), why);
		return -VIGIL_EIO;
	}
	if (t->open)
		return 0;
	rd_kafka_error_t *e = rd_kafka_begin_transaction(kc->prod);
	if (e)
		return txn_die(kc, "begin", e);
	t->open = 1;
	return 0;
}

/* Rewind every owned partition to its last committed checkpoint and restore
 * its engine from the state topic. The seek is asynchronous: messages of
 * the old position still queued are dropped (the partition is not restored
 * yet, or they are beyond `next` and the gap repair seeks again); a message
 * at `next` is the same record whichever fetch brought it. */
static void rollback(struct kc *kc)
{
	size_t n = kc->nparts;
	struct {
		char *topic;
		int32_t partition;
		int64_t to;
	} *rw = calloc(n ? n : 1, sizeof *rw);
	if (rw == NULL) {
		LOG_ERR(COMP, "event=txn_fatal err=\"out of memory rolling back\"");
		kc->txn->fatal = 1;
		return;
	}
	rd_kafka_topic_partition_list_t *unk = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		struct kpart *p = kc->parts[i];
		rw[i].topic = strdup(p->topic);
		rw[i].partition = p->partition;
		rw[i].to = p->ckpt_next;
		if (rw[i].to < 0 && unk)
			rd_kafka_topic_partition_list_add(unk, p->topic, p->partition);
	}
	/* no checkpoint yet: back to the group's committed offset, else the start */
	if (unk && unk->cnt > 0 && rd_kafka_committed(kc->rk, unk, 10000) == 0) {
		for (size_t i = 0; i < n; i++)
			for (int j = 0; rw[i].to < 0 && j < unk->cnt; j++)
				if (unk->elems[j].partition == rw[i].partition &&
				    strcmp(unk->elems[j].topic, rw[i].topic) == 0 &&
				    unk->elems[j].offset >= 0)
					rw[i].to = unk->elems[j].offset;
	}
	if (unk)
		rd_kafka_topic_partition_list_destroy(unk);
	for (size_t i = 0; i < n; i++) {
		if (rw[i].topic == NULL)
			continue;
		int64_t to = rw[i].to >= 0 ? rw[i].to : RD_KAFKA_OFFSET_BEGINNING;
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(kc->rk, rw[i].topic, NULL);
		rd_kafka_resp_err_t se =
			rkt ? rd_kafka_seek(rkt, rw[i].partition, to, 0) : RD_KAFKA_RESP_ERR__FAIL;
		if (rkt)
			rd_kafka_topic_destroy(rkt);
		part_drop(kc, rw[i].topic, rw[i].partition);
		int rc = part_add(kc, rw[i].topic, rw[i].partition);
		LOG_INFO(COMP, "event=txn_rewound partition=%s/%" PRId32 " to=%" PRId64 " seek=%s restore=%s",
			 rw[i].topic, rw[i].partition, rw[i].to, se ? rd_kafka_err2str(se) : "ok",
			 rc ? vigil_strerror(rc) : "pending");
		free(rw[i].topic);
	}
	free(rw);
}

void txn_abort(struct kc *kc, const char *why)
{
	struct ktxn *t = kc->txn;
	if (t->fatal)
		return;
	if (t->open) {
		rd_kafka_error_t *e = NULL;
		for (int tries = 0; tries < TXN_RETRIES; tries++) {
			e = rd_kafka_abort_transaction(kc->prod, -1);
			if (e == NULL || !rd_kafka_error_is_retriable(e))
				break;
			rd_kafka_error_destroy(e);
			e = NULL;
		}
		if (e) {
			txn_die(kc, "abort", e);
			return;
		}
		t->open = 0;
	}
	kc->ctr->txn_aborts++;
	LOG_WARN(COMP, "event=txn_aborted why=%s partitions=%zu: rolled back to the last commit", why,
		 kc->nparts);
	rollback(kc);
}

/* An error of a transactional call: fatal -> stop; abortable (or anything
 * else) -> abort and roll back. Consumes e. */
static int txn_failed(struct kc *kc, const char *step, const char *why, rd_kafka_error_t *e)
{
	if (rd_kafka_error_is_fatal(e))
		return txn_die(kc, step, e);
	LOG_WARN(COMP, "event=txn_failed why=%s step=%s err=%s reason=\"%s\" abortable=%d", why, step,
		 rd_kafka_error_name(e), rd_kafka_error_string(e), rd_kafka_error_txn_requires_abort(e));
	rd_kafka_error_destroy(e);
	txn_abort(kc, why);
	return kc->txn->fatal ? -VIGIL_EIO : -VIGIL_EAGAIN;
}

int txn_commit(struct kc *kc, const char *why)
{
	struct ktxn *t = kc->txn;
	struct kpart *todo[TXN_MAX_PARTS];
	struct kafka_ckpt_ref refs[TXN_MAX_PARTS];
	size_t n = 0, bytes_total = 0;
	rd_kafka_error_t *e = NULL;
	double t0 = clock_mono();
	int rc;

	if (t->fatal)
		return -VIGIL_EIO;
	if (!t->open)
		return 0;
	rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(16);
	if (offs == NULL)
		return -VIGIL_ENOMEM;
	/* 1. the snapshot of every partition that made progress, and the
	 *    tombstones of the snapshot it replaces (both void if this aborts) */
	for (size_t i = 0; i < kc->nparts && n < TXN_MAX_PARTS; i++) {
		struct kpart *p = kc->parts[i];
		if (!p->restored || p->next < 0 || p->next == p->ckpt_next)
			continue;
		struct kafka_ckpt_ref ref;
		size_t bytes = 0;
		rc = part_snapshot(kc, p, t->nalert, t->alert_next, &ref, &bytes);
		if (rc == 0 && p->have_ref)
			rc = kafka_ckpt_retire(kc->prod, kc->cfg->state_topic,
					       p->partition % kc->state_nparts, p->topic, p->partition,
					       &p->ckpt_ref);
		if (rc) {
			/* nothing of this partition may commit without its state */
			LOG_ERR(COMP, "event=checkpoint_failed partition=%s err=\"%s\"%s", p->source,
				vigil_strerror(rc),
				rc == -VIGIL_ELIMIT ? ": state does not fit the state topic's limit" : "");
			rd_kafka_topic_partition_list_destroy(offs);
			txn_abort(kc, "checkpoint_failed");
			return t->fatal ? -VIGIL_EIO : -VIGIL_EAGAIN;
		}
		rd_kafka_topic_partition_list_add(offs, p->topic, p->partition)->offset = p->next;
		refs[n] = ref;
		todo[n++] = p;
		bytes_total += bytes;
	}
	/* 2. the input offsets, with the group metadata of now (generation and
	 *    member id: a member fenced by a rebalance cannot commit) */
	if (offs->cnt > 0) {
		for (int tries = 0;; tries++) {
			rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(kc->rk);
			e = rd_kafka_send_offsets_to_transaction(kc->prod, offs, md, -1);
			rd_kafka_consumer_group_metadata_destroy(md);
			if (e == NULL || !rd_kafka_error_is_retriable(e) || tries >= TXN_RETRIES)
				break;
			rd_kafka_error_destroy(e);
		}
	}
	rd_kafka_topic_partition_list_destroy(offs);
	if (e)
		return txn_failed(kc, "send_offsets", why, e);
	/* 3. commit (flushes the transaction's messages first) */
	for (int tries = 0;; tries++) {
		e = rd_kafka_commit_transaction(kc->prod, -1);
		if (e == NULL || !rd_kafka_error_is_retriable(e) || tries >= TXN_RETRIES)
			break;
		rd_kafka_error_destroy(e);
	}
	if (e)
		return txn_failed(kc, "commit", why, e);
	t->open = 0;
	for (size_t i = 0; i < n; i++) {
		struct kpart *p = todo[i];
		p->ckpt_next = p->next;
		p->committed = p->next;
		p->ckpt_ref = refs[i];
		p->have_ref = 1;
	}
	kc->ctr->txn_commits++;
	if (n > 0) {
		kc->ctr->checkpoints++;
		kc->ctr->last_checkpoint_at = clock_wall();
		kc->ctr->state_bytes = bytes_total;
	}
	LOG_DBG(COMP, "event=txn_committed why=%s partitions=%zu bytes=%zu ms=%.1f", why, n, bytes_total,
		(clock_mono() - t0) * 1e3);
	return 0;
}

void txn_close(struct kc *kc)
{
	struct ktxn *t = kc->txn;
	if (t == NULL)
		return;
	if (t->fatal) {
		rd_kafka_purge(kc->prod, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	} else if (t->open) {
		rd_kafka_error_t *e = rd_kafka_abort_transaction(kc->prod, 10000);
		if (e) {
			LOG_WARN(COMP, "event=txn_abort_failed err=\"%s\"", rd_kafka_error_string(e));
			rd_kafka_error_destroy(e);
		}
	}
	free(t->alert_next);
	free(t);
	kc->txn = NULL;
}
