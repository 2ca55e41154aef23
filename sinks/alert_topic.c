/* See alert_topic.h. */
#include "sinks/alert_topic.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/kafka.h"

void alert_topic_id(const struct alert_origin *o, const struct alert_event *ev, char *out, size_t outlen)
{
	snprintf(out, outlen, "%" PRId32 ":%" PRId64 ":%s", o->partition, ev->pos, ev->rule ? ev->rule : "");
}

uint64_t alert_topic_key(const char *alert_id, const char *fingerprint)
{
	return hash_mix(hash_str(hash_str(HASH_SEED, alert_id), fingerprint));
}

int alert_topic_publish(rd_kafka_t *prod, const char *topic, const struct alert_event *ev,
			const struct alert_origin *o, const char *id, const char *fp, void *opaque)
{
	char off[32];
	json_t *j = alert_to_json(ev);
	char *s;
	int rc;

	if (j == NULL)
		return -VIGIL_ENOMEM;
	if (json_object_set_new(j, "alert_id", json_string(id)) ||
	    json_object_set_new(j, "input_topic", json_string(o->topic)) ||
	    json_object_set_new(j, "input_partition", json_integer(o->partition)) ||
	    json_object_set_new(j, "input_offset", json_integer(ev->pos)) ||
	    (o->ts_ms >= 0 && json_object_set_new(j, "input_time_ms", json_integer(o->ts_ms)))) {
		json_decref(j);
		return -VIGIL_ENOMEM;
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return -VIGIL_ENOMEM;
	rd_kafka_headers_t *h = rd_kafka_headers_new(4);
	snprintf(off, sizeof off, "%" PRId64, ev->pos);
	rd_kafka_header_add(h, ALERT_HDR_ID, -1, id, -1);
	rd_kafka_header_add(h, ALERT_HDR_FP, -1, fp, -1);
	rd_kafka_header_add(h, ALERT_HDR_SRC, -1, o->source, -1);
	rd_kafka_header_add(h, ALERT_HDR_OFFSET, -1, off, -1);
	const char *owner = ev->owner ? ev->owner : "";
	rc = kafka_produce(prod, topic, owner, strlen(owner), s, strlen(s), h, opaque);
	rd_kafka_headers_destroy(h);
	free(s);
	return rc;
}
