/* See gateway_done.h. */
#include "consumers/gateway_done.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"

#define COMP      "kafka"
#define UID_LEN   48
#define KEY_MAX   400
#define KEY_SPACE "vigil.done/"

/* The uids of one alerts partition's records since its last durable
 * snapshot (written here or loaded at takeover), oldest first. */
struct dpart {
	int32_t part;
	char (*uid)[UID_LEN];
	size_t n, cap;
};

struct gwdone {
	pthread_mutex_t mu; /* parts, seq, counters: delivery threads record */
	const char *state_topic, *alerts_topic;
	int32_t nstate;
	rd_kafka_t *prod;
	char member[17]; /* this process's prefix of every uid */
	uint64_t seq;
	struct dpart *parts;
	size_t nparts, capparts;
	uint64_t written, lost;
	struct complain complain;
	struct outbox_done_set *set;
};

int gwdone_open(const char *state_topic, int32_t nstate, const char *alerts_topic, rd_kafka_t *prod,
		struct gwdone **out)
{
	struct gwdone *d = calloc(1, sizeof *d);
	*out = NULL;
	if (d == NULL)
		return -VIGIL_ENOMEM;
	if (outbox_done_set_new(&d->set) != 0) {
		free(d);
		return -VIGIL_ENOMEM;
	}
	outbox_done_set_recorder(d->set, gwdone_record, d);
	pthread_mutex_init(&d->mu, NULL);
	d->state_topic = state_topic;
	d->alerts_topic = alerts_topic;
	d->nstate = nstate > 0 ? nstate : 1;
	d->prod = prod;
	double now = clock_wall();
	pid_t pid = getpid();
	uint64_t h = hash_bytes(HASH_SEED, &now, sizeof now);
	h = hash_bytes(h, &pid, sizeof pid);
	h = hash_bytes(h, &d, sizeof d);
	hash_hex(hash_mix(h), d->member);
	*out = d;
	return 0;
}

void gwdone_close(struct gwdone *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nparts; i++)
		free(d->parts[i].uid);
	free(d->parts);
	outbox_done_set_free(d->set);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

struct outbox_done_set *gwdone_set(struct gwdone *d)
{
	return d ? d->set : NULL;
}

void gwdone_stop(struct gwdone *d)
{
	if (d)
		outbox_done_set_recorder(d->set, NULL, NULL);
}

/* The list of part (created when missing; NULL on allocation failure). Under mu. */
static struct dpart *dpart_of(struct gwdone *d, int32_t part)
{
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].part == part)
			return &d->parts[i];
	if (d->nparts == d->capparts) {
		size_t cap = d->capparts ? d->capparts * 2 : 8;
		struct dpart *v = realloc(d->parts, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		d->parts = v;
		d->capparts = cap;
	}
	d->parts[d->nparts] = (struct dpart){.part = part};
	return &d->parts[d->nparts++];
}

/* Remember uid for part. 0 or -VIGIL_ENOMEM. Under mu. */
static int remember(struct gwdone *d, int32_t part, const char *uid)
{
	struct dpart *p = dpart_of(d, part);
	if (p == NULL)
		return -VIGIL_ENOMEM;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char(*v)[UID_LEN] = realloc(p->uid, cap * sizeof *v);
		if (v == NULL)
			return -VIGIL_ENOMEM;
		p->uid = v;
		p->cap = cap;
	}
	snprintf(p->uid[p->n++], UID_LEN, "%s", uid);
	return 0;
}

static void record_key(const struct gwdone *d, int32_t part, const char *uid, char *key, size_t keylen)
{
	snprintf(key, keylen, KEY_SPACE "%s/%" PRId32 "/%s", d->alerts_topic, part, uid);
}

/* Queue value (NULL: a tombstone) under key. 0 or -VIGIL_EIO. */
static int produce(struct gwdone *d, int32_t part, const char *key, const char *value)
{
	rd_kafka_resp_err_t e = rd_kafka_producev(
		d->prod, RD_KAFKA_V_TOPIC(d->state_topic), RD_KAFKA_V_PARTITION(part % d->nstate),
		RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_VALUE((void *)value, value ? strlen(value) : 0), RD_KAFKA_V_KEY(key, strlen(key)),
		RD_KAFKA_V_OPAQUE((void *)(uintptr_t)KAFKA_MSG_STATE), RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	if (complain_due(&d->complain, clock_mono(), 60, 5))
		LOG_WARN(COMP, "event=gateway_done_record_failed partition=%" PRId32 " key=%s err=\"%s\"",
			 part, key, rd_kafka_err2str(e));
	return -VIGIL_EIO;
}

void gwdone_record(void *ctx, int32_t part, uint64_t ident)
{
	struct gwdone *d = ctx;
	char uid[UID_LEN], key[KEY_MAX], val[96], hx[17];
	hash_hex(ident, hx);
	snprintf(val, sizeof val, "{\"ident\":\"%s\",\"at\":%.3f}", hx, clock_wall());
	pthread_mutex_lock(&d->mu);
	snprintf(uid, sizeof uid, "%s-%" PRIu64, d->member, ++d->seq);
	record_key(d, part, uid, key, sizeof key);
	if (produce(d, part, key, val) == 0) {
		d->written++;
		if (remember(d, part, uid) != 0) /* not tombstoned later: compaction keeps it (harmless) */
			LOG_WARN(COMP,
				 "event=gateway_done_untracked partition=%" PRId32 " err=\"out of memory\"",
				 part);
	} else {
		d->lost++;
	}
	pthread_mutex_unlock(&d->mu);
}

/* ---- takeover ---- */

struct found_rec {
	char uid[UID_LEN];
	uint64_t ident;
	double at;
};

struct gwdone_scan {
	struct gwdone *d;
	int32_t part;
	char prefix[KEY_MAX]; /* "vigil.done/<topic>/<P>/" */
	struct found_rec *v;
	size_t n, cap;
	uint64_t bad;
	int nomem;
};

static void scan_drop(struct gwdone_scan *s, const char *uid)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].uid, uid) == 0) {
			s->v[i] = s->v[--s->n];
			return;
		}
}

void gwdone_scan_msg(struct gwdone_scan *s, const void *key, size_t keylen, const void *val, size_t len)
{
	size_t pl = strlen(s->prefix);
	char uid[UID_LEN];

	if (key == NULL || keylen <= pl || keylen - pl >= UID_LEN || memcmp(key, s->prefix, pl) != 0)
		return;
	memcpy(uid, (const char *)key + pl, keylen - pl);
	uid[keylen - pl] = '\0';
	scan_drop(s, uid); /* a newer record or a tombstone replaces it */
	if (val == NULL)
		return;
	json_error_t je;
	json_t *j = json_loadb(val, len, 0, &je);
	const char *hx = json_string_value(json_object_get(j, "ident"));
	json_t *at = json_object_get(j, "at");
	if (hx == NULL || !json_is_number(at)) {
		s->bad++;
		json_decref(j);
		return;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct found_rec *v = realloc(s->v, cap * sizeof *v);
		if (v == NULL) {
			s->nomem = 1;
			json_decref(j);
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	struct found_rec *r = &s->v[s->n++];
	snprintf(r->uid, sizeof r->uid, "%s", uid);
	r->ident = strtoull(hx, NULL, 16);
	r->at = json_number_value(at);
	json_decref(j);
}

static void scan_msg(void *ctx, const rd_kafka_message_t *m)
{
	gwdone_scan_msg(ctx, m->key, m->key_len, m->payload, m->len);
}

struct gwdone_scan *gwdone_scan_new(struct gwdone *d, int32_t part)
{
	struct gwdone_scan *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->d = d;
	s->part = part;
	snprintf(s->prefix, sizeof s->prefix, KEY_SPACE "%s/%" PRId32 "/", d->alerts_topic, part);
	return s;
}

size_t gwdone_scan_end(struct gwdone_scan *s)
{
	struct gwdone *d = s->d;
	int32_t part = s->part;
	size_t loaded = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct found_rec *r = &s->v[i];
		/* Every live record counts, also one written before the snapshot:
		 * a send that finished between the snapshot's export and its
		 * write is listed as pending in it, yet its record precedes it on
		 * the partition. The records a durable snapshot covered are
		 * tombstoned (gwdone_retire); one left live by a kill before its
		 * tombstone names a notification that was delivered, so using it
		 * is right too (unused ones are dropped on catch-up). */
		/* not under mu: the recorder takes mu inside the set's lock */
		if (r->ident == 0 ||
		    outbox_done_set_add(d->set, part, r->ident, r->uid, r->at + GWDONE_TTL) != 0)
			continue;
		pthread_mutex_lock(&d->mu);
		remember(d, part, r->uid); /* tombstoned once this member's snapshot covers it */
		pthread_mutex_unlock(&d->mu);
		loaded++;
	}
	if (s->bad || s->nomem)
		LOG_WARN(COMP, "event=gateway_done_bad_records partition=%" PRId32 " bad=%" PRIu64 "%s", part,
			 s->bad, s->nomem ? " err=\"out of memory: some records skipped\"" : "");
	free(s->v);
	free(s);
	return loaded;
}

int gwdone_restore(struct gwdone *d, rd_kafka_t *reader, int32_t part, int timeout_ms, size_t *loaded)
{
	int truncated = 0;
	*loaded = 0;
	if (d == NULL || reader == NULL)
		return 0;
	struct gwdone_scan *s = gwdone_scan_new(d, part);
	if (s == NULL)
		return -VIGIL_ENOMEM;
	int rc = kafka_scan_partition(reader, d->state_topic, part % d->nstate, -1, timeout_ms, NULL,
				      scan_msg, s, &truncated);
	if (rc != 0) {
		LOG_ERR(COMP,
			"event=gateway_done_read_failed partition=%" PRId32
			" err=\"%s\": what the previous owner delivered after its snapshot may be delivered "
			"again",
			part, vigil_strerror(rc));
		free(s->v);
		free(s);
		return rc;
	}
	*loaded = gwdone_scan_end(s);
	return 0;
}

/* ---- retiring ---- */

size_t gwdone_mark(struct gwdone *d, int32_t part)
{
	if (d == NULL)
		return 0;
	pthread_mutex_lock(&d->mu);
	struct dpart *p = NULL;
	for (size_t i = 0; i < d->nparts && !p; i++)
		if (d->parts[i].part == part)
			p = &d->parts[i];
	size_t n = p ? p->n : 0;
	pthread_mutex_unlock(&d->mu);
	return n;
}

void gwdone_retire(struct gwdone *d, int32_t part, size_t n)
{
	char key[KEY_MAX];
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->nparts; i++) {
		struct dpart *p = &d->parts[i];
		if (p->part != part)
			continue;
		if (n > p->n)
			n = p->n;
		for (size_t k = 0; k < n; k++) {
			record_key(d, part, p->uid[k], key, sizeof key);
			produce(d, part, key, NULL); /* a lost tombstone only delays compaction */
		}
		memmove(p->uid, p->uid + n, (p->n - n) * sizeof *p->uid);
		p->n -= n;
		break;
	}
	pthread_mutex_unlock(&d->mu);
}

void gwdone_forget(struct gwdone *d, int32_t part)
{
	if (d == NULL)
		return;
	outbox_done_set_clear(d->set, part);
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].part == part) {
			free(d->parts[i].uid);
			d->parts[i] = d->parts[--d->nparts];
			break;
		}
	pthread_mutex_unlock(&d->mu);
}

/* ---- in the partition's snapshot ---- */

struct export_ctx {
	json_t *arr;
	int ok;
};

static void export_one(void *ctx, uint64_t ident, const char *uid, double expires)
{
	struct export_ctx *x = ctx;
	char h[17];
	hash_hex(ident, h);
	json_t *o = json_pack("{s:s, s:s, s:f}", "ident", h, "uid", uid, "expires", expires);
	if (o == NULL || json_array_append_new(x->arr, o) != 0)
		x->ok = 0;
}

int gwdone_export(struct gwdone *d, int32_t part, json_t *snap)
{
	struct export_ctx x = {json_array(), 1};
	if (x.arr == NULL)
		return -VIGIL_ENOMEM;
	outbox_done_set_export(d->set, part, export_one, &x);
	if (!x.ok) {
		json_decref(x.arr);
		return -VIGIL_ENOMEM;
	}
	/* set_new takes the array, also when it fails */
	return json_object_set_new(snap, "done", x.arr) == 0 ? 0 : -VIGIL_ENOMEM;
}

int gwdone_import(struct gwdone *d, int32_t part, json_t *snap)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(snap, "done"), i, o)
	{
		const char *hx = json_string_value(json_object_get(o, "ident"));
		const char *uid = json_string_value(json_object_get(o, "uid"));
		json_t *ex = json_object_get(o, "expires");
		uint64_t ident = hx ? strtoull(hx, NULL, 16) : 0;
		if (ident && uid && json_is_number(ex) &&
		    outbox_done_set_add(d->set, part, ident, uid, json_number_value(ex)) != 0)
			return -VIGIL_ENOMEM;
	}
	return 0;
}

size_t gwdone_drop_unused(struct gwdone *d, int32_t part)
{
	return d ? outbox_done_set_clear(d->set, part) : 0;
}

void gwdone_counts(struct gwdone *d, uint64_t *written, uint64_t *lost)
{
	pthread_mutex_lock(&d->mu);
	*written = d->written;
	*lost = d->lost;
	pthread_mutex_unlock(&d->mu);
}
