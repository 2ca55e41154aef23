/* The repartition router (input.keyed_by: none); contract in
 * consumers/kafka_repartition.h.
 *
 * In-flight bookkeeping: every raw record taken gets a slot in a ring, in
 * the order records are taken; the slot counts the produced messages of
 * that record not yet acknowledged (its lines on the repartition topic, or
 * its copies on the dead-letter topic). Each produced message carries its
 * slot's sequence number as the delivery-report opaque. The ring's tail
 * moves past completed slots only, in order, and a completed slot marks
 * its partition done up to its offset + 1: a raw partition's `done` never
 * passes a record with a message in flight. Commits send `done`.
 *
 * Merge: records taken from the consumer wait in their partition's queue,
 * and the router routes the queued record with the oldest Kafka timestamp
 * first, so that a series spread over partitions by a producer writing in
 * time order reaches the repartition topic in order even when the consumer
 * hands over long runs of one partition (a backlog). While an owned
 * partition has nothing queued but is behind its high watermark, routing
 * waits for it, as long as some empty partition keeps receiving records and
 * at most REPART_IDLE_S after the last did, and never while more than
 * REPART_BUF_MAX records are held (Kafka Streams' max.task.idle.ms idea).
 * A partition whose queue holds its share of REPART_BUF_MAX is paused (and
 * resumed once it has drained to a quarter), so that in a backlog the
 * consumer fetches the partitions that are behind instead of filling the
 * buffer with one partition's run and forcing routing out of order.
 *
 * A failed delivery (the producer gave up: message.timeout.ms, a fatal
 * error) is produced again from the delivery report; if even that fails
 * the router stops committing for good (logged): a restart then re-routes
 * from the last commit.
 * @thread see the header. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "consumers/kafka_repartition.h"
#include "core/clock.h"
#include "core/log.h"
#include "engine/series.h"

#define COMP              "kafka"
#define REPART_RING       (1u << 17) /* raw records in flight at most */
#define REPART_COMMIT_MS  500
#define REPART_RECOMMIT_S 5.0 /* commit every owned partition again (a lost async commit) */
#define REPART_CHECK_S    15.0
#define REPART_IDLE_S     2.0 /* wait at most this long after the last progress of a partition that is behind */
#define REPART_BUF_MAX    200000u /* raw records held for the merge at most */

/* One raw input partition this router owns or owned. */
struct rp_part {
	char *topic;
	int32_t partition;
	int topic_idx; /* in cfg->raw_topics (and cfg->topics, its repartition topic) */
	char source[320];
	int owned;
	uint32_t epoch;    /* bumped at each assignment: slots of an older one do not count */
	int64_t done;      /* every record below was routed and acknowledged; -1 = none yet */
	int64_t committed; /* the newest offset committed; -1 = none */
	struct decoder *dec;
	/* records taken from the consumer, not routed yet (the merge) */
	rd_kafka_message_t **q;
	size_t qhead, qlen, qcap;
	int64_t fetched; /* offset after the newest record taken; -1 = none yet */
	int64_t lo, hi;  /* watermarks at the start of the step; -1 = unknown */
	int paused;      /* fetching paused: its queue is full for the merge */
};

struct rp_slot {
	struct rp_part *p;
	int64_t offset;
	uint32_t epoch;
	uint32_t pending; /* messages of this record not acknowledged yet */
};

struct repart {
	const struct kafka_cfg *cfg;
	struct kafka_counters *ctr;
	volatile sig_atomic_t *stop;
	int32_t nparts; /* of each repartition topic (the state topic's) */
	rd_kafka_t *rk, *prod;
	rd_kafka_queue_t *q;
	rd_kafka_topic_t **rkt; /* per repartition topic */
	struct rp_part **parts;
	size_t nparts_seen, capparts;
	struct rp_slot *ring;
	uint64_t head, tail; /* next slot to fill; oldest slot in flight */
	rd_kafka_message_t **batch;
	double next_commit, next_recommit;
	int broken;         /* a delivery could not be retried: never commit again */
	size_t buffered;    /* records held in the partitions' queues */
	double stall_since; /* monotonic time the merge began to wait; 0 = not waiting */
	struct complain poison_complain, dr_complain;
};

/* ---- partitions ---- */

static struct rp_part *rp_find(struct repart *r, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < r->nparts_seen; i++)
		if (r->parts[i]->partition == partition && strcmp(r->parts[i]->topic, topic) == 0)
			return r->parts[i];
	return NULL;
}

/* The entry of topic/partition, created on first use (with its decoder
 * stream). NULL on memory shortage or an unknown topic (logged). */
static struct rp_part *rp_get(struct repart *r, const char *topic, int32_t partition)
{
	struct rp_part *p = rp_find(r, topic, partition);
	char err[256];
	if (p)
		return p;
	int idx = -1;
	for (size_t i = 0; i < r->cfg->nraw_topics; i++)
		if (strcmp(r->cfg->raw_topics[i], topic) == 0)
			idx = (int)i;
	if (idx < 0)
		return NULL;
	if (r->nparts_seen == r->capparts) {
		size_t nc = r->capparts ? r->capparts * 2 : 16;
		struct rp_part **np = realloc(r->parts, nc * sizeof *np);
		if (np == NULL)
			return NULL;
		r->parts = np;
		r->capparts = nc;
	}
	if ((p = calloc(1, sizeof *p)) == NULL || (p->topic = strdup(topic)) == NULL) {
		free(p);
		return NULL;
	}
	/* raw counters as they are (no rate state): the first sample of a
	 * counter yields a point, hence a key, like every later one */
	struct decoder_opts dopts = {.default_series = r->cfg->default_series, .collectd_raw = 0};
	if (decoder_open(r->cfg->format, &dopts, &p->dec, err, sizeof err) != 0) {
		LOG_ERR(COMP, "event=route_decoder_failed topic=%s err=\"%s\"", topic, err);
		free(p->topic);
		free(p);
		return NULL;
	}
	p->partition = partition;
	p->topic_idx = idx;
	p->done = -1;
	p->committed = -1;
	p->fetched = -1;
	p->lo = p->hi = -1;
	snprintf(p->source, sizeof p->source, "%s/%" PRId32, topic, partition);
	r->parts[r->nparts_seen++] = p;
	return p;
}

/* ---- delivery and commits ---- */

/* Move the tail past completed slots; each marks its partition done. */
static void rp_advance(struct repart *r)
{
	while (r->tail < r->head) {
		struct rp_slot *s = &r->ring[r->tail % REPART_RING];
		if (s->pending)
			break;
		if (s->p && s->epoch == s->p->epoch && s->offset + 1 > s->p->done)
			s->p->done = s->offset + 1;
		r->ctr->routed++;
		r->tail++;
	}
}

static void rp_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct repart *r = opaque;
	uint64_t seq = (uint64_t)(uintptr_t)m->_private;
	struct rp_slot *s = &r->ring[seq % REPART_RING];
	if (m->err) {
		rd_kafka_headers_t *h = NULL;
		r->ctr->route_retries++;
		if (complain_due(&r->dr_complain, clock_mono(), 10, 5))
			LOG_ERR(COMP, "event=route_delivery_failed topic=%s partition=%" PRId32 " err=\"%s\"",
				m->rkt ? rd_kafka_topic_name(m->rkt) : "-", m->partition,
				rd_kafka_err2str(m->err));
		if (rd_kafka_message_headers(m, &h) != 0)
			h = NULL;
		rd_kafka_headers_t *hc = h ? rd_kafka_headers_copy(h) : NULL;
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(rd_kafka_topic_name(m->rkt)), RD_KAFKA_V_PARTITION(m->partition),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m->key, m->key_len),
			RD_KAFKA_V_VALUE(m->payload, m->len),
			RD_KAFKA_V_TIMESTAMP(rd_kafka_message_timestamp(m, NULL)), RD_KAFKA_V_HEADERS(hc),
			RD_KAFKA_V_OPAQUE(m->_private), RD_KAFKA_V_END);
		if (e == 0)
			return; /* still pending */
		if (hc)
			rd_kafka_headers_destroy(hc);
		if (!r->broken)
			LOG_ERR(COMP,
				"event=route_broken err=\"%s\": raw input offsets are no longer committed;"
				" a restart re-routes from the last commit",
				rd_kafka_err2str(e));
		r->broken = 1;
	}
	if (s->pending)
		s->pending--;
}

/* Commit `done` of the owned partitions that moved since their last commit
 * (all = every owned partition). async: the loop's commits; the revoke and
 * close commits wait. */
static void rp_commit(struct repart *r, int all, int async, const rd_kafka_topic_partition_list_t *only)
{
	if (r->broken)
		return;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	if (l == NULL)
		return;
	for (size_t i = 0; i < r->nparts_seen; i++) {
		struct rp_part *p = r->parts[i];
		if (!p->owned || p->done < 0 || (!all && p->done == p->committed))
			continue;
		if (only && rd_kafka_topic_partition_list_find(only, p->topic, p->partition) == NULL)
			continue;
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->done;
	}
	if (l->cnt > 0) {
		rd_kafka_resp_err_t e = rd_kafka_commit(r->rk, l, async);
		if (e)
			LOG_WARN(COMP, "event=route_commit_failed err=\"%s\"", rd_kafka_err2str(e));
		else
			for (int i = 0; i < l->cnt; i++) {
				struct rp_part *p = rp_find(r, l->elems[i].topic, l->elems[i].partition);
				if (p)
					p->committed = l->elems[i].offset;
			}
		r->ctr->route_commits++;
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Serve delivery reports until nothing is in flight (or timeout_ms). */
static void rp_drain(struct repart *r, int timeout_ms)
{
	if (rd_kafka_flush(r->prod, timeout_ms) != 0)
		LOG_WARN(COMP, "event=route_flush_timeout in_flight=%d", rd_kafka_outq_len(r->prod));
	rp_advance(r);
}

/* ---- the merge queues ---- */

static int rp_queue_push(struct repart *r, struct rp_part *p, rd_kafka_message_t *m)
{
	if (p->qlen == p->qcap) {
		size_t nc = p->qcap ? p->qcap * 2 : 256;
		rd_kafka_message_t **nq = malloc(nc * sizeof *nq);
		if (nq == NULL)
			return -VIGIL_ENOMEM;
		for (size_t i = 0; i < p->qlen; i++)
			nq[i] = p->q[(p->qhead + i) % p->qcap];
		free(p->q);
		p->q = nq;
		p->qcap = nc;
		p->qhead = 0;
	}
	p->q[(p->qhead + p->qlen) % p->qcap] = m;
	p->qlen++;
	r->buffered++;
	p->fetched = m->offset + 1;
	return 0;
}

static rd_kafka_message_t *rp_queue_pop(struct repart *r, struct rp_part *p)
{
	rd_kafka_message_t *m = p->q[p->qhead];
	p->qhead = (p->qhead + 1) % p->qcap;
	p->qlen--;
	r->buffered--;
	return m;
}

static void rp_queue_drop(struct repart *r, struct rp_part *p)
{
	while (p->qlen)
		rd_kafka_message_destroy(rp_queue_pop(r, p));
	p->fetched = -1;
}

static void rp_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct repart *r = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;

	kafka_group_note(rk, err);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++) {
			struct rp_part *p = rp_get(r, parts->elems[i].topic, parts->elems[i].partition);
			if (p == NULL)
				continue; /* its records are dropped; the next owner routes them */
			p->owned = 1;
			p->epoch++;
			p->done = -1;
			p->committed = -1;
			LOG_INFO(COMP, "event=route_assigned partition=%s", p->source);
		}
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		/* a partition paused under an earlier assignment fetches again */
		rd_kafka_resume_partitions(rk, parts);
		for (int i = 0; i < parts->cnt; i++) {
			struct rp_part *p = rp_find(r, parts->elems[i].topic, parts->elems[i].partition);
			if (p)
				p->paused = 0;
		}
	} else {
		int lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
		if (!lost) {
			/* hand over: what was routed is acknowledged and committed */
			rp_drain(r, 10000);
			rp_commit(r, 0, 0, parts);
		}
		for (int i = 0; i < parts->cnt; i++) {
			struct rp_part *p = rp_find(r, parts->elems[i].topic, parts->elems[i].partition);
			if (p == NULL)
				continue;
			p->owned = 0;
			p->epoch++;
			rp_queue_drop(r, p); /* not routed: the next owner reads them again */
			LOG_INFO(COMP, "event=route_%s partition=%s done=%" PRId64, lost ? "lost" : "revoked",
				 p->source, p->done);
		}
		if (coop)
			e = rd_kafka_incremental_unassign(rk, parts);
		else
			rd_kafka_assign(rk, NULL);
	}
	if (e) {
		LOG_ERR(COMP, "event=route_rebalance_failed err=\"%s\"", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

/* ---- routing ---- */

/* The first point of a line gives its key; later points are only checked
 * for landing on another partition (counted). */
struct rp_key {
	struct repart *r;
	rd_kafka_topic_t *rkt;
	char key[1024];
	int klen; /* -1: none yet */
	int32_t part;
	int multi; /* a point of another partition */
	int toolong;
};

static int rp_key_emit(void *ctx, const struct point *pt)
{
	struct rp_key *k = ctx;
	if (k->klen < 0) {
		k->klen = series_key(pt, k->key, sizeof k->key);
		if (k->klen < 0) {
			k->toolong = 1;
			return -1;
		}
		k->part = rd_kafka_msg_partitioner_consistent_random(k->rkt, k->key, (size_t)k->klen,
								     k->r->nparts, NULL, NULL);
		return 0;
	}
	if (!k->multi) {
		char other[1024];
		int n = series_key(pt, other, sizeof other);
		if (n > 0 && rd_kafka_msg_partitioner_consistent_random(k->rkt, other, (size_t)n,
									k->r->nparts, NULL, NULL) != k->part)
			k->multi = 1;
	}
	return 0;
}

/* Enqueue one message with the slot's sequence number, waiting while the
 * local queue is full. 0 or the librdkafka error. */
static rd_kafka_resp_err_t rp_produce(struct repart *r, rd_kafka_topic_t *rkt, const char *topic,
				      int32_t part, const void *key, size_t klen, const void *val, size_t len,
				      int64_t ts, rd_kafka_headers_t *h, uint64_t seq)
{
	for (int tries = 0;; tries++) {
		rd_kafka_resp_err_t e;
		if (rkt)
			e = rd_kafka_producev(r->prod, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(part),
					      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					      RD_KAFKA_V_KEY(key, klen),
					      RD_KAFKA_V_VALUE((void *)(uintptr_t)val, len),
					      RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
					      RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
		else
			e = rd_kafka_producev(
				r->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
				RD_KAFKA_V_VALUE((void *)(uintptr_t)val, len), RD_KAFKA_V_HEADERS(h),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 6000)
			return e;
		rd_kafka_poll(r->prod, 10);
		rp_advance(r);
	}
}

/* A line that does not decode (or cannot be routed): counted, logged with
 * the raw topic/partition/offset, and copied to the dead-letter topic with
 * the error and origin as headers and its original key; the copy is one of
 * the record's messages in flight. */
static void rp_poison(struct repart *r, struct rp_part *p, const rd_kafka_message_t *m, const char *line,
		      size_t len, const char *err, struct rp_slot *s, uint64_t seq)
{
	r->ctr->poison++;
	if (complain_due(&r->poison_complain, clock_mono(), 10, 5))
		LOG_WARN(COMP,
			 "event=poison topic=%s partition=%" PRId32 " offset=%" PRId64
			 " err=\"%s\" stage=route total=%" PRIu64,
			 p->topic, p->partition, m->offset, err, r->ctr->poison);
	if (r->cfg->dead_letter_topic == NULL)
		return;
	rd_kafka_headers_t *h =
		kafka_dead_letter_headers(r->prod, err, p->source, p->topic, p->partition, m->offset, &len);
	/* producev takes the headers on success */
	if (rp_produce(r, NULL, r->cfg->dead_letter_topic, RD_KAFKA_PARTITION_UA, m->key, m->key_len, line,
		       len, 0, h, seq) == 0) {
		s->pending++;
		r->ctr->dead_lettered++;
	} else
		rd_kafka_headers_destroy(h);
}

/* Route every line of raw record m of p. */
static void rp_route(struct repart *r, struct rp_part *p, const rd_kafka_message_t *m)
{
	while (r->head - r->tail >= REPART_RING) { /* the ring is full: wait for acknowledgements */
		rd_kafka_poll(r->prod, 10);
		rp_advance(r);
	}
	uint64_t seq = r->head++;
	struct rp_slot *s = &r->ring[seq % REPART_RING];
	*s = (struct rp_slot){p, m->offset, p->epoch, 1}; /* 1: held until every line is queued */
	int64_t ts = rd_kafka_message_timestamp(m, NULL);
	rd_kafka_topic_t *rkt = r->rkt[p->topic_idx];
	const char *at = m->payload, *end = at ? at + m->len : NULL;
	int any = 0;
	char err[512];
	while (at && at < end) {
		const char *nl = memchr(at, '\n', (size_t)(end - at));
		const char *e = nl ? nl : end;
		size_t len = (size_t)(e - at);
		if (len && at[len - 1] == '\r')
			len--;
		if (len > 0) {
			struct rp_key k = {.r = r, .rkt = rkt, .klen = -1};
			any = 1;
			if (decoder_feed(p->dec, at, len, rp_key_emit, &k, err, sizeof err) != 0) {
				if (k.toolong)
					snprintf(err, sizeof err, "series key too long to route");
				rp_poison(r, p, m, at, len, err, s, seq);
			} else if (k.klen < 0) {
				/* decoded, no point (a comment, a header, a counter's first
				 * sample): to the partition of the line's bytes */
				r->ctr->route_keyless++;
				int32_t part = rd_kafka_msg_partitioner_consistent_random(
					rkt, at, len, r->nparts, NULL, NULL);
				if (rp_produce(r, rkt, NULL, part, NULL, 0, at, len, ts, NULL, seq) == 0)
					s->pending++;
				else
					rp_poison(r, p, m, at, len, "cannot route: local produce failed", s,
						  seq);
			} else {
				rd_kafka_resp_err_t pe;
				if (k.multi)
					r->ctr->route_multi++;
				pe = rp_produce(r, rkt, NULL, k.part, k.key, (size_t)k.klen, at, len, ts,
						NULL, seq);
				if (pe == 0) {
					s->pending++;
					r->ctr->routed_lines++;
				} else {
					char why[300];
					snprintf(why, sizeof why, "cannot route: %s", rd_kafka_err2str(pe));
					rp_poison(r, p, m, at, len, why, s, seq);
				}
			}
		}
		at = nl ? nl + 1 : end;
	}
	if (!any)
		rp_poison(r, p, m, "", 0, "empty message", s, seq);
	s->pending--;
}

/* 1 if owned partition p has nothing queued but may have records the
 * consumer has not handed over yet (by the watermarks of this step). */
static int rp_behind(const struct rp_part *p)
{
	if (p->hi < 0)
		return 1; /* unknown yet */
	if (p->fetched < 0)
		return p->hi > p->lo; /* not empty, and nothing taken yet */
	return p->fetched < p->hi;
}

/* Pause or resume fetching of p (see the merge); errors only logged (a
 * partition that stays unpaused still merges, with more out of order). */
static void rp_pause(struct repart *r, struct rp_part *p, int pause)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
	rd_kafka_resp_err_t e =
		pause ? rd_kafka_pause_partitions(r->rk, l) : rd_kafka_resume_partitions(r->rk, l);
	if (e == 0 && l->elems[0].err == 0)
		p->paused = pause;
	else
		LOG_WARN(COMP, "event=route_%s_failed partition=%s err=\"%s\"", pause ? "pause" : "resume",
			 p->source, rd_kafka_err2str(e ? e : l->elems[0].err));
	rd_kafka_topic_partition_list_destroy(l);
}

/* Each owned partition's share of the merge buffer: pause above it, resume
 * below a quarter of it. */
static void rp_flow(struct repart *r)
{
	size_t owned = 0;
	for (size_t i = 0; i < r->nparts_seen; i++)
		owned += r->parts[i]->owned != 0;
	size_t high = owned ? REPART_BUF_MAX / (2 * owned) : REPART_BUF_MAX;
	if (high < 256)
		high = 256;
	for (size_t i = 0; i < r->nparts_seen; i++) {
		struct rp_part *p = r->parts[i];
		if (p->owned && !p->paused && p->qlen >= high)
			rp_pause(r, p, 1);
		else if (p->paused && (!p->owned || p->qlen <= high / 4))
			rp_pause(r, p, 0);
	}
}

/* Route queued records, oldest Kafka timestamp first (see the merge). */
static void rp_merge(struct repart *r)
{
	for (;;) {
		struct rp_part *best = NULL;
		int64_t bts = 0;
		int wait = 0;
		for (size_t i = 0; i < r->nparts_seen; i++) {
			struct rp_part *p = r->parts[i];
			if (!p->owned)
				continue;
			if (p->qlen == 0) {
				wait |= rp_behind(p);
				continue;
			}
			int64_t ts = rd_kafka_message_timestamp(p->q[p->qhead], NULL);
			if (best == NULL || ts < bts) {
				best = p;
				bts = ts;
			}
		}
		if (best == NULL) {
			r->stall_since = 0;
			return;
		}
		if (!wait)
			r->stall_since = 0;
		else if (r->buffered < REPART_BUF_MAX) {
			double now = clock_mono();
			if (r->stall_since <= 0)
				r->stall_since = now;
			if (now - r->stall_since < REPART_IDLE_S)
				return;
		}
		rd_kafka_message_t *m = rp_queue_pop(r, best);
		if (m->offset >= best->done)
			rp_route(r, best, m);
		rd_kafka_message_destroy(m);
	}
}

int repart_step(struct repart *r, int timeout_ms)
{
	ssize_t n = kafka_consume_some(r->q, timeout_ms, r->batch, (size_t)r->cfg->batch_size);
	if (n < 0) {
		LOG_WARN(COMP, "event=route_consume_failed err=\"%s\"",
			 rd_kafka_err2str(rd_kafka_last_error()));
		n = 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = r->batch[i];
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				LOG_WARN(COMP,
					 "event=route_consume_error topic=%s partition=%" PRId32
					 " err=\"%s\"",
					 m->rkt ? rd_kafka_topic_name(m->rkt) : "-", m->partition,
					 rd_kafka_message_errstr(m));
		} else {
			struct rp_part *p = rp_find(r, rd_kafka_topic_name(m->rkt), m->partition);
			/* revoked inside this batch's call: the next owner routes it */
			if (p && p->owned && m->offset >= p->done) {
				if (rp_queue_push(r, p, m) == 0) {
					if (p->qlen == 1)
						r->stall_since =
							0; /* a partition that was empty moved: wait on */
					continue;
				}
				rp_route(r, p, m); /* no memory to queue it: route it now */
			}
		}
		rd_kafka_message_destroy(m);
	}
	for (size_t i = 0; i < r->nparts_seen; i++) {
		struct rp_part *p = r->parts[i];
		if (p->owned &&
		    rd_kafka_get_watermark_offsets(r->rk, p->topic, p->partition, &p->lo, &p->hi) != 0)
			p->lo = p->hi = -1;
	}
	rp_flow(r);
	rp_merge(r);
	rp_flow(r);
	rd_kafka_poll(r->prod, 0);
	rp_advance(r);
	double now = clock_mono();
	if (now >= r->next_commit) {
		int all = now >= r->next_recommit;
		rp_commit(r, all, 1, NULL);
		r->next_commit = now + REPART_COMMIT_MS / 1000.0;
		if (all)
			r->next_recommit = now + REPART_RECOMMIT_S;
	}
	return (int)n;
}

/* ---- open / close ---- */

/* Every repartition topic must exist with nparts partitions: the engines'
 * partition p checkpoints to state partition p, and the router hashes over
 * nparts. Retries while the metadata cannot be read (REPART_CHECK_S). */
static int rp_check_topics(struct repart *r)
{
	const struct kafka_cfg *c = r->cfg;
	for (size_t i = 0; i < c->ntopics; i++) {
		int32_t n = -1;
		double end = clock_mono() + REPART_CHECK_S;
		while (kafka_partition_count(r->prod, c->topics[i], 1000, &n) != 0) {
			rd_kafka_poll(r->prod, 200);
			if ((r->stop && *r->stop) || clock_mono() > end) {
				LOG_ERR(COMP,
					"event=startup_failed err=\"repartition topic %s of input topic %s"
					" (input.keyed_by: none) is missing or unreadable: create it with "
					"%" PRId32
					" partitions (the state topic %s's), cleanup.policy=delete\"",
					c->topics[i], c->raw_topics[i], r->nparts, c->state_topic);
				return r->stop && *r->stop ? -VIGIL_EAGAIN : -VIGIL_EINVAL;
			}
		}
		if (n != r->nparts) {
			LOG_ERR(COMP,
				"event=startup_failed err=\"repartition topic %s has %" PRId32
				" partitions, state topic %s has %" PRId32
				": they must be co-partitioned; create %s with %" PRId32 " partitions\"",
				c->topics[i], n, c->state_topic, r->nparts, c->topics[i], r->nparts);
			return -VIGIL_EINVAL;
		}
	}
	return 0;
}

int repart_open(const struct kafka_cfg *c, int32_t nparts, struct kafka_counters *ctr,
		volatile sig_atomic_t *stop, struct repart **out)
{
	struct repart *r = calloc(1, sizeof *r);
	int rc = -VIGIL_ENOMEM;

	*out = NULL;
	if (r == NULL)
		return rc;
	r->cfg = c;
	r->ctr = ctr;
	r->stop = stop;
	r->nparts = nparts;
	r->ring = calloc(REPART_RING, sizeof *r->ring);
	r->batch = calloc((size_t)c->batch_size, sizeof *r->batch);
	r->rkt = calloc(c->ntopics, sizeof *r->rkt);
	if (r->ring == NULL || r->batch == NULL || r->rkt == NULL)
		goto fail;
	if ((rc = kafka_client(c, "producer", RD_KAFKA_PRODUCER, r, NULL, rp_dr, &r->prod)) != 0 ||
	    (rc = rp_check_topics(r)) != 0)
		goto fail;
	for (size_t i = 0; i < c->ntopics; i++)
		if ((r->rkt[i] = rd_kafka_topic_new(r->prod, c->topics[i], NULL)) == NULL) {
			rc = -VIGIL_ENOMEM;
			goto fail;
		}
	if ((rc = kafka_client(c, "router", RD_KAFKA_CONSUMER, r, rp_rebalance, NULL, &r->rk)) != 0)
		goto fail;
	rd_kafka_poll_set_consumer(r->rk);
	r->q = rd_kafka_queue_get_consumer(r->rk);
	rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)c->nraw_topics);
	for (size_t i = 0; i < c->nraw_topics; i++)
		rd_kafka_topic_partition_list_add(subs, c->raw_topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(r->rk, subs);
	rd_kafka_topic_partition_list_destroy(subs);
	if (e) {
		LOG_ERR(COMP, "event=subscribe_failed role=router err=\"%s\"", rd_kafka_err2str(e));
		rc = -VIGIL_EIO;
		goto fail;
	}
	r->next_commit = clock_mono() + REPART_COMMIT_MS / 1000.0;
	r->next_recommit = clock_mono() + REPART_RECOMMIT_S;
	LOG_INFO(COMP, "event=router_started raw_topics=%zu first=%s to=%s(%" PRId32 ")", c->nraw_topics,
		 c->raw_topics[0], c->topics[0], nparts);
	*out = r;
	return 0;
fail:
	repart_close(r);
	return rc;
}

void repart_close(struct repart *r)
{
	if (r == NULL)
		return;
	if (r->rk) {
		if (r->q)
			rd_kafka_queue_destroy(r->q);
		/* the final revoke drains and commits */
		kafka_consumer_close_destroy(r->rk, "router");
	}
	if (r->prod) {
		if (rd_kafka_flush(r->prod, 10000) || rd_kafka_outq_len(r->prod) > 0)
			LOG_ERR(COMP, "event=close_unflushed role=router messages=%d",
				rd_kafka_outq_len(r->prod));
		for (size_t i = 0; r->rkt && i < r->cfg->ntopics; i++)
			if (r->rkt[i])
				rd_kafka_topic_destroy(r->rkt[i]);
		rd_kafka_destroy(r->prod);
	}
	for (size_t i = 0; i < r->nparts_seen; i++) {
		rp_queue_drop(r, r->parts[i]);
		free(r->parts[i]->q);
		decoder_close(r->parts[i]->dec);
		free(r->parts[i]->topic);
		free(r->parts[i]);
	}
	free(r->parts);
	free(r->rkt);
	free(r->batch);
	free(r->ring);
	free(r);
}
