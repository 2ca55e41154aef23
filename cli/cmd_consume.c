/* vigil consume: an operator tool that reads a topic (the dead-letter topic,
 * the alerts topic, the input) and prints one JSON object per message.
 *
 * No consumer group is joined and nothing is ever committed: the partitions
 * are assigned directly (rd_kafka_assign) at offsets computed here from the
 * watermarks. librdkafka 2.0.2 refuses assign() without a group.id, so the
 * process uses a private one ("vigil-consume-<pid>") that never subscribes.
 *
 * Without --follow every partition read stops at its high watermark as
 * queried at start (partition EOF events or the last offset tell when it
 * is reached); with --follow it reads until SIGTERM/SIGINT or --count.
 *
 * @thread single-threaded: the poll loop owns the consumer. librdkafka's
 * log callback runs on its internal threads and only reads immutable data. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "core/clock.h"
#include "core/kafka.h"
#include "cli/cmds.h"
#include "core/vigil.h"

#define CONSUME_MAX_SETS 64

static void consume_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil consume (-b BOOTSTRAP | --bootstrap-file F) -t TOPIC [--partition N]\n"
		"                     [--from beginning|end|OFFSET] [--count N] [--follow]\n"
		"                     [--timeout SECONDS] [--set PROP=VALUE ...]\n\n"
		"Reads a topic without joining a consumer group (nothing is committed) and\n"
		"prints one JSON object per message on stdout:\n"
		"  "
		"{\"topic\",\"partition\",\"offset\",\"timestamp_ms\",\"key\",\"value\",\"headers\":{...}}\n"
		"Keys, values and header values are strings when they are valid UTF-8 without\n"
		"NUL bytes, else {\"base64\": \"...\"}; a missing key or value is null, a\n"
		"repeated header name maps to an array of its values in order.\n\n"
		"  --partition N   read only partition N (default: all)\n"
		"  --from WHERE    beginning (default), end, or an offset; an offset outside a\n"
		"                  partition's [low, high] watermarks is an error\n"
		"  --count N       stop after N messages\n"
		"  --follow        keep reading new messages until SIGTERM/SIGINT or --count;\n"
		"                  without it, reading stops at the high watermarks of the start\n"
		"  --timeout S     seconds to wait for the broker (metadata, watermarks) and,\n"
		"                  without --follow, for progress (default 10)\n"
		"  --set P=V       extra librdkafka consumer property\n\n"
		"Exit status: 0 done, 1 runtime error (unknown topic, broker unreachable, ...),\n"
		"2 usage error.\n");
}

/* ---- secrets in --set values ---- */

/* 1 if a property name looks like it holds a secret. */
static int prop_sensitive(const char *name, size_t len)
{
	static const char *const words[] = {"password", "secret", "key"};
	for (size_t w = 0; w < VIGIL_ARRAY_LEN(words); w++) {
		size_t wl = strlen(words[w]);
		for (size_t i = 0; i + wl <= len; i++)
			if (strncasecmp(name + i, words[w], wl) == 0)
				return 1;
	}
	return 0;
}

/* The --set arguments, read-only after parsing (the log callback reads them
 * from librdkafka's threads). */
static const char *consume_sets[CONSUME_MAX_SETS];
static size_t consume_nsets;

/* Copy src to out (always NUL-terminated), replacing every occurrence of the
 * value of a sensitive --set property with "***". */
static void scrub(const char *src, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen == 0)
		return;
	while (*src && o + 1 < outlen) {
		size_t hit = 0;
		for (size_t i = 0; i < consume_nsets && !hit; i++) {
			const char *eq = strchr(consume_sets[i], '=');
			if (eq == NULL || !prop_sensitive(consume_sets[i], (size_t)(eq - consume_sets[i])))
				continue;
			size_t vl = strlen(eq + 1);
			if (vl > 0 && strncmp(src, eq + 1, vl) == 0)
				hit = vl;
		}
		if (hit) {
			for (const char *m = "***"; *m && o + 1 < outlen; m++)
				out[o++] = *m;
			src += hit;
		} else {
			out[o++] = *src++;
		}
	}
	out[o] = '\0';
}

/* "NAME=VALUE" as it may be echoed: the value masked when NAME is sensitive;
 * an argument without '=' is masked whole when it mentions a secret. */
static void masked_set(const char *arg, char *out, size_t outlen)
{
	const char *eq = strchr(arg, '=');
	size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
	if (!prop_sensitive(arg, nl))
		scrub(arg, out, outlen);
	else if (eq)
		snprintf(out, outlen, "%.*s=***", (int)nl, arg);
	else
		snprintf(out, outlen, "***");
}

/* Errors and logs from librdkafka. The error callback runs on the polling
 * thread (the main queue is forwarded to the consumer queue). */
struct consume_errs {
	char last[512]; /* scrubbed text of the newest error */
	uint64_t n;
	int fatal;
	int follow; /* print transient errors as warnings */
};

static void consume_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct consume_errs *ce = opaque;
	char buf[512];
	(void)rk;
	scrub(reason ? reason : "", buf, sizeof buf);
	snprintf(ce->last, sizeof ce->last, "%s", buf);
	ce->n++;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		ce->fatal = 1;
		fprintf(stderr, "vigil consume: fatal: %s\n", buf);
	} else if (ce->follow && (ce->n <= 5 || ce->n % 100 == 0)) {
		fprintf(stderr, "vigil consume: warning: %s (%s, %" PRIu64 " so far)\n", buf,
			rd_kafka_err2name((rd_kafka_resp_err_t)err), ce->n);
	}
}

/* librdkafka's own log lines are shown only when --set debug=... asked for
 * them; connection failures reach the user through the error callback. */
static int consume_show_logs;

static void consume_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	char s[1024];
	(void)rk;
	if (!consume_show_logs)
		return;
	scrub(buf, s, sizeof s);
	fprintf(stderr, "vigil consume: librdkafka %d %s: %s\n", level, fac, s);
}

/* ---- JSON encoding of bytes ---- */

/* 1 if p[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF) without NUL bytes. */
static int utf8_text(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		size_t len;
		uint32_t cp, min;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Standard base64 (RFC 4648, with padding) of p[0..n); caller frees.
 * NULL when out of memory. */
static char *base64_encode(const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0, i = 0;
	if (out == NULL)
		return NULL;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* JSON for a byte string: null (p == NULL), a string, or {"base64": ...}.
 * New reference, NULL when out of memory. */
static json_t *bytes_json(const void *p, size_t n)
{
	if (p == NULL)
		return json_null();
	if (utf8_text(p, n)) {
		json_t *s = json_stringn(p, n);
		if (s)
			return s;
	}
	char *b = base64_encode(p, n);
	if (b == NULL)
		return NULL;
	json_t *o = json_pack("{s:s}", "base64", b);
	free(b);
	return o;
}

/* Add one header to obj; a repeated name turns the value into an array.
 * Names that are not UTF-8 text become "base64:<name in base64>".
 * Returns 0 or -1 (out of memory). */
static int header_add(json_t *obj, const char *name, const void *val, size_t len)
{
	char *kb = NULL;
	const char *key = name;
	size_t nl = strlen(name);
	json_t *v = bytes_json(val, len);
	int rc = -1;
	if (v == NULL)
		return -1;
	if (!utf8_text((const unsigned char *)name, nl)) {
		char *b = base64_encode((const unsigned char *)name, nl);
		if (b == NULL)
			goto out;
		kb = malloc(strlen(b) + 8);
		if (kb)
			sprintf(kb, "base64:%s", b);
		free(b);
		if (kb == NULL)
			goto out;
		key = kb;
	}
	json_t *old = json_object_get(obj, key);
	if (old == NULL) {
		rc = json_object_set_new(obj, key, v);
	} else if (json_is_array(old)) {
		rc = json_array_append_new(old, v);
	} else {
		json_t *arr = json_array();
		if (arr == NULL || json_array_append(arr, old) != 0) {
			json_decref(arr);
			goto out;
		}
		if (json_array_append_new(arr, v) == 0)
			rc = json_object_set_new(obj, key, arr);
		else
			json_decref(arr);
	}
	v = NULL; /* the *_new calls took it, also on failure */
out:
	json_decref(v);
	free(kb);
	return rc;
}

/* Print message m as one JSON line. Returns 0, or -1 (out of memory or a
 * write error, reported here). */
static int print_msg(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *hs = NULL;
	json_t *o = json_object(), *h = json_object();
	int rc = -1;
	if (o == NULL || h == NULL)
		goto out;
	int64_t ts = rd_kafka_message_timestamp(m, NULL);
	/* json_object_set_new steals the value, also when it fails */
	if (json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(m->rkt))) != 0 ||
	    json_object_set_new(o, "partition", json_integer(m->partition)) != 0 ||
	    json_object_set_new(o, "offset", json_integer(m->offset)) != 0 ||
	    json_object_set_new(o, "timestamp_ms", ts >= 0 ? json_integer(ts) : json_null()) != 0 ||
	    json_object_set_new(o, "key", bytes_json(m->key, m->key_len)) != 0 ||
	    json_object_set_new(o, "value", bytes_json(m->payload, m->len)) != 0)
		goto out;
	if (rd_kafka_message_headers(m, &hs) == 0 && hs) {
		const char *name;
		const void *v;
		size_t len;
		for (size_t i = 0; rd_kafka_header_get_all(hs, i, &name, &v, &len) == 0; i++)
			if (header_add(h, name, v, len) != 0)
				goto out;
	}
	if (json_object_set(o, "headers", h) != 0)
		goto out;
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s == NULL)
		goto out;
	rc = (fputs(s, stdout) < 0 || putchar('\n') == EOF) ? -1 : 0;
	free(s);
	if (rc != 0)
		fprintf(stderr, "vigil consume: writing stdout: %s\n", strerror(errno));
	json_decref(o);
	json_decref(h);
	return rc;
out:
	fprintf(stderr, "vigil consume: out of memory encoding %s/%" PRId32 " offset %" PRId64 "\n",
		rd_kafka_topic_name(m->rkt), m->partition, m->offset);
	json_decref(o);
	json_decref(h);
	return -1;
}

/* ---- reading ---- */

struct cpart {
	int32_t id;
	int64_t low, high; /* watermarks at start */
	int64_t start;     /* first offset to read */
	int64_t next;      /* next offset expected */
	int done;          /* reached `high` (without --follow) */
};

static int ms_left(double deadline)
{
	double left = deadline - clock_mono();
	return left > 0 ? (int)(left * 1e3) + 1 : 1;
}

/* Parse a non-negative decimal integer (all of s). 0 or -1. */
static int parse_i64(const char *s, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Set a property; on failure print it (masked) and return -1. */
static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, const char *what)
{
	char err[512], s[512];
	if (rd_kafka_conf_set(conf, k, v, err, sizeof err) == RD_KAFKA_CONF_OK)
		return 0;
	scrub(err, s, sizeof s);
	if (prop_sensitive(k, strlen(k)))
		fprintf(stderr, "vigil consume: %s %s=***: %s\n", what, k, s);
	else {
		char vs[512];
		scrub(v, vs, sizeof vs);
		fprintf(stderr, "vigil consume: %s %s=%s: %s\n", what, k, vs, s);
	}
	return -1;
}

int cmd_consume(int argc, char **argv)
{
	const char *boot = NULL, *bootfile = NULL, *topic = NULL, *from = "beginning";
	char bootbuf[1024], err[512], cid[128], msgbuf[512];
	int64_t part = -1, fromoff = -1, count = 0;
	double timeout = 10;
	int follow = 0, rc = 1;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *tpl = NULL;
	struct cpart *parts = NULL;
	size_t nparts = 0;
	struct consume_errs ce;
	uint64_t printed = 0;

	memset(&ce, 0, sizeof ce);
	consume_nsets = 0;
	consume_show_logs = 0;
	if (cmd_wants_help(argc, argv)) {
		consume_usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if ((strcmp(a, "-b") == 0 || strcmp(a, "--bootstrap") == 0) && more)
			boot = argv[++i];
		else if (strcmp(a, "--bootstrap-file") == 0 && more)
			bootfile = argv[++i];
		else if ((strcmp(a, "-t") == 0 || strcmp(a, "--topic") == 0) && more)
			topic = argv[++i];
		else if ((strcmp(a, "-p") == 0 || strcmp(a, "--partition") == 0) && more) {
			if (parse_i64(argv[++i], INT32_MAX, &part) != 0) {
				fprintf(stderr,
					"vigil consume: --partition wants an integer >= 0, got '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(a, "--from") == 0 && more) {
			from = argv[++i];
			if (strcmp(from, "beginning") != 0 && strcmp(from, "end") != 0 &&
			    parse_i64(from, INT64_MAX, &fromoff) != 0) {
				fprintf(stderr,
					"vigil consume: --from wants beginning, end or an offset >= 0, got "
					"'%s'\n",
					from);
				return 2;
			}
		} else if ((strcmp(a, "-n") == 0 || strcmp(a, "--count") == 0) && more) {
			if (parse_i64(argv[++i], INT64_MAX, &count) != 0 || count < 1) {
				fprintf(stderr, "vigil consume: --count wants an integer >= 1, got '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0)
			follow = 1;
		else if (strcmp(a, "--timeout") == 0 && more) {
			char *end;
			timeout = strtod(argv[++i], &end);
			if (*end != '\0' || end == argv[i] || !(timeout > 0) || timeout > 86400) {
				fprintf(stderr,
					"vigil consume: --timeout wants seconds in (0, 86400], got '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(a, "--set") == 0 && more) {
			const char *s = argv[++i];
			const char *eq = strchr(s, '=');
			if (eq == NULL || eq == s || consume_nsets >= CONSUME_MAX_SETS) {
				masked_set(s, msgbuf, sizeof msgbuf);
				fprintf(stderr,
					"vigil consume: --set wants PROP=VALUE (at most %d), got '%s'\n",
					CONSUME_MAX_SETS, msgbuf);
				return 2;
			}
			consume_sets[consume_nsets++] = s;
		} else {
			fprintf(stderr, "vigil consume: unknown or incomplete option '%s'\n", a);
			consume_usage(stderr);
			return 2;
		}
	}
	if (bootfile && boot == NULL) {
		if (cmd_read_first_line(bootfile, bootbuf, sizeof bootbuf) != 0) {
			fprintf(stderr, "vigil consume: cannot read bootstrap servers from %s\n", bootfile);
			return 2;
		}
		boot = bootbuf;
	}
	if (boot == NULL || topic == NULL || topic[0] == '\0') {
		fprintf(stderr, "vigil consume: %s\n",
			boot == NULL ? "-b BOOTSTRAP or --bootstrap-file is required"
				     : "-t TOPIC is required");
		consume_usage(stderr);
		return 2;
	}
	ce.follow = follow;

	cmd_stop_on_signals();

	/* Defaults, then the user's --set (which win), then what this tool
	 * depends on: no commits and partition EOF events. */
	conf = rd_kafka_conf_new();
	if (conf == NULL) {
		fprintf(stderr, "vigil consume: out of memory\n");
		return 1;
	}
	snprintf(cid, sizeof cid, "vigil-consume-%ld", (long)getpid());
	static const char *const defs[][2] = {
		{"fetch.wait.max.ms", "10"},           /* the mock holds empty fetches */
		{"auto.offset.reset", "error"},        /* never skip silently */
		{"allow.auto.create.topics", "false"}, /* reading must not create topics */
		{"enable.auto.offset.store", "false"},
	};
	if (conf_set(conf, "bootstrap.servers", boot, "bootstrap") != 0 ||
	    conf_set(conf, "group.id", cid, "default") != 0 ||
	    conf_set(conf, "client.id", cid, "default") != 0)
		goto usage_fail;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(defs); i++)
		if (conf_set(conf, defs[i][0], defs[i][1], "default") != 0)
			goto usage_fail;
	for (size_t i = 0; i < consume_nsets; i++) {
		char k[256];
		const char *eq = strchr(consume_sets[i], '=');
		size_t kl = (size_t)(eq - consume_sets[i]);
		if (kl >= sizeof k) {
			fprintf(stderr, "vigil consume: --set: property name too long\n");
			goto usage_fail;
		}
		memcpy(k, consume_sets[i], kl);
		k[kl] = '\0';
		if (strcmp(k, "debug") == 0)
			consume_show_logs = 1;
		if (conf_set(conf, k, eq + 1, "--set") != 0)
			goto usage_fail;
	}
	if (conf_set(conf, "enable.auto.commit", "false", "required") != 0 ||
	    conf_set(conf, "enable.partition.eof", "true", "required") != 0)
		goto usage_fail;
	rd_kafka_conf_set_opaque(conf, &ce);
	rd_kafka_conf_set_error_cb(conf, consume_error_cb);
	rd_kafka_conf_set_log_cb(conf, consume_log_cb);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
	if (rk == NULL) {
		scrub(err, msgbuf, sizeof msgbuf);
		fprintf(stderr, "vigil consume: %s\n", msgbuf);
		goto usage_fail;
	}
	conf = NULL; /* owned by rk */
	rd_kafka_poll_set_consumer(rk);

	/* Metadata of all topics: asking for the topic by name could create it
	 * (the mock broker auto-creates topics named in a Metadata request). */
	double deadline = clock_mono() + timeout;
	rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, ms_left(deadline));
	if (e != 0) {
		rd_kafka_consumer_poll(rk, 0); /* collect the connection errors */
		fprintf(stderr, "vigil consume: topic %s: no metadata from %s within %g s: %s%s%s\n", topic,
			boot, timeout, rd_kafka_err2str(e), ce.last[0] ? "; last error: " : "", ce.last);
		goto out;
	}
	const struct rd_kafka_metadata_topic *mt = NULL;
	for (int i = 0; i < md->topic_cnt && mt == NULL; i++)
		if (strcmp(md->topics[i].topic, topic) == 0)
			mt = &md->topics[i];
	if (mt == NULL || mt->err || mt->partition_cnt <= 0) {
		fprintf(stderr, "vigil consume: topic %s: %s\n", topic,
			rd_kafka_err2str(mt == NULL ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
					 : mt->err  ? mt->err
						    : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION));
		goto out;
	}
	int32_t npart_topic = mt->partition_cnt;
	if (part >= npart_topic) {
		fprintf(stderr,
			"vigil consume: topic %s has %" PRId32 " partitions, no partition %" PRId64 "\n",
			topic, npart_topic, part);
		goto out;
	}
	nparts = part >= 0 ? 1 : (size_t)npart_topic;
	parts = calloc(nparts, sizeof *parts);
	tpl = rd_kafka_topic_partition_list_new((int)nparts);
	if (parts == NULL || tpl == NULL) {
		fprintf(stderr, "vigil consume: out of memory\n");
		goto out;
	}

	/* Watermarks and start offsets. */
	for (size_t i = 0; i < nparts; i++) {
		struct cpart *p = &parts[i];
		p->id = part >= 0 ? (int32_t)part : (int32_t)i;
		e = rd_kafka_query_watermark_offsets(rk, topic, p->id, &p->low, &p->high, ms_left(deadline));
		if (e != 0) {
			rd_kafka_consumer_poll(rk, 0);
			fprintf(stderr, "vigil consume: %s/%" PRId32 ": no watermarks within %g s: %s%s%s\n",
				topic, p->id, timeout, rd_kafka_err2str(e),
				ce.last[0] ? "; last error: " : "", ce.last);
			goto out;
		}
		if (strcmp(from, "beginning") == 0) {
			p->start = p->low;
		} else if (strcmp(from, "end") == 0) {
			p->start = p->high;
		} else if (fromoff < p->low || fromoff > p->high) {
			fprintf(stderr,
				"vigil consume: %s/%" PRId32 ": offset %" PRId64 " is outside [%" PRId64
				", %" PRId64 "] (low and high watermark)\n",
				topic, p->id, fromoff, p->low, p->high);
			goto out;
		} else {
			p->start = fromoff;
		}
		p->next = p->start;
		p->done = !follow && p->start >= p->high;
		rd_kafka_topic_partition_list_add(tpl, topic, p->id)->offset = p->start;
	}
	e = rd_kafka_assign(rk, tpl);
	if (e != 0) {
		fprintf(stderr, "vigil consume: %s: assign failed: %s\n", topic, rd_kafka_err2str(e));
		goto out;
	}

	/* The poll loop. */
	size_t left = 0;
	for (size_t i = 0; i < nparts; i++)
		left += !parts[i].done;
	double last_progress = clock_mono();
	int failed = 0;
	while (!cmd_stop && !failed && !ce.fatal && (follow || left > 0) &&
	       (count == 0 || printed < (uint64_t)count)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL) {
			if (!follow && clock_mono() - last_progress > timeout) {
				fprintf(stderr, "vigil consume: no progress for %g s; unfinished:", timeout);
				for (size_t i = 0; i < nparts; i++)
					if (!parts[i].done)
						fprintf(stderr, " %s/%" PRId32 " at %" PRId64 " of %" PRId64,
							topic, parts[i].id, parts[i].next, parts[i].high);
				fprintf(stderr, "%s%s\n", ce.last[0] ? "; last error: " : "", ce.last);
				failed = 1;
			}
			continue;
		}
		struct cpart *p = NULL;
		for (size_t i = 0; i < nparts && m->rkt; i++)
			if (parts[i].id == m->partition && strcmp(rd_kafka_topic_name(m->rkt), topic) == 0)
				p = &parts[i];
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (p && !p->done && !follow && m->offset >= p->high) {
				p->done = 1;
				left--;
			}
			last_progress = clock_mono();
		} else if (m->err) {
			fprintf(stderr, "vigil consume: %s/%" PRId32 ": %s\n",
				m->rkt ? rd_kafka_topic_name(m->rkt) : topic, m->partition,
				rd_kafka_message_errstr(m));
			failed = 1;
		} else if (p && (follow || m->offset < p->high) && m->offset >= p->next) {
			last_progress = clock_mono();
			if (print_msg(m) != 0)
				failed = 1;
			printed++;
			p->next = m->offset + 1;
			if (follow)
				fflush(stdout);
			if (!follow && !p->done && p->next >= p->high) {
				p->done = 1;
				left--;
			}
		}
		rd_kafka_message_destroy(m);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vigil consume: writing stdout failed\n");
		failed = 1;
	}
	if (cmd_stop && !follow && left > 0 && !failed) {
		fprintf(stderr, "vigil consume: interrupted before the end of %s\n", topic);
		failed = 1;
	}
	rc = failed || ce.fatal ? 1 : 0;
out:
	if (tpl)
		rd_kafka_topic_partition_list_destroy(tpl);
	free(parts);
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rk) {
		kafka_consumer_close_destroy(rk, "consume");
	}
	return rc;
usage_fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	return 2;
}
