/* Fuzz target: every registered decoder (consumers/decoders.c) and the
 * auto-detecting stream. The input is split at '\n' into records, as the file
 * consumer does; every record goes through one stream per registered format
 * and one "auto" stream, so a decoder added to the registry later is fuzzed
 * without touching this file. Checks the decoder contract of
 * consumers/decoder.h: a bad record says "column N: ...", a good one emits
 * points with a non-empty name, finite ts and value. */
#include <math.h>
#include <string.h>

#include "consumers/decoder.h"
#include "tests/fuzz/fuzz.h"

static int check_point(void *ctx, const struct point *p)
{
	size_t *n = ctx;
	if (p->name == NULL || p->name[0] == '\0' || !isfinite(p->ts) || !isfinite(p->value) ||
	    p->ntags < 0 || p->ntags > POINT_MAX_TAGS)
		abort(); /* a decoder broke its contract */
	for (int i = 0; i < p->ntags; i++)
		if (p->tags[i].key == NULL || p->tags[i].value == NULL)
			abort();
	(*n)++;
	return 0;
}

static void run_stream(const char *format, const uint8_t *data, size_t size)
{
	struct decoder_opts o = {.default_series = "fuzz"};
	struct decoder *d = NULL;
	char err[256];
	size_t start = 0, npoints = 0;

	if (decoder_open(format, &o, &d, err, sizeof err) != 0)
		abort(); /* every registered name must open */
	while (start <= size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;
		int rc = decoder_feed(d, (const char *)data + start, end - start, check_point, &npoints, err,
				      sizeof err);
		if (rc == -VIGIL_EINVAL && strncmp(err, "column ", 7) != 0)
			abort(); /* the error contract: a position first */
		start = end + 1;
	}
	decoder_close(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct decoder_type *const *all = decoder_all();
	for (size_t i = 0; all[i] != NULL; i++)
		run_stream(all[i]->name, data, size);
	run_stream("auto", data, size);
	return 0;
}
