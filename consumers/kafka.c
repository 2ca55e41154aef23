/* The group-consumer engine of `vigil run` (member and single mode); see
 * consumers/consumer.h and docs/kafka.md §1-§5.
 *
 * One thread owns the group consumer, the producer (alerts, state,
 * dead letters), a group-less reader (restores) and every partition's state.
 *
 * Per owned input partition: an engine, `next` (the next input offset to
 * process; -1 = none processed and no checkpoint yet), `ckpt_next` (the input
 * offset the last durable checkpoint covers) and, right after a restore, the
 * set of alerts already on the alerts topic for inputs the replay will see
 * again (suppressed when regenerated).
 *
 * Invariants:
 *  - a message is processed only if its partition is owned, restored and
 *    its offset >= next (revoked and already-done messages are dropped);
 *  - a checkpoint for `next` is written only after every alert of inputs
 *    below `next` was acknowledged by the broker (producer flushed, no
 *    delivery failure), and an offset is committed only after the
 *    checkpoint covering it was acknowledged: the group's committed offset
 *    is never ahead of the newest checkpoint;
 *  - offsets are committed only inside the revoke callback (a hand-over, or
 *    the final revoke of consumer_close), never from the loop: on 2.0.2 a
 *    commit sent while this member's JoinGroup is pending waits for the join
 *    response and then fails with ILLEGAL_GENERATION, which the library
 *    treats as a lost assignment (#4059); a loop that commits every second
 *    loses its partitions in about every other rebalance, each loss costing
 *    one more round. A new owner that starts fetching below its checkpoint
 *    (the previous owner died) seeks forward to it once;
 *  - restores happen between polls on this thread, never inside the
 *    rebalance callback; the callback only creates empty partition entries
 *    (and, on a non-lost revoke, checkpoints and commits before unassign). */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/consumer.h"
#include "consumers/decoder.h"
#include "core/buf.h"
#include "core/engine.h"
#include "core/hash.h"
#include "core/log.h"
#include "rules/rules.h"
#include "sinks/alert.h"
#include "sinks/gateway.h"

#define COMP               "kafka"
#define FLUSH_MS           5000
#define RESTORE_TIMEOUT_MS 10000 /* per read; the poll loop waits that long at most */
#define RESTORE_BACKOFF_S  1.0

enum dr_kind { DR_ALERT = 1, DR_STATE = 2, DR_DLQ = 3 };

/* ---- a set of 64-bit hashes (open addressing, two generations) ---- */

struct hset {
	uint64_t *slots; /* 0 = empty (a zero hash is stored as 1) */
	size_t cap, n;
};

static int hset_has(const struct hset *s, uint64_t h)
{
	if (s->cap == 0)
		return 0;
	h = h ? h : 1;
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == h)
			return 1;
		if (s->slots[i] == 0)
			return 0;
	}
}

static int hset_add(struct hset *s, uint64_t h)
{
	h = h ? h : 1;
	if ((s->n + 1) * 2 > s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		uint64_t *ns = calloc(nc, sizeof *ns);
		if (ns == NULL)
			return -VIGIL_ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (s->slots[i] == 0)
				continue;
			size_t j = s->slots[i] & (nc - 1);
			while (ns[j])
				j = (j + 1) & (nc - 1);
			ns[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = ns;
		s->cap = nc;
	}
	size_t i = h & (s->cap - 1);
	while (s->slots[i] && s->slots[i] != h)
		i = (i + 1) & (s->cap - 1);
	if (s->slots[i] == 0) {
		s->slots[i] = h;
		s->n++;
	}
	return 0;
}

static void hset_clear(struct hset *s)
{
	free(s->slots);
	memset(s, 0, sizeof *s);
}

/* Dedup key of an alert on the alerts topic: alert_id plus fingerprint. */
static uint64_t alert_key_hash(const char *alert_id, const char *fp)
{
	return hash_mix(hash_str(hash_str(HASH_SEED, alert_id), fp));
}

/* ---- member state ---- */

struct kc;

struct kpart {
	struct kc *kc;
	char *topic;
	int32_t partition;
	char source[320]; /* "topic/partition" */
	struct engine *eng;
	int restored;
	int64_t next;      /* next input offset to process; -1 = take the first one offered */
	int64_t ckpt_next; /* covered by the newest durable checkpoint; -1 = none */
	int64_t committed; /* last offset this member committed; -1 = none */
	int dirty;
	struct hset sup; /* alerts already published for inputs < sup_max + 1 */
	int64_t sup_max;
	int64_t cur_offset;
	int64_t cur_ts_ms;        /* Kafka timestamp of the record being processed; -1 = none */
	int64_t seek_to;          /* >= 0 while a seek to it is pending (gap repair, skip ahead) */
	int skipped;              /* the one skip ahead after the restore was done */
	int64_t first_unrestored; /* first offset dropped while not restored; -1 = none */
	double retry_at;          /* a failed restore is tried again from then on */
	uint64_t restore_fails;
	double seek_at;
};

struct kgw;

struct kc {
	const struct kafka_cfg *cfg;
	const struct ruleset *rs;
	rd_kafka_t *rk, *prod, *reader;
	rd_kafka_queue_t *q;
	struct kpart **parts;
	size_t nparts, capparts;
	int32_t alert_nparts, state_nparts;
	int pending_restore;
	uint64_t dr_fail[4];
	struct kafka_counters *ctr;
	uint64_t points_retired; /* points of engines already dropped (revoked partitions) */
	/* the entry of the previous message (batches come in runs of one
	 * partition); reset when an entry is freed */
	struct kpart *hot;
	rd_kafka_message_t **batch;
	struct decoder *errdec; /* re-decodes poison records for the error text */
	struct complain poison_complain, ckpt_complain, dr_complain, restore_complain;
};

struct kgw {
	const struct kafka_cfg *cfg;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	struct gateway *gw;
	struct hset seen[2]; /* two generations: [0] current, [1] previous */
	size_t gen_max;
	struct kafka_counters *ctr;
	rd_kafka_message_t **batch;
	double *lat_src; /* input timestamps (ms) of the alerts submitted in this batch */
	size_t nlat_src;
	double next_commit;
	int stored;
	struct complain bad_complain;
};

static struct kpart *part_find(struct kc *kc, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < kc->nparts; i++)
		if (kc->parts[i]->partition == partition && strcmp(kc->parts[i]->topic, topic) == 0)
			return kc->parts[i];
	return NULL;
}

static void part_free(struct kpart *p)
{
	if (p == NULL)
		return;
	if (p->eng)
		engine_destroy(p->eng);
	hset_clear(&p->sup);
	free(p->topic);
	free(p);
}

static void part_drop(struct kc *kc, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < kc->nparts; i++) {
		struct kpart *p = kc->parts[i];
		if (p->partition == partition && strcmp(p->topic, topic) == 0) {
			if (p->eng) {
				struct engine_stats st;
				engine_get_stats(p->eng, &st);
				kc->points_retired += st.points;
			}
			if (kc->hot == p)
				kc->hot = NULL;
			part_free(p);
			kc->parts[i] = kc->parts[--kc->nparts];
			return;
		}
	}
}

static int on_alert(void *ctx, const struct alert_event *ev);

static int part_add(struct kc *kc, const char *topic, int32_t partition)
{
	struct engine_opts eo = {0};
	char err[512];
	struct kpart *p;

	if (part_find(kc, topic, partition))
		return 0;
	if (kc->nparts == kc->capparts) {
		size_t nc = kc->capparts ? kc->capparts * 2 : 16;
		struct kpart **np = realloc(kc->parts, nc * sizeof *np);
		if (np == NULL)
			return -VIGIL_ENOMEM;
		kc->parts = np;
		kc->capparts = nc;
	}
	p = calloc(1, sizeof *p);
	if (p == NULL || (p->topic = strdup(topic)) == NULL) {
		free(p);
		return -VIGIL_ENOMEM;
	}
	p->kc = kc;
	p->partition = partition;
	p->next = -1;
	p->ckpt_next = -1;
	p->committed = -1;
	p->first_unrestored = -1;
	p->sup_max = -1;
	p->seek_to = -1;
	p->cur_ts_ms = -1;
	snprintf(p->source, sizeof p->source, "%s/%" PRId32, topic, partition);
	eo.rs = kc->rs;
	eo.format = kc->cfg->format;
	eo.default_series = kc->cfg->default_series;
	eo.max_series = kc->cfg->max_series;
	eo.on_alert = on_alert;
	eo.alert_ctx = p;
	int rc = engine_create(&eo, &p->eng, err, sizeof err);
	if (rc) {
		LOG_ERR(COMP, "event=engine_create_failed partition=%s err=\"%s\"", p->source, err);
		part_free(p);
		return rc;
	}
	kc->parts[kc->nparts++] = p;
	kc->pending_restore = 1;
	return 0;
}

/* ---- producing ---- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kc *kc = opaque;
	(void)rk;
	if (m->err == 0)
		return;
	uintptr_t kind = (uintptr_t)m->_private;
	if (kind >= 4)
		kind = 0;
	kc->dr_fail[kind]++;
	if (kind == DR_ALERT)
		kc->ctr->alerts_failed++;
	if (complain_due(&kc->dr_complain, kafka_now(), 10, 5))
		LOG_ERR(COMP, "event=delivery_failed kind=%u topic=%s err=\"%s\"", (unsigned)kind,
			m->rkt ? rd_kafka_topic_name(m->rkt) : "-", rd_kafka_err2str(m->err));
}

/* Enqueue one message (key: keylen bytes, or NULL for no key); waits
 * (serving delivery reports) while the local queue is full. Returns 0 or
 * -VIGIL_EIO. */
static int produce(struct kc *kc, const char *topic, const void *key, size_t keylen, const void *val,
		   size_t len, rd_kafka_headers_t *hdrs, uintptr_t kind)
{
	for (int tries = 0;; tries++) {
		rd_kafka_headers_t *h = hdrs ? rd_kafka_headers_copy(hdrs) : NULL;
		rd_kafka_resp_err_t e = rd_kafka_producev(
			kc->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_KEY(key, keylen),
			RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE((void *)kind), RD_KAFKA_V_END);
		if (e == 0)
			return 0;
		if (h)
			rd_kafka_headers_destroy(h);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 600) {
			LOG_ERR(COMP, "event=produce_failed topic=%s err=\"%s\"", topic, rd_kafka_err2str(e));
			return -VIGIL_EIO;
		}
		rd_kafka_poll(kc->prod, 100);
	}
}

static int on_alert(void *ctx, const struct alert_event *ev)
{
	struct kpart *p = ctx;
	struct kc *kc = p->kc;
	char id[640], fp[17], off[32];
	json_t *j;
	char *s;
	int rc;

	snprintf(id, sizeof id, "%" PRId32 ":%" PRId64 ":%s", p->partition, ev->pos,
		 ev->rule ? ev->rule : "");
	alert_fingerprint(ev, fp);
	if (p->sup.n && ev->pos <= p->sup_max && hset_has(&p->sup, alert_key_hash(id, fp))) {
		kc->ctr->alerts_suppressed++;
		LOG_DBG(COMP, "event=alert_suppressed alert_id=%s fingerprint=%s", id, fp);
		return 0;
	}
	j = alert_to_json(ev);
	if (j == NULL)
		return -VIGIL_ENOMEM;
	if (json_object_set_new(j, "alert_id", json_string(id)) ||
	    json_object_set_new(j, "input_topic", json_string(p->topic)) ||
	    json_object_set_new(j, "input_partition", json_integer(p->partition)) ||
	    json_object_set_new(j, "input_offset", json_integer(ev->pos)) ||
	    (p->cur_ts_ms >= 0 && json_object_set_new(j, "input_time_ms", json_integer(p->cur_ts_ms)))) {
		json_decref(j);
		return -VIGIL_ENOMEM;
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return -VIGIL_ENOMEM;
	rd_kafka_headers_t *h = rd_kafka_headers_new(4);
	snprintf(off, sizeof off, "%" PRId64, ev->pos);
	rd_kafka_header_add(h, "alert_id", -1, id, -1);
	rd_kafka_header_add(h, "vigil.fp", -1, fp, -1);
	rd_kafka_header_add(h, "vigil.src", -1, p->source, -1);
	rd_kafka_header_add(h, "vigil.offset", -1, off, -1);
	const char *owner = ev->owner ? ev->owner : "";
	rc = produce(kc, kc->cfg->alerts_topic, owner, strlen(owner), s, strlen(s), h, DR_ALERT);
	rd_kafka_headers_destroy(h);
	free(s);
	if (rc == 0) {
		kc->ctr->alerts_published++;
		LOG_INFO(COMP, "event=alert_published alert_id=%s fingerprint=%s status=%s", id, fp,
			 ev->status == ALERT_RESOLVED ? "resolved" : "firing");
	}
	return rc;
}

/* ---- checkpoints and commits ---- */

static int in_list(const rd_kafka_topic_partition_list_t *l, const struct kpart *p)
{
	if (l == NULL)
		return 1;
	for (int i = 0; i < l->cnt; i++)
		if (l->elems[i].partition == p->partition && strcmp(l->elems[i].topic, p->topic) == 0)
			return 1;
	return 0;
}

/* Flush the producer; 0 when everything queued so far was acknowledged and
 * no delivery failed since `fail_before`. */
static int flush_ok(struct kc *kc, int kind, uint64_t fail_before)
{
	rd_kafka_resp_err_t e = rd_kafka_flush(kc->prod, FLUSH_MS);
	if (e || rd_kafka_outq_len(kc->prod) > 0)
		return -VIGIL_EAGAIN;
	return kc->dr_fail[kind] == fail_before ? 0 : -VIGIL_EIO;
}

/* Checkpoint the owned, restored partitions in `only` (NULL = all) that made
 * progress since their last checkpoint (no commit: see commit_covered). */
static int checkpoint(struct kc *kc, const rd_kafka_topic_partition_list_t *only, const char *why)
{
	struct kpart *todo[1024];
	size_t n = 0;
	int64_t *hwm = NULL;
	int rc = 0;
	double t0 = kafka_now();

	for (size_t i = 0; i < kc->nparts && n < VIGIL_ARRAY_LEN(todo); i++) {
		struct kpart *p = kc->parts[i];
		if (p->restored && p->next >= 0 && p->next != p->ckpt_next && in_list(only, p))
			todo[n++] = p;
	}
	if (n == 0)
		return 0;
	/* 1. every alert of the inputs below next is acknowledged */
	rc = flush_ok(kc, DR_ALERT, kc->dr_fail[DR_ALERT]);
	if (rc == -VIGIL_EAGAIN)
		goto skip;
	/* 2. the alerts topic high watermarks after those alerts */
	hwm = calloc((size_t)kc->alert_nparts, sizeof *hwm);
	if (hwm == NULL) {
		rc = -VIGIL_ENOMEM;
		goto skip;
	}
	for (int32_t i = 0; i < kc->alert_nparts; i++) {
		int64_t lo;
		if (rd_kafka_query_watermark_offsets(kc->prod, kc->cfg->alerts_topic, i, &lo, &hwm[i],
						     FLUSH_MS)) {
			rc = -VIGIL_EAGAIN;
			goto skip;
		}
	}
	/* 3. the snapshots */
	uint64_t state_fail = kc->dr_fail[DR_STATE];
	size_t bytes_total = 0;
	for (size_t i = 0; i < n; i++) {
		struct kpart *p = todo[i];
		struct buf b = {0};
		struct kafka_ckpt k = {.next = p->next, .nalert_parts = kc->alert_nparts, .alert_hwm = hwm};
		size_t bytes = 0;
		rc = engine_save(p->eng, &b);
		if (rc == 0 && !buf_ok(&b))
			rc = -VIGIL_ENOMEM;
		if (rc == 0) {
			k.blob = b.data;
			k.bloblen = b.len;
			rc = kafka_ckpt_write(kc->prod, kc->cfg->state_topic, p->partition % kc->state_nparts,
					      p->topic, p->partition, &k, &bytes);
		}
		buf_free(&b);
		if (rc == -VIGIL_ELIMIT)
			LOG_ERR(COMP,
				"event=checkpoint_too_large partition=%s limit=%u: state does not fit the "
				"state topic retention; not committing this partition",
				p->source, KAFKA_CKPT_MAX);
		if (rc) {
			todo[i] = NULL;
			rc = 0;
			continue;
		}
		bytes_total += bytes;
	}
	/* 4. the snapshots are durable */
	rc = flush_ok(kc, DR_STATE, state_fail);
	if (rc)
		goto skip;
	/* 5. they are what a new owner restores */
	for (size_t i = 0; i < n; i++)
		if (todo[i])
			todo[i]->ckpt_next = todo[i]->next;
	kc->ctr->checkpoints++;
	kc->ctr->state_bytes = bytes_total;
	LOG_DBG(COMP, "event=checkpoint why=%s partitions=%zu bytes=%zu ms=%.1f", why, n, bytes_total,
		(kafka_now() - t0) * 1e3);
	free(hwm);
	return 0;
skip:
	kc->ctr->checkpoint_skipped++;
	if (complain_due(&kc->ckpt_complain, kafka_now(), 10, 3))
		LOG_WARN(COMP, "event=checkpoint_skipped why=%s err=\"%s\" queued=%d", why,
			 rc == -VIGIL_EAGAIN ? "broker did not acknowledge in time" : vigil_strerror(rc),
			 rd_kafka_outq_len(kc->prod));
	free(hwm);
	return rc;
}

/* Commit, for the partitions in `only`, the offsets their durable
 * checkpoints cover (never more). Called only from the revoke callback: the
 * generation is current there and this member cannot rejoin before the
 * callback returns, so the commit cannot meet #4059 (see the top of the
 * file). A failure is logged and harmless: the committed offset is only
 * where a new owner starts fetching; it restores `next` from the checkpoint
 * and skips forward. */
static void commit_covered(struct kc *kc, const rd_kafka_topic_partition_list_t *only, const char *why)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(only ? only->cnt : 1);
	if (l == NULL)
		return;
	for (size_t i = 0; i < kc->nparts; i++) {
		struct kpart *p = kc->parts[i];
		if (p->restored && p->ckpt_next >= 0 && p->ckpt_next != p->committed && in_list(only, p))
			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->ckpt_next;
	}
	if (l->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_commit(kc->rk, l, 0);
		if (e)
			LOG_WARN(COMP,
				 "event=commit_failed why=%s err=\"%s\" (checkpoints are durable; the "
				 "committed offset is only a hint)",
				 why, rd_kafka_err2str(e));
		for (int i = 0; e == 0 && i < l->cnt; i++) {
			struct kpart *p = part_find(kc, l->elems[i].topic, l->elems[i].partition);
			if (p)
				p->committed = l->elems[i].offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* ---- rebalance ---- */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct kc *kc = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	rd_kafka_resp_err_t ae = 0;

	kc->ctr->rebalances++;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++) {
			if (part_add(kc, parts->elems[i].topic, parts->elems[i].partition) != 0)
				LOG_ERR(COMP, "event=assign_failed topic=%s partition=%" PRId32,
					parts->elems[i].topic, parts->elems[i].partition);
			kc->ctr->assigned++;
			LOG_INFO(COMP, "event=assigned partition=%s/%" PRId32 " protocol=%s",
				 parts->elems[i].topic, parts->elems[i].partition,
				 coop ? "cooperative" : "eager");
		}
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			ae = rd_kafka_assign(rk, parts);
	} else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		int lost = rd_kafka_assignment_lost(rk);
		if (!lost) {
			checkpoint(kc, parts, "revoke");
			commit_covered(kc, parts, "revoke");
		}
		for (int i = 0; i < parts->cnt; i++) {
			LOG_INFO(COMP, "event=%s partition=%s/%" PRId32, lost ? "lost" : "revoked",
				 parts->elems[i].topic, parts->elems[i].partition);
			part_drop(kc, parts->elems[i].topic, parts->elems[i].partition);
		}
		if (lost)
			kc->ctr->lost += (uint64_t)parts->cnt;
		else
			kc->ctr->revoked += (uint64_t)parts->cnt;
		if (coop)
			e = rd_kafka_incremental_unassign(rk, parts);
		else
			ae = rd_kafka_assign(rk, NULL);
	} else {
		LOG_ERR(COMP, "event=rebalance_error err=\"%s\"", rd_kafka_err2str(err));
		while (kc->nparts)
			part_drop(kc, kc->parts[0]->topic, kc->parts[0]->partition);
		ae = rd_kafka_assign(rk, NULL);
	}
	if (e) {
		LOG_ERR(COMP, "event=rebalance_failed err=\"%s\"", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
	if (ae)
		LOG_ERR(COMP, "event=rebalance_failed err=\"%s\"", rd_kafka_err2str(ae));
}

/* ---- restore ---- */

struct sup_scan {
	struct kpart *p;
	uint64_t n;
};

static void sup_scan_msg(void *ctx, const rd_kafka_message_t *m)
{
	struct sup_scan *s = ctx;
	char src[320], id[640], fp[32], off[32];
	if (m->err || kafka_header_str(m, "vigil.src", src, sizeof src) != 0 ||
	    strcmp(src, s->p->source) != 0)
		return;
	if (kafka_header_str(m, "alert_id", id, sizeof id) != 0 ||
	    kafka_header_str(m, "vigil.fp", fp, sizeof fp) != 0 ||
	    kafka_header_str(m, "vigil.offset", off, sizeof off) != 0)
		return;
	int64_t o = strtoll(off, NULL, 10);
	if (hset_add(&s->p->sup, alert_key_hash(id, fp)) == 0) {
		s->n++;
		if (o > s->p->sup_max)
			s->p->sup_max = o;
	}
}

static int restore_part(struct kc *kc, struct kpart *p, volatile sig_atomic_t *stop)
{
	struct kafka_ckpt k;
	int found = 0, rc, truncated = 0;
	double t0 = kafka_now();
	struct sup_scan ss = {p, 0};

	rc = kafka_ckpt_read(kc->reader, kc->cfg->state_topic, p->partition % kc->state_nparts, p->topic,
			     p->partition, RESTORE_TIMEOUT_MS, stop, &k, &found);
	if (rc)
		return rc;
	if (found) {
		rc = engine_load(p->eng, k.blob, k.bloblen);
		if (rc)
			LOG_ERR(COMP,
				"event=restore_failed partition=%s err=\"%s\": starting this partition fresh "
				"at %" PRId64,
				p->source, vigil_strerror(rc), k.next);
		p->next = k.next;
		p->ckpt_next = k.next;
	}
	for (int32_t i = 0; i < kc->alert_nparts; i++) {
		int64_t from = found && i < k.nalert_parts ? k.alert_hwm[i] : -1;
		rc = kafka_scan_partition(kc->reader, kc->cfg->alerts_topic, i, from, RESTORE_TIMEOUT_MS,
					  stop, sup_scan_msg, &ss, &truncated);
		if (rc) {
			kafka_ckpt_free(&k);
			hset_clear(&p->sup);
			p->sup_max = -1;
			return rc;
		}
		if (truncated)
			LOG_ERR(COMP,
				"event=alerts_truncated partition=%s alerts_partition=%" PRId32
				": the alerts topic lost records newer than the checkpoint; duplicates "
				"possible",
				p->source, i);
	}
	double ms = (kafka_now() - t0) * 1e3;
	kc->ctr->restores++;
	kc->ctr->restore_ms_total += ms;
	if (ms > kc->ctr->restore_ms_max)
		kc->ctr->restore_ms_max = ms;
	LOG_INFO(COMP,
		 "event=restored partition=%s checkpoint=%s next=%" PRId64
		 " state_bytes=%zu known_alerts=%" PRIu64 " ms=%.1f",
		 p->source, found ? "yes" : "none", p->next, found ? k.bloblen : (size_t)0, ss.n, ms);
	kafka_ckpt_free(&k);
	p->restored = 1;
	return 0;
}

/* Restore every owned partition that is not restored yet: one attempt per
 * partition per call, none after a failure, a failed one again after
 * RESTORE_BACKOFF_S. Never loops here: the caller keeps polling, so rebalance callbacks are served
 * (a member stuck in restores would stall the whole group's rebalance) and
 * a stop request is seen. Messages of a partition that arrive before its
 * restore are dropped; the first such offset is remembered so that the
 * partition resumes from there (a checkpoint's `next`, or that offset, and
 * the gap repair seeks back to it). */
static void restore_pending(struct kc *kc, volatile sig_atomic_t *stop)
{
	if (!kc->pending_restore)
		return;
	int left = 0;
	double now = kafka_now();
	for (size_t i = 0; i < kc->nparts && !*stop; i++) {
		struct kpart *p = kc->parts[i];
		if (p->restored)
			continue;
		if (now < p->retry_at) {
			left = 1;
			continue;
		}
		int rc = restore_part(kc, p, stop);
		now = kafka_now();
		if (rc == 0) {
			if (p->next < 0 && p->first_unrestored >= 0)
				p->next = p->first_unrestored;
			continue;
		}
		left = 1;
		p->restore_fails++;
		p->retry_at = now + RESTORE_BACKOFF_S;
		if (rc != -VIGIL_EAGAIN && complain_due(&kc->restore_complain, now, 10, 6))
			LOG_WARN(COMP, "event=restore_retry partition=%s attempts=%" PRIu64 " err=\"%s\"",
				 p->source, p->restore_fails, vigil_strerror(rc));
		break; /* the broker is in trouble: poll before the next attempt */
	}
	kc->pending_restore = left || *stop;
}

/* ---- processing ---- */

static int errdec_emit(void *ctx, const struct point *pt)
{
	(void)ctx;
	(void)pt;
	return 0;
}

static void poison(struct kc *kc, struct kpart *p, const rd_kafka_message_t *m, const char *rec, size_t len)
{
	char err[512] = "decode error", off[32];
	kc->ctr->poison++;
	if (kc->errdec && decoder_feed(kc->errdec, rec, len, errdec_emit, NULL, err, sizeof err) == 0)
		snprintf(err, sizeof err, "rejected by the engine");
	if (complain_due(&kc->poison_complain, kafka_now(), 10, 5))
		LOG_WARN(COMP,
			 "event=poison topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\" total=%" PRIu64,
			 p->topic, p->partition, m->offset, err, kc->ctr->poison);
	if (kc->cfg->dead_letter_topic == NULL)
		return;
	rd_kafka_headers_t *h = rd_kafka_headers_new(3);
	snprintf(off, sizeof off, "%" PRId64, m->offset);
	rd_kafka_header_add(h, "vigil.error", -1, err, -1);
	rd_kafka_header_add(h, "vigil.src", -1, p->source, -1);
	rd_kafka_header_add(h, "vigil.offset", -1, off, -1);
	/* the original key as it was, any length; none stays none */
	if (produce(kc, kc->cfg->dead_letter_topic, m->key, m->key_len, rec, len, h, DR_DLQ) == 0)
		kc->ctr->dead_lettered++;
	rd_kafka_headers_destroy(h);
}

static void process(struct kc *kc, rd_kafka_message_t *m)
{
	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			LOG_WARN(COMP, "event=consume_error topic=%s partition=%" PRId32 " err=\"%s\"",
				 m->rkt ? rd_kafka_topic_name(m->rkt) : "-", m->partition,
				 rd_kafka_message_errstr(m));
		return;
	}
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct kpart *p = kc->hot;
	if (p == NULL || m->partition != p->partition || strcmp(topic, p->topic) != 0)
		p = kc->hot = part_find(kc, topic, m->partition);
	if (p == NULL || !p->restored) {
		kc->ctr->dropped_unowned++;
		if (p && (p->first_unrestored < 0 || m->offset < p->first_unrestored))
			p->first_unrestored = m->offset;
		return;
	}
	if (m->offset < p->next) {
		/* Already processed (covered by the restored checkpoint): the group's
		 * committed offset is behind it because the previous owner died, or
		 * there was none. When more than a batch behind, skip ahead once
		 * instead of fetching everything: this batch then holds nothing of
		 * this partition at or beyond `next`, so processing cannot run past
		 * the seek target before the seek lands (it would rewind). */
		kc->ctr->dropped_done++;
		if (!p->skipped && p->next - m->offset > kc->cfg->batch_size) {
			p->skipped = 1;
			rd_kafka_resp_err_t e = rd_kafka_seek(m->rkt, m->partition, p->next, 0);
			LOG_INFO(COMP,
				 "event=skip_ahead partition=%s from=%" PRId64 " to=%" PRId64 " seek=%s",
				 p->source, m->offset, p->next, e ? rd_kafka_err2str(e) : "ok");
			p->seek_to = p->next;
			p->seek_at = kafka_now();
		}
		return;
	}
	/* Gap repair: librdkafka 2.0.2's batch API can skip offsets of retained
	 * partitions across a cooperative rebalance (#4208, fixed in 2.1.0). A
	 * message beyond `next` triggers an asynchronous seek back to `next`;
	 * until `next` itself arrives, later messages are dropped. A gap that
	 * persists for 3 s after the seek is real (transaction markers,
	 * retention) and is accepted. */
	if (p->next >= 0 && m->offset > p->next) {
		double now = kafka_now();
		if (p->seek_to != p->next) {
			rd_kafka_resp_err_t e = rd_kafka_seek(m->rkt, m->partition, p->next, 0);
			kc->ctr->gaps++;
			LOG_WARN(COMP,
				 "event=offset_gap partition=%s expected=%" PRId64 " got=%" PRId64 " seek=%s",
				 p->source, p->next, m->offset, e ? rd_kafka_err2str(e) : "ok");
			p->seek_to = p->next;
			p->seek_at = now;
			return;
		}
		if (now < p->seek_at + 3.0)
			return;
		LOG_WARN(COMP, "event=offset_gap_accepted partition=%s expected=%" PRId64 " got=%" PRId64,
			 p->source, p->next, m->offset);
	}
	p->seek_to = -1;
	const char *s = m->payload, *end = s ? s + m->len : NULL;
	int any = 0;
	p->cur_offset = m->offset;
	p->cur_ts_ms = rd_kafka_message_timestamp(m, NULL);
	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		size_t len = (size_t)(e - s);
		if (len && s[len - 1] == '\r')
			len--;
		if (len > 0) {
			any = 1;
			if (engine_feed(p->eng, p->source, m->offset, s, len) == -VIGIL_EINVAL)
				poison(kc, p, m, s, len);
		}
		s = nl ? nl + 1 : end;
	}
	if (!any)
		poison(kc, p, m, "", 0);
	kc->ctr->records++;
	p->next = m->offset + 1;
	p->dirty = 1;
}

/* Refresh the gauges: lag and points. */
static void update_gauges(struct kc *kc)
{
	int64_t lag = 0;
	uint64_t points = kc->points_retired;
	for (size_t i = 0; i < kc->nparts; i++) {
		struct kpart *p = kc->parts[i];
		struct engine_stats st;
		engine_get_stats(p->eng, &st);
		points += st.points;
		int64_t lo, hi;
		if (rd_kafka_get_watermark_offsets(kc->rk, p->topic, p->partition, &lo, &hi) == 0 &&
		    hi >= 0) {
			int64_t from = p->next >= 0 ? p->next : lo;
			if (hi > from)
				lag += hi - from;
		}
	}
	kc->ctr->lag = lag;
	kc->ctr->points = points;
}

/* ---- member open/close ---- */

static int make_client(const struct kafka_cfg *c, const char *role, rd_kafka_type_t type, void *opaque,
		       void (*rebal)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *,
				     void *),
		       void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), rd_kafka_t **out)
{
	rd_kafka_conf_t *conf;
	char err[512];
	int rc = kafka_conf_build(c, role, &conf, err, sizeof err);
	if (rc) {
		LOG_ERR(COMP, "event=config_error role=%s err=\"%s\"", role, err);
		return rc;
	}
	rd_kafka_conf_set_opaque(conf, opaque);
	if (rebal)
		rd_kafka_conf_set_rebalance_cb(conf, rebal);
	if (dr)
		rd_kafka_conf_set_dr_msg_cb(conf, dr);
	*out = rd_kafka_new(type, conf, err, sizeof err);
	if (*out == NULL) {
		LOG_ERR(COMP, "event=client_failed role=%s err=\"%s\"", role, err);
		rd_kafka_conf_destroy(conf);
		return -VIGIL_EINVAL;
	}
	return 0;
}

static void kc_close(struct kc *kc)
{
	if (kc == NULL)
		return;
	if (kc->rk) {
		if (kc->q)
			rd_kafka_queue_destroy(kc->q);
		rd_kafka_consumer_close(kc->rk);
		rd_kafka_destroy(kc->rk);
	}
	while (kc->nparts)
		part_drop(kc, kc->parts[0]->topic, kc->parts[0]->partition);
	free(kc->parts);
	if (kc->prod) {
		if (rd_kafka_flush(kc->prod, 10000) || rd_kafka_outq_len(kc->prod) > 0)
			LOG_ERR(COMP, "event=close_unflushed messages=%d", rd_kafka_outq_len(kc->prod));
		rd_kafka_destroy(kc->prod);
	}
	if (kc->reader) {
		rd_kafka_consumer_close(kc->reader);
		rd_kafka_destroy(kc->reader);
	}
	if (kc->errdec)
		decoder_close(kc->errdec);
	free(kc->batch);
	free(kc);
}

static int kc_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
		   struct kc **out)
{
	struct kc *kc = calloc(1, sizeof *kc);
	struct decoder_opts dopts = {.default_series = c->default_series};
	char err[512];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (kc == NULL)
		return rc;
	kc->cfg = c;
	kc->rs = rs;
	kc->ctr = ctr;
	kc->batch = calloc((size_t)c->batch_size, sizeof *kc->batch);
	if (kc->batch == NULL)
		goto fail;
	if (decoder_open(c->format, &dopts, &kc->errdec, err, sizeof err) != 0) {
		LOG_ERR(COMP, "event=config_error err=\"input.format: %s\"", err);
		rc = -VIGIL_EINVAL;
		goto fail;
	}
	if ((rc = make_client(c, "producer", RD_KAFKA_PRODUCER, kc, NULL, dr_cb, &kc->prod)) != 0 ||
	    (rc = make_client(c, "reader", RD_KAFKA_CONSUMER, kc, NULL, NULL, &kc->reader)) != 0 ||
	    (rc = make_client(c, "consumer", RD_KAFKA_CONSUMER, kc, rebalance_cb, NULL, &kc->rk)) != 0)
		goto fail;
	for (int tries = 0;; tries++) {
		if (kafka_partition_count(kc->prod, c->alerts_topic, 5000, &kc->alert_nparts) == 0 &&
		    kafka_partition_count(kc->prod, c->state_topic, 5000, &kc->state_nparts) == 0)
			break;
		if (tries >= 5) {
			LOG_ERR(COMP, "event=startup_failed err=\"cannot read metadata of %s and %s\"",
				c->alerts_topic, c->state_topic);
			rc = -VIGIL_EIO;
			goto fail;
		}
	}
	rd_kafka_poll_set_consumer(kc->rk);
	kc->q = rd_kafka_queue_get_consumer(kc->rk);
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)c->ntopics);
	for (size_t i = 0; i < c->ntopics; i++)
		rd_kafka_topic_partition_list_add(subs, c->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(kc->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e) {
		LOG_ERR(COMP, "event=subscribe_failed err=\"%s\"", rd_kafka_err2str(e));
		rc = -VIGIL_EIO;
		goto fail;
	}
	LOG_INFO(COMP,
		 "event=member_started topics=%zu state_topic=%s(%" PRId32 ") alerts_topic=%s(%" PRId32 ")",
		 c->ntopics, c->state_topic, kc->state_nparts, c->alerts_topic, kc->alert_nparts);
	*out = kc;
	return 0;
fail:
	kc_close(kc);
	return rc;
}

/* Up to max messages (or events) from q without waiting for a full batch:
 * what is already queued, or else the first message to arrive within
 * timeout_ms plus whatever came with it. (rd_kafka_consume_batch_queue alone
 * waits until max messages arrived or the timeout passed, which at a low
 * input rate adds the whole timeout to every alert's latency.) Serves the
 * rebalance callback like the batch call. Returns the count or -1. */
static ssize_t consume_some(rd_kafka_queue_t *q, int timeout_ms, rd_kafka_message_t **out, size_t max)
{
	ssize_t n = rd_kafka_consume_batch_queue(q, 0, out, max);
	if (n != 0 || timeout_ms <= 0)
		return n;
	rd_kafka_message_t *m = rd_kafka_consume_queue(q, timeout_ms);
	if (m == NULL)
		return 0;
	out[0] = m;
	n = max > 1 ? rd_kafka_consume_batch_queue(q, 0, out + 1, max - 1) : 0;
	return n < 0 ? 1 : n + 1;
}

/* One poll of the member: a batch, restores, processing. */
static void kc_step(struct kc *kc, int timeout_ms, volatile sig_atomic_t *stop)
{
	ssize_t n = consume_some(kc->q, timeout_ms, kc->batch, (size_t)kc->cfg->batch_size);
	if (n < 0)
		LOG_WARN(COMP, "event=consume_failed err=\"%s\"", rd_kafka_err2str(rd_kafka_last_error()));
	restore_pending(kc, stop);
	uint64_t before = kc->ctr->records;
	double t0 = n > 0 && kc->ctr->first_record_at <= 0 ? kafka_wall() : 0;
	for (ssize_t i = 0; i < n; i++) {
		process(kc, kc->batch[i]);
		rd_kafka_message_destroy(kc->batch[i]);
	}
	if (kc->ctr->records != before) {
		kc->ctr->last_record_at = kafka_wall();
		if (kc->ctr->first_record_at <= 0)
			kc->ctr->first_record_at = t0;
	}
	rd_kafka_poll(kc->prod, 0);
}

/* ---- gateway ---- */

static void kgw_close(struct kgw *g)
{
	if (g == NULL)
		return;
	if (g->rk) {
		if (g->stored)
			rd_kafka_commit(g->rk, NULL, 0);
		if (g->q)
			rd_kafka_queue_destroy(g->q);
		rd_kafka_consumer_close(g->rk);
		rd_kafka_destroy(g->rk);
	}
	if (g->gw) {
		gateway_flush(g->gw);
		gateway_destroy(g->gw);
	}
	hset_clear(&g->seen[0]);
	hset_clear(&g->seen[1]);
	free(g->batch);
	free(g->lat_src);
	free(g);
}

static int kgw_open(const struct kafka_cfg *c, const struct ruleset *rs, struct kafka_counters *ctr,
		    struct kgw **out)
{
	struct kgw *g = calloc(1, sizeof *g);
	struct gateway_opts go = {0};
	char err[512];
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (g == NULL)
		return rc;
	g->cfg = c;
	g->ctr = ctr;
	g->gen_max = 500000;
	g->batch = calloc((size_t)c->batch_size, sizeof *g->batch);
	g->lat_src = calloc((size_t)c->batch_size, sizeof *g->lat_src);
	if (g->batch == NULL || g->lat_src == NULL)
		goto fail;
	if ((rc = gateway_create(rs, &go, &g->gw, err, sizeof err)) != 0) {
		LOG_ERR(COMP, "event=gateway_failed err=\"%s\"", err);
		goto fail;
	}
	if ((rc = make_client(c, "gateway", RD_KAFKA_CONSUMER, g, NULL, NULL, &g->rk)) != 0)
		goto fail;
	rd_kafka_poll_set_consumer(g->rk);
	g->q = rd_kafka_queue_get_consumer(g->rk);
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(subs, c->alerts_topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(g->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e) {
		LOG_ERR(COMP, "event=subscribe_failed topic=%s err=\"%s\"", c->alerts_topic,
			rd_kafka_err2str(e));
		rc = -VIGIL_EIO;
		goto fail;
	}
	LOG_INFO(COMP, "event=gateway_started topic=%s group=%s", c->alerts_topic, c->gateway_group);
	*out = g;
	return 0;
fail:
	kgw_close(g);
	return rc;
}

static void kgw_message(struct kgw *g, rd_kafka_message_t *m)
{
	char id[640], fp[32], err[256];
	json_error_t je;
	struct alert_event ev;
	json_t *j;

	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			LOG_WARN(COMP, "event=gateway_consume_error err=\"%s\"", rd_kafka_message_errstr(m));
		return;
	}
	g->ctr->gw_received++;
	j = m->payload ? json_loadb(m->payload, m->len, 0, &je) : NULL;
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, sizeof err, "not a JSON object");
		goto bad;
	}
	const char *jid = json_string_value(json_object_get(j, "alert_id"));
	const char *jfp = json_string_value(json_object_get(j, "fingerprint"));
	if (jid == NULL || jfp == NULL) {
		snprintf(err, sizeof err, "missing alert_id or fingerprint");
		goto bad;
	}
	snprintf(id, sizeof id, "%s", jid);
	snprintf(fp, sizeof fp, "%s", jfp);
	uint64_t h = alert_key_hash(id, fp);
	if (hset_has(&g->seen[0], h) || hset_has(&g->seen[1], h)) {
		g->ctr->gw_duplicates++;
		LOG_INFO(COMP, "event=gateway_duplicate alert_id=%s fingerprint=%s", id, fp);
		json_decref(j);
		goto store;
	}
	json_object_del(j, "alert_id");
	json_object_del(j, "input_topic");
	json_object_del(j, "input_partition");
	json_object_del(j, "input_offset");
	json_t *jt = json_object_get(j, "input_time_ms");
	double src_ms = json_is_integer(jt) ? (double)json_integer_value(jt) : -1;
	json_object_del(j, "input_time_ms");
	if (alert_from_json(j, &ev, err, sizeof err) != 0)
		goto bad;
	gateway_submit(g->gw, &ev);
	g->ctr->gw_submitted++;
	if (src_ms > 0 && g->nlat_src < (size_t)g->cfg->batch_size)
		g->lat_src[g->nlat_src++] = src_ms;
	json_decref(j);
	if (g->seen[0].n >= g->gen_max) {
		hset_clear(&g->seen[1]);
		g->seen[1] = g->seen[0];
		memset(&g->seen[0], 0, sizeof g->seen[0]);
	}
	hset_add(&g->seen[0], h);
	goto store;
bad:
	g->ctr->gw_bad++;
	if (j)
		json_decref(j);
	if (complain_due(&g->bad_complain, kafka_now(), 10, 5))
		LOG_WARN(COMP,
			 "event=gateway_bad_alert topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\"",
			 rd_kafka_topic_name(m->rkt), m->partition, m->offset, err);
store:;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
		m->offset + 1;
	if (rd_kafka_offsets_store(g->rk, l) == 0)
		g->stored = 1;
	rd_kafka_topic_partition_list_destroy(l);
}

static void kgw_step(struct kgw *g, int timeout_ms)
{
	ssize_t n = consume_some(g->q, timeout_ms, g->batch, (size_t)g->cfg->batch_size);
	for (ssize_t i = 0; i < n; i++) {
		kgw_message(g, g->batch[i]);
		rd_kafka_message_destroy(g->batch[i]);
	}
	if (n > 0)
		gateway_flush(g->gw);
	if (g->nlat_src) {
		/* every alert of the batch has been handed to its destinations */
		double wall_ms = kafka_wall() * 1e3;
		for (size_t i = 0; i < g->nlat_src; i++)
			g->ctr->lat_ms[g->ctr->lat_n++ % KAFKA_LAT_WINDOW] = wall_ms - g->lat_src[i];
		g->nlat_src = 0;
	}
	double now = kafka_now();
	if (g->stored && now >= g->next_commit) {
		rd_kafka_commit(g->rk, NULL, 1);
		g->stored = 0;
		g->next_commit = now + 1.0;
	}
}

/* ---- the loop ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* p50 / p99 / max of the latency window into out[3]; 0 when empty. */
static void latency_summary(const struct kafka_counters *c, double out[3])
{
	size_t n = c->lat_n < KAFKA_LAT_WINDOW ? (size_t)c->lat_n : KAFKA_LAT_WINDOW;
	double v[KAFKA_LAT_WINDOW];
	out[0] = out[1] = out[2] = 0;
	if (n == 0)
		return;
	memcpy(v, c->lat_ms, n * sizeof v[0]);
	qsort(v, n, sizeof v[0], cmp_double);
	out[0] = v[(n - 1) / 2];
	out[1] = v[(size_t)((double)(n - 1) * 0.99 + 0.5)];
	out[2] = v[n - 1];
}

static void log_stats(const struct kafka_counters *c, const char *event, size_t nparts)
{
	double lat[3];
	latency_summary(c, lat);
	LOG_INFO(COMP,
		 "event=%s partitions=%zu records=%" PRIu64 " alerts_published=%" PRIu64
		 " alerts_suppressed=%" PRIu64 " alerts_failed=%" PRIu64 " poison=%" PRIu64
		 " dead_lettered=%" PRIu64 " dropped_unowned=%" PRIu64 " dropped_done=%" PRIu64
		 " lag=%" PRId64 " rebalances=%" PRIu64 " assigned=%" PRIu64 " revoked=%" PRIu64
		 " lost=%" PRIu64 " gaps=%" PRIu64 " checkpoints=%" PRIu64 " checkpoint_skipped=%" PRIu64
		 " state_bytes=%" PRIu64 " restores=%" PRIu64 " restore_ms_max=%.1f gw_received=%" PRIu64
		 " gw_submitted=%" PRIu64 " gw_duplicates=%" PRIu64 " gw_bad=%" PRIu64 " points=%" PRIu64
		 " first_record_at=%.3f last_record_at=%.3f alert_latency_n=%" PRIu64
		 " alert_latency_ms_p50=%.1f alert_latency_ms_p99=%.1f alert_latency_ms_max=%.1f",
		 event, nparts, c->records, c->alerts_published, c->alerts_suppressed, c->alerts_failed,
		 c->poison, c->dead_lettered, c->dropped_unowned, c->dropped_done, c->lag, c->rebalances,
		 c->assigned, c->revoked, c->lost, c->gaps, c->checkpoints, c->checkpoint_skipped,
		 c->state_bytes, c->restores, c->restore_ms_max, c->gw_received, c->gw_submitted,
		 c->gw_duplicates, c->gw_bad, c->points, c->first_record_at, c->last_record_at, c->lat_n,
		 lat[0], lat[1], lat[2]);
}

int kafka_run(const struct kafka_cfg *c, enum kafka_mode mode, volatile sig_atomic_t *stop)
{
	struct kafka_counters ctr;
	struct ruleset *rs = NULL;
	struct kc *kc = NULL;
	struct kgw *g = NULL;
	char err[1024];
	int rc;

	memset(&ctr, 0, sizeof ctr);
	rc = ruleset_load((const char *const *)c->rules, c->nrules, c->owners, &rs, err, sizeof err);
	if (rc) {
		LOG_ERR(COMP, "event=rules_failed err=\"%s\"", err);
		return rc;
	}
	if (mode != KAFKA_MODE_GATEWAY && (rc = kc_open(c, rs, &ctr, &kc)) != 0)
		goto out;
	if (mode != KAFKA_MODE_MEMBER && (rc = kgw_open(c, rs, &ctr, &g)) != 0)
		goto out;
	double now = kafka_now();
	double next_ckpt = now + c->checkpoint_interval, next_stats = now + c->stats_interval;
	while (!*stop) {
		if (kc)
			kc_step(kc, g ? 20 : 100, stop);
		if (g)
			kgw_step(g, kc ? 0 : 100);
		now = kafka_now();
		if (kc && now >= next_ckpt) {
			checkpoint(kc, NULL, "interval");
			next_ckpt = now + c->checkpoint_interval;
		}
		if (c->stats_interval > 0 && now >= next_stats) {
			if (kc)
				update_gauges(kc);
			log_stats(&ctr, "stats", kc ? kc->nparts : 0);
			next_stats = now + c->stats_interval;
		}
	}
	LOG_INFO(COMP, "event=stopping");
	if (kc) {
		int tries = 0;
		while (checkpoint(kc, NULL, "shutdown") == -VIGIL_EAGAIN && tries++ < 3)
			;
	}
	rc = 0;
out:
	if (kc)
		update_gauges(kc);
	log_stats(&ctr, "final", kc ? kc->nparts : 0);
	kc_close(kc);
	kgw_close(g);
	ruleset_free(rs);
	return rc;
}
