/* The repartition router of a Kafka member (input.keyed_by: none).
 *
 * Producers that do not key by series (collectd's write_kafka, Telegraf)
 * spread a series over the input partitions. With keyed_by none every
 * member also runs a router: a group consumer of the raw input topics in a
 * group of its own ("<group.id>-repartition", so that its assignment of raw
 * partitions does not disturb the members' assignment of engine
 * partitions), which decodes each line just enough to find the series key
 * of its first point and produces the line's original bytes, keyed by that
 * series, to "<topic>.by-series" (partition: librdkafka's consistent hash
 * of the key modulo the state topic's partition count, as `vigil produce`
 * keys). The engines consume "<topic>.by-series" as they consume a keyed
 * input (kafka_cfg.topics names it).
 *
 * Delivery contract: a raw offset is committed only once every line of it,
 * and of every record before it in the router's order, was acknowledged by
 * the broker (or, for a line that does not decode, its copy on the
 * dead-letter topic was); a crash or a lost assignment re-routes from the
 * committed offset, so points may be routed twice, never lost (the
 * engines skip a repeated point as out of order: its time is not newer
 * than its series' last one).
 *
 * Order: the points of one raw partition keep their order; the raw
 * partitions one router owns are merged by record time (the oldest Kafka
 * timestamp first, waiting a little for a partition that is behind: see
 * kafka_repartition.c). Routers of different members are not merged: a
 * point routed after a newer point of its series is skipped by the engine
 * (out_of_order), so a series' points must be further apart than the
 * routers' lag.
 *
 * @thread the member's thread: repart_step runs inside the member's step,
 * the router's rebalance and delivery callbacks inside its calls. */
#ifndef CONSUMERS_KAFKA_REPARTITION_H
#define CONSUMERS_KAFKA_REPARTITION_H

#include <signal.h>
#include <stdint.h>

#include "core/config.h"
#include "core/kafka.h"

struct repart;

/* Open the router for config c (c->keyed_none set): checks that every
 * repartition topic exists with nparts partitions (the state topic's), then
 * subscribes to the raw topics. Returns 0, -VIGIL_EINVAL (a topic missing or
 * with another partition count; logged as event=startup_failed naming the
 * topic and both counts), -VIGIL_EIO or -VIGIL_ENOMEM. *out owned by the
 * caller (repart_close). */
int repart_open(const struct kafka_cfg *c, int32_t nparts, struct kafka_counters *ctr,
		volatile sig_atomic_t *stop, struct repart **out);

/* Take one batch at most from the raw topics (waiting up to timeout_ms
 * for it), route what the merge lets through, serve delivery reports and
 * commit what they completed (at most every REPART_COMMIT_MS). Returns the
 * number of raw records taken (0 when idle). */
int repart_step(struct repart *r, int timeout_ms);

/* Flush the routed points, commit what they complete, leave the router
 * group. NULL is a no-op. */
void repart_close(struct repart *r);

#endif
