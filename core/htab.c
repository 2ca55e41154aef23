/* See htab.h. */
#include "core/htab.h"

#include <stdlib.h>
#include <string.h>

#define HTAB_MIN_CAP 64u

void htab_init(struct htab *t)
{
	memset(t, 0, sizeof *t);
}

void htab_fini(struct htab *t)
{
	free(t->slots);
	memset(t, 0, sizeof *t);
}

void htab_reset(struct htab *t)
{
	if (t->slots)
		memset(t->slots, 0, t->cap * sizeof *t->slots);
	t->n = 0;
}

static void place(uint32_t *slots, size_t cap, uint64_t hash, uint32_t slot)
{
	size_t i = (size_t)hash & (cap - 1);
	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = slot;
}

static int grow(struct htab *t, htab_hash_fn hfn, const void *ctx)
{
	size_t cap = t->cap ? t->cap * 2 : HTAB_MIN_CAP;
	uint32_t *slots = calloc(cap, sizeof *slots);
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			place(slots, cap, hfn(ctx, t->slots[i] - 1), t->slots[i]);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int htab_insert(struct htab *t, uint64_t hash, uint32_t id, htab_hash_fn hfn, const void *ctx)
{
	if (id >= UINT32_MAX - 1)
		return -1;
	if ((t->n + 1) * 4 > t->cap * 3 && grow(t, hfn, ctx) != 0)
		return -1;
	place(t->slots, t->cap, hash, id + 1);
	t->n++;
	return 0;
}

/* 1 if an entry whose home is h, found at j, may move to the hole at i. */
static int may_fill(size_t i, size_t j, size_t h)
{
	return i <= j ? (h <= i || h > j) : (h <= i && h > j);
}

int htab_remove(struct htab *t, uint64_t hash, uint32_t id, htab_hash_fn hfn, const void *ctx)
{
	if (t->cap == 0)
		return -1;
	size_t mask = t->cap - 1, i = (size_t)hash & mask;
	for (;; i = (i + 1) & mask) {
		if (t->slots[i] == 0)
			return -1;
		if (t->slots[i] == id + 1)
			break;
	}
	t->slots[i] = 0;
	t->n--;
	for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		size_t h = (size_t)hfn(ctx, t->slots[j] - 1) & mask;
		if (may_fill(i, j, h)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = 0;
			i = j;
		}
	}
	return 0;
}

size_t htab_bytes(const struct htab *t)
{
	return t->cap * sizeof *t->slots;
}

void hset_init(struct hset *s)
{
	memset(s, 0, sizeof *s);
}

static uint64_t hset_hash_of(const void *ctx, uint32_t id)
{
	const struct hset *s = ctx;
	return s->vals[id];
}

int hset_has(const struct hset *s, uint64_t v)
{
	return htab_find(&s->index, v, NULL, hset_hash_of, s, NULL) != HTAB_NONE;
}

int hset_add(struct hset *s, uint64_t v)
{
	if (hset_has(s, v))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->vals, cap * sizeof *nv);
		if (nv == NULL)
			return -1;
		s->vals = nv;
		s->cap = cap;
	}
	s->vals[s->n] = v;
	if (htab_insert(&s->index, v, (uint32_t)s->n, hset_hash_of, s) != 0)
		return -1;
	s->n++;
	return 0;
}

void hset_clear(struct hset *s)
{
	htab_fini(&s->index);
	free(s->vals);
	memset(s, 0, sizeof *s);
}
