/* Internal to the Kafka member (consumers/kafka_member.c: partitions,
 * processing, open/close; consumers/kafka_member_state.c: checkpoints,
 * commits, rebalances, restores). The member is the input side of `vigil
 * run` (member and single mode); see consumers/consumer.h and docs/kafka.md
 * §1-§5.
 *
 * One thread owns the group consumer, the producer (alerts, state,
 * dead letters), a group-less reader (restores) and every partition's state.
 *
 * Per owned input partition: an engine, `next` (the next input offset to
 * process; -1 = none processed and no checkpoint yet), `ckpt_next` (the input
 * offset the last durable checkpoint covers) and, right after a restore, the
 * set of alerts already on the alerts topic for inputs the replay will see
 * again (suppressed when regenerated).
 *
 * Invariants:
 *  - a message is processed only if its partition is owned, restored and
 *    its offset >= next (revoked and already-done messages are dropped);
 *  - a checkpoint for `next` is written only after every alert of inputs
 *    below `next` was acknowledged by the broker (producer flushed, no
 *    delivery failure), and an offset is committed only after the
 *    checkpoint covering it was acknowledged: the group's committed offset
 *    is never ahead of the newest checkpoint;
 *  - offsets are committed only inside the revoke callback (a hand-over, or
 *    the final revoke of consumer_close), never from the loop: on 2.0.2 a
 *    commit sent while this member's JoinGroup is pending waits for the join
 *    response and then fails with ILLEGAL_GENERATION, which the library
 *    treats as a lost assignment (#4059); a loop that commits every second
 *    loses its partitions in about every other rebalance, each loss costing
 *    one more round. A new owner that starts fetching below its checkpoint
 *    (the previous owner died) seeks forward to it once;
 *  - processing: exactly_once replaces the two rules above: alerts, the
 *    checkpoints and the input offsets commit together in one transaction
 *    per checkpoint_interval, from the loop and in the revoke callback
 *    (consumers/kafka_txn.h);
 *  - restores happen between polls on this thread, never inside the
 *    rebalance callback; the callback only creates empty partition entries
 *    (and, on a non-lost revoke, checkpoints and commits before unassign). */
#ifndef CONSUMERS_KAFKA_MEMBER_H
#define CONSUMERS_KAFKA_MEMBER_H

#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "consumers/consumer.h"
#include "consumers/decoder.h"
#include "consumers/kafka_repartition.h"
#include "core/htab.h"
#include "core/kafka.h"
#include "core/log.h"
#include "engine/engine.h"

#define COMP               "kafka"
#define FLUSH_MS           5000
#define RESTORE_TIMEOUT_MS 10000 /* per read; the poll loop waits that long at most */
#define RESTORE_BACKOFF_S  1.0

struct kc;
struct ktxn;

struct kpart {
	struct kc *kc;
	char *topic;
	int32_t partition;
	char source[320]; /* "topic/partition" */
	struct engine *eng;
	struct decoder *dec; /* this partition's decoder stream */
	int restored;
	int64_t next;      /* next input offset to process; -1 = take the first one offered */
	int64_t ckpt_next; /* covered by the newest durable checkpoint; -1 = none */
	int64_t committed; /* last offset this member committed; -1 = none */
	int dirty;
	struct hset sup; /* alerts already published for inputs < sup_max + 1 */
	int64_t sup_max;
	int64_t cur_offset;
	int64_t cur_ts_ms;        /* Kafka timestamp of the record being processed; -1 = none */
	int64_t seek_to;          /* >= 0 while a seek to it is pending (gap repair, skip ahead) */
	int skipped;              /* the one skip ahead after the restore was done */
	int64_t first_unrestored; /* first offset dropped while not restored; -1 = none */
	double retry_at;          /* a failed restore is tried again from then on */
	uint64_t restore_fails;
	double seek_at;
	int topic_idx; /* index of topic in cfg->topics */
	/* the newest durable snapshot on the state topic (retired with
	 * tombstones once a newer one is durable); valid when have_ref */
	struct kafka_ckpt_ref ckpt_ref;
	int have_ref;
};

/* Series seen by this member and the partition each came on first
 * (consumers/kafka_member_split.c). */
struct ksplit {
	struct htab index;
	struct split_ent *ent;
	size_t n, cap;
};

struct kc {
	const struct kafka_cfg *cfg;
	struct engine_budget budget; /* shared by the engines of all owned partitions */
	const struct ruleset *rs;
	rd_kafka_t *rk, *prod, *reader;
	rd_kafka_queue_t *q;
	struct kpart **parts;
	size_t nparts, capparts;
	int32_t alert_nparts, state_nparts;
	int pending_restore;
	uint64_t dr_fail[4];
	struct kafka_counters *ctr;
	uint64_t points_retired; /* points of engines already dropped (revoked partitions) */
	uint64_t alloc_failed_retired;
	uint64_t future_retired;
	uint64_t skewed_retired; /* skewed points of engines retired (revoked partitions) */
	uint64_t ooo_retired;    /* out_of_order of dropped engines */
	struct timing det_time_retired[TIMING_KINDS];
	/* the entry of the previous message (batches come in runs of one
	 * partition); reset when an entry is freed */
	struct kpart *hot;
	rd_kafka_message_t **batch;
	volatile sig_atomic_t *stop; /* aborts long restores; may be NULL */
	volatile sig_atomic_t no_stop;
	double next_ckpt; /* monotonic time of the next interval checkpoint */
	struct complain poison_complain, ckpt_complain, dr_complain, restore_complain, split_complain;
	struct ksplit split;
	struct repart *repart; /* input.keyed_by none: the router (consumers/kafka_repartition.h) */
	struct ktxn *txn;      /* processing: exactly_once (consumers/kafka_txn.c); NULL otherwise */
};

/* kafka_member.c */
struct kpart *part_find(struct kc *kc, const char *topic, int32_t partition);
int part_add(struct kc *kc, const char *topic, int32_t partition);
void part_drop(struct kc *kc, const char *topic, int32_t partition);
/* Save p's engine and write it to the state topic as a snapshot with its
 * own keys, covering the input up to p->next, with the alerts topic's
 * positions hwm (nalert entries, borrowed). On success *ref names the
 * snapshot (to retire it later) and *bytes its size. The producer is the
 * member's (transactional in exactly_once mode: the snapshot is then part of
 * the open transaction). 0 or -VIGIL_* (-VIGIL_ELIMIT: too large). */
int part_snapshot(struct kc *kc, struct kpart *p, int32_t nalert, int64_t *hwm, struct kafka_ckpt_ref *ref,
		  size_t *bytes);

/* kafka_member_split.c */
/* Note a decoded point of partition kp: counts and logs a series seen on a
 * second partition (split_series). Never fails; memory shortage only stops
 * the tracking (split_untracked). */
void split_note(struct kc *kc, const struct kpart *kp, const struct point *pt);
void split_fini(struct ksplit *s);

/* kafka_member_state.c */
/* Checkpoint the owned, restored partitions in `only` (NULL = all) that made
 * progress since their last checkpoint. 0, -VIGIL_EAGAIN (not everything
 * was acknowledged in time; try again) or -VIGIL_E*. */
int member_checkpoint(struct kc *kc, const rd_kafka_topic_partition_list_t *only, const char *why);
void member_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque);
/* Restore what is pending (see the function's comment). */
void member_restore_pending(struct kc *kc, volatile sig_atomic_t *stop);

#endif
