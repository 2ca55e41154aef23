/* Fuzz target: what a Kafka member decodes from the state topic when it
 * takes a partition over (consumers/kafka_member_state.c restore_part): the
 * checkpoint reader of core/kafka_ckpt.c (message keys, the vigil.ckpt
 * header "<id>:<index>:<count>:<next>", chunk reassembly, the snapshot
 * "VCK1" envelope with the alerts-topic high watermarks) and the engine
 * blob inside it (engine/engine_ckpt.c engine_load: rules, series, rule
 * states, detector states, peer groups). The gateway's snapshots use the
 * same reader; their JSON is fuzz_gateway_state's.
 *
 * Input: one mode byte, then (mode % 3 == 0, 1: a member's partition; 2:
 * the gateway's) a sequence of state messages, each
 *   u8 flags (bit 0: tombstone, bit 1: no vigil.ckpt header)
 *   u16 key length, key; u8 header length, header; u32 value length, value
 * (little endian; a short tail is cut to what is there), fed in order to
 * kafka_ckpt_scan_msg for input partition "in/3". A member's snapshot found
 * is loaded into an engine over the rules below, which then takes points
 * of every series it restored and saves again. On a gateway's partition
 * every message also goes to the scan of its done records
 * (consumers/gateway_done.c gwdone_scan_*: "vigil.done/in/3/<uid>" ->
 * {"ident","at"}, which share the partition), and the snapshot is JSON
 * whose "done" list (gwdone_import: the sends the previous owner finished)
 * is taken and exported again, as consumers/gateway_intake.c does before
 * gateway_import (whose part is fuzz_gateway_state's). Mode 0xEE: the rest is an engine blob, loaded
 * directly. Contracts: a found snapshot has its alert_hwm array and blob;
 * engine_load either succeeds or leaves an empty engine; a restored engine
 * saves and loads back.
 *
 * Seeds: VIGIL_FUZZ_SEEDS=DIR build/fuzz/bin/fuzz_kafka_ckpt -runs=0 writes
 * the messages kafka_ckpt_encode (kafka_ckpt_write's encoder) makes of
 * engines that ran 400 points, in both key schemes, one such engine blob
 * alone, and a gateway's snapshot (tests/fuzz/fuzz_gw.h) as the gateway
 * writes it, followed by done records in the form gwdone_record writes
 * (which needs a producer: written out here) and a tombstone of one. */
#include <math.h>

#include "core/buf.h"
#include "core/kafka.h"
#include "core/log.h"
#include "consumers/gateway_done.h"
#include "engine/engine.h"
#include "rules/rules.h"
#include "tests/fuzz/fuzz_gw.h"

#define IN_TOPIC  "in"
#define IN_PART   3
#define MODE_GW   2    /* mode % 3: a gateway's snapshot */
#define MODE_BLOB 0xEE /* the rest is an engine blob */

static const char rules_yaml[] = "rules:\n"
				 "  - name: lat\n"
				 "    series: \"svc.*\"\n"
				 "    detector: mad\n"
				 "    params: {window: 30}\n"
				 "    owner: team\n"
				 "  - name: lat-des\n"
				 "    series: svc.lat\n"
				 "    detector: des\n"
				 "    keep_firing_for: 10m\n"
				 "    owner: team\n"
				 "  - name: cpu-peers\n"
				 "    series: cpu\n"
				 "    detector: peerpca\n"
				 "    peer_group: {by: [app], step: 1m, deadline: 2m, min_members: 3}\n"
				 "    owner: team\n"
				 "owners:\n"
				 "  - name: team\n"
				 "    destinations: [{type: stdout}]\n";

static struct ruleset *rs;

static int on_alert(void *ctx, const struct alert_event *ev)
{
	(void)ctx;
	(void)ev;
	return 0;
}

static struct engine *new_engine(void)
{
	struct engine *e = NULL;
	char err[256];
	struct engine_opts o = {.rs = rs, .max_series = 10000, .on_alert = on_alert};
	if (engine_create(&o, &e, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_kafka_ckpt: engine: %s\n", err);
		abort();
	}
	return e;
}

static void feed(struct engine *e, int from, int to)
{
	static const char *const hosts[] = {"a", "b", "c", "d"};
	for (int i = from; i < to; i++)
		for (int h = 0; h < 4; h++) {
			struct point p = {.ntags = 2};
			p.tags[0] = (struct tag){"host", hosts[h]};
			p.tags[1] = (struct tag){"app", "web"};
			p.ts = 1772439300.0 + 60.0 * i;
			p.name = h < 2 ? "svc.lat" : "svc.err";
			p.value = 100.0 + 5.0 * sin(i * 0.1 + h) + (i == 250 && h == 0 ? 90.0 : 0.0);
			engine_point(e, &p, "fuzz", i);
			p.name = "cpu";
			p.value = 40.0 + 3.0 * cos(i * 0.07 + h);
			engine_point(e, &p, "fuzz", i);
		}
}

/* ---- seeds ---- */

struct seed_out {
	struct buf b;
};

static void put16(struct buf *b, uint16_t v)
{
	buf_put(b, &v, 2);
}

static int seed_chunk(void *ctx, const char *key, const char *hdr, const void *chunk, size_t len)
{
	struct seed_out *s = ctx;
	uint8_t flags = 0, hl = (uint8_t)strlen(hdr);
	uint32_t vl = (uint32_t)len;
	buf_put(&s->b, &flags, 1);
	put16(&s->b, (uint16_t)strlen(key));
	buf_put(&s->b, key, strlen(key));
	buf_put(&s->b, &hl, 1);
	buf_put(&s->b, hdr, hl);
	buf_put(&s->b, &vl, 4);
	buf_put(&s->b, chunk, len);
	return 0;
}

static void write_seed(const char *dir, const char *name, const struct buf *b);

static void write_gw_seed(const char *dir)
{
	char err[512];
	struct gateway *gw = NULL;
	struct gateway_opts o = {.fallback_sink = "stdout", .data_time = 1};
	struct ruleset *grs = fuzz_gw_ruleset();
	struct gwdone *d = NULL;
	struct seed_out s = {{0}};
	size_t bytes;
	uint8_t mode = MODE_GW;
	if (gateway_create(grs, &o, &gw, err, sizeof err) != 0 ||
	    gwdone_open("st", 1, "alerts", NULL, &d) != 0)
		abort();
	fuzz_gw_drive(gw, IN_PART);
	json_t *snap = gateway_export(gw, IN_PART);
	if (snap == NULL || gwdone_export(d, IN_PART, snap) != 0)
		abort();
	char *txt = json_dumps(snap, JSON_COMPACT);
	struct kafka_ckpt k = {.next = 21, .blob = (uint8_t *)txt, .bloblen = strlen(txt)};
	buf_put(&s.b, &mode, 1);
	if (kafka_ckpt_encode(IN_TOPIC, IN_PART, &k, seed_chunk, &s, &bytes) != 0)
		abort();
	static const char *const recs[][2] = {
		{"vigil.done/in/3/5f0c2a9b7d1e3344-1",
		 "{\"ident\":\"84a598bcb17c9847\",\"at\":1772440500.125}"},
		{"vigil.done/in/3/5f0c2a9b7d1e3344-2",
		 "{\"ident\":\"abaa773ad8e55ecf\",\"at\":1772440501.500}"},
		{"vigil.done/in/3/5f0c2a9b7d1e3344-1", NULL},
	};
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		uint8_t fl = recs[i][1] ? 2 : 3, hl = 0; /* no header; a tombstone */
		uint32_t vl = recs[i][1] ? (uint32_t)strlen(recs[i][1]) : 0;
		buf_put(&s.b, &fl, 1);
		put16(&s.b, (uint16_t)strlen(recs[i][0]));
		buf_put(&s.b, recs[i][0], strlen(recs[i][0]));
		buf_put(&s.b, &hl, 1);
		buf_put(&s.b, &vl, 4);
		buf_put(&s.b, recs[i][1] ? recs[i][1] : "", vl);
	}
	write_seed(dir, "gateway_snapshot", &s.b);
	buf_free(&s.b);
	free(txt);
	json_decref(snap);
	gwdone_close(d);
	gateway_destroy(gw);
	ruleset_free(grs);
}

static void write_seed(const char *dir, const char *name, const struct buf *b)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!buf_ok(b) || fuzz_write_file(path, b->data, b->len) != 0)
		fprintf(stderr, "fuzz_kafka_ckpt: cannot write %s\n", path);
}

static void write_seeds(const char *dir)
{
	struct engine *e = new_engine();
	int64_t hwm[3] = {17, 0, 1234};
	for (int keys = 0; keys < 2; keys++) {
		struct buf blob = {0};
		struct seed_out s = {{0}};
		size_t bytes;
		uint8_t mode = (uint8_t)keys;
		buf_put(&s.b, &mode, 1);
		feed(e, keys * 200, 200 + keys * 200);
		if (engine_save(e, &blob) != 0)
			abort();
		struct kafka_ckpt k = {.next = 400 + keys,
				       .nalert_parts = 3,
				       .alert_hwm = hwm,
				       .blob = blob.data,
				       .bloblen = blob.len,
				       .per_snapshot_keys = keys};
		if (kafka_ckpt_encode(IN_TOPIC, IN_PART, &k, seed_chunk, &s, &bytes) != 0)
			abort();
		/* a retired snapshot's tombstone after it, as the topic holds it */
		uint8_t tomb = 1, hl = 0;
		uint32_t vl = 0;
		const char *tk = "in/3/0000000000000001/0";
		buf_put(&s.b, &tomb, 1);
		put16(&s.b, (uint16_t)strlen(tk));
		buf_put(&s.b, tk, strlen(tk));
		buf_put(&s.b, &hl, 1);
		buf_put(&s.b, &vl, 4);
		write_seed(dir, keys ? "member_snapshot" : "legacy_key_snapshot", &s.b);
		buf_free(&s.b);
		if (keys) {
			mode = MODE_BLOB;
			buf_put(&s.b, &mode, 1);
			buf_put(&s.b, blob.data, blob.len);
			write_seed(dir, "engine_blob", &s.b);
			buf_free(&s.b);
		}
		buf_free(&blob);
	}
	engine_destroy(e);
	write_gw_seed(dir);
}

static struct gwdone *done;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[256], err[512];
	(void)argc;
	(void)argv;
	log_level = LOG_LEVEL_ERR - 1;
	fuzz_tmp_path(path, sizeof path, "rules.yaml");
	const char *paths[1] = {path};
	if (fuzz_write_file(path, (const uint8_t *)rules_yaml, sizeof rules_yaml - 1) != 0 ||
	    ruleset_load(paths, 1, NULL, &rs, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_kafka_ckpt: rules: %s\n", err);
		abort();
	}
	unlink(path);
	if (gwdone_open("state", 1, IN_TOPIC, NULL, &done) != 0)
		abort();
	const char *seeds = getenv("VIGIL_FUZZ_SEEDS");
	if (seeds != NULL && *seeds != '\0')
		write_seeds(seeds);
	return 0;
}

/* ---- one input ---- */

struct in {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;
	*got = n < in->left ? n : in->left;
	in->p += *got;
	in->left -= *got;
	return p;
}

static uint32_t take_le(struct in *in, size_t n)
{
	size_t got;
	const uint8_t *p = take(in, n, &got);
	uint32_t v = 0;
	for (size_t i = got; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static void use_engine(struct engine *e)
{
	struct buf b = {0};
	feed(e, 1000, 1003);
	if (engine_save(e, &b) == 0 && buf_ok(&b)) {
		struct engine *e2 = new_engine();
		if (engine_load(e2, b.data, b.len) != 0)
			abort(); /* what the engine saves it must load */
		engine_destroy(e2);
	}
	buf_free(&b);
}

static void load_engine(const uint8_t *blob, size_t len)
{
	struct engine *e = new_engine();
	if (engine_load(e, blob, len) == 0) {
		use_engine(e);
	} else {
		struct engine_stats es;
		engine_get_stats(e, &es);
		if (es.series != 0)
			abort(); /* a refused restore leaves nothing behind */
	}
	engine_destroy(e);
}

/* The gateway's side: the snapshot's "done" list in and out again. */
static void load_gateway(const uint8_t *blob, size_t len)
{
	json_error_t je;
	json_t *snap = json_loadb((const char *)blob, len, 0, &je);
	if (snap == NULL)
		return;
	if (gwdone_import(done, IN_PART, snap) == 0) {
		json_t *out = json_object();
		if (out == NULL || gwdone_export(done, IN_PART, out) != 0)
			abort();
		json_decref(out);
	}
	json_decref(snap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	if (mode == MODE_BLOB) {
		load_engine(data + 1, size - 1);
		return 0;
	}
	struct in in = {data + 1, size - 1};
	struct kafka_ckpt_scan *s = kafka_ckpt_scan_new(IN_TOPIC, IN_PART);
	struct gwdone_scan *ds = mode % 3 == MODE_GW ? gwdone_scan_new(done, IN_PART) : NULL;
	struct kafka_ckpt k;
	int found = 0;
	char hdr[256];
	if (s == NULL || (mode % 3 == MODE_GW && ds == NULL))
		abort();
	while (in.left > 0) {
		size_t kl, hl, vl;
		uint32_t flags = take_le(&in, 1);
		const uint8_t *key = take(&in, take_le(&in, 2), &kl);
		const uint8_t *h = take(&in, take_le(&in, 1), &hl);
		const uint8_t *val = take(&in, take_le(&in, 4), &vl);
		/* as kafka_header_str gives it: NUL-terminated, cut at 127 bytes */
		if (hl > 127)
			hl = 127;
		memcpy(hdr, h, hl);
		hdr[hl] = '\0';
		kafka_ckpt_scan_msg(s, key, kl,
				    (flags & 1) ? NULL
				    : val       ? val
						: (const uint8_t *)"",
				    vl, (flags & 2) ? NULL : hdr);
		if (ds != NULL)
			gwdone_scan_msg(ds, key, kl,
					(flags & 1) ? NULL
					: val       ? val
						    : (const uint8_t *)"",
					vl);
	}
	if (ds != NULL)
		gwdone_scan_end(ds);
	if (kafka_ckpt_scan_end(s, "state/3", &k, &found) != 0)
		return 0;
	if (found) {
		if (k.nalert_parts < 0 || (k.nalert_parts > 0 && k.alert_hwm == NULL) || k.blob == NULL)
			abort();
		if (mode % 3 == MODE_GW)
			load_gateway(k.blob, k.bloblen);
		else
			load_engine(k.blob, k.bloblen);
	}
	if (k.nstale > 0 && k.stale == NULL)
		abort();
	kafka_ckpt_free(&k);
	gwdone_forget(done, IN_PART); /* the next input starts from none */
	return 0;
}
