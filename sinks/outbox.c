/* See outbox.h.
 *
 * One mutex guards every queue; each destination has a condition variable
 * its thread waits on (new entry, a due retry, stop) and drain waiters share
 * one. Times for scheduling are monotonic (pthread condvars on
 * CLOCK_MONOTONIC), decisions are stamped with the wall clock. */
#include "sinks/outbox.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/failpoint.h"
#include "core/hash.h"
#include "core/log.h"
#include "sinks/notify_ident.h"

static const char comp[] = "gateway";

/* Scheduling uses clock_mono_real(): the condition variables wait on the
 * real monotonic clock even when a test fakes clock_mono(). */
struct entry {
	struct entry *next;
	uint64_t seq;
	char *json;
	int32_t tag_part;
	int64_t tag_off;
	double decided_at; /* wall */
	double first_at;   /* monotonic, first attempt or enqueue */
	double next_at;    /* monotonic: not before */
	uint64_t ident;    /* notify_ident, for tagged entries (0: untagged) */
	int attempts;
	int cancelled; /* handed over (outbox_cancel) while being sent: dropped after the send */
};

struct queue {
	struct entry *head, *tail;
	size_t n;
	int busy; /* the head is being sent */
	pthread_cond_t cv;
	pthread_t thread;
	int started;
	struct outbox *ob;
	size_t index;
	uint64_t rng;
	struct complain complain;
};

struct outbox {
	pthread_mutex_t mu;
	pthread_cond_t idle; /* signalled when an entry finishes */
	const struct outbox_dest *dests;
	size_t ndests;
	struct queue *q;
	struct outbox_hooks hooks;
	size_t pending;
	int stop;
	struct outbox_done_set *done; /* borrowed, NULL = none (outbox_attach_done) */
	int32_t *held;                /* partitions being handed over: no send of them starts */
	size_t nheld, capheld;
};

/* 1 if partition part is held (outbox_hold); with ob->mu held. */
static int is_held(const struct outbox *ob, int32_t part)
{
	for (size_t i = 0; part >= 0 && i < ob->nheld; i++)
		if (ob->held[i] == part)
			return 1;
	return 0;
}

double outbox_backoff(const struct retry_policy *p, int attempt, double retry_after, double rnd)
{
	double cap = p->initial;
	for (int i = 1; i < attempt && cap < p->max_delay; i++)
		cap *= 2;
	if (cap > p->max_delay)
		cap = p->max_delay;
	double d = cap * rnd;
	return d < retry_after ? retry_after : d;
}

static double rnd01(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / 9007199254740992.0;
}

static void abs_time(double mono, struct timespec *ts)
{
	double whole = floor(mono);
	ts->tv_sec = (time_t)whole;
	ts->tv_nsec = (long)((mono - whole) * 1e9);
	if (ts->tv_nsec >= 1000000000L)
		ts->tv_nsec = 999999999L;
}

static void entry_free(struct entry *e)
{
	if (e) {
		free(e->json);
		free(e);
	}
}

/* ---- reading a queued notification back ---- */

#define GROUP_SCHEMA_V1  "vigil.group/v1"
#define GROUP_MAX_ALERTS 1000 /* alerts in one group document, at most */

/* A group document read back: g points into the arrays, whose strings
 * borrow from the document (alert JSON texts are owned: json_dumps). */
struct group_read {
	struct notification_group g;
	struct alert_event *alerts;
	const char **change;
	char **json;
	struct kv *labels;
	size_t n; /* alerts read so far (what group_read_free frees) */
};

static void group_read_free(struct group_read *gr)
{
	for (size_t i = 0; gr->json && i < gr->n; i++)
		free(gr->json[i]);
	free(gr->json);
	free(gr->alerts);
	free(gr->change);
	free(gr->labels);
	memset(gr, 0, sizeof *gr);
}

static const char *doc_str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s && s[0] ? s : NULL;
}

/* Read the group document j (schema GROUP_SCHEMA_V1) into *gr, strings
 * borrowed from j. 0; -VIGIL_EINVAL with err (the document is unusable:
 * dropped); -VIGIL_ENOMEM (worth a retry). On error *gr is freed. */
static int group_read(json_t *j, struct group_read *gr, char *err, size_t errlen)
{
	json_t *alerts = json_object_get(j, "alerts"), *labels = json_object_get(j, "group_labels");
	json_t *tr = json_object_get(j, "truncated"), *v;
	const char *owner = doc_str(j, "owner"), *key = doc_str(j, "group_key"),
		   *reason = doc_str(j, "reason");
	const char *k;
	size_t n, nl, i = 0;
	char sub[256];

	memset(gr, 0, sizeof *gr);
	if (!owner || !key || !reason) {
		snprintf(err, errlen, "group: %s: missing, empty or not a string",
			 !owner ? "owner"
			 : !key ? "group_key"
				: "reason");
		return -VIGIL_EINVAL;
	}
	if (!json_is_object(labels) || json_object_size(labels) > ALERT_MAX_LABELS) {
		snprintf(err, errlen, "group: group_labels: missing, not an object or more than %d labels",
			 ALERT_MAX_LABELS);
		return -VIGIL_EINVAL;
	}
	if (!json_is_array(alerts) || json_array_size(alerts) == 0) {
		snprintf(err, errlen, "group: alerts: missing, empty or not an array");
		return -VIGIL_EINVAL;
	}
	if ((n = json_array_size(alerts)) > GROUP_MAX_ALERTS) {
		snprintf(err, errlen, "group: alerts: %zu alerts; a group document carries at most %d", n,
			 GROUP_MAX_ALERTS);
		return -VIGIL_EINVAL;
	}
	if (tr && (!json_is_integer(tr) || json_integer_value(tr) < 0)) {
		snprintf(err, errlen, "group: truncated: not a count");
		return -VIGIL_EINVAL;
	}
	nl = json_object_size(labels);
	gr->alerts = calloc(n, sizeof *gr->alerts);
	gr->change = calloc(n, sizeof *gr->change);
	gr->json = calloc(n, sizeof *gr->json);
	gr->labels = calloc(nl ? nl : 1, sizeof *gr->labels);
	if (!gr->alerts || !gr->change || !gr->json || !gr->labels) {
		group_read_free(gr);
		return -VIGIL_ENOMEM;
	}
	json_object_foreach(labels, k, v)
	{
		if (!json_is_string(v)) {
			snprintf(err, errlen, "group: group_labels.%.64s: not a string", k);
			group_read_free(gr);
			return -VIGIL_EINVAL;
		}
		gr->labels[i++] = (struct kv){k, json_string_value(v), NULL};
	}
	for (i = 0; i < n; i++) {
		json_t *a = json_array_get(alerts, i);
		const char *ch = json_string_value(json_object_get(a, "change"));
		if (alert_from_json(a, &gr->alerts[i], sub, sizeof sub) != 0) {
			snprintf(err, errlen, "group: alerts[%zu]: %s", i, sub);
			group_read_free(gr);
			return -VIGIL_EINVAL;
		}
		if (!ch || (strcmp(ch, "new") && strcmp(ch, "firing") && strcmp(ch, "resolved"))) {
			snprintf(err, errlen,
				 "group: alerts[%zu]: change: missing or not new, firing or resolved", i);
			group_read_free(gr);
			return -VIGIL_EINVAL;
		}
		gr->change[i] = ch;
		if (!(gr->json[i] = json_dumps(a, JSON_COMPACT))) {
			group_read_free(gr);
			return -VIGIL_ENOMEM;
		}
		gr->n = i + 1;
	}
	gr->g = (struct notification_group){
		.key = key,
		.reason = reason,
		.labels = gr->labels,
		.nlabels = nl,
		.alerts = gr->alerts,
		.change = gr->change,
		.json = (const char *const *)gr->json,
		.n = n,
		.truncated = tr ? (size_t)json_integer_value(tr) : 0,
	};
	return 0;
}

/* Send the group document j (text e->json) to d; res filled. */
static void send_group(const struct outbox_dest *d, const struct entry *e, json_t *j, struct sink_result *res)
{
	struct group_read gr;
	char err[320];
	int rc = group_read(j, &gr, err, sizeof err);

	if (rc == -VIGIL_ENOMEM) {
		sink_result_set(res, SINK_RETRY, 0, "out of memory reading the group notification back");
		return;
	}
	if (rc != 0) {
		sink_result_set(res, SINK_DROP, 0, "the group notification cannot be read back: %s", err);
		return;
	}
	char idem[160];
	struct notification n = {
		.idem_key = notify_idem_key(e->json, idem, sizeof idem),
		.ev = &gr.alerts[0],
		.fingerprint = "",
		.episode = "",
		.dedup_key = gr.g.key,
		.owner = doc_str(j, "owner"),
		.json = e->json,
		.json_len = strlen(e->json),
		.group = &gr.g,
	};
	d->type->send(d->priv, &n, res);
	group_read_free(&gr);
}

/* Send e to d once; res filled. */
static void send_once(const struct outbox_dest *d, const struct entry *e, struct sink_result *res)
{
	json_error_t je;
	struct alert_event ev;
	char err[256], key[64];
	json_t *j = json_loads(e->json, 0, &je);

	memset(res, 0, sizeof *res);
	const char *schema = j ? doc_str(j, "schema") : NULL;
	if (schema && !strncmp(schema, "vigil.group/", 12)) {
		if (!strcmp(schema, GROUP_SCHEMA_V1))
			send_group(d, e, j, res);
		else
			sink_result_set(res, SINK_DROP, 0,
					"the group notification cannot be read back: schema '%.40s' is not "
					"%s",
					schema, GROUP_SCHEMA_V1);
		json_decref(j);
		return;
	}
	if (j == NULL || alert_from_json(j, &ev, err, sizeof err) != 0) {
		sink_result_set(res, SINK_DROP, 0, "the notification cannot be read back: %s",
				j ? err : je.text);
		json_decref(j);
		return;
	}
	const char *fp = json_string_value(json_object_get(j, "fingerprint"));
	const char *ep = json_string_value(json_object_get(j, "episode"));
	snprintf(key, sizeof key, "vigil/%s/%s", fp ? fp : "-", ep ? ep : "-");
	char idem[160];
	struct notification n = {
		.idem_key = notify_idem_key(e->json, idem, sizeof idem),
		.ev = &ev,
		.fingerprint = fp ? fp : "",
		.episode = ep ? ep : "",
		.dedup_key = key,
		.owner = ev.owner ? ev.owner : "",
		.json = e->json,
		.json_len = strlen(e->json),
	};
	d->type->send(d->priv, &n, res);
	json_decref(j);
}

static void *worker(void *arg)
{
	struct queue *q = arg;
	struct outbox *ob = q->ob;
	const struct outbox_dest *d = &ob->dests[q->index];

	pthread_mutex_lock(&ob->mu);
	for (;;) {
		if (ob->stop)
			break;
		struct entry *e = q->head;
		double now = clock_mono_real();
		if (e == NULL || e->next_at > now || is_held(ob, e->tag_part)) {
			if (e == NULL || is_held(ob, e->tag_part)) {
				pthread_cond_wait(&q->cv, &ob->mu);
			} else {
				struct timespec ts;
				abs_time(e->next_at, &ts);
				pthread_cond_timedwait(&q->cv, &ob->mu, &ts);
			}
			continue;
		}
		q->busy = 1;
		pthread_mutex_unlock(&ob->mu);

		struct sink_result res;
		send_once(d, e, &res);
		e->attempts++;
		now = clock_mono_real();
		int finished = 1, dead = 0;
		pthread_mutex_lock(&ob->mu);
		int cancelled = e->cancelled;
		pthread_mutex_unlock(&ob->mu);
		if (cancelled) {
			/* another process owns it now: whatever the outcome, not ours */
		} else if (res.verdict == SINK_RETRY) {
			if (e->attempts >= d->policy.max_attempts || now - e->first_at >= d->policy.max_age) {
				dead = 1;
			} else {
				finished = 0;
				double delay = outbox_backoff(&d->policy, e->attempts, res.retry_after,
							      rnd01(&q->rng));
				e->next_at = now + delay;
				if (complain_due(&q->complain, now, 60, 5))
					LOG_WARN(comp,
						 "event=delivery_retry owner=%s type=%s where=%s attempt=%d "
						 "status=%d "
						 "retry_in_s=%.1f detail=\"%s\"",
						 d->owner, d->type->name, d->where, e->attempts, res.status,
						 delay, res.detail);
			}
		} else if (res.verdict == SINK_DROP) {
			dead = 1;
		}
		if (finished && !cancelled && ob->hooks.done) {
			struct outbox_done od = {e->seq,        q->index, dead, e->attempts,
						 e->decided_at, e->json,  &res};
			ob->hooks.done(ob->hooks.ctx, &od);
		}

		/* test hook: accepted by the receiver, its done record not queued */
		if (finished && res.verdict == SINK_OK && e->tag_part >= 0 && ob->done)
			FAILPOINT("gateway_send_accepted");
		pthread_mutex_lock(&ob->mu);
		q->busy = 0;
		pthread_cond_broadcast(&ob->idle); /* outbox_wait_sending, also on a retry */
		/* atomically with the removal (an accepted send is final,
		 * sinks/sink.h). A send handed over while in progress is
		 * recorded too when it went through: the partition's next owner
		 * may still see it. */
		if (finished && res.verdict == SINK_OK && e->tag_part >= 0 && ob->done)
			outbox_done_set_record(ob->done, e->tag_part, e->ident);
		if (finished) {
			q->head = e->next;
			if (q->head == NULL)
				q->tail = NULL;
			q->n--;
			entry_free(e);
			if (q->head == NULL && d->type->flush) {
				/* the last for now: the type's optional flush
				 * (nothing a SINK_OK depends on) */
				pthread_mutex_unlock(&ob->mu);
				d->type->flush(d->priv);
				pthread_mutex_lock(&ob->mu);
			}
			ob->pending--;
			pthread_cond_broadcast(&ob->idle);
		}
	}
	pthread_mutex_unlock(&ob->mu);
	return NULL;
}

int outbox_create(const struct outbox_dest *dests, size_t ndests, const struct outbox_hooks *hooks,
		  struct outbox **out)
{
	struct outbox *ob = calloc(1, sizeof *ob);
	pthread_condattr_t ca;

	*out = NULL;
	if (ob == NULL)
		return -VIGIL_ENOMEM;
	ob->q = calloc(ndests ? ndests : 1, sizeof *ob->q);
	if (ob->q == NULL) {
		free(ob);
		return -VIGIL_ENOMEM;
	}
	pthread_mutex_init(&ob->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ob->idle, &ca);
	ob->dests = dests;
	ob->ndests = ndests;
	if (hooks)
		ob->hooks = *hooks;
	for (size_t i = 0; i < ndests; i++) {
		struct queue *q = &ob->q[i];
		q->ob = ob;
		q->index = i;
		q->rng = hash_mix((uint64_t)(uintptr_t)q ^ (uint64_t)(clock_wall() * 1e6) ^ i) | 1;
		pthread_cond_init(&q->cv, &ca);
	}
	pthread_condattr_destroy(&ca);
	for (size_t i = 0; i < ndests; i++) {
		if (pthread_create(&ob->q[i].thread, NULL, worker, &ob->q[i]) != 0) {
			outbox_destroy(ob);
			return -VIGIL_EIO;
		}
		ob->q[i].started = 1;
	}
	*out = ob;
	return 0;
}

void outbox_destroy(struct outbox *ob)
{
	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->mu);
	ob->stop = 1;
	for (size_t i = 0; i < ob->ndests; i++)
		pthread_cond_broadcast(&ob->q[i].cv);
	pthread_mutex_unlock(&ob->mu);
	for (size_t i = 0; i < ob->ndests; i++)
		if (ob->q[i].started)
			pthread_join(ob->q[i].thread, NULL);
	for (size_t i = 0; i < ob->ndests; i++) {
		for (struct entry *e = ob->q[i].head, *nx; e; e = nx) {
			nx = e->next;
			entry_free(e);
		}
		pthread_cond_destroy(&ob->q[i].cv);
	}
	pthread_cond_destroy(&ob->idle);
	pthread_mutex_destroy(&ob->mu);
	free(ob->held);
	free(ob->q);
	free(ob);
}

void outbox_attach_done(struct outbox *ob, struct outbox_done_set *set)
{
	pthread_mutex_lock(&ob->mu);
	ob->done = set;
	pthread_mutex_unlock(&ob->mu);
}

int outbox_enqueue(struct outbox *ob, size_t dest, uint64_t seq, const char *json, int32_t tag_part,
		   int64_t tag_off, double decided_at)
{
	if (dest >= ob->ndests)
		return -VIGIL_EINVAL;
	struct entry *e = calloc(1, sizeof *e);
	if (e == NULL || (e->json = strdup(json)) == NULL) {
		free(e);
		return -VIGIL_ENOMEM;
	}
	e->seq = seq;
	e->tag_part = tag_part;
	e->tag_off = tag_off;
	e->decided_at = decided_at;
	e->first_at = e->next_at = clock_mono_real();
	if (tag_part >= 0)
		e->ident = notify_ident(ob->dests[dest].id, json);
	pthread_mutex_lock(&ob->mu);
	if (tag_part >= 0 && ob->done && outbox_done_set_take(ob->done, tag_part, e->ident)) {
		pthread_mutex_unlock(&ob->mu);
		char hx[17];
		hash_hex(e->ident, hx);
		LOG_INFO(comp,
			 "event=notification_already_delivered partition=%d dest=%s ident=%s: the previous "
			 "owner of the partition delivered it, not sent again",
			 (int)tag_part, ob->dests[dest].id ? ob->dests[dest].id : "?", hx);
		entry_free(e);
		return 0;
	}
	struct queue *q = &ob->q[dest];
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->n++;
	ob->pending++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&ob->mu);
	return 0;
}

void outbox_export(struct outbox *ob, int32_t part,
		   void (*fn)(void *ctx, size_t dest, uint64_t seq, const char *json, double decided_at),
		   void *ctx)
{
	pthread_mutex_lock(&ob->mu);
	for (size_t i = 0; i < ob->ndests; i++)
		for (const struct entry *e = ob->q[i].head; e; e = e->next)
			if (e->tag_part == part && !e->cancelled)
				fn(ctx, i, e->seq, e->json, e->decided_at);
	pthread_mutex_unlock(&ob->mu);
}

size_t outbox_cancel(struct outbox *ob, int32_t part)
{
	size_t n = 0;
	pthread_mutex_lock(&ob->mu);
	for (size_t i = 0; i < ob->ndests; i++) {
		struct queue *q = &ob->q[i];
		/* the head may be in a send (busy): it finishes, then is dropped */
		if (q->busy && q->head && q->head->tag_part == part && !q->head->cancelled) {
			q->head->cancelled = 1;
			n++;
		}
		struct entry **pp = q->busy && q->head ? &q->head->next : &q->head;
		while (*pp) {
			struct entry *e = *pp;
			if (e->tag_part != part) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			entry_free(e);
			q->n--;
			ob->pending--;
			n++;
		}
		q->tail = NULL;
		for (struct entry *e = q->head; e; e = e->next)
			q->tail = e;
	}
	pthread_cond_broadcast(&ob->idle);
	pthread_mutex_unlock(&ob->mu);
	return n;
}

size_t outbox_pending(struct outbox *ob)
{
	pthread_mutex_lock(&ob->mu);
	size_t n = ob->pending;
	pthread_mutex_unlock(&ob->mu);
	return n;
}

int64_t outbox_min_pending(struct outbox *ob, int32_t part)
{
	int64_t m = INT64_MAX;
	pthread_mutex_lock(&ob->mu);
	for (size_t i = 0; i < ob->ndests; i++)
		for (const struct entry *e = ob->q[i].head; e; e = e->next)
			if (e->tag_part == part && !e->cancelled && e->tag_off >= 0 && e->tag_off < m)
				m = e->tag_off;
	pthread_mutex_unlock(&ob->mu);
	return m;
}

size_t outbox_drain(struct outbox *ob, double timeout)
{
	double end = clock_mono_real() + timeout;
	pthread_mutex_lock(&ob->mu);
	while (ob->pending > 0) {
		if (timeout < 0) {
			pthread_cond_wait(&ob->idle, &ob->mu);
			continue;
		}
		if (clock_mono_real() >= end)
			break;
		struct timespec ts;
		abs_time(end, &ts);
		pthread_cond_timedwait(&ob->idle, &ob->mu, &ts);
	}
	size_t n = ob->pending;
	pthread_mutex_unlock(&ob->mu);
	return n;
}

int outbox_hold(struct outbox *ob, int32_t part, int on)
{
	int rc = 0;
	pthread_mutex_lock(&ob->mu);
	if (on && !is_held(ob, part)) {
		if (ob->nheld == ob->capheld) {
			size_t cap = ob->capheld ? ob->capheld * 2 : 8;
			int32_t *h = realloc(ob->held, cap * sizeof *h);
			if (h == NULL)
				rc = -VIGIL_ENOMEM;
			else {
				ob->held = h;
				ob->capheld = cap;
			}
		}
		if (rc == 0)
			ob->held[ob->nheld++] = part;
	} else if (!on) {
		for (size_t i = 0; i < ob->nheld; i++)
			if (ob->held[i] == part) {
				ob->held[i] = ob->held[--ob->nheld];
				break;
			}
		for (size_t i = 0; i < ob->ndests; i++)
			pthread_cond_broadcast(&ob->q[i].cv);
	}
	pthread_mutex_unlock(&ob->mu);
	return rc;
}

/* The sends of part in progress; with ob->mu held. */
static size_t sending(const struct outbox *ob, int32_t part)
{
	size_t n = 0;
	for (size_t i = 0; i < ob->ndests; i++)
		if (ob->q[i].busy && ob->q[i].head && ob->q[i].head->tag_part == part)
			n++;
	return n;
}

size_t outbox_wait_sending(struct outbox *ob, int32_t part, double until)
{
	pthread_mutex_lock(&ob->mu);
	size_t n;
	while ((n = sending(ob, part)) > 0 && clock_mono_real() < until) {
		struct timespec ts;
		abs_time(until, &ts);
		pthread_cond_timedwait(&ob->idle, &ob->mu, &ts);
	}
	pthread_mutex_unlock(&ob->mu);
	return n;
}
