/* Strict YAML reading helpers. See core/yaml.h. */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/hash.h"
#include "core/htab.h"
#include "core/params.h"

/* ---- errors and positions ---- */

__attribute__((format(printf, 4, 0))) static void vfail_at(struct vy_ctx *y, size_t line, size_t col,
							   const char *fmt, va_list ap)
{
	int n = snprintf(y->err, y->errlen, "%s:%zu:%zu: ", y->path, line + 1, col + 1);

	if (n >= 0 && (size_t)n < y->errlen)
		vsnprintf(y->err + n, y->errlen - (size_t)n, fmt, ap);
}

int vy_fail(struct vy_ctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (n != NULL) {
		vfail_at(y, n->start_mark.line, n->start_mark.column, fmt, ap);
	} else {
		int k = snprintf(y->err, y->errlen, "%s: ", y->path);
		if (k >= 0 && (size_t)k < y->errlen)
			vsnprintf(y->err + k, y->errlen - (size_t)k, fmt, ap);
	}
	va_end(ap);
	return -VIGIL_EINVAL;
}

int vy_fail_mark(struct vy_ctx *y, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(y, m->line, m->column, fmt, ap);
	va_end(ap);
	return -VIGIL_EINVAL;
}

void vy_append(struct vy_ctx *y, const char *fmt, ...)
{
	size_t len = strnlen(y->err, y->errlen);
	va_list ap;

	if (len + 1 >= y->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(y->err + len, y->errlen - len, fmt, ap);
	va_end(ap);
}

int vy_nomem(struct vy_ctx *y)
{
	snprintf(y->err, y->errlen, "%s: out of memory", y->path ? y->path : "yaml");
	return -VIGIL_ENOMEM;
}

char *vy_where(const struct vy_ctx *y, const yaml_node_t *n)
{
	char *s = NULL;

	if (asprintf(&s, "%s:%zu:%zu", y->path, n->start_mark.line + 1, n->start_mark.column + 1) < 0)
		return NULL;
	return s;
}

const char *vy_kind_name(const yaml_node_t *n)
{
	switch (n ? n->type : YAML_NO_NODE) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a map";
	case YAML_NO_NODE: break;
	}
	return "nothing";
}

int vy_expect(struct vy_ctx *y, const yaml_node_t *n, yaml_node_type_t want, const char *what)
{
	const char *w = want == YAML_SCALAR_NODE     ? "a scalar"
			: want == YAML_SEQUENCE_NODE ? "a list"
						     : "a map";

	if (n != NULL && n->type == want)
		return 0;
	return vy_fail(y, n, "%s must be %s, not %s", what, w, vy_kind_name(n));
}

/* ---- scalars ---- */

int vy_text(struct vy_ctx *y, const yaml_node_t *n, const char *what, const char **out)
{
	int rc = vy_expect(y, n, YAML_SCALAR_NODE, what);

	if (rc != 0)
		return rc;
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length) != NULL)
		return vy_fail(y, n, "%s contains a NUL byte", what);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

int vy_dup(struct vy_ctx *y, const yaml_node_t *n, const char *what, int nonempty, char **out)
{
	const char *s;
	char *d;
	int rc = vy_text(y, n, what, &s);

	if (rc != 0)
		return rc;
	if (nonempty && *s == '\0')
		return vy_fail(y, n, "%s must not be empty", what);
	if ((d = strdup(s)) == NULL)
		return vy_nomem(y);
	*out = d;
	return 0;
}

void vy_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int vy_strlist(struct vy_ctx *y, const yaml_node_t *n, const char *what, char ***out, size_t *nout)
{
	size_t cnt, got = 0;
	char **v;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (n == NULL || (n->type != YAML_SCALAR_NODE && n->type != YAML_SEQUENCE_NODE))
		return vy_fail(y, n, "%s must be a string or a list of strings, not %s", what,
			       vy_kind_name(n));
	cnt = n->type == YAML_SCALAR_NODE ? 1 : vy_len(n);
	if (cnt == 0)
		return vy_fail(y, n, "%s must not be empty", what);
	if ((v = calloc(cnt, sizeof *v)) == NULL)
		return vy_nomem(y);
	for (size_t i = 0; rc == 0 && i < cnt; i++) {
		const yaml_node_t *e = n->type == YAML_SCALAR_NODE ? n : vy_item(y, n, i);
		if ((rc = vy_dup(y, e, what, 0, &v[got])) == 0)
			got++;
	}
	if (rc != 0) {
		vy_strv_free(v, got);
		return rc;
	}
	*out = v;
	*nout = got;
	return 0;
}

/* ---- numbers ---- */

int vy_parse_uint(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -VIGIL_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -VIGIL_EINVAL;
	*out = v;
	return 0;
}

int vy_parse_number(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return -VIGIL_EINVAL;
	*out = v;
	return 0;
}

int vy_number(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, double *out)
{
	const char *s;
	double v;
	int rc = vy_text(y, n, what, &s);

	if (rc != 0)
		return rc;
	if (vy_parse_number(s, &v) != 0)
		return vy_fail(y, n, "%s: '%s' is not a number", what, s);
	if (!(v >= lo && v <= hi))
		return vy_fail(y, n, "%s: '%s' is outside [%.15g, %.15g]", what, s, lo, hi);
	*out = v;
	return 0;
}

int vy_integer(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, long long *out)
{
	const char *s;
	double v;
	int rc = vy_text(y, n, what, &s);

	if (rc != 0)
		return rc;
	if (vy_parse_number(s, &v) != 0 || fabs(v - floor(v)) > 0)
		return vy_fail(y, n, "%s: '%s' is not an integer", what, s);
	if (!(v >= lo && v <= hi) || fabs(v) > 9007199254740992.0)
		return vy_fail(y, n, "%s: '%s' is outside [%.15g, %.15g]", what, s, lo, hi);
	*out = (long long)v;
	return 0;
}

int vy_duration(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, double *out)
{
	const char *s;
	double v;
	int rc = vy_text(y, n, what, &s);

	if (rc != 0)
		return rc;
	if (params_parse_duration(s, &v) != 0 || !isfinite(v) || v < 0)
		return vy_fail(y, n, "%s: '%s' is not a duration (like 90s, 5m, 2h, 1d)", what, s);
	if (!(v >= lo && v <= hi))
		return vy_fail(y, n, "%s: '%s' is outside [%.15g, %.15g] seconds", what, s, lo, hi);
	*out = v;
	return 0;
}

int vy_size(struct vy_ctx *y, const yaml_node_t *n, const char *what, double lo, double hi, double *out)
{
	const char *s;
	double v;
	int rc = vy_text(y, n, what, &s);

	if (rc != 0)
		return rc;
	if (params_parse_size(s, &v) != 0)
		return vy_fail(y, n, "%s: '%s' is not a size (like 512MiB, 8GB)", what, s);
	if (!(v >= lo && v <= hi))
		return vy_fail(y, n, "%s: '%s' is outside [%.15g, %.15g] bytes", what, s, lo, hi);
	*out = v;
	return 0;
}

/* ---- lists and maps ---- */

size_t vy_len(const yaml_node_t *n)
{
	if (n == NULL)
		return 0;
	if (n->type == YAML_SEQUENCE_NODE)
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (n->type == YAML_MAPPING_NODE)
		return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	return 0;
}

yaml_node_t *vy_item(const struct vy_ctx *y, const yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(y->doc, seq->data.sequence.items.start[i]);
}

struct vy_pair vy_pair_at(const struct vy_ctx *y, const yaml_node_t *map, size_t i)
{
	const yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
	struct vy_pair r;

	r.key = yaml_document_get_node(y->doc, p->key);
	r.value = yaml_document_get_node(y->doc, p->value);
	r.text = r.key && r.key->type == YAML_SCALAR_NODE ? (const char *)r.key->data.scalar.value : "";
	return r;
}

/* Edit distance (insert, delete, substitute, swap of neighbours) between
 * short strings; longer ones count as far apart. */
static size_t edit_distance(const char *a, const char *b)
{
	enum { MAXL = 32 };
	size_t la = strlen(a), lb = strlen(b), d[MAXL + 1][MAXL + 1];

	if (la > MAXL || lb > MAXL)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *vy_closest(const char *const *keys, const char *s)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX;

	for (size_t i = 0; keys[i]; i++) {
		size_t dist = edit_distance(keys[i], s);
		if (dist < bd) {
			bd = dist;
			best = keys[i];
		}
	}
	return best != NULL && bd <= 2 && 2 * bd < strlen(best) ? best : NULL;
}

static int fail_duplicate(struct vy_ctx *y, const yaml_node_t *again, const char *key, const char *what,
			  const yaml_node_t *first)
{
	return vy_fail(y, again, "duplicate key '%s' in %s (first at %s:%zu:%zu)", key, what, y->path,
		       first->start_mark.line + 1, first->start_mark.column + 1);
}

int vy_map_fields(struct vy_ctx *y, const yaml_node_t *map, const char *what, const char *const *keys,
		  yaml_node_t **vals, yaml_node_t **knodes)
{
	size_t nkeys = 0, npairs;
	int rc;

	if ((rc = vy_expect(y, map, YAML_MAPPING_NODE, what)) != 0)
		return rc;
	while (keys[nkeys])
		nkeys++;
	for (size_t i = 0; i < nkeys; i++)
		vals[i] = knodes[i] = NULL;
	npairs = vy_len(map);
	for (size_t p = 0; p < npairs; p++) {
		struct vy_pair pr = vy_pair_at(y, map, p);
		const char *ks;
		size_t i;

		if (pr.key == NULL || pr.value == NULL)
			return vy_fail(y, map, "malformed map in %s", what);
		if ((rc = vy_text(y, pr.key, "a key", &ks)) != 0)
			return rc;
		for (i = 0; i < nkeys && strcmp(keys[i], ks) != 0; i++)
			;
		if (i == nkeys) {
			const char *near = vy_closest(keys, ks);

			if (near != NULL)
				return vy_fail(y, pr.key, "unknown key '%s' in %s (did you mean '%s'?)", ks,
					       what, near);
			rc = vy_fail(y, pr.key, "unknown key '%s' in %s (known:", ks, what);
			for (size_t j = 0; j < nkeys; j++)
				vy_append(y, " %s", keys[j]);
			vy_append(y, ")");
			return rc;
		}
		if (vals[i] != NULL)
			return fail_duplicate(y, pr.key, ks, what, knodes[i]);
		vals[i] = pr.value;
		knodes[i] = pr.key;
	}
	return 0;
}

/* Duplicate detection over a map's key texts: ids are pair indexes. */
struct keyset {
	const char **text;
};

static uint64_t key_hash(const char *s)
{
	return hash_mix(hash_str(HASH_SEED, s));
}

static uint64_t keyset_hash(const void *ctx, uint32_t id)
{
	return key_hash(((const struct keyset *)ctx)->text[id]);
}

static int keyset_eq(const void *ctx, uint32_t id, const void *key)
{
	return strcmp(((const struct keyset *)ctx)->text[id], key) == 0;
}

int vy_map_check(struct vy_ctx *y, const yaml_node_t *map, const char *what)
{
	struct keyset ks = {NULL};
	struct htab seen;
	size_t n;
	int rc;

	if ((rc = vy_expect(y, map, YAML_MAPPING_NODE, what)) != 0)
		return rc;
	n = vy_len(map);
	if (n >= UINT32_MAX - 2)
		return vy_fail(y, map, "%s has too many keys", what);
	if (n == 0)
		return 0;
	if ((ks.text = calloc(n, sizeof *ks.text)) == NULL)
		return vy_nomem(y);
	htab_init(&seen);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct vy_pair pr = vy_pair_at(y, map, i);
		uint64_t h;
		uint32_t first;

		if (pr.key == NULL || pr.value == NULL) {
			rc = vy_fail(y, map, "malformed map in %s", what);
			break;
		}
		if ((rc = vy_text(y, pr.key, "a key", &ks.text[i])) != 0)
			break;
		h = key_hash(ks.text[i]);
		first = htab_find(&seen, h, keyset_eq, keyset_hash, &ks, ks.text[i]);
		if (first != HTAB_NONE)
			rc = fail_duplicate(y, pr.key, ks.text[i], what, vy_pair_at(y, map, first).key);
		else if (htab_insert(&seen, h, (uint32_t)i, keyset_hash, &ks) != 0)
			rc = vy_nomem(y);
	}
	htab_fini(&seen);
	free(ks.text);
	return rc;
}

void vy_kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free((void *)kv[i].key);
		free((void *)kv[i].value);
		free((void *)kv[i].where);
	}
	free(kv);
}

int vy_kv_map(struct vy_ctx *y, const yaml_node_t *map, const char *what, const char *skip, struct kv **out,
	      size_t *nout)
{
	size_t cnt, n = 0;
	struct kv *kv;
	int rc;

	if ((rc = vy_map_check(y, map, what)) != 0)
		return rc;
	cnt = vy_len(map);
	if ((kv = calloc(cnt ? cnt : 1, sizeof *kv)) == NULL)
		return vy_nomem(y);
	for (size_t i = 0; i < cnt; i++) {
		struct vy_pair pr = vy_pair_at(y, map, i);
		const char *vs;

		if (*pr.text == '\0') {
			rc = vy_fail(y, pr.key, "empty key in %s", what);
			goto fail;
		}
		if (skip && strcmp(pr.text, skip) == 0)
			continue;
		if (pr.value->type != YAML_SCALAR_NODE) {
			rc = vy_fail(y, pr.value, "%s: value of '%s' must be a scalar, not %s", what, pr.text,
				     vy_kind_name(pr.value));
			goto fail;
		}
		if ((rc = vy_text(y, pr.value, "a value", &vs)) != 0)
			goto fail;
		kv[n].key = strdup(pr.text);
		kv[n].value = strdup(vs);
		kv[n].where = vy_where(y, pr.key);
		n++;
		if (!kv[n - 1].key || !kv[n - 1].value || !kv[n - 1].where) {
			rc = vy_nomem(y);
			goto fail;
		}
	}
	*out = kv;
	*nout = n;
	return 0;
fail:
	vy_kv_free(kv, n);
	return rc;
}

/* ---- files ---- */

/* A libyaml parser error at its position. The reader reports a byte offset,
 * not a mark: count lines up to it in the text (column in bytes). */
static int parse_fail(struct vy_ctx *y, const yaml_parser_t *p, const char *text, size_t len)
{
	const char *problem = p->problem ? p->problem : "syntax error";

	if (p->error == YAML_MEMORY_ERROR)
		return vy_nomem(y);
	if (p->error == YAML_READER_ERROR) {
		yaml_mark_t m = {0, 0, 0};

		for (size_t off = 0; off < p->problem_offset && off < len; off++) {
			if (text[off] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
		return vy_fail_mark(y, &m, "YAML error: %s (byte %zu)", problem, p->problem_offset);
	}
	if (p->context)
		return vy_fail_mark(y, &p->problem_mark, "YAML error: %s %s (line %zu)", problem, p->context,
				    p->context_mark.line + 1);
	return vy_fail_mark(y, &p->problem_mark, "YAML error: %s", problem);
}

/* The whole file into a malloc'd buffer (*text, *len). 0 or -VIGIL_EIO /
 * -VIGIL_ENOMEM with the message written. */
static int read_all(struct vy_ctx *y, FILE *fp, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);

	if (b == NULL)
		return vy_nomem(y);
	for (;;) {
		if (n == cap) {
			char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
			if (nb == NULL) {
				free(b);
				return vy_nomem(y);
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(y->err, y->errlen, "%s: read error: %s", y->path, strerror(errno));
		free(b);
		return -VIGIL_EIO;
	}
	*text = b;
	*len = n;
	return 0;
}

/* First pass over the events, before the document is built: nesting deeper
 * than VY_MAX_DEPTH is refused at the node that goes too deep. libyaml's
 * scanner takes time in the square of the flow nesting depth (100,000
 * levels of '[' took over a minute), and stopping here bounds that to the
 * limit. Parser errors are left to the second pass (same text, same
 * message). */
static int check_depth(struct vy_ctx *y, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = 0, end = 0;

	if (!yaml_parser_initialize(&p))
		return vy_nomem(y);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!end && rc == 0) {
		if (!yaml_parser_parse(&p, &ev))
			break; /* reported by the load */
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > VY_MAX_DEPTH)
				rc = vy_fail_mark(y, &ev.start_mark, "nested more than %d levels deep",
						  VY_MAX_DEPTH);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: depth--; break;
		case YAML_STREAM_END_EVENT: end = 1; break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* Second check, on the built document: an alias is a reference to the
 * anchored node, so a document is a graph. Every reader here walks it as a
 * tree, so refuse what would make that walk unbounded: an alias to a node
 * that contains it (a cycle), nesting deeper than VY_MAX_DEPTH through
 * aliases, and aliases that expand the tree to more than VY_MAX_EXPANDED
 * nodes beyond those in the file (the "billion laughs": 9 anchors of 9
 * aliases each are 28 nodes that expand to 10^9). One iterative depth-first
 * pass, each node's expanded size and height computed once. */
struct shape {
	unsigned char state; /* 0 not seen, 1 on the path, 2 done */
	int height;          /* levels from this node down, itself included */
	uint64_t size;       /* nodes of its expansion, saturating */
};

struct frame {
	int node;    /* 1-based node index */
	size_t next; /* next child to visit (maps: 2 per pair) */
};

/* The child at position i of node n (0 when there is none). */
static int child_at(const yaml_node_t *n, size_t i)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return i < (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
			       ? n->data.sequence.items.start[i]
			       : 0;
	if (n->type == YAML_MAPPING_NODE) {
		size_t np = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
		if (i / 2 >= np)
			return 0;
		return i % 2 ? n->data.mapping.pairs.start[i / 2].value
			     : n->data.mapping.pairs.start[i / 2].key;
	}
	return 0;
}

static int check_graph(struct vy_ctx *y, yaml_document_t *doc)
{
	size_t nnodes = (size_t)(doc->nodes.top - doc->nodes.start);
	uint64_t limit = (uint64_t)nnodes + VY_MAX_EXPANDED;
	struct frame stack[VY_MAX_DEPTH + 1];
	struct shape *sh;
	int top = 0, rc = 0;

	if (nnodes == 0)
		return 0;
	if ((sh = calloc(nnodes + 1, sizeof *sh)) == NULL)
		return vy_nomem(y);
	stack[0].node = 1; /* the root */
	stack[0].next = 0;
	sh[1].state = 1;
	while (top >= 0 && rc == 0) {
		struct frame *f = &stack[top];
		yaml_node_t *n = yaml_document_get_node(doc, f->node);
		int c = child_at(n, f->next);

		if (c == 0) { /* all children seen: fold them in */
			uint64_t size = 1;
			int h = 0;
			for (size_t i = 0; (c = child_at(n, i)) != 0; i++) {
				size = size + sh[c].size < size ? UINT64_MAX : size + sh[c].size;
				if (sh[c].height > h)
					h = sh[c].height;
			}
			sh[f->node].size = size;
			sh[f->node].height = h + 1;
			sh[f->node].state = 2;
			if (size > limit)
				rc = vy_fail(y, n,
					     "aliases expand this node to more than %llu nodes (the file has "
					     "%zu); is it an alias bomb?",
					     (unsigned long long)limit, nnodes);
			else if (top + h + 1 > VY_MAX_DEPTH)
				rc = vy_fail(y, n, "nested more than %d levels deep through aliases",
					     VY_MAX_DEPTH);
			top--;
			continue;
		}
		f->next++;
		if (c < 1 || (size_t)c > nnodes) {
			rc = vy_fail(y, n, "malformed document");
		} else if (sh[c].state == 1) {
			yaml_node_t *a = yaml_document_get_node(doc, c);
			rc = vy_fail(
				y, n,
				"an alias here refers to a node that contains it (anchored at %s:%zu:%zu)",
				y->path, a->start_mark.line + 1, a->start_mark.column + 1);
		} else if (sh[c].state == 0) {
			if (top + 2 > VY_MAX_DEPTH) { /* the child's level */
				rc = vy_fail(y, yaml_document_get_node(doc, c),
					     "nested more than %d levels deep", VY_MAX_DEPTH);
				break;
			}
			sh[c].state = 1;
			stack[++top] = (struct frame){c, 0};
		}
	}
	free(sh);
	return rc;
}

int vy_load(struct vy_ctx *y, const char *path, struct vy_file *f)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int rc = 0;

	memset(f, 0, sizeof *f);
	y->path = path;
	y->doc = &f->doc;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(y->err, y->errlen, "%s: cannot open: %s", path, strerror(errno));
		return -VIGIL_EIO;
	}
	if (fstat(fileno(fp), &st) != 0) {
		snprintf(y->err, y->errlen, "%s: cannot open: %s", path, strerror(errno));
		fclose(fp);
		return -VIGIL_EIO;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	rc = read_all(y, fp, &text, &len);
	fclose(fp);
	if (rc != 0)
		return rc;
	if ((rc = check_depth(y, text, len)) != 0) {
		free(text);
		return rc;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		return vy_nomem(y);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &f->doc)) {
		rc = parse_fail(y, &parser, text, len);
		goto out;
	}
	f->loaded = 1;
	f->root = yaml_document_get_root_node(&f->doc);
	if (f->root == NULL)
		goto out;
	/* One document per file: a second one would be silently ignored. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = parse_fail(y, &parser, text, len);
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL)
		rc = vy_fail(y, yaml_document_get_root_node(&extra), "only one YAML document per file");
	yaml_document_delete(&extra);
	if (rc == 0)
		rc = check_graph(y, &f->doc);
out:
	yaml_parser_delete(&parser);
	free(text);
	if (rc != 0)
		vy_unload(f);
	return rc;
}

void vy_unload(struct vy_file *f)
{
	if (f->loaded)
		yaml_document_delete(&f->doc);
	f->loaded = 0;
	f->root = NULL;
}
