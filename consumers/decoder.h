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
	/* 1: comment lines ('#...') are passed to decode() too (Prometheus
	 * "# TYPE"); otherwise decoder_feed() skips them. In auto mode a line
	 * starting "# TYPE " goes to the first such format. */
	int wants_comments;
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

/* Rates of cumulative series (consumers/decode_rate.c), for Prometheus
 * counters and OTLP cumulative sums/histograms. One table per stream. A
 * series key is name, suffix and the sorted tags. At most RATE_MAX_SERIES
 * keys per table. */
#define RATE_MAX_SERIES (1u << 20)
struct rate_tab;
struct rate_ent;
int rate_tab_new(struct rate_tab **out); /* 0 or -VIGIL_ENOMEM */
void rate_tab_free(struct rate_tab *t);
/* Find or create (empty) the state of a key; NULL with *rc = -VIGIL_ELIMIT,
 * -VIGIL_ENOMEM or -VIGIL_EINVAL (ntags out of range). The pointer is valid
 * until the next rate_get() on the table. Creating an empty state is the
 * only change, so decoders call it while validating a record. */
struct rate_ent *rate_get(struct rate_tab *t, const char *name, const char *suffix, const struct tag *tags,
			  int ntags, int *rc);
/* Feed cumulative value v at time ts. Returns 1 with *rate = increase per
 * second since the stored sample (after a reset, v < stored, the increase
 * is v: counted again from 0); 0 for the first sample or when ts is not
 * newer than the stored one (then nothing changes). */
int rate_step(struct rate_ent *e, double v, double ts, double *rate);
/* Forget the stored sample (a stale marker): the next one starts afresh. */
void rate_forget(struct rate_ent *e);

/* The first key of a JSON object record ('{' then "key"), copied into
 * out[0..n) without escapes; 0 if found, -1 otherwise. For sniff(). */
int json_first_key(const char *rec, size_t len, char *out, size_t n);

#endif
