/* The backtest of `vigil rules test`: see rules_backtest.h. */
#include "cli/rules_backtest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/rules_data.h"
#include "core/buf.h"
#include "core/timefmt.h"
#include "core/tz.h"
#include "core/config.h"
#include "engine/engine.h"
#include "engine/series.h"

static void add_val(struct bt_episode *e, double v)
{
	if (e->nvals == e->capvals) {
		uint32_t cap = e->capvals ? e->capvals * 2 : 64;
		float *nv;
		if (e->capvals >= BT_VALS_MAX || (nv = realloc(e->vals, cap * sizeof *nv)) == NULL)
			return; /* the sparkline shows the start of a long episode only */
		e->vals = nv;
		e->capvals = cap;
	}
	e->vals[e->nvals++] = (float)v;
}

/* The engine's before_point hook: a point of a series with open episodes
 * goes into their values. */
static void on_point(void *ctx, struct engine *e, const struct point *p)
{
	struct bt_result *r = ctx;
	char key[4096];

	(void)e;
	if (r->nopen == 0 || series_key(p, key, sizeof key) < 0)
		return;
	for (size_t i = 0; i < r->nopen; i++)
		if (strcmp(r->ep[r->openv[i]].series, key) == 0)
			add_val(&r->ep[r->openv[i]], p->value);
}

/* The engine's alert callback: open an episode on firing, close the
 * newest open one of the same rule and series on resolve. */
static int collect(void *ctx, const struct alert_event *ev)
{
	struct bt_result *r = ctx;
	const struct rule *ru = ruleset_rule(r->rs, ev->rule);

	if (ru == NULL)
		return 0; /* the engine's own meta alerts (series limits) */
	if (r->svg)
		chart_files_write(r->svg, ev);
	if (ev->status == ALERT_FIRING) {
		if (vec_reserve((void **)&r->ep, &r->cap, r->n + 1, sizeof *r->ep) != 0) {
			r->failed = 1;
			return -VIGIL_ENOMEM;
		}
		struct bt_episode *e = &r->ep[r->n];
		memset(e, 0, sizeof *e);
		if (vec_reserve((void **)&r->openv, &r->capopen, r->nopen + 1, sizeof *r->openv) != 0 ||
		    (e->series = strdup(ev->series)) == NULL) {
			r->failed = 1;
			return -VIGIL_ENOMEM;
		}
		r->openv[r->nopen++] = r->n;
		r->n++;
		add_val(e, ev->value);
		e->rule = ru->index;
		e->start = ev->started;
		e->end = ev->ts;
		e->peak = ev->score;
		e->open = 1;
		return 0;
	}
	for (size_t i = r->n; i-- > 0;) {
		struct bt_episode *e = &r->ep[i];
		if (e->open && e->rule == ru->index && strcmp(e->series, ev->series) == 0) {
			e->open = 0;
			for (size_t k = 0; k < r->nopen; k++)
				if (r->openv[k] == i) {
					r->openv[k] = r->openv[--r->nopen];
					break;
				}
			e->end = ev->ts;
			if (isfinite(ev->score))
				e->peak = ev->score;
			break;
		}
	}
	return 0;
}

int bt_run(const struct ruleset *rs, const char *const *files, size_t n, const char *format, FILE *warn,
	   struct chart_files *svg, struct bt_result *out, char *err, size_t errlen)
{
	struct engine_opts eo = {.rs = rs,
				 .on_alert = collect,
				 .alert_ctx = out,
				 .before_point = on_point,
				 .hook_ctx = out,
				 .max_skew = ENGINE_DEFAULT_MAX_SKEW, /* as replay and run decide */
				 .window = svg && svg->dir ? ENGINE_WINDOW_DEFAULT : 0};
	struct engine *e = NULL;
	struct engine_stats es;
	int rc;

	memset(out, 0, sizeof *out);
	out->rs = rs;
	out->svg = svg && svg->dir ? svg : NULL;
	if ((rc = engine_create(&eo, &e, err, errlen)) != 0 ||
	    (rc = rules_data_feed(e, files, n, format, err, errlen)) != 0) {
		engine_destroy(e);
		bt_free(out);
		return rc;
	}
	engine_flush_held(e); /* the data has ended, as replay does */
	if (out->failed) {
		snprintf(err, errlen, "out of memory while collecting the episodes");
		engine_destroy(e);
		bt_free(out);
		return -VIGIL_ENOMEM;
	}
	const struct engine_rule_stats *st = engine_rule_stats(e);
	engine_get_stats(e, &es);
	out->to = es.newest_ts;
	out->from = out->to;
	for (size_t i = 0; i < rs->nrules; i++)
		if (st[i].points > 0 && st[i].first_ts < out->from)
			out->from = st[i].first_ts;
	for (size_t i = 0; i < out->n; i++)
		if (out->ep[i].open)
			out->ep[i].end = out->to;
	if (warn)
		rules_data_warn(warn, rs, e);
	engine_destroy(e);
	return 0;
}

void bt_free(struct bt_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->ep[i].series);
		free(r->ep[i].vals);
	}
	free(r->ep);
	free(r->openv);
	r->ep = NULL;
	r->openv = NULL;
	r->n = r->cap = r->nopen = r->capopen = 0;
}

double bt_weeks(const struct bt_result *r)
{
	return r->to > r->from ? (r->to - r->from) / (7 * 86400.0) : 0.0;
}

static const struct tz *owner_tz(const struct owner *o)
{
	return o->nschedules > 0 ? o->schedules[0].tz : NULL;
}

void bt_owner_pages(const struct bt_result *r, const struct owner *o, size_t *pages, size_t *night)
{
	const struct tz *z = owner_tz(o);

	*pages = *night = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct rule *ru = &r->rs->rules[r->ep[i].rule];
		int hour;
		if (ru->owner != o || ru->action != ACTION_PAGE)
			continue;
		(*pages)++;
		if (z != NULL) {
			struct tz_tm tm;
			tz_local(z, (int64_t)floor(r->ep[i].start), &tm);
			hour = tm.hour;
		} else {
			hour = (int)fmod(floor(r->ep[i].start / 3600.0), 24.0);
			hour += hour < 0 ? 24 : 0;
		}
		*night += hour >= BT_NIGHT_FROM || hour < BT_NIGHT_TO;
	}
}

size_t bt_longest_flap(const struct bt_result *r, size_t ri, size_t *first)
{
	size_t best = 0;

	*first = 0;
	/* episodes are in firing order; a run continues with the next episode
	 * of the same series starting within BT_FLAP_GAP of the last one's end */
	for (size_t i = 0; i < r->n; i++) {
		if (r->ep[i].rule != ri)
			continue;
		size_t len = 1, last = i;
		int head = 1;
		for (size_t j = 0; j < i && head; j++) /* i must start its run */
			if (r->ep[j].rule == ri && strcmp(r->ep[j].series, r->ep[i].series) == 0 &&
			    r->ep[i].start - r->ep[j].end <= BT_FLAP_GAP && r->ep[j].end <= r->ep[i].start)
				head = 0;
		if (!head)
			continue;
		for (size_t j = i + 1; j < r->n; j++) {
			if (r->ep[j].rule != ri || strcmp(r->ep[j].series, r->ep[i].series) != 0)
				continue;
			if (r->ep[j].start - r->ep[last].end > BT_FLAP_GAP)
				break;
			len++;
			last = j;
		}
		if (len > best) {
			best = len;
			*first = i;
		}
	}
	return best;
}

static void fmt_len(double s, char *out, size_t n)
{
	if (s < 3600)
		snprintf(out, n, "%.0fm", s / 60.0);
	else if (s < 86400)
		snprintf(out, n, "%.0fh%02.0fm", floor(s / 3600.0), fmod(s, 3600.0) / 60.0);
	else
		snprintf(out, n, "%.1fd", s / 86400.0);
}

static size_t rule_alerts(const struct bt_result *r, size_t ri)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		k += r->ep[i].rule == ri;
	return k;
}

/* The pages per week of the owner named name in r (NaN without data). */
static double per_week(const struct bt_result *r, const char *name)
{
	const struct owner *o = ruleset_owner(r->rs, name);
	size_t pages = 0, night = 0;
	if (o != NULL)
		bt_owner_pages(r, o, &pages, &night);
	return bt_weeks(r) > 0 ? (double)pages / bt_weeks(r) : NAN;
}

void bt_sparkline(const float *v, size_t n, size_t cols, char *out, size_t outlen)
{
	static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
					   "\u2585", "\u2586", "\u2587", "\u2588"};
	float lo = INFINITY, hi = -INFINITY;
	size_t len = 0, nc = n < cols ? n : cols;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	for (size_t c = 0; c < nc && len + 4 < outlen; c++) {
		size_t a = c * n / nc, b = (c + 1) * n / nc;
		float m = v[a];
		for (size_t i = a; i < b; i++)
			m = v[i] > m ? v[i] : m;
		int k = hi > lo ? (int)((m - lo) / (hi - lo) * 7.0f + 0.5f) : 0;
		memcpy(out + len, bars[k], 3); /* each bar is 3 bytes of UTF-8 */
		len += 3;
		out[len] = '\0';
	}
}

void bt_print(FILE *f, const struct bt_result *r, const struct bt_result *base, int spark)
{
	char a[40], b[40], len[32];

	time_format_rfc3339(r->from, a, sizeof a);
	time_format_rfc3339(r->to, b, sizeof b);
	fprintf(f, "data: %s to %s (%.2f weeks)\n", a, b, bt_weeks(r));
	for (size_t ri = 0; ri < r->rs->nrules; ri++) {
		const struct rule *ru = &r->rs->rules[ri];
		size_t first, flap = bt_longest_flap(r, ri, &first), na = rule_alerts(r, ri);
		fprintf(f, "\nrule %s (owner %s, %s): %zu alert%s\n", ru->name, ru->owner->name,
			rule_action_name(ru->action), na, na == 1 ? "" : "s");
		for (size_t i = 0; i < r->n; i++) {
			const struct bt_episode *e = &r->ep[i];
			if (e->rule != ri)
				continue;
			time_format_rfc3339(e->start, a, sizeof a);
			fmt_len(e->end - e->start, len, sizeof len);
			fprintf(f, "  %s  %s  %s%s  peak %.2f\n", a, e->series, len,
				e->open ? "+ (open)" : "", e->peak);
			if (spark && e->nvals > 0) {
				char line[BT_SPARK_COLS * 3 + 1];
				bt_sparkline(e->vals, e->nvals, BT_SPARK_COLS, line, sizeof line);
				fprintf(f, "    %s\n", line);
			}
		}
		if (flap > 1) {
			time_format_rfc3339(r->ep[first].start, a, sizeof a);
			fprintf(f, "  longest flapping run: %zu episodes on %s from %s\n", flap,
				r->ep[first].series, a);
		}
	}
	fprintf(f, "\n");
	for (size_t oi = 0; oi < r->rs->nowners; oi++) {
		const struct owner *o = &r->rs->owners[oi];
		const struct tz *z = owner_tz(o);
		size_t pages, night;
		bt_owner_pages(r, o, &pages, &night);
		fprintf(f, "owner %s: %zu page%s, %.1f pages/week, %.0f%% at night (%02d:00-%02d:00 %s)",
			o->name, pages, pages == 1 ? "" : "s", per_week(r, o->name),
			pages ? 100.0 * (double)night / (double)pages : 0.0, BT_NIGHT_FROM, BT_NIGHT_TO,
			z ? tz_name(z) : "UTC");
		if (base != NULL)
			fprintf(f, "; before: %.1f pages/week, after: %.1f", per_week(base, o->name),
				per_week(r, o->name));
		fprintf(f, "\n");
	}
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *bt_json(const struct bt_result *r, const struct bt_result *base)
{
	json_t *root = json_object(), *rules = json_array(), *owners = json_array();
	char a[40];

	if (root == NULL || rules == NULL || owners == NULL) {
		json_decref(root);
		json_decref(rules);
		json_decref(owners);
		return NULL;
	}
	json_object_set_new(root, "from", json_real(r->from));
	json_object_set_new(root, "to", json_real(r->to));
	json_object_set_new(root, "weeks", json_real(bt_weeks(r)));
	for (size_t ri = 0; ri < r->rs->nrules; ri++) {
		const struct rule *ru = &r->rs->rules[ri];
		json_t *jr = json_object(), *al = json_array();
		size_t first, flap = bt_longest_flap(r, ri, &first);
		for (size_t i = 0; i < r->n; i++) {
			const struct bt_episode *e = &r->ep[i];
			if (e->rule != ri)
				continue;
			time_format_rfc3339(e->start, a, sizeof a);
			json_array_append_new(al, json_pack("{s:s, s:f, s:s, s:f, s:o, s:b}", "start", a,
							    "start_epoch", e->start, "series", e->series,
							    "length_s", e->end - e->start, "peak_score",
							    num_or_null(e->peak), "open", e->open));
		}
		json_object_set_new(jr, "name", json_string(ru->name));
		json_object_set_new(jr, "owner", json_string(ru->owner->name));
		json_object_set_new(jr, "action", json_string(rule_action_name(ru->action)));
		json_object_set_new(jr, "alerts", al);
		json_object_set_new(jr, "longest_flapping_run", json_integer((json_int_t)flap));
		json_array_append_new(rules, jr);
	}
	for (size_t oi = 0; oi < r->rs->nowners; oi++) {
		const struct owner *o = &r->rs->owners[oi];
		const struct tz *z = owner_tz(o);
		size_t pages, night;
		bt_owner_pages(r, o, &pages, &night);
		json_t *jo = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "name", o->name, "time_zone",
				       z ? tz_name(z) : "UTC", "pages", (json_int_t)pages, "night_pages",
				       (json_int_t)night, "pages_per_week", num_or_null(per_week(r, o->name)),
				       "night_share",
				       pages ? json_real((double)night / (double)pages) : json_null());
		if (jo && base)
			json_object_set_new(jo, "baseline_pages_per_week",
					    num_or_null(per_week(base, o->name)));
		json_array_append_new(owners, jo);
	}
	json_object_set_new(root, "rules", rules);
	json_object_set_new(root, "owners", owners);
	return root;
}
