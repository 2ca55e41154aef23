/* The config file of `vigil run` / `vigil gateway` (YAML, strict) and the
 * librdkafka confs built from it. See core/config.h.
 *
 *   kafka:                       # librdkafka properties, passed through
 *     bootstrap.servers: 127.0.0.1:9092
 *     group.id: vigil
 *   input: {topics: [metrics], format: auto, default_series: NAME}
 *   state_topic: metrics.state   # default <first input topic>.state
 *   alerts_topic: alerts         # default alerts
 *   dead_letter_topic: metrics.dlq
 *   rules: [data/demo/rules]
 *   owners: data/demo/owners.yaml
 *   gateway_group: vigil-gateway # default <group.id>-gateway
 *   checkpoint_interval: 5s
 *   stats_interval: 10s
 *   batch_size: 1000
 *   max_series: 0
 *   mode: member | gateway | single
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "core/config.h"
#include "core/params.h"

struct yctx {
	const char *path;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int yfail(struct yctx *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int yfail(struct yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n)
		snprintf(y->err, y->errlen, "%s:%zu:%zu: %s", y->path, n->start_mark.line + 1,
			 n->start_mark.column + 1, msg);
	else
		snprintf(y->err, y->errlen, "%s: %s", y->path, msg);
	return -VIGIL_EINVAL;
}

static char *where_of(struct yctx *y, const yaml_node_t *n)
{
	char w[512];
	snprintf(w, sizeof w, "%s:%zu:%zu", y->path, n->start_mark.line + 1, n->start_mark.column + 1);
	return strdup(w);
}

static int yscalar(struct yctx *y, const yaml_node_t *n, const char *what, char **out)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return yfail(y, n, "%s must be a scalar", what);
	free(*out);
	*out = strndup((const char *)n->data.scalar.value, n->data.scalar.length);
	return *out ? 0 : -VIGIL_ENOMEM;
}

/* A scalar or a sequence of scalars into a string array. */
static int ystrlist(struct yctx *y, yaml_node_t *n, const char *what, char ***out, size_t *nout)
{
	if (n->type == YAML_SCALAR_NODE) {
		*out = calloc(1, sizeof **out);
		if (*out == NULL)
			return -VIGIL_ENOMEM;
		*nout = 1;
		return yscalar(y, n, what, &(*out)[0]);
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return yfail(y, n, "%s must be a list of strings", what);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = calloc(cnt ? cnt : 1, sizeof **out);
	if (*out == NULL)
		return -VIGIL_ENOMEM;
	*nout = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(y->doc, *it);
		int rc = yscalar(y, e, what, &(*out)[*nout]);
		if (rc)
			return rc;
		(*nout)++;
	}
	if (*nout == 0)
		return yfail(y, n, "%s must not be empty", what);
	return 0;
}

static int ydouble(struct yctx *y, yaml_node_t *n, const char *what, int duration, double lo, double hi,
		   double *out)
{
	char *s = NULL;
	int rc = yscalar(y, n, what, &s);
	if (rc)
		return rc;
	if (duration) {
		rc = params_parse_duration(s, out);
	} else {
		char *end;
		errno = 0;
		*out = strtod(s, &end);
		rc = (end == s || *end || errno) ? -VIGIL_EINVAL : 0;
	}
	if (rc == 0 && (*out < lo || *out > hi))
		rc = -VIGIL_EINVAL;
	if (rc)
		rc = yfail(y, n, "%s: bad value '%s' (want %s in [%g, %g])", what, s,
			   duration ? "a duration like 5s" : "a number", lo, hi);
	free(s);
	return rc;
}

static int check_prop(struct yctx *y, yaml_node_t *kn, rd_kafka_conf_t *probe, const char *key,
		      const char *val)
{
	char e[256];
	rd_kafka_conf_res_t r = rd_kafka_conf_set(probe, key, val, e, sizeof e);
	if (r == RD_KAFKA_CONF_UNKNOWN)
		return yfail(y, kn, "unknown librdkafka property '%s'", key);
	if (r != RD_KAFKA_CONF_OK)
		return yfail(y, kn, "librdkafka property '%s': %s", key, e);
	return 0;
}

static int load_kafka_map(struct yctx *y, yaml_node_t *n, struct kafka_cfg *c)
{
	if (n->type != YAML_MAPPING_NODE)
		return yfail(y, n, "kafka must be a mapping of librdkafka properties");
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	rd_kafka_conf_t *probe = rd_kafka_conf_new();
	int rc = 0;
	c->props = calloc(cnt ? cnt : 1, sizeof *c->props);
	if (c->props == NULL || probe == NULL) {
		rc = -VIGIL_ENOMEM;
		goto out;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		char *k = NULL, *v = NULL;
		if ((rc = yscalar(y, kn, "kafka property name", &k)) != 0 ||
		    (rc = yscalar(y, vn, "kafka property value", &v)) != 0) {
			free(k);
			free(v);
			goto out;
		}
		c->props[c->nprops].key = k;
		c->props[c->nprops].value = v;
		c->props[c->nprops].where = where_of(y, kn);
		c->nprops++;
		if ((rc = check_prop(y, kn, probe, k, v)) != 0)
			goto out;
	}
out:
	if (probe)
		rd_kafka_conf_destroy(probe);
	return rc;
}

static int load_input(struct yctx *y, yaml_node_t *n, struct kafka_cfg *c)
{
	if (n->type != YAML_MAPPING_NODE)
		return yfail(y, n, "input must be a mapping {topics, format, default_series}");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "";
		int rc;
		if (strcmp(k, "topics") == 0)
			rc = ystrlist(y, vn, "input.topics", &c->topics, &c->ntopics);
		else if (strcmp(k, "format") == 0)
			rc = yscalar(y, vn, "input.format", &c->format);
		else if (strcmp(k, "default_series") == 0)
			rc = yscalar(y, vn, "input.default_series", &c->default_series);
		else
			rc = yfail(y, kn, "unknown key 'input.%s' (known: topics, format, default_series)",
				   k);
		if (rc)
			return rc;
	}
	return 0;
}

static int load_top(struct yctx *y, yaml_node_t *root, struct kafka_cfg *c)
{
	if (root == NULL)
		return yfail(y, NULL, "empty config");
	if (root->type != YAML_MAPPING_NODE)
		return yfail(y, root, "config must be a mapping");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		const char *k = kn->type == YAML_SCALAR_NODE ? (const char *)kn->data.scalar.value : "";
		double d;
		int rc;
		if (strcmp(k, "kafka") == 0) {
			rc = load_kafka_map(y, vn, c);
		} else if (strcmp(k, "input") == 0) {
			rc = load_input(y, vn, c);
		} else if (strcmp(k, "state_topic") == 0) {
			rc = yscalar(y, vn, k, &c->state_topic);
		} else if (strcmp(k, "alerts_topic") == 0) {
			rc = yscalar(y, vn, k, &c->alerts_topic);
		} else if (strcmp(k, "dead_letter_topic") == 0) {
			rc = yscalar(y, vn, k, &c->dead_letter_topic);
		} else if (strcmp(k, "rules") == 0) {
			rc = ystrlist(y, vn, k, &c->rules, &c->nrules);
		} else if (strcmp(k, "owners") == 0) {
			rc = yscalar(y, vn, k, &c->owners);
		} else if (strcmp(k, "gateway_group") == 0) {
			rc = yscalar(y, vn, k, &c->gateway_group);
		} else if (strcmp(k, "checkpoint_interval") == 0) {
			rc = ydouble(y, vn, k, 1, 0.05, 3600, &c->checkpoint_interval);
		} else if (strcmp(k, "stats_interval") == 0) {
			rc = ydouble(y, vn, k, 1, 0, 86400, &c->stats_interval);
		} else if (strcmp(k, "batch_size") == 0) {
			rc = ydouble(y, vn, k, 0, 1, 100000, &d);
			c->batch_size = (int)d;
		} else if (strcmp(k, "max_series") == 0) {
			rc = ydouble(y, vn, k, 0, 0, 1e9, &d);
			c->max_series = (size_t)d;
		} else if (strcmp(k, "mode") == 0) {
			char *m = NULL;
			rc = yscalar(y, vn, k, &m);
			if (rc == 0) {
				if (strcmp(m, "member") == 0)
					c->mode = KAFKA_MODE_MEMBER;
				else if (strcmp(m, "gateway") == 0)
					c->mode = KAFKA_MODE_GATEWAY;
				else if (strcmp(m, "single") == 0)
					c->mode = KAFKA_MODE_SINGLE;
				else
					rc = yfail(y, vn, "mode must be member, gateway or single, not '%s'",
						   m);
			}
			free(m);
		} else {
			rc = yfail(y, kn,
				   "unknown key '%s' (known: kafka, input, state_topic, alerts_topic, "
				   "dead_letter_topic, rules, owners, gateway_group, checkpoint_interval, "
				   "stats_interval, batch_size, max_series, mode)",
				   k);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int set_default(char **field, const char *val)
{
	if (*field)
		return 0;
	*field = strdup(val);
	return *field ? 0 : -VIGIL_ENOMEM;
}

int kafka_cfg_load(const char *path, struct kafka_cfg **out, char *err, size_t errlen)
{
	struct kafka_cfg *c = calloc(1, sizeof *c);
	yaml_parser_t parser;
	yaml_document_t doc;
	int have_parser = 0, have_doc = 0, rc;
	FILE *f = NULL;
	struct yctx y = {path, &doc, err, errlen};

	*out = NULL;
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	c->checkpoint_interval = 5.0;
	c->stats_interval = 10.0;
	c->batch_size = 1000;
	c->mode = KAFKA_MODE_MEMBER;
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -VIGIL_EIO;
		goto fail;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	have_parser = 1;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	have_doc = 1;
	if ((rc = load_top(&y, yaml_document_get_root_node(&doc), c)) != 0)
		goto fail;
	if (c->ntopics == 0) {
		rc = yfail(&y, NULL, "input.topics is required");
		goto fail;
	}
	if (kafka_cfg_prop(c, "bootstrap.servers") == NULL) {
		rc = yfail(&y, NULL, "kafka.bootstrap.servers is required");
		goto fail;
	}
	if (kafka_cfg_prop(c, "group.id") == NULL) {
		rc = yfail(&y, NULL, "kafka.group.id is required");
		goto fail;
	}
	char buf[512];
	snprintf(buf, sizeof buf, "%s.state", c->topics[0]);
	if ((rc = set_default(&c->state_topic, buf)) != 0 ||
	    (rc = set_default(&c->alerts_topic, "alerts")) != 0 ||
	    (rc = set_default(&c->format, "auto")) != 0)
		goto fail;
	snprintf(buf, sizeof buf, "%s-gateway", kafka_cfg_prop(c, "group.id"));
	if ((rc = set_default(&c->gateway_group, buf)) != 0)
		goto fail;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	*out = c;
	return 0;
fail:
	if (rc == -VIGIL_ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "%s: out of memory", path);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (f)
		fclose(f);
	kafka_cfg_free(c);
	return rc;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
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
	free_strv(c->topics, c->ntopics);
	free_strv(c->rules, c->nrules);
	free(c->path);
	free(c->format);
	free(c->default_series);
	free(c->state_topic);
	free(c->alerts_topic);
	free(c->dead_letter_topic);
	free(c->owners);
	free(c->gateway_group);
	free(c);
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
	       strcmp(k, "queue.buffering.max.messages") == 0 || strcmp(k, "transactional.id") == 0;
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
		{NULL, NULL},
	};
	static const struct kdef producer_defs[] = {
		{"linger.ms", "5"},
		{"enable.idempotence", "true"},
		{"message.timeout.ms", "0"}, /* never give up: the broker may be down a while */
		{"batch.num.messages", "10000"},
		{NULL, NULL},
	};
	static const struct kdef reader_defs[] = {
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"fetch.wait.max.ms", "10"},
		{"enable.partition.eof", "true"},
		{"auto.offset.reset", "earliest"}, /* a cut head is detected, not skipped */
		{NULL, NULL},
	};
	const struct kdef *defs;
	int consumer;
	char e[256], cid[128];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	*out = NULL;
	if (conf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -VIGIL_ENOMEM;
	}
	if (strcmp(role, "producer") == 0) {
		defs = producer_defs;
		consumer = 0;
	} else if (strcmp(role, "reader") == 0) {
		defs = reader_defs;
		consumer = 1;
	} else {
		defs = consumer_defs;
		consumer = 1;
	}
	for (size_t i = 0; defs[i].key; i++) {
		if (kafka_cfg_prop(c, defs[i].key) && strcmp(role, "reader") != 0)
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
		if (strcmp(role, "reader") == 0 &&
		    (strcmp(k, "group.id") == 0 || strcmp(k, "enable.auto.commit") == 0 ||
		     strcmp(k, "enable.partition.eof") == 0 || strcmp(k, "group.instance.id") == 0 ||
		     strcmp(k, "enable.auto.offset.store") == 0 || strcmp(k, "auto.offset.reset") == 0 ||
		     strcmp(k, "partition.assignment.strategy") == 0))
			continue;
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
	/* 2.0.2 refuses assign() without a group.id: the reader gets a private
	 * one that never joins (no subscribe) and never commits. */
	if (strcmp(role, "reader") == 0) {
		const char *g = kafka_cfg_prop(c, "group.id");
		snprintf(cid, sizeof cid, "%s-reader-%ld", g ? g : "vigil", (long)getpid());
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
