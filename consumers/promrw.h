/* Prometheus remote write 1.0 request bodies to points (consumers/promrw.c).
 * A body is a snappy block (not the framed format) holding a protobuf
 * WriteRequest (consumers/remote_write.proto). Each sample of a series becomes a
 * point: name = the "__name__" label, tags = the other labels (a label with
 * an empty value is absent, as in Prometheus), ts = timestamp ms / 1000,
 * value as sent. Not points: staleness markers (the NaN bit pattern
 * 0x7ff0000000000002: the series ended; counted as stale) and other NaN or
 * infinite values (counted as nonfinite). A series that cannot become
 * points is skipped whole and counted (bad_series, first reason kept):
 * no __name__, a label name or value that is not valid UTF-8 or holds a
 * NUL, an empty or repeated label name, more than POINT_MAX_TAGS labels,
 * a name longer than POINT_MAX_NAME.
 * @thread reentrant: no state between calls. */
#ifndef CONSUMERS_PROMRW_H
#define CONSUMERS_PROMRW_H

#include <stddef.h>
#include <stdint.h>

#include "core/point.h"
#include "core/vigil.h"

#define PROMRW_MAX_RAW    (64u << 20) /* uncompressed bytes accepted per request */
#define PROMRW_STALE_BITS 0x7ff0000000000002ULL

struct promrw_stats {
	uint64_t series, samples;  /* read from the body */
	uint64_t points;           /* emitted */
	uint64_t stale, nonfinite; /* samples skipped */
	uint64_t bad_series;       /* series skipped whole */
	char first_bad[256];       /* why the first bad series was skipped */
};

/* Decode body[0..len) and call emit for every point. Returns 0 when the
 * body was readable (bad series only counted), -VIGIL_EINVAL when it is not
 * (not snappy, uncompressed size over PROMRW_MAX_RAW, not a WriteRequest:
 * err says which), -VIGIL_ENOMEM, or emit's non-zero return (decoding
 * stopped there). st is zeroed first. */
int promrw_decode(const void *body, size_t len, point_emit_fn emit, void *ctx, struct promrw_stats *st,
		  char *err, size_t errlen);

/* The reverse, for tests and benchmarks: a snappy-compressed WriteRequest
 * of n series, series i with labels names[i][0..nl[i]) = values[i][..] and
 * one sample (values v[i], timestamp ms[i]). *out is malloc'd (caller
 * frees). 0 or -VIGIL_ENOMEM. */
int promrw_encode(size_t n, const size_t *nl, const char *const *const *names,
		  const char *const *const *values, const double *v, const int64_t *ms, char **out,
		  size_t *outlen);

#endif
