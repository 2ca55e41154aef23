/* Internal to rules/: the state of one ruleset_load() call, shared by the
 * file loader (load.c), the rule parser (parse_rule.c) and the owner parser
 * (parse_owner.c). The file format is described in rules/load.c. */
#ifndef RULES_LOADER_H
#define RULES_LOADER_H

#include <stddef.h>
#include <sys/types.h>

#include "core/yaml.h"
#include "rules/rules.h"

/* One rule's owner reference, resolved after every file is read. */
struct owner_ref {
	char *name;
	char *where; /* position of the `owner:` value */
	char *team;  /* the team directory the rule's file is in (its name), or NULL */
	char *dir;   /* that directory's path, or NULL */
};

/* A file already read, to refuse reading it a second time. */
struct seen_file {
	dev_t dev;
	ino_t ino;
	char *how; /* "the owners file", "rules path 'x'", ... */
};

struct loader {
	struct vy_ctx y; /* y.path = the file being read, y.err = the caller's buffer */
	struct ruleset *rs;
	size_t cap_rules, cap_owners;
	struct owner_ref *refs; /* parallel to rs->rules, capacity cap_rules */
	struct seen_file *seen;
	size_t nseen, cap_seen;
	const char *team, *team_dir;      /* set while reading a team directory's files */
	uint64_t version, owners_version; /* running content hashes (ruleset.version) */
	double re_spent;                  /* re_cost of every regex matcher compiled so far */
};

/* Fold the YAML node n (of the current document; NULL = absent) into hash h:
 * its structure and scalar texts, not its layout. */
uint64_t rules_node_hash(const struct loader *L, uint64_t h, const yaml_node_t *n);

/* Append one rule / owner read from a map node of the current document to
 * L->rs. On failure the half-built entry is counted, so ruleset_free frees it. */
int rules_parse_rule(struct loader *L, yaml_node_t *map);
int rules_parse_owner(struct loader *L, yaml_node_t *map);

/* A `match:`-style map of tag matchers (see load.c) into a new array
 * *out / *nout (counted as built, so the caller frees even on failure). */
int rules_parse_match(struct loader *L, yaml_node_t *map, const char *what, struct tag_matcher **out,
		      size_t *nout);

/* A `destinations:` list (at least one entry) into a new array (counted as
 * built). Free with rules_dests_free. */
int rules_parse_dests(struct loader *L, yaml_node_t *list, struct destination_cfg **out, size_t *nout);
void rules_dests_free(struct destination_cfg *d, size_t n);

/* The value nodes of an owner map's on-call keys (NULL = absent). */
struct policy_nodes {
	yaml_node_t *group_by, *group_wait, *group_interval, *repeat_interval;
	yaml_node_t *mute, *active, *routes, *inhibit, *time_intervals, *people, *schedules, *budget,
		*escalation;
};
/* rules/parse_policy.c: set the owner's unset defaults (before parsing),
 * parse its on-call keys, check the names they refer to (after every key is
 * read: intervals, people, schedules, destination names) and free them. */
void rules_policy_init(struct owner *o);
int rules_parse_policy(struct loader *L, struct owner *o, const struct policy_nodes *pn);
int rules_policy_check(struct loader *L, const struct owner *o);
void rules_policy_free(struct owner *o);

/* The on-call parts of an owner map (rules/parse_oncall.c): the lists under
 * `time_intervals:` and `schedules:`. Entries are counted as they are
 * built, so ruleset_free frees a half-built one. Person names in schedules
 * are checked against o->people by the caller, after every key is read. */
int rules_parse_time_intervals(struct loader *L, yaml_node_t *list, struct owner *o);
int rules_parse_schedules(struct loader *L, yaml_node_t *list, struct owner *o);

/* rules/namespace.c: an owner's `namespaces:` list into o->ns (entries
 * counted as built); after every file is read, the ownership checks of the
 * whole set (rules inside their owner's namespaces, no overlap between two
 * owners without a grant, all or no owners with namespaces). */
int rules_parse_namespaces(struct loader *L, yaml_node_t *list, struct owner *o);
int rules_check_namespaces(struct loader *L);
void rules_namespaces_free(struct namespace_cfg *ns, size_t n);
/* "where: message" into the loader's error buffer; -VIGIL_EINVAL. */
int rules_fail_at(struct loader *L, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* rules/index.c: the series-name index of a loaded ruleset (rs->index). */
int rules_index_build(struct ruleset *rs);
void rules_index_free(struct rule_index *x);

#endif
