/* Partition checkpoints on the state topic, and small helpers for reading
 * partitions with a group-less consumer. See consumers/consumer.h.
 *
 * A checkpoint is one snapshot written as 1..n state messages (chunks of at
 * most KAFKA_CKPT_CHUNK bytes) to the state topic partition that mirrors the
 * input partition. Every chunk has key "<topic>/<partition>" (legacy; the
 * gateway's snapshots) or "<topic>/<partition>/<snapshot id>/<index>" (the
 * members': safe under compaction, older snapshots are retired with
 * tombstones once a newer one is durable) and a header
 * "vigil.ckpt" = "<snapshot id>:<index>:<count>:<next>". The snapshot bytes
 * (concatenated chunks) are:
 *   "VCK1" u32 version(1) i64 next u32 nalert_parts i64 hwm[nalert_parts]
 *   u64 bloblen blob
 * (host byte order, see core/buf.h). A reader keeps the newest snapshot whose
 * chunks 0..count-1 it saw in order; partial snapshots (a crash mid-write, or
 * the mock's retention cutting the head) are ignored. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/kafka.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"

#define CKPT_MAGIC   "VCK1"
#define CKPT_VERSION 1u
#define CKPT_HEADER  "vigil.ckpt"

void kafka_ckpt_free(struct kafka_ckpt *k)
{
	if (k == NULL)
		return;
	free(k->alert_hwm);
	free(k->blob);
	free(k->stale);
	memset(k, 0, sizeof *k);
}

static uint64_t snapshot_id(const char *topic, int32_t partition, int64_t next)
{
	static _Atomic uint64_t seq;
	uint64_t h, n = ++seq;
	double now = clock_wall();
	h = hash_str(HASH_SEED, topic);
	h = hash_bytes(h, &partition, sizeof partition);
	h = hash_bytes(h, &next, sizeof next);
	h = hash_bytes(h, &now, sizeof now);
	h = hash_bytes(h, &n, sizeof n);
	pid_t pid = getpid();
	h = hash_bytes(h, &pid, sizeof pid);
	return hash_mix(h);
}

int kafka_ckpt_encode(const char *topic, int32_t partition, struct kafka_ckpt *k, kafka_ckpt_chunk_fn fn,
		      void *ctx, size_t *bytes)
{
	struct buf b = {0};
	char key[300], hdr[128];
	int rc = 0;

	*bytes = 0;
	buf_put(&b, CKPT_MAGIC, 4);
	buf_put_u32(&b, CKPT_VERSION);
	buf_put_u64(&b, (uint64_t)k->next);
	buf_put_u32(&b, (uint32_t)k->nalert_parts);
	for (int32_t i = 0; i < k->nalert_parts; i++)
		buf_put_u64(&b, (uint64_t)k->alert_hwm[i]);
	buf_put_u64(&b, (uint64_t)k->bloblen);
	buf_put(&b, k->blob, k->bloblen);
	if (!buf_ok(&b)) {
		rc = -VIGIL_ENOMEM;
		goto out;
	}
	if (b.len > KAFKA_CKPT_MAX) {
		rc = -VIGIL_ELIMIT;
		goto out;
	}
	uint64_t id = snapshot_id(topic, partition, k->next);
	size_t n = (b.len + KAFKA_CKPT_CHUNK - 1) / KAFKA_CKPT_CHUNK;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * KAFKA_CKPT_CHUNK;
		if (k->per_snapshot_keys)
			snprintf(key, sizeof key, "%s/%" PRId32 "/%016" PRIx64 "/%zu", topic, partition, id,
				 i);
		else
			snprintf(key, sizeof key, "%s/%" PRId32, topic, partition);
		size_t len = b.len - off < KAFKA_CKPT_CHUNK ? b.len - off : KAFKA_CKPT_CHUNK;
		snprintf(hdr, sizeof hdr, "%016" PRIx64 ":%zu:%zu:%" PRId64, id, i, n, k->next);
		if ((rc = fn(ctx, key, hdr, b.data + off, len)) != 0)
			goto out;
	}
	*bytes = b.len;
	k->ref = (struct kafka_ckpt_ref){id, (uint32_t)n, !k->per_snapshot_keys};
out:
	buf_free(&b);
	return rc;
}

struct produce_ctx {
	rd_kafka_t *prod;
	const char *state_topic;
	int32_t state_part;
};

static int produce_chunk(void *ctx, const char *key, const char *hdr, const void *chunk, size_t len)
{
	const struct produce_ctx *c = ctx;
	rd_kafka_resp_err_t e = rd_kafka_producev(
		c->prod, RD_KAFKA_V_TOPIC(c->state_topic), RD_KAFKA_V_PARTITION(c->state_part),
		RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)(uintptr_t)chunk, len),
		RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_HEADER(CKPT_HEADER, hdr, (ssize_t)strlen(hdr)),
		RD_KAFKA_V_OPAQUE((void *)(uintptr_t)KAFKA_MSG_STATE), RD_KAFKA_V_END);
	if (e) {
		LOG_WARN("kafka", "event=ckpt_produce_failed topic=%s partition=%" PRId32 " err=\"%s\"",
			 c->state_topic, c->state_part, rd_kafka_err2str(e));
		return -VIGIL_EIO;
	}
	return 0;
}

int kafka_ckpt_write(rd_kafka_t *prod, const char *state_topic, int32_t state_part, const char *topic,
		     int32_t partition, struct kafka_ckpt *k, size_t *bytes)
{
	struct produce_ctx c = {prod, state_topic, state_part};
	return kafka_ckpt_encode(topic, partition, k, produce_chunk, &c, bytes);
}

int kafka_ckpt_retire(rd_kafka_t *prod, const char *state_topic, int32_t state_part, const char *topic,
		      int32_t partition, const struct kafka_ckpt_ref *r)
{
	char key[300];
	uint32_t n = r->legacy ? 1 : r->nchunks;
	for (uint32_t i = 0; i < n; i++) {
		if (r->legacy)
			snprintf(key, sizeof key, "%s/%" PRId32, topic, partition);
		else
			snprintf(key, sizeof key, "%s/%" PRId32 "/%016" PRIx64 "/%" PRIu32, topic, partition,
				 r->sid, i);
		rd_kafka_resp_err_t e = rd_kafka_producev(
			prod, RD_KAFKA_V_TOPIC(state_topic), RD_KAFKA_V_PARTITION(state_part),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(NULL, 0),
			RD_KAFKA_V_KEY(key, strlen(key)),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)KAFKA_MSG_STATE), RD_KAFKA_V_END);
		if (e) {
			LOG_WARN("kafka",
				 "event=ckpt_retire_failed topic=%s partition=%" PRId32 " err=\"%s\"",
				 state_topic, state_part, rd_kafka_err2str(e));
			return -VIGIL_EIO;
		}
	}
	return 0;
}

static int parse_snapshot(const uint8_t *p, size_t n, struct kafka_ckpt *k)
{
	struct reader r = reader_of(p, n);
	char magic[4];
	memset(k, 0, sizeof *k);
	rd_get(&r, magic, 4);
	if (!reader_ok(&r) || memcmp(magic, CKPT_MAGIC, 4) != 0)
		return -VIGIL_EINVAL;
	if (rd_u32(&r) != CKPT_VERSION)
		return -VIGIL_EVERSION;
	k->next = (int64_t)rd_u64(&r);
	uint32_t na = rd_u32(&r);
	if (!reader_ok(&r) || na > 100000 || (size_t)na * 8 > r.left)
		return -VIGIL_EINVAL;
	k->nalert_parts = (int32_t)na;
	k->alert_hwm = calloc(na ? na : 1, sizeof *k->alert_hwm);
	if (k->alert_hwm == NULL)
		return -VIGIL_ENOMEM;
	for (uint32_t i = 0; i < na; i++)
		k->alert_hwm[i] = (int64_t)rd_u64(&r);
	uint64_t bl = rd_u64(&r);
	if (!reader_ok(&r) || bl != r.left) {
		kafka_ckpt_free(k);
		return -VIGIL_EINVAL;
	}
	k->bloblen = (size_t)bl;
	k->blob = malloc(bl ? bl : 1);
	if (k->blob == NULL) {
		kafka_ckpt_free(k);
		return -VIGIL_ENOMEM;
	}
	memcpy(k->blob, r.p, (size_t)bl);
	return 0;
}

#define CKPT_MAX_REFS 256 /* snapshots of one input partition remembered by a scan */

struct kafka_ckpt_scan {
	char key[300];
	char cur_id[17];
	size_t cur_next_idx, cur_count;
	int cur_legacy;
	struct buf cur;
	struct buf best;
	int have_best;
	struct kafka_ckpt_ref best_ref;
	struct kafka_ckpt_ref refs[CKPT_MAX_REFS]; /* every snapshot seen (a head or not) */
	size_t nrefs;
	uint64_t bad;
};

/* Remember snapshot (sid, count, legacy) once. */
static void scan_ref(struct kafka_ckpt_scan *s, uint64_t sid, size_t cnt, int legacy)
{
	for (size_t i = 0; i < s->nrefs; i++)
		if (s->refs[i].sid == sid && s->refs[i].legacy == legacy)
			return;
	if (s->nrefs < CKPT_MAX_REFS)
		s->refs[s->nrefs++] = (struct kafka_ckpt_ref){sid, (uint32_t)cnt, legacy};
}

struct kafka_ckpt_scan *kafka_ckpt_scan_new(const char *topic, int32_t partition)
{
	struct kafka_ckpt_scan *s = calloc(1, sizeof *s);
	if (s != NULL)
		snprintf(s->key, sizeof s->key, "%s/%" PRId32, topic, partition);
	return s;
}

void kafka_ckpt_scan_msg(struct kafka_ckpt_scan *s, const void *key, size_t keylen, const void *val,
			 size_t len, const char *hdr)
{
	char id[17];
	size_t idx, cnt, kl = strlen(s->key);
	long long nx;
	int legacy;

	/* "<topic>/<partition>" exactly, or followed by "/<snapshot id>/<index>" */
	if (key == NULL || keylen < kl || memcmp(key, s->key, kl) != 0)
		return;
	if (keylen == kl)
		legacy = 1;
	else if (((const char *)key)[kl] == '/')
		legacy = 0;
	else
		return;
	if (val == NULL)
		return; /* a tombstone of a retired snapshot */
	if (hdr == NULL || sscanf(hdr, "%16[0-9a-f]:%zu:%zu:%lld", id, &idx, &cnt, &nx) != 4 || cnt == 0 ||
	    idx >= cnt) {
		s->bad++;
		return;
	}
	scan_ref(s, strtoull(id, NULL, 16), cnt, legacy);
	if (idx == 0) {
		buf_reset(&s->cur);
		memcpy(s->cur_id, id, sizeof id);
		s->cur_count = cnt;
		s->cur_next_idx = 0;
		s->cur_legacy = legacy;
	} else if (strcmp(id, s->cur_id) != 0 || idx != s->cur_next_idx || cnt != s->cur_count) {
		/* a chunk of a snapshot whose head we did not see */
		return;
	}
	buf_put(&s->cur, val, len);
	s->cur_next_idx = idx + 1;
	if (s->cur_next_idx == s->cur_count && buf_ok(&s->cur)) {
		struct buf t = s->best;
		s->best = s->cur;
		s->cur = t;
		buf_reset(&s->cur);
		s->have_best = 1;
		s->best_ref = (struct kafka_ckpt_ref){strtoull(s->cur_id, NULL, 16), (uint32_t)s->cur_count,
						      s->cur_legacy};
		s->cur_id[0] = '\0';
	}
}

static void ckpt_scan_msg(void *ctx, const rd_kafka_message_t *m)
{
	char hdr[128];
	int has = kafka_header_str(m, CKPT_HEADER, hdr, sizeof hdr) == 0;
	kafka_ckpt_scan_msg(ctx, m->key, m->key_len, m->payload, m->len, has ? hdr : NULL);
}

int kafka_ckpt_scan_end(struct kafka_ckpt_scan *s, const char *what, struct kafka_ckpt *k, int *found)
{
	int rc = 0;
	memset(k, 0, sizeof *k);
	*found = 0;
	if (s->have_best) {
		rc = parse_snapshot(s->best.data, s->best.len, k);
		if (rc == 0) {
			*found = 1;
			k->ref = s->best_ref;
		} else
			LOG_ERR("kafka", "event=ckpt_corrupt input=%s state=%s err=\"%s\"", s->key, what,
				vigil_strerror(rc));
		rc = rc == -VIGIL_ENOMEM ? rc : 0;
	}
	if (rc == 0 && s->nrefs > 0) {
		k->stale = calloc(s->nrefs, sizeof *k->stale);
		int legacy_done = *found && k->ref.legacy; /* legacy ones share the kept one's key */
		for (size_t i = 0; k->stale && i < s->nrefs; i++) {
			const struct kafka_ckpt_ref *r = &s->refs[i];
			if (*found && r->sid == k->ref.sid && r->legacy == k->ref.legacy)
				continue;
			if (r->legacy && legacy_done)
				continue;
			legacy_done |= r->legacy;
			k->stale[k->nstale++] = *r;
		}
	}
	if (s->bad)
		LOG_WARN("kafka", "event=ckpt_bad_messages input=%s state=%s count=%" PRIu64, s->key, what,
			 s->bad);
	if (rc != 0)
		kafka_ckpt_free(k);
	buf_free(&s->cur);
	buf_free(&s->best);
	free(s);
	return rc;
}

int kafka_ckpt_read(rd_kafka_t *reader, const char *state_topic, int32_t state_part, const char *topic,
		    int32_t partition, int timeout_ms, volatile sig_atomic_t *stop, struct kafka_ckpt *k,
		    int *found)
{
	struct kafka_ckpt_scan *s = kafka_ckpt_scan_new(topic, partition);
	char what[200];
	int truncated = 0, rc;

	memset(k, 0, sizeof *k);
	*found = 0;
	if (s == NULL)
		return -VIGIL_ENOMEM;
	snprintf(what, sizeof what, "%s/%" PRId32, state_topic, state_part);
	rc = kafka_scan_partition(reader, state_topic, state_part, -1, timeout_ms, stop, ckpt_scan_msg, s,
				  &truncated);
	if (rc != 0) {
		s->have_best = 0; /* decode nothing: only free */
		s->nrefs = 0;
		s->bad = 0;
		kafka_ckpt_scan_end(s, what, k, found);
		return rc;
	}
	return kafka_ckpt_scan_end(s, what, k, found);
}
