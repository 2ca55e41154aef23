/* The decode step shared by every consumer: one record through a decoder
 * stream into an engine.
 * @thread the caller's; dec and e belong to it. */
#ifndef CONSUMERS_FEED_H
#define CONSUMERS_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "consumers/decoder.h"
#include "engine/engine.h"

/* Decode rec (len bytes, no line end) and hand each point to e with source
 * and pos. A bad record is all-or-nothing: no point reaches e, it is
 * reported through engine_note_reject ("source:pos: column N: ...") and
 * -VIGIL_EINVAL is returned with the decoder's message in err. */
int feed_record(struct decoder *dec, struct engine *e, const char *source, int64_t pos, const char *rec,
		size_t len, char *err, size_t errlen);

#endif
