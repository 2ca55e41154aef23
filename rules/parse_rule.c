/* One rule of a rules file: series and tag matchers, detector and params,
 * threshold, direction, for, keep_firing_for, action, owner, labels and the
 * peer group. The format is described in rules/load.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hash.h"
#include "detectors/group.h"
#include "rules/loader.h"

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

	if ((rc = vy_text(&L->y, k, "a tag name", &ks)) != 0)
		return rc;
	if (*ks == '\0')
		return vy_fail(&L->y, k, "empty tag name in match");
	if (v->type != YAML_SCALAR_NODE)
		return vy_fail(&L->y, v, "match: value of '%s' must be a scalar, not %s", ks,
			       vy_kind_name(v));
	if ((rc = vy_text(&L->y, v, "a match value", &vs)) != 0)
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
	char msg[200];
	if (t.op == MATCH_RE || t.op == MATCH_NRE) {
		double cost = re_cost(vs); /* matcher_build refuses one above RE_MAX_COST */
		if (cost <= RE_MAX_COST && L->re_spent + cost > RE_MAX_TOTAL)
			return vy_fail(&L->y, v,
				       "match '%s': the rules' regular expressions together are too "
				       "complex (more than %d compiled nodes; aliases count each use)",
				       ks, RE_MAX_TOTAL);
		L->re_spent += cost <= RE_MAX_COST ? cost : 0;
	}
	int rc2 = matcher_build(ks, t.op, vs, &t, msg, sizeof msg);
	if (rc2 == -VIGIL_ENOMEM)
		return vy_nomem(&L->y);
	if (rc2 != 0)
		return vy_fail(&L->y, v, "match '%s': %s", ks, msg);
	*m = t;
	return 0;
}

int rules_parse_match(struct loader *L, yaml_node_t *map, const char *what, struct tag_matcher **out,
		      size_t *nout)
{
	size_t cnt;
	int rc;

	if ((rc = vy_map_check(&L->y, map, what)) != 0)
		return rc;
	cnt = vy_len(map);
	if ((*out = calloc(cnt ? cnt : 1, sizeof **out)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < cnt; i++) {
		struct vy_pair p = vy_pair_at(&L->y, map, i);

		if ((rc = parse_matcher(L, p.key, p.value, &(*out)[*nout])) != 0)
			return rc;
		(*nout)++;
	}
	return 0;
}

/* "K" or "K of N" -> k, n. */
static int parse_for(struct loader *L, const yaml_node_t *v, struct rule *r)
{
	const char *s;
	char kbuf[32], nbuf[32], extra;
	unsigned long long k, n;
	int rc, got;

	if ((rc = vy_text(&L->y, v, "for", &s)) != 0)
		return rc;
	got = sscanf(s, " %31[0-9] of %31[0-9] %c", kbuf, nbuf, &extra);
	if (got == 2) {
		if (vy_parse_uint(kbuf, &k) != 0 || vy_parse_uint(nbuf, &n) != 0)
			got = 0;
	} else if (vy_parse_uint(s, &k) == 0) {
		n = k;
		got = 2;
	}
	if (got != 2)
		return vy_fail(&L->y, v, "for: '%s' is not \"K\" or \"K of N\"", s);
	if (k < 1)
		return vy_fail(&L->y, v, "for: K must be at least 1 (got '%s')", s);
	if (k > n)
		return vy_fail(&L->y, v, "for: K > N in '%s'", s);
	if (n > 64)
		return vy_fail(&L->y, v, "for: N must be at most 64 (got '%s')", s);
	r->for_k = (int)k;
	r->for_n = (int)n;
	return 0;
}

static int parse_threshold(struct loader *L, const yaml_node_t *v, struct rule *r)
{
	const char *s;
	double t;
	int rc;

	if ((rc = vy_text(&L->y, v, "threshold", &s)) != 0)
		return rc;
	if (vy_parse_number(s, &t) != 0)
		return vy_fail(&L->y, v, "threshold: '%s' is not a number", s);
	if (!(t > 0.0 && t <= 1.0))
		return vy_fail(&L->y, v, "threshold: %g is outside (0, 1]", t);
	r->threshold = t;
	return 0;
}

static int parse_choice(struct loader *L, const yaml_node_t *v, const char *what, const char *const *choices,
			int *out)
{
	const char *s;
	int rc;

	if ((rc = vy_text(&L->y, v, what, &s)) != 0)
		return rc;
	for (int i = 0; choices[i]; i++) {
		if (strcmp(choices[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	rc = vy_fail(&L->y, v, "%s: '%s' is not one of", what, s);
	for (; *choices; choices++)
		vy_append(&L->y, " %s", *choices);
	return rc;
}

/* Build r->det from the detector name and the params map. */
static int parse_detector(struct loader *L, yaml_node_t *rmap, yaml_node_t *dnode, yaml_node_t *pnode,
			  struct rule *r)
{
	const char *name = det_default_name();
	struct kv *kv = NULL;
	size_t nkv = 0;
	char sub[512];
	int rc;

	if (dnode != NULL) {
		if ((rc = vy_text(&L->y, dnode, "detector", &name)) != 0)
			return rc;
	}
	if (det_find(name) == NULL && group_find(name) == NULL) {
		const struct detector_type *const *all = det_all();
		const struct group_type *const *gall = group_all();

		rc = vy_fail(&L->y, dnode ? dnode : rmap, "unknown detector '%s'%s (known:", name,
			     dnode ? "" : " (the default)");
		for (size_t i = 0; all[i]; i++)
			vy_append(&L->y, " %s", all[i]->name);
		for (size_t i = 0; gall[i]; i++)
			vy_append(&L->y, " %s", gall[i]->det.name);
		vy_append(&L->y, ")");
		return rc;
	}
	if (pnode != NULL && (rc = vy_kv_map(&L->y, pnode, "params", NULL, &kv, &nkv)) != 0)
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
			snprintf(L->y.err, L->y.errlen, "%s", sub);
		else
			vy_fail(&L->y, pnode ? pnode : dnode ? dnode : rmap, "detector '%s': %s", name, sub);
		if (rc == -VIGIL_ENOENT)
			rc = -VIGIL_EINVAL;
	}
	vy_kv_free(kv, nkv);
	return rc;
}

/* `peer_group:` into r->peer (r->det must be built already). */
static int parse_peer_group(struct loader *L, yaml_node_t *map, struct rule *r)
{
	yaml_node_t *v[PK_N], *k[PK_N], *by;
	struct rule_peer_group *g = &r->peer;
	const struct group_type *gt;
	size_t nitems;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "peer_group", peer_keys, v, k)) != 0)
		return rc;
	if ((g->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[PK_BY] == NULL || v[PK_STEP] == NULL)
		return vy_fail(&L->y, map, "peer_group is missing required key '%s'",
			       peer_keys[v[PK_BY] == NULL ? PK_BY : PK_STEP]);
	by = v[PK_BY];
	if ((rc = vy_expect(&L->y, by, YAML_SEQUENCE_NODE, "peer_group.by")) != 0)
		return rc;
	nitems = vy_len(by);
	if (nitems == 0)
		return vy_fail(&L->y, by, "peer_group.by needs at least one tag key");
	if (nitems > PEER_MAX_BY)
		return vy_fail(&L->y, by, "peer_group.by has %zu tag keys (at most %d)", nitems, PEER_MAX_BY);
	if ((g->by = calloc(nitems, sizeof *g->by)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < nitems; i++) {
		yaml_node_t *n = vy_item(&L->y, by, i);
		if (n == NULL)
			return vy_fail(&L->y, by, "malformed list in peer_group.by");
		if ((rc = vy_dup(&L->y, n, "a peer_group.by tag key", 1, &g->by[g->nby])) != 0)
			return rc;
		g->nby++;
		for (size_t j = 0; j + 1 < g->nby; j++)
			if (strcmp(g->by[j], g->by[g->nby - 1]) == 0)
				return vy_fail(&L->y, n, "duplicate tag key '%s' in peer_group.by", g->by[j]);
	}
	if ((rc = vy_duration(&L->y, v[PK_STEP], "peer_group.step", 0, HUGE_VAL, &g->step)) != 0)
		return rc;
	if (!(g->step > 0))
		return vy_fail(&L->y, v[PK_STEP], "peer_group.step must be greater than 0");
	g->deadline = g->step;
	if (v[PK_DEADLINE] &&
	    (rc = vy_duration(&L->y, v[PK_DEADLINE], "peer_group.deadline", 0, HUGE_VAL, &g->deadline)) != 0)
		return rc;
	if (g->deadline > PEER_MAX_DEADLINE_STEPS * g->step)
		return vy_fail(&L->y, v[PK_DEADLINE] ? v[PK_DEADLINE] : map,
			       "peer_group.deadline must be at most %d steps", PEER_MAX_DEADLINE_STEPS);
	g->min_members = PEER_DEFAULT_MIN;
	if (v[PK_MIN]) {
		const char *s;
		unsigned long long m;
		if ((rc = vy_text(&L->y, v[PK_MIN], "peer_group.min_members", &s)) != 0)
			return rc;
		if (vy_parse_uint(s, &m) != 0 || m < 1 || m > 1000000)
			return vy_fail(&L->y, v[PK_MIN],
				       "peer_group.min_members: '%s' is not an integer >= 1", s);
		g->min_members = (size_t)m;
	}
	gt = group_of(r->det.type);
	if (gt == NULL)
		return vy_fail(&L->y, map, "peer_group needs a group detector (detector: peerpca), not '%s'",
			       r->det.type->name);
	if (g->min_members > gt->max_members(r->det.cfg))
		return vy_fail(&L->y, v[PK_MIN] ? v[PK_MIN] : map,
			       "peer_group.min_members %zu exceeds the detector's max_members %zu",
			       g->min_members, gt->max_members(r->det.cfg));
	return 0;
}

int rules_parse_rule(struct loader *L, yaml_node_t *map)
{
	static const char *const directions[] = {"both", "up", "down", NULL};
	static const char *const actions[] = {"log", "notify", "page", NULL};
	yaml_node_t *v[RK_N], *k[RK_N];
	struct ruleset *rs = L->rs;
	struct owner_ref *ref;
	struct rule *r;
	size_t cap = L->cap_rules;
	int rc, choice;

	if ((rc = vy_map_fields(&L->y, map, "rule", rule_keys, v, k)) != 0)
		return rc;
	if (vec_reserve((void **)&rs->rules, &cap, rs->nrules + 1, sizeof *rs->rules) != 0)
		return vy_nomem(&L->y);
	if (cap != L->cap_rules) {
		struct owner_ref *nr = realloc(L->refs, cap * sizeof *nr);
		if (nr == NULL)
			return vy_nomem(&L->y); /* rules array grew; cap_rules stays, refs fits it */
		L->refs = nr;
		L->cap_rules = cap;
	}
	r = &rs->rules[rs->nrules];
	ref = &L->refs[rs->nrules];
	memset(r, 0, sizeof *r);
	memset(ref, 0, sizeof *ref);
	rs->nrules++;

	r->where = vy_where(&L->y, map);
	if (r->where == NULL)
		return vy_nomem(&L->y);
	if (v[RK_NAME] == NULL || v[RK_SERIES] == NULL || v[RK_OWNER] == NULL)
		return vy_fail(&L->y, map, "rule is missing required key '%s'",
			       rule_keys[v[RK_NAME] == NULL     ? RK_NAME
					 : v[RK_SERIES] == NULL ? RK_SERIES
								: RK_OWNER]);
	if ((rc = vy_dup(&L->y, v[RK_NAME], "name", 1, &r->name)) != 0)
		return rc;
	if ((rc = vy_dup(&L->y, v[RK_SERIES], "series", 1, &r->series)) != 0)
		return rc;
	if (v[RK_MATCH] && (rc = rules_parse_match(L, v[RK_MATCH], "match", &r->match, &r->nmatch)) != 0)
		return rc;
	if ((rc = parse_detector(L, map, v[RK_DETECTOR], v[RK_PARAMS], r)) != 0)
		return rc;
	/* what the models depend on, as written (the owner is folded in once
	 * resolved, in load.c) */
	r->model_hash = HASH_SEED;
	r->model_hash = rules_node_hash(L, r->model_hash, v[RK_SERIES]);
	r->model_hash = rules_node_hash(L, r->model_hash, v[RK_MATCH]);
	r->model_hash = hash_str(r->model_hash, r->det.type->name);
	r->model_hash = rules_node_hash(L, r->model_hash, v[RK_PARAMS]);
	r->model_hash = rules_node_hash(L, r->model_hash, v[RK_PEER]);
	if (v[RK_PEER] && (rc = parse_peer_group(L, v[RK_PEER], r)) != 0)
		return rc;
	if (!v[RK_PEER] && group_of(r->det.type) != NULL)
		return vy_fail(&L->y, v[RK_DETECTOR] ? v[RK_DETECTOR] : map,
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
	if (v[RK_KEEP] &&
	    (rc = vy_duration(&L->y, v[RK_KEEP], "keep_firing_for", 0, HUGE_VAL, &r->keep_firing_for)) != 0)
		return rc;
	r->action = ACTION_NOTIFY;
	if (v[RK_ACTION]) {
		if ((rc = parse_choice(L, v[RK_ACTION], "action", actions, &choice)) != 0)
			return rc;
		r->action = (enum rule_action)choice;
	}
	if ((rc = vy_dup(&L->y, v[RK_OWNER], "owner", 1, &ref->name)) != 0)
		return rc;
	if ((ref->where = vy_where(&L->y, v[RK_OWNER])) == NULL)
		return vy_nomem(&L->y);
	if (L->team != NULL &&
	    ((ref->team = strdup(L->team)) == NULL || (ref->dir = strdup(L->team_dir)) == NULL))
		return vy_nomem(&L->y);
	if (v[RK_LABELS] &&
	    (rc = vy_kv_map(&L->y, v[RK_LABELS], "labels", NULL, &r->labels, &r->nlabels)) != 0)
		return rc;
	if (v[RK_SUMMARY] && (rc = vy_dup(&L->y, v[RK_SUMMARY], "summary", 0, &r->summary)) != 0)
		return rc;
	if (v[RK_RUNBOOK] && (rc = vy_dup(&L->y, v[RK_RUNBOOK], "runbook_url", 0, &r->runbook_url)) != 0)
		return rc;
	return 0;
}
