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

/* The `http:` map (core/config_http.c): the process's HTTP service (cli/serve.h).
 *   http:
 *     listen: 127.0.0.1:9464         # host:port; unset = no HTTP service
 *     tokens:                        # bearer tokens, each a team's or admin
 *       - {team: payments, token: "env:VIGIL_TOKEN_PAYMENTS"}
 *       - {admin: true, token: "file:/etc/vigil/admin-token"}
 *     open_reads: false              # reads without a token (default: true only without tokens)
 *     max_body: 1048576              # request body limit, bytes
 *     rate_limit: {rate: 20, burst: 40}   # per client address, requests/s (rate 0 = off)
 *     audit_log: /var/lib/vigil/audit.jsonl   # default STATE/audit.jsonl or the log
 *     public_url: https://vigil.example.com   # base URL receivers reach the API at (chart links)
 *     url_key: env:VIGIL_URL_KEY     # signs chart links so PagerDuty and Slack fetch them without a token */
struct http_token {
	char *team;  /* an owner name, or NULL for admin */
	int admin;   /* 1: may do everything */
	char *token; /* the reference "env:VAR" or "file:PATH" (core/secret.h), never the value */
	char *where; /* file:line:col of the entry */
};
struct http_cfg {
	char *listen; /* NULL = no HTTP service */
	struct http_token *tokens;
	size_t ntokens;
	int open_reads;      /* -1: not set (open exactly when there are no tokens) */
	size_t max_body;     /* bytes; 0 = default (1 MiB) */
	size_t max_silences; /* silences the gateway holds (1..10000); 0 = default (10000) */
	double rate, burst;  /* per client address; rate < 0: not set (default 20/s, burst 40) */
	char *audit_log;     /* NULL = default */
	char *public_url;    /* NULL = unknown: no chart links in Slack / PagerDuty */
	char *url_key;       /* reference (env:/file:) to the chart link signing key; NULL = unsigned links */
	char *where;         /* file:line:col of the map, NULL when absent */
};

/* A parsed config file. All strings owned by the struct (kafka_cfg_free). */
#define ENGINE_DEFAULT_MAX_FUTURE 3600.0
/* max_skew default: a wrong time stalls its series for at most a day of
 * data; series that report less often than daily wait one point. */
#define ENGINE_DEFAULT_MAX_SKEW 86400.0

struct kafka_cfg {
	char *path;
	struct kv *props; /* librdkafka properties (kafka:), key/value/where owned */
	size_t nprops;
	/* The topics the engines consume: input.topics with keyed_by series;
	 * with keyed_by none their repartition topics "<topic>.by-series"
	 * (same order as raw_topics). */
	char **topics;
	size_t ntopics;
	/* input.keyed_by: 1 = none (a member routes every point of raw_topics
	 * by its series to `topics`, consumers/kafka_repartition.c); 0 =
	 * series (the default; raw_topics is then NULL). */
	int keyed_none;
	char **raw_topics; /* input.topics as written, with keyed_by none */
	size_t nraw_topics;
	char *format;            /* input.format, default "auto" */
	char *format_where;      /* file:line:col of input.format, NULL when absent */
	char *default_series;    /* input.default_series, may be NULL */
	int collectd_raw;        /* input.collectd.store_rates false: 1; default 0 (rates) */
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
	double max_memory;          /* bytes of series and detector state (engine budget); -1 = unset
				     * (the default, 60 % of physical memory); 0 = no budget */
	double max_future;          /* seconds a point may be ahead of the wall clock; default
				     * ENGINE_DEFAULT_MAX_FUTURE; 0 = no limit */
	double max_skew;            /* seconds a point may be ahead of its series' newest point before
				     * it is held (engine_opts.max_skew); default
				     * ENGINE_DEFAULT_MAX_SKEW; 0 = off */
	int chart_points;           /* chart window per (rule, series); -1 = not set (default), 0 = off */
	double state_reserve;       /* bytes the gateway's state log (`replay --state DIR`) keeps
				     * allocated past its end; -1 = not set (4 MiB), 0 = none */
	enum kafka_mode mode;
	int exactly_once; /* processing: exactly_once (1) or at_least_once (0, the default) */
	struct http_cfg http;
	/* destinations.allow_hosts: the hosts HTTP destinations may reach
	 * (globs, sinks/http.h dest_allow_hosts_set); allow_hosts_where is the
	 * list's file:line:col, NULL when the key is absent (every host). */
	char **allow_hosts;
	size_t nallow_hosts;
	char *allow_hosts_where;
};

/* Load and validate a config file (core/yaml.h). Strict: unknown keys,
 * repeated keys (the error names both positions), wrong node kinds, numbers
 * out of range (checked before any conversion), a second YAML document and
 * unknown librdkafka properties are errors "file:line:column: message".
 * Returns 0 and *out (caller frees with kafka_cfg_free) or -VIGIL_E*. */
int kafka_cfg_load(const char *path, struct kafka_cfg **out, char *err, size_t errlen);
/* The same for a process that does not join Kafka (`vigil replay -c`):
 * kafka.bootstrap.servers, kafka.group.id and input.topics are optional. */
int kafka_cfg_load_local(const char *path, struct kafka_cfg **out, char *err, size_t errlen);
void kafka_cfg_free(struct kafka_cfg *c);

/* Build a librdkafka conf from the passthrough properties plus vigil's role
 * defaults (role: "consumer", "producer", "txn" (the member's transactional
 * producer, processing: exactly_once), "reader", "control", "gateway",
 * "router"; a "control" client is configured like a reader; a "router" is a
 * group consumer in the group "<group.id>-repartition"); a property the user set
 * always wins over a default (a reader's own settings excepted). Caller
 * owns *out. */
int kafka_conf_build(const struct kafka_cfg *c, const char *role, rd_kafka_conf_t **out, char *err,
		     size_t errlen);
/* The transactional.id of a member in processing: exactly_once: the
 * kafka.transactional.id property when set, else "vigil-<group.id>-<group.instance.id>"
 * (stable across restarts of the same member slot, so a restarted member
 * fences its zombie). 0, or -VIGIL_EINVAL when neither is set. */
int kafka_txn_id(const struct kafka_cfg *c, char *out, size_t outlen);
/* The user's value of a librdkafka property, or NULL. */
const char *kafka_cfg_prop(const struct kafka_cfg *c, const char *key);

/* core/config_http.c: parse the `http:` map n into h (zeroed by the caller
 * apart from the "not set" markers http_cfg_init sets); free with
 * http_cfg_free. */
struct vy_ctx;
struct yaml_node_s;
void http_cfg_init(struct http_cfg *h);
int http_cfg_parse(struct vy_ctx *y, const struct yaml_node_s *n, struct http_cfg *h);
void http_cfg_free(struct http_cfg *h);

#endif
