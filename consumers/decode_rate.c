/* Per-stream state of cumulative series (Prometheus counters, OTLP
 * cumulative sums and histograms): the previous value and time of each
 * series key, for per-second rates. See "Rates of cumulative series" in
 * consumers/decoder.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/hash.h"
#include "core/htab.h"

struct rate_ent {
	uint64_t hash;
	char *key; /* owned; klen bytes */
	size_t klen;
	int has; /* a sample is stored */
	double v, t;
};

struct rate_tab {
	struct htab index; /* ids into ents */
	struct rate_ent *ents;
	size_t n, cap;
	char *kbuf; /* the key being built */
	size_t kcap;
};

int rate_tab_new(struct rate_tab **out)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return -VIGIL_ENOMEM;
	htab_init(&(*out)->index);
	return 0;
}

void rate_tab_free(struct rate_tab *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->ents[i].key);
	free(t->ents);
	free(t->kbuf);
	htab_fini(&t->index);
	free(t);
}

static uint64_t ent_hash(const void *ctx, uint32_t id)
{
	const struct rate_tab *t = ctx;
	return t->ents[id].hash;
}

struct lookup {
	const char *key;
	size_t klen;
};

static int ent_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct rate_tab *t = ctx;
	const struct lookup *l = key;
	return t->ents[id].klen == l->klen && memcmp(t->ents[id].key, l->key, l->klen) == 0;
}

static int put(struct rate_tab *t, size_t *used, const char *s, size_t n)
{
	if (t->kcap < *used + n + 1) {
		size_t ncap = (*used + n + 1) * 2;
		char *nb = realloc(t->kbuf, ncap);
		if (nb == NULL)
			return -VIGIL_ENOMEM;
		t->kbuf = nb;
		t->kcap = ncap;
	}
	memcpy(t->kbuf + *used, s, n);
	t->kbuf[*used + n] = '\0';
	*used += n + 1;
	return 0;
}

static int tag_order(const void *a, const void *b)
{
	const struct tag *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c != 0 ? c : strcmp(x->value, y->value);
}

struct rate_ent *rate_get(struct rate_tab *t, const char *name, const char *suffix, const struct tag *tags,
			  int ntags, int *rc)
{
	struct tag sorted[POINT_MAX_TAGS];
	size_t used = 0;
	int r;

	if (ntags < 0 || ntags > POINT_MAX_TAGS) {
		*rc = -VIGIL_EINVAL;
		return NULL;
	}
	memcpy(sorted, tags, (size_t)ntags * sizeof *tags);
	qsort(sorted, (size_t)ntags, sizeof *sorted, tag_order);
	r = put(t, &used, name, strlen(name));
	if (r == 0)
		r = put(t, &used, suffix != NULL ? suffix : "", suffix != NULL ? strlen(suffix) : 0);
	for (int i = 0; r == 0 && i < ntags; i++) {
		r = put(t, &used, sorted[i].key, strlen(sorted[i].key));
		if (r == 0)
			r = put(t, &used, sorted[i].value, strlen(sorted[i].value));
	}
	if (r != 0) {
		*rc = r;
		return NULL;
	}
	struct lookup l = {t->kbuf, used};
	uint64_t h = hash_mix(hash_bytes(HASH_SEED, t->kbuf, used));
	uint32_t id = htab_find(&t->index, h, ent_eq, ent_hash, t, &l);
	if (id != HTAB_NONE)
		return &t->ents[id];
	if (t->n >= RATE_MAX_SERIES) {
		*rc = -VIGIL_ELIMIT;
		return NULL;
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct rate_ent *ne = realloc(t->ents, ncap * sizeof *ne);
		if (ne == NULL) {
			*rc = -VIGIL_ENOMEM;
			return NULL;
		}
		t->ents = ne;
		t->cap = ncap;
	}
	struct rate_ent *e = &t->ents[t->n];
	memset(e, 0, sizeof *e);
	e->key = malloc(used);
	if (e->key == NULL) {
		*rc = -VIGIL_ENOMEM;
		return NULL;
	}
	memcpy(e->key, t->kbuf, used);
	e->klen = used;
	e->hash = h;
	if (htab_insert(&t->index, h, (uint32_t)t->n, ent_hash, t) != 0) {
		free(e->key);
		*rc = -VIGIL_ENOMEM;
		return NULL;
	}
	t->n++;
	return e;
}

int rate_step(struct rate_ent *e, double v, double ts, double *rate)
{
	int have = 0;

	if (e->has && !(ts > e->t))
		return 0; /* not newer: keep the stored sample */
	if (e->has) {
		double delta = v >= e->v ? v - e->v : v; /* reset: counted again from 0 */
		*rate = delta / (ts - e->t);
		have = isfinite(*rate);
	}
	e->has = 1;
	e->v = v;
	e->t = ts;
	return have;
}

void rate_forget(struct rate_ent *e)
{
	e->has = 0;
}
