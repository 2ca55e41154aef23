/* See ctl_client.h. */
#include "cli/ctl_client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "core/clock.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/timefmt.h"

#define SEND_TIMEOUT_S  30
#define READ_TIMEOUT_MS 15000

/* ---- the command line ---- */

struct optdef {
	const char *lng, *shrt;
	unsigned bit;
	size_t off;
	int kind; /* 0 a value, 1 a flag (sets an int), 2 a repeatable value (--rules) */
};

static const struct optdef optdefs[] = {
	{"--config", "-c", CTL_O_CONFIG, offsetof(struct ctl_args, config), 0},
	{"--state", NULL, CTL_O_STATE, offsetof(struct ctl_args, state), 0},
	{"--owners", NULL, CTL_O_OWNERS, offsetof(struct ctl_args, owners), 0},
	{"--owner", NULL, CTL_O_OWNER, offsetof(struct ctl_args, owner), 0},
	{"--author", NULL, CTL_O_AUTHOR, offsetof(struct ctl_args, author), 0},
	{"--comment", NULL, CTL_O_COMMENT, offsetof(struct ctl_args, comment), 0},
	{"--duration", NULL, CTL_O_DURATION, offsetof(struct ctl_args, duration), 0},
	{"--ends", NULL, CTL_O_ENDS, offsetof(struct ctl_args, ends), 0},
	{"--starts", NULL, CTL_O_STARTS, offsetof(struct ctl_args, starts), 0},
	{"--at", NULL, CTL_O_AT, offsetof(struct ctl_args, at), 0},
	{"--json", NULL, CTL_O_JSON, offsetof(struct ctl_args, json), 1},
	{"--unack", NULL, CTL_O_UNACK, offsetof(struct ctl_args, unack), 1},
	{"--rules", NULL, CTL_O_RULES, 0, 2},
};

static int usage_error(const char *prog, void (*usage)(FILE *), const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int usage_error(const char *prog, void (*usage)(FILE *), const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	usage(stderr);
	return 2;
}

int ctl_parse(const char *prog, int argc, char **argv, unsigned mask, struct ctl_args *a,
	      void (*usage)(FILE *))
{
	int opts_done = 0;

	memset(a, 0, sizeof *a);
	log_level = LOG_LEVEL_WARN; /* the command prints its own results */
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (opts_done || arg[0] != '-' || arg[1] == '\0') {
			if (a->npos == CTL_MAX_POS)
				return usage_error(prog, usage, "too many arguments (at most 256): '%s'",
						   arg);
			a->pos[a->npos++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (strcmp(arg, "-v") == 0) {
			log_level = LOG_LEVEL_DEBUG;
			continue;
		}
		const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
		size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct optdef *d = NULL;
		for (size_t k = 0; k < VIGIL_ARRAY_LEN(optdefs) && !d; k++)
			if ((mask & optdefs[k].bit) &&
			    ((strlen(optdefs[k].lng) == nlen && strncmp(optdefs[k].lng, arg, nlen) == 0) ||
			     (!eq && optdefs[k].shrt && strcmp(optdefs[k].shrt, arg) == 0)))
				d = &optdefs[k];
		if (d == NULL)
			return usage_error(prog, usage, "unknown option '%s'", arg);
		if (d->kind == 1) {
			if (eq)
				return usage_error(prog, usage, "option '%s' takes no value", arg);
			*(int *)(void *)((char *)a + d->off) = 1;
			continue;
		}
		const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (val == NULL)
			return usage_error(prog, usage, "option %s needs a value", d->lng);
		if (d->kind == 2) {
			if (a->nrules == CTL_MAX_RULES)
				return usage_error(prog, usage, "too many %s (at most %d)", d->lng,
						   CTL_MAX_RULES);
			a->rules[a->nrules++] = val;
			continue;
		}
		const char **slot = (const char **)(void *)((char *)a + d->off);
		if (*slot)
			return usage_error(prog, usage, "option %s given twice", d->lng);
		*slot = val;
	}
	return 0;
}

/* ---- where a command acts ---- */

/* mkdir -p dir. 0 or -1 (errno set). */
static int make_dirs(const char *dir)
{
	char p[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, dir, n + 1);
	for (char *q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -1;
		*q = '/';
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int ctl_env_open(struct ctl_env *e, const char *prog, const struct ctl_args *a, unsigned flags)
{
	char err[1024];
	struct stat st;

	memset(e, 0, sizeof *e);
	e->prog = prog;
	if (a->config && a->state) {
		fprintf(stderr, "%s: give -c CONFIG (Kafka) or --state DIR (single process), not both\n",
			prog);
		return 2;
	}
	if (a->config && (a->owners || a->nrules)) {
		fprintf(stderr,
			"%s: %s goes with --state DIR; with -c the config names the rules and owners\n", prog,
			a->owners ? "--owners" : "--rules");
		return 2;
	}
	if (!a->config && !a->state && !(flags & CTL_OPTIONAL)) {
		fprintf(stderr, "%s: -c CONFIG (Kafka) or --state DIR (single process) is required\n", prog);
		return 2;
	}
	if (a->config) {
		if (kafka_cfg_load(a->config, &e->cfg, err, sizeof err) != 0) {
			fprintf(stderr, "%s: -c %s: %s\n", prog, a->config, err);
			return 2;
		}
		if (ruleset_load((const char *const *)e->cfg->rules, e->cfg->nrules, e->cfg->owners, &e->rs,
				 err, sizeof err) != 0) {
			fprintf(stderr, "%s: the rules and owners of %s: %s\n", prog, a->config, err);
			return 1;
		}
		return 0;
	}
	if (a->state) {
		if (stat(a->state, &st) != 0 && errno == ENOENT && (flags & CTL_WRITES)) {
			/* as `vigil replay --state DIR` would; it applies the commands at start */
			if (make_dirs(a->state) != 0) {
				fprintf(stderr, "%s: --state %s: cannot create it: %s\n", prog, a->state,
					strerror(errno));
				return 1;
			}
			fprintf(stderr,
				"%s: created %s (the state directory of a `vigil replay --state` run)\n",
				prog, a->state);
		} else if (stat(a->state, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr,
				"%s: --state %s: not a directory (the --state DIR of `vigil replay`)\n", prog,
				a->state);
			return 2;
		}
		e->state_dir = a->state;
	}
	if ((flags & CTL_NEED_OWNERS) && a->state && !a->owners && !a->nrules) {
		fprintf(stderr,
			"%s: --owners FILE (or --rules PATH) is required with --state: the owners the "
			"gateway "
			"knows\n",
			prog);
		return 2;
	}
	if ((a->owners || a->nrules) &&
	    ruleset_load(a->rules, (size_t)a->nrules, a->owners, &e->rs, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	return 0;
}

void ctl_env_close(struct ctl_env *e)
{
	ruleset_free(e->rs);
	kafka_cfg_free(e->cfg);
	memset(e, 0, sizeof *e);
}

int ctl_check_owner(const struct ctl_env *e, const char *flag, const char *owner)
{
	if (e->rs == NULL || ruleset_owner(e->rs, owner) != NULL)
		return 0;
	fprintf(stderr, "%s: %s '%s': no such owner in the loaded owners (known:", e->prog, flag, owner);
	for (size_t i = 0; i < e->rs->nowners && i < 20; i++)
		fprintf(stderr, "%s %s", i ? "," : "", e->rs->owners[i].name);
	fprintf(stderr, "%s)\n", e->rs->nowners > 20 ? ", ..." : "");
	return 2;
}

/* ---- Kafka clients of the CLI ---- */

/* A client of cfg for role, quiet (librdkafka errors only) unless the
 * config or -v asks for more. Producers give up on a message after
 * SEND_TIMEOUT_S unless the config says otherwise. */
static int cli_client(const struct ctl_env *e, const char *role, rd_kafka_type_t type,
		      void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), rd_kafka_t **out)
{
	rd_kafka_conf_t *conf;
	char err[512], v[32];

	if (kafka_conf_build(e->cfg, role, &conf, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s: %s\n", e->prog, e->cfg->path, err);
		return 2;
	}
	if (!kafka_cfg_prop(e->cfg, "log_level") && !kafka_cfg_prop(e->cfg, "debug") &&
	    log_level < LOG_LEVEL_DEBUG)
		rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
	snprintf(v, sizeof v, "%d", SEND_TIMEOUT_S * 1000);
	if (type == RD_KAFKA_PRODUCER && !kafka_cfg_prop(e->cfg, "message.timeout.ms") &&
	    !kafka_cfg_prop(e->cfg, "delivery.timeout.ms"))
		rd_kafka_conf_set(conf, "message.timeout.ms", v, err, sizeof err);
	if (dr)
		rd_kafka_conf_set_dr_msg_cb(conf, dr);
	*out = rd_kafka_new(type, conf, err, sizeof err);
	if (*out == NULL) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "%s: cannot create a Kafka client: %s\n", e->prog, err);
		return 1;
	}
	return 0;
}

struct send_result {
	int done;
	rd_kafka_resp_err_t err;
	int32_t part;
	int64_t off;
};

static void send_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct send_result *r = m->_private;
	(void)rk;
	(void)opaque;
	if (r == NULL)
		return;
	r->done = 1;
	r->err = m->err;
	r->part = m->partition;
	r->off = m->offset;
}

/* Both topics' partition counts, which must agree. 0 or 1. */
static int check_counts(const struct ctl_env *e, rd_kafka_t *rk)
{
	int32_t na = 0, nc = 0;
	if (kafka_partition_count(rk, e->cfg->alerts_topic, READ_TIMEOUT_MS, &na) != 0 ||
	    kafka_partition_count(rk, e->cfg->control_topic, READ_TIMEOUT_MS, &nc) != 0) {
		fprintf(stderr, "%s: no metadata for the topics %s and %s from %s\n", e->prog,
			e->cfg->alerts_topic, e->cfg->control_topic,
			kafka_cfg_prop(e->cfg, "bootstrap.servers"));
		return 1;
	}
	if (na != nc) {
		fprintf(stderr,
			"%s: the control topic %s has %" PRId32
			" partitions and the alerts topic %s has %" PRId32
			": they must have the same count\n",
			e->prog, e->cfg->control_topic, nc, e->cfg->alerts_topic, na);
		return 1;
	}
	return 0;
}

static int send_kafka(const struct ctl_env *e, const char *owner, const char *text, char *where,
		      size_t wherelen)
{
	struct send_result r = {0};
	rd_kafka_t *rk = NULL;
	int rc = cli_client(e, "producer", RD_KAFKA_PRODUCER, send_dr, &rk);
	if (rc != 0)
		return rc;
	if ((rc = check_counts(e, rk)) != 0)
		goto out;
	rd_kafka_resp_err_t err = rd_kafka_producev(
		rk, RD_KAFKA_V_TOPIC(e->cfg->control_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(owner, strlen(owner)), RD_KAFKA_V_VALUE((void *)text, strlen(text)),
		RD_KAFKA_V_OPAQUE(&r), RD_KAFKA_V_END);
	if (err) {
		fprintf(stderr, "%s: cannot publish to %s: %s\n", e->prog, e->cfg->control_topic,
			rd_kafka_err2str(err));
		rc = 1;
		goto out;
	}
	double deadline = clock_mono() + SEND_TIMEOUT_S + 5;
	while (!r.done && !cmd_stop && clock_mono() < deadline)
		rd_kafka_flush(rk, 500);
	if (!r.done) {
		fprintf(stderr, "%s: no acknowledgement from the broker for %s within %d s: not applied\n",
			e->prog, e->cfg->control_topic, SEND_TIMEOUT_S);
		rc = 1;
	} else if (r.err) {
		fprintf(stderr, "%s: the broker refused the command on %s: %s\n", e->prog,
			e->cfg->control_topic, rd_kafka_err2str(r.err));
		rc = 1;
	} else if (where) {
		snprintf(where, wherelen, "%s partition %" PRId32 " offset %" PRId64, e->cfg->control_topic,
			 r.part, r.off);
	}
out:
	rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_destroy(rk);
	return rc;
}

/* One line, one write(2), under an exclusive flock of the file: appends of
 * concurrent commands never interleave. */
static int send_local(const struct ctl_env *e, const char *text, char *where, size_t wherelen)
{
	char path[4096];
	int rc = 1;

	snprintf(path, sizeof path, "%s/control.jsonl", e->state_dir);
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	if (line == NULL) {
		fprintf(stderr, "%s: out of memory\n", e->prog);
		return 1;
	}
	memcpy(line, text, len);
	line[len++] = '\n';
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", e->prog, path, strerror(errno));
		free(line);
		return 1;
	}
	if (flock(fd, LOCK_EX) != 0) {
		fprintf(stderr, "%s: %s: lock: %s\n", e->prog, path, strerror(errno));
	} else {
		ssize_t n = write(fd, line, len);
		if (n != (ssize_t)len)
			fprintf(stderr, "%s: %s: write: %s\n", e->prog, path,
				n < 0 ? strerror(errno) : "short write (the line may be torn)");
		else if (fdatasync(fd) != 0)
			fprintf(stderr, "%s: %s: fdatasync: %s\n", e->prog, path, strerror(errno));
		else
			rc = 0;
		flock(fd, LOCK_UN);
	}
	close(fd);
	free(line);
	if (rc == 0 && where)
		snprintf(where, wherelen, "%s", path);
	return rc;
}

int ctl_send(const struct ctl_env *e, const char *owner, json_t *cmd, char *where, size_t wherelen)
{
	char *text = json_dumps(cmd, JSON_COMPACT);
	int rc;
	if (text == NULL) {
		fprintf(stderr, "%s: out of memory\n", e->prog);
		return 1;
	}
	rc = e->cfg ? send_kafka(e, owner, text, where, wherelen) : send_local(e, text, where, wherelen);
	free(text);
	return rc;
}

/* ---- the gateway's view ---- */

/* The time in field of j, or dflt. */
static double time_field(json_t *j, const char *field, double dflt)
{
	const char *s = json_string_value(json_object_get(j, field));
	double t;
	if (s && time_parse_text(s, strlen(s), &t, NULL) == 0)
		return t;
	return dflt;
}

int ctl_view_apply(struct ctl_view *v, json_t *cmd, int32_t part, double at)
{
	const char *op = json_string_value(json_object_get(cmd, "op"));
	char id[SILENCE_ID_LEN], err[256];

	if (op == NULL)
		return -VIGIL_EINVAL;
	if (strcmp(op, "silence_add") == 0) {
		/* as the gateway applied it when it came (the id does not depend on
		 * the time: the command carries created_at); a silence that has
		 * ended since is shown expired */
		json_t *spec = json_object_get(cmd, "silence");
		double t = time_field(spec, "starts_at", time_field(spec, "created_at", at));
		return silences_add(v->sil, spec, t, part, id, err, sizeof err);
	}
	if (strcmp(op, "silence_expire") == 0) {
		const char *sid = json_string_value(json_object_get(cmd, "id"));
		return silences_expire(v->sil, json_string_value(json_object_get(cmd, "owner")),
				       sid ? sid : "", time_field(cmd, "at", at));
	}
	if (strcmp(op, "ack") == 0 || strcmp(op, "unack") == 0) {
		const char *ep = json_string_value(json_object_get(cmd, "episode"));
		size_t i, k;
		json_t *g, *a;
		json_array_foreach(v->groups, i, g) json_array_foreach(json_object_get(g, "alerts"), k, a)
		{
			const char *aep = json_string_value(json_object_get(a, "ep"));
			if (ep && aep && strcmp(ep, aep) == 0)
				return json_object_set_new(a, "acked", json_integer(op[0] == 'a'))
					       ? -VIGIL_ENOMEM
					       : 0;
		}
		return -VIGIL_ENOENT;
	}
	return -VIGIL_EINVAL;
}

/* The on-call parts of one snapshot (or state file) of partition part. */
static void view_take(struct ctl_view *v, json_t *snap, int32_t part)
{
	char err[256];
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(snap, "silences"), i,
			   x) if (silences_restore(v->sil, x, part, err, sizeof err) != 0)
		LOG_WARN("ctl", "event=silence_unreadable partition=%" PRId32 " err=\"%s\"", part, err);
	json_array_foreach(json_object_get(snap, "groups"), i, x) json_array_append(v->groups, x);
}

struct scan_ctx {
	struct ctl_view *v;
	int32_t part;
};

static void view_scan(void *ctx, const rd_kafka_message_t *m)
{
	struct scan_ctx *s = ctx;
	json_error_t je;
	if (m->err || m->payload == NULL)
		return;
	json_t *cmd = json_loadb(m->payload, m->len, 0, &je);
	int64_t ts = rd_kafka_message_timestamp(m, NULL);
	if (cmd) {
		ctl_view_apply(s->v, cmd, s->part, ts > 0 ? (double)ts / 1000.0 : clock_wall());
		s->v->nrecords++;
	}
	json_decref(cmd);
}

static int view_kafka(const struct ctl_env *e, struct ctl_view *v)
{
	rd_kafka_t *rk = NULL;
	int32_t na = 0, ns = 0;
	int rc = cli_client(e, "reader", RD_KAFKA_CONSUMER, NULL, &rk);
	if (rc != 0)
		return rc;
	if (kafka_partition_count(rk, e->cfg->alerts_topic, READ_TIMEOUT_MS, &na) != 0 ||
	    kafka_partition_count(rk, e->cfg->gateway_state_topic, READ_TIMEOUT_MS, &ns) != 0) {
		fprintf(stderr, "%s: no metadata for the topics %s and %s from %s\n", e->prog,
			e->cfg->alerts_topic, e->cfg->gateway_state_topic,
			kafka_cfg_prop(e->cfg, "bootstrap.servers"));
		rc = 1;
		goto out;
	}
	for (int32_t p = 0; p < na && rc == 0; p++) {
		struct kafka_ckpt k;
		int found = 0, truncated = 0;
		int64_t from = -1;
		if (kafka_ckpt_read(rk, e->cfg->gateway_state_topic, p % ns, e->cfg->alerts_topic, p,
				    READ_TIMEOUT_MS, &cmd_stop, &k, &found) != 0) {
			fprintf(stderr, "%s: cannot read the snapshot of %s partition %" PRId32 " from %s\n",
				e->prog, e->cfg->alerts_topic, p, e->cfg->gateway_state_topic);
			rc = 1;
			break;
		}
		if (found) {
			json_error_t je;
			json_t *snap = json_loadb((const char *)k.blob, k.bloblen, 0, &je);
			if (snap) {
				view_take(v, snap, p);
				json_t *cn = json_object_get(snap, "control_next");
				if (json_is_integer(cn))
					from = json_integer_value(cn);
				v->nsnaps++;
			} else {
				fprintf(stderr,
					"%s: warning: the snapshot of %s partition %" PRId32
					" is not JSON: %s\n",
					e->prog, e->cfg->alerts_topic, p, je.text);
			}
			json_decref(snap);
		}
		kafka_ckpt_free(&k);
		struct scan_ctx sc = {v, p};
		if (kafka_scan_partition(rk, e->cfg->control_topic, p, from, READ_TIMEOUT_MS, &cmd_stop,
					 view_scan, &sc, &truncated) != 0) {
			fprintf(stderr, "%s: cannot read %s partition %" PRId32 "\n", e->prog,
				e->cfg->control_topic, p);
			rc = 1;
		}
	}
out:
	rd_kafka_destroy(rk);
	return rc;
}

/* Each complete line of path from byte offset `from` as JSON to fn; a
 * missing file is empty. 0 or 1. */
static int each_line(const struct ctl_env *e, const char *path, off_t from, void (*fn)(void *, json_t *),
		     void *ctx)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s: %s\n", e->prog, path, strerror(errno));
		return 1;
	}
	if (from > 0 && fseeko(f, from, SEEK_SET) != 0) {
		fprintf(stderr, "%s: %s: seek to %lld: %s\n", e->prog, path, (long long)from,
			strerror(errno));
		fclose(f);
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *j = json_loadb(line, (size_t)n, 0, &je);
		if (j) /* a torn last line (a crash mid-write) is skipped */
			fn(ctx, j);
		json_decref(j);
	}
	free(line);
	fclose(f);
	return 0;
}

/* gateway.log "put" records: the newest value per (ns, key), null deletes. */
static void log_put(void *ctx, json_t *j)
{
	json_t *puts = ctx, *val = json_object_get(j, "v");
	const char *op = json_string_value(json_object_get(j, "op"));
	const char *ns = json_string_value(json_object_get(j, "ns"));
	const char *key = json_string_value(json_object_get(j, "key"));
	char k[160];
	if (!op || strcmp(op, "put") != 0 || !ns || !key)
		return;
	snprintf(k, sizeof k, "%s/%s", ns, key);
	if (val == NULL || json_is_null(val))
		json_object_del(puts, k);
	else
		json_object_set(puts, k, val);
}

static void local_cmd(void *ctx, json_t *cmd)
{
	struct ctl_view *v = ctx;
	ctl_view_apply(v, cmd, -1, clock_wall());
	v->nrecords++;
}

static int view_local(const struct ctl_env *e, struct ctl_view *v)
{
	char path[4096];
	const char *k;
	json_t *val, *puts = json_object(), *sils = json_array(), *groups = json_array();
	off_t applied = 0; /* bytes of control.jsonl the gateway applied (its "c" record) */
	int rc = 1;

	if (!puts || !sils || !groups) {
		fprintf(stderr, "%s: out of memory\n", e->prog);
		goto out;
	}
	snprintf(path, sizeof path, "%s/gateway.log", e->state_dir);
	if ((rc = each_line(e, path, 0, log_put, puts)) != 0)
		goto out;
	json_object_foreach(puts, k, val)
	{
		if (strncmp(k, "c/", 2) == 0)
			applied = (off_t)json_integer_value(json_object_get(val, "off"));
		else if (strncmp(k, "s/", 2) == 0)
			json_array_append(sils, val);
		else if (strncmp(k, "g/", 2) == 0)
			json_array_append(groups, val);
	}
	json_t *snap = json_pack("{s:O, s:O}", "silences", sils, "groups", groups);
	if (snap)
		view_take(v, snap, -1);
	json_decref(snap);
	v->nsnaps++;
	snprintf(path, sizeof path, "%s/control.jsonl", e->state_dir);
	rc = each_line(e, path, applied, local_cmd, v);
out:
	json_decref(puts);
	json_decref(sils);
	json_decref(groups);
	return rc;
}

int ctl_view_load(const struct ctl_env *e, struct ctl_view *v)
{
	memset(v, 0, sizeof *v);
	if (silences_new(&v->sil) != 0 || (v->groups = json_array()) == NULL) {
		fprintf(stderr, "%s: out of memory\n", e->prog);
		return 1;
	}
	/* no collection here: the gateway collects by its own clock (data time
	 * in a replay) and its state says what it dropped */
	return e->cfg ? view_kafka(e, v) : view_local(e, v);
}

void ctl_view_free(struct ctl_view *v)
{
	if (v->sil)
		silences_free(v->sil);
	json_decref(v->groups);
	memset(v, 0, sizeof *v);
}

/* ---- small helpers ---- */

int ctl_parse_time(const char *prog, const char *flag, const char *text, double *out)
{
	int col = 0;
	if (time_parse_text(text, strlen(text), out, &col) != 0) {
		fprintf(stderr, "%s: %s '%s': not an RFC 3339 time like 2026-03-02T08:15:00Z (column %d)\n",
			prog, flag, text, col);
		return 2;
	}
	return 0;
}

double ctl_now_ms(void)
{
	char buf[48];
	double t = floor(clock_wall() * 1000.0) / 1000.0, back = t;
	time_format_rfc3339(t, buf, sizeof buf);
	if (time_parse_text(buf, strlen(buf), &back, NULL) != 0)
		return t;
	return back;
}

json_t *ctl_cmd_new(const char *op)
{
	return json_pack("{s:s, s:s}", "schema", CTL_SCHEMA, "op", op);
}

int ctl_print_json(const char *prog, json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, "%s: writing stdout: %s\n", prog, strerror(errno));
		return 1;
	}
	return 0;
}
