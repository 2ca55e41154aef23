/* The gateway intake's control-topic consumer: on-call control commands
 * (silences, acknowledgements; sinks/gateway.h gateway_control) published
 * to the control topic keyed by owner, so that control partition P carries
 * the commands for the owners of alerts-topic partition P. A gateway member
 * reads control partition P exactly while it owns alerts partition P, with
 * a group-less handle whose assignment follows the intake's. The position
 * in control partition P (the next offset to apply) is part of the state of
 * alerts partition P: the intake writes it into P's snapshot as
 * "control_next", and a member that takes P over applies the control
 * records from there before P's alerts flow.
 * A record that is not a valid command is logged with its topic, partition,
 * offset and the reason, counted (gw_control_bad) and skipped.
 * @thread the intake's; every call from the thread that owns the intake
 * (gwctl_assign / gwctl_revoke also inside its rebalance callback). */
#ifndef CONSUMERS_GATEWAY_CONTROL_H
#define CONSUMERS_GATEWAY_CONTROL_H

#include <stdint.h>

#include "core/config.h"
#include "core/kafka.h"
#include "sinks/gateway.h"

struct gwctl;

/* A control consumer for c->control_topic applying to gw (both borrowed,
 * must outlive it). meta: a client of the caller's, used for metadata: the
 * control topic must have as many partitions as c->alerts_topic. Returns 0,
 * or -VIGIL_EINVAL (the counts differ) / -VIGIL_EIO (no metadata) /
 * -VIGIL_ENOMEM, logged with both topics and counts. */
int gwctl_open(const struct kafka_cfg *c, struct gateway *gw, rd_kafka_t *meta, struct kafka_counters *ctr,
	       struct gwctl **out);
/* Take control partition part over from offset `from` (a snapshot's
 * control_next; < 0: from the partition's beginning): read the partition
 * to its end with reader (a group-less handle of the caller's, idle
 * otherwise) and apply what it holds. A failed read is logged; the
 * consumer catches up once it follows the partition. */
void gwctl_assign(struct gwctl *x, rd_kafka_t *reader, int32_t part, int64_t from);
/* Follow the partitions taken over since the last call with the consumer,
 * from where their catch-up ended (one assignment change). */
void gwctl_follow(struct gwctl *x);
/* Stop following the control partitions of alerts partitions `parts` (the
 * same numbers; one assignment change) and forget their positions. */
void gwctl_revoke(struct gwctl *x, const rd_kafka_topic_partition_list_t *parts);
/* The next offset of control partition part to apply (-1: none applied,
 * from the beginning; also for a partition not assigned). */
int64_t gwctl_next(const struct gwctl *x, int32_t part);
/* Records of partition part applied since the position a durable snapshot
 * covers (gwctl_saved)? */
int gwctl_dirty(const struct gwctl *x, int32_t part);
/* A snapshot holding control position `next` of partition part is durable. */
void gwctl_saved(struct gwctl *x, int32_t part, int64_t next);
/* Apply the control records that arrived, at most max, without waiting;
 * flushes the gateway when any was applied. Returns the records handled
 * (applied or rejected). */
int gwctl_poll(struct gwctl *x, int max);
/* Close the consumer and free (NULL is fine). */
void gwctl_close(struct gwctl *x);

#endif
