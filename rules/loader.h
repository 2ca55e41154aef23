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
};

/* Append one rule / owner read from a map node of the current document to
 * L->rs. On failure the half-built entry is counted, so ruleset_free frees it. */
int rules_parse_rule(struct loader *L, yaml_node_t *map);
int rules_parse_owner(struct loader *L, yaml_node_t *map);

/* A `match:`-style map of tag matchers (see load.c) into a new array
 * *out / *nout (counted as built, so the caller frees even on failure). */
int rules_parse_match(struct loader *L, yaml_node_t *map, const char *what, struct tag_matcher **out,
		      size_t *nout);

/* The on-call parts of an owner map (rules/parse_oncall.c): the lists under
 * `time_intervals:` and `schedules:`. Entries are counted as they are
 * built, so ruleset_free frees a half-built one. Person names in schedules
 * are checked against o->people by the caller, after every key is read. */
int rules_parse_time_intervals(struct loader *L, yaml_node_t *list, struct owner *o);
int rules_parse_schedules(struct loader *L, yaml_node_t *list, struct owner *o);


#endif
