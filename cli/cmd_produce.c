/* vigil produce: publish metric records (one per line, any decoder format)
 * to a Kafka topic, keyed by series so that a series always lands on one
 * partition, at a chosen rate, with every delivery report checked. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "core/clock.h"
#include "core/kafka.h"
#include "consumers/decoder.h"
#include "cli/cmds.h"
#include "engine/series.h"

static void produce_usage(FILE *f)
{
	fprintf(f, "usage: vigil produce (-b BOOTSTRAP | --bootstrap-file F) -t TOPIC [--rate N]\n"
		   "                     [--key series|group:TAG1,TAG2|none] [--format NAME]\n"
		   "                     [--lines N] [--set PROP=VALUE ...] FILE...|-\n\n"
		   "Publishes each non-empty line of the files as one message. The key is the\n"
		   "canonical series key of the line's first point (decoded with --format,\n"
		   "default auto), or the values of the named tags (group:), or none. Every\n"
		   "delivery is confirmed; exits 1 if any message was not delivered.\n\n"
		   "  --rate N        lines per second (default: as fast as possible)\n"
		   "  --lines N       pack up to N lines into one message (newline-separated),\n"
		   "                  only lines whose keys map to the same partition, so every\n"
		   "                  series still lands on one partition (the same one as with\n"
		   "                  --lines 1, librdkafka's default key hash); packed messages\n"
		   "                  carry no key and go out when full, after 64 KiB, or at\n"
		   "                  the end (default 1; with --key none lines are packed in order)\n"
		   "  --set P=V       extra librdkafka producer property\n");
}

struct key_ctx {
	const char *group; /* NULL = series key */
	char *out;
	size_t outlen;
	int got;
};

static int key_emit(void *ctx, const struct point *p)
{
	struct key_ctx *k = ctx;
	if (k->got)
		return 0;
	k->got = 1;
	if (k->group == NULL) {
		if (series_key(p, k->out, k->outlen) < 0)
			snprintf(k->out, k->outlen, "%s", p->name);
		return 0;
	}
	/* group:TAG1,TAG2 -> "v1,v2" (missing tags read as "") */
	size_t n = 0;
	k->out[0] = '\0';
	const char *s = k->group;
	while (*s) {
		const char *e = strchr(s, ',');
		size_t kl = e ? (size_t)(e - s) : strlen(s);
		const char *val = "";
		for (int i = 0; i < p->ntags; i++)
			if (strlen(p->tags[i].key) == kl && memcmp(p->tags[i].key, s, kl) == 0)
				val = p->tags[i].value;
		int w = snprintf(k->out + n, k->outlen - n, "%s%s", n ? "," : "", val);
		if (w < 0 || (size_t)w >= k->outlen - n)
			break;
		n += (size_t)w;
		s = e ? e + 1 : s + kl;
	}
	return 0;
}

static void produce_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	uint64_t *counts = opaque; /* [0] delivered, [1] failed */
	(void)rk;
	if (m->err) {
		if (counts[1] < 5)
			fprintf(stderr, "vigil produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
		counts[1]++;
	} else {
		counts[0]++;
	}
}

/* Enqueue one message (copied), waiting while librdkafka's queue is full.
 * Returns 0, or -1 after printing the error. */
static int send_msg(rd_kafka_t *rk, const char *topic, int32_t part, const char *key, const void *val,
		    size_t len)
{
	for (;;) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)val, len),
			RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_END);
		if (e == 0)
			break;
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			fprintf(stderr, "vigil produce: %s\n", rd_kafka_err2str(e));
			return -1;
		}
		rd_kafka_poll(rk, 50);
	}
	rd_kafka_poll(rk, 0);
	return 0;
}

/* --lines N: the lines waiting for one partition, newline-separated. */
#define PACK_MAX_BYTES (64u * 1024u)
struct pack {
	int32_t part; /* target partition; RD_KAFKA_PARTITION_UA for unkeyed lines */
	char *buf;
	size_t len, cap, lines;
};

static int pack_add(struct pack *pk, const char *line, size_t len)
{
	if (pk->len + len + 1 > pk->cap) {
		size_t nc = pk->cap ? pk->cap * 2 : 4096;
		while (nc < pk->len + len + 1)
			nc *= 2;
		char *nb = realloc(pk->buf, nc);
		if (nb == NULL)
			return -1;
		pk->buf = nb;
		pk->cap = nc;
	}
	if (pk->lines)
		pk->buf[pk->len++] = '\n';
	memcpy(pk->buf + pk->len, line, len);
	pk->len += len;
	pk->lines++;
	return 0;
}

static int pack_send(rd_kafka_t *rk, const char *topic, struct pack *pk, uint64_t *sent)
{
	if (send_msg(rk, topic, pk->part, NULL, pk->buf, pk->len) != 0)
		return -1;
	(*sent)++;
	pk->len = 0;
	pk->lines = 0;
	return 0;
}

/* Add a line to pk, sending the pack first if the line would take it over
 * PACK_MAX_BYTES and after if it now holds max_lines. 0 or -1 (printed). */
static int pack_put(rd_kafka_t *rk, const char *topic, struct pack *pk, const char *line, size_t len,
		    size_t max_lines, uint64_t *sent)
{
	if (pk->lines && pk->len + len + 1 > PACK_MAX_BYTES && pack_send(rk, topic, pk, sent) != 0)
		return -1;
	if (pack_add(pk, line, len) != 0) {
		fprintf(stderr, "vigil produce: out of memory\n");
		return -1;
	}
	return pk->lines >= max_lines ? pack_send(rk, topic, pk, sent) : 0;
}

int cmd_produce(int argc, char **argv)
{
	const char *boot = NULL, *bootfile = NULL, *topic = NULL, *keymode = "series", *format = "auto";
	const char *files[256];
	const char *sets[64];
	size_t nfiles = 0, nsets = 0;
	double rate = 0;
	char err[512], bootbuf[1024];
	uint64_t counts[2] = {0, 0}, sent = 0, bad_key = 0, nsent_lines = 0;
	size_t nlines = 1;
	int32_t npart = 0;
	struct pack *packs = NULL;
	rd_kafka_topic_t *rkt = NULL;
	int rc = 1;
	rd_kafka_t *rk = NULL;
	char *line = NULL;
	size_t cap = 0;

	if (cmd_wants_help(argc, argv)) {
		produce_usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-b") == 0 || strcmp(a, "--bootstrap") == 0) && i + 1 < argc)
			boot = argv[++i];
		else if (strcmp(a, "--bootstrap-file") == 0 && i + 1 < argc)
			bootfile = argv[++i];
		else if ((strcmp(a, "-t") == 0 || strcmp(a, "--topic") == 0) && i + 1 < argc)
			topic = argv[++i];
		else if (strcmp(a, "--rate") == 0 && i + 1 < argc)
			rate = strtod(argv[++i], NULL);
		else if (strcmp(a, "--key") == 0 && i + 1 < argc)
			keymode = argv[++i];
		else if (strcmp(a, "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(a, "--lines") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < 1 || v > 1000000) {
				fprintf(stderr, "vigil produce: --lines wants 1..1000000, got '%s'\n",
					argv[i]);
				return 2;
			}
			nlines = (size_t)v;
		} else if (strcmp(a, "--set") == 0 && i + 1 < argc && nsets < VIGIL_ARRAY_LEN(sets))
			sets[nsets++] = argv[++i];
		else if ((a[0] != '-' || strcmp(a, "-") == 0) && nfiles < VIGIL_ARRAY_LEN(files))
			files[nfiles++] = a;
		else {
			fprintf(stderr, "vigil produce: unknown or incomplete option '%s'\n", a);
			produce_usage(stderr);
			return 2;
		}
	}
	if (bootfile && boot == NULL) {
		if (cmd_read_first_line(bootfile, bootbuf, sizeof bootbuf) != 0) {
			fprintf(stderr, "vigil produce: cannot read bootstrap servers from %s\n", bootfile);
			return 2;
		}
		boot = bootbuf;
	}
	if (boot == NULL || topic == NULL || nfiles == 0 || rate < 0 ||
	    (strcmp(keymode, "series") != 0 && strcmp(keymode, "none") != 0 &&
	     strncmp(keymode, "group:", 6) != 0)) {
		produce_usage(stderr);
		return 2;
	}
	cmd_stop_on_signals();

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	static const char *const defs[][2] = {{"linger.ms", "5"},
					      {"enable.idempotence", "true"},
					      {"batch.num.messages", "10000"},
					      {"message.timeout.ms", "0"}};
	if (rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof err) != RD_KAFKA_CONF_OK)
		goto conf_fail;
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(defs); i++)
		if (rd_kafka_conf_set(conf, defs[i][0], defs[i][1], err, sizeof err) != RD_KAFKA_CONF_OK)
			goto conf_fail;
	if (kafka_conf_sets(conf, (const char *const *)sets, nsets, err, sizeof err) != 0)
		goto conf_fail;
	rd_kafka_conf_set_opaque(conf, counts);
	rd_kafka_conf_set_dr_msg_cb(conf, produce_dr);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (rk == NULL)
		goto conf_fail;

	if (nlines > 1) {
		if (kafka_partition_count(rk, topic, 10000, &npart) != 0) {
			fprintf(stderr, "vigil produce: cannot read the partition count of %s\n", topic);
			goto out;
		}
		packs = calloc((size_t)npart + 1, sizeof *packs); /* [npart]: unkeyed lines */
		rkt = rd_kafka_topic_new(rk, topic, NULL);
		if (packs == NULL || rkt == NULL) {
			fprintf(stderr, "vigil produce: out of memory\n");
			goto out;
		}
		for (int32_t i = 0; i <= npart; i++)
			packs[i].part = i < npart ? i : RD_KAFKA_PARTITION_UA;
	}
	double t0 = clock_mono();
	for (size_t fi = 0; fi < nfiles && !cmd_stop; fi++) {
		struct decoder_opts dopts = {0};
		struct decoder *dec = NULL;
		char series_default[256];
		const char *base = strrchr(files[fi], '/');
		base = base ? base + 1 : files[fi];
		snprintf(series_default, sizeof series_default, "%s", base);
		series_default[strcspn(series_default, ".")] = '\0';
		dopts.default_series = series_default;
		FILE *in = strcmp(files[fi], "-") == 0 ? stdin : fopen(files[fi], "r");
		if (in == NULL) {
			fprintf(stderr, "vigil produce: %s: %s\n", files[fi], strerror(errno));
			goto out;
		}
		if (strcmp(keymode, "none") != 0 &&
		    decoder_open(format, &dopts, &dec, err, sizeof err) != 0) {
			fprintf(stderr, "vigil produce: --format: %s\n", err);
			if (in != stdin)
				fclose(in);
			goto out;
		}
		ssize_t len;
		int failed = 0;
		while (!failed && !cmd_stop && (len = getline(&line, &cap, in)) >= 0) {
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = '\0';
			if (len == 0)
				continue;
			char key[1024] = "";
			struct key_ctx kc = {strncmp(keymode, "group:", 6) == 0 ? keymode + 6 : NULL, key,
					     sizeof key, 0};
			if (dec &&
			    (decoder_feed(dec, line, (size_t)len, key_emit, &kc, err, sizeof err) != 0 ||
			     !kc.got))
				bad_key++; /* still sent (unkeyed): the consumer counts and dead-letters it */
			if (rate > 0) {
				double due = t0 + (double)nsent_lines / rate;
				double now;
				while ((now = clock_mono()) < due) {
					int ms = (int)((due - now) * 1e3);
					rd_kafka_poll(rk, ms > 0 ? ms : 0);
				}
			}
			nsent_lines++;
			if (packs == NULL) {
				failed = send_msg(rk, topic, RD_KAFKA_PARTITION_UA, key[0] ? key : NULL, line,
						  (size_t)len) != 0;
				sent += !failed;
				continue;
			}
			int32_t part = key[0] ? rd_kafka_msg_partitioner_consistent_random(
							rkt, key, strlen(key), npart, NULL, NULL)
					      : npart;
			failed = pack_put(rk, topic, &packs[part], line, (size_t)len, nlines, &sent) != 0;
		}
		if (dec)
			decoder_close(dec);
		if (in != stdin)
			fclose(in);
		if (failed)
			goto out;
	}
	for (int32_t i = 0; packs && i <= npart; i++)
		if (packs[i].lines && pack_send(rk, topic, &packs[i], &sent) != 0)
			goto out;
	while (rd_kafka_outq_len(rk) > 0 && !cmd_stop)
		rd_kafka_flush(rk, 1000);
	double dt = clock_mono() - t0;
	fprintf(stderr,
		"vigil produce: lines=%" PRIu64 " sent=%" PRIu64 " delivered=%" PRIu64 " failed=%" PRIu64
		" unkeyed=%" PRIu64 " seconds=%.3f rate=%.0f/s lines_per_s=%.0f\n",
		nsent_lines, sent, counts[0], counts[1], bad_key, dt, dt > 0 ? (double)counts[0] / dt : 0.0,
		dt > 0 ? (double)nsent_lines / dt : 0.0);
	rc = (counts[1] == 0 && counts[0] == sent) ? 0 : 1;
out:
	free(line);
	for (int32_t i = 0; packs && i <= npart; i++)
		free(packs[i].buf);
	free(packs);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
conf_fail:
	fprintf(stderr, "vigil produce: %s\n", err);
	if (rk == NULL)
		rd_kafka_conf_destroy(conf);
	return 2;
}
