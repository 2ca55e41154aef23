/* Exactly-once processing of the Kafka member (`processing: exactly_once`,
 * consumers/kafka_txn.c; shared docs/kafka.md §6, KIP-447). Real Kafka >= 2.5
 * only: the embedded broker (librdkafka's mock cluster) writes no
 * transaction markers, does not filter aborted data and does not fence
 * zombies, so a member refuses to start on it.
 *
 * One transactional producer per member (transactional.id: kafka_txn_id in
 * core/config.h, stable per member slot). A transaction spans the batches
 * processed during one checkpoint_interval: the alert events, dead letters
 * and, at its end, the state snapshot (and the tombstones of the snapshot it
 * replaces) of every partition that made progress, plus those partitions'
 * input offsets (rd_kafka_send_offsets_to_transaction with the consumer
 * group metadata fetched fresh each time), committed together. So the
 * committed alerts topic, state topic and group offsets always describe the
 * same inputs.
 *
 * Errors: a retriable one retries the same call; an abortable one aborts the
 * transaction and rolls the member back: every owned partition is rewound
 * (asynchronous seek) to the input offset of its last committed checkpoint
 * and its engine is dropped and restored again from the state topic (read
 * committed), so nothing of the aborted transaction is applied twice. A
 * fatal one (the producer was fenced: another process took this
 * transactional.id, or the consumer's generation is gone for good) makes
 * the member stop with a clear `event=txn_fatal` line; `vigil run` then
 * exits 1 (the operator's supervisor restarts it).
 * @thread the member's thread (the hooks run in kc_step/kc_tick/kc_finish
 * and inside the rebalance callback). */
#ifndef CONSUMERS_KAFKA_TXN_H
#define CONSUMERS_KAFKA_TXN_H

#include <librdkafka/rdkafka.h>

struct kc;

/* After kc->prod (role "txn") exists and the topics were counted: refuse
 * the embedded broker, init_transactions. 0, or -VIGIL_EINVAL / -VIGIL_EIO
 * (logged). On success kc->txn is set. */
int txn_open(struct kc *kc);
/* Begin a transaction unless one is open. 0 or -VIGIL_EIO (fatal; logged). */
int txn_begin(struct kc *kc);
/* Commit the open transaction with the snapshots and input offsets of every
 * partition that made progress (none open: 0). 0, -VIGIL_EAGAIN (aborted
 * and rolled back) or -VIGIL_EIO (fatal). */
int txn_commit(struct kc *kc, const char *why);
/* Abort the open transaction and roll every owned partition back (lost
 * partitions: the caller drops them afterwards). */
void txn_abort(struct kc *kc, const char *why);
/* Note a delivered alert (delivery report) on alerts partition `part`. */
void txn_note_alert(struct kc *kc, int32_t part, int64_t offset);
/* 1 once a fatal transaction error happened. */
int txn_fatal(const struct kc *kc);
/* Before the producer is flushed and destroyed: abort an open transaction,
 * purge a fenced producer's queue; frees kc->txn. */
void txn_close(struct kc *kc);

#endif
