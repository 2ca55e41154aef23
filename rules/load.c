/* Loading rules and owners from YAML (libyaml document API), strictly.
 *
 * File format (v1). Every file is one YAML document whose root is a map with
 * `rules:` and/or `owners:` (at least one of them; no other keys). Rule files
 * and owners files share this format: an owners file is simply a file with
 * only `owners:`, and a rules file may carry its own `owners:` section.
 *
 *   rules:
 *     - name: checkout-latency          # required, non-empty, unique across all files
 *       series: "api.latency"           # required: glob over the series name (* ? [..]);
 *                                       #   '*' also matches dots
 *       match:                          # optional tag matchers, all must hold
 *         app: checkout                 #   equality
 *         region: "=~eu-.*"             #   POSIX ERE, anchored (whole value)
 *         zone: "!~test.*"              #   negated ERE
 *         host: "!=db1"                 #   not equal
 *         pod: "api-*"                  #   no operator + any of * ? [ : a glob
 *                                       #   a tag the point lacks reads as ""
 *       detector: des                   # optional, default det_default_name()
 *       params: {alpha: 0.1, noise: 5}  # optional map of scalars, checked by det_new()
 *       threshold: 1.0                  # optional, in (0, 1]; default = the detector's
 *                                       #   default_threshold; anomalous when score >= it
 *       direction: up                   # both (default) | up | down
 *       for: 3                          # optional: "K" (= K of K) or "K of N";
 *                                       #   1 <= K <= N <= 64; default 1 of 1
 *       keep_firing_for: 5m             # optional duration (90, 90s, 5m, 2h, 1d, 1w, 250ms);
 *                                       #   default 0
 *       action: page                    # log | notify (default) | page
 *       owner: payments                 # required: an owner defined in any loaded file
 *       labels: {service: checkout}     # optional map of scalars (strings)
 *       summary: "checkout p99 latency anomaly"                  # optional
 *       runbook_url: "https://runbooks.example/checkout-latency" # optional
 *       peer_group:                     # optional: judge the matched series against their
 *                                       #   peers (detectors/group.h); needs a group detector
 *                                       #   (detector: peerpca), which needs a peer_group
 *         by: [app, metric_tag]         # required list of 1..16 unique tag keys; the series
 *                                       #   with equal values of these tags form one group
 *                                       #   (a missing tag reads as ""); members differ in
 *                                       #   the other tags (e.g. host)
 *         step: 1m                      # required duration > 0: a point belongs to tick
 *                                       #   floor(ts / step)
 *         deadline: 2m                  # optional duration >= 0, default = step, at most
 *                                       #   62 steps: a tick closes when every known member
 *                                       #   reported it (or a later tick), or when a member's
 *                                       #   point arrives with ts >= tick end + deadline
 *         min_members: 3                # optional integer >= 1 (default 3, at most the
 *                                       #   detector's max_members): no opinion at a tick
 *                                       #   with fewer members present
 *
 *   owners:
 *     - name: payments                  # required, non-empty, unique across all files
 *       max_series: 50000               # optional per-owner cardinality limit,
 *                                       #   integer >= 0, 0 = global limit only
 *       destinations:                   # required list, at least one entry
 *         - type: stdout                # required: sink type name
 *         - type: file
 *           path: out/payments.jsonl    # every other key is a setting (scalar)
 *
 *   An owner's on-call keys (rules/oncall.h, parsed in parse_oncall.c):
 *
 *       time_intervals:                 # optional list of named windows (Alertmanager's shape)
 *         - name: nights                # required, non-empty, unique within the owner
 *           time_intervals:             # required, non-empty list of specs: inside when any
 *                                       #   spec matches; within a spec every key given must
 *                                       #   match (an absent key matches everything), and
 *                                       #   within a key any of its entries; judged on the
 *                                       #   local wall time of `location`
 *             - times:                  # optional list of [start_time, end_time) windows,
 *                                       #   "HH:MM", 00:00..23:59, end_time up to 24:00 and
 *                                       #   after start_time (split a window across midnight)
 *                 - {start_time: "22:00", end_time: "24:00"}
 *                 - {start_time: "00:00", end_time: "06:00"}
 *               weekdays: ["monday:friday", "sunday"]  # optional: names or "a:b" ranges
 *               days_of_month: ["1:5", "-1"]           # optional: 1..31 or -31..-1 (-1 = the
 *                                       #   last day) and ranges; a range starting from the
 *                                       #   end ends from the end too; days past a month's
 *                                       #   end match nothing in that month
 *               months: ["january:march", "12"]        # optional: names or 1..12, ranges
 *               years: ["2026:2027"]                   # optional: 1..9999, ranges
 *               location: Europe/Berlin # optional IANA zone name, default UTC
 *       schedules:                      # optional list of on-call rotations
 *         - name: primary               # required, non-empty, unique within the owner
 *           time_zone: Europe/Berlin    # required IANA zone name
 *           rotation: [alice, bob, carol]  # required, non-empty: names of the owner's people;
 *                                       #   rotation[0] takes the first shift, then the next,
 *                                       #   wrapping around
 *           shift: 1w                   # optional "Nd" or "Nw" (whole days), default 1w
 *           start: "2026-01-05 09:00"   # required: the first hand-over, "YYYY-MM-DD HH:MM"
 *                                       #   (or with a T) in time_zone local time; every
 *                                       #   hand-over is at this local time of day (also
 *                                       #   across DST changes); before it nobody is on call
 *                                       #   except through overrides
 *           overrides:                  # optional: person is on call in [start, end), local
 *                                       #   times in time_zone, end after start; overrides win
 *                                       #   over the rotation, the first listed one covering
 *                                       #   an instant wins
 *             - {person: dave, start: "2026-12-24 09:00", end: "2026-12-27 09:00"}
 *
 *   Zone names are IANA names (relative paths under /usr/share/zoneinfo or
 *   $VIGIL_ZONEINFO, see core/tz.h); an unknown one is an error naming it.
 *   A local time that does not exist (a spring-forward gap) means the
 *   instant the gap ends, one that exists twice (fall-back) the earlier
 *   instant. Person names are checked against the owner's people after
 *   the whole owner is read. The where of a time interval, of one of its
 *   specs, of a schedule and of an override is the start of its map.
 *
 * Every scalar is read as text; quoting is optional. Destination settings are
 * kept as strings and validated by the sink types, not here. Lists must be
 * YAML sequences, maps YAML mappings; a key may appear only once per map.
 *
 * Positions ("where" strings and errors) are "file:line:column", 1-based,
 * taken from libyaml's marks: a rule's and an owner's where is the start of
 * its map, a destination's the start of its map, a parameter's, a label's and
 * a destination setting's the position of its key.
 *
 * Paths may be directories: their *.yaml and *.yml entries (not starting with
 * '.') are read in byte order of their names; a directory without any is an
 * error. A subdirectory of a rules directory is a team directory (the
 * YAML files of rules/payments, for example): its files are read after the directory's own, its name
 * must be an owner's, and every rule in it must name that owner (one level
 * only: a team directory's subdirectories are ignored).
 *
 * Ownership (`namespaces:` in an owner, described in rules/namespace.c):
 * when owners declare namespaces, every owner must, each rule must watch
 * only series inside its owner's namespaces, and two owners' namespaces
 * must not overlap unless one grants it. Escalation levels name only the
 * owner's own destinations. One file may be read only once: given twice (as
 * the owners file and as a rules path, or through two rules paths) is an
 * error naming both ways it was given.
 *
 * The parsers live in parse_rule.c, parse_owner.c and parse_oncall.c
 * (rules/loader.h); the YAML helpers in core/yaml.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/hash.h"
#include "rules/loader.h"

static const char *const top_keys[] = {"rules", "owners", NULL};
enum { TOP_RULES, TOP_OWNERS, TOP_N };

const char *rule_action_name(enum rule_action a)
{
	switch (a) {
	case ACTION_LOG: return "log";
	case ACTION_NOTIFY: return "notify";
	case ACTION_PAGE: return "page";
	}
	return "?";
}

const char *rule_direction_name(enum rule_direction d)
{
	switch (d) {
	case DIR_BOTH: return "both";
	case DIR_UP: return "up";
	case DIR_DOWN: return "down";
	}
	return "?";
}

/* ---- files ---- */

uint64_t rules_node_hash(const struct loader *L, uint64_t h, const yaml_node_t *n)
{
	if (n == NULL)
		return hash_str(h, "-");
	switch (n->type) {
	case YAML_SCALAR_NODE:
		h = hash_str(h, "s");
		h = hash_bytes(h, n->data.scalar.value, n->data.scalar.length);
		return hash_str(h, ""); /* a separator: "ab","c" differs from "a","bc" */
	case YAML_SEQUENCE_NODE:
		h = hash_str(h, "[");
		for (size_t i = 0; i < vy_len(n); i++)
			h = rules_node_hash(L, h, vy_item(&L->y, n, i));
		return hash_str(h, "]");
	case YAML_MAPPING_NODE:
		h = hash_str(h, "{");
		for (size_t i = 0; i < vy_len(n); i++) {
			yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
			h = rules_node_hash(L, h, yaml_document_get_node(L->y.doc, pr->key));
			h = rules_node_hash(L, h, yaml_document_get_node(L->y.doc, pr->value));
		}
		return hash_str(h, "}");
	default: return hash_str(h, "?");
	}
}

static int parse_list(struct loader *L, yaml_node_t *list, const char *what,
		      int (*each)(struct loader *, yaml_node_t *))
{
	int rc;

	if ((rc = vy_expect(&L->y, list, YAML_SEQUENCE_NODE, what)) != 0)
		return rc;
	for (size_t i = 0; i < vy_len(list); i++) {
		yaml_node_t *n = vy_item(&L->y, list, i);
		if (n == NULL)
			return vy_fail(&L->y, list, "malformed list in %s", what);
		if ((rc = each(L, n)) != 0)
			return rc;
	}
	return 0;
}

/* Remember that file f was read, given as `how` (taken over). Refuses a
 * file read before: the owners file again as a rules path, a rules file
 * both named and inside a named directory, ... */
static int note_file(struct loader *L, const struct vy_file *f, char *how)
{
	for (size_t i = 0; i < L->nseen; i++) {
		if (L->seen[i].dev == f->dev && L->seen[i].ino == f->ino) {
			snprintf(L->y.err, L->y.errlen, "%s: file given twice: as %s and as %s", L->y.path,
				 L->seen[i].how, how);
			free(how);
			return -VIGIL_EINVAL;
		}
	}
	if (vec_reserve((void **)&L->seen, &L->cap_seen, L->nseen + 1, sizeof *L->seen) != 0) {
		free(how);
		return vy_nomem(&L->y);
	}
	L->seen[L->nseen++] = (struct seen_file){f->dev, f->ino, how};
	return 0;
}

/* Read one file, given as "<kind> '<given>'" (for a file given twice). */
static int load_file(struct loader *L, const char *path, const char *kind, const char *given)
{
	struct vy_file f;
	yaml_node_t *v[TOP_N], *k[TOP_N];
	yaml_mark_t start = {0, 0, 0};
	char *h = NULL;
	int rc;

	if ((rc = vy_load(&L->y, path, &f)) != 0)
		return rc;
	if (asprintf(&h, "%s '%s'", kind, given) < 0) {
		rc = vy_nomem(&L->y);
		goto out;
	}
	if ((rc = note_file(L, &f, h)) != 0)
		goto out;
	if (f.root == NULL) {
		rc = vy_fail_mark(&L->y, &start,
				  "empty file (expected a map with 'rules:' and/or 'owners:')");
		goto out;
	}
	if ((rc = vy_map_fields(&L->y, f.root, "the top level", top_keys, v, k)) != 0)
		goto out;
	if (v[TOP_RULES] == NULL && v[TOP_OWNERS] == NULL) {
		rc = vy_fail(&L->y, f.root, "neither 'rules:' nor 'owners:' in this file");
		goto out;
	}
	L->version = rules_node_hash(L, L->version, f.root);
	L->owners_version = rules_node_hash(L, L->owners_version, v[TOP_OWNERS]);
	if (v[TOP_OWNERS] && (rc = parse_list(L, v[TOP_OWNERS], "owners", rules_parse_owner)) != 0)
		goto out;
	if (v[TOP_RULES] && (rc = parse_list(L, v[TOP_RULES], "rules", rules_parse_rule)) != 0)
		goto out;
out:
	vy_unload(&f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t ls = strlen(s), lf = strlen(suf);
	return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

/* A file, or a directory's *.yaml / *.yml in name order. owners: given as
 * the owners path (for messages about a file given twice). */
static int load_path(struct loader *L, const char *path, int owners)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL, **dirs = NULL;
	size_t n = 0, cap = 0, nd = 0, capd = 0;
	DIR *d;
	int rc = 0;

	L->y.path = path;
	if (stat(path, &st) != 0) {
		snprintf(L->y.err, L->y.errlen, "%s: cannot open: %s", path, strerror(errno));
		return -VIGIL_EIO;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) { /* a FIFO would block the load */
		snprintf(L->y.err, L->y.errlen, "%s: not a regular file or a directory", path);
		return -VIGIL_EINVAL;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(L, path, owners ? "the owners file" : "rules path", path);
	if ((d = opendir(path)) == NULL) {
		snprintf(L->y.err, L->y.errlen, "%s: cannot open directory: %s", path, strerror(errno));
		return -VIGIL_EIO;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		char *full;
		struct stat fs;

		int yaml = has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml");

		if (de->d_name[0] == '.' || (!yaml && (owners || L->team != NULL)))
			continue;
		if (asprintf(&full, "%s%s%s", path, has_suffix(path, "/") ? "" : "/", de->d_name) < 0) {
			rc = -VIGIL_ENOMEM;
			break;
		}
		if (yaml && stat(full, &fs) != 0) { /* a dangling or looping symlink: said, not skipped */
			snprintf(L->y.err, L->y.errlen, "%s: cannot open: %s", full, strerror(errno));
			free(full);
			rc = -VIGIL_EIO;
			break;
		}
		if (yaml && !S_ISREG(fs.st_mode)) {
			snprintf(L->y.err, L->y.errlen, "%s: not a regular file", full);
			free(full);
			rc = -VIGIL_EINVAL;
			break;
		}
		if (!yaml && (stat(full, &fs) != 0 || !S_ISDIR(fs.st_mode))) {
			free(full);
			continue;
		}
		/* a subdirectory of a rules directory is a team directory */
		if (yaml ? vec_reserve((void **)&names, &cap, n + 1, sizeof *names) != 0
			 : vec_reserve((void **)&dirs, &capd, nd + 1, sizeof *dirs) != 0) {
			free(full);
			rc = -VIGIL_ENOMEM;
			break;
		}
		if (yaml)
			names[n++] = full;
		else
			dirs[nd++] = full;
	}
	if (rc == 0 && errno != 0) {
		snprintf(L->y.err, L->y.errlen, "%s: cannot read directory: %s", path, strerror(errno));
		rc = -VIGIL_EIO;
	}
	closedir(d);
	if (rc == -VIGIL_ENOMEM)
		vy_nomem(&L->y);
	if (rc == 0 && n == 0 && nd == 0) {
		snprintf(L->y.err, L->y.errlen, "%s: no *.yaml or *.yml files in this directory", path);
		rc = -VIGIL_ENOENT;
	}
	if (rc == 0) {
		if (n > 0)
			qsort(names, n, sizeof *names, cmp_str);
		if (nd > 0)
			qsort(dirs, nd, sizeof *dirs, cmp_str);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load_file(L, names[i],
			       owners ? "a file of owners directory" : "a file of rules directory", path);
	for (size_t i = 0; rc == 0 && i < nd; i++) {
		L->team = strrchr(dirs[i], '/') + 1;
		L->team_dir = dirs[i];
		rc = load_path(L, dirs[i], 0);
		L->team = L->team_dir = NULL;
	}
	/* L->y.path may point into names[]: errors are already formatted. */
	L->y.path = path;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < nd; i++)
		free(dirs[i]);
	free(dirs);
	return rc;
}
/* ---- cross-file checks ---- */

struct name_at {
	const char *name;
	const char *where;
	size_t idx;
};

static int cmp_name_at(const void *a, const void *b)
{
	const struct name_at *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Report the first (in load order) name that repeats an earlier one. */
static int check_unique(struct loader *L, struct name_at *v, size_t n, const char *what)
{
	size_t bad = SIZE_MAX, first = 0;

	qsort(v, n, sizeof *v, cmp_name_at);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name) != 0)
			continue;
		/* v[i - 1] ... : find the first of this run */
		size_t j = i - 1;
		while (j > 0 && strcmp(v[j - 1].name, v[i].name) == 0)
			j--;
		if (bad == SIZE_MAX || v[i].idx < v[bad].idx) {
			bad = i;
			first = j;
		}
	}
	if (bad == SIZE_MAX)
		return 0;
	snprintf(L->y.err, L->y.errlen, "%s: duplicate %s name '%s' (first defined at %s)", v[bad].where,
		 what, v[bad].name, v[first].where);
	return -VIGIL_EINVAL;
}

/* The owner name that `name` most likely misspells, or NULL. */
static const char *closest_owner(const struct ruleset *rs, const char *name)
{
	const char **names = calloc(rs->nowners + 1, sizeof *names);
	const char *near = NULL;

	if (names == NULL)
		return NULL; /* no suggestion: the error stands without it */
	for (size_t i = 0; i < rs->nowners; i++)
		names[i] = rs->owners[i].name;
	near = vy_closest(names, name);
	free(names);
	return near;
}

static const char *owner_where(const struct ruleset *rs, const char *name)
{
	const struct owner *o = ruleset_owner(rs, name);
	return o ? o->where : "?";
}

static int has_dest(const struct owner *o, const char *name)
{
	for (size_t i = 0; i < o->ndests; i++) {
		const char *n = rules_dest_name(&o->dests[i]);
		if (n && strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

/* Escalation levels name destinations of their own owner only. */
static int check_dest_names(struct loader *L)
{
	const struct ruleset *rs = L->rs;

	for (size_t i = 0; i < rs->nowners; i++) {
		const struct owner *o = &rs->owners[i];
		for (size_t k = 0; k < o->escalation.nlevels; k++) {
			const struct esc_level *lv = &o->escalation.levels[k];
			if (lv->kind != ESC_DESTINATION || has_dest(o, lv->target))
				continue;
			for (size_t j = 0; j < rs->nowners; j++) {
				const struct owner *x = &rs->owners[j];
				for (size_t d = 0; x != o && d < x->ndests; d++) {
					const char *n = rules_dest_name(&x->dests[d]);
					if (n && strcmp(n, lv->target) == 0)
						return rules_fail_at(
							L, lv->where,
							"escalation: destination '%s' belongs to "
							"owner '%s' at %s: a team may name only "
							"its own destinations",
							lv->target, x->name, x->dests[d].where);
				}
			}
			return rules_fail_at(
				L, lv->where,
				"escalation: no destination (by its 'name:') named '%s' in this owner",
				lv->target);
		}
	}
	return 0;
}

static int check_all(struct loader *L)
{
	struct ruleset *rs = L->rs;
	size_t n = rs->nrules > rs->nowners ? rs->nrules : rs->nowners;
	struct name_at *v = calloc(n ? n : 1, sizeof *v);
	int rc;

	if (v == NULL) {
		snprintf(L->y.err, L->y.errlen, "rules: out of memory");
		return -VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < rs->nowners; i++)
		v[i] = (struct name_at){rs->owners[i].name, rs->owners[i].where, i};
	rc = check_unique(L, v, rs->nowners, "owner");
	for (size_t i = 0; rc == 0 && i < rs->nrules; i++)
		v[i] = (struct name_at){rs->rules[i].name, rs->rules[i].where, i};
	if (rc == 0)
		rc = check_unique(L, v, rs->nrules, "rule");
	free(v);
	for (size_t i = 0; rc == 0 && i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];
		r->index = (uint32_t)i;
		r->owner = ruleset_owner(rs, L->refs[i].name);
		if (r->owner != NULL)
			r->model_hash = hash_mix(hash_str(r->model_hash, r->owner->name));
		if (r->owner == NULL) {
			const char *near = closest_owner(rs, L->refs[i].name);
			snprintf(L->y.err, L->y.errlen, "%s: rule '%s': unknown owner '%s'%s%s%s",
				 L->refs[i].where, r->name, L->refs[i].name,
				 rs->nowners == 0 ? " (no owners are defined: pass an owners file or add an "
						    "'owners:' section)"
				 : near           ? " (did you mean '"
						  : "",
				 near ? near : "", near ? "'?)" : "");
			rc = -VIGIL_EINVAL;
		} else if (L->refs[i].team != NULL && ruleset_owner(rs, L->refs[i].team) == NULL) {
			const char *near = closest_owner(rs, L->refs[i].team);
			snprintf(L->y.err, L->y.errlen,
				 "%s: rule '%s': its file is in the directory '%s', which names no owner "
				 "(a subdirectory of a rules directory is a team directory)%s%s%s",
				 r->where, r->name, L->refs[i].dir, near ? " (did you mean '" : "",
				 near ? near : "", near ? "'?)" : "");
			rc = -VIGIL_EINVAL;
		} else if (L->refs[i].team != NULL && strcmp(L->refs[i].team, r->owner->name) != 0) {
			snprintf(L->y.err, L->y.errlen,
				 "%s: rule '%s': owner '%s', but its file is in the team directory '%s' of "
				 "owner '%s' (%s): a team directory holds only that team's rules",
				 L->refs[i].where, r->name, r->owner->name, L->refs[i].dir, L->refs[i].team,
				 owner_where(rs, L->refs[i].team));
			rc = -VIGIL_EINVAL;
		}
	}
	if (rc == 0)
		rc = check_dest_names(L);
	if (rc == 0)
		rc = rules_check_namespaces(L);
	return rc;
}

/* ---- public ---- */

const struct owner *ruleset_owner(const struct ruleset *rs, const char *name)
{
	if (rs == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < rs->nowners; i++)
		if (rs->owners[i].name && strcmp(rs->owners[i].name, name) == 0)
			return &rs->owners[i];
	return NULL;
}

void ruleset_version_hex(const struct ruleset *rs, char out[17])
{
	hash_hex(rs ? rs->version : 0, out);
}

const struct rule *ruleset_rule(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; rs && name && i < rs->nrules; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

void ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];
		for (size_t j = 0; j < r->nmatch; j++)
			matcher_free(&r->match[j]);
		free(r->match);
		det_free(&r->det);
		vy_kv_free(r->labels, r->nlabels);
		free(r->name);
		free(r->where);
		free(r->series);
		free(r->summary);
		free(r->runbook_url);
		for (size_t j = 0; j < r->peer.nby; j++)
			free(r->peer.by[j]);
		free(r->peer.by);
		free(r->peer.where);
	}
	free(rs->rules);
	for (size_t i = 0; i < rs->nowners; i++) {
		struct owner *o = &rs->owners[i];
		rules_dests_free(o->dests, o->ndests);
		rules_namespaces_free(o->ns, o->nns);
		rules_policy_free(o);
		free(o->name);
		free(o->where);
		/* on-call: time intervals and schedules (parse_oncall.c) */
		for (size_t j = 0; j < o->nintervals; j++)
			time_interval_free(&o->intervals[j]);
		free(o->intervals);
		for (size_t j = 0; j < o->nschedules; j++)
			schedule_free(&o->schedules[j]);
		free(o->schedules);
		/* end on-call: time intervals and schedules */
	}
	free(rs->owners);
	rules_index_free(rs->index);
	free(rs);
}

int ruleset_load(const char *const *rule_paths, size_t npaths, const char *owners_path, struct ruleset **out,
		 char *err, size_t errlen)
{
	char dummy[1];
	struct loader L = {0};
	int rc = 0;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	L.y.err = err;
	L.y.errlen = errlen;
	L.y.path = "rules";
	if (out == NULL || (npaths > 0 && rule_paths == NULL)) {
		snprintf(err, errlen, "rules: invalid arguments");
		return -VIGIL_EINVAL;
	}
	L.version = L.owners_version = HASH_SEED;
	if ((L.rs = calloc(1, sizeof *L.rs)) == NULL) {
		snprintf(err, errlen, "rules: out of memory");
		return -VIGIL_ENOMEM;
	}
	if (owners_path != NULL)
		rc = load_path(&L, owners_path, 1);
	for (size_t i = 0; rc == 0 && i < npaths; i++)
		rc = load_path(&L, rule_paths[i], 0);
	if (rc == 0)
		rc = check_all(&L);
	for (size_t i = 0; i < L.rs->nrules; i++) {
		free(L.refs[i].name);
		free(L.refs[i].where);
		free(L.refs[i].team);
		free(L.refs[i].dir);
	}
	free(L.refs);
	for (size_t i = 0; i < L.nseen; i++)
		free(L.seen[i].how);
	free(L.seen);
	if (rc != 0) {
		ruleset_free(L.rs);
		return rc;
	}
	if (rules_index_build(L.rs) != 0) {
		snprintf(err, errlen, "rules: out of memory");
		ruleset_free(L.rs);
		return -VIGIL_ENOMEM;
	}
	L.rs->version = hash_mix(L.version);
	L.rs->owners_version = hash_mix(L.owners_version);
	*out = L.rs;
	return 0;
}
