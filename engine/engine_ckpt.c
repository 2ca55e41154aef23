/* Checkpoint encoding of an engine (engine_save / engine_load, engine.h). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "engine/engine_int.h"
#include "core/buf.h"
#include "core/log.h"

/* ---- checkpoint ----
 * u32 magic, u32 version, u32 nrules, nrules × (str rule name, u64
 *   model_hash: version 3 on),
 * u64 nseries, per series: str key, f64 last_ts, (version 4 on: f64 held_ts,
 *   -inf when none, f64 held value), u32 nslots,
 *   per slot: u32 rule index (into the saved names), rule_state bytes,
 *   u32 det blob length, det blob (det_state_save envelope; empty for a
 *   group rule),
 * u64 ngroups, per group: str key, u32 rule index (saved names), f64 clock,
 *   i64 last_closed, i64 hi, u32 n members, per member: str series key,
 *   i64 newest tick; u32 open ticks, per open tick: i64 tick, per member:
 *   u8 present, f64 value, f64 ts, i64 pos; u32 blob length, blob
 *   (group_state_save envelope).
 * A saved rule's states go to the current rule of the same name only when
 * its model_hash (name, series, match, detector, params, peer_group, owner:
 * what engine_reload compares) is equal too; else that rule's series start
 * new models, logged once per rule with the number of series dropped.
 * Version 2 blobs (no hash) match by name alone, as they always did.
 * Version 1 blobs (before peer groups) are refused with -VIGIL_EVERSION. */

static void put_i64(struct buf *out, int64_t v)
{
	buf_put_u64(out, (uint64_t)v);
}
static int64_t rd_i64(struct reader *r)
{
	return (int64_t)rd_u64(r);
}

static int save_groups(const struct engine *e, struct buf *out)
{
	buf_put_u64(out, e->gtab.n);
	for (size_t i = 0; i < e->gtab.n; i++) {
		const struct series *gs = &e->gtab.items[i];
		const struct group *g = gs->block;
		const struct rule *r = &e->rs->rules[g->rule];
		uint32_t nopen = 0;
		size_t at;
		uint32_t blen;
		int rc;

		buf_put_u32(out, gs->key_len);
		buf_put(out, series_key_str(&e->gtab, gs), gs->key_len);
		buf_put_u32(out, g->rule);
		buf_put_f64(out, g->clock);
		put_i64(out, g->last_closed);
		put_i64(out, g->hi);
		buf_put_u32(out, g->n);
		for (uint32_t m = 0; m < g->n; m++) {
			const struct series *ms = &e->tab.items[g->mem[m].series];
			buf_put_u32(out, ms->key_len);
			buf_put(out, series_key_str(&e->tab, ms), ms->key_len);
			put_i64(out, g->mem[m].tick);
		}
		for (uint32_t w = 0; w < g->W; w++)
			nopen += g->pend[w].tick != TICK_NONE;
		buf_put_u32(out, nopen);
		for (uint32_t w = 0; w < g->W; w++) {
			if (g->pend[w].tick == TICK_NONE)
				continue;
			put_i64(out, g->pend[w].tick);
			for (uint32_t m = 0; m < g->n; m++) {
				const struct pval *v = &g->pend[w].v[m];
				buf_put(out, &v->present,
					1); /* an absent member's entry is written as zeros */
				buf_put_f64(out, v->present ? v->val : 0.0);
				buf_put_f64(out, v->present ? v->ts : 0.0);
				put_i64(out, v->present ? v->pos : 0);
			}
		}
		at = out->len;
		buf_put_u32(out, 0);
		if ((rc = group_state_save(eng_rule_group(r), r->det.cfg, g->det, out)) != 0)
			return rc;
		if (!buf_ok(out))
			return -VIGIL_ENOMEM;
		blen = (uint32_t)(out->len - at - sizeof blen);
		memcpy(out->data + at, &blen, sizeof blen);
	}
	return 0;
}

int engine_save(const struct engine *e, struct buf *out)
{
	buf_put_u32(out, ENGINE_MAGIC);
	buf_put_u32(out, ENGINE_VERSION);
	buf_put_u32(out, (uint32_t)e->rs->nrules);
	for (size_t i = 0; i < e->rs->nrules; i++) {
		buf_put_str(out, e->rs->rules[i].name);
		buf_put_u64(out, e->rs->rules[i].model_hash);
	}
	buf_put_u64(out, e->tab.n);
	for (size_t i = 0; i < e->tab.n; i++) {
		const struct series *s = &e->tab.items[i];
		const struct slot *sl = s->block;
		buf_put_u32(out, s->key_len);
		buf_put(out, series_key_str(&e->tab, s), s->key_len);
		buf_put_f64(out, s->last_ts);
		buf_put_f64(out, s->held_ts);
		buf_put_f64(out, s->held_val);
		buf_put_u32(out, s->nslots);
		for (uint32_t j = 0; j < s->nslots; j++) {
			const struct rule *r = &e->rs->rules[sl[j].rule];
			size_t at;
			uint32_t blen;
			buf_put_u32(out, sl[j].rule);
			buf_put(out, &sl[j].st, sizeof sl[j].st);
			at = out->len;
			buf_put_u32(out, 0);
			if (eng_rule_group(r) != NULL)
				continue;
			int rc = det_state_save(&r->det, (const char *)s->block + sl[j].det_off, out);
			if (rc != 0)
				return rc;
			if (!buf_ok(out))
				return -VIGIL_ENOMEM;
			blen = (uint32_t)(out->len - at - sizeof blen);
			memcpy(out->data + at, &blen, sizeof blen);
		}
	}
	int rc = save_groups(e, out);
	if (rc != 0)
		return rc;
	return buf_ok(out) ? 0 : -VIGIL_ENOMEM;
}

/* Parse a canonical key back into a point (name + tags) in scratch storage. */
static int load_group(struct engine *e, struct reader *r, const int32_t *map, uint32_t nrules, char *key)
{
	uint32_t klen = rd_u32(r), ri, n, nopen, blen;
	char gkey[KEY_MAX];
	struct group *g = NULL;
	const struct rule *ru = NULL;
	struct slot **slots = NULL;
	uint64_t h;
	struct series *gs;
	int ok = 1, rc = -VIGIL_EINVAL;

	if (!reader_ok(r) || klen >= KEY_MAX)
		return -VIGIL_EINVAL;
	rd_get(r, gkey, klen);
	ri = rd_u32(r);
	if (!reader_ok(r) || ri >= nrules)
		return -VIGIL_EINVAL;
	if (map[ri] < 0 || eng_rule_group(&e->rs->rules[map[ri]]) == NULL)
		ok = 0;
	else
		ru = &e->rs->rules[map[ri]];
	if (ok && (g = eng_group_new(ru, (uint32_t)map[ri])) == NULL)
		return -VIGIL_ENOMEM;
	double clock = rd_f64(r);
	int64_t last_closed = rd_i64(r), hi = rd_i64(r);
	n = rd_u32(r);
	if (!reader_ok(r) || n > r->left)
		goto out;
	if (g && n > g->K)
		ok = 0;
	if (ok &&
	    (eng_group_reserve(g, n ? n - 1 : 0) != 0 || (slots = calloc(n + 1, sizeof *slots)) == NULL)) {
		rc = -VIGIL_ENOMEM;
		goto out;
	}
	for (uint32_t m = 0; m < n; m++) {
		uint32_t mlen = rd_u32(r);
		if (!reader_ok(r) || mlen >= KEY_MAX)
			goto out;
		rd_get(r, key, mlen);
		int64_t tick = rd_i64(r);
		if (!reader_ok(r))
			goto out;
		if (!ok)
			continue;
		struct series *ms =
			series_find(&e->tab, key, mlen, hash_mix(hash_bytes(HASH_SEED, key, mlen)));
		struct slot *sl = ms ? eng_slot_of(ms, (uint32_t)map[ri]) : NULL;
		for (uint32_t j = 0; sl && j < m; j++)
			if (slots[j] == sl)
				sl = NULL;
		if (sl == NULL || sl->group != NO_GROUP) {
			ok = 0;
			continue;
		}
		slots[m] = sl;
		g->mem[m].series = (uint32_t)(ms - e->tab.items);
		g->mem[m].tick = tick;
	}
	nopen = rd_u32(r);
	if (!reader_ok(r))
		goto out;
	for (uint32_t o = 0; o < nopen; o++) {
		int64_t tick = rd_i64(r);
		struct pend *pd = NULL;
		if (!reader_ok(r) || tick == TICK_NONE)
			goto out;
		if (ok) {
			pd = &g->pend[eng_ring_at(g, tick)];
			if (pd->tick != TICK_NONE || nopen > g->W)
				ok = 0;
			else
				pd->tick = tick;
		}
		for (uint32_t m = 0; m < n; m++) {
			struct pval v;
			rd_get(r, &v.present, 1);
			v.val = rd_f64(r);
			v.ts = rd_f64(r);
			v.pos = rd_i64(r);
			if (!reader_ok(r) || v.present > 1)
				goto out;
			if (ok)
				pd->v[m] = v;
		}
	}
	blen = rd_u32(r);
	if (!reader_ok(r) || blen > r->left)
		goto out;
	const uint8_t *blob = r->p;
	r->p += blen;
	r->left -= blen;
	rc = 0;
	if (!ok)
		goto out;
	/* a detector state that does not load leaves a fresh model */
	group_state_load(eng_rule_group(ru), ru->det.cfg, g->det, blob, blen);
	g->clock = clock;
	g->last_closed = last_closed;
	g->hi = hi;
	g->n = n;
	h = hash_mix(hash_bytes(HASH_SEED, gkey, klen));
	if (series_find(&e->gtab, gkey, klen, h) != NULL)
		goto out; /* a duplicate: keep the first */
	if ((gs = series_insert(&e->gtab, gkey, klen, h)) == NULL) {
		rc = -VIGIL_ENOMEM;
		goto out;
	}
	gs->block = g;
	g->bytes = eng_group_size(eng_rule_group(ru), ru, g);
	e->st.group_bytes += g->bytes;
	e->st.group_members += n;
	for (uint32_t m = 0; m < n; m++) {
		slots[m]->group = (uint32_t)(gs - e->gtab.items);
		slots[m]->member = m;
	}
	g = NULL; /* owned by the table */
out:
	free(slots);
	eng_group_free(g);
	return rc;
}

int engine_load(struct engine *e, const uint8_t *data, size_t len)
{
	return eng_load(e, data, len, NULL);
}

static int load_body(struct engine *e, const uint8_t *data, size_t len, const struct ruleset *old);

int eng_load(struct engine *e, const uint8_t *data, size_t len, const struct ruleset *old)
{
	e->loading = 1; /* a restore is never refused by the memory budget */
	int rc = load_body(e, data, len, old);
	e->loading = 0;
	return rc;
}

static int load_body(struct engine *e, const uint8_t *data, size_t len, const struct ruleset *old)
{
	struct reader r = reader_of(data, len);
	uint32_t magic = rd_u32(&r), version = rd_u32(&r), nrules = rd_u32(&r);
	int32_t *map = NULL, *changed = NULL;
	uint64_t *nchanged = NULL;
	char *scratch = NULL, *key = NULL;
	int rc = -VIGIL_EINVAL;

	eng_clear_series(e);
	if (!reader_ok(&r) || magic != ENGINE_MAGIC)
		return -VIGIL_EINVAL;
	if (version < ENGINE_VERSION_MIN || version > ENGINE_VERSION)
		return -VIGIL_EVERSION;
	if (nrules > 1000000 || (map = calloc(nrules + 1, sizeof *map)) == NULL ||
	    (changed = calloc(nrules + 1, sizeof *changed)) == NULL)
		goto out;
	for (uint32_t i = 0; i < nrules; i++) {
		uint32_t n = rd_u32(&r);
		char name[512];
		map[i] = -1;
		changed[i] = -1;
		if (!reader_ok(&r) || n >= sizeof name)
			goto out;
		rd_get(&r, name, n);
		name[n] = '\0';
		uint64_t saved = version >= 3 ? rd_u64(&r) : 0;
		if (!reader_ok(&r))
			goto out;
		for (size_t k = 0; k < e->rs->nrules; k++) {
			const struct rule *ru = &e->rs->rules[k];
			if (strcmp(ru->name, name) != 0)
				continue;
			if (old != NULL && !(i < old->nrules && old->rules[i].model_hash == ru->model_hash))
				continue; /* engine_reload: its caller tells about the change */
			if (version >= 3 && saved != ru->model_hash) {
				changed[i] = (int32_t)k; /* a new model: counted and logged below */
				continue;
			}
			map[i] = (int32_t)k;
		}
	}
	uint64_t nseries = rd_u64(&r);
	if (!reader_ok(&r) || nseries > e->max_series)
		goto out;
	scratch = malloc(KEY_MAX + 1);
	key = malloc(KEY_MAX + 1);
	nchanged = calloc(nrules + 1, sizeof *nchanged);
	if (scratch == NULL || key == NULL || nchanged == NULL)
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
		double held_ts = version >= 4 ? rd_f64(&r) : -INFINITY;
		double held_val = version >= 4 ? rd_f64(&r) : 0;
		nslots = rd_u32(&r);
		if (!reader_ok(&r) || eng_key_to_point(key, klen, scratch, &p) != 0)
			goto out;
		memcpy(e->key, key, klen + 1);
		p.ts = last_ts;
		uint64_t h = hash_mix(hash_bytes(HASH_SEED, key, klen));
		s = series_find(&e->tab, key, klen, h);
		if (s == NULL && (s = eng_add_series(e, &p, klen, h)) == NULL)
			goto out;
		s->last_ts = last_ts;
		if (isinf(s->held_ts) && !isinf(held_ts) && !isnan(held_ts) && isfinite(held_val)) {
			s->held_ts = held_ts; /* a point waiting for its series' next (max_skew) */
			s->held_val = held_val;
			e->st.skew_pending++;
		}
		for (uint32_t j = 0; j < nslots; j++) {
			uint32_t ri = rd_u32(&r), blen;
			struct rule_state st;
			rd_get(&r, &st, sizeof st);
			blen = rd_u32(&r);
			if (!reader_ok(&r) || ri >= nrules || blen > r.left)
				goto out;
			if (changed[ri] >= 0)
				nchanged[ri]++;
			const uint8_t *blob = r.p;
			r.p += blen;
			r.left -= blen;
			/* find the slot of the same (current) rule in the rebuilt block */
			struct slot *sl = s->block;
			for (uint32_t k = 0; map[ri] >= 0 && k < s->nslots; k++) {
				if (sl[k].rule != (uint32_t)map[ri])
					continue;
				const struct rule *ru = &e->rs->rules[sl[k].rule];
				if (eng_rule_group(ru) != NULL) {
					sl[k].st = st; /* group membership comes with the groups */
					continue;
				}
				if (det_state_load(&ru->det, (char *)s->block + sl[k].det_off, blob, blen) ==
				    0)
					sl[k].st = st;
			}
		}
	}
	uint64_t ngroups = rd_u64(&r);
	if (!reader_ok(&r) || ngroups > r.left)
		goto out;
	rc = 0;
	for (uint64_t i = 0; rc == 0 && i < ngroups; i++)
		rc = load_group(e, &r, map, nrules, key);
	if (rc == 0 && r.left != 0)
		rc = -VIGIL_EINVAL;
	for (uint32_t i = 0; rc == 0 && i < nrules; i++)
		if (changed[i] >= 0)
			LOG_WARN("engine",
				 "event=model_reset rule=%s series=%" PRIu64
				 " reason=rule_changed (its series, match, detector, params, peer_group or "
				 "owner differ from the checkpoint: new models)",
				 e->rs->rules[changed[i]].name, nchanged[i]);
out:
	if (rc != 0)
		eng_clear_series(e);
	free(map);
	free(changed);
	free(nchanged);
	free(scratch);
	free(key);
	return rc;
}
