/* The config file of `vigil run` / `vigil gateway` (YAML, strict) and the
 * librdkafka confs built from it. See core/config.h.
 *
 *   kafka:                       # librdkafka properties, passed through
 *     bootstrap.servers: 127.0.0.1:9092
 *     sasl.password: env:VIGIL_KAFKA_PASSWORD   # credentials: env:/file: refs
 *     group.id: vigil
 *   input: {topics: [metrics], format: auto, default_series: NAME,
 *           keyed_by: series}   # series | none (route by series to <topic>.by-series)
 *   state_topic: metrics.state   # default <first input topic>.state
 *   alerts_topic: alerts         # default alerts
 *   dead_letter_topic: metrics.dlq
 *   rules: [data/demo/rules]
 *   owners: data/demo/owners.yaml
 *   gateway_group: vigil-gateway # default <group.id>-gateway
 *   gateway_state_topic: alerts.state  # default <alerts_topic>.state
 *   control_topic: alerts.control # on-call control commands (silences, acks),
 *                                 # keyed by owner, as many partitions as the
 *                                 # alerts topic; default <alerts_topic>.control
 *   checkpoint_interval: 5s
 *   stats_interval: 10s
 *   batch_size: 1000
 *   max_series: 0
 *   max_future: 1h  # points further ahead of the wall clock are rejected; 0 = no limit
 *   max_skew: 1d    # a point further ahead of its series' newest is held until the next; 0 = off
 *   max_memory: 8GiB # memory budget for series and detector states; default 60 % of RAM; 0 = none
 *   chart_points: 120            # series window sent with each alert (0 = off, <= 300)
 *   state_reserve: 4MiB          # `vigil replay --state DIR`: disk space the gateway's log
 *                                # keeps allocated past its end (0 = none, <= 16GiB)
 *   mode: member | gateway | single
 *   processing: at_least_once | exactly_once   # default at_least_once; see
 *                                # consumers/kafka_txn.c (real Kafka >= 2.5 only)
 *   http: {listen: ..., tokens: [...], ...}   # see core/config.h struct http_cfg
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/secret.h"
#include "core/yaml.h"

static const char *const top_keys[] = {"kafka",
				       "input",
				       "state_topic",
				       "alerts_topic",
				       "dead_letter_topic",
				       "rules",
				       "owners",
				       "gateway_group",
				       "gateway_state_topic",
				       "control_topic",
				       "checkpoint_interval",
				       "stats_interval",
				       "batch_size",
				       "max_series",
				       "max_future",
				       "max_skew",
				       "max_memory",
				       "chart_points",
				       "mode",
				       "http",
				       "destinations",
				       "processing",
				       "state_reserve",
				       NULL};
enum {
	TK_KAFKA,
	TK_INPUT,
	TK_STATE,
	TK_ALERTS,
	TK_DLQ,
	TK_RULES,
	TK_OWNERS,
	TK_GW_GROUP,
	TK_GW_STATE,
	TK_CONTROL,
	TK_CHECKPOINT,
	TK_STATS,
	TK_BATCH,
	TK_MAX_SERIES,
	TK_MAX_FUTURE,
	TK_MAX_SKEW,
	TK_MAX_MEMORY,
	TK_CHART_POINTS,
	TK_MODE,
	TK_HTTP,
	TK_DEST,
	TK_PROCESSING,
	TK_STATE_RESERVE,
	TK_N
};

static const char *const input_keys[] = {"topics", "format", "default_series", "collectd", "keyed_by", NULL};
enum { IK_TOPICS, IK_FORMAT, IK_DEFAULT_SERIES, IK_COLLECTD, IK_KEYED_BY, IK_N };
static const char *const collectd_keys[] = {"store_rates", NULL};

/* input.collectd: {store_rates: true|false}; see consumers/decoder.h. */
static int load_collectd(struct vy_ctx *y, const yaml_node_t *n, struct kafka_cfg *c)
{
	yaml_node_t *v[2], *k[2];
	const char *t;
	int rc;

	if ((rc = vy_map_fields(y, n, "input.collectd", collectd_keys, v, k)) != 0)
		return rc;
	if (v[0] == NULL)
		return 0;
	if ((rc = vy_text(y, v[0], "input.collectd.store_rates", &t)) != 0)
		return rc;
	if (strcmp(t, "true") == 0)
		c->collectd_raw = 0;
	else if (strcmp(t, "false") == 0)
		c->collectd_raw = 1;
	else
		return vy_fail(y, v[0],
			       "input.collectd.store_rates must be true or false (collectd's StoreRates)");
	return 0;
}

/* librdkafka properties that hold a credential: their value may be an
 * `env:NAME` or `file:PATH` reference (core/secret.h), resolved when a
 * client is built; neither the value nor a resolved reference is ever
 * logged or put into an error message. */
static const char *const secret_props[] = {"sasl.password",
					   "ssl.key.password",
					   "ssl.keystore.password",
					   "ssl.key.pem",
					   "sasl.oauthbearer.client.secret",
					   NULL};

static int is_secret_prop(const char *key)
{
	for (size_t i = 0; secret_props[i]; i++)
		if (strcmp(secret_props[i], key) == 0)
			return 1;
	return 0;
}

static int check_prop(struct vy_ctx *y, const yaml_node_t *kn, rd_kafka_conf_t *probe, const char *key,
		      const char *val)
{
	char e[256];
	if (is_secret_prop(key) && secret_is_ref(val)) {
		/* the reference must resolve now (a missing variable or file is
		 * a config error at load, with its position); the value is
		 * dropped at once and resolved again for each client */
		char *sv = NULL;
		int rc = secret_resolve(val, key, NULL, &sv, e, sizeof e); /* vy_fail adds where */
		secret_free(sv);
		if (rc)
			return vy_fail(y, kn, "%s", e);
		val = "probe";
	} else if (is_secret_prop(key)) {
		/* a literal credential: only in a file other users cannot read */
		struct stat st;
		if (stat(y->path, &st) == 0 && (st.st_mode & S_IROTH))
			return vy_fail(y, kn,
				       "'%s' holds a literal credential but %s is readable by every user "
				       "(mode %04o): write it as env:NAME or file:PATH, or chmod o-r %s",
				       key, y->path, (unsigned)(st.st_mode & 07777), y->path);
	}
	rd_kafka_conf_res_t r = rd_kafka_conf_set(probe, key, val, e, sizeof e);
	if (r == RD_KAFKA_CONF_UNKNOWN)
		return vy_fail(y, kn, "unknown librdkafka property '%s'", key);
	if (r != RD_KAFKA_CONF_OK)
		return vy_fail(y, kn, "librdkafka property '%s': %s", key, e);
	return 0;
}

/* kafka: a map of librdkafka properties, each key once. */
static int load_kafka_map(struct vy_ctx *y, const yaml_node_t *n, struct kafka_cfg *c)
{
	size_t cnt;
	rd_kafka_conf_t *probe;
	int rc;

	if ((rc = vy_map_check(y, n, "kafka")) != 0)
		return rc;
	cnt = vy_len(n);
	if ((c->props = calloc(cnt ? cnt : 1, sizeof *c->props)) == NULL)
		return vy_nomem(y);
	if ((probe = rd_kafka_conf_new()) == NULL)
		return vy_nomem(y);
	for (size_t i = 0; rc == 0 && i < cnt; i++) {
		struct vy_pair p = vy_pair_at(y, n, i);
		struct kv *kv = &c->props[c->nprops];
		char *v = NULL, *k = NULL, *w = NULL;

		if ((rc = vy_dup(y, p.value, "kafka property value", 0, &v)) != 0)
			break;
		if ((k = strdup(p.text)) == NULL || (w = vy_where(y, p.key)) == NULL) {
			free(k);
			free(v);
			rc = vy_nomem(y);
			break;
		}
		kv->key = k;
		kv->value = v;
		kv->where = w;
		c->nprops++;
		rc = check_prop(y, p.key, probe, k, v);
	}
	rd_kafka_conf_destroy(probe);
	return rc;
}

static int load_input(struct vy_ctx *y, const yaml_node_t *n, struct kafka_cfg *c)
{
	yaml_node_t *v[IK_N], *k[IK_N];
	int rc;

	if ((rc = vy_map_fields(y, n, "input", input_keys, v, k)) != 0)
		return rc;
	if (v[IK_TOPICS] && (rc = vy_strlist(y, v[IK_TOPICS], "input.topics", &c->topics, &c->ntopics)) != 0)
		return rc;
	if (v[IK_FORMAT] && (rc = vy_dup(y, v[IK_FORMAT], "input.format", 0, &c->format)) != 0)
		return rc;
	/* the decoders (a layer above) check the name: this says where it is */
	if (v[IK_FORMAT] && (c->format_where = vy_where(y, v[IK_FORMAT])) == NULL)
		return vy_nomem(y);
	if (v[IK_DEFAULT_SERIES] &&
	    (rc = vy_dup(y, v[IK_DEFAULT_SERIES], "input.default_series", 0, &c->default_series)) != 0)
		return rc;
	if (v[IK_COLLECTD] && (rc = load_collectd(y, v[IK_COLLECTD], c)) != 0)
		return rc;
	if (v[IK_KEYED_BY]) {
		const char *t;
		if ((rc = vy_text(y, v[IK_KEYED_BY], "input.keyed_by", &t)) != 0)
			return rc;
		if (strcmp(t, "series") == 0)
			c->keyed_none = 0;
		else if (strcmp(t, "none") == 0)
			c->keyed_none = 1;
		else
			return vy_fail(
				y, v[IK_KEYED_BY],
				"input.keyed_by must be series or none, not '%s' (none: the producers do not"
				" key by series; members repartition through <topic>.by-series)",
				t);
	}
	return 0;
}

/* keyed_by none: the engines consume "<topic>.by-series" for each input
 * topic; the input topics as written move to raw_topics. Called after the
 * defaults that derive from the input topic (state_topic). */
static int set_repartition_topics(struct vy_ctx *y, struct kafka_cfg *c)
{
	if (!c->keyed_none || c->ntopics == 0)
		return 0;
	char **rp = calloc(c->ntopics, sizeof *rp);
	if (rp == NULL)
		return vy_nomem(y);
	for (size_t i = 0; i < c->ntopics; i++) {
		size_t n = strlen(c->topics[i]) + sizeof ".by-series";
		if ((rp[i] = malloc(n)) == NULL) {
			vy_strv_free(rp, i);
			return vy_nomem(y);
		}
		snprintf(rp[i], n, "%s.by-series", c->topics[i]);
	}
	c->raw_topics = c->topics;
	c->nraw_topics = c->ntopics;
	c->topics = rp;
	return 0;
}

static int load_mode(struct vy_ctx *y, const yaml_node_t *n, struct kafka_cfg *c)
{
	const char *m;
	int rc;

	if ((rc = vy_text(y, n, "mode", &m)) != 0)
		return rc;
	if (strcmp(m, "member") == 0)
		c->mode = KAFKA_MODE_MEMBER;
	else if (strcmp(m, "gateway") == 0)
		c->mode = KAFKA_MODE_GATEWAY;
	else if (strcmp(m, "single") == 0)
		c->mode = KAFKA_MODE_SINGLE;
	else
		return vy_fail(y, n, "mode must be member, gateway or single, not '%s'", m);
	return 0;
}

/* destinations: {allow_hosts: [glob, ...]}: host names or addresses, with
 * shell wildcards; a URL or a port is refused (the host alone is matched). */
static int load_destinations(struct vy_ctx *y, const yaml_node_t *n, struct kafka_cfg *c)
{
	static const char *const keys[] = {"allow_hosts", NULL};
	yaml_node_t *v[1], *k[1];
	int rc;

	if ((rc = vy_map_fields(y, n, "destinations", keys, v, k)) != 0)
		return rc;
	if (v[0] == NULL)
		return 0;
	if (v[0]->type == YAML_SEQUENCE_NODE && vy_len(v[0]) == 0)
		return vy_fail(
			y, v[0],
			"destinations.allow_hosts is empty: no destination could be reached (remove the "
			"key to allow every host)");
	if ((rc = vy_strlist(y, v[0], "destinations.allow_hosts", &c->allow_hosts, &c->nallow_hosts)) != 0)
		return rc;
	for (size_t i = 0; i < c->nallow_hosts; i++) {
		const char *h = c->allow_hosts[i];
		const yaml_node_t *e = v[0]->type == YAML_SEQUENCE_NODE ? vy_item(y, v[0], i) : v[0];

		const char *colon = strchr(h, ':');
		/* one ':' is host:port; an IPv6 address has two or more */
		if (*h == '\0' || strpbrk(h, "/@[] \t") != NULL || (colon && strchr(colon + 1, ':') == NULL))
			return vy_fail(y, e,
				       "destinations.allow_hosts: '%s' is not a host name or address (a glob "
				       "like *.example.com; no scheme, port or path)",
				       h);
	}
	if ((c->allow_hosts_where = vy_where(y, v[0])) == NULL)
		return vy_nomem(y);
	return 0;
}

/* processing: at_least_once (default) | exactly_once (transactions: see
 * consumers/kafka_txn.c). */
static int load_processing(struct vy_ctx *y, const yaml_node_t *n, struct kafka_cfg *c)
{
	const char *m;
	int rc;

	if ((rc = vy_text(y, n, "processing", &m)) != 0)
		return rc;
	if (strcmp(m, "at_least_once") == 0)
		c->exactly_once = 0;
	else if (strcmp(m, "exactly_once") == 0)
		c->exactly_once = 1;
	else
		return vy_fail(y, n, "processing must be at_least_once or exactly_once, not '%s'", m);
	return 0;
}

/* The value of top-level key number key (TK_*). */
static int load_key(struct vy_ctx *y, int key, const yaml_node_t *vn, struct kafka_cfg *c)
{
	const char *name = top_keys[key];
	long long ll;
	int rc;

	switch (key) {
	case TK_KAFKA: return load_kafka_map(y, vn, c);
	case TK_INPUT: return load_input(y, vn, c);
	case TK_STATE: return vy_dup(y, vn, name, 0, &c->state_topic);
	case TK_ALERTS: return vy_dup(y, vn, name, 0, &c->alerts_topic);
	case TK_DLQ: return vy_dup(y, vn, name, 0, &c->dead_letter_topic);
	case TK_RULES: return vy_strlist(y, vn, name, &c->rules, &c->nrules);
	case TK_OWNERS: return vy_dup(y, vn, name, 0, &c->owners);
	case TK_GW_GROUP: return vy_dup(y, vn, name, 0, &c->gateway_group);
	case TK_GW_STATE: return vy_dup(y, vn, name, 0, &c->gateway_state_topic);
	case TK_CONTROL: return vy_dup(y, vn, name, 0, &c->control_topic);
	case TK_CHECKPOINT: return vy_duration(y, vn, name, 0.05, 3600, &c->checkpoint_interval);
	case TK_STATS: return vy_duration(y, vn, name, 0, 86400, &c->stats_interval);
	case TK_BATCH:
		if ((rc = vy_integer(y, vn, name, 1, 100000, &ll)) == 0)
			c->batch_size = (int)ll;
		return rc;
	case TK_MAX_SERIES:
		if ((rc = vy_integer(y, vn, name, 0, 1e9, &ll)) == 0)
			c->max_series = (size_t)ll;
		return rc;
	case TK_MAX_FUTURE: return vy_duration(y, vn, name, 0, 366 * 86400.0, &c->max_future);
	case TK_MAX_SKEW: return vy_duration(y, vn, name, 0, 366 * 86400.0, &c->max_skew);
	case TK_MAX_MEMORY: return vy_size(y, vn, name, 0, 1e15, &c->max_memory);
	case TK_CHART_POINTS:
		if ((rc = vy_integer(y, vn, name, 0, 300, &ll)) == 0)
			c->chart_points = (int)ll;
		return rc;
	case TK_MODE: return load_mode(y, vn, c);
	case TK_HTTP: return http_cfg_parse(y, vn, &c->http);
	case TK_DEST: return load_destinations(y, vn, c);
	case TK_PROCESSING: return load_processing(y, vn, c);
	case TK_STATE_RESERVE: return vy_size(y, vn, name, 0, 17179869184.0, &c->state_reserve);
	}
	return vy_fail(y, vn, "internal error: key %d", key);
}

/* The top-level map, strictly (each key once), values read in file order. */
static int load_top(struct vy_ctx *y, const yaml_node_t *root, struct kafka_cfg *c)
{
	yaml_node_t *v[TK_N], *k[TK_N];
	int rc;

	if (root == NULL)
		return vy_fail(y, NULL, "empty config");
	if ((rc = vy_map_fields(y, root, "the config", top_keys, v, k)) != 0)
		return rc;
	for (size_t p = 0; p < vy_len(root); p++) {
		const yaml_node_t *kn = vy_pair_at(y, root, p).key;
		int key = 0;

		while (key < TK_N && k[key] != kn)
			key++;
		if (key < TK_N && (rc = load_key(y, key, v[key], c)) != 0)
			return rc;
	}
	return 0;
}

/* *field = "<a><b>" unless the file set it. */
static int set_default2(struct vy_ctx *y, char **field, const char *a, const char *b)
{
	if (*field)
		return 0;
	if (asprintf(field, "%s%s", a, b) < 0) {
		*field = NULL;
		return vy_nomem(y);
	}
	return 0;
}

static int cfg_load(const char *path, int need_kafka, struct kafka_cfg **out, char *err, size_t errlen)
{
	struct kafka_cfg *c = calloc(1, sizeof *c);
	struct vy_ctx y = {path, NULL, err, errlen};
	struct vy_file f = {0};
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		rc = vy_nomem(&y);
		goto fail;
	}
	c->checkpoint_interval = 5.0;
	c->stats_interval = 10.0;
	c->chart_points = -1;
	c->batch_size = 1000;
	c->max_future = ENGINE_DEFAULT_MAX_FUTURE;
	c->max_skew = ENGINE_DEFAULT_MAX_SKEW;
	c->max_memory = -1;
	c->state_reserve = -1;
	c->mode = KAFKA_MODE_MEMBER;
	http_cfg_init(&c->http);
	if ((rc = vy_load(&y, path, &f)) != 0)
		goto fail;
	if ((rc = load_top(&y, f.root, c)) != 0)
		goto fail;
	if (need_kafka && c->ntopics == 0) {
		rc = vy_fail(&y, NULL, "input.topics is required");
		goto fail;
	}
	if (need_kafka && kafka_cfg_prop(c, "bootstrap.servers") == NULL) {
		rc = vy_fail(&y, NULL, "kafka.bootstrap.servers is required");
		goto fail;
	}
	if (need_kafka && kafka_cfg_prop(c, "group.id") == NULL) {
		rc = vy_fail(&y, NULL, "kafka.group.id is required");
		goto fail;
	}
	const char *group = kafka_cfg_prop(c, "group.id");
	if ((rc = set_default2(&y, &c->state_topic, c->ntopics ? c->topics[0] : "metrics", ".state")) != 0 ||
	    (rc = set_default2(&y, &c->alerts_topic, "alerts", "")) != 0 ||
	    (rc = set_default2(&y, &c->gateway_state_topic, c->alerts_topic, ".state")) != 0 ||
	    (rc = set_default2(&y, &c->control_topic, c->alerts_topic, ".control")) != 0 ||
	    (rc = set_default2(&y, &c->format, "auto", "")) != 0 ||
	    (rc = set_default2(&y, &c->gateway_group, group ? group : "vigil", "-gateway")) != 0 ||
	    (rc = set_repartition_topics(&y, c)) != 0)
		goto fail;
	vy_unload(&f);
	*out = c;
	return 0;
fail:
	vy_unload(&f);
	kafka_cfg_free(c);
	return rc;
}

int kafka_cfg_load(const char *path, struct kafka_cfg **out, char *err, size_t errlen)
{
	return cfg_load(path, 1, out, err, errlen);
}

int kafka_cfg_load_local(const char *path, struct kafka_cfg **out, char *err, size_t errlen)
{
	return cfg_load(path, 0, out, err, errlen);
}

void kafka_cfg_free(struct kafka_cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nprops; i++) {
		free((char *)c->props[i].key);
		free((char *)c->props[i].value);
		free((char *)c->props[i].where);
	}
	free(c->props);
	vy_strv_free(c->topics, c->ntopics);
	vy_strv_free(c->raw_topics, c->nraw_topics);
	vy_strv_free(c->rules, c->nrules);
	free(c->path);
	free(c->format);
	free(c->format_where);
	free(c->default_series);
	free(c->state_topic);
	free(c->alerts_topic);
	free(c->dead_letter_topic);
	free(c->owners);
	free(c->gateway_group);
	free(c->gateway_state_topic);
	http_cfg_free(&c->http);
	free(c->control_topic);
	vy_strv_free(c->allow_hosts, c->nallow_hosts);
	free(c->allow_hosts_where);
	free(c);
}

int kafka_txn_id(const struct kafka_cfg *c, char *out, size_t outlen)
{
	const char *t = kafka_cfg_prop(c, "transactional.id");
	const char *g = kafka_cfg_prop(c, "group.id");
	const char *i = kafka_cfg_prop(c, "group.instance.id");
	int n;
	if (t)
		n = snprintf(out, outlen, "%s", t);
	else if (g && i)
		n = snprintf(out, outlen, "vigil-%s-%s", g, i);
	else
		return -VIGIL_EINVAL;
	return n > 0 && (size_t)n < outlen ? 0 : -VIGIL_EINVAL;
}

const char *kafka_cfg_prop(const struct kafka_cfg *c, const char *key)
{
	for (size_t i = c->nprops; i-- > 0;)
		if (strcmp(c->props[i].key, key) == 0)
			return c->props[i].value;
	return NULL;
}

/* Properties that only make sense for one client type; skipped for the others
 * so that librdkafka does not warn about them. */
static int consumer_only(const char *k)
{
	static const char *const keys[] = {"group.id",
					   "group.instance.id",
					   "session.timeout.ms",
					   "heartbeat.interval.ms",
					   "max.poll.interval.ms",
					   "partition.assignment.strategy",
					   "enable.auto.commit",
					   "auto.commit.interval.ms",
					   "enable.auto.offset.store",
					   "auto.offset.reset",
					   "fetch.wait.max.ms",
					   "fetch.min.bytes",
					   "fetch.max.bytes",
					   "fetch.message.max.bytes",
					   "queued.max.messages.kbytes",
					   "queued.min.messages",
					   "isolation.level",
					   "enable.partition.eof",
					   "check.crcs",
					   NULL};
	for (int i = 0; keys[i]; i++)
		if (strcmp(keys[i], k) == 0)
			return 1;
	return 0;
}

static int producer_only(const char *k)
{
	return strncmp(k, "linger.ms", 9) == 0 || strcmp(k, "queue.buffering.max.ms") == 0 ||
	       strcmp(k, "batch.num.messages") == 0 || strcmp(k, "batch.size") == 0 ||
	       strcmp(k, "acks") == 0 || strcmp(k, "request.required.acks") == 0 ||
	       strcmp(k, "enable.idempotence") == 0 || strcmp(k, "message.timeout.ms") == 0 ||
	       strcmp(k, "compression.codec") == 0 || strcmp(k, "compression.type") == 0 ||
	       strcmp(k, "queue.buffering.max.kbytes") == 0 ||
	       strcmp(k, "queue.buffering.max.messages") == 0 || strcmp(k, "transactional.id") == 0 ||
	       strcmp(k, "transaction.timeout.ms") == 0;
}

struct kdef {
	const char *key, *value;
};

int kafka_conf_build(const struct kafka_cfg *c, const char *role, rd_kafka_conf_t **out, char *err,
		     size_t errlen)
{
	static const struct kdef consumer_defs[] = {
		{"partition.assignment.strategy", "cooperative-sticky"},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"auto.offset.reset", "earliest"},
		{"session.timeout.ms", "6000"},
		{"heartbeat.interval.ms", "1000"},
		{"max.poll.interval.ms", "60000"},
		{"fetch.wait.max.ms", "10"},
		/* librdkafka 2.0.2 stops fetching for 1 s whenever the prefetch
		 * queue is over either threshold (no fetch.queue.backoff.ms before
		 * 2.2.0), so the queue must hold about a second of input or a
		 * member stalls: the library default of 100,000 messages caps a
		 * member at ~200k one-point messages/s. Memory: ~330 bytes per
		 * queued message plus the payload, at most these caps. */
		{"queued.min.messages", "1000000"},
		{"queued.max.messages.kbytes", "65536"},
		/* librdkafka's default, stated: a member never reads another
		 * member's aborted or open transaction (processing: exactly_once);
		 * harmless without transactions */
		{"isolation.level", "read_committed"},
		{NULL, NULL},
	};
	static const struct kdef producer_defs[] = {
		{"linger.ms", "5"},
		{"enable.idempotence", "true"},
		{"message.timeout.ms", "0"}, /* never give up: the broker may be down a while */
		{"batch.num.messages", "10000"},
		{NULL, NULL},
	};
	/* the transactional producer of a member in processing: exactly_once
	 * (consumers/kafka_txn.c): no message.timeout.ms default (librdkafka
	 * requires it <= transaction.timeout.ms and defaults it to that);
	 * transactional.id is set below */
	static const struct kdef txn_defs[] = {
		{"linger.ms", "5"},
		{"batch.num.messages", "10000"},
		{"transaction.timeout.ms", "10000"},
		{NULL, NULL},
	};
	static const struct kdef reader_defs[] = {
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"fetch.wait.max.ms", "10"},
		{"enable.partition.eof", "true"},
		{"auto.offset.reset", "earliest"}, /* a cut head is detected, not skipped */
		/* restores read only committed checkpoints and alerts (an aborted
		 * transaction's snapshot must never be restored) */
		{"isolation.level", "read_committed"},
		{NULL, NULL},
	};
	const struct kdef *defs;
	int consumer;
	/* "control" (the gateway's control-topic consumer) is a reader too:
	 * assigned partitions, no group, no commits */
	int reader = strcmp(role, "reader") == 0 || strcmp(role, "control") == 0;
	char e[256], cid[128];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	*out = NULL;
	if (conf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	int txn = strcmp(role, "txn") == 0;
	if (strcmp(role, "producer") == 0) {
		defs = producer_defs;
		consumer = 0;
	} else if (txn) {
		defs = txn_defs;
		consumer = 0;
	} else if (reader) {
		defs = reader_defs;
		consumer = 1;
	} else {
		defs = consumer_defs;
		consumer = 1;
	}
	for (size_t i = 0; defs[i].key; i++) {
		if (kafka_cfg_prop(c, defs[i].key) && !reader)
			continue;
		if (rd_kafka_conf_set(conf, defs[i].key, defs[i].value, e, sizeof e) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "librdkafka default %s=%s: %s", defs[i].key, defs[i].value, e);
			goto fail;
		}
	}
	for (size_t i = 0; i < c->nprops; i++) {
		const char *k = c->props[i].key;
		if ((!consumer && consumer_only(k)) || (consumer && producer_only(k)))
			continue;
		if (reader &&
		    (strcmp(k, "group.id") == 0 || strcmp(k, "enable.auto.commit") == 0 ||
		     strcmp(k, "enable.partition.eof") == 0 || strcmp(k, "group.instance.id") == 0 ||
		     strcmp(k, "enable.auto.offset.store") == 0 || strcmp(k, "auto.offset.reset") == 0 ||
		     strcmp(k, "partition.assignment.strategy") == 0 || strcmp(k, "isolation.level") == 0))
			continue;
		/* only the member's transactional producer has a transactional.id */
		if (strcmp(k, "transactional.id") == 0 && !txn)
			continue;
		/* the gateway of an exactly_once deployment never reads aborted alerts */
		if (c->exactly_once && strcmp(role, "gateway") == 0 && strcmp(k, "isolation.level") == 0)
			continue;
		if (is_secret_prop(k) && secret_is_ref(c->props[i].value)) {
			char *sv = NULL;
			if (secret_resolve(c->props[i].value, k, c->props[i].where, &sv, err, errlen) != 0)
				goto fail;
			rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, k, sv, e, sizeof e);
			secret_free(sv);
			if (r != RD_KAFKA_CONF_OK) {
				snprintf(err, errlen, "%s: %s", c->props[i].where ? c->props[i].where : k, e);
				goto fail;
			}
			continue;
		}
		if (rd_kafka_conf_set(conf, k, c->props[i].value, e, sizeof e) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%s: %s", c->props[i].where ? c->props[i].where : k, e);
			goto fail;
		}
	}
	if (strcmp(role, "gateway") == 0 &&
	    rd_kafka_conf_set(conf, "group.id", c->gateway_group, e, sizeof e) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "gateway_group: %s", e);
		goto fail;
	}
	/* the repartition router (input.keyed_by: none) is a group of its own:
	 * its assignment of raw input partitions is independent of the
	 * members' assignment of repartition-topic partitions; a static
	 * member id of the member group must not be reused there */
	if (strcmp(role, "router") == 0) {
		const char *g = kafka_cfg_prop(c, "group.id"), *gi = kafka_cfg_prop(c, "group.instance.id");
		snprintf(cid, sizeof cid, "%s-repartition", g ? g : "vigil");
		if (rd_kafka_conf_set(conf, "group.id", cid, e, sizeof e) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "group.id: %s", e);
			goto fail;
		}
		if (gi) {
			char gid[300];
			snprintf(gid, sizeof gid, "%s-repartition", gi);
			if (rd_kafka_conf_set(conf, "group.instance.id", gid, e, sizeof e) !=
			    RD_KAFKA_CONF_OK) {
				snprintf(err, errlen, "group.instance.id: %s", e);
				goto fail;
			}
		}
	}
	if (txn) {
		char tid[512];
		if (kafka_txn_id(c, tid, sizeof tid) != 0) {
			snprintf(err, errlen,
				 "processing: exactly_once needs a stable id per member: set "
				 "kafka.group.instance.id (or kafka.transactional.id)");
			goto fail;
		}
		if (rd_kafka_conf_set(conf, "transactional.id", tid, e, sizeof e) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "transactional.id: %s", e);
			goto fail;
		}
	}
	/* 2.0.2 refuses assign() without a group.id: the reader gets a private
	 * one that never joins (no subscribe) and never commits. */
	if (reader) {
		const char *g = kafka_cfg_prop(c, "group.id");
		snprintf(cid, sizeof cid, "%s-%s-%ld", g ? g : "vigil", role, (long)getpid());
		if (rd_kafka_conf_set(conf, "group.id", cid, e, sizeof e) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "group.id: %s", e);
			goto fail;
		}
	}
	/* Distinct client ids per process and role (docs/kafka.md §7, #4783). */
	const char *base = kafka_cfg_prop(c, "client.id");
	snprintf(cid, sizeof cid, "%s-%s-%ld", base ? base : "vigil", role, (long)getpid());
	if (rd_kafka_conf_set(conf, "client.id", cid, e, sizeof e) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "client.id: %s", e);
		goto fail;
	}
	*out = conf;
	return 0;
fail:
	rd_kafka_conf_destroy(conf);
	return -VIGIL_EINVAL;
}
