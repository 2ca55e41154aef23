/* The series table, see series.h. */
#include "engine/series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int tag_cmp(const struct tag *x, const struct tag *y)
{
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* Insertion sort: points carry a handful of tags, and this runs per point. */
static void sort_tags(struct tag *t, int n)
{
	for (int i = 1; i < n; i++) {
		struct tag v = t[i];
		int j = i;
		for (; j > 0 && tag_cmp(&t[j - 1], &v) > 0; j--)
			t[j] = t[j - 1];
		t[j] = v;
	}
}

static int put_escaped(char *out, size_t outlen, size_t *at, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == ',' || *s == '=' || *s == '{' || *s == '}') {
			if (*at + 1 >= outlen)
				return -1;
			out[(*at)++] = '\\';
		}
		if (*at + 1 >= outlen)
			return -1;
		out[(*at)++] = *s;
	}
	return 0;
}

int series_key(const struct point *p, char *out, size_t outlen)
{
	struct tag tags[POINT_MAX_TAGS];
	int n = p->ntags < POINT_MAX_TAGS ? p->ntags : POINT_MAX_TAGS;
	size_t at = 0;

	if (outlen == 0 || put_escaped(out, outlen, &at, p->name) != 0)
		return -1;
	if (n > 0) {
		memcpy(tags, p->tags, (size_t)n * sizeof tags[0]);
		sort_tags(tags, n);
		if (at + 1 >= outlen)
			return -1;
		out[at++] = '{';
		for (int i = 0; i < n; i++) {
			if (i) {
				if (at + 1 >= outlen)
					return -1;
				out[at++] = ',';
			}
			if (put_escaped(out, outlen, &at, tags[i].key) != 0 || at + 1 >= outlen)
				return -1;
			out[at++] = '=';
			if (put_escaped(out, outlen, &at, tags[i].value) != 0 || at + 1 >= outlen)
				return -1;
		}
		out[at++] = '}';
	}
	out[at] = '\0';
	return (int)at;
}

void series_table_init(struct series_table *t)
{
	memset(t, 0, sizeof *t);
	htab_init(&t->index);
}

void series_table_fini(struct series_table *t)
{
	htab_fini(&t->index);
	free(t->items);
	free(t->arena);
	memset(t, 0, sizeof *t);
}

struct lookup {
	const char *key;
	size_t len;
	uint64_t hash;
};

static uint64_t item_hash(const void *ctx, uint32_t id)
{
	const struct series_table *t = ctx;
	return t->items[id].hash;
}

static int item_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct series_table *t = ctx;
	const struct lookup *l = key;
	const struct series *s = &t->items[id];
	return s->hash == l->hash && s->key_len == l->len &&
	       memcmp(t->arena + s->key_off, l->key, l->len) == 0;
}

struct series *series_find(const struct series_table *t, const char *key, size_t len, uint64_t hash)
{
	struct lookup l = {key, len, hash};
	uint32_t id = htab_find(&t->index, hash, item_eq, item_hash, t, &l);
	return id == HTAB_NONE ? NULL : &t->items[id];
}

struct series *series_insert(struct series_table *t, const char *key, size_t len, uint64_t hash)
{
	if (t->n >= UINT32_MAX - 2)
		return NULL;
	if (t->n == t->items_cap) {
		size_t cap = t->items_cap ? t->items_cap * 2 : 256;
		struct series *it = realloc(t->items, cap * sizeof *it);
		if (it == NULL)
			return NULL;
		t->items = it;
		t->items_cap = cap;
	}
	if (t->arena_len + len + 1 > t->arena_cap) {
		size_t cap = t->arena_cap ? t->arena_cap : 4096;
		while (cap < t->arena_len + len + 1)
			cap *= 2;
		if (cap > UINT32_MAX)
			return NULL;
		char *a = realloc(t->arena, cap);
		if (a == NULL)
			return NULL;
		t->arena = a;
		t->arena_cap = cap;
	}
	struct series *s = &t->items[t->n];
	memset(s, 0, sizeof *s);
	s->hash = hash;
	s->key_off = (uint32_t)t->arena_len;
	s->key_len = (uint32_t)len;
	s->last_ts = -INFINITY;
	s->held_ts = -INFINITY;
	s->held_val = 0;
	if (htab_insert(&t->index, hash, (uint32_t)t->n, item_hash, t) != 0)
		return NULL;
	memcpy(t->arena + t->arena_len, key, len);
	t->arena[t->arena_len + len] = '\0';
	t->arena_len += len + 1;
	t->n++;
	return s;
}

size_t series_table_bytes(const struct series_table *t)
{
	return htab_bytes(&t->index) + t->items_cap * sizeof *t->items + t->arena_cap;
}
