/* 64-bit hashing for series keys, fingerprints and episode ids.
 * Stable across runs and machines (part of alert identity): never change it. */
#ifndef CORE_HASH_H
#define CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 over n bytes, continuing from seed (use HASH_SEED to start). */
#define HASH_SEED 0xcbf29ce484222325ULL
uint64_t hash_bytes(uint64_t seed, const void *p, size_t n);
uint64_t hash_str(uint64_t seed, const char *s); /* includes a 0 separator after s */
/* Final avalanche (splitmix64), for table indexing and short ids. */
uint64_t hash_mix(uint64_t h);
/* 16 lowercase hex digits + NUL into out[17]. */
void hash_hex(uint64_t h, char out[17]);

#endif
