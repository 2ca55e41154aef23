/* Decoders turn one input record (a text line or a Kafka message payload)
 * into points. One file per format, registered in consumers/decoders.c.
 *
 * Error contract: decode() returns 0 when the whole record was good and every
 * point was emitted; on a bad record it returns -VIGIL_EINVAL and writes into
 * err a message that starts with "column N: " (1-based byte column within the
 * record) so the caller can prefix the source ("file:line:" or
 * "topic/partition/offset:"). A record is all-or-nothing: on error no point of
 * it has been emitted. Decoders never crash on arbitrary bytes.
 * @thread a decoder instance belongs to one thread. */
#ifndef CONSUMERS_DECODER_H
#define CONSUMERS_DECODER_H

#include <stddef.h>

#include "core/point.h"
#include "core/vigil.h"

#define DECODER_MAX_RECORD (1u << 20) /* longer records are rejected unread */

struct decoder_opts {
	/* Series name for formats that carry none (NAB CSV): usually the file
	 * name without directory and extension. May be NULL. */
	const char *default_series;
	/* collectd: 0 (the default) = collectd's StoreRates is true, as
	 * write_kafka sends by default: COUNTER, DERIVE and ABSOLUTE values are
	 * already per-second rates and are taken as they are. 1 = StoreRates
	 * false (write_http's default): raw counters, turned into rates here.
	 * Set by input.collectd.store_rates / --collectd-store-rates. */
	int collectd_raw;
};

struct decoder_type {
	const char *name;
	const char *summary;
	/* 1 if this record looks like this format (cheap test used by "auto"). */
	int (*sniff)(const char *rec, size_t len);
	/* Optional per-stream state (e.g. CSV header seen, counter rates).
	 * create() fills *priv (may leave NULL); destroy() frees it. */
	int (*create)(const struct decoder_opts *o, void **priv);
	void (*destroy)(void *priv);
	/* Decode one record; see the error contract above. rec is not
	 * NUL-terminated and has no trailing newline. */
	int (*decode)(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		      size_t errlen);
};

/* A decoder stream: a fixed format, or "auto" (sniff each record). */
struct decoder;

/* format: a decoder name or "auto". Returns 0, -VIGIL_ENOENT (unknown name,
 * err lists the known ones) or -VIGIL_ENOMEM. Caller owns *out. */
int decoder_open(const char *format, const struct decoder_opts *o, struct decoder **out, char *err,
		 size_t errlen);
void decoder_close(struct decoder *d);
/* Decode one record with the stream's format (auto: first type whose sniff
 * says yes, in registry order). Checks length and UTF-8 first. */
int decoder_feed(struct decoder *d, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		 size_t errlen);

const struct decoder_type *decoder_find(const char *name);
const struct decoder_type *const *decoder_all(void); /* NULL-terminated */

/* Shared helpers for decoder files (consumers/decode_util.c). */
/* 1 if s[0..n) is valid UTF-8; else 0 and *bad_col = 1-based column. */
int utf8_valid(const char *s, size_t n, size_t *bad_col);
/* Strict finite double from s[0..n): 0 or -VIGIL_EINVAL. */
int parse_finite(const char *s, size_t n, double *out);

#endif
