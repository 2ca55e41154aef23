/* Destinations: where the gateway delivers an owner's alerts. One file per
 * destination type, registered in sinks/sinks.c. A destination only sends;
 * the gateway owns policy (dedup, retries, routing).
 * @thread called from the gateway's thread only. */
#ifndef SINKS_SINK_H
#define SINKS_SINK_H

#include <stddef.h>

#include "core/vigil.h"
#include "core/alert.h"

enum sink_verdict { SINK_OK = 0, SINK_RETRY, SINK_DROP };

/* A notification: one alert (v1) with its identity and routing. */
struct notification {
	const struct alert_event *ev;
	const char *fingerprint;
	const char *episode;
	const char *owner;
	const char *json; /* alert_to_json() rendering plus identity, one line, no newline */
	size_t json_len;
};

struct sink_type {
	const char *name;
	const char *summary;
	/* Build an instance from settings (strings borrowed for the call).
	 * Unknown keys are an error naming kv[i].where. Caller owns *priv. */
	int (*create)(const struct kv *kv, size_t nkv, void **priv, char *err, size_t errlen);
	/* Validate settings exactly as create() would, without side effects
	 * (no file created, no connection): what `vigil rules check` runs.
	 * 0 or -VIGIL_EINVAL with the same message create() would give. */
	int (*check)(const struct kv *kv, size_t nkv, char *err, size_t errlen);
	enum sink_verdict (*send)(void *priv, const struct notification *n);
	/* Flush buffered output (optional). */
	int (*flush)(void *priv);
	void (*destroy)(void *priv);
};

/* Built-in destination types (one file each), listed in sinks/sinks.c. */
extern const struct sink_type sink_type_stdout; /* sinks/sink_stdout.c */
extern const struct sink_type sink_type_file;   /* sinks/sink_file.c */

const struct sink_type *sink_find(const char *name);
const struct sink_type *const *sink_all(void); /* NULL-terminated */

#endif
