/* The Prometheus text exposition format (version 0.0.4), one line per
 * record:
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   name{label="value",...} value [timestamp_ms]
 * Series name = metric name, tags = labels (values unescaped: \\ \" \n).
 * "# TYPE" lines (and only they among comments) set the family's type for
 * the rest of the stream; OpenMetrics's info/stateset/gaugehistogram/unknown
 * count as untyped. By type:
 *  - counter (name or name_total): per-second rate against the previous
 *    sample of the same series (first sample emits nothing; a decrease is a
 *    reset: the new value counted from 0; a sample not newer is skipped);
 *  - histogram, summary: name_count and name_sum as counters (rates);
 *    summary quantiles name{quantile="q"} as they are; histogram buckets
 *    (name_bucket) and *_created samples are skipped (a line-by-line reader
 *    cannot see one scrape's buckets together);
 *  - gauge, untyped, and names without a TYPE line: as they are.
 * NaN, +Inf and -Inf values are skipped (not measurements vigil can score).
 * A sample without a timestamp takes the wall-clock time it is decoded at
 * (clock_wall(): what a scrape does). All-or-nothing per line; errors name
 * the 1-based column. At most PROM_MAX_FAMILIES "# TYPE" names per stream
 * (more: -VIGIL_ELIMIT) and RATE_MAX_SERIES counter series. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/htab.h"

#define PROM_MAX_FAMILIES 65536

enum ptype { PT_UNTYPED, PT_COUNTER, PT_GAUGE, PT_HISTOGRAM, PT_SUMMARY };

struct family {
	char *name;
	uint64_t hash;
	enum ptype type;
};

struct prom {
	struct htab index; /* ids into fams */
	struct family *fams;
	size_t nfam, capfam;
	struct rate_tab *rates;
	char *lbuf; /* unescaped label names and values of the current line */
	size_t lcap;
};

static int is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* A line "name{" (the labelled form): Graphite and Influx never start so. */
static int prom_sniff(const char *rec, size_t len)
{
	size_t i = 0;

	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	if (i == len || !is_name_start(rec[i]))
		return 0;
	while (i < len && is_name_char(rec[i]))
		i++;
	return i < len && rec[i] == '{';
}

static int prom_create(const struct decoder_opts *o, void **priv)
{
	struct prom *p = calloc(1, sizeof *p);

	(void)o;
	*priv = NULL;
	if (p == NULL || rate_tab_new(&p->rates) != 0) {
		free(p);
		return -VIGIL_ENOMEM;
	}
	htab_init(&p->index);
	*priv = p;
	return 0;
}

static void prom_destroy(void *priv)
{
	struct prom *p = priv;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nfam; i++)
		free(p->fams[i].name);
	free(p->fams);
	htab_fini(&p->index);
	rate_tab_free(p->rates);
	free(p->lbuf);
	free(p);
}

static uint64_t fam_hash(const void *ctx, uint32_t id)
{
	const struct prom *p = ctx;
	return p->fams[id].hash;
}

struct fkey {
	const char *s;
	size_t n;
};

static int fam_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct prom *p = ctx;
	const struct fkey *k = key;
	return strlen(p->fams[id].name) == k->n && memcmp(p->fams[id].name, k->s, k->n) == 0;
}

/* The family of name[0..n), or NULL. */
static struct family *fam_find(struct prom *p, const char *s, size_t n)
{
	struct fkey k = {s, n};
	uint32_t id = htab_find(&p->index, hash_mix(hash_bytes(HASH_SEED, s, n)), fam_eq, fam_hash, p, &k);
	return id == HTAB_NONE ? NULL : &p->fams[id];
}

static int fam_set(struct prom *p, const char *s, size_t n, enum ptype t)
{
	struct family *f = fam_find(p, s, n);
	uint64_t h = hash_mix(hash_bytes(HASH_SEED, s, n));

	if (f != NULL) {
		f->type = t;
		return 0;
	}
	if (p->nfam >= PROM_MAX_FAMILIES)
		return -VIGIL_ELIMIT;
	if (p->nfam == p->capfam) {
		size_t nc = p->capfam ? 2 * p->capfam : 32;
		struct family *nf = realloc(p->fams, nc * sizeof *nf);
		if (nf == NULL)
			return -VIGIL_ENOMEM;
		p->fams = nf;
		p->capfam = nc;
	}
	f = &p->fams[p->nfam];
	f->name = strndup(s, n);
	if (f->name == NULL)
		return -VIGIL_ENOMEM;
	f->hash = h;
	f->type = t;
	if (htab_insert(&p->index, h, (uint32_t)p->nfam, fam_hash, p) != 0) {
		free(f->name);
		return -VIGIL_ENOMEM;
	}
	p->nfam++;
	return 0;
}

#define FAIL(col, ...)                                                                                       \
	do {                                                                                                 \
		int w_ = snprintf(err, errlen, "column %zu: ", (size_t)(col));                               \
		if (w_ > 0 && (size_t)w_ < errlen)                                                           \
			snprintf(err + w_, errlen - (size_t)w_, __VA_ARGS__);                                \
		return -VIGIL_EINVAL;                                                                        \
	} while (0)

static int type_line(struct prom *p, const char *rec, size_t len, size_t i, char *err, size_t errlen)
{
	static const struct {
		const char *word;
		enum ptype t;
	} words[] = {{"counter", PT_COUNTER}, {"gauge", PT_GAUGE},      {"histogram", PT_HISTOGRAM},
		     {"summary", PT_SUMMARY}, {"untyped", PT_UNTYPED},  {"unknown", PT_UNTYPED},
		     {"info", PT_UNTYPED},    {"stateset", PT_UNTYPED}, {"gaugehistogram", PT_UNTYPED}};
	size_t ns, ne, ts, te;
	int rc;

	while (i < len && rec[i] == ' ')
		i++;
	ns = i;
	if (i == len || !is_name_start(rec[i]))
		FAIL(i + 1, "# TYPE: expected a metric name");
	while (i < len && is_name_char(rec[i]))
		i++;
	ne = i;
	while (i < len && rec[i] == ' ')
		i++;
	ts = i;
	while (i < len && rec[i] != ' ' && rec[i] != '\t')
		i++;
	te = i;
	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	if (i != len)
		FAIL(i + 1, "# TYPE: unexpected text after the type");
	for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
		if (te - ts == strlen(words[k].word) && memcmp(rec + ts, words[k].word, te - ts) == 0) {
			rc = fam_set(p, rec + ns, ne - ns, words[k].t);
			if (rc == -VIGIL_ELIMIT)
				FAIL(ns + 1, "more than %d metric types in this stream", PROM_MAX_FAMILIES);
			if (rc != 0)
				FAIL(ns + 1, "out of memory");
			return 0;
		}
	FAIL(ts + 1, "# TYPE: unknown type \"%.*s\" (counter, gauge, histogram, summary, untyped)",
	     (int)(te - ts > 32 ? 32 : te - ts), rec + ts);
}

/* What to do with a sample of this name: 0 as is, 1 rate, -1 skip. */
static int sample_kind(struct prom *p, const char *name, size_t n)
{
	static const char *const sfx[] = {"_total", "_count", "_sum", "_bucket", "_created"};
	struct family *f = fam_find(p, name, n);

	if (f != NULL)
		return f->type == PT_COUNTER ? 1 : 0; /* summary quantiles, gauges */
	for (size_t k = 0; k < sizeof sfx / sizeof sfx[0]; k++) {
		size_t sl = strlen(sfx[k]);
		if (n <= sl || memcmp(name + n - sl, sfx[k], sl) != 0)
			continue;
		f = fam_find(p, name, n - sl);
		if (f == NULL)
			continue;
		if (k == 4)
			return -1; /* _created: a start time, not a sample */
		if (f->type == PT_COUNTER)
			return k == 0 ? 1 : 0;
		if (f->type == PT_HISTOGRAM || f->type == PT_SUMMARY)
			return k == 3 ? -1 : (k == 1 || k == 2) ? 1 : 0;
		return 0;
	}
	return 0;
}

static int prom_decode(void *priv, const char *rec, size_t len, point_emit_fn emit, void *ctx, char *err,
		       size_t errlen)
{
	struct prom *p = priv;
	struct point pt;
	size_t i = 0, ns, ne, lused = 0, loff[2 * POINT_MAX_TAGS];
	double v, ts;
	int nonfinite = 0, kind, rc;
	char name[POINT_MAX_NAME + 1];

	if (p == NULL)
		FAIL(1, "prometheus decoder has no state");
	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	if (i < len && rec[i] == '#') {
		if (len - i >= 7 && memcmp(rec + i, "# TYPE ", 7) == 0)
			return type_line(p, rec, len, i + 7, err, errlen);
		return 0; /* # HELP and other comments */
	}
	memset(&pt, 0, sizeof pt);
	ns = i;
	if (i == len || !is_name_start(rec[i]))
		FAIL(i + 1, "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
	while (i < len && is_name_char(rec[i]))
		i++;
	ne = i;
	if (ne - ns > POINT_MAX_NAME)
		FAIL(ns + 1, "metric name longer than %d bytes", POINT_MAX_NAME);
	memcpy(name, rec + ns, ne - ns);
	name[ne - ns] = '\0';
	if (p->lcap < len + 1) { /* unescaped labels never outgrow the line */
		char *nb = realloc(p->lbuf, len + 1);
		if (nb == NULL)
			FAIL(1, "out of memory");
		p->lbuf = nb;
		p->lcap = len + 1;
	}
	if (i < len && rec[i] == '{') {
		i++;
		for (;;) {
			size_t ks;
			while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
				i++;
			if (i < len && rec[i] == '}') {
				i++;
				break;
			}
			if (i == len || !(is_name_start(rec[i]) && rec[i] != ':'))
				FAIL(i + 1, "expected a label name or '}'");
			if (pt.ntags == POINT_MAX_TAGS)
				FAIL(i + 1, "more than %d labels", POINT_MAX_TAGS);
			ks = i;
			while (i < len && is_name_char(rec[i]) && rec[i] != ':')
				i++;
			loff[2 * pt.ntags] = lused;
			memcpy(p->lbuf + lused, rec + ks, i - ks);
			lused += i - ks;
			p->lbuf[lused++] = '\0';
			while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
				i++;
			if (i == len || rec[i] != '=')
				FAIL(i + 1, "expected '=' after label name");
			i++;
			while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
				i++;
			if (i == len || rec[i] != '"')
				FAIL(i + 1, "expected '\"' to open the label value");
			i++;
			loff[2 * pt.ntags + 1] = lused;
			for (;;) {
				if (i == len)
					FAIL(i + 1, "unterminated label value");
				if (rec[i] == '"')
					break;
				if (rec[i] == '\\') {
					if (i + 1 == len)
						FAIL(i + 1, "unterminated label value");
					char c = rec[i + 1];
					if (c != '\\' && c != '"' && c != 'n')
						FAIL(i + 1,
						     "invalid escape \\%c in label value (\\\\, \\\", \\n)",
						     c);
					p->lbuf[lused++] = c == 'n' ? '\n' : c;
					i += 2;
					continue;
				}
				p->lbuf[lused++] = rec[i++];
			}
			p->lbuf[lused++] = '\0';
			i++;
			for (int k = 0; k < pt.ntags; k++)
				if (strcmp(p->lbuf + loff[2 * k], p->lbuf + loff[2 * pt.ntags]) == 0)
					FAIL(ks + 1, "label \"%s\" repeated", p->lbuf + loff[2 * k]);
			pt.ntags++;
			while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
				i++;
			if (i < len && rec[i] == ',') {
				i++;
				continue;
			}
			if (i < len && rec[i] == '}') {
				i++;
				break;
			}
			FAIL(i + 1, "expected ',' or '}' after a label");
		}
	}
	if (i == len || (rec[i] != ' ' && rec[i] != '\t'))
		FAIL(i + 1, "expected a space and the value");
	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	size_t vs = i;
	while (i < len && rec[i] != ' ' && rec[i] != '\t')
		i++;
	if (i == vs)
		FAIL(vs + 1, "missing value");
	if (parse_finite(rec + vs, i - vs, &v) != 0) {
		static const char *const nf[] = {"NaN", "+Inf", "-Inf", "Inf"};
		for (size_t k = 0; k < 4; k++)
			if (i - vs == strlen(nf[k]) && strncasecmp(rec + vs, nf[k], i - vs) == 0)
				nonfinite = 1;
		if (!nonfinite)
			FAIL(vs + 1, "value \"%.*s\" is not a number (or NaN, +Inf, -Inf)",
			     (int)(i - vs > 40 ? 40 : i - vs), rec + vs);
	}
	while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
		i++;
	if (i < len) {
		size_t ts0 = i;
		long long ms = 0;
		int neg = 0;
		if (rec[i] == '-' || rec[i] == '+')
			neg = rec[i++] == '-';
		if (i == len || rec[i] < '0' || rec[i] > '9')
			FAIL(ts0 + 1, "timestamp must be integer milliseconds");
		for (; i < len && rec[i] != ' ' && rec[i] != '\t'; i++) {
			if (rec[i] < '0' || rec[i] > '9')
				FAIL(ts0 + 1, "timestamp must be integer milliseconds");
			if (ms > 922337203685477LL) /* keeps ms * 10 + 9 in range; > year 294,000 */
				FAIL(ts0 + 1, "timestamp out of range");
			ms = ms * 10 + (rec[i] - '0');
		}
		while (i < len && (rec[i] == ' ' || rec[i] == '\t'))
			i++;
		if (i != len)
			FAIL(i + 1, "unexpected text after the timestamp");
		ts = (double)(neg ? -ms : ms) / 1000.0;
	} else {
		ts = clock_wall();
	}
	for (int k = 0; k < pt.ntags; k++) {
		pt.tags[k].key = p->lbuf + loff[2 * k];
		pt.tags[k].value = p->lbuf + loff[2 * k + 1];
	}
	kind = sample_kind(p, name, ne - ns);
	if (nonfinite || kind < 0)
		return 0;
	pt.name = name;
	pt.ts = ts;
	pt.value = v;
	if (kind == 1) {
		if (v < 0)
			FAIL(vs + 1, "counter value is negative");
		struct rate_ent *e = rate_get(p->rates, name, NULL, pt.tags, pt.ntags, &rc);
		if (e == NULL)
			FAIL(1, "%s",
			     rc == -VIGIL_ELIMIT ? "too many counter series in this stream"
						 : "out of memory");
		if (!rate_step(e, v, ts, &pt.value))
			return 0;
	}
	return emit(ctx, &pt);
}

const struct decoder_type dec_prometheus = {
	.name = "prometheus",
	.summary =
		"Prometheus text exposition (# TYPE, labels, optional ms timestamps); counters become rates",
	.wants_comments = 1,
	.sniff = prom_sniff,
	.create = prom_create,
	.destroy = prom_destroy,
	.decode = prom_decode,
};
