/* One hash index for vigil: open addressing with linear probing over 32-bit
 * ids of items the caller stores elsewhere (an array, a pool, a ring). The
 * table keeps no keys: the caller supplies the hash of a lookup and, through
 * callbacks, the hash of a stored id (for growth and deletion) and an
 * equality test (for lookups), so one index serves the series table, the
 * gateway's episodes and the Kafka member's alert sets at 4 bytes a slot.
 *
 * Load factor <= 3/4; the capacity is a power of two; deletion shifts later
 * entries back (no tombstones). Ids are 0 .. UINT32_MAX - 2.
 * Ownership: the index owns its slot array only (htab_fini frees it).
 * @thread not synchronised; one owner at a time. */
#ifndef CORE_HTAB_H
#define CORE_HTAB_H

#include <stddef.h>
#include <stdint.h>

#define HTAB_NONE UINT32_MAX

struct htab {
	uint32_t *slots; /* id + 1; 0 = empty */
	size_t cap, n;
};

/* The hash of stored item id (must equal the hash it was inserted with). */
typedef uint64_t (*htab_hash_fn)(const void *ctx, uint32_t id);
/* 1 if stored item id is the key being looked up. */
typedef int (*htab_eq_fn)(const void *ctx, uint32_t id, const void *key);

void htab_init(struct htab *t);
void htab_fini(struct htab *t);
/* Forget every entry, keep the slot array. */
void htab_reset(struct htab *t);

/* The id whose item equals key (eq), searching from hash; HTAB_NONE if
 * absent. eq may be NULL: then the first id with that home chain whose
 * stored hash (hfn) equals hash is returned. */
static inline uint32_t htab_find(const struct htab *t, uint64_t hash, htab_eq_fn eq, htab_hash_fn hfn,
				 const void *ctx, const void *key)
{
	if (t->cap == 0)
		return HTAB_NONE;
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];
		if (s == 0)
			return HTAB_NONE;
		if (eq ? eq(ctx, s - 1, key) : hfn(ctx, s - 1) == hash)
			return s - 1;
	}
}

/* Add id under hash (no duplicate check: find first). Grows the slot array
 * as needed, rehashing with hfn. Returns 0 or -1 on allocation failure or a
 * full id space (the index is unchanged then). */
int htab_insert(struct htab *t, uint64_t hash, uint32_t id, htab_hash_fn hfn, const void *ctx);

/* Remove id (stored under hash). Returns 0, or -1 if it was not there. */
int htab_remove(struct htab *t, uint64_t hash, uint32_t id, htab_hash_fn hfn, const void *ctx);

/* Bytes held by the slot array. */
size_t htab_bytes(const struct htab *t);

/* A set of 64-bit values (e.g. hashes of alert ids) on the same index: the
 * values live in a growing array. Plain data: may be moved by assignment
 * (then the source must not be used again). */
struct hset {
	struct htab index;
	uint64_t *vals;
	size_t n, cap;
};

void hset_init(struct hset *s);
/* 1 if v is in s. */
int hset_has(const struct hset *s, uint64_t v);
/* Add v (no-op when present). 0, or -1 on allocation failure. */
int hset_add(struct hset *s, uint64_t v);
/* Free everything; s is empty and usable afterwards. */
void hset_clear(struct hset *s);

#endif
