/* The publisher of the alerts topic: how a member hands an alert event to
 * the central gateway in the Kafka deployment. One message per event, keyed
 * by owner (so one gateway member sees all of an owner's alerts in order),
 * value = the alert's JSON form (core/alert.h) plus the origin fields
 * alert_id, input_topic, input_partition, input_offset and input_time_ms,
 * headers = the identity below (read back by restores without parsing JSON).
 *
 * alert_id = "<input partition>:<input offset>:<rule>"; with the series
 * fingerprint it is the dedup key, because one input record may carry
 * several series.
 * @thread the caller's; prod is the caller's producer. */
#ifndef SINKS_ALERT_TOPIC_H
#define SINKS_ALERT_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "core/alert.h"

#define ALERT_HDR_ID     "alert_id"
#define ALERT_HDR_FP     "vigil.fp"
#define ALERT_HDR_SRC    "vigil.src"    /* input "topic/partition" */
#define ALERT_HDR_OFFSET "vigil.offset" /* input offset */

/* Where the point that caused an alert came from. */
struct alert_origin {
	const char *topic;  /* input topic */
	int32_t partition;  /* input partition */
	const char *source; /* "topic/partition" */
	int64_t ts_ms;      /* input record's Kafka timestamp; -1 = none */
};

/* The alert_id of ev from origin o into out. */
void alert_topic_id(const struct alert_origin *o, const struct alert_event *ev, char *out, size_t outlen);
/* Dedup key of an alert on the topic: hash of alert_id and fingerprint. */
uint64_t alert_topic_key(const char *alert_id, const char *fingerprint);

/* Enqueue ev on topic through prod; the delivery report's message carries
 * opaque and the identity headers (so the caller can log and count the
 * confirmation). id/fp: from alert_topic_id / alert_fingerprint. Returns 0
 * or -VIGIL_ENOMEM / -VIGIL_EIO (logged). */
int alert_topic_publish(rd_kafka_t *prod, const char *topic, const struct alert_event *ev,
			const struct alert_origin *o, const char *id, const char *fp, void *opaque);

#endif
