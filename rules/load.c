/* Loading rules and owners from YAML (libyaml document API), strictly.
 *
 * File format (v1). Every file is one YAML document whose root is a map with
 * `rules:` and/or `owners:` (at least one of them; no other keys). Rule files
 * and owners files share this format: an owners file is simply a file with
 * only `owners:`, and a rules file may carry its own `owners:` section.
 *
 *   rules:
 *     - name: checkout-latency          # required, non-empty, unique across all files
 *       series: "api.latency"           # required: glob over the series name (* ? [..]);
 *                                       #   '*' also matches dots
 *       match:                          # optional tag matchers, all must hold
 *         app: checkout                 #   equality
 *         region: "=~eu-.*"             #   POSIX ERE, anchored (whole value)
 *         zone: "!~test.*"              #   negated ERE
 *         host: "!=db1"                 #   not equal
 *         pod: "api-*"                  #   no operator + any of * ? [ : a glob
 *                                       #   a tag the point lacks reads as ""
 *       detector: des                   # optional, default det_default_name()
 *       params: {alpha: 0.1, noise: 5}  # optional map of scalars, checked by det_new()
 *       threshold: 1.0                  # optional, in (0, 1]; default = the detector's
 *                                       #   default_threshold; anomalous when score >= it
 *       direction: up                   # both (default) | up | down
 *       for: 3                          # optional: "K" (= K of K) or "K of N";
 *                                       #   1 <= K <= N <= 64; default 1 of 1
 *       keep_firing_for: 5m             # optional duration (90, 90s, 5m, 2h, 1d, 1w, 250ms);
 *                                       #   default 0
 *       action: page                    # log | notify (default) | page
 *       owner: payments                 # required: an owner defined in any loaded file
 *       labels: {service: checkout}     # optional map of scalars (strings)
 *       summary: "checkout p99 latency anomaly"                  # optional
 *       runbook_url: "https://runbooks.example/checkout-latency" # optional
 *       peer_group:                     # optional: judge the matched series against their
 *                                       #   peers (detectors/group.h); needs a group detector
 *                                       #   (detector: peerpca), which needs a peer_group
 *         by: [app, metric_tag]         # required list of 1..16 unique tag keys; the series
 *                                       #   with equal values of these tags form one group
 *                                       #   (a missing tag reads as ""); members differ in
 *                                       #   the other tags (e.g. host)
 *         step: 1m                      # required duration > 0: a point belongs to tick
 *                                       #   floor(ts / step)
 *         deadline: 2m                  # optional duration >= 0, default = step, at most
 *                                       #   62 steps: a tick closes when every known member
 *                                       #   reported it (or a later tick), or when a member's
 *                                       #   point arrives with ts >= tick end + deadline
 *         min_members: 3                # optional integer >= 1 (default 3, at most the
 *                                       #   detector's max_members): no opinion at a tick
 *                                       #   with fewer members present
 *
 *   owners:
 *     - name: payments                  # required, non-empty, unique across all files
 *       max_series: 50000               # optional per-owner cardinality limit,
 *                                       #   integer >= 0, 0 = global limit only
 *       destinations:                   # required list, at least one entry
 *         - type: stdout                # required: sink type name
 *         - type: file
 *           path: out/payments.jsonl    # every other key is a setting (scalar)
 *
 * Every scalar is read as text; quoting is optional. Destination settings are
 * kept as strings and validated by the sink types, not here. Lists must be
 * YAML sequences, maps YAML mappings; a key may appear only once per map.
 *
 * Positions ("where" strings and errors) are "file:line:column", 1-based,
 * taken from libyaml's marks: a rule's and an owner's where is the start of
 * its map, a destination's the start of its map, a parameter's, a label's and
 * a destination setting's the position of its key.
 *
 * Paths may be directories: their *.yaml and *.yml entries (not starting with
 * '.') are read in byte order of their names, not recursively; a directory
 * without any is an error. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "detectors/group.h"
#include "rules/rules.h"

/* One rule's owner reference, resolved after every file is read. */
struct owner_ref {
	char *name;
	char *where; /* position of the `owner:` value */
};

struct loader {
	struct ruleset *rs;
	size_t cap_rules, cap_owners;
	struct owner_ref *refs; /* parallel to rs->rules, capacity cap_rules */
	const char *file;       /* file being read */
	char *err;
	size_t errlen;
};

static const char *const top_keys[] = {"rules", "owners", NULL};
enum { TOP_RULES, TOP_OWNERS, TOP_N };

static const char *const rule_keys[] = {"name",      "series",    "match",   "detector",        "params",
					"threshold", "direction", "for",     "keep_firing_for", "action",
					"owner",     "labels",    "summary", "runbook_url",     "peer_group",
					NULL};
enum {
	RK_NAME,
	RK_SERIES,
	RK_MATCH,
	RK_DETECTOR,
	RK_PARAMS,
	RK_THRESHOLD,
	RK_DIRECTION,
	RK_FOR,
	RK_KEEP,
	RK_ACTION,
	RK_OWNER,
	RK_LABELS,
	RK_SUMMARY,
	RK_RUNBOOK,
	RK_PEER,
	RK_N
};

static const char *const peer_keys[] = {"by", "step", "deadline", "min_members", NULL};
enum { PK_BY, PK_STEP, PK_DEADLINE, PK_MIN, PK_N };

#define PEER_MAX_BY             16 /* tag keys in peer_group.by */
#define PEER_MAX_DEADLINE_STEPS 62 /* deadline / step: bounds the ticks a group keeps open */
#define PEER_DEFAULT_MIN        3

static const char *const owner_keys[] = {"name", "max_series", "destinations", NULL};
enum { OK_NAME, OK_MAX_SERIES, OK_DESTS, OK_N };

const char *rule_action_name(enum rule_action a)
{
	switch (a) {
	case ACTION_LOG: return "log";
	case ACTION_NOTIFY: return "notify";
	case ACTION_PAGE: return "page";
	}
	return "?";
}

const char *rule_direction_name(enum rule_direction d)
{
	switch (d) {
	case DIR_BOTH: return "both";
	case DIR_UP: return "up";
	case DIR_DOWN: return "down";
	}
	return "?";
}

/* ---- errors and positions ---- */

static int nomem(struct loader *L)
{
	snprintf(L->err, L->errlen, "%s: out of memory", L->file ? L->file : "rules");
	return -VIGIL_ENOMEM;
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct loader *L, const yaml_mark_t *m,
							 const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(L->err, L->errlen, "%s:%zu:%zu: ", L->file, m->line + 1, m->column + 1);

	if (n >= 0 && (size_t)n < L->errlen) {
		va_start(ap, fmt);
		vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -VIGIL_EINVAL;
}

/* "file:line:col" of m, malloc'd; NULL when out of memory. */
static char *where_of(const struct loader *L, const yaml_mark_t *m)
{
	char *s = NULL;

	if (asprintf(&s, "%s:%zu:%zu", L->file, m->line + 1, m->column + 1) < 0)
		return NULL;
	return s;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a map";
	case YAML_NO_NODE: break;
	}
	return "nothing";
}

static int expect_kind(struct loader *L, const yaml_node_t *n, yaml_node_type_t want, const char *what)
{
	const char *w = want == YAML_SCALAR_NODE     ? "a scalar"
			: want == YAML_SEQUENCE_NODE ? "a list"
						     : "a map";

	if (n->type == want)
		return 0;
	return fail_at(L, &n->start_mark, "%s must be %s, not %s", what, w, kind_name(n));
}

/* The text of a scalar node (borrowed from the document), refusing NUL bytes. */
static int scalar_text(struct loader *L, const yaml_node_t *n, const char *what, const char **out)
{
	int rc = expect_kind(L, n, YAML_SCALAR_NODE, what);

	if (rc != 0)
		return rc;
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length) != NULL)
		return fail_at(L, &n->start_mark, "%s contains a NUL byte", what);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* Like scalar_text, but non-empty and copied (caller frees). */
static int scalar_dup(struct loader *L, const yaml_node_t *n, const char *what, int nonempty, char **out)
{
	const char *s;
	int rc = scalar_text(L, n, what, &s);

	if (rc != 0)
		return rc;
	if (nonempty && *s == '\0')
		return fail_at(L, &n->start_mark, "%s must not be empty", what);
	if ((*out = strdup(s)) == NULL)
		return nomem(L);
	return 0;
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

/* The known key a misspelling most likely meant (distance <= 2, and less
 * than half its length), or NULL. */
static const char *closest_key(const char *const *keys, const char *s)
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

/* Split a map into known keys: vals[i] = value node of keys[i] or NULL,
 * kmarks[i] = the key's node. Unknown, duplicate or non-scalar keys fail. */
static int map_fields(struct loader *L, yaml_document_t *doc, yaml_node_t *map, const char *what,
		      const char *const *keys, yaml_node_t **vals, yaml_node_t **knodes)
{
	size_t nkeys = 0;
	int rc;

	if ((rc = expect_kind(L, map, YAML_MAPPING_NODE, what)) != 0)
		return rc;
	while (keys[nkeys])
		nkeys++;
	for (size_t i = 0; i < nkeys; i++)
		vals[i] = knodes[i] = NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *ks;
		size_t i;

		if (k == NULL || v == NULL)
			return fail_at(L, &map->start_mark, "malformed map in %s", what);
		if ((rc = scalar_text(L, k, "a key", &ks)) != 0)
			return rc;
		for (i = 0; i < nkeys && strcmp(keys[i], ks) != 0; i++)
			;
		if (i == nkeys) {
			const char *near = closest_key(keys, ks);
			int n;
			size_t len;

			if (near != NULL)
				return fail_at(L, &k->start_mark,
					       "unknown key '%s' in %s (did you mean '%s'?)", ks, what, near);
			n = fail_at(L, &k->start_mark, "unknown key '%s' in %s (known:", ks, what);
			len = strlen(L->err);
			for (size_t j = 0; j < nkeys && len < L->errlen; j++)
				len += (size_t)snprintf(L->err + len, L->errlen - len, " %s", keys[j]);
			if (len < L->errlen)
				snprintf(L->err + len, L->errlen - len, ")");
			return n;
		}
		if (vals[i] != NULL)
			return fail_at(L, &k->start_mark, "duplicate key '%s' in %s (first at line %zu)", ks,
				       what, knodes[i]->start_mark.line + 1);
		vals[i] = v;
		knodes[i] = k;
	}
	return 0;
}

/* ---- string maps (labels, params, destination settings) ---- */

static void kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free((void *)kv[i].key);
		free((void *)kv[i].value);
		free((void *)kv[i].where);
	}
	free(kv);
}

/* Read a map of scalars into an owned kv array; where = key position.
 * skip (may be NULL) names one key to leave out. On error nothing is kept. */
static int read_kv_map(struct loader *L, yaml_document_t *doc, yaml_node_t *map, const char *what,
		       const char *skip, struct kv **out, size_t *nout)
{
	size_t cap = map->type == YAML_MAPPING_NODE
			     ? (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start)
			     : 0;
	struct kv *kv;
	size_t n = 0;
	int rc;

	if ((rc = expect_kind(L, map, YAML_MAPPING_NODE, what)) != 0)
		return rc;
	kv = calloc(cap ? cap : 1, sizeof *kv);
	if (kv == NULL)
		return nomem(L);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *ks, *vs;

		if (k == NULL || v == NULL) {
			rc = fail_at(L, &map->start_mark, "malformed map in %s", what);
			goto fail;
		}
		if ((rc = scalar_text(L, k, "a key", &ks)) != 0)
			goto fail;
		if (*ks == '\0') {
			rc = fail_at(L, &k->start_mark, "empty key in %s", what);
			goto fail;
		}
		if (skip && strcmp(ks, skip) == 0)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(kv[j].key, ks) == 0) {
				rc = fail_at(L, &k->start_mark, "duplicate key '%s' in %s (first at %s)", ks,
					     what, kv[j].where);
				goto fail;
			}
		}
		if (v->type != YAML_SCALAR_NODE) {
			rc = fail_at(L, &v->start_mark, "%s: value of '%s' must be a scalar, not %s", what,
				     ks, kind_name(v));
			goto fail;
		}
		if ((rc = scalar_text(L, v, "a value", &vs)) != 0)
			goto fail;
		kv[n].key = strdup(ks);
		kv[n].value = strdup(vs);
		kv[n].where = where_of(L, &k->start_mark);
		n++;
		if (!kv[n - 1].key || !kv[n - 1].value || !kv[n - 1].where) {
			rc = nomem(L);
			goto fail;
		}
	}
	*out = kv;
	*nout = n;
	return 0;
fail:
	kv_free(kv, n);
	return rc;
}

/* ---- rules ---- */

static void matcher_free(struct tag_matcher *m)
{
	if (m->op == MATCH_RE || m->op == MATCH_NRE)
		regfree(&m->re);
	free(m->key);
	free(m->value);
}

static int has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Parse one `key: value` matcher into m (fully built or untouched). */
static int parse_matcher(struct loader *L, const yaml_node_t *k, const yaml_node_t *v, struct tag_matcher *m)
{
	struct tag_matcher t = {0};
	const char *ks, *vs;
	int rc;

	if ((rc = scalar_text(L, k, "a tag name", &ks)) != 0)
		return rc;
	if (*ks == '\0')
		return fail_at(L, &k->start_mark, "empty tag name in match");
	if (v->type != YAML_SCALAR_NODE)
		return fail_at(L, &v->start_mark, "match: value of '%s' must be a scalar, not %s", ks,
			       kind_name(v));
	if ((rc = scalar_text(L, v, "a match value", &vs)) != 0)
		return rc;
	if (strncmp(vs, "=~", 2) == 0) {
		t.op = MATCH_RE;
		vs += 2;
	} else if (strncmp(vs, "!~", 2) == 0) {
		t.op = MATCH_NRE;
		vs += 2;
	} else if (strncmp(vs, "!=", 2) == 0) {
		t.op = MATCH_NE;
		vs += 2;
	} else if (has_glob_chars(vs)) {
		t.op = MATCH_GLOB;
	} else {
		t.op = MATCH_EQ;
	}
	if (t.op == MATCH_RE || t.op == MATCH_NRE) {
		regex_t probe;
		char *anchored = NULL;
		char msg[160];
		int e;

		/* Compile the bare pattern first so that one like "a)|(b" cannot
		 * escape the anchoring group below. */
		if ((e = regcomp(&probe, vs, REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(e, &probe, msg, sizeof msg);
			return fail_at(L, &v->start_mark, "match '%s': bad regular expression '%s': %s", ks,
				       vs, msg);
		}
		regfree(&probe);
		if (asprintf(&anchored, "^(%s)$", vs) < 0)
			return nomem(L);
		e = regcomp(&t.re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (e != 0) {
			regerror(e, &t.re, msg, sizeof msg);
			return fail_at(L, &v->start_mark, "match '%s': bad regular expression '%s': %s", ks,
				       vs, msg);
		}
	}
	t.key = strdup(ks);
	t.value = strdup(vs);
	if (t.key == NULL || t.value == NULL) {
		matcher_free(&t);
		return nomem(L);
	}
	*m = t;
	return 0;
}

static int parse_match(struct loader *L, yaml_document_t *doc, yaml_node_t *map, struct rule *r)
{
	size_t cap;
	int rc;

	if ((rc = expect_kind(L, map, YAML_MAPPING_NODE, "match")) != 0)
		return rc;
	cap = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if ((r->match = calloc(cap ? cap : 1, sizeof *r->match)) == NULL)
		return nomem(L);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (k == NULL || v == NULL)
			return fail_at(L, &map->start_mark, "malformed map in match");
		if ((rc = parse_matcher(L, k, v, &r->match[r->nmatch])) != 0)
			return rc;
		r->nmatch++;
		for (size_t j = 0; j + 1 < r->nmatch; j++)
			if (strcmp(r->match[j].key, r->match[r->nmatch - 1].key) == 0)
				return fail_at(L, &k->start_mark, "duplicate key '%s' in match",
					       r->match[j].key);
	}
	return 0;
}

/* Parse an unsigned decimal integer (digits only, no sign) into *out. */
static int parse_uint(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -VIGIL_EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -VIGIL_EINVAL;
	return 0;
}

/* "K" or "K of N" -> k, n. */
static int parse_for(struct loader *L, const yaml_node_t *v, struct rule *r)
{
	const char *s;
	char kbuf[32], nbuf[32], extra;
	unsigned long long k, n;
	int rc, got;

	if ((rc = scalar_text(L, v, "for", &s)) != 0)
		return rc;
	got = sscanf(s, " %31[0-9] of %31[0-9] %c", kbuf, nbuf, &extra);
	if (got == 2) {
		if (parse_uint(kbuf, &k) != 0 || parse_uint(nbuf, &n) != 0)
			got = 0;
	} else if (parse_uint(s, &k) == 0) {
		n = k;
		got = 2;
	}
	if (got != 2)
		return fail_at(L, &v->start_mark, "for: '%s' is not \"K\" or \"K of N\"", s);
	if (k < 1)
		return fail_at(L, &v->start_mark, "for: K must be at least 1 (got '%s')", s);
	if (k > n)
		return fail_at(L, &v->start_mark, "for: K > N in '%s'", s);
	if (n > 64)
		return fail_at(L, &v->start_mark, "for: N must be at most 64 (got '%s')", s);
	r->for_k = (int)k;
	r->for_n = (int)n;
	return 0;
}

static int parse_threshold(struct loader *L, const yaml_node_t *v, struct rule *r)
{
	const char *s;
	char *end;
	double t;
	int rc;

	if ((rc = scalar_text(L, v, "threshold", &s)) != 0)
		return rc;
	errno = 0;
	t = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(t))
		return fail_at(L, &v->start_mark, "threshold: '%s' is not a number", s);
	if (!(t > 0.0 && t <= 1.0))
		return fail_at(L, &v->start_mark, "threshold: %g is outside (0, 1]", t);
	r->threshold = t;
	return 0;
}

static int parse_choice(struct loader *L, const yaml_node_t *v, const char *what, const char *const *choices,
			int *out)
{
	const char *s;
	int rc;

	if ((rc = scalar_text(L, v, what, &s)) != 0)
		return rc;
	for (int i = 0; choices[i]; i++) {
		if (strcmp(choices[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	rc = fail_at(L, &v->start_mark, "%s: '%s' is not one of", what, s);
	for (size_t len = strlen(L->err); *choices && len < L->errlen; choices++)
		len += (size_t)snprintf(L->err + len, L->errlen - len, " %s", *choices);
	return rc;
}

/* Build r->det from the detector name and the params map. */
static int parse_detector(struct loader *L, yaml_document_t *doc, yaml_node_t *rmap, yaml_node_t *dnode,
			  yaml_node_t *pnode, struct rule *r)
{
	const char *name = det_default_name();
	struct kv *kv = NULL;
	size_t nkv = 0;
	char sub[512];
	int rc;

	if (dnode != NULL) {
		if ((rc = scalar_text(L, dnode, "detector", &name)) != 0)
			return rc;
	}
	if (det_find(name) == NULL && group_find(name) == NULL) {
		const struct detector_type *const *all = det_all();
		const struct group_type *const *gall = group_all();
		size_t len;

		rc = fail_at(L, dnode ? &dnode->start_mark : &rmap->start_mark,
			     "unknown detector '%s'%s (known:", name, dnode ? "" : " (the default)");
		len = strlen(L->err);
		for (size_t i = 0; all[i] && len < L->errlen; i++)
			len += (size_t)snprintf(L->err + len, L->errlen - len, " %s", all[i]->name);
		for (size_t i = 0; gall[i] && len < L->errlen; i++)
			len += (size_t)snprintf(L->err + len, L->errlen - len, " %s", gall[i]->det.name);
		if (len < L->errlen)
			snprintf(L->err + len, L->errlen - len, ")");
		return rc;
	}
	if (pnode != NULL && (rc = read_kv_map(L, doc, pnode, "params", NULL, &kv, &nkv)) != 0)
		return rc;
	if (det_find(name) != NULL)
		rc = det_new(name, kv, nkv, &r->det, sub, sizeof sub);
	else
		rc = group_det_new(name, kv, nkv, &r->det, sub, sizeof sub);
	if (rc != 0) {
		int located = 0;

		/* params_apply() prefixes errors about one parameter with its
		 * where; others (config_check) get the params map's position. */
		for (size_t i = 0; i < nkv && !located; i++) {
			size_t wl = strlen(kv[i].where);
			located = strncmp(sub, kv[i].where, wl) == 0 && sub[wl] == ':';
		}
		if (located)
			snprintf(L->err, L->errlen, "%s", sub);
		else
			fail_at(L,
				pnode   ? &pnode->start_mark
				: dnode ? &dnode->start_mark
					: &rmap->start_mark,
				"detector '%s': %s", name, sub);
		if (rc == -VIGIL_ENOENT)
			rc = -VIGIL_EINVAL;
	}
	kv_free(kv, nkv);
	return rc;
}

/* A duration scalar (params_parse_duration) into *out. */
static int parse_duration_node(struct loader *L, const yaml_node_t *v, const char *what, double *out)
{
	const char *s;
	int rc;

	if ((rc = scalar_text(L, v, what, &s)) != 0)
		return rc;
	if (params_parse_duration(s, out) != 0 || !isfinite(*out) || *out < 0)
		return fail_at(L, &v->start_mark, "%s: '%s' is not a duration (like 90s, 5m, 2h, 1d)", what,
			       s);
	return 0;
}

/* `peer_group:` into r->peer (r->det must be built already). */
static int parse_peer_group(struct loader *L, yaml_document_t *doc, yaml_node_t *map, struct rule *r)
{
	yaml_node_t *v[PK_N], *k[PK_N], *by;
	struct rule_peer_group *g = &r->peer;
	const struct group_type *gt;
	size_t nitems;
	int rc;

	if ((rc = map_fields(L, doc, map, "peer_group", peer_keys, v, k)) != 0)
		return rc;
	if ((g->where = where_of(L, &map->start_mark)) == NULL)
		return nomem(L);
	if (v[PK_BY] == NULL || v[PK_STEP] == NULL)
		return fail_at(L, &map->start_mark, "peer_group is missing required key '%s'",
			       peer_keys[v[PK_BY] == NULL ? PK_BY : PK_STEP]);
	by = v[PK_BY];
	if ((rc = expect_kind(L, by, YAML_SEQUENCE_NODE, "peer_group.by")) != 0)
		return rc;
	nitems = (size_t)(by->data.sequence.items.top - by->data.sequence.items.start);
	if (nitems == 0)
		return fail_at(L, &by->start_mark, "peer_group.by needs at least one tag key");
	if (nitems > PEER_MAX_BY)
		return fail_at(L, &by->start_mark, "peer_group.by has %zu tag keys (at most %d)", nitems,
			       PEER_MAX_BY);
	if ((g->by = calloc(nitems, sizeof *g->by)) == NULL)
		return nomem(L);
	for (yaml_node_item_t *it = by->data.sequence.items.start; it < by->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(doc, *it);
		if (n == NULL)
			return fail_at(L, &by->start_mark, "malformed list in peer_group.by");
		if ((rc = scalar_dup(L, n, "a peer_group.by tag key", 1, &g->by[g->nby])) != 0)
			return rc;
		g->nby++;
		for (size_t j = 0; j + 1 < g->nby; j++)
			if (strcmp(g->by[j], g->by[g->nby - 1]) == 0)
				return fail_at(L, &n->start_mark, "duplicate tag key '%s' in peer_group.by",
					       g->by[j]);
	}
	if ((rc = parse_duration_node(L, v[PK_STEP], "peer_group.step", &g->step)) != 0)
		return rc;
	if (!(g->step > 0))
		return fail_at(L, &v[PK_STEP]->start_mark, "peer_group.step must be greater than 0");
	g->deadline = g->step;
	if (v[PK_DEADLINE] &&
	    (rc = parse_duration_node(L, v[PK_DEADLINE], "peer_group.deadline", &g->deadline)) != 0)
		return rc;
	if (g->deadline > PEER_MAX_DEADLINE_STEPS * g->step)
		return fail_at(L, v[PK_DEADLINE] ? &v[PK_DEADLINE]->start_mark : &map->start_mark,
			       "peer_group.deadline must be at most %d steps", PEER_MAX_DEADLINE_STEPS);
	g->min_members = PEER_DEFAULT_MIN;
	if (v[PK_MIN]) {
		const char *s;
		unsigned long long m;
		if ((rc = scalar_text(L, v[PK_MIN], "peer_group.min_members", &s)) != 0)
			return rc;
		if (parse_uint(s, &m) != 0 || m < 1 || m > 1000000)
			return fail_at(L, &v[PK_MIN]->start_mark,
				       "peer_group.min_members: '%s' is not an integer >= 1", s);
		g->min_members = (size_t)m;
	}
	gt = group_of(r->det.type);
	if (gt == NULL)
		return fail_at(L, &map->start_mark,
			       "peer_group needs a group detector (detector: peerpca), not '%s'",
			       r->det.type->name);
	if (g->min_members > gt->max_members(r->det.cfg))
		return fail_at(L, v[PK_MIN] ? &v[PK_MIN]->start_mark : &map->start_mark,
			       "peer_group.min_members %zu exceeds the detector's max_members %zu",
			       g->min_members, gt->max_members(r->det.cfg));
	return 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (p == NULL)
		return -VIGIL_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int parse_rule(struct loader *L, yaml_document_t *doc, yaml_node_t *map)
{
	static const char *const directions[] = {"both", "up", "down", NULL};
	static const char *const actions[] = {"log", "notify", "page", NULL};
	yaml_node_t *v[RK_N], *k[RK_N];
	struct ruleset *rs = L->rs;
	struct owner_ref *ref;
	struct rule *r;
	size_t cap = L->cap_rules;
	int rc, choice;

	if ((rc = map_fields(L, doc, map, "rule", rule_keys, v, k)) != 0)
		return rc;
	if (grow((void **)&rs->rules, &cap, rs->nrules + 1, sizeof *rs->rules) != 0)
		return nomem(L);
	if (cap != L->cap_rules) {
		struct owner_ref *nr = realloc(L->refs, cap * sizeof *nr);
		if (nr == NULL)
			return nomem(L); /* rules array grew; cap_rules stays, refs fits it */
		L->refs = nr;
		L->cap_rules = cap;
	}
	r = &rs->rules[rs->nrules];
	ref = &L->refs[rs->nrules];
	memset(r, 0, sizeof *r);
	memset(ref, 0, sizeof *ref);
	rs->nrules++;

	r->where = where_of(L, &map->start_mark);
	if (r->where == NULL)
		return nomem(L);
	if (v[RK_NAME] == NULL || v[RK_SERIES] == NULL || v[RK_OWNER] == NULL)
		return fail_at(L, &map->start_mark, "rule is missing required key '%s'",
			       rule_keys[v[RK_NAME] == NULL     ? RK_NAME
					 : v[RK_SERIES] == NULL ? RK_SERIES
								: RK_OWNER]);
	if ((rc = scalar_dup(L, v[RK_NAME], "name", 1, &r->name)) != 0)
		return rc;
	if ((rc = scalar_dup(L, v[RK_SERIES], "series", 1, &r->series)) != 0)
		return rc;
	if (v[RK_MATCH] && (rc = parse_match(L, doc, v[RK_MATCH], r)) != 0)
		return rc;
	if ((rc = parse_detector(L, doc, map, v[RK_DETECTOR], v[RK_PARAMS], r)) != 0)
		return rc;
	if (v[RK_PEER] && (rc = parse_peer_group(L, doc, v[RK_PEER], r)) != 0)
		return rc;
	if (!v[RK_PEER] && group_of(r->det.type) != NULL)
		return fail_at(L, &v[RK_DETECTOR]->start_mark,
			       "detector '%s' judges a peer group: the rule needs a peer_group",
			       r->det.type->name);
	r->threshold = r->det.type->default_threshold;
	if (v[RK_THRESHOLD] && (rc = parse_threshold(L, v[RK_THRESHOLD], r)) != 0)
		return rc;
	r->direction = DIR_BOTH;
	if (v[RK_DIRECTION]) {
		if ((rc = parse_choice(L, v[RK_DIRECTION], "direction", directions, &choice)) != 0)
			return rc;
		r->direction = (enum rule_direction)choice;
	}
	r->for_k = r->for_n = 1;
	if (v[RK_FOR] && (rc = parse_for(L, v[RK_FOR], r)) != 0)
		return rc;
	if (v[RK_KEEP]) {
		const char *s;
		if ((rc = scalar_text(L, v[RK_KEEP], "keep_firing_for", &s)) != 0)
			return rc;
		if (params_parse_duration(s, &r->keep_firing_for) != 0)
			return fail_at(L, &v[RK_KEEP]->start_mark,
				       "keep_firing_for: '%s' is not a duration (like 90s, 5m, 2h, 1d)", s);
	}
	r->action = ACTION_NOTIFY;
	if (v[RK_ACTION]) {
		if ((rc = parse_choice(L, v[RK_ACTION], "action", actions, &choice)) != 0)
			return rc;
		r->action = (enum rule_action)choice;
	}
	if ((rc = scalar_dup(L, v[RK_OWNER], "owner", 1, &ref->name)) != 0)
		return rc;
	if ((ref->where = where_of(L, &v[RK_OWNER]->start_mark)) == NULL)
		return nomem(L);
	if (v[RK_LABELS] &&
	    (rc = read_kv_map(L, doc, v[RK_LABELS], "labels", NULL, &r->labels, &r->nlabels)) != 0)
		return rc;
	if (v[RK_SUMMARY] && (rc = scalar_dup(L, v[RK_SUMMARY], "summary", 0, &r->summary)) != 0)
		return rc;
	if (v[RK_RUNBOOK] && (rc = scalar_dup(L, v[RK_RUNBOOK], "runbook_url", 0, &r->runbook_url)) != 0)
		return rc;
	return 0;
}

/* ---- owners ---- */

static int parse_dest(struct loader *L, yaml_document_t *doc, yaml_node_t *map, struct destination_cfg *d)
{
	yaml_node_t *type = NULL;
	int rc;

	if ((rc = expect_kind(L, map, YAML_MAPPING_NODE, "a destination")) != 0)
		return rc;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "type") == 0) {
			if (type != NULL)
				return fail_at(L, &k->start_mark, "duplicate key 'type' in destination");
			type = yaml_document_get_node(doc, p->value);
		}
	}
	if (type == NULL)
		return fail_at(L, &map->start_mark, "destination is missing required key 'type'");
	if ((d->where = where_of(L, &map->start_mark)) == NULL)
		return nomem(L);
	if ((rc = scalar_dup(L, type, "type", 1, &d->type)) != 0)
		return rc;
	return read_kv_map(L, doc, map, "destination", "type", &d->kv, &d->nkv);
}

static int parse_owner(struct loader *L, yaml_document_t *doc, yaml_node_t *map)
{
	yaml_node_t *v[OK_N], *k[OK_N];
	struct ruleset *rs = L->rs;
	struct owner *o;
	yaml_node_t *dl;
	int rc;

	if ((rc = map_fields(L, doc, map, "owner", owner_keys, v, k)) != 0)
		return rc;
	if (grow((void **)&rs->owners, &L->cap_owners, rs->nowners + 1, sizeof *rs->owners) != 0)
		return nomem(L);
	o = &rs->owners[rs->nowners++];
	memset(o, 0, sizeof *o);
	if ((o->where = where_of(L, &map->start_mark)) == NULL)
		return nomem(L);
	if (v[OK_NAME] == NULL)
		return fail_at(L, &map->start_mark, "owner is missing required key 'name'");
	if (v[OK_DESTS] == NULL)
		return fail_at(L, &map->start_mark, "owner is missing required key 'destinations'");
	if ((rc = scalar_dup(L, v[OK_NAME], "name", 1, &o->name)) != 0)
		return rc;
	if (v[OK_MAX_SERIES]) {
		const char *s;
		unsigned long long m;
		if ((rc = scalar_text(L, v[OK_MAX_SERIES], "max_series", &s)) != 0)
			return rc;
		if (parse_uint(s, &m) != 0 || m > SIZE_MAX)
			return fail_at(L, &v[OK_MAX_SERIES]->start_mark,
				       "max_series: '%s' is not a non-negative integer", s);
		o->max_series = (size_t)m;
	}
	dl = v[OK_DESTS];
	if ((rc = expect_kind(L, dl, YAML_SEQUENCE_NODE, "destinations")) != 0)
		return rc;
	if (dl->data.sequence.items.top == dl->data.sequence.items.start)
		return fail_at(L, &dl->start_mark, "owner '%s' needs at least one destination", o->name);
	o->dests = calloc((size_t)(dl->data.sequence.items.top - dl->data.sequence.items.start),
			  sizeof *o->dests);
	if (o->dests == NULL)
		return nomem(L);
	for (yaml_node_item_t *it = dl->data.sequence.items.start; it < dl->data.sequence.items.top; it++) {
		yaml_node_t *dn = yaml_document_get_node(doc, *it);
		if (dn == NULL)
			return fail_at(L, &dl->start_mark, "malformed list in destinations");
		o->ndests++; /* counted first: a half-built destination is freed too */
		if ((rc = parse_dest(L, doc, dn, &o->dests[o->ndests - 1])) != 0)
			return rc;
	}
	return 0;
}

/* ---- files ---- */

static int parse_list(struct loader *L, yaml_document_t *doc, yaml_node_t *list, const char *what,
		      int (*each)(struct loader *, yaml_document_t *, yaml_node_t *))
{
	int rc;

	if ((rc = expect_kind(L, list, YAML_SEQUENCE_NODE, what)) != 0)
		return rc;
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
	     it++) {
		yaml_node_t *n = yaml_document_get_node(doc, *it);
		if (n == NULL)
			return fail_at(L, &list->start_mark, "malformed list in %s", what);
		if ((rc = each(L, doc, n)) != 0)
			return rc;
	}
	return 0;
}

static int yaml_fail(struct loader *L, const yaml_parser_t *p, FILE *f)
{
	const char *problem = p->problem ? p->problem : "syntax error";

	if (p->error == YAML_MEMORY_ERROR)
		return nomem(L);
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark: count lines up to
		 * it (column in bytes). */
		yaml_mark_t m = {0, 0, 0};
		int c;

		if (f != NULL && fseek(f, 0, SEEK_SET) == 0) {
			for (size_t off = 0; off < p->problem_offset && (c = getc(f)) != EOF; off++) {
				if (c == '\n') {
					m.line++;
					m.column = 0;
				} else {
					m.column++;
				}
			}
		}
		return fail_at(L, &m, "YAML error: %s (byte %zu)", problem, p->problem_offset);
	}
	if (p->context)
		return fail_at(L, &p->problem_mark, "YAML error: %s %s (line %zu)", problem, p->context,
			       p->context_mark.line + 1);
	return fail_at(L, &p->problem_mark, "YAML error: %s", problem);
}

static int load_file(struct loader *L, const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root, *v[TOP_N], *k[TOP_N];
	yaml_mark_t start = {0, 0, 0};
	int rc = 0, have_doc = 0;
	FILE *f;

	L->file = path;
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(L->err, L->errlen, "%s: cannot open: %s", path, strerror(errno));
		return -VIGIL_EIO;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return nomem(L);
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_fail(L, &parser, f);
		goto out;
	}
	have_doc = 1;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		rc = fail_at(L, &start, "empty file (expected a map with 'rules:' and/or 'owners:')");
		goto out;
	}
	/* One document per file: a second one would be silently ignored. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = yaml_fail(L, &parser, f);
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		rc = fail_at(L, &yaml_document_get_root_node(&extra)->start_mark,
			     "only one YAML document per file");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	if ((rc = map_fields(L, &doc, root, "the top level", top_keys, v, k)) != 0)
		goto out;
	if (v[TOP_RULES] == NULL && v[TOP_OWNERS] == NULL) {
		rc = fail_at(L, &root->start_mark, "neither 'rules:' nor 'owners:' in this file");
		goto out;
	}
	if (v[TOP_OWNERS] && (rc = parse_list(L, &doc, v[TOP_OWNERS], "owners", parse_owner)) != 0)
		goto out;
	if (v[TOP_RULES] && (rc = parse_list(L, &doc, v[TOP_RULES], "rules", parse_rule)) != 0)
		goto out;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t ls = strlen(s), lf = strlen(suf);
	return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

/* A file, or a directory's *.yaml / *.yml in name order. */
static int load_path(struct loader *L, const char *path)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		snprintf(L->err, L->errlen, "%s: cannot open: %s", path, strerror(errno));
		return -VIGIL_EIO;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(L, path);
	if ((d = opendir(path)) == NULL) {
		snprintf(L->err, L->errlen, "%s: cannot open directory: %s", path, strerror(errno));
		return -VIGIL_EIO;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		char *full;
		struct stat fs;

		if (de->d_name[0] == '.' ||
		    !(has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml")))
			continue;
		if (asprintf(&full, "%s%s%s", path, has_suffix(path, "/") ? "" : "/", de->d_name) < 0) {
			rc = -VIGIL_ENOMEM;
			break;
		}
		if (stat(full, &fs) != 0 || !S_ISREG(fs.st_mode)) {
			free(full);
			continue;
		}
		if (grow((void **)&names, &cap, n + 1, sizeof *names) != 0) {
			free(full);
			rc = -VIGIL_ENOMEM;
			break;
		}
		names[n++] = full;
	}
	if (rc == 0 && errno != 0) {
		snprintf(L->err, L->errlen, "%s: cannot read directory: %s", path, strerror(errno));
		rc = -VIGIL_EIO;
	}
	closedir(d);
	if (rc == -VIGIL_ENOMEM) {
		L->file = path;
		nomem(L);
	}
	if (rc == 0 && n == 0) {
		snprintf(L->err, L->errlen, "%s: no *.yaml or *.yml files in this directory", path);
		rc = -VIGIL_ENOENT;
	}
	if (rc == 0)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load_file(L, names[i]);
	/* L->file may point into names[]: errors are already formatted. */
	L->file = path;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* ---- cross-file checks ---- */

struct name_at {
	const char *name;
	const char *where;
	size_t idx;
};

static int cmp_name_at(const void *a, const void *b)
{
	const struct name_at *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Report the first (in load order) name that repeats an earlier one. */
static int check_unique(struct loader *L, struct name_at *v, size_t n, const char *what)
{
	size_t bad = SIZE_MAX, first = 0;

	qsort(v, n, sizeof *v, cmp_name_at);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name) != 0)
			continue;
		/* v[i - 1] ... : find the first of this run */
		size_t j = i - 1;
		while (j > 0 && strcmp(v[j - 1].name, v[i].name) == 0)
			j--;
		if (bad == SIZE_MAX || v[i].idx < v[bad].idx) {
			bad = i;
			first = j;
		}
	}
	if (bad == SIZE_MAX)
		return 0;
	snprintf(L->err, L->errlen, "%s: duplicate %s name '%s' (first defined at %s)", v[bad].where, what,
		 v[bad].name, v[first].where);
	return -VIGIL_EINVAL;
}

static int check_all(struct loader *L)
{
	struct ruleset *rs = L->rs;
	size_t n = rs->nrules > rs->nowners ? rs->nrules : rs->nowners;
	struct name_at *v = calloc(n ? n : 1, sizeof *v);
	int rc;

	if (v == NULL) {
		snprintf(L->err, L->errlen, "rules: out of memory");
		return -VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < rs->nowners; i++)
		v[i] = (struct name_at){rs->owners[i].name, rs->owners[i].where, i};
	rc = check_unique(L, v, rs->nowners, "owner");
	for (size_t i = 0; rc == 0 && i < rs->nrules; i++)
		v[i] = (struct name_at){rs->rules[i].name, rs->rules[i].where, i};
	if (rc == 0)
		rc = check_unique(L, v, rs->nrules, "rule");
	free(v);
	for (size_t i = 0; rc == 0 && i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];
		r->index = (uint32_t)i;
		r->owner = ruleset_owner(rs, L->refs[i].name);
		if (r->owner == NULL) {
			snprintf(L->err, L->errlen, "%s: rule '%s': unknown owner '%s'%s", L->refs[i].where,
				 r->name, L->refs[i].name,
				 rs->nowners
					 ? ""
					 : " (no owners are defined: pass an owners file or add an 'owners:' "
					   "section)");
			rc = -VIGIL_EINVAL;
		}
	}
	return rc;
}

/* ---- public ---- */

const struct owner *ruleset_owner(const struct ruleset *rs, const char *name)
{
	if (rs == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < rs->nowners; i++)
		if (rs->owners[i].name && strcmp(rs->owners[i].name, name) == 0)
			return &rs->owners[i];
	return NULL;
}

void ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];
		for (size_t j = 0; j < r->nmatch; j++)
			matcher_free(&r->match[j]);
		free(r->match);
		det_free(&r->det);
		kv_free(r->labels, r->nlabels);
		free(r->name);
		free(r->where);
		free(r->series);
		free(r->summary);
		free(r->runbook_url);
		for (size_t j = 0; j < r->peer.nby; j++)
			free(r->peer.by[j]);
		free(r->peer.by);
		free(r->peer.where);
	}
	free(rs->rules);
	for (size_t i = 0; i < rs->nowners; i++) {
		struct owner *o = &rs->owners[i];
		for (size_t j = 0; j < o->ndests; j++) {
			free(o->dests[j].type);
			free(o->dests[j].where);
			kv_free(o->dests[j].kv, o->dests[j].nkv);
		}
		free(o->dests);
		free(o->name);
		free(o->where);
	}
	free(rs->owners);
	free(rs);
}

int ruleset_load(const char *const *rule_paths, size_t npaths, const char *owners_path, struct ruleset **out,
		 char *err, size_t errlen)
{
	char dummy[1];
	struct loader L = {0};
	int rc = 0;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	L.err = err;
	L.errlen = errlen;
	if (out == NULL || (npaths > 0 && rule_paths == NULL)) {
		snprintf(err, errlen, "rules: invalid arguments");
		return -VIGIL_EINVAL;
	}
	if ((L.rs = calloc(1, sizeof *L.rs)) == NULL) {
		snprintf(err, errlen, "rules: out of memory");
		return -VIGIL_ENOMEM;
	}
	if (owners_path != NULL)
		rc = load_path(&L, owners_path);
	for (size_t i = 0; rc == 0 && i < npaths; i++)
		rc = load_path(&L, rule_paths[i]);
	if (rc == 0)
		rc = check_all(&L);
	for (size_t i = 0; i < L.rs->nrules; i++) {
		free(L.refs[i].name);
		free(L.refs[i].where);
	}
	free(L.refs);
	if (rc != 0) {
		ruleset_free(L.rs);
		return rc;
	}
	*out = L.rs;
	return 0;
}
