/* Kafka client helpers declared in core/kafka.h: client construction,
 * produce with back-pressure, partition scans, metadata and headers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/kafka.h"
#include "core/log.h"

static volatile sig_atomic_t auth_failed;

/* Errors librdkafka reports to the application (served by poll calls): all
 * logged with the client's name; an authentication failure is remembered
 * for kafka_auth_failed(). The reason text names brokers and mechanisms,
 * never a credential. */
static void client_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
		auth_failed = 1;
	LOG_WARN("kafka", "event=kafka_error client=%s err=%s reason=\"%s\"", rd_kafka_name(rk),
		 rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

int kafka_auth_failed(void)
{
	return auth_failed != 0;
}

int kafka_client(const struct kafka_cfg *c, const char *role, rd_kafka_type_t type, void *opaque,
		 void (*rebal)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *),
		 void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), rd_kafka_t **out)
{
	rd_kafka_conf_t *conf;
	char err[512];
	int rc = kafka_conf_build(c, role, &conf, err, sizeof err);
	if (rc) {
		LOG_ERR("kafka", "event=config_error role=%s err=\"%s\"", role, err);
		return rc;
	}
	rd_kafka_conf_set_opaque(conf, opaque);
	rd_kafka_conf_set_error_cb(conf, client_error_cb);
	if (rebal)
		rd_kafka_conf_set_rebalance_cb(conf, rebal);
	if (dr)
		rd_kafka_conf_set_dr_msg_cb(conf, dr);
	*out = rd_kafka_new(type, conf, err, sizeof err);
	if (*out == NULL) {
		LOG_ERR("kafka", "event=client_failed role=%s err=\"%s\"", role, err);
		rd_kafka_conf_destroy(conf);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static size_t dead_letter_cap(rd_kafka_t *prod)
{
	char v[32];
	size_t n = sizeof v;
	long mmb = 1000000;
	if (rd_kafka_conf_get(rd_kafka_conf(prod), "message.max.bytes", v, &n) == RD_KAFKA_CONF_OK)
		mmb = strtol(v, NULL, 10);
	if (mmb > 1000000)
		mmb = 1000000; /* the broker's default max.message.bytes, whatever the producer allows */
	return mmb > 128 * 1024 ? (size_t)mmb - 64 * 1024 : (size_t)mmb / 2;
}

rd_kafka_headers_t *kafka_dead_letter_headers(rd_kafka_t *prod, const char *err, const char *src,
					      const char *topic, int32_t partition, int64_t offset,
					      size_t *len)
{
	char off[32], full[32];
	size_t cap = dead_letter_cap(prod);
	rd_kafka_headers_t *h = rd_kafka_headers_new(4);
	snprintf(off, sizeof off, "%" PRId64, offset);
	rd_kafka_header_add(h, "vigil.error", -1, err, -1);
	rd_kafka_header_add(h, "vigil.src", -1, src, -1);
	rd_kafka_header_add(h, "vigil.offset", -1, off, -1);
	if (*len > cap) {
		snprintf(full, sizeof full, "%zu", *len);
		rd_kafka_header_add(h, "vigil.truncated", -1, full, -1);
		LOG_WARN("kafka",
			 "event=dead_letter_truncated topic=%s partition=%" PRId32 " offset=%" PRId64
			 " bytes=%zu kept=%zu",
			 topic, partition, offset, *len, cap);
		*len = cap;
	}
	return h;
}

int kafka_produce(rd_kafka_t *prod, const char *topic, const void *key, size_t keylen, const void *val,
		  size_t len, const rd_kafka_headers_t *hdrs, void *opaque)
{
	for (int tries = 0;; tries++) {
		rd_kafka_headers_t *h = hdrs ? rd_kafka_headers_copy(hdrs) : NULL;
		rd_kafka_resp_err_t e = rd_kafka_producev(
			prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_KEY(key, keylen),
			RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (e == 0)
			return 0;
		if (h)
			rd_kafka_headers_destroy(h);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 600) {
			LOG_ERR("kafka", "event=produce_failed topic=%s err=\"%s\"", topic,
				rd_kafka_err2str(e));
			return -VIGIL_EIO;
		}
		rd_kafka_poll(prod, 100);
	}
}

/* No rd_kafka_query_watermark_offsets here: in 2.0.2 it waits without a
 * deadline while the broker keeps failing the ListOffsets request (seen with
 * transport errors injected on the mock: a restore, and so a SIGTERM, hung
 * for minutes). The scan reads from `from` (or the beginning) until the
 * partition-EOF event (the reader has enable.partition.eof and
 * auto.offset.reset=earliest), with its own deadline and stop check. Offsets
 * of the mock are contiguous, so a first offset above `from` means the head
 * was cut (retention); on a real broker transaction markers can make this
 * a false alarm, which only costs a warning. */
/* rd_kafka_consume_batch_queue alone waits until max messages arrived or
 * the timeout passed, which at a low input rate adds the whole timeout to
 * every alert's latency. */
ssize_t kafka_consume_some(rd_kafka_queue_t *q, int timeout_ms, rd_kafka_message_t **out, size_t max)
{
	ssize_t n = rd_kafka_consume_batch_queue(q, 0, out, max);
	if (n != 0 || timeout_ms <= 0)
		return n;
	rd_kafka_message_t *m = rd_kafka_consume_queue(q, timeout_ms);
	if (m == NULL)
		return 0;
	out[0] = m;
	n = max > 1 ? rd_kafka_consume_batch_queue(q, 0, out + 1, max - 1) : 0;
	return n < 0 ? 1 : n + 1;
}

int kafka_scan_partition(rd_kafka_t *reader, const char *topic, int32_t part, int64_t from, int timeout_ms,
			 volatile sig_atomic_t *stop, kafka_scan_fn fn, void *ctx, int *truncated)
{
	double deadline = clock_mono() + timeout_ms / 1000.0;
	int rc = 0, first = 1;

	*truncated = 0;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	if (l == NULL)
		return -VIGIL_ENOMEM;
	rd_kafka_topic_partition_list_add(l, topic, part)->offset =
		from >= 0 ? from : RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_resp_err_t e = rd_kafka_assign(reader, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		LOG_WARN("kafka", "event=reader_assign_failed topic=%s err=\"%s\"", topic,
			 rd_kafka_err2str(e));
		return -VIGIL_EIO;
	}
	for (;;) {
		if (stop && *stop) {
			rc = -VIGIL_EAGAIN;
			break;
		}
		if (clock_mono() > deadline) {
			LOG_WARN("kafka", "event=scan_timeout topic=%s partition=%" PRId32 " from=%" PRId64,
				 topic, part, from);
			rc = -VIGIL_EIO;
			break;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(reader, 100);
		if (m == NULL)
			continue;
		int done = 0;
		if (m->rkt && strcmp(rd_kafka_topic_name(m->rkt), topic) == 0 && m->partition == part) {
			if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				if (first && from >= 0 && m->offset > from)
					*truncated = 1;
				done = 1;
			} else if (m->err) {
				LOG_WARN("kafka",
					 "event=scan_error topic=%s partition=%" PRId32 " err=\"%s\"", topic,
					 part, rd_kafka_message_errstr(m));
			} else {
				if (first && from >= 0 && m->offset > from)
					*truncated = 1;
				first = 0;
				if (m->offset >= from)
					fn(ctx, m);
			}
		}
		rd_kafka_message_destroy(m);
		if (done)
			break;
	}
	rd_kafka_assign(reader, NULL);
	return rc;
}

int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t *out)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	int rc = -VIGIL_EIO;
	if (t == NULL)
		return -VIGIL_ENOMEM;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
	if (e == 0 && md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) {
		*out = md->topics[0].partition_cnt;
		rc = 0;
	} else {
		LOG_WARN("kafka", "event=metadata_failed topic=%s err=\"%s\"", topic,
			 rd_kafka_err2str(e ? e
					    : (md && md->topic_cnt ? md->topics[0].err
								   : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)));
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return rc;
}

int kafka_header_str(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t n;
	if (outlen == 0 || rd_kafka_message_headers(m, &h) != 0 || h == NULL ||
	    rd_kafka_header_get_last(h, name, &v, &n) != 0 || v == NULL)
		return -VIGIL_ENOENT;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

int kafka_conf_sets(rd_kafka_conf_t *conf, const char *const *sets, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		char k[256];
		const char *eq = strchr(sets[i], '=');
		if (eq == NULL || (size_t)(eq - sets[i]) >= sizeof k) {
			snprintf(err, errlen, "--set wants PROP=VALUE, got '%s'", sets[i]);
			return -1;
		}
		memcpy(k, sets[i], (size_t)(eq - sets[i]));
		k[eq - sets[i]] = '\0';
		if (rd_kafka_conf_set(conf, k, eq + 1, err, errlen) != RD_KAFKA_CONF_OK)
			return -1;
	}
	return 0;
}
