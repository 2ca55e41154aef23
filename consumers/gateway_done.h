/* The Kafka gateway's "done" records: what a gateway member delivered, kept
 * on the gateway state topic so that the member taking an alerts partition
 * over after a kill does not notify it again (sinks/gateway_done.h).
 *
 * Every notification of alerts partition P that a destination accepted
 * becomes one small record on the state topic partition of P's snapshots,
 * queued in the same critical section that takes it off the outbox (so a
 * snapshot either still lists it as pending, or is written after it):
 *   key   "vigil.done/<alerts topic>/<P>/<uid>"   (uid unique per record)
 *   value {"ident":"<16 hex>","at":<wall seconds>}
 * A record is needed only until a newer snapshot of P is durable (the
 * snapshot covers what was delivered before it, and carries the records it
 * has not used yet): the member then writes tombstones for its keys, so a
 * compacted state topic drops them. A member taking P over reads the state
 * partition, keeps every record of P not tombstoned (those after the
 * snapshot it restores, and those of sends that finished between the
 * snapshot's export and its write, which precede it), and hands them to
 * the gateway before the snapshot's pending notifications are re-queued
 * and the alerts after it are read again. A record expires GWDONE_TTL
 * seconds after its send.
 *
 * The remaining window: a send the receiver accepted whose record did not
 * reach the broker before the kill (librdkafka's linger, 5 ms by default,
 * plus the round trip) is sent again by the next owner.
 * @thread gwdone_record on delivery threads (see gateway_set_recorder);
 * everything else on the intake's thread. */
#ifndef CONSUMERS_GATEWAY_DONE_H
#define CONSUMERS_GATEWAY_DONE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/kafka.h"
#include "sinks/outbox.h"

#define GWDONE_TTL 600.0 /* seconds a record suppresses its notification */

struct gwdone;

/* Records for alerts_topic's partitions on state_topic (nstate partitions),
 * produced on prod (borrowed; the KAFKA_MSG_STATE opaque), with the done
 * set to attach to the gateway (gwdone_set; its recorder is gwdone_record).
 * 0 or -VIGIL_ENOMEM. */
int gwdone_open(const char *state_topic, int32_t nstate, const char *alerts_topic, rd_kafka_t *prod,
		struct gwdone **out);
/* After the gateway (its outbox) is gone. NULL is fine. */
void gwdone_close(struct gwdone *d);
/* The set the gateway's outbox uses (gateway_attach_done). */
struct outbox_done_set *gwdone_set(struct gwdone *d);
/* No more records from now on (before prod goes). */
void gwdone_stop(struct gwdone *d);

/* The gateway's recorder (gateway_set_recorder): queue the record of one
 * delivered notification of partition part. Never blocks (a full producer
 * queue loses the record: logged, counted). */
void gwdone_record(void *ctx, int32_t part, uint64_t ident);

/* Taking partition part over: read its state partition (reader: a
 * group-less consumer) and put in the set every record of part not
 * tombstoned (see above). *loaded gets their count. 0, or
 * -VIGIL_EIO when the partition could not be read in timeout_ms (nothing
 * taken: what was delivered may be delivered again), or -VIGIL_ENOMEM. */
int gwdone_restore(struct gwdone *d, rd_kafka_t *reader, int32_t part, int timeout_ms, size_t *loaded);
/* The decoding half of gwdone_restore, without a broker (it feeds the
 * state partition's messages in offset order; tests/fuzz/fuzz_kafka_ckpt.c
 * feeds bytes). gwdone_scan_new: a scan of partition part's records, NULL
 * when out of memory. gwdone_scan_msg: one message, key[0..keylen) and
 * val[0..len) (val NULL: a tombstone); any bytes are accepted, a record
 * that is not {"ident": hex, "at": number} is counted and logged at the
 * end. gwdone_scan_end: put the live records in the set as gwdone_restore
 * does, free s, return how many were taken. */
struct gwdone_scan;
struct gwdone_scan *gwdone_scan_new(struct gwdone *d, int32_t part);
void gwdone_scan_msg(struct gwdone_scan *s, const void *key, size_t keylen, const void *val, size_t len);
size_t gwdone_scan_end(struct gwdone_scan *s);
/* The partition's unused records in its snapshot, as snap's "done" array
 * [{"ident","uid","expires"}], and back (before gateway_import re-queues
 * the snapshot's pending notifications). 0 or -VIGIL_ENOMEM. */
int gwdone_export(struct gwdone *d, int32_t part, json_t *snap);
int gwdone_import(struct gwdone *d, int32_t part, json_t *snap);
/* The member caught up with partition part: drop its unused records.
 * Returns how many there were. */
size_t gwdone_drop_unused(struct gwdone *d, int32_t part);

/* Before exporting partition part's snapshot: the number of its records
 * written or loaded so far, all of which that snapshot covers. */
size_t gwdone_mark(struct gwdone *d, int32_t part);
/* Once that snapshot is durable: tombstone the first n of them (mark). */
void gwdone_retire(struct gwdone *d, int32_t part, size_t n);
/* The partition was handed over: forget its records and its part of the
 * set (not tombstoned: its next owner's snapshot will cover them). */
void gwdone_forget(struct gwdone *d, int32_t part);

/* Records queued, records that could not be queued, since open. */
void gwdone_counts(struct gwdone *d, uint64_t *written, uint64_t *lost);

#endif
