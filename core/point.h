/* A decoded metric point. All strings are borrowed from the decoder and valid
 * only during the emit callback; copy what you keep. */
#ifndef CONSUMERS_POINT_H
#define CONSUMERS_POINT_H

#include <stddef.h>
#include <stdint.h>

#define POINT_MAX_TAGS 32
#define POINT_MAX_NAME 512 /* bytes of a series name */

struct tag {
	const char *key;
	const char *value;
};

struct point {
	const char *name; /* series (metric) name, non-empty, valid UTF-8 */
	struct tag tags[POINT_MAX_TAGS];
	int ntags;    /* in any order; the series table sorts them */
	double ts;    /* epoch seconds, finite */
	double value; /* finite (decoders reject NaN/inf) */
};

/* Called once per decoded point. Return 0 to continue, non-zero to stop
 * decoding this record (the decoder returns that value). */
typedef int (*point_emit_fn)(void *ctx, const struct point *p);

#endif
