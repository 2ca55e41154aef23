/* One set of helpers for reading strict YAML files with libyaml's document
 * API: the rules/owners loader (rules/) and the process config loader
 * (core/config.c) both use it.
 *
 * Errors. Every function that can fail returns 0 or -VIGIL_E* and, on
 * failure, has written one message into the context's err buffer (truncated
 * to errlen). A message about a node is "file:line:column: message" (1-based,
 * libyaml's start mark of the node); one without a position is
 * "file: message". Nothing the caller passed in is changed on failure unless
 * the function says otherwise.
 *
 * Strictness. Keys are scalars without NUL bytes; a key may appear once per
 * map (a repeat is an error at the repeat naming the first position); scalar
 * text may not hold NUL bytes (YAML "\0" escapes would silently truncate it);
 * a wrong node kind is an error naming the expected and the found kind;
 * numbers are range-checked before any conversion.
 *
 * Ownership. Strings returned through `const char **` are borrowed from the
 * document and live until vy_unload(); `char **` / `struct kv **` results
 * are malloc'd and owned by the caller (free, vy_strv_free, vy_kv_free).
 *
 * @thread any: no global state. One context and its document belong to one
 * thread at a time. */
#ifndef CORE_YAML_H
#define CORE_YAML_H

#include <stddef.h>
#include <sys/types.h>
#include <yaml.h>

#include "core/vigil.h"

/* Where a helper reads and reports. path, doc and err are borrowed: path
 * must outlive every use of the context (it is copied into where-strings,
 * never kept), err must hold errlen >= 1 bytes. */
struct vy_ctx {
	const char *path;     /* the file name used in messages and where-strings */
	yaml_document_t *doc; /* the document the nodes belong to (vy_load sets it) */
	char *err;
	size_t errlen;
};

/* ---- errors and positions ---- */

/* Write "path:line:col: <fmt>" for node n ("path: <fmt>" when n is NULL)
 * into y->err. Returns -VIGIL_EINVAL, for `return vy_fail(...)`. */
int vy_fail(struct vy_ctx *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same at a libyaml mark (e.g. a parser's problem_mark). */
int vy_fail_mark(struct vy_ctx *y, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append to the message already in y->err (for lists like " (known: a b)"). */
void vy_append(struct vy_ctx *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "path: out of memory" (path "yaml" when unset). Returns -VIGIL_ENOMEM. */
int vy_nomem(struct vy_ctx *y);

/* "path:line:col" of node n, malloc'd (caller frees); NULL when out of memory. */
char *vy_where(const struct vy_ctx *y, const yaml_node_t *n);

/* "a scalar" | "a list" | "a map" | "nothing". */
const char *vy_kind_name(const yaml_node_t *n);

/* 0 if n has kind want, else "<what> must be <want>, not <kind>". */
int vy_expect(struct vy_ctx *y, const yaml_node_t *n, yaml_node_type_t want, const char *what);

/* ---- scalars ---- */

/* The text of scalar n, borrowed from the document (no NUL bytes inside). */
int vy_text(struct vy_ctx *y, const yaml_node_t *n, const char *what, const char **out);
/* A malloc'd copy of scalar n's text; nonempty: "" is an error
 * "<what> must not be empty". *out is overwritten only on success. */
int vy_dup(struct vy_ctx *y, const yaml_node_t *n, const char *what, int nonempty, char **out);

/* One scalar or a non-empty list of scalars, as a malloc'd string array
 * (free with vy_strv_free). On failure *out = NULL and *nout = 0. */
int vy_strlist(struct vy_ctx *y, const yaml_node_t *n, const char *what, char ***out, size_t *nout);
void vy_strv_free(char **v, size_t n);

/* ---- numbers (text level: no message, 0 or -VIGIL_EINVAL) ---- */

/* Digits only (no sign, no space), fitting in unsigned long long. */
int vy_parse_uint(const char *s, unsigned long long *out);
/* A whole-string strtod() that is finite (no "nan", "inf", overflow). */
int vy_parse_number(const char *s, double *out);

/* ---- numbers (node level, with messages) ---- */

/* A finite number in [lo, hi]: "<what>: '<text>' is not a number" or
 * "<what>: '<text>' is outside [lo, hi]". */
int vy_number(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, double *out);
/* A whole number in [lo, hi] (written as digits or as a number like 1e3);
 * lo and hi within +-2^53. Checked before it is converted, so 1e99 or nan
 * is an error, never an undefined cast. */
int vy_integer(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi,
	       long long *out);
/* A duration (params_parse_duration: 90, 90s, 5m, 2h, 1d, 1w, 250ms) in
 * seconds within [lo, hi]: "<what>: '<text>' is not a duration (like 90s,
 * 5m, 2h, 1d)" or "<what>: '<text>' is outside [lo, hi] seconds". */
int vy_duration(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, double *out);

/* A size in bytes: a number with an optional unit B, KB, MB, GB, TB (powers
 * of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 512MiB, 8GB,
 * 1.5GiB; within [lo, hi] bytes: "<what>: '<text>' is not a size (like 512MiB,
 * 8GB)" or "<what>: '<text>' is outside [lo, hi] bytes". */
int vy_size(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, double *out);

/* ---- lists and maps ---- */

/* Items of a sequence / pairs of a map; 0 for other kinds. */
size_t vy_len(const yaml_node_t *n);
/* Item i (< vy_len) of sequence seq; NULL only for a malformed document. */
yaml_node_t *vy_item(const struct vy_ctx *y, const yaml_node_t *seq, size_t i);

/* A map with a fixed set of keys (keys: NULL-terminated). vals[i] = value
 * node of keys[i] or NULL when absent; knodes[i] = its key node. Both arrays
 * hold as many entries as keys. Errors, in file order: not a map, a key that
 * is not a scalar, an unknown key ("unknown key 'x' in <what> (did you mean
 * 'y'?)" or "... (known: a b c)"), a repeated key ("duplicate key 'x' in
 * <what> (first at file:line:col)"). */
int vy_map_fields(struct vy_ctx *y, const yaml_node_t *map, const char *what, const char *const *keys,
		  yaml_node_t **vals, yaml_node_t **knodes);

/* A map with free-form keys: checks that map is a map, every key a scalar
 * and no key repeated (the error names both positions; linear time). Then
 * vy_pair_at() reads its pairs. */
int vy_map_check(struct vy_ctx *y, const yaml_node_t *map, const char *what);
struct vy_pair {
	yaml_node_t *key;
	const char *text; /* the key's text, borrowed from the document */
	yaml_node_t *value;
};
/* Pair i (< vy_len) of a map that passed vy_map_check. */
struct vy_pair vy_pair_at(const struct vy_ctx *y, const yaml_node_t *map, size_t i);

/* A map of scalars into a malloc'd kv array (free with vy_kv_free): key,
 * value and where (= the key's position) are owned. skip (may be NULL)
 * names one key to leave out. Keys must be non-empty ("empty key in
 * <what>"), values scalars ("<what>: value of 'k' must be a scalar, not a
 * map"). On failure nothing is kept. */
int vy_kv_map(struct vy_ctx *y, const yaml_node_t *map, const char *what, const char *skip, struct kv **out,
	      size_t *nout);
void vy_kv_free(struct kv *kv, size_t n);

/* The entry of keys (NULL-terminated) that s most likely misspells (edit
 * distance <= 2 counting a swap of neighbours as 1, and less than half its
 * length), or NULL. */
const char *vy_closest(const char *const *keys, const char *s);

/* ---- files ---- */

/* A loaded file: one YAML document. */
struct vy_file {
	yaml_document_t doc;
	yaml_node_t *root; /* NULL: the file holds no document (empty, comments only) */
	dev_t dev;         /* identity of the file read, to notice one file given twice */
	ino_t ino;
	int loaded; /* doc must be deleted (vy_unload) */
};

/* Bounds on a document's shape (vy_load): nesting depth, counted through
 * aliases too, and the nodes aliases may add when the document is read as a
 * tree (beyond the nodes in the file). An alias to a node that contains it
 * is refused as well. */
#define VY_MAX_DEPTH    64
#define VY_MAX_EXPANDED 1000000u

/* Read path into f: exactly one YAML document (a second one is an error at
 * its start), within the VY_MAX_* bounds (an error at the node that breaks
 * one: "nested more than 64 levels deep", "aliases expand this node to
 * more than N nodes", "an alias here refers to a node that contains it"). Sets y->path = path and y->doc =
 * &f->doc. Errors: "path: cannot open: <reason>" (-VIGIL_EIO), "path:line:col: YAML error: <problem>"
 * (-VIGIL_EINVAL), out of memory. On failure f needs no vy_unload (calling
 * it is harmless). The whole document is held in memory (config-sized files;
 * libyaml's time grows with the square of flow nesting depth). */
int vy_load(struct vy_ctx *y, const char *path, struct vy_file *f);
/* Free the document; f may be zeroed, failed or loaded. */
void vy_unload(struct vy_file *f);

#endif
