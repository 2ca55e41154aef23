/* engine_reload (engine.h): swap the ruleset between two points, keeping the
 * models of unchanged rules. It goes through the checkpoint encoding
 * (engine_ckpt.c): the engine is saved with its old rules and loaded into a
 * fresh engine built on the new ones, where a saved state reaches only the
 * rule of the same name and model_hash. The open episodes that do not carry
 * over are then resolved with a reason label.
 * @thread the engine's thread, between two engine_point calls. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

/* Why an open episode of old rule r does not survive in rs, or NULL. */
static const char *lost_reason(const struct rule *r, const struct ruleset *rs)
{
	const struct rule *nr = ruleset_rule(rs, r->name);

	if (nr == NULL)
		return "rule_removed";
	return nr->model_hash != r->model_hash ? "rule_changed" : NULL;
}

/* Resolve, through e (on the new rules), the open episodes of old that do
 * not carry over. */
static void resolve_lost(struct engine *e, const struct engine *old)
{
	char scratch[KEY_MAX + 1];
	struct det_result res = {.score = NAN, .expected = NAN, .lower = NAN, .upper = NAN};

	for (size_t i = 0; i < old->tab.n; i++) {
		const struct series *s = &old->tab.items[i];
		const struct slot *sl = s->block;
		const char *key = series_key_str(&old->tab, s);
		struct point p;

		for (uint32_t j = 0; j < s->nslots; j++) {
			const struct rule *r = &old->rs->rules[sl[j].rule];
			const char *why;

			if (!sl[j].st.firing || (why = lost_reason(r, e->rs)) == NULL)
				continue;
			if (eng_key_to_point(key, s->key_len, scratch, &p) != 0)
				continue; /* keys are built by series_key: cannot happen */
			p.ts = isfinite(old->now) ? old->now : s->last_ts;
			p.value = NAN;
			LOG_INFO("rules", "event=episode_resolved reason=%s rule=%s series=%s", why, r->name,
				 key);
			eng_emit_reason(e, r, &sl[j].st, RULE_RESOLVE, key, &p, old->cur_pos, &res, NULL,
					why);
		}
	}
}

int engine_reload(struct engine *e, const struct ruleset *rs, char *err, size_t errlen)
{
	struct engine_opts o = {.rs = rs,
				.max_series = e->max_series,
				.max_future = e->max_future,
				.max_skew = e->max_skew,
				.budget = e->budget,
				.window = e->win_cap,
				.on_alert = e->on_alert,
				.alert_ctx = e->alert_ctx,
				.before_point = e->before_point,
				.hook_ctx = e->hook_ctx};
	struct engine *n = NULL, tmp;
	struct buf blob = {0};
	int rc;

	if ((rc = engine_save(e, &blob)) != 0 || (rc = engine_create(&o, &n, err, errlen)) != 0 ||
	    (rc = eng_load(n, blob.data, blob.len, e->rs)) != 0) {
		snprintf(err, errlen, "reload: cannot carry the engine's state over (%s)",
			 rc == -VIGIL_ENOMEM ? "out of memory" : "bad checkpoint");
		engine_destroy(n);
		buf_free(&blob);
		return rc == -VIGIL_ENOMEM ? rc : -VIGIL_EINVAL;
	}
	buf_free(&blob);
	/* cumulative counters and the data clock go on; sizes are the new ones */
	struct engine_stats st = e->st;
	st.group_bytes = n->st.group_bytes;
	st.group_members = n->st.group_members;
	st.series_refused += n->st.series_refused;
	n->st = st;
	n->now = e->now;
	n->cur_source = e->cur_source;
	n->cur_pos = e->cur_pos;
	n->reject_complain = e->reject_complain;
	tmp = *e;
	*e = *n;
	*n = tmp; /* n now holds the old series, states and rules */
	resolve_lost(e, n);
	engine_destroy(n);
	return 0;
}
