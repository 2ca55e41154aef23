/* "kafka" destination: the notification's JSON (alert event plus identity,
 * notification.json, with its "idempotency_key" added as in the file
 * destination: sink_line_key) produced to a Kafka topic, keyed by the
 * episode so an episode's trigger and resolve land on one partition in
 * order.
 *
 * Settings:
 *   topic    (required) the topic name
 *   timeout  (duration, default 10s) how long send() waits for the
 *            broker's acknowledgement
 *
 * The producer is built from the process's Kafka config (the `kafka:`
 * section of `vigil run` / `gateway` / `replay -c`, role "producer"); without
 * one, create() fails. send() produces and then flushes until the delivery
 * report arrives, so SINK_OK means the broker has the message (with the
 * acks the config asks for), and is final (sinks/sink.h): the Kafka
 * gateway records it as delivered once that report arrived, and the member
 * that takes the alerts partition over after a kill -9 of this one does not
 * produce it again. No report within the timeout: the message is
 * purged from the local queue and the verdict is SINK_RETRY (a message
 * already on the wire may still arrive: at-least-once; consumers dedupe on
 * idempotency_key). A permanent error in the report (topic unknown or not
 * authorised, message too large, invalid) is SINK_DROP; others SINK_RETRY.
 * @thread see sinks/sink.h; the producer is used by send() only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "core/config.h"
#include "core/kafka.h"
#include "sinks/http.h"

#define KF_TYPE "kafka"

enum { KK_TOPIC, KK_TIMEOUT, KK_N };

struct kafka_sink {
	rd_kafka_t *rk;
	char *topic;
	int timeout_ms;
	uint64_t seq; /* the message send() waits for */
	int done;     /* its delivery report arrived */
	rd_kafka_resp_err_t result;
};

static int kf_settings(const struct kv *kv, size_t nkv, struct dest_key *k, double *timeout, char *err,
		       size_t errlen)
{
	int rc;
	k[KK_TOPIC] = (struct dest_key){.name = "topic", .required = 1};
	k[KK_TIMEOUT] = (struct dest_key){.name = "timeout"};
	if ((rc = dest_settings(KF_TYPE, kv, nkv, k, KK_N, err, errlen)) != 0 ||
	    (rc = dest_duration(KF_TYPE, &k[KK_TIMEOUT], 10, timeout, err, errlen)) != 0)
		return rc;
	const char *t = k[KK_TOPIC].value;
	size_t n = strlen(t);
	int bad = n > 249 || !strcmp(t, ".") || !strcmp(t, "..");
	for (const char *p = t; *p && !bad; p++)
		bad = !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '.' || *p == '_' || *p == '-');
	if (bad) {
		snprintf(err, errlen,
			 "%s: kafka destination: topic '%s' is not a Kafka topic name (letters, digits, '.', "
			 "'_', "
			 "'-', at most 249)",
			 k[KK_TOPIC].where, t);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int kf_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	struct dest_key k[KK_N];
	double timeout;
	return kf_settings(kv, nkv, k, &timeout, err, errlen);
}

static void kf_destroy(void *priv)
{
	struct kafka_sink *s = priv;
	if (!s)
		return;
	if (s->rk) {
		rd_kafka_flush(s->rk, s->timeout_ms);
		rd_kafka_destroy(s->rk);
	}
	free(s->topic);
	free(s);
}

static void kf_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_sink *s = opaque;
	(void)rk;
	if ((uint64_t)(uintptr_t)m->_private != s->seq)
		return; /* a report for an earlier, given-up message */
	s->done = 1;
	s->result = m->err;
}

static int kf_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
		     size_t errlen)
{
	struct dest_key k[KK_N];
	struct kafka_sink *s;
	rd_kafka_conf_t *conf = NULL;
	double timeout;
	char sub[512];
	int rc;

	if ((rc = kf_settings(kv, nkv, k, &timeout, err, errlen)) != 0)
		return rc;
	if (!env || !env->kafka) {
		snprintf(err, errlen,
			 "kafka destination needs the process's kafka: config (vigil run / gateway / replay "
			 "-c)");
		return -VIGIL_EINVAL;
	}
	if (!(s = calloc(1, sizeof *s)) || !(s->topic = strdup(k[KK_TOPIC].value))) {
		free(s);
		snprintf(err, errlen, "kafka destination: out of memory");
		return -VIGIL_ENOMEM;
	}
	s->timeout_ms = (int)(timeout * 1000);
	if ((rc = kafka_conf_build(env->kafka, "producer", &conf, sub, sizeof sub)) != 0) {
		snprintf(err, errlen, "kafka destination: %s", sub);
		goto fail;
	}
	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_dr_msg_cb(conf, kf_dr);
	if (!(s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, sub, sizeof sub))) {
		rd_kafka_conf_destroy(conf);
		snprintf(err, errlen, "kafka destination: cannot create the producer: %s", sub);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	*priv = s;
	return 0;
fail:
	kf_destroy(s);
	return rc;
}

/* Errors that a later attempt will not fix. */
static int kf_permanent(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_MSG:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION: return 1;
	default: return 0;
	}
}

static void kf_send(void *priv, const struct notification *n, struct sink_result *res)
{
	struct kafka_sink *s = priv;
	const char *key = n->episode ? n->episode : "";
	size_t head, tl;
	char tail[192], *val;
	int rc;

	sink_line_key(n, &head, tail, sizeof tail);
	tl = strlen(tail);
	if (!(val = malloc(head + tl + 1))) {
		sink_result_set(res, SINK_RETRY, 0, "kafka: out of memory");
		return;
	}
	memcpy(val, n->json, head);
	memcpy(val + head, tail, tl + 1);
	s->seq++;
	s->done = 0;
	s->result = RD_KAFKA_RESP_ERR_NO_ERROR;
	rc = kafka_produce(s->rk, s->topic, key, strlen(key), val, head + tl, NULL,
			   (void *)(uintptr_t)s->seq);
	free(val); /* copied by the producer */
	if (rc != 0) {
		sink_result_set(res, SINK_RETRY, 0, "kafka: could not queue the message for topic %s",
				s->topic);
		return;
	}
	rd_kafka_flush(s->rk, s->timeout_ms);
	if (!s->done) {
		/* give up on it locally so the queue does not grow; its late
		 * report (purged or delivered) is ignored by sequence number */
		rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE);
		rd_kafka_poll(s->rk, 0);
		sink_result_set(res, SINK_RETRY, 0,
				"kafka: no acknowledgement from the broker within %d ms (topic %s)",
				s->timeout_ms, s->topic);
		return;
	}
	if (s->result == RD_KAFKA_RESP_ERR_NO_ERROR)
		sink_result_set(res, SINK_OK, 0, "produced to %s", s->topic);
	else
		sink_result_set(res, kf_permanent(s->result) ? SINK_DROP : SINK_RETRY, 0,
				"kafka: topic %s: %s", s->topic, rd_kafka_err2str(s->result));
}

static int kf_flush(void *priv)
{
	struct kafka_sink *s = priv;
	return rd_kafka_flush(s->rk, s->timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -VIGIL_EIO;
}

const struct sink_type sink_type_kafka = {
	.name = KF_TYPE,
	.summary = "JSON alert events to a Kafka topic, keyed by episode (settings: topic, timeout)",
	.create = kf_create,
	.check = kf_check,
	.send = kf_send,
	.flush = kf_flush,
	.destroy = kf_destroy,
};
