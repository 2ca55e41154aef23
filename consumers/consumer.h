/* vigil as a Kafka consumer group (librdkafka 2.0.2; see shared docs/kafka.md).
 *
 * Three roles share one YAML config file (kafka_cfg_load):
 *  - member:  joins the input consumer group (cooperative-sticky), runs one
 *             engine per owned partition, checkpoints each partition's state
 *             to the state topic, commits only offsets a durable checkpoint
 *             covers, and publishes alert events as JSON to the alerts topic;
 *  - gateway: its own consumer group on the alerts topic, feeding the central
 *             gateway and dropping duplicates by alert id;
 *  - single:  both in one process (one thread).
 *
 * Alert identity on the alerts topic: alert_id = "<partition>:<offset>:<rule>"
 * (header "alert_id" and JSON field "alert_id"); with the series fingerprint it
 * is the dedup key, because one input record may carry several series.
 *
 * @thread every function here runs on the caller's thread; the loops own
 * their librdkafka handles and all partition state (docs/kafka.md §3). */
#ifndef CONSUMERS_CONSUMER_H
#define CONSUMERS_CONSUMER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "core/vigil.h"

enum kafka_mode { KAFKA_MODE_MEMBER = 0, KAFKA_MODE_GATEWAY, KAFKA_MODE_SINGLE };

/* A parsed config file. All strings owned by the struct (kafka_cfg_free). */
struct kafka_cfg {
	char *path;
	struct kv *props; /* librdkafka properties (kafka:), key/value/where owned */
	size_t nprops;
	char **topics; /* input.topics */
	size_t ntopics;
	char *format;            /* input.format, default "auto" */
	char *default_series;    /* input.default_series, may be NULL */
	char *state_topic;       /* default "<first input topic>.state" */
	char *alerts_topic;      /* default "alerts" */
	char *dead_letter_topic; /* may be NULL: poison is then only counted and logged */
	char **rules;
	size_t nrules;
	char *owners;               /* may be NULL */
	char *gateway_group;        /* group.id of the gateway; default "<group.id>-gateway" */
	double checkpoint_interval; /* seconds, default 5 */
	double stats_interval;      /* seconds between stats log lines, default 10; 0 = off */
	int batch_size;             /* consume_batch_queue size, default 1000 */
	size_t max_series;          /* per engine; 0 = engine default */
	enum kafka_mode mode;
};

/* Load and validate a config file. Strict: unknown keys, wrong types and
 * unknown librdkafka properties are errors "file:line:column: message".
 * Returns 0 and *out (caller frees with kafka_cfg_free) or -VIGIL_E*. */
int kafka_cfg_load(const char *path, struct kafka_cfg **out, char *err, size_t errlen);
void kafka_cfg_free(struct kafka_cfg *c);

/* Build a librdkafka conf from the passthrough properties plus vigil's role
 * defaults (role: "consumer", "producer", "reader", "gateway"); a property the
 * user set always wins over a default. Caller owns *out. */
int kafka_conf_build(const struct kafka_cfg *c, const char *role, rd_kafka_conf_t **out, char *err,
		     size_t errlen);
/* The user's value of a librdkafka property, or NULL. */
const char *kafka_cfg_prop(const struct kafka_cfg *c, const char *key);

#define KAFKA_LAT_WINDOW 4096

/* Counters of one process, logged as `event=stats` and at exit. */
struct kafka_counters {
	uint64_t records, alerts_published, alerts_suppressed, alerts_failed;
	uint64_t poison, dead_lettered, dropped_unowned, dropped_done;
	uint64_t rebalances, assigned, revoked, lost;
	uint64_t gaps; /* offset gaps seen (and repaired by a seek) */
	uint64_t checkpoints, checkpoint_skipped, state_bytes, restores;
	double restore_ms_total, restore_ms_max;
	int64_t lag;     /* sum over owned partitions of high watermark - next */
	uint64_t points; /* points decoded by this member's engines (gauge, refreshed with lag) */
	double first_record_at, last_record_at; /* wall-clock seconds of the first / newest
						   processed batch; 0 = none yet */
	uint64_t gw_received, gw_duplicates, gw_bad, gw_submitted;
	/* produce-to-delivery latency of alerts handed to destinations by the
	 * gateway: wall clock at hand-off minus the input record's Kafka
	 * timestamp (CreateTime), over the newest KAFKA_LAT_WINDOW alerts */
	double lat_ms[KAFKA_LAT_WINDOW];
	uint64_t lat_n; /* samples ever recorded; the ring holds the newest
			  min(n, KAFKA_LAT_WINDOW) */
};

/* Run a member / gateway / single-mode process until *stop becomes non-zero
 * (set it from a SIGTERM/SIGINT handler), then finish the batch, checkpoint,
 * commit and close. Returns 0 on a clean stop, -VIGIL_E* on a startup or
 * fatal error (logged). */
int kafka_run(const struct kafka_cfg *c, enum kafka_mode mode, volatile sig_atomic_t *stop);

/* --- checkpoints on the state topic (consumers/kafka_state.c) --- */

/* One partition's checkpoint: the input offset it covers, the alerts topic
 * high watermarks after the alerts below `next` were acknowledged, and the
 * engine blob. */
struct kafka_ckpt {
	int64_t next;
	int32_t nalert_parts;
	int64_t *alert_hwm; /* nalert_parts entries; owned */
	uint8_t *blob;      /* engine_save output; owned */
	size_t bloblen;
};
void kafka_ckpt_free(struct kafka_ckpt *k);

#define KAFKA_CKPT_CHUNK (512u * 1024u)       /* bytes of blob per state message (< 900 KB) */
#define KAFKA_CKPT_MAX   (4u * 1024u * 1024u) /* refuse larger snapshots (mock retention 5 MiB) */

/* Encode k as state messages for input topic/partition and enqueue them on
 * producer prod to state_topic partition state_part. Returns 0 and the bytes
 * queued, -VIGIL_ELIMIT if the snapshot is too large, -VIGIL_EIO on a queue
 * failure (nothing is durable until the caller's flush succeeds). */
int kafka_ckpt_write(rd_kafka_t *prod, const char *state_topic, int32_t state_part, const char *topic,
		     int32_t partition, const struct kafka_ckpt *k, size_t *bytes);
/* Read state_topic partition state_part from its start and keep the newest
 * complete checkpoint of topic/partition. Returns 0 with *found 0/1 (k
 * filled when 1), -VIGIL_EIO when the partition could not be read in
 * timeout_ms, or -VIGIL_EAGAIN as soon as *stop (may be NULL) is non-zero.
 * reader is a group-less consumer handle (assign only). */
int kafka_ckpt_read(rd_kafka_t *reader, const char *state_topic, int32_t state_part, const char *topic,
		    int32_t partition, int timeout_ms, volatile sig_atomic_t *stop, struct kafka_ckpt *k,
		    int *found);

/* Read partition `part` of `topic` from offset `from` (clamped to the low
 * watermark; *truncated set when it had to be) to the high watermark at the
 * time of the call, handing every message to fn. Returns 0, -VIGIL_EIO when
 * it could not finish in timeout_ms, or -VIGIL_EAGAIN as soon as *stop (may
 * be NULL) is non-zero (checked at least every 0.5 s). */
typedef void (*kafka_scan_fn)(void *ctx, const rd_kafka_message_t *m);
int kafka_scan_partition(rd_kafka_t *reader, const char *topic, int32_t part, int64_t from, int timeout_ms,
			 volatile sig_atomic_t *stop, kafka_scan_fn fn, void *ctx, int *truncated);

/* Partition count of a topic from metadata, or -VIGIL_E*. */
int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t *out);

/* A string header value of m (copied into out, NUL-terminated), 0 or -VIGIL_ENOENT. */
int kafka_header_str(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen);

/* Monotonic seconds. */
double kafka_now(void);
/* Wall-clock seconds since the epoch (comparable with Kafka timestamps). */
double kafka_wall(void);

#endif
