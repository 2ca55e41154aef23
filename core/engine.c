/* The engine, see engine.h. Per series it keeps one block holding, for each
 * rule that watches the series, a slot header (rule index + rule state) and
 * the detector state, so a series costs one allocation. */
#include "core/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "consumers/decoder.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/series.h"

#define KEY_MAX 4096
#define DEFAULT_MAX_SERIES 1000000
#define ENGINE_MAGIC 0x4e454756u /* "VGEN" */
#define ENGINE_VERSION 1u

struct slot {
	uint32_t rule;
	uint32_t det_off; /* byte offset of the detector state within the block */
	struct rule_state st;
};

struct engine {
	const struct ruleset *rs;
	struct decoder *dec;
	engine_alert_fn on_alert;
	void *alert_ctx;
	size_t max_series;
	struct series_table tab;
	size_t *owner_series; /* series count per owner index */
	uint8_t *owner_limit_told;
	int global_limit_told;
	size_t block_bytes;
	double now;
	struct engine_stats st;
	struct complain reject_complain, limit_complain;
	/* scratch for the record being decoded */
	const char *cur_source;
	int64_t cur_pos;
	char key[KEY_MAX];
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

int engine_create(const struct engine_opts *o, struct engine **out, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof *e);
	struct decoder_opts dopts = { .default_series = o->default_series };
	int rc;

	if (e == NULL)
		goto nomem;
	e->rs = o->rs;
	e->on_alert = o->on_alert;
	e->alert_ctx = o->alert_ctx;
	e->max_series = o->max_series ? o->max_series : DEFAULT_MAX_SERIES;
	e->now = -INFINITY;
	series_table_init(&e->tab);
	e->owner_series = calloc(o->rs->nowners + 1, sizeof *e->owner_series);
	e->owner_limit_told = calloc(o->rs->nowners + 1, 1);
	if (e->owner_series == NULL || e->owner_limit_told == NULL)
		goto nomem;
	rc = decoder_open(o->format ? o->format : "auto", &dopts, &e->dec, err, errlen);
	if (rc != 0) {
		engine_destroy(e);
		return rc;
	}
	*out = e;
	return 0;
nomem:
	engine_destroy(e);
	snprintf(err, errlen, "out of memory");
	return -VIGIL_ENOMEM;
}

static void free_block(struct engine *e, struct series *s)
{
	struct slot *sl = s->block;
	for (uint32_t i = 0; i < s->nslots; i++) {
		const struct rule *r = &e->rs->rules[sl[i].rule];
		det_state_fini(&r->det, (char *)s->block + sl[i].det_off);
	}
	free(s->block);
	s->block = NULL;
	s->nslots = 0;
}

static void clear_series(struct engine *e)
{
	for (size_t i = 0; i < e->tab.n; i++)
		free_block(e, &e->tab.items[i]);
	series_table_fini(&e->tab);
	series_table_init(&e->tab);
	memset(e->owner_series, 0, (e->rs->nowners + 1) * sizeof *e->owner_series);
	e->block_bytes = 0;
}

void engine_destroy(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->rs)
		clear_series(e);
	series_table_fini(&e->tab);
	decoder_close(e->dec);
	free(e->owner_series);
	free(e->owner_limit_told);
	free(e);
}

void engine_note_reject(struct engine *e, const char *source, int64_t pos, const char *msg)
{
	e->st.rejected++;
	if (complain_due(&e->reject_complain, e->now > 0 ? e->now : 0, 10.0, 20)) {
		if (e->reject_complain.suppressed) {
			LOG_WARN("input", "event=rejected_suppressed count=%llu",
				 (unsigned long long)e->reject_complain.suppressed);
			e->reject_complain.suppressed = 0;
		}
		LOG_WARN("input", "event=rejected where=%s:%lld: %s", source ? source : "-", (long long)pos, msg);
	}
}

double engine_now(const struct engine *e) { return e->now; }

/* Emit a meta alert about a refused series (once per limit). */
static void limit_alert(struct engine *e, const char *owner, size_t limit, const struct point *p)
{
	struct alert_event ev;
	char summary[256];

	memset(&ev, 0, sizeof ev);
	snprintf(summary, sizeof summary,
		 "series limit %zu reached%s%s: new series are refused until the limit is raised", limit,
		 owner ? " for owner " : "", owner ? owner : "");
	ev.status = ALERT_FIRING;
	ev.rule = "vigil-series-limit";
	ev.owner = owner ? owner : "vigil";
	ev.action = "notify";
	ev.detector = "none";
	ev.series = e->key;
	ev.name = p->name;
	ev.summary = summary;
	ev.ts = ev.started = p->ts;
	ev.value = p->value;
	ev.expected = ev.lower = ev.upper = ev.score = NAN;
	ev.direction = "both";
	ev.threshold = NAN;
	ev.source = e->cur_source;
	ev.start_pos = ev.pos = e->cur_pos;
	e->st.alerts++;
	if (e->on_alert && e->on_alert(e->alert_ctx, &ev) != 0)
		e->st.alert_failures++;
}

static int refuse(struct engine *e, const struct point *p, const struct owner *o, size_t limit)
{
	size_t oi = o ? (size_t)(o - e->rs->owners) : e->rs->nowners;
	e->st.series_refused++;
	if (complain_due(&e->limit_complain, p->ts, 60.0, 1))
		LOG_ERR("series", "event=series_refused limit=%zu owner=%s series=%s refused_total=%llu", limit,
			o ? o->name : "(global)", e->key, (unsigned long long)e->st.series_refused);
	if (o ? !e->owner_limit_told[oi] : !e->global_limit_told) {
		if (o)
			e->owner_limit_told[oi] = 1;
		else
			e->global_limit_told = 1;
		limit_alert(e, o ? o->name : NULL, limit, p);
	}
	return -VIGIL_ELIMIT;
}

/* Create the series for p: match rules, check limits, build its block. */
static struct series *add_series(struct engine *e, const struct point *p, size_t klen, uint64_t h)
{
	uint32_t matched[256];
	size_t nm = 0, bytes;
	struct series *s;

	if (e->tab.n >= e->max_series) {
		refuse(e, p, NULL, e->max_series);
		return NULL;
	}
	for (size_t i = 0; i < e->rs->nrules && nm < VIGIL_ARRAY_LEN(matched); i++)
		if (rule_matches(&e->rs->rules[i], p->name, p->tags, p->ntags))
			matched[nm++] = (uint32_t)i;
	for (size_t i = 0; i < nm; i++) {
		const struct owner *o = e->rs->rules[matched[i]].owner;
		if (o && o->max_series && e->owner_series[o - e->rs->owners] >= o->max_series) {
			refuse(e, p, o, o->max_series);
			return NULL;
		}
	}
	bytes = align8(nm * sizeof(struct slot));
	for (size_t i = 0; i < nm; i++)
		bytes += align8(det_state_size(&e->rs->rules[matched[i]].det));
	s = series_insert(&e->tab, e->key, klen, h);
	if (s == NULL)
		return NULL;
	if (nm == 0)
		return s;
	s->block = calloc(1, bytes);
	if (s->block == NULL)
		return s; /* watched by nothing rather than lost: counted as unmatched */
	struct slot *sl = s->block;
	size_t off = align8(nm * sizeof(struct slot));
	for (size_t i = 0; i < nm; i++) {
		const struct rule *r = &e->rs->rules[matched[i]];
		sl[i].rule = matched[i];
		sl[i].det_off = (uint32_t)off;
		if (det_state_init(&r->det, (char *)s->block + off) != 0)
			LOG_ERR("detector", "event=init_failed rule=%s series=%s", r->name, e->key);
		off += align8(det_state_size(&r->det));
	}
	s->nslots = (uint32_t)nm;
	e->block_bytes += bytes;
	/* count each owner once per series */
	for (size_t i = 0; i < nm; i++) {
		const struct owner *o = e->rs->rules[matched[i]].owner;
		int seen = 0;
		for (size_t j = 0; j < i; j++)
			seen |= e->rs->rules[matched[j]].owner == o;
		if (o && !seen)
			e->owner_series[o - e->rs->owners]++;
	}
	return s;
}

static void emit(struct engine *e, const struct rule *r, const struct rule_state *st, enum rule_transition tr,
		 const struct point *p, const struct det_result *res)
{
	struct alert_event ev;
	size_t nl = 0;

	memset(&ev, 0, sizeof ev);
	ev.status = tr == RULE_FIRE ? ALERT_FIRING : ALERT_RESOLVED;
	ev.rule = r->name;
	ev.owner = r->owner ? r->owner->name : "unowned";
	ev.action = rule_action_name(r->action);
	ev.detector = r->det.type->name;
	ev.series = e->key;
	ev.name = p->name;
	ev.summary = r->summary;
	ev.runbook_url = r->runbook_url;
	for (int i = 0; i < p->ntags && nl < ALERT_MAX_LABELS; i++, nl++) {
		ev.labels[nl].key = p->tags[i].key;
		ev.labels[nl].value = p->tags[i].value;
	}
	for (size_t i = 0; i < r->nlabels && nl < ALERT_MAX_LABELS; i++, nl++)
		ev.labels[nl] = r->labels[i];
	ev.nlabels = nl;
	ev.ts = p->ts;
	ev.started = st->started;
	ev.value = p->value;
	ev.expected = res->expected;
	ev.lower = res->lower;
	ev.upper = res->upper;
	ev.score = tr == RULE_FIRE ? res->score : st->peak_score;
	ev.direction = rule_direction_name(r->direction);
	ev.threshold = r->threshold;
	ev.source = e->cur_source;
	ev.start_pos = st->start_pos;
	ev.pos = e->cur_pos;
	e->st.alerts++;
	if (e->on_alert && e->on_alert(e->alert_ctx, &ev) != 0)
		e->st.alert_failures++;
}

int engine_point(struct engine *e, const struct point *p, const char *source, int64_t pos)
{
	int klen;
	uint64_t h;
	struct series *s;

	e->cur_source = source;
	e->cur_pos = pos;
	e->st.points++;
	klen = series_key(p, e->key, sizeof e->key);
	if (klen < 0) {
		engine_note_reject(e, source, pos, "series key too long");
		return -VIGIL_EINVAL;
	}
	h = hash_mix(hash_bytes(HASH_SEED, e->key, (size_t)klen));
	s = series_find(&e->tab, e->key, (size_t)klen, h);
	if (s == NULL && (s = add_series(e, p, (size_t)klen, h)) == NULL)
		return -VIGIL_ELIMIT;
	if (!(p->ts > s->last_ts)) {
		e->st.out_of_order++;
		return 0;
	}
	s->last_ts = p->ts;
	if (p->ts > e->now)
		e->now = p->ts;
	if (s->nslots == 0) {
		e->st.unmatched++;
		return 0;
	}
	struct slot *sl = s->block;
	for (uint32_t i = 0; i < s->nslots; i++) {
		const struct rule *r = &e->rs->rules[sl[i].rule];
		struct det_result res;
		if (r->det.type->update(r->det.cfg, (char *)s->block + sl[i].det_off, p->ts, p->value, &res) != 0) {
			e->st.det_errors++;
			continue;
		}
		enum rule_transition tr = rule_eval(r, &sl[i].st, p->ts, p->value, &res, pos);
		if (tr != RULE_NONE)
			emit(e, r, &sl[i].st, tr, p, &res);
	}
	return 0;
}

struct feed_ctx {
	struct engine *e;
	const char *source;
	int64_t pos;
};

static int feed_emit(void *ctx, const struct point *p)
{
	struct feed_ctx *fc = ctx;
	engine_point(fc->e, p, fc->source, fc->pos);
	return 0;
}

int engine_feed(struct engine *e, const char *source, int64_t pos, const char *rec, size_t len)
{
	struct feed_ctx fc = { e, source, pos };
	char err[512];
	int rc;

	e->st.records++;
	rc = decoder_feed(e->dec, rec, len, feed_emit, &fc, err, sizeof err);
	if (rc != 0) {
		engine_note_reject(e, source, pos, err);
		return -VIGIL_EINVAL;
	}
	return 0;
}

void engine_get_stats(const struct engine *e, struct engine_stats *out)
{
	*out = e->st;
	out->series = e->tab.n;
	out->bytes = sizeof *e + series_table_bytes(&e->tab) + e->block_bytes;
}

/* ---- checkpoint ----
 * u32 magic, u32 version, u32 nrules, nrules × str rule name,
 * u64 nseries, per series: str key, f64 last_ts, u32 nslots,
 *   per slot: u32 rule index (into the saved names), rule_state bytes,
 *   u32 det blob length, det blob (det_state_save envelope). */

int engine_save(const struct engine *e, struct buf *out)
{
	buf_put_u32(out, ENGINE_MAGIC);
	buf_put_u32(out, ENGINE_VERSION);
	buf_put_u32(out, (uint32_t)e->rs->nrules);
	for (size_t i = 0; i < e->rs->nrules; i++)
		buf_put_str(out, e->rs->rules[i].name);
	buf_put_u64(out, e->tab.n);
	for (size_t i = 0; i < e->tab.n; i++) {
		const struct series *s = &e->tab.items[i];
		const struct slot *sl = s->block;
		buf_put_u32(out, s->key_len);
		buf_put(out, series_key_str(&e->tab, s), s->key_len);
		buf_put_f64(out, s->last_ts);
		buf_put_u32(out, s->nslots);
		for (uint32_t j = 0; j < s->nslots; j++) {
			const struct rule *r = &e->rs->rules[sl[j].rule];
			size_t at;
			uint32_t blen;
			buf_put_u32(out, sl[j].rule);
			buf_put(out, &sl[j].st, sizeof sl[j].st);
			at = out->len;
			buf_put_u32(out, 0);
			int rc = det_state_save(&r->det, (const char *)s->block + sl[j].det_off, out);
			if (rc != 0)
				return rc;
			if (!buf_ok(out))
				return -VIGIL_ENOMEM;
			blen = (uint32_t)(out->len - at - sizeof blen);
			memcpy(out->data + at, &blen, sizeof blen);
		}
	}
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

/* Parse a canonical key back into a point (name + tags) in scratch storage. */
static int key_to_point(const char *key, size_t len, char *scratch, struct point *p)
{
	size_t o = 0;
	char *field = scratch;
	int state = 0; /* 0 name, 1 tag key, 2 tag value */

	memset(p, 0, sizeof *p);
	p->name = scratch;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (c == '\\' && i + 1 < len) {
			scratch[o++] = key[++i];
			continue;
		}
		if (state == 0 && c == '{') {
			scratch[o++] = '\0';
			field = scratch + o;
			state = 1;
		} else if (state == 1 && c == '=') {
			scratch[o++] = '\0';
			if (p->ntags >= POINT_MAX_TAGS)
				return -1;
			p->tags[p->ntags].key = field;
			field = scratch + o;
			state = 2;
		} else if (state == 2 && (c == ',' || c == '}')) {
			scratch[o++] = '\0';
			p->tags[p->ntags++].value = field;
			field = scratch + o;
			state = 1;
		} else {
			scratch[o++] = c;
		}
	}
	scratch[o] = '\0';
	return state == 2 ? -1 : 0;
}

int engine_load(struct engine *e, const uint8_t *data, size_t len)
{
	struct reader r = reader_of(data, len);
	uint32_t magic = rd_u32(&r), version = rd_u32(&r), nrules = rd_u32(&r);
	int32_t *map = NULL;
	char *scratch = NULL, *key = NULL;
	int rc = -VIGIL_EINVAL;

	clear_series(e);
	if (!reader_ok(&r) || magic != ENGINE_MAGIC)
		return -VIGIL_EINVAL;
	if (version != ENGINE_VERSION)
		return -VIGIL_EVERSION;
	if (nrules > 1000000 || (map = calloc(nrules + 1, sizeof *map)) == NULL)
		return -VIGIL_EINVAL;
	for (uint32_t i = 0; i < nrules; i++) {
		uint32_t n = rd_u32(&r);
		char name[512];
		map[i] = -1;
		if (!reader_ok(&r) || n >= sizeof name)
			goto out;
		rd_get(&r, name, n);
		name[n] = '\0';
		for (size_t k = 0; k < e->rs->nrules; k++)
			if (strcmp(e->rs->rules[k].name, name) == 0)
				map[i] = (int32_t)k;
	}
	uint64_t nseries = rd_u64(&r);
	if (!reader_ok(&r) || nseries > e->max_series)
		goto out;
	scratch = malloc(KEY_MAX + 1);
	key = malloc(KEY_MAX + 1);
	if (scratch == NULL || key == NULL)
		goto out;
	for (uint64_t i = 0; i < nseries; i++) {
		uint32_t klen = rd_u32(&r), nslots;
		struct point p;
		struct series *s;
		if (!reader_ok(&r) || klen >= KEY_MAX)
			goto out;
		rd_get(&r, key, klen);
		key[klen] = '\0';
		double last_ts = rd_f64(&r);
		nslots = rd_u32(&r);
		if (!reader_ok(&r) || key_to_point(key, klen, scratch, &p) != 0)
			goto out;
		memcpy(e->key, key, klen + 1);
		p.ts = last_ts;
		uint64_t h = hash_mix(hash_bytes(HASH_SEED, key, klen));
		s = series_find(&e->tab, key, klen, h);
		if (s == NULL && (s = add_series(e, &p, klen, h)) == NULL)
			goto out;
		s->last_ts = last_ts;
		for (uint32_t j = 0; j < nslots; j++) {
			uint32_t ri = rd_u32(&r), blen;
			struct rule_state st;
			rd_get(&r, &st, sizeof st);
			blen = rd_u32(&r);
			if (!reader_ok(&r) || ri >= nrules || blen > r.left)
				goto out;
			const uint8_t *blob = r.p;
			r.p += blen;
			r.left -= blen;
			/* find the slot of the same (current) rule in the rebuilt block */
			struct slot *sl = s->block;
			for (uint32_t k = 0; map[ri] >= 0 && k < s->nslots; k++) {
				if (sl[k].rule != (uint32_t)map[ri])
					continue;
				const struct rule *ru = &e->rs->rules[sl[k].rule];
				if (det_state_load(&ru->det, (char *)s->block + sl[k].det_off, blob, blen) == 0)
					sl[k].st = st;
			}
		}
	}
	rc = r.left == 0 ? 0 : -VIGIL_EINVAL;
out:
	if (rc != 0)
		clear_series(e);
	free(map);
	free(scratch);
	free(key);
	return rc;
}
