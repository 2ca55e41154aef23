/* Ownership: the namespaces an owner claims and the static checks that keep
 * every owner inside its own.
 *
 *   owners:
 *     - name: payments
 *       namespaces:                     # optional list; all owners or none declare it
 *         - match: {app: checkout}      # tag matchers: equality or glob only
 *         - series: "pay.*"             # glob over the series name, default "*"
 *           grants: [search]            # owners allowed to claim overlapping namespaces
 *
 * The checks are decided on the text of the globs and matchers, never on
 * data, and are conservative: when containment cannot be shown the rule is
 * refused; when two namespaces cannot be shown disjoint they overlap.
 *
 * Glob containment (inner within outer): outer is all '*'; or outer has no
 * glob characters and inner is the same text; or outer is "P*" (a literal P
 * then one '*') and inner's literal head (before its first * ? [ \) starts
 * with P; or inner has no glob characters and outer matches it.
 *
 * A rule is inside a namespace when its series glob is within the
 * namespace's, and for every matcher of the namespace the rule has a matcher
 * on the same tag that is within it: an equality whose value the namespace's
 * equality/glob accepts, or a glob within the namespace's glob. A rule must
 * be inside at least one namespace of its owner.
 *
 * Two globs are disjoint when their literal heads differ at a position both
 * have, or when one has no glob characters and the other does not match it.
 * Two namespaces are disjoint when their series globs are, or when both
 * constrain one tag with disjoint values (the same tests on the values). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/loader.h"

static const char *const ns_keys[] = {"series", "match", "grants", NULL};
enum { NS_SERIES, NS_MATCH, NS_GRANTS, NS_N };

int rules_fail_at(struct loader *L, const char *where, const char *fmt, ...)
{
	va_list ap;
	snprintf(L->y.err, L->y.errlen, "%s: ", where ? where : L->y.path);
	size_t off = strlen(L->y.err);
	va_start(ap, fmt);
	vsnprintf(L->y.err + off, L->y.errlen > off ? L->y.errlen - off : 0, fmt, ap);
	va_end(ap);
	return -VIGIL_EINVAL;
}

/* ---- parsing ---- */

static int parse_one(struct loader *L, yaml_node_t *map, struct owner *o, struct namespace_cfg *ns)
{
	yaml_node_t *v[NS_N], *k[NS_N];
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "namespace", ns_keys, v, k)) != 0)
		return rc;
	if ((ns->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[NS_SERIES] == NULL && v[NS_MATCH] == NULL)
		return vy_fail(&L->y, map, "namespace needs 'series' and/or 'match'");
	if (v[NS_SERIES]) {
		if ((rc = vy_dup(&L->y, v[NS_SERIES], "series", 1, &ns->series)) != 0)
			return rc;
	} else if ((ns->series = strdup("*")) == NULL) {
		return vy_nomem(&L->y);
	}
	if (v[NS_MATCH] && (rc = rules_parse_match(L, v[NS_MATCH], "match", &ns->match, &ns->nmatch)) != 0)
		return rc;
	for (size_t i = 0; i < ns->nmatch; i++) {
		if (ns->match[i].op != MATCH_EQ && ns->match[i].op != MATCH_GLOB) {
			struct vy_pair p = vy_pair_at(&L->y, v[NS_MATCH], i);
			return vy_fail(&L->y, p.value,
				       "namespace match '%s': only equality or a glob can claim a namespace",
				       ns->match[i].key);
		}
	}
	if (v[NS_GRANTS] && (rc = vy_strlist(&L->y, v[NS_GRANTS], "grants", &ns->grants, &ns->ngrants)) != 0)
		return rc;
	for (size_t i = 0; i < ns->ngrants; i++)
		if (strcmp(ns->grants[i], o->name) == 0)
			return vy_fail(&L->y, v[NS_GRANTS], "grants: owner '%s' cannot grant to itself",
				       o->name);
	return 0;
}

int rules_parse_namespaces(struct loader *L, yaml_node_t *list, struct owner *o)
{
	int rc;

	if ((rc = vy_expect(&L->y, list, YAML_SEQUENCE_NODE, "namespaces")) != 0)
		return rc;
	if (vy_len(list) == 0)
		return vy_fail(&L->y, list, "namespaces: needs at least one namespace");
	if ((o->ns = calloc(vy_len(list), sizeof *o->ns)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i);
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in namespaces");
		o->nns++; /* counted first: a half-built namespace is freed too */
		if ((rc = parse_one(L, n, o, &o->ns[o->nns - 1])) != 0)
			return rc;
	}
	return 0;
}

void rules_namespaces_free(struct namespace_cfg *ns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ns[i].series);
		for (size_t j = 0; j < ns[i].nmatch; j++)
			matcher_free(&ns[i].match[j]);
		free(ns[i].match);
		vy_strv_free(ns[i].grants, ns[i].ngrants);
		free(ns[i].where);
	}
	free(ns);
}

/* ---- glob algebra (see the top of this file) ---- */

static size_t lit_head(const char *g)
{
	return strcspn(g, "*?[\\");
}

static int all_stars(const char *g)
{
	return *g != '\0' && g[strspn(g, "*")] == '\0';
}

static int glob_within(const char *inner, const char *outer)
{
	size_t lo = lit_head(outer), li = lit_head(inner);

	if (all_stars(outer))
		return 1;
	if (outer[lo] == '\0')
		return strcmp(inner, outer) == 0;
	if (outer[lo] == '*' && outer[lo + 1] == '\0' && li >= lo && strncmp(inner, outer, lo) == 0)
		return 1;
	return inner[li] == '\0' && rule_glob_match(outer, inner);
}

static int glob_disjoint(const char *a, const char *b)
{
	size_t la = lit_head(a), lb = lit_head(b), n = la < lb ? la : lb;

	if (strncmp(a, b, n) != 0)
		return 1;
	if (a[la] == '\0' && !rule_glob_match(b, a))
		return 1;
	if (b[lb] == '\0' && !rule_glob_match(a, b))
		return 1;
	return 0;
}

/* An EQ or GLOB matcher's value as a glob (an equality value is escaped
 * when it holds glob characters). Returns 0 when it does not fit out. */
static int as_glob(const struct tag_matcher *m, char *out, size_t outlen)
{
	size_t j = 0;

	for (const char *s = m->value; *s; s++) {
		if (m->op == MATCH_EQ && strchr("*?[\\", *s) != NULL) {
			if (j + 1 >= outlen)
				return 0;
			out[j++] = '\\';
		}
		if (j + 1 >= outlen)
			return 0;
		out[j++] = *s;
	}
	out[j] = '\0';
	return 1;
}

/* Is the rule's matcher rm within the namespace's matcher nm (same key)? */
static int matcher_within(const struct tag_matcher *rm, const struct tag_matcher *nm)
{
	char a[512], b[512];

	if (rm->op == MATCH_EQ)
		return nm->op == MATCH_EQ ? strcmp(rm->value, nm->value) == 0
					  : rule_glob_match(nm->value, rm->value);
	if (rm->op != MATCH_GLOB || !as_glob(rm, a, sizeof a) || !as_glob(nm, b, sizeof b))
		return 0;
	return glob_within(a, b);
}

static int rule_inside(const struct rule *r, const struct namespace_cfg *ns)
{
	if (!glob_within(r->series, ns->series))
		return 0;
	for (size_t i = 0; i < ns->nmatch; i++) {
		int ok = 0;
		for (size_t j = 0; j < r->nmatch && !ok; j++)
			ok = strcmp(r->match[j].key, ns->match[i].key) == 0 &&
			     matcher_within(&r->match[j], &ns->match[i]);
		if (!ok)
			return 0;
	}
	return 1;
}

/* Two EQ/GLOB matchers on one tag with no value in common? */
static int values_disjoint(const struct tag_matcher *x, const struct tag_matcher *y)
{
	char a[512], b[512];

	if (x->op == MATCH_EQ && y->op == MATCH_EQ)
		return strcmp(x->value, y->value) != 0;
	if (x->op == MATCH_EQ && y->op == MATCH_GLOB)
		return !rule_glob_match(y->value, x->value);
	if (x->op == MATCH_GLOB && y->op == MATCH_EQ)
		return !rule_glob_match(x->value, y->value);
	if (x->op == MATCH_GLOB && y->op == MATCH_GLOB && as_glob(x, a, sizeof a) && as_glob(y, b, sizeof b))
		return glob_disjoint(a, b);
	return 0;
}

/* Could a rule's series set meet a namespace? Used to name the other side
 * of a violation: a rule's matchers of any kind are only used when they are
 * equality or glob. */
static int rule_meets(const struct rule *r, const struct namespace_cfg *ns)
{
	if (glob_disjoint(r->series, ns->series))
		return 0;
	for (size_t i = 0; i < ns->nmatch; i++)
		for (size_t j = 0; j < r->nmatch; j++)
			if (strcmp(r->match[j].key, ns->match[i].key) == 0 &&
			    (r->match[j].op == MATCH_EQ || r->match[j].op == MATCH_GLOB) &&
			    values_disjoint(&r->match[j], &ns->match[i]))
				return 0;
	return 1;
}

static int ns_disjoint(const struct namespace_cfg *a, const struct namespace_cfg *b)
{
	if (glob_disjoint(a->series, b->series))
		return 1;
	for (size_t i = 0; i < a->nmatch; i++)
		for (size_t j = 0; j < b->nmatch; j++)
			if (strcmp(a->match[i].key, b->match[j].key) == 0 &&
			    values_disjoint(&a->match[i], &b->match[j]))
				return 1;
	return 0;
}

static int grants(const struct namespace_cfg *ns, const char *owner)
{
	for (size_t i = 0; i < ns->ngrants; i++)
		if (strcmp(ns->grants[i], owner) == 0)
			return 1;
	return 0;
}

/* ---- the checks ---- */

static int check_overlaps(struct loader *L)
{
	const struct ruleset *rs = L->rs;

	for (size_t i = 0; i < rs->nowners; i++) {
		const struct owner *b = &rs->owners[i];
		for (size_t bi = 0; bi < b->nns; bi++)
			for (size_t j = 0; j < i; j++) {
				const struct owner *a = &rs->owners[j];
				for (size_t ai = 0; ai < a->nns; ai++) {
					const struct namespace_cfg *na = &a->ns[ai], *nb = &b->ns[bi];
					if (ns_disjoint(na, nb) || grants(na, b->name) || grants(nb, a->name))
						continue;
					return rules_fail_at(
						L, nb->where,
						"namespace of owner '%s' overlaps the namespace of owner "
						"'%s' at "
						"%s (two owners may share series only when one grants it: "
						"grants: [%s] there)",
						b->name, a->name, na->where, b->name);
				}
			}
		for (size_t bi = 0; bi < b->nns; bi++)
			for (size_t g = 0; g < b->ns[bi].ngrants; g++)
				if (ruleset_owner(rs, b->ns[bi].grants[g]) == NULL) {
					const char *names[64];
					size_t n = 0;
					for (size_t k = 0; k < rs->nowners && n + 1 < 64; k++)
						names[n++] = rs->owners[k].name;
					names[n] = NULL;
					const char *near = vy_closest(names, b->ns[bi].grants[g]);
					return rules_fail_at(
						L, b->ns[bi].where, "grants: unknown owner '%s'%s%s%s",
						b->ns[bi].grants[g], near ? " (did you mean '" : "",
						near ? near : "", near ? "'?)" : "");
				}
	}
	return 0;
}

static int check_rule(struct loader *L, const struct rule *r)
{
	const struct ruleset *rs = L->rs;
	const struct owner *o = r->owner;

	for (size_t i = 0; i < o->nns; i++)
		if (rule_inside(r, &o->ns[i]))
			return 0;
	/* name the other side: another owner's namespace it reaches into, or
	 * its own owner's first namespace */
	for (size_t i = 0; i < rs->nowners; i++) {
		const struct owner *x = &rs->owners[i];
		if (x == o)
			continue;
		for (size_t k = 0; k < x->nns; k++)
			if (rule_meets(r, &x->ns[k]) && !grants(&x->ns[k], o->name))
				return rules_fail_at(L, r->where,
						     "rule '%s' of owner '%s' reaches into the namespace of "
						     "owner '%s' at %s (series '%s')",
						     r->name, o->name, x->name, x->ns[k].where, r->series);
	}
	return rules_fail_at(L, r->where,
			     "rule '%s' watches series outside the namespaces of its owner '%s' (series '%s' "
			     "is not inside the namespace at %s%s)",
			     r->name, o->name, r->series, o->ns[0].where,
			     o->nns > 1 ? " nor the others" : "");
}

int rules_check_namespaces(struct loader *L)
{
	const struct ruleset *rs = L->rs;
	const struct owner *with = NULL;
	int rc;

	for (size_t i = 0; i < rs->nowners && with == NULL; i++)
		if (rs->owners[i].nns > 0)
			with = &rs->owners[i];
	if (with == NULL)
		return 0; /* no owner claims namespaces: ownership is not checked */
	for (size_t i = 0; i < rs->nowners; i++)
		if (rs->owners[i].nns == 0)
			return rules_fail_at(L, rs->owners[i].where,
					     "owner '%s' declares no namespaces, but owner '%s' at %s does "
					     "(all owners or none)",
					     rs->owners[i].name, with->name, with->where);
	if ((rc = check_overlaps(L)) != 0)
		return rc;
	for (size_t i = 0; i < rs->nrules; i++)
		if ((rc = check_rule(L, &rs->rules[i])) != 0)
			return rc;
	return 0;
}
