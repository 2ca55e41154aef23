/* Inputs. A consumer reads records from its source, decodes them (one
 * decoder stream per file or per Kafka partition, consumers/decoder.h) and
 * hands the points to engines; it never interprets alerts. Two
 * implementations share the interface:
 *  - file  (consumers/file.c): files or stdin, one record per line, for
 *          `vigil replay`; one engine the caller owns;
 *  - kafka (consumers/kafka_member.c): a member of the input consumer group
 *          (cooperative-sticky), one engine per owned partition, checkpoints
 *          to the state topic, commits only offsets a durable checkpoint
 *          covers, and publishes alert events to the alerts topic
 *          (sinks/alert_topic.h); see docs/kafka.md.
 * The gateway's intake from the alerts topic (consumers/gateway_intake.h) is
 * the consumer on the alerting side.
 *
 * A command (cli/) opens one consumer and owns the loop:
 *     while (!stop && !done) c.ops->step(c.self, timeout, &done), c.ops->tick(...)
 * then finish() and close().
 * @thread a consumer and everything it owns belong to the thread that
 * opened it. */
#ifndef CONSUMERS_CONSUMER_H
#define CONSUMERS_CONSUMER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/kafka.h"
#include "core/vigil.h"
#include "engine/engine.h"

struct decoder_opts; /* consumers/decoder.h */

struct consumer_ops {
	const char *name;
	/* Read and process what is available, waiting at most timeout_ms for
	 * input. Returns the records processed (>= 0) or -VIGIL_E* on a fatal
	 * error (logged). *done becomes 1 when the input has ended (files);
	 * a Kafka member never ends by itself. */
	int (*step)(void *self, int timeout_ms, int *done);
	/* Periodic work due at monotonic time now (checkpoints, gauges). */
	void (*tick)(void *self, double now);
	/* Stop cleanly: final checkpoint and commit. 0 or -VIGIL_E*. */
	int (*finish)(void *self);
	/* Free everything; self is invalid afterwards. */
	void (*close)(void *self);
};

struct consumer {
	const struct consumer_ops *ops;
	void *self;
};

/* Counters of a consumer's input (the file consumer's; the Kafka member
 * reports through struct kafka_counters). */
struct consumer_stats {
	uint64_t lines;    /* records read */
	uint64_t rejected; /* records a decoder refused */
	uint64_t bytes;    /* bytes read (line ends included) */
	uint64_t total;    /* bytes of every input that is a regular file, summed at
			    * open; 0 = unknown (stdin, a pipe) */
};

/* --- file consumer (consumers/file.c) --- */

/* Read paths[0..n) in order ('-' = stdin) into engine e (borrowed), with
 * decoder format (name or "auto") and options dopts (may be NULL; only its
 * format settings such as collectd_raw are used, copied); a format without
 * series names gets each file's base name. A file that cannot be opened or read is reported on
 * stderr and skipped: the consumer's finish() then returns -VIGIL_EIO.
 * Returns 0 or -VIGIL_E* with err filled (unknown format). */
int consumer_file_open(const char *const *paths, size_t n, const char *format,
		       const struct decoder_opts *dopts, struct engine *e, struct consumer *out, char *err,
		       size_t errlen);
void consumer_file_stats(const struct consumer *c, struct consumer_stats *out);

/* --- Kafka member (consumers/kafka_member.c) --- */

/* Join the input group of c (borrowed; and rs; both outlive the consumer),
 * counting into ctr (borrowed). stop (may be NULL) aborts long restores.
 * Returns 0 or -VIGIL_E* (logged). */
int consumer_kafka_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
			volatile sig_atomic_t *stop, struct consumer *out);
/* Refresh the gauges of ctr (lag, points) and return the partitions owned. */
size_t consumer_kafka_gauges(const struct consumer *c);
/* 1 once the member has its first assignment and every owned partition's
 * state is restored (readiness), else 0. */
int consumer_kafka_ready(const struct consumer *c);

#endif
