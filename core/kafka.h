/* Kafka client services shared by the members, the gateway intake and the
 * alerts-topic publisher (librdkafka 2.0.2; see shared docs/kafka.md):
 * client construction from a config, a queue-full-tolerant produce, the
 * per-partition checkpoint codec on the state topic, partition scans,
 * metadata and header helpers, and the process counters.
 * @thread every function runs on the caller's thread; handles are owned by
 * the caller. */
#ifndef CORE_KAFKA_H
#define CORE_KAFKA_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "core/config.h"
#include "core/timing.h"
#include "core/vigil.h"

/* What a produced message is, as its delivery-report opaque (_private). */
enum kafka_msg_kind { KAFKA_MSG_ALERT = 1, KAFKA_MSG_STATE = 2, KAFKA_MSG_DLQ = 3, KAFKA_MSG_KINDS = 4 };

#define KAFKA_LAT_WINDOW 4096

/* Counters of one process, logged as `event=stats` and at exit. */
#define KAFKA_LAG_PARTS 256

struct kafka_counters {
	uint64_t records, alerts_published, alerts_suppressed, alerts_failed;
	uint64_t poison, dead_lettered, dropped_unowned, dropped_done;
	uint64_t rebalances, assigned, revoked, lost;
	uint64_t gaps;            /* offset gaps seen (and repaired by a seek) */
	uint64_t split_series;    /* series seen on more than one input partition (counted once each) */
	uint64_t split_untracked; /* points of series beyond the split tracker's limit */
	/* the repartition router (input.keyed_by: none; consumers/kafka_repartition.c) */
	uint64_t routed;        /* raw records whose every line was acknowledged (or dead-lettered) */
	uint64_t routed_lines;  /* lines produced to a repartition topic, keyed by series */
	uint64_t route_keyless; /* lines that decoded to no point, routed by their bytes */
	uint64_t route_multi;   /* lines with points of series of several partitions (routed whole) */
	uint64_t route_retries; /* deliveries that failed and were produced again */
	uint64_t route_commits; /* raw offset commits sent */
	uint64_t checkpoints, checkpoint_skipped, state_bytes, restores;
	uint64_t txn_commits, txn_aborts, txn_fatal; /* processing: exactly_once */
	double restore_ms_total, restore_ms_max;
	double last_checkpoint_at; /* wall-clock seconds of the newest durable checkpoint; 0 = none */
	int64_t lag;               /* sum over owned partitions of high watermark - next */
	uint64_t points;           /* points decoded by this member's engines (gauge, refreshed with lag) */
	uint64_t alloc_failed;     /* of those, lost for want of memory (gauge, as points) */
	uint64_t future;           /* of those, rejected as too far ahead of the wall clock (as points) */
	uint64_t skewed;           /* of those, held by max_skew then refused as a wrong time (as points) */
	uint64_t out_of_order;     /* of those, skipped: not newer than their series' last point (as points);
				    * with keyed_by none mostly points a router delivered late */
	/* per owned partition (the first KAFKA_LAG_PARTS), refreshed with lag */
	struct kafka_part_lag {
		char topic[128];
		int32_t partition;
		int64_t lag; /* high watermark - next offset; -1 = watermark unknown */
	} part_lag[KAFKA_LAG_PARTS];
	size_t npart_lag;
	/* sampled detector update time over this member's engines, live and
	 * dropped (gauge-like, refreshed with lag; summed with timing_add) */
	struct timing det_time[TIMING_KINDS];
	double first_record_at, last_record_at; /* wall-clock seconds of the first / newest
						   processed batch; 0 = none yet */
	uint64_t gw_received, gw_duplicates, gw_bad, gw_submitted;
	uint64_t gw_control_applied, gw_control_bad; /* control-topic commands applied / rejected */
	/* produce-to-delivery latency of alerts handed to destinations by the
	 * gateway: wall clock at hand-off minus the input record's Kafka
	 * timestamp (CreateTime), over the newest KAFKA_LAT_WINDOW alerts */
	double lat_ms[KAFKA_LAT_WINDOW];
	uint64_t lat_n; /* samples ever recorded; the ring holds the newest
			  min(n, KAFKA_LAT_WINDOW) */
};

/* A client for role ("consumer", "producer", "reader", "gateway"; see
 * kafka_conf_build) with an opaque and optional callbacks. Logs and returns
 * -VIGIL_EINVAL on a config error. Caller owns *out (rd_kafka_destroy). */
int kafka_client(const struct kafka_cfg *c, const char *role, rd_kafka_type_t type, void *opaque,
		 void (*rebal)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *),
		 void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), rd_kafka_t **out);

/* Workaround for librdkafka bug 4312 (before 2.3.0; RELIABILITY.md):
 * destroying a subscribed consumer whose group chose the cooperative-sticky
 * assignor but never handed this member an assignment aborts the process.
 * kafka_group_note: call first thing in every rebalance callback of a
 * subscribed consumer (thread-safe; records an ASSIGN, even an empty one).
 * kafka_consumer_close_destroy: rd_kafka_consumer_close then
 * rd_kafka_destroy, except on an affected library when rk is subscribed
 * and was never assigned: then rk is closed, logged as
 * event=consumer_destroy_skipped (what names it) and kept (reachable) until
 * exit; returns 1 in that case, else 0. Call only while the process is
 * shutting down. kafka_close_affected: whether a librdkafka version
 * (rd_kafka_version() form) has the bug. */
void kafka_group_note(rd_kafka_t *rk, rd_kafka_resp_err_t err);
int kafka_consumer_close_destroy(rd_kafka_t *rk, const char *what);
int kafka_close_affected(int version);

/* Apply "PROP=VALUE" strings (a command's --set options) to conf in order.
 * 0, or -1 with err naming the bad one (or librdkafka's reason). */
int kafka_conf_sets(rd_kafka_conf_t *conf, const char *const *sets, size_t n, char *err, size_t errlen);

/* 1 once any client of this process failed to authenticate (SASL/SSL):
 * set by the error callback every kafka_client installs, which runs inside
 * the client's poll calls and logs each error as event=kafka_error. */
int kafka_auth_failed(void);

/* The headers of a poison record's copy on the dead-letter topic
 * (vigil.error, vigil.src, vigil.offset; a new handle the caller owns or
 * hands to the producer). A record larger than the topic takes (the
 * producer's message.max.bytes, at most 1,000,000, less 64 KiB for key and
 * headers) keeps its head: *len is cut, a vigil.truncated header gives the
 * original length, and the cut is logged with topic/partition/offset. */
rd_kafka_headers_t *kafka_dead_letter_headers(rd_kafka_t *prod, const char *err, const char *src,
					      const char *topic, int32_t partition, int64_t offset,
					      size_t *len);

/* Enqueue one message (value and key copied; key NULL = none; headers
 * copied, hdrs stays the caller's) with opaque as the message's _private
 * for the delivery report. While the local queue is full it serves delivery
 * reports and waits, up to about a minute. Returns 0 or -VIGIL_EIO (logged). */
int kafka_produce(rd_kafka_t *prod, const char *topic, const void *key, size_t keylen, const void *val,
		  size_t len, const rd_kafka_headers_t *hdrs, void *opaque);

/* --- checkpoints on the state topic (core/kafka_ckpt.c) --- */

/* One partition's checkpoint: the input offset it covers, the alerts topic
 * high watermarks after the alerts below `next` were acknowledged, and the
 * engine blob. */
struct kafka_ckpt {
	int64_t next;
	int32_t nalert_parts;
	int64_t *alert_hwm; /* nalert_parts entries; owned */
	uint8_t *blob;      /* engine_save output; owned */
	size_t bloblen;
	/* Message keys (in: set by the writer). 0: every chunk keyed
	 * "<topic>/<partition>" (a compacted topic then keeps only the last
	 * chunk of the newest snapshot: fine for one-chunk snapshots only).
	 * 1: each chunk its own key "<topic>/<partition>/<snapshot id>/<index>",
	 * and the writer retires older snapshots with kafka_ckpt_retire once a
	 * newer one is durable, so compaction removes them whole. */
	int per_snapshot_keys;
	struct kafka_ckpt_ref {
		uint64_t sid;         /* snapshot id */
		uint32_t nchunks;     /* its chunk count */
		int legacy;           /* written with per_snapshot_keys 0 (one key) */
	} ref;                        /* out: of the snapshot written or read */
	struct kafka_ckpt_ref *stale; /* out (read): other snapshots still in the
				       * partition for this input, to retire;
				       * owned */
	size_t nstale;
};
void kafka_ckpt_free(struct kafka_ckpt *k);

/* Tombstones (null values) for every message key of snapshot r of
 * topic/partition on state_topic partition state_part, so that a compacted
 * state topic drops it. Call only once a newer snapshot of the same input
 * partition is durable. Queued on prod with the KAFKA_MSG_STATE opaque.
 * Returns 0 or -VIGIL_EIO (logged). */
int kafka_ckpt_retire(rd_kafka_t *prod, const char *state_topic, int32_t state_part, const char *topic,
		      int32_t partition, const struct kafka_ckpt_ref *r);

#define KAFKA_CKPT_CHUNK (512u * 1024u)       /* bytes of blob per state message (< 900 KB) */
#define KAFKA_CKPT_MAX   (4u * 1024u * 1024u) /* refuse larger snapshots (mock retention 5 MiB) */

/* Encode k as state messages (k->ref is set to the snapshot written) for input topic/partition and enqueue
 * them on producer prod to state_topic partition state_part. Returns 0 and the bytes queued, -VIGIL_ELIMIT if
 * the snapshot is too large, -VIGIL_EIO on a queue failure (nothing is durable until the caller's flush
 * succeeds). */
int kafka_ckpt_write(rd_kafka_t *prod, const char *state_topic, int32_t state_part, const char *topic,
		     int32_t partition, struct kafka_ckpt *k, size_t *bytes);
/* The encoding half of kafka_ckpt_write: each state message of snapshot k
 * (its key, its vigil.ckpt header value, and its bytes, all borrowed for
 * the call) goes to fn, in order; a non-zero return from fn stops and is
 * returned. Otherwise as kafka_ckpt_write (k->ref set on success). */
typedef int (*kafka_ckpt_chunk_fn)(void *ctx, const char *key, const char *hdr, const void *chunk,
				   size_t len);
int kafka_ckpt_encode(const char *topic, int32_t partition, struct kafka_ckpt *k, kafka_ckpt_chunk_fn fn,
		      void *ctx, size_t *bytes);
/* Read state_topic partition state_part from its start and keep the newest
 * complete checkpoint of topic/partition (either key scheme; tombstones are
 * skipped); k->ref names it and k->stale every other snapshot of that input
 * partition still present. Returns 0 with *found 0/1 (k
 * filled when 1), -VIGIL_EIO when the partition could not be read in
 * timeout_ms, or -VIGIL_EAGAIN as soon as *stop (may be NULL) is non-zero.
 * reader is a group-less consumer handle (assign only). */
int kafka_ckpt_read(rd_kafka_t *reader, const char *state_topic, int32_t state_part, const char *topic,
		    int32_t partition, int timeout_ms, volatile sig_atomic_t *stop, struct kafka_ckpt *k,
		    int *found);

/* The decoding half of kafka_ckpt_read, without a broker (it is fed the
 * state partition's messages in offset order; tests/fuzz/fuzz_kafka_ckpt.c
 * feeds it bytes). kafka_ckpt_scan_new: a scan for input topic/partition,
 * NULL when out of memory. kafka_ckpt_scan_msg: one message, key[0..keylen)
 * and val[0..len) (val NULL: a tombstone), hdr the NUL-terminated value of
 * its vigil.ckpt header (NULL: none; a bad one is counted and logged at
 * the end). Any bytes are accepted. kafka_ckpt_scan_end: decode the newest
 * complete snapshot into k as kafka_ckpt_read does (a corrupt one is
 * logged as event=ckpt_corrupt naming the input and `what`, the state
 * topic/partition, and is not found), free s; 0 with *found 0/1 or
 * -VIGIL_ENOMEM (k then empty). */
struct kafka_ckpt_scan;
struct kafka_ckpt_scan *kafka_ckpt_scan_new(const char *topic, int32_t partition);
void kafka_ckpt_scan_msg(struct kafka_ckpt_scan *s, const void *key, size_t keylen, const void *val,
			 size_t len, const char *hdr);
int kafka_ckpt_scan_end(struct kafka_ckpt_scan *s, const char *what, struct kafka_ckpt *k, int *found);

/* Read partition `part` of `topic` from offset `from` (clamped to the low
 * watermark; *truncated set when it had to be) to the high watermark at the
 * time of the call, handing every message to fn. Returns 0, -VIGIL_EIO when
 * it could not finish in timeout_ms, or -VIGIL_EAGAIN as soon as *stop (may
 * be NULL) is non-zero (checked at least every 0.5 s). */
typedef void (*kafka_scan_fn)(void *ctx, const rd_kafka_message_t *m);
int kafka_scan_partition(rd_kafka_t *reader, const char *topic, int32_t part, int64_t from, int timeout_ms,
			 volatile sig_atomic_t *stop, kafka_scan_fn fn, void *ctx, int *truncated);

/* Up to max messages (or events) from q without waiting for a full batch:
 * what is already queued, or else the first message to arrive within
 * timeout_ms plus whatever came with it. Serves the rebalance callback like
 * the batch call. Returns the count or -1. */
ssize_t kafka_consume_some(rd_kafka_queue_t *q, int timeout_ms, rd_kafka_message_t **out, size_t max);

/* Partition count of a topic from metadata, or -VIGIL_E*. */
int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t *out);

/* A string header value of m (copied into out, NUL-terminated), 0 or -VIGIL_ENOENT. */
int kafka_header_str(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen);

#endif
