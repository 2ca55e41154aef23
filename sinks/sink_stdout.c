/* "stdout" destination: one notification JSON object per line on standard
 * output. No settings. Output is stdio-buffered; flush() flushes it.
 * @thread gateway thread only (stdout is shared with nothing else that
 * writes JSON lines). */
#include <stdio.h>

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
	if (fwrite(n->json, 1, n->json_len, stdout) != n->json_len || fputc('\n', stdout) == EOF) {
		clearerr(stdout);
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
