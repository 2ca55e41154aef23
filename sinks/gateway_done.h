/* The Kafka gateway's record of finished sends (consumers/gateway_done.c
 * writes and reads it): the gateway's side is one call, which hands the
 * done set (sinks/outbox.h) to its outbox, so that every notification of an
 * alerts partition a destination accepts is reported to the set's recorder
 * and a notification the set says a previous owner delivered is not queued
 * again.
 * @thread the gateway's caller. */
#ifndef SINKS_GATEWAY_DONE_H
#define SINKS_GATEWAY_DONE_H

#include "sinks/gateway.h"
#include "sinks/outbox.h"

/* Attach set (borrowed: it must outlive the gateway, or be detached with
 * NULL first) to the gateway's outboxes, and to those a reload of the owners
 * adds later (one shared set). Call before the first partition is
 * assigned. */
void gateway_attach_done(struct gateway *gw, struct outbox_done_set *set);

#endif
