/* The YAML config file of a vigil process (`run`, `gateway`, `replay -c`):
 * librdkafka properties, input topics and format, the state/alerts/dead
 * letter topics, rules and owners, intervals and limits. The loader is
 * strict: unknown keys, wrong types, repeated keys and unknown librdkafka
 * properties are errors "file:line:column: message"; secret-looking values
 * never appear in messages. See README "Running as a Kafka consumer group".
 * @thread any; a loaded config is immutable and may be shared read-only. */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "core/vigil.h"

enum kafka_mode { KAFKA_MODE_MEMBER = 0, KAFKA_MODE_GATEWAY, KAFKA_MODE_SINGLE };

/* A parsed config file. All strings owned by the struct (kafka_cfg_free). */
struct kafka_cfg {
	char *path;
	struct kv *props; /* librdkafka properties (kafka:), key/value/where owned */
	size_t nprops;
	char **topics; /* input.topics */
	size_t ntopics;
	char *format;            /* input.format, default "auto" */
	char *default_series;    /* input.default_series, may be NULL */
	char *state_topic;       /* default "<first input topic>.state" */
	char *alerts_topic;      /* default "alerts" */
	char *dead_letter_topic; /* may be NULL: poison is then only counted and logged */
	char **rules;
	size_t nrules;
	char *owners;              /* may be NULL */
	char *gateway_group;       /* group.id of the gateway; default "<group.id>-gateway" */
	char *gateway_state_topic; /* the gateway's per-partition snapshots; default "<alerts_topic>.state" */
	char *control_topic;       /* on-call control commands keyed by owner, partitioned like the
				    * alerts topic; default "<alerts_topic>.control" */
	double checkpoint_interval; /* seconds, default 5 */
	double stats_interval;      /* seconds between stats log lines, default 10; 0 = off */
	int batch_size;             /* consume_batch_queue size, default 1000 */
	size_t max_series;          /* per engine; 0 = engine default */
	enum kafka_mode mode;
};

/* Load and validate a config file (core/yaml.h). Strict: unknown keys,
 * repeated keys (the error names both positions), wrong node kinds, numbers
 * out of range (checked before any conversion), a second YAML document and
 * unknown librdkafka properties are errors "file:line:column: message".
 * Returns 0 and *out (caller frees with kafka_cfg_free) or -VIGIL_E*. */
int kafka_cfg_load(const char *path, struct kafka_cfg **out, char *err, size_t errlen);
void kafka_cfg_free(struct kafka_cfg *c);

/* Build a librdkafka conf from the passthrough properties plus vigil's role
 * defaults (role: "consumer", "producer", "reader", "control", "gateway"; a
 * "control" client is configured like a reader); a property the user set
 * always wins over a default (a reader's own settings excepted). Caller
 * owns *out. */
int kafka_conf_build(const struct kafka_cfg *c, const char *role, rd_kafka_conf_t **out, char *err,
		     size_t errlen);
/* The user's value of a librdkafka property, or NULL. */
const char *kafka_cfg_prop(const struct kafka_cfg *c, const char *key);

#endif
