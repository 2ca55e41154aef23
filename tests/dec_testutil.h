/* Shared helpers for the per-format decoder tests (tests/test_dec_*.c): a
 * point collector that checks the decoder contract on every point (name,
 * tags valid UTF-8, finite ts and value) and keeps copies, and a feeder.
 * Include after <cmocka.h> and tests/testutil.h. Everything is static. */
#ifndef TESTS_DEC_TESTUTIL_H
#define TESTS_DEC_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"

#define DT_MAXPTS 4096

struct dt_point {
	char name[POINT_MAX_NAME + 1];
	char tags[1024]; /* "k=v,k=v" sorted by key */
	double ts, value;
};

struct dt_sink {
	struct dt_point pts[DT_MAXPTS];
	int n;
	long total; /* points seen, including those past DT_MAXPTS */
};

static inline int dt_tag_cmp(const void *a, const void *b)
{
	const struct tag *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c != 0 ? c : strcmp(x->value, y->value);
}

static inline int dt_collect(void *ctx, const struct point *p)
{
	struct dt_sink *s = ctx;
	struct tag t[POINT_MAX_TAGS];
	struct dt_point *g;
	size_t used = 0;

	assert_non_null(p->name);
	assert_true(p->name[0] != '\0');
	assert_true(strlen(p->name) <= POINT_MAX_NAME);
	assert_true(utf8_valid(p->name, strlen(p->name), NULL));
	assert_true(p->ntags >= 0 && p->ntags <= POINT_MAX_TAGS);
	assert_true(isfinite(p->ts));
	assert_true(isfinite(p->value));
	for (int i = 0; i < p->ntags; i++) {
		assert_true(utf8_valid(p->tags[i].key, strlen(p->tags[i].key), NULL));
		assert_true(utf8_valid(p->tags[i].value, strlen(p->tags[i].value), NULL));
		t[i] = p->tags[i];
	}
	s->total++;
	if (s->n >= DT_MAXPTS)
		return 0;
	g = &s->pts[s->n++];
	snprintf(g->name, sizeof g->name, "%s", p->name);
	qsort(t, (size_t)p->ntags, sizeof t[0], dt_tag_cmp);
	g->tags[0] = '\0';
	for (int i = 0; i < p->ntags; i++) {
		int w = snprintf(g->tags + used, sizeof g->tags - used, "%s%s=%s", i ? "," : "", t[i].key,
				 t[i].value);
		if (w > 0 && (size_t)w < sizeof g->tags - used)
			used += (size_t)w;
	}
	g->ts = p->ts;
	g->value = p->value;
	return 0;
}

static char dt_err[1024];

static inline int dt_feed(struct decoder *d, struct dt_sink *s, const char *rec)
{
	dt_err[0] = '\0';
	return decoder_feed(d, rec, strlen(rec), dt_collect, s, dt_err, sizeof dt_err);
}

/* Expect rejection with err containing want (and "column "). */
static inline void dt_bad(struct decoder *d, const char *rec, const char *want)
{
	struct dt_sink *s = calloc(1, sizeof *s);
	assert_non_null(s);
	if (dt_feed(d, s, rec) == 0)
		fail_msg("accepted: %s", rec);
	if (s->n != 0)
		fail_msg("rejected record emitted %d points: %s", s->n, rec);
	if (strncmp(dt_err, "column ", 7) != 0 || strstr(dt_err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" (record %s)", dt_err, want, rec);
	free(s);
}

static inline struct decoder *dt_open(const char *fmt, const struct decoder_opts *o)
{
	struct decoder *d = NULL;
	char err[256];
	if (decoder_open(fmt, o, &d, err, sizeof err) != 0)
		fail_msg("decoder_open(%s): %s", fmt, err);
	return d;
}

/* Index of the first point named name with tags, from index from; -1 if none. */
static inline int dt_find(const struct dt_sink *s, int from, const char *name, const char *tags)
{
	for (int i = from; i < s->n; i++)
		if (strcmp(s->pts[i].name, name) == 0 && strcmp(s->pts[i].tags, tags) == 0)
			return i;
	return -1;
}

static inline void dt_expect(const struct dt_sink *s, const char *name, const char *tags, double ts,
			     double value)
{
	int i = dt_find(s, 0, name, tags);
	if (i < 0)
		fail_msg("no point %s{%s}", name, tags);
	assert_near(s->pts[i].ts, ts, 1e-9);
	assert_near(s->pts[i].value, value, 1e-9);
}

/* Read a file of one record per line; calls fn for each line. */
static inline int dt_lines(const char *path, int (*fn)(void *arg, const char *line, int no), void *arg)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int no = 0, rc = 0;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		rc = fn(arg, line, ++no);
	}
	free(line);
	fclose(f);
	return rc;
}

#endif
