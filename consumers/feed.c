/* See feed.h. */
#include "consumers/feed.h"

struct feed_ctx {
	struct engine *e;
	const char *source;
	int64_t pos;
};

static int feed_emit(void *ctx, const struct point *p)
{
	struct feed_ctx *fc = ctx;
	engine_point(fc->e, p, fc->source, fc->pos);
	return 0;
}

int feed_record(struct decoder *dec, struct engine *e, const char *source, int64_t pos, const char *rec,
		size_t len, char *err, size_t errlen)
{
	struct feed_ctx fc = {e, source, pos};
	if (decoder_feed(dec, rec, len, feed_emit, &fc, err, errlen) != 0) {
		engine_note_reject(e, source, pos, err);
		return -VIGIL_EINVAL;
	}
	return 0;
}
