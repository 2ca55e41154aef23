/* The Kafka gateway's record of finished sends (consumers/gateway_done.c
 * writes and reads it; this is the gateway's side, sinks/gateway_done.c). A member records every
 * notification of an alerts partition that a destination accepted; the
 * member that takes the partition over after a failure tells the gateway
 * which ones were delivered after the partition's snapshot, and the
 * gateway then does not send them again when it regenerates them from the
 * alerts it re-reads (or re-queues them from the snapshot).
 * @thread the gateway's caller, except the recorder (see outbox.h). */
#ifndef SINKS_GATEWAY_DONE_H
#define SINKS_GATEWAY_DONE_H

#include <stdint.h>

#include "sinks/gateway.h"

/* Call rec (on a delivery thread, with the outbox's lock held: it must not
 * block nor call the gateway) for every delivered notification of an
 * alerts partition, with its identity (sinks/notify_ident.h). Set it before
 * the first partition is assigned. */
void gateway_set_recorder(struct gateway *gw, void (*rec)(void *ctx, int32_t part, uint64_t ident),
			  void *ctx);
/* The notification of identity ident was delivered for partition part by
 * a previous owner (record uid, kept until wall time expires): the next one
 * of that identity the gateway queues for the partition is dropped instead.
 * Call before gateway_import of the partition. 0 or -VIGIL_ENOMEM. */
int gateway_already_delivered(struct gateway *gw, int32_t part, uint64_t ident, const char *uid,
			      double expires);
/* The member has caught up with partition part (read past where its
 * previous owner was, and nothing decided since is waiting): forget the
 * records it did not use, so they cannot hold back a later notification of
 * the same identity (a repeat). Returns how many there were. */
size_t gateway_delivered_forget(struct gateway *gw, int32_t part);
/* Notifications not sent because a previous owner had delivered them. */
uint64_t gateway_skipped(struct gateway *gw);

/* For gateway_export / gateway_import (sinks/gateway_state.c): the
 * partition's unused records as snap's "done" array, and back. 0 or
 * -VIGIL_ENOMEM. */
int gw_done_export(struct gateway *gw, int32_t part, json_t *snap);
int gw_done_import(struct gateway *gw, int32_t part, json_t *snap);

#endif
