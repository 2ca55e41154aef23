/* The series table: open addressing (linear probing) from a 64-bit key hash
 * to a series record; keys are interned in one growable arena. A series key
 * is its name plus its sorted tag set, rendered canonically as
 * `name{k1=v1,k2=v2}` (just `name` without tags; `\`, `,`, `=`, `{`, `}` in
 * names, keys and values are backslash-escaped).
 * @thread one table belongs to one thread. */
#ifndef CORE_SERIES_H
#define CORE_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "core/htab.h"
#include "core/point.h"

struct series {
	uint64_t hash;
	uint32_t key_off; /* into the arena */
	uint32_t key_len;
	double last_ts;  /* ts of the newest point processed (-inf before the first) */
	void *block;     /* per-series rule/detector states; owned by the table user */
	uint32_t nslots; /* rule slots in block (0 = no rule watches this series) */
	uint32_t flags;  /* SERIES_* */
	/* A point more than max_skew ahead of last_ts, held until the series'
	 * next point says whether it was a glitch (refused) or a real jump
	 * (processed before that next point); held_ts is -inf when none. */
	double held_ts, held_val;
};

#define SERIES_NO_MEMORY 1u /* its rule/detector block could not be allocated */

struct series_table {
	struct htab index;    /* series ids (items[id]) by key hash */
	struct series *items; /* items[id] */
	size_t n, items_cap;
	char *arena;
	size_t arena_len, arena_cap;
};

/* Render the canonical key of p into out (NUL-terminated). Sorts a copy of
 * the tags by key. Returns the length, or -1 if it does not fit in outlen. */
int series_key(const struct point *p, char *out, size_t outlen);

void series_table_init(struct series_table *t);
/* Frees the table's own memory; callers free each series' block first. */
void series_table_fini(struct series_table *t);

/* Find a series by key; NULL if absent. */
struct series *series_find(const struct series_table *t, const char *key, size_t len, uint64_t hash);
/* Insert a new series (the caller checked it is absent). Returns NULL on
 * allocation failure with the table unchanged. Pointers returned earlier may
 * move: re-fetch after an insert. */
struct series *series_insert(struct series_table *t, const char *key, size_t len, uint64_t hash);
static inline const char *series_key_str(const struct series_table *t, const struct series *s)
{
	return t->arena + s->key_off;
}
/* Bytes held by the table itself (index, records, arena). */
size_t series_table_bytes(const struct series_table *t);

#endif
