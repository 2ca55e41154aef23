/* One owner of a rules or owners file: its name, cardinality limit and
 * destinations. The format is described in rules/load.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rules/loader.h"

static const char *const owner_keys[] = {"name",
					 "max_series",
					 "destinations",
					 "group_by",
					 "group_wait",
					 "group_interval",
					 "repeat_interval",
					 "mute_time_intervals",
					 "active_time_intervals",
					 "routes",
					 "inhibit_rules",
					 "time_intervals",
					 "people",
					 "schedules",
					 "page_budget",
					 "escalation",
					 "namespaces",
					 NULL};
enum {
	OK_NAME,
	OK_MAX_SERIES,
	OK_DESTS,
	OK_GROUP_BY,
	OK_GROUP_WAIT,
	OK_GROUP_INTERVAL,
	OK_REPEAT,
	OK_MUTE,
	OK_ACTIVE,
	OK_ROUTES,
	OK_INHIBIT,
	OK_INTERVALS,
	OK_PEOPLE,
	OK_SCHEDULES,
	OK_BUDGET,
	OK_ESCALATION,
	OK_NAMESPACES,
	OK_N
};

/* One destination map: `type` plus settings kept as strings (the sink
 * types validate them). */
static int parse_dest(struct loader *L, yaml_node_t *map, struct destination_cfg *d)
{
	yaml_node_t *type = NULL;
	int rc;

	if ((rc = vy_map_check(&L->y, map, "a destination")) != 0)
		return rc;
	for (size_t i = 0; i < vy_len(map) && type == NULL; i++) {
		struct vy_pair p = vy_pair_at(&L->y, map, i);
		if (strcmp(p.text, "type") == 0)
			type = p.value;
	}
	if (type == NULL)
		return vy_fail(&L->y, map, "destination is missing required key 'type'");
	if ((d->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if ((rc = vy_dup(&L->y, type, "type", 1, &d->type)) != 0)
		return rc;
	return vy_kv_map(&L->y, map, "destination", "type", &d->kv, &d->nkv);
}

int rules_parse_owner(struct loader *L, yaml_node_t *map)
{
	yaml_node_t *v[OK_N], *k[OK_N];
	struct ruleset *rs = L->rs;
	struct owner *o;
	int rc;

	if ((rc = vy_map_fields(&L->y, map, "owner", owner_keys, v, k)) != 0)
		return rc;
	if (vec_reserve((void **)&rs->owners, &L->cap_owners, rs->nowners + 1, sizeof *rs->owners) != 0)
		return vy_nomem(&L->y);
	o = &rs->owners[rs->nowners++];
	memset(o, 0, sizeof *o);
	rules_policy_init(o);
	if ((o->where = vy_where(&L->y, map)) == NULL)
		return vy_nomem(&L->y);
	if (v[OK_NAME] == NULL)
		return vy_fail(&L->y, map, "owner is missing required key 'name'");
	if (v[OK_DESTS] == NULL)
		return vy_fail(&L->y, map, "owner is missing required key 'destinations'");
	if ((rc = vy_dup(&L->y, v[OK_NAME], "name", 1, &o->name)) != 0)
		return rc;
	if (v[OK_MAX_SERIES]) {
		const char *s;
		unsigned long long m;
		if ((rc = vy_text(&L->y, v[OK_MAX_SERIES], "max_series", &s)) != 0)
			return rc;
		if (vy_parse_uint(s, &m) != 0 || m > SIZE_MAX)
			return vy_fail(&L->y, v[OK_MAX_SERIES],
				       "max_series: '%s' is not a non-negative integer", s);
		o->max_series = (size_t)m;
	}
	if ((rc = rules_parse_dests(L, v[OK_DESTS], &o->dests, &o->ndests)) != 0)
		return rc;
	if (v[OK_NAMESPACES] && (rc = rules_parse_namespaces(L, v[OK_NAMESPACES], o)) != 0)
		return rc;
	struct policy_nodes pn = {v[OK_GROUP_BY],  v[OK_GROUP_WAIT], v[OK_GROUP_INTERVAL], v[OK_REPEAT],
				  v[OK_MUTE],      v[OK_ACTIVE],     v[OK_ROUTES],         v[OK_INHIBIT],
				  v[OK_INTERVALS], v[OK_PEOPLE],     v[OK_SCHEDULES],      v[OK_BUDGET],
				  v[OK_ESCALATION]};
	if ((rc = rules_parse_policy(L, o, &pn)) != 0)
		return rc;
	return rules_policy_check(L, o);
}

int rules_parse_dests(struct loader *L, yaml_node_t *dl, struct destination_cfg **out, size_t *nout)
{
	int rc;
	if ((rc = vy_expect(&L->y, dl, YAML_SEQUENCE_NODE, "destinations")) != 0)
		return rc;
	if (vy_len(dl) == 0)
		return vy_fail(&L->y, dl, "destinations: needs at least one destination");
	if ((*out = calloc(vy_len(dl), sizeof **out)) == NULL)
		return vy_nomem(&L->y);
	for (size_t i = 0; i < vy_len(dl); i++) {
		yaml_node_t *dn = vy_item(&L->y, dl, i);
		if (dn == NULL)
			return vy_fail(&L->y, dl, "malformed list in destinations");
		(*nout)++; /* counted first: a half-built destination is freed too */
		if ((rc = parse_dest(L, dn, &(*out)[*nout - 1])) != 0)
			return rc;
	}
	return 0;
}
