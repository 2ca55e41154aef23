/* Rules v1 and owners v1: which series a rule watches, with which detector,
 * how decisions become alerts, and which owner gets them.
 *
 * Files are YAML (see README "Rules and owners"). Loading is strict: an
 * unknown key, a wrong type, an unknown detector/owner/parameter is an error
 * "file:line:column: message". A ruleset is immutable after loading and may
 * be read from any thread. */
#ifndef RULES_RULES_H
#define RULES_RULES_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "core/point.h" /* struct tag */
#include "core/vigil.h"
#include "detectors/detector.h"
#include "rules/oncall.h"

enum rule_action { ACTION_LOG = 0, ACTION_NOTIFY, ACTION_PAGE };
enum rule_direction { DIR_BOTH = 0, DIR_UP, DIR_DOWN };
enum match_op { MATCH_EQ = 0, MATCH_NE, MATCH_RE, MATCH_NRE, MATCH_GLOB };

const char *rule_action_name(enum rule_action a);       /* "log" | "notify" | "page" */
const char *rule_direction_name(enum rule_direction d); /* "both" | "up" | "down" */

/* A tag matcher. In YAML: `match: {app: checkout, region: "=~eu-.*",
 * host: "!=db1", zone: "!~test.*", pod: "api-*"}`; a value containing glob
 * characters (* ? [) without an operator is a glob. A missing tag reads as "". */
struct tag_matcher {
	char *key;
	enum match_op op;
	char *value;
	regex_t re; /* compiled, anchored, for MATCH_RE / MATCH_NRE */
};

struct destination_cfg {
	char *type;    /* sink type name, e.g. "stdout", "file" */
	struct kv *kv; /* settings other than type; strings owned by the ruleset */
	size_t nkv;
	char *where; /* file:line:col of the destination */
};

/* A namespace an owner claims (`namespaces:` in YAML, see rules/load.c and
 * rules/namespace.c): the series whose name matches `series` (a glob, "*"
 * when absent) and whose tags satisfy every matcher of `match` (equality or
 * glob only). `grants` names the other owners allowed to claim namespaces
 * overlapping this one. */
struct namespace_cfg {
	char *series;
	struct tag_matcher *match;
	size_t nmatch;
	char **grants;
	size_t ngrants;
	char *where; /* file:line:col of the namespace's map */
};

struct owner {
	char *name;
	char *where;
	struct namespace_cfg *ns; /* owned; nns == 0: no namespaces declared */
	size_t nns;
	struct destination_cfg *dests;
	size_t ndests;
	size_t max_series; /* cardinality limit for this owner's rules; 0 = global only */
	/* on-call control (rules/oncall.h); all optional */
	struct group_cfg group; /* the owner's own (root) route */
	char **mute, **active;  /* the root route's time windows */
	size_t nmute, nactive;
	struct route_cfg *routes; /* child routes, tried in order */
	size_t nroutes;
	struct inhibit_cfg *inhibit;
	size_t ninhibit;
	struct time_interval *intervals;
	size_t nintervals;
	struct person *people;
	size_t npeople;
	struct schedule *schedules;
	size_t nschedules;
	struct budget_cfg budget;
	struct escalation_cfg escalation;
};

/* A rule's peer group (`peer_group:` in YAML, see rules/load.c): the series
 * a rule watches are grouped by the values of the `by` tag keys and judged
 * against each other by a group detector (detectors/group.h) at aligned
 * ticks. nby == 0 means the rule has no peer group (a per-series rule). */
struct rule_peer_group {
	char **by; /* tag keys, owned, unique, in file order */
	size_t nby;
	double step;        /* seconds, > 0: a point belongs to tick floor(ts / step) */
	double deadline;    /* seconds, >= 0: a tick closes when every known member
			     * reported or a member's point has ts >= tick end + deadline */
	size_t min_members; /* >= 1: no opinion at ticks with fewer members present */
	char *where;        /* file:line:col of the peer_group map */
};

struct rule {
	char *name;   /* unique across the ruleset */
	char *where;  /* file:line:col */
	char *series; /* glob over the series name */
	struct tag_matcher *match;
	size_t nmatch;
	struct detector det; /* owned */
	double threshold;    /* a point is anomalous when score >= threshold */
	enum rule_direction direction;
	int for_k, for_n;       /* fire when k of the last n points are anomalous (1 <= k <= n <= 64) */
	double keep_firing_for; /* seconds the episode stays open after the last anomalous point */
	enum rule_action action;
	const struct owner *owner; /* borrowed from the ruleset */
	struct kv *labels;         /* extra labels for the alert */
	size_t nlabels;
	char *summary;               /* may be NULL */
	char *runbook_url;           /* may be NULL */
	uint32_t index;              /* position in ruleset->rules */
	uint64_t model_hash;         /* hash of what its models depend on: series, match,
				      * detector, params, peer_group (as written) and the
				      * owner's name; equal hashes = the models carry over a
				      * reload (engine_reload) */
	struct rule_peer_group peer; /* nby == 0: none (det is then a per-series detector;
				      * otherwise det is a group detector, group_of(det.type)) */
};

struct ruleset {
	struct rule *rules;
	size_t nrules;
	struct owner *owners;
	size_t nowners;
	uint64_t version;         /* content hash of every file read, in order (their YAML
				   * documents, so comments and layout do not count) */
	uint64_t owners_version;  /* the same over the owners (sections) only */
	struct rule_index *index; /* owned: series names to rules (rules/index.c) */
};

/* The rules whose `series` glob matches name, in rule order, into *buf
 * (grown as needed; *cap its capacity), *n of them. Tag matchers are not
 * looked at (rule_matches_tags). 0 or -VIGIL_ENOMEM. */
int ruleset_candidates(const struct ruleset *rs, const char *name, uint32_t **buf, size_t *cap, size_t *n);
/* Do the tag matchers of r all hold for tags? */
int rule_matches_tags(const struct rule *r, const struct tag *tags, int ntags);

/* The version as 16 hex digits into out (17 bytes). */
void ruleset_version_hex(const struct ruleset *rs, char out[17]);
/* The rule named name, or NULL. */
const struct rule *ruleset_rule(const struct ruleset *rs, const char *name);

/* Load rules from rule_paths (files, or directories whose *.yaml / *.yml are
 * read in name order) and owners from owners_path (may be NULL when the rule
 * files themselves hold an `owners:` section). Every rule's owner must exist.
 * Each file is read once: the same file (same device and inode) reached
 * twice, e.g. as the owners file and again as or inside a rules path, is an
 * error "file: file given twice: as ... and as ...".
 * Returns 0 with *out owned by the caller (ruleset_free), or -VIGIL_E* with
 * err = "file:line:column: message" and nothing allocated. */
int ruleset_load(const char *const *rule_paths, size_t npaths, const char *owners_path, struct ruleset **out,
		 char *err, size_t errlen);
void ruleset_free(struct ruleset *rs);

const struct owner *ruleset_owner(const struct ruleset *rs, const char *name);
/* The `name:` setting of a destination (escalation levels refer to it), or
 * NULL. The gateway takes it out before the destination type sees it. */
const char *rules_dest_name(const struct destination_cfg *d);

/* Glob match of fnmatch(3) style ('*', '?', '[...]'); '*' matches dots too. */
int rule_glob_match(const char *pattern, const char *s);

/* rules/re_cost.c: an upper estimate of the parse-tree nodes glibc's
 * regcomp builds for the extended regular expression re (nested
 * repetitions multiply), +inf for adjacent or deeply nested repetitions and
 * counts over 1000. matcher_build refuses a pattern above RE_MAX_COST
 * instead of letting regcomp take the machine. */
#define RE_MAX_COST 5000
/* The rules loader's budget for all its regex matchers together (the sum of
 * their re_cost): aliases can repeat one costly matcher in thousands of
 * rules (a 141 KB file took 8.5 GB and 46 s before it was refused for a
 * duplicate rule name). A typical matcher costs 10 to 50. */
#define RE_MAX_TOTAL 100000
double re_cost(const char *re);

/* Label matchers outside rules (routes, inhibition, silences): does m
 * hold for the label set labels[0..n) (a missing label reads as "")? */
int matcher_match_kv(const struct tag_matcher *m, const struct kv *labels, size_t n);
/* Build m from (key, op, value): regexes are compiled anchored (whole
 * value). 0, or -VIGIL_EINVAL with err ("bad regular expression ...") /
 * -VIGIL_ENOMEM. m is untouched on failure; free with matcher_free. */
int matcher_build(const char *key, enum match_op op, const char *value, struct tag_matcher *m, char *err,
		  size_t errlen);
/* Parse "name=value", "name!=value", "name=~regex", "name!~regex" (the
 * value may be double-quoted: name="a b"), as the CLI and the API take
 * silence matchers. 0 or -VIGIL_EINVAL with err / -VIGIL_ENOMEM. */
int matcher_parse(const char *text, struct tag_matcher *m, char *err, size_t errlen);
/* "name=~value" form of m into out (for listings). */
void matcher_format(const struct tag_matcher *m, char *out, size_t outlen);
void matcher_free(struct tag_matcher *m);

/* Does rule r watch the series (name + tags)? */
int rule_matches(const struct rule *r, const char *name, const struct tag *tags, int ntags);

/* Per (rule, series) alert state, kept next to the detector state and
 * checkpointed with it. Plain data, zero-initialised = inactive. */
struct rule_state {
	uint64_t hist;     /* last for_n decisions, bit 0 = newest */
	double last_true;  /* ts of the last anomalous point */
	double started;    /* ts of the first firing point of the open episode */
	double peak_score; /* max score during the episode */
	int64_t start_pos; /* input position of the first firing point */
	uint32_t npoints;  /* points seen in the episode */
	uint8_t firing;    /* 1 while an episode is open */
	uint8_t pad[3];
};

enum rule_transition { RULE_NONE = 0, RULE_FIRE, RULE_RESOLVE };

/* Feed one detector result for rule r. `pos` is the input position of the
 * point (file line or Kafka offset). Warm-up (score NaN) changes nothing:
 * "no opinion" never counts as recovery. Returns the transition, if any:
 * RULE_FIRE when the k-of-n condition first holds (episode opens, started =
 * ts, start_pos = pos), RULE_RESOLVE when an open episode has had no
 * anomalous point for keep_firing_for seconds and the newest point is normal.
 * Direction filters which side counts (value above / below expected). */
enum rule_transition rule_eval(const struct rule *r, struct rule_state *st, double ts, double value,
			       const struct det_result *res, int64_t pos);

#endif
