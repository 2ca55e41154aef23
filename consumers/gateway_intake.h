/* The gateway's intake: its own consumer group on the alerts topic
 * (sinks/alert_topic.h), feeding the central gateway (sinks/gateway.h) and
 * dropping duplicates by alert id + fingerprint (two generations of
 * remembered keys). Its state is partitioned like its input: every
 * checkpoint_interval it writes, per owned alerts-topic partition, a snapshot
 * of that partition's open episodes, recent transitions and unfinished
 * notifications to the gateway state topic (sinks/gateway_state.c through
 * core/kafka_ckpt), and commits an offset only once the snapshot that covers
 * it is acknowledged (or every notification below it has finished). A member
 * that is assigned a partition restores its newest snapshot first, so
 * deliveries pending on a member that died are finished by its successor.
 * The member also follows the control partitions of its alerts partitions
 * (silences, acknowledgements: consumers/gateway_control.h); their position
 * is part of each partition's snapshot.
 * @thread the caller's; one thread owns an intake. */
#ifndef CONSUMERS_GATEWAY_INTAKE_H
#define CONSUMERS_GATEWAY_INTAKE_H

#include "core/config.h"
#include "core/kafka.h"
#include "rules/rules.h"
#include "sinks/gateway.h"

struct gateway_intake;

/* Create the gateway for rs (borrowed) and join the gateway group of c
 * (borrowed). Returns 0 or -VIGIL_E* (logged). */
int gateway_intake_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
			struct gateway_intake **out);
/* Consume up to a batch (waiting at most timeout_ms), submit, flush the
 * destinations, commit when due. Returns the messages handled. */
int gateway_intake_step(struct gateway_intake *g, int timeout_ms);
/* The gateway the intake owns (for the HTTP API, on the intake's thread). */
struct gateway *gateway_intake_gateway(struct gateway_intake *g);
/* The alerts-topic partition of owner's alerts (the topic is keyed by owner,
 * librdkafka's default partitioner), into *part: 0 when this member owns
 * it, -VIGIL_ENOENT when another member does, -VIGIL_EAGAIN when the
 * partition count is unknown. For state that belongs to an owner's
 * partition (silences added through the HTTP API). */
int gateway_intake_owner_part(struct gateway_intake *g, const char *owner, int32_t *part);
/* 1 once the intake has its first assignment of the alerts topic and has
 * restored the gateway state of every partition assigned (readiness). */
int gateway_intake_ready(const struct gateway_intake *g);
/* Wait up to 10 s for pending deliveries, commit what finished, free
 * (NULL is fine). */
void gateway_intake_close(struct gateway_intake *g);

#endif
