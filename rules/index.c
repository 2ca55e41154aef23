/* The series-name index of a ruleset (ruleset_candidates, rules.h): rules
 * whose `series` is a plain name are grouped by that name behind a hash
 * index; rules with a glob are kept in a list and tried one by one. So the
 * cost of finding the rules for a new series name is one lookup plus one
 * glob match per glob rule, whatever the number of plain-name rules.
 * Built once by ruleset_load; read-only afterwards (any thread). */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/htab.h"
#include "rules/loader.h"

struct name_group {
	const char *name; /* borrowed from the first rule of the group */
	uint64_t hash;
	uint32_t start, n; /* into lit */
};

struct rule_index {
	struct htab by_name; /* ids = name_group indices */
	struct name_group *groups;
	size_t ngroups;
	uint32_t *lit;  /* plain-name rules, grouped by name, rule order within a group */
	uint32_t *glob; /* glob rules, rule order */
	size_t nglob;
};

static int is_plain(const char *s)
{
	return strpbrk(s, "*?[\\") == NULL;
}

static uint64_t group_hash(const void *ctx, uint32_t id)
{
	const struct rule_index *x = ctx;
	return x->groups[id].hash;
}

static int group_eq(const void *ctx, uint32_t id, const void *key)
{
	const struct rule_index *x = ctx;
	return strcmp(x->groups[id].name, key) == 0;
}

static const struct ruleset *sort_rs; /* qsort context: only while building */

static int cmp_by_name(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(sort_rs->rules[x].series, sort_rs->rules[y].series);
	return c ? c : (x > y) - (x < y);
}

void rules_index_free(struct rule_index *x)
{
	if (x == NULL)
		return;
	htab_fini(&x->by_name);
	free(x->groups);
	free(x->lit);
	free(x->glob);
	free(x);
}

int rules_index_build(struct ruleset *rs)
{
	struct rule_index *x = calloc(1, sizeof *x);
	size_t nlit = 0;

	if (x == NULL)
		return -VIGIL_ENOMEM;
	htab_init(&x->by_name);
	x->lit = calloc(rs->nrules + 1, sizeof *x->lit);
	x->glob = calloc(rs->nrules + 1, sizeof *x->glob);
	x->groups = calloc(rs->nrules + 1, sizeof *x->groups);
	if (x->lit == NULL || x->glob == NULL || x->groups == NULL)
		goto nomem;
	for (size_t i = 0; i < rs->nrules; i++) {
		if (is_plain(rs->rules[i].series))
			x->lit[nlit++] = (uint32_t)i;
		else
			x->glob[x->nglob++] = (uint32_t)i;
	}
	sort_rs = rs; /* ruleset_load runs on one thread; qsort has no context argument */
	qsort(x->lit, nlit, sizeof *x->lit, cmp_by_name);
	sort_rs = NULL;
	for (size_t i = 0; i < nlit; i++) {
		const char *name = rs->rules[x->lit[i]].series;
		if (x->ngroups > 0 && strcmp(x->groups[x->ngroups - 1].name, name) == 0) {
			x->groups[x->ngroups - 1].n++;
			continue;
		}
		struct name_group *g = &x->groups[x->ngroups];
		*g = (struct name_group){name, hash_str(HASH_SEED, name), (uint32_t)i, 1};
		if (htab_insert(&x->by_name, g->hash, (uint32_t)x->ngroups, group_hash, x) != 0)
			goto nomem;
		x->ngroups++;
	}
	rs->index = x;
	return 0;
nomem:
	rules_index_free(x);
	return -VIGIL_ENOMEM;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int ruleset_candidates(const struct ruleset *rs, const char *name, uint32_t **buf, size_t *cap, size_t *n)
{
	const struct rule_index *x = rs->index;
	size_t k = 0;

	*n = 0;
	if (x == NULL) { /* a ruleset not built by ruleset_load: try every rule */
		if (vec_reserve((void **)buf, cap, rs->nrules + 1, sizeof **buf) != 0)
			return -VIGIL_ENOMEM;
		for (size_t i = 0; i < rs->nrules; i++)
			if (rule_glob_match(rs->rules[i].series, name))
				(*buf)[k++] = (uint32_t)i;
		*n = k;
		return 0;
	}
	if (vec_reserve((void **)buf, cap, x->nglob + 1, sizeof **buf) != 0)
		return -VIGIL_ENOMEM;
	uint32_t g = htab_find(&x->by_name, hash_str(HASH_SEED, name), group_eq, group_hash, x, name);
	if (g != HTAB_NONE) {
		if (vec_reserve((void **)buf, cap, x->groups[g].n + x->nglob, sizeof **buf) != 0)
			return -VIGIL_ENOMEM;
		memcpy(*buf, x->lit + x->groups[g].start, x->groups[g].n * sizeof **buf);
		k = x->groups[g].n;
	}
	size_t nl = k;
	for (size_t i = 0; i < x->nglob; i++)
		if (rule_glob_match(rs->rules[x->glob[i]].series, name))
			(*buf)[k++] = x->glob[i];
	if (nl > 0 && k > nl)
		qsort(*buf, k, sizeof **buf, cmp_u32); /* rule order, as a scan gives */
	*n = k;
	return 0;
}
