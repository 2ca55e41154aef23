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

struct gateway_intake;

/* Create the gateway for rs (borrowed) and join the gateway group of c
 * (borrowed). Returns 0 or -VIGIL_E* (logged). */
int gateway_intake_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
			struct gateway_intake **out);
/* Consume up to a batch (waiting at most timeout_ms), submit, flush the
 * destinations, commit when due. Returns the messages handled. */
int gateway_intake_step(struct gateway_intake *g, int timeout_ms);
/* Wait up to 10 s for pending deliveries, commit what finished, free
 * (NULL is fine). */
void gateway_intake_close(struct gateway_intake *g);

#endif
