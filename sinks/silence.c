/* Silences, see silence.h. The store keeps every silence once, in an array
 * (the silences_at order) with an id index over it, and per owner a group
 * of its silences in insertion order behind an owner index, so that a match
 * looks at the owner's silences only. Times are kept at the millisecond
 * precision of their RFC 3339 form (exactly what that form reads back as),
 * so that silence_to_json and silences_restore give back identical values. */
#include "sinks/silence.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/htab.h"
#include "core/params.h"
#include "core/timefmt.h"

#define FIELD_MAX    1024
#define TIME_LAST    253402300799.0 /* 9999-12-31T23:59:59Z: the last time RFC 3339 can write */
#define MATCHER_TEXT 1400           /* matcher_format of a parsed matcher: key < 256, value < 1024 */

struct entry {
	struct silence s; /* first member: a struct silence * of the store is its entry */
	uint64_t idh;     /* id_hash(s.id) */
	size_t pos;       /* index in silences.v */
	size_t gpos;      /* index in its owner's group */
};

struct group {
	char *owner;
	uint64_t h;       /* owner_hash(owner) */
	struct entry **e; /* the owner's silences, in insertion order */
	size_t n, cap;
};

struct silences {
	struct entry **v;
	size_t n, cap;
	struct htab ids; /* over positions in v */
	struct group *g;
	size_t ng, gcap;
	struct htab owners; /* over positions in g */
};

/* The fields of the JSON form; a restore takes them all but the first. */
static const char *const fields[] = {"duration",   "id",      "owner",   "matchers",
				     "starts_at",  "ends_at", "comment", "created_by",
				     "created_at", "state",   NULL};

/* Write the message into err; -VIGIL_EINVAL. */
static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -VIGIL_EINVAL;
}

/* ---- times ---- */

/* The time the RFC 3339 form of t reads back as: t at a millisecond
 * (rounded, but never up into the next second: time_format_rfc3339). */
static double canon_time(double t)
{
	char buf[48];
	double out = t;

	time_format_rfc3339(t, buf, sizeof buf);
	if (time_parse_text(buf, strlen(buf), &out, NULL) != 0)
		return t; /* not reached for t in [0, TIME_LAST] */
	return out;
}

/* The latest canonical time not after t: "now" for created_at, a default
 * starts_at and an expiry, so that the silence is in its new state at t. */
static double canon_floor(double t)
{
	double c = canon_time(floor(t * 1000.0) / 1000.0);
	return c > t ? canon_time(c - 0.001) : c;
}

static int in_range(double t)
{
	return t >= 0.0 && t <= TIME_LAST;
}

static int get_time(json_t *j, const char *field, double *out, char *err, size_t errlen)
{
	const char *text = json_string_value(j);
	int col = 0;

	if (text == NULL)
		return bad(err, errlen, "silence: %s: want an RFC 3339 time string", field);
	if (time_parse_text(text, strlen(text), out, &col) != 0)
		return bad(err, errlen, "silence: %s: '%.64s' is not an RFC 3339 time (column %d)", field,
			   text, col);
	if (!in_range(*out))
		return bad(err, errlen, "silence: %s: '%.64s' is outside 1970 .. 9999", field, text);
	*out = canon_time(*out);
	return 0;
}

/* ---- fields ---- */

static int check_keys(json_t *spec, const char *const *keys, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(spec, key, v)
	{
		size_t i = 0;
		while (keys[i] != NULL && strcmp(keys[i], key) != 0)
			i++;
		if (keys[i] == NULL)
			return bad(err, errlen, "silence: unknown field '%.64s'", key);
	}
	return 0;
}

/* A required, non-empty string of at most FIELD_MAX bytes, borrowed. */
static int get_text(json_t *spec, const char *field, const char **out, char *err, size_t errlen)
{
	json_t *j = json_object_get(spec, field);

	if (j != NULL && !json_is_string(j))
		return bad(err, errlen, "silence: %s: want a string", field);
	if (j == NULL || json_string_length(j) == 0)
		return bad(err, errlen, "silence: %s is required", field);
	if (strlen(json_string_value(j)) != json_string_length(j))
		return bad(err, errlen, "silence: %s: contains a NUL byte", field);
	if (json_string_length(j) > FIELD_MAX)
		return bad(err, errlen, "silence: %s: longer than %d bytes", field, FIELD_MAX);
	*out = json_string_value(j);
	return 0;
}

static int valid_id(const char *id)
{
	if (strlen(id) != SILENCE_ID_LEN - 1 || strncmp(id, "s-", 2) != 0)
		return 0;
	for (const char *p = id + 2; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

/* The optional "id" into id (SILENCE_ID_LEN; "" when absent). */
static int get_id(json_t *spec, char *id, char *err, size_t errlen)
{
	json_t *j = json_object_get(spec, "id");

	id[0] = '\0';
	if (j == NULL)
		return 0;
	if (!json_is_string(j) || !valid_id(json_string_value(j)))
		return bad(err, errlen, "silence: id: want \"s-\" and 16 lowercase hex digits");
	memcpy(id, json_string_value(j), SILENCE_ID_LEN);
	return 0;
}

static void free_matchers(struct tag_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		matcher_free(&m[i]);
	free(m);
}

static int get_matchers(json_t *spec, struct silence *x, char *err, size_t errlen)
{
	json_t *a = json_object_get(spec, "matchers");
	char msg[512];
	size_t n;
	int rc;

	if (a == NULL)
		return bad(err, errlen, "silence: matchers is required");
	if (!json_is_array(a))
		return bad(err, errlen,
			   "silence: matchers: want an array of strings like \"alertname=disk\"");
	if ((n = json_array_size(a)) == 0)
		return bad(err, errlen, "silence: matchers: at least one matcher is required");
	if (n > SILENCE_MAX_MATCHERS)
		return bad(err, errlen, "silence: matchers: at most %d matchers, got %zu",
			   SILENCE_MAX_MATCHERS, n);
	if ((x->m = calloc(n, sizeof *x->m)) == NULL) {
		snprintf(err, errlen, "silence: out of memory");
		return -VIGIL_ENOMEM;
	}
	for (x->nm = 0; x->nm < n; x->nm++) {
		json_t *it = json_array_get(a, x->nm);
		if (!json_is_string(it) || strlen(json_string_value(it)) != json_string_length(it))
			return bad(err, errlen, "silence: matchers[%zu]: want a string", x->nm);
		msg[0] = '\0';
		if ((rc = matcher_parse(json_string_value(it), &x->m[x->nm], msg, sizeof msg)) != 0) {
			snprintf(err, errlen, "silence: matchers[%zu]: %s", x->nm,
				 rc == -VIGIL_ENOMEM ? "out of memory" : msg);
			return rc;
		}
	}
	return 0;
}

/* starts_at, ends_at (or duration) and created_at of x. For an add the
 * times are checked against each other and now; a restore takes them as
 * written (an expired pending silence ends before it starts). */
static int get_times(json_t *spec, double now, int restore, struct silence *x, char *err, size_t errlen)
{
	json_t *js = json_object_get(spec, "starts_at"), *je = json_object_get(spec, "ends_at");
	json_t *jd = json_object_get(spec, "duration"), *jc = json_object_get(spec, "created_at");
	int rc;

	if (restore) {
		if (js == NULL || je == NULL || jc == NULL)
			return bad(err, errlen, "silence: %s is required",
				   js == NULL   ? "starts_at"
				   : je == NULL ? "ends_at"
						: "created_at");
		if ((rc = get_time(js, "starts_at", &x->starts, err, errlen)) != 0 ||
		    (rc = get_time(je, "ends_at", &x->ends, err, errlen)) != 0)
			return rc;
		return get_time(jc, "created_at", &x->created, err, errlen);
	}
	if (!in_range(now))
		return bad(err, errlen, "silence: the current time %g is outside 1970 .. 9999", now);
	x->created = x->starts = canon_floor(now);
	/* a command that carries its creation time (the CLI's) means the same
	 * silence whenever it is applied: replayed, or on another member */
	if (jc != NULL) {
		if ((rc = get_time(jc, "created_at", &x->created, err, errlen)) != 0)
			return rc;
		x->starts = x->created;
	}
	if (js != NULL && (rc = get_time(js, "starts_at", &x->starts, err, errlen)) != 0)
		return rc;
	if (je != NULL && jd != NULL)
		return bad(err, errlen, "silence: give ends_at or duration, not both");
	if (je == NULL && jd == NULL)
		return bad(err, errlen, "silence: ends_at or duration is required");
	if (je != NULL && (rc = get_time(je, "ends_at", &x->ends, err, errlen)) != 0)
		return rc;
	if (jd != NULL) {
		double d;
		if (!json_is_string(jd) || params_parse_duration(json_string_value(jd), &d) != 0)
			return bad(err, errlen,
				   "silence: duration: '%.64s' is not a duration (like 30m, 2h, 1d)",
				   json_is_string(jd) ? json_string_value(jd) : "(not a string)");
		/* the duration counts from starts_at, as amtool's does */
		if (!in_range(x->starts + d))
			return bad(err, errlen, "silence: duration: ends after 9999-12-31");
		x->ends = canon_time(x->starts + d);
	}
	if (!(x->ends > x->starts))
		return bad(err, errlen, "silence: ends_at must be after starts_at");
	if (!(x->ends > now))
		return bad(err, errlen, "silence: ends_at must be after now");
	return 0;
}

static void entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free_matchers(e->s.m, e->s.nm);
	free(e->s.owner);
	free(e->s.created_by);
	free(e->s.comment);
	free(e);
}

void silence_free(struct silence *x)
{
	entry_free((struct entry *)x);
}

/* A new entry from spec (not in a store; its id is left empty). */
static int build(json_t *spec, double now, int restore, struct entry **out, char *err, size_t errlen)
{
	const char *owner, *by, *comment;
	struct entry *e;
	int rc;

	if (!json_is_object(spec))
		return bad(err, errlen, "silence: want a JSON object");
	if ((rc = check_keys(spec, fields + (restore ? 1 : 0), err, errlen)) != 0 ||
	    (rc = get_text(spec, "owner", &owner, err, errlen)) != 0)
		return rc;
	if ((e = calloc(1, sizeof *e)) == NULL) {
		snprintf(err, errlen, "silence: out of memory");
		return -VIGIL_ENOMEM;
	}
	e->s.part = -1;
	if ((rc = get_matchers(spec, &e->s, err, errlen)) != 0 ||
	    (rc = get_times(spec, now, restore, &e->s, err, errlen)) != 0 ||
	    (rc = get_text(spec, "created_by", &by, err, errlen)) != 0 ||
	    (rc = get_text(spec, "comment", &comment, err, errlen)) != 0)
		goto fail;
	e->s.owner = strdup(owner);
	e->s.created_by = strdup(by);
	e->s.comment = strdup(comment);
	if (e->s.owner == NULL || e->s.created_by == NULL || e->s.comment == NULL) {
		snprintf(err, errlen, "silence: out of memory");
		rc = -VIGIL_ENOMEM;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	entry_free(e);
	return rc;
}

/* The content-derived id: owner, matchers, times, author, comment and
 * created_at; salt > 0 only to step past an id another owner holds. */
static void content_id(const struct silence *x, unsigned salt, char id[SILENCE_ID_LEN])
{
	char buf[MATCHER_TEXT], hex[17];
	const double times[] = {x->starts, x->ends, x->created};
	uint64_t h = hash_str(HASH_SEED, x->owner);

	snprintf(buf, sizeof buf, "%zu", x->nm);
	h = hash_str(h, buf);
	for (size_t i = 0; i < x->nm; i++) {
		matcher_format(&x->m[i], buf, sizeof buf);
		h = hash_str(h, buf);
	}
	for (size_t i = 0; i < VIGIL_ARRAY_LEN(times); i++) {
		time_format_rfc3339(times[i], buf, sizeof buf);
		h = hash_str(h, buf);
	}
	h = hash_str(hash_str(h, x->created_by), x->comment);
	if (salt > 0) {
		snprintf(buf, sizeof buf, "%u", salt);
		h = hash_str(h, buf);
	}
	hash_hex(hash_mix(h), hex);
	snprintf(id, SILENCE_ID_LEN, "s-%s", hex);
}

static int cmp_matcher(const void *a, const void *b)
{
	const struct tag_matcher *x = *(const struct tag_matcher *const *)a;
	const struct tag_matcher *y = *(const struct tag_matcher *const *)b;
	int c = strcmp(x->key, y->key);

	if (c == 0)
		c = (int)x->op - (int)y->op;
	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Do a and b hold the same matchers, in any order? */
static int same_matchers(const struct silence *a, const struct silence *b)
{
	const struct tag_matcher *pa[SILENCE_MAX_MATCHERS], *pb[SILENCE_MAX_MATCHERS];

	if (a->nm != b->nm || a->nm > SILENCE_MAX_MATCHERS)
		return 0;
	for (size_t i = 0; i < a->nm; i++) {
		pa[i] = &a->m[i];
		pb[i] = &b->m[i];
	}
	qsort(pa, a->nm, sizeof pa[0], cmp_matcher);
	qsort(pb, b->nm, sizeof pb[0], cmp_matcher);
	for (size_t i = 0; i < a->nm; i++)
		if (cmp_matcher(&pa[i], &pb[i]) != 0)
			return 0;
	return 1;
}

/* ---- the store and its indexes ---- */

static uint64_t str_hash(const char *s)
{
	return hash_mix(hash_str(HASH_SEED, s));
}

static uint64_t v_hash(const void *ctx, uint32_t i)
{
	return ((const struct silences *)ctx)->v[i]->idh;
}

static int v_eq(const void *ctx, uint32_t i, const void *key)
{
	return strcmp(((const struct silences *)ctx)->v[i]->s.id, key) == 0;
}

static uint64_t g_hash(const void *ctx, uint32_t i)
{
	return ((const struct silences *)ctx)->g[i].h;
}

static int g_eq(const void *ctx, uint32_t i, const void *key)
{
	return strcmp(((const struct silences *)ctx)->g[i].owner, key) == 0;
}

static struct entry *find_entry(const struct silences *s, const char *id)
{
	uint32_t i = htab_find(&s->ids, str_hash(id), v_eq, v_hash, s, id);
	return i == HTAB_NONE ? NULL : s->v[i];
}

static struct group *find_group(const struct silences *s, const char *owner)
{
	uint32_t i = htab_find(&s->owners, str_hash(owner), g_eq, g_hash, s, owner);
	return i == HTAB_NONE ? NULL : &s->g[i];
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((q = realloc(*p, c * size)) == NULL)
		return -VIGIL_ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Forget the (empty) group g: the last group takes its place. */
static void group_drop(struct silences *s, struct group *g)
{
	size_t gi = (size_t)(g - s->g), last = s->ng - 1;

	htab_remove(&s->owners, g->h, (uint32_t)gi, g_hash, s);
	free(g->owner);
	free(g->e);
	if (gi != last) {
		htab_remove(&s->owners, s->g[last].h, (uint32_t)last, g_hash, s);
		s->g[gi] = s->g[last];
		/* cannot fail: the index held one more entry a moment ago */
		htab_insert(&s->owners, s->g[gi].h, (uint32_t)gi, g_hash, s);
	}
	s->ng--;
}

/* Add e to the store (which then owns it). 0, or -VIGIL_ENOMEM with the
 * store unchanged. A duplicate id is the caller's business: a restore
 * inserts the replacement before it removes the old entry. */
static int store_insert(struct silences *s, struct entry *e)
{
	struct group *g;

	if (grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) != 0)
		return -VIGIL_ENOMEM;
	if ((g = find_group(s, e->s.owner)) == NULL) {
		uint64_t h = str_hash(e->s.owner);
		char *owner;
		if (grow((void **)&s->g, &s->gcap, s->ng + 1, sizeof *s->g) != 0 ||
		    (owner = strdup(e->s.owner)) == NULL)
			return -VIGIL_ENOMEM;
		s->g[s->ng] = (struct group){.owner = owner, .h = h};
		if (htab_insert(&s->owners, h, (uint32_t)s->ng, g_hash, s) != 0) {
			free(owner);
			return -VIGIL_ENOMEM;
		}
		g = &s->g[s->ng++];
	}
	e->idh = str_hash(e->s.id);
	e->pos = s->n;
	s->v[s->n] = e;
	if (grow((void **)&g->e, &g->cap, g->n + 1, sizeof *g->e) != 0 ||
	    htab_insert(&s->ids, e->idh, (uint32_t)e->pos, v_hash, s) != 0) {
		if (g->n == 0)
			group_drop(s, g);
		return -VIGIL_ENOMEM;
	}
	s->n++;
	e->gpos = g->n;
	g->e[g->n++] = e;
	return 0;
}

/* Take e out of the store (not freed). */
static void store_remove(struct silences *s, struct entry *e)
{
	struct group *g = find_group(s, e->s.owner);
	size_t last = s->n - 1;

	memmove(&g->e[e->gpos], &g->e[e->gpos + 1], (g->n - e->gpos - 1) * sizeof *g->e);
	g->n--;
	for (size_t i = e->gpos; i < g->n; i++)
		g->e[i]->gpos = i;
	if (g->n == 0)
		group_drop(s, g);
	htab_remove(&s->ids, e->idh, (uint32_t)e->pos, v_hash, s);
	if (e->pos != last) {
		struct entry *m = s->v[last];
		htab_remove(&s->ids, m->idh, (uint32_t)last, v_hash, s);
		s->v[e->pos] = m;
		m->pos = e->pos;
		/* cannot fail: the index held two more entries a moment ago */
		htab_insert(&s->ids, m->idh, (uint32_t)m->pos, v_hash, s);
	}
	s->n--;
}

/* The per-store limit (silences_set_max), SILENCE_MAX by default. */
static size_t silence_max = SILENCE_MAX;

void silences_set_max(size_t n)
{
	silence_max = n >= 1 && n <= SILENCE_MAX ? n : SILENCE_MAX;
}

int silences_new(struct silences **out)
{
	struct silences *s = calloc(1, sizeof *s);

	if (s == NULL)
		return -VIGIL_ENOMEM;
	htab_init(&s->ids);
	htab_init(&s->owners);
	*out = s;
	return 0;
}

void silences_free(struct silences *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_free(s->v[i]);
	for (size_t i = 0; i < s->ng; i++) {
		free(s->g[i].owner);
		free(s->g[i].e);
	}
	free(s->v);
	free(s->g);
	htab_fini(&s->ids);
	htab_fini(&s->owners);
	free(s);
}

/* ---- adding, updating, expiring ---- */

int silences_add(struct silences *s, json_t *spec, double now, int32_t part, char *id_out, char *err,
		 size_t errlen)
{
	char id[SILENCE_ID_LEN] = "";
	struct entry *old = NULL, *e = NULL, *res;
	unsigned salt = 0;
	int rc;

	if (json_is_object(spec) && (rc = get_id(spec, id, err, errlen)) != 0)
		return rc;
	if ((rc = build(spec, now, 0, &e, err, errlen)) != 0)
		return rc;
	e->s.part = part;
	if (id[0] != '\0' && (old = find_entry(s, id)) == NULL) {
		rc = bad(err, errlen, "silence: id: no silence '%s'", id);
		goto fail;
	}
	if (old != NULL && strcmp(old->s.owner, e->s.owner) != 0) {
		rc = bad(err, errlen, "silence: owner: silence %s belongs to another owner", id);
		goto fail;
	}
	if (old != NULL && same_matchers(&old->s, &e->s)) {
		/* In place: the id and created_at stay, the rest is the spec's.
		 * The matchers alone decide (silence.h), so an update brings an
		 * expired silence back under its id. */
		struct silence t = old->s;
		memcpy(e->s.id, t.id, SILENCE_ID_LEN);
		e->s.created = t.created;
		old->s = e->s;
		e->s = t; /* freed below */
		res = old;
		goto done;
	}
	/* A new id. The same spec at the same now (a replayed record) derives
	 * the same id: that silence is the one, whatever happened to it since.
	 * An id held by another owner (or the old silence) is stepped past. */
	do {
		content_id(&e->s, salt++, e->s.id);
		res = find_entry(s, e->s.id);
	} while (res != NULL && (res == old || strcmp(res->s.owner, e->s.owner) != 0));
	if (res != NULL)
		goto done;
	if (s->n >= silence_max) {
		snprintf(err, errlen, "silence: too many silences (at most %zu)", silence_max);
		rc = -VIGIL_EFULL;
		goto fail;
	}
	if ((rc = store_insert(s, e)) != 0) {
		snprintf(err, errlen, "silence: out of memory");
		goto fail;
	}
	if (old != NULL && silence_state(&old->s, now) != SILENCE_EXPIRED)
		old->s.ends = canon_floor(now); /* changed matchers: the old one ends now */
	res = e;
	e = NULL;
done:
	if (id_out != NULL)
		memcpy(id_out, res->s.id, SILENCE_ID_LEN);
	rc = 0;
fail:
	entry_free(e);
	return rc;
}

int silences_restore(struct silences *s, json_t *j, int32_t part, char *err, size_t errlen)
{
	char id[SILENCE_ID_LEN] = "";
	struct entry *e, *old;
	int rc;

	if (json_is_object(j) && (rc = get_id(j, id, err, errlen)) != 0)
		return rc;
	if ((rc = build(j, 0.0, 1, &e, err, errlen)) != 0)
		return rc;
	if (id[0] == '\0') {
		snprintf(err, errlen, "silence: id is required");
		entry_free(e);
		return -VIGIL_EINVAL;
	}
	memcpy(e->s.id, id, SILENCE_ID_LEN);
	e->s.part = part;
	/* SILENCE_MAX is not applied: a restore brings back what was admitted
	 * (possibly by another gateway, for a partition handed over) */
	old = find_entry(s, id);
	if ((rc = store_insert(s, e)) != 0) {
		snprintf(err, errlen, "silence: out of memory");
		entry_free(e);
		return rc;
	}
	if (old != NULL) {
		store_remove(s, old);
		entry_free(old);
	}
	return 0;
}

int silences_expire(struct silences *s, const char *owner, const char *id, double now)
{
	struct entry *e = id != NULL ? find_entry(s, id) : NULL;

	if (e == NULL || (owner != NULL && strcmp(e->s.owner, owner) != 0))
		return -VIGIL_ENOENT;
	if (silence_state(&e->s, now) != SILENCE_EXPIRED)
		e->s.ends = canon_floor(now);
	return 0;
}

/* ---- reading ---- */

enum silence_state silence_state(const struct silence *x, double now)
{
	if (now >= x->ends)
		return SILENCE_EXPIRED;
	return now < x->starts ? SILENCE_PENDING : SILENCE_ACTIVE;
}

int silence_matches(const struct silence *x, const struct kv *labels, size_t n)
{
	for (size_t i = 0; i < x->nm; i++)
		if (!matcher_match_kv(&x->m[i], labels, n))
			return 0;
	return 1;
}

const struct silence *silences_match(const struct silences *s, const char *owner, const struct kv *labels,
				     size_t n, double now)
{
	const struct group *g = owner != NULL ? find_group(s, owner) : NULL;

	for (size_t i = 0; g != NULL && i < g->n; i++) {
		const struct silence *x = &g->e[i]->s;
		if (silence_state(x, now) == SILENCE_ACTIVE && silence_matches(x, labels, n))
			return x;
	}
	return NULL;
}

const struct silence *silences_find(const struct silences *s, const char *id)
{
	const struct entry *e = id != NULL ? find_entry(s, id) : NULL;
	return e != NULL ? &e->s : NULL;
}

size_t silences_count(const struct silences *s)
{
	return s->n;
}

const struct silence *silences_at(const struct silences *s, size_t i)
{
	return i < s->n ? &s->v[i]->s : NULL;
}

int silence_from_spec(json_t *spec, double now, struct silence **out, char *err, size_t errlen)
{
	char id[SILENCE_ID_LEN] = "";
	struct entry *e;
	int rc;

	if (json_is_object(spec) && (rc = get_id(spec, id, err, errlen)) != 0)
		return rc;
	if ((rc = build(spec, now, 0, &e, err, errlen)) != 0)
		return rc;
	if (id[0] != '\0')
		memcpy(e->s.id, id, SILENCE_ID_LEN);
	else
		content_id(&e->s, 0, e->s.id);
	*out = &e->s;
	return 0;
}

/* ---- housekeeping ---- */

/* Drop and free every silence for which drop(x, arg) holds; how many. */
static size_t drop_where(struct silences *s, int (*drop)(const struct silence *, const void *),
			 const void *arg)
{
	size_t dropped = 0;

	for (size_t i = 0; i < s->n;) {
		struct entry *e = s->v[i];
		if (drop(&e->s, arg)) {
			store_remove(s, e); /* the last entry moves to i */
			entry_free(e);
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

static int past_retention(const struct silence *x, const void *now)
{
	return *(const double *)now - x->ends > SILENCE_RETENTION;
}

size_t silences_gc(struct silences *s, double now)
{
	return drop_where(s, past_retention, &now);
}

double silences_next_change(const struct silences *s, double now)
{
	double next = INFINITY;

	for (size_t i = 0; i < s->n; i++) {
		const struct silence *x = &s->v[i]->s;
		if (x->starts > now && x->starts < next)
			next = x->starts;
		if (x->ends > now && x->ends < next)
			next = x->ends;
	}
	return next;
}

static int of_part(const struct silence *x, const void *part)
{
	return x->part == *(const int32_t *)part;
}

void silences_release(struct silences *s, int32_t part)
{
	drop_where(s, of_part, &part);
}
