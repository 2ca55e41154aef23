/* The outbox's done set (see outbox.h): records of notifications a previous
 * owner of an alerts partition delivered, and the recorder of deliveries.
 * One mutex; the outboxes call in with their own lock held (lock order:
 * outbox, then set). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "sinks/outbox.h"

struct done_rec {
	int32_t part;
	uint64_t ident;
	double expires; /* wall */
	char uid[48];
};

struct outbox_done_set {
	pthread_mutex_t mu;
	struct done_rec *v; /* unordered; small (what one member delivered between snapshots) */
	size_t n, cap;
	uint64_t skipped;
	void (*rec)(void *ctx, int32_t part, uint64_t ident);
	void *rec_ctx;
};

int outbox_done_set_new(struct outbox_done_set **out)
{
	struct outbox_done_set *s = calloc(1, sizeof *s);
	*out = s;
	if (s == NULL)
		return -VIGIL_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	return 0;
}

void outbox_done_set_free(struct outbox_done_set *set)
{
	if (set == NULL)
		return;
	pthread_mutex_destroy(&set->mu);
	free(set->v);
	free(set);
}

void outbox_done_set_recorder(struct outbox_done_set *set,
			      void (*rec)(void *ctx, int32_t part, uint64_t ident), void *ctx)
{
	pthread_mutex_lock(&set->mu);
	set->rec = rec;
	set->rec_ctx = ctx;
	pthread_mutex_unlock(&set->mu);
}

void outbox_done_set_record(struct outbox_done_set *set, int32_t part, uint64_t ident)
{
	pthread_mutex_lock(&set->mu);
	if (set->rec)
		set->rec(set->rec_ctx, part, ident);
	pthread_mutex_unlock(&set->mu);
}

int outbox_done_set_take(struct outbox_done_set *set, int32_t part, uint64_t ident)
{
	int hit = 0;
	pthread_mutex_lock(&set->mu);
	double now = clock_wall();
	for (size_t i = 0; i < set->n; i++) {
		struct done_rec *k = &set->v[i];
		if (k->part != part || k->ident != ident || k->expires <= now)
			continue;
		set->v[i] = set->v[--set->n];
		set->skipped++;
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&set->mu);
	return hit;
}

int outbox_done_set_add(struct outbox_done_set *set, int32_t part, uint64_t ident, const char *uid,
			double expires)
{
	int rc = 0;
	pthread_mutex_lock(&set->mu);
	double now = clock_wall();
	for (size_t i = 0; i < set->n;) { /* drop the expired; a uid once */
		struct done_rec *k = &set->v[i];
		if (k->expires <= now) {
			*k = set->v[--set->n];
			continue;
		}
		if (k->part == part && strcmp(k->uid, uid) == 0)
			goto out;
		i++;
	}
	if (expires <= now)
		goto out;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct done_rec *v = realloc(set->v, cap * sizeof *v);
		if (v == NULL) {
			rc = -VIGIL_ENOMEM;
			goto out;
		}
		set->v = v;
		set->cap = cap;
	}
	struct done_rec *k = &set->v[set->n++];
	k->part = part;
	k->ident = ident;
	k->expires = expires;
	snprintf(k->uid, sizeof k->uid, "%s", uid);
out:
	pthread_mutex_unlock(&set->mu);
	return rc;
}

size_t outbox_done_set_clear(struct outbox_done_set *set, int32_t part)
{
	size_t n = 0;
	pthread_mutex_lock(&set->mu);
	for (size_t i = 0; i < set->n;)
		if (set->v[i].part == part) {
			set->v[i] = set->v[--set->n];
			n++;
		} else {
			i++;
		}
	pthread_mutex_unlock(&set->mu);
	return n;
}

void outbox_done_set_export(struct outbox_done_set *set, int32_t part,
			    void (*fn)(void *ctx, uint64_t ident, const char *uid, double expires), void *ctx)
{
	pthread_mutex_lock(&set->mu);
	double now = clock_wall();
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].part == part && set->v[i].expires > now)
			fn(ctx, set->v[i].ident, set->v[i].uid, set->v[i].expires);
	pthread_mutex_unlock(&set->mu);
}

uint64_t outbox_done_set_skipped(struct outbox_done_set *set)
{
	pthread_mutex_lock(&set->mu);
	uint64_t n = set->skipped;
	pthread_mutex_unlock(&set->mu);
	return n;
}
