/* "stdout" destination: one notification JSON object per line on standard
 * output, with its "idempotency_key" added (as the file destination, see
 * sink_line_key). No settings.
 *
 * send() writes the line and flushes standard output before it answers:
 * SINK_OK means the line is in the kernel (the pipe or file behind stdout)
 * and is final (sinks/sink.h: the Kafka gateway records it as delivered,
 * and the member that takes the alerts partition over after a kill -9 of
 * this one does not write it again). A failed write or flush is SINK_RETRY
 * (part of the line may have gone out: the retry can repeat it).
 * @thread the delivery threads of every stdout destination of the process
 * (stdout's own lock keeps each line whole; nothing else writes JSON lines
 * to stdout). */
#include <stdio.h>
#include <string.h>

#include "sinks/sink.h"

/* The instance holds nothing; a non-NULL token keeps priv meaningful. */
static char stdout_token;

static int stdout_check(const struct kv *kv, size_t nkv, char *err, size_t errlen)
{
	if (nkv > 0) {
		snprintf(err, errlen, "%s: stdout destination: unknown setting '%s' (it takes none)",
			 kv[0].where ? kv[0].where : "?", kv[0].key ? kv[0].key : "");
		return -VIGIL_EINVAL;
	}
	return 0;
}

static int stdout_create(const struct sink_env *env, const struct kv *kv, size_t nkv, void **priv, char *err,
			 size_t errlen)
{
	(void)env;
	int rc = stdout_check(kv, nkv, err, errlen);
	if (rc == 0)
		*priv = &stdout_token;
	return rc;
}

static void stdout_send(void *priv, const struct notification *n, struct sink_result *res)
{
	(void)priv;
	size_t head, tl;
	char tail[192];
	int ok;

	sink_line_key(n, &head, tail, sizeof tail);
	tl = strlen(tail);
	flockfile(stdout);
	ok = fwrite(n->json, 1, head, stdout) == head && fwrite(tail, 1, tl, stdout) == tl &&
	     fputc('\n', stdout) != EOF && fflush(stdout) == 0;
	if (!ok)
		clearerr(stdout);
	funlockfile(stdout);
	if (!ok) {
		sink_result_set(res, SINK_RETRY, 0, "write to standard output failed");
		return;
	}
	sink_result_set(res, SINK_OK, 0, "written");
}

static int stdout_flush(void *priv)
{
	(void)priv;
	if (fflush(stdout) != 0) {
		clearerr(stdout);
		return -VIGIL_EIO;
	}
	return 0;
}

static void stdout_destroy(void *priv)
{
	(void)priv;
	fflush(stdout);
}

const struct sink_type sink_type_stdout = {
	.name = "stdout",
	.summary = "one JSON object per line on standard output",
	.create = stdout_create,
	.check = stdout_check,
	.send = stdout_send,
	.flush = stdout_flush,
	.destroy = stdout_destroy,
};
